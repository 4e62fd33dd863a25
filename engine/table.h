/*
 * hearsay state table: every owner's versioned key/value state and node
 * record, replicated Scuttlebutt-style, lock-free for readers and writers.
 *
 * Shape (docs/TABLE.md has the long form):
 *   owners   cds_lfht (QSBR) keyed by node id -> struct hs_owner
 *   owner    -> current generation state (swapped whole when a higher
 *               generation appears, so a restart supersedes all old state in
 *               one pointer exchange) and an immutable node record
 *   ogen     per-owner-generation: watermark (every version <= it is known),
 *               tombstone-GC floor, a lock-free index of keys -> immutable entries,
 *               and a change log indexed by version for O(difference) deltas
 *
 * Merge rule: for (owner, key) the higher (generation, version) wins.  A
 * frame's delta group costs one owner lookup; entries at or below the
 * owner's watermark are skipped without touching the key table.  Racing
 * merges resolve by compare-and-swap; the higher version always ends in the
 * table.  Replaced entries go to the call_rcu thread that hs_table_create()
 * made (never a worker core), in batches.
 *
 * Threads: each thread that touches the table holds its own context
 * (struct hs_table_ctx: counters, allocator cache, retire batch, scratch),
 * must be a registered liburcu QSBR reader, and must be online during every
 * call below unless the call says otherwise.  Pointers returned by reads
 * stay valid until the caller's next quiescent state.
 */
#ifndef HS_TABLE_H
#define HS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_table;
struct hs_table_ctx;
struct call_rcu_data;	/* liburcu */

typedef uint64_t (*hs_clock_fn)(void *arg);

struct hs_table_params {
	uint64_t self_id;		/* nonzero */
	uint64_t self_generation;	/* >= 1, grows on every restart (0
					 * means "unknown" on the wire) */
	uint32_t max_members;		/* owners held; default 4096.  At
					 * the very limit, threads adding the
					 * last owner at once may have one
					 * refuse it (counted, repaired by a
					 * later frame): budget one spare
					 * per merging thread */
	uint32_t max_keys_per_node;	/* keys + tombstones; default 1024 */
	uint16_t max_key_bytes;		/* 1..255; default 128 */
	uint32_t max_value_bytes;	/* default 1024, at most 8192 */
	uint32_t log_slots;		/* change-log window per owner, power
					 * of two; default 1024 */
	unsigned n_ctx;			/* thread contexts; default 1 */
	uint64_t tombstone_ttl_ns;	/* default 60 s */
	hs_clock_fn clock;		/* default CLOCK_MONOTONIC */
	void *clock_arg;
	/* The call_rcu thread that frees replaced entries.  NULL: the table
	 * creates its own.  Many tables in one process (the simulator) share
	 * one, created by the caller with urcu_qsbr_create_call_rcu_data()
	 * and freed after the last of them. */
	struct call_rcu_data *crdp;
};

/* Every field is a uint64_t counter (the table sums them as an array). */
struct hs_table_stats {
	uint64_t owners;
	uint64_t keys;
	uint64_t merged;		/* entries installed from deltas */
	uint64_t local_writes;
	uint64_t skipped_known;		/* at or below the watermark */
	uint64_t skipped_dup;		/* key already at that version or newer */
	uint64_t skipped_floor;		/* below our GC floor from a stale peer */
	uint64_t gen_superseded;	/* generations replaced by a newer one */
	uint64_t stale_gen;		/* groups for an older generation */
	uint64_t resets;		/* owner states rebuilt after GC floor */
	uint64_t gaps;			/* groups that could not advance */
	uint64_t lim_members;
	uint64_t lim_keys;
	uint64_t lim_key_bytes;
	uint64_t lim_value_bytes;
	uint64_t nomem;
	uint64_t tombstones_collected;
	uint64_t retired;
	uint64_t retire_nomem;		/* replaced entries never freed: no
					 * memory for a retire batch */
	uint64_t log_fallbacks;		/* delta builds that scanned keys */
	uint64_t index_grows;		/* key indexes grown or compacted */
	uint64_t changes_lost;		/* change ring overwrites (rumors) */
	uint64_t pool_bytes;		/* slabs carved for entries: grows to
					 * the peak of live entries, never
					 * past what the limits allow */
};

/* A read view of one entry (immutable while the caller stays online). */
struct hs_table_kv {
	uint64_t owner;
	uint64_t generation;
	uint64_t version;
	bool tombstone;
	uint8_t key_len;
	uint16_t value_len;
	const uint8_t *key;
	const uint8_t *value;
};

