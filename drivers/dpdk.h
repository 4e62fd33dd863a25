/*
 * hearsay DPDK driver: gossip datagrams over rte_ethdev, on any poll-mode
 * driver (a NIC bound to vfio-pci, or a virtual device: net_af_packet,
 * net_af_xdp, net_tap, net_memif, net_ring...).
 *
 * A DPDK-owned port has no kernel behind it, so this driver is the host's
 * whole network stack for the port, through drivers/l2: it builds and
 * checks Ethernet/IPv4/UDP headers (with checksums), answers ARP for our
 * IP, resolves its peers with ARP, and counts and drops everything else.
 *
 * Layout: hs_dpdk_init() starts the EAL once per process.  A port
 * (hs_dpdk_port_open) is one ethdev with n_queues RX/TX queue pairs and one
 * mbuf pool; queue q is one struct hs_pktio (hs_dpdk_queue), to be driven
 * by one worker thread (an lcore), which owns that RX queue, that TX queue
 * and everything of the handle: its ARP table, its counters, the mbufs of
 * its last burst.
 *
 * Spreading: with n_queues > 1 and a device that offers RSS, the port hashes
 * IPv4/UDP flows (source and destination address and port) over the
 * queues.  Senders vary their UDP source port over me.port ..
 * me.port + n_ports - 1, one port per destination (a hash of it), so that
 * the flows of one sender spread over a receiver's queues; the receiver
 * takes the whole range as its own, so replies come back to that port.  A
 * device without RSS (hs_dpdk_info.rss_hf == 0) either spreads by itself
 * (net_af_packet with qpairs > 1: the kernel's PACKET_FANOUT_HASH; net_tap:
 * the kernel's multiqueue tun) or delivers everything to queue 0.
 *
 * ARP with several queues: an ARP frame is not IPv4/UDP, so RSS does not
 * hash it: every ARP frame lands on one queue (queue 0, usually), yet every
 * queue needs the neighbours it resolves.  Each queue keeps its own ARP
 * table (struct hs_l2_arp is single-threaded, and a shared one would put a
 * lock on the hot path), and the queue that receives an ARP frame
 *   - learns from it and sends the reply, if one is due (only that queue
 *     answers, so a request gets one reply);
 *   - passes the very same mbuf (reference count raised, no copy) to each
 *     other queue's ARP ring, an rte_ring with many producers and one
 *     consumer, which the owner drains at the start of its next rx_burst
 *     or tx_burst (up to 32 frames each) and learns from in turn.
 * So a neighbour learned on any queue is known to every other queue by its
 * next burst, before it looks the neighbour up to send.  That ring is the
 * only state queues share on the hot path, and it carries ARP frames only
 * (a few per neighbour per ARP ttl).  Each queue also asks for its own
 * unresolved neighbours, at most once per 100 ms per neighbour and queue
 * (HS_L2_ARP_RETRY_NS).
 *
 * Checksums: IPv4 and UDP checksums are computed by the device when it
 * offers both TX offloads (hs_dpdk_info.tx_csum_offload), in software
 * otherwise, or, with no_udp_csum, the UDP one is sent as 0 ("none", RFC
 * 768, as VXLAN senders do): a pass over the datagram saved per frame
 * where the Ethernet FCS guards the link.  Received ones are always
 * checked in software by hs_l2_parse when not 0.
 *
 * Virtual devices, as measured with DPDK 22.11: net_af_packet, net_af_xdp,
 * net_memif, net_ring and net_null offer no checksum offload, net_tap
 * offers IPv4/UDP TX checksums (it computes them in software); net_null
 * and net_tap report RSS hash types (net_null has nothing to spread, and
 * a multiqueue tap is spread by the kernel's tun anyway), the others none
 * (net_af_packet with qpairs > 1 is spread by PACKET_FANOUT).  Two traps:
 * on a veth whose kernel side has TX checksum offload on, the kernel's
 * UDP datagrams leave with a partial checksum, and net_af_packet did not
 * deliver them at all (measured: ARP works, datagrams vanish), so turn it
 * off there (ethtool -K <peer> tx off); and net_tap gives the kernel's tap
 * interface the port's MAC, so the kernel's ARP requests look like our own
 * frames looped back until the kernel side gets another MAC.
 *
 * mbufs: a received gossip datagram stays in its mbuf, and the engine
 * reads it in place until the next rx_burst on the handle, which frees the
 * previous burst (engine/pktio.h).  Everything else is freed where it is
 * sorted; every frame the device does not take is freed and counted.
 * hs_dpdk_mbufs_in_use() is there to prove it.
 *
 * Thread context: hs_dpdk_init, hs_dpdk_fini, port open and close: the
 * control thread, with no worker inside a burst.  A queue handle: its one
 * worker thread (rx_burst, tx_burst, close).  Stats and info: any thread.
 * A worker the EAL did not launch should call rte_thread_register() first:
 * with an lcore id, its mbufs come from a per-lcore mempool cache instead
 * of the pool's shared ring (correct either way, slower without).
 */
