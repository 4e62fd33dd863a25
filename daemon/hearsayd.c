/*
 * hearsayd: one hearsay node per process.
 *
 *   hearsayd [-c FILE] [-s section.key=value]... [--check]
 *
 * Reads the configuration (config/config.h; every error names the file,
 * line and key, and the daemon exits 1 before touching the network),
 * opens the configured driver with one queue per worker, starts the
 * workers (pinned when workers.cpus says so; busy or adaptive polling),
 * creates the node on worker 0 and a lane on each other worker, serves the
 * control API (api.c), and then runs the control loop on the main thread:
 *
 *   - signals, taken synchronously with sigtimedwait (every other thread
 *     has them blocked): SIGTERM/SIGINT leave the cluster gracefully (our
 *     record becomes `left` and is pushed; up to 2 s for it to go out),
 *     then exit 0; SIGHUP re-reads the file and applies what can change at
 *     runtime (log.level, hooks), naming what needs a restart;
 *   - the node's notices (join, alive, suspect, dead, leave, change,
 *     event): membership transitions are logged at NOTICE, and every
 *     notice goes to the API's event streams and to the hooks;
 *   - hooks reaped and timed out.
 *
 * Logs go to stderr, one line each (journald takes them as they are);
 * daemon/hearsayd.service is the systemd unit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/call-rcu.h>
#include <sodium.h>

#include "daemon/hearsayd.h"
#include "daemon/hooks.h"
#include "engine/log.h"
#include "engine/util.h"

#define LEAVE_TIMEOUT_NS	2000000000ull
#define TICK_MS			20

/* ---- helpers shared with api.c ---- */

void
hsd_call(struct hsd *d, void (*fn)(void *arg), void *arg)
{
	hs_worker_call(d->w[0], fn, arg);
}

void
hsd_addr_str(const struct hs_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4) {
		inet_ntop(AF_INET, a->addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, a->port);
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	} else {
		snprintf(buf, len, "%s", "");
	}
}

const char *
hsd_status_str(uint8_t status)
{
	static const char *const names[] = { "alive", "suspect", "dead",
					     "left" };

	return status <= HS_WIRE_ST_MAX ? names[status] : "unknown";
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* ---- configuration ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: hearsayd [-c FILE] [-s section.key=value]... [--check]\n"
		"\n"
		"  -c, --config FILE   configuration file (libconfig syntax; see\n"
		"                      hearsay.conf.example); without it, the\n"
		"                      defaults: udp driver on 127.0.0.1:7946\n"
		"  -s, --set K=V       override one setting after the file, e.g.\n"
		"                      -s gossip.seeds=10.0.0.1:7946 -s log.level=info\n"
		"      --check         validate the configuration and exit\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"Signals: SIGTERM/SIGINT leave the cluster and exit; SIGHUP reloads\n"
		"log.level and hooks from the file.\n");
}

/* Defaults, the file, the overrides, the cross-key checks: 0, or -EINVAL
 * with the error printed. */
static int
conf_read(struct hsd *d, struct hs_conf *c)
{
	struct hs_conf_error e;
	unsigned i;
	int rc = 0;

	hs_conf_default(c);
	if (d->conf_path != NULL)
		rc = hs_conf_load(c, d->conf_path, &e);
	for (i = 0; rc == 0 && i < d->n_overrides; i++)
		rc = hs_conf_set(c, d->overrides[i], &e);
	if (rc == 0)
		rc = hs_conf_check(c, &e);
	if (rc != 0) {
		HS_LOG(ERR, "daemon", "%s", e.msg);
		return rc;
	}
	return 0;
}

static int
log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		enum hs_log_level level;
	} levels[] = {
		{ "err", HS_LOG_ERR },       { "warning", HS_LOG_WARNING },
		{ "notice", HS_LOG_NOTICE }, { "info", HS_LOG_INFO },
		{ "debug", HS_LOG_DEBUG },
	};
	unsigned i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0)
			return (int)levels[i].level;
	return HS_LOG_NOTICE;
}