/* A read view of a node record. */
struct hs_table_node {
	uint64_t id;
	uint64_t generation;
	uint64_t heartbeat;		/* highest seen, from digests */
	uint64_t incarnation;		/* of its record (SWIM) */
	uint64_t max_version;		/* watermark */
	uint64_t floor;
	uint32_t n_keys;
	uint8_t status;			/* enum hs_wire_status */
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint8_t name_len;
	const uint8_t *name;
};

/* Fills defaults for fields left zero. */
void hs_table_params_default(struct hs_table_params *p);

/*
 * Create a table.  Control thread, a registered QSBR reader, online.
 * Creates the call_rcu thread that frees replaced entries; it inherits the
 * creating thread's CPU affinity, so create the table before pinning
 * anything.  Returns 0, -EINVAL or -ENOMEM.
 */
int hs_table_create(const struct hs_table_params *p, struct hs_table **out);

/* Destroy.  Control thread (registered QSBR reader), every context
 * detached, every worker gone.  With its own call_rcu thread it waits for
 * pending callbacks; with a shared one (params.crdp) it does not wait: the
 * last free is queued on that thread behind them, so call
 * urcu_qsbr_barrier() before freeing the shared call_rcu data. */
void hs_table_destroy(struct hs_table *t);

/*
 * Bind context idx (< n_ctx) to the calling thread, which must already be a
 * registered QSBR thread; routes its call_rcu to the table's thread.
 * Returns 0, -EINVAL, or -EBUSY if the context is bound elsewhere.
 */
int hs_table_ctx_attach(struct hs_table *t, unsigned idx,
			struct hs_table_ctx **out);
/* Flush the retire batch and unbind.  Same thread as attach. */
void hs_table_ctx_detach(struct hs_table_ctx *c);
/* Hand the retire batch to call_rcu now (a worker calls it once per loop,
 * before its quiescent state).  Cheap when the batch is empty. */
void hs_table_ctx_flush(struct hs_table_ctx *c);

/*
 * Merge every delta group of a validated message (DELTAS section).
 * Returns the number of entries installed (>= 0).  Problems with single
 * groups (limits, stale generation, gaps) are counted, not returned.
 */
int hs_table_merge_msg(struct hs_table_ctx *c, const struct hs_wire_msg *m);

/* Merge one group.  Returns entries installed, or -ENOSPC (member limit),
 * -ESTALE (older generation than ours). */
int hs_table_merge_group(struct hs_table_ctx *c, const struct hs_wire_group *g);

/*
 * Merge a node record (heartbeat, status, address, name).  A higher
 * generation supersedes the owner's state; within a generation the higher
 * heartbeat wins.  Returns 1 if anything changed, 0 if not, -ENOSPC,
 * -ESTALE.  Records about ourselves are ignored (0).
 */
int hs_table_merge_node(struct hs_table_ctx *c, const struct hs_wire_node *n);

/*
 * A heartbeat of owner's generation seen in a digest: raise ours to it.
 * Returns 1 if it was higher than ours, else 0 (older, unknown owner,
 * other generation, forgotten).  Heartbeats travel only in digests.
 */
int hs_table_merge_heartbeat(struct hs_table_ctx *c, uint64_t owner,
			     uint64_t generation, uint64_t heartbeat);

/*
 * Forget a member (dead or left long enough): its state for generation
 * and older is dropped and replaced by a grave that refuses every later
 * delta group, node record and digest of those generations, so that stale
 * gossip cannot bring it back; a higher generation (a restart) supersedes
 * the grave like any older state.  Graves are kept (bounded by
 * max_members).  The owner no longer appears in digests, reads or
 * hs_table_owners().  Returns 1 if forgotten now, 0 if already (or a newer
 * generation is held), -ENOENT, -EINVAL (ourselves), -ENOMEM.
 */
int hs_table_forget(struct hs_table_ctx *c, uint64_t owner,
		    uint64_t generation);

/*
 * Local writes of our own keys, each taking our next version.  Single
 * writer: only one thread at a time may write locally (the control thread).
 * Returns the version (> 0), or -EINVAL (empty key), -EMSGSIZE (key or
 * value over the limit), -ENOSPC (key limit), -ENOMEM.  hs_table_delete
 * writes a tombstone and returns -ENOENT when the key is absent or deleted.
 */
int64_t hs_table_put(struct hs_table_ctx *c, const void *key, size_t key_len,
		     const void *value, size_t value_len);
int64_t hs_table_delete(struct hs_table_ctx *c, const void *key,
			size_t key_len);
/* Bump our heartbeat; returns the new value.  Single writer. */
uint64_t hs_table_heartbeat(struct hs_table_ctx *c);
/* Set our own node record (address, name, status).  Single writer. */
int hs_table_set_self(struct hs_table_ctx *c, const struct hs_wire_node *n);

/* Read anyone's key.  Returns 0 (tombstones included, see kv->tombstone) or
 * -ENOENT. */
