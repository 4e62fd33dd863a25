/*
 * hearsay node: one gossip engine instance.
 *
 * A node owns a state table and gossips it over one packet I/O handle
 * (engine/pktio.h), driven by an injectable clock, so that the same code
 * runs in the daemon on a NIC queue and, thousands of times over, in the
 * simulator on drivers/mem in virtual time.  The node never knows which
 * backend is under it.
 *
 * Each round (every interval, with jitter) the node bumps its heartbeat,
 * picks fanout peers among the members it knows (and now and then a seed,
 * Cassandra's rule, to heal logical partitions) and starts the three-way
 * anti-entropy exchange with each: SYN (its own record and the digests of
 * every owner it knows) -> ACK (the deltas the SYN sender lacks, the
 * digests of what the ACK sender wants, and node records) -> ACK2 (the
 * deltas asked for).  docs/PROTOCOL.md has the messages.
 *
 * Rumor mongering rides on top: every entry the node installs (merged or
 * written locally) is pushed (PUSH, one-version delta groups) to the round's
 * peers for about log2(members) rounds, and, unless push_now_off, small ones
 * to fanout peers at once, bounded by a rate.  Anti-entropy backs rumors up, so a
 * lost or aged-out rumor only costs time.
 *
 * Membership and failure detection run inside the same polls
 * (docs/MEMBERSHIP.md); what an application does with a node (keys,
 * events, notices, peers, aggregates) is engine/hearsay.h.
 *
 * Threads: a node is driven by one thread at a time (its worker, or the
 * simulator's loop), which must be a registered liburcu QSBR reader, online
 * during every call, and announce a quiescent state between polls (the
 * replaced entries of the node's table are freed only then).  Many nodes
 * may share a thread.
 *
 * Lanes: a node may receive on several queues of one port (RSS, a fanout
 * group, SO_REUSEPORT sockets), one per worker.  The node itself is lane
 * 0, the primary: it runs the rounds, membership and the API.  Each other
 * lane (hs_lane_open, on its own worker) polls its queue, merges deltas
 * into the shared lock-free table through a context of its own, answers
 * SYNs and ACKs on its queue, and hands the primary the rest of each frame
 * (node records, heartbeats, probes) and the entries it installed (to
 * rumor), through a bounded ring that drops and counts when full.
 * docs/DATAPATH.md has the long form.
 */
#ifndef HS_NODE_H
#define HS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/fd.h"
#include "engine/peers.h"
#include "engine/pktio.h"
#include "engine/table.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_node;

/* How members are suspected (docs/MEMBERSHIP.md). */
enum hs_fd_mode {
	HS_FD_SWIM = 0,		/* probes: PING, PING_REQ via relays */
	HS_FD_PHI = 1,		/* phi accrual on gossiped heartbeats */
};

/* What a round's SYN carries (docs/PROTOCOL.md 7.1). */
enum hs_syn_mode {
	HS_SYN_AUTO = 0,	/* DIGESTS while the node has rumors to push
				 * (it merged or wrote something in the last
				 * rumor_rounds), SUMMARY at rest; DIGESTS
				 * always with fd_mode PHI */
	HS_SYN_SUMMARY = 1,	/* bucket hashes only: 8 bytes per 8 owners;
				 * a peer that differs answers with a SYN of
				 * digests */
	HS_SYN_DIGESTS = 2,	/* every digest when they fit, else a range
				 * of buckets with their digests: costs 40
				 * bytes an owner, spreads heartbeats */
};

