/*
 * hearsayd event hooks: see hooks.h for what a hook sees.
 *
 * A fired event becomes one reference-counted copy (struct hs_hook_ev: the
 * environment and the stdin bytes, built once however many hooks match)
 * and one small run request per matching hook (struct hs_hook_job: that
 * copy plus the exec path and timeout as they were, so that a reload does
 * not change what a queued run does).  Requests wait in a FIFO ring of
 * max_queued; processes occupy max_running slots (struct hs_hook_run: the
 * pid, the parent's ends of the stdin and output pipes, a line buffer).
 *
 * Every descriptor made here is O_CLOEXEC from birth (pipe2), so that a
 * fork elsewhere in the daemon never inherits them, and the parent's ends
 * are O_NONBLOCK; the child's ends stay blocking, as programs expect.
 *
 * Thread context: control thread only, but hs_hooks_stats() from any
 * thread; no lock, no global, no signal handler.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/log.h"
#include "engine/util.h"

#include "hooks.h"

#define HOOKS_LOG		"daemon.hooks"
#define HOOK_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_ENV_MAX		16	/* 13 variables at most today */
#define HOOK_OUT_LINES		8	/* logged per run */
#define HOOK_LINE_BYTES		200	/* a logged line is cut there */
/* Output read per run and poll: 16 KiB every 50 ms is 320 KiB/s per hook,
 * far above what a hook that logs should write; a hook that writes more is
 * slowed by its full pipe instead of holding the control loop. */
#define HOOK_READ_PER_POLL	16384
#define HOOK_READ_AT_EXIT	65536	/* one pipe's worth */
#define HOOK_DROP_WARN_NS	1000000000ull

/* One fired event, shared by the runs it asked for. */
struct hs_hook_ev {
	unsigned refs;
	enum hs_conf_event type;
	const uint8_t *in;		/* stdin bytes, in data[] */
	size_t in_len;
	char *envp[HOOK_ENV_MAX + 1];	/* into data[], NULL-terminated */
	char data[];			/* "K=V\0"..., then stdin */
};

/* One run asked for: a hook as it was when the event fired. */
struct hs_hook_job {
	struct hs_hook_ev *ev;
	uint32_t timeout_ms;
	char exec[];
};

/* One process. */
struct hs_hook_run {
	struct hs_hook_job *job;	/* NULL: free slot */
	pid_t pid;
	int in_fd;			/* -1: stdin written and closed */
	int out_fd;			/* -1: end of output */
	size_t in_off;
	uint64_t start_ns;
	bool killed;			/* timed out, SIGKILL sent */
	bool line_cut;
	unsigned out_lines;		/* lines logged */
	uint64_t out_skipped;		/* lines not logged */
	size_t line_len;
	char line[HOOK_LINE_BYTES];
};

struct hs_hooks {
	struct hs_conf_hook hooks[HS_CONF_HOOKS_MAX];
	unsigned n_hooks;
	char *self_id;
	char *self_name;
	unsigned max_running;
	unsigned max_queued;
	struct hs_hook_run *runs;	/* max_running slots */
	unsigned n_running;
	struct hs_hook_job **queue;	/* ring of max_queued */
	unsigned q_head;
	unsigned q_len;
	struct hs_hooks_stats st;	/* counters; running, queued unused */
	uint64_t drops_unlogged;
	uint64_t drop_warn_ns;		/* last drop warning */
	bool drop_warned;		/* one was ever logged */
	const char *drop_reason;
	enum hs_conf_event drop_type;
};

/* Counters and the two gauges have one writer, the control thread, and
 * are read by hs_hooks_stats() from any thread (the API's): stored
 * atomically, relaxed, so that a reader never sees a torn value. */
static inline void
gauge_set(unsigned *g, unsigned v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

/* ---- checks ---------------------------------------------------------- */

static int
hooks_check(const struct hs_conf_hook *hooks, unsigned n)
{
	unsigned i;

	if (n > HS_CONF_HOOKS_MAX || (n > 0 && hooks == NULL))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct hs_conf_hook *hk = &hooks[i];

		/* posix_spawn (not posix_spawnp) would take a relative path
		 * from the daemon's working directory: refuse it. */
		if (memchr(hk->exec, '\0', sizeof(hk->exec)) == NULL ||
		    hk->exec[0] != '/')
			return -EINVAL;
		if (memchr(hk->prefix, '\0', sizeof(hk->prefix)) == NULL)
			return -EINVAL;
		if (hk->events == 0 || (hk->events >> HS_CONF_EV_COUNT) != 0)
			return -EINVAL;
	}
	return 0;
}

