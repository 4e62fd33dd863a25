/*
 * hearsay wire protocol v1: decoder, builder and names.  wire.h is the API,
 * docs/PROTOCOL.md the byte-level specification.
 *
 * Decoding is one forward pass: the header, then each section in turn, each
 * item checked as it is stepped over, nothing read twice.  Once it returns
 * 0 the inline readers of wire.h walk the frame without any check, so every
 * length, count and ordering rule they rely on is enforced here, exactly.
 * Bounds are compared as remaining byte counts, never as pointers past the
 * end, and sums of u16 fields are done in 32 bits, so a lying length can
 * neither wrap nor make a pointer leave the buffer.
 *
 * The builder writes straight into the caller's buffer and patches lengths
 * and counts when a group or section closes.  A put that does not fit
 * returns -EMSGSIZE before writing anything.  Its checks are a superset of
 * the decoder's, so whatever it builds decodes.
 *
 * Concurrency: no global mutable state.  Every call works only on the
 * caller's frame, message and builder; any thread may call any function.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "wire.h"

/* hs_wire_rd*() and hs_wire_wr*() swap bytes unconditionally. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "wire.h readers assume a little-endian host");
/* AGG carries doubles as binary64 bit patterns (hs_wire_rdf64). */
_Static_assert(sizeof(double) == sizeof(uint64_t) && __DBL_MANT_DIG__ == 53,
	       "AGG records need IEEE-754 binary64 doubles");

#define HS_WIRE_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define HS_WIRE_SEC_BIT(s)	(1u << HS_WIRE_SEC_##s)
#define HS_WIRE_PIGGYBACK	(HS_WIRE_SEC_BIT(DELTAS) | \
				 HS_WIRE_SEC_BIT(EVENTS) | \
				 HS_WIRE_SEC_BIT(NODES))

/* Which sections a message type may carry, and which it must. */
struct hs_wire_rule {
	uint8_t allowed;
	uint8_t need_any;	/* nonzero: at least one of these present */
};

static const struct hs_wire_rule hs_wire_rules[HS_WIRE_TYPE_MAX + 1] = {
	[HS_WIRE_SYN] = {
		.allowed = HS_WIRE_SEC_BIT(DIGESTS) | HS_WIRE_SEC_BIT(SUMMARY) |
			   HS_WIRE_SEC_BIT(NODES),
		.need_any = HS_WIRE_SEC_BIT(DIGESTS) | HS_WIRE_SEC_BIT(SUMMARY),
	},
	[HS_WIRE_ACK] = {
		.allowed = HS_WIRE_SEC_BIT(DIGESTS) | HS_WIRE_PIGGYBACK,
	},
	[HS_WIRE_ACK2] = {
		.allowed = HS_WIRE_PIGGYBACK,
	},
	/* AGG rides only on PUSH: push-sum sends each share to one peer
	 * once, and a PUSH is never answered, so nothing else carries it. */
	[HS_WIRE_PUSH] = {
		.allowed = HS_WIRE_PIGGYBACK | HS_WIRE_SEC_BIT(AGG),
		.need_any = HS_WIRE_PIGGYBACK | HS_WIRE_SEC_BIT(AGG),
	},
	[HS_WIRE_JOIN] = {
		.allowed = HS_WIRE_SEC_BIT(NODES),
		.need_any = HS_WIRE_SEC_BIT(NODES),
	},
	[HS_WIRE_LEAVE] = {
		.allowed = HS_WIRE_SEC_BIT(NODES),
		.need_any = HS_WIRE_SEC_BIT(NODES),
	},
	[HS_WIRE_PING] = {
		.allowed = HS_WIRE_SEC_BIT(PROBE) | HS_WIRE_PIGGYBACK,
		.need_any = HS_WIRE_SEC_BIT(PROBE),
	},
	[HS_WIRE_PING_REQ] = {
		.allowed = HS_WIRE_SEC_BIT(PROBE) | HS_WIRE_PIGGYBACK,
		.need_any = HS_WIRE_SEC_BIT(PROBE),
	},
	[HS_WIRE_PING_ACK] = {
		.allowed = HS_WIRE_SEC_BIT(PROBE) | HS_WIRE_PIGGYBACK,
		.need_any = HS_WIRE_SEC_BIT(PROBE),
	},
};

