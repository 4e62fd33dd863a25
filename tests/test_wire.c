/*
 * Unit tests for engine/wire, the v1 frame codec.
 *
 * Frames are described by a model (struct model: header, then every item of
 * every section), built with the real builder and decoded with the real
 * decoder, and compared field by field through the inline readers.  The
 * section rules are restated here from docs/PROTOCOL.md (spec_rules), not
 * taken from wire.c, so that the two are checked against each other.
 *
 * What the decoder refuses is checked with the exact error class wire.h
 * documents; what it accepts (single-byte changes of valid frames, random
 * garbage) is walked item by item, checking before every read that the
 * readers stay inside the frame.  Those frames are copied to heap buffers
 * of their exact length so that ASan also catches a read one byte past the
 * end.
 *
 * Random parts print their seed; HS_TEST_SEED overrides it.  With
 * HS_WIRE_WRITE_CORPUS=dir the sample frames are also written to dir, as
 * the seed corpus of tests/fuzz/fuzz_wire.c (tests/fuzz/corpus/wire).
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
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

#include "engine/wire.h"
#include "tests/hs_test.h"

#define B(s)		(1u << HS_WIRE_SEC_##s)
#define PIGGY		(B(DELTAS) | B(EVENTS) | B(NODES))

static uint64_t test_seed;

/* Sections each message type may carry, and of which it needs one
 * (docs/PROTOCOL.md, "Messages"). */
static const struct {
	uint32_t allowed;
	uint32_t need_any;
} spec_rules[HS_WIRE_TYPE_MAX + 1] = {
	[HS_WIRE_SYN] = { B(DIGESTS) | B(SUMMARY) | B(NODES),
			  B(DIGESTS) | B(SUMMARY) },
	[HS_WIRE_ACK] = { B(DIGESTS) | PIGGY, 0 },
	[HS_WIRE_ACK2] = { PIGGY, 0 },
	[HS_WIRE_PUSH] = { PIGGY | B(AGG), PIGGY | B(AGG) },
	[HS_WIRE_JOIN] = { B(NODES), B(NODES) },
	[HS_WIRE_LEAVE] = { B(NODES), B(NODES) },
	[HS_WIRE_PING] = { B(PROBE) | PIGGY, B(PROBE) },
	[HS_WIRE_PING_REQ] = { B(PROBE) | PIGGY, B(PROBE) },
	[HS_WIRE_PING_ACK] = { B(PROBE) | PIGGY, B(PROBE) },
};

/* ---- model of a message ---- */

#define M_DIGESTS	8
#define M_HASHES	16
#define M_GROUPS	4
#define M_ENTRIES	8
#define M_VALUE_MAX	300
#define M_EVENTS	4
#define M_EVENT_MAX	64
#define M_NODES		4
#define M_AGGS		4

struct m_entry {
	uint64_t version;
	uint8_t flags;
	uint8_t key_len;
	uint16_t value_len;
	uint8_t key[HS_WIRE_KEY_MAX];
	uint8_t value[M_VALUE_MAX];
};

struct m_group {
	uint64_t owner;
	uint64_t generation;
	uint64_t from;
	uint64_t to;
	uint64_t floor;
	uint8_t flags;
	unsigned n;
	struct m_entry e[M_ENTRIES];
};

struct m_event {
	uint64_t origin;
	uint64_t generation;
	uint64_t seq;
	uint16_t len;
	uint8_t payload[M_EVENT_MAX];
};

struct m_node {
	struct hs_wire_node n;	/* n.name unused: see name[] */
	uint8_t name[HS_WIRE_NAME_MAX];
};

struct m_agg {
	struct hs_wire_agg a;	/* a.key unused: see key[] */
	uint8_t key[HS_WIRE_KEY_MAX];
};

struct model {
	struct hs_wire_hdr hdr;
	uint32_t mask;		/* sections present */
	unsigned n_digests;
	struct hs_wire_digest digests[M_DIGESTS];
	uint16_t n_buckets;
	uint16_t first;
	uint16_t count;
	uint64_t hashes[M_HASHES];
	unsigned n_groups;
	struct m_group groups[M_GROUPS];
	unsigned n_events;
	struct m_event events[M_EVENTS];
	unsigned n_nodes;
	struct m_node nodes[M_NODES];
	struct hs_wire_probe probe;
	unsigned n_aggs;
	struct m_agg aggs[M_AGGS];
	uint8_t trailer[HS_WIRE_TRAILER_MAX];
};

/* Frame length by the offset tables of docs/PROTOCOL.md, not the builder. */
static size_t
model_size(const struct model *m)
{
	size_t len = HS_WIRE_HDR_LEN + m->hdr.trailer_len;
	unsigned i, j;

	if (m->mask & B(DIGESTS))
		len += 4 + 40 * m->n_digests;
	if (m->mask & B(SUMMARY))
		len += 4 + 8 + 8 * (size_t)m->count;
	if (m->mask & B(DELTAS)) {
		len += 4;
		for (i = 0; i < m->n_groups; i++) {
			len += 44;
			for (j = 0; j < m->groups[i].n; j++)
				len += 12 + m->groups[i].e[j].key_len +
				       m->groups[i].e[j].value_len;
		}
	}
	if (m->mask & B(EVENTS)) {
		len += 4;
		for (i = 0; i < m->n_events; i++)
			len += 26 + m->events[i].len;
	}
	if (m->mask & B(NODES)) {
		len += 4;
		for (i = 0; i < m->n_nodes; i++)
			len += 45 + m->nodes[i].n.name_len;
	}
	if (m->mask & B(PROBE))
		len += 4 + 36;
	if (m->mask & B(AGG)) {
		len += 4;
		for (i = 0; i < m->n_aggs; i++)
			len += 56 + m->aggs[i].a.key_len;
	}
	return len;
}

static void
fill_bytes(uint8_t *p, size_t n, uint64_t *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(s);
}

/* Model flavours: which corners of the format a sample exercises. */
#define FL_AUTH		0x01u	/* AUTH flag and a trailer */
#define FL_RESET	0x02u	/* the first delta group is a RESET */
#define FL_TOMB		0x04u	/* tombstones among the entries */
#define FL_EMPTY	0x08u	/* the last delta group has no entry */
#define FL_V6		0x10u	/* IPv6 addresses */
#define FL_BIG		0x20u	/* long keys, values, names; many items */
#define FL_MAXINT	0x40u	/* u64 fields at or near 2^64 - 1 */
#define FL_NOADDR	0x80u	/* probe without an address */
#define FL_ALL		0xffu

static void
model_fill(struct model *m, uint8_t type, uint32_t mask, unsigned fl,
	   uint64_t *s)
{
	bool big = fl & FL_BIG, maxint = fl & FL_MAXINT;
	unsigned i, j;

	memset(m, 0, sizeof(*m));
	m->hdr.type = type;
	m->hdr.cluster_id = maxint ? UINT32_MAX : (uint32_t)rnd(s);
	m->hdr.sender_id = maxint ? UINT64_MAX : 1 + rnd(s) % 1000;
	m->hdr.sender_gen = maxint ? UINT64_MAX : rnd(s) % 100;
	m->hdr.seq = maxint ? UINT64_MAX : rnd(s);
	if (fl & FL_AUTH) {
		m->hdr.flags = HS_WIRE_F_AUTH;
		m->hdr.trailer_len = big ? HS_WIRE_TRAILER_MAX : 16;
		fill_bytes(m->trailer, m->hdr.trailer_len, s);
	}
	m->mask = mask;

	if (mask & B(DIGESTS)) {
		m->n_digests = 1 + (unsigned)(rnd(s) % (big ? M_DIGESTS : 3));
		for (i = 0; i < m->n_digests; i++) {
			struct hs_wire_digest *d = &m->digests[i];

			d->node = maxint ? UINT64_MAX - i : 1 + rnd(s) % 1000;
			d->generation = maxint ? UINT64_MAX : rnd(s) % 10;
			d->heartbeat = maxint ? UINT64_MAX : rnd(s);
			d->max_version = maxint ? UINT64_MAX : rnd(s) % 5000;
			d->floor = maxint ? UINT64_MAX :
				   rnd(s) % (d->max_version + 1);
		}
	}
	if (mask & B(SUMMARY)) {
		m->n_buckets = big ? 32768 : (uint16_t)(1u << (rnd(s) % 8));
		m->count = (uint16_t)(1 + rnd(s) %
				      (m->n_buckets < M_HASHES ?
				       m->n_buckets : M_HASHES));
		m->first = (uint16_t)(rnd(s) % (m->n_buckets - m->count + 1u));
		if (maxint)
			m->first = (uint16_t)(m->n_buckets - m->count);
		for (i = 0; i < m->count; i++)
			m->hashes[i] = maxint ? UINT64_MAX : rnd(s);
	}
	if (mask & B(DELTAS)) {
		m->n_groups = 1 + (unsigned)(rnd(s) % (big ? 2 : 3));
		if ((fl & (FL_RESET | FL_EMPTY)) == (FL_RESET | FL_EMPTY) &&
		    m->n_groups < 2)
			m->n_groups = 2;
		for (i = 0; i < m->n_groups; i++) {
			struct m_group *g = &m->groups[i];
			bool reset = (fl & FL_RESET) && i == 0;
			bool empty = (fl & FL_EMPTY) && i == m->n_groups - 1;
			uint64_t v;

			g->owner = maxint ? UINT64_MAX - i : 1 + rnd(s) % 1000;
			g->generation = maxint ? UINT64_MAX : 1 + rnd(s) % 10;
			g->flags = reset ? HS_WIRE_GF_RESET : 0;
			g->from = reset ? 0 : maxint ? UINT64_MAX - 40 :
				  rnd(s) % 1000;
			g->floor = maxint ? UINT64_MAX : rnd(s) % (g->from + 1);
			g->n = empty ? 0 : 1 + (unsigned)(rnd(s) %
							 (big ? M_ENTRIES : 4));
			v = g->from;
			for (j = 0; j < g->n; j++) {
				struct m_entry *e = &g->e[j];

				v += 1 + rnd(s) % 3;
				e->version = v;
				if ((fl & FL_TOMB) && rnd(s) % 2 == 0)
					e->flags = HS_WIRE_EF_TOMBSTONE;
				e->key_len = (uint8_t)(big ? 100 + rnd(s) % 64 :
							     1 + rnd(s) % 16);
				if (e->flags == 0)
					e->value_len = (uint16_t)(rnd(s) %
						(big ? 200 : 33));
				fill_bytes(e->key, e->key_len, s);
				fill_bytes(e->value, e->value_len, s);
			}
			if (maxint)
				g->to = UINT64_MAX;
			else
				g->to = v + rnd(s) % 3;
			/* A plain group must cover at least one version. */
			if (!reset && g->to == g->from)
				g->to = g->from + 1;
		}
	}
	if (mask & B(EVENTS)) {
		m->n_events = 1 + (unsigned)(rnd(s) % (big ? M_EVENTS : 3));
		for (i = 0; i < m->n_events; i++) {
			struct m_event *ev = &m->events[i];

			ev->origin = maxint ? UINT64_MAX : 1 + rnd(s) % 1000;
			ev->generation = maxint ? UINT64_MAX : rnd(s) % 10;
			ev->seq = maxint ? UINT64_MAX : rnd(s) % 100000;
			ev->len = (uint16_t)(big ? M_EVENT_MAX :
					     rnd(s) % 17);
			fill_bytes(ev->payload, ev->len, s);
		}
	}
	if (mask & B(NODES)) {
		m->n_nodes = 1 + (unsigned)(rnd(s) % (big ? M_NODES : 2));
		for (i = 0; i < m->n_nodes; i++) {
			struct hs_wire_node *n = &m->nodes[i].n;

			n->node = maxint ? UINT64_MAX - i : 1 + rnd(s) % 1000;
			n->generation = maxint ? UINT64_MAX : rnd(s) % 10;
			n->incarnation = maxint ? UINT64_MAX : rnd(s);
			n->status = (uint8_t)(rnd(s) % (HS_WIRE_ST_MAX + 1));
			n->family = (fl & FL_V6) ? 6 : 4;
			n->port = (uint16_t)rnd(s);
			fill_bytes(n->addr, n->family == 6 ? 16 : 4, s);
			n->name_len = (uint8_t)(big ? HS_WIRE_NAME_MAX - i :
						rnd(s) % 12);
			for (j = 0; j < n->name_len; j++)
				m->nodes[i].name[j] =
					(uint8_t)('a' + rnd(s) % 26);
		}
	}
	if (mask & B(PROBE)) {
		struct hs_wire_probe *p = &m->probe;

		p->probe_seq = maxint ? UINT64_MAX : rnd(s);
		p->target = maxint ? UINT64_MAX : 1 + rnd(s) % 1000;
		p->family = (fl & FL_NOADDR) ? 0 : (fl & FL_V6) ? 6 : 4;
		if (p->family != 0) {
			p->port = (uint16_t)rnd(s);
			fill_bytes(p->addr, p->family == 6 ? 16 : 4, s);
		}
	}
	if (mask & B(AGG)) {
		/* Two at least: one that has seen no value, one that has. */
		m->n_aggs = 2 + (unsigned)(rnd(s) % (big ? M_AGGS - 1 : 2));
		for (i = 0; i < m->n_aggs; i++) {
			struct hs_wire_agg *a = &m->aggs[i].a;

			a->epoch = maxint ? UINT64_MAX : rnd(s) % 100;
			a->key_len = (uint8_t)(big ? HS_WIRE_KEY_MAX - i :
					       1 + rnd(s) % 16);
			fill_bytes(m->aggs[i].key, a->key_len, s);
			if (maxint) {
				a->s = -DBL_MAX;
				a->k = DBL_MAX;
				a->w = DBL_MAX;
			} else {
				/* Shares as push-sum makes them: halves of
				 * values, counts and one weight. */
				a->s = (double)(int64_t)rnd(s) / 1024;
				a->k = (double)(rnd(s) % 4096) / 512;
				a->w = ldexp(1, -(int)(rnd(s) % 60));
			}
			/* The first record has seen no value yet. */
			if (i == 0) {
				a->min = INFINITY;
				a->max = -INFINITY;
			} else {
				a->min = (double)(int64_t)rnd(s) / 7;
				a->max = a->min + (double)(rnd(s) % 1000);
			}
		}
	}
}

