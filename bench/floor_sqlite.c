/*
 * floor_sqlite.c - the SQLite floor of the callback receiver: the very rows
 * the receiver stores, through the store's one prepared INSERT, in large
 * transactions, into a database made by the store's own code (schema,
 * indexes, pragmas, page size, the checkpointer thread) - and nothing else:
 * no bus, no receiver, no JSON reading while the clock runs.
 *
 *   floor_sqlite [--txn N] STATE_DIR EVENTS_FILE
 *
 * EVENTS_FILE holds one event's JSON text per line (as the bus carries
 * them; lines that are not events, such as EOFs, are skipped). They are all
 * read into rows first (event_rows.c, what the receiver's reading thread
 * does; the one playbook_on_stats per job from its tree, as the store
 * does), timed apart; then the rows are inserted, COMMIT every N rows
 * (default 50000). Prints one JSON line: rows, seconds of the inserts,
 * rows/s, and the seconds the reading into rows took.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "event_rows.h"
#include "sqlite_internal.h"
#include "store.h"

/* CPU seconds of the process (all its threads: the checkpointer's too). */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The whole of path into *out (caller frees); its length, or -1. */
static long read_all(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	rn_buf b;
	rn_buf_init(&b);
	char chunk[1 << 16];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rn_buf_append(&b, chunk, n);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		rn_buf_free(&b);
		return -1;
	}
	rn_buf_append(&b, "", 1);
	*out = b.data;
	return (long)b.len - 1;
}

int main(int argc, char **argv)
{
	long txn = 50000;
	int a = 1;
	if (argc > 2 && !strcmp(argv[1], "--txn")) {
		txn = strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (argc - a != 2 || txn <= 0) {
		fprintf(stderr, "usage: floor_sqlite [--txn N] STATE_DIR EVENTS_FILE\n");
		return 2;
	}
	const char *state_dir = argv[a], *file = argv[a + 1];
	char *text;
	long len = read_all(file, &text);
	if (len < 0) {
		fprintf(stderr, "floor_sqlite: %s: %s\n", file, strerror(errno));
		return 1;
	}

	/* read every event into a row, as the receiver's reading thread does */
	double t0 = now_s(), c0 = cpu_s();
	store_event_batch rows;
	store_event_batch_init(&rows);
	long skipped = 0;
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		runnel_error err;
		if (n && !store_event_batch_add(&rows, p, n, &err))
			skipped++;
		p += n + 1;
	}
	/* the few rows the receiver reads whole (playbook_on_stats: one per
	 * job) get their tree's row here too, before the clock; the floor
	 * writes their events rows, not the host summaries they bring */
	char now[32];
	model_now(now);
	size_t ntree = 0;
	for (size_t i = 0; i < rows.n; i++)
		ntree += rows.rows[i].needs_tree;
	store_tree_row *trees = calloc(ntree ? ntree : 1, sizeof *trees);
	json_t **docs = calloc(ntree ? ntree : 1, sizeof *docs);
	for (size_t i = 0, k = 0; i < rows.n; i++) {
		store_event_row *r = &rows.rows[i];
		if (!r->needs_tree)
			continue;
		runnel_error e;
		docs[k] = json_loadb(r->text.p, r->text.n, JSON_ALLOW_NUL, NULL);
		if (!json_is_object(docs[k]) ||
		    store_tree_row_init(&trees[k], docs[k], now, &e) < 0) {
			fprintf(stderr, "floor_sqlite: row %zu: not an event\n", i);
			return 1;
		}
		*r = trees[k].row;
		k++;
	}
	double parse_s = now_s() - t0, parse_cpu = cpu_s() - c0;

	runnel_error err = {0};
	store_settings set = {.state_dir = state_dir};
	store *st = store_sqlite_open(&set, &err);
	if (!st) {
		fprintf(stderr, "floor_sqlite: %s: %s\n", state_dir, err.message);
		return 1;
	}
	sq *s = st->impl;
	sq_lock(s);
	sq_start_checkpointer(s); /* as the receiver's handle: the WAL copied on another core */
	long stored = 0;
	t0 = now_s();
	c0 = cpu_s();
	for (size_t i = 0; i < rows.n; i++) {
		if (i % (size_t)txn == 0 && sq_exec_sql(s, "BEGIN IMMEDIATE", &err) < 0)
			goto fail;
		int r = sq_event_row_step(s, &rows.rows[i], now, &err);
		if (r < 0)
			goto fail;
		stored += r;
		if ((i + 1) % (size_t)txn == 0 || i + 1 == rows.n)
			if (sq_exec_sql(s, "COMMIT", &err) < 0)
				goto fail;
	}
	double ins_s = now_s() - t0, ins_cpu = cpu_s() - c0;
	size_t nrows = rows.n;
	sq_unlock(s);
	store_close(st);
	for (size_t k = 0; k < ntree; k++) {
		store_tree_row_free(&trees[k]);
		json_decref(docs[k]);
	}
	free(trees);
	free(docs);
	store_event_batch_free(&rows);
	free(text);
	printf(
	    "{\"rows\": %zu, \"stored\": %ld, \"skipped\": %ld, \"txn\": %ld, \"seconds\": %.3f, "
	    "\"rows_per_s\": %.0f, \"cpu_seconds\": %.3f, \"parse_seconds\": %.3f, "
	    "\"parse_cpu_seconds\": %.3f}\n",
	    nrows, stored, skipped, txn, ins_s, nrows / (ins_s > 0 ? ins_s : 1e-9), ins_cpu,
	    parse_s, parse_cpu);
	return stored == (long)nrows ? 0 : 1;
fail:
	fprintf(stderr, "floor_sqlite: %s\n", err.message);
	sq_unlock(s);
	store_close(st);
	return 1;
}
