/*
 * hearsay-iobench: frames per second of one worker through a real driver,
 * for docs/PERFORMANCE.md's packet I/O table (run by perf/iobench.sh next
 * to dpdk-testpmd on the same device).
 *
 * Two processes, one per end of a link (a memif pair, a veth pair):
 *
 *   sink  a real node (engine/node.h) polled by one thread pinned to a
 *         core, busy: RX burst, checks, decode, merge, replies, rounds.  Its
 *         table is preloaded with `owners` owners of 1000 keys each (16-byte
 *         keys, 32-byte values: the shape of hearsay-microbench's
 *         BM_table_merge_fresh), so that the generator can send it frames
 *         it already holds.
 *   gen   sends gossip frames to the sink as fast as its driver takes
 *         them, from one pinned thread, and drains what comes back.
 *
 * Workloads (what gen sends):
 *   known  delta frames (ACK2, 23 entries each) of versions the sink holds:
 *          "peers in sync", every entry skipped at the owner's watermark;
 *   fresh  the same frames, every key one version newer on each pass: every
 *          entry merged (key lookup, CAS replace, change log, rumor);
 *   sync   SYNs listing the sink's own digests (30 owners): nothing to
 *          merge, nothing to answer;
 *   hashes SYNs of bucket hashes only (4 buckets over the same 30 owners
 *          and the sink) that agree with the sink's: what a cluster at
 *          rest sends (gossip.syn auto); nothing to answer.
 *
 * Each side samples its counters every 100 ms and reports the median rate
 * over the samples in which frames moved (the first and last, partial,
 * left out): frames/s, and entries/s merged for the sink.  JSON with
 * --json.  Both sides exit after --seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "drivers/any.h"
#include "engine/node.h"
#include "engine/peers.h"
#include "engine/table.h"
#include "engine/util.h"
#include "engine/wire.h"

#define KEYS		1000u
#define KEY_LEN		16u
#define VAL_LEN		32u
#define ENTRY_LEN	(HS_WIRE_ENTRY_HDR_LEN + KEY_LEN + VAL_LEN)
#define SINK_ID		1u
#define GEN_ID		2u
#define OWNER0		1000u
#define CLUSTER		0x10b
#define SAMPLE_NS	100000000ull
#define SAMPLES_MAX	4096
#define SYNC_OWNERS	30u

struct frame {
	uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	uint16_t len;
	uint16_t n_entries;
};

struct args {
	const char *role;
	const char *workload;
	struct hs_drv_conf dc;
	struct hs_addr peer;
	unsigned seconds;
	unsigned owners;
	int cpu;
	bool json;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: hearsay-iobench --role sink|gen --workload "
		"known|fresh|sync|hashes --driver udp|afpacket|dpdk --ip A.B.C.D "
		"--peer A.B.C.D [--port P] [--iface IF] [--dev NAME] "
		"[--eal ARGS] [--seconds S] [--owners N] [--cpu C] [--json] "
		"[--no-udp-csum]\n");
	exit(2);
}

static void
parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "workload", required_argument, NULL, 'w' },
		{ "driver", required_argument, NULL, 'd' },
		{ "ip", required_argument, NULL, 'i' },
		{ "peer", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "iface", required_argument, NULL, 'f' },
		{ "dev", required_argument, NULL, 'v' },
		{ "eal", required_argument, NULL, 'e' },
		{ "seconds", required_argument, NULL, 's' },
		{ "owners", required_argument, NULL, 'o' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-udp-csum", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct in_addr in;
	int c;

	memset(a, 0, sizeof(*a));
	a->seconds = 5;
	a->owners = 100;
	a->cpu = -1;
	a->dc.port = 7946;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->role = optarg; break;
		case 'w': a->workload = optarg; break;
		case 'd': a->dc.driver = optarg; break;
		case 'i':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				usage();
			memcpy(a->dc.ip, &in.s_addr, 4);
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				usage();
			a->peer.family = 4;
			memcpy(a->peer.addr, &in.s_addr, 4);
			break;
		case 'P': a->dc.port = (uint16_t)atoi(optarg); break;
		case 'f': a->dc.iface = optarg; break;
		case 'v': a->dc.dev = optarg; break;
		case 'e': a->dc.eal = optarg; break;
		case 's': a->seconds = (unsigned)atoi(optarg); break;
		case 'o': a->owners = (unsigned)atoi(optarg); break;
		case 'c': a->cpu = atoi(optarg); break;
		case 'j': a->json = true; break;
		case 'n': a->dc.no_udp_csum = true; break;
		default: usage();
		}
	}
	a->peer.port = a->dc.port;
	if (a->role == NULL ||
	    (strcmp(a->role, "sink") != 0 && strcmp(a->role, "gen") != 0) ||
	    a->workload == NULL || a->dc.driver == NULL ||
	    a->dc.ip[0] == 0 || a->peer.family == 0 || a->owners == 0 ||
	    a->owners > 2000 ||
	    (strcmp(a->workload, "known") != 0 &&
	     strcmp(a->workload, "fresh") != 0 &&
	     strcmp(a->workload, "sync") != 0 &&
	     strcmp(a->workload, "hashes") != 0))
		usage();
	if (strcmp(a->workload, "sync") == 0 ||
	    strcmp(a->workload, "hashes") == 0)
		a->owners = SYNC_OWNERS;	/* their digests fit a SYN */
}

