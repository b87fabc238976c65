/*
 * cmd_process.c - `runnel process PDD [-i IDENT] [-q]`: read what a `worker`
 * wrote on stdin, print the job's output, write its job_events and unpack
 * its artifacts into PDD/artifacts/IDENT (PDD/artifacts without -i, as
 * ansible-runner).
 *
 * Exit code: 0 when the stream ended properly (whatever the job's status),
 * 1 when it was broken or reported an error; upstream exits 0 either way.
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
#include "util.h"

int cmd_process(cli_args *a)
{
	if (!a->private_data_dir) {
		cli_usage();
		fprintf(stderr,
		        "runnel: error: the following arguments are required: private_data_dir\n");
		return 2;
	}
	runnel_error err = {0};
	char *pdd = rn_path_abs(a->private_data_dir);
	if (rn_mkdirs(pdd, 0700, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		free(pdd);
		return 1;
	}
	/* as upstream's CLI: process keeps a daemon.log in the private data dir */
	char *log = rn_path_join(pdd, "daemon.log");
	int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	free(log);

	runnel_config cfg = {0};
	cfg.private_data_dir = pdd;
	cfg.ident = a->value[OPT_IDENT];
	cfg.artifact_dir = a->value[OPT_ARTIFACT_DIR];
	cfg.quiet = a->flag[OPT_QUIET];
	signal(SIGPIPE, SIG_IGN);
	runnel_process_result res;
	int rc = 0;
	if (runnel_process(0, &cfg, &res, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		rc = 1;
	}
	free(pdd);
	return rc;
}