static bool
prefix_match(const char *prefix, const void *key, size_t key_len)
{
	size_t plen = strlen(prefix);

	return plen == 0 || (plen <= key_len && memcmp(key, prefix, plen) == 0);
}

/* ---- the event's copy: environment and stdin ------------------------- */

/* Two passes over the same calls: with p NULL it only measures. */
struct env_build {
	char *p;
	size_t len;
	char **envp;
	unsigned n;
};

static void
env_add(struct env_build *b, const char *name, const void *val,
	size_t val_len)
{
	size_t name_len = strlen(name);

	assert(b->n < HOOK_ENV_MAX);
	if (b->p != NULL) {
		char *s = b->p + b->len;

		b->envp[b->n] = s;
		memcpy(s, name, name_len);
		s[name_len] = '=';
		if (val_len > 0)
			memcpy(s + name_len + 1, val, val_len);
		s[name_len + 1 + val_len] = '\0';
	}
	b->len += name_len + 1 + val_len + 1;
	b->n++;
}

static void
env_add_str(struct env_build *b, const char *name, const char *val)
{
	if (val != NULL)
		env_add(b, name, val, strlen(val));
}

static void
env_add_u64(struct env_build *b, const char *name, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	env_add(b, name, num, (size_t)n);
}

static void
ev_env(struct env_build *b, const struct hs_hooks *h,
       const struct hs_hook_event *e)
{
	env_add_str(b, "PATH", HOOK_PATH);
	env_add_str(b, "HEARSAY_EVENT", hs_conf_event_name(e->type));
	env_add_str(b, "HEARSAY_SELF_ID", h->self_id);
	env_add_str(b, "HEARSAY_SELF_NAME", h->self_name);
	env_add_u64(b, "HEARSAY_NODE_ID", e->node_id);
	env_add_str(b, "HEARSAY_NODE_NAME", e->node_name);
	env_add_str(b, "HEARSAY_NODE_ADDRESS", e->node_address);
	switch (e->type) {
	case HS_CONF_EV_CHANGE:
		/* An environment string ends at its first NUL: such a key
		 * would reach the hook cut, i.e. as another key. */
		if (e->key_len == 0 || memchr(e->key, '\0', e->key_len) == NULL)
			env_add(b, "HEARSAY_KEY", e->key, e->key_len);
		env_add_u64(b, "HEARSAY_VERSION", e->version);
		env_add_str(b, "HEARSAY_DELETED", e->deleted ? "1" : "0");
		break;
	case HS_CONF_EV_EVENT:
		env_add_u64(b, "HEARSAY_EVENT_ORIGIN", e->origin_id);
		env_add_u64(b, "HEARSAY_EVENT_SEQ", e->seq);
		break;
	default:
		env_add_str(b, "HEARSAY_NODE_STATUS", e->node_status);
		break;
	}
}

/* A member line field: names and addresses come from other nodes, so a
 * tab or newline in one must not make a second field or a second line. */
static size_t
line_field(uint8_t *dst, const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (dst != NULL) {
		for (i = 0; i < n; i++) {
			uint8_t c = (uint8_t)s[i];

			dst[i] = c < 0x20 || c == 0x7f ? '?' : c;
		}
	}
	return n;
}

/* stdin of a run; with dst NULL only its length. */
static size_t
ev_stdin(const struct hs_hook_event *e, uint8_t *dst)
{
	char id[24];
	size_t n = 0;
	const char *fields[4];
	unsigned i;

	switch (e->type) {
	case HS_CONF_EV_CHANGE:
		if (dst != NULL && e->value_len > 0)
			memcpy(dst, e->value, e->value_len);
		return e->value_len;
	case HS_CONF_EV_EVENT:
		if (dst != NULL && e->payload_len > 0)
			memcpy(dst, e->payload, e->payload_len);
		return e->payload_len;
	default:
		break;
	}
	snprintf(id, sizeof(id), "%" PRIu64, e->node_id);
	fields[0] = e->node_name;
	fields[1] = e->node_address;
	fields[2] = e->node_status;
	fields[3] = id;
	for (i = 0; i < 4; i++) {
		n += line_field(dst != NULL ? dst + n : NULL, fields[i]);
		if (dst != NULL)
			dst[n] = i < 3 ? '\t' : '\n';
		n++;
	}
	return n;
}

