/*
 * config/config.h: hearsayd's configuration.  The defaults; the example
 * file loads and equals them; a file setting every key gives every value;
 * each kind of bad input is refused with -EINVAL and the exact file, line,
 * key and message; overrides apply with the same checks; hs_conf_check
 * names the line of the key that asks for what is missing, the command
 * line included; @include works and an error in an included file names
 * that file.  Fixtures are in tests/config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/socket.h"
#include "tests/hs_test.h"

#ifndef HS_TEST_CONFIG_DIR
#error "HS_TEST_CONFIG_DIR: the fixtures' directory (tests/meson.build)"
#endif
#ifndef HS_SOURCE_ROOT
#error "HS_SOURCE_ROOT: the source tree (tests/meson.build)"
#endif

#define DIR		HS_TEST_CONFIG_DIR
#define EXAMPLE		HS_SOURCE_ROOT "/config/hearsay.conf.example"

/* struct hs_conf is about 40 KiB: one per test, off the stack. */
struct fixture {
	struct hs_conf c;
	struct hs_conf ref;
	struct hs_conf_error e;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	hs_conf_default(&f->c);
	hs_conf_default(&f->ref);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hs_conf_free(&f->c);
	hs_conf_free(&f->ref);
	free(f);
	return 0;
}

static void
path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", DIR, name);
}

/* e says exactly file:line: key: what. */
static void
assert_error(const struct hs_conf_error *e, const char *file, int line,
	     const char *key, const char *what)
{
	char msg[2048];

	assert_string_equal(e->file, file);
	assert_int_equal(e->line, line);
	assert_string_equal(e->key, key);
	if (line > 0)
		snprintf(msg, sizeof(msg), "%s:%d: %s%s%s", file, line, key,
			 key[0] ? ": " : "", what);
	else
		snprintf(msg, sizeof(msg), "%s: %s%s%s", file, key,
			 key[0] ? ": " : "", what);
	assert_string_equal(e->msg, msg);
}

/* Loading fixture name fails with -EINVAL at line and key. */
static void
load_fails(struct fixture *f, const char *name, int line, const char *key,
	   const char *what)
{
	char path[512];

	path_of(path, sizeof(path), name);
	assert_int_equal(hs_conf_load(&f->c, path, &f->e), -EINVAL);
	assert_error(&f->e, path, line, key, what);
}

/* Fixture name loads, and hs_conf_check refuses it at line and key. */
static void
check_fails(struct fixture *f, const char *name, int line, const char *key,
	    const char *what)
{
	char path[512];

	path_of(path, sizeof(path), name);
	assert_int_equal(hs_conf_load(&f->c, path, &f->e), 0);
	assert_int_equal(hs_conf_check(&f->c, &f->e), -EINVAL);
	assert_error(&f->e, path, line, key, what);
}

