/*
 * Unit tests for daemon/hooks: real processes from small /bin/sh scripts
 * written into a fresh mkdtemp directory per test.  Checked: the exact
 * environment (nothing of ours leaks: HOME, a variable of the test, a
 * descriptor without O_CLOEXEC) and stdin of a member event, a change and
 * an event; signals at their defaults, none blocked; exit codes and signals counted failed and logged, the hook's
 * output logged; a timeout kills the hook and its children; max_running 1
 * runs fired hooks one after another, in order; a full queue drops, counts
 * and warns once; prefixes; reload; fire and poll return while a hook is
 * blocked (on a fifo the test opens only afterwards); stdin larger than a
 * pipe is finished by poll, and a hook that leaves it unread raises no
 * SIGPIPE in the daemon; destroy kills and reaps.
 *
 * Waits poll the runner until a counter changes, under an overall deadline
 * (30 s, far above what any step needs): no sleep that passes by luck.
 * Every poll also checks fired = dropped + queued + running + succeeded +
 * failed + timed_out.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/hooks.h"
#include "engine/log.h"

#define DEADLINE_MS	30000u
#define PATH_ENV \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EV(x)		(1u << HS_CONF_EV_##x)

static char tdir[256];		/* this test's directory */
static struct hs_hooks *cur;		/* destroyed by the teardown */

/* ---- helpers --------------------------------------------------------- */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
dir_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct statvfs vfs;
	char cwd[PATH_MAX];
	int n;

	(void)state;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	/* Scripts must be executable where they are: a noexec /tmp would
	 * fail every test for the wrong reason. */
	if (statvfs(base, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC) != 0) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -1;
		base = cwd;
	}
	n = snprintf(tdir, sizeof(tdir), "%s/hs-hooks-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(tdir) || mkdtemp(tdir) == NULL)
		return -1;
	cur = NULL;
	return 0;
}

