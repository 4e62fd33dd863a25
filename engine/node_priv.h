/*
 * hearsay node, private part: the node's state, shared by the files that
 * implement it (node.c: rounds, anti-entropy, rumors; member.c:
 * membership and failure detection; api.c: the application's API).
 * Nothing outside engine/ includes this.
 */
#ifndef HS_NODE_PRIV_H
#define HS_NODE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/aggregate.h"
#include "engine/auth.h"
#include "engine/events.h"
#include "engine/fd.h"
#include "engine/idmap.h"
#include "engine/node.h"
#include "engine/notify.h"
#include "engine/peers_priv.h"
#include "engine/spsc.h"
#include "engine/util.h"
#include "engine/wire.h"

#define HS_NODE_RX_BURST	32
/* frames (and lane hand-overs) after which a poll reads the clock again */
/* HS_SYN_AUTO: rounds of SYNs of digests after the last change merged
 * or ACK received (a joining node's rumors live 2 rounds only, while it
 * knows few members) */
#define HS_NODE_WARM_ROUNDS	16
/* Rounds a snapshot of our digests serves bucket hashes while nothing
 * changed (a change that slipped past the state counter shows after this
 * many rounds at worst) */
#define HS_NODE_SNAPSHOT_KEEP	16
#define HS_NODE_REREAD_CLOCK	8
#define HS_NODE_MAX_DIGESTS	256	/* a SYN's digests + owners it lacks */
#define HS_NODE_MAX_RECORDS	8	/* node records per ACK/ACK2 */
#define HS_NODE_RUMORS		256	/* updates pushed at once, at most */

#define HS_KEY_RACK		"hs.rack"	/* value: the rack's name */
#define HS_KEY_RACK_LEN		7
#define HS_RACK_MAX		64

struct hs_rumor {
	struct hs_table_change ch;
	unsigned rounds_left;
};

/* A digest and its summary bucket (docs/PROTOCOL.md 6.2). */
struct hs_bdig {
	struct hs_wire_digest d;
	uint32_t bucket;
};

/* ---- lanes (lane.c) ---- */

#define HS_LANE_FWD_SLOTS	256	/* items a lane hands the primary */
#define HS_LANE_FWD_CHANGES	32	/* changes per forwarded item */

/* What a lane hands the primary (one SPSC slot). */
enum hs_fwd_type {
	HS_FWD_FRAME = 1,	/* a frame whose deltas the lane merged */
	HS_FWD_CHANGES,		/* entries the lane's context installed */
};

struct hs_fwd {
	uint8_t type;		/* enum hs_fwd_type */
	bool lost;		/* CHANGES: the lane lost some before these */
	uint16_t len;		/* FRAME: bytes; CHANGES: count */
	uint32_t pad;
	struct hs_addr from;	/* FRAME: the sender */
	/* then the frame's bytes, or len struct hs_table_change: aligned
	 * for them (slots are multiples of 8 bytes) */
} __attribute__((aligned(8)));

/*
 * One receive queue of a node and everything needed to answer on it
 * without the node's single-threaded state (docs/DATAPATH.md): its driver
 * handle, its table context, a frame buffer and the SYN-answering scratch.
 * Lane 0 is the primary, embedded in the node and driven with it; lanes
 * 1.. run on other workers and hand the primary, through fwd, what only
 * it may act on (membership, rumors, events).
 */
