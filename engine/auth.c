/*
 * hearsay frame authentication and encryption.  See auth.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <urcu/arch.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "engine/auth.h"
#include "engine/util.h"
#include "engine/wire.h"

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24,
	       "the nonce is the header's sender_id, sender_gen and seq");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES ==
	       HS_AUTH_TAG_BYTES, "tag size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES ==
	       HS_AUTH_KEY_BYTES, "key size");
_Static_assert(HS_AUTH_TRAILER <= HS_WIRE_TRAILER_MAX, "trailer size");

#define HS_AUTH_OFF_FLAGS	4
#define HS_AUTH_OFF_TRAILER	8
#define HS_AUTH_OFF_SENDER	16
#define HS_AUTH_OFF_GEN		24
#define HS_AUTH_OFF_SEQ		32
#define HS_AUTH_PROBE		16	/* windows looked at per sender */
#define HS_AUTH_WORDS		(HS_AUTH_WINDOW / 64)

#define HS_AUTH_CACHE		256	/* senders' subkeys per thread */

struct hs_keyring {
	struct rcu_head rcu;
	uint64_t version;		/* grows with every change */
	unsigned n;
	int primary;			/* index, -1: none */
	struct {
		uint32_t id;
		uint8_t key[HS_AUTH_KEY_BYTES];
		/* AES-256-GCM: our own subkey of this key, to seal */
		crypto_aead_aes256gcm_state self;
	} k[HS_AUTH_MAX_KEYS];
};

/* A sender's AES-256-GCM subkey of one key of one keyring version. */
struct hs_auth_subkey {
	crypto_aead_aes256gcm_state st;
	uint64_t version;		/* of the keyring; 0: empty */
	uint64_t sender;
	uint64_t gen;
	uint32_t id;
};

struct hs_auth_cache {
	struct hs_auth_subkey s[HS_AUTH_CACHE];
};

/*
 * One sender lane's window: frames (gen, ctr) with ctr = seq >> 8.  bit i
 * of win says whether ctr top - i arrived.  sender is 0 while free; it is
 * written (release) after the rest, under lock, so a reader that matches
 * sender and lane and then takes the lock sees a whole window.
 */
struct hs_auth_window {
	uint64_t sender;		/* atomic */
	uint64_t gen;
	uint64_t top;
	uint64_t win[HS_AUTH_WORDS];
	uint8_t lane;			/* atomic with sender */
	uint8_t lock;			/* atomic test-and-set */
} HS_CACHE_ALIGNED;

struct hs_auth {
	struct hs_keyring *ring;	/* rcu */
	pthread_mutex_t ctl;		/* key changes (control side only) */
	struct hs_auth_window *w;
	uint32_t w_mask;
	uint64_t keyring_changes;
	uint64_t windows_taken;		/* atomic */
	uint8_t ins;			/* spin lock: making a window */
	struct call_rcu_data *crdp;	/* NULL: the default */
	uint8_t cipher;			/* enum hs_auth_cipher */
	uint64_t self_id, self_gen;
};

static int hs_auth_sodium_rc = 1;	/* 1: not yet; 0: ready; -1: failed */
static pthread_once_t hs_auth_once = PTHREAD_ONCE_INIT;

static void
hs_auth_sodium_init(void)
{
	hs_auth_sodium_rc = sodium_init() < 0 ? -1 : 0;
}

int
hs_auth_create(const struct hs_auth_params *p, struct hs_auth **out)
{
	unsigned want = p != NULL && p->windows != 0 ? p->windows : 4096;
	uint32_t n = 1;
	struct hs_auth *a;

	uint8_t cipher = p != NULL ? p->cipher : HS_AUTH_XCHACHA20POLY1305;

	if (out == NULL || want > (1u << 24) || cipher > HS_AUTH_AES256GCM)
		return -EINVAL;
	pthread_once(&hs_auth_once, hs_auth_sodium_init);
	if (hs_auth_sodium_rc != 0)
		return -ENOSYS;
	if (cipher == HS_AUTH_AES256GCM && !crypto_aead_aes256gcm_is_available())
		return -ENOTSUP;
	while (n < want)
		n <<= 1;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	if (posix_memalign((void **)&a->w, HS_CACHE_LINE,
			   sizeof(*a->w) * n) != 0) {
		free(a);
		return -ENOMEM;
	}
	memset(a->w, 0, sizeof(*a->w) * n);
	a->w_mask = n - 1;
	a->crdp = p != NULL ? p->crdp : NULL;
	a->cipher = cipher;
	a->self_id = p != NULL ? p->self_id : 0;
	a->self_gen = p != NULL ? p->self_gen : 0;
	if (posix_memalign((void **)&a->ring, HS_CACHE_LINE,
			   sizeof(*a->ring)) != 0)
		a->ring = NULL;
	if (a->ring == NULL) {
		free(a->w);
		free(a);
		return -ENOMEM;
	}
	memset(a->ring, 0, sizeof(*a->ring));
	a->ring->primary = -1;
	pthread_mutex_init(&a->ctl, NULL);
	*out = a;
	return 0;
}

