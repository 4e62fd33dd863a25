// hearsay wire codec micro-benchmarks (Google Benchmark).
//
// The frame is the hot one: a DELTAS section of one group, 16-byte keys and
// 32-byte values (60 bytes an entry), filled to the budget, so 23 entries
// at the default 1472 bytes and 148 at 8972 (jumbo); the argument is the
// budget.  Items are entries, bytes are frame bytes.
//
// BM_wire_encode_deltas  build the frame with hs_wire_* (cut at -EMSGSIZE)
// BM_wire_decode         hs_wire_decode alone: the one validating pass
// BM_wire_decode_walk    decode, then every entry through the inline readers
//                        (what a merge costs before it touches the table)
//
// Linked with table_bench.cc into hearsay-microbench, which has
// BENCHMARK_MAIN(); helpers stay in an anonymous namespace.
#include <benchmark/benchmark.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/wire.h"

namespace {

constexpr unsigned kKeyLen = 16;
constexpr unsigned kValLen = 32;

struct Keys {
	// Keys for up to a jumbo frame's worth of entries, made once so the
	// encode loop measures the codec, not snprintf.
	uint8_t key[HS_WIRE_FRAME_MAX / (HS_WIRE_ENTRY_HDR_LEN + kKeyLen +
					 kValLen) + 1][kKeyLen];
	uint8_t val[kValLen];

	Keys()
	{
		char tmp[kKeyLen + 1];

		for (unsigned i = 0; i < sizeof(key) / sizeof(key[0]); i++) {
			snprintf(tmp, sizeof(tmp), "key-%012u", i);
			memcpy(key[i], tmp, kKeyLen);
		}
		memset(val, 'v', sizeof(val));
	}
};

const Keys &
keys()
{
	static const Keys k;

	return k;
}

// Fills buf up to budget; returns the frame length, or a negative errno.
int
encode_deltas(uint8_t *buf, size_t budget, unsigned *n_entries)
{
	const Keys &k = keys();
	hs_wire_hdr h = {};
	hs_wire_builder b;
	uint64_t v = 1000;
	unsigned n = 0;
	int rc;

	h.type = HS_WIRE_PUSH;
	h.cluster_id = 1;
	h.sender_id = 42;
	h.sender_gen = 1;
	h.seq = 1;
	hs_wire_build_begin(&b, buf, budget, &h);
	hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS);
	hs_wire_group_begin(&b, 7, 1, v, 0, 0);
	for (;;) {
		rc = hs_wire_put_entry(&b, v + 1, 0, k.key[n], kKeyLen, k.val,
				       kValLen);
		if (rc != 0)
			break;
		v++;
		n++;
	}
	hs_wire_group_end(&b, v);
	hs_wire_section_end(&b);
	*n_entries = n;
	return hs_wire_build_end(&b);
}

struct Frame {
	uint8_t buf[HS_WIRE_FRAME_MAX];
	size_t len;
	unsigned n_entries;
};

bool
make_frame(benchmark::State &state, Frame *f)
{
	int rc = encode_deltas(f->buf, (size_t)state.range(0), &f->n_entries);
	hs_wire_msg m;

	if (rc <= 0 || hs_wire_decode(f->buf, (size_t)rc, &m) != 0) {
		state.SkipWithError("cannot build the frame");
		return false;
	}
	f->len = (size_t)rc;
	return true;
}

void
BM_wire_encode_deltas(benchmark::State &state)
{
	static uint8_t buf[HS_WIRE_FRAME_MAX];
	unsigned n = 0;
	int len = 0;

	keys();
	for (auto _ : state) {
		len = encode_deltas(buf, (size_t)state.range(0), &n);
		benchmark::DoNotOptimize(len);
		benchmark::ClobberMemory();
	}
	if (len <= 0) {
		state.SkipWithError("encode failed");
		return;
	}
	state.SetItemsProcessed((int64_t)state.iterations() * n);
	state.SetBytesProcessed((int64_t)state.iterations() * len);
	state.counters["entries"] = n;
}

void
BM_wire_decode(benchmark::State &state)
{
	static Frame f;
	hs_wire_msg m;

	if (!make_frame(state, &f))
		return;
	for (auto _ : state) {
		int rc = hs_wire_decode(f.buf, f.len, &m);

		benchmark::DoNotOptimize(rc);
		benchmark::DoNotOptimize(m);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * f.n_entries);
	state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)f.len);
	state.counters["entries"] = f.n_entries;
}

void
BM_wire_decode_walk(benchmark::State &state)
{
	static Frame f;
	hs_wire_msg m;
	unsigned seen = 0;

	if (!make_frame(state, &f))
		return;
	for (auto _ : state) {
		hs_wire_iter it, eit;
		hs_wire_group g;
		hs_wire_entry e;
		uint64_t sum = 0;

		if (hs_wire_decode(f.buf, f.len, &m) != 0) {
			state.SkipWithError("decode failed");
			return;
		}
		seen = 0;
		hs_wire_iter_init(&it, &m, HS_WIRE_SEC_DELTAS);
		while (hs_wire_group_next(&it, &g)) {
			hs_wire_entries_init(&eit, &g);
			while (hs_wire_entry_next(&eit, &e)) {
				// Touch what a merge reads first: version,
				// lengths, the key's first bytes.
				sum += e.version + e.key_len + e.value_len +
				       e.key[0] + e.value[0];
				seen++;
			}
		}
		benchmark::DoNotOptimize(sum);
	}
	if (seen != f.n_entries) {
		state.SkipWithError("walk lost entries");
		return;
	}
	state.SetItemsProcessed((int64_t)state.iterations() * f.n_entries);
	state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)f.len);
	state.counters["entries"] = f.n_entries;
}

}  // namespace

BENCHMARK(BM_wire_encode_deltas)->Arg(HS_WIRE_FRAME_DEFAULT)
	->Arg(HS_WIRE_FRAME_MAX);
BENCHMARK(BM_wire_decode)->Arg(HS_WIRE_FRAME_DEFAULT)->Arg(HS_WIRE_FRAME_MAX);
BENCHMARK(BM_wire_decode_walk)->Arg(HS_WIRE_FRAME_DEFAULT)
	->Arg(HS_WIRE_FRAME_MAX);
