/*
 * hearsay membership and failure detection.  docs/MEMBERSHIP.md has the
 * long form; node.h the parameters.
 *
 * What a node believes of a member is the member's node record in the
 * table, ordered by (generation, incarnation, status) with statuses ranked
 * alive < suspect < dead < left (table.c): SWIM's precedence as a total
 * order, so records merge in any order and every node ends with the same
 * belief.  This file turns records into the member list the peer sampler
 * draws from, raises suspicion, confirms death, refutes suspicion of
 * ourselves, and forgets.
 *
 * Detection: SWIM probes by default.  Each round the node PINGs the next
 * member of a shuffled pass over the members; no PING_ACK within
 * probe_timeout -> PING_REQ through probe_relays others; none within twice
 * that -> suspect.  A suspicion goes straight to the suspect (so that a
 * live one refutes within a round trip) and to everybody as a rumor; it
 * becomes dead where its timer (suspect_mult x max(1, log10 N) intervals)
 * runs out first, unless refuted by a higher incarnation.  The phi accrual
 * detector runs on heartbeat arrivals (heartbeats ride digests) and is
 * shown per member; with fd_mode HS_FD_PHI it raises suspicion instead of
 * the probes.  docs/PERFORMANCE.md compares the two.
 *
 * Our own stalls: a gap between two polls longer than stall_ns is a stall
 * of ours, measured.  Probes in flight across it are void, suspicion timers
 * and phi clocks move forward by it, and nobody is convicted until the
 * backlog that piled up during it has been read.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/node_priv.h"

/* ---- the member list ---- */

struct hs_member *
hs_mb_find(struct hs_node *n, uint64_t id)
{
	uint32_t i = hs_idmap_get(&n->mb.map, id);

	return i == HS_IDMAP_NONE ? NULL : &n->mb.m[i];
}

static struct hs_member *
hs_mb_add(struct hs_node *n, uint64_t id)
{
	struct hs_members *mb = &n->mb;
	struct hs_member *m;

	if (mb->n == mb->cap) {
		/* a quarter more, not twice: every node holds this list for
		 * every member, so slack is paid N^2 times in a cluster */
		uint32_t cap = mb->cap ? mb->cap + mb->cap / 4 + 16 : 16;
		struct hs_member *a = realloc(mb->m, cap * sizeof(*a));

		if (a == NULL)
			return NULL;
		mb->m = a;
		mb->cap = cap;
	}
	if (hs_idmap_set(&mb->map, id, mb->n) != 0)
		return NULL;
	m = &mb->m[mb->n++];
	memset(m, 0, sizeof(*m));
	m->id = id;
	hs_fd_init(&m->fd);
	return m;
}

static void
hs_mb_remove(struct hs_node *n, struct hs_member *m)
{
	struct hs_members *mb = &n->mb;
	uint32_t i = (uint32_t)(m - mb->m), last = mb->n - 1;

	hs_idmap_del(&mb->map, m->id);
	if (i != last) {
		mb->m[i] = mb->m[last];
		hs_idmap_set(&mb->map, mb->m[i].id, i);	/* cannot grow */
	}
	mb->n--;
}

void
hs_mb_notice(struct hs_node *n, uint8_t type, const struct hs_member *m)
{
	struct hs_notice nt;

	if (n->notify == NULL || !(n->notice_mask & (1u << type)))
		return;
	memset(&nt, 0, sizeof(nt));
	nt.type = type;
	nt.node = m->id;
	nt.generation = m->generation;
	nt.version = m->incarnation;
	nt.at_ns = hs_node_now(n);
	hs_notify_push(n->notify, &nt);
}

/* The sampler draws live members (alive and suspect) only. */
static void
hs_mb_draw(struct hs_node *n, struct hs_member *m, bool on)
{
	if (on) {
		struct hs_peer p = { .id = m->id, .addr = m->addr,
				     .zone = m->zone };

		n->sampler.ops->learn(n->sampler.ctx, &p);
	} else if (m->drawn && n->sampler.ops->forget != NULL) {
		n->sampler.ops->forget(n->sampler.ctx, m->id);
	}
	m->drawn = on;
}

