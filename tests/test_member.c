/*
 * Membership, failure detection and the application's API, on clusters of
 * real nodes over drivers/mem in virtual time (suite "sim").  Every test
 * asserts the state of every node: what each one believes of each member,
 * which keys each holds, which notices each application received.
 * Deterministic from HS_TEST_SEED.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "engine/hearsay.h"
#include "tests/cluster.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

/* ---- what every node believes ---- */

/* Node `at`'s belief of member j: its status, or -1 when it does not
 * know j (never learnt, or forgotten). */
static int
status_at(struct cluster *cl, unsigned at, unsigned j)
{
	struct hs_member_info mi;

	if (hs_member(cl->node[at], 1000 + j, &mi) != 0)
		return -1;
	return mi.status;
}

/* Every live node other than `skip` holds j at status st (and, if
 * gen != 0, at that generation)? */
static bool
all_see(struct cluster *cl, unsigned j, int st, uint64_t gen, unsigned skip)
{
	unsigned i;

	for (i = 0; i < cl->n; i++) {
		struct hs_member_info mi;

		if (i == j || i == skip || cl->node[i] == NULL)
			continue;
		if (st < 0) {
			if (hs_member(cl->node[i], 1000 + j, &mi) == 0)
				return false;
			continue;
		}
		if (hs_member(cl->node[i], 1000 + j, &mi) != 0 ||
		    mi.status != st || (gen != 0 && mi.generation != gen))
			return false;
	}
	return true;
}

/* Every live node sees every other live node alive. */
static bool
all_alive(struct cluster *cl)
{
	unsigned j;

	for (j = 0; j < cl->n; j++)
		if (cl->node[j] != NULL &&
		    !all_see(cl, j, HS_WIRE_ST_ALIVE, 0, j))
			return false;
	return true;
}

/* Run until cond holds at a round boundary; returns rounds, fails after
 * max_rounds. */
#define RUN_UNTIL(cl, cond, max_rounds, what)				\
	({								\
		unsigned _r;						\
		for (_r = 0; _r < (max_rounds) && !(cond); _r++)	\
			cluster_rounds((cl), 1);			\
		if (!(cond))						\
			fail_msg("%s: not after %u rounds", (what),	\
				 (unsigned)(max_rounds));		\
		_r;							\
	})

static void
start(struct cluster *cl, unsigned n, double loss, uint64_t seed,
      const struct hs_node_params *over)
{
	unsigned r;

	cluster_start_params(cl, n, loss, seed, false, over);
	r = RUN_UNTIL(cl, all_alive(cl), 200, "membership");
	printf("# %u nodes, loss %.0f%%: every node sees every other alive "
	       "after %u rounds\n", n, loss * 100, r);
}

/* ---- notices ---- */

#define MAX_N	64
#define NT	(HS_NOTICE_MAX + 1)

struct tally {
	unsigned count[MAX_N][NT];	/* [member - 1000][type] */
	unsigned change;		/* CHANGE notices */
	unsigned change_tomb;
	unsigned other_change;		/* keys not in the subscribed prefix */
	unsigned events;
	uint64_t ev_next[MAX_N];	/* expected seq per origin */
	unsigned ev_bad;		/* out of order, twice, or wrong */
	uint64_t at_last;		/* the previous notice's at_ns */
	uint64_t drained_at;		/* vnow of the previous drain */
};

static void
tally_cb(const struct hs_notice *nt, void *arg)
{
	struct tally *t = arg;
	unsigned j = (unsigned)(nt->node - 1000);

	assert_true(nt->type >= 1 && nt->type <= HS_NOTICE_MAX);
	assert_true(j < MAX_N);
	/* stamped with the node's (virtual) clock when queued: since the
	 * previous drain, never ahead of the clock, never behind the
	 * notice queued before */
	assert_true(nt->at_ns >= t->drained_at);
	assert_true(nt->at_ns <= vnow);
	assert_true(nt->at_ns >= t->at_last);
	t->at_last = nt->at_ns;
	t->count[j][nt->type]++;
	if (nt->type == HS_NOTICE_CHANGE) {
		if (nt->key_len < 4 || memcmp(nt->key, "app.", 4) != 0)
			t->other_change++;
		t->change++;
		t->change_tomb += nt->tombstone;
	}
	if (nt->type == HS_NOTICE_EVENT) {
		char want[64];
		int len;

		t->events++;
		if (t->ev_next[j] == 0)
			t->ev_next[j] = 1;
		len = snprintf(want, sizeof(want), "ev-%u-%" PRIu64, j,
			       nt->version);
		if (nt->version != t->ev_next[j] ||
		    nt->value_len != (uint32_t)len ||
		    memcmp(nt->value, want, (size_t)len) != 0)
			t->ev_bad++;
		t->ev_next[j] = nt->version + 1;
	}
}

