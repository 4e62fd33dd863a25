/*
 * Unit tests for engine/notify: capacity and argument limits; mixed notices
 * come out in order, byte for byte; thousands of laps of a small ring with
 * random sizes, where every push succeeds or fails exactly as the documented
 * space rule predicts; a full ring drops and counts, corrupts nothing and
 * takes pushes again once polled; oversize notices are refused; poll honours
 * max; and a producer and a consumer thread race through two million
 * notices.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/notify.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

/* Contents derived from (seq, salt) so that the consumer can recompute what
 * the producer wrote; a word at a time, to keep two million notices cheap
 * under ASan. */
static void
fill(uint64_t *buf, size_t len, uint64_t seq, uint64_t salt)
{
	size_t w;

	for (w = 0; w < (len + 7) / 8; w++)
		buf[w] = (seq * 0x9e3779b97f4a7c15ull) ^
			 (w * 0xbf58476d1ce4e5b9ull + salt);
}

/* Notice number seq of a seeded stream: every field and both sizes follow
 * from (seed, seq).  One in oversize_one_in (0: never) asks for value_len
 * oversize_len instead. */
struct gen {
	uint64_t seed;
	unsigned max_key;
	unsigned min_value;
	unsigned max_value;
	unsigned oversize_one_in;
	uint32_t oversize_len;
	uint64_t key[256 / 8];
	uint64_t *value;	/* max(max_value, oversize_len) bytes */
};

static void
gen_notice(struct gen *g, uint64_t seq, struct hs_notice *n)
{
	uint64_t s = g->seed ^ (seq * 0xd1b54a32d192ed03ull);
	uint64_t r1 = rnd(&s), r2 = rnd(&s);

	n->type = (uint8_t)(1 + seq % HS_NOTICE_MAX);
	n->node = seq;
	n->generation = r1;
	n->version = ~seq;
	n->at_ns = r2 ^ seq;
	n->tombstone = (r1 >> 63) != 0;
	n->key_len = (uint8_t)(r1 % (g->max_key + 1));
	n->value_len = g->min_value +
		       (uint32_t)(r2 % (g->max_value - g->min_value + 1));
	if (g->oversize_one_in != 0 && (r2 >> 32) % g->oversize_one_in == 0)
		n->value_len = g->oversize_len;
	fill(g->key, n->key_len, seq, 1);
	fill(g->value, n->value_len, seq, 2);
	n->key = (const uint8_t *)g->key;
	n->value = (const uint8_t *)g->value;
}

/* Compares a delivered view with what gen produced for the same seq. */
static void
check_notice(struct gen *g, const struct hs_notice *got, uint64_t seq)
{
	struct hs_notice want;

	gen_notice(g, seq, &want);
	assert_int_equal(got->type, want.type);
	assert_int_equal(got->node, want.node);
	assert_int_equal(got->generation, want.generation);
	assert_int_equal(got->version, want.version);
	assert_int_equal(got->at_ns, want.at_ns);
	assert_int_equal(got->tombstone, want.tombstone);
	assert_int_equal(got->key_len, want.key_len);
	assert_int_equal(got->value_len, want.value_len);
	assert_non_null(got->key);
	assert_non_null(got->value);
	if (memcmp(got->key, want.key, want.key_len) != 0)
		assert_memory_equal(got->key, want.key, want.key_len);
	if (memcmp(got->value, want.value, want.value_len) != 0)
		assert_memory_equal(got->value, want.value, want.value_len);
}

static void
stats_equal(struct hs_notify *q, uint64_t pushed, uint64_t delivered,
	    uint64_t full, uint64_t size)
{
	struct hs_notify_stats st;

	hs_notify_stats(q, &st);
	assert_int_equal(st.pushed, pushed);
	assert_int_equal(st.delivered, delivered);
	assert_int_equal(st.dropped_full, full);
	assert_int_equal(st.dropped_size, size);
}

/* Delivery in order: each notice must be the next number of the stream. */
struct seq_rx {
	struct gen *g;
	uint64_t next;
};

