/*
 * hearsay worker: one thread, pinned or not, that drives a set of nodes
 * (engine/node.h) and lanes (a node's other receive queues): it polls them, announces a quiescent state once per
 * loop, and runs on its own thread whatever the control side asks of
 * those nodes (hs_worker_call): a node is used by one thread only, so
 * creating it, writing its keys, reading its members and destroying it
 * all happen here, between two polls.
 *
 * Two poll modes (DESIGN.md section 4):
 *   busy      the production mode on a dedicated core: poll, poll, poll;
 *   adaptive  for VMs, CI and many nodes per machine: after idle_ns with
 *             nothing to do, go QSBR-offline and sleep in poll(2) on the
 *             nodes' file descriptors (a datagram wakes it) until the
 *             next round is due, at most max_sleep_ns.
 *
 * Nodes are created inside calls (the node's table binds its context to
 * the calling thread); give them a call_rcu thread created on the control
 * side (params.table.crdp), so that it does not inherit the worker's CPU
 * pinning.
 *
 * QSBR: the thread registers before its first poll, goes offline before
 * every sleep and unregisters before its function returns (the liburcu
 * rules this project lives by).  A call from the control side wakes a
 * sleeping worker through an eventfd.
 *
 * Counters are written by the worker with relaxed atomic stores and read
 * by anyone (hs_worker_stats): no lock on the hot path.
 */
#ifndef HS_WORKER_H
#define HS_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/node.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hs_poll_mode {
	HS_POLL_BUSY = 0,
	HS_POLL_ADAPTIVE = 1,
};

#define HS_WORKER_NODES_MAX	4096

struct hs_worker_params {
	int cpu;			/* pin to this CPU; -1: not pinned */
	uint8_t mode;			/* enum hs_poll_mode */
	uint64_t idle_ns;		/* adaptive: idle this long, then
					 * sleep; default 20 us (200 us
					 * spun after every frame cost an
					 * idle daemon 10 % of a core at 10
					 * ms rounds, 20 us 1.9 %, none
					 * 1.8 %) */
	uint64_t max_sleep_ns;		/* adaptive: longest sleep; default
					 * 10 ms */
	uint64_t nofd_sleep_ns;		/* adaptive, with a node or lane that
					 * has no descriptor to wake on (a
					 * DPDK queue): longest sleep;
					 * default 1 ms */
	const char *name;		/* thread name (15 chars), optional */
};

struct hs_worker_stats {
	uint64_t loops;			/* poll passes over every node */
	uint64_t busy_loops;		/* passes that found work */
	uint64_t sleeps;		/* adaptive: times it slept */
	uint64_t calls;			/* control-side calls run */
	uint64_t lag_max_ns;		/* longest gap between two passes
					 * (a stall of ours, or a sleep) */
	uint64_t lag_awake_max_ns;	/* the same, sleeps left out */
};

struct hs_worker;

/* Returns 0, -EINVAL, -ENOMEM or the errno of eventfd(2).  Control
 * thread. */
int hs_worker_create(const struct hs_worker_params *p, struct hs_worker **out);

/* Start the thread.  Returns 0 or the error of pthread_create /
 * pthread_setaffinity_np (as a negative errno). */
int hs_worker_start(struct hs_worker *w);

/*
 * Run fn(arg) on the worker's thread, between two polls, and wait for it
 * (the caller is the control side; it may block, the worker never does).
 * Returns 0, or -ESRCH when the worker is not running.  Not concurrently
 * with hs_worker_stop (a call queued after the worker's last pass would
 * wait forever): the control side stops a worker once its calls are done.
 */
int hs_worker_call(struct hs_worker *w, void (*fn)(void *arg), void *arg);

/*
 * From the worker's thread (inside a call): drive node n from now on,
 * and wake on fd (-1: none) when adaptive.  Returns 0, -ENOSPC or
 * -EEXIST.  hs_worker_remove stops driving it (the caller then destroys
 * it, still inside the call).
 */
int hs_worker_add(struct hs_worker *w, struct hs_node *n, int fd);
int hs_worker_remove(struct hs_worker *w, struct hs_node *n);

/* The same for a node's other receive queue (node.h: lanes), opened in
 * the same call with hs_lane_open. */
int hs_worker_add_lane(struct hs_worker *w, struct hs_lane *l, int fd);
int hs_worker_remove_lane(struct hs_worker *w, struct hs_lane *l);

/*
 * Wake w if it sleeps (adaptive): one eventfd write then, nothing when
 * awake.  Any thread; arg is the worker, so that it fits
 * hs_node_set_wake: a lane that handed its primary something wakes the
 * primary's worker.  A wake racing with the worker falling asleep can be
 * missed; the worker then looks at most at its next round.
 */
void hs_worker_wake(void *arg);

/* Stop the thread and wait for it; the nodes it drove stay (destroy them
 * with calls before stopping).  Control thread. */
void hs_worker_stop(struct hs_worker *w);
void hs_worker_destroy(struct hs_worker *w);

void hs_worker_stats(const struct hs_worker *w, struct hs_worker_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_WORKER_H */