static int
dir_teardown(void **state)
{
	(void)state;
	hs_hooks_destroy(cur);
	cur = NULL;
	nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Write the executable tdir/name into path: the interpreter line, then
 * the body (fmt, where %1$s is tdir). */
static void __attribute__((format(printf, 4, 0)))
vscript(char *path, const char *name, const char *interp, const char *fmt,
	va_list ap)
{
	FILE *f;
	int n;

	n = snprintf(path, HS_CONF_PATH_MAX, "%s/%s", tdir, name);
	assert_true(n > 0 && n < HS_CONF_PATH_MAX);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!%s\n", interp);
	vfprintf(f, fmt, ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

static void __attribute__((format(printf, 3, 4)))
script(char *path, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscript(path, name, "/bin/sh", fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
awk_script(char *path, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscript(path, name, "/usr/bin/awk -f", fmt, ap);
	va_end(ap);
}

static void
tpath(char *path, const char *name)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", tdir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static struct hs_conf_hook
hook(uint32_t events, const char *exec, const char *prefix,
     uint32_t timeout_ms)
{
	struct hs_conf_hook hk;

	memset(&hk, 0, sizeof(hk));
	hk.events = events;
	snprintf(hk.exec, sizeof(hk.exec), "%s", exec);
	snprintf(hk.prefix, sizeof(hk.prefix), "%s", prefix);
	hk.timeout_ms = timeout_ms;
	return hk;
}

static struct hs_hooks *
runner(const struct hs_conf_hook *hooks, unsigned n, unsigned max_running,
       unsigned max_queued)
{
	struct hs_hooks_params p = {
		.hooks = hooks,
		.n_hooks = n,
		.self_id = "42",
		.self_name = "self-node",
		.max_running = max_running,
		.max_queued = max_queued,
	};

	assert_int_equal(hs_hooks_create(&p, &cur), 0);
	return cur;
}

static void
check_sum(const struct hs_hooks_stats *s)
{
	assert_int_equal(s->fired, s->dropped + s->queued + s->running +
				   s->succeeded + s->failed + s->timed_out);
}

/* Poll until cond holds (it may read s), failing after DEADLINE_MS. */
#define POLL_UNTIL(h, s, cond)						\
	do {								\
		uint64_t dl_ = now_ms() + DEADLINE_MS;			\
									\
		for (;;) {						\
			hs_hooks_poll(h);				\
			hs_hooks_stats(h, &(s));			\
			check_sum(&(s));				\
			if (cond)					\
				break;					\
			if (now_ms() > dl_)				\
				fail_msg("line %d: not after %u ms: %s", \
					 __LINE__, DEADLINE_MS, #cond);	\
			sleep_ms(2);					\
		}							\
	} while (0)

/* Wait for something a hook does, without polling the runner (so that no
 * timeout can fire meanwhile). */
static void
wait_file(const char *path)
{
	uint64_t dl = now_ms() + DEADLINE_MS;

	while (access(path, F_OK) != 0) {
		if (now_ms() > dl)
			fail_msg("%s not created after %u ms", path, DEADLINE_MS);
		sleep_ms(2);
	}
}

/* The whole file, NUL-terminated too; *len its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	do {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
assert_file(const char *name, const void *want, size_t want_len)
{
	char path[PATH_MAX];
	size_t len;
	char *got;

	tpath(path, name);
	got = slurp(path, &len);
	if (len != want_len || memcmp(got, want, len) != 0)
		fail_msg("%s: %zu bytes \"%s\", want %zu bytes", name, len, got,
			 want_len);
	free(got);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* name holds the hook's environment as the kernel gave it to exec
 * (/proc/PID/environ: NUL-separated); it must be exactly want. */
static void
assert_env(const char *name, const char **want, size_t n_want)
{
	const char *got[64];
	char path[PATH_MAX];
	size_t len, n = 0, i;
	char *buf, *p;

	tpath(path, name);
	buf = slurp(path, &len);
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		assert_true(n < 64);
		got[n++] = p;
	}
	qsort(got, n, sizeof(got[0]), cmp_str);
	qsort(want, n_want, sizeof(want[0]), cmp_str);
	for (i = 0; i < n && i < n_want; i++) {
		if (strcmp(got[i], want[i]) != 0)
			fail_msg("%s: has \"%s\" where \"%s\" was expected",
				 name, got[i], want[i]);
	}
	if (n != n_want)
		fail_msg("%s: %zu variables, want %zu (first extra: \"%s\")",
			 name, n, n_want, n > n_want ? got[n_want] : want[n]);
	free(buf);
}

/*
 * name holds the hook's "SigBlk:" and "SigIgn:" lines of /proc/PID/status:
 * nothing blocked, nothing ignored, except signals 32 and 33 (bits 31 and
 * 32), glibc's own SIGCANCEL and SIGSETXID, which its posix_spawn sets to
 * SIG_IGN in every child it starts (exec keeps that; nothing sends them).
 */
static void
assert_signals_default(const char *name)
{
	unsigned long long blk = ~0ull, ign = ~0ull;
	char path[PATH_MAX];
	size_t len;
	char *buf;

	tpath(path, name);
	buf = slurp(path, &len);
	assert_int_equal(sscanf(buf, "SigBlk: %llx SigIgn: %llx", &blk, &ign),
			 2);
	if (blk != 0 || (ign & ~(3ull << 31)) != 0)
		fail_msg("the hook started with signals blocked %llx, "
			 "ignored %llx", blk, ign);
	free(buf);
}

/* The state letter of /proc/PID/stat, 0 when there is no such process. */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p[2] : 0;
}

static pid_t
read_pid(const char *name)
{
	char path[PATH_MAX];
	size_t len;
	char *s;
	pid_t pid;

	tpath(path, name);
	s = slurp(path, &len);
	pid = (pid_t)atoi(s);
	free(s);
	assert_true(pid > 1);
	return pid;
}

/* ---- stderr capture (the daemon's log) -------------------------------- */

static int saved_stderr = -1;
static int log_rd = -1;
static char logbuf[65536];
static size_t log_len;

static void
log_capture(void)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* Non-blocking both ways: a full pipe loses lines, never hangs the
	 * test inside a log call. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	log_rd = p[0];
	log_len = 0;
	logbuf[0] = '\0';
}

static const char *
log_text(void)
{
	ssize_t n;

	while ((n = read(log_rd, logbuf + log_len,
			 sizeof(logbuf) - 1 - log_len)) > 0)
		log_len += (size_t)n;
	logbuf[log_len] = '\0';
	return logbuf;
}

static int
log_restore(void **state)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
		fputs(log_text(), stderr);	/* for a failing test's reader */
		close(log_rd);
	}
	hs_log_set_level(HS_LOG_NOTICE);
	return dir_teardown(state);
}

static unsigned
count(const char *hay, const char *needle)
{
	unsigned n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_params(void **state)
{
	struct hs_conf_hook hk = hook(EV(JOIN), "/bin/true", "", 0);
	struct hs_hooks_params p = {
		.hooks = &hk, .n_hooks = 1, .self_id = "1", .self_name = "a",
	};
	struct hs_conf_hook many[HS_CONF_HOOKS_MAX + 1];
	struct hs_hooks *h;
	unsigned i;

	(void)state;
	for (i = 0; i <= HS_CONF_HOOKS_MAX; i++)
		many[i] = hk;
	assert_int_equal(hs_hooks_create(NULL, &h), -EINVAL);
	assert_int_equal(hs_hooks_create(&p, NULL), -EINVAL);
	p.self_id = NULL;
	assert_int_equal(hs_hooks_create(&p, &h), -EINVAL);
	p.self_id = "1";
	p.max_running = HS_HOOKS_MAX_RUNNING_LIMIT + 1;
	assert_int_equal(hs_hooks_create(&p, &h), -EINVAL);
	p.max_running = 0;
	p.max_queued = HS_HOOKS_MAX_QUEUED_LIMIT + 1;
	assert_int_equal(hs_hooks_create(&p, &h), -EINVAL);
	p.max_queued = 0;
	p.hooks = many;
	p.n_hooks = HS_CONF_HOOKS_MAX + 1;
	assert_int_equal(hs_hooks_create(&p, &h), -EINVAL);
	p.n_hooks = HS_CONF_HOOKS_MAX;
	assert_int_equal(hs_hooks_create(&p, &cur), 0);

	/* Each refused hook leaves the list as it was. */
	hk = hook(EV(JOIN), "bin/true", "", 0);		/* relative */
	assert_int_equal(hs_hooks_reload(cur, &hk, 1), -EINVAL);
	hk = hook(0, "/bin/true", "", 0);		/* no event */
	assert_int_equal(hs_hooks_reload(cur, &hk, 1), -EINVAL);
	hk = hook(1u << HS_CONF_EV_COUNT, "/bin/true", "", 0);
	assert_int_equal(hs_hooks_reload(cur, &hk, 1), -EINVAL);
	hk = hook(EV(JOIN), "/bin/true", "", 0);
	memset(hk.exec, 'x', sizeof(hk.exec));		/* no NUL */
	hk.exec[0] = '/';
	assert_int_equal(hs_hooks_reload(cur, &hk, 1), -EINVAL);
	assert_int_equal(hs_hooks_reload(cur, NULL, 1), -EINVAL);
	assert_int_equal(hs_hooks_reload(cur, NULL, 0), 0);
}

/* The environment and stdin, exactly, for each kind of event. */
static void
test_env_and_stdin(void **state)
{
	static const uint8_t value[] = { 'v', 0, 1, 0xff, '\n' };
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e;
	char exec[HS_CONF_PATH_MAX], marker[PATH_MAX];
	struct hs_hooks *h;
	int leak_fd;

	(void)state;
	/* /proc/$$/environ is what exec received, before the shell adds
	 * PWD; the descriptor list shows what the hook inherited. */
	script(exec, "dump.sh",
	       "cat /proc/$$/environ > %1$s/$HEARSAY_EVENT.env\n"
	       "cat > %1$s/$HEARSAY_EVENT.stdin\n"
	       "ls -l /proc/$$/fd/ > %1$s/$HEARSAY_EVENT.fds\n", tdir);
	hk = hook(EV(JOIN) | EV(DEAD) | EV(CHANGE) | EV(EVENT), exec, "",
		  10000);
	h = runner(&hk, 1, 0, 0);
	setenv("HOME", "/home/not-for-hooks", 1);
	setenv("HS_TEST_LEAK", "1", 1);
	tpath(marker, "leak-marker");
	leak_fd = open(marker, O_CREAT | O_WRONLY, 0600);	/* no CLOEXEC */
	assert_true(leak_fd >= 0);

	memset(&e, 0, sizeof(e));
	e.type = HS_CONF_EV_DEAD;
	e.node_id = 7;
	e.node_name = "node-7";
	e.node_address = "10.0.0.7:7946";
	e.node_status = "dead";
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 1);
	{
		const char *want[] = {
			PATH_ENV,
			"HEARSAY_EVENT=dead",
			"HEARSAY_SELF_ID=42",
			"HEARSAY_SELF_NAME=self-node",
			"HEARSAY_NODE_ID=7",
			"HEARSAY_NODE_NAME=node-7",
			"HEARSAY_NODE_ADDRESS=10.0.0.7:7946",
			"HEARSAY_NODE_STATUS=dead",
		};
		const char line[] = "node-7\t10.0.0.7:7946\tdead\t7\n";
		char path[PATH_MAX];
		size_t len;
		char *fds;

		assert_env("dead.env", want, sizeof(want) / sizeof(want[0]));
		assert_file("dead.stdin", line, sizeof(line) - 1);
		tpath(path, "dead.fds");
		fds = slurp(path, &len);
		assert_null(strstr(fds, "leak-marker"));
		free(fds);
	}
	close(leak_fd);

	/* Names come from other nodes: a tab or newline must not add a
	 * field or a line. */
	e.type = HS_CONF_EV_JOIN;
	e.node_name = "evil\tname\nx";
	e.node_status = "alive";
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 2);
	{
		const char line[] = "evil?name?x\t10.0.0.7:7946\talive\t7\n";

		assert_file("join.stdin", line, sizeof(line) - 1);
	}

	memset(&e, 0, sizeof(e));
	e.type = HS_CONF_EV_CHANGE;
	e.node_id = 7;
	e.node_name = "node-7";
	e.node_address = "10.0.0.7:7946";
	e.key = "svc/web";
	e.key_len = 7;
	e.value = value;
	e.value_len = sizeof(value);
	e.version = 12;
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 3);
	{
		const char *want[] = {
			PATH_ENV,
			"HEARSAY_EVENT=change",
			"HEARSAY_SELF_ID=42",
			"HEARSAY_SELF_NAME=self-node",
			"HEARSAY_NODE_ID=7",
			"HEARSAY_NODE_NAME=node-7",
			"HEARSAY_NODE_ADDRESS=10.0.0.7:7946",
			"HEARSAY_KEY=svc/web",
			"HEARSAY_VERSION=12",
			"HEARSAY_DELETED=0",
		};

		assert_env("change.env", want, sizeof(want) / sizeof(want[0]));
		assert_file("change.stdin", value, sizeof(value));
	}

	/* A key with a NUL is left out; a deletion has no value. */
	e.key = "a\0b";
	e.key_len = 3;
	e.value = NULL;
	e.value_len = 0;
	e.version = 13;
	e.deleted = true;
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 4);
	{
		const char *want[] = {
			PATH_ENV,
			"HEARSAY_EVENT=change",
			"HEARSAY_SELF_ID=42",
			"HEARSAY_SELF_NAME=self-node",
			"HEARSAY_NODE_ID=7",
			"HEARSAY_NODE_NAME=node-7",
			"HEARSAY_NODE_ADDRESS=10.0.0.7:7946",
			"HEARSAY_VERSION=13",
			"HEARSAY_DELETED=1",
		};

		assert_env("change.env", want, sizeof(want) / sizeof(want[0]));
		assert_file("change.stdin", "", 0);
	}

	memset(&e, 0, sizeof(e));
	e.type = HS_CONF_EV_EVENT;
	e.node_id = 9;
	e.node_name = "node-9";		/* address unknown: left out */
	e.origin_id = 9;
	e.seq = 3;
	e.payload = "deploy v42";
	e.payload_len = 10;
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 5);
	{
		const char *want[] = {
			PATH_ENV,
			"HEARSAY_EVENT=event",
			"HEARSAY_SELF_ID=42",
			"HEARSAY_SELF_NAME=self-node",
			"HEARSAY_NODE_ID=9",
			"HEARSAY_NODE_NAME=node-9",
			"HEARSAY_EVENT_ORIGIN=9",
			"HEARSAY_EVENT_SEQ=3",
		};

		assert_env("event.env", want, sizeof(want) / sizeof(want[0]));
		assert_file("event.stdin", "deploy v42", 10);
	}
	assert_int_equal(s.fired, 5);
	assert_int_equal(s.started, 5);
	assert_int_equal(s.failed + s.timed_out + s.dropped, 0);
	unsetenv("HS_TEST_LEAK");
}

