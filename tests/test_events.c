/*
 * Unit tests for engine/events: broadcast events over the state table.
 *
 * An origin node A publishes into its own table; a receiver B learns A's
 * entries the two ways a node does: anti-entropy frames (our digest ->
 * hs_table_build_deltas at A -> decode -> merge at B) and rumors (A's
 * change list -> one-version groups with hs_table_put_entry), the latter
 * dropped, duplicated and reordered.  B delivers after every frame, as a
 * node does after every burst.  The sink checks every callback: payload as
 * published, and per origin generation strictly increasing seqs (in order,
 * never twice); each test then asserts the exact sequence delivered and the
 * missed count.  Random parts print their seed; HS_TEST_SEED overrides it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "engine/events.h"
#include "engine/table.h"
#include "engine/wire.h"
#include "tests/hs_test.h"

#define FRAME		HS_WIRE_FRAME_DEFAULT
#define SMALL_FRAME	300	/* two to four events: catch-ups are cut */
#define RUMOR_FRAME	512
#define SINK_MAX	4096
#define MAX_RUMORS	256

static uint64_t test_seed;
/* One call_rcu thread for every table: a table with its own waits for it
 * at destroy (about 10 ms), and the churn test makes dozens. */
static struct call_rcu_data *crdp;

/* ---- payloads: a function of (origin, generation, seq) ---- */

static size_t
payload_of(uint8_t *buf, uint64_t origin, uint64_t gen, uint64_t seq)
{
	uint64_t h = test_seed ^ (origin << 40) ^ (gen << 32) ^ seq;
	size_t len, i;

	h = rnd(&h);
	len = h % 49;			/* 0..48 bytes, empty included */
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;
	return len;
}

/* ---- what a receiver delivered ---- */

struct got {
	uint64_t origin;
	uint64_t gen;
	uint64_t seq;
};

struct sink {
	bool check_payload;
	unsigned n;
	struct got g[SINK_MAX];
};

static void
sink_cb(uint64_t origin, uint64_t gen, uint64_t seq, const uint8_t *payload,
	size_t len, void *arg)
{
	struct sink *s = arg;
	uint8_t want[64];
	unsigned i;

	assert_true(s->n < SINK_MAX);
	if (s->check_payload) {
		size_t wl = payload_of(want, origin, gen, seq);

		assert_int_equal(len, wl);
		if (wl != 0)
			assert_memory_equal(payload, want, wl);
	}
	/* per origin generation: in order and never twice */
	for (i = s->n; i-- > 0;) {
		if (s->g[i].origin == origin && s->g[i].gen == gen) {
			assert_true(seq > s->g[i].seq);
			break;
		}
	}
	s->g[s->n++] = (struct got){ origin, gen, seq };
}

/* Deliveries [at, at + count) are origin/gen seqs first..last; returns the
 * index after them. */
static unsigned
sink_expect(const struct sink *s, unsigned at, uint64_t origin, uint64_t gen,
	    uint64_t first, uint64_t last)
{
	uint64_t q;

	assert_true(at + (last - first + 1) <= s->n);
	for (q = first; q <= last; q++, at++) {
		assert_int_equal(s->g[at].origin, origin);
		assert_int_equal(s->g[at].gen, gen);
		assert_int_equal(s->g[at].seq, q);
	}
	return at;
}

/* ---- nodes: a table, its context, its events ---- */

struct node {
	uint64_t id;
	uint64_t gen;
	struct hs_table *t;
	struct hs_table_ctx *c;
	struct hs_events *ev;
	uint64_t pub;		/* last seq published */
	unsigned n_app;		/* plain keys written */
	struct sink sink;
};

static struct node *
node_new(uint64_t id, uint64_t gen, unsigned retention, uint32_t max_origins,
	 uint32_t max_value)
{
	struct hs_events_params ep = { .retention = retention,
				       .max_origins = max_origins };
	struct hs_table_params tp = { .self_id = id, .self_generation = gen,
				      .max_value_bytes = max_value,
				      .crdp = crdp };
	struct node *n = calloc(1, sizeof(*n));

	assert_non_null(n);
	n->id = id;
	n->gen = gen;
	n->sink.check_payload = true;
	assert_int_equal(hs_table_create(&tp, &n->t), 0);
	assert_int_equal(hs_table_ctx_attach(n->t, 0, &n->c), 0);
	assert_int_equal(hs_events_create(&ep, id, gen, &n->ev), 0);
	return n;
}