/* Builds m into buf; every put must succeed.  Returns the frame length. */
static size_t
model_build(const struct model *m, uint8_t *buf, size_t budget)
{
	struct hs_wire_builder b;
	unsigned i, j;
	int len;

	assert_int_equal(hs_wire_build_begin(&b, buf, budget, &m->hdr), 0);
	if (m->mask & B(DIGESTS)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS),
				 0);
		for (i = 0; i < m->n_digests; i++)
			assert_int_equal(hs_wire_put_digest(&b, &m->digests[i]),
					 0);
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(SUMMARY)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY),
				 0);
		assert_int_equal(hs_wire_put_summary(&b, m->n_buckets, m->first,
						     m->count, m->hashes), 0);
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(DELTAS)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS),
				 0);
		for (i = 0; i < m->n_groups; i++) {
			const struct m_group *g = &m->groups[i];

			assert_int_equal(hs_wire_group_begin(&b, g->owner,
				g->generation, g->from, g->floor, g->flags), 0);
			for (j = 0; j < g->n; j++) {
				const struct m_entry *e = &g->e[j];

				assert_int_equal(hs_wire_put_entry(&b,
					e->version, e->flags, e->key,
					e->key_len, e->value, e->value_len), 0);
			}
			assert_int_equal(hs_wire_group_end(&b, g->to), 0);
		}
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(EVENTS)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS),
				 0);
		for (i = 0; i < m->n_events; i++) {
			const struct m_event *ev = &m->events[i];

			assert_int_equal(hs_wire_put_event(&b, ev->origin,
				ev->generation, ev->seq, ev->payload, ev->len),
				0);
		}
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(NODES)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_NODES),
				 0);
		for (i = 0; i < m->n_nodes; i++) {
			struct hs_wire_node n = m->nodes[i].n;

			n.name = m->nodes[i].name;
			assert_int_equal(hs_wire_put_node(&b, &n), 0);
		}
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(PROBE)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE),
				 0);
		assert_int_equal(hs_wire_put_probe(&b, &m->probe), 0);
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	if (m->mask & B(AGG)) {
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG), 0);
		for (i = 0; i < m->n_aggs; i++) {
			struct hs_wire_agg a = m->aggs[i].a;

			a.key = m->aggs[i].key;
			assert_int_equal(hs_wire_put_agg(&b, &a), 0);
		}
		assert_int_equal(hs_wire_section_end(&b), 0);
	}
	len = hs_wire_build_end(&b);
	assert_true(len > 0);
	assert_int_equal((size_t)len, model_size(m));
	/* The builder zeroes the trailer; the caller (auth, issue #8) fills
	 * it in. */
	for (i = 0; i < m->hdr.trailer_len; i++)
		assert_int_equal(buf[len - m->hdr.trailer_len + i], 0);
	memcpy(buf + len - m->hdr.trailer_len, m->trailer, m->hdr.trailer_len);
	return (size_t)len;
}

/* Decodes [buf, buf + len) and compares every field with m. */
static void
model_check(const struct model *m, const uint8_t *buf, size_t len)
{
	struct hs_wire_msg msg;
	struct hs_wire_iter it, eit;
	struct hs_wire_group g;
	struct hs_wire_entry e;
	struct hs_wire_event ev;
	struct hs_wire_node n;
	unsigned i, j;

	assert_int_equal(hs_wire_decode(buf, len, &msg), 0);
	assert_int_equal(msg.hdr.version, HS_WIRE_VERSION);
	assert_int_equal(msg.hdr.type, m->hdr.type);
	assert_int_equal(msg.hdr.flags, m->hdr.flags);
	assert_int_equal(msg.hdr.payload_len,
			 len - HS_WIRE_HDR_LEN - m->hdr.trailer_len);
	assert_int_equal(msg.hdr.trailer_len, m->hdr.trailer_len);
	assert_int_equal(msg.hdr.cluster_id, m->hdr.cluster_id);
	assert_int_equal(msg.hdr.sender_id, m->hdr.sender_id);
	assert_int_equal(msg.hdr.sender_gen, m->hdr.sender_gen);
	assert_int_equal(msg.hdr.seq, m->hdr.seq);
	assert_ptr_equal(msg.payload, buf + HS_WIRE_HDR_LEN);
	if (m->hdr.trailer_len != 0) {
		assert_ptr_equal(msg.trailer, buf + len - m->hdr.trailer_len);
		assert_memory_equal(msg.trailer, m->trailer,
				    m->hdr.trailer_len);
	} else {
		assert_null(msg.trailer);
	}
	assert_int_equal(msg.sec_mask, m->mask);
	for (i = 1; i <= HS_WIRE_SEC_MAX; i++)
		assert_int_equal(hs_wire_has(&msg, (enum hs_wire_sec)i),
				 (m->mask >> i) & 1);

	if (m->mask & B(DIGESTS)) {
		assert_int_equal(msg.sec[HS_WIRE_SEC_DIGESTS].n, m->n_digests);
		for (i = 0; i < m->n_digests; i++) {
			struct hs_wire_digest d;

			hs_wire_digest_get(&msg, i, &d);
			assert_int_equal(d.node, m->digests[i].node);
			assert_int_equal(d.generation, m->digests[i].generation);
			assert_int_equal(d.heartbeat, m->digests[i].heartbeat);
			assert_int_equal(d.max_version,
					 m->digests[i].max_version);
			assert_int_equal(d.floor, m->digests[i].floor);
		}
	}
	if (m->mask & B(SUMMARY)) {
		struct hs_wire_summary su;

		hs_wire_summary_get(&msg, &su);
		assert_int_equal(msg.sec[HS_WIRE_SEC_SUMMARY].n, m->count);
		assert_int_equal(su.n_buckets, m->n_buckets);
		assert_int_equal(su.first, m->first);
		assert_int_equal(su.count, m->count);
		for (i = 0; i < m->count; i++)
			assert_int_equal(hs_wire_rd64(su.hashes + 8 * i),
					 m->hashes[i]);
	}

	hs_wire_iter_init(&it, &msg, HS_WIRE_SEC_DELTAS);
	for (i = 0; hs_wire_group_next(&it, &g); i++) {
		const struct m_group *mg = &m->groups[i];

		assert_true(i < m->n_groups);
		assert_int_equal(g.owner, mg->owner);
		assert_int_equal(g.generation, mg->generation);
		assert_int_equal(g.from_version, mg->from);
		assert_int_equal(g.to_version, mg->to);
		assert_int_equal(g.floor, mg->floor);
		assert_int_equal(g.flags, mg->flags);
		assert_int_equal(g.n_entries, mg->n);
		hs_wire_entries_init(&eit, &g);
		for (j = 0; hs_wire_entry_next(&eit, &e); j++) {
			const struct m_entry *me = &mg->e[j];

			assert_true(j < mg->n);
			assert_int_equal(e.version, me->version);
			assert_int_equal(e.flags, me->flags);
			assert_int_equal(e.key_len, me->key_len);
			assert_int_equal(e.value_len, me->value_len);
			assert_memory_equal(e.key, me->key, me->key_len);
			if (me->value_len != 0)
				assert_memory_equal(e.value, me->value,
						    me->value_len);
		}
		assert_int_equal(j, mg->n);
	}
	assert_int_equal(i, (m->mask & B(DELTAS)) ? m->n_groups : 0);
	if (m->mask & B(DELTAS))
		assert_int_equal(msg.sec[HS_WIRE_SEC_DELTAS].n, m->n_groups);

	hs_wire_iter_init(&it, &msg, HS_WIRE_SEC_EVENTS);
	for (i = 0; hs_wire_event_next(&it, &ev); i++) {
		const struct m_event *me = &m->events[i];

		assert_true(i < m->n_events);
		assert_int_equal(ev.origin, me->origin);
		assert_int_equal(ev.generation, me->generation);
		assert_int_equal(ev.seq, me->seq);
		assert_int_equal(ev.len, me->len);
		if (me->len != 0)
			assert_memory_equal(ev.payload, me->payload, me->len);
	}
	assert_int_equal(i, (m->mask & B(EVENTS)) ? m->n_events : 0);
	if (m->mask & B(EVENTS))
		assert_int_equal(msg.sec[HS_WIRE_SEC_EVENTS].n, m->n_events);

	hs_wire_iter_init(&it, &msg, HS_WIRE_SEC_NODES);
	for (i = 0; hs_wire_node_next(&it, &n); i++) {
		const struct hs_wire_node *mn = &m->nodes[i].n;

		assert_true(i < m->n_nodes);
		assert_int_equal(n.node, mn->node);
		assert_int_equal(n.generation, mn->generation);
		assert_int_equal(n.incarnation, mn->incarnation);
		assert_int_equal(n.status, mn->status);
		assert_int_equal(n.family, mn->family);
		assert_int_equal(n.port, mn->port);
		assert_memory_equal(n.addr, mn->addr, 16);
		assert_int_equal(n.name_len, mn->name_len);
		if (mn->name_len != 0)
			assert_memory_equal(n.name, m->nodes[i].name,
					    mn->name_len);
	}
	assert_int_equal(i, (m->mask & B(NODES)) ? m->n_nodes : 0);
	if (m->mask & B(NODES))
		assert_int_equal(msg.sec[HS_WIRE_SEC_NODES].n, m->n_nodes);

	if (m->mask & B(PROBE)) {
		struct hs_wire_probe p;

		hs_wire_probe_get(&msg, &p);
		assert_int_equal(msg.sec[HS_WIRE_SEC_PROBE].n, 1);
		assert_int_equal(p.probe_seq, m->probe.probe_seq);
		assert_int_equal(p.target, m->probe.target);
		assert_int_equal(p.family, m->probe.family);
		assert_int_equal(p.port, m->probe.port);
		assert_memory_equal(p.addr, m->probe.addr, 16);
	}

	hs_wire_iter_init(&it, &msg, HS_WIRE_SEC_AGG);
	for (i = 0; i < M_AGGS + 1; i++) {
		const struct hs_wire_agg *ma;
		struct hs_wire_agg a;

		if (!hs_wire_agg_next(&it, &a))
			break;
		assert_true(i < m->n_aggs);
		ma = &m->aggs[i].a;
		assert_int_equal(a.epoch, ma->epoch);
		/* Bit for bit: -0.0 and the infinities included. */
		assert_memory_equal(&a.s, &ma->s, sizeof(double));
		assert_memory_equal(&a.k, &ma->k, sizeof(double));
		assert_memory_equal(&a.w, &ma->w, sizeof(double));
		assert_memory_equal(&a.min, &ma->min, sizeof(double));
		assert_memory_equal(&a.max, &ma->max, sizeof(double));
		assert_int_equal(a.key_len, ma->key_len);
		assert_memory_equal(a.key, m->aggs[i].key, ma->key_len);
	}
	assert_int_equal(i, (m->mask & B(AGG)) ? m->n_aggs : 0);
	if (m->mask & B(AGG))
		assert_int_equal(msg.sec[HS_WIRE_SEC_AGG].n, m->n_aggs);
}

/* ---- samples: ~30 frames covering every type, section and corner ---- */

static const struct sample {
	const char *name;
	uint8_t type;
	uint32_t mask;
	unsigned fl;
} samples[] = {
	{ "syn-digests", HS_WIRE_SYN, B(DIGESTS), 0 },
	{ "syn-summary", HS_WIRE_SYN, B(SUMMARY), 0 },
	{ "syn-digests-summary-nodes", HS_WIRE_SYN,
	  B(DIGESTS) | B(SUMMARY) | B(NODES), 0 },
	{ "syn-summary-nodes-v6", HS_WIRE_SYN, B(SUMMARY) | B(NODES), FL_V6 },
	{ "syn-digests-auth", HS_WIRE_SYN, B(DIGESTS), FL_AUTH },
	{ "syn-big-maxint", HS_WIRE_SYN, B(DIGESTS) | B(SUMMARY),
	  FL_BIG | FL_MAXINT },
	{ "ack-empty", HS_WIRE_ACK, 0, 0 },
	{ "ack-digests", HS_WIRE_ACK, B(DIGESTS), 0 },
	{ "ack-deltas", HS_WIRE_ACK, B(DELTAS), FL_TOMB },
	{ "ack-all", HS_WIRE_ACK, B(DIGESTS) | PIGGY, FL_TOMB | FL_EMPTY },
	{ "ack2-empty", HS_WIRE_ACK2, 0, 0 },
	{ "ack2-deltas-reset", HS_WIRE_ACK2, B(DELTAS), FL_RESET | FL_TOMB },
	{ "ack2-all", HS_WIRE_ACK2, PIGGY, 0 },
	{ "push-deltas", HS_WIRE_PUSH, B(DELTAS), 0 },
	{ "push-deltas-empty-group", HS_WIRE_PUSH, B(DELTAS), FL_EMPTY },
	{ "push-events", HS_WIRE_PUSH, B(EVENTS), 0 },
	{ "push-nodes-v6", HS_WIRE_PUSH, B(NODES), FL_V6 },
	{ "push-all-maxint", HS_WIRE_PUSH, PIGGY, FL_MAXINT | FL_TOMB },
	{ "push-big", HS_WIRE_PUSH, PIGGY, FL_BIG | FL_TOMB | FL_V6 },
	{ "push-auth", HS_WIRE_PUSH, B(DELTAS) | B(EVENTS), FL_AUTH | FL_TOMB },
	{ "join", HS_WIRE_JOIN, B(NODES), 0 },
	{ "join-v6", HS_WIRE_JOIN, B(NODES), FL_V6 },
	{ "leave", HS_WIRE_LEAVE, B(NODES), 0 },
	{ "leave-auth", HS_WIRE_LEAVE, B(NODES), FL_AUTH },
	{ "ping", HS_WIRE_PING, B(PROBE), 0 },
	{ "ping-noaddr", HS_WIRE_PING, B(PROBE), FL_NOADDR },
	{ "ping-piggyback", HS_WIRE_PING, PIGGY | B(PROBE), FL_TOMB },
	{ "ping-req", HS_WIRE_PING_REQ, B(PROBE), 0 },
	{ "ping-req-v6-nodes", HS_WIRE_PING_REQ, B(NODES) | B(PROBE), FL_V6 },
	{ "ping-ack", HS_WIRE_PING_ACK, B(PROBE), FL_NOADDR },
	{ "ping-ack-deltas-reset", HS_WIRE_PING_ACK, B(DELTAS) | B(PROBE),
	  FL_RESET | FL_EMPTY },
	{ "ping-ack-auth-maxint", HS_WIRE_PING_ACK, PIGGY | B(PROBE),
	  FL_AUTH | FL_MAXINT | FL_BIG },
	{ "push-agg", HS_WIRE_PUSH, B(AGG), 0 },
};

#define N_SAMPLES	(sizeof(samples) / sizeof(samples[0]))

/* Samples with a known shape (pinned by test_patch_bases), used as bases
 * for patches and section bodies. */
#define S_SYN		2	/* syn-digests-summary-nodes */
#define S_RESET		11	/* ack2-deltas-reset */
#define S_ACK2		12	/* ack2-all: deltas, events, nodes (IPv4) */
#define S_V6		16	/* push-nodes-v6 */
#define S_AUTH		19	/* push-auth */
#define S_PING		26	/* ping-piggyback: deltas ... probe (IPv4) */
#define S_AGG		32	/* push-agg: AGG only; no value in the first */

struct frame {
	uint8_t buf[HS_WIRE_FRAME_MAX];
	size_t len;
};

static struct model scratch_model;
static struct frame sample_frames[N_SAMPLES];

static void
sample_model(unsigned i, struct model *m)
{
	/* Fixed per sample, so the corpus written from it is reproducible. */
	uint64_t s = 0x6865617273617900ull + i;

	model_fill(m, samples[i].type, samples[i].mask, samples[i].fl, &s);
}

static void
build_samples(void)
{
	unsigned i;

	for (i = 0; i < N_SAMPLES; i++) {
		sample_model(i, &scratch_model);
		sample_frames[i].len = model_build(&scratch_model,
						   sample_frames[i].buf,
						   HS_WIRE_FRAME_MAX);
	}
}

/* A copy of buf on the heap, exactly len bytes long (ASan redzone after). */
static uint8_t *
heap_copy(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len != 0 ? len : 1);

	assert_non_null(p);
	if (len != 0)
		memcpy(p, buf, len);
	return p;
}

/* ---- walking what the decoder accepted ---- */

static bool
inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
	uintptr_t b = (uintptr_t)buf, q = (uintptr_t)p;

	return q >= b && q - b <= len && n <= len - (q - b);
}

#define INSIDE(p, n)	assert_true(inside(buf, len, (p), (n)))

/*
 * Walks every item of a frame hs_wire_decode() accepted, with the wire.h
 * readers, checking before each read that it stays in [buf, buf + len), and
 * that sections tile the payload and counts and ranges hold.  Returns the
 * number of items seen.
 */
