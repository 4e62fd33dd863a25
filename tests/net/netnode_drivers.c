/*
 * hs-netnode's drivers.  See netnode.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "drivers/udp.h"
#include "tests/net/netnode.h"

static bool
is(const struct nn_args *a, const char *name)
{
	return strcmp(a->driver, name) == 0;
}

static int
udp_open(const struct nn_args *a, struct hs_pktio **io)
{
	unsigned k;
	int rc;

	for (k = 0; k < a->workers; k++) {
		struct hs_udp_params p = {
			.local = hs_addr_v4(a->ip[0], a->ip[1], a->ip[2],
					    a->ip[3], a->port),
			.reuseport = a->workers > 1,
		};

		rc = hs_udp_open(&p, &io[k]);
		if (rc != 0) {
			fprintf(stderr, "hs-netnode: udp socket %u: %s\n", k,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int
nn_driver_open(const struct nn_args *a, struct hs_pktio **io)
{
	if (is(a, "udp"))
		return udp_open(a, io);
	fprintf(stderr, "hs-netnode: driver %s: not built in\n", a->driver);
	return -ENOTSUP;
}

void
nn_driver_thread_init(const struct nn_args *a)
{
	(void)a;
}

int
nn_driver_fd(const struct nn_args *a, const struct hs_pktio *io)
{
	if (is(a, "udp"))
		return hs_udp_fd(io);
	return -1;
}

void
nn_driver_print_stats(const struct nn_args *a, const struct hs_pktio *io)
{
	printf("{\"rx_pkts\": %" PRIu64 ", \"tx_pkts\": %" PRIu64
	       ", \"rx_drops\": %" PRIu64 ", \"tx_drops\": %" PRIu64 "}",
	       io->stats.rx_pkts, io->stats.tx_pkts, io->stats.rx_drops,
	       io->stats.tx_drops);
	(void)a;
}

void
nn_driver_close(const struct nn_args *a, struct hs_pktio **io)
{
	unsigned k;

	for (k = 0; k < a->workers; k++)
		if (io[k] != NULL)
			hs_pktio_close(io[k]);
}
