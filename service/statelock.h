/*
 * statelock.h - one runneld per state dir.
 *
 * <state>/runneld.lock is held with flock(LOCK_EX) for as long as the engine
 * is open, and holds the pid of its holder (one line). A second engine on
 * the same state dir gets an error naming the holder's pid before it has
 * touched anything there (no store, no bus socket, no reaping of jobs).
 * The descriptor is close-on-exec: workers do not hold the lock, so a
 * runneld that died (kill -9) leaves the lock free for the next one even
 * while its workers are still finishing.
 */
#ifndef RUNNELD_STATELOCK_H
#define RUNNELD_STATELOCK_H

#include <sys/types.h>

#include "runnel.h"

/* Take the lock of state_dir (which must exist) and write our pid in it.
 * Returns its descriptor (release: statelock_release), or -1 with err
 * ("state_dir: <dir> is in use by runneld pid N (lock <file>)"). */
int statelock_take(const char *state_dir, runnel_error *err);

/* Release the lock (the file stays: removing it would race a new holder). */
void statelock_release(int fd);

#endif