static unsigned
walk(const uint8_t *buf, size_t len, const struct hs_wire_msg *m)
{
	const uint8_t *cur = m->payload;
	struct hs_wire_iter it, eit;
	unsigned t, i, j, items = 0;

	assert_ptr_equal(m->payload, buf + HS_WIRE_HDR_LEN);
	assert_int_equal((size_t)HS_WIRE_HDR_LEN + m->hdr.payload_len +
			 m->hdr.trailer_len, len);
	if (m->hdr.trailer_len != 0)
		assert_ptr_equal(m->trailer, m->payload + m->hdr.payload_len);
	else
		assert_null(m->trailer);

	for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
		const struct hs_wire_span *sp = &m->sec[t];

		if (!hs_wire_has(m, (enum hs_wire_sec)t))
			continue;
		assert_ptr_equal(sp->p, cur + HS_WIRE_SEC_HDR_LEN);
		INSIDE(sp->p, sp->len);
		assert_true(sp->len > 0 && sp->n > 0);
		cur = sp->p + sp->len;
	}
	assert_ptr_equal(cur, m->payload + m->hdr.payload_len);
	assert_int_equal(m->sec_mask & ~spec_rules[m->hdr.type].allowed, 0);

	if (hs_wire_has(m, HS_WIRE_SEC_DIGESTS)) {
		assert_int_equal(m->sec[HS_WIRE_SEC_DIGESTS].len,
				 m->sec[HS_WIRE_SEC_DIGESTS].n *
				 HS_WIRE_DIGEST_LEN);
		for (i = 0; i < m->sec[HS_WIRE_SEC_DIGESTS].n; i++) {
			struct hs_wire_digest d;

			hs_wire_digest_get(m, i, &d);
			assert_int_not_equal(d.node, 0);
			items++;
		}
	}
	if (hs_wire_has(m, HS_WIRE_SEC_SUMMARY)) {
		struct hs_wire_summary su;

		hs_wire_summary_get(m, &su);
		assert_int_equal(su.count, m->sec[HS_WIRE_SEC_SUMMARY].n);
		INSIDE(su.hashes, 8 * (size_t)su.count);
		assert_true((uint32_t)su.first + su.count <= su.n_buckets);
		items += su.count;
	}

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_DELTAS);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_DELTAS].n; i++) {
		struct hs_wire_group g;
		struct hs_wire_entry e;
		uint64_t prev;

		if (it.p != it.end)
			INSIDE(it.p, HS_WIRE_GROUP_HDR_LEN);
		if (!hs_wire_group_next(&it, &g))
			break;
		assert_int_not_equal(g.owner, 0);
		assert_true(g.from_version <= g.to_version);
		if (g.flags & HS_WIRE_GF_RESET)
			assert_int_equal(g.from_version, 0);
		INSIDE(g.entries, 0);
		INSIDE(g.end, 0);
		prev = g.from_version;
		hs_wire_entries_init(&eit, &g);
		for (j = 0; j <= g.n_entries; j++) {
			if (eit.p != eit.end)
				INSIDE(eit.p, HS_WIRE_ENTRY_HDR_LEN);
			if (!hs_wire_entry_next(&eit, &e))
				break;
			INSIDE(e.key, e.key_len);
			INSIDE(e.value, e.value_len);
			assert_true(e.key_len > 0);
			assert_true(e.version > prev &&
				    e.version <= g.to_version);
			if (e.flags & HS_WIRE_EF_TOMBSTONE)
				assert_int_equal(e.value_len, 0);
			prev = e.version;
			items++;
		}
		assert_int_equal(j, g.n_entries);
		assert_ptr_equal(eit.p, g.end);
		items++;
	}
	assert_int_equal(i, m->sec[HS_WIRE_SEC_DELTAS].n);
	assert_ptr_equal(it.p, it.end);

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_EVENTS);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_EVENTS].n; i++) {
		struct hs_wire_event ev;

		if (it.p != it.end)
			INSIDE(it.p, HS_WIRE_EVENT_HDR_LEN);
		if (!hs_wire_event_next(&it, &ev))
			break;
		INSIDE(ev.payload, ev.len);
		assert_int_not_equal(ev.origin, 0);
		items++;
	}
	assert_int_equal(i, m->sec[HS_WIRE_SEC_EVENTS].n);
	assert_ptr_equal(it.p, it.end);

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_NODES);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_NODES].n; i++) {
		struct hs_wire_node n;

		if (it.p != it.end)
			INSIDE(it.p, HS_WIRE_NODE_HDR_LEN);
		if (!hs_wire_node_next(&it, &n))
			break;
		INSIDE(n.name, n.name_len);
		assert_int_not_equal(n.node, 0);
		assert_true(n.status <= HS_WIRE_ST_MAX);
		assert_true(n.family == 4 || n.family == 6);
		items++;
	}
	assert_int_equal(i, m->sec[HS_WIRE_SEC_NODES].n);
	assert_ptr_equal(it.p, it.end);

	if (hs_wire_has(m, HS_WIRE_SEC_PROBE)) {
		struct hs_wire_probe p;

		assert_int_equal(m->sec[HS_WIRE_SEC_PROBE].len,
				 HS_WIRE_PROBE_LEN);
		hs_wire_probe_get(m, &p);
		assert_int_not_equal(p.target, 0);
		items++;
	}

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_AGG);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_AGG].n; i++) {
		struct hs_wire_agg a;

		if (it.p != it.end)
			INSIDE(it.p, HS_WIRE_AGG_HDR_LEN);
		if (!hs_wire_agg_next(&it, &a))
			break;
		INSIDE(a.key, a.key_len);
		assert_true(a.key_len > 0);
		assert_true(isfinite(a.s) && isfinite(a.k) && isfinite(a.w));
		assert_true(a.k >= 0 && a.w >= 0);
		assert_false(isnan(a.min) || isnan(a.max));
		items++;
	}
	assert_int_equal(i, m->sec[HS_WIRE_SEC_AGG].n);
	assert_ptr_equal(it.p, it.end);
	return items;
}

/* Decodes a heap copy of [buf, buf + len); walks it when accepted. */
static int
decode_walk(const uint8_t *src, size_t len)
{
	struct hs_wire_msg m;
	uint8_t *buf = heap_copy(src, len);
	int rc = hs_wire_decode(buf, len, &m);

	if (rc == 0)
		walk(buf, len, &m);
	else
		assert_true(rc == -EBADMSG || rc == -EPROTO ||
			    rc == -EMSGSIZE);
	free(buf);
	return rc;
}

/* ---- frames assembled from section bodies, for rule breaches ---- */

/* One valid body of each section type, harvested from built frames. */
static struct {
	uint8_t body[1024];
	uint16_t len;
} bodies[HS_WIRE_SEC_MAX + 1];

static void
harvest_bodies(void)
{
	static const unsigned src[] = { S_SYN, S_PING, S_AGG };
	struct hs_wire_msg m;
	unsigned i, t;

	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		const struct frame *f = &sample_frames[src[i]];

		assert_int_equal(hs_wire_decode(f->buf, f->len, &m), 0);
		for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
			if (!hs_wire_has(&m, (enum hs_wire_sec)t))
				continue;
			assert_true(m.sec[t].len <= sizeof(bodies[t].body));
			memcpy(bodies[t].body, m.sec[t].p, m.sec[t].len);
			bodies[t].len = m.sec[t].len;
		}
	}
	for (t = 1; t <= HS_WIRE_SEC_MAX; t++)
		assert_true(bodies[t].len > 0);
}

static void
put_hdr(uint8_t *f, uint8_t type, uint16_t payload_len)
{
	memset(f, 0, HS_WIRE_HDR_LEN);
	hs_wire_wr16(f, HS_WIRE_MAGIC);
	f[2] = HS_WIRE_VERSION;
	f[3] = type;
	hs_wire_wr16(f + 6, payload_len);
	hs_wire_wr32(f + 12, 7);
	hs_wire_wr64(f + 16, 99);
	hs_wire_wr64(f + 24, 1);
	hs_wire_wr64(f + 32, 1);
}

/* A frame of type with the harvested bodies of secs[0..n), in that order
 * (which may break the rules on purpose).  Returns its length. */
static size_t
compose(uint8_t *f, uint8_t type, const uint8_t *secs, unsigned n)
{
	size_t off = HS_WIRE_HDR_LEN;
	unsigned i;

	for (i = 0; i < n; i++) {
		unsigned t = secs[i];

		f[off] = (uint8_t)t;
		f[off + 1] = 0;
		hs_wire_wr16(f + off + 2, bodies[t].len);
		memcpy(f + off + 4, bodies[t].body, bodies[t].len);
		off += 4 + bodies[t].len;
	}
	put_hdr(f, type, (uint16_t)(off - HS_WIRE_HDR_LEN));
	return off;
}

/* ---- tests: round trips ---- */

static void
test_roundtrip_samples(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < N_SAMPLES; i++) {
		uint8_t *buf = heap_copy(sample_frames[i].buf,
					 sample_frames[i].len);

		sample_model(i, &scratch_model);
		model_check(&scratch_model, buf, sample_frames[i].len);
		free(buf);
	}
}

static void
test_roundtrip_every_type(void **state)
{
	unsigned type, t;

	(void)state;
	/* Each type with each section it allows, alone when that satisfies
	 * the type, else next to a required one; then with all of them. */
	for (type = 1; type <= HS_WIRE_TYPE_MAX; type++) {
		uint32_t allowed = spec_rules[type].allowed;
		uint32_t need = spec_rules[type].need_any;
		uint64_t s = test_seed + type;
		struct frame f;

		for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
			uint32_t mask = 1u << t;

			if (!(allowed & mask))
				continue;
			if (need != 0 && !(need & mask))
				mask |= need & -need;
			model_fill(&scratch_model, (uint8_t)type, mask,
				   (unsigned)(rnd(&s) & FL_ALL & ~FL_BIG), &s);
			f.len = model_build(&scratch_model, f.buf, sizeof(f.buf));
			model_check(&scratch_model, f.buf, f.len);
		}
		model_fill(&scratch_model, (uint8_t)type, allowed, FL_TOMB, &s);
		f.len = model_build(&scratch_model, f.buf, sizeof(f.buf));
		model_check(&scratch_model, f.buf, f.len);
		if (need == 0) {
			model_fill(&scratch_model, (uint8_t)type, 0, 0, &s);
			f.len = model_build(&scratch_model, f.buf,
					    sizeof(f.buf));
			assert_int_equal(f.len, HS_WIRE_HDR_LEN);
			model_check(&scratch_model, f.buf, f.len);
		}
	}
}

static void
test_roundtrip_random(void **state)
{
	uint64_t s = test_seed ^ 0x726f756e64ull;
	static struct frame f;
	unsigned i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		uint8_t type = (uint8_t)(1 + rnd(&s) % HS_WIRE_TYPE_MAX);
		uint32_t allowed = spec_rules[type].allowed;
		uint32_t need = spec_rules[type].need_any;
		uint32_t mask = (uint32_t)rnd(&s) & allowed;

		if (need != 0 && !(mask & need)) {
			uint32_t pick;

			do
				pick = 1u << (1 + rnd(&s) % HS_WIRE_SEC_MAX);
			while (!(need & pick));
			mask |= pick;
		}
		do
			model_fill(&scratch_model, type, mask,
				   (unsigned)rnd(&s) & FL_ALL, &s);
		while (model_size(&scratch_model) > HS_WIRE_FRAME_MAX);
		f.len = model_build(&scratch_model, f.buf, sizeof(f.buf));
		model_check(&scratch_model, f.buf, f.len);
	}
}

/*
 * The worked example of docs/PROTOCOL.md, written out byte by byte from the
 * offset tables: a PUSH from node 0x11 carrying one delta group of owner
 * 0x22 over (4, 6] (key "k" = "hi" at version 5, key "x" deleted at 6) and
 * one event.
 */
static const uint8_t example_push[148] = {
	/* header */
	0x48, 0x53, 0x01, 0x04, 0x00, 0x00, 0x00, 0x6c,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	/* DELTAS section header, then the group header */
	0x03, 0x00, 0x00, 0x48,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x02,
	/* entry v5 "k" = "hi" */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x00, 0x01, 0x00, 0x02, 'k', 'h', 'i',
	/* entry v6 "x" tombstone */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
	0x01, 0x01, 0x00, 0x00, 'x',
	/* EVENTS section header, then one event */
	0x04, 0x00, 0x00, 0x1c,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x00, 0x02, 'u', 'p',
};

static int
build_example(uint8_t *buf, size_t budget)
{
	struct hs_wire_hdr h = {
		.type = HS_WIRE_PUSH,
		.cluster_id = 42,
		.sender_id = 0x11,
		.sender_gen = 3,
		.seq = 7,
	};
	struct hs_wire_builder b;

	assert_int_equal(hs_wire_build_begin(&b, buf, budget, &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 0x22, 2, 4, 1, 0), 0);
	assert_int_equal(hs_wire_put_entry(&b, 5, 0, "k", 1, "hi", 2), 0);
	assert_int_equal(hs_wire_put_entry(&b, 6, HS_WIRE_EF_TOMBSTONE, "x", 1,
					   NULL, 0), 0);
	assert_int_equal(hs_wire_group_end(&b, 6), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 0x22, 2, 9, "up", 2), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	return hs_wire_build_end(&b);
}

static void
test_layout_golden(void **state)
{
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_wire_msg m;
	int len;

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	len = build_example(buf, sizeof(buf));
	assert_int_equal(len, sizeof(example_push));
	assert_memory_equal(buf, example_push, sizeof(example_push));
	assert_int_equal(hs_wire_decode(example_push, sizeof(example_push), &m),
			 0);
	assert_int_equal(walk(example_push, sizeof(example_push), &m), 4);
}

/*
 * The AGG example of docs/PROTOCOL.md 6.7: node 0x11 sends one push-sum
 * share of key "load", epoch 3: s 12.5, k 0.5, w 0.25, min 2, max 22.5.
 */
static const uint8_t example_agg[104] = {
	/* header: PUSH, payload_len 64 */
	0x48, 0x53, 0x01, 0x04, 0x00, 0x00, 0x00, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
	/* AGG section header, body_len 60 */
	0x07, 0x00, 0x00, 0x3c,
	/* key_len 4, 7 reserved bytes */
	0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* epoch 3 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	/* s 12.5, k 0.5, w 0.25, min 2, max 22.5 */
	0x40, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x3f, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x3f, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x40, 0x36, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	'l', 'o', 'a', 'd',
};

static void
test_agg_golden(void **state)
{
	struct hs_wire_hdr h = { .type = HS_WIRE_PUSH, .cluster_id = 42,
				 .sender_id = 0x11, .sender_gen = 3, .seq = 8 };
	struct hs_wire_agg a = { .epoch = 3, .s = 12.5, .k = 0.5, .w = 0.25,
				 .min = 2, .max = 22.5, .key_len = 4,
				 .key = (const uint8_t *)"load" };
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_wire_builder b;
	struct hs_wire_msg m;
	struct hs_wire_iter it;
	struct hs_wire_agg got = { 0 };
	size_t l;

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(hs_wire_build_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG), 0);
	assert_int_equal(hs_wire_put_agg(&b, &a), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_build_end(&b), sizeof(example_agg));
	assert_memory_equal(buf, example_agg, sizeof(example_agg));

	assert_int_equal(hs_wire_decode(example_agg, sizeof(example_agg), &m),
			 0);
	assert_int_equal(walk(example_agg, sizeof(example_agg), &m), 1);
	assert_int_equal(m.sec[HS_WIRE_SEC_AGG].n, 1);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_AGG);
	assert_true(hs_wire_agg_next(&it, &got));
	assert_true(got.epoch == 3 && got.s == 12.5 && got.k == 0.5 &&
		    got.w == 0.25 && got.min == 2 && got.max == 22.5);
	assert_int_equal(got.key_len, 4);
	assert_memory_equal(got.key, "load", 4);
	assert_false(hs_wire_agg_next(&it, &got));

	/* Cut anywhere: malformed.  Cut inside the record, with the lengths
	 * patched to agree: still malformed (record header or key short). */
	for (l = 0; l < sizeof(example_agg); l++)
		assert_int_equal(decode_walk(example_agg, l), -EBADMSG);
	for (l = 1; l < 60; l++) {
		memcpy(buf, example_agg, sizeof(example_agg));
		hs_wire_wr16(buf + 6, (uint16_t)(4 + l));
		hs_wire_wr16(buf + 42, (uint16_t)l);
		assert_int_equal(decode_walk(buf, HS_WIRE_HDR_LEN + 4 + l),
				 -EBADMSG);
	}
	/* Each reserved byte, alone: protocol. */
	for (l = 1; l < 8; l++) {
		memcpy(buf, example_agg, sizeof(example_agg));
		buf[44 + l] = 1;
		assert_int_equal(decode_walk(buf, sizeof(example_agg)),
				 -EPROTO);
	}
}

