/*
 * drivers/dpdk on real ethdev ports (suite "net": needs root, for the EAL
 * and for network namespaces).
 *
 * One EAL per process, so one executable: main starts it once, after
 * checking that a bad argument is refused and the call may be retried,
 * with --no-huge -m 512 --no-pci --file-prefix hs-test-<pid> and these
 * devices, and the cases share it:
 *
 *   ring_pair      two ports wired back to back in memory
 *                  (rte_eth_from_rings with crossed rings): ARP resolves,
 *                  datagrams go byte for byte both ways with the right
 *                  peers, malformed and foreign frames put on the wire are
 *                  counted by reason and never delivered, a full device
 *                  drops and counts, and every mbuf is back afterwards;
 *   open_errors    what hs_dpdk_port_open and hs_dpdk_queue refuse;
 *   multi_queue    a 2-queue port whose wire the test plays by hand: a
 *                  neighbour learned on queue 0 lets queue 1 send, a
 *                  request that lands on queue 1 is answered once, by
 *                  queue 1, and teaches queue 0; source ports spread per
 *                  destination; a full ARP ring drops and leaks nothing;
 *   rss            net_null (a virtual device that reports RSS): RSS on with
 *                  2 queues and the hash functions masked by what it
 *                  offers, off with 1;
 *   kernel         net_af_packet on a veth whose peer lives in another
 *                  network namespace with a plain kernel UDP socket: the
 *                  kernel resolves us through our ARP replies, its
 *                  datagrams reach us, ours reach it byte for byte (its
 *                  checksum offloads turned off, so that it checks every
 *                  checksum in software; a frame with a broken one is
 *                  refused, to prove it does), and we resolve it; 300
 *                  datagrams echoed leave no mbuf behind;
 *   kernel_queues  net_af_packet with qpairs=2 (the kernel's
 *                  PACKET_FANOUT_HASH spreads flows over the queues), one
 *                  worker thread per queue echoing 16 kernel flows;
 *   kernel_xdp     net_af_xdp (hot-plugged; skipped when XDP or libxdp
 *                  will not have it): the same exchange as "kernel";
 *   tap_offload    net_tap, which offers IPv4/UDP TX checksum offload:
 *                  the same exchange with the device computing checksums.
 *
 * Namespaces: main moves the process into a fresh network namespace
 * (unshare) before the EAL starts, and makes a second one for the kernel
 * side.  Both are anonymous and held only by this process, so the kernel
 * destroys them and their veths when it exits, however it exits: nothing
 * to clean up, no name a parallel run could collide with.  The EAL's
 * runtime directory is removed by hs_dpdk_fini (checked), by an atexit
 * handler on a failing path, and, for test processes that died, at the
 * start of the next run.
 *
 * Waits are for an outcome, polled against a deadline, never a fixed
 * sleep.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "drivers/dpdk.h"
#include "drivers/l2.h"
#include "engine/util.h"
#include "tests/hs_test.h"

#define SEC		1000000000ull
#define DEADLINE_NS	(20 * SEC)
#define RUN_DIR		"/var/run/dpdk"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

static char prefix[64];			/* hs-test-<pid> */
static int ns_dp = -1, ns_peer = -1;	/* ours, the kernel side's */
static const char *no_netns;		/* why the kernel cases skip */
static struct rte_mempool *inj;		/* frames the test puts on a wire */

/* LeakSanitizer: DPDK's own leaks are suppressed by drivers/dpdk.c
 * (__lsan_default_suppressions), for every program that links it. */

/* ---- runtime directory, namespaces, shell ---- */

static void
rm_dir(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(path);
}

static void
rm_own_run_dir(void)
{
	char path[128];

	snprintf(path, sizeof(path), RUN_DIR "/%s", prefix);
	rm_dir(path);
}

/* Runtime directories of test processes that died before cleaning up. */
static void
rm_stale_run_dirs(void)
{
	struct dirent *de;
	DIR *d = opendir(RUN_DIR);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[300];
		int pid;

		if (sscanf(de->d_name, "hs-test-%d", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), RUN_DIR "/%s", de->d_name);
		rm_dir(path);
	}
	closedir(d);
}

/* Run a shell command in the calling thread's network namespace. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "# command failed (%d): %s\n", rc, cmd);
	return rc;
}

static void
enter_ns(int ns)
{
	if (setns(ns, CLONE_NEWNET) != 0) {
		perror("setns");
		abort();
	}
}

/*
 * Two fresh network namespaces: the kernel side's, and ours (where the
 * process stays, so that the EAL and its PMDs find our interfaces), with
 * two veth pairs across them:
 *   hsdp0 (net_af_packet0)   <->  hsk0  10.77.0.1/24, 10.77.0.3/24
 *   hsdp1 (net_af_packet1)   <->  hsk1  10.78.0.1/24
 *   hsdp2 (net_af_xdp0)      <->  hsk2  10.76.0.1/24
 * On the kernel ends, checksum offloads off: transmit so that frames carry
 * full checksums (a veth hands partial ones to its peer), receive so that
 * the kernel checks ours in software (a veth otherwise marks frames from a
 * packet socket as already checked).
 */
static const char *
netns_setup(void)
{
	int pid = getpid();

	if (unshare(CLONE_NEWNET) != 0)
		return "unshare(CLONE_NEWNET) refused";
	ns_peer = open("/proc/thread-self/ns/net", O_RDONLY);
	if (ns_peer < 0 || sh("ip link set lo up") != 0)
		return "no kernel-side namespace";
	if (unshare(CLONE_NEWNET) != 0)
		return "unshare(CLONE_NEWNET) refused";
	ns_dp = open("/proc/thread-self/ns/net", O_RDONLY);
	if (ns_dp < 0 || sh("ip link set lo up") != 0)
		return "no namespace for the EAL";
	if (sh("ip link add hsdp0 type veth peer name hsk0 netns "
	       "/proc/%d/fd/%d", pid, ns_peer) != 0 ||
	    sh("ip link add hsdp1 type veth peer name hsk1 netns "
	       "/proc/%d/fd/%d", pid, ns_peer) != 0 ||
	    sh("ip link add hsdp2 type veth peer name hsk2 netns "
	       "/proc/%d/fd/%d", pid, ns_peer) != 0)
		return "no veth (kernel module veth)";
	if (sh("ip link set hsdp0 up && ip link set hsdp1 up && "
	       "ip link set hsdp2 up") != 0)
		return "veths refuse to come up";
	enter_ns(ns_peer);
	if (sh("ip addr add 10.77.0.1/24 dev hsk0 && "
	       "ip addr add 10.77.0.3/24 dev hsk0 && "
	       "ip addr add 10.78.0.1/24 dev hsk1 && "
	       "ip addr add 10.76.0.1/24 dev hsk2 && "
	       "ip link set hsk0 up && ip link set hsk1 up && "
	       "ip link set hsk2 up && "
	       "ethtool -K hsk0 tx off rx off >/dev/null && "
	       "ethtool -K hsk1 tx off rx off >/dev/null && "
	       "ethtool -K hsk2 tx off rx off >/dev/null") != 0) {
		enter_ns(ns_dp);
		return "cannot configure the kernel side (ip, ethtool)";
	}
	enter_ns(ns_dp);
	return NULL;
}

/* A non-blocking kernel UDP socket bound to ip:port in namespace ns. */
static int
ksock(int ns, const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd;

	enter_ns(ns);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	enter_ns(ns_dp);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
ksend(int fd, const char *ip, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa,
				sizeof(sa)), (ssize_t)len);
}

/* One datagram within timeout_ms, its length, or -1. */
static ssize_t
krecv(int fd, void *buf, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t sl = sizeof(*from);

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &sl);
}

