// hearsay state-table micro-benchmarks (Google Benchmark).
//
// BM_table_merge_fresh/<entries>/<workers>
//   decode + merge of delta frames, every entry a new version of a key the
//   table holds (the hard case: key lookup, allocation, CAS replace, change
//   log, retirement).  Owners hold 1000 keys each (16-byte keys, 32-byte
//   values), so 1k / 100k / 1M entries = 1 / 100 / 1000 owners.  Frames are
//   ACK2s cut to the 1472-byte default budget (23 entries each), built
//   beforehand; one iteration merges one full round.  With 2 workers each
//   merges its own half of the owners (RSS spreads peers over queues) and
//   the rate is the node's aggregate over the round's wall-clock time.
// BM_table_merge_known/<entries>
//   the same frames replayed once merged: the anti-entropy steady state,
//   where the watermark skips entries without a key lookup.
// BM_table_digests, BM_table_build_deltas: the sending side.
// BM_ref_*: reference primitives at the same sizes, in the same run, so that
//   docs/PERFORMANCE.md can quote ratios: a bare cds_lfht lookup, a cds_lfht
//   lookup + CAS replace of an immutable value, and a lookup in a plain
//   open-addressing array (the upper bound for any hash table).
#include <benchmark/benchmark.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <thread>
#include <vector>

#include <urcu/urcu-qsbr.h>
#include <urcu/rculfhash.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine/table.h"
#include "engine/wire.h"

namespace {

constexpr unsigned kKeysPerOwner = 1000;
constexpr unsigned kKeyLen = 16;
constexpr unsigned kValLen = 32;
constexpr unsigned kBurst = 32;	// frames per worker loop iteration

struct Frame {
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	uint16_t len;
	uint16_t n_entries;
};

void
key_of(char *k, unsigned i)
{
	snprintf(k, kKeyLen + 1, "key-%012u", i);
}

// Frames carrying round r of owners [first, first + n): every key of each
// owner once, versions r * kKeysPerOwner + 1 .. (r + 1) * kKeysPerOwner.
void
build_round(std::vector<Frame> *out, unsigned first, unsigned n, unsigned r)
{
	char key[kKeyLen + 1], val[kValLen];
	hs_wire_hdr h = {};

	memset(val, 'v', sizeof(val));
	h.type = HS_WIRE_ACK2;
	h.cluster_id = 1;
	h.sender_id = 999999;
	h.sender_gen = 1;
	for (unsigned o = first; o < first + n; o++) {
		uint64_t base = (uint64_t)r * kKeysPerOwner;
		unsigned j = 0;

		while (j < kKeysPerOwner) {
			hs_wire_builder b;
			Frame f;
			uint64_t from = base + j;
			int rc;

			h.seq++;
			hs_wire_build_begin(&b, f.buf, sizeof(f.buf), &h);
			hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS);
			hs_wire_group_begin(&b, 1000 + o, 1, from, 0, 0);
			f.n_entries = 0;
			for (; j < kKeysPerOwner; j++) {
				key_of(key, j);
				memcpy(val, &j, sizeof(j));
				rc = hs_wire_put_entry(&b, base + j + 1, 0, key,
						       kKeyLen, val, kValLen);
				if (rc == -EMSGSIZE)
					break;
				f.n_entries++;
			}
			hs_wire_group_end(&b, base + j);
			hs_wire_section_end(&b);
			f.len = (uint16_t)hs_wire_build_end(&b);
			out->push_back(f);
		}
	}
}

int
merge_frames(hs_table_ctx *c, const std::vector<Frame> &frames)
{
	int total = 0;
	size_t i = 0;

	for (const Frame &f : frames) {
		hs_wire_msg m;

		if (hs_wire_decode(f.buf, f.len, &m) == 0)
			total += hs_table_merge_msg(c, &m);
		// a worker's loop: a burst, then its quiescent state
		if (++i % kBurst == 0) {
			hs_table_ctx_flush(c);
			urcu_qsbr_quiescent_state();
		}
	}
	hs_table_ctx_flush(c);
	urcu_qsbr_quiescent_state();
	return total;
}

struct MergeSetup {
	hs_table *t = nullptr;
	std::vector<std::vector<std::vector<Frame>>> rounds;	// [thread][round]
	unsigned n_rounds = 0;
};

MergeSetup g_merge;

