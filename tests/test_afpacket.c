/*
 * drivers/afpacket between two network namespaces joined by a veth pair
 * (suite "net", root only: exit 77 otherwise, or when namespaces or veth
 * cannot be made).
 *
 * Namespace A holds the driver (the test thread lives there, setns(2)) and
 * 10.77.c.1/24; namespace B holds plain kernel sockets, raw senders and
 * 10.77.c.2/24, so that the other end of every exchange is the real Linux
 * stack: it must accept our frames (checksums, ARP) and we must take its
 * own.  Names carry the pid; both namespaces go at exit (atexit, and on
 * SIGINT/SIGTERM), and stale ones of dead test processes are removed at
 * start.  IPv6 is off in both (no neighbour discovery noise in the exact
 * counts) and ICMP is not rate-limited in A (case 2 counts ICMP errors).
 * The process is pinned to one CPU: veth hands frames to the receiving
 * stack on the sending CPU, so frames of one sender keep their order.
 *
 * Waits are for an outcome, with a deadline (poll(2) on the handle's
 * descriptor or the socket), never a fixed sleep; the only timed windows
 * look for something that must NOT come, after a later frame proved the
 * path was drained.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/errqueue.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/afpacket.h"
#include "drivers/l2.h"
#include "engine/util.h"
#include "tests/hs_test.h"

#define DEADLINE_NS	(20ull * 1000000000ull)
#define NETNS_DIR	"/var/run/netns"

enum { A, B };

static char ns_name[2][32];
static char if_name[2][IFNAMSIZ];
static int ns_fd[2] = { -1, -1 };
static int if_index[2];
static uint8_t if_mac[2][6];
static uint8_t ip_a[4], ip_b[4], ip_c[4];	/* .1 (A's), .2 (B's), .3
						 * (nobody's) */

/* ---- namespaces ---- */

/* What `ip netns del` does, with system calls only (also from a signal
 * handler): detach the bind mount that keeps the namespace, remove the
 * file.  The veth pair goes with the last namespace. */
static void
netns_del(const char *name)
{
	char path[sizeof(NETNS_DIR) + 256];

	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	umount2(path, MNT_DETACH);
	unlink(path);
}

static void
netns_cleanup(void)
{
	if (ns_name[A][0] != '\0')
		netns_del(ns_name[A]);
	if (ns_name[B][0] != '\0')
		netns_del(ns_name[B]);
}

static void
on_signal(int sig)
{
	netns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Namespaces of earlier runs that died without cleaning up. */
static void
netns_cleanup_stale(void)
{
	DIR *d = opendir(NETNS_DIR);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		int pid;
		char ab;

		if (sscanf(e->d_name, "hsafp%d%c", &pid, &ab) == 2 &&
		    pid > 0 && (pid == getpid() ||
				(kill(pid, 0) != 0 && errno == ESRCH)))
			netns_del(e->d_name);
	}
	closedir(d);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static void
ns_enter(int which)
{
	if (setns(ns_fd[which], CLONE_NEWNET) != 0) {
		perror("setns");
		abort();
	}
}

/* A socket made in namespace `which` (it stays there); the thread goes
 * back to A. */
static int
sock_in(int which, int domain, int type, int proto)
{
	int fd;

	ns_enter(which);
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	ns_enter(A);
	return fd;
}

static void
write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;		/* no IPv6 in this kernel: nothing to quiet */
	fputs(val, f);
	fclose(f);
}

static void
ns_quiet(int which)
{
	char path[128];

	ns_enter(which);
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 if_name[which]);
	write_sysctl(path, "1");
	write_sysctl("/proc/sys/net/ipv4/icmp_ratelimit", "0");
	ns_enter(A);
}