/* ---- the frames ---- */

/* Delta frames of every key of owners [0, n), one version each (round 0:
 * versions 1..1000 of each owner), ACK2s from GEN_ID. */
static struct frame *
build_deltas(unsigned n, unsigned *n_frames)
{
	unsigned cap = n * (KEYS / 20 + 1), k = 0, o;
	struct frame *f = calloc(cap, sizeof(*f));
	struct hs_wire_hdr h = { .type = HS_WIRE_ACK2, .cluster_id = CLUSTER,
				 .sender_id = GEN_ID, .sender_gen = 1 };
	char key[KEY_LEN + 1], val[VAL_LEN];

	if (f == NULL)
		abort();
	memset(val, 'v', sizeof(val));
	for (o = 0; o < n; o++) {
		unsigned j = 0;

		while (j < KEYS) {
			struct hs_wire_builder b;
			uint64_t from = j;

			h.seq++;
			hs_wire_build_begin(&b, f[k].buf, sizeof(f[k].buf), &h);
			hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS);
			hs_wire_group_begin(&b, OWNER0 + o, 1, from, 0, 0);
			for (; j < KEYS; j++) {
				snprintf(key, sizeof(key), "key-%012u", j);
				memcpy(val, &j, sizeof(j));
				if (hs_wire_put_entry(&b, j + 1, 0, key, KEY_LEN,
						      val, VAL_LEN) != 0)
					break;
				f[k].n_entries++;
			}
			hs_wire_group_end(&b, j);
			hs_wire_section_end(&b);
			f[k].len = (uint16_t)hs_wire_build_end(&b);
			k++;
		}
	}
	*n_frames = k;
	return f;
}

/* The next round of a delta frame: every version KEYS higher. */
static void
bump(struct frame *f)
{
	uint8_t *g = f->buf + HS_WIRE_HDR_LEN + HS_WIRE_SEC_HDR_LEN;
	unsigned i;

	hs_wire_wr64(g + 16, hs_wire_rd64(g + 16) + KEYS);
	hs_wire_wr64(g + 24, hs_wire_rd64(g + 24) + KEYS);
	for (i = 0; i < f->n_entries; i++) {
		uint8_t *e = g + HS_WIRE_GROUP_HDR_LEN + i * ENTRY_LEN;

		hs_wire_wr64(e, hs_wire_rd64(e) + KEYS);
	}
}

/* A SYN with the digests of owners [0, n) at round 0 and of the sink. */
static void
build_syn(struct frame *f, unsigned n, uint64_t seq)
{
	struct hs_wire_hdr h = { .type = HS_WIRE_SYN, .cluster_id = CLUSTER,
				 .sender_id = GEN_ID, .sender_gen = 1,
				 .seq = seq };
	struct hs_wire_builder b;
	unsigned o;

	hs_wire_build_begin(&b, f->buf, sizeof(f->buf), &h);
	hs_wire_section_begin(&b, HS_WIRE_SEC_DIGESTS);
	for (o = 0; o < n; o++) {
		struct hs_wire_digest d = { .node = OWNER0 + o,
					    .generation = 1,
					    .max_version = KEYS };

		hs_wire_put_digest(&b, &d);
	}
	{
		struct hs_wire_digest d = { .node = SINK_ID, .generation = 1 };

		hs_wire_put_digest(&b, &d);
	}
	hs_wire_section_end(&b);
	f->len = (uint16_t)hs_wire_build_end(&b);
}

