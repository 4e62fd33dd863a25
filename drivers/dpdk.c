/*
 * hearsay DPDK driver.  See dpdk.h for the model.
 *
 * Control path (init, open, close) is plain ethdev setup in the order the
 * ethdev API requires: info -> configure -> adjust descriptors -> pool ->
 * queue setup -> MAC -> start -> promiscuous.  Everything a burst needs is
 * allocated there: the queue structs (on the port's NUMA socket, one cache
 * line aligned struct each, so that two workers never write one line), the
 * ARP tables, the ARP rings.
 *
 * Hot path (rx_burst, tx_burst) per burst: one rte_eth_rx_burst or one
 * rte_eth_tx_burst per 64 datagrams, one clock read, and per frame one
 * hs_l2_parse or one hs_l2_arp_lookup plus one hs_l2_build_udp into a
 * freshly allocated mbuf (the pool's per-lcore cache makes that a few
 * loads and stores).  No lock: the only shared structure is each queue's
 * multi-producer ARP ring, touched only by ARP frames.
 *
 * Counters are accumulated in locals and published once per burst with
 * relaxed stores (HS_COUNTER_ADD), so hs_dpdk_queue_stats may read them
 * from any thread.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "drivers/dpdk.h"
#include "engine/log.h"
#include "engine/util.h"

#define HS_DPDK_LOG		"driver.dpdk"

/* What RSS hashes when we turn it on: IPv4 addresses, and UDP ports for
 * unfragmented UDP, so that flows from one host but different source
 * ports go to different queues. */
#define HS_DPDK_RSS_HF		(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP)
#define HS_DPDK_TX_CSUM		(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
				 RTE_ETH_TX_OFFLOAD_UDP_CKSUM)

/* Datagrams per rte_eth_tx_burst; each may add one ARP request. */
#define HS_DPDK_TX_CHUNK	64
/* ARP frames passed between queues: a burst of them per queue is plenty
 * (a few per neighbour per ttl). */
#define HS_DPDK_ARP_RING	256
/* Shared ARP frames learned from per rx_burst at most (bounded work). */
#define HS_DPDK_ARP_DRAIN	32
#define HS_DPDK_CACHE		256	/* mempool per-lcore cache */

struct hs_dpdk_queue {
	struct hs_pktio io;		/* first: the handle is the queue */
	struct hs_dpdk_port *port;
	struct hs_l2_if me;		/* a copy, read for every frame */
	uint16_t port_id;
	uint16_t qid;
	uint16_t n_ports;		/* source ports to spread over, >= 1 */
	uint16_t ip_id;
	unsigned burst;
	bool tx_offload;
	bool udp_csum;			/* computed in software */
	struct rte_mempool *mp;
	struct hs_l2_arp *arp;
	struct rte_ring *arp_ring;	/* MP/SC, from the other queues; NULL
					 * with one queue */
	unsigned n_held;
	struct rte_mbuf *held[HS_DPDK_BURST_MAX];	/* the last burst */
	struct hs_dpdk_stats st;	/* port_* and arp filled on read */
} __rte_cache_aligned;

struct hs_dpdk_port {
	uint16_t port_id;
	char name[RTE_ETH_NAME_MAX_LEN];
	struct hs_dpdk_info info;
	struct rte_mempool *mp;
	unsigned in_use_started;	/* mbufs the device took at start */
	struct hs_dpdk_queue *q[HS_DPDK_QUEUES_MAX];
};

/* hs_dpdk_queue_stats copies the counters as an array of them */
_Static_assert(sizeof(struct hs_dpdk_stats) % sizeof(uint64_t) == 0,
	       "struct hs_dpdk_stats is all uint64_t counters");

static struct {
	bool up;			/* rte_eal_init succeeded */
	int argc;
	char **argv;			/* our copy: the EAL may keep
					 * pointers into it */
	struct hs_dpdk_port *ports[RTE_MAX_ETHPORTS];	/* open ones */
} hs_dpdk;

static inline struct hs_dpdk_queue *
hs_dpdk_queue_of(struct hs_pktio *io)
{
	return (struct hs_dpdk_queue *)io;
}

static inline uint64_t
hs_dpdk_now(uint64_t *now)
{
	if (*now == 0)
		*now = hs_clock_monotonic(NULL);
	return *now;
}

/* ---- EAL ---- */

static void
hs_dpdk_free_args(void)
{
	int i;

	if (hs_dpdk.argv == NULL)
		return;
	for (i = 0; i < hs_dpdk.argc; i++)
		free(hs_dpdk.argv[i]);
	free(hs_dpdk.argv);
	hs_dpdk.argv = NULL;
	hs_dpdk.argc = 0;
}

