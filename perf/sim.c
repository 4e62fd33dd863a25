/*
 * hearsay-sim: N real gossip engines in one process, in virtual time.
 *
 * Every node is a real struct hs_node (engine/node.h) on its own port of an
 * in-memory network (drivers/mem.h) with seeded loss, duplication, delay,
 * jitter, partitions and crashes.  Time is virtual: one global counter that
 * every node reads through its injected clock and that the loop moves by
 * one 1 ms tick at a time (deliver what is due, then poll every live node).
 * Nothing reads the wall clock except the progress lines on stderr, so the
 * same options and seed give the same stdout, bit for bit.
 *
 * Scenario (docs/SIM.md has the long form):
 *   1. start N nodes, each knowing node 0 as its seed;
 *   2. membership (--peers full only): run rounds until every node knows
 *      the N-1 others (or --max-rounds, and say so);
 *   3. broadcast: optionally split the net 50/50 and/or crash a fraction of
 *      the nodes, then write one key at a random node and run rounds until
 *      every live node holds it (or --max-rounds); the first time each node
 *      holds it is taken at tick resolution (1 ms);
 *   4. report Demers et al.'s metrics: residue, traffic, convergence,
 *      t_avg and t_last, and the infection curve.
 *
 * Scale: with --peers full every node has its own full membership table and
 * a state table row per member, so memory and CPU grow as N^2 (docs/SIM.md
 * has the measured limit).  With --peers shared (the default above 1000
 * nodes) one hs_peers_static of every node is every node's sampler, the
 * nodes gossip no membership and the membership phase is skipped: about
 * 118 KB a node, all of it the engine's, so 100,000 nodes fit in 12 GiB.  What this file keeps per node is small on
 * purpose: 32 bytes (node, port, first-held time, rx count, down flag) and
 * a 4-byte slot of the list of nodes that still miss the update.  Addresses
 * are derived from the index, never stored.
 *
 * Threads: one.  It is a registered QSBR reader, online while it drives the
 * nodes, and announces a quiescent state once per tick (so the entries that
 * merges replace are freed at most one tick later).  The only other thread
 * is the one call_rcu thread that every node's table shares (params.table
 * .crdp): a thousand tables each with their own call_rcu thread would cost
 * a thousand threads and their stacks for nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "drivers/mem.h"
#include "engine/hearsay.h"
#include "engine/node.h"
#include "engine/util.h"

#define SIM_TICK_NS		1000000ull	/* the loop's step: 1 ms */
#define SIM_PORT		7946
#define SIM_CLUSTER_ID		0x53494d31u	/* "SIM1" */
#define SIM_KEY			"sim-update"
/* 10.x.y.z addresses give 2^24 - 1 nodes, memnet's port limit too */
#define SIM_MAX_NODES		16777215u
/* Up to 8 bursts of 32 frames per node per tick: a node gets about one
 * frame a millisecond at fanout 3, so 8 only matters for the seed. */
#define SIM_POLL_PASSES		8
/* Progress lines from 5000 nodes on, or once a run took 2 s of wall
 * time, at most one a second. */
#define SIM_PROGRESS_NODES	5000u
#define SIM_PROGRESS_AFTER_NS	2000000000ull
#define SIM_PROGRESS_EVERY_NS	1000000000ull

/* Where the nodes' gossip partners come from (--peers). */
#define SIM_PEERS_AUTO		0	/* shared above 1000 nodes, else full */
#define SIM_PEERS_FULL		1	/* each node its own learnt members */
#define SIM_PEERS_SHARED	2	/* one hs_peers_static for all */
#define SIM_PEERS_AUTO_NODES	1000u
/* Owners a node holds in shared mode: only those whose data reached it
 * (the origin of the update; no node records, no hs.addr keys). */
#define SIM_SHARED_MAX_MEMBERS	64u

/* Exit statuses. */
#define SIM_EXIT_OK		0	/* every live node got the update */
#define SIM_EXIT_RESIDUE	1	/* some live node never got it */
#define SIM_EXIT_USAGE		2	/* bad options */
#define SIM_EXIT_ERROR		3	/* could not run (memory, setup) */

struct sim_opts {
	unsigned n_nodes;
	unsigned fanout;
	unsigned interval_ms;
	double loss;
	double dup;
	uint64_t delay_us;
	uint64_t jitter_us;
	uint64_t seed;
	unsigned max_rounds;
	bool partition;
	unsigned heal_rounds;
	double crash;
	bool json;
	const char *svg_path;
	FILE *svg;
	bool quiet;
	int peers;			/* SIM_PEERS_* */
	unsigned rumor_rounds;		/* 0: the engine's default */
	bool no_push_now;
	uint8_t syn_mode;		/* enum hs_syn_mode */
	bool preload;			/* members known from the start */
	int fd_mode;			/* enum hs_fd_mode */
	unsigned fd_crash;		/* killed for the detection phase */
};

/* 32 bytes a node. */
struct sim_node {
	struct hs_node *node;
	struct hs_pktio *io;
	uint64_t got_ns;		/* since the write; UINT64_MAX: not */
	uint32_t rx_seen;		/* rx_frames (low bits) at last look */
	uint8_t down;
	uint8_t victim;			/* killed in the detection phase */
};

struct sim_counts {
	uint64_t tx_frames;
	uint64_t tx_bytes;
	struct hs_memnet_stats net;
};

struct sim {
	struct sim_opts o;
	struct hs_memnet *net;
	struct call_rcu_data *crdp;
	/* shared mode: one list of every node, and the sampler over it
	 * that every node's params.sampler points to; both outlive the
	 * nodes (freed in sim_stop after the last hs_node_destroy) */
	struct hs_peers_static *view;
	struct hs_peer_sampler sampler;
	bool shared;
	struct sim_node *nodes;
	uint32_t *pending;		/* live nodes without the update */
	unsigned n_pending;
	uint32_t *curve;		/* holders at the end of round r */
	uint64_t rng;			/* origin and crash choice */
	uint64_t tick_ns;
	uint64_t interval_ns;

	/* progress */
	uint64_t wall0_ns;
	uint64_t wall_last_ns;
	bool progress;

	/* results */
	bool membership_ok;
	unsigned membership_rounds;
	double membership_known;	/* fraction of the N(N-1) pairs */
	unsigned origin;
	unsigned n_crashed;
	unsigned n_live;
	unsigned n_holders;
	bool converged;
	unsigned rounds_run;		/* broadcast rounds actually run */
	uint64_t write_ns;		/* virtual time of the write */
	struct sim_counts before;
	struct sim_counts after;
	double peak_rss_mb;		/* at the end of the broadcast */

	/* failure detection (full membership only) */
	uint64_t false_suspect;		/* notices about live nodes */
	uint64_t false_dead;
	uint64_t fd_t0;			/* virtual time of the kills */
	uint64_t fd_first_ns;		/* first (observer, victim) dead */
	uint64_t fd_all_ns;		/* last one */
	uint64_t fd_pairs;		/* (observer, victim) marked dead */
	uint64_t fd_want;
	uint8_t *fd_seen;		/* [victim slot][observer] */
	uint32_t *fd_victims;
	bool fd_done;
};

/* The one virtual clock every node reads. */
static uint64_t sim_vnow;

static uint64_t
sim_vclock(void *arg)
{
	(void)arg;
	return sim_vnow;
}

/* Node i lives at 10.a.b.c:7946 with abc = i (24 bits). */
static struct hs_addr
sim_addr(unsigned i)
{
	return hs_addr_v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			  (uint8_t)i, SIM_PORT);
}

static uint64_t
sim_node_id(unsigned i)
{
	return (uint64_t)i + 1;		/* ids are nonzero */
}

/* ---- options ---- */