void
merge_setup(unsigned entries, unsigned threads, unsigned n_rounds)
{
	unsigned owners = entries / kKeysPerOwner;
	hs_table_params p = {};
	hs_table_ctx *c;

	p.self_id = 1;
	p.self_generation = 1;
	p.max_members = owners + 16;
	p.max_keys_per_node = kKeysPerOwner + 24;
	p.n_ctx = threads + 1;
	hs_table_create(&p, &g_merge.t);
	g_merge.n_rounds = n_rounds;
	g_merge.rounds.assign(threads, {});
	for (unsigned th = 0; th < threads; th++) {
		unsigned first = th * owners / threads;
		unsigned n = (th + 1) * owners / threads - first;

		g_merge.rounds[th].resize(n_rounds);
		for (unsigned r = 0; r < n_rounds; r++)
			build_round(&g_merge.rounds[th][r], first, n, r);
	}
	// Rounds 0 and 1 fill the table and warm each thread's allocator
	// cache (replaced entries come back to it through call_rcu), each half
	// with the context its thread will use; iterations then replace every
	// key once per round, in steady state.
	for (unsigned th = 0; th < threads; th++) {
		hs_table_ctx_attach(g_merge.t, th, &c);
		merge_frames(c, g_merge.rounds[th][0]);
		if (n_rounds > 2)
			merge_frames(c, g_merge.rounds[th][1]);
		hs_table_ctx_detach(c);
	}
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
}

void
merge_teardown()
{
	hs_table_destroy(g_merge.t);
	g_merge.t = nullptr;
	g_merge.rounds.clear();
}

// Two warm-up rounds + one per iteration (see the BENCHMARK lines).
unsigned
rounds_for(unsigned entries)
{
	return entries >= 1000000 ? 4 : entries >= 100000 ? 10 : 66;
}

// One iteration = every worker merges one full round of its owners; the
// time is the wall clock of the whole round, so items_per_second is the
// node's aggregate rate whatever the number of workers.  Workers beyond the
// first are plain threads started per iteration (as QSBR readers, offline
// before they end), which costs ~0.1 ms against rounds of 5-100 ms.
void
BM_table_merge_fresh(benchmark::State &state)
{
	unsigned entries = (unsigned)state.range(0);
	unsigned workers = (unsigned)state.range(1);
	uint64_t items = 0;
	unsigned r = 2;

	urcu_qsbr_register_thread();
	merge_setup(entries, workers, rounds_for(entries));
	for (auto _ : state) {
		std::vector<std::thread> others;
		std::vector<int> got(workers);
		hs_table_ctx *c;

		for (unsigned w = 1; w < workers; w++)
			others.emplace_back([w, r, &got] {
				hs_table_ctx *wc;

				urcu_qsbr_register_thread();
				hs_table_ctx_attach(g_merge.t, w, &wc);
				got[w] = merge_frames(wc, g_merge.rounds[w][r]);
				hs_table_ctx_detach(wc);
				urcu_qsbr_unregister_thread();
			});
		hs_table_ctx_attach(g_merge.t, 0, &c);
		got[0] = merge_frames(c, g_merge.rounds[0][r]);
		hs_table_ctx_detach(c);
		// never block while online: the others' grace periods
		urcu_qsbr_thread_offline();
		for (std::thread &t : others)
			t.join();
		urcu_qsbr_thread_online();
		for (int n : got)
			items += (uint64_t)n;
		r++;
	}
	state.SetItemsProcessed((int64_t)items);
	{
		struct hs_table_stats st;

		hs_table_stats(g_merge.t, &st);
		state.counters["owners"] = (double)st.owners;
		state.counters["keys"] = (double)st.keys;
		state.counters["grows"] = (double)st.index_grows;
	}
	merge_teardown();
	urcu_qsbr_unregister_thread();
}

void
BM_table_merge_known(benchmark::State &state)
{
	unsigned entries = (unsigned)state.range(0);
	hs_table_ctx *c;
	uint64_t items = 0;

	urcu_qsbr_register_thread();
	merge_setup(entries, 1, 1);
	hs_table_ctx_attach(g_merge.t, 0, &c);
	for (auto _ : state) {
		merge_frames(c, g_merge.rounds[0][0]);
		items += entries;
	}
	hs_table_ctx_detach(c);
	state.SetItemsProcessed((int64_t)items);
	merge_teardown();
	urcu_qsbr_unregister_thread();
}

