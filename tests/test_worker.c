/*
 * engine/worker: a thread that drives nodes and runs the control side's
 * calls between polls.  Real threads, real time: waits are for outcomes
 * (a converged cluster, every call done) with a generous deadline.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "drivers/udp.h"
#include "engine/hearsay.h"
#include "engine/util.h"
#include "engine/worker.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

#define DEADLINE_NS	(20ull * 1000000000ull)

/* ---- calls ---- */

struct counter {
	pthread_t expect;
	unsigned n;
	unsigned wrong_thread;
};

static void
count_call(void *arg)
{
	struct counter *c = arg;

	c->n++;		/* only the worker runs calls: no race */
	c->wrong_thread += !pthread_equal(pthread_self(), c->expect);
}

struct caller {
	struct hs_worker *w;
	struct counter *c;
	unsigned calls;
};

static void *
caller_main(void *arg)
{
	struct caller *k = arg;
	unsigned i;

	for (i = 0; i < k->calls; i++)
		assert_int_equal(hs_worker_call(k->w, count_call, k->c), 0);
	return NULL;
}

static void
note_thread(void *arg)
{
	*(pthread_t *)arg = pthread_self();
}

/* Calls from two control threads at once all run, once each, on the
 * worker's thread; a stopped worker refuses calls. */
static void
test_calls(void **state)
{
	struct hs_worker_params p = { .cpu = -1, .mode = HS_POLL_ADAPTIVE,
				      .name = "hs-test" };
	struct hs_worker *w;
	struct counter c = { 0 };
	struct caller k = { .calls = 2000 };
	struct hs_worker_stats st;
	pthread_t t[2];

	(void)state;
	assert_int_equal(hs_worker_create(&p, &w), 0);
	assert_int_equal(hs_worker_call(w, count_call, &c), -ESRCH);
	assert_int_equal(hs_worker_start(w), 0);
	assert_int_equal(hs_worker_call(w, note_thread, &c.expect), 0);
	k.w = w;
	k.c = &c;
	assert_int_equal(pthread_create(&t[0], NULL, caller_main, &k), 0);
	assert_int_equal(pthread_create(&t[1], NULL, caller_main, &k), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(c.n, 4000);
	assert_int_equal(c.wrong_thread, 0);
	hs_worker_stats(w, &st);
	assert_int_equal(st.calls, 4001);
	/* idle and adaptive: it slept rather than spun */
	assert_true(st.sleeps > 0);
	hs_worker_stop(w);
	assert_int_equal(hs_worker_call(w, count_call, &c), -ESRCH);
	hs_worker_destroy(w);
}

/* ---- three nodes on one adaptive worker, over UDP ---- */

enum { N = 3 };

struct cl {
	struct hs_worker *w;
	struct call_rcu_data *crdp;
	struct hs_pktio *io[N];
	struct hs_node *nd[N];
	struct hs_addr seed;
	unsigned i;		/* the node a call is about */
	bool converged;
};

static void
node_up(void *arg)
{
	struct cl *cl = arg;
	struct hs_node_params p = { 0 };
	char name[16], key[16];
	unsigned i = cl->i;

	snprintf(name, sizeof(name), "w-%u", i);
	p.id = 20 + i;
	p.generation = 1;
	p.name = name;
	p.cluster_id = 9;
	p.seeds = &cl->seed;
	p.n_seeds = 1;
	p.rng_seed = test_seed + i;
	p.io = cl->io[i];
	p.notify_bytes = 64 * 1024;
	p.table.crdp = cl->crdp;	/* made on the control side */
	assert_int_equal(hs_node_create(&p, &cl->nd[i]), 0);
	snprintf(key, sizeof(key), "k%u", i);
	assert_true(hs_put(cl->nd[i], key, strlen(key), name,
			   strlen(name)) > 0);
	assert_int_equal(hs_worker_add(cl->w, cl->nd[i],
				       hs_udp_fd(cl->io[i])), 0);
	assert_int_equal(hs_worker_add(cl->w, cl->nd[i], -1), -EEXIST);
}

static void
node_down(void *arg)
{
	struct cl *cl = arg;

	assert_int_equal(hs_worker_remove(cl->w, cl->nd[cl->i]), 0);
	hs_node_destroy(cl->nd[cl->i]);
	cl->nd[cl->i] = NULL;
}

static void
check(void *arg)
{
	struct cl *cl = arg;
	unsigned i, j;

	cl->converged = true;
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++) {
			struct hs_member_info mi;
			struct hs_table_kv kv;
			char key[16];

			snprintf(key, sizeof(key), "k%u", j);
			if (hs_get(cl->nd[i], 20 + j, key, strlen(key),
				   &kv) != 0 ||
			    hs_member(cl->nd[i], 20 + j, &mi) != 0 ||
			    mi.status != HS_WIRE_ST_ALIVE)
				cl->converged = false;
		}
}