static void
sim_usage(FILE *f)
{
	fprintf(f,
"usage: hearsay-sim [options]\n"
"\n"
"Runs N real hearsay nodes in one process over an in-memory network, in\n"
"virtual time, deterministic from --seed: membership first, then one\n"
"update written at a random node, spread until every live node holds it.\n"
"\n"
"  --nodes N          nodes (default 1000, at least 2)\n"
"  --fanout F         peers per round, 1..16 (default 3)\n"
"  --interval-ms MS   round period, 1..60000 (default 10)\n"
"  --loss P           datagram loss probability, 0..1 (default 0)\n"
"  --dup P            datagram duplication probability, 0..1 (default 0)\n"
"  --delay-us US      one-way delay (default 200)\n"
"  --jitter-us US     + uniform 0..US, reorders (default 100)\n"
"  --seed S           everything random follows from it (default 1)\n"
"  --max-rounds R     per phase, membership and broadcast (default 200)\n"
"  --partition        split the nodes 50/50 when the update is written ...\n"
"  --heal-rounds R    ... and heal after R rounds (default 10)\n"
"  --crash P          crash this fraction of the nodes other than the\n"
"                     origin when the update is written, 0..1 (default 0)\n"
"  --peers full|shared  full: every node learns its own membership by\n"
"                     gossip first (N^2 memory); shared: one list of every\n"
"                     node serves all, no membership phase (default shared\n"
"                     above 1000 nodes, else full)\n"
"  --rumor-rounds R   rounds a fresh update is pushed (default 0: the\n"
"                     engine's, ceil(log2(members + 1)) + 1)\n"
"  --fd swim|phi      failure detection (--peers full): probes (default)\n"
"                     or phi accrual on gossiped heartbeats\n"
"  --fd-crash K       after the broadcast, kill K live nodes without a\n"
"                     word and time their detection (default 1 with\n"
"                     --peers full, 0 to skip)\n"
"  --preload          --peers full: every node starts knowing every other\n"
"                     (their records merged before the first round), to\n"
"                     measure detection at sizes where the mass join would\n"
"                     take too long; no join figure then\n"
"  --no-push-now      push fresh updates only with the next round, not at\n"
"                     once too\n"
"  --syn MODE         what SYNs carry: auto (default), summary, digests\n"
"                     (gossip.syn, docs/PROTOCOL.md 7.1)\n"
"  --json             print one JSON object instead of the table\n"
"  --svg FILE         write the infection curve as an SVG chart\n"
"  --quiet            no progress lines on stderr\n"
"  --help             this text\n"
"\n"
"Exit status: 0 every live node got the update, 1 some never did,\n"
"2 bad options, 3 could not run (out of memory).  docs/SIM.md has more.\n");
}

static int
sim_bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "hearsay-sim: %s '%s': %s (see --help)\n", opt, val,
		why);
	return -EINVAL;
}

static int
sim_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
	      uint64_t *out)
{
	char range[64];
	char *end;
	unsigned long long v;

	snprintf(range, sizeof(range), "want an integer in %" PRIu64 "..%"
		 PRIu64, min, max);
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return sim_bad(opt, s, range);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return sim_bad(opt, s, range);
	*out = v;
	return 0;
}

static int
sim_parse_uint(const char *opt, const char *s, unsigned min, unsigned max,
	       unsigned *out)
{
	uint64_t v;
	int rc = sim_parse_u64(opt, s, min, max, &v);

	if (rc == 0)
		*out = (unsigned)v;
	return rc;
}

/* A probability in [0, 1] (or [0, 1) when below_one). */
static int
sim_parse_prob(const char *opt, const char *s, bool below_one, double *out)
{
	const char *why = below_one ? "want a fraction in 0..1, below 1" :
				      "want a probability in 0..1";
	char *end;
	double v;

	if (*s == '\0' || *s == ' ')
		return sim_bad(opt, s, why);
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0.0 && v <= 1.0) ||
	    (below_one && v >= 1.0))
		return sim_bad(opt, s, why);
	*out = v;
	return 0;
}

enum {
	OPT_NODES = 256,
	OPT_FANOUT,
	OPT_INTERVAL,
	OPT_LOSS,
	OPT_DUP,
	OPT_DELAY,
	OPT_JITTER,
	OPT_SEED,
	OPT_MAX_ROUNDS,
	OPT_PARTITION,
	OPT_HEAL,
	OPT_CRASH,
	OPT_JSON,
	OPT_SVG,
	OPT_QUIET,
	OPT_PEERS,
	OPT_RUMOR_ROUNDS,
	OPT_NO_PUSH_NOW,
	OPT_SYN,
	OPT_FD,
	OPT_FD_CRASH,
	OPT_PRELOAD,
	OPT_HELP,
};

