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

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine/peers.h"
#include "engine/peers_priv.h"
#include "engine/util.h"

#define HS_PEERS_MAX_DRAW	16

uint32_t
hs_peers_zone(const char *name, size_t len)
{
	uint32_t z;

	if (name == NULL || len == 0)
		return 0;
	z = (uint32_t)XXH3_64bits(name, len);
	return z != 0 ? z : 1;
}

/* zone filter of a draw */
enum hs_peers_want { HS_ANY, HS_NEAR, HS_FAR };

/*
 * Add up to k more distinct peers of [0, n), not self, matching want (of
 * which there are about `match`), to out[0..got); returns the new count.
 * By rejection: k is the fanout (at most 16), far below n, so a pick costs
 * about n / match random numbers.  The tries allowed scale with that (8
 * picks' worth each, at most 4096 tries): fewer peers than asked is the
 * answer only when hardly any match.
 */
static unsigned
hs_peers_draw_more(const struct hs_peer *list, unsigned n, uint64_t self,
		   uint64_t *rng, struct hs_peer *out, unsigned got,
		   unsigned k, enum hs_peers_want want, uint32_t zone,
		   unsigned match)
{
	unsigned tries, i, target = got + k;
	uint64_t limit = (uint64_t)(8 * k + 8) * (n / (match ? match : 1) + 1);

	if (limit > 4096)
		limit = 4096;
	if (target > HS_PEERS_MAX_DRAW)
		target = HS_PEERS_MAX_DRAW;
	for (tries = 0; got < target && tries < limit; tries++) {
		const struct hs_peer *p;

		if (n == 0)
			break;
		p = &list[hs_splitmix64(rng) % n];
		if (p->id == self || (want == HS_NEAR && p->zone != zone) ||
		    (want == HS_FAR && p->zone == zone))
			continue;
		for (i = 0; i < got && out[i].id != p->id; i++)
			;
		if (i < got)
			continue;
		out[got++] = *p;
	}
	return got;
}

static unsigned
hs_peers_draw(const struct hs_peer *list, unsigned n, uint64_t self,
	      uint64_t *rng, struct hs_peer *out, unsigned k)
{
	return hs_peers_draw_more(list, n, self, rng, out, 0, k, HS_ANY, 0, n);
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
	ps->list[i].zone = 0;
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
hs_peers_static_learn(void *ctx, const struct hs_peer *p)
{
	(void)ctx;
	(void)p;
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
	/* the list a quarter more (every node holds one entry per member:
	 * slack is paid N^2 times), the index a power of two at most half
	 * full */
	unsigned cap = pm->cap ? pm->cap + pm->cap / 4 + 16 : 16;
	uint32_t mask = 31, i;
	struct hs_peer *list = realloc(pm->list, cap * sizeof(*list));
	uint32_t *index;

	if (list == NULL)
		return -ENOMEM;
	pm->list = list;
	while (mask + 1 < 2 * cap)
		mask = 2 * mask + 1;
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
hs_peers_members_learn(void *ctx, const struct hs_peer *p)
{
	struct hs_peers_members *pm = ctx;
	uint32_t s;

	if (p == NULL || p->id == 0)
		return;
	if (pm->index != NULL) {
		for (s = hs_peers_slot(p->id, pm->mask);
		     pm->index[s] != UINT32_MAX; s = (s + 1) & pm->mask) {
			struct hs_peer *q = &pm->list[pm->index[s]];

			if (q->id == p->id) {
				pm->n_near -= pm->self_zone != 0 &&
					      q->zone == pm->self_zone;
				*q = *p;
				pm->n_near += pm->self_zone != 0 &&
					      q->zone == pm->self_zone;
				return;
			}
		}
	}
	if (pm->n == pm->cap && hs_peers_members_grow(pm) != 0)
		return;	/* learnt again from a later round */
	for (s = hs_peers_slot(p->id, pm->mask); pm->index[s] != UINT32_MAX;
	     s = (s + 1) & pm->mask)
		;
	pm->index[s] = pm->n;
	pm->list[pm->n] = *p;
	pm->n_near += pm->self_zone != 0 && p->zone == pm->self_zone;
	pm->n++;
}

/* Index slot holding id, or UINT32_MAX. */
static uint32_t
hs_peers_find_slot(const struct hs_peers_members *pm, uint64_t id)
{
	uint32_t s;

	if (pm->index == NULL)
		return UINT32_MAX;
	for (s = hs_peers_slot(id, pm->mask); pm->index[s] != UINT32_MAX;
	     s = (s + 1) & pm->mask)
		if (pm->list[pm->index[s]].id == id)
			return s;
	return UINT32_MAX;
}

/* A member that died or left: out of the draw.  The last list entry
 * moves into its place, and the index closes the hole by shifting back
 * the entries of the probe run after it (linear probing has no
 * tombstones). */
static void
hs_peers_members_forget(void *ctx, uint64_t id)
{
	struct hs_peers_members *pm = ctx;
	uint32_t s = hs_peers_find_slot(pm, id), i, last, j;

	if (s == UINT32_MAX)
		return;
	i = pm->index[s];
	pm->n_near -= pm->self_zone != 0 && pm->list[i].zone == pm->self_zone;
	last = pm->n - 1;
	if (i != last) {
		uint32_t ls = hs_peers_find_slot(pm, pm->list[last].id);

		pm->list[i] = pm->list[last];
		pm->index[ls] = i;
	}
	pm->n--;
	/* backward-shift deletion */
	for (j = (s + 1) & pm->mask; pm->index[j] != UINT32_MAX;
	     j = (j + 1) & pm->mask) {
		uint32_t home = hs_peers_slot(pm->list[pm->index[j]].id,
					      pm->mask);

		/* move j into the hole s unless its home lies in (s, j]
		 * (cyclic distances) */
		if (((j - home) & pm->mask) >= ((j - s) & pm->mask)) {
			pm->index[s] = pm->index[j];
			s = j;
		}
	}
	pm->index[s] = UINT32_MAX;
}

static unsigned
hs_peers_members_sample(void *ctx, uint64_t self, uint64_t *rng,
			struct hs_peer *out, unsigned n)
{
	struct hs_peers_members *pm = ctx;
	unsigned n_far = pm->n - pm->n_near, far, got;

	if (pm->self_zone == 0 || pm->n_near == 0 || n_far == 0)
		return hs_peers_draw(pm->list, pm->n, self, rng, out, n);
	/* a guaranteed third (at least one) far, the rest near; a shortfall
	 * on either side is made up from anyone */
	far = (n + 2) / 3;
	got = hs_peers_draw_more(pm->list, pm->n, self, rng, out, 0, far,
				 HS_FAR, pm->self_zone, n_far);
	got = hs_peers_draw_more(pm->list, pm->n, self, rng, out, got,
				 n - got, HS_NEAR, pm->self_zone, pm->n_near);
	if (got < n)
		got = hs_peers_draw_more(pm->list, pm->n, self, rng, out, got,
					 n - got, HS_ANY, 0, pm->n);
	return got;
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
	.forget = hs_peers_members_forget,
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