static void
seq_cb(const struct hs_notice *n, void *arg)
{
	struct seq_rx *rx = arg;

	check_notice(rx->g, n, rx->next);
	rx->next++;
}

static void
never_cb(const struct hs_notice *n, void *arg)
{
	(void)n;
	(void)arg;
	fail_msg("callback on an empty queue");
}

static void
test_create_limits(void **state)
{
	static const size_t bad[] = {
		0, 8, HS_NOTIFY_MIN_BYTES / 2, HS_NOTIFY_MIN_BYTES - 1,
		HS_NOTIFY_MIN_BYTES + 1, 6000, 3u << 20,
		(size_t)HS_NOTIFY_MAX_BYTES * 2,
	};
	struct hs_notify *q;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hs_notify_create(bad[i], &q), -EINVAL);
	assert_int_equal(hs_notify_create(64 * 1024, NULL), -EINVAL);
	assert_int_equal(hs_notify_create(HS_NOTIFY_MIN_BYTES, &q), 0);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 0), 0);
	stats_equal(q, 0, 0, 0, 0);
	hs_notify_destroy(q);
	assert_int_equal(hs_notify_create(16u << 20, &q), 0);
	hs_notify_destroy(q);
	hs_notify_destroy(NULL);
}

/* Bad notices are refused before anything is counted or queued. */
static void
test_invalid_notice(void **state)
{
	static const uint8_t k[3] = { 1, 2, 3 };
	struct hs_notice n = { .type = HS_NOTICE_JOIN, .node = 1 };
	struct hs_notify *q;

	(void)state;
	assert_int_equal(hs_notify_create(HS_NOTIFY_MIN_BYTES, &q), 0);
	n.type = 0;
	assert_int_equal(hs_notify_push(q, &n), -EINVAL);
	n.type = HS_NOTICE_MAX + 1;
	assert_int_equal(hs_notify_push(q, &n), -EINVAL);
	n.type = HS_NOTICE_CHANGE;
	n.key_len = 3;
	assert_int_equal(hs_notify_push(q, &n), -EINVAL);
	n.key = k;
	n.value_len = 1;
	assert_int_equal(hs_notify_push(q, &n), -EINVAL);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 0), 0);
	stats_equal(q, 0, 0, 0, 0);
	hs_notify_destroy(q);
}

/* Deep copies of what the callback saw. */
#define FIFO_N 12

struct fifo_rx {
	unsigned n;
	struct hs_notice got[FIFO_N];
	uint8_t key[FIFO_N][256];
	uint8_t value[FIFO_N][1024];
};

static void
fifo_cb(const struct hs_notice *n, void *arg)
{
	struct fifo_rx *rx = arg;

	assert_true(rx->n < FIFO_N);
	assert_non_null(n->key);
	assert_non_null(n->value);
	assert_true(n->value_len <= sizeof(rx->value[0]));
	rx->got[rx->n] = *n;
	memcpy(rx->key[rx->n], n->key, n->key_len);
	memcpy(rx->value[rx->n], n->value, n->value_len);
	rx->n++;
}