/* Corner values round-trip bit for bit, several records in a section,
 * beside the other PUSH sections. */
static void
test_agg_roundtrip(void **state)
{
	static const double vals[] = {
		0.0, -0.0, 1.0, -1.0, DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN,
		-DBL_TRUE_MIN, 1e-300, 12345.678,
	};
	struct hs_wire_hdr h = { .type = HS_WIRE_PUSH, .sender_id = 5 };
	static uint8_t buf[HS_WIRE_FRAME_MAX];
	uint8_t key[HS_WIRE_KEY_MAX];
	struct hs_wire_agg a[12], got;
	struct hs_wire_builder b;
	struct hs_wire_msg m;
	struct hs_wire_iter it;
	const unsigned nv = sizeof(vals) / sizeof(vals[0]);
	unsigned i, n = 0;
	int len;

	(void)state;
	memset(key, 'k', sizeof(key));
	for (i = 0; i < 12; i++) {
		double s = vals[i % nv], k = fabs(vals[(i + 3) % nv]);

		/* k and w: -0.0 is not below zero; fabs keeps the rest. */
		a[i] = (struct hs_wire_agg){
			.epoch = i == 11 ? UINT64_MAX : i,
			.s = s,
			.k = i == 4 ? -0.0 : k,
			.w = fabs(vals[(i + 5) % nv]),
			.min = i % 3 == 0 ? INFINITY : vals[(i + 7) % nv],
			.max = i % 3 == 0 ? -INFINITY : i % 3 == 1 ?
			       INFINITY : vals[(i + 1) % nv],
			.key_len = (uint8_t)(i == 0 ? HS_WIRE_KEY_MAX : 1 + i),
			.key = key,
		};
	}
	assert_int_equal(hs_wire_build_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, "e", 1), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG), 0);
	for (i = 0; i < 12; i++)
		assert_int_equal(hs_wire_put_agg(&b, &a[i]), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	len = hs_wire_build_end(&b);
	assert_true(len > 0);
	assert_int_equal(decode_walk(buf, (size_t)len), 0);
	assert_int_equal(hs_wire_decode(buf, (size_t)len, &m), 0);
	assert_int_equal(m.sec_mask, B(EVENTS) | B(AGG));
	assert_int_equal(m.sec[HS_WIRE_SEC_AGG].n, 12);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_AGG);
	while (hs_wire_agg_next(&it, &got)) {
		assert_true(n < 12);
		assert_int_equal(got.epoch, a[n].epoch);
		assert_memory_equal(&got.s, &a[n].s, sizeof(double));
		assert_memory_equal(&got.k, &a[n].k, sizeof(double));
		assert_memory_equal(&got.w, &a[n].w, sizeof(double));
		assert_memory_equal(&got.min, &a[n].min, sizeof(double));
		assert_memory_equal(&got.max, &a[n].max, sizeof(double));
		assert_int_equal(got.key_len, a[n].key_len);
		assert_memory_equal(got.key, key, got.key_len);
		n++;
	}
	assert_int_equal(n, 12);
}

/* ---- tests: the builder at its budget ---- */

static void
key_of(uint8_t *k, uint64_t owner, uint64_t version)
{
	snprintf((char *)k, 17, "%04" PRIx64 "-%011" PRIx64,
		 owner & 0xffff, version & UINT64_C(0xfffffffffff));
}

struct cut_rec {
	uint64_t owner;
	uint64_t version;
};

/*
 * Fills a DELTAS section group after group until the builder says
 * -EMSGSIZE, the way the table's delta builder does: a group cut by an
 * entry ends at that entry's version minus one.  Checks the failed put left
 * builder and buffer untouched, the frame fits, decodes, and holds every
 * entry put before the cut, in order, and that the cut was forced.
 */
static void
cut_at(size_t budget, uint16_t trailer_len)
{
	static uint8_t buf[HS_WIRE_FRAME_MAX + 64];
	static struct cut_rec rec[HS_WIRE_FRAME_MAX / 13];
	struct hs_wire_hdr h = {
		.type = HS_WIRE_ACK2,
		.flags = trailer_len ? HS_WIRE_F_AUTH : 0,
		.trailer_len = trailer_len,
		.cluster_id = 7,
		.sender_id = 1,
		.sender_gen = 1,
		.seq = 1,
	};
	struct hs_wire_builder b, saved;
	struct hs_wire_msg m;
	struct hs_wire_iter it, eit;
	struct hs_wire_group g;
	struct hs_wire_entry e;
	uint8_t key[17], val[32];
	unsigned n_rec = 0, i, n_groups = 0;
	uint64_t owner;
	size_t need = 0, room = 0;
	bool cancelled = false;
	int rc, len;

	memset(buf, 0xa5, sizeof(buf));
	memset(val, 'v', sizeof(val));
	assert_int_equal(hs_wire_build_begin(&b, buf, budget, &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	for (owner = 1;; owner++) {
		uint64_t from = owner * 1000, v;
		/* 1 to 7 entries per group: several groups, cut anywhere. */
		unsigned n = 1 + (unsigned)(owner * 5 % 7);

		memcpy(&saved, &b, sizeof(b));
		room = hs_wire_room(&b);
		rc = hs_wire_group_begin(&b, owner, 1, from, from / 2, 0);
		if (rc == -EMSGSIZE) {
			need = HS_WIRE_GROUP_HDR_LEN + HS_WIRE_ENTRY_HDR_LEN;
			assert_memory_equal(&saved, &b, sizeof(b));
			break;
		}
		assert_int_equal(rc, 0);
		for (v = from + 1;; v++) {
			if (v > from + n) {
				assert_int_equal(hs_wire_group_end(&b, v - 1), 0);
				break;
			}
			key_of(key, owner, v);
			memcpy(&saved, &b, sizeof(b));
			room = hs_wire_room(&b);
			rc = hs_wire_put_entry(&b, v, 0, key, 16, val, 32);
			if (rc == -EMSGSIZE) {
				need = HS_WIRE_ENTRY_HDR_LEN + 16 + 32;
				assert_memory_equal(&saved, &b, sizeof(b));
				cancelled = v == from + 1;
				if (cancelled)
					hs_wire_group_cancel(&b);
				else
					assert_int_equal(hs_wire_group_end(&b,
								v - 1), 0);
				break;
			}
			assert_int_equal(rc, 0);
			rec[n_rec].owner = owner;
			rec[n_rec].version = v;
			n_rec++;
		}
		if (rc == -EMSGSIZE)
			break;
	}
	/* The cut was forced: what did not fit really did not fit. */
	assert_true(room < need);
	assert_int_equal(hs_wire_section_end(&b), 0);
	len = hs_wire_build_end(&b);
	assert_true(len > 0);
	assert_true((size_t)len <= budget);
	/* A group cut before its first entry is cancelled, which frees its
	 * 44-byte header again. */
	assert_true(budget - (size_t)len <
		    need + (cancelled ? HS_WIRE_GROUP_HDR_LEN : 0));
	/* Nothing written past the budget. */
	for (i = (unsigned)budget; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
	/* Nor in the trailer room, which the builder zeroes. */
	for (i = (unsigned)len - trailer_len; i < (unsigned)len; i++)
		assert_int_equal(buf[i], 0);

	assert_int_equal(decode_walk(buf, (size_t)len), 0);
	assert_int_equal(hs_wire_decode(buf, (size_t)len, &m), 0);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_DELTAS);
	i = 0;
	while (hs_wire_group_next(&it, &g)) {
		n_groups++;
		hs_wire_entries_init(&eit, &g);
		while (hs_wire_entry_next(&eit, &e)) {
			assert_true(i < n_rec);
			assert_int_equal(g.owner, rec[i].owner);
			assert_int_equal(e.version, rec[i].version);
			key_of(key, rec[i].owner, rec[i].version);
			assert_memory_equal(e.key, key, 16);
			assert_memory_equal(e.value, val, 32);
			i++;
		}
		/* Gap-free: the group reaches its last entry, no further. */
		assert_int_equal(g.to_version, rec[i - 1].version);
	}
	assert_int_equal(i, n_rec);
	assert_true(n_groups >= 2);
}

static void
test_cut_default(void **state)
{
	(void)state;
	cut_at(HS_WIRE_FRAME_DEFAULT, 0);
	cut_at(HS_WIRE_FRAME_DEFAULT, 32);
	cut_at(HS_WIRE_FRAME_DEFAULT - 37, 0);
}

static void
test_cut_jumbo(void **state)
{
	(void)state;
	cut_at(HS_WIRE_FRAME_MAX, 0);
	cut_at(HS_WIRE_FRAME_MAX, HS_WIRE_TRAILER_MAX);
}

/*
 * Every put at exactly its size fits, one byte less is -EMSGSIZE with the
 * builder and the buffer untouched; the frame then still builds (the empty
 * section is dropped).
 */
static void
test_put_exact_fit(void **state)
{
	static const uint64_t hashes[3] = { 1, 2, 3 };
	static const struct hs_wire_digest d = { 5, 1, 2, 3, 1 };
	static const struct hs_wire_probe pr = { 1, 5, 4, 7946,
						 { 10, 0, 0, 1 } };
	struct hs_wire_node nd = { 5, 1, 2, 0, 6, 7946, { 0xfe, 0x80 }, 3,
				   (const uint8_t *)"abc" };
	static const struct hs_wire_agg ag = { 1, 0.5, 0.5, 0.25, -1, 1, 3,
					       (const uint8_t *)"key" };
	uint8_t buf[512];
	unsigned kind, extra, i;

	(void)state;
	/* kind: 0 digest, 1 summary, 2 group header, 3 entry, 4 event,
	 * 5 node, 6 probe, 7 agg; extra 0: one byte short, 1: exact fit. */
	for (kind = 0; kind < 8; kind++) {
		for (extra = 0; extra < 2; extra++) {
			/* Bytes the put needs after the section header. */
			static const size_t need[8] = { 40, 8 + 24, 56,
							12 + 3 + 5, 26 + 4,
							45 + 3, 36, 56 + 3 };
			static const uint8_t sec[8] = { 1, 2, 3, 3, 4, 5, 6,
							7 };
			struct hs_wire_hdr h = {
				.type = sec[kind] == 6 ? HS_WIRE_PING :
					sec[kind] == 2 ? HS_WIRE_SYN :
					sec[kind] == 7 ? HS_WIRE_PUSH :
					HS_WIRE_ACK,
				.flags = HS_WIRE_F_AUTH,
				.trailer_len = 8,
				.sender_id = 1,
			};
			size_t budget = HS_WIRE_HDR_LEN + 4 + need[kind] +
					h.trailer_len - 1 + extra;
			struct hs_wire_builder b, saved;
			int rc = 0;

			if (kind == 3)	/* the group header, 44 bytes, first */
				budget += HS_WIRE_GROUP_HDR_LEN;
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(hs_wire_build_begin(&b, buf, budget, &h),
					 0);
			assert_int_equal(hs_wire_section_begin(&b,
					(enum hs_wire_sec)sec[kind]), 0);
			if (kind == 3)
				assert_int_equal(hs_wire_group_begin(&b, 9, 1, 0,
								     0, 0), 0);
			assert_int_equal(hs_wire_room(&b),
					 need[kind] - 1 + extra);
			memcpy(&saved, &b, sizeof(b));
			switch (kind) {
			case 0:
				rc = hs_wire_put_digest(&b, &d);
				break;
			case 1:
				rc = hs_wire_put_summary(&b, 4, 1, 3, hashes);
				break;
			case 2:
				rc = hs_wire_group_begin(&b, 9, 1, 0, 0, 0);
				break;
			case 3:
				rc = hs_wire_put_entry(&b, 1, 0, "key", 3,
						       "value", 5);
				break;
			case 4:
				rc = hs_wire_put_event(&b, 9, 1, 1, "evnt", 4);
				break;
			case 5:
				rc = hs_wire_put_node(&b, &nd);
				break;
			case 6:
				rc = hs_wire_put_probe(&b, &pr);
				break;
			default:
				rc = hs_wire_put_agg(&b, &ag);
				break;
			}
			if (extra == 0) {
				assert_int_equal(rc, -EMSGSIZE);
				assert_memory_equal(&saved, &b, sizeof(b));
				for (i = (unsigned)b.len; i < sizeof(buf); i++)
					assert_int_equal(buf[i], 0xa5);
			} else {
				assert_int_equal(rc, 0);
				/* A group header takes 44 of the 56 bytes it
				 * asks for. */
				assert_int_equal(hs_wire_room(&b), kind == 2 ?
						 HS_WIRE_ENTRY_HDR_LEN : 0);
			}
			if (kind == 2 && extra == 1)
				assert_int_equal(hs_wire_group_end(&b, 1), 0);
			if (kind == 3)
				hs_wire_group_cancel(&b);
			assert_int_equal(hs_wire_section_end(&b), 0);
			if (h.type == HS_WIRE_ACK || extra == 1) {
				int want = (int)budget;

				/* Emptied sections are dropped; an empty group
				 * is 44 bytes, not the 56 it needed. */
				if (extra == 0 || kind == 3)
					want = HS_WIRE_HDR_LEN + 8;
				else if (kind == 2)
					want = HS_WIRE_HDR_LEN + 4 +
					       HS_WIRE_GROUP_HDR_LEN + 8;
				rc = hs_wire_build_end(&b);
				assert_int_equal(rc, want);
				assert_int_equal(decode_walk(buf, (size_t)rc), 0);
			}
		}
	}
	/* No room for even a section header. */
	{
		struct hs_wire_hdr h = { .type = HS_WIRE_ACK, .sender_id = 1 };
		struct hs_wire_builder b;

		assert_int_equal(hs_wire_build_begin(&b, buf, 43, &h), 0);
		assert_int_equal(hs_wire_room(&b), 0);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS),
				 -EMSGSIZE);
		assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN);
	}
}

/*
 * A maximum-size ACK2 of one owner's entries, exactly HS_WIRE_FRAME_MAX
 * bytes.  With empty_tail, its last 44 bytes are an empty plain group,
 * appended by hand: the builder will not begin a group without room for an
 * entry after it (56 bytes), but the decoder accepts one that ends the
 * frame.
 */
