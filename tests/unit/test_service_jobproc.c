/* test_service_jobproc.c - a job's processes after its worker is gone
 * (service/jobproc.h) and the state dir's lock (service/statelock.h):
 * the record reads back what the dispatcher and the worker wrote; processes
 * that left the job's session are found by the private data dir in their
 * environment, and by the job's cgroup where the machine has one; only a
 * private data dir made for the job is removed; a second lock holder is
 * refused with the first one's pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobproc.h"
#include "statelock.h"
#include "util.h"

/* A new temp dir. */
static char *temp_dir(void)
{
	char *d = rn_xstrdup("/tmp/test_jobproc_XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

/* Remove a temp tree (the test's own dirs only). */
static void rm_tree(const char *d)
{
	char *cmd[] = {"rm", "-rf", "--", (char *)d, NULL};
	pid_t p = fork();
	if (p == 0) {
		execvp("rm", cmd);
		_exit(127);
	}
	waitpid(p, NULL, 0);
}

/* True if pid is gone or a zombie. */
static bool dead(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *paren = strrchr(buf, ')');
	return paren && paren[2] == 'Z';
}

/* A process tree that leaves its session twice, as a job's daemons do:
 * child (setsid, env holds pdd) -> grandchild (setsid again), both sleeping.
 * If cgfd >= 0 the child enters that cgroup first. Their pids in out[2]. */
static void spawn_escapers(const char *pdd, int cgfd, pid_t out[2])
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (cgfd >= 0 && write(cgfd, "0", 1) != 1)
			_exit(3);
		setsid();
		if (pdd)
			setenv("AWX_PRIVATE_DATA_DIR", pdd, 1);
		pid_t g = fork();
		if (g == 0) {
			setsid();
			execlp("sleep", "sleep", "300", (char *)NULL);
			_exit(127);
		}
		if (write(p[1], &g, sizeof g) != sizeof g)
			_exit(4);
		execlp("sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pid_t g = 0;
	assert_int_equal(read(p[0], &g, sizeof g), sizeof g);
	close(p[0]);
	out[0] = child;
	out[1] = g;
	/* wait until both run sleep */
	for (int i = 0; i < 200; i++) {
		char path[64], cmd[64] = "";
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)g);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(cmd, 1, sizeof cmd - 1, f);
			cmd[n] = 0;
			fclose(f);
		}
		if (!strcmp(cmd, "sleep"))
			break;
		usleep(10000);
	}
}

/* Reap what we can (the grandchild is ours: we are a child subreaper). */
static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* The record reads back what the dispatcher and the worker wrote. */
static void test_record_roundtrip(void **state)
{
	(void)state;
	char *sd = temp_dir();
	runnel_error err;
	jobproc rec;
	int cgfd = 7;
	assert_int_equal(jobproc_create(sd, NULL, 7, &rec, &cgfd, &err), 0);
	assert_int_equal(cgfd, -1);
	assert_null(rec.cgroup);
	assert_int_equal(jobproc_set_worker(&rec, 4321, &err), 0);
	jobproc_clear(&rec);

	/* before the worker opened it: the count is not known */
	assert_int_equal(jobproc_load(sd, 7, &rec, &err), 1);
	assert_int_equal(rec.emitted, -1);
	assert_int_equal(rec.produced, -1);
	assert_int_equal(rec.worker_pid, 4321);
	assert_null(rec.pdd);
	jobproc_clear(&rec);

	jobproc_worker *w = jobproc_worker_open(sd, 7);
	assert_non_null(w);
	jobproc_worker_note_pdd(w, "/tmp/iso/job_7_abcdef");
	jobproc_worker_note_events(w, 12345678901L, 12345678902L);
	jobproc_worker_note_events(w, 42, 45);
	jobproc_worker_close(w);
	assert_int_equal(jobproc_load(sd, 7, &rec, &err), 1);
	assert_int_equal(rec.emitted, 42);
	assert_int_equal(rec.produced, 45);
	assert_string_equal(rec.pdd, "/tmp/iso/job_7_abcdef");
	assert_int_equal(rec.worker_pid, 4321);

	size_t n;
	long *ids = jobproc_list(sd, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 7);
	free(ids);
	jobproc_forget(&rec);
	jobproc_clear(&rec);
	ids = jobproc_list(sd, &n);
	assert_int_equal(n, 0);
	free(ids);
	assert_int_equal(jobproc_load(sd, 7, &rec, &err), 0);
	/* a worker started without a record runs without one */
	assert_null(jobproc_worker_open(sd, 8));
	rm_tree(sd);
	free(sd);
}

/* Without a cgroup: processes in sessions of their own are found by the
 * private data dir in their environment, and a process of another job
 * (a longer dir name with the same start) is left alone. */
