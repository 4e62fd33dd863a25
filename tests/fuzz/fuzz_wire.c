/*
 * libFuzzer target for the wire decoder (engine/wire.c).
 *
 * Every input is decoded.  A refusal must carry one of the three error
 * classes wire.h documents, and -EMSGSIZE exactly when the input is longer
 * than HS_WIRE_FRAME_MAX.  An accepted frame is walked with the inline
 * readers of wire.h, every read checked against the input's bounds first
 * (libFuzzer hands us a heap copy of exactly `size` bytes, so ASan also
 * catches what a check would miss), and is then re-encoded with the builder:
 * the format has one encoding per message, so the bytes must come back
 * identical.
 *
 * Two frames the decoder accepts cannot be re-encoded, by design of the
 * builder (docs/PROTOCOL.md, "Receiver rules"): a plain delta group with
 * to_version == from_version (it covers no version; the builder refuses it
 * as misuse, receivers treat it as a no-op), and an empty group in the last
 * 44 to 55 bytes of a maximum-size frame (the builder wants room for one
 * entry after a group header).  Both are recognised exactly and stop the
 * comparison; anything else that fails to re-encode is a bug.
 *
 * Single-threaded: libFuzzer calls us from one thread; the static scratch
 * buffers below are not shared.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/wire.h"

/* The engine library is built with -fsanitize=fuzzer-no-link when fuzzing
 * (meson.build), so libFuzzer sees the decoder's branches through it. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do {						\
		if (!(x)) {						\
			fprintf(stderr, "fuzz_wire: %s:%d: %s\n",	\
				__FILE__, __LINE__, #x);		\
			abort();					\
		}							\
	} while (0)

static const uint8_t *in_p;
static size_t in_len;

static bool
inside(const uint8_t *p, size_t n)
{
	uintptr_t b = (uintptr_t)in_p, q = (uintptr_t)p;

	return q >= b && q - b <= in_len && n <= in_len - (q - b);
}

/* Walks every item, checking each read before it is made. */
static void
walk(const struct hs_wire_msg *m)
{
	const uint8_t *cur = m->payload;
	struct hs_wire_iter it, eit;
	unsigned t, i, j;

	CHECK(m->payload == in_p + HS_WIRE_HDR_LEN);
	CHECK((size_t)HS_WIRE_HDR_LEN + m->hdr.payload_len +
	      m->hdr.trailer_len == in_len);
	CHECK(m->hdr.trailer_len == 0 ? m->trailer == NULL :
	      m->trailer == m->payload + m->hdr.payload_len);
	for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
		if (!hs_wire_has(m, (enum hs_wire_sec)t))
			continue;
		CHECK(m->sec[t].p == cur + HS_WIRE_SEC_HDR_LEN);
		CHECK(inside(m->sec[t].p, m->sec[t].len));
		CHECK(m->sec[t].len > 0 && m->sec[t].n > 0);
		cur = m->sec[t].p + m->sec[t].len;
	}
	CHECK(cur == m->payload + m->hdr.payload_len);

	if (hs_wire_has(m, HS_WIRE_SEC_DIGESTS)) {
		CHECK(m->sec[HS_WIRE_SEC_DIGESTS].len ==
		      m->sec[HS_WIRE_SEC_DIGESTS].n * HS_WIRE_DIGEST_LEN);
	}
	if (hs_wire_has(m, HS_WIRE_SEC_SUMMARY)) {
		struct hs_wire_summary su;

		hs_wire_summary_get(m, &su);
		CHECK(su.count == m->sec[HS_WIRE_SEC_SUMMARY].n);
		CHECK(inside(su.hashes, 8 * (size_t)su.count));
	}

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_DELTAS);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_DELTAS].n; i++) {
		struct hs_wire_group g;
		struct hs_wire_entry e;
		uint64_t prev;

		if (it.p != it.end)
			CHECK(inside(it.p, HS_WIRE_GROUP_HDR_LEN));
		if (!hs_wire_group_next(&it, &g))
			break;
		CHECK(g.owner != 0 && g.from_version <= g.to_version);
		CHECK(inside(g.entries, 0) && inside(g.end, 0));
		prev = g.from_version;
		hs_wire_entries_init(&eit, &g);
		for (j = 0; j <= g.n_entries; j++) {
			if (eit.p != eit.end)
				CHECK(inside(eit.p, HS_WIRE_ENTRY_HDR_LEN));
			if (!hs_wire_entry_next(&eit, &e))
				break;
			CHECK(inside(e.key, e.key_len));
			CHECK(inside(e.value, e.value_len));
			CHECK(e.key_len > 0);
			CHECK(e.version > prev && e.version <= g.to_version);
			prev = e.version;
		}
		CHECK(j == g.n_entries && eit.p == g.end);
	}
	CHECK(i == m->sec[HS_WIRE_SEC_DELTAS].n && it.p == it.end);

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_EVENTS);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_EVENTS].n; i++) {
		struct hs_wire_event ev;

		if (it.p != it.end)
			CHECK(inside(it.p, HS_WIRE_EVENT_HDR_LEN));
		if (!hs_wire_event_next(&it, &ev))
			break;
		CHECK(inside(ev.payload, ev.len));
	}
	CHECK(i == m->sec[HS_WIRE_SEC_EVENTS].n && it.p == it.end);

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_NODES);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_NODES].n; i++) {
		struct hs_wire_node n;

		if (it.p != it.end)
			CHECK(inside(it.p, HS_WIRE_NODE_HDR_LEN));
		if (!hs_wire_node_next(&it, &n))
			break;
		CHECK(inside(n.name, n.name_len));
	}
	CHECK(i == m->sec[HS_WIRE_SEC_NODES].n && it.p == it.end);

	if (hs_wire_has(m, HS_WIRE_SEC_PROBE))
		CHECK(m->sec[HS_WIRE_SEC_PROBE].len == HS_WIRE_PROBE_LEN);

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_AGG);
	for (i = 0; i <= m->sec[HS_WIRE_SEC_AGG].n; i++) {
		struct hs_wire_agg a;

		if (it.p != it.end)
			CHECK(inside(it.p, HS_WIRE_AGG_HDR_LEN));
		if (!hs_wire_agg_next(&it, &a))
			break;
		CHECK(inside(a.key, a.key_len) && a.key_len > 0);
	}
	CHECK(i == m->sec[HS_WIRE_SEC_AGG].n && it.p == it.end);
}