/* A counter of /proc/net/snmp ("Udp", "InCsumErrors") in namespace ns. */
static long
snmp(int ns, const char *proto, const char *field)
{
	char names[1024], values[1024], want[16];
	long v = -1;
	FILE *f;

	enter_ns(ns);
	f = fopen("/proc/thread-self/net/snmp", "r");
	enter_ns(ns_dp);
	assert_non_null(f);
	snprintf(want, sizeof(want), "%s:", proto);
	while (fgets(names, sizeof(names), f) != NULL &&
	       fgets(values, sizeof(values), f) != NULL) {
		char *sn, *sv, *n, *val;

		if (strncmp(names, want, strlen(want)) != 0)
			continue;
		n = strtok_r(names, " \n", &sn);
		val = strtok_r(values, " \n", &sv);
		while (n != NULL && val != NULL) {
			if (strcmp(n, field) == 0)
				v = strtol(val, NULL, 10);
			n = strtok_r(NULL, " \n", &sn);
			val = strtok_r(NULL, " \n", &sv);
		}
	}
	fclose(f);
	return v;
}

/* The MAC the kernel in namespace ns holds for ip on dev, or false. */
static bool
kneigh(int ns, const char *dev, const char *ip, uint8_t mac[6])
{
	char cmd[128], line[256];
	unsigned m[6];
	bool found = false;
	FILE *f;
	int i;

	snprintf(cmd, sizeof(cmd), "ip -4 neigh show %s dev %s", ip, dev);
	enter_ns(ns);
	f = popen(cmd, "r");
	enter_ns(ns_dp);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *ll = strstr(line, "lladdr ");

		if (ll != NULL && sscanf(ll, "lladdr %x:%x:%x:%x:%x:%x", &m[0],
					 &m[1], &m[2], &m[3], &m[4],
					 &m[5]) == 6) {
			for (i = 0; i < 6; i++)
				mac[i] = (uint8_t)m[i];
			found = true;
		}
	}
	pclose(f);
	return found;
}

/* ---- datagrams ---- */

/* datagram i: 1 + i * 37 % 1472 bytes (1472: the largest at MTU 1500) */
static uint16_t
dg_len(unsigned i)
{
	return (uint16_t)(1 + (i * 37u) % 1472u);
}

static void
dg_fill(uint8_t *b, unsigned i)
{
	unsigned k;

	for (k = 0; k < dg_len(i); k++)
		b[k] = (uint8_t)(i * 131u + k);
}

static struct hs_addr
v4(const uint8_t ip[4], uint16_t port)
{
	return hs_addr_v4(ip[0], ip[1], ip[2], ip[3], port);
}

static void
qstats(struct hs_pktio *io, struct hs_dpdk_stats *st)
{
	hs_dpdk_queue_stats(io, st);
}

static uint64_t
bad_total(const struct hs_dpdk_stats *st)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < HS_L2_BAD_MAX; i++)
		n += st->rx_bad[i];
	return n;
}

/* Every frame a queue took from its device is in exactly one bin. */
static void
assert_sorted(struct hs_pktio *io)
{
	struct hs_dpdk_stats st;

	qstats(io, &st);
	assert_int_equal(st.rx_frames, st.rx_gossip + st.rx_other +
				       bad_total(&st) + st.rx_multiseg +
				       st.arp_in);
	assert_int_equal(io->stats.rx_pkts, st.rx_gossip);
}

/* Receive on io until `want` datagrams arrived or the deadline; each is
 * handed to check (when not NULL).  Other handles in also[] are polled
 * along (they answer ARP).  Returns how many arrived. */
static unsigned
pump(struct hs_pktio *io, unsigned want,
     void (*check)(const struct hs_pkt *p, void *arg), void *arg,
     struct hs_pktio *also)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	struct hs_pkt pkts[32];
	unsigned got = 0;

	while (got < want && hs_clock_monotonic(NULL) < end) {
		int n = hs_pktio_rx_burst(io, pkts, 32), i;

		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			if (check != NULL)
				check(&pkts[i], arg);
		got += (unsigned)n;
		if (also != NULL)
			assert_true(hs_pktio_rx_burst(also, pkts, 32) >= 0);
		if (n == 0)
			sched_yield();
	}
	return got;
}

struct seen {
	struct hs_addr from;		/* family 0: take the first one */
	uint16_t port_lo, n_ports;	/* its port must be in this range */
	unsigned next;
};

static void
check_in_order(const struct hs_pkt *p, void *arg)
{
	struct seen *s = arg;
	uint8_t want[1500];

	if (s->from.family == 0) {
		s->from = p->peer;
		assert_true(p->peer.port >= s->port_lo &&
			    p->peer.port < s->port_lo + s->n_ports);
	}
	assert_true(hs_addr_eq(&p->peer, &s->from));
	assert_int_equal(p->len, dg_len(s->next));
	dg_fill(want, s->next);
	assert_memory_equal(p->data, want, p->len);
	s->next++;
}

/* ---- frames put on a wire by hand ---- */

static struct rte_mbuf *
inj_alloc(const void *frame, unsigned len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(inj);

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)len));
	memcpy(rte_pktmbuf_mtod(m, void *), frame, len);
	return m;
}

/* A correct frame from `from` to `to` (at to_mac), payload text. */
static unsigned
frame_udp(uint8_t *buf, const struct hs_l2_if *from, const uint8_t *to_mac,
	  struct hs_addr to, const char *text)
{
	int len = hs_l2_build_udp(buf, 1600, from, to_mac, &to, from->port,
				  NULL, text, (uint16_t)strlen(text), true);

	assert_true(len >= HS_L2_FRAME_MIN);
	return (unsigned)len;
}

static void
ip_csum_fix(uint8_t *frame)
{
	uint16_t c;

	frame[24] = frame[25] = 0;
	c = hs_l2_csum(frame + 14, 20);
	frame[24] = (uint8_t)(c >> 8);
	frame[25] = (uint8_t)c;
}

static void
enqueue(struct rte_ring *r, struct rte_mbuf *m)
{
	assert_int_equal(rte_ring_enqueue(r, m), 0);
}

/* Frames our port put on ring r (its TX), up to n, into out. */
static unsigned
dequeue(struct rte_ring *r, struct rte_mbuf **out, unsigned n)
{
	return rte_ring_dequeue_burst(r, (void **)out, n, NULL);
}

static void
count_pool(struct rte_mempool *mp, void *arg)
{
	(void)mp;
	(*(unsigned *)arg)++;
}

static unsigned
n_pools(void)
{
	unsigned n = 0;

	rte_mempool_walk(count_pool, &n);
	return n;
}

/* ---- ring_pair ---- */

static struct hs_dpdk_port_params
params_for(const char *dev, const uint8_t *mac, uint8_t ip_last,
	   uint16_t port, uint16_t n_ports)
{
	struct hs_dpdk_port_params p = { .dev = dev };

	if (mac != NULL)
		memcpy(p.me.mac, mac, 6);
	p.me.ip[0] = 10;
	p.me.ip[3] = ip_last;
	p.me.port = port;
	p.me.n_ports = n_ports;
	return p;
}

/* Send probe datagrams from `from` to dst until one is taken (ARP
 * resolved), polling `to` and `from` meanwhile, and check that `to`
 * receives it.  Returns the source address `to` saw. */
static struct hs_addr
resolve(struct hs_pktio *from, struct hs_pktio *to, struct hs_addr dst,
	uint16_t port_lo, uint16_t n_ports)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	static const uint8_t hello[] = "hello";
	struct hs_pkt p = { .data = hello, .len = sizeof(hello), .peer = dst };
	struct hs_pkt in[32];
	struct hs_addr src = { 0 };
	bool taken = false;

	while (!taken && hs_clock_monotonic(NULL) < end) {
		taken = hs_pktio_tx_burst(from, &p, 1) == 1;
		if (!taken) {
			assert_int_equal(hs_pktio_rx_burst(to, in, 32), 0);
			assert_int_equal(hs_pktio_rx_burst(from, in, 32), 0);
		}
	}
	assert_true(taken);
	while (src.family == 0 && hs_clock_monotonic(NULL) < end) {
		int n = hs_pktio_rx_burst(to, in, 32);

		assert_true(n == 0 || n == 1);
		if (n == 1) {
			assert_int_equal(in[0].len, sizeof(hello));
			assert_memory_equal(in[0].data, hello, sizeof(hello));
			src = in[0].peer;
		}
	}
	assert_int_equal(src.family, 4);
	assert_true(src.port >= port_lo && src.port < port_lo + n_ports);
	return src;
}