/* A daemon may ignore SIGPIPE and block what its signalfd reads: hooks
 * start with every signal at its default and none blocked.  The hook is
 * an awk script (dash would clear its mask itself and hide a leak). */
static void
test_signals_default(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_JOIN, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX];
	void (*old_pipe)(int);
	sigset_t blk, old_mask;
	struct hs_hooks *h;

	(void)state;
	awk_script(exec, "sig.awk",
		   "BEGIN { while ((getline l < \"/proc/self/status\") > 0)\n"
		   "  if (l ~ /^Sig(Blk|Ign):/) print l > \"%1$s/sig\" }\n",
		   tdir);
	hk = hook(EV(JOIN), exec, "", 10000);
	h = runner(&hk, 1, 0, 0);

	sigemptyset(&blk);
	sigaddset(&blk, SIGTERM);
	sigaddset(&blk, SIGHUP);
	assert_int_equal(sigprocmask(SIG_BLOCK, &blk, &old_mask), 0);
	old_pipe = signal(SIGPIPE, SIG_IGN);
	hs_hooks_fire(h, &e);
	signal(SIGPIPE, old_pipe);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old_mask, NULL), 0);
	POLL_UNTIL(h, s, s.succeeded == 1);
	assert_signals_default("sig");
}

/* Exit 3, a signal, and a path that cannot be started: failed, logged
 * with the hook and the event; the hook's output logged at INFO. */
