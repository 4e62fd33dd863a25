/*
 * Helpers shared by the unit tests (header only): a seeded splitmix64
 * generator and the seed every random test prints, so that a failure can be
 * replayed with HS_TEST_SEED.
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

#endif /* HS_TEST_H */
