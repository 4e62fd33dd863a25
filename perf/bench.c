/*
 * hearsay-bench: N real engine nodes in one process, each on its own UDP
 * socket on 127.0.0.1 (drivers/udp), driven by W adaptive workers, timed
 * with CLOCK_MONOTONIC: one clock for every node, so one-way times are
 * exact (issue #7, docs/BENCH.md).  The HashiCorp memberlist side
 * (perf/memberlist/) measures the same phases and prints the same JSON.
 *
 *   hearsay-bench -n N [-w W] [--pin] [--interval-ms 10] [--fanout 3]
 *                 [--broadcasts K] [--spacing-ms 200] [--idle-seconds S]
 *                 [--kill] [--seed X] [--port-base P] [--json]
 *                 [--svg FILE]
 *
 * Phases:
 *   join-all   create every node (a few per worker per call, the workers
 *              in turn), then every 10 ms ask each worker which of its
 *              nodes see all N-1 others alive (hs_member); done when all
 *              do at one pass;
 *   idle       S seconds: tx bytes and frames per node per second (the
 *              nodes' counters: UDP payload) and CPU (getrusage of the
 *              whole process: the workers, the call_rcu thread and the
 *              control thread, which is also measured alone);
 *   broadcast  K writes of key "bench", the k-th at node k mod N, spaced
 *              spacing-ms apart: every node is subscribed to change
 *              notices of prefix "bench", and the control thread drains
 *              every node's notice queue every ~1 ms, recording when it
 *              first held each write; a notice carries no time stamp, so
 *              the times are those of the drain (resolution ~1 ms, late,
 *              never early);
 *   kill       (--kill) the last node is removed from its worker and
 *              destroyed without leaving, its socket closed: it goes
 *              silent; time until every other node's DEAD notice about it.
 * With --api, the same phases run against hearsayd nodes through their
 * control API instead (bench_api.c).
 * Every SUSPECT or DEAD notice about a node that was not killed, over the
 * whole run, is a false suspicion or death.
 *
 * Threads: the control thread (main) owns the sockets before the nodes
 * exist, consumes every node's notice queue (hs_notices: the single
 * consumer), and reaches the nodes only through hs_worker_call; it is a
 * QSBR reader only to free the shared call_rcu thread at the end, offline
 * the rest of the time (it never touches a table).
 *
 * Exit: 0 when every phase finished, 1 when one did not (join deadline,
 * residue after the broadcast deadline, detection unfinished, notices
 * dropped), 2 on a bad argument or a setup failure.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "drivers/udp.h"
#include "engine/hearsay.h"
#include "perf/bench.h"
#include "engine/util.h"
#include "engine/worker.h"

#define BN_WORKERS_MAX		64
#define BN_NODES_MAX		4096
#define BN_KEY			"bench"
#define BN_KEY_LEN		5
#define BN_CLUSTER_ID		0x62656e63u	/* "benc" */
#define BN_JOIN_POLL_NS		10000000ull	/* 10 ms */
#define BN_DRAIN_NS		1000000ull	/* 1 ms: the resolution */
#define BN_MS			1000000ull
#define BN_CREATE_CHUNK		4	/* nodes per worker per call */

struct bn_opts {
	unsigned n;
	unsigned workers;
	bool pin;
	unsigned interval_ms;
	unsigned fanout;
	uint8_t syn_mode;		/* enum hs_syn_mode */
	unsigned broadcasts;
	unsigned spacing_ms;
	unsigned idle_s;
	bool kill;
	uint64_t seed;
	unsigned port_base;		/* 0: the kernel picks each port */
	bool json;
	const char *svg_path;
	unsigned join_timeout_s;
	unsigned bcast_deadline_ms;
	unsigned detect_timeout_s;
};

struct bn_node {
	struct hs_node *node;
	struct hs_pktio *io;
	uint64_t id;
	bool down;
	bool joined;
	unsigned cursor;	/* join: ids 1..cursor seen alive */
	uint64_t suspect_ns;	/* first SUSPECT / DEAD of the killed one */
	uint64_t dead_ns;
};

struct bn_sums {
	uint64_t tx_bytes;
	uint64_t tx_frames;
	uint64_t notices_dropped;
	uint64_t tx_dropped;
	unsigned joined;
} HS_CACHE_ALIGNED;

struct bench {
	struct bn_opts o;
	struct bn_node *nodes;
	struct hs_worker *w[BN_WORKERS_MAX];
	struct call_rcu_data *crdp;
	uint64_t generation;
	struct hs_addr seeds[2];
	unsigned n_seeds;

	/* the call in flight: which worker, which node, its result */
	unsigned cw;
	unsigned ci;
	unsigned ck;			/* the write's number */
	unsigned ci_end;		/* create: nodes ci..ci_end-1 */
	int crc;
	struct bn_sums sums[BN_WORKERS_MAX];

	/* broadcast: got[k * n + i], first drain time (0: not yet) */
	uint64_t *got;
	uint64_t *t_write;
	double *t_avg_ms;
	double *t_last_ms;
	unsigned *residue;

	bool registered;		/* the control thread, with QSBR */
	uint64_t killed_id;		/* 0: none (yet) */
	uint64_t false_suspect;
	uint64_t false_dead;
	uint64_t false_suspect_join;	/* of those, until join-all */
	uint64_t false_dead_join;
	uint64_t now_ns;		/* the drain's time */
	unsigned drain_i;
};

static uint64_t
bn_now(void)
{
	return hs_clock_monotonic(NULL);
}

static void
bn_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	nanosleep(&ts, NULL);
}

static uint64_t
bn_cpu_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
	       1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
	       1000ull;
}

/* System-wide UDP receive-buffer drops (/proc/net/snmp RcvbufErrors):
 * the kernel's, not ours alone, but on a quiet machine they are ours. */