static void
test_ring_pair(void **state)
{
	enum { N = 100, FULL = 1100 };
	static uint8_t bufs[FULL][1500];
	static struct hs_pkt pkts[FULL];
	struct hs_dpdk_port_params pa = params_for("net_ring_hs_ring_a", mac_a, 1, 7000,
						   4);
	struct hs_dpdk_port_params pb = params_for("net_ring_hs_ring_b", mac_b, 2, 7100,
						   1);
	struct rte_ring *r_ab, *r_ba;
	struct hs_dpdk_port *a, *b;
	struct hs_pktio *qa, *qb;
	struct hs_dpdk_stats sa, sb, sb0;
	struct hs_dpdk_info ia;
	struct hs_addr to_b = v4(pb.me.ip, 7100), a_seen;
	struct hs_addr a_local = v4(pa.me.ip, 7000);
	struct seen s;
	unsigned pools = n_pools(), base_a, base_b, i;
	uint8_t f[1600];
	struct rte_mbuf *m, *m2;
	unsigned len;

	(void)state;
	pb.no_udp_csum = true;	/* B sends UDP checksum 0, A computes it */
	r_ab = rte_ring_create("hs_t_ab", 1024, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	r_ba = rte_ring_create("hs_t_ba", 1024, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_non_null(r_ab);
	assert_non_null(r_ba);
	/* crossed: what A sends, B receives, and back */
	assert_true(rte_eth_from_rings("hs_ring_a", &r_ba, 1, &r_ab, 1,
				       SOCKET_ID_ANY) >= 0);
	assert_true(rte_eth_from_rings("hs_ring_b", &r_ab, 1, &r_ba, 1,
				       SOCKET_ID_ANY) >= 0);
	assert_int_equal(hs_dpdk_port_open(&pa, &a), 0);
	assert_int_equal(hs_dpdk_port_open(&pb, &b), 0);
	assert_int_equal(hs_dpdk_queue(a, 0, &qa), 0);
	assert_int_equal(hs_dpdk_queue(b, 0, &qb), 0);
	hs_dpdk_port_info(a, &ia);
	assert_memory_equal(ia.mac, mac_a, 6);
	assert_int_equal(ia.n_queues, 1);
	assert_int_equal(ia.rss_hf, 0);
	assert_false(ia.tx_csum_offload);	/* net_ring has none */
	assert_int_equal(qa->frame_max, 1472);
	assert_true(hs_addr_eq(&qa->local, &a_local));
	base_a = hs_dpdk_mbufs_in_use(a);
	base_b = hs_dpdk_mbufs_in_use(b);

	/* ARP first: one request, one reply, each side learns the other */
	a_seen = resolve(qa, qb, to_b, 7000, 4);
	assert_true(a_seen.addr[0] == 10 && a_seen.addr[3] == 1);
	qstats(qa, &sa);
	qstats(qb, &sb);
	assert_int_equal(sa.tx_unresolved, 1);
	assert_int_equal(sa.arp_requests, 1);
	assert_int_equal(sa.arp.learned, 1);
	assert_int_equal(sb.arp_replies, 1);
	assert_int_equal(sb.arp.learned, 1);	/* from the request for it */

	/* 100 datagrams of every size up to 1472, byte for byte, from the
	 * one source port A uses for B; B echoes them to that port */
	for (i = 0; i < FULL; i++) {
		dg_fill(bufs[i], i);
		pkts[i] = (struct hs_pkt){ .data = bufs[i], .len = dg_len(i),
					   .peer = to_b };
	}
	assert_int_equal(hs_pktio_tx_burst(qa, pkts, N), N);
	s = (struct seen){ .from = a_seen };
	{
		uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
		struct hs_pkt in[32];

		while (s.next < N && hs_clock_monotonic(NULL) < end) {
			int n = hs_pktio_rx_burst(qb, in, 32), k;

			for (k = 0; k < n; k++)
				check_in_order(&in[k], &s);
			/* echo from the mbufs, valid until the next burst */
			assert_int_equal(hs_pktio_tx_burst(qb, in, (unsigned)n),
					 n);
		}
	}
	assert_int_equal(s.next, N);
	s = (struct seen){ .from = to_b };
	assert_int_equal(pump(qa, N, check_in_order, &s, NULL), N);

	/* on the wire (taken off the rings by hand): A's UDP checksum is
	 * computed and right, B's is 0 ("none"); both IPv4 ones are right */
	for (i = 0; i < 2; i++) {
		struct hs_pktio *q = i == 0 ? qa : qb;
		struct rte_ring *r = i == 0 ? r_ab : r_ba;
		struct hs_pkt one = { .data = bufs[0], .len = 200,
				      .peer = i == 0 ? to_b : a_seen };
		void *obj = NULL;
		const uint8_t *fr;
		uint16_t ucs;

		assert_int_equal(hs_pktio_tx_burst(q, &one, 1), 1);
		assert_int_equal(rte_ring_dequeue(r, &obj), 0);
		m = obj;
		fr = rte_pktmbuf_mtod(m, const uint8_t *);
		assert_int_equal(hs_l2_csum(fr + 14, 20), 0);
		ucs = (uint16_t)(fr[14 + 20 + 6] << 8 | fr[14 + 20 + 7]);
		if (i == 0) {
			assert_int_not_equal(ucs, 0);
		} else {
			assert_int_equal(ucs, 0);
		}
		rte_pktmbuf_free(m);
	}

	/* refused before any frame is built */
	qstats(qa, &sa);
	{
		struct hs_pkt bad[4] = {
			{ .data = bufs[0], .len = 1473, .peer = to_b },
			{ .data = bufs[0], .len = 1,
			  .peer = { .family = 6, .port = 1 } },
			{ .data = bufs[0], .len = 1, .peer = v4(pb.me.ip, 0) },
			{ .data = bufs[0], .len = 1,
			  .peer = hs_addr_v4(224, 0, 0, 1, 7100) },
		};

		assert_int_equal(hs_pktio_tx_burst(qa, bad, 4), 0);
	}
	qstats(qa, &sb0);
	assert_int_equal(sb0.tx_invalid - sa.tx_invalid, 4);
	assert_int_equal(qa->stats.tx_drops, 4 + 1);	/* + the first probe */

	/* an unknown neighbour: dropped, one request per 100 ms, which B
	 * sees but does not answer (not its IP) */
	qstats(qb, &sb0);
	{
		struct hs_pkt p = { .data = bufs[0], .len = 10,
				    .peer = hs_addr_v4(10, 0, 0, 99, 7100) };

		assert_int_equal(hs_pktio_tx_burst(qa, &p, 1), 0);
		assert_int_equal(hs_pktio_tx_burst(qa, &p, 1), 0);
	}
	qstats(qa, &sa);
	assert_int_equal(sa.tx_unresolved, 3);
	assert_int_equal(sa.arp_requests, 2);
	{
		struct hs_pkt in[32];

		assert_int_equal(hs_pktio_rx_burst(qb, in, 32), 0);
	}
	qstats(qb, &sb);
	assert_int_equal(sb.arp_in - sb0.arp_in, 1);
	assert_int_equal(sb.arp_replies, sb0.arp_replies);

	/* a full device: the ring takes 1023, the rest is dropped and
	 * counted, and the 1023 arrive intact */
	qstats(qa, &sa);
	assert_int_equal(hs_pktio_tx_burst(qa, pkts, FULL), 1023);
	qstats(qa, &sb0);
	assert_int_equal(sb0.tx_full - sa.tx_full, FULL - 1023);
	s = (struct seen){ .from = a_seen };
	assert_int_equal(pump(qb, 1023, check_in_order, &s, NULL), 1023);

	/* malformed and foreign frames on B's wire: counted, not delivered;
	 * then a good one, which is */
	qstats(qb, &sb0);
	len = frame_udp(f, &pa.me, mac_b, to_b, "bad ip csum");
	f[24] ^= 1;
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, to_b, "bad udp csum");
	f[42] ^= 0xff;
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, to_b, "truncated in the UDP header");
	enqueue(r_ab, inj_alloc(f, 40));
	enqueue(r_ab, inj_alloc(f, 10));	/* not even Ethernet */
	len = frame_udp(f, &pa.me, mac_b, to_b, "a first fragment");
	f[20] |= 0x20;				/* MF */
	ip_csum_fix(f);
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, to_b, "chained");
	m = inj_alloc(f, 30);
	m2 = inj_alloc(f + 30, len - 30);
	assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	enqueue(r_ab, m);
	len = frame_udp(f, &pa.me, mac_b, hs_addr_v4(10, 0, 0, 3, 7100),
			"another host");
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, v4(pb.me.ip, 9999), "another port");
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, (const uint8_t[6]){ 2, 0, 0, 0, 0, 0xee },
			to_b, "another MAC");
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, to_b, "IPv6 ethertype");
	f[12] = 0x86;
	f[13] = 0xdd;
	enqueue(r_ab, inj_alloc(f, len));
	len = (unsigned)hs_l2_arp_request(f, sizeof(f), &pa.me, pb.me.ip);
	f[21] = 3;				/* ARP op 3 */
	enqueue(r_ab, inj_alloc(f, len));
	len = frame_udp(f, &pa.me, mac_b, to_b, "good");
	enqueue(r_ab, inj_alloc(f, len));
	{
		struct hs_pkt in[32];

		assert_int_equal(hs_pktio_rx_burst(qb, in, 32), 1);
		assert_int_equal(in[0].len, 4);
		assert_memory_equal(in[0].data, "good", 4);
		assert_true(hs_addr_eq(&in[0].peer, &a_local));
	}
	assert_int_equal(rte_ring_count(r_ab), 0);
	qstats(qb, &sb);
	assert_int_equal(sb.rx_frames - sb0.rx_frames, 12);
	assert_int_equal(sb.rx_bad[HS_L2_BAD_IP_CSUM] -
			 sb0.rx_bad[HS_L2_BAD_IP_CSUM], 1);
	assert_int_equal(sb.rx_bad[HS_L2_BAD_UDP_CSUM] -
			 sb0.rx_bad[HS_L2_BAD_UDP_CSUM], 1);
	assert_int_equal(sb.rx_bad[HS_L2_BAD_TRUNC] -
			 sb0.rx_bad[HS_L2_BAD_TRUNC], 2);
	assert_int_equal(sb.rx_bad[HS_L2_BAD_FRAGMENT] -
			 sb0.rx_bad[HS_L2_BAD_FRAGMENT], 1);
	assert_int_equal(bad_total(&sb) - bad_total(&sb0), 5);
	assert_int_equal(sb.rx_multiseg - sb0.rx_multiseg, 1);
	assert_int_equal(sb.rx_other - sb0.rx_other, 4);
	assert_int_equal(sb.arp_bad - sb0.arp_bad, 1);
	assert_int_equal(sb.rx_gossip - sb0.rx_gossip, 1);
	assert_int_equal(qb->stats.rx_drops, 6);
	assert_sorted(qa);
	assert_sorted(qb);

	/* every mbuf back: bursts released, rings empty */
	assert_int_equal(hs_pktio_rx_burst(qa, NULL, 0), 0);
	assert_int_equal(hs_pktio_rx_burst(qb, NULL, 0), 0);
	assert_int_equal(rte_ring_count(r_ab) + rte_ring_count(r_ba), 0);
	assert_int_equal(hs_dpdk_mbufs_in_use(a), base_a);
	assert_int_equal(hs_dpdk_mbufs_in_use(b), base_b);
	assert_int_equal(rte_mempool_in_use_count(inj), 0);
	printf("# ring_pair: %u and %u mbufs in use, as after open\n",
	       base_a, base_b);
	hs_pktio_close(qa);	/* the handle stays the port's */
	hs_dpdk_port_close(b);
	hs_dpdk_port_close(a);
	assert_int_equal(n_pools(), pools);	/* both pools freed */
	rte_ring_free(r_ab);
	rte_ring_free(r_ba);
}