static void
hs_keyring_free(struct hs_keyring *r)
{
	sodium_memzero(r, sizeof(*r));
	free(r);
}

static void
hs_keyring_free_cb(struct rcu_head *head)
{
	hs_keyring_free(caa_container_of(head, struct hs_keyring, rcu));
}

void
hs_auth_destroy(struct hs_auth *a)
{
	if (a == NULL)
		return;
	hs_keyring_free(a->ring);
	free(a->w);
	pthread_mutex_destroy(&a->ctl);
	free(a);
}

/* ---- keys ---- */

uint32_t
hs_auth_key_id(const uint8_t key[HS_AUTH_KEY_BYTES])
{
	static const uint8_t label[] = "hearsay key id";
	uint8_t h[16];
	uint32_t id;

	crypto_generichash(h, sizeof(h), label, sizeof(label) - 1, key,
			   HS_AUTH_KEY_BYTES);
	memcpy(&id, h, sizeof(id));
	return id != 0 ? id : 1;
}

void
hs_auth_key_generate(uint8_t key[HS_AUTH_KEY_BYTES])
{
	pthread_once(&hs_auth_once, hs_auth_sodium_init);
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
}

int
hs_auth_key_parse(const char *text, uint8_t key[HS_AUTH_KEY_BYTES])
{
	size_t len, bin_len = 0;
	const char *end = NULL;

	if (text == NULL)
		return -EINVAL;
	len = strlen(text);
	if (len == 2 * HS_AUTH_KEY_BYTES)
		return sodium_hex2bin(key, HS_AUTH_KEY_BYTES, text, len, NULL,
				      &bin_len, &end) == 0 &&
		       bin_len == HS_AUTH_KEY_BYTES && end == text + len ?
		       0 : -EINVAL;
	if (len == sodium_base64_ENCODED_LEN(HS_AUTH_KEY_BYTES,
				sodium_base64_VARIANT_ORIGINAL) - 1)
		return sodium_base642bin(key, HS_AUTH_KEY_BYTES, text, len,
					 NULL, &bin_len, &end,
					 sodium_base64_VARIANT_ORIGINAL) == 0 &&
		       bin_len == HS_AUTH_KEY_BYTES && end == text + len ?
		       0 : -EINVAL;
	return -EINVAL;
}

void
hs_auth_key_format(const uint8_t key[HS_AUTH_KEY_BYTES], char out[45])
{
	sodium_bin2base64(out, 45, key, HS_AUTH_KEY_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
}

/* Publish a changed copy of the keyring; the old one goes after a grace
 * period.  Under a->ctl. */
static void
hs_auth_publish(struct hs_auth *a, struct hs_keyring *nw)
{
	struct hs_keyring *old = rcu_xchg_pointer(&a->ring, nw);
	struct call_rcu_data *prev = urcu_qsbr_get_thread_call_rcu_data();

	a->keyring_changes++;
	/* on our call_rcu thread, not whichever one the calling thread was
	 * last given (it may be gone) */
	urcu_qsbr_set_thread_call_rcu_data(a->crdp != NULL ? a->crdp :
				urcu_qsbr_get_default_call_rcu_data());
	urcu_qsbr_call_rcu(&old->rcu, hs_keyring_free_cb);
	urcu_qsbr_set_thread_call_rcu_data(prev);
}

static struct hs_keyring *
hs_auth_copy(const struct hs_keyring *r)
{
	struct hs_keyring *c;

	if (posix_memalign((void **)&c, HS_CACHE_LINE, sizeof(*c)) != 0)
		return NULL;
	memcpy(c, r, sizeof(*c));
	c->version = r->version + 1;
	return c;
}

/* AES-256-GCM: the subkey of (key, sender, generation): BLAKE2b-256 keyed
 * with the key over a label and the two numbers, then its AES schedule. */
static void
hs_auth_subkey(const uint8_t key[HS_AUTH_KEY_BYTES], uint64_t sender,
	       uint64_t gen, crypto_aead_aes256gcm_state *st)
{
	static const uint8_t label[] = "hearsay aes256gcm subkey";
	uint8_t msg[sizeof(label) - 1 + 16], sub[32];

	memcpy(msg, label, sizeof(label) - 1);
	hs_wire_wr64(msg + sizeof(label) - 1, sender);
	hs_wire_wr64(msg + sizeof(label) - 1 + 8, gen);
	crypto_generichash(sub, sizeof(sub), msg, sizeof(msg), key,
			   HS_AUTH_KEY_BYTES);
	crypto_aead_aes256gcm_beforenm(st, sub);
	sodium_memzero(sub, sizeof(sub));
}

int
hs_auth_cipher_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "xchacha20poly1305") == 0)
		return HS_AUTH_XCHACHA20POLY1305;
	if (strcmp(name, "aes256gcm") == 0)
		return HS_AUTH_AES256GCM;
	return -1;
}