/* An IPv4 address keeps bytes 4..15 of the 16-byte field zero. */
static inline bool
hs_wire_v4_tail_zero(const uint8_t *addr)
{
	return (hs_wire_rd64(addr + 4) | hs_wire_rd32(addr + 12)) == 0;
}

/* binary64 classes by bit pattern: exponent all ones is inf or NaN. */
#define HS_WIRE_F64_EXP		0x7ff0000000000000ull
#define HS_WIRE_F64_SIGN	0x8000000000000000ull

static inline bool
hs_wire_f64_finite(uint64_t u)
{
	return (u & HS_WIRE_F64_EXP) != HS_WIRE_F64_EXP;
}

static inline bool
hs_wire_f64_nan(uint64_t u)
{
	return (u & ~HS_WIRE_F64_SIGN) > HS_WIRE_F64_EXP;
}

/* Below zero; -0.0 is not. */
static inline bool
hs_wire_f64_neg(uint64_t u)
{
	return (u & HS_WIRE_F64_SIGN) && (u & ~HS_WIRE_F64_SIGN) != 0;
}

/* The share fields of an AGG record, as bit patterns: what both the
 * decoder and the builder refuse. */
static inline bool
hs_wire_agg_ok(uint64_t s, uint64_t k, uint64_t w, uint64_t min,
	       uint64_t max)
{
	return hs_wire_f64_finite(s) && hs_wire_f64_finite(k) &&
	       hs_wire_f64_finite(w) && !hs_wire_f64_neg(k) &&
	       !hs_wire_f64_neg(w) && !hs_wire_f64_nan(min) &&
	       !hs_wire_f64_nan(max);
}

/* ---- decoder: one function per section body, len > 0 ---- */

static int
hs_wire_check_digests(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t off;

	if (len % HS_WIRE_DIGEST_LEN != 0)
		return -EBADMSG;
	for (off = 0; off < len; off += HS_WIRE_DIGEST_LEN)
		if (hs_wire_rd64(p + off) == 0)
			return -EBADMSG;
	*n = (uint16_t)(len / HS_WIRE_DIGEST_LEN);
	return 0;
}

static int
hs_wire_check_summary(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t n_buckets, first, count;

	if (len < HS_WIRE_SUMMARY_HDR_LEN)
		return -EBADMSG;
	if (hs_wire_rd16(p + 6) != 0)
		return -EPROTO;
	n_buckets = hs_wire_rd16(p);
	first = hs_wire_rd16(p + 2);
	count = hs_wire_rd16(p + 4);
	/* 32-bit sums: first + count and 8 * count must not wrap at 16 bits. */
	if (n_buckets == 0 || (n_buckets & (n_buckets - 1)) != 0 ||
	    count == 0 || first + count > n_buckets ||
	    len != HS_WIRE_SUMMARY_HDR_LEN + 8 * count)
		return -EBADMSG;
	*n = (uint16_t)count;
	return 0;
}

/*
 * The hot one: a full frame of 16-byte keys and 32-byte values carries about
 * 23 entries at 1472 bytes, 150 at 8972.  Each entry costs one bounds check
 * for its header, one for its key and value, and the version window test.
 */
static int
hs_wire_check_deltas(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t off = 0;
	uint16_t n_groups = 0;

	do {
		const uint8_t *g = p + off;
		uint64_t from, to, prev;
		uint16_t n_entries, i;
		uint8_t gflags;

		if (len - off < HS_WIRE_GROUP_HDR_LEN)
			return -EBADMSG;
		gflags = g[40];
		if (HS_WIRE_UNLIKELY((gflags & ~HS_WIRE_GF_RESET) != 0 ||
				     g[41] != 0))
			return -EPROTO;
		if (HS_WIRE_UNLIKELY(hs_wire_rd64(g) == 0))
			return -EBADMSG;
		from = hs_wire_rd64(g + 16);
		to = hs_wire_rd64(g + 24);
		/* A RESET group restates the owner from its first version. */
		if (HS_WIRE_UNLIKELY(to < from ||
				     ((gflags & HS_WIRE_GF_RESET) && from != 0)))
			return -EBADMSG;
		prev = from;
		n_entries = hs_wire_rd16(g + 42);
		off += HS_WIRE_GROUP_HDR_LEN;

		for (i = 0; i < n_entries; i++) {
			const uint8_t *e = p + off;
			uint64_t version;
			uint32_t step;
			uint8_t eflags;
			uint16_t value_len;

			if (HS_WIRE_UNLIKELY(len - off < HS_WIRE_ENTRY_HDR_LEN))
				return -EBADMSG;
			version = hs_wire_rd64(e);
			eflags = e[8];
			value_len = hs_wire_rd16(e + 10);
			if (HS_WIRE_UNLIKELY(eflags & ~HS_WIRE_EF_TOMBSTONE))
				return -EPROTO;
			/* prev <= to holds throughout, so this one compare
			 * is prev < version <= to. */
			if (HS_WIRE_UNLIKELY(version - prev - 1 >= to - prev ||
					     e[9] == 0 ||
					     ((eflags & HS_WIRE_EF_TOMBSTONE) &&
					      value_len != 0)))
				return -EBADMSG;
			step = HS_WIRE_ENTRY_HDR_LEN + (uint32_t)e[9] +
			       value_len;
			if (HS_WIRE_UNLIKELY(len - off < step))
				return -EBADMSG;
			off += step;
			prev = version;
		}
		n_groups++;
	} while (off < len);
	*n = n_groups;
	return 0;
}

