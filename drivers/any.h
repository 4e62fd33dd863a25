/*
 * hearsay drivers by name: open "udp", "afpacket" or "dpdk" with one
 * configuration and get one packet I/O handle per queue (per worker), for
 * the programs that glue engine and drivers (hs-netnode, hearsay-iobench,
 * hearsayd).  The engine never sees this: it gets struct hs_pktio.
 *
 * Queues: udp opens one SO_REUSEPORT socket per queue, afpacket one
 * handle per queue in a PACKET_FANOUT group, dpdk one port with that many
 * queue pairs (RSS when the device has it).  For dpdk the EAL starts on
 * the first open in the process, with conf.eal (space-separated EAL
 * arguments), and stops at hs_drv_close.
 *
 * Drivers this build lacks (no libdpdk) are refused with -ENOTSUP and a
 * message.  Thread context: open, close: the control thread; a queue's
 * handle: its worker, after hs_drv_thread_init on that worker.
 */
#ifndef HS_DRIVERS_ANY_H
#define HS_DRIVERS_ANY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/pktio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_DRV_QUEUES_MAX	16

struct hs_drv_conf {
	const char *driver;	/* "udp", "afpacket", "dpdk" */
	uint8_t ip[4];		/* our address */
	uint16_t port;		/* our gossip port; default 7946 */
	uint16_t n_ports;	/* L2 drivers: source ports port ..
				 * port + n_ports - 1 (RSS spreading);
				 * default 1 */
	unsigned queues;	/* 1..HS_DRV_QUEUES_MAX; default 1 */
	const char *iface;	/* afpacket: the interface */
	const char *dev;	/* dpdk: the port's name */
	const char *eal;	/* dpdk: EAL arguments */
	uint16_t frame_max;	/* udp: largest datagram; default 1472 */
	bool no_udp_csum;	/* L2 drivers: send UDP checksum 0 where the
				 * device does not compute it */
	/* Chaos testing: drop this share (0..0.9) of the frames each queue
	 * receives, at random (seeded by loss_seed), after the driver took
	 * them: loss injected in the driver layer, counted as
	 * loss_injected.  0: none. */
	double loss;
	uint64_t loss_seed;
};

struct hs_drv;

/* Open every queue.  Returns 0, or a negative errno with a message on
 * stderr naming the driver and what failed. */
int hs_drv_open(const struct hs_drv_conf *conf, struct hs_drv **out);

unsigned hs_drv_queues(const struct hs_drv *d);
struct hs_pktio *hs_drv_queue(struct hs_drv *d, unsigned q);

/* The descriptor an adaptive worker sleeps on for queue q, or -1 (dpdk:
 * poll only). */
int hs_drv_fd(const struct hs_drv *d, unsigned q);

/* On each worker thread before it uses a queue (dpdk: registers the
 * thread with the EAL, so that it gets an lcore id and a mempool cache). */
void hs_drv_thread_init(const struct hs_drv *d);

/* Queue q's counters, the driver's own included, as one JSON object. */
void hs_drv_stats_json(const struct hs_drv *d, unsigned q, FILE *f);

/* Close every queue (and the dpdk port and EAL).  NULL: a no-op. */
void hs_drv_close(struct hs_drv *d);

#ifdef __cplusplus
}
#endif

#endif /* HS_DRIVERS_ANY_H */
