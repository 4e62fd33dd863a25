/*
 * hearsay wire protocol v1: codec.
 *
 * One gossip message is one UDP payload ("frame"), never fragmented, at most
 * the configured frame budget (1472 bytes of UDP payload for a 1500-byte MTU
 * by default, up to 8972 for jumbo frames).  docs/PROTOCOL.md is the
 * byte-level specification; this header is its C binding.
 *
 * Layout: a 40-byte common header, a payload made of sections (type, flags,
 * length, body), then an optional opaque trailer (the authentication tag,
 * see issue #8).  Every integer is big-endian (network byte order).
 *
 * Encoding writes into a caller's buffer through struct hs_wire_builder;
 * nothing is allocated.  A put that does not fit returns -EMSGSIZE and leaves
 * the builder as it was, so a caller can fill a frame to its budget and cut
 * there.
 *
 * Decoding (hs_wire_decode) validates the whole frame once: header, every
 * section, every item, every length, count and ordering rule.  It then
 * returns views into the frame (no copy, no allocation).  The inline readers
 * below walk a validated frame without checking again: they must only be
 * used on a struct hs_wire_msg that hs_wire_decode() filled and returned 0
 * for, while the frame memory is still valid.
 *
 * Thread context: any thread; no shared state.
 */
#ifndef HS_WIRE_H
#define HS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_WIRE_MAGIC		0x4853u	/* "HS" */
#define HS_WIRE_VERSION		1
#define HS_WIRE_HDR_LEN		40
#define HS_WIRE_SEC_HDR_LEN	4
#define HS_WIRE_FRAME_MIN	(HS_WIRE_HDR_LEN)
#define HS_WIRE_FRAME_DEFAULT	1472	/* 1500 MTU - 20 IPv4 - 8 UDP */
#define HS_WIRE_FRAME_MAX	8972	/* 9000 MTU - 20 IPv4 - 8 UDP */
#define HS_WIRE_TRAILER_MAX	64

/* Header flags. */
#define HS_WIRE_F_AUTH		0x0001u	/* trailer is an authentication tag */
#define HS_WIRE_F_KNOWN		(HS_WIRE_F_AUTH)

enum hs_wire_type {
	HS_WIRE_SYN = 1,	/* digests and/or summary of what I know */
	HS_WIRE_ACK = 2,	/* digests I want + deltas you lack */
	HS_WIRE_ACK2 = 3,	/* deltas you asked for */
	HS_WIRE_PUSH = 4,	/* rumor mongering: fresh deltas and events */
	HS_WIRE_JOIN = 5,	/* a node announces itself to a seed */
	HS_WIRE_LEAVE = 6,	/* a node says it leaves, before it goes */
	HS_WIRE_PING = 7,	/* direct probe */
	HS_WIRE_PING_REQ = 8,	/* ask a member to probe a target for me */
	HS_WIRE_PING_ACK = 9,	/* answer to a probe (direct or relayed) */
	HS_WIRE_TYPE_MAX = 9,
};

/* Section types.  In a payload they appear in strictly ascending type order,
 * each at most once. */
enum hs_wire_sec {
	HS_WIRE_SEC_DIGESTS = 1,
	HS_WIRE_SEC_SUMMARY = 2,
	HS_WIRE_SEC_DELTAS = 3,
	HS_WIRE_SEC_EVENTS = 4,
	HS_WIRE_SEC_NODES = 5,
	HS_WIRE_SEC_PROBE = 6,
	HS_WIRE_SEC_AGG = 7,	/* PUSH only: push-sum shares */
	HS_WIRE_SEC_MAX = 7,
};

#define HS_WIRE_DIGEST_LEN	40
#define HS_WIRE_SUMMARY_HDR_LEN	8
#define HS_WIRE_GROUP_HDR_LEN	44
#define HS_WIRE_ENTRY_HDR_LEN	12
#define HS_WIRE_EVENT_HDR_LEN	26
#define HS_WIRE_NODE_HDR_LEN	45
#define HS_WIRE_PROBE_LEN	36
#define HS_WIRE_AGG_HDR_LEN	56

