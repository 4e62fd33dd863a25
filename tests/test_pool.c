/*
 * Unit tests for engine/pool: size classes and limits, reuse without new
 * slabs, frees from another thread coming back to the home cache, and bulk
 * frees of mixed homes and classes.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/pool.h"

#define N_OBJ 5000

static void
test_create_limits(void **state)
{
	struct hs_pool_params p = { .n_caches = 0, .max_obj_bytes = 100 };
	struct hs_pool_stats st;
	struct hs_pool *pool;
	struct hs_pool_cache *c;

	(void)state;
	assert_int_equal(hs_pool_create(&p, &pool), -EINVAL);
	p.n_caches = 2;
	p.max_obj_bytes = 1u << 20;
	assert_int_equal(hs_pool_create(&p, &pool), -EINVAL);
	p.max_obj_bytes = 1000;
	assert_int_equal(hs_pool_create(&p, &pool), 0);
	assert_null(hs_pool_cache_get(pool, 2));
	c = hs_pool_cache_get(pool, 0);
	assert_non_null(c);
	/* 1000 + 8-byte header fits the 1 KiB class; past the largest
	 * class this pool was made for, alloc refuses and counts */
	assert_non_null(hs_pool_alloc(c, 1000));
	assert_null(hs_pool_alloc(c, 1017));
	hs_pool_stats(pool, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.allocs, 1);
	hs_pool_destroy(pool);
}

static void
test_sizes_and_reuse(void **state)
{
	static void *objs[N_OBJ];
	struct hs_pool_params p = { .n_caches = 1, .max_obj_bytes = 4000 };
	struct hs_pool_stats a, b;
	struct hs_pool *pool;
	struct hs_pool_cache *c;
	unsigned i;

	(void)state;
	assert_int_equal(hs_pool_create(&p, &pool), 0);
	c = hs_pool_cache_get(pool, 0);
	for (i = 0; i < N_OBJ; i++) {
		size_t sz = 1 + (i * 37) % 4000;

		objs[i] = hs_pool_alloc(c, sz);
		assert_non_null(objs[i]);
		assert_int_equal((uintptr_t)objs[i] % 8, 0);
		memset(objs[i], (int)(i & 0xff), sz);	/* ASan: in bounds */
	}
	for (i = 0; i < N_OBJ; i++) {
		size_t sz = 1 + (i * 37) % 4000;

		/* nobody else's object overlapped ours */
		assert_int_equal(((uint8_t *)objs[i])[sz - 1], i & 0xff);
		assert_int_equal(((uint8_t *)objs[i])[0], i & 0xff);
	}
	hs_pool_stats(pool, &a);
	hs_pool_free_bulk(objs, N_OBJ);
	/* the same demand again is served from what came back */
	for (i = 0; i < N_OBJ; i++)
		assert_non_null(objs[i] = hs_pool_alloc(c, 1 + (i * 37) % 4000));
	hs_pool_stats(pool, &b);
	assert_int_equal(b.slab_grows, a.slab_grows);
	assert_int_equal(b.slab_bytes, a.slab_bytes);
	assert_true(b.remote_takes > a.remote_takes);
	for (i = 0; i < N_OBJ; i++)
		hs_pool_free(objs[i]);
	hs_pool_destroy(pool);
}

struct remote {
	void **objs;
	unsigned n;
	unsigned first;	/* free one by one up to here, then in bulk */
};

static void *
remote_free_main(void *arg)
{
	struct remote *r = arg;
	unsigned i;

	for (i = 0; i < r->first; i++)
		hs_pool_free(r->objs[i]);
	hs_pool_free_bulk(r->objs + r->first, r->n - r->first);
	return NULL;
}

/* Objects of two caches and several classes, interleaved, freed by another
 * thread one by one and in bulk: each goes back to its own home cache. */
static void
test_remote_and_bulk_free(void **state)
{
	static void *objs[N_OBJ];
	struct hs_pool_params p = { .n_caches = 2, .max_obj_bytes = 500 };
	struct remote r = { objs, N_OBJ, N_OBJ / 3 };
	struct hs_pool_stats a, b;
	struct hs_pool_cache *c[2];
	struct hs_pool *pool;
	pthread_t tid;
	unsigned i;

	(void)state;
	assert_int_equal(hs_pool_create(&p, &pool), 0);
	c[0] = hs_pool_cache_get(pool, 0);
	c[1] = hs_pool_cache_get(pool, 1);
	for (i = 0; i < N_OBJ; i++)
		assert_non_null(objs[i] = hs_pool_alloc(c[i % 2],
							(i % 3) * 150 + 10));
	hs_pool_stats(pool, &a);
	assert_int_equal(pthread_create(&tid, NULL, remote_free_main, &r), 0);
	pthread_join(tid, NULL);
	/* each cache gets exactly its own objects back: no new slab */
	for (i = 0; i < N_OBJ; i++)
		assert_non_null(objs[i] = hs_pool_alloc(c[i % 2],
							(i % 3) * 150 + 10));
	hs_pool_stats(pool, &b);
	assert_int_equal(b.slab_grows, a.slab_grows);
	assert_true(b.remote_takes >= 6);	/* 2 caches x 3 classes */
	hs_pool_free_bulk(objs, N_OBJ);
	hs_pool_destroy(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_sizes_and_reuse),
		cmocka_unit_test(test_remote_and_bulk_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