static void
node_free(struct node *n)
{
	hs_events_destroy(n->ev);
	hs_table_ctx_detach(n->c);
	/* with a shared call_rcu thread, detach leaves it the thread's: the
	 * other tables' contexts on it are still attached */
	assert_ptr_equal(urcu_qsbr_get_thread_call_rcu_data(), crdp);
	hs_table_destroy(n->t);
	free(n);
}

static unsigned
deliver(struct node *b, uint64_t origin)
{
	return hs_events_deliver(b->ev, b->c, origin, sink_cb, &b->sink);
}

static void
app_put(struct node *a)
{
	char key[16];
	int len = snprintf(key, sizeof(key), "app.%u", a->n_app++ % 5);

	assert_true(hs_table_put(a->c, key, (size_t)len, "x", 1) > 0);
}

/* n events from a, with a plain key write after every app_every-th (0:
 * none), so that event versions are not consecutive. */
static void
publish(struct node *a, unsigned n, unsigned app_every)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint8_t buf[64];
		size_t len = payload_of(buf, a->id, a->gen, a->pub + 1);

		assert_int_equal(hs_events_publish(a->ev, a->c, buf, len),
				 (int64_t)a->pub + 1);
		a->pub++;
		if (app_every != 0 && a->pub % app_every == 0)
			app_put(a);
	}
}

/* ---- frames ---- */

struct frame {
	uint8_t buf[FRAME];
	size_t len;
};

static void
apply_frame(struct node *b, const struct frame *f)
{
	struct hs_wire_msg m;

	assert_int_equal(hs_wire_decode(f->buf, f->len, &m), 0);
	assert_true(hs_table_merge_msg(b->c, &m) >= 0);
}

static uint64_t
watermark(struct node *n, uint64_t owner, uint64_t *gen)
{
	struct hs_wire_digest d;

	if (hs_table_digest(n->c, owner, &d) != 0)
		return *gen = 0;
	*gen = d.generation;
	return d.max_version;
}

/* One anti-entropy frame of what b lacks of a's own state, merged at b;
 * b delivers a's events.  Returns the entries sent. */
static int
ae_round(struct node *a, struct node *b, size_t budget)
{
	static struct frame fr;
	struct hs_wire_digest theirs;
	struct hs_wire_builder bl;
	struct hs_wire_hdr h;
	int n, r;

	if (hs_table_digest(b->c, a->id, &theirs) != 0)
		theirs = (struct hs_wire_digest){ .node = a->id };
	hdr_init(&h, HS_WIRE_ACK2);
	assert_int_equal(hs_wire_build_begin(&bl, fr.buf, budget, &h), 0);
	n = hs_table_build_deltas(a->c, &theirs, 1, &bl);
	assert_true(n >= 0);
	r = hs_wire_build_end(&bl);
	assert_true(r > 0);
	fr.len = (size_t)r;
	if (n > 0)
		apply_frame(b, &fr);
	deliver(b, a->id);
	return n;
}

/* Anti-entropy until b's watermark for a equals a's own; returns rounds. */
static unsigned
ae_sync(struct node *a, struct node *b, size_t budget)
{
	unsigned rounds = 0;

	for (;;) {
		uint64_t ga, gb;
		uint64_t wa = watermark(a, a->id, &ga);
		uint64_t wb = watermark(b, a->id, &gb);

		if (wa == wb && ga == gb)
			return rounds;
		assert_true(++rounds < 200);
		assert_true(ae_round(a, b, budget) > 0);
	}
}

/* Rumors: a's changes since the last call as one-version groups, one frame
 * each, in version order (overwritten entries are no rumor any more). */
struct rumors {
	unsigned n;
	struct frame f[MAX_RUMORS];
};