static int
ev_create(const struct hs_hooks *h, const struct hs_hook_event *e,
	  struct hs_hook_ev **out)
{
	struct env_build b = { 0 };
	struct hs_hook_ev *ev;
	size_t in_len;

	in_len = ev_stdin(e, NULL);
	if (in_len > HS_HOOKS_STDIN_MAX_BYTES)
		return -EMSGSIZE;
	ev_env(&b, h, e);
	ev = malloc(sizeof(*ev) + b.len + in_len);
	if (ev == NULL)
		return -ENOMEM;
	ev->refs = 1;
	ev->type = e->type;
	b = (struct env_build){ .p = ev->data, .envp = ev->envp };
	ev_env(&b, h, e);
	ev->envp[b.n] = NULL;
	ev->in = (const uint8_t *)ev->data + b.len;
	ev->in_len = ev_stdin(e, (uint8_t *)ev->data + b.len);
	assert(ev->in_len == in_len);
	*out = ev;
	return 0;
}

static void
ev_put(struct hs_hook_ev *ev)
{
	if (--ev->refs == 0)
		free(ev);
}

static struct hs_hook_job *
job_create(struct hs_hook_ev *ev, const struct hs_conf_hook *hk)
{
	size_t len = strlen(hk->exec);
	struct hs_hook_job *j = malloc(sizeof(*j) + len + 1);

	if (j == NULL)
		return NULL;
	j->ev = ev;
	ev->refs++;
	j->timeout_ms = hk->timeout_ms;
	memcpy(j->exec, hk->exec, len + 1);
	return j;
}

static void
job_free(struct hs_hook_job *j)
{
	ev_put(j->ev);
	free(j);
}

static const char *
job_ev_name(const struct hs_hook_job *j)
{
	return hs_conf_event_name(j->ev->type);
}

/* ---- drops ----------------------------------------------------------- */

static void
drop_warn(struct hs_hooks *h, uint64_t now)
{
	HS_LOG(WARNING, HOOKS_LOG,
	       "dropped %" PRIu64 " hook run(s)%s: %s (%u running, %u queued; "
	       "last on %s; %" PRIu64 " in all)",
	       h->drops_unlogged, h->drop_warned ? " since the last warning" : "",
	       h->drop_reason, h->n_running, h->q_len,
	       hs_conf_event_name(h->drop_type), h->st.dropped);
	h->drops_unlogged = 0;
	h->drop_warn_ns = now;
	h->drop_warned = true;
}

/* A flood of events must not become a flood of log lines: one line at
 * once, then at most one a second, which hs_hooks_poll() also flushes. */
static void
drop_run(struct hs_hooks *h, enum hs_conf_event type, int err)
{
	uint64_t now;

	HS_COUNTER_INC(h->st.dropped);
	h->drops_unlogged++;
	h->drop_type = type;
	h->drop_reason = err == -EMSGSIZE ? "stdin larger than 1 MiB" :
			 err == -ENOMEM ? "out of memory" : "queue full";
	now = hs_clock_monotonic(NULL);
	if (!h->drop_warned || now - h->drop_warn_ns >= HOOK_DROP_WARN_NS)
		drop_warn(h, now);
}

/* ---- processes ------------------------------------------------------- */

/*
 * Keep fd off 0-2: a daemon started with a standard descriptor closed gets
 * it back from pipe2(), and the child's dup2 of that descriptor onto its
 * own number must then clear FD_CLOEXEC, which POSIX requires only since
 * its 2024 edition (glibc does it; an older C library would start the hook
 * without that descriptor).  Returns the descriptor or -errno; fd is closed
 * either way when moved.
 */
