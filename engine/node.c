/*
 * hearsay node: rounds, the SYN/ACK/ACK2 exchange and rumor mongering.
 * See node.h.
 *
 * Peers come from a sampling service (engine/peers.h): by default the
 * node's own members, learnt from the hs.addr keys it replicates and from
 * node records; the simulator plugs in one shared list.  A SYN lists the
 * digests of every owner the sender knows when they fit one frame, or a
 * bucket summary over a range with every digest of those buckets
 * (docs/PROTOCOL.md 7.1), so that the receiver always knows which owners
 * the SYN speaks for.
 *
 * Every frame is built in one per-node buffer of frame_budget bytes and
 * handed to the driver, which copies it.  Nothing here allocates after
 * hs_node_create except when the member list or the owner snapshot grows.
 *
 * Membership and failure detection (probes, suspicion, refutation,
 * forgetting) live in member.c, the application's API (events, notices,
 * aggregates) in api.c; node_priv.h is the state they share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/log.h"
#include "engine/node_priv.h"

uint64_t
hs_node_rand(struct hs_node *n)
{
	return hs_splitmix64(&n->rng);
}
uint64_t
hs_node_now(const struct hs_node *n)
{
	return n->p.clock(n->p.clock_arg);
}

static void
hs_node_schedule(struct hs_node *n, uint64_t now)
{
	uint64_t j = n->p.jitter_ns;
	uint64_t d = n->p.interval_ns - j + (j ? hs_node_rand(n) % (2 * j + 1) : 0);

	n->next_round = now + d;
}

/* ---- members ---- */

unsigned
hs_node_n_peers(const struct hs_node *n)
{
	return n->sampler.ops->count(n->sampler.ctx);
}

void
hs_addr_encode(const struct hs_addr *a, uint8_t v[HS_ADDR_VALUE_LEN])
{
	v[0] = a->family;
	v[1] = 0;
	hs_wire_wr16(v + 2, a->port);
	memcpy(v + 4, a->addr, 16);
}

int
hs_addr_decode(const uint8_t *v, size_t len, struct hs_addr *a)
{
	if (len != HS_ADDR_VALUE_LEN || (v[0] != 4 && v[0] != 6))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->family = v[0];
	a->port = hs_wire_rd16(v + 2);
	memcpy(a->addr, v + 4, 16);
	return 0;
}

/*
 * Members are the owners whose node record or hs.addr we hold.  Scan for
 * new ones only when the table holds more owners than we know members:
 * once membership has converged this costs one comparison per round.
 */
static void
hs_members_refresh(struct hs_node *n, uint64_t now)
{
	struct hs_wire_digest d[32];
	uint64_t cursor = 0;
	int got, i;

	if (!n->membership || hs_table_owners(n->t) <= (uint64_t)n->mb.n + 1)
		return;
	while ((got = hs_table_digests(n->c, &cursor, d, 32)) > 0)
		for (i = 0; i < got; i++)
			if (d[i].node != n->p.id &&
			    hs_mb_find(n, d[i].node) == NULL)
				hs_mb_sync(n, d[i].node, now);
}

/* ---- bucket summaries (docs/PROTOCOL.md 6.2) ---- */

static int
hs_bdig_cmp(const void *a, const void *b)
{
	const struct hs_bdig *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->d.node < y->d.node ? -1 : x->d.node > y->d.node;
}

/*
 * Every digest we hold, with its bucket of n_buckets, sorted by bucket,
 * and the hash of every bucket (l->bh).  O(members log members), so taken
 * by each lane at most once per round and n_buckets and reused by every
 * SYN it sends or answers in that round: comparing a summary then costs
 * its count of buckets, not our members.  A bucket that changed since only
 * looks different (a little redundant work), an owner that appeared since
 * is covered next round.
 *
 * Bucket hashes leave heartbeats out, so a snapshot serves them as long as
 * the node has merged no change (n->state): without `fresh` (digests with
 * this round's heartbeats), one is kept up to HS_NODE_SNAPSHOT_KEEP rounds
 * at rest.  The walk of every owner each round was a third of an idle
 * cluster's CPU (hearsay-bench -n 128, perf).  Incremental bucket hashes,
 * so that a change costs its owner and not N, are the next step.  Returns
 * the count, or -ENOMEM.
 */
