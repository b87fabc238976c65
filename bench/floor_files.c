/*
 * floor_files - the file floor: the least work that leaves the same artifacts
 * as a run. Reads a reference artifact dir (names and sizes of its job_events
 * files, and its stdout artifact) untimed, then, timed, writes into OUTDIR:
 * job_events/<same name> for each event (open tmp 0600, one write() of the same
 * size, close, rename) and the stdout artifact (the same bytes, one write() per
 * event's share). Prints "<files> <seconds>".
 *
 *   floor_files REFDIR OUTDIR
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ref_events.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: floor_files REFDIR OUTDIR\n");
		return 2;
	}
	char path[8192];
	size_t n, maxsize;
	struct ent *ents = ref_events_load(argv[1], &n, &maxsize);
	if (!ents)
		return 1;
	char *filler = malloc(maxsize + 1);
	memset(filler, 'x', maxsize + 1);
	/* the stdout artifact's bytes */
	snprintf(path, sizeof path, "%s/stdout", argv[1]);
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	size_t outlen = (size_t)ftell(f);
	rewind(f);
	char *out = malloc(outlen + 1);
	if (fread(out, 1, outlen, f) != outlen)
		return 1;
	fclose(f);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mkdir(argv[2], 0700);
	snprintf(path, sizeof path, "%s/job_events", argv[2]);
	if (mkdir(path, 0700) != 0) {
		perror(path);
		return 1;
	}
	snprintf(path, sizeof path, "%s/stdout", argv[2]);
	int ofd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd < 0) {
		perror(path);
		return 1;
	}
	size_t share = n ? outlen / n : outlen, off = 0;
	char tmp[8192];
	for (size_t i = 0; i < n; i++) {
		size_t len = i + 1 == n ? outlen - off : share;
		if (len && write(ofd, out + off, len) != (ssize_t)len)
			return 1;
		off += len;
		snprintf(path, sizeof path, "%s/job_events/%s", argv[2], ents[i].name);
		snprintf(tmp, sizeof tmp, "%s/job_events/.%s.tmp", argv[2], ents[i].name);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			perror(tmp);
			return 1;
		}
		if (write(fd, filler, ents[i].size) != (ssize_t)ents[i].size)
			return 1;
		close(fd);
		if (rename(tmp, path) != 0) {
			perror(path);
			return 1;
		}
	}
	close(ofd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%zu %.6f\n", n, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
