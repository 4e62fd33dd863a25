/*
 * The "sim" suite's cluster harness.  See cluster.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "tests/cluster.h"

uint64_t vnow;
unsigned n_racks;
const uint8_t *cluster_key;
uint8_t cluster_cipher;

uint64_t
cluster_clock(void *arg)
{
	(void)arg;
	return vnow;
}

struct hs_addr
cluster_addr(unsigned i)
{
	return hs_addr_v4(10, 0, (uint8_t)(i >> 8), (uint8_t)i, 7946);
}

static void
cluster_node_new(struct cluster *cl, unsigned i)
{
	struct hs_node_params p = cl->over;
	char name[32], rack[16];

	snprintf(name, sizeof(name), "node-%u", i);
	snprintf(rack, sizeof(rack), "rack-%u", n_racks ? i % n_racks : 0);
	p.rack = n_racks ? rack : NULL;
	p.id = 1000 + i;
	p.generation = cl->gen[i];
	p.name = name;
	p.cluster_id = 42;
	p.seeds = &cl->addr[0];	/* everyone knows node 0 */
	p.n_seeds = 1;
	p.interval_ns = INTERVAL_NS;
	p.jitter_ns = INTERVAL_NS / 10;
	p.fanout = 3;
	p.rng_seed = cl->seed + i + 7919 * cl->gen[i];
	p.clock = cluster_clock;
	p.io = cl->io[i];
	p.table.crdp = cl->crdp;
	if (p.table.max_members == 0)
		p.table.max_members = 1024;
	p.sampler = cl->view != NULL ? &cl->sampler : NULL;
	if (cl->auth != NULL) {
		/* a restart is a new process: a new keyring, new windows */
		hs_auth_destroy(cl->auth[i]);
		struct hs_auth_params ap = { .crdp = cl->crdp,
					     .cipher = cluster_cipher,
					     .self_id = 1000 + i,
					     .self_gen = cl->gen[i] };

		assert_int_equal(hs_auth_create(&ap, &cl->auth[i]), 0);
		assert_int_equal(hs_auth_key_install(cl->auth[i], cluster_key,
						     NULL), 0);
		p.auth = cl->auth[i];
	}
	assert_int_equal(hs_node_create(&p, &cl->node[i]), 0);
}

void
cluster_start_params(struct cluster *cl, unsigned n, double loss,
		     uint64_t seed, bool shared,
		     const struct hs_node_params *over)
{
	struct hs_memnet_params np = { .seed = seed, .loss = loss,
				       .delay_ns = 200000, .jitter_ns = 100000 };
	unsigned i;

	memset(cl, 0, sizeof(*cl));
	cl->n = n;
	cl->seed = seed;
	if (over != NULL)
		cl->over = *over;
	vnow = 0;
	assert_int_equal(hs_memnet_create(&np, &cl->net), 0);
	cl->crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	assert_non_null(cl->crdp);
	cl->io = calloc(n, sizeof(*cl->io));
	cl->node = calloc(n, sizeof(*cl->node));
	cl->addr = calloc(n, sizeof(*cl->addr));
	cl->gen = calloc(n, sizeof(*cl->gen));
	cl->frozen = calloc(n, sizeof(*cl->frozen));
	assert_true(cl->io && cl->node && cl->addr && cl->gen && cl->frozen);
	if (cluster_key != NULL)
		assert_non_null(cl->auth = calloc(n, sizeof(*cl->auth)));
	if (shared) {
		/* every node samples from one list of everybody */
		assert_int_equal(hs_peers_static_create(n, &cl->view), 0);
		for (i = 0; i < n; i++) {
			struct hs_addr a = cluster_addr(i);

			hs_peers_static_set(cl->view, i, 1000 + i, &a);
		}
		cl->sampler = hs_peers_static_sampler(cl->view);
	}
	for (i = 0; i < n; i++) {
		cl->addr[i] = cluster_addr(i);
		cl->gen[i] = 1;
		assert_int_equal(hs_memnet_open(cl->net, &cl->addr[i],
						&cl->io[i]), 0);
		cluster_node_new(cl, i);
	}
}

void
cluster_start_view(struct cluster *cl, unsigned n, double loss,
		   uint64_t seed, bool shared)
{
	cluster_start_params(cl, n, loss, seed, shared, NULL);
}

void
cluster_start(struct cluster *cl, unsigned n, double loss, uint64_t seed)
{
	cluster_start_params(cl, n, loss, seed, false, NULL);
}

void
cluster_stop(struct cluster *cl)
{
	unsigned i;

	for (i = 0; i < cl->n; i++) {
		hs_node_destroy(cl->node[i]);
		hs_pktio_close(cl->io[i]);
	}
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	/* the nodes' tables left it this thread's (a shared call_rcu
	 * thread stays): take it back before it goes */
	if (urcu_qsbr_get_thread_call_rcu_data() == cl->crdp)
		urcu_qsbr_set_thread_call_rcu_data(NULL);
	urcu_qsbr_call_rcu_data_free(cl->crdp);
	for (i = 0; cl->auth != NULL && i < cl->n; i++)
		hs_auth_destroy(cl->auth[i]);
	free(cl->auth);
	hs_memnet_destroy(cl->net);
	hs_peers_static_destroy(cl->view);
	free(cl->io);
	free(cl->node);
	free(cl->addr);
	free(cl->gen);
	free(cl->frozen);
}

void
cluster_tick(struct cluster *cl)
{
	unsigned i, pass;

	vnow += TICK_NS;
	hs_memnet_advance(cl->net, vnow);
	for (i = 0; i < cl->n; i++) {
		if (cl->node[i] == NULL || cl->frozen[i])
			continue;
		for (pass = 0; pass < 8 && hs_node_poll(cl->node[i]) > 0;
		     pass++)
			;
	}
	urcu_qsbr_quiescent_state();
}

void
cluster_rounds(struct cluster *cl, unsigned rounds)
{
	uint64_t t;

	for (t = 0; t < rounds * TICKS_PER_ROUND; t++)
		cluster_tick(cl);
}

void
cluster_crash(struct cluster *cl, unsigned i)
{
	hs_node_destroy(cl->node[i]);
	cl->node[i] = NULL;
	hs_memnet_set_down(cl->net, &cl->addr[i], true);
}

void
cluster_restart(struct cluster *cl, unsigned i)
{
	assert_null(cl->node[i]);
	hs_memnet_set_down(cl->net, &cl->addr[i], false);
	cl->gen[i]++;
	cluster_node_new(cl, i);
}