/* Re-encodes the DELTAS section; false when a group is one of the two
 * the builder cannot express (see the top of the file). */
static bool
encode_deltas(struct hs_wire_builder *b, const struct hs_wire_msg *m)
{
	struct hs_wire_iter it, eit;
	struct hs_wire_group g;
	struct hs_wire_entry e;
	int rc;

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_DELTAS);
	while (hs_wire_group_next(&it, &g)) {
		size_t room = hs_wire_room(b);

		rc = hs_wire_group_begin(b, g.owner, g.generation,
					 g.from_version, g.floor, g.flags);
		if (rc == -EMSGSIZE) {
			CHECK(g.n_entries == 0);
			CHECK(room >= HS_WIRE_GROUP_HDR_LEN &&
			      room < HS_WIRE_GROUP_HDR_LEN +
				     HS_WIRE_ENTRY_HDR_LEN);
			return false;
		}
		CHECK(rc == 0);
		hs_wire_entries_init(&eit, &g);
		while (hs_wire_entry_next(&eit, &e))
			CHECK(hs_wire_put_entry(b, e.version, e.flags, e.key,
						e.key_len, e.value,
						e.value_len) == 0);
		rc = hs_wire_group_end(b, g.to_version);
		if (rc == -EINVAL) {
			CHECK(!(g.flags & HS_WIRE_GF_RESET) &&
			      g.to_version == g.from_version &&
			      g.n_entries == 0);
			return false;
		}
		CHECK(rc == 0);
	}
	return true;
}