static size_t
build_jumbo(uint8_t *buf, bool empty_tail)
{
	struct hs_wire_hdr h = { .type = HS_WIRE_ACK2, .sender_id = 3 };
	size_t budget = HS_WIRE_FRAME_MAX -
			(empty_tail ? HS_WIRE_GROUP_HDR_LEN : 0);
	struct hs_wire_builder b;
	uint8_t key[17], val[64];
	uint64_t v = 100;
	size_t room;
	int len;

	memset(val, 'j', sizeof(val));
	assert_int_equal(hs_wire_build_begin(&b, buf, budget, &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 1, 1, v, 0, 0), 0);
	/* 60-byte entries, then one whose value takes what is left. */
	while ((room = hs_wire_room(&b)) >= 60 + 28) {
		key_of(key, 1, ++v);
		assert_int_equal(hs_wire_put_entry(&b, v, 0, key, 16, val, 32),
				 0);
	}
	key_of(key, 1, ++v);
	assert_int_equal(hs_wire_put_entry(&b, v, 0, key, 16, val,
					   (uint16_t)(room - 28)), 0);
	assert_int_equal(hs_wire_room(&b), 0);
	assert_int_equal(hs_wire_group_end(&b, v), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	len = hs_wire_build_end(&b);
	assert_int_equal(len, budget);
	if (empty_tail) {
		uint8_t *g = buf + len;
		size_t sec = HS_WIRE_HDR_LEN;

		memset(g, 0, HS_WIRE_GROUP_HDR_LEN);
		hs_wire_wr64(g, 2);		/* owner */
		hs_wire_wr64(g + 8, 1);		/* generation */
		hs_wire_wr64(g + 16, 10);	/* from */
		hs_wire_wr64(g + 24, 12);	/* to */
		hs_wire_wr16(buf + sec + 2, (uint16_t)(hs_wire_rd16(buf + sec + 2) +
					      HS_WIRE_GROUP_HDR_LEN));
		hs_wire_wr16(buf + 6, (uint16_t)(hs_wire_rd16(buf + 6) +
					      HS_WIRE_GROUP_HDR_LEN));
		len += HS_WIRE_GROUP_HDR_LEN;
	}
	return (size_t)len;
}

/*
 * The two frames the decoder accepts and the builder will not write (see
 * docs/PROTOCOL.md): a plain group with to == from, and an empty group in
 * the last 44 to 55 bytes of the budget.  Everything else round-trips byte
 * for byte (tests/fuzz/fuzz_wire.c checks that).
 */
static void
test_builder_stricter(void **state)
{
	static uint8_t f[HS_WIRE_FRAME_MAX];
	static uint8_t out[HS_WIRE_FRAME_MAX];
	struct hs_wire_builder b;
	struct hs_wire_hdr h = { .type = HS_WIRE_ACK2, .sender_id = 3 };
	uint64_t v;
	uint8_t *g;
	size_t len, room;

	(void)state;
	/* A plain group covering no version: a no-op for a receiver. */
	put_hdr(f, HS_WIRE_ACK2, 4 + HS_WIRE_GROUP_HDR_LEN);
	f[40] = HS_WIRE_SEC_DELTAS;
	f[41] = 0;
	hs_wire_wr16(f + 42, HS_WIRE_GROUP_HDR_LEN);
	g = f + 44;
	memset(g, 0, HS_WIRE_GROUP_HDR_LEN);
	hs_wire_wr64(g, 2);
	hs_wire_wr64(g + 16, 10);
	hs_wire_wr64(g + 24, 10);
	assert_int_equal(decode_walk(f, 88), 0);
	assert_int_equal(hs_wire_build_begin(&b, out, sizeof(out), &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 2, 0, 10, 0, 0), 0);
	assert_int_equal(hs_wire_group_end(&b, 10), -EINVAL);
	/* The same with RESET from 0 to 0 is valid both ways: "the owner
	 * has nothing". */
	g[40] = HS_WIRE_GF_RESET;
	hs_wire_wr64(g + 16, 0);
	hs_wire_wr64(g + 24, 0);
	assert_int_equal(decode_walk(f, 88), 0);

	/* An empty group that ends a maximum-size frame. */
	len = build_jumbo(f, true);
	assert_int_equal(len, HS_WIRE_FRAME_MAX);
	assert_int_equal(decode_walk(f, len), 0);
	len = build_jumbo(f, false);
	assert_int_equal(len, HS_WIRE_FRAME_MAX);
	assert_int_equal(decode_walk(f, len), 0);
	assert_int_equal(hs_wire_build_begin(&b, out, HS_WIRE_FRAME_MAX, &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 1, 1, 0, 0, 0), 0);
	/* 213-byte entries (1-byte key, 200-byte value) until exactly 44
	 * bytes are left: 8884 - 44 = 41 * 213 + 107. */
	for (v = 1; (room = hs_wire_room(&b)) > HS_WIRE_GROUP_HDR_LEN; v++) {
		size_t vl = room - HS_WIRE_GROUP_HDR_LEN - 13;

		assert_int_equal(hs_wire_put_entry(&b, v, 0, "k", 1, f,
				 (uint16_t)(vl > 200 ? 200 : vl)), 0);
	}
	assert_int_equal(hs_wire_group_end(&b, v - 1), 0);
	assert_int_equal(hs_wire_room(&b), HS_WIRE_GROUP_HDR_LEN);
	assert_int_equal(hs_wire_group_begin(&b, 2, 1, 10, 0, 0), -EMSGSIZE);
}

/* ---- tests: builder misuse ---- */

static void
begin(struct hs_wire_builder *b, uint8_t *buf, uint8_t type)
{
	struct hs_wire_hdr h = { .type = type, .sender_id = 1 };

	assert_int_equal(hs_wire_build_begin(b, buf, HS_WIRE_FRAME_DEFAULT, &h),
			 0);
}

/* Once poisoned, everything is refused, up to build_end. */
static void
assert_poisoned(struct hs_wire_builder *b)
{
	static const struct hs_wire_digest d = { 5, 1, 1, 1, 0 };

	assert_int_equal(b->err, -EINVAL);
	assert_int_equal(hs_wire_room(b), 0);
	assert_int_equal(hs_wire_section_begin(b, HS_WIRE_SEC_DELTAS), -EINVAL);
	assert_int_equal(hs_wire_put_digest(b, &d), -EINVAL);
	assert_int_equal(hs_wire_group_begin(b, 1, 1, 0, 0, 0), -EINVAL);
	assert_int_equal(hs_wire_put_entry(b, 1, 0, "k", 1, NULL, 0), -EINVAL);
	assert_int_equal(hs_wire_group_end(b, 1), -EINVAL);
	assert_int_equal(hs_wire_put_event(b, 1, 1, 1, NULL, 0), -EINVAL);
	assert_int_equal(hs_wire_section_end(b), -EINVAL);
	assert_int_equal(hs_wire_build_end(b), -EINVAL);
}

#define MISUSE(call)	do {					\
		assert_int_equal((call), -EINVAL);		\
		assert_poisoned(&b);				\
	} while (0)

static void
test_misuse_sections(void **state)
{
	static const struct hs_wire_digest d = { 5, 1, 1, 1, 0 };
	static const uint64_t h1[1] = { 1 };
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_wire_builder b;

	(void)state;
	/* A put with no section open, or in another section. */
	begin(&b, buf, HS_WIRE_ACK);
	MISUSE(hs_wire_put_digest(&b, &d));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_put_digest(&b, &d));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	MISUSE(hs_wire_group_begin(&b, 1, 1, 0, 0, 0));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	MISUSE(hs_wire_put_event(&b, 1, 1, 1, NULL, 0));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	MISUSE(hs_wire_put_summary(&b, 1, 0, 1, h1));

	/* A section the message type does not allow. */
	begin(&b, buf, HS_WIRE_PUSH);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS));
	begin(&b, buf, HS_WIRE_SYN);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS));
	begin(&b, buf, HS_WIRE_JOIN);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS));
	begin(&b, buf, HS_WIRE_ACK2);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE));
	/* Unknown section types. */
	begin(&b, buf, HS_WIRE_ACK);
	MISUSE(hs_wire_section_begin(&b, (enum hs_wire_sec)0));
	begin(&b, buf, HS_WIRE_PUSH);
	MISUSE(hs_wire_section_begin(&b,
				     (enum hs_wire_sec)(HS_WIRE_SEC_MAX + 1)));
	/* AGG rides on PUSH only. */
	begin(&b, buf, HS_WIRE_PING);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG));
	begin(&b, buf, HS_WIRE_ACK);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG));
	begin(&b, buf, HS_WIRE_ACK2);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG));
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG), 0);
	MISUSE(hs_wire_put_event(&b, 1, 1, 1, NULL, 0));

	/* Out of order, and repeated. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, NULL, 0), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS));
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, NULL, 0), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS));
	/* A section opened while another is open; closed when none is. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS));
	begin(&b, buf, HS_WIRE_PUSH);
	MISUSE(hs_wire_section_end(&b));

	/* Not misuse: a section closed empty is dropped and may come again,
	 * and a later one may follow it. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, "x", 1), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN + 4 + 27);
	assert_int_equal(decode_walk(buf, HS_WIRE_HDR_LEN + 4 + 27), 0);

	/* A required section missing at build_end, also when it was opened
	 * and dropped empty. */
	begin(&b, buf, HS_WIRE_PUSH);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_JOIN);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_LEAVE);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_PING_REQ);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, NULL, 0), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_NODES), 0);
	{
		struct hs_wire_node n = { .node = 3, .family = 4 };

		assert_int_equal(hs_wire_put_node(&b, &n), 0);
	}
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_build_end(&b));
	/* build_end with a section or a group still open. */
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	assert_int_equal(hs_wire_put_digest(&b, &d), 0);
	MISUSE(hs_wire_build_end(&b));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 1, 1, 0, 0, 0), 0);
	MISUSE(hs_wire_build_end(&b));
}

/* A builder with a DELTAS section open and group (from 10, no RESET). */
static void
begin_group(struct hs_wire_builder *b, uint8_t *buf, uint64_t from,
	    uint8_t gflags)
{
	begin(b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(b, 1, 1, from, 0, gflags), 0);
}

static void
test_misuse_deltas(void **state)
{
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_wire_builder b;

	(void)state;
	/* Versions must increase, strictly, from above from_version. */
	begin_group(&b, buf, 10, 0);
	assert_int_equal(hs_wire_put_entry(&b, 12, 0, "k", 1, "v", 1), 0);
	MISUSE(hs_wire_put_entry(&b, 12, 0, "j", 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	assert_int_equal(hs_wire_put_entry(&b, 12, 0, "k", 1, "v", 1), 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0, "j", 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 10, 0, "k", 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 3, 0, "k", 1, "v", 1));
	begin_group(&b, buf, 0, HS_WIRE_GF_RESET);
	MISUSE(hs_wire_put_entry(&b, 0, 0, "k", 1, "v", 1));

	/* RESET restates the owner from version 0. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_group_begin(&b, 1, 1, 10, 0, HS_WIRE_GF_RESET));
	/* Unknown group and entry flags. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_group_begin(&b, 1, 1, 0, 0, 0x02));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0x02, "k", 1, "v", 1));
	/* Owner 0 is not a node. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_group_begin(&b, 0, 1, 0, 0, 0));
	/* Keys are 1..255 bytes; a tombstone has no value. */
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0, "k", 0, "v", 1));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0, NULL, 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 11, HS_WIRE_EF_TOMBSTONE, "k", 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0, "k", 1, NULL, 1));

	/* to_version covers the last entry, and more than from_version. */
	begin_group(&b, buf, 10, 0);
	assert_int_equal(hs_wire_put_entry(&b, 12, 0, "k", 1, "v", 1), 0);
	assert_int_equal(hs_wire_put_entry(&b, 14, 0, "j", 1, "v", 1), 0);
	MISUSE(hs_wire_group_end(&b, 13));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_group_end(&b, 10));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_group_end(&b, 9));
	begin_group(&b, buf, 0, HS_WIRE_GF_RESET);
	assert_int_equal(hs_wire_put_entry(&b, 4, 0, "k", 1, "v", 1), 0);
	MISUSE(hs_wire_group_end(&b, 3));
	/* Not misuse: an empty RESET group (the owner has nothing left) and
	 * an empty plain group (its versions were all collected). */
	begin_group(&b, buf, 0, HS_WIRE_GF_RESET);
	assert_int_equal(hs_wire_group_end(&b, 0), 0);
	assert_int_equal(hs_wire_group_begin(&b, 2, 1, 10, 0, 0), 0);
	assert_int_equal(hs_wire_group_end(&b, 11), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN + 4 + 88);

	/* Entries and group ends outside a group; nested groups. */
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_put_entry(&b, 11, 0, "k", 1, "v", 1));
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	MISUSE(hs_wire_group_end(&b, 11));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_group_begin(&b, 2, 1, 0, 0, 0));
	begin_group(&b, buf, 10, 0);
	MISUSE(hs_wire_section_end(&b));
	/* A cancelled group leaves nothing behind. */
	begin_group(&b, buf, 10, 0);
	assert_int_equal(hs_wire_put_entry(&b, 11, 0, "k", 1, "v", 1), 0);
	hs_wire_group_cancel(&b);
	MISUSE(hs_wire_put_entry(&b, 12, 0, "k", 1, "v", 1));
	begin_group(&b, buf, 10, 0);
	hs_wire_group_cancel(&b);
	assert_int_equal(hs_wire_section_end(&b), 0);
	MISUSE(hs_wire_build_end(&b));	/* PUSH with nothing in it */
}

