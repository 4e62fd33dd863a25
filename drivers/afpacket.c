/*
 * hearsay AF_PACKET driver.  See afpacket.h for the design.
 *
 * Rings and who owns what.  Each ring is shared memory between the kernel
 * and this handle's thread, handed back and forth by a status word: the
 * thread reads a block (rx, TPACKET_V3) or a frame (ARP, TPACKET_V2) once
 * the kernel set TP_STATUS_USER and gives it back with TP_STATUS_KERNEL;
 * it fills a TX slot once the kernel left it TP_STATUS_AVAILABLE and hands
 * it over with TP_STATUS_SEND_REQUEST.  Status words are read with acquire
 * and written with release ordering, so the frame's bytes are never read
 * before the status says they are there, nor handed over before they are
 * written.  The kernel walks each ring in order and so does this code:
 * the next slot is always the one after the last.
 *
 * RX blocks: rx.blk is the block being read (rx.left frames to go, from
 * rx.frame) or the next one to open.  A block whose last frame was taken
 * joins rx.held, the rx.held blocks just before rx.blk, and goes back at
 * the start of the next rx_burst: a datagram handed out stays in the ring
 * until then.  A block read halfway (the burst was full) stays ours
 * without being held, and the next call goes on from its next frame.  When
 * every block is held, the block at rx.blk is ours too (still USER): the
 * walk stops there.
 *
 * Bounded work: one rx_burst looks at 4 x burst frames at most, gossip or
 * not, so a flood of frames that are not ours (the filter is off, or
 * lets them by) costs a bounded time per call and the ring keeps the rest.
 * The ARP ring is read whole (32 frames at most).
 *
 * TX: a slot is built in place by hs_l2_build_udp (no copy but the
 * payload's); ARP requests and replies take slots too.  One sendto() per
 * burst hands everything queued to the kernel, which with MSG_DONTWAIT
 * sends what it can and returns.  A frame the device refused stays
 * SEND_REQUEST and goes with the next kick; the ring is never rewound
 * (the kernel's head and ours would part).  With no free slot, datagrams
 * are dropped and counted.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/afpacket.h"
#include "engine/log.h"
#include "engine/util.h"

#define HS_AFP_LOG		"driver.afpacket"

#define HS_AFP_BURST		32
#define HS_AFP_BLOCK_SIZE	(64u << 10)
#define HS_AFP_BLOCK_SIZE_MAX	(16u << 20)
#define HS_AFP_N_BLOCKS		64
#define HS_AFP_N_BLOCKS_MAX	65536
#define HS_AFP_RING_MAX		(1ull << 30)	/* bytes per RX ring */
#define HS_AFP_TX_FRAMES	256
#define HS_AFP_TX_FRAMES_MAX	65536
#define HS_AFP_TIMEOUT_MS	1
#define HS_AFP_TIMEOUT_MS_MAX	1000
#define HS_AFP_ARP_CAPACITY	1024
#define HS_AFP_ARP_TTL_NS	(60ull * 1000000000ull)

/* What a V3 block spends around one frame: the block descriptor (48),
 * tpacket3_hdr and sockaddr_ll (68), the alignment of the network header
 * (to 16): 130 bytes, rounded up. */
#define HS_AFP_FRAME_ROOM	256
/* tp_frame_size of the V3 ring: V3 packs frames by their real size, this
 * only sets tp_frame_nr for the kernel's checks. */
#define HS_AFP_RX_FRAME		2048
/* ARP ring: 2 pages of 256-byte frames (190 bytes of frame after the
 * headers, an ARP frame needs 42). */
#define HS_AFP_ARP_FRAME	256
#define HS_AFP_ARP_BLOCK	4096
#define HS_AFP_ARP_BLOCKS	2
/* Idle rx_burst calls between two reads of SO_ERROR (see hs_afpacket_fd):
 * a busy-polling worker makes millions a second, an adaptive one woken by
 * POLLERR loops at most this many times. */
#define HS_AFP_ERR_CHECK	256

/* Where a TX frame starts in its V2 slot: the kernel's default
 * (tp_hdrlen - sizeof(struct sockaddr_ll)). */
#define HS_AFP_TX_OFF		TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

struct hs_afp_rx {
	uint8_t *map;
	size_t map_len;
	unsigned block_size;
	unsigned n_blocks;
	unsigned blk;			/* block being read, or next to open */
	unsigned held;			/* finished, given back next call */
	unsigned left;			/* frames left in blk; 0: not open */
	uint8_t *frame;			/* next frame in blk */
};

struct hs_afp_ring {			/* V2: the ARP RX and the TX ring */
	uint8_t *map;
	size_t map_len;
	unsigned frame_size;
	unsigned n_frames;
	unsigned head;			/* next slot, in ring order */
};

