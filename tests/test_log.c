/*
 * Unit tests for engine/log: one line per call on stderr, "LEVEL component:
 * message", lines above the set level dropped, long lines cut, not split.
 * stderr is redirected into a pipe for each test.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/log.h"

static int saved_stderr = -1;
static int pipe_rd = -1;

static int
capture_begin(void **state)
{
	int p[2];

	(void)state;
	if (pipe(p) != 0)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	pipe_rd = p[0];
	fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
	return 0;
}

static int
capture_end(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipe_rd);
	hs_log_set_level(HS_LOG_NOTICE);
	return 0;
}

static size_t
captured(char *buf, size_t cap)
{
	ssize_t n = read(pipe_rd, buf, cap - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void
test_format_and_level(void **state)
{
	char buf[4096];

	(void)state;
	assert_int_equal(hs_log_get_level(), HS_LOG_NOTICE);
	HS_LOG(NOTICE, "engine.table", "peer %d suspected", 7);
	HS_LOG(INFO, "engine.table", "not shown at NOTICE");
	HS_LOG(ERR, "driver.dpdk", "port %s down", "0");
	captured(buf, sizeof(buf));
	assert_string_equal(buf, "NOTICE engine.table: peer 7 suspected\n"
				 "ERR driver.dpdk: port 0 down\n");
	hs_log_set_level(HS_LOG_DEBUG);
	HS_LOG(DEBUG, "engine.wire", "x");
	captured(buf, sizeof(buf));
	assert_string_equal(buf, "DEBUG engine.wire: x\n");
	hs_log_set_level(HS_LOG_ERR);
	HS_LOG(WARNING, "engine.wire", "dropped");
	assert_int_equal(captured(buf, sizeof(buf)), 0);
}

static void
test_long_line_is_cut_not_split(void **state)
{
	char big[3000], buf[4096];
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	HS_LOG(NOTICE, "engine.table", "%s", big);
	n = captured(buf, sizeof(buf));
	assert_true(n > 100 && n <= 1024);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));	/* one line */
	assert_memory_equal(buf, "NOTICE engine.table: aaa", 24);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format_and_level,
						capture_begin, capture_end),
		cmocka_unit_test_setup_teardown(test_long_line_is_cut_not_split,
						capture_begin, capture_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
