/*
 * command.c - the command line of a run, in exactly ansible-runner's order:
 * binary, cmdline tokens, -i, --limit, -e @env/extravars, -e <json>, -v...,
 * --tags, --skip-tags, --forks, then the playbook or -m MOD [-a ARGS] PATTERN.
 */
#include "command.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shlex.h"
#include "util.h"

/* Append one argument to a growing argv. */
static void argv_push(char ***argv, size_t *argc, const char *arg)
{
	*argv = rn_xrealloc(*argv, (*argc + 2) * sizeof **argv);
	(*argv)[(*argc)++] = rn_xstrdup(arg);
	(*argv)[*argc] = NULL;
}

/* Append a list of arguments, taking ownership of the list. */
static void argv_extend(char ***argv, size_t *argc, char **more)
{
	for (size_t i = 0; more && more[i]; i++)
		argv_push(argv, argc, more[i]);
	rn_argv_free(more);
}

/* The -e value for extravars given through the API: {"k":<json>,...} the way
 * ansible-runner builds it ("\"{}\":{}".format(k, json.dumps(v)) joined by ,). */
static char *extravars_arg(const json_t *extravars)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_appendc(&b, '{');
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach((json_t *)extravars, k, v) {
		char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
		char *item = rn_xasprintf("%s\"%s\":%s", first ? "" : ",", k, val ? val : "null");
		rn_buf_append(&b, item, strlen(item));
		free(item);
		free(val);
		first = 0;
	}
	rn_buf_appendc(&b, '}');
	return b.data;
}

int rn_command_build(const runnel_config *cfg, const rn_command_inputs *in, char ***argv_out,
                     size_t *argc_out, rn_exec_mode *mode, runnel_error *err)
{
	char **argv = NULL;
	size_t argc = 0;

	if (in->raw_args) {
		char **raw;
		size_t n;
		if (rn_shlex_split(in->raw_args, in->raw_args_path, &raw, &n, err) != 0)
			return -1;
		argv_extend(&argv, &argc, raw);
		if (argc == 0) {
			free(argv);
			return rn_fail(err, EINVAL, "%s: the command is empty", in->raw_args_path);
		}
		*mode = RN_EXEC_RAW;
		*argv_out = argv;
		*argc_out = argc;
		return 0;
	}

	if (cfg->binary) {
		argv_push(&argv, &argc, cfg->binary);
		*mode = RN_EXEC_RAW;
	} else if (cfg->module) {
		argv_push(&argv, &argc, "ansible");
		*mode = RN_EXEC_ADHOC;
	} else {
		argv_push(&argv, &argc, "ansible-playbook");
		*mode = RN_EXEC_PLAYBOOK;
	}

	if (in->cmdline && *in->cmdline) {
		char **tok;
		size_t n;
		if (rn_shlex_split(in->cmdline, in->cmdline_what, &tok, &n, err) != 0) {
			rn_argv_free(argv);
			return -1;
		}
		argv_extend(&argv, &argc, tok);
	}
	if (in->inventory) {
		argv_push(&argv, &argc, "-i");
		argv_push(&argv, &argc, in->inventory);
	}
	if (cfg->limit) {
		argv_push(&argv, &argc, "--limit");
		argv_push(&argv, &argc, cfg->limit);
	}
	if (in->extravars_path) {
		char *e = rn_xasprintf("@%s", in->extravars_path);
		argv_push(&argv, &argc, "-e");
		argv_push(&argv, &argc, e);
		free(e);
	}
	if (in->extravars && json_is_object(in->extravars) && json_object_size(in->extravars)) {
		char *e = extravars_arg(in->extravars);
		argv_push(&argv, &argc, "-e");
		argv_push(&argv, &argc, e);
		free(e);
	}
	if (cfg->verbosity > 0) {
		char v[64] = "-";
		int n = cfg->verbosity < 60 ? cfg->verbosity : 60;
		memset(v + 1, 'v', (size_t)n);
		v[n + 1] = '\0';
		argv_push(&argv, &argc, v);
	}
	if (cfg->tags && *cfg->tags) {
		argv_push(&argv, &argc, "--tags");
		argv_push(&argv, &argc, cfg->tags);
	}
	if (cfg->skip_tags && *cfg->skip_tags) {
		argv_push(&argv, &argc, "--skip-tags");
		argv_push(&argv, &argc, cfg->skip_tags);
	}
	if (cfg->forks > 0) {
		char f[32];
		snprintf(f, sizeof f, "%d", cfg->forks);
		argv_push(&argv, &argc, "--forks");
		argv_push(&argv, &argc, f);
	}
	if (*mode == RN_EXEC_PLAYBOOK) {
		if (!in->playbook) {
			rn_argv_free(argv);
			return rn_fail(err, EINVAL,
			               "Runner playbook required when running ansible-playbook");
		}
		argv_push(&argv, &argc, in->playbook);
	} else if (*mode == RN_EXEC_ADHOC) {
		argv_push(&argv, &argc, "-m");
		argv_push(&argv, &argc, cfg->module);
		if (cfg->module_args) {
			argv_push(&argv, &argc, "-a");
			argv_push(&argv, &argc, cfg->module_args);
		}
		if (cfg->host_pattern)
			argv_push(&argv, &argc, cfg->host_pattern);
	}
	*argv_out = argv;
	*argc_out = argc;
	return 0;
}

/* True if path is a regular file we may execute. */
static int is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *rn_which(const char *cmd, const json_t *env)
{
	if (strchr(cmd, '/'))
		return is_executable_file(cmd) ? rn_xstrdup(cmd) : NULL;
	const char *path = env ? json_string_value(json_object_get(env, "PATH")) : NULL;
	if (!path)
		path = "/bin:/usr/bin";
	const char *p = path;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *dir = n ? rn_xstrndup(p, n) : rn_xstrdup(".");
		char *full = rn_path_join(dir, cmd);
		free(dir);
		if (is_executable_file(full))
			return full;
		free(full);
		if (!end)
			break;
		p = end + 1;
	}
	return NULL;
}