void
hs_mb_rumor(struct hs_node *n, uint64_t id)
{
	struct hs_members *mb = &n->mb;
	unsigned i, rounds = 1, k = hs_node_n_peers(n) + 1;

	while (k > 1) {		/* ceil(log2(members + 1)) + 1 */
		k = (k + 1) / 2;
		rounds++;
	}
	rounds += 2;		/* membership news is rare: push it longer */
	for (i = 0; i < mb->n_rumors; i++)
		if (mb->rumors[i].id == id)
			break;
	if (i == mb->n_rumors) {
		if (mb->n_rumors == HS_MB_RUMORS) {
			/* drop the oldest: anti-entropy and probes still
			 * carry the news, slower */
			memmove(mb->rumors, mb->rumors + 1,
				(HS_MB_RUMORS - 1) * sizeof(mb->rumors[0]));
			mb->n_rumors--;
			n->st.mb_rumors_dropped++;
		}
		i = mb->n_rumors++;
	}
	mb->rumors[i].id = id;
	mb->rumors[i].rounds_left = rounds;
	mb->rumors[i].fresh = true;
}

static void
hs_mb_sus_add(struct hs_node *n, uint64_t id)
{
	struct hs_members *mb = &n->mb;
	unsigned i;

	for (i = 0; i < mb->n_sus; i++)
		if (mb->sus[i] == id)
			return;
	if (mb->n_sus < HS_MB_SUSPECTS)
		mb->sus[mb->n_sus++] = id;
	else
		n->st.suspects_overflow++;	/* the scan times it out */
}

static uint64_t
hs_mb_suspect_ns(const struct hs_node *n)
{
	double lg = log10((double)hs_node_n_peers(n) + 1.0);

	if (lg < 1.0)
		lg = 1.0;
	return (uint64_t)((double)n->p.suspect_mult * lg *
			  (double)n->p.interval_ns);
}

/*
 * Follow the table's record of id into the member list: status changes,
 * restarts, the sampler and notices.  The record is the truth; this is a
 * cache of it with timers.
 */
void
hs_mb_sync(struct hs_node *n, uint64_t id, uint64_t now)
{
	struct hs_table_node tn;
	struct hs_table_kv kv;
	struct hs_member *m;
	struct hs_addr addr;
	uint32_t zone = 0;
	uint8_t status;
	bool fresh = false, restart = false;

	if (!n->membership || id == n->p.id ||
	    hs_table_node_get(n->c, id, &tn) != 0)
		return;
	if (hs_table_get(n->c, id, HS_KEY_RACK, HS_KEY_RACK_LEN, &kv) == 0 &&
	    !kv.tombstone)
		zone = hs_peers_zone((const char *)kv.value, kv.value_len);
	memset(&addr, 0, sizeof(addr));
	if (tn.family != 0) {
		addr.family = tn.family;
		addr.port = tn.port;
		memcpy(addr.addr, tn.addr, 16);
		status = tn.status;
	} else {
		/* no record of this generation yet: its hs.addr key says
		 * where it is, and it is alive as far as we know */
		if (hs_table_get(n->c, id, HS_KEY_ADDR, HS_KEY_ADDR_LEN,
				 &kv) != 0 || kv.tombstone ||
		    hs_addr_decode(kv.value, kv.value_len, &addr) != 0)
			return;
		status = HS_WIRE_ST_ALIVE;
		tn.incarnation = 0;
	}
	m = hs_mb_find(n, id);
	if (m == NULL) {
		m = hs_mb_add(n, id);
		if (m == NULL) {
			n->st.mb_nomem++;
			return;
		}
		fresh = true;
		m->status = HS_WIRE_ST_ALIVE;
	} else if (m->generation == tn.generation &&
		   m->incarnation == tn.incarnation && m->status == status &&
		   hs_addr_eq(&m->addr, &addr) && m->zone == zone) {
		return;
	}
	if (!fresh && m->generation != tn.generation) {
		restart = true;
		hs_fd_init(&m->fd);
	}
	m->addr = addr;
	m->zone = zone;
	m->generation = tn.generation;
	m->incarnation = tn.incarnation;
	if (!fresh && !restart && m->status == status) {
		hs_mb_draw(n, m, m->drawn);	/* address or rack news */
		return;
	}
	m->since_ns = now;
	switch (status) {
	case HS_WIRE_ST_ALIVE:
		hs_mb_draw(n, m, true);
		hs_mb_notice(n, fresh || restart ? HS_NOTICE_JOIN :
				HS_NOTICE_ALIVE, m);
		if (!fresh && m->status != HS_WIRE_ST_ALIVE)
			n->st.revived++;
		break;
	case HS_WIRE_ST_SUSPECT:
		hs_mb_draw(n, m, true);
		m->suspect_until = now + n->mb.suspect_ns;
		hs_mb_sus_add(n, id);
		if (fresh)
			hs_mb_notice(n, HS_NOTICE_JOIN, m);
		hs_mb_notice(n, HS_NOTICE_SUSPECT, m);
		break;
	case HS_WIRE_ST_DEAD:
		hs_mb_draw(n, m, false);
		hs_mb_notice(n, HS_NOTICE_DEAD, m);
		break;
	default:
		hs_mb_draw(n, m, false);
		hs_mb_notice(n, HS_NOTICE_LEAVE, m);
		break;
	}
	m->status = status;
}

