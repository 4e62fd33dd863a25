/*
 * hearsayd event hooks: run an executable when a member joins, is
 * suspected, dies or leaves, when a key changes, or when an event arrives,
 * in the spirit of Serf's event handlers.
 *
 * Design.  Each hook (struct hs_conf_hook, from the configuration) names
 * the events it runs on and, for changes, a key prefix.  hs_hooks_fire()
 * starts one process per matching hook at once when fewer than max_running
 * run, else queues the run (a copy of the event), up to max_queued; beyond
 * that the run is dropped and counted, with at most one WARNING line a
 * second.  A process is started with posix_spawn(3) (glibc clones with
 * CLONE_VM|CLONE_VFORK, so a daemon with gigabytes of hugepages does not
 * copy page tables) as argv = { exec }, in a process group of its own, with
 * every signal at its default and none blocked (whatever the daemon
 * blocks or ignores; glibc leaves its internal signals 32 and 33 ignored),
 * descriptors 3 and up closed, and a clean environment:
 *
 *   PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
 *   HEARSAY_EVENT       join|alive|suspect|dead|leave|change|event
 *   HEARSAY_SELF_ID     HEARSAY_SELF_NAME          (this node)
 *   HEARSAY_NODE_ID     HEARSAY_NODE_NAME    HEARSAY_NODE_ADDRESS
 *                       (the member, the key's owner, the event's origin)
 *   HEARSAY_NODE_STATUS                            (member events)
 *   HEARSAY_KEY  HEARSAY_VERSION  HEARSAY_DELETED  (change; no KEY when
 *                                                   the key holds a NUL)
 *   HEARSAY_EVENT_ORIGIN  HEARSAY_EVENT_SEQ        (event)
 *
 * Ids, versions and sequence numbers are decimal, HEARSAY_DELETED is 1 or
 * 0.  stdin is a pipe carrying, for a member event, one line
 * "NAME\tADDRESS\tSTATUS\tID\n" (Serf's format; control characters in the
 * fields become '?'), for a change the value's bytes, for an event the
 * payload's bytes, then end of file.  stdout and stderr share one pipe that
 * the daemon drains without blocking and logs at INFO ("hook /x/y on dead:
 * <line>"), the first 8 lines of a run, each cut at 200 bytes; the rest is
 * read and counted, never left to fill the pipe.  A run that outlives its
 * hook's timeout_ms (0: no limit) is killed with SIGKILL, with its whole
 * process group; a non-zero exit or a signal is logged at WARNING ("hook
 * /x/y on dead: exit 3").
 *
 * Each fired run ends as exactly one of: dropped, succeeded, failed (a
 * non-zero exit, a signal, or a process that could not be started),
 * timed_out.  fired = dropped + queued + running + succeeded + failed +
 * timed_out at any time.
 *
 * Children are reaped by waitpid(pid, WNOHANG) on each running pid from
 * hs_hooks_poll(): no SIGCHLD handler.  The daemon must therefore not set
 * SIGCHLD to SIG_IGN (the kernel would reap the hooks itself; such a run
 * is counted failed, "reaped elsewhere") nor call waitpid(-1, ...).
 *
 * Threads: control thread only, except hs_hooks_stats() (any thread).
 * Nothing here waits for a hook: fire and poll do a few non-blocking reads
 * and writes and one posix_spawn per run they start (which returns once
 * the child has exec'd), so each returns within about a millisecond per
 * process started.
 */
#ifndef HS_DAEMON_HOOKS_H
#define HS_DAEMON_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_HOOKS_MAX_RUNNING_DEFAULT	8u
#define HS_HOOKS_MAX_QUEUED_DEFAULT	256u
#define HS_HOOKS_MAX_RUNNING_LIMIT	1024u
#define HS_HOOKS_MAX_QUEUED_LIMIT	65536u
/* A run's stdin larger than this is dropped (values and payloads are at
 * most 8 KiB; this only bounds what a queue of copies may hold). */
#define HS_HOOKS_STDIN_MAX_BYTES	(1u << 20)

struct hs_hooks;