static void
test_fifo_mixed(void **state)
{
	static uint8_t long_key[255], payload[1000], mid[600];
	static struct fifo_rx rx;
	const struct hs_notice in[FIFO_N] = {
		{ .type = HS_NOTICE_JOIN, .node = 7, .generation = 3,
		  .version = 1, .at_ns = 1000000001 },
		{ .type = HS_NOTICE_ALIVE, .node = UINT64_MAX,
		  .generation = UINT64_MAX, .version = UINT64_MAX,
		  .at_ns = UINT64_MAX },
		{ .type = HS_NOTICE_SUSPECT, .node = 9, .generation = 1,
		  .version = 4 },
		{ .type = HS_NOTICE_CHANGE, .node = 7, .generation = 3,
		  .version = 100, .key_len = 5,
		  .key = (const uint8_t *)"color", .value_len = 4,
		  .value = (const uint8_t *)"blue", .at_ns = 42 },
		{ .type = HS_NOTICE_CHANGE, .node = 7, .generation = 3,
		  .version = 101, .tombstone = true, .key_len = 5,
		  .key = (const uint8_t *)"color" },
		{ .type = HS_NOTICE_CHANGE, .node = 8, .generation = 2,
		  .version = 5, .value_len = 3,
		  .value = (const uint8_t *)"xyz" },	/* empty key */
		{ .type = HS_NOTICE_CHANGE, .node = 8, .generation = 2,
		  .version = 6, .key_len = 255, .key = long_key,
		  .value_len = sizeof(mid), .value = mid },
		{ .type = HS_NOTICE_EVENT, .node = 9, .generation = 1,
		  .version = 42, .value_len = sizeof(payload),
		  .value = payload },
		{ .type = HS_NOTICE_EVENT, .node = 9, .generation = 1,
		  .version = 43 },			/* empty payload */
		{ .type = HS_NOTICE_DEAD, .node = 9, .generation = 1,
		  .version = 5 },
		{ .type = HS_NOTICE_LEAVE, .node = 7, .generation = 3,
		  .version = 2 },
		{ .type = HS_NOTICE_JOIN, .node = 7, .generation = 4,
		  .version = 0 },
	};
	struct hs_notify *q;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(long_key); i++)
		long_key[i] = (uint8_t)(i * 3 + 1);
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 5);
	for (i = 0; i < sizeof(mid); i++)
		mid[i] = (uint8_t)(255 - i);
	assert_int_equal(hs_notify_create(64 * 1024, &q), 0);
	for (i = 0; i < FIFO_N; i++)
		assert_int_equal(hs_notify_push(q, &in[i]), 0);
	stats_equal(q, FIFO_N, 0, 0, 0);
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(hs_notify_poll(q, fifo_cb, &rx, 0), FIFO_N);
	assert_int_equal(rx.n, FIFO_N);
	for (i = 0; i < FIFO_N; i++) {
		const struct hs_notice *g = &rx.got[i];

		assert_int_equal(g->type, in[i].type);
		assert_int_equal(g->node, in[i].node);
		assert_int_equal(g->generation, in[i].generation);
		assert_int_equal(g->version, in[i].version);
		assert_int_equal(g->at_ns, in[i].at_ns);
		assert_int_equal(g->tombstone, in[i].tombstone);
		assert_int_equal(g->key_len, in[i].key_len);
		assert_int_equal(g->value_len, in[i].value_len);
		if (in[i].key_len != 0)
			assert_memory_equal(rx.key[i], in[i].key,
					    in[i].key_len);
		if (in[i].value_len != 0)
			assert_memory_equal(rx.value[i], in[i].value,
					    in[i].value_len);
	}
	stats_equal(q, FIFO_N, FIFO_N, 0, 0);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 0), 0);
	hs_notify_destroy(q);
}

/*
 * Many laps of a 4 KiB ring with random sizes up to a quarter of it, random
 * bursts and random poll limits.  The test keeps its own model of the ring
 * from the documented rule (hs_notify_notice_bytes, plus the bytes skipped
 * when a notice would straddle the end), so every push must succeed or fail
 * exactly as predicted, every poll must return exactly what is queued up to
 * max, and a notice refused for space is retried until it goes in: the
 * delivered stream is then every number, in order, every byte checked.
 */
#define WRAP_N 60000

struct wrap_rx {
	struct seq_rx seq;
	const uint32_t *cost;	/* ring bytes of each seq, skip included */
	uint64_t tail;		/* model */
};

static void
wrap_cb(const struct hs_notice *n, void *arg)
{
	struct wrap_rx *rx = arg;

	rx->tail += rx->cost[rx->seq.next];
	seq_cb(n, &rx->seq);
}