/* Change a member's record to status (same generation and incarnation):
 * our own suspicion or confirmation. */
static void
hs_mb_assert(struct hs_node *n, struct hs_member *m, uint8_t status,
	     uint64_t now)
{
	struct hs_wire_node r;
	uint64_t id = m->id;

	if (hs_node_record(n, id, &r) != 0) {
		/* no record yet (known from its hs.addr only) */
		memset(&r, 0, sizeof(r));
		r.node = id;
		r.generation = m->generation;
		r.family = m->addr.family;
		r.port = m->addr.port;
		memcpy(r.addr, m->addr.addr, 16);
	}
	r.status = status;
	r.incarnation = m->incarnation;
	if (hs_table_merge_node(n->c, &r) != 1)
		return;
	hs_mb_sync(n, id, now);
	hs_mb_rumor(n, id);
}

static void
hs_mb_suspect(struct hs_node *n, struct hs_member *m, uint64_t now)
{
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	struct hs_addr to = m->addr;

	if (m->status != HS_WIRE_ST_ALIVE || n->mb.leaving)
		return;
	n->st.suspicions++;
	hs_mb_assert(n, m, HS_WIRE_ST_SUSPECT, now);
	/* tell the suspect itself: a live one refutes within a round trip */
	hs_node_hdr(n, &h, HS_WIRE_PUSH);
	if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget, &h) != 0 ||
	    hs_wire_section_begin(&b, HS_WIRE_SEC_NODES) != 0)
		return;
	{
		struct hs_wire_node r;

		if (hs_node_record(n, m->id, &r) == 0)
			hs_wire_put_node(&b, &r);
		if (hs_node_record(n, n->p.id, &r) == 0)
			hs_wire_put_node(&b, &r);
	}
	hs_wire_section_end(&b);
	hs_node_send(n, &to, hs_wire_build_end(&b));
}

/* A record about ourselves: refute a suspicion or death of our current
 * generation by raising our incarnation above it. */
static void
hs_mb_about_me(struct hs_node *n, const struct hs_wire_node *r,
	       const struct hs_addr *from)
{
	struct hs_wire_node me;

	if (r->generation != n->p.generation ||
	    r->status == HS_WIRE_ST_ALIVE ||
	    r->incarnation < n->mb.incarnation || n->mb.leaving)
		return;
	n->mb.incarnation = r->incarnation + 1;
	if (hs_node_record(n, n->p.id, &me) != 0)
		return;
	me.status = HS_WIRE_ST_ALIVE;
	me.incarnation = n->mb.incarnation;
	hs_table_set_self(n->c, &me);
	n->st.refutes++;
	hs_mb_rumor(n, n->p.id);
	/* and straight back to whoever told us */
	if (from != NULL) {
		struct hs_wire_builder b;
		struct hs_wire_hdr h;

		hs_node_hdr(n, &h, HS_WIRE_PUSH);
		if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget,
					&h) == 0 &&
		    hs_wire_section_begin(&b, HS_WIRE_SEC_NODES) == 0 &&
		    hs_node_record(n, n->p.id, &me) == 0 &&
		    hs_wire_put_node(&b, &me) == 0) {
			hs_wire_section_end(&b);
			hs_node_send(n, from, hs_wire_build_end(&b));
		}
	}
}

