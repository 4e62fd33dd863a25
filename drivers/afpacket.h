/*
 * hearsay AF_PACKET driver: gossip over an Ethernet interface through the
 * kernel's mmap'ed packet rings, without DPDK.  hearsay's mode for a VM
 * (virtio-net, ENA, vmxnet3...) or a host without a DPDK-bound NIC.  It
 * needs CAP_NET_RAW, and frames its own Ethernet/IPv4/UDP with drivers/l2.
 *
 * One handle is three AF_PACKET sockets on one interface:
 *   rx   TPACKET_V3 ring (blocks of frames, retired by the kernel when full
 *        or after block_timeout_ms), bound to every protocol, with a
 *        classic BPF filter that admits only ARP and IPv4/UDP to our MAC,
 *        IP and port range, never our own sends (PACKET_OUTGOING);
 *   tx   TPACKET_V2 TX ring with PACKET_QDISC_BYPASS, protocol 0 (it
 *        receives nothing); frames are built in their ring slot and the
 *        kernel is kicked once per burst with sendto(MSG_DONTWAIT);
 *   arp  only with fanout_group (below): a small ring of ARP frames.
 *
 * Receive: every frame the ring gives is sorted by hs_l2_parse (the filter
 * saves work, it is not trusted): gossip is handed out in place, pointing
 * into the ring (no copy); ARP goes to the handle's neighbour table and a
 * request for our IP is answered through the TX ring; a frame that is not
 * ours is counted and left alone (AF_PACKET sees copies: the kernel gets
 * the frame anyway); a malformed one is counted by reason.  A block goes
 * back to the kernel at the next rx_burst after its last frame was handed
 * out, so a datagram stays readable until then (engine/pktio.h).
 * TX and the checksums: a VM's virtual NIC offloads nothing for a raw
 * socket, so the UDP checksum is computed in software unless no_udp_csum.
 * A frame a sender on this host (a veth peer, another VM through the
 * host's virtio backend) left with an incomplete UDP checksum
 * (TP_STATUS_CSUMNOTREADY) was never on a wire: its checksum is not
 * checked (counted in csum_partial); its IPv4 header checksum still is.
 * TP_STATUS_CSUM_VALID does not skip the check: virtual devices have
 * vouched for frames they never checked (older veth did), and
 * a checksum over one frame costs little next to its cache misses.
 *
 * Several workers, one interface: fanout_group != 0 joins the handle's rx
 * socket to a PACKET_FANOUT_HASH group, so that the kernel spreads flows
 * (by the IP/UDP 4-tuple hash) over the handles of the group, one per
 * worker, each with its own ring.  ARP would then reach one handle of the
 * group only, and each handle has its own neighbour table (tables are
 * per thread, l2.h).  So with fanout the rx filter drops ARP and each
 * handle opens a second socket outside the group, bound to ETH_P_ARP,
 * with a small mmap'ed ring: every handle sees every ARP frame, learns
 * every neighbour and answers requests (the answers are identical, the
 * requester keeps one).  A ring and not recv(2): an idle rx_burst costs
 * one load per ring, no system call.  ARP is a few frames a second; the
 * price is 8 KiB and two descriptors per handle (the socket, and an epoll
 * descriptor so that a worker polls one: hs_afpacket_fd).
 *
 * ICMP: AF_PACKET gets copies, so when our IP is also the interface's
 * address (the usual VM case) the kernel receives every gossip datagram
 * too, finds no socket on the port and answers port-unreachable, which
 * the peer's kernel turns into ECONNREFUSED.  To stop that, open binds one
 * "holder" UDP socket per port of the range (SO_REUSEPORT, so that every
 * handle of a fanout group can hold the same ports) with a BPF filter that
 * drops everything: the kernel delivers to the holder, which queues
 * nothing and answers nothing (the drops show as UDP InErrors in
 * /proc/net/snmp).  When our IP is not a local address (EADDRNOTAVAIL)
 * the kernel does not take these datagrams and there are no holders
 * (stats.n_holders == 0).  A port held by another socket without
 * SO_REUSEPORT fails the open with -EADDRINUSE.  A kernel UDP socket of
 * the same user on these ports with SO_REUSEPORT would share datagrams
 * with the holders: do not run the udp driver on them.
 *
 * Our MAC: mac all-zero takes the interface's.  Another unicast MAC is
 * added to the interface's unicast filter (PACKET_MR_UNICAST, dropped
 * with the socket) and answered for by our ARP: for an IP that is not the
 * interface's, a second identity on one link.
 *
 * Side effects to know: PACKET_QDISC_BYPASS means our frames skip traffic
 * control and are not seen by tcpdump on this host.  The kernel's block
 * timer runs in jiffies: block_timeout_ms 1 is 4 ms with HZ=250.
 *
 * Thread context: a handle is used by one thread at a time (pktio.h);
 * hs_afpacket_stats may be called from any thread.
 */