/* Returns 0, 1 (--help: done) or -EINVAL (message printed). */
static int
sim_parse(int argc, char **argv, struct sim_opts *o)
{
	static const struct option longopts[] = {
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "fanout", required_argument, NULL, OPT_FANOUT },
		{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "dup", required_argument, NULL, OPT_DUP },
		{ "delay-us", required_argument, NULL, OPT_DELAY },
		{ "jitter-us", required_argument, NULL, OPT_JITTER },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "max-rounds", required_argument, NULL, OPT_MAX_ROUNDS },
		{ "partition", no_argument, NULL, OPT_PARTITION },
		{ "heal-rounds", required_argument, NULL, OPT_HEAL },
		{ "crash", required_argument, NULL, OPT_CRASH },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "peers", required_argument, NULL, OPT_PEERS },
		{ "rumor-rounds", required_argument, NULL, OPT_RUMOR_ROUNDS },
		{ "no-push-now", no_argument, NULL, OPT_NO_PUSH_NOW },
		{ "syn", required_argument, NULL, OPT_SYN },
		{ "fd", required_argument, NULL, OPT_FD },
		{ "fd-crash", required_argument, NULL, OPT_FD_CRASH },
		{ "preload", no_argument, NULL, OPT_PRELOAD },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool heal_given = false;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->n_nodes = 1000;
	o->fanout = 3;
	o->interval_ms = 10;
	o->delay_us = 200;
	o->jitter_us = 100;
	o->seed = 1;
	o->max_rounds = 200;
	o->fd_crash = UINT_MAX;		/* 1 with --peers full */
	o->heal_rounds = 10;

	/* ":" first: a missing value comes back as ':', not '?' */
	opterr = 0;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NODES:
			rc = sim_parse_uint("--nodes", optarg, 2,
					    SIM_MAX_NODES, &o->n_nodes);
			break;
		case OPT_FANOUT:	/* the engine takes at most 16 */
			rc = sim_parse_uint("--fanout", optarg, 1, 16,
					    &o->fanout);
			break;
		case OPT_INTERVAL:
			rc = sim_parse_uint("--interval-ms", optarg, 1, 60000,
					    &o->interval_ms);
			break;
		case OPT_LOSS:
			rc = sim_parse_prob("--loss", optarg, false, &o->loss);
			break;
		case OPT_DUP:
			rc = sim_parse_prob("--dup", optarg, false, &o->dup);
			break;
		case OPT_DELAY:	/* up to 10 s: past that, not a network */
			rc = sim_parse_u64("--delay-us", optarg, 0, 10000000,
					   &o->delay_us);
			break;
		case OPT_JITTER:
			rc = sim_parse_u64("--jitter-us", optarg, 0, 10000000,
					   &o->jitter_us);
			break;
		case OPT_SEED:
			rc = sim_parse_u64("--seed", optarg, 0, UINT64_MAX,
					   &o->seed);
			break;
		case OPT_MAX_ROUNDS:
			rc = sim_parse_uint("--max-rounds", optarg, 1, 1000000,
					    &o->max_rounds);
			break;
		case OPT_PARTITION:
			o->partition = true;
			break;
		case OPT_HEAL:
			rc = sim_parse_uint("--heal-rounds", optarg, 0,
					    1000000, &o->heal_rounds);
			heal_given = true;
			break;
		case OPT_CRASH:
			rc = sim_parse_prob("--crash", optarg, true,
					    &o->crash);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SVG:
			if (optarg[0] == '\0')
				rc = sim_bad("--svg", optarg, "want a file");
			o->svg_path = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_PEERS:
			if (strcmp(optarg, "full") == 0)
				o->peers = SIM_PEERS_FULL;
			else if (strcmp(optarg, "shared") == 0)
				o->peers = SIM_PEERS_SHARED;
			else
				rc = sim_bad("--peers", optarg,
					     "want full or shared");
			break;
		case OPT_RUMOR_ROUNDS:
			rc = sim_parse_uint("--rumor-rounds", optarg, 0,
					    1000000, &o->rumor_rounds);
			break;
		case OPT_FD:
			if (strcmp(optarg, "swim") == 0)
				o->fd_mode = HS_FD_SWIM;
			else if (strcmp(optarg, "phi") == 0)
				o->fd_mode = HS_FD_PHI;
			else
				rc = sim_bad("--fd", optarg,
					     "want swim or phi");
			break;
		case OPT_PRELOAD:
			o->preload = true;
			break;
		case OPT_FD_CRASH:
			rc = sim_parse_uint("--fd-crash", optarg, 0, 1000000,
					    &o->fd_crash);
			break;
		case OPT_NO_PUSH_NOW:
			o->no_push_now = true;
			break;
		case OPT_SYN: {
			int m = hs_syn_mode_parse(optarg);

			if (m < 0) {
				fprintf(stderr, "hearsay-sim: --syn: auto, "
					"summary or digests, not '%s'\n",
					optarg);
				rc = -1;
			}
			o->syn_mode = (uint8_t)m;
			break;
		}
		case OPT_HELP:
			sim_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "hearsay-sim: %s needs a value "
				"(see --help)\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "hearsay-sim: unknown option '%s' "
				"(see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "hearsay-sim: unexpected argument '%s' "
			"(see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (o->peers == SIM_PEERS_AUTO)
		o->peers = o->n_nodes > SIM_PEERS_AUTO_NODES ?
			   SIM_PEERS_SHARED : SIM_PEERS_FULL;
	if (heal_given && !o->partition) {
		fprintf(stderr, "hearsay-sim: --heal-rounds needs --partition "
			"(see --help)\n");
		return -EINVAL;
	}
	/* Open the chart's file now, so that a bad path costs no run. */
	if (o->svg_path != NULL) {
		o->svg = fopen(o->svg_path, "w");
		if (o->svg == NULL) {
			fprintf(stderr, "hearsay-sim: --svg '%s': %s\n",
				o->svg_path, strerror(errno));
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- progress (stderr, wall clock: never on stdout) ---- */

static bool
sim_progress_due(struct sim *s)
{
	uint64_t now;

	if (s->o.quiet)
		return false;
	now = hs_clock_monotonic(NULL);
	if (!s->progress && s->o.n_nodes < SIM_PROGRESS_NODES &&
	    now - s->wall0_ns < SIM_PROGRESS_AFTER_NS)
		return false;
	s->progress = true;
	if (now - s->wall_last_ns < SIM_PROGRESS_EVERY_NS)
		return false;
	s->wall_last_ns = now;
	return true;
}

static double
sim_wall_s(const struct sim *s)
{
	return (double)(hs_clock_monotonic(NULL) - s->wall0_ns) / 1e9;
}

/* Peak resident set of the process so far, MiB (ru_maxrss is in KiB). */
static double
sim_peak_rss_mb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_maxrss / 1024;
}

/* ---- the cluster ---- */

static int
sim_start(struct sim *s)
{
	const struct hs_addr seed_addr = sim_addr(0);
	struct hs_memnet_params np = {
		.seed = s->o.seed,
		.loss = s->o.loss,
		.dup = s->o.dup,
		.delay_ns = s->o.delay_us * 1000,
		.jitter_ns = s->o.jitter_us * 1000,
	};
	unsigned n = s->o.n_nodes, i;
	int rc;

	rc = hs_memnet_create(&np, &s->net);
	if (rc < 0) {
		fprintf(stderr, "hearsay-sim: memnet: %s\n", strerror(-rc));
		return rc;
	}
	s->crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	s->nodes = calloc(n, sizeof(*s->nodes));
	s->pending = calloc(n, sizeof(*s->pending));
	s->curve = calloc((size_t)s->o.max_rounds + 1, sizeof(*s->curve));
	if (s->crdp == NULL || s->nodes == NULL || s->pending == NULL ||
	    s->curve == NULL) {
		fprintf(stderr, "hearsay-sim: out of memory\n");
		return -ENOMEM;
	}
	s->shared = s->o.peers == SIM_PEERS_SHARED;
	if (s->shared) {
		/* One list of everybody, read-only once filled: 32 bytes a
		 * node in all, instead of N learnt members per node. */
		rc = hs_peers_static_create(n, &s->view);
		if (rc < 0) {
			fprintf(stderr, "hearsay-sim: peer list: %s\n",
				strerror(-rc));
			return rc;
		}
		for (i = 0; i < n; i++) {
			struct hs_addr a = sim_addr(i);

			hs_peers_static_set(s->view, i, sim_node_id(i), &a);
		}
		s->sampler = hs_peers_static_sampler(s->view);
	}
	for (i = 0; i < n; i++) {
		struct hs_addr a = sim_addr(i);
		struct hs_node_params p;
		uint64_t rng;
		char name[24];

		rc = hs_memnet_open(s->net, &a, &s->nodes[i].io);
		if (rc < 0) {
			fprintf(stderr, "hearsay-sim: port of node %u: %s\n",
				i, strerror(-rc));
			return rc;
		}
		memset(&p, 0, sizeof(p));
		snprintf(name, sizeof(name), "sim-%u", i);
		p.id = sim_node_id(i);
		p.generation = 1;
		p.name = name;
		p.cluster_id = SIM_CLUSTER_ID;
		p.seeds = &seed_addr;
		p.n_seeds = 1;
		p.interval_ns = s->interval_ns;
		p.fanout = s->o.fanout;
		/* Each node its own stream, all from the one seed.  The
		 * engine starts its generator at rng_seed ^ id, so the seed
		 * must not be a linear function of i: seed * G + i gave
		 * (G + i) ^ (i + 1), only 17 distinct streams for 1000 nodes
		 * and 213 for 100,000, so whole classes of nodes picked the
		 * same peers in the same round and overflowed those peers'
		 * receive queues (61% of the frames dropped at 100,000).
		 * splitmix64's output over the seed's stream is a bijection
		 * of i: N distinct streams. */
		rng = s->o.seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		p.rng_seed = hs_splitmix64(&rng);
		p.clock = sim_vclock;
		p.io = s->nodes[i].io;
		p.table.crdp = s->crdp;
		p.rumor_rounds = s->o.rumor_rounds;
		p.push_now_off = s->o.no_push_now;
		p.syn_mode = s->o.syn_mode;
		/* Full: every node holds a row per member and itself, 8
		 * spare.  Shared: only the owners whose data reached it. */
		if (s->shared) {
			p.sampler = &s->sampler;
			p.table.max_members = SIM_SHARED_MAX_MEMBERS;
		} else {
			p.table.max_members = n + 8 > 4096 ? n + 8 : 4096;
		}
		/* A few keys per owner (its address, the one update): the
		 * default 1024-slot change log costs 8 KiB per owner with
		 * keys, so N^2 x 8 KiB in all (measured at 300 nodes: 839
		 * MB peak RSS with the defaults, 129 MB with these; 1000
		 * nodes would need 8 GiB).  A short log only means a delta
		 * build falls back to a key scan, which is as cheap here. */
		p.table.max_keys_per_node = 16;
		p.table.log_slots = 4;
		p.fd_mode = (uint8_t)s->o.fd_mode;
		p.notify_bytes = 64 * 1024;	/* membership notices only */
		rc = hs_node_create(&p, &s->nodes[i].node);
		if (rc < 0) {
			fprintf(stderr, "hearsay-sim: node %u: %s\n", i,
				strerror(-rc));
			return rc;
		}
		/* every suspicion and death, for the detection figures and
		 * the false ones over the whole run */
		hs_subscribe(s->nodes[i].node, HS_SUB(HS_NOTICE_SUSPECT) |
					       HS_SUB(HS_NOTICE_DEAD));
		s->nodes[i].got_ns = UINT64_MAX;
		if ((i & 1023) == 1023 && sim_progress_due(s))
			fprintf(stderr, "hearsay-sim: started %u of %u nodes, "
				"%.1f s\n", i + 1, n, sim_wall_s(s));
	}
	return 0;
}

static void
sim_stop(struct sim *s)
{
	unsigned i;

	if (s->nodes != NULL)
		for (i = 0; i < s->o.n_nodes; i++) {
			hs_node_destroy(s->nodes[i].node);
			if (s->nodes[i].io != NULL)
				hs_pktio_close(s->nodes[i].io);
		}
	/* Every table handed its replaced entries to the shared call_rcu
	 * thread; wait for them before the thread goes. */
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	if (s->crdp != NULL)
		urcu_qsbr_call_rcu_data_free(s->crdp);
	hs_memnet_destroy(s->net);
	/* after the last node: every node's sampler pointed into it */
	if (s->view != NULL)
		hs_peers_static_destroy(s->view);
	free(s->nodes);
	free(s->pending);
	free(s->curve);
	free(s->fd_victims);
	free(s->fd_seen);
}

/*
 * One tick of virtual time: deliver what is due, let every live node work,
 * then, during the broadcast, note who holds the update now.  A crashed
 * node is not polled: it would only run rounds whose frames its down port
 * drops.
 */
static void
sim_tick(struct sim *s, bool broadcast)
{
	unsigned i, pass;

	sim_vnow += s->tick_ns;
	hs_memnet_advance(s->net, sim_vnow);
	for (i = 0; i < s->o.n_nodes; i++) {
		struct sim_node *sn = &s->nodes[i];

		if (sn->down)
			continue;
		for (pass = 0; pass < SIM_POLL_PASSES &&
			       hs_node_poll(sn->node) > 0; pass++)
			;
	}
	if (broadcast) {
		uint64_t origin = sim_node_id(s->origin);
		struct hs_table_kv kv;

		/* A node's table changes only when it receives a frame: look
		 * up the key only then.  At 1000 nodes and 10 ticks a round,
		 * looking every tick cost 14% of the run in hash lookups. */
		for (i = 0; i < s->n_pending;) {
			struct sim_node *sn = &s->nodes[s->pending[i]];
			struct hs_node_stats st;

			hs_node_stats(sn->node, &st);
			if ((uint32_t)st.rx_frames == sn->rx_seen) {
				i++;
				continue;
			}
			sn->rx_seen = (uint32_t)st.rx_frames;
			if (hs_table_get(hs_node_table_ctx(sn->node), origin,
					 SIM_KEY, sizeof(SIM_KEY) - 1,
					 &kv) == 0 && !kv.tombstone) {
				sn->got_ns = sim_vnow - s->write_ns;
				s->n_holders++;
				s->pending[i] = s->pending[--s->n_pending];
			} else {
				i++;
			}
		}
	}
	urcu_qsbr_quiescent_state();
}

struct sim_observer {
	struct sim *s;
	unsigned at;
};

/* A suspicion or death noticed by node o->at: true when its subject is
 * down, false otherwise; the victims' deaths are timed. */
static void
sim_notice(const struct hs_notice *nt, void *arg)
{
	struct sim_observer *o = arg;
	struct sim *s = o->s;
	unsigned j = (unsigned)(nt->node - 1), k;

	if (j >= s->o.n_nodes)
		return;
	if (!s->nodes[j].down) {
		if (nt->type == HS_NOTICE_SUSPECT)
			s->false_suspect++;
		else if (nt->type == HS_NOTICE_DEAD)
			s->false_dead++;
		return;
	}
	if (nt->type != HS_NOTICE_DEAD || !s->nodes[j].victim)
		return;
	for (k = 0; k < s->o.fd_crash && s->fd_victims[k] != j; k++)
		;
	if (k == s->o.fd_crash ||
	    s->fd_seen[(size_t)k * s->o.n_nodes + o->at])
		return;
	s->fd_seen[(size_t)k * s->o.n_nodes + o->at] = 1;
	if (s->fd_pairs++ == 0)
		s->fd_first_ns = sim_vnow - s->fd_t0;
	s->fd_all_ns = sim_vnow - s->fd_t0;
}

static void
sim_notices(struct sim *s)
{
	unsigned i;

	for (i = 0; i < s->o.n_nodes; i++) {
		struct sim_observer o = { s, i };

		if (!s->nodes[i].down)
			hs_notices(s->nodes[i].node, sim_notice, &o, 0);
	}
}

static void
sim_round(struct sim *s, bool broadcast)
{
	uint64_t t;

	for (t = 0; t < s->interval_ns; t += s->tick_ns)
		sim_tick(s, broadcast);
	if (!s->shared)
		sim_notices(s);
}

/* Members known, summed over the nodes; returns true if everyone knows
 * everyone. */
static bool
sim_members(struct sim *s, uint64_t *sum)
{
	unsigned i;

	*sum = 0;
	for (i = 0; i < s->o.n_nodes; i++) {
		struct hs_node_stats st;

		hs_node_stats(s->nodes[i].node, &st);
		*sum += st.members;
	}
	return *sum == (uint64_t)s->o.n_nodes * (s->o.n_nodes - 1);
}

/* The last few missing pairs, and what the node believes of them. */
static void
sim_missing(struct sim *s)
{
	unsigned i, j;

	for (i = 0; i < s->o.n_nodes; i++) {
		struct hs_node_stats st;

		hs_node_stats(s->nodes[i].node, &st);
		if (st.members == s->o.n_nodes - 1)
			continue;
		{
			struct hs_table_stats ts;

			hs_table_stats(hs_node_table(s->nodes[i].node), &ts);
			fprintf(stderr, "hearsay-sim:   node %u: %" PRIu64
				" owners, limits %" PRIu64 " stale %" PRIu64
				" syn %" PRIu64 " ack %" PRIu64 " rx %" PRIu64
				"\n", i, ts.owners, ts.lim_members,
				ts.stale_gen, st.syn_sent, st.ack_sent,
				st.rx_frames);
		}
		for (j = 0; j < s->o.n_nodes; j++) {
			struct hs_member_info mi;
			struct hs_table_node tn;
			int rc;

			if (j == i)
				continue;
			rc = hs_member(s->nodes[i].node, sim_node_id(j), &mi);
			if (rc == 0 && (mi.status == HS_WIRE_ST_ALIVE ||
					mi.status == HS_WIRE_ST_SUSPECT))
				continue;
			fprintf(stderr, "hearsay-sim:   node %u lacks %u: "
				"member %s status %d, table %s\n", i, j,
				rc == 0 ? "known" : "unknown",
				rc == 0 ? mi.status : -1,
				hs_table_node_get(hs_node_table_ctx(
					s->nodes[i].node), sim_node_id(j),
					&tn) == 0 ? "holds it" : "does not");
		}
	}
}

/*
 * --preload: the state a completed join leaves, without the join: every
 * node's record, and its hs.addr key (version 1, as hs_node_create
 * writes it), merged
 * into every other node's table; the change rings are emptied after, so
 * that none of it is pushed as a rumor.  The nodes take the members at
 * their first round.
 */
static int
sim_preload(struct sim *s)
{
	static uint8_t buf[HS_WIRE_FRAME_DEFAULT];
	struct hs_table_change ch[64];
	unsigned i, j;

	for (j = 0; j < s->o.n_nodes; j++) {
		struct hs_addr a = sim_addr(j);
		struct hs_wire_hdr h = { .type = HS_WIRE_PUSH,
					 .cluster_id = SIM_CLUSTER_ID,
					 .sender_id = sim_node_id(j),
					 .sender_gen = 1, .seq = 1 };
		struct hs_wire_node rec = { .node = sim_node_id(j),
					    .generation = 1,
					    .status = HS_WIRE_ST_ALIVE,
					    .family = a.family,
					    .port = a.port };
		struct hs_wire_builder b;
		struct hs_wire_msg m;
		uint8_t v[HS_ADDR_VALUE_LEN];
		int len;

		hs_addr_encode(&a, v);
		memcpy(rec.addr, a.addr, 16);
		if (hs_wire_build_begin(&b, buf, sizeof(buf), &h) != 0 ||
		    hs_wire_section_begin(&b, HS_WIRE_SEC_DELTAS) != 0 ||
		    hs_wire_group_begin(&b, rec.node, 1, 0, 0, 0) != 0 ||
		    hs_wire_put_entry(&b, 1, 0, HS_KEY_ADDR, HS_KEY_ADDR_LEN,
				      v, sizeof(v)) != 0 ||
		    hs_wire_group_end(&b, 1) != 0 ||
		    hs_wire_section_end(&b) != 0 ||
		    (len = hs_wire_build_end(&b)) <= 0 ||
		    hs_wire_decode(buf, (size_t)len, &m) != 0) {
			fprintf(stderr, "hearsay-sim: preload frame of node "
				"%u: cannot build\n", j);
			return -EINVAL;
		}
		for (i = 0; i < s->o.n_nodes; i++) {
			struct hs_table_ctx *c = hs_node_table_ctx(
				s->nodes[i].node);

			if (i == j)
				continue;
			if (hs_table_merge_node(c, &rec) < 0 ||
			    hs_table_merge_msg(c, &m) != 1) {
				fprintf(stderr, "hearsay-sim: preload of node "
					"%u at %u failed\n", j, i);
				return -ENOMEM;
			}
		}
		urcu_qsbr_quiescent_state();
		if (sim_progress_due(s))
			fprintf(stderr, "hearsay-sim: preloaded %u of %u "
				"nodes, %.1f s\n", j + 1, s->o.n_nodes,
				sim_wall_s(s));
	}
	for (i = 0; i < s->o.n_nodes; i++)
		while (hs_table_changes(hs_node_table_ctx(s->nodes[i].node),
					ch, 64) > 0)
			;
	return 0;
}

static void
sim_membership(struct sim *s)
{
	double want = (double)s->o.n_nodes * (s->o.n_nodes - 1);
	uint64_t known = 0;
	unsigned r;

	/* A shared view knows everybody from the start and the nodes gossip
	 * no membership: nothing to wait for. */
	if (s->shared) {
		s->membership_ok = true;
		s->membership_rounds = 0;
		s->membership_known = 1;
		return;
	}
	if (s->o.preload && sim_preload(s) < 0)
		return;
	for (r = 1; r <= s->o.max_rounds; r++) {
		sim_round(s, false);
		if (sim_members(s, &known)) {
			s->membership_ok = true;
			s->membership_rounds = r;
			break;
		}
		if (sim_progress_due(s)) {
			fprintf(stderr, "hearsay-sim: membership round %u: "
				"%.2f%% of members known (%.0f missing), "
				"%.1f s\n", r, 100.0 * (double)known / want,
				want - (double)known, sim_wall_s(s));
			if (want - (double)known <= 4)
				sim_missing(s);
		}
	}
	s->membership_known = (double)known / want;
	if (!s->membership_ok) {
		s->membership_rounds = s->o.max_rounds;
		fprintf(stderr, "hearsay-sim: membership did not converge in "
			"%u rounds (%.2f%% of members known, %.0f missing); "
			"writing the update anyway\n", s->o.max_rounds,
			100.0 * (double)known / want, want - (double)known);
	} else if (s->progress) {
		fprintf(stderr, "hearsay-sim: membership converged in %u "
			"rounds, %.1f s\n", r, sim_wall_s(s));
	}
}

static void
sim_count(struct sim *s, struct sim_counts *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < s->o.n_nodes; i++) {
		struct hs_node_stats st;

		if (s->nodes[i].down)
			continue;
		hs_node_stats(s->nodes[i].node, &st);
		c->tx_frames += st.tx_frames;
		c->tx_bytes += st.tx_bytes;
	}
	hs_memnet_stats(s->net, &c->net);
}