static void
if_info(int which)
{
	struct ifreq ifr;
	int fd = sock_in(which, AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", if_name[which]);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		perror("SIOCGIFHWADDR");
		abort();
	}
	memcpy(if_mac[which], ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {	/* same union */
		perror("SIOCGIFINDEX");
		abort();
	}
	if_index[which] = ifr.ifr_ifindex;
	close(fd);
}

/* 0: ready; 77: skip (said why); 1: failed. */
static int
netns_setup(void)
{
	int pid = getpid(), i;
	uint8_t c = (uint8_t)(pid % 250 + 1);
	char path[128];

	snprintf(ns_name[A], sizeof(ns_name[A]), "hsafp%da", pid);
	snprintf(ns_name[B], sizeof(ns_name[B]), "hsafp%db", pid);
	snprintf(if_name[A], sizeof(if_name[A]), "hsa%d", pid);
	snprintf(if_name[B], sizeof(if_name[B]), "hsb%d", pid);
	memcpy(ip_a, (uint8_t[4]){ 10, 77, c, 1 }, 4);
	memcpy(ip_b, (uint8_t[4]){ 10, 77, c, 2 }, 4);
	memcpy(ip_c, (uint8_t[4]){ 10, 77, c, 3 }, 4);
	netns_cleanup_stale();
	atexit(netns_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (run("ip netns add %s 2>&1", ns_name[A]) != 0 ||
	    run("ip netns add %s 2>&1", ns_name[B]) != 0) {
		printf("SKIP: cannot create network namespaces (ip netns "
		       "add)\n");
		return 77;
	}
	if (run("ip link add %s netns %s type veth peer name %s netns %s "
		"2>&1", if_name[A], ns_name[A], if_name[B], ns_name[B]) != 0) {
		printf("SKIP: cannot create a veth pair\n");
		return 77;
	}
	for (i = A; i <= B; i++) {
		snprintf(path, sizeof(path), NETNS_DIR "/%s", ns_name[i]);
		ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd[i] < 0) {
			perror(path);
			return 1;
		}
	}
	/* the thread lives in A from now on */
	ns_enter(A);
	ns_quiet(A);
	ns_quiet(B);
	if (run("ip -n %s addr add 10.77.%u.1/24 dev %s", ns_name[A], c,
		if_name[A]) != 0 ||
	    run("ip -n %s addr add 10.77.%u.2/24 dev %s", ns_name[B], c,
		if_name[B]) != 0 ||
	    run("ip -n %s link set %s up", ns_name[A], if_name[A]) != 0 ||
	    run("ip -n %s link set %s up", ns_name[B], if_name[B]) != 0)
		return 1;
	if_info(A);
	if_info(B);
	printf("# namespaces %s (%s, 10.77.%u.1) and %s (%s, 10.77.%u.2)\n",
	       ns_name[A], if_name[A], c, ns_name[B], if_name[B], c);
	return 0;
}

/* ---- helpers ---- */

static struct hs_afpacket_params
params(const uint8_t ip[4], uint16_t port)
{
	struct hs_afpacket_params p;

	memset(&p, 0, sizeof(p));
	p.ifname = if_name[A];
	memcpy(p.me.ip, ip, 4);
	p.me.port = port;
	return p;
}

static struct hs_pktio *
afp_open(const struct hs_afpacket_params *p)
{
	struct hs_pktio *io = NULL;
	int rc = hs_afpacket_open(p, &io);

	if (rc != 0)
		printf("# hs_afpacket_open: %s\n", strerror(-rc));
	assert_int_equal(rc, 0);
	assert_non_null(io);
	return io;
}

static struct hs_afpacket_stats
stats(const struct hs_pktio *io)
{
	struct hs_afpacket_stats st;

	hs_afpacket_stats(io, &st);
	return st;
}

static uint64_t
bad_total(const struct hs_afpacket_stats *st)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < HS_L2_BAD_MAX; i++)
		n += st->bad[i];
	return n;
}

static struct hs_addr
addr4(const uint8_t ip[4], uint16_t port)
{
	return hs_addr_v4(ip[0], ip[1], ip[2], ip[3], port);
}

static struct sockaddr_in
sin4(const uint8_t ip[4], uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	memcpy(&s.sin_addr, ip, 4);
	return s;
}

/* A non-blocking UDP socket in B on B's address, with a receive buffer
 * large enough for every test's datagrams (so the kernel drops none). */
static int
udp_b(uint16_t port)
{
	struct sockaddr_in s = sin4(ip_b, port);
	int fd = sock_in(B, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int big = 8 << 20;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big,
				    sizeof(big)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	return fd;
}

static void
udp_connect(int fd, const uint8_t ip[4], uint16_t port)
{
	struct sockaddr_in s = sin4(ip, port);
	int one = 1;

	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one,
				    sizeof(one)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&s, sizeof(s)), 0);
}

/* Send on a connected socket of B.  A refusal is an ICMP error that came
 * back for an earlier datagram: say so. */
static void
send_b(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, 0);

	if (n < 0)
		printf("# send: %s (an ICMP error came back)\n",
		       strerror(errno));
	assert_int_equal(n, (ssize_t)len);
}

/* A datagram from B's socket within the deadline: its length, or -1. */
static int
recv_b(int fd, uint8_t *buf, size_t cap, struct sockaddr_in *from)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;

	while (hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		socklen_t sl = sizeof(*from);
		ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT,
				     (struct sockaddr *)from, &sl);

		if (n >= 0)
			return (int)n;
		assert_true(errno == EAGAIN);
		poll(&pfd, 1, 100);
	}
	return -1;
}

/* Send a frame from a raw AF_PACKET socket (its own destination MAC). */
static void
raw_send(int fd, int ifindex, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, frame, 6);
	assert_int_equal(sendto(fd, frame, len, 0, (struct sockaddr *)&sll,
				sizeof(sll)), (ssize_t)len);
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

/* Datagram i of a series: lengths from 0 to 1472 (the small ones make
 * padded runt frames), bytes from the series' salt and i. */
static uint16_t
dg_len(unsigned i)
{
	static const uint16_t first[] = { 0, 1, 17, 18, 19, 64, 1471, 1472 };

	return i < 8 ? first[i] : (uint16_t)((i * 397u) % 1473u);
}

static uint8_t
dg_byte(unsigned salt, unsigned i, unsigned k)
{
	return (uint8_t)(salt * 29u + i * 131u + k * 7u + (k >> 8));
}

static void
dg_fill(uint8_t *b, unsigned salt, unsigned i)
{
	unsigned k;

	for (k = 0; k < dg_len(i); k++)
		b[k] = dg_byte(salt, i, k);
}

static bool
dg_ok(const uint8_t *b, unsigned len, unsigned salt, unsigned i)
{
	unsigned k;

	if (len != dg_len(i))
		return false;
	for (k = 0; k < len; k++)
		if (b[k] != dg_byte(salt, i, k))
			return false;
	return true;
}

typedef void (*rx_fn)(unsigned h, const struct hs_pkt *p, void *arg);

/* rx_burst on the handles until `want` datagrams came (or, want == 0,
 * until done(arg)), or the deadline; each goes to fn.  Returns how many
 * came. */