struct hs_lane {
	struct hs_node *n;
	unsigned idx;
	struct hs_pktio *io;
	struct hs_table_ctx *c;
	uint8_t *buf;				/* frame_budget bytes */
	uint64_t seq;				/* frames sent on this lane */
	uint64_t seq_sealed;			/* the last seq sealed */
	struct hs_bdig *all;			/* every digest, by bucket */
	unsigned n_all;
	unsigned cap_all;
	uint64_t all_epoch;			/* the round it was taken + 1 */
	uint64_t all_state;			/* the node's state then */
	uint32_t all_buckets;			/* its n_buckets */
	uint64_t *bh;				/* the hash of each of its
						 * buckets (cap_bh) */
	uint32_t cap_bh;
	struct hs_spsc *fwd;			/* lanes >= 1: to the primary */
	bool fwd_lost;				/* changes dropped since the last
						 * forwarded batch */
	uint64_t lost_seen;			/* the context's changes_lost */
	struct hs_wire_digest dig[HS_NODE_MAX_DIGESTS];
	struct hs_wire_digest want[HS_NODE_MAX_DIGESTS];
	uint64_t listed[HS_NODE_MAX_DIGESTS];	/* a SYN's ids, sorted */
	/* TX batch (params.tx_batch > 1): inside a poll, frames sent are
	 * copied here and go out in one tx_burst at its end (or when full) */
	struct hs_pkt *txq;
	uint8_t *txbuf;				/* tx_batch x frame_budget */
	uint8_t *sealbuf;			/* auth: a sealed frame sent
						 * alone (frame_budget) */
	uint8_t *openbuf;			/* auth: the frame received,
						 * opened (io->frame_max) */
	struct hs_auth_cache *acache;		/* auth: senders' subkeys */
	struct hs_rate_slot *rate;		/* peer_frames_per_s: senders'
						 * next allowed times (GCRA) */
	uint64_t rate_t_ns;			/* one frame's share of time */
	uint64_t rate_tau_ns;			/* the burst's */
	uint64_t now;				/* this poll's clock, for rates */
	unsigned n_tx;
	bool batching;				/* inside a poll */
	struct hs_lane_stats st;		/* relaxed: read by others */
};

struct hs_rate_slot {
	uint64_t sender;
	uint64_t tat;				/* theoretical arrival time */
};

/* ---- membership (member.c) ---- */

#define HS_MB_PROBES		16	/* probes and relays in flight */
#define HS_MB_RUMORS		64	/* member records being pushed */
#define HS_MB_SUSPECTS		64	/* suspicion timers kept exactly */
#define HS_MB_DEAD		64	/* dead members gossiped to */

/* What this node knows of one member, besides the table's record. */
struct hs_member {
	uint64_t id;
	uint64_t generation;
	uint64_t incarnation;
	uint64_t since_ns;		/* entered its status, here */
	uint64_t suspect_until;		/* suspect: declared dead after */
	uint64_t told_dead_at;		/* last told it is dead */
	uint64_t heard_ns;		/* last frame from it, directly */
	uint64_t seen_version;		/* our max version its digests of us
					 * have shown (this generation) */
	struct hs_addr addr;
	uint32_t zone;
	uint8_t status;			/* enum hs_wire_status */
	bool drawn;			/* in the peer sampler */
	struct hs_fd fd;		/* heartbeat arrivals (phi) */
};

enum hs_probe_phase {
	HS_PROBE_FREE = 0,
	HS_PROBE_DIRECT,		/* our PING, waiting for its ACK */
	HS_PROBE_INDIRECT,		/* PING_REQs out, waiting */
	HS_PROBE_RELAY,			/* probing for another node */
};

struct hs_probe {
	uint64_t seq;			/* our probe_seq */
	uint64_t target;
	uint64_t deadline;
	uint64_t heartbeat;		/* the target's when the probe began */
	uint64_t reply_seq;		/* relay: the prober's probe_seq */
	struct hs_addr reply_to;	/* relay: the prober */
	uint8_t phase;
};

struct hs_mrumor {
	uint64_t id;
	unsigned rounds_left;
	bool fresh;			/* not pushed at once yet */
};