/* ---- the node, on worker 0 ---- */

struct node_up_ctx {
	struct hsd *d;
	struct hs_addr seeds[HS_CONF_SEEDS_MAX];
	int rc;
	unsigned lane;
};

static void
node_up(void *arg)
{
	struct node_up_ctx *u = arg;
	struct hsd *d = u->d;
	const struct hs_conf *c = &d->conf;
	struct hs_node_params p;
	unsigned i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < c->gossip.n_seeds; i++) {
		const struct hs_conf_seed *s = &c->gossip.seeds[i];

		u->seeds[i] = hs_addr_v4(s->ip[0], s->ip[1], s->ip[2],
					 s->ip[3], s->port);
	}
	p.id = d->id;
	p.generation = d->generation;
	p.name = d->name;
	p.rack = c->node.rack[0] != '\0' ? c->node.rack : NULL;
	p.cluster_id = c->node.cluster;
	p.auth = d->auth;
	p.seeds = u->seeds;
	p.n_seeds = c->gossip.n_seeds;
	p.interval_ns = (uint64_t)c->gossip.interval_ms * 1000000ull;
	p.fanout = c->gossip.fanout;
	p.frame_budget = c->network.frame_bytes;
	p.rng_seed = d->id ^ d->generation;
	p.push_now_off = !c->gossip.push_now;
	p.push_now_per_s = c->gossip.push_now_per_s;
	p.io = hs_drv_queue(d->drv, 0);
	p.fd_mode = strcmp(c->failure.detector, "phi") == 0 ? HS_FD_PHI :
							       HS_FD_SWIM;
	/* the configuration checked the name against the same three */
	p.syn_mode = (uint8_t)hs_syn_mode_parse(c->gossip.syn);
	p.probe_timeout_ns = (uint64_t)c->failure.probe_timeout_ms * 1000000ull;
	p.suspect_mult = c->failure.suspect_mult;
	p.phi_threshold = c->failure.phi_threshold;
	p.forget_ns = (uint64_t)c->failure.forget_s * 1000000000ull;
	p.n_lanes = d->n_workers;
	p.event_retention = c->limits.event_retention;
	p.peer_frames_per_s = c->limits.peer_frames_per_s;
	p.table.max_members = c->limits.max_members;
	p.table.max_keys_per_node = c->limits.max_keys_per_node;
	p.table.max_key_bytes = (uint16_t)c->limits.max_key_bytes;
	p.table.max_value_bytes = c->limits.max_value_bytes;
	p.table.tombstone_ttl_ns =
		(uint64_t)c->limits.tombstone_ttl_s * 1000000000ull;
	p.table.crdp = d->crdp;
	p.tx_batch = 32;
	hs_drv_thread_init(d->drv);
	u->rc = hs_node_create(&p, &d->node);
	if (u->rc != 0)
		return;
	hs_node_set_wake(d->node, hs_worker_wake, d->w[0]);
	hs_subscribe(d->node, HS_SUB_ALL);
	u->rc = hs_worker_add(d->w[0], d->node, hs_drv_fd(d->drv, 0));
	if (u->rc != 0) {
		hs_node_destroy(d->node);
		d->node = NULL;
	}
}

static void
lane_up(void *arg)
{
	struct node_up_ctx *u = arg;
	struct hsd *d = u->d;
	unsigned k = u->lane;

	hs_drv_thread_init(d->drv);
	u->rc = hs_lane_open(d->node, k, hs_drv_queue(d->drv, k), &d->lane[k]);
	if (u->rc == 0) {
		u->rc = hs_worker_add_lane(d->w[k], d->lane[k],
					   hs_drv_fd(d->drv, k));
		if (u->rc != 0) {
			hs_lane_close(d->lane[k]);
			d->lane[k] = NULL;
		}
	}
}

