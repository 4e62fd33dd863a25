/*
 * engine/idmap.h: id -> index map with backward-shift deletion, checked
 * against a plain array model under seeded random inserts, updates and
 * deletes, with sequential ids (the worst case for a weak hash) and
 * random ones.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/idmap.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

#define UNIVERSE	4096

static void
check_model(const struct hs_idmap *m, const uint32_t *model,
	    const uint64_t *ids)
{
	unsigned i, n = 0;

	for (i = 0; i < UNIVERSE; i++) {
		assert_int_equal(hs_idmap_get(m, ids[i]), model[i]);
		n += model[i] != HS_IDMAP_NONE;
	}
	assert_int_equal(m->n, n);
	assert_true(m->ids == NULL || 2 * m->n <= m->mask + 1);
}

static void
run(bool sequential)
{
	static uint32_t model[UNIVERSE];
	static uint64_t ids[UNIVERSE];
	struct hs_idmap m = { 0 };
	uint64_t s = test_seed + sequential;
	unsigned step, i;

	for (i = 0; i < UNIVERSE; i++) {
		model[i] = HS_IDMAP_NONE;
		ids[i] = sequential ? 1000 + i : (rnd(&s) | 1);
	}
	assert_int_equal(hs_idmap_get(&m, 5), HS_IDMAP_NONE);
	hs_idmap_del(&m, 5);	/* empty map: nothing */
	for (step = 0; step < 200000; step++) {
		unsigned k = (unsigned)(rnd(&s) % UNIVERSE);

		/* grow to about half the universe, then churn */
		if (rnd(&s) % 3 != 0) {
			uint32_t v = (uint32_t)(rnd(&s) % 1000000);

			assert_int_equal(hs_idmap_set(&m, ids[k], v), 0);
			model[k] = v;
		} else {
			hs_idmap_del(&m, ids[k]);
			model[k] = HS_IDMAP_NONE;
		}
		if (step % 10007 == 0)
			check_model(&m, model, ids);
	}
	check_model(&m, model, ids);
	/* empty it completely, checking as it goes */
	for (i = 0; i < UNIVERSE; i++) {
		hs_idmap_del(&m, ids[i]);
		model[i] = HS_IDMAP_NONE;
		if (i % 512 == 0)
			check_model(&m, model, ids);
	}
	assert_int_equal(m.n, 0);
	hs_idmap_free(&m);
	assert_null(m.ids);
}

static void
test_sequential_ids(void **state)
{
	(void)state;
	run(true);
}

static void
test_random_ids(void **state)
{
	(void)state;
	run(false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential_ids),
		cmocka_unit_test(test_random_ids),
	};

	test_seed = hs_test_seed("test_idmap");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