static void
test_defaults(void **state)
{
	struct fixture *f = *state;
	const struct hs_conf *c = &f->c;
	char host[256] = "";

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	assert_string_equal(c->node.name, host);
	assert_int_equal(c->node.id, 0);
	assert_string_equal(c->node.rack, "");
	assert_int_equal(c->node.cluster, 1);
	assert_int_equal(c->node.generation, 0);
	assert_string_equal(c->network.driver, "udp");
	assert_memory_equal(c->network.address, ((uint8_t[]){ 127, 0, 0, 1 }),
			    4);
	assert_int_equal(c->network.port, 7946);
	assert_string_equal(c->network.interface, "");
	assert_int_equal(c->network.source_ports, 16);
	assert_int_equal(c->network.frame_bytes, 1472);
	assert_true(c->network.udp_checksum);
	assert_string_equal(c->dpdk.device, "");
	assert_int_equal(c->dpdk.n_eal, 0);
	assert_int_equal(c->gossip.n_seeds, 0);
	assert_int_equal(c->gossip.interval_ms, 10);
	assert_int_equal(c->gossip.fanout, 3);
	assert_true(c->gossip.push_now);
	assert_int_equal(c->gossip.push_now_per_s, 500);
	assert_string_equal(c->gossip.syn, "auto");
	assert_string_equal(c->failure.detector, "swim");
	assert_int_equal(c->failure.probe_timeout_ms, 0);
	assert_int_equal(c->failure.suspect_mult, 8);
	assert_true(c->failure.phi_threshold == 8.0);
	assert_int_equal(c->failure.forget_s, 3600);
	assert_int_equal(c->limits.max_members, 4096);
	assert_int_equal(c->limits.max_keys_per_node, 1024);
	assert_int_equal(c->limits.max_key_bytes, 128);
	assert_int_equal(c->limits.max_value_bytes, 1024);
	assert_int_equal(c->limits.tombstone_ttl_s, 60);
	assert_int_equal(c->limits.event_retention, 64);
	assert_int_equal(c->limits.peer_frames_per_s, 20000);
	assert_int_equal(c->workers.count, 1);
	assert_int_equal(c->workers.n_cpus, 0);
	assert_string_equal(c->workers.poll, "adaptive");
	{
		char want[sizeof(c->api.socket)];

		hs_default_socket(want, sizeof(want));
		assert_string_equal(c->api.socket, want);
	}
	assert_string_equal(c->api.tcp, "");
	assert_string_equal(c->log.level, "notice");
	assert_int_equal(c->n_hooks, 0);
	assert_int_equal(c->security.n_keys, 0);
	assert_false(c->security.plaintext);
	assert_string_equal(c->security.cipher, "aes256gcm");
	/* no keys, and plaintext not asked for: refused until one is set */
	assert_int_equal(hs_conf_check(c, &f->e), -EINVAL);
	assert_string_equal(f->e.key, "security.keys");
	assert_non_null(strstr(f->e.msg, "security.keys: no keys: every frame "
			       "is sealed with a cluster key (make one with "
			       "'hearsay keygen'); to gossip in clear instead, "
			       "set security.plaintext = true"));
	assert_int_equal(hs_conf_set(&f->c, "security.plaintext=true", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), 0);
	/* not both */
	assert_int_equal(hs_conf_set(&f->c, "security.keys=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
				     &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), -EINVAL);
	assert_error(&f->e, "command line", 0, "security.plaintext",
		     "true, but security.keys has 1: either keys or plaintext");
	assert_int_equal(hs_conf_set(&f->c, "security.plaintext=false", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), 0);
	/* a key that is not one, never echoed back */
	assert_int_equal(hs_conf_set(&f->c, "security.keys=secret-but-short",
				     &f->e), -EINVAL);
	assert_error(&f->e, "command line", 0, "security.keys", "key 1: not "
		     "64 hex digits or 44 characters of base64 (32 bytes; "
		     "'hearsay keygen' makes one)");
	assert_null(strstr(f->e.msg, "secret"));
}