int
hs_dpdk_init(int argc, const char *const *argv)
{
	char line[1024];
	size_t off = 0;
	int i, rc, err;
	char **av;

	if (hs_dpdk.up)
		return -EALREADY;
	if (argc < 0 || (argc > 0 && argv == NULL))
		return -EINVAL;
	hs_dpdk_free_args();
	/* two copies of the pointers: getopt permutes the one the EAL gets,
	 * and we free the strings through the other */
	hs_dpdk.argv = calloc((size_t)argc + 2, sizeof(char *));
	av = calloc((size_t)argc + 2, sizeof(char *));
	if (hs_dpdk.argv == NULL || av == NULL)
		goto nomem;
	hs_dpdk.argv[0] = strdup("hearsay");
	hs_dpdk.argc = 1;
	if (hs_dpdk.argv[0] == NULL)
		goto nomem;
	for (i = 0; i < argc; i++) {
		hs_dpdk.argv[i + 1] = strdup(argv[i] != NULL ? argv[i] : "");
		if (hs_dpdk.argv[i + 1] == NULL)
			goto nomem;
		hs_dpdk.argc++;
	}
	memcpy(av, hs_dpdk.argv, (size_t)hs_dpdk.argc * sizeof(char *));
	for (i = 0; i < hs_dpdk.argc && off < sizeof(line); i++) {
		rc = snprintf(line + off, sizeof(line) - off, "%s%s",
			      i != 0 ? " " : "", hs_dpdk.argv[i]);
		off += rc > 0 ? (size_t)rc : 0;
	}

	rc = rte_eal_init(hs_dpdk.argc, av);
	err = rte_errno;
	free(av);
	if (rc < 0) {
		/* The EAL has printed which argument it refused (getopt's
		 * "unrecognized option", or its own "invalid ..."); the
		 * whole line says in which context. */
		HS_LOG(ERR, HS_DPDK_LOG, "rte_eal_init failed: %s; arguments: %s",
		       rte_strerror(err), line);
		hs_dpdk_free_args();
		return err > 0 ? -err : -EIO;
	}
	hs_dpdk.up = true;
	HS_LOG(NOTICE, HS_DPDK_LOG, "EAL up: %u ports, %u lcores (%s)",
	       rte_eth_dev_count_avail(), rte_lcore_count(), line);
	return 0;

nomem:
	free(av);
	hs_dpdk_free_args();
	return -ENOMEM;
}

/* The files a primary EAL creates in its runtime directory and leaves
 * there after rte_eal_cleanup.  Anything else (a secondary process's
 * socket) is not ours and keeps the directory. */
static bool
hs_dpdk_runtime_file(const char *name)
{
	static const char *const prefixes[] = {
		"config",
		"dpdk_telemetry",
		"fbarray_",
		"hugepage_data",
		"hugepage_info",
		"mp_socket",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static void
hs_dpdk_rm_runtime(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (hs_dpdk_runtime_file(de->d_name))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	if (rmdir(dir) != 0 && errno != ENOENT)
		HS_LOG(NOTICE, HS_DPDK_LOG, "runtime directory %s kept: %s",
		       dir, strerror(errno));
}

void
hs_dpdk_fini(void)
{
	char dir[PATH_MAX];
	bool primary;
	unsigned i;

	if (!hs_dpdk.up)
		return;
	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		if (hs_dpdk.ports[i] != NULL) {
			HS_LOG(WARNING, HS_DPDK_LOG,
			       "port %s still open at fini: closing it",
			       hs_dpdk.ports[i]->name);
			hs_dpdk_port_close(hs_dpdk.ports[i]);
		}
	primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (primary && dir[0] != '\0')
		hs_dpdk_rm_runtime(dir);
	hs_dpdk_free_args();
	hs_dpdk.up = false;
}

/* ---- receive ---- */

/* Free the mbufs of the previous burst: the engine is done with them. */
static inline void
hs_dpdk_release(struct hs_dpdk_queue *q)
{
	if (q->n_held != 0) {
		rte_pktmbuf_free_bulk(q->held, q->n_held);
		q->n_held = 0;
	}
}

/* Send frames built on the RX path (ARP replies) on this queue; what the
 * device does not take is freed and counted. */
static void
hs_dpdk_tx_ctl(struct hs_dpdk_queue *q, struct rte_mbuf **m, unsigned n)
{
	uint16_t sent = rte_eth_tx_burst(q->port_id, q->qid, m, (uint16_t)n);

	HS_COUNTER_ADD(q->st.arp_replies, sent);
	if (sent < n) {
		HS_COUNTER_ADD(q->st.tx_full, n - sent);
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	}
}

/* Learn from the ARP frames the other queues passed us.  Their replies
 * were sent by the queue that received them: ours is built into scratch
 * and dropped. */
static void
hs_dpdk_arp_drain(struct hs_dpdk_queue *q, uint64_t *now)
{
	uint8_t scratch[HS_L2_ARP_FRAME_LEN];
	void *objs[HS_DPDK_ARP_DRAIN];
	unsigned n, i;

	n = rte_ring_sc_dequeue_burst(q->arp_ring, objs, HS_DPDK_ARP_DRAIN,
				      NULL);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];

		(void)hs_l2_arp_input(q->arp,
				      rte_pktmbuf_mtod(m, const uint8_t *),
				      rte_pktmbuf_data_len(m), &q->me,
				      hs_dpdk_now(now), scratch,
				      sizeof(scratch));
		rte_pktmbuf_free(m);
	}
	if (n != 0)
		HS_COUNTER_ADD(q->st.arp_shared, n);
}