struct hs_members {
	struct hs_member *m;
	uint32_t n;
	uint32_t cap;
	struct hs_idmap map;		/* id -> index in m */
	uint64_t *order;		/* probe order: a shuffled pass */
	uint32_t n_order;
	uint32_t order_pos;
	uint32_t cap_order;
	struct hs_probe probes[HS_MB_PROBES];
	uint64_t probe_seq;
	struct hs_mrumor rumors[HS_MB_RUMORS];
	unsigned n_rumors;
	uint64_t sus[HS_MB_SUSPECTS];
	unsigned n_sus;
	uint64_t dead[HS_MB_DEAD];	/* a sample of the dead, rebuilt by
					 * every scan */
	unsigned n_dead;
	uint64_t incarnation;		/* ours */
	bool leaving;
	uint64_t last_poll;		/* clock of the previous poll */
	uint64_t stall_total;		/* our own stalls, summed */
	uint64_t no_convict_until;	/* after a stall: convict nobody */
	uint64_t next_scan;
	uint64_t suspect_ns;		/* current suspicion timeout */
};

struct hs_node {
	struct hs_node_params p;
	char name[HS_WIRE_NAME_MAX + 1];
	struct hs_addr *seeds;
	struct hs_table *t;
	struct hs_table_ctx *c;
	uint64_t rng;
	uint64_t rx_now;			/* clock at the poll's start */
	uint64_t warm_until;			/* HS_SYN_AUTO: SYNs of digests
						 * until this round */
	uint64_t next_round;
	uint64_t seq;
	struct hs_peers_members own;		/* default sampler's state */
	struct hs_peer_sampler sampler;
	bool membership;			/* we gossip membership: our
						 * hs.addr and node records */
	struct hs_lane l0;			/* the primary lane */
	uint8_t *buf;				/* l0.buf */
	struct hs_lane **lanes;			/* n_lanes; [0] = &l0, others
						 * published when opened */
	uint64_t state;				/* bumped by every change merged
						 * or made (atomic): the lanes'
						 * snapshots stay valid while
						 * it does not move */
	uint64_t epoch;				/* rounds, for the lanes' owner
						 * snapshots (atomic) */
	void (*wake)(void *arg);		/* wakes the primary's worker */
	void *wake_arg;
	struct hs_rumor *rumors;		/* HS_NODE_RUMORS, FIFO */
	unsigned rumor_head;			/* oldest */
	unsigned n_rumors;
	unsigned n_fresh;			/* the newest rumors, not pushed
						 * at once yet */
	uint64_t lanes_lost;			/* changes lanes could not hand
						 * over (counted) */
	double push_tokens;			/* at-once pushes allowed */
	uint64_t push_tokens_at;		/* clock of the last refill */
	struct hs_members mb;
	struct hs_notify *notify;		/* to the application */
	uint32_t notice_mask;			/* 1 << type subscribed */
	struct hs_node_sub *subs;		/* on-change prefixes */
	unsigned n_subs;
	struct hs_events *ev;
	struct hs_pushsum_set ps;
	uint64_t changes_lost_seen;		/* the table's counter */
	struct hs_node_stats st;
};

/* ---- node.c, used by member.c and api.c ---- */

/* The table's digests may have moved (a merge, a write, a forget, GC). */
static inline void
hs_node_state_changed(struct hs_node *n)
{
	__atomic_add_fetch(&n->state, 1, __ATOMIC_RELEASE);
}

uint64_t hs_node_now(const struct hs_node *n);
unsigned hs_node_n_peers(const struct hs_node *n);
uint64_t hs_node_rand(struct hs_node *n);
void hs_node_hdr(struct hs_node *n, struct hs_wire_hdr *h, uint8_t type);
void hs_node_send(struct hs_node *n, const struct hs_addr *to, int len);
int hs_node_record(struct hs_node *n, uint64_t id, struct hs_wire_node *r);
void hs_node_merge(struct hs_node *n, const struct hs_wire_msg *m,
		   const struct hs_addr *from, bool deltas_merged);
/* On lane l: a decoded frame's header checks (counted); true: handle it. */
bool hs_lane_accept(struct hs_lane *l, struct hs_pkt *pkt,
		    struct hs_wire_msg *m);
void hs_lane_hdr(struct hs_lane *l, struct hs_wire_hdr *h, uint8_t type);
void hs_lane_send(struct hs_lane *l, const struct hs_addr *to, int len);
/* Answer a SYN (ACK) or an ACK (ACK2) on lane l, its deltas merged. */
void hs_lane_answer_syn(struct hs_lane *l, const struct hs_wire_msg *m,
			const struct hs_addr *from);