static int
hs_lane_snapshot(struct hs_lane *l, uint32_t n_buckets, bool fresh)
{
	uint64_t cursor = 0, owners = hs_table_owners(l->n->t);
	uint64_t epoch = __atomic_load_n(&l->n->epoch, __ATOMIC_RELAXED) + 1;
	uint64_t state = __atomic_load_n(&l->n->state, __ATOMIC_ACQUIRE);
	struct hs_wire_digest d[32];
	int got, i;
	unsigned k;

	if (l->all_epoch != 0 && l->all_buckets == n_buckets &&
	    (l->all_epoch == epoch ||
	     (!fresh && l->all_state == state && l->n_all == owners &&
	      epoch - l->all_epoch < HS_NODE_SNAPSHOT_KEEP)))
		return (int)l->n_all;

	if (owners + 32 > l->cap_all) {
		unsigned cap = (unsigned)owners + 64;
		struct hs_bdig *a = realloc(l->all, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		l->all = a;
		l->cap_all = cap;
	}
	if (n_buckets > l->cap_bh) {
		uint64_t *a = realloc(l->bh, n_buckets * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		l->bh = a;
		l->cap_bh = n_buckets;
	}
	l->all_epoch = 0;
	l->n_all = 0;
	while ((got = hs_table_digests(l->c, &cursor, d, 32)) > 0)
		for (i = 0; i < got && l->n_all < l->cap_all; i++) {
			l->all[l->n_all].d = d[i];
			l->all[l->n_all].bucket = hs_wire_bucket_of(d[i].node,
								    n_buckets);
			l->n_all++;
		}
	qsort(l->all, l->n_all, sizeof(*l->all), hs_bdig_cmp);
	memset(l->bh, 0, n_buckets * sizeof(*l->bh));
	for (k = 0; k < l->n_all; k++)
		l->bh[l->all[k].bucket] ^= hs_wire_bucket_term(&l->all[k].d);
	l->all_epoch = epoch;
	l->all_state = state;
	l->all_buckets = n_buckets;
	return (int)l->n_all;
}

/* Buckets for a cluster of `owners`: about 8 owners a bucket, so that a
 * bucket's digests always fit a frame. */
static uint32_t
hs_buckets_for(uint64_t owners)
{
	uint32_t nb = 1;

	while ((uint64_t)nb * 8 < owners && nb < 32768)
		nb <<= 1;
	return nb;
}

/* ---- sending ---- */

void
hs_lane_hdr(struct hs_lane *l, struct hs_wire_hdr *h, uint8_t type)
{
	const struct hs_node *n = l->n;

	memset(h, 0, sizeof(*h));
	h->type = type;
	h->cluster_id = n->p.cluster_id;
	h->sender_id = n->p.id;
	h->sender_gen = n->p.generation;
	/* the lane in the low 8 bits, its own count above (PROTOCOL.md 4):
	 * unique per sender, and growing per lane for replay windows */
	h->seq = (++l->seq << 8) | l->idx;
	if (n->p.auth != NULL) {
		h->flags |= HS_WIRE_F_AUTH;
		h->trailer_len = HS_AUTH_TRAILER;
	}
}

void
hs_node_hdr(struct hs_node *n, struct hs_wire_hdr *h, uint8_t type)
{
	hs_lane_hdr(&n->l0, h, type);
}

/*
 * Seal a frame built in l->buf into dst.  A frame sent to several peers is
 * sealed once for each, with a seq of its own: one (key, nonce) never seals
 * two different frames, and each copy passes its receiver's replay window.
 */
static bool
hs_lane_seal(struct hs_lane *l, uint8_t *dst, int len)
{
	uint64_t seq = hs_wire_rd64(l->buf + 32);

	if (seq == l->seq_sealed) {		/* sent once already */
		seq = (++l->seq << 8) | l->idx;
		hs_wire_wr64(l->buf + 32, seq);
	}
	l->seq_sealed = seq;
	if (hs_auth_seal(l->n->p.auth, l->buf, dst, (unsigned)len) != 0) {
		HS_COUNTER_INC(l->st.tx_unsealed);
		return false;
	}
	return true;
}

void
hs_lane_send(struct hs_lane *l, const struct hs_addr *to, int len)
{
	struct hs_pkt pkt;

	if (len <= 0)
		return;
	if (l->batching) {
		uint16_t fb = l->n->p.frame_budget;
		uint8_t *dst;

		if (l->n_tx == l->n->p.tx_batch)
			hs_lane_tx_flush(l);
		dst = l->txbuf + (size_t)l->n_tx * fb;
		if (l->n->p.auth == NULL)
			memcpy(dst, l->buf, (size_t)len);
		else if (!hs_lane_seal(l, dst, len))
			return;
		l->txq[l->n_tx].data = dst;
		l->txq[l->n_tx].len = (uint16_t)len;
		l->txq[l->n_tx].peer = *to;
		l->n_tx++;
		return;
	}
	pkt.data = l->buf;
	if (l->n->p.auth != NULL) {
		if (!hs_lane_seal(l, l->sealbuf, len))
			return;
		pkt.data = l->sealbuf;
	}
	pkt.len = (uint16_t)len;
	pkt.peer = *to;
	if (hs_pktio_tx_burst(l->io, &pkt, 1) == 1) {
		HS_COUNTER_INC(l->st.tx_frames);
		HS_COUNTER_ADD(l->st.tx_bytes, (uint64_t)len);
	} else {
		HS_COUNTER_INC(l->st.tx_dropped);
	}
}

int
hs_lane_tx_init(struct hs_lane *l)
{
	unsigned b = l->n->p.tx_batch;

	if (l->n->p.peer_frames_per_s != 0) {
		const struct hs_node_params *p = &l->n->p;

		l->rate = calloc(HS_NODE_RATE_SLOTS, sizeof(*l->rate));
		if (l->rate == NULL)
			goto nomem;
		l->rate_t_ns = 1000000000ull / p->peer_frames_per_s;
		if (l->rate_t_ns == 0)
			l->rate_t_ns = 1;
		l->rate_tau_ns = l->rate_t_ns * p->peer_burst;
	}
	if (l->n->p.auth != NULL) {
		l->sealbuf = malloc(l->n->p.frame_budget);
		l->openbuf = malloc(l->io->frame_max);
		if (l->sealbuf == NULL || l->openbuf == NULL ||
		    hs_auth_cache_create(l->n->p.auth, &l->acache) != 0)
			goto nomem;
	}
	if (b < 2)
		return 0;
	l->txq = calloc(b, sizeof(*l->txq));
	l->txbuf = malloc((size_t)b * l->n->p.frame_budget);
	if (l->txq == NULL || l->txbuf == NULL)
		goto nomem;
	return 0;
nomem:
	hs_lane_tx_free(l);
	return -ENOMEM;
}

void
hs_lane_tx_flush(struct hs_lane *l)
{
	uint64_t bytes = 0;
	unsigned i;
	int sent;

	if (l->n_tx == 0)
		return;
	sent = hs_pktio_tx_burst(l->io, l->txq, l->n_tx);
	if (sent < 0)
		sent = 0;
	for (i = 0; i < (unsigned)sent; i++)
		bytes += l->txq[i].len;
	HS_COUNTER_ADD(l->st.tx_frames, (uint64_t)sent);
	HS_COUNTER_ADD(l->st.tx_bytes, bytes);
	HS_COUNTER_ADD(l->st.tx_dropped, (uint64_t)(l->n_tx - (unsigned)sent));
	l->n_tx = 0;
}

void
hs_lane_tx_free(struct hs_lane *l)
{
	free(l->txq);
	free(l->txbuf);
	free(l->sealbuf);
	free(l->openbuf);
	hs_auth_cache_destroy(l->acache);
	l->acache = NULL;
	free(l->rate);
	l->rate = NULL;
	l->txq = NULL;
	l->txbuf = NULL;
	l->sealbuf = NULL;
	l->openbuf = NULL;
	l->n_tx = 0;
}

void
hs_node_send(struct hs_node *n, const struct hs_addr *to, int len)
{
	hs_lane_send(&n->l0, to, len);
}

/* The wire form of a node's record as the table holds it. */
static int
hs_lane_record(struct hs_lane *l, uint64_t id, struct hs_wire_node *r)
{
	struct hs_table_node tn;

	if (hs_table_node_get(l->c, id, &tn) != 0 || tn.family == 0)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	r->node = id;
	r->generation = tn.generation;
	r->incarnation = tn.incarnation;
	r->status = tn.status;
	r->family = tn.family;
	r->port = tn.port;
	memcpy(r->addr, tn.addr, 16);
	r->name_len = tn.name_len;
	r->name = tn.name;
	return 0;
}

int
hs_node_record(struct hs_node *n, uint64_t id, struct hs_wire_node *r)
{
	return hs_lane_record(&n->l0, id, r);
}

/* Does the peer whose digest of an owner is d lack the owner's record:
 * it does not know the owner (generation 0) or knows an older generation
 * than ours (a restart it has not seen)? */
static bool
hs_lane_lacks_record(struct hs_lane *l, const struct hs_wire_digest *d)
{
	struct hs_wire_digest ours;

	return d->generation == 0 ||
	       (hs_table_digest(l->c, d->node, &ours) == 0 &&
		ours.generation > d->generation);
}

/*
 * A NODES section with our own record first, then the records of the
 * owners listed in digs[] that the peer lacks, as room allows.  The caller
 * reserved room for it (hs_lane_records_room).
 */
static void
hs_lane_put_records(struct hs_lane *l, struct hs_wire_builder *b,
		    const struct hs_wire_digest *digs, unsigned n_digs,
		    bool self)
{
	const struct hs_node *n = l->n;
	struct hs_wire_node r;
	unsigned i, put = 0;

	if (!n->membership || hs_wire_section_begin(b, HS_WIRE_SEC_NODES) != 0)
		return;
	if (self && hs_lane_record(l, n->p.id, &r) == 0 &&
	    hs_wire_put_node(b, &r) == 0)
		put++;
	for (i = 0; i < n_digs && put < HS_NODE_MAX_RECORDS; i++) {
		if (!hs_lane_lacks_record(l, &digs[i]) ||
		    hs_lane_record(l, digs[i].node, &r) != 0)
			continue;
		if (hs_wire_put_node(b, &r) != 0)
			break;
		put++;
	}
	hs_wire_section_end(b);
}

/*
 * Room kept free at the end of a frame for its NODES section: our own
 * record if self, and one for each owner of digs[] whose record the peer
 * lacks, at most HS_NODE_MAX_RECORDS, assuming names of up to 32 bytes (a
 * longer one is left for a later frame).
 */
static size_t
hs_lane_records_room(struct hs_lane *l, const struct hs_wire_digest *digs,
		     unsigned n_digs, bool self)
{
	const struct hs_node *n = l->n;
	size_t room = 0;
	unsigned i, k = 0;

	if (!n->membership)
		return 0;
	for (i = 0; i < n_digs && k < HS_NODE_MAX_RECORDS; i++)
		k += hs_lane_lacks_record(l, &digs[i]);
	if (self)
		room += HS_WIRE_NODE_HDR_LEN + strlen(n->name);
	room += (size_t)k * (HS_WIRE_NODE_HDR_LEN + 32);
	return room != 0 ? room + HS_WIRE_SEC_HDR_LEN : 0;
}

/*
 * A SYN (docs/PROTOCOL.md 7.1) in l->buf, in one of two forms:
 *  - digests: every digest when they fit one frame; otherwise a SUMMARY
 *    over a range of buckets with every digest of those buckets, so that
 *    the peer knows exactly which owners the SYN speaks for;
 *  - summary only: the hashes of a range of buckets, 8 bytes per bucket of
 *    about 8 owners.  A peer that finds a bucket differing answers with a
 *    SYN of the digests form starting at that bucket, and the exchange
 *    goes on from there the other way round.
 * The range starts at bucket `start` of `nb` (nb 0: ours for the owners we
 * hold), or at a random one when start is UINT32_MAX (the primary lane
 * only: the node's generator).  With `self`, our node record too, so that
 * a peer that does not know us learns how to reach us.  Bytes per SYN
 * stay within one frame whatever the cluster size.  Returns the frame's
 * length, 0: none.
 */
static int
hs_lane_build_syn(struct hs_lane *l, bool digests, bool self, uint32_t nb,
		  uint32_t start)
{
	struct hs_node *n = l->n;
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	size_t keep = hs_lane_records_room(l, NULL, 0, self);
	size_t room = n->p.frame_budget - HS_WIRE_HDR_LEN - keep;
	uint64_t owners = hs_table_owners(n->t);
	unsigned i, first_i, end_i;
	uint32_t first, last;

	hs_lane_hdr(l, &h, HS_WIRE_SYN);
	if (hs_wire_build_begin(&b, l->buf, n->p.frame_budget, &h) != 0)
		return 0;
	if (digests &&
	    HS_WIRE_SEC_HDR_LEN + owners * HS_WIRE_DIGEST_LEN <= room) {
		uint64_t cursor = 0;
		unsigned got = (unsigned)hs_table_digests(l->c, &cursor, l->dig,
							  HS_NODE_MAX_DIGESTS);

		hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS);
		for (i = 0; i < got; i++)
			if (hs_wire_put_digest(&b, &l->dig[i]) != 0)
				break;
		hs_wire_section_end(&b);
		goto records;
	}
	if (nb == 0)
		nb = hs_buckets_for(owners);
	if (hs_lane_snapshot(l, nb, digests) <= 0)
		return 0;
	room -= (digests ? 2 : 1) * HS_WIRE_SEC_HDR_LEN +
		HS_WIRE_SUMMARY_HDR_LEN;
	/*
	 * A random starting bucket, then as many whole buckets as the frame
	 * takes (8 bytes of hash, + 40 per digest in the digests form),
	 * upward.  The start is drawn from [-(w - 1), nb) and clipped at 0,
	 * w being the buckets a frame holds on average: so that every
	 * bucket, the lowest ones included, is covered by w starts.  Drawn
	 * among buckets >= 0 only, bucket 0 was covered by one start in w,
	 * and an owner hashed there that a node lacked took a hundred rounds
	 * and more to reach it (measured: 1,000 nodes joining at once, the
	 * last pair missing for over 200 rounds).
	 */
	first = start;
	if (start == UINT32_MAX) {
		uint64_t per = digests ? (uint64_t)l->n_all *
					 HS_WIRE_DIGEST_LEN / nb + 8 : 8;
		uint32_t w = (uint32_t)(room / per);
		int64_t st;

		if (w < 1)
			w = 1;
		st = (int64_t)(hs_node_rand(n) % (nb + w - 1)) - (w - 1);
		first = st > 0 ? (uint32_t)st : 0;
	}
	/* the first owner at or above it (the snapshot is sorted by bucket) */
	{
		unsigned hi = l->n_all;

		for (first_i = 0; first_i < hi;) {
			unsigned mid = (first_i + hi) / 2;

			if (l->all[mid].bucket < first)
				first_i = mid + 1;
			else
				hi = mid;
		}
	}
	if (!digests) {
		/* hashes only: empty buckets cost what full ones do */
		uint32_t count = (uint32_t)(room / 8);

		if (count > nb - first)
			count = nb - first;
		if (count > 512)
			count = 512;
		hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY);
		if (hs_wire_put_summary(&b, (uint16_t)nb, (uint16_t)first,
					(uint16_t)count, l->bh + first) != 0)
			return 0;
		hs_wire_section_end(&b);
		goto records;
	}
	/* past the last owner, start at the last bucket that holds one */
	if (first_i == l->n_all) {
		first_i = l->n_all - 1;
		while (first_i > 0 && l->all[first_i - 1].bucket ==
				      l->all[first_i].bucket)
			first_i--;
		first = l->all[first_i].bucket;
	}
	end_i = first_i;
	last = first;
	for (;;) {
		unsigned j = end_i;
		uint32_t bk = j < l->n_all ? l->all[j].bucket : nb;
		size_t need;

		if (j >= l->n_all)
			break;
		while (j < l->n_all && l->all[j].bucket == bk)
			j++;
		need = (size_t)(bk - last + (end_i == first_i)) * 8 +
		       (size_t)(j - end_i) * HS_WIRE_DIGEST_LEN;
		if (need > room || bk - first >= 512)
			break;
		room -= need;
		last = bk;
		end_i = j;
	}
	/* past our last owner: the empty top buckets too, as room allows
	 * (an owner the peer holds there is one we lack) */
	while (end_i == l->n_all && end_i != first_i && last + 1 < nb &&
	       room >= 8 && last + 1 - first < 512) {
		last++;
		room -= 8;
	}
	if (end_i == first_i)
		return 0; /* one bucket over a frame: cannot happen at 8/bucket */
	hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS);
	for (i = first_i; i < end_i; i++)
		if (hs_wire_put_digest(&b, &l->all[i].d) != 0)
			return 0;	/* room was computed: a bug, send nothing */
	hs_wire_section_end(&b);
	hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY);
	if (hs_wire_put_summary(&b, (uint16_t)nb, (uint16_t)first,
				(uint16_t)(last - first + 1), l->bh + first) != 0)
		return 0;
	hs_wire_section_end(&b);