/* Crash round(crash * (N-1)) nodes other than the origin: a partial
 * Fisher-Yates shuffle of the candidates, from the seed. */
static void
sim_crash(struct sim *s)
{
	unsigned n = s->o.n_nodes, k, i;
	uint32_t *cand = s->pending;	/* free until the write */

	k = (unsigned)llround(s->o.crash * (double)(n - 1));
	for (i = 0; i < n - 1; i++)
		cand[i] = i < s->origin ? i : i + 1;
	for (i = 0; i < k; i++) {
		unsigned j = i + (unsigned)(hs_splitmix64(&s->rng) % (n - 1 - i));
		uint32_t x = cand[j];
		struct hs_addr a = sim_addr(x);

		cand[j] = cand[i];
		cand[i] = x;
		hs_memnet_set_down(s->net, &a, 1);
		s->nodes[x].down = 1;
	}
	s->n_crashed = k;
}

static void
sim_set_groups(struct sim *s, bool split)
{
	unsigned i;

	/* first half group 1, second half group 2; healed: everyone 0 */
	for (i = 0; i < s->o.n_nodes; i++) {
		struct hs_addr a = sim_addr(i);

		hs_memnet_set_group(s->net, &a,
				    !split ? 0 : i < s->o.n_nodes / 2 ? 1 : 2);
	}
}