static int
hs_wire_check_events(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t off = 0, step;
	uint16_t n_events = 0;

	do {
		if (len - off < HS_WIRE_EVENT_HDR_LEN)
			return -EBADMSG;
		if (hs_wire_rd64(p + off) == 0)
			return -EBADMSG;
		step = HS_WIRE_EVENT_HDR_LEN + (uint32_t)hs_wire_rd16(p + off + 24);
		if (len - off < step)
			return -EBADMSG;
		off += step;
		n_events++;
	} while (off < len);
	*n = n_events;
	return 0;
}

static int
hs_wire_check_nodes(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t off = 0, step;
	uint16_t n_nodes = 0;

	do {
		const uint8_t *q = p + off;

		if (len - off < HS_WIRE_NODE_HDR_LEN)
			return -EBADMSG;
		if (hs_wire_rd64(q) == 0 || q[24] > HS_WIRE_ST_MAX)
			return -EBADMSG;
		if (q[25] == 4) {
			if (!hs_wire_v4_tail_zero(q + 28))
				return -EBADMSG;
		} else if (q[25] != 6) {
			return -EBADMSG;
		}
		step = HS_WIRE_NODE_HDR_LEN + (uint32_t)q[44];
		if (len - off < step)
			return -EBADMSG;
		off += step;
		n_nodes++;
	} while (off < len);
	*n = n_nodes;
	return 0;
}

static int
hs_wire_check_probe(const uint8_t *p, uint32_t len, uint16_t *n)
{
	if (len != HS_WIRE_PROBE_LEN)
		return -EBADMSG;
	if (p[17] != 0)
		return -EPROTO;
	if (hs_wire_rd64(p + 8) == 0)
		return -EBADMSG;
	switch (p[16]) {
	case 0:
		if (hs_wire_rd32(p + 20) != 0 || !hs_wire_v4_tail_zero(p + 20))
			return -EBADMSG;
		break;
	case 4:
		if (!hs_wire_v4_tail_zero(p + 20))
			return -EBADMSG;
		break;
	case 6:
		break;
	default:
		return -EBADMSG;
	}
	*n = 1;
	return 0;
}

static int
hs_wire_check_agg(const uint8_t *p, uint32_t len, uint16_t *n)
{
	uint32_t off = 0, step;
	uint16_t n_aggs = 0;

	do {
		const uint8_t *q = p + off;

		if (len - off < HS_WIRE_AGG_HDR_LEN)
			return -EBADMSG;
		/* Bytes 1..7: the u8 key_len at 0 is not reserved. */
		if ((hs_wire_rd64(q) & 0x00ffffffffffffffull) != 0)
			return -EPROTO;
		if (q[0] == 0 ||
		    !hs_wire_agg_ok(hs_wire_rd64(q + 16), hs_wire_rd64(q + 24),
				    hs_wire_rd64(q + 32), hs_wire_rd64(q + 40),
				    hs_wire_rd64(q + 48)))
			return -EBADMSG;
		step = HS_WIRE_AGG_HDR_LEN + (uint32_t)q[0];
		if (len - off < step)
			return -EBADMSG;
		off += step;
		n_aggs++;
	} while (off < len);
	*n = n_aggs;
	return 0;
}

