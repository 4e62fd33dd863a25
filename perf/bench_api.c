/*
 * hearsay-bench --api: the benchmark against running hearsayd nodes,
 * through their control API (docs/API.md), rather than engines of its own:
 * a local cluster in network namespaces (scripts/cluster.sh) or real hosts
 * (issue #7; docs/BENCH.md, "Against a running cluster").
 *
 *   hearsay-bench --api ENDPOINT[,ENDPOINT...] [--broadcasts K]
 *                 [--spacing-ms MS] [--idle-seconds S] [--deadline-ms MS]
 *                 [--kill-cmd CMD --kill-node NAME] [--detect-timeout S]
 *                 [--clock auto|node|receipt] [--interval-ms MS]
 *                 [--json] [--svg FILE]
 *
 * ENDPOINT: a Unix socket path (a node's api.socket) or http://HOST:PORT
 * (its api.tcp).
 *
 * Phases:
 *   connect    GET /v1/info on every node (id, name, interval), then one
 *              event stream each (GET /v1/events/stream, change notices of
 *              prefix "bench/", suspect and dead), open until the end;
 *              GET /v1/stats on every node;
 *   idle       S seconds between two GET /v1/stats on every node: tx bytes
 *              and frames per second (the node's counters: UDP payload)
 *              and CPU (the daemon's cpu_s, all its threads), per node,
 *              over the daemon's own uptime between the two;
 *   broadcast  K writes, PUT /v1/keys/bench/<k> at node k mod N, spacing-ms
 *              apart; per node, when its change notice for the write was
 *              queued (the notice's ts_us, the node's clock) and when its
 *              bytes reached us; residue: nodes without it after
 *              deadline-ms;
 *   kill       (--kill-cmd, --kill-node) the command runs (e.g.
 *              "scripts/cluster.sh kill 3": a crash, no leave); time until
 *              every other node's dead notice about that node.
 * Every suspect or dead notice about a node that was not killed, or before
 * it was, over the whole run, is a false suspicion or death.
 *
 * Clocks.  Each time is measured two ways.  The node clock: the notices'
 * ts_us, each node's wall clock when its engine queued the notice (a write
 * reached node i at ts_us(i) - ts_us(origin's own change notice)); exact
 * when every node is on this machine (one CLOCK_MONOTONIC, one wall
 * clock: the default when every endpoint is a Unix socket), as good as
 * the clocks' synchronization across hosts (PTP: --clock node).  The
 * receipt bound, which needs no synchronization: our monotonic time when
 * the notice's bytes arrived minus our time just before the PUT went out
 * (or before the kill command started): the write cannot have happened
 * before we sent it nor the notice after we read it, so this is an upper
 * bound, by up to the stream's delivery (microseconds on a Unix socket,
 * plus the daemon's 20 ms notice pump) and the PUT's way in.  The JSON's
 * "clock" says which one the headline figures use; both are printed.
 *
 * Threads: one.  Every transfer (each node's event stream, each request)
 * is on one libcurl multi handle, driven by one loop (ba_pump) that waits
 * at most BA_POLL_MS, so the streams are read while a request is in
 * flight: a receipt time is when the bytes arrived, not when a blocking
 * request let us look.  A node has at most one request in flight; every
 * request has a deadline (--deadline-ms), every phase one too, and the
 * kill command runs as a child process in its own group, killed at the
 * detection deadline.
 *
 * Exit: 0 when every phase finished; 1 when one did not (residue after a
 * write's deadline, detection unfinished, the kill command failed, an
 * event stream lost, notices dropped); 2 on a bad argument, or a node out
 * of reach at the start.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "daemon/sse.h"
#include "engine/util.h"
#include "perf/bench.h"

#define BA_NODES_MAX		1024
#define BA_MS			1000000ull
#define BA_PREFIX		"bench/"
#define BA_POLL_MS		10	/* the loop's longest wait */
/* 4096 members at ~250 bytes: a member list of 1 MiB; nothing we ask
 * for is near 16 MiB */
#define BA_BODY_MAX		(16u << 20)
/* one notice: a change carries one value (limits.max_value_bytes) */
#define BA_NOTICE_MAX		(1u << 20)
/* hearsayd sends ": keepalive" every 15 s: three missed mean it is gone */
#define BA_SSE_IDLE_S		45L
#define BA_NAME_MAX		64

enum ba_clock {
	BA_CLOCK_AUTO,
	BA_CLOCK_NODE,
	BA_CLOCK_RECEIPT,
};

enum ba_snap {
	BA_SNAP_BEGIN,
	BA_SNAP_IDLE0,
	BA_SNAP_IDLE1,
	BA_SNAP_END,
	BA_N_SNAPS,
};

struct ba_opts {
	char *endpoints;		/* ours: split in place */
	unsigned broadcasts;
	unsigned spacing_ms;
	unsigned idle_s;		/* 0: no idle phase */
	unsigned deadline_ms;
	unsigned detect_timeout_s;
	unsigned interval_ms;		/* when /v1/info has none */
	enum ba_clock clock;
	const char *kill_cmd;
	const char *kill_node;
	bool json;
	const char *svg_path;
};

struct ba;
struct ba_node;

/* A node's request in flight (one at a time). */
struct ba_req {
	CURL *easy;
	char *url;
	char body_out[32];		/* a PUT's value */
	char *body;			/* the answer, NUL-terminated */
	size_t len;
	size_t cap;
	bool too_large;
	bool oom;
	bool busy;
	CURLcode cc;
	long status;
	uint64_t t0_ns;			/* just before it went out */
	uint64_t t1_ns;			/* done */
	char err[CURL_ERROR_SIZE];
};

/* A node's event stream, open from connect to the end. */
struct ba_stream {
	CURL *easy;
	char *url;
	struct hs_sse sse;
	long status;
	bool up;			/* 200 and its headers are in */
	bool ended;
	CURLcode cc;
	int parse_rc;			/* why we stopped it */
	uint64_t rx_ns;			/* the bytes at hand arrived */
	uint64_t end_ns;		/* when it ended */
	uint64_t notices;
	char err[CURL_ERROR_SIZE];
};

/* One GET /v1/stats. */
struct ba_stats {
	bool ok;
	double tx_bytes;
	double tx_frames;
	double cpu_s;
	double uptime_s;
	double notices_dropped;
	double sse_dropped;
};

struct ba_node {
	struct ba *b;
	unsigned i;
	const char *where;		/* the endpoint as given */
	const char *socket;		/* NULL: TCP */
	char *base;			/* http://localhost, http://H:P */
	uint64_t id;
	char name[BA_NAME_MAX + 1];	/* printable */
	unsigned interval_ms;		/* 0: /v1/info had none */
	struct ba_req req;
	struct ba_stream st;
	struct ba_stats snap[BA_N_SNAPS];
	bool idle_ok;
	double idle_bytes, idle_msgs, idle_cpu;	/* per s, per s, % */
	bool victim;
	bool down;			/* killed: its stream may end */
	uint64_t suspect_ts_us, dead_ts_us;	/* of the victim, first */
	uint64_t suspect_rx_ns, dead_rx_ns;
	uint64_t false_suspect, false_dead;
};

/* One broadcast. */
struct ba_write {
	unsigned origin;
	bool started;
	bool put_done;
	bool put_ok;
	uint64_t version;		/* the PUT's answer; 0: not yet */
	uint64_t t_send_ns;
	uint64_t put_ns;		/* the PUT's round trip */
	unsigned reached;		/* nodes holding it, origin included */
	unsigned residue;		/* others without it at the deadline */
	bool node_ok;			/* node-clock figures exist */
	unsigned negative;		/* node clock: before the origin's */
	unsigned over_bound;		/* node clock: above the receipt
					 * bound (clocks not ours) */
	double t_avg, t_last;		/* node clock, ms */
	double u_avg, u_last;		/* receipt bound, ms */
};

struct ba_result {
	bool idle_done;
	double idle_bytes, idle_msgs, cpu_node, cpu_total;
	double idle_bytes_max, idle_cpu_max;
	double idle_s;			/* the measured window, mean */
	unsigned bcast_done;
	unsigned residue;
	unsigned writes_failed;
	bool node_clock;		/* the headline is the node clock */
	bool bcast_node_ok;		/* node-clock times for all */
	bool detect_node_ok;		/* every dead notice had ts_us */
	double t_avg_p50, t_last_p50, t_last_p99, t_last_max, rounds_p50;
	double u_avg_p50, u_last_p50, u_last_p99, u_last_max;
	double n_avg_p50, n_last_p50, n_last_p99, n_last_max;
	double put_p50;
	unsigned negative;
	unsigned over_bound;
	bool kill_done;			/* the phase ran */
	bool detect_ok;
	unsigned observers, detected;
	double first_ms, all_ms, suspect_first_ms;	/* node clock */
	double first_rx_ms, all_rx_ms, suspect_first_rx_ms;
	bool from_gone;			/* node clock: from the victim's
					 * stream closing, not the command */
	double gone_ms;			/* that, after the start */
	double kill_cmd_ms;
	int kill_cmd_status;		/* exit status; -1: killed at the
					 * deadline or not run */
	uint64_t notices_dropped, sse_dropped;
	unsigned streams_lost;
};