static int
sim_broadcast(struct sim *s)
{
	char value[32];
	unsigned i, r;
	int64_t v;

	s->origin = (unsigned)(hs_splitmix64(&s->rng) % s->o.n_nodes);
	if (s->o.crash > 0)
		sim_crash(s);
	if (s->o.partition)
		sim_set_groups(s, true);
	s->n_live = s->o.n_nodes - s->n_crashed;
	s->n_pending = 0;
	for (i = 0; i < s->o.n_nodes; i++) {
		struct hs_node_stats st;

		if (s->nodes[i].down || i == s->origin)
			continue;
		hs_node_stats(s->nodes[i].node, &st);
		s->nodes[i].rx_seen = (uint32_t)st.rx_frames;
		s->pending[s->n_pending++] = i;
	}

	sim_count(s, &s->before);
	s->write_ns = sim_vnow;
	snprintf(value, sizeof(value), "seed-%" PRIu64, s->o.seed);
	v = hs_table_put(hs_node_table_ctx(s->nodes[s->origin].node), SIM_KEY,
			 sizeof(SIM_KEY) - 1, value, strlen(value));
	if (v < 0) {
		fprintf(stderr, "hearsay-sim: write at node %u: %s\n",
			s->origin, strerror((int)-v));
		return (int)v;
	}
	s->nodes[s->origin].got_ns = 0;
	s->n_holders = 1;
	s->curve[0] = 1;
	/* true already when every other node crashed */
	s->converged = s->n_holders == s->n_live;

	for (r = 1; r <= s->o.max_rounds && !s->converged; r++) {
		if (s->o.partition && r == s->o.heal_rounds + 1)
			sim_set_groups(s, false);
		sim_round(s, true);
		s->curve[r] = s->n_holders;
		s->rounds_run = r;
		s->converged = s->n_holders == s->n_live;
		if (!s->converged && sim_progress_due(s))
			fprintf(stderr, "hearsay-sim: broadcast round %u: "
				"%.1f%% of live nodes hold the update, "
				"%.1f s\n", r,
				100.0 * s->n_holders / s->n_live,
				sim_wall_s(s));
	}
	sim_count(s, &s->after);
	s->peak_rss_mb = sim_peak_rss_mb();
	return 0;
}

/*
 * Failure detection: kill fd_crash live nodes (not the origin) without a
 * word and run until every live node has marked every one of them dead.
 */
static int
sim_detect(struct sim *s)
{
	unsigned n = s->o.n_nodes, k = 0, i, r, live = 0;

	if (s->o.fd_crash == UINT_MAX)
		s->o.fd_crash = s->shared ? 0 : 1;
	if (s->shared || s->o.fd_crash == 0)
		return 0;
	s->fd_victims = calloc(s->o.fd_crash, sizeof(*s->fd_victims));
	s->fd_seen = calloc((size_t)s->o.fd_crash * n, 1);
	if (s->fd_victims == NULL || s->fd_seen == NULL)
		return -ENOMEM;
	while (k < s->o.fd_crash) {
		unsigned x = (unsigned)(hs_splitmix64(&s->rng) % n);
		struct hs_addr a = sim_addr(x);

		if (s->nodes[x].down || x == s->origin)
			continue;
		if (k + 1 >= n - s->n_crashed - 1)
			break;	/* keep two alive */
		hs_memnet_set_down(s->net, &a, 1);
		s->nodes[x].down = 1;
		s->nodes[x].victim = 1;
		s->fd_victims[k++] = x;
	}
	s->o.fd_crash = k;
	for (i = 0; i < n; i++)
		live += !s->nodes[i].down;
	s->fd_want = (uint64_t)live * k;
	s->fd_t0 = sim_vnow;
	for (r = 1; r <= s->o.max_rounds && s->fd_pairs < s->fd_want; r++) {
		sim_round(s, false);
		if (s->fd_pairs < s->fd_want && sim_progress_due(s))
			fprintf(stderr, "hearsay-sim: detection round %u: "
				"%" PRIu64 " of %" PRIu64 " (node, victim) "
				"pairs dead, %.1f s\n", r, s->fd_pairs,
				s->fd_want, sim_wall_s(s));
	}
	s->fd_done = s->fd_pairs == s->fd_want;
	return 0;
}

/* ---- metrics ---- */

struct sim_metrics {
	double residue;
	double t_avg_ms;
	double t_last_ms;
	double t_avg_rounds;
	double t_last_rounds;
	double msgs_per_node;
	double bytes_per_node;
	double bytes_per_node_per_round;
	double expect_rounds;		/* log_fanout(N) */
	struct hs_memnet_stats net;	/* during the broadcast */
};