static unsigned
pump(struct hs_pktio *const *io, unsigned n_io, unsigned want, rx_fn fn,
     void *arg, bool (*done)(void *arg))
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	unsigned got = 0, h;

	while (hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd[4];
		int total = 0;

		for (h = 0; h < n_io; h++) {
			struct hs_pkt pkts[HS_AFPACKET_BURST_MAX];
			int n = hs_pktio_rx_burst(io[h], pkts,
						  HS_AFPACKET_BURST_MAX), i;

			assert_true(n >= 0);
			for (i = 0; i < n; i++)
				if (fn != NULL)
					fn(h, &pkts[i], arg);
			got += (unsigned)n;
			total += n;
			pfd[h] = (struct pollfd){ .fd = hs_afpacket_fd(io[h]),
						  .events = POLLIN };
		}
		if (want != 0 ? got >= want : done(arg))
			break;
		if (total == 0)
			poll(pfd, n_io, 10);
	}
	return got;
}

/* Send one datagram until the handle takes it (its neighbour resolved),
 * receiving meanwhile (the ARP answer comes that way). */
static bool
send_resolved(struct hs_pktio *io, const struct hs_pkt *p)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;

	while (hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = hs_afpacket_fd(io),
				      .events = POLLIN };
		struct hs_pkt in[HS_AFPACKET_BURST_MAX];

		if (hs_pktio_tx_burst(io, p, 1) == 1)
			return true;
		assert_true(hs_pktio_rx_burst(io, in,
					      HS_AFPACKET_BURST_MAX) >= 0);
		poll(&pfd, 1, 10);
	}
	return false;
}

/* A series received in order from one peer. */
struct series {
	struct hs_addr from;
	unsigned salt;
	unsigned next;
};

static void
check_series(unsigned h, const struct hs_pkt *p, void *arg)
{
	struct series *s = arg;

	(void)h;
	assert_true(hs_addr_eq(&p->peer, &s->from));
	assert_int_equal(p->len, dg_len(s->next));
	assert_true(dg_ok(p->data, p->len, s->salt, s->next));
	s->next++;
}

/* Wait until fd (connected, IP_RECVERR) got port-unreachable: recv says
 * ECONNREFUSED and the error queue holds the ICMP error. */
static bool
got_refused(int fd)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	struct sock_extended_err *ee = NULL;
	char data[64], ctl[256];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;

	while (hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & POLLERR))
			break;
	}
	if (recv(fd, data, sizeof(data), MSG_DONTWAIT) != -1 ||
	    errno != ECONNREFUSED)
		return false;
	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return false;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_RECVERR)
			ee = (struct sock_extended_err *)CMSG_DATA(cm);
	return ee != NULL && ee->ee_origin == SO_EE_ORIGIN_ICMP &&
	       ee->ee_type == 3 && ee->ee_code == 3;
}

/* B's veth computes UDP checksums (on: the kernel leaves them to the
 * "device", frames cross the veth with CHECKSUM_PARTIAL) or not. */
static void
b_tx_csum(bool on)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = on };
	int fd = sock_in(B, AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", if_name[B]);
	ifr.ifr_data = (void *)&ev;
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, SIOCETHTOOL, &ifr), 0);
	close(fd);
}

/* ---- cases ---- */

static void
test_open_errors(void **state)
{
	struct hs_afpacket_params p = params(ip_a, 7000);
	struct hs_pktio *io = NULL;
	struct sockaddr_in s = sin4(ip_a, 7001);
	struct hs_addr want;
	int fd, status;
	pid_t pid;

	(void)state;
	assert_int_equal(hs_afpacket_open(NULL, &io), -EINVAL);
	assert_int_equal(hs_afpacket_open(&p, NULL), -EINVAL);
	p.ifname = NULL;
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p.ifname = "hsafp-none0";
	assert_int_equal(hs_afpacket_open(&p, &io), -ENODEV);
	p.ifname = "lo";			/* not Ethernet */
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params((uint8_t[4]){ 0, 0, 0, 0 }, 7000);
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 0);
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 7000);
	p.burst = HS_AFPACKET_BURST_MAX + 1;
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 7000);
	p.block_size = 3 * 4096;		/* not a power of two */
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p.block_size = 1024;			/* no frame fits */
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 7000);
	p.n_blocks = 1;
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 7000);
	p.me.mtu = 9000;			/* the veth's is 1500 */
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	p = params(ip_a, 7000);
	p.n_neigh = 1;				/* and no array */
	assert_int_equal(hs_afpacket_open(&p, &io), -EINVAL);
	assert_null(io);

	/* a port of the range bound by a socket without SO_REUSEPORT */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	p = params(ip_a, 7000);
	p.me.n_ports = 4;
	assert_int_equal(hs_afpacket_open(&p, &io), -EADDRINUSE);
	close(fd);

	/* without CAP_NET_RAW: -EPERM (in a child that drops it) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct cap[2];

		if (syscall(SYS_capget, &hdr, cap) != 0)
			_exit(2);
		cap[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
		if (syscall(SYS_capset, &hdr, cap) != 0)
			_exit(3);
		p = params(ip_a, 7000);
		_exit(hs_afpacket_open(&p, &io) == -EPERM ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* and one that opens: what it says about itself */
	p = params(ip_a, 7000);
	io = afp_open(&p);
	assert_int_equal(io->frame_max, 1472);
	want = addr4(ip_a, 7000);
	assert_true(hs_addr_eq(&io->local, &want));
	assert_true(hs_afpacket_fd(io) >= 0);
	assert_int_equal(stats(io).n_holders, 1);
	hs_pktio_close(io);
}

/*
 * Case 1, driver -> kernel: the first send finds no neighbour (dropped,
 * counted, an ARP request out); once B's kernel answered, datagrams of
 * every size reach a plain socket in B byte for byte, so B's kernel took
 * our IPv4 and UDP checksums.  That it checks them at all is shown too:
 * the same frames with a bad checksum, sent raw, do not arrive.
 */