const char *
hs_auth_cipher_name(uint8_t cipher)
{
	return cipher == HS_AUTH_AES256GCM ? "aes256gcm" : "xchacha20poly1305";
}

int
hs_auth_cache_create(struct hs_auth *a, struct hs_auth_cache **out)
{
	*out = NULL;
	if (a->cipher != HS_AUTH_AES256GCM)
		return 0;
	if (posix_memalign((void **)out, HS_CACHE_LINE, sizeof(**out)) != 0)
		return -ENOMEM;
	memset(*out, 0, sizeof(**out));
	return 0;
}

void
hs_auth_cache_destroy(struct hs_auth_cache *c)
{
	if (c != NULL)
		sodium_memzero(c, sizeof(*c));
	free(c);
}

static int
hs_auth_find(const struct hs_keyring *r, uint32_t id)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (r->k[i].id == id)
			return (int)i;
	return -1;
}

int
hs_auth_key_install(struct hs_auth *a, const uint8_t key[HS_AUTH_KEY_BYTES],
		    uint32_t *id_out)
{
	uint32_t id = hs_auth_key_id(key);
	struct hs_keyring *r, *c;
	int rc = 0;
	unsigned i;

	pthread_mutex_lock(&a->ctl);
	r = a->ring;
	for (i = 0; i < r->n; i++)
		if (sodium_memcmp(r->k[i].key, key, HS_AUTH_KEY_BYTES) == 0)
			break;
	if (i < r->n) {
		rc = -EEXIST;
	} else if (r->n == HS_AUTH_MAX_KEYS) {
		rc = -ENOSPC;
	} else if ((c = hs_auth_copy(r)) == NULL) {
		rc = -ENOMEM;
	} else {
		/* two keys may share an id (1 in 2^32): a receiver then
		 * tries both */
		c->k[c->n].id = id;
		memcpy(c->k[c->n].key, key, HS_AUTH_KEY_BYTES);
		if (a->cipher == HS_AUTH_AES256GCM)
			hs_auth_subkey(key, a->self_id, a->self_gen,
				       &c->k[c->n].self);
		if (c->primary < 0)
			c->primary = (int)c->n;
		c->n++;
		hs_auth_publish(a, c);
	}
	pthread_mutex_unlock(&a->ctl);
	if (id_out != NULL)
		*id_out = id;
	return rc;
}

int
hs_auth_key_use(struct hs_auth *a, uint32_t id)
{
	struct hs_keyring *c;
	int i, rc = 0;

	pthread_mutex_lock(&a->ctl);
	i = hs_auth_find(a->ring, id);
	if (i < 0)
		rc = -ENOENT;
	else if (i == a->ring->primary)
		rc = 0;
	else if ((c = hs_auth_copy(a->ring)) == NULL)
		rc = -ENOMEM;
	else {
		c->primary = i;
		hs_auth_publish(a, c);
	}
	pthread_mutex_unlock(&a->ctl);
	return rc;
}

int
hs_auth_key_remove(struct hs_auth *a, uint32_t id)
{
	struct hs_keyring *c;
	int i, rc = 0;

	pthread_mutex_lock(&a->ctl);
	i = hs_auth_find(a->ring, id);
	if (i < 0)
		rc = -ENOENT;
	else if (i == a->ring->primary)
		rc = -EBUSY;
	else if ((c = hs_auth_copy(a->ring)) == NULL)
		rc = -ENOMEM;
	else {
		memmove(&c->k[i], &c->k[i + 1],
			sizeof(c->k[0]) * (c->n - (unsigned)i - 1));
		c->n--;
		sodium_memzero(&c->k[c->n], sizeof(c->k[0]));
		if (c->primary > i)
			c->primary--;
		hs_auth_publish(a, c);
	}
	pthread_mutex_unlock(&a->ctl);
	return rc;
}

