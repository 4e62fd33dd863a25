/*
 * hearsay: the application's API of a node.  See hearsay.h.
 *
 * Notices are made on the node's thread as things happen: membership
 * transitions in member.c, key changes and events here, from the entries
 * the table reports installed (the same stream rumor mongering takes), and
 * queued for the application's thread, each stamped with the node's clock
 * at that moment (at_ns: one clock read per notice, only for what the
 * application subscribed to), so that an application draining late still
 * knows when the node learnt it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/hearsay.h"
#include "engine/node_priv.h"

#define HS_RESERVED		"hs."
#define HS_RESERVED_LEN		3
#define HS_AGG_SHARES		HS_PUSHSUM_MAX

static bool
hs_reserved(const void *key, size_t len)
{
	return len >= HS_RESERVED_LEN &&
	       memcmp(key, HS_RESERVED, HS_RESERVED_LEN) == 0;
}

/* ---- life cycle and the node's hooks ---- */

int
hs_api_init(struct hs_node *n)
{
	struct hs_events_params ep = { .retention = n->p.event_retention };
	int rc;

	hs_pushsum_set_init(&n->ps);
	rc = hs_notify_create(n->p.notify_bytes, &n->notify);
	if (rc < 0)
		return rc;
	n->subs = calloc(HS_SUB_PREFIXES, sizeof(*n->subs));
	if (n->subs == NULL)
		return -ENOMEM;
	ep.max_origins = n->p.table.max_members != 0 ?
			 n->p.table.max_members : 4096;
	return hs_events_create(&ep, n->p.id, n->p.generation, &n->ev);
}

void
hs_api_free(struct hs_node *n)
{
	hs_events_destroy(n->ev);
	n->ev = NULL;
	hs_notify_destroy(n->notify);
	n->notify = NULL;
	free(n->subs);
	n->subs = NULL;
}

static void
hs_api_event_cb(uint64_t origin, uint64_t generation, uint64_t seq,
		const uint8_t *payload, size_t len, void *arg)
{
	struct hs_node *n = arg;
	struct hs_notice nt;

	if (!(n->notice_mask & HS_SUB(HS_NOTICE_EVENT)))
		return;
	memset(&nt, 0, sizeof(nt));
	nt.type = HS_NOTICE_EVENT;
	nt.node = origin;
	nt.generation = generation;
	nt.version = seq;
	nt.value = payload;
	nt.value_len = (uint32_t)len;
	nt.at_ns = hs_node_now(n);
	hs_notify_push(n->notify, &nt);
}

static bool
hs_api_wants_change(const struct hs_node *n, const struct hs_table_kv *kv)
{
	unsigned i;

	if (hs_events_is_slot_key(kv->key, kv->key_len))
		return false;
	if (n->n_subs == 0)
		return !hs_reserved(kv->key, kv->key_len);
	for (i = 0; i < n->n_subs; i++)
		if (kv->key_len >= n->subs[i].len &&
		    memcmp(kv->key, n->subs[i].prefix, n->subs[i].len) == 0)
			return true;
	return false;
}

void
hs_api_on_change(struct hs_node *n, const struct hs_table_change *ch)
{
	struct hs_table_kv kv;

	/* another origin's events: once per merged group
	 * (hs_api_on_group), not once per entry; ours are written here */
	if (ch->owner == n->p.id)
		hs_events_deliver(n->ev, n->c, ch->owner, hs_api_event_cb, n);
	if (hs_table_change_get(n->c, ch, &kv) != 0)
		return;
	/* a member's address or rack arrived or changed: follow it */
	if (n->membership && hs_reserved(kv.key, kv.key_len) &&
	    !hs_events_is_slot_key(kv.key, kv.key_len))
		hs_mb_sync(n, ch->owner, hs_node_now(n));
	if (!(n->notice_mask & HS_SUB(HS_NOTICE_CHANGE)) ||
	    !hs_api_wants_change(n, &kv))
		return;
	{
		struct hs_notice nt = {
			.type = HS_NOTICE_CHANGE,
			.node = kv.owner,
			.generation = kv.generation,
			.version = kv.version,
			.tombstone = kv.tombstone,
			.key_len = kv.key_len,
			.key = kv.key,
			.value_len = kv.value_len,
			.value = kv.value,
			.at_ns = hs_node_now(n),
		};

		hs_notify_push(n->notify, &nt);
	}
}

void
hs_api_on_group(struct hs_node *n, uint64_t owner)
{
	hs_events_deliver(n->ev, n->c, owner, hs_api_event_cb, n);
}

/* The change ring overflowed (a burst of installs): the changes lost
 * cannot be noticed any more, but their events can still be delivered. */
void
hs_api_after_changes(struct hs_node *n)
{
	/* ours lost to the change ring, or the lanes' to their rings */
	uint64_t lost = hs_table_changes_lost(n->c) + n->lanes_lost;

	if (lost == n->changes_lost_seen)
		return;
	n->changes_lost_seen = lost;
	hs_events_deliver_all(n->ev, n->c, hs_api_event_cb, n);
}

