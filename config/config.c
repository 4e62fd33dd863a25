/*
 * hearsayd's configuration (config.h): libconfig's tree checked against
 * one table of keys, and the same checks for command-line overrides.
 *
 * Design.  Every key of the sections is a row of keys[]: section, name,
 * kind, where it lives in struct hs_conf, its range or allowed values.  A
 * value from the file and one from "section.key=value" take one path:
 * read (a libconfig setting, or text) into a number or a string, check it
 * against the row, store it.  So the file and the command line accept and
 * refuse the same values, and unknown-key messages list the same names.
 * The hooks list (a list of groups) is the one structure outside the
 * table, checked by hand.  Each stored key remembers its file and line
 * (the private src_ fields of struct hs_conf), so that hs_conf_check, run
 * after the overrides, points at the line that set what it refuses.
 * Strings are stored zero-padded, lists cleared before they are filled:
 * two configurations read from the same text compare equal with memcmp
 * section by section (hearsayd's reload does).
 *
 * libconfig 1.5 (Debian 12) quirks handled here:
 *  - a decimal literal outside 32 bits without the L suffix is wrapped
 *    (5000000000 reads as 705032704), and a hex one above 0xFFFFFFFF
 *    saturates: a node.id written without L would silently be another id.
 *    Every file read is scanned for such literals, outside comments and
 *    strings, and they are refused (lit_*);
 *  - 0xFFFFFFFF reads as the int -1: hex literals are taken as the bits
 *    they wrote;
 *  - @include paths are opened relative to the include directory, which we
 *    set to the main file's; settings remember the name as written, which
 *    we resolve the same way for messages.  (1.5 prefixes absolute paths
 *    too, so an absolute @include works only when the main file's path
 *    has no directory part.);
 *  - an @include naming a directory (or "") makes its scanner call
 *    exit(2): included directories are refused before it reads anything
 *    (inc_check).
 *
 * Thread context: the control thread; no globals, no static state.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libconfig.h>
#include <xxhash.h>

#include "config/config.h"
#include "config/socket.h"

#define SRC_DEFAULT		0
#define SRC_CMDLINE		1
#define SRC_FILE0		2
#define CMDLINE			"command line"
#define HOOK_TIMEOUT_DEFAULT	10000u
#define HOOK_TIMEOUT_MAX	3600000u	/* an hour */
#define CPU_MAX			(CPU_SETSIZE - 1)
/* libconfig nests no deeper than hooks.[i].events.[j] in a valid file;
 * walks of a file not yet checked stop there. */
#define DEPTH_MAX		8
#define LIT_FILES_MAX		64

enum conf_kind {
	KIND_STR,	/* min..max bytes, or one of choices */
	KIND_UINT,	/* min..max, stored in size bytes */
	KIND_BOOL,
	KIND_DOUBLE,	/* dmin..dmax; an integer is taken too */
	KIND_IPV4,	/* "A.B.C.D", unicast */
	KIND_TCP,	/* "" or "127.x.x.x:PORT" */
	KIND_SEEDS,	/* "A.B.C.D:PORT" each */
	KIND_EAL,	/* one argument each */
	KIND_CPUS,	/* CPU numbers */
	KIND_KEYS,	/* cluster keys: 64 hex digits or 44 base64 each */
};

enum conf_key_id {
	KEY_NODE_NAME,
	KEY_NODE_ID,
	KEY_NODE_RACK,
	KEY_NODE_CLUSTER,
	KEY_NODE_GENERATION,
	KEY_NET_DRIVER,
	KEY_NET_ADDRESS,
	KEY_NET_PORT,
	KEY_NET_INTERFACE,
	KEY_NET_SOURCE_PORTS,
	KEY_NET_FRAME_BYTES,
	KEY_NET_UDP_CHECKSUM,
	KEY_NET_LOSS,
	KEY_DPDK_DEVICE,
	KEY_DPDK_EAL,
	KEY_GOSSIP_SEEDS,
	KEY_GOSSIP_INTERVAL_MS,
	KEY_GOSSIP_FANOUT,
	KEY_GOSSIP_PUSH_NOW,
	KEY_GOSSIP_PUSH_NOW_PER_S,
	KEY_GOSSIP_SYN,
	KEY_FAILURE_DETECTOR,
	KEY_FAILURE_PROBE_TIMEOUT_MS,
	KEY_FAILURE_SUSPECT_MULT,
	KEY_FAILURE_PHI_THRESHOLD,
	KEY_FAILURE_FORGET_S,
	KEY_LIMITS_MAX_MEMBERS,
	KEY_LIMITS_MAX_KEYS_PER_NODE,
	KEY_LIMITS_MAX_KEY_BYTES,
	KEY_LIMITS_MAX_VALUE_BYTES,
	KEY_LIMITS_TOMBSTONE_TTL_S,
	KEY_LIMITS_EVENT_RETENTION,
	KEY_LIMITS_PEER_FRAMES_PER_S,
	KEY_WORKERS_COUNT,
	KEY_WORKERS_CPUS,
	KEY_WORKERS_POLL,
	KEY_WORKERS_SPIN_US,
	KEY_API_SOCKET,
	KEY_API_TCP,
	KEY_LOG_LEVEL,
	KEY_SECURITY_KEYS,
	KEY_SECURITY_PLAINTEXT,
	KEY_SECURITY_CIPHER,
	KEY_COUNT,
};

_Static_assert(KEY_COUNT <= HS_CONF_KEYS_MAX, "HS_CONF_KEYS_MAX too small");

struct conf_key {
	const char *section;
	const char *name;
	enum conf_kind kind;
	size_t off;			/* of the field in struct hs_conf */
	size_t size;			/* of the field */
	uint64_t min, max;		/* UINT: the range; STR: bytes */
	double dmin, dmax;		/* DOUBLE */
	const char *const *choices;	/* STR: allowed values, NULL-ended */
	const char *why;		/* STR: where max comes from */
};

#define FIELD(f)	.off = offsetof(struct hs_conf, f),		\
			.size = sizeof(((struct hs_conf *)NULL)->f)

static const char *const sections[] = {
	"node", "network", "dpdk", "gossip", "failure", "limits", "workers",
	"api", "log", "security", NULL,
};
static const char *const drivers[] = { "udp", "afpacket", "dpdk", NULL };
static const char *const detectors[] = { "swim", "phi", NULL };
static const char *const syn_forms[] = { "auto", "summary", "digests", NULL };
static const char *const polls[] = { "busy", "adaptive", NULL };
static const char *const ciphers[] = { "aes256gcm", "xchacha20poly1305",
				       NULL };
static const char *const levels[] = {
	"err", "warning", "notice", "info", "debug", NULL,
};
static const char *const event_names[HS_CONF_EV_COUNT] = {
	[HS_CONF_EV_JOIN] = "join",
	[HS_CONF_EV_ALIVE] = "alive",
	[HS_CONF_EV_SUSPECT] = "suspect",
	[HS_CONF_EV_DEAD] = "dead",
	[HS_CONF_EV_LEAVE] = "leave",
	[HS_CONF_EV_CHANGE] = "change",
	[HS_CONF_EV_EVENT] = "event",
};
#define EVENTS_KNOWN	"join, alive, suspect, dead, fail, leave, change, event"
#define HOOK_KEYS_KNOWN	"events, exec, prefix, timeout_ms"

/* Ranges: what the engine and the drivers accept (hs_node_create,
 * hs_table_create, hs_events), and beyond that what is sane for a
 * datacenter (an interval of 10 s is already a slow cluster). */
