/*
 * options.c - parse runnel's command line from one table (see options.h).
 */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum arity { NO_VALUE, ONE_VALUE, MANY_VALUES } arity;

/* Where an option is listed in the help, by command (as ansible-runner's
 * parsers take them); the parser itself accepts every option everywhere. */
enum {
	C_TOP = 1 << 0, /* runnel --help */
	C_RUN = 1 << 1,
	C_START = 1 << 2,
	C_STOP = 1 << 3,
	C_ALIVE = 1 << 4,
	C_TRANSMIT = 1 << 5,
	C_WORKER = 1 << 6,
	C_CLEANUP = 1 << 7, /* runnel worker cleanup */
	C_PROCESS = 1 << 8,
	C_JOB = C_RUN | C_START | C_STOP | C_ALIVE | C_TRANSMIT, /* the job commands */
	C_COMMON = C_TOP | C_JOB | C_WORKER | C_PROCESS,
	C_ALL = C_COMMON | C_CLEANUP,
};

/* The help's sections, in the order printed. */
typedef enum help_group {
	G_OPTIONS,
	G_RUNNER,
	G_ANSIBLE,
	G_ROLE,
	G_MODULE,
	G_CONTAINER,
	G_COUNT
} help_group;

static const struct {
	const char *title, *description;
} groups[G_COUNT] = {
    [G_OPTIONS] = {"options", NULL},
    [G_RUNNER] = {"Ansible Runner Options",
                  "configuration options for controlling the ansible-runner runtime "
                  "environment."},
    [G_ANSIBLE] = {"Ansible Options", "control the ansible[-playbook] execution environment"},
    [G_ROLE] = {"Ansible Role Options", "configuration options for directly executing Ansible "
                                        "roles"},
    [G_MODULE] = {"Ansible Module Options", "configuration options for directly executing "
                                            "Ansible modules"},
    [G_CONTAINER] = {"Ansible Container Options", "configuration options for executing "
                                                  "Ansible playbooks"},
};

typedef struct option_spec {
	opt_id id;
	const char *shortname; /* "-p" or NULL */
	const char *longname;  /* "--playbook" */
	arity arity;
	const char *help;
	unsigned cmds;       /* C_*: the commands whose help lists it */
	help_group group;    /* its section there */
	const char *metavar; /* NULL: the long name in capitals */
} option_spec;

