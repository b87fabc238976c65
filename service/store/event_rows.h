/*
 * event_rows.h - events as the store keeps them: a batch of rows read from
 * the events' JSON texts (as the bus carries them), each with the columns
 * the store indexes and filters on and the raw text of event_data.
 *
 * The callback receiver fills a batch on its reading thread (one pass over
 * each text checks the JSON and finds the fields: rn_jscan_walk) and hands
 * it to store_events_insert_rows() on its storing thread, so that reading
 * the bus and writing the database overlap. Every backend stores the same
 * rows.
 *
 * Ownership: a batch owns every byte its rows point to (a copy of each text,
 * decoded strings); the pointers stay valid until store_event_batch_reset()
 * or _free(), even as more rows are added.
 */
#ifndef RUNNELD_EVENT_ROWS_H
#define RUNNELD_EVENT_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "runnel.h"
#include "util.h"

/* A string of a row: bytes and length, not NUL-terminated ({"", 0} when the
 * event has none). */
typedef struct store_str {
	const char *p;
	size_t n;
} store_str;

/* One event. String fields are decoded (JSON escapes undone); a field is
 * taken from the top level of the event, else from its event_data, as AWX's
 * callback receiver does. */
typedef struct store_event_row {
	long long job_id;  /* the unified job ("job_id", "project_update_id", ...) */
	long long counter; /* unique per job: a second row with it is a no-op */
	store_str event, uuid, parent_uuid, host_name, playbook, play, role, task, stdout;
	store_str created; /* as the runner stamped it, with a "Z" when it had no zone */
	store_str job_created;
	store_str event_data; /* the raw JSON text of event_data ("{}" when none) */
	long long host_id;    /* 0: none */
	long long start_line, end_line, verbosity;
	bool failed;  /* in AWX's failed set and not ignore_errors */
	bool changed; /* event_data.res.changed */
	/* The backend must read the whole event (its text is below) for:
	 * playbook_on_stats (host summaries, failed/changed from the counts) or
	 * a NUL escape somewhere in it (NUL bytes are stripped, as AWX does). */
	bool needs_tree;
	store_str text; /* the event's whole JSON text */
} store_event_row;

typedef struct batch_block batch_block;

/* Rows and the bytes they point to. Zero-initialize, or store_event_batch_init(). */
typedef struct store_event_batch {
	store_event_row *rows;
	size_t n, cap;
	size_t bytes;        /* text bytes taken in (for flush decisions) */
	batch_block *blocks; /* where the texts and decoded strings live */
	rn_buf scratch;
} store_event_batch;

void store_event_batch_init(store_event_batch *b);
/* Empty the batch, keeping its memory for the next one. */
void store_event_batch_reset(store_event_batch *b);
void store_event_batch_free(store_event_batch *b);

/* Read one event's JSON text into a new row of the batch (the text is
 * copied). False, and the batch as it was, when the text is not one JSON
 * object or names no job and counter; err says which. */
bool store_event_batch_add(store_event_batch *b, const char *text, size_t len, runnel_error *err);

/*
 * One event's JSON tree read into a row, for the paths that have the tree (a
 * backend's store_events_insert, a row that needs_tree): the same fields and
 * derivations as store_event_batch_add (event_derive.h), NUL bytes stripped
 * from event_data and stdout, created given its "Z" (now when the event has
 * none). Strings point into ev or into the tree row; valid while both are.
 */
typedef struct store_tree_row {
	store_event_row row;
	const json_t *event_data; /* ev's event_data object, or NULL */
	char *event_data_text, *stdout_text;
	char created[40];
} store_tree_row;

/* 0, or -1 with EINVAL when ev names no job or counter. */
int store_tree_row_init(store_tree_row *t, const json_t *ev, const char *now, runnel_error *err);
void store_tree_row_free(store_tree_row *t);

#endif