static const struct conf_key keys[KEY_COUNT] = {
	[KEY_NODE_NAME] = { "node", "name", KIND_STR, FIELD(node.name),
		.min = 1, .max = HS_CONF_STR_MAX - 1 },
	[KEY_NODE_ID] = { "node", "id", KIND_UINT, FIELD(node.id),
		.min = 0, .max = UINT64_MAX },
	[KEY_NODE_RACK] = { "node", "rack", KIND_STR, FIELD(node.rack),
		.min = 0, .max = 64 },
	[KEY_NODE_CLUSTER] = { "node", "cluster", KIND_UINT,
		FIELD(node.cluster), .min = 0, .max = UINT32_MAX },
	[KEY_NODE_GENERATION] = { "node", "generation", KIND_UINT,
		FIELD(node.generation), .min = 0, .max = UINT64_MAX },
	[KEY_NET_DRIVER] = { "network", "driver", KIND_STR,
		FIELD(network.driver), .choices = drivers },
	[KEY_NET_ADDRESS] = { "network", "address", KIND_IPV4,
		FIELD(network.address) },
	[KEY_NET_PORT] = { "network", "port", KIND_UINT, FIELD(network.port),
		.min = 1, .max = 65535 },
	[KEY_NET_INTERFACE] = { "network", "interface", KIND_STR,
		FIELD(network.interface), .min = 0, .max = IFNAMSIZ - 1,
		.why = "IFNAMSIZ" },
	[KEY_NET_SOURCE_PORTS] = { "network", "source_ports", KIND_UINT,
		FIELD(network.source_ports), .min = 1, .max = 1024 },
	[KEY_NET_UDP_CHECKSUM] = { "network", "udp_checksum", KIND_BOOL,
		FIELD(network.udp_checksum) },
	[KEY_NET_LOSS] = { "network", "loss", KIND_DOUBLE,
		FIELD(network.loss), .dmin = 0, .dmax = 0.9 },
	[KEY_NET_FRAME_BYTES] = { "network", "frame_bytes", KIND_UINT,
		FIELD(network.frame_bytes), .min = 512, .max = 8972 },
	[KEY_DPDK_DEVICE] = { "dpdk", "device", KIND_STR, FIELD(dpdk.device),
		.min = 0, .max = HS_CONF_STR_MAX - 1 },
	[KEY_DPDK_EAL] = { "dpdk", "eal", KIND_EAL, FIELD(dpdk.eal) },
	[KEY_GOSSIP_SEEDS] = { "gossip", "seeds", KIND_SEEDS,
		FIELD(gossip.seeds) },
	[KEY_GOSSIP_INTERVAL_MS] = { "gossip", "interval_ms", KIND_UINT,
		FIELD(gossip.interval_ms), .min = 1, .max = 10000 },
	[KEY_GOSSIP_FANOUT] = { "gossip", "fanout", KIND_UINT,
		FIELD(gossip.fanout), .min = 1, .max = 16 },
	[KEY_GOSSIP_PUSH_NOW] = { "gossip", "push_now", KIND_BOOL,
		FIELD(gossip.push_now) },
	[KEY_GOSSIP_PUSH_NOW_PER_S] = { "gossip", "push_now_per_s",
		KIND_UINT, FIELD(gossip.push_now_per_s), .min = 1,
		.max = 1000000 },
	[KEY_GOSSIP_SYN] = { "gossip", "syn", KIND_STR, FIELD(gossip.syn),
		.choices = syn_forms },
	[KEY_FAILURE_DETECTOR] = { "failure", "detector", KIND_STR,
		FIELD(failure.detector), .choices = detectors },
	[KEY_FAILURE_PROBE_TIMEOUT_MS] = { "failure", "probe_timeout_ms",
		KIND_UINT, FIELD(failure.probe_timeout_ms), .min = 0,
		.max = 60000 },
	[KEY_FAILURE_SUSPECT_MULT] = { "failure", "suspect_mult", KIND_UINT,
		FIELD(failure.suspect_mult), .min = 1, .max = 100 },
	[KEY_FAILURE_PHI_THRESHOLD] = { "failure", "phi_threshold",
		KIND_DOUBLE, FIELD(failure.phi_threshold), .dmin = 1,
		.dmax = 100 },
	[KEY_FAILURE_FORGET_S] = { "failure", "forget_s", KIND_UINT,
		FIELD(failure.forget_s), .min = 1, .max = 7 * 86400 },
	[KEY_LIMITS_MAX_MEMBERS] = { "limits", "max_members", KIND_UINT,
		FIELD(limits.max_members), .min = 1, .max = 1u << 20 },
	[KEY_LIMITS_MAX_KEYS_PER_NODE] = { "limits", "max_keys_per_node",
		KIND_UINT, FIELD(limits.max_keys_per_node), .min = 1,
		.max = 1u << 20 },
	[KEY_LIMITS_MAX_KEY_BYTES] = { "limits", "max_key_bytes", KIND_UINT,
		FIELD(limits.max_key_bytes), .min = 1, .max = 255 },
	[KEY_LIMITS_MAX_VALUE_BYTES] = { "limits", "max_value_bytes",
		KIND_UINT, FIELD(limits.max_value_bytes), .min = 1,
		.max = 8192 },
	[KEY_LIMITS_TOMBSTONE_TTL_S] = { "limits", "tombstone_ttl_s",
		KIND_UINT, FIELD(limits.tombstone_ttl_s), .min = 1,
		.max = 86400 },
	[KEY_LIMITS_EVENT_RETENTION] = { "limits", "event_retention",
		KIND_UINT, FIELD(limits.event_retention), .min = 1,
		.max = 1024 },
	[KEY_LIMITS_PEER_FRAMES_PER_S] = { "limits", "peer_frames_per_s",
		KIND_UINT, FIELD(limits.peer_frames_per_s), .min = 0,
		.max = 10000000 },
	[KEY_WORKERS_COUNT] = { "workers", "count", KIND_UINT,
		FIELD(workers.count), .min = 1, .max = HS_CONF_CPUS_MAX },
	[KEY_WORKERS_CPUS] = { "workers", "cpus", KIND_CPUS,
		FIELD(workers.cpus) },
	[KEY_WORKERS_POLL] = { "workers", "poll", KIND_STR,
		FIELD(workers.poll), .choices = polls },
	[KEY_WORKERS_SPIN_US] = { "workers", "spin_us", KIND_UINT,
		FIELD(workers.spin_us), .min = 1, .max = 100000 },
	[KEY_API_SOCKET] = { "api", "socket", KIND_STR, FIELD(api.socket),
		.min = 0, .max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1,
		.why = "sun_path" },
	[KEY_API_TCP] = { "api", "tcp", KIND_TCP, FIELD(api.tcp) },
	[KEY_LOG_LEVEL] = { "log", "level", KIND_STR, FIELD(log.level),
		.choices = levels },
	[KEY_SECURITY_KEYS] = { "security", "keys", KIND_KEYS,
		FIELD(security.keys) },
	[KEY_SECURITY_PLAINTEXT] = { "security", "plaintext", KIND_BOOL,
		FIELD(security.plaintext) },
	[KEY_SECURITY_CIPHER] = { "security", "cipher", KIND_STR,
		FIELD(security.cipher), .choices = ciphers },
};

/* Where a value comes from: for messages, and for hs_conf_check. */
struct conf_where {
	char file[HS_CONF_PATH_MAX];	/* a file or CMDLINE; "": unknown */
	int line;			/* 0: none */
	uint16_t src;			/* what src_key records */
	char key[128];			/* the full key */
};

/* One hs_conf_load. */
struct load_ctx {
	struct hs_conf *c;
	const char *path;		/* the main file */
	char dir[HS_CONF_PATH_MAX];	/* its directory, "" if none */
	const char *scanned[LIT_FILES_MAX];	/* lit_walk: names seen */
	unsigned n_scanned;
};

/* ---- errors ---- */

static void
err_fill(struct hs_conf_error *e, const char *file, int line,
	 const char *key, const char *what)
{
	size_t cap = sizeof(e->msg), n = 0;
	int k = 0;

	snprintf(e->file, sizeof(e->file), "%s", file);
	e->line = line;
	snprintf(e->key, sizeof(e->key), "%s", key);
	if (file[0] != '\0')
		k = line > 0 ? snprintf(e->msg, cap, "%s:%d: ", file, line) :
			       snprintf(e->msg, cap, "%s: ", file);
	n = k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
	if (key[0] != '\0' && n < cap - 1) {
		k = snprintf(e->msg + n, cap - n, "%s: ", key);
		n += k < 0 ? 0 : (size_t)k < cap - n ? (size_t)k : cap - n - 1;
	}
	snprintf(e->msg + n, cap - n, "%s", what);
}

static int __attribute__((format(printf, 3, 4)))
conf_err(struct hs_conf_error *e, const struct conf_where *w,
	 const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_fill(e, w->file, w->line, w->key, what);
	return -EINVAL;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* "a, b, c" of a NULL-ended list. */
static void
join_names(const char *const *names, char *buf, size_t cap)
{
	size_t n = 0;
	unsigned i;
	int k;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && n < cap - 1; i++) {
		k = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", names[i]);
		n += k < 0 ? 0 : (size_t)k;
	}
}

static void
known_keys(const char *section, char *buf, size_t cap)
{
	const char *names[KEY_COUNT + 1];
	unsigned i, n = 0;

	for (i = 0; i < KEY_COUNT; i++)
		if (strcmp(keys[i].section, section) == 0)
			names[n++] = keys[i].name;
	names[n] = NULL;
	join_names(names, buf, cap);
}

static int
section_find(const char *name)
{
	unsigned i;

	for (i = 0; sections[i] != NULL; i++)
		if (strcmp(sections[i], name) == 0)
			return (int)i;
	return -1;
}