void
BM_table_digests(benchmark::State &state)
{
	unsigned owners = (unsigned)state.range(0);
	std::vector<hs_wire_digest> out(owners + 1);
	hs_table_ctx *c;

	urcu_qsbr_register_thread();
	merge_setup(owners * kKeysPerOwner, 1, 1);
	hs_table_ctx_attach(g_merge.t, 0, &c);
	for (auto _ : state) {
		uint64_t cursor = 0;
		int n = hs_table_digests(c, &cursor, out.data(), owners + 1);

		benchmark::DoNotOptimize(n);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * (owners + 1));
	hs_table_ctx_detach(c);
	merge_teardown();
	urcu_qsbr_unregister_thread();
}

// One ACK2 for a peer whose digests lag 64 versions behind on 8 owners:
// the change-log path, filled to the frame budget.
void
BM_table_build_deltas(benchmark::State &state)
{
	std::vector<hs_wire_digest> theirs(8);
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	hs_table_ctx *c;
	uint64_t items = 0;

	urcu_qsbr_register_thread();
	merge_setup(100 * kKeysPerOwner, 1, 2);
	hs_table_ctx_attach(g_merge.t, 0, &c);
	merge_frames(c, g_merge.rounds[0][1]);
	for (unsigned i = 0; i < 8; i++) {
		hs_table_digest(c, 1000 + i * 7, &theirs[i]);
		theirs[i].max_version -= 64;
	}
	for (auto _ : state) {
		hs_wire_builder b;
		hs_wire_hdr h = {};
		int n;

		h.type = HS_WIRE_ACK2;
		h.sender_id = 1;
		hs_wire_build_begin(&b, buf, sizeof(buf), &h);
		n = hs_table_build_deltas(c, theirs.data(), 8, &b);
		benchmark::DoNotOptimize(hs_wire_build_end(&b));
		items += (uint64_t)n;
	}
	state.SetItemsProcessed((int64_t)items);
	hs_table_ctx_detach(c);
	merge_teardown();
	urcu_qsbr_unregister_thread();
}

// ---- reference primitives ----

struct RefNode {
	cds_lfht_node node;
	uint64_t version;
	char key[kKeyLen];
	char val[kValLen];
};

int
ref_match(cds_lfht_node *node, const void *key)
{
	const RefNode *n = caa_container_of(node, RefNode, node);

	return memcmp(n->key, key, kKeyLen) == 0;
}

struct RefSetup {
	cds_lfht *ht;
	std::vector<RefNode> a, b;	// b: replacements
	std::vector<unsigned long> hash;
	std::vector<uint32_t> order;	// random probe order
};

void
ref_setup(RefSetup *s, unsigned n)
{
	uint64_t x = 88172645463325252ull;

	unsigned long size = 1;

	// Sized up front: a resize needs grace periods, and a benchmark loop
	// that never announces a quiescent state would starve it.
	while (size < n)
		size <<= 1;
	s->ht = cds_lfht_new_flavor(size, size, 0, CDS_LFHT_ACCOUNTING,
				    &urcu_qsbr_flavor, nullptr);
	s->a.resize(n);
	s->b.resize(n);
	s->hash.resize(n);
	s->order.resize(n);
	for (unsigned i = 0; i < n; i++) {
		char key[kKeyLen + 1];

		key_of(key, i);
		memcpy(s->a[i].key, key, kKeyLen);
		memcpy(s->b[i].key, key, kKeyLen);
		s->hash[i] = (unsigned long)XXH3_64bits(key, kKeyLen);
		cds_lfht_node_init(&s->a[i].node);
		cds_lfht_add(s->ht, s->hash[i], &s->a[i].node);
		s->order[i] = i;
	}
	for (unsigned i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		std::swap(s->order[i], s->order[x % (i + 1)]);
	}
}

void
ref_teardown(RefSetup *s)
{
	cds_lfht_iter it;
	cds_lfht_node *node;

	cds_lfht_for_each(s->ht, &it, node)
		cds_lfht_del(s->ht, node);
	urcu_qsbr_thread_offline();
	cds_lfht_destroy(s->ht, nullptr);
	urcu_qsbr_thread_online();
}

