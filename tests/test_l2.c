/*
 * drivers/l2: Ethernet/IPv4/UDP framing and ARP (suite "unit").
 *
 * Frames are checked byte by byte against the RFCs, not against the code:
 * the checksums with a separate, deliberately naive RFC 1071 sum, one frame
 * against bytes computed by hand.  Parsing is attacked with every
 * truncation (each its own allocation of exactly that length, so the ASan
 * build catches a read past the end) and every single-byte corruption of a
 * header, and must never yield gossip with the wrong payload or peer.  The
 * ARP table is driven with a fake clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/l2.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

#define MS	1000000ull
#define SEC	1000000000ull

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero6[6];

/* Node A is 10.0.0.1:7946 at mac_a, B is 10.0.0.2:7946 at mac_b. */
static struct hs_l2_if
if_a(void)
{
	struct hs_l2_if me = { .ip = { 10, 0, 0, 1 }, .port = 7946 };

	memcpy(me.mac, mac_a, 6);
	return me;
}

static struct hs_l2_if
if_b(void)
{
	struct hs_l2_if me = { .ip = { 10, 0, 0, 2 }, .port = 7946 };

	memcpy(me.mac, mac_b, 6);
	return me;
}

static struct hs_addr
addr_of(const struct hs_l2_if *me)
{
	return hs_addr_v4(me->ip[0], me->ip[1], me->ip[2], me->ip[3],
			  me->port);
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071 the slow way: byte by byte, even bytes high, end-around carry
 * folded at the end.  Independent of the code under test. */
static uint16_t
ref_sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Sum of pseudo-header + UDP header + payload of a frame as it stands. */
static uint16_t
ref_udp_sum(const uint8_t *f)
{
	uint16_t ulen = be16(f + 38);
	uint8_t *tmp = malloc(12 + (size_t)ulen);
	uint16_t s;

	assert_non_null(tmp);
	memcpy(tmp, f + 26, 4);
	memcpy(tmp + 4, f + 30, 4);
	tmp[8] = 0;
	tmp[9] = 17;
	put16(tmp + 10, ulen);
	memcpy(tmp + 12, f + 34, ulen);
	s = ref_sum(tmp, 12 + (size_t)ulen);
	free(tmp);
	return s;
}

/* After editing headers, make both checksums right again. */
static void
fix_ip_csum(uint8_t *f)
{
	unsigned ihl = (f[14] & 0xf) * 4u;

	put16(f + 24, 0);
	put16(f + 24, (uint16_t)~ref_sum(f + 14, ihl));
}

static void
fix_udp_csum(uint8_t *f)
{
	uint16_t c;

	put16(f + 40, 0);
	c = (uint16_t)~ref_udp_sum(f);
	put16(f + 40, c != 0 ? c : 0xffff);
}

static void
fill_rnd(uint64_t *rs, uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rnd(rs);
}

/* A private MAC (locally administered, unicast) and a host IP in 10/8. */
static void
rnd_if(uint64_t *rs, struct hs_l2_if *me, uint16_t mtu)
{
	uint64_t r = rnd(rs);

	memset(me, 0, sizeof(*me));
	fill_rnd(rs, me->mac, 6);
	me->mac[0] = (uint8_t)((me->mac[0] & 0xfc) | 0x02);
	me->ip[0] = 10;
	me->ip[1] = (uint8_t)r;
	me->ip[2] = (uint8_t)(r >> 8);
	me->ip[3] = (uint8_t)(1 + (r >> 16) % 254);
	me->port = (uint16_t)(1 + (r >> 32) % 65535);
	me->mtu = mtu;
}

/* Every field of a frame built by hs_l2_build_udp, by the RFCs. */
static void
check_built(const uint8_t *f, int flen, const struct hs_l2_if *me,
	    const struct hs_l2_if *to, uint16_t sport, uint16_t id,
	    const uint8_t *payload, uint16_t len, bool csum)
{
	size_t want = 42u + len < 60 ? 60 : 42u + len, i;

	assert_int_equal(flen, want);
	assert_memory_equal(f, to->mac, 6);
	assert_memory_equal(f + 6, me->mac, 6);
	assert_int_equal(be16(f + 12), 0x0800);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(f[15], 0);
	assert_int_equal(be16(f + 16), 28 + len);
	assert_int_equal(be16(f + 18), id);
	assert_int_equal(be16(f + 20), 0x4000);	/* DF, offset 0 */
	assert_int_equal(f[22], 64);
	assert_int_equal(f[23], 17);
	assert_memory_equal(f + 26, me->ip, 4);
	assert_memory_equal(f + 30, to->ip, 4);
	/* a header carrying its checksum sums to 0xffff (negative zero) */
	assert_int_equal(ref_sum(f + 14, 20), 0xffff);
	assert_int_equal(be16(f + 34), sport);
	assert_int_equal(be16(f + 36), to->port);
	assert_int_equal(be16(f + 38), 8 + len);
	if (csum) {
		assert_int_not_equal(be16(f + 40), 0);
		assert_int_equal(ref_udp_sum(f), 0xffff);
	} else {
		assert_int_equal(be16(f + 40), 0);
	}
	if (len != 0)
		assert_memory_equal(f + 42, payload, len);
	for (i = 42u + len; i < want; i++)
		assert_int_equal(f[i], 0);
}

static void
check_gossip(const uint8_t *f, size_t flen, const struct hs_l2_if *rx,
	     const struct hs_l2_if *from, uint16_t sport,
	     const uint8_t *payload, uint16_t len)
{
	struct hs_pkt pkt;
	enum hs_l2_bad why = HS_L2_BAD_MAX;
	struct hs_addr peer = hs_addr_v4(from->ip[0], from->ip[1],
					 from->ip[2], from->ip[3], sport);

	assert_int_equal(hs_l2_parse(f, flen, rx, &pkt, &why), HS_L2_GOSSIP);
	assert_int_equal(pkt.len, len);
	assert_ptr_equal(pkt.data, f + 42);
	if (len != 0)
		assert_memory_equal(pkt.data, payload, len);
	assert_true(hs_addr_eq(&pkt.peer, &peer));
	assert_int_equal(pkt.peer.pad, 0);
}

static enum hs_l2_kind
parse(const uint8_t *f, size_t len, const struct hs_l2_if *rx,
      enum hs_l2_bad *why)
{
	struct hs_pkt pkt;

	*why = HS_L2_BAD_MAX;
	return hs_l2_parse(f, len, rx, &pkt, why);
}

static void
expect_bad(const uint8_t *f, size_t len, const struct hs_l2_if *rx,
	   enum hs_l2_bad want)
{
	enum hs_l2_bad why;

	assert_int_equal(parse(f, len, rx, &why), HS_L2_BAD);
	assert_string_equal(hs_l2_bad_name(why), hs_l2_bad_name(want));
}

static void
expect_other(const uint8_t *f, size_t len, const struct hs_l2_if *rx)
{
	enum hs_l2_bad why;

	assert_int_equal(parse(f, len, rx, &why), HS_L2_OTHER);
}

/* ---- checksum ---- */

static void
test_csum(void **state)
{
	/* RFC 1071, section 3: the example sums to ddf2 */
	static const uint8_t ex[8] = { 0x00, 0x01, 0xf2, 0x03,
				       0xf4, 0xf5, 0xf6, 0xf7 };
	uint64_t rs = test_seed ^ 0x1071;
	uint8_t buf[1600];
	unsigned i;

	(void)state;
	assert_int_equal(hs_l2_csum_add(0, ex, 8), 0xddf2);
	assert_int_equal(hs_l2_csum(ex, 8), 0x220d);
	assert_int_equal(hs_l2_csum_add(0, ex, 0), 0);
	assert_int_equal(hs_l2_csum_add(0, ex, 1), 0x0000);
	assert_int_equal(hs_l2_csum_add(0, ex + 2, 1), 0xf200);
	/* all ones: 0xffff stays the (negative) zero, never folds to 0 */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(hs_l2_csum_add(0, buf, 1500), 0xffff);
	for (i = 0; i < 2000; i++) {
		size_t off = rnd(&rs) % 8, n = rnd(&rs) % 1500, cut;
		uint16_t whole;

		fill_rnd(&rs, buf, sizeof(buf));
		whole = hs_l2_csum_add(0, buf + off, n);
		assert_int_equal(whole, ref_sum(buf + off, n));
		/* chained over two pieces, the first of even length */
		cut = (rnd(&rs) % (n + 1)) & ~(size_t)1;
		assert_int_equal(hs_l2_csum_add(hs_l2_csum_add(0, buf + off,
							       cut),
						buf + off + cut, n - cut),
				 whole);
	}
}

/* ---- build and parse ---- */

/* 10.0.0.1:7946 -> 10.0.0.2:7946, id 0x1234, "hello", by hand:
 * IP:  4500 + 0021 + 1234 + 4000 + 4011 + 0a00 + 0001 + 0a00 + 0002
 *      = eb69, checksum ~eb69 = 1496
 * UDP: pseudo 0a00 + 0001 + 0a00 + 0002 + 0011 + 000d = 1421
 *      header 1f0a + 1f0a + 000d = 3e21
 *      data 6865 + 6c6c + 6f00 = 143d1 -> 43d2
 *      1421 + 3e21 + 43d2 = 9614, checksum ~9614 = 69eb */
static const uint8_t hello_frame[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02,	/* dst MAC */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,	/* src MAC */
	0x08, 0x00,				/* IPv4 */
	0x45, 0x00, 0x00, 0x21,			/* v4 IHL 5, total 33 */
	0x12, 0x34, 0x40, 0x00,			/* id, DF */
	0x40, 0x11, 0x14, 0x96,			/* TTL 64, UDP, csum */
	0x0a, 0x00, 0x00, 0x01,
	0x0a, 0x00, 0x00, 0x02,
	0x1f, 0x0a, 0x1f, 0x0a,			/* ports 7946 */
	0x00, 0x0d, 0x69, 0xeb,			/* length 13, csum */
	'h', 'e', 'l', 'l', 'o',
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* padding to 60 */
};

static void
test_known_frame(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_addr to = addr_of(&b);
	uint8_t buf[1514];
	uint16_t id = 0x1234;

	(void)state;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to,
					 7946, &id, "hello", 5, true), 60);
	assert_memory_equal(buf, hello_frame, 60);
	assert_int_equal(id, 0x1235);
	check_gossip(hello_frame, 60, &b, &a, 7946, (const uint8_t *)"hello",
		     5);
	/* with the 4-byte FCS a NIC may leave on */
	memcpy(buf, hello_frame, 60);
	memset(buf + 60, 0xa5, 4);
	check_gossip(buf, 64, &b, &a, 7946, (const uint8_t *)"hello", 5);
	/* no UDP checksum asked: 0 on the wire, still accepted */
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to,
					 7946, NULL, "hello", 5, false), 60);
	assert_int_equal(be16(buf + 40), 0);
	assert_int_equal(be16(buf + 18), 0);
	check_gossip(buf, 60, &b, &a, 7946, (const uint8_t *)"hello", 5);
}

