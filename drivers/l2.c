/*
 * hearsay L2 framing and ARP.  See l2.h for the API.
 *
 * Headers are read and written a byte at a time at fixed offsets, never
 * through a struct cast onto the buffer: a frame starts wherever the NIC
 * or the ring put it (an IPv4 header sits at offset 14, not 4-aligned),
 * and byte accesses cost nothing next to the cache miss on the frame.
 *
 * hs_l2_parse checks in the order that decides "ours" first and pays for
 * checksums last: destination MAC, ethertype, IPv4 version and IHL,
 * destination IP, protocol, options, header checksum, fragment bits,
 * lengths, destination port, UDP length, UDP checksum, source.  So a frame
 * for another host or port is HS_L2_OTHER without a checksum computed, and
 * a frame that reaches HS_L2_GOSSIP had every byte of its headers covered
 * by a check (the Ethernet source MAC excepted: nothing covers it, and
 * nothing uses it).
 *
 * ARP table: open addressing with linear probing over a power of two of
 * 32-byte slots, at least twice the capacity, so probes stay short (load
 * at most 1/2) and an empty slot always ends a probe.  Entries are never
 * deleted one by one (linear probing would need a backward shift per
 * deletion, or tombstones that lengthen every probe).  Instead, when an
 * insert finds the table at capacity, the table is rebuilt without the
 * entries that are reclaimable (learned and expired, or asked for and not
 * answered within HS_L2_ARP_RETRY_NS), into a spare array allocated at
 * create.  gc_after_ns, a lower bound on the time the next entry becomes
 * reclaimable, keeps a full table of live entries from being rebuilt again
 * and again: until then an insert into a full table is refused in O(1).
 * A rebuild costs O(slots) and happens at most once per expiry when full.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/l2.h"
#include "engine/util.h"

#define HS_L2_ETHERTYPE_IP4	0x0800
#define HS_L2_ETHERTYPE_ARP	0x0806
#define HS_L2_IPPROTO_UDP	17
#define HS_L2_IP4_TTL		64
#define HS_L2_IP4_DF		0x4000
#define HS_L2_IP4_MF		0x2000
#define HS_L2_IP4_OFFSET	0x1fff
#define HS_L2_ARP_LEN		28	/* Ethernet/IPv4 ARP body */

/* Offsets in a frame. */
#define OFF_ETH_DST		0
#define OFF_ETH_SRC		6
#define OFF_ETH_TYPE		12
#define OFF_IP			14
#define OFF_IP_LEN		(OFF_IP + 2)
#define OFF_IP_ID		(OFF_IP + 4)
#define OFF_IP_FRAG		(OFF_IP + 6)
#define OFF_IP_TTL		(OFF_IP + 8)
#define OFF_IP_PROTO		(OFF_IP + 9)
#define OFF_IP_CSUM		(OFF_IP + 10)
#define OFF_IP_SRC		(OFF_IP + 12)
#define OFF_IP_DST		(OFF_IP + 16)
#define OFF_UDP			(OFF_IP + HS_L2_IP4_HLEN)
#define OFF_UDP_SPORT		(OFF_UDP + 0)
#define OFF_UDP_DPORT		(OFF_UDP + 2)
#define OFF_UDP_LEN		(OFF_UDP + 4)
#define OFF_UDP_CSUM		(OFF_UDP + 6)
#define OFF_ARP			14
#define OFF_ARP_HTYPE		(OFF_ARP + 0)
#define OFF_ARP_PTYPE		(OFF_ARP + 2)
#define OFF_ARP_HLEN		(OFF_ARP + 4)
#define OFF_ARP_PLEN		(OFF_ARP + 5)
#define OFF_ARP_OP		(OFF_ARP + 6)
#define OFF_ARP_SHA		(OFF_ARP + 8)
#define OFF_ARP_SPA		(OFF_ARP + 14)
#define OFF_ARP_THA		(OFF_ARP + 18)
#define OFF_ARP_TPA		(OFF_ARP + 24)

