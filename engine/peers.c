/*
 * hearsay peer sampling: a shared static list (the simulator) and the
 * node's own member list (the default).  See peers.h.
 *
 * Both draw k distinct peers by rejection: k is the fanout (at most 16)
 * and far below the number of peers, so a draw costs about k random
 * numbers.  The member list keeps an open-addressing index from node id to
 * slot, so that learning a member is O(1) however large the cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/peers.h"
#include "engine/peers_priv.h"

#define HS_PEERS_MAX_DRAW	16

/* k distinct indices of [0, n) whose peer is not self; returns how many. */
static unsigned
hs_peers_draw(const struct hs_peer *list, unsigned n, uint64_t self,
	      uint64_t *rng, struct hs_peer *out, unsigned k)
{
	unsigned picked[HS_PEERS_MAX_DRAW], got = 0, tries, i;

	if (k > HS_PEERS_MAX_DRAW)
		k = HS_PEERS_MAX_DRAW;
	/* 8 tries a pick: only a list of a handful of peers gets close to
	 * running out, and then fewer peers is the right answer */
	for (tries = 0; got < k && tries < 8 * k + 8; tries++) {
		unsigned x;

		if (n == 0)
			break;
		x = (unsigned)(hs_peers_rand(rng) % n);
		if (list[x].id == self)
			continue;
		for (i = 0; i < got && picked[i] != x; i++)
			;
		if (i < got)
			continue;
		picked[got] = x;
		out[got++] = list[x];
	}
	return got;
}

/* ---- shared static list ---- */

struct hs_peers_static {
	unsigned n;
	struct hs_peer list[];
};

int
hs_peers_static_create(unsigned n, struct hs_peers_static **out)
{
	struct hs_peers_static *ps;

	if (out == NULL || n == 0)
		return -EINVAL;
	ps = calloc(1, sizeof(*ps) + (size_t)n * sizeof(ps->list[0]));
	if (ps == NULL)
		return -ENOMEM;
	ps->n = n;
	*out = ps;
	return 0;
}

void
hs_peers_static_destroy(struct hs_peers_static *ps)
{
	free(ps);
}

void
hs_peers_static_set(struct hs_peers_static *ps, unsigned i, uint64_t id,
		    const struct hs_addr *addr)
{
	if (i >= ps->n)
		return;
	ps->list[i].id = id;
	ps->list[i].addr = *addr;
}

static unsigned
hs_peers_static_sample(void *ctx, uint64_t self, uint64_t *rng,
		       struct hs_peer *out, unsigned n)
{
	struct hs_peers_static *ps = ctx;

	return hs_peers_draw(ps->list, ps->n, self, rng, out, n);
}

static unsigned
hs_peers_static_count(void *ctx)
{
	return ((struct hs_peers_static *)ctx)->n;
}

static void
hs_peers_static_learn(void *ctx, uint64_t id, const struct hs_addr *addr)
{
	(void)ctx;
	(void)id;
	(void)addr;
}

static const struct hs_peer_sampler_ops hs_peers_static_ops = {
	.sample = hs_peers_static_sample,
	.count = hs_peers_static_count,
	.learn = hs_peers_static_learn,
};

struct hs_peer_sampler
hs_peers_static_sampler(struct hs_peers_static *ps)
{
	return (struct hs_peer_sampler){ &hs_peers_static_ops, ps };
}

/* ---- the node's own member list ---- */

static uint32_t
hs_peers_slot(uint64_t id, uint32_t mask)
{
	/* Fibonacci hashing: node ids may be sequential */
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static int
hs_peers_members_grow(struct hs_peers_members *pm)
{
	unsigned cap = pm->cap ? 2 * pm->cap : 16;
	uint32_t mask = 2 * cap - 1, i;
	struct hs_peer *list = realloc(pm->list, cap * sizeof(*list));
	uint32_t *index;

	if (list == NULL)
		return -ENOMEM;
	pm->list = list;
	index = malloc((size_t)(mask + 1) * sizeof(*index));
	if (index == NULL)
		return -ENOMEM;
	memset(index, 0xff, (size_t)(mask + 1) * sizeof(*index));
	for (i = 0; i < pm->n; i++) {
		uint32_t s = hs_peers_slot(list[i].id, mask);

		while (index[s] != UINT32_MAX)
			s = (s + 1) & mask;
		index[s] = i;
	}
	free(pm->index);
	pm->index = index;
	pm->mask = mask;
	pm->cap = cap;
	return 0;
}

static void
hs_peers_members_learn(void *ctx, uint64_t id, const struct hs_addr *addr)
{
	struct hs_peers_members *pm = ctx;
	uint32_t s;

	if (id == 0 || addr == NULL)
		return;
	if (pm->index != NULL) {
		for (s = hs_peers_slot(id, pm->mask); pm->index[s] != UINT32_MAX;
		     s = (s + 1) & pm->mask) {
			if (pm->list[pm->index[s]].id == id) {
				pm->list[pm->index[s]].addr = *addr;
				return;
			}
		}
	}
	if (pm->n == pm->cap && hs_peers_members_grow(pm) != 0)
		return;	/* learnt again from a later round */
	for (s = hs_peers_slot(id, pm->mask); pm->index[s] != UINT32_MAX;
	     s = (s + 1) & pm->mask)
		;
	pm->index[s] = pm->n;
	pm->list[pm->n].id = id;
	pm->list[pm->n].addr = *addr;
	pm->n++;
}

static unsigned
hs_peers_members_sample(void *ctx, uint64_t self, uint64_t *rng,
			struct hs_peer *out, unsigned n)
{
	struct hs_peers_members *pm = ctx;

	return hs_peers_draw(pm->list, pm->n, self, rng, out, n);
}

static unsigned
hs_peers_members_count(void *ctx)
{
	return ((struct hs_peers_members *)ctx)->n;
}

static const struct hs_peer_sampler_ops hs_peers_members_ops = {
	.sample = hs_peers_members_sample,
	.count = hs_peers_members_count,
	.learn = hs_peers_members_learn,
};

struct hs_peer_sampler
hs_peers_members_sampler(struct hs_peers_members *pm)
{
	return (struct hs_peer_sampler){ &hs_peers_members_ops, pm };
}

void
hs_peers_members_free(struct hs_peers_members *pm)
{
	free(pm->list);
	free(pm->index);
	memset(pm, 0, sizeof(*pm));
}