/* Hand one more reference to m to every other queue's ARP ring, then drop
 * ours.  The frame is read-only from here on. */
static void
hs_dpdk_arp_share(struct hs_dpdk_queue *q, struct rte_mbuf *m)
{
	const struct hs_dpdk_port *port = q->port;
	unsigned i, n = port->info.n_queues;

	if (n > 1) {
		rte_mbuf_refcnt_update(m, (int16_t)(n - 1));
		for (i = 0; i < n; i++) {
			if (i == q->qid)
				continue;
			if (rte_ring_mp_enqueue(port->q[i]->arp_ring, m) != 0) {
				HS_COUNTER_INC(q->st.arp_share_drops);
				rte_pktmbuf_free(m);	/* that reference */
			}
		}
	}
	rte_pktmbuf_free(m);
}

/* An ARP frame for us or broadcast: learn, answer, share. */
static void
hs_dpdk_arp_rx(struct hs_dpdk_queue *q, struct rte_mbuf *m, uint64_t *now,
	       struct rte_mbuf **replies, unsigned *n_replies)
{
	uint8_t reply[HS_L2_ARP_FRAME_LEN];
	struct rte_mbuf *r;
	int len;

	/* the reply goes into scratch, not over the request in place: the
	 * request is passed on to the other queues */
	len = hs_l2_arp_input(q->arp, rte_pktmbuf_mtod(m, const uint8_t *),
			      rte_pktmbuf_data_len(m), &q->me, hs_dpdk_now(now),
			      reply, sizeof(reply));
	if (len < 0) {
		HS_COUNTER_INC(q->st.arp_bad);
		rte_pktmbuf_free(m);
		return;
	}
	if (len > 0) {
		r = rte_pktmbuf_alloc(q->mp);
		if (r != NULL) {
			memcpy(rte_pktmbuf_mtod(r, uint8_t *), reply,
			       (size_t)len);
			r->data_len = (uint16_t)len;
			r->pkt_len = (uint32_t)len;
			replies[(*n_replies)++] = r;
		} else {
			HS_COUNTER_INC(q->st.tx_nombuf);
		}
	}
	hs_dpdk_arp_share(q, m);
}

static int
hs_dpdk_rx_burst(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n)
{
	struct hs_dpdk_queue *q = hs_dpdk_queue_of(io);
	struct rte_mbuf *m[HS_DPDK_BURST_MAX], *replies[HS_DPDK_BURST_MAX];
	unsigned n_replies = 0, k = 0, other = 0, bad = 0, i;
	uint64_t now = 0, bytes = 0;
	uint16_t got;

	hs_dpdk_release(q);
	if (n == 0)
		return 0;
	if (q->arp_ring != NULL)
		hs_dpdk_arp_drain(q, &now);
	if (n > q->burst)
		n = q->burst;
	got = rte_eth_rx_burst(q->port_id, q->qid, m, (uint16_t)n);
	if (got == 0)
		return 0;
	for (i = 0; i < got; i++) {
		struct rte_mbuf *mb = m[i];
		enum hs_l2_bad why = HS_L2_BAD_TRUNC;

		if (i + 1 < got)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		if (hs_unlikely(mb->nb_segs != 1)) {
			/* larger than one mbuf: over any MTU we set up */
			HS_COUNTER_INC(q->st.rx_multiseg);
			bad++;
			rte_pktmbuf_free(mb);
			continue;
		}
		switch (hs_l2_parse(rte_pktmbuf_mtod(mb, const uint8_t *),
				    rte_pktmbuf_data_len(mb), &q->me, &pkts[k],
				    &why)) {
		case HS_L2_GOSSIP:
			bytes += pkts[k].len;
			q->held[q->n_held++] = mb;
			k++;
			break;
		case HS_L2_ARP:
			HS_COUNTER_INC(q->st.arp_in);
			hs_dpdk_arp_rx(q, mb, &now, replies, &n_replies);
			break;
		case HS_L2_OTHER:
			other++;
			rte_pktmbuf_free(mb);
			break;
		case HS_L2_BAD:
			HS_COUNTER_INC(q->st.rx_bad[why]);
			bad++;
			rte_pktmbuf_free(mb);
			break;
		}
	}
	if (n_replies != 0)
		hs_dpdk_tx_ctl(q, replies, n_replies);
	HS_COUNTER_ADD(q->st.rx_frames, got);
	HS_COUNTER_ADD(q->st.rx_gossip, k);
	HS_COUNTER_ADD(q->st.rx_other, other);
	HS_COUNTER_ADD(io->stats.rx_pkts, k);
	HS_COUNTER_ADD(io->stats.rx_bytes, bytes);
	HS_COUNTER_ADD(io->stats.rx_drops, bad);
	return (int)k;
}

