/*
 * hearsay worker.  See worker.h.
 *
 * Calls from the control side go through liburcu's wait-free concurrent
 * queue (cds_wfcq): enqueueing never blocks the worker, and the worker
 * splices the whole queue at once after a pass.  Each call carries its own
 * mutex and condition variable on the caller's stack: only the caller
 * waits on them, and the worker only signals.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/wfcqueue.h>

#include "engine/util.h"
#include "engine/worker.h"

struct hs_worker_call {
	struct cds_wfcq_node qn;
	void (*fn)(void *arg);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* A node (its rounds and primary queue) or a lane (another queue). */
struct hs_worker_item {
	struct hs_node *node;
	struct hs_lane *lane;
	int fd;
	bool hot;			/* adaptive: poll it next pass */
	uint64_t polled_at;
};

struct hs_worker {
	struct hs_worker_params p;
	pthread_t thread;
	bool running;			/* control side's view */
	int stop;			/* atomic */
	int efd;			/* eventfd: wakes a sleeping worker */
	struct cds_wfcq_head qh;
	struct cds_wfcq_tail qt;
	struct hs_worker_item *items;	/* nodes and lanes it drives */
	unsigned n_items;
	int sleeping;			/* atomic: in epoll_wait(2) */
	int poked;			/* atomic: hs_worker_wake since the
					 * last pass */
	int epfd;			/* the items' descriptors and efd;
					 * an event's u32 is the item's index
					 * (UINT32_MAX: efd) */
	struct epoll_event *ev;		/* HS_WORKER_EVENTS */
	struct hs_worker_stats st;	/* worker writes, relaxed */
};

static uint64_t
hs_worker_clock(void)
{
	return hs_clock_monotonic(NULL);
}

