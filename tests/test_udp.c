/*
 * drivers/udp: bursts over real kernel sockets on the loopback (suite
 * "unit": no privilege needed).  Every datagram sent is checked byte for
 * byte where it arrives; oversize and unsendable datagrams are counted and
 * dropped; SO_REUSEPORT handles share a port; and three real nodes gossip
 * over it until every node holds every key and sees every other alive.
 * Waits are for an outcome (poll(2) on the socket, or rounds until the
 * state holds) with a generous deadline, never a fixed sleep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "drivers/udp.h"
#include "engine/hearsay.h"
#include "engine/util.h"
#include "tests/hs_test.h"

static uint64_t test_seed;

#define DEADLINE_NS	(20ull * 1000000000ull)

static struct hs_pktio *
open_lo(uint16_t port, bool reuseport)
{
	struct hs_udp_params p = { .local = hs_addr_v4(127, 0, 0, 1, port),
				   .reuseport = reuseport };
	struct hs_pktio *io = NULL;

	assert_int_equal(hs_udp_open(&p, &io), 0);
	assert_int_equal(io->local.family, 4);
	assert_true(io->local.port != 0);
	return io;
}

/* Receive until `want` datagrams arrived or the deadline; each is handed
 * to check (when not NULL).  Returns how many arrived. */
static unsigned
receive(struct hs_pktio *io, unsigned want,
	void (*check)(const struct hs_pkt *p, void *arg), void *arg)
{
	uint64_t end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	struct hs_pkt pkts[32];
	unsigned got = 0;

	while (got < want && hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd = { .fd = hs_udp_fd(io), .events = POLLIN };
		int n = hs_pktio_rx_burst(io, pkts, 32), i;

		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			if (check != NULL)
				check(&pkts[i], arg);
		got += (unsigned)n;
		if (n == 0)
			poll(&pfd, 1, 100);
	}
	return got;
}

/* datagram i: length 1 + i * 37 % 1400, bytes from i */
static uint16_t
dg_len(unsigned i)
{
	return (uint16_t)(1 + (i * 37u) % 1400u);
}

static void
dg_fill(uint8_t *b, unsigned i)
{
	unsigned k;

	for (k = 0; k < dg_len(i); k++)
		b[k] = (uint8_t)(i * 131u + k);
}

struct seen {
	struct hs_addr from;
	unsigned next;
};

static void
check_in_order(const struct hs_pkt *p, void *arg)
{
	struct seen *s = arg;
	uint8_t want[1500];

	/* loopback keeps one sender's order */
	assert_true(hs_addr_eq(&p->peer, &s->from));
	assert_int_equal(p->len, dg_len(s->next));
	dg_fill(want, s->next);
	assert_memory_equal(p->data, want, p->len);
	s->next++;
}

static void
test_bursts(void **state)
{
	enum { N = 100 };
	static uint8_t bufs[N][1500];
	struct hs_pkt pkts[N];
	struct hs_pktio *a = open_lo(0, false), *b = open_lo(0, false);
	struct seen s = { .from = a->local };
	unsigned i;

	(void)state;
	for (i = 0; i < N; i++) {
		dg_fill(bufs[i], i);
		pkts[i].data = bufs[i];
		pkts[i].len = dg_len(i);
		pkts[i].peer = b->local;
	}
	/* 100 in one call: more than one sendmmsg burst */
	assert_int_equal(hs_pktio_tx_burst(a, pkts, N), N);
	assert_int_equal(a->stats.tx_pkts, N);
	assert_int_equal(a->stats.tx_drops, 0);
	assert_int_equal(receive(b, N, check_in_order, &s), N);
	assert_int_equal(s.next, N);
	assert_int_equal(b->stats.rx_pkts, N);
	hs_pktio_close(a);
	hs_pktio_close(b);
}

static void
collect_len(const struct hs_pkt *p, void *arg)
{
	unsigned *lens = arg;

	*lens = *lens * 10 + p->len;
}

/* What cannot go out is dropped and counted, in place, and the rest of
 * the burst still goes, in order; a datagram longer than the receiver's
 * frame_max is dropped there and counted. */
