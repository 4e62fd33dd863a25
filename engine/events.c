/*
 * hearsay broadcast events over the state table.  See events.h for the
 * design and the delivery rules.
 *
 * Per-origin cursors live in an open-addressing map (linear probing,
 * backward-shift deletion) at most half full, so a probe stays short.  It
 * starts small and doubles when an origin that publishes appears and it
 * is half full (only publishing origins take a cursor): a node of a
 * 5,000-member cluster in which a few members publish does not pay 5,000
 * cursors.  One thread uses it; nothing here is shared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "engine/table.h"
#include "engine/util.h"
#include "engine/wire.h"

/* "hs.ev." plus at most 4 digits (slot < 1024) */
#define HS_EV_KEY_MAX	(sizeof(HS_EVENTS_KEY_PREFIX) - 1 + 4)
/* The table refuses values over 8192 bytes whatever its configuration. */
#define HS_EV_VALUE_MAX	8192

struct hs_ev_cursor {
	uint64_t origin;	/* 0: empty */
	uint64_t generation;
	uint64_t next;		/* next seq to deliver; 0: not started */
	uint64_t scan_w;	/* watermark of the last fruitless start */
};

struct hs_events {
	unsigned retention;
	uint32_t max_origins;
	uint32_t n_origins;
	uint32_t mask;		/* map slots - 1 */
	uint64_t self_id;
	uint64_t self_seq;	/* last seq we published */
	struct hs_ev_cursor *map;
	struct hs_events_stats st;
	uint8_t value[HS_EV_VALUE_MAX];	/* publish scratch */
};

/* What a slot holds, as far as delivery is concerned. */
struct hs_ev_slot {
	bool present;		/* the key is here (an event or not) */
	uint64_t seq;		/* 0: absent, or not an event of this slot */
	uint64_t version;	/* 0: absent */
	const uint8_t *payload;
	size_t len;
};

static size_t
hs_ev_key(char *buf, unsigned slot)
{
	char digits[4];
	size_t n = 0, len = sizeof(HS_EVENTS_KEY_PREFIX) - 1;

	memcpy(buf, HS_EVENTS_KEY_PREFIX, len);
	do {
		digits[n++] = (char)('0' + slot % 10);
		slot /= 10;
	} while (slot != 0);
	while (n != 0)
		buf[len++] = digits[--n];
	return len;
}

bool
hs_events_is_slot_key(const void *key, size_t len)
{
	return len >= sizeof(HS_EVENTS_KEY_PREFIX) - 1 &&
	       memcmp(key, HS_EVENTS_KEY_PREFIX,
		      sizeof(HS_EVENTS_KEY_PREFIX) - 1) == 0;
}

/*
 * Read slot of origin at generation.  Returns 0 with s->seq = 0 when the
 * slot is absent or holds no event of this slot, 0 with the event
 * otherwise, or -ESTALE when the table holds another generation by now
 * (a restart merged by another worker between our two lookups).
 */
static int
hs_ev_read(struct hs_events *ev, struct hs_table_ctx *c, uint64_t origin,
	   uint64_t generation, unsigned slot, struct hs_ev_slot *s)
{
	struct hs_table_kv kv;
	char key[HS_EV_KEY_MAX];
	uint64_t seq;

	s->present = false;
	s->seq = 0;
	s->version = 0;
	if (hs_table_get(c, origin, key, hs_ev_key(key, slot), &kv) != 0)
		return 0;
	if (kv.generation != generation)
		return -ESTALE;
	s->present = true;
	s->version = kv.version;
	if (kv.tombstone || kv.value_len < HS_EVENTS_HDR_LEN) {
		ev->st.malformed++;
		return 0;
	}
	seq = hs_wire_rd64(kv.value);
	if (seq == 0 || seq % ev->retention != slot) {
		ev->st.malformed++;
		return 0;
	}
	s->seq = seq;
	s->payload = kv.value + HS_EVENTS_HDR_LEN;
	s->len = kv.value_len - HS_EVENTS_HDR_LEN;
	return 0;
}