records:
	hs_lane_put_records(l, &b, NULL, 0, self);
	return hs_wire_build_end(&b);
}

/*
 * HS_SYN_AUTO: is the node warm?  It has rumors to push, or it merged a
 * change or received an ACK or ACK2 in the last HS_NODE_WARM_ROUNDS
 * rounds: its peers likely differ from it.
 */
static bool
hs_node_warm(const struct hs_node *n)
{
	return n->n_rumors != 0 || hs_mb_n_rumors(n) != 0 ||
	       n->st.rounds < n->warm_until;
}

/*
 * A round's SYN: of digests (HS_SYN_DIGESTS, or a warm node's in
 * HS_SYN_AUTO: the digests save the hop of the SYN in reply), else of
 * bucket hashes.  `rest`: a node at rest in HS_SYN_AUTO, whose peers all
 * know it, leaves its node record out.
 */
static void
hs_node_send_syn(struct hs_node *n, const struct hs_addr *to, bool rest)
{
	bool digests = n->p.syn_mode == HS_SYN_DIGESTS ||
		       (n->p.syn_mode == HS_SYN_AUTO && !rest);
	int len = hs_lane_build_syn(&n->l0, digests, !rest, 0, UINT32_MAX);

	if (len <= 0)
		return;
	hs_node_send(n, to, len);
	n->st.syn_sent++;
}

/* ---- receiving ---- */

/*
 * A SYN whose summary covers our bucket with the hash we compute for it:
 * its sender holds every owner of that bucket as our snapshot does, ours
 * included, so it holds our writes up to our snapshot's version (a write
 * since the snapshot shows at a later SYN).  In clusters whose digests do
 * not fit a frame, SYNs list our digest only when our bucket differs:
 * this is how a member in sync confirms our writes (seen_version, read by
 * writes that wait for every member).
 */
static void
hs_node_summary_seen(struct hs_node *n, const struct hs_wire_msg *m)
{
	struct hs_lane *l = &n->l0;
	struct hs_wire_summary sm;
	struct hs_member *x;
	uint64_t mine = 0;
	unsigned lo = 0, hi;
	uint32_t bk;
	bool found = false;

	hs_wire_summary_get(m, &sm);
	bk = hs_wire_bucket_of(n->p.id, sm.n_buckets);
	if (bk < sm.first || bk >= (uint32_t)sm.first + sm.count ||
	    (x = hs_mb_find(n, m->hdr.sender_id)) == NULL ||
	    x->generation != m->hdr.sender_gen ||
	    hs_lane_snapshot(l, sm.n_buckets, false) <= 0)
		return;
	/* the snapshot is sorted by bucket: the first of ours */
	hi = l->n_all;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (l->all[mid].bucket < bk)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->n_all && l->all[lo].bucket == bk; lo++)
		if (l->all[lo].d.node == n->p.id) {
			mine = l->all[lo].d.max_version;
			found = true;
		}
	if (found && l->bh[bk] == hs_wire_rd64(sm.hashes + 8 * (bk - sm.first)) &&
	    x->seen_version < mine)
		x->seen_version = mine;
}