static void
drain(struct cluster *cl, struct tally *t)
{
	unsigned i;

	for (i = 0; i < cl->n; i++) {
		if (cl->node[i] != NULL)
			hs_notices(cl->node[i], tally_cb, &t[i], 0);
		t[i].drained_at = vnow;
	}
}

static void
rounds_drained(struct cluster *cl, struct tally *t, unsigned rounds)
{
	while (rounds-- > 0) {
		cluster_rounds(cl, 1);
		drain(cl, t);
	}
}

/* ---- tests ---- */

/* A crash is detected: every node marks it dead, nobody else is even
 * suspected, and the detection is timed. */
static void
test_crash_detected_dead(void **state)
{
	enum { N = 40, X = 17 };
	static struct tally t[N];
	struct cluster cl;
	unsigned i, j, r, first = 0;

	(void)state;
	memset(t, 0, sizeof(t));
	start(&cl, N, 0.0, test_seed, NULL);
	for (i = 0; i < N; i++)
		hs_subscribe(cl.node[i], HS_SUB_MEMBERS);
	cluster_crash(&cl, X);
	for (r = 0; r < 200 && !all_see(&cl, X, HS_WIRE_ST_DEAD, 1, X); r++) {
		rounds_drained(&cl, t, 1);
		for (i = 0; first == 0 && i < N; i++)
			if (i != X && status_at(&cl, i, X) == HS_WIRE_ST_DEAD)
				first = r + 1;
	}
	assert_true(all_see(&cl, X, HS_WIRE_ST_DEAD, 1, X));
	printf("# crash of 1 of %u: first node says dead after %u rounds, "
	       "all after %u\n", N, first, r);
	rounds_drained(&cl, t, 50);
	for (i = 0; i < N; i++) {
		if (i == X)
			continue;
		for (j = 0; j < N; j++) {
			if (j == i)
				continue;
			assert_int_equal(status_at(&cl, i, j),
					 j == X ? HS_WIRE_ST_DEAD :
						  HS_WIRE_ST_ALIVE);
			/* no false suspicion (X at most once: its death
			 * may arrive before its suspicion), X dead once */
			assert_true(t[i].count[j][HS_NOTICE_SUSPECT] <=
				    (j == X ? 1u : 0u));
			assert_int_equal(t[i].count[j][HS_NOTICE_DEAD],
					 j == X ? 1 : 0);
		}
	}
	cluster_stop(&cl);
}

static bool
holds_key(struct cluster *cl, unsigned at, unsigned owner, const char *key,
	  const char *val)
{
	struct hs_table_kv kv;

	if (hs_get(cl->node[at], 1000 + owner, key, strlen(key), &kv) != 0)
		return false;
	return val == NULL || (kv.value_len == strlen(val) &&
			       memcmp(kv.value, val, kv.value_len) == 0);
}

static bool
all_hold(struct cluster *cl, unsigned owner, const char *key,
	 const char *val, bool present)
{
	unsigned i;

	for (i = 0; i < cl->n; i++)
		if (cl->node[i] != NULL && i != owner &&
		    holds_key(cl, i, owner, key, val) != present)
			return false;
	return true;
}

/* A restart is a higher generation: the old state is gone everywhere and
 * the new one is everywhere, alive. */
