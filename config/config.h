/*
 * hearsay configuration: hearsayd's configuration file, read with
 * libconfig, validated, with command-line overrides.
 *
 * The file is libconfig syntax (hyperrealm.github.io/libconfig): groups of
 * settings, lists, typed scalars, comments, @include.  libconfig was chosen
 * over INI/TOML/YAML parsers because it is a well-kept Debian library
 * (libconfig-dev) that keeps the source file and line of every setting,
 * which is what an error message naming file, line and key needs, and it
 * has typed values and lists (seeds, EAL arguments, hooks) without a
 * schema layer of our own.  config/hearsay.conf.example documents every
 * option with its default.
 *
 * Validation is strict: an unknown group or key, a value of the wrong type,
 * or one out of range is an error naming the file, the line and the full
 * key ("hearsay.conf:12: gossip.fanout: must be 1..16, not 40").  The
 * daemon exits non-zero on the first error, before touching the network.
 *
 * Overrides: hs_conf_set() takes "section.key=value" strings (hearsayd
 * -s/--set, and its convenience flags), applied after the file, checked by
 * the same rules; an error names "command line" and the key.
 *
 * Thread context: the control thread; no globals (two configs may coexist,
 * as they do on SIGHUP while the new one is checked).
 */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_CONF_SEEDS_MAX	64
#define HS_CONF_EAL_MAX		64
#define HS_CONF_CPUS_MAX	16	/* = HS_DRV_QUEUES_MAX */
#define HS_CONF_HOOKS_MAX	32
#define HS_CONF_AUTH_KEYS	8	/* = HS_AUTH_MAX_KEYS */
#define HS_CONF_STR_MAX		256
#define HS_CONF_PATH_MAX	512
#define HS_CONF_KEYS_MAX	48	/* private: keys of the sections */
#define HS_CONF_FILES_MAX	8	/* private: files remembered */

/* Events a hook runs on, a bit each (the names in the file). */
enum hs_conf_event {
	HS_CONF_EV_JOIN = 0,		/* "join" */
	HS_CONF_EV_ALIVE = 1,		/* "alive": back from suspect/dead */
	HS_CONF_EV_SUSPECT = 2,		/* "suspect" */
	HS_CONF_EV_DEAD = 3,		/* "dead" (alias "fail") */
	HS_CONF_EV_LEAVE = 4,		/* "leave" */
	HS_CONF_EV_CHANGE = 5,		/* "change": a key written anywhere */
	HS_CONF_EV_EVENT = 6,		/* "event": a broadcast event */
	HS_CONF_EV_COUNT = 7,
};

struct hs_conf_seed {
	uint8_t ip[4];
	uint16_t port;
};

struct hs_conf_hook {
	uint32_t events;		/* 1u << enum hs_conf_event */
	char exec[HS_CONF_PATH_MAX];	/* absolute path of an executable */
	char prefix[HS_CONF_STR_MAX];	/* change: only keys starting so */
	uint32_t timeout_ms;		/* killed after; default 10000,
					 * 0: no limit */
};

struct hs_conf {
	struct {
		char name[HS_CONF_STR_MAX];	/* default: the host name */
		uint64_t id;			/* 0: derived from the name */
		char rack[65];			/* "": none */
		uint32_t cluster;		/* default 1 */
		uint64_t generation;		/* 0: wall-clock milliseconds at
						 * start (grows per restart) */
	} node;
	struct {
		char driver[16];		/* udp | afpacket | dpdk */
		uint8_t address[4];		/* default 127.0.0.1 */
		uint16_t port;			/* default 7946 */
		char interface[64];		/* afpacket: required */
		uint16_t source_ports;		/* L2 drivers; default 16 */
		uint16_t frame_bytes;		/* default 1472, max 8972 */
		bool udp_checksum;		/* L2 drivers; default true */
		double loss;			/* chaos tests: received frames
						 * dropped on purpose, 0..0.9 */
	} network;
	struct {
		char device[HS_CONF_STR_MAX];	/* dpdk: the port's name */
		char *eal[HS_CONF_EAL_MAX];	/* EAL arguments, owned */
		unsigned n_eal;
	} dpdk;
	struct {
		struct hs_conf_seed seeds[HS_CONF_SEEDS_MAX];
		unsigned n_seeds;
		uint32_t interval_ms;		/* default 10 */
		uint32_t fanout;		/* default 3 */
		bool push_now;			/* default true */
		uint32_t push_now_per_s;	/* default 500 */
		char syn[8];			/* auto (default) | summary |
						 * digests */
	} gossip;
	struct {
		char detector[8];		/* swim (default) | phi */
		uint32_t probe_timeout_ms;	/* 0: two intervals */
		uint32_t suspect_mult;		/* default 8 */
		double phi_threshold;		/* default 8.0 */
		uint32_t forget_s;		/* default 3600 */
	} failure;
	struct {
		uint32_t max_members;		/* default 4096 */
		uint32_t max_keys_per_node;	/* default 1024 */
		uint32_t max_key_bytes;		/* default 128, max 255 */
		uint32_t max_value_bytes;	/* default 1024, max 8192 */
		uint32_t tombstone_ttl_s;	/* default 60 */
		uint32_t event_retention;	/* default 64 */
		uint32_t peer_frames_per_s;	/* per sender and worker;
						 * default 20000, 0: none */
	} limits;
	struct {
		uint32_t count;			/* queues and workers; 1 */
		int cpus[HS_CONF_CPUS_MAX];	/* pin worker i to cpus[i] */
		unsigned n_cpus;		/* 0: not pinned */
		char poll[16];			/* busy | adaptive (default) */
		uint32_t spin_us;		/* adaptive: poll this long after
						 * work before sleeping; 20 */
	} workers;
	struct {
		char socket[HS_CONF_PATH_MAX];	/* default
						 * /run/hearsay/hearsayd.sock;
						 * "": no Unix socket */
		char tcp[64];			/* "": none (default);
						 * "127.0.0.1:7947" */
	} api;
	struct {
		char level[16];			/* err|warning|notice|info|debug */
	} log;
	struct {
		/* cluster keys, 64 hex digits or 44 base64 characters of 32
		 * bytes each; the first seals, every one opens */
		char keys[HS_CONF_AUTH_KEYS][65];
		unsigned n_keys;
		bool plaintext;			/* no keys: frames in clear;
						 * must be asked for */
		char cipher[24];		/* aes256gcm (default) |
						 * xchacha20poly1305 */
	} security;
	struct hs_conf_hook hooks[HS_CONF_HOOKS_MAX];
	unsigned n_hooks;