static uint64_t
bn_udp_rcvbuf_errors(void)
{
	char hdr[1024], val[1024], *h, *v, *hs, *vs;
	uint64_t r = 0;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (f == NULL)
		return 0;
	while (fgets(hdr, sizeof(hdr), f) != NULL) {
		if (strncmp(hdr, "Udp:", 4) != 0)
			continue;
		if (fgets(val, sizeof(val), f) == NULL)
			break;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while (h != NULL && v != NULL) {
			if (strcmp(h, "RcvbufErrors") == 0)
				r = strtoull(v, NULL, 10);
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return r;
}

/* ---- on the workers (hs_worker_call) ---- */

static void
bn_create_cb(void *arg)
{
	struct bench *b = arg;
	unsigned i;

	for (i = b->ci + b->cw; i < b->ci_end; i += b->o.workers) {
		struct bn_node *bn = &b->nodes[i];
		struct hs_node_params p = { 0 };
		struct hs_addr seeds[2];
		unsigned s, n_seeds = 0;
		uint64_t rng;
		int rc;

		for (s = 0; s < b->n_seeds; s++)
			if (!hs_addr_eq(&b->seeds[s], &bn->io->local))
				seeds[n_seeds++] = b->seeds[s];
		p.id = bn->id;
		p.generation = b->generation;
		p.cluster_id = BN_CLUSTER_ID;
		p.seeds = seeds;
		p.n_seeds = n_seeds;
		p.interval_ns = (uint64_t)b->o.interval_ms * BN_MS;
		p.fanout = b->o.fanout;
		p.syn_mode = b->o.syn_mode;
		/* splitmix64 over the seed's stream: N distinct generator
		 * streams (perf/sim.c says why not seed * G + i) */
		rng = b->o.seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		p.rng_seed = hs_splitmix64(&rng);
		p.io = bn->io;
		p.table.crdp = b->crdp;
		/* As in perf/sim.c: a few keys per owner (hs.addr, the
		 * bench key), so a 4-slot change log instead of the
		 * default 1024 (8 KiB per owner, N^2 in all), and a 64 KiB
		 * notice queue (membership notices and K changes) instead
		 * of 1 MiB pre-faulted per node. */
		p.table.max_keys_per_node = 16;
		p.table.log_slots = 4;
		p.notify_bytes = 64 * 1024;
		p.tx_batch = 32;
		rc = hs_node_create(&p, &bn->node);
		if (rc != 0) {
			b->crc = rc;
			return;
		}
		hs_subscribe(bn->node, HS_SUB(HS_NOTICE_CHANGE) |
				       HS_SUB(HS_NOTICE_SUSPECT) |
				       HS_SUB(HS_NOTICE_DEAD));
		rc = hs_subscribe_prefix(bn->node, BN_KEY, BN_KEY_LEN);
		if (rc == 0)
			rc = hs_worker_add(b->w[b->cw], bn->node,
					   hs_udp_fd(bn->io));
		if (rc != 0) {
			b->crc = rc;
			return;
		}
	}
}

static bool
bn_alive(struct hs_node *n, uint64_t id)
{
	struct hs_member_info mi;

	return hs_member(n, id, &mi) == 0 && mi.status == HS_WIRE_ST_ALIVE;
}

/* Advance each node's cursor over ids seen alive: O(N) a pass plus the
 * progress, not N^2 member reads every 10 ms.  full: check every id of
 * every node again (the final pass: a node seen alive early may have
 * been suspected since). */
static void
bn_join_cb_(struct bench *b, bool full)
{
	struct bn_sums *s = &b->sums[b->cw];
	unsigned i;

	s->joined = 0;
	for (i = b->cw; i < b->o.n; i += b->o.workers) {
		struct bn_node *bn = &b->nodes[i];

		if (full)
			bn->cursor = 0;
		while (bn->cursor < b->o.n &&
		       (bn->cursor + 1 == bn->id ||
			bn_alive(bn->node, bn->cursor + 1)))
			bn->cursor++;
		bn->joined = bn->cursor == b->o.n;
		s->joined += bn->joined;
	}
}

static void
bn_join_cb(void *arg)
{
	bn_join_cb_(arg, false);
}

static void
bn_join_full_cb(void *arg)
{
	bn_join_cb_(arg, true);
}

static void
bn_stats_cb(void *arg)
{
	struct bench *b = arg;
	struct bn_sums *s = &b->sums[b->cw];
	unsigned i;

	memset(s, 0, sizeof(*s));
	for (i = b->cw; i < b->o.n; i += b->o.workers) {
		struct hs_node_stats ns;

		if (b->nodes[i].down)
			continue;
		hs_node_stats(b->nodes[i].node, &ns);
		s->tx_bytes += ns.tx_bytes;
		s->tx_frames += ns.tx_frames;
		s->tx_dropped += ns.tx_dropped;
		s->notices_dropped += ns.notices_dropped;
	}
}

static void
bn_put_cb(void *arg)
{
	struct bench *b = arg;
	char v[16];
	int len = snprintf(v, sizeof(v), "%u", b->ck);
	int64_t rc;

	rc = hs_put(b->nodes[b->ci].node, BN_KEY, BN_KEY_LEN, v,
		    (size_t)len);
	b->crc = rc > 0 ? 0 : (int)rc;
}

/* Silent, not leaving: off the worker, destroyed, its socket closed. */
static void
bn_kill_cb(void *arg)
{
	struct bench *b = arg;
	struct bn_node *bn = &b->nodes[b->ci];

	hs_worker_remove(b->w[b->cw], bn->node);
	hs_node_destroy(bn->node);
	hs_pktio_close(bn->io);
	bn->node = NULL;
	bn->io = NULL;
}

static void
bn_destroy_cb(void *arg)
{
	struct bench *b = arg;
	unsigned i;

	for (i = b->cw; i < b->o.n; i += b->o.workers) {
		struct bn_node *bn = &b->nodes[i];

		if (bn->node != NULL) {
			hs_worker_remove(b->w[b->cw], bn->node);
			hs_node_destroy(bn->node);
			bn->node = NULL;
		}
	}
}

/* fn on every worker, one after the other (each waits for its call) */
static int
bn_call_all(struct bench *b, void (*fn)(void *))
{
	unsigned w;
	int rc;

	b->crc = 0;
	for (w = 0; w < b->o.workers; w++) {
		if (b->w[w] == NULL)	/* setup failed half-way */
			return -ESRCH;
		b->cw = w;
		rc = hs_worker_call(b->w[w], fn, b);
		if (rc != 0)
			return rc;
		if (b->crc != 0)
			return b->crc;
	}
	return 0;
}

static int
bn_call_node(struct bench *b, unsigned i, void (*fn)(void *))
{
	int rc;

	b->crc = 0;
	b->ci = i;
	b->cw = i % b->o.workers;
	rc = hs_worker_call(b->w[b->cw], fn, b);
	return rc != 0 ? rc : b->crc;
}

static void
bn_totals(struct bench *b, struct bn_sums *t)
{
	unsigned w;

	memset(t, 0, sizeof(*t));
	for (w = 0; w < b->o.workers; w++) {
		t->tx_bytes += b->sums[w].tx_bytes;
		t->tx_frames += b->sums[w].tx_frames;
		t->tx_dropped += b->sums[w].tx_dropped;
		t->notices_dropped += b->sums[w].notices_dropped;
		t->joined += b->sums[w].joined;
	}
}

/* ---- notices, on the control thread ---- */

static void
bn_notice_cb(const struct hs_notice *nt, void *arg)
{
	struct bench *b = arg;
	struct bn_node *bn = &b->nodes[b->drain_i];

	switch (nt->type) {
	case HS_NOTICE_CHANGE: {
		char v[16];
		unsigned long k;
		char *end;

		if (nt->key_len != BN_KEY_LEN ||
		    memcmp(nt->key, BN_KEY, BN_KEY_LEN) != 0 ||
		    nt->tombstone || nt->value_len == 0 ||
		    nt->value_len >= sizeof(v))
			return;
		memcpy(v, nt->value, nt->value_len);
		v[nt->value_len] = '\0';
		k = strtoul(v, &end, 10);
		if (*end != '\0' || k >= b->o.broadcasts ||
		    nt->node != b->nodes[k % b->o.n].id)
			return;
		if (b->got[k * b->o.n + b->drain_i] == 0)
			b->got[k * b->o.n + b->drain_i] = b->now_ns;
		return;
	}
	case HS_NOTICE_SUSPECT:
		if (b->killed_id != 0 && nt->node == b->killed_id) {
			if (bn->suspect_ns == 0)
				bn->suspect_ns = b->now_ns;
		} else {
			b->false_suspect++;
		}
		return;
	case HS_NOTICE_DEAD:
		if (b->killed_id != 0 && nt->node == b->killed_id) {
			if (bn->dead_ns == 0)
				bn->dead_ns = b->now_ns;
		} else {
			b->false_dead++;
		}
		return;
	default:
		return;
	}
}

static void
bn_drain(struct bench *b)
{
	unsigned i;

	b->now_ns = bn_now();
	for (i = 0; i < b->o.n; i++) {
		if (b->nodes[i].down)
			continue;
		b->drain_i = i;
		hs_notices(b->nodes[i].node, bn_notice_cb, b, 0);
	}
}

/* Drain every ~1 ms until the monotonic time `until`. */
static void
bn_drain_until(struct bench *b, uint64_t until)
{
	for (;;) {
		uint64_t now;

		bn_drain(b);
		now = bn_now();
		if (now >= until)
			return;
		bn_sleep_ns(until - now < BN_DRAIN_NS ? until - now :
			    BN_DRAIN_NS);
	}
}

/* ---- phases ---- */

struct bn_result {
	uint64_t create_ns;
	int64_t join_ms;		/* -1: missed the deadline */
	unsigned joined;
	double idle_bytes, idle_msgs, cpu_node, cpu_total;
	double cpu_control;		/* of cpu_total: the bench's own
					 * thread (draining notices) */
	uint64_t idle_tx_dropped;
	unsigned bcast_done;
	unsigned residue;
	double t_avg_p50, t_last_p50, t_last_p99, t_last_max, rounds_p50;
	bool detect_ok;
	double detect_first_ms, detect_all_ms, suspect_first_ms;
	uint64_t notices_dropped;
	uint64_t rcvbuf_errors;
	double lag_awake_max_ms;	/* over the workers */
};

static int
bn_phase_join(struct bench *b, struct bn_result *r)
{
	uint64_t t0 = bn_now(), deadline, next;
	struct bn_sums t;
	unsigned i;
	int rc;

	/* BN_CREATE_CHUNK nodes per worker per call, the workers in turn:
	 * one call creating all of a worker's nodes held it (and the nodes
	 * created first) for 150 ms at N = 256, while the other worker's
	 * nodes were already gossiping at them */
	for (rc = 0, i = 0; i < b->o.n && rc == 0;
	     i += BN_CREATE_CHUNK * b->o.workers) {
		b->ci = i;
		b->ci_end = i + BN_CREATE_CHUNK * b->o.workers;
		if (b->ci_end > b->o.n)
			b->ci_end = b->o.n;
		rc = bn_call_all(b, bn_create_cb);
	}
	if (rc != 0) {
		fprintf(stderr, "hearsay-bench: creating the nodes: %s\n",
			strerror(-rc));
		return -2;
	}
	r->create_ns = bn_now() - t0;
	deadline = t0 + (uint64_t)b->o.join_timeout_s * 1000000000ull;
	r->join_ms = -1;
	for (next = t0;;) {
		uint64_t now;

		bn_drain(b);
		bn_call_all(b, bn_join_cb);
		bn_totals(b, &t);
		if (t.joined == b->o.n) {
			bn_call_all(b, bn_join_full_cb);
			bn_totals(b, &t);
		}
		now = bn_now();
		r->joined = t.joined;
		b->false_suspect_join = b->false_suspect;
		b->false_dead_join = b->false_dead;
		if (t.joined == b->o.n) {
			r->join_ms = (int64_t)((now - t0) / BN_MS);
			return 0;
		}
		if (now >= deadline) {
			fprintf(stderr, "hearsay-bench: join-all: %u of %u "
				"nodes saw every other alive after %u s\n",
				t.joined, b->o.n, b->o.join_timeout_s);
			return -1;
		}
		next += BN_JOIN_POLL_NS;
		if (next > now)
			bn_sleep_ns(next - now);
		else
			next = now;
	}
}

static void
bn_phase_idle(struct bench *b, struct bn_result *r)
{
	struct bn_sums s0, s1;
	uint64_t c0, c1, m0, m1, t0, t1;
	double secs;

	bn_call_all(b, bn_stats_cb);
	bn_totals(b, &s0);
	c0 = bn_cpu_ns(RUSAGE_SELF);
	m0 = bn_cpu_ns(RUSAGE_THREAD);
	t0 = bn_now();
	bn_drain_until(b, t0 + (uint64_t)b->o.idle_s * 1000000000ull);
	t1 = bn_now();
	c1 = bn_cpu_ns(RUSAGE_SELF);
	m1 = bn_cpu_ns(RUSAGE_THREAD);
	bn_call_all(b, bn_stats_cb);
	bn_totals(b, &s1);
	secs = (double)(t1 - t0) / 1e9;
	r->idle_bytes = (double)(s1.tx_bytes - s0.tx_bytes) / b->o.n / secs;
	r->idle_msgs = (double)(s1.tx_frames - s0.tx_frames) / b->o.n / secs;
	r->cpu_total = 100.0 * (double)(c1 - c0) / 1e9 / secs;
	r->cpu_node = r->cpu_total / b->o.n;
	r->cpu_control = 100.0 * (double)(m1 - m0) / 1e9 / secs;
	r->idle_tx_dropped = s1.tx_dropped - s0.tx_dropped;
}

int
bn_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bn_pct(const double *sorted, unsigned n, double p)
{
	unsigned k = (unsigned)ceil(p * n);

	if (n == 0)
		return 0;
	return sorted[k == 0 ? 0 : k - 1];
}

static int
bn_phase_broadcast(struct bench *b, struct bn_result *r)
{
	unsigned n = b->o.n, k, i, K = b->o.broadcasts;
	double *sorted;
	int failed = 0;

	for (k = 0; k < K; k++) {
		unsigned origin = k % n, have;
		uint64_t t0, deadline, next, last = 0;
		double sum = 0;
		int rc;

		t0 = bn_now();
		b->t_write[k] = t0;
		b->ck = k;
		rc = bn_call_node(b, origin, bn_put_cb);
		if (rc != 0) {
			fprintf(stderr, "hearsay-bench: write %u: %s\n", k,
				strerror(-rc));
			return -2;
		}
		deadline = t0 + (uint64_t)b->o.bcast_deadline_ms * BN_MS;
		for (;;) {
			bn_drain(b);
			for (i = 0, have = 0; i < n; i++)
				have += i != origin &&
					b->got[(size_t)k * n + i] != 0;
			if (have == n - 1 || bn_now() >= deadline)
				break;
			bn_sleep_ns(BN_DRAIN_NS);
		}
		for (i = 0; i < n; i++) {
			uint64_t g = b->got[(size_t)k * n + i];

			if (i == origin || g == 0)
				continue;
			sum += (double)(g - t0);
			if (g - t0 > last)
				last = g - t0;
		}
		b->residue[k] = n - 1 - have;
		b->t_avg_ms[k] = have ? sum / have / 1e6 : 0;
		b->t_last_ms[k] = (double)last / 1e6;
		r->residue += b->residue[k];
		if (b->residue[k] != 0) {
			fprintf(stderr, "hearsay-bench: write %u (node %u): "
				"%u nodes without it after %u ms\n", k,
				origin + 1, b->residue[k],
				b->o.bcast_deadline_ms);
			failed = 1;
		}
		r->bcast_done++;
		next = t0 + (uint64_t)b->o.spacing_ms * BN_MS;
		if (k + 1 < K && bn_now() < next)
			bn_drain_until(b, next);
	}
	sorted = malloc(K * sizeof(*sorted));
	if (sorted == NULL)
		return -2;
	memcpy(sorted, b->t_last_ms, K * sizeof(*sorted));
	qsort(sorted, K, sizeof(*sorted), bn_cmp_double);
	r->t_last_p50 = bn_pct(sorted, K, 0.50);
	r->t_last_p99 = bn_pct(sorted, K, 0.99);
	r->t_last_max = sorted[K - 1];
	r->rounds_p50 = r->t_last_p50 / b->o.interval_ms;
	memcpy(sorted, b->t_avg_ms, K * sizeof(*sorted));
	qsort(sorted, K, sizeof(*sorted), bn_cmp_double);
	r->t_avg_p50 = bn_pct(sorted, K, 0.50);
	free(sorted);
	return failed ? -1 : 0;
}

static int
bn_phase_kill(struct bench *b, struct bn_result *r)
{
	unsigned n = b->o.n, victim = n - 1, i, have = 0;
	uint64_t t0, deadline, first = UINT64_MAX, last = 0;
	uint64_t sfirst = UINT64_MAX;
	int rc;

	/* its last notices first: then it is no longer drained */
	bn_drain(b);
	b->nodes[victim].down = true;
	t0 = bn_now();
	rc = bn_call_node(b, victim, bn_kill_cb);
	if (rc != 0)
		return -2;
	b->killed_id = b->nodes[victim].id;
	deadline = t0 + (uint64_t)b->o.detect_timeout_s * 1000000000ull;
	for (;;) {
		bn_drain(b);
		for (i = 0, have = 0; i < n; i++)
			have += !b->nodes[i].down && b->nodes[i].dead_ns != 0;
		if (have == n - 1 || bn_now() >= deadline)
			break;
		bn_sleep_ns(BN_DRAIN_NS);
	}
	for (i = 0; i < n; i++) {
		struct bn_node *bn = &b->nodes[i];

		if (bn->down)
			continue;
		if (bn->dead_ns != 0) {
			if (bn->dead_ns - t0 < first)
				first = bn->dead_ns - t0;
			if (bn->dead_ns - t0 > last)
				last = bn->dead_ns - t0;
		}
		if (bn->suspect_ns != 0 && bn->suspect_ns - t0 < sfirst)
			sfirst = bn->suspect_ns - t0;
	}
	r->detect_first_ms = first == UINT64_MAX ? -1 : (double)first / 1e6;
	r->detect_all_ms = (double)last / 1e6;
	r->suspect_first_ms = sfirst == UINT64_MAX ? -1 : (double)sfirst / 1e6;
	r->detect_ok = have == n - 1;
	if (!r->detect_ok) {
		fprintf(stderr, "hearsay-bench: detection: %u of %u nodes "
			"marked node %" PRIu64 " dead within %u s\n", have,
			n - 1, b->killed_id, b->o.detect_timeout_s);
		return -1;
	}
	return 0;
}

/* ---- output ---- */

static void
bn_print_json(const struct bench *b, const struct bn_result *r)
{
	printf("{\"system\": \"hearsay\", \"config\": \"interval %u ms, "
	       "fanout %u\", \"n\": %u, \"workers\": %u, \"pinned\": %s, ",
	       b->o.interval_ms, b->o.fanout, b->o.n, b->o.workers,
	       b->o.pin ? "true" : "false");
	printf("\"seed\": %" PRIu64 ", \"create_ms\": %.1f, ", b->o.seed,
	       (double)r->create_ns / 1e6);
	if (r->join_ms >= 0)
		printf("\"join_all_ms\": %" PRId64 ", ", r->join_ms);
	else
		printf("\"join_all_ms\": null, ");
	if (r->bcast_done == 0)
		printf("\"broadcast\": null, ");
	else
		printf("\"broadcast\": {\"count\": %u, \"spacing_ms\": %u, "
		       "\"t_avg_ms_p50\": %.1f, \"t_last_ms_p50\": %.1f, "
		       "\"t_last_ms_p99\": %.1f, \"t_last_ms_max\": %.1f, "
		       "\"residue\": %u, \"rounds_p50\": %.1f}, ",
		       r->bcast_done, b->o.spacing_ms, r->t_avg_p50,
		       r->t_last_p50, r->t_last_p99, r->t_last_max,
		       r->residue, r->rounds_p50);
	if (b->o.kill && b->killed_id != 0)
		printf("\"detect\": {\"killed\": %" PRIu64 ", \"first_ms\": "
		       "%.1f, \"all_ms\": %.1f, \"suspect_first_ms\": %.1f, "
		       "\"done\": %s}, ", b->killed_id, r->detect_first_ms,
		       r->detect_all_ms, r->suspect_first_ms,
		       r->detect_ok ? "true" : "false");
	else
		printf("\"detect\": null, ");
	printf("\"false_suspect\": %" PRIu64 ", \"false_dead\": %" PRIu64
	       ", \"false_suspect_join\": %" PRIu64 ", \"false_dead_join\": %"
	       PRIu64 ", ", b->false_suspect, b->false_dead,
	       b->false_suspect_join, b->false_dead_join);
	if (r->join_ms < 0)
		printf("\"idle\": null, ");
	else
		printf("\"idle\": {\"seconds\": %u, "
		       "\"bytes_per_node_per_s\": %.0f, "
		       "\"msgs_per_node_per_s\": %.1f, "
		       "\"cpu_pct_per_node\": %.3f, \"cpu_pct_total\": "
		       "%.1f, \"cpu_pct_control_thread\": %.1f}, ",
		       b->o.idle_s, r->idle_bytes, r->idle_msgs, r->cpu_node,
		       r->cpu_total, r->cpu_control);
	printf("\"notices_dropped\": %" PRIu64 ", \"udp_rcvbuf_errors\": %"
	       PRIu64 ", ", r->notices_dropped, r->rcvbuf_errors);
	printf("\"worker_lag_max_ms\": %.1f, ", r->lag_awake_max_ms);
	printf("\"clock\": \"one process, CLOCK_MONOTONIC, exact; notices "
	       "drained every 1 ms (times late by up to ~1 ms)\"}\n");
}

static void
bn_print_table(const struct bench *b, const struct bn_result *r, FILE *f)
{
	unsigned k;

	fprintf(f, "hearsay-bench: %u nodes on 127.0.0.1 (udp), %u "
		"workers%s, interval %u ms, fanout %u, seed %" PRIu64 "\n",
		b->o.n, b->o.workers, b->o.pin ? " pinned" : "",
		b->o.interval_ms, b->o.fanout, b->o.seed);
	fprintf(f, "clock: one process, CLOCK_MONOTONIC, exact; notices "
		"drained every 1 ms (resolution ~1 ms)\n\n");
	fprintf(f, "  %-26s %.1f ms\n", "create (N nodes)",
		(double)r->create_ns / 1e6);
	if (r->join_ms >= 0)
		fprintf(f, "  %-26s %" PRId64 " ms\n", "join-all",
			r->join_ms);
	else
		fprintf(f, "  %-26s MISSED (%u of %u)\n", "join-all",
			r->joined, b->o.n);
	if (r->join_ms >= 0) {
		fprintf(f, "  %-26s %.0f B/s, %.1f frames/s (tx, UDP "
			"payload)\n", "idle traffic per node", r->idle_bytes,
			r->idle_msgs);
		fprintf(f, "  %-26s %.3f %% of a core per node, %.1f %% in "
			"all (%u s; the bench's control thread %.1f %%)\n",
			"idle CPU", r->cpu_node, r->cpu_total, b->o.idle_s,
			r->cpu_control);
	}
	if (r->bcast_done != 0) {
		fprintf(f, "\n  %-6s %-6s %10s %10s %8s\n", "write", "node",
			"t_avg ms", "t_last ms", "residue");
		for (k = 0; k < r->bcast_done; k++)
			fprintf(f, "  %-6u %-6u %10.1f %10.1f %8u\n", k,
				k % b->o.n + 1, b->t_avg_ms[k],
				b->t_last_ms[k], b->residue[k]);
		fprintf(f, "\n  %-26s p50 %.1f, p99 %.1f, max %.1f ms "
			"(%.1f rounds at p50)\n", "broadcast t_last",
			r->t_last_p50, r->t_last_p99, r->t_last_max,
			r->rounds_p50);
		fprintf(f, "  %-26s %.1f ms\n", "broadcast t_avg (median)",
			r->t_avg_p50);
		fprintf(f, "  %-26s %u\n", "broadcast residue", r->residue);
	}
	if (b->o.kill && b->killed_id != 0)
		fprintf(f, "  %-26s first %.1f ms, all %.1f ms%s (first "
			"suspect %.1f ms)\n", "detect (node killed)",
			r->detect_first_ms, r->detect_all_ms,
			r->detect_ok ? "" : " UNFINISHED",
			r->suspect_first_ms);
	fprintf(f, "  %-26s %" PRIu64 " suspect, %" PRIu64 " dead (during "
		"join-all: %" PRIu64 ", %" PRIu64 ")\n", "false (whole run)",
		b->false_suspect, b->false_dead, b->false_suspect_join,
		b->false_dead_join);
	fprintf(f, "  %-26s %" PRIu64 " notices dropped, %" PRIu64
		" UDP rcvbuf errors (system-wide)\n", "losses",
		r->notices_dropped, r->rcvbuf_errors);
	fprintf(f, "  %-26s %.1f ms (longest gap between two passes, "
		"awake)\n", "worker lag", r->lag_awake_max_ms);
}

/* One step line: the sorted times t[0..m) (ms), as a fraction of total. */
static void
bn_svg_steps(FILE *f, const double *t, unsigned m, unsigned total,
	     double xmax, const char *style)
{
	const double X0 = 80, X1 = 770, Y0 = 80, Y1 = 440;
	unsigned i;

	fprintf(f, "<polyline fill=\"none\" %s points=\"%.1f,%.1f", style,
		X0, Y1);
	for (i = 0; i < m; i++) {
		double x = X0 + (X1 - X0) * t[i] / xmax;

		fprintf(f, " %.1f,%.1f %.1f,%.1f", x,
			Y1 - (Y1 - Y0) * i / total, x,
			Y1 - (Y1 - Y0) * (i + 1) / total);
	}
	fprintf(f, "\"/>\n");
}

int
bn_svg_cdf(FILE *f, const struct bn_cdf *c)
{
	const double W = 800, H = 520, X0 = 80, X1 = 770, Y0 = 80, Y1 = 440;
	unsigned K = c->n_writes, per = c->per_write, k, i, m, pool = 0, g;
	double *t = malloc(((size_t)K * per + 1) * sizeof(*t)), *one, xmax;
	double step;

	if (t == NULL)
		return -ENOMEM;
	xmax = c->xmax_ms > 1 ? c->xmax_ms * 1.05 : 1;
	step = 1;
	while (xmax / step > 10)
		step *= xmax / step > 50 ? 10 : (xmax / step > 20 ? 5 : 2);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"font-family=\"sans-serif\" font-size=\"13\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		W, H, W, H);
	fprintf(f, "<text x=\"%.0f\" y=\"26\" text-anchor=\"middle\" "
		"font-size=\"16\" font-weight=\"bold\">%s</text>\n", W / 2,
		c->title);
	fprintf(f, "<text x=\"%.0f\" y=\"46\" text-anchor=\"middle\" "
		"fill=\"#555\">%s</text>\n", W / 2, c->subtitle);
	for (g = 0; g <= 4; g++) {
		double y = Y1 - (Y1 - Y0) * g / 4.0;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#ddd\"/>\n<text x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"end\">%u%%</text>\n", X0, y,
			X1, y, X0 - 8, y + 4, g * 25);
	}
	for (g = 0; g * step <= xmax; g++) {
		double x = X0 + (X1 - X0) * g * step / xmax;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#eee\"/>\n<text x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x, Y0,
			x, Y1, x, Y1 + 18, g * step);
	}
	fprintf(f, "<polyline points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
		"fill=\"none\" stroke=\"black\"/>\n"
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">ms after "
		"the write (1 round = %u ms)</text>\n"
		"<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 20 %.1f)\">other nodes holding the "
		"write</text>\n", X0, Y0, X0, Y1, X1, Y1, (X0 + X1) / 2,
		Y1 + 42, c->interval_ms, (Y0 + Y1) / 2, (Y0 + Y1) / 2);
	for (k = 0; k < K; k++) {
		one = t + pool;
		for (i = 0, m = 0; i < per; i++) {
			double v = c->t_ms[(size_t)k * per + i];

			if (v >= 0)
				one[m++] = v;
		}
		qsort(one, m, sizeof(*one), bn_cmp_double);
		bn_svg_steps(f, one, m, per, xmax,
			     "stroke=\"#93c5fd\" stroke-width=\"1\"");
		pool += m;
	}
	qsort(t, pool, sizeof(*t), bn_cmp_double);
	bn_svg_steps(f, t, pool, K * per, xmax,
		     "stroke=\"#2563eb\" stroke-width=\"2.5\"");
	fprintf(f, "<g transform=\"translate(%.0f %.0f)\">\n"
		"<rect x=\"0\" y=\"0\" width=\"300\" height=\"52\" "
		"fill=\"white\" stroke=\"#bbb\"/>\n"
		"<line x1=\"10\" y1=\"16\" x2=\"40\" y2=\"16\" "
		"stroke=\"#2563eb\" stroke-width=\"2.5\"/><text x=\"48\" "
		"y=\"20\">pooled over the %u writes</text>\n"
		"<line x1=\"10\" y1=\"38\" x2=\"40\" y2=\"38\" "
		"stroke=\"#93c5fd\"/><text x=\"48\" y=\"42\">each write"
		"</text>\n</g>\n</svg>\n", X1 - 310, Y1 - 70, K);
	free(t);
	return 0;
}