struct hs_afpacket {
	struct hs_pktio io;		/* first: the handle is the driver */
	struct hs_l2_if me;
	struct hs_l2_arp *arp;
	unsigned burst;
	unsigned scan_max;		/* frames looked at per rx_burst */
	bool udp_csum;
	bool arp_on_rx;			/* ARP comes on the rx ring (no
					 * fanout), else on the ARP ring */
	uint16_t ip_id;
	unsigned idle;			/* idle rx_burst calls, to
					 * HS_AFP_ERR_CHECK */
	unsigned tx_queued;		/* slots filled since the last kick */
	int fd;				/* rx ring, maybe in a fanout group */
	int arp_fd;			/* fanout: ARP ring, else -1 */
	int tx_fd;
	int ep_fd;			/* fanout: epoll over fd and arp_fd */
	int *holders;
	unsigned n_holders;
	struct hs_afp_rx rx;
	struct hs_afp_ring arp_rx;
	struct hs_afp_ring tx;
	uint8_t arp_reply[HS_L2_ARP_FRAME_LEN];
	struct hs_afpacket_stats st;	/* counters: written by the handle's
					 * thread, read by any */
};

static inline struct hs_afpacket *
hs_afp_of(struct hs_pktio *io)
{
	return (struct hs_afpacket *)io;
}

/* ---- counters ---- */

/* Collect the kernel's drop count of a ring (PACKET_STATISTICS resets it,
 * and with it the TP_STATUS_LOSING flag).  Called when the kernel flagged
 * a block or frame, so it costs a system call only after a loss.  V2 and
 * V3 sockets both start their statistics with tp_packets, tp_drops. */
static void
hs_afp_collect_drops(struct hs_afpacket *a, int fd)
{
	struct tpacket_stats_v3 s;
	socklen_t sl = sizeof(s);

	memset(&s, 0, sizeof(s));
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &s, &sl) != 0)
		return;
	HS_COUNTER_ADD(a->st.ring_drops, s.tp_drops);
	a->io.stats.rx_drops += s.tp_drops;
}

/* Read and clear a socket's pending error: ENETDOWN after the link went
 * down, which poll(2) would otherwise report forever. */
static void
hs_afp_clear_error(struct hs_afpacket *a, int fd)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err != 0)
		HS_COUNTER_INC(a->st.link_errors);
}

/* ---- TX ring ---- */

static inline struct tpacket2_hdr *
hs_afp_slot(const struct hs_afp_ring *r, unsigned i)
{
	return (struct tpacket2_hdr *)(r->map + (size_t)i * r->frame_size);
}

/* The next TX slot if the kernel is done with it, else NULL (the ring is
 * full: the kernel frees slots in order). */
static inline struct tpacket2_hdr *
hs_afp_tx_slot(struct hs_afpacket *a)
{
	struct tpacket2_hdr *h = hs_afp_slot(&a->tx, a->tx.head);

	if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) !=
	    TP_STATUS_AVAILABLE) {
		HS_COUNTER_INC(a->st.tx_ring_full);
		return NULL;
	}
	return h;
}

static inline uint8_t *
hs_afp_tx_data(struct tpacket2_hdr *h)
{
	return (uint8_t *)h + HS_AFP_TX_OFF;
}

static inline void
hs_afp_tx_commit(struct hs_afpacket *a, struct tpacket2_hdr *h,
		 unsigned len)
{
	h->tp_len = len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
			 __ATOMIC_RELEASE);
	a->tx.head = a->tx.head + 1 == a->tx.n_frames ? 0 : a->tx.head + 1;
	a->tx_queued++;
}