static void
test_tx_to_kernel(void **state)
{
	enum { N = 64, PORT = 7100, BPORT = 7101, SALT = 1 };
	static uint8_t bufs[N][1472], rx[2048];
	static const uint8_t probe[] = "resolve";
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct hs_addr dst = addr4(ip_b, BPORT);
	struct hs_pkt pkts[N], one = { .data = probe, .len = 7, .peer = dst };
	struct hs_afpacket_stats st;
	struct sockaddr_in from;
	struct hs_pktio *io;
	uint8_t frame[128];
	struct hs_l2_if me;
	int fd = udp_b(BPORT), raw, len, i;

	(void)state;
	io = afp_open(&p);
	/* unresolved: dropped, counted, asked for */
	assert_int_equal(hs_pktio_tx_burst(io, &one, 1), 0);
	st = stats(io);
	assert_int_equal(st.tx_unresolved, 1);
	assert_int_equal(st.arp_requests_sent, 1);
	assert_int_equal(io->stats.tx_drops, 1);
	assert_int_equal(io->stats.tx_pkts, 0);
	/* B's kernel answers; the answer comes in through rx_burst */
	assert_true(send_resolved(io, &one));
	st = stats(io);
	assert_true(st.arp.learned >= 1);
	assert_int_equal(recv_b(fd, rx, sizeof(rx), &from), 7);
	assert_memory_equal(rx, probe, 7);
	assert_int_equal(from.sin_port, htons(PORT));
	assert_memory_equal(&from.sin_addr, ip_a, 4);

	for (i = 0; i < N; i++) {
		dg_fill(bufs[i], SALT, (unsigned)i);
		pkts[i] = (struct hs_pkt){ .data = bufs[i],
					   .len = dg_len((unsigned)i),
					   .peer = dst };
	}
	for (i = 0; i < N; i += 16)
		assert_int_equal(hs_pktio_tx_burst(io, pkts + i, 16), 16);
	assert_int_equal(io->stats.tx_pkts, N + 1);
	for (i = 0; i < N; i++) {
		len = recv_b(fd, rx, sizeof(rx), &from);
		assert_int_equal(len, dg_len((unsigned)i));
		assert_true(dg_ok(rx, (unsigned)len, SALT, (unsigned)i));
		assert_int_equal(from.sin_port, htons(PORT));
		assert_memory_equal(&from.sin_addr, ip_a, 4);
	}
	st = stats(io);
	assert_int_equal(st.tx_ring_full, 0);
	assert_int_equal(st.tx_invalid, 0);

	/* the control: B's kernel refuses a bad UDP and a bad IPv4
	 * checksum (so the datagrams above were checked) and takes the
	 * good frame sent after them */
	memcpy(me.mac, if_mac[A], 6);
	memcpy(me.ip, ip_a, 4);
	me.port = PORT;
	me.n_ports = 1;
	me.mtu = 0;
	raw = sock_in(A, AF_PACKET, SOCK_RAW, 0);
	assert_true(raw >= 0);
	len = hs_l2_build_udp(frame, sizeof(frame), &me, if_mac[B], &dst,
			      PORT, NULL, "bad-udp", 7, true);
	assert_true(len > 0);
	frame[HS_L2_HDR_LEN] ^= 0x20;		/* payload: "Bad-udp" */
	raw_send(raw, if_index[A], frame, (size_t)len);
	len = hs_l2_build_udp(frame, sizeof(frame), &me, if_mac[B], &dst,
			      PORT, NULL, "bad-ip", 6, true);
	frame[24] ^= 0x01;			/* IPv4 header checksum */
	raw_send(raw, if_index[A], frame, (size_t)len);
	len = hs_l2_build_udp(frame, sizeof(frame), &me, if_mac[B], &dst,
			      PORT, NULL, "good", 4, true);
	raw_send(raw, if_index[A], frame, (size_t)len);
	close(raw);
	assert_int_equal(recv_b(fd, rx, sizeof(rx), &from), 4);
	assert_memory_equal(rx, "good", 4);
	assert_int_equal(recv(fd, rx, sizeof(rx), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	printf("# tx: %" PRIu64 " sent, %" PRIu64 " unresolved, %" PRIu64
	       " ARP requests\n", io->stats.tx_pkts, st.tx_unresolved,
	       st.arp_requests_sent);
	close(fd);
	hs_pktio_close(io);
}

/*
 * Case 2, kernel -> driver, and no ICMP.  Without the driver, a datagram
 * to A's port makes A's kernel answer port-unreachable (B's socket gets
 * ECONNREFUSED).  With the driver open, B's datagrams arrive at the handle
 * byte for byte, from B's address, with the UDP checksum left to the veth
 * (CHECKSUM_PARTIAL) and computed; and B's socket gets no error, though a
 * later datagram to a closed port of A got its ICMP back (so A's kernel
 * had answered everything before it).
 */
static void
test_rx_from_kernel(void **state)
{
	enum { N = 64, PORT = 7200, BPORT = 7201, CLOSED = 7299, SALT = 2 };
	static uint8_t buf[1472];
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct series s = { .from = addr4(ip_b, BPORT), .salt = SALT };
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	struct msghdr msg;
	int fd = udp_b(BPORT), marker = udp_b(BPORT + 1), i, err;
	socklen_t sl = sizeof(err);

	(void)state;
	udp_connect(fd, ip_a, PORT);
	udp_connect(marker, ip_a, CLOSED);

	/* without the driver: port-unreachable */
	assert_int_equal(send(fd, "ping", 4, 0), 4);
	assert_true(got_refused(fd));

	io = afp_open(&p);
	assert_int_equal(stats(io).n_holders, 1);
	/* half with the checksum left to the device, half computed */
	b_tx_csum(true);
	for (i = 0; i < N / 2; i++) {
		dg_fill(buf, SALT, (unsigned)i);
		send_b(fd, buf, dg_len((unsigned)i));
	}
	assert_int_equal(pump(&io, 1, N / 2, check_series, &s, NULL), N / 2);
	assert_int_equal(stats(io).csum_partial, N / 2);
	b_tx_csum(false);
	for (i = N / 2; i < N; i++) {
		dg_fill(buf, SALT, (unsigned)i);
		send_b(fd, buf, dg_len((unsigned)i));
	}
	assert_int_equal(pump(&io, 1, N / 2, check_series, &s, NULL), N / 2);
	b_tx_csum(true);
	st = stats(io);
	assert_int_equal(s.next, N);
	assert_int_equal(io->stats.rx_pkts, N);
	assert_int_equal(st.csum_partial, N / 2);
	assert_int_equal(bad_total(&st), 0);

	/* the marker's ICMP came back, and none for the N datagrams */
	assert_int_equal(send(marker, "fence", 5, 0), 5);
	assert_true(got_refused(marker));
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl), 0);
	assert_int_equal(err, 0);
	memset(&msg, 0, sizeof(msg));
	assert_int_equal(recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	printf("# rx: %u datagrams, %" PRIu64 " with a partial checksum, %"
	       PRIu64 " blocks\n", s.next, st.csum_partial, st.blocks);
	close(fd);
	close(marker);
	hs_pktio_close(io);
}

/*
 * Case 3: our ARP answers.  An address no interface has (.3) and a MAC of
 * our own: only the driver answers B's kernel, which then sends to that
 * MAC.  The datagrams B queued while it asked all arrive, and the driver
 * answers without asking (it learned B from B's request).
 */
static void
test_arp_answer(void **state)
{
	enum { N = 8, PORT = 7300, BPORT = 7301, SALT = 3 };
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30 };
	static uint8_t buf[1472];
	struct hs_afpacket_params p = params(ip_c, PORT);
	struct series s = { .from = addr4(ip_b, BPORT), .salt = SALT };
	struct hs_pkt back = { .data = (const uint8_t *)"back", .len = 4,
			       .peer = addr4(ip_b, BPORT) };
	struct sockaddr_in to = sin4(ip_c, PORT), from;
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	int fd = udp_b(BPORT), i;

	(void)state;
	memcpy(p.me.mac, mac, 6);
	io = afp_open(&p);
	assert_int_equal(stats(io).n_holders, 0);	/* .3 is not local */
	for (i = 0; i < N; i++) {
		dg_fill(buf, SALT, (unsigned)i);
		assert_int_equal(sendto(fd, buf, dg_len((unsigned)i), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 dg_len((unsigned)i));
	}
	assert_int_equal(pump(&io, 1, N, check_series, &s, NULL), N);
	st = stats(io);
	assert_true(st.arp_replies >= 1);
	assert_true(st.arp.learned >= 1);

	/* B is known from its request: no ARP needed to answer */
	assert_int_equal(hs_pktio_tx_burst(io, &back, 1), 1);
	st = stats(io);
	assert_int_equal(st.tx_unresolved, 0);
	assert_int_equal(st.arp_requests_sent, 0);
	assert_int_equal(recv_b(fd, buf, sizeof(buf), &from), 4);
	assert_memory_equal(buf, "back", 4);
	assert_memory_equal(&from.sin_addr, ip_c, 4);
	assert_int_equal(from.sin_port, htons(PORT));
	close(fd);
	hs_pktio_close(io);
}

/* Case 4: fanout. */
enum { FAN_SENDERS = 32, FAN_EACH = 4 };

struct fan {
	uint8_t seen[FAN_SENDERS][FAN_EACH];
	int owner[FAN_SENDERS];		/* handle that got the flow, -1 */
	unsigned got[2];
	bool split;			/* a flow seen on both handles */
};

static void
fan_rx(unsigned h, const struct hs_pkt *p, void *arg)
{
	struct fan *f = arg;
	unsigned snd, seq;

	assert_int_equal(p->len, 16);
	snd = p->data[0];
	seq = p->data[1];
	assert_true(snd < FAN_SENDERS && seq < FAN_EACH);
	assert_int_equal(p->peer.port, 7410 + snd);
	f->seen[snd][seq]++;
	if (f->owner[snd] < 0)
		f->owner[snd] = (int)h;
	else if (f->owner[snd] != (int)h)
		f->split = true;
	f->got[h]++;
}

/*
 * Two handles of one fanout group on one interface: the flows of 32
 * source ports are spread over both (each gets some; a flow stays on one
 * handle), every datagram arrives exactly once, and both handles learn
 * and answer ARP (through their own ARP rings), so both can send.
 */
static void
test_fanout(void **state)
{
	enum { PORT = 7400, BPORT = 7401, GROUP = 0x4a51 };
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct sockaddr_in to = sin4(ip_a, PORT), from;
	struct hs_pktio *io[2];
	struct hs_afpacket_stats st[2];
	struct fan f;
	int snd[FAN_SENDERS], fd = udp_b(BPORT), i, k;
	bool from0 = false, from1 = false;
	uint8_t buf[64];

	(void)state;
	memset(&f, 0, sizeof(f));
	for (i = 0; i < FAN_SENDERS; i++)
		f.owner[i] = -1;
	/* B forgets A: it must ask again, and both handles hear it */
	assert_int_equal(run("ip -n %s neigh flush dev %s", ns_name[B],
			     if_name[B]), 0);
	p.fanout_group = GROUP;
	io[0] = afp_open(&p);
	io[1] = afp_open(&p);
	assert_int_equal(stats(io[0]).n_holders, 1);	/* SO_REUSEPORT */
	assert_int_equal(stats(io[1]).n_holders, 1);
	for (i = 0; i < FAN_SENDERS; i++) {
		snd[i] = udp_b((uint16_t)(7410 + i));
		for (k = 0; k < FAN_EACH; k++) {
			uint8_t b[16] = { (uint8_t)i, (uint8_t)k };

			assert_int_equal(sendto(snd[i], b, sizeof(b), 0,
						(struct sockaddr *)&to,
						sizeof(to)), 16);
		}
	}
	assert_int_equal(pump(io, 2, FAN_SENDERS * FAN_EACH, fan_rx, &f, NULL),
			 FAN_SENDERS * FAN_EACH);
	/* nothing more comes (duplicates would be there by now: every
	 * datagram was in a ring before the last one was read) */
	for (k = 0; k < 3; k++) {
		struct pollfd pfd[2] = {
			{ .fd = hs_afpacket_fd(io[0]), .events = POLLIN },
			{ .fd = hs_afpacket_fd(io[1]), .events = POLLIN } };
		struct hs_pkt in[HS_AFPACKET_BURST_MAX];

		assert_int_equal(hs_pktio_rx_burst(io[0], in, 64), 0);
		assert_int_equal(hs_pktio_rx_burst(io[1], in, 64), 0);
		poll(pfd, 2, 10);
	}
	printf("# fanout: %u and %u of %u datagrams\n", f.got[0], f.got[1],
	       FAN_SENDERS * FAN_EACH);
	for (i = 0; i < FAN_SENDERS; i++)
		for (k = 0; k < FAN_EACH; k++)
			assert_int_equal(f.seen[i][k], 1);
	assert_int_equal(f.got[0] + f.got[1], FAN_SENDERS * FAN_EACH);
	/* 32 flows hashed over 2 handles: both get some (all on one: 2^-31) */
	assert_true(f.got[0] > 0 && f.got[1] > 0);
	assert_false(f.split);

	/* both heard B's request for our address: both answered it */
	st[0] = stats(io[0]);
	st[1] = stats(io[1]);
	assert_true(st[0].arp_replies >= 1);
	assert_true(st[1].arp_replies >= 1);
	/* and both send */
	for (i = 0; i < 2; i++) {
		struct hs_pkt out = { .data = (const uint8_t *)(i ? "h1" : "h0"),
				      .len = 2, .peer = addr4(ip_b, BPORT) };

		assert_true(send_resolved(io[i], &out));
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(recv_b(fd, buf, sizeof(buf), &from), 2);
		assert_memory_equal(&from.sin_addr, ip_a, 4);
		from0 |= memcmp(buf, "h0", 2) == 0;
		from1 |= memcmp(buf, "h1", 2) == 0;
	}
	assert_true(from0 && from1);
	for (i = 0; i < FAN_SENDERS; i++)
		close(snd[i]);
	close(fd);
	hs_pktio_close(io[0]);
	hs_pktio_close(io[1]);
}

/* Raw frames from B to the handle at A.  me_b: B's side. */
static int
frame_b(uint8_t *frame, size_t cap, uint16_t dport, const char *payload,
	uint16_t len)
{
	struct hs_l2_if me_b;
	struct hs_addr dst = addr4(ip_a, dport);
	int n;

	memset(&me_b, 0, sizeof(me_b));
	memcpy(me_b.mac, if_mac[B], 6);
	memcpy(me_b.ip, ip_b, 4);
	me_b.port = 7501;
	n = hs_l2_build_udp(frame, cap, &me_b, if_mac[A], &dst, 7501, NULL,
			    payload, len, true);
	assert_true(n > 0);
	return n;
}

struct last {
	struct hs_pkt pkt;		/* the last datagram seen */
	uint8_t data[256];
	unsigned n;
};

static void
keep(unsigned h, const struct hs_pkt *p, void *arg)
{
	struct last *f = arg;

	(void)h;
	assert_true(p->len <= sizeof(f->data));
	memcpy(f->data, p->data, p->len);
	f->pkt = *p;
	f->pkt.data = f->data;
	f->n++;
}

/*
 * Case 5: malformed frames for us, raw from B, each counted under its
 * reason and none delivered; the good frame sent after them is.
 */
static void
test_bad_frames(void **state)
{
	enum { PORT = 7500 };
	static const char pl[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	struct last got = { .n = 0 };
	struct hs_addr from;
	uint8_t f[256];
	int raw = sock_in(B, AF_PACKET, SOCK_RAW, 0), n;

	(void)state;
	assert_true(raw >= 0);
	io = afp_open(&p);

	n = frame_b(f, sizeof(f), PORT, pl, 36);
	f[25] ^= 0x5a;					/* IPv4 checksum */
	raw_send(raw, if_index[B], f, (size_t)n);

	n = frame_b(f, sizeof(f), PORT, pl, 36);
	f[HS_L2_HDR_LEN + 3] ^= 0x01;			/* payload */
	raw_send(raw, if_index[B], f, (size_t)n);

	n = frame_b(f, sizeof(f), PORT, pl, 36);
	raw_send(raw, if_index[B], f, HS_L2_HDR_LEN + 20);	/* cut */

	n = frame_b(f, sizeof(f), PORT, pl, 36);
	f[20] |= 0x20;					/* MF */
	ip_csum_fix(f);
	raw_send(raw, if_index[B], f, (size_t)n);

	n = frame_b(f, sizeof(f), PORT, pl, 36);
	f[39] += 1;					/* UDP length */
	raw_send(raw, if_index[B], f, (size_t)n);

	n = frame_b(f, sizeof(f), PORT, "good", 4);
	raw_send(raw, if_index[B], f, (size_t)n);

	assert_int_equal(pump(&io, 1, 1, keep, &got, NULL), 1);
	assert_int_equal(got.pkt.len, 4);
	assert_memory_equal(got.data, "good", 4);
	from = addr4(ip_b, 7501);
	assert_true(hs_addr_eq(&got.pkt.peer, &from));
	st = stats(io);
	assert_int_equal(st.bad[HS_L2_BAD_IP_CSUM], 1);
	assert_int_equal(st.bad[HS_L2_BAD_UDP_CSUM], 1);
	assert_int_equal(st.bad[HS_L2_BAD_TRUNC], 1);
	assert_int_equal(st.bad[HS_L2_BAD_FRAGMENT], 1);
	assert_int_equal(st.bad[HS_L2_BAD_UDP_LEN], 1);
	assert_int_equal(bad_total(&st), 5);
	assert_int_equal(st.other, 0);
	assert_int_equal(io->stats.rx_pkts, 1);
	close(raw);
	hs_pktio_close(io);
}

/*
 * Case 6: frames that are not ours (another port, another protocol,
 * another MAC, IPv6) are never delivered.  With the filter they do not
 * even reach the ring; without it (no_filter) they are counted as other,
 * and our own kernel's answers to them (ICMP, TCP reset) as outgoing.
 */
static void
other_frames(int raw, uint16_t port)
{
	uint8_t f[256];
	int n;

	n = frame_b(f, sizeof(f), port + 50, "other-port", 10);
	raw_send(raw, if_index[B], f, (size_t)n);
	n = frame_b(f, sizeof(f), port, "tcp", 3);
	f[23] = 6;					/* TCP */
	ip_csum_fix(f);
	raw_send(raw, if_index[B], f, (size_t)n);
	n = frame_b(f, sizeof(f), port, "other-mac", 9);
	f[5] ^= 0x01;
	raw_send(raw, if_index[B], f, (size_t)n);
	n = frame_b(f, sizeof(f), port, "ipv6", 4);
	f[12] = 0x86;
	f[13] = 0xdd;
	raw_send(raw, if_index[B], f, (size_t)n);
	n = frame_b(f, sizeof(f), port, "marker", 6);
	raw_send(raw, if_index[B], f, (size_t)n);
}

static void
test_other(void **state)
{
	enum { PORT = 7600 };
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	struct last got = { .n = 0 };
	int raw = sock_in(B, AF_PACKET, SOCK_RAW, 0);

	(void)state;
	assert_true(raw >= 0);
	io = afp_open(&p);
	other_frames(raw, PORT);
	assert_int_equal(pump(&io, 1, 1, keep, &got, NULL), 1);
	assert_memory_equal(got.data, "marker", 6);
	st = stats(io);
	assert_int_equal(st.other, 0);		/* the filter kept them out */
	assert_int_equal(st.outgoing, 0);
	assert_int_equal(bad_total(&st), 0);
	assert_int_equal(io->stats.rx_pkts, 1);
	hs_pktio_close(io);

	p.no_filter = true;
	io = afp_open(&p);
	got.n = 0;
	other_frames(raw, PORT);
	assert_int_equal(pump(&io, 1, 1, keep, &got, NULL), 1);
	assert_memory_equal(got.data, "marker", 6);
	st = stats(io);
	printf("# no filter: %" PRIu64 " other, %" PRIu64 " outgoing\n",
	       st.other, st.outgoing);
	assert_int_equal(st.other, 4);
	assert_true(st.outgoing >= 1);
	assert_int_equal(bad_total(&st), 0);
	assert_int_equal(io->stats.rx_pkts, 1);
	close(raw);
	hs_pktio_close(io);
}

/* A tap in A: counts the UDP frames to port that reach the interface. */
static unsigned
tap_count(int tap, uint16_t port, unsigned want)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	unsigned n = 0;

	while (n < want && hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = tap, .events = POLLIN };
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		uint8_t f[2048];
		ssize_t len = recvfrom(tap, f, sizeof(f), MSG_DONTWAIT,
				       (struct sockaddr *)&sll, &sl);

		if (len < 0) {
			poll(&pfd, 1, 10);
			continue;
		}
		if (len >= HS_L2_HDR_LEN && sll.sll_pkttype != PACKET_OUTGOING &&
		    f[23] == 17 && (f[36] << 8 | f[37]) == port)
			n++;
	}
	return n;
}

