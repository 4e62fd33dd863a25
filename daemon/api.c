/*
 * hearsayd's control API: HTTP/1.1 + JSON (docs/API.md), libmicrohttpd
 * and jansson, on a Unix socket and optionally a loopback TCP port.
 *
 * libmicrohttpd runs one thread per connection.  A request that needs the
 * node's state makes one call on the node's worker (hsd_call) that copies
 * what it needs into memory the request allocated beforehand (member
 * lists, key listings, values): the worker never allocates for a request,
 * never formats JSON and never waits on one; a request never waits on the
 * worker's poll loop beyond one pass.  JSON is built on the request's own
 * thread.
 *
 * Event streams (server-sent events): each client has a bounded queue of
 * formatted records (struct hsd_sub), filled by the control loop's notice
 * pump (hsd_api_notice) and drained by the client's connection thread; a
 * full queue drops and counts, so a slow client never holds up the pump.
 *
 * Writes with ?wait=all poll, every 10 ms on the request's thread, the
 * version of ours each live member's digests have shown (seen_version),
 * until every live member holds the write or the deadline passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include <sodium.h>

#include "daemon/hearsayd.h"
#include "daemon/hooks.h"
#include "engine/log.h"
#include "engine/util.h"

#define BODY_MAX_EXTRA	64		/* beyond limits.max_value_bytes */
#define SSE_KEEPALIVE_S	15
#define WAIT_DEFAULT_MS	5000
#define WAIT_MAX_MS	600000

#define ATOMIC_INC(x)	__atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define ATOMIC_DEC(x)	__atomic_sub_fetch(&(x), 1, __ATOMIC_RELAXED)
#define ATOMIC_READ(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A request's state across libmicrohttpd's calls. */
struct req {
	char *body;
	size_t len;
	size_t cap;
	bool too_large;
};

/* ---- responses ---- */

static enum MHD_Result
reply_raw(struct MHD_Connection *c, unsigned status, const char *type,
	  char *buf, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_json(struct hsd *d, struct MHD_Connection *c, unsigned status,
	   json_t *j)
{
	char *s;
	size_t len;

	if (j == NULL)
		return MHD_NO;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	len = strlen(s);
	/* a newline, for curl and shells */
	{
		char *t = realloc(s, len + 2);

		if (t == NULL) {
			free(s);
			return MHD_NO;
		}
		s = t;
		s[len++] = '\n';
		s[len] = '\0';
	}
	if (status >= 500)
		ATOMIC_INC(d->api.errors_5xx);
	else if (status >= 400)
		ATOMIC_INC(d->api.errors_4xx);
	return reply_raw(c, status, "application/json", s, len);
}

static enum MHD_Result __attribute__((format(printf, 4, 5)))
reply_error(struct hsd *d, struct MHD_Connection *c, unsigned status,
	    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(d, c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result
reply_method(struct hsd *d, struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *r;
	char *s;
	enum MHD_Result ret;

	ATOMIC_INC(d->api.errors_4xx);
	if (asprintf(&s, "{\"error\":\"method not allowed here (allowed: "
		     "%s)\"}\n", allow) < 0)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(s), s,
					    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- JSON pieces ---- */

static json_t *
json_id(uint64_t id)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, id);
	return json_string(s);
}

/* A byte string: as "name" when UTF-8 (and no NUL), else "name_base64". */
static void
json_set_bytes(json_t *o, const char *name, const uint8_t *p, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	json_t *s = memchr(p, 0, len) ? NULL :
					 json_stringn((const char *)p, len);
	char key[64], *out;
	size_t i, k = 0;

	if (s != NULL) {
		json_object_set_new(o, name, s);
		return;
	}
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out == NULL)
		return;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = b64[(v >> 6) & 63];
		out[k++] = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 |
			     (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[k++] = '=';
	}
	out[k] = '\0';
	snprintf(key, sizeof(key), "%s_base64", name);
	json_object_set_new(o, key, json_string(out));
	free(out);
}

static uint64_t
now_ns(void)
{
	return hs_clock_monotonic(NULL);
}

static json_t *
member_json(const struct hs_member_info *m, uint64_t now)
{
	char addr[64];
	json_t *o;

	hsd_addr_str(&m->addr, addr, sizeof(addr));
	o = json_object();
	json_object_set_new(o, "id", json_id(m->id));
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "status", json_string(hsd_status_str(m->status)));
	json_object_set_new(o, "self", json_boolean(m->self));
	json_object_set_new(o, "generation", json_integer((json_int_t)m->generation));
	json_object_set_new(o, "incarnation", json_integer((json_int_t)m->incarnation));
	json_object_set_new(o, "heartbeat", json_integer((json_int_t)m->heartbeat));
	/* phi of a member not heard for long is infinite: null in JSON */
	json_object_set_new(o, "phi", isfinite(m->phi) ? json_real(m->phi) :
							 json_null());
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "rack", json_string(m->rack));
	if (m->self || m->since_ns == 0 || m->since_ns > now)
		json_object_set_new(o, "status_since_ms", json_null());
	else
		json_object_set_new(o, "status_since_ms",
				    json_integer((json_int_t)((now - m->since_ns) / 1000000)));
	if (m->self || m->heard_ns == 0 || m->heard_ns > now)
		json_object_set_new(o, "last_seen_ms", json_null());
	else
		json_object_set_new(o, "last_seen_ms",
				    json_integer((json_int_t)((now - m->heard_ns) / 1000000)));
	return o;
}

/* ---- calls on the node's worker ---- */

/* Members are copied in slices of this many, one call each: a slice
 * costs the worker tens of microseconds (two table lookups and a phi per
 * member), where the whole of a 4096-member list would hold it for a
 * millisecond or more. */
#define MEMBERS_SLICE	128

struct members_call {
	struct hsd *d;
	struct hs_member_info *m;
	unsigned cap;
	unsigned n;
	unsigned first;		/* the slice being copied */
	unsigned got;
	uint64_t now;
};

static void
members_count(void *arg)
{
	struct members_call *x = arg;

	x->n = hs_members(x->d->node, NULL, 0);
}

static void
members_slice(void *arg)
{
	struct members_call *x = arg;
	unsigned max = x->cap - x->first;

	x->got = hs_members_range(x->d->node, x->first, x->m + x->first,
				  max < MEMBERS_SLICE ? max : MEMBERS_SLICE);
	x->now = now_ns();
}

/* Every member (ourselves first) into x: 0 or -ENOMEM; free x->m. */
static int
members_get(struct hsd *d, struct members_call *x)
{
	memset(x, 0, sizeof(*x));
	x->d = d;
	hsd_call(d, members_count, x);
	x->cap = x->n + 64;		/* room for joins in between */
	x->m = calloc(x->cap, sizeof(*x->m));
	if (x->m == NULL)
		return -ENOMEM;
	/* members may join or go between two slices: a member may then be
	 * missed or seen twice in one answer, never a torn record */
	for (x->first = 0; x->first < x->cap; x->first += x->got) {
		hsd_call(d, members_slice, x);
		if (x->got == 0)
			break;
	}
	x->n = x->first;
	return 0;
}

/* The member named by s (an id, a name, or "self") in x, or NULL. */
static const struct hs_member_info *
members_find(const struct members_call *x, const char *s)
{
	char *end;
	uint64_t id;
	unsigned i;

	if (strcmp(s, "self") == 0)
		return x->n ? &x->m[0] : NULL;
	errno = 0;
	id = strtoull(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0)
		for (i = 0; i < x->n; i++)
			if (x->m[i].id == id)
				return &x->m[i];
	for (i = 0; i < x->n; i++)
		if (strcmp(x->m[i].name, s) == 0)
			return &x->m[i];
	return NULL;
}

