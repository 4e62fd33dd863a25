/*
 * hs-netnode's drivers: open one packet I/O handle per worker on the
 * driver named on the command line (udp: SO_REUSEPORT sockets; afpacket:
 * a PACKET_FANOUT group; dpdk: the queues of one port).  Test tool only.
 */
#ifndef HS_TESTS_NETNODE_H
#define HS_TESTS_NETNODE_H

#include <stdint.h>

#include "engine/pktio.h"

struct nn_args {
	const char *driver;
	uint64_t id;
	unsigned nodes;
	uint8_t ip[4];
	uint16_t port;
	const char *iface;
	struct hs_addr seeds[16];
	unsigned n_seeds;
	unsigned workers;
	unsigned keys;
	unsigned timeout_s;
	const char *eal;		/* dpdk: EAL arguments, space-separated */
	const char *dev;		/* dpdk: the port's device name */
};

/* Open a->workers handles into io[]; 0 or a negative errno (a message on
 * stderr says which). */
int nn_driver_open(const struct nn_args *a, struct hs_pktio **io);
/* On each worker thread before it touches a handle (dpdk: register the
 * thread with the EAL, for a mempool cache of its own). */
void nn_driver_thread_init(const struct nn_args *a);
/* The descriptor an adaptive worker sleeps on, or -1. */
int nn_driver_fd(const struct nn_args *a, const struct hs_pktio *io);
/* The driver's own counters of one handle, as a JSON object on stdout. */
void nn_driver_print_stats(const struct nn_args *a, const struct hs_pktio *io);
void nn_driver_close(const struct nn_args *a, struct hs_pktio **io);

#endif /* HS_TESTS_NETNODE_H */