static void
test_misuse_items(void **state)
{
	static const uint64_t h4[4] = { 1, 2, 3, 4 };
	static const struct hs_wire_digest d0 = { 0, 1, 1, 1, 0 };
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_wire_builder b;
	struct hs_wire_node n;
	struct hs_wire_probe p;

	(void)state;
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	MISUSE(hs_wire_put_digest(&b, &d0));
	begin(&b, buf, HS_WIRE_ACK);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	MISUSE(hs_wire_put_digest(&b, NULL));

	/* Summary: power-of-two buckets, a non-empty range inside them, one
	 * per section. */
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	MISUSE(hs_wire_put_summary(&b, 0, 0, 1, h4));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	MISUSE(hs_wire_put_summary(&b, 12, 0, 1, h4));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	MISUSE(hs_wire_put_summary(&b, 8, 0, 0, h4));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	MISUSE(hs_wire_put_summary(&b, 8, 5, 4, h4));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	MISUSE(hs_wire_put_summary(&b, 8, 0, 4, NULL));
	begin(&b, buf, HS_WIRE_SYN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY), 0);
	assert_int_equal(hs_wire_put_summary(&b, 8, 4, 4, h4), 0);
	MISUSE(hs_wire_put_summary(&b, 8, 0, 4, h4));

	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	MISUSE(hs_wire_put_event(&b, 0, 1, 1, "x", 1));
	begin(&b, buf, HS_WIRE_PUSH);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	MISUSE(hs_wire_put_event(&b, 1, 1, 1, NULL, 1));

	/* Nodes: id, status, family, IPv4 tail, name. */
	memset(&n, 0, sizeof(n));
	n.node = 3;
	n.family = 4;
	n.addr[0] = 10;
	{
		static const struct {
			size_t off;
			uint8_t v;
		} bad[] = {
			{ offsetof(struct hs_wire_node, node), 0 },
			{ offsetof(struct hs_wire_node, status), 4 },
			{ offsetof(struct hs_wire_node, family), 0 },
			{ offsetof(struct hs_wire_node, family), 5 },
			{ offsetof(struct hs_wire_node, addr) + 4, 1 },
			{ offsetof(struct hs_wire_node, addr) + 15, 1 },
			{ offsetof(struct hs_wire_node, name_len), 1 },
		};
		unsigned i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct hs_wire_node x = n;

			/* node is a u64 whose value 0 is all zero bytes. */
			if (bad[i].off == offsetof(struct hs_wire_node, node))
				x.node = 0;
			else
				((uint8_t *)&x)[bad[i].off] = bad[i].v;
			begin(&b, buf, HS_WIRE_JOIN);
			assert_int_equal(hs_wire_section_begin(&b,
					HS_WIRE_SEC_NODES), 0);
			MISUSE(hs_wire_put_node(&b, &x));
		}
	}
	begin(&b, buf, HS_WIRE_JOIN);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_NODES), 0);
	MISUSE(hs_wire_put_node(&b, NULL));

	/* Probe: target, family, address for the family, one per section. */
	memset(&p, 0, sizeof(p));
	p.target = 5;
	{
		struct hs_wire_probe x;

		x = p;
		x.target = 0;
		begin(&b, buf, HS_WIRE_PING);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE), 0);
		MISUSE(hs_wire_put_probe(&b, &x));
		x = p;
		x.family = 7;
		begin(&b, buf, HS_WIRE_PING);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE), 0);
		MISUSE(hs_wire_put_probe(&b, &x));
		x = p;
		x.addr[0] = 10;	/* family 0 carries no address */
		begin(&b, buf, HS_WIRE_PING);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE), 0);
		MISUSE(hs_wire_put_probe(&b, &x));
		x = p;
		x.family = 4;
		x.addr[9] = 1;
		begin(&b, buf, HS_WIRE_PING);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE), 0);
		MISUSE(hs_wire_put_probe(&b, &x));
		begin(&b, buf, HS_WIRE_PING);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_PROBE), 0);
		assert_int_equal(hs_wire_put_probe(&b, &p), 0);
		MISUSE(hs_wire_put_probe(&b, &p));
	}

	/* Aggregate shares: a key; s, k, w finite; k, w not negative; no
	 * NaN anywhere.  Infinite extrema, -0 and epoch 0 are fine. */
	{
		const struct hs_wire_agg ok = { 0, -0.0, -0.0, 0, INFINITY,
						-INFINITY, 1,
						(const uint8_t *)"k" };
		unsigned i;

		for (i = 0; i < 15; i++) {
			struct hs_wire_agg x = ok;

			switch (i) {
			case 0: x.key_len = 0; break;
			case 1: x.key = NULL; break;
			case 2: x.s = NAN; break;
			case 3: x.s = INFINITY; break;
			case 4: x.s = -INFINITY; break;
			case 5: x.k = NAN; break;
			case 6: x.k = INFINITY; break;
			case 7: x.k = -DBL_MIN; break;
			case 8: x.w = -NAN; break;
			case 9: x.w = INFINITY; break;
			case 10: x.w = -1; break;
			case 11: x.min = NAN; break;
			case 12: x.max = -NAN; break;
			case 13: x.k = -DBL_MAX; break;
			default: break;
			}
			begin(&b, buf, HS_WIRE_PUSH);
			assert_int_equal(hs_wire_section_begin(&b,
					HS_WIRE_SEC_AGG), 0);
			if (i == 14)
				MISUSE(hs_wire_put_agg(&b, NULL));
			else
				MISUSE(hs_wire_put_agg(&b, &x));
		}
		begin(&b, buf, HS_WIRE_PUSH);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_AGG), 0);
		assert_int_equal(hs_wire_put_agg(&b, &ok), 0);
		assert_int_equal(hs_wire_put_agg(&b, &ok), 0);
		assert_int_equal(hs_wire_section_end(&b), 0);
		assert_int_equal(hs_wire_build_end(&b),
				 HS_WIRE_HDR_LEN + 4 + 2 * 57);
		assert_int_equal(decode_walk(buf, HS_WIRE_HDR_LEN + 4 + 2 * 57),
				 0);
	}
}

static void
test_misuse_header(void **state)
{
	uint8_t buf[HS_WIRE_FRAME_MAX + 1];
	struct hs_wire_builder b;
	struct hs_wire_hdr ok = { .type = HS_WIRE_ACK, .sender_id = 1 };
	struct hs_wire_hdr h;

	(void)state;
	h = ok;
	h.sender_id = 0;
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h = ok;
	h.type = 0;
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h.type = HS_WIRE_TYPE_MAX + 1;
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h = ok;
	h.flags = 0x0002;
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h.flags = HS_WIRE_F_AUTH;	/* AUTH needs a trailer */
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h = ok;
	h.trailer_len = 16;		/* and a trailer needs AUTH */
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h.flags = HS_WIRE_F_AUTH;
	h.trailer_len = HS_WIRE_TRAILER_MAX + 1;
	MISUSE(hs_wire_build_begin(&b, buf, sizeof(buf) - 1, &h));
	h = ok;
	MISUSE(hs_wire_build_begin(&b, buf, HS_WIRE_FRAME_MAX + 1, &h));
	MISUSE(hs_wire_build_begin(&b, buf, HS_WIRE_HDR_LEN - 1, &h));
	h.flags = HS_WIRE_F_AUTH;
	h.trailer_len = 8;
	MISUSE(hs_wire_build_begin(&b, buf, HS_WIRE_HDR_LEN + 7, &h));
	MISUSE(hs_wire_build_begin(&b, NULL, HS_WIRE_FRAME_DEFAULT, &h));
	MISUSE(hs_wire_build_begin(&b, buf, HS_WIRE_FRAME_DEFAULT, NULL));
	assert_int_equal(hs_wire_build_begin(NULL, buf, 100, &ok), -EINVAL);

	/* The smallest frames: a bare header, and one with a trailer. */
	assert_int_equal(hs_wire_build_begin(&b, buf, HS_WIRE_HDR_LEN, &ok), 0);
	assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN);
	assert_int_equal(decode_walk(buf, HS_WIRE_HDR_LEN), 0);
	assert_int_equal(hs_wire_build_begin(&b, buf, HS_WIRE_HDR_LEN + 8, &h),
			 0);
	assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN + 8);
	assert_int_equal(decode_walk(buf, HS_WIRE_HDR_LEN + 8), 0);
	/* A builder re-begun after misuse works again. */
	MISUSE(hs_wire_section_end(&b));
	assert_int_equal(hs_wire_build_begin(&b, buf, HS_WIRE_FRAME_MAX, &ok),
			 0);
	assert_int_equal(hs_wire_build_end(&b), HS_WIRE_HDR_LEN);
}

/* ---- tests: what the decoder refuses ---- */

static void
test_truncations(void **state)
{
	unsigned i;
	size_t l;

	(void)state;
	for (i = 0; i < N_SAMPLES; i++) {
		const struct frame *f = &sample_frames[i];

		assert_int_equal(decode_walk(f->buf, f->len), 0);
		/* Short of the header, or short of payload_len + trailer_len:
		 * always malformed, whatever the cut. */
		for (l = 0; l < f->len; l++)
			assert_int_equal(decode_walk(f->buf, l), -EBADMSG);
	}
	/* The extra-byte side: one byte more than the header says. */
	for (i = 0; i < N_SAMPLES; i++) {
		struct frame g = sample_frames[i];

		if (g.len == HS_WIRE_FRAME_MAX)
			continue;
		g.buf[g.len] = 0;
		assert_int_equal(decode_walk(g.buf, g.len + 1), -EBADMSG);
	}
}

static void
test_byte_changes(void **state)
{
	static const uint8_t xors[] = { 0x01, 0x80, 0xff };
	unsigned i, k, n_ok = 0, n_bad = 0, n_proto = 0;
	size_t pos;

	(void)state;
	for (i = 0; i < N_SAMPLES; i++) {
		const struct frame *f = &sample_frames[i];
		uint8_t *buf = heap_copy(f->buf, f->len);

		for (pos = 0; pos < f->len; pos++) {
			const uint8_t orig = buf[pos];
			uint8_t vals[5];

			for (k = 0; k < 3; k++)
				vals[k] = orig ^ xors[k];
			vals[3] = 0x00;
			vals[4] = (uint8_t)(orig + 1);
			for (k = 0; k < 5; k++) {
				struct hs_wire_msg m;
				int rc;

				if (vals[k] == orig)
					continue;
				buf[pos] = vals[k];
				rc = hs_wire_decode(buf, f->len, &m);
				if (rc == 0) {
					walk(buf, f->len, &m);
					n_ok++;
				} else if (rc == -EPROTO) {
					n_proto++;
				} else {
					assert_int_equal(rc, -EBADMSG);
					n_bad++;
				}
			}
			buf[pos] = orig;
		}
		free(buf);
	}
	/* Both outcomes occur: the test can tell them apart. */
	assert_true(n_ok > 1000 && n_bad > 1000 && n_proto > 100);
	print_message("byte changes: %u accepted, %u malformed, %u protocol\n",
		      n_ok, n_bad, n_proto);
}

/* A field to patch: base sample, where, width, value, expected result. */
struct patch {
	const char *what;
	unsigned sample;
	int sec;		/* 0: header; t: body of section t;
				 * -t: header of section t */
	unsigned off;
	unsigned width;		/* 1, 2, 4 or 8 bytes, big-endian */
	uint64_t value;
	int expect;
};


static const struct patch patches[] = {
	/* header */
	{ "magic", S_ACK2, 0, 0, 2, 0x4854, -EBADMSG },
	{ "magic swapped", S_ACK2, 0, 0, 2, 0x5348, -EBADMSG },
	{ "version 0", S_ACK2, 0, 2, 1, 0, -EPROTO },
	{ "version 2", S_ACK2, 0, 2, 1, 2, -EPROTO },
	{ "type 0", S_ACK2, 0, 3, 1, 0, -EPROTO },
	{ "type 10", S_ACK2, 0, 3, 1, 10, -EPROTO },
	{ "type 255", S_ACK2, 0, 3, 1, 255, -EPROTO },
	{ "unknown flag", S_ACK2, 0, 4, 2, 0x0002, -EPROTO },
	{ "unknown flag high", S_ACK2, 0, 4, 2, 0x8000, -EPROTO },
	{ "AUTH without trailer", S_ACK2, 0, 4, 2, HS_WIRE_F_AUTH, -EBADMSG },
	{ "trailer without AUTH", S_AUTH, 0, 4, 2, 0, -EBADMSG },
	{ "reserved", S_ACK2, 0, 10, 2, 1, -EPROTO },
	{ "reserved high", S_ACK2, 0, 10, 2, 0x8000, -EPROTO },
	{ "sender 0", S_ACK2, 0, 16, 8, 0, -EBADMSG },
	{ "cluster any", S_ACK2, 0, 12, 4, 0xdeadbeef, 0 },
	{ "sender_gen any", S_ACK2, 0, 24, 8, UINT64_MAX, 0 },
	{ "seq any", S_ACK2, 0, 32, 8, 0, 0 },
	{ "ACK2 as PUSH", S_ACK2, 0, 3, 1, HS_WIRE_PUSH, 0 },
	{ "ACK2 as ACK", S_ACK2, 0, 3, 1, HS_WIRE_ACK, 0 },
	{ "ACK2 as PING: no probe", S_ACK2, 0, 3, 1, HS_WIRE_PING, -EPROTO },
	{ "ACK2 as JOIN: deltas", S_ACK2, 0, 3, 1, HS_WIRE_JOIN, -EPROTO },
	{ "SYN as ACK: summary", S_SYN, 0, 3, 1, HS_WIRE_ACK, -EPROTO },
	{ "PING as ACK2: probe", S_PING, 0, 3, 1, HS_WIRE_ACK2, -EPROTO },
	{ "PING as PING_ACK", S_PING, 0, 3, 1, HS_WIRE_PING_ACK, 0 },
	/* section headers */
	{ "section flags", S_ACK2, -3, 1, 1, 1, -EPROTO },
	{ "section flags high", S_ACK2, -5, 1, 1, 0x80, -EPROTO },
	{ "section type 0", S_ACK2, -3, 0, 1, 0, -EPROTO },
	{ "section type 7", S_PING, -6, 0, 1, 7, -EPROTO },
	{ "section type 255", S_ACK2, -3, 0, 1, 255, -EPROTO },
	{ "section repeated", S_SYN, -2, 0, 1, 1, -EPROTO },
	{ "section not allowed", S_SYN, -5, 0, 1, 6, -EPROTO },
	{ "section empty", S_ACK2, -4, 2, 2, 0, -EBADMSG },
	/* digests */
	{ "digest node 0", S_SYN, 1, 0, 8, 0, -EBADMSG },
	{ "digest floor any", S_SYN, 1, 32, 8, UINT64_MAX, 0 },
	/* summary */
	{ "buckets 0", S_SYN, 2, 0, 2, 0, -EBADMSG },
	{ "buckets 3", S_SYN, 2, 0, 2, 3, -EBADMSG },
	{ "buckets 0x8001", S_SYN, 2, 0, 2, 0x8001, -EBADMSG },
	{ "buckets 0x8000", S_SYN, 2, 0, 2, 0x8000, 0 },
	{ "first past buckets", S_SYN, 2, 2, 2, 0xffff, -EBADMSG },
	{ "count 0", S_SYN, 2, 4, 2, 0, -EBADMSG },
	{ "summary reserved", S_SYN, 2, 6, 2, 1, -EPROTO },
	/* delta group (sample S_ACK2: first group from a plain window) */
	{ "owner 0", S_ACK2, 3, 0, 8, 0, -EBADMSG },
	{ "generation any", S_ACK2, 3, 8, 8, UINT64_MAX, 0 },
	{ "from above to", S_ACK2, 3, 16, 8, UINT64_MAX, -EBADMSG },
	{ "to below from", S_ACK2, 3, 24, 8, 0, -EBADMSG },
	{ "to below entries", S_ACK2, 3, 24, 8, 1, -EBADMSG },
	{ "floor any", S_ACK2, 3, 32, 8, UINT64_MAX, 0 },
	{ "group flag unknown", S_ACK2, 3, 40, 1, 0x02, -EPROTO },
	{ "group flag high", S_ACK2, 3, 40, 1, 0x80, -EPROTO },
	{ "group reserved", S_ACK2, 3, 41, 1, 1, -EPROTO },
	{ "RESET with from", S_ACK2, 3, 40, 1, HS_WIRE_GF_RESET, -EBADMSG },
	{ "RESET from 0 to 0", S_RESET, 3, 24, 8, 0, -EBADMSG },
	{ "RESET dropped", S_RESET, 3, 40, 1, 0, 0 },
	/* first entry of that group, at body offset 44 */
	{ "entry version 0", S_ACK2, 3, 44, 8, 0, -EBADMSG },
	{ "entry version > to", S_ACK2, 3, 44, 8, UINT64_MAX, -EBADMSG },
	{ "entry flag unknown", S_ACK2, 3, 52, 1, 0x02, -EPROTO },
	{ "entry flag high", S_ACK2, 3, 52, 1, 0x80, -EPROTO },
	{ "key_len 0", S_ACK2, 3, 53, 1, 0, -EBADMSG },
	/* events */
	{ "event origin 0", S_ACK2, 4, 0, 8, 0, -EBADMSG },
	{ "event generation any", S_ACK2, 4, 8, 8, UINT64_MAX, 0 },
	{ "event seq any", S_ACK2, 4, 16, 8, 0, 0 },
	/* nodes (IPv4 in S_ACK2, IPv6 in S_PING) */
	{ "node 0", S_ACK2, 5, 0, 8, 0, -EBADMSG },
	{ "status 4", S_ACK2, 5, 24, 1, 4, -EBADMSG },
	{ "status 255", S_ACK2, 5, 24, 1, 255, -EBADMSG },
	{ "status 3", S_ACK2, 5, 24, 1, 3, 0 },
	{ "family 0", S_ACK2, 5, 25, 1, 0, -EBADMSG },
	{ "family 5", S_ACK2, 5, 25, 1, 5, -EBADMSG },
	{ "v4 tail byte 4", S_ACK2, 5, 32, 1, 1, -EBADMSG },
	{ "v4 tail byte 15", S_ACK2, 5, 43, 1, 1, -EBADMSG },
	{ "v4 as v6", S_ACK2, 5, 25, 1, 6, 0 },
	{ "v6 as v4", S_V6, 5, 25, 1, 4, -EBADMSG },
	{ "port any", S_ACK2, 5, 26, 2, 0, 0 },
	/* probe (IPv4) */
	{ "probe target 0", S_PING, 6, 8, 8, 0, -EBADMSG },
	{ "probe seq any", S_PING, 6, 0, 8, 0, 0 },
	{ "probe family 5", S_PING, 6, 16, 1, 5, -EBADMSG },
	{ "probe family 0 with address", S_PING, 6, 16, 1, 0, -EBADMSG },
	{ "probe reserved", S_PING, 6, 17, 1, 1, -EPROTO },
	{ "probe v4 tail", S_PING, 6, 30, 1, 1, -EBADMSG },
	{ "probe v4 as v6", S_PING, 6, 16, 1, 6, 0 },
	/* aggregate shares (first record of S_AGG: min +inf, max -inf) */
	{ "AGG in ACK", S_AGG, 0, 3, 1, HS_WIRE_ACK, -EPROTO },
	{ "AGG in PING", S_AGG, 0, 3, 1, HS_WIRE_PING, -EPROTO },
	{ "AGG in ACK2", S_AGG, 0, 3, 1, HS_WIRE_ACK2, -EPROTO },
	{ "section type 8", S_AGG, -7, 0, 1, 8, -EPROTO },
	{ "AGG section flags", S_AGG, -7, 1, 1, 1, -EPROTO },
	{ "agg key_len 0", S_AGG, 7, 0, 1, 0, -EBADMSG },
	{ "agg reserved 1", S_AGG, 7, 1, 1, 1, -EPROTO },
	{ "agg reserved 4", S_AGG, 7, 4, 1, 0x10, -EPROTO },
	{ "agg reserved 7", S_AGG, 7, 7, 1, 0x80, -EPROTO },
	{ "agg epoch any", S_AGG, 7, 8, 8, UINT64_MAX, 0 },
	{ "agg epoch 0", S_AGG, 7, 8, 8, 0, 0 },
	{ "agg s NaN", S_AGG, 7, 16, 8, 0x7ff8000000000000ull, -EBADMSG },
	{ "agg s signalling NaN", S_AGG, 7, 16, 8, 0x7ff0000000000001ull,
	  -EBADMSG },
	{ "agg s -NaN", S_AGG, 7, 16, 8, 0xfff8000000000000ull, -EBADMSG },
	{ "agg s +inf", S_AGG, 7, 16, 8, 0x7ff0000000000000ull, -EBADMSG },
	{ "agg s -inf", S_AGG, 7, 16, 8, 0xfff0000000000000ull, -EBADMSG },
	{ "agg s -1", S_AGG, 7, 16, 8, 0xbff0000000000000ull, 0 },
	{ "agg s -max", S_AGG, 7, 16, 8, 0xffefffffffffffffull, 0 },
	{ "agg k -1", S_AGG, 7, 24, 8, 0xbff0000000000000ull, -EBADMSG },
	{ "agg k -subnormal", S_AGG, 7, 24, 8, 0x8000000000000001ull,
	  -EBADMSG },
	{ "agg k -0", S_AGG, 7, 24, 8, 0x8000000000000000ull, 0 },
	{ "agg k +inf", S_AGG, 7, 24, 8, 0x7ff0000000000000ull, -EBADMSG },
	{ "agg k NaN", S_AGG, 7, 24, 8, 0x7fffffffffffffffull, -EBADMSG },
	{ "agg k max", S_AGG, 7, 24, 8, 0x7fefffffffffffffull, 0 },
	{ "agg w -1", S_AGG, 7, 32, 8, 0xbff0000000000000ull, -EBADMSG },
	{ "agg w -inf", S_AGG, 7, 32, 8, 0xfff0000000000000ull, -EBADMSG },
	{ "agg w NaN", S_AGG, 7, 32, 8, 0x7ff8000000000000ull, -EBADMSG },
	{ "agg w -0", S_AGG, 7, 32, 8, 0x8000000000000000ull, 0 },
	{ "agg min NaN", S_AGG, 7, 40, 8, 0x7ff8000000000000ull, -EBADMSG },
	{ "agg min -NaN", S_AGG, 7, 40, 8, 0xffffffffffffffffull, -EBADMSG },
	{ "agg min -inf", S_AGG, 7, 40, 8, 0xfff0000000000000ull, 0 },
	{ "agg min 1", S_AGG, 7, 40, 8, 0x3ff0000000000000ull, 0 },
	{ "agg max NaN", S_AGG, 7, 48, 8, 0x7ff0000000000001ull, -EBADMSG },
	{ "agg max +inf", S_AGG, 7, 48, 8, 0x7ff0000000000000ull, 0 },
};

