/*
 * cmd_run.c - `runnel run PDD [options]`: run a job in the foreground and exit
 * with its rc, as `ansible-runner run` does.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
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

/* Reject the options that belong to features this build does not have yet,
 * rather than ignore them. */
static int refuse_unsupported(const cli_args *a)
{
	static const struct {
		opt_id id;
		const char *name;
	} unsupported[] = {
		{OPT_ROLE, "-r/--role"},
		{OPT_PI, "--process-isolation"},
		{OPT_CONTAINER_IMAGE, "--container-image"},
		{OPT_CONTAINER_VOLUME, "--container-volume-mount"},
		{OPT_CONTAINER_OPTION, "--container-option"},
		{OPT_DI_BASE, "--directory-isolation-base-path"},
	};
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
		if (a->flag[unsupported[i].id]) {
			fprintf(stderr, "runnel: %s is not supported by this version of runnel yet\n",
				unsupported[i].name);
			return 1;
		}
	}
	return 0;
}

/* Parse a non-negative integer option or report it. */
static int int_option(const char *name, const char *v, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < 0 || n > 1000000) {
		fprintf(stderr, "runnel: error: argument %s: invalid int value: '%s'\n", name, v);
		return 2;
	}
	*out = (int)n;
	return 0;
}

int cmd_run(cli_args *a)
{
	if (!a->private_data_dir) {
		cli_usage();
		fprintf(stderr, "runnel: error: the following arguments are required: private_data_dir\n");
		return 2;
	}
	if (a->value[OPT_HOSTS] && !(a->value[OPT_MODULE] || a->value[OPT_ROLE])) {
		fprintf(stderr, "The --hosts option can only be used with -m or -r\n");
		return 1;
	}
	if (!(a->value[OPT_MODULE] || a->value[OPT_ROLE]) && !a->value[OPT_PLAYBOOK]) {
		fprintf(stderr, "The -p option must be specified when not using -m or -r\n");
		return 1;
	}
	if (refuse_unsupported(a))
		return 1;

	runnel_config cfg = {0};
	cfg.private_data_dir = a->private_data_dir;
	cfg.playbook = a->value[OPT_PLAYBOOK];
	cfg.module = a->value[OPT_MODULE];
	cfg.module_args = a->value[OPT_MODULE_ARGS];
	cfg.host_pattern = a->value[OPT_HOSTS];
	cfg.binary = a->value[OPT_BINARY];
	cfg.ident = a->value[OPT_IDENT];
	cfg.inventory = a->value[OPT_INVENTORY];
	cfg.limit = a->value[OPT_LIMIT];
	cfg.cmdline = a->value[OPT_CMDLINE];
	cfg.verbosity = a->verbosity;
	cfg.artifact_dir = a->value[OPT_ARTIFACT_DIR];
	cfg.project_dir = a->value[OPT_PROJECT_DIR];
	cfg.json_mode = a->flag[OPT_JSON];
	cfg.quiet = a->flag[OPT_QUIET];
	cfg.omit_event_data = a->flag[OPT_OMIT_EVENT_DATA];
	cfg.only_failed_event_data = a->flag[OPT_ONLY_FAILED];
	cfg.suppress_env_files = a->flag[OPT_OMIT_ENV_FILES];
	int rc;
	if (a->value[OPT_FORKS] && (rc = int_option("--forks", a->value[OPT_FORKS], &cfg.forks)))
		return rc;
	if (a->value[OPT_ROTATE] &&
	    (rc = int_option("--rotate-artifacts", a->value[OPT_ROTATE], &cfg.rotate_artifacts)))
		return rc;

	runnel_error err = {0};
	runnel_canceler *canceler = runnel_canceler_new(&err);
	if (!canceler) {
		fprintf(stderr, "runnel: %s\n", err.message);
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
		return 1;
	}
	/* upstream exits 0 (rc None) when ansible dies of a signal it did not
	 * send; runnel exits 1 so that the failure shows */
	rc = res.rc >= 0 ? res.rc : 1;
	runnel_result_clear(&res);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	runnel_canceler_free(canceler);
	return rc;
}