/*
 * The lowest seq above `above` that the R slots hold, and its version, in
 * *low (seq 0 when none).  O(R) key lookups: once per origin generation and
 * once per lap, never per event.
 */
static int
hs_ev_scan(struct hs_events *ev, struct hs_table_ctx *c, uint64_t origin,
	   uint64_t generation, uint64_t above, struct hs_ev_slot *low)
{
	struct hs_ev_slot s;
	unsigned i;

	low->seq = 0;
	for (i = 0; i < ev->retention; i++) {
		if (hs_ev_read(ev, c, origin, generation, i, &s) != 0)
			return -ESTALE;
		if (s.seq > above && (low->seq == 0 || s.seq < low->seq))
			*low = s;
	}
	return 0;
}

/* ---- cursor map ---- */

static uint32_t
hs_ev_home(const struct hs_events *ev, uint64_t id)
{
	/* murmur3's 64-bit finalizer: node ids may be sequential */
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (uint32_t)id & ev->mask;
}

static struct hs_ev_cursor *
hs_ev_find(struct hs_events *ev, uint64_t id)
{
	uint32_t i = hs_ev_home(ev, id);

	for (;; i = (i + 1) & ev->mask) {
		if (ev->map[i].origin == id)
			return &ev->map[i];
		if (ev->map[i].origin == 0)
			return NULL;
	}
}

/* Twice the slots, every cursor moved (pointers into the map die). */
static int
hs_ev_grow(struct hs_events *ev)
{
	uint32_t old_cap = ev->mask + 1, i;
	struct hs_ev_cursor *old = ev->map;
	struct hs_ev_cursor *map = calloc(2 * (size_t)old_cap, sizeof(*map));

	if (map == NULL)
		return -ENOMEM;
	ev->map = map;
	ev->mask = 2 * old_cap - 1;
	for (i = 0; i < old_cap; i++) {
		uint32_t j;

		if (old[i].origin == 0)
			continue;
		for (j = hs_ev_home(ev, old[i].origin); map[j].origin != 0;
		     j = (j + 1) & ev->mask)
			;
		map[j] = old[i];
	}
	free(old);
	return 0;
}

/* A fresh cursor (not started) for id, or NULL when max_origins are held
 * (or no memory to grow the map: counted the same way). */
static struct hs_ev_cursor *
hs_ev_add(struct hs_events *ev, uint64_t id, uint64_t generation)
{
	uint32_t i;

	if (ev->n_origins >= ev->max_origins)
		return NULL;
	if (2 * (ev->n_origins + 1) > ev->mask + 1 && hs_ev_grow(ev) != 0)
		return NULL;
	i = hs_ev_home(ev, id);
	while (ev->map[i].origin != 0)
		i = (i + 1) & ev->mask;
	ev->map[i] = (struct hs_ev_cursor){ .origin = id,
					    .generation = generation };
	ev->n_origins++;
	return &ev->map[i];
}

static void
hs_ev_del(struct hs_events *ev, struct hs_ev_cursor *cur)
{
	uint32_t hole = (uint32_t)(cur - ev->map), i = hole;

	/* Backward shift: move up every later entry of the cluster whose
	 * home does not lie cyclically in (hole, i], so no probe sequence
	 * meets a gap and no tombstones accumulate. */
	for (;;) {
		uint32_t home;

		i = (i + 1) & ev->mask;
		if (ev->map[i].origin == 0)
			break;
		home = hs_ev_home(ev, ev->map[i].origin);
		if (((i - home) & ev->mask) >= ((i - hole) & ev->mask)) {
			ev->map[hole] = ev->map[i];
			hole = i;
		}
	}
	ev->map[hole].origin = 0;
	ev->n_origins--;
}

/* ---- control ---- */