struct hs_node_params {
	uint64_t id;			/* nonzero */
	uint64_t generation;		/* >= 1, grows on every restart */
	const char *name;		/* up to 255 bytes, may be NULL */
	/* Rack or zone (1..64 bytes), may be NULL.  Published as the key
	 * hs.rack; the default sampler then keeps at least a third of each
	 * round's peers in other racks and the rest in ours. */
	const char *rack;
	uint32_t cluster_id;		/* frames of other clusters dropped */
	/* Keyring and replay windows (engine/auth.h), not owned: with one,
	 * every frame is sealed and every frame received must open (with
	 * any installed key, once); NULL: plaintext, and frames with AUTH
	 * set are dropped (they cannot be verified). */
	struct hs_auth *auth;
	const struct hs_addr *seeds;	/* where to find the cluster */
	unsigned n_seeds;
	uint64_t interval_ns;		/* round period; default 10 ms */
	uint64_t jitter_ns;		/* +- around it; default interval/10 */
	unsigned fanout;		/* peers per round; default 3 */
	uint16_t frame_budget;		/* UDP payload; default 1472 */
	uint8_t syn_mode;		/* enum hs_syn_mode; default AUTO */
	uint64_t rng_seed;		/* peer choice, jitter */
	unsigned rumor_rounds;		/* rounds a fresh update is pushed;
					 * default ceil(log2(members + 1)) + 1 */
	bool push_now_off;		/* default: push fresh updates at once
					 * too, not only with the next round */
	unsigned push_now_per_s;	/* bound on those pushes; default 500 */
	/* Frames taken from one sender (after authentication), per lane:
	 * GCRA at this rate with bursts of peer_burst frames; the rest is
	 * dropped and counted (rx_rate_limited).  0: no bound (the engine's
	 * default; hearsayd sets one).  Sender state lives in a table of
	 * HS_NODE_RATE_SLOTS per lane: flat memory whatever senders claim. */
	uint32_t peer_frames_per_s;
	uint32_t peer_burst;		/* default peer_frames_per_s / 10,
					 * at least 64 */
	uint16_t push_now_max_value;	/* only values up to this many bytes
					 * go at once; default 256 (larger
					 * ones wait for the round) */
	hs_clock_fn clock;		/* default CLOCK_MONOTONIC */
	void *clock_arg;
	struct hs_pktio *io;		/* the node's handle; not owned */
	/* Where peers come from.  NULL: the node's own members, learnt from
	 * gossip (hs.addr keys, node records).  The simulator passes one
	 * shared hs_peers_static for all its nodes (engine/peers.h); a node
	 * given a sampler gossips no membership (no hs.addr key, no node
	 * records): it holds only the owners whose data reached it. */
	const struct hs_peer_sampler *sampler;
	struct hs_table_params table;	/* limits; self_id, generation,
					 * n_ctx and clock are set here */

	/* Membership and failure detection (docs/MEMBERSHIP.md); only with
	 * the node's own members (sampler NULL). */
	uint8_t fd_mode;		/* enum hs_fd_mode; default SWIM */
	uint64_t probe_timeout_ns;	/* direct probe; default 2 intervals
					 * (indirect: twice that) */
	unsigned probe_relays;		/* PING_REQ relays; default 3 */
	unsigned suspect_mult;		/* suspicion lasts suspect_mult x
					 * max(1, log10(members + 1))
					 * intervals; default 8 */
	double phi_threshold;		/* HS_FD_PHI: suspect above; default 8 */
	struct hs_fd_params fd;		/* the phi detector's window etc. */
	uint64_t stall_ns;		/* a gap between two polls longer than
					 * this is our own stall; default 3
					 * intervals */
	uint64_t forget_ns;		/* dead and left members are forgotten
					 * after this; default 1 hour */
	uint64_t gc_interval_ns;	/* membership scan and tombstone GC;
					 * default 1 s */

	/* Receive queues (lanes), 1..HS_NODE_LANES_MAX; default 1.  Lanes
	 * 1.. are opened later with hs_lane_open. */
	unsigned n_lanes;

	/* TX bursts: inside a poll, the frames a lane sends (replies, a
	 * round's SYNs and rumors) are copied into a batch of up to this
	 * many and handed to the driver in one tx_burst when the poll ends
	 * (or the batch is full): one kick of the device per burst instead
	 * of one per frame.  Costs tx_batch x frame_budget bytes per lane.
	 * 0 or 1 (the default, for the simulator's thousands of nodes):
	 * every frame is handed over at once.  Sends outside a poll (API
	 * calls) always go at once. */
	unsigned tx_batch;