/* ---- open_errors ---- */

static void
test_open_errors(void **state)
{
	struct hs_dpdk_port_params p = params_for("hs_ring_e", NULL, 5, 7000,
						  1);
	struct rte_ring *r;
	struct hs_dpdk_port *port, *again;
	struct hs_pktio *io;

	(void)state;
	r = rte_ring_create("hs_t_e", 64, SOCKET_ID_ANY, 0);
	assert_non_null(r);
	assert_true(rte_eth_from_ring(r) >= 0);		/* named after r */
	p.dev = "no_such_port";
	assert_int_equal(hs_dpdk_port_open(&p, &port), -ENODEV);
	p.dev = "net_ring_hs_t_e";
	/* net_ring has no MAC of its own (all zero): me.mac is required */
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	memcpy(p.me.mac, mac_a, 6);
	p.n_queues = 17;			/* net_ring has 16 */
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.n_queues = HS_DPDK_QUEUES_MAX + 1;
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.n_queues = 1;
	p.burst = HS_DPDK_BURST_MAX + 1;
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.burst = 0;
	p.me.port = 0;
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.me.port = 7000;
	p.me.ip[0] = 127;
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.me.ip[0] = 10;
	p.n_neighbours = 1;			/* and no list */
	assert_int_equal(hs_dpdk_port_open(&p, &port), -EINVAL);
	p.n_neighbours = 0;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	assert_int_equal(hs_dpdk_port_open(&p, &again), -EBUSY);
	assert_int_equal(hs_dpdk_queue(port, 1, &io), -EINVAL);
	assert_int_equal(hs_dpdk_queue(port, 0, &io), 0);
	hs_dpdk_port_close(port);
	rte_ring_free(r);
}

/* ---- multi_queue ---- */

/* Our side of the wire in multi_queue. */
static struct hs_l2_if
peer_if(uint8_t last)
{
	struct hs_l2_if me = { .mac = { 0x02, 0, 0, 0, 0x01, last },
			       .ip = { 10, 1, 0, last }, .port = 6000 };

	return me;
}