int
hs_events_create(const struct hs_events_params *p, uint64_t self_id,
		 uint64_t self_generation, struct hs_events **out)
{
	struct hs_events_params d = { 0 };
	struct hs_events *ev;
	uint32_t cap = 16;

	if (p != NULL)
		d = *p;
	if (d.retention == 0)
		d.retention = HS_EVENTS_RETENTION_DEFAULT;
	if (d.max_origins == 0)
		d.max_origins = HS_EVENTS_ORIGINS_DEFAULT;
	if (d.retention > HS_EVENTS_RETENTION_MAX ||
	    d.max_origins > HS_EVENTS_ORIGINS_MAX || self_id == 0 ||
	    self_generation == 0)
		return -EINVAL;
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		goto err;
	ev->map = calloc(cap, sizeof(ev->map[0]));
	if (ev->map == NULL)
		goto err_map;
	ev->retention = d.retention;
	ev->max_origins = d.max_origins;
	ev->mask = cap - 1;
	ev->self_id = self_id;
	/* Our own sequence starts at 1, known from the start: no first-sight
	 * scan, nothing of ours ever skipped. */
	hs_ev_add(ev, self_id, self_generation)->next = 1;
	*out = ev;
	return 0;

err_map:
	free(ev);
err:
	return -ENOMEM;
}

void
hs_events_destroy(struct hs_events *ev)
{
	if (ev == NULL)
		return;
	free(ev->map);
	free(ev);
}

void
hs_events_forget(struct hs_events *ev, uint64_t origin)
{
	struct hs_ev_cursor *cur;

	if (origin == 0 || origin == ev->self_id)
		return;
	cur = hs_ev_find(ev, origin);
	if (cur != NULL)
		hs_ev_del(ev, cur);
}

void
hs_events_stats(const struct hs_events *ev, struct hs_events_stats *s)
{
	*s = ev->st;
	s->origins = ev->n_origins;
}

/* ---- publish ---- */

int64_t
hs_events_publish(struct hs_events *ev, struct hs_table_ctx *c,
		  const void *payload, size_t len)
{
	uint64_t seq = ev->self_seq + 1;
	char key[HS_EV_KEY_MAX];
	int64_t r;

	if (len > sizeof(ev->value) - HS_EVENTS_HDR_LEN)
		return -EMSGSIZE;
	hs_wire_wr64(ev->value, seq);
	if (len != 0)
		memcpy(ev->value + HS_EVENTS_HDR_LEN, payload, len);
	/* the table checks the value against its own max_value_bytes */
	r = hs_table_put(c, key,
			 hs_ev_key(key, (unsigned)(seq % ev->retention)),
			 ev->value, len + HS_EVENTS_HDR_LEN);
	if (r < 0)
		return r;
	ev->self_seq = seq;
	ev->st.published++;
	return (int64_t)seq;
}

/* ---- delivery ---- */

/*
 * Find where delivery of a cursor not started yet begins: the lowest seq
 * retained at a version <= w.  Returns that seq, or 0 when nothing is
 * deliverable yet (then the cursor remembers w, so that the scan is only
 * repeated once the watermark has moved).
 */
static uint64_t
hs_ev_start(struct hs_events *ev, struct hs_table_ctx *c,
	    struct hs_ev_cursor *cur, uint64_t w)
{
	struct hs_ev_slot s;

	if (w == cur->scan_w)
		return 0;
	/* The common case, an origin seen from its first event: seq 1 is
	 * still in its slot. */
	if (hs_ev_read(ev, c, cur->origin, cur->generation,
		       1 % ev->retention, &s) != 0)
		return 0;
	if (s.seq == 1 && s.version <= w)
		return 1;
	if (!s.present) {
		/* see hs_ev_deliver_at: nothing yet, or not for long */
		cur->scan_w = w;
		return 0;
	}
	/* Seq has the order of version within a generation, so the lowest
	 * seq retained is the lowest version too: if it is above w, so is
	 * every other. */
	if (hs_ev_scan(ev, c, cur->origin, cur->generation, 0, &s) != 0)
		return 0;
	if (s.seq == 0 || s.version > w) {
		cur->scan_w = w;
		return 0;
	}
	return s.seq;
}