static void
hs_afp_tx_kick(struct hs_afpacket *a)
{
	/* The frames that did not go (a device queue full, the link down)
	 * stay SEND_REQUEST in order and leave with the next kick. */
	if (sendto(a->tx_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		HS_COUNTER_INC(a->st.tx_kick_errors);
	a->tx_queued = 0;
}

/* Queue an ARP frame (a reply built in a->arp_reply): false when the ring
 * is full (counted). */
static bool
hs_afp_tx_copy(struct hs_afpacket *a, const uint8_t *frame, unsigned len)
{
	struct tpacket2_hdr *h = hs_afp_tx_slot(a);

	if (h == NULL)
		return false;
	memcpy(hs_afp_tx_data(h), frame, len);
	hs_afp_tx_commit(a, h, len);
	return true;
}

static void
hs_afp_arp_request(struct hs_afpacket *a, const uint8_t ip[4])
{
	struct tpacket2_hdr *h = hs_afp_tx_slot(a);
	int len;

	if (h == NULL)
		return;
	len = hs_l2_arp_request(hs_afp_tx_data(h),
				a->tx.frame_size - HS_AFP_TX_OFF, &a->me, ip);
	if (len < 0)
		return;
	hs_afp_tx_commit(a, h, (unsigned)len);
	HS_COUNTER_INC(a->st.arp_requests_sent);
}

/* ---- receive ---- */

static void
hs_afp_arp_in(struct hs_afpacket *a, const uint8_t *frame, size_t len,
	      uint64_t *now)
{
	int rc;

	if (*now == 0)
		*now = hs_clock_monotonic(NULL);
	HS_COUNTER_INC(a->st.arp_in);
	rc = hs_l2_arp_input(a->arp, frame, len, &a->me, *now, a->arp_reply,
			     sizeof(a->arp_reply));
	if (rc < 0)
		HS_COUNTER_INC(a->st.arp_bad);
	else if (rc > 0 && hs_afp_tx_copy(a, a->arp_reply, (unsigned)rc))
		HS_COUNTER_INC(a->st.arp_replies);
}

/* A frame whose UDP checksum a local sender left to the device
 * (CHECKSUM_PARTIAL: the field holds the pseudo-header sum only).  It was
 * never on a wire, so nothing can have damaged it: mark it "no checksum"
 * (0) so that hs_l2_parse does not refuse it.  Only a plain IPv4/UDP
 * header is touched; anything else parse sorts as it is. */
static bool
hs_afp_csum_partial(uint8_t *frame, unsigned len)
{
	if (len < HS_L2_HDR_LEN || frame[12] != 0x08 || frame[13] != 0x00 ||
	    frame[HS_L2_ETH_HLEN] != 0x45 || frame[HS_L2_ETH_HLEN + 9] != 17)
		return false;
	frame[HS_L2_HDR_LEN - 2] = 0;
	frame[HS_L2_HDR_LEN - 1] = 0;
	return true;
}

/* Sort one rx ring frame; true when it is gossip, in *pkt. */
static bool
hs_afp_rx_frame(struct hs_afpacket *a, struct tpacket3_hdr *h,
		struct hs_pkt *pkt, uint64_t *now)
{
	const struct sockaddr_ll *sll = (const struct sockaddr_ll *)
		((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
	uint8_t *frame = (uint8_t *)h + h->tp_mac;
	unsigned len = h->tp_snaplen;
	bool partial = false;
	enum hs_l2_bad why;

	if (sll->sll_pkttype == PACKET_OUTGOING) {
		HS_COUNTER_INC(a->st.outgoing);
		return false;
	}
	/* a tag the kernel took off (VID 0 is a priority tag: untagged) */
	if ((h->tp_status & TP_STATUS_VLAN_VALID) &&
	    (h->hv1.tp_vlan_tci & 0x0fff) != 0) {
		HS_COUNTER_INC(a->st.other);
		return false;
	}
	if (h->tp_status & TP_STATUS_CSUMNOTREADY)
		partial = hs_afp_csum_partial(frame, len);
	switch (hs_l2_parse(frame, len, &a->me, pkt, &why)) {
	case HS_L2_GOSSIP:
		if (partial)
			HS_COUNTER_INC(a->st.csum_partial);
		a->io.stats.rx_pkts++;
		a->io.stats.rx_bytes += pkt->len;
		return true;
	case HS_L2_ARP:
		/* with fanout, ARP is the ARP ring's (every handle sees
		 * it there); it reaches this ring only with no_filter */
		if (a->arp_on_rx)
			hs_afp_arp_in(a, frame, len, now);
		return false;
	case HS_L2_OTHER:
		HS_COUNTER_INC(a->st.other);
		return false;
	case HS_L2_BAD:
		HS_COUNTER_INC(a->st.bad[why]);
		return false;
	}
	return false;
}

static inline struct tpacket_block_desc *
hs_afp_block(const struct hs_afp_rx *rx, unsigned i)
{
	return (struct tpacket_block_desc *)(rx->map +
					     (size_t)i * rx->block_size);
}

static inline void
hs_afp_rx_finish(struct hs_afp_rx *rx)
{
	rx->held++;
	rx->blk = rx->blk + 1 == rx->n_blocks ? 0 : rx->blk + 1;
	rx->left = 0;
}

/* Give the held blocks back to the kernel. */
static void
hs_afp_rx_release(struct hs_afpacket *a)
{
	struct hs_afp_rx *rx = &a->rx;
	unsigned i = (rx->blk + rx->n_blocks - rx->held) % rx->n_blocks;

	if (rx->held == 0)
		return;
	HS_COUNTER_ADD(a->st.blocks, rx->held);
	while (rx->held > 0) {
		__atomic_store_n(&hs_afp_block(rx, i)->hdr.bh1.block_status,
				 TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		i = i + 1 == rx->n_blocks ? 0 : i + 1;
		rx->held--;
	}
}

/* Open the block at rx.blk: false when the kernel has not retired it
 * yet, or when it is one we hold. */
static bool
hs_afp_rx_open(struct hs_afpacket *a)
{
	struct hs_afp_rx *rx = &a->rx;

	while (rx->held < rx->n_blocks) {
		struct tpacket_block_desc *bd = hs_afp_block(rx, rx->blk);
		uint32_t status = __atomic_load_n(&bd->hdr.bh1.block_status,
						  __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			return false;
		if (status & TP_STATUS_LOSING)
			hs_afp_collect_drops(a, a->fd);
		if (bd->hdr.bh1.num_pkts != 0) {
			rx->left = bd->hdr.bh1.num_pkts;
			rx->frame = (uint8_t *)bd +
				    bd->hdr.bh1.offset_to_first_pkt;
			return true;
		}
		hs_afp_rx_finish(rx);	/* retired empty: not seen, but
					 * harmless */
	}
	return false;
}

/* Read the whole ARP ring (fanout only); each frame goes back at once,
 * nothing in it is handed out. */
static void
hs_afp_arp_ring(struct hs_afpacket *a, uint64_t *now)
{
	struct hs_afp_ring *r = &a->arp_rx;
	unsigned i;

	for (i = 0; i < r->n_frames; i++) {
		struct tpacket2_hdr *h = hs_afp_slot(r, r->head);
		const struct sockaddr_ll *sll = (const struct sockaddr_ll *)
			((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
		uint32_t status = __atomic_load_n(&h->tp_status,
						  __ATOMIC_ACQUIRE);
		const uint8_t *frame = (uint8_t *)h + h->tp_mac;
		struct hs_pkt unused;
		enum hs_l2_bad why;

		if (!(status & TP_STATUS_USER))
			break;
		if (status & TP_STATUS_LOSING)
			hs_afp_collect_drops(a, a->arp_fd);
		if (sll->sll_pkttype == PACKET_OUTGOING)
			HS_COUNTER_INC(a->st.outgoing);
		else
			switch (hs_l2_parse(frame, h->tp_snaplen, &a->me,
					    &unused, &why)) {
			case HS_L2_ARP:
				hs_afp_arp_in(a, frame, h->tp_snaplen, now);
				break;
			case HS_L2_BAD:
				HS_COUNTER_INC(a->st.bad[why]);
				break;
			default:	/* ARP for another MAC */
				HS_COUNTER_INC(a->st.other);
				break;
			}
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		r->head = r->head + 1 == r->n_frames ? 0 : r->head + 1;
	}
}

static int
hs_afp_rx_burst(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n)
{
	struct hs_afpacket *a = hs_afp_of(io);
	struct hs_afp_rx *rx = &a->rx;
	unsigned k = 0, seen = 0;
	uint64_t now = 0;

	hs_afp_rx_release(a);
	if (n == 0)
		return 0;
	if (n > a->burst)
		n = a->burst;
	if (a->arp_fd >= 0)
		hs_afp_arp_ring(a, &now);
	while (k < n && seen < a->scan_max) {
		struct tpacket3_hdr *h;

		if (rx->left == 0 && !hs_afp_rx_open(a))
			break;
		h = (struct tpacket3_hdr *)rx->frame;
		seen++;
		if (--rx->left != 0)
			rx->frame += h->tp_next_offset;
		else
			hs_afp_rx_finish(rx);	/* h stays readable: the
						 * block is held */
		if (hs_afp_rx_frame(a, h, &pkts[k], &now))
			k++;
	}
	if (seen == 0 && ++a->idle >= HS_AFP_ERR_CHECK) {
		a->idle = 0;
		hs_afp_clear_error(a, a->fd);
		if (a->arp_fd >= 0)
			hs_afp_clear_error(a, a->arp_fd);
	}
	if (a->tx_queued != 0)		/* ARP replies */
		hs_afp_tx_kick(a);
	return (int)k;
}

/* ---- send ---- */

static int
hs_afp_tx_burst(struct hs_pktio *io, const struct hs_pkt *pkts, unsigned n)
{
	struct hs_afpacket *a = hs_afp_of(io);
	uint64_t now = hs_clock_monotonic(NULL);
	unsigned i, taken = 0;
	bool full = false;

	for (i = 0; i < n; i++) {
		const struct hs_pkt *p = &pkts[i];
		struct tpacket2_hdr *h;
		uint8_t mac[6];
		bool ask;
		int rc;

		if (p->peer.family != 4 || p->peer.port == 0 ||
		    p->len > io->frame_max || (p->data == NULL && p->len)) {
			HS_COUNTER_INC(a->st.tx_invalid);
			io->stats.tx_drops++;
			continue;
		}
		rc = hs_l2_arp_lookup(a->arp, p->peer.addr, now, mac, &ask);
		if (ask)
			hs_afp_arp_request(a, p->peer.addr);
		if (rc != 0) {
			/* -EAGAIN: not resolved yet, gossip sends again next
			 * round; -EINVAL: not a host address */
			if (rc == -EAGAIN)
				HS_COUNTER_INC(a->st.tx_unresolved);
			else
				HS_COUNTER_INC(a->st.tx_invalid);
			io->stats.tx_drops++;
			continue;
		}
		h = hs_afp_tx_slot(a);
		if (h == NULL) {
			io->stats.tx_drops++;
			full = true;
			continue;
		}
		rc = hs_l2_build_udp(hs_afp_tx_data(h),
				     a->tx.frame_size - HS_AFP_TX_OFF, &a->me,
				     mac, &p->peer, a->me.port, &a->ip_id,
				     p->data, p->len, a->udp_csum);
		if (rc < 0) {
			HS_COUNTER_INC(a->st.tx_invalid);
			io->stats.tx_drops++;
			continue;
		}
		hs_afp_tx_commit(a, h, (unsigned)rc);
		io->stats.tx_pkts++;
		io->stats.tx_bytes += p->len;
		taken++;
	}
	/* A full ring is kicked too: the frames a kick could not send (the
	 * link was down) wait for one, and with every slot waiting nothing
	 * new is queued to bring it (a node partitioned for a few seconds
	 * stayed mute after the heal, its ring full of them). */
	if (a->tx_queued != 0 || full)
		hs_afp_tx_kick(a);
	return (int)taken;
}

/* ---- close ---- */

static void
hs_afp_unmap(struct hs_afpacket *a)
{
	if (a->rx.map != NULL)
		munmap(a->rx.map, a->rx.map_len);
	if (a->arp_rx.map != NULL)
		munmap(a->arp_rx.map, a->arp_rx.map_len);
	if (a->tx.map != NULL)
		munmap(a->tx.map, a->tx.map_len);
}

static void
hs_afp_close(struct hs_pktio *io)
{
	struct hs_afpacket *a = hs_afp_of(io);
	unsigned i;

	if (a == NULL)
		return;
	hs_afp_unmap(a);
	for (i = 0; i < a->n_holders; i++)
		close(a->holders[i]);
	if (a->ep_fd >= 0)
		close(a->ep_fd);
	if (a->arp_fd >= 0)
		close(a->arp_fd);
	if (a->tx_fd >= 0)
		close(a->tx_fd);
	if (a->fd >= 0)
		close(a->fd);
	hs_l2_arp_destroy(a->arp);
	free(a->holders);
	free(a);
}

static const struct hs_pktio_ops hs_afp_ops = {
	.rx_burst = hs_afp_rx_burst,
	.tx_burst = hs_afp_tx_burst,
	.close = hs_afp_close,
};

/* ---- BPF filters ---- */

static inline uint32_t
hs_afp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int
hs_afp_attach(int fd, struct sock_filter *insns, unsigned n)
{
	struct sock_fprog prog = { .len = (unsigned short)n,
				   .filter = insns };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog)) == 0 ? 0 : -errno;
}

/* Relative jump from instruction `from` to `to`. */
#define J(to, from)	((uint8_t)((to) - (from) - 1))

/*
 * The rx ring's filter: not an outgoing frame, and either ARP (when
 * `arp`) or IPv4 to our MAC and IP, protocol UDP, a fragment (parse counts
 * those as bad) or a destination port in our range.  It reads up to the
 * UDP destination port: a frame cut before that ends here, uncounted.
 */
static int
hs_afp_filter_rx(int fd, const struct hs_l2_if *me, bool arp)
{
	enum { ACCEPT = 19, ARP = 20, DROP = 21 };
	unsigned n_ports = me->n_ports != 0 ? me->n_ports : 1;
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 (uint32_t)SKF_AD_OFF + SKF_AD_PKTTYPE),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING,
				 J(DROP, 1), 0),
		/* 2 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP,
				 J(ARP, 3), 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0,
				 J(DROP, 4)),
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 hs_afp_be32(me->mac), 0, J(DROP, 6)),
		/* 7 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 (uint32_t)me->mac[4] << 8 | me->mac[5], 0,
				 J(DROP, 8)),
		/* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				  hs_afp_be32(me->ip), 0, J(DROP, 10)),
		/* 11 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		/* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0,
				  J(DROP, 12)),
		/* 13 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff,
				  J(ACCEPT, 14), 0),
		/* 15 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		/* 16 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, me->port, 0,
				  J(DROP, 17)),
		/* 18 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K,
				  me->port + n_ports - 1u, J(DROP, 18), 0),
		/* 19 ACCEPT */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		/* 20 ARP */ BPF_STMT(BPF_RET | BPF_K, arp ? 0xffffffffu : 0),
		/* 21 DROP */ BPF_STMT(BPF_RET | BPF_K, 0),
	};

	return hs_afp_attach(fd, f, sizeof(f) / sizeof(f[0]));
}

/* The ARP ring's filter (the socket is bound to ETH_P_ARP): not ours. */
static int
hs_afp_filter_arp(int fd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 (uint32_t)SKF_AD_OFF + SKF_AD_PKTTYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};

	return hs_afp_attach(fd, f, sizeof(f) / sizeof(f[0]));
}

/* The holders' filter: take nothing. */
static int
hs_afp_filter_none(int fd)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, 0) };

	return hs_afp_attach(fd, f, 1);
}

