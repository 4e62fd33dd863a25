/*
 * Unit tests for engine/peers: both samplers draw distinct peers, never
 * the caller, cover the whole list over many draws; the member list learns,
 * updates an address in place and keeps its index right as it grows.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/peers.h"
#include "engine/peers_priv.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

static void
check_draws(struct hs_peer_sampler s, unsigned n, uint64_t self)
{
	static unsigned hits[4096];
	struct hs_peer out[16];
	uint64_t rng = test_seed;
	unsigned draw, i, j, got;

	memset(hits, 0, sizeof(hits));
	for (draw = 0; draw < 20000; draw++) {
		got = s.ops->sample(s.ctx, self, &rng, out, 3);
		assert_int_equal(got, n - 1 < 3 ? n - 1 : 3);
		for (i = 0; i < got; i++) {
			assert_true(out[i].id != self);
			assert_int_equal(out[i].addr.port, 7000 + out[i].id);
			for (j = 0; j < i; j++)
				assert_true(out[i].id != out[j].id);
			hits[out[i].id]++;
		}
	}
	/* 60,000 picks over n - 1 peers: each between a third and twice its
	 * share (at 1000 peers, a share of 60: a uniform draw leaves that
	 * band with probability about 1e-9 per peer) */
	for (i = 1; i <= n; i++) {
		if (i == self)
			continue;
		assert_true(hits[i] > 60000 / (n - 1) / 3);
		assert_true(hits[i] < 60000 / (n - 1) * 2);
	}
}

static void
test_static(void **state)
{
	struct hs_peers_static *ps;
	unsigned i;

	(void)state;
	assert_int_equal(hs_peers_static_create(0, &ps), -EINVAL);
	assert_int_equal(hs_peers_static_create(50, &ps), 0);
	for (i = 0; i < 50; i++) {
		struct hs_addr a = hs_addr_v4(10, 0, 0, (uint8_t)i,
					      (uint16_t)(7001 + i));

		hs_peers_static_set(ps, i, i + 1, &a);
	}
	assert_int_equal(hs_peers_static_sampler(ps).ops->count(ps), 50);
	check_draws(hs_peers_static_sampler(ps), 50, 17);
	hs_peers_static_destroy(ps);
}

static void
test_members(void **state)
{
	struct hs_peers_members pm = { 0 };
	struct hs_peer_sampler s = hs_peers_members_sampler(&pm);
	struct hs_peer out[16];
	uint64_t rng = test_seed;
	unsigned i;

	(void)state;
	assert_int_equal(s.ops->sample(s.ctx, 1, &rng, out, 3), 0);
	/* learnt in an order that makes the index grow several times */
	for (i = 1000; i >= 1; i--) {
		struct hs_peer p = { .id = i,
				     .addr = hs_addr_v4(10, 0, 0, 1,
							(uint16_t)(1 + i)) };

		s.ops->learn(s.ctx, &p);
	}
	assert_int_equal(s.ops->count(s.ctx), 1000);
	/* learning again updates in place */
	for (i = 1; i <= 1000; i++) {
		struct hs_peer p = { .id = i,
				     .addr = hs_addr_v4(10, 0, 0, 2,
							(uint16_t)(7000 + i)) };

		s.ops->learn(s.ctx, &p);
	}
	assert_int_equal(s.ops->count(s.ctx), 1000);
	s.ops->learn(s.ctx, NULL);	/* ignored */
	s.ops->learn(s.ctx, &(struct hs_peer){ .id = 0 });
	assert_int_equal(s.ops->count(s.ctx), 1000);
	check_draws(s, 1000, 500);
	/* forgetting: every third member, in an order that exercises the
	 * index's backward shifts; the rest are still found and drawn,
	 * the forgotten never */
	for (i = 3; i <= 1000; i += 3)
		s.ops->forget(s.ctx, i);
	s.ops->forget(s.ctx, 5000);	/* unknown: ignored */
	assert_int_equal(s.ops->count(s.ctx), 1000 - 333);
	for (i = 0; i < 2000; i++) {
		unsigned k, got = s.ops->sample(s.ctx, 0, &rng, out, 16);

		assert_int_equal(got, 16);
		for (k = 0; k < got; k++)
			assert_true(out[k].id % 3 != 0);
	}
	for (i = 1; i <= 1000; i++) {	/* learning again finds, not adds */
		struct hs_peer p = { .id = i,
				     .addr = hs_addr_v4(10, 0, 0, 2,
							(uint16_t)(7000 + i)) };

		if (i % 3 != 0)
			s.ops->learn(s.ctx, &p);
	}
	assert_int_equal(s.ops->count(s.ctx), 1000 - 333);
	for (i = 3; i <= 1000; i += 3)
		s.ops->learn(s.ctx, &(struct hs_peer){ .id = i,
			.addr = hs_addr_v4(10, 0, 0, 2, (uint16_t)(7000 + i)) });
	assert_int_equal(s.ops->count(s.ctx), 1000);
	check_draws(s, 1000, 500);
	/* a list of 2, one of them us: only the other one */
	hs_peers_members_free(&pm);
	s.ops->learn(s.ctx, &(struct hs_peer){ .id = 1, .addr = { .family = 4,
							   .port = 7001 } });
	s.ops->learn(s.ctx, &(struct hs_peer){ .id = 2, .addr = { .family = 4,
							   .port = 7002 } });
	assert_int_equal(s.ops->sample(s.ctx, 1, &rng, out, 3), 1);
	assert_int_equal(out[0].id, 2);
	hs_peers_members_free(&pm);
}

