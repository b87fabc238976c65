/*
 * pdd.c - read a private data dir into a plan, as ansible-runner's
 * RunnerConfig.prepare() does: settings, passwords, envvars, cmdline,
 * extravars, args, inventory, project; then the child's environment.
 */
#include "plan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "command.h"
#include "datafile.h"
#include "expect.h"
#include "isolation.h"
#include "shlex.h"
#include "util.h"

extern char **environ;

/* Load an optional mapping file from env/: a new object, or NULL when it is
 * absent or not a mapping (then a warning names the file, as the spec asks). */
static json_t *load_env_mapping(const char *pdd, const char *name)
{
	char *path = rn_xasprintf("%s/env/%s", pdd, name);
	runnel_error e = {0};
	json_t *obj = rn_datafile_load_mapping(path, &e);
	if (!obj && e.code != ENOENT)
		fprintf(stderr, "runnel: warning: ignoring %s\n", e.message);
	free(path);
	return obj;
}

int rn_persist_env_file(const char *pdd, const char *name, const char *text, runnel_error *err)
{
	char *dir = rn_path_join(pdd, "env");
	char *path = rn_path_join(dir, name);
	int rc = 0;
	if (!rn_exists(path)) {
		rc = rn_mkdirs(dir, 0700, err) == 0 &&
		             rn_write_file_atomic(path, text, strlen(text), 0400, err) == 0
		         ? 1
		         : -1;
	}
	free(path);
	free(dir);
	return rc;
}

/* Serialize like Python's json.dumps() with default separators. */
static char *py_json_dumps(const json_t *v)
{
	return json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
}

/* Set a string in the env object. */
static void env_set(json_t *env, const char *k, const char *v)
{
	json_object_set_new(env, k, json_string(v));
}

/* Merge a mapping into env with every value stringified as Python's str(). */
static void env_merge(json_t *env, const json_t *vars)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)vars, k, v) {
		char *s = rn_py_str(v);
		json_object_set_new(env, k, json_stringn_nocheck(s, strlen(s)));
		free(s);
	}
}

json_t *rn_env_from_process(void)
{
	json_t *env = json_object();
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char *k = rn_xstrndup(*e, (size_t)(eq - *e));
		/* values are bytes: keep them even when they are not UTF-8 */
		json_object_set_new(env, k, json_stringn_nocheck(eq + 1, strlen(eq + 1)));
		free(k);
	}
	return env;
}

/* Whether the variable named name (len bytes) is one runnel_env_basic keeps. */
static bool basic_env_name(const char *name, size_t len)
{
	static const char *const names[] = {"PATH", "HOME",     "USER", "LOGNAME",
	                                    "LANG", "LANGUAGE", "TZ",   "TMPDIR"};
	if (len > 3 && !memcmp(name, "LC_", 3))
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len && !memcmp(name, names[i], len))
			return true;
	return false;
}

json_t *runnel_env_basic(void)
{
	json_t *env = json_object();
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || !basic_env_name(*e, (size_t)(eq - *e)))
			continue;
		char *k = rn_xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new(env, k, json_stringn_nocheck(eq + 1, strlen(eq + 1)));
		free(k);
	}
	if (!json_object_get(env, "PATH"))
		env_set(env, "PATH", RN_DEFAULT_PATH);
	return env;
}

/* A setting as a number of seconds (int or float or numeric string); 0 if unset. */
static double setting_seconds(const json_t *settings, const char *key)
{
	json_t *v = json_object_get(settings, key);
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v))
		return atof(json_string_value(v));
	return 0;
}

/* A setting as a boolean, with Python truthiness. */
static bool setting_bool(const json_t *settings, const char *key, bool dflt)
{
	json_t *v = json_object_get(settings, key);
	if (!v)
		return dflt;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_number(v))
		return json_number_value(v) != 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_null(v))
		return false;
	return json_is_object(v) ? json_object_size(v) > 0 : json_array_size(v) > 0;
}

/* Persist the API's values into env/ as upstream's dump_artifacts() does, and
 * write an inventory given as text (not a path) into inventory/hosts. */
