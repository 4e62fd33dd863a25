/*
 * hearsay frame authentication and encryption (docs/SECURITY.md,
 * docs/PROTOCOL.md section 10).
 *
 * Every frame of a node that has a keyring is sealed with the cluster's
 * AEAD (libsodium): the 40-byte header is authenticated in clear
 * (receivers drop other clusters and route by it), the payload is
 * encrypted, and a 20-byte trailer carries the key's id (4 bytes) and the
 * tag (16).  A node numbers every frame it sends (seq) and a restart is a
 * new generation, so (sender, generation, seq) never repeats: with
 * XChaCha20-Poly1305 it is the 24-byte nonce itself; with AES-256-GCM
 * (12-byte nonces) each (key, sender, generation) has a subkey (BLAKE2b)
 * and seq is the nonce.
 *
 * Keyring: up to HS_AUTH_MAX_KEYS keys of 32 bytes; one is the primary,
 * which seals; every key installed opens (the trailer says which, so a
 * receiver tries the one it names, not all).  Rotation without a gap:
 * install the new key on every node, make it primary on every node, remove
 * the old one.  Workers read the keyring through RCU (QSBR): a change takes
 * effect at their next frame, and the old keyring is freed (and wiped)
 * after a grace period.
 *
 * Replay protection: after a frame is authenticated, its (generation, seq)
 * is checked against a window of the sender's recent frames, one window per
 * sender and sending lane (seq's low 8 bits): an older generation, a
 * seq at or below the window's bottom, or one the window has seen is
 * dropped.  Windows live in a table of fixed size shared by the node's
 * lanes (a short per-window spin lock: two lanes see one sender lane's
 * frames only if the network spreads them over queues), so memory stays
 * flat whatever senders claim; when its probe range is full a window is
 * taken over by the newcomer (counted).
 *
 * Thread context: create/destroy on the control thread (destroy after every
 * worker that uses it has stopped); key functions on one control thread at
 * a time, registered with QSBR; seal/open on any QSBR-online thread.
 */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct call_rcu_data;

#define HS_AUTH_KEY_BYTES	32
#define HS_AUTH_MAX_KEYS	8
#define HS_AUTH_TAG_BYTES	16
#define HS_AUTH_TRAILER		(4 + HS_AUTH_TAG_BYTES)	/* key id, tag */
#define HS_AUTH_WINDOW		128	/* frames of one sender lane that may
					 * arrive out of order */

struct hs_auth;
struct hs_auth_cache;

/* The AEAD a cluster seals with (every node the same: docs/SECURITY.md). */
enum hs_auth_cipher {
	HS_AUTH_XCHACHA20POLY1305 = 0,	/* default: any CPU; the nonce is the
					 * header's sender, generation, seq */
	HS_AUTH_AES256GCM = 1,		/* AES-NI only, 2-3x cheaper: a subkey
					 * per (key, sender, generation),
					 * seq as the nonce */
};

struct hs_auth_params {
	/* Replay windows (one per sender lane), rounded up to a power of
	 * two; default 4096.  64 bytes each. */
	unsigned windows;
	uint8_t cipher;			/* enum hs_auth_cipher */
	/* AES-256-GCM: the node that seals (its subkeys are made once per
	 * keyring change, not per frame) */
	uint64_t self_id;
	uint64_t self_gen;
	/* Where old keyrings are freed: the call_rcu thread the control
	 * side made (NULL: liburcu's default one). */
	struct call_rcu_data *crdp;
};

/* Why hs_auth_open refused a frame. */
enum hs_auth_verdict {
	HS_AUTH_OK = 0,
	HS_AUTH_PLAIN,		/* no AUTH flag, or not our trailer size */
	HS_AUTH_UNKNOWN_KEY,	/* no key of the trailer's id */
	HS_AUTH_BAD_TAG,	/* forged, corrupted, or another key */
	HS_AUTH_REPLAY,		/* seen, or older than the window */
	HS_AUTH_OLD_GEN,	/* an earlier generation of its sender */
	HS_AUTH_SHORT,		/* shorter than a header and a trailer */
};

struct hs_auth_key_info {
	uint32_t id;
	bool primary;
};

