/*
 * hearsay peer sampling, private part: the node's own member list, embedded
 * in struct hs_node.  Only engine/peers.c, engine/node.c and the unit
 * tests include this.
 */
#ifndef HS_PEERS_PRIV_H
#define HS_PEERS_PRIV_H

#include <stdint.h>

#include "engine/peers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Members learnt from gossip, with an id -> slot index (open addressing,
 * UINT32_MAX = empty, at most half full).  Zero-initialised = empty. */
struct hs_peers_members {
	struct hs_peer *list;
	uint32_t *index;
	unsigned n;
	unsigned cap;
	uint32_t mask;
	uint32_t self_zone;	/* 0: no rack, draw uniformly */
	unsigned n_near;	/* peers in self_zone */
};

struct hs_peer_sampler hs_peers_members_sampler(struct hs_peers_members *pm);
void hs_peers_members_free(struct hs_peers_members *pm);

#ifdef __cplusplus
}
#endif

#endif /* HS_PEERS_PRIV_H */