/* A payload whose UDP checksum computes to 0 goes out as 0xffff. */
static void
test_udp_csum_zero(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_addr to = addr_of(&b);
	uint8_t buf[128], pl[2] = { 0, 0 };
	uint16_t c;

	(void)state;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to,
					 7946, NULL, pl, 2, true), 60);
	/* adding the complement of the sum as payload makes it 0xffff,
	 * so the checksum ~0xffff = 0 */
	c = be16(buf + 40);
	put16(pl, c);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to,
					 7946, NULL, pl, 2, true), 60);
	assert_int_equal(be16(buf + 40), 0xffff);
	assert_int_equal(ref_udp_sum(buf), 0xffff);
	check_gossip(buf, 60, &b, &a, 7946, pl, 2);
}

/* Every payload size 0..mtu - 28, random content and addresses, built,
 * checked field by field, parsed back. */
static void
test_round_trip(void **state)
{
	static const uint16_t mtus[] = { 0, 1500, 576 };
	uint64_t rs = test_seed ^ 0x12;
	static uint8_t buf[1514], payload[1472];
	unsigned m;

	(void)state;
	for (m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
		struct hs_l2_if a, b;
		unsigned len, max;

		rnd_if(&rs, &a, mtus[m]);
		rnd_if(&rs, &b, mtus[m]);
		max = hs_l2_payload_max(&a);
		assert_int_equal(max, (mtus[m] ? mtus[m] : 1500) - 28);
		for (len = 0; len <= max; len++) {
			struct hs_addr to = addr_of(&b);
			uint16_t id = (uint16_t)rnd(&rs), id0 = id;
			uint16_t sport = (uint16_t)(1 + rnd(&rs) % 65535);
			bool csum = rnd(&rs) & 1;
			int flen;

			fill_rnd(&rs, payload, len);
			memset(buf, 0xee, sizeof(buf));
			flen = hs_l2_build_udp(buf, sizeof(buf), &a, b.mac,
					       &to, sport, &id, payload,
					       (uint16_t)len, csum);
			assert_int_equal(id, (uint16_t)(id0 + 1));
			check_built(buf, flen, &a, &b, sport, id0, payload,
				    (uint16_t)len, csum);
			check_gossip(buf, (size_t)flen, &b, &a, sport,
				     payload, (uint16_t)len);
			/* exactly one frame long: nothing written past it */
			if ((size_t)flen < sizeof(buf))
				assert_int_equal(buf[flen], 0xee);
		}
	}
}

