/*
 * event.h - where decoded events go: complete each event (runner_ident, the
 * partial file of upstream's plugin, created), hand it to the event_handler,
 * write its job_events file, and write its text to the console and the
 * stdout artifact.
 */
#ifndef RUNNEL_EVENT_H
#define RUNNEL_EVENT_H

#include "decode.h"
#include "plan.h"
#include "runnel.h"
#include "util.h"

/* An event: JSON text, and the parsed object once somebody asked for it. */
struct runnel_event {
	rn_buf text;     /* the JSON text; stale while obj has changes not in it */
	json_t *obj;     /* parsed (NULL until asked for) */
	bool text_stale; /* obj changed after text was made */
	long counter;
	char uuid[64];
	const char *type; /* type_buf or a string of obj; NULL when it has none */
	char type_buf[64];
	bool type_known;
};

/* Make ev hold the event of a JSON text (checked already); parse is not done.
 * Reuses ev's memory. */
void rn_event_from_text(runnel_event *ev, const char *text, size_t len, long counter,
                        const char *uuid);
/* Make ev hold a parsed object (a reference is taken) and its text, if known
 * (NULL: made from the object when needed). */
void rn_event_from_object(runnel_event *ev, json_t *obj, const char *text, size_t len);
/* Release what ev holds. */
void rn_event_clear(runnel_event *ev);

typedef struct rn_sink {
	const runnel_config *cfg;
	const rn_plan *plan;
	char *events_dir;
	int events_fd;            /* job_events/, opened once */
	struct rn_writer *writer; /* the file writer thread, or NULL */
	int stdout_fd;            /* the stdout artifact; -1 when suppressed */
	rn_buf console;           /* pending console output, flushed by rn_sink_flush() */
	rn_buf file;              /* pending stdout artifact output */
	runnel_event event;       /* the event being handed out (memory reused) */
	char created[32];         /* scratch for the created timestamp */
	long emitted;
	double last_event; /* rn_now() of the last event, for idle_timeout */
} rn_sink;

/* Open the stdout artifact (and stderr, empty with a pty). 0 or -1 with err. */
int rn_sink_open(rn_sink *s, const runnel_config *cfg, const rn_plan *plan, runnel_error *err);

/* The decoder's callback (rn_chunk_fn): userdata is the rn_sink. */
int rn_sink_chunk(void *userdata, const rn_chunk *chunk);

/* Write out pending console and stdout artifact text. */
void rn_sink_flush(rn_sink *s);

/* Flush and close. */
void rn_sink_close(rn_sink *s);

/* Write an event that is already complete (as `runnel process` receives it)
 * to <events_dir>/<counter>-<uuid>.json atomically (tmp + rename), mode
 * 0600, serialized like Python's json.dumps(); scratch is a reusable buffer.
 * counter may be an integer or a string; a uuid holding '/' is refused.
 * 0, or -1 with errno set. */
int rn_event_write_complete(const char *events_dir, json_t *event, rn_buf *scratch);

#endif
