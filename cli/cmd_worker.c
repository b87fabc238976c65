/*
 * cmd_worker.c - `runnel worker [--private-data-dir D] [--delete]
 * [--keepalive-seconds N]`: read a job from `transmit` on stdin, run it, and
 * write its statuses, events and artifacts to stdout for `process`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "runnel.h"

int cmd_worker(cli_args *a)
{
	if (a->flag[OPT_WORKER_INFO])
		return worker_info(a);
	if (a->private_data_dir && !strcmp(a->private_data_dir, "cleanup"))
		return worker_cleanup(a);
	if (a->private_data_dir) {
		fprintf(stderr, "runnel: error: unrecognized arguments: %s\n", a->private_data_dir);
		return 2;
	}
	runnel_worker_options opts = {0};
	opts.private_data_dir = a->value[OPT_WORKER_PDD];
	opts.delete_directory = a->flag[OPT_DELETE];
	if (a->value[OPT_KEEPALIVE]) {
		char *end;
		errno = 0;
		double v = strtod(a->value[OPT_KEEPALIVE], &end);
		if (errno || *end || end == a->value[OPT_KEEPALIVE] || v < 0) {
			fprintf(stderr,
			        "runnel: error: argument --keepalive-seconds: invalid int value: "
			        "'%s'\n",
			        a->value[OPT_KEEPALIVE]);
			return 2;
		}
		opts.keepalive_seconds = v > 0 ? v : -1;
	}

	/* the stream gets its own descriptor; fd 1 goes to /dev/null so that
	 * nothing printed during the run can corrupt it */
	int out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (out < 0) {
		fprintf(stderr, "runnel: stdout: %s\n", strerror(errno));
		return 1;
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 1);
		close(devnull);
	}

	runnel_error err = {0};
	runnel_canceler *canceler = cli_cancel_on_signals();
	if (!canceler)
		return 1;
	opts.canceler = canceler;

	runnel_run_result res;
	int rc;
	if (runnel_worker(0, out, &opts, &res, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		rc = 1;
	} else {
		rc = res.rc >= 0 ? res.rc : 1;
		runnel_result_clear(&res);
	}
	cli_cancel_on_signals_end(canceler);
	close(out);
	return rc;
}
