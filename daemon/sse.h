/*
 * hearsay: an incremental parser of server-sent event streams, the client
 * side of hearsayd's GET /v1/events/stream (docs/API.md), shared by the
 * hearsay CLI (watch) and hearsay-bench --api.
 *
 * Bytes go in as they arrive, split anywhere; each complete event comes out
 * through one callback.  The rules are the WHATWG "interpret an event
 * stream" ones a client of hearsayd needs: lines end in LF, CR or CRLF (a
 * CRLF split between two calls included); "event:" names the event;
 * "data:" lines are joined with LF; one space after the colon is dropped;
 * a line starting with ':' is a comment (hearsayd's keepalive); a blank
 * line dispatches the event when it has data; "id" and "retry" (for
 * reconnecting browsers) and unknown fields are ignored.
 *
 * Everything hearsayd sends is untrusted (keys and values come from other
 * nodes): a line or an event's data longer than max_bytes is refused
 * rather than buffered without bound.  Buffers grow as needed and are
 * kept across events.
 *
 * Threads: a parser belongs to one thread at a time.  The struct is the
 * caller's storage (no allocation to make one); its fields are private.
 */
#ifndef HS_DAEMON_SSE_H
#define HS_DAEMON_SSE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One event: its "event:" field (event_len 0 when it had none: a
 * "message"), and its data, the "data:" lines joined with LF, without the
 * last LF.  Both are NUL-terminated (data may hold NULs of its own); data
 * may be changed in place, it is the parser's buffer and is reset after
 * the call.  Return 0 to go on, or a negative value to stop:
 * hs_sse_feed() then returns it.
 */
typedef int (*hs_sse_fn)(const char *event, size_t event_len, char *data,
			 size_t data_len, void *arg);

struct hs_sse_buf {
	char *p;
	size_t len;
	size_t cap;
};

struct hs_sse {
	hs_sse_fn fn;
	void *arg;
	size_t max_bytes;
	struct hs_sse_buf line;		/* the line so far, without its end */
	struct hs_sse_buf event;
	struct hs_sse_buf data;		/* "data:" values, each + LF */
	bool have_data;
	bool cr;			/* the last line ended in CR */
};

/* max_bytes: the longest line, and the most data of one event (at least
 * 1).  Never fails. */
void hs_sse_init(struct hs_sse *s, size_t max_bytes, hs_sse_fn fn,
		 void *arg);
/*
 * Parses len more bytes of the stream, calling fn for each event they
 * complete.  Returns 0; -ENOMEM; -EMSGSIZE for a line or an event over
 * max_bytes; or the first negative value fn returned.  After an error the
 * parser is in an unspecified state: free it (the stream is given up).
 */
int hs_sse_feed(struct hs_sse *s, const char *p, size_t len);
/* Frees the buffers; s may be initialised again. */
void hs_sse_free(struct hs_sse *s);

#ifdef __cplusplus
}
#endif

#endif /* HS_DAEMON_SSE_H */
