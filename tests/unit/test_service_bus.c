/* test_service_bus.c - the local bus: messages from several producers arrive
 * whole and in per-producer order, a partial line waits for its end, a
 * consumer restarts over a stale socket, a message longer than a read
 * arrives whole, and receive() times out empty. Faults: a producer keeps
 * its messages while the consumer is gone and delivers them to the next
 * one; a send stuck on a full bus returns (ETIMEDOUT) or is interrupted by
 * a signal (EINTR) and goes on later without cutting or repeating a line;
 * the Redis bus (with a redis-server) reconnects at both ends after the
 * server was killed and started again, keeping what the producer held.
 * The Redis reliable queue: what a consumer took and did not ack (it was
 * killed before its store committed) is handed again, in order, to the
 * next consumer of its name, and nothing acked comes back; acks of what was
 * taken before a reconnect never trim what was taken after it; a Redis
 * without BLMOVE (< 6.2) is polled. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

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

/* The consumer goes away (runneld restarted) with the producer connected:
 * the producer's sends fail, it keeps the messages, and hands them to the
 * next consumer on the same path. */
static void test_local_producer_keeps_messages_across_consumers(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	bus *p = bus_open_producer(&bs, &err);
	assert_non_null(c);
	assert_non_null(p);
	assert_int_equal(bus_push(p, "{\"a\":1}", 7, &err), 0);
	seen s = {0};
	receive_n(c, &s, 1);
	assert_int_equal(s.n, 1);
	bus_close(c); /* the consumer dies: its end of the connection closes */
	/* the first send may still land in the dead socket's buffer; the
	 * next ones fail, and what fails is kept */
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = bus_push(p, "{\"b\":2}", 7, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, EAGAIN);
	assert_int_equal(bus_flush(p, &err), -1); /* nobody listens: still kept */
	c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	assert_int_equal(bus_flush(p, &err), 0);
	seen s2 = {0};
	receive_n(c, &s2, 1);
	assert_int_equal(s2.n, 1);
	assert_string_equal(s2.msgs[0], "{\"b\":2}");
	/* discard: what the caller gave up on is dropped, and counted */
	assert_int_equal(bus_queue(p, "{\"c\":3}", 7, &err), 0);
	assert_int_equal(bus_queue(p, "{\"d\":4}", 7, &err), 0);
	assert_int_equal(bus_discard(p), 2);
	assert_int_equal(bus_push(p, "{\"e\":5}", 7, &err), 0);
	receive_n(c, &s2, 2);
	assert_int_equal(s2.n, 2);
	assert_string_equal(s2.msgs[1], "{\"e\":5}");
	bus_close(p);
	bus_close(c);
	rmdir(dir);
}

/* What the consumer of test_local_stalled_send saw. */
typedef struct numbered {
	int next;   /* the number expected next */
	int bad;    /* messages out of order, repeated or cut */
	size_t len; /* the length every message has */
} numbered;

