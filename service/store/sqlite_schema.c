/*
 * sqlite_schema.c - the SQLite backend's tables and their migrations.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables every resource kind up to the unified jobs has (printf with the
 * kind's plural). */
static const char kind_table[] = "CREATE TABLE IF NOT EXISTS %s("
                                 " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 " created TEXT NOT NULL,"
                                 " modified TEXT NOT NULL,"
                                 " name TEXT NOT NULL DEFAULT '',"
                                 " data TEXT NOT NULL DEFAULT '{}',"
                                 " secret TEXT);\n";

/* The rest of schema version 1. */
static const char schema_rest[] =
    "CREATE UNIQUE INDEX IF NOT EXISTS users_username ON users(name);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS organizations_name ON organizations(name);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS credential_types_name ON credential_types(name);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS tokens_hash ON tokens(secret);\n"
    "CREATE INDEX IF NOT EXISTS hosts_inventory"
    " ON hosts(json_extract(data,'$.inventory'), name);\n"
    "CREATE INDEX IF NOT EXISTS groups_inventory"
    " ON groups(json_extract(data,'$.inventory'), name);\n"
    "CREATE TABLE IF NOT EXISTS unified_jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created TEXT NOT NULL,"
    " modified TEXT NOT NULL,"
    " name TEXT NOT NULL DEFAULT '',"
    " data TEXT NOT NULL DEFAULT '{}',"
    " secret TEXT,"
    " type TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " started_ts REAL,"
    " finished_ts REAL,"
    " events_stored INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS unified_jobs_status ON unified_jobs(status);\n"
    "CREATE INDEX IF NOT EXISTS unified_jobs_type ON unified_jobs(type, id);\n"
    "CREATE TABLE IF NOT EXISTS relations("
    " rel INTEGER NOT NULL,"
    " parent INTEGER NOT NULL,"
    " child INTEGER NOT NULL,"
    " PRIMARY KEY(rel, parent, child)) WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS relations_child ON relations(rel, child);\n"
    "CREATE TABLE IF NOT EXISTS events("
    " id INTEGER PRIMARY KEY,"
    " job_id INTEGER NOT NULL,"
    " counter INTEGER NOT NULL,"
    " event TEXT NOT NULL DEFAULT '',"
    " event_data TEXT NOT NULL DEFAULT '{}',"
    " failed INTEGER NOT NULL DEFAULT 0,"
    " changed INTEGER NOT NULL DEFAULT 0,"
    " uuid TEXT NOT NULL DEFAULT '',"
    " parent_uuid TEXT NOT NULL DEFAULT '',"
    " host_id INTEGER,"
    " host_name TEXT NOT NULL DEFAULT '',"
    " playbook TEXT NOT NULL DEFAULT '',"
    " play TEXT NOT NULL DEFAULT '',"
    " role TEXT NOT NULL DEFAULT '',"
    " task TEXT NOT NULL DEFAULT '',"
    " stdout TEXT NOT NULL DEFAULT '',"
    " start_line INTEGER NOT NULL DEFAULT 0,"
    " end_line INTEGER NOT NULL DEFAULT 0,"
    " verbosity INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL,"
    " modified TEXT NOT NULL,"
    " job_created TEXT NOT NULL DEFAULT '',"
    " UNIQUE(job_id, counter));\n"
    /* the parents (playbook_on_*) by uuid; the flagged events by parent */
    "CREATE INDEX IF NOT EXISTS events_parents ON events(job_id, uuid)"
    " WHERE substr(event,1,11)='playbook_on';\n"
    "CREATE INDEX IF NOT EXISTS events_failed ON events(job_id, parent_uuid)"
    " WHERE failed=1;\n"
    "CREATE INDEX IF NOT EXISTS events_changed ON events(job_id, parent_uuid)"
    " WHERE changed=1;\n"
    /* the failed / changed a parent has from its children (event_derive.h) */
    "CREATE TABLE IF NOT EXISTS event_parent_flags("
    " job_id INTEGER NOT NULL,"
    " uuid TEXT NOT NULL,"
    " failed INTEGER NOT NULL DEFAULT 0,"
    " changed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(job_id, uuid)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS host_summaries("
    " id INTEGER PRIMARY KEY,"
    " job_id INTEGER NOT NULL,"
    " host_id INTEGER,"
    " host_name TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " modified TEXT NOT NULL,"
    " changed INTEGER NOT NULL DEFAULT 0,"
    " dark INTEGER NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " ignored INTEGER NOT NULL DEFAULT 0,"
    " ok INTEGER NOT NULL DEFAULT 0,"
    " processed INTEGER NOT NULL DEFAULT 0,"
    " rescued INTEGER NOT NULL DEFAULT 0,"
    " skipped INTEGER NOT NULL DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(job_id, host_name));\n";

/* Create the tables of schema version 1 (those missing). */
static int create_schema(sq *s, runnel_error *err)
{
	rn_buf b;
	rn_buf_init(&b);
	const char *head = "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);\n";
	rn_buf_append(&b, head, strlen(head));
	for (int k = 0; k < STORE_KIND_COUNT; k++) {
		if (model_is_job_kind((store_kind)k))
			continue; /* one unified_jobs table for them, below */
		char *t = rn_xasprintf(kind_table, store_kind_plural(k));
		rn_buf_append(&b, t, strlen(t));
		free(t);
	}
	rn_buf_append(&b, schema_rest, strlen(schema_rest));
	int rc = sq_exec_sql(s, b.data, err);
	rn_buf_free(&b);
	return rc;
}

/* Create or migrate the schema (schema_version holds the versions applied)
 * and seed the built-in credential types. */
int sq_migrate(sq *s, runnel_error *err)
{
	if (sq_exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (create_schema(s, err) < 0)
		goto fail;
	long v = sq_count_where(
	    s, "SELECT coalesce(max(version),0) FROM schema_version WHERE ?1 IS NOT NULL", 0);
	if (v < 1) {
		json_t *types = model_builtin_credential_types();
		size_t i;
		json_t *t;
		json_array_foreach(types, i, t) {
			json_object_set_new(t, "managed", json_true());
			json_t *o =
			    sq_create_locked(s, STORE_CREDENTIAL_TYPE, t, STORE_SYSTEM, err);
			if (!o) {
				json_decref(types);
				goto fail;
			}
			json_decref(o);
		}
		json_decref(types);
		if (sq_exec_sql(s, "INSERT INTO schema_version(version) VALUES(1)", err) < 0)
			goto fail;
	}
	if (v < 2) {
		/* version 2: stdout is read in counter order (start_line grows
		 * with the counter), so events need one index fewer */
		if (sq_exec_sql(s,
		                "DROP INDEX IF EXISTS events_start_line;"
		                " INSERT INTO schema_version(version) VALUES(2)",
		                err) < 0)
			goto fail;
	}
	return sq_exec_sql(s, "COMMIT", err);
fail:
	sq_exec_sql(s, "ROLLBACK", NULL);
	return -1;
}
