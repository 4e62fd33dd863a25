/*
 * hearsay state table.  See table.h for the API and docs/TABLE.md for the
 * design in full.  In short:
 *
 * - owners: cds_lfht (QSBR) of struct hs_owner, one per node id, never
 *   removed: forgetting a member (hs_table_forget) replaces its state with
 *   a grave that keeps its old generations out.
 * - An owner points (RCU) at its current generation state, struct hs_ogen.
 *   A higher generation, a reset below the GC floor, or forgetting installs
 *   a fresh ogen with one compare-and-swap; the old one is reclaimed by the
 *   call_rcu thread after a grace period.
 * - An ogen holds the Scuttlebutt watermark W (every version <= W of this
 *   owner generation is known here), the tombstone-GC floor F, a lock-free
 *   open-addressing index of keys -> immutable struct hs_entry, and a
 *   change log: a ring of entry pointers indexed by version, valid for the
 *   newest log_slots versions.
 * - Merge of a delta group: one owner lookup in the cds_lfht, then, per
 *   batch of entries: skip those at or below W without a key lookup (the
 *   common case in anti-entropy), hash and prefetch the rest, and install
 *   each by CAS on its index slot if its version is higher.  W advances
 *   (CAS-max, release) only after every entry of a gap-free group is in the
 *   index and in the change log, so a delta builder that reads W (acquire)
 *   finds every version <= W in the log.
 * - Replaced entries are retired in per-thread batches: one call_rcu per 512
 *   entries, on the call_rcu thread the control side created.
 *
 * Concurrency: every function runs on a QSBR-online registered thread with
 * its own struct hs_table_ctx; no locks.  Workers never block and never call
 * malloc except when a member or generation first appears (bounded by
 * max_members), when a key index grows, and when the object pool carves a
 * new slab.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/rculfhash.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine/log.h"
#include "engine/pool.h"
#include "engine/table.h"
#include "engine/util.h"

#define HS_ENT_TOMBSTONE	0x01u
/* one call_rcu per batch of replaced entries (or per worker loop, whichever
 * comes first): at 13 M merges/s, a batch of 64 cost 8% more CPU in call_rcu
 * wake-ups than 512.  The batch is an array of pointers in one 4 KiB pool
 * object (the pool's 8-byte header included), so the freeing side prefetches
 * many entries ahead instead of chasing a chain through cold entries. */
#define HS_RETIRE_BATCH		((4096 - 8 - 24) / sizeof(void *))
#define HS_DELTA_MAX_OWNERS	256
#define HS_MERGE_BATCH		32

/*
 * 24 bytes of header, then the key: with the pool's 8-byte object header a
 * key of up to 32 bytes shares the first cache line with the version, so a
 * merge that compares a key and a version touches one line per entry.
 */
struct hs_entry {
	uint64_t version;
	uint16_t value_len;
	uint8_t key_len;
	uint8_t flags;
	uint8_t superseded;		/* atomic: replaced or collected */
	uint64_t born_ns;		/* live tombstone: arrival, for GC */
	uint8_t data[];			/* key, then value */
};

/* Entries replaced by one context, freed together after a grace period. */
struct hs_retire_batch {
	struct rcu_head rcu;
	uint32_t n;
	struct hs_entry *e[HS_RETIRE_BATCH];
};
_Static_assert(sizeof(struct hs_retire_batch) + 8 <= 4096,
	       "a retire batch is one 4 KiB pool object");

struct hs_noderec {
	struct rcu_head rcu;
	uint64_t generation;
	uint64_t incarnation;		/* SWIM incarnation */
	uint8_t status;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint8_t name_len;
	uint8_t name[];			/* name_len bytes: a member costs
					 * every node this record */
};

struct hs_ogen {
	uint64_t owner;
	uint64_t generation;
	uint64_t watermark;		/* atomic */
	uint64_t max_seen;		/* atomic: highest version installed */
	uint64_t heartbeat;		/* atomic, CAS-max */
	uint64_t floor;			/* atomic, CAS-max */
	uint32_t n_keys;		/* atomic: keys + tombstones */
	uint32_t n_tombstones;		/* atomic */
	uint32_t log_mask;
	struct hs_kindex *kidx;		/* created lazily, atomic publish */
	struct hs_entry **log;		/* created lazily, atomic publish */
	bool forgotten;			/* a grave: this generation and older
					 * are refused (hs_table_forget) */
	struct rcu_head rcu;		/* reclaimed after a grace period */
};

struct hs_owner {
	struct cds_lfht_node lfht;
	uint64_t id;
	struct hs_ogen *ogen;		/* rcu */
	struct hs_noderec *rec;		/* rcu */
};

struct hs_delta_order {
	struct hs_ogen *og;
	uint64_t owner;
	uint64_t from;
	uint64_t stale;
	bool reset;
};

struct hs_merge_item {
	struct hs_wire_entry e;
	uint64_t hash;
};

#define HS_CHANGE_RING		256	/* power of two */

struct hs_table_ctx {
	struct hs_table *t;
	/* entries this context installed, for rumor mongering: written and
	 * read by the context's own thread only */
	struct hs_table_change changes[HS_CHANGE_RING];
	unsigned change_head;		/* next to write */
	unsigned change_tail;		/* next to read */
	struct hs_pool_cache *pool;
	int bound;
	struct hs_retire_batch *retire;	/* filling; NULL until needed */
	struct cds_lfht_iter dig_it;	/* hs_table_digests: where to go on */
	uint64_t dig_pos;		/* the cursor dig_it stands for */
	bool dig_live;
	struct hs_entry **scratch;	/* max_keys_per_node + slack */
	unsigned scratch_cap;
	struct hs_delta_order order[HS_DELTA_MAX_OWNERS];
	struct hs_merge_item batch[HS_MERGE_BATCH];
	struct hs_table_stats n;	/* owners, keys: unused here */
} HS_CACHE_ALIGNED;

struct hs_table {
	struct hs_table_params p;
	struct cds_lfht *owners;
	uint32_t n_owners;		/* atomic */
	uint32_t n_graves;		/* atomic: owners forgotten */
	struct call_rcu_data *crdp;
	bool own_crdp;
	struct hs_pool *pool;
	struct hs_table_ctx *ctx;
	struct hs_owner *self;
	struct rcu_head destroy_rcu;	/* last free, shared call_rcu thread */
};

/* ---- helpers ---- */

static inline unsigned long
hs_hash_id(uint64_t id)
{
	return (unsigned long)XXH3_64bits(&id, sizeof(id));
}

static inline uint64_t
hs_hash_key(const void *key, size_t len)
{
	return XXH3_64bits(key, len);
}

static int
hs_owner_match(struct cds_lfht_node *node, const void *key)
{
	const struct hs_owner *o = caa_container_of(node, struct hs_owner, lfht);

	return o->id == *(const uint64_t *)key;
}

static inline bool
hs_entry_superseded(const struct hs_entry *e)
{
	return __atomic_load_n(&e->superseded, __ATOMIC_SEQ_CST) != 0;
}

static void
hs_kv_fill(struct hs_table_kv *kv, uint64_t owner, const struct hs_ogen *og,
	   const struct hs_entry *e)
{
	kv->owner = owner;
	kv->generation = og->generation;
	kv->version = e->version;
	kv->tombstone = (e->flags & HS_ENT_TOMBSTONE) != 0;
	kv->key_len = e->key_len;
	kv->value_len = e->value_len;
	kv->key = e->data;
	kv->value = e->data + e->key_len;
}

/*
 * Install obj in an empty *slot, for state created on first use.  Returns
 * what *slot holds: obj, or what a racing thread installed first (then obj,
 * never seen by anyone, is freed).
 */