static void
lane_down(void *arg)
{
	struct node_up_ctx *u = arg;
	struct hsd *d = u->d;

	hs_worker_remove_lane(d->w[u->lane], d->lane[u->lane]);
	hs_lane_close(d->lane[u->lane]);
	d->lane[u->lane] = NULL;
}

static void
node_down(void *arg)
{
	struct hsd *d = arg;

	hs_worker_remove(d->w[0], d->node);
	hs_node_destroy(d->node);
	d->node = NULL;
}

static void
node_leave(void *arg)
{
	hs_node_leave(((struct hsd *)arg)->node);
}

struct left_ctx {
	struct hsd *d;
	bool left;
};

static void
node_left(void *arg)
{
	struct left_ctx *l = arg;

	l->left = hs_node_left(l->d->node);
}

/* ---- notices ---- */

struct member_ctx {
	struct hsd *d;
	uint64_t id;
	struct hs_member_info mi;
	int rc;
};

static void
member_get(void *arg)
{
	struct member_ctx *m = arg;

	m->rc = hs_member(m->d->node, m->id, &m->mi);
}

/* Notice types and hook events are the same list, one apart. */
_Static_assert(HS_NOTICE_JOIN - HS_NOTICE_JOIN == HS_CONF_EV_JOIN &&
	       HS_NOTICE_ALIVE - HS_NOTICE_JOIN == HS_CONF_EV_ALIVE &&
	       HS_NOTICE_SUSPECT - HS_NOTICE_JOIN == HS_CONF_EV_SUSPECT &&
	       HS_NOTICE_DEAD - HS_NOTICE_JOIN == HS_CONF_EV_DEAD &&
	       HS_NOTICE_LEAVE - HS_NOTICE_JOIN == HS_CONF_EV_LEAVE &&
	       HS_NOTICE_CHANGE - HS_NOTICE_JOIN == HS_CONF_EV_CHANGE &&
	       HS_NOTICE_EVENT - HS_NOTICE_JOIN == HS_CONF_EV_EVENT,
	       "notice types and hook events differ");
static const char *
notice_type_str(uint8_t t)
{
	const char *s = t >= HS_NOTICE_JOIN && t <= HS_NOTICE_MAX ?
			hs_conf_event_name((enum hs_conf_event)(t - HS_NOTICE_JOIN)) :
			NULL;

	return s != NULL ? s : "unknown";
}

/*
 * Names and addresses of notices' nodes, cached on the control side: a
 * change notice (every write anywhere in the cluster) must not cost a call
 * on the worker each.  Open addressing on the id; a member notice
 * refreshes its entry (a restart may bring a new address); a full cache
 * starts over.
 */
#define NAMES_SLOTS	8192u	/* > 2 x limits.max_members' default */

struct name_slot {
	uint64_t id;		/* 0: free */
	char name[HS_WIRE_NAME_MAX + 1];
	char addr[64];
};

static struct name_slot names[NAMES_SLOTS];
static unsigned n_names;

static const struct name_slot *
name_lookup(struct hsd *d, uint64_t id, bool refresh)
{
	struct member_ctx m = { .d = d, .id = id, .rc = -ENOENT };
	uint64_t h = id * 0x9e3779b97f4a7c15ull;
	unsigned i = (unsigned)(h >> 32) % NAMES_SLOTS;
	struct name_slot *s;

	while (names[i].id != 0 && names[i].id != id)
		i = (i + 1) % NAMES_SLOTS;
	s = &names[i];
	if (s->id == id && !refresh)
		return s;
	hsd_call(d, member_get, &m);
	if (m.rc != 0)
		return NULL;
	if (s->id == 0) {
		if (n_names >= NAMES_SLOTS / 2) {
			memset(names, 0, sizeof(names));
			n_names = 0;
			return name_lookup(d, id, refresh);
		}
		n_names++;
	}
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", m.mi.name);
	hsd_addr_str(&m.mi.addr, s->addr, sizeof(s->addr));
	return s;
}

