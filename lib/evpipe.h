/* evpipe.h - the event side channel: a pipe from runnel's callback plugin.
 *
 * In-band, every event's JSON crosses the pty base64-encoded inside its begin
 * marker: about 1.8 KB per event, 12 times the text the event shows, and a
 * pty costs the reader a kernel round (flush work, a wake-up) per 4 KB read.
 * So the runner hands the child a pipe as fd RN_EVPIPE_CHILD_FD and names it
 * in the environment (RUNNEL_EVENT_FD="<fd>:<the pipe's inode>", so that a
 * nested ansible that inherited the variable but not the pipe never writes
 * into whatever else holds that fd). The plugin then writes each event's JSON
 * on one line to the pipe, and puts only {"uuid": ...} in the pty marker, the
 * form ansible-runner's own plugin uses with its partial files.
 *
 * Order: the plugin writes the record before the marker, under the lock that
 * orders its markers, so a marker's record is in the pipe (or already read)
 * when the runner decodes the marker, and the records come in marker order.
 * A marker takes the first queued record with its uuid; records before it
 * (none, from runnel's plugin) are dropped. A marker with no record keeps
 * its own payload (then upstream's partial file is merged, as before).
 *
 * Memory: the runner stops reading the pipe ahead of the markers once
 * RN_EVPIPE_AHEAD_MAX bytes of whole records wait; a marker still reads what
 * it needs. A record is read to its end whatever its size, as an in-band
 * marker is.
 */
#ifndef RUNNEL_EVPIPE_H
#define RUNNEL_EVPIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "jscan.h"
#include "runnel.h"

#define RN_EVPIPE_CHILD_FD  3
#define RN_EVPIPE_ENV       "RUNNEL_EVENT_FD"
#define RN_EVPIPE_AHEAD_MAX (16u << 20)

typedef struct rn_evpipe rn_evpipe;

/* A new pipe, both ends close-on-exec (the child's end is dup'ed to
 * RN_EVPIPE_CHILD_FD in the child), or NULL with err. */
rn_evpipe *rn_evpipe_new(runnel_error *err);
void rn_evpipe_free(rn_evpipe *p);

/* The end for the child (its write end), and the value of RN_EVPIPE_ENV
 * naming it: "<fd>:<inode>". */
int rn_evpipe_child_end(const rn_evpipe *p);
const char *rn_evpipe_env_value(const rn_evpipe *p);
/* Close the child's end in this process (after the fork). */
void rn_evpipe_close_child_end(rn_evpipe *p);

/* The read end to poll, or -1 while enough waits ahead (or at EOF). */
int rn_evpipe_poll_fd(const rn_evpipe *p);
/* Read what the pipe holds, up to the bound ahead. */
void rn_evpipe_read(rn_evpipe *p);

/* The record of the event with this uuid: its JSON text (valid until the next
 * call) and its scan; false if none is queued (or readable now). Records
 * queued before it are dropped; lines that are not a JSON object are skipped. */
bool rn_evpipe_take(rn_evpipe *p, const char *uuid, size_t uuid_len, const char **json, size_t *len,
                    rn_jscan *scan);

#endif
