/*
 * run_options.c - command line to runnel_config (see run_options.h).
 */
#include "run_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/artifacts.h"
#include "../lib/util.h"

/* Parse a non-negative integer option or report it (argparse's message). */
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

/* A NULL-terminated copy of an option's list of values. */
static const char **value_list(const cli_args *a, opt_id id)
{
	if (!a->flag[id])
		return NULL;
	const char **l = rn_xmalloc((a->list_len[id] + 1) * sizeof *l);
	for (size_t i = 0; i < a->list_len[id]; i++)
		l[i] = a->list[id][i];
	l[a->list_len[id]] = NULL;
	return l;
}

/* A --role-vars value the way ast.literal_eval would read the simple cases:
 * ints, floats, True/False/None, quoted strings; anything else is a string. */
static json_t *role_var_value(const char *v)
{
	char *end;
	errno = 0;
	long long i = strtoll(v, &end, 10);
	if (*v && !*end && !errno)
		return json_integer(i);
	double d = strtod(v, &end);
	if (*v && !*end && strchr(v, '.'))
		return json_real(d);
	if (!strcmp(v, "True"))
		return json_true();
	if (!strcmp(v, "False"))
		return json_false();
	if (!strcmp(v, "None"))
		return json_null();
	size_t l = strlen(v);
	if (l >= 2 && (v[0] == '\'' || v[0] == '"') && v[l - 1] == v[0])
		return json_stringn(v + 1, l - 2);
	return json_string(v);
}

/* Role mode: write the one-play playbook and point ANSIBLE_ROLES_PATH at the
 * roles; as upstream's role_manager. */
static int setup_role(cli_args *a, run_options *o)
{
	json_t *role = json_object();
	json_object_set_new(role, "name", json_string(a->value[OPT_ROLE]));
	if (a->value[OPT_ROLE_VARS]) {
		json_t *vars = json_object();
		char *copy = rn_xstrdup(a->value[OPT_ROLE_VARS]);
		for (char *save, *item = strtok_r(copy, " \t\n", &save); item;
		     item = strtok_r(NULL, " \t\n", &save)) {
			char *eq = strchr(item, '=');
			if (!eq || strchr(eq + 1, '=')) {
				fprintf(stderr,
				        "runnel: --role-vars: '%s' is not of the form key=value\n",
				        item);
				free(copy);
				json_decref(vars);
				json_decref(role);
				return 1;
			}
			*eq = '\0';
			json_object_set_new(vars, item, role_var_value(eq + 1));
		}
		free(copy);
		json_object_set_new(role, "vars", vars);
	}
	json_t *play = json_object();
	json_object_set_new(play, "hosts",
	                    json_string(a->value[OPT_HOSTS] ? a->value[OPT_HOSTS] : "all"));
	json_object_set_new(play, "gather_facts", json_boolean(!a->flag[OPT_ROLE_SKIP_FACTS]));
	json_t *roles = json_array();
	json_array_append_new(roles, role);
	json_object_set_new(play, "roles", roles);
	json_t *plays = json_array();
	json_array_append_new(plays, play);
	char *text = json_dumps(plays, JSON_ENSURE_ASCII);
	json_decref(plays);

	char *project = a->value[OPT_PROJECT_DIR] ? rn_path_abs(a->value[OPT_PROJECT_DIR])
	                                          : rn_path_join(o->private_data_dir, "project");
	if (!rn_exists(project))
		o->role_project = rn_xstrdup(project);
	char hex[37], name[33];
	rn_uuid4(hex);
	size_t k = 0;
	for (const char *p = hex; *p; p++)
		if (*p != '-')
			name[k++] = *p;
	name[k] = '\0';
	runnel_error err = {0};
	o->role_playbook = rn_path_join(project, name);
	int rc = rn_mkdirs(project, 0700, &err) == 0 &&
	                 rn_write_file_atomic(o->role_playbook, text, strlen(text), 0400, &err) == 0
	             ? 0
	             : 1;
	free(text);
	free(project);
	if (rc) {
		fprintf(stderr, "runnel: %s\n", err.message);
		return 1;
	}
	o->cfg.playbook = o->role_playbook;

	if (a->value[OPT_INVENTORY]) {
		/* os.path.join(pdd, "inventory", value): an absolute value stands alone */
		const char *v = a->value[OPT_INVENTORY];
		o->role_inventory = v[0] == '/'
		                        ? rn_xstrdup(v)
		                        : rn_xasprintf("%s/inventory/%s", o->private_data_dir, v);
		if (!rn_exists(o->role_inventory)) {
			fprintf(stderr,
			        "runnel: location specified by --inventory does not exist: %s\n",
			        o->role_inventory);
			return 1;
		}
		o->cfg.inventory = o->role_inventory;
	}
	const char *rp = a->value[OPT_ROLES_PATH];
	char *dflt = rn_path_join(o->private_data_dir, "roles");
	o->roles_path = rn_path_abs(rp ? rp : dflt);
	free(dflt);
	o->cfg.roles_path = o->roles_path;
	return 0;
}

