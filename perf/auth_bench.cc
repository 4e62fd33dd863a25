// Micro-benchmarks of sealed frames (engine/auth, docs/SECURITY.md): what
// sealing and opening a frame cost next to decoding the same frame in
// clear, in one run (docs/PERFORMANCE.md, "Sealed frames").
//
// The frames are SYNs of digests filled to the argument's size: 124 bytes
// (two digests, about a SYN of bucket hashes) and 1472 (35 digests, a full
// frame at the default budget).  Opening includes the replay window.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <sodium.h>

extern "C" {
#include "engine/auth.h"
#include "engine/wire.h"
}

namespace {

constexpr unsigned kRing = 4096;	// frames sealed ahead for opening

// A SYN of n digests from sender 7 with seq, sealed when auth is true.
int
build(uint8_t *buf, unsigned budget, unsigned n, uint64_t seq, bool auth)
{
	hs_wire_hdr h{};
	hs_wire_builder b;

	h.type = HS_WIRE_SYN;
	h.flags = auth ? HS_WIRE_F_AUTH : 0;
	h.trailer_len = auth ? HS_AUTH_TRAILER : 0;
	h.cluster_id = 1;
	h.sender_id = 7;
	h.sender_gen = 1;
	h.seq = seq;
	if (hs_wire_build_begin(&b, buf, budget, &h) != 0 ||
	    hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS) != 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		hs_wire_digest d{};

		d.node = 100 + i;
		d.generation = 1;
		d.heartbeat = 1000 + i;
		d.max_version = 50 + i;
		if (hs_wire_put_digest(&b, &d) != 0)
			break;
	}
	hs_wire_section_end(&b);
	return hs_wire_build_end(&b);
}

// Digests that fill `bytes` with the AUTH trailer.
unsigned
digests_for(unsigned bytes)
{
	return (bytes - HS_WIRE_HDR_LEN - 4 - HS_AUTH_TRAILER) / 40;
}

// A keyring of one key; with AES-256-GCM, sealing as sender 7 gen 1 (the
// frames' sender, so its subkey is made once).
hs_auth *
keyring(const uint8_t *key, int cipher)
{
	hs_auth_params p{};
	hs_auth *a = nullptr;

	p.cipher = (uint8_t)cipher;
	p.self_id = 7;
	p.self_gen = 1;
	if (hs_auth_create(&p, &a) != 0 ||
	    hs_auth_key_install(a, key, nullptr) != 0)
		return nullptr;
	return a;
}

