/*
 * hearsay L2 framing: Ethernet II + IPv4 + UDP around gossip datagrams, and
 * ARP, for the drivers that see whole Ethernet frames (dpdk, afpacket) and
 * must build and check every header themselves.
 *
 * What goes out: one gossip datagram per frame, never fragmented (DF set,
 * a payload over mtu - 28 is refused: gossip frames are sized to the MTU by
 * the engine).  Frames shorter than the 60-byte Ethernet minimum are padded
 * with zeros, because some NICs and PMDs do not pad runts themselves and
 * some switches drop them; the receiver finds the real end in the IPv4
 * total length.
 *
 * What comes in: hs_l2_parse() sorts every frame into gossip for us, ARP,
 * not ours (another host, protocol or port: the driver counts and drops
 * it, or AF_PACKET leaves it to the kernel) and bad (addressed to us but
 * malformed, with a reason for per-reason counters).  It reads nothing
 * past the length it is given and never writes into the frame.  Bytes
 * after the IPv4 total length (Ethernet padding, a kept FCS) are ignored.
 *
 * This version is IPv4 only, untagged only (a VLAN-tagged frame is
 * HS_L2_OTHER: let the NIC strip the tag), and does no routing: ARP
 * resolves on-link neighbours; a peer behind a router needs a static
 * neighbour entry mapping its IP to the router's MAC.
 *
 * ARP: a fixed-size neighbour table (struct hs_l2_arp), open addressing,
 * all memory allocated at create.  Entries learned from ARP age out after
 * ttl; static entries (configured neighbours) never do.  A datagram for a
 * neighbour not yet resolved is dropped and counted by the driver, not
 * held: gossip sends again next round, and holding would need a queue per
 * neighbour.  Lookups ask for a new ARP request at most once per IP per
 * HS_L2_ARP_RETRY_NS, and ask early for a neighbour in use (in the last
 * quarter of its ttl) so that traffic to it never stops at expiry.
 *
 * Thread context: the framing functions are pure (reentrant, any thread).
 * A struct hs_l2_arp belongs to one thread, which makes every call on it
 * except hs_l2_arp_stats(), which any thread may call (relaxed counters).
 * Time is passed in (now_ns, any monotonic clock), so the simulator can run
 * this in virtual time.
 */
#ifndef HS_DRIVERS_L2_H
#define HS_DRIVERS_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_L2_ETH_HLEN		14	/* dst MAC, src MAC, ethertype */
#define HS_L2_IP4_HLEN		20	/* without options: we send none */
#define HS_L2_UDP_HLEN		8
#define HS_L2_HDR_LEN		42	/* where the payload starts */
#define HS_L2_FRAME_MIN		60	/* Ethernet minimum, without FCS */
#define HS_L2_ARP_FRAME_LEN	60	/* an ARP frame we build, padded */
#define HS_L2_MTU_DEFAULT	1500
#define HS_L2_MTU_MIN		68	/* RFC 791: every host takes 68 */

/* The largest frame for an IP MTU (no FCS): size TX buffers with it. */
#define HS_L2_FRAME_MAX(mtu)	(HS_L2_ETH_HLEN + (mtu))

/* A lookup asks for an ARP request for one IP at most once per 100 ms:
 * a neighbour answers in microseconds, and one that never does costs 10
 * broadcasts a second. */
#define HS_L2_ARP_RETRY_NS	100000000ull

/* Our side of the link. */
struct hs_l2_if {
	uint8_t mac[6];		/* unicast */
	uint8_t ip[4];		/* IPv4 only in this version */
	uint16_t port;		/* our gossip UDP port */
	uint16_t n_ports;	/* UDP ports port .. port + n_ports - 1 are
				 * ours (0 or 1: just port).  A sender that
				 * varies its source port to spread its flows
				 * over the receivers' RSS queues gets the
				 * replies on that port, so it must take the
				 * whole range. */
	uint16_t mtu;		/* IP MTU, 68..65535, 0: 1500; the largest
				 * payload is mtu - 28 */
};

/* The IP MTU of an interface (0 means the default). */
static inline unsigned
hs_l2_mtu(const struct hs_l2_if *me)
{
	return me->mtu != 0 ? me->mtu : HS_L2_MTU_DEFAULT;
}

/* The largest gossip payload on the interface: the driver's frame_max. */
static inline unsigned
hs_l2_payload_max(const struct hs_l2_if *me)
{
	return hs_l2_mtu(me) - HS_L2_IP4_HLEN - HS_L2_UDP_HLEN;
}

/*
 * Check an interface description once, when the driver opens: 0, or
 * -EINVAL for a MAC that is zero or multicast, an IP that is not a unicast
 * host address (0/8, 127/8, 224/4, 240/4), port 0, a port range past
 * 65535, or an mtu below 68.  The other functions assume a checked one.
 */
int hs_l2_if_check(const struct hs_l2_if *me);