/* --logfile: one timestamped line per debug message. */
static void log_to_file(const char *line, void *userdata)
{
	run_options *o = userdata;
	char now[32];
	rn_utc_isoformat(now);
	fprintf(o->logfile, "%s %s\n", now, line);
	fflush(o->logfile);
}

int run_options_build(cli_args *a, run_options *o)
{
	memset(o, 0, sizeof *o);
	if (!a->private_data_dir) {
		cli_usage();
		fprintf(stderr,
		        "runnel: error: the following arguments are required: private_data_dir\n");
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
	runnel_config *c = &o->cfg;
	o->private_data_dir = rn_path_abs(a->private_data_dir);
	runnel_error err = {0};
	if (rn_mkdirs(o->private_data_dir, 0700, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		return 1;
	}
	c->private_data_dir = o->private_data_dir;
	c->playbook = a->value[OPT_PLAYBOOK];
	c->module = a->value[OPT_MODULE];
	c->module_args = a->value[OPT_MODULE_ARGS];
	c->host_pattern = a->value[OPT_HOSTS];
	c->binary = a->value[OPT_BINARY];
	c->ident = a->value[OPT_IDENT];
	c->inventory = a->value[OPT_INVENTORY];
	c->limit = a->value[OPT_LIMIT];
	c->cmdline = a->value[OPT_CMDLINE];
	c->verbosity = a->verbosity;
	c->artifact_dir = a->value[OPT_ARTIFACT_DIR];
	c->project_dir = a->value[OPT_PROJECT_DIR];
	c->json_mode = a->flag[OPT_JSON];
	c->quiet = a->flag[OPT_QUIET];
	c->omit_event_data = a->flag[OPT_OMIT_EVENT_DATA];
	c->only_failed_event_data = a->flag[OPT_ONLY_FAILED];
	c->suppress_env_files = a->flag[OPT_OMIT_ENV_FILES];
	c->roles_path = a->value[OPT_ROLES_PATH];
	c->debug = a->flag[OPT_DEBUG] || a->value[OPT_LOGFILE];
	if (a->value[OPT_LOGFILE]) {
		o->logfile = fopen(a->value[OPT_LOGFILE], "ae");
		if (!o->logfile) {
			fprintf(stderr, "runnel: --logfile: cannot open %s: %s\n",
			        a->value[OPT_LOGFILE], strerror(errno));
			return 1;
		}
		c->log_handler = log_to_file;
		c->userdata = o;
	}
	c->process_isolation = a->flag[OPT_PI];
	c->process_isolation_executable = a->value[OPT_PI_EXECUTABLE];
	c->process_isolation_path = a->value[OPT_PI_PATH];
	c->directory_isolation_base_path = a->value[OPT_DI_BASE];
	c->container_image = a->value[OPT_CONTAINER_IMAGE];
	c->process_isolation_hide_paths = o->hide = value_list(a, OPT_PI_HIDE);
	c->process_isolation_show_paths = o->show = value_list(a, OPT_PI_SHOW);
	c->process_isolation_ro_paths = o->ro = value_list(a, OPT_PI_RO);
	c->container_volume_mounts = o->mounts = value_list(a, OPT_CONTAINER_VOLUME);
	c->container_options = o->container_options = value_list(a, OPT_CONTAINER_OPTION);
	int rc;
	if (a->value[OPT_FORKS] && (rc = int_option("--forks", a->value[OPT_FORKS], &c->forks)))
		return rc;
	if (a->value[OPT_ROTATE] &&
	    (rc = int_option("--rotate-artifacts", a->value[OPT_ROTATE], &c->rotate_artifacts)))
		return rc;
	if (a->value[OPT_ROLE] && (rc = setup_role(a, o)))
		return rc;
	return 0;
}

/* *path made absolute into slot (owned by o), unless it already is. */
static void pin(run_options *o, int slot, const char **path)
{
	if (!*path || (*path)[0] == '/')
		return;
	o->pinned[slot] = rn_path_abs(*path);
	*path = o->pinned[slot];
}

void run_options_pin_paths(run_options *o)
{
	runnel_config *c = &o->cfg;
	/* an inventory that is not a path is inventory text: left as it is */
	if (c->inventory && rn_exists(c->inventory))
		pin(o, 0, &c->inventory);
	pin(o, 1, &c->project_dir);
	pin(o, 2, &c->artifact_dir);
	pin(o, 3, &c->process_isolation_path);
	pin(o, 4, &c->directory_isolation_base_path);
}

void run_options_clear(run_options *o)
{
	if (o->role_project) {
		rn_remove_tree(o->role_project);
	} else if (o->role_playbook) {
		unlink(o->role_playbook);
	}
	free(o->role_inventory);
	for (size_t i = 0; i < sizeof o->pinned / sizeof o->pinned[0]; i++)
		free(o->pinned[i]);
	free(o->role_playbook);
	free(o->role_project);
	free(o->roles_path);
	free(o->private_data_dir);
	free(o->hide);
	free(o->show);
	free(o->ro);
	free(o->mounts);
	free(o->container_options);
	if (o->logfile)
		fclose(o->logfile);
	memset(o, 0, sizeof *o);
}