void
hs_mb_on_record(struct hs_node *n, const struct hs_wire_node *r,
		const struct hs_addr *from, uint64_t now)
{
	int rc;

	if (r->node == n->p.id) {
		hs_mb_about_me(n, r, from);
		return;
	}
	rc = hs_table_merge_node(n->c, r);
	if (rc < 0)
		return;
	if (!n->membership)
		return;
	if (rc > 0) {
		struct hs_member *m = hs_mb_find(n, r->node);
		uint8_t before = m != NULL ? m->status : 0xff;
		uint64_t gen = m != NULL ? m->generation : 0;

		hs_mb_sync(n, r->node, now);
		m = hs_mb_find(n, r->node);
		/* pass on news of a status or a restart, not every address
		 * refresh nor every join (anti-entropy spreads those) */
		if (m != NULL && before != 0xff &&
		    (m->status != before || m->generation != gen))
			hs_mb_rumor(n, r->node);
		else if (m != NULL && before == 0xff &&
			 m->status != HS_WIRE_ST_ALIVE)
			hs_mb_rumor(n, r->node);
	} else if (hs_mb_find(n, r->node) == NULL) {
		hs_mb_sync(n, r->node, now);
	}
}

/* ---- heartbeats and phi ---- */

/* Our clock with our own stalls taken out: silences measured on it do
 * not grow while we were not running. */
static uint64_t
hs_mb_clock(const struct hs_node *n, uint64_t now)
{
	return now - n->mb.stall_total;
}

void
hs_mb_on_digest(struct hs_node *n, const struct hs_wire_digest *d,
		uint64_t sender, uint64_t now)
{
	struct hs_member *m;

	if (d->node == n->p.id) {
		/* the sender's view of us: what of ours it holds */
		if (d->generation == n->p.generation &&
		    (m = hs_mb_find(n, sender)) != NULL &&
		    m->seen_version < d->max_version)
			m->seen_version = d->max_version;
		return;
	}
	if (d->generation == 0 ||
	    hs_table_merge_heartbeat(n->c, d->node, d->generation,
				     d->heartbeat) != 1)
		return;
	m = hs_mb_find(n, d->node);
	if (m != NULL && m->generation == d->generation)
		hs_fd_heartbeat(&m->fd, &n->p.fd, hs_mb_clock(n, now));
}

/* Tell a member we hold dead that it is, at most once a round: if it is
 * alive after all, it refutes. */
static void
hs_mb_tell_dead(struct hs_node *n, struct hs_member *x, uint64_t now)
{
	if (x->told_dead_at != 0 && now - x->told_dead_at < n->p.interval_ns)
		return;
	x->told_dead_at = now;
	{
		struct hs_wire_builder b;
		struct hs_wire_hdr h;
		struct hs_wire_node r;

		hs_node_hdr(n, &h, HS_WIRE_PUSH);
		if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget,
					&h) != 0 ||
		    hs_wire_section_begin(&b, HS_WIRE_SEC_NODES) != 0 ||
		    hs_node_record(n, x->id, &r) != 0 ||
		    hs_wire_put_node(&b, &r) != 0)
			return;
		hs_wire_section_end(&b);
		hs_node_send(n, &x->addr, hs_wire_build_end(&b));
	}
}

void
hs_mb_on_frame(struct hs_node *n, const struct hs_wire_msg *m,
	       const struct hs_addr *from, uint64_t now)
{
	struct hs_member *x = hs_mb_find(n, m->hdr.sender_id);

	(void)from;
	if (x != NULL && x->generation == m->hdr.sender_gen)
		x->heard_ns = now;
	/* a member we hold dead talks to us */
	if (x != NULL && x->generation == m->hdr.sender_gen &&
	    x->status == HS_WIRE_ST_DEAD && n->membership)
		hs_mb_tell_dead(n, x, now);
}

/* ---- probes ---- */

