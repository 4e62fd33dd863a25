/*
 * hearsay object pool: size-classed slabs with one cache per thread.
 *
 * The hot path must not call malloc (DESIGN §4), yet the state table
 * allocates a new immutable entry for every accepted update and frees the
 * old one after an RCU grace period, on the call_rcu thread.  This pool
 * gives each thread (a worker, the control thread) its own cache per size
 * class:
 *
 *   - hs_pool_alloc() pops from the calling thread's local free list; when
 *     it is empty it takes every object other threads have returned to this
 *     cache in one lock-free pop_all, and only when that is empty too does it
 *     carve a new slab (64 KiB, the only heap call, counted in slab_grows).
 *   - hs_pool_free() and hs_pool_free_bulk() may run on any thread: they
 *     push objects, a whole chain per compare-and-swap, onto the home
 *     cache's lock-free stack (push and take-all only, so there is no ABA
 *     and no lock).
 *
 * Slabs are returned to the heap only by hs_pool_destroy(), so memory is
 * bounded by the peak number of live objects, which the table's limits bound.
 *
 * Thread context: hs_pool_create/destroy on the control thread; a cache is
 * used for allocation by exactly one thread at a time; free from any thread.
 */
#ifndef HS_POOL_H
#define HS_POOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hs_pool;
struct hs_pool_cache;

struct hs_pool_params {
	unsigned n_caches;	/* threads that allocate, 1..256 */
	size_t max_obj_bytes;	/* largest object, <= 32768 */
};

struct hs_pool_stats {
	uint64_t allocs;
	uint64_t remote_takes;	/* lists of objects freed by other threads
				 * taken back */
	uint64_t slab_grows;
	uint64_t slab_bytes;
	uint64_t failed;	/* too large or out of memory */
};

/* Returns 0, -EINVAL (bad params) or -ENOMEM. */
int hs_pool_create(const struct hs_pool_params *p, struct hs_pool **out);
/* Frees every slab: every object must be dead by then. */
void hs_pool_destroy(struct hs_pool *pool);
/* Cache idx (< n_caches). */
struct hs_pool_cache *hs_pool_cache_get(struct hs_pool *pool, unsigned idx);
/* An object of at least bytes, 8-byte aligned, or NULL (too large, or the
 * heap refused a slab). Owner thread of the cache only. */
void *hs_pool_alloc(struct hs_pool_cache *c, size_t bytes);
/* Any thread. obj from hs_pool_alloc of any cache of a live pool. */
void hs_pool_free(void *obj);
/* Any thread: n objects at once; runs with the same home cache and size
 * class cost one compare-and-swap. */
void hs_pool_free_bulk(void *const *objs, unsigned n);
/* Sums every cache's counters (relaxed reads: a snapshot, not a barrier). */
void hs_pool_stats(struct hs_pool *pool, struct hs_pool_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_POOL_H */
