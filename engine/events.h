/*
 * hearsay broadcast events: per-origin FIFO, exactly-once delivery on top of
 * the replicated state table.
 *
 * An event is a reserved key of its origin's own key space, so Scuttlebutt
 * gives it ordering, dedup and repair by anti-entropy, and no second
 * dissemination protocol is needed.  An origin numbers its events
 * seq = 1, 2, 3... within its generation and writes event seq to the slot
 * key "hs.ev.<seq % R>" (slot in decimal, "hs.ev.17"), value = 8-byte
 * big-endian seq then the payload.  R, the retention, is the number of
 * events kept per origin.  Publishing overwrites the slot: no tombstones.
 *
 * Why this is FIFO and exactly once: every write of an origin takes its
 * next version, so within a generation a higher seq has a higher version;
 * and a node's watermark W for the origin means every version <= W is
 * installed here or superseded.  The receiver keeps one cursor per origin
 * (generation, next seq) and delivers event s only when s's slot holds s at
 * a version <= W.  Then:
 *   - everything below W is decided, so an expected event that is missing
 *     under W can only have been overwritten by a later one (lapped): it
 *     is counted as missed and never comes back;
 *   - an event installed above W (a rumor that overtook earlier writes)
 *     waits until anti-entropy or later rumors raise W over it;
 *   - when s's slot holds t > s under W, every seq in (s, t) is decided
 *     too: one scan of the R slots finds the lowest one still there, the
 *     events skipped are counted in `missed`, delivery resumes there;
 *   - "superseded" may mean by a write that is still on its way (a
 *     catch-up cut into several frames brings the newest writes last):
 *     then s waits for it, and events after s wait behind s.  Delivery
 *     can lag W for the length of a catch-up; it never skips ahead.
 *
 * Rules and limits:
 *   - Retention.  A node that falls more than R events behind an origin
 *     (partitioned, slow, or its rumors lost while the origin publishes)
 *     misses the oldest ones: counted in `missed`, never delivered late or
 *     twice.
 *   - First sight.  At the first event of an origin generation a node
 *     sees (a late joiner, a restarted origin, an origin whose cursor was
 *     dropped), delivery starts at the lowest seq retained under W: the
 *     node gets the retention window, at most R events; the events before
 *     it were never expected here and are not counted as missed.
 *   - Generations.  A restart of the origin (higher generation) starts a
 *     new sequence at 1 and resets the cursor; events of the old
 *     generation not delivered by then are gone (uncounted: their number
 *     is not known).
 *   - R is part of the cluster's configuration: every node must use the
 *     same retention (the slot of seq depends on it).  An entry whose seq
 *     does not belong to its slot is ignored and counted in `malformed`.
 *   - The R slot keys count against the table's max_keys_per_node at every
 *     node, and the payload plus 8 bytes against max_value_bytes.
 *   - The whole "hs.ev." key prefix is reserved: the node must refuse
 *     application writes under it (hs_events_is_slot_key) and may hide
 *     those keys from key listings and change notices.
 *
 * Cost: a deliver with nothing new is one node lookup and one key lookup;
 * an origin that never published costs the same and holds no cursor.  A
 * scan of the R slots (R key lookups) happens once per lap, and at first
 * sight of an origin generation (repeated, while nothing of it is
 * deliverable yet, only when its watermark has moved).
 *
 * When to deliver: the table raises W on a gap-free group even when every
 * entry of it was already here (a rumor installed above W, then covered),
 * and reports no change for it.  So besides the owners of changes, the
 * node must deliver for the owners of groups it merged, or call
 * hs_events_deliver_all now and then, or such an event waits for the
 * origin's next write.
 *
 * Thread context: a struct hs_events belongs to one node and is used by
 * that node's thread only, with that thread's table context, QSBR-online.
 * Publishing is a local table write: the node's single local writer.
 */
#ifndef HS_EVENTS_H
#define HS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_EVENTS_RETENTION_DEFAULT	64
#define HS_EVENTS_RETENTION_MAX		1024
#define HS_EVENTS_ORIGINS_DEFAULT	4096
#define HS_EVENTS_ORIGINS_MAX		(1u << 20)
/* The slot key prefix, and the bytes an event adds to its payload. */
#define HS_EVENTS_KEY_PREFIX		"hs.ev."
#define HS_EVENTS_HDR_LEN		8

struct hs_events_params {
	unsigned retention;	/* R, events kept per origin: 1..1024,
				 * default 64; the same on every node */
	uint32_t max_origins;	/* cursors held, ourselves included;
				 * default 4096 */
};

struct hs_events;

struct hs_events_stats {
	uint64_t published;	/* events this node published */
	uint64_t delivered;	/* events handed to callbacks, ours included */
	uint64_t missed;	/* lapped: overwritten before delivery here */
	uint64_t origins;	/* cursors held now */
	uint64_t lim_origins;	/* deliveries refused: no cursor room */
	uint64_t malformed;	/* slot entries read that are no event
				 * (tombstone, short, seq of another slot:
				 * an origin with another retention) */
};

/* Called for each event delivered, in seq order per origin generation.
 * payload is valid until the caller's next quiescent state; the callback
 * may publish, but must not deliver or forget on the same hs_events. */
typedef void (*hs_events_cb)(uint64_t origin, uint64_t generation,
			     uint64_t seq, const uint8_t *payload, size_t len,
			     void *arg);

/*
 * Create the event state of node self_id at self_generation (the table's
 * own; our own sequence starts at 1).  p may be NULL; zero fields take
 * their defaults.  Allocates the cursor map (about 64 bytes per origin).
 * Returns 0, -EINVAL (retention or max_origins out of range, self_id or
 * self_generation 0) or -ENOMEM.  Control thread.
 */
int hs_events_create(const struct hs_events_params *p, uint64_t self_id,
		     uint64_t self_generation, struct hs_events **out);
void hs_events_destroy(struct hs_events *ev);

/*
 * Publish an event from this node: writes its slot key with hs_table_put
 * (so the caller must be the node's single local writer).  Returns the
 * event's seq (> 0), or -EMSGSIZE (payload + 8 over the table's
 * max_value_bytes), or another negative errno of hs_table_put; a failed
 * publish uses no seq.
 */
int64_t hs_events_publish(struct hs_events *ev, struct hs_table_ctx *c,
			  const void *payload, size_t len);

/* Is key reserved for events (prefix "hs.ev.")?  Any thread. */
bool hs_events_is_slot_key(const void *key, size_t len);

/*
 * Deliver what is deliverable from origin (ourselves included), in seq
 * order, calling cb for each; returns the number delivered.  The node
 * calls it for the owner of every change the table reports, and
 * hs_events_deliver_all when its change ring overflowed.  A call delivers
 * at most R events (all that can be retained), so the loop is bounded.
 */
unsigned hs_events_deliver(struct hs_events *ev, struct hs_table_ctx *c,
			   uint64_t origin, hs_events_cb cb, void *arg);

/* Deliver from every origin the table holds (one walk of its digests). */
unsigned hs_events_deliver_all(struct hs_events *ev, struct hs_table_ctx *c,
			       hs_events_cb cb, void *arg);

/*
 * An origin forgotten by membership (hs_table_forget): drop its cursor.
 * Only once the table has forgotten it: a cursor dropped while the
 * origin's generation is still held would start over at the retention
 * window and deliver it again.  Our own cursor is never dropped.
 */
void hs_events_forget(struct hs_events *ev, uint64_t origin);

void hs_events_stats(const struct hs_events *ev, struct hs_events_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_EVENTS_H */
