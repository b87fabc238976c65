/*
 * activity_entry.h - AWX's activity stream entries (awx/main/signals.py,
 * awx/main/models/activity_stream.py) built and written through the store,
 * the same way for the API's write path (api/activity.c) and for the jobs
 * the engine creates (engine.c: a launch, a relaunch, a scheduled run).
 */
#ifndef RUNNELD_STORE_ACTIVITY_ENTRY_H
#define RUNNELD_STORE_ACTIVITY_ENTRY_H

#include "store.h"

/* False once a superuser set ACTIVITY_STREAM_ENABLED to false (settings/). */
bool activity_stream_enabled(store *st);

/* AWX's model_to_dict of a created or deleted shaped object o: its own
 * fields (not id, type, url, related, summary_fields, created, modified,
 * created_by, modified_by), secrets "$encrypted$". A new object. */
json_t *activity_changes_of_object(const json_t *o);

/* AWX's model_instance_diff: {field: [old, new]} of the values that differ
 * between the shaped before and after; fields in sent (the request's
 * body, may be NULL) that the shape hides count as changed, shown
 * "$encrypted$". A new object (empty: nothing changed). */
json_t *activity_changes_of_update(const json_t *before, const json_t *after, const json_t *sent);

/*
 * Write one entry: actor (a user id, 0: none, as AWX's entries made
 * outside a request), operation ("create", "update", "delete",
 * "associate", "disassociate") on object1 kind/id, obj the shaped object
 * (its name is kept for when it is gone; may be NULL), changes (taken:
 * the entry owns it), object2 kind2/id2 (STORE_KIND_COUNT: none) and the
 * association's name (may be NULL). 0, or -1 with err.
 */
int activity_entry_write(store *st, long actor, const char *operation, store_kind kind, long id,
                         const json_t *obj, json_t *changes, store_kind kind2, long id2,
                         const char *association, runnel_error *err);

/*
 * The "create" entry AWX writes once a unified job it registers (a job or
 * an ad hoc command; not project, inventory or system job updates) is
 * made with its credentials and labels (UnifiedJobTemplate.
 * create_unified_job): the job's own fields as its serializer takes them,
 * a job's credentials as "name (id)" and labels by name; actor: the user
 * who launched it (created_by), none for a scheduled run. Nothing when
 * the stream is off or the kind is not one AWX records. 0, or -1 with err.
 */
int activity_record_launch(store *st, long job_id, runnel_error *err);

#endif
