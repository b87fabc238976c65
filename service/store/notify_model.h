/*
 * notify_model.h - the backend-neutral rules of notification templates
 * (AWX's NotificationTemplateSerializer and models/notifications.py):
 * notification_configuration checked per notification_type with each
 * backend's parameters, its password fields sealed with the state dir's
 * key (kept in the configuration as "$encrypted$<sealed text>", shown as
 * "$encrypted$"), messages checked and merged as AWX does, and the small
 * part of Jinja AWX's messages use: "{{ name.field }}" substitutions.
 *
 * Nothing here logs or puts a secret in an error message.
 */
#ifndef RUNNELD_STORE_NOTIFY_MODEL_H
#define RUNNELD_STORE_NOTIFY_MODEL_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "seal.h"
#include "store.h"

/* What a sealed configuration value starts with (AWX's mark). */
#define NOTIFY_ENCRYPTED "$encrypted$"

/*
 * For a notification template (other kinds: 0, nothing done): check the
 * validated fields v of a create (old NULL) or an update (old: the stored
 * fields) as AWX does, fill the configuration's defaults, seal its
 * password fields with key (a "$encrypted$" given on update keeps the
 * stored value), merge messages with the stored ones. v is changed in
 * place. 0, or -1 with EINVAL "<field>: <reason>".
 */
int notify_model_prepare(const store_key *key, store_kind kind, json_t *v, const json_t *old,
                         runnel_error *err);

/* Mask the sealed values of a configuration (in place) as "$encrypted$". */
void notify_model_mask(json_t *configuration);

/* A configuration with its sealed values opened (a new object), or NULL
 * with EIO when one does not open with key (the field named, not the value). */
json_t *notify_model_open(const store_key *key, const json_t *configuration, runnel_error *err);

/* The values of the password fields of an opened configuration of type
 * (a new array of strings): what an error text must never hold. */
json_t *notify_model_secrets(const char *type, const json_t *opened);

/*
 * Render tmpl with context ctx: "{{ a.b }}", "{{ a['b'] }}", "{{ a.0 }}"
 * substitutions as Jinja prints them (strings as they are, true/false as
 * True/False, null as None). strict: an unknown name is an error ("Field
 * 'x' unavailable", as AWX's check) else it renders as nothing (AWX's
 * ChainableUndefined when sending). Statements ({% %}), comments ({# #})
 * and filters (|) are refused: "Unable to render message '<tmpl>': ...".
 * A new string in *out, or -1 with EINVAL.
 */
int notify_render(const char *tmpl, const json_t *ctx, bool strict, char **out, runnel_error *err);

/* AWX's JobNotificationMixin.context_stub(): what messages are checked against. */
json_t *notify_context_stub(void);

/* The default subject and body of a type for event ("started", "success",
 * "error"): AWX's default_messages (body may be NULL: none). */
void notify_default_messages(const char *type, const char **message, const char **body);

#endif