/* The node records, deltas and aggregate shares a message carries, and
 * the heartbeats its digests carry. */
void
hs_node_merge(struct hs_node *n, const struct hs_wire_msg *m,
	      const struct hs_addr *from, bool deltas_merged)
{
	uint64_t now = n->rx_now;
	struct hs_wire_iter it;
	struct hs_wire_node r;
	unsigned i;

	/* records and deltas may move an owner's generation, versions or
	 * floor: the lanes' snapshots of our digests are out of date */
	if (hs_wire_has(m, HS_WIRE_SEC_NODES) ||
	    hs_wire_has(m, HS_WIRE_SEC_DELTAS))
		hs_node_state_changed(n);
	hs_wire_iter_init(&it, m, HS_WIRE_SEC_NODES);
	while (hs_wire_node_next(&it, &r))
		hs_mb_on_record(n, &r, from, now);
	if (hs_wire_has(m, HS_WIRE_SEC_DELTAS)) {
		struct hs_wire_group g;
		uint64_t last = 0;

		if (!deltas_merged)
			hs_table_merge_msg(n->c, m);
		/* a group may advance an owner's watermark over entries
		 * rumors installed earlier: events may be deliverable now
		 * without any new change of that owner */
		hs_wire_iter_init(&it, m, HS_WIRE_SEC_DELTAS);
		while (hs_wire_group_next(&it, &g))
			if (g.owner != last) {
				hs_api_on_group(n, g.owner);
				last = g.owner;
			}
	}
	if (n->membership) {
		for (i = 0; i < m->sec[HS_WIRE_SEC_DIGESTS].n; i++) {
			struct hs_wire_digest d;

			hs_wire_digest_get(m, i, &d);
			hs_mb_on_digest(n, &d, m->hdr.sender_id, now);
		}
		if (m->hdr.type == HS_WIRE_SYN &&
		    hs_wire_has(m, HS_WIRE_SEC_SUMMARY))
			hs_node_summary_seen(n, m);
	}
	if (hs_wire_has(m, HS_WIRE_SEC_AGG))
		hs_node_merge_agg(n, m);
}

/* Shell sort (Ciura's gaps): in place, no allocation (glibc's qsort
 * may malloc), for the few hundred ids of a frame. */
static void
hs_u64_sort(uint64_t *a, unsigned n)
{
	static const unsigned gaps[] = { 132, 57, 23, 10, 4, 1 };
	unsigned g, i, j;

	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++)
		for (i = gaps[g]; i < n; i++) {
			uint64_t v = a[i];

			for (j = i; j >= gaps[g] && a[j - gaps[g]] > v;
			     j -= gaps[g])
				a[j] = a[j - gaps[g]];
			a[j] = v;
		}
}

/* The node ids a SYN lists, sorted into l->listed, so that each of our
 * owners is checked in O(log digests), not by a scan of the frame (31
 * owners against 30 digests cost a microsecond a SYN, half its handling).
 * Returns how many. */
static unsigned
hs_lane_listed(struct hs_lane *l, const struct hs_wire_msg *m)
{
	unsigned i, n = m->sec[HS_WIRE_SEC_DIGESTS].n;

	if (n > HS_NODE_MAX_DIGESTS)
		n = HS_NODE_MAX_DIGESTS;
	for (i = 0; i < n; i++) {
		struct hs_wire_digest d;

		hs_wire_digest_get(m, i, &d);
		l->listed[i] = d.node;
	}
	hs_u64_sort(l->listed, n);
	return n;
}

static bool
hs_digest_listed(const struct hs_lane *l, unsigned n_listed, uint64_t node)
{
	unsigned lo = 0, hi = n_listed;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (l->listed[mid] < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n_listed && l->listed[lo] == node;
}

/*
 * Which of a summary's buckets hash differently here: differs[i] for
 * bucket sm->first + i.  Returns how many, or -1 when we cannot tell (more
 * than 512 buckets, no memory for the snapshot).
 */
static int
hs_lane_summary_differs(struct hs_lane *l, const struct hs_wire_summary *sm,
			bool differs[512])
{
	const uint64_t *mine;
	unsigned i;
	int k = 0;

	if (sm->count > 512 || hs_lane_snapshot(l, sm->n_buckets, false) < 0)
		return -1;
	mine = l->bh + sm->first;
	for (i = 0; i < sm->count; i++) {
		differs[i] = mine[i] != hs_wire_rd64(sm->hashes + 8 * i);
		k += differs[i];
	}
	return k;
}

/*
 * A SYN with a SUMMARY and DIGESTS: its DIGESTS are every owner the
 * sender knows in the summary's buckets.  Fill l->dig with the digests of
 * the buckets whose hash differs from ours, then our owners in those
 * buckets that the sender did not list (generation 0: it does not know
 * them).  Returns the count.
 */
static unsigned
hs_lane_syn_summary(struct hs_lane *l, const struct hs_wire_msg *m)
{
	struct hs_wire_summary sm;
	bool differs[512];
	unsigned i, k = 0, n_listed;

	hs_wire_summary_get(m, &sm);
	if (hs_lane_summary_differs(l, &sm, differs) <= 0)
		return 0;
	/* their digests in differing buckets */
	for (i = 0; i < m->sec[HS_WIRE_SEC_DIGESTS].n &&
		    k < HS_NODE_MAX_DIGESTS; i++) {
		struct hs_wire_digest d;
		uint32_t bk;

		hs_wire_digest_get(m, i, &d);
		bk = hs_wire_bucket_of(d.node, sm.n_buckets);
		if (bk >= sm.first && bk < (uint32_t)sm.first + sm.count &&
		    differs[bk - sm.first])
			l->dig[k++] = d;
	}
	/* ours in differing buckets that they did not list */
	n_listed = hs_lane_listed(l, m);
	for (i = 0; i < l->n_all && k < HS_NODE_MAX_DIGESTS; i++) {
		uint32_t bk = l->all[i].bucket;

		if (bk < sm.first || bk >= (uint32_t)sm.first + sm.count ||
		    !differs[bk - sm.first] ||
		    l->all[i].d.node == m->hdr.sender_id ||
		    hs_digest_listed(l, n_listed, l->all[i].d.node))
			continue;
		l->dig[k++] = (struct hs_wire_digest){
			.node = l->all[i].d.node };
	}
	return k;
}

/*
 * A SYN of bucket hashes only.  All equal: nothing to say (counted as
 * ack_empty, as for a SYN of digests in agreement).  Otherwise we answer
 * with a SYN of our digests from the first bucket that differs, with the
 * sender's n_buckets (the snapshot just taken serves both): the sender
 * answers it with the deltas we lack and asks for what it lacks (ACK), we
 * send that (ACK2).  Our SYN always lists digests (its range starts at or
 * before an owner we hold, ourselves at least): a SYN of hashes is never
 * answered by another, and each costs at most one frame back.
 */
static void
hs_lane_answer_summary(struct hs_lane *l, const struct hs_wire_msg *m,
		       const struct hs_addr *from)
{
	struct hs_wire_summary sm;
	bool differs[512];
	unsigned i = 0;
	int len;

	hs_wire_summary_get(m, &sm);
	if (hs_lane_summary_differs(l, &sm, differs) <= 0) {
		HS_COUNTER_INC(l->st.ack_empty);
		return;
	}
	while (!differs[i])
		i++;
	len = hs_lane_build_syn(l, true, true, sm.n_buckets, sm.first + i);
	if (len <= 0)
		return;
	hs_lane_send(l, from, len);
	HS_COUNTER_INC(l->st.syn_replies);
}

/* SYN (its deltas merged): answer with what the sender lacks, and ask
 * for what we lack. */
void
hs_lane_answer_syn(struct hs_lane *l, const struct hs_wire_msg *m,
		   const struct hs_addr *from)
{
	const struct hs_node *n = l->n;
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	unsigned n_theirs = 0, n_want, i, got, n_listed, known;
	uint64_t cursor = 0;
	size_t keep;
	int len;

	if (!hs_wire_has(m, HS_WIRE_SEC_DIGESTS)) {
		hs_lane_answer_summary(l, m, from);
		return;
	}
	if (hs_wire_has(m, HS_WIRE_SEC_SUMMARY)) {
		n_theirs = hs_lane_syn_summary(l, m);
	} else {
		/*
		 * Their digests that differ from ours (one lookup each: a
		 * digest equal to ours asks for nothing), then every owner we
		 * know that they did not list: generation 0, "send it from
		 * the start".  When the list names as many owners we hold as
		 * we hold, none is unlisted and the table is not walked: the
		 * steady state of a cluster whose digests fit a frame.  (A
		 * list naming one owner twice could hide an unlisted one
		 * from that sender for a round; our peers never send one.)
		 */
		n_listed = m->sec[HS_WIRE_SEC_DIGESTS].n;
		if (n_listed > HS_NODE_MAX_DIGESTS)
			n_listed = HS_NODE_MAX_DIGESTS;
		for (i = 0; i < n_listed; i++)
			hs_wire_digest_get(m, i, &l->dig[i]);
		n_theirs = hs_table_digests_differ(l->c, l->dig, n_listed,
						   l->dig, &known);
		if (known < hs_table_owners(n->t))
			n_listed = hs_lane_listed(l, m);
		else
			n_listed = 0;
		while (n_listed != 0 && n_theirs < HS_NODE_MAX_DIGESTS) {
			struct hs_wire_digest mine[32];

			got = (unsigned)hs_table_digests(l->c, &cursor, mine,
							 32);
			if (got == 0)
				break;
			for (i = 0; i < got && n_theirs < HS_NODE_MAX_DIGESTS;
			     i++) {
				if (mine[i].node == m->hdr.sender_id ||
				    hs_digest_listed(l, n_listed, mine[i].node))
					continue;
				l->dig[n_theirs++] = (struct hs_wire_digest){
					.node = mine[i].node };
			}
		}
	}
	/*
	 * Nothing differs: no ACK.  An empty one would tell the initiator
	 * only that we are alive, which is the probes' job (section 7.1 of
	 * docs/PROTOCOL.md); in a cluster at rest it was a third of the
	 * frames.
	 */
	if (n_theirs == 0) {
		HS_COUNTER_INC(l->st.ack_empty);
		return;
	}
	/* generation-0 entries are ours, not theirs: wants skips them */
	n_want = (unsigned)hs_table_wants(l->c, l->dig, n_theirs, l->want,
					  HS_NODE_MAX_DIGESTS);
	keep = hs_lane_records_room(l, l->dig, n_theirs, false);
	hs_lane_hdr(l, &h, HS_WIRE_ACK);
	if (hs_wire_build_begin(&b, l->buf, n->p.frame_budget, &h) != 0)
		return;
	if (n_want != 0 && hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS) == 0) {
		for (i = 0; i < n_want; i++)
			if (hs_wire_put_digest(&b, &l->want[i]) != 0)
				break;
		hs_wire_section_end(&b);
	}
	/* Deltas fill the frame but for the room kept for node records,
	 * without which the peer could not reach the owners it learns. */
	if (b.cap > b.len + keep) {
		b.cap -= (uint16_t)keep;
		hs_table_build_deltas(l->c, l->dig, n_theirs, &b);
		b.cap += (uint16_t)keep;
	}
	hs_lane_put_records(l, &b, l->dig, n_theirs, false);
	len = hs_wire_build_end(&b);
	if (len == HS_WIRE_HDR_LEN) {
		/* digests that differ but call for nothing: only the floor
		 * differs, or an old generation of an owner we forgot */
		HS_COUNTER_INC(l->st.ack_empty);
		return;
	}
	hs_lane_send(l, from, len);
	HS_COUNTER_INC(l->st.ack_sent);
}