/* Resolve a node named in a path: 0 and *id, or -ENOENT. */
static int
node_resolve(struct hsd *d, const char *s, uint64_t *id)
{
	struct members_call x;
	const struct hs_member_info *m;
	int rc;

	if (strcmp(s, "self") == 0) {
		*id = d->id;
		return 0;
	}
	rc = members_get(d, &x);
	if (rc != 0)
		return rc;
	m = members_find(&x, s);
	rc = m ? 0 : -ENOENT;
	if (m != NULL)
		*id = m->id;
	free(x.m);
	return rc;
}

/* Keys of one owner, copied into a flat buffer: records of
 * { u64 version, u8 key_len, u16 value_len, key, value }. */
struct keys_call {
	struct hsd *d;
	uint64_t owner;
	const char *prefix;
	size_t prefix_len;
	uint8_t *buf;
	size_t cap;
	size_t len;
	unsigned n;
	bool truncated;
	int rc;
	/* one key */
	const char *key;
	size_t key_len;
	struct hs_table_kv kv;
	uint8_t *value;
};

#define KREC_HDR	11

static int
keys_copy(const struct hs_table_kv *kv, void *arg)
{
	struct keys_call *x = arg;
	size_t need = KREC_HDR + kv->key_len + kv->value_len;

	if (x->len + need > x->cap) {
		x->truncated = true;
		return 1;
	}
	memcpy(x->buf + x->len, &kv->version, 8);
	x->buf[x->len + 8] = kv->key_len;
	memcpy(x->buf + x->len + 9, &kv->value_len, 2);
	memcpy(x->buf + x->len + KREC_HDR, kv->key, kv->key_len);
	memcpy(x->buf + x->len + KREC_HDR + kv->key_len, kv->value,
	       kv->value_len);
	x->len += need;
	x->n++;
	return 0;
}

static void
keys_list(void *arg)
{
	struct keys_call *x = arg;

	x->rc = hs_keys(x->d->node, x->owner == x->d->id ? 0 : x->owner,
			x->prefix, x->prefix_len, keys_copy, x);
}

static void
key_get(void *arg)
{
	struct keys_call *x = arg;

	x->rc = hs_get(x->d->node, x->owner == x->d->id ? 0 : x->owner,
		       x->key, x->key_len, &x->kv);
	if (x->rc == 0) {
		memcpy(x->value, x->kv.value, x->kv.value_len);
		x->kv.value = NULL;	/* the view dies with the call */
		x->kv.key = NULL;
	}
}

/* ---- routes ---- */

static enum MHD_Result
get_info(struct hsd *d, struct MHD_Connection *c)
{
	struct members_call x;
	unsigned counts[HS_WIRE_ST_MAX + 1] = { 0 }, i;
	char addr[64];
	json_t *o, *m;

	if (members_get(d, &x) != 0)
		return reply_error(d, c, 500, "out of memory");
	for (i = 1; i < x.n; i++)
		if (x.m[i].status <= HS_WIRE_ST_MAX)
			counts[x.m[i].status]++;
	hsd_addr_str(&x.m[0].addr, addr, sizeof(addr));
	m = json_pack("{s:I,s:I,s:I,s:I}", "alive", (json_int_t)counts[0] + 1,
		      "suspect", (json_int_t)counts[1], "dead",
		      (json_int_t)counts[2], "left", (json_int_t)counts[3]);
	o = json_object();
	json_object_set_new(o, "id", json_id(d->id));
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "cluster", json_integer(d->conf.node.cluster));
	json_object_set_new(o, "generation", json_integer((json_int_t)d->generation));
	json_object_set_new(o, "driver", json_string(d->conf.network.driver));
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "rack", json_string(d->conf.node.rack));
	json_object_set_new(o, "version", json_string(HSD_VERSION));
	json_object_set_new(o, "uptime_s", json_real((double)(now_ns() - d->start_ns) / 1e9));
	json_object_set_new(o, "workers", json_integer(d->n_workers));
	json_object_set_new(o, "interval_ms", json_integer(d->conf.gossip.interval_ms));
	json_object_set_new(o, "leaving", json_boolean(ATOMIC_READ(d->leaving)));
	json_object_set_new(o, "members", m);
	free(x.m);
	return reply_json(d, c, 200, o);
}

/* "alive,suspect" -> a mask of statuses; -1 on a bad name. */
static int
status_mask(const char *s)
{
	int mask = 0;

	while (s != NULL && *s != '\0') {
		size_t l = strcspn(s, ",");
		int st = -1, k;

		for (k = 0; k <= HS_WIRE_ST_MAX; k++)
			if (strlen(hsd_status_str((uint8_t)k)) == l &&
			    strncmp(s, hsd_status_str((uint8_t)k), l) == 0)
				st = k;
		if (st < 0)
			return -1;
		mask |= 1 << st;
		s += l + (s[l] == ',');
	}
	return mask;
}

static enum MHD_Result
get_members(struct hsd *d, struct MHD_Connection *c, const char *one)
{
	const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						     "status");
	struct members_call x;
	int mask = st ? status_mask(st) : 0xf;
	json_t *a;
	unsigned i;

	if (mask < 0)
		return reply_error(d, c, 400, "status: a comma-separated list "
				   "of alive, suspect, dead, left, not '%s'", st);
	if (members_get(d, &x) != 0)
		return reply_error(d, c, 500, "out of memory");
	if (one != NULL) {
		const struct hs_member_info *m = members_find(&x, one);
		json_t *o = m ? member_json(m, x.now) : NULL;

		free(x.m);
		if (o == NULL)
			return reply_error(d, c, 404, "no member '%s'", one);
		return reply_json(d, c, 200, o);
	}
	a = json_array();
	for (i = 0; i < x.n; i++)
		if (mask & (1 << x.m[i].status))
			json_array_append_new(a, member_json(&x.m[i], x.now));
	free(x.m);
	return reply_json(d, c, 200, json_pack("{s:o}", "members", a));
}

static json_t *
kv_json(uint64_t owner, const char *key, size_t key_len, const uint8_t *v,
	size_t v_len, uint64_t version)
{
	json_t *o = json_object();

	json_object_set_new(o, "node", json_id(owner));
	json_set_bytes(o, "key", (const uint8_t *)key, key_len);
	json_set_bytes(o, "value", v, v_len);
	json_object_set_new(o, "version", json_integer((json_int_t)version));
	return o;
}