static void
test_restart_supersedes(void **state)
{
	enum { N = 30, X = 7 };
	struct cluster cl;
	unsigned r;

	(void)state;
	start(&cl, N, 0.05, test_seed + 1, NULL);
	assert_true(hs_put(cl.node[X], "old", 3, "1", 1) > 0);
	RUN_UNTIL(&cl, all_hold(&cl, X, "old", "1", true), 100, "old key");
	cluster_crash(&cl, X);
	cluster_rounds(&cl, 3);		/* back before anyone convicts it */
	cluster_restart(&cl, X);
	assert_true(hs_put(cl.node[X], "new", 3, "2", 1) > 0);
	r = RUN_UNTIL(&cl, all_see(&cl, X, HS_WIRE_ST_ALIVE, 2, X) &&
			   all_hold(&cl, X, "new", "2", true) &&
			   all_hold(&cl, X, "old", NULL, false),
		      200, "restart");
	printf("# restart (generation 2) everywhere after %u rounds\n", r);
	cluster_rounds(&cl, 30);
	assert_true(all_see(&cl, X, HS_WIRE_ST_ALIVE, 2, X));
	assert_true(all_hold(&cl, X, "old", NULL, false));
	assert_true(all_alive(&cl));
	cluster_stop(&cl);
}

/* A graceful leave is seen as left everywhere, and never as dead. */
static void
test_leave_is_left(void **state)
{
	enum { N = 30, X = 3 };
	struct cluster cl;
	unsigned r;

	(void)state;
	start(&cl, N, 0.05, test_seed + 2, NULL);
	hs_node_leave(cl.node[X]);
	for (r = 0; r < 50 && !hs_node_left(cl.node[X]); r++)
		cluster_rounds(&cl, 1);
	assert_true(hs_node_left(cl.node[X]));
	cluster_crash(&cl, X);		/* the process exits */
	r = RUN_UNTIL(&cl, all_see(&cl, X, HS_WIRE_ST_LEFT, 1, X), 100,
		      "left");
	printf("# leave seen everywhere after %u rounds\n", r);
	cluster_rounds(&cl, 200);	/* long past any suspicion timeout */
	assert_true(all_see(&cl, X, HS_WIRE_ST_LEFT, 1, X));
	cluster_stop(&cl);
}

/* A frame from nowhere: node 99999 replays what it held of owner x
 * generation gen: x's record, alive, and x's key k = v written at
 * version (a group from 0, as to a peer that knows nothing of x). */
static void
replay_stale(struct cluster *cl, struct hs_pktio *io, unsigned x,
	     uint64_t gen, uint64_t version, const char *k, const char *v)
{
	uint8_t buf[1472];
	struct hs_wire_builder b;
	struct hs_wire_hdr h = { .type = HS_WIRE_PUSH, .cluster_id = 42,
				 .sender_id = 99999, .sender_gen = 1,
				 .seq = 1 };
	struct hs_wire_node r = { .node = 1000 + x, .generation = gen,
				  .status = HS_WIRE_ST_ALIVE, .family = 4,
				  .port = 7946 };
	struct hs_pkt pkt;
	unsigned i;
	int len;

	memcpy(r.addr, cl->addr[x].addr, 16);
	assert_int_equal(hs_wire_build_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS), 0);
	assert_int_equal(hs_wire_group_begin(&b, 1000 + x, gen, 0, 0, 0), 0);
	assert_int_equal(hs_wire_put_entry(&b, version, 0, k,
					   (uint8_t)strlen(k), v,
					   (uint16_t)strlen(v)), 0);
	assert_int_equal(hs_wire_group_end(&b, version), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	assert_int_equal(hs_wire_section_begin(&b, HS_WIRE_SEC_NODES), 0);
	assert_int_equal(hs_wire_put_node(&b, &r), 0);
	assert_int_equal(hs_wire_section_end(&b), 0);
	len = hs_wire_build_end(&b);
	assert_true(len > 0);
	pkt.data = buf;
	pkt.len = (uint16_t)len;
	for (i = 0; i < cl->n; i++) {
		if (cl->node[i] == NULL)
			continue;
		pkt.peer = cl->addr[i];
		assert_int_equal(hs_pktio_tx_burst(io, &pkt, 1), 1);
	}
}

/* Dead members are forgotten after forget_ns; stale gossip replayed
 * afterwards brings no ghost back; a restart is not shadowed by its old
 * self. */