static void
test_failures(void **state)
{
	struct hs_conf_hook hks[3];
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_DEAD, .node_id = 5 };
	char fail[HS_CONF_PATH_MAX], sig[HS_CONF_PATH_MAX];
	char want[1024];
	const char *log;
	struct hs_hooks *h;

	(void)state;
	script(fail, "fail.sh", "echo out-line\necho err-line >&2\nexit 3\n");
	script(sig, "sig.sh", "kill -TERM $$\nsleep 60\n");
	hks[0] = hook(EV(DEAD), fail, "", 10000);
	hks[1] = hook(EV(DEAD), sig, "", 10000);
	hks[2] = hook(EV(DEAD), "/nonexistent/hook", "", 10000);
	h = runner(hks, 3, 0, 0);
	hs_log_set_level(HS_LOG_INFO);
	log_capture();

	hs_hooks_fire(h, &e);
	hs_hooks_stats(h, &s);
	assert_int_equal(s.fired, 3);
	assert_int_equal(s.started, 2);
	assert_int_equal(s.failed, 1);		/* could not start */
	POLL_UNTIL(h, s, s.running == 0);
	assert_int_equal(s.failed, 3);
	assert_int_equal(s.succeeded + s.timed_out + s.dropped, 0);

	log = log_text();
	snprintf(want, sizeof(want),
		 "WARNING daemon.hooks: hook %s on dead: exit 3\n", fail);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "WARNING daemon.hooks: hook %s on dead: killed by signal %d",
		 sig, SIGTERM);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "WARNING daemon.hooks: hook "
				    "/nonexistent/hook on dead: cannot start: "
				    "No such file or directory\n"));
	snprintf(want, sizeof(want),
		 "INFO daemon.hooks: hook %s on dead: out-line\n", fail);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "INFO daemon.hooks: hook %s on dead: err-line\n", fail);
	assert_non_null(strstr(log, want));
}