struct ba {
	struct ba_opts o;
	unsigned n;
	struct ba_node *nodes;
	CURLM *multi;
	bool curl_global;
	struct curl_slist *hdr_plain, *hdr_body, *hdr_sse;
	int64_t wall_off_ns;		/* ours: wall - monotonic */
	unsigned interval_ms;		/* the rounds' unit */
	bool all_unix;
	/* broadcast: [k * n + i] */
	struct ba_write *w;
	uint64_t *ts_us;		/* 0: no notice */
	uint64_t *rx_ns;		/* 0: no notice */
	uint64_t *ver;
	/* kill */
	uint64_t victim_id;		/* 0: none (yet) */
	char victim_name[BA_NAME_MAX + 1];
	bool killing;
	uint64_t false_suspect, false_dead;
	unsigned streams_lost;
};

static uint64_t
ba_now(void)
{
	return hs_clock_monotonic(NULL);
}


static double
ba_wall_us(const struct ba *b, uint64_t mono_ns)
{
	return ((double)mono_ns + (double)b->wall_off_ns) / 1e3;
}

/* ---- transfers ---- */

#define BA_SETOPT(h, opt, val) \
	ok = curl_easy_setopt((h), (opt), (val)) == CURLE_OK && ok

static bool
ba_setopt_common(struct ba_node *nd, CURL *h, const char *url, char *err)
{
	bool ok = true;

	curl_easy_reset(h);
	err[0] = '\0';
	BA_SETOPT(h, CURLOPT_URL, url);
	if (nd->socket != NULL)
		BA_SETOPT(h, CURLOPT_UNIX_SOCKET_PATH, nd->socket);
	BA_SETOPT(h, CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	BA_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	BA_SETOPT(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	BA_SETOPT(h, CURLOPT_ERRORBUFFER, err);
	BA_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)nd->b->o.deadline_ms);
	BA_SETOPT(h, CURLOPT_USERAGENT, "hearsay-bench");
	BA_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	BA_SETOPT(h, CURLOPT_PRIVATE, nd);
	return ok;
}