void
BM_wire_decode_clear(benchmark::State &state)
{
	unsigned budget = (unsigned)state.range(0);
	std::vector<uint8_t> f(budget);
	int len = build(f.data(), budget, digests_for(budget), 1 << 8, false);
	hs_wire_msg m;

	for (auto _ : state) {
		int rc = hs_wire_decode(f.data(), (size_t)len, &m);

		benchmark::DoNotOptimize(rc);
		benchmark::DoNotOptimize(m);
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	state.SetBytesProcessed((int64_t)state.iterations() * len);
	state.counters["frame_bytes"] = len;
}

void
BM_auth_seal(benchmark::State &state)
{
	unsigned budget = (unsigned)state.range(0);
	uint8_t key[HS_AUTH_KEY_BYTES];
	std::vector<uint8_t> f(budget), out(budget);
	hs_auth *a;
	int len;

	hs_auth_key_generate(key);
	a = keyring(key, (int)state.range(1));
	len = build(f.data(), budget, digests_for(budget), 1 << 8, true);
	if (a == nullptr || len <= 0) {
		state.SkipWithError("set-up failed (AES-256-GCM needs AES-NI)");
		return;
	}
	for (auto _ : state) {
		int rc = hs_auth_seal(a, f.data(), out.data(), (unsigned)len);

		benchmark::DoNotOptimize(rc);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	state.SetBytesProcessed((int64_t)state.iterations() * len);
	state.counters["frame_bytes"] = len;
	hs_auth_destroy(a);
}

// Open (verify, decrypt, replay window) and then decode, what a receiver
// does with a sealed frame; with decode = 0, open alone.
void
BM_auth_open(benchmark::State &state)
{
	unsigned budget = (unsigned)state.range(0);
	bool decode = state.range(1) != 0;
	int cipher = (int)state.range(2);
	hs_auth_cache *cache = nullptr;
	uint8_t key[HS_AUTH_KEY_BYTES];
	std::vector<uint8_t> ring((size_t)kRing * budget), out(budget);
	hs_auth *tx, *rx;
	hs_wire_msg m;
	unsigned i = 0;
	int len = 0;

	hs_auth_key_generate(key);
	tx = keyring(key, cipher);
	rx = keyring(key, cipher);
	if (tx == nullptr || rx == nullptr ||
	    hs_auth_cache_create(rx, &cache) != 0) {
		state.SkipWithError("set-up failed (AES-256-GCM needs AES-NI)");
		return;
	}
	for (unsigned k = 0; k < kRing; k++) {
		uint8_t *f = &ring[(size_t)k * budget];

		len = build(f, budget, digests_for(budget),
			    (uint64_t)(k + 1) << 8, true);
		if (len <= 0 || hs_auth_seal(tx, f, f, (unsigned)len) != 0) {
			state.SkipWithError("set-up failed");
			return;
		}
	}
	for (auto _ : state) {
		if (i == kRing) {
			// every frame opened once: a fresh receiver, whose
			// windows have seen none of them
			state.PauseTiming();
			hs_auth_cache_destroy(cache);
			hs_auth_destroy(rx);
			rx = keyring(key, cipher);
			hs_auth_cache_create(rx, &cache);
			i = 0;
			state.ResumeTiming();
		}
		enum hs_auth_verdict v = hs_auth_open(
			rx, cache, &ring[(size_t)i * budget], out.data(),
			(unsigned)len);
		if (v != HS_AUTH_OK) {
			state.SkipWithError("a frame did not open");
			break;
		}
		if (decode) {
			int rc = hs_wire_decode(out.data(), (size_t)len, &m);

			benchmark::DoNotOptimize(rc);
			benchmark::DoNotOptimize(m);
		}
		i++;
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	state.SetBytesProcessed((int64_t)state.iterations() * len);
	state.counters["frame_bytes"] = len;
	hs_auth_cache_destroy(cache);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

// The AEADs alone, as libsodium gives them, on a payload of the argument's
// size with a 40-byte header as associated data: range(1) 0 is
// XChaCha20-Poly1305 (what hearsay seals with), 1 AES-256-GCM with its key
// schedule done once (what it would cost with AES-NI; skipped without).
void
BM_ref_aead(benchmark::State &state)
{
	size_t len = (size_t)state.range(0);
	bool gcm = state.range(1) != 0;
	std::vector<uint8_t> m(len), c(len);
	uint8_t k[32], n[24] = { 0 }, ad[40] = { 0 }, mac[16];
	unsigned long long ml;
	alignas(16) crypto_aead_aes256gcm_state st;

	if (sodium_init() < 0) {
		state.SkipWithError("sodium_init failed");
		return;
	}
	if (gcm && !crypto_aead_aes256gcm_is_available()) {
		state.SkipWithError("no AES-NI: libsodium's AES-256-GCM "
				    "will not run");
		return;
	}
	randombytes_buf(k, sizeof(k));
	randombytes_buf(m.data(), len);
	crypto_aead_aes256gcm_beforenm(&st, k);
	for (auto _ : state) {
		n[0]++;
		if (gcm)
			crypto_aead_aes256gcm_encrypt_detached_afternm(
				c.data(), mac, &ml, m.data(), len, ad,
				sizeof(ad), nullptr, n, &st);
		else
			crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
				c.data(), mac, &ml, m.data(), len, ad,
				sizeof(ad), nullptr, n, k);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	state.SetBytesProcessed((int64_t)(state.iterations() * len));
}

}  // namespace

BENCHMARK(BM_ref_aead)->Args({64, 0})->Args({64, 1})->Args({1412, 0})
	->Args({1412, 1});
BENCHMARK(BM_wire_decode_clear)->Arg(124)->Arg(HS_WIRE_FRAME_DEFAULT);
// range(1) of seal, range(2) of open: 0 XChaCha20-Poly1305, 1 AES-256-GCM
BENCHMARK(BM_auth_seal)->ArgsProduct({{124, HS_WIRE_FRAME_DEFAULT}, {0, 1}});
BENCHMARK(BM_auth_open)->ArgsProduct({{124, HS_WIRE_FRAME_DEFAULT}, {0, 1},
				      {0, 1}});