/*
 * Internet checksum (RFC 1071).  hs_l2_csum_add returns sum plus the one's
 * complement sum of len bytes read as big-endian 16-bit words (an odd last
 * byte padded with a zero), folded to 16 bits, not complemented.  Chain
 * pieces by passing each result as the next sum; every piece but the last
 * must have an even length.  hs_l2_csum is the checksum to write into a
 * header (the complement); a header that carries a correct one sums to
 * 0xFFFF, so hs_l2_csum over it is 0.
 */
uint16_t hs_l2_csum_add(uint16_t sum, const void *data, size_t len);

static inline uint16_t
hs_l2_csum(const void *data, size_t len)
{
	return (uint16_t)~hs_l2_csum_add(0, data, len);
}

/*
 * Build an Ethernet II + IPv4 + UDP frame carrying payload (len bytes) to
 * dst (family 4, port != 0) at dst_mac, from me, into buf (cap bytes).
 *
 * IPv4: version 4, IHL 5, DSCP/ECN 0, identification *ip_id (then
 * incremented; NULL: 0, which RFC 6864 allows with DF), DF set, TTL 64,
 * protocol 17, header checksum.  UDP: source port src_port (!= 0: any port
 * of our range, to vary the flow hash), destination dst->port, length, and
 * the checksum over the pseudo-header (a computed 0 sent as 0xFFFF, RFC
 * 768) when udp_csum, else 0 (none; for a NIC that fills it in).
 * Frames under HS_L2_FRAME_MIN are zero-padded to it.
 *
 * payload may already sit at buf + HS_L2_HDR_LEN (then it is not copied,
 * so an encoder can write in place); otherwise it must not overlap buf.
 *
 * Returns the frame length (>= 60), -EMSGSIZE when len is over mtu - 28
 * (no IP fragmentation, ever), or -EINVAL: a NULL pointer, dst not IPv4,
 * port 0, mtu below 68, or cap too small for the frame
 * (HS_L2_FRAME_MAX(mtu) is always enough).  Any thread.
 */
int hs_l2_build_udp(uint8_t *buf, size_t cap, const struct hs_l2_if *me,
		    const uint8_t dst_mac[6], const struct hs_addr *dst,
		    uint16_t src_port, uint16_t *ip_id, const void *payload,
		    uint16_t len, bool udp_csum);

enum hs_l2_kind {
	HS_L2_GOSSIP,		/* a UDP datagram for our ip and ports */
	HS_L2_ARP,		/* to our MAC or broadcast: hs_l2_arp_input */
	HS_L2_OTHER,		/* not ours: count and drop, or leave it to
				 * the kernel */
	HS_L2_BAD,		/* ours, malformed: count under *why, drop */
};

/* Why a frame addressed to us was refused, for per-reason counters. */
enum hs_l2_bad {
	HS_L2_BAD_TRUNC,	/* ends inside its Ethernet or IPv4 header,
				 * or before its IPv4 total length */
	HS_L2_BAD_IP_HDR,	/* ethertype IPv4 but version != 4, or
				 * IHL < 5 */
	HS_L2_BAD_IP_CSUM,	/* IPv4 header checksum */
	HS_L2_BAD_FRAGMENT,	/* MF set or fragment offset != 0: we send
				 * none and reassemble none */
	HS_L2_BAD_IP_LEN,	/* total length below 28 (IP + UDP) */
	HS_L2_BAD_TOO_LONG,	/* IPv4 datagram over our MTU */
	HS_L2_BAD_UDP_LEN,	/* UDP length != IPv4 total length - 20 */
	HS_L2_BAD_UDP_CSUM,	/* nonzero and wrong */
	HS_L2_BAD_SRC,		/* source not a unicast host: multicast MAC,
				 * IP 0/8, 127/8, 224/4 or 240/4, or
				 * port 0 (we could not answer it) */
	HS_L2_BAD_MAX
};

/* A short name for a reason ("trunc", "ip_csum"...), for metrics. */
const char *hs_l2_bad_name(enum hs_l2_bad why);

/*
 * Sort a received frame (len bytes, without FCS or with it: trailing bytes
 * are ignored).
 *
 * HS_L2_GOSSIP: Ethernet to our MAC, IPv4 without options to our IP, not a
 * fragment, UDP to one of our ports, every length and checksum right (a
 * UDP checksum of 0 means none was sent).  *pkt gets the payload (data
 * points into frame, so it lives as long as the frame does), its length
 * and peer = the source IP and port.
 * HS_L2_ARP: ethertype ARP to our MAC or broadcast; hand it to
 * hs_l2_arp_input.
 * HS_L2_OTHER: another destination MAC, IP or port, another ethertype
 * (IPv6, VLAN tags), another IP protocol (TCP, ICMP...), IPv4 options.
 * HS_L2_BAD: *why (when why != NULL) says what was wrong; a frame shorter
 * than an Ethernet header is BAD (trunc).
 *
 * me must have passed hs_l2_if_check; pkt must not be NULL.  *pkt is
 * written only for HS_L2_GOSSIP, *why only for HS_L2_BAD.  Any thread.
 */
enum hs_l2_kind hs_l2_parse(const uint8_t *frame, size_t len,
			    const struct hs_l2_if *me, struct hs_pkt *pkt,
			    enum hs_l2_bad *why);