static void
sim_metrics(const struct sim *s, struct sim_metrics *m)
{
	const struct hs_memnet_stats *a = &s->after.net, *b = &s->before.net;
	double sum = 0, last = 0, interval_ms = s->o.interval_ms;
	unsigned i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < s->o.n_nodes; i++) {
		double t;

		if (s->nodes[i].down || s->nodes[i].got_ns == UINT64_MAX)
			continue;
		t = (double)s->nodes[i].got_ns / 1e6;
		sum += t;
		if (t > last)
			last = t;
	}
	/* Demers et al.: averaged over every site that holds it, the
	 * origin (at 0) included. */
	m->t_avg_ms = sum / s->n_holders;
	m->t_last_ms = last;
	m->t_avg_rounds = m->t_avg_ms / interval_ms;
	m->t_last_rounds = m->t_last_ms / interval_ms;
	m->residue = (double)(s->n_live - s->n_holders) / s->n_live;
	m->msgs_per_node = (double)(s->after.tx_frames - s->before.tx_frames) /
			   s->n_live;
	m->bytes_per_node = (double)(s->after.tx_bytes - s->before.tx_bytes) /
			    s->n_live;
	m->bytes_per_node_per_round = s->rounds_run != 0 ?
				      m->bytes_per_node / s->rounds_run : 0;
	m->expect_rounds = s->o.fanout > 1 ?
			   log((double)s->o.n_nodes) / log(s->o.fanout) :
			   (double)s->o.n_nodes - 1;
	m->net.sent = a->sent - b->sent;
	m->net.delivered = a->delivered - b->delivered;
	m->net.lost = a->lost - b->lost;
	m->net.duplicated = a->duplicated - b->duplicated;
	m->net.dropped_partition = a->dropped_partition - b->dropped_partition;
	m->net.dropped_down = a->dropped_down - b->dropped_down;
	m->net.dropped_queue = a->dropped_queue - b->dropped_queue;
	m->net.dropped_memory = a->dropped_memory - b->dropped_memory;
	m->net.delivered_bytes = a->delivered_bytes - b->delivered_bytes;
}

/*
 * The classic mean-field curve for push-pull anti-entropy with fanout f,
 * adjusted for loss p and crashed members (a = live share of the members a
 * node picks from): a susceptible node stays susceptible through a round if
 * none of its f SYNs reaches a holder whose ACK comes back (pull, 2
 * datagrams: (1-p)^2), and no holder's SYN to it completes SYN/ACK/ACK2
 * (push, 3 datagrams; hits are Poisson with mean f*a*i):
 *   s' = s * (1 - a i (1-p)^2)^f * exp(-f a i (1-p)^3)
 * It assumes a node lists every digest in its SYN, which this engine does
 * only up to ~34 members (one 1472-byte frame): past that the measured
 * curve is slower, and the gap is what summaries will close.
 */
static double
sim_model_next(const struct sim *s, double i)
{
	double q = 1.0 - s->o.loss;
	double a = (double)s->n_live / s->o.n_nodes;
	double f = s->o.fanout;

	return 1.0 - (1.0 - i) * pow(1.0 - a * i * q * q, f) *
		     exp(-f * a * i * q * q * q);
}

/* ---- output ---- */

static const char *
sim_yes(bool b)
{
	return b ? "true" : "false";
}

static void
sim_print_json(const struct sim *s, const struct sim_metrics *m)
{
	const struct hs_memnet_stats *ns = &m->net;
	unsigned r;

	printf("{\"nodes\": %u, \"fanout\": %u, \"interval_ms\": %u, "
	       "\"loss\": %.6g, \"dup\": %.6g, \"delay_us\": %" PRIu64 ", "
	       "\"jitter_us\": %" PRIu64 ", \"seed\": %" PRIu64 ", "
	       "\"max_rounds\": %u, ",
	       s->o.n_nodes, s->o.fanout, s->o.interval_ms, s->o.loss,
	       s->o.dup, s->o.delay_us, s->o.jitter_us, s->o.seed,
	       s->o.max_rounds);
	printf("\"partition\": %s, ", sim_yes(s->o.partition));
	if (s->o.partition)
		printf("\"heal_rounds\": %u, ", s->o.heal_rounds);
	printf("\"crash\": %.6g, \"crashed\": %u, \"live\": %u, "
	       "\"origin\": %u, ",
	       s->o.crash, s->n_crashed, s->n_live, s->origin);
	if (s->shared)
		printf("\"peer_sampling\": \"shared\", \"peer_sampling_note\""
		       ": \"one static list of every node serves all nodes; no "
		       "membership gossip\", \"membership\": \"shared view\", ");
	else
		printf("\"peer_sampling\": \"full\", \"peer_sampling_note\": "
		       "\"every node has its own full membership table\", "
		       "\"membership\": \"gossip\", ");
	printf("\"membership_converged\": %s, \"membership_rounds\": %u, "
	       "\"membership_known\": %.6f, ", sim_yes(s->membership_ok),
	       s->membership_rounds, s->membership_known);
	printf("\"rumor_rounds\": %u, \"push_now\": %s, ", s->o.rumor_rounds,
	       sim_yes(!s->o.no_push_now));
	printf("\"peak_rss_mb\": %.1f, \"peak_rss_bytes_per_node\": %.0f, ",
	       s->peak_rss_mb, s->peak_rss_mb * 1048576.0 / s->o.n_nodes);
	if (!s->shared) {
		printf("\"fd\": \"%s\", \"preload\": %s, \"join_all_ms\": "
		       "%.1f, \"fd_crashed\": %u, ",
		       s->o.fd_mode == HS_FD_PHI ? "phi" : "swim",
		       sim_yes(s->o.preload),
		       s->membership_ok && !s->o.preload ?
		       s->membership_rounds * (double)s->o.interval_ms : -1.0,
		       s->o.fd_crash);
		if (s->o.fd_crash != 0)
			printf("\"fd_detected_all\": %s, \"fd_first_ms\": "
			       "%.1f, \"fd_all_ms\": %.1f, ",
			       sim_yes(s->fd_done), s->fd_first_ns / 1e6,
			       s->fd_done ? s->fd_all_ns / 1e6 : -1.0);
		printf("\"false_suspect\": %" PRIu64 ", \"false_dead\": %"
		       PRIu64 ", ", s->false_suspect, s->false_dead);
	}
	printf("\"converged\": %s, \"rounds_run\": %u, ",
	       sim_yes(s->converged), s->rounds_run);
	if (s->converged)
		printf("\"rounds_to_converge\": %u, ", s->rounds_run);
	else
		printf("\"rounds_to_converge\": null, ");
	printf("\"holders\": %u, \"residue\": %.6f, "
	       "\"msgs_per_node\": %.3f, \"bytes_per_node\": %.1f, "
	       "\"bytes_per_node_per_round\": %.1f, "
	       "\"t_avg_rounds\": %.3f, \"t_last_rounds\": %.3f, "
	       "\"t_avg_ms\": %.3f, \"t_last_ms\": %.3f, "
	       "\"expected_rounds_log_fanout_n\": %.3f, ",
	       s->n_holders, m->residue, m->msgs_per_node, m->bytes_per_node,
	       m->bytes_per_node_per_round, m->t_avg_rounds, m->t_last_rounds,
	       m->t_avg_ms, m->t_last_ms, m->expect_rounds);
	printf("\"memnet\": {\"sent\": %" PRIu64 ", \"delivered\": %" PRIu64
	       ", \"delivered_bytes\": %" PRIu64 ", \"lost\": %" PRIu64
	       ", \"duplicated\": %" PRIu64 ", \"dropped_partition\": %"
	       PRIu64 ", \"dropped_down\": %" PRIu64 ", \"dropped_queue\": %"
	       PRIu64 ", \"dropped_memory\": %" PRIu64 "}, ",
	       ns->sent, ns->delivered, ns->delivered_bytes, ns->lost,
	       ns->duplicated, ns->dropped_partition, ns->dropped_down,
	       ns->dropped_queue, ns->dropped_memory);
	printf("\"curve\": [");
	for (r = 0; r <= s->rounds_run; r++)
		printf("%s%.6f", r ? ", " : "",
		       (double)s->curve[r] / s->n_live);
	printf("]}\n");
}