	/* The application's API (engine/hearsay.h). */
	uint32_t notify_bytes;		/* notice queue; default 1 MiB */
	unsigned event_retention;	/* events kept per origin; default 64 */
};

struct hs_node_stats {
	uint64_t rounds;
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t tx_dropped;		/* the driver did not take it */
	uint64_t rx_bad;		/* failed to decode (every class) */
	uint64_t rx_other_cluster;
	uint64_t rx_self;		/* our own frames coming back */
	uint64_t rx_unauth;		/* not sealed by a key we hold: no or
					 * bad tag, unknown key, or AUTH set on
					 * a node without keys */
	uint64_t rx_replay;		/* authentic, but seen before or of an
					 * older generation of its sender */
	uint64_t tx_unsealed;		/* not sent: no primary key */
	uint64_t rx_rate_limited;	/* over peer_frames_per_s */
	uint64_t rx_unexpected;		/* valid but not for a node: probes */
	uint64_t syn_sent;
	uint64_t ack_sent;
	uint64_t ack2_sent;
	uint64_t ack_empty;		/* SYNs in sync: no ACK sent */
	uint64_t syn_replies;		/* summary SYNs that differ: answered
					 * with a SYN of digests */
	uint64_t push_sent;		/* rumor frames, rounds and at once */
	uint64_t push_now_limited;	/* at-once pushes refused by the rate */
	uint64_t rumors;		/* updates being pushed now */
	uint64_t rumors_dropped;	/* rumor list full: oldest dropped */
	uint64_t members;		/* peers its sampler knows */
	/* membership and failure detection */
	uint64_t probes;		/* PINGs started */
	uint64_t probe_acks;		/* answered, directly or relayed */
	uint64_t ping_reqs;		/* PING_REQs sent to relays */
	uint64_t probes_failed;		/* no answer at all */
	uint64_t probes_heartbeat;	/* unanswered, but a newer heartbeat
					 * of the target came through gossip */
	uint64_t probes_busy;		/* no free probe slot */
	uint64_t probes_misdirected;	/* PINGs for another node id */
	uint64_t acks_late;		/* ACKs for no probe in flight */
	uint64_t relayed;		/* probes run for others */
	uint64_t suspicions;		/* members this node suspected */
	uint64_t deaths;		/* suspicions this node confirmed */
	uint64_t refutes;		/* suspicions of us refuted */
	uint64_t revived;		/* members back from suspect/dead */
	uint64_t forgotten;		/* dead/left members forgotten */
	uint64_t dead_probes;		/* dead members told so */
	uint64_t stalls;		/* our own stalls measured */
	uint64_t stall_ns;		/* their total length */
	uint64_t suspects_overflow;	/* timers left to the scan */
	uint64_t mb_rumors_dropped;	/* member rumor list full */
	uint64_t mb_nomem;
	uint64_t notices_dropped;	/* notice queue full */
};

/* One lane's counters: written by its thread (relaxed), read by any. */
struct hs_lane_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_bad;		/* failed to decode (every class) */
	uint64_t rx_other_cluster;
	uint64_t rx_self;		/* our own frames coming back */
	uint64_t rx_unauth;
	uint64_t rx_replay;
	uint64_t tx_unsealed;
	uint64_t rx_rate_limited;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t tx_dropped;		/* the driver did not take it */
	uint64_t ack_sent;
	uint64_t ack2_sent;
	uint64_t ack_empty;		/* SYNs in sync: no ACK sent */
	uint64_t syn_replies;		/* summary SYNs answered with a SYN */
	uint64_t merged;		/* entries this lane installed */
	uint64_t fwd_frames;		/* lanes 1..: frames handed over */
	uint64_t fwd_changes;		/* lanes 1..: entries handed over */
	uint64_t fwd_dropped;		/* lanes 1..: ring full */
	uint64_t polls;
};

