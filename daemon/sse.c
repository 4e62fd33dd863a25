/*
 * hearsay: server-sent event stream parser.  See sse.h.
 *
 * A line is gathered until its end arrives, then interpreted whole; an
 * event's data is gathered line by line until a blank line.  Each buffer
 * doubles as it grows, so a stream costs O(bytes) copies, and is bounded
 * by max_bytes (+1 for the NUL) before it grows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sse.h"

/* Appends n bytes and a NUL; 0 or -ENOMEM. */
static int
sse_add(struct hs_sse_buf *b, const char *p, size_t n)
{
	size_t need = b->len + n + 1;

	if (need > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		char *q;

		while (cap < need)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	if (n != 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void
sse_reset(struct hs_sse_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* A blank line: the event gathered so far goes out if it has data. */
static int
sse_dispatch(struct hs_sse *s)
{
	int rc = 0;

	if (s->have_data) {
		/* the LF after the last data line is not part of it */
		s->data.p[--s->data.len] = '\0';
		rc = s->fn(s->event.p != NULL ? s->event.p : "", s->event.len,
			   s->data.p, s->data.len, s->arg);
	}
	sse_reset(&s->event);
	sse_reset(&s->data);
	s->have_data = false;
	return rc;
}

/* One complete line, without its end. */
static int
sse_line(struct hs_sse *s)
{
	const char *l = s->line.p != NULL ? s->line.p : "", *colon, *value;
	size_t n = s->line.len, field_len, value_len;

	if (n == 0)
		return sse_dispatch(s);
	if (l[0] == ':')
		return 0;
	colon = memchr(l, ':', n);
	field_len = colon != NULL ? (size_t)(colon - l) : n;
	value = colon != NULL ? colon + 1 : l + n;
	if (value < l + n && *value == ' ')
		value++;
	value_len = (size_t)(l + n - value);
	if (field_len == 5 && memcmp(l, "event", 5) == 0) {
		sse_reset(&s->event);
		return sse_add(&s->event, value, value_len);
	}
	if (field_len == 4 && memcmp(l, "data", 4) == 0) {
		if (value_len + 1 > s->max_bytes - s->data.len)
			return -EMSGSIZE;
		if (sse_add(&s->data, value, value_len) != 0 ||
		    sse_add(&s->data, "\n", 1) != 0)
			return -ENOMEM;
		s->have_data = true;
	}
	return 0;
}

void
hs_sse_init(struct hs_sse *s, size_t max_bytes, hs_sse_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	s->max_bytes = max_bytes != 0 ? max_bytes : 1;
}

int
hs_sse_feed(struct hs_sse *s, const char *p, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		size_t j = i;

		/* the LF of a CRLF whose CR ended the previous line */
		if (s->cr && p[i] == '\n') {
			s->cr = false;
			i++;
			continue;
		}
		s->cr = false;
		while (j < len && p[j] != '\n' && p[j] != '\r')
			j++;
		if (j > i) {
			if (j - i > s->max_bytes - s->line.len)
				return -EMSGSIZE;
			if (sse_add(&s->line, p + i, j - i) != 0)
				return -ENOMEM;
		}
		if (j == len)
			break;		/* the line goes on in the next call */
		s->cr = p[j] == '\r';
		rc = sse_line(s);
		sse_reset(&s->line);
		if (rc != 0)
			return rc;
		i = j + 1;
	}
	return 0;
}

void
hs_sse_free(struct hs_sse *s)
{
	free(s->line.p);
	free(s->event.p);
	free(s->data.p);
	memset(&s->line, 0, sizeof(s->line));
	memset(&s->event, 0, sizeof(s->event));
	memset(&s->data, 0, sizeof(s->data));
	s->have_data = false;
	s->cr = false;
}