/* The CDF of first-held times after each write: one faint curve per
 * write, the pooled one in bold (fraction of every (write, node) pair). */
static int
bn_write_svg(const struct bench *b, const struct bn_result *r, FILE *f)
{
	unsigned n = b->o.n, K = r->bcast_done, k, i, m;
	double *t = malloc(((size_t)K * (n - 1) + 1) * sizeof(*t));
	char title[256], sub[256];
	struct bn_cdf c = {
		.title = title, .subtitle = sub, .n_writes = K,
		.per_write = n - 1, .t_ms = t, .xmax_ms = r->t_last_max,
		.interval_ms = b->o.interval_ms,
	};
	int rc;

	if (t == NULL)
		return -ENOMEM;
	for (k = 0; k < K; k++)
		for (i = 0, m = 0; i < n; i++) {
			uint64_t got = b->got[(size_t)k * n + i];

			if (i == k % n)
				continue;
			t[(size_t)k * (n - 1) + m++] = got == 0 ? -1 :
				(double)(got - b->t_write[k]) / 1e6;
		}
	snprintf(title, sizeof(title), "hearsay-bench: time to all nodes, "
		 "N = %u, %u workers, interval %u ms, fanout %u", n,
		 b->o.workers, b->o.interval_ms, b->o.fanout);
	snprintf(sub, sizeof(sub), "%u writes on 127.0.0.1 udp, one process, "
		 "CLOCK_MONOTONIC; t_last p50 %.1f ms, max %.1f ms, residue "
		 "%u", K, r->t_last_p50, r->t_last_max, r->residue);
	rc = bn_svg_cdf(f, &c);
	free(t);
	return rc;
}