static int dump_artifacts(const runnel_config *cfg, const char *pdd, char **inventory,
                          bool *extravars_persisted, runnel_error *err)
{
	if (cfg->inventory && !rn_exists(cfg->inventory)) {
		char *dir = rn_path_join(pdd, "inventory");
		char *path = rn_path_join(dir, "hosts");
		if (rn_mkdirs(dir, 0700, err) != 0 ||
		    rn_write_file_atomic(path, cfg->inventory, strlen(cfg->inventory), 0400, err) !=
		        0) {
			free(dir);
			free(path);
			return -1;
		}
		free(dir);
		*inventory = path;
	} else if (cfg->inventory) {
		*inventory = rn_xstrdup(cfg->inventory);
	}
	if (cfg->suppress_env_files)
		return 0;
	struct {
		const char *name;
		json_t *obj;
	} maps[] = {{"envvars", cfg->envvars},
	            {"extravars", cfg->extravars},
	            {"passwords", cfg->passwords},
	            {"settings", cfg->settings}};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		if (!maps[i].obj || !json_is_object(maps[i].obj) || !json_object_size(maps[i].obj))
			continue;
		char *path = rn_xasprintf("%s/env/%s", pdd, maps[i].name);
		bool existed = rn_exists(path);
		free(path);
		if (existed)
			continue;
		if (maps[i].obj == cfg->extravars)
			*extravars_persisted = true;
		char *text = py_json_dumps(maps[i].obj);
		int rc = rn_persist_env_file(pdd, maps[i].name, text, err) < 0 ? -1 : 0;
		free(text);
		if (rc != 0)
			return -1;
	}
	if (cfg->cmdline && *cfg->cmdline &&
	    rn_persist_env_file(pdd, "cmdline", cfg->cmdline, err) < 0)
		return -1;
	return 0;
}

/* Whether path is a regular file; with data_only, one that is not
 * executable (an inventory script) and within RN_DATAFILE_MAX_BYTES (a huge
 * inventory is ansible's to read, not a bomb). */
static bool is_regular(const char *path, bool data_only)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	return !data_only ||
	       ((st.st_mode & 0111) == 0 && (size_t)st.st_size <= RN_DATAFILE_MAX_BYTES);
}

/* Check one data file against the loader's bounds: 0, or -1 with err (E2BIG,
 * naming the file) when it is past one. A file that does not parse is left
 * to its reader (upstream ignores it, or ansible reports it). */
static int check_bounds(const char *path, runnel_error *err)
{
	runnel_error e = {0};
	json_t *v = rn_datafile_load(path, &e);
	json_decref(v);
	if (!v && e.code == E2BIG) {
		*err = e;
		return -1;
	}
	return 0;
}

/*
 * Refuse data files that a loader would have to expand past its bounds (a
 * YAML alias bomb; see datafile.h): env/envvars, env/settings, env/passwords,
 * env/extravars (which only ansible reads, and would expand) and the files
 * of the inventory (a file, or the regular files of a directory, but not
 * scripts: they print their inventory). Named pipes are
 * not read here (they can be read once); their reader bounds them. 0 or -1.
 */
static int check_data_files(const char *pdd, const char *inventory, runnel_error *err)
{
	static const char *const names[] = {"envvars", "settings", "passwords", "extravars"};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++) {
		char *path = rn_xasprintf("%s/env/%s", pdd, names[i]);
		if (is_regular(path, false))
			rc = check_bounds(path, err);
		free(path);
	}
	if (rc != 0 || !inventory)
		return rc;
	if (is_regular(inventory, true))
		return check_bounds(inventory, err);
	DIR *d = rn_is_dir(inventory) ? opendir(inventory) : NULL;
	struct dirent *de;
	while (rc == 0 && d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = rn_path_join(inventory, de->d_name);
		if (is_regular(path, true))
			rc = check_bounds(path, err);
		free(path);
	}
	if (d)
		closedir(d);
	return rc;
}

/* Merge an API mapping (may be NULL) with the env/ file of the same name; the
 * file wins. Returns a new object. */
static json_t *merged_mapping(const json_t *api, const char *pdd, const char *name)
{
	json_t *out = json_is_object(api) ? json_deep_copy(api) : json_object();
	json_t *file = load_env_mapping(pdd, name);
	if (file) {
		json_object_update(out, file);
		json_decref(file);
	}
	return out;
}

