/*
 * hearsay peer sampling: the service a node asks for gossip partners
 * (the seed's "peer sampling service", after Jelasity et al.).
 *
 * A node never picks peers itself: it asks its sampler for k random peers
 * and tells it about members it learns.  The default sampler is private to
 * the node and backed by the members it has learnt (their hs.addr keys).
 * A shared sampler serves many nodes of one process at once: the simulator
 * uses hs_peers_static, one list of every node, because N private
 * membership lists cost N^2 memory (26,000 x 26,000 does not fit in
 * 24 GiB).  Dissemination, digests, merges and rumors stay the real ones.
 *
 * Rack awareness: when peers carry zones and the caller has one, a draw of
 * k peers takes at least a third of them (at least one) from other zones
 * when there are any, and the rest from its own zone when there are any:
 * gossip stays mostly within the rack (cheap links) without ever letting a
 * rack drift apart.  The member list does this; the static list draws
 * uniformly.
 *
 * Thread context: a sampler is used by the thread(s) that drive its nodes;
 * hs_peers_static is read-only once filled and may be shared by threads.
 */
#ifndef HS_PEERS_H
#define HS_PEERS_H

#include <stdint.h>

#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_peer {
	uint64_t id;
	struct hs_addr addr;
	uint32_t zone;		/* rack/zone: hash of its name, 0 = unknown */
};

/* The zone of a rack or zone name (0 for none). */
uint32_t hs_peers_zone(const char *name, size_t len);

struct hs_peer_sampler_ops {
	/* Up to n distinct peers, none of them `self`, at random using *rng
	 * (a splitmix64 state, engine/util.h); returns how many. */
	unsigned (*sample)(void *ctx, uint64_t self, uint64_t *rng,
			   struct hs_peer *out, unsigned n);
	/* How many peers the sampler knows (for log N estimates). */
	unsigned (*count)(void *ctx);
	/* A member learnt from gossip: address and zone. */
	void (*learn)(void *ctx, const struct hs_peer *p);
	/* A member that died or left: no longer drawn (may be NULL). */
	void (*forget)(void *ctx, uint64_t id);
};

struct hs_peer_sampler {
	const struct hs_peer_sampler_ops *ops;
	void *ctx;
};

/* A fixed list of peers, shared by every node of a simulation. */
struct hs_peers_static;

/* Room for n peers.  Returns 0, -EINVAL or -ENOMEM. */
int hs_peers_static_create(unsigned n, struct hs_peers_static **out);
void hs_peers_static_destroy(struct hs_peers_static *ps);
/* Peer i of the list (i < n), in zone 0. */
void hs_peers_static_set(struct hs_peers_static *ps, unsigned i, uint64_t id,
			 const struct hs_addr *addr);
/* The sampler over the list; learn() is a no-op. */
struct hs_peer_sampler hs_peers_static_sampler(struct hs_peers_static *ps);

#ifdef __cplusplus
}
#endif

#endif /* HS_PEERS_H */