#define HS_L2_ARP_OP_REQUEST	1
#define HS_L2_ARP_OP_REPLY	2

static const uint8_t hs_l2_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline bool
hs_l2_mac_unicast(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, 6) != 0;
}

/* An address a host may have: not "this network" (0/8), loopback (127/8),
 * multicast (224/4) or reserved and broadcast (240/4). */
static inline bool
hs_l2_ip_host(const uint8_t *ip)
{
	return ip[0] != 0 && ip[0] != 127 && ip[0] < 224;
}

int
hs_l2_if_check(const struct hs_l2_if *me)
{
	unsigned n;

	if (me == NULL)
		return -EINVAL;
	n = me->n_ports != 0 ? me->n_ports : 1;
	if (!hs_l2_mac_unicast(me->mac) || !hs_l2_ip_host(me->ip) ||
	    me->port == 0 || (unsigned)me->port + n - 1 > 65535 ||
	    (me->mtu != 0 && me->mtu < HS_L2_MTU_MIN))
		return -EINVAL;
	return 0;
}

/* ---- checksum ---- */

uint16_t
hs_l2_csum_add(uint16_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t a0 = 0, a1 = 0;
	uint16_t r;

	/*
	 * RFC 1071 section 2: the one's complement sum does not depend on
	 * byte order.  Sum host-order words and swap the folded result once,
	 * instead of swapping every word: the loop is plain loads and adds
	 * (two 64-bit reads a turn, split into 32-bit halves so that no
	 * carry is lost before 2^32 turns, into two accumulators), which runs
	 * at about two bytes a cycle.  A 32-bit word hi:lo is hi + lo modulo
	 * 0xffff, so 32-bit halves sum like 16-bit words.
	 */
	while (len >= 16) {
		uint64_t x, y;

		memcpy(&x, p, 8);
		memcpy(&y, p + 8, 8);
		a0 += (x & 0xffffffffu) + (x >> 32);
		a1 += (y & 0xffffffffu) + (y >> 32);
		p += 16;
		len -= 16;
	}
	a0 += a1;
	while (len >= 4) {
		uint32_t x;

		memcpy(&x, p, 4);
		a0 += x;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t x;

		memcpy(&x, p, 2);
		a0 += x;
		p += 2;
		len -= 2;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len != 0)
		a0 += p[0];		/* big-endian p[0]:0, loaded */
	while (a0 >> 16)
		a0 = (a0 & 0xffff) + (a0 >> 16);
	r = (uint16_t)(((a0 & 0xff) << 8) | (a0 >> 8));
#else
	if (len != 0)
		a0 += (uint32_t)p[0] << 8;
	while (a0 >> 16)
		a0 = (a0 & 0xffff) + (a0 >> 16);
	r = (uint16_t)a0;
#endif
	/* chain: one's complement add of the caller's running sum */
	a0 = (uint64_t)r + sum;
	return (uint16_t)((a0 & 0xffff) + (a0 >> 16));
}

/* Sum of the UDP pseudo-header (RFC 768): source, destination, zero,
 * protocol, UDP length. */
static uint16_t
hs_l2_pseudo_sum(const uint8_t *src, const uint8_t *dst, uint16_t udp_len)
{
	uint8_t tail[4] = { 0, HS_L2_IPPROTO_UDP, (uint8_t)(udp_len >> 8),
			    (uint8_t)udp_len };
	uint16_t s = hs_l2_csum_add(0, src, 4);

	s = hs_l2_csum_add(s, dst, 4);
	return hs_l2_csum_add(s, tail, 4);
}

/* ---- build ---- */

