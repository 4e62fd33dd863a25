/*
 * libFuzzer target for sealed frames (engine/auth.c).
 *
 * Each input is used twice:
 *   1. as a frame received: hs_auth_open must refuse it with a verdict, or
 *      (a frame sealed with the target's key: the seeds) open it, and then
 *      refuse the same bytes a second time as a replay; what opened is
 *      decoded like any frame;
 *   2. as a payload: sealed into a frame of ours (with a seq of its own),
 *      it must open to exactly the same bytes, and with any one byte of
 *      the sealed frame changed (which one: the input's first byte) it
 *      must not open.
 * Both ciphers (AES-256-GCM where the CPU has AES-NI), each input through
 * each.  The key is fixed (bytes 0..31), so that seeds sealed with it open
 * (the seeds are XChaCha20-Poly1305 frames).
 * Single-threaded: libFuzzer calls us from one thread.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/auth.h"
#include "engine/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do {						\
		if (!(x)) {						\
			fprintf(stderr, "fuzz_auth: %s:%d: %s\n",	\
				__FILE__, __LINE__, #x);		\
			abort();					\
		}							\
	} while (0)

static struct hs_auth *txs[2], *rxs[2];
static unsigned n_ciphers;
static uint64_t seq;

static void
setup(void)
{
	uint8_t key[HS_AUTH_KEY_BYTES];
	unsigned i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	/* small windows: the table fills and is taken over, as under a
	 * flood of senders */
	for (n_ciphers = 0; n_ciphers < 2; n_ciphers++) {
		struct hs_auth_params p = { .windows = 64,
					    .cipher = (uint8_t)n_ciphers,
					    .self_id = 99, .self_gen = 1 };

		if (hs_auth_create(&p, &txs[n_ciphers]) == -ENOTSUP)
			break;		/* no AES-NI */
		CHECK(txs[n_ciphers] != NULL);
		CHECK(hs_auth_create(&p, &rxs[n_ciphers]) == 0);
		CHECK(hs_auth_key_install(txs[n_ciphers], key, NULL) == 0);
		CHECK(hs_auth_key_install(rxs[n_ciphers], key, NULL) == 0);
	}
}

static void one(struct hs_auth *tx, struct hs_auth *rx, const uint8_t *data,
		size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k;

	if (txs[0] == NULL)
		setup();
	for (k = 0; k < n_ciphers; k++)
		one(txs[k], rxs[k], data, size);
	return 0;
}

static void
one(struct hs_auth *tx, struct hs_auth *rx, const uint8_t *data, size_t size)
{
	static uint8_t out[HS_WIRE_FRAME_MAX], frame[HS_WIRE_FRAME_MAX],
		       sealed[HS_WIRE_FRAME_MAX];
	struct hs_wire_msg m;
	enum hs_auth_verdict v;
	size_t body = size;
	unsigned len;

	/* 1. a frame received */
	if (size <= sizeof(out)) {
		v = hs_auth_open(rx, NULL, data, out, (unsigned)size);
		CHECK(v >= HS_AUTH_OK && v <= HS_AUTH_SHORT);
		if (v == HS_AUTH_OK) {
			(void)hs_wire_decode(out, size, &m);
			v = hs_auth_open(rx, NULL, data, out, (unsigned)size);
			CHECK(v == HS_AUTH_REPLAY || v == HS_AUTH_OLD_GEN);
		}
	}

	/* 2. a payload of ours, sealed and opened */
	if (body > HS_WIRE_FRAME_DEFAULT - HS_WIRE_HDR_LEN - HS_AUTH_TRAILER)
		body = HS_WIRE_FRAME_DEFAULT - HS_WIRE_HDR_LEN -
		       HS_AUTH_TRAILER;
	len = (unsigned)(HS_WIRE_HDR_LEN + body + HS_AUTH_TRAILER);
	memset(frame, 0, len);
	hs_wire_wr16(frame, 0x4853);
	frame[2] = 1;
	frame[3] = 1;
	hs_wire_wr16(frame + 4, HS_WIRE_F_AUTH);
	hs_wire_wr16(frame + 6, (uint16_t)body);
	hs_wire_wr16(frame + 8, HS_AUTH_TRAILER);
	hs_wire_wr64(frame + 16, 99);
	hs_wire_wr64(frame + 24, 1);
	hs_wire_wr64(frame + 32, ++seq << 8);
	memcpy(frame + HS_WIRE_HDR_LEN, data, body);
	CHECK(hs_auth_seal(tx, frame, sealed, len) == 0);
	v = hs_auth_open(rx, NULL, sealed, out, len);
	CHECK(v == HS_AUTH_OK);
	CHECK(memcmp(out, frame, len - HS_AUTH_TRAILER) == 0);
	if (size > 0) {
		/* a fresh seq, so that only the changed byte can refuse it */
		hs_wire_wr64(frame + 32, ++seq << 8);
		CHECK(hs_auth_seal(tx, frame, sealed, len) == 0);
		sealed[data[0] % len] ^= 0x01;
		v = hs_auth_open(rx, NULL, sealed, out, len);
		CHECK(v != HS_AUTH_OK);
	}
}
