/*
 * hs-netnode: one real node on a real driver, for the namespace tests
 * (suite "net").  Not the daemon (that is daemon/hearsayd): no config
 * file, no API; just enough to start a node on udp, afpacket or dpdk
 * with W workers (one lane each), write keys, and report when it holds
 * the whole cluster.
 *
 *   hs-netnode --driver udp|afpacket|dpdk --id N --nodes M --ip A.B.C.D
 *              [--port P] [--iface IF] [--seed A.B.C.D:P]... [--workers W]
 *              [--keys K] [--timeout S] [--eal ARGS] [--dev NAME]
 *
 * It prints "ready id=N" once its driver and node are up.  Nodes of a
 * test are numbered 1..M.  Node N writes keys k0..k(K-1), each
 * once.  It is converged when every other node 1..M is alive in its member
 * list and it holds their K keys; it then prints "converged id=N ms=T" on
 * stdout.  On SIGTERM or SIGINT (or at --timeout) it prints one line
 * "stats {json}" (per-lane counters, the driver's, table totals, and the
 * sum of every owner's watermark, against which entries installed are
 * checked) and exits 0 if it had converged, 1 if not, 2 on a bad
 * argument or a driver that would not open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>

#include "drivers/any.h"
#include "engine/hearsay.h"
#include "engine/util.h"
#include "engine/worker.h"

#define WORKERS_MAX	8
#define SEEDS_MAX	16

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct nn_args {
	const char *driver;
	uint64_t id;
	unsigned nodes;
	uint8_t ip[4];
	uint16_t port;
	const char *iface;
	struct hs_addr seeds[SEEDS_MAX];
	unsigned n_seeds;
	unsigned workers;
	unsigned keys;
	unsigned timeout_s;
	const char *eal;
	const char *dev;
};

struct nn {
	struct nn_args a;
	struct hs_drv *drv;
	struct hs_worker *w[WORKERS_MAX];
	struct hs_pktio *io[WORKERS_MAX];
	struct hs_lane *lane[WORKERS_MAX];
	struct call_rcu_data *crdp;
	struct hs_node *node;
	unsigned k;			/* the lane a call is about */
	int rc;
	bool converged;
	uint64_t versions;
	struct hs_table_stats ts;
	struct hs_node_stats ns;
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: hs-netnode --driver udp|afpacket|dpdk --id N --nodes M "
		"--ip A.B.C.D [--port P] [--iface IF] [--seed IP:PORT]... "
		"[--workers W] [--keys K] [--timeout S] [--eal ARGS] "
		"[--dev NAME]\n");
	exit(2);
}

static int
parse_ip(const char *s, uint8_t ip[4])
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -1;
	memcpy(ip, &in.s_addr, 4);
	return 0;
}

static int
parse_args(int argc, char **argv, struct nn_args *a)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "iface", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "keys", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "eal", required_argument, NULL, 'e' },
		{ "dev", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->port = 7946;
	a->workers = 1;
	a->keys = 4;
	a->timeout_s = 30;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->driver = optarg;
			break;
		case 'i':
			a->id = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			a->nodes = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			if (parse_ip(optarg, a->ip) != 0)
				usage();
			break;
		case 'p':
			a->port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			a->iface = optarg;
			break;
		case 's': {
			char buf[64], *colon;
			uint8_t ip[4];

			snprintf(buf, sizeof(buf), "%s", optarg);
			colon = strchr(buf, ':');
			if (colon == NULL || a->n_seeds == SEEDS_MAX)
				usage();
			*colon = '\0';
			if (parse_ip(buf, ip) != 0)
				usage();
			a->seeds[a->n_seeds++] = hs_addr_v4(
				ip[0], ip[1], ip[2], ip[3],
				(uint16_t)strtoul(colon + 1, NULL, 10));
			break;
		}
		case 'w':
			a->workers = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			a->keys = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			a->timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			a->eal = optarg;
			break;
		case 'v':
			a->dev = optarg;
			break;
		default:
			usage();
		}
	}
	if (a->driver == NULL || a->id == 0 || a->nodes == 0 ||
	    a->ip[0] == 0 || a->workers == 0 || a->workers > WORKERS_MAX ||
	    a->keys > 64)
		usage();
	return 0;
}