static void
test_nodes_on_a_worker(void **state)
{
	struct hs_worker_params p = { .cpu = -1, .mode = HS_POLL_ADAPTIVE };
	struct hs_worker_stats st;
	struct cl cl = { 0 };
	uint64_t end;
	unsigned i;

	(void)state;
	cl.crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	assert_non_null(cl.crdp);
	for (i = 0; i < N; i++) {
		struct hs_udp_params up = {
			.local = hs_addr_v4(127, 0, 0, 1, 0) };

		assert_int_equal(hs_udp_open(&up, &cl.io[i]), 0);
	}
	cl.seed = cl.io[0]->local;
	assert_int_equal(hs_worker_create(&p, &cl.w), 0);
	assert_int_equal(hs_worker_start(cl.w), 0);
	for (i = 0; i < N; i++) {
		cl.i = i;
		assert_int_equal(hs_worker_call(cl.w, node_up, &cl), 0);
	}
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	while (!cl.converged && hs_clock_monotonic(NULL) < end) {
		struct timespec ts = { 0, 5000000 };

		assert_int_equal(hs_worker_call(cl.w, check, &cl), 0);
		if (!cl.converged)
			nanosleep(&ts, NULL);	/* the control side may */
	}
	assert_true(cl.converged);
	hs_worker_stats(cl.w, &st);
	printf("# 3 nodes on one adaptive worker: %" PRIu64 " passes, %"
	       PRIu64 " with work, %" PRIu64 " sleeps, longest awake gap %"
	       PRIu64 " us\n", st.loops, st.busy_loops, st.sleeps,
	       st.lag_awake_max_ns / 1000);
	assert_true(st.busy_loops > 0);
	for (i = 0; i < N; i++) {
		cl.i = i;
		assert_int_equal(hs_worker_call(cl.w, node_down, &cl), 0);
		hs_pktio_close(cl.io[i]);
	}
	hs_worker_destroy(cl.w);
	urcu_qsbr_barrier();
	urcu_qsbr_call_rcu_data_free(cl.crdp);
}

/* ---- one node on two queues (lanes), each on its own worker ---- */

enum { PEERS = 12, KEYS = 4 };

struct ln {
	struct hs_worker *w[3];		/* primary, lane 1, the peers */
	struct call_rcu_data *crdp;
	struct hs_pktio *io[2];		/* the node's two queues */
	struct hs_pktio *pio[PEERS];
	struct hs_node *a;
	struct hs_lane *lane;
	struct hs_node *peer[PEERS];
	unsigned i;
	bool converged;
	uint64_t versions;		/* sum of every owner's watermark */
	struct hs_table_stats ts;
};

static void
ln_node_up(void *arg)
{
	struct ln *ln = arg;
	struct hs_node_params p = { 0 };
	struct hs_addr seed = ln->io[0]->local;

	p.id = 100;
	p.generation = 1;
	p.name = "two-lanes";
	p.cluster_id = 11;
	p.rng_seed = test_seed;
	p.io = ln->io[0];
	p.n_lanes = 2;
	p.notify_bytes = 64 * 1024;
	p.table.crdp = ln->crdp;
	(void)seed;
	assert_int_equal(hs_node_create(&p, &ln->a), 0);
	hs_node_set_wake(ln->a, hs_worker_wake, ln->w[0]);
	assert_true(hs_put(ln->a, "a", 1, "x", 1) > 0);
	assert_int_equal(hs_worker_add(ln->w[0], ln->a, hs_udp_fd(ln->io[0])),
			 0);
}

static void
ln_lane_up(void *arg)
{
	struct ln *ln = arg;

	assert_int_equal(hs_lane_open(ln->a, 0, ln->io[1], &ln->lane),
			 -EINVAL);
	assert_int_equal(hs_lane_open(ln->a, 1, ln->io[1], &ln->lane), 0);
	assert_int_equal(hs_lane_open(ln->a, 1, ln->io[1], &ln->lane),
			 -EEXIST);
	assert_int_equal(hs_worker_add_lane(ln->w[1], ln->lane,
					    hs_udp_fd(ln->io[1])), 0);
}