static void
test_drops(void **state)
{
	static uint8_t big[2000], small[8] = "fine";
	struct hs_pktio *a = open_lo(0, false), *b = open_lo(0, false);
	struct hs_addr v6 = { .family = 6, .port = 9 };
	struct hs_pkt pkts[4] = {
		{ .data = small, .len = 4, .peer = b->local },
		{ .data = big, .len = 1500, .peer = b->local },	/* > 1472 */
		{ .data = small, .len = 4, .peer = v6 },	/* v6 on v4 */
		{ .data = small, .len = 5, .peer = b->local },
	};
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(b->local.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned lens = 0;
	int fd;

	(void)state;
	assert_int_equal(hs_pktio_tx_burst(a, pkts, 4), 2);
	assert_int_equal(a->stats.tx_pkts, 2);
	assert_int_equal(a->stats.tx_drops, 2);
	/* a raw sender with a datagram over b's frame_max, then a good one */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, big, 1473, 0, (struct sockaddr *)&sa,
				sizeof(sa)), 1473);
	assert_int_equal(sendto(fd, small, 3, 0, (struct sockaddr *)&sa,
				sizeof(sa)), 3);
	close(fd);
	/* 4 then 5 from a, then 3 from the raw sender: one socket queue,
	 * in send order, the 1473-byte one dropped between them */
	assert_int_equal(receive(b, 3, collect_len, &lens), 3);
	assert_int_equal(lens, 453);
	assert_int_equal(b->stats.rx_drops, 1);
	assert_int_equal(b->stats.rx_pkts, 3);
	hs_pktio_close(a);
	hs_pktio_close(b);
}

static void
test_open_errors(void **state)
{
	struct hs_udp_params p = { .local = hs_addr_v4(127, 0, 0, 1, 0) };
	struct hs_pktio *a, *b = NULL;

	(void)state;
	p.local.family = 5;
	assert_int_equal(hs_udp_open(&p, &a), -EINVAL);
	p.local.family = 4;
	p.burst = HS_UDP_BURST_MAX + 1;
	assert_int_equal(hs_udp_open(&p, &a), -EINVAL);
	p.burst = 0;
	/* an address this host does not have */
	p.local = hs_addr_v4(192, 0, 2, 77, 0);
	assert_int_equal(hs_udp_open(&p, &a), -EADDRNOTAVAIL);
	/* a port taken without SO_REUSEPORT */
	a = open_lo(0, false);
	p.local = a->local;
	assert_int_equal(hs_udp_open(&p, &b), -EADDRINUSE);
	hs_pktio_close(a);
}

/* Two SO_REUSEPORT handles on one port share the datagrams of many
 * senders between them, and lose none. */
static void
test_reuseport_spreads(void **state)
{
	enum { SENDERS = 32, EACH = 4 };
	struct hs_pktio *r0 = open_lo(0, true), *r1, *s[SENDERS];
	uint8_t b = 1;
	unsigned i, k, got0 = 0, got1 = 0;
	uint64_t end;

	(void)state;
	r1 = open_lo(r0->local.port, true);
	for (i = 0; i < SENDERS; i++) {
		struct hs_pkt p[EACH];

		s[i] = open_lo(0, false);
		for (k = 0; k < EACH; k++)
			p[k] = (struct hs_pkt){ .data = &b, .len = 1,
						.peer = r0->local };
		assert_int_equal(hs_pktio_tx_burst(s[i], p, EACH), EACH);
	}
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	while (got0 + got1 < SENDERS * EACH &&
	       hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd[2] = { { .fd = hs_udp_fd(r0),
					   .events = POLLIN },
					 { .fd = hs_udp_fd(r1),
					   .events = POLLIN } };
		struct hs_pkt in[32];
		int n0 = hs_pktio_rx_burst(r0, in, 32);
		int n1 = hs_pktio_rx_burst(r1, in, 32);

		assert_true(n0 >= 0 && n1 >= 0);
		got0 += (unsigned)n0;
		got1 += (unsigned)n1;
		if (n0 + n1 == 0)
			poll(pfd, 2, 100);
	}
	printf("# reuseport: %u and %u of %u datagrams\n", got0, got1,
	       SENDERS * EACH);
	assert_int_equal(got0 + got1, SENDERS * EACH);
	/* 32 source ports hashed over 2 sockets: both get some (the chance
	 * that all land on one is 2^-31) */
	assert_true(got0 > 0 && got1 > 0);
	for (i = 0; i < SENDERS; i++)
		hs_pktio_close(s[i]);
	hs_pktio_close(r0);
	hs_pktio_close(r1);
}