unsigned
hs_auth_keys(struct hs_auth *a, struct hs_auth_key_info *out, unsigned max)
{
	const struct hs_keyring *r;
	unsigned i, n;

	pthread_mutex_lock(&a->ctl);
	r = a->ring;
	n = r->n;
	for (i = 0; i < n && i < max; i++) {
		out[i].id = r->k[i].id;
		out[i].primary = (int)i == r->primary;
	}
	pthread_mutex_unlock(&a->ctl);
	return n;
}

void
hs_auth_stats(struct hs_auth *a, struct hs_auth_stats *s)
{
	pthread_mutex_lock(&a->ctl);
	s->keyring_changes = a->keyring_changes;
	s->cipher = a->cipher;
	s->n_keys = a->ring->n;
	s->primary_id = a->ring->primary >= 0 ?
			a->ring->k[a->ring->primary].id : 0;
	pthread_mutex_unlock(&a->ctl);
	s->windows_taken = __atomic_load_n(&a->windows_taken,
					   __ATOMIC_RELAXED);
}

/* ---- frames ---- */

/* The 12-byte AES-256-GCM nonce: the frame's seq, unique per frame of a
 * sender's generation, which the subkey already names. */
static void
hs_auth_gcm_nonce(const uint8_t *hdr, uint8_t n[12])
{
	memcpy(n, hdr + HS_AUTH_OFF_SEQ, 8);
	memset(n + 8, 0, 4);
}

int
hs_auth_seal(struct hs_auth *a, const uint8_t *src, uint8_t *dst,
	     unsigned len)
{
	const struct hs_keyring *r = rcu_dereference(a->ring);
	unsigned body = len - HS_WIRE_HDR_LEN - HS_AUTH_TRAILER;
	unsigned long long mac_len;
	uint8_t nonce[12];

	if (r->primary < 0)
		return -ENOKEY;
	if (dst != src)
		memcpy(dst, src, HS_WIRE_HDR_LEN);
	hs_wire_wr32(dst + len - HS_AUTH_TRAILER, r->k[r->primary].id);
	if (a->cipher == HS_AUTH_AES256GCM) {
		uint64_t sender = hs_wire_rd64(dst + HS_AUTH_OFF_SENDER);
		uint64_t gen = hs_wire_rd64(dst + HS_AUTH_OFF_GEN);
		crypto_aead_aes256gcm_state other;
		const crypto_aead_aes256gcm_state *st =
			&r->k[r->primary].self;

		if (sender != a->self_id || gen != a->self_gen) {
			/* not us (tests, tools): a subkey for this frame */
			hs_auth_subkey(r->k[r->primary].key, sender, gen,
				       &other);
			st = &other;
		}
		hs_auth_gcm_nonce(dst, nonce);
		crypto_aead_aes256gcm_encrypt_detached_afternm(
			dst + HS_WIRE_HDR_LEN, dst + len - HS_AUTH_TAG_BYTES,
			&mac_len, src + HS_WIRE_HDR_LEN, body, dst,
			HS_WIRE_HDR_LEN, NULL, nonce, st);
		if (st == &other)
			sodium_memzero(&other, sizeof(other));
		return 0;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		dst + HS_WIRE_HDR_LEN, dst + len - HS_AUTH_TAG_BYTES,
		&mac_len, src + HS_WIRE_HDR_LEN, body, dst, HS_WIRE_HDR_LEN,
		NULL, dst + HS_AUTH_OFF_SENDER, r->k[r->primary].key);
	return 0;
}