#ifndef HS_DRIVERS_DPDK_H
#define HS_DRIVERS_DPDK_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/l2.h"
#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_DPDK_BURST_MAX	64	/* frames per rx_burst at most */
#define HS_DPDK_QUEUES_MAX	64
#define HS_DPDK_DESC_DEFAULT	1024
#define HS_DPDK_ARP_CAPACITY	1024	/* neighbours per queue, default */
#define HS_DPDK_ARP_TTL_NS	(60ull * 1000000000ull)	/* default */

/*
 * Start the EAL: rte_eal_init with argv[0] = "hearsay" followed by the argc
 * arguments given (EAL options only: "--no-huge", "-m", "512", "--vdev",
 * "net_af_packet0,iface=eth1", "-a", "0000:01:00.0"...; argv may be NULL
 * when argc is 0).  The arguments are copied.
 *
 * Returns 0, -EALREADY when the EAL is up (once per process: the EAL cannot
 * be started again, even after hs_dpdk_fini), or the EAL's error negated:
 * -EINVAL for an argument it refused (the EAL names it on stderr, and the
 * whole command line is logged), -EACCES (not root, no hugepages
 * permission), -ENOMEM, -ENODEV, -EPROTO...  After an -EINVAL, a corrected
 * call may be made.  Control thread, before any other call of this API.
 */
int hs_dpdk_init(int argc, const char *const *argv);

/*
 * Close the ports still open (logged: a port should be closed by its
 * owner), stop the EAL (rte_eal_cleanup) and, for a primary process,
 * remove the files the EAL leaves in its runtime directory
 * (/var/run/dpdk/<file-prefix>) and the directory when that empties it.
 * A no-op when hs_dpdk_init did not succeed.  Control thread.
 */
void hs_dpdk_fini(void);

/* A neighbour with a fixed MAC: never asked for, never aged. */
struct hs_dpdk_neigh {
	uint8_t ip[4];
	uint8_t mac[6];
};

struct hs_dpdk_port_params {
	const char *dev;		/* the port's name as the EAL knows
					 * it: "0000:01:00.0", "net_tap0",
					 * or a name given to
					 * rte_eth_from_rings() */
	unsigned n_queues;		/* RX/TX queue pairs, one per worker,
					 * 1..64; default 1 */
	unsigned rx_desc;		/* per RX queue, default 1024; the
					 * device's limits apply (rounded) */
	unsigned tx_desc;		/* per TX queue, default 1024 */
	unsigned n_mbufs;		/* pool size; default: enough for
					 * every descriptor, burst, cache and
					 * ARP ring of every queue */
	unsigned burst;			/* frames per rx_burst at most,
					 * 1..64; default 32 */
	struct hs_l2_if me;		/* ip and port required; mac all zero:
					 * the port's own; n_ports: the source
					 * port range (see the top); mtu 0:
					 * 1500 */
	bool promiscuous;		/* take frames to any MAC (they are
					 * then sorted as "other") */
	unsigned arp_capacity;		/* neighbours per queue, default
					 * 1024 */
	uint64_t arp_ttl_ns;		/* learned neighbours live this long
					 * after their last ARP frame; default
					 * 60 s */
	const struct hs_dpdk_neigh *neighbours;	/* static entries */
	unsigned n_neighbours;
	bool no_udp_csum;		/* a device without UDP checksum
					 * offload: send 0 (none) instead of
					 * computing it in software */
};