static void
sim_print_table(const struct sim *s, const struct sim_metrics *m)
{
	const struct hs_memnet_stats *ns = &m->net;
	double iv = s->o.interval_ms;
	unsigned r;

	printf("hearsay-sim: %u nodes, fanout %u, interval %u ms, loss %g%%, "
	       "dup %g%%, delay %" PRIu64 " us + 0..%" PRIu64 " us, seed %"
	       PRIu64 "\n", s->o.n_nodes, s->o.fanout, s->o.interval_ms,
	       100 * s->o.loss, 100 * s->o.dup, s->o.delay_us,
	       s->o.jitter_us, s->o.seed);
	if (s->shared)
		printf("  %-22s shared: one static list of every node serves "
		       "all nodes\n", "peer sampling");
	else
		printf("  %-22s full: every node has its own full membership "
		       "table\n", "peer sampling");
	if (s->o.rumor_rounds != 0 || s->o.no_push_now) {
		printf("  %-22s ", "rumors");
		if (s->o.rumor_rounds != 0)
			printf("pushed for %u round%s", s->o.rumor_rounds,
			       s->o.rumor_rounds == 1 ? "" : "s");
		else
			printf("pushed for the engine's default rounds");
		printf(", %s\n", s->o.no_push_now ?
		       "only with the rounds (--no-push-now)" :
		       "and at once");
	}
	if (s->shared)
		printf("  %-22s shared view: no membership phase (0 rounds)\n",
		       "membership");
	else if (s->membership_ok)
		printf("  %-22s converged in %u round%s (%.0f ms): every "
		       "node knows the %u others\n", "membership",
		       s->membership_rounds,
		       s->membership_rounds == 1 ? "" : "s",
		       s->membership_rounds * iv, s->o.n_nodes - 1);
	else
		printf("  %-22s NOT converged after %u rounds (%.2f%% of "
		       "the member pairs known)\n", "membership",
		       s->membership_rounds, 100 * s->membership_known);
	printf("  %-22s node %u writes '%s' at t = %.0f ms", "update",
	       s->origin, SIM_KEY, (double)s->write_ns / 1e6);
	if (s->o.partition)
		printf("; net split 50/50, healed after %u rounds",
		       s->o.heal_rounds);
	if (s->n_crashed != 0)
		printf("; %u nodes crashed", s->n_crashed);
	printf("\n");
	if (s->converged)
		printf("  %-22s %u round%s (%.0f ms)\n", "rounds to converge",
		       s->rounds_run, s->rounds_run == 1 ? "" : "s",
		       s->rounds_run * iv);
	else
		printf("  %-22s NOT converged after %u rounds\n",
		       "rounds to converge", s->rounds_run);
	printf("  %-22s %.6f (%u of %u live nodes never got it)\n", "residue",
	       m->residue, s->n_live - s->n_holders, s->n_live);
	printf("  %-22s %.2f rounds (%.1f ms)\n", "t_avg", m->t_avg_rounds,
	       m->t_avg_ms);
	printf("  %-22s %.2f rounds (%.1f ms)\n", "t_last", m->t_last_rounds,
	       m->t_last_ms);
	printf("  %-22s %.2f rounds\n", "log_fanout(N)", m->expect_rounds);
	printf("  %-22s %.1f msgs, %.0f bytes per live node; %.0f bytes per "
	       "node per round\n", "traffic (broadcast)", m->msgs_per_node,
	       m->bytes_per_node, m->bytes_per_node_per_round);
	printf("  %-22s %.1f MiB, %.0f bytes per node\n", "peak RSS",
	       s->peak_rss_mb, s->peak_rss_mb * 1048576.0 / s->o.n_nodes);
	if (!s->shared) {
		if (s->o.preload)
			printf("  %-22s %s; members preloaded (no join "
			       "figure)\n", "failure detection",
			       s->o.fd_mode == HS_FD_PHI ? "phi on heartbeats" :
			       "SWIM probes");
		else
			printf("  %-22s %s; mass join: every node knew every "
			       "other after %.0f ms\n", "failure detection",
			       s->o.fd_mode == HS_FD_PHI ? "phi on heartbeats" :
			       "SWIM probes", s->membership_rounds * iv);
		if (s->o.fd_crash != 0)
			printf("  %-22s %u killed: first node marks one dead "
			       "after %.0f ms, all nodes all after %.0f ms%s\n",
			       "detection", s->o.fd_crash,
			       s->fd_first_ns / 1e6, s->fd_all_ns / 1e6,
			       s->fd_done ? "" : " (NOT all: max rounds)");
		printf("  %-22s %" PRIu64 " false suspicions, %" PRIu64
		       " false deaths (notices about live nodes, whole run)\n",
		       "false positives", s->false_suspect, s->false_dead);
	}
	printf("  %-22s sent %" PRIu64 ", delivered %" PRIu64 ", lost %"
	       PRIu64 ", duplicated %" PRIu64 "\n", "memnet (broadcast)",
	       ns->sent, ns->delivered, ns->lost, ns->duplicated);
	printf("  %-22s partition %" PRIu64 ", down %" PRIu64 ", queue %"
	       PRIu64 ", memory %" PRIu64 "\n", "  dropped",
	       ns->dropped_partition, ns->dropped_down, ns->dropped_queue,
	       ns->dropped_memory);
	printf("  infection curve (fraction of live nodes holding it after "
	       "each round):\n");
	for (r = 0; r <= s->rounds_run; r++) {
		if (r % 10 == 0)
			printf("    %4u:", r);
		printf(" %.3f", (double)s->curve[r] / s->n_live);
		if (r % 10 == 9 || r == s->rounds_run)
			printf("\n");
	}
	if (!s->converged)
		printf("hearsay-sim: the update did not reach every live node "
		       "in %u rounds\n", s->rounds_run);
}

/* A step of 1, 2 or 5 times a power of ten giving at most ~10 ticks. */
static unsigned
sim_nice_step(unsigned span)
{
	unsigned step = 1;

	for (;;) {
		if (span / step <= 10)
			return step;
		if (span / (step * 2) <= 10)
			return step * 2;
		if (span / (step * 5) <= 10)
			return step * 5;
		step *= 10;
	}
}

static int
sim_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The fraction of live nodes holding the update against time, as a step
 * line: two points per distinct first-held time, at most 2N + 2. */
static int
sim_svg_steps(const struct sim *s, FILE *f, double x0, double x1, double y0,
	      double y1, unsigned xmax)
{
	double per_round = (double)s->interval_ns, y = 0;
	uint64_t *t = malloc((size_t)s->n_holders * sizeof(*t));
	unsigned i, k = 0;

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < s->o.n_nodes; i++)
		if (!s->nodes[i].down && s->nodes[i].got_ns != UINT64_MAX)
			t[k++] = s->nodes[i].got_ns;
	qsort(t, k, sizeof(*t), sim_u64_cmp);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#93c5fd\" "
		"stroke-width=\"1.5\" points=\"");
	for (i = 0; i < k;) {
		double x = x0 + (x1 - x0) * ((double)t[i] / per_round) / xmax;
		unsigned j = i;

		while (j < k && t[j] == t[i])
			j++;
		fprintf(f, "%s%.1f,%.1f %.1f,%.1f", i ? " " : "", x,
			y1 - (y1 - y0) * y, x,
			y1 - (y1 - y0) * ((double)j / s->n_live));
		y = (double)j / s->n_live;
		i = j;
	}
	fprintf(f, " %.1f,%.1f\"/>\n", x0 + (x1 - x0) *
		((double)s->rounds_run / xmax), y1 - (y1 - y0) * y);
	free(t);
	return 0;
}

/*
 * The infection curve as an SVG line chart: measured fraction per round
 * (solid), the mean-field push-pull curve (dashed, without a partition),
 * log_fanout(N) as a vertical line, and the heal round when partitioned.
 */