/* The payload may already sit where it goes (encode in place). */
static void
test_in_place(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_addr to = addr_of(&b);
	uint64_t rs = test_seed ^ 0x1d;
	static uint8_t buf[1514], want[1472];
	uint16_t len;

	(void)state;
	for (len = 0; len <= 1472; len += 7) {
		int flen;

		fill_rnd(&rs, want, len);
		memcpy(buf + 42, want, len);
		flen = hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 9000,
				       NULL, buf + 42, len, true);
		check_built(buf, flen, &a, &b, 9000, 0, want, len, true);
		check_gossip(buf, (size_t)flen, &b, &a, 9000, want, len);
	}
}

static void
test_build_errors(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b(), j = if_a();
	struct hs_addr to = addr_of(&b), v6 = to;
	static uint8_t buf[9014], pl[9000];

	(void)state;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, pl, 1472, true), 1514);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, pl, 1473, true), -EMSGSIZE);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, pl, 65535, true), -EMSGSIZE);
	j.mtu = 9000;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &j, mac_b, &to, 1,
					 NULL, pl, 8972, true), 9014);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &j, mac_b, &to, 1,
					 NULL, pl, 8973, true), -EMSGSIZE);
	j.mtu = 576;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &j, mac_b, &to, 1,
					 NULL, pl, 549, true), -EMSGSIZE);
	/* the buffer: exactly enough, one short, and the 60-byte minimum */
	assert_int_equal(hs_l2_build_udp(buf, 1514, &a, mac_b, &to, 1,
					 NULL, pl, 1472, true), 1514);
	assert_int_equal(hs_l2_build_udp(buf, 1513, &a, mac_b, &to, 1,
					 NULL, pl, 1472, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, 59, &a, mac_b, &to, 1,
					 NULL, pl, 0, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, 60, &a, mac_b, &to, 1,
					 NULL, pl, 0, true), 60);
	/* arguments */
	v6.family = 6;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &v6, 1,
					 NULL, pl, 10, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 0,
					 NULL, pl, 10, true), -EINVAL);
	to.port = 0;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, pl, 10, true), -EINVAL);
	to.port = 7946;
	assert_int_equal(hs_l2_build_udp(NULL, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, pl, 10, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, NULL, &to, 1,
					 NULL, pl, 10, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, NULL, 10, true), -EINVAL);
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 1,
					 NULL, NULL, 0, true), 60);
	j.mtu = 67;
	assert_int_equal(hs_l2_build_udp(buf, sizeof(buf), &j, mac_b, &to, 1,
					 NULL, pl, 10, true), -EINVAL);

	/* interface checks */
	assert_int_equal(hs_l2_if_check(&a), 0);
	j = a;
	j.mac[0] |= 1;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j = a;
	memset(j.mac, 0, 6);
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j = a;
	j.ip[0] = 127;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j.ip[0] = 224;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j.ip[0] = 0;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j = a;
	j.port = 0;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j = a;
	j.port = 65533;
	j.n_ports = 3;
	assert_int_equal(hs_l2_if_check(&j), 0);
	j.n_ports = 4;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j = a;
	j.mtu = 67;
	assert_int_equal(hs_l2_if_check(&j), -EINVAL);
	j.mtu = 68;
	assert_int_equal(hs_l2_if_check(&j), 0);
	assert_int_equal(hs_l2_if_check(NULL), -EINVAL);
	assert_string_equal(hs_l2_bad_name(HS_L2_BAD_FRAGMENT), "fragment");
	assert_string_equal(hs_l2_bad_name(HS_L2_BAD_MAX), "unknown");
}

/* Every truncation of a valid frame, each in an allocation of exactly its
 * length: BAD (trunc) while the IP datagram is cut, gossip once only
 * padding is missing. */
static void
test_truncation(void **state)
{
	static const uint16_t lens[] = { 0, 1, 17, 18, 19, 100, 1471, 1472 };
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_addr to = addr_of(&b);
	uint64_t rs = test_seed ^ 0x7c;
	static uint8_t buf[1514], pl[1472];
	unsigned k;

	(void)state;
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		int flen;
		size_t cut, whole;

		fill_rnd(&rs, pl, lens[k]);
		flen = hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 7946,
				       NULL, pl, lens[k], true);
		assert_true(flen >= 60);
		whole = 42u + lens[k];
		for (cut = 0; cut < (size_t)flen; cut++) {
			uint8_t *t = malloc(cut != 0 ? cut : 1);

			assert_non_null(t);
			memcpy(t, buf, cut);
			if (cut < whole)
				expect_bad(t, cut, &b, HS_L2_BAD_TRUNC);
			else
				check_gossip(t, cut, &b, &a, 7946, pl,
					     lens[k]);
			free(t);
		}
	}
}

/* Every single-byte corruption of the headers (all 255 values at each
 * offset) and of the payload: BAD with the reason of the field hit, or
 * OTHER; gossip only where the byte is covered by nothing and used for
 * nothing (source MAC), or where it made the UDP checksum field 0
 * ("none"), and then with the original payload and peer. */
static void
test_corruption(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_addr to = addr_of(&b);
	uint64_t rs = test_seed ^ 0xc0;
	uint8_t buf[256], pl[100], t[256];
	unsigned off, x;
	int flen;

	(void)state;
	fill_rnd(&rs, pl, sizeof(pl));
	flen = hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 4242, NULL,
			       pl, sizeof(pl), true);
	assert_int_equal(flen, 142);
	for (off = 0; off < (unsigned)flen; off++) {
		for (x = 1; x < 256; x++) {
			enum hs_l2_bad why;
			enum hs_l2_kind k;
			uint8_t v;

			memcpy(t, buf, (size_t)flen);
			t[off] ^= (uint8_t)x;
			v = t[off];
			k = parse(t, (size_t)flen, &b, &why);
			if (k == HS_L2_GOSSIP) {
				/* only where nothing could tell */
				assert_true((off >= 6 && off < 12) ||
					    (off >= 40 && off < 42 &&
					     be16(t + 40) == 0));
				check_gossip(t, (size_t)flen, &b, &a, 4242,
					     pl, sizeof(pl));
				continue;
			}
			if (off < 6 || off == 23 || (off >= 30 && off < 34) ||
			    off == 36 || off == 37) {
				/* another MAC, protocol, IP, port */
				assert_int_equal(k, HS_L2_OTHER);
			} else if (off < 12) {
				assert_int_equal(off, 6);
				assert_true(v & 1);
				assert_int_equal(k, HS_L2_BAD);
				assert_int_equal(why, HS_L2_BAD_SRC);
			} else if (off < 14) {
				assert_true(k == HS_L2_OTHER ||
					    (k == HS_L2_ARP && off == 13 &&
					     v == 0x06));
			} else if (off == 14) {
				if (v >> 4 == 4 && (v & 0xf) > 5) {
					assert_int_equal(k, HS_L2_OTHER);
				} else {
					assert_int_equal(k, HS_L2_BAD);
					assert_int_equal(why,
							 HS_L2_BAD_IP_HDR);
				}
			} else if (off < 34) {
				assert_int_equal(k, HS_L2_BAD);
				assert_int_equal(why, HS_L2_BAD_IP_CSUM);
			} else if (off == 38 || off == 39) {
				assert_int_equal(k, HS_L2_BAD);
				assert_int_equal(why, HS_L2_BAD_UDP_LEN);
			} else {
				/* ports, checksum, payload */
				assert_int_equal(k, HS_L2_BAD);
				assert_int_equal(why, HS_L2_BAD_UDP_CSUM);
			}
		}
	}
}