void
BM_ref_lfht_lookup(benchmark::State &state)
{
	unsigned n = (unsigned)state.range(0);
	RefSetup s;
	size_t i = 0;

	urcu_qsbr_register_thread();
	ref_setup(&s, n);
	for (auto _ : state) {
		unsigned k = s.order[i++ % n];
		cds_lfht_iter it;

		cds_lfht_lookup(s.ht, s.hash[k], ref_match, s.a[k].key, &it);
		benchmark::DoNotOptimize(cds_lfht_iter_get_node(&it));
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	ref_teardown(&s);
	urcu_qsbr_unregister_thread();
}

void
BM_ref_lfht_replace(benchmark::State &state)
{
	unsigned n = (unsigned)state.range(0);
	RefSetup s;
	size_t i = 0;

	urcu_qsbr_register_thread();
	ref_setup(&s, n);
	for (auto _ : state) {
		unsigned k = s.order[i % n];
		bool in_a = (i / n) % 2 == 0;	// pass 0: a -> b, pass 1: b -> a
		RefNode *nw = in_a ? &s.b[k] : &s.a[k];
		cds_lfht_iter it;

		cds_lfht_lookup(s.ht, s.hash[k], ref_match, nw->key, &it);
		cds_lfht_node_init(&nw->node);
		nw->version++;
		benchmark::DoNotOptimize(cds_lfht_replace(
			s.ht, &it, s.hash[k], ref_match, nw->key, &nw->node));
		i++;
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	ref_teardown(&s);
	urcu_qsbr_unregister_thread();
}

void
BM_ref_open_addressing(benchmark::State &state)
{
	unsigned n = (unsigned)state.range(0);
	unsigned cap = 1;
	std::vector<std::pair<uint64_t, RefNode *>> slots;
	std::vector<RefNode> nodes(n);
	std::vector<uint64_t> hash(n);
	std::vector<uint32_t> order(n);
	uint64_t x = 88172645463325252ull;
	size_t i = 0;

	while (cap < 2 * n)
		cap <<= 1;
	slots.assign(cap, {0, nullptr});
	for (unsigned k = 0; k < n; k++) {
		char key[kKeyLen + 1];

		key_of(key, k);
		memcpy(nodes[k].key, key, kKeyLen);
		hash[k] = XXH3_64bits(key, kKeyLen);
		for (uint64_t s = hash[k] & (cap - 1);; s = (s + 1) & (cap - 1))
			if (slots[s].second == nullptr) {
				slots[s] = {hash[k], &nodes[k]};
				break;
			}
		order[k] = k;
	}
	for (unsigned k = n - 1; k > 0; k--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		std::swap(order[k], order[x % (k + 1)]);
	}
	for (auto _ : state) {
		unsigned k = order[i++ % n];
		RefNode *found = nullptr;

		for (uint64_t s = hash[k] & (cap - 1); slots[s].second != nullptr;
		     s = (s + 1) & (cap - 1))
			if (slots[s].first == hash[k] &&
			    memcmp(slots[s].second->key, nodes[k].key,
				   kKeyLen) == 0) {
				found = slots[s].second;
				break;
			}
		benchmark::DoNotOptimize(found);
	}
	state.SetItemsProcessed((int64_t)state.iterations());
}

}  // namespace

// Args: entries, workers.  Iterations = pre-built rounds - 2 (see
// rounds_for): each iteration replaces every key once, so no iteration ever
// replays a merged round.
BENCHMARK(BM_table_merge_fresh)->Args({1000, 1})->Iterations(64)
	->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_table_merge_fresh)->Args({100000, 1})->Iterations(8)
	->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_table_merge_fresh)->Args({1000000, 1})->Iterations(2)
	->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_table_merge_fresh)->Args({100000, 2})->Iterations(8)
	->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_table_merge_fresh)->Args({1000000, 2})->Iterations(2)
	->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_table_merge_known)
	->Arg(1000)->Arg(100000)->Arg(1000000)
	->Unit(benchmark::kMillisecond);
BENCHMARK(BM_table_digests)->Arg(100)->Arg(1000);
BENCHMARK(BM_table_build_deltas);
BENCHMARK(BM_ref_lfht_lookup)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_ref_lfht_replace)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_ref_open_addressing)->Arg(1000)->Arg(100000)->Arg(1000000);

BENCHMARK_MAIN();