/* ---- send ---- */

/* The source port for a destination: one of our n_ports, fixed per
 * destination (one flow per peer, in order), different across peers so
 * that a receiver's RSS spreads them.  A 32-bit mix (murmur3's finalizer)
 * of address and port, scaled onto the range without a division. */
static inline uint16_t
hs_dpdk_sport(const struct hs_dpdk_queue *q, const struct hs_addr *dst)
{
	uint32_t h;

	if (q->n_ports == 1)
		return q->me.port;
	h = ((uint32_t)dst->addr[0] << 24 | (uint32_t)dst->addr[1] << 16 |
	     (uint32_t)dst->addr[2] << 8 | dst->addr[3]) ^
	    ((uint32_t)dst->port * 0x9e3779b1u);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (uint16_t)(q->me.port + (((uint64_t)h * q->n_ports) >> 32));
}

/* Let the device compute both checksums: the IPv4 one zeroed, the UDP one
 * seeded with the pseudo-header sum (what rte_mbuf_core.h asks of
 * RTE_MBUF_F_TX_UDP_CKSUM). */
static inline void
hs_dpdk_tx_offload(struct rte_mbuf *m, uint8_t *frame)
{
	struct rte_ipv4_hdr *ip =
		(struct rte_ipv4_hdr *)(frame + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
		       RTE_MBUF_F_TX_UDP_CKSUM;
	ip->hdr_checksum = 0;
	udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
}

struct hs_dpdk_tx_batch {
	unsigned n;
	struct rte_mbuf *m[2 * HS_DPDK_TX_CHUNK];
	uint16_t len[2 * HS_DPDK_TX_CHUNK];	/* payload; 0: ARP request */
	unsigned unresolved, nombuf, invalid;	/* datagrams dropped */
	unsigned req_nombuf;			/* ARP requests not sent */
};

/* Queue one datagram as a frame in b, with an ARP request before it when
 * the table asks for one; or count why not. */
static void
hs_dpdk_tx_one(struct hs_dpdk_queue *q, const struct hs_pkt *p,
	       uint64_t now, struct hs_dpdk_tx_batch *b)
{
	struct rte_mbuf *m;
	uint8_t mac[6];
	bool want_request;
	uint8_t *frame;
	int rc, len;

	if (p->peer.family != 4 || p->peer.port == 0 ||
	    p->len > q->io.frame_max || (p->data == NULL && p->len != 0)) {
		b->invalid++;
		return;
	}
	rc = hs_l2_arp_lookup(q->arp, p->peer.addr, now, mac, &want_request);
	if (want_request) {
		m = rte_pktmbuf_alloc(q->mp);
		if (m != NULL) {
			len = hs_l2_arp_request(rte_pktmbuf_mtod(m, uint8_t *),
						rte_pktmbuf_tailroom(m),
						&q->me, p->peer.addr);
			m->data_len = (uint16_t)len;
			m->pkt_len = (uint32_t)len;
			b->len[b->n] = 0;
			b->m[b->n++] = m;
		} else {
			b->req_nombuf++;
		}
	}
	if (rc != 0) {
		/* -EAGAIN: not resolved; -EINVAL: not a host address */
		if (rc == -EAGAIN)
			b->unresolved++;
		else
			b->invalid++;
		return;
	}
	m = rte_pktmbuf_alloc(q->mp);
	if (m == NULL) {
		b->nombuf++;
		return;
	}
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	len = hs_l2_build_udp(frame, rte_pktmbuf_tailroom(m), &q->me, mac,
			      &p->peer, hs_dpdk_sport(q, &p->peer), &q->ip_id,
			      p->data, p->len, q->udp_csum);
	if (len < 0) {
		rte_pktmbuf_free(m);
		b->invalid++;
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	if (q->tx_offload)
		hs_dpdk_tx_offload(m, frame);
	b->len[b->n] = p->len;
	b->m[b->n++] = m;
}

static int
hs_dpdk_tx_burst(struct hs_pktio *io, const struct hs_pkt *pkts, unsigned n)
{
	struct hs_dpdk_queue *q = hs_dpdk_queue_of(io);
	struct hs_dpdk_tx_batch b;
	uint64_t now = hs_clock_monotonic(NULL), bytes = 0;
	unsigned done = 0, taken = 0, drops = 0, full = 0, requests = 0, i;

	/* learn what the other queues heard before looking anyone up: a
	 * reply that reached another queue first must not cost this one a
	 * dropped datagram */
	if (q->arp_ring != NULL)
		hs_dpdk_arp_drain(q, &now);
	b.unresolved = b.nombuf = b.invalid = b.req_nombuf = 0;
	while (done < n) {
		unsigned chunk = n - done < HS_DPDK_TX_CHUNK ? n - done :
							      HS_DPDK_TX_CHUNK;
		uint16_t sent;

		b.n = 0;
		for (i = 0; i < chunk; i++)
			hs_dpdk_tx_one(q, &pkts[done + i], now, &b);
		done += chunk;
		if (b.n == 0)
			continue;
		sent = rte_eth_tx_burst(q->port_id, q->qid, b.m, (uint16_t)b.n);
		for (i = 0; i < sent; i++) {
			if (b.len[i] == 0) {
				requests++;
			} else {
				taken++;
				bytes += b.len[i];
			}
		}
		/* the device is full: what it left is dropped, never
		 * waited for (pktio.h) */
		for (i = sent; i < b.n; i++) {
			full++;
			if (b.len[i] != 0)
				drops++;
			rte_pktmbuf_free(b.m[i]);
		}
	}
	drops += b.unresolved + b.nombuf + b.invalid;
	HS_COUNTER_ADD(io->stats.tx_pkts, taken);
	HS_COUNTER_ADD(io->stats.tx_bytes, bytes);
	HS_COUNTER_ADD(io->stats.tx_drops, drops);
	HS_COUNTER_ADD(q->st.arp_requests, requests);
	HS_COUNTER_ADD(q->st.tx_unresolved, b.unresolved);
	HS_COUNTER_ADD(q->st.tx_nombuf, b.nombuf + b.req_nombuf);
	HS_COUNTER_ADD(q->st.tx_invalid, b.invalid);
	HS_COUNTER_ADD(q->st.tx_full, full);
	return (int)taken;
}

/* Drop the pending burst and the ARP frames passed to this queue. */
static void
hs_dpdk_queue_flush(struct hs_dpdk_queue *q)
{
	void *m;

	hs_dpdk_release(q);
	if (q->arp_ring != NULL)
		while (rte_ring_sc_dequeue(q->arp_ring, &m) == 0)
			rte_pktmbuf_free(m);
}

static void
hs_dpdk_close(struct hs_pktio *io)
{
	if (io != NULL)
		hs_dpdk_queue_flush(hs_dpdk_queue_of(io));
}

static const struct hs_pktio_ops hs_dpdk_ops = {
	.rx_burst = hs_dpdk_rx_burst,
	.tx_burst = hs_dpdk_tx_burst,
	.close = hs_dpdk_close,
};

/* ---- port ---- */

static void
hs_dpdk_queue_free(struct hs_dpdk_queue *q)
{
	if (q == NULL)
		return;
	hs_dpdk_queue_flush(q);
	rte_ring_free(q->arp_ring);
	hs_l2_arp_destroy(q->arp);
	rte_free(q);
}

static int
hs_dpdk_queue_create(struct hs_dpdk_port *port, unsigned qid, int socket,
		     const struct hs_dpdk_port_params *p,
		     const struct hs_l2_if *me)
{
	struct hs_dpdk_queue *q;
	unsigned i;
	int rc;

	q = rte_zmalloc_socket("hs_dpdk_queue", sizeof(*q),
			       RTE_CACHE_LINE_SIZE, socket);
	if (q == NULL)
		return -ENOMEM;
	port->q[qid] = q;
	q->io.ops = &hs_dpdk_ops;
	q->io.local = hs_addr_v4(me->ip[0], me->ip[1], me->ip[2], me->ip[3],
				 me->port);
	q->io.frame_max = (uint16_t)hs_l2_payload_max(me);
	q->port = port;
	q->me = *me;
	q->port_id = port->port_id;
	q->qid = (uint16_t)qid;
	q->n_ports = me->n_ports != 0 ? me->n_ports : 1;
	q->burst = p->burst;
	q->tx_offload = port->info.tx_csum_offload;
	q->udp_csum = !q->tx_offload && !p->no_udp_csum;
	q->mp = port->mp;
	rc = hs_l2_arp_create(p->arp_capacity, p->arp_ttl_ns, &q->arp);
	if (rc < 0)
		return rc;
	for (i = 0; i < p->n_neighbours; i++) {
		rc = hs_l2_arp_static(q->arp, p->neighbours[i].ip,
				      p->neighbours[i].mac);
		if (rc < 0)
			return rc;
	}
	if (port->info.n_queues > 1) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "hs_arp_%u_%u", port->port_id,
			 qid);
		q->arp_ring = rte_ring_create(name, HS_DPDK_ARP_RING, socket,
					      RING_F_SC_DEQ);
		if (q->arp_ring == NULL)
			return rte_errno > 0 ? -rte_errno : -ENOMEM;
	}
	return 0;
}