/* The example states defaults: it loads cleanly and changes nothing. */
static void
test_example_is_defaults(void **state)
{
	struct fixture *f = *state;
	char diff[512];

	assert_int_equal(hs_conf_load(&f->c, EXAMPLE, &f->e), 0);
	/* as the defaults, it asks for keys or plaintext */
	assert_int_equal(hs_conf_check(&f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.key, "security.keys");
	if (hs_conf_diff(&f->c, &f->ref, false, diff, sizeof(diff)) != 0)
		fail_msg("the example differs from the defaults in: %s", diff);
	/* byte for byte too (hearsayd's reload compares sections so) */
	assert_memory_equal(&f->c, &f->ref, offsetof(struct hs_conf, src_key));
}

static void
test_every_key(void **state)
{
	struct fixture *f = *state;
	const struct hs_conf *c = &f->c;
	char path[512];

	path_of(path, sizeof(path), "good.conf");
	assert_int_equal(hs_conf_load(&f->c, path, &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), 0);
	assert_string_equal(c->node.name, "node-a");
	assert_true(c->node.id == 12345678901ull);
	assert_string_equal(c->node.rack, "r1");
	assert_true(c->node.cluster == 0xFFFFFFFFu);
	assert_int_equal(c->node.generation, 7);
	assert_string_equal(c->network.driver, "afpacket");
	assert_memory_equal(c->network.address, ((uint8_t[]){ 10, 1, 2, 3 }),
			    4);
	assert_int_equal(c->network.port, 8000);
	assert_string_equal(c->network.interface, "veth0");
	assert_int_equal(c->security.n_keys, 2);
	assert_string_equal(c->security.cipher, "xchacha20poly1305");
	assert_string_equal(c->security.keys[1],
			    "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
	assert_false(c->security.plaintext);
	assert_int_equal(c->network.source_ports, 4);
	assert_int_equal(c->network.frame_bytes, 8972);
	assert_false(c->network.udp_checksum);
	assert_string_equal(c->dpdk.device, "net_af_packet0,iface=veth0");
	assert_int_equal(c->dpdk.n_eal, 3);
	assert_string_equal(c->dpdk.eal[0], "-l");
	assert_string_equal(c->dpdk.eal[1], "0-1");
	assert_string_equal(c->dpdk.eal[2], "--in-memory");
	assert_int_equal(c->gossip.n_seeds, 2);
	assert_memory_equal(c->gossip.seeds[0].ip,
			    ((uint8_t[]){ 10, 1, 2, 4 }), 4);
	assert_int_equal(c->gossip.seeds[0].port, 8000);
	assert_memory_equal(c->gossip.seeds[1].ip,
			    ((uint8_t[]){ 10, 1, 2, 5 }), 4);
	assert_int_equal(c->gossip.seeds[1].port, 8001);
	assert_int_equal(c->gossip.interval_ms, 20);
	assert_int_equal(c->gossip.fanout, 4);
	assert_false(c->gossip.push_now);
	assert_int_equal(c->gossip.push_now_per_s, 100);
	assert_string_equal(c->failure.detector, "phi");
	assert_int_equal(c->failure.probe_timeout_ms, 50);
	assert_int_equal(c->failure.suspect_mult, 5);
	assert_true(c->failure.phi_threshold == 10.0);
	assert_int_equal(c->failure.forget_s, 600);
	assert_int_equal(c->limits.max_members, 100);
	assert_int_equal(c->limits.max_keys_per_node, 200);
	assert_int_equal(c->limits.max_key_bytes, 64);
	assert_int_equal(c->limits.max_value_bytes, 8192);
	assert_int_equal(c->limits.tombstone_ttl_s, 30);
	assert_int_equal(c->limits.event_retention, 16);
	assert_int_equal(c->limits.peer_frames_per_s, 5000);
	assert_int_equal(c->workers.count, 2);
	assert_int_equal(c->workers.n_cpus, 2);
	assert_int_equal(c->workers.cpus[0], 2);
	assert_int_equal(c->workers.cpus[1], 3);
	assert_string_equal(c->workers.poll, "busy");
	assert_string_equal(c->api.socket, "");
	assert_string_equal(c->api.tcp, "127.0.0.2:7947");
	assert_string_equal(c->log.level, "debug");
	assert_int_equal(c->n_hooks, 2);
	assert_int_equal(c->hooks[0].events, (1u << HS_CONF_EV_JOIN) |
					     (1u << HS_CONF_EV_DEAD));
	assert_string_equal(c->hooks[0].exec, "/bin/sh");
	assert_string_equal(c->hooks[0].prefix, "");
	assert_int_equal(c->hooks[0].timeout_ms, 10000);
	assert_int_equal(c->hooks[1].events, 1u << HS_CONF_EV_CHANGE);
	assert_string_equal(c->hooks[1].prefix, "lb.");
	assert_int_equal(c->hooks[1].timeout_ms, 0);
}

static void
test_syntax_error(void **state)
{
	load_fails(*state, "syntax.conf", 3, "", "syntax error");
}

static void
test_unknown_key(void **state)
{
	load_fails(*state, "unknown_key.conf", 4, "gossip.fanotu",
		   "unknown key (known: seeds, interval_ms, fanout, push_now, "
		   "push_now_per_s, syn)");
}

static void
test_unknown_section(void **state)
{
	load_fails(*state, "unknown_section.conf", 3, "gosip",
		   "unknown section (known: node, network, dpdk, gossip, "
		   "failure, limits, workers, api, log, security, hooks)");
}

static void
test_wrong_type(void **state)
{
	load_fails(*state, "wrong_type.conf", 3, "gossip.fanout",
		   "must be an integer, not a string");
}

static void
test_out_of_range(void **state)
{
	load_fails(*state, "range.conf", 4, "gossip.fanout",
		   "must be 1..16, not 40");
}

static void
test_big_int_without_suffix(void **state)
{
	load_fails(*state, "big_int.conf", 3, "node.id",
		   "12345678901 does not fit in 32 bits: write 12345678901L "
		   "(libconfig 1.5 misreads it otherwise)");
}

static void
test_bad_address(void **state)
{
	load_fails(*state, "bad_address.conf", 4, "network.address",
		   "'10.0.0.300': not an IPv4 address A.B.C.D");
}

static void
test_bad_seed(void **state)
{
	load_fails(*state, "bad_seed.conf", 4, "gossip.seeds.[1]",
		   "'10.0.0.2': not A.B.C.D:PORT");
}

static void
test_bad_hook_event(void **state)
{
	load_fails(*state, "bad_event.conf", 5, "hooks.[0].events.[1]",
		   "unknown event 'jion' (known: join, alive, suspect, dead, "
		   "fail, leave, change, event)");
}

static void
test_relative_hook(void **state)
{
	load_fails(*state, "relative_hook.conf", 4, "hooks.[1].exec",
		   "must be an absolute path, not 'bin/hook'");
}

static void
test_hook_not_executable(void **state)
{
	load_fails(*state, "hook_not_exec.conf", 4, "hooks.[0].exec",
		   "'/etc/passwd' is not executable");
}

static void
test_hook_prefix_without_change(void **state)
{
	load_fails(*state, "hook_prefix.conf", 3, "hooks.[0].prefix",
		   "applies to the change event only, and this hook does not "
		   "run on it");
}

static void
test_api_tcp_not_loopback(void **state)
{
	load_fails(*state, "api_tcp.conf", 4, "api.tcp",
		   "must be \"\" or a loopback address 127.x.x.x:PORT, not "
		   "'0.0.0.0:7947' (not a unicast address)");
}

static void
test_afpacket_without_interface(void **state)
{
	check_fails(*state, "afpacket_noif.conf", 3, "network.interface",
		    "needed by driver afpacket (the interface to send and "
		    "receive on)");
}

static void
test_cpus_longer_than_count(void **state)
{
	check_fails(*state, "cpus_count.conf", 4, "workers.cpus",
		    "3 cpus for 2 workers (workers.count): one cpu per worker");
}

static void
test_unreadable(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/hs_test_config_XXXXXX";
	int fd;

	assert_int_equal(hs_conf_load(&f->c, DIR "/nonexistent.conf", &f->e),
			 -ENOENT);
	assert_error(&f->e, DIR "/nonexistent.conf", 0, "",
		     "No such file or directory");
	assert_int_equal(hs_conf_load(&f->c, DIR, &f->e), -EISDIR);
	assert_string_equal(f->e.file, DIR);
	if (geteuid() == 0) {
		/* root reads a mode-0 file: -EACCES cannot happen */
		printf("config: -EACCES not tested (running as root)\n");
		return;
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(hs_conf_load(&f->c, path, &f->e), -EACCES);
	assert_error(&f->e, path, 0, "", "Permission denied");
	unlink(path);
}

static void
test_include(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hs_conf_load(&f->c, DIR "/include_main.conf", &f->e),
			 0);
	assert_string_equal(f->c.node.name, "inc");
	assert_int_equal(f->c.gossip.fanout, 7);	/* from the part */
	assert_string_equal(f->c.log.level, "info");
}

static void
test_include_error_names_included_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hs_conf_load(&f->c, DIR "/include_bad_main.conf",
				      &f->e), -EINVAL);
	assert_error(&f->e, DIR "/include_bad_part.conf", 4, "gossip.fanout",
		     "must be 1..16, not 99");
}