/* Build the child's environment (RunnerConfig._prepare_env + prepare_env). */
static void build_env(const runnel_config *cfg, rn_plan *plan, bool adhoc, bool container,
                      const char *engine)
{
	/* a container's environment is only what the job sets: the engine gets
	 * it through env.list */
	json_t *env = container || cfg->clean_environment ? json_object() : rn_env_from_process();
	char *in_container = container ? rn_xasprintf("/runner/artifacts/%s", plan->ident) : NULL;
	if (container && !strcmp(engine, "podman"))
		env_set(env, "ANSIBLE_UNSAFE_WRITES", "1");
	if (json_is_object(cfg->envvars))
		env_merge(env, cfg->envvars);
	json_t *file = load_env_mapping(plan->private_data_dir, "envvars");
	if (file) {
		env_merge(env, file);
		json_decref(file);
	}

	const char *lib = json_string_value(json_object_get(env, "AWX_LIB_DIRECTORY"));
	if (!lib)
		lib = getenv("AWX_LIB_DIRECTORY");
	if (!lib)
		lib = getenv("RUNNEL_PLUGIN_DIR");
	if (!lib)
		lib = RUNNEL_PLUGIN_DIR;
	char *container_lib = NULL;
	if (container) {
		/* the plugin travels in the artifact dir, which the container mounts */
		char *copy = rn_path_join(plan->artifact_dir, "callback");
		char *src = rn_path_join(lib, "awx_display.py");
		char *dst = rn_path_join(copy, "awx_display.py");
		size_t len;
		char *code = rn_read_file(src, &len, NULL);
		if (code && rn_mkdirs(copy, 0700, NULL) == 0)
			rn_write_file_atomic(dst, code, len, 0600, NULL);
		free(code);
		free(src);
		free(dst);
		free(copy);
		container_lib = rn_xasprintf("%s/callback", in_container);
		lib = container_lib;
	}
	const char *prev = json_string_value(json_object_get(env, "ANSIBLE_CALLBACK_PLUGINS"));
	char *cb = prev && *prev ? rn_xasprintf("%s:%s", prev, lib) : rn_xstrdup(lib);
	env_set(env, "ANSIBLE_CALLBACK_PLUGINS", cb);
	free(cb);
	free(container_lib);

	const char *orig = json_string_value(json_object_get(env, "ANSIBLE_STDOUT_CALLBACK"));
	if (orig && *orig)
		env_set(env, "ORIGINAL_STDOUT_CALLBACK", orig);
	if (adhoc) {
		env_set(env, "ANSIBLE_LOAD_CALLBACK_PLUGINS", "1");
		if (!json_object_get(env, "AD_HOC_COMMAND_ID"))
			env_set(env, "AD_HOC_COMMAND_ID", "1");
	}
	env_set(env, "ANSIBLE_STDOUT_CALLBACK", "awx_display");
	env_set(env, "ANSIBLE_RETRY_FILES_ENABLED", "False");
	if (!json_object_get(env, "ANSIBLE_HOST_KEY_CHECKING"))
		env_set(env, "ANSIBLE_HOST_KEY_CHECKING", "False");
	if (container) {
		env_set(env, "AWX_ISOLATED_DATA_DIR", in_container);
		if (plan->fact_cache) {
			char *fc = rn_xasprintf("%s/fact_cache", in_container);
			env_set(env, "ANSIBLE_CACHE_PLUGIN_CONNECTION", fc);
			free(fc);
		}
	} else {
		env_set(env, "AWX_ISOLATED_DATA_DIR", plan->artifact_dir);
	}
	if (plan->fact_cache) {
		env_set(env, "ANSIBLE_CACHE_PLUGIN", "jsonfile");
		if (!container)
			env_set(env, "ANSIBLE_CACHE_PLUGIN_CONNECTION", plan->fact_cache);
	}
	if (cfg->roles_path)
		env_set(env, "ANSIBLE_ROLES_PATH", cfg->roles_path);
	free(in_container);
	env_set(env, "RUNNER_OMIT_EVENTS", cfg->omit_event_data ? "True" : "False");
	env_set(env, "RUNNER_ONLY_FAILED_EVENTS", cfg->only_failed_event_data ? "True" : "False");
	if (cfg->clean_environment && !json_object_get(env, "PATH"))
		env_set(env, "PATH", RN_DEFAULT_PATH);
	plan->env = env;
}

/* Read an optional text file of the private data dir; NULL if absent. */
static char *read_optional(const char *path, runnel_error *err, int *failed)
{
	*failed = 0;
	if (!rn_exists(path))
		return NULL;
	char *text = rn_read_file(path, NULL, err);
	if (!text)
		*failed = 1;
	return text;
}