struct hs_hooks_params {
	const struct hs_conf_hook *hooks;	/* copied; NULL if n_hooks 0 */
	unsigned n_hooks;			/* <= HS_CONF_HOOKS_MAX */
	const char *self_id;		/* HEARSAY_SELF_ID, decimal; copied */
	const char *self_name;		/* HEARSAY_SELF_NAME; copied */
	unsigned max_running;		/* processes at once; 0: 8 */
	unsigned max_queued;		/* runs waiting; 0: 256 */
};

/*
 * What happened, read only during hs_hooks_fire() (a queued run keeps a
 * copy).  A NULL string leaves its variable out of the environment.
 */
struct hs_hook_event {
	enum hs_conf_event type;
	uint64_t node_id;		/* the member, the key's owner, or the
					 * event's origin */
	const char *node_name;
	const char *node_address;	/* "ip:port" */
	const char *node_status;	/* member events: "alive", "dead", ... */
	/* HS_CONF_EV_CHANGE */
	const void *key;
	size_t key_len;
	const void *value;		/* stdin */
	size_t value_len;
	uint64_t version;
	bool deleted;
	/* HS_CONF_EV_EVENT */
	uint64_t origin_id;
	uint64_t seq;
	const void *payload;		/* stdin */
	size_t payload_len;
};

struct hs_hooks_stats {
	uint64_t fired;		/* runs asked for: (event, matching hook) */
	uint64_t started;	/* processes started */
	uint64_t succeeded;	/* exit 0 */
	uint64_t failed;	/* exit != 0, a signal, or could not start */
	uint64_t timed_out;	/* killed after timeout_ms */
	uint64_t dropped;	/* queue full (or out of memory) */
	uint32_t running;	/* now */
	uint32_t queued;	/* now */
};

/*
 * Make the hook runner.  Refuses (-EINVAL) NULL p, out, self_id or
 * self_name, more than HS_CONF_HOOKS_MAX hooks, a hook whose exec is not
 * an absolute, NUL-terminated path or whose events name no known event,
 * max_running above HS_HOOKS_MAX_RUNNING_LIMIT, max_queued above
 * HS_HOOKS_MAX_QUEUED_LIMIT.  Returns 0 with *out set, -EINVAL, or
 * -ENOMEM.  Control thread only.
 */
int hs_hooks_create(const struct hs_hooks_params *p, struct hs_hooks **out);

/*
 * An event happened: for each hook whose events include e->type (and, for
 * a change, whose prefix starts the key), start its executable now if
 * fewer than max_running run and nothing waits, else queue a copy, else
 * drop it (counted; one WARNING a second at most).  A run that cannot be
 * started is logged and counted failed.  An unknown type, or a NULL
 * key, value or payload with a non-zero length, is ignored.  Never waits
 * for a hook.  Control thread only.
 */
void hs_hooks_fire(struct hs_hooks *h, const struct hs_hook_event *e);

/*
 * Call at least every 100 ms: writes the rest of stdin that did not fit the
 * pipe, logs the hooks' output, reaps finished runs (a non-zero exit or a
 * signal logged at WARNING), kills (SIGKILL, the whole process group) and
 * logs runs past their timeout, starts queued runs in the order they were
 * fired, and logs drops not yet reported.  Never blocks.  Control thread
 * only.
 */
void hs_hooks_poll(struct hs_hooks *h);

/*
 * Replace the hooks (SIGHUP).  Running and queued runs go on with the hook
 * as it was when they were fired; later events see the new list.  Refuses
 * what hs_hooks_create refuses (-EINVAL), keeping the old list.  Returns 0
 * or -EINVAL.  Control thread only.
 */
int hs_hooks_reload(struct hs_hooks *h, const struct hs_conf_hook *hooks,
		    unsigned n);

/* Counters since create (running and queued: now).  Any thread (the
 * control API's): each value is read atomically, but the set is not one
 * snapshot, so from another thread the identity "fired = dropped + ..."
 * may be off by the runs of a call in flight.  Not concurrently with
 * hs_hooks_destroy(). */
void hs_hooks_stats(const struct hs_hooks *h, struct hs_hooks_stats *s);

/*
 * Kill (SIGKILL, with their process groups) and reap the running hooks,
 * drop the queued runs, free everything.  Waits only for killed processes
 * to die.  NULL is a no-op.  Control thread only.
 */
void hs_hooks_destroy(struct hs_hooks *h);

#ifdef __cplusplus
}
#endif

#endif /* HS_DAEMON_HOOKS_H */