static void
test_multi_queue(void **state)
{
	enum { NB = 16 };
	struct hs_dpdk_port_params p = params_for("net_ring_hs_mq", NULL, 0, 7000, 8);
	struct hs_dpdk_neigh nb[NB];
	struct rte_ring *rx[2], *tx[2];
	struct hs_l2_if pif = peer_if(9), pif2 = peer_if(10), me;
	struct hs_l2_arp *parp;
	struct hs_dpdk_port *port;
	struct hs_pktio *q0, *q1;
	struct hs_dpdk_stats s0, s1, t0;
	struct hs_dpdk_info info;
	struct rte_mbuf *out[64];
	struct hs_pkt pkt, in[32];
	uint8_t f[128], mac[6];
	uint16_t sport[NB];
	unsigned i, n, distinct = 0, len;
	bool want;
	int rc;

	(void)state;
	for (i = 0; i < 2; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hs_t_mq_rx%u", i);
		rx[i] = rte_ring_create(name, 512, SOCKET_ID_ANY,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "hs_t_mq_tx%u", i);
		tx[i] = rte_ring_create(name, 512, SOCKET_ID_ANY,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
		assert_non_null(rx[i]);
		assert_non_null(tx[i]);
	}
	assert_true(rte_eth_from_rings("hs_mq", rx, 2, tx, 2, SOCKET_ID_ANY) >=
		    0);
	for (i = 0; i < NB; i++) {
		nb[i] = (struct hs_dpdk_neigh){
			.ip = { 10, 1, 2, (uint8_t)(i + 1) },
			.mac = { 0x02, 0, 0, 0, 0x02, (uint8_t)(i + 1) } };
	}
	p.me.ip[1] = 1;
	p.me.ip[3] = 1;
	memcpy(p.me.mac, (uint8_t[6]){ 2, 0, 0, 0, 0x01, 0x01 }, 6);
	p.n_queues = 2;
	p.neighbours = nb;
	p.n_neighbours = NB;
	me = p.me;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	hs_dpdk_port_info(port, &info);
	assert_int_equal(info.n_queues, 2);
	assert_int_equal(info.rss_hf, 0);	/* net_ring: no RSS */
	assert_int_equal(hs_dpdk_queue(port, 0, &q0), 0);
	assert_int_equal(hs_dpdk_queue(port, 1, &q1), 0);
	assert_int_equal(hs_l2_arp_create(8, 60 * SEC, &parp), 0);

	/* queue 1 asks for the peer, on its own TX queue */
	pkt = (struct hs_pkt){ .data = (const uint8_t *)"one", .len = 3,
			       .peer = v4(pif.ip, 6000) };
	assert_int_equal(hs_pktio_tx_burst(q1, &pkt, 1), 0);
	assert_int_equal(rte_ring_count(tx[0]), 0);
	assert_int_equal(dequeue(tx[1], out, 64), 1);
	assert_int_equal(hs_l2_parse(rte_pktmbuf_mtod(out[0], uint8_t *),
				     rte_pktmbuf_data_len(out[0]), &pif, &pkt,
				     NULL), HS_L2_ARP);
	/* the peer answers it; the answer lands on queue 0 (as ARP does
	 * under RSS) */
	rc = hs_l2_arp_input(parp, rte_pktmbuf_mtod(out[0], uint8_t *),
			     rte_pktmbuf_data_len(out[0]), &pif,
			     hs_clock_monotonic(NULL), f, sizeof(f));
	assert_int_equal(rc, HS_L2_ARP_FRAME_LEN);
	rte_pktmbuf_free(out[0]);
	enqueue(rx[0], inj_alloc(f, (unsigned)rc));
	assert_int_equal(hs_pktio_rx_burst(q0, in, 32), 0);
	qstats(q0, &s0);
	assert_int_equal(s0.arp_in, 1);
	assert_int_equal(s0.arp.learned, 1);
	/* queue 1 learns it from queue 0 and can send */
	pkt = (struct hs_pkt){ .data = (const uint8_t *)"one", .len = 3,
			       .peer = v4(pif.ip, 6000) };
	assert_int_equal(hs_pktio_tx_burst(q1, &pkt, 1), 1);
	qstats(q1, &s1);
	assert_int_equal(s1.arp_shared, 1);
	assert_int_equal(s1.arp.learned, 1);
	assert_int_equal(s1.arp_requests, 1);
	assert_int_equal(dequeue(tx[1], out, 64), 1);
	assert_int_equal(hs_l2_parse(rte_pktmbuf_mtod(out[0], uint8_t *),
				     rte_pktmbuf_data_len(out[0]), &pif, &pkt,
				     NULL), HS_L2_GOSSIP);
	assert_int_equal(pkt.len, 3);
	assert_memory_equal(pkt.data, "one", 3);
	assert_true(pkt.peer.port >= 7000 && pkt.peer.port < 7008);
	assert_memory_equal(pkt.peer.addr, me.ip, 4);
	rte_pktmbuf_free(out[0]);

	/* a second peer's request lands on queue 1: one reply, from queue 1;
	 * queue 0 learns the peer from it and sends without asking */
	len = (unsigned)hs_l2_arp_request(f, sizeof(f), &pif2, me.ip);
	enqueue(rx[1], inj_alloc(f, len));
	assert_int_equal(hs_pktio_rx_burst(q1, in, 32), 0);
	assert_int_equal(rte_ring_count(tx[0]), 0);
	assert_int_equal(dequeue(tx[1], out, 64), 1);
	rc = hs_l2_arp_input(parp, rte_pktmbuf_mtod(out[0], uint8_t *),
			     rte_pktmbuf_data_len(out[0]), &pif2,
			     hs_clock_monotonic(NULL), f, sizeof(f));
	assert_int_equal(rc, 0);		/* a reply: nothing to answer */
	rte_pktmbuf_free(out[0]);
	assert_int_equal(hs_l2_arp_lookup(parp, me.ip, hs_clock_monotonic(NULL),
					  mac, &want), 0);
	assert_memory_equal(mac, me.mac, 6);
	qstats(q0, &t0);
	pkt = (struct hs_pkt){ .data = (const uint8_t *)"two", .len = 3,
			       .peer = v4(pif2.ip, 6000) };
	assert_int_equal(hs_pktio_tx_burst(q0, &pkt, 1), 1);
	qstats(q0, &s0);
	assert_int_equal(s0.arp_requests, 0);
	assert_int_equal(s0.arp_shared - t0.arp_shared, 1);
	assert_int_equal(rte_ring_count(tx[1]), 0);
	assert_int_equal(dequeue(tx[0], out, 64), 1);
	assert_int_equal(hs_l2_parse(rte_pktmbuf_mtod(out[0], uint8_t *),
				     rte_pktmbuf_data_len(out[0]), &pif2, &pkt,
				     NULL), HS_L2_GOSSIP);
	assert_memory_equal(pkt.data, "two", 3);
	rte_pktmbuf_free(out[0]);
	qstats(q1, &s1);
	assert_int_equal(s1.arp_replies, 1);
	qstats(q0, &s0);
	assert_int_equal(s0.arp_replies, 0);

	/* source ports: one per destination, spread over the range */
	for (i = 0; i < 2 * NB; i++) {
		pkt = (struct hs_pkt){ .data = (const uint8_t *)"x", .len = 1,
				       .peer = v4(nb[i % NB].ip, 6000) };
		assert_int_equal(hs_pktio_tx_burst(q0, &pkt, 1), 1);
	}
	assert_int_equal(dequeue(tx[0], out, 64), 2 * NB);
	for (i = 0; i < 2 * NB; i++) {
		struct hs_l2_if to = { .ip = { 10, 1, 2,
					       (uint8_t)(i % NB + 1) },
				       .mac = { 2, 0, 0, 0, 2,
						(uint8_t)(i % NB + 1) },
				       .port = 6000 };

		assert_int_equal(hs_l2_parse(rte_pktmbuf_mtod(out[i],
							      uint8_t *),
					     rte_pktmbuf_data_len(out[i]), &to,
					     &pkt, NULL), HS_L2_GOSSIP);
		assert_true(pkt.peer.port >= 7000 && pkt.peer.port < 7008);
		if (i < NB)
			sport[i] = pkt.peer.port;
		else
			assert_int_equal(pkt.peer.port, sport[i - NB]);
		rte_pktmbuf_free(out[i]);
	}
	for (i = 0; i < NB; i++) {
		unsigned k;

		for (k = 0; k < i && sport[k] != sport[i]; k++)
			;
		distinct += k == i;
	}
	printf("# multi_queue: %u destinations on %u of 8 source ports\n",
	       NB, distinct);
	assert_true(distinct >= 4);

	/* 300 ARP frames on queue 0 while queue 1 does not read: its ring
	 * (255) overflows, the rest is dropped, counted, and freed */
	qstats(q0, &t0);
	for (i = 0; i < 300; i++) {
		len = (unsigned)hs_l2_arp_request(f, sizeof(f), &pif, me.ip);
		f[21] = 2;	/* a reply: nothing to answer, just learn */
		enqueue(rx[0], inj_alloc(f, len));
		if (rte_ring_count(rx[0]) >= 256)
			while (hs_pktio_rx_burst(q0, in, 32) == 0 &&
			       rte_ring_count(rx[0]) != 0)
				;
	}
	while (rte_ring_count(rx[0]) != 0)
		assert_int_equal(hs_pktio_rx_burst(q0, in, 32), 0);
	qstats(q0, &s0);
	assert_int_equal(s0.arp_in - t0.arp_in, 300);
	assert_int_equal(s0.arp_share_drops - t0.arp_share_drops, 300 - 255);
	assert_int_equal(rte_mempool_in_use_count(inj), 255);
	for (n = 0; n < 16 && rte_mempool_in_use_count(inj) != 0; n++)
		assert_int_equal(hs_pktio_rx_burst(q1, in, 32), 0);
	assert_int_equal(rte_mempool_in_use_count(inj), 0);

	assert_int_equal(hs_pktio_rx_burst(q0, NULL, 0), 0);
	assert_int_equal(hs_pktio_rx_burst(q1, NULL, 0), 0);
	assert_int_equal(hs_dpdk_mbufs_in_use(port), 0);
	assert_sorted(q0);
	assert_sorted(q1);
	hs_dpdk_port_close(port);
	hs_l2_arp_destroy(parp);
	for (i = 0; i < 2; i++) {
		rte_ring_free(rx[i]);
		rte_ring_free(tx[i]);
	}
}

/* ---- rss ---- */

static void
print_info(const struct hs_dpdk_port *port)
{
	struct hs_dpdk_info i;

	hs_dpdk_port_info(port, &i);
	printf("# %s: %u queues, rss %#" PRIx64 " (offered %#" PRIx64 "), "
	       "tx checksums %s, fast free %s, %u/%u descriptors, %u mbufs\n",
	       i.driver, i.n_queues, i.rss_hf, i.rss_capa,
	       i.tx_csum_offload ? "offloaded" : "software",
	       i.fast_free ? "yes" : "no", i.rx_desc, i.tx_desc, i.n_mbufs);
}

static void
test_rss(void **state)
{
	const uint64_t want = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
	struct hs_dpdk_port_params p = params_for("net_null0", NULL, 1, 7000,
						  16);
	struct hs_dpdk_neigh nb = { .ip = { 10, 0, 0, 2 },
				    .mac = { 2, 0, 0, 0, 0, 2 } };
	struct hs_dpdk_port *port;
	struct hs_dpdk_info info;
	struct hs_pktio *q[2];
	struct hs_pkt pkts[32], in[32];
	unsigned base, i;

	(void)state;
	p.n_queues = 2;
	p.neighbours = &nb;
	p.n_neighbours = 1;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	print_info(port);
	hs_dpdk_port_info(port, &info);
	assert_int_equal(info.rss_hf, want & info.rss_capa);
	assert_true(info.rss_hf != 0);
	assert_true((info.rss_hf & ~want) == 0);
	base = hs_dpdk_mbufs_in_use(port);
	/* net_null takes every frame and frees it, and makes up 64-byte
	 * frames out of our pool on every RX burst: the TX path, the RX
	 * path and the mbuf accounting, at speed */
	for (i = 0; i < 2; i++) {
		unsigned k;

		assert_int_equal(hs_dpdk_queue(port, i, &q[i]), 0);
		for (k = 0; k < 32; k++)
			pkts[k] = (struct hs_pkt){
				.data = (const uint8_t *)"null", .len = 4,
				.peer = v4(nb.ip, (uint16_t)(6000 + k)) };
		for (k = 0; k < 100; k++) {
			assert_int_equal(hs_pktio_tx_burst(q[i], pkts, 32), 32);
			assert_true(hs_pktio_rx_burst(q[i], in, 32) >= 0);
			assert_int_equal(hs_pktio_rx_burst(q[i], NULL, 0), 0);
		}
		assert_int_equal(q[i]->stats.tx_pkts, 3200);
		assert_sorted(q[i]);
	}
	assert_int_equal(hs_dpdk_mbufs_in_use(port), base);
	hs_dpdk_port_close(port);

	/* one queue: no RSS to configure (a device hot-plugged now) */
	assert_int_equal(rte_dev_probe("net_null1"), 0);
	p.dev = "net_null1";
	p.n_queues = 1;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	hs_dpdk_port_info(port, &info);
	assert_int_equal(info.rss_hf, 0);
	assert_true(info.rss_capa != 0);
	hs_dpdk_port_close(port);
}

/* ---- kernel ---- */

struct kside {
	const char *dev;	/* our EAL port */
	const char *kdev;	/* the kernel's interface */
	int ns;			/* the kernel's namespace */
	const char *kip;	/* the kernel's address */
	const char *kip2;	/* another one, for our ARP request; or NULL */
	uint8_t ip[4];		/* ours: no interface has it */
	bool offload;		/* the device must compute checksums */
	const char *after_open;	/* a command to run then, or NULL */
};

/* The MAC of the kernel's interface dev in namespace ns. */
static void
kmac_of(int ns, const char *dev, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	enter_ns(ns);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	enter_ns(ns_dp);
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* A byte pattern of len bytes, different per seed. */
static void
pattern(uint8_t *b, unsigned len, unsigned seed)
{
	unsigned k;

	for (k = 0; k < len; k++)
		b[k] = (uint8_t)(seed * 131u + k * 7u);
}

/* Send a frame with a broken UDP checksum straight to the device (queue 0
 * is this thread's) and check that the kernel counts it as such and does
 * not deliver it: so it checked the checksums of the good ones too. */
static void
kernel_refuses_bad_csum(const struct kside *k, struct hs_dpdk_port *port,
			const struct hs_l2_if *me, int kfd)
{
	struct hs_addr to = { .family = 4, .port = 5000 };
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	long errs = snmp(k->ns, "Udp", "InCsumErrors");
	struct hs_dpdk_info info;
	struct sockaddr_in from;
	uint8_t f[128], kmac[6], buf[64];
	struct rte_mbuf *m;
	unsigned len;

	hs_dpdk_port_info(port, &info);
	/* an mbuf of the test's pool on a port that assumes its own */
	assert_false(info.fast_free);
	assert_true(errs >= 0);
	assert_int_equal(inet_pton(AF_INET, k->kip, to.addr), 1);
	kmac_of(k->ns, k->kdev, kmac);
	len = (unsigned)hs_l2_build_udp(f, sizeof(f), me, kmac, &to, me->port,
					NULL, "corrupt", 7, true);
	f[42] ^= 0x55;
	m = inj_alloc(f, len);
	assert_int_equal(rte_eth_tx_burst(info.port_id, 0, &m, 1), 1);
	while (snmp(k->ns, "Udp", "InCsumErrors") == errs &&
	       hs_clock_monotonic(NULL) < end)
		sched_yield();
	assert_int_equal(snmp(k->ns, "Udp", "InCsumErrors"), errs + 1);
	assert_int_equal(krecv(kfd, buf, sizeof(buf), &from, 50), -1);
}

/* 300 datagrams from the kernel, each echoed by us, all back: bulk
 * traffic for the mbuf accounting.  The kernel sends a window of 32 at a
 * time (its socket buffer and the veth would take more, the device's RX
 * ring maybe not). */
static void
kernel_echo(const struct kside *k, struct hs_pktio *io)
{
	enum { N = 300, WINDOW = 32 };
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	unsigned sent = 0, back = 0;
	struct hs_pkt in[32];
	char ours[16], msg[32], buf[64];
	int kfd = ksock(k->ns, k->kip, 5002);

	snprintf(ours, sizeof(ours), "%u.%u.%u.%u", k->ip[0], k->ip[1],
		 k->ip[2], k->ip[3]);
	while (back < N && hs_clock_monotonic(NULL) < end) {
		struct sockaddr_in from;
		ssize_t got;
		int n;

		while (sent < N && sent - back < WINDOW) {
			snprintf(msg, sizeof(msg), "echo %u", sent++);
			ksend(kfd, ours, 7000, msg, strlen(msg));
		}
		n = hs_pktio_rx_burst(io, in, 32);
		assert_true(n >= 0);
		if (n > 0)
			assert_int_equal(hs_pktio_tx_burst(io, in, (unsigned)n),
					 n);
		/* one flow, one queue: back in order */
		while ((got = krecv(kfd, buf, sizeof(buf), &from, 0)) > 0) {
			snprintf(msg, sizeof(msg), "echo %u", back);
			assert_int_equal(got, strlen(msg));
			assert_memory_equal(buf, msg, strlen(msg));
			back++;
		}
		if (n == 0)
			sched_yield();
	}
	close(kfd);
	assert_int_equal(back, N);
}

static void
kernel_exchange(const struct kside *k)
{
	static const uint16_t sizes[] = { 1, 17, 100, 1000, 1472 };
	enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
	struct hs_dpdk_port_params p = { .dev = k->dev };
	struct hs_addr kaddr = { .family = 4, .port = 5000 };
	struct hs_dpdk_port *port;
	struct hs_dpdk_info info;
	struct hs_dpdk_stats st;
	struct hs_pktio *io;
	struct hs_pkt in[32], out;
	struct sockaddr_in from;
	uint8_t buf[1500], want[1500], mac[6];
	char ours[16];
	uint64_t end;
	unsigned i, got, base;
	int kfd, kfd2;

	memcpy(p.me.ip, k->ip, 4);
	p.me.port = 7000;
	p.me.n_ports = 4;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	print_info(port);
	hs_dpdk_port_info(port, &info);
	assert_int_equal(info.tx_csum_offload, k->offload);
	if (k->after_open != NULL)
		assert_int_equal(sh("%s", k->after_open), 0);
	assert_int_equal(hs_dpdk_queue(port, 0, &io), 0);
	base = hs_dpdk_mbufs_in_use(port);	/* the device's RX ring */
	snprintf(ours, sizeof(ours), "%u.%u.%u.%u", k->ip[0], k->ip[1],
		 k->ip[2], k->ip[3]);
	assert_int_equal(inet_pton(AF_INET, k->kip, kaddr.addr), 1);
	kfd = ksock(k->ns, k->kip, 5000);

	/* kernel -> us, one size at a time; the first waits in the kernel
	 * for our ARP reply */
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	for (i = 0, got = 0; got < NS && hs_clock_monotonic(NULL) < end;) {
		int n, j;

		if (i == got) {
			pattern(buf, sizes[i], i);
			ksend(kfd, ours, 7000, buf, sizes[i]);
			i++;
		}
		n = hs_pktio_rx_burst(io, in, 32);
		assert_true(n >= 0 && n <= 1);
		for (j = 0; j < n; j++) {
			assert_true(hs_addr_eq(&in[j].peer, &kaddr));
			assert_int_equal(in[j].len, sizes[got]);
			pattern(want, sizes[got], got);
			assert_memory_equal(in[j].data, want, in[j].len);
			got++;
		}
		if (n == 0)
			sched_yield();
	}
	qstats(io, &st);
	if (got != NS)
		printf("# %s: %u of %u datagrams; %" PRIu64 " frames in (%"
		       PRIu64 " ARP, %" PRIu64 " other), %" PRIu64 " ARP "
		       "replies, %" PRIu64 " frames the device refused\n",
		       k->dev, got, NS, st.rx_frames, st.arp_in, st.rx_other,
		       st.arp_replies, st.tx_full);
	if (got != NS)
		printf("# arp: bad %" PRIu64 " conflicts %" PRIu64 " learned %"
		       PRIu64 " replies %" PRIu64 "\n", st.arp_bad,
		       st.arp.conflicts, st.arp.learned, st.arp.replies);
	assert_int_equal(got, NS);
	assert_true(st.arp_replies >= 1);
	/* the kernel holds our MAC, from our reply (only we have the IP) */
	assert_true(kneigh(k->ns, k->kdev, ours, mac));
	assert_memory_equal(mac, info.mac, 6);

	/* us -> kernel: its MAC is known from its request */
	for (i = 0; i < NS; i++) {
		pattern(buf, sizes[i], 100 + i);
		out = (struct hs_pkt){ .data = buf, .len = sizes[i],
				       .peer = kaddr };
		assert_int_equal(hs_pktio_tx_burst(io, &out, 1), 1);
		assert_int_equal(krecv(kfd, want, sizeof(want), &from, 5000),
				 sizes[i]);
		assert_memory_equal(want, buf, sizes[i]);
		assert_int_equal(memcmp(&from.sin_addr, k->ip, 4), 0);
		assert_true(ntohs(from.sin_port) >= 7000 &&
			    ntohs(from.sin_port) < 7004);
	}
	qstats(io, &st);
	assert_int_equal(st.tx_unresolved, 0);
	kernel_refuses_bad_csum(k, port, &p.me, kfd);

	/* we resolve the kernel: an address of its we never heard from */
	if (k->kip2 != NULL) {
		kfd2 = ksock(k->ns, k->kip2, 5001);
		out = (struct hs_pkt){ .data = (const uint8_t *)"asked",
				       .len = 5,
				       .peer = { .family = 4, .port = 5001 } };
		assert_int_equal(inet_pton(AF_INET, k->kip2, out.peer.addr), 1);
		end = hs_clock_monotonic(NULL) + DEADLINE_NS;
		while (hs_pktio_tx_burst(io, &out, 1) != 1 &&
		       hs_clock_monotonic(NULL) < end)
			assert_true(hs_pktio_rx_burst(io, in, 32) >= 0);
		assert_int_equal(krecv(kfd2, want, sizeof(want), &from, 5000),
				 5);
		assert_memory_equal(want, "asked", 5);
		qstats(io, &st);
		assert_true(st.arp_requests >= 1);
		assert_true(st.tx_unresolved >= 1);
		close(kfd2);
	}
	close(kfd);
	assert_sorted(io);
	qstats(io, &st);
	printf("# %s: %" PRIu64 " frames in: %" PRIu64 " gossip, %" PRIu64
	       " other, %" PRIu64 " bad, %" PRIu64 " ARP; %" PRIu64
	       " ARP replies, %" PRIu64 " requests out\n", k->dev,
	       st.rx_frames, st.rx_gossip, st.rx_other, bad_total(&st),
	       st.arp_in, st.arp_replies, st.arp_requests);
	assert_int_equal(bad_total(&st), 0);
	kernel_echo(k, io);
	/* all traffic done, the last burst released: the device holds what
	 * it held after start, and at most a burst of sent frames it has not
	 * reclaimed yet (net_af_xdp collects TX completions on the next
	 * send; no PMD here has rte_eth_tx_done_cleanup).  A leak would be
	 * one mbuf per frame: hundreds. */
	assert_int_equal(hs_pktio_rx_burst(io, NULL, 0), 0);
	qstats(io, &st);
	printf("# %s: %u mbufs in use after %" PRIu64 " frames in and %"
	       PRIu64 " out, %u after start\n", k->dev,
	       hs_dpdk_mbufs_in_use(port), st.rx_frames, io->stats.tx_pkts,
	       base);
	assert_true(hs_dpdk_mbufs_in_use(port) >= base);
	assert_true(hs_dpdk_mbufs_in_use(port) <= base + 32);
	hs_dpdk_port_close(port);
}

static void
test_kernel(void **state)
{
	struct kside k = { .dev = "net_af_packet0", .kdev = "hsk0",
			   .kip = "10.77.0.1", .kip2 = "10.77.0.3",
			   .ip = { 10, 77, 0, 2 } };

	(void)state;
	if (no_netns != NULL) {
		printf("# skipped: %s\n", no_netns);
		skip();
	}
	k.ns = ns_peer;
	kernel_exchange(&k);
}

/* net_af_xdp: an XDP program on the veth redirects to an AF_XDP socket.
 * Optional: hot-plugged here, and skipped when the kernel or libxdp will
 * not have it. */
static void
test_kernel_xdp(void **state)
{
	struct kside k = { .dev = "net_af_xdp0", .kdev = "hsk2",
			   .kip = "10.76.0.1", .ip = { 10, 76, 0, 2 } };

	(void)state;
	if (no_netns != NULL) {
		printf("# skipped: %s\n", no_netns);
		skip();
	}
	if (rte_dev_probe("net_af_xdp0,iface=hsdp2") != 0) {
		printf("# skipped: net_af_xdp0 would not probe (XDP on veth, "
		       "libxdp)\n");
		skip();
	}
	k.ns = ns_peer;
	kernel_exchange(&k);
}

/* net_tap: its kernel side is the tap interface, in our namespace. */
static void
test_tap_offload(void **state)
{
	struct kside k = { .dev = "net_tap0", .kdev = "hstap0",
			   .kip = "10.79.0.1", .ip = { 10, 79, 0, 2 },
			   .offload = true };
	uint16_t pid;

	(void)state;
	if (no_netns != NULL) {
		printf("# skipped: %s\n", no_netns);
		skip();
	}
	if (rte_eth_dev_get_port_by_name("net_tap0", &pid) != 0) {
		printf("# skipped: no net_tap0 (no /dev/net/tun?)\n");
		skip();
	}
	k.ns = ns_dp;
	/* net_tap gives the kernel's interface the port's MAC (at probe, and
	 * again when the port starts): the kernel's ARP requests would look
	 * like our own frames looped back.  So, once the port is up, another
	 * MAC for the kernel; the PMD keeps its own, and a tap filters
	 * nothing. */
	k.after_open = "ip link set hstap0 address 02:00:00:00:79:01";
	assert_int_equal(sh("ip addr add 10.79.0.1/24 dev hstap0 && "
			    "ip link set hstap0 up"), 0);
	kernel_exchange(&k);
}

/* ---- kernel_queues ---- */

struct worker {
	struct hs_pktio *io;
	pthread_t tid;
	unsigned rx, tx;
};

static bool workers_stop;

/* A worker: echo every datagram to its sender, from its own queue. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct hs_pkt pkts[32];

	/* an lcore id of its own: mbufs come from its mempool cache */
	if (rte_thread_register() != 0)
		return NULL;

	while (!__atomic_load_n(&workers_stop, __ATOMIC_ACQUIRE)) {
		int n = hs_pktio_rx_burst(w->io, pkts, 32);

		if (n > 0) {
			w->rx += (unsigned)n;
			w->tx += (unsigned)hs_pktio_tx_burst(w->io, pkts,
							     (unsigned)n);
		} else {
			sched_yield();
		}
	}
	hs_pktio_rx_burst(w->io, NULL, 0);
	rte_thread_unregister();
	return NULL;
}

static void
test_kernel_queues(void **state)
{
	enum { FLOWS = 16 };
	struct hs_dpdk_port_params p = { .dev = "net_af_packet1" };
	struct hs_dpdk_port *port;
	struct hs_dpdk_info info;
	struct worker w[2];
	int kfd[FLOWS];
	bool done[FLOWS] = { false };
	unsigned n_done = 0, i;
	uint64_t end, next = 0;

	(void)state;
	if (no_netns != NULL) {
		printf("# skipped: %s\n", no_netns);
		skip();
	}
	p.me = (struct hs_l2_if){ .ip = { 10, 78, 0, 2 }, .port = 7000 };
	p.n_queues = 2;
	assert_int_equal(hs_dpdk_port_open(&p, &port), 0);
	print_info(port);
	hs_dpdk_port_info(port, &info);
	assert_int_equal(info.n_queues, 2);
	for (i = 0; i < FLOWS; i++)
		kfd[i] = ksock(ns_peer, "10.78.0.1", (uint16_t)(6000 + i));
	workers_stop = false;
	for (i = 0; i < 2; i++) {
		w[i] = (struct worker){ 0 };
		assert_int_equal(hs_dpdk_queue(port, i, &w[i].io), 0);
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker_main,
						&w[i]), 0);
	}
	/* every flow sends until its echo is back */
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	while (n_done < FLOWS && hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd[FLOWS];
		char msg[16];

		if (hs_clock_monotonic(NULL) >= next) {
			for (i = 0; i < FLOWS; i++) {
				if (done[i])
					continue;
				snprintf(msg, sizeof(msg), "flow-%u", i);
				ksend(kfd[i], "10.78.0.2", 7000, msg,
				      strlen(msg));
			}
			next = hs_clock_monotonic(NULL) + SEC / 20;
		}
		for (i = 0; i < FLOWS; i++)
			pfd[i] = (struct pollfd){ .fd = kfd[i],
						  .events = POLLIN };
		if (poll(pfd, FLOWS, 10) <= 0)
			continue;
		for (i = 0; i < FLOWS; i++) {
			struct sockaddr_in from;
			char buf[64];
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			n = krecv(kfd[i], buf, sizeof(buf), &from, 0);
			snprintf(msg, sizeof(msg), "flow-%u", i);
			assert_int_equal(n, (ssize_t)strlen(msg));
			assert_memory_equal(buf, msg, (size_t)n);
			assert_int_equal(ntohs(from.sin_port), 7000);
			if (!done[i]) {
				done[i] = true;
				n_done++;
			}
		}
	}
	__atomic_store_n(&workers_stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
	for (i = 0; i < FLOWS; i++)
		close(kfd[i]);
	for (i = 0; i < 2; i++) {
		struct hs_dpdk_stats st;

		qstats(w[i].io, &st);
		printf("# kernel_queues: queue %u: %u datagrams in, %u out, "
		       "%" PRIu64 " ARP in, %" PRIu64 " shared, %" PRIu64
		       " unresolved\n", i, w[i].rx, w[i].tx, st.arp_in,
		       st.arp_shared, st.tx_unresolved);
		/* a queue learns what another received before it sends */
		assert_int_equal(st.tx_unresolved, 0);
		assert_int_equal(w[i].rx, w[i].tx);
		assert_sorted(w[i].io);
	}
	assert_int_equal(n_done, FLOWS);
	/* 16 flows hashed over 2 queues: both get some (all on one: 2^-15) */
	assert_true(w[0].rx > 0 && w[1].rx > 0);
	hs_dpdk_port_close(port);
}

