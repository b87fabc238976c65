/*
 * jobproc.c - the processes of one job, findable after its worker is gone
 * (see jobproc.h): the record in the state dir, the job's cgroup, the /proc
 * scan by private data dir, the removal of the private data dir.
 */
#include "jobproc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define EMITTED_KEY    "emitted "
#define EMITTED_DIGITS 20
/* "emitted <sent> <produced>\n" */
#define EMITTED_LINE (sizeof EMITTED_KEY - 1 + 2 * EMITTED_DIGITS + 2)

/* Sleep ms milliseconds. */
static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* <state>/procs */
static char *procs_dir(const char *state_dir)
{
	return rn_path_join(state_dir, "procs");
}

/* <state>/procs/job_<id> */
static char *record_path(const char *state_dir, long job_id)
{
	return rn_xasprintf("%s/procs/job_%ld", state_dir, job_id);
}

/* ------------------------------------------------------------------ */
/* cgroups                                                              */

/* The cgroup v2 mount point and the root it shows, from mountinfo. */
static int cgroup2_mount(char **mnt, char **root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096];
	int rc = -1;
	while (fgets(line, sizeof line, f)) {
		/* id parent major:minor root mountpoint options ... - fstype source opts */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		char *fields[5];
		char *save = NULL, *p = line;
		int n = 0;
		for (char *t = strtok_r(p, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save))
			fields[n++] = t;
		if (n < 5)
			continue;
		*root = rn_xstrdup(fields[3]);
		*mnt = rn_xstrdup(fields[4]);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

char *jobproc_cgroup_base(runnel_error *err)
{
	char *mnt = NULL, *root = NULL;
	if (cgroup2_mount(&mnt, &root) < 0)
		return rn_fail(err, ENOENT, "cgroup: no cgroup v2 hierarchy is mounted"), NULL;
	size_t len = 0;
	char *self = rn_read_file("/proc/self/cgroup", &len, err);
	char *base = NULL;
	if (self) {
		/* the unified hierarchy's line: "0::/path" */
		char *line = NULL;
		for (char *p = self; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, "0::", 3)) {
				line = p + 3;
				break;
			}
		if (line) {
			line[strcspn(line, "\n")] = '\0';
			size_t rl = strcmp(root, "/") ? strlen(root) : 0;
			if (strncmp(line, root, rl) || (line[rl] != '/' && line[rl] != '\0'))
				rn_fail(err, ENOENT,
				        "cgroup: runneld's cgroup %s is outside the mount of %s",
				        line, mnt);
			else
				base = rn_xasprintf("%s%s", mnt,
				                    strcmp(line + rl, "/") ? line + rl : "");
		} else {
			rn_fail(err, ENOENT, "cgroup: /proc/self/cgroup has no cgroup v2 line");
		}
	}
	free(self);
	free(mnt);
	free(root);
	if (base) {
		char *procs = rn_path_join(base, "cgroup.procs");
		bool ok = access(procs, W_OK) == 0;
		free(procs);
		if (!ok) {
			rn_fail(err, EACCES, "cgroup: %s is not writable by runneld", base);
			free(base);
			base = NULL;
		}
	}
	return base;
}

