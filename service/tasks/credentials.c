/*
 * credentials.c - a credential applied to a job (AWX's build_args and
 * build_passwords_prompts): machine (user, key, passwords, become), vault,
 * source control. Secrets go to the runner in memory (passwords, ssh_key)
 * and into the task's list of values that never reach job_env/job_args.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field_rules.h"
#include "task.h"
#include "util.h"

/* Add a word to the command line. */
static void arg(task *t, const char *w)
{
	json_array_append_new(t->args, json_string(w));
}

/* Remember a secret (for redaction) and return it. */
static const char *secret(task *t, const char *s)
{
	if (s && *s)
		json_array_append_new(t->secrets, json_string(s));
	return s;
}

/* Apply one credential (AWX's build_args / build_passwords_prompts). */
int task_add_credential(task *t, long id, bool become_enabled, runnel_error *err)
{
	json_t *in = store_credential_inputs(t->st, id, err);
	if (!in)
		return -1;
	const char *kind = json_string_value(json_object_get(in, "__kind"));
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v)
		if (strcmp(k, "__kind") && json_is_string(v) &&
		    (strstr(k, "password") || strstr(k, "ssh_key") || strstr(k, "unlock")))
			secret(t, json_string_value(v));
#define IN(name)                                                                                   \
	(json_string_value(json_object_get(in, name))                                              \
	     ? json_string_value(json_object_get(in, name))                                        \
	     : "")
	if (kind && !strcmp(kind, "ssh")) {
		if (*IN("username")) {
			arg(t, "-u");
			arg(t, IN("username"));
		}
		if (*IN("password")) {
			arg(t, "--ask-pass");
			json_object_set_new(t->passwords, "SSH password:\\s*?$",
			                    json_string(IN("password")));
			json_object_set_new(t->passwords, "Password:\\s*?$",
			                    json_string(IN("password")));
		}
		if (*IN("ssh_key_data")) {
			free(t->ssh_key);
			t->ssh_key = rn_xstrdup(IN("ssh_key_data"));
		}
		if (*IN("ssh_key_unlock")) {
			json_object_set_new(t->passwords, "Enter passphrase for .*:\\s*?$",
			                    json_string(IN("ssh_key_unlock")));
			json_object_set_new(t->passwords, "Bad passphrase, try again for .*:\\s*?$",
			                    json_string(""));
		}
		if (become_enabled) {
			arg(t, "--become");
			if (*IN("become_method")) {
				arg(t, "--become-method");
				arg(t, IN("become_method"));
			}
			if (*IN("become_username")) {
				arg(t, "--become-user");
				arg(t, IN("become_username"));
			}
			if (*IN("become_password")) {
				arg(t, "--ask-become-pass");
				const char *m = *IN("become_method") ? IN("become_method") : "sudo";
				char *re = rn_xasprintf("%s password.*:\\s*?$", m);
				json_object_set_new(t->passwords, re,
				                    json_string(IN("become_password")));
				free(re);
				json_object_set_new(t->passwords, "BECOME password.*:\\s*?$",
				                    json_string(IN("become_password")));
			}
		}
	} else if (kind && !strcmp(kind, "vault")) {
		const char *vid = IN("vault_id");
		if (*vid && rules_vault_id("vault_id", vid, err) < 0) {
			json_decref(in);
			return -1;
		}
		if (*vid) {
			char *w = rn_xasprintf("%s@prompt", vid);
			arg(t, "--vault-id");
			arg(t, w);
			free(w);
			char *re = rn_xasprintf("Vault password \\(%s\\):\\s*?$", vid);
			json_object_set_new(t->passwords, re, json_string(IN("vault_password")));
			free(re);
		} else if (*IN("vault_password")) {
			arg(t, "--ask-vault-pass");
			json_object_set_new(t->passwords, "Vault password:\\s*?$",
			                    json_string(IN("vault_password")));
		}
	} else if (kind && !strcmp(kind, "scm")) {
		if (*IN("ssh_key_data")) {
			free(t->ssh_key);
			t->ssh_key = rn_xstrdup(IN("ssh_key_data"));
		}
		if (*IN("ssh_key_unlock"))
			json_object_set_new(t->passwords, "Enter passphrase for .*:\\s*?$",
			                    json_string(IN("ssh_key_unlock")));
	}
#undef IN
	json_decref(in);
	return 0;
}