static int
key_find(const char *section, const char *name)
{
	unsigned i;

	for (i = 0; i < KEY_COUNT; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- values: checks shared by the file, the command line and
 * hs_conf_check ---- */

static int
uint_check(bool neg, uint64_t v, uint64_t min, uint64_t max,
	   const struct conf_where *w, struct hs_conf_error *e)
{
	if (!neg && v >= min && v <= max)
		return 0;
	return conf_err(e, w, "must be %" PRIu64 "..%" PRIu64 ", not %s%" PRIu64,
			min, max, neg ? "-" : "", v);
}

static int
double_check(double v, double min, double max, const struct conf_where *w,
	     struct hs_conf_error *e)
{
	if (isfinite(v) && v >= min && v <= max)
		return 0;
	return conf_err(e, w, "must be %g..%g, not %g", min, max, v);
}

static bool
ip_unicast(const uint8_t ip[4])
{
	/* 0.0.0.0/8 is "this network", 224/4 multicast, 240/4 reserved
	 * (255.255.255.255 broadcast among them): none reaches one node. */
	return ip[0] != 0 && ip[0] < 224;
}

/* NULL, or why s is not a unicast "A.B.C.D". */
static const char *
ip_parse(const char *s, uint8_t ip[4])
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return "not an IPv4 address A.B.C.D";
	memcpy(ip, &a.s_addr, 4);
	if (!ip_unicast(ip))
		return "not a unicast address";
	return NULL;
}

/* NULL, or why s is not "A.B.C.D:PORT". */
static const char *
addr_port_parse(const char *s, uint8_t ip[4], uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':'), *p;
	unsigned long v = 0;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return "not A.B.C.D:PORT";
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (colon[1] == '\0')
		return "not A.B.C.D:PORT";
	for (p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return "not A.B.C.D:PORT";
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			break;
	}
	if (v == 0 || v > 65535)
		return "port must be 1..65535";
	*port = (uint16_t)v;
	return ip_parse(host, ip);
}

/* A string value of key k: its length, its choices, its form. */
static int
str_check(const struct conf_key *k, const char *s, const struct conf_where *w,
	  struct hs_conf_error *e)
{
	char list[256];
	uint8_t ip[4];
	uint16_t port;
	const char *why;
	size_t len = strlen(s);
	unsigned i;

	switch (k->kind) {
	case KIND_STR:
		if (k->choices != NULL) {
			for (i = 0; k->choices[i] != NULL; i++)
				if (strcmp(s, k->choices[i]) == 0)
					return 0;
			join_names(k->choices, list, sizeof(list));
			return conf_err(e, w, "must be one of %s, not '%s'",
					list, s);
		}
		if (len < k->min)
			return conf_err(e, w, "must not be empty");
		if (len > k->max)
			return conf_err(e, w, "too long: %zu bytes, at most %"
					PRIu64 "%s%s%s", len, k->max,
					k->why ? " (" : "",
					k->why ? k->why : "", k->why ? ")" : "");
		return 0;
	case KIND_IPV4:
		why = ip_parse(s, ip);
		if (why != NULL)
			return conf_err(e, w, "'%s': %s", s, why);
		return 0;
	case KIND_TCP:
		if (s[0] == '\0')
			return 0;
		why = len >= k->size ? "too long" : addr_port_parse(s, ip, &port);
		if (why == NULL && ip[0] != 127)
			why = "not a loopback address";
		if (why != NULL)
			return conf_err(e, w, "must be \"\" or a loopback "
					"address 127.x.x.x:PORT, not '%s' (%s)",
					s, why);
		return 0;
	default:
		return 0;
	}
}

/* A hook's program: an absolute path to an executable regular file. */
static int
exec_check(const char *exec, const struct conf_where *w,
	   struct hs_conf_error *e)
{
	struct stat st;

