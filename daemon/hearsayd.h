/*
 * hearsayd's internals, shared by its two halves: hearsayd.c (the node's
 * life: configuration, driver, workers, node, lanes, signals, the notice
 * pump, hooks) and api.c (the control API over HTTP).  Included by those
 * two files only.
 *
 * Threads:
 *   - main: the control loop.  Starts everything, then every 20 ms takes
 *     the node's notices (the notice queue's single consumer) and hands
 *     them to the event streams and the hooks, reaps hooks, and acts on
 *     signals (leave, reload).
 *   - workers: poll the node (worker 0, the primary) and its lanes; they
 *     run what the control side asks of the node through hs_worker_call,
 *     between two polls (hsd_call).
 *   - API: libmicrohttpd, one thread per connection.  A request copies what
 *     it needs out of the node in one short call on worker 0 and builds its
 *     answer on its own thread; an event stream waits on its own queue,
 *     never on a worker.
 */
#ifndef HS_DAEMON_HEARSAYD_H
#define HS_DAEMON_HEARSAYD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "drivers/any.h"
#include "engine/auth.h"
#include "engine/hearsay.h"
#include "engine/worker.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSD_VERSION	"0.1.0"
#define HSD_SUB_LINES	1024	/* an event stream's queue, in notices */

/* One event-stream client: a bounded queue of formatted SSE records.  The
 * pump pushes (dropping and counting when full), the client's connection
 * thread pops. */
struct hsd_sub {
	struct hsd_sub *next;
	uint32_t types;			/* HS_SUB() bits wanted */
	char prefix[256];		/* change: keys starting so */
	size_t prefix_len;
	char *lines[HSD_SUB_LINES];
	unsigned head, n;
	bool closed;			/* the daemon is stopping */
	uint64_t dropped;
	pthread_cond_t cv;		/* under hsd.sub_mu */
};

struct hsd_api_stats {
	uint64_t requests;
	uint64_t errors_4xx;
	uint64_t errors_5xx;
	uint64_t sse_clients;
	uint64_t sse_sent;
	uint64_t sse_dropped;
};

struct hsd {
	struct hs_conf conf;
	const char *conf_path;		/* NULL: defaults only */
	char **overrides;		/* -s key=value, re-applied on reload */
	unsigned n_overrides;

	uint64_t id;
	uint64_t generation;
	char name[HS_CONF_STR_MAX];
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	int64_t wall_off_ns;		/* CLOCK_REALTIME - CLOCK_MONOTONIC,
					 * read at start: notices' at_ns
					 * to wall-clock time */

	struct hs_drv *drv;
	unsigned n_workers;
	struct hs_worker *w[HS_DRV_QUEUES_MAX];
	struct hs_lane *lane[HS_DRV_QUEUES_MAX];
	struct call_rcu_data *crdp;
	struct hs_node *node;		/* worker 0's */
	struct hs_auth *auth;		/* keyring; NULL: plaintext */
	bool leaving;			/* SIGTERM seen: refuse writes */

	struct hs_hooks *hooks;

	/* control API */
	struct MHD_Daemon *mhd_unix;
	struct MHD_Daemon *mhd_tcp;
	int unix_fd;
	pthread_mutex_t sub_mu;
	struct hsd_sub *subs;
	struct hsd_api_stats api;	/* atomics */
};

/* Run fn(arg) on the node's worker (worker 0), between two polls, and
 * wait for it.  Any control-side thread. */
void hsd_call(struct hsd *d, void (*fn)(void *arg), void *arg);

/* Start / stop the control API (api.c).  hsd_api_start returns 0 or a
 * negative errno with a message logged. */
int hsd_api_start(struct hsd *d);
void hsd_api_stop(struct hsd *d);

/* The notice pump hands each notice to the event streams (api.c);
 * member notices carry the member's name and address, resolved once. */
struct hsd_notice {
	const struct hs_notice *n;
	const char *type;		/* "join", ... */
	const char *name;		/* member notices: the member's */
	const char *address;		/* "ip:port" or "" */
	uint64_t ts_ms;			/* wall clock when the pump took it */
	uint64_t ts_us;			/* wall clock when the node queued it
					 * (at_ns + wall_off_ns) */
};
void hsd_api_notice(struct hsd *d, const struct hsd_notice *e);

/* Format an address as "a.b.c.d:port" (IPv6: "[...]:port"). */
void hsd_addr_str(const struct hs_addr *a, char *buf, size_t len);

/* "alive", "suspect", "dead", "left". */
const char *hsd_status_str(uint8_t status);

#ifdef __cplusplus
}
#endif

#endif /* HS_DAEMON_HEARSAYD_H */
