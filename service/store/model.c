/*
 * model.c - the fields of every kind of the store, their validation and the
 * names AWX uses. Backend-neutral: sqlite.c (and a future postgres.c) use it.
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <sodium.h>

#include "datafile.h"
#include "field_rules.h"
#include "job_states.h"
#include "util.h"

static const char *const plurals[STORE_KIND_COUNT] = {
    "organizations",
    "users",
    "tokens",
    "credential_types",
    "credentials",
    "inventories",
    "groups",
    "hosts",
    "inventory_sources",
    "projects",
    "job_templates",
    "schedules",
    "unified_jobs",
    "jobs",
    "project_updates",
    "inventory_updates",
    "ad_hoc_commands",
    "system_jobs",
    "workflow_jobs",
    "teams",
    "notification_templates",
    "notifications",
    "labels",
    "activity_stream",
    "settings",
    "workflow_job_templates",
    "workflow_job_template_nodes",
    "workflow_job_nodes",
};
static const char *const types[STORE_KIND_COUNT] = {
    "organization",
    "user",
    "o_auth2_access_token",
    "credential_type",
    "credential",
    "inventory",
    "group",
    "host",
    "inventory_source",
    "project",
    "job_template",
    "schedule",
    "unified_job",
    "job",
    "project_update",
    "inventory_update",
    "ad_hoc_command",
    "system_job",
    "workflow_job",
    "team",
    "notification_template",
    "notification",
    "label",
    /* sysinfo */
    "activity_stream",
    "setting",
    /* workflows */
    "workflow_job_template",
    "workflow_job_template_node",
    "workflow_job_node",
};

/* The plural of a kind as URLs spell it. */
const char *store_kind_plural(store_kind kind)
{
	return kind < STORE_KIND_COUNT ? plurals[kind] : "";
}

/* The singular type name of a kind. */
const char *store_kind_type(store_kind kind)
{
	return kind < STORE_KIND_COUNT ? types[kind] : "";
}

/* A kind by its plural or singular name, or -1. */
int store_kind_from_name(const char *name)
{
	for (int k = 0; k < STORE_KIND_COUNT; k++)
		if (!strcmp(name, plurals[k]) || !strcmp(name, types[k]))
			return k;
	if (!strcmp(name, "token"))
		return STORE_TOKEN;
	return -1;
}

/* The unified job kind of a job type name, or -1. */
int store_kind_from_job_type(const char *type)
{
	int k = type ? store_kind_from_name(type) : -1;
	return k > STORE_UNIFIED_JOB && k <= STORE_WORKFLOW_JOB ? k : -1;
}

/* True for new/pending/waiting/running (job_states.h). */
bool store_status_is_active(const char *status)
{
	return job_state_is_active(status);
}

/* Free what a list left in *page. */
void store_page_clear(store_page *page)
{
	if (!page)
		return;
	json_decref(page->results);
	page->results = NULL;
	page->count = 0;
}

#define END                                                                                        \
	{                                                                                          \
		NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL                                        \
	}

/* sysinfo: AWX's PrimordialModel created_by / modified_by, written by the
 * API's one write path (api/util.c) with STORE_SYSTEM, shown in
 * summary_fields as AWX does. */
#define AUDIT_FIELDS                                                                               \
	{"created_by", MT_FK, MF_RO | MF_NULL, NULL, STORE_USER, 0, NULL, NULL, 0, NULL},          \
	{                                                                                          \
		"modified_by", MT_FK, MF_RO | MF_NULL, NULL, STORE_USER, 0, NULL, NULL, 0, NULL    \
	}

/* AWX's choices (awx/main/constants.py, models/jobs.py, models/projects.py). */
#define JOB_TYPE_CHOICES "[[\"run\",\"Run\"],[\"check\",\"Check\"]]"
#define VERBOSITY_CHOICES                                                                          \
	"[[0,\"0 (Normal)\"],[1,\"1 (Verbose)\"],[2,\"2 (More Verbose)\"],[3,\"3 (Debug)\"],"      \
	"[4,\"4 (Connection Debug)\"],[5,\"5 (WinRM Debug)\"]]"
/* runneld fetches projects with git only (field_rules.h rules_scm_type). */
#define SCM_TYPE_CHOICES "[[\"\",\"Manual\"],[\"git\",\"Git\"]]"
/* AWX's AD_HOC_COMMANDS setting (awx/settings/defaults.py). */
#define AD_HOC_MODULE_CHOICES                                                                      \
	"[[\"command\",\"command\"],[\"shell\",\"shell\"],[\"yum\",\"yum\"],[\"apt\",\"apt\"],"    \
	"[\"apt_key\",\"apt_key\"],[\"apt_repository\",\"apt_repository\"],[\"apt_rpm\","          \
	"\"apt_rpm\"],[\"service\",\"service\"],[\"group\",\"group\"],[\"user\",\"user\"],"        \
	"[\"mount\",\"mount\"],[\"ping\",\"ping\"],[\"selinux\",\"selinux\"],[\"setup\","          \
	"\"setup\"],[\"win_ping\",\"win_ping\"],[\"win_service\",\"win_service\"],"                \
	"[\"win_updates\",\"win_updates\"],[\"win_group\",\"win_group\"],[\"win_user\","           \
	"\"win_user\"]]"

static const model_field org_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"max_hosts", MT_INT, 0, NULL, 0, 0,
     .help = "Maximum number of hosts allowed to be managed by this organization."},
    AUDIT_FIELDS,
    END,
};

/* rbac: AWX's Team (awx/main/models/organization.py). */
static const model_field team_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_REQUIRED, NULL, STORE_ORGANIZATION, 0, NULL, NULL, 0, NULL},
    END,
};

static const model_field user_fields[] = {
    {"username", MT_STR, MF_REQUIRED, NULL, 0, 0,
     .help = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.",
     .max_length = 150},
    {"first_name", MT_STR, 0, NULL, 0, 0, .max_length = 150},
    {"last_name", MT_STR, 0, NULL, 0, 0, .max_length = 150},
    {"email", MT_STR, 0, NULL, 0, 0, .label = "Email address", .max_length = 254},
    {"is_superuser", MT_BOOL, 0, NULL, 0, 0, .label = "Superuser status",
     .help = "Designates that this user has all permissions without explicitly assigning them."},
    {"is_system_auditor", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"password", MT_STR, MF_WO, NULL, 0, 0, .help = "Field used to change the password."},
    {"last_login", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    END,
};

static const model_field token_fields[] = {
    {"user", MT_FK, MF_RO, NULL, STORE_USER, 0, .help = "The user representing the token owner"},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"scope", MT_STR, 0, "\"write\"", 0, 0,
     .help = "Allowed scopes, further restricts user's permissions. Must be a simple "
             "space-separated string with allowed scopes ['read', 'write']."},
    {"expires", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"application", MT_FK, MF_RO | MF_NULL, NULL, STORE_ORGANIZATION, 0, NULL, NULL, 0, NULL},
    END,
};

static const model_field credtype_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"kind", MT_STR, 0, "\"cloud\"", 0, 0, .max_length = 32},
    {"namespace", MT_STR, MF_NULL, NULL, 0, 0, .max_length = 1024},
    {"managed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inputs", MT_JSON, 0, "{}", 0, 0,
     .help = "Enter inputs using either JSON or YAML syntax. Refer to the documentation for "
             "example syntax."},
    {"injectors", MT_JSON, 0, "{}", 0, 0,
     .help = "Enter injectors using either JSON or YAML syntax. Refer to the documentation "
             "for example syntax."},
    AUDIT_FIELDS,
    END,
};