/* The pids in a cgroup (cgroup.procs). A new array; *n is set. */
static pid_t *cgroup_pids(const char *cg, size_t *n)
{
	*n = 0;
	char *path = rn_path_join(cg, "cgroup.procs");
	runnel_error err;
	size_t len = 0;
	char *text = rn_read_file(path, &len, &err);
	free(path);
	if (!text)
		return NULL;
	pid_t *out = NULL;
	for (char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out = rn_xrealloc(out, (*n + 1) * sizeof *out);
		out[(*n)++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	free(text);
	return out;
}

/* Write a short string to a cgroup control file. */
static int cgroup_write(const char *cg, const char *file, const char *value)
{
	char *path = rn_path_join(cg, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	errno = saved;
	return w == (ssize_t)strlen(value) ? 0 : -1;
}

/* SIGKILL everything in the cgroup (and wait, up to the deadline, until it
 * is empty). Adds to out. */
static void cgroup_end(const char *cg, double deadline, jobproc_ended *out)
{
	size_t n;
	pid_t *pids = cgroup_pids(cg, &n);
	if (!pids && !rn_is_dir(cg))
		return;
	out->by_cgroup = true;
	out->killed += n;
	free(pids);
	/* cgroup.kill (Linux 5.14) also catches what forks meanwhile; without
	 * it, kill what is listed until nothing is */
	bool have_kill = cgroup_write(cg, "cgroup.kill", "1") == 0;
	for (;;) {
		pids = cgroup_pids(cg, &n);
		if (!have_kill)
			for (size_t i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
		free(pids);
		if (n == 0)
			return;
		if (rn_now() >= deadline) {
			out->left += n;
			return;
		}
		nap_ms(5);
	}
}

size_t jobproc_sweep_cgroups(const char *cg_base)
{
	DIR *d = opendir(cg_base);
	if (!d)
		return 0;
	size_t removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		/* runneld.<pid>.job_<id> */
		char *end;
		if (strncmp(de->d_name, "runneld.", 8))
			continue;
		long pid = strtol(de->d_name + 8, &end, 10);
		if (pid <= 0 || strncmp(end, ".job_", 5))
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its runneld is running (or a pid we may not signal) */
		char *cg = rn_path_join(cg_base, de->d_name);
		if (rmdir(cg) == 0)
			removed++;
		free(cg);
	}
	closedir(d);
	return removed;
}

/* ------------------------------------------------------------------ */
/* the record                                                           */

int jobproc_create(const char *state_dir, const char *cg_base, long job_id, jobproc *rec,
                   int *cgroup_procs_fd, runnel_error *err)
{
	memset(rec, 0, sizeof *rec);
	rec->job_id = job_id;
	rec->emitted = -1;
	rec->produced = -1;
	*cgroup_procs_fd = -1;
	char *dir = procs_dir(state_dir);
	int rc = rn_mkdirs(dir, 0700, err);
	free(dir);
	if (rc < 0)
		return -1;
	rec->path = record_path(state_dir, job_id);
	if (cg_base) {
		char *cg = rn_xasprintf("%s/runneld.%d.job_%ld", cg_base, (int)getpid(), job_id);
		if (mkdir(cg, 0755) < 0 && errno == EEXIST) {
			/* left by an earlier run of this pid: empty it, make it anew */
			jobproc_ended ignored = {0};
			cgroup_end(cg, rn_now() + 1, &ignored);
			rmdir(cg);
			mkdir(cg, 0755);
		}
		char *procs = rn_path_join(cg, "cgroup.procs");
		*cgroup_procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
		free(procs);
		if (*cgroup_procs_fd >= 0)
			rec->cgroup = cg;
		else
			free(cg);
	}
	char head[EMITTED_LINE + 1];
	snprintf(head, sizeof head, "%s%*s %*s\n", EMITTED_KEY, EMITTED_DIGITS, "unknown",
	         EMITTED_DIGITS, "unknown");
	char *text = rn_xasprintf("%scgroup %s\n", head, rec->cgroup ? rec->cgroup : "-");
	rc = rn_write_file_atomic(rec->path, text, strlen(text), 0600, err);
	free(text);
	if (rc < 0) {
		if (*cgroup_procs_fd >= 0)
			close(*cgroup_procs_fd);
		*cgroup_procs_fd = -1;
		if (rec->cgroup)
			rmdir(rec->cgroup);
		jobproc_clear(rec);
		return -1;
	}
	return 0;
}

/* Append "key value\n" to the record at path. */
static int record_append(const char *path, const char *key, const char *value, runnel_error *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return rn_fail(err, errno, "%s: %s", path, strerror(errno));
	char *line = rn_xasprintf("%s %s\n", key, value);
	int rc = rn_write_all(fd, line, strlen(line));
	int saved = errno;
	free(line);
	close(fd);
	if (rc < 0)
		return rn_fail(err, saved, "%s: %s", path, strerror(saved));
	return 0;
}

int jobproc_set_worker(jobproc *rec, pid_t pid, runnel_error *err)
{
	char num[32];
	snprintf(num, sizeof num, "%d", (int)pid);
	rec->worker_pid = pid;
	return record_append(rec->path, "worker_pid", num, err);
}

int jobproc_load(const char *state_dir, long job_id, jobproc *rec, runnel_error *err)
{
	memset(rec, 0, sizeof *rec);
	rec->job_id = job_id;
	rec->emitted = -1;
	rec->produced = -1;
	rec->path = record_path(state_dir, job_id);
	if (!rn_exists(rec->path)) {
		jobproc_clear(rec);
		return 0;
	}
	size_t len = 0;
	char *text = rn_read_file(rec->path, &len, err);
	if (!text) {
		jobproc_clear(rec);
		return -1;
	}
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		char *value = sp + 1;
		if (!strcmp(line, "emitted")) {
			/* "<sent> <produced>", each right-aligned */
			char *end;
			while (*value == ' ')
				value++;
			if (isdigit((unsigned char)*value)) {
				rec->emitted = strtol(value, &end, 10);
				while (*end == ' ')
					end++;
				if (isdigit((unsigned char)*end))
					rec->produced = strtol(end, NULL, 10);
			}
		} else if (!strcmp(line, "cgroup") && value[0] == '/') {
			free(rec->cgroup);
			rec->cgroup = rn_xstrdup(value);
		} else if (!strcmp(line, "worker_pid")) {
			rec->worker_pid = (pid_t)strtol(value, NULL, 10);
		} else if (!strcmp(line, "private_data_dir") && value[0] == '/') {
			free(rec->pdd);
			rec->pdd = rn_xstrdup(value);
		}
	}
	free(text);
	return 1;
}

long *jobproc_list(const char *state_dir, size_t *n)
{
	*n = 0;
	char *dir = procs_dir(state_dir);
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return NULL;
	long *ids = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, "job_", 4))
			continue;
		long id = strtol(de->d_name + 4, &end, 10);
		if (id <= 0 || *end)
			continue;
		ids = rn_xrealloc(ids, (*n + 1) * sizeof *ids);
		ids[(*n)++] = id;
	}
	closedir(d);
	return ids;
}