static struct hs_probe *
hs_mb_probe_slot(struct hs_node *n)
{
	unsigned i;

	for (i = 0; i < HS_MB_PROBES; i++)
		if (n->mb.probes[i].phase == HS_PROBE_FREE)
			return &n->mb.probes[i];
	return NULL;
}

static struct hs_probe *
hs_mb_probe_by_seq(struct hs_node *n, uint64_t seq)
{
	unsigned i;

	for (i = 0; i < HS_MB_PROBES; i++)
		if (n->mb.probes[i].phase != HS_PROBE_FREE &&
		    n->mb.probes[i].seq == seq)
			return &n->mb.probes[i];
	return NULL;
}

/* A probe message, with the member rumors riding along (SWIM's
 * piggybacking). */
static void
hs_mb_send_probe(struct hs_node *n, uint8_t type, uint64_t seq,
		 uint64_t target, const struct hs_addr *where,
		 const struct hs_addr *to)
{
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	struct hs_wire_probe p;

	memset(&p, 0, sizeof(p));
	p.probe_seq = seq;
	p.target = target;
	if (where != NULL) {
		p.family = where->family;
		p.port = where->port;
		memcpy(p.addr, where->addr, 16);
	}
	hs_node_hdr(n, &h, type);
	if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget, &h) != 0)
		return;
	/* the probe's room kept: rumors fill what is left of the frame,
	 * and with many of them (a wave of suspicions) they took it all, the
	 * probe was not sent, and more members were suspected (measured: at
	 * 30% loss, every probe of a 120-node cluster failing by round 40) */
	b.cap -= HS_WIRE_SEC_HDR_LEN + HS_WIRE_PROBE_LEN;
	hs_mb_put_rumors(n, &b, false);
	b.cap += HS_WIRE_SEC_HDR_LEN + HS_WIRE_PROBE_LEN;
	if (hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE) != 0 ||
	    hs_wire_put_probe(&b, &p) != 0)
		return;
	hs_wire_section_end(&b);
	hs_node_send(n, to, hs_wire_build_end(&b));
}

/* The next member of the probe pass (a fresh shuffle of the live members
 * at each wrap, as SWIM does, so that every member is probed once per
 * pass and a dead one is found within a pass). */
static struct hs_member *
hs_mb_next_target(struct hs_node *n)
{
	struct hs_members *mb = &n->mb;
	unsigned tries;

	for (tries = 0; tries < 2; tries++) {
		while (mb->order_pos < mb->n_order) {
			struct hs_member *m =
				hs_mb_find(n, mb->order[mb->order_pos++]);

			if (m != NULL && m->drawn)
				return m;
		}
		if (mb->cap_order < mb->n) {
			uint64_t *o = realloc(mb->order,
					      mb->cap * sizeof(*o));

			if (o == NULL)
				return NULL;
			mb->order = o;
			mb->cap_order = mb->cap;
		}
		mb->n_order = 0;
		for (uint32_t i = 0; i < mb->n; i++)
			if (mb->m[i].drawn)
				mb->order[mb->n_order++] = mb->m[i].id;
		for (uint32_t i = mb->n_order; i > 1; i--) {
			uint32_t j = (uint32_t)(hs_node_rand(n) % i);
			uint64_t t = mb->order[i - 1];

			mb->order[i - 1] = mb->order[j];
			mb->order[j] = t;
		}
		mb->order_pos = 0;
	}
	return NULL;
}

/* The member's heartbeat as we hold it now (0: unknown). */
static uint64_t
hs_mb_heartbeat(struct hs_node *n, uint64_t id)
{
	struct hs_wire_digest d;

	return hs_table_digest(n->c, id, &d) == 0 ? d.heartbeat : 0;
}

static void
hs_mb_start_probe(struct hs_node *n, uint64_t now)
{
	struct hs_probe *p = hs_mb_probe_slot(n);
	struct hs_member *m;

	if (p == NULL) {
		n->st.probes_busy++;
		return;
	}
	m = hs_mb_next_target(n);
	if (m == NULL)
		return;
	p->phase = HS_PROBE_DIRECT;
	p->seq = ++n->mb.probe_seq;
	p->target = m->id;
	p->heartbeat = hs_mb_heartbeat(n, m->id);
	p->deadline = now + n->p.probe_timeout_ns;
	hs_mb_send_probe(n, HS_WIRE_PING, p->seq, m->id, NULL, &m->addr);
	n->st.probes++;
}