static void
ln_peer_up(void *arg)
{
	struct ln *ln = arg;
	struct hs_node_params p = { 0 };
	struct hs_addr seed = ln->io[0]->local;
	unsigned i = ln->i, k;

	p.id = 200 + i;
	p.generation = 1;
	p.cluster_id = 11;
	p.seeds = &seed;
	p.n_seeds = 1;
	p.rng_seed = test_seed + 1 + i;
	p.io = ln->pio[i];
	p.notify_bytes = 64 * 1024;
	p.table.crdp = ln->crdp;
	assert_int_equal(hs_node_create(&p, &ln->peer[i]), 0);
	/* each key written once: every version is an entry of its own */
	for (k = 0; k < KEYS; k++) {
		char key[16];

		snprintf(key, sizeof(key), "k%u", k);
		assert_true(hs_put(ln->peer[i], key, strlen(key), "v", 1) > 0);
	}
	assert_int_equal(hs_worker_add(ln->w[2], ln->peer[i],
				       hs_udp_fd(ln->pio[i])), 0);
}

/* On the primary's worker: does the node hold every peer's keys and see
 * it alive, and the count of entries it installed against the versions
 * that exist. */
static void
ln_check(void *arg)
{
	struct ln *ln = arg;
	struct hs_table_node tn;
	unsigned i, k;

	ln->converged = true;
	ln->versions = 0;
	for (i = 0; i < PEERS && ln->converged; i++) {
		struct hs_member_info mi;

		for (k = 0; k < KEYS && ln->converged; k++) {
			struct hs_table_kv kv;
			char key[16];

			snprintf(key, sizeof(key), "k%u", k);
			ln->converged = hs_get(ln->a, 200 + i, key,
					       strlen(key), &kv) == 0;
		}
		if (ln->converged)
			ln->converged = hs_member(ln->a, 200 + i, &mi) == 0 &&
					mi.status == HS_WIRE_ST_ALIVE;
	}
	for (i = 0; i < PEERS; i++)
		if (hs_table_node_get(hs_node_table_ctx(ln->a), 200 + i,
				      &tn) == 0)
			ln->versions += tn.max_version;
	if (hs_table_node_get(hs_node_table_ctx(ln->a), 100, &tn) == 0)
		ln->versions += tn.max_version;
	hs_table_stats(hs_node_table(ln->a), &ln->ts);
}

/* Every peer holds the node's key. */
static void
ln_check_peers(void *arg)
{
	struct ln *ln = arg;
	unsigned i;

	for (i = 0; i < PEERS && ln->converged; i++) {
		struct hs_table_kv kv;

		ln->converged = hs_get(ln->peer[i], 100, "a", 1, &kv) == 0;
	}
}

static void
ln_lane_down(void *arg)
{
	struct ln *ln = arg;

	assert_int_equal(hs_worker_remove_lane(ln->w[1], ln->lane), 0);
	hs_lane_close(ln->lane);
}

static void
ln_node_down(void *arg)
{
	struct ln *ln = arg;

	assert_int_equal(hs_worker_remove(ln->w[0], ln->a), 0);
	hs_node_destroy(ln->a);
}

static void
ln_peer_down(void *arg)
{
	struct ln *ln = arg;

	assert_int_equal(hs_worker_remove(ln->w[2], ln->peer[ln->i]), 0);
	hs_node_destroy(ln->peer[ln->i]);
}

/*
 * A node receiving on two SO_REUSEPORT sockets, lane 0 on one worker and
 * lane 1 on another, with 12 peers: the peers' frames spread over both
 * queues, the node converges, and it installed exactly as many entries as
 * there are versions (each key was written once, so each version must be
 * installed once: none twice, none lost).
 */