/* libconfig 1.5 would exit(2) on an included directory ("" is the
 * include directory itself): refused first. */
static void
test_include_directory(void **state)
{
	load_fails(*state, "include_empty.conf", 3, "",
		   "@include \"\": " DIR "/ is a directory (@include takes "
		   "files only)");
}

static void
test_include_missing(void **state)
{
	load_fails(*state, "include_missing.conf", 2, "",
		   "syntax error: cannot open include file (relative to " DIR
		   ")");
}

/* Overrides: applied, and refused with the file's rules. */
static void
test_overrides(void **state)
{
	struct fixture *f = *state;
	struct hs_conf *c = &f->c;
	struct hs_conf_error *e = &f->e;

	assert_int_equal(hs_conf_set(c, "security.plaintext=true", e), 0);
	assert_int_equal(hs_conf_set(c, "gossip.fanout=5", e), 0);
	assert_int_equal(c->gossip.fanout, 5);
	assert_int_equal(hs_conf_set(c, "  gossip.fanout = 6 ", e), 0);
	assert_int_equal(c->gossip.fanout, 6);
	assert_int_equal(hs_conf_set(c, "node.id=18446744073709551615", e), 0);
	assert_true(c->node.id == UINT64_MAX);
	assert_int_equal(hs_conf_set(c, "node.id=0x10", e), 0);
	assert_int_equal(c->node.id, 16);
	assert_int_equal(hs_conf_set(c, "node.rack=r2", e), 0);
	assert_string_equal(c->node.rack, "r2");
	assert_int_equal(hs_conf_set(c, "gossip.push_now=false", e), 0);
	assert_false(c->gossip.push_now);
	assert_int_equal(hs_conf_set(c, "gossip.syn=digests", e), 0);
	assert_string_equal(c->gossip.syn, "digests");
	assert_int_equal(hs_conf_set(c, "failure.phi_threshold=9.5", e), 0);
	assert_true(c->failure.phi_threshold == 9.5);
	assert_int_equal(hs_conf_set(c, "network.address=10.0.0.9", e), 0);
	assert_memory_equal(c->network.address, ((uint8_t[]){ 10, 0, 0, 9 }),
			    4);
	assert_int_equal(hs_conf_set(c, "gossip.seeds=10.0.0.1:7946, "
				     "10.0.0.2:7947", e), 0);
	assert_int_equal(c->gossip.n_seeds, 2);
	assert_int_equal(c->gossip.seeds[1].port, 7947);
	assert_memory_equal(c->gossip.seeds[1].ip,
			    ((uint8_t[]){ 10, 0, 0, 2 }), 4);
	assert_int_equal(hs_conf_set(c, "gossip.seeds=", e), 0);
	assert_int_equal(c->gossip.n_seeds, 0);
	assert_int_equal(hs_conf_set(c, "dpdk.eal=-l 0-1  --in-memory", e), 0);
	assert_int_equal(c->dpdk.n_eal, 3);
	assert_string_equal(c->dpdk.eal[1], "0-1");
	assert_string_equal(c->dpdk.eal[2], "--in-memory");
	assert_int_equal(hs_conf_set(c, "workers.count=2", e), 0);
	assert_int_equal(hs_conf_set(c, "workers.cpus=4,5", e), 0);
	assert_int_equal(c->workers.n_cpus, 2);
	assert_int_equal(c->workers.cpus[1], 5);
	assert_int_equal(hs_conf_set(c, "api.tcp=127.0.0.1:7947", e), 0);
	assert_string_equal(c->api.tcp, "127.0.0.1:7947");
	assert_int_equal(hs_conf_set(c, "log.level=debug", e), 0);
	assert_int_equal(hs_conf_check(c, e), 0);
}