/* The default pool: per queue, every RX and TX descriptor, a burst held
 * by the engine, a burst being built, a full ARP ring, and what the
 * per-lcore caches may hide (up to 1.5 x their size); rounded up to
 * 2^k - 1, the size a ring-backed mempool uses best. */
static unsigned
hs_dpdk_pool_size(unsigned n_queues, unsigned rx_desc, unsigned tx_desc,
		  unsigned burst)
{
	unsigned per_q = rx_desc + tx_desc + burst + 2 * HS_DPDK_TX_CHUNK +
			 HS_DPDK_ARP_RING + HS_DPDK_CACHE * 3 / 2;
	unsigned n = n_queues * per_q, p2 = 1;

	while (p2 - 1 < n)
		p2 <<= 1;
	return p2 - 1;
}

static void
hs_dpdk_port_free(struct hs_dpdk_port *port)
{
	unsigned i;

	for (i = 0; i < HS_DPDK_QUEUES_MAX; i++)
		hs_dpdk_queue_free(port->q[i]);
	rte_mempool_free(port->mp);
	rte_free(port);
}

static bool
hs_dpdk_mac_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static void
hs_dpdk_list_ports(char *buf, size_t cap)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t off = 0;
	uint16_t pid;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(pid) {
		int rc;

		if (rte_eth_dev_get_name_by_port(pid, name) != 0)
			continue;
		rc = snprintf(buf + off, cap - off, "%s%s", off ? ", " : "",
			      name);
		if (rc < 0 || (size_t)rc >= cap - off)
			break;
		off += (size_t)rc;
	}
}