int
hs_wire_decode(const void *buf, size_t len, struct hs_wire_msg *m)
{
	const uint8_t *f = buf;
	const struct hs_wire_rule *rule;
	const uint8_t *p;
	uint32_t payload_len, trailer_len, off;
	uint32_t sec_mask = 0;
	uint16_t flags;
	unsigned last = 0;
	uint8_t type;

	if (HS_WIRE_UNLIKELY(len > HS_WIRE_FRAME_MAX))
		return -EMSGSIZE;
	if (HS_WIRE_UNLIKELY(len < HS_WIRE_HDR_LEN ||
			     hs_wire_rd16(f) != HS_WIRE_MAGIC))
		return -EBADMSG;
	type = f[3];
	flags = hs_wire_rd16(f + 4);
	if (HS_WIRE_UNLIKELY(f[2] != HS_WIRE_VERSION || type == 0 ||
			     type > HS_WIRE_TYPE_MAX ||
			     (flags & ~HS_WIRE_F_KNOWN) != 0 ||
			     hs_wire_rd16(f + 10) != 0))
		return -EPROTO;
	payload_len = hs_wire_rd16(f + 6);
	trailer_len = hs_wire_rd16(f + 8);
	/* 32-bit sum: a payload_len near 65535 must not wrap onto len. */
	if (HS_WIRE_UNLIKELY(trailer_len > HS_WIRE_TRAILER_MAX ||
			     HS_WIRE_HDR_LEN + payload_len + trailer_len != len ||
			     !(flags & HS_WIRE_F_AUTH) != (trailer_len == 0)))
		return -EBADMSG;

	m->hdr.version = f[2];
	m->hdr.type = type;
	m->hdr.flags = flags;
	m->hdr.payload_len = (uint16_t)payload_len;
	m->hdr.trailer_len = (uint16_t)trailer_len;
	m->hdr.cluster_id = hs_wire_rd32(f + 12);
	m->hdr.sender_id = hs_wire_rd64(f + 16);
	m->hdr.sender_gen = hs_wire_rd64(f + 24);
	m->hdr.seq = hs_wire_rd64(f + 32);
	if (HS_WIRE_UNLIKELY(m->hdr.sender_id == 0))
		return -EBADMSG;

	p = f + HS_WIRE_HDR_LEN;
	m->payload = p;
	m->trailer = trailer_len != 0 ? p + payload_len : NULL;
	memset(m->sec, 0, sizeof(m->sec));
	rule = &hs_wire_rules[type];

	for (off = 0; off < payload_len;) {
		const uint8_t *s = p + off;
		uint32_t body_len;
		uint16_t n = 0;
		unsigned t;
		int rc;

		if (HS_WIRE_UNLIKELY(payload_len - off < HS_WIRE_SEC_HDR_LEN))
			return -EBADMSG;
		t = s[0];
		/* Bit 0 of rule->allowed is never set: this rejects type 0
		 * and every type not allowed here, known or not. */
		if (HS_WIRE_UNLIKELY(t > HS_WIRE_SEC_MAX ||
				     !((rule->allowed >> t) & 1u) ||
				     t <= last || s[1] != 0))
			return -EPROTO;
		body_len = hs_wire_rd16(s + 2);
		off += HS_WIRE_SEC_HDR_LEN;
		if (HS_WIRE_UNLIKELY(body_len == 0 ||
				     body_len > payload_len - off))
			return -EBADMSG;
		s += HS_WIRE_SEC_HDR_LEN;

		switch (t) {
		case HS_WIRE_SEC_DIGESTS:
			rc = hs_wire_check_digests(s, body_len, &n);
			break;
		case HS_WIRE_SEC_SUMMARY:
			rc = hs_wire_check_summary(s, body_len, &n);
			break;
		case HS_WIRE_SEC_DELTAS:
			rc = hs_wire_check_deltas(s, body_len, &n);
			break;
		case HS_WIRE_SEC_EVENTS:
			rc = hs_wire_check_events(s, body_len, &n);
			break;
		case HS_WIRE_SEC_NODES:
			rc = hs_wire_check_nodes(s, body_len, &n);
			break;
		case HS_WIRE_SEC_PROBE:
			rc = hs_wire_check_probe(s, body_len, &n);
			break;
		default:
			rc = hs_wire_check_agg(s, body_len, &n);
			break;
		}
		if (HS_WIRE_UNLIKELY(rc != 0))
			return rc;
		m->sec[t].p = s;
		m->sec[t].len = (uint16_t)body_len;
		m->sec[t].n = n;
		sec_mask |= 1u << t;
		last = t;
		off += body_len;
	}
	if (HS_WIRE_UNLIKELY(rule->need_any != 0 &&
			     (sec_mask & rule->need_any) == 0))
		return -EPROTO;
	m->sec_mask = sec_mask;
	return 0;
}