void
hs_mb_on_probe(struct hs_node *n, const struct hs_wire_msg *msg,
	       const struct hs_addr *from, uint64_t now)
{
	struct hs_wire_probe pr;
	struct hs_probe *p;
	struct hs_member *m;

	hs_wire_probe_get(msg, &pr);
	switch (msg->hdr.type) {
	case HS_WIRE_PING:
		if (pr.target != n->p.id) {
			n->st.probes_misdirected++;
			return;
		}
		hs_mb_send_probe(n, HS_WIRE_PING_ACK, pr.probe_seq, n->p.id,
				 NULL, from);
		break;
	case HS_WIRE_PING_REQ:
		m = hs_mb_find(n, pr.target);
		p = hs_mb_probe_slot(n);
		if (p == NULL || pr.target == n->p.id) {
			n->st.probes_busy += p == NULL;
			return;
		}
		p->phase = HS_PROBE_RELAY;
		p->seq = ++n->mb.probe_seq;
		p->target = pr.target;
		p->reply_seq = pr.probe_seq;
		p->reply_to = *from;
		p->deadline = now + 2 * n->p.probe_timeout_ns;
		if (pr.family != 0) {
			struct hs_addr a = { .family = pr.family,
					     .port = pr.port };

			memcpy(a.addr, pr.addr, 16);
			hs_mb_send_probe(n, HS_WIRE_PING, p->seq, pr.target,
					 NULL, &a);
		} else if (m != NULL) {
			hs_mb_send_probe(n, HS_WIRE_PING, p->seq, pr.target,
					 NULL, &m->addr);
		} else {
			p->phase = HS_PROBE_FREE;
			return;
		}
		n->st.relayed++;
		break;
	case HS_WIRE_PING_ACK:
		p = hs_mb_probe_by_seq(n, pr.probe_seq);
		if (p == NULL || p->target != pr.target) {
			n->st.acks_late++;
			return;
		}
		if (p->phase == HS_PROBE_RELAY)
			hs_mb_send_probe(n, HS_WIRE_PING_ACK, p->reply_seq,
					 p->target, NULL, &p->reply_to);
		else
			n->st.probe_acks++;
		p->phase = HS_PROBE_FREE;
		break;
	default:
		break;
	}
}

static void
hs_mb_probe_timeout(struct hs_node *n, struct hs_probe *p, uint64_t now)
{
	struct hs_member *m = hs_mb_find(n, p->target);
	struct hs_peer relays[16];
	unsigned k, i, sent = 0;

	if (p->phase == HS_PROBE_RELAY || m == NULL || !m->drawn) {
		p->phase = HS_PROBE_FREE;
		return;
	}
	/* a newer heartbeat of the target reached us meanwhile, through
	 * anyone's digests: it was alive after the probe began, and the
	 * probe or its answer was lost (a lossy path is not a dead node) */
	if (hs_mb_heartbeat(n, p->target) > p->heartbeat) {
		p->phase = HS_PROBE_FREE;
		n->st.probes_heartbeat++;
		return;
	}
	if (p->phase == HS_PROBE_DIRECT) {
		k = n->sampler.ops->sample(n->sampler.ctx, n->p.id, &n->rng,
					   relays, n->p.probe_relays + 1);
		for (i = 0; i < k && sent < n->p.probe_relays; i++) {
			if (relays[i].id == p->target)
				continue;
			hs_mb_send_probe(n, HS_WIRE_PING_REQ, p->seq,
					 p->target, &m->addr, &relays[i].addr);
			sent++;
		}
		/* and once more directly: the first PING or its ACK may
		 * just have been lost */
		hs_mb_send_probe(n, HS_WIRE_PING, p->seq, p->target, NULL,
				 &m->addr);
		n->st.ping_reqs += sent;
		p->phase = HS_PROBE_INDIRECT;
		p->deadline = now + 2 * n->p.probe_timeout_ns;
		return;
	}
	p->phase = HS_PROBE_FREE;
	n->st.probes_failed++;
	if (now < n->mb.no_convict_until)
		return;
	hs_mb_suspect(n, m, now);
}