static void *
hs_publish_once(void **slot, void *obj)
{
	void *expect = NULL;

	if (__atomic_compare_exchange_n(slot, &expect, obj, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return obj;
	free(obj);
	return expect;
}

/* ---- retirement ---- */

static void
hs_retire_cb(struct rcu_head *head)
{
	struct hs_retire_batch *b = caa_container_of(head,
						     struct hs_retire_batch,
						     rcu);

	hs_pool_free_bulk((void *const *)b->e, b->n);
	hs_pool_free(b);
}

void
hs_table_ctx_flush(struct hs_table_ctx *c)
{
	struct hs_retire_batch *b = c->retire;

	if (b == NULL || b->n == 0)
		return;
	urcu_qsbr_call_rcu(&b->rcu, hs_retire_cb);
	c->retire = NULL;
}

/* Free e after a grace period.  Batched: one call_rcu per HS_RETIRE_BATCH
 * entries, since call_rcu appends to a queue shared with every other thread
 * and may wake the call_rcu thread.  With no memory for a batch (the pool
 * could not grow by one slab) the entry is never freed: counted, since
 * freeing it without a grace period could pull it from under a reader. */
static void
hs_retire(struct hs_table_ctx *c, struct hs_entry *e)
{
	struct hs_retire_batch *b = c->retire;

	if (__builtin_expect(b == NULL, 0)) {
		b = hs_pool_alloc(c->pool, sizeof(*b));
		if (b == NULL) {
			HS_COUNTER_INC(c->n.retire_nomem);
			return;
		}
		b->n = 0;
		c->retire = b;
	}
	b->e[b->n++] = e;
	HS_COUNTER_INC(c->n.retired);
	if (b->n == HS_RETIRE_BATCH)
		hs_table_ctx_flush(c);
}

static void
hs_noderec_free_cb(struct rcu_head *head)
{
	free(caa_container_of(head, struct hs_noderec, rcu));
}

/* ---- change log ---- */

static struct hs_entry **
hs_log_get(struct hs_table *t, struct hs_ogen *og)
{
	struct hs_entry **log = __atomic_load_n(&og->log, __ATOMIC_ACQUIRE);

	if (hs_likely(log != NULL))
		return log;
	log = calloc((size_t)t->p.log_slots, sizeof(*log));
	if (log == NULL)
		return NULL;
	return hs_publish_once((void **)&og->log, log);
}

/*
 * Publish e in the change log, unless a newer lap of the ring holds the
 * slot.  Racing with a replacer that supersedes e: the replacer sets
 * superseded then clears the slot; we set the slot then check superseded.
 * With sequentially consistent order one of us sees the other, so a
 * superseded entry never stays in the log past its retirement.
 */
static void
hs_log_publish(struct hs_table *t, struct hs_ogen *og, struct hs_entry *e)
{
	struct hs_entry **log = hs_log_get(t, og);
	struct hs_entry **slot, *cur;

	if (log == NULL)
		return;		/* delta builds fall back to a key scan */
	slot = &log[e->version & og->log_mask];
	cur = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
	for (;;) {
		if (cur == e || (cur != NULL && cur->version >= e->version))
			return;
		if (__atomic_compare_exchange_n(slot, &cur, e, 0,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			break;
	}
	if (hs_entry_superseded(e)) {
		cur = e;
		__atomic_compare_exchange_n(slot, &cur, NULL, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

static void
hs_log_unpublish(struct hs_ogen *og, struct hs_entry *e)
{
	struct hs_entry **log = __atomic_load_n(&og->log, __ATOMIC_ACQUIRE);
	struct hs_entry *cur = e;

	__atomic_store_n(&e->superseded, 1, __ATOMIC_SEQ_CST);
	if (log == NULL)
		return;
	__atomic_compare_exchange_n(&log[e->version & og->log_mask], &cur, NULL,
				    0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* ---- owner generations ---- */

static struct hs_ogen *
hs_ogen_new(struct hs_table *t, uint64_t owner, uint64_t generation,
	    uint64_t floor)
{
	struct hs_ogen *og = calloc(1, sizeof(*og));

	if (og == NULL)
		return NULL;
	og->owner = owner;
	og->generation = generation;
	og->floor = floor;
	og->log_mask = t->p.log_slots - 1;
	return og;
}

/* ---- per-owner key index ----
 *
 * Lock-free open addressing with linear probing.  A slot is one 64-bit word:
 *   0                    empty (never reused once filled)
 *   HS_KI_DELETED        the key was collected (tombstone GC); probing goes on
 *   tag << 48 | entry    a live entry; tag = the key hash's top 16 bits, so a
 *                        probe rarely dereferences an entry that is not it
 *   | HS_KI_FROZEN       the slot belongs to an index being replaced
 * Writers CAS a slot from what they read to what they want; a key is only
 * ever inserted into the first empty slot of its probe sequence, and slots
 * never return to empty, so two writers of the same key meet on the same
 * slot and the CAS loser compares versions with the winner.
 *
 * Growth (load above 1/2, counting collected slots): the grower freezes
 * every slot (CAS in the FROZEN bit), copies the frozen entries into a
 * private array of the new size, and publishes it with one CAS on
 * og->kidx; the old index is freed after a grace period.  A writer that
 * meets a frozen slot does the same, so nobody ever waits for anybody: a
 * helper that loses the publishing CAS frees its copy.  Readers go on
 * reading a frozen index (its entries stay valid until the grace period).
 */
#define HS_KI_FROZEN	0x1ull
#define HS_KI_DELETED	0x2ull
#define HS_KI_PTR	0x0000fffffffffff8ull
#define HS_KI_MIN	16u		/* after a growth */
#define HS_KI_FIRST	4u		/* an owner's first index: most owners
					 * hold a key or two (hs.addr, hs.rack),
					 * and every node holds every owner */

struct hs_kindex {
	struct rcu_head rcu;
	uint32_t mask;
	uint32_t used;			/* atomic: filled slots, collected too */
	uint64_t slot[];		/* atomic */
};

static inline struct hs_entry *
hs_ki_entry(uint64_t v)
{
	return (struct hs_entry *)(uintptr_t)(v & HS_KI_PTR);
}

static inline bool
hs_ki_live(uint64_t v)
{
	return (v & HS_KI_PTR) != 0;
}

static inline uint64_t
hs_ki_make(const struct hs_entry *e, uint64_t hash)
{
	return (hash & ~HS_KI_PTR & ~(uint64_t)7) | (uint64_t)(uintptr_t)e;
}

static inline bool
hs_ki_tag_eq(uint64_t v, uint64_t hash)
{
	return ((v ^ hash) >> 48) == 0;
}

/* Inline compare: keys are short (16 bytes typical) and the tag already
 * matched, so a call to memcmp costs more than the compare. */
static inline bool
hs_ki_key_eq(const struct hs_entry *e, const void *key, size_t key_len)
{
	const uint8_t *a = e->data, *b = key;

	if (e->key_len != key_len)
		return false;
	for (; key_len >= 8; key_len -= 8, a += 8, b += 8) {
		uint64_t x, y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	while (key_len-- != 0)
		if (*a++ != *b++)
			return false;
	return true;
}

static struct hs_kindex *
hs_ki_alloc(uint32_t n_slots)
{
	struct hs_kindex *ki = calloc(1, sizeof(*ki) +
				      (size_t)n_slots * sizeof(uint64_t));

	if (ki != NULL)
		ki->mask = n_slots - 1;
	return ki;
}

static void
hs_ki_free_cb(struct rcu_head *head)
{
	free(caa_container_of(head, struct hs_kindex, rcu));
}

/* Readers: the slot value holding key, or 0.  Any thread, online. */
static uint64_t
hs_ki_lookup(const struct hs_kindex *ki, uint64_t hash, const void *key,
	     size_t key_len)
{
	uint32_t i = (uint32_t)hash & ki->mask, n;

	for (n = 0; n <= ki->mask; n++, i = (i + 1) & ki->mask) {
		uint64_t v = __atomic_load_n(&ki->slot[i], __ATOMIC_ACQUIRE);

		if ((v & ~HS_KI_FROZEN) == 0)
			return 0;
		if (hs_ki_live(v) && hs_ki_tag_eq(v, hash) &&
		    hs_ki_key_eq(hs_ki_entry(v), key, key_len))
			return v & ~HS_KI_FROZEN;
	}
	return 0;
}

/* The index of og, created on first use: a member that only gossips its
 * heartbeat costs no index. */
static struct hs_kindex *
hs_ki_get(struct hs_table_ctx *c, struct hs_ogen *og)
{
	struct hs_kindex *ki = __atomic_load_n(&og->kidx, __ATOMIC_ACQUIRE);

	if (hs_likely(ki != NULL))
		return ki;
	ki = hs_ki_alloc(HS_KI_FIRST);
	if (ki == NULL) {
		HS_COUNTER_INC(c->n.nomem);
		return NULL;
	}
	return hs_publish_once((void **)&og->kidx, ki);
}

/*
 * Replace ki (og's index) by a copy sized for its live keys: freeze every
 * slot, copy, publish.  Returns the index now current (ours or a racing
 * helper's), or NULL when out of memory.  Caller online.
 */
static struct hs_kindex *
hs_ki_grow(struct hs_table_ctx *c, struct hs_ogen *og, struct hs_kindex *ki)
{
	struct hs_kindex *nk, *expect = ki;
	uint32_t i, live = 0, n_slots = HS_KI_MIN;

	for (i = 0; i <= ki->mask; i++) {
		uint64_t v = __atomic_load_n(&ki->slot[i], __ATOMIC_ACQUIRE);

		while (!(v & HS_KI_FROZEN) &&
		       !__atomic_compare_exchange_n(&ki->slot[i], &v,
						    v | HS_KI_FROZEN, 0,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE))
			;
		live += hs_ki_live(v);
	}
	/* at most 1/4 full after growth: room for as many again */
	while (n_slots < 4 * (live + 1))
		n_slots <<= 1;
	nk = hs_ki_alloc(n_slots);
	if (nk == NULL) {
		HS_COUNTER_INC(c->n.nomem);
		return NULL;
	}
	for (i = 0; i <= ki->mask; i++) {
		/* frozen: nobody can change it any more */
		uint64_t v = __atomic_load_n(&ki->slot[i], __ATOMIC_RELAXED) &
			     ~HS_KI_FROZEN;
		uint32_t j;

		if (!hs_ki_live(v))
			continue;
		j = (uint32_t)hs_hash_key(hs_ki_entry(v)->data,
					  hs_ki_entry(v)->key_len) & nk->mask;
		while (nk->slot[j] != 0)
			j = (j + 1) & nk->mask;
		nk->slot[j] = v;
		nk->used++;
	}
	if (!__atomic_compare_exchange_n(&og->kidx, &expect, nk, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(nk);	/* a helper published first */
		return expect;
	}
	HS_COUNTER_INC(c->n.index_grows);
	urcu_qsbr_call_rcu(&ki->rcu, hs_ki_free_cb);
	return nk;
}

/* Entries of an index nobody can reach any more (after a grace period). */
static void
hs_ki_free_all(struct hs_kindex *ki)
{
	uint32_t i;

	if (ki == NULL)
		return;
	for (i = 0; i <= ki->mask; i++)
		if (hs_ki_live(ki->slot[i]))
			hs_pool_free(hs_ki_entry(ki->slot[i]));
	free(ki);
}

/* Only for an ogen nobody else ever saw. */
static void
hs_ogen_free_unpublished(struct hs_ogen *og)
{
	free(og->kidx);
	free(og->log);
	free(og);
}

/* Free an ogen nobody can reach any more (after a grace period). */
static void
hs_ogen_reclaim(struct hs_ogen *og)
{
	hs_ki_free_all(og->kidx);
	free(og->log);
	free(og);
}

static void
hs_ogen_reclaim_cb(struct rcu_head *head)
{
	hs_ogen_reclaim(caa_container_of(head, struct hs_ogen, rcu));
}

/* A replaced owner generation goes to the call_rcu thread (the caller's
 * context is bound to it), never waited for: a worker may bury one. */
static void
hs_ogen_bury(struct hs_table *t, struct hs_ogen *og)
{
	(void)t;
	urcu_qsbr_call_rcu(&og->rcu, hs_ogen_reclaim_cb);
}

/*
 * The owner's generation state for generation gen: the current one, or a
 * fresh one that supersedes an older current one.  NULL with *rc = -ESTALE
 * when ours is newer, -ENOMEM when allocation failed.
 */
static struct hs_ogen *
hs_ogen_for(struct hs_table_ctx *c, struct hs_owner *o, uint64_t gen,
	    uint64_t floor, int *rc)
{
	struct hs_table *t = c->t;

	for (;;) {
		struct hs_ogen *og = rcu_dereference(o->ogen);
		struct hs_ogen *nw;

		if (og != NULL && og->generation == gen && !og->forgotten)
			return og;
		if (og != NULL && og->generation >= gen) {
			HS_COUNTER_INC(c->n.stale_gen);
			*rc = -ESTALE;
			return NULL;
		}
		nw = hs_ogen_new(t, o->id, gen, floor);
		if (nw == NULL) {
			HS_COUNTER_INC(c->n.nomem);
			*rc = -ENOMEM;
			return NULL;
		}
		if (rcu_cmpxchg_pointer(&o->ogen, og, nw) == og) {
			if (og != NULL) {
				HS_COUNTER_INC(c->n.gen_superseded);
				if (og->forgotten)
					__atomic_sub_fetch(&t->n_graves, 1,
							   __ATOMIC_RELAXED);
				hs_ogen_bury(t, og);
			}
			return nw;
		}
		hs_ogen_free_unpublished(nw);
	}
}

/* Replace og (below the sender's GC floor) by an empty state at floor. */
static struct hs_ogen *
hs_ogen_reset(struct hs_table_ctx *c, struct hs_owner *o, struct hs_ogen *og,
	      uint64_t floor)
{
	struct hs_ogen *nw = hs_ogen_new(c->t, o->id, og->generation, floor);

	if (nw == NULL) {
		HS_COUNTER_INC(c->n.nomem);
		return NULL;
	}
	if (rcu_cmpxchg_pointer(&o->ogen, og, nw) != og) {
		hs_ogen_free_unpublished(nw);
		return rcu_dereference(o->ogen);
	}
	HS_COUNTER_INC(c->n.resets);
	hs_ogen_bury(c->t, og);
	return nw;
}

/* ---- owners ---- */

static struct hs_owner *
hs_owner_find(struct hs_table *t, uint64_t id)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	cds_lfht_lookup(t->owners, hs_hash_id(id), hs_owner_match, &id, &it);
	node = cds_lfht_iter_get_node(&it);
	return node != NULL ? caa_container_of(node, struct hs_owner, lfht)
			    : NULL;
}

static struct hs_owner *
hs_owner_get(struct hs_table_ctx *c, uint64_t id, int *rc)
{
	struct hs_table *t = c->t;
	struct hs_owner *o = hs_owner_find(t, id);
	struct cds_lfht_node *r;

	if (hs_likely(o != NULL))
		return o;
	if (__atomic_add_fetch(&t->n_owners, 1, __ATOMIC_RELAXED) >
	    t->p.max_members) {
		__atomic_sub_fetch(&t->n_owners, 1, __ATOMIC_RELAXED);
		/* Two threads adding the same last owner both reserve a
		 * slot, so one of them can see the table over its limit
		 * although the owner fits: the other one has just added it
		 * (or is about to, and then the caller retries with the next
		 * frame).  Look again before refusing. */
		o = hs_owner_find(t, id);
		if (o != NULL)
			return o;
		HS_COUNTER_INC(c->n.lim_members);
		*rc = -ENOSPC;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		__atomic_sub_fetch(&t->n_owners, 1, __ATOMIC_RELAXED);
		HS_COUNTER_INC(c->n.nomem);
		*rc = -ENOMEM;
		return NULL;
	}
	o->id = id;
	cds_lfht_node_init(&o->lfht);
	r = cds_lfht_add_unique(t->owners, hs_hash_id(id), hs_owner_match, &id,
				&o->lfht);
	if (r != &o->lfht) {
		/* Another thread added it first; ours was never visible. */
		free(o);
		__atomic_sub_fetch(&t->n_owners, 1, __ATOMIC_RELAXED);
		o = caa_container_of(r, struct hs_owner, lfht);
	}
	return o;
}

/* ---- entries ---- */

static struct hs_entry *
hs_entry_new(struct hs_table_ctx *c, uint64_t version, uint8_t flags,
	     const void *key, uint8_t key_len, const void *value,
	     uint16_t value_len)
{
	struct hs_entry *e = hs_pool_alloc(c->pool, sizeof(*e) + key_len +
					   value_len);

	if (hs_unlikely(e == NULL)) {
		HS_COUNTER_INC(c->n.nomem);
		return NULL;
	}
	e->version = version;
	e->value_len = value_len;
	e->key_len = key_len;
	e->flags = flags;
	e->superseded = 0;
	e->born_ns = (flags & HS_ENT_TOMBSTONE) ?
		     c->t->p.clock(c->t->p.clock_arg) : 0;
	/* key and value may run into the next line */
	__builtin_prefetch((const uint8_t *)e + HS_CACHE_LINE, 1, 3);
	memcpy(e->data, key, key_len);
	if (value_len != 0)
		memcpy(e->data + key_len, value, value_len);
	return e;
}

/* Remember an installed entry for hs_table_changes(); when the ring is
 * full the oldest is overwritten and counted: rumors are an optimisation,
 * anti-entropy still carries what they miss. */
static inline void
hs_change_note(struct hs_table_ctx *c, const struct hs_ogen *og,
	       uint64_t version)
{
	struct hs_table_change *ch;

	if (c->change_head - c->change_tail == HS_CHANGE_RING) {
		c->change_tail++;
		HS_COUNTER_INC(c->n.changes_lost);
	}
	ch = &c->changes[c->change_head++ & (HS_CHANGE_RING - 1)];
	ch->owner = og->owner;
	ch->generation = og->generation;
	ch->version = version;
}

/*
 * Install (key, version) in og unless the key already holds that version or
 * a newer one.  hash is hs_hash_key(key).  Returns 1 installed, 0 not newer,
 * -ENOSPC key limit, -ENOMEM.  Whatever the key holds when we return is in
 * the change log: a caller about to advance the watermark relies on it.  The
 * caller has already raised og->max_seen to at least version: a delta
 * builder trusts the log window only up to max_seen, so it must never lag
 * an entry.
 */
static int
hs_apply(struct hs_table_ctx *c, struct hs_ogen *og, uint64_t hash,
	 uint64_t version, uint8_t flags, const uint8_t *key, uint8_t key_len,
	 const uint8_t *value, uint16_t value_len)
{
	struct hs_table *t = c->t;
	struct hs_entry *nw = NULL, *cur;
	struct hs_kindex *ki;
	bool counted = false;	/* n_keys taken for an insert */
	uint32_t i, n;
	uint64_t v;
	int rc;

again:
	ki = hs_ki_get(c, og);
	if (hs_unlikely(ki == NULL))
		goto nomem;
	i = (uint32_t)hash & ki->mask;
	for (n = 0; n <= ki->mask;) {
		v = __atomic_load_n(&ki->slot[i], __ATOMIC_ACQUIRE);
		if (hs_unlikely(v & HS_KI_FROZEN)) {
			if (hs_ki_grow(c, og, ki) == NULL)
				goto nomem;
			goto again;
		}
		if (v == 0)
			goto insert;
		if (!hs_ki_live(v) || !hs_ki_tag_eq(v, hash) ||
		    !hs_ki_key_eq(hs_ki_entry(v), key, key_len)) {
			n++;
			i = (i + 1) & ki->mask;
			continue;
		}
		cur = hs_ki_entry(v);
		if (cur->version >= version) {
			/* Someone may have installed it and not yet logged
			 * it: help, before our caller advances W. */
			hs_log_publish(t, og, cur);
			goto not_newer;
		}
		if (nw == NULL) {
			nw = hs_entry_new(c, version, flags, key, key_len,
					  value, value_len);
			if (nw == NULL)
				goto nomem;
		}
		if (!__atomic_compare_exchange_n(&ki->slot[i], &v,
						 hs_ki_make(nw, hash), 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			continue;	/* replaced or frozen: read it again */
		if (counted)
			__atomic_sub_fetch(&og->n_keys, 1, __ATOMIC_RELAXED);
		hs_log_unpublish(og, cur);
		if (cur->flags & HS_ENT_TOMBSTONE)
			__atomic_sub_fetch(&og->n_tombstones, 1,
					   __ATOMIC_RELAXED);
		hs_retire(c, cur);
		goto installed;
	}
	/* Every slot probed and none empty: only collected slots are left. */
	if (hs_ki_grow(c, og, ki) == NULL)
		goto nomem;
	goto again;

insert:
	if (!counted) {
		if (__atomic_add_fetch(&og->n_keys, 1, __ATOMIC_RELAXED) >
		    t->p.max_keys_per_node) {
			__atomic_sub_fetch(&og->n_keys, 1, __ATOMIC_RELAXED);
			HS_COUNTER_INC(c->n.lim_keys);
			if (nw != NULL)
				hs_pool_free(nw);
			return -ENOSPC;
		}
		counted = true;
	}
	/* Keep the load at or below 1/2 so that probes stay short. */
	if (__atomic_load_n(&ki->used, __ATOMIC_RELAXED) >= (ki->mask + 1) / 2) {
		if (hs_ki_grow(c, og, ki) == NULL)
			goto nomem;
		goto again;
	}
	if (nw == NULL) {
		nw = hs_entry_new(c, version, flags, key, key_len, value,
				  value_len);
		if (nw == NULL)
			goto nomem;
	}
	if (!__atomic_compare_exchange_n(&ki->slot[i], &v, hs_ki_make(nw, hash),
					 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		goto again;	/* lost the slot: look at who won it */
	__atomic_add_fetch(&ki->used, 1, __ATOMIC_RELAXED);

installed:
	if (flags & HS_ENT_TOMBSTONE)
		__atomic_add_fetch(&og->n_tombstones, 1, __ATOMIC_RELAXED);
	hs_log_publish(t, og, nw);
	hs_change_note(c, og, version);
	return 1;

not_newer:
	HS_COUNTER_INC(c->n.skipped_dup);
	rc = 0;
	goto undo;
nomem:
	rc = -ENOMEM;
undo:	/* nw was never visible: no grace period needed */
	if (counted)
		__atomic_sub_fetch(&og->n_keys, 1, __ATOMIC_RELAXED);
	if (nw != NULL)
		hs_pool_free(nw);
	return rc;
}

/* ---- merge ---- */

int
hs_table_merge_group(struct hs_table_ctx *c, const struct hs_wire_group *g)
{
	struct hs_table *t = c->t;
	struct hs_wire_iter it;
	struct hs_wire_entry e;
	struct hs_owner *o;
	struct hs_ogen *og;
	uint64_t w, floor;
	bool contiguous, low_floor;
	int rc = 0, applied = 0;

	if (hs_unlikely(g->owner == t->p.self_id)) {
		/* Only we write our keys; echoes of them are old news. */
		HS_COUNTER_ADD(c->n.skipped_known, g->n_entries);
		return 0;
	}
	if (hs_unlikely(g->generation == 0)) {
		/* 0 means "unknown" in digests, never a real generation */
		HS_COUNTER_INC(c->n.stale_gen);
		return -ESTALE;
	}
	o = hs_owner_get(c, g->owner, &rc);
	if (o == NULL)
		return rc;
	og = hs_ogen_for(c, o, g->generation, g->floor, &rc);
	if (og == NULL)
		return rc;
	w = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
	floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
	if ((g->flags & HS_WIRE_GF_RESET) && w < g->floor && floor < g->floor) {
		/* Our state is older than tombstones the sender has already
		 * collected: what we hold may include deleted keys.  Start
		 * over at the sender's floor. */
		og = hs_ogen_reset(c, o, og, g->floor);
		if (og == NULL)
			return -ENOMEM;
		w = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
		floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
	}
	/* A sender whose floor is below ours may still hold keys we know
	 * were deleted and collected: take nothing at or below our floor
	 * from it. */
	low_floor = g->floor < floor;
	contiguous = g->from_version <= w &&
		     (!low_floor || g->from_version >= floor);
	if (g->to_version <= w) {
		/* Every entry lies at or below our watermark (the decoder
		 * checked that each is within (from, to]): all known, and
		 * the watermark stays.  The anti-entropy steady state: one
		 * owner lookup for the group, no walk of its entries. */
		HS_COUNTER_ADD(c->n.skipped_known, g->n_entries);
		return 0;
	}

	/* Entries ascend: the last one is the group's highest version.  One
	 * CAS per group, before anything is installed (see hs_apply). */
	if (g->n_entries != 0) {
		uint64_t top = 0;

		hs_wire_entries_init(&it, g);
		while (hs_wire_entry_next(&it, &e))
			top = e.version;
		if (top > w)
			hs_atomic_max_u64(&og->max_seen, top);
	}
	/*
	 * Batches of up to HS_MERGE_BATCH entries in three passes: hash each
	 * key and prefetch its home slot and its change-log slot; read the
	 * slots and prefetch the entries they point at; then apply in order.
	 * The cache misses of a batch overlap instead of following each other.
	 */
	hs_wire_entries_init(&it, g);
	for (;;) {
		struct hs_merge_item *b = c->batch;
		const struct hs_kindex *ki;
		struct hs_entry **log;
		unsigned n = 0, i;

		while (n < HS_MERGE_BATCH && hs_wire_entry_next(&it, &e)) {
			if (e.version <= w) {
				HS_COUNTER_INC(c->n.skipped_known);
				continue;
			}
			if (low_floor && e.version <= floor) {
				HS_COUNTER_INC(c->n.skipped_floor);
				continue;
			}
			if (hs_unlikely(e.key_len > t->p.max_key_bytes)) {
				HS_COUNTER_INC(c->n.lim_key_bytes);
				continue;
			}
			if (hs_unlikely(e.value_len > t->p.max_value_bytes)) {
				HS_COUNTER_INC(c->n.lim_value_bytes);
				continue;
			}
			b[n].e = e;
			b[n].hash = hs_hash_key(e.key, e.key_len);
			n++;
		}
		if (n == 0)
			break;
		ki = __atomic_load_n(&og->kidx, __ATOMIC_ACQUIRE);
		log = __atomic_load_n(&og->log, __ATOMIC_ACQUIRE);
		if (ki != NULL) {
			for (i = 0; i < n; i++)
				__builtin_prefetch(&ki->slot[b[i].hash &
							     ki->mask]);
			for (i = 0; i < n; i++) {
				uint64_t v = __atomic_load_n(
					&ki->slot[b[i].hash & ki->mask],
					__ATOMIC_RELAXED);

				if (hs_ki_live(v))
					__builtin_prefetch(hs_ki_entry(v));
			}
		}
		if (log != NULL)
			for (i = 0; i < n; i++)
				__builtin_prefetch(&log[b[i].e.version &
							og->log_mask], 1);
		for (i = 0; i < n; i++) {
			int r = hs_apply(c, og, b[i].hash, b[i].e.version,
					 b[i].e.flags & HS_ENT_TOMBSTONE,
					 b[i].e.key, b[i].e.key_len,
					 b[i].e.value, b[i].e.value_len);

			if (r > 0)
				applied++;
			else if (r < 0)
				contiguous = false;	/* keep W: retry later */
		}
	}
	if (contiguous)
		hs_atomic_max_u64(&og->watermark, g->to_version);
	else
		HS_COUNTER_INC(c->n.gaps);
	HS_COUNTER_ADD(c->n.merged, applied);
	return applied;
}

int
hs_table_merge_msg(struct hs_table_ctx *c, const struct hs_wire_msg *m)
{
	struct hs_wire_iter it;
	struct hs_wire_group g;
	int total = 0;

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_DELTAS);
	while (hs_wire_group_next(&it, &g)) {
		int r = hs_table_merge_group(c, &g);

		if (r > 0)
			total += r;
	}
	return total;
}

static bool
hs_noderec_same(const struct hs_noderec *r, const struct hs_wire_node *n)
{
	return r->status == n->status && r->family == n->family &&
	       r->port == n->port && memcmp(r->addr, n->addr, 16) == 0 &&
	       r->name_len == n->name_len &&
	       (n->name_len == 0 ||
		memcmp(r->name, n->name, n->name_len) == 0);
}

static struct hs_noderec *
hs_noderec_new(const struct hs_wire_node *n)
{
	struct hs_noderec *r = malloc(sizeof(*r) + n->name_len);

	if (r == NULL)
		return NULL;
	r->generation = n->generation;
	r->incarnation = n->incarnation;
	r->status = n->status;
	r->family = n->family;
	r->port = n->port;
	memcpy(r->addr, n->addr, 16);
	r->name_len = n->name_len;
	if (n->name_len != 0)	/* a record without a name has name NULL */
		memcpy(r->name, n->name, n->name_len);
	return r;
}

/*
 * Records are ordered by (generation, incarnation, status), statuses
 * ranked alive < suspect < dead < left: SWIM's precedence (a suspicion or
 * death of an incarnation beats that incarnation alive; only the node
 * itself raises its incarnation, to refute) made a total order, so that
 * merges commute.
 */
static int
hs_noderec_cmp(const struct hs_noderec *r, const struct hs_wire_node *n)
{
	if (r->generation != n->generation)
		return r->generation < n->generation ? -1 : 1;
	if (r->incarnation != n->incarnation)
		return r->incarnation < n->incarnation ? -1 : 1;
	return (r->status > n->status) - (r->status < n->status);
}

/* Install n as o's record if it orders above the current one, or equals
 * it and says something different (a node's own address change).
 * Records change rarely, so a plain malloc is fine here. */
static int
hs_noderec_merge(struct hs_owner *o, const struct hs_wire_node *n)
{
	for (;;) {
		struct hs_noderec *cur = rcu_dereference(o->rec);
		struct hs_noderec *nw;

		if (cur != NULL) {
			int d = hs_noderec_cmp(cur, n);

			/* an equal key with other contents is the owner's
			 * own news (a new address or name) */
			if (d > 0 || (d == 0 && hs_noderec_same(cur, n)))
				return 0;
		}
		nw = hs_noderec_new(n);
		if (nw == NULL)
			return -ENOMEM;
		if (rcu_cmpxchg_pointer(&o->rec, cur, nw) == cur) {
			if (cur != NULL)
				urcu_qsbr_call_rcu(&cur->rcu,
						   hs_noderec_free_cb);
			return 1;
		}
		free(nw);
	}
}

int
hs_table_merge_node(struct hs_table_ctx *c, const struct hs_wire_node *n)
{
	struct hs_owner *o;
	struct hs_ogen *og;
	int rc = 0;

	if (n->node == c->t->p.self_id)
		return 0;
	if (n->generation == 0) {
		HS_COUNTER_INC(c->n.stale_gen);
		return -ESTALE;
	}
	o = hs_owner_get(c, n->node, &rc);
	if (o == NULL)
		return rc;
	og = hs_ogen_for(c, o, n->generation, 0, &rc);
	if (og == NULL)
		return rc;
	rc = hs_noderec_merge(o, n);
	if (rc < 0) {
		HS_COUNTER_INC(c->n.nomem);
		return rc;
	}
	return rc;
}

int
hs_table_merge_heartbeat(struct hs_table_ctx *c, uint64_t owner,
			 uint64_t generation, uint64_t heartbeat)
{
	struct hs_owner *o;
	struct hs_ogen *og;
	uint64_t before;

	if (owner == c->t->p.self_id)
		return 0;
	o = hs_owner_find(c->t, owner);
	og = o != NULL ? rcu_dereference(o->ogen) : NULL;
	if (og == NULL || og->forgotten || og->generation != generation)
		return 0;
	before = __atomic_load_n(&og->heartbeat, __ATOMIC_ACQUIRE);
	if (heartbeat <= before)
		return 0;
	return hs_atomic_max_u64(&og->heartbeat, heartbeat) > before;
}

int
hs_table_forget(struct hs_table_ctx *c, uint64_t owner, uint64_t generation)
{
	struct hs_table *t = c->t;
	struct hs_owner *o;

	if (owner == t->p.self_id || generation == 0)
		return -EINVAL;
	o = hs_owner_find(t, owner);
	if (o == NULL)
		return -ENOENT;
	for (;;) {
		struct hs_ogen *og = rcu_dereference(o->ogen);
		struct hs_ogen *nw;

		/* a newer generation is alive news, not ours to forget; an
		 * equal or newer grave already keeps this one out */
		if (og != NULL && (og->generation > generation ||
				   (og->forgotten &&
				    og->generation == generation)))
			return 0;
		nw = hs_ogen_new(t, owner, generation, 0);
		if (nw == NULL) {
			HS_COUNTER_INC(c->n.nomem);
			return -ENOMEM;
		}
		nw->forgotten = true;
		if (rcu_cmpxchg_pointer(&o->ogen, og, nw) == og) {
			if (og == NULL || !og->forgotten)
				__atomic_add_fetch(&t->n_graves, 1,
						   __ATOMIC_RELAXED);
			if (og != NULL)
				hs_ogen_bury(t, og);
			return 1;
		}
		hs_ogen_free_unpublished(nw);
	}
}

/* ---- local writes ---- */

static int64_t
hs_local_write(struct hs_table_ctx *c, uint8_t flags, const void *key,
	       size_t key_len, const void *value, size_t value_len)
{
	struct hs_table *t = c->t;
	struct hs_ogen *og = rcu_dereference(t->self->ogen);
	uint64_t v = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE) + 1;
	int r;

	hs_atomic_max_u64(&og->max_seen, v);
	r = hs_apply(c, og, hs_hash_key(key, key_len), v, flags, key,
		     (uint8_t)key_len, value, (uint16_t)value_len);
	if (r < 0)
		return r;
	/* Single local writer: nobody else moves our own watermark. */
	__atomic_store_n(&og->watermark, v, __ATOMIC_RELEASE);
	HS_COUNTER_INC(c->n.local_writes);
	return (int64_t)v;
}

static int
hs_check_kv(struct hs_table_ctx *c, size_t key_len, size_t value_len)
{
	if (key_len == 0)
		return -EINVAL;
	if (key_len > c->t->p.max_key_bytes) {
		HS_COUNTER_INC(c->n.lim_key_bytes);
		return -EMSGSIZE;
	}
	if (value_len > c->t->p.max_value_bytes) {
		HS_COUNTER_INC(c->n.lim_value_bytes);
		return -EMSGSIZE;
	}
	return 0;
}

int64_t
hs_table_put(struct hs_table_ctx *c, const void *key, size_t key_len,
	     const void *value, size_t value_len)
{
	int r = hs_check_kv(c, key_len, value_len);

	if (r < 0)
		return r;
	return hs_local_write(c, 0, key, key_len, value, value_len);
}

int64_t
hs_table_delete(struct hs_table_ctx *c, const void *key, size_t key_len)
{
	struct hs_table_kv kv;
	int r = hs_check_kv(c, key_len, 0);

	if (r < 0)
		return r;
	if (hs_table_get(c, c->t->p.self_id, key, key_len, &kv) != 0 ||
	    kv.tombstone)
		return -ENOENT;
	return hs_local_write(c, HS_ENT_TOMBSTONE, key, key_len, NULL, 0);
}

uint64_t
hs_table_heartbeat(struct hs_table_ctx *c)
{
	struct hs_ogen *og = rcu_dereference(c->t->self->ogen);

	return __atomic_add_fetch(&og->heartbeat, 1, __ATOMIC_RELEASE);
}

int
hs_table_set_self(struct hs_table_ctx *c, const struct hs_wire_node *n)
{
	struct hs_table *t = c->t;
	struct hs_ogen *og = rcu_dereference(t->self->ogen);
	struct hs_wire_node me = *n;
	int r;

	me.node = t->p.self_id;
	me.generation = og->generation;
	r = hs_noderec_merge(t->self, &me);
	return r < 0 ? r : 0;
}

/* ---- reads ---- */

int
hs_table_get(struct hs_table_ctx *c, uint64_t owner, const void *key,
	     size_t key_len, struct hs_table_kv *kv)
{
	struct hs_owner *o = hs_owner_find(c->t, owner);
	const struct hs_kindex *ki;
	struct hs_ogen *og;
	uint64_t v;

	if (o == NULL || key_len == 0 || key_len > HS_WIRE_KEY_MAX)
		return -ENOENT;
	og = rcu_dereference(o->ogen);
	if (og == NULL)
		return -ENOENT;
	ki = __atomic_load_n(&og->kidx, __ATOMIC_ACQUIRE);
	if (ki == NULL)
		return -ENOENT;
	v = hs_ki_lookup(ki, hs_hash_key(key, key_len), key, key_len);
	if (v == 0)
		return -ENOENT;
	hs_kv_fill(kv, owner, og, hs_ki_entry(v));
	return 0;
}

int
hs_table_node_get(struct hs_table_ctx *c, uint64_t owner,
		  struct hs_table_node *n)
{
	struct hs_owner *o = hs_owner_find(c->t, owner);
	struct hs_noderec *r;
	struct hs_ogen *og;

	if (o == NULL)
		return -ENOENT;
	og = rcu_dereference(o->ogen);
	if (og == NULL || og->forgotten)
		return -ENOENT;
	memset(n, 0, sizeof(*n));
	n->id = owner;
	n->generation = og->generation;
	n->heartbeat = __atomic_load_n(&og->heartbeat, __ATOMIC_ACQUIRE);
	n->max_version = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
	n->floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
	n->n_keys = __atomic_load_n(&og->n_keys, __ATOMIC_RELAXED);
	r = rcu_dereference(o->rec);
	if (r != NULL && r->generation == og->generation) {
		n->incarnation = r->incarnation;
		n->status = r->status;
		n->family = r->family;
		n->port = r->port;
		memcpy(n->addr, r->addr, 16);
		n->name_len = r->name_len;
		n->name = r->name;
	}
	return 0;
}

static int
hs_foreach_owner(struct hs_owner *o, hs_table_kv_cb cb, void *arg)
{
	struct hs_ogen *og = rcu_dereference(o->ogen);
	const struct hs_kindex *ki;
	struct hs_table_kv kv;
	uint32_t i;
	int r;

	if (og == NULL)
		return 0;
	ki = __atomic_load_n(&og->kidx, __ATOMIC_ACQUIRE);
	if (ki == NULL)
		return 0;
	for (i = 0; i <= ki->mask; i++) {
		uint64_t v = __atomic_load_n(&ki->slot[i], __ATOMIC_ACQUIRE);

		if (!hs_ki_live(v))
			continue;
		hs_kv_fill(&kv, o->id, og, hs_ki_entry(v));
		r = cb(&kv, arg);
		if (r != 0)
			return r;
	}
	return 0;
}

int
hs_table_foreach(struct hs_table_ctx *c, uint64_t owner, hs_table_kv_cb cb,
		 void *arg)
{
	struct cds_lfht_node *hn;
	struct cds_lfht_iter it;
	struct hs_owner *o;
	int r;

	if (owner != 0) {
		o = hs_owner_find(c->t, owner);
		return o != NULL ? hs_foreach_owner(o, cb, arg) : 0;
	}
	cds_lfht_for_each(c->t->owners, &it, hn) {
		o = caa_container_of(hn, struct hs_owner, lfht);
		r = hs_foreach_owner(o, cb, arg);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- digests ---- */

static void
hs_digest_fill(struct hs_wire_digest *d, uint64_t id, struct hs_ogen *og)
{
	d->node = id;
	d->generation = og->generation;
	d->heartbeat = __atomic_load_n(&og->heartbeat, __ATOMIC_ACQUIRE);
	d->max_version = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
	d->floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
}

int
hs_table_digest(struct hs_table_ctx *c, uint64_t owner,
		struct hs_wire_digest *d)
{
	struct hs_owner *o = hs_owner_find(c->t, owner);
	struct hs_ogen *og;

	if (o == NULL)
		return -ENOENT;
	og = rcu_dereference(o->ogen);
	if (og == NULL || og->forgotten)
		return -ENOENT;
	hs_digest_fill(d, owner, og);
	return 0;
}

/*
 * A walk of every owner in chunks must cost O(owners), not O(owners^2 /
 * chunk): the context keeps the iterator where the last call stopped and
 * goes on from there when called with that cursor.  That is safe across
 * calls because owners are never removed in this version (their memory
 * lives until hs_table_destroy); forgetting members will have to
 * invalidate it.
 */
int
hs_table_digests(struct hs_table_ctx *c, uint64_t *cursor,
		 struct hs_wire_digest *out, unsigned max)
{
	struct cds_lfht_node *hn;
	struct cds_lfht_iter it;
	uint64_t pos = 0;
	unsigned n = 0;

	if (*cursor != 0 && c->dig_live && c->dig_pos == *cursor) {
		it = c->dig_it;
		pos = *cursor;
	} else {
		cds_lfht_first(c->t->owners, &it);
		for (; pos < *cursor && cds_lfht_iter_get_node(&it) != NULL;
		     pos++)
			cds_lfht_next(c->t->owners, &it);
	}
	while (n < max && (hn = cds_lfht_iter_get_node(&it)) != NULL) {
		struct hs_owner *o = caa_container_of(hn, struct hs_owner,
						      lfht);
		struct hs_ogen *og = rcu_dereference(o->ogen);

		if (og != NULL && !og->forgotten)
			hs_digest_fill(&out[n++], o->id, og);
		cds_lfht_next(c->t->owners, &it);
		pos++;
	}
	/* the cursor counts owners passed, so that a restart skips as many */
	*cursor = pos;
	c->dig_it = it;
	c->dig_pos = pos;
	c->dig_live = cds_lfht_iter_get_node(&it) != NULL;
	return (int)n;
}

unsigned
hs_table_digests_differ(struct hs_table_ctx *c,
			const struct hs_wire_digest *theirs, unsigned n,
			struct hs_wire_digest *out, unsigned *known)
{
	unsigned i, k = 0, held = 0;

	for (i = 0; i < n; i++) {
		struct hs_wire_digest d = theirs[i];
		struct hs_owner *o = hs_owner_find(c->t, d.node);
		struct hs_ogen *og = o != NULL ? rcu_dereference(o->ogen) : NULL;

		if (og != NULL && !og->forgotten) {
			held++;
			if (d.generation == og->generation &&
			    d.max_version == __atomic_load_n(&og->watermark,
							     __ATOMIC_ACQUIRE) &&
			    d.floor == __atomic_load_n(&og->floor,
						       __ATOMIC_ACQUIRE))
				continue;
		}
		out[k++] = d;
	}
	if (known != NULL)
		*known = held;
	return k;
}

int
hs_table_wants(struct hs_table_ctx *c, const struct hs_wire_digest *theirs,
	       unsigned n, struct hs_wire_digest *want, unsigned max)
{
	unsigned i, k = 0;

	for (i = 0; i < n && k < max; i++) {
		const struct hs_wire_digest *d = &theirs[i];
		struct hs_owner *o;
		struct hs_ogen *og;

		if (d->node == c->t->p.self_id || d->generation == 0)
			continue;
		o = hs_owner_find(c->t, d->node);
		og = o != NULL ? rcu_dereference(o->ogen) : NULL;
		if (og != NULL && og->forgotten) {
			/* a restart of a forgotten node is news; its old
			 * self is kept out */
			if (d->generation > og->generation)
				want[k++] = (struct hs_wire_digest){
					.node = d->node };
			continue;
		}
		if (og == NULL) {
			want[k++] = (struct hs_wire_digest){ .node = d->node };
			continue;
		}
		if (d->generation > og->generation ||
		    (d->generation == og->generation &&
		     d->max_version > __atomic_load_n(&og->watermark,
						      __ATOMIC_ACQUIRE)))
			hs_digest_fill(&want[k++], d->node, og);
	}
	return (int)k;
}

/* ---- delta build ---- */

static int
hs_cmp_version(const void *a, const void *b)
{
	const struct hs_entry *x = *(const struct hs_entry *const *)a;
	const struct hs_entry *y = *(const struct hs_entry *const *)b;

	return x->version < y->version ? -1 : x->version > y->version;
}

static int
hs_put(struct hs_wire_builder *b, const struct hs_entry *e)
{
	return hs_wire_put_entry(b, e->version,
				 (e->flags & HS_ENT_TOMBSTONE) ?
				 HS_WIRE_EF_TOMBSTONE : 0,
				 e->data, e->key_len, e->data + e->key_len,
				 e->value_len);
}

/*
 * One owner's group: versions (from, w] in order.  Returns entries written
 * (>= 0), -EMSGSIZE if not even the group header fitted, -EINVAL.
 */
static int
hs_delta_owner(struct hs_table_ctx *c, uint64_t owner, struct hs_ogen *og,
	       uint64_t from, bool reset, struct hs_wire_builder *b)
{
	uint64_t w = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
	uint64_t hi = __atomic_load_n(&og->max_seen, __ATOMIC_ACQUIRE);
	uint64_t floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
	struct hs_entry **log = __atomic_load_n(&og->log, __ATOMIC_ACQUIRE);
	uint64_t to = w, v;
	int n = 0, r;

	if (hi < w)
		hi = w;
	r = hs_wire_group_begin(b, owner, og->generation, from, floor,
				reset ? HS_WIRE_GF_RESET : 0);
	if (r < 0)
		return r;
	if (log != NULL && hi - from <= og->log_mask) {
		/* Every version in (from, hi] has its own slot. */
		for (v = from + 1; v <= w; v++) {
			struct hs_entry *e = __atomic_load_n(
				&log[v & og->log_mask], __ATOMIC_ACQUIRE);

			if (e == NULL || e->version != v ||
			    hs_entry_superseded(e))
				continue;
			r = hs_put(b, e);
			if (r == -EMSGSIZE) {
				to = v - 1;
				break;
			}
			if (r < 0)
				return r;
			n++;
		}
	} else {
		/* Far behind (or no log): scan this owner's keys.  Bounded
		 * by max_keys_per_node, and only for a peer that missed more
		 * than log_slots versions. */
		const struct hs_kindex *ki = __atomic_load_n(&og->kidx,
							     __ATOMIC_ACQUIRE);
		unsigned k = 0, i;
		uint32_t s;

		HS_COUNTER_INC(c->n.log_fallbacks);
		for (s = 0; ki != NULL && s <= ki->mask; s++) {
			uint64_t sv = __atomic_load_n(&ki->slot[s],
						      __ATOMIC_ACQUIRE);
			struct hs_entry *e = hs_ki_entry(sv);

			if (hs_ki_live(sv) && e->version > from &&
			    e->version <= w && k < c->scratch_cap)
				c->scratch[k++] = e;
		}
		qsort(c->scratch, k, sizeof(*c->scratch), hs_cmp_version);
		for (i = 0; i < k; i++) {
			r = hs_put(b, c->scratch[i]);
			if (r == -EMSGSIZE) {
				to = c->scratch[i]->version - 1;
				break;
			}
			if (r < 0)
				return r;
			n++;
		}
	}
	if (to <= from && !reset) {
		hs_wire_group_cancel(b);
		return 0;
	}
	r = hs_wire_group_end(b, to);
	return r < 0 ? r : n;
}

static int
hs_cmp_stale(const void *a, const void *b)
{
	const struct hs_delta_order *x = a, *y = b;

	return x->stale > y->stale ? -1 : x->stale < y->stale;
}

int
hs_table_build_deltas(struct hs_table_ctx *c,
		      const struct hs_wire_digest *theirs, unsigned n,
		      struct hs_wire_builder *b)
{
	struct hs_table *t = c->t;
	unsigned i, k = 0;
	int r, total = 0;

	if (n > HS_DELTA_MAX_OWNERS)
		n = HS_DELTA_MAX_OWNERS;
	for (i = 0; i < n; i++) {
		const struct hs_wire_digest *d = &theirs[i];
		struct hs_delta_order *x = &c->order[k];
		struct hs_owner *o = hs_owner_find(t, d->node);
		struct hs_ogen *og = o != NULL ? rcu_dereference(o->ogen) : NULL;
		uint64_t w, floor;

		if (og == NULL || og->forgotten || d->generation > og->generation)
			continue;
		w = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
		floor = __atomic_load_n(&og->floor, __ATOMIC_ACQUIRE);
		x->og = og;
		x->owner = d->node;
		x->reset = false;
		if (d->generation < og->generation) {
			x->from = 0;
		} else if (d->floor < floor && d->max_version < floor) {
			x->from = 0;
			x->reset = true;
		} else {
			x->from = d->max_version;
		}
		if (w <= x->from && !x->reset)
			continue;
		x->stale = w - x->from;
		k++;
	}
	if (k == 0)
		return 0;
	qsort(c->order, k, sizeof(c->order[0]), hs_cmp_stale);
	r = hs_wire_section_begin(b, HS_WIRE_SEC_DELTAS);
	if (r == -EMSGSIZE)
		return 0;
	if (r < 0)
		return r;
	for (i = 0; i < k; i++) {
		r = hs_delta_owner(c, c->order[i].owner, c->order[i].og,
				   c->order[i].from, c->order[i].reset, b);
		if (r == -EMSGSIZE)
			break;
		if (r < 0)
			return r;
		total += r;
	}
	r = hs_wire_section_end(b);
	return r < 0 ? r : total;
}

/* ---- rumors ---- */

unsigned
hs_table_changes(struct hs_table_ctx *c, struct hs_table_change *out,
		 unsigned max)
{
	unsigned n = 0;

	while (n < max && c->change_tail != c->change_head)
		out[n++] = c->changes[c->change_tail++ &
				      (HS_CHANGE_RING - 1)];
	return n;
}

/* The entry a change installed, if it is still the current one. */
static struct hs_entry *
hs_change_entry(struct hs_table_ctx *c, const struct hs_table_change *ch,
		struct hs_ogen **ogp)
{
	struct hs_owner *o = hs_owner_find(c->t, ch->owner);
	struct hs_ogen *og = o != NULL ? rcu_dereference(o->ogen) : NULL;
	struct hs_entry **log;
	struct hs_entry *e;

	if (og == NULL || og->generation != ch->generation)
		return NULL;
	log = __atomic_load_n(&og->log, __ATOMIC_ACQUIRE);
	if (log == NULL)
		return NULL;
	e = __atomic_load_n(&log[ch->version & og->log_mask], __ATOMIC_ACQUIRE);
	if (e == NULL || e->version != ch->version || hs_entry_superseded(e))
		return NULL;	/* replaced since */
	*ogp = og;
	return e;
}

int
hs_table_change_get(struct hs_table_ctx *c, const struct hs_table_change *ch,
		    struct hs_table_kv *kv)
{
	struct hs_ogen *og;
	struct hs_entry *e = hs_change_entry(c, ch, &og);

	if (e == NULL)
		return -ENOENT;
	hs_kv_fill(kv, ch->owner, og, e);
	return 0;
}

int
hs_table_put_entry(struct hs_table_ctx *c, const struct hs_table_change *ch,
		   size_t max_value, struct hs_wire_builder *b)
{
	struct hs_ogen *og;
	struct hs_entry *e = hs_change_entry(c, ch, &og);
	int r;

	if (e == NULL)
		return 0;	/* replaced since: the newer one is a rumor */
	if (e->value_len > max_value)
		return 0;
	/* (v - 1, v]: exactly one version, so the group is truthful whatever
	 * else the owner wrote; a receiver at v - 1 advances to v */
	r = hs_wire_group_begin(b, ch->owner, ch->generation, ch->version - 1,
				__atomic_load_n(&og->floor, __ATOMIC_ACQUIRE),
				0);
	if (r < 0)
		return r;
	r = hs_put(b, e);
	if (r < 0) {
		hs_wire_group_cancel(b);
		return r;
	}
	r = hs_wire_group_end(b, ch->version);
	return r < 0 ? r : 1;
}

/* ---- garbage collection ---- */

static unsigned
hs_gc_tombstones(struct hs_table_ctx *c, struct hs_ogen *og, uint64_t now)
{
	uint64_t w = __atomic_load_n(&og->watermark, __ATOMIC_ACQUIRE);
	uint64_t ttl = c->t->p.tombstone_ttl_ns;
	struct hs_kindex *ki;
	unsigned n = 0;
	uint32_t i;

	if (__atomic_load_n(&og->n_tombstones, __ATOMIC_RELAXED) == 0)
		return 0;
again:
	ki = __atomic_load_n(&og->kidx, __ATOMIC_ACQUIRE);
	for (i = 0; ki != NULL && i <= ki->mask; i++) {
		uint64_t v = __atomic_load_n(&ki->slot[i], __ATOMIC_ACQUIRE);
		struct hs_entry *e = hs_ki_entry(v);

		if (v & HS_KI_FROZEN) {
			if (hs_ki_grow(c, og, ki) == NULL)
				return n;
			goto again;
		}
		if (!hs_ki_live(v) || !(e->flags & HS_ENT_TOMBSTONE) ||
		    now - e->born_ns < ttl)
			continue;
		/* Above W a stale value between W and the tombstone could
		 * still arrive and would no longer be refused. */
		if (e->version > w)
			continue;
		/* Raise the floor first: from now on, a peer that has not
		 * reached this version gets a reset, not a gap. */
		hs_atomic_max_u64(&og->floor, e->version);
		if (!__atomic_compare_exchange_n(&ki->slot[i], &v, HS_KI_DELETED,
						 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			goto again;	/* replaced or frozen under us */
		}
		hs_log_unpublish(og, e);
		__atomic_sub_fetch(&og->n_keys, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&og->n_tombstones, 1, __ATOMIC_RELAXED);
		hs_retire(c, e);
		n++;
	}
	return n;
}

int
hs_table_gc(struct hs_table_ctx *c)
{
	struct cds_lfht_node *hn;
	struct hs_table *t = c->t;
	uint64_t now = t->p.clock(t->p.clock_arg);
	struct cds_lfht_iter it;
	struct hs_owner *o;
	unsigned n = 0;

	cds_lfht_for_each(t->owners, &it, hn) {
		o = caa_container_of(hn, struct hs_owner, lfht);
		struct hs_ogen *og = rcu_dereference(o->ogen);

		if (og != NULL)
			n += hs_gc_tombstones(c, og, now);
	}
	HS_COUNTER_ADD(c->n.tombstones_collected, n);
	hs_table_ctx_flush(c);
	return (int)n;
}

/* ---- stats ---- */

_Static_assert(sizeof(struct hs_table_stats) % sizeof(uint64_t) == 0,
	       "hs_table_stats is summed as an array of uint64_t");

uint64_t
hs_table_changes_lost(const struct hs_table_ctx *c)
{
	return HS_COUNTER_READ(c->n.changes_lost);
}

void
hs_table_stats(struct hs_table *t, struct hs_table_stats *s)
{
	struct cds_lfht_node *hn;
	struct cds_lfht_iter it;
	struct hs_owner *o;
	uint64_t *sum = (uint64_t *)s;
	unsigned i, k;

	/* Every field is a uint64_t counter: sum them as an array. */
	memset(s, 0, sizeof(*s));
	for (i = 0; i < t->p.n_ctx; i++) {
		uint64_t *n = (uint64_t *)&t->ctx[i].n;

		for (k = 0; k < sizeof(*s) / sizeof(uint64_t); k++)
			sum[k] += HS_COUNTER_READ(n[k]);
	}
	s->owners = __atomic_load_n(&t->n_owners, __ATOMIC_RELAXED);
	{
		struct hs_pool_stats ps;

		hs_pool_stats(t->pool, &ps);
		s->pool_bytes = ps.slab_bytes;
	}
	s->keys = 0;
	cds_lfht_for_each(t->owners, &it, hn) {
		struct hs_ogen *og;

		o = caa_container_of(hn, struct hs_owner, lfht);
		og = rcu_dereference(o->ogen);
		if (og != NULL)
			s->keys += __atomic_load_n(&og->n_keys,
						   __ATOMIC_RELAXED);
	}
}

uint64_t
hs_table_owners(const struct hs_table *t)
{
	return __atomic_load_n(&t->n_owners, __ATOMIC_RELAXED) -
	       __atomic_load_n(&t->n_graves, __ATOMIC_RELAXED);
}

/* ---- life cycle ---- */

void
hs_table_params_default(struct hs_table_params *p)
{
	if (p->max_members == 0)
		p->max_members = 4096;
	if (p->max_keys_per_node == 0)
		p->max_keys_per_node = 1024;
	if (p->max_key_bytes == 0)
		p->max_key_bytes = 128;
	if (p->max_value_bytes == 0)
		p->max_value_bytes = 1024;
	if (p->log_slots == 0)
		p->log_slots = 1024;
	if (p->n_ctx == 0)
		p->n_ctx = 1;
	if (p->tombstone_ttl_ns == 0)
		p->tombstone_ttl_ns = 60ull * 1000000000ull;
	if (p->clock == NULL)
		p->clock = hs_clock_monotonic;
}

int
hs_table_create(const struct hs_table_params *params, struct hs_table **out)
{
	struct hs_pool_params pp;
	struct hs_table *t;
	struct hs_ogen *og;
	unsigned i;
	int rc;

	if (params == NULL || out == NULL || params->self_id == 0 ||
	    params->self_generation == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->p = *params;
	hs_table_params_default(&t->p);
	if (t->p.max_key_bytes > HS_WIRE_KEY_MAX ||
	    t->p.max_value_bytes > 8192 || t->p.n_ctx > 256 ||
	    (t->p.log_slots & (t->p.log_slots - 1)) != 0 ||
	    t->p.max_members < 1) {
		rc = -EINVAL;
		goto err_t;
	}
	pp.n_caches = t->p.n_ctx;
	pp.max_obj_bytes = sizeof(struct hs_entry) + t->p.max_key_bytes +
			   t->p.max_value_bytes;
	if (pp.max_obj_bytes < sizeof(struct hs_retire_batch))
		pp.max_obj_bytes = sizeof(struct hs_retire_batch);
	rc = hs_pool_create(&pp, &t->pool);
	if (rc < 0)
		goto err_t;
	rc = -ENOMEM;
	if (posix_memalign((void **)&t->ctx, HS_CACHE_LINE,
			   sizeof(*t->ctx) * t->p.n_ctx) != 0)
		goto err_pool;
	memset(t->ctx, 0, sizeof(*t->ctx) * t->p.n_ctx);
	for (i = 0; i < t->p.n_ctx; i++) {
		struct hs_table_ctx *c = &t->ctx[i];

		c->t = t;
		c->pool = hs_pool_cache_get(t->pool, i);
		c->scratch_cap = t->p.max_keys_per_node + 64;
		c->scratch = calloc(c->scratch_cap, sizeof(*c->scratch));
		if (c->scratch == NULL)
			goto err_ctx;
	}
	t->owners = cds_lfht_new_flavor(64, 64, 0,
					CDS_LFHT_AUTO_RESIZE |
					CDS_LFHT_ACCOUNTING,
					&urcu_qsbr_flavor, NULL);
	if (t->owners == NULL)
		goto err_ctx;
	/* Created here, on the control thread and unpinned, so that the
	 * thread that frees replaced entries never runs on a worker core. */
	t->crdp = t->p.crdp;
	if (t->crdp == NULL) {
		t->crdp = urcu_qsbr_create_call_rcu_data(0, -1);
		t->own_crdp = true;
	}
	if (t->crdp == NULL)
		goto err_owners;
	t->self = calloc(1, sizeof(*t->self));
	og = hs_ogen_new(t, t->p.self_id, t->p.self_generation, 0);
	if (t->self == NULL || og == NULL) {
		free(og);
		goto err_crdp;
	}
	t->self->id = t->p.self_id;
	t->self->ogen = og;
	cds_lfht_node_init(&t->self->lfht);
	cds_lfht_add(t->owners, hs_hash_id(t->p.self_id), &t->self->lfht);
	t->n_owners = 1;
	HS_LOG(INFO, "engine.table",
	       "table for node %016llx gen %llu: %u members, %u keys/node, "
	       "%u contexts", (unsigned long long)t->p.self_id,
	       (unsigned long long)t->p.self_generation, t->p.max_members,
	       t->p.max_keys_per_node, t->p.n_ctx);
	*out = t;
	return 0;

err_crdp:
	free(t->self);
	if (t->own_crdp)
		urcu_qsbr_call_rcu_data_free(t->crdp);
err_owners:
	cds_lfht_destroy(t->owners, NULL);
err_ctx:
	for (i = 0; i < t->p.n_ctx; i++)
		free(t->ctx[i].scratch);
	free(t->ctx);
err_pool:
	hs_pool_destroy(t->pool);
err_t:
	free(t);
	return rc;
}

int
hs_table_ctx_attach(struct hs_table *t, unsigned idx,
		    struct hs_table_ctx **out)
{
	struct hs_table_ctx *c;
	int expect = 0;

	if (t == NULL || out == NULL || idx >= t->p.n_ctx)
		return -EINVAL;
	c = &t->ctx[idx];
	if (!__atomic_compare_exchange_n(&c->bound, &expect, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	urcu_qsbr_set_thread_call_rcu_data(t->crdp);
	*out = c;
	return 0;
}

void
hs_table_ctx_detach(struct hs_table_ctx *c)
{
	hs_table_ctx_flush(c);
	/* A shared call_rcu thread stays the thread's: other tables' contexts
	 * on this thread (the simulator's nodes) still queue on it, and
	 * their frees must stay ordered with this table's last one.  Only
	 * our own thread, about to be freed, is taken back. */
	if (c->t->own_crdp &&
	    urcu_qsbr_get_thread_call_rcu_data() == c->t->crdp)
		urcu_qsbr_set_thread_call_rcu_data(NULL);
	__atomic_store_n(&c->bound, 0, __ATOMIC_RELEASE);
}

/* Runs on a shared call_rcu thread after every callback queued before it
 * (one thread runs its queue in order), so after every retire batch that
 * returns entries into this table's pool. */
static void
hs_table_free_cb(struct rcu_head *head)
{
	struct hs_table *t = caa_container_of(head, struct hs_table,
					      destroy_rcu);

	free(t->ctx);
	hs_pool_destroy(t->pool);
	free(t);
}

void
hs_table_destroy(struct hs_table *t)
{
	struct cds_lfht_node *hn;
	struct cds_lfht_iter it;
	struct hs_owner *o, **dead;
	uint32_t n_dead, k, leaked = 0;
	bool online;
	unsigned i;

	if (t == NULL)
		return;
	online = urcu_qsbr_read_ongoing();
	if (!online)
		urcu_qsbr_thread_online();
	/* Wait for every retire batch and record already handed over; with
	 * a shared call_rcu thread the last free is queued behind them
	 * instead (a barrier per table cost 11 ms, 11 s for 1000 nodes). */
	if (t->own_crdp) {
		urcu_qsbr_thread_offline();
		urcu_qsbr_barrier();
		urcu_qsbr_thread_online();
	}
	/*
	 * The hash table's own worker thread may still be resizing it (a
	 * table that just grew past thousands of owners) and walking its
	 * nodes: an owner is unlinked now but freed only after
	 * cds_lfht_destroy() has waited for that worker.  Freeing at once
	 * crashed the worker about once in ten 10,000-member test runs.
	 */
	n_dead = __atomic_load_n(&t->n_owners, __ATOMIC_RELAXED);
	dead = calloc(n_dead + 1, sizeof(*dead));
	k = 0;
	cds_lfht_for_each(t->owners, &it, hn) {
		o = caa_container_of(hn, struct hs_owner, lfht);
		cds_lfht_del(t->owners, &o->lfht);
		if (o->ogen != NULL)
			hs_ogen_reclaim(o->ogen);
		free(o->rec);
		if (dead != NULL && k < n_dead)
			dead[k++] = o;
		else
			leaked++;	/* cannot free it safely: keep it */
	}
	for (i = 0; i < t->p.n_ctx; i++)
		free(t->ctx[i].scratch);
	urcu_qsbr_thread_offline();
	cds_lfht_destroy(t->owners, NULL);
	while (k > 0)
		free(dead[--k]);
	free(dead);
	if (leaked != 0)
		HS_LOG(WARNING, "table", "destroy: no memory to free %u "
		       "owners safely; left allocated", leaked);
	if (t->own_crdp) {
		urcu_qsbr_call_rcu_data_free(t->crdp);
		free(t->ctx);
		hs_pool_destroy(t->pool);
		free(t);
	} else {
		struct call_rcu_data *prev =
			urcu_qsbr_get_thread_call_rcu_data();

		urcu_qsbr_thread_online();
		urcu_qsbr_set_thread_call_rcu_data(t->crdp);
		urcu_qsbr_call_rcu(&t->destroy_rcu, hs_table_free_cb);
		urcu_qsbr_set_thread_call_rcu_data(prev);
		urcu_qsbr_thread_offline();
	}
	if (online)
		urcu_qsbr_thread_online();
}
