/*
 * hearsay in-memory network: the packet I/O driver of the simulator and of
 * multi-node unit tests.
 *
 * A struct hs_memnet is one network; every node opens a port on it at an
 * address and gets a struct hs_pktio (engine/pktio.h).  Datagrams sent with
 * tx_burst are copied, put in flight with a due time in virtual time
 * (now + delay_ns + a uniform 0..jitter_ns), and hs_memnet_advance() moves
 * every datagram due at or before the new time into its destination port's
 * receive queue, in (due time, send order) order.  Loss, duplication and
 * jitter come from one seeded PRNG per net, so the same seed and the same
 * sequence of calls give the same deliveries, bit for bit.  Partitions
 * (groups) and crashes (down ports) are checked at delivery time.
 *
 * It scales to the simulator's 100,000 ports and a million datagrams per
 * virtual round: an idle port costs about 123 bytes (no queue storage until
 * a datagram arrives), address lookup is O(1), and datagram buffers are
 * recycled from per-size-class free lists whose total is capped by
 * max_in_flight_bytes.  See mem.c for the design.
 *
 * Counters: every datagram an up port offers within frame_max is counted in
 * sent; every duplicate the PRNG asks for in duplicated; each of them ends
 * in exactly one of the other counters, so at any time
 *
 *   sent + duplicated == delivered + lost + dropped_partition +
 *                        dropped_down + dropped_queue + dropped_memory +
 *                        in_flight
 *
 * "delivered" means put in the destination's receive queue (what a closed
 * or crashed port had not read yet is not taken back).
 *
 * Thread context: single-threaded.  A net and every port on it are used
 * from one thread (the simulator's, or the test's); nothing is locked and
 * no counter is atomic.
 */
#ifndef HS_DRIVERS_MEM_H
#define HS_DRIVERS_MEM_H

#include <stdint.h>

#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_memnet;

struct hs_memnet_params {
	uint64_t seed;			/* PRNG seed; any value */
	double loss;			/* 0..1, probability a datagram is
					 * dropped on the wire */
	double dup;			/* 0..1, probability it is delivered
					 * twice */
	uint64_t delay_ns;		/* base one-way delay (0: at the next
					 * advance) */
	uint64_t jitter_ns;		/* + uniform 0..jitter_ns; this is also
					 * what reorders */
	unsigned queue_len;		/* per-port receive queue bound,
					 * 1..65535, 0: 256 */
	uint64_t max_in_flight_bytes;	/* cap on datagram buffer memory
					 * (in flight, queued, lent to the last
					 * rx_burst), 0: 1 GiB */
	uint16_t frame_max;		/* largest datagram, <= 9000, 0: 1472 */
};

struct hs_memnet_stats {
	uint64_t sent;			/* offered by an up port, fitting
					 * frame_max */
	uint64_t delivered;		/* into a receive queue */
	uint64_t lost;			/* PRNG loss */
	uint64_t duplicated;		/* extra copies the PRNG asked for */
	uint64_t dropped_partition;	/* sender's group != receiver's, when
					 * due */
	uint64_t dropped_down;		/* receiver down, closed or never
					 * opened, when due */
	uint64_t dropped_queue;		/* receiver's queue full */
	uint64_t dropped_memory;	/* buffer cap reached at tx */
	uint64_t delivered_bytes;	/* payload bytes of delivered */
	uint64_t in_flight;		/* sent, not yet due */
	uint64_t in_flight_bytes;	/* their payload bytes */
	/* Memory, in bytes, for the bounds above (not in the identity). */
	uint64_t held_bytes;		/* buffers of datagrams in flight,
					 * queued or lent (<= the cap) */
	uint64_t pool_bytes;		/* buffers allocated, held or free
					 * (<= the cap) */
	uint64_t port_bytes;		/* port slots and the address index */
};

/* Returns 0, -EINVAL (NULL, loss or dup outside 0..1, queue_len > 65535,
 * frame_max > 9000) or -ENOMEM. */
int hs_memnet_create(const struct hs_memnet_params *p, struct hs_memnet **out);

/* Closes the ports still open (their handles become invalid) and frees
 * everything.  NULL is a no-op. */
void hs_memnet_destroy(struct hs_memnet *net);

/*
 * Opens a port at *local (family 4 or 6) in group 0, up.  The handle is
 * released with hs_pktio_close(); datagrams still in flight to it are then
 * dropped when due (dropped_down), unless a port is open at that address
 * again by then: delivery goes by address, as on a real network.
 * Returns 0, -EINVAL (bad address), -EEXIST (address taken), -ENOMEM (also
 * past 16,777,215 ports).
 */
int hs_memnet_open(struct hs_memnet *net, const struct hs_addr *local,
		   struct hs_pktio **out);

/* Virtual time moves to now_ns (never backwards: an earlier now_ns only
 * delivers what is already due).  Every datagram due at or before it goes
 * to its port's receive queue, or to a drop counter, in (due time, send
 * order) order.  Datagrams sent afterwards are stamped with this time. */
void hs_memnet_advance(struct hs_memnet *net, uint64_t now_ns);

/* The time of the last advance (0 at first). */
uint64_t hs_memnet_now(const struct hs_memnet *net);

/* Due time of the earliest datagram in flight, UINT64_MAX if none: the
 * simulator may advance straight to it. */
uint64_t hs_memnet_next_due(const struct hs_memnet *net);

/* Puts the port at *a in a group; a datagram is delivered only if sender
 * and receiver are in the same group when it is due (a sender closed by
 * then counts with the group it sent from).  Groups belong to the port: a
 * port opened again starts in group 0.  No port at *a: no effect. */
void hs_memnet_set_group(struct hs_memnet *net, const struct hs_addr *a,
			 uint32_t group);

/* Crashes (down != 0) or restores the port at *a.  A down port sends
 * nothing (tx_drops), everything due to it is dropped (dropped_down), and
 * going down loses what was queued for it and not yet read (as a crashed
 * host loses its socket buffers; the last rx_burst stays readable).
 * Returns 0 or -ENOENT (no port at *a). */
int hs_memnet_set_down(struct hs_memnet *net, const struct hs_addr *a,
		       int down);

/* Loss probability from now on; clamped to 0..1 (NaN: 0). */
void hs_memnet_set_loss(struct hs_memnet *net, double loss);

void hs_memnet_stats(const struct hs_memnet *net, struct hs_memnet_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_MEM_H */