/* Once a second: events whose watermark moved without a change of their
 * origin being reported (an empty group) are delivered here at the
 * latest. */
void
hs_api_scan(struct hs_node *n)
{
	hs_events_deliver_all(n->ev, n->c, hs_api_event_cb, n);
}

/* The number a key holds at owner, for push-sum. */
static bool
hs_api_value(struct hs_node *n, uint64_t owner, const void *key,
	     size_t key_len, double *v)
{
	struct hs_table_kv kv;

	return hs_table_get(n->c, owner, key, key_len, &kv) == 0 &&
	       !kv.tombstone && hs_agg_parse(kv.value, kv.value_len, v);
}

void
hs_api_round(struct hs_node *n, uint64_t now)
{
	struct hs_wire_agg shares[HS_AGG_SHARES];
	struct hs_wire_builder b;
	struct hs_wire_hdr h;
	struct hs_peer peer;
	unsigned k, i;

	(void)now;
	if (n->sampler.ops->sample(n->sampler.ctx, n->p.id, &n->rng, &peer,
				   1) != 1)
		return;
	k = hs_pushsum_shares(&n->ps, shares, HS_AGG_SHARES);
	if (k == 0)
		return;
	hs_node_hdr(n, &h, HS_WIRE_PUSH);
	if (hs_wire_build_begin(&b, n->buf, n->p.frame_budget, &h) != 0 ||
	    hs_wire_section_begin(&b, HS_WIRE_SEC_AGG) != 0)
		goto keep;
	for (i = 0; i < k; i++)
		if (hs_wire_put_agg(&b, &shares[i]) != 0)
			goto keep;
	hs_wire_section_end(&b);
	hs_node_send(n, &peer.addr, hs_wire_build_end(&b));
	return;
keep:
	/* cannot happen with 8 keys of 255 bytes in 512+ bytes... but the
	 * mass must not vanish: take it back */
	for (i = 0; i < k; i++) {
		double v;
		bool has = hs_api_value(n, n->p.id, shares[i].key,
					shares[i].key_len, &v);

		hs_pushsum_merge(&n->ps, &shares[i], has, has ? v : 0);
	}
}

void
hs_node_merge_agg(struct hs_node *n, const struct hs_wire_msg *m)
{
	struct hs_wire_iter it;
	struct hs_wire_agg a;

	hs_wire_iter_init(&it, m, HS_WIRE_SEC_AGG);
	while (hs_wire_agg_next(&it, &a)) {
		double v = 0;
		bool has = hs_api_value(n, n->p.id, a.key, a.key_len, &v);

		hs_pushsum_merge(&n->ps, &a, has, v);
	}
}

/* ---- keys ---- */

int64_t
hs_put(struct hs_node *n, const void *key, size_t key_len, const void *value,
       size_t value_len)
{
	if (hs_reserved(key, key_len))
		return -EPERM;
	return hs_table_put(n->c, key, key_len, value, value_len);
}

int64_t
hs_del(struct hs_node *n, const void *key, size_t key_len)
{
	if (hs_reserved(key, key_len))
		return -EPERM;
	return hs_table_delete(n->c, key, key_len);
}

int
hs_get(struct hs_node *n, uint64_t owner, const void *key, size_t key_len,
       struct hs_table_kv *kv)
{
	int rc = hs_table_get(n->c, owner != 0 ? owner : n->p.id, key,
			      key_len, kv);

	return rc == 0 && kv->tombstone ? -ENOENT : rc;
}

struct hs_keys_walk {
	const uint8_t *prefix;
	size_t len;
	hs_table_kv_cb cb;
	void *arg;
};

static int
hs_keys_cb(const struct hs_table_kv *kv, void *arg)
{
	struct hs_keys_walk *w = arg;

	if (kv->tombstone || kv->key_len < w->len ||
	    memcmp(kv->key, w->prefix, w->len) != 0 ||
	    (hs_reserved(kv->key, kv->key_len) &&
	     !hs_reserved(w->prefix, w->len)))
		return 0;
	return w->cb(kv, w->arg);
}

int
hs_keys(struct hs_node *n, uint64_t owner, const void *prefix,
	size_t prefix_len, hs_table_kv_cb cb, void *arg)
{
	struct hs_keys_walk w = { prefix, prefix_len, cb, arg };

	if (cb == NULL || (prefix == NULL && prefix_len != 0))
		return -EINVAL;
	return hs_table_foreach(n->c, owner != 0 ? owner : n->p.id,
				hs_keys_cb, &w);
}

/* ---- events and subscriptions ---- */

int64_t
hs_publish(struct hs_node *n, const void *payload, size_t len)
{
	return hs_events_publish(n->ev, n->c, payload, len);
}

void
hs_subscribe(struct hs_node *n, uint32_t mask)
{
	n->notice_mask = mask & HS_SUB_ALL;
}