/* ------------------------------------------------------------------ */
/* the /proc scan                                                       */

/* True if buf (NUL-separated strings) holds path as a whole path: followed
 * by the end of a string, '/', ':' or a space. */
static bool holds_path(const char *buf, size_t len, const char *path)
{
	size_t pl = strlen(path);
	size_t at = 0;
	while (at + pl <= len) {
		const char *p = memmem(buf + at, len - at, path, pl);
		if (!p)
			return false;
		size_t end = (size_t)(p - buf) + pl;
		char next = end < len ? buf[end] : '\0';
		if (next == '\0' || next == '/' || next == ':' || next == ' ')
			return true;
		at = (size_t)(p - buf) + 1;
	}
	return false;
}

/* Read up to cap bytes of /proc/<pid>/<what>. */
static size_t read_proc(const char *pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/%s", pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got;
}

/* SIGKILL every process (not us) whose environment or command line holds
 * pdd; how many were found. */
static size_t pdd_kill_pass(const char *pdd, char *buf, size_t cap)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t found = 0;
	pid_t self = getpid();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid == self || pid <= 1)
			continue;
		size_t n = read_proc(de->d_name, "cmdline", buf, cap);
		bool hit = n && holds_path(buf, n, pdd);
		if (!hit) {
			n = read_proc(de->d_name, "environ", buf, cap);
			hit = n && holds_path(buf, n, pdd);
		}
		if (hit && kill(pid, SIGKILL) == 0)
			found++;
	}
	closedir(d);
	return found;
}

void jobproc_end(const jobproc *rec, bool scan_pdd, double timeout, jobproc_ended *out)
{
	memset(out, 0, sizeof *out);
	double deadline = rn_now() + timeout;
	if (rec->cgroup)
		cgroup_end(rec->cgroup, deadline, out);
	if (!scan_pdd || !rec->pdd)
		return;
	/* a process killed here may have forked a moment before: again until a
	 * pass finds nothing */
	size_t cap = 256 * 1024;
	char *buf = rn_xmalloc(cap);
	bool first = true;
	for (;;) {
		size_t n = pdd_kill_pass(rec->pdd, buf, cap);
		if (n)
			out->by_pdd = true;
		if (first)
			out->killed += n;
		first = false;
		if (n == 0)
			break;
		if (rn_now() >= deadline) {
			out->left += n;
			break;
		}
		nap_ms(10);
	}
	free(buf);
}

/* Remove one file or directory (nftw callback). */
static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