int
hs_l2_build_udp(uint8_t *buf, size_t cap, const struct hs_l2_if *me,
		const uint8_t dst_mac[6], const struct hs_addr *dst,
		uint16_t src_port, uint16_t *ip_id, const void *payload,
		uint16_t len, bool udp_csum)
{
	uint16_t ip_len = (uint16_t)(HS_L2_IP4_HLEN + HS_L2_UDP_HLEN + len);
	uint16_t udp_len = (uint16_t)(HS_L2_UDP_HLEN + len), c;
	size_t flen = HS_L2_HDR_LEN + (size_t)len;

	if (buf == NULL || me == NULL || dst_mac == NULL || dst == NULL ||
	    (payload == NULL && len != 0) || dst->family != 4 ||
	    dst->port == 0 || src_port == 0 ||
	    (me->mtu != 0 && me->mtu < HS_L2_MTU_MIN))
		return -EINVAL;
	if (len > hs_l2_payload_max(me))
		return -EMSGSIZE;
	if (flen < HS_L2_FRAME_MIN)
		flen = HS_L2_FRAME_MIN;
	if (cap < flen)
		return -EINVAL;

	if (len != 0 && payload != buf + HS_L2_HDR_LEN)
		memcpy(buf + HS_L2_HDR_LEN, payload, len);
	memset(buf + HS_L2_HDR_LEN + len, 0, flen - HS_L2_HDR_LEN - len);

	memcpy(buf + OFF_ETH_DST, dst_mac, 6);
	memcpy(buf + OFF_ETH_SRC, me->mac, 6);
	wr16(buf + OFF_ETH_TYPE, HS_L2_ETHERTYPE_IP4);

	buf[OFF_IP] = 0x45;		/* version 4, IHL 5 */
	buf[OFF_IP + 1] = 0;		/* DSCP 0 (best effort), not ECN */
	wr16(buf + OFF_IP_LEN, ip_len);
	wr16(buf + OFF_IP_ID, ip_id != NULL ? (*ip_id)++ : 0);
	wr16(buf + OFF_IP_FRAG, HS_L2_IP4_DF);
	buf[OFF_IP_TTL] = HS_L2_IP4_TTL;
	buf[OFF_IP_PROTO] = HS_L2_IPPROTO_UDP;
	wr16(buf + OFF_IP_CSUM, 0);
	memcpy(buf + OFF_IP_SRC, me->ip, 4);
	memcpy(buf + OFF_IP_DST, dst->addr, 4);
	wr16(buf + OFF_IP_CSUM, hs_l2_csum(buf + OFF_IP, HS_L2_IP4_HLEN));

	wr16(buf + OFF_UDP_SPORT, src_port);
	wr16(buf + OFF_UDP_DPORT, dst->port);
	wr16(buf + OFF_UDP_LEN, udp_len);
	wr16(buf + OFF_UDP_CSUM, 0);
	if (udp_csum) {
		c = hs_l2_pseudo_sum(me->ip, dst->addr, udp_len);
		c = (uint16_t)~hs_l2_csum_add(c, buf + OFF_UDP, udp_len);
		/* 0 on the wire means "no checksum": send its other
		 * one's complement form (RFC 768) */
		wr16(buf + OFF_UDP_CSUM, c != 0 ? c : 0xffff);
	}
	return (int)flen;
}

/* ---- parse ---- */

static const char *const hs_l2_bad_names[HS_L2_BAD_MAX] = {
	[HS_L2_BAD_TRUNC] = "trunc",
	[HS_L2_BAD_IP_HDR] = "ip_hdr",
	[HS_L2_BAD_IP_CSUM] = "ip_csum",
	[HS_L2_BAD_FRAGMENT] = "fragment",
	[HS_L2_BAD_IP_LEN] = "ip_len",
	[HS_L2_BAD_TOO_LONG] = "too_long",
	[HS_L2_BAD_UDP_LEN] = "udp_len",
	[HS_L2_BAD_UDP_CSUM] = "udp_csum",
	[HS_L2_BAD_SRC] = "src",
};

const char *
hs_l2_bad_name(enum hs_l2_bad why)
{
	if ((unsigned)why >= HS_L2_BAD_MAX)
		return "unknown";
	return hs_l2_bad_names[why];
}

static inline enum hs_l2_kind
hs_l2_bad(enum hs_l2_bad *why, enum hs_l2_bad reason)
{
	if (why != NULL)
		*why = reason;
	return HS_L2_BAD;
}