/* Three real nodes on the loopback, real time: every node ends up
 * holding every node's key and seeing the two others alive. */
static void
test_three_nodes_converge(void **state)
{
	enum { N = 3 };
	struct hs_pktio *io[N];
	struct hs_node *nd[N];
	struct hs_addr seed;
	uint64_t end;
	unsigned i, j, rounds = 0;
	bool done = false;

	(void)state;
	for (i = 0; i < N; i++)
		io[i] = open_lo(0, false);
	seed = io[0]->local;
	for (i = 0; i < N; i++) {
		struct hs_node_params p = { 0 };
		char name[16], key[16];

		snprintf(name, sizeof(name), "udp-%u", i);
		p.id = 10 + i;
		p.generation = 1;
		p.name = name;
		p.cluster_id = 5;
		p.seeds = &seed;
		p.n_seeds = 1;
		p.rng_seed = test_seed + i;
		p.io = io[i];
		p.notify_bytes = 64 * 1024;
		assert_int_equal(hs_node_create(&p, &nd[i]), 0);
		snprintf(key, sizeof(key), "k%u", i);
		assert_true(hs_put(nd[i], key, strlen(key), name,
				   strlen(name)) > 0);
	}
	end = hs_clock_monotonic(NULL) + DEADLINE_NS;
	while (!done && hs_clock_monotonic(NULL) < end) {
		struct pollfd pfd[N];
		uint64_t next = UINT64_MAX, now;

		for (i = 0; i < N; i++) {
			while (hs_node_poll(nd[i]) > 0)
				;
			if (hs_node_next_round(nd[i]) < next)
				next = hs_node_next_round(nd[i]);
			pfd[i] = (struct pollfd){ .fd = hs_udp_fd(io[i]),
						  .events = POLLIN };
		}
		urcu_qsbr_quiescent_state();
		done = true;
		for (i = 0; i < N && done; i++)
			for (j = 0; j < N && done; j++) {
				struct hs_member_info mi;
				struct hs_table_kv kv;
				char key[16];

				snprintf(key, sizeof(key), "k%u", j);
				done = hs_get(nd[i], 10 + j, key, strlen(key),
					      &kv) == 0 &&
				       hs_member(nd[i], 10 + j, &mi) == 0 &&
				       mi.status == HS_WIRE_ST_ALIVE;
			}
		/* idle until a datagram or the next round is due */
		now = hs_clock_monotonic(NULL);
		urcu_qsbr_thread_offline();
		poll(pfd, N, next > now ? (int)((next - now) / 1000000) + 1 :
					  0);
		urcu_qsbr_thread_online();
		rounds++;
	}
	assert_true(done);
	for (i = 0; i < N; i++) {
		struct hs_node_stats st;

		hs_node_stats(nd[i], &st);
		printf("# node %u: %" PRIu64 " rounds, %" PRIu64 " frames in, "
		       "%" PRIu64 " out, %" PRIu64 " bad\n", i, st.rounds,
		       st.rx_frames, st.tx_frames, st.rx_bad);
		assert_int_equal(st.rx_bad, 0);
		assert_int_equal(st.members, N - 1);
	}
	for (i = 0; i < N; i++) {
		hs_node_destroy(nd[i]);
		hs_pktio_close(io[i]);
	}
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	(void)rounds;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bursts),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_reuseport_spreads),
		cmocka_unit_test(test_three_nodes_converge),
	};
	int rc;

	test_seed = hs_test_seed("test_udp");
	urcu_qsbr_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