	/* Private to config.c (leave alone): where each key's value came
	 * from, so that hs_conf_check names the line that set what it
	 * refuses.  src_key[k].file: 0 the default, 1 the command line,
	 * 2 + i src_files[i]. */
	struct {
		uint16_t file;
		uint32_t line;
	} src_key[HS_CONF_KEYS_MAX];
	char src_files[HS_CONF_FILES_MAX][HS_CONF_PATH_MAX];
	unsigned n_src_files;
};

/* Where the first error was: file ("command line" for overrides), line
 * (0 when unknown), the full key ("gossip.fanout", "hooks.[1].exec"), and
 * msg, already formatted as "FILE:LINE: KEY: what". */
struct hs_conf_error {
	char file[HS_CONF_PATH_MAX];
	int line;
	char key[128];
	char msg[1024];
};

/* Fill c with every default (what an empty file gives). */
void hs_conf_default(struct hs_conf *c);

/*
 * Read path into c (which hs_conf_default filled), checking every key.
 * Returns 0, or -EINVAL (a syntax error, an unknown key, a bad value:
 * e says where), -ENOENT/-EACCES (the file cannot be read: e says so).
 * On error c may hold part of the file: hs_conf_free it.
 */
int hs_conf_load(struct hs_conf *c, const char *path,
		 struct hs_conf_error *e);

/* Apply one "section.key=value" override (lists: comma-separated, e.g.
 * "gossip.seeds=10.0.0.1:7946,10.0.0.2:7946"; "dpdk.eal" splits on
 * spaces).  Returns 0 or -EINVAL with e filled. */
int hs_conf_set(struct hs_conf *c, const char *assignment,
		struct hs_conf_error *e);

/* Checks across keys (afpacket needs an interface, dpdk a device, cpus no
 * longer than count, ...), run after the file and the overrides.
 * Returns 0 or -EINVAL with e filled (the key's line when known). */
int hs_conf_check(const struct hs_conf *c, struct hs_conf_error *e);

/* Free what c owns (EAL strings). */
void hs_conf_free(struct hs_conf *c);

/* "join" -> HS_CONF_EV_JOIN ("fail" too gives DEAD); -1 if unknown. */
int hs_conf_event_parse(const char *name);
const char *hs_conf_event_name(enum hs_conf_event ev);

/* The node id derived from a name when node.id is 0: a 64-bit hash,
 * never 0. */
uint64_t hs_conf_name_id(const char *name);

/* Parse "A.B.C.D:PORT" (a unicast IPv4 address, port 1..65535), the form
 * of gossip.seeds and api.tcp.  Returns 0 or -EINVAL. */
int hs_conf_addr_parse(const char *s, uint8_t ip[4], uint16_t *port);

/*
 * The keys whose values differ between a and b, as "gossip.fanout,
 * log.level" in buf (cut to cap bytes, NUL-terminated; buf may be NULL
 * with cap 0); every hook change counts as one key, "hooks".  With
 * restart_only, log.level and hooks (what SIGHUP applies) are left out.
 * Returns how many keys differ.
 */
unsigned hs_conf_diff(const struct hs_conf *a, const struct hs_conf *b,
		      bool restart_only, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* HS_CONFIG_H */