static enum MHD_Result
get_keys(struct hsd *d, struct MHD_Connection *c, const char *node,
	 const char *key)
{
	struct keys_call x = { .d = d };
	json_t *a;
	size_t off;
	int rc;

	rc = node_resolve(d, node, &x.owner);
	if (rc == -ENOENT)
		return reply_error(d, c, 404, "no member '%s'", node);
	if (rc != 0)
		return reply_error(d, c, 500, "out of memory");
	if (key != NULL) {
		if (*key == '\0')
			return reply_error(d, c, 400, "empty key");
		x.key = key;
		x.key_len = strlen(key);
		if (x.key_len > d->conf.limits.max_key_bytes)
			return reply_error(d, c, 404, "no key '%s' (longer than "
					   "limits.max_key_bytes)", key);
		x.value = malloc(d->conf.limits.max_value_bytes + 1);
		if (x.value == NULL)
			return reply_error(d, c, 500, "out of memory");
		hsd_call(d, key_get, &x);
		if (x.rc != 0) {
			free(x.value);
			return reply_error(d, c, 404, "node %s has no key '%s'",
					   node, key);
		}
		a = kv_json(x.owner, key, x.key_len, x.value, x.kv.value_len,
			    x.kv.version);
		free(x.value);
		return reply_json(d, c, 200, a);
	}
	x.prefix = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					       "prefix");
	x.prefix_len = x.prefix ? strlen(x.prefix) : 0;
	if (x.prefix_len > 255)
		return reply_error(d, c, 400, "prefix longer than 255 bytes");
	x.cap = (size_t)d->conf.limits.max_keys_per_node *
		(KREC_HDR + d->conf.limits.max_key_bytes +
		 d->conf.limits.max_value_bytes);
	x.buf = malloc(x.cap);
	if (x.buf == NULL)
		return reply_error(d, c, 500, "out of memory");
	hsd_call(d, keys_list, &x);
	a = json_array();
	for (off = 0; off < x.len;) {
		uint64_t version;
		uint16_t vlen;
		uint8_t klen = x.buf[off + 8];

		memcpy(&version, x.buf + off, 8);
		memcpy(&vlen, x.buf + off + 9, 2);
		json_array_append_new(a, kv_json(x.owner,
			(const char *)x.buf + off + KREC_HDR, klen,
			x.buf + off + KREC_HDR + klen, vlen, version));
		off += KREC_HDR + klen + vlen;
	}
	free(x.buf);
	return reply_json(d, c, 200, json_pack("{s:o,s:o,s:b}", "node",
					       json_id(x.owner), "keys", a,
					       "truncated", x.truncated));
}

/* ---- writes ---- */

struct write_call {
	struct hsd *d;
	const char *key;
	size_t key_len;
	const char *value;	/* NULL: delete */
	size_t value_len;
	int64_t version;
};

static void
key_write(void *arg)
{
	struct write_call *w = arg;

	w->version = w->value ? hs_put(w->d->node, w->key, w->key_len,
				       w->value, w->value_len) :
				hs_del(w->d->node, w->key, w->key_len);
}

/* Members alive or suspect whose digests of us have not shown version
 * yet, into a JSON array (NULL when none). */
static json_t *
write_missing(struct hsd *d, uint64_t version)
{
	struct members_call x;
	json_t *a = NULL;
	unsigned i;

	if (members_get(d, &x) != 0)
		return json_array();	/* unknown: not reached */
	for (i = 1; i < x.n; i++) {
		const struct hs_member_info *m = &x.m[i];

		if (m->status > HS_WIRE_ST_SUSPECT || m->seen_version >= version)
			continue;
		if (a == NULL)
			a = json_array();
		json_array_append_new(a, json_id(m->id));
	}
	free(x.m);
	return a;
}

static enum MHD_Result
put_key(struct hsd *d, struct MHD_Connection *c, const char *key,
	struct req *rq, bool del)
{
	const char *wait = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						       "wait");
	const char *tmo = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						      "timeout_ms");
	struct write_call w = { .d = d, .key = key, .key_len = strlen(key) };
	unsigned long timeout_ms = WAIT_DEFAULT_MS;
	uint64_t t0, end;
	json_t *o, *missing = NULL;
	char *e;

	if (*key == '\0')
		return reply_error(d, c, 400, "empty key");
	if (wait != NULL && strcmp(wait, "all") != 0)
		return reply_error(d, c, 400, "wait: only 'all' is known, not "
				   "'%s'", wait);
	if (tmo != NULL) {
		errno = 0;
		timeout_ms = strtoul(tmo, &e, 10);
		if (*tmo == '\0' || *e != '\0' || errno != 0 ||
		    timeout_ms > WAIT_MAX_MS)
			return reply_error(d, c, 400, "timeout_ms: a number of "
					   "milliseconds up to %d, not '%s'",
					   WAIT_MAX_MS, tmo);
	}
	if (strncmp(key, "hs.", 3) == 0)
		return reply_error(d, c, 403, "keys starting with 'hs.' belong "
				   "to the engine");
	if (w.key_len > d->conf.limits.max_key_bytes)
		return reply_error(d, c, 413, "key of %zu bytes: "
				   "limits.max_key_bytes is %u", w.key_len,
				   d->conf.limits.max_key_bytes);
	if (rq->too_large || rq->len > d->conf.limits.max_value_bytes)
		return reply_error(d, c, 413, "value longer than "
				   "limits.max_value_bytes (%u)",
				   d->conf.limits.max_value_bytes);
	if (ATOMIC_READ(d->leaving))
		return reply_error(d, c, 503, "the node is leaving the cluster");
	if (!del) {
		w.value = rq->body ? rq->body : "";
		w.value_len = rq->len;
	}
	t0 = now_ns();
	hsd_call(d, key_write, &w);
	if (w.version == -ENOENT)
		return reply_error(d, c, 404, "no key '%s'", key);
	if (w.version == -ENOSPC)
		return reply_error(d, c, 507, "limits.max_keys_per_node "
				   "reached");
	if (w.version < 0)
		return reply_error(d, c, w.version == -EINVAL ? 400 : 500,
				   "write refused: %s", strerror((int)-w.version));
	o = json_pack("{s:s,s:I}", "key", key, "version", (json_int_t)w.version);
	if (wait == NULL)
		return reply_json(d, c, 200, o);
	end = t0 + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		struct timespec ts = { 0, 10 * 1000000 };

		if (missing != NULL)
			json_decref(missing);
		missing = write_missing(d, (uint64_t)w.version);
		if (missing == NULL || now_ns() >= end)
			break;
		nanosleep(&ts, NULL);
	}
	json_object_set_new(o, "reached", json_boolean(missing == NULL));
	json_object_set_new(o, "waited_ms",
			    json_integer((json_int_t)((now_ns() - t0) / 1000000)));
	if (missing != NULL) {
		json_object_set_new(o, "missing", missing);
		return reply_json(d, c, 202, o);
	}
	return reply_json(d, c, 200, o);
}

struct publish_call {
	struct hsd *d;
	const void *p;
	size_t len;
	int64_t seq;
};

static void
publish(void *arg)
{
	struct publish_call *x = arg;

	x->seq = hs_publish(x->d->node, x->p, x->len);
}

static enum MHD_Result
post_event(struct hsd *d, struct MHD_Connection *c, struct req *rq)
{
	struct publish_call x = { .d = d, .p = rq->body ? rq->body : "",
				  .len = rq->len };

	if (rq->too_large || rq->len + 8 > d->conf.limits.max_value_bytes)
		return reply_error(d, c, 413, "payload longer than %u bytes "
				   "(limits.max_value_bytes less 8)",
				   d->conf.limits.max_value_bytes - 8);
	if (ATOMIC_READ(d->leaving))
		return reply_error(d, c, 503, "the node is leaving the cluster");
	hsd_call(d, publish, &x);
	if (x.seq < 0)
		return reply_error(d, c, 500, "publish refused: %s",
				   strerror((int)-x.seq));
	return reply_json(d, c, 201, json_pack("{s:I}", "seq",
					       (json_int_t)x.seq));
}

/* ---- peer sampling, aggregates ---- */