int rn_plan_prepare(const runnel_config *cfg, rn_plan *plan, runnel_error *err)
{
	memset(plan, 0, sizeof *plan);
	char *inventory = NULL, *raw_args = NULL, *cmdline_file = NULL;
	char *args_path = NULL, *cmdline_path = NULL, *extravars_path = NULL;
	json_t *passwords = NULL;
	rn_isolation iso = {0};
	int rc = -1, failed;

	if (!cfg->private_data_dir || !*cfg->private_data_dir) {
		rn_fail(err, EINVAL, "private_data_dir: not given");
		goto out;
	}
	if (cfg->module && cfg->playbook) {
		rn_fail(err, EINVAL, "Only one of playbook and module options are allowed");
		goto out;
	}
	plan->private_data_dir = rn_path_abs(cfg->private_data_dir);
	const char *pdd = plan->private_data_dir;
	if (rn_mkdirs(pdd, 0700, err) != 0)
		goto out;
	bool extravars_persisted = false;
	if (dump_artifacts(cfg, pdd, &inventory, &extravars_persisted, err) != 0)
		goto out;
	{
		char *dflt = inventory ? NULL : rn_path_join(pdd, "inventory");
		int bad = check_data_files(pdd, inventory ? inventory : dflt, err);
		free(dflt);
		if (bad)
			goto out;
	}

	char ident[37];
	if (cfg->ident && *cfg->ident) {
		if (strchr(cfg->ident, '/') || !strcmp(cfg->ident, ".") ||
		    !strcmp(cfg->ident, "..")) {
			rn_fail(err, EINVAL, "ident: '%s' is not a valid directory name",
			        cfg->ident);
			goto out;
		}
		plan->ident = rn_xstrdup(cfg->ident);
	} else {
		rn_uuid4(ident);
		plan->ident = rn_xstrdup(ident);
	}
	plan->artifact_root =
	    cfg->artifact_dir ? rn_path_abs(cfg->artifact_dir) : rn_path_join(pdd, "artifacts");
	plan->artifact_dir = rn_path_join(plan->artifact_root, plan->ident);
	if (rn_mkdirs(plan->artifact_dir, 0700, err) != 0)
		goto out;
	plan->project_dir =
	    cfg->project_dir ? rn_path_abs(cfg->project_dir) : rn_path_join(pdd, "project");
	plan->rotate_artifacts = cfg->rotate_artifacts;
	plan->json_mode = cfg->json_mode;

	/* settings: the API's, updated by env/settings */
	plan->settings = merged_mapping(cfg->settings, pdd, "settings");
	passwords = merged_mapping(cfg->passwords, pdd, "passwords");
	plan->expect = rn_expect_new(passwords, "env/passwords");
	plan->idle_timeout = setting_seconds(plan->settings, "idle_timeout");
	plan->job_timeout =
	    cfg->timeout > 0 ? cfg->timeout : setting_seconds(plan->settings, "job_timeout");
	plan->suppress_output_file = setting_bool(plan->settings, "suppress_output_file", false);
	plan->suppress_ansible_output =
	    setting_bool(plan->settings, "suppress_ansible_output", cfg->quiet);

	/* fact cache: jsonfile under the artifact dir unless settings say otherwise */
	const char *fc_type = json_string_value(json_object_get(plan->settings, "fact_cache_type"));
	const char *fc_name = json_string_value(json_object_get(plan->settings, "fact_cache"));
	if (!fc_type || !strcmp(fc_type, "jsonfile"))
		plan->fact_cache =
		    rn_path_join(plan->artifact_dir, fc_name ? fc_name : "fact_cache");

	rn_isolation_load(cfg, plan->settings, &iso);
	bool container = iso.enabled && rn_isolation_is_container(&iso);
	plan->directory_isolation_cleanup =
	    setting_bool(plan->settings, "directory_isolation_cleanup", true);
	if (container) {
		/* the container name: ansible_runner_ + the ident, [^a-zA-Z0-9_-] → _ */
		plan->container_name = rn_xasprintf("ansible_runner_%s", plan->ident);
		for (char *c = plan->container_name; *c; c++)
			if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-'))
				*c = '_';
	}

	/* the ssh key: the API's, else env/ssh_key */
	if (cfg->ssh_key && *cfg->ssh_key) {
		plan->ssh_key = rn_xstrdup(cfg->ssh_key);
	} else {
		char *key_path = rn_path_join(pdd, "env/ssh_key");
		plan->ssh_key = read_optional(key_path, err, &failed);
		free(key_path);
		if (failed)
			goto out;
		if (plan->ssh_key && !*plan->ssh_key) {
			free(plan->ssh_key);
			plan->ssh_key = NULL;
		}
	}

	if (iso.enabled && !container && iso.directory_base &&
	    rn_isolation_copy_project(&iso, plan, err) != 0)
		goto out;

	/* the command line */
	args_path = rn_path_join(pdd, "args");
	raw_args = read_optional(args_path, err, &failed);
	if (failed)
		goto out;
	cmdline_path = rn_path_join(pdd, "env/cmdline");
	const char *cmdline = cfg->cmdline && *cfg->cmdline ? cfg->cmdline : NULL;
	if (!cmdline) {
		cmdline_file = read_optional(cmdline_path, err, &failed);
		if (failed)
			goto out;
		cmdline = cmdline_file;
	}
	if (container) {
		free(inventory);
		inventory = rn_xstrdup("/runner/inventory/hosts");
	} else if (!inventory) {
		char *dflt = rn_path_join(pdd, "inventory");
		if (rn_exists(dflt))
			inventory = dflt;
		else
			free(dflt);
	}
	extravars_path = rn_path_join(pdd, "env/extravars");
	if (!rn_is_file(extravars_path)) {
		free(extravars_path);
		extravars_path = NULL;
	} else if (container) {
		free(extravars_path);
		extravars_path = rn_xstrdup("/runner/env/extravars");
	}
	rn_command_inputs in = {
	    .raw_args = raw_args,
	    .raw_args_path = args_path,
	    .cmdline = cmdline,
	    .cmdline_what = cmdline == cfg->cmdline ? "--cmdline" : cmdline_path,
	    .inventory = inventory,
	    .extravars_path = extravars_path,
	    /* extravars persisted into env/extravars are read back from there;
	     * otherwise (suppressed, or the file was there already) the API's
	     * value is passed as -e too, as upstream does */
	    .extravars = extravars_persisted ? NULL : cfg->extravars,
	    .playbook = cfg->playbook,
	};
	if (rn_command_build(cfg, &in, &plan->argv, &plan->argc, &plan->mode, err) != 0)
		goto out;

	bool adhoc = !cfg->binary && cfg->module && !raw_args;
	build_env(cfg, plan, adhoc, container, iso.executable);

	/* cwd: the private data dir for ad hoc runs or without a project dir;
	 * with directory isolation, upstream reports the base path here */
	if (json_object_get(plan->env, "AD_HOC_COMMAND_ID") || !rn_is_dir(plan->project_dir))
		plan->cwd = rn_xstrdup(pdd);
	else if (iso.enabled && !container && iso.directory_base)
		plan->cwd = rn_xstrdup(iso.directory_base);
	else
		plan->cwd = rn_xstrdup(plan->project_dir);

	/* wrappers, in upstream's order: ssh-agent, then the sandbox or container */
	if (plan->ssh_key && rn_agent_wrap(plan, err) != 0)
		goto out;
	if (iso.enabled && !container && rn_isolation_wrap_bwrap(&iso, plan, err) != 0)
		goto out;
	if (container && rn_isolation_wrap_container(&iso, plan, err) != 0)
		goto out;
	rc = 0;
out:
	free(inventory);
	free(raw_args);
	free(cmdline_file);
	free(args_path);
	free(cmdline_path);
	free(extravars_path);
	json_decref(passwords);
	rn_isolation_clear(&iso);
	if (rc != 0) {
		rn_isolation_cleanup(plan);
		rn_plan_clear(plan);
	}
	return rc;
}

void rn_plan_clear(rn_plan *plan)
{
	free(plan->private_data_dir);
	free(plan->ident);
	free(plan->artifact_root);
	free(plan->artifact_dir);
	free(plan->project_dir);
	free(plan->cwd);
	free(plan->fact_cache);
	rn_argv_free(plan->argv);
	json_decref(plan->env);
	json_decref(plan->settings);
	rn_expect_free(plan->expect);
	if (plan->ssh_key) {
		explicit_bzero(plan->ssh_key, strlen(plan->ssh_key));
		free(plan->ssh_key);
	}
	if (plan->ssh_key_path)
		unlink(plan->ssh_key_path);
	free(plan->ssh_key_path);
	free(plan->isolation_tmp);
	free(plan->directory_isolation_path);
	free(plan->container_name);
	memset(plan, 0, sizeof *plan);
}

char **rn_plan_envp(const rn_plan *plan)
{
	size_t n = json_object_size(plan->env), i = 0;
	char **envp = rn_xmalloc((n + 1) * sizeof *envp);
	const char *k;
	json_t *v;
	json_object_foreach(plan->env, k, v) {
		envp[i++] = rn_xasprintf("%s=%s", k, json_string_value(v));
	}
	envp[i] = NULL;
	return envp;
}
