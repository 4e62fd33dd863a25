/*
 * Unit tests for engine/fd: phi stays low while heartbeats keep their
 * rhythm and grows with the silence; a member with jittery heartbeats is
 * suspected later than a regular one; the window forgets old intervals;
 * the acceptable pause is forgiven; nothing before the first heartbeat.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/fd.h"
#include "tests/hs_test.h"

#define MS 1000000ull

static uint64_t test_seed;

static void
test_regular(void **state)
{
	struct hs_fd_params p = { 0 };
	struct hs_fd fd;
	uint64_t t = 1000 * MS;
	double last = 0, phi;
	unsigned i;

	(void)state;
	hs_fd_params_default(&p);
	hs_fd_init(&fd);
	assert_true(hs_fd_phi(&fd, &p, t) == 0.0);	/* never heard of */
	for (i = 0; i < 100; i++, t += 10 * MS)
		hs_fd_heartbeat(&fd, &p, t);
	t -= 10 * MS;
	/* on time: no suspicion; then monotonic in the silence */
	assert_true(hs_fd_phi(&fd, &p, t + 10 * MS) < 1.0);
	for (i = 11; i <= 200; i++) {
		phi = hs_fd_phi(&fd, &p, t + i * MS);
		assert_true(phi >= last);
		last = phi;
	}
	/* 10 ms rhythm, 5 ms deviation floor: 40 ms of silence is 6 sigma */
	assert_true(hs_fd_phi(&fd, &p, t + 40 * MS) > 8.0);
	assert_true(hs_fd_phi(&fd, &p, t + 10000 * MS) == 1000.0);
	/* a heartbeat arriving clears it */
	hs_fd_heartbeat(&fd, &p, t + 40 * MS);
	assert_true(hs_fd_phi(&fd, &p, t + 41 * MS) < 1.0);
	/* an old or repeated arrival time changes nothing */
	hs_fd_heartbeat(&fd, &p, t);
	assert_true(hs_fd_phi(&fd, &p, t + 41 * MS) < 1.0);
}

/* The same silence is less suspicious for a member whose heartbeats were
 * irregular: phi follows the observed distribution. */
static void
test_jitter_tolerated(void **state)
{
	struct hs_fd_params p = { 0 };
	struct hs_fd regular, jittery;
	uint64_t t1 = MS, t2 = MS, s = test_seed;
	double mean, std;
	unsigned i;

	(void)state;
	hs_fd_params_default(&p);
	hs_fd_init(&regular);
	hs_fd_init(&jittery);
	for (i = 0; i < 64; i++) {
		hs_fd_heartbeat(&regular, &p, t1 += 10 * MS);
		/* 2..38 ms, mean 20: a deviation of ~10 ms, twice the floor */
		hs_fd_heartbeat(&jittery, &p, t2 += (2 + rnd(&s) % 37) * MS);
	}
	hs_fd_stats(&jittery, &p, &mean, &std);
	assert_true(std > 7.0 * MS);
	assert_true(hs_fd_phi(&jittery, &p, t2 + 35 * MS) <
		    hs_fd_phi(&regular, &p, t1 + 35 * MS));
}

/* After the member slows down, the window forgets the old rhythm. */
static void
test_window_forgets(void **state)
{
	struct hs_fd_params p = { .window = 16 };
	struct hs_fd fd;
	uint64_t t = MS;
	double mean, std;
	unsigned i;

	(void)state;
	hs_fd_params_default(&p);
	hs_fd_init(&fd);
	for (i = 0; i < 16; i++)
		hs_fd_heartbeat(&fd, &p, t += 10 * MS);
	assert_true(hs_fd_phi(&fd, &p, t + 60 * MS) > 8.0);
	for (i = 0; i < 16; i++)
		hs_fd_heartbeat(&fd, &p, t += 50 * MS);
	hs_fd_stats(&fd, &p, &mean, &std);
	assert_true(fabs(mean - 50.0 * MS) < 0.01 * MS);
	assert_true(hs_fd_phi(&fd, &p, t + 60 * MS) < 2.0);
}

static void
test_pause_and_first(void **state)
{
	struct hs_fd_params p = { .pause_ns = 100 * MS };
	struct hs_fd fd;
	uint64_t t = MS;
	unsigned i;

	(void)state;
	hs_fd_params_default(&p);
	hs_fd_init(&fd);
	/* one heartbeat and silence: suspected from the assumed interval */
	hs_fd_heartbeat(&fd, &p, t);
	assert_true(hs_fd_phi(&fd, &p, t + 100 * MS + 200 * MS) > 8.0);
	for (i = 0; i < 50; i++)
		hs_fd_heartbeat(&fd, &p, t += 10 * MS);
	/* 100 ms of pause forgiven, then the usual rhythm */
	assert_true(hs_fd_phi(&fd, &p, t + 100 * MS + 10 * MS) < 1.0);
	assert_true(hs_fd_phi(&fd, &p, t + 100 * MS + 50 * MS) > 8.0);
	/* very long gaps are capped, not overflowed */
	hs_fd_heartbeat(&fd, &p, t + 3600000 * MS);
	assert_true(hs_fd_phi(&fd, &p, t + 3600000 * MS + MS) < 1.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_jitter_tolerated),
		cmocka_unit_test(test_window_forgets),
		cmocka_unit_test(test_pause_and_first),
	};

	test_seed = hs_test_seed("test_fd");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
