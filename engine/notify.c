/*
 * hearsay notification queue.  See notify.h for the design.
 *
 * head and tail are byte counters that only grow (2^64 bytes is 58 years
 * even at 10 GB/s), so full and empty need no spare slot and are never
 * confused: used bytes = head - tail, the ring offset is the counter
 * masked.  The producer publishes a record with one release
 * store of head after writing it; the consumer frees it with one release
 * store of tail after its callback returned.  Each side acquires the
 * other's counter before touching the bytes it covers.
 *
 * A record is 8-byte aligned and contiguous.  When one would run past the
 * end of the ring, the producer writes a record of type 0 where it stands,
 * meaning "the rest of the ring is padding", and starts the record at
 * offset 0.  At least 8 bytes remain before the end in that case (every
 * record is a multiple of 8), enough for the type byte.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "util.h"

#define HS_NOTIFY_WRAP	0	/* record type: resume at offset 0 */

struct hs_notify_rec {
	uint8_t type;
	uint8_t tombstone;
	uint8_t key_len;
	uint8_t reserved;
	uint32_t value_len;
	uint64_t node;
	uint64_t generation;
	uint64_t version;
	uint64_t at_ns;
	uint8_t data[];		/* key, then value */
};

_Static_assert(sizeof(struct hs_notify_rec) == HS_NOTIFY_HDR_BYTES,
	       "record header size is part of the API");

/*
 * The producer's and the consumer's fields are on lines of their own, with a
 * spare line between them: Intel's adjacent-line prefetcher fetches lines in
 * 128-byte pairs, so mere neighbours would still bounce (DPDK's rte_ring
 * adds the same RTE_CACHE_GUARD).
 */
struct hs_notify {
	/* Read-only after create. */
	uint8_t *ring;
	uint64_t cap;
	uint64_t mask;
	uint64_t max_rec_bytes;

	/* Written by the producer only. */
	struct {
		uint64_t head;		/* atomic: read by the consumer */
		uint64_t tail_cache;	/* last tail seen: a bound on free
					 * space that is only ever too low */
		uint64_t pushed;
		uint64_t dropped_full;
		uint64_t dropped_size;
	} prod HS_CACHE_ALIGNED;
	uint8_t guard0[HS_CACHE_LINE] HS_CACHE_ALIGNED;

	/* Written by the consumer only. */
	struct {
		uint64_t tail;		/* atomic: read by the producer */
		uint64_t delivered;
	} cons HS_CACHE_ALIGNED;
	uint8_t guard1[HS_CACHE_LINE] HS_CACHE_ALIGNED;
};

int
hs_notify_create(size_t capacity_bytes, struct hs_notify **out)
{
	struct hs_notify *q;

	if (out == NULL || capacity_bytes < HS_NOTIFY_MIN_BYTES ||
	    capacity_bytes > HS_NOTIFY_MAX_BYTES ||
	    (capacity_bytes & (capacity_bytes - 1)) != 0)
		return -EINVAL;
	if (posix_memalign((void **)&q, HS_CACHE_LINE, sizeof(*q)) != 0)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	if (posix_memalign((void **)&q->ring, HS_CACHE_LINE,
			   capacity_bytes) != 0)
		goto err_q;
	/* Touch every page now: a first-touch page fault on the worker would
	 * be a stall of a few microseconds in the middle of a burst. */
	memset(q->ring, 0, capacity_bytes);
	q->cap = capacity_bytes;
	q->mask = capacity_bytes - 1;
	q->max_rec_bytes = capacity_bytes / 4;
	*out = q;
	return 0;

err_q:
	free(q);
	return -ENOMEM;
}

void
hs_notify_destroy(struct hs_notify *q)
{
	if (q == NULL)
		return;
	free(q->ring);
	free(q);
}

