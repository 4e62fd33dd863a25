/*
 * hearsay: the application's API of a node.  One header: what an
 * application sees of the cluster.
 *
 * - Keys: put/delete the node's own keys, read anyone's, list them.  Only
 *   the owner writes its keys; every write takes the owner's next version
 *   and replicates (docs/TABLE.md).  Keys starting "hs." are reserved for
 *   the engine (address, rack, event slots) and not listed unless asked.
 * - Events: broadcast a payload; every node delivers each event once, in
 *   per-origin FIFO order; a node that missed one is repaired by
 *   anti-entropy; each origin keeps its last event_retention events
 *   (engine/events.h).
 * - Subscriptions: join, alive, suspect, dead, leave, change (with key
 *   prefixes), event.  The node queues notices (engine/notify.h) and the
 *   application takes them on its own thread with hs_notices(): callbacks
 *   never run on the node's thread.  A full queue drops and counts.
 * - Peer sampling: the known nodes (the seed's /gossip/init) and a random
 *   live peer (/gossip/get-peer).
 * - Aggregates of a numeric key: exact count/sum/avg/min/max over the live
 *   members from the replicated table, and push-sum estimates with O(1)
 *   state per node (engine/aggregate.h).
 *
 * Threads: every call but hs_notices() is made on the node's thread (the
 * thread that polls it; QSBR-online), between polls.  hs_notices() is the
 * application's thread, the notice queue's single consumer.  The daemon
 * hands API calls to the node's thread.
 */
#ifndef HS_HEARSAY_H
#define HS_HEARSAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/aggregate.h"
#include "engine/node.h"
#include "engine/notify.h"
#include "engine/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- keys ---- */

/* Write / delete one of our keys: the new version (> 0) or a negative
 * errno from hs_table_put/hs_table_delete (table.h); "hs." keys are
 * -EPERM. */
int64_t hs_put(struct hs_node *n, const void *key, size_t key_len,
	       const void *value, size_t value_len);
int64_t hs_del(struct hs_node *n, const void *key, size_t key_len);
/* Read owner's key (owner 0: ours): 0, or -ENOENT (absent or deleted). */
int hs_get(struct hs_node *n, uint64_t owner, const void *key,
	   size_t key_len, struct hs_table_kv *kv);
/* Call cb for each live key of owner (0: ours) starting with prefix (may
 * be empty), in no particular order; "hs." keys only when the prefix
 * starts with "hs.".  Stops when cb returns nonzero; returns that, or 0. */
int hs_keys(struct hs_node *n, uint64_t owner, const void *prefix,
	    size_t prefix_len, hs_table_kv_cb cb, void *arg);

/* ---- events ---- */

/* Broadcast payload (up to the table's max value less 8 bytes): the
 * event's sequence number (> 0) or a negative errno. */
int64_t hs_publish(struct hs_node *n, const void *payload, size_t len);

/* ---- subscriptions ---- */

#define HS_SUB(type)	(1u << (type))	/* type: enum hs_notice_type */
#define HS_SUB_MEMBERS	(HS_SUB(HS_NOTICE_JOIN) | HS_SUB(HS_NOTICE_ALIVE) | \
			 HS_SUB(HS_NOTICE_SUSPECT) | HS_SUB(HS_NOTICE_DEAD) | \
			 HS_SUB(HS_NOTICE_LEAVE))
#define HS_SUB_ALL	(HS_SUB_MEMBERS | HS_SUB(HS_NOTICE_CHANGE) | \
			 HS_SUB(HS_NOTICE_EVENT))
#define HS_SUB_PREFIXES	16

/* Which notices to queue (a mask of HS_SUB bits; 0: none). */
void hs_subscribe(struct hs_node *n, uint32_t mask);
/* Change notices only for keys with one of these prefixes (none added:
 * every key).  Returns 0, -ENOSPC (HS_SUB_PREFIXES), -EINVAL. */
int hs_subscribe_prefix(struct hs_node *n, const void *prefix, size_t len);
/* Application thread: hand up to max queued notices (0: all) to cb. */
unsigned hs_notices(struct hs_node *n, hs_notify_cb cb, void *arg,
		    unsigned max);

/* ---- members and peer sampling ---- */

struct hs_member_info {
	uint64_t id;
	uint64_t generation;
	uint64_t incarnation;
	uint64_t heartbeat;	/* highest seen */
	uint8_t status;		/* enum hs_wire_status */
	bool self;
	double phi;		/* of its heartbeat arrivals, now */
	uint64_t since_ns;	/* in this status since (clock), 0: self */
	uint64_t heard_ns;	/* last heard of (clock): a frame from it,
				 * or a newer heartbeat through gossip; 0:
				 * never, or self */
	uint64_t seen_version;	/* our highest version its digests of us
				 * have shown: it holds every write of
				 * ours up to this one (0: none seen) */
	struct hs_addr addr;
	char name[HS_WIRE_NAME_MAX + 1];
	char rack[65];
};

/* Ourselves, then every member we know (alive, suspect, dead, left; not
 * yet forgotten), up to max.  Returns how many were written; with
 * out == NULL, how many there are. */
unsigned hs_members(struct hs_node *n, struct hs_member_info *out,
		    unsigned max);
/* The same from position first (0: ourselves, then the members in the
 * order hs_members gives), up to max: so that a caller copies a large
 * list in slices, each one short call.  Returns how many were written
 * (0 past the end). */
unsigned hs_members_range(struct hs_node *n, unsigned first,
			  struct hs_member_info *out, unsigned max);
/* One member (or ourselves): 0 or -ENOENT. */
int hs_member(struct hs_node *n, uint64_t id, struct hs_member_info *out);
/* A random live peer (alive or suspect, not us): 0 or -ENOENT. */
int hs_random_peer(struct hs_node *n, struct hs_member_info *out);

/* ---- aggregates ---- */

/* Exact, over ourselves and the members alive or suspect. */
int hs_aggregate(struct hs_node *n, const void *key, size_t key_len,
		 struct hs_agg_result *r);
/* Push-sum: start a new epoch of key from this node (the other nodes join
 * when its shares reach them), read this node's estimate, stop. */
int hs_pushsum_begin(struct hs_node *n, const void *key, size_t key_len);
int hs_pushsum_result(struct hs_node *n, const void *key, size_t key_len,
		      struct hs_agg_result *r);
void hs_pushsum_end(struct hs_node *n, const void *key, size_t key_len);

#ifdef __cplusplus
}
#endif

#endif /* HS_HEARSAY_H */
