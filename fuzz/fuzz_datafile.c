/*
 * fuzz_datafile.c - the env/ file readers (lib/datafile.c): env/envvars,
 * env/extravars, env/settings, env/passwords are JSON, else YAML, written by
 * whoever prepared the private data dir.
 *
 * Input: the file's bytes. The file is an in-memory file (memfd) read through
 * its /proc/self/fd path, with rn_datafile_load() and
 * rn_datafile_load_mapping(); whatever loads is printed with rn_py_str(),
 * which must give a NUL-terminated string. A failure must come with a
 * message naming the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "datafile.h"
#include "util.h"

static void check(json_t *v, const runnel_error *err, const char *path)
{
	if (!v) {
		if (!err->code || !strstr(err->message, path)) {
			fprintf(stderr, "fuzz_datafile: error %d without the path: %s\n", err->code,
			        err->message);
			abort();
		}
		return;
	}
	char *s = rn_py_str(v);
	if (!s)
		abort();
	free(s);
	/* and the repr of every member (lists and dicts recurse) */
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m) {
			char *t = rn_py_str(m);
			free(t);
		}
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("extravars", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (rn_write_all(fd, data, size) != 0) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	runnel_error err = {0};
	check(rn_datafile_load(path, &err), &err, path);
	memset(&err, 0, sizeof err);
	check(rn_datafile_load_mapping(path, &err), &err, path);
	close(fd);
	return 0;
}