static size_t
ba_req_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct ba_req *r = arg;
	size_t len = size * n;

	if (len > BA_BODY_MAX - r->len) {
		r->too_large = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap != 0 ? r->cap : 4096;
		char *q;

		while (cap < r->len + len + 1)
			cap *= 2;
		q = realloc(r->body, cap);
		if (q == NULL) {
			r->oom = true;
			return 0;
		}
		r->body = q;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/*
 * Sends one request on node nd (none in flight there): method on path,
 * with body (NULL: none).  It runs as ba_pump turns; nd->req.busy until
 * it is done.  0, or -ENOMEM.
 */
static int
ba_req_start(struct ba_node *nd, const char *method, const char *path,
	     const char *body)
{
	struct ba *b = nd->b;
	struct ba_req *r = &nd->req;
	int running;
	bool ok;

	assert(!r->busy);
	free(r->url);
	r->url = NULL;
	r->len = 0;
	r->too_large = false;
	r->oom = false;
	r->status = 0;
	r->cc = CURLE_OK;
	if (asprintf(&r->url, "%s%s", nd->base, path) < 0) {
		r->url = NULL;
		return -ENOMEM;
	}
	ok = ba_setopt_common(nd, r->easy, r->url, r->err);
	BA_SETOPT(r->easy, CURLOPT_TIMEOUT_MS, (long)b->o.deadline_ms);
	BA_SETOPT(r->easy, CURLOPT_WRITEFUNCTION, ba_req_on_body);
	BA_SETOPT(r->easy, CURLOPT_WRITEDATA, r);
	if (body != NULL) {
		snprintf(r->body_out, sizeof(r->body_out), "%s", body);
		BA_SETOPT(r->easy, CURLOPT_POSTFIELDSIZE,
			  (long)strlen(r->body_out));
		BA_SETOPT(r->easy, CURLOPT_POSTFIELDS, r->body_out);
		BA_SETOPT(r->easy, CURLOPT_HTTPHEADER, b->hdr_body);
	} else {
		BA_SETOPT(r->easy, CURLOPT_HTTPHEADER, b->hdr_plain);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		BA_SETOPT(r->easy, CURLOPT_CUSTOMREQUEST, method);
	if (!ok)
		return -ENOMEM;
	r->t0_ns = ba_now();
	if (curl_multi_add_handle(b->multi, r->easy) != CURLM_OK)
		return -ENOMEM;
	r->busy = true;
	/* out now, not at the next turn of the loop: the PUT's time is
	 * taken just before this */
	curl_multi_perform(b->multi, &running);
	return 0;
}

/* Why a Unix socket refuses connections: errno of our own connect(2)
 * (ECONNREFUSED for a socket nobody listens on any more). */
static int
ba_probe_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = ECONNREFUSED;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		err = errno;
	close(fd);
	return err;
}

/* The answer as a JSON object (a 2xx), or NULL with why in msg. */
static json_t *
ba_req_json(const struct ba_node *nd, char *msg, size_t len)
{
	const struct ba_req *r = &nd->req;
	json_t *o;

	if (r->cc == CURLE_COULDNT_CONNECT && nd->socket != NULL) {
		/* curl's own text names "localhost port 80" */
		snprintf(msg, len, "cannot connect to the Unix socket: %s",
			 strerror(ba_probe_unix(nd->socket)));
		return NULL;
	}
	if (r->cc != CURLE_OK) {
		snprintf(msg, len, "%s", r->err[0] != '\0' ? r->err :
			 curl_easy_strerror(r->cc));
		return NULL;
	}
	if (r->too_large || r->oom) {
		snprintf(msg, len, "answer too large");
		return NULL;
	}
	o = r->body != NULL ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (r->status < 200 || r->status > 299) {
		const char *e = json_string_value(json_object_get(o, "error"));

		snprintf(msg, len, "HTTP %ld%s%s", r->status, e ? ": " : "",
			 e ? e : "");
		json_decref(o);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(msg, len, "answer is not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
ba_on_member(struct ba_node *nd, bool dead, uint64_t about, uint64_t ts_us)
{
	struct ba *b = nd->b;

	if (b->killing && about == b->victim_id) {
		if (dead && nd->dead_rx_ns == 0) {
			nd->dead_rx_ns = nd->st.rx_ns;
			nd->dead_ts_us = ts_us;
		} else if (!dead && nd->suspect_rx_ns == 0) {
			nd->suspect_rx_ns = nd->st.rx_ns;
			nd->suspect_ts_us = ts_us;
		}
		return;
	}
	if (dead) {
		nd->false_dead++;
		b->false_dead++;
	} else {
		nd->false_suspect++;
		b->false_suspect++;
	}
}

static void
ba_on_change(struct ba_node *nd, json_t *o, uint64_t ts_us)
{
	struct ba *b = nd->b;
	const char *key = json_string_value(json_object_get(o, "key"));
	const char *node = json_string_value(json_object_get(o, "node"));
	json_t *ver = json_object_get(o, "version");
	unsigned long k;
	uint64_t v;
	size_t slot;
	char *end;

	if (key == NULL || node == NULL || !json_is_integer(ver) ||
	    json_is_true(json_object_get(o, "deleted")) ||
	    strncmp(key, BA_PREFIX, strlen(BA_PREFIX)) != 0)
		return;
	key += strlen(BA_PREFIX);
	errno = 0;
	k = strtoul(key, &end, 10);
	if (errno != 0 || *key == '\0' || *end != '\0' ||
	    k >= b->o.broadcasts || !b->w[k].started ||
	    strtoull(node, NULL, 10) != b->nodes[b->w[k].origin].id)
		return;
	v = (uint64_t)json_integer_value(ver);
	/* an older version of the key (a node catching up on an earlier
	 * run's write) is not this write */
	if (b->w[k].version != 0 && v < b->w[k].version)
		return;
	slot = (size_t)k * b->n + nd->i;
	if (b->rx_ns[slot] != 0 && b->ver[slot] >= v)
		return;
	b->rx_ns[slot] = nd->st.rx_ns;
	b->ts_us[slot] = ts_us;
	b->ver[slot] = v;
}

/* One notice of a node's stream (hs_sse_fn). */
static int
ba_on_event(const char *event, size_t event_len, char *data, size_t len,
	    void *arg)
{
	struct ba_node *nd = arg;
	json_t *o = json_loadb(data, len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	json_t *ts = json_object_get(o, "ts_us");
	uint64_t ts_us = json_is_integer(ts) ?
			 (uint64_t)json_integer_value(ts) : 0;

	(void)event;
	(void)event_len;
	nd->st.notices++;
	if (type == NULL) {
		json_decref(o);
		return 0;
	}
	if (strcmp(type, "change") == 0) {
		ba_on_change(nd, o, ts_us);
	} else if (strcmp(type, "suspect") == 0 ||
		   strcmp(type, "dead") == 0) {
		const char *id = json_string_value(json_object_get(o, "id"));

		if (id != NULL)
			ba_on_member(nd, type[0] == 'd',
				     strtoull(id, NULL, 10), ts_us);
	}
	json_decref(o);
	return 0;
}

static size_t
ba_stream_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ba_node *nd = arg;
	size_t len = size * n;

	/* the blank line after the headers: the daemon has registered the
	 * stream before it answered (daemon/api.c get_stream) */
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') ||
	    (len == 1 && p[0] == '\n')) {
		curl_easy_getinfo(nd->st.easy, CURLINFO_RESPONSE_CODE,
				  &nd->st.status);
		if (nd->st.status == 200)
			nd->st.up = true;
	}
	return len;
}

static size_t
ba_stream_on_data(char *p, size_t size, size_t n, void *arg)
{
	struct ba_node *nd = arg;
	size_t len = size * n;
	int rc;

	nd->st.rx_ns = ba_now();
	if (!nd->st.up)
		return len;	/* an error's body: the status says it */
	rc = hs_sse_feed(&nd->st.sse, p, len);
	if (rc != 0) {
		nd->st.parse_rc = rc;
		return 0;
	}
	return len;
}

static int
ba_stream_start(struct ba_node *nd)
{
	struct ba *b = nd->b;
	struct ba_stream *st = &nd->st;
	int running;
	bool ok;

	if (asprintf(&st->url, "%s/v1/events/stream?types=change,suspect,"
		     "dead&prefix=" BA_PREFIX, nd->base) < 0) {
		st->url = NULL;
		return -ENOMEM;
	}
	hs_sse_init(&st->sse, BA_NOTICE_MAX, ba_on_event, nd);
	ok = ba_setopt_common(nd, st->easy, st->url, st->err);
	BA_SETOPT(st->easy, CURLOPT_HTTPHEADER, b->hdr_sse);
	BA_SETOPT(st->easy, CURLOPT_HEADERFUNCTION, ba_stream_on_header);
	BA_SETOPT(st->easy, CURLOPT_HEADERDATA, nd);
	BA_SETOPT(st->easy, CURLOPT_WRITEFUNCTION, ba_stream_on_data);
	BA_SETOPT(st->easy, CURLOPT_WRITEDATA, nd);
	/* no overall timeout: the stream lasts; a silent one is dead */
	BA_SETOPT(st->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	BA_SETOPT(st->easy, CURLOPT_LOW_SPEED_TIME, BA_SSE_IDLE_S);
	if (!ok || curl_multi_add_handle(b->multi, st->easy) != CURLM_OK)
		return -ENOMEM;
	curl_multi_perform(b->multi, &running);
	return 0;
}

static void
ba_stream_done(struct ba_node *nd, CURLcode cc)
{
	struct ba *b = nd->b;
	struct ba_stream *st = &nd->st;
	char why[CURL_ERROR_SIZE + 32];

	curl_multi_remove_handle(b->multi, st->easy);
	st->ended = true;
	st->end_ns = ba_now();
	st->cc = cc;
	if (nd->down)
		return;		/* killed: expected */
	b->streams_lost++;
	if (st->parse_rc == -EMSGSIZE)
		snprintf(why, sizeof(why), "a notice over 1 MiB");
	else if (st->parse_rc != 0)
		snprintf(why, sizeof(why), "out of memory");
	else if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", st->err[0] ? st->err :
			 curl_easy_strerror(cc));
	else if (!st->up)
		snprintf(why, sizeof(why), "HTTP %ld", st->status);
	else
		snprintf(why, sizeof(why), "closed by the daemon");
	fprintf(stderr, "hearsay-bench: the event stream of %s (%s) ended: "
		"%s\n", nd->name, nd->where, why);
}

/*
 * One turn of the loop: wait for any transfer's activity, at most until
 * until_ns and at most BA_POLL_MS, then move every transfer on (stream
 * bytes go through their callbacks here) and retire the finished ones.
 */
static void
ba_pump(struct ba *b, uint64_t until_ns)
{
	uint64_t now = ba_now();
	long ms = now >= until_ns ? 0 :
		  (long)((until_ns - now + BA_MS - 1) / BA_MS);
	int running, left, nfds;
	CURLMsg *m;

	if (ms > BA_POLL_MS)
		ms = BA_POLL_MS;
	curl_multi_poll(b->multi, NULL, 0, (int)ms, &nfds);
	curl_multi_perform(b->multi, &running);
	while ((m = curl_multi_info_read(b->multi, &left)) != NULL) {
		struct ba_node *nd = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&nd);
		if (nd == NULL)
			continue;
		if (m->easy_handle == nd->req.easy) {
			CURLcode cc = m->data.result;

			curl_multi_remove_handle(b->multi, nd->req.easy);
			nd->req.cc = cc;
			curl_easy_getinfo(nd->req.easy,
					  CURLINFO_RESPONSE_CODE,
					  &nd->req.status);
			nd->req.t1_ns = ba_now();
			nd->req.busy = false;
		} else {
			ba_stream_done(nd, m->data.result);
		}
	}
}

static bool
ba_reqs_busy(const struct ba *b)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (b->nodes[i].req.busy)
			return true;
	return false;
}

/* Until every request is answered; each has its own deadline
 * (CURLOPT_TIMEOUT_MS), so this ends. */
static void
ba_wait_reqs(struct ba *b)
{
	while (ba_reqs_busy(b))
		ba_pump(b, ba_now() + BA_POLL_MS * BA_MS);
}

static void
ba_pump_until(struct ba *b, uint64_t until_ns)
{
	while (ba_now() < until_ns)
		ba_pump(b, until_ns);
}

/* ---- phases ---- */

static void
ba_copy_name(char *out, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < BA_NAME_MAX; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	out[i] = '\0';
}

static double
ba_num(json_t *o, const char *a, const char *f)
{
	json_t *v = json_object_get(a != NULL ? json_object_get(o, a) : o, f);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* GET /v1/stats on every live node, into snap[s]. */
static void
ba_stats_all(struct ba *b, enum ba_snap s)
{
	unsigned i;

	ba_wait_reqs(b);
	for (i = 0; i < b->n; i++) {
		b->nodes[i].snap[s].ok = false;
		if (!b->nodes[i].down)
			ba_req_start(&b->nodes[i], "GET", "/v1/stats", NULL);
	}
	ba_wait_reqs(b);
	for (i = 0; i < b->n; i++) {
		struct ba_node *nd = &b->nodes[i];
		struct ba_stats *st = &nd->snap[s];
		char msg[256];
		json_t *o;

		if (nd->down)
			continue;
		o = ba_req_json(nd, msg, sizeof(msg));
		if (o == NULL) {
			fprintf(stderr, "hearsay-bench: %s: GET /v1/stats: "
				"%s\n", nd->name, msg);
			continue;
		}
		st->tx_bytes = ba_num(o, "node", "tx_bytes");
		st->tx_frames = ba_num(o, "node", "tx_frames");
		st->cpu_s = ba_num(o, NULL, "cpu_s");
		st->uptime_s = ba_num(o, NULL, "uptime_s");
		st->notices_dropped = ba_num(o, "node", "notices_dropped");
		st->sse_dropped = ba_num(o, "api", "sse_dropped");
		st->ok = true;
		json_decref(o);
	}
}

static int
ba_phase_connect(struct ba *b)
{
	uint64_t deadline;
	unsigned i, j, up;
	int failed = 0;

	for (i = 0; i < b->n; i++)
		if (ba_req_start(&b->nodes[i], "GET", "/v1/info", NULL) != 0)
			return -ENOMEM;
	ba_wait_reqs(b);
	for (i = 0; i < b->n; i++) {
		struct ba_node *nd = &b->nodes[i];
		const char *id, *name;
		json_t *o, *iv;
		char msg[256];

		o = ba_req_json(nd, msg, sizeof(msg));
		if (o == NULL) {
			fprintf(stderr, "hearsay-bench: %s: GET /v1/info: %s\n",
				nd->where, msg);
			failed = 1;
			continue;
		}
		id = json_string_value(json_object_get(o, "id"));
		name = json_string_value(json_object_get(o, "name"));
		iv = json_object_get(o, "interval_ms");
		nd->id = id != NULL ? strtoull(id, NULL, 10) : 0;
		ba_copy_name(nd->name, name != NULL ? name : "");
		nd->interval_ms = json_is_integer(iv) ?
				  (unsigned)json_integer_value(iv) : 0;
		json_decref(o);
		if (nd->id == 0) {
			fprintf(stderr, "hearsay-bench: %s: /v1/info has no "
				"node id\n", nd->where);
			failed = 1;
		}
	}
	for (i = 0; i < b->n && !failed; i++)
		for (j = 0; j < i; j++)
			if (b->nodes[i].id == b->nodes[j].id) {
				fprintf(stderr, "hearsay-bench: %s and %s are "
					"the same node (%s)\n",
					b->nodes[j].where, b->nodes[i].where,
					b->nodes[i].name);
				failed = 1;
			}
	if (failed)
		return -1;
	b->interval_ms = b->nodes[0].interval_ms != 0 ?
			 b->nodes[0].interval_ms : b->o.interval_ms;
	for (i = 1; i < b->n; i++)
		if (b->nodes[i].interval_ms != b->nodes[0].interval_ms)
			fprintf(stderr, "hearsay-bench: the nodes' intervals "
				"differ (%s %u ms, %s %u ms): rounds are in "
				"%u ms\n", b->nodes[0].name,
				b->nodes[0].interval_ms, b->nodes[i].name,
				b->nodes[i].interval_ms, b->interval_ms);

	for (i = 0; i < b->n; i++)
		if (ba_stream_start(&b->nodes[i]) != 0)
			return -ENOMEM;
	deadline = ba_now() + (uint64_t)b->o.deadline_ms * BA_MS;
	for (;;) {
		for (i = 0, up = 0; i < b->n; i++)
			up += b->nodes[i].st.up;
		if (up == b->n || ba_now() >= deadline || b->streams_lost)
			break;
		ba_pump(b, deadline);
	}
	if (up != b->n) {
		for (i = 0; i < b->n; i++)
			if (!b->nodes[i].st.up && !b->nodes[i].st.ended)
				fprintf(stderr, "hearsay-bench: %s: no event "
					"stream after %u ms\n",
					b->nodes[i].name, b->o.deadline_ms);
		return -1;
	}
	ba_stats_all(b, BA_SNAP_BEGIN);
	return 0;
}

static void
ba_phase_idle(struct ba *b, struct ba_result *r)
{
	unsigned i, m = 0;

	ba_stats_all(b, BA_SNAP_IDLE0);
	ba_pump_until(b, ba_now() + (uint64_t)b->o.idle_s * 1000000000ull);
	ba_stats_all(b, BA_SNAP_IDLE1);
	for (i = 0; i < b->n; i++) {
		struct ba_node *nd = &b->nodes[i];
		const struct ba_stats *s0 = &nd->snap[BA_SNAP_IDLE0];
		const struct ba_stats *s1 = &nd->snap[BA_SNAP_IDLE1];
		/* the daemon's own clock between its two answers: the
		 * window its counters cover */
		double dt = s1->uptime_s - s0->uptime_s;

		if (!s0->ok || !s1->ok || !(dt > 0) ||
		    isnan(s1->tx_bytes - s0->tx_bytes) ||
		    isnan(s1->cpu_s - s0->cpu_s))
			continue;
		nd->idle_ok = true;
		nd->idle_bytes = (s1->tx_bytes - s0->tx_bytes) / dt;
		nd->idle_msgs = (s1->tx_frames - s0->tx_frames) / dt;
		nd->idle_cpu = 100.0 * (s1->cpu_s - s0->cpu_s) / dt;
		r->idle_bytes += nd->idle_bytes;
		r->idle_msgs += nd->idle_msgs;
		r->cpu_total += nd->idle_cpu;
		r->idle_s += dt;
		if (nd->idle_bytes > r->idle_bytes_max)
			r->idle_bytes_max = nd->idle_bytes;
		if (nd->idle_cpu > r->idle_cpu_max)
			r->idle_cpu_max = nd->idle_cpu;
		m++;
	}
	if (m == 0) {
		fprintf(stderr, "hearsay-bench: idle: no node answered "
			"/v1/stats twice\n");
		return;
	}
	r->idle_done = true;
	r->idle_bytes /= m;
	r->idle_msgs /= m;
	r->cpu_node = r->cpu_total / m;
	r->idle_s /= m;
}

/* The PUT of write k came back: its version, and the notices of older
 * versions recorded meanwhile forgotten. */
static void
ba_put_answered(struct ba *b, unsigned k)
{
	struct ba_write *w = &b->w[k];
	struct ba_node *nd = &b->nodes[w->origin];
	char msg[256];
	json_t *o, *v;
	unsigned i;

	w->put_done = true;
	w->put_ns = nd->req.t1_ns - nd->req.t0_ns;
	o = ba_req_json(nd, msg, sizeof(msg));
	v = json_object_get(o, "version");
	if (o == NULL || !json_is_integer(v)) {
		fprintf(stderr, "hearsay-bench: write %u: PUT on %s: %s\n", k,
			nd->name, o == NULL ? msg : "no version in the answer");
		json_decref(o);
		return;
	}
	w->put_ok = true;
	w->version = (uint64_t)json_integer_value(v);
	json_decref(o);
	for (i = 0; i < b->n; i++) {
		size_t slot = (size_t)k * b->n + i;

		if (b->rx_ns[slot] != 0 && b->ver[slot] < w->version)
			b->rx_ns[slot] = b->ts_us[slot] = b->ver[slot] = 0;
	}
}

static unsigned
ba_holding(const struct ba *b, unsigned k)
{
	unsigned i, have = 0;

	for (i = 0; i < b->n; i++)
		have += b->rx_ns[(size_t)k * b->n + i] != 0;
	return have;
}

/* Write k's figures, from what arrived by its deadline. */
static void
ba_write_figures(struct ba *b, unsigned k)
{
	struct ba_write *w = &b->w[k];
	size_t base = (size_t)k * b->n;
	uint64_t ts0 = b->ts_us[base + w->origin];
	double sum_t = 0, sum_u = 0;
	unsigned i, got = 0;

	w->node_ok = b->rx_ns[base + w->origin] != 0 && ts0 != 0;
	w->t_last = w->u_last = 0;
	for (i = 0; i < b->n; i++) {
		double t, u;

		if (i == w->origin || b->rx_ns[base + i] == 0)
			continue;
		got++;
		u = (double)(b->rx_ns[base + i] - w->t_send_ns) / 1e6;
		sum_u += u;
		if (u > w->u_last)
			w->u_last = u;
		if (b->ts_us[base + i] == 0)
			w->node_ok = false;
		if (!w->node_ok)
			continue;
		t = ((double)b->ts_us[base + i] - (double)ts0) / 1e3;
		if (t < 0)
			w->negative++;
		/* ts0 is after our send and ts(i) before our receipt, when
		 * the nodes' clocks are ours (1 us of rounding, and the
		 * offsets' reads, aside) */
		if (t > u + 0.05)
			w->over_bound++;
		sum_t += t;
		if (t > w->t_last)
			w->t_last = t;
	}
	w->residue = b->n - 1 - got;
	w->reached = got + (b->rx_ns[base + w->origin] != 0);
	w->u_avg = got ? sum_u / got : 0;
	w->t_avg = got && w->node_ok ? sum_t / got : 0;
}

/* p50, and p99 and max unless NULL, of n values; NaN for none. */
static void
ba_pcts(const double *v, unsigned n, double *p50, double *p99, double *max)
{
	double *s = malloc((n + 1) * sizeof(*s));

	*p50 = NAN;
	if (p99 != NULL)
		*p99 = NAN;
	if (max != NULL)
		*max = NAN;
	if (s == NULL || n == 0) {
		free(s);
		return;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bn_cmp_double);
	*p50 = bn_pct(s, n, 0.50);
	if (p99 != NULL)
		*p99 = bn_pct(s, n, 0.99);
	if (max != NULL)
		*max = s[n - 1];
	free(s);
}

static int
ba_phase_broadcast(struct ba *b, struct ba_result *r)
{
	unsigned n = b->n, K = b->o.broadcasts, k;
	double *v = calloc((size_t)K * 4 + 1, sizeof(*v));
	double *t_last = v, *t_avg = v + K, *u_last = v + 2 * K;
	double *u_avg = v + 3 * K;
	bool node_ok = true;
	int failed = 0;

	if (v == NULL)
		return -2;
	for (k = 0; k < K; k++) {
		struct ba_write *w = &b->w[k];
		struct ba_node *nd;
		char path[64], val[16];
		uint64_t deadline;

		w->origin = k % n;
		nd = &b->nodes[w->origin];
		snprintf(path, sizeof(path), "/v1/keys/" BA_PREFIX "%u", k);
		snprintf(val, sizeof(val), "%u", k);
		w->started = true;
		if (ba_req_start(nd, "PUT", path, val) != 0) {
			free(v);
			return -2;
		}
		w->t_send_ns = nd->req.t0_ns;
		deadline = w->t_send_ns + (uint64_t)b->o.deadline_ms * BA_MS;
		for (;;) {
			if (!w->put_done && !nd->req.busy)
				ba_put_answered(b, k);
			if ((w->put_done && ba_holding(b, k) == n) ||
			    ba_now() >= deadline)
				break;
			ba_pump(b, deadline);
		}
		/* a PUT not answered by the deadline ends at about the same
		 * time (CURLOPT_TIMEOUT_MS is the same deadline) */
		while (nd->req.busy)
			ba_pump(b, ba_now() + BA_POLL_MS * BA_MS);
		if (!w->put_done)
			ba_put_answered(b, k);
		ba_write_figures(b, k);
		if (w->put_done && !w->put_ok)
			r->writes_failed++;
		r->residue += w->residue;
		r->negative += w->negative;
		r->over_bound += w->over_bound;
		if (w->residue != 0 || !w->put_ok) {
			fprintf(stderr, "hearsay-bench: write %u (at %s): %u "
				"of %u other nodes without it after %u ms%s\n",
				k, nd->name, w->residue, n - 1,
				b->o.deadline_ms,
				w->put_ok ? "" : " (the PUT failed)");
			failed = 1;
		}
		node_ok = node_ok && w->node_ok;
		t_last[k] = w->t_last;
		t_avg[k] = w->t_avg;
		u_last[k] = w->u_last;
		u_avg[k] = w->u_avg;
		r->bcast_done++;
		if (k + 1 < K)
			ba_pump_until(b, w->t_send_ns +
				      (uint64_t)b->o.spacing_ms * BA_MS);
	}
	ba_pcts(u_last, K, &r->u_last_p50, &r->u_last_p99, &r->u_last_max);
	ba_pcts(u_avg, K, &r->u_avg_p50, NULL, NULL);
	if (node_ok) {
		ba_pcts(t_last, K, &r->n_last_p50, &r->n_last_p99,
			&r->n_last_max);
		ba_pcts(t_avg, K, &r->n_avg_p50, NULL, NULL);
	}
	for (k = 0; k < K; k++)
		t_last[k] = (double)b->w[k].put_ns / 1e6;
	ba_pcts(t_last, K, &r->put_p50, NULL, NULL);
	r->bcast_node_ok = node_ok;
	free(v);
	return failed ? -1 : 0;
}

/* The victim: an endpoint of that name, or a member the first live node
 * knows by it.  0, or -1 with the reason printed. */
static int
ba_find_victim(struct ba *b)
{
	struct ba_node *asker = NULL;
	char path[256 + 16], msg[256], *e;
	const char *id, *name;
	unsigned i;
	json_t *o;
	CURL *h;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->nodes[i].name, b->o.kill_node) == 0) {
			b->nodes[i].victim = true;
			b->victim_id = b->nodes[i].id;
			ba_copy_name(b->victim_name, b->nodes[i].name);
			return 0;
		}
	for (i = 0; i < b->n && asker == NULL; i++)
		if (!b->nodes[i].down && !b->nodes[i].st.ended)
			asker = &b->nodes[i];
	if (asker == NULL)
		return -1;
	h = curl_easy_init();
	e = h != NULL ? curl_easy_escape(h, b->o.kill_node, 0) : NULL;
	if (e == NULL || strlen(e) > 256) {
		curl_free(e);
		curl_easy_cleanup(h);
		fprintf(stderr, "hearsay-bench: --kill-node '%s': too long\n",
			b->o.kill_node);
		return -1;
	}
	snprintf(path, sizeof(path), "/v1/members/%s", e);
	curl_free(e);
	curl_easy_cleanup(h);
	if (ba_req_start(asker, "GET", path, NULL) != 0)
		return -1;
	ba_wait_reqs(b);
	o = ba_req_json(asker, msg, sizeof(msg));
	id = json_string_value(json_object_get(o, "id"));
	name = json_string_value(json_object_get(o, "name"));
	if (o == NULL || id == NULL) {
		fprintf(stderr, "hearsay-bench: --kill-node '%s': no such "
			"node among the endpoints, nor a member %s knows: "
			"%s\n", b->o.kill_node, asker->name,
			o == NULL ? msg : "no id");
		json_decref(o);
		return -1;
	}
	b->victim_id = strtoull(id, NULL, 10);
	ba_copy_name(b->victim_name, name != NULL ? name : b->o.kill_node);
	json_decref(o);
	return 0;
}

