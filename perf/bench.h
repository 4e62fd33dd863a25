/*
 * hearsay-bench's two modes share this: the in-process mode (bench.c: N
 * engines in one process) and the cluster mode (bench_api.c, --api: running
 * hearsayd nodes through their control API).  Both print the same table
 * layout, the same JSON keys wherever they apply, and the same chart.
 * Included by perf/bench.c and perf/bench_api.c only.
 */
#ifndef HS_PERF_BENCH_H
#define HS_PERF_BENCH_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An option's unsigned value in lo..hi, or -1 after saying why on stderr
 * ("hearsay-bench: NAME 'S': want LO..HI"). */
int bn_uint(const char *name, const char *s, unsigned lo, unsigned hi,
	    unsigned *out);

/* qsort comparator of doubles, ascending. */
int bn_cmp_double(const void *a, const void *b);

/* Nearest rank: the smallest value with at least p (0..1] of the n sorted
 * values at or below it; 0 for n = 0. */
double bn_pct(const double *sorted, unsigned n, double p);

/* The CDF of time-to-all-nodes: per write, the times (ms) at which each of
 * the other nodes first held it. */
struct bn_cdf {
	const char *title;		/* plain text: no <, > or & */
	const char *subtitle;
	unsigned n_writes;
	unsigned per_write;		/* other nodes per write */
	const double *t_ms;		/* [write * per_write + j]; < 0: never */
	double xmax_ms;			/* the largest time shown */
	unsigned interval_ms;		/* the round, for the axis label */
};

/* Writes the chart as one SVG document: a faint curve per write, the
 * pooled one in bold.  0 or -ENOMEM. */
int bn_svg_cdf(FILE *f, const struct bn_cdf *c);

/* hearsay-bench --api ENDPOINTS ... (bench_api.c): the whole run; returns
 * the exit status (0, 1 or 2, as in the in-process mode). */
int bn_api_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* HS_PERF_BENCH_H */
