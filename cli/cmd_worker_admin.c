/*
 * cmd_worker_admin.c - the worker's housekeeping, as ansible-runner's:
 * `runnel worker --worker-info` (capacity and identity of this node, as YAML)
 * and `runnel worker cleanup` (remove old private data dirs and images).
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "../lib/artifacts.h"
#include "../lib/util.h"

/* The node's uuid, kept in ~/.ansible_runner_uuid as upstream keeps it (so
 * that runnel and ansible-runner on one node report the same identity).
 * Returns a new string, or NULL with *error set. */
static char *node_uuid(char **error)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		*error = rn_xstrdup("Could not find the home directory to store the node uuid");
		return NULL;
	}
	char *path = rn_path_join(home, ".ansible_runner_uuid");
	char *text = rn_read_file(path, NULL, NULL);
	if (text) {
		chmod(path, 0600);
		char *end = text + strlen(text);
		while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
			*--end = '\0';
		free(path);
		return text;
	}
	char u[37];
	rn_uuid4(u);
	runnel_error err = {0};
	if (rn_write_file_atomic(path, u, strlen(u), 0600, &err) != 0) {
		*error = rn_xasprintf("Could not find or create %s: %s", path, err.message);
		free(path);
		return NULL;
	}
	free(path);
	return rn_xstrdup(u);
}

/* MemTotal from /proc/meminfo in bytes, or -1. */
static long long mem_in_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	long long kb = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

int worker_info(cli_args *a)
{
	(void)a;
	char *uerr = NULL;
	char *uuid = node_uuid(&uerr);
	long long mem = mem_in_bytes();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* YAML flow style with sorted keys, as PyYAML's safe_dump prints it */
	printf("{cpu_count: %ld, errors: [", cpus);
	int n = 0;
	if (mem < 0)
		printf(
		    "%s'The /proc/meminfo file could not found, memory capacity undiscoverable.'",
		    n++ ? ", " : "");
	if (uerr)
		printf("%s'%s'", n++ ? ", " : "", uerr);
	printf("], mem_in_bytes: ");
	if (mem < 0)
		printf("null");
	else
		printf("%lld", mem);
	printf(", runner_version: %s, uuid: %s}\n\n", RUNNEL_VERSION, uuid ? uuid : "null");
	free(uuid);
	free(uerr);
	return 0;
}

/* Refuse patterns that could match system folders (upstream's list). */
static int validate_pattern(const char *pattern)
{
	static const char *prohibited[] = {"/",     "/bin",  "/dev", "/home", "/lib",  "/mnt",
	                                   "/proc", "/run",  "/sys", "/usr",  "/boot", "/etc",
	                                   "/opt",  "/sbin", "/tmp", "/var"};
	glob_t g;
	int bad = 0;
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *resolved = realpath(g.gl_pathv[i], NULL);
		for (size_t k = 0; k < sizeof prohibited / sizeof prohibited[0]; k++) {
			char *rp = realpath(prohibited[k], NULL);
			if (!strcmp(g.gl_pathv[i], prohibited[k]) ||
			    (resolved && rp && !strcmp(resolved, rp))) {
				if (!bad++)
					fprintf(stderr,
					        "Provided pattern could result in deleting system "
					        "folders:\n");
				fprintf(stderr, "%s ", g.gl_pathv[i]);
			}
			free(rp);
		}
		free(resolved);
	}
	globfree(&g);
	if (bad)
		fprintf(stderr, "\nRefusing to continue for user system safety.\n");
	return bad ? -1 : 0;
}

/* Remove the private data dirs matching pattern; returns how many. */
static int cleanup_dirs(const char *pattern, cli_args *a, int grace_minutes)
{
	glob_t g;
	int count = 0;
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *dir = g.gl_pathv[i];
		int excluded = 0;
		for (size_t k = 0; k < a->list_len[OPT_EXCLUDE_STRINGS]; k++)
			excluded |= strstr(dir, a->list[OPT_EXCLUDE_STRINGS][k]) != NULL;
		if (excluded)
			continue;
		struct stat st;
		if (stat(dir, &st) != 0)
			continue;
		if (grace_minutes && st.st_mtime > now - (time_t)grace_minutes * 60)
			continue;
		/* upstream means to skip running jobs here but its is_alive()
		 * answers 0 for a live pid, so it never does; runnel does */
		if (daemon_is_running(dir)) {
			printf("Excluding running project %s from cleanup\n", dir);
			continue;
		}
		if (rn_is_dir(dir)) {
			rn_remove_tree(dir);
			count++;
		}
	}
	globfree(&g);
	return count;
}