static void
rumors_take(struct node *a, struct rumors *rs)
{
	struct hs_table_change ch[MAX_RUMORS];
	unsigned n = hs_table_changes(a->c, ch, MAX_RUMORS), i;

	rs->n = 0;
	for (i = 0; i < n; i++) {
		struct frame *f = &rs->f[rs->n];
		struct hs_wire_builder b;
		struct hs_wire_hdr h;
		int r;

		hdr_init(&h, HS_WIRE_ACK2);
		assert_int_equal(hs_wire_build_begin(&b, f->buf, RUMOR_FRAME,
						     &h), 0);
		assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS),
				 0);
		r = hs_table_put_entry(a->c, &ch[i], RUMOR_FRAME, &b);
		assert_true(r == 0 || r == 1);
		if (r == 0)
			continue;
		assert_int_equal(hs_wire_section_end(&b), 0);
		r = hs_wire_build_end(&b);
		assert_true(r > 0);
		f->len = (size_t)r;
		rs->n++;
	}
}

static void
shuffle(const struct frame **v, unsigned n, uint64_t *seed)
{
	unsigned i;

	for (i = n; i > 1; i--) {
		unsigned j = (unsigned)(rnd(seed) % i);
		const struct frame *x = v[i - 1];

		v[i - 1] = v[j];
		v[j] = x;
	}
}

/* ---- tests ---- */

static void
test_params_and_keys(void **state)
{
	struct hs_events_params p = {
		.retention = HS_EVENTS_RETENTION_MAX + 1 };
	struct hs_events_stats st;
	struct hs_events *ev;

	(void)state;
	assert_int_equal(hs_events_create(&p, 1, 1, &ev), -EINVAL);
	p = (struct hs_events_params){
		.max_origins = HS_EVENTS_ORIGINS_MAX + 1 };
	assert_int_equal(hs_events_create(&p, 1, 1, &ev), -EINVAL);
	assert_int_equal(hs_events_create(NULL, 0, 1, &ev), -EINVAL);
	assert_int_equal(hs_events_create(NULL, 1, 0, &ev), -EINVAL);
	assert_int_equal(hs_events_create(NULL, 1, 1, &ev), 0);
	hs_events_stats(ev, &st);
	assert_int_equal(st.origins, 1);	/* ourselves */
	hs_events_forget(ev, 1);		/* never our own cursor */
	hs_events_stats(ev, &st);
	assert_int_equal(st.origins, 1);
	hs_events_destroy(ev);

	assert_true(hs_events_is_slot_key("hs.ev.17", 8));
	assert_true(hs_events_is_slot_key("hs.ev.0", 7));
	assert_true(hs_events_is_slot_key("hs.ev.", 6));  /* prefix reserved */
	assert_false(hs_events_is_slot_key("hs.ev", 5));
	assert_false(hs_events_is_slot_key("hs.evx1", 7));
	assert_false(hs_events_is_slot_key("app.x", 5));
}

/* The origin delivers its own events through the same path, and the slot
 * key holds seq + payload as specified. */
static void
test_self_delivery(void **state)
{
	struct node *a = node_new(1, 1, 0, 0, 0);
	struct hs_events_stats st;
	struct hs_table_kv kv;
	unsigned at;

	(void)state;
	publish(a, 10, 3);
	assert_int_equal(deliver(a, 1), 10);
	assert_int_equal(deliver(a, 1), 0);
	at = sink_expect(&a->sink, 0, 1, 1, 1, 10);
	/* 100 more before delivering: our own cursor is lapped too, the
	 * oldest 36 are gone (R = 64) */
	publish(a, 100, 3);
	assert_int_equal(deliver(a, 1), 64);
	at = sink_expect(&a->sink, at, 1, 1, 47, 110);
	assert_int_equal(a->sink.n, at);
	hs_events_stats(a->ev, &st);
	assert_int_equal(st.published, 110);
	assert_int_equal(st.delivered, 74);
	assert_int_equal(st.missed, 36);
	assert_int_equal(hs_table_get(a->c, 1, "hs.ev.46", 8, &kv), 0);
	assert_int_equal(kv.value_len, HS_EVENTS_HDR_LEN +
			 payload_of((uint8_t[64]){ 0 }, 1, 1, 110));
	assert_int_equal(hs_wire_rd64(kv.value), 110);	/* 110 % 64 = 46 */
	node_free(a);
}