/* Headers edited with checksums made right again: what the checks after
 * the checksums catch. */
static void
test_lying_frames(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b(), small = if_b(), big = if_a();
	struct hs_addr to = addr_of(&b);
	static uint8_t buf[2100], t[2100], pl[2000];
	int flen;

	(void)state;
	memset(pl, 0x5a, sizeof(pl));
	flen = hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 7946, NULL,
			       pl, 200, true);
	assert_int_equal(flen, 242);

	/* fragments: MF, an offset, both; DF alone is fine */
	memcpy(t, buf, (size_t)flen);
	put16(t + 20, 0x2000);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_FRAGMENT);
	put16(t + 20, 0x0001);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_FRAGMENT);
	put16(t + 20, 0x4000 | 0x00b9);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_FRAGMENT);
	put16(t + 20, 0x2000 | 0x1fff);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_FRAGMENT);
	put16(t + 20, 0);
	fix_ip_csum(t);
	check_gossip(t, (size_t)flen, &b, &a, 7946, pl, 200);

	/* total length: past the frame, below IP + UDP */
	memcpy(t, buf, (size_t)flen);
	put16(t + 16, 229);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_TRUNC);
	put16(t + 16, 27);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_IP_LEN);
	put16(t + 16, 0);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_IP_LEN);
	/* shorter than the frame: UDP length now lies */
	put16(t + 16, 28 + 150);
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_UDP_LEN);
	/* ... and when both agree, the rest is trailer and is ignored */
	put16(t + 38, 8 + 150);
	fix_udp_csum(t);
	check_gossip(t, (size_t)flen, &b, &a, 7946, pl, 150);
	/* a UDP length below its own header lies too */
	memcpy(t, buf, (size_t)flen);
	put16(t + 38, 7);
	fix_udp_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_UDP_LEN);

	/* version and IHL; options with a right checksum are OTHER */
	memcpy(t, buf, (size_t)flen);
	t[14] = 0x65;
	fix_ip_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_IP_HDR);
	t[14] = 0x44;
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_IP_HDR);
	t[14] = 0x46;
	fix_ip_csum(t);
	expect_other(t, (size_t)flen, &b);

	/* sources we could not answer */
	memcpy(t, buf, (size_t)flen);
	t[26] = 224;
	fix_ip_csum(t);
	fix_udp_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_SRC);
	t[26] = 127;
	fix_ip_csum(t);
	fix_udp_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_SRC);
	t[26] = 255;
	fix_ip_csum(t);
	fix_udp_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_SRC);
	memcpy(t, buf, (size_t)flen);
	put16(t + 34, 0);
	fix_udp_csum(t);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_SRC);
	memcpy(t, buf, (size_t)flen);
	memcpy(t + 6, bcast, 6);
	expect_bad(t, (size_t)flen, &b, HS_L2_BAD_SRC);

	/* over the receiver's MTU (a jumbo sender, a 1500 receiver) */
	big.mtu = 9000;
	flen = hs_l2_build_udp(buf, sizeof(buf), &big, mac_b, &to, 7946,
			       NULL, pl, 2000, true);
	assert_int_equal(flen, 2042);
	expect_bad(buf, (size_t)flen, &b, HS_L2_BAD_TOO_LONG);
	small.mtu = 2028;
	check_gossip(buf, (size_t)flen, &small, &big, 7946, pl, 2000);
	small.mtu = 2027;
	expect_bad(buf, (size_t)flen, &small, HS_L2_BAD_TOO_LONG);
}

/* Frames for someone or something else. */
static void
test_other(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b(), r = if_b();
	struct hs_addr to = addr_of(&b);
	uint8_t buf[128], t[128];
	int flen, i;
	enum hs_l2_bad why;

	(void)state;
	flen = hs_l2_build_udp(buf, sizeof(buf), &a, mac_b, &to, 7946, NULL,
			       "x", 1, true);
	/* receivers at another IP, port, MAC */
	r.ip[3] = 3;
	expect_other(buf, (size_t)flen, &r);
	r = b;
	r.port = 7947;
	expect_other(buf, (size_t)flen, &r);
	r = b;
	memcpy(r.mac, mac_c, 6);
	expect_other(buf, (size_t)flen, &r);
	/* a broadcast MAC for IPv4 */
	memcpy(t, buf, (size_t)flen);
	memcpy(t, bcast, 6);
	expect_other(t, (size_t)flen, &b);
	/* IPv6, VLAN (802.1Q and 802.1ad), LLDP */
	memcpy(t, buf, (size_t)flen);
	put16(t + 12, 0x86dd);
	expect_other(t, (size_t)flen, &b);
	put16(t + 12, 0x8100);
	expect_other(t, (size_t)flen, &b);
	put16(t + 12, 0x88a8);
	expect_other(t, (size_t)flen, &b);
	put16(t + 12, 0x88cc);
	expect_other(t, (size_t)flen, &b);
	/* TCP, ICMP with right checksums */
	memcpy(t, buf, (size_t)flen);
	t[23] = 6;
	fix_ip_csum(t);
	expect_other(t, (size_t)flen, &b);
	t[23] = 1;
	fix_ip_csum(t);
	expect_other(t, (size_t)flen, &b);

	/* a port range: 7943 .. 7943 + n_ports - 1 are ours */
	r = b;
	r.port = 7943;
	r.n_ports = 3;
	expect_other(buf, (size_t)flen, &r);
	r.n_ports = 4;
	assert_int_equal(parse(buf, (size_t)flen, &r, &why), HS_L2_GOSSIP);
	r.port = 7946;
	assert_int_equal(parse(buf, (size_t)flen, &r, &why), HS_L2_GOSSIP);
	r.port = 7947;
	expect_other(buf, (size_t)flen, &r);

	/* ARP: broadcast or to us; ARP to another MAC is not ours */
	flen = hs_l2_arp_request(buf, sizeof(buf), &a, b.ip);
	assert_int_equal(flen, 60);
	assert_int_equal(parse(buf, (size_t)flen, &b, &why), HS_L2_ARP);
	assert_int_equal(parse(buf, (size_t)flen, &a, &why), HS_L2_ARP);
	memcpy(buf, mac_b, 6);
	assert_int_equal(parse(buf, (size_t)flen, &b, &why), HS_L2_ARP);
	assert_int_equal(parse(buf, (size_t)flen, &a, &why), HS_L2_OTHER);
	/* runts: BAD, whatever they were */
	for (i = 0; i < 14; i++) {
		uint8_t *p = malloc(i != 0 ? (size_t)i : 1);

		assert_non_null(p);
		memcpy(p, buf, (size_t)i);
		expect_bad(p, (size_t)i, &b, HS_L2_BAD_TRUNC);
		free(p);
	}
}

