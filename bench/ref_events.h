/*
 * ref_events.h - the job_events files of a reference artifact dir, as the
 * file floors (floor_files.c, floor_ptyfiles.c) read them untimed: each
 * file's name and size, in counter order.
 */
#ifndef RUNNEL_BENCH_REF_EVENTS_H
#define RUNNEL_BENCH_REF_EVENTS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ent {
	char *name;
	size_t size;
};

static int cmp_counter(const void *a, const void *b)
{
	long x = atol(((const struct ent *)a)->name), y = atol(((const struct ent *)b)->name);
	return (x > y) - (x < y);
}

/* The files of refdir/job_events sorted by counter (*n of them, the
 * largest *maxsize bytes), or NULL after perror. */
static struct ent *ref_events_load(const char *refdir, size_t *n, size_t *maxsize)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/job_events", refdir);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return NULL;
	}
	size_t cap = 1024;
	struct ent *ents = malloc(cap * sizeof *ents);
	struct dirent *de;
	*n = *maxsize = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		snprintf(path, sizeof path, "%s/job_events/%s", refdir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (*n == cap)
			ents = realloc(ents, (cap *= 2) * sizeof *ents);
		ents[*n].name = strdup(de->d_name);
		ents[*n].size = (size_t)st.st_size;
		if (ents[*n].size > *maxsize)
			*maxsize = ents[*n].size;
		(*n)++;
	}
	closedir(d);
	qsort(ents, *n, sizeof *ents, cmp_counter);
	return ents;
}

#endif