/* Anti-entropy only, the receiver keeping up (batches below R, frames
 * cut): every event exactly once, in order, nothing missed. */
static void
test_anti_entropy(void **state)
{
	struct node *a = node_new(1, 1, 0, 0, 0), *b = node_new(2, 1, 0, 0, 0);
	uint64_t seed = test_seed + 1;
	struct hs_events_stats st;
	unsigned i;

	(void)state;
	for (i = 0; i < 20; i++) {
		publish(a, 1 + (unsigned)(rnd(&seed) % 40), 4);
		ae_sync(a, b, i % 2 ? SMALL_FRAME : FRAME);
	}
	sink_expect(&b->sink, 0, 1, 1, 1, a->pub);
	assert_int_equal(b->sink.n, a->pub);
	assert_int_equal(deliver(b, 1), 0);
	assert_int_equal(hs_events_deliver_all(b->ev, b->c, sink_cb, &b->sink),
			 0);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.delivered, a->pub);
	assert_int_equal(st.missed, 0);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.origins, 2);
	node_free(a);
	node_free(b);
}

/* Rumors out of order: an event installed above the watermark waits until
 * the watermark covers it. */
static void
test_wait_above_watermark(void **state)
{
	static struct rumors rs;
	struct node *a = node_new(1, 1, 8, 0, 0), *b = node_new(2, 1, 8, 0, 0);
	struct hs_table_kv kv;
	uint64_t g;

	(void)state;
	publish(a, 3, 0);
	rumors_take(a, &rs);
	assert_int_equal(rs.n, 3);		/* versions 1, 2, 3 */
	apply_frame(b, &rs.f[2]);
	assert_int_equal(hs_table_get(b->c, 1, "hs.ev.3", 7, &kv), 0);
	assert_int_equal(watermark(b, 1, &g), 0);
	assert_int_equal(deliver(b, 1), 0);	/* installed, above W */
	apply_frame(b, &rs.f[1]);
	assert_int_equal(deliver(b, 1), 0);
	apply_frame(b, &rs.f[0]);
	assert_int_equal(watermark(b, 1, &g), 1);
	assert_int_equal(deliver(b, 1), 1);
	apply_frame(b, &rs.f[2]);		/* (2, 3]: still a gap */
	assert_int_equal(deliver(b, 1), 0);
	apply_frame(b, &rs.f[1]);
	assert_int_equal(deliver(b, 1), 1);
	apply_frame(b, &rs.f[2]);
	assert_int_equal(deliver(b, 1), 1);
	apply_frame(b, &rs.f[0]);		/* replays: nothing twice */
	apply_frame(b, &rs.f[1]);
	apply_frame(b, &rs.f[2]);
	assert_int_equal(deliver(b, 1), 0);
	sink_expect(&b->sink, 0, 1, 1, 1, 3);
	assert_int_equal(b->sink.n, 3);
	node_free(a);
	node_free(b);
}

/* First sight through rumors that overtook older events: delivery does
 * not start at them but at the lowest seq retained once the watermark
 * covers it.  R = 2: a plain key (v1), then events 1, 2, 3 (v2..v4);
 * slot 1 holds seq 3, slot 0 seq 2, seq 1 is gone. */
static void
test_first_sight_waits(void **state)
{
	static struct rumors rs;
	struct node *a = node_new(1, 1, 2, 0, 0), *b = node_new(2, 1, 2, 0, 0);
	struct hs_events_stats st;
	uint64_t g;

	(void)state;
	app_put(a);
	publish(a, 3, 0);
	rumors_take(a, &rs);
	assert_int_equal(rs.n, 3);		/* seq 1 is overwritten */
	apply_frame(b, &rs.f[0]);		/* the plain key: W = 1 */
	apply_frame(b, &rs.f[2]);		/* seq 3, above W */
	assert_int_equal(watermark(b, 1, &g), 1);
	assert_int_equal(deliver(b, 1), 0);
	apply_frame(b, &rs.f[1]);		/* seq 2: (2, 3], a gap */
	assert_int_equal(watermark(b, 1, &g), 1);
	assert_int_equal(deliver(b, 1), 0);
	ae_sync(a, b, FRAME);			/* W = 4 */
	assert_int_equal(watermark(b, 1, &g), 4);
	sink_expect(&b->sink, 0, 1, 1, 2, 3);
	assert_int_equal(b->sink.n, 2);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.missed, 0);
	node_free(a);
	node_free(b);
}