/* /bin/sh -c CMD, in a process group of its own (so that the deadline
 * can kill all of it), its stdout on our stderr (ours may be the JSON). */
static pid_t
ba_spawn(const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* either side may win the race */
	return pid;
}

static int
ba_phase_kill(struct ba *b, struct ba_result *r)
{
	uint64_t t0, deadline, first = UINT64_MAX, last = 0;
	uint64_t sfirst = UINT64_MAX;
	double nfirst = INFINITY, nlast = -INFINITY, nsfirst = INFINITY;
	double ref_us;			/* the node clock's zero */
	bool running = true;
	int status = 0;
	unsigned i;
	pid_t pid;

	r->kill_cmd_status = -1;
	if (ba_find_victim(b) != 0)
		return -2;
	for (i = 0; i < b->n; i++) {
		if (b->nodes[i].victim)
			b->nodes[i].down = true; /* its stream ends */
		else if (!b->nodes[i].st.ended)
			r->observers++;
	}
	if (r->observers == 0) {
		fprintf(stderr, "hearsay-bench: kill: no other node to "
			"watch\n");
		return -2;
	}
	fflush(stdout);
	fflush(stderr);
	b->killing = true;
	t0 = ba_now();
	ref_us = ba_wall_us(b, t0);
	pid = ba_spawn(b->o.kill_cmd);
	if (pid < 0) {
		fprintf(stderr, "hearsay-bench: --kill-cmd: fork: %s\n",
			strerror(errno));
		return -2;
	}
	r->kill_done = true;
	deadline = t0 + (uint64_t)b->o.detect_timeout_s * 1000000000ull;
	for (;;) {
		unsigned seen = 0;

		if (running && waitpid(pid, &status, WNOHANG) == pid) {
			running = false;
			r->kill_cmd_ms = (double)(ba_now() - t0) / 1e6;
			r->kill_cmd_status = WIFEXITED(status) ?
					     WEXITSTATUS(status) : -1;
		}
		for (i = 0; i < b->n; i++)
			seen += !b->nodes[i].victim &&
				!b->nodes[i].st.ended &&
				b->nodes[i].dead_rx_ns != 0;
		r->detected = seen;
		if ((!running && seen == r->observers) ||
		    ba_now() >= deadline)
			break;
		ba_pump(b, deadline);
	}
	if (running) {
		fprintf(stderr, "hearsay-bench: --kill-cmd still runs after "
			"%u s: SIGKILL\n", b->o.detect_timeout_s);
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		r->kill_cmd_ms = (double)(ba_now() - t0) / 1e6;
	}
	/*
	 * The kill happened between the command's start and the victim's
	 * event stream closing (the kernel closes its sockets when it
	 * dies): on the node clock, time from the closing when we saw it,
	 * a few ms tighter than the command's start (cluster.sh takes
	 * 100 ms before its SIGKILL).  The receipt figures stay from the
	 * command's start: upper bounds.
	 */
	for (i = 0; i < b->n; i++)
		if (b->nodes[i].victim && b->nodes[i].st.ended &&
		    b->nodes[i].st.end_ns >= t0) {
			r->from_gone = true;
			r->gone_ms = (double)(b->nodes[i].st.end_ns - t0) /
				     1e6;
			ref_us = ba_wall_us(b, b->nodes[i].st.end_ns);
		}
	if (!r->from_gone)
		r->gone_ms = NAN;
	r->detect_node_ok = true;
	for (i = 0; i < b->n; i++) {
		struct ba_node *nd = &b->nodes[i];

		if (nd->victim)
			continue;
		if (nd->dead_rx_ns != 0) {
			if (nd->dead_rx_ns - t0 < first)
				first = nd->dead_rx_ns - t0;
			if (nd->dead_rx_ns - t0 > last)
				last = nd->dead_rx_ns - t0;
			if (nd->dead_ts_us != 0) {
				double t = ((double)nd->dead_ts_us - ref_us) /
					   1e3;

				nfirst = fmin(nfirst, t);
				nlast = fmax(nlast, t);
			} else {
				r->detect_node_ok = false;
			}
		}
		if (nd->suspect_rx_ns != 0) {
			if (nd->suspect_rx_ns - t0 < sfirst)
				sfirst = nd->suspect_rx_ns - t0;
			if (nd->suspect_ts_us != 0)
				nsfirst = fmin(nsfirst,
					       ((double)nd->suspect_ts_us -
						ref_us) / 1e3);
		}
	}
	r->first_rx_ms = first == UINT64_MAX ? NAN : (double)first / 1e6;
	r->all_rx_ms = r->detected == r->observers ? (double)last / 1e6 : NAN;
	r->suspect_first_rx_ms = sfirst == UINT64_MAX ? NAN :
				 (double)sfirst / 1e6;
	r->first_ms = isfinite(nfirst) ? nfirst : NAN;
	r->all_ms = r->detected == r->observers && isfinite(nlast) ? nlast :
		    NAN;
	r->suspect_first_ms = isfinite(nsfirst) ? nsfirst : NAN;
	r->detect_ok = r->detected == r->observers;
	if (r->kill_cmd_status != 0)
		fprintf(stderr, "hearsay-bench: --kill-cmd '%s' %s %d\n",
			b->o.kill_cmd, r->kill_cmd_status < 0 ?
			"was killed or died by signal" : "exited with",
			r->kill_cmd_status);
	if (!r->detect_ok)
		fprintf(stderr, "hearsay-bench: detection: %u of %u nodes "
			"marked %s dead within %u s\n", r->detected,
			r->observers, b->victim_name, b->o.detect_timeout_s);
	return r->detect_ok && r->kill_cmd_status == 0 ? 0 : -1;
}