bool jobproc_remove_pdd(const jobproc *rec, const char *isolation_base)
{
	if (!rec->pdd || !isolation_base)
		return false;
	/* only a directory this job's worker made: <base>/<type>_<id>_XXXXXX */
	const char *slash = strrchr(rec->pdd, '/');
	char rbase[PATH_MAX], rparent[PATH_MAX];
	if (!slash || !realpath(isolation_base, rbase))
		return false;
	char *parent = rn_xstrndup(rec->pdd, (size_t)(slash - rec->pdd));
	bool same = realpath(*parent ? parent : "/", rparent) && !strcmp(rbase, rparent);
	free(parent);
	char tail[48];
	snprintf(tail, sizeof tail, "_%ld_", rec->job_id);
	const char *name = slash + 1;
	const char *t = strstr(name, tail);
	struct stat st;
	if (!same || !t || strlen(t + strlen(tail)) != 6 || strchr(name, '/') ||
	    lstat(rec->pdd, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	return nftw(rec->pdd, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

void jobproc_forget(jobproc *rec)
{
	if (rec->cgroup && rmdir(rec->cgroup) < 0 && errno == EBUSY) {
		/* not empty yet (a process in its last moments): once more, later */
		nap_ms(20);
		rmdir(rec->cgroup);
	}
	if (rec->path)
		unlink(rec->path);
}

void jobproc_clear(jobproc *rec)
{
	free(rec->path);
	free(rec->cgroup);
	free(rec->pdd);
	memset(rec, 0, sizeof *rec);
}

bool jobproc_is_worker(pid_t pid, const char *state_dir, long job_id)
{
	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	char spid[24], buf[8192];
	snprintf(spid, sizeof spid, "%d", (int)pid);
	char stat[512];
	size_t sn = read_proc(spid, "stat", stat, sizeof stat - 1);
	stat[sn] = '\0';
	char *paren = strrchr(stat, ')');
	if (!paren || paren[1] != ' ' || paren[2] == 'Z')
		return false;
	size_t n = read_proc(spid, "cmdline", buf, sizeof buf - 1);
	buf[n] = '\0';
	if (!n || !strstr(buf, "runneld-worker"))
		return false;
	/* argv words, NUL-separated: "--job" "<id>" and "--state-dir" "<dir>" */
	char idw[32];
	snprintf(idw, sizeof idw, "%ld", job_id);
	bool job = false, dir = false;
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
		const char *w = buf + i;
		size_t next = i + strlen(w) + 1;
		const char *v = next < n ? buf + next : "";
		if (!strcmp(w, "--job") && !strcmp(v, idw))
			job = true;
		if (!strcmp(w, "--state-dir") && !strcmp(v, state_dir))
			dir = true;
	}
	return job && dir;
}

/* ------------------------------------------------------------------ */
/* the worker's side                                                    */

struct jobproc_worker {
	char *path;
	char *map; /* the record's first line */
	size_t maplen;
};

jobproc_worker *jobproc_worker_open(const char *state_dir, long job_id)
{
	char *path = record_path(state_dir, job_id);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	char head[EMITTED_LINE];
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < EMITTED_LINE ||
	    pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
	    memcmp(head, EMITTED_KEY, sizeof EMITTED_KEY - 1) || head[EMITTED_LINE - 1] != '\n') {
		close(fd);
		free(path);
		return NULL;
	}
	char *map = mmap(NULL, EMITTED_LINE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		free(path);
		return NULL;
	}
	jobproc_worker *w = rn_xmalloc(sizeof *w);
	w->path = path;
	w->map = map;
	w->maplen = EMITTED_LINE;
	jobproc_worker_note_events(w, 0, 0);
	return w;
}

void jobproc_worker_note_pdd(jobproc_worker *w, const char *pdd)
{
	runnel_error err;
	if (w && pdd && record_append(w->path, "private_data_dir", pdd, &err) < 0)
		fprintf(stderr, "runneld-worker: %s\n", err.message);
}

/* Write v as EMITTED_DIGITS zero-padded digits at d. */
static void put_digits(char *d, long v)
{
	unsigned long u = v < 0 ? 0 : (unsigned long)v;
	for (int i = EMITTED_DIGITS - 1; i >= 0; i--) {
		d[i] = (char)('0' + u % 10);
		u /= 10;
	}
}

void jobproc_worker_note_events(jobproc_worker *w, long sent, long produced)
{
	if (!w)
		return;
	/* the reader reads the record only once this process is gone, so a
	 * half-written number is never seen */
	char *d = w->map + sizeof EMITTED_KEY - 1;
	put_digits(d, sent);
	put_digits(d + EMITTED_DIGITS + 1, produced);
}

void jobproc_worker_close(jobproc_worker *w)
{
	if (!w)
		return;
	munmap(w->map, w->maplen);
	free(w->path);
	free(w);
}
