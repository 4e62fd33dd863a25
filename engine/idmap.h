/*
 * hearsay id map: node id -> array index, open addressing with linear
 * probing and backward-shift deletion (no tombstones), at most half full.
 * For the per-node lists that are used by one thread (membership).  The
 * caller owns the array the indexes point into and tells the map where
 * an id moved (hs_idmap_set) when it compacts the array.
 */
#ifndef HS_IDMAP_H
#define HS_IDMAP_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HS_IDMAP_NONE	UINT32_MAX

struct hs_idmap {
	uint64_t *ids;		/* 0: empty */
	uint32_t *idx;
	uint32_t mask;
	uint32_t n;
};

static inline uint32_t
hs_idmap_home(uint64_t id, uint32_t mask)
{
	/* Fibonacci hashing: node ids may be sequential */
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static inline uint32_t
hs_idmap_get(const struct hs_idmap *m, uint64_t id)
{
	uint32_t s;

	if (m->ids == NULL)
		return HS_IDMAP_NONE;
	for (s = hs_idmap_home(id, m->mask); m->ids[s] != 0;
	     s = (s + 1) & m->mask)
		if (m->ids[s] == id)
			return m->idx[s];
	return HS_IDMAP_NONE;
}

static inline int
hs_idmap_grow(struct hs_idmap *m)
{
	uint32_t cap = m->ids != NULL ? 2 * (m->mask + 1) : 32, i, s;
	uint64_t *ids = calloc(cap, sizeof(*ids));
	uint32_t *idx = malloc(cap * sizeof(*idx));

	if (ids == NULL || idx == NULL) {
		free(ids);
		free(idx);
		return -ENOMEM;
	}
	for (i = 0; m->ids != NULL && i <= m->mask; i++) {
		if (m->ids[i] == 0)
			continue;
		for (s = hs_idmap_home(m->ids[i], cap - 1); ids[s] != 0;
		     s = (s + 1) & (cap - 1))
			;
		ids[s] = m->ids[i];
		idx[s] = m->idx[i];
	}
	free(m->ids);
	free(m->idx);
	m->ids = ids;
	m->idx = idx;
	m->mask = cap - 1;
	return 0;
}

/* Insert or update id -> i.  Returns 0 or -ENOMEM. */
static inline int
hs_idmap_set(struct hs_idmap *m, uint64_t id, uint32_t i)
{
	uint32_t s;

	if ((m->ids == NULL || 2 * (m->n + 1) > m->mask + 1) &&
	    hs_idmap_grow(m) != 0)
		return -ENOMEM;
	for (s = hs_idmap_home(id, m->mask); m->ids[s] != 0;
	     s = (s + 1) & m->mask)
		if (m->ids[s] == id) {
			m->idx[s] = i;
			return 0;
		}
	m->ids[s] = id;
	m->idx[s] = i;
	m->n++;
	return 0;
}

static inline void
hs_idmap_del(struct hs_idmap *m, uint64_t id)
{
	uint32_t s, j;

	if (m->ids == NULL)
		return;
	for (s = hs_idmap_home(id, m->mask); m->ids[s] != id;
	     s = (s + 1) & m->mask)
		if (m->ids[s] == 0)
			return;
	m->n--;
	/* shift back every later entry of the run whose home is not in
	 * (s, j] (cyclically), so lookups never stop at the hole */
	for (j = (s + 1) & m->mask; m->ids[j] != 0; j = (j + 1) & m->mask) {
		uint32_t h = hs_idmap_home(m->ids[j], m->mask);

		if (((j - h) & m->mask) >= ((j - s) & m->mask)) {
			m->ids[s] = m->ids[j];
			m->idx[s] = m->idx[j];
			s = j;
		}
	}
	m->ids[s] = 0;
}

static inline void
hs_idmap_free(struct hs_idmap *m)
{
	free(m->ids);
	free(m->idx);
	memset(m, 0, sizeof(*m));
}

#endif /* HS_IDMAP_H */