enum hs_l2_kind
hs_l2_parse(const uint8_t *frame, size_t len, const struct hs_l2_if *me,
	    struct hs_pkt *pkt, enum hs_l2_bad *why)
{
	unsigned n_ports = me->n_ports != 0 ? me->n_ports : 1;
	uint16_t type, ip_len, udp_len, dport, sport, c;

	if (len < HS_L2_ETH_HLEN)
		return hs_l2_bad(why, HS_L2_BAD_TRUNC);
	type = rd16(frame + OFF_ETH_TYPE);
	if (type == HS_L2_ETHERTYPE_ARP)
		return memcmp(frame + OFF_ETH_DST, me->mac, 6) == 0 ||
		       memcmp(frame + OFF_ETH_DST, hs_l2_bcast, 6) == 0 ?
		       HS_L2_ARP : HS_L2_OTHER;
	if (type != HS_L2_ETHERTYPE_IP4 ||
	    memcmp(frame + OFF_ETH_DST, me->mac, 6) != 0)
		return HS_L2_OTHER;

	if (len < OFF_UDP)
		return hs_l2_bad(why, HS_L2_BAD_TRUNC);
	if (frame[OFF_IP] >> 4 != 4 || (frame[OFF_IP] & 0xf) < 5)
		return hs_l2_bad(why, HS_L2_BAD_IP_HDR);
	if (memcmp(frame + OFF_IP_DST, me->ip, 4) != 0 ||
	    frame[OFF_IP_PROTO] != HS_L2_IPPROTO_UDP)
		return HS_L2_OTHER;
	/* Options: we never send them, and a peer's stack has no reason
	 * to (router alert, timestamps...).  Not gossip. */
	if ((frame[OFF_IP] & 0xf) != 5)
		return HS_L2_OTHER;
	if (hs_l2_csum(frame + OFF_IP, HS_L2_IP4_HLEN) != 0)
		return hs_l2_bad(why, HS_L2_BAD_IP_CSUM);
	/* Fragments are refused, not reassembled: our peers send with DF
	 * and within the MTU, so a fragment is a misconfigured path or an
	 * attack, and reassembly would need memory per flow. */
	if (rd16(frame + OFF_IP_FRAG) & (HS_L2_IP4_MF | HS_L2_IP4_OFFSET))
		return hs_l2_bad(why, HS_L2_BAD_FRAGMENT);
	ip_len = rd16(frame + OFF_IP_LEN);
	if (ip_len < HS_L2_IP4_HLEN + HS_L2_UDP_HLEN)
		return hs_l2_bad(why, HS_L2_BAD_IP_LEN);
	if (ip_len > len - OFF_IP)
		return hs_l2_bad(why, HS_L2_BAD_TRUNC);
	if (ip_len > hs_l2_mtu(me))
		return hs_l2_bad(why, HS_L2_BAD_TOO_LONG);

	dport = rd16(frame + OFF_UDP_DPORT);
	if (dport < me->port || (unsigned)(dport - me->port) >= n_ports)
		return HS_L2_OTHER;
	udp_len = rd16(frame + OFF_UDP_LEN);
	if (udp_len != ip_len - HS_L2_IP4_HLEN)
		return hs_l2_bad(why, HS_L2_BAD_UDP_LEN);
	if (rd16(frame + OFF_UDP_CSUM) != 0) {
		c = hs_l2_pseudo_sum(frame + OFF_IP_SRC, frame + OFF_IP_DST,
				     udp_len);
		if (hs_l2_csum_add(c, frame + OFF_UDP, udp_len) != 0xffff)
			return hs_l2_bad(why, HS_L2_BAD_UDP_CSUM);
	}
	/* Last, on a frame known intact: a source we could not answer
	 * (the engine replies to it, and asks ARP for it). */
	sport = rd16(frame + OFF_UDP_SPORT);
	if ((frame[OFF_ETH_SRC] & 1) != 0 ||
	    !hs_l2_ip_host(frame + OFF_IP_SRC) || sport == 0)
		return hs_l2_bad(why, HS_L2_BAD_SRC);