static json_t *
peer_json(const struct hs_member_info *m)
{
	char addr[64];

	hsd_addr_str(&m->addr, addr, sizeof(addr));
	return json_pack("{s:o,s:s,s:s,s:s}", "id", json_id(m->id), "name",
			 m->name, "address", addr, "status",
			 hsd_status_str(m->status));
}

static enum MHD_Result
get_gossip_init(struct hsd *d, struct MHD_Connection *c)
{
	struct members_call x;
	json_t *a;
	unsigned i;

	if (members_get(d, &x) != 0)
		return reply_error(d, c, 500, "out of memory");
	a = json_array();
	for (i = 0; i < x.n; i++)
		if (x.m[i].status <= HS_WIRE_ST_SUSPECT)
			json_array_append_new(a, peer_json(&x.m[i]));
	free(x.m);
	return reply_json(d, c, 200, json_pack("{s:o}", "nodes", a));
}

struct peer_call {
	struct hsd *d;
	struct hs_member_info m;
	int rc;
};

static void
random_peer(void *arg)
{
	struct peer_call *x = arg;

	x->rc = hs_random_peer(x->d->node, &x->m);
}

static enum MHD_Result
get_peer(struct hsd *d, struct MHD_Connection *c)
{
	struct peer_call x = { .d = d };

	hsd_call(d, random_peer, &x);
	if (x.rc != 0)
		return reply_error(d, c, 404, "no live peer");
	return reply_json(d, c, 200, peer_json(&x.m));
}

struct agg_call {
	struct hsd *d;
	const char *key;
	struct hs_agg_result r;
	int rc;
};

static void
aggregate(void *arg)
{
	struct agg_call *x = arg;

	x->rc = hs_aggregate(x->d->node, x->key, strlen(x->key), &x->r);
}

static enum MHD_Result
get_aggregate(struct hsd *d, struct MHD_Connection *c, const char *key)
{
	struct agg_call x = { .d = d, .key = key };

	if (*key == '\0' || strlen(key) > d->conf.limits.max_key_bytes)
		return reply_error(d, c, 400, "key: 1 to %u bytes",
				   d->conf.limits.max_key_bytes);
	hsd_call(d, aggregate, &x);
	if (x.rc != 0)
		return reply_error(d, c, 400, "aggregate refused: %s",
				   strerror(-x.rc));
	return reply_json(d, c, 200, json_pack(
		"{s:s,s:I,s:f,s:f,s:o,s:o,s:I}", "key", key, "count",
		(json_int_t)x.r.count, "sum", x.r.sum, "avg", x.r.avg, "min",
		x.r.count > 0 ? json_real(x.r.min) : json_null(), "max",
		x.r.count > 0 ? json_real(x.r.max) : json_null(), "skipped",
		(json_int_t)x.r.skipped));
}

/* ---- stats and metrics ---- */

struct stats_call {
	struct hsd *d;
	struct hs_node_stats ns;
	struct hs_table_stats ts;
	unsigned counts[HS_WIRE_ST_MAX + 1];
};

static void
stats_get(void *arg)
{
	struct stats_call *x = arg;

	hs_node_stats(x->d->node, &x->ns);
	hs_table_stats(hs_node_table(x->d->node), &x->ts);
}

/* User + system CPU time of the whole process (every worker, the API's
 * and the control threads), in seconds: a remote benchmark's CPU per
 * node is its delta over a window (hearsay-bench --api). */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The whole stats document (GET /v1/stats); also the source of /metrics. */
static json_t *keyring_json(struct hsd *d);

static json_t *
stats_json(struct hsd *d)
{
	struct stats_call x = { .d = d };
	struct members_call mc;
	json_t *o, *lanes, *workers, *drv, *api;
	unsigned k, i;

	hsd_call(d, stats_get, &x);
	memset(x.counts, 0, sizeof(x.counts));
	if (members_get(d, &mc) == 0) {
		for (i = 0; i < mc.n; i++)
			if (mc.m[i].status <= HS_WIRE_ST_MAX)
				x.counts[mc.m[i].status]++;
		free(mc.m);
	}
	o = json_object();
#define NS(f) json_object_set_new(n, #f, json_integer((json_int_t)x.ns.f))
	{
		json_t *n = json_object();

		NS(rounds); NS(rx_frames); NS(rx_bytes); NS(tx_frames);
		NS(tx_bytes); NS(tx_dropped); NS(rx_bad); NS(rx_other_cluster);
		NS(rx_self); NS(rx_unauth); NS(rx_replay); NS(tx_unsealed);
		NS(rx_rate_limited);
		NS(rx_unexpected); NS(syn_sent); NS(ack_sent);
		NS(ack2_sent); NS(ack_empty); NS(syn_replies);
		NS(push_sent);
		NS(push_now_limited); NS(rumors); NS(rumors_dropped); NS(members); NS(probes); NS(probe_acks);
		NS(ping_reqs); NS(probes_failed); NS(suspicions); NS(deaths);
		NS(refutes); NS(revived); NS(forgotten); NS(stalls);
		NS(stall_ns); NS(notices_dropped);
		json_object_set_new(o, "node", n);
	}
	json_object_set_new(o, "security", keyring_json(d));
#undef NS
#define TS(f) json_object_set_new(t, #f, json_integer((json_int_t)x.ts.f))
	{
		json_t *t = json_object();

		TS(owners); TS(keys); TS(merged); TS(local_writes);
		TS(skipped_known); TS(lim_members); TS(lim_keys);
		TS(lim_key_bytes); TS(lim_value_bytes); TS(nomem);
		TS(tombstones_collected); TS(changes_lost);
		json_object_set_new(o, "table", t);
	}
#undef TS
	json_object_set_new(o, "members", json_pack(
		"{s:i,s:i,s:i,s:i}", "alive", x.counts[0], "suspect",
		x.counts[1], "dead", x.counts[2], "left", x.counts[3]));
	lanes = json_array();
	workers = json_array();
	drv = json_array();
	for (k = 0; k < d->n_workers; k++) {
		struct hs_lane_stats ls;
		struct hs_worker_stats ws;
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		hs_node_lane_stats(d->node, k, &ls);
		json_array_append_new(lanes, json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"rx_frames", (json_int_t)ls.rx_frames,
			"rx_bytes", (json_int_t)ls.rx_bytes,
			"rx_bad", (json_int_t)ls.rx_bad,
			"tx_frames", (json_int_t)ls.tx_frames,
			"tx_bytes", (json_int_t)ls.tx_bytes,
			"tx_dropped", (json_int_t)ls.tx_dropped,
			"merged", (json_int_t)ls.merged,
			"fwd_frames", (json_int_t)ls.fwd_frames,
			"fwd_dropped", (json_int_t)ls.fwd_dropped,
			"polls", (json_int_t)ls.polls));
		hs_worker_stats(d->w[k], &ws);
		json_array_append_new(workers, json_pack(
			"{s:I,s:I,s:I,s:I,s:f,s:f}",
			"loops", (json_int_t)ws.loops,
			"busy_loops", (json_int_t)ws.busy_loops,
			"sleeps", (json_int_t)ws.sleeps,
			"calls", (json_int_t)ws.calls,
			"lag_max_ms", (double)ws.lag_max_ns / 1e6,
			"lag_awake_max_ms", (double)ws.lag_awake_max_ns / 1e6));
		f = open_memstream(&buf, &len);
		if (f != NULL) {
			json_t *q;

			hs_drv_stats_json(d->drv, k, f);
			fclose(f);
			q = json_loads(buf, 0, NULL);
			json_array_append_new(drv, q ? q : json_object());
		}
		free(buf);
	}
	json_object_set_new(o, "lanes", lanes);
	json_object_set_new(o, "workers", workers);
	json_object_set_new(o, "driver", drv);
	api = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
			"requests", (json_int_t)ATOMIC_READ(d->api.requests),
			"errors_4xx", (json_int_t)ATOMIC_READ(d->api.errors_4xx),
			"errors_5xx", (json_int_t)ATOMIC_READ(d->api.errors_5xx),
			"sse_clients", (json_int_t)ATOMIC_READ(d->api.sse_clients),
			"sse_sent", (json_int_t)ATOMIC_READ(d->api.sse_sent),
			"sse_dropped", (json_int_t)ATOMIC_READ(d->api.sse_dropped));
	json_object_set_new(o, "api", api);
	if (d->hooks != NULL) {
		struct hs_hooks_stats hs;

		hs_hooks_stats(d->hooks, &hs);
		json_object_set_new(o, "hooks", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"fired", (json_int_t)hs.fired,
			"started", (json_int_t)hs.started,
			"succeeded", (json_int_t)hs.succeeded,
			"failed", (json_int_t)hs.failed,
			"timed_out", (json_int_t)hs.timed_out,
			"dropped", (json_int_t)hs.dropped,
			"running", (json_int_t)hs.running,
			"queued", (json_int_t)hs.queued));
	}
	json_object_set_new(o, "uptime_s",
			    json_real((double)(now_ns() - d->start_ns) / 1e9));
	json_object_set_new(o, "cpu_s", json_real(cpu_s()));
	return o;
}