/* ACK (its deltas merged): send what it asked for. */
void
hs_lane_answer_ack(struct hs_lane *l, const struct hs_wire_msg *m,
		   const struct hs_addr *from)
{
	const struct hs_node *n = l->n;
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	size_t keep;
	unsigned n_want = 0, i;
	int len, r = 0;

	for (i = 0; i < m->sec[HS_WIRE_SEC_DIGESTS].n &&
		    n_want < HS_NODE_MAX_DIGESTS; i++)
		hs_wire_digest_get(m, i, &l->want[n_want++]);
	if (n_want == 0)
		return;
	keep = hs_lane_records_room(l, l->want, n_want, false);
	hs_lane_hdr(l, &h, HS_WIRE_ACK2);
	if (hs_wire_build_begin(&b, l->buf, n->p.frame_budget, &h) != 0)
		return;
	if (b.cap > b.len + keep) {
		b.cap -= (uint16_t)keep;
		r = hs_table_build_deltas(l->c, l->want, n_want, &b);
		b.cap += (uint16_t)keep;
	}
	hs_lane_put_records(l, &b, l->want, n_want, false);
	len = hs_wire_build_end(&b);
	if (r > 0 || len > HS_WIRE_HDR_LEN) {
		hs_lane_send(l, from, len);
		HS_COUNTER_INC(l->st.ack2_sent);
	}
}

/*
 * May one more frame of sender be taken now?  GCRA: a sender's next
 * allowed time (tat) moves one share (rate_t_ns) per frame taken, and a
 * frame is refused when tat is more than a burst (rate_tau_ns) ahead.  Two
 * slots per sender hash; a sender in neither takes the one with the older
 * tat, starting afresh (a flood of invented senders costs each a burst,
 * and the table its fixed size).
 */
static bool
hs_lane_rate_ok(struct hs_lane *l, uint64_t sender)
{
	uint64_t h = sender, now = l->now;
	struct hs_rate_slot *s;
	uint32_t i;

	i = (uint32_t)hs_splitmix64(&h) & (HS_NODE_RATE_SLOTS - 2);
	s = &l->rate[i];
	if (s->sender != sender) {
		if (s[1].sender == sender)
			s = &s[1];
		else {
			if (s[1].tat < s->tat)
				s = &s[1];
			s->sender = sender;
			s->tat = now;
		}
	}
	if (s->tat > now + l->rate_tau_ns)
		return false;
	s->tat = (s->tat > now ? s->tat : now) + l->rate_t_ns;
	return true;
}

/* The checks every lane makes, counted on the lane: another cluster's
 * frames go before any cryptography; with a keyring, a frame that opens
 * replaces pkt->data (then the opened copy in l->openbuf, valid until the
 * next frame). */
bool
hs_lane_accept(struct hs_lane *l, struct hs_pkt *pkt, struct hs_wire_msg *m)
{
	struct hs_auth *auth = l->n->p.auth;

	HS_COUNTER_INC(l->st.rx_frames);
	HS_COUNTER_ADD(l->st.rx_bytes, pkt->len);
	/* ours (magic, version) but of another cluster: counted as such;
	 * anything else is refused below, unauthenticated or malformed */
	if (pkt->len >= HS_WIRE_HDR_LEN &&
	    hs_wire_rd16(pkt->data) == HS_WIRE_MAGIC &&
	    pkt->data[2] == HS_WIRE_VERSION &&
	    hs_wire_rd32(pkt->data + 12) != l->n->p.cluster_id) {
		HS_COUNTER_INC(l->st.rx_other_cluster);
		return false;
	}
	if (auth != NULL && pkt->len >= HS_WIRE_HDR_LEN) {
		enum hs_auth_verdict v = hs_auth_open(auth, l->acache,
						      pkt->data, l->openbuf,
						      pkt->len);

		if (v == HS_AUTH_REPLAY || v == HS_AUTH_OLD_GEN) {
			HS_COUNTER_INC(l->st.rx_replay);
			return false;
		}
		if (v != HS_AUTH_OK) {
			HS_COUNTER_INC(l->st.rx_unauth);
			return false;
		}
		pkt->data = l->openbuf;
	}
	if (l->rate != NULL && pkt->len >= HS_WIRE_HDR_LEN &&
	    !hs_lane_rate_ok(l, hs_wire_rd64(pkt->data + 16))) {
		HS_COUNTER_INC(l->st.rx_rate_limited);
		return false;
	}
	if (hs_wire_decode(pkt->data, pkt->len, m) != 0) {
		HS_COUNTER_INC(l->st.rx_bad);
		return false;
	}
	if (auth == NULL && (m->hdr.flags & HS_WIRE_F_AUTH)) {
		HS_COUNTER_INC(l->st.rx_unauth);
		return false;
	}
	if (m->hdr.sender_id == l->n->p.id) {
		HS_COUNTER_INC(l->st.rx_self);
		return false;
	}
	return true;
}