/* Check that messages come numbered 0, 1, 2 ... and whole. */
static int check_numbered(const char *msg, size_t len, void *ud)
{
	numbered *n = ud;
	int i = -1;
	if (len != n->len || sscanf(msg, "{\"i\":%d,", &i) != 1 || i != n->next ||
	    msg[len - 1] != '}')
		n->bad++;
	n->next = i + 1;
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A consumer that does not read: the producer's send stops blocking after
 * BUS_SEND_STALL_MS (ETIMEDOUT), or at once when a signal comes (EINTR),
 * keeping the message; once the consumer reads again, every message
 * arrives once, whole and in order. */
static void test_local_stalled_send(void **state)
{
	(void)state;
	char dir[64], path[128];
	sock_path(dir, path);
	bus_settings bs = {.backend = "local", .socket_path = path};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	bus *p = bus_open_producer(&bs, &err);
	assert_non_null(c);
	assert_non_null(p);
	numbered seen_n = {.len = 8000};
	char *m = malloc(seen_n.len + 1);
	int sent = 0, rc = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* fill the bus until a send gives up (the consumer accepts, never reads) */
	for (; sent < 2000 && rc == 0; sent++) {
		int k = snprintf(m, seen_n.len, "{\"i\":%d,\"pad\":\"", sent);
		memset(m + k, 'x', seen_n.len - k - 2);
		m[seen_n.len - 2] = '"';
		m[seen_n.len - 1] = '}';
		rc = bus_push(p, m, seen_n.len, &err);
		if (sent == 0)
			bus_receive(c, check_numbered, &seen_n, 10, 0, &err), seen_n.next = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, ETIMEDOUT);
	long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(waited_ms >= BUS_SEND_STALL_MS / 2); /* it waited for the consumer first */
	/* still stuck: a signal frees the sender at once */
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	struct itimerval it = {.it_value = {0, 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(bus_flush(p, &err), -1);
	assert_int_equal(err.code, EINTR);
	sigaction(SIGALRM, &old, NULL);
	/* the consumer reads again: flush goes on where it stopped */
	int flushed = -1;
	for (int i = 0; i < 500 && (flushed != 0 || seen_n.next < sent); i++) {
		bus_receive(c, check_numbered, &seen_n, 10, 0, &err);
		if (flushed != 0)
			flushed = bus_flush(p, &err);
	}
	assert_int_equal(flushed, 0);
	assert_int_equal(seen_n.bad, 0);
	assert_int_equal(seen_n.next, sent);
	free(m);
	bus_close(p);
	bus_close(c);
	rmdir(dir);
}

/* A redis-server on port (no persistence); its pid, or -1 without one.
 * Extra arguments (NULL-terminated: up to 8) go on its command line. */
static pid_t redis_start_args(int port, const char *dir, const char *const *extra);
static pid_t redis_start(int port, const char *dir)
{
	return redis_start_args(port, dir, NULL);
}

static pid_t redis_start_args(int port, const char *dir, const char *const *extra)
{
	if (access("/usr/bin/redis-server", X_OK) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char ps[16];
		snprintf(ps, sizeof ps, "%d", port);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		const char *argv[20] = {"redis-server", "--port", ps, "--bind",
		                        "127.0.0.1",    "--save", "", "--appendonly",
		                        "no",           "--dir",  dir};
		int n = 11;
		for (int i = 0; extra && extra[i] && i < 8; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		execv("/usr/bin/redis-server", (char *const *)argv);
		_exit(127);
	}
	/* wait until it answers */
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in in = {.sin_family = AF_INET,
		                         .sin_port = htons(port),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(fd, (struct sockaddr *)&in, sizeof in) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(25000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* A free TCP port on the loopback. */
static int free_tcp_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&in, sizeof in);
	socklen_t l = sizeof in;
	getsockname(fd, (struct sockaddr *)&in, &l);
	close(fd);
	return ntohs(in.sin_port);
}

/* kill -9 of redis-server, then a new one on the same port: the producer
 * keeps what it could not push and pushes it once Redis is back; the
 * consumer reconnects by itself. */
static void test_redis_reconnect_both_ends(void **state)
{
	(void)state;
	char dir[64];
	strcpy(dir, "/tmp/test_bus_redis_XXXXXX");
	assert_non_null(mkdtemp(dir));
	int port = free_tcp_port();
	pid_t srv = redis_start(port, dir);
	if (srv < 0) {
		rmdir(dir);
		skip(); /* no redis-server here */
	}
	char url[64];
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
	bus_settings bs = {.backend = "redis", .redis_url = url, .queue = "test_reconnect"};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	bus *p = bus_open_producer(&bs, &err);
	assert_non_null(c);
	assert_non_null(p);
	assert_int_equal(bus_push(p, "{\"a\":1}", 7, &err), 0);
	seen s = {0};
	receive_n(c, &s, 1);
	assert_int_equal(s.n, 1);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	/* Redis is gone: the push fails, and keeps the message */
	assert_int_equal(bus_queue(p, "{\"b\":2}", 7, &err), 0);
	assert_int_equal(bus_push(p, "{\"c\":3}", 7, &err), -1);
	assert_int_equal(err.code, EAGAIN);
	assert_int_equal(bus_flush(p, &err), -1);
	assert_int_equal(bus_receive(c, record, &s, 20, 100, &err), -1);
	assert_int_equal(bus_receive(c, record, &s, 20, 100, &err), -1);
	srv = redis_start(port, dir);
	assert_true(srv > 0);
	assert_int_equal(bus_flush(p, &err), 0);
	/* the consumer reconnects within its backoff (2 s at most) */
	seen s2 = {0};
	for (int i = 0; i < 200 && s2.n < 2; i++)
		bus_receive(c, record, &s2, 20, 100, &err);
	assert_int_equal(s2.n, 2);
	assert_string_equal(s2.msgs[0], "{\"b\":2}");
	assert_string_equal(s2.msgs[1], "{\"c\":3}");
	bus_close(p);
	bus_close(c);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	rmdir(dir);
}

/* A redis-server of its own for one test: fills dir, port and url; false
 * (the test skips) without redis-server. */
typedef struct rsrv {
	char dir[64];
	int port;
	pid_t pid;
	char url[64];
} rsrv;

static bool rsrv_start(rsrv *s, const char *const *extra)
{
	strcpy(s->dir, "/tmp/test_bus_redis_XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	s->port = free_tcp_port();
	s->pid = redis_start_args(s->port, s->dir, extra);
	if (s->pid < 0) {
		rmdir(s->dir);
		return false;
	}
	snprintf(s->url, sizeof s->url, "redis://127.0.0.1:%d", s->port);
	return true;
}

static void rsrv_stop(rsrv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	rmdir(s->dir);
}

/* A plain connection to look at the lists. */
static redisContext *raw(const rsrv *s)
{
	redisContext *c = redisConnect("127.0.0.1", s->port);
	assert_non_null(c);
	assert_int_equal(c->err, 0);
	return c;
}

/* LLEN of key. */
static long long llen(redisContext *c, const char *key)
{
	redisReply *r = redisCommand(c, "LLEN %s", key);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

/* The processing list of consumer id on queue (as redis.c names it). */
static void processing_key(char *out, size_t n, const char *queue, const char *id)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	snprintf(out, n, "%s:processing:%s:%s", queue, host, id);
}

/* Ack n, and let the bus send it: the LTRIM goes with the next command (a
 * receive that finds the queue empty). */
static void ack_sent(bus *c, long n)
{
	runnel_error err;
	seen none = {0};
	assert_int_equal(bus_ack(c, n, &err), 0);
	assert_int_equal(bus_receive(c, record, &none, 10, 100, &err), 0);
}

/* Push "m1".."mN" (from first) with one producer. */
static void push_numbered(const char *url, const char *queue, int first, int n)
{
	bus_settings bs = {.backend = "redis", .redis_url = url, .queue = queue};
	runnel_error err;
	bus *p = bus_open_producer(&bs, &err);
	assert_non_null(p);
	for (int i = first; i < first + n; i++) {
		char m[16];
		int l = snprintf(m, sizeof m, "m%d", i);
		assert_int_equal(bus_queue(p, m, (size_t)l, &err), 0);
	}
	assert_int_equal(bus_flush(p, &err), 0);
	bus_close(p);
}

/* A consumer takes 5 messages and acks 2, then dies (closed without
 * acking: as runneld killed before its store committed). The 3 it did not
 * ack wait in its processing list; the next consumer of the same name gets
 * them first, in order, then what came after; a consumer of another name
 * never sees them; nothing acked comes back. */
static void test_redis_unacked_are_handed_again(void **state)
{
	(void)state;
	rsrv srv;
	if (!rsrv_start(&srv, NULL))
		skip();
	redisContext *rc = raw(&srv);
	char proc[512];
	processing_key(proc, sizeof proc, "rq", "consumer-A");
	bus_settings bs = {
	    .backend = "redis", .redis_url = srv.url, .queue = "rq", .consumer_id = "consumer-A"};
	bus_settings other = bs;
	other.consumer_id = "consumer-B";
	runnel_error err;
	push_numbered(srv.url, "rq", 1, 5);
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	seen s = {0};
	receive_n(c, &s, 5);
	assert_int_equal(s.n, 5);
	assert_int_equal(llen(rc, "rq"), 0);
	assert_int_equal(llen(rc, proc), 5); /* taken, not acked */
	ack_sent(c, 2);
	assert_int_equal(llen(rc, proc), 3);
	bus_close(c); /* "killed": m3..m5 were never acked */
	assert_int_equal(llen(rc, proc), 3);
	push_numbered(srv.url, "rq", 6, 2);
	/* another consumer's list is its own: B takes m6, m7, nothing of A's */
	char procb[512];
	processing_key(procb, sizeof procb, "rq", "consumer-B");
	bus *b = bus_open_consumer(&other, &err);
	assert_non_null(b);
	seen sb = {0};
	receive_n(b, &sb, 2);
	assert_int_equal(sb.n, 2);
	assert_string_equal(sb.msgs[0], "m6");
	assert_int_equal(b->requeued, 0);
	bus_close(b); /* B dies too, with m6, m7 not acked */
	assert_int_equal(llen(rc, procb), 2);
	/* A again: m3, m4, m5 (put back at the head), in order, and only them */
	c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	seen s2 = {0};
	receive_n(c, &s2, 3);
	assert_int_equal(bus_receive(c, record, &s2, 50, 0, &err), 0);
	assert_int_equal(s2.n, 3);
	assert_int_equal(c->requeued, 3);
	const char *want[] = {"m3", "m4", "m5"};
	for (int i = 0; i < 3; i++)
		assert_string_equal(s2.msgs[i], want[i]);
	ack_sent(c, 3);
	assert_int_equal(llen(rc, proc), 0);
	assert_int_equal(llen(rc, "rq"), 0);
	bus_close(c);
	/* B again: m6, m7 */
	b = bus_open_consumer(&other, &err);
	assert_non_null(b);
	seen sb2 = {0};
	receive_n(b, &sb2, 2);
	assert_int_equal(sb2.n, 2);
	assert_int_equal(b->requeued, 2);
	assert_string_equal(sb2.msgs[1], "m7");
	ack_sent(b, 2);
	assert_int_equal(llen(rc, procb), 0);
	bus_close(b);
	/* all acked: a next consumer gets nothing */
	c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	seen s3 = {0};
	assert_int_equal(bus_receive(c, record, &s3, 50, 0, &err), 0);
	assert_int_equal(c->requeued, 0);
	bus_close(c);
	redisFree(rc);
	rsrv_stop(&srv);
}

/* The consumer's connection is killed after it took 3 messages: it
 * reconnects, puts the 3 back and takes them again with 2 new ones. The
 * late ack of the first 3 (stored from memory meanwhile) is ignored: it
 * must not trim the 5 taken since, which wait for their own ack. */
static void test_redis_ack_across_a_reconnect(void **state)
{
	(void)state;
	rsrv srv;
	if (!rsrv_start(&srv, NULL))
		skip();
	redisContext *rc = raw(&srv);
	char proc[512];
	processing_key(proc, sizeof proc, "rq", "c");
	bus_settings bs = {
	    .backend = "redis", .redis_url = srv.url, .queue = "rq", .consumer_id = "c"};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	push_numbered(srv.url, "rq", 1, 3);
	seen s = {0};
	receive_n(c, &s, 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(llen(rc, proc), 3);
	/* every other client's connection goes: the consumer's too */
	redisReply *r = redisCommand(rc, "CLIENT KILL TYPE normal SKIPME yes");
	assert_non_null(r);
	assert_true(r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
	freeReplyObject(r);
	push_numbered(srv.url, "rq", 4, 2);
	seen s2 = {0};
	for (int i = 0; i < 200 && s2.n < 5; i++)
		bus_receive(c, record, &s2, 20, 100, &err); /* -1 once, then reconnects */
	assert_int_equal(s2.n, 5);
	assert_int_equal(c->requeued, 3);
	const char *want[] = {"m1", "m2", "m3", "m4", "m5"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(s2.msgs[i], want[i]);
	assert_int_equal(llen(rc, proc), 5);
	ack_sent(c, 3);                      /* the first 3, taken before */
	assert_int_equal(llen(rc, proc), 5); /* ignored */
	ack_sent(c, 4);
	assert_int_equal(llen(rc, proc), 1);
	ack_sent(c, 1);
	assert_int_equal(llen(rc, proc), 0);
	ack_sent(c, 1); /* more than taken: nothing */
	bus_close(c);
	redisFree(rc);
	rsrv_stop(&srv);
}

/* A Redis without BLMOVE and LMOVE (as before 6.2; here renamed away): the
 * consumer takes with a script, polls, takes in order, waits about its
 * timeout when the queue is empty, and the processing list and acks work
 * the same. */
static void test_redis_without_blmove(void **state)
{
	(void)state;
	rsrv srv;
	const char *extra[] = {
	    "--rename-command", "BLMOVE", "", "--rename-command", "LMOVE", "", NULL};
	if (!rsrv_start(&srv, extra))
		skip();
	redisContext *rc = raw(&srv);
	redisReply *r = redisCommand(rc, "BLMOVE a b LEFT RIGHT 0.01");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ERROR); /* the fallback is what runs */
	freeReplyObject(r);
	r = redisCommand(rc, "LMOVE a b LEFT RIGHT");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	char proc[512];
	processing_key(proc, sizeof proc, "rq", "c");
	bus_settings bs = {
	    .backend = "redis", .redis_url = srv.url, .queue = "rq", .consumer_id = "c"};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	seen s = {0};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(bus_receive(c, record, &s, 300, 100, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(waited >= 0.25); /* it waited for messages, it did not spin out */
	push_numbered(srv.url, "rq", 1, 4);
	receive_n(c, &s, 4);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.msgs[0], "m1");
	assert_string_equal(s.msgs[3], "m4");
	assert_int_equal(llen(rc, proc), 4);
	assert_int_equal(bus_ack(c, 4, &err), 0);
	assert_int_equal(llen(rc, proc), 4); /* sent with the next command... */
	bus_close(c);
	assert_int_equal(llen(rc, proc), 0); /* ...or at close */
	redisFree(rc);
	rsrv_stop(&srv);
}

/* Check that messages come as m1, m2, ... in order; count them. */
static int in_order(const char *msg, size_t len, void *ud)
{
	long *next = ud;
	char want[32];
	int l = snprintf(want, sizeof want, "m%ld", *next);
	assert_int_equal(len, (size_t)l);
	assert_memory_equal(msg, want, len);
	(*next)++;
	return 0;
}

/* A backlog of 2,500 (more than a batch): taken without blocking, 1,000 at
 * a time then the rest, in order; each take leaves the processing list
 * holding exactly what is not acked. */
static void test_redis_backlog_in_batches(void **state)
{
	(void)state;
	rsrv srv;
	if (!rsrv_start(&srv, NULL))
		skip();
	redisContext *rc = raw(&srv);
	char proc[512];
	processing_key(proc, sizeof proc, "rq", "c");
	push_numbered(srv.url, "rq", 1, 2500);
	bus_settings bs = {
	    .backend = "redis", .redis_url = srv.url, .queue = "rq", .consumer_id = "c"};
	runnel_error err;
	bus *c = bus_open_consumer(&bs, &err);
	assert_non_null(c);
	long next = 1;
	assert_int_equal(bus_receive(c, in_order, &next, 1000, 1000, &err), 1000);
	assert_int_equal(bus_receive(c, in_order, &next, 1000, 1000, &err), 1000);
	assert_int_equal(llen(rc, proc), 2000);
	assert_int_equal(bus_ack(c, 1000, &err), 0);
	assert_int_equal(bus_receive(c, in_order, &next, 1000, 1000, &err), 500);
	assert_int_equal(next, 2501);
	assert_int_equal(llen(rc, proc), 1500); /* the ack went with the take */
	assert_int_equal(llen(rc, "rq"), 0);
	ack_sent(c, 1500);
	assert_int_equal(llen(rc, proc), 0);
	bus_close(c);
	redisFree(rc);
	rsrv_stop(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_two_producers),
	    cmocka_unit_test(test_local_partial_line),
	    cmocka_unit_test(test_local_max),
	    cmocka_unit_test(test_local_huge_message),
	    cmocka_unit_test(test_local_stale_and_missing),
	    cmocka_unit_test(test_local_producer_keeps_messages_across_consumers),
	    cmocka_unit_test(test_local_stalled_send),
	    cmocka_unit_test(test_redis_reconnect_both_ends),
	    cmocka_unit_test(test_redis_unacked_are_handed_again),
	    cmocka_unit_test(test_redis_ack_across_a_reconnect),
	    cmocka_unit_test(test_redis_without_blmove),
	    cmocka_unit_test(test_redis_backlog_in_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