struct hold {
	unsigned n;			/* datagrams received */
	unsigned max_id;
};

static void
hold_rx(unsigned h, const struct hs_pkt *p, void *arg)
{
	struct hold *s = arg;
	unsigned id;

	(void)h;
	assert_int_equal(p->len, 1400);
	id = p->data[0] | (unsigned)p->data[1] << 8;
	assert_int_equal(p->data[2], (uint8_t)(id * 7));
	assert_int_equal(p->data[1399], (uint8_t)(id * 13));
	if (id > s->max_id)
		s->max_id = id;
	s->n++;
}

static bool
hold_done(void *arg)
{
	const struct hold *s = arg;

	return s->max_id == 107;
}

static void
hold_send(int fd, unsigned first, unsigned n)
{
	uint8_t b[1400];
	unsigned i;

	for (i = first; i < first + n; i++) {
		memset(b, 0, sizeof(b));
		b[0] = (uint8_t)i;
		b[1] = (uint8_t)(i >> 8);
		b[2] = (uint8_t)(i * 7);
		b[1399] = (uint8_t)(i * 13);
		send_b(fd, b, sizeof(b));
	}
}

/*
 * Datagrams handed out stay readable until the next rx_burst, even when
 * the kernel has more than the ring holds: on a ring of 4 one-page blocks
 * (2 frames of 1400 bytes each), hold a burst, let 100 more datagrams
 * overflow the ring, and the burst is intact.  The overflow is counted:
 * every datagram sent was either received or a ring drop.  (A fanout group
 * of one, so that ARP takes the ARP ring and B's ARP traffic cannot be
 * among the drops this ring counts.)
 */