/* ---- ARP ---- */

/* An ARP frame, by hand. */
static size_t
arp_frame(uint8_t *f, const uint8_t *eth_dst, const uint8_t *eth_src,
	  uint16_t op, const uint8_t *sha, const uint8_t *spa,
	  const uint8_t *tha, const uint8_t *tpa)
{
	memset(f, 0, 60);
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, eth_src, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, sha, 6);
	memcpy(f + 28, spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, tpa, 4);
	return 60;
}

static struct hs_l2_arp_stats
arp_stats(const struct hs_l2_arp *a)
{
	struct hs_l2_arp_stats st;

	hs_l2_arp_stats(a, &st);
	return st;
}

static void
expect_mac(struct hs_l2_arp *a, const uint8_t *ip, uint64_t now,
	   const uint8_t *want)
{
	uint8_t mac[6];
	bool req;

	assert_int_equal(hs_l2_arp_lookup(a, ip, now, mac, &req), 0);
	assert_memory_equal(mac, want, 6);
}

static void
expect_unknown(struct hs_l2_arp *a, const uint8_t *ip, uint64_t now,
	       bool want_req)
{
	uint8_t mac[6];
	bool req = !want_req;

	assert_int_equal(hs_l2_arp_lookup(a, ip, now, mac, &req), -EAGAIN);
	assert_int_equal(req, want_req);
}

/* B asks for A; A answers B, unicast, and learns B. */
static void
test_arp_request_reply(void **state)
{
	static const uint8_t ip_9[4] = { 10, 0, 0, 9 };
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_l2_arp *t;
	uint8_t req[64], rep[64];
	int n;
	enum hs_l2_bad why;

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, 60 * SEC, &t), 0);
	assert_int_equal(hs_l2_arp_request(req, sizeof(req), &b, a.ip), 60);
	/* the request itself, field by field */
	assert_memory_equal(req, bcast, 6);
	assert_memory_equal(req + 6, mac_b, 6);
	assert_int_equal(be16(req + 12), 0x0806);
	assert_int_equal(be16(req + 14), 1);
	assert_int_equal(be16(req + 16), 0x0800);
	assert_int_equal(req[18], 6);
	assert_int_equal(req[19], 4);
	assert_int_equal(be16(req + 20), 1);
	assert_memory_equal(req + 22, mac_b, 6);
	assert_memory_equal(req + 28, b.ip, 4);
	assert_memory_equal(req + 32, zero6, 6);
	assert_memory_equal(req + 38, a.ip, 4);
	for (n = 42; n < 60; n++)
		assert_int_equal(req[n], 0);
	assert_int_equal(hs_l2_arp_request(req, 59, &b, a.ip), -EINVAL);

	assert_int_equal(parse(req, 60, &a, &why), HS_L2_ARP);
	memset(rep, 0xee, sizeof(rep));
	n = hs_l2_arp_input(t, req, 60, &a, 5 * SEC, rep, sizeof(rep));
	assert_int_equal(n, 60);
	assert_memory_equal(rep, mac_b, 6);	/* unicast to the asker */
	assert_memory_equal(rep + 6, mac_a, 6);
	assert_int_equal(be16(rep + 12), 0x0806);
	assert_int_equal(be16(rep + 14), 1);
	assert_int_equal(be16(rep + 16), 0x0800);
	assert_int_equal(rep[18], 6);
	assert_int_equal(rep[19], 4);
	assert_int_equal(be16(rep + 20), 2);
	assert_memory_equal(rep + 22, mac_a, 6);
	assert_memory_equal(rep + 28, a.ip, 4);
	assert_memory_equal(rep + 32, mac_b, 6);
	assert_memory_equal(rep + 38, b.ip, 4);
	for (n = 42; n < 60; n++)
		assert_int_equal(rep[n], 0);
	assert_int_equal(rep[60], 0xee);
	/* the reply parses as ARP at B */
	assert_int_equal(parse(rep, 60, &b, &why), HS_L2_ARP);

	/* A learned B, no request needed */
	{
		uint8_t mac[6];
		bool sr = true;

		assert_int_equal(hs_l2_arp_lookup(t, b.ip, 6 * SEC, mac, &sr),
				 0);
		assert_memory_equal(mac, mac_b, 6);
		assert_false(sr);
	}
	assert_int_equal(arp_stats(t).replies, 1);
	assert_int_equal(arp_stats(t).learned, 1);
	assert_int_equal(arp_stats(t).n_entries, 1);

	/* in place: the reply over the request */
	memcpy(rep, req, 60);
	assert_int_equal(hs_l2_arp_input(t, rep, 60, &a, 6 * SEC, rep, 60),
			 60);
	assert_memory_equal(rep, mac_b, 6);
	assert_int_equal(be16(rep + 20), 2);
	assert_memory_equal(rep + 22, mac_a, 6);
	assert_memory_equal(rep + 28, a.ip, 4);
	assert_memory_equal(rep + 32, mac_b, 6);
	assert_memory_equal(rep + 38, b.ip, 4);
	assert_int_equal(arp_stats(t).refreshed, 1);

	/* a request for someone else: no reply */
	assert_int_equal(hs_l2_arp_request(req, sizeof(req), &b, ip_9), 60);
	assert_int_equal(hs_l2_arp_input(t, req, 60, &a, 7 * SEC, rep, 60), 0);
	assert_int_equal(arp_stats(t).replies, 2);
	hs_l2_arp_destroy(t);
}

