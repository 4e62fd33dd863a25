/*
 * hearsay packet I/O: the one interface between the engine and a driver.
 *
 * The engine knows nothing of the backend (DPDK, AF_PACKET, kernel UDP, the
 * in-memory network of the simulator); a driver knows nothing of gossip.
 * They meet here: datagrams (UDP payloads, one gossip frame each) with a
 * peer address, moved in bursts.  A driver implements struct hs_pktio_ops
 * and hands out struct hs_pktio handles from its own open function
 * (hs_memnet_open, and later the dpdk, afpacket and udp drivers).
 *
 * Rules every driver keeps:
 *   - rx_burst and tx_burst never block and never sleep;
 *   - a datagram received stays readable until the next rx_burst on the
 *     same handle (so the engine decodes it in place, without a copy);
 *     rx_burst with n = 0 just releases the previous burst;
 *   - tx_burst copies what it accepts and returns how many that was; what
 *     it cannot take (a full queue, a link down, too large) it drops and
 *     counts in tx_drops.  It never waits and the caller never retries:
 *     gossip repairs a lost frame in a later round;
 *   - counters are per handle, written by the handle's thread only.
 *
 * Thread context: a handle is used by one thread at a time (its worker).
 */
#ifndef HS_PKTIO_H
#define HS_PKTIO_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An endpoint: IPv4 (family 4, address in addr[0..3], rest zero) or IPv6
 * (family 6), and a UDP port.  pad is always zero, so that drivers may hash
 * the whole struct. */
struct hs_addr {
	uint8_t family;
	uint8_t pad;
	uint16_t port;
	uint8_t addr[16];
};

static inline int
hs_addr_eq(const struct hs_addr *a, const struct hs_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

/* An IPv4 address a.b.c.d:port. */
static inline struct hs_addr
hs_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct hs_addr x;

	memset(&x, 0, sizeof(x));
	x.family = 4;
	x.port = port;
	x.addr[0] = a;
	x.addr[1] = b;
	x.addr[2] = c;
	x.addr[3] = d;
	return x;
}

/* One datagram. */
struct hs_pkt {
	const uint8_t *data;
	uint16_t len;
	struct hs_addr peer;	/* rx: the source; tx: the destination */
};

struct hs_pktio_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_drops;	/* not accepted: queue full, link down */
	uint64_t rx_drops;	/* arrived for us but dropped: queue full */
};

struct hs_pktio;

struct hs_pktio_ops {
	/* Up to n datagrams into pkts; returns how many (>= 0) or a
	 * negative errno for a broken handle. */
	int (*rx_burst)(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n);
	/* Take up to n datagrams (copied); returns how many were taken. */
	int (*tx_burst)(struct hs_pktio *io, const struct hs_pkt *pkts,
			unsigned n);
	/* Release the handle; pending received datagrams are dropped. */
	void (*close)(struct hs_pktio *io);
};

struct hs_pktio {
	const struct hs_pktio_ops *ops;
	struct hs_addr local;		/* our address on this handle */
	uint16_t frame_max;		/* largest datagram it carries */
	struct hs_pktio_stats stats;
};

static inline int
hs_pktio_rx_burst(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n)
{
	return io->ops->rx_burst(io, pkts, n);
}

static inline int
hs_pktio_tx_burst(struct hs_pktio *io, const struct hs_pkt *pkts, unsigned n)
{
	return io->ops->tx_burst(io, pkts, n);
}

static inline void
hs_pktio_close(struct hs_pktio *io)
{
	io->ops->close(io);
}

#ifdef __cplusplus
}
#endif

#endif /* HS_PKTIO_H */