static int
fd_above_stdio(int fd)
{
	int nfd, err;

	if (fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	err = errno;
	close(fd);
	return nfd >= 0 ? nfd : -err;
}

static int
pipe_make(int p[2])
{
	int fd;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	fd = fd_above_stdio(p[0]);
	if (fd < 0) {
		close(p[1]);
		return fd;
	}
	p[0] = fd;
	fd = fd_above_stdio(p[1]);
	if (fd < 0) {
		close(p[0]);
		return fd;
	}
	p[1] = fd;
	return 0;
}

/*
 * write(2) that turns the SIGPIPE of a hook that closed its stdin into
 * EPIPE alone, without a process-wide SIG_IGN the daemon may not want:
 * block SIGPIPE in this thread, write, and take the signal this write
 * raised (it is sent to this thread) before unblocking, unless one was
 * already pending.
 */
static ssize_t
write_nosigpipe(int fd, const void *buf, size_t n)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t w;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	w = write(fd, buf, n);
	err = errno;
	if (w < 0 && err == EPIPE && !was_pending) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return w;
}

/* Start j in slot r.  Returns 0 or -errno (nothing left open). */
static int
run_spawn(struct hs_hook_run *r, struct hs_hook_job *j)
{
	const struct hs_hook_ev *ev = j->ev;
	char *argv[2] = { j->exec, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int in[2], out[2];
	size_t in_off = 0;
	pid_t pid;
	int err;

	err = pipe_make(in);
	if (err != 0)
		return err;
	err = pipe_make(out);
	if (err != 0)
		goto err_in;
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(out[0], F_SETFL, O_NONBLOCK) != 0) {
		err = -errno;
		goto err_out;
	}
	/*
	 * Fill stdin before the hook exists: the read end is open here, so
	 * this write cannot raise SIGPIPE even if the hook exits at once, and
	 * a value or payload (8 KiB at most) fits a pipe (64 KiB by default,
	 * one page when the user's pipe quota is exceeded; then
	 * hs_hooks_poll() writes the rest).
	 */
	if (ev->in_len > 0) {
		ssize_t w = write(in[1], ev->in, ev->in_len);

		if (w > 0)
			in_off = (size_t)w;
		else if (w < 0 && errno != EAGAIN) {
			err = -errno;
			goto err_out;
		}
	}

	err = posix_spawn_file_actions_init(&fa);
	if (err != 0) {
		err = -err;
		goto err_out;
	}
	err = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	if (err == 0)
		err = posix_spawn_file_actions_adddup2(&fa, out[1],
						       STDOUT_FILENO);
	if (err == 0)
		err = posix_spawn_file_actions_adddup2(&fa, out[1],
						       STDERR_FILENO);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
	/* Ours are O_CLOEXEC; this also closes what a library of the
	 * daemon (DPDK, libmicrohttpd, ...) opened without it. */
	if (err == 0)
		err = posix_spawn_file_actions_addclosefrom_np(&fa,
							STDERR_FILENO + 1);
#endif
	if (err != 0) {
		err = -err;
		goto err_fa;
	}
	err = posix_spawnattr_init(&attr);
	if (err != 0) {
		err = -err;
		goto err_fa;
	}
	/*
	 * Own process group: a timeout kills the hook's children too (a
	 * script's sleep or curl), and a terminal's ^C to the daemon does not
	 * reach the hooks.  Default dispositions and an empty mask: hearsayd
	 * ignores SIGPIPE and blocks SIGTERM, SIGINT and SIGHUP for
	 * sigtimedwait, and exec would hand both to every hook.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGKILL);	/* no disposition to reset */
	sigdelset(&all, SIGSTOP);
	sigemptyset(&none);
	err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSIGMASK);
	if (err == 0)
		err = posix_spawnattr_setpgroup(&attr, 0);
	if (err == 0)
		err = posix_spawnattr_setsigdefault(&attr, &all);
	if (err == 0)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (err == 0)
		err = posix_spawn(&pid, j->exec, &fa, &attr, argv, ev->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		err = -err;
		goto err_out;
	}

	close(in[0]);
	close(out[1]);
	if (in_off == ev->in_len) {
		close(in[1]);
		in[1] = -1;
	}
	memset(r, 0, sizeof(*r));
	r->job = j;
	r->pid = pid;
	r->in_fd = in[1];
	r->in_off = in_off;
	r->out_fd = out[0];
	r->start_ns = hs_clock_monotonic(NULL);
	return 0;

err_fa:
	posix_spawn_file_actions_destroy(&fa);
err_out:
	close(out[0]);
	close(out[1]);
err_in:
	close(in[0]);
	close(in[1]);
	return err;
}

/* Start j now in a free slot (the caller checked there is one); a run
 * that cannot start is over: failed. */