static void
hs_spin_lock(uint8_t *l)
{
	while (__atomic_test_and_set(l, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			caa_cpu_relax();
}

static void
hs_spin_unlock(uint8_t *l)
{
	__atomic_clear(l, __ATOMIC_RELEASE);
}

static inline bool
hs_auth_is(const struct hs_auth_window *w, uint64_t sender, uint8_t lane)
{
	return __atomic_load_n(&w->sender, __ATOMIC_ACQUIRE) == sender &&
	       __atomic_load_n(&w->lane, __ATOMIC_RELAXED) == lane;
}

/* Shift the window up by d frames. */
static void
hs_auth_slide(struct hs_auth_window *w, uint64_t d)
{
	unsigned words = (unsigned)(d / 64), bits = (unsigned)(d % 64), i;

	if (d >= HS_AUTH_WINDOW) {
		memset(w->win, 0, sizeof(w->win));
		return;
	}
	for (i = HS_AUTH_WORDS; i-- > 0;) {
		uint64_t v = i >= words ? w->win[i - words] << bits : 0;

		if (bits != 0 && i >= words + 1)
			v |= w->win[i - words - 1] >> (64 - bits);
		w->win[i] = v;
	}
}

/* The verdict of a window on (gen, ctr), recorded when OK.  Under lock. */
static enum hs_auth_verdict
hs_auth_check(struct hs_auth_window *w, uint64_t gen, uint64_t ctr)
{
	uint64_t d;

	if (gen < w->gen)
		return HS_AUTH_OLD_GEN;
	if (gen > w->gen) {
		w->gen = gen;
		w->top = ctr;
		memset(w->win, 0, sizeof(w->win));
		w->win[0] = 1;
		return HS_AUTH_OK;
	}
	if (ctr > w->top) {
		hs_auth_slide(w, ctr - w->top);
		w->top = ctr;
		w->win[0] |= 1;
		return HS_AUTH_OK;
	}
	d = w->top - ctr;
	if (d >= HS_AUTH_WINDOW ||
	    (w->win[d / 64] & (1ull << (d % 64))) != 0)
		return HS_AUTH_REPLAY;
	w->win[d / 64] |= 1ull << (d % 64);
	return HS_AUTH_OK;
}

/* The window of (sender, lane) in its probe range, or NULL. */
static struct hs_auth_window *
hs_auth_window_find(struct hs_auth *a, uint32_t h, uint64_t sender,
		    uint8_t lane)
{
	unsigned i;

	for (i = 0; i < HS_AUTH_PROBE; i++) {
		struct hs_auth_window *w = &a->w[(h + i) & a->w_mask];

		if (hs_auth_is(w, sender, lane))
			return w;
	}
	return NULL;
}

static enum hs_auth_verdict
hs_auth_replay(struct hs_auth *a, uint64_t sender, uint64_t gen,
	       uint64_t seq)
{
	uint8_t lane = (uint8_t)(seq & 0xff);
	uint64_t ctr = seq >> 8, hs = sender ^ ((uint64_t)lane << 56);
	uint32_t h = (uint32_t)hs_splitmix64(&hs);
	struct hs_auth_window *w;
	enum hs_auth_verdict v;
	unsigned i;

	for (;;) {
		w = hs_auth_window_find(a, h, sender, lane);
		if (w == NULL)
			break;
		hs_spin_lock(&w->lock);
		if (hs_auth_is(w, sender, lane)) {
			v = hs_auth_check(w, gen, ctr);
			hs_spin_unlock(&w->lock);
			return v;
		}
		hs_spin_unlock(&w->lock);	/* taken over meanwhile */
	}
	/* A new sender lane.  Windows are made one at a time (a->ins), so
	 * that two lanes never make two for one sender; in a free window of
	 * its range, else in one taken over, whose sender's old frames could
	 * then pass once (counted). */
	hs_spin_lock(&a->ins);
	w = hs_auth_window_find(a, h, sender, lane);
	if (w != NULL) {
		hs_spin_unlock(&a->ins);
		return hs_auth_replay(a, sender, gen, seq);
	}
	w = &a->w[(h + (uint32_t)(ctr % HS_AUTH_PROBE)) & a->w_mask];
	for (i = 0; i < HS_AUTH_PROBE; i++) {
		struct hs_auth_window *f = &a->w[(h + i) & a->w_mask];

		if (__atomic_load_n(&f->sender, __ATOMIC_RELAXED) == 0) {
			w = f;
			break;
		}
	}
	hs_spin_lock(&w->lock);
	if (__atomic_load_n(&w->sender, __ATOMIC_RELAXED) != 0)
		__atomic_add_fetch(&a->windows_taken, 1, __ATOMIC_RELAXED);
	w->gen = gen;
	w->top = ctr;
	memset(w->win, 0, sizeof(w->win));
	w->win[0] = 1;
	__atomic_store_n(&w->lane, lane, __ATOMIC_RELAXED);
	__atomic_store_n(&w->sender, sender, __ATOMIC_RELEASE);
	hs_spin_unlock(&w->lock);
	hs_spin_unlock(&a->ins);
	return HS_AUTH_OK;
}

/* AES-256-GCM: the subkey of key i of r for the frame's sender, from the
 * cache (filled on a miss) or made into *tmp. */
static const crypto_aead_aes256gcm_state *
hs_auth_gcm_state(const struct hs_keyring *r, unsigned i,
		  struct hs_auth_cache *cache, uint64_t sender, uint64_t gen,
		  crypto_aead_aes256gcm_state *tmp)
{
	struct hs_auth_subkey *s;
	uint64_t h = sender ^ (gen * 0x9e3779b97f4a7c15ull) ^ r->k[i].id;

	if (cache == NULL) {
		hs_auth_subkey(r->k[i].key, sender, gen, tmp);
		return tmp;
	}
	s = &cache->s[hs_splitmix64(&h) & (HS_AUTH_CACHE - 1)];
	if (s->version != r->version + 1 || s->sender != sender ||
	    s->gen != gen || s->id != r->k[i].id) {
		hs_auth_subkey(r->k[i].key, sender, gen, &s->st);
		s->version = r->version + 1;
		s->sender = sender;
		s->gen = gen;
		s->id = r->k[i].id;
	}
	return &s->st;
}

enum hs_auth_verdict
hs_auth_open(struct hs_auth *a, struct hs_auth_cache *cache,
	     const uint8_t *src, uint8_t *dst, unsigned len)
{
	const struct hs_keyring *r = rcu_dereference(a->ring);
	uint64_t sender, gen;
	const uint8_t *mac;
	crypto_aead_aes256gcm_state tmp;
	uint8_t nonce[12];
	uint32_t id;
	unsigned body, i;
	bool known = false;
	int rc;

	if (len < HS_WIRE_HDR_LEN + HS_AUTH_TRAILER)
		return HS_AUTH_SHORT;
	if (!(hs_wire_rd16(src + HS_AUTH_OFF_FLAGS) & HS_WIRE_F_AUTH) ||
	    hs_wire_rd16(src + HS_AUTH_OFF_TRAILER) != HS_AUTH_TRAILER)
		return HS_AUTH_PLAIN;
	body = len - HS_WIRE_HDR_LEN - HS_AUTH_TRAILER;
	mac = src + len - HS_AUTH_TAG_BYTES;
	id = hs_wire_rd32(src + len - HS_AUTH_TRAILER);
	sender = hs_wire_rd64(src + HS_AUTH_OFF_SENDER);
	gen = hs_wire_rd64(src + HS_AUTH_OFF_GEN);
	hs_auth_gcm_nonce(src, nonce);
	for (i = 0; i < r->n; i++) {
		if (r->k[i].id != id)
			continue;
		known = true;
		if (a->cipher == HS_AUTH_AES256GCM)
			rc = crypto_aead_aes256gcm_decrypt_detached_afternm(
				dst + HS_WIRE_HDR_LEN, NULL,
				src + HS_WIRE_HDR_LEN, body, mac, src,
				HS_WIRE_HDR_LEN, nonce,
				hs_auth_gcm_state(r, i, cache, sender, gen,
						  &tmp));
		else
			rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
				dst + HS_WIRE_HDR_LEN, NULL,
				src + HS_WIRE_HDR_LEN, body, mac, src,
				HS_WIRE_HDR_LEN, src + HS_AUTH_OFF_SENDER,
				r->k[i].key);
		if (rc == 0)
			break;
	}
	if (cache == NULL && a->cipher == HS_AUTH_AES256GCM)
		sodium_memzero(&tmp, sizeof(tmp));
	if (i == r->n)
		return known ? HS_AUTH_BAD_TAG : HS_AUTH_UNKNOWN_KEY;
	memcpy(dst, src, HS_WIRE_HDR_LEN);
	memcpy(dst + len - HS_AUTH_TRAILER, src + len - HS_AUTH_TRAILER,
	       HS_AUTH_TRAILER);
	return hs_auth_replay(a, sender, gen,
			      hs_wire_rd64(src + HS_AUTH_OFF_SEQ));
}

const char *
hs_auth_verdict_name(enum hs_auth_verdict v)
{
	switch (v) {
	case HS_AUTH_OK: return "ok";
	case HS_AUTH_PLAIN: return "plaintext";
	case HS_AUTH_UNKNOWN_KEY: return "unknown_key";
	case HS_AUTH_BAD_TAG: return "bad_tag";
	case HS_AUTH_REPLAY: return "replay";
	case HS_AUTH_OLD_GEN: return "old_generation";
	case HS_AUTH_SHORT: return "short";
	}
	return "?";
}
