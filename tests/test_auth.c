/*
 * Unit tests for engine/auth: sealed frames open to what was sealed, and
 * decode; any changed byte, another key, a plaintext frame are refused;
 * replays, older generations and frames below the window are refused and
 * out-of-order ones within it taken once; the keyring's rules (first key
 * primary, the primary not removable, duplicates, the limit) and a rotation
 * in which every frame opens; two threads opening the same frames accept
 * each exactly once; a flood of senders keeps the window table's size.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <urcu/urcu-qsbr.h>

#include "engine/auth.h"
#include "engine/wire.h"

#define BUDGET 1472

static uint8_t key_a[HS_AUTH_KEY_BYTES], key_b[HS_AUTH_KEY_BYTES];
static uint8_t cipher;		/* every test runs with each cipher */

/* A SYN of one digest from sender, gen, seq (lane in seq's low byte),
 * built with the AUTH trailer; returns its length. */
static int
build(uint8_t *buf, uint64_t sender, uint64_t gen, uint64_t seq,
      uint64_t hb)
{
	struct hs_wire_hdr h = {
		.type = HS_WIRE_SYN, .flags = HS_WIRE_F_AUTH,
		.trailer_len = HS_AUTH_TRAILER, .cluster_id = 7,
		.sender_id = sender, .sender_gen = gen, .seq = seq,
	};
	struct hs_wire_digest d = { .node = sender, .generation = gen,
				    .heartbeat = hb, .max_version = 3 };
	struct hs_wire_builder b;

	assert_int_equal(hs_wire_build_begin(&b, buf, BUDGET, &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS), 0);
	assert_int_equal(hs_wire_put_digest(&b, &d), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	return hs_wire_build_end(&b);
}

static struct hs_auth *
make(unsigned windows)
{
	struct hs_auth_params p = { .windows = windows, .cipher = cipher };
	struct hs_auth *a;

	assert_int_equal(hs_auth_create(&p, &a), 0);
	return a;
}

static enum hs_auth_verdict
seal_open(struct hs_auth *tx, struct hs_auth *rx, uint64_t sender,
	  uint64_t gen, uint64_t seq)
{
	uint8_t f[BUDGET], c[BUDGET], o[BUDGET];
	int len = build(f, sender, gen, seq, 1);

	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
	return hs_auth_open(rx, NULL, c, o, (unsigned)len);
}

static int
setup(void **state)
{
	(void)state;
	hs_auth_key_generate(key_a);
	hs_auth_key_generate(key_b);
	return 0;
}

static void
test_round_trip(void **state)
{
	struct hs_auth *tx = make(0), *rx = make(0);
	uint8_t f[BUDGET], c[BUDGET], o[BUDGET];
	struct hs_wire_msg m;
	struct hs_wire_digest d;
	int len, i;

	(void)state;
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_a, NULL), 0);
	len = build(f, 42, 5, (1 << 8) | 0, 1234);
	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
	/* header in clear, payload not */
	assert_memory_equal(c, f, HS_WIRE_HDR_LEN);
	assert_memory_not_equal(c + HS_WIRE_HDR_LEN, f + HS_WIRE_HDR_LEN,
				(size_t)len - HS_WIRE_HDR_LEN - HS_AUTH_TRAILER);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len), HS_AUTH_OK);
	assert_memory_equal(o, f, (size_t)len - HS_AUTH_TRAILER);
	assert_int_equal(hs_wire_decode(o, (size_t)len, &m), 0);
	assert_int_equal(m.sec[HS_WIRE_SEC_DIGESTS].n, 1);
	hs_wire_digest_get(&m, 0, &d);
	assert_int_equal(d.heartbeat, 1234);

	/* sealing in place gives the same frame */
	memcpy(o, f, (size_t)len);
	assert_int_equal(hs_auth_seal(tx, o, o, (unsigned)len), 0);
	assert_memory_equal(o, c, (size_t)len);

	/* every single changed byte, header, payload or trailer, refused
	 * (a fresh seq each time, so that the replay window is no reason) */
	for (i = 0; i < len; i++) {
		len = build(f, 42, 5, ((uint64_t)(i + 2) << 8), 1234);
		assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
		c[i] ^= 0x20;
		if (i == 4 || i == 5 || i == 8 || i == 9)
			continue;	/* flags, trailer_len: below */
		assert_int_not_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len),
				     HS_AUTH_OK);
	}
	/* no AUTH flag, or another trailer size: plaintext */
	len = build(f, 42, 5, 1000 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
	c[5] &= (uint8_t)~HS_WIRE_F_AUTH;	/* big-endian u16 at 4 */
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len), HS_AUTH_PLAIN);
	c[5] |= HS_WIRE_F_AUTH;
	c[9] = 16;				/* trailer_len */
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len), HS_AUTH_PLAIN);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, 30), HS_AUTH_SHORT);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