	if (exec[0] != '/')
		return conf_err(e, w, "must be an absolute path, not '%s'",
				exec);
	if (strlen(exec) >= HS_CONF_PATH_MAX)
		return conf_err(e, w, "too long: %zu bytes, at most %d",
				strlen(exec), HS_CONF_PATH_MAX - 1);
	if (stat(exec, &st) != 0)
		return conf_err(e, w, "'%s': %s", exec, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return conf_err(e, w, "'%s' is not a regular file", exec);
	if (access(exec, X_OK) != 0)
		return conf_err(e, w, "'%s' is not executable", exec);
	return 0;
}

/* ---- storing ---- */

static void *
field(struct hs_conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static const void *
field_const(const struct hs_conf *c, const struct conf_key *k)
{
	return (const char *)c + k->off;
}

static void
store_uint(struct hs_conf *c, const struct conf_key *k, uint64_t v)
{
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	if (k->size == 2)
		memcpy(field(c, k), &v16, 2);
	else if (k->size == 4)
		memcpy(field(c, k), &v32, 4);
	else
		memcpy(field(c, k), &v, 8);
}

static uint64_t
load_uint(const struct hs_conf *c, const struct conf_key *k)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v;

	if (k->size == 2) {
		memcpy(&v16, field_const(c, k), 2);
		return v16;
	}
	if (k->size == 4) {
		memcpy(&v32, field_const(c, k), 4);
		return v32;
	}
	memcpy(&v, field_const(c, k), 8);
	return v;
}

/* Zero-padded, so that equal configurations compare equal. */
/* A key's text form: 64 hex digits, or 44 characters of standard base64
 * (43 and one '=') for 32 bytes.  The daemon decodes it (engine/auth). */
static bool
key_text_ok(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 64) {
		for (i = 0; i < len; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		return true;
	}
	if (len != 44 || s[43] != '=')
		return false;
	for (i = 0; i < 43; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	/* the last character holds 4 bits of the key and 2 zero bits */
	return strchr("AEIMQUYcgkosw048", s[42]) != NULL;
}

static void
store_str(char *dst, size_t size, const char *s)
{
	size_t len = strlen(s);

	memset(dst, 0, size);
	memcpy(dst, s, len < size ? len : size - 1);
}

/* Checked and stored: a string of kind STR, IPV4 or TCP. */
static int
str_apply(struct hs_conf *c, const struct conf_key *k, const char *s,
	  const struct conf_where *w, struct hs_conf_error *e)
{
	int rc = str_check(k, s, w, e);

	if (rc != 0)
		return rc;
	if (k->kind == KIND_IPV4)
		(void)ip_parse(s, field(c, k));
	else
		store_str(field(c, k), k->size, s);
	return 0;
}

static void
list_reset(struct hs_conf *c, const struct conf_key *k)
{
	unsigned i;

	switch (k->kind) {
	case KIND_SEEDS:
		memset(c->gossip.seeds, 0, sizeof(c->gossip.seeds));
		c->gossip.n_seeds = 0;
		break;
	case KIND_EAL:
		for (i = 0; i < c->dpdk.n_eal; i++)
			free(c->dpdk.eal[i]);
		memset(c->dpdk.eal, 0, sizeof(c->dpdk.eal));
		c->dpdk.n_eal = 0;
		break;
	case KIND_CPUS:
		memset(c->workers.cpus, 0, sizeof(c->workers.cpus));
		c->workers.n_cpus = 0;
		break;
	case KIND_KEYS:
		memset(c->security.keys, 0, sizeof(c->security.keys));
		c->security.n_keys = 0;
		break;
	default:
		break;
	}
}

/* One element of a list of strings (seeds, EAL arguments). */
static int
list_add_str(struct hs_conf *c, const struct conf_key *k, const char *s,
	     const struct conf_where *w, struct hs_conf_error *e)
{
	struct hs_conf_seed *seed;
	const char *why, *p;

	if (k->kind == KIND_SEEDS) {
		if (c->gossip.n_seeds == HS_CONF_SEEDS_MAX)
			return conf_err(e, w, "more than %d seeds",
					HS_CONF_SEEDS_MAX);
		seed = &c->gossip.seeds[c->gossip.n_seeds];
		why = addr_port_parse(s, seed->ip, &seed->port);
		if (why != NULL) {
			memset(seed, 0, sizeof(*seed));
			return conf_err(e, w, "'%s': %s", s, why);
		}
		c->gossip.n_seeds++;
		return 0;
	}
	if (k->kind == KIND_KEYS) {
		/* never the key itself in a message: it is a secret */
		if (c->security.n_keys == HS_CONF_AUTH_KEYS)
			return conf_err(e, w, "more than %d keys",
					HS_CONF_AUTH_KEYS);
		if (!key_text_ok(s))
			return conf_err(e, w, "key %u: not 64 hex digits or 44 "
					"characters of base64 (32 bytes; "
					"'hearsay keygen' makes one)",
					c->security.n_keys + 1);
		store_str(c->security.keys[c->security.n_keys],
			  sizeof(c->security.keys[0]), s);
		c->security.n_keys++;
		return 0;
	}
	if (c->dpdk.n_eal == HS_CONF_EAL_MAX)
		return conf_err(e, w, "more than %d EAL arguments",
				HS_CONF_EAL_MAX);
	if (s[0] == '\0')
		return conf_err(e, w, "an empty EAL argument");
	for (p = s; *p != '\0'; p++)
		if (isspace((unsigned char)*p))
			return conf_err(e, w, "'%s': one argument per string, "
					"without spaces", s);
	if (strlen(s) >= HS_CONF_STR_MAX)
		return conf_err(e, w, "too long: %zu bytes, at most %d",
				strlen(s), HS_CONF_STR_MAX - 1);
	c->dpdk.eal[c->dpdk.n_eal] = strdup(s);
	if (c->dpdk.eal[c->dpdk.n_eal] == NULL) {
		conf_err(e, w, "out of memory");
		return -ENOMEM;
	}
	c->dpdk.n_eal++;
	return 0;
}

static int
list_add_cpu(struct hs_conf *c, uint64_t cpu, const struct conf_where *w,
	     struct hs_conf_error *e)
{
	if (c->workers.n_cpus == HS_CONF_CPUS_MAX)
		return conf_err(e, w, "more than %d cpus (one per worker)",
				HS_CONF_CPUS_MAX);
	c->workers.cpus[c->workers.n_cpus++] = (int)cpu;
	return 0;
}

static void
src_record(struct hs_conf *c, enum conf_key_id kid, const struct conf_where *w)
{
	c->src_key[kid].file = w->src;
	c->src_key[kid].line = w->line > 0 ? (uint32_t)w->line : 0;
}

/* ---- text: the command line ---- */

static int
text_uint(const char *t, uint64_t min, uint64_t max,
	  const struct conf_where *w, struct hs_conf_error *e, uint64_t *out)
{
	const char *p = t;
	bool neg = false, hex;
	char *end;
	uint64_t v;
	int rc;

	if (*p == '-') {
		neg = true;
		p++;
	}
	/* Decimal unless 0x: "010" is ten, as in the file. */
	hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	if (hex ? !isxdigit((unsigned char)p[2]) : !isdigit((unsigned char)*p))
		return conf_err(e, w, "must be an integer, not '%s'", t);
	errno = 0;
	v = strtoull(p, &end, hex ? 16 : 10);
	if (*end != '\0')
		return conf_err(e, w, "must be an integer, not '%s'", t);
	if (errno == ERANGE)
		return conf_err(e, w, "must be %" PRIu64 "..%" PRIu64
				", not %s", min, max, t);
	rc = uint_check(neg && v != 0, v, min, max, w, e);
	if (rc == 0)
		*out = v;
	return rc;
}

static int
text_double(const char *t, const struct conf_key *k,
	    const struct conf_where *w, struct hs_conf_error *e, double *out)
{
	char *end;
	double v;
	int rc;

	errno = 0;
	v = strtod(t, &end);
	if (t[0] == '\0' || isspace((unsigned char)t[0]) || *end != '\0')
		return conf_err(e, w, "must be a number, not '%s'", t);
	rc = double_check(v, k->dmin, k->dmax, w, e);
	if (rc == 0)
		*out = v;
	return rc;
}

static int
text_bool(const char *t, const struct conf_where *w, struct hs_conf_error *e,
	  bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	unsigned i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(t, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(t, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return conf_err(e, w, "must be true or false, not '%s'", t);
}

/* A list as text: EAL arguments split on blanks, seeds and cpus on
 * commas; "" empties the list. */
static int
text_list(struct hs_conf *c, const struct conf_key *k, const char *t,
	  const struct conf_where *w, struct hs_conf_error *e)
{
	char tok[HS_CONF_PATH_MAX];
	const char *p = t, *end;
	bool comma;
	size_t len;
	uint64_t v;
	int rc;

	list_reset(c, k);
	while (isspace((unsigned char)*p))
		p++;
	while (*p != '\0') {
		if (k->kind == KIND_EAL) {
			for (end = p; *end != '\0' &&
			     !isspace((unsigned char)*end); end++)
				;
		} else {
			end = strchr(p, ',');
			if (end == NULL)
				end = p + strlen(p);
		}
		len = (size_t)(end - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0)
			return conf_err(e, w, "an empty element in '%s'", t);
		if (len >= sizeof(tok))
			return conf_err(e, w, "an element longer than %zu "
					"bytes", sizeof(tok) - 1);
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (k->kind == KIND_CPUS) {
			rc = text_uint(tok, 0, CPU_MAX, w, e, &v);
			if (rc == 0)
				rc = list_add_cpu(c, v, w, e);
		} else {
			rc = list_add_str(c, k, tok, w, e);
		}
		if (rc != 0)
			return rc;
		p = end;
		comma = *p == ',';
		p += comma;
		while (isspace((unsigned char)*p))
			p++;
		if (comma && *p == '\0')
			return conf_err(e, w, "an empty element in '%s'", t);
	}
	return 0;
}

static int
key_from_text(struct hs_conf *c, enum conf_key_id kid, const char *t,
	      const struct conf_where *w, struct hs_conf_error *e)
{
	const struct conf_key *k = &keys[kid];
	uint64_t u = 0;
	double d = 0;
	bool b = false;
	int rc;

	switch (k->kind) {
	case KIND_UINT:
		rc = text_uint(t, k->min, k->max, w, e, &u);
		if (rc == 0)
			store_uint(c, k, u);
		break;
	case KIND_BOOL:
		rc = text_bool(t, w, e, &b);
		if (rc == 0)
			*(bool *)field(c, k) = b;
		break;
	case KIND_DOUBLE:
		rc = text_double(t, k, w, e, &d);
		if (rc == 0)
			memcpy(field(c, k), &d, sizeof(d));
		break;
	case KIND_SEEDS:
	case KIND_EAL:
	case KIND_CPUS:
	case KIND_KEYS:
		rc = text_list(c, k, t, w, e);
		break;
	default:
		rc = str_apply(c, k, t, w, e);
		break;
	}
	if (rc == 0)
		src_record(c, kid, w);
	return rc;
}

/* ---- libconfig settings: the file ---- */

/* The full key of s: "gossip.fanout", "hooks.[1].exec". */
static void
setting_key(const config_setting_t *s, char *buf, size_t cap, int depth)
{
	const config_setting_t *p = config_setting_parent(s);
	const char *name = config_setting_name(s);
	size_t n;

	buf[0] = '\0';
	if (p == NULL || depth > DEPTH_MAX)
		return;
	setting_key(p, buf, cap, depth + 1);
	n = strlen(buf);
	if (name != NULL)
		snprintf(buf + n, cap - n, "%s%s", n ? "." : "", name);
	else
		snprintf(buf + n, cap - n, "%s[%d]", n ? "." : "",
			 config_setting_index(s));
}

/* The file a setting comes from, as we opened it: libconfig 1.5 keeps an
 * included file's name as written, which it opened from the include
 * directory. */
static void
setting_file(const struct load_ctx *x, const char *f, char *buf, size_t cap)
{
	if (f == NULL)
		f = x->path;
	if (strcmp(f, x->path) == 0 || x->dir[0] == '\0')
		snprintf(buf, cap, "%s", f);
	else if (snprintf(buf, cap, "%s/%s", x->dir, f) >= (int)cap)
		snprintf(buf, cap, "%s", f);	/* too long: as written */
}

static uint16_t
src_file(struct hs_conf *c, const char *file)
{
	unsigned i;

	for (i = 0; i < c->n_src_files; i++)
		if (strcmp(c->src_files[i], file) == 0)
			return (uint16_t)(SRC_FILE0 + i);
	if (c->n_src_files == HS_CONF_FILES_MAX)
		return SRC_DEFAULT;	/* messages then name no file */
	snprintf(c->src_files[c->n_src_files], HS_CONF_PATH_MAX, "%s", file);
	return (uint16_t)(SRC_FILE0 + c->n_src_files++);
}

static void
where_of(struct load_ctx *x, const config_setting_t *s, struct conf_where *w)
{
	setting_file(x, config_setting_source_file(s), w->file,
		     sizeof(w->file));
	w->line = (int)config_setting_source_line(s);
	w->src = src_file(x->c, w->file);
	setting_key(s, w->key, sizeof(w->key), 0);
}

/* An integer as sign and magnitude; hex literals as the bits they wrote
 * (libconfig 1.5 reads 0xFFFFFFFF as the int -1). */
static int
setting_uint(const config_setting_t *s, uint64_t min, uint64_t max,
	     const struct conf_where *w, struct hs_conf_error *e,
	     uint64_t *out)
{
	int type = config_setting_type(s);
	bool hex = config_setting_get_format(s) == CONFIG_FORMAT_HEX;
	bool neg = false;
	long long ll;
	uint64_t v;
	int rc;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return conf_err(e, w, "must be an integer, not %s",
				type_name(type));
	if (type == CONFIG_TYPE_INT && hex) {
		v = (uint32_t)config_setting_get_int(s);
	} else if (hex) {
		v = (uint64_t)config_setting_get_int64(s);
	} else {
		ll = type == CONFIG_TYPE_INT ? config_setting_get_int(s) :
					       config_setting_get_int64(s);
		neg = ll < 0;
		v = neg ? (uint64_t)-(ll + 1) + 1 : (uint64_t)ll;
	}
	rc = uint_check(neg, v, min, max, w, e);
	if (rc == 0)
		*out = v;
	return rc;
}

static int
setting_string(const config_setting_t *s, const struct conf_where *w,
	       struct hs_conf_error *e, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_err(e, w, "must be a string, not %s",
				type_name(config_setting_type(s)));
	*out = config_setting_get_string(s);
	return 0;
}

static int
setting_list(struct load_ctx *x, const struct conf_key *k,
	     const config_setting_t *s, const struct conf_where *w,
	     struct hs_conf_error *e)
{
	struct hs_conf *c = x->c;
	struct conf_where we;
	const config_setting_t *el;
	const char *str = NULL;
	uint64_t v = 0;
	int i, n, rc;

	/* One string in the override's form: "-l 0 --in-memory", "a:1,b:2". */
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    k->kind != KIND_CPUS)
		return text_list(c, k, config_setting_get_string(s), w, e);
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return conf_err(e, w, "must be a list [ ... ], not %s",
				type_name(config_setting_type(s)));
	list_reset(c, k);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, (unsigned)i);
		where_of(x, el, &we);
		if (k->kind == KIND_CPUS) {
			rc = setting_uint(el, 0, CPU_MAX, &we, e, &v);
			if (rc == 0)
				rc = list_add_cpu(c, v, &we, e);
		} else {
			rc = setting_string(el, &we, e, &str);
			if (rc == 0)
				rc = list_add_str(c, k, str, &we, e);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
key_from_setting(struct load_ctx *x, enum conf_key_id kid,
		 const config_setting_t *s, const struct conf_where *w,
		 struct hs_conf_error *e)
{
	const struct conf_key *k = &keys[kid];
	struct hs_conf *c = x->c;
	int type = config_setting_type(s);
	const char *str = NULL;
	uint64_t u = 0;
	double d = 0;
	int rc;

	switch (k->kind) {
	case KIND_UINT:
		rc = setting_uint(s, k->min, k->max, w, e, &u);
		if (rc == 0)
			store_uint(c, k, u);
		break;
	case KIND_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return conf_err(e, w, "must be true or false, not %s",
					type_name(type));
		*(bool *)field(c, k) = config_setting_get_bool(s) != 0;
		rc = 0;
		break;
	case KIND_DOUBLE:
		if (type == CONFIG_TYPE_FLOAT)
			d = config_setting_get_float(s);
		else if (type == CONFIG_TYPE_INT)
			d = config_setting_get_int(s);
		else if (type == CONFIG_TYPE_INT64)
			d = (double)config_setting_get_int64(s);
		else
			return conf_err(e, w, "must be a number, not %s",
					type_name(type));
		rc = double_check(d, k->dmin, k->dmax, w, e);
		if (rc == 0)
			memcpy(field(c, k), &d, sizeof(d));
		break;
	case KIND_SEEDS:
	case KIND_EAL:
	case KIND_CPUS:
	case KIND_KEYS:
		rc = setting_list(x, k, s, w, e);
		break;
	default:
		rc = setting_string(s, w, e, &str);
		if (rc == 0)
			rc = str_apply(c, k, str, w, e);
		break;
	}
	if (rc == 0)
		src_record(c, kid, w);
	return rc;
}

/* ---- hooks ---- */

static int
hook_events(struct load_ctx *x, const config_setting_t *s,
	    const struct conf_where *w, struct hs_conf_error *e,
	    uint32_t *out)
{
	struct conf_where we;
	const config_setting_t *el;
	const char *name = NULL;
	int i, n, ev, rc;

	*out = 0;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		name = config_setting_get_string(s);
		ev = hs_conf_event_parse(name);
		if (ev < 0)
			return conf_err(e, w, "unknown event '%s' (known: "
					EVENTS_KNOWN ")", name);
		*out = 1u << ev;
		return 0;
	}
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return conf_err(e, w, "must be a list of events [\"join\", "
				"...], not %s", type_name(config_setting_type(s)));
	n = config_setting_length(s);
	if (n == 0)
		return conf_err(e, w, "must name at least one event (known: "
				EVENTS_KNOWN ")");
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, (unsigned)i);
		where_of(x, el, &we);
		rc = setting_string(el, &we, e, &name);
		if (rc != 0)
			return rc;
		ev = hs_conf_event_parse(name);
		if (ev < 0)
			return conf_err(e, &we, "unknown event '%s' (known: "
					EVENTS_KNOWN ")", name);
		*out |= 1u << ev;
	}
	return 0;
}

static int
conf_hook(struct load_ctx *x, const config_setting_t *g,
	  struct hs_conf_hook *h, struct hs_conf_error *e)
{
	struct conf_where w, wm, wprefix;
	const config_setting_t *m;
	bool have_events = false, have_exec = false;
	const char *name, *str = NULL;
	uint64_t v = 0;
	int i, n, rc;

