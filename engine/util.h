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

#ifdef __cplusplus
}
#endif

#endif /* HS_UTIL_H */
