/*
 * hearsay aggregates: exact over the replicated table, and push-sum.
 * aggregate.h has the math, the limits and the thread rules.
 *
 * The exact walk looks the key up once per owner instead of visiting every
 * entry (hs_table_foreach with owner 0 would touch every key of every
 * owner to find one).  Its sum is compensated (Neumaier), so the order in
 * which owners come changes the result by at most about one rounding.
 *
 * A push-sum set is a fixed array searched linearly: eight slots with the
 * key stored inline, so a record costs a few key compares and no
 * allocation, and the set can live in a worker's own memory.  Halving a
 * double is exact (short of subnormals), so a node's kept half and sent
 * half add up to what it had: the mass is conserved bit for bit.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/aggregate.h"
#include "engine/table.h"
#include "engine/wire.h"

enum {
	HS_PS_FREE = 0,
	HS_PS_ACTIVE = 1,
	HS_PS_STOPPED = 2,
};

/* Owners per hs_table_digests() call: 2.5 KB of stack. */
#define HS_AGG_DIGEST_CHUNK	64

/* ---- exact ---- */

bool
hs_agg_parse(const void *value, size_t len, double *out)
{
	const uint8_t *p = value;
	char buf[HS_AGG_NUM_MAX + 1];
	char *end;
	double d;

	if (len > HS_AGG_NUM_MAX || (len != 0 && p == NULL))
		return false;
	while (len != 0 && (p[0] == ' ' || p[0] == '\t')) {
		p++;
		len--;
	}
	while (len != 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	/* strtod skips any white space at the start by itself (newlines,
	 * form feeds); only the spaces and tabs trimmed above are allowed. */
	if (len == 0 || (p[0] >= '\n' && p[0] <= '\r'))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	d = strtod(buf, &end);
	/* An embedded NUL stops strtod short of len: not a number. */
	if (end != buf + len || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static void
hs_agg_result_empty(struct hs_agg_result *r)
{
	memset(r, 0, sizeof(*r));
	r->min = INFINITY;
	r->max = -INFINITY;
}

int
hs_agg_exact(struct hs_table_ctx *c, const void *key, size_t key_len,
	     bool (*include)(uint64_t owner, void *arg), void *arg,
	     struct hs_agg_result *r)
{
	struct hs_wire_digest d[HS_AGG_DIGEST_CHUNK];
	uint64_t cursor = 0;
	double sum = 0, comp = 0;
	int n, i;

	if (c == NULL || key == NULL || r == NULL || key_len == 0 ||
	    key_len > HS_WIRE_KEY_MAX)
		return -EINVAL;
	hs_agg_result_empty(r);
	do {
		n = hs_table_digests(c, &cursor, d, HS_AGG_DIGEST_CHUNK);
		for (i = 0; i < n; i++) {
			struct hs_table_kv kv;
			double v, t;

			if (include != NULL && !include(d[i].node, arg))
				continue;
			if (hs_table_get(c, d[i].node, key, key_len,
					 &kv) != 0 || kv.tombstone)
				continue;
			if (!hs_agg_parse(kv.value, kv.value_len, &v)) {
				r->skipped++;
				continue;
			}
			/* Neumaier: keep the low bits each add rounds off. */
			t = sum + v;
			if (fabs(sum) >= fabs(v))
				comp += (sum - t) + v;
			else
				comp += (v - t) + sum;
			sum = t;
			r->count += 1;
			if (v < r->min)
				r->min = v;
			if (v > r->max)
				r->max = v;
		}
		/* A short chunk is the last: asking again would re-seek the
		 * owners from the start just to find the end. */
	} while (n == HS_AGG_DIGEST_CHUNK);
	/* Past the double range the sum is +-inf and comp NaN. */
	r->sum = isfinite(sum) ? sum + comp : sum;
	if (r->count > 0)
		r->avg = r->sum / r->count;
	return 0;
}

/* ---- push-sum ---- */

static int
hs_ps_find(const struct hs_pushsum_set *set, const void *key, size_t key_len)
{
	unsigned i;

	for (i = 0; i < HS_PUSHSUM_MAX; i++) {
		const struct hs_pushsum *a = &set->agg[i];

		if (a->state != HS_PS_FREE && a->key_len == key_len &&
		    memcmp(a->key, key, key_len) == 0)
			return (int)i;
	}
	return -1;
}

/* A slot for a new key: a free one, else a stopped one (forgetting its
 * epoch), else NULL. */
static struct hs_pushsum *
hs_ps_alloc(struct hs_pushsum_set *set, const void *key, uint8_t key_len)
{
	struct hs_pushsum *a = NULL;
	unsigned i;

	for (i = 0; i < HS_PUSHSUM_MAX && a == NULL; i++)
		if (set->agg[i].state == HS_PS_FREE)
			a = &set->agg[i];
	for (i = 0; i < HS_PUSHSUM_MAX && a == NULL; i++)
		if (set->agg[i].state == HS_PS_STOPPED)
			a = &set->agg[i];
	if (a == NULL)
		return NULL;
	a->key_len = key_len;
	memcpy(a->key, key, key_len);
	return a;
}

static void
hs_ps_init(struct hs_pushsum *a, uint64_t epoch, bool initiator,
	   bool has_value, double value)
{
	a->state = HS_PS_ACTIVE;
	a->epoch = epoch;
	a->initiator = initiator;
	a->has_value = has_value;
	a->s = has_value ? value : 0;
	a->k = has_value ? 1 : 0;
	a->w = initiator ? 1 : 0;
	a->min = has_value ? value : INFINITY;
	a->max = has_value ? value : -INFINITY;
}

void
hs_pushsum_set_init(struct hs_pushsum_set *set)
{
	memset(set, 0, sizeof(*set));
}

int
hs_pushsum_start(struct hs_pushsum_set *set, const void *key, size_t key_len,
		 bool has_value, double value)
{
	struct hs_pushsum *a;
	uint64_t epoch = 1;
	int i;

	if (set == NULL || key == NULL || key_len == 0 ||
	    key_len > HS_WIRE_KEY_MAX || (has_value && !isfinite(value)))
		return -EINVAL;
	i = hs_ps_find(set, key, key_len);
	if (i >= 0) {
		a = &set->agg[i];
		if (a->epoch == UINT64_MAX)
			return -EOVERFLOW;
		epoch = a->epoch + 1;
	} else {
		a = hs_ps_alloc(set, key, (uint8_t)key_len);
		if (a == NULL)
			return -ENOSPC;
	}
	hs_ps_init(a, epoch, true, has_value, value);
	return 0;
}

unsigned
hs_pushsum_shares(struct hs_pushsum_set *set, struct hs_wire_agg *out,
		  unsigned max)
{
	unsigned j, n = 0, last = 0;

	for (j = 0; j < HS_PUSHSUM_MAX && n < max; j++) {
		unsigned i = (set->next + j) % HS_PUSHSUM_MAX;
		struct hs_pushsum *a = &set->agg[i];

		if (a->state != HS_PS_ACTIVE)
			continue;
		a->s *= 0.5;
		a->k *= 0.5;
		a->w *= 0.5;
		out[n] = (struct hs_wire_agg){
			.epoch = a->epoch,
			.s = a->s,
			.k = a->k,
			.w = a->w,
			.min = a->min,
			.max = a->max,
			.key_len = a->key_len,
			.key = a->key,
		};
		n++;
		last = i;
	}
	/* Cut short by max: the aggregates after the last one written go
	 * first next time, so that none starves. */
	if (n != 0 && n == max)
		set->next = (last + 1) % HS_PUSHSUM_MAX;
	return n;
}

static bool
hs_ps_record_ok(const struct hs_wire_agg *rec)
{
	return rec->key_len != 0 && rec->key != NULL && isfinite(rec->s) &&
	       isfinite(rec->k) && isfinite(rec->w) && !(rec->k < 0) &&
	       !(rec->w < 0) && !isnan(rec->min) && !isnan(rec->max);
}

int
hs_pushsum_merge(struct hs_pushsum_set *set, const struct hs_wire_agg *rec,
		 bool has_value, double value)
{
	struct hs_pushsum *a;
	double s, k, w;
	int i;

	if (rec == NULL || !hs_ps_record_ok(rec) ||
	    (has_value && !isfinite(value))) {
		set->stats.invalid++;
		return -EINVAL;
	}
	i = hs_ps_find(set, rec->key, rec->key_len);
	if (i < 0) {
		a = hs_ps_alloc(set, rec->key, rec->key_len);
		if (a == NULL) {
			set->stats.full++;
			return -ENOSPC;
		}
		hs_ps_init(a, rec->epoch, false, has_value, value);
		set->stats.joined++;
	} else {
		a = &set->agg[i];
		if (rec->epoch < a->epoch) {
			set->stats.stale++;
			return -ESTALE;
		}
		if (rec->epoch > a->epoch) {
			if (a->state == HS_PS_ACTIVE)
				set->stats.restarted++;
			else
				set->stats.joined++;
			hs_ps_init(a, rec->epoch, false, has_value, value);
		} else if (a->state != HS_PS_ACTIVE) {
			/* Our share of this epoch is gone; taking more mass
			 * in would only keep it from the others. */
			set->stats.stopped++;
			return -ESTALE;
		}
	}
	s = a->s + rec->s;
	k = a->k + rec->k;
	w = a->w + rec->w;
	if (!isfinite(s) || !isfinite(k) || !isfinite(w)) {
		set->stats.invalid++;
		return -ERANGE;
	}
	a->s = s;
	a->k = k;
	a->w = w;
	if (rec->min < a->min)
		a->min = rec->min;
	if (rec->max > a->max)
		a->max = rec->max;
	set->stats.merged++;
	return 0;
}

int
hs_pushsum_estimate(const struct hs_pushsum_set *set, const void *key,
		    size_t key_len, struct hs_agg_result *r)
{
	const struct hs_pushsum *a;
	int i;

	if (key == NULL || key_len == 0 || key_len > HS_WIRE_KEY_MAX)
		return -ENOENT;
	i = hs_ps_find(set, key, key_len);
	if (i < 0 || set->agg[i].state != HS_PS_ACTIVE)
		return -ENOENT;
	a = &set->agg[i];
	if (!(a->w > 0))
		return -EAGAIN;
	memset(r, 0, sizeof(*r));
	r->count = a->k / a->w;
	r->sum = a->s / a->w;
	r->avg = a->k > 0 ? a->s / a->k : 0;
	r->min = a->min;
	r->max = a->max;
	r->epoch = a->epoch;
	return 0;
}

void
hs_pushsum_stop(struct hs_pushsum_set *set, const void *key, size_t key_len)
{
	struct hs_pushsum *a;
	int i;

	if (key == NULL || key_len == 0 || key_len > HS_WIRE_KEY_MAX)
		return;
	i = hs_ps_find(set, key, key_len);
	if (i < 0 || set->agg[i].state != HS_PS_ACTIVE)
		return;
	a = &set->agg[i];
	a->state = HS_PS_STOPPED;
	a->s = 0;
	a->k = 0;
	a->w = 0;
}

void
hs_pushsum_stats(const struct hs_pushsum_set *set,
		 struct hs_pushsum_stats *out)
{
	*out = set->stats;
}
