/*
 * cmd_transmit.c - `runnel transmit PDD [run options]`: write the job (the
 * run options and the private data dir) to stdout as ansible-runner's
 * streaming protocol, for a `worker` on the other end of a pipe.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "run_options.h"
#include "runnel.h"
#include "util.h"

int cmd_transmit(cli_args *a)
{
	run_options o;
	int rc = run_options_build(a, &o);
	if (rc != 0) {
		run_options_clear(&o);
		return rc;
	}
	/* upstream's CLI always sends an ident: a uuid4 as hex, when -i is not
	 * given (its JSON encoder writes UUIDs that way) */
	char ident[40];
	if (!o.cfg.ident) {
		char u[37];
		rn_uuid4(u);
		size_t j = 0;
		for (size_t i = 0; u[i]; i++)
			if (u[i] != '-')
				ident[j++] = u[i];
		ident[j] = 0;
		o.cfg.ident = ident;
	}
	signal(SIGPIPE, SIG_IGN);
	runnel_error err = {0};
	rc = 0;
	if (runnel_transmit(&o.cfg, 1, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		rc = 1;
	}
	run_options_clear(&o);
	return rc;
}
