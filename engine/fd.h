/*
 * hearsay failure detection: the phi accrual detector (Hayashibara et al.
 * 2004, as in Cassandra and Akka), one small state per member.
 *
 * Each member keeps the last `window` intervals between the heartbeats we
 * saw from it (arrival times here, not its clock) and a running sum and sum
 * of squares.  phi(now) says how unlikely a silence this long is, given
 * those intervals, on a log10 scale: phi 1 ~ a 10 % chance the member is
 * still fine, phi 8 ~ 1e-8.  The interval distribution is taken as normal
 * with a floor on its deviation (min_std_ns), because a perfectly regular
 * member would otherwise be convicted by the first late packet; the tail is
 * the logistic approximation of the normal CDF (Akka's).
 *
 * The caller feeds arrivals (hs_fd_heartbeat) and asks phi; deciding
 * suspect/dead, refutation and not convicting anyone for our own stall are
 * membership's job (issue #4).  No allocation: a member's state is a fixed
 * struct.  Thread context: one member's state is used by one thread.
 */
#ifndef HS_FD_H
#define HS_FD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_FD_WINDOW_MAX	16

struct hs_fd_params {
	unsigned window;		/* intervals kept, 2..16; default 16 (one
					 * member costs 96 bytes) */
	uint64_t min_std_ns;		/* floor on the deviation; default
					 * 5 ms (half a 10 ms round) */
	uint64_t first_interval_ns;	/* assumed before a second heartbeat;
					 * default 20 ms */
	uint64_t pause_ns;		/* silence always forgiven (acceptable
					 * pause, e.g. a GC); default 0 */
};

struct hs_fd {
	uint64_t last_ns;		/* last arrival, 0: none yet */
	uint64_t sum_us;		/* of the intervals in the window */
	uint64_t sumsq_us2;
	uint16_t n;			/* intervals in the window */
	uint16_t head;			/* next slot to overwrite */
	uint32_t interval_us[HS_FD_WINDOW_MAX];
};

/* Fill defaults for fields left zero. */
void hs_fd_params_default(struct hs_fd_params *p);

/* A member we have not heard from yet. */
void hs_fd_init(struct hs_fd *fd);

/* A heartbeat from the member arrived at now_ns (monotonic, after the
 * last one; an earlier or equal time is ignored). */
void hs_fd_heartbeat(struct hs_fd *fd, const struct hs_fd_params *p,
		     uint64_t now_ns);

/* Suspicion at now_ns: 0 before the first heartbeat and right after one,
 * growing with the silence; capped at 1000 (certain). */
double hs_fd_phi(const struct hs_fd *fd, const struct hs_fd_params *p,
		 uint64_t now_ns);

/* Mean and deviation of the intervals in the window, ns (for display). */
void hs_fd_stats(const struct hs_fd *fd, const struct hs_fd_params *p,
		 double *mean_ns, double *std_ns);

#ifdef __cplusplus
}
#endif

#endif /* HS_FD_H */
