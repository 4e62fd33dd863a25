/*
 * A cluster of real nodes (engine/node) in one process and one thread,
 * each on its own port of drivers/mem, in virtual time: the harness of
 * the "sim" suite.  Node i has id 1000 + i and address 10.0.x.y:7946;
 * every node knows node 0 as its seed.  Deterministic from the seed.
 */
#ifndef HS_TESTS_CLUSTER_H
#define HS_TESTS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/mem.h"
#include "engine/auth.h"
#include "engine/node.h"

#define TICK_NS		1000000ull	/* the loop's step: 1 ms */
#define INTERVAL_NS	10000000ull	/* rounds every 10 ms */
#define TICKS_PER_ROUND	(INTERVAL_NS / TICK_NS)

extern uint64_t vnow;		/* the virtual clock, ns */
extern unsigned n_racks;	/* > 0: node i is in rack "rack-(i % n_racks)" */
/* non-NULL at cluster_start*: every node seals with this key (a keyring
 * of its own, cl->auth[i], that a test may change) */
extern const uint8_t *cluster_key;
extern uint8_t cluster_cipher;	/* enum hs_auth_cipher, with cluster_key */

struct cluster {
	unsigned n;
	uint64_t seed;
	struct hs_memnet *net;
	struct call_rcu_data *crdp;
	struct hs_pktio **io;
	struct hs_node **node;		/* NULL: crashed */
	struct hs_addr *addr;
	uint64_t *gen;			/* each node's current generation */
	bool *frozen;			/* not polled (a stall), still on */
	struct hs_peers_static *view;	/* shared sampling, or NULL */
	struct hs_auth **auth;		/* with cluster_key: each node's */
	struct hs_peer_sampler sampler;
	struct hs_node_params over;	/* copied into every node's params
					 * (membership knobs, table limits) */
};

uint64_t cluster_clock(void *arg);
struct hs_addr cluster_addr(unsigned i);
/* over: parameters for every node (NULL: defaults). */
void cluster_start_params(struct cluster *cl, unsigned n, double loss,
			  uint64_t seed, bool shared,
			  const struct hs_node_params *over);
void cluster_start_view(struct cluster *cl, unsigned n, double loss,
			uint64_t seed, bool shared);
void cluster_start(struct cluster *cl, unsigned n, double loss,
		   uint64_t seed);
void cluster_stop(struct cluster *cl);
/* One millisecond: deliver, then let every live, unfrozen node work. */
void cluster_tick(struct cluster *cl);
void cluster_rounds(struct cluster *cl, unsigned rounds);
/* Node i dies without a word (its port goes down). */
void cluster_crash(struct cluster *cl, unsigned i);
/* Node i (crashed) comes back with a higher generation, same address. */
void cluster_restart(struct cluster *cl, unsigned i);

#endif /* HS_TESTS_CLUSTER_H */
