/*
 * options.c - parse runnel's command line from one table (see options.h).
 */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum arity { NO_VALUE, ONE_VALUE, MANY_VALUES } arity;

typedef struct option_spec {
	opt_id id;
	const char *shortname; /* "-p" or NULL */
	const char *longname;  /* "--playbook" */
	arity arity;
	const char *help;
} option_spec;

static const option_spec options[] = {
    {OPT_HELP, "-h", "--help", NO_VALUE, "show this help message and exit"},
    {OPT_VERSION, NULL, "--version", NO_VALUE, "show program's version number and exit"},
    {OPT_DEBUG, NULL, "--debug", NO_VALUE, "enable debug output logging"},
    {OPT_LOGFILE, NULL, "--logfile", ONE_VALUE, "log output messages to a file"},
    {OPT_PLAYBOOK, "-p", "--playbook", ONE_VALUE, "invoke an Ansible playbook"},
    {OPT_MODULE, "-m", "--module", ONE_VALUE, "invoke an Ansible module directly"},
    {OPT_ROLE, "-r", "--role", ONE_VALUE, "invoke an Ansible role directly"},
    {OPT_LIMIT, NULL, "--limit", ONE_VALUE, "matches Ansible's --limit parameter"},
    {OPT_CMDLINE, NULL, "--cmdline", ONE_VALUE, "command line options passed to Ansible"},
    {OPT_HOSTS, NULL, "--hosts", ONE_VALUE, "the hosts to run against (with -m or -r)"},
    {OPT_FORKS, NULL, "--forks", ONE_VALUE, "matches Ansible's --forks parameter"},
    {OPT_BINARY, "-b", "--binary", ONE_VALUE, "the binary to run instead of ansible[-playbook]"},
    {OPT_IDENT, "-i", "--ident", ONE_VALUE, "an identifier for the artifacts (default: a uuid)"},
    {OPT_ROTATE, NULL, "--rotate-artifacts", ONE_VALUE, "keep only this many artifact dirs"},
    {OPT_ARTIFACT_DIR, NULL, "--artifact-dir", ONE_VALUE, "where artifacts go"},
    {OPT_PROJECT_DIR, NULL, "--project-dir", ONE_VALUE, "the project directory"},
    {OPT_INVENTORY, NULL, "--inventory", ONE_VALUE, "the inventory (default: PDD/inventory)"},
    {OPT_JSON, "-j", "--json", NO_VALUE, "output the JSON event structure"},
    {OPT_OMIT_EVENT_DATA, NULL, "--omit-event-data", NO_VALUE, "omit event_data from events"},
    {OPT_ONLY_FAILED, NULL, "--only-failed-event-data", NO_VALUE,
     "keep event_data only for failed events"},
    {OPT_OMIT_ENV_FILES, NULL, "--omit-env-files", NO_VALUE, "do not write env/ files"},
    {OPT_QUIET, "-q", "--quiet", NO_VALUE, "disable all output"},
    {OPT_VERBOSE, "-v", NULL, NO_VALUE, "increase Ansible's verbosity"},
    {OPT_ROLES_PATH, NULL, "--roles-path", ONE_VALUE, "where to find the role"},
    {OPT_ROLE_VARS, NULL, "--role-vars", ONE_VALUE, "role variables: 'k1=v1 k2=v2'"},
    {OPT_ROLE_SKIP_FACTS, NULL, "--role-skip-facts", NO_VALUE, "do not gather facts for the role"},
    {OPT_MODULE_ARGS, "-a", "--args", ONE_VALUE, "module arguments"},
    {OPT_PI, NULL, "--process-isolation", NO_VALUE, "isolate the job's processes"},
    {OPT_PI_EXECUTABLE, NULL, "--process-isolation-executable", ONE_VALUE,
     "bwrap, podman or docker"},
    {OPT_PI_PATH, NULL, "--process-isolation-path", ONE_VALUE, "isolation temp path"},
    {OPT_PI_HIDE, NULL, "--process-isolation-hide-paths", MANY_VALUES, "paths to hide"},
    {OPT_PI_SHOW, NULL, "--process-isolation-show-paths", MANY_VALUES, "paths to show"},
    {OPT_PI_RO, NULL, "--process-isolation-ro-paths", MANY_VALUES, "paths to mount read-only"},
    {OPT_DI_BASE, NULL, "--directory-isolation-base-path", ONE_VALUE,
     "copy the project here to run it"},
    {OPT_CONTAINER_IMAGE, NULL, "--container-image", ONE_VALUE, "container image"},
    {OPT_CONTAINER_VOLUME, NULL, "--container-volume-mount", ONE_VALUE, "bind mounts (repeat)"},
    {OPT_CONTAINER_OPTION, NULL, "--container-option", ONE_VALUE, "engine options (repeat)"},
    {OPT_WORKER_PDD, NULL, "--private-data-dir", ONE_VALUE, "worker: where to unpack the job"},
    {OPT_DELETE, NULL, "--delete", NO_VALUE, "worker: delete the private data dir first and after"},
    {OPT_KEEPALIVE, NULL, "--keepalive-seconds", ONE_VALUE, "worker: keepalive interval"},
    {OPT_WORKER_INFO, NULL, "--worker-info", NO_VALUE, "worker: print capacity information"},
    {OPT_FILE_PATTERN, NULL, "--file-pattern", ONE_VALUE, "cleanup: glob of dirs to remove"},
    {OPT_EXCLUDE_STRINGS, NULL, "--exclude-strings", MANY_VALUES,
     "cleanup: keep paths containing these"},
    {OPT_GRACE_PERIOD, NULL, "--grace-period", ONE_VALUE, "cleanup: minutes a dir must be old"},
    {OPT_REMOVE_IMAGES, NULL, "--remove-images", MANY_VALUES,
     "cleanup: container images to remove"},
    {OPT_IMAGE_PRUNE, NULL, "--image-prune", NO_VALUE, "cleanup: prune container images"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *commands[] = {"run",      "start",  "stop",   "is-alive",
                                 "transmit", "worker", "process"};

void cli_usage(void)
{
	fprintf(stderr, "usage: runnel [-h] [--version] {run,start,stop,is-alive,transmit,worker,"
	                "process} ...\n");
}

/* Print the help text. */
static void print_help(void)
{
	printf("usage: runnel {run,start,stop,is-alive,transmit,worker,process} "
	       "private_data_dir [options]\n\nA drop-in for ansible-runner, in C.\n\noptions:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char names[80];
		snprintf(names, sizeof names, "%s%s%s%s",
		         options[i].shortname ? options[i].shortname : "",
		         options[i].shortname && options[i].longname ? ", " : "",
		         options[i].longname ? options[i].longname : "",
		         options[i].arity == NO_VALUE ? "" : " VALUE");
		printf("  %-40s %s\n", names, options[i].help);
	}
}

/* An argparse-style error: usage, then the message; exit code 2. */
static int usage_error(const char *fmt, const char *arg)
{
	cli_usage();
	fprintf(stderr, "runnel: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

/* Find a long option by exact name or unambiguous prefix. */
static const option_spec *find_long(const char *name, size_t len, int *ambiguous)
{
	const option_spec *found = NULL;
	*ambiguous = 0;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *l = options[i].longname;
		if (!l || strncmp(l, name, len) != 0)
			continue;
		if (strlen(l) == len)
			return &options[i];
		if (found)
			*ambiguous = 1;
		found = &options[i];
	}
	return *ambiguous ? NULL : found;
}

/* Find a short option by its letter. */
static const option_spec *find_short(char c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].shortname && options[i].shortname[1] == c)
			return &options[i];
	return NULL;
}

/* Record a value for an option. */
static void set_value(cli_args *a, opt_id id, const char *v)
{
	a->flag[id] = true;
	a->value[id] = v;
	a->list[id] = realloc(a->list[id], (a->list_len[id] + 1) * sizeof(char *));
	if (!a->list[id])
		abort();
	a->list[id][a->list_len[id]++] = v;
}

int cli_parse(int argc, char **argv, cli_args *a)
{
	memset(a, 0, sizeof *a);
	const char *positional[4];
	size_t npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0') {
			if (npos == 4)
				return usage_error("unrecognized arguments: %s", arg);
			positional[npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			for (i++; i < argc && npos < 4; i++)
				positional[npos++] = argv[i];
			break;
		}
		const option_spec *o;
		const char *inline_value = NULL;
		if (arg[1] == '-') {
			const char *eq = strchr(arg, '=');
			size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
			int amb;
			o = find_long(arg, len, &amb);
			if (amb)
				return usage_error("ambiguous option: %s", arg);
			if (!o)
				return usage_error("unrecognized arguments: %s", arg);
			if (eq)
				inline_value = eq + 1;
		} else {
			o = find_short(arg[1]);
			if (!o)
				return usage_error("unrecognized arguments: %s", arg);
			if (o->id == OPT_VERBOSE) {
				/* -vvv counts every v */
				for (const char *p = arg + 1; *p; p++) {
					if (*p != 'v')
						return usage_error(
						    "argument -v: ignored explicit argument '%s'",
						    p);
					a->verbosity++;
				}
				a->flag[OPT_VERBOSE] = true;
				continue;
			}
			if (arg[2])
				inline_value = arg + 2;
		}
		if (o->arity == NO_VALUE) {
			if (inline_value)
				return usage_error("argument %s: ignored explicit argument", arg);
			a->flag[o->id] = true;
			if (o->id == OPT_HELP) {
				print_help();
				exit(0);
			}
			continue;
		}
		if (inline_value) {
			set_value(a, o->id, inline_value);
			continue;
		}
		if (o->arity == ONE_VALUE) {
			if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] != '\0' &&
			                      !strchr(argv[i + 1], ' ')))
				return usage_error("argument %s: expected one argument", arg);
			set_value(a, o->id, argv[++i]);
			continue;
		}
		/* nargs='*': take values up to the next option */
		a->flag[o->id] = true;
		while (i + 1 < argc && argv[i + 1][0] != '-')
			set_value(a, o->id, argv[++i]);
	}
	if (a->flag[OPT_VERSION]) {
		printf("%s\n", RUNNEL_VERSION);
		exit(0);
	}
	if (npos == 0) {
		cli_usage();
		fprintf(stderr, "runnel: error: the following arguments are required: command\n");
		return 2;
	}
	a->command = positional[0];
	int known = 0;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		known |= !strcmp(commands[i], a->command);
	if (!known)
		return usage_error("argument command: invalid choice: '%s'", a->command);
	if (npos >= 2)
		a->private_data_dir = positional[1];
	if (npos > 2)
		return usage_error("unrecognized arguments: %s", positional[2]);
	return 0;
}

void cli_args_free(cli_args *a)
{
	for (int i = 0; i < OPT_COUNT; i++)
		free(a->list[i]);
}