static void
set_fails(struct fixture *f, const char *a, const char *key,
	  const char *what)
{
	assert_int_equal(hs_conf_set(&f->c, a, &f->e), -EINVAL);
	assert_error(&f->e, "command line", 0, key, what);
}

static void
test_overrides_refused(void **state)
{
	struct fixture *f = *state;

	set_fails(f, "gossip.fanout=40", "gossip.fanout",
		  "must be 1..16, not 40");
	assert_int_equal(f->c.gossip.fanout, 3);	/* unchanged */
	assert_string_equal(f->e.msg,
			    "command line: gossip.fanout: must be 1..16, not 40");
	set_fails(f, "gossip.syn=hashes", "gossip.syn",
		  "must be one of auto, summary, digests, not 'hashes'");
	set_fails(f, "gossip.fanout=3x", "gossip.fanout",
		  "must be an integer, not '3x'");
	set_fails(f, "gossip.fanout=", "gossip.fanout",
		  "must be an integer, not ''");
	set_fails(f, "node.id=-1", "node.id",
		  "must be 0..18446744073709551615, not -1");
	set_fails(f, "gossip.fanotu=3", "gossip.fanotu",
		  "unknown key (known: seeds, interval_ms, fanout, push_now, "
		  "push_now_per_s, syn)");
	set_fails(f, "gosip.fanout=3", "gosip.fanout",
		  "unknown section (known: node, network, dpdk, gossip, "
		  "failure, limits, workers, api, log, security)");
	set_fails(f, "fanout", "", "expected section.key=value, not 'fanout'");
	set_fails(f, "fanout=3", "fanout",
		  "expected section.key=value, not 'fanout=3'");
	set_fails(f, "hooks.exec=/bin/sh", "hooks.exec",
		  "hooks are set in the file only");
	set_fails(f, "log.level=loud", "log.level",
		  "must be one of err, warning, notice, info, debug, not 'loud'");
	set_fails(f, "gossip.push_now=maybe", "gossip.push_now",
		  "must be true or false, not 'maybe'");
	set_fails(f, "failure.phi_threshold=0.5", "failure.phi_threshold",
		  "must be 1..100, not 0.5");
	set_fails(f, "network.address=224.0.0.1", "network.address",
		  "'224.0.0.1': not a unicast address");
	set_fails(f, "gossip.seeds=10.0.0.1:7946,", "gossip.seeds",
		  "an empty element in '10.0.0.1:7946,'");
	set_fails(f, "gossip.seeds=10.0.0.1:0", "gossip.seeds",
		  "'10.0.0.1:0': port must be 1..65535");
	set_fails(f, "api.tcp=10.0.0.1:7947", "api.tcp",
		  "must be \"\" or a loopback address 127.x.x.x:PORT, not "
		  "'10.0.0.1:7947' (not a loopback address)");
	set_fails(f, "network.interface=a-very-long-interface-name",
		  "network.interface",
		  "too long: 26 bytes, at most 15 (IFNAMSIZ)");
	set_fails(f, "workers.count=17", "workers.count",
		  "must be 1..16, not 17");
	set_fails(f, "workers.cpus=0,1024", "workers.cpus",
		  "must be 0..1023, not 1024");
	set_fails(f, "node.name=", "node.name", "must not be empty");
}