/* A frame for the primary: received on its own queue (deltas not merged
 * yet: it merges and answers), or handed over by another lane (merged and
 * answered there). */
static void
hs_node_rx_msg(struct hs_node *n, const struct hs_wire_msg *m,
	       const struct hs_addr *from, bool forwarded)
{
	hs_mb_on_frame(n, m, from, n->rx_now);
	switch (m->hdr.type) {
	case HS_WIRE_SYN:
		hs_node_merge(n, m, from, forwarded);
		if (!forwarded)
			hs_lane_answer_syn(&n->l0, m, from);
		break;
	case HS_WIRE_ACK:
		n->warm_until = n->st.rounds + HS_NODE_WARM_ROUNDS;
		hs_node_merge(n, m, from, forwarded);
		if (!forwarded)
			hs_lane_answer_ack(&n->l0, m, from);
		break;
	case HS_WIRE_ACK2:
		n->warm_until = n->st.rounds + HS_NODE_WARM_ROUNDS;
		hs_node_merge(n, m, from, forwarded);
		break;
	case HS_WIRE_PUSH:
	case HS_WIRE_JOIN:
	case HS_WIRE_LEAVE:
		hs_node_merge(n, m, from, forwarded);
		break;
	default:
		if (!n->membership) {
			n->st.rx_unexpected++;	/* probes, shared view */
			break;
		}
		hs_node_merge(n, m, from, forwarded);
		hs_mb_on_probe(n, m, from, n->rx_now);
		break;
	}
}

static void
hs_node_rx(struct hs_node *n, struct hs_pkt *pkt)
{
	struct hs_wire_msg m;

	if (hs_lane_accept(&n->l0, pkt, &m))
		hs_node_rx_msg(n, &m, &pkt->peer, false);
}

/* A frame lane k>0 merged and answered: the rest is the primary's. */
static void
hs_node_rx_forwarded(struct hs_node *n, const struct hs_fwd *f)
{
	struct hs_wire_msg m;

	if (hs_wire_decode((const uint8_t *)(f + 1), f->len, &m) == 0)
		hs_node_rx_msg(n, &m, &f->from, true);
}

/* Take up to max items the lanes handed over; returns how many. */
int
hs_node_drain_lanes(struct hs_node *n, unsigned max)
{
	unsigned i, k, got = 0;

	for (i = 1; i < n->p.n_lanes; i++) {
		struct hs_lane *l = __atomic_load_n(&n->lanes[i],
						    __ATOMIC_ACQUIRE);
		const struct hs_fwd *f;

		if (l == NULL)
			continue;
		while (got < max && (f = hs_spsc_peek(l->fwd)) != NULL) {
			if (f->type == HS_FWD_FRAME) {
				hs_node_rx_forwarded(n, f);
			} else {
				const struct hs_table_change *ch =
					(const void *)(f + 1);

				if (f->lost)
					n->lanes_lost++;
				for (k = 0; k < f->len; k++)
					hs_node_add_rumor(n, &ch[k]);
			}
			hs_spsc_release(l->fwd);
			got++;
		}
	}
	return (int)got;
}
/* ---- rumor mongering ---- */

static unsigned
hs_node_rumor_rounds(const struct hs_node *n)
{
	unsigned r = 1, m = hs_node_n_peers(n) + 1;

	if (n->p.rumor_rounds != 0)
		return n->p.rumor_rounds;
	while (m > 1) {		/* ceil(log2(members + 1)) + 1 */
		m = (m + 1) / 2;
		r++;
	}
	return r;
}

static struct hs_rumor *
hs_node_rumor_at(struct hs_node *n, unsigned i)
{
	return &n->rumors[(n->rumor_head + i) % HS_NODE_RUMORS];
}

/* A PUSH with the member records being rumored (only the fresh ones, or
 * all) and the update rumors [from, n_rumors) whose values are at most
 * max_value bytes, newest first (the freshest update is the one fewest
 * nodes hold), cut to the frame; returns the frame length, or 0 when it
 * carries nothing.  Member records go first in bytes: they are few and
 * small, and membership news is what failure detection waits for. */
static int
hs_node_build_push(struct hs_node *n, unsigned from, size_t max_value,
		   bool fresh_members_only)
{
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	unsigned i, put = 0;
	size_t keep = 0;
	int r;

	hs_node_hdr(n, &h, HS_WIRE_PUSH);
	if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget, &h) != 0)
		return 0;
	if (hs_mb_n_rumors(n) != 0) {
		keep = HS_WIRE_SEC_HDR_LEN + (HS_WIRE_NODE_HDR_LEN + 32) *
		       (hs_mb_n_rumors(n) < 8 ? hs_mb_n_rumors(n) : 8);
		if (keep > (size_t)(b.cap - b.len))
			keep = 0;
	}
	if (from < n->n_rumors &&
	    hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS) == 0) {
		b.cap -= (uint16_t)keep;
		for (i = n->n_rumors; i-- > from;) {
			r = hs_table_put_entry(n->c,
					       &hs_node_rumor_at(n, i)->ch,
					       max_value, &b);
			if (r == -EMSGSIZE)
				break;
			put += r > 0;
		}
		b.cap += (uint16_t)keep;
		hs_wire_section_end(&b);
	}
	put += hs_mb_put_rumors(n, &b, fresh_members_only);
	if (put == 0)
		return 0;
	r = hs_wire_build_end(&b);
	return r > 0 ? r : 0;
}

/* Send the frame in n->buf to k random peers. */
static void
hs_node_send_random(struct hs_node *n, int len, unsigned k)
{
	struct hs_peer peers[16];
	unsigned i, got;

	if (len <= 0)
		return;
	got = n->sampler.ops->sample(n->sampler.ctx, n->p.id, &n->rng, peers,
				     k);
	for (i = 0; i < got; i++) {
		hs_node_send(n, &peers[i].addr, len);
		n->st.push_sent++;
	}
}

/*
 * Take the entries the table installed since the last call (merged by any
 * message, or written here) as rumors: pushing what anti-entropy repaired
 * too speeds a catching-up cluster (100 nodes bootstrapping: 10 rounds
 * against 24 when only PUSHed and local entries became rumors).  With
 * push-at-once, push new rumors to fanout peers now, as the rate allows.
 */
void
hs_node_add_rumor(struct hs_node *n, const struct hs_table_change *ch)
{
	struct hs_rumor *r;

	if (n->n_rumors == HS_NODE_RUMORS) {
		n->rumor_head = (n->rumor_head + 1) % HS_NODE_RUMORS;
		n->n_rumors--;
		n->st.rumors_dropped++;
	}
	hs_node_state_changed(n);	/* our own writes come this way */
	r = hs_node_rumor_at(n, n->n_rumors++);
	r->ch = *ch;
	r->rounds_left = hs_node_rumor_rounds(n);
	if (n->n_fresh < n->n_rumors)
		n->n_fresh++;
	hs_api_on_change(n, ch);
}

static void
hs_node_take_rumors(struct hs_node *n, uint64_t now)
{
	struct hs_table_change ch[32];
	unsigned got, i, first_new;

	while ((got = hs_table_changes(n->c, ch, 32)) > 0) {
		n->warm_until = n->st.rounds + HS_NODE_WARM_ROUNDS;
		HS_COUNTER_ADD(n->l0.st.merged, got);
		for (i = 0; i < got; i++)
			hs_node_add_rumor(n, &ch[i]);
	}
	hs_api_after_changes(n);
	first_new = n->n_rumors - n->n_fresh;
	n->n_fresh = 0;
	if (n->p.push_now_off ||
	    (first_new == n->n_rumors && !hs_mb_has_fresh(n)))
		return;
	/* token bucket: push_now_per_s, bursts of one round's worth */
	n->push_tokens += (double)(now - n->push_tokens_at) * 1e-9 *
			  n->p.push_now_per_s;
	if (n->push_tokens > n->p.fanout * 4)
		n->push_tokens = n->p.fanout * 4;
	n->push_tokens_at = now;
	if (n->push_tokens < n->p.fanout) {
		n->st.push_now_limited++;
		return;
	}
	n->push_tokens -= n->p.fanout;
	hs_node_send_random(n, hs_node_build_push(n, first_new,
						  n->p.push_now_max_value,
						  true),
			    n->p.fanout);
}