/* ---- open ---- */

static bool
hs_afp_pow2(unsigned x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static unsigned
hs_afp_pow2_ceil(unsigned x)
{
	unsigned p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

/* Defaults, and the checks that need no interface. */
static int
hs_afp_params(struct hs_afpacket_params *p)
{
	if (p->burst == 0)
		p->burst = HS_AFP_BURST;
	if (p->n_blocks == 0)
		p->n_blocks = HS_AFP_N_BLOCKS;
	if (p->tx_frames == 0)
		p->tx_frames = HS_AFP_TX_FRAMES;
	if (p->block_timeout_ms == 0)
		p->block_timeout_ms = HS_AFP_TIMEOUT_MS;
	if (p->arp_capacity == 0)
		p->arp_capacity = HS_AFP_ARP_CAPACITY;
	if (p->arp_ttl_ns == 0)
		p->arp_ttl_ns = HS_AFP_ARP_TTL_NS;
	if (p->ifname == NULL || p->ifname[0] == '\0' ||
	    strlen(p->ifname) >= IFNAMSIZ ||
	    p->burst > HS_AFPACKET_BURST_MAX ||
	    p->n_blocks < 2 || p->n_blocks > HS_AFP_N_BLOCKS_MAX ||
	    p->tx_frames > HS_AFP_TX_FRAMES_MAX ||
	    p->block_timeout_ms > HS_AFP_TIMEOUT_MS_MAX ||
	    (p->neigh == NULL && p->n_neigh != 0))
		return -EINVAL;
	return 0;
}

/* The block size for an mtu: the given one, checked, or the default,
 * raised to hold 4 frames of a jumbo mtu.  0 when the given one is bad. */
static unsigned
hs_afp_block_size(unsigned given, unsigned mtu, unsigned n_blocks)
{
	unsigned need = HS_L2_FRAME_MAX(mtu) + HS_AFP_FRAME_ROOM;
	long page = sysconf(_SC_PAGESIZE);
	unsigned bs = given;

	if (bs == 0) {
		bs = HS_AFP_BLOCK_SIZE;
		while (bs < 4 * need)
			bs <<= 1;
	}
	if (!hs_afp_pow2(bs) || page <= 0 || bs % (unsigned long)page != 0 ||
	    bs < need || bs > HS_AFP_BLOCK_SIZE_MAX ||
	    (uint64_t)bs * n_blocks > HS_AFP_RING_MAX)
		return 0;
	return bs;
}

/* The interface: index, MAC, MTU; completes a->me.  *own_mac tells
 * whether our MAC is the interface's. */
static int
hs_afp_if(struct hs_afpacket *a, const struct hs_afpacket_params *p,
	  int *ifindex, bool *own_mac)
{
	static const uint8_t zero[6];
	struct ifreq ifr;
	unsigned mtu;

	*ifindex = (int)if_nametoindex(p->ifname);
	if (*ifindex == 0)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, p->ifname, IFNAMSIZ - 1);
	if (ioctl(a->fd, SIOCGIFHWADDR, &ifr) != 0)
		return -errno;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EINVAL;		/* our framing is Ethernet */
	a->me = p->me;
	*own_mac = memcmp(a->me.mac, zero, 6) == 0 ||
		   memcmp(a->me.mac, ifr.ifr_hwaddr.sa_data, 6) == 0;
	if (memcmp(a->me.mac, zero, 6) == 0)
		memcpy(a->me.mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(a->fd, SIOCGIFMTU, &ifr) != 0)
		return -errno;
	mtu = ifr.ifr_mtu > 65535 ? 65535 : (unsigned)ifr.ifr_mtu;
	if (a->me.mtu == 0)
		a->me.mtu = (uint16_t)mtu;
	else if (a->me.mtu > mtu)
		return -EINVAL;		/* the device would refuse frames */
	return hs_l2_if_check(&a->me);
}

static int
hs_afp_setopt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) == 0 ? 0 : -errno;
}

