/*
 * hearsay kernel UDP driver.  See udp.h.
 *
 * Everything a burst needs is allocated at open: the receive buffers, the
 * mmsghdr/iovec/sockaddr arrays for recvmmsg and sendmmsg.  A burst is one
 * system call each way; a send that stops early (EAGAIN: the socket buffer
 * is full) drops the datagram it stopped at, counts it, and carries on
 * with the rest in the next call, so that one bad destination does not
 * cost the others their turn.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/udp.h"
#include "engine/util.h"

struct hs_udp {
	struct hs_pktio io;		/* first: the handle is the socket */
	int fd;
	unsigned burst;
	uint8_t *bufs;			/* burst x frame_max, rx */
	struct mmsghdr *rx_msg;
	struct iovec *rx_iov;
	struct sockaddr_storage *rx_sa;
	struct mmsghdr *tx_msg;		/* HS_UDP_BURST_MAX */
	struct iovec *tx_iov;
	struct sockaddr_storage *tx_sa;
};

static struct hs_udp *
hs_udp_of(struct hs_pktio *io)
{
	return (struct hs_udp *)io;
}

/* hs_addr <-> sockaddr */

static socklen_t
hs_udp_sa(const struct hs_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->addr, 4);
		return sizeof(*s4);
	}
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	return 0;
}

static void
hs_udp_addr(const struct sockaddr_storage *ss, struct hs_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = 4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
			(const struct sockaddr_in6 *)ss;

		a->family = 6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
	}
}

/* ---- bursts ---- */

static int
hs_udp_rx_burst(struct hs_pktio *io, struct hs_pkt *pkts, unsigned n)
{
	struct hs_udp *u = hs_udp_of(io);
	unsigned i, k = 0;
	int got;

	if (n == 0)
		return 0;
	if (n > u->burst)
		n = u->burst;
	for (i = 0; i < n; i++) {
		u->rx_msg[i].msg_hdr.msg_namelen = sizeof(u->rx_sa[i]);
		u->rx_msg[i].msg_hdr.msg_flags = 0;
	}
	got = recvmmsg(u->fd, u->rx_msg, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		       errno == EINTR ? 0 : -errno;
	for (i = 0; i < (unsigned)got; i++) {
		const struct mmsghdr *m = &u->rx_msg[i];

		/* longer than frame_max (the buffer has one byte more, so
		 * a longer datagram shows either way) */
		if ((m->msg_hdr.msg_flags & MSG_TRUNC) ||
		    m->msg_len > io->frame_max) {
			io->stats.rx_drops++;
			continue;
		}
		pkts[k].data = u->rx_iov[i].iov_base;
		pkts[k].len = (uint16_t)m->msg_len;
		hs_udp_addr(&u->rx_sa[i], &pkts[k].peer);
		io->stats.rx_pkts++;
		io->stats.rx_bytes += m->msg_len;
		k++;
	}
	return (int)k;
}

static int
hs_udp_tx_burst(struct hs_pktio *io, const struct hs_pkt *pkts, unsigned n)
{
	struct hs_udp *u = hs_udp_of(io);
	unsigned done = 0, taken = 0;

	while (done < n) {
		unsigned m = 0, i;
		int sent;

		/* build up to a burst of sendable datagrams */
		while (done + m < n && m < HS_UDP_BURST_MAX) {
			const struct hs_pkt *p = &pkts[done + m];
			socklen_t sl;

			if (p->len > io->frame_max ||
			    (sl = hs_udp_sa(&p->peer, &u->tx_sa[m])) == 0 ||
			    (p->peer.family == 6) !=
			    (io->local.family == 6)) {
				/* cannot go out on this socket: drop it in
				 * place and keep the order of the rest */
				if (m != 0)
					break;
				io->stats.tx_drops++;
				done++;
				continue;
			}
			u->tx_iov[m].iov_base = (void *)p->data;
			u->tx_iov[m].iov_len = p->len;
			u->tx_msg[m].msg_hdr.msg_name = &u->tx_sa[m];
			u->tx_msg[m].msg_hdr.msg_namelen = sl;
			m++;
		}
		if (m == 0)
			continue;
		sent = sendmmsg(u->fd, u->tx_msg, m, MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			/* the first one failed (full buffer, no route):
			 * drop it and go on with the others */
			io->stats.tx_drops++;
			done++;
			continue;
		}
		for (i = 0; i < (unsigned)sent; i++) {
			io->stats.tx_pkts++;
			io->stats.tx_bytes += u->tx_msg[i].msg_len;
		}
		done += (unsigned)sent;
		taken += (unsigned)sent;
	}
	return (int)taken;
}

static void
hs_udp_close(struct hs_pktio *io)
{
	struct hs_udp *u = hs_udp_of(io);

	if (u == NULL)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u->bufs);
	free(u->rx_msg);
	free(u->rx_iov);
	free(u->rx_sa);
	free(u->tx_msg);
	free(u->tx_iov);
	free(u->tx_sa);
	free(u);
}

