/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sample statistics shared by the bench programs: xkbench in the guest
 * and xkfloor in L1 (tests/bench/), so that the table reads their values
 * and spreads the same way.
 */
#ifndef XKSTAT_H
#define XKSTAT_H

#include <math.h>
#include <stddef.h>

/* qsort() order for doubles. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile @p (0-100) of a sorted array of @n > 0. */
static inline double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)n);

	return v[i < n ? i : n - 1];
}

/*
 * Spread of the @q-quantile of a sorted sample: the width of its 95%
 * distribution-free confidence interval (the order statistics at ranks
 * nq -/+ 1.96 sqrt(nq(1-q))), relative to the quantile. Two runs that
 * measure the same thing give values within it, which is what the bench
 * table's agreement check needs; (p90 - p10) would only describe the
 * scatter of single samples, not how well the median is known.
 */
static inline double quantile_spread(const double *v, size_t n, double q)
{
	double mid = pct(v, n, q * 100.0), half = 1.96 * sqrt((double)n * q * (1.0 - q));
	double lo_r = floor((double)n * q - half), hi_r = ceil((double)n * q + half);
	size_t lo = lo_r < 0 ? 0 : (size_t)lo_r;
	size_t hi = hi_r > (double)(n - 1) ? n - 1 : (size_t)hi_r;

	return mid > 0 ? (v[hi] - v[lo]) / mid * 100.0 : 0.0;
}

#endif /* XKSTAT_H */