/* A SYN of bucket hashes only over the same digests as build_syn's, with
 * the n_buckets a node holding them would use (8 owners a bucket). */
static void
build_hashes(struct frame *f, unsigned n, uint64_t seq)
{
	struct hs_wire_hdr h = { .type = HS_WIRE_SYN, .cluster_id = CLUSTER,
				 .sender_id = GEN_ID, .sender_gen = 1,
				 .seq = seq };
	struct hs_wire_builder b;
	uint64_t hashes[64] = { 0 };
	uint32_t nb = 1;
	unsigned o;

	while (nb * 8 < n + 1)
		nb <<= 1;
	for (o = 0; o <= n; o++) {
		struct hs_wire_digest d = { .node = OWNER0 + o,
					    .generation = 1,
					    .max_version = KEYS };

		if (o == n)	/* the sink's own */
			d = (struct hs_wire_digest){ .node = SINK_ID,
						     .generation = 1 };
		hashes[hs_wire_bucket_of(d.node, nb)] ^=
			hs_wire_bucket_term(&d);
	}
	hs_wire_build_begin(&b, f->buf, sizeof(f->buf), &h);
	hs_wire_section_begin(&b, HS_WIRE_SEC_SUMMARY);
	hs_wire_put_summary(&b, (uint16_t)nb, 0, (uint16_t)nb, hashes);
	hs_wire_section_end(&b);
	f->len = (uint16_t)hs_wire_build_end(&b);
}

/* ---- rates ---- */

struct meter {
	uint64_t t[SAMPLES_MAX];
	uint64_t frames[SAMPLES_MAX];
	uint64_t entries[SAMPLES_MAX];
	unsigned n;
	uint64_t next;
};

static void
meter_tick(struct meter *m, uint64_t now, uint64_t frames, uint64_t entries)
{
	if (now < m->next || m->n == SAMPLES_MAX)
		return;
	m->t[m->n] = now;
	m->frames[m->n] = frames;
	m->entries[m->n] = entries;
	m->n++;
	m->next = now + SAMPLE_NS;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median per-second rate over the intervals where frames moved, the first
 * and last such intervals (partial) left out. */
static double
meter_rate(const struct meter *m, bool entries, unsigned *used)
{
	static double r[SAMPLES_MAX];
	unsigned i, first = 0, last = 0, k = 0;

	for (i = 1; i < m->n; i++)
		if (m->frames[i] != m->frames[i - 1]) {
			if (first == 0)
				first = i;
			last = i;
		}
	for (i = first + 1; first != 0 && i < last; i++) {
		const uint64_t *v = entries ? m->entries : m->frames;

		r[k++] = (double)(v[i] - v[i - 1]) * 1e9 /
			 (double)(m->t[i] - m->t[i - 1]);
	}
	*used = k;
	if (k == 0)
		return 0;
	qsort(r, k, sizeof(r[0]), cmp_double);
	return k % 2 ? r[k / 2] : (r[k / 2 - 1] + r[k / 2]) / 2;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		fprintf(stderr, "hearsay-iobench: cannot pin to cpu %d\n", cpu);
}

/* ---- sink ---- */

/* The table's call_rcu thread, made with the affinity of the whole
 * machine: the control side's (never the worker's core, which the EAL or
 * pin() gave this thread). */
static struct call_rcu_data *
control_crdp(void)
{
	cpu_set_t mine, all;
	struct call_rcu_data *crdp;
	long n = sysconf(_SC_NPROCESSORS_ONLN), i;

	pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine);
	CPU_ZERO(&all);
	for (i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine);
	return crdp;
}