/* Each round: push every live rumor to the round's peers, then age them. */
static void
hs_node_push_rumors(struct hs_node *n, const struct hs_peer *peers,
		    unsigned k)
{
	unsigned i, kept = 0;
	int len;

	if (n->n_rumors == 0 && hs_mb_n_rumors(n) == 0)
		return;
	len = hs_node_build_push(n, 0, SIZE_MAX, false);
	for (i = 0; len > 0 && i < k; i++) {
		hs_node_send(n, &peers[i].addr, len);
		n->st.push_sent++;
	}
	for (i = 0; i < n->n_rumors; i++) {
		struct hs_rumor *r = hs_node_rumor_at(n, i);

		if (--r->rounds_left > 0)
			*hs_node_rumor_at(n, kept++) = *r;
	}
	n->n_rumors = kept;
	n->n_fresh = 0;
}

/* ---- rounds ---- */

static void
hs_node_round(struct hs_node *n, uint64_t now)
{
	struct hs_peer peers[16];
	unsigned k, i, n_peers;
	bool seed_too, rest;

	hs_table_heartbeat(n->c);
	hs_members_refresh(n, now);
	n_peers = hs_node_n_peers(n);
	k = n->sampler.ops->sample(n->sampler.ctx, n->p.id, &n->rng, peers,
				   n->p.fanout);
	/* at rest (HS_SYN_AUTO), one SYN of hashes a round: it covers every
	 * bucket up to about 1,300 members, and a difference, once found,
	 * warms the node up to fanout SYNs of digests */
	rest = n->p.syn_mode == HS_SYN_AUTO && !hs_node_warm(n);
	for (i = 0; i < (rest && k > 1 ? 1 : k); i++)
		hs_node_send_syn(n, &peers[i].addr, rest);
	hs_node_push_rumors(n, peers, k);
	hs_mb_round(n, now);
	hs_api_round(n, now);
	/* Cassandra's rule: a seed now and then (always while we know no
	 * member), so that a cluster split by its own gossip heals. */
	seed_too = n->p.n_seeds != 0 &&
		   (n_peers == 0 ||
		    hs_node_rand(n) % (n_peers + n->p.n_seeds) < n->p.n_seeds);
	if (seed_too) {
		const struct hs_addr *s =
			&n->seeds[hs_node_rand(n) % n->p.n_seeds];

		if (!hs_addr_eq(s, &n->p.io->local))
			hs_node_send_syn(n, s, rest);
	}
	n->st.rounds++;
}

int
hs_node_poll(struct hs_node *n)
{
	struct hs_pkt pkts[HS_NODE_RX_BURST];
	uint64_t now = hs_node_now(n);
	int got, i, work = 0;

	/* one clock read for the whole burst: a burst takes microseconds,
	 * membership's timers are milliseconds (and a read costs 20-60 ns,
	 * a third of a known frame's handling in a VM) */
	n->rx_now = now;
	n->l0.now = now;
	n->l0.batching = n->l0.txq != NULL;
	hs_mb_stall_check(n, now);
	HS_COUNTER_INC(n->l0.st.polls);
	got = hs_pktio_rx_burst(n->p.io, pkts, HS_NODE_RX_BURST);
	for (i = 0; i < got; i++)
		hs_node_rx(n, &pkts[i]);
	if (got > 0)
		work += got;
	if (n->p.n_lanes > 1)
		work += hs_node_drain_lanes(n, HS_LANE_FWD_SLOTS);
	/* a long burst took time: read the clock again, but only then (a
	 * read costs 20-60 ns here, as much as a poll that finds nothing; a
	 * few frames take microseconds, and the timers are milliseconds) */
	if (work >= HS_NODE_REREAD_CLOCK)
		now = hs_node_now(n);
	hs_node_take_rumors(n, now);
	hs_mb_poll(n, now);
	if (now >= n->next_round) {
		hs_node_round(n, now);
		hs_node_schedule(n, now);
		__atomic_store_n(&n->epoch, n->st.rounds, __ATOMIC_RELAXED);
		/* replaced entries go to call_rcu in batches of up to 512
		 * (table.c): handed over every round and when idle, not every
		 * poll, where a busy queue's polls of one or two frames made
		 * call_rcu batches of 23 entries (this raised fresh merges
		 * on memif from 3.7 to 4.06 M entries/s) */
		hs_table_ctx_flush(n->c);
		work++;
	} else if (work == 0) {
		hs_table_ctx_flush(n->c);
	}
	hs_lane_tx_flush(&n->l0);
	n->l0.batching = false;
	return work;
}

/* ---- life cycle ---- */

void
hs_node_params_default(struct hs_node_params *p)
{
	if (p->interval_ns == 0)
		p->interval_ns = 10ull * 1000000ull;
	if (p->jitter_ns == 0)
		p->jitter_ns = p->interval_ns / 10;
	if (p->fanout == 0)
		p->fanout = 3;
	if (p->frame_budget == 0)
		p->frame_budget = HS_WIRE_FRAME_DEFAULT;
	if (p->clock == NULL)
		p->clock = hs_clock_monotonic;
	if (p->push_now_per_s == 0)
		p->push_now_per_s = 500;
	if (p->peer_frames_per_s != 0 && p->peer_burst == 0)
		p->peer_burst = p->peer_frames_per_s / 10 > 64 ?
				p->peer_frames_per_s / 10 : 64;
	if (p->push_now_max_value == 0)
		p->push_now_max_value = 256;
	if (p->probe_timeout_ns == 0)
		p->probe_timeout_ns = 2 * p->interval_ns;
	if (p->probe_relays == 0)
		p->probe_relays = 3;
	if (p->suspect_mult == 0)
		p->suspect_mult = 8;
	if (p->phi_threshold == 0)
		p->phi_threshold = 8.0;
	hs_fd_params_default(&p->fd);
	if (p->stall_ns == 0)
		p->stall_ns = 3 * p->interval_ns;
	if (p->forget_ns == 0)
		p->forget_ns = 3600ull * 1000000000ull;
	if (p->gc_interval_ns == 0)
		p->gc_interval_ns = 1000000000ull;
	if (p->notify_bytes == 0)
		p->notify_bytes = 1u << 20;
	if (p->n_lanes == 0)
		p->n_lanes = 1;
	if (p->event_retention == 0)
		p->event_retention = 64;
}