static void
test_other_key(void **state)
{
	struct hs_auth *tx = make(0), *rx = make(0);
	uint8_t f[BUDGET], c[BUDGET], o[BUDGET];
	uint32_t id;
	int len;

	(void)state;
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_b, NULL), 0);
	assert_int_equal(seal_open(tx, rx, 1, 1, 1 << 8),
			 HS_AUTH_UNKNOWN_KEY);
	/* a frame whose trailer names our key but was sealed with another */
	len = build(f, 1, 1, 2 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
	id = hs_auth_key_id(key_b);
	hs_wire_wr32(c + len - HS_AUTH_TRAILER, id);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len),
			 HS_AUTH_BAD_TAG);
	/* no primary key: nothing sealed */
	hs_auth_destroy(tx);
	tx = make(0);
	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), -ENOKEY);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

static void
test_replay(void **state)
{
	struct hs_auth *tx = make(0), *rx = make(0);
	uint8_t f[BUDGET], c[BUDGET], o[BUDGET];
	uint64_t s;
	int len;

	(void)state;
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_a, NULL), 0);
	len = build(f, 9, 10, 1000 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c, (unsigned)len), 0);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len), HS_AUTH_OK);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len),
			 HS_AUTH_REPLAY);
	/* out of order within the window: once each */
	for (s = 999; s + HS_AUTH_WINDOW > 1000; s--)
		assert_int_equal(seal_open(tx, rx, 9, 10, s << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 950 << 8), HS_AUTH_REPLAY);
	/* below the window, never seen: refused all the same */
	assert_int_equal(seal_open(tx, rx, 9, 10,
				   (uint64_t)(1000 - HS_AUTH_WINDOW) << 8),
			 HS_AUTH_REPLAY);
	/* a jump ahead slides the window: what was inside it is now below */
	assert_int_equal(seal_open(tx, rx, 9, 10, 2000 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1999 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1999 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1950 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 2001 << 8), HS_AUTH_OK);
	/* a jump by less than a word keeps the bits, shifted */
	assert_int_equal(seal_open(tx, rx, 9, 10, 2070 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 2001 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1999 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 9, 10, 2000 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1950 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 9, 10, 2002 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 1960 << 8), HS_AUTH_OK);
	/* another lane of the same sender has a window of its own */
	assert_int_equal(seal_open(tx, rx, 9, 10, (5 << 8) | 1), HS_AUTH_OK);
	/* a restart (higher generation) starts over; the old one is dead */
	assert_int_equal(seal_open(tx, rx, 9, 11, 1 << 8), HS_AUTH_OK);
	assert_int_equal(seal_open(tx, rx, 9, 10, 3000 << 8),
			 HS_AUTH_OLD_GEN);
	assert_int_equal(hs_auth_open(rx, NULL, c, o, (unsigned)len),
			 HS_AUTH_OLD_GEN);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