static void
test_wrap_random(void **state)
{
	static uint32_t cost[WRAP_N];
	static uint64_t value[1024 / 8];
	const uint64_t cap = HS_NOTIFY_MIN_BYTES;
	struct gen g = { .max_key = 255, .max_value = 700, .value = value };
	struct wrap_rx rx = { .seq = { &g, 0 }, .cost = cost };
	uint64_t s, head = 0, next = 0, straddles = 0, full = 0;
	struct hs_notify *q;

	(void)state;
	g.seed = s = test_seed ^ 0x77a9;
	/* the largest notice gen makes must be legal here */
	assert_true(hs_notify_notice_bytes(255, 700) <= cap / 4);
	assert_int_equal(hs_notify_create(cap, &q), 0);
	while (next < WRAP_N || rx.seq.next < WRAP_N) {
		unsigned burst = 1 + (unsigned)(rnd(&s) % 12), max, want;

		for (; burst > 0 && next < WRAP_N; burst--) {
			struct hs_notice n;
			uint64_t need, pos, total;

			gen_notice(&g, next, &n);
			need = hs_notify_notice_bytes(n.key_len, n.value_len);
			pos = head % cap;
			total = pos + need <= cap ? need : cap - pos + need;
			if (head + total - rx.tail > cap) {
				assert_int_equal(hs_notify_push(q, &n),
						 -ENOSPC);
				full++;
				break;
			}
			assert_int_equal(hs_notify_push(q, &n), 0);
			straddles += total != need;
			cost[next++] = (uint32_t)total;
			head += total;
		}
		max = (unsigned)(rnd(&s) % 9);
		want = (unsigned)(next - rx.seq.next);
		if (max != 0 && max < want)
			want = max;
		assert_int_equal(hs_notify_poll(q, wrap_cb, &rx, max), want);
	}
	assert_int_equal(rx.tail, head);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 0), 0);
	stats_equal(q, WRAP_N, WRAP_N, full, 0);
	/* ~8 notices a lap: thousands of laps, nearly each ending in a
	 * straddle; and bursts of up to 12 against polls of up to 8 fill the
	 * ring often */
	assert_true(head > 1000 * cap);
	assert_true(straddles > 1000);
	assert_true(full > 100);
	hs_notify_destroy(q);
}

/* A full ring, once with records that tile it exactly and once with records
 * that leave a gap before the end: the refused push is counted, what was
 * queued comes out intact, and space freed by a poll is usable at once. */
static void
full_case(uint32_t value_len, unsigned fit)
{
	static uint64_t value[1024 / 8], rx_value[1024 / 8];
	struct gen g = { .seed = test_seed, .min_value = value_len,
			 .max_value = value_len, .value = value };
	/* the checker's own buffers: n is pushed again after polls */
	struct gen rx_g = { .seed = test_seed, .min_value = value_len,
			    .max_value = value_len, .value = rx_value };
	struct seq_rx rx = { &rx_g, 0 };
	struct hs_notify *q;
	struct hs_notice n;
	uint64_t seq;

	assert_int_equal(hs_notify_create(HS_NOTIFY_MIN_BYTES, &q), 0);
	for (seq = 0; seq < fit; seq++) {
		gen_notice(&g, seq, &n);
		assert_int_equal(hs_notify_push(q, &n), 0);
	}
	gen_notice(&g, seq, &n);
	assert_int_equal(hs_notify_push(q, &n), -ENOSPC);
	assert_int_equal(hs_notify_push(q, &n), -ENOSPC);
	stats_equal(q, fit, 0, 2, 0);
	/* one record out frees exactly the room for one more (with the gap
	 * before the end, when there is one) */
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 1), 1);
	assert_int_equal(hs_notify_push(q, &n), 0);
	gen_notice(&g, ++seq, &n);
	assert_int_equal(hs_notify_push(q, &n), -ENOSPC);
	stats_equal(q, fit + 1, 1, 3, 0);
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 0), fit);
	assert_int_equal(rx.next, fit + 1);
	/* empty again: the refused notice goes in and comes out */
	assert_int_equal(hs_notify_push(q, &n), 0);
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 0), 1);
	assert_int_equal(rx.next, fit + 2);
	stats_equal(q, fit + 2, fit + 2, 3, 0);
	hs_notify_destroy(q);
}