/*
 * One clock for the headline figures of the whole run: the nodes' when
 * asked for (or by default on one machine) and every notice had its
 * ts_us, else our receipt bounds.
 */
static void
ba_choose(const struct ba *b, struct ba_result *r)
{
	bool want = b->o.clock == BA_CLOCK_NODE ||
		    (b->o.clock == BA_CLOCK_AUTO && b->all_unix);

	r->node_clock = want && (r->bcast_done == 0 || r->bcast_node_ok) &&
			(!r->kill_done || r->detect_node_ok);
	if (want && !r->node_clock)
		fprintf(stderr, "hearsay-bench: a notice without ts_us (an "
			"older hearsayd?): the figures are the receipt "
			"bounds\n");
	if (r->node_clock && r->negative != 0)
		fprintf(stderr, "hearsay-bench: %u node-clock times before "
			"the origin's own notice: the clocks disagree\n",
			r->negative);
	if (r->node_clock && r->over_bound != 0)
		fprintf(stderr, "hearsay-bench: %u node-clock times above "
			"our receipt bound: the nodes' clocks are not ours "
			"(another host? then --clock receipt, or PTP)\n",
			r->over_bound);
	if (r->node_clock) {
		r->t_avg_p50 = r->n_avg_p50;
		r->t_last_p50 = r->n_last_p50;
		r->t_last_p99 = r->n_last_p99;
		r->t_last_max = r->n_last_max;
	} else {
		r->t_avg_p50 = r->u_avg_p50;
		r->t_last_p50 = r->u_last_p50;
		r->t_last_p99 = r->u_last_p99;
		r->t_last_max = r->u_last_max;
	}
	r->rounds_p50 = r->t_last_p50 / b->interval_ms;
}

/* ---- output ---- */

/* A number rounded to `dec` decimals, or null when it is not finite. */
static json_t *
ba_jr(double x, int dec)
{
	double s = pow(10, dec);

	return isfinite(x) ? json_real(round(x * s) / s) : json_null();
}

static const char *
ba_clock_str(const struct ba *b, const struct ba_result *r)
{
	if (r->node_clock)
		return b->all_unix ?
		       "node ts_us: each node's wall clock when its engine "
		       "queued the notice; one machine, one clock: exact" :
		       "node ts_us: each node's wall clock when its engine "
		       "queued the notice; across hosts: as good as their "
		       "synchronization (PTP, --clock node)";
	return "bench receipt: our CLOCK_MONOTONIC when the notice arrived "
	       "minus just before the PUT (or the kill command): upper "
	       "bounds, no clock synchronization needed";
}