/* Rumors dropped, duplicated and reordered, with anti-entropy now and
 * then, and bursts longer than R: per-origin order and exactly-once hold
 * at every step, and in the end every event was delivered or counted as
 * missed, once. */
static void
test_rumors_shuffled(void **state)
{
	static struct rumors rs;
	static const struct frame *sched[2 * MAX_RUMORS];
	struct node *a = node_new(1, 1, 8, 0, 0), *b = node_new(2, 1, 8, 0, 0);
	uint64_t seed = test_seed + 2;
	struct hs_events_stats st;
	unsigned round, i, n, lapped_bursts = 0;

	(void)state;
	/* b sees a from its first event, so every seq is b's to deliver or
	 * to count as missed */
	publish(a, 5, 4);
	rumors_take(a, &rs);
	ae_sync(a, b, FRAME);
	for (round = 0; round < 80; round++) {
		unsigned burst = 1 + (unsigned)(rnd(&seed) % 16);

		lapped_bursts += burst > 8;
		publish(a, burst, 4);
		rumors_take(a, &rs);
		for (i = n = 0; i < rs.n; i++) {
			uint64_t x = rnd(&seed) % 10;

			if (x < 3)
				continue;		/* lost */
			sched[n++] = &rs.f[i];
			if (x < 5)
				sched[n++] = &rs.f[i];	/* duplicated */
		}
		shuffle(sched, n, &seed);
		for (i = 0; i < n; i++) {
			apply_frame(b, sched[i]);
			if (i % 2)
				deliver(b, 1);
			else
				hs_events_deliver_all(b->ev, b->c, sink_cb,
						      &b->sink);
		}
		if (rnd(&seed) % 3 == 0)
			ae_sync(a, b, SMALL_FRAME);
	}
	ae_sync(a, b, SMALL_FRAME);
	assert_true(lapped_bursts > 0);
	assert_true(b->sink.n > 0);
	assert_int_equal(b->sink.g[b->sink.n - 1].seq, a->pub);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.delivered, b->sink.n);
	assert_int_equal(st.delivered + st.missed, a->pub);
	assert_true(st.missed > 0);
	assert_int_equal(st.malformed, 0);
	node_free(a);
	node_free(b);
}

/* b hears nothing while a publishes 3R events, then catches up: only the
 * last R are delivered, in order, the 2R lapped ones counted as missed. */
static void
test_lapping(void **state)
{
	struct node *a = node_new(1, 1, 8, 0, 0), *b = node_new(2, 1, 8, 0, 0);
	struct hs_events_stats st;
	unsigned at;

	(void)state;
	publish(a, 5, 0);
	ae_sync(a, b, FRAME);
	at = sink_expect(&b->sink, 0, 1, 1, 1, 5);
	publish(a, 24, 5);
	assert_true(ae_sync(a, b, SMALL_FRAME) > 1);	/* cut */
	at = sink_expect(&b->sink, at, 1, 1, 22, 29);
	assert_int_equal(b->sink.n, at);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.missed, 16);
	assert_int_equal(st.delivered, 13);
	publish(a, 2, 0);
	ae_sync(a, b, FRAME);
	at = sink_expect(&b->sink, at, 1, 1, 30, 31);
	assert_int_equal(b->sink.n, at);
	node_free(a);
	node_free(b);
}

/* A node that first hears of an origin after 3R + 5 events gets the
 * retention window, without counting the rest as missed, then everything. */
