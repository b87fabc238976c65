/*
 * model.h - the backend-neutral half of the store: which fields each kind
 * has, their types and rules, validation of input (the AWX shape of output
 * is shape.c's). A backend (sqlite_*.c) persists what model.c validated.
 */
#ifndef RUNNELD_STORE_MODEL_H
#define RUNNELD_STORE_MODEL_H

#include "store.h"

typedef enum model_type {
	MT_STR,   /* string */
	MT_INT,   /* integer */
	MT_FLOAT, /* number */
	MT_BOOL,  /* boolean */
	MT_FK,    /* id of another kind (integer or null) */
	MT_JSON,  /* any JSON value (object) */
	MT_VARS,  /* variables: a JSON or YAML string (a JSON object is accepted and dumped) */
} model_type;

enum {
	MF_REQUIRED = 1 << 0, /* must be given on create */
	MF_RO = 1 << 1,       /* only STORE_SYSTEM writes it */
	MF_NULL = 1 << 2,     /* null is accepted; default null */
	MF_WO = 1 << 3,       /* write-only (user password): never shown */
};

/* Unified job type bits: which job types have a field. */
enum {
	JT_JOB = 1 << 0,
	JT_PU = 1 << 1,
	JT_IU = 1 << 2,
	JT_AD = 1 << 3,
	JT_SYS = 1 << 4,
	JT_WF = 1 << 5, /* workflow jobs */
	JT_ALL = 0x3f,
};

/* One field of a kind. The same entry validates input (model_validate) and
 * describes the field to clients (the API's OPTIONS metadata): what is
 * shown as choices or max_length is exactly what is accepted. */
typedef struct model_field {
	const char *name;
	model_type type;
	unsigned flags;
	const char *def;     /* default as JSON text; NULL: "" for strings, 0, false, null */
	store_kind fk;       /* for MT_FK */
	unsigned jobs;       /* for unified jobs: JT_* bits; 0 = all */
	const char *label;   /* NULL: the name, '_' as ' ', first letter upper case */
	const char *help;    /* AWX's help_text; NULL: none (name/description: AWX's words) */
	int max_length;      /* characters at most (MT_STR); 0: no limit */
	const char *choices; /* JSON [[value, label], ...]: the only values accepted; NULL: any */
} model_field;

/* The fields of a kind (NULL-name terminated). Unified job kinds share one list. */
const model_field *model_fields(store_kind kind);
/* The fields a launch takes (OPTIONS of job_templates/N/launch/ and the
 * check of a launch's body), and those of a new ad hoc command (POST
 * ad_hoc_commands/). NULL-name terminated. */
const model_field *model_launch_fields(void);
const model_field *model_ad_hoc_fields(void);
/* Check a value (already of f's type) against f's choices and max_length:
 * 0, or -1 with EINVAL "<field>: <reason>" in DRF's words. */
int model_check_choice(const model_field *f, const json_t *value, runnel_error *err);

/* Names unique together, as AWX's unique_together / SOFT_UNIQUE_TOGETHER:
 * an object of kind whose fields[] (NULL-terminated; "name" first) equal
 * another's of the same kind is refused with message (AWX's words). */
typedef struct model_unique {
	store_kind kind;
	const char *fields[4]; /* "project.organization": the organization of the project */
	const char *message;
	bool null_distinct; /* Django's unique_together: a null field never conflicts */
} model_unique;
/* The uniqueness rule of kind, or NULL when names may repeat. */
const model_unique *model_unique_rule(store_kind kind);
/* A field of kind by name, or NULL. */
const model_field *model_field_find(store_kind kind, const char *name);
/* True if kind is one of the unified job kinds (STORE_UNIFIED_JOB .. STORE_SYSTEM_JOB). */
bool model_is_job_kind(store_kind kind);
/* True for the kinds that are AWX's unified job templates and share one id
 * space with each other (job templates, projects, inventory sources; the
 * built-in system job template is id 1): a schedule's unified_job_template
 * names one of them by id alone. New ids start at 2. */
bool model_is_template_kind(store_kind kind);

/* The JT_* bit of a unified job type name, 0 if none. */
unsigned model_job_bit(const char *type);

/*
 * Validate fields for create (creating: defaults filled) or update of kind
 * into a new object *out holding only stored fields. Unknown fields, wrong
 * types, missing required fields, read-only fields without STORE_SYSTEM:
 * -1 with EINVAL "<field>: <reason>". FK existence is the backend's job.
 */
int model_validate(store_kind kind, const json_t *fields, unsigned flags, bool creating,
                   json_t **out, runnel_error *err);

/* model_validate over another table of fields (model_ad_hoc_fields, ...)
 * checked with the rules of kind's fields of the same names. */
int model_validate_table(const model_field *table, store_kind kind, const json_t *fields,
                         unsigned flags, bool creating, json_t **out, runnel_error *err);

/* Current UTC time as AWX prints it: "2024-01-02T03:04:05.123456Z" (32 bytes). */
void model_now(char out[32]);

/* The url of an object: "/api/v2/<plural>/<id>/" into out. */
void model_url(store_kind kind, long id, char *out, size_t n);

/* Secret input names of the built-in credential kinds (ssh, scm, vault). */
bool model_input_is_secret(const json_t *credential_type_inputs, const char *name);

/* The built-in credential types, as create() fields. A new array. */
json_t *model_builtin_credential_types(void);

/* Fail-set membership of an event name (runner_on_failed, ...). */
bool model_event_is_failure(const char *event);

/* The key that carries a unified job's id in its events, by job type
 * ("job" -> "job_id", "project_update" -> "project_update_id", ...;
 * "job_id" for an unknown type). */
const char *model_event_id_key(const char *type);

/* The unified job id an event names under one of those keys (the first
 * present, in the order of the types above); 0 if none. */
long model_event_job_id(const json_t *event);

/* What AWX shows in place of a secret it never shows twice (a token). */
#define MODEL_CENSOR "************"
/* AWX's OAUTH2_PROVIDER ACCESS_TOKEN_EXPIRE_SECONDS default (awx/settings/defaults.py). */
#define MODEL_TOKEN_EXPIRE_SECONDS 31536000000LL

/* The time seconds from now, as AWX prints times (capped at year 9999). */
void model_time_after(long long seconds, char out[32]);
/* True if the time iso (as model_now prints it) is not in the future; a
 * time that does not parse counts as passed. */
bool model_time_passed(const char *iso);
/* Rules of single fields beyond their type (model_validate calls it on
 * each coerced value): a token's scope is AWX's "read"/"write" words;
 * variables (MT_VARS) must be blank or a JSON/YAML mapping, as AWX's
 * vars_validate_or_raise. -1 with EINVAL "<field>: <reason>". */
int model_check_field(store_kind kind, const model_field *f, const json_t *value,
                      runnel_error *err);

#endif
