/*
 * store.c - the store factory: store_open() picks the backend its settings
 * name (as bus/bus.c does for buses).
 */
#include "store.h"

#include <errno.h>
#include <string.h>

/* Open the store named by settings->backend. */
store *store_open(const store_settings *settings, runnel_error *err)
{
	const char *b = settings && settings->backend ? settings->backend : "sqlite";
	if (!strcmp(b, "sqlite"))
		return store_sqlite_open(settings, err);
	return rn_fail(err, EINVAL, "__all__: unknown store backend '%s' (known: sqlite)", b), NULL;
}
