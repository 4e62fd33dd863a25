/*
 * hearsay kernel UDP driver: gossip frames over plain UDP sockets, for
 * laptops, CI and many nodes on one machine.  Needs no privilege.
 *
 * One handle is one non-blocking socket bound to an address and port,
 * moving bursts with recvmmsg(2) and sendmmsg(2): one system call per
 * burst each way.  Several handles may bind the same address and port
 * (SO_REUSEPORT, params.reuseport): the kernel then spreads the datagrams
 * of different senders over them, one handle per worker.
 *
 * Received datagrams land in buffers owned by the handle (burst x
 * frame_max bytes, allocated at open) and stay valid until the next
 * rx_burst, as engine/pktio.h requires.  tx_burst never waits: a datagram
 * the kernel will not take now (a full socket buffer: EAGAIN, ENOBUFS) or
 * cannot send (no route, too large) is dropped and counted in tx_drops,
 * and the burst goes on with the next one.  Datagrams longer than
 * frame_max arriving here are counted in rx_drops (truncated, MSG_TRUNC).
 *
 * Thread context: a handle is used by one thread at a time (pktio.h).
 */
#ifndef HS_DRIVERS_UDP_H
#define HS_DRIVERS_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_UDP_BURST_MAX	64

struct hs_udp_params {
	struct hs_addr local;		/* family 4 or 6; port 0: the kernel
					 * picks one (read it in io->local) */
	uint16_t frame_max;		/* largest datagram; default 1472 */
	unsigned burst;			/* datagrams per rx_burst call at
					 * most, 1..64; default 32 */
	bool reuseport;			/* SO_REUSEPORT: one handle per worker
					 * on the same address and port */
	int rcvbuf;			/* SO_RCVBUF bytes, 0: the kernel's */
	int sndbuf;			/* SO_SNDBUF bytes, 0: the kernel's */
};

/*
 * Open a handle.  Returns 0, or a negative errno: -EINVAL (bad
 * parameters), -EADDRINUSE (taken, and not by a reuseport handle),
 * -EADDRNOTAVAIL (no such local address), -ENOMEM, or what socket(2),
 * setsockopt(2) or bind(2) returned.
 */
int hs_udp_open(const struct hs_udp_params *p, struct hs_pktio **out);

/* The socket, for an adaptive worker that blocks in poll(2) when idle.
 * The handle keeps owning it. */
int hs_udp_fd(const struct hs_pktio *io);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_UDP_H */