/* ---- timers ---- */

static void
hs_mb_declare_dead(struct hs_node *n, struct hs_member *m, uint64_t now)
{
	n->st.deaths++;
	hs_mb_assert(n, m, HS_WIRE_ST_DEAD, now);
}

/* Our own stall of gap ns: void what it made meaningless. */
static void
hs_mb_stalled(struct hs_node *n, uint64_t gap, uint64_t now)
{
	struct hs_members *mb = &n->mb;
	unsigned i;

	n->st.stalls++;
	n->st.stall_ns += gap;
	mb->stall_total += gap;
	for (i = 0; i < HS_MB_PROBES; i++)
		if (mb->probes[i].phase == HS_PROBE_DIRECT ||
		    mb->probes[i].phase == HS_PROBE_INDIRECT)
			mb->probes[i].phase = HS_PROBE_FREE;
	for (i = 0; i < mb->n_sus; i++) {
		struct hs_member *m = hs_mb_find(n, mb->sus[i]);

		if (m != NULL)
			m->suspect_until += gap;
	}
	/* the frames that piled up meanwhile (refutations, acks) are read
	 * before anyone is convicted, and fresh probes get their time */
	mb->no_convict_until = now + 3 * n->p.probe_timeout_ns +
			       n->p.interval_ns;
}

/* Every gc_interval: forget the long dead and departed, resample the dead
 * we gossip to, catch suspicion timers that did not fit, collect
 * tombstones.  O(members) once a second, never per round. */
static void
hs_mb_scan(struct hs_node *n, uint64_t now)
{
	struct hs_members *mb = &n->mb;
	uint32_t i = 0, seen_dead = 0;

	mb->n_dead = 0;
	while (i < mb->n) {
		struct hs_member *m = &mb->m[i];

		if ((m->status == HS_WIRE_ST_DEAD ||
		     m->status == HS_WIRE_ST_LEFT) &&
		    now - m->since_ns >= n->p.forget_ns) {
			hs_table_forget(n->c, m->id, m->generation);
			hs_node_state_changed(n);
			if (n->ev != NULL)
				hs_events_forget(n->ev, m->id);
			hs_mb_draw(n, m, false);
			n->st.forgotten++;
			hs_mb_remove(n, m);
			continue;	/* the last one moved into i */
		}
		if (m->status == HS_WIRE_ST_DEAD) {
			/* reservoir sample of the dead */
			seen_dead++;
			if (mb->n_dead < HS_MB_DEAD)
				mb->dead[mb->n_dead++] = m->id;
			else {
				uint32_t j = (uint32_t)(hs_node_rand(n) %
							seen_dead);

				if (j < HS_MB_DEAD)
					mb->dead[j] = m->id;
			}
		}
		if (m->status == HS_WIRE_ST_SUSPECT &&
		    now >= m->suspect_until && now >= mb->no_convict_until)
			hs_mb_declare_dead(n, m, now);
		i++;
	}
	hs_table_gc(n->c);
	hs_node_state_changed(n);
	hs_api_scan(n);
}

void
hs_mb_stall_check(struct hs_node *n, uint64_t now)
{
	struct hs_members *mb = &n->mb;

	if (mb->last_poll != 0 && now - mb->last_poll > n->p.stall_ns &&
	    n->membership)
		hs_mb_stalled(n, now - mb->last_poll, now);
	mb->last_poll = now;
}

void
hs_mb_poll(struct hs_node *n, uint64_t now)
{
	struct hs_members *mb = &n->mb;
	unsigned i;

	if (!n->membership)
		return;
	for (i = 0; i < HS_MB_PROBES; i++) {
		struct hs_probe *p = &mb->probes[i];

		if (p->phase != HS_PROBE_FREE && now >= p->deadline)
			hs_mb_probe_timeout(n, p, now);
	}
	for (i = 0; i < mb->n_sus;) {
		struct hs_member *m = hs_mb_find(n, mb->sus[i]);

		if (m == NULL || m->status != HS_WIRE_ST_SUSPECT) {
			mb->sus[i] = mb->sus[--mb->n_sus];
			continue;
		}
		if (now >= m->suspect_until && now >= mb->no_convict_until &&
		    !mb->leaving) {
			hs_mb_declare_dead(n, m, now);
			/* dead now, or its record moved on meanwhile: its
			 * timer is done either way */
			mb->sus[i] = mb->sus[--mb->n_sus];
			continue;
		}
		i++;
	}
	if (now >= mb->next_scan) {
		mb->next_scan = now + n->p.gc_interval_ns;
		hs_mb_scan(n, now);
	}
}