/* ---- setup ---- */

static void
bn_usage(FILE *f)
{
	fprintf(f,
"usage: hearsay-bench -n N [options]\n"
"  -n N                  nodes, 2..%u, each its own socket on 127.0.0.1\n"
"  -w W                  workers (threads), default 2\n"
"  --pin                 pin worker k to CPU k mod ncpu (default: not)\n"
"  --interval-ms MS      gossip round, default 10\n"
"  --fanout F            peers per round, default 3\n"
"  --syn auto|summary|digests  what SYNs carry (gossip.syn), default auto\n"
"  --broadcasts K        writes timed one at a time, default 20 (0: none)\n"
"  --spacing-ms MS       between two writes, default 200\n"
"  --idle-seconds S      idle traffic and CPU window, default 5\n"
"  --kill                then kill node N without leave, time detection\n"
"  --seed X              generators' seed, default 1\n"
"  --port-base P         ports P..P+N-1 (default 0: the kernel's choice)\n"
"  --join-timeout S      join-all deadline, default 60\n"
"  --deadline-ms MS      per write: residue counted after it, default 5000\n"
"  --detect-timeout S    detection deadline, default 30\n"
"  --json                one JSON object on stdout (the table: stderr)\n"
"  --svg FILE            the CDF of time-to-all-nodes as an SVG chart\n"
"\n"
"       hearsay-bench --api ENDPOINT[,ENDPOINT...] [options]\n"
"  against running hearsayd nodes, through their control API\n"
"  (hearsay-bench --api x --help for its options)\n",
		BN_NODES_MAX);
}

