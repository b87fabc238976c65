/*
 * store_backend.h - the store unit suites on either backend.
 *
 * By default a test's store is SQLite in its temp state dir. With
 * RUNNELD_STORE=pg and RUNNEL_TEST_PG_URL (a PostgreSQL URL whose database
 * may create databases: scripts/run-tests starts a throwaway cluster and
 * sets both), each state dir gets a new database of its own, named after
 * the dir, dropped by test_backend_drop().
 */
#ifndef RUNNEL_TEST_STORE_BACKEND_H
#define RUNNEL_TEST_STORE_BACKEND_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when the suite runs on PostgreSQL. */
static inline bool test_on_pg(void)
{
	const char *b = getenv("RUNNELD_STORE");
	return b && (!strcmp(b, "pg") || !strcmp(b, "postgresql"));
}

/* The database name of a state dir ("t_" and its last path component). */
static inline void test_db_name(const char *dir, char out[64])
{
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	int n = snprintf(out, 64, "t_%s", base);
	for (int i = 0; i < n && out[i]; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9')))
			out[i] = '_';
		else if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

/* A connection to db (NULL: the admin database) of RUNNEL_TEST_PG_URL, or NULL. */
static inline PGconn *test_pg_connect(const char *db)
{
	const char *admin = getenv("RUNNEL_TEST_PG_URL");
	if (!admin)
		return NULL;
	char url[512];
	snprintf(url, sizeof url, "%s", admin);
	if (db) {
		char *slash = strrchr(url, '/');
		if (slash && slash > url + 13)
			snprintf(slash + 1, sizeof url - (size_t)(slash + 1 - url), "%s", db);
	}
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "test: cannot connect to %s: %s", url, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Run sql on the admin database of RUNNEL_TEST_PG_URL (or db's when db is
 * not NULL); the first value of its result (a static buffer) or NULL. */
static inline const char *test_pg_sql(const char *db, const char *sql)
{
	static char val[256];
	PGconn *c = test_pg_connect(db);
	if (!c)
		return NULL;
	PGresult *r = PQexec(c, sql);
	const char *out = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
		snprintf(val, sizeof val, "%s", PQgetvalue(r, 0, 0));
		out = val;
	} else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		out = "";
	} else {
		fprintf(stderr, "test: %s: %s", sql, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return out;
}

/* The --store value for a test's state dir: NULL (SQLite), or the URL of a
 * new database made for it (url: 512 bytes). */
static inline const char *test_backend(const char *dir, char *url)
{
	if (!test_on_pg())
		return NULL;
	const char *admin = getenv("RUNNEL_TEST_PG_URL");
	if (!admin) {
		fprintf(stderr, "test: RUNNELD_STORE=pg needs RUNNEL_TEST_PG_URL\n");
		abort();
	}
	char name[64], sql[160];
	test_db_name(dir, name);
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
	if (!test_pg_sql(NULL, sql))
		abort();
	snprintf(url, 512, "%s", admin);
	char *slash = strrchr(url, '/');
	snprintf(slash + 1, (size_t)(512 - (slash + 1 - url)), "%s", name);
	return url;
}

/* Drop the database test_backend made for dir (no-op on SQLite). */
static inline void test_backend_drop(const char *dir)
{
	if (!test_on_pg())
		return;
	char name[64], sql[160];
	test_db_name(dir, name);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
	test_pg_sql(NULL, sql);
}

#endif
