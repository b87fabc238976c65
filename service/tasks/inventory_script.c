/*
 * inventory_script.c - a job's inventory as AWX hands it to ansible: an
 * executable script printing the stored inventory's JSON (held as hex
 * digits), so that a host or group name is a name, never INI or a range.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "util.h"

/* Turn a stored variables object ({"__yaml": text} for YAML) into a mapping. */
static json_t *vars_resolve(task *t, json_t *v, runnel_error *err)
{
	json_t *y = json_object_get(v, "__yaml");
	if (json_is_string(y) && json_object_size(v) == 1)
		return task_parse_vars(t, "variables", json_string_value(y), err);
	return json_incref(v);
}

/* The inventory script: it prints the inventory's JSON, held as hex digits
 * (nothing in a name or a variable can change the program), for --list and
 * the hostvars of one host for --host (ansible asks --list only: _meta). */
static char *inventory_script(const char *json)
{
	static const char head[] =
	    "#!/usr/bin/python3\n"
	    "# The inventory of a runneld job, as AWX hands it to ansible: a script\n"
	    "# printing its JSON (groups, their hosts, vars and children; _meta.hostvars).\n"
	    "import json, sys\n"
	    "data = bytes.fromhex('";
	static const char tail[] =
	    "').decode('utf-8')\n"
	    "if len(sys.argv) > 2 and sys.argv[1] == '--host':\n"
	    "    data = json.dumps(json.loads(data)['_meta']['hostvars'].get(sys.argv[2], {}))\n"
	    "sys.stdout.write(data)\n";
	static const char hex[] = "0123456789abcdef";
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, head, sizeof head - 1);
	for (const unsigned char *p = (const unsigned char *)json; *p; p++) {
		char two[2] = {hex[*p >> 4], hex[*p & 15]};
		rn_buf_append(&b, two, 2);
	}
	rn_buf_append(&b, tail, sizeof tail - 1);
	return b.data;
}

/* Write inventory/hosts from the stored inventory: AWX's script form (the
 * group names as keys, each {hosts: [names], vars, children: [names]},
 * "all", and _meta.hostvars), printed by an executable script, as AWX's
 * build_inventory does. ansible's script plugin adds each name as it is:
 * no INI or YAML parsing, no host pattern ranges, nothing to inject. */
int task_write_inventory(task *t, long inventory_id, runnel_error *err)
{
	json_t *script = store_inventory_script(t->st, inventory_id, err);
	if (!script)
		return -1;
	json_decref(t->host_ids);
	t->host_ids = json_incref(json_object_get(script, "__host_ids"));
	json_object_del(script, "__host_ids");
	const char *name;
	json_t *g;
	int rc = 0;
	json_object_foreach(script, name, g) {
		json_t *vars = json_object_get(g, "vars");
		if (!strcmp(name, "_meta") || !vars)
			continue;
		json_t *rv = vars_resolve(t, vars, err);
		if (!rv) {
			rc = -1;
			break;
		}
		json_object_set_new(g, "vars", rv);
	}
	json_t *hostvars = json_object_get(json_object_get(script, "_meta"), "hostvars");
	json_t *hv;
	json_object_foreach(hostvars, name, hv) {
		json_t *rv = rc ? NULL : vars_resolve(t, hv, err);
		if (!rv) {
			rc = -1;
			break;
		}
		json_object_set_new(hostvars, name, rv);
	}
	if (rc == 0) {
		char *json = json_dumps(script, JSON_COMPACT | JSON_ENSURE_ASCII);
		char *text = json ? inventory_script(json) : NULL;
		char *path = rn_path_join(t->pdd, "inventory/hosts");
		if (!text)
			rc = rn_fail(err, ENOMEM, "inventory: cannot write the inventory of %ld",
			             inventory_id);
		else
			rc = rn_write_file_atomic(path, text, strlen(text), 0700, err);
		free(path);
		free(text);
		free(json);
	}
	json_decref(script);
	return rc;
}
