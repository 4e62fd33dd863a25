/*
 * hearsay object pool.  See pool.h for the design.
 *
 * Every object is preceded by an 8-byte header naming its class and home
 * cache.  While free, the object's first word links it into a free list
 * (local list, or the home cache's lock-free remote stack) and its second
 * points HS_POOL_AHEAD objects further down the same list (or is NULL), so
 * that an allocation can prefetch the object it will hand out that many
 * allocations later: freed objects come back cold (after a grace period, from
 * another thread), and a list walked one dependent load at a time costs a
 * cache miss per allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/lfstack.h>

/* liburcu lfstack keeps the list of slabs (freed at destroy). */

#include "pool.h"
#include "util.h"

#define HS_POOL_MIN_SHIFT	6	/* 64-byte class */
#define HS_POOL_MAX_SHIFT	15	/* 32 KiB class */
#define HS_POOL_N_CLASSES	(HS_POOL_MAX_SHIFT - HS_POOL_MIN_SHIFT + 1)
#define HS_POOL_SLAB_BYTES	(64u * 1024u)
#define HS_POOL_HDR_BYTES	8u
#define HS_POOL_CACHE_LINE	HS_CACHE_LINE
#define HS_POOL_AHEAD		8	/* objects prefetched ahead, alloc and
					 * bulk free */

/* Home cache pointer, with the class index in its low 6 bits (caches are
 * 64-byte aligned). */
struct hs_pool_hdr {
	uintptr_t tag;
};

struct hs_pool_free {
	struct hs_pool_free *next;
	struct hs_pool_free *ahead;	/* HS_POOL_AHEAD further, or NULL */
};

/*
 * Objects freed by other threads: a Treiber stack that is only ever pushed
 * (a whole chain at once, by any thread) and emptied whole (by the owner,
 * one exchange).  With no single pop there is no ABA.  liburcu's lfstack
 * has the same shape but pushes one node per CAS; a retire batch frees 64.
 */
struct hs_pool_remote {
	struct hs_pool_free *head;	/* atomic */
};

struct hs_pool_class {
	struct hs_pool_free *local;
	struct hs_pool_remote remote;
};

struct hs_pool_cache {
	struct hs_pool *pool;
	uint16_t idx;
	struct hs_pool_class cls[HS_POOL_N_CLASSES];
	uint64_t allocs;
	uint64_t remote_takes;
	uint64_t slab_grows;
	uint64_t slab_bytes;
	uint64_t failed;
} __attribute__((aligned(HS_POOL_CACHE_LINE)));

struct hs_pool_slab {
	struct cds_lfs_node node;
};

struct hs_pool {
	unsigned n_caches;
	unsigned n_classes;
	struct __cds_lfs_stack slabs;	/* every slab, freed at destroy */
	struct hs_pool_cache *caches;
};

int
hs_pool_create(const struct hs_pool_params *p, struct hs_pool **out)
{
	struct hs_pool *pool;
	unsigned i;
	size_t need;

	if (p == NULL || out == NULL || p->n_caches == 0 ||
	    p->n_caches > 256 || p->max_obj_bytes == 0 ||
	    p->max_obj_bytes + HS_POOL_HDR_BYTES > (1u << HS_POOL_MAX_SHIFT))
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return -ENOMEM;
	pool->n_caches = p->n_caches;
	need = p->max_obj_bytes + HS_POOL_HDR_BYTES;
	for (pool->n_classes = 1;
	     (1u << (HS_POOL_MIN_SHIFT + pool->n_classes - 1)) < need;
	     pool->n_classes++)
		;
	if (posix_memalign((void **)&pool->caches, HS_POOL_CACHE_LINE,
			   sizeof(*pool->caches) * p->n_caches) != 0)
		goto err_pool;
	memset(pool->caches, 0, sizeof(*pool->caches) * p->n_caches);
	__cds_lfs_init(&pool->slabs);
	for (i = 0; i < p->n_caches; i++) {
		pool->caches[i].pool = pool;
		pool->caches[i].idx = (uint16_t)i;
	}
	*out = pool;
	return 0;

err_pool:
	free(pool);
	return -ENOMEM;
}

void
hs_pool_destroy(struct hs_pool *pool)
{
	struct cds_lfs_head *head;
	struct cds_lfs_node *n, *next;

	if (pool == NULL)
		return;
	head = __cds_lfs_pop_all(&pool->slabs);
	if (head != NULL)
		cds_lfs_for_each_safe(head, n, next)
			free(n);
	free(pool->caches);
	free(pool);
}

struct hs_pool_cache *
hs_pool_cache_get(struct hs_pool *pool, unsigned idx)
{
	if (idx >= pool->n_caches)
		return NULL;
	return &pool->caches[idx];
}

static unsigned
hs_pool_class_of(size_t total)
{
	unsigned shift = HS_POOL_MIN_SHIFT;

	if (total > (1u << HS_POOL_MIN_SHIFT))
		shift = 64u - (unsigned)__builtin_clzll((uint64_t)total - 1);
	return shift - HS_POOL_MIN_SHIFT;
}

/* Carve a fresh slab into the local list of class cls.  The slab's first
 * object slot holds the slab's own list link, so slabs need no side table. */