	memset(&wprefix, 0, sizeof(wprefix));
	where_of(x, g, &w);
	memset(h, 0, sizeof(*h));
	h->timeout_ms = HOOK_TIMEOUT_DEFAULT;
	if (!config_setting_is_group(g))
		return conf_err(e, &w, "must be a group { events = [...]; "
				"exec = \"...\"; }, not %s",
				type_name(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(m);
		where_of(x, m, &wm);
		if (strcmp(name, "events") == 0) {
			rc = hook_events(x, m, &wm, e, &h->events);
			have_events = true;
		} else if (strcmp(name, "exec") == 0) {
			rc = setting_string(m, &wm, e, &str);
			if (rc == 0)
				rc = exec_check(str, &wm, e);
			if (rc == 0)
				store_str(h->exec, sizeof(h->exec), str);
			have_exec = true;
		} else if (strcmp(name, "prefix") == 0) {
			rc = setting_string(m, &wm, e, &str);
			if (rc == 0 && strlen(str) >= sizeof(h->prefix))
				rc = conf_err(e, &wm, "too long: %zu bytes, at "
					      "most %zu", strlen(str),
					      sizeof(h->prefix) - 1);
			if (rc == 0)
				store_str(h->prefix, sizeof(h->prefix), str);
			wprefix = wm;
		} else if (strcmp(name, "timeout_ms") == 0) {
			rc = setting_uint(m, 0, HOOK_TIMEOUT_MAX, &wm, e, &v);
			if (rc == 0)
				h->timeout_ms = (uint32_t)v;
		} else {
			rc = conf_err(e, &wm, "unknown key (known: "
				      HOOK_KEYS_KNOWN ")");
		}
		if (rc != 0)
			return rc;
	}
	if (!have_events || !have_exec) {
		snprintf(w.key + strlen(w.key), sizeof(w.key) - strlen(w.key),
			 "%s", have_events ? ".exec" : ".events");
		return conf_err(e, &w, "missing: %s", have_events ?
				"the program to run (an absolute path)" :
				"the events to run on (" EVENTS_KNOWN ")");
	}
	if (h->prefix[0] != '\0' && !(h->events & (1u << HS_CONF_EV_CHANGE)))
		return conf_err(e, &wprefix, "applies to the change event only, "
				"and this hook does not run on it");
	return 0;
}

static int
conf_hooks(struct load_ctx *x, const config_setting_t *s,
	   const struct conf_where *w, struct hs_conf_error *e)
{
	struct hs_conf *c = x->c;
	int i, n, rc;

	memset(c->hooks, 0, sizeof(c->hooks));
	c->n_hooks = 0;
	n = config_setting_length(s);
	/* "hooks = [];" is an empty array: libconfig cannot tell it from an
	 * empty list. */
	if (config_setting_is_array(s) && n == 0)
		return 0;
	if (!config_setting_is_list(s))
		return conf_err(e, w, "must be a list of groups ( { events = "
				"[...]; exec = \"...\"; }, ... ), not %s",
				type_name(config_setting_type(s)));
	if (n > HS_CONF_HOOKS_MAX)
		return conf_err(e, w, "%d hooks, at most %d", n,
				HS_CONF_HOOKS_MAX);
	for (i = 0; i < n; i++) {
		rc = conf_hook(x, config_setting_get_elem(s, (unsigned)i),
			       &c->hooks[i], e);
		if (rc != 0)
			return rc;
		c->n_hooks = (unsigned)i + 1;
	}
	return 0;
}

/* ---- the file ---- */

static int
conf_root(struct load_ctx *x, const config_setting_t *root,
	  struct hs_conf_error *e)
{
	char list[512];
	struct conf_where w, wm;
	const config_setting_t *s, *m;
	const char *sect;
	int i, j, n, nm, kid, rc;

	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		sect = config_setting_name(s);
		where_of(x, s, &w);
		if (strcmp(sect, "hooks") == 0) {
			rc = conf_hooks(x, s, &w, e);
			if (rc != 0)
				return rc;
			continue;
		}
		if (section_find(sect) < 0) {
			join_names(sections, list, sizeof(list));
			return conf_err(e, &w, "unknown %s (known: %s, hooks)",
					config_setting_is_group(s) ?
					"section" : "key", list);
		}
		if (!config_setting_is_group(s))
			return conf_err(e, &w, "must be a group { ... }, not %s",
					type_name(config_setting_type(s)));
		nm = config_setting_length(s);
		for (j = 0; j < nm; j++) {
			m = config_setting_get_elem(s, (unsigned)j);
			where_of(x, m, &wm);
			kid = key_find(sect, config_setting_name(m));
			if (kid < 0) {
				known_keys(sect, list, sizeof(list));
				return conf_err(e, &wm, "unknown key (known: %s)",
						list);
			}
			rc = key_from_setting(x, (enum conf_key_id)kid, m, &wm,
					      e);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Does the literal t[0..n) lose bits in libconfig 1.5?  *wide: even with
 * the L suffix (beyond 64 bits). */
static bool
lit_wraps(const char *t, size_t n, bool *wide)
{
	char buf[64];
	bool is64 = false, hex;
	size_t i, start;
	unsigned long long u;
	long long ll;

	*wide = false;
	while (n > 0 && t[n - 1] == 'L') {
		is64 = true;
		n--;
	}
	hex = n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
	start = hex ? 2 : (t[0] == '-' || t[0] == '+');
	if (start >= n)
		return false;
	for (i = start; i < n; i++)
		if (hex ? !isxdigit((unsigned char)t[i]) :
			  !isdigit((unsigned char)t[i]))
			return false;	/* a float: not ours */
	if (n >= sizeof(buf)) {
		*wide = true;
		return true;
	}
	memcpy(buf, t, n);
	buf[n] = '\0';
	errno = 0;
	if (hex) {
		u = strtoull(buf + 2, NULL, 16);
		*wide = errno == ERANGE;
		return *wide || (!is64 && u > UINT32_MAX);
	}
	ll = strtoll(buf, NULL, 10);
	*wide = errno == ERANGE;
	return *wide || (!is64 && (ll < INT_MIN || ll > INT_MAX));
}

/* The integer setting of file (as resolved) at line, for the key. */
static const config_setting_t *
lit_find(const struct load_ctx *x, const config_setting_t *s,
	 const char *file, int line, int depth)
{
	const config_setting_t *r;
	char f[HS_CONF_PATH_MAX];
	int i, n, type = config_setting_type(s);

	if ((type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) &&
	    (int)config_setting_source_line(s) == line) {
		setting_file(x, config_setting_source_file(s), f, sizeof(f));
		if (strcmp(f, file) == 0)
			return s;
	}
	if (!config_setting_is_aggregate(s) || depth >= DEPTH_MAX)
		return NULL;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		r = lit_find(x, config_setting_get_elem(s, (unsigned)i), file,
			     line, depth + 1);
		if (r != NULL)
			return r;
	}
	return NULL;
}

/*
 * A lexer over a file's text, just enough to find what libconfig 1.5
 * gets wrong: integer literals, and @include directives (at the start of
 * a line, as its scanner takes them), outside comments and strings.
 */
enum { LEX_END, LEX_NUMBER, LEX_INCLUDE };

struct lex {
	const char *p;
	int line;
	bool bol;		/* only blanks since the line began */
	const char *tok;	/* the literal, or the include's name as */
	size_t len;		/* written (escapes kept) */
};

static int
lex_next(struct lex *l)
{
	const char *p = l->p, *q;
	int kind = LEX_END;
	bool bol;

	while (*p != '\0' && kind == LEX_END) {
		if (*p == '\n') {
			l->line++;
			l->bol = true;
			p++;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r') {
			p++;
			continue;
		}
		bol = l->bol;
		l->bol = false;
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/');
			     p++)
				l->line += *p == '\n';
			p += *p != '\0' ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				l->line += *p == '\n';
			}
			p += *p != '\0';
		} else if (bol && strncmp(p, "@include", 8) == 0 &&
			   (p[8] == ' ' || p[8] == '\t')) {
			for (p += 8; *p == ' ' || *p == '\t'; p++)
				;
			if (*p != '"')
				continue;
			for (q = ++p; *q != '\0' && *q != '"' && *q != '\n'; q++)
				if (*q == '\\' && (q[1] == '"' || q[1] == '\\'))
					q++;
			l->tok = p;
			l->len = (size_t)(q - p);
			kind = LEX_INCLUDE;
			p = q + (*q == '"');
		} else if (isalpha((unsigned char)*p) || *p == '*' ||
			   *p == '_') {
			while (isalnum((unsigned char)*p) || *p == '_' ||
			       *p == '-' || *p == '*')
				p++;
		} else if (isdigit((unsigned char)*p) ||
			   ((*p == '-' || *p == '+' || *p == '.') &&
			    isdigit((unsigned char)p[1]))) {
			for (q = p + 1; isalnum((unsigned char)*q) ||
			     *q == '.' || *q == '+' || *q == '-'; q++)
				;
			l->tok = p;
			l->len = (size_t)(q - p);
			kind = LEX_NUMBER;
			p = q;
		} else {
			p++;
		}
	}
	l->p = p;
	return kind;
}

