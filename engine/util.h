/*
 * hearsay: small helpers shared by engine modules (header only).
 *
 * Per-thread counters are written by one thread and read by the control
 * thread; HS_COUNTER_ADD is a relaxed load + store, which is a plain add on
 * x86 (no lock prefix) yet is not a data race for the reader.
 */
#ifndef HS_UTIL_H
#define HS_UTIL_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_CACHE_LINE 64
#define HS_CACHE_ALIGNED __attribute__((aligned(HS_CACHE_LINE)))

#define hs_likely(x) __builtin_expect(!!(x), 1)
#define hs_unlikely(x) __builtin_expect(!!(x), 0)

#define HS_COUNTER_ADD(c, n) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define HS_COUNTER_INC(c) HS_COUNTER_ADD(c, 1)
#define HS_COUNTER_READ(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

/* Raise *p to v if v is higher; returns the value now in *p. */
static inline uint64_t
hs_atomic_max_u64(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	while (cur < v) {
		if (__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return v;
	}
	return cur;
}

/* CLOCK_MONOTONIC in ns: the default clock (tables, nodes take any). */
static inline uint64_t
hs_clock_monotonic(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC in ns: what turns a node's monotonic
 * stamps into wall-clock time (hearsayd's event streams), and the same
 * offset on the reading side (hearsay-bench --api).  Each monotonic read
 * is bracketed by two wall reads and paired with their midpoint; of 16
 * tries the narrowest bracket wins, so that a preemption inside one (it
 * was 2 ms once, a node's every stamp off by that: a flaky test) does not
 * make the offset.  Off by at most half the narrowest gap (tens of ns).
 */
static inline int64_t
hs_wall_offset_ns(void)
{
	int64_t best = 0, best_gap = INT64_MAX;
	int i;

	for (i = 0; i < 16; i++) {
		struct timespec w0, m, w1;
		int64_t a, b;

		clock_gettime(CLOCK_REALTIME, &w0);
		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_REALTIME, &w1);
		a = (int64_t)w0.tv_sec * 1000000000 + w0.tv_nsec;
		b = (int64_t)w1.tv_sec * 1000000000 + w1.tv_nsec;
		if (b - a < best_gap) {
			best_gap = b - a;
			best = a + (b - a) / 2 -
			       ((int64_t)m.tv_sec * 1000000000 + m.tv_nsec);
		}
	}
	return best;
}

/* splitmix64: one 64-bit state per user, seeded, so that a simulation
 * replays exactly. */
static inline uint64_t
hs_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#ifdef __cplusplus
}
#endif

#endif /* HS_UTIL_H */