const char *
hs_wire_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EBADMSG:
		return "malformed";
	case -EPROTO:
		return "protocol";
	case -EMSGSIZE:
		return "oversize";
	case -EINVAL:
		return "invalid";
	default:
		return "unknown";
	}
}

const char *
hs_wire_type_name(unsigned type)
{
	static const char *const names[HS_WIRE_TYPE_MAX + 1] = {
		[HS_WIRE_SYN] = "syn",
		[HS_WIRE_ACK] = "ack",
		[HS_WIRE_ACK2] = "ack2",
		[HS_WIRE_PUSH] = "push",
		[HS_WIRE_JOIN] = "join",
		[HS_WIRE_LEAVE] = "leave",
		[HS_WIRE_PING] = "ping",
		[HS_WIRE_PING_REQ] = "ping_req",
		[HS_WIRE_PING_ACK] = "ping_ack",
	};

	if (type == 0 || type > HS_WIRE_TYPE_MAX)
		return "unknown";
	return names[type];
}

/* ---- builder ---- */

/* Misuse is a bug in the caller: refuse everything until build_begin. */
static int
hs_wire_poison(struct hs_wire_builder *b)
{
	b->err = -EINVAL;
	return -EINVAL;
}

static inline uint32_t
hs_wire_free(const struct hs_wire_builder *b)
{
	return (uint32_t)b->cap - b->len;
}

/* 0 when an item of section sec may be put now, else poisons. */
static inline int
hs_wire_put_check(struct hs_wire_builder *b, enum hs_wire_sec sec)
{
	if (b->err != 0)
		return b->err;
	if (b->sec_off == 0 || b->sec_type != sec)
		return hs_wire_poison(b);
	return 0;
}

int
hs_wire_build_begin(struct hs_wire_builder *b, void *buf, size_t budget,
		    const struct hs_wire_hdr *hdr)
{
	uint8_t *f = buf;

	if (b == NULL)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	if (f == NULL || hdr == NULL ||
	    hdr->trailer_len > HS_WIRE_TRAILER_MAX ||
	    budget > HS_WIRE_FRAME_MAX ||
	    budget < (size_t)HS_WIRE_HDR_LEN + hdr->trailer_len ||
	    hdr->type == 0 || hdr->type > HS_WIRE_TYPE_MAX ||
	    (hdr->flags & ~HS_WIRE_F_KNOWN) != 0 ||
	    !(hdr->flags & HS_WIRE_F_AUTH) != (hdr->trailer_len == 0) ||
	    hdr->sender_id == 0)
		return hs_wire_poison(b);

	hs_wire_wr16(f, HS_WIRE_MAGIC);
	f[2] = HS_WIRE_VERSION;
	f[3] = hdr->type;
	hs_wire_wr16(f + 4, hdr->flags);
	hs_wire_wr16(f + 6, 0);
	hs_wire_wr16(f + 8, hdr->trailer_len);
	hs_wire_wr16(f + 10, 0);
	hs_wire_wr32(f + 12, hdr->cluster_id);
	hs_wire_wr64(f + 16, hdr->sender_id);
	hs_wire_wr64(f + 24, hdr->sender_gen);
	hs_wire_wr64(f + 32, hdr->seq);

	b->buf = f;
	b->cap = (uint16_t)(budget - hdr->trailer_len);
	b->len = HS_WIRE_HDR_LEN;
	b->trailer_len = hdr->trailer_len;
	b->msg_type = hdr->type;
	return 0;
}

int
hs_wire_section_begin(struct hs_wire_builder *b, enum hs_wire_sec sec)
{
	if (b->err != 0)
		return b->err;
	/* last_sec only moves when a section closes with items, so an
	 * emptied section may be opened again. */
	if (b->sec_off != 0 || (unsigned)sec == 0 ||
	    (unsigned)sec > HS_WIRE_SEC_MAX || (unsigned)sec <= b->last_sec ||
	    !((hs_wire_rules[b->msg_type].allowed >> sec) & 1u))
		return hs_wire_poison(b);
	if (hs_wire_free(b) < HS_WIRE_SEC_HDR_LEN)
		return -EMSGSIZE;
	b->buf[b->len] = (uint8_t)sec;
	b->buf[b->len + 1] = 0;
	hs_wire_wr16(b->buf + b->len + 2, 0);
	b->sec_off = b->len;
	b->sec_type = (uint8_t)sec;
	b->sec_n = 0;
	b->len += HS_WIRE_SEC_HDR_LEN;
	return 0;
}