/* Prometheus text format 0.0.4: one HELP and TYPE per family. */
struct prom {
	FILE *f;
	json_t *s;
};

static void
prom_family(struct prom *p, const char *name, const char *type,
	    const char *help)
{
	fprintf(p->f, "# HELP hearsay_%s %s\n# TYPE hearsay_%s %s\n", name,
		help, name, type);
}

/* One sample from stats path "sect.field" (sect an object). */
static void
prom_one(struct prom *p, const char *name, const char *type,
	 const char *help, const char *sect, const char *field)
{
	json_t *v = json_object_get(*sect ? json_object_get(p->s, sect) : p->s,
				    field);

	prom_family(p, name, type, help);
	fprintf(p->f, "hearsay_%s %.17g\n", name,
		json_is_number(v) ? json_number_value(v) : 0.0);
}

/* One sample per element of the array sect, labelled label="index". */
static void
prom_per(struct prom *p, const char *name, const char *type,
	 const char *help, const char *sect, const char *label,
	 const char *field, double scale)
{
	json_t *a = json_object_get(p->s, sect), *e;
	size_t i;

	prom_family(p, name, type, help);
	json_array_foreach(a, i, e) {
		json_t *v = json_object_get(e, field);

		fprintf(p->f, "hearsay_%s{%s=\"%zu\"} %.17g\n", name, label,
			i, json_is_number(v) ? json_number_value(v) * scale :
						0.0);
	}
}