/* Delta group flags. */
#define HS_WIRE_GF_RESET	0x01u	/* replace the owner's state, see spec */
/* Delta entry flags. */
#define HS_WIRE_EF_TOMBSTONE	0x01u

#define HS_WIRE_KEY_MAX		255
#define HS_WIRE_NAME_MAX	255

enum hs_wire_status {
	HS_WIRE_ST_ALIVE = 0,
	HS_WIRE_ST_SUSPECT = 1,
	HS_WIRE_ST_DEAD = 2,
	HS_WIRE_ST_LEFT = 3,
	HS_WIRE_ST_MAX = 3,
};

/* Common header, host byte order. */
struct hs_wire_hdr {
	uint8_t version;	/* decode: as read; encode: ignored (v1) */
	uint8_t type;		/* enum hs_wire_type */
	uint16_t flags;
	uint16_t payload_len;	/* decode only */
	uint16_t trailer_len;
	uint32_t cluster_id;
	uint64_t sender_id;
	uint64_t sender_gen;
	uint64_t seq;
};

/* A validated section: body pointer, body length, item count. */
struct hs_wire_span {
	const uint8_t *p;
	uint16_t len;
	uint16_t n;
};

struct hs_wire_msg {
	struct hs_wire_hdr hdr;
	uint32_t sec_mask;		/* bit t set when section t present */
	struct hs_wire_span sec[HS_WIRE_SEC_MAX + 1];
	const uint8_t *payload;
	const uint8_t *trailer;		/* NULL when trailer_len == 0 */
};

struct hs_wire_digest {
	uint64_t node;
	uint64_t generation;
	uint64_t heartbeat;
	uint64_t max_version;
	uint64_t floor;		/* tombstone-GC floor the sender holds */
};

struct hs_wire_summary {
	uint16_t n_buckets;	/* power of two, 1..32768 */
	uint16_t first;		/* first bucket carried */
	uint16_t count;		/* buckets carried; first + count <= n_buckets */
	const uint8_t *hashes;	/* count big-endian u64 */
};

struct hs_wire_group {
	uint64_t owner;
	uint64_t generation;
	uint64_t from_version;	/* exclusive; 0 with RESET */
	uint64_t to_version;	/* inclusive: receiver may advance to this */
	uint64_t floor;		/* sender's tombstone-GC floor for the owner */
	uint8_t flags;
	uint16_t n_entries;
	const uint8_t *entries;	/* first entry */
	const uint8_t *end;	/* one past the last entry */
};

struct hs_wire_entry {
	uint64_t version;
	uint8_t flags;
	uint8_t key_len;
	uint16_t value_len;
	const uint8_t *key;
	const uint8_t *value;
};

struct hs_wire_event {
	uint64_t origin;
	uint64_t generation;
	uint64_t seq;
	uint16_t len;
	const uint8_t *payload;
};

struct hs_wire_node {
	uint64_t node;
	uint64_t generation;
	uint64_t incarnation;	/* SWIM: raised only by the node itself, to refute */
	uint8_t status;		/* enum hs_wire_status */
	uint8_t family;		/* 4 or 6 */
	uint16_t port;
	uint8_t addr[16];	/* IPv4 in the first 4 bytes, rest zero */
	uint8_t name_len;
	const uint8_t *name;	/* decode: view; encode: name_len bytes */
};

struct hs_wire_probe {
	uint64_t probe_seq;
	uint64_t target;
	uint8_t family;		/* 0 (no address), 4 or 6 */
	uint16_t port;
	uint8_t addr[16];
};

/*
 * A push-sum share of one aggregate (docs/PROTOCOL.md 6.7).  The five
 * doubles travel as the big-endian bit patterns of IEEE-754 binary64.
 * s, k and w are finite, k >= 0 and w >= 0; min and max are not NaN, and
 * are +inf and -inf while no value has been seen.
 */