void hs_lane_answer_ack(struct hs_lane *l, const struct hs_wire_msg *m,
			const struct hs_addr *from);
/* Node destroy: a closed lane's remains (NULL: a no-op). */
void hs_lane_free(struct hs_lane *l);
/* The TX batch: allocate (nothing when params.tx_batch < 2), send what
 * it holds, free.  The lane's thread. */
int hs_lane_tx_init(struct hs_lane *l);
void hs_lane_tx_flush(struct hs_lane *l);
void hs_lane_tx_free(struct hs_lane *l);
/* Primary: what the open lanes forwarded (at most max items). */
int hs_node_drain_lanes(struct hs_node *n, unsigned max);
/* Primary: one installed entry becomes a rumor (and reaches the API). */
void hs_node_add_rumor(struct hs_node *n, const struct hs_table_change *ch);

/* ---- member.c ---- */

int hs_mb_init(struct hs_node *n);
void hs_mb_free(struct hs_node *n);
struct hs_member *hs_mb_find(struct hs_node *n, uint64_t id);
/* A node record received: merge it, follow its member's state. */
void hs_mb_on_record(struct hs_node *n, const struct hs_wire_node *r,
		     const struct hs_addr *from, uint64_t now);
/* The table's record of id may have changed (merge, refresh): follow. */
void hs_mb_sync(struct hs_node *n, uint64_t id, uint64_t now);
/* A digest's heartbeat (failure detection by heartbeats). */
void hs_mb_on_digest(struct hs_node *n, const struct hs_wire_digest *d,
		     uint64_t sender, uint64_t now);
/* Any valid frame from a member, directly. */
void hs_mb_on_frame(struct hs_node *n, const struct hs_wire_msg *m,
		    const struct hs_addr *from, uint64_t now);
void hs_mb_on_probe(struct hs_node *n, const struct hs_wire_msg *m,
		    const struct hs_addr *from, uint64_t now);
/* First thing every poll: was the gap since the last one our own stall? */
void hs_mb_stall_check(struct hs_node *n, uint64_t now);
/* Every poll, after reading: probe and suspicion timers, scans. */
void hs_mb_poll(struct hs_node *n, uint64_t now);
/* Every round: a probe, the dead, rumor ages. */
void hs_mb_round(struct hs_node *n, uint64_t now);
/* A NODES section with the records being rumored (fresh_only: those not
 * pushed at once yet, and mark them pushed).  Returns records put. */
unsigned hs_mb_put_rumors(struct hs_node *n, struct hs_wire_builder *b,
			  bool fresh_only);
bool hs_mb_has_fresh(const struct hs_node *n);
/* Push id's current record for a few rounds. */
void hs_mb_rumor(struct hs_node *n, uint64_t id);
unsigned hs_mb_n_rumors(const struct hs_node *n);
void hs_mb_notice(struct hs_node *n, uint8_t type, const struct hs_member *m);

/* ---- api.c ---- */

struct hs_node_sub {
	uint8_t len;
	uint8_t prefix[HS_WIRE_KEY_MAX];
};

int hs_api_init(struct hs_node *n);
void hs_api_free(struct hs_node *n);
/* An entry the table installed (merged or written): events, notices. */
void hs_api_on_change(struct hs_node *n, const struct hs_table_change *ch);
/* A delta group of owner was merged (its watermark may have moved). */
void hs_api_on_group(struct hs_node *n, uint64_t owner);
/* After a batch of changes: catch up if the change ring overflowed. */
void hs_api_after_changes(struct hs_node *n);
/* Every membership scan (a second): events delivery backstop. */
void hs_api_scan(struct hs_node *n);
/* Every round: push-sum shares. */
void hs_api_round(struct hs_node *n, uint64_t now);
void hs_node_merge_agg(struct hs_node *n, const struct hs_wire_msg *m);


#endif /* HS_NODE_PRIV_H */
