/*
 * hearsay aggregates: count, sum, min, max and average of one numeric key
 * over the cluster, two ways.
 *
 * Exact (hs_agg_exact): read the key of every owner in the replicated
 * table.  Exact for what this node holds now; costs one lookup per owner,
 * and is only as fresh as replication.
 *
 * Push-sum (hs_pushsum_*; Kempe, Dobra, Gehrke, "Gossip-based computation
 * of aggregate information", FOCS 2003): O(1) state per aggregate per node
 * and one record per aggregate per gossip round, whatever the cluster size.
 * Each node i holds (s_i, k_i, w_i).  When an epoch starts, a node holding
 * a value v_i sets s_i = v_i and k_i = 1 (others 0), and only the
 * initiator sets w_i = 1 (all others 0).  Each round a node keeps half of
 * (s, k, w) and sends the other half to one random peer, which adds it to
 * its own.  Nothing is created or destroyed, so across the cluster
 *   sum s = sum of the values, sum k = number of values, sum w = 1,
 * and the shares mix until every node holds the same proportions:
 *   avg = s / k,   sum = s / w,   count = k / w.
 * The relative error falls geometrically: with uniform random peers,
 * O(log N + log 1/eps) rounds reach eps.  avg converges first (s and k
 * start spread out); count and sum divide by w, which starts whole at one
 * node, and take about 2 log2 N + 2 log2(1/eps) halvings after the last
 * node joins: with N = 1000, every node is within 1% on all three after
 * 31 to 44 rounds (median 34, tests/test_aggregate.c).  min and max spread
 * beside them as idempotent extrema (exact once every value has reached
 * every node).
 *
 * Epochs: each aggregate runs in an epoch, per key.  hs_pushsum_start()
 * begins epoch (highest seen for the key) + 1 as its initiator.  A node
 * that receives a record of a higher epoch abandons its state, restarts
 * from its own current value (w = 0) and adds the record; a record of a
 * lower epoch is ignored and counted.  A node joins an epoch when its
 * first record arrives, so it needs no announcement.
 *
 * Limits:
 * - A lost frame loses the mass it carried.  Losing s, k and w together
 *   (as one record does) biases sum and count by the lost fraction of w,
 *   but avg = s / k only by how far the lost share's s / k was from the
 *   average, which after a few rounds is little.  A duplicated frame adds
 *   its mass twice, with the same effect.  Start a new epoch to
 *   re-converge from scratch (also after members join or leave).
 * - A node's own value is read once, when it joins the epoch; changes
 *   during the epoch are not tracked: start a new epoch.
 * - At most HS_PUSHSUM_MAX aggregates per node; a record that would open
 *   one more is dropped and counted.  A stopped aggregate keeps its slot
 *   (and its epoch, so that its old records stay ignored) until a new
 *   aggregate needs the slot.
 * - A peer that sends epoch 2^64 - 1 blocks new epochs of that key
 *   (authentication, issue #8, is the defence).
 * - Eight records fit a 1472-byte frame with keys up to 114 bytes (and a
 *   64-byte trailer); with longer keys send the rest in another PUSH to
 *   the same peer.  A share that cannot be sent at all is merged back
 *   (hs_pushsum_merge), which returns its mass.
 *
 * Threads: a struct hs_pushsum_set belongs to one thread (a worker, which
 * merges the AGG records it receives and sends shares on its rounds); its
 * functions take no lock, allocate nothing and run in O(HS_PUSHSUM_MAX).
 * hs_agg_exact runs on a thread that holds a table context and is
 * QSBR-online, like every table read.
 */
#ifndef HS_AGGREGATE_H
#define HS_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_table_ctx;

/* The longest value hs_agg_exact() reads as a number. */
#define HS_AGG_NUM_MAX		63

/* One aggregate's result.  count is an integer for hs_agg_exact and an
 * estimate for push-sum. */
struct hs_agg_result {
	double count;		/* values aggregated */
	double sum;
	double min;		/* +inf when no value */
	double max;		/* -inf when no value */
	double avg;		/* sum / count; 0 when count is 0 */
	uint64_t skipped;	/* exact: values that are not a number */
	uint64_t epoch;		/* push-sum: epoch estimated; exact: 0 */
};

/*
 * Parse a value as a number: ASCII, at most HS_AGG_NUM_MAX bytes, optional
 * spaces and tabs around strtod syntax that consumes the rest, finite.
 * "12", " -3.5e2 ", "0x1p4" are numbers; "", "12abc", "1 2", "nan", "inf",
 * "1e999" are not.  strtod reads LC_NUMERIC: the process must keep the
 * "C" locale for it (the default unless it calls setlocale).
 * Returns true and sets *out, or false.  Any thread.
 */
bool hs_agg_parse(const void *value, size_t len, double *out);