int
bn_uint(const char *name, const char *s, unsigned lo, unsigned hi,
	unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "hearsay-bench: %s '%s': want %u..%u\n", name,
			s, lo, hi);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

enum {
	OPT_PIN = 256, OPT_INTERVAL, OPT_FANOUT, OPT_BCAST, OPT_SPACING,
	OPT_IDLE, OPT_KILL, OPT_SEED, OPT_PORT, OPT_JSON, OPT_SVG,
	OPT_JOIN_TO, OPT_DEADLINE, OPT_DETECT_TO, OPT_SYN, OPT_HELP,
};

static int
bn_parse(int argc, char **argv, struct bn_opts *o)
{
	static const struct option opts[] = {
		{ "pin", no_argument, NULL, OPT_PIN },
		{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
		{ "fanout", required_argument, NULL, OPT_FANOUT },
		{ "syn", required_argument, NULL, OPT_SYN },
		{ "broadcasts", required_argument, NULL, OPT_BCAST },
		{ "spacing-ms", required_argument, NULL, OPT_SPACING },
		{ "idle-seconds", required_argument, NULL, OPT_IDLE },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "port-base", required_argument, NULL, OPT_PORT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "join-timeout", required_argument, NULL, OPT_JOIN_TO },
		{ "deadline-ms", required_argument, NULL, OPT_DEADLINE },
		{ "detect-timeout", required_argument, NULL, OPT_DETECT_TO },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->workers = 2;
	o->interval_ms = 10;
	o->fanout = 3;
	o->broadcasts = 20;
	o->spacing_ms = 200;
	o->idle_s = 5;
	o->seed = 1;
	o->join_timeout_s = 60;
	o->bcast_deadline_ms = 5000;
	o->detect_timeout_s = 30;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "n:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			rc = bn_uint("-n", optarg, 2, BN_NODES_MAX, &o->n);
			break;
		case 'w':
			rc = bn_uint("-w", optarg, 1, BN_WORKERS_MAX,
				     &o->workers);
			break;
		case OPT_PIN:
			o->pin = true;
			break;
		case OPT_INTERVAL:
			rc = bn_uint("--interval-ms", optarg, 1, 10000,
				     &o->interval_ms);
			break;
		case OPT_FANOUT:
			rc = bn_uint("--fanout", optarg, 1, 64, &o->fanout);
			break;
		case OPT_SYN: {
			int m = hs_syn_mode_parse(optarg);

			if (m < 0) {
				fprintf(stderr, "hearsay-bench: --syn: auto, "
					"summary or digests, not '%s'\n",
					optarg);
				rc = -1;
			}
			o->syn_mode = (uint8_t)m;
			break;
		}
		case OPT_BCAST:
			rc = bn_uint("--broadcasts", optarg, 0, 100000,
				     &o->broadcasts);
			break;
		case OPT_SPACING:
			rc = bn_uint("--spacing-ms", optarg, 0, 600000,
				     &o->spacing_ms);
			break;
		case OPT_IDLE:
			rc = bn_uint("--idle-seconds", optarg, 1, 3600,
				     &o->idle_s);
			break;
		case OPT_KILL:
			o->kill = true;
			break;
		case OPT_SEED: {
			char *end;

			o->seed = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0') {
				fprintf(stderr, "hearsay-bench: --seed '%s'\n",
					optarg);
				rc = -1;
			}
			break;
		}
		case OPT_PORT:
			rc = bn_uint("--port-base", optarg, 0, 65535,
				     &o->port_base);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SVG:
			o->svg_path = optarg;
			break;
		case OPT_JOIN_TO:
			rc = bn_uint("--join-timeout", optarg, 1, 3600,
				     &o->join_timeout_s);
			break;
		case OPT_DEADLINE:
			rc = bn_uint("--deadline-ms", optarg, 1, 3600000,
				     &o->bcast_deadline_ms);
			break;
		case OPT_DETECT_TO:
			rc = bn_uint("--detect-timeout", optarg, 1, 3600,
				     &o->detect_timeout_s);
			break;
		case 'h':
		case OPT_HELP:
			bn_usage(stdout);
			exit(0);
		default:
			rc = -1;
		}
	}
	if (rc == 0 && (optind != argc || o->n == 0)) {
		fprintf(stderr, "hearsay-bench: -n N is required\n");
		rc = -1;
	}
	if (rc == 0 && o->port_base != 0 && o->port_base + o->n > 65536) {
		fprintf(stderr, "hearsay-bench: ports %u..%u past 65535\n",
			o->port_base, o->port_base + o->n - 1);
		rc = -1;
	}
	if (rc != 0)
		bn_usage(stderr);
	return rc;
}