static void
run_start(struct hs_hooks *h, struct hs_hook_job *j)
{
	struct hs_hook_run *r = NULL;
	unsigned i;
	int err;

	for (i = 0; i < h->max_running; i++) {
		if (h->runs[i].job == NULL) {
			r = &h->runs[i];
			break;
		}
	}
	assert(r != NULL);
	err = run_spawn(r, j);
	if (err != 0) {
		HS_LOG(WARNING, HOOKS_LOG, "hook %s on %s: cannot start: %s",
		       j->exec, job_ev_name(j), strerror(-err));
		HS_COUNTER_INC(h->st.failed);
		job_free(j);
		return;
	}
	gauge_set(&h->n_running, h->n_running + 1);
	HS_COUNTER_INC(h->st.started);
	HS_LOG(DEBUG, HOOKS_LOG, "hook %s on %s: started, pid %d", j->exec,
	       job_ev_name(j), (int)r->pid);
}

/* Kill the hook and whatever it started: its process group.  The leader
 * is not reaped yet (a zombie at worst), so neither number can have been
 * reused. */
static void
run_kill(const struct hs_hook_run *r)
{
	if (kill(-r->pid, SIGKILL) != 0)
		(void)kill(r->pid, SIGKILL);
}

static void
run_stdin(struct hs_hook_run *r)
{
	const struct hs_hook_ev *ev = r->job->ev;

	while (r->in_off < ev->in_len) {
		ssize_t w = write_nosigpipe(r->in_fd, ev->in + r->in_off,
					    ev->in_len - r->in_off);

		if (w > 0) {
			r->in_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		break;	/* EPIPE: the hook closed its stdin; not an error */
	}
	close(r->in_fd);
	r->in_fd = -1;
}

static void
run_out_line(struct hs_hook_run *r)
{
	if (r->out_lines < HOOK_OUT_LINES) {
		HS_LOG(INFO, HOOKS_LOG, "hook %s on %s: %.*s%s", r->job->exec,
		       job_ev_name(r->job), (int)r->line_len, r->line,
		       r->line_cut ? " [cut]" : "");
		r->out_lines++;
	} else {
		r->out_skipped++;
	}
	r->line_len = 0;
	r->line_cut = false;
}

static void
run_output(struct hs_hook_run *r, size_t budget)
{
	char buf[4096];

	while (r->out_fd >= 0 && budget > 0) {
		ssize_t n = read(r->out_fd, buf,
				 budget < sizeof(buf) ? budget : sizeof(buf));
		ssize_t i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(r->out_fd);
			r->out_fd = -1;
			return;
		}
		budget -= (size_t)n;
		for (i = 0; i < n; i++) {
			uint8_t c = (uint8_t)buf[i];

			if (c == '\n')
				run_out_line(r);
			else if (r->line_len < sizeof(r->line))
				r->line[r->line_len++] =
					c < 0x20 || c == 0x7f ? '?' : (char)c;
			else
				r->line_cut = true;
		}
	}
}

/* The process is gone (status from waitpid, or lost): count, log, free
 * the slot. */