static void
on_notice(const struct hs_notice *n, void *arg)
{
	struct hsd *d = arg;
	struct hsd_notice e = { .n = n, .type = notice_type_str(n->type),
				.name = "", .address = "", .ts_ms = wall_ms() };
	struct hs_hook_event he;
	bool member = n->type <= HS_NOTICE_LEAVE;
	const struct name_slot *ns = name_lookup(d, n->node, member);
	const char *addr = "";

	/* the node's clock is CLOCK_MONOTONIC (node_up leaves params.clock
	 * at its default) */
	e.ts_us = (uint64_t)((int64_t)n->at_ns + d->wall_off_ns) / 1000;
	if (ns != NULL) {
		e.name = ns->name;
		e.address = addr = ns->addr;
	}
	if (member)
		HS_LOG(NOTICE, "daemon", "member %s (id %" PRIu64 ", %s): %s",
		       e.name[0] ? e.name : "?", n->node,
		       addr[0] ? addr : "no address", e.type);
	hsd_api_notice(d, &e);

	memset(&he, 0, sizeof(he));
	he.type = (enum hs_conf_event)(n->type - HS_NOTICE_JOIN);
	he.node_id = n->node;
	he.node_name = e.name;
	he.node_address = e.address;
	he.node_status = member ? (n->type == HS_NOTICE_JOIN ||
			      n->type == HS_NOTICE_ALIVE ? "alive" :
			      n->type == HS_NOTICE_SUSPECT ? "suspect" :
			      n->type == HS_NOTICE_DEAD ? "dead" : "left") :
			     "";
	if (n->type == HS_NOTICE_CHANGE) {
		he.key = n->key;
		he.key_len = n->key_len;
		he.value = n->value;
		he.value_len = n->value_len;
		he.version = n->version;
		he.deleted = n->tombstone;
	} else if (n->type == HS_NOTICE_EVENT) {
		he.origin_id = n->node;
		he.seq = n->version;
		he.payload = n->value;
		he.payload_len = n->value_len;
	}
	if (d->hooks != NULL)
		hs_hooks_fire(d->hooks, &he);
}

/* ---- hooks ---- */

static int
hooks_make(struct hsd *d, const struct hs_conf *c, struct hs_hooks **out)
{
	struct hs_hooks_params hp;
	char id[24];

	snprintf(id, sizeof(id), "%" PRIu64, d->id);
	memset(&hp, 0, sizeof(hp));
	hp.hooks = c->hooks;
	hp.n_hooks = c->n_hooks;
	hp.self_id = id;
	hp.self_name = d->name;
	return hs_hooks_create(&hp, out);
}

/* ---- reload ---- */

/* SIGHUP: apply log.level and hooks; name what needs a restart. */
static void
reload(struct hsd *d)
{
	struct hs_conf c;
	char keys[512];

	if (conf_read(d, &c) != 0) {
		HS_LOG(ERR, "daemon", "reload refused: the running "
		       "configuration stays");
		hs_conf_free(&c);
		return;
	}
	hs_log_set_level((enum hs_log_level)log_level_parse(c.log.level));
	if (d->hooks != NULL &&
	    hs_hooks_reload(d->hooks, c.hooks, c.n_hooks) != 0)
		HS_LOG(ERR, "daemon", "reload: hooks not replaced");
	if (hs_conf_diff(&d->conf, &c, true, keys, sizeof(keys)) != 0)
		HS_LOG(WARNING, "daemon", "reload: %s changed: they take "
		       "effect at the next restart", keys);
	HS_LOG(NOTICE, "daemon", "reloaded %s: log.level %s, %u hooks",
	       d->conf_path ? d->conf_path : "(defaults)", c.log.level,
	       c.n_hooks);
	/* keep the running settings (the ones in effect), but for what was
	 * applied */
	memcpy(d->conf.log.level, c.log.level, sizeof(c.log.level));
	memcpy(d->conf.hooks, c.hooks, sizeof(c.hooks));
	d->conf.n_hooks = c.n_hooks;
	hs_conf_free(&c);
}