/* One descriptor per node, the workers' eventfds and a few more: raise
 * the soft limit to the hard one when 1024 is too few (N = 1000+). */
static int
bn_fd_limit(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		fprintf(stderr, "hearsay-bench: %u descriptors needed, the "
			"hard limit is %llu (ulimit -Hn)\n", need,
			(unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	return 0;
}

static int
bn_setup(struct bench *b)
{
	unsigned n = b->o.n, i, w;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec wall;
	int rc;

	rc = bn_fd_limit(n + b->o.workers + 64);
	if (rc != 0)
		return rc;
	b->nodes = calloc(n, sizeof(*b->nodes));
	b->got = calloc((size_t)b->o.broadcasts * n + 1, sizeof(*b->got));
	b->t_write = calloc(b->o.broadcasts + 1, sizeof(*b->t_write));
	b->t_avg_ms = calloc(b->o.broadcasts + 1, sizeof(double));
	b->t_last_ms = calloc(b->o.broadcasts + 1, sizeof(double));
	b->residue = calloc(b->o.broadcasts + 1, sizeof(unsigned));
	if (b->nodes == NULL || b->got == NULL || b->t_write == NULL ||
	    b->t_avg_ms == NULL || b->t_last_ms == NULL || b->residue == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct hs_udp_params up = {
			.local = hs_addr_v4(127, 0, 0, 1, b->o.port_base ?
					    (uint16_t)(b->o.port_base + i) :
					    0),
		};

		rc = hs_udp_open(&up, &b->nodes[i].io);
		if (rc != 0) {
			fprintf(stderr, "hearsay-bench: socket %u (port %u): "
				"%s\n", i, b->o.port_base ?
				b->o.port_base + i : 0, strerror(-rc));
			return rc;
		}
		b->nodes[i].id = i + 1;
	}
	/* two seeds, so that node 0 has one too */
	b->seeds[0] = b->nodes[0].io->local;
	b->seeds[1] = b->nodes[1].io->local;
	b->n_seeds = 2;
	clock_gettime(CLOCK_REALTIME, &wall);
	b->generation = (uint64_t)wall.tv_sec * 1000 +
			(uint64_t)wall.tv_nsec / 1000000;

	/* a registered reader only for the call_rcu thread's sake at the
	 * end; offline otherwise, so that it never holds up a grace
	 * period while it sleeps or waits for a call */
	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
	b->registered = true;
	b->crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	if (b->crdp == NULL)
		return -ENOMEM;
	for (w = 0; w < b->o.workers; w++) {
		char name[16];
		struct hs_worker_params wp = {
			.cpu = b->o.pin && ncpu > 0 ? (int)(w % ncpu) : -1,
			.mode = HS_POLL_ADAPTIVE,
			.name = name,
		};

		snprintf(name, sizeof(name), "bench-w%u", w);
		rc = hs_worker_create(&wp, &b->w[w]);
		if (rc == 0)
			rc = hs_worker_start(b->w[w]);
		if (rc != 0) {
			fprintf(stderr, "hearsay-bench: worker %u: %s\n", w,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static void
bn_teardown(struct bench *b)
{
	unsigned w, i;

	if (b->w[0] != NULL && b->nodes != NULL)
		bn_call_all(b, bn_destroy_cb);
	for (w = 0; w < b->o.workers; w++)
		if (b->w[w] != NULL)
			hs_worker_destroy(b->w[w]);
	if (b->nodes != NULL)
		for (i = 0; i < b->o.n; i++)
			if (b->nodes[i].io != NULL)
				hs_pktio_close(b->nodes[i].io);
	if (b->crdp != NULL) {
		urcu_qsbr_thread_online();
		urcu_qsbr_barrier();
		urcu_qsbr_call_rcu_data_free(b->crdp);
		urcu_qsbr_thread_offline();
	}
	if (b->registered)
		urcu_qsbr_unregister_thread();
	free(b->nodes);
	free(b->got);
	free(b->t_write);
	free(b->t_avg_ms);
	free(b->t_last_ms);
	free(b->residue);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct bn_result r;
	struct bn_sums t;
	uint64_t rcvbuf0;
	FILE *svg = NULL;
	unsigned w;
	int rc, failed = 0;

	/* --api: running hearsayd nodes instead of engines of our own
	 * (bench_api.c), with options of its own */
	for (w = 1; w < (unsigned)argc; w++)
		if (strcmp(argv[w], "--api") == 0 ||
		    strncmp(argv[w], "--api=", 6) == 0) {
#ifdef HS_BENCH_API
			return bn_api_main(argc, argv);
#else
			fprintf(stderr, "hearsay-bench: --api: built without "
				"libcurl and jansson\n");
			return 2;
#endif
		}
	memset(&b, 0, sizeof(b));
	memset(&r, 0, sizeof(r));
	if (bn_parse(argc, argv, &b.o) != 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (b.o.svg_path != NULL) {
		svg = fopen(b.o.svg_path, "w");
		if (svg == NULL) {
			fprintf(stderr, "hearsay-bench: --svg '%s': %s\n",
				b.o.svg_path, strerror(errno));
			return 2;
		}
	}
	rcvbuf0 = bn_udp_rcvbuf_errors();
	rc = bn_setup(&b);
	if (rc != 0) {
		fprintf(stderr, "hearsay-bench: setup: %s\n", strerror(-rc));
		bn_teardown(&b);
		return 2;
	}
	rc = bn_phase_join(&b, &r);
	if (rc == -2) {
		bn_teardown(&b);
		return 2;
	}
	if (rc == 0) {
		fprintf(stderr, "hearsay-bench: join-all %" PRId64 " ms\n",
			r.join_ms);
		bn_phase_idle(&b, &r);
		if (b.o.broadcasts != 0) {
			rc = bn_phase_broadcast(&b, &r);
			if (rc == -2) {
				bn_teardown(&b);
				return 2;
			}
			failed |= rc != 0;
		}
		if (b.o.kill) {
			rc = bn_phase_kill(&b, &r);
			if (rc == -2) {
				bn_teardown(&b);
				return 2;
			}
			failed |= rc != 0;
		}
	} else {
		failed = 1;
	}
	bn_drain(&b);
	bn_call_all(&b, bn_stats_cb);
	bn_totals(&b, &t);
	r.notices_dropped = t.notices_dropped;
	r.rcvbuf_errors = bn_udp_rcvbuf_errors() - rcvbuf0;
	for (w = 0; w < b.o.workers; w++) {
		struct hs_worker_stats ws;

		hs_worker_stats(b.w[w], &ws);
		if ((double)ws.lag_awake_max_ns / 1e6 > r.lag_awake_max_ms)
			r.lag_awake_max_ms = (double)ws.lag_awake_max_ns / 1e6;
	}
	/* --json: the object alone on stdout, the table on stderr */
	bn_print_table(&b, &r, b.o.json ? stderr : stdout);
	if (b.o.json)
		bn_print_json(&b, &r);
	if (svg != NULL) {
		if (r.bcast_done == 0 || bn_write_svg(&b, &r, svg) != 0)
			fprintf(stderr, "hearsay-bench: --svg: no broadcast "
				"to draw\n");
		fclose(svg);
	}
	/* lost notices would make the figures wrong, not slow */
	if (r.notices_dropped != 0) {
		fprintf(stderr, "hearsay-bench: %" PRIu64 " notices dropped: "
			"the figures are incomplete\n", r.notices_dropped);
		failed = 1;
	}
	bn_teardown(&b);
	return failed ? 1 : 0;
}