static void
ba_print_json(const struct ba *b, const struct ba_result *r)
{
	json_t *o = json_object(), *a, *x;
	char cfg[128];
	unsigned i, k;
	char *s;

	snprintf(cfg, sizeof(cfg), "interval %u ms, running hearsayd "
		 "nodes through the control API", b->interval_ms);
	json_object_set_new(o, "system", json_string("hearsay"));
	json_object_set_new(o, "mode", json_string("api"));
	json_object_set_new(o, "config", json_string(cfg));
	json_object_set_new(o, "n", json_integer(b->n));
	a = json_array();
	for (i = 0; i < b->n; i++) {
		char id[24];

		snprintf(id, sizeof(id), "%" PRIu64, b->nodes[i].id);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name",
			b->nodes[i].name, "id", id, "endpoint",
			b->nodes[i].where));
	}
	json_object_set_new(o, "nodes", a);
	json_object_set_new(o, "interval_ms", json_integer(b->interval_ms));
	json_object_set_new(o, "join_all_ms", json_null());
	if (r->bcast_done == 0) {
		json_object_set_new(o, "broadcast", json_null());
	} else {
		x = json_object();
		json_object_set_new(x, "count", json_integer(r->bcast_done));
		json_object_set_new(x, "spacing_ms",
				    json_integer(b->o.spacing_ms));
		json_object_set_new(x, "t_avg_ms_p50",
				    ba_jr(r->t_avg_p50, 3));
		json_object_set_new(x, "t_last_ms_p50",
				    ba_jr(r->t_last_p50, 3));
		json_object_set_new(x, "t_last_ms_p99",
				    ba_jr(r->t_last_p99, 3));
		json_object_set_new(x, "t_last_ms_max",
				    ba_jr(r->t_last_max, 3));
		json_object_set_new(x, "residue", json_integer(r->residue));
		json_object_set_new(x, "rounds_p50", ba_jr(r->rounds_p50, 2));
		json_object_set_new(x, "node_clock", isfinite(r->n_last_p50) ?
			json_pack("{s:o,s:o,s:o,s:o,s:i,s:i}",
				  "t_avg_ms_p50", ba_jr(r->n_avg_p50, 3),
				  "t_last_ms_p50", ba_jr(r->n_last_p50, 3),
				  "t_last_ms_p99", ba_jr(r->n_last_p99, 3),
				  "t_last_ms_max", ba_jr(r->n_last_max, 3),
				  "negative", r->negative, "over_bound",
				  r->over_bound) : json_null());
		json_object_set_new(x, "receipt_bound", json_pack(
			"{s:o,s:o,s:o,s:o}",
			"t_avg_ms_p50", ba_jr(r->u_avg_p50, 3),
			"t_last_ms_p50", ba_jr(r->u_last_p50, 3),
			"t_last_ms_p99", ba_jr(r->u_last_p99, 3),
			"t_last_ms_max", ba_jr(r->u_last_max, 3)));
		json_object_set_new(x, "put_ms_p50", ba_jr(r->put_p50, 3));
		json_object_set_new(x, "writes_failed",
				    json_integer(r->writes_failed));
		a = json_array();
		for (k = 0; k < r->bcast_done; k++) {
			const struct ba_write *w = &b->w[k];

			json_array_append_new(a, json_pack(
				"{s:i,s:s,s:o,s:o,s:o,s:o,s:i,s:i,s:b}",
				"k", k, "origin", b->nodes[w->origin].name,
				"t_avg_ms", w->node_ok ?
					ba_jr(w->t_avg, 3) : json_null(),
				"t_last_ms", w->node_ok ?
					ba_jr(w->t_last, 3) : json_null(),
				"t_avg_ms_bound", ba_jr(w->u_avg, 3),
				"t_last_ms_bound", ba_jr(w->u_last, 3),
				"reached", w->reached, "residue", w->residue,
				"put_ok", w->put_ok));
		}
		json_object_set_new(x, "writes", a);
		json_object_set_new(o, "broadcast", x);
	}
	if (r->kill_done) {
		char id[24];

		snprintf(id, sizeof(id), "%" PRIu64, b->victim_id);
		x = json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:i,s:i}",
			"killed", id, "killed_name", b->victim_name,
			"first_ms", ba_jr(r->node_clock ? r->first_ms :
					  r->first_rx_ms, 3),
			"all_ms", ba_jr(r->node_clock ? r->all_ms :
					r->all_rx_ms, 3),
			"suspect_first_ms", ba_jr(r->node_clock ?
				r->suspect_first_ms :
				r->suspect_first_rx_ms, 3),
			"done", r->detect_ok, "observers", r->observers,
			"detected", r->detected);
		json_object_set_new(x, "node_clock", json_pack(
			"{s:o,s:o,s:o}", "first_ms", ba_jr(r->first_ms, 3),
			"all_ms", ba_jr(r->all_ms, 3), "suspect_first_ms",
			ba_jr(r->suspect_first_ms, 3)));
		json_object_set_new(x, "receipt_bound", json_pack(
			"{s:o,s:o,s:o}", "first_ms", ba_jr(r->first_rx_ms, 3),
			"all_ms", ba_jr(r->all_rx_ms, 3), "suspect_first_ms",
			ba_jr(r->suspect_first_rx_ms, 3)));
		json_object_set_new(x, "kill_cmd_ms", ba_jr(r->kill_cmd_ms, 1));
		json_object_set_new(x, "gone_ms", ba_jr(r->gone_ms, 1));
		json_object_set_new(x, "node_clock_from", json_string(
			r->from_gone ? "victim stream closed" :
				       "kill command started"));
		json_object_set_new(x, "kill_cmd_status",
				    json_integer(r->kill_cmd_status));
		json_object_set_new(o, "detect", x);
	} else {
		json_object_set_new(o, "detect", json_null());
	}
	json_object_set_new(o, "false_suspect", json_integer(
		(json_int_t)b->false_suspect));
	json_object_set_new(o, "false_dead", json_integer(
		(json_int_t)b->false_dead));
	if (!r->idle_done) {
		json_object_set_new(o, "idle", json_null());
	} else {
		x = json_object();
		json_object_set_new(x, "seconds", ba_jr(r->idle_s, 3));
		json_object_set_new(x, "bytes_per_node_per_s",
				    ba_jr(r->idle_bytes, 0));
		json_object_set_new(x, "msgs_per_node_per_s",
				    ba_jr(r->idle_msgs, 1));
		json_object_set_new(x, "cpu_pct_per_node",
				    ba_jr(r->cpu_node, 3));
		json_object_set_new(x, "cpu_pct_total", ba_jr(r->cpu_total, 1));
		json_object_set_new(x, "bytes_per_s_max",
				    ba_jr(r->idle_bytes_max, 0));
		json_object_set_new(x, "cpu_pct_max",
				    ba_jr(r->idle_cpu_max, 3));
		a = json_array();
		for (i = 0; i < b->n; i++) {
			const struct ba_node *nd = &b->nodes[i];

			if (!nd->idle_ok)
				continue;
			json_array_append_new(a, json_pack(
				"{s:s,s:o,s:o,s:o}", "name", nd->name,
				"bytes_per_s", ba_jr(nd->idle_bytes, 0),
				"msgs_per_s", ba_jr(nd->idle_msgs, 1),
				"cpu_pct", ba_jr(nd->idle_cpu, 3)));
		}
		json_object_set_new(x, "per_node", a);
		json_object_set_new(o, "idle", x);
	}
	json_object_set_new(o, "notices_dropped",
			    json_integer((json_int_t)r->notices_dropped));
	json_object_set_new(o, "sse_dropped",
			    json_integer((json_int_t)r->sse_dropped));
	json_object_set_new(o, "streams_lost", json_integer(r->streams_lost));
	json_object_set_new(o, "clock", json_string(ba_clock_str(b, r)));
	json_object_set_new(o, "clock_used", json_string(
		r->node_clock ? "node" : "receipt"));
	s = json_dumps(o, JSON_REAL_PRECISION(15));
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void
ba_print_table(const struct ba *b, const struct ba_result *r, FILE *f)
{
	unsigned i, k;

	fprintf(f, "hearsay-bench --api: %u running nodes, interval %u ms\n",
		b->n, b->interval_ms);
	fprintf(f, "clock: %s\n\n", ba_clock_str(b, r));
	if (r->idle_done) {
		fprintf(f, "  %-26s %.0f B/s, %.1f frames/s (tx, UDP payload; "
			"mean of the nodes)\n", "idle traffic per node",
			r->idle_bytes, r->idle_msgs);
		fprintf(f, "  %-26s %.3f %% of a core per node, %.1f %% in "
			"all (%.1f s; hearsayd's whole process)\n",
			"idle CPU", r->cpu_node, r->cpu_total, r->idle_s);
		fprintf(f, "\n  %-20s %12s %10s %8s\n", "node", "tx B/s",
			"frames/s", "CPU %");
		for (i = 0; i < b->n; i++) {
			const struct ba_node *nd = &b->nodes[i];

			if (nd->idle_ok)
				fprintf(f, "  %-20s %12.0f %10.1f %8.2f\n",
					nd->name, nd->idle_bytes,
					nd->idle_msgs, nd->idle_cpu);
			else
				fprintf(f, "  %-20s %12s\n", nd->name,
					"(no stats)");
		}
	}
	if (r->bcast_done != 0) {
		fprintf(f, "\n  %-6s %-14s %9s %9s %11s %11s %8s\n", "write",
			"node", "t_avg ms", "t_last ms", "bound avg",
			"bound last", "residue");
		for (k = 0; k < r->bcast_done; k++) {
			const struct ba_write *w = &b->w[k];
			char ta[16] = "-", tl[16] = "-";

			if (w->node_ok) {
				snprintf(ta, sizeof(ta), "%.2f", w->t_avg);
				snprintf(tl, sizeof(tl), "%.2f", w->t_last);
			}
			fprintf(f, "  %-6u %-14s %9s %9s %11.2f %11.2f %8u\n",
				k, b->nodes[w->origin].name, ta, tl, w->u_avg,
				w->u_last, w->residue);
		}
		fprintf(f, "\n  %-26s p50 %.2f, p99 %.2f, max %.2f ms (%.2f "
			"rounds at p50; %s)\n", "broadcast t_last",
			r->t_last_p50, r->t_last_p99, r->t_last_max,
			r->rounds_p50, r->node_clock ? "node clock" :
			"receipt bound");
		fprintf(f, "  %-26s %.2f ms\n", "broadcast t_avg (median)",
			r->t_avg_p50);
		if (r->node_clock)
			fprintf(f, "  %-26s p50 %.2f, p99 %.2f, max %.2f ms "
				"(t_avg median %.2f)\n",
				"receipt bound, t_last", r->u_last_p50,
				r->u_last_p99, r->u_last_max, r->u_avg_p50);
		fprintf(f, "  %-26s %u\n", "broadcast residue", r->residue);
		fprintf(f, "  %-26s %.2f ms (median)\n", "PUT round trip",
			r->put_p50);
	}
	if (r->kill_done) {
		fprintf(f, "  %-26s %s seen dead by %u of %u nodes%s\n",
			"detect (node killed)", b->victim_name, r->detected,
			r->observers, r->detect_ok ? "" : " UNFINISHED");
		fprintf(f, "  %-26s first %.1f, all %.1f ms (first suspect "
			"%.1f ms), from the %s\n", "  node clock", r->first_ms,
			r->all_ms, r->suspect_first_ms, r->from_gone ?
			"victim's stream closing" : "kill command's start");
		fprintf(f, "  %-26s first %.1f, all %.1f ms (first suspect "
			"%.1f ms), from the kill command's start\n",
			"  receipt bound", r->first_rx_ms, r->all_rx_ms,
			r->suspect_first_rx_ms);
		fprintf(f, "  %-26s ran %.1f ms; the victim's stream closed "
			"after %.1f ms\n", "  kill command", r->kill_cmd_ms,
			r->gone_ms);
	}
	fprintf(f, "  %-26s %" PRIu64 " suspect, %" PRIu64 " dead\n",
		"false (whole run)", b->false_suspect, b->false_dead);
	fprintf(f, "  %-26s %" PRIu64 " notices dropped, %" PRIu64
		" event-stream notices dropped, %u streams lost\n", "losses",
		r->notices_dropped, r->sse_dropped, r->streams_lost);
	for (i = 0; i < b->n; i++)
		if (b->nodes[i].false_suspect || b->nodes[i].false_dead)
			fprintf(f, "    %s: %" PRIu64 " false suspect, %"
				PRIu64 " false dead\n", b->nodes[i].name,
				b->nodes[i].false_suspect,
				b->nodes[i].false_dead);
}