static int
run_sink(const struct args *a, struct hs_drv *drv)
{
	struct hs_node_params p = { 0 };
	struct hs_peers_static *ps;
	struct hs_peer_sampler smp;
	struct hs_table_stats ts;
	struct hs_node_stats ns;
	struct hs_node *n;
	struct frame *pre;
	struct meter *m = calloc(1, sizeof(*m));
	unsigned n_pre, i, used_f, used_e;
	uint64_t end, busy_ns = 0, busy_frames = 0;
	struct call_rcu_data *crdp = control_crdp();
	double fps, eps;

	if (m == NULL || hs_peers_static_create(1, &ps) != 0)
		return 1;
	hs_peers_static_set(ps, 0, GEN_ID, &a->peer);
	smp = hs_peers_static_sampler(ps);
	p.id = SINK_ID;
	p.generation = 1;
	p.cluster_id = CLUSTER;
	p.io = hs_drv_queue(drv, 0);
	p.sampler = &smp;
	p.table.max_members = a->owners + 16;
	p.table.max_keys_per_node = KEYS + 24;
	p.table.crdp = crdp;
	p.tx_batch = 32;
	if (crdp == NULL || hs_node_create(&p, &n) != 0) {
		fprintf(stderr, "hearsay-iobench: node\n");
		return 1;
	}
	/* preload: the generator's round 0 */
	pre = build_deltas(a->owners, &n_pre);
	for (i = 0; i < n_pre; i++) {
		struct hs_wire_msg msg;

		if (hs_wire_decode(pre[i].buf, pre[i].len, &msg) == 0)
			hs_table_merge_msg(hs_node_table_ctx(n), &msg);
		if (i % 32 == 31) {
			hs_table_ctx_flush(hs_node_table_ctx(n));
			urcu_qsbr_quiescent_state();
		}
	}
	free(pre);
	while (hs_node_poll(n) > 0)	/* take the preload's rumors */
		urcu_qsbr_quiescent_state();
	hs_table_stats(hs_node_table(n), &ts);
	printf("ready %" PRIu64 " owners %" PRIu64 " keys\n", ts.owners,
	       ts.keys);
	fflush(stdout);
	end = hs_clock_monotonic(NULL) + (uint64_t)a->seconds * 1000000000ull;
	for (uint64_t prev = 0;;) {
		uint64_t now = hs_clock_monotonic(NULL);
		int w;

		/* busy time: the polls that found frames, so that a sink
		 * faster than its generator still shows what it could take
		 * (frames per busy second); timed from this clock read to
		 * the next one, so that measuring costs one read a pass */
		if (prev != 0) {
			busy_ns += now - prev;
			prev = 0;
		}
		if (now >= end || stop)
			break;
		w = hs_node_poll(n);
		urcu_qsbr_quiescent_state();
		if (w > 0) {
			prev = now;
			busy_frames += (uint64_t)w;
		}
		if (now >= m->next) {
			/* the table's merged counter walks every owner: 100
			 * ms apart it costs nothing */
			hs_node_stats(n, &ns);
			hs_table_stats(hs_node_table(n), &ts);
			meter_tick(m, now, ns.rx_frames, ts.merged);
		}
	}
	hs_node_stats(n, &ns);
	fps = meter_rate(m, false, &used_f);
	eps = meter_rate(m, true, &used_e);
	if (a->json) {
		printf("{\"role\": \"sink\", \"workload\": \"%s\", "
		       "\"driver\": \"%s\", \"frames_per_s\": %.0f, "
		       "\"entries_per_s\": %.0f, \"samples\": %u, "
		       "\"frames_per_busy_s\": %.0f, "
		       "\"rx_frames\": %" PRIu64 ", \"tx_frames\": %" PRIu64
		       ", \"rx_bad\": %" PRIu64 ", \"ack_sent\": %" PRIu64
		       ", \"syn_replies\": %" PRIu64 ", \"ack_empty\": %"
		       PRIu64 ", \"driver_stats\": ",
		       a->workload, a->dc.driver, fps, eps, used_f,
		       busy_ns ? (double)busy_frames * 1e9 / (double)busy_ns : 0,
		       ns.rx_frames, ns.tx_frames, ns.rx_bad, ns.ack_sent,
		       ns.syn_replies, ns.ack_empty);
		hs_drv_stats_json(drv, 0, stdout);
		printf("}\n");
	} else {
		printf("sink %s over %s: %.0f frames/s, %.0f entries/s merged "
		       "(median of %u samples), %.0f frames per busy second; %"
		       PRIu64 " frames in, %" PRIu64 " out, %" PRIu64
		       " bad; %" PRIu64 " ACKs, %" PRIu64 " SYNs in reply, %"
		       PRIu64 " SYNs unanswered\n", a->workload,
		       a->dc.driver, fps, eps, used_f,
		       busy_ns ? (double)busy_frames * 1e9 / (double)busy_ns : 0,
		       ns.rx_frames, ns.tx_frames, ns.rx_bad, ns.ack_sent,
		       ns.syn_replies, ns.ack_empty);
	}
	hs_node_destroy(n);
	hs_peers_static_destroy(ps);
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	urcu_qsbr_call_rcu_data_free(crdp);
	free(m);
	return used_f > 0 ? 0 : 1;
}