int
hs_dpdk_port_open(const struct hs_dpdk_port_params *params,
		  struct hs_dpdk_port **out)
{
	struct hs_dpdk_port_params p;
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	struct rte_ether_addr dev_mac;
	struct hs_dpdk_port *port = NULL;
	struct hs_l2_if me;
	uint16_t port_id, rx_desc, tx_desc;
	char pool[RTE_MEMPOOL_NAMESIZE];
	unsigned q, data_room, cache;
	int socket, rc;

	if (params == NULL || out == NULL || params->dev == NULL)
		return -EINVAL;
	if (!hs_dpdk.up) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: the EAL is not up "
		       "(hs_dpdk_init)", params->dev);
		return -EINVAL;
	}
	p = *params;
	if (p.n_queues == 0)
		p.n_queues = 1;
	if (p.rx_desc == 0)
		p.rx_desc = HS_DPDK_DESC_DEFAULT;
	if (p.tx_desc == 0)
		p.tx_desc = HS_DPDK_DESC_DEFAULT;
	if (p.burst == 0)
		p.burst = 32;
	if (p.arp_capacity == 0)
		p.arp_capacity = HS_DPDK_ARP_CAPACITY;
	if (p.arp_ttl_ns == 0)
		p.arp_ttl_ns = HS_DPDK_ARP_TTL_NS;
	if (p.n_queues > HS_DPDK_QUEUES_MAX || p.burst > HS_DPDK_BURST_MAX ||
	    p.rx_desc > UINT16_MAX || p.tx_desc > UINT16_MAX ||
	    (p.n_neighbours != 0 && p.neighbours == NULL))
		return -EINVAL;

	if (rte_eth_dev_get_port_by_name(p.dev, &port_id) != 0) {
		char ports[512];

		hs_dpdk_list_ports(ports, sizeof(ports));
		HS_LOG(ERR, HS_DPDK_LOG, "no port named %s (ports: %s)", p.dev,
		       ports[0] != '\0' ? ports : "none");
		return -ENODEV;
	}
	if (hs_dpdk.ports[port_id] != NULL)
		return -EBUSY;
	rc = rte_eth_dev_info_get(port_id, &di);
	if (rc != 0)
		return rc;
	if (p.n_queues > di.max_rx_queues || p.n_queues > di.max_tx_queues) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: %u queues asked, it has %u "
		       "RX and %u TX", p.dev, p.n_queues, di.max_rx_queues,
		       di.max_tx_queues);
		return -EINVAL;
	}
	rc = rte_eth_macaddr_get(port_id, &dev_mac);
	if (rc != 0)
		return rc;
	me = p.me;
	if (hs_dpdk_mac_zero(me.mac))
		memcpy(me.mac, dev_mac.addr_bytes, 6);
	if (hs_l2_if_check(&me) != 0) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: bad interface (ip, port "
		       "range, mtu, or a MAC: a port without one of its own "
		       "needs me.mac)", p.dev);
		return -EINVAL;
	}
	if (hs_l2_mtu(&me) < di.min_mtu || hs_l2_mtu(&me) > di.max_mtu) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: mtu %u outside %u..%u",
		       p.dev, hs_l2_mtu(&me), di.min_mtu, di.max_mtu);
		return -EINVAL;
	}

	socket = rte_eth_dev_socket_id(port_id);
	port = rte_zmalloc_socket("hs_dpdk_port", sizeof(*port),
				  RTE_CACHE_LINE_SIZE, socket);
	if (port == NULL)
		return -ENOMEM;
	port->port_id = port_id;
	snprintf(port->name, sizeof(port->name), "%s", p.dev);
	port->info.port_id = port_id;
	snprintf(port->info.driver, sizeof(port->info.driver), "%s",
		 di.driver_name);
	memcpy(port->info.mac, me.mac, 6);
	port->info.mac_set = memcmp(me.mac, dev_mac.addr_bytes, 6) != 0;
	port->info.n_queues = p.n_queues;
	port->info.mtu = (uint16_t)hs_l2_mtu(&me);
	port->info.rss_capa = di.flow_type_rss_offloads;

	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = hs_l2_mtu(&me);
	/* RSS only where it spreads something and the device has it for
	 * IPv4/UDP; a hash function the device lacks would fail configure */
	if (p.n_queues > 1 && (di.flow_type_rss_offloads & HS_DPDK_RSS_HF)) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = NULL;	/* its own */
		conf.rx_adv_conf.rss_conf.rss_hf =
			HS_DPDK_RSS_HF & di.flow_type_rss_offloads;
		port->info.rss_hf = conf.rx_adv_conf.rss_conf.rss_hf;
	}
	if ((di.tx_offload_capa & HS_DPDK_TX_CSUM) == HS_DPDK_TX_CSUM) {
		conf.txmode.offloads |= HS_DPDK_TX_CSUM;
		port->info.tx_csum_offload = true;
	}
	/* every TX mbuf is ours, from one pool, with one reference: the
	 * PMD may skip the per-mbuf checks when it frees them */
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
		port->info.fast_free = true;
	}
	rc = rte_eth_dev_configure(port_id, (uint16_t)p.n_queues,
				   (uint16_t)p.n_queues, &conf);
	if (rc != 0) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: rte_eth_dev_configure: %s",
		       p.dev, rte_strerror(-rc));
		goto err;
	}
	rx_desc = (uint16_t)p.rx_desc;
	tx_desc = (uint16_t)p.tx_desc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
	if (rc != 0)
		goto err;
	port->info.rx_desc = rx_desc;
	port->info.tx_desc = tx_desc;

	/* one mbuf holds the largest frame of our MTU, with room for an FCS
	 * and a VLAN tag a device may leave on it */
	data_room = HS_L2_FRAME_MAX(hs_l2_mtu(&me)) + RTE_ETHER_CRC_LEN +
		    RTE_VLAN_HLEN;
	if (data_room < RTE_MBUF_DEFAULT_DATAROOM)
		data_room = RTE_MBUF_DEFAULT_DATAROOM;
	data_room += RTE_PKTMBUF_HEADROOM;
	port->info.n_mbufs = p.n_mbufs != 0 ? p.n_mbufs :
			     hs_dpdk_pool_size(p.n_queues, rx_desc, tx_desc,
					       p.burst);
	cache = HS_DPDK_CACHE;
	while (cache != 0 && cache * 3 / 2 > port->info.n_mbufs)
		cache /= 2;
	snprintf(pool, sizeof(pool), "hs_dpdk_%u", port_id);
	port->mp = rte_pktmbuf_pool_create(pool, port->info.n_mbufs, cache, 0,
					   (uint16_t)data_room, socket);
	if (port->mp == NULL) {
		rc = rte_errno > 0 ? -rte_errno : -ENOMEM;
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: pool of %u mbufs: %s",
		       p.dev, port->info.n_mbufs, rte_strerror(-rc));
		goto err;
	}
	for (q = 0; q < p.n_queues; q++) {
		struct rte_eth_rxconf rxconf = di.default_rxconf;
		struct rte_eth_txconf txconf = di.default_txconf;

		rxconf.offloads = conf.rxmode.offloads;
		txconf.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(port_id, (uint16_t)q, rx_desc,
					    (unsigned)socket, &rxconf,
					    port->mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port_id, (uint16_t)q,
						    tx_desc, (unsigned)socket,
						    &txconf);
		if (rc != 0) {
			HS_LOG(ERR, HS_DPDK_LOG, "port %s: queue %u setup: %s",
			       p.dev, q, rte_strerror(-rc));
			goto err;
		}
	}
	/* all queues exist before any is used: a queue passes ARP frames to
	 * every other one */
	for (q = 0; q < p.n_queues; q++) {
		rc = hs_dpdk_queue_create(port, q, socket, &p, &me);
		if (rc != 0)
			goto err;
	}

	if (port->info.mac_set) {
		struct rte_ether_addr ea;

		memcpy(ea.addr_bytes, me.mac, 6);
		if (rte_eth_dev_default_mac_addr_set(port_id, &ea) != 0) {
			/* a device that will not take our MAC may filter
			 * frames to it: take everything, sort in software */
			HS_LOG(NOTICE, HS_DPDK_LOG, "port %s: cannot set its "
			       "MAC, promiscuous instead", p.dev);
			p.promiscuous = true;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		HS_LOG(ERR, HS_DPDK_LOG, "port %s: rte_eth_dev_start: %s",
		       p.dev, rte_strerror(-rc));
		goto err;
	}
	if (p.promiscuous && rte_eth_promiscuous_enable(port_id) != 0)
		HS_LOG(WARNING, HS_DPDK_LOG, "port %s: promiscuous mode "
		       "refused", p.dev);
	port->info.promiscuous = rte_eth_promiscuous_get(port_id) == 1;
	port->in_use_started = rte_mempool_in_use_count(port->mp);

	hs_dpdk.ports[port_id] = port;
	*out = port;
	HS_LOG(NOTICE, HS_DPDK_LOG, "port %s (%s) up: %u queues, %u/%u "
	       "descriptors, %u mbufs, mtu %u, rss %#" PRIx64 " of %#" PRIx64
	       ", tx checksums %s, mac %02x:%02x:%02x:%02x:%02x:%02x%s",
	       p.dev, di.driver_name, p.n_queues, rx_desc, tx_desc,
	       port->info.n_mbufs, port->info.mtu, port->info.rss_hf,
	       port->info.rss_capa,
	       port->info.tx_csum_offload ? "by the device" :
	       p.no_udp_csum ? "IPv4 in software, UDP none (0)" :
			       "in software",
	       me.mac[0], me.mac[1], me.mac[2], me.mac[3], me.mac[4],
	       me.mac[5], port->info.promiscuous ? ", promiscuous" : "");
	return 0;

err:
	/* The device stays configured and stopped (a vdev is not
	 * destroyed), so that it can be opened again. */
	hs_dpdk_port_free(port);
	return rc < 0 ? rc : -EIO;
}