static int
sim_write_svg(const struct sim *s, const struct sim_metrics *m, FILE *f)
{
	const double W = 800, H = 520, X0 = 80, X1 = 770, Y0 = 80, Y1 = 440;
	unsigned xmax, step, r;
	double model, xe;

#define SX(x) (X0 + (X1 - X0) * (double)(x) / xmax)
#define SY(y) (Y1 - (Y1 - Y0) * (double)(y))
	xmax = s->rounds_run;
	if (xmax < (unsigned)ceil(m->expect_rounds) + 1)
		xmax = (unsigned)ceil(m->expect_rounds) + 1;
	if (xmax < 2)
		xmax = 2;
	step = sim_nice_step(xmax);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"font-family=\"sans-serif\" font-size=\"13\">\n", W, H, W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"26\" text-anchor=\"middle\" "
		"font-size=\"16\" font-weight=\"bold\">hearsay-sim: "
		"infection curve, N = %u, fanout %u, loss %g%%, seed %" PRIu64
		"</text>\n", W / 2, s->o.n_nodes, s->o.fanout,
		100 * s->o.loss, s->o.seed);
	fprintf(f, "<text x=\"%.0f\" y=\"46\" text-anchor=\"middle\" "
		"fill=\"#555\">one update written at node %u", W / 2,
		s->origin);
	if (s->n_crashed != 0)
		fprintf(f, "; %u nodes crashed", s->n_crashed);
	if (s->o.partition)
		fprintf(f, "; net split 50/50, healed after %u rounds",
			s->o.heal_rounds);
	fprintf(f, "</text>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"64\" text-anchor=\"middle\" "
		"fill=\"#555\">%s: residue %.4f, t_avg %.2f rounds, t_last "
		"%.2f rounds</text>\n", W / 2, s->converged ?
		"every live node got it" : "NOT every live node got it",
		m->residue, m->t_avg_rounds, m->t_last_rounds);

	/* grid and y axis: 0..100% by 25% */
	for (r = 0; r <= 4; r++) {
		double y = SY(r / 4.0);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#ddd\"/>\n", X0, y, X1, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
			"%u%%</text>\n", X0 - 8, y + 4, r * 25);
	}
	for (r = 0; r <= xmax; r += step) {
		double x = SX(r);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#eee\"/>\n", x, Y0, x, Y1);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
			"%u</text>\n", x, Y1 + 18, r);
	}
	fprintf(f, "<polyline points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
		"fill=\"none\" stroke=\"black\"/>\n", X0, Y0, X0, Y1, X1, Y1);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
		"rounds after the write (1 round = %u ms)</text>\n",
		(X0 + X1) / 2, Y1 + 42, s->o.interval_ms);
	fprintf(f, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 20 %.1f)\">live nodes holding the "
		"update</text>\n", (Y0 + Y1) / 2, (Y0 + Y1) / 2);

	/* log_fanout(N) */
	xe = SX(m->expect_rounds);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#c0392b\" stroke-width=\"1.5\" "
		"stroke-dasharray=\"6 4\"/>\n", xe, Y0, xe, Y1);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\">"
		"log_%u(N) = %.1f</text>\n", xe + 5, Y0 + 14, s->o.fanout,
		m->expect_rounds);
	if (s->o.partition && s->o.heal_rounds <= xmax) {
		double xh = SX(s->o.heal_rounds);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#7f8c8d\" stroke-width=\"1.5\" "
			"stroke-dasharray=\"2 3\"/>\n", xh, Y0, xh, Y1);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#7f8c8d\">"
			"partition healed</text>\n", xh + 5, Y0 + 30);
	}

	/* the classic curve, where it applies */
	if (!s->o.partition) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"#27ae60\" "
			"stroke-width=\"2\" stroke-dasharray=\"5 4\" "
			"points=\"");
		model = 1.0 / s->n_live;
		for (r = 0; r <= xmax; r++) {
			fprintf(f, "%s%.1f,%.1f", r ? " " : "", SX(r),
				SY(model));
			model = sim_model_next(s, model);
		}
		fprintf(f, "\"/>\n");
	}

	/* measured at tick resolution: a step at each time a node first
	 * held it (rumors cross several hops within one round) */
	if (sim_svg_steps(s, f, X0, X1, Y0, Y1, xmax) < 0)
		return -ENOMEM;

	/* measured at the end of each round */
	fprintf(f, "<polyline fill=\"none\" stroke=\"#2563eb\" "
		"stroke-width=\"2.5\" points=\"");
	for (r = 0; r <= s->rounds_run; r++)
		fprintf(f, "%s%.1f,%.1f", r ? " " : "", SX(r),
			SY((double)s->curve[r] / s->n_live));
	fprintf(f, "\"/>\n");
	if (s->rounds_run <= 60)
		for (r = 0; r <= s->rounds_run; r++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
				"fill=\"#2563eb\"/>\n", SX(r),
				SY((double)s->curve[r] / s->n_live));

	/* legend, bottom right: the curves end top right */
	fprintf(f, "<g transform=\"translate(%.0f %.0f)\">\n"
		"<rect x=\"0\" y=\"0\" width=\"330\" height=\"%u\" "
		"fill=\"white\" stroke=\"#bbb\"/>\n", X1 - 340, Y1 - 112,
		s->o.partition ? 74u : 96u);
	fprintf(f, "<line x1=\"10\" y1=\"16\" x2=\"40\" y2=\"16\" "
		"stroke=\"#2563eb\" stroke-width=\"2.5\"/>"
		"<circle cx=\"25\" cy=\"16\" r=\"3\" fill=\"#2563eb\"/>"
		"<text x=\"48\" y=\"20\">measured, end of each round (%u "
		"live)</text>\n", s->n_live);
	fprintf(f, "<line x1=\"10\" y1=\"38\" x2=\"40\" y2=\"38\" "
		"stroke=\"#93c5fd\" stroke-width=\"1.5\"/>"
		"<text x=\"48\" y=\"42\">measured, every %.0f ms tick</text>\n",
		(double)s->tick_ns / 1e6);
	fprintf(f, "<line x1=\"10\" y1=\"60\" x2=\"40\" y2=\"60\" "
		"stroke=\"#c0392b\" stroke-width=\"1.5\" "
		"stroke-dasharray=\"6 4\"/>"
		"<text x=\"48\" y=\"64\">log_fanout(N): the classic "
		"expectation</text>\n");
	if (!s->o.partition)
		fprintf(f, "<line x1=\"10\" y1=\"82\" x2=\"40\" y2=\"82\" "
			"stroke=\"#27ae60\" stroke-width=\"2\" "
			"stroke-dasharray=\"5 4\"/>"
			"<text x=\"48\" y=\"86\">classic push-pull "
			"anti-entropy (mean field)</text>\n");
	fprintf(f, "</g>\n</svg>\n");
#undef SX
#undef SY
	if (ferror(f))
		return -EIO;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sim_metrics m;
	struct rusage ru;
	struct sim s;
	int rc, status;

	memset(&s, 0, sizeof(s));
	rc = sim_parse(argc, argv, &s.o);
	if (rc == 1)
		return SIM_EXIT_OK;
	if (rc < 0)
		return SIM_EXIT_USAGE;
	s.tick_ns = SIM_TICK_NS;
	s.interval_ns = (uint64_t)s.o.interval_ms * 1000000ull;
	s.rng = s.o.seed ^ 0x5349d5eedull;
	s.wall0_ns = hs_clock_monotonic(NULL);
	s.wall_last_ns = s.wall0_ns;
	sim_vnow = 0;

	urcu_qsbr_register_thread();
	status = SIM_EXIT_ERROR;
	if (sim_start(&s) < 0)
		goto out;
	sim_membership(&s);
	if (sim_broadcast(&s) < 0 || sim_detect(&s) < 0)
		goto out;
	sim_metrics(&s, &m);
	if (s.o.json)
		sim_print_json(&s, &m);
	else
		sim_print_table(&s, &m);
	fflush(stdout);
	if (s.o.svg != NULL) {
		rc = sim_write_svg(&s, &m, s.o.svg);
		if (fclose(s.o.svg) != 0 && rc == 0)
			rc = -errno;
		s.o.svg = NULL;
		if (rc < 0) {
			fprintf(stderr, "hearsay-sim: --svg '%s': %s\n",
				s.o.svg_path, strerror(-rc));
			goto out;
		}
	}
	status = s.converged ? SIM_EXIT_OK : SIM_EXIT_RESIDUE;
	if (!s.converged)
		fprintf(stderr, "hearsay-sim: not converged: %u of %u live "
			"nodes never got the update (residue %.6f)\n",
			s.n_live - s.n_holders, s.n_live, m.residue);
	if (s.o.fd_crash != 0 && s.o.fd_crash != UINT_MAX && !s.fd_done) {
		fprintf(stderr, "hearsay-sim: detection not finished: %" PRIu64
			" of %" PRIu64 " (node, victim) pairs marked dead\n",
			s.fd_pairs, s.fd_want);
		status = SIM_EXIT_RESIDUE;
	}
out:
	/* Tearing down costs about 11 ms a node (see docs/SIM.md): say so
	 * rather than look hung. */
	if (s.progress)
		fprintf(stderr, "hearsay-sim: stopping %u nodes, %.1f s\n",
			s.o.n_nodes, sim_wall_s(&s));
	sim_stop(&s);
	urcu_qsbr_unregister_thread();
	if (s.o.svg != NULL)
		fclose(s.o.svg);
	if (!s.o.quiet) {
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr, "hearsay-sim: %.1f s wall, peak RSS %.0f MiB\n",
			sim_wall_s(&s), (double)ru.ru_maxrss / 1024);
	}
	return status;
}