/* A asks for B (lookup says so), B's reply teaches A. */
static void
test_arp_reply_learns(void **state)
{
	static const uint8_t ip_c[4] = { 10, 0, 0, 3 };
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_l2_arp *t;
	uint8_t f[64], rep[64];

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, 60 * SEC, &t), 0);
	expect_unknown(t, b.ip, 0, true);
	arp_frame(f, mac_a, mac_b, 2, mac_b, b.ip, mac_a, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 1 * MS, rep, 60), 0);
	expect_mac(t, b.ip, 2 * MS, mac_b);
	/* an unsolicited reply to us is learned too (target is us) */
	arp_frame(f, mac_a, mac_c, 2, mac_c, ip_c, mac_a, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 3 * MS, rep, 60), 0);
	expect_mac(t, ip_c, 4 * MS, mac_c);
	assert_int_equal(arp_stats(t).learned, 2);
	assert_int_equal(arp_stats(t).replies, 0);
	hs_l2_arp_destroy(t);
}

/* Gratuitous ARP and requests for other hosts: update, never add. */
static void
test_arp_merge(void **state)
{
	static const uint8_t ip_x[4] = { 10, 0, 0, 7 };
	static const uint8_t ip_y[4] = { 10, 0, 0, 8 };
	static const uint8_t ip_z[4] = { 10, 0, 0, 9 };
	static const uint8_t mac_x2[6] = { 0x02, 0, 0, 0, 0x07, 0x02 };
	static const uint8_t any[4] = { 0, 0, 0, 0 };
	struct hs_l2_if a = if_a();
	struct hs_l2_arp *t;
	uint8_t f[64], rep[64];

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, 60 * SEC, &t), 0);
	/* unknown X announces itself: not added */
	arp_frame(f, bcast, mac_c, 1, mac_c, ip_x, zero6, ip_x);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 0, rep, 60), 0);
	/* unknown Y asks for Z: not added */
	arp_frame(f, bcast, mac_b, 1, mac_b, ip_y, zero6, ip_z);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 0, rep, 60), 0);
	assert_int_equal(arp_stats(t).n_entries, 0);
	assert_int_equal(arp_stats(t).learned, 0);

	/* X asks for us: added */
	arp_frame(f, bcast, mac_c, 1, mac_c, ip_x, zero6, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 1 * SEC, rep, 60), 60);
	expect_mac(t, ip_x, 1 * SEC, mac_c);
	/* X moves to another MAC and says so (gratuitous): updated */
	arp_frame(f, bcast, mac_x2, 1, mac_x2, ip_x, zero6, ip_x);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 2 * SEC, rep, 60), 0);
	expect_mac(t, ip_x, 2 * SEC, mac_x2);
	/* X asks for Z with its old MAC: updated back */
	arp_frame(f, bcast, mac_c, 1, mac_c, ip_x, zero6, ip_z);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 3 * SEC, rep, 60), 0);
	expect_mac(t, ip_x, 3 * SEC, mac_c);
	assert_int_equal(arp_stats(t).n_entries, 1);
	assert_int_equal(arp_stats(t).refreshed, 2);
	/* the update renewed its life: still there at 3 s + 59 s */
	expect_mac(t, ip_x, 62 * SEC - 1, mac_c);

	/* a probe (sender 0.0.0.0) for us: answered, nothing learned */
	arp_frame(f, bcast, mac_b, 1, mac_b, any, zero6, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 4 * SEC, rep, 60), 60);
	assert_memory_equal(rep, mac_b, 6);
	assert_memory_equal(rep + 32, mac_b, 6);
	assert_memory_equal(rep + 38, any, 4);
	assert_int_equal(arp_stats(t).n_entries, 1);

	/* someone else claims our IP: a conflict, not learned, no reply */
	arp_frame(f, bcast, mac_b, 1, mac_b, a.ip, zero6, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 5 * SEC, rep, 60), 0);
	assert_int_equal(arp_stats(t).conflicts, 1);
	assert_int_equal(arp_stats(t).n_entries, 1);
	/* our own request, looped back: ignored */
	assert_int_equal(hs_l2_arp_request(f, sizeof(f), &a, ip_y), 60);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 5 * SEC, rep, 60), 0);
	assert_int_equal(arp_stats(t).conflicts, 1);
	assert_int_equal(arp_stats(t).n_entries, 1);
	hs_l2_arp_destroy(t);
}

/* Requests for an unknown IP: once per 100 ms. */
static void
test_arp_rate_limit(void **state)
{
	static const uint8_t ip[4] = { 10, 1, 2, 3 };
	static const uint8_t ip2[4] = { 10, 1, 2, 4 };
	static const uint8_t mcast[4] = { 224, 0, 0, 1 };
	static const uint8_t bcast_ip[4] = { 255, 255, 255, 255 };
	static const uint8_t any[4] = { 0, 0, 0, 0 };
	struct hs_l2_arp *t;
	uint64_t t0 = 1000 * SEC;
	uint8_t mac[6];
	bool req;

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, 60 * SEC, &t), 0);
	expect_unknown(t, ip, t0, true);
	expect_unknown(t, ip, t0, false);
	expect_unknown(t, ip, t0 + 50 * MS, false);
	expect_unknown(t, ip2, t0 + 50 * MS, true);	/* per IP */
	expect_unknown(t, ip, t0 + 100 * MS - 1, false);
	expect_unknown(t, ip, t0 + 100 * MS, true);
	expect_unknown(t, ip, t0 + 150 * MS, false);
	expect_unknown(t, ip, t0 + 200 * MS, true);
	assert_int_equal(arp_stats(t).requests, 4);
	/* nothing to resolve for these */
	req = true;
	assert_int_equal(hs_l2_arp_lookup(t, mcast, t0, mac, &req), -EINVAL);
	assert_false(req);
	assert_int_equal(hs_l2_arp_lookup(t, bcast_ip, t0, mac, &req),
			 -EINVAL);
	assert_int_equal(hs_l2_arp_lookup(t, any, t0, mac, &req), -EINVAL);
	assert_int_equal(hs_l2_arp_lookup(t, ip, t0, mac, NULL), -EINVAL);
	hs_l2_arp_destroy(t);
}

/* Learned entries live ttl; in their last quarter a lookup asks for a
 * refresh; static ones never age and ARP does not move them. */