static void
test_late_joiner(void **state)
{
	struct node *a = node_new(1, 1, 8, 0, 0), *b = node_new(2, 1, 8, 0, 0);
	struct hs_events_stats st;
	unsigned at;

	(void)state;
	publish(a, 29, 3);
	assert_int_equal(deliver(b, 1), 0);	/* unknown origin */
	assert_true(ae_sync(a, b, SMALL_FRAME) > 1);
	at = sink_expect(&b->sink, 0, 1, 1, 22, 29);
	assert_int_equal(b->sink.n, at);
	publish(a, 3, 0);
	ae_sync(a, b, FRAME);
	at = sink_expect(&b->sink, at, 1, 1, 30, 32);
	assert_int_equal(b->sink.n, at);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.missed, 0);
	assert_int_equal(st.delivered, 11);
	node_free(a);
	node_free(b);
}

/* a restarts (same id, generation 2, a new table): b drops a's old
 * sequence and delivers the new generation's events from seq 1. */
static void
test_restart(void **state)
{
	static struct rumors rs;
	struct node *a = node_new(1, 1, 8, 0, 0), *b = node_new(2, 1, 8, 0, 0);
	struct hs_events_stats st;
	unsigned at;
	uint64_t g;

	(void)state;
	publish(a, 5, 0);
	rumors_take(a, &rs);
	apply_frame(b, &rs.f[0]);
	apply_frame(b, &rs.f[1]);
	apply_frame(b, &rs.f[2]);
	assert_int_equal(deliver(b, 1), 3);
	node_free(a);				/* 4 and 5 die with it */
	a = node_new(1, 2, 8, 0, 0);
	publish(a, 6, 2);
	ae_sync(a, b, SMALL_FRAME);
	watermark(b, 1, &g);
	assert_int_equal(g, 2);
	at = sink_expect(&b->sink, 0, 1, 1, 1, 3);
	at = sink_expect(&b->sink, at, 1, 2, 1, 6);
	assert_int_equal(b->sink.n, at);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.missed, 0);
	assert_int_equal(st.origins, 2);
	node_free(a);
	node_free(b);
}

static void
test_payload_too_big(void **state)
{
	struct node *a = node_new(1, 1, 8, 0, 64);
	static uint8_t big[HS_WIRE_FRAME_MAX + 1];
	struct hs_events_stats st;

	(void)state;
	a->sink.check_payload = false;
	memset(big, 0xab, sizeof(big));
	assert_int_equal(hs_events_publish(a->ev, a->c, big, 56), 1);
	assert_int_equal(hs_events_publish(a->ev, a->c, big, 57), -EMSGSIZE);
	assert_int_equal(hs_events_publish(a->ev, a->c, big, sizeof(big)),
			 -EMSGSIZE);
	assert_int_equal(hs_events_publish(a->ev, a->c, NULL, 0), 2);
	assert_int_equal(deliver(a, 1), 2);
	sink_expect(&a->sink, 0, 1, 1, 1, 2);
	hs_events_stats(a->ev, &st);
	assert_int_equal(st.published, 2);
	node_free(a);
}

/* max_origins cursors, ourselves included: a third origin is refused and
 * counted until a forgotten one makes room. */
static void
test_max_origins(void **state)
{
	struct node *b = node_new(2, 1, 8, 2, 0);
	struct node *o10 = node_new(10, 1, 8, 0, 0);
	struct node *o11 = node_new(11, 1, 8, 0, 0);
	struct node *o12 = node_new(12, 1, 8, 0, 0);
	struct hs_events_stats st;
	unsigned at;

	(void)state;
	publish(o10, 3, 0);
	publish(o11, 3, 0);
	app_put(o12);				/* a member with no events */
	ae_sync(o10, b, FRAME);
	ae_sync(o11, b, FRAME);
	ae_sync(o12, b, FRAME);
	at = sink_expect(&b->sink, 0, 10, 1, 1, 3);
	assert_int_equal(b->sink.n, at);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.origins, 2);
	assert_true(st.lim_origins >= 1);
	assert_int_equal(hs_events_deliver_all(b->ev, b->c, sink_cb,
					       &b->sink), 0);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.origins, 2);	/* 12 needs no cursor */
	/* our own events still flow */
	publish(b, 1, 0);
	assert_int_equal(deliver(b, 2), 1);
	/* 10 is forgotten by membership: room for 11 */
	assert_int_equal(hs_table_forget(b->c, 10, 1), 1);
	hs_events_forget(b->ev, 10);
	hs_events_stats(b->ev, &st);
	assert_int_equal(st.origins, 1);
	assert_int_equal(hs_events_deliver_all(b->ev, b->c, sink_cb,
					       &b->sink), 3);
	at = sink_expect(&b->sink, at, 2, 1, 1, 1);
	at = sink_expect(&b->sink, at, 11, 1, 1, 3);
	assert_int_equal(b->sink.n, at);
	node_free(b);
	node_free(o10);
	node_free(o11);
	node_free(o12);
}