static enum MHD_Result
get_metrics(struct hsd *d, struct MHD_Connection *c)
{
	static const struct {
		const char *name, *type, *help, *sect, *field;
	} one[] = {
		{ "rounds_total", "counter", "Gossip rounds run.", "node", "rounds" },
		{ "syn_sent_total", "counter", "SYN messages sent.", "node", "syn_sent" },
		{ "syn_replies_total", "counter", "SYNs of bucket hashes that differed, answered with a SYN of digests.", "node", "syn_replies" },
		{ "syn_agreed_total", "counter", "SYNs in agreement with us: no answer.", "node", "ack_empty" },
		{ "push_sent_total", "counter", "Rumor (PUSH) frames sent.", "node", "push_sent" },
		{ "rumors", "gauge", "Updates being pushed as rumors now.", "node", "rumors" },
		{ "rumors_dropped_total", "counter", "Rumors dropped: list full.", "node", "rumors_dropped" },
		{ "probes_total", "counter", "Failure-detection probes started.", "node", "probes" },
		{ "probes_failed_total", "counter", "Probes with no answer at all.", "node", "probes_failed" },
		{ "suspicions_total", "counter", "Members this node suspected.", "node", "suspicions" },
		{ "deaths_total", "counter", "Suspicions this node confirmed as dead.", "node", "deaths" },
		{ "refutes_total", "counter", "Suspicions of this node refuted.", "node", "refutes" },
		{ "stalls_total", "counter", "Own stalls measured (gaps between polls).", "node", "stalls" },
		{ "notices_dropped_total", "counter", "Notices dropped: queue full.", "node", "notices_dropped" },
		{ "rx_other_cluster_total", "counter", "Frames of another cluster dropped.", "node", "rx_other_cluster" },
		{ "rx_unauth_total", "counter", "Frames dropped: not sealed by a key this node holds.", "node", "rx_unauth" },
		{ "rx_replay_total", "counter", "Authentic frames dropped: replayed, or of an older generation of their sender.", "node", "rx_replay" },
		{ "tx_unsealed_total", "counter", "Frames not sent: no primary key.", "node", "tx_unsealed" },
		{ "rx_rate_limited_total", "counter", "Frames dropped: their sender over limits.peer_frames_per_s.", "node", "rx_rate_limited" },
		{ "table_owners", "gauge", "Owners (nodes) in the state table.", "table", "owners" },
		{ "table_keys", "gauge", "Keys and tombstones in the state table.", "table", "keys" },
		{ "table_merged_total", "counter", "Entries installed from deltas.", "table", "merged" },
		{ "table_local_writes_total", "counter", "Writes of our own keys.", "table", "local_writes" },
		{ "table_limit_drops_total", "counter", "Entries refused: over limits.keys.", "table", "lim_keys" },
		{ "api_requests_total", "counter", "Control API requests.", "api", "requests" },
		{ "api_errors_4xx_total", "counter", "Control API answers 4xx.", "api", "errors_4xx" },
		{ "api_errors_5xx_total", "counter", "Control API answers 5xx.", "api", "errors_5xx" },
		{ "sse_clients", "gauge", "Event-stream clients connected.", "api", "sse_clients" },
		{ "sse_dropped_total", "counter", "Notices dropped for slow event-stream clients.", "api", "sse_dropped" },
		{ "hooks_started_total", "counter", "Hook processes started.", "hooks", "started" },
		{ "hooks_failed_total", "counter", "Hooks that exited non-zero or by a signal.", "hooks", "failed" },
		{ "hooks_timed_out_total", "counter", "Hooks killed at their timeout.", "hooks", "timed_out" },
		{ "hooks_dropped_total", "counter", "Hook runs dropped: queue full.", "hooks", "dropped" },
	};
	static const struct {
		const char *name, *type, *help, *sect, *label, *field;
		double scale;
	} per[] = {
		{ "rx_frames_total", "counter", "Gossip frames received.", "lanes", "queue", "rx_frames", 1 },
		{ "rx_bytes_total", "counter", "Gossip bytes received (UDP payload).", "lanes", "queue", "rx_bytes", 1 },
		{ "rx_bad_total", "counter", "Frames dropped: failed to decode.", "lanes", "queue", "rx_bad", 1 },
		{ "tx_frames_total", "counter", "Gossip frames sent.", "lanes", "queue", "tx_frames", 1 },
		{ "tx_bytes_total", "counter", "Gossip bytes sent (UDP payload).", "lanes", "queue", "tx_bytes", 1 },
		{ "tx_dropped_total", "counter", "Frames the driver did not take.", "lanes", "queue", "tx_dropped", 1 },
		{ "merged_total", "counter", "Entries installed by each queue's worker.", "lanes", "queue", "merged", 1 },
		{ "forward_dropped_total", "counter", "Frames a lane could not hand to the primary.", "lanes", "queue", "fwd_dropped", 1 },
		{ "worker_loops_total", "counter", "Worker poll passes.", "workers", "worker", "loops", 1 },
		{ "worker_sleeps_total", "counter", "Adaptive worker sleeps.", "workers", "worker", "sleeps", 1 },
		{ "worker_lag_max_seconds", "gauge", "Longest gap between two polls of a worker, sleeps included.", "workers", "worker", "lag_max_ms", 1e-3 },
		{ "worker_lag_awake_max_seconds", "gauge", "Longest gap between two polls of a worker while awake.", "workers", "worker", "lag_awake_max_ms", 1e-3 },
	};
	struct prom p;
	char *buf = NULL;
	size_t len = 0, i;
	json_t *m;
	const char *st;
	struct MHD_Response *r;
	enum MHD_Result ret;

	p.s = stats_json(d);
	p.f = open_memstream(&buf, &len);
	if (p.f == NULL) {
		json_decref(p.s);
		return reply_error(d, c, 500, "out of memory");
	}
	prom_family(&p, "info", "gauge", "This node: 1, labelled.");
	fprintf(p.f, "hearsay_info{id=\"%" PRIu64 "\",name=\"", d->id);
	for (st = d->name; *st; st++)	/* label value escapes */
		fprintf(p.f, "%s%c", *st == '"' || *st == '\\' ? "\\" : "",
			*st == '\n' ? 'n' : *st);
	fprintf(p.f, "\",driver=\"%s\",version=\"%s\"} 1\n",
		d->conf.network.driver, HSD_VERSION);
	prom_one(&p, "uptime_seconds", "gauge", "Seconds since start.", "",
		 "uptime_s");
	prom_one(&p, "cpu_seconds_total", "counter", "User and system CPU "
		 "time of the hearsayd process.", "", "cpu_s");
	prom_family(&p, "members", "gauge", "Members known, ourselves included, by status.");
	m = json_object_get(p.s, "members");
	for (i = 0; i <= HS_WIRE_ST_MAX; i++) {
		json_t *v = json_object_get(m, hsd_status_str((uint8_t)i));

		fprintf(p.f, "hearsay_members{status=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
			hsd_status_str((uint8_t)i), json_integer_value(v));
	}
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (json_object_get(p.s, one[i].sect) != NULL)
			prom_one(&p, one[i].name, one[i].type, one[i].help,
				 one[i].sect, one[i].field);
	for (i = 0; i < sizeof(per) / sizeof(per[0]); i++)
		prom_per(&p, per[i].name, per[i].type, per[i].help,
			 per[i].sect, per[i].label, per[i].field,
			 per[i].scale);
	fclose(p.f);
	json_decref(p.s);
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- event streams ---- */

static bool
sub_wants(const struct hsd_sub *s, const struct hs_notice *n)
{
	if (!(s->types & HS_SUB(n->type)))
		return false;
	if (n->type == HS_NOTICE_CHANGE && s->prefix_len != 0)
		return n->key_len >= s->prefix_len &&
		       memcmp(n->key, s->prefix, s->prefix_len) == 0;
	return true;
}

void
hsd_api_notice(struct hsd *d, const struct hsd_notice *e)
{
	const struct hs_notice *n = e->n;
	struct hsd_sub *s;
	json_t *o;
	char *data, *line = NULL;

	pthread_mutex_lock(&d->sub_mu);
	for (s = d->subs; s != NULL; s = s->next)
		if (sub_wants(s, n))
			break;
	if (s == NULL) {
		pthread_mutex_unlock(&d->sub_mu);
		return;
	}
	pthread_mutex_unlock(&d->sub_mu);

	o = json_object();
	json_object_set_new(o, "type", json_string(e->type));
	json_object_set_new(o, "ts_ms", json_integer((json_int_t)e->ts_ms));
	json_object_set_new(o, "ts_us", json_integer((json_int_t)e->ts_us));
	if (n->type == HS_NOTICE_CHANGE) {
		json_object_set_new(o, "node", json_id(n->node));
		json_set_bytes(o, "key", n->key, n->key_len);
		json_object_set_new(o, "version", json_integer((json_int_t)n->version));
		json_object_set_new(o, "deleted", json_boolean(n->tombstone));
		if (!n->tombstone)
			json_set_bytes(o, "value", n->value, n->value_len);
	} else if (n->type == HS_NOTICE_EVENT) {
		json_object_set_new(o, "origin", json_id(n->node));
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "seq", json_integer((json_int_t)n->version));
		json_set_bytes(o, "payload", n->value, n->value_len);
	} else {
		json_object_set_new(o, "id", json_id(n->node));
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "address", json_string(e->address));
		json_object_set_new(o, "generation", json_integer((json_int_t)n->generation));
	}
	data = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (data == NULL || asprintf(&line, "event: %s\ndata: %s\n\n", e->type,
				     data) < 0) {
		free(data);
		return;
	}
	free(data);

	pthread_mutex_lock(&d->sub_mu);
	for (s = d->subs; s != NULL; s = s->next) {
		char *copy;

		if (!sub_wants(s, n))
			continue;
		if (s->n == HSD_SUB_LINES || (copy = strdup(line)) == NULL) {
			s->dropped++;
			ATOMIC_INC(d->api.sse_dropped);
			continue;
		}
		s->lines[(s->head + s->n) % HSD_SUB_LINES] = copy;
		s->n++;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&d->sub_mu);
	free(line);
}

struct sse {
	struct hsd *d;
	struct hsd_sub *s;
	char *cur;		/* the record being sent */
	size_t off;
};

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *x = cls;
	struct hsd *d = x->d;
	size_t n;

	(void)pos;
	if (x->cur == NULL) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += SSE_KEEPALIVE_S;
		pthread_mutex_lock(&d->sub_mu);
		while (x->s->n == 0 && !x->s->closed)
			if (pthread_cond_timedwait(&x->s->cv, &d->sub_mu,
						   &dl) == ETIMEDOUT)
				break;
		if (x->s->closed) {
			pthread_mutex_unlock(&d->sub_mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (x->s->n != 0) {
			x->cur = x->s->lines[x->s->head];
			x->s->head = (x->s->head + 1) % HSD_SUB_LINES;
			x->s->n--;
		}
		pthread_mutex_unlock(&d->sub_mu);
		if (x->cur == NULL) {
			x->cur = strdup(": keepalive\n\n");
			if (x->cur == NULL)
				return MHD_CONTENT_READER_END_WITH_ERROR;
		} else {
			ATOMIC_INC(d->api.sse_sent);
		}
		x->off = 0;
	}
	n = strlen(x->cur + x->off);
	if (n > max)
		n = max;
	memcpy(buf, x->cur + x->off, n);
	x->off += n;
	if (x->cur[x->off] == '\0') {
		free(x->cur);
		x->cur = NULL;
	}
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct sse *x = cls;
	struct hsd *d = x->d;
	struct hsd_sub **pp;

	pthread_mutex_lock(&d->sub_mu);
	for (pp = &d->subs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x->s) {
			*pp = x->s->next;
			break;
		}
	pthread_mutex_unlock(&d->sub_mu);
	while (x->s->n != 0) {
		free(x->s->lines[x->s->head]);
		x->s->head = (x->s->head + 1) % HSD_SUB_LINES;
		x->s->n--;
	}
	pthread_cond_destroy(&x->s->cv);
	free(x->s);
	free(x->cur);
	free(x);
	ATOMIC_DEC(d->api.sse_clients);
}