static const model_field cred_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_NULL, NULL, STORE_ORGANIZATION, 0,
     .help = "Inherit permissions from organization roles. If provided on creation, do not "
             "give either user or team."},
    {"credential_type", MT_FK, MF_REQUIRED, NULL, STORE_CREDENTIAL_TYPE, 0,
     .help = "Specify the type of credential you want to create. Refer to the documentation "
             "for details on each type."},
    {"inputs", MT_JSON, 0, "{}", 0, 0,
     .help = "Enter inputs using either JSON or YAML syntax. Refer to the documentation for "
             "example syntax."},
    {"kind", MT_STR, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"managed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

static const model_field inv_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_NULL, NULL, STORE_ORGANIZATION, 0,
     .help = "Organization containing this inventory."},
    {"kind", MT_STR, 0, NULL, 0, 0, .help = "Kind of inventory being represented.",
     .max_length = 32},
    {"host_filter", MT_STR, MF_NULL, NULL, 0, 0,
     .help = "Filter that will be applied to the hosts of this inventory."},
    {"variables", MT_VARS, 0, NULL, 0, 0, .help = "Inventory variables in JSON or YAML format."},
    AUDIT_FIELDS,
    END,
};

static const model_field group_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, MF_REQUIRED, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"variables", MT_VARS, 0, NULL, 0, 0, .help = "Group variables in JSON or YAML format."},
    AUDIT_FIELDS,
    END,
};