/*
 * Aggregate key over every owner the table holds (this node included,
 * forgotten owners not) for which include(owner, arg) is true (include
 * NULL: every owner).  Owners without the key and tombstones do not count;
 * values that are not a number (hs_agg_parse) are counted in r->skipped.
 * A sum of finite values can still overflow to +-inf.  Owners are walked
 * with hs_table_digests(), so the context's digest cursor is reset (a
 * chunked digest walk of the same context restarts from its position).
 * Costs one lookup per owner; the caller stays online throughout.
 * Returns 0, or -EINVAL (key_len 0 or above 255, NULL arguments).
 * Caller holds table context c and is QSBR-online.
 */
int hs_agg_exact(struct hs_table_ctx *c, const void *key, size_t key_len,
		 bool (*include)(uint64_t owner, void *arg), void *arg,
		 struct hs_agg_result *r);

/* ---- push-sum ---- */

#define HS_PUSHSUM_MAX		8

/* Per-set counters (the set's thread writes them; read them there). */
struct hs_pushsum_stats {
	uint64_t merged;	/* records added */
	uint64_t joined;	/* epochs joined on a first record */
	uint64_t restarted;	/* states abandoned for a higher epoch */
	uint64_t stale;		/* records of a lower epoch, ignored */
	uint64_t stopped;	/* records of a stopped epoch, ignored */
	uint64_t full;		/* records that would open one too many */
	uint64_t invalid;	/* records refused (-EINVAL, -ERANGE) */
};

/* One aggregate.  Private: use the functions below. */
struct hs_pushsum {
	uint8_t state;		/* 0 free, 1 active, 2 stopped */
	bool has_value;		/* this node contributed a value */
	bool initiator;		/* this node started the epoch */
	uint8_t key_len;
	uint64_t epoch;
	double s, k, w;
	double min, max;
	uint8_t key[HS_WIRE_KEY_MAX];
};

/* A node's aggregates.  Caller-allocated (about 2.6 KB); private fields. */
struct hs_pushsum_set {
	struct hs_pushsum agg[HS_PUSHSUM_MAX];
	unsigned next;		/* slot hs_pushsum_shares starts at */
	struct hs_pushsum_stats stats;
};

/* Empty set. */
void hs_pushsum_set_init(struct hs_pushsum_set *set);

/*
 * Start a new epoch of key as its initiator: epoch = highest this set has
 * seen for key + 1 (1 for a new key), s = value, k = 1 when has_value
 * (else 0), w = 1.  An epoch of key already running here is abandoned.
 * Returns 0, -EINVAL (key_len 0 or above 255, value not finite),
 * -ENOSPC (HS_PUSHSUM_MAX aggregates active), -EOVERFLOW (epoch at its
 * maximum).
 */
int hs_pushsum_start(struct hs_pushsum_set *set, const void *key,
		     size_t key_len, bool has_value, double value);

/*
 * Halve every active aggregate and write the halves, one record each, to
 * out[0..max): the shares to send, all to one peer (one PUSH, AGG
 * section).  With more aggregates than max, the next call continues where
 * this one stopped.  Returns the number written.  out[i].key points into
 * the set: valid until the next call that changes it, so build the frame
 * first.  The mass written has left the set: send it, or merge it back.
 */
unsigned hs_pushsum_shares(struct hs_pushsum_set *set, struct hs_wire_agg *out,
			   unsigned max);

/*
 * Add a received record.  has_value/value: this node's own value of
 * rec->key (the caller looks it up in the table), used only if the record
 * makes this node join or restart an epoch.  Returns:
 *   0          added (epoch joined, restarted or continued),
 *   -ESTALE    a lower epoch than this set's for the key, or the epoch of
 *              a stopped aggregate: ignored,
 *   -ENOSPC    would open an aggregate beyond HS_PUSHSUM_MAX: dropped,
 *   -EINVAL    key_len 0, s, k or w not finite or k, w negative, min or
 *              max NaN, value not finite,
 *   -ERANGE    adding it would overflow s, k or w: dropped.
 * Each outcome but 0 is counted in the set's stats.
 */
int hs_pushsum_merge(struct hs_pushsum_set *set, const struct hs_wire_agg *rec,
		     bool has_value, double value);

/*
 * This node's estimate of key's aggregate: count = k / w, sum = s / w,
 * avg = s / k (0 when k is 0), min, max, the epoch.  Returns 0, -ENOENT
 * (no active aggregate of key), -EAGAIN (no weight has reached this node
 * yet, so count and sum are unknown).
 */
int hs_pushsum_estimate(const struct hs_pushsum_set *set, const void *key,
			size_t key_len, struct hs_agg_result *r);

/* Stop taking part in key's aggregate: its mass is dropped (so the other
 * nodes' sum and count lose this node's share; avg mostly survives), and
 * later records of that epoch are ignored.  No-op for an unknown key. */
void hs_pushsum_stop(struct hs_pushsum_set *set, const void *key,
		     size_t key_len);

void hs_pushsum_stats(const struct hs_pushsum_set *set,
		      struct hs_pushsum_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* HS_AGGREGATE_H */
