/*
 * hearsay drivers by name.  See any.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/afpacket.h"
#include "drivers/any.h"
#include "drivers/udp.h"
#ifdef HS_HAVE_DPDK
#include <rte_lcore.h>
#include "drivers/dpdk.h"
#endif

enum hs_drv_kind { HS_DRV_UDP, HS_DRV_AFPACKET, HS_DRV_DPDK };

/* A queue that loses frames on purpose (conf.loss): the driver's handle
 * inside, the engine sees this one. */
struct hs_drv_lossy {
	struct hs_pktio io;
	struct hs_pktio *inner;
	uint64_t rng;
	uint64_t keep_below;		/* a draw under it keeps the frame */
	uint64_t injected;
};

struct hs_drv {
	enum hs_drv_kind kind;
	unsigned n;
	struct hs_pktio *q[HS_DRV_QUEUES_MAX];
	struct hs_drv_lossy *lossy[HS_DRV_QUEUES_MAX];
#ifdef HS_HAVE_DPDK
	struct hs_dpdk_port *port;
#endif
};

static struct hs_l2_if
hs_drv_l2_if(const struct hs_drv_conf *c)
{
	struct hs_l2_if me;

	memset(&me, 0, sizeof(me));
	memcpy(me.ip, c->ip, 4);
	me.port = c->port;
	me.n_ports = c->n_ports;
	return me;
}