/* A hook that would sleep 60 s with timeout_ms 200 is killed, its child
 * with it, and counted timed_out. */
static void
test_timeout(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_JOIN, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX], pidfile[PATH_MAX];
	uint64_t dl;
	struct hs_hooks *h;
	pid_t child;
	char st;

	(void)state;
	script(exec, "slow.sh",
	       "sleep 60 &\n"
	       "echo $! > %1$s/child.tmp && mv %1$s/child.tmp %1$s/child.pid\n"
	       "wait\n", tdir);
	hk = hook(EV(JOIN), exec, "", 200);
	h = runner(&hk, 1, 0, 0);
	hs_hooks_fire(h, &e);
	/* Only poll kills: wait for the child's pid first. */
	tpath(pidfile, "child.pid");
	wait_file(pidfile);
	child = read_pid("child.pid");
	POLL_UNTIL(h, s, s.timed_out == 1);
	assert_int_equal(s.running, 0);
	assert_int_equal(s.succeeded + s.failed, 0);

	/* The whole group was killed: the sleep is gone, or a zombie of
	 * whoever adopted it. */
	dl = now_ms() + DEADLINE_MS;
	while ((st = proc_state(child)) != 0 && st != 'Z') {
		if (now_ms() > dl)
			fail_msg("the hook's child %d outlived it (state %c)",
				 (int)child, st);
		sleep_ms(2);
	}
}