/* With racks: every draw of 3 has one peer of another rack and two of
 * ours; a rack learnt later moves a peer between the two sides. */
static void
test_racks(void **state)
{
	struct hs_peers_members pm = { 0 };
	struct hs_peer_sampler s = hs_peers_members_sampler(&pm);
	uint32_t ra = hs_peers_zone("rack-a", 6), rb = hs_peers_zone("rack-b", 6);
	struct hs_peer out[16];
	uint64_t rng = test_seed;
	unsigned i, draw, far_total = 0;

	(void)state;
	assert_int_not_equal(ra, rb);
	assert_int_equal(hs_peers_zone(NULL, 0), 0);
	pm.self_zone = ra;
	for (i = 1; i <= 90; i++)	/* 30 in our rack, 60 in the other */
		s.ops->learn(s.ctx, &(struct hs_peer){ .id = i,
			.addr = { .family = 4, .port = (uint16_t)i },
			.zone = i <= 30 ? ra : rb });
	assert_int_equal(pm.n_near, 30);
	for (draw = 0; draw < 2000; draw++) {
		unsigned far = 0;

		assert_int_equal(s.ops->sample(s.ctx, 5, &rng, out, 3), 3);
		for (i = 0; i < 3; i++) {
			assert_true(out[i].id != 5);
			far += out[i].zone != ra;
		}
		assert_int_equal(far, 1);	/* a third far, the rest near */
		far_total += far;
	}
	assert_int_equal(far_total, 2000);
	/* learning a rack again moves the peer: 31 near now */
	s.ops->learn(s.ctx, &(struct hs_peer){ .id = 31,
		.addr = { .family = 4, .port = 31 }, .zone = ra });
	assert_int_equal(pm.n_near, 31);
	/* nobody near but us: uniform over the far ones */
	hs_peers_members_free(&pm);
	pm.self_zone = ra;
	for (i = 1; i <= 10; i++)
		s.ops->learn(s.ctx, &(struct hs_peer){ .id = i,
			.addr = { .family = 4, .port = (uint16_t)i },
			.zone = rb });
	assert_int_equal(s.ops->sample(s.ctx, 99, &rng, out, 3), 3);
	hs_peers_members_free(&pm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_racks),
	};

	test_seed = hs_test_seed("test_peers");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