int
hs_wire_section_end(struct hs_wire_builder *b)
{
	if (b->err != 0)
		return b->err;
	if (b->sec_off == 0 || b->grp_off != 0)
		return hs_wire_poison(b);
	if (b->sec_n == 0) {
		/* An empty section is invalid on the wire: drop it. */
		b->len = b->sec_off;
	} else {
		hs_wire_wr16(b->buf + b->sec_off + 2,
			     (uint16_t)(b->len - b->sec_off -
					HS_WIRE_SEC_HDR_LEN));
		b->last_sec = b->sec_type;
	}
	b->sec_off = 0;
	b->sec_type = 0;
	b->sec_n = 0;
	return 0;
}

size_t
hs_wire_room(const struct hs_wire_builder *b)
{
	uint32_t room = hs_wire_free(b);

	if (b->err != 0)
		return 0;
	if (b->sec_off != 0)
		return room;
	/* No open section: what the next one could hold past its header. */
	return room > HS_WIRE_SEC_HDR_LEN ? room - HS_WIRE_SEC_HDR_LEN : 0;
}

int
hs_wire_put_digest(struct hs_wire_builder *b, const struct hs_wire_digest *d)
{
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_DIGESTS);
	if (rc != 0)
		return rc;
	if (d == NULL || d->node == 0)
		return hs_wire_poison(b);
	if (hs_wire_free(b) < HS_WIRE_DIGEST_LEN)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, d->node);
	hs_wire_wr64(p + 8, d->generation);
	hs_wire_wr64(p + 16, d->heartbeat);
	hs_wire_wr64(p + 24, d->max_version);
	hs_wire_wr64(p + 32, d->floor);
	b->len += HS_WIRE_DIGEST_LEN;
	b->sec_n++;
	return 0;
}

int
hs_wire_put_summary(struct hs_wire_builder *b, uint16_t n_buckets,
		    uint16_t first, uint16_t count, const uint64_t *hashes)
{
	uint32_t need = HS_WIRE_SUMMARY_HDR_LEN + 8u * count;
	uint8_t *p;
	unsigned i;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_SUMMARY);
	if (rc != 0)
		return rc;
	/* One summary per section: its header covers the whole body. */
	if (b->sec_n != 0 || n_buckets == 0 ||
	    (n_buckets & (n_buckets - 1)) != 0 || count == 0 ||
	    (uint32_t)first + count > n_buckets || hashes == NULL)
		return hs_wire_poison(b);
	if (hs_wire_free(b) < need)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr16(p, n_buckets);
	hs_wire_wr16(p + 2, first);
	hs_wire_wr16(p + 4, count);
	hs_wire_wr16(p + 6, 0);
	for (i = 0; i < count; i++)
		hs_wire_wr64(p + HS_WIRE_SUMMARY_HDR_LEN + 8 * i, hashes[i]);
	b->len += (uint16_t)need;
	b->sec_n = count;
	return 0;
}

int
hs_wire_group_begin(struct hs_wire_builder *b, uint64_t owner,
		    uint64_t generation, uint64_t from_version, uint64_t floor,
		    uint8_t flags)
{
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_DELTAS);
	if (rc != 0)
		return rc;
	if (b->grp_off != 0 || owner == 0 || (flags & ~HS_WIRE_GF_RESET) != 0 ||
	    ((flags & HS_WIRE_GF_RESET) && from_version != 0))
		return hs_wire_poison(b);
	/* A group that cannot take a single entry header is not worth its
	 * 44 bytes; the caller moves on to the next frame instead. */
	if (hs_wire_free(b) < HS_WIRE_GROUP_HDR_LEN + HS_WIRE_ENTRY_HDR_LEN)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, owner);
	hs_wire_wr64(p + 8, generation);
	hs_wire_wr64(p + 16, from_version);
	hs_wire_wr64(p + 24, 0);
	hs_wire_wr64(p + 32, floor);
	p[40] = flags;
	p[41] = 0;
	hs_wire_wr16(p + 42, 0);
	b->grp_off = b->len;
	b->grp_n = 0;
	b->grp_from = from_version;
	b->grp_last = from_version;
	b->len += HS_WIRE_GROUP_HDR_LEN;
	return 0;
}

