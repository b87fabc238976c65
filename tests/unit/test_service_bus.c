/* test_service_bus.c - the local bus: messages from several producers arrive
 * whole and in per-producer order, a partial line waits for its end, a
 * consumer restarts over a stale socket, a message longer than a read
 * arrives whole, and receive() times out empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"

typedef struct seen {
	char msgs[64][64];
	int n;
} seen;

/* Record a message. */
static int record(const char *msg, size_t len, void *ud)
{
	seen *s = ud;
	if (s->n < 64)
		snprintf(s->msgs[s->n++], 64, "%.*s", (int)len, msg);
	return 0;
}

/* Receive until n messages arrived or ~2 s passed. */
static void receive_n(bus *c, seen *s, int n)
{
	runnel_error err;
	for (int i = 0; i < 100 && s->n < n; i++)
		assert_true(bus_receive(c, record, s, 20, 1000, &err) >= 0);
}

/* A socket path in a new temp dir. */
static void sock_path(char *dir, char *path)
{
	strcpy(dir, "/tmp/test_bus_XXXXXX");
	assert_non_null(mkdtemp(dir));
	sprintf(path, "%s/bus.sock", dir);
}

/* Record the length of each message. */
static int record_len(const char *msg, size_t len, void *ud)
{
	size_t *lens = ud;
	(void)msg;
	if (lens[0] < 8)
		lens[++lens[0]] = len;
	return 0;
}

/* A message far longer than the receiver reads at a time (a megabyte event)
 * arrives whole, and the one after it too. */
static void test_local_huge_message(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	size_t big = 3 * 1024 * 1024;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the producer blocks until the consumer took it all */
		bus *p = bus_open_producer(&bs, &err);
		char *m = malloc(big);
		if (!p || !m)
			_exit(1);
		memset(m, 'x', big);
		m[0] = '{';
		m[big - 1] = '}';
		int rc = bus_push(p, m, big, &err) | bus_push(p, "{\"end\":1}", 9, &err);
		bus_close(p);
		_exit(rc ? 1 : 0);
	}
	size_t lens[9] = {0};
	for (int i = 0; i < 500 && lens[0] < 2; i++)
		assert_true(bus_receive(c, record_len, lens, 20, 1000, &err) >= 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lens[0], 2);
	assert_int_equal(lens[1], big);
	assert_int_equal(lens[2], 9);
	bus_close(c);
	rmdir(dir);
}

/* Two producers, interleaved: each one's messages arrive whole and in order. */
static void test_local_two_producers(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	bus *p1 = bus_open_producer(&bs, &err);
	bus *p2 = bus_open_producer(&bs, &err);
	assert_non_null(p1);
	assert_non_null(p2);
	for (int i = 0; i < 10; i++) {
		char m[32];
		int n = snprintf(m, sizeof m, "{\"p\":1,\"i\":%d}", i);
		assert_int_equal(bus_push(p1, m, n, &err), 0);
		n = snprintf(m, sizeof m, "{\"p\":2,\"i\":%d}", i);
		assert_int_equal(bus_push(p2, m, n, &err), 0);
	}
	bus_close(p1);
	bus_close(p2);
	seen s = {0};
	receive_n(c, &s, 20);
	assert_int_equal(s.n, 20);
	int next[3] = {0, 0, 0};
	for (int i = 0; i < s.n; i++) {
		int p, k;
		assert_int_equal(sscanf(s.msgs[i], "{\"p\":%d,\"i\":%d}", &p, &k), 2);
		assert_int_equal(k, next[p]++);
	}
	/* nothing more: a receive times out with 0 */
	assert_int_equal(bus_receive(c, record, &s, 10, 1000, &err), 0);
	bus_close(c);
	rmdir(dir);
}

/* A line written in two pieces is delivered once, whole. */
static void test_local_partial_line(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(write(fd, "{\"half\":", 8), 8);
	seen s = {0};
	for (int i = 0; i < 5; i++)
		bus_receive(c, record, &s, 10, 1000, &err);
	assert_int_equal(s.n, 0);
	assert_int_equal(write(fd, "1}\n\n{\"b\":2}\n", 12), 12);
	receive_n(c, &s, 2);
	assert_int_equal(s.n, 2); /* the empty line is skipped */
	assert_string_equal(s.msgs[0], "{\"half\":1}");
	assert_string_equal(s.msgs[1], "{\"b\":2}");
	close(fd);
	bus_close(c);
	rmdir(dir);
}

/* A max smaller than what is buffered hands the rest over on the next call. */
static void test_local_max(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	bus *p = bus_open_producer(&bs, &err);
	for (int i = 0; i < 5; i++)
		assert_int_equal(bus_push(p, "{}", 2, &err), 0);
	seen s = {0};
	long got = 0;
	for (int i = 0; i < 50 && got == 0; i++)
		got = bus_receive(c, record, &s, 20, 2, &err);
	assert_true(got <= 2);
	receive_n(c, &s, 5);
	assert_int_equal(s.n, 5);
	bus_close(p);
	bus_close(c);
	rmdir(dir);
}

/* A stale socket file from a crashed consumer is replaced; producers need a consumer. */
static void test_local_stale_and_missing(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	assert_null(bus_open_producer(&bs, &err)); /* nobody listening */
	FILE *f = fopen(path, "w");
	fclose(f);
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	bus *p = bus_open_producer(&bs, &err);
	assert_non_null(p);
	bus_close(p);
	bus_close(c);
	assert_int_not_equal(access(path, F_OK), 0); /* the consumer removes its socket */
	rmdir(dir);
	bs.backend = "carrier-pigeon";
	assert_null(bus_open_consumer(&bs, &err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_two_producers),
	    cmocka_unit_test(test_local_partial_line),
	    cmocka_unit_test(test_local_max),
	    cmocka_unit_test(test_local_huge_message),
	    cmocka_unit_test(test_local_stale_and_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