int
hs_syn_mode_parse(const char *name)
{
	static const char *const names[] = {
		[HS_SYN_AUTO] = "auto",
		[HS_SYN_SUMMARY] = "summary",
		[HS_SYN_DIGESTS] = "digests",
	};
	unsigned i;

	for (i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
hs_node_create(const struct hs_node_params *params, struct hs_node **out)
{
	struct hs_table_params tp;
	struct hs_node *n;
	int rc;

	if (params == NULL || out == NULL || params->id == 0 ||
	    params->generation == 0 || params->io == NULL ||
	    (params->n_seeds != 0 && params->seeds == NULL) ||
	    (params->name != NULL && strlen(params->name) > HS_WIRE_NAME_MAX) ||
	    (params->rack != NULL && (params->rack[0] == '\0' ||
				      strlen(params->rack) > HS_RACK_MAX)) ||
	    params->tx_batch > HS_NODE_TX_BATCH_MAX)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->p = *params;
	hs_node_params_default(&n->p);
	if (n->p.frame_budget < 512 || n->p.frame_budget > HS_WIRE_FRAME_MAX ||
	    n->p.frame_budget > n->p.io->frame_max ||
	    n->p.jitter_ns > n->p.interval_ns || n->p.fanout > 16 ||
	    n->p.probe_relays > 15 || n->p.fd_mode > HS_FD_PHI ||
	    n->p.syn_mode > HS_SYN_DIGESTS ||
	    n->p.n_lanes > HS_NODE_LANES_MAX) {
		rc = -EINVAL;
		goto err_n;
	}
	/* phi lives on the heartbeats that digests carry */
	if (n->p.syn_mode == HS_SYN_AUTO && n->p.fd_mode == HS_FD_PHI)
		n->p.syn_mode = HS_SYN_DIGESTS;
	if (params->name != NULL)
		strcpy(n->name, params->name);
	/* Mixed, so that seeds a caller derives from ids (seed + i for node
	 * i) still give every node its own stream: rng_seed ^ id alone left
	 * 17 distinct streams for 1,000 simulated nodes. */
	n->rng = n->p.rng_seed ^ (n->p.id * 0x9e3779b97f4a7c15ull);
	(void)hs_splitmix64(&n->rng);
	n->sampler = params->sampler != NULL ? *params->sampler :
		     hs_peers_members_sampler(&n->own);
	/* A supplied sampler knows every address: gossiping membership too
	 * (our hs.addr, node records) would only build, on every node, the
	 * N^2 state the shared view exists to avoid. */
	n->membership = params->sampler == NULL;
	rc = -ENOMEM;
	n->buf = malloc(n->p.frame_budget);
	n->rumors = calloc(HS_NODE_RUMORS, sizeof(*n->rumors));
	n->lanes = calloc(n->p.n_lanes, sizeof(*n->lanes));
	if (n->buf == NULL || n->rumors == NULL || n->lanes == NULL)
		goto err_buf;
	n->l0.n = n;
	n->l0.io = n->p.io;
	n->l0.buf = n->buf;
	n->lanes[0] = &n->l0;
	if (hs_lane_tx_init(&n->l0) != 0)
		goto err_buf;
	if (n->p.n_seeds != 0) {
		n->seeds = calloc(n->p.n_seeds, sizeof(*n->seeds));
		if (n->seeds == NULL)
			goto err_buf;
		memcpy(n->seeds, params->seeds,
		       n->p.n_seeds * sizeof(*n->seeds));
	}
	tp = n->p.table;
	tp.self_id = n->p.id;
	tp.self_generation = n->p.generation;
	tp.n_ctx = n->p.n_lanes;
	tp.clock = n->p.clock;
	tp.clock_arg = n->p.clock_arg;
	rc = hs_table_create(&tp, &n->t);
	if (rc < 0)
		goto err_seeds;
	rc = hs_table_ctx_attach(n->t, 0, &n->c);
	if (rc < 0)
		goto err_table;
	n->l0.c = n->c;
	{
		struct hs_wire_node me = {
			.status = HS_WIRE_ST_ALIVE,
			.family = n->p.io->local.family,
			.port = n->p.io->local.port,
			.name_len = (uint8_t)strlen(n->name),
			.name = (const uint8_t *)n->name,
		};

		uint8_t av[HS_ADDR_VALUE_LEN];

		memcpy(me.addr, n->p.io->local.addr, 16);
		rc = hs_table_set_self(n->c, &me);
		if (rc < 0)
			goto err_ctx;
		hs_addr_encode(&n->p.io->local, av);
		if (n->membership &&
		    (hs_table_put(n->c, HS_KEY_ADDR, HS_KEY_ADDR_LEN, av,
				  sizeof(av)) < 0 ||
		     (params->rack != NULL &&
		      hs_table_put(n->c, HS_KEY_RACK, HS_KEY_RACK_LEN,
				   params->rack, strlen(params->rack)) < 0))) {
			rc = -ENOMEM;
			goto err_ctx;
		}
		if (params->rack != NULL)
			n->own.self_zone = hs_peers_zone(params->rack,
							 strlen(params->rack));
	}
	rc = hs_mb_init(n);
	if (rc == 0)
		rc = hs_api_init(n);
	if (rc < 0)
		goto err_api;
	/* first round at a random point of the first interval, so that nodes
	 * started together do not gossip in lockstep */
	n->next_round = hs_node_now(n) + hs_node_rand(n) % n->p.interval_ns;
	/* a full bucket: the first update a node sees goes at once too (an
	 * empty one held it back for 6 ms at 500/s) */
	n->push_tokens = n->p.fanout * 4;
	n->push_tokens_at = hs_node_now(n);
	*out = n;
	return 0;

err_api:
	hs_api_free(n);
	hs_mb_free(n);
err_ctx:
	hs_table_ctx_detach(n->c);
err_table:
	hs_table_destroy(n->t);
err_seeds:
	free(n->seeds);
err_buf:
	hs_lane_tx_free(&n->l0);
	free(n->lanes);
	free(n->rumors);
	free(n->buf);
err_n:
	free(n);
	return rc;
}

void
hs_node_destroy(struct hs_node *n)
{
	unsigned i;

	if (n == NULL)
		return;
	hs_api_free(n);
	hs_mb_free(n);
	hs_table_ctx_detach(n->c);
	hs_table_destroy(n->t);
	hs_peers_members_free(&n->own);
	for (i = 1; i < n->p.n_lanes; i++)
		hs_lane_free(n->lanes[i]);
	free(n->lanes);
	free(n->l0.all);
	free(n->l0.bh);
	hs_lane_tx_free(&n->l0);
	free(n->seeds);
	free(n->rumors);
	free(n->buf);
	free(n);
}

uint64_t
hs_node_next_round(const struct hs_node *n)
{
	return n->next_round;
}

struct hs_table *
hs_node_table(struct hs_node *n)
{
	return n->t;
}

struct hs_table_ctx *
hs_node_table_ctx(struct hs_node *n)
{
	return n->c;
}

void
hs_node_stats(const struct hs_node *n, struct hs_node_stats *s)
{
	unsigned i;

	*s = n->st;
	for (i = 0; i < n->p.n_lanes; i++) {
		struct hs_lane_stats ls;

		hs_node_lane_stats(n, i, &ls);
		s->rx_frames += ls.rx_frames;
		s->rx_bytes += ls.rx_bytes;
		s->rx_bad += ls.rx_bad;
		s->rx_other_cluster += ls.rx_other_cluster;
		s->rx_self += ls.rx_self;
		s->rx_unauth += ls.rx_unauth;
		s->rx_replay += ls.rx_replay;
		s->tx_unsealed += ls.tx_unsealed;
		s->rx_rate_limited += ls.rx_rate_limited;
		s->tx_frames += ls.tx_frames;
		s->tx_bytes += ls.tx_bytes;
		s->tx_dropped += ls.tx_dropped;
		s->ack_sent += ls.ack_sent;
		s->ack2_sent += ls.ack2_sent;
		s->ack_empty += ls.ack_empty;
		s->syn_replies += ls.syn_replies;
	}
	s->members = hs_node_n_peers(n);
	s->rumors = n->n_rumors;
	if (n->notify != NULL) {
		struct hs_notify_stats ns;

		hs_notify_stats(n->notify, &ns);
		s->notices_dropped = ns.dropped_full + ns.dropped_size;
	}
}

void
hs_node_leave(struct hs_node *n)
{
	struct hs_wire_node me;
	unsigned i;

	if (n->mb.leaving || !n->membership ||
	    hs_node_record(n, n->p.id, &me) != 0)
		return;
	n->mb.leaving = true;
	n->mb.incarnation++;
	me.status = HS_WIRE_ST_LEFT;
	me.incarnation = n->mb.incarnation;
	hs_table_set_self(n->c, &me);
	for (i = 0; i < HS_MB_PROBES; i++)
		n->mb.probes[i].phase = HS_PROBE_FREE;
	hs_mb_rumor(n, n->p.id);
	/* at once to twice the fanout, then with every round's PUSH */
	{
		struct hs_wire_builder b;
		struct hs_wire_hdr h;

		hs_node_hdr(n, &h, HS_WIRE_LEAVE);
		if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget,
					&h) != 0 ||
		    hs_wire_section_begin(&b, HS_WIRE_SEC_NODES) != 0 ||
		    hs_node_record(n, n->p.id, &me) != 0 ||
		    hs_wire_put_node(&b, &me) != 0)
			return;
		hs_wire_section_end(&b);
		hs_node_send_random(n, hs_wire_build_end(&b),
				    2 * n->p.fanout);
	}
}

bool
hs_node_left(const struct hs_node *n)
{
	return n->mb.leaving && hs_mb_n_rumors(n) == 0;
}