static int
ba_write_svg(const struct ba *b, const struct ba_result *r, FILE *f)
{
	unsigned n = b->n, K = r->bcast_done, k, i, m;
	double *t = malloc(((size_t)K * (n - 1) + 1) * sizeof(*t));
	char title[256], sub[256];
	struct bn_cdf c = {
		.title = title, .subtitle = sub, .n_writes = K,
		.per_write = n - 1, .t_ms = t, .xmax_ms = r->t_last_max,
		.interval_ms = b->interval_ms,
	};
	int rc;

	if (t == NULL)
		return -ENOMEM;
	for (k = 0; k < K; k++) {
		const struct ba_write *w = &b->w[k];
		size_t base = (size_t)k * n;

		for (i = 0, m = 0; i < n; i++) {
			double v = -1;

			if (i == w->origin)
				continue;
			if (b->rx_ns[base + i] != 0)
				v = r->node_clock ?
				    ((double)b->ts_us[base + i] -
				     (double)b->ts_us[base + w->origin]) / 1e3 :
				    (double)(b->rx_ns[base + i] -
					     w->t_send_ns) / 1e6;
			/* a node-clock time below 0 (clocks apart) is
			 * drawn at 0 */
			t[(size_t)k * (n - 1) + m++] = v < 0 &&
				b->rx_ns[base + i] != 0 ? 0 : v;
		}
	}
	snprintf(title, sizeof(title), "hearsay-bench --api: time to all "
		 "nodes, N = %u running nodes, interval %u ms", n,
		 b->interval_ms);
	snprintf(sub, sizeof(sub), "%u writes; %s; t_last p50 %.2f ms, max "
		 "%.2f ms, residue %u", K, r->node_clock ? "node clocks "
		 "(ts_us)" : "bench receipt (upper bounds)", r->t_last_p50,
		 r->t_last_max, r->residue);
	rc = bn_svg_cdf(f, &c);
	free(t);
	return rc;
}

/* ---- setup ---- */

static void
ba_usage(FILE *f)
{
	fprintf(f,
"usage: hearsay-bench --api ENDPOINT[,ENDPOINT...] [options]\n"
"  --api LIST            running hearsayd nodes: each a Unix socket path\n"
"                        (api.socket) or http://HOST:PORT (api.tcp)\n"
"  --broadcasts K        writes timed one at a time, default 20 (0: none)\n"
"  --spacing-ms MS       between two writes, default 200\n"
"  --idle-seconds S      idle traffic and CPU window, default 5 (0: none)\n"
"  --deadline-ms MS      per write (residue after it) and per request,\n"
"                        default 5000\n"
"  --kill-cmd CMD        then run CMD (/bin/sh -c), which must kill...\n"
"  --kill-node NAME      ...this node without leave; time detection\n"
"  --detect-timeout S    detection deadline, default 30\n"
"  --clock C             auto (default: node when every endpoint is a Unix\n"
"                        socket, else receipt), node (the nodes' ts_us:\n"
"                        synchronized clocks, e.g. PTP) or receipt (our\n"
"                        own upper bounds)\n"
"  --interval-ms MS      the round when /v1/info has none, default 10\n"
"  --json                one JSON object on stdout (the table: stderr)\n"
"  --svg FILE            the CDF of time-to-all-nodes as an SVG chart\n");
}

enum {
	BA_OPT_API = 256, BA_OPT_BCAST, BA_OPT_SPACING, BA_OPT_IDLE,
	BA_OPT_DEADLINE, BA_OPT_KILL_CMD, BA_OPT_KILL_NODE, BA_OPT_DETECT,
	BA_OPT_CLOCK, BA_OPT_INTERVAL, BA_OPT_JSON, BA_OPT_SVG, BA_OPT_HELP,
};

static int
ba_parse(int argc, char **argv, struct ba_opts *o)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, BA_OPT_API },
		{ "broadcasts", required_argument, NULL, BA_OPT_BCAST },
		{ "spacing-ms", required_argument, NULL, BA_OPT_SPACING },
		{ "idle-seconds", required_argument, NULL, BA_OPT_IDLE },
		{ "deadline-ms", required_argument, NULL, BA_OPT_DEADLINE },
		{ "kill-cmd", required_argument, NULL, BA_OPT_KILL_CMD },
		{ "kill-node", required_argument, NULL, BA_OPT_KILL_NODE },
		{ "detect-timeout", required_argument, NULL, BA_OPT_DETECT },
		{ "clock", required_argument, NULL, BA_OPT_CLOCK },
		{ "interval-ms", required_argument, NULL, BA_OPT_INTERVAL },
		{ "json", no_argument, NULL, BA_OPT_JSON },
		{ "svg", required_argument, NULL, BA_OPT_SVG },
		{ "help", no_argument, NULL, BA_OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->broadcasts = 20;
	o->spacing_ms = 200;
	o->idle_s = 5;
	o->deadline_ms = 5000;
	o->detect_timeout_s = 30;
	o->interval_ms = 10;
	optind = 1;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case BA_OPT_API:
			free(o->endpoints);
			o->endpoints = strdup(optarg);
			if (o->endpoints == NULL)
				rc = -1;
			break;
		case BA_OPT_BCAST:
			rc = bn_uint("--broadcasts", optarg, 0, 100000,
				     &o->broadcasts);
			break;
		case BA_OPT_SPACING:
			rc = bn_uint("--spacing-ms", optarg, 0, 600000,
				     &o->spacing_ms);
			break;
		case BA_OPT_IDLE:
			rc = bn_uint("--idle-seconds", optarg, 0, 3600,
				     &o->idle_s);
			break;
		case BA_OPT_DEADLINE:
			rc = bn_uint("--deadline-ms", optarg, 1, 3600000,
				     &o->deadline_ms);
			break;
		case BA_OPT_KILL_CMD:
			o->kill_cmd = optarg;
			break;
		case BA_OPT_KILL_NODE:
			o->kill_node = optarg;
			break;
		case BA_OPT_DETECT:
			rc = bn_uint("--detect-timeout", optarg, 1, 3600,
				     &o->detect_timeout_s);
			break;
		case BA_OPT_CLOCK:
			if (strcmp(optarg, "auto") == 0) {
				o->clock = BA_CLOCK_AUTO;
			} else if (strcmp(optarg, "node") == 0) {
				o->clock = BA_CLOCK_NODE;
			} else if (strcmp(optarg, "receipt") == 0) {
				o->clock = BA_CLOCK_RECEIPT;
			} else {
				fprintf(stderr, "hearsay-bench: --clock '%s': "
					"auto, node or receipt\n", optarg);
				rc = -1;
			}
			break;
		case BA_OPT_INTERVAL:
			rc = bn_uint("--interval-ms", optarg, 1, 10000,
				     &o->interval_ms);
			break;
		case BA_OPT_JSON:
			o->json = true;
			break;
		case BA_OPT_SVG:
			o->svg_path = optarg;
			break;
		case 'h':
		case BA_OPT_HELP:
			ba_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "hearsay-bench: with --api, only the "
				"options below\n");
			rc = -1;
		}
	}
	if (rc == 0 && optind != argc) {
		fprintf(stderr, "hearsay-bench: unexpected argument '%s'\n",
			argv[optind]);
		rc = -1;
	}
	if (rc == 0 && (o->endpoints == NULL || o->endpoints[0] == '\0')) {
		fprintf(stderr, "hearsay-bench: --api: no endpoint\n");
		rc = -1;
	}
	if (rc == 0 && (o->kill_cmd == NULL) != (o->kill_node == NULL)) {
		fprintf(stderr, "hearsay-bench: --kill-cmd and --kill-node go "
			"together\n");
		rc = -1;
	}
	if (rc != 0)
		ba_usage(stderr);
	return rc;
}