static const option_spec options[] = {
    {OPT_HELP, "-h", "--help", NO_VALUE, "show this help message and exit", C_ALL, G_OPTIONS, NULL},
    {OPT_PI, NULL, "--process-isolation", NO_VALUE,
     "isolate the run: a sandbox (bwrap, which hides /tmp and more) or a container engine "
     "(podman or docker) running Ansible (default=False)",
     C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_PI_EXECUTABLE, NULL, "--process-isolation-executable", ONE_VALUE,
     "the sandbox or container engine that isolates the run (default=podman)",
     C_RUN | C_START | C_CLEANUP, G_OPTIONS, NULL},
    {OPT_PI_PATH, NULL, "--process-isolation-path", ONE_VALUE,
     "where an isolated run stages its files (default=/tmp)", C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_PI_HIDE, NULL, "--process-isolation-hide-paths", MANY_VALUES,
     "paths hidden from the isolated run (default=None)", C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_PI_SHOW, NULL, "--process-isolation-show-paths", MANY_VALUES,
     "paths shown to the isolated run (default=None)", C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_PI_RO, NULL, "--process-isolation-ro-paths", MANY_VALUES,
     "paths shown to the isolated run read-only (default=None)", C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_DI_BASE, NULL, "--directory-isolation-base-path", ONE_VALUE,
     "copy the project into a new directory under this one for the run, so that runs of the "
     "same project do not collide (default=None)",
     C_RUN | C_START, G_OPTIONS, NULL},
    {OPT_WORKER_PDD, NULL, "--private-data-dir", ONE_VALUE,
     "where the streamed job is unpacked: its private data dir (default: a new temporary "
     "directory)",
     C_WORKER, G_OPTIONS, NULL},
    {OPT_WORKER_INFO, NULL, "--worker-info", NO_VALUE,
     "print this node's runner version, memory and CPU capacity", C_WORKER, G_OPTIONS, NULL},
    {OPT_DELETE, NULL, "--delete", NO_VALUE,
     "remove the directory given by --private-data-dir before unpacking the job into it, and "
     "again when the job is done",
     C_WORKER, G_OPTIONS, NULL},
    {OPT_KEEPALIVE, NULL, "--keepalive-seconds", ONE_VALUE,
     "send a keepalive line when the job has been silent this long (a runnel extension)", C_WORKER,
     G_OPTIONS, NULL},
    {OPT_VERSION, NULL, "--version", NO_VALUE, "show program's version number and exit", C_COMMON,
     G_OPTIONS, NULL},
    {OPT_DEBUG, NULL, "--debug", NO_VALUE, "log the runner's debug output (default=False)",
     C_COMMON, G_OPTIONS, NULL},
    {OPT_LOGFILE, NULL, "--logfile", ONE_VALUE, "write log messages to this file (default=None)",
     C_COMMON, G_OPTIONS, NULL},
    {OPT_PLAYBOOK, "-p", "--playbook", ONE_VALUE,
     "run this playbook of the project (see Ansible Options below)", C_JOB, G_OPTIONS, NULL},
    {OPT_MODULE, "-m", "--module", ONE_VALUE,
     "run this Ansible module directly, without a playbook (see Ansible Module Options below)",
     C_JOB, G_OPTIONS, NULL},
    {OPT_ROLE, "-r", "--role", ONE_VALUE,
     "run this Ansible role directly, without a playbook (see Ansible Role Options below)", C_JOB,
     G_OPTIONS, NULL},
    {OPT_BINARY, "-b", "--binary", ONE_VALUE,
     "the Ansible program to run instead of ansible-playbook or ansible (default=None)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_IDENT, "-i", "--ident", ONE_VALUE,
     "the run's identifier: the name of its artifacts directory (default: a new uuid)",
     C_TOP | C_JOB | C_PROCESS, G_RUNNER, NULL},
    {OPT_ROTATE, NULL, "--rotate-artifacts", ONE_VALUE,
     "keep only this many artifact directories, removing the oldest (default=0, disabled)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_ARTIFACT_DIR, NULL, "--artifact-dir", ONE_VALUE,
     "the root of the artifact directories (default=<private_data_dir>/artifacts)", C_TOP | C_JOB,
     G_RUNNER, NULL},
    {OPT_PROJECT_DIR, NULL, "--project-dir", ONE_VALUE,
     "the directory holding the playbooks (default=<private_data_dir>/project)", C_TOP | C_JOB,
     G_RUNNER, NULL},
    {OPT_INVENTORY, NULL, "--inventory", ONE_VALUE,
     "the inventory, a path under <private_data_dir>/inventory or an absolute one "
     "(default=<private_data_dir>/inventory)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_JSON, "-j", "--json", NO_VALUE,
     "print the events as JSON instead of Ansible's output (default=False)", C_TOP | C_JOB,
     G_RUNNER, NULL},
    {OPT_OMIT_EVENT_DATA, NULL, "--omit-event-data", NO_VALUE,
     "leave event_data out of the events handed on and written (status and stdout stay)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_ONLY_FAILED, NULL, "--only-failed-event-data", NO_VALUE,
     "keep event_data only in the events of failed tasks (status and stdout stay for all)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_OMIT_ENV_FILES, NULL, "--omit-env-files", NO_VALUE,
     "do not write the env directory into the artifacts", C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_QUIET, "-q", "--quiet", NO_VALUE, "print nothing on stdout or stderr (default=False)",
     C_TOP | C_JOB, G_RUNNER, NULL},
    {OPT_VERBOSE, "-v", NULL, NO_VALUE,
     "raise ansible-playbook's verbosity, once per v (up to 5) (default=None)", C_TOP | C_JOB,
     G_RUNNER, NULL},
    {OPT_LIMIT, NULL, "--limit", ONE_VALUE,
     "Ansible's --limit: narrow the inventory to these hosts (default=None)", C_JOB, G_ANSIBLE,
     NULL},
    {OPT_CMDLINE, NULL, "--cmdline", ONE_VALUE,
     "more options for ansible-playbook, as one string (default=None)", C_JOB, G_ANSIBLE, NULL},
    {OPT_HOSTS, NULL, "--hosts", ONE_VALUE,
     "the hosts to run against, with -m or -r only (default=None)", C_JOB, G_ANSIBLE, NULL},
    {OPT_FORKS, NULL, "--forks", ONE_VALUE,
     "Ansible's --forks: how many hosts at once (default=None)", C_JOB, G_ANSIBLE, NULL},
    {OPT_ROLES_PATH, NULL, "--roles-path", ONE_VALUE,
     "where to find the role (default=<private_data_dir>/roles)", C_JOB, G_ROLE, NULL},
    {OPT_ROLE_VARS, NULL, "--role-vars", ONE_VALUE,
     "variables for the role, as 'key1=value1 key2=value2' (default=None)", C_JOB, G_ROLE, NULL},
    {OPT_ROLE_SKIP_FACTS, NULL, "--role-skip-facts", NO_VALUE,
     "do not gather facts before the role (default=False)", C_JOB, G_ROLE, NULL},
    {OPT_MODULE_ARGS, "-a", "--args", ONE_VALUE,
     "arguments for the module, as 'key1=value1 key2=value2' (default=None)", C_JOB, G_MODULE,
     "MODULE_ARGS"},
    {OPT_CONTAINER_IMAGE, NULL, "--container-image", ONE_VALUE,
     "the container image the task runs in", C_JOB, G_CONTAINER, NULL},
    {OPT_CONTAINER_VOLUME, NULL, "--container-volume-mount", ONE_VALUE,
     "a bind mount, 'host_dir:/container_dir' (may be repeated)", C_JOB, G_CONTAINER,
     "CONTAINER_VOLUME_MOUNTS"},
    {OPT_CONTAINER_OPTION, NULL, "--container-option", ONE_VALUE,
     "an option for the container engine (may be repeated)", C_JOB, G_CONTAINER,
     "CONTAINER_OPTIONS"},
    {OPT_FILE_PATTERN, NULL, "--file-pattern", ONE_VALUE,
     "a glob of the private data dirs to remove, e.g. --file-pattern=/tmp/.ansible-runner-*",
     C_CLEANUP, G_OPTIONS, NULL},
    {OPT_EXCLUDE_STRINGS, NULL, "--exclude-strings", MANY_VALUES,
     "keep directories whose path holds one of these (comma-separated) words", C_CLEANUP, G_OPTIONS,
     NULL},
    {OPT_REMOVE_IMAGES, NULL, "--remove-images", MANY_VALUES,
     "container image tags to remove (comma-separated); --image-prune also removes their "
     "layers",
     C_CLEANUP, G_OPTIONS, NULL},
    {OPT_GRACE_PERIOD, NULL, "--grace-period", ONE_VALUE,
     "keep directories modified less than this many minutes ago; 0 keeps none", C_CLEANUP,
     G_OPTIONS, NULL},
    {OPT_IMAGE_PRUNE, NULL, "--image-prune", NO_VALUE,
     "prune the container engine's images after untagging", C_CLEANUP, G_OPTIONS, NULL},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *commands[] = {"run",      "start",  "stop",   "is-alive",
                                 "transmit", "worker", "process"};
static const char *command_help[] = {
    "Run a job in the foreground",
    "Start a job in the background (a daemon; its pid in <private_data_dir>/pid)",
    "Stop a job that runs in the background",
    "Check whether a job in the background is still running",
    "Send a job to a remote runner (a worker) on stdout",
    "Run a job streamed on stdin (from transmit), streaming its results on stdout",
    "Read a worker's results on stdin and write them as a local run's artifacts",
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

#define HELP_WIDTH 78 /* argparse's: 80 columns less 2 */
#define HELP_COL   24 /* where help text starts */

void cli_usage(void)
{
	fprintf(stderr, "usage: runnel [-h] [--version] [--debug] [--logfile LOGFILE] [-b BINARY] "
	                "[-i IDENT] ...\n"
	                "              {run,start,stop,is-alive,transmit,worker,process} ...\n");
}

/* What `runnel` alone prints on stdout (then the usage error, exit 2). */
static void print_basic_usage(void)
{
	printf("\n"
	       "These are common Ansible Runner commands:\n"
	       "\n"
	       "    execute a playbook contained in an ansible-runner directory:\n"
	       "\n"
	       "        runnel run /tmp/private -p playbook.yml\n"
	       "        runnel start /tmp/private -p playbook.yml\n"
	       "        runnel stop /tmp/private\n"
	       "        runnel is-alive /tmp/private\n"
	       "\n"
	       "    directly execute ansible primitives:\n"
	       "\n"
	       "        runnel run . -r role_name --hosts myhost\n"
	       "        runnel run . -m command -a \"ls -l\" --hosts myhost\n"
	       "\n"
	       "    run a job on another node:\n"
	       "\n"
	       "        runnel transmit /tmp/private -p playbook.yml | runnel worker | runnel "
	       "process /tmp/out\n"
	       "`runnel --help` list of optional command line arguments\n"
	       "\n");
}

/* The metavar of an option: argparse's dest in capitals. */
static void metavar(const option_spec *o, char *out, size_t n)
{
	if (o->metavar) {
		snprintf(out, n, "%s", o->metavar);
		return;
	}
	const char *l = o->longname ? o->longname + 2 : o->shortname + 1;
	size_t k = 0;
	for (; *l && k + 1 < n; l++)
		out[k++] = *l == '-' ? '_' : (char)(*l >= 'a' && *l <= 'z' ? *l - 32 : *l);
	out[k] = '\0';
}

/* "-p PLAYBOOK, --playbook PLAYBOOK" as argparse lists an option. */
static void invocation(const option_spec *o, char *out, size_t n)
{
	char mv[64], arg[80] = "";
	metavar(o, mv, sizeof mv);
	if (o->arity == ONE_VALUE)
		snprintf(arg, sizeof arg, " %s", mv);
	else if (o->arity == MANY_VALUES)
		snprintf(arg, sizeof arg, " [%s ...]", mv);
	if (o->shortname && o->longname)
		snprintf(out, n, "%s%s, %s%s", o->shortname, arg, o->longname, arg);
	else
		snprintf(out, n, "%s%s", o->shortname ? o->shortname : o->longname, arg);
}

/* One entry of a help section: the names, then text wrapped at HELP_COL. */
static void print_entry(int indent, const char *names, const char *text)
{
	int col = printf("%*s%s", indent, "", names);
	if (!text) {
		printf("\n");
		return;
	}
	if (col + 2 > HELP_COL) {
		printf("\n");
		col = 0;
	}
	const char *p = text;
	while (*p) {
		printf("%*s", HELP_COL - col, "");
		col = HELP_COL;
		size_t room = HELP_WIDTH - HELP_COL, len = strlen(p), cut = len;
		if (len > room) {
			cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = room;
		}
		printf("%.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		col = 0;
	}
}

/* Text wrapped at HELP_WIDTH, each line indented. */
static void print_paragraph(int indent, const char *p)
{
	while (*p) {
		size_t room = (size_t)(HELP_WIDTH - indent), len = strlen(p), cut = len;
		if (len > room) {
			cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = room;
		}
		printf("%*s%.*s\n", indent, "", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* Words of a usage line, wrapped under "usage: runnel CMD ". */
static void usage_word(const char *word, int *col, int indent)
{
	int len = (int)strlen(word);
	if (*col + 1 + len > HELP_WIDTH && *col > indent) {
		printf("\n%*s", indent, "");
		*col = indent;
	} else {
		printf(" ");
		(*col)++;
	}
	printf("%s", word);
	*col += len;
}

/* The help of one command (C_* bit cmd; name "run", "worker cleanup" or NULL
 * for the top level). */
static void print_help(unsigned cmd, const char *name)
{
	int indent = printf("usage: runnel%s%s", name ? " " : "", name ? name : "") + 1;
	int col = indent - 1;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (!(options[i].cmds & cmd))
			continue;
		char inv[160], word[170];
		const option_spec *o = &options[i];
		char mv[64];
		metavar(o, mv, sizeof mv);
		const char *first = o->shortname ? o->shortname : o->longname;
		if (o->arity == ONE_VALUE)
			snprintf(inv, sizeof inv, "%s %s", first, mv);
		else if (o->arity == MANY_VALUES)
			snprintf(inv, sizeof inv, "%s [%s ...]", first, mv);
		else
			snprintf(inv, sizeof inv, "%s", first);
		/* -p, -m and -r exclude each other: one bracket, as argparse */
		if (o->id == OPT_MODULE || o->id == OPT_ROLE)
			continue;
		if (o->id == OPT_PLAYBOOK)
			snprintf(word, sizeof word, "[-p PLAYBOOK | -m MODULE | -r ROLE]");
		else
			snprintf(word, sizeof word, "[%s]", inv);
		usage_word(word, &col, indent);
	}
	if (cmd == C_TOP)
		usage_word("{run,start,stop,is-alive,transmit,worker,process} ...", &col, indent);
	else if (cmd == C_WORKER)
		usage_word("{cleanup} ...", &col, indent);
	else if (cmd != C_CLEANUP)
		usage_word("private_data_dir", &col, indent);
	printf("\n\n");
	if (cmd == C_TOP) {
		print_paragraph(0, "A drop-in for ansible-runner, in C. Use 'runnel' (with no "
		                   "arguments) to see basic usage");
		printf("\n");
	}
	if (cmd & (C_JOB | C_PROCESS)) {
		printf("positional arguments:\n");
		print_entry(2, "private_data_dir",
		            "base directory containing the ansible-runner metadata (project, "
		            "inventory, env, etc)");
		printf("\n");
	}
	for (int g = 0; g < G_COUNT; g++) {
		int shown = 0;
		for (size_t i = 0; i < N_OPTIONS; i++) {
			const option_spec *o = &options[i];
			if (!(o->cmds & cmd))
				continue;
			/* process lists -i among its plain options */
			help_group og = cmd == C_PROCESS ? G_OPTIONS : o->group;
			if (og != (help_group)g)
				continue;
			if (!shown++) {
				printf("%s:\n", groups[g].title);
				if (groups[g].description) {
					print_paragraph(2, groups[g].description);
					printf("\n");
				}
			}
			char inv[200];
			invocation(o, inv, sizeof inv);
			print_entry(
			    2, inv,
			    cmd == C_PROCESS && o->id == OPT_IDENT
			        ? "the subdirectory of <private_data_dir>/artifacts to write "
			          "into; the --ident given to transmit"
			        : o->help);
		}
		if (shown)
			printf("\n");
		if (g == G_OPTIONS && cmd == C_TOP) {
			printf("subcommands:\n  COMMAND PRIVATE_DATA_DIR [ARGS]\n\n");
			print_entry(2, "{run,start,stop,is-alive,transmit,worker,process}",
			            "Command to invoke");
			for (size_t c = 0; c < N_COMMANDS; c++)
				print_entry(4, commands[c], command_help[c]);
			printf("\n");
		}
		if (g == G_OPTIONS && cmd == C_WORKER) {
			printf("subcommands:\n  runnel worker [sub-sub-command]\n\n");
			print_entry(2, "{cleanup}", "Sub-sub command to invoke");
			print_entry(4, "cleanup",
			            "Remove the private data dirs of earlier jobs and their "
			            "temporary folders.");
			printf("\n");
		}
	}
}

/* The C_* bit of a command name ("worker" with "cleanup" after it: C_CLEANUP). */
static unsigned command_bit(const char *command, const char *sub)
{
	static const unsigned bits[] = {C_RUN,      C_START,  C_STOP,   C_ALIVE,
	                                C_TRANSMIT, C_WORKER, C_PROCESS};
	for (size_t c = 0; c < N_COMMANDS; c++)
		if (!strcmp(commands[c], command))
			return bits[c] == C_WORKER && sub && !strcmp(sub, "cleanup") ? C_CLEANUP
			                                                             : bits[c];
	return 0;
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

/* -p, -m and -r exclude each other (argparse's message names the later one
 * first). 0 or the exit code 2. */
static int exclusive(const cli_args *a, const option_spec *o)
{
	static const opt_id group[] = {OPT_PLAYBOOK, OPT_MODULE, OPT_ROLE};
	static const char *names[] = {"-p/--playbook", "-m/--module", "-r/--role"};
	int self = -1;
	for (int i = 0; i < 3; i++)
		if (group[i] == o->id)
			self = i;
	if (self < 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (i == self || !a->flag[group[i]])
			continue;
		char msg[128];
		snprintf(msg, sizeof msg, "argument %s: not allowed with argument %%s",
		         names[self]);
		return usage_error(msg, names[i]);
	}
	return 0;
}

int cli_parse(int argc, char **argv, cli_args *a)
{
	int rc;
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
				/* as argparse: the help of the (sub)command read so far */
				unsigned cmd = C_TOP;
				if (npos) {
					cmd = command_bit(positional[0],
					                  npos > 1 ? positional[1] : NULL);
					if (!cmd)
						return usage_error(
						    "argument command: invalid choice: '%s'",
						    positional[0]);
				}
				print_help(cmd, cmd == C_TOP       ? NULL
				                : cmd == C_CLEANUP ? "worker cleanup"
				                                   : positional[0]);
				exit(0);
			}
			continue;
		}
		if ((rc = exclusive(a, o)) != 0)
			return rc;
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
		print_basic_usage();
		fflush(stdout);
		cli_usage();
		fprintf(stderr, "runnel: error: the following arguments are required: command\n");
		return 2;
	}
	a->command = positional[0];
	if (!command_bit(a->command, NULL))
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
