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
	};

	test_seed = hs_test_seed("test_worker");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