static void
test_two_lanes(void **state)
{
	struct hs_worker_params wp = { .cpu = -1, .mode = HS_POLL_ADAPTIVE };
	struct hs_lane_stats ls[2];
	struct ln ln = { 0 };
	uint64_t end;
	unsigned i;

	(void)state;
	ln.crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	assert_non_null(ln.crdp);
	for (i = 0; i < 2; i++) {
		struct hs_udp_params up = {
			.local = hs_addr_v4(127, 0, 0, 1,
					    i ? ln.io[0]->local.port : 0),
			.reuseport = true };

		assert_int_equal(hs_udp_open(&up, &ln.io[i]), 0);
	}
	for (i = 0; i < PEERS; i++) {
		struct hs_udp_params up = {
			.local = hs_addr_v4(127, 0, 0, 1, 0) };

		assert_int_equal(hs_udp_open(&up, &ln.pio[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(hs_worker_create(&wp, &ln.w[i]), 0);
		assert_int_equal(hs_worker_start(ln.w[i]), 0);
	}
	assert_int_equal(hs_worker_call(ln.w[0], ln_node_up, &ln), 0);
	assert_int_equal(hs_worker_call(ln.w[1], ln_lane_up, &ln), 0);
	for (i = 0; i < PEERS; i++) {
		ln.i = i;
		assert_int_equal(hs_worker_call(ln.w[2], ln_peer_up, &ln), 0);
	}
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	do {
		struct timespec ts = { 0, 5000000 };

		nanosleep(&ts, NULL);	/* the control side may */
		assert_int_equal(hs_worker_call(ln.w[0], ln_check, &ln), 0);
		if (ln.converged)
			assert_int_equal(hs_worker_call(ln.w[2],
							ln_check_peers, &ln),
					 0);
	} while (!ln.converged && hs_clock_monotonic(NULL) < end);
	assert_true(ln.converged);
	for (i = 0; i < 2; i++) {
		hs_node_lane_stats(ln.a, i, &ls[i]);
		printf("# lane %u: %" PRIu64 " frames in, %" PRIu64 " out, %"
		       PRIu64 " entries installed, %" PRIu64 " frames and %"
		       PRIu64 " entries handed over, %" PRIu64 " dropped\n",
		       i, ls[i].rx_frames, ls[i].tx_frames, ls[i].merged,
		       ls[i].fwd_frames, ls[i].fwd_changes,
		       ls[i].fwd_dropped);
	}
	printf("# entries installed %" PRIu64 " (merged) + %" PRIu64
	       " (written), versions %" PRIu64 "\n", ln.ts.merged,
	       ln.ts.local_writes, ln.versions);
	/* 12 peers hashed over 2 sockets: both get frames (all on one:
	 * 2^-11) */
	assert_true(ls[0].rx_frames > 0 && ls[1].rx_frames > 0);
	assert_true(ls[1].tx_frames > 0);	/* it answered there */
	assert_true(ls[1].merged > 0);
	assert_int_equal(ls[1].fwd_changes, ls[1].merged);
	assert_int_equal(ls[1].fwd_dropped, 0);
	/* each version installed once: none twice, none lost */
	assert_int_equal(ln.ts.merged + ln.ts.local_writes, ln.versions);
	assert_int_equal(ln.versions, 2 + PEERS * (KEYS + 1));
	assert_int_equal(hs_worker_call(ln.w[1], ln_lane_down, &ln), 0);
	for (i = 0; i < PEERS; i++) {
		ln.i = i;
		assert_int_equal(hs_worker_call(ln.w[2], ln_peer_down, &ln),
				 0);
	}
	assert_int_equal(hs_worker_call(ln.w[0], ln_node_down, &ln), 0);
	for (i = 0; i < 3; i++)
		hs_worker_destroy(ln.w[i]);
	for (i = 0; i < 2; i++)
		hs_pktio_close(ln.io[i]);
	for (i = 0; i < PEERS; i++)
		hs_pktio_close(ln.pio[i]);
	urcu_qsbr_barrier();
	urcu_qsbr_call_rcu_data_free(ln.crdp);
}

/* A busy worker never sleeps. */
static void
test_busy(void **state)
{
	struct hs_worker_params p = { .cpu = 0, .mode = HS_POLL_BUSY };
	struct hs_worker_stats st;
	struct hs_worker *w;
	struct counter c = { 0 };
	unsigned i;

	(void)state;
	assert_int_equal(hs_worker_create(&p, &w), 0);
	assert_int_equal(hs_worker_start(w), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(hs_worker_call(w, count_call, &c), 0);
	hs_worker_stats(w, &st);
	assert_int_equal(st.sleeps, 0);
	assert_true(st.loops >= 100);
	hs_worker_destroy(w);
	p.mode = 7;
	assert_int_equal(hs_worker_create(&p, &w), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_nodes_on_a_worker),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_two_lanes),
	};

	test_seed = hs_test_seed("test_worker");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