static int
hs_afp_bind(int fd, int ifindex, uint16_t proto)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(proto);
	sll.sll_ifindex = ifindex;
	return bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0 ? 0 :
	       -errno;
}

static int
hs_afp_mmap(int fd, size_t len, uint8_t **map)
{
	/* MAP_POPULATE: fault the ring in now, not on the data path */
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	*map = m;
	return 0;
}

/* The rx socket (a->fd, already created): TPACKET_V3 ring, filter, bind,
 * fanout. */
static int
hs_afp_open_rx(struct hs_afpacket *a, const struct hs_afpacket_params *p,
	       int ifindex, bool own_mac)
{
	struct tpacket_req3 req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.tp_block_size = a->rx.block_size;
	req.tp_block_nr = a->rx.n_blocks;
	req.tp_frame_size = HS_AFP_RX_FRAME;
	req.tp_frame_nr = a->rx.block_size / HS_AFP_RX_FRAME * a->rx.n_blocks;
	req.tp_retire_blk_tov = p->block_timeout_ms;
	a->rx.map_len = (size_t)a->rx.block_size * a->rx.n_blocks;
	/* the filter before the bind: no frame enters unfiltered (a socket
	 * of protocol 0 receives nothing until bound) */
	if ((rc = hs_afp_setopt(a->fd, SOL_PACKET, PACKET_VERSION,
				TPACKET_V3)) != 0 ||
	    (!p->no_filter &&
	     (rc = hs_afp_filter_rx(a->fd, &a->me, a->arp_on_rx)) != 0))
		return rc;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req,
		       sizeof(req)) != 0)
		return -errno;
	if ((rc = hs_afp_mmap(a->fd, a->rx.map_len, &a->rx.map)) != 0)
		return rc;
	if (!own_mac) {
		struct packet_mreq mr;

		memset(&mr, 0, sizeof(mr));
		mr.mr_ifindex = ifindex;
		mr.mr_type = PACKET_MR_UNICAST;
		mr.mr_alen = 6;
		memcpy(mr.mr_address, a->me.mac, 6);
		if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
			       sizeof(mr)) != 0)
			return -errno;
	}
	if ((rc = hs_afp_bind(a->fd, ifindex, ETH_P_ALL)) != 0)
		return rc;
	if (p->fanout_group != 0)
		return hs_afp_setopt(a->fd, SOL_PACKET, PACKET_FANOUT,
				     p->fanout_group |
				     PACKET_FANOUT_HASH << 16);
	return 0;
}