/* Phi mode: suspect the members whose silence has grown unlikely.  One
 * comparison per member and round. */
static void
hs_mb_phi_round(struct hs_node *n, uint64_t now)
{
	uint64_t t = hs_mb_clock(n, now);
	uint32_t i;

	if (now < n->mb.no_convict_until)
		return;
	for (i = 0; i < n->mb.n; i++) {
		struct hs_member *m = &n->mb.m[i];

		if (m->status == HS_WIRE_ST_ALIVE && m->fd.last_ns != 0 &&
		    hs_fd_phi(&m->fd, &n->p.fd, t) > n->p.phi_threshold)
			hs_mb_suspect(n, m, now);
	}
}

void
hs_mb_round(struct hs_node *n, uint64_t now)
{
	struct hs_members *mb = &n->mb;
	unsigned i, kept = 0;

	if (!n->membership)
		return;
	mb->suspect_ns = hs_mb_suspect_ns(n);
	if (!mb->leaving) {
		if (n->p.fd_mode == HS_FD_PHI)
			hs_mb_phi_round(n, now);
		else
			hs_mb_start_probe(n, now);
	}
	/* now and then, one of the dead: if it is back (a healed
	 * partition, a false death), its dead record makes it refute */
	if (mb->n_dead != 0 && hs_node_rand(n) % 4 == 0) {
		struct hs_member *m = hs_mb_find(
			n, mb->dead[hs_node_rand(n) % mb->n_dead]);

		if (m != NULL && m->status == HS_WIRE_ST_DEAD) {
			hs_mb_tell_dead(n, m, now);
			n->st.dead_probes++;
		}
	}
	for (i = 0; i < mb->n_rumors; i++)
		if (--mb->rumors[i].rounds_left > 0)
			mb->rumors[kept++] = mb->rumors[i];
	mb->n_rumors = kept;
}

unsigned
hs_mb_put_rumors(struct hs_node *n, struct hs_wire_builder *b,
		 bool fresh_only)
{
	struct hs_members *mb = &n->mb;
	unsigned i, put = 0;

	if (mb->n_rumors == 0 || (fresh_only && !hs_mb_has_fresh(n)) ||
	    hs_wire_section_begin(b, HS_WIRE_SEC_NODES) != 0)
		return 0;
	for (i = mb->n_rumors; i-- > 0;) {	/* newest first */
		struct hs_wire_node r;

		if (fresh_only && !mb->rumors[i].fresh)
			continue;
		if (hs_node_record(n, mb->rumors[i].id, &r) != 0)
			continue;
		if (hs_wire_put_node(b, &r) != 0)
			break;
		if (fresh_only)
			mb->rumors[i].fresh = false;
		put++;
	}
	hs_wire_section_end(b);	/* dropped when empty */
	return put;
}

bool
hs_mb_has_fresh(const struct hs_node *n)
{
	unsigned i;

	for (i = 0; i < n->mb.n_rumors; i++)
		if (n->mb.rumors[i].fresh)
			return true;
	return false;
}

unsigned
hs_mb_n_rumors(const struct hs_node *n)
{
	return n->mb.n_rumors;
}

int
hs_mb_init(struct hs_node *n)
{
	n->mb.next_scan = hs_node_now(n) + n->p.gc_interval_ns;
	n->mb.suspect_ns = hs_mb_suspect_ns(n);
	return 0;
}

void
hs_mb_free(struct hs_node *n)
{
	free(n->mb.m);
	free(n->mb.order);
	hs_idmap_free(&n->mb.map);
	memset(&n->mb, 0, sizeof(n->mb));
}