int
hs_wire_put_entry(struct hs_wire_builder *b, uint64_t version, uint8_t flags,
		  const void *key, uint8_t key_len, const void *value,
		  uint16_t value_len)
{
	uint32_t need = HS_WIRE_ENTRY_HDR_LEN + (uint32_t)key_len + value_len;
	uint8_t *p;

	if (b->err != 0)
		return b->err;
	if (b->grp_off == 0 || (flags & ~HS_WIRE_EF_TOMBSTONE) != 0 ||
	    key_len == 0 || key == NULL ||
	    ((flags & HS_WIRE_EF_TOMBSTONE) && value_len != 0) ||
	    (value_len != 0 && value == NULL) || version <= b->grp_last)
		return hs_wire_poison(b);
	if (hs_wire_free(b) < need)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, version);
	p[8] = flags;
	p[9] = key_len;
	hs_wire_wr16(p + 10, value_len);
	memcpy(p + HS_WIRE_ENTRY_HDR_LEN, key, key_len);
	if (value_len != 0)
		memcpy(p + HS_WIRE_ENTRY_HDR_LEN + key_len, value, value_len);
	b->len += (uint16_t)need;
	b->grp_n++;
	b->grp_last = version;
	return 0;
}

int
hs_wire_group_end(struct hs_wire_builder *b, uint64_t to_version)
{
	uint8_t *g;

	if (b->err != 0)
		return b->err;
	if (b->grp_off == 0)
		return hs_wire_poison(b);
	g = b->buf + b->grp_off;
	/* grp_last is from_version while a plain group is empty. */
	if (to_version < b->grp_last ||
	    (!(g[40] & HS_WIRE_GF_RESET) && to_version <= b->grp_from))
		return hs_wire_poison(b);
	hs_wire_wr64(g + 24, to_version);
	hs_wire_wr16(g + 42, b->grp_n);
	b->grp_off = 0;
	b->grp_n = 0;
	b->sec_n++;
	return 0;
}

void
hs_wire_group_cancel(struct hs_wire_builder *b)
{
	if (b->grp_off == 0)
		return;
	b->len = b->grp_off;
	b->grp_off = 0;
	b->grp_n = 0;
	b->grp_from = 0;
	b->grp_last = 0;
}

int
hs_wire_put_event(struct hs_wire_builder *b, uint64_t origin,
		  uint64_t generation, uint64_t seq, const void *payload,
		  uint16_t len)
{
	uint32_t need = HS_WIRE_EVENT_HDR_LEN + (uint32_t)len;
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_EVENTS);
	if (rc != 0)
		return rc;
	if (origin == 0 || (len != 0 && payload == NULL))
		return hs_wire_poison(b);
	if (hs_wire_free(b) < need)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, origin);
	hs_wire_wr64(p + 8, generation);
	hs_wire_wr64(p + 16, seq);
	hs_wire_wr16(p + 24, len);
	if (len != 0)
		memcpy(p + HS_WIRE_EVENT_HDR_LEN, payload, len);
	b->len += (uint16_t)need;
	b->sec_n++;
	return 0;
}

int
hs_wire_put_node(struct hs_wire_builder *b, const struct hs_wire_node *n)
{
	uint32_t need;
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_NODES);
	if (rc != 0)
		return rc;
	if (n == NULL || n->node == 0 || n->status > HS_WIRE_ST_MAX ||
	    (n->family != 4 && n->family != 6) ||
	    (n->family == 4 && !hs_wire_v4_tail_zero(n->addr)) ||
	    (n->name_len != 0 && n->name == NULL))
		return hs_wire_poison(b);
	need = HS_WIRE_NODE_HDR_LEN + (uint32_t)n->name_len;
	if (hs_wire_free(b) < need)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, n->node);
	hs_wire_wr64(p + 8, n->generation);
	hs_wire_wr64(p + 16, n->incarnation);
	p[24] = n->status;
	p[25] = n->family;
	hs_wire_wr16(p + 26, n->port);
	memcpy(p + 28, n->addr, 16);
	p[44] = n->name_len;
	if (n->name_len != 0)
		memcpy(p + HS_WIRE_NODE_HDR_LEN, n->name, n->name_len);
	b->len += (uint16_t)need;
	b->sec_n++;
	return 0;
}

