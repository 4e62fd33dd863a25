/*
 * hearsay notification queue: membership and state changes handed from a
 * gossip worker to the application, so that application callbacks never run
 * on the worker.
 *
 * A bounded single-producer single-consumer byte ring of variable-length
 * records, allocated (and pre-faulted) once by hs_notify_create().  Pushing
 * copies the notice into the ring: no allocation, no lock, no wait; when the
 * ring is full the notice is dropped and counted, because a worker must not
 * stall behind a slow application.  Polling hands the application views
 * that point straight into the ring (no copy) and releases each record's
 * space only after its callback returns.
 *
 * Each notice takes hs_notify_notice_bytes() of the ring (a 40-byte header,
 * then key and value, rounded up to 8 bytes), plus, when it would not fit
 * before the end of the ring, the bytes skipped to start it at the
 * beginning.  A notice larger than a quarter of the ring is refused, so that
 * one notice can never occupy most of the ring.
 *
 * Threads: exactly one producer thread calls hs_notify_push() and exactly one
 * consumer thread calls hs_notify_poll() (each may change over time if the
 * hand-over is itself synchronised); hs_notify_stats() from any thread;
 * hs_notify_create/destroy while neither side is using the queue.
 */
#ifndef HS_NOTIFY_H
#define HS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_NOTIFY_MIN_BYTES	4096u	/* notices up to 1 KiB */
#define HS_NOTIFY_MAX_BYTES	(1u << 30)
#define HS_NOTIFY_HDR_BYTES	40u

enum hs_notice_type {
	HS_NOTICE_JOIN = 1,
	HS_NOTICE_ALIVE,
	HS_NOTICE_SUSPECT,
	HS_NOTICE_DEAD,
	HS_NOTICE_LEAVE,
	HS_NOTICE_CHANGE,
	HS_NOTICE_EVENT,
	HS_NOTICE_MAX = HS_NOTICE_EVENT,
};

/*
 * One notification.  Pushed: read only during hs_notify_push(), which copies
 * it.  Delivered: a view valid only inside the callback; key and value then
 * point into the ring and are never NULL, even when empty.
 */
struct hs_notice {
	uint8_t type;		/* enum hs_notice_type */
	uint64_t node;		/* the member, the key's owner, or the
				 * event's origin */
	uint64_t generation;
	uint64_t version;	/* CHANGE: entry version; EVENT: event
				 * sequence number; else incarnation */
	bool tombstone;		/* CHANGE: a delete */
	uint8_t key_len;	/* CHANGE only */
	const uint8_t *key;
	uint32_t value_len;	/* CHANGE: value; EVENT: payload */
	const uint8_t *value;
	uint64_t at_ns;		/* the node's clock (params.clock) when the
				 * engine queued it; carried as is */
};

struct hs_notify_stats {
	uint64_t pushed;	/* queued */
	uint64_t delivered;	/* handed to a callback */
	uint64_t dropped_full;	/* -ENOSPC */
	uint64_t dropped_size;	/* -EMSGSIZE */
};

struct hs_notify;

typedef void (*hs_notify_cb)(const struct hs_notice *n, void *arg);

/* Ring bytes one notice occupies (a record never straddles the ring's end,
 * so a notice may cost up to this much again in skipped bytes). */
static inline uint64_t
hs_notify_notice_bytes(uint8_t key_len, uint32_t value_len)
{
	return ((uint64_t)HS_NOTIFY_HDR_BYTES + key_len + value_len + 7) &
	       ~(uint64_t)7;
}

/* capacity_bytes: a power of two in [HS_NOTIFY_MIN_BYTES,
 * HS_NOTIFY_MAX_BYTES].  Returns 0, -EINVAL (bad capacity, NULL out) or
 * -ENOMEM.  Control thread. */
int hs_notify_create(size_t capacity_bytes, struct hs_notify **out);
/* NULL is a no-op.  Notices still queued are discarded. */
void hs_notify_destroy(struct hs_notify *q);
/* Producer thread only.  Copies n in; never blocks or allocates.  Returns 0;
 * -ENOSPC when the ring has no room (dropped, counted in dropped_full);
 * -EMSGSIZE when the notice takes more than a quarter of the ring (dropped,
 * counted in dropped_size); -EINVAL, not counted, for a type outside
 * 1..HS_NOTICE_MAX or a NULL key/value with a nonzero length. */
int hs_notify_push(struct hs_notify *q, const struct hs_notice *n);
/* Consumer thread only.  Calls cb, in push order, for up to max of the
 * notices queued when the call starts (max 0: all of them); returns how many.
 * cb must not poll q itself. */
unsigned hs_notify_poll(struct hs_notify *q, hs_notify_cb cb, void *arg,
			unsigned max);
/* Any thread: relaxed reads, a snapshot of each counter, not of all at one
 * instant. */
void hs_notify_stats(const struct hs_notify *q, struct hs_notify_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_NOTIFY_H */