static void
test_forget_no_ghost(void **state)
{
	enum { N = 24, X = 5 };
	struct hs_node_params over = { .forget_ns = 40 * INTERVAL_NS,
				       .gc_interval_ns = 5 * INTERVAL_NS };
	struct hs_addr raddr = hs_addr_v4(10, 9, 9, 9, 7946);
	struct hs_pktio *rio;
	struct cluster cl;
	unsigned i, r;
	int64_t v;

	(void)state;
	start(&cl, N, 0.0, test_seed + 3, &over);
	assert_int_equal(hs_memnet_open(cl.net, &raddr, &rio), 0);
	/* the key "k" = "x" everywhere */
	v = hs_put(cl.node[X], "k", 1, "x", 1);
	assert_true(v > 0);
	RUN_UNTIL(&cl, all_hold(&cl, X, "k", "x", true), 100, "key");
	cluster_crash(&cl, X);
	RUN_UNTIL(&cl, all_see(&cl, X, HS_WIRE_ST_DEAD, 1, X), 200, "dead");
	r = RUN_UNTIL(&cl, all_see(&cl, X, -1, 0, X), 200, "forgotten");
	printf("# forgotten everywhere %u rounds after all said dead\n", r);
	for (i = 0; i < N; i++) {
		struct hs_table_node tn;

		if (i == X)
			continue;
		assert_int_equal(hs_table_node_get(hs_node_table_ctx(
				 cl.node[i]), 1000 + X, &tn), -ENOENT);
		assert_false(holds_key(&cl, i, X, "k", NULL));
	}
	/* a node that slept through it all replays its old view, twice */
	replay_stale(&cl, rio, X, 1, (uint64_t)v, "k", "x");
	cluster_rounds(&cl, 20);
	replay_stale(&cl, rio, X, 1, (uint64_t)v, "k", "x");
	cluster_rounds(&cl, 50);
	assert_true(all_see(&cl, X, -1, 0, X));
	assert_true(all_hold(&cl, X, "k", NULL, false));
	/* the member itself comes back, restarted: welcome */
	cluster_restart(&cl, X);
	assert_true(hs_put(cl.node[X], "k", 1, "y", 1) > 0);
	r = RUN_UNTIL(&cl, all_see(&cl, X, HS_WIRE_ST_ALIVE, 2, X) &&
			   all_hold(&cl, X, "k", "y", true), 300, "restart");
	printf("# restart after forgetting accepted after %u rounds\n", r);
	hs_pktio_close(rio);
	cluster_stop(&cl);
}

/* A deleted key, its tombstone collected everywhere, then the old value
 * replayed: it stays deleted. */
static void
test_tombstone_gc_no_resurrection(void **state)
{
	enum { N = 20, X = 2 };
	struct hs_node_params over = { .gc_interval_ns = 5 * INTERVAL_NS };
	struct hs_addr raddr = hs_addr_v4(10, 9, 9, 9, 7946);
	struct hs_pktio *rio;
	struct cluster cl;
	unsigned i;
	int64_t v;

	(void)state;
	over.table.tombstone_ttl_ns = 30 * INTERVAL_NS;
	start(&cl, N, 0.0, test_seed + 4, &over);
	assert_int_equal(hs_memnet_open(cl.net, &raddr, &rio), 0);
	v = hs_put(cl.node[X], "k", 1, "x", 1);
	assert_true(v > 0);
	RUN_UNTIL(&cl, all_hold(&cl, X, "k", "x", true), 100, "key");
	assert_true(hs_del(cl.node[X], "k", 1) > 0);
	RUN_UNTIL(&cl, all_hold(&cl, X, "k", NULL, false), 100, "delete");
	/* past the TTL and a few GC passes: collected on every node */
	cluster_rounds(&cl, 60);
	for (i = 0; i < N; i++) {
		struct hs_table_stats ts;
		struct hs_table_kv kv;

		hs_table_stats(hs_node_table(cl.node[i]), &ts);
		assert_true(ts.tombstones_collected >= 1);
		assert_int_equal(hs_table_get(hs_node_table_ctx(cl.node[i]),
					      1000 + X, "k", 1, &kv), -ENOENT);
	}
	replay_stale(&cl, rio, X, 1, (uint64_t)v, "k", "x");
	cluster_rounds(&cl, 50);
	assert_true(all_hold(&cl, X, "k", NULL, false));
	assert_false(holds_key(&cl, X, X, "k", NULL));
	assert_true(all_alive(&cl));
	hs_pktio_close(rio);
	cluster_stop(&cl);
}

/* Events under 10 % loss: every node delivers every event of every
 * origin exactly once, in order. */