/* The ARP socket of a fanout handle: a TPACKET_V2 ring of ARP frames. */
static int
hs_afp_open_arp(struct hs_afpacket *a, int ifindex)
{
	struct tpacket_req req = {
		.tp_block_size = HS_AFP_ARP_BLOCK,
		.tp_block_nr = HS_AFP_ARP_BLOCKS,
		.tp_frame_size = HS_AFP_ARP_FRAME,
		.tp_frame_nr = HS_AFP_ARP_BLOCK / HS_AFP_ARP_FRAME *
			       HS_AFP_ARP_BLOCKS,
	};
	int rc;

	a->arp_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->arp_fd < 0)
		return -errno;
	a->arp_rx.frame_size = req.tp_frame_size;
	a->arp_rx.n_frames = req.tp_frame_nr;
	a->arp_rx.map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	if ((rc = hs_afp_setopt(a->arp_fd, SOL_PACKET, PACKET_VERSION,
				TPACKET_V2)) != 0 ||
	    (rc = hs_afp_filter_arp(a->arp_fd)) != 0)
		return rc;
	if (setsockopt(a->arp_fd, SOL_PACKET, PACKET_RX_RING, &req,
		       sizeof(req)) != 0)
		return -errno;
	if ((rc = hs_afp_mmap(a->arp_fd, a->arp_rx.map_len,
			      &a->arp_rx.map)) != 0)
		return rc;
	return hs_afp_bind(a->arp_fd, ifindex, ETH_P_ARP);
}