/* Run every call queued now; returns how many ran. */
static unsigned
hs_worker_run_calls(struct hs_worker *w)
{
	struct cds_wfcq_head qh;
	struct cds_wfcq_tail qt;
	struct cds_wfcq_node *qn, *next;
	unsigned ran = 0;

	if (cds_wfcq_empty(&w->qh, &w->qt))
		return 0;
	cds_wfcq_init(&qh, &qt);
	if (__cds_wfcq_splice_blocking(&qh, &qt, &w->qh, &w->qt) ==
	    CDS_WFCQ_RET_SRC_EMPTY)
		return 0;
	__cds_wfcq_for_each_blocking_safe(&qh, &qt, qn, next) {
		struct hs_worker_call *c =
			caa_container_of(qn, struct hs_worker_call, qn);

		c->fn(c->arg);
		ran++;
		HS_COUNTER_INC(w->st.calls);
		pthread_mutex_lock(&c->mu);
		c->done = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	cds_wfcq_destroy(&qh, &qt);
	return ran;
}

#define HS_WORKER_EVENTS	256

/*
 * Adaptive: wait up to ms (0: not at all) for an item's descriptor or the
 * eventfd, and mark the items with something to read.  Level-triggered:
 * an item left with frames after its burst is reported again.  One system
 * call that costs what is ready, instead of a receive call per item: with
 * 64 nodes a worker, the empty receive calls were 40 % of an idle
 * cluster's CPU (hearsay-bench -n 128, perf), and a poll(2) over every
 * descriptor after each busy pass a fifth of what was left.
 */
static void
hs_worker_ready(struct hs_worker *w, int ms)
{
	uint64_t v;
	int k, i;

	k = epoll_wait(w->epfd, w->ev, HS_WORKER_EVENTS, ms);
	for (i = 0; i < k; i++) {
		uint32_t at = w->ev[i].data.u32;

		if (at == UINT32_MAX)
			(void)!read(w->efd, &v, sizeof(v));
		else if (at < w->n_items)
			w->items[at].hot = true;
	}
}

/*
 * Which items a pass polls.  Busy: every one.  Adaptive: those with
 * something to read (epoll said so), those without a descriptor, nodes
 * whose round is due, every item after a wake (a call, frames handed over
 * by another lane) and each at least every max_sleep_ns.
 */
static bool
hs_worker_item_due(const struct hs_worker *w, const struct hs_worker_item *it,
		   uint64_t now, bool all)
{
	return all || it->fd < 0 || it->hot ||
	       now - it->polled_at >= w->p.max_sleep_ns ||
	       (it->node != NULL && hs_node_next_round(it->node) <= now);
}

/* Adaptive: sleep in epoll_wait(2) on the items' descriptors and the
 * eventfd, until a datagram, a call, or the next round. */
static void
hs_worker_sleep(struct hs_worker *w, uint64_t now)
{
	uint64_t next = now + w->p.max_sleep_ns;
	unsigned i;
	int ms;

	for (i = 0; i < w->n_items; i++) {
		const struct hs_worker_item *it = &w->items[i];

		if (it->node != NULL) {
			uint64_t due = hs_node_next_round(it->node);

			if (due < next)
				next = due;
		}
		if (it->fd < 0 && now + w->p.nofd_sleep_ns < next)
			next = now + w->p.nofd_sleep_ns;
	}
	if (next <= now)
		return;
	/* round up: waking a little late costs less than spinning */
	ms = (int)((next - now + 999999) / 1000000);
	HS_COUNTER_INC(w->st.sleeps);
	urcu_qsbr_thread_offline();
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	hs_worker_ready(w, ms);
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	urcu_qsbr_thread_online();
}

static void *
hs_worker_main(void *arg)
{
	struct hs_worker *w = arg;
	uint64_t last = hs_worker_clock(), idle_since = last;
	bool slept = false, all;

	urcu_qsbr_register_thread();
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = hs_worker_clock(), lag = now - last;
		unsigned i;
		int work = 0;

		if (lag > HS_COUNTER_READ(w->st.lag_max_ns))
			__atomic_store_n(&w->st.lag_max_ns, lag,
					 __ATOMIC_RELAXED);
		if (!slept && lag > HS_COUNTER_READ(w->st.lag_awake_max_ns))
			__atomic_store_n(&w->st.lag_awake_max_ns, lag,
					 __ATOMIC_RELAXED);
		last = now;
		slept = false;
		all = w->p.mode != HS_POLL_ADAPTIVE ||
		      __atomic_exchange_n(&w->poked, 0, __ATOMIC_ACQ_REL);
		for (i = 0; i < w->n_items; i++) {
			struct hs_worker_item *it = &w->items[i];
			int k;

			if (!hs_worker_item_due(w, it, now, all))
				continue;
			k = it->node != NULL ? hs_node_poll(it->node) :
					       hs_lane_poll(it->lane);
			it->hot = false;
			it->polled_at = now;
			work += k;
		}
		/* a call (an API write, say) may leave a node work that only
		 * its poll does: the next pass polls every item */
		if (hs_worker_run_calls(w) > 0) {
			__atomic_store_n(&w->poked, 1, __ATOMIC_RELAXED);
			work++;
		}
		urcu_qsbr_quiescent_state();
		HS_COUNTER_INC(w->st.loops);
		if (work > 0) {
			HS_COUNTER_INC(w->st.busy_loops);
			idle_since = now;
			if (w->p.mode == HS_POLL_ADAPTIVE)
				hs_worker_ready(w, 0);
			continue;
		}
		if (w->p.mode == HS_POLL_ADAPTIVE &&
		    now - idle_since >= w->p.idle_ns) {
			hs_worker_sleep(w, now);
			slept = true;
		}
	}
	/* the last calls (a stop races with them) still run */
	hs_worker_run_calls(w);
	urcu_qsbr_unregister_thread();
	return NULL;
}

int
hs_worker_create(const struct hs_worker_params *params,
		 struct hs_worker **out)
{
	struct hs_worker *w;

	if (params == NULL || out == NULL ||
	    params->mode > HS_POLL_ADAPTIVE)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->p = *params;
	cds_wfcq_init(&w->qh, &w->qt);
	if (w->p.idle_ns == 0)
		w->p.idle_ns = 20000;
	if (w->p.max_sleep_ns == 0)
		w->p.max_sleep_ns = 10000000;
	if (w->p.nofd_sleep_ns == 0)
		w->p.nofd_sleep_ns = 1000000;
	w->items = calloc(HS_WORKER_NODES_MAX, sizeof(*w->items));
	w->ev = calloc(HS_WORKER_EVENTS, sizeof(*w->ev));
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->items == NULL || w->ev == NULL || w->efd < 0 || w->epfd < 0) {
		int rc = w->efd < 0 || w->epfd < 0 ? -errno : -ENOMEM;

		hs_worker_destroy(w);
		return rc;
	}
	{
		struct epoll_event e = { .events = EPOLLIN,
					 .data.u32 = UINT32_MAX };

		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &e) != 0) {
			int rc = -errno;

			hs_worker_destroy(w);
			return rc;
		}
	}
	*out = w;
	return 0;
}