/* hs_conf_check names where the value that asks came from: the command
 * line, or the file's line even when an override made it wrong. */
static void
test_check_after_overrides(void **state)
{
	struct fixture *f = *state;
	struct hs_conf *c = &f->c;
	char path[512];

	assert_int_equal(hs_conf_set(c, "security.plaintext=true", &f->e), 0);
	assert_int_equal(hs_conf_set(c, "network.driver=afpacket", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), -EINVAL);
	assert_error(&f->e, "command line", 0, "network.interface",
		     "needed by driver afpacket (the interface to send and "
		     "receive on)");
	assert_int_equal(hs_conf_set(c, "network.interface=eth0", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), 0);
	assert_int_equal(hs_conf_set(c, "network.driver=dpdk", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), -EINVAL);
	assert_string_equal(f->e.key, "dpdk.device");

	/* good.conf pins 2 workers on line 47; one worker is too few */
	hs_conf_free(c);
	hs_conf_default(c);
	path_of(path, sizeof(path), "good.conf");
	assert_int_equal(hs_conf_load(c, path, &f->e), 0);
	assert_int_equal(hs_conf_set(c, "workers.count=1", &f->e), 0);
	assert_int_equal(hs_conf_check(c, &f->e), -EINVAL);
	assert_error(&f->e, path, 47, "workers.cpus",
		     "2 cpus for 1 workers (workers.count): one cpu per worker");
}