#ifndef HS_DRIVERS_AFPACKET_H
#define HS_DRIVERS_AFPACKET_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/l2.h"
#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_AFPACKET_BURST_MAX	64

/* A static neighbour: ip at mac, never asked for, never aged. */
struct hs_afpacket_neigh {
	uint8_t ip[4];
	uint8_t mac[6];
};

struct hs_afpacket_params {
	const char *ifname;		/* the interface, required */
	struct hs_l2_if me;		/* ip and port required; mac all-zero:
					 * the interface's; mtu 0: the
					 * interface's (at most 65535) */
	uint16_t fanout_group;		/* != 0: join this PACKET_FANOUT_HASH
					 * group (per network namespace), one
					 * handle per worker */
	unsigned burst;			/* datagrams per rx_burst at most,
					 * 1..64; default 32 */
	unsigned block_size;		/* RX ring block bytes: a power of two,
					 * a multiple of the page size, room
					 * for a frame of mtu; default 64 KiB
					 * (more for a jumbo mtu) */
	unsigned n_blocks;		/* RX ring blocks, 2..65536, default
					 * 64: at a low rate a block holds
					 * what came in one timeout, so 64
					 * blocks ride out a 64 ms stall; at
					 * line rate 4 MiB of frames */
	unsigned tx_frames;		/* TX ring slots, 1..65536 (rounded
					 * up to fill its pages); default
					 * 256 */
	unsigned block_timeout_ms;	/* RX block retire timeout, 1..1000;
					 * default 1 */
	bool no_udp_csum;		/* send UDP checksum 0 (none) */
	bool no_filter;			/* attach no BPF filter: every frame
					 * of the interface reaches the ring
					 * and is sorted in software (to
					 * debug, or to measure the filter) */
	unsigned arp_capacity;		/* neighbour table entries, default
					 * 1024 */
	uint64_t arp_ttl_ns;		/* learned entries live this long,
					 * default 60 s */
	const struct hs_afpacket_neigh *neigh;	/* static neighbours */
	unsigned n_neigh;
};

/*
 * Open a handle on p->ifname.  Returns 0 with *out set, or a negative
 * errno: -EPERM (no CAP_NET_RAW), -ENODEV (no such interface), -EINVAL
 * (bad parameters; an interface that is not Ethernet; an mtu over the
 * interface's; a block that cannot hold a frame), -EADDRINUSE (a port of
 * the range is bound by a socket without SO_REUSEPORT), -ENOMEM, or what
 * socket(2), setsockopt(2), mmap(2) or bind(2) returned (-EINVAL from
 * PACKET_FANOUT: the group exists with another type or interface).
 * Control thread.
 */
int hs_afpacket_open(const struct hs_afpacket_params *p,
		     struct hs_pktio **out);

/*
 * The descriptor an adaptive worker polls for POLLIN: the rx socket, or
 * with fanout an epoll descriptor over the rx and ARP sockets.  POLLIN
 * when a block was retired (within block_timeout_ms of a frame).  After
 * the link went down the socket also reports POLLERR; rx_burst clears it
 * on an idle pass (one in 256), counted in link_errors.  The handle keeps
 * owning it.
 */
int hs_afpacket_fd(const struct hs_pktio *io);

struct hs_afpacket_stats {
	uint64_t bad[HS_L2_BAD_MAX];	/* for us, malformed, by reason
					 * (hs_l2_bad_name) */
	uint64_t other;			/* not ours: left to the kernel */
	uint64_t outgoing;		/* sends seen on the socket
					 * (PACKET_OUTGOING): skipped */
	uint64_t csum_partial;		/* gossip with its UDP checksum left
					 * to a device (TP_STATUS_
					 * CSUMNOTREADY): not checked */
	uint64_t blocks;		/* RX blocks returned to the kernel */
	uint64_t ring_drops;		/* the RX rings were full (PACKET_
					 * STATISTICS tp_drops, read when the
					 * kernel flags a block or a frame
					 * TP_STATUS_LOSING) */
	uint64_t arp_in;		/* ARP frames handled */
	uint64_t arp_bad;		/* refused by hs_l2_arp_input */
	uint64_t arp_replies;		/* answers sent for our IP */
	uint64_t arp_requests_sent;
	uint64_t tx_unresolved;		/* dropped: neighbour not resolved */
	uint64_t tx_ring_full;		/* dropped: no free TX slot (ARP
					 * frames included) */
	uint64_t tx_invalid;		/* dropped: too long, not IPv4,
					 * port 0 */
	uint64_t tx_kick_errors;	/* sendto() failed; the frames stay
					 * queued for the next kick */
	uint64_t link_errors;		/* ENETDOWN reported on the rx or
					 * ARP socket */
	unsigned n_holders;		/* holder sockets (0: our IP is not
					 * a local address) */
	struct hs_l2_arp_stats arp;	/* the neighbour table */
};

/* A snapshot of the counters (relaxed reads).  Any thread. */
void hs_afpacket_stats(const struct hs_pktio *io,
		       struct hs_afpacket_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_AFPACKET_H */