/* Re-encodes m into out; returns the length, or 0 when the frame is one
 * the builder cannot express. */
static size_t
encode(const struct hs_wire_msg *m, uint8_t *out)
{
	static uint64_t hashes[HS_WIRE_FRAME_MAX / 8];
	struct hs_wire_builder b;
	struct hs_wire_iter it;
	unsigned t, i;
	int rc;

	CHECK(hs_wire_build_begin(&b, out, HS_WIRE_FRAME_MAX, &m->hdr) == 0);
	for (t = 1; t <= HS_WIRE_SEC_MAX; t++) {
		if (!hs_wire_has(m, (enum hs_wire_sec)t))
			continue;
		CHECK(hs_wire_section_begin(&b, (enum hs_wire_sec)t) == 0);
		switch (t) {
		case HS_WIRE_SEC_DIGESTS:
			for (i = 0; i < m->sec[t].n; i++) {
				struct hs_wire_digest d;

				hs_wire_digest_get(m, i, &d);
				CHECK(hs_wire_put_digest(&b, &d) == 0);
			}
			break;
		case HS_WIRE_SEC_SUMMARY: {
			struct hs_wire_summary su;

			hs_wire_summary_get(m, &su);
			for (i = 0; i < su.count; i++)
				hashes[i] = hs_wire_rd64(su.hashes + 8 * i);
			CHECK(hs_wire_put_summary(&b, su.n_buckets, su.first,
						  su.count, hashes) == 0);
			break;
		}
		case HS_WIRE_SEC_DELTAS:
			if (!encode_deltas(&b, m))
				return 0;
			break;
		case HS_WIRE_SEC_EVENTS: {
			struct hs_wire_event ev;

			hs_wire_iter_init(&it, m, HS_WIRE_SEC_EVENTS);
			while (hs_wire_event_next(&it, &ev))
				CHECK(hs_wire_put_event(&b, ev.origin,
					ev.generation, ev.seq, ev.payload,
					ev.len) == 0);
			break;
		}
		case HS_WIRE_SEC_NODES: {
			struct hs_wire_node n;

			hs_wire_iter_init(&it, m, HS_WIRE_SEC_NODES);
			while (hs_wire_node_next(&it, &n))
				CHECK(hs_wire_put_node(&b, &n) == 0);
			break;
		}
		case HS_WIRE_SEC_PROBE: {
			struct hs_wire_probe p;

			hs_wire_probe_get(m, &p);
			CHECK(hs_wire_put_probe(&b, &p) == 0);
			break;
		}
		default: {
			struct hs_wire_agg a;

			hs_wire_iter_init(&it, m, HS_WIRE_SEC_AGG);
			while (hs_wire_agg_next(&it, &a))
				CHECK(hs_wire_put_agg(&b, &a) == 0);
			break;
		}
		}
		CHECK(hs_wire_section_end(&b) == 0);
	}
	rc = hs_wire_build_end(&b);
	CHECK(rc > 0);
	/* The trailer is the caller's to fill (authentication, issue #8). */
	if (m->hdr.trailer_len != 0)
		memcpy(out + rc - m->hdr.trailer_len, m->trailer,
		       m->hdr.trailer_len);
	return (size_t)rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[HS_WIRE_FRAME_MAX];
	struct hs_wire_msg m;
	size_t len;
	int rc;

	rc = hs_wire_decode(data, size, &m);
	if (rc != 0) {
		CHECK(rc == -EBADMSG || rc == -EPROTO || rc == -EMSGSIZE);
		CHECK((rc == -EMSGSIZE) == (size > HS_WIRE_FRAME_MAX));
		return 0;
	}
	in_p = data;
	in_len = size;
	walk(&m);
	len = encode(&m, out);
	if (len != 0) {
		CHECK(len == size);
		CHECK(memcmp(out, data, size) == 0);
	}
	return 0;
}