static enum MHD_Result
get_stream(struct hsd *d, struct MHD_Connection *c)
{
	const char *types = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							"types");
	const char *prefix = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							 "prefix");
	static const char *const names[] = {
		NULL, "join", "alive", "suspect", "dead", "leave", "change",
		"event",
	};
	struct MHD_Response *r;
	struct hsd_sub *s;
	struct sse *x;
	uint32_t mask = 0;
	enum MHD_Result ret;

	if (types == NULL) {
		mask = HS_SUB_ALL;
	} else {
		const char *t = types;

		while (*t != '\0') {
			size_t l = strcspn(t, ",");
			unsigned k, found = 0;

			for (k = 1; k <= HS_NOTICE_MAX; k++)
				if (strlen(names[k]) == l &&
				    strncmp(t, names[k], l) == 0)
					found = k;
			if (found == 0)
				return reply_error(d, c, 400, "types: a comma-"
					"separated list of join, alive, "
					"suspect, dead, leave, change, event; "
					"not '%s'", types);
			mask |= HS_SUB(found);
			t += l + (t[l] == ',');
		}
	}
	if (prefix != NULL && strlen(prefix) >= sizeof(s->prefix))
		return reply_error(d, c, 400, "prefix longer than 255 bytes");
	s = calloc(1, sizeof(*s));
	x = calloc(1, sizeof(*x));
	if (s == NULL || x == NULL) {
		free(s);
		free(x);
		return reply_error(d, c, 500, "out of memory");
	}
	s->types = mask;
	if (prefix != NULL) {
		s->prefix_len = strlen(prefix);
		memcpy(s->prefix, prefix, s->prefix_len);
	}
	pthread_cond_init(&s->cv, NULL);
	x->d = d;
	x->s = s;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read,
					      x, sse_free);
	if (r == NULL) {
		pthread_cond_destroy(&s->cv);
		free(s);
		free(x);
		return MHD_NO;
	}
	pthread_mutex_lock(&d->sub_mu);
	s->next = d->subs;
	d->subs = s;
	pthread_mutex_unlock(&d->sub_mu);
	ATOMIC_INC(d->api.sse_clients);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- routing ---- */

static bool
is(const char *m, const char *want)
{
	return strcmp(m, want) == 0;
}

/* ---- keyring (docs/SECURITY.md) ---- */

struct keyring_call {
	struct hsd *d;
	int op;				/* 'i'nstall, 'u'se, 'r'emove */
	uint8_t key[HS_AUTH_KEY_BYTES];
	uint32_t id;
	int rc;
};

/* On worker 0: a QSBR thread, for the old keyring's call_rcu. */
static void
keyring_change(void *arg)
{
	struct keyring_call *x = arg;

	if (x->op == 'i')
		x->rc = hs_auth_key_install(x->d->auth, x->key, &x->id);
	else if (x->op == 'u')
		x->rc = hs_auth_key_use(x->d->auth, x->id);
	else
		x->rc = hs_auth_key_remove(x->d->auth, x->id);
}

static json_t *
keyring_json(struct hsd *d)
{
	struct hs_auth_key_info k[HS_AUTH_MAX_KEYS];
	struct hs_auth_stats st;
	json_t *a = json_array();
	unsigned i, n;
	char id[9];

	if (d->auth == NULL)
		return json_pack("{s:b,s:o}", "plaintext", 1, "keys", a);
	n = hs_auth_keys(d->auth, k, HS_AUTH_MAX_KEYS);
	for (i = 0; i < n && i < HS_AUTH_MAX_KEYS; i++) {
		snprintf(id, sizeof(id), "%08x", k[i].id);
		json_array_append_new(a, json_pack("{s:s,s:b}", "id", id,
						   "primary", k[i].primary));
	}
	hs_auth_stats(d->auth, &st);
	return json_pack("{s:b,s:s,s:o,s:I,s:I}", "plaintext", 0, "cipher",
			 hs_auth_cipher_name(st.cipher), "keys", a,
			 "changes", (json_int_t)st.keyring_changes,
			 "windows_taken", (json_int_t)st.windows_taken);
}