static void
test_full(void **state)
{
	(void)state;
	/* 40 + 216 = 256 bytes: 16 tile the 4 KiB ring */
	assert_int_equal(hs_notify_notice_bytes(0, 216), 256);
	full_case(216, 16);
	/* 40 + 160 = 200 bytes: 20 fit, the 21st would start 96 bytes
	 * before the end and needs those plus 200 */
	assert_int_equal(hs_notify_notice_bytes(0, 160), 200);
	full_case(160, 20);
}

static void
test_oversize(void **state)
{
	static uint8_t key[255], value[2048];
	static struct fifo_rx rx;
	struct hs_notice n = { .type = HS_NOTICE_CHANGE, .node = 5,
			       .key_len = 255, .key = key, .value = value };
	struct hs_notify *q, *big;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(value); i++)
		value[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(hs_notify_create(HS_NOTIFY_MIN_BYTES, &q), 0);
	assert_int_equal(hs_notify_create(4 * HS_NOTIFY_MIN_BYTES, &big), 0);
	/* 40 + 255 + 729 = 1024, a quarter of the ring: accepted */
	n.value_len = 729;
	assert_int_equal(hs_notify_notice_bytes(255, 729), 1024);
	assert_int_equal(hs_notify_push(q, &n), 0);
	/* one byte more rounds up to 1032: refused here, fine in a ring
	 * four times larger */
	n.value_len = 730;
	assert_int_equal(hs_notify_push(q, &n), -EMSGSIZE);
	assert_int_equal(hs_notify_push(big, &n), 0);
	/* a length whose size would overflow 32 bits is refused, not
	 * wrapped round to something small (and the value never read) */
	n.value_len = UINT32_MAX;
	assert_int_equal(hs_notify_push(q, &n), -EMSGSIZE);
	assert_int_equal(hs_notify_push(big, &n), -EMSGSIZE);
	stats_equal(q, 1, 0, 0, 2);
	stats_equal(big, 1, 0, 0, 1);
	/* the refusals left nothing behind: only the accepted one, intact */
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(hs_notify_poll(q, fifo_cb, &rx, 0), 1);
	assert_int_equal(rx.got[0].value_len, 729);
	assert_memory_equal(rx.value[0], value, 729);
	assert_memory_equal(rx.key[0], key, 255);
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(hs_notify_poll(big, fifo_cb, &rx, 0), 1);
	assert_int_equal(rx.got[0].value_len, 730);
	assert_memory_equal(rx.value[0], value, 730);
	hs_notify_destroy(big);
	hs_notify_destroy(q);
}

static void
test_poll_max(void **state)
{
	static uint64_t value[64 / 8];
	struct gen g = { .seed = test_seed ^ 3, .max_key = 16,
			 .max_value = 64, .value = value };
	struct seq_rx rx = { &g, 0 };
	struct hs_notify *q;
	struct hs_notice n;
	uint64_t seq;

	(void)state;
	assert_int_equal(hs_notify_create(HS_NOTIFY_MIN_BYTES, &q), 0);
	for (seq = 0; seq < 10; seq++) {
		gen_notice(&g, seq, &n);
		assert_int_equal(hs_notify_push(q, &n), 0);
	}
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 3), 3);
	assert_int_equal(rx.next, 3);
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 1), 1);
	assert_int_equal(rx.next, 4);
	/* max above what is queued: only what is queued */
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 100), 6);
	assert_int_equal(rx.next, 10);
	for (; seq < 15; seq++) {
		gen_notice(&g, seq, &n);
		assert_int_equal(hs_notify_push(q, &n), 0);
	}
	assert_int_equal(hs_notify_poll(q, seq_cb, &rx, 0), 5);
	assert_int_equal(rx.next, 15);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 0), 0);
	assert_int_equal(hs_notify_poll(q, never_cb, NULL, 7), 0);
	stats_equal(q, 15, 15, 0, 0);
	hs_notify_destroy(q);
}