static void
test_ring_hold(void **state)
{
	enum { PORT = 7700, BPORT = 7701 };
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct hs_pkt held[3];
	uint8_t copy[3][1400];
	struct hold s = { .n = 0 };
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	int fd = udp_b(BPORT), tap, k = 0, i;
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;

	(void)state;
	udp_connect(fd, ip_a, PORT);
	p.block_size = (unsigned)sysconf(_SC_PAGESIZE);
	p.n_blocks = 4;
	p.fanout_group = 0x4a52;
	io = afp_open(&p);
	tap = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     htons(ETH_P_IP));
	assert_true(tap >= 0);
	{
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_IP),
					   .sll_ifindex = if_index[A] };
		int big = 8 << 20;

		assert_int_equal(bind(tap, (struct sockaddr *)&sll,
				      sizeof(sll)), 0);
		assert_int_equal(setsockopt(tap, SOL_SOCKET, SO_RCVBUFFORCE,
					    &big, sizeof(big)), 0);
	}
	hold_send(fd, 0, 4);
	while (k == 0 && hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = hs_afpacket_fd(io),
				      .events = POLLIN };

		k = hs_pktio_rx_burst(io, held, 3);
		assert_true(k >= 0);
		if (k == 0)
			poll(&pfd, 1, 10);
	}
	assert_true(k > 0);
	for (i = 0; i < k; i++) {
		assert_int_equal(held[i].len, 1400);
		memcpy(copy[i], held[i].data, 1400);
		hold_rx(0, &held[i], &s);
	}
	/* 100 more: far more than the ring holds; wait until the interface
	 * saw them all (the ring, an ETH_P_ALL tap, is offered each frame
	 * before the ETH_P_IP tap is) */
	assert_int_equal(tap_count(tap, PORT, 4), 4);
	hold_send(fd, 4, 100);
	assert_int_equal(tap_count(tap, PORT, 100), 100);
	for (i = 0; i < k; i++)
		assert_memory_equal(held[i].data, copy[i], 1400);

	/* drain (the ring is full: every block is retired; the last call
	 * gives the held ones back), then 4 more: the kernel flags the next
	 * block it fills (TP_STATUS_LOSING) and the drops are read */
	do {
		struct hs_pkt in[HS_AFPACKET_BURST_MAX];

		k = hs_pktio_rx_burst(io, in, HS_AFPACKET_BURST_MAX);
		assert_true(k >= 0);
		for (i = 0; i < k; i++)
			hold_rx(0, &in[i], &s);
	} while (k > 0);
	hold_send(fd, 104, 4);
	assert_int_equal(tap_count(tap, PORT, 4), 4);
	pump(&io, 1, 0, hold_rx, &s, hold_done);
	st = stats(io);
	printf("# ring of 4 pages: %u received, %" PRIu64 " dropped, %" PRIu64
	       " blocks\n", s.n, st.ring_drops, st.blocks);
	assert_int_equal(s.max_id, 107);
	assert_true(st.ring_drops > 0);
	assert_int_equal(s.n + st.ring_drops, 108);
	assert_int_equal(io->stats.rx_drops, st.ring_drops);
	close(tap);
	close(fd);
	hs_pktio_close(io);
}