	pkt->data = frame + HS_L2_HDR_LEN;
	pkt->len = (uint16_t)(udp_len - HS_L2_UDP_HLEN);
	pkt->peer = hs_addr_v4(frame[OFF_IP_SRC], frame[OFF_IP_SRC + 1],
			       frame[OFF_IP_SRC + 2], frame[OFF_IP_SRC + 3],
			       sport);
	return HS_L2_GOSSIP;
}

/* ---- ARP frames ---- */

/* An Ethernet/IPv4 ARP frame, padded to HS_L2_ARP_FRAME_LEN. */
static void
hs_l2_arp_frame(uint8_t *buf, const uint8_t *eth_dst, uint16_t op,
		const uint8_t *sha, const uint8_t *spa, const uint8_t *tha,
		const uint8_t *tpa)
{
	memcpy(buf + OFF_ETH_DST, eth_dst, 6);
	memcpy(buf + OFF_ETH_SRC, sha, 6);
	wr16(buf + OFF_ETH_TYPE, HS_L2_ETHERTYPE_ARP);
	wr16(buf + OFF_ARP_HTYPE, 1);		/* Ethernet */
	wr16(buf + OFF_ARP_PTYPE, HS_L2_ETHERTYPE_IP4);
	buf[OFF_ARP_HLEN] = 6;
	buf[OFF_ARP_PLEN] = 4;
	wr16(buf + OFF_ARP_OP, op);
	memcpy(buf + OFF_ARP_SHA, sha, 6);
	memcpy(buf + OFF_ARP_SPA, spa, 4);
	memcpy(buf + OFF_ARP_THA, tha, 6);
	memcpy(buf + OFF_ARP_TPA, tpa, 4);
	memset(buf + OFF_ARP + HS_L2_ARP_LEN, 0,
	       HS_L2_ARP_FRAME_LEN - OFF_ARP - HS_L2_ARP_LEN);
}

int
hs_l2_arp_request(uint8_t *buf, size_t cap, const struct hs_l2_if *me,
		  const uint8_t ip[4])
{
	static const uint8_t unknown[6];

	if (buf == NULL || me == NULL || ip == NULL ||
	    cap < HS_L2_ARP_FRAME_LEN)
		return -EINVAL;
	hs_l2_arp_frame(buf, hs_l2_bcast, HS_L2_ARP_OP_REQUEST, me->mac,
			me->ip, unknown, ip);
	return HS_L2_ARP_FRAME_LEN;
}

/* ---- ARP table ---- */

enum {
	HS_L2_ARP_EMPTY,
	HS_L2_ARP_DYNAMIC,
	HS_L2_ARP_STATIC,
};

struct hs_l2_arp_slot {
	uint64_t mac_until_ns;	/* dynamic: mac is good before this; 0:
				 * never learned */
	uint64_t req_next_ns;	/* no request for ip before this */
	uint32_t ip;		/* the address as a big-endian number */
	uint8_t mac[6];
	uint8_t state;
	uint8_t pad;
};

struct hs_l2_arp {
	struct hs_l2_arp_slot *slots;
	struct hs_l2_arp_slot *spare;	/* the rebuild copies from here */
	uint32_t mask;			/* slots - 1 */
	unsigned bits;			/* log2(slots) */
	unsigned capacity;
	unsigned n;			/* entries in slots */
	unsigned n_static;
	uint64_t ttl_ns;
	uint64_t gc_after_ns;		/* no dynamic entry reclaimable
					 * before this */
	uint64_t now_ns;		/* the latest time seen */
	struct hs_l2_arp_stats st;
};

#define HS_L2_GAUGE_SET(c, v) __atomic_store_n(&(c), (v), __ATOMIC_RELAXED)

static inline uint32_t
hs_l2_arp_hash(const struct hs_l2_arp *a, uint32_t ip)
{
	/* Fibonacci hashing: addresses of one subnet differ in their low
	 * bits, which the multiply spreads over the top ones we keep. */
	return (uint32_t)(ip * 0x9e3779b1u) >> (32 - a->bits);
}