static const struct hs_pktio_ops hs_udp_ops = {
	.rx_burst = hs_udp_rx_burst,
	.tx_burst = hs_udp_tx_burst,
	.close = hs_udp_close,
};

/* ---- open ---- */

static int
hs_udp_socket(struct hs_udp *u, const struct hs_udp_params *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = hs_udp_sa(&p->local, &ss);
	int one = 1, fd;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	u->fd = fd;
	if ((p->reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
	    (p->local.family == 6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			sizeof(one)) != 0) ||
	    (p->rcvbuf > 0 &&
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &p->rcvbuf,
			sizeof(p->rcvbuf)) != 0) ||
	    (p->sndbuf > 0 &&
	     setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &p->sndbuf,
			sizeof(p->sndbuf)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0)
		return -errno;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	hs_udp_addr(&ss, &u->io.local);
	return 0;
}

int
hs_udp_open(const struct hs_udp_params *params, struct hs_pktio **out)
{
	struct hs_udp_params p = *params;
	struct hs_udp *u;
	unsigned i;
	int rc;

	if (p.frame_max == 0)
		p.frame_max = 1472;
	if (p.burst == 0)
		p.burst = 32;
	if ((p.local.family != 4 && p.local.family != 6) || p.burst >
	    HS_UDP_BURST_MAX || p.frame_max < 64 || out == NULL)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->fd = -1;
	u->io.ops = &hs_udp_ops;
	u->io.frame_max = p.frame_max;
	u->burst = p.burst;
	/* one spare byte per buffer: a datagram of frame_max + 1 bytes or
	 * more is seen as truncated, not taken for a frame_max one */
	u->bufs = malloc((size_t)p.burst * (p.frame_max + 1u));
	u->rx_msg = calloc(p.burst, sizeof(*u->rx_msg));
	u->rx_iov = calloc(p.burst, sizeof(*u->rx_iov));
	u->rx_sa = calloc(p.burst, sizeof(*u->rx_sa));
	u->tx_msg = calloc(HS_UDP_BURST_MAX, sizeof(*u->tx_msg));
	u->tx_iov = calloc(HS_UDP_BURST_MAX, sizeof(*u->tx_iov));
	u->tx_sa = calloc(HS_UDP_BURST_MAX, sizeof(*u->tx_sa));
	rc = -ENOMEM;
	if (u->bufs == NULL || u->rx_msg == NULL || u->rx_iov == NULL ||
	    u->rx_sa == NULL || u->tx_msg == NULL || u->tx_iov == NULL ||
	    u->tx_sa == NULL)
		goto err;
	for (i = 0; i < p.burst; i++) {
		u->rx_iov[i].iov_base = u->bufs + (size_t)i *
				       (p.frame_max + 1u);
		u->rx_iov[i].iov_len = p.frame_max + 1u;
		u->rx_msg[i].msg_hdr.msg_iov = &u->rx_iov[i];
		u->rx_msg[i].msg_hdr.msg_iovlen = 1;
		u->rx_msg[i].msg_hdr.msg_name = &u->rx_sa[i];
	}
	for (i = 0; i < HS_UDP_BURST_MAX; i++) {
		u->tx_msg[i].msg_hdr.msg_iov = &u->tx_iov[i];
		u->tx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	rc = hs_udp_socket(u, &p);
	if (rc < 0)
		goto err;
	*out = &u->io;
	return 0;
err:
	hs_udp_close(&u->io);
	return rc;
}

int
hs_udp_fd(const struct hs_pktio *io)
{
	return ((const struct hs_udp *)io)->fd;
}
