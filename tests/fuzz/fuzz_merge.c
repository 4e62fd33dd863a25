/*
 * libFuzzer target for decode + merge (engine/wire.c into engine/table.c).
 *
 * Every input the decoder accepts is merged, deltas and node records, into
 * one table that lives for the whole run, so that later inputs meet the
 * state earlier ones left (owners, watermarks, tombstones, generations).
 * Its limits are small so that inputs reach them: 8 owners, 16 keys per
 * owner, 32-byte keys, 64-byte values.  Checked after every input: merge
 * returns >= 0, a node record's merge one of its documented results; the
 * table never holds more owners or keys than its limits allow; every
 * owner's digest reads back; the change log drains.  ASan and UBSan (the
 * fuzz build) catch the rest.
 *
 * Single-threaded: libFuzzer calls us from one thread, which registers as
 * a QSBR reader on the first input and reports a quiescent state after
 * each; the table's own call_rcu thread frees what merges replace.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu/urcu-qsbr.h>

#include "engine/table.h"
#include "engine/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MEMBERS	8u
#define MAX_KEYS	16u

#define CHECK(x)	do {						\
		if (!(x)) {						\
			fprintf(stderr, "fuzz_merge: %s:%d: %s\n",	\
				__FILE__, __LINE__, #x);		\
			abort();					\
		}							\
	} while (0)

static struct hs_table *t;
static struct hs_table_ctx *c;

static void
setup(void)
{
	struct hs_table_params p = {
		.self_id = 1,
		.self_generation = 1,
		.max_members = MAX_MEMBERS,
		.max_keys_per_node = MAX_KEYS,
		.max_key_bytes = 32,
		.max_value_bytes = 64,
		.log_slots = 64,
	};

	urcu_qsbr_register_thread();
	CHECK(hs_table_create(&p, &t) == 0);
	CHECK(hs_table_ctx_attach(t, 0, &c) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_table_change ch[32];
	struct hs_table_stats ts;
	struct hs_wire_digest d[16];
	struct hs_wire_iter it;
	struct hs_wire_node r;
	struct hs_wire_msg m;
	uint64_t cursor = 0;
	int got, total = 0;

	if (t == NULL)
		setup();
	if (hs_wire_decode(data, size, &m) != 0)
		return 0;
	hs_wire_iter_init(&it, &m, HS_WIRE_SEC_NODES);
	while (hs_wire_node_next(&it, &r)) {
		int rc = hs_table_merge_node(c, &r);

		CHECK(rc == 0 || rc == 1 || rc == -ENOSPC || rc == -ESTALE);
	}
	if (hs_wire_has(&m, HS_WIRE_SEC_DELTAS))
		CHECK(hs_table_merge_msg(c, &m) >= 0);
	hs_table_ctx_flush(c);
	while (hs_table_changes(c, ch, 32) > 0)
		;
	urcu_qsbr_quiescent_state();

	hs_table_stats(t, &ts);
	CHECK(ts.owners <= MAX_MEMBERS + 1);	/* ourselves too */
	CHECK(ts.keys <= ts.owners * MAX_KEYS);
	while ((got = hs_table_digests(c, &cursor, d, 16)) > 0) {
		for (int i = 0; i < got; i++) {
			struct hs_wire_digest again;

			CHECK(hs_table_digest(c, d[i].node, &again) == 0);
			CHECK(again.generation == d[i].generation);
		}
		total += got;
	}
	CHECK((uint64_t)total == ts.owners);
	return 0;
}