int
hs_dpdk_queue(struct hs_dpdk_port *port, unsigned q, struct hs_pktio **out)
{
	if (port == NULL || out == NULL || q >= port->info.n_queues)
		return -EINVAL;
	*out = &port->q[q]->io;
	return 0;
}

void
hs_dpdk_port_close(struct hs_dpdk_port *port)
{
	unsigned i, left;
	int rc;

	if (port == NULL)
		return;
	/* the held bursts and the ARP rings first, then the device: stop
	 * frees what its RX and TX rings hold */
	for (i = 0; i < port->info.n_queues; i++)
		hs_dpdk_queue_flush(port->q[i]);
	rc = rte_eth_dev_stop(port->port_id);
	if (rc != 0)
		HS_LOG(WARNING, HS_DPDK_LOG, "port %s: stop: %s", port->name,
		       rte_strerror(-rc));
	rc = rte_eth_dev_close(port->port_id);
	if (rc != 0)
		HS_LOG(WARNING, HS_DPDK_LOG, "port %s: close: %s", port->name,
		       rte_strerror(-rc));
	/* Nothing of ours holds an mbuf now.  Some PMDs keep, past close,
	 * what they took at start and what they sent but had not reclaimed
	 * (net_af_xdp: its fill ring, and TX completions it collects on the
	 * next send), which goes with the device.  More than that is held by
	 * someone else (a peer port wired in memory): freeing the pool under
	 * it is a bug. */
	left = rte_mempool_in_use_count(port->mp);
	if (left > port->in_use_started + port->info.n_queues *
		   port->info.tx_desc)
		HS_LOG(WARNING, HS_DPDK_LOG, "port %s: %u mbufs still held "
		       "elsewhere at close", port->name, left);
	else if (left != 0)
		HS_LOG(INFO, HS_DPDK_LOG, "port %s: the PMD kept %u mbufs "
		       "past close", port->name, left);
	hs_dpdk.ports[port->port_id] = NULL;
	HS_LOG(NOTICE, HS_DPDK_LOG, "port %s closed", port->name);
	hs_dpdk_port_free(port);
}