/* ---- on the workers ---- */

static void
node_up(void *arg)
{
	struct nn *nn = arg;
	struct hs_node_params p = { 0 };
	char name[32];
	unsigned k;

	snprintf(name, sizeof(name), "netnode-%" PRIu64, nn->a.id);
	p.id = nn->a.id;
	p.generation = (uint64_t)time(NULL);
	p.name = name;
	p.cluster_id = 0x6e6e;
	p.seeds = nn->a.seeds;
	p.n_seeds = nn->a.n_seeds;
	p.rng_seed = nn->a.id * 7919;
	p.io = nn->io[0];
	p.n_lanes = nn->a.workers;
	p.table.crdp = nn->crdp;
	p.tx_batch = 32;
	hs_drv_thread_init(nn->drv);
	nn->rc = hs_node_create(&p, &nn->node);
	if (nn->rc != 0)
		return;
	hs_node_set_wake(nn->node, hs_worker_wake, nn->w[0]);
	for (k = 0; k < nn->a.keys; k++) {
		char key[16];

		snprintf(key, sizeof(key), "k%u", k);
		if (hs_put(nn->node, key, strlen(key), name, strlen(name)) <= 0)
			nn->rc = -ENOMEM;
	}
	if (nn->rc == 0)
		nn->rc = hs_worker_add(nn->w[0], nn->node,
				       hs_drv_fd(nn->drv, 0));
}

static void
lane_up(void *arg)
{
	struct nn *nn = arg;

	hs_drv_thread_init(nn->drv);
	nn->rc = hs_lane_open(nn->node, nn->k, nn->io[nn->k],
			      &nn->lane[nn->k]);
	if (nn->rc == 0)
		nn->rc = hs_worker_add_lane(nn->w[nn->k], nn->lane[nn->k],
					    hs_drv_fd(nn->drv, nn->k));
}

static void
lane_down(void *arg)
{
	struct nn *nn = arg;

	hs_worker_remove_lane(nn->w[nn->k], nn->lane[nn->k]);
	hs_lane_close(nn->lane[nn->k]);
}

static void
node_down(void *arg)
{
	struct nn *nn = arg;

	hs_worker_remove(nn->w[0], nn->node);
	hs_node_destroy(nn->node);
	nn->node = NULL;
}

static void
check(void *arg)
{
	struct nn *nn = arg;
	struct hs_table_ctx *c = hs_node_table_ctx(nn->node);
	bool ok = true;
	uint64_t id;

	nn->versions = 0;
	for (id = 1; id <= nn->a.nodes; id++) {
		struct hs_member_info mi;
		struct hs_table_node tn;
		unsigned k;

		if (hs_table_node_get(c, id, &tn) == 0)
			nn->versions += tn.max_version;
		if (id == nn->a.id)
			continue;
		if (hs_member(nn->node, id, &mi) != 0 ||
		    mi.status != HS_WIRE_ST_ALIVE)
			ok = false;
		for (k = 0; k < nn->a.keys && ok; k++) {
			struct hs_table_kv kv;
			char key[16];

			snprintf(key, sizeof(key), "k%u", k);
			ok = hs_get(nn->node, id, key, strlen(key), &kv) == 0;
		}
	}
	nn->converged = ok;
	hs_table_stats(hs_node_table(nn->node), &nn->ts);
	hs_node_stats(nn->node, &nn->ns);
}

/* ---- control ---- */