static int
hs_pool_grow(struct hs_pool_cache *c, unsigned cls)
{
	size_t osz = (size_t)1 << (HS_POOL_MIN_SHIFT + cls);
	size_t slab = osz > HS_POOL_SLAB_BYTES / 8 ? osz * 8 : HS_POOL_SLAB_BYTES;
	uint8_t *mem, *p;
	size_t off;

	if (posix_memalign((void **)&mem, HS_POOL_CACHE_LINE, slab) != 0)
		return -ENOMEM;
	cds_lfs_node_init((struct cds_lfs_node *)mem);
	cds_lfs_push(&c->pool->slabs, (struct cds_lfs_node *)mem);
	/* Slot 0 is the slab link; objects start at the next slot and are
	 * handed out in address order. */
	for (off = slab - osz; off >= osz; off -= osz) {
		struct hs_pool_hdr *h;
		struct hs_pool_free *f;

		p = mem + off;
		h = (struct hs_pool_hdr *)p;
		h->tag = (uintptr_t)c | cls;
		f = (struct hs_pool_free *)(p + HS_POOL_HDR_BYTES);
		f->next = c->cls[cls].local;
		f->ahead = off + HS_POOL_AHEAD * osz < slab ?
			(struct hs_pool_free *)(p + HS_POOL_AHEAD * osz +
						HS_POOL_HDR_BYTES) : NULL;
		c->cls[cls].local = f;
	}
	HS_COUNTER_INC(c->slab_grows);
	HS_COUNTER_ADD(c->slab_bytes, slab);
	return 0;
}

void *
hs_pool_alloc(struct hs_pool_cache *c, size_t bytes)
{
	struct hs_pool_class *k;
	struct hs_pool_free *f;
	unsigned cls;

	if (bytes + HS_POOL_HDR_BYTES > ((size_t)1 << (HS_POOL_MIN_SHIFT +
				c->pool->n_classes - 1))) {
		HS_COUNTER_INC(c->failed);
		return NULL;
	}
	cls = hs_pool_class_of(bytes + HS_POOL_HDR_BYTES);
	k = &c->cls[cls];
	f = k->local;
	if (__builtin_expect(f == NULL, 0)) {
		/* Take back, in one exchange, everything other threads freed
		 * to us, as the chain it already is. */
		f = __atomic_exchange_n(&k->remote.head, NULL, __ATOMIC_ACQUIRE);
		if (f != NULL) {
			HS_COUNTER_INC(c->remote_takes);
		} else if (hs_pool_grow(c, cls) == 0) {
			f = k->local;
		} else {
			HS_COUNTER_INC(c->failed);
			return NULL;
		}
	}
	k->local = f->next;
	/* Objects come back cold (through call_rcu, after a grace period):
	 * fetch, for writing, the one handed out HS_POOL_AHEAD allocations
	 * from now (both lines of a two-line class), and the next one, which
	 * nothing fetched yet just after a take. */
	if (f->ahead != NULL) {
		__builtin_prefetch(f->ahead, 1, 3);
		if (cls > 0)
			__builtin_prefetch((uint8_t *)f->ahead + HS_POOL_CACHE_LINE,
					   1, 3);
	}
	if (k->local != NULL)
		__builtin_prefetch(k->local, 1, 3);
	HS_COUNTER_INC(c->allocs);
	return f;
}

static inline uintptr_t
hs_pool_tag(const void *obj)
{
	return ((const struct hs_pool_hdr *)((const uint8_t *)obj -
					     HS_POOL_HDR_BYTES))->tag;
}

static void
hs_pool_push(uintptr_t tag, struct hs_pool_free *first,
	     struct hs_pool_free *last)
{
	struct hs_pool_cache *home = (struct hs_pool_cache *)
		(tag & ~(uintptr_t)(HS_POOL_CACHE_LINE - 1));
	struct hs_pool_remote *r = &home->cls[tag & (HS_POOL_CACHE_LINE - 1)].remote;
	struct hs_pool_free *old = __atomic_load_n(&r->head, __ATOMIC_RELAXED);

	do {
		last->next = old;
	} while (!__atomic_compare_exchange_n(&r->head, &old, first, 1,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

void
hs_pool_free(void *obj)
{
	struct hs_pool_free *f = obj;

	if (f == NULL)
		return;
	f->ahead = NULL;
	hs_pool_push(hs_pool_tag(obj), f, f);
}

void
hs_pool_free_bulk(void *const *objs, unsigned n)
{
	struct hs_pool_free *first, *last;
	unsigned i, run = 0;
	uintptr_t tag;

	if (n == 0)
		return;
	/* Runs of objects with the same home and class go back as one chain:
	 * one CAS per run instead of one per object.  The objects are cold
	 * and independent: keep several misses in flight (header and links
	 * share the object's first line). */
	for (i = 0; i < n && i < HS_POOL_AHEAD; i++)
		__builtin_prefetch(objs[i], 1, 3);
	first = last = objs[0];
	first->ahead = NULL;
	tag = hs_pool_tag(first);
	for (i = 1; i < n; i++) {
		struct hs_pool_free *f = objs[i];
		uintptr_t t;

		if (i + HS_POOL_AHEAD < n)
			__builtin_prefetch(objs[i + HS_POOL_AHEAD], 1, 3);
		t = hs_pool_tag(f);
		f->ahead = NULL;
		if (t != tag) {
			hs_pool_push(tag, first, last);
			first = f;
			tag = t;
			run = i;
		} else {
			last->next = f;
			if (i - run >= HS_POOL_AHEAD)
				((struct hs_pool_free *)
				 objs[i - HS_POOL_AHEAD])->ahead = f;
		}
		last = f;
	}
	hs_pool_push(tag, first, last);
}

void
hs_pool_stats(struct hs_pool *pool, struct hs_pool_stats *s)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < pool->n_caches; i++) {
		const struct hs_pool_cache *c = &pool->caches[i];

		s->allocs += __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
		s->remote_takes += __atomic_load_n(&c->remote_takes,
						   __ATOMIC_RELAXED);
		s->slab_grows += __atomic_load_n(&c->slab_grows,
						 __ATOMIC_RELAXED);
		s->slab_bytes += __atomic_load_n(&c->slab_bytes,
						 __ATOMIC_RELAXED);
		s->failed += __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
	}
}
