/*
 * producer - a synthetic, ansible-like event stream at full speed.
 *
 *   producer [-n N] --inband            whole event in the begin marker (runnel)
 *   producer [-n N] --partial [DIR]     event in DIR/job_events/<uuid>-partial.json
 *                                       (tmp + rename, 0600, like ansible-runner's
 *                                       plugin), begin marker = {"uuid": ...};
 *                                       DIR defaults to $AWX_ISOLATED_DATA_DIR
 *
 * Each event: ESC[K <b64 chunks of <= 78 chars, each + ESC[<len>D> ESC[K, then
 * the event's text (1-4 lines, '\n' line ends: the pty turns them into \r\n as
 * it does for ansible), then the end marker encoding {}. The event JSON is about
 * 1 KB with realistic event_data (playbook/play/task/host/res/uuids/created).
 * Shape: playbook_on_start, playbook_on_play_start, then tasks of
 * playbook_on_task_start + runner_on_ok/changed for 4 hosts, and
 * playbook_on_stats last; exactly N events. stdout is fully buffered (64 KiB).
 *
 * --inband under runnel (RUNNEL_EVENT_FD="<fd>:<inode>" names a pipe, see
 * lib/evpipe.h) does what runnel's plugin then does: each event's JSON goes to
 * the pipe as one line, written before its marker, and the marker carries
 * only {"uuid": ...}; stdout's buffer is then 6 KiB (see main).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void uuid4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = rng(), b = rng();
	unsigned char by[16];
	memcpy(by, &a, 8);
	memcpy(by + 8, &b, 8);
	by[6] = (by[6] & 0x0f) | 0x40;
	by[8] = (by[8] & 0x3f) | 0x80;
	int j = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[by[i] >> 4];
		out[j++] = hex[by[i] & 15];
	}
	out[j] = 0;
}

static void now_iso(char out[40])
{
	static time_t last = -1;
	static char prefix[40];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != last) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
		last = tv.tv_sec;
	}
	size_t p = strlen(prefix);
	memcpy(out, prefix, p);
	unsigned us = (unsigned)tv.tv_usec;
	out[p] = '.';
	for (int i = 6; i >= 1; i--, us /= 10)
		out[p + i] = (char)('0' + us % 10);
	out[p + 7] = 0;
}

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64tab[v >> 18];
		out[o++] = b64tab[(v >> 12) & 63];
		out[o++] = b64tab[(v >> 6) & 63];
		out[o++] = b64tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = b64tab[v >> 18];
		out[o++] = b64tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

static void marker(const char *json, size_t len)
{
	static char enc[1 << 16], out[1 << 17];
	size_t n = b64((const unsigned char *)json, len, enc), o = 0;
	memcpy(out, "\x1b[K", 3);
	o = 3;
	for (size_t off = 0; off < n; off += 78) {
		size_t c = n - off < 78 ? n - off : 78;
		memcpy(out + o, enc + off, c);
		o += c;
		out[o++] = '\x1b';
		out[o++] = '[';
		if (c >= 10)
			out[o++] = (char)('0' + c / 10);
		out[o++] = (char)('0' + c % 10);
		out[o++] = 'D';
	}
	memcpy(out + o, "\x1b[K", 3);
	o += 3;
	fwrite_unlocked(out, 1, o, stdout);
}

static char jobdir[4096];

/* The runner's event pipe, as the plugin checks it: the fd and inode that
 * RUNNEL_EVENT_FD names, a FIFO; else -1. */
static int event_pipe(void)
{
	const char *spec = getenv("RUNNEL_EVENT_FD");
	int fd;
	unsigned long long ino;
	struct stat st;
	if (!spec || sscanf(spec, "%d:%llu", &fd, &ino) != 2 || fstat(fd, &st) != 0 ||
	    !S_ISFIFO(st.st_mode) || (unsigned long long)st.st_ino != ino)
		return -1;
	return fd;
}