/* The slot of ip, or the empty slot where it would go: the load is at
 * most 1/2, so an empty slot ends every probe. */
static struct hs_l2_arp_slot *
hs_l2_arp_probe(const struct hs_l2_arp *a, struct hs_l2_arp_slot *slots,
		uint32_t ip)
{
	uint32_t i = hs_l2_arp_hash(a, ip);

	while (slots[i].state != HS_L2_ARP_EMPTY && slots[i].ip != ip)
		i = (i + 1) & a->mask;
	return &slots[i];
}

/* When a dynamic entry may be dropped: its MAC is stale and it is not
 * remembering a request that is still within its retry interval. */
static inline uint64_t
hs_l2_arp_reclaim_ns(const struct hs_l2_arp_slot *s)
{
	return s->mac_until_ns > s->req_next_ns ? s->mac_until_ns :
						  s->req_next_ns;
}

/* Entries' times only grow, so lowering the bound for new entries keeps it
 * a lower bound for all of them. */
static inline void
hs_l2_arp_bound(struct hs_l2_arp *a, const struct hs_l2_arp_slot *s)
{
	uint64_t t = hs_l2_arp_reclaim_ns(s);

	if (t < a->gc_after_ns)
		a->gc_after_ns = t;
}

static void
hs_l2_arp_publish(struct hs_l2_arp *a)
{
	HS_L2_GAUGE_SET(a->st.n_entries, a->n);
	HS_L2_GAUGE_SET(a->st.n_static, a->n_static);
}

/* Rebuild the table without the reclaimable entries (see the top). */
static void
hs_l2_arp_gc(struct hs_l2_arp *a, uint64_t now)
{
	size_t bytes = ((size_t)a->mask + 1) * sizeof(*a->slots);
	uint32_t i;

	memcpy(a->spare, a->slots, bytes);
	memset(a->slots, 0, bytes);
	a->n = 0;
	a->n_static = 0;
	a->gc_after_ns = UINT64_MAX;
	for (i = 0; i <= a->mask; i++) {
		const struct hs_l2_arp_slot *s = &a->spare[i];

		if (s->state == HS_L2_ARP_EMPTY)
			continue;
		if (s->state == HS_L2_ARP_DYNAMIC &&
		    hs_l2_arp_reclaim_ns(s) <= now) {
			HS_COUNTER_INC(a->st.expired);
			continue;
		}
		*hs_l2_arp_probe(a, a->slots, s->ip) = *s;
		a->n++;
		if (s->state == HS_L2_ARP_STATIC)
			a->n_static++;
		else
			hs_l2_arp_bound(a, s);
	}
	hs_l2_arp_publish(a);
}

/* A new dynamic entry for ip (known absent), with no MAC and no request
 * yet, or NULL when the table is full (counted).  The caller sets its
 * times and then calls hs_l2_arp_bound. */
static struct hs_l2_arp_slot *
hs_l2_arp_add(struct hs_l2_arp *a, uint32_t ip, uint64_t now)
{
	struct hs_l2_arp_slot *s;

	if (a->n == a->capacity) {
		if (now >= a->gc_after_ns)
			hs_l2_arp_gc(a, now);
		if (a->n == a->capacity) {
			HS_COUNTER_INC(a->st.refused);
			return NULL;
		}
	}
	s = hs_l2_arp_probe(a, a->slots, ip);
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->state = HS_L2_ARP_DYNAMIC;
	a->n++;
	hs_l2_arp_publish(a);
	return s;
}

static inline void
hs_l2_arp_clock(struct hs_l2_arp *a, uint64_t now)
{
	if (now > a->now_ns)
		a->now_ns = now;
}