struct hs_wire_agg {
	uint64_t epoch;
	double s;		/* sum share */
	double k;		/* count share */
	double w;		/* weight share */
	double min;
	double max;
	uint8_t key_len;	/* 1..255 */
	const uint8_t *key;	/* decode: view; encode: key_len bytes */
};

/*
 * Validate frame [buf, buf + len) and fill *m with views into it.
 * Returns 0, or:
 *   -EBADMSG   shorter than the header, bad magic, a length that does not
 *              add up, a section or item that overruns its container, a
 *              count that does not match, a field out of its range;
 *   -EPROTO    unknown protocol version, unknown message type, unknown
 *              header flag, unknown section type, a section not allowed in
 *              this message type, sections out of order or repeated, a
 *              required section missing, a nonzero reserved field;
 *   -EMSGSIZE  len above HS_WIRE_FRAME_MAX.
 * Never reads outside [buf, buf + len).  Allocates nothing.
 */
int hs_wire_decode(const void *buf, size_t len, struct hs_wire_msg *m);

/* A short name for a negative errno from hs_wire_decode, for counters. */
const char *hs_wire_strerror(int err);
const char *hs_wire_type_name(unsigned type);

/*
 * Builder.  Usage:
 *   hs_wire_build_begin(&b, buf, budget, &hdr);
 *   hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS);
 *   hs_wire_group_begin(&b, owner, gen, from, 0);
 *   while (hs_wire_put_entry(&b, ...) == 0) ...;
 *   hs_wire_group_end(&b, to);
 *   hs_wire_section_end(&b);
 *   len = hs_wire_build_end(&b);
 * budget is the whole frame, header and trailer included; hdr->trailer_len
 * bytes at the end are reserved for the trailer (filled by the caller after
 * hs_wire_build_end; the builder zeroes them).
 * Every put returns 0, -EMSGSIZE when it does not fit (builder unchanged),
 * -EINVAL on misuse (wrong section for the put, sections out of order,
 * versions not increasing in a group, a field out of range).  After an
 * -EINVAL the builder is poisoned and hs_wire_build_end returns -EINVAL.
 */
struct hs_wire_builder {
	uint8_t *buf;
	uint16_t cap;		/* budget minus trailer room */
	uint16_t len;		/* bytes written so far */
	uint16_t trailer_len;
	uint16_t sec_off;	/* offset of the open section header, 0: none */
	uint16_t grp_off;	/* offset of the open group header, 0: none */
	uint16_t sec_n;		/* items in the open section */
	uint16_t grp_n;		/* entries in the open group */
	uint8_t sec_type;	/* open section type */
	uint8_t last_sec;	/* highest section type written */
	uint8_t msg_type;
	int err;
	uint64_t grp_from;
	uint64_t grp_last;	/* version of the last entry in the group */
};

int hs_wire_build_begin(struct hs_wire_builder *b, void *buf, size_t budget,
			const struct hs_wire_hdr *hdr);
int hs_wire_section_begin(struct hs_wire_builder *b, enum hs_wire_sec sec);
/* Closes the open section; a section with no item is removed. */
int hs_wire_section_end(struct hs_wire_builder *b);
/* Bytes still free for section content (the open section's items). */
size_t hs_wire_room(const struct hs_wire_builder *b);

int hs_wire_put_digest(struct hs_wire_builder *b,
		       const struct hs_wire_digest *d);
int hs_wire_put_summary(struct hs_wire_builder *b, uint16_t n_buckets,
			uint16_t first, uint16_t count,
			const uint64_t *hashes);
/* A SUMMARY's bucket of owner `node` among n_buckets (a power of two),
 * and an owner's term in its bucket's hash (the XOR of its owners'
 * terms): both as docs/PROTOCOL.md 6.2 defines them, so that every
 * implementation computes the same summary. */
