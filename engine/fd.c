/*
 * hearsay phi accrual failure detector.  See fd.h.
 *
 * Intervals are kept in microseconds in 32 bits (capped at 60 s), with a
 * running sum and sum of squares, so a heartbeat costs O(1) and phi costs
 * one exp and one log10.
 */
#include <math.h>
#include <string.h>

#include "engine/fd.h"

#define HS_FD_PHI_MAX		1000.0
#define HS_FD_INTERVAL_MAX_US	60000000ull

void
hs_fd_params_default(struct hs_fd_params *p)
{
	if (p->window == 0)
		p->window = HS_FD_WINDOW_MAX;
	if (p->window < 2)
		p->window = 2;
	if (p->window > HS_FD_WINDOW_MAX)
		p->window = HS_FD_WINDOW_MAX;
	if (p->min_std_ns == 0)
		p->min_std_ns = 5000000;
	if (p->first_interval_ns == 0)
		p->first_interval_ns = 20000000;
}

void
hs_fd_init(struct hs_fd *fd)
{
	memset(fd, 0, sizeof(*fd));
}

static void
hs_fd_push(struct hs_fd *fd, const struct hs_fd_params *p, uint64_t gap_ns)
{
	uint64_t us = gap_ns / 1000;

	/* 60 s: longer only means "very long", and 128 squares of it stay far
	 * below 2^64 (4.6e17) */
	if (us > HS_FD_INTERVAL_MAX_US)
		us = HS_FD_INTERVAL_MAX_US;
	if (fd->n == p->window) {
		uint64_t old = fd->interval_us[fd->head];

		fd->sum_us -= old;
		fd->sumsq_us2 -= old * old;
	} else {
		fd->n++;
	}
	fd->interval_us[fd->head] = (uint32_t)us;
	fd->sum_us += us;
	fd->sumsq_us2 += us * us;
	fd->head = (uint16_t)((fd->head + 1) % p->window);
}

void
hs_fd_heartbeat(struct hs_fd *fd, const struct hs_fd_params *p,
		uint64_t now_ns)
{
	if (fd->last_ns == 0) {
		/* No interval yet: assume a typical one, so that a member
		 * that sent one heartbeat and vanished is still suspected. */
		hs_fd_push(fd, p, p->first_interval_ns);
	} else if (now_ns > fd->last_ns) {
		hs_fd_push(fd, p, now_ns - fd->last_ns);
	} else {
		return;
	}
	fd->last_ns = now_ns;
}

void
hs_fd_stats(const struct hs_fd *fd, const struct hs_fd_params *p,
	    double *mean_ns, double *std_ns)
{
	double mean, var;

	if (fd->n == 0) {
		*mean_ns = (double)p->first_interval_ns;
		*std_ns = (double)p->min_std_ns;
		return;
	}
	mean = (double)fd->sum_us / fd->n;
	var = (double)fd->sumsq_us2 / fd->n - mean * mean;
	*mean_ns = mean * 1000.0;
	*std_ns = var > 0 ? sqrt(var) * 1000.0 : 0.0;
	if (*std_ns < (double)p->min_std_ns)
		*std_ns = (double)p->min_std_ns;
}

double
hs_fd_phi(const struct hs_fd *fd, const struct hs_fd_params *p,
	  uint64_t now_ns)
{
	double mean, std, t, y, e, phi;

	if (fd->last_ns == 0 || now_ns <= fd->last_ns)
		return 0.0;
	hs_fd_stats(fd, p, &mean, &std);
	t = (double)(now_ns - fd->last_ns);
	t = t > (double)p->pause_ns ? t - (double)p->pause_ns : 0.0;
	/* P(interval > t) for a normal (mean, std), by the logistic
	 * approximation of its CDF; phi = -log10 of it.  Both branches keep
	 * the computation away from 1 - (nearly 1). */
	y = (t - mean) / std;
	e = exp(-y * (1.5976 + 0.070566 * y * y));
	if (t > mean)
		phi = -log10(e / (1.0 + e));
	else
		phi = -log10(1.0 - 1.0 / (1.0 + e));
	if (!(phi < HS_FD_PHI_MAX))	/* also catches inf and nan */
		phi = HS_FD_PHI_MAX;
	return phi > 0 ? phi : 0.0;
}