/* The TX socket: protocol 0 (it receives nothing), TPACKET_V2 TX ring of
 * power-of-two slots, one or more per page. */
static int
hs_afp_open_tx(struct hs_afpacket *a, unsigned tx_frames, int ifindex)
{
	unsigned fs = hs_afp_pow2_ceil(HS_AFP_TX_OFF +
				       HS_L2_FRAME_MAX(hs_l2_mtu(&a->me)));
	long page = sysconf(_SC_PAGESIZE);
	unsigned bs = page > 0 && fs < (unsigned long)page ?
		      (unsigned)page : fs;
	unsigned per_block = bs / fs;
	struct tpacket_req req;
	int rc;

	a->tx_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->tx_fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = bs;
	req.tp_block_nr = (tx_frames + per_block - 1) / per_block;
	req.tp_frame_size = fs;
	req.tp_frame_nr = req.tp_block_nr * per_block;
	a->tx.frame_size = fs;
	a->tx.n_frames = req.tp_frame_nr;
	a->tx.map_len = (size_t)bs * req.tp_block_nr;
	/* PACKET_LOSS: a frame the kernel finds malformed is skipped, not
	 * left blocking the ring (we build none, but the ring must never
	 * stop) */
	if ((rc = hs_afp_setopt(a->tx_fd, SOL_PACKET, PACKET_VERSION,
				TPACKET_V2)) != 0 ||
	    (rc = hs_afp_setopt(a->tx_fd, SOL_PACKET, PACKET_LOSS, 1)) != 0 ||
	    (rc = hs_afp_setopt(a->tx_fd, SOL_PACKET, PACKET_QDISC_BYPASS,
				1)) != 0)
		return rc;
	if (setsockopt(a->tx_fd, SOL_PACKET, PACKET_TX_RING, &req,
		       sizeof(req)) != 0)
		return -errno;
	if ((rc = hs_afp_mmap(a->tx_fd, a->tx.map_len, &a->tx.map)) != 0)
		return rc;
	return hs_afp_bind(a->tx_fd, ifindex, 0);
}

/* Holder sockets on our IP and every port of the range (see the header):
 * none when the IP is not a local address. */
static int
hs_afp_open_holders(struct hs_afpacket *a)
{
	unsigned n = a->me.n_ports != 0 ? a->me.n_ports : 1, i;
	struct sockaddr_in sin;
	int rc;

	a->holders = calloc(n, sizeof(*a->holders));
	if (a->holders == NULL)
		return -ENOMEM;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a->me.ip, 4);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		a->holders[a->n_holders++] = fd;
		sin.sin_port = htons((uint16_t)(a->me.port + i));
		/* the filter before the bind: nothing is ever queued */
		if ((rc = hs_afp_setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1)) != 0 ||
		    (rc = hs_afp_filter_none(fd)) != 0)
			return rc;
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			continue;
		if (errno != EADDRNOTAVAIL)
			return -errno;
		/* not our host's address: the kernel drops these
		 * datagrams without an answer, nothing to hold */
		while (a->n_holders > 0)
			close(a->holders[--a->n_holders]);
		break;
	}
	return 0;
}

static int
hs_afp_open_epoll(struct hs_afpacket *a)
{
	struct epoll_event ev = { .events = EPOLLIN };

	a->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->ep_fd < 0)
		return -errno;
	ev.data.fd = a->fd;
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->fd, &ev) != 0)
		return -errno;
	ev.data.fd = a->arp_fd;
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->arp_fd, &ev) != 0)
		return -errno;
	return 0;
}