uint32_t hs_wire_bucket_of(uint64_t node, uint32_t n_buckets);
uint64_t hs_wire_bucket_term(const struct hs_wire_digest *d);
/* A group needs room for its header plus one entry's header, or -EMSGSIZE. */
int hs_wire_group_begin(struct hs_wire_builder *b, uint64_t owner,
			uint64_t generation, uint64_t from_version,
			uint64_t floor, uint8_t flags);
int hs_wire_put_entry(struct hs_wire_builder *b, uint64_t version,
		      uint8_t flags, const void *key, uint8_t key_len,
		      const void *value, uint16_t value_len);
/* to_version >= last entry's version and > from_version unless RESET.
 * RESET needs from_version 0. */
int hs_wire_group_end(struct hs_wire_builder *b, uint64_t to_version);
/* Drops the open group and its entries, as if never begun. */
void hs_wire_group_cancel(struct hs_wire_builder *b);
int hs_wire_put_event(struct hs_wire_builder *b, uint64_t origin,
		      uint64_t generation, uint64_t seq, const void *payload,
		      uint16_t len);
int hs_wire_put_node(struct hs_wire_builder *b, const struct hs_wire_node *n);
int hs_wire_put_probe(struct hs_wire_builder *b,
		      const struct hs_wire_probe *p);
/* Refuses (-EINVAL) what the decoder would: key_len 0, s, k or w NaN or
 * infinite, k or w negative, min or max NaN. */
int hs_wire_put_agg(struct hs_wire_builder *b, const struct hs_wire_agg *a);
/* Writes payload_len; returns the frame length (> 0) or -EINVAL. */
int hs_wire_build_end(struct hs_wire_builder *b);

/* ---- inline readers over a validated frame (no checks) ---- */

static inline uint16_t
hs_wire_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap16(v);
}

static inline uint32_t
hs_wire_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline uint64_t
hs_wire_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

/* binary64 as its bit pattern: the wire carries no other float form. */
static inline double
hs_wire_rdf64(const uint8_t *p)
{
	uint64_t u = hs_wire_rd64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static inline void
hs_wire_wr16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
hs_wire_wr32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
hs_wire_wr64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, sizeof(v));
}

static inline bool
hs_wire_has(const struct hs_wire_msg *m, enum hs_wire_sec sec)
{
	return (m->sec_mask >> sec) & 1u;
}

/* Digest i of the DIGESTS section, i < m->sec[HS_WIRE_SEC_DIGESTS].n. */
static inline void
hs_wire_digest_get(const struct hs_wire_msg *m, unsigned i,
		   struct hs_wire_digest *d)
{
	const uint8_t *p = m->sec[HS_WIRE_SEC_DIGESTS].p +
			   (size_t)i * HS_WIRE_DIGEST_LEN;

	d->node = hs_wire_rd64(p);
	d->generation = hs_wire_rd64(p + 8);
	d->heartbeat = hs_wire_rd64(p + 16);
	d->max_version = hs_wire_rd64(p + 24);
	d->floor = hs_wire_rd64(p + 32);
}

static inline void
hs_wire_summary_get(const struct hs_wire_msg *m, struct hs_wire_summary *s)
{
	const uint8_t *p = m->sec[HS_WIRE_SEC_SUMMARY].p;

	s->n_buckets = hs_wire_rd16(p);
	s->first = hs_wire_rd16(p + 2);
	s->count = hs_wire_rd16(p + 4);
	s->hashes = p + HS_WIRE_SUMMARY_HDR_LEN;
}

static inline void
hs_wire_probe_get(const struct hs_wire_msg *m, struct hs_wire_probe *pr)
{
	const uint8_t *p = m->sec[HS_WIRE_SEC_PROBE].p;

	pr->probe_seq = hs_wire_rd64(p);
	pr->target = hs_wire_rd64(p + 8);
	pr->family = p[16];
	pr->port = hs_wire_rd16(p + 18);
	memcpy(pr->addr, p + 20, 16);
}

/* Cursor over the items of a variable-size section or of a group. */
struct hs_wire_iter {
	const uint8_t *p;
	const uint8_t *end;
};