/* A static neighbour is used at once: no ARP request, nothing dropped. */
static void
test_static_neigh(void **state)
{
	enum { PORT = 7800, BPORT = 7801 };
	struct hs_afpacket_params p = params(ip_a, PORT);
	struct hs_afpacket_neigh nb;
	struct hs_pkt out = { .data = (const uint8_t *)"static", .len = 6,
			      .peer = addr4(ip_b, BPORT) };
	struct sockaddr_in from;
	struct hs_afpacket_stats st;
	struct hs_pktio *io;
	uint8_t buf[64];
	int fd = udp_b(BPORT);

	(void)state;
	memcpy(nb.ip, ip_b, 4);
	memcpy(nb.mac, if_mac[B], 6);
	p.neigh = &nb;
	p.n_neigh = 1;
	io = afp_open(&p);
	assert_int_equal(hs_pktio_tx_burst(io, &out, 1), 1);
	st = stats(io);
	assert_int_equal(st.arp_requests_sent, 0);
	assert_int_equal(st.tx_unresolved, 0);
	assert_int_equal(st.arp.n_static, 1);
	assert_int_equal(recv_b(fd, buf, sizeof(buf), &from), 6);
	assert_memory_equal(buf, "static", 6);
	close(fd);
	hs_pktio_close(io);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_tx_to_kernel),
		cmocka_unit_test(test_rx_from_kernel),
		cmocka_unit_test(test_arp_answer),
		cmocka_unit_test(test_fanout),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_other),
		cmocka_unit_test(test_ring_hold),
		cmocka_unit_test(test_static_neigh),
	};
	cpu_set_t cpus;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: needs root (network namespaces, CAP_NET_RAW)\n");
		return 77;
	}
	rc = netns_setup();
	if (rc != 0)
		return rc;
	/* one CPU: frames of one sender reach the rings in order */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	HS_TEST_FILTER();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
