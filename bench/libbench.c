/*
 * libbench - library mode: runnel_run() on a private data dir (the producer's,
 * raw `args` mode) with an event_handler that counts events and returns false
 * (no job_events files), quiet. Prints "<events> <seconds> <status> <rc>".
 *
 *   libbench PDD [IDENT]
 */
#include <stdio.h>
#include <time.h>

#include "runnel.h"

static bool count_event(runnel_event *event, void *userdata)
{
	(void)event;
	++*(long *)userdata;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: libbench PDD [IDENT]\n");
		return 2;
	}
	long seen = 0;
	runnel_config cfg = {0};
	cfg.private_data_dir = argv[1];
	cfg.playbook = "unused.yml"; /* PDD/args (raw mode) decides what runs */
	cfg.ident = argc > 2 ? argv[2] : NULL;
	cfg.quiet = true;
	cfg.suppress_env_files = true;
	cfg.event_handler = count_event;
	cfg.userdata = &seen;
	runnel_run_result res = {0};
	runnel_error err = {0};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (runnel_run(&cfg, &res, &err) != 0) {
		fprintf(stderr, "libbench: %s\n", err.message);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%ld %.6f %s %d\n", seen,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       runnel_status_name(res.status), res.rc);
	int rc = (seen == res.events && res.rc == 0) ? 0 : 1;
	runnel_result_clear(&res);
	return rc;
}