static void
wr_be(uint8_t *p, unsigned width, uint64_t v)
{
	unsigned i;

	for (i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

/* The samples the patch table relies on have the shape it assumes. */
static void
test_patch_bases(void **state)
{
	/* Zeroed: gcc cannot see that a failed cmocka assert does not
	 * return, and would warn of reads after a false *_next(). */
	struct hs_wire_msg m;
	struct hs_wire_iter it;
	struct hs_wire_group g = { 0 };
	struct hs_wire_entry e = { 0 };
	struct hs_wire_node n = { 0 };
	struct hs_wire_probe p;

	(void)state;
	assert_int_equal(hs_wire_decode(sample_frames[S_SYN].buf,
					sample_frames[S_SYN].len, &m), 0);
	assert_int_equal(m.sec_mask, B(DIGESTS) | B(SUMMARY) | B(NODES));
	assert_true(m.sec[HS_WIRE_SEC_SUMMARY].n >= 1);

	assert_int_equal(hs_wire_decode(sample_frames[S_ACK2].buf,
					sample_frames[S_ACK2].len, &m), 0);
	assert_int_equal(m.hdr.type, HS_WIRE_ACK2);
	assert_int_equal(m.sec_mask, PIGGY);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_DELTAS);
	assert_true(hs_wire_group_next(&it, &g));
	assert_true(g.from_version > 0 && g.n_entries >= 1 &&
		    !(g.flags & HS_WIRE_GF_RESET));
	hs_wire_entries_init(&it, &g);
	assert_true(hs_wire_entry_next(&it, &e));
	assert_true(e.version > 1);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_NODES);
	assert_true(hs_wire_node_next(&it, &n));
	assert_int_equal(n.family, 4);

	assert_int_equal(hs_wire_decode(sample_frames[S_PING].buf,
					sample_frames[S_PING].len, &m), 0);
	assert_int_equal(m.hdr.type, HS_WIRE_PING);
	assert_int_equal(m.sec_mask, PIGGY | B(PROBE));
	hs_wire_probe_get(&m, &p);
	assert_int_equal(p.family, 4);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_NODES);
	assert_true(hs_wire_node_next(&it, &n));
	assert_int_equal(n.family, 4);

	assert_int_equal(hs_wire_decode(sample_frames[S_RESET].buf,
					sample_frames[S_RESET].len, &m), 0);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_DELTAS);
	assert_true(hs_wire_group_next(&it, &g));
	assert_true((g.flags & HS_WIRE_GF_RESET) && g.n_entries >= 1);

	assert_int_equal(hs_wire_decode(sample_frames[S_AUTH].buf,
					sample_frames[S_AUTH].len, &m), 0);
	assert_int_equal(m.hdr.flags, HS_WIRE_F_AUTH);
	assert_true(m.hdr.trailer_len > 0);

	/* The AGG patches start from a record that has seen no value, with
	 * finite shares. */
	{
		struct hs_wire_agg a = { 0 };

		assert_int_equal(hs_wire_decode(sample_frames[S_AGG].buf,
						sample_frames[S_AGG].len, &m),
				 0);
		assert_int_equal(m.hdr.type, HS_WIRE_PUSH);
		assert_int_equal(m.sec_mask, B(AGG));
		hs_wire_iter_init(&it, &m, HS_WIRE_SEC_AGG);
		assert_true(hs_wire_agg_next(&it, &a));
		assert_true(a.key_len >= 1 && isfinite(a.s) && a.k >= 0);
		assert_true(isinf(a.min) && a.min > 0);
		assert_true(isinf(a.max) && a.max < 0);
	}

	/* "v6 as v4" means something only with a nonzero IPv6 tail. */
	assert_int_equal(hs_wire_decode(sample_frames[S_V6].buf,
					sample_frames[S_V6].len, &m), 0);
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_NODES);
	assert_true(hs_wire_node_next(&it, &n));
	assert_int_equal(n.family, 6);
	assert_true(hs_wire_rd64(n.addr + 4) != 0 || hs_wire_rd32(n.addr + 12));
}

static void
test_patches(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct patch *pt = &patches[i];
		struct frame f = sample_frames[pt->sample];
		struct hs_wire_msg m;
		size_t at = pt->off;
		int rc;

		if (pt->sec != 0) {
			unsigned t = (unsigned)(pt->sec < 0 ? -pt->sec : pt->sec);

			assert_int_equal(hs_wire_decode(f.buf, f.len, &m), 0);
			assert_true(hs_wire_has(&m, (enum hs_wire_sec)t));
			at += (size_t)(m.sec[t].p - f.buf);
			if (pt->sec < 0)
				at -= HS_WIRE_SEC_HDR_LEN;
		}
		wr_be(f.buf + at, pt->width, pt->value);
		rc = decode_walk(f.buf, f.len);
		if (rc != pt->expect)
			print_message("patch '%s': got %d (%s), want %d\n",
				      pt->what, rc, hs_wire_strerror(rc),
				      pt->expect);
		assert_int_equal(rc, pt->expect);
	}
	/* In the worked example, at a known offset: the live entry "k" =
	 * "hi" turned into a tombstone that keeps its value. */
	{
		uint8_t f[sizeof(example_push)];

		memcpy(f, example_push, sizeof(f));
		f[96] = HS_WIRE_EF_TOMBSTONE;
		assert_int_equal(decode_walk(f, sizeof(f)), -EBADMSG);
	}
}

/*
 * Every allowed/required combination: each section alone in each message
 * type (with a required one next to it when needed), each type with its
 * required sections missing, and sections out of order or repeated.
 */
static void
test_section_rules(void **state)
{
	static uint8_t f[HS_WIRE_FRAME_MAX];
	unsigned type, t;
	uint8_t secs[HS_WIRE_SEC_MAX + 2];

	(void)state;
	for (type = 1; type <= HS_WIRE_TYPE_MAX; type++) {
		uint32_t allowed = spec_rules[type].allowed;
		uint32_t need = spec_rules[type].need_any;
		unsigned n;

		for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
			uint32_t mask = 1u << t;
			unsigned u;

			if (need != 0 && !(need & mask))
				mask |= need & -need;
			for (n = 0, u = 1; u <= HS_WIRE_SEC_MAX; u++)
				if (mask & (1u << u))
					secs[n++] = (uint8_t)u;
			assert_int_equal(decode_walk(f, compose(f, (uint8_t)type,
								secs, n)),
					 (allowed >> t) & 1 ? 0 : -EPROTO);
		}
		/* Everything allowed but the required ones. */
		for (n = 0, t = 1; t <= HS_WIRE_SEC_MAX; t++)
			if ((allowed & ~need) & (1u << t))
				secs[n++] = (uint8_t)t;
		assert_int_equal(decode_walk(f, compose(f, (uint8_t)type, secs,
							n)),
				 need != 0 ? -EPROTO : 0);
		/* Everything allowed. */
		for (n = 0, t = 1; t <= HS_WIRE_SEC_MAX; t++)
			if (allowed & (1u << t))
				secs[n++] = (uint8_t)t;
		assert_int_equal(decode_walk(f, compose(f, (uint8_t)type, secs,
							n)), 0);
		/* Every ordered pair reversed, every section twice. */
		for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
			unsigned u;

			if (!(allowed & (1u << t)))
				continue;
			for (u = t; u <= HS_WIRE_SEC_MAX; u++) {
				uint8_t pair[2];

				if (!(allowed & (1u << u)))
					continue;
				/* Keep the type satisfied, so that order is
				 * the only fault. */
				if (need != 0 && !((need >> u) & 1) &&
				    !((need >> t) & 1))
					continue;
				pair[0] = (uint8_t)u;
				pair[1] = (uint8_t)t;
				assert_int_equal(decode_walk(f, compose(f,
						(uint8_t)type, pair, 2)),
						 -EPROTO);
			}
		}
	}
	/* A section of unknown type between known ones. */
	secs[0] = HS_WIRE_SEC_DELTAS;
	secs[1] = HS_WIRE_SEC_EVENTS;
	{
		size_t len = compose(f, HS_WIRE_PUSH, secs, 2);

		f[HS_WIRE_HDR_LEN + 4 + bodies[3].len] = HS_WIRE_SEC_MAX + 1;
		assert_int_equal(decode_walk(f, len), -EPROTO);
	}
}

/*
 * Lying lengths: every length or count field, made larger, smaller, zero or
 * huge.  On the last item of a section, and on the header and section
 * lengths, the result is exactly -EBADMSG: the lie overruns its container,
 * or leaves too few bytes for another item.  On the first item of a section
 * the bytes after it are misread, so the refusal may be of either class.
 */
struct lie {
	const char *what;
	unsigned sec;		/* 0: the header's payload_len */
	int off;		/* in the item; -2: the section's body_len */
	unsigned width;		/* 1 or 2 */
	bool last;		/* in the last item, else the first */
};

static void
lie_frame(uint8_t type, uint8_t sec, uint8_t *f, size_t *len,
	  size_t *first, size_t *last)
{
	static const uint8_t name[4] = "node";
	struct hs_wire_hdr h = { .type = type, .sender_id = 1 };
	struct hs_wire_builder b;
	struct hs_wire_node n = { .node = 9, .family = 4, .name_len = 4,
				  .name = name };
	struct hs_wire_probe p = { .target = 9 };
	struct hs_wire_digest d = { .node = 9 };
	struct hs_wire_agg ag = { .epoch = 2, .s = 1, .k = 1, .w = 1,
				  .min = 1, .max = 1, .key_len = 4,
				  .key = (const uint8_t *)"abcd" };
	uint64_t hashes[2] = { 1, 2 };
	size_t off;
	int rc;

	assert_int_equal(hs_wire_build_begin(&b, f, HS_WIRE_FRAME_DEFAULT, &h),
			 0);
	assert_int_equal(hs_wire_section_begin(&b, (enum hs_wire_sec)sec), 0);
	off = b.len;
	*first = off;
	switch (sec) {
	case HS_WIRE_SEC_DIGESTS:
		hs_wire_put_digest(&b, &d);
		*last = b.len;
		hs_wire_put_digest(&b, &d);
		break;
	case HS_WIRE_SEC_SUMMARY:
		*last = b.len;
		hs_wire_put_summary(&b, 4, 0, 2, hashes);
		break;
	case HS_WIRE_SEC_DELTAS:
		/* Two groups of two entries; *first is the first group. */
		hs_wire_group_begin(&b, 1, 1, 10, 0, 0);
		hs_wire_put_entry(&b, 11, 0, "ab", 2, "xyz", 3);
		hs_wire_put_entry(&b, 12, 0, "cd", 2, "uvw", 3);
		hs_wire_group_end(&b, 12);
		*last = b.len;
		hs_wire_group_begin(&b, 2, 1, 20, 0, 0);
		hs_wire_put_entry(&b, 21, 0, "ef", 2, "rst", 3);
		hs_wire_put_entry(&b, 22, 0, "gh", 2, "opq", 3);
		hs_wire_group_end(&b, 22);
		break;
	case HS_WIRE_SEC_EVENTS:
		hs_wire_put_event(&b, 1, 1, 1, "abcd", 4);
		*last = b.len;
		hs_wire_put_event(&b, 1, 1, 2, "efgh", 4);
		break;
	case HS_WIRE_SEC_NODES:
		hs_wire_put_node(&b, &n);
		*last = b.len;
		hs_wire_put_node(&b, &n);
		break;
	case HS_WIRE_SEC_AGG:
		hs_wire_put_agg(&b, &ag);
		*last = b.len;
		hs_wire_put_agg(&b, &ag);
		break;
	default:
		*last = b.len;
		hs_wire_put_probe(&b, &p);
		break;
	}
	assert_int_equal(hs_wire_section_end(&b), 0);
	rc = hs_wire_build_end(&b);
	assert_true(rc > 0);
	*len = (size_t)rc;
	assert_int_equal(decode_walk(f, *len), 0);
}