static void
test_events_fifo_under_loss(void **state)
{
	enum { N = 40, ORIGINS = 3, EVENTS = 40 };
	static struct tally t[N];
	struct cluster cl;
	unsigned i, o, e, r, done;

	(void)state;
	memset(t, 0, sizeof(t));
	start(&cl, N, 0.10, test_seed + 5, NULL);
	for (i = 0; i < N; i++)
		hs_subscribe(cl.node[i], HS_SUB(HS_NOTICE_EVENT));
	/* bursts of 4 per origin per round: more than a rumor carries at
	 * once, so some arrive out of order and some only by repair */
	for (e = 1; e <= EVENTS; e++) {
		for (o = 0; o < ORIGINS; o++) {
			char p[64];
			unsigned x = 10 * o + 1;

			snprintf(p, sizeof(p), "ev-%u-%u", x, e);
			assert_int_equal(hs_publish(cl.node[x], p, strlen(p)),
					 (int64_t)e);
		}
		if (e % 4 == 0)
			rounds_drained(&cl, t, 1);
	}
	for (r = 0; r < 300; r++) {
		rounds_drained(&cl, t, 1);
		for (i = 0, done = 0; i < N; i++)
			done += t[i].events == ORIGINS * EVENTS;
		if (done == N)
			break;
	}
	printf("# %u events from %u origins, 10%% loss: all delivered "
	       "everywhere %u rounds after the last\n", ORIGINS * EVENTS,
	       ORIGINS, r);
	/* delivered as the deltas arrive (1-3 rounds measured), not by the
	 * once-a-second backstop (100 rounds) */
	assert_true(r < 50);
	rounds_drained(&cl, t, 30);
	for (i = 0; i < N; i++) {
		assert_int_equal(t[i].ev_bad, 0);
		assert_int_equal(t[i].events, ORIGINS * EVENTS);
		for (o = 0; o < ORIGINS; o++)
			assert_int_equal(t[i].count[10 * o + 1][HS_NOTICE_EVENT],
					 EVENTS);
	}
	cluster_stop(&cl);
}

/* A node stalled for 50 rounds convicts nobody: it measures its stall. */
static void
test_stall_convicts_nobody(void **state)
{
	enum { N = 30, S = 9 };
	static struct tally t[N];
	struct hs_node_stats st;
	struct cluster cl;
	unsigned i;

	(void)state;
	memset(t, 0, sizeof(t));
	start(&cl, N, 0.0, test_seed + 6, NULL);
	for (i = 0; i < N; i++)
		hs_subscribe(cl.node[i], HS_SUB_MEMBERS);
	cl.frozen[S] = true;
	rounds_drained(&cl, t, 50);
	cl.frozen[S] = false;
	RUN_UNTIL(&cl, all_alive(&cl), 200, "all alive after the stall");
	rounds_drained(&cl, t, 100);
	hs_node_stats(cl.node[S], &st);
	assert_true(st.stalls >= 1);
	assert_true(st.stall_ns >= 49 * INTERVAL_NS);
	assert_int_equal(st.suspicions, 0);
	assert_int_equal(st.deaths, 0);
	/* nobody but S itself was suspected by anyone */
	for (i = 0; i < N; i++)
		for (unsigned j = 0; j < N; j++)
			if (j != S)
				assert_int_equal(
					t[i].count[j][HS_NOTICE_SUSPECT], 0);
	assert_true(all_alive(&cl));
	printf("# stalled 50 rounds: %" PRIu64 " ms measured, convicted "
	       "nobody; it refuted %" PRIu64 " times\n",
	       st.stall_ns / 1000000, st.refutes);
	cluster_stop(&cl);
}

/* A node cut off long enough to be declared dead comes back when the
 * partition heals: the dead are gossiped to now and then. */
static void
test_dead_comes_back(void **state)
{
	enum { N = 20, X = 11 };
	struct cluster cl;
	unsigned r;

	(void)state;
	start(&cl, N, 0.0, test_seed + 7, NULL);
	hs_memnet_set_group(cl.net, &cl.addr[X], 1);
	RUN_UNTIL(&cl, all_see(&cl, X, HS_WIRE_ST_DEAD, 1, X), 200, "dead");
	hs_memnet_set_group(cl.net, &cl.addr[X], 0);
	r = RUN_UNTIL(&cl, all_alive(&cl), 300, "back");
	printf("# partitioned node declared dead, back everywhere %u rounds "
	       "after the heal\n", r);
	cluster_stop(&cl);
}