/*
 * The cursor map under churn: 40 origins, room for 16 of them; origins
 * publish, die (forgotten by the table, then by events) and come back with
 * a new generation, in random order, so cursors are added and deleted all
 * over a 64-slot map.  Each step asserts exactly what b delivers.
 */
static void
test_cursor_churn(void **state)
{
	enum { N = 40, ROOM = 16, STEPS = 150 };
	struct node *b = node_new(2, 1, 4, ROOM + 1, 0);
	static struct node *o[N];
	uint64_t seed = test_seed + 3;
	struct hs_events_stats st;
	unsigned i, step, held_n = 0, refused = 0;
	bool held[N] = { false };

	(void)state;
	for (i = 0; i < N; i++)
		o[i] = node_new(1000 + i, 1, 4, 0, 0);
	for (step = 0; step < STEPS; step++) {
		unsigned k = (unsigned)(rnd(&seed) % N), at = b->sink.n;
		uint64_t first;

		if (held[k] && rnd(&seed) % 3 == 0) {
			uint64_t gen = o[k]->gen;

			assert_int_equal(hs_table_forget(b->c, o[k]->id, gen),
					 1);
			hs_events_forget(b->ev, o[k]->id);
			held[k] = false;
			held_n--;
			node_free(o[k]);
			o[k] = node_new(1000 + k, gen + 1, 4, 0, 0);
			continue;
		}
		publish(o[k], 1 + (unsigned)(rnd(&seed) % 3), 0);
		ae_sync(o[k], b, FRAME);
		if (!held[k] && held_n == ROOM) {
			assert_int_equal(b->sink.n, at);	/* refused */
			refused++;
			continue;
		}
		/* a cursor: everything new; first sight: the window */
		first = o[k]->pub > 4 ? o[k]->pub - 3 : 1;
		if (held[k]) {
			unsigned j;

			for (j = at; j-- > 0;)
				if (b->sink.g[j].origin == o[k]->id)
					break;
			first = b->sink.g[j].seq + 1;
		} else {
			held[k] = true;
			held_n++;
		}
		at = sink_expect(&b->sink, at, o[k]->id, o[k]->gen, first,
				 o[k]->pub);
		assert_int_equal(b->sink.n, at);
		hs_events_stats(b->ev, &st);
		assert_int_equal(st.origins, held_n + 1);
	}
	hs_events_stats(b->ev, &st);
	assert_true(refused > 0);
	assert_true(st.lim_origins >= refused);
	assert_int_equal(st.missed, 0);
	for (i = 0; i < N; i++)
		node_free(o[i]);
	node_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_and_keys),
		cmocka_unit_test(test_self_delivery),
		cmocka_unit_test(test_anti_entropy),
		cmocka_unit_test(test_wait_above_watermark),
		cmocka_unit_test(test_first_sight_waits),
		cmocka_unit_test(test_rumors_shuffled),
		cmocka_unit_test(test_lapping),
		cmocka_unit_test(test_late_joiner),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_payload_too_big),
		cmocka_unit_test(test_max_origins),
		cmocka_unit_test(test_cursor_churn),
	};
	int rc;

	test_seed = hs_test_seed("test_events");
	urcu_qsbr_register_thread();
	crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	if (crdp == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_call_rcu_data_free(crdp);
	urcu_qsbr_unregister_thread();
	return rc;
}