static void test_end_by_private_data_dir(void **state)
{
	(void)state;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	char *iso = temp_dir();
	char *pdd = rn_xasprintf("%s/job_9_XXXXXX", iso);
	assert_non_null(mkdtemp(pdd));
	char *other = rn_xasprintf("%sX", pdd); /* another dir, same prefix */
	pid_t job[2], bystander[2];
	spawn_escapers(pdd, -1, job);
	spawn_escapers(other, -1, bystander);
	jobproc rec = {.job_id = 9, .emitted = -1, .pdd = pdd};
	jobproc_ended ended;
	jobproc_end(&rec, true, 5.0, &ended);
	assert_true(ended.by_pdd);
	assert_false(ended.by_cgroup);
	assert_int_equal(ended.killed, 2);
	assert_int_equal(ended.left, 0);
	reap_all();
	assert_true(dead(job[0]) && dead(job[1]));
	assert_false(dead(bystander[0]) || dead(bystander[1]));
	/* without the scan nothing is found */
	rec.pdd = other;
	jobproc_end(&rec, false, 1.0, &ended);
	assert_int_equal(ended.killed, 0);
	assert_false(dead(bystander[0]));
	jobproc_end(&rec, true, 5.0, &ended);
	assert_int_equal(ended.killed, 2);
	reap_all();
	assert_true(dead(bystander[0]) && dead(bystander[1]));
	rm_tree(iso);
	free(other);
	free(pdd);
	free(iso);
}

/* With a cgroup (where this machine lets us make one): everything in it is
 * ended, whatever its session or environment, and the cgroup goes away. */
static void test_end_by_cgroup(void **state)
{
	(void)state;
	runnel_error err;
	char *base = jobproc_cgroup_base(&err);
	if (!base) {
		print_message("skipped: %s\n", err.message);
		skip();
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	char *sd = temp_dir();
	jobproc rec;
	int cgfd = -1;
	assert_int_equal(jobproc_create(sd, base, 11, &rec, &cgfd, &err), 0);
	assert_non_null(rec.cgroup);
	assert_true(cgfd >= 0);
	assert_true(rn_is_dir(rec.cgroup));
	pid_t job[2];
	spawn_escapers(NULL, cgfd, job); /* no private data dir in its env */
	close(cgfd);
	jobproc_ended ended;
	jobproc_end(&rec, false, 5.0, &ended);
	assert_true(ended.by_cgroup);
	assert_int_equal(ended.killed, 2);
	assert_int_equal(ended.left, 0);
	reap_all();
	assert_true(dead(job[0]) && dead(job[1]));
	char *cg = rn_xstrdup(rec.cgroup);
	jobproc_forget(&rec);
	assert_false(rn_exists(cg));
	jobproc_clear(&rec);
	free(cg);
	/* empty job cgroups of runnelds no longer running are swept; ours stay */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	char *stale = rn_xasprintf("%s/runneld.%d.job_1", base, (int)gone);
	char *mine = rn_xasprintf("%s/runneld.%d.job_1", base, (int)getpid());
	assert_int_equal(mkdir(stale, 0755), 0);
	assert_int_equal(mkdir(mine, 0755), 0);
	assert_true(jobproc_sweep_cgroups(base) >= 1);
	assert_false(rn_exists(stale));
	assert_true(rn_is_dir(mine));
	rmdir(mine);
	free(stale);
	free(mine);
	rm_tree(sd);
	free(sd);
	free(base);
}

/* Only a directory made for the job below the isolation base is removed. */
static void test_remove_only_the_jobs_dir(void **state)
{
	(void)state;
	char *iso = temp_dir();
	char *elsewhere = temp_dir();
	char *pdd = rn_xasprintf("%s/job_5_XXXXXX", iso);
	assert_non_null(mkdtemp(pdd));
	char *outside = rn_xasprintf("%s/job_5_XXXXXX", elsewhere);
	assert_non_null(mkdtemp(outside));
	char *f = rn_path_join(pdd, "inventory");
	mkdir(f, 0700);
	free(f);
	jobproc rec = {.job_id = 5, .pdd = outside};
	assert_false(jobproc_remove_pdd(&rec, iso)); /* not below the base */
	assert_true(rn_is_dir(outside));
	rec.pdd = pdd;
	rec.job_id = 6;
	assert_false(jobproc_remove_pdd(&rec, iso)); /* another job's */
	rec.pdd = iso;
	assert_false(jobproc_remove_pdd(&rec, iso)); /* the base itself */
	rec.job_id = 5;
	rec.pdd = pdd;
	assert_true(jobproc_remove_pdd(&rec, iso));
	assert_false(rn_exists(pdd));
	assert_true(rn_is_dir(iso));
	rm_tree(iso);
	rm_tree(elsewhere);
	free(pdd);
	free(outside);
	free(iso);
	free(elsewhere);
}

/* A second holder of a state dir is refused with the first one's pid, and
 * the lock is free again once released. */
static void test_state_lock(void **state)
{
	(void)state;
	char *sd = temp_dir();
	runnel_error err;
	int fd = statelock_take(sd, &err);
	assert_true(fd >= 0);
	char want[64];
	snprintf(want, sizeof want, "in use by runneld pid %d", (int)getpid());
	assert_int_equal(statelock_take(sd, &err), -1);
	assert_non_null(strstr(err.message, want));
	assert_non_null(strstr(err.message, sd));
	/* a child (another process) is refused the same way */
	pid_t p = fork();
	if (p == 0) {
		runnel_error e2;
		_exit(statelock_take(sd, &e2) < 0 && strstr(e2.message, want) ? 0 : 1);
	}
	int st;
	waitpid(p, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	statelock_release(fd);
	fd = statelock_take(sd, &err);
	assert_true(fd >= 0);
	statelock_release(fd);
	rm_tree(sd);
	free(sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_roundtrip),
	    cmocka_unit_test(test_end_by_private_data_dir),
	    cmocka_unit_test(test_end_by_cgroup),
	    cmocka_unit_test(test_remove_only_the_jobs_dir),
	    cmocka_unit_test(test_state_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