static void
test_arp_aging(void **state)
{
	static const uint8_t ip_s[4] = { 10, 0, 0, 50 };
	static const uint8_t mcast[4] = { 224, 1, 1, 1 };
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_l2_arp *t;
	uint64_t ttl = 10 * SEC, t0 = 7 * SEC;
	uint8_t f[64], rep[64], mac[6];
	bool req;

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, ttl, &t), 0);
	arp_frame(f, mac_a, mac_b, 2, mac_b, b.ip, mac_a, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, t0, rep, 60), 0);
	/* fresh: no request */
	assert_int_equal(hs_l2_arp_lookup(t, b.ip, t0 + ttl * 3 / 4, mac,
					  &req), 0);
	assert_false(req);
	/* last quarter: still good, and ask once per 100 ms */
	assert_int_equal(hs_l2_arp_lookup(t, b.ip, t0 + ttl * 3 / 4 + 1, mac,
					  &req), 0);
	assert_true(req);
	assert_memory_equal(mac, mac_b, 6);
	assert_int_equal(hs_l2_arp_lookup(t, b.ip, t0 + ttl * 3 / 4 + 2, mac,
					  &req), 0);
	assert_false(req);
	assert_int_equal(hs_l2_arp_lookup(t, b.ip, t0 + ttl - 1, mac, &req),
			 0);
	assert_true(req);
	/* unanswered: gone at ttl, and asked for again after 100 ms */
	expect_unknown(t, b.ip, t0 + ttl, false);
	expect_unknown(t, b.ip, t0 + ttl + 99 * MS, false);
	expect_unknown(t, b.ip, t0 + ttl + 100 * MS, true);
	/* the answer brings it back for a full ttl */
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, t0 + ttl + 101 * MS,
					 rep, 60), 0);
	expect_mac(t, b.ip, t0 + 2 * ttl + 100 * MS, mac_b);
	expect_unknown(t, b.ip, t0 + 2 * ttl + 101 * MS, false);

	/* static: never ages, never asks, ARP leaves it alone */
	assert_int_equal(hs_l2_arp_static(t, ip_s, mac_c), 0);
	assert_int_equal(hs_l2_arp_lookup(t, ip_s, 0, mac, &req), 0);
	assert_false(req);
	assert_memory_equal(mac, mac_c, 6);
	assert_int_equal(hs_l2_arp_lookup(t, ip_s, UINT64_MAX / 2, mac, &req),
			 0);
	assert_false(req);
	assert_memory_equal(mac, mac_c, 6);
	arp_frame(f, mac_a, mac_b, 1, mac_b, ip_s, zero6, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 100 * SEC, rep, 60),
			 60);
	expect_mac(t, ip_s, 100 * SEC, mac_c);
	/* a learned entry made static; a static one replaced */
	assert_int_equal(hs_l2_arp_static(t, b.ip, mac_a), 0);
	expect_mac(t, b.ip, UINT64_MAX / 2, mac_a);
	assert_int_equal(hs_l2_arp_static(t, b.ip, mac_b), 0);
	expect_mac(t, b.ip, UINT64_MAX / 2, mac_b);
	assert_int_equal(arp_stats(t).n_static, 2);
	assert_int_equal(arp_stats(t).n_entries, 2);
	/* bad static entries */
	assert_int_equal(hs_l2_arp_static(t, mcast, mac_c), -EINVAL);
	assert_int_equal(hs_l2_arp_static(t, ip_s, bcast), -EINVAL);
	assert_int_equal(hs_l2_arp_static(t, ip_s, zero6), -EINVAL);
	hs_l2_arp_destroy(t);
}

/* A full table refuses new entries (counted) until some expire. */
static void
test_arp_full(void **state)
{
	static const uint8_t ip_1[4] = { 10, 9, 9, 1 };
	static const uint8_t ip_2[4] = { 10, 9, 9, 2 };
	static const uint8_t ip_3[4] = { 10, 9, 9, 3 };
	static const uint8_t mac_2[6] = { 2, 0, 0, 0, 1, 2 };
	struct hs_l2_if a = if_a();
	struct hs_l2_arp *t;
	uint64_t ttl = 5 * SEC;
	uint8_t f[64], rep[64], ip[4] = { 10, 0, 1, 0 }, mac[6] = { 2, 0, 0, 0,
								    1, 0 };
	unsigned i;

	(void)state;
	assert_int_equal(hs_l2_arp_create(4, ttl, &t), 0);
	for (i = 1; i <= 4; i++) {
		ip[3] = (uint8_t)i;
		mac[5] = (uint8_t)i;
		arp_frame(f, bcast, mac, 1, mac, ip, zero6, a.ip);
		assert_int_equal(hs_l2_arp_input(t, f, 60, &a, i * MS, rep,
						 60), 60);
	}
	assert_int_equal(arp_stats(t).n_entries, 4);
	/* a fifth asks for us: answered, not stored, counted */
	ip[3] = 5;
	mac[5] = 5;
	arp_frame(f, bcast, mac, 1, mac, ip, zero6, a.ip);
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 10 * MS, rep, 60), 60);
	assert_int_equal(arp_stats(t).refused, 1);
	assert_int_equal(arp_stats(t).n_entries, 4);
	/* and looking it up cannot even remember a request */
	expect_unknown(t, ip, 11 * MS, false);
	assert_int_equal(arp_stats(t).refused, 2);
	assert_int_equal(hs_l2_arp_static(t, ip, mac), -ENOSPC);
	assert_int_equal(arp_stats(t).refused, 3);
	for (i = 1; i <= 4; i++) {
		uint8_t want[6] = { 2, 0, 0, 0, 1, (uint8_t)i };

		ip[3] = (uint8_t)i;
		expect_mac(t, ip, 12 * MS, want);
	}
	/* past the first one's ttl there is room again */
	ip[3] = 5;
	assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 1 * MS + ttl, rep, 60),
			 60);
	expect_mac(t, ip, 1 * MS + ttl, mac);
	assert_int_equal(arp_stats(t).expired, 1);
	assert_int_equal(arp_stats(t).n_entries, 4);
	ip[3] = 1;
	expect_unknown(t, ip, 1 * MS + ttl, false);	/* table full again */
	ip[3] = 2;
	expect_mac(t, ip, 1 * MS + ttl, mac_2);
	hs_l2_arp_destroy(t);

	/* pending requests hold an entry only 100 ms; statics forever */
	assert_int_equal(hs_l2_arp_create(2, ttl, &t), 0);
	expect_unknown(t, ip_1, 0, true);
	expect_unknown(t, ip_2, 0, true);
	expect_unknown(t, ip_3, 50 * MS, false);
	expect_unknown(t, ip_3, 100 * MS, true);
	assert_int_equal(arp_stats(t).expired, 2);
	hs_l2_arp_destroy(t);
	assert_int_equal(hs_l2_arp_create(2, ttl, &t), 0);
	assert_int_equal(hs_l2_arp_static(t, ip_1,
					  mac_b), 0);
	assert_int_equal(hs_l2_arp_static(t, ip_2,
					  mac_c), 0);
	expect_unknown(t, ip_3, 1000 * SEC, false);
	assert_int_equal(hs_l2_arp_static(t, ip_3,
					  mac_a), -ENOSPC);
	assert_int_equal(hs_l2_arp_static(t, ip_2,
					  mac_a), 0);	/* replace: room */
	expect_mac(t, ip_2, 0, mac_a);
	hs_l2_arp_destroy(t);
}