/* What a port was set up with, as the device allowed it. */
struct hs_dpdk_info {
	uint16_t port_id;
	char driver[32];		/* "net_af_packet", "net_ixgbe"... */
	uint8_t mac[6];			/* ours (me.mac) */
	bool mac_set;			/* me.mac was given and differs from
					 * the device's: set on the device,
					 * or promiscuous when it refused */
	bool promiscuous;
	unsigned n_queues;
	unsigned rx_desc, tx_desc;	/* after the device's limits */
	unsigned n_mbufs;
	uint16_t mtu;
	uint64_t rss_hf;		/* RTE_ETH_RSS_* hashed on; 0: no RSS
					 * (one queue, or the device has
					 * none for IPv4/UDP) */
	uint64_t rss_capa;		/* what the device offers
					 * (flow_type_rss_offloads) */
	bool tx_csum_offload;		/* IPv4 and UDP checksums by the
					 * device */
	bool fast_free;			/* RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE */
};

/* Per queue (and, for the rte_eth_stats part, per port) counters. */
struct hs_dpdk_stats {
	uint64_t rx_frames;		/* taken from the device */
	uint64_t rx_gossip;		/* handed to the engine */
	uint64_t rx_bad[HS_L2_BAD_MAX];	/* ours, malformed, by reason */
	uint64_t rx_other;		/* not ours (another MAC, IP, port or
					 * protocol): no kernel takes them
					 * here, so dropped */
	uint64_t rx_multiseg;		/* chained mbufs (a frame larger
					 * than an mbuf): dropped */
	uint64_t arp_in;		/* ARP frames received on this queue */
	uint64_t arp_bad;		/* of those, refused by
					 * hs_l2_arp_input */
	uint64_t arp_shared;		/* ARP frames of other queues
					 * learned from (their ARP ring) */
	uint64_t arp_share_drops;	/* not passed on: a full ARP ring */
	uint64_t arp_replies;		/* replies sent */
	uint64_t arp_requests;		/* requests sent */
	uint64_t tx_unresolved;		/* datagrams dropped: no MAC yet */
	uint64_t tx_nombuf;		/* frames dropped: pool empty */
	uint64_t tx_full;		/* frames the device did not take */
	uint64_t tx_invalid;		/* datagrams not IPv4 or too long */
	/* port-wide, from rte_eth_stats_get */
	uint64_t port_rx_nombuf;	/* the device had no mbuf */
	uint64_t port_imissed;		/* the device had no descriptor */
	uint64_t port_ierrors;
	uint64_t port_oerrors;
	struct hs_l2_arp_stats arp;	/* this queue's table */
};

struct hs_dpdk_port;

/*
 * Configure and start the port named p->dev: n_queues queue pairs, RSS
 * over IPv4/UDP when n_queues > 1 and the device offers it, checksum
 * offloads when it offers them, descriptors clamped to its limits, an mbuf
 * pool on its NUMA socket, MTU me.mtu.  Learns nothing from the network yet
 * (static neighbours excepted).
 *
 * Returns 0, -ENODEV (no such port), -EBUSY (already opened here),
 * -EINVAL (bad parameters; a port without a MAC of its own needs me.mac;
 * more queues than the device has; an MTU it cannot take), -ENOMEM, or
 * what ethdev returned.  Control thread.
 */
int hs_dpdk_port_open(const struct hs_dpdk_port_params *p,
		      struct hs_dpdk_port **out);

/*
 * The handle of queue q (0 .. n_queues - 1) in *out, or -EINVAL.  The
 * handle belongs to the port: hs_pktio_close on it only drops its pending
 * burst and ARP ring, and it may be fetched again.  Control thread.
 */
int hs_dpdk_queue(struct hs_dpdk_port *port, unsigned q,
		  struct hs_pktio **out);

/*
 * Stop and close the device, free the queues, their ARP tables and rings
 * and the mbuf pool.  No worker may be in a burst on it.  mbufs of this
 * pool that something else still holds (a peer port's queue, for ports
 * wired to each other in memory) must have been released: the count left
 * is logged.  NULL is a no-op.  Control thread.
 */
void hs_dpdk_port_close(struct hs_dpdk_port *port);

void hs_dpdk_port_info(const struct hs_dpdk_port *port,
		       struct hs_dpdk_info *info);

/* A snapshot of a queue handle's counters, plus the port's.  Any
 * thread. */
void hs_dpdk_queue_stats(const struct hs_pktio *io, struct hs_dpdk_stats *st);

/* mbufs of the port's pool taken now (rte_mempool_in_use_count): by the
 * device's RX rings, TX rings in flight, bursts held.  Any thread. */
unsigned hs_dpdk_mbufs_in_use(const struct hs_dpdk_port *port);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_DPDK_H */
