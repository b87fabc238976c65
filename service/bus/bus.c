/* bus.c - pick a bus backend by name. */
#include "bus.h"

#include <errno.h>
#include <string.h>

#include "util.h"

/* Open a bus of settings->backend. */
static bus *open_any(const bus_settings *settings, bool consumer, runnel_error *err)
{
	const char *b = settings && settings->backend ? settings->backend : "local";
	if (!strcmp(b, "local"))
		return bus_local_open(settings, consumer, err);
	if (!strcmp(b, "redis"))
		return bus_redis_open(settings, consumer, err);
	return rn_fail(err, EINVAL, "bus: unknown backend '%s' (known: local, redis)", b), NULL;
}

/* A producer handle. */
bus *bus_open_producer(const bus_settings *settings, runnel_error *err)
{
	return open_any(settings, false, err);
}

/* A consumer handle. */
bus *bus_open_consumer(const bus_settings *settings, runnel_error *err)
{
	return open_any(settings, true, err);
}
