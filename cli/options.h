/*
 * options.h - the runnel command line as data: one table of options (names,
 * whether they take a value, help), parsed the way Python's argparse parses
 * ansible-runner's (--opt value, --opt=value, -xVALUE, -vvv, options before or
 * after the positional arguments, unambiguous --long prefixes).
 */
#ifndef RUNNEL_CLI_OPTIONS_H
#define RUNNEL_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum opt_id {
	OPT_NONE = 0,
	OPT_HELP,
	OPT_VERSION,
	OPT_DEBUG,
	OPT_LOGFILE,
	OPT_PLAYBOOK,
	OPT_MODULE,
	OPT_ROLE,
	OPT_LIMIT,
	OPT_CMDLINE,
	OPT_HOSTS,
	OPT_FORKS,
	OPT_BINARY,
	OPT_IDENT,
	OPT_ROTATE,
	OPT_ARTIFACT_DIR,
	OPT_PROJECT_DIR,
	OPT_INVENTORY,
	OPT_JSON,
	OPT_OMIT_EVENT_DATA,
	OPT_ONLY_FAILED,
	OPT_OMIT_ENV_FILES,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_ROLES_PATH,
	OPT_ROLE_VARS,
	OPT_ROLE_SKIP_FACTS,
	OPT_MODULE_ARGS,
	OPT_PI,
	OPT_PI_EXECUTABLE,
	OPT_PI_PATH,
	OPT_PI_HIDE,
	OPT_PI_SHOW,
	OPT_PI_RO,
	OPT_DI_BASE,
	OPT_CONTAINER_IMAGE,
	OPT_CONTAINER_VOLUME,
	OPT_CONTAINER_OPTION,
	OPT_WORKER_PDD,
	OPT_DELETE,
	OPT_KEEPALIVE,
	OPT_WORKER_INFO,
	OPT_FILE_PATTERN,
	OPT_EXCLUDE_STRINGS,
	OPT_GRACE_PERIOD,
	OPT_REMOVE_IMAGES,
	OPT_IMAGE_PRUNE,
	OPT_COUNT
} opt_id;

/* The parsed command line of one subcommand. Values point into argv. */
typedef struct cli_args {
	const char *command; /* run, start, stop, is-alive, transmit, worker, process */
	const char *private_data_dir;
	const char *value[OPT_COUNT]; /* last value given, for options with a value */
	bool flag[OPT_COUNT];         /* given at all */
	int verbosity;                /* count of -v */
	const char **list[OPT_COUNT]; /* every value, for repeatable/nargs options */
	size_t list_len[OPT_COUNT];
} cli_args;

/* Parse argv[1..]; on a usage error print argparse-style messages to stderr
 * and return the exit code (2); 0 on success. Free with cli_args_free(). */
int cli_parse(int argc, char **argv, cli_args *out);
void cli_args_free(cli_args *a);
void cli_usage(void);

#endif