int
hs_worker_start(struct hs_worker *w)
{
	int rc;

	if (w->running)
		return -EALREADY;
	__atomic_store_n(&w->stop, 0, __ATOMIC_RELEASE);
	rc = pthread_create(&w->thread, NULL, hs_worker_main, w);
	if (rc != 0)
		return -rc;
	w->running = true;
	if (w->p.name != NULL) {
		char name[16];

		strncpy(name, w->p.name, sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		pthread_setname_np(w->thread, name);
	}
	if (w->p.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->p.cpu, &set);
		rc = pthread_setaffinity_np(w->thread, sizeof(set), &set);
		if (rc != 0) {
			hs_worker_stop(w);
			return -rc;
		}
	}
	return 0;
}

int
hs_worker_call(struct hs_worker *w, void (*fn)(void *arg), void *arg)
{
	struct hs_worker_call c = { .fn = fn, .arg = arg };
	uint64_t one = 1;

	if (!w->running)
		return -ESRCH;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	cds_wfcq_node_init(&c.qn);
	cds_wfcq_enqueue(&w->qh, &w->qt, &c.qn);
	(void)!write(w->efd, &one, sizeof(one));
	pthread_mutex_lock(&c.mu);
	while (!c.done)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
	return 0;
}

static int
hs_worker_add_item(struct hs_worker *w, struct hs_node *n, struct hs_lane *l,
		   int fd)
{
	unsigned i;

	for (i = 0; i < w->n_items; i++)
		if ((n != NULL && w->items[i].node == n) ||
		    (l != NULL && w->items[i].lane == l))
			return -EEXIST;
	if (w->n_items == HS_WORKER_NODES_MAX)
		return -ENOSPC;
	if (fd >= 0) {
		struct epoll_event e = { .events = EPOLLIN,
					 .data.u32 = w->n_items };

		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) != 0)
			return -errno;
	}
	w->items[w->n_items++] = (struct hs_worker_item){ .node = n,
							  .lane = l,
							  .fd = fd,
							  .hot = true };
	return 0;
}

static int
hs_worker_remove_item(struct hs_worker *w, const struct hs_node *n,
		      const struct hs_lane *l)
{
	unsigned i;

	for (i = 0; i < w->n_items; i++)
		if ((n != NULL && w->items[i].node == n) ||
		    (l != NULL && w->items[i].lane == l)) {
			if (w->items[i].fd >= 0)
				(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL,
						w->items[i].fd, NULL);
			w->items[i] = w->items[--w->n_items];
			if (i < w->n_items && w->items[i].fd >= 0) {
				/* the last item moved to i */
				struct epoll_event e = { .events = EPOLLIN,
							 .data.u32 = i };

				(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD,
						w->items[i].fd, &e);
			}
			return 0;
		}
	return -ENOENT;
}

int
hs_worker_add(struct hs_worker *w, struct hs_node *n, int fd)
{
	return n == NULL ? -EINVAL : hs_worker_add_item(w, n, NULL, fd);
}

int
hs_worker_remove(struct hs_worker *w, struct hs_node *n)
{
	return n == NULL ? -EINVAL : hs_worker_remove_item(w, n, NULL);
}

int
hs_worker_add_lane(struct hs_worker *w, struct hs_lane *l, int fd)
{
	return l == NULL ? -EINVAL : hs_worker_add_item(w, NULL, l, fd);
}

int
hs_worker_remove_lane(struct hs_worker *w, struct hs_lane *l)
{
	return l == NULL ? -EINVAL : hs_worker_remove_item(w, NULL, l);
}

void
hs_worker_wake(void *arg)
{
	struct hs_worker *w = arg;
	uint64_t one = 1;

	__atomic_store_n(&w->poked, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST))
		(void)!write(w->efd, &one, sizeof(one));
}

void
hs_worker_stop(struct hs_worker *w)
{
	uint64_t one = 1;

	if (w == NULL || !w->running)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	(void)!write(w->efd, &one, sizeof(one));
	pthread_join(w->thread, NULL);
	w->running = false;
}

void
hs_worker_destroy(struct hs_worker *w)
{
	if (w == NULL)
		return;
	hs_worker_stop(w);
	if (w->efd >= 0)
		close(w->efd);
	if (w->epfd >= 0)
		close(w->epfd);
	cds_wfcq_destroy(&w->qh, &w->qt);
	free(w->items);
	free(w->ev);
	free(w);
}

void
hs_worker_stats(const struct hs_worker *w, struct hs_worker_stats *s)
{
	s->loops = HS_COUNTER_READ(w->st.loops);
	s->busy_loops = HS_COUNTER_READ(w->st.busy_loops);
	s->sleeps = HS_COUNTER_READ(w->st.sleeps);
	s->calls = HS_COUNTER_READ(w->st.calls);
	s->lag_max_ns = HS_COUNTER_READ(w->st.lag_max_ns);
	s->lag_awake_max_ns = HS_COUNTER_READ(w->st.lag_awake_max_ns);
}