/* max_running 1: five fired runs one after another, in order. */
static void
test_serial(void **state)
{
	static const char want[] =
		"start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n"
		"start 4\nend 4\nstart 5\nend 5\n";
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	char exec[HS_CONF_PATH_MAX];
	struct hs_hooks *h;
	uint64_t seq;

	(void)state;
	/* The sleep gives an overlap, were there one, time to show. */
	script(exec, "serial.sh",
	       "echo start $HEARSAY_EVENT_SEQ >> %1$s/serial.log\n"
	       "sleep 0.05\n"
	       "echo end $HEARSAY_EVENT_SEQ >> %1$s/serial.log\n", tdir);
	hk = hook(EV(EVENT), exec, "", 10000);
	h = runner(&hk, 1, 1, 0);
	for (seq = 1; seq <= 5; seq++) {
		struct hs_hook_event e = {
			.type = HS_CONF_EV_EVENT,
			.node_id = 3,
			.origin_id = 3,
			.seq = seq,
			.payload = "x",
			.payload_len = 1,
		};

		hs_hooks_fire(h, &e);
	}
	hs_hooks_stats(h, &s);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.queued, 4);
	POLL_UNTIL(h, s, (assert_true(s.running <= 1), s.succeeded == 5));
	assert_int_equal(s.started, 5);
	assert_int_equal(s.queued, 0);
	assert_file("serial.log", want, sizeof(want) - 1);
}

/* max_queued 2 with one running: two of five dropped, counted, one
 * warning at once, the rest reported by poll a second later. */
static void
test_drops(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_JOIN, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX], go[PATH_MAX];
	struct hs_hooks *h;
	unsigned i;
	int fd;

	(void)state;
	script(exec, "wait.sh",
	       "while [ ! -e %1$s/go ]; do sleep 0.01; done\n", tdir);
	hk = hook(EV(JOIN), exec, "", 30000);
	h = runner(&hk, 1, 1, 2);
	log_capture();
	for (i = 0; i < 5; i++)
		hs_hooks_fire(h, &e);
	hs_hooks_stats(h, &s);
	check_sum(&s);
	assert_int_equal(s.fired, 5);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.running, 1);
	assert_int_equal(s.queued, 2);
	assert_int_equal(s.dropped, 2);
	assert_int_equal(count(log_text(), "WARNING daemon.hooks: dropped "),
			 1);
	assert_non_null(strstr(log_text(), "dropped 1 hook run(s): queue "
					   "full (1 running, 2 queued; last "
					   "on join; 1 in all)"));

	tpath(go, "go");
	fd = open(go, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	POLL_UNTIL(h, s, s.succeeded == 3);
	assert_int_equal(s.dropped, 2);
	/* The second drop, held back by the rate limit, comes out of poll. */
	POLL_UNTIL(h, s, count(log_text(), "dropped ") == 2);
	assert_non_null(strstr(log_text(), "dropped 1 hook run(s) since the "
					   "last warning: queue full"));
}

/* Defaults: 8 run at once, the ninth waits. */
static void
test_defaults(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_LEAVE, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX], go[PATH_MAX];
	struct hs_hooks *h;
	unsigned i;
	int fd;

	(void)state;
	script(exec, "wait.sh",
	       "while [ ! -e %1$s/go ]; do sleep 0.01; done\n", tdir);
	hk = hook(EV(LEAVE), exec, "", 30000);
	h = runner(&hk, 1, 0, 0);
	for (i = 0; i < 9; i++)
		hs_hooks_fire(h, &e);
	hs_hooks_stats(h, &s);
	assert_int_equal(s.running, HS_HOOKS_MAX_RUNNING_DEFAULT);
	assert_int_equal(s.queued, 1);
	tpath(go, "go");
	fd = open(go, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	POLL_UNTIL(h, s, s.succeeded == 9);
}

/* A change hook runs only for keys starting with its prefix; hooks run
 * only on their events. */