int
hs_afpacket_open(const struct hs_afpacket_params *params,
		 struct hs_pktio **out)
{
	struct hs_afpacket_params p;
	struct hs_afpacket *a;
	bool own_mac = true;
	int ifindex = 0, rc;
	unsigned i;

	if (params == NULL || out == NULL)
		return -EINVAL;
	p = *params;
	if ((rc = hs_afp_params(&p)) != 0)
		return rc;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->io.ops = &hs_afp_ops;
	a->fd = a->arp_fd = a->tx_fd = a->ep_fd = -1;
	a->burst = p.burst;
	a->scan_max = 4 * p.burst;
	a->udp_csum = !p.no_udp_csum;
	a->arp_on_rx = p.fanout_group == 0;

	/* protocol 0: nothing arrives before the ring and filter are set */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		rc = -errno;		/* -EPERM without CAP_NET_RAW */
		goto err;
	}
	if ((rc = hs_afp_if(a, &p, &ifindex, &own_mac)) != 0)
		goto err;
	a->rx.n_blocks = p.n_blocks;
	a->rx.block_size = hs_afp_block_size(p.block_size, hs_l2_mtu(&a->me),
					     p.n_blocks);
	rc = -EINVAL;
	if (a->rx.block_size == 0)
		goto err;
	if ((rc = hs_l2_arp_create(p.arp_capacity, p.arp_ttl_ns,
				   &a->arp)) != 0)
		goto err;
	for (i = 0; i < p.n_neigh; i++)
		if ((rc = hs_l2_arp_static(a->arp, p.neigh[i].ip,
					   p.neigh[i].mac)) != 0)
			goto err;
	if ((rc = hs_afp_open_rx(a, &p, ifindex, own_mac)) != 0 ||
	    (p.fanout_group != 0 &&
	     (rc = hs_afp_open_arp(a, ifindex)) != 0) ||
	    (rc = hs_afp_open_tx(a, p.tx_frames, ifindex)) != 0 ||
	    (rc = hs_afp_open_holders(a)) != 0 ||
	    (p.fanout_group != 0 && (rc = hs_afp_open_epoll(a)) != 0))
		goto err;

	a->io.local = hs_addr_v4(a->me.ip[0], a->me.ip[1], a->me.ip[2],
				 a->me.ip[3], a->me.port);
	a->io.frame_max = (uint16_t)hs_l2_payload_max(&a->me);
	a->st.n_holders = a->n_holders;
	HS_LOG(NOTICE, HS_AFP_LOG,
	       "%s: %u.%u.%u.%u:%u+%u mtu %u, rx %u x %u KiB, tx %u slots, "
	       "fanout %u, %u holders", p.ifname, a->me.ip[0], a->me.ip[1],
	       a->me.ip[2], a->me.ip[3], a->me.port,
	       a->me.n_ports != 0 ? a->me.n_ports : 1, hs_l2_mtu(&a->me),
	       a->rx.n_blocks, a->rx.block_size >> 10, a->tx.n_frames,
	       p.fanout_group, a->n_holders);
	*out = &a->io;
	return 0;
err:
	hs_afp_close(&a->io);
	return rc;
}

int
hs_afpacket_fd(const struct hs_pktio *io)
{
	const struct hs_afpacket *a = (const struct hs_afpacket *)io;

	return a->ep_fd >= 0 ? a->ep_fd : a->fd;
}

void
hs_afpacket_stats(const struct hs_pktio *io, struct hs_afpacket_stats *st)
{
	const struct hs_afpacket *a = (const struct hs_afpacket *)io;
	unsigned i;

	for (i = 0; i < HS_L2_BAD_MAX; i++)
		st->bad[i] = HS_COUNTER_READ(a->st.bad[i]);
	st->other = HS_COUNTER_READ(a->st.other);
	st->outgoing = HS_COUNTER_READ(a->st.outgoing);
	st->csum_partial = HS_COUNTER_READ(a->st.csum_partial);
	st->blocks = HS_COUNTER_READ(a->st.blocks);
	st->ring_drops = HS_COUNTER_READ(a->st.ring_drops);
	st->arp_in = HS_COUNTER_READ(a->st.arp_in);
	st->arp_bad = HS_COUNTER_READ(a->st.arp_bad);
	st->arp_replies = HS_COUNTER_READ(a->st.arp_replies);
	st->arp_requests_sent = HS_COUNTER_READ(a->st.arp_requests_sent);
	st->tx_unresolved = HS_COUNTER_READ(a->st.tx_unresolved);
	st->tx_ring_full = HS_COUNTER_READ(a->st.tx_ring_full);
	st->tx_invalid = HS_COUNTER_READ(a->st.tx_invalid);
	st->tx_kick_errors = HS_COUNTER_READ(a->st.tx_kick_errors);
	st->link_errors = HS_COUNTER_READ(a->st.link_errors);
	st->n_holders = a->st.n_holders;
	hs_l2_arp_stats(a->arp, &st->arp);
}