int hs_table_get(struct hs_table_ctx *c, uint64_t owner, const void *key,
		 size_t key_len, struct hs_table_kv *kv);
int hs_table_node_get(struct hs_table_ctx *c, uint64_t owner,
		      struct hs_table_node *n);

/* Visit every entry of owner (or of every owner when owner == 0), in no
 * particular order; stops early when cb returns nonzero and returns that. */
typedef int (*hs_table_kv_cb)(const struct hs_table_kv *kv, void *arg);
int hs_table_foreach(struct hs_table_ctx *c, uint64_t owner,
		     hs_table_kv_cb cb, void *arg);

/* An entry this context installed (merged or written locally). */
struct hs_table_change {
	uint64_t owner;
	uint64_t generation;
	uint64_t version;
};

/*
 * Take up to max of the entries this context installed since the last
 * call, oldest first (a bounded ring: past 256 the oldest are lost and
 * counted in changes_lost).  The context's own thread only.
 */
unsigned hs_table_changes(struct hs_table_ctx *c, struct hs_table_change *out,
			  unsigned max);

/* The entry of ch while it is still current (the change log's window):
 * 0, or -ENOENT when it was replaced or has left the window. */
int hs_table_change_get(struct hs_table_ctx *c,
			const struct hs_table_change *ch,
			struct hs_table_kv *kv);

/*
 * Put the entry of ch as a one-version delta group (version - 1, version]
 * into b's open DELTAS section (rumor mongering), if its value is at most
 * max_value bytes.  Returns 1, 0 when the entry is gone, superseded or
 * larger (nothing put), -EMSGSIZE, -EINVAL.
 */
int hs_table_put_entry(struct hs_table_ctx *c,
		       const struct hs_table_change *ch, size_t max_value,
		       struct hs_wire_builder *b);

/* Our digest for one owner, or -ENOENT. */
int hs_table_digest(struct hs_table_ctx *c, uint64_t owner,
		    struct hs_wire_digest *d);
/* Digests of every owner, at most max, from position *cursor (0 to start);
 * returns the count and advances *cursor; 0 when done.  A walk in chunks
 * by the same context costs O(members) in all (the context keeps its
 * place); the protocol uses summaries for large clusters. */
int hs_table_digests(struct hs_table_ctx *c, uint64_t *cursor,
		     struct hs_wire_digest *out, unsigned max);

/*
 * A peer's digests against ours, one lookup each: copy to out[] (which
 * may be theirs itself) those that can call for an answer, in order: an
 * owner we do not hold or have forgotten, or another generation, watermark
 * or floor than ours.  A digest equal to ours (heartbeats aside) asks for
 * no deltas, no want and no record.  *known counts the digests of owners
 * we hold, so that a caller can tell whether a list names every owner of
 * ours (hs_table_owners()) without walking the table.  Returns the count
 * copied.
 */
unsigned hs_table_digests_differ(struct hs_table_ctx *c,
				 const struct hs_wire_digest *theirs,
				 unsigned n, struct hs_wire_digest *out,
				 unsigned *known);

/*
 * Given a peer's digests, write into want[] (at most max) our digests for
 * owners where the peer is ahead of us.  Returns the count.
 */
int hs_table_wants(struct hs_table_ctx *c, const struct hs_wire_digest *theirs,
		   unsigned n, struct hs_wire_digest *want, unsigned max);

/*
 * Given a peer's digests (generation 0 for an owner it does not know),
 * write a DELTAS section into b with what it lacks: the most stale owners
 * first, each owner's entries in version order from the peer's watermark,
 * cut to the frame without gaps.  The builder must accept a DELTAS section
 * next.  Returns the entries written (>= 0) or -EINVAL (builder misuse).
 * At most 256 digests are considered per call.
 */
int hs_table_build_deltas(struct hs_table_ctx *c,
			  const struct hs_wire_digest *theirs, unsigned n,
			  struct hs_wire_builder *b);

/*
 * Collect tombstones older than the TTL whose version is at or below the
 * owner's watermark (raising the owner's GC floor).  Walks every owner:
 * call it every second or so, not every round.  Never waits (the entries
 * go to the call_rcu thread).  Returns tombstones collected.
 */
int hs_table_gc(struct hs_table_ctx *c);

/* Every counter summed over the contexts, and the keys held: walks every
 * owner (O(members)), for the control side, not for every poll. */
void hs_table_stats(struct hs_table *t, struct hs_table_stats *s);
/* This context's changes_lost counter alone: O(1). */
uint64_t hs_table_changes_lost(const struct hs_table_ctx *c);
/* Owners held (members, ourselves included, graves not): O(1), any
 * thread. */
uint64_t hs_table_owners(const struct hs_table *t);

#ifdef __cplusplus
}
#endif

#endif /* HS_TABLE_H */