static inline void
hs_wire_iter_init(struct hs_wire_iter *it, const struct hs_wire_msg *m,
		  enum hs_wire_sec sec)
{
	/* An absent section has p == NULL, and NULL + 0 is undefined in C. */
	if (!hs_wire_has(m, sec)) {
		it->p = it->end = NULL;
		return;
	}
	it->p = m->sec[sec].p;
	it->end = m->sec[sec].p + m->sec[sec].len;
}

static inline bool
hs_wire_group_next(struct hs_wire_iter *it, struct hs_wire_group *g)
{
	const uint8_t *p = it->p;
	const uint8_t *e;
	uint16_t i;

	if (p == it->end)
		return false;
	g->owner = hs_wire_rd64(p);
	g->generation = hs_wire_rd64(p + 8);
	g->from_version = hs_wire_rd64(p + 16);
	g->to_version = hs_wire_rd64(p + 24);
	g->floor = hs_wire_rd64(p + 32);
	g->flags = p[40];
	g->n_entries = hs_wire_rd16(p + 42);
	e = p + HS_WIRE_GROUP_HDR_LEN;
	g->entries = e;
	for (i = 0; i < g->n_entries; i++)
		e += HS_WIRE_ENTRY_HDR_LEN + e[9] + hs_wire_rd16(e + 10);
	g->end = e;
	it->p = e;
	return true;
}

static inline void
hs_wire_entries_init(struct hs_wire_iter *it, const struct hs_wire_group *g)
{
	it->p = g->entries;
	it->end = g->end;
}

static inline bool
hs_wire_entry_next(struct hs_wire_iter *it, struct hs_wire_entry *en)
{
	const uint8_t *p = it->p;

	if (p == it->end)
		return false;
	en->version = hs_wire_rd64(p);
	en->flags = p[8];
	en->key_len = p[9];
	en->value_len = hs_wire_rd16(p + 10);
	en->key = p + HS_WIRE_ENTRY_HDR_LEN;
	en->value = en->key + en->key_len;
	it->p = en->value + en->value_len;
	return true;
}

static inline bool
hs_wire_event_next(struct hs_wire_iter *it, struct hs_wire_event *ev)
{
	const uint8_t *p = it->p;

	if (p == it->end)
		return false;
	ev->origin = hs_wire_rd64(p);
	ev->generation = hs_wire_rd64(p + 8);
	ev->seq = hs_wire_rd64(p + 16);
	ev->len = hs_wire_rd16(p + 24);
	ev->payload = p + HS_WIRE_EVENT_HDR_LEN;
	it->p = ev->payload + ev->len;
	return true;
}

static inline bool
hs_wire_node_next(struct hs_wire_iter *it, struct hs_wire_node *n)
{
	const uint8_t *p = it->p;

	if (p == it->end)
		return false;
	n->node = hs_wire_rd64(p);
	n->generation = hs_wire_rd64(p + 8);
	n->incarnation = hs_wire_rd64(p + 16);
	n->status = p[24];
	n->family = p[25];
	n->port = hs_wire_rd16(p + 26);
	memcpy(n->addr, p + 28, 16);
	n->name_len = p[44];
	n->name = p + HS_WIRE_NODE_HDR_LEN;
	it->p = n->name + n->name_len;
	return true;
}

static inline bool
hs_wire_agg_next(struct hs_wire_iter *it, struct hs_wire_agg *a)
{
	const uint8_t *p = it->p;

	if (p == it->end)
		return false;
	a->key_len = p[0];
	a->epoch = hs_wire_rd64(p + 8);
	a->s = hs_wire_rdf64(p + 16);
	a->k = hs_wire_rdf64(p + 24);
	a->w = hs_wire_rdf64(p + 32);
	a->min = hs_wire_rdf64(p + 40);
	a->max = hs_wire_rdf64(p + 48);
	a->key = p + HS_WIRE_AGG_HDR_LEN;
	it->p = a->key + a->key_len;
	return true;
}

#ifdef __cplusplus
}
#endif

#endif /* HS_WIRE_H */