/* One event's record on the pipe: its JSON and a newline, in one write. */
static int send_record(int fd, char *json, size_t len)
{
	json[len] = '\n';
	for (size_t off = 0; off < len + 1;) {
		ssize_t w = write(fd, json + off, len + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static void write_partial(const char *uuid, const char *json, size_t len)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/%s-partial.json", jobdir, uuid);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(tmp);
		exit(1);
	}
	if (write(fd, json, len) != (ssize_t)len) {
		perror("write");
		exit(1);
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		perror("rename");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = 100000;
	int partial = -1;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "--inband"))
			partial = 0;
		else if (!strcmp(argv[i], "--partial")) {
			partial = 1;
			if (i + 1 < argc && argv[i + 1][0] != '-')
				dir = argv[++i];
		} else {
			fprintf(stderr, "usage: producer [-n N] --inband | --partial [DIR]\n");
			return 2;
		}
	}
	if (partial < 0 || n < 3) {
		fprintf(stderr, "usage: producer [-n N>=3] --inband | --partial [DIR]\n");
		return 2;
	}
	if (partial) {
		if (!dir)
			dir = getenv("AWX_ISOLATED_DATA_DIR");
		if (!dir) {
			fprintf(stderr, "producer: --partial needs DIR or AWX_ISOLATED_DATA_DIR\n");
			return 2;
		}
		snprintf(jobdir, sizeof jobdir, "%s/job_events", dir);
		if (mkdir(jobdir, 0700) != 0 && errno != EEXIST) {
			perror(jobdir);
			return 1;
		}
	}
	int pipe_fd = partial ? -1 : event_pipe();
	/* the buffer holds about 36 events either way (64 KiB of in-band
	 * events, 6 KiB of uuid-only ones): the events' created times, which the
	 * benchmarks' freshness counts from, then include the same wait in it */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, pipe_fd >= 0 ? 6 << 10 : sizeof outbuf);

	const int hosts = 4;
	long pid = (long)getpid();
	char pb_uuid[37], play_uuid[37], task_uuid[37], uuid[37], created[40], start[40];
	uuid4(pb_uuid);
	uuid4(play_uuid);
	task_uuid[0] = 0;
	static char ev[8192], ed[6144], text[1024];
	const char *playbook = "site.yml";
	int task_no = 0, host_no = 0;

	for (long i = 0; i < n; i++) {
		const char *type;
		const char *parent = pb_uuid;
		int edn = 0, tn = 0;
		uuid4(uuid);
		now_iso(created);
		if (i == 0) {
			type = "playbook_on_start";
			parent = NULL;
			edn = snprintf(
			    ed, sizeof ed,
			    "{\"playbook\": \"%s\", \"playbook_uuid\": \"%s\", \"uuid\": \"%s\", "
			    "\"extra_vars\": {}, \"check_mode\": false}",
			    playbook, pb_uuid, pb_uuid);
			memcpy(uuid, pb_uuid, 37);
			tn = snprintf(text, sizeof text,
			              "ansible-playbook [core 2.14.18] (synthetic producer)\n");
		} else if (i == 1) {
			type = "playbook_on_play_start";
			memcpy(uuid, play_uuid, 37);
			edn = snprintf(
			    ed, sizeof ed,
			    "{\"playbook\": \"%s\", \"playbook_uuid\": \"%s\", \"play\": "
			    "\"Configure the "
			    "fleet\", \"play_uuid\": \"%s\", \"play_pattern\": \"all\", \"name\": "
			    "\"Configure the fleet\", \"pattern\": \"all\", \"uuid\": \"%s\"}",
			    playbook, pb_uuid, play_uuid, play_uuid);
			tn = snprintf(text, sizeof text,
			              "\nPLAY [Configure the fleet] "
			              "*****************************************************\n");
		} else if (i == n - 1) {
			type = "playbook_on_stats";
			edn = snprintf(
			    ed, sizeof ed,
			    "{\"playbook\": \"%s\", \"playbook_uuid\": \"%s\", \"changed\": "
			    "{\"host0001\": %d}, \"dark\": {}, \"failures\": {}, \"ignored\": {}, "
			    "\"ok\": "
			    "{\"host0001\": %d, \"host0002\": %d}, \"processed\": {\"host0001\": "
			    "1, "
			    "\"host0002\": 1}, \"rescued\": {}, \"skipped\": {}, "
			    "\"artifact_data\": {}, "
			    "\"uuid\": \"%s\"}",
			    playbook, pb_uuid, task_no / 3, task_no, task_no, uuid);
			tn = snprintf(text, sizeof text,
			              "\nPLAY RECAP "
			              "************************************************************"
			              "*********\n"
			              "host0001                   : ok=%-4d changed=%-4d "
			              "unreachable=0    failed=0\n",
			              task_no, task_no / 3);
		} else if (host_no == 0) {
			type = "playbook_on_task_start";
			task_no++;
			uuid4(task_uuid);
			memcpy(uuid, task_uuid, 37);
			parent = play_uuid;
			edn = snprintf(ed, sizeof ed,
			               "{\"playbook\": \"%s\", \"playbook_uuid\": \"%s\", "
			               "\"play\": \"Configure the "
			               "fleet\", \"play_uuid\": \"%s\", \"play_pattern\": \"all\", "
			               "\"task\": \"Check "
			               "service %d\", \"task_uuid\": \"%s\", \"task_action\": "
			               "\"ansible.builtin.command\", "
			               "\"resolved_action\": \"ansible.builtin.command\", "
			               "\"task_args\": \"\", "
			               "\"task_path\": \"/srv/project/%s:%d\", \"role\": \"\", "
			               "\"name\": \"Check service "
			               "%d\", \"is_conditional\": false, \"uuid\": \"%s\"}",
			               playbook, pb_uuid, play_uuid, task_no, task_uuid, playbook,
			               10 + 4 * task_no, task_no, task_uuid);
			tn = snprintf(text, sizeof text,
			              "\nTASK [Check service %d] "
			              "***************************************************\n",
			              task_no);
			host_no = 1;
		} else {
			int h = host_no;
			int changed = (task_no % 3) == 0;
			int lines = 1 + (int)((task_no + h) % 4); /* 1-4 lines */
			type = "runner_on_ok";
			parent = task_uuid;
			now_iso(start);
			edn = snprintf(ed, sizeof ed,
			               "{\"playbook\": \"%s\", \"playbook_uuid\": \"%s\", "
			               "\"play\": \"Configure the fleet\", "
			               "\"play_uuid\": \"%s\", \"play_pattern\": \"all\", "
			               "\"task\": \"Check service %d\", "
			               "\"task_uuid\": \"%s\", \"task_action\": "
			               "\"ansible.builtin.command\", \"resolved_action\": "
			               "\"ansible.builtin.command\", \"task_args\": \"\", "
			               "\"task_path\": \"/srv/project/%s:%d\", "
			               "\"role\": \"\", \"host\": \"host%04d\", \"remote_addr\": "
			               "\"host%04d\", \"res\": "
			               "{\"changed\": %s, \"stdout\": \"service-%d is running\", "
			               "\"stderr\": \"\", \"rc\": 0, "
			               "\"cmd\": [\"systemctl\", \"is-active\", \"service-%d\"], "
			               "\"start\": \"%s\", \"end\": "
			               "\"%s\", \"delta\": \"0:00:00.004521\", \"msg\": \"\", "
			               "\"invocation\": {\"module_args\": "
			               "{\"_raw_params\": \"systemctl is-active service-%d\", "
			               "\"_uses_shell\": false, "
			               "\"stdin_add_newline\": true, \"strip_empty_ends\": true}}, "
			               "\"stdout_lines\": "
			               "[\"service-%d is running\"], \"stderr_lines\": [], "
			               "\"_ansible_no_log\": false}, "
			               "\"start\": \"%s\", \"end\": \"%s\", \"duration\": 0.231, "
			               "\"event_loop\": null, "
			               "\"uuid\": \"%s\"}",
			               playbook, pb_uuid, play_uuid, task_no, task_uuid, playbook,
			               10 + 4 * task_no, h, h, changed ? "true" : "false", task_no,
			               task_no, start, created, task_no, task_no, start, created,
			               uuid);
			if (lines == 1)
				tn = snprintf(text, sizeof text, "%s: [host%04d]\n",
				              changed ? "changed" : "ok", h);
			else if (lines == 2)
				tn = snprintf(text, sizeof text,
				              "%s: [host%04d] => {\"stdout\": \"service-%d is "
				              "running\"}\n%s\n",
				              changed ? "changed" : "ok", h, task_no,
				              "[WARNING]: consider using systemd");
			else if (lines == 3)
				tn = snprintf(text, sizeof text,
				              "%s: [host%04d] => {\n    \"msg\": \"service-%d is "
				              "running\"\n}\n",
				              changed ? "changed" : "ok", h, task_no);
			else
				tn = snprintf(text, sizeof text,
				              "%s: [host%04d] => {\n    \"changed\": %s,\n    "
				              "\"msg\": \"service-%d is "
				              "running\"\n}\n",
				              changed ? "changed" : "ok", h,
				              changed ? "true" : "false", task_no);
			host_no = h == hosts ? 0 : h + 1;
		}
		int en;
		if (parent)
			en = snprintf(ev, sizeof ev - 1,
			              "{\"event\": \"%s\", \"pid\": %ld, \"uuid\": \"%s\", "
			              "\"created\": \"%s\", "
			              "\"parent_uuid\": \"%s\", \"event_data\": %.*s}",
			              type, pid, uuid, created, parent, edn, ed);
		else
			en = snprintf(ev, sizeof ev - 1,
			              "{\"event\": \"%s\", \"pid\": %ld, \"uuid\": \"%s\", "
			              "\"created\": \"%s\", "
			              "\"event_data\": %.*s}",
			              type, pid, uuid, created, edn, ed);
		if (pipe_fd >= 0) {
			char small[64];
			int sn = snprintf(small, sizeof small, "{\"uuid\": \"%s\"}", uuid);
			if (send_record(pipe_fd, ev, (size_t)en) != 0)
				return 1;
			marker(small, (size_t)sn);
		} else if (partial) {
			char small[64];
			int sn = snprintf(small, sizeof small, "{\"uuid\": \"%s\"}", uuid);
			write_partial(uuid, ev, (size_t)en);
			marker(small, (size_t)sn);
		} else {
			marker(ev, (size_t)en);
		}
		fwrite_unlocked(text, 1, (size_t)tn, stdout);
		marker("{}", 2);
	}
	if (fflush(stdout) != 0)
		return 1;
	return 0;
}
