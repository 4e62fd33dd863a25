/*
 * Helpers shared by the unit tests (header only): a seeded splitmix64
 * generator, the seed every random test prints, so that a failure can be
 * replayed with HS_TEST_SEED, and a frame header for hand-built frames.
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/wire.h"

/* splitmix64: one 64-bit state, good enough spread for test data. */
static inline uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* HS_TEST_SEED, or the time; printed so that a failing run can be replayed. */
static inline uint64_t
hs_test_seed(const char *test)
{
	const char *env = getenv("HS_TEST_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) :
				      (uint64_t)time(NULL);

	printf("%s: seed %" PRIu64 " (set HS_TEST_SEED to replay)\n", test,
	       seed);
	return seed;
}

/* The header of a hand-built frame: sender 99 of cluster 7. */
static inline void
hdr_init(struct hs_wire_hdr *h, uint8_t type)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->cluster_id = 7;
	h->sender_id = 99;
	h->sender_gen = 1;
	h->seq = 1;
}

/* HS_TEST_FILTER=pattern runs only the matching tests (cmocka's filter:
 * '*' and '?' wildcards), to repeat one test in a loop. */
#define HS_TEST_FILTER()						\
	do {								\
		const char *_f = getenv("HS_TEST_FILTER");		\
									\
		if (_f != NULL && *_f != '\0')				\
			cmocka_set_test_filter(_f);			\
	} while (0)

#endif /* HS_TEST_H */