/* ---- ARP ---- */

struct hs_l2_arp;

struct hs_l2_arp_stats {
	uint64_t n_entries;	/* now, static ones included */
	uint64_t n_static;	/* now */
	uint64_t learned;	/* a MAC learned for an IP that had none
				 * (new, asked for, or expired) */
	uint64_t refreshed;	/* a known MAC confirmed or changed */
	uint64_t expired;	/* entries reclaimed after their ttl */
	uint64_t refused;	/* a new entry, learned or asked for, refused
				 * because the table was full */
	uint64_t requests;	/* lookups that asked for a request */
	uint64_t replies;	/* replies built for requests for our IP */
	uint64_t conflicts;	/* ARP from another MAC claiming our IP */
};

/*
 * Create a table of capacity entries (1..1048576; static ones count) whose
 * learned entries live ttl_ns (> 0) after the last ARP frame that
 * confirmed them.  It takes 128 to 256 bytes per entry (two arrays of
 * 32-byte slots, a power of two at least twice the capacity), allocated
 * here and never again.  Returns 0, -EINVAL or -ENOMEM.  Control thread.
 */
int hs_l2_arp_create(unsigned capacity, uint64_t ttl_ns,
		     struct hs_l2_arp **out);

/* NULL is a no-op. */
void hs_l2_arp_destroy(struct hs_l2_arp *a);

/*
 * Add or replace a static entry: ip at mac, never aged, never changed by
 * ARP (a learned entry for ip becomes static).  Returns 0, -EINVAL (ip not
 * a unicast host address, mac zero or multicast) or -ENOSPC (table full of
 * entries that have not expired; counted in refused).  Owner thread.
 */
int hs_l2_arp_static(struct hs_l2_arp *a, const uint8_t ip[4],
		     const uint8_t mac[6]);

/*
 * The MAC to send to ip at time now_ns.
 *
 * Returns 0 with *mac filled, or -EAGAIN when ip is not resolved (unknown,
 * expired, or asked for and not answered yet): the caller drops the
 * datagram and counts it; gossip sends again next round.  -EINVAL for an
 * ip that is not a unicast host address (there is nothing to resolve).
 *
 * *send_request is always written: true when the caller should send
 * hs_l2_arp_request for ip now.  That is the case for an unresolved ip,
 * and for a resolved learned one in the last quarter of its ttl (to
 * refresh it before it expires), at most once per HS_L2_ARP_RETRY_NS per
 * ip.  An unknown ip takes an entry, to remember the request; when the
 * table is full (see stats.refused) it is -EAGAIN without a request, since
 * the answer could not be stored either.  Owner thread.
 */
int hs_l2_arp_lookup(struct hs_l2_arp *a, const uint8_t ip[4],
		     uint64_t now_ns, uint8_t mac[6], bool *send_request);

/*
 * Build a broadcast ARP request from me for ip into buf (cap bytes).
 * Returns HS_L2_ARP_FRAME_LEN, or -EINVAL (NULL, cap too small).  Any
 * thread.
 */
int hs_l2_arp_request(uint8_t *buf, size_t cap, const struct hs_l2_if *me,
		      const uint8_t ip[4]);

/*
 * Handle a received ARP frame (one hs_l2_parse called HS_L2_ARP).
 *
 * Learns per RFC 826's merge rule: the sender's entry is updated if it
 * exists (a static one is left alone), and added if the target IP is ours
 * (a request for us or a reply to us; a gratuitous ARP or a request for
 * another host adds nothing).  Nothing is learned from a probe (sender IP
 * 0.0.0.0), from our own MAC (our frame looped back), or for our IP
 * (another host claims it: counted in conflicts).
 *
 * A request for our IP (a probe included) gets a reply: built into
 * reply_buf (reply_cap >= HS_L2_ARP_FRAME_LEN; it may be frame itself, to
 * answer in place), unicast to the requester, op 2, our MAC and IP as
 * sender, theirs as target.  A full table does not stop the reply.
 *
 * Returns the reply's length (> 0) to send, 0 when nothing is due, or a
 * negative errno for a frame the caller counts as malformed:
 *   -EBADMSG  shorter than Ethernet + 28 bytes of ARP, not ethertype ARP,
 *             sender MAC zero or multicast, sender IP in 0/8 (0.0.0.0
 *             excepted), 127/8, 224/4 or 240/4;
 *   -EPROTO   not Ethernet/IPv4 (htype, ptype, hlen, plen), or op not
 *             1 or 2;
 * and -EINVAL for a NULL argument or a reply_buf too short.  Owner thread.
 */
int hs_l2_arp_input(struct hs_l2_arp *a, const uint8_t *frame, size_t len,
		    const struct hs_l2_if *me, uint64_t now_ns,
		    uint8_t *reply_buf, size_t reply_cap);

/* A snapshot of the counters.  Any thread. */
void hs_l2_arp_stats(const struct hs_l2_arp *a, struct hs_l2_arp_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_L2_H */