/* Push-sum: every node's average within 1 % after O(log N) rounds; the
 * exact aggregate from the table is exact. */
static void
test_pushsum_average(void **state)
{
	enum { N = 64 };
	struct cluster cl;
	double vals[N], sum = 0, avg, worst = 0;
	uint64_t s = test_seed + 8;
	unsigned i, r, rounds;

	(void)state;
	start(&cl, N, 0.0, test_seed + 8, NULL);
	for (i = 0; i < N; i++) {
		char v[32];

		vals[i] = (double)(rnd(&s) % 100000) / 100.0;
		sum += vals[i];
		snprintf(v, sizeof(v), "%.2f", vals[i]);
		assert_true(hs_put(cl.node[i], "load", 4, v, strlen(v)) > 0);
	}
	avg = sum / N;
	RUN_UNTIL(&cl, ({
		bool ok = true;
		for (i = 0; i < N && ok; i++) {
			struct hs_agg_result ar;

			ok = hs_aggregate(cl.node[i], "load", 4, &ar) == 0 &&
			     ar.count == N && fabs(ar.sum - sum) < 1e-6;
		}
		ok; }), 100, "exact aggregate");
	assert_int_equal(hs_pushsum_begin(cl.node[0], "load", 4), 0);
	/* log2(64) = 6: the epoch reaches everyone in O(log N) rounds and
	 * the estimates contract by a constant factor per round */
	rounds = 6 * 6;
	for (r = 0; r < rounds; r++)
		cluster_rounds(&cl, 1);
	for (i = 0; i < N; i++) {
		struct hs_agg_result ar;
		double err;

		assert_int_equal(hs_pushsum_result(cl.node[i], "load", 4, &ar),
				 0);
		err = fabs(ar.avg - avg) / avg;
		if (err > worst)
			worst = err;
		assert_true(err < 0.01);
		assert_true(fabs(ar.count - N) / N < 0.01);
	}
	printf("# push-sum, %u nodes: worst average error %.4f%% after %u "
	       "rounds\n", N, worst * 100, rounds);
	cluster_stop(&cl);
}

/* Each subscription fires exactly when it should, on the application's
 * side of the queue. */
static void
test_subscriptions(void **state)
{
	enum { N = 8, A = 1, L = 2, C = 3, F = 4 };
	static struct tally t[N];
	struct cluster cl;
	struct hs_member_info mi[N + 1];
	unsigned i, k;

	(void)state;
	memset(t, 0, sizeof(t));
	cluster_start_params(&cl, N, 0.0, test_seed + 9, false, NULL);
	hs_subscribe(cl.node[0], HS_SUB_ALL);
	assert_int_equal(hs_subscribe_prefix(cl.node[0], "app.", 4), 0);
	RUN_UNTIL(&cl, all_alive(&cl), 100, "membership");
	drain(&cl, t);
	/* join: once per member, at node 0 */
	for (i = 1; i < N; i++)
		assert_int_equal(t[0].count[i][HS_NOTICE_JOIN], 1);
	/* peer sampling: the known nodes, and random live peers */
	assert_int_equal(hs_members(cl.node[0], mi, N + 1), N);
	assert_true(mi[0].self && mi[0].id == 1000);
	for (k = 0; k < 50; k++) {
		struct hs_member_info p;

		assert_int_equal(hs_random_peer(cl.node[0], &p), 0);
		assert_true(p.id > 1000 && p.id < 1000 + N);
	}
	/* change: app.* only, with deletes; events */
	assert_true(hs_put(cl.node[A], "app.a", 5, "1", 1) > 0);
	assert_true(hs_put(cl.node[A], "other", 5, "2", 1) > 0);
	assert_int_equal(hs_put(cl.node[A], "hs.x", 4, "3", 1), -EPERM);
	assert_int_equal(hs_publish(cl.node[A], "ev-1-1", 6), 1);
	rounds_drained(&cl, t, 20);
	assert_true(hs_del(cl.node[A], "app.a", 5) > 0);
	rounds_drained(&cl, t, 20);
	assert_int_equal(t[0].change, 2);
	assert_int_equal(t[0].change_tomb, 1);
	assert_int_equal(t[0].other_change, 0);
	assert_int_equal(t[0].events, 1);
	assert_int_equal(t[0].ev_bad, 0);
	/* leave, crash (suspect then dead), stall (suspect then alive) */
	hs_node_leave(cl.node[L]);
	rounds_drained(&cl, t, 20);
	cluster_crash(&cl, L);
	cluster_crash(&cl, C);
	cl.frozen[F] = true;
	RUN_UNTIL(&cl, status_at(&cl, 0, C) == HS_WIRE_ST_DEAD &&
			   status_at(&cl, 0, F) == HS_WIRE_ST_DEAD, 200,
		  "crash and stall dead at node 0");
	cl.frozen[F] = false;
	RUN_UNTIL(&cl, status_at(&cl, 0, F) == HS_WIRE_ST_ALIVE, 200,
		  "stalled node back");
	rounds_drained(&cl, t, 50);
	for (i = 1; i < N; i++) {
		unsigned *c = t[0].count[i];

		assert_int_equal(c[HS_NOTICE_JOIN], 1);
		assert_int_equal(c[HS_NOTICE_LEAVE], i == L);
		assert_int_equal(c[HS_NOTICE_SUSPECT], i == C || i == F);
		assert_int_equal(c[HS_NOTICE_DEAD], i == C || i == F);
		assert_int_equal(c[HS_NOTICE_ALIVE], i == F);
		assert_int_equal(c[HS_NOTICE_CHANGE], i == A ? 2 : 0);
		assert_int_equal(c[HS_NOTICE_EVENT], i == A);
	}
	/* unsubscribed nodes got nothing */
	for (i = 1; i < N; i++)
		for (k = 0; k < MAX_N; k++)
			for (unsigned ty = 0; ty < NT; ty++)
				assert_int_equal(t[i].count[k][ty], 0);
	cluster_stop(&cl);
}