/* ---- generator ---- */

static int
run_gen(const struct args *a, struct hs_drv *drv)
{
	struct hs_pktio *io = hs_drv_queue(drv, 0);
	struct meter *m = calloc(1, sizeof(*m));
	struct frame *f = NULL;
	struct hs_pkt out[32], in[32];
	unsigned n_f = 0, next = 0, used;
	uint64_t end, seq = 1;
	bool fresh = strcmp(a->workload, "fresh") == 0;
	bool sync = strcmp(a->workload, "sync") == 0;
	bool hashes = strcmp(a->workload, "hashes") == 0;
	double fps;

	if (m == NULL)
		return 1;
	if (sync || hashes) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return 1;
		if (sync)
			build_syn(f, a->owners, seq);
		else
			build_hashes(f, a->owners, seq);
		n_f = 1;
	} else {
		f = build_deltas(a->owners, &n_f);
		if (fresh)	/* round 0 is the sink's preload */
			for (unsigned i = 0; i < n_f; i++)
				bump(&f[i]);
	}
	end = hs_clock_monotonic(NULL) + (uint64_t)a->seconds * 1000000000ull;
	for (;;) {
		uint64_t now = hs_clock_monotonic(NULL);
		unsigned k;

		if (now >= end || stop)
			break;
		(void)hs_pktio_rx_burst(io, in, 32);	/* ARP, ACKs */
		for (k = 0; k < 32; k++) {
			struct frame *x = &f[next];

			out[k] = (struct hs_pkt){ .data = x->buf,
						  .len = x->len,
						  .peer = a->peer };
			if (++next == n_f)
				next = 0;
		}
		(void)hs_pktio_tx_burst(io, out, 32);
		/* fresh: a frame sent (the driver copied it) carries the
		 * next round's versions from now on */
		if (fresh)
			for (k = 0; k < 32; k++) {
				unsigned at = (next + n_f - 32 + k) % n_f;

				bump(&f[at]);
			}
		meter_tick(m, now, io->stats.tx_pkts, 0);
	}
	fps = meter_rate(m, false, &used);
	if (a->json) {
		printf("{\"role\": \"gen\", \"workload\": \"%s\", "
		       "\"driver\": \"%s\", \"frames_per_s\": %.0f, "
		       "\"frame_bytes\": %u, \"samples\": %u, "
		       "\"driver_stats\": ", a->workload, a->dc.driver, fps,
		       f[0].len, used);
		hs_drv_stats_json(drv, 0, stdout);
		printf("}\n");
	} else {
		printf("gen %s over %s: %.0f frames/s sent (%u-byte gossip "
		       "frames, median of %u samples); %" PRIu64 " sent, %"
		       PRIu64 " dropped\n", a->workload, a->dc.driver, fps,
		       f[0].len, used, io->stats.tx_pkts, io->stats.tx_drops);
	}
	free(f);
	free(m);
	return used > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct hs_drv *drv;
	struct args a;
	int rc = 2;

	parse(argc, argv, &a);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (hs_drv_open(&a.dc, &drv) != 0)
		return 2;
	pin(a.cpu);
	hs_drv_thread_init(drv);
	urcu_qsbr_register_thread();
	if (strcmp(a.role, "sink") == 0)
		rc = run_sink(&a, drv);
	else
		rc = run_gen(&a, drv);
	urcu_qsbr_unregister_thread();
	hs_drv_close(drv);
	return rc;
}