static int
keyring_id(const char *s, uint32_t *id)
{
	char *e;
	unsigned long v;

	if (strlen(s) != 8)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 16);
	if (*e != '\0' || errno != 0 || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

/*
 * GET keyring; POST keyring {"key": "<base64 or hex>"} installs;
 * POST keyring/{id}/use makes it primary; DELETE keyring/{id} removes.
 * Keys never leave the node: only their ids.
 */
static enum MHD_Result
keyring(struct hsd *d, struct MHD_Connection *c, const char *rest,
	const char *method, struct req *rq)
{
	struct keyring_call x = { .d = d };
	const char *slash = strchr(rest, '/');
	char id[9];
	json_t *j, *k;

	if (*rest == '\0' && (is(method, "GET") || is(method, "HEAD")))
		return reply_json(d, c, 200, keyring_json(d));
	if (d->auth == NULL)
		return reply_error(d, c, 409, "this node runs without keys "
				   "(security.plaintext): restart it with "
				   "security.keys to seal its frames");
	if (*rest == '\0') {
		if (!is(method, "POST"))
			return reply_method(d, c, "GET, POST");
		j = json_loadb(rq->body ? rq->body : "", rq->len, 0, NULL);
		k = json_object_get(j, "key");
		if (!json_is_string(k) ||
		    hs_auth_key_parse(json_string_value(k), x.key) != 0) {
			json_decref(j);
			return reply_error(d, c, 400, "body: {\"key\": 32 "
					   "bytes as 64 hex digits or 44 "
					   "characters of base64}");
		}
		json_decref(j);
		x.op = 'i';
		hsd_call(d, keyring_change, &x);
		sodium_memzero(x.key, sizeof(x.key));
		snprintf(id, sizeof(id), "%08x", x.id);
		if (x.rc == -EEXIST)
			return reply_error(d, c, 409, "key %s is installed "
					   "already", id);
		if (x.rc == -ENOSPC)
			return reply_error(d, c, 409, "the keyring holds %d "
					   "keys: remove one first",
					   HS_AUTH_MAX_KEYS);
		if (x.rc != 0)
			return reply_error(d, c, 500, "install: %s",
					   strerror(-x.rc));
		HS_LOG(NOTICE, "api", "key %s installed", id);
		return reply_json(d, c, 201, json_pack("{s:s}", "id", id));
	}
	if (slash != NULL ? (slash - rest != 8 || !is(slash, "/use")) :
	    strlen(rest) != 8)
		return reply_error(d, c, 404, "no endpoint /v1/keyring/%s "
				   "(keyring/{id}, keyring/{id}/use)", rest);
	memcpy(id, rest, 8);
	id[8] = '\0';
	if (keyring_id(id, &x.id) != 0)
		return reply_error(d, c, 400, "a key id is 8 hex digits, not "
				   "'%s'", id);
	if (slash != NULL) {
		if (!is(method, "POST"))
			return reply_method(d, c, "POST");
		x.op = 'u';
	} else {
		if (!is(method, "DELETE"))
			return reply_method(d, c, "DELETE");
		x.op = 'r';
	}
	hsd_call(d, keyring_change, &x);
	if (x.rc == -ENOENT)
		return reply_error(d, c, 404, "no key %s", id);
	if (x.rc == -EBUSY)
		return reply_error(d, c, 409, "key %s is the primary: make "
				   "another primary first (it seals every "
				   "frame)", id);
	if (x.rc != 0)
		return reply_error(d, c, 500, "%s", strerror(-x.rc));
	HS_LOG(NOTICE, "api", "key %s %s", id,
	       x.op == 'u' ? "now primary" : "removed");
	return reply_json(d, c, 200, keyring_json(d));
}

static enum MHD_Result
route(struct hsd *d, struct MHD_Connection *c, const char *url,
      const char *method, struct req *rq)
{
	bool get = is(method, "GET") || is(method, "HEAD");
	const char *rest;

	if (is(url, "/metrics"))
		return get ? get_metrics(d, c) : reply_method(d, c, "GET");
	if (strncmp(url, "/v1/", 4) != 0)
		return reply_error(d, c, 404, "no endpoint %s (the API is "
				   "under /v1/, and /metrics)", url);
	url += 4;
	if (is(url, "info"))
		return get ? get_info(d, c) : reply_method(d, c, "GET");
	if (is(url, "stats"))
		return get ? reply_json(d, c, 200, stats_json(d)) :
			     reply_method(d, c, "GET");
	if (is(url, "members"))
		return get ? get_members(d, c, NULL) : reply_method(d, c, "GET");
	if (strncmp(url, "members/", 8) == 0 && url[8] != '\0')
		return get ? get_members(d, c, url + 8) :
			     reply_method(d, c, "GET");
	if (is(url, "gossip/init"))
		return get ? get_gossip_init(d, c) : reply_method(d, c, "GET");
	if (is(url, "gossip/get-peer"))
		return get ? get_peer(d, c) : reply_method(d, c, "GET");
	if (is(url, "events"))
		return is(method, "POST") ? post_event(d, c, rq) :
					    reply_method(d, c, "POST");
	if (is(url, "keyring"))
		return keyring(d, c, "", method, rq);
	if (strncmp(url, "keyring/", 8) == 0)
		return keyring(d, c, url + 8, method, rq);
	if (is(url, "events/stream"))
		return get ? get_stream(d, c) : reply_method(d, c, "GET");
	if (strncmp(url, "aggregate/", 10) == 0)
		return get ? get_aggregate(d, c, url + 10) :
			     reply_method(d, c, "GET");
	if (strncmp(url, "keys/", 5) == 0 && url[5] != '\0') {
		/* GET keys/{node}[/{key...}]; PUT, DELETE keys/{key...} */
		rest = url + 5;
		if (is(method, "PUT") || is(method, "DELETE"))
			return put_key(d, c, rest, rq, is(method, "DELETE"));
		if (get) {
			const char *slash = strchr(rest, '/');
			char node[256];

			if (slash == NULL)
				return get_keys(d, c, rest, NULL);
			if ((size_t)(slash - rest) >= sizeof(node))
				return reply_error(d, c, 404, "no such node");
			memcpy(node, rest, (size_t)(slash - rest));
			node[slash - rest] = '\0';
			return get_keys(d, c, node, slash + 1);
		}
		return reply_method(d, c, "GET, PUT, DELETE");
	}
	return reply_error(d, c, 404, "no endpoint /v1/%s", url);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_len, void **state)
{
	struct hsd *d = cls;
	struct req *rq = *state;
	size_t max = d->conf.limits.max_value_bytes + BODY_MAX_EXTRA;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*state = rq;
		ATOMIC_INC(d->api.requests);
		return MHD_YES;
	}
	if (*upload_len != 0) {
		if (rq->len + *upload_len > max) {
			rq->too_large = true;	/* keep reading, answer 413 */
		} else {
			if (rq->len + *upload_len + 1 > rq->cap) {
				size_t cap = rq->len + *upload_len + 1;
				char *b = realloc(rq->body, cap);

				if (b == NULL)
					return MHD_NO;
				rq->body = b;
				rq->cap = cap;
			}
			memcpy(rq->body + rq->len, upload, *upload_len);
			rq->len += *upload_len;
			rq->body[rq->len] = '\0';
		}
		*upload_len = 0;
		return MHD_YES;
	}
	return route(d, c, url, method, rq);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **state,
	     enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *state;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*state = NULL;
	}
}

static void __attribute__((format(printf, 2, 0)))
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	HS_LOG(INFO, "daemon.api", "libmicrohttpd: %s", msg);
}

/* The Unix socket: its directory made if missing, a stale socket
 * replaced (never another kind of file), mode 0660. */
static int
unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		HS_LOG(ERR, "daemon.api", "api.socket %s: longer than %zu "
		       "bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			HS_LOG(ERR, "daemon.api", "mkdir %s: %s", dir,
			       strerror(errno));
			return -errno;
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			HS_LOG(ERR, "daemon.api", "api.socket %s exists and "
			       "is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(fd, 64) != 0) {
		int e = errno;

		HS_LOG(ERR, "daemon.api", "api.socket %s: %s", path,
		       strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int
hsd_api_start(struct hsd *d)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (d->conf.api.socket[0] != '\0') {
		d->unix_fd = unix_listen(d->conf.api.socket);
		if (d->unix_fd < 0)
			return d->unix_fd;
		d->mhd_unix = MHD_start_daemon(flags, 0, NULL, NULL,
			on_request, d,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, d,
			MHD_OPTION_LISTEN_SOCKET, d->unix_fd,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
			MHD_OPTION_END);
		if (d->mhd_unix == NULL) {
			HS_LOG(ERR, "daemon.api", "libmicrohttpd would not "
			       "start on %s", d->conf.api.socket);
			return -EIO;
		}
		HS_LOG(NOTICE, "daemon.api", "listening on %s",
		       d->conf.api.socket);
	}
	if (d->conf.api.tcp[0] != '\0') {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		uint8_t ip[4];
		uint16_t port;

		if (hs_conf_addr_parse(d->conf.api.tcp, ip, &port) != 0)
			return -EINVAL;	/* hs_conf_check refused it */
		memcpy(&sin.sin_addr, ip, 4);
		sin.sin_port = htons(port);
		d->mhd_tcp = MHD_start_daemon(flags, 0, NULL, NULL,
			on_request, d,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, d,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
			MHD_OPTION_END);
		if (d->mhd_tcp == NULL) {
			HS_LOG(ERR, "daemon.api", "cannot listen on %s (in "
			       "use?)", d->conf.api.tcp);
			return -EADDRINUSE;
		}
		HS_LOG(NOTICE, "daemon.api", "listening on %s",
		       d->conf.api.tcp);
	}
	return 0;
}

void
hsd_api_stop(struct hsd *d)
{
	struct hsd_sub *s;

	/* end every event stream, so that its thread returns */
	pthread_mutex_lock(&d->sub_mu);
	for (s = d->subs; s != NULL; s = s->next) {
		s->closed = true;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&d->sub_mu);
	if (d->mhd_tcp != NULL)
		MHD_stop_daemon(d->mhd_tcp);
	if (d->mhd_unix != NULL)
		MHD_stop_daemon(d->mhd_unix);
	d->mhd_tcp = d->mhd_unix = NULL;
	if (d->unix_fd >= 0) {
		close(d->unix_fd);
		unlink(d->conf.api.socket);
		d->unix_fd = -1;
	}
}