static void
test_keyring(void **state)
{
	struct hs_auth *a = make(0);
	struct hs_auth_key_info k[HS_AUTH_MAX_KEYS];
	uint8_t more[HS_AUTH_KEY_BYTES];
	uint32_t ia, ib;
	unsigned i;

	(void)state;
	assert_int_equal(hs_auth_keys(a, k, HS_AUTH_MAX_KEYS), 0);
	assert_int_equal(hs_auth_key_install(a, key_a, &ia), 0);
	assert_int_equal(ia, hs_auth_key_id(key_a));
	assert_int_equal(hs_auth_key_install(a, key_a, NULL), -EEXIST);
	assert_int_equal(hs_auth_key_install(a, key_b, &ib), 0);
	assert_int_equal(hs_auth_keys(a, k, HS_AUTH_MAX_KEYS), 2);
	assert_int_equal(k[0].id, ia);
	assert_true(k[0].primary);	/* the first key installed */
	assert_false(k[1].primary);
	assert_int_equal(hs_auth_key_remove(a, ia), -EBUSY);
	assert_int_equal(hs_auth_key_use(a, 12345), -ENOENT);
	assert_int_equal(hs_auth_key_remove(a, 12345), -ENOENT);
	assert_int_equal(hs_auth_key_use(a, ib), 0);
	assert_int_equal(hs_auth_key_remove(a, ia), 0);
	assert_int_equal(hs_auth_keys(a, k, HS_AUTH_MAX_KEYS), 1);
	assert_int_equal(k[0].id, ib);
	assert_true(k[0].primary);
	for (i = 1; i < HS_AUTH_MAX_KEYS; i++) {
		hs_auth_key_generate(more);
		assert_int_equal(hs_auth_key_install(a, more, NULL), 0);
	}
	hs_auth_key_generate(more);
	assert_int_equal(hs_auth_key_install(a, more, NULL), -ENOSPC);
	hs_auth_destroy(a);
}

static void
test_key_text(void **state)
{
	uint8_t k[HS_AUTH_KEY_BYTES];
	char b64[45], hex[65];

	(void)state;
	hs_auth_key_format(key_a, b64);
	assert_int_equal(strlen(b64), 44);
	assert_int_equal(hs_auth_key_parse(b64, k), 0);
	assert_memory_equal(k, key_a, sizeof(k));
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key_b[i]);
	assert_int_equal(hs_auth_key_parse(hex, k), 0);
	assert_memory_equal(k, key_b, sizeof(k));
	assert_int_equal(hs_auth_key_parse("", k), -EINVAL);
	assert_int_equal(hs_auth_key_parse("c2hvcnQ=", k), -EINVAL);
	hex[10] = 'g';
	assert_int_equal(hs_auth_key_parse(hex, k), -EINVAL);
	b64[3] = '*';
	assert_int_equal(hs_auth_key_parse(b64, k), -EINVAL);
	assert_int_equal(hs_auth_key_parse(NULL, k), -EINVAL);
}

/* Install, use, remove while frames flow both ways: at no step does a
 * frame fail to open, and once the old key is gone its frames do. */
static void
test_rotation(void **state)
{
	struct hs_auth *x = make(0), *y = make(0);
	uint64_t seq = 1;
	uint32_t old_id, new_id;

#define BOTH_WAYS() do { \
	assert_int_equal(seal_open(x, y, 1, 1, seq++ << 8), HS_AUTH_OK); \
	assert_int_equal(seal_open(y, x, 2, 1, seq++ << 8), HS_AUTH_OK); \
} while (0)
	(void)state;
	assert_int_equal(hs_auth_key_install(x, key_a, &old_id), 0);
	assert_int_equal(hs_auth_key_install(y, key_a, NULL), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_install(x, key_b, &new_id), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_install(y, key_b, NULL), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_use(x, new_id), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_use(y, new_id), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_remove(x, old_id), 0);
	BOTH_WAYS();
	assert_int_equal(hs_auth_key_remove(y, old_id), 0);
	BOTH_WAYS();
	/* a node left on the old key alone is shut out */
	{
		struct hs_auth *z = make(0);

		assert_int_equal(hs_auth_key_install(z, key_a, NULL), 0);
		assert_int_equal(seal_open(z, x, 3, 1, 1 << 8),
				 HS_AUTH_UNKNOWN_KEY);
		hs_auth_destroy(z);
	}
