/*
 * Unit tests for daemon/sse, the event-stream parser of the API's clients:
 * one stream of every kind of line (LF, CR and CRLF ends, comments, event
 * names, joined data lines, ignored fields, a space kept after the first)
 * gives the expected events, fed whole, byte by byte and cut at random
 * places; an event without data is not dispatched; lines and data over the
 * bound are refused with -EMSGSIZE; a callback's error stops the parse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/sse.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

#define MAX_EV 16

struct got {
	unsigned n;
	char event[MAX_EV][64];
	char data[MAX_EV][256];
	size_t data_len[MAX_EV];
	int stop_at;		/* return -EPIPE on this event (0: never) */
};

static int
on_event(const char *event, size_t event_len, char *data, size_t data_len,
	 void *arg)
{
	struct got *g = arg;

	assert_true(g->n < MAX_EV);
	assert_int_equal(strlen(event), event_len);
	assert_int_equal(data[data_len], '\0');
	assert_true(event_len < sizeof(g->event[0]));
	assert_true(data_len < sizeof(g->data[0]));
	memcpy(g->event[g->n], event, event_len + 1);
	memcpy(g->data[g->n], data, data_len + 1);
	g->data_len[g->n] = data_len;
	g->n++;
	return g->stop_at != 0 && (int)g->n == g->stop_at ? -EPIPE : 0;
}

/* Every rule at least once. */
static const char stream[] =
	": keepalive\n\n"				/* comment only */
	"event: change\ndata: {\"a\":1}\n\n"		/* LF */
	"event: dead\r\ndata: x\r\ndata: y\r\n\r\n"	/* CRLF, joined */
	"event:left\rdata:no-space\r\r"			/* CR, no space */
	"data:  two spaces\nid: 7\nretry: 10\nbogus\n\n" /* ignored fields */
	"event: orphan\n\n"				/* no data: nothing */
	"data\n\n"					/* empty data */
	"data: last\n\n";

static void
check(const struct got *g)
{
	assert_int_equal(g->n, 6);
	assert_string_equal(g->event[0], "change");
	assert_string_equal(g->data[0], "{\"a\":1}");
	assert_string_equal(g->event[1], "dead");
	assert_string_equal(g->data[1], "x\ny");
	assert_string_equal(g->event[2], "left");
	assert_string_equal(g->data[2], "no-space");
	/* no event field: "", a message; only the first space goes */
	assert_string_equal(g->event[3], "");
	assert_string_equal(g->data[3], " two spaces");
	/* "orphan" had no data: not dispatched, and its name did not stick */
	assert_string_equal(g->event[4], "");
	assert_int_equal(g->data_len[4], 0);
	assert_string_equal(g->data[5], "last");
}

static void
test_whole(void **state)
{
	struct got g = { 0 };
	struct hs_sse s;

	(void)state;
	hs_sse_init(&s, 1024, on_event, &g);
	assert_int_equal(hs_sse_feed(&s, stream, sizeof(stream) - 1), 0);
	check(&g);
	hs_sse_free(&s);
}

static void
test_byte_by_byte(void **state)
{
	struct got g = { 0 };
	struct hs_sse s;
	size_t i;

	(void)state;
	hs_sse_init(&s, 1024, on_event, &g);
	for (i = 0; i < sizeof(stream) - 1; i++)
		assert_int_equal(hs_sse_feed(&s, stream + i, 1), 0);
	check(&g);
	hs_sse_free(&s);
}

/* Random cuts: a CRLF split between two calls must not make an empty
 * line of its LF. */
static void
test_random_cuts(void **state)
{
	uint64_t r = test_seed;
	unsigned round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		struct got g = { 0 };
		struct hs_sse s;
		size_t i = 0;

		hs_sse_init(&s, 1024, on_event, &g);
		while (i < sizeof(stream) - 1) {
			size_t n = 1 + rnd(&r) % 9;

			if (n > sizeof(stream) - 1 - i)
				n = sizeof(stream) - 1 - i;
			assert_int_equal(hs_sse_feed(&s, stream + i, n), 0);
			i += n;
		}
		check(&g);
		hs_sse_free(&s);
	}
}

static void
test_limits(void **state)
{
	static const char ok[] = "data: 0123456789\n\n";
	struct got g = { 0 };
	struct hs_sse s;
	char line[64];

	(void)state;
	/* a line of exactly max_bytes: taken ("data: " + 10 = 16) */
	hs_sse_init(&s, 16, on_event, &g);
	assert_int_equal(hs_sse_feed(&s, ok, sizeof(ok) - 1), 0);
	assert_int_equal(g.n, 1);
	hs_sse_free(&s);
	/* one more byte, even in pieces: refused */
	hs_sse_init(&s, 15, on_event, &g);
	assert_int_equal(hs_sse_feed(&s, "data: 01234", 11), 0);
	assert_int_equal(hs_sse_feed(&s, "56789\n", 6), -EMSGSIZE);
	hs_sse_free(&s);
	/* data lines that each fit but together do not: refused */
	hs_sse_init(&s, 24, on_event, &g);
	snprintf(line, sizeof(line), "data: 0123456789\n");
	assert_int_equal(hs_sse_feed(&s, line, strlen(line)), 0);
	assert_int_equal(hs_sse_feed(&s, line, strlen(line)), 0);
	assert_int_equal(hs_sse_feed(&s, line, strlen(line)), -EMSGSIZE);
	assert_int_equal(g.n, 1);
	hs_sse_free(&s);
}

/* The callback's error comes back at once: the events after it in the
 * same buffer are not parsed. */
static void
test_callback_stops(void **state)
{
	struct got g = { .stop_at = 2 };
	struct hs_sse s;

	(void)state;
	hs_sse_init(&s, 1024, on_event, &g);
	assert_int_equal(hs_sse_feed(&s, stream, sizeof(stream) - 1),
			 -EPIPE);
	assert_int_equal(g.n, 2);
	hs_sse_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_random_cuts),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_callback_stops),
	};

	test_seed = hs_test_seed("test_sse");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