static void
print_stats(void *arg)
{
	struct nn *nn = arg;
	unsigned k;

	printf("stats {\"id\": %" PRIu64 ", \"converged\": %s, "
	       "\"versions\": %" PRIu64 ", \"merged\": %" PRIu64
	       ", \"local_writes\": %" PRIu64 ", \"rounds\": %" PRIu64
	       ", \"rx_bad\": %" PRIu64 ", \"members\": %" PRIu64
	       ", \"lanes\": [", nn->a.id, nn->converged ? "true" : "false",
	       nn->versions, nn->ts.merged, nn->ts.local_writes, nn->ns.rounds,
	       nn->ns.rx_bad, nn->ns.members);
	for (k = 0; k < nn->a.workers; k++) {
		struct hs_lane_stats ls;

		hs_node_lane_stats(nn->node, k, &ls);
		printf("%s{\"rx\": %" PRIu64 ", \"tx\": %" PRIu64
		       ", \"tx_dropped\": %" PRIu64 ", \"merged\": %" PRIu64
		       ", \"fwd_frames\": %" PRIu64 ", \"fwd_changes\": %"
		       PRIu64 ", \"fwd_dropped\": %" PRIu64 ", \"driver\": ",
		       k ? ", " : "", ls.rx_frames, ls.tx_frames,
		       ls.tx_dropped, ls.merged, ls.fwd_frames, ls.fwd_changes,
		       ls.fwd_dropped);
		hs_drv_stats_json(nn->drv, k, stdout);
		printf("}");
	}
	printf("]}\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct hs_worker_params wp = { .cpu = -1, .mode = HS_POLL_ADAPTIVE };
	struct nn nn;
	uint64_t t0, end;
	unsigned k;
	int rc;

	memset(&nn, 0, sizeof(nn));
	parse_args(argc, argv, &nn.a);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	{
		struct hs_drv_conf dc = {
			.driver = nn.a.driver,
			.port = nn.a.port,
			.n_ports = 16,
			.queues = nn.a.workers,
			.iface = nn.a.iface,
			.dev = nn.a.dev,
			.eal = nn.a.eal,
		};

		memcpy(dc.ip, nn.a.ip, 4);
		rc = hs_drv_open(&dc, &nn.drv);
		if (rc != 0)
			return 2;	/* it said why */
		for (k = 0; k < nn.a.workers; k++)
			nn.io[k] = hs_drv_queue(nn.drv, k);
	}
	urcu_qsbr_register_thread();
	nn.crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	for (k = 0; k < nn.a.workers; k++)
		if (hs_worker_create(&wp, &nn.w[k]) != 0 ||
		    hs_worker_start(nn.w[k]) != 0) {
			fprintf(stderr, "hs-netnode: worker %u\n", k);
			return 2;
		}
	hs_worker_call(nn.w[0], node_up, &nn);
	for (k = 1; k < nn.a.workers && nn.rc == 0; k++) {
		nn.k = k;
		hs_worker_call(nn.w[k], lane_up, &nn);
	}
	if (nn.rc != 0) {
		fprintf(stderr, "hs-netnode: node: %s\n", strerror(-nn.rc));
		return 2;
	}
	printf("ready id=%" PRIu64 "\n", nn.a.id);
	t0 = hs_clock_monotonic(NULL);
	end = t0 + (uint64_t)nn.a.timeout_s * 1000000000ull;
	while (!stop && hs_clock_monotonic(NULL) < end) {
		struct timespec ts = { 0, 20 * 1000000 };
		bool was = nn.converged;

		urcu_qsbr_thread_offline();
		nanosleep(&ts, NULL);
		urcu_qsbr_thread_online();
		hs_worker_call(nn.w[0], check, &nn);
		if (nn.converged && !was)
			printf("converged id=%" PRIu64 " ms=%" PRIu64 "\n",
			       nn.a.id,
			       (hs_clock_monotonic(NULL) - t0) / 1000000);
		/* once converged, stays reported (a late drop is not a
		 * failure of convergence) */
		if (was)
			nn.converged = true;
	}
	rc = nn.converged ? 0 : 1;
	for (k = nn.a.workers; k-- > 1;) {
		nn.k = k;
		if (nn.lane[k] != NULL)
			hs_worker_call(nn.w[k], lane_down, &nn);
	}
	/* between two polls of the primary: every handle is still */
	hs_worker_call(nn.w[0], print_stats, &nn);
	hs_worker_call(nn.w[0], node_down, &nn);
	for (k = 0; k < nn.a.workers; k++)
		hs_worker_destroy(nn.w[k]);
	hs_drv_close(nn.drv);
	urcu_qsbr_barrier();
	urcu_qsbr_call_rcu_data_free(nn.crdp);
	urcu_qsbr_unregister_thread();
	return rc;
}