/* Every live member confirms a write (seen_version, what a waited-for
 * write in hearsayd reads): by listing our digest in its SYNs in a small
 * cluster, by a bucket summary that agrees with ours in a large one
 * (above about 31 owners a SYN's digests no longer fit a frame). */
static bool
all_confirmed(struct cluster *cl, unsigned w, uint64_t version)
{
	struct hs_member_info mi[128];
	unsigned n = hs_members(cl->node[w], mi, 128), i, k = 0;

	for (i = 0; i < n; i++) {
		if (mi[i].self)
			continue;
		if (mi[i].seen_version < version)
			return false;
		k++;
	}
	return k == cl->n - 1;
}

static void
confirm_in(unsigned n_nodes, uint64_t seed)
{
	struct cluster cl;
	struct hs_table_kv kv;
	int64_t v;
	unsigned r, i;

	start(&cl, n_nodes, 0.0, seed, NULL);
	v = hs_put(cl.node[0], "conf", 4, "x", 1);
	assert_true(v > 0);
	/* nobody has confirmed what nobody has received yet */
	assert_false(all_confirmed(&cl, 0, (uint64_t)v));
	r = RUN_UNTIL(&cl, all_confirmed(&cl, 0, (uint64_t)v), 1000,
		      "every member confirms the write");
	printf("# %u nodes: a write confirmed by every member after %u "
	       "rounds\n", n_nodes, r);
	/* and a confirmation is true: every node holds the write */
	for (i = 1; i < n_nodes; i++) {
		assert_int_equal(hs_get(cl.node[i], 1000, "conf", 4, &kv), 0);
		assert_int_equal(kv.version, (uint64_t)v);
	}
	cluster_stop(&cl);
}

static void
test_writes_confirmed(void **state)
{
	(void)state;
	confirm_in(8, test_seed + 11);		/* digests listed */
	confirm_in(48, test_seed + 12);	/* bucket summaries */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_detected_dead),
		cmocka_unit_test(test_restart_supersedes),
		cmocka_unit_test(test_leave_is_left),
		cmocka_unit_test(test_forget_no_ghost),
		cmocka_unit_test(test_tombstone_gc_no_resurrection),
		cmocka_unit_test(test_events_fifo_under_loss),
		cmocka_unit_test(test_stall_convicts_nobody),
		cmocka_unit_test(test_dead_comes_back),
		cmocka_unit_test(test_pushsum_average),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_writes_confirmed),
	};
	int rc;

	test_seed = hs_test_seed("test_member");
	HS_TEST_FILTER();
	urcu_qsbr_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
