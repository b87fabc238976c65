/*
 * signals.c - SIGTERM and SIGINT cancel the job, for every subcommand that
 * runs one (run, start, worker, process).
 */
#include <signal.h>
#include <stdio.h>

#include "commands.h"

/* The canceler the handler pokes: the one piece of state a signal handler
 * needs, set before the handlers are installed. */
static runnel_canceler *signal_canceler;

/* SIGTERM / SIGINT: cancel the job (async-signal-safe). */
static void on_signal(int sig)
{
	(void)sig;
	runnel_cancel(signal_canceler);
}

runnel_canceler *cli_cancel_on_signals(void)
{
	runnel_error err = {0};
	runnel_canceler *c = runnel_canceler_new(&err);
	if (!c) {
		fprintf(stderr, "runnel: %s\n", err.message);
		return NULL;
	}
	signal_canceler = c;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return c;
}

void cli_cancel_on_signals_end(runnel_canceler *c)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal_canceler = NULL;
	runnel_canceler_free(c);
}