/* The whole file as a string (up to a NUL byte), or NULL. */
static char *
read_text(const char *file)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Refuse integer literals that libconfig 1.5 misread, in one file it
 * read. */
static int
lit_scan(struct load_ctx *x, const config_setting_t *root, const char *file,
	 struct hs_conf_error *e)
{
	struct conf_where w = { .line = 0 };
	struct lex l = { .line = 1, .bol = true };
	const config_setting_t *s;
	char *text = read_text(file);
	bool wide;
	int rc = 0;

	if (text == NULL)
		return 0;	/* read a moment ago: libconfig has it */
	snprintf(w.file, sizeof(w.file), "%s", file);
	for (l.p = text; rc == 0;) {
		int kind = lex_next(&l);

		if (kind == LEX_END)
			break;
		if (kind != LEX_NUMBER || !lit_wraps(l.tok, l.len, &wide))
			continue;
		w.line = l.line;
		s = lit_find(x, root, file, l.line, 0);
		if (s != NULL)
			setting_key(s, w.key, sizeof(w.key), 0);
		rc = wide ? conf_err(e, &w, "%.*s does not fit in 64 bits",
				     (int)l.len, l.tok) :
			    conf_err(e, &w, "%.*s does not fit in 32 bits: "
				     "write %.*sL (libconfig 1.5 misreads it "
				     "otherwise)", (int)l.len, l.tok,
				     (int)l.len, l.tok);
	}
	free(text);
	return rc;
}

/*
 * libconfig 1.5 opens an @include with fopen, which opens a directory;
 * its scanner then fails to read it and calls exit(2), from the middle of
 * a SIGHUP reload too.  Refuse included directories before libconfig
 * sees them, in file and in what it includes (as deep as libconfig goes,
 * 10 levels).
 */
static int
inc_check(struct load_ctx *x, const char *file, int depth,
	  struct hs_conf_error *e)
{
	struct conf_where w = { .line = 0 };
	struct lex l = { .line = 1, .bol = true };
	char name[HS_CONF_PATH_MAX], path[HS_CONF_PATH_MAX + 1];
	char *text = read_text(file);
	struct stat st;
	size_t i, n;
	int rc = 0;

	if (text == NULL)
		return 0;	/* libconfig says why */
	for (l.p = text; rc == 0;) {
		int kind = lex_next(&l);

		if (kind == LEX_END)
			break;
		if (kind != LEX_INCLUDE)
			continue;
		/* the name as libconfig unescapes it (\\ and \"), and opens
		 * it: from the include directory */
		for (i = n = 0; i < l.len && n < sizeof(name) - 1; i++, n++)
			name[n] = l.tok[i] == '\\' && i + 1 < l.len &&
				  (l.tok[i + 1] == '"' ||
				   l.tok[i + 1] == '\\') ? l.tok[++i] : l.tok[i];
		name[n] = '\0';
		if (x->dir[0] == '\0')
			snprintf(path, sizeof(path), "%s", name);
		else if (snprintf(path, sizeof(path), "%s/%s", x->dir, name) >=
			 (int)sizeof(path))
			continue;	/* libconfig cannot open it either */
		if (stat(path, &st) != 0)
			continue;	/* nor this: "cannot open include file" */
		if (S_ISDIR(st.st_mode)) {
			snprintf(w.file, sizeof(w.file), "%s", file);
			w.line = l.line;
			rc = conf_err(e, &w, "@include \"%s\": %s is a directory "
				      "(@include takes files only)", name, path);
		} else if (depth < 10) {
			rc = inc_check(x, path, depth + 1, e);
		}
	}
	free(text);
	return rc;
}