#undef BOTH_WAYS
	hs_auth_destroy(x);
	hs_auth_destroy(y);
}

#define N_FRAMES 4000

struct opener {
	struct hs_auth *rx;
	struct hs_auth_cache *cache;
	uint8_t (*frames)[BUDGET];
	int len;
	unsigned ok;
};

static void *
opener_main(void *arg)
{
	struct opener *o = arg;
	uint8_t out[BUDGET];
	unsigned i;

	urcu_qsbr_register_thread();
	assert_int_equal(hs_auth_cache_create(o->rx, &o->cache), 0);
	for (i = 0; i < N_FRAMES; i++)
		if (hs_auth_open(o->rx, o->cache, o->frames[i], out,
				 (unsigned)o->len) == HS_AUTH_OK)
			o->ok++;
	hs_auth_cache_destroy(o->cache);
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* Two lanes receive the same frames (of 8 sender lanes, out of order
 * within the window) at once: each frame is taken exactly once. */
static void
test_two_openers(void **state)
{
	static uint8_t frames[N_FRAMES][BUDGET];
	struct hs_auth *tx = make(0), *rx = make(0);
	struct opener o[2];
	pthread_t t[2];
	int len = 0;
	unsigned i;

	(void)state;
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_a, NULL), 0);
	for (i = 0; i < N_FRAMES; i++) {
		/* counters 1.., swapped in pairs: never 128 apart */
		uint64_t ctr = (i / 8) + 1 + ((i / 8) % 2 ? -1 : 1);

		len = build(frames[i], 77, 3, (ctr << 8) | (i % 8), i);
		assert_int_equal(hs_auth_seal(tx, frames[i], frames[i],
					      (unsigned)len), 0);
	}
	for (i = 0; i < 2; i++) {
		o[i] = (struct opener){ rx, NULL, frames, len, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, opener_main,
						&o[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(o[0].ok + o[1].ok, N_FRAMES);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

/* More sender lanes than windows: the table keeps its size, windows are
 * taken over (counted), and a sender still has one when it comes back. */
static void
test_window_flood(void **state)
{
	struct hs_auth *tx = make(0), *rx = make(16);
	struct hs_auth_stats st;
	uint64_t s;

	(void)state;
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_a, NULL), 0);
	for (s = 1; s <= 1000; s++)
		assert_int_equal(seal_open(tx, rx, s, 1, 1 << 8), HS_AUTH_OK);
	hs_auth_stats(rx, &st);
	assert_int_equal(st.windows_taken, 1000 - 16);
	/* the last 16 senders still hold theirs */
	assert_int_equal(seal_open(tx, rx, 1000, 1, 1 << 8), HS_AUTH_REPLAY);
	assert_int_equal(seal_open(tx, rx, 1000, 1, 2 << 8), HS_AUTH_OK);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
}

/* AES-256-GCM: subkeys per (key, sender, generation).  Two senders with
 * the same seq seal the same payload differently (their nonces repeat,
 * their keys do not); a sealer's own subkey (made at install) and one made
 * for the frame agree; the cache, across more senders than it holds and a
 * keyring change, opens what a receiver without one opens; a frame sealed
 * with the other cipher does not open. */
static void
test_gcm_subkeys(void **state)
{
	struct hs_auth_params sp = { .cipher = HS_AUTH_AES256GCM,
				     .self_id = 5, .self_gen = 9 };
	struct hs_auth *tx, *rx, *xc;
	struct hs_auth_cache *cache;
	uint8_t f[BUDGET], c1[BUDGET], c2[BUDGET], o[BUDGET];
	uint64_t s;
	int len;

	(void)state;
	if (cipher != HS_AUTH_AES256GCM)
		return;
	assert_int_equal(hs_auth_create(&sp, &tx), 0);
	rx = make(0);
	xc = NULL;
	{
		struct hs_auth_params xp = { .cipher =
					     HS_AUTH_XCHACHA20POLY1305 };

		assert_int_equal(hs_auth_create(&xp, &xc), 0);
	}
	assert_int_equal(hs_auth_key_install(tx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(rx, key_a, NULL), 0);
	assert_int_equal(hs_auth_key_install(xc, key_a, NULL), 0);
	assert_int_equal(hs_auth_cache_create(rx, &cache), 0);
	assert_non_null(cache);
	/* same seq and payload, two senders: different ciphertexts */
	len = build(f, 5, 9, 7 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c1, (unsigned)len), 0);
	len = build(f, 6, 9, 7 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c2, (unsigned)len), 0);
	assert_memory_not_equal(c1 + HS_WIRE_HDR_LEN, c2 + HS_WIRE_HDR_LEN,
				(size_t)len - HS_WIRE_HDR_LEN);
	/* our own subkey (sender 5, generation 9) and a made one both open */
	assert_int_equal(hs_auth_open(rx, cache, c1, o, (unsigned)len),
			 HS_AUTH_OK);
	assert_int_equal(hs_auth_open(rx, NULL, c2, o, (unsigned)len),
			 HS_AUTH_OK);
	/* XChaCha20-Poly1305 with the same key: refused both ways */
	len = build(f, 5, 9, 8 << 8, 1);
	assert_int_equal(hs_auth_seal(xc, f, c1, (unsigned)len), 0);
	assert_int_equal(hs_auth_open(rx, cache, c1, o, (unsigned)len),
			 HS_AUTH_BAD_TAG);
	len = build(f, 5, 9, 9 << 8, 1);
	assert_int_equal(hs_auth_seal(tx, f, c1, (unsigned)len), 0);
	assert_int_equal(hs_auth_open(xc, NULL, c1, o, (unsigned)len),
			 HS_AUTH_BAD_TAG);
	/* 2000 senders through a cache of 256, a keyring change midway */
	for (s = 1; s <= 2000; s++) {
		if (s == 1000)
			assert_int_equal(hs_auth_key_install(rx, key_b, NULL),
					 0);
		len = build(f, 1000 + s % 700, 1, s << 8, 1);
		assert_int_equal(hs_auth_seal(tx, f, c1, (unsigned)len), 0);
		assert_int_equal(hs_auth_open(rx, cache, c1, o, (unsigned)len),
				 HS_AUTH_OK);
		c1[HS_WIRE_HDR_LEN] ^= 1;
		assert_int_equal(hs_auth_open(rx, cache, c1, o, (unsigned)len),
				 HS_AUTH_BAD_TAG);
	}
	hs_auth_cache_destroy(cache);
	hs_auth_destroy(tx);
	hs_auth_destroy(rx);
	hs_auth_destroy(xc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_keyring),
		cmocka_unit_test(test_key_text),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_two_openers),
		cmocka_unit_test(test_window_flood),
		cmocka_unit_test(test_gcm_subkeys),
	};
	int rc;

	/* key changes free the old keyring through call_rcu */
	urcu_qsbr_register_thread();
	cipher = HS_AUTH_XCHACHA20POLY1305;
	rc = cmocka_run_group_tests_name("xchacha20poly1305", tests, setup,
					 NULL);
	if (crypto_aead_aes256gcm_is_available()) {
		cipher = HS_AUTH_AES256GCM;
		rc |= cmocka_run_group_tests_name("aes256gcm", tests, setup,
						  NULL);
	} else {
		printf("# no AES-NI here: AES-256-GCM not tested\n");
	}
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();		/* every old keyring freed */
	urcu_qsbr_unregister_thread();
	return rc;
}