static void
test_prefix_and_events(void **state)
{
	static const char *const keys[] = { "svc/web", "other", "sv", "svc/" };
	struct hs_conf_hook hks[2];
	struct hs_hooks_stats s;
	char keys_sh[HS_CONF_PATH_MAX], member_sh[HS_CONF_PATH_MAX];
	struct hs_hooks *h;
	unsigned i;

	(void)state;
	script(keys_sh, "keys.sh", "echo \"$HEARSAY_KEY\" >> %1$s/keys.log\n",
	       tdir);
	script(member_sh, "member.sh",
	       "echo $HEARSAY_EVENT >> %1$s/member.log\n", tdir);
	hks[0] = hook(EV(CHANGE), keys_sh, "svc/", 10000);
	hks[1] = hook(EV(JOIN) | EV(DEAD), member_sh, "", 10000);
	h = runner(hks, 2, 1, 0);
	for (i = 0; i < 4; i++) {
		struct hs_hook_event e = {
			.type = HS_CONF_EV_CHANGE,
			.node_id = 2,
			.key = keys[i],
			.key_len = strlen(keys[i]),
			.value = "1",
			.value_len = 1,
			.version = 1,
		};

		hs_hooks_fire(h, &e);
	}
	{
		struct hs_hook_event e = { .type = HS_CONF_EV_JOIN };

		hs_hooks_fire(h, &e);
		e.type = HS_CONF_EV_LEAVE;	/* nobody's */
		hs_hooks_fire(h, &e);
		e.type = HS_CONF_EV_EVENT;	/* nobody's */
		hs_hooks_fire(h, &e);
		e.type = (enum hs_conf_event)HS_CONF_EV_COUNT;	/* ignored */
		hs_hooks_fire(h, &e);
	}
	hs_hooks_stats(h, &s);
	assert_int_equal(s.fired, 3);
	POLL_UNTIL(h, s, s.succeeded == 3);
	assert_file("keys.log", "svc/web\nsvc/\n", 13);
	assert_file("member.log", "join\n", 5);
}

/* Reload: the running hook finishes, later events run the new list; a
 * refused list keeps the current one. */
static void
test_reload(void **state)
{
	struct hs_conf_hook a, b, bad;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_JOIN, .node_id = 5 };
	char a_sh[HS_CONF_PATH_MAX], b_sh[HS_CONF_PATH_MAX], go[PATH_MAX];
	struct hs_hooks *h;
	int fd;

	(void)state;
	script(a_sh, "a.sh",
	       "echo a >> %1$s/a.log\n"
	       "while [ ! -e %1$s/go ]; do sleep 0.01; done\n", tdir);
	script(b_sh, "b.sh", "echo b >> %1$s/b.log\n", tdir);
	a = hook(EV(JOIN), a_sh, "", 30000);
	b = hook(EV(JOIN), b_sh, "", 30000);
	bad = hook(EV(JOIN), "a.sh", "", 30000);
	h = runner(&a, 1, 0, 0);
	hs_hooks_fire(h, &e);
	assert_int_equal(hs_hooks_reload(h, &b, 1), 0);
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 1);
	assert_int_equal(s.running, 1);		/* a, waiting for go */
	assert_int_equal(hs_hooks_reload(h, &bad, 1), -EINVAL);
	hs_hooks_fire(h, &e);
	POLL_UNTIL(h, s, s.succeeded == 2);
	assert_int_equal(s.running, 1);

	tpath(go, "go");
	fd = open(go, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	POLL_UNTIL(h, s, s.succeeded == 3);
	assert_int_equal(s.fired, 3);
	assert_file("a.log", "a\n", 2);
	assert_file("b.log", "b\nb\n", 4);
}

/* fire and poll return while the hook cannot finish: it blocks opening a
 * fifo for reading until the test opens it for writing, which the test
 * does only after they returned. */
