/*
 * cmd_run.c - `runnel run PDD [options]`: run a job in the foreground and exit
 * with its rc, as `ansible-runner run` does.
 */
#include <stdio.h>

#include "commands.h"
#include "run_options.h"
#include "runnel.h"

int cmd_run(cli_args *a)
{
	run_options o;
	int rc = run_options_build(a, &o);
	if (rc != 0) {
		run_options_clear(&o);
		return rc;
	}
	runnel_config cfg = o.cfg;
	runnel_canceler *canceler = cli_cancel_on_signals();
	if (!canceler) {
		run_options_clear(&o);
		return 1;
	}
	cfg.canceler = canceler;

	runnel_run_result res;
	runnel_error err = {0};
	if (runnel_run(&cfg, &res, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		rc = 1;
	} else {
		/* upstream exits 0 (rc None) when ansible dies of a signal it did
		 * not send; runnel exits 1 so that the failure shows */
		rc = res.rc >= 0 ? res.rc : 1;
		runnel_result_clear(&res);
	}
	cli_cancel_on_signals_end(canceler);
	run_options_clear(&o);
	return rc;
}