static void
test_lying_lengths(void **state)
{
	static const struct lie lies[] = {
		{ "payload_len", 0, 6, 2, true },
		{ "digests body_len", 1, -2, 2, true },
		{ "summary body_len", 2, -2, 2, true },
		{ "deltas body_len", 3, -2, 2, true },
		{ "events body_len", 4, -2, 2, true },
		{ "nodes body_len", 5, -2, 2, true },
		{ "probe body_len", 6, -2, 2, true },
		{ "summary count", 2, 4, 2, true },
		{ "last n_entries", 3, 42, 2, true },
		{ "first n_entries", 3, 42, 2, false },
		{ "first key_len", 3, 44 + 9, 1, false },
		{ "first value_len", 3, 44 + 10, 2, false },
		{ "last key_len", 3, 44 + 17 + 9, 1, true },
		{ "last value_len", 3, 44 + 17 + 10, 2, true },
		{ "last event len", 4, 24, 2, true },
		{ "first event len", 4, 24, 2, false },
		{ "last name_len", 5, 44, 1, true },
		{ "first name_len", 5, 44, 1, false },
		{ "agg body_len", 7, -2, 2, true },
		{ "last agg key_len", 7, 0, 1, true },
		{ "first agg key_len", 7, 0, 1, false },
	};
	static const uint8_t type_of[HS_WIRE_SEC_MAX + 1] = {
		HS_WIRE_ACK, HS_WIRE_ACK, HS_WIRE_SYN, HS_WIRE_ACK,
		HS_WIRE_ACK, HS_WIRE_ACK, HS_WIRE_PING, HS_WIRE_PUSH,
	};
	static uint8_t f[HS_WIRE_FRAME_DEFAULT];
	unsigned i, k, n_lies = 0;

	(void)state;
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		const struct lie *l = &lies[i];
		uint8_t sec = (uint8_t)(l->sec != 0 ? l->sec : HS_WIRE_SEC_EVENTS);

		for (k = 0; k < 9; k++) {
			size_t len, first, last, at;
			uint64_t orig, v;
			int rc;

			lie_frame(type_of[l->sec], sec, f, &len, &first, &last);
			if (l->sec == 0)
				at = (size_t)l->off;
			else if (l->off == -2)
				at = first - 2;
			else
				at = (l->last ? last : first) + (size_t)l->off;
			orig = l->width == 1 ? f[at] : hs_wire_rd16(f + at);
			switch (k) {
			case 0: v = orig + 1; break;
			case 1: v = orig - 1; break;
			case 2: v = orig + 2; break;
			case 3: v = orig - 2; break;
			case 4: v = orig + 0x100; break;
			case 5: v = 0; break;
			case 6: v = UINT64_MAX; break;
			case 7: v = orig ^ 0x80; break;
			default: v = orig << 1; break;
			}
			v &= l->width == 1 ? 0xff : 0xffff;
			if (v == orig)
				continue;
			wr_be(f + at, l->width, v);
			rc = decode_walk(f, len);
			n_lies++;
			if (l->last) {
				if (rc != -EBADMSG)
					print_message("lie %s: %" PRIu64 " -> %"
						      PRIu64 ": %d\n", l->what,
						      orig, v, rc);
				assert_int_equal(rc, -EBADMSG);
			} else {
				assert_true(rc == -EBADMSG || rc == -EPROTO);
			}
		}
	}
	assert_true(n_lies > 100);
}

static void
test_oversize(void **state)
{
	static uint8_t big[HS_WIRE_FRAME_MAX + 100];
	struct hs_wire_hdr h = { .type = HS_WIRE_ACK, .sender_id = 1 };
	struct hs_wire_builder b;
	struct hs_wire_msg m;
	uint8_t val[HS_WIRE_FRAME_MAX];
	int len;

	(void)state;
	/* A frame of exactly HS_WIRE_FRAME_MAX bytes decodes. */
	memset(val, 'v', sizeof(val));
	assert_int_equal(hs_wire_build_begin(&b, big, HS_WIRE_FRAME_MAX, &h),
			 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_EVENTS), 0);
	assert_int_equal(hs_wire_put_event(&b, 1, 1, 1, val,
		(uint16_t)(HS_WIRE_FRAME_MAX - HS_WIRE_HDR_LEN - 4 - 26)), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	len = hs_wire_build_end(&b);
	assert_int_equal(len, HS_WIRE_FRAME_MAX);
	assert_int_equal(decode_walk(big, HS_WIRE_FRAME_MAX), 0);
	/* Anything longer is oversize, before any other check, even when
	 * the header would describe it correctly. */
	hs_wire_wr16(big + 6, HS_WIRE_FRAME_MAX + 1 - HS_WIRE_HDR_LEN);
	assert_int_equal(hs_wire_decode(big, HS_WIRE_FRAME_MAX + 1, &m),
			 -EMSGSIZE);
	memset(big, 0, sizeof(big));
	assert_int_equal(hs_wire_decode(big, HS_WIRE_FRAME_MAX + 1, &m),
			 -EMSGSIZE);
	assert_int_equal(hs_wire_decode(big, sizeof(big), &m), -EMSGSIZE);
	assert_int_equal(hs_wire_decode(big, 65535, &m), -EMSGSIZE);
	assert_int_equal(hs_wire_decode(big, SIZE_MAX, &m), -EMSGSIZE);
	/* A 40-byte frame can say its payload is 65495 bytes: u16 sums
	 * must not wrap. */
	put_hdr(big, HS_WIRE_ACK, 0xffff);
	assert_int_equal(decode_walk(big, HS_WIRE_HDR_LEN), -EBADMSG);
	hs_wire_wr16(big + 8, 0xffff);
	hs_wire_wr16(big + 4, HS_WIRE_F_AUTH);
	assert_int_equal(decode_walk(big, HS_WIRE_HDR_LEN), -EBADMSG);
	/* Trailer above 64 bytes, even when the lengths add up. */
	put_hdr(big, HS_WIRE_ACK, 0);
	hs_wire_wr16(big + 4, HS_WIRE_F_AUTH);
	hs_wire_wr16(big + 8, HS_WIRE_TRAILER_MAX + 1);
	assert_int_equal(decode_walk(big, HS_WIRE_HDR_LEN + HS_WIRE_TRAILER_MAX
				     + 1), -EBADMSG);
	hs_wire_wr16(big + 8, HS_WIRE_TRAILER_MAX);
	assert_int_equal(decode_walk(big, HS_WIRE_HDR_LEN + HS_WIRE_TRAILER_MAX),
			 0);
}

static void
test_garbage(void **state)
{
	static uint8_t f[HS_WIRE_FRAME_MAX + 200];
	uint64_t s = test_seed;
	unsigned i, n_ok = 0;

	(void)state;
	/* Pure noise, lengths around every boundary. */
	for (i = 0; i < 20000; i++) {
		size_t len;
		int rc;

		switch (rnd(&s) % 4) {
		case 0:
			len = rnd(&s) % 64;
			break;
		case 1:
			len = rnd(&s) % 600;
			break;
		case 2:
			len = HS_WIRE_FRAME_MAX - 4 + rnd(&s) % 8;
			break;
		default:
			len = rnd(&s) % sizeof(f);
			break;
		}
		fill_bytes(f, len, &s);
		if (rnd(&s) % 2)
			hs_wire_wr16(f, HS_WIRE_MAGIC);
		rc = decode_walk(f, len);
		if (len > HS_WIRE_FRAME_MAX)
			assert_int_equal(rc, -EMSGSIZE);
		else
			assert_int_not_equal(rc, -EMSGSIZE);
	}
	/* A valid header over random sections with honest body lengths:
	 * reaches the per-section checks. */
	for (i = 0; i < 30000; i++) {
		size_t off = HS_WIRE_HDR_LEN;
		unsigned t = 0, n = 1 + (unsigned)(rnd(&s) % 3), j;

		for (j = 0; j < n && t < HS_WIRE_SEC_MAX; j++) {
			uint16_t bl;

			t += 1 + (unsigned)(rnd(&s) % 2);
			if (t > HS_WIRE_SEC_MAX)
				break;
			bl = (uint16_t)(rnd(&s) % 4 == 0 ? 40 * (1 + rnd(&s) % 3) :
					t == 6 ? 36 : rnd(&s) % 200);
			f[off] = (uint8_t)t;
			f[off + 1] = 0;
			hs_wire_wr16(f + off + 2, bl);
			fill_bytes(f + off + 4, bl, &s);
			/* Small numbers make plausible items more often. */
			if (rnd(&s) % 2)
				for (size_t q = off + 4; q < off + 4u + bl; q++)
					f[q] &= 0x03;
			off += 4u + bl;
		}
		put_hdr(f, (uint8_t)(1 + rnd(&s) % HS_WIRE_TYPE_MAX),
			(uint16_t)(off - HS_WIRE_HDR_LEN));
		if (decode_walk(f, off) == 0)
			n_ok++;
	}
	/* Valid frames with a few random bytes overwritten. */
	for (i = 0; i < 30000; i++) {
		const struct frame *src = &sample_frames[rnd(&s) % N_SAMPLES];
		unsigned k, n = 1 + (unsigned)(rnd(&s) % 4);

		memcpy(f, src->buf, src->len);
		for (k = 0; k < n; k++)
				f[rnd(&s) % src->len] = (uint8_t)rnd(&s);
		if (decode_walk(f, src->len) == 0)
			n_ok++;
	}
	print_message("garbage: %u of 60000 structured inputs accepted\n",
		      n_ok);
	assert_true(n_ok > 0);
}

static int write_corpus(const char *dir);

/* Runs only with HS_WIRE_WRITE_CORPUS=dir set (see main). */
static void
test_write_corpus(void **state)
{
	(void)state;
	assert_int_equal(write_corpus(getenv("HS_WIRE_WRITE_CORPUS")), 0);
}

static void
test_names(void **state)
{
	unsigned t;

	(void)state;
	assert_string_equal(hs_wire_strerror(0), "ok");
	assert_string_equal(hs_wire_strerror(-EBADMSG), "malformed");
	assert_string_equal(hs_wire_strerror(-EPROTO), "protocol");
	assert_string_equal(hs_wire_strerror(-EMSGSIZE), "oversize");
	assert_string_equal(hs_wire_strerror(-EINVAL), "invalid");
	assert_string_equal(hs_wire_strerror(-ENOMEM), "unknown");
	assert_string_equal(hs_wire_strerror(EBADMSG), "unknown");
	assert_string_equal(hs_wire_strerror(1), "unknown");

	assert_string_equal(hs_wire_type_name(HS_WIRE_SYN), "syn");
	assert_string_equal(hs_wire_type_name(HS_WIRE_ACK), "ack");
	assert_string_equal(hs_wire_type_name(HS_WIRE_ACK2), "ack2");
	assert_string_equal(hs_wire_type_name(HS_WIRE_PUSH), "push");
	assert_string_equal(hs_wire_type_name(HS_WIRE_JOIN), "join");
	assert_string_equal(hs_wire_type_name(HS_WIRE_LEAVE), "leave");
	assert_string_equal(hs_wire_type_name(HS_WIRE_PING), "ping");
	assert_string_equal(hs_wire_type_name(HS_WIRE_PING_REQ), "ping_req");
	assert_string_equal(hs_wire_type_name(HS_WIRE_PING_ACK), "ping_ack");
	assert_string_equal(hs_wire_type_name(0), "unknown");
	assert_string_equal(hs_wire_type_name(HS_WIRE_TYPE_MAX + 1), "unknown");
	assert_string_equal(hs_wire_type_name(255), "unknown");
	assert_string_equal(hs_wire_type_name((unsigned)-1), "unknown");
	for (t = 1; t <= HS_WIRE_TYPE_MAX; t++)
		assert_string_not_equal(hs_wire_type_name(t), "unknown");
}

/* ---- seed corpus for tests/fuzz/fuzz_wire.c ---- */

static int
write_file(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (fp == NULL) {
		perror(path);
		return -1;
	}
	ok = fwrite(buf, 1, len, fp) == len;
	ok &= fclose(fp) == 0;
	return ok ? 0 : -1;
}

static int
write_corpus(const char *dir)
{
	static uint8_t buf[HS_WIRE_FRAME_MAX];
	char name[64];
	unsigned i;
	size_t len;

	for (i = 0; i < N_SAMPLES; i++) {
		snprintf(name, sizeof(name), "seed-%02u-%s", i, samples[i].name);
		if (write_file(dir, name, sample_frames[i].buf,
			       sample_frames[i].len) != 0)
			return -1;
	}
	if (write_file(dir, "seed-example-push", example_push,
		       sizeof(example_push)) != 0)
		return -1;
	/* Maximum-size frames, which also make libFuzzer's default max_len
	 * (the largest seed, at least 4096) reach HS_WIRE_FRAME_MAX. */
	len = build_jumbo(buf, false);
	if (write_file(dir, "seed-jumbo-deltas", buf, len) != 0)
		return -1;
	len = build_jumbo(buf, true);
	if (write_file(dir, "seed-jumbo-empty-tail", buf, len) != 0)
		return -1;
	printf("wrote %u frames to %s\n", (unsigned)N_SAMPLES + 3, dir);
	return 0;
}

/* Samples and bodies are built once, before the tests that use them. */
static int
setup(void **state)
{
	(void)state;
	build_samples();
	harvest_bodies();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_samples),
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_layout_golden),
		cmocka_unit_test(test_agg_golden),
		cmocka_unit_test(test_agg_roundtrip),
		cmocka_unit_test(test_cut_default),
		cmocka_unit_test(test_cut_jumbo),
		cmocka_unit_test(test_put_exact_fit),
		cmocka_unit_test(test_builder_stricter),
		cmocka_unit_test(test_misuse_sections),
		cmocka_unit_test(test_misuse_deltas),
		cmocka_unit_test(test_misuse_items),
		cmocka_unit_test(test_misuse_header),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_byte_changes),
		cmocka_unit_test(test_patch_bases),
		cmocka_unit_test(test_patches),
		cmocka_unit_test(test_section_rules),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_names),
	};
	const char *corpus = getenv("HS_WIRE_WRITE_CORPUS");

	test_seed = hs_test_seed("test_wire");
	if (corpus != NULL) {
		const struct CMUnitTest w[] = {
			cmocka_unit_test(test_write_corpus),
		};

		if (cmocka_run_group_tests_name("corpus", w, setup, NULL) != 0)
			return 1;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