static int
hs_drv_open_udp(const struct hs_drv_conf *c, struct hs_drv *d)
{
	unsigned k;
	int rc;

	for (k = 0; k < d->n; k++) {
		struct hs_udp_params p = {
			.local = hs_addr_v4(c->ip[0], c->ip[1], c->ip[2],
					    c->ip[3], c->port),
			.frame_max = c->frame_max,
			.reuseport = d->n > 1,
		};

		rc = hs_udp_open(&p, &d->q[k]);
		if (rc != 0) {
			fprintf(stderr, "udp driver: socket %u on port %u: %s\n",
				k, c->port, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int
hs_lossy_rx(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n)
{
	struct hs_drv_lossy *l = (struct hs_drv_lossy *)io;
	int got = hs_pktio_rx_burst(l->inner, pkts, n);
	unsigned i, kept = 0;

	for (i = 0; got > 0 && i < (unsigned)got; i++) {
		l->rng ^= l->rng << 13;
		l->rng ^= l->rng >> 7;
		l->rng ^= l->rng << 17;
		if ((l->rng >> 11) < l->keep_below)
			pkts[kept++] = pkts[i];
		else
			l->injected++;
	}
	io->stats = l->inner->stats;
	return got > 0 ? (int)kept : got;
}

static int
hs_lossy_tx(struct hs_pktio *io, const struct hs_pkt *pkts, unsigned n)
{
	struct hs_drv_lossy *l = (struct hs_drv_lossy *)io;
	int sent = hs_pktio_tx_burst(l->inner, pkts, n);

	io->stats = l->inner->stats;
	return sent;
}

static void
hs_lossy_close(struct hs_pktio *io)
{
	(void)io;	/* the inner handle and this one: hs_drv_close */
}

static const struct hs_pktio_ops hs_lossy_ops = {
	.rx_burst = hs_lossy_rx,
	.tx_burst = hs_lossy_tx,
	.close = hs_lossy_close,
};

static int
hs_drv_lossy_wrap(struct hs_drv *d, const struct hs_drv_conf *c)
{
	unsigned k;

	for (k = 0; k < d->n; k++) {
		struct hs_drv_lossy *l = calloc(1, sizeof(*l));

		if (l == NULL)
			return -ENOMEM;
		l->inner = d->q[k];
		l->io.ops = &hs_lossy_ops;
		l->io.local = l->inner->local;
		l->io.frame_max = l->inner->frame_max;
		l->rng = (c->loss_seed ^ (0x9e3779b97f4a7c15ull * (k + 1))) | 1;
		l->keep_below = (uint64_t)((1.0 - c->loss) *
					   (double)(1ull << 53));
		d->lossy[k] = l;
	}
	return 0;
}

static int
hs_drv_open_afpacket(const struct hs_drv_conf *c, struct hs_drv *d)
{
	unsigned k;
	int rc;

	if (c->iface == NULL) {
		fprintf(stderr, "afpacket driver: no interface given\n");
		return -EINVAL;
	}
	for (k = 0; k < d->n; k++) {
		struct hs_afpacket_params p = {
			.ifname = c->iface,
			.me = hs_drv_l2_if(c),
			/* one group per port and namespace */
			.fanout_group = d->n > 1 ? c->port : 0,
			.no_udp_csum = c->no_udp_csum,
		};

		rc = hs_afpacket_open(&p, &d->q[k]);
		if (rc != 0) {
			fprintf(stderr, "afpacket driver: %s queue %u: %s\n",
				c->iface, k, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

#ifdef HS_HAVE_DPDK
static int
hs_drv_open_dpdk(const struct hs_drv_conf *c, struct hs_drv *d)
{
	struct hs_dpdk_port_params p;
	const char *argv[64];
	char *eal = NULL, *tok, *save = NULL;
	int argc = 0, rc;
	unsigned k;

	if (c->dev == NULL) {
		fprintf(stderr, "dpdk driver: no device (port name) given\n");
		return -EINVAL;
	}
	if (c->eal != NULL) {
		eal = strdup(c->eal);
		if (eal == NULL)
			return -ENOMEM;
		for (tok = strtok_r(eal, " ", &save); tok != NULL && argc < 64;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
	}
	rc = hs_dpdk_init(argc, argv);
	free(eal);
	if (rc != 0 && rc != -EALREADY) {
		fprintf(stderr, "dpdk driver: EAL: %s\n", strerror(-rc));
		return rc;
	}
	memset(&p, 0, sizeof(p));
	p.dev = c->dev;
	p.n_queues = d->n;
	p.me = hs_drv_l2_if(c);
	p.no_udp_csum = c->no_udp_csum;
	rc = hs_dpdk_port_open(&p, &d->port);
	if (rc != 0) {
		fprintf(stderr, "dpdk driver: port %s: %s\n", c->dev,
			strerror(-rc));
		return rc;
	}
	for (k = 0; k < d->n; k++) {
		rc = hs_dpdk_queue(d->port, k, &d->q[k]);
		if (rc != 0)
			return rc;
	}
	return 0;
}
#endif

int
hs_drv_open(const struct hs_drv_conf *conf, struct hs_drv **out)
{
	struct hs_drv_conf c = *conf;
	struct hs_drv *d;
	int rc;

	if (c.port == 0)
		c.port = 7946;
	if (c.queues == 0)
		c.queues = 1;
	if (c.driver == NULL || c.queues > HS_DRV_QUEUES_MAX) {
		fprintf(stderr, "driver: none named, or over %u queues\n",
			HS_DRV_QUEUES_MAX);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->n = c.queues;
	if (strcmp(c.driver, "udp") == 0) {
		d->kind = HS_DRV_UDP;
		rc = hs_drv_open_udp(&c, d);
	} else if (strcmp(c.driver, "afpacket") == 0) {
		d->kind = HS_DRV_AFPACKET;
		rc = hs_drv_open_afpacket(&c, d);
	} else if (strcmp(c.driver, "dpdk") == 0) {
		d->kind = HS_DRV_DPDK;
#ifdef HS_HAVE_DPDK
		rc = hs_drv_open_dpdk(&c, d);
#else
		fprintf(stderr, "dpdk driver: not in this build (libdpdk-dev "
			"was missing when it was configured)\n");
		rc = -ENOTSUP;
#endif
	} else {
		fprintf(stderr, "driver: unknown driver \"%s\" (udp, afpacket, "
			"dpdk)\n", c.driver);
		rc = -EINVAL;
	}
	if (rc == 0 && c.loss > 0) {
		if (c.loss > 0.9) {
			fprintf(stderr, "driver: loss %.3f: at most 0.9\n",
				c.loss);
			rc = -EINVAL;
		} else {
			rc = hs_drv_lossy_wrap(d, &c);
		}
	}
	if (rc != 0) {
		hs_drv_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

unsigned
hs_drv_queues(const struct hs_drv *d)
{
	return d->n;
}

struct hs_pktio *
hs_drv_queue(struct hs_drv *d, unsigned q)
{
	if (q >= d->n)
		return NULL;
	return d->lossy[q] != NULL ? &d->lossy[q]->io : d->q[q];
}

int
hs_drv_fd(const struct hs_drv *d, unsigned q)
{
	if (q >= d->n || d->q[q] == NULL)
		return -1;
	switch (d->kind) {
	case HS_DRV_UDP:
		return hs_udp_fd(d->q[q]);
	case HS_DRV_AFPACKET:
		return hs_afpacket_fd(d->q[q]);
	default:
		return -1;
	}
}

void
hs_drv_thread_init(const struct hs_drv *d)
{
#ifdef HS_HAVE_DPDK
	if (d->kind == HS_DRV_DPDK && rte_lcore_id() == LCORE_ID_ANY)
		(void)rte_thread_register();
#else
	(void)d;
#endif
}

void
hs_drv_stats_json(const struct hs_drv *d, unsigned q, FILE *f)
{
	const struct hs_pktio *io = q < d->n ? d->q[q] : NULL;
	unsigned i;

	if (io == NULL) {
		fprintf(f, "{}");
		return;
	}
	if (d->lossy[q] != NULL)
		fprintf(f, "{\"loss_injected\": %" PRIu64 ", ",
			d->lossy[q]->injected);
	else
		fputc('{', f);
	fprintf(f, "\"rx_pkts\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
		", \"tx_pkts\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
		", \"rx_drops\": %" PRIu64 ", \"tx_drops\": %" PRIu64,
		io->stats.rx_pkts, io->stats.rx_bytes, io->stats.tx_pkts,
		io->stats.tx_bytes, io->stats.rx_drops, io->stats.tx_drops);
	if (d->kind == HS_DRV_AFPACKET) {
		struct hs_afpacket_stats st;

		hs_afpacket_stats(io, &st);
		for (i = 0; i < HS_L2_BAD_MAX; i++)
			fprintf(f, ", \"bad_%s\": %" PRIu64,
				hs_l2_bad_name((enum hs_l2_bad)i), st.bad[i]);
		fprintf(f, ", \"other\": %" PRIu64 ", \"ring_drops\": %" PRIu64
			", \"arp_in\": %" PRIu64 ", \"arp_replies\": %" PRIu64
			", \"arp_requests\": %" PRIu64 ", \"tx_unresolved\": %"
			PRIu64 ", \"tx_ring_full\": %" PRIu64
			", \"holders\": %u", st.other, st.ring_drops,
			st.arp_in, st.arp_replies, st.arp_requests_sent,
			st.tx_unresolved, st.tx_ring_full, st.n_holders);
	}
#ifdef HS_HAVE_DPDK
	if (d->kind == HS_DRV_DPDK) {
		struct hs_dpdk_stats st;

		hs_dpdk_queue_stats(io, &st);
		for (i = 0; i < HS_L2_BAD_MAX; i++)
			fprintf(f, ", \"bad_%s\": %" PRIu64,
				hs_l2_bad_name((enum hs_l2_bad)i),
				st.rx_bad[i]);
		fprintf(f, ", \"other\": %" PRIu64 ", \"arp_in\": %" PRIu64
			", \"arp_shared\": %" PRIu64 ", \"arp_replies\": %"
			PRIu64 ", \"arp_requests\": %" PRIu64
			", \"tx_unresolved\": %" PRIu64 ", \"tx_nombuf\": %"
			PRIu64 ", \"tx_full\": %" PRIu64 ", \"imissed\": %"
			PRIu64 ", \"mbufs_in_use\": %u", st.rx_other,
			st.arp_in, st.arp_shared, st.arp_replies,
			st.arp_requests, st.tx_unresolved, st.tx_nombuf,
			st.tx_full, st.port_imissed,
			hs_dpdk_mbufs_in_use(d->port));
	}
#endif
	fprintf(f, "}");
}

void
hs_drv_close(struct hs_drv *d)
{
	unsigned k;

	if (d == NULL)
		return;
	for (k = 0; k < d->n; k++) {
		if (d->q[k] != NULL)
			hs_pktio_close(d->q[k]);
		free(d->lossy[k]);
	}
#ifdef HS_HAVE_DPDK
	if (d->port != NULL) {
		hs_dpdk_port_close(d->port);
		hs_dpdk_fini();
	}
#endif
	free(d);
}