/* ---- main ---- */

static int
parse_args(struct hsd *d, int argc, char **argv, bool *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	d->overrides = calloc((size_t)argc, sizeof(char *));
	if (d->overrides == NULL)
		return -ENOMEM;
	while ((o = getopt_long(argc, argv, "c:s:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			d->conf_path = optarg;
			break;
		case 's':
			d->overrides[d->n_overrides++] = optarg;
			break;
		case 'C':
			*check = true;
			break;
		case 'V':
			printf("hearsayd %s\n", HSD_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hearsayd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
	return 0;
}

/* The keyring from security.keys (the first seals), or none with
 * security.plaintext (hs_conf_check allows nothing else).  One replay
 * window per sender lane: four per member the table may hold. */
static int
auth_up(struct hsd *d)
{
	const struct hs_conf *c = &d->conf;
	struct hs_auth_params ap = {
		.windows = 4 * c->limits.max_members,
		.crdp = d->crdp,
		/* the configuration checked the name */
		.cipher = (uint8_t)hs_auth_cipher_parse(c->security.cipher),
		.self_id = d->id,
		.self_gen = d->generation,
	};
	uint8_t key[HS_AUTH_KEY_BYTES];
	unsigned i;
	int rc;

	if (c->security.n_keys == 0) {
		HS_LOG(WARNING, "daemon", "security.plaintext: frames go in "
		       "clear and are taken from anyone on the network");
		return 0;
	}
	rc = hs_auth_create(&ap, &d->auth);
	if (rc == -ENOTSUP) {
		HS_LOG(ERR, "daemon", "security.cipher aes256gcm: this CPU has "
		       "no AES-NI, which libsodium's AES-256-GCM needs; set "
		       "security.cipher = \"xchacha20poly1305\" on every "
		       "node of the cluster");
		return rc;
	}
	if (rc != 0) {
		HS_LOG(ERR, "daemon", "keyring: %s", strerror(-rc));
		return rc;
	}
	HS_LOG(INFO, "daemon", "frames sealed with %s",
	       hs_auth_cipher_name(ap.cipher));
	for (i = 0; i < c->security.n_keys && rc == 0; i++) {
		uint32_t id;

		rc = hs_auth_key_parse(c->security.keys[i], key);
		if (rc == 0)
			rc = hs_auth_key_install(d->auth, key, &id);
		if (rc == -EEXIST)
			rc = 0;		/* listed twice: once is enough */
		if (rc != 0)
			HS_LOG(ERR, "daemon", "security.keys: key %u: %s",
			       i + 1, strerror(-rc));
		else
			HS_LOG(INFO, "daemon", "key %08x installed%s", id,
			       i == 0 ? ", primary" : "");
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
start(struct hsd *d)
{
	const struct hs_conf *c = &d->conf;
	struct hs_drv_conf dc;
	struct node_up_ctx u = { .d = d };
	char eal[4096] = "";
	unsigned k;
	int rc;

	memset(&dc, 0, sizeof(dc));
	dc.driver = c->network.driver;
	memcpy(dc.ip, c->network.address, 4);
	dc.port = c->network.port;
	dc.n_ports = c->network.source_ports;
	dc.no_udp_csum = !c->network.udp_checksum;
	dc.loss = c->network.loss;
	dc.loss_seed = d->id ^ d->generation;
	if (dc.loss > 0)
		HS_LOG(WARNING, "daemon", "network.loss: dropping %.1f %% of "
		       "the frames received, on purpose (chaos testing)",
		       dc.loss * 100);
	dc.queues = c->workers.count;
	dc.iface = c->network.interface[0] ? c->network.interface : NULL;
	dc.dev = c->dpdk.device[0] ? c->dpdk.device : NULL;
	for (k = 0; k < c->dpdk.n_eal; k++) {
		size_t l = strlen(eal);

		snprintf(eal + l, sizeof(eal) - l, "%s%s", k ? " " : "",
			 c->dpdk.eal[k]);
	}
	dc.eal = eal;
	dc.frame_max = c->network.frame_bytes;
	rc = hs_drv_open(&dc, &d->drv);
	if (rc != 0) {
		HS_LOG(ERR, "daemon", "driver %s would not open: %s",
		       dc.driver, strerror(-rc));
		return rc;
	}
	HS_LOG(NOTICE, "daemon", "driver %s up, %u queue%s", dc.driver,
	       hs_drv_queues(d->drv), hs_drv_queues(d->drv) > 1 ? "s" : "");
	d->n_workers = c->workers.count;
	/* the call_rcu thread from the control side, before any pinning */
	d->crdp = urcu_qsbr_create_call_rcu_data(0, -1);
	if (d->crdp == NULL)
		return -ENOMEM;
	rc = auth_up(d);
	if (rc != 0)
		return rc;
	for (k = 0; k < d->n_workers; k++) {
		struct hs_worker_params wp = {
			.cpu = k < c->workers.n_cpus ? c->workers.cpus[k] : -1,
			.mode = strcmp(c->workers.poll, "busy") == 0 ?
					HS_POLL_BUSY : HS_POLL_ADAPTIVE,
			.idle_ns = (uint64_t)c->workers.spin_us * 1000,
		};
		char name[16];

		snprintf(name, sizeof(name), "hs-worker-%u", k);
		wp.name = name;
		rc = hs_worker_create(&wp, &d->w[k]);
		if (rc == 0)
			rc = hs_worker_start(d->w[k]);
		if (rc != 0) {
			HS_LOG(ERR, "daemon", "worker %u: %s", k,
			       strerror(-rc));
			return rc;
		}
	}
	hsd_call(d, node_up, &u);
	if (u.rc != 0) {
		HS_LOG(ERR, "daemon", "node: %s", strerror(-u.rc));
		return u.rc;
	}
	for (k = 1; k < d->n_workers; k++) {
		u.lane = k;
		hs_worker_call(d->w[k], lane_up, &u);
		if (u.rc != 0) {
			HS_LOG(ERR, "daemon", "lane %u: %s", k,
			       strerror(-u.rc));
			return u.rc;
		}
	}
	return 0;
}

static void
stop(struct hsd *d)
{
	struct node_up_ctx u = { .d = d };
	unsigned k;

	for (k = d->n_workers; k-- > 1;) {
		u.lane = k;
		if (d->lane[k] != NULL)
			hs_worker_call(d->w[k], lane_down, &u);
	}
	if (d->node != NULL)
		hsd_call(d, node_down, d);
	for (k = 0; k < d->n_workers; k++)
		if (d->w[k] != NULL)
			hs_worker_destroy(d->w[k]);
	hs_drv_close(d->drv);
	d->drv = NULL;
	if (d->crdp != NULL) {
		urcu_qsbr_barrier();	/* old keyrings too */
		urcu_qsbr_call_rcu_data_free(d->crdp);
		d->crdp = NULL;
	}
	hs_auth_destroy(d->auth);
	d->auth = NULL;
}

/* Leave: our record `left`, pushed; wait until it has gone out, at most
 * LEAVE_TIMEOUT_NS (the API still answers meanwhile). */
static void
leave(struct hsd *d)
{
	struct left_ctx l = { .d = d };
	uint64_t end = hs_clock_monotonic(NULL) + LEAVE_TIMEOUT_NS;

	__atomic_store_n(&d->leaving, true, __ATOMIC_RELEASE);
	hsd_call(d, node_leave, d);
	while (hs_clock_monotonic(NULL) < end) {
		struct timespec ts = { 0, TICK_MS * 1000000 };

		hsd_call(d, node_left, &l);
		if (l.left)
			break;
		hs_notices(d->node, on_notice, d, 256);
		nanosleep(&ts, NULL);
	}
	HS_LOG(NOTICE, "daemon", "%s the cluster", l.left ? "left" :
	       "leaving (timed out waiting for the leave to go out) from");
}

int
main(int argc, char **argv)
{
	static struct hsd hsd;
	struct hsd *d = &hsd;
	struct timespec tick = { 0, TICK_MS * 1000000 };
	sigset_t sigs;
	bool check = false, run = true;
	int rc;

	d->unix_fd = -1;
	pthread_mutex_init(&d->sub_mu, NULL);
	if (parse_args(d, argc, argv, &check) != 0)
		return 1;
	if (conf_read(d, &d->conf) != 0)
		return 1;
	if (check) {
		printf("%s: ok\n", d->conf_path ? d->conf_path : "defaults");
		hs_conf_free(&d->conf);
		return 0;
	}
	hs_log_set_level((enum hs_log_level)log_level_parse(d->conf.log.level));
	memcpy(d->name, d->conf.node.name, sizeof(d->name));
	d->name[sizeof(d->name) - 1] = '\0';
	d->id = d->conf.node.id ? d->conf.node.id :
				  hs_conf_name_id(d->name);
	/* a restart must show as a higher generation: milliseconds of the
	 * wall clock, so that even a restart within a second does */
	d->generation = d->conf.node.generation ? d->conf.node.generation :
						  wall_ms();
	d->start_ns = hs_clock_monotonic(NULL);
	/* notices are stamped on CLOCK_MONOTONIC; the event streams show
	 * wall-clock time (a later step of the wall clock is not followed:
	 * ts_us keeps the old time, which a benchmark comparing nodes wants;
	 * NTP's and PTP's slewing changes both clocks alike) */
	d->wall_off_ns = hs_wall_offset_ns();

	/* Every thread made from here on (EAL, workers, call_rcu, API)
	 * inherits these blocked; the main thread takes them with
	 * sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	urcu_qsbr_register_thread();
	/* the control thread only waits: offline, so that no grace period
	 * waits for it */
	urcu_qsbr_thread_offline();
	rc = start(d);
	if (rc == 0)
		rc = hooks_make(d, &d->conf, &d->hooks);
	if (rc == 0)
		rc = hsd_api_start(d);
	if (rc != 0) {
		hsd_api_stop(d);
		stop(d);
		urcu_qsbr_thread_online();
		urcu_qsbr_unregister_thread();
		return 1;
	}
	HS_LOG(NOTICE, "daemon", "node %s (id %" PRIu64 ", generation %"
	       PRIu64 ") up: %s driver, %u worker%s, %u seed%s", d->name,
	       d->id, d->generation, d->conf.network.driver, d->n_workers,
	       d->n_workers > 1 ? "s" : "", d->conf.gossip.n_seeds,
	       d->conf.gossip.n_seeds == 1 ? "" : "s");

	while (run) {
		siginfo_t si;
		int sig = sigtimedwait(&sigs, &si, &tick);

		if (sig == SIGTERM || sig == SIGINT) {
			HS_LOG(NOTICE, "daemon", "%s: leaving the cluster",
			       sig == SIGTERM ? "SIGTERM" : "SIGINT");
			leave(d);
			run = false;
		} else if (sig == SIGHUP) {
			reload(d);
		}
		hs_notices(d->node, on_notice, d, 1024);
		if (d->hooks != NULL)
			hs_hooks_poll(d->hooks);
	}
	hsd_api_stop(d);
	hs_hooks_destroy(d->hooks);
	stop(d);
	hs_conf_free(&d->conf);
	free(d->overrides);
	urcu_qsbr_thread_online();
	urcu_qsbr_unregister_thread();
	HS_LOG(NOTICE, "daemon", "stopped");
	return 0;
}
