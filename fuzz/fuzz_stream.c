/*
 * fuzz_stream.c - the transmit/worker wire reader (lib/stream.c) on the
 * receiving end of a worker's result stream: runnel_process() reads JSON
 * lines (status, events, keepalives, zipfile + base64 artifacts, eof) from
 * a peer that may be anyone, and writes job_events/ and artifacts from them.
 *
 * Input: the stream. It is read from an in-memory file into a fresh private
 * data dir <scratch>/p with ident "f", quietly, with every handler set. An
 * event is handed to the event handler as text and parsed there (what an
 * embedding application does); the written event files must be JSON
 * objects; nothing may be written outside the private data dir.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "runnel.h"

static void die(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_stream: %s %s\n", why, detail ? detail : "");
	abort();
}

static bool on_event(runnel_event *ev, void *ud)
{
	(void)ud;
	size_t len;
	const char *text = runnel_event_json(ev, &len);
	if (!text)
		die("an event without text", NULL);
	(void)runnel_event_counter(ev);
	(void)runnel_event_uuid(ev);
	(void)runnel_event_type(ev);
	json_t *o = runnel_event_object(ev);
	if (!json_is_object(o))
		die("an event that is not an object", NULL);
	return true;
}

static void on_status(json_t *status, void *ud)
{
	(void)ud;
	if (!json_is_object(status))
		die("a status that is not an object", NULL);
}

static void on_artifacts(const char *dir, void *ud)
{
	(void)ud;
	if (!dir || !*dir)
		die("an empty artifact dir", NULL);
}

static void on_finished(const runnel_run_result *r, void *ud)
{
	(void)ud;
	(void)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *base = fuzz_scratch();
	char pdd[600];
	snprintf(pdd, sizeof pdd, "%s/p", base);
	int fd = fuzz_memfd(data, size);
	if (fd < 0)
		return 0;
	runnel_config cfg = {0};
	cfg.private_data_dir = pdd;
	cfg.ident = "f";
	cfg.quiet = true;
	cfg.event_handler = on_event;
	cfg.status_handler = on_status;
	cfg.artifacts_handler = on_artifacts;
	cfg.finished_callback = on_finished;
	runnel_process_result res;
	runnel_error err = {0};
	int rc = runnel_process(fd, &cfg, &res, &err);
	close(fd);
	if (rc != 0 && !err.message[0])
		die("a failure without an error", NULL);
	if (rc == 0 && !res.eof)
		die("success without the eof line", NULL);
	char first[256];
	if (fuzz_entries(base, first, sizeof first) != 1 || strcmp(first, "p"))
		die("something was written beside the private data dir", base);
	fuzz_rmtree(pdd);
	return 0;
}