int
hs_l2_arp_create(unsigned capacity, uint64_t ttl_ns, struct hs_l2_arp **out)
{
	struct hs_l2_arp *a;
	unsigned bits = 1;

	if (out == NULL || capacity == 0 || capacity > (1u << 20) ||
	    ttl_ns == 0)
		return -EINVAL;
	while ((1u << bits) < 2 * capacity)
		bits++;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->slots = calloc((size_t)1 << bits, sizeof(*a->slots));
	if (a->slots == NULL)
		goto err_slots;
	a->spare = calloc((size_t)1 << bits, sizeof(*a->spare));
	if (a->spare == NULL)
		goto err_spare;
	a->bits = bits;
	a->mask = (1u << bits) - 1;
	a->capacity = capacity;
	a->ttl_ns = ttl_ns;
	a->gc_after_ns = UINT64_MAX;
	*out = a;
	return 0;

err_spare:
	free(a->slots);
err_slots:
	free(a);
	return -ENOMEM;
}

void
hs_l2_arp_destroy(struct hs_l2_arp *a)
{
	if (a == NULL)
		return;
	free(a->slots);
	free(a->spare);
	free(a);
}

int
hs_l2_arp_static(struct hs_l2_arp *a, const uint8_t ip[4],
		 const uint8_t mac[6])
{
	struct hs_l2_arp_slot *s;
	uint32_t key;

	if (a == NULL || ip == NULL || mac == NULL || !hs_l2_ip_host(ip) ||
	    !hs_l2_mac_unicast(mac))
		return -EINVAL;
	key = rd32(ip);
	s = hs_l2_arp_probe(a, a->slots, key);
	if (s->state == HS_L2_ARP_EMPTY) {
		/* the latest time seen decides what the rebuild may drop */
		s = hs_l2_arp_add(a, key, a->now_ns);
		if (s == NULL)
			return -ENOSPC;
	}
	if (s->state != HS_L2_ARP_STATIC) {
		s->state = HS_L2_ARP_STATIC;
		a->n_static++;
		hs_l2_arp_publish(a);
	}
	memcpy(s->mac, mac, 6);
	return 0;
}

/* Ask for a request for s now, if its retry interval allows. */
static inline bool
hs_l2_arp_want_request(struct hs_l2_arp *a, struct hs_l2_arp_slot *s,
		       uint64_t now)
{
	if (now < s->req_next_ns)
		return false;
	s->req_next_ns = now + HS_L2_ARP_RETRY_NS;
	HS_COUNTER_INC(a->st.requests);
	return true;
}

int
hs_l2_arp_lookup(struct hs_l2_arp *a, const uint8_t ip[4], uint64_t now_ns,
		 uint8_t mac[6], bool *send_request)
{
	struct hs_l2_arp_slot *s;
	uint32_t key;

	if (send_request != NULL)
		*send_request = false;
	if (a == NULL || ip == NULL || mac == NULL || send_request == NULL ||
	    !hs_l2_ip_host(ip))
		return -EINVAL;
	hs_l2_arp_clock(a, now_ns);
	key = rd32(ip);
	s = hs_l2_arp_probe(a, a->slots, key);
	if (s->state == HS_L2_ARP_STATIC) {
		memcpy(mac, s->mac, 6);
		return 0;
	}
	if (s->state == HS_L2_ARP_EMPTY) {
		s = hs_l2_arp_add(a, key, now_ns);
		if (s == NULL)
			return -EAGAIN;
		*send_request = hs_l2_arp_want_request(a, s, now_ns);
		hs_l2_arp_bound(a, s);
		return -EAGAIN;
	}
	if (now_ns < s->mac_until_ns) {
		memcpy(mac, s->mac, 6);
		/* in use and in its last quarter: ask again now, so that
		 * the answer refreshes it before it expires */
		if (s->mac_until_ns - now_ns < a->ttl_ns / 4)
			*send_request = hs_l2_arp_want_request(a, s, now_ns);
		return 0;
	}
	*send_request = hs_l2_arp_want_request(a, s, now_ns);
	return -EAGAIN;
}

/* RFC 826's merge: update the sender's entry if there is one, add it only
 * if the frame was for us. */