/* A big table with random neighbours, all of them found; after their ttl
 * a new generation replaces them through the rebuild. */
static void
test_arp_many(void **state)
{
	enum { N = 1000 };
	static uint8_t ips[2][N][4], macs[2][N][6];
	struct hs_l2_if a = if_a();
	struct hs_l2_arp *t;
	uint64_t rs = test_seed ^ 0xa4, ttl = 30 * SEC;
	uint8_t f[64], rep[64];
	unsigned g, i, j;

	(void)state;
	/* distinct host IPs in 10/8, distinct MACs */
	for (g = 0; g < 2; g++) {
		for (i = 0; i < N; i++) {
			uint32_t v = (uint32_t)(g * N + i) * 2654435761u;

			ips[g][i][0] = 10;
			ips[g][i][1] = (uint8_t)(g * 128 + (v >> 24) % 128);
			ips[g][i][2] = (uint8_t)(i >> 8);
			ips[g][i][3] = (uint8_t)i;
			fill_rnd(&rs, macs[g][i], 6);
			macs[g][i][0] = 0x02;
		}
	}
	assert_int_equal(hs_l2_arp_create(N, ttl, &t), 0);
	for (g = 0; g < 2; g++) {
		uint64_t now = g * 2 * ttl;

		for (i = 0; i < N; i++) {
			arp_frame(f, mac_a, macs[g][i], 2, macs[g][i],
				  ips[g][i], mac_a, a.ip);
			assert_int_equal(hs_l2_arp_input(t, f, 60, &a, now,
							 rep, 60), 0);
		}
		assert_int_equal(arp_stats(t).n_entries, N);
		assert_int_equal(arp_stats(t).refused, 0);
		for (j = 0; j < N; j++)
			expect_mac(t, ips[g][j], now + 1, macs[g][j]);
		if (g == 1)
			for (j = 0; j < N; j++)
				expect_unknown(t, ips[0][j], now + 1, false);
	}
	assert_int_equal(arp_stats(t).expired, N);
	assert_int_equal(arp_stats(t).learned, 2 * N);
	hs_l2_arp_destroy(t);
}

/* Malformed ARP: negative, nothing learned, nothing answered. */
static void
test_arp_malformed(void **state)
{
	struct hs_l2_if a = if_a(), b = if_b();
	struct hs_l2_arp *t;
	uint8_t good[64], f[64], rep[64];
	size_t cut;

	(void)state;
	assert_int_equal(hs_l2_arp_create(16, 60 * SEC, &t), 0);
	arp_frame(good, bcast, mac_b, 1, mac_b, b.ip, zero6, a.ip);

#define MANGLED(stmt, want)						\
	do {								\
		memcpy(f, good, 60);					\
		stmt;							\
		assert_int_equal(hs_l2_arp_input(t, f, 60, &a, 0, rep, 60), \
				 want);					\
	} while (0)

	MANGLED(put16(f + 14, 6), -EPROTO);		/* htype IEEE 802 */
	MANGLED(put16(f + 16, 0x86dd), -EPROTO);	/* ptype IPv6 */
	MANGLED(f[18] = 8, -EPROTO);			/* hlen */
	MANGLED(f[19] = 16, -EPROTO);			/* plen */
	MANGLED(put16(f + 20, 3), -EPROTO);		/* RARP request */
	MANGLED(put16(f + 20, 0), -EPROTO);
	MANGLED(put16(f + 12, 0x0800), -EBADMSG);	/* not ARP at all */
	MANGLED(f[22] |= 1, -EBADMSG);			/* multicast sender */
	MANGLED(memset(f + 22, 0, 6), -EBADMSG);
	MANGLED(f[28] = 127, -EBADMSG);			/* loopback sender */
	MANGLED(f[28] = 230, -EBADMSG);			/* multicast sender */
	MANGLED(memset(f + 28, 255, 4), -EBADMSG);	/* broadcast sender */
	MANGLED(f[31] = 9, 60);				/* control: fine */
	assert_int_equal(arp_stats(t).n_entries, 1);
#undef MANGLED

	/* truncations, each its own allocation: below 42 bytes refused,
	 * the padding is optional */
	for (cut = 0; cut <= 60; cut++) {
		uint8_t *p = malloc(cut != 0 ? cut : 1);
		int rc;

		assert_non_null(p);
		memcpy(p, good, cut);
		rc = hs_l2_arp_input(t, p, cut, &a, 0, rep, 60);
		if (cut < 42)
			assert_int_equal(rc, -EBADMSG);
		else
			assert_int_equal(rc, 60);
		free(p);
	}
	/* arguments */
	assert_int_equal(hs_l2_arp_input(t, good, 60, &a, 0, rep, 59),
			 -EINVAL);
	assert_int_equal(hs_l2_arp_input(t, good, 60, &a, 0, NULL, 60),
			 -EINVAL);
	assert_int_equal(hs_l2_arp_input(NULL, good, 60, &a, 0, rep, 60),
			 -EINVAL);
	hs_l2_arp_destroy(t);

	assert_int_equal(hs_l2_arp_create(0, SEC, &t), -EINVAL);
	assert_int_equal(hs_l2_arp_create(16, 0, &t), -EINVAL);
	assert_int_equal(hs_l2_arp_create((1u << 20) + 1, SEC, &t), -EINVAL);
	assert_int_equal(hs_l2_arp_create(16, SEC, NULL), -EINVAL);
	hs_l2_arp_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_known_frame),
		cmocka_unit_test(test_udp_csum_zero),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_lying_frames),
		cmocka_unit_test(test_other),
		cmocka_unit_test(test_arp_request_reply),
		cmocka_unit_test(test_arp_reply_learns),
		cmocka_unit_test(test_arp_merge),
		cmocka_unit_test(test_arp_rate_limit),
		cmocka_unit_test(test_arp_aging),
		cmocka_unit_test(test_arp_full),
		cmocka_unit_test(test_arp_many),
		cmocka_unit_test(test_arp_malformed),
	};

	test_seed = hs_test_seed("test_l2");
	HS_TEST_FILTER();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