/* Scan every file that holds a setting, once each. */
static int
lit_walk(struct load_ctx *x, const config_setting_t *root,
	 const config_setting_t *s, int depth, struct hs_conf_error *e)
{
	const char *name = config_setting_source_file(s);
	char file[HS_CONF_PATH_MAX];
	unsigned i;
	int n, rc;

	if (name == NULL)
		name = x->path;
	for (i = 0; i < x->n_scanned && strcmp(x->scanned[i], name) != 0; i++)
		;
	if (i == x->n_scanned && x->n_scanned < LIT_FILES_MAX) {
		x->scanned[x->n_scanned++] = name;
		setting_file(x, name, file, sizeof(file));
		rc = lit_scan(x, root, file, e);
		if (rc != 0)
			return rc;
	}
	if (!config_setting_is_aggregate(s) || depth >= DEPTH_MAX)
		return 0;
	n = config_setting_length(s);
	for (i = 0; i < (unsigned)n; i++) {
		rc = lit_walk(x, root, config_setting_get_elem(s, i),
			      depth + 1, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- public ---- */

void
hs_conf_default(struct hs_conf *c)
{
	char host[HOST_NAME_MAX + 1];

	memset(c, 0, sizeof(*c));
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	store_str(c->node.name, sizeof(c->node.name), host);
	c->node.cluster = 1;
	store_str(c->network.driver, sizeof(c->network.driver), "udp");
	c->network.address[0] = 127;
	c->network.address[3] = 1;
	c->network.port = 7946;
	c->network.source_ports = 16;
	c->network.frame_bytes = 1472;
	c->network.udp_checksum = true;
	c->gossip.interval_ms = 10;
	c->gossip.fanout = 3;
	c->gossip.push_now = true;
	c->gossip.push_now_per_s = 500;
	store_str(c->gossip.syn, sizeof(c->gossip.syn), "auto");
	store_str(c->failure.detector, sizeof(c->failure.detector), "swim");
	c->failure.suspect_mult = 8;
	c->failure.phi_threshold = 8.0;
	c->failure.forget_s = 3600;
	c->limits.max_members = 4096;
	c->limits.peer_frames_per_s = 20000;
	snprintf(c->security.cipher, sizeof(c->security.cipher), "aes256gcm");
	c->limits.max_keys_per_node = 1024;
	c->limits.max_key_bytes = 128;
	c->limits.max_value_bytes = 1024;
	c->limits.tombstone_ttl_s = 60;
	c->limits.event_retention = 64;
	c->workers.count = 1;
	store_str(c->workers.poll, sizeof(c->workers.poll), "adaptive");
	c->workers.spin_us = 20;
	hs_default_socket(c->api.socket, sizeof(c->api.socket));
	store_str(c->log.level, sizeof(c->log.level), "notice");
}

int
hs_conf_load(struct hs_conf *c, const char *path, struct hs_conf_error *e)
{
	struct hs_conf_error dummy;
	struct load_ctx x = { .c = c, .path = path };
	struct conf_where w = { .line = 0 };
	const char *slash, *text;
	config_t cfg;
	struct stat st;
	FILE *f;
	int rc;

	if (e == NULL)
		e = &dummy;
	memset(e, 0, sizeof(*e));
	if (strlen(path) >= HS_CONF_PATH_MAX) {
		err_fill(e, "", 0, "", "configuration path too long");
		return -ENAMETOOLONG;
	}
	/* libconfig says only "file I/O error": open it first for errno. */
	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		err_fill(e, path, 0, "", strerror(-rc));
		return rc;
	}
	rc = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode) ? -EISDIR : 0;
	fclose(f);
	if (rc != 0) {
		err_fill(e, path, 0, "", strerror(-rc));
		return rc;
	}
	slash = strrchr(path, '/');
	if (slash != NULL)
		snprintf(x.dir, sizeof(x.dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
	rc = inc_check(&x, path, 0, e);
	if (rc != 0)
		return rc;
	config_init(&cfg);
	if (x.dir[0] != '\0')
		config_set_include_dir(&cfg, x.dir);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		text = config_error_text(&cfg);
		setting_file(&x, config_error_file(&cfg), w.file,
			     sizeof(w.file));
		w.line = config_error_line(&cfg);
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			err_fill(e, w.file, 0, "", "cannot read the file");
			rc = -EIO;
		} else if (text != NULL &&
			   strcmp(text, "cannot open include file") == 0) {
			rc = conf_err(e, &w, "syntax error: %s (relative to "
				      "%s)", text, x.dir[0] ? x.dir :
				      "the working directory");
		} else if (text == NULL || strcmp(text, "syntax error") == 0) {
			rc = conf_err(e, &w, "syntax error");
		} else {
			rc = conf_err(e, &w, "syntax error: %s", text);
		}
		goto out;
	}
	rc = lit_walk(&x, config_root_setting(&cfg), config_root_setting(&cfg),
		      0, e);
	if (rc == 0)
		rc = conf_root(&x, config_root_setting(&cfg), e);
out:
	config_destroy(&cfg);
	return rc;
}

int
hs_conf_set(struct hs_conf *c, const char *a, struct hs_conf_error *e)
{
	struct hs_conf_error dummy;
	struct conf_where w = { .file = CMDLINE, .src = SRC_CMDLINE };
	char sect[32], name[64], list[512];
	const char *eq = strchr(a, '='), *k = a, *dot, *v;
	size_t klen, vlen;
	char *val;
	int kid, rc;

	if (e == NULL)
		e = &dummy;
	memset(e, 0, sizeof(*e));
	if (eq == NULL)
		return conf_err(e, &w, "expected section.key=value, not '%s'",
				a);
	while (isspace((unsigned char)*k))
		k++;
	klen = (size_t)(eq - k);
	while (klen > 0 && isspace((unsigned char)k[klen - 1]))
		klen--;
	snprintf(w.key, sizeof(w.key), "%.*s", (int)klen, k);
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	dot = memchr(k, '.', klen);
	if (dot == NULL)
		return conf_err(e, &w, "expected section.key=value, not '%s'",
				a);
	snprintf(sect, sizeof(sect), "%.*s", (int)(dot - k), k);
	snprintf(name, sizeof(name), "%.*s", (int)(k + klen - dot - 1),
		 dot + 1);
	if (strcmp(sect, "hooks") == 0)
		return conf_err(e, &w, "hooks are set in the file only");
	if (section_find(sect) < 0) {
		join_names(sections, list, sizeof(list));
		return conf_err(e, &w, "unknown section (known: %s)", list);
	}
	kid = key_find(sect, name);
	if (kid < 0) {
		known_keys(sect, list, sizeof(list));
		return conf_err(e, &w, "unknown key (known: %s)", list);
	}
	/* The value without trailing blanks, on the heap: an EAL list may
	 * be long. */
	vlen = strlen(v);
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	val = strndup(v, vlen);
	if (val == NULL) {
		conf_err(e, &w, "out of memory");
		return -ENOMEM;
	}
	rc = key_from_text(c, (enum conf_key_id)kid, val, &w, e);
	free(val);
	return rc;
}

/* Where key kid was set, for a message about key (which may be another:
 * "network.interface" is needed where network.driver said afpacket). */
static void
where_key(const struct hs_conf *c, enum conf_key_id kid, const char *key,
	  struct conf_where *w)
{
	unsigned src = c->src_key[kid].file;

	memset(w, 0, sizeof(*w));
	if (src == SRC_CMDLINE)
		snprintf(w->file, sizeof(w->file), "%s", CMDLINE);
	else if (src >= SRC_FILE0 && src - SRC_FILE0 < c->n_src_files &&
		 src - SRC_FILE0 < HS_CONF_FILES_MAX)
		snprintf(w->file, sizeof(w->file), "%s",
			 c->src_files[src - SRC_FILE0]);
	w->line = src >= SRC_FILE0 ? (int)c->src_key[kid].line : 0;
	if (key != NULL)
		snprintf(w->key, sizeof(w->key), "%s", key);
	else
		snprintf(w->key, sizeof(w->key), "%s.%s", keys[kid].section,
			 keys[kid].name);
}

/* The value of key kid as it is now (a struct filled by code too). */
static int
key_check(const struct hs_conf *c, enum conf_key_id kid,
	  struct hs_conf_error *e)
{
	const struct conf_key *k = &keys[kid];
	const struct hs_conf_seed *seed;
	struct conf_where w;
	double d;
	unsigned i;

	where_key(c, kid, NULL, &w);
	switch (k->kind) {
	case KIND_UINT:
		return uint_check(false, load_uint(c, k), k->min, k->max, &w,
				  e);
	case KIND_DOUBLE:
		memcpy(&d, field_const(c, k), sizeof(d));
		return double_check(d, k->dmin, k->dmax, &w, e);
	case KIND_STR:
	case KIND_TCP:
		if (strnlen(field_const(c, k), k->size) == k->size)
			return conf_err(e, &w, "not NUL-terminated");
		return str_check(k, field_const(c, k), &w, e);
	case KIND_IPV4:
		if (!ip_unicast(c->network.address))
			return conf_err(e, &w, "not a unicast address");
		return 0;
	case KIND_SEEDS:
		if (c->gossip.n_seeds > HS_CONF_SEEDS_MAX)
			return conf_err(e, &w, "more than %d seeds",
					HS_CONF_SEEDS_MAX);
		for (i = 0; i < c->gossip.n_seeds; i++) {
			seed = &c->gossip.seeds[i];
			if (!ip_unicast(seed->ip) || seed->port == 0)
				return conf_err(e, &w, "seed %u: not a unicast "
						"address and a port", i);
		}
		return 0;
	case KIND_EAL:
		if (c->dpdk.n_eal > HS_CONF_EAL_MAX)
			return conf_err(e, &w, "more than %d EAL arguments",
					HS_CONF_EAL_MAX);
		for (i = 0; i < c->dpdk.n_eal; i++)
			if (c->dpdk.eal[i] == NULL)
				return conf_err(e, &w, "argument %u is NULL",
						i);
		return 0;
	case KIND_KEYS:
		if (c->security.n_keys > HS_CONF_AUTH_KEYS)
			return conf_err(e, &w, "more than %d keys",
					HS_CONF_AUTH_KEYS);
		for (i = 0; i < c->security.n_keys; i++)
			if (!key_text_ok(c->security.keys[i]))
				return conf_err(e, &w, "key %u: not 64 hex "
						"digits or 44 characters of "
						"base64", i + 1);
		return 0;
	case KIND_CPUS:
		if (c->workers.n_cpus > HS_CONF_CPUS_MAX)
			return conf_err(e, &w, "more than %d cpus",
					HS_CONF_CPUS_MAX);
		for (i = 0; i < c->workers.n_cpus; i++)
			if (c->workers.cpus[i] < 0 ||
			    c->workers.cpus[i] > CPU_MAX)
				return conf_err(e, &w, "must be 0..%d, not %d",
						CPU_MAX, c->workers.cpus[i]);
		return 0;
	default:
		return 0;
	}
}

int
hs_conf_check(const struct hs_conf *c, struct hs_conf_error *e)
{
	struct hs_conf_error dummy;
	struct conf_where w;
	const char *drv = c->network.driver;
	bool l2 = strcmp(drv, "afpacket") == 0 || strcmp(drv, "dpdk") == 0;
	unsigned i, last;
	int rc;

	if (e == NULL)
		e = &dummy;
	memset(e, 0, sizeof(*e));
	for (i = 0; i < KEY_COUNT; i++) {
		rc = key_check(c, (enum conf_key_id)i, e);
		if (rc != 0)
			return rc;
	}
	if (c->n_hooks > HS_CONF_HOOKS_MAX) {
		memset(&w, 0, sizeof(w));
		snprintf(w.key, sizeof(w.key), "hooks");
		return conf_err(e, &w, "%u hooks, at most %d", c->n_hooks,
				HS_CONF_HOOKS_MAX);
	}
	for (i = 0; i < c->n_hooks; i++) {
		memset(&w, 0, sizeof(w));
		snprintf(w.key, sizeof(w.key), "hooks.[%u]", i);
		if (c->hooks[i].events == 0 ||
		    c->hooks[i].events >= 1u << HS_CONF_EV_COUNT)
			return conf_err(e, &w, "no events, or unknown ones");
		if (c->hooks[i].exec[0] != '/')
			return conf_err(e, &w, "exec must be an absolute path");
	}
	/* Across keys: each message is given the line of the key whose
	 * value asks for the missing one. */
	if (strcmp(drv, "afpacket") == 0 && c->network.interface[0] == '\0') {
		where_key(c, KEY_NET_DRIVER, "network.interface", &w);
		return conf_err(e, &w, "needed by driver afpacket (the "
				"interface to send and receive on)");
	}
	if (strcmp(drv, "dpdk") == 0 && c->dpdk.device[0] == '\0') {
		where_key(c, KEY_NET_DRIVER, "dpdk.device", &w);
		return conf_err(e, &w, "needed by driver dpdk (the port: a PCI "
				"address or a vdev such as net_af_packet0,"
				"iface=eth0)");
	}
	if (c->workers.n_cpus > c->workers.count) {
		where_key(c, KEY_WORKERS_CPUS, NULL, &w);
		return conf_err(e, &w, "%u cpus for %u workers (workers.count): "
				"one cpu per worker", c->workers.n_cpus,
				c->workers.count);
	}
	/* The L2 drivers send from port .. port + source_ports - 1 for RSS;
	 * udp sends from port only. */
	last = (unsigned)c->network.port + c->network.source_ports - 1u;
	if (l2 && last > 65535) {
		where_key(c, KEY_NET_SOURCE_PORTS, NULL, &w);
		return conf_err(e, &w, "ports %u..%u (network.port on) pass "
				"65535", c->network.port, last);
	}
	/* plaintext only when asked for, and then without keys: last, so
	 * that a file without a security section still hears of the rest */
	if (c->security.n_keys == 0 && !c->security.plaintext) {
		where_key(c, KEY_SECURITY_KEYS, NULL, &w);
		return conf_err(e, &w, "no keys: every frame is sealed with a "
				"cluster key (make one with 'hearsay keygen'); "
				"to gossip in clear instead, set "
				"security.plaintext = true");
	}
	if (c->security.n_keys != 0 && c->security.plaintext) {
		where_key(c, KEY_SECURITY_PLAINTEXT, NULL, &w);
		return conf_err(e, &w, "true, but security.keys has %u: "
				"either keys or plaintext",
				c->security.n_keys);
	}
	return 0;
}

void
hs_conf_free(struct hs_conf *c)
{
	list_reset(c, &keys[KEY_DPDK_EAL]);
}

int
hs_conf_event_parse(const char *name)
{
	unsigned i;

	if (strcmp(name, "fail") == 0)
		return HS_CONF_EV_DEAD;
	for (i = 0; i < HS_CONF_EV_COUNT; i++)
		if (strcmp(name, event_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
hs_conf_event_name(enum hs_conf_event ev)
{
	return (unsigned)ev < HS_CONF_EV_COUNT ? event_names[ev] : NULL;
}

uint64_t
hs_conf_name_id(const char *name)
{
	uint64_t id = XXH3_64bits(name, strlen(name));

	return id != 0 ? id : 1;
}

int
hs_conf_addr_parse(const char *s, uint8_t ip[4], uint16_t *port)
{
	uint8_t a[4];
	uint16_t p;

	if (addr_port_parse(s, a, &p) != NULL)
		return -EINVAL;
	memcpy(ip, a, 4);
	*port = p;
	return 0;
}

static bool
key_same(const struct hs_conf *a, const struct hs_conf *b,
	 const struct conf_key *k)
{
	unsigned i;

	switch (k->kind) {
	case KIND_STR:
	case KIND_TCP:
		return strncmp(field_const(a, k), field_const(b, k),
			       k->size) == 0;
	case KIND_SEEDS:
		return a->gossip.n_seeds == b->gossip.n_seeds &&
		       memcmp(a->gossip.seeds, b->gossip.seeds,
			      a->gossip.n_seeds * sizeof(a->gossip.seeds[0])) ==
		       0;
	case KIND_EAL:
		if (a->dpdk.n_eal != b->dpdk.n_eal)
			return false;
		for (i = 0; i < a->dpdk.n_eal; i++)
			if (strcmp(a->dpdk.eal[i], b->dpdk.eal[i]) != 0)
				return false;
		return true;
	case KIND_CPUS:
		return a->workers.n_cpus == b->workers.n_cpus &&
		       memcmp(a->workers.cpus, b->workers.cpus,
			      a->workers.n_cpus * sizeof(int)) == 0;
	case KIND_KEYS:
		return a->security.n_keys == b->security.n_keys &&
		       memcmp(a->security.keys, b->security.keys,
			      sizeof(a->security.keys)) == 0;
	case KIND_BOOL:
		return *(const bool *)field_const(a, k) ==
		       *(const bool *)field_const(b, k);
	default:
		/* numbers and the address: the same bits */
		return memcmp(field_const(a, k), field_const(b, k),
			      k->size) == 0;
	}
}

static bool
hooks_same(const struct hs_conf *a, const struct hs_conf *b)
{
	const struct hs_conf_hook *x, *y;
	unsigned i;

	if (a->n_hooks != b->n_hooks)
		return false;
	for (i = 0; i < a->n_hooks; i++) {
		x = &a->hooks[i];
		y = &b->hooks[i];
		if (x->events != y->events || x->timeout_ms != y->timeout_ms ||
		    strncmp(x->exec, y->exec, sizeof(x->exec)) != 0 ||
		    strncmp(x->prefix, y->prefix, sizeof(x->prefix)) != 0)
			return false;
	}
	return true;
}

static void
diff_add(char *buf, size_t cap, unsigned n, const char *sect,
	 const char *name)
{
	size_t len;

	if (buf == NULL || cap == 0)
		return;
	len = strnlen(buf, cap);
	if (len < cap - 1)
		snprintf(buf + len, cap - len, "%s%s%s%s", n ? ", " : "", sect,
			 name ? "." : "", name ? name : "");
}

unsigned
hs_conf_diff(const struct hs_conf *a, const struct hs_conf *b,
	     bool restart_only, char *buf, size_t cap)
{
	unsigned i, n = 0;

	if (buf != NULL && cap > 0)
		buf[0] = '\0';
	for (i = 0; i < KEY_COUNT; i++) {
		if (restart_only && i == KEY_LOG_LEVEL)
			continue;
		if (!key_same(a, b, &keys[i]))
			diff_add(buf, cap, n++, keys[i].section, keys[i].name);
	}
	if (!restart_only && !hooks_same(a, b))
		diff_add(buf, cap, n++, "hooks", NULL);
	return n;
}