static void
hs_l2_arp_learn(struct hs_l2_arp *a, const uint8_t *spa, const uint8_t *sha,
		bool for_us, uint64_t now)
{
	uint32_t key = rd32(spa);
	struct hs_l2_arp_slot *s = hs_l2_arp_probe(a, a->slots, key);

	if (s->state == HS_L2_ARP_STATIC)
		return;			/* configured wins */
	if (s->state == HS_L2_ARP_EMPTY) {
		if (!for_us)
			return;
		s = hs_l2_arp_add(a, key, now);
		if (s == NULL)
			return;
	}
	if (now < s->mac_until_ns)
		HS_COUNTER_INC(a->st.refreshed);
	else
		HS_COUNTER_INC(a->st.learned);
	memcpy(s->mac, sha, 6);
	s->mac_until_ns = now + a->ttl_ns;
	hs_l2_arp_bound(a, s);
}

int
hs_l2_arp_input(struct hs_l2_arp *a, const uint8_t *frame, size_t len,
		const struct hs_l2_if *me, uint64_t now_ns,
		uint8_t *reply_buf, size_t reply_cap)
{
	static const uint8_t any_ip[4];
	uint8_t sha[6], spa[4];
	uint16_t op;
	bool for_us, probe;

	if (a == NULL || frame == NULL || me == NULL || reply_buf == NULL ||
	    reply_cap < HS_L2_ARP_FRAME_LEN)
		return -EINVAL;
	if (len < OFF_ARP + HS_L2_ARP_LEN ||
	    rd16(frame + OFF_ETH_TYPE) != HS_L2_ETHERTYPE_ARP)
		return -EBADMSG;
	op = rd16(frame + OFF_ARP_OP);
	if (rd16(frame + OFF_ARP_HTYPE) != 1 ||
	    rd16(frame + OFF_ARP_PTYPE) != HS_L2_ETHERTYPE_IP4 ||
	    frame[OFF_ARP_HLEN] != 6 || frame[OFF_ARP_PLEN] != 4 ||
	    (op != HS_L2_ARP_OP_REQUEST && op != HS_L2_ARP_OP_REPLY))
		return -EPROTO;
	/* copied: the reply may be built over the request, in place */
	memcpy(sha, frame + OFF_ARP_SHA, 6);
	memcpy(spa, frame + OFF_ARP_SPA, 4);
	probe = memcmp(spa, any_ip, 4) == 0;	/* RFC 5227 probe */
	if (!hs_l2_mac_unicast(sha) || (!probe && !hs_l2_ip_host(spa)))
		return -EBADMSG;
	hs_l2_arp_clock(a, now_ns);
	if (memcmp(sha, me->mac, 6) == 0)
		return 0;			/* our own, looped back */
	if (memcmp(spa, me->ip, 4) == 0) {
		/* another host uses our address: the operator must know;
		 * learning it would send our own traffic away */
		HS_COUNTER_INC(a->st.conflicts);
		return 0;
	}
	for_us = memcmp(frame + OFF_ARP_TPA, me->ip, 4) == 0;
	if (!probe)
		hs_l2_arp_learn(a, spa, sha, for_us, now_ns);
	if (op != HS_L2_ARP_OP_REQUEST || !for_us)
		return 0;
	hs_l2_arp_frame(reply_buf, sha, HS_L2_ARP_OP_REPLY, me->mac, me->ip,
			sha, spa);
	HS_COUNTER_INC(a->st.replies);
	return HS_L2_ARP_FRAME_LEN;
}

void
hs_l2_arp_stats(const struct hs_l2_arp *a, struct hs_l2_arp_stats *st)
{
	st->n_entries = HS_COUNTER_READ(a->st.n_entries);
	st->n_static = HS_COUNTER_READ(a->st.n_static);
	st->learned = HS_COUNTER_READ(a->st.learned);
	st->refreshed = HS_COUNTER_READ(a->st.refreshed);
	st->expired = HS_COUNTER_READ(a->st.expired);
	st->refused = HS_COUNTER_READ(a->st.refused);
	st->requests = HS_COUNTER_READ(a->st.requests);
	st->replies = HS_COUNTER_READ(a->st.replies);
	st->conflicts = HS_COUNTER_READ(a->st.conflicts);
}
