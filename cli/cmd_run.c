/*
 * cmd_run.c - `runnel run PDD [options]`: run a job in the foreground and exit
 * with its rc, as `ansible-runner run` does.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run_options.h"
#include "runnel.h"

/* The canceler the signal handler pokes: the one piece of state a signal
 * handler needs, set before the handlers are installed. */
static runnel_canceler *signal_canceler;

/* SIGTERM / SIGINT: cancel the job (async-signal-safe). */
static void on_signal(int sig)
{
	(void)sig;
	runnel_cancel(signal_canceler);
}

int cmd_run(cli_args *a)
{
	run_options o;
	int rc = run_options_build(a, &o);
	if (rc != 0) {
		run_options_clear(&o);
		return rc;
	}
	runnel_config cfg = o.cfg;
	runnel_error err = {0};
	runnel_canceler *canceler = runnel_canceler_new(&err);
	if (!canceler) {
		fprintf(stderr, "runnel: %s\n", err.message);
		run_options_clear(&o);
		return 1;
	}
	cfg.canceler = canceler;
	signal_canceler = canceler;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	runnel_run_result res;
	if (runnel_run(&cfg, &res, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		runnel_canceler_free(canceler);
		run_options_clear(&o);
		return 1;
	}
	/* upstream exits 0 (rc None) when ansible dies of a signal it did not
	 * send; runnel exits 1 so that the failure shows */
	rc = res.rc >= 0 ? res.rc : 1;
	runnel_result_clear(&res);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	runnel_canceler_free(canceler);
	run_options_clear(&o);
	return rc;
}