/* ---- main ---- */

static int
eal_start(void)
{
	static const char *const bogus[] = { "--no-huge", "--hs-no-such-flag" };
	const char *args[32];
	int n = 0, rc;

	/* a refused argument: -EINVAL, and the EAL may be started after */
	rc = hs_dpdk_init(2, bogus);
	if (rc != -EINVAL) {
		fprintf(stderr, "hs_dpdk_init(bogus) = %d, want -EINVAL\n", rc);
		return -1;
	}
	args[n++] = "--no-huge";
	args[n++] = "-m";
	args[n++] = "512";
	args[n++] = "--no-pci";
	args[n++] = "--file-prefix";
	args[n++] = prefix;
	args[n++] = "--vdev";
	args[n++] = "net_null0";
	if (no_netns == NULL) {
		args[n++] = "--vdev";
		args[n++] = "net_af_packet0,iface=hsdp0";
		args[n++] = "--vdev";
		args[n++] = "net_af_packet1,iface=hsdp1,qpairs=2";
		args[n++] = "--vdev";
		args[n++] = "net_tap0,iface=hstap0";
	}
	rc = hs_dpdk_init(n, args);
	if (rc != 0) {
		fprintf(stderr, "hs_dpdk_init: %s\n", strerror(-rc));
		return rc;
	}
	if (hs_dpdk_init(n, args) != -EALREADY)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_pair),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_multi_queue),
		cmocka_unit_test(test_rss),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_kernel_queues),
		cmocka_unit_test(test_kernel_xdp),
		cmocka_unit_test(test_tap_offload),
	};
	char dir[128];
	struct stat sb;
	int rc;

	if (geteuid() != 0) {
		printf("skipped: the EAL and network namespaces need root\n");
		return 77;
	}
	snprintf(prefix, sizeof(prefix), "hs-test-%d", getpid());
	rm_stale_run_dirs();
	atexit(rm_own_run_dir);
	no_netns = netns_setup();
	if (no_netns != NULL)
		printf("# kernel cases will skip: %s\n", no_netns);
	rc = eal_start();
	if (rc != 0)
		return 1;
	inj = rte_pktmbuf_pool_create("hs_test_inj", 1023, 0, 0,
				      RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (inj == NULL) {
		fprintf(stderr, "no test pool\n");
		return 1;
	}
	HS_TEST_FILTER();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_mempool_free(inj);
	hs_dpdk_fini();
	snprintf(dir, sizeof(dir), RUN_DIR "/%s", prefix);
	if (stat(dir, &sb) == 0) {
		fprintf(stderr, "hs_dpdk_fini left %s behind\n", dir);
		return 1;
	}
	return rc;
}