int
hs_notify_push(struct hs_notify *q, const struct hs_notice *n)
{
	uint64_t head, need, total, pos, contig;
	struct hs_notify_rec *r;

	if (hs_unlikely(n->type == HS_NOTIFY_WRAP || n->type > HS_NOTICE_MAX ||
			(n->key == NULL && n->key_len != 0) ||
			(n->value == NULL && n->value_len != 0)))
		return -EINVAL;
	need = hs_notify_notice_bytes(n->key_len, n->value_len);
	if (hs_unlikely(need > q->max_rec_bytes)) {
		HS_COUNTER_INC(q->prod.dropped_size);
		return -EMSGSIZE;
	}
	head = q->prod.head;	/* ours: no other thread writes it */
	pos = head & q->mask;
	contig = q->cap - pos;
	total = need <= contig ? need : contig + need;
	/* total < cap / 2 (need <= cap / 4 and contig < need when it counts),
	 * so an empty ring always takes it. */
	if (head + total - q->prod.tail_cache > q->cap) {
		/* Only now read the consumer's line: with a 64 KiB ring and
		 * 100-byte notices that is about once per 600 pushes while
		 * the consumer keeps up. */
		q->prod.tail_cache = __atomic_load_n(&q->cons.tail,
						     __ATOMIC_ACQUIRE);
		if (head + total - q->prod.tail_cache > q->cap) {
			HS_COUNTER_INC(q->prod.dropped_full);
			return -ENOSPC;
		}
	}
	if (total != need) {
		r = (struct hs_notify_rec *)(q->ring + pos);
		r->type = HS_NOTIFY_WRAP;
		pos = 0;
	}
	r = (struct hs_notify_rec *)(q->ring + pos);
	r->type = n->type;
	r->tombstone = n->tombstone;
	r->key_len = n->key_len;
	r->reserved = 0;
	r->value_len = n->value_len;
	r->node = n->node;
	r->generation = n->generation;
	r->version = n->version;
	r->at_ns = n->at_ns;
	/* memcpy's pointers are declared nonnull even for length 0. */
	if (n->key_len != 0)
		memcpy(r->data, n->key, n->key_len);
	if (n->value_len != 0)
		memcpy(r->data + n->key_len, n->value, n->value_len);
	__atomic_store_n(&q->prod.head, head + total, __ATOMIC_RELEASE);
	HS_COUNTER_INC(q->prod.pushed);
	return 0;
}

unsigned
hs_notify_poll(struct hs_notify *q, hs_notify_cb cb, void *arg, unsigned max)
{
	uint64_t head, tail;
	unsigned done = 0;

	/* One snapshot: notices pushed while we deliver wait for the next
	 * call, so a producer that keeps up cannot keep the consumer here. */
	head = __atomic_load_n(&q->prod.head, __ATOMIC_ACQUIRE);
	tail = q->cons.tail;	/* ours: no other thread writes it */
	while (tail != head && (max == 0 || done < max)) {
		uint64_t pos = tail & q->mask;
		const struct hs_notify_rec *r =
			(const struct hs_notify_rec *)(q->ring + pos);
		struct hs_notice v;

		/* Its record was published with it, so we deliver that one
		 * next and the store below frees both. */
		if (r->type == HS_NOTIFY_WRAP) {
			tail += q->cap - pos;
			continue;
		}
		assert(r->type <= HS_NOTICE_MAX);
		v.type = r->type;
		v.node = r->node;
		v.generation = r->generation;
		v.version = r->version;
		v.at_ns = r->at_ns;
		v.tombstone = r->tombstone != 0;
		v.key_len = r->key_len;
		v.key = r->data;
		v.value_len = r->value_len;
		v.value = r->data + r->key_len;
		cb(&v, arg);
		tail += hs_notify_notice_bytes(r->key_len, r->value_len);
		/* Give the space back record by record: a slow callback then
		 * holds only its own record, not the whole batch. */
		__atomic_store_n(&q->cons.tail, tail, __ATOMIC_RELEASE);
		done++;
	}
	if (done != 0)
		HS_COUNTER_ADD(q->cons.delivered, done);
	return done;
}

void
hs_notify_stats(const struct hs_notify *q, struct hs_notify_stats *s)
{
	s->pushed = HS_COUNTER_READ(q->prod.pushed);
	s->delivered = HS_COUNTER_READ(q->cons.delivered);
	s->dropped_full = HS_COUNTER_READ(q->prod.dropped_full);
	s->dropped_size = HS_COUNTER_READ(q->prod.dropped_size);
}