/* Splits the list and makes each node's handles.  0, or -1 printed. */
static int
ba_setup(struct ba *b)
{
	char *save = NULL, *e;
	struct curl_slist *l;
	unsigned n = 0, i;
	struct rlimit rl;

	for (e = b->o.endpoints; *e != '\0'; e++)
		n += *e == ',';
	b->nodes = calloc(n + 1, sizeof(*b->nodes));
	if (b->nodes == NULL)
		return -1;
	b->all_unix = true;
	for (e = strtok_r(b->o.endpoints, ",", &save); e != NULL;
	     e = strtok_r(NULL, ",", &save)) {
		struct ba_node *nd = &b->nodes[b->n];
		size_t len = strlen(e);

		if (b->n == BA_NODES_MAX) {
			fprintf(stderr, "hearsay-bench: --api: more than %u "
				"endpoints\n", BA_NODES_MAX);
			return -1;
		}
		nd->b = b;
		nd->i = b->n;
		nd->where = e;
		while (len > 0 && e[len - 1] == '/' &&
		       strncmp(e, "http://", 7) == 0)
			e[--len] = '\0';
		if (strncmp(e, "http://", 7) == 0) {
			if (len == 7) {
				fprintf(stderr, "hearsay-bench: --api: '%s': "
					"no host\n", e);
				return -1;
			}
			nd->base = strdup(e);
			b->all_unix = false;
		} else if (strstr(e, "://") != NULL) {
			fprintf(stderr, "hearsay-bench: --api: '%s': a Unix "
				"socket path or http://HOST:PORT\n", e);
			return -1;
		} else {
			nd->socket = e;
			nd->base = strdup("http://localhost");
		}
		snprintf(nd->name, sizeof(nd->name), "%s", "?");
		nd->req.easy = curl_easy_init();
		nd->st.easy = curl_easy_init();
		if (nd->base == NULL || nd->req.easy == NULL ||
		    nd->st.easy == NULL)
			return -1;
		b->n++;
	}
	if (b->n == 0) {
		fprintf(stderr, "hearsay-bench: --api: no endpoint\n");
		return -1;
	}
	/* two connections a node, and a few */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < 2 * b->n + 64 && rl.rlim_max >= 2 * b->n + 64) {
		rl.rlim_cur = 2 * b->n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	b->multi = curl_multi_init();
	if (b->multi == NULL)
		return -1;
	/* no "Expect: 100-continue" (a round trip for nothing), as the
	 * CLI */
	l = curl_slist_append(NULL, "Expect:");
	b->hdr_plain = l;
	if (l != NULL)
		l = curl_slist_append(l, "Accept: application/json");
	l = curl_slist_append(NULL, "Expect:");
	b->hdr_body = l;
	if (l != NULL)
		l = curl_slist_append(l, "Content-Type: "
				      "application/octet-stream");
	b->hdr_sse = curl_slist_append(NULL, "Accept: text/event-stream");
	if (b->hdr_plain == NULL || b->hdr_plain->next == NULL ||
	    b->hdr_body == NULL || b->hdr_body->next == NULL ||
	    b->hdr_sse == NULL)
		return -1;
	i = b->o.broadcasts;
	b->w = calloc(i + 1, sizeof(*b->w));
	b->ts_us = calloc((size_t)i * b->n + 1, sizeof(*b->ts_us));
	b->rx_ns = calloc((size_t)i * b->n + 1, sizeof(*b->rx_ns));
	b->ver = calloc((size_t)i * b->n + 1, sizeof(*b->ver));
	if (b->w == NULL || b->ts_us == NULL || b->rx_ns == NULL ||
	    b->ver == NULL)
		return -1;
	b->wall_off_ns = hs_wall_offset_ns();
	return 0;
}

static void
ba_teardown(struct ba *b)
{
	unsigned i;

	for (i = 0; b->nodes != NULL && i < b->n; i++) {
		struct ba_node *nd = &b->nodes[i];

		if (b->multi != NULL) {
			curl_multi_remove_handle(b->multi, nd->req.easy);
			curl_multi_remove_handle(b->multi, nd->st.easy);
		}
		curl_easy_cleanup(nd->req.easy);
		curl_easy_cleanup(nd->st.easy);
		hs_sse_free(&nd->st.sse);
		free(nd->req.url);
		free(nd->req.body);
		free(nd->st.url);
		free(nd->base);
	}
	if (b->multi != NULL)
		curl_multi_cleanup(b->multi);
	curl_slist_free_all(b->hdr_plain);
	curl_slist_free_all(b->hdr_body);
	curl_slist_free_all(b->hdr_sse);
	if (b->curl_global)
		curl_global_cleanup();
	free(b->nodes);
	free(b->w);
	free(b->ts_us);
	free(b->rx_ns);
	free(b->ver);
	free(b->o.endpoints);
}

int
bn_api_main(int argc, char **argv)
{
	static struct ba b;
	struct ba_result r;
	FILE *svg = NULL;
	unsigned i;
	int rc, failed = 0, code = 2;

	memset(&r, 0, sizeof(r));
	r.kill_cmd_status = -1;
	if (ba_parse(argc, argv, &b.o) != 0) {
		free(b.o.endpoints);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (b.o.svg_path != NULL) {
		svg = fopen(b.o.svg_path, "w");
		if (svg == NULL) {
			fprintf(stderr, "hearsay-bench: --svg '%s': %s\n",
				b.o.svg_path, strerror(errno));
			free(b.o.endpoints);
			return 2;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "hearsay-bench: cannot start libcurl\n");
		goto out;
	}
	b.curl_global = true;
	if (ba_setup(&b) != 0) {
		fprintf(stderr, "hearsay-bench: setup failed (out of memory "
			"or a bad --api list)\n");
		goto out;
	}
	rc = ba_phase_connect(&b);
	if (rc != 0) {
		fprintf(stderr, "hearsay-bench: not every node answered: "
			"nothing measured\n");
		goto out;
	}
	fprintf(stderr, "hearsay-bench: %u nodes connected:", b.n);
	for (i = 0; i < b.n; i++)
		fprintf(stderr, " %s", b.nodes[i].name);
	fprintf(stderr, "\n");
	if (b.o.idle_s != 0)
		ba_phase_idle(&b, &r);
	if (b.o.broadcasts != 0) {
		rc = ba_phase_broadcast(&b, &r);
		if (rc == -2)
			goto out;
		failed |= rc != 0;
	}
	if (b.o.kill_cmd != NULL) {
		rc = ba_phase_kill(&b, &r);
		if (rc == -2)
			goto out;
		failed |= rc != 0;
	}
	/* the last notices in flight, then what the nodes dropped */
	ba_pump_until(&b, ba_now() + 50 * BA_MS);
	ba_stats_all(&b, BA_SNAP_END);
	for (i = 0; i < b.n; i++) {
		const struct ba_node *nd = &b.nodes[i];
		const struct ba_stats *s0 = &nd->snap[BA_SNAP_BEGIN];
		const struct ba_stats *s1 = &nd->snap[BA_SNAP_END];

		if (!s0->ok || !s1->ok)
			continue;
		if (s1->notices_dropped > s0->notices_dropped)
			r.notices_dropped += (uint64_t)(s1->notices_dropped -
							s0->notices_dropped);
		if (s1->sse_dropped > s0->sse_dropped)
			r.sse_dropped += (uint64_t)(s1->sse_dropped -
						    s0->sse_dropped);
	}
	r.streams_lost = b.streams_lost;
	ba_choose(&b, &r);
	ba_print_table(&b, &r, b.o.json ? stderr : stdout);
	if (b.o.json)
		ba_print_json(&b, &r);
	if (svg != NULL && (r.bcast_done == 0 || b.n < 2 ||
			    ba_write_svg(&b, &r, svg) != 0))
		fprintf(stderr, "hearsay-bench: --svg: no broadcast to "
			"draw\n");
	/* lost notices would make the figures wrong, not slow */
	if (r.notices_dropped != 0 || r.sse_dropped != 0) {
		fprintf(stderr, "hearsay-bench: %" PRIu64 " notices, %" PRIu64
			" event-stream notices dropped: the figures are "
			"incomplete\n", r.notices_dropped, r.sse_dropped);
		failed = 1;
	}
	if (r.streams_lost != 0)
		failed = 1;
	code = failed ? 1 : 0;
out:
	if (svg != NULL)
		fclose(svg);
	ba_teardown(&b);
	return code;
}