/* Run a container engine command, printing its output on failure. */
static int engine(const char *const *argv, char **out)
{
	runnel_tool t = {.argv = argv, .timeout = 600};
	runnel_tool_result r;
	runnel_error err = {0};
	if (runnel_tool_run(&t, &r, &err) != 0) {
		fprintf(stderr, "runnel: %s\n", err.message);
		return -1;
	}
	int rc = r.rc;
	if (rc != 0) {
		printf("Error running command:\n");
		for (size_t i = 0; argv[i]; i++)
			printf("%s%s", i ? " " : "", argv[i]);
		printf("\nStdout:\n%s\n", r.out);
	}
	*out = r.out;
	r.out = NULL;
	runnel_tool_result_clear(&r);
	return rc == 0 ? 0 : -1;
}

int worker_cleanup(cli_args *a)
{
	int grace = 60;
	if (a->value[OPT_GRACE_PERIOD]) {
		char *end;
		long g = strtol(a->value[OPT_GRACE_PERIOD], &end, 10);
		if (*end || g < 0 || g > INT_MAX) {
			fprintf(stderr,
			        "runnel: error: argument --grace-period: invalid int value: '%s'\n",
			        a->value[OPT_GRACE_PERIOD]);
			return 2;
		}
		grace = (int)g;
	}
	const char *runtime = a->value[OPT_PI_EXECUTABLE] ? a->value[OPT_PI_EXECUTABLE] : "podman";
	int dirs = 0, images = 0, pruned = 0;
	if (a->value[OPT_FILE_PATTERN]) {
		if (validate_pattern(a->value[OPT_FILE_PATTERN]) != 0)
			return 1;
		dirs = cleanup_dirs(a->value[OPT_FILE_PATTERN], a, grace);
		if (dirs)
			printf("Removed %d private data dir(s) in pattern %s\n", dirs,
			       a->value[OPT_FILE_PATTERN]);
	}
	for (size_t i = 0; i < a->list_len[OPT_REMOVE_IMAGES]; i++) {
		const char *list[] = {runtime, "images", "--format=\"{{.Repository}}:{{.Tag}}\"",
		                      a->list[OPT_REMOVE_IMAGES][i], NULL};
		char *out = NULL;
		if (engine(list, &out) != 0) {
			free(out);
			return 1;
		}
		for (char *save, *tag = strtok_r(out, "\n", &save); tag;
		     tag = strtok_r(NULL, "\n", &save)) {
			while (*tag == '"' || *tag == ' ')
				tag++;
			char *e = tag + strlen(tag);
			while (e > tag && (e[-1] == '"' || e[-1] == ' '))
				*--e = '\0';
			const char *rmi[] = {runtime, "rmi", tag, "-f", NULL};
			char *rout = NULL;
			if (engine(rmi, &rout) == 0)
				for (char *p = rout; (p = strstr(p, "Untagged:")); p++)
					images++;
			free(rout);
		}
		free(out);
	}
	if (images)
		printf("Removed %d image(s)\n", images);
	if (a->flag[OPT_IMAGE_PRUNE]) {
		const char *prune[] = {runtime, "image", "prune", "-f", NULL};
		char *out = NULL;
		if (engine(prune, &out) == 0 && out && *out &&
		    strcmp(out, "Total reclaimed space: 0B\n") != 0 &&
		    strcmp(out, "Total reclaimed space: 0B") != 0)
			pruned = 1;
		free(out);
		if (pruned)
			printf("Pruned images\n");
	}
	printf("(changed: %s)\n", dirs || images || pruned ? "True" : "False");
	return 0;
}