void
hs_dpdk_port_info(const struct hs_dpdk_port *port, struct hs_dpdk_info *info)
{
	*info = port->info;
}

void
hs_dpdk_queue_stats(const struct hs_pktio *io, struct hs_dpdk_stats *st)
{
	const struct hs_dpdk_queue *q = (const struct hs_dpdk_queue *)io;
	const uint64_t *src = (const uint64_t *)&q->st;
	uint64_t *dst = (uint64_t *)st;
	struct rte_eth_stats es;
	size_t i;

	/* every field is a uint64_t counter written by the queue's thread:
	 * copied one relaxed load at a time */
	for (i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = HS_COUNTER_READ(src[i]);
	if (rte_eth_stats_get(q->port_id, &es) == 0) {
		st->port_rx_nombuf = es.rx_nombuf;
		st->port_imissed = es.imissed;
		st->port_ierrors = es.ierrors;
		st->port_oerrors = es.oerrors;
	}
	hs_l2_arp_stats(q->arp, &st->arp);
}

unsigned
hs_dpdk_mbufs_in_use(const struct hs_dpdk_port *port)
{
	return rte_mempool_in_use_count(port->mp);
}

/*
 * LeakSanitizer, in a sanitizer build of any program linking this driver:
 * two leaks of DPDK 22.11 itself, not ours to fix (every allocation of
 * hearsay's own code is still checked):
 *   - the EAL keeps a copy of its arguments (eal_save_args) and does not
 *     free it when it refuses them;
 *   - net_af_xdp does not delete the libxdp umem of a queue whose umem is
 *     its mempool: 80 bytes per queue closed.
 * Without a sanitizer nothing calls it.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:librte_eal.so\n"
	       "leak:xsk_umem__create\n";
}