#define HS_NODE_LANES_MAX	64
#define HS_NODE_RATE_SLOTS	4096	/* senders tracked per lane (2-way) */
#define HS_NODE_TX_BATCH_MAX	256

/* Defaults for fields left zero. */
void hs_node_params_default(struct hs_node_params *p);

/* enum hs_syn_mode of "auto", "summary" or "digests" (gossip.syn), or -1. */
int hs_syn_mode_parse(const char *name);

/*
 * Create a node and its table.  The caller is a registered QSBR thread,
 * online.  Returns 0, -EINVAL (bad parameters), -ENOMEM.
 */
int hs_node_create(const struct hs_node_params *p, struct hs_node **out);
void hs_node_destroy(struct hs_node *n);

/*
 * Do what is due: receive a burst and answer it, and run a round when its
 * time has come.  Never blocks.  Returns the number of frames handled plus
 * rounds run (0: nothing was due).
 */
int hs_node_poll(struct hs_node *n);

/* When the next round is due (clock time, ns). */
uint64_t hs_node_next_round(const struct hs_node *n);

/* The node's table and its context, for local writes and reads from the
 * node's thread. */
struct hs_table *hs_node_table(struct hs_node *n);
struct hs_table_ctx *hs_node_table_ctx(struct hs_node *n);

/*
 * Node metadata travels as reserved keys of the owner's own key space
 * (as Cassandra's application states do): it replicates, merges and
 * converges with everything else, and a node that holds an owner's state
 * holds its address.  Value of hs.addr: family (1), pad (1), port (2, big
 * endian), address (16).
 */
#define HS_KEY_ADDR		"hs.addr"
#define HS_KEY_ADDR_LEN		7
#define HS_ADDR_VALUE_LEN	20
/* The hs.addr value of an address, and back (-EINVAL: not one). */
void hs_addr_encode(const struct hs_addr *a, uint8_t v[HS_ADDR_VALUE_LEN]);
int hs_addr_decode(const uint8_t *v, size_t len, struct hs_addr *a);

/* Totals over every lane (rx, tx, acks) and the primary's own counters.
 * The node's thread. */
void hs_node_stats(const struct hs_node *n, struct hs_node_stats *s);

/* ---- lanes ---- */

struct hs_lane;

/*
 * Open lane idx (1..n_lanes-1) of node n on io, from the thread that will
 * poll it (a registered QSBR reader, online): it takes table context idx.
 * The node must outlive the lane; io's frame_max must hold frame_budget.
 * Returns 0, -EINVAL, -EEXIST (open already) or -ENOMEM.
 */
int hs_lane_open(struct hs_node *n, unsigned idx, struct hs_pktio *io,
		 struct hs_lane **out);

/* Receive a burst on the lane, answer it, hand over the rest.  Never
 * blocks.  Returns the frames handled. */
int hs_lane_poll(struct hs_lane *l);

/* Close the lane, from its thread.  What it forwarded and the primary has
 * not taken yet is still taken; the ring is freed with the node. */
void hs_lane_close(struct hs_lane *l);

/* A lane's counters (0 <= idx < n_lanes; a lane never opened reads 0).
 * Any thread. */
void hs_node_lane_stats(const struct hs_node *n, unsigned idx,
			struct hs_lane_stats *s);

/* Lanes call wake(arg) after handing the primary something, so that an
 * adaptive worker sleeping with the primary looks at it before its next
 * round (hs_worker_wake).  Set on the node's thread before lanes open. */
void hs_node_set_wake(struct hs_node *n, void (*wake)(void *arg), void *arg);

/*
 * Leave the cluster gracefully: our record becomes `left` (incarnation
 * raised, so it wins everywhere) and is pushed at once and with the next
 * rounds; we stop probing and suspecting.  Keep polling until
 * hs_node_left() is true (a few rounds), then destroy the node.
 */
void hs_node_leave(struct hs_node *n);
bool hs_node_left(const struct hs_node *n);

#ifdef __cplusplus
}
#endif

#endif /* HS_NODE_H */