static void
test_diff(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	assert_int_equal(hs_conf_diff(&f->c, &f->ref, false, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "");
	assert_int_equal(hs_conf_set(&f->c, "gossip.fanout=4", &f->e), 0);
	assert_int_equal(hs_conf_set(&f->c, "log.level=info", &f->e), 0);
	assert_int_equal(hs_conf_set(&f->c, "dpdk.eal=--in-memory", &f->e), 0);
	assert_int_equal(hs_conf_diff(&f->c, &f->ref, false, buf, sizeof(buf)),
			 3);
	assert_string_equal(buf, "dpdk.eal, gossip.fanout, log.level");
	assert_int_equal(hs_conf_diff(&f->c, &f->ref, true, buf, sizeof(buf)),
			 2);
	assert_string_equal(buf, "dpdk.eal, gossip.fanout");
	f->ref.n_hooks = 1;
	f->ref.hooks[0].events = 1;
	strcpy(f->ref.hooks[0].exec, "/bin/sh");
	assert_int_equal(hs_conf_diff(&f->c, &f->ref, false, buf, 8), 4);
	assert_string_equal(buf, "dpdk.ea");	/* cut, terminated */
	assert_int_equal(hs_conf_diff(&f->c, &f->ref, true, NULL, 0), 2);
}

static void
test_events_and_ids(void **state)
{
	int ev;

	(void)state;
	for (ev = 0; ev < HS_CONF_EV_COUNT; ev++)
		assert_int_equal(hs_conf_event_parse(
					 hs_conf_event_name((enum hs_conf_event)ev)),
				 ev);
	assert_int_equal(hs_conf_event_parse("fail"), HS_CONF_EV_DEAD);
	assert_int_equal(hs_conf_event_parse("Join"), -1);
	assert_int_equal(hs_conf_event_parse(""), -1);
	assert_null(hs_conf_event_name(HS_CONF_EV_COUNT));
	assert_true(hs_conf_name_id("web-17") != 0);
	assert_true(hs_conf_name_id("") != 0);
	assert_true(hs_conf_name_id("web-17") == hs_conf_name_id("web-17"));
	assert_true(hs_conf_name_id("web-17") != hs_conf_name_id("web-18"));
}

static void
test_addr_parse(void **state)
{
	uint8_t ip[4];
	uint16_t port;

	(void)state;
	assert_int_equal(hs_conf_addr_parse("10.0.0.1:7946", ip, &port), 0);
	assert_memory_equal(ip, ((uint8_t[]){ 10, 0, 0, 1 }), 4);
	assert_int_equal(port, 7946);
	assert_int_equal(hs_conf_addr_parse("10.0.0.1", ip, &port), -EINVAL);
	assert_int_equal(hs_conf_addr_parse("10.0.0.1:", ip, &port), -EINVAL);
	assert_int_equal(hs_conf_addr_parse("10.0.0.1:65536", ip, &port),
			 -EINVAL);
	assert_int_equal(hs_conf_addr_parse("10.0.0.1:+1", ip, &port), -EINVAL);
	assert_int_equal(hs_conf_addr_parse("10.0.1:7946", ip, &port), -EINVAL);
	assert_int_equal(hs_conf_addr_parse("0.0.0.0:7946", ip, &port),
			 -EINVAL);
	assert_int_equal(hs_conf_addr_parse("255.255.255.255:7946", ip, &port),
			 -EINVAL);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_example_is_defaults),
		T(test_every_key),
		T(test_syntax_error),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_wrong_type),
		T(test_out_of_range),
		T(test_big_int_without_suffix),
		T(test_bad_address),
		T(test_bad_seed),
		T(test_bad_hook_event),
		T(test_relative_hook),
		T(test_hook_not_executable),
		T(test_hook_prefix_without_change),
		T(test_api_tcp_not_loopback),
		T(test_afpacket_without_interface),
		T(test_cpus_longer_than_count),
		T(test_unreadable),
		T(test_include),
		T(test_include_error_names_included_file),
		T(test_include_directory),
		T(test_include_missing),
		T(test_overrides),
		T(test_overrides_refused),
		T(test_check_after_overrides),
		T(test_diff),
		T(test_events_and_ids),
		T(test_addr_parse),
	};

	HS_TEST_FILTER();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