static void
test_fire_does_not_wait(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	struct hs_hook_event e = { .type = HS_CONF_EV_SUSPECT, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX], fifo[PATH_MAX];
	struct hs_hooks *h;
	uint64_t dl;
	unsigned i;
	int fd;

	(void)state;
	tpath(fifo, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	script(exec, "fifo.sh", "cat %1$s/fifo > %1$s/fifo.out\n", tdir);
	hk = hook(EV(SUSPECT), exec, "", 0);		/* no timeout */
	h = runner(&hk, 1, 0, 0);
	hs_hooks_fire(h, &e);
	hs_hooks_stats(h, &s);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.running, 1);
	for (i = 0; i < 10; i++)
		hs_hooks_poll(h);
	hs_hooks_stats(h, &s);
	assert_int_equal(s.running, 1);
	assert_int_equal(s.succeeded + s.failed, 0);

	/* Non-blocking open: ENXIO until the hook's cat has the fifo open. */
	dl = now_ms() + DEADLINE_MS;
	while ((fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		assert_int_equal(errno, ENXIO);
		if (now_ms() > dl)
			fail_msg("the hook never opened the fifo");
		sleep_ms(2);
	}
	assert_int_equal(write(fd, "go\n", 3), 3);
	close(fd);
	POLL_UNTIL(h, s, s.succeeded == 1);
	assert_file("fifo.out", "go\n", 3);
}

/* stdin larger than a pipe: the rest is written by poll. */
static void
test_big_stdin(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	char exec[HS_CONF_PATH_MAX];
	struct hs_hooks *h;
	size_t len = 256 * 1024, i;
	uint8_t *big = malloc(len);

	(void)state;
	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 131 + (i >> 9));
	script(exec, "cat.sh", "cat > %1$s/big.stdin\n", tdir);
	hk = hook(EV(EVENT), exec, "", 30000);
	h = runner(&hk, 1, 0, 0);
	{
		struct hs_hook_event e = {
			.type = HS_CONF_EV_EVENT,
			.payload = big,
			.payload_len = len,
		};

		hs_hooks_fire(h, &e);
	}
	POLL_UNTIL(h, s, s.succeeded == 1);
	assert_file("big.stdin", big, len);
	free(big);
}

/* A hook that exits without reading a stdin larger than a pipe: the
 * write that poll then does fails with EPIPE, and the SIGPIPE it raises
 * (default action: terminate) must not reach this process. */
static void
test_unread_stdin_no_sigpipe(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hooks_stats s;
	char exec[HS_CONF_PATH_MAX], pidfile[PATH_MAX];
	struct hs_hooks *h;
	size_t len = 256 * 1024;
	uint8_t *big = calloc(1, len);
	sigset_t pending;
	uint64_t dl;
	pid_t pid;

	(void)state;
	assert_non_null(big);
	signal(SIGPIPE, SIG_DFL);
	script(exec, "noread.sh",
	       "echo $$ > %1$s/pid.tmp && mv %1$s/pid.tmp %1$s/pid\n", tdir);
	hk = hook(EV(EVENT), exec, "", 30000);
	h = runner(&hk, 1, 0, 0);
	{
		struct hs_hook_event e = {
			.type = HS_CONF_EV_EVENT,
			.payload = big,
			.payload_len = len,
		};

		hs_hooks_fire(h, &e);
	}
	/* Before any poll, the hook must be a zombie: its stdin is closed
	 * for sure when poll writes the rest. */
	tpath(pidfile, "pid");
	wait_file(pidfile);
	pid = read_pid("pid");
	dl = now_ms() + DEADLINE_MS;
	while (proc_state(pid) != 'Z') {
		if (now_ms() > dl)
			fail_msg("the hook did not exit");
		sleep_ms(2);
	}
	POLL_UNTIL(h, s, s.succeeded == 1);
	sigpending(&pending);
	assert_int_equal(sigismember(&pending, SIGPIPE), 0);
	free(big);
}

/* destroy kills and reaps what runs and frees what waits. */
static void
test_destroy(void **state)
{
	struct hs_conf_hook hk;
	struct hs_hook_event e = { .type = HS_CONF_EV_JOIN, .node_id = 5 };
	char exec[HS_CONF_PATH_MAX], pidfile[PATH_MAX];
	struct hs_hooks *h;
	pid_t pid;

	(void)state;
	script(exec, "forever.sh",
	       "echo $$ > %1$s/pid.tmp && mv %1$s/pid.tmp %1$s/pid\n"
	       "exec sleep 60\n", tdir);
	hk = hook(EV(JOIN), exec, "", 0);
	h = runner(&hk, 1, 1, 0);
	hs_hooks_fire(h, &e);
	hs_hooks_fire(h, &e);		/* queued */
	tpath(pidfile, "pid");
	wait_file(pidfile);
	pid = read_pid("pid");
	hs_hooks_destroy(h);
	cur = NULL;
	/* Reaped by destroy: no such process any more, not even a zombie. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_params, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_env_and_stdin, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_signals_default, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_failures, dir_setup,
						log_restore),
		cmocka_unit_test_setup_teardown(test_timeout, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_serial, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_drops, dir_setup,
						log_restore),
		cmocka_unit_test_setup_teardown(test_defaults, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_prefix_and_events,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_reload, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_fire_does_not_wait,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_big_stdin, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_unread_stdin_no_sigpipe,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_destroy, dir_setup,
						dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