static void
run_end(struct hs_hooks *h, struct hs_hook_run *r, int status, bool lost,
	uint64_t now)
{
	struct hs_hook_job *j = r->job;
	uint64_t ms = (now - r->start_ns) / 1000000u;

	if (r->line_len > 0 || r->line_cut)
		run_out_line(r);
	if (r->out_skipped > 0)
		HS_LOG(INFO, HOOKS_LOG,
		       "hook %s on %s: %" PRIu64 " more line(s) of output "
		       "not logged", j->exec, job_ev_name(j), r->out_skipped);
	if (r->killed) {
		HS_COUNTER_INC(h->st.timed_out);
	} else if (lost) {
		HS_COUNTER_INC(h->st.failed);
		HS_LOG(WARNING, HOOKS_LOG,
		       "hook %s on %s: pid %d reaped elsewhere (SIGCHLD "
		       "ignored?), outcome unknown", j->exec, job_ev_name(j),
		       (int)r->pid);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		HS_COUNTER_INC(h->st.succeeded);
		HS_LOG(DEBUG, HOOKS_LOG, "hook %s on %s: exit 0 after %" PRIu64
		       " ms", j->exec, job_ev_name(j), ms);
	} else if (WIFEXITED(status)) {
		HS_COUNTER_INC(h->st.failed);
		HS_LOG(WARNING, HOOKS_LOG, "hook %s on %s: exit %d",
		       j->exec, job_ev_name(j), WEXITSTATUS(status));
	} else {
		HS_COUNTER_INC(h->st.failed);
		HS_LOG(WARNING, HOOKS_LOG, "hook %s on %s: killed by signal "
		       "%d (%s)", j->exec, job_ev_name(j), WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	}
	if (r->in_fd >= 0)
		close(r->in_fd);
	if (r->out_fd >= 0)
		close(r->out_fd);
	job_free(j);
	r->job = NULL;
	gauge_set(&h->n_running, h->n_running - 1);
}

static void
run_poll(struct hs_hooks *h, struct hs_hook_run *r, uint64_t now)
{
	uint64_t timeout_ns = (uint64_t)r->job->timeout_ms * 1000000u;
	int status = 0;
	pid_t ret;

	if (r->in_fd >= 0)
		run_stdin(r);
	run_output(r, HOOK_READ_PER_POLL);
	do {
		ret = waitpid(r->pid, &status, WNOHANG);
	} while (ret < 0 && errno == EINTR);
	if (ret == r->pid) {
		/* What it wrote just before exiting; a child it left behind
		 * may keep writing, hence the bound. */
		run_output(r, HOOK_READ_AT_EXIT);
		run_end(h, r, status, false, now);
		return;
	}
	if (ret < 0) {
		run_end(h, r, 0, true, now);
		return;
	}
	if (!r->killed && timeout_ns > 0 && now - r->start_ns >= timeout_ns) {
		run_kill(r);
		r->killed = true;
		HS_LOG(WARNING, HOOKS_LOG, "hook %s on %s: timed out after %"
		       PRIu32 " ms, killed", r->job->exec, job_ev_name(r->job),
		       r->job->timeout_ms);
	}
}

/* ---- API ------------------------------------------------------------- */

int
hs_hooks_create(const struct hs_hooks_params *p, struct hs_hooks **out)
{
	struct hs_hooks *h;
	int err;

	if (p == NULL || out == NULL || p->self_id == NULL ||
	    p->self_name == NULL ||
	    p->max_running > HS_HOOKS_MAX_RUNNING_LIMIT ||
	    p->max_queued > HS_HOOKS_MAX_QUEUED_LIMIT)
		return -EINVAL;
	err = hooks_check(p->hooks, p->n_hooks);
	if (err != 0)
		return err;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->max_running = p->max_running != 0 ? p->max_running :
					       HS_HOOKS_MAX_RUNNING_DEFAULT;
	h->max_queued = p->max_queued != 0 ? p->max_queued :
					     HS_HOOKS_MAX_QUEUED_DEFAULT;
	h->self_id = strdup(p->self_id);
	if (h->self_id == NULL)
		goto err_h;
	h->self_name = strdup(p->self_name);
	if (h->self_name == NULL)
		goto err_id;
	h->runs = calloc(h->max_running, sizeof(*h->runs));
	if (h->runs == NULL)
		goto err_name;
	h->queue = calloc(h->max_queued, sizeof(*h->queue));
	if (h->queue == NULL)
		goto err_runs;
	if (p->n_hooks > 0)
		memcpy(h->hooks, p->hooks, p->n_hooks * sizeof(*p->hooks));
	h->n_hooks = p->n_hooks;
	*out = h;
	return 0;

err_runs:
	free(h->runs);
err_name:
	free(h->self_name);
err_id:
	free(h->self_id);
err_h:
	free(h);
	return -ENOMEM;
}

void
hs_hooks_fire(struct hs_hooks *h, const struct hs_hook_event *e)
{
	struct hs_hook_ev *ev = NULL;
	int ev_err = 0;
	unsigned i;

	if (h == NULL || e == NULL || (unsigned)e->type >= HS_CONF_EV_COUNT ||
	    (e->key == NULL && e->key_len > 0) ||
	    (e->value == NULL && e->value_len > 0) ||
	    (e->payload == NULL && e->payload_len > 0))
		return;
	for (i = 0; i < h->n_hooks; i++) {
		const struct hs_conf_hook *hk = &h->hooks[i];
		struct hs_hook_job *j;

		if ((hk->events & (1u << e->type)) == 0)
			continue;
		if (e->type == HS_CONF_EV_CHANGE &&
		    !prefix_match(hk->prefix, e->key, e->key_len))
			continue;
		HS_COUNTER_INC(h->st.fired);
		/* Built once, on the first match, shared by every run. */
		if (ev == NULL && ev_err == 0)
			ev_err = ev_create(h, e, &ev);
		if (ev_err != 0) {
			drop_run(h, e->type, ev_err);
			continue;
		}
		j = job_create(ev, hk);
		if (j == NULL) {
			drop_run(h, e->type, -ENOMEM);
			continue;
		}
		/* Nothing overtakes a queued run: order of events is kept. */
		if (h->n_running < h->max_running && h->q_len == 0) {
			run_start(h, j);
		} else if (h->q_len < h->max_queued) {
			h->queue[(h->q_head + h->q_len) % h->max_queued] = j;
			gauge_set(&h->q_len, h->q_len + 1);
		} else {
			job_free(j);
			drop_run(h, e->type, -ENOBUFS);
		}
	}
	if (ev != NULL)
		ev_put(ev);
}

void
hs_hooks_poll(struct hs_hooks *h)
{
	uint64_t now;
	unsigned i;

	if (h == NULL ||
	    (h->n_running == 0 && h->q_len == 0 && h->drops_unlogged == 0))
		return;
	now = hs_clock_monotonic(NULL);
	for (i = 0; i < h->max_running && h->n_running > 0; i++) {
		if (h->runs[i].job != NULL)
			run_poll(h, &h->runs[i], now);
	}
	while (h->q_len > 0 && h->n_running < h->max_running) {
		struct hs_hook_job *j = h->queue[h->q_head];

		h->q_head = (h->q_head + 1) % h->max_queued;
		gauge_set(&h->q_len, h->q_len - 1);
		run_start(h, j);
	}
	if (h->drops_unlogged > 0 && now - h->drop_warn_ns >= HOOK_DROP_WARN_NS)
		drop_warn(h, now);
}

int
hs_hooks_reload(struct hs_hooks *h, const struct hs_conf_hook *hooks,
		unsigned n)
{
	int err;

	if (h == NULL)
		return -EINVAL;
	err = hooks_check(hooks, n);
	if (err != 0)
		return err;
	if (n > 0)
		memcpy(h->hooks, hooks, n * sizeof(*hooks));
	HS_LOG(NOTICE, HOOKS_LOG, "%u hook(s), were %u; %u running, %u queued "
	       "go on as fired", n, h->n_hooks, h->n_running, h->q_len);
	h->n_hooks = n;
	return 0;
}

void
hs_hooks_stats(const struct hs_hooks *h, struct hs_hooks_stats *s)
{
	s->fired = HS_COUNTER_READ(h->st.fired);
	s->started = HS_COUNTER_READ(h->st.started);
	s->succeeded = HS_COUNTER_READ(h->st.succeeded);
	s->failed = HS_COUNTER_READ(h->st.failed);
	s->timed_out = HS_COUNTER_READ(h->st.timed_out);
	s->dropped = HS_COUNTER_READ(h->st.dropped);
	s->running = HS_COUNTER_READ(h->n_running);
	s->queued = HS_COUNTER_READ(h->q_len);
}

void
hs_hooks_destroy(struct hs_hooks *h)
{
	unsigned i;

	if (h == NULL)
		return;
	for (i = 0; i < h->max_running; i++) {
		struct hs_hook_run *r = &h->runs[i];
		pid_t ret;

		if (r->job == NULL)
			continue;
		run_kill(r);
		/* SIGKILL cannot be caught: this waits for the kernel to
		 * tear the process down, not for the hook. */
		do {
			ret = waitpid(r->pid, NULL, 0);
		} while (ret < 0 && errno == EINTR);
		HS_LOG(NOTICE, HOOKS_LOG, "hook %s on %s: killed at shutdown",
		       r->job->exec, job_ev_name(r->job));
		if (r->in_fd >= 0)
			close(r->in_fd);
		if (r->out_fd >= 0)
			close(r->out_fd);
		job_free(r->job);
	}
	for (i = 0; i < h->q_len; i++)
		job_free(h->queue[(h->q_head + i) % h->max_queued]);
	free(h->queue);
	free(h->runs);
	free(h->self_name);
	free(h->self_id);
	free(h);
}