/*
 * A producer thread pushes STRESS_N numbered notices of random sizes (one in
 * 4096 too large) into a 64 KiB ring and never waits; the consumer (this
 * thread, so that cmocka's asserts work) checks every delivered notice
 * against its number and that the numbers only grow.  Nothing accepted may
 * be lost: delivered equals accepted, and accepted plus both kinds of drop
 * equals the attempts.
 */
#define STRESS_N 2000000u
#define STRESS_RING (64u * 1024u)

struct stress_tx {
	struct hs_notify *q;
	struct gen g;
	uint64_t ok, full, size, other;
	bool done;		/* atomic */
};

static void *
stress_producer(void *arg)
{
	struct stress_tx *tx = arg;
	struct hs_notice n;
	uint64_t seq;

	for (seq = 0; seq < STRESS_N; seq++) {
		int rc;

		gen_notice(&tx->g, seq, &n);
		rc = hs_notify_push(tx->q, &n);
		if (rc == 0) {
			tx->ok++;
		} else if (rc == -ENOSPC) {
			/* A worker would go on with its burst here; yielding
			 * stands in for that work, and lets a consumer that
			 * shares this core run, so that most notices cross
			 * the ring rather than most being dropped. */
			tx->full++;
			sched_yield();
		} else if (rc == -EMSGSIZE) {
			tx->size++;
		} else {
			tx->other++;
		}
	}
	__atomic_store_n(&tx->done, true, __ATOMIC_RELEASE);
	return NULL;
}

struct stress_rx {
	struct gen g;
	uint64_t n;
	uint64_t next_min;	/* the next number must be at least this */
};

static void
stress_cb(const struct hs_notice *n, void *arg)
{
	struct stress_rx *rx = arg;

	if (n->node < rx->next_min)
		fail_msg("notice %llu after %llu", (unsigned long long)n->node,
			 (unsigned long long)rx->next_min - 1);
	check_notice(&rx->g, n, n->node);
	rx->next_min = n->node + 1;
	rx->n++;
}

static void
test_stress_two_threads(void **state)
{
	static uint64_t tx_value[16 * 1024 / 8], rx_value[16 * 1024 / 8];
	static struct stress_tx tx;
	static struct stress_rx rx;
	struct gen g = { .seed = test_seed ^ 0x5151, .max_key = 16,
			 .max_value = 96, .oversize_one_in = 4096,
			 .oversize_len = STRESS_RING / 4 };
	struct hs_notify *q;
	pthread_t tid;
	bool done;

	(void)state;
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(hs_notify_create(STRESS_RING, &q), 0);
	tx.q = q;
	tx.g = g;
	tx.g.value = tx_value;
	rx.g = g;
	rx.g.value = rx_value;
	assert_int_equal(pthread_create(&tid, NULL, stress_producer, &tx), 0);
	/* done is read before the poll: a poll that starts after the last
	 * push was published and finds nothing means the queue is drained.
	 * An empty poll yields, so that on a loaded machine a spinning
	 * consumer does not hold the core its producer waits for. */
	for (;;) {
		done = __atomic_load_n(&tx.done, __ATOMIC_ACQUIRE);
		if (hs_notify_poll(q, stress_cb, &rx, 64) != 0)
			continue;
		if (done)
			break;
		sched_yield();
	}
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(tx.other, 0);
	assert_int_equal(tx.ok + tx.full + tx.size, STRESS_N);
	assert_int_equal(rx.n, tx.ok);
	assert_true(rx.n > 0);
	/* 1 in 4096 of 2 M: about 490; zero would mean the path is dead */
	assert_true(tx.size > 0);
	stats_equal(q, tx.ok, rx.n, tx.full, tx.size);
	printf("stress: %llu delivered, %llu dropped full, %llu too large\n",
	       (unsigned long long)rx.n, (unsigned long long)tx.full,
	       (unsigned long long)tx.size);
	hs_notify_destroy(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_invalid_notice),
		cmocka_unit_test(test_fifo_mixed),
		cmocka_unit_test(test_wrap_random),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_poll_max),
		cmocka_unit_test(test_stress_two_threads),
	};

	test_seed = hs_test_seed("test_notify");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
