/*
 * hearsay SPSC slot ring: a bounded single-producer single-consumer queue
 * of fixed-size slots, used in place (header only).
 *
 * The producer reserves the next free slot, writes into it and commits;
 * the consumer peeks at the oldest committed slot, reads it in place and
 * releases it.  No allocation after hs_spsc_create, no lock, no wait:
 * reserving from a full ring returns NULL and the producer drops and
 * counts, because a worker must never stall behind another one.
 *
 * Head and tail live on cache lines of their own, each written by one
 * side only; a commit is a release store that the consumer's acquire load
 * pairs with, so the slot's bytes are visible before its index is.
 *
 * Threads: one producer thread, one consumer thread (each may change over
 * time if the hand-over is synchronised); create/destroy while neither
 * uses the ring.
 */
#ifndef HS_SPSC_H
#define HS_SPSC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_spsc {
	uint32_t mask;			/* n_slots - 1 */
	uint32_t slot_size;		/* bytes, a multiple of 8 */
	uint8_t *slots;
	uint32_t head HS_CACHE_ALIGNED;	/* producer: next slot to write */
	uint32_t tail HS_CACHE_ALIGNED;	/* consumer: next slot to read */
};

/* n_slots: a power of two, 2..2^20; slot_size: 8..65536 bytes (rounded up
 * to 8).  Returns 0, -EINVAL or -ENOMEM.  Control thread. */
static inline int
hs_spsc_create(uint32_t n_slots, uint32_t slot_size, struct hs_spsc **out)
{
	struct hs_spsc *q;

	if (out == NULL || n_slots < 2 || n_slots > (1u << 20) ||
	    (n_slots & (n_slots - 1)) != 0 || slot_size < 8 ||
	    slot_size > 65536)
		return -EINVAL;
	if (posix_memalign((void **)&q, HS_CACHE_LINE, sizeof(*q)) != 0)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->mask = n_slots - 1;
	q->slot_size = (slot_size + 7) & ~7u;
	q->slots = calloc(n_slots, q->slot_size);	/* faulted in now */
	if (q->slots == NULL) {
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

/* NULL is a no-op. */
static inline void
hs_spsc_destroy(struct hs_spsc *q)
{
	if (q == NULL)
		return;
	free(q->slots);
	free(q);
}

/* Producer: the next free slot (slot_size bytes), or NULL when full. */
static inline void *
hs_spsc_reserve(struct hs_spsc *q)
{
	uint32_t head = q->head;

	if (head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) > q->mask)
		return NULL;
	return q->slots + (size_t)(head & q->mask) * q->slot_size;
}

/* Producer: publish the slot hs_spsc_reserve returned. */
static inline void
hs_spsc_commit(struct hs_spsc *q)
{
	__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELEASE);
}

/* Consumer: the oldest committed slot, or NULL when empty. */
static inline void *
hs_spsc_peek(struct hs_spsc *q)
{
	uint32_t tail = q->tail;

	if (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == tail)
		return NULL;
	return q->slots + (size_t)(tail & q->mask) * q->slot_size;
}

/* Consumer: done with the slot hs_spsc_peek returned. */
static inline void
hs_spsc_release(struct hs_spsc *q)
{
	__atomic_store_n(&q->tail, q->tail + 1, __ATOMIC_RELEASE);
}

#ifdef __cplusplus
}
#endif

#endif /* HS_SPSC_H */
