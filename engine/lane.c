/*
 * hearsay lanes: a node's extra receive queues.  See node.h and
 * docs/DATAPATH.md.
 *
 * A lane k >= 1 does the costly part of a frame on its own worker: decode,
 * merge the deltas into the lock-free table through its own context, and
 * answer a SYN (ACK) or an ACK (ACK2) on its own queue.  What only the
 * primary may touch (member list, probes, suspicion, rumors, events,
 * push-sum) it hands over through an SPSC ring of frame-sized slots: the
 * frame itself, marked merged, and the entries the lane installed, in
 * batches.  The ring never blocks the lane: full, the item is dropped and
 * counted; a frame lost this way costs the primary a heartbeat or a record
 * that the next exchange carries again, and lost changes only stop a rumor
 * early (anti-entropy repairs) and make the primary rescan events.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/node_priv.h"

/* Hand the primary a copy of the frame (its deltas merged, answered). */
static void
hs_lane_forward_frame(struct hs_lane *l, const struct hs_pkt *pkt)
{
	struct hs_fwd *f;

	if ((size_t)pkt->len + sizeof(*f) > l->fwd->slot_size ||
	    (f = hs_spsc_reserve(l->fwd)) == NULL) {
		HS_COUNTER_INC(l->st.fwd_dropped);
		return;
	}
	f->type = HS_FWD_FRAME;
	f->lost = false;
	f->len = pkt->len;
	f->from = pkt->peer;
	memcpy(f + 1, pkt->data, pkt->len);
	hs_spsc_commit(l->fwd);
	HS_COUNTER_INC(l->st.fwd_frames);
}

/* Hand the primary the entries our context installed, in batches. */
static unsigned
hs_lane_forward_changes(struct hs_lane *l)
{
	unsigned max = (unsigned)((l->fwd->slot_size - sizeof(struct hs_fwd)) /
				  sizeof(struct hs_table_change));
	uint64_t lost = hs_table_changes_lost(l->c);
	unsigned total = 0;

	if (max > HS_LANE_FWD_CHANGES)
		max = HS_LANE_FWD_CHANGES;
	if (lost != 0 && lost != l->lost_seen) {
		l->lost_seen = lost;
		l->fwd_lost = true;
	}
	for (;;) {
		struct hs_table_change tmp[HS_LANE_FWD_CHANGES];
		struct hs_fwd *f = hs_spsc_reserve(l->fwd);
		unsigned got;

		got = hs_table_changes(l->c,
				       f != NULL ?
				       (struct hs_table_change *)(f + 1) : tmp,
				       max);
		if (got == 0)
			break;
		total += got;
		HS_COUNTER_ADD(l->st.merged, got);
		if (f == NULL) {
			/* full: dropped, and the primary told with the
			 * next batch that gets through */
			HS_COUNTER_INC(l->st.fwd_dropped);
			l->fwd_lost = true;
			continue;
		}
		f->type = HS_FWD_CHANGES;
		f->lost = l->fwd_lost;
		f->len = (uint16_t)got;
		memset(&f->from, 0, sizeof(f->from));
		l->fwd_lost = false;
		hs_spsc_commit(l->fwd);
		HS_COUNTER_ADD(l->st.fwd_changes, got);
	}
	return total;
}

/* Anything in the frame only the primary acts on? */
static bool
hs_lane_for_primary(const struct hs_lane *l, const struct hs_wire_msg *m)
{
	switch (m->hdr.type) {
	case HS_WIRE_SYN:
	case HS_WIRE_ACK:
	case HS_WIRE_ACK2:
	case HS_WIRE_PUSH:
		/* records, heartbeats (membership), aggregate shares, and
		 * the owners whose events may now be deliverable */
		return hs_wire_has(m, HS_WIRE_SEC_NODES) ||
		       hs_wire_has(m, HS_WIRE_SEC_AGG) ||
		       hs_wire_has(m, HS_WIRE_SEC_DELTAS) ||
		       (l->n->membership &&
			hs_wire_has(m, HS_WIRE_SEC_DIGESTS));
	default:
		return true;	/* join, leave, probes */
	}
}

int
hs_lane_poll(struct hs_lane *l)
{
	struct hs_pkt pkts[HS_NODE_RX_BURST];
	int got, i, fwd = 0;

	HS_COUNTER_INC(l->st.polls);
	l->batching = l->txq != NULL;
	got = hs_pktio_rx_burst(l->io, pkts, HS_NODE_RX_BURST);
	if (got > 0 && l->rate != NULL)	/* one read a burst, for rates */
		l->now = l->n->p.clock(l->n->p.clock_arg);
	for (i = 0; i < got; i++) {
		struct hs_wire_msg m;

		if (!hs_lane_accept(l, &pkts[i], &m))
			continue;
		if (hs_wire_has(&m, HS_WIRE_SEC_DELTAS))
			hs_table_merge_msg(l->c, &m);
		if (m.hdr.type == HS_WIRE_SYN)
			hs_lane_answer_syn(l, &m, &pkts[i].peer);
		else if (m.hdr.type == HS_WIRE_ACK)
			hs_lane_answer_ack(l, &m, &pkts[i].peer);
		/* changes first: the frame's groups then find them queued */
		if (hs_lane_for_primary(l, &m)) {
			fwd += (int)hs_lane_forward_changes(l);
			hs_lane_forward_frame(l, &pkts[i]);
			fwd++;
		}
	}
	fwd += (int)hs_lane_forward_changes(l);
	/* replaced entries to call_rcu when idle (or every 512: table.c),
	 * not every poll: see hs_node_poll */
	if (got <= 0)
		hs_table_ctx_flush(l->c);
	hs_lane_tx_flush(l);
	l->batching = false;
	if (fwd > 0 && l->n->wake != NULL)
		l->n->wake(l->n->wake_arg);
	return got > 0 ? got : 0;
}