int
hs_subscribe_prefix(struct hs_node *n, const void *prefix, size_t len)
{
	if ((prefix == NULL && len != 0) || len > HS_WIRE_KEY_MAX)
		return -EINVAL;
	if (n->n_subs == HS_SUB_PREFIXES)
		return -ENOSPC;
	n->subs[n->n_subs].len = (uint8_t)len;
	if (len != 0)
		memcpy(n->subs[n->n_subs].prefix, prefix, len);
	n->n_subs++;
	return 0;
}

unsigned
hs_notices(struct hs_node *n, hs_notify_cb cb, void *arg, unsigned max)
{
	return hs_notify_poll(n->notify, cb, arg, max);
}

/* ---- members ---- */

static void
hs_info_fill(struct hs_node *n, uint64_t id, const struct hs_member *m,
	     struct hs_member_info *out)
{
	struct hs_table_node tn;
	struct hs_table_kv kv;

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->self = id == n->p.id;
	if (hs_table_node_get(n->c, id, &tn) == 0) {
		out->generation = tn.generation;
		out->incarnation = tn.incarnation;
		out->heartbeat = tn.heartbeat;
		out->status = tn.status;
		if (tn.name_len != 0)
			memcpy(out->name, tn.name, tn.name_len);
	}
	if (m != NULL) {
		out->generation = m->generation;
		out->incarnation = m->incarnation;
		out->status = m->status;
		out->since_ns = m->since_ns;
		out->heard_ns = m->heard_ns > m->fd.last_ns ? m->heard_ns :
							      m->fd.last_ns;
		out->seen_version = m->seen_version;
		out->addr = m->addr;
		out->phi = hs_fd_phi(&m->fd, &n->p.fd,
				     hs_node_now(n) - n->mb.stall_total);
	} else if (out->self) {
		out->addr = n->p.io->local;
	}
	if (hs_table_get(n->c, id, HS_KEY_RACK, HS_KEY_RACK_LEN, &kv) == 0 &&
	    !kv.tombstone && kv.value_len < sizeof(out->rack))
		memcpy(out->rack, kv.value, kv.value_len);
}

unsigned
hs_members(struct hs_node *n, struct hs_member_info *out, unsigned max)
{
	unsigned k = 0;
	uint32_t i;

	if (out == NULL)
		return n->mb.n + 1;
	if (max == 0)
		return 0;
	hs_info_fill(n, n->p.id, NULL, &out[k++]);
	for (i = 0; i < n->mb.n && k < max; i++)
		hs_info_fill(n, n->mb.m[i].id, &n->mb.m[i], &out[k++]);
	return k;
}

unsigned
hs_members_range(struct hs_node *n, unsigned first,
		 struct hs_member_info *out, unsigned max)
{
	unsigned k = 0, i;

	for (i = first; i < n->mb.n + 1 && k < max; i++) {
		if (i == 0)
			hs_info_fill(n, n->p.id, NULL, &out[k++]);
		else
			hs_info_fill(n, n->mb.m[i - 1].id, &n->mb.m[i - 1],
				     &out[k++]);
	}
	return k;
}

int
hs_member(struct hs_node *n, uint64_t id, struct hs_member_info *out)
{
	struct hs_member *m = hs_mb_find(n, id);

	if (m == NULL && id != n->p.id)
		return -ENOENT;
	hs_info_fill(n, id, m, out);
	return 0;
}

int
hs_random_peer(struct hs_node *n, struct hs_member_info *out)
{
	struct hs_peer p;

	if (n->sampler.ops->sample(n->sampler.ctx, n->p.id, &n->rng, &p,
				   1) != 1)
		return -ENOENT;
	if (hs_member(n, p.id, out) != 0) {
		/* a shared sampler's peer: no member state here */
		memset(out, 0, sizeof(*out));
		out->id = p.id;
		out->addr = p.addr;
	}
	return 0;
}

/* ---- aggregates ---- */

static bool
hs_api_live(uint64_t owner, void *arg)
{
	struct hs_node *n = arg;
	struct hs_member *m;

	if (owner == n->p.id)
		return true;
	m = hs_mb_find(n, owner);
	if (m == NULL)
		return !n->membership;	/* shared view: no statuses */
	return m->status == HS_WIRE_ST_ALIVE ||
	       m->status == HS_WIRE_ST_SUSPECT;
}

int
hs_aggregate(struct hs_node *n, const void *key, size_t key_len,
	     struct hs_agg_result *r)
{
	return hs_agg_exact(n->c, key, key_len, hs_api_live, n, r);
}

int
hs_pushsum_begin(struct hs_node *n, const void *key, size_t key_len)
{
	double v = 0;
	bool has = hs_api_value(n, n->p.id, key, key_len, &v);

	return hs_pushsum_start(&n->ps, key, key_len, has, v);
}

int
hs_pushsum_result(struct hs_node *n, const void *key, size_t key_len,
		  struct hs_agg_result *r)
{
	return hs_pushsum_estimate(&n->ps, key, key_len, r);
}

void
hs_pushsum_end(struct hs_node *n, const void *key, size_t key_len)
{
	hs_pushsum_stop(&n->ps, key, key_len);
}