static const model_field host_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, MF_REQUIRED, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"enabled", MT_BOOL, 0, "true", 0, 0,
     .help = "Is this host online and available for running jobs?"},
    {"instance_id", MT_STR, 0, NULL, 0, 0,
     .help = "The value used by the remote inventory source to uniquely identify the host",
     .max_length = 1024},
    {"variables", MT_VARS, 0, NULL, 0, 0, .help = "Host variables in JSON or YAML format."},
    {"last_job", MT_FK, MF_RO | MF_NULL, NULL, STORE_JOB, 0, NULL, NULL, 0, NULL},
    {"has_active_failures", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

static const model_field invsrc_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, MF_REQUIRED, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"source", MT_STR, 0, "\"scm\"", 0, 0, .max_length = 32},
    {"source_project", MT_FK, MF_NULL, NULL, STORE_PROJECT, 0,
     .help = "Project containing inventory file used as source."},
    {"source_path", MT_STR, 0, NULL, 0, 0, .max_length = 1024},
    {"source_vars", MT_VARS, 0, NULL, 0, 0,
     .help = "Inventory source variables in YAML or JSON format."},
    {"credential", MT_FK, MF_NULL, NULL, STORE_CREDENTIAL, 0,
     .help = "Cloud credential to use for inventory updates."},
    {"overwrite", MT_BOOL, 0, NULL, 0, 0,
     .help = "Overwrite local groups and hosts from remote inventory source."},
    {"overwrite_vars", MT_BOOL, 0, NULL, 0, 0,
     .help = "Overwrite local variables from remote inventory source."},
    {"update_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"timeout", MT_INT, 0, NULL, 0, 0,
     .help = "The amount of time (in seconds) to run before the task is canceled."},
    {"verbosity", MT_INT, 0, "1", 0, 0, NULL, NULL, 0, NULL},
    {"status", MT_STR, MF_RO, "\"never updated\"", 0, 0, NULL, NULL, 0, NULL},
    {"last_job_run", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_job_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_update_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_updated", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

static const model_field project_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_NULL, NULL, STORE_ORGANIZATION, 0,
     .help = "The organization used to determine access to this template."},
    {"scm_type", MT_STR, 0, NULL, 0, 0, .label = "Source Control Type",
     .help = "Specifies the source control system used to store the project.", .max_length = 8,
     .choices = SCM_TYPE_CHOICES},
    {"scm_url", MT_STR, 0, NULL, 0, 0, .label = "Source Control URL",
     .help = "The location where the project is stored.", .max_length = 1024},
    {"scm_branch", MT_STR, 0, NULL, 0, 0, .label = "Source Control Branch",
     .help = "Specific branch, tag or commit to checkout.", .max_length = 256},
    {"scm_refspec", MT_STR, 0, NULL, 0, 0, .label = "Source Control Refspec",
     .help = "For git projects, an additional refspec to fetch.", .max_length = 1024},
    {"scm_clean", MT_BOOL, 0, NULL, 0, 0,
     .help = "Discard any local changes before syncing the project."},
    {"scm_delete_on_update", MT_BOOL, 0, NULL, 0, 0, .help = "Delete the project before syncing."},
    {"scm_update_on_launch", MT_BOOL, 0, NULL, 0, 0,
     .help = "Update the project when a job is launched that uses the project."},
    {"credential", MT_FK, MF_NULL, NULL, STORE_CREDENTIAL, 0, NULL, NULL, 0, NULL},
    {"local_path", MT_STR, 0, NULL, 0, 0,
     .help = "Local path (relative to PROJECTS_ROOT) containing playbooks and related files "
             "for this project.",
     .max_length = 1024},
    {"timeout", MT_INT, 0, NULL, 0, 0,
     .help = "The amount of time (in seconds) to run before the task is canceled."},
    {"allow_override", MT_BOOL, 0, NULL, 0, 0,
     .help = "Allow changing the Source Control branch or revision in a job template that "
             "uses this project."},
    {"scm_revision", MT_STR, MF_RO, NULL, 0, 0, .label = "SCM Revision",
     .help = "The last revision fetched by a project update"},
    {"status", MT_STR, MF_RO, "\"never updated\"", 0, 0, NULL, NULL, 0, NULL},
    {"last_job_run", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_job_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_update_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_updated", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

static const model_field jt_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_type", MT_STR, 0, "\"run\"", 0, 0, .max_length = 64, .choices = JOB_TYPE_CHOICES},
    {"inventory", MT_FK, MF_NULL, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"project", MT_FK, MF_NULL, NULL, STORE_PROJECT, 0, NULL, NULL, 0, NULL},
    {"playbook", MT_STR, 0, NULL, 0, 0, .max_length = 1024},
    {"scm_branch", MT_STR, 0, NULL, 0, 0,
     .help = "Branch to use in job run. Project default used if blank. Only allowed if "
             "project allow_override field is set to true.",
     .max_length = 1024},
    {"forks", MT_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"limit", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"verbosity", MT_INT, 0, NULL, 0, 0, .choices = VERBOSITY_CHOICES},
    {"extra_vars", MT_VARS, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_tags", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"skip_tags", MT_STR, 0, NULL, 0, 0, .max_length = 1024},
    {"start_at_task", MT_STR, 0, NULL, 0, 0, .max_length = 1024},
    {"timeout", MT_INT, 0, NULL, 0, 0,
     .help = "The amount of time (in seconds) to run before the task is canceled."},
    {"use_fact_cache", MT_BOOL, 0, NULL, 0, 0,
     .help = "If enabled, the service will act as an Ansible Fact Cache Plugin; persisting "
             "facts at the end of a playbook run to the database and caching facts for use "
             "by Ansible."},
    /* AWX's read-only organization of a template: its project's (shape.c
     * shows it, query.c filters on it); never stored, ignored in input */
    {"organization", MT_FK, MF_RO | MF_NULL, NULL, STORE_ORGANIZATION, 0,
     .help = "The organization used to determine access to this template."},
    {"diff_mode", MT_BOOL, 0, NULL, 0, 0,
     .help = "If enabled, textual changes made to any templated files on the host are shown "
             "in the standard output"},
    {"become_enabled", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"allow_simultaneous", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_variables_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_limit_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_tags_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_skip_tags_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_job_type_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_verbosity_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_inventory_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_credential_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_diff_mode_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_forks_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_timeout_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_scm_branch_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    /* surveys (survey.h): the spec is written through survey_spec/ only */
    {"ask_labels_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"survey_enabled", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"survey_spec", MT_JSON, MF_RO, "{}", 0, 0, NULL, NULL, 0, NULL},
    {"status", MT_STR, MF_RO, "\"never updated\"", 0, 0, NULL, NULL, 0, NULL},
    {"last_job_run", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_job_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

/* A schedule (AWX's Schedule + LaunchTimeConfig, awx/main/models/schedules.py):
 * the rrule and the prompts it launches with. unified_job_template is the id
 * of a job template, project, inventory source or system job template (one
 * id space, as AWX's unified job templates). dtstart, dtend, next_run,
 * timezone and until are computed from the rrule (schedules.c). */
static const model_field schedule_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"unified_job_template", MT_INT, MF_REQUIRED, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"enabled", MT_BOOL, 0, "true", 0, 0, .help = "Enables processing of this schedule."},
    {"rrule", MT_STR, MF_REQUIRED, NULL, 0, 0,
     .help = "A value representing the schedules iCal recurrence rule."},
    {"dtstart", MT_STR, MF_RO | MF_NULL, NULL, 0, 0,
     .help = "The first occurrence of the schedule occurs on or after this time."},
    {"dtend", MT_STR, MF_RO | MF_NULL, NULL, 0, 0,
     .help = "The last occurrence of the schedule occurs before this time, aftewards the "
             "schedule expires."},
    {"next_run", MT_STR, MF_RO | MF_NULL, NULL, 0, 0,
     .help = "The next time that the scheduled action will run."},
    {"timezone", MT_STR, MF_RO, NULL, 0, 0,
     .help = "The timezone this schedule runs in. This field is extracted from the RRULE. If "
             "the timezone in the RRULE is a link to another timezone, the link will be "
             "reflected in this field."},
    {"until", MT_STR, MF_RO, NULL, 0, 0,
     .help = "The date this schedule will end. This field is computed from the RRULE. If the "
             "schedule does not end an empty string will be returned"},
    {"extra_data", MT_JSON, 0, "{}", 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, MF_NULL, NULL, STORE_INVENTORY, 0,
     .help = "Inventory applied as a prompt, assuming job template prompts for inventory"},
    {"scm_branch", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_type", MT_STR, MF_NULL, NULL, 0, 0, .choices = JOB_TYPE_CHOICES},
    {"job_tags", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"skip_tags", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"limit", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"diff_mode", MT_BOOL, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"verbosity", MT_INT, MF_NULL, NULL, 0, 0, .choices = VERBOSITY_CHOICES},
    {"forks", MT_INT, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_slice_count", MT_INT, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"timeout", MT_INT, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"execution_environment", MT_INT, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    END,
};

/* What a launch of a job template takes (AWX's JobLaunchSerializer, less
 * what runneld does not run: execution environments, slices,
 * instance groups). MT_JSON here: a JSON or YAML dictionary. */
static const model_field launch_fields[] = {
    {"extra_vars", MT_JSON, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, 0, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"scm_branch", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"limit", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_tags", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"skip_tags", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_type", MT_STR, 0, NULL, 0, 0, .choices = JOB_TYPE_CHOICES},
    {"verbosity", MT_INT, 0, NULL, 0, 0, .choices = VERBOSITY_CHOICES},
    {"diff_mode", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"credentials", MT_JSON, 0, NULL, STORE_CREDENTIAL, 0, NULL, NULL, 0, NULL},
    {"credential_passwords", MT_JSON, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"forks", MT_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"timeout", MT_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"labels", MT_JSON, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    END,
};

/* What a new ad hoc command takes (AWX's AdHocCommandSerializer). */
static const model_field ad_hoc_fields[] = {
    {"job_type", MT_STR, 0, "\"run\"", 0, 0, .choices = JOB_TYPE_CHOICES},
    {"inventory", MT_FK, MF_REQUIRED, NULL, STORE_INVENTORY, 0, NULL, NULL, 0, NULL},
    {"limit", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"credential", MT_FK, MF_NULL, NULL, STORE_CREDENTIAL, 0, NULL, NULL, 0, NULL},
    {"module_name", MT_STR, 0, "\"command\"", 0, 0, .choices = AD_HOC_MODULE_CHOICES},
    {"module_args", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"forks", MT_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"verbosity", MT_INT, 0, NULL, 0, 0, .choices = VERBOSITY_CHOICES},
    {"extra_vars", MT_VARS, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"become_enabled", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"diff_mode", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"timeout", MT_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    END,
};

/* Unified jobs: every field is written by the engine (STORE_SYSTEM). */
#define UJ(n, t, f, d, k, j)                                                                       \
	{                                                                                          \
		n, t, MF_RO | (f), d, k, j, NULL, NULL, 0, NULL                                    \
	}
static const model_field job_fields[] = {
    UJ("name", MT_STR, 0, NULL, 0, 0),
    UJ("description", MT_STR, 0, NULL, 0, 0),
    UJ("type", MT_STR, 0, NULL, 0, 0),
    UJ("unified_job_template", MT_INT, MF_NULL, NULL, 0, 0),
    UJ("launch_type", MT_STR, 0, "\"manual\"", 0, 0),
    UJ("status", MT_STR, 0, "\"new\"", 0, 0),
    UJ("failed", MT_BOOL, 0, NULL, 0, 0),
    UJ("started", MT_STR, MF_NULL, NULL, 0, 0),
    UJ("finished", MT_STR, MF_NULL, NULL, 0, 0),
    UJ("canceled_on", MT_STR, MF_NULL, NULL, 0, 0),
    UJ("elapsed", MT_FLOAT, 0, NULL, 0, 0),
    UJ("job_explanation", MT_STR, 0, NULL, 0, 0),
    UJ("result_traceback", MT_STR, 0, NULL, 0, 0),
    UJ("cancel_flag", MT_BOOL, 0, NULL, 0, 0),
    UJ("job_args", MT_STR, 0, NULL, 0, 0),
    UJ("job_cwd", MT_STR, 0, NULL, 0, 0),
    UJ("job_env", MT_JSON, 0, "{}", 0, 0),
    UJ("emitted_events", MT_INT, 0, NULL, 0, 0),
    UJ("artifacts", MT_JSON, 0, "{}", 0, JT_JOB),
    UJ("execution_node", MT_STR, 0, NULL, 0, 0),
    UJ("controller_node", MT_STR, 0, NULL, 0, 0),
    UJ("worker_pid", MT_INT, 0, NULL, 0, 0),
    UJ("private_data_dir", MT_STR, 0, NULL, 0, 0),
    UJ("launched_by", MT_JSON, 0, "{}", 0, 0),
    UJ("created_by", MT_FK, MF_NULL, NULL, STORE_USER, 0),
    UJ("schedule", MT_FK, MF_NULL, NULL, STORE_SCHEDULE, 0),
    /* job, ad hoc, system */
    UJ("job_type", MT_STR, 0, "\"run\"", 0, JT_JOB | JT_PU | JT_AD | JT_SYS),
    UJ("extra_vars", MT_VARS, 0, NULL, 0, JT_JOB | JT_AD | JT_SYS | JT_WF),
    UJ("inventory", MT_FK, MF_NULL, NULL, STORE_INVENTORY, JT_JOB | JT_IU | JT_AD | JT_WF),
    UJ("limit", MT_STR, 0, NULL, 0, JT_JOB | JT_AD | JT_WF),
    UJ("verbosity", MT_INT, 0, NULL, 0, JT_JOB | JT_IU | JT_AD),
    UJ("forks", MT_INT, 0, NULL, 0, JT_JOB | JT_AD),
    UJ("diff_mode", MT_BOOL, 0, NULL, 0, JT_JOB | JT_AD),
    UJ("become_enabled", MT_BOOL, 0, NULL, 0, JT_JOB | JT_AD),
    UJ("timeout", MT_INT, 0, NULL, 0, JT_JOB | JT_PU | JT_IU | JT_AD),
    /* job */
    UJ("job_template", MT_FK, MF_NULL, NULL, STORE_JOB_TEMPLATE, JT_JOB),
    UJ("project", MT_FK, MF_NULL, NULL, STORE_PROJECT, JT_JOB | JT_PU),
    UJ("playbook", MT_STR, 0, NULL, 0, JT_JOB),
    UJ("scm_branch", MT_STR, 0, NULL, 0, JT_JOB | JT_PU | JT_WF),
    UJ("scm_revision", MT_STR, 0, NULL, 0, JT_JOB | JT_PU),
    UJ("job_tags", MT_STR, 0, NULL, 0, JT_JOB | JT_WF),
    UJ("skip_tags", MT_STR, 0, NULL, 0, JT_JOB | JT_WF),
    UJ("start_at_task", MT_STR, 0, NULL, 0, JT_JOB),
    UJ("use_fact_cache", MT_BOOL, 0, NULL, 0, JT_JOB),
    UJ("passwords_needed_to_start", MT_JSON, 0, "[]", 0, JT_JOB),
    /* survey password answers, sealed (survey.h); the API never shows them */
    UJ("survey_passwords", MT_JSON, 0, "{}", 0, JT_JOB),
    /* project update */
    UJ("scm_type", MT_STR, 0, NULL, 0, JT_PU),
    UJ("scm_url", MT_STR, 0, NULL, 0, JT_PU),
    UJ("scm_clean", MT_BOOL, 0, NULL, 0, JT_PU),
    UJ("local_path", MT_STR, 0, NULL, 0, JT_PU),
    /* inventory update */
    UJ("inventory_source", MT_FK, MF_NULL, NULL, STORE_INVENTORY_SOURCE, JT_IU),
    UJ("source", MT_STR, 0, NULL, 0, JT_IU),
    UJ("source_path", MT_STR, 0, NULL, 0, JT_IU),
    UJ("source_project", MT_FK, MF_NULL, NULL, STORE_PROJECT, JT_IU),
    UJ("overwrite", MT_BOOL, 0, NULL, 0, JT_IU),
    /* ad hoc */
    UJ("module_name", MT_STR, 0, "\"command\"", 0, JT_AD),
    UJ("module_args", MT_STR, 0, NULL, 0, JT_AD),
    UJ("credential", MT_FK, MF_NULL, NULL, STORE_CREDENTIAL, JT_AD),
    /* system job */
    UJ("system_job_template", MT_INT, MF_NULL, NULL, 0, JT_SYS),
    /* workflows: a workflow job's template; the workflow job (and its
     * node) a job was spawned by (AWX's summary_fields.source_workflow_job) */
    UJ("workflow_job_template", MT_FK, MF_NULL, NULL, STORE_WORKFLOW_JOB_TEMPLATE, JT_WF),
    UJ("allow_simultaneous", MT_BOOL, 0, NULL, 0, JT_WF),
    UJ("source_workflow_job", MT_FK, MF_NULL, NULL, STORE_WORKFLOW_JOB, JT_JOB | JT_PU | JT_IU),
    UJ("source_workflow_job_node", MT_FK, MF_NULL, NULL, STORE_WORKFLOW_JOB_NODE,
       JT_JOB | JT_PU | JT_IU),
    END,
};

/* workflows: AWX's WorkflowJobTemplate (awx/main/models/workflow.py) */
static const model_field wfjt_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_NULL, NULL, STORE_ORGANIZATION, 0,
     .help = "The organization used to determine access to this template."},
    {"extra_vars", MT_VARS, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"survey_enabled", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"allow_simultaneous", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"inventory", MT_FK, MF_NULL, NULL, STORE_INVENTORY, 0,
     .help = "Inventory applied as a prompt, assuming job template prompts for inventory"},
    {"limit", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"scm_branch", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job_tags", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"skip_tags", MT_STR, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_inventory_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_limit_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_scm_branch_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_variables_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_labels_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_tags_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"ask_skip_tags_on_launch", MT_BOOL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"webhook_service", MT_STR, 0, NULL, 0, 0,
     .help = "Service that webhook requests will be accepted from",
     .choices = "[[\"\",\"---------\"],[\"github\",\"GitHub\"],[\"gitlab\",\"GitLab\"]]"},
    {"webhook_credential", MT_FK, MF_NULL, NULL, STORE_CREDENTIAL, 0,
     .help = "Personal Access Token for posting back the status to the service API"},
    {"survey_spec", MT_JSON, MF_RO, "{}", 0, 0, NULL, NULL, 0, NULL},
    {"status", MT_STR, MF_RO, "\"never updated\"", 0, 0, NULL, NULL, 0, NULL},
    {"last_job_run", MT_STR, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"last_job_failed", MT_BOOL, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    AUDIT_FIELDS,
    END,
};

/* The prompts a workflow node carries (AWX's LaunchTimeConfig fields). */
#define WF_NODE_PROMPTS(f)                                                                         \
	{"inventory",                                                                              \
	 MT_FK,                                                                                    \
	 MF_NULL | (f),                                                                            \
	 NULL,                                                                                     \
	 STORE_INVENTORY,                                                                          \
	 0,                                                                                        \
	 .help = "Inventory applied as a prompt, assuming job template prompts for inventory"},    \
	    {"extra_data", MT_JSON, (f), "{}", 0, 0, NULL, NULL, 0, NULL},                         \
	    {"scm_branch", MT_STR, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                \
	    {"job_type", MT_STR, MF_NULL | (f), NULL, 0, 0, .choices = JOB_TYPE_CHOICES},          \
	    {"job_tags", MT_STR, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                  \
	    {"skip_tags", MT_STR, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                 \
	    {"limit", MT_STR, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                     \
	    {"diff_mode", MT_BOOL, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                \
	    {"verbosity", MT_INT, MF_NULL | (f), NULL, 0, 0, .choices = VERBOSITY_CHOICES},        \
	    {"forks", MT_INT, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                     \
	    {"job_slice_count", MT_INT, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},           \
	    {"timeout", MT_INT, MF_NULL | (f), NULL, 0, 0, NULL, NULL, 0, NULL},                   \
	{                                                                                          \
		"all_parents_must_converge", MT_BOOL, (f), NULL, 0, 0,                             \
		    .help = "If enabled then the node will only run if all of the parent nodes "   \
		            "have met "                                                            \
		            "the criteria to reach this node"                                      \
	}

/* AWX's WorkflowJobTemplateNode: unified_job_template is the id of a job
 * template, project or inventory source (one id space); the edges are the
 * relations STORE_REL_WFJT_NODE_* */
static const model_field wfjt_node_fields[] = {
    {"workflow_job_template", MT_FK, MF_REQUIRED, NULL, STORE_WORKFLOW_JOB_TEMPLATE, 0, NULL, NULL,
     0, NULL},
    {"unified_job_template", MT_INT, MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    WF_NODE_PROMPTS(0),
    {"identifier", MT_STR, 0, NULL, 0, 0,
     .help = "An identifier for this node that is unique within its workflow. It is copied "
             "to workflow job nodes corresponding to this node.",
     .max_length = 512},
    END,
};

/* AWX's WorkflowJobNode: a template node copied into a workflow job; job is
 * the unified job it spawned; written by the workflow manager only */
static const model_field wfj_node_fields[] = {
    {"workflow_job", MT_FK, MF_RO, NULL, STORE_WORKFLOW_JOB, 0, NULL, NULL, 0, NULL},
    {"unified_job_template", MT_INT, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"job", MT_FK, MF_RO | MF_NULL, NULL, STORE_UNIFIED_JOB, 0, NULL, NULL, 0, NULL},
    WF_NODE_PROMPTS(MF_RO),
    {"do_not_run", MT_BOOL, MF_RO, NULL, 0, 0,
     .help = "Indicates that a job will not be created when True. Workflow runtime semantics "
             "will mark this True if the node is in a path that will decidedly not be ran. A "
             "value of False means the node may not run."},
    {"identifier", MT_STR, MF_RO, NULL, 0, 0,
     .help = "An identifier coresponding to the workflow job template node that this node was "
             "created from.",
     .max_length = 512},
    END,
};

/* Notification templates and notifications (AWX's models/notifications.py):
 * notification_configuration is checked per type and its secrets sealed by
 * notify_model.h, called by the backends beside model_validate. */
static const model_field nt_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"description", MT_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"organization", MT_FK, MF_REQUIRED, NULL, STORE_ORGANIZATION, 0, NULL, NULL, 0, NULL},
    {"notification_type", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 32,
     .choices = "[[\"email\",\"Email\"],[\"slack\",\"Slack\"],[\"webhook\",\"Webhook\"]]"},
    {"notification_configuration", MT_JSON, 0, "{}", 0, 0, NULL, NULL, 0, NULL},
    {"messages", MT_JSON, MF_NULL,
     "{\"started\":null,\"success\":null,\"error\":null,\"workflow_approval\":null}", 0, 0,
     .help = "Optional custom messages for notification template."},
    END,
};

static const model_field notification_fields[] = {
    {"notification_template", MT_FK, MF_RO, NULL, STORE_NOTIFICATION_TEMPLATE, 0, NULL, NULL, 0,
     NULL},
    {"error", MT_STR, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"status", MT_STR, MF_RO, "\"pending\"", 0, 0, NULL, NULL, 0, NULL},
    {"notifications_sent", MT_INT, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"notification_type", MT_STR, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"recipients", MT_STR, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"subject", MT_STR, MF_RO, NULL, 0, 0, NULL, NULL, 0, NULL},
    /* the text sent; a webhook's is JSON text, shown as its object */
    {"body", MT_STR, MF_RO, NULL, 0, 0, .help = "Notification body"},
    END,
};

/* Labels (AWX's Label: CommonModelNameNotUnique + organization). */
static const model_field label_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"organization", MT_FK, MF_REQUIRED, NULL, STORE_ORGANIZATION, 0,
     .help = "Organization this label belongs to."},
    END,
};

/* sysinfo: AWX's ActivityStream (awx/main/models/activity_stream.py): every
 * field is written by the API's recorder (STORE_SYSTEM). object1_id and
 * object2_id are runneld's: the ids of object1 and object2. */
static const model_field activity_fields[] = {
    {"name", MT_STR, MF_RO, NULL, 0, 0, .help = "The name object1 had (runneld's)."},
    {"operation", MT_STR, MF_RO, NULL, 0, 0,
     .help = "The action taken with respect to the given object(s).",
     .choices = "[[\"create\",\"Entity Created\"],[\"update\",\"Entity Updated\"],"
                "[\"delete\",\"Entity Deleted\"],[\"associate\",\"Entity Associated with "
                "another Entity\"],[\"disassociate\",\"Entity was Disassociated with another "
                "Entity\"]]"},
    {"changes", MT_JSON, MF_RO, "{}", 0, 0,
     .help = "A summary of the new and changed values when an object is created, updated, or "
             "deleted"},
    {"object1", MT_STR, MF_RO, NULL, 0, 0,
     .help = "For create, update, and delete events this is the object type that was "
             "affected. For associate and disassociate events this is the object type "
             "associated or disassociated with object2."},
    {"object1_id", MT_INT, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"object2", MT_STR, MF_RO, NULL, 0, 0,
     .help = "Unpopulated for create, update, and delete events. For associate and "
             "disassociate events this is the object type that object1 is being associated "
             "with."},
    {"object2_id", MT_INT, MF_RO | MF_NULL, NULL, 0, 0, NULL, NULL, 0, NULL},
    {"object_association", MT_STR, MF_RO, NULL, 0, 0,
     .help = "When present, shows the field name of the role or relationship that changed."},
    {"actor", MT_FK, MF_RO | MF_NULL, NULL, STORE_USER, 0, NULL, NULL, 0, NULL},
    {"action_node", MT_STR, MF_RO, NULL, 0, 0,
     .help = "The cluster node the activity took place on."},
    END,
};

/* sysinfo: a setting changed through settings/: name is its key, value its
 * JSON text (api/settings.c holds the registry of keys). */
static const model_field setting_fields[] = {
    {"name", MT_STR, MF_REQUIRED, NULL, 0, 0, .max_length = 512},
    {"value", MT_STR, 0, "\"null\"", 0, 0, NULL, NULL, 0, NULL},
    END,
};

/* The field table of a kind. */
const model_field *model_fields(store_kind kind)
{
	switch (kind) {
	case STORE_ORGANIZATION:
		return org_fields;
	case STORE_USER:
		return user_fields;
	case STORE_TOKEN:
		return token_fields;
	case STORE_CREDENTIAL_TYPE:
		return credtype_fields;
	case STORE_CREDENTIAL:
		return cred_fields;
	case STORE_INVENTORY:
		return inv_fields;
	case STORE_GROUP:
		return group_fields;
	case STORE_HOST:
		return host_fields;
	case STORE_INVENTORY_SOURCE:
		return invsrc_fields;
	case STORE_PROJECT:
		return project_fields;
	case STORE_JOB_TEMPLATE:
		return jt_fields;
	case STORE_TEAM:
		return team_fields;
	case STORE_NOTIFICATION_TEMPLATE:
		return nt_fields;
	case STORE_NOTIFICATION:
		return notification_fields;
	case STORE_LABEL:
		return label_fields;
	case STORE_SCHEDULE:
		return schedule_fields;
	case STORE_ACTIVITY_STREAM: /* sysinfo */
		return activity_fields;
	case STORE_SETTING:
		return setting_fields;
	case STORE_WORKFLOW_JOB_TEMPLATE:
		return wfjt_fields;
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		return wfjt_node_fields;
	case STORE_WORKFLOW_JOB_NODE:
		return wfj_node_fields;
	default:
		return job_fields;
	}
}

/* The fields a job template's launch takes. */
const model_field *model_launch_fields(void)
{
	return launch_fields;
}

/* The fields a new ad hoc command takes. */
const model_field *model_ad_hoc_fields(void)
{
	return ad_hoc_fields;
}

/* The number of characters (code points) of UTF-8 text. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Check a value against the field's choices and max_length. */
int model_check_choice(const model_field *f, const json_t *value, runnel_error *err)
{
	if (f->max_length > 0 && json_is_string(value) &&
	    utf8_chars(json_string_value(value)) > (size_t)f->max_length)
		return rn_fail(err, EINVAL, "%s: Ensure this field has no more than %d characters.",
		               f->name, f->max_length);
	if (!f->choices || json_is_null(value))
		return 0;
	json_t *choices = json_loads(f->choices, 0, NULL);
	size_t i;
	json_t *c;
	bool found = false;
	json_array_foreach(choices, i, c) {
		json_t *v = json_array_get(c, 0);
		if (json_equal(v, (json_t *)value)) {
			found = true;
			break;
		}
	}
	json_decref(choices);
	if (found)
		return 0;
	if (json_is_string(value))
		return rn_fail(err, EINVAL, "%s: \"%s\" is not a valid choice.", f->name,
		               json_string_value(value));
	if (json_is_integer(value))
		return rn_fail(err, EINVAL, "%s: \"%lld\" is not a valid choice.", f->name,
		               (long long)json_integer_value(value));
	return rn_fail(err, EINVAL, "%s: Not a valid choice.", f->name);
}

/* AWX's unique_together and SOFT_UNIQUE_TOGETHER (models/inventory.py,
 * credential/__init__.py, projects.py, jobs.py), in Django's words. */
static const model_unique unique_rules[] = {
    {STORE_INVENTORY,
     {"name", "organization", NULL},
     "Inventory with this Name and Organization already exists.",
     true},
    {STORE_CREDENTIAL,
     {"name", "organization", "credential_type", NULL},
     "Credential with this Organization, Name and Credential type already exists.",
     true},
    {STORE_HOST,
     {"name", "inventory", NULL},
     "Host with this Name and Inventory already exists.",
     true},
    {STORE_GROUP,
     {"name", "inventory", NULL},
     "Group with this Name and Inventory already exists.",
     true},
    {STORE_PROJECT,
     {"name", "organization", NULL},
     "Project with this (name, organization) combination already exists.",
     false},
    {STORE_JOB_TEMPLATE,
     {"name", "project.organization", NULL},
     "JobTemplate with this (name, organization) combination already exists.",
     false},
    {STORE_INVENTORY_SOURCE,
     {"name", "inventory", NULL},
     "InventorySource with this (name, inventory) combination already exists.",
     false},
    {STORE_TEAM,
     {"name", "organization", NULL},
     "Team with this Name and Organization already exists.",
     false},
    {STORE_NOTIFICATION_TEMPLATE,
     {"name", "organization", NULL},
     "Notification template with this Organization and Name already exists.",
     true},
    {STORE_LABEL,
     {"name", "organization", NULL},
     "Label with this Name and Organization already exists.",
     true},
    {STORE_SCHEDULE,
     {"name", "unified_job_template", NULL},
     "Schedule with this Unified job template and Name already exists.",
     false},
    {STORE_WORKFLOW_JOB_TEMPLATE,
     {"name", "organization", NULL},
     "WorkflowJobTemplate with this (name, organization) combination already exists.",
     false},
    {STORE_KIND_COUNT, {NULL}, NULL, false},
};

/* The uniqueness rule of kind, or NULL. */
const model_unique *model_unique_rule(store_kind kind)
{
	for (const model_unique *u = unique_rules; u->fields[0]; u++)
		if (u->kind == kind)
			return u;
	return NULL;
}

/* A field by name. */
const model_field *model_field_find(store_kind kind, const char *name)
{
	for (const model_field *f = model_fields(kind); f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* True for the kinds sharing the unified job templates' id space. */
bool model_is_template_kind(store_kind kind)
{
	return kind == STORE_JOB_TEMPLATE || kind == STORE_PROJECT ||
	       kind == STORE_INVENTORY_SOURCE || kind == STORE_WORKFLOW_JOB_TEMPLATE;
}

/* True for the unified job kinds. */
bool model_is_job_kind(store_kind kind)
{
	return kind >= STORE_UNIFIED_JOB && kind <= STORE_WORKFLOW_JOB;
}

/* JT_* bit of a job type name. */
unsigned model_job_bit(const char *type)
{
	if (!type)
		return 0;
	if (!strcmp(type, "job"))
		return JT_JOB;
	if (!strcmp(type, "project_update"))
		return JT_PU;
	if (!strcmp(type, "inventory_update"))
		return JT_IU;
	if (!strcmp(type, "ad_hoc_command"))
		return JT_AD;
	if (!strcmp(type, "system_job"))
		return JT_SYS;
	if (!strcmp(type, "workflow_job"))
		return JT_WF;
	return 0;
}

/* The default value of a field, a new reference. */
static json_t *field_default(const model_field *f)
{
	if (f->def)
		return json_loads(f->def, JSON_DECODE_ANY, NULL);
	if (f->flags & MF_NULL)
		return json_null();
	switch (f->type) {
	case MT_STR:
	case MT_VARS:
		return json_string("");
	case MT_INT:
		return json_integer(0);
	case MT_FLOAT:
		return json_real(0);
	case MT_BOOL:
		return json_false();
	case MT_JSON:
		return json_object();
	default:
		return json_null();
	}
}

/* Coerce v to the type of f; a new reference, or NULL with the reason in why. */
static json_t *coerce(const model_field *f, json_t *v, const char **why)
{
	if (json_is_null(v)) {
		if ((f->flags & MF_NULL) || f->type == MT_FK)
			return json_null();
		if (f->type == MT_STR || f->type == MT_VARS)
			return json_string("");
		*why = "This field may not be null.";
		return NULL;
	}
	switch (f->type) {
	case MT_STR:
		if (json_is_string(v))
			return json_incref(v);
		*why = "Not a valid string.";
		return NULL;
	case MT_VARS:
		if (json_is_string(v))
			return json_incref(v);
		if (json_is_object(v)) {
			char *s = json_dumps(v, JSON_COMPACT);
			json_t *r = json_string(s);
			free(s);
			return r;
		}
		*why = "Must be a JSON or YAML string.";
		return NULL;
	case MT_INT:
	case MT_FK:
		if (json_is_integer(v))
			return json_incref(v);
		if (json_is_string(v) && *json_string_value(v)) {
			char *end;
			long long n = strtoll(json_string_value(v), &end, 10);
			if (!*end)
				return json_integer(n);
		}
		*why = f->type == MT_FK ? "Incorrect type. Expected pk value."
		                        : "A valid integer is required.";
		return NULL;
	case MT_FLOAT:
		if (json_is_number(v))
			return json_real(json_number_value(v));
		*why = "A valid number is required.";
		return NULL;
	case MT_BOOL:
		if (json_is_boolean(v))
			return json_incref(v);
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			if (!strcasecmp(s, "true") || !strcmp(s, "1"))
				return json_true();
			if (!strcasecmp(s, "false") || !strcmp(s, "0"))
				return json_false();
		}
		if (json_is_integer(v) &&
		    (json_integer_value(v) == 0 || json_integer_value(v) == 1))
			return json_boolean(json_integer_value(v));
		*why = "Must be a valid boolean.";
		return NULL;
	case MT_JSON:
		if (json_is_object(v) || json_is_array(v))
			return json_incref(v);
		if (json_is_string(v)) {
			json_t *p = json_loads(json_string_value(v), 0, NULL);
			if (p)
				return p;
		}
		*why = "Must be a JSON object.";
		return NULL;
	}
	*why = "Unsupported type.";
	return NULL;
}

/* The first control character of a name (C0, DEL, C1, and the U+2028/9
 * line and paragraph separators: every line break of YAML, INI and Python's
 * splitlines), as a code point; 0 when there is none. */
static unsigned name_control_char(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return *p;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return p[1];
		if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			return 0x2000u + p[2] - 0x80u;
	}
	return 0;
}

/* Check the name of a host or group (AWX's HostSerializer._get_host_port_from_name
 * and GroupSerializer.validate_name), and refuse what could change the
 * inventory ansible reads: control characters, blank names. 0 or -1 with
 * EINVAL "name: ...". */
static int check_inventory_name(store_kind kind, const char *name, runnel_error *err)
{
	unsigned c = name_control_char(name);
	if (c)
		return rn_fail(err, EINVAL,
		               "name: %s names may not hold control characters or line breaks "
		               "(found U+%04X).",
		               kind == STORE_HOST ? "Host" : "Group", c);
	if (!name[strspn(name, " ")])
		return rn_fail(err, EINVAL, "name: This field may not be blank.");
	if (kind == STORE_GROUP && (!strcmp(name, "all") || !strcmp(name, "_meta")))
		return rn_fail(err, EINVAL, "name: Invalid group name.");
	const char *colon = strchr(name, ':');
	if (kind == STORE_HOST && colon && !strchr(colon + 1, ':')) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || port < 1 || port > 65535)
			return rn_fail(err, EINVAL, "name: Invalid port specification: %s",
			               colon + 1);
	}
	return 0;
}

/* Check a variables text against the loader's bounds (datafile.h): an alias
 * bomb is refused here, before it is stored, never expanded. Text that does
 * not parse is left as it was (the job reports it). 0 or -1 with EINVAL
 * "<field>: YAML alias expansion exceeds N nodes". */
static int check_vars_bounds(const char *field, const char *text, runnel_error *err)
{
	runnel_error e = {0};
	if (!*text)
		return 0;
	json_t *v = rn_datafile_parse(field, text, strlen(text), &e);
	json_decref(v);
	if (!v && e.code == E2BIG)
		return rn_fail(err, EINVAL, "%s", e.message);
	return 0;
}

/* The inputs of a credential that hold a private key (AWX's Machine and
 * Source Control types: format "ssh_private_key"). */
static const char *const private_key_inputs[] = {"ssh_key_data", NULL};

/* End every private key of a credential's inputs with a newline: OpenSSH's
 * loader refuses a key whose last line has none ("error in libcrypto"), and
 * AWX appends it too (build_private_data_files). Takes inputs, returns them
 * or a changed copy. "$encrypted$" (keep the stored value) stays. */
static json_t *key_newlines(json_t *inputs)
{
	for (int i = 0; json_is_object(inputs) && private_key_inputs[i]; i++) {
		json_t *v = json_object_get(inputs, private_key_inputs[i]);
		const char *key = json_string_value(v);
		size_t n = json_string_length(v);
		if (!key || !n || key[n - 1] == '\n' || !strstr(key, "PRIVATE KEY-----"))
			continue;
		char *fixed = rn_xmalloc(n + 1);
		memcpy(fixed, key, n);
		fixed[n] = '\n';
		json_t *copy = json_deep_copy(inputs); /* the caller's body is borrowed */
		json_decref(inputs);
		inputs = copy;
		json_object_set_new(inputs, private_key_inputs[i], json_stringn(fixed, n + 1));
		sodium_memzero(fixed, n + 1);
		free(fixed);
	}
	return inputs;
}

/* Validate input fields into the stored form. */
int model_validate(store_kind kind, const json_t *fields, unsigned flags, bool creating,
                   json_t **out, runnel_error *err)
{
	return model_validate_table(model_fields(kind), kind, fields, flags, creating, out, err);
}

/* The field of a table by name, or NULL. */
static const model_field *table_find(const model_field *table, const char *name)
{
	for (const model_field *f = table; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* Validate fields against a table (model_validate's work). */
int model_validate_table(const model_field *table, store_kind kind, const json_t *fields,
                         unsigned flags, bool creating, json_t **out, runnel_error *err)
{
	*out = NULL;
	if (!json_is_object(fields))
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary.");
	json_t *res = json_object();
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)fields, key, v) {
		const model_field *f = table_find(table, key);
		if (!f) {
			/* AWX accepts (and ignores) these read-only fields in a PUT of a GET
			 * answer. */
			if (!strcmp(key, "id") || !strcmp(key, "type") || !strcmp(key, "url") ||
			    !strcmp(key, "related") || !strcmp(key, "summary_fields") ||
			    !strcmp(key, "created") || !strcmp(key, "modified"))
				continue;
			json_decref(res);
			return rn_fail(err, EINVAL, "%s: Unknown field.", key);
		}
		if ((f->flags & MF_RO) && !(flags & STORE_SYSTEM))
			continue; /* as AWX: read-only fields in input are ignored */
		const char *why = NULL;
		json_t *c = coerce(f, v, &why);
		if (!c) {
			json_decref(res);
			return rn_fail(err, EINVAL, "%s: %s", key, why);
		}
		if (rules_check_field(kind, key, c, err) < 0) {
			json_decref(c);
			json_decref(res);
			return -1;
		}
		if (f->flags & MF_REQUIRED && json_is_string(c) && !*json_string_value(c)) {
			json_decref(c);
			json_decref(res);
			return rn_fail(err, EINVAL, "%s: This field may not be blank.", key);
		}
		if (f->flags & MF_REQUIRED && json_is_null(c)) {
			json_decref(c);
			json_decref(res);
			return rn_fail(err, EINVAL, "%s: This field may not be null.", key);
		}
		if ((f->type == MT_VARS && check_vars_bounds(key, json_string_value(c), err) < 0) ||
		    ((kind == STORE_HOST || kind == STORE_GROUP) && !strcmp(key, "name") &&
		     check_inventory_name(kind, json_string_value(c), err) < 0) ||
		    model_check_field(kind, f, c, err) < 0 || model_check_choice(f, c, err) < 0) {
			json_decref(c);
			json_decref(res);
			return -1;
		}
		if (kind == STORE_CREDENTIAL && !strcmp(key, "inputs"))
			c = key_newlines(c);
		json_object_set_new(res, key, c);
	}
	if (creating) {
		for (const model_field *f = table; f->name; f++) {
			if (json_object_get(res, f->name))
				continue;
			if (f->flags & MF_REQUIRED) {
				json_decref(res);
				return rn_fail(err, EINVAL, "%s: This field is required.", f->name);
			}
			if (f->flags & MF_WO)
				continue;
			json_object_set_new(res, f->name, field_default(f));
		}
	}
	*out = res;
	return 0;
}

/* Now, as AWX prints times. */
void model_now(char out[32])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char buf[96];
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
	snprintf(out, 32, "%.31s", buf);
}

/* The time seconds from now, as AWX prints times (capped at year 9999). */
void model_time_after(long long seconds, char out[32])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	const long long max = 253402300799LL; /* 9999-12-31T23:59:59Z */
	long long t = seconds > max - (long long)tv.tv_sec ? max : (long long)tv.tv_sec + seconds;
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char buf[96];
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         t == max ? 0L : (long)tv.tv_usec);
	snprintf(out, 32, "%.31s", buf);
}

/* True if the time iso is not in the future (or does not parse). */
bool model_time_passed(const char *iso)
{
	struct tm tm = {0};
	int n = 0;
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n < 19)
		return true;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t == (time_t)-1 || t <= time(NULL);
}

/* A token's scope: AWX's words, space-separated, each at most once. */
static int check_scope(const char *field, const char *scope, runnel_error *err)
{
	static const char *const allowed[] = {"read", "write"};
	bool seen[2] = {false, false};
	int words = 0;
	for (const char *p = scope; *p;) {
		p += strspn(p, " \t\n");
		size_t n = strcspn(p, " \t\n");
		if (!n)
			break;
		int w = -1;
		for (int i = 0; i < 2; i++)
			if (n == strlen(allowed[i]) && !strncmp(p, allowed[i], n))
				w = i;
		if (w < 0 || seen[w])
			return rn_fail(err, EINVAL,
			               "%s: Must be a simple space-separated string with allowed "
			               "scopes ['read', 'write'].",
			               field);
		seen[w] = true;
		words++;
		p += n;
	}
	if (!words)
		return rn_fail(err, EINVAL,
		               "%s: Must be a simple space-separated string with allowed scopes "
		               "['read', 'write'].",
		               field);
	return 0;
}

/* Load variables text with the loader jobs use (JSON, then YAML with
 * PyYAML safe_load semantics), from memory. NULL with err. */
static json_t *vars_load(const char *field, const char *text, runnel_error *err)
{
	runnel_error e2 = {0};
	json_t *v = rn_datafile_parse(field, text, strlen(text), &e2);
	if (!v && e2.code != EINVAL)
		return rn_fail(err, e2.code ? e2.code : EIO, "%s: cannot check the variables: %s",
		               field, e2.message),
		       NULL;
	if (!v) {
		/* the loader's message starts with the field: say it once */
		const char *msg = e2.message;
		size_t flen = strlen(field);
		if (!strncmp(msg, field, flen) && msg[flen] == ':')
			msg += flen + 1;
		while (*msg == ' ')
			msg++;
		return rn_fail(err, EINVAL, "%s: Cannot parse as JSON or YAML: %s", field, msg),
		       NULL;
	}
	return v;
}

/* Variables text: blank, or a JSON or YAML mapping (AWX's vars_validate_or_raise). */
static int check_vars(const char *field, const char *text, runnel_error *err)
{
	const char *p = text;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!*p)
		return 0;
	json_t *v = json_loads(text, 0, NULL);
	if (!v && !(v = vars_load(field, text, err)))
		return -1;
	bool mapping = json_is_object(v) || json_is_null(v);
	const char *type = json_is_array(v)     ? "list"
	                   : json_is_string(v)  ? "str"
	                   : json_is_boolean(v) ? "bool"
	                   : json_is_integer(v) ? "int"
	                                        : "float";
	json_decref(v);
	if (!mapping)
		return rn_fail(
		    err, EINVAL,
		    "%s: Cannot parse as JSON or YAML: Input type `%s` is not a dictionary", field,
		    type);
	return 0;
}

/* Rules of single fields beyond their type. */
int model_check_field(store_kind kind, const model_field *f, const json_t *value, runnel_error *err)
{
	if (kind == STORE_TOKEN && !strcmp(f->name, "scope"))
		return check_scope(f->name, json_is_string(value) ? json_string_value(value) : "",
		                   err);
	if (f->type == MT_VARS && json_is_string(value))
		return check_vars(f->name, json_string_value(value), err);
	return 0;
}

/* /api/v2/<plural>/<id>/ */
void model_url(store_kind kind, long id, char *out, size_t n)
{
	snprintf(out, n, "/api/v2/%s/%ld/", store_kind_plural(kind), id);
}

/* True if the credential type's inputs mark field name secret. */
bool model_input_is_secret(const json_t *inputs, const char *name)
{
	json_t *fl = json_object_get(inputs, "fields");
	size_t i;
	json_t *f;
	json_array_foreach(fl, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (id && !strcmp(id, name))
			return json_is_true(json_object_get(f, "secret"));
	}
	return false;
}

/* The Machine, Source Control and Vault credential types as AWX defines them. */
json_t *model_builtin_credential_types(void)
{
	const char *text =
	    "[{\"name\":\"Machine\",\"kind\":\"ssh\",\"namespace\":\"ssh\",\"inputs\":{\"fields\":["
	    "{\"id\":\"username\",\"label\":\"Username\",\"type\":\"string\"},"
	    "{\"id\":\"password\",\"label\":\"Password\",\"type\":\"string\",\"secret\":true,\"ask_"
	    "at_runtime\":true},"
	    "{\"id\":\"ssh_key_data\",\"label\":\"SSH Private "
	    "Key\",\"type\":\"string\",\"format\":\"ssh_private_key\",\"secret\":true,"
	    "\"multiline\":true},"
	    "{\"id\":\"ssh_public_key_data\",\"label\":\"Signed SSH "
	    "Certificate\",\"type\":\"string\",\"multiline\":true,\"secret\":true},"
	    "{\"id\":\"ssh_key_unlock\",\"label\":\"Private Key "
	    "Passphrase\",\"type\":\"string\",\"secret\":true,\"ask_at_runtime\":true},"
	    "{\"id\":\"become_method\",\"label\":\"Privilege Escalation "
	    "Method\",\"type\":\"string\"},"
	    "{\"id\":\"become_username\",\"label\":\"Privilege Escalation "
	    "Username\",\"type\":\"string\"},"
	    "{\"id\":\"become_password\",\"label\":\"Privilege Escalation "
	    "Password\",\"type\":\"string\",\"secret\":true,\"ask_at_runtime\":true}]}},"
	    "{\"name\":\"Source "
	    "Control\",\"kind\":\"scm\",\"namespace\":\"scm\",\"inputs\":{\"fields\":["
	    "{\"id\":\"username\",\"label\":\"Username\",\"type\":\"string\"},"
	    "{\"id\":\"password\",\"label\":\"Password\",\"type\":\"string\",\"secret\":true},"
	    "{\"id\":\"ssh_key_data\",\"label\":\"SCM Private "
	    "Key\",\"type\":\"string\",\"format\":\"ssh_private_key\",\"secret\":true,"
	    "\"multiline\":true},"
	    "{\"id\":\"ssh_key_unlock\",\"label\":\"Private Key "
	    "Passphrase\",\"type\":\"string\",\"secret\":true}]}},"
	    "{\"name\":\"Vault\",\"kind\":\"vault\",\"namespace\":\"vault\",\"inputs\":{\"fields\":"
	    "["
	    "{\"id\":\"vault_password\",\"label\":\"Vault "
	    "Password\",\"type\":\"string\",\"secret\":true,\"ask_at_runtime\":true},"
	    "{\"id\":\"vault_id\",\"label\":\"Vault "
	    "Identifier\",\"type\":\"string\"}],\"required\":[\"vault_password\"]}}]";
	return json_loads(text, 0, NULL);
}

/* Events that count as failures (AWX's FAILED_EVENTS). */
bool model_event_is_failure(const char *event)
{
	static const char *const failed[] = {"runner_on_failed",
	                                     "runner_on_error",
	                                     "runner_on_unreachable",
	                                     "runner_on_async_failed",
	                                     "runner_item_on_failed",
	                                     "error",
	                                     NULL};
	for (int i = 0; event && failed[i]; i++)
		if (!strcmp(event, failed[i]))
			return true;
	return false;
}

/* The job types and the keys their events carry their id under. */
static const char *const event_id_keys[][2] = {
    {"job", "job_id"},
    {"project_update", "project_update_id"},
    {"inventory_update", "inventory_update_id"},
    {"ad_hoc_command", "ad_hoc_command_id"},
    {"system_job", "system_job_id"},
    {NULL, NULL},
};

const char *model_event_id_key(const char *type)
{
	for (int i = 0; type && event_id_keys[i][0]; i++)
		if (!strcmp(type, event_id_keys[i][0]))
			return event_id_keys[i][1];
	return "job_id";
}

long model_event_job_id(const json_t *event)
{
	for (int i = 0; event_id_keys[i][0]; i++) {
		json_t *v = json_object_get(event, event_id_keys[i][1]);
		if (json_is_integer(v))
			return (long)json_integer_value(v);
	}
	return 0;
}