int
hs_wire_put_probe(struct hs_wire_builder *b, const struct hs_wire_probe *pr)
{
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_PROBE);
	if (rc != 0)
		return rc;
	if (b->sec_n != 0 || pr == NULL || pr->target == 0 ||
	    (pr->family != 0 && pr->family != 4 && pr->family != 6) ||
	    (pr->family != 6 && !hs_wire_v4_tail_zero(pr->addr)) ||
	    (pr->family == 0 && hs_wire_rd32(pr->addr) != 0))
		return hs_wire_poison(b);
	if (hs_wire_free(b) < HS_WIRE_PROBE_LEN)
		return -EMSGSIZE;
	p = b->buf + b->len;
	hs_wire_wr64(p, pr->probe_seq);
	hs_wire_wr64(p + 8, pr->target);
	p[16] = pr->family;
	p[17] = 0;
	hs_wire_wr16(p + 18, pr->port);
	memcpy(p + 20, pr->addr, 16);
	b->len += HS_WIRE_PROBE_LEN;
	b->sec_n = 1;
	return 0;
}

int
hs_wire_put_agg(struct hs_wire_builder *b, const struct hs_wire_agg *a)
{
	uint64_t s, k, w, min, max;
	uint32_t need;
	uint8_t *p;
	int rc;

	rc = hs_wire_put_check(b, HS_WIRE_SEC_AGG);
	if (rc != 0)
		return rc;
	if (a == NULL || a->key_len == 0 || a->key == NULL)
		return hs_wire_poison(b);
	memcpy(&s, &a->s, sizeof(s));
	memcpy(&k, &a->k, sizeof(k));
	memcpy(&w, &a->w, sizeof(w));
	memcpy(&min, &a->min, sizeof(min));
	memcpy(&max, &a->max, sizeof(max));
	if (!hs_wire_agg_ok(s, k, w, min, max))
		return hs_wire_poison(b);
	need = HS_WIRE_AGG_HDR_LEN + (uint32_t)a->key_len;
	if (hs_wire_free(b) < need)
		return -EMSGSIZE;
	p = b->buf + b->len;
	p[0] = a->key_len;
	memset(p + 1, 0, 7);
	hs_wire_wr64(p + 8, a->epoch);
	hs_wire_wr64(p + 16, s);
	hs_wire_wr64(p + 24, k);
	hs_wire_wr64(p + 32, w);
	hs_wire_wr64(p + 40, min);
	hs_wire_wr64(p + 48, max);
	memcpy(p + HS_WIRE_AGG_HDR_LEN, a->key, a->key_len);
	b->len += (uint16_t)need;
	b->sec_n++;
	return 0;
}

int
hs_wire_build_end(struct hs_wire_builder *b)
{
	const struct hs_wire_rule *rule;
	uint32_t off, sec_mask = 0;

	if (b->err != 0)
		return b->err;
	if (b->sec_off != 0 || b->grp_off != 0)
		return hs_wire_poison(b);
	/* At most seven section headers to step over: cheaper than a field
	 * in the builder that every section_end would have to maintain. */
	for (off = HS_WIRE_HDR_LEN; off < b->len;
	     off += HS_WIRE_SEC_HDR_LEN + hs_wire_rd16(b->buf + off + 2))
		sec_mask |= 1u << b->buf[off];
	rule = &hs_wire_rules[b->msg_type];
	if (rule->need_any != 0 && (sec_mask & rule->need_any) == 0)
		return hs_wire_poison(b);
	hs_wire_wr16(b->buf + 6, (uint16_t)(b->len - HS_WIRE_HDR_LEN));
	memset(b->buf + b->len, 0, b->trailer_len);
	return b->len + b->trailer_len;
}

/* ---- bucket summaries (docs/PROTOCOL.md 6.2) ---- */

uint32_t
hs_wire_bucket_of(uint64_t node, uint32_t n_buckets)
{
	uint8_t be[8];

	hs_wire_wr64(be, node);
	return (uint32_t)(XXH3_64bits(be, 8) & (n_buckets - 1));
}

/* The digest without its heartbeat, which changes every round. */
uint64_t
hs_wire_bucket_term(const struct hs_wire_digest *d)
{
	uint8_t b[32];

	hs_wire_wr64(b, d->node);
	hs_wire_wr64(b + 8, d->generation);
	hs_wire_wr64(b + 16, d->max_version);
	hs_wire_wr64(b + 24, d->floor);
	return XXH3_64bits(b, 32);
}