int
hs_lane_open(struct hs_node *n, unsigned idx, struct hs_pktio *io,
	     struct hs_lane **out)
{
	struct hs_lane *l;
	int rc;

	if (n == NULL || io == NULL || out == NULL || idx == 0 ||
	    idx >= n->p.n_lanes || io->frame_max < n->p.frame_budget)
		return -EINVAL;
	if (__atomic_load_n(&n->lanes[idx], __ATOMIC_ACQUIRE) != NULL)
		return -EEXIST;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->n = n;
	l->idx = idx;
	l->io = io;
	l->buf = malloc(n->p.frame_budget);
	rc = l->buf == NULL ? -ENOMEM :
	     hs_spsc_create(HS_LANE_FWD_SLOTS,
			    (uint32_t)(sizeof(struct hs_fwd) + io->frame_max),
			    &l->fwd);
	if (rc == 0)
		rc = hs_lane_tx_init(l);
	if (rc == 0)
		rc = hs_table_ctx_attach(n->t, idx, &l->c);
	if (rc < 0) {
		hs_lane_tx_free(l);
		hs_spsc_destroy(l->fwd);
		free(l->buf);
		free(l);
		return rc;
	}
	__atomic_store_n(&n->lanes[idx], l, __ATOMIC_RELEASE);
	*out = l;
	return 0;
}

void
hs_lane_close(struct hs_lane *l)
{
	if (l == NULL || l->c == NULL)
		return;
	hs_lane_forward_changes(l);
	hs_lane_tx_flush(l);
	hs_lane_tx_free(l);
	hs_table_ctx_detach(l->c);
	l->c = NULL;
	free(l->buf);
	l->buf = NULL;
	free(l->all);
	l->all = NULL;
	l->n_all = l->cap_all = 0;
	free(l->bh);
	l->bh = NULL;
	l->cap_bh = 0;
}

void
hs_lane_free(struct hs_lane *l)
{
	if (l == NULL)
		return;
	hs_spsc_destroy(l->fwd);
	hs_lane_tx_free(l);
	free(l->buf);
	free(l->all);
	free(l->bh);
	free(l);
}

void
hs_node_lane_stats(const struct hs_node *n, unsigned idx,
		   struct hs_lane_stats *s)
{
	const struct hs_lane *l;

	memset(s, 0, sizeof(*s));
	if (idx >= n->p.n_lanes ||
	    (l = __atomic_load_n(&n->lanes[idx], __ATOMIC_ACQUIRE)) == NULL)
		return;
	s->rx_frames = HS_COUNTER_READ(l->st.rx_frames);
	s->rx_bytes = HS_COUNTER_READ(l->st.rx_bytes);
	s->rx_bad = HS_COUNTER_READ(l->st.rx_bad);
	s->rx_other_cluster = HS_COUNTER_READ(l->st.rx_other_cluster);
	s->rx_self = HS_COUNTER_READ(l->st.rx_self);
	s->rx_unauth = HS_COUNTER_READ(l->st.rx_unauth);
	s->rx_replay = HS_COUNTER_READ(l->st.rx_replay);
	s->tx_unsealed = HS_COUNTER_READ(l->st.tx_unsealed);
	s->rx_rate_limited = HS_COUNTER_READ(l->st.rx_rate_limited);
	s->tx_frames = HS_COUNTER_READ(l->st.tx_frames);
	s->tx_bytes = HS_COUNTER_READ(l->st.tx_bytes);
	s->tx_dropped = HS_COUNTER_READ(l->st.tx_dropped);
	s->ack_sent = HS_COUNTER_READ(l->st.ack_sent);
	s->ack2_sent = HS_COUNTER_READ(l->st.ack2_sent);
	s->ack_empty = HS_COUNTER_READ(l->st.ack_empty);
	s->syn_replies = HS_COUNTER_READ(l->st.syn_replies);
	s->merged = HS_COUNTER_READ(l->st.merged);
	s->fwd_frames = HS_COUNTER_READ(l->st.fwd_frames);
	s->fwd_changes = HS_COUNTER_READ(l->st.fwd_changes);
	s->fwd_dropped = HS_COUNTER_READ(l->st.fwd_dropped);
	s->polls = HS_COUNTER_READ(l->st.polls);
}

void
hs_node_set_wake(struct hs_node *n, void (*wake)(void *arg), void *arg)
{
	n->wake = wake;
	n->wake_arg = arg;
}