static unsigned
hs_ev_deliver_at(struct hs_events *ev, struct hs_table_ctx *c,
		 uint64_t origin, uint64_t generation, uint64_t w,
		 hs_events_cb cb, void *arg)
{
	struct hs_ev_cursor *cur = hs_ev_find(ev, origin);
	unsigned n = 0, steps;
	struct hs_ev_slot s;

	if (cur == NULL) {
		/*
		 * The slot of seq 1 is written by an origin's first event and
		 * only ever overwritten.  Absent, the origin has published
		 * nothing, and needs no cursor: the cheap answer for origins
		 * that never publish.  (It can also be absent while a node
		 * catches up on an origin that lapped it, since anti-entropy
		 * sends its newest write last: the events already here then
		 * wait for the rest of that catch-up.)
		 */
		if (hs_ev_read(ev, c, origin, generation, 1 % ev->retention,
			       &s) != 0 || !s.present)
			return 0;
		cur = hs_ev_add(ev, origin, generation);
		if (cur == NULL) {
			ev->st.lim_origins++;
			return 0;
		}
	} else if (cur->generation != generation) {
		/* A restart: the old generation's keys are gone with it. */
		*cur = (struct hs_ev_cursor){ .origin = origin,
					      .generation = generation };
	}
	if (cur->next == 0) {
		cur->next = hs_ev_start(ev, c, cur, w);
		if (cur->next == 0)
			return 0;
	}
	/*
	 * With w fixed for the call, at most R events can be deliverable
	 * (one per slot) and each lap scan lands on one of them, so 2R + 1
	 * steps is a bound that a correct table never reaches.
	 */
	for (steps = 0; steps <= 2 * ev->retention; steps++) {
		uint64_t s_next = cur->next;

		if (hs_ev_read(ev, c, origin, generation,
			       (unsigned)(s_next % ev->retention), &s) != 0)
			break;
		/* Absent, older, not an event, or above w: s_next is not
		 * deliverable yet.  It is above w, or (under w) overwritten
		 * by a write still on its way here, whose arrival shows the
		 * lap below. */
		if (s.seq < s_next || s.version > w)
			break;
		if (s.seq > s_next) {
			/* Lapped: s_next was overwritten under w, and every
			 * seq between it and s.seq is decided; resume at the
			 * lowest one still retained. */
			if (hs_ev_scan(ev, c, origin, generation, s_next,
				       &s) != 0 || s.seq == 0 || s.version > w)
				break;
			ev->st.missed += s.seq - s_next;
			cur->next = s.seq;
			continue;
		}
		cur->next = s_next + 1;
		ev->st.delivered++;
		n++;
		cb(origin, generation, s.seq, s.payload, s.len, arg);
	}
	return n;
}

unsigned
hs_events_deliver(struct hs_events *ev, struct hs_table_ctx *c,
		  uint64_t origin, hs_events_cb cb, void *arg)
{
	struct hs_table_node nd;

	if (origin == 0 || hs_table_node_get(c, origin, &nd) != 0)
		return 0;
	return hs_ev_deliver_at(ev, c, origin, nd.generation, nd.max_version,
				cb, arg);
}

unsigned
hs_events_deliver_all(struct hs_events *ev, struct hs_table_ctx *c,
		      hs_events_cb cb, void *arg)
{
	struct hs_wire_digest d[32];
	uint64_t cursor = 0;
	unsigned n = 0;
	int got, i;

	/* Digests carry generation and watermark: no node lookup needed. */
	while ((got = hs_table_digests(c, &cursor, d, 32)) > 0)
		for (i = 0; i < got; i++)
			n += hs_ev_deliver_at(ev, c, d[i].node,
					      d[i].generation,
					      d[i].max_version, cb, arg);
	return n;
}