struct hs_auth_stats {
	uint64_t keyring_changes;
	uint64_t windows_taken;		/* a window given to another sender */
	unsigned n_keys;
	uint32_t primary_id;		/* 0: none */
	uint8_t cipher;			/* enum hs_auth_cipher */
};

/* Returns 0, -EINVAL, -ENOMEM, -ENOSYS (libsodium would not start) or
 * -ENOTSUP (AES-256-GCM on a CPU without AES-NI). */
int hs_auth_create(const struct hs_auth_params *p, struct hs_auth **out);
void hs_auth_destroy(struct hs_auth *a);

/* "xchacha20poly1305" or "aes256gcm": enum hs_auth_cipher, or -1. */
int hs_auth_cipher_parse(const char *name);
const char *hs_auth_cipher_name(uint8_t cipher);

/*
 * A receiving thread's subkeys of its senders (AES-256-GCM: deriving one
 * costs a BLAKE2b and an AES key schedule, about a frame's worth; with the
 * cache a sender costs that once per keyring change).  *out is NULL, and
 * none is needed, with XChaCha20-Poly1305.  One thread at a time.
 */
int hs_auth_cache_create(struct hs_auth *a, struct hs_auth_cache **out);
void hs_auth_cache_destroy(struct hs_auth_cache *c);

/* The id a key goes by: 4 bytes of BLAKE2b of the key, never 0. */
uint32_t hs_auth_key_id(const uint8_t key[HS_AUTH_KEY_BYTES]);
/* A new random key (libsodium's CSPRNG). */
void hs_auth_key_generate(uint8_t key[HS_AUTH_KEY_BYTES]);
/* Key text: 64 hex digits or 44 characters of standard base64.  Returns 0
 * or -EINVAL. */
int hs_auth_key_parse(const char *text, uint8_t key[HS_AUTH_KEY_BYTES]);
/* The base64 form (44 characters and a NUL). */
void hs_auth_key_format(const uint8_t key[HS_AUTH_KEY_BYTES], char out[45]);

/*
 * Keyring changes (control thread).  install: 0, -EEXIST (that key is
 * there), -ENOSPC (HS_AUTH_MAX_KEYS), -ENOMEM; the first key installed
 * becomes primary.  use: 0 or -ENOENT.  remove: 0, -ENOENT, or -EBUSY for
 * the primary (make another primary first: removing it would stop the node
 * from sending).
 */
int hs_auth_key_install(struct hs_auth *a,
			const uint8_t key[HS_AUTH_KEY_BYTES], uint32_t *id);
int hs_auth_key_use(struct hs_auth *a, uint32_t id);
int hs_auth_key_remove(struct hs_auth *a, uint32_t id);
/* Up to max keys, in installation order; returns how many there are. */
unsigned hs_auth_keys(struct hs_auth *a, struct hs_auth_key_info *out,
		      unsigned max);
void hs_auth_stats(struct hs_auth *a, struct hs_auth_stats *s);

/*
 * Seal the frame src[0..len) (a whole frame built with HS_WIRE_F_AUTH and
 * trailer_len HS_AUTH_TRAILER) into dst (may equal src): header copied,
 * payload encrypted, trailer written.  Returns 0, or -ENOKEY with no
 * primary key (nothing written: the frame must not go out).
 */
int hs_auth_seal(struct hs_auth *a, const uint8_t *src, uint8_t *dst,
		 unsigned len);
/*
 * Open the frame src[0..len) into dst (len bytes; not src), with the
 * calling thread's cache (NULL: subkeys made for each frame): verified
 * against the key its trailer names, payload decrypted, then checked
 * against its sender's replay window, which it then joins.  dst holds a
 * frame hs_wire_decode reads as usual (trailer included) only on HS_AUTH_OK.
 */
enum hs_auth_verdict hs_auth_open(struct hs_auth *a,
				  struct hs_auth_cache *cache,
				  const uint8_t *src, uint8_t *dst,
				  unsigned len);

/* Stable names of the verdicts, for logs and metrics. */
const char *hs_auth_verdict_name(enum hs_auth_verdict v);

#ifdef __cplusplus
}
#endif

#endif /* HS_AUTH_H */
