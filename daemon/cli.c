/*
 * hearsay: the command-line client of hearsayd's control API.
 *
 * docs/API.md is the contract this program speaks and docs/CLI.md its usage
 * reference.  Every command but two is one HTTP/1.1 request through libcurl
 * (a --wait that runs out makes a second, to name the members missing),
 * over hearsayd's Unix socket (CURLOPT_UNIX_SOCKET_PATH) or its loopback TCP
 * port, whose JSON answer jansson parses into a table or aligned "key:
 * value" lines for people; --json prints the server's own bytes instead,
 * for scripts.  The exit status (CLI_EXIT_*) tells a script what went wrong
 * without parsing stderr: the request failed, bad usage, hearsayd is out of
 * reach, no such node or key, or a --wait deadline passed.
 *
 * The two long-running commands:
 *  - watch reads the server-sent event stream as it arrives and prints one
 *    line per notice (daemon/sse.c parses it: the WHATWG rules, LF, CR or
 *    CRLF line ends, data lines joined, comments skipped);
 *  - top polls /v1/info, /v1/stats and /v1/members every interval and turns
 *    counter deltas into rates over the measured time between two samples.
 *
 * Threads: one.  watch and top catch SIGINT and SIGTERM by setting a flag
 * that libcurl's progress callback (called at least once a second during a
 * transfer) and top's sleep check, so both end with exit 0 and top gives
 * the terminal its cursor back; a second signal kills as usual.
 *
 * Everything hearsayd sends is untrusted: member names, keys and values
 * come from other nodes.  Strings lose their control characters (escaped)
 * before they reach a terminal, and every buffer grows as needed up to a
 * stated bound (CLI_MAX_*) instead of having a fixed size.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "config/socket.h"
#include "daemon/sse.h"

/* Exit statuses: part of the interface (--help, docs/CLI.md). */
#define CLI_EXIT_OK		0	/* done */
#define CLI_EXIT_FAILED		1	/* the request failed (4xx, 5xx, ...) */
#define CLI_EXIT_USAGE		2	/* bad command line */
#define CLI_EXIT_UNREACHABLE	3	/* no connection, or it broke */
#define CLI_EXIT_NOT_FOUND	4	/* 404: no such node, key or peer */
#define CLI_EXIT_NOT_REACHED	5	/* --wait: 202, "reached": false */
/* Internal: a signal stopped watch or top (they exit 0). */
#define CLI_INTERRUPTED		(-1)

#define CLI_DEFAULT_TIMEOUT_MS	10000L
/* The server's own default for ?timeout_ms (docs/API.md). */
#define CLI_DEFAULT_WAIT_MS	5000L
#define CLI_MAX_MS		86400000L	/* a day */
#define CLI_DEFAULT_INTERVAL_MS	1000L
#define CLI_MIN_INTERVAL_MS	50L
/*
 * 4096 members (limits.max_members) at about 250 bytes each make a 1 MiB
 * member list; a node's keys at the limits (1024 of 1024 bytes, escaped)
 * a few MiB.  256 MiB is far past any legitimate answer and still stops a
 * runaway one before it eats the machine.
 */
#define CLI_MAX_BODY_BYTES	(256UL << 20)
/* Values are at most 8192 bytes (limits.max_value_bytes): 16 MiB of stdin
 * is a mistake (a device, a wrong file), not a value. */
#define CLI_MAX_STDIN_BYTES	(16UL << 20)
/* One SSE notice: a change or an event carries at most one value. */
#define CLI_MAX_NOTICE_BYTES	(16UL << 20)
/* hearsayd sends ": keepalive" every 15 s: three missed mean it is gone. */
#define CLI_SSE_IDLE_S		45L
#define CLI_TABLE_MAX_COLS	10
/* Keys and values are bytes: "\u0000" is a valid part of a value. */
#define CLI_JSON_FLAGS		JSON_ALLOW_NUL

/* ---- growing buffers ---- */

/* A byte buffer, NUL-terminated whenever p is not NULL. */
struct cli_buf {
	char *p;
	size_t len;
	size_t cap;
};

/* Makes room for more bytes plus the NUL.  0 or -ENOMEM. */
static int
cli_buf_reserve(struct cli_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (more > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Appends n bytes (which may hold NULs).  0 or -ENOMEM. */
static int
cli_buf_add(struct cli_buf *b, const void *data, size_t n)
{
	if (cli_buf_reserve(b, n) != 0)
		return -ENOMEM;
	if (n != 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int
cli_buf_adds(struct cli_buf *b, const char *s)
{
	return cli_buf_add(b, s, strlen(s));
}

/* Appends printf-style.  0, -ENOMEM, or -EINVAL for a bad format. */
static int __attribute__((format(printf, 2, 0)))
cli_buf_vaddf(struct cli_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	if (cli_buf_reserve(b, (size_t)n) != 0)
		return -ENOMEM;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

/* Appends printf-style (cli_buf_vaddf). */
static int __attribute__((format(printf, 2, 3)))
cli_buf_addf(struct cli_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cli_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

static void
cli_buf_reset(struct cli_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* The contents as a string, "" when nothing was ever added. */
static const char *
cli_buf_str(const struct cli_buf *b)
{
	return b->p != NULL ? b->p : "";
}

static void
cli_buf_free(struct cli_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Hands the string over (the buffer is left empty).  NULL: no memory. */
static char *
cli_buf_take(struct cli_buf *b)
{
	char *p = b->p;

	if (p == NULL)
		p = strdup("");
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

/*
 * Appends s percent-encoded as one URL path segment or query value: only
 * RFC 3986's unreserved characters stay as they are, so '/', '?', '&',
 * '%', '+' and spaces in key names cannot change the URL's structure.  A
 * segment that is exactly "." or ".." has its dots encoded too, or a
 * normaliser on the way would read it as a relative path step.
 */
static int
cli_buf_add_pct(struct cli_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	bool dots = strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
	const unsigned char *u;

	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		bool keep = (*u >= 'A' && *u <= 'Z') ||
			    (*u >= 'a' && *u <= 'z') ||
			    (*u >= '0' && *u <= '9') ||
			    *u == '-' || *u == '_' || *u == '~' ||
			    (*u == '.' && !dots);
		char esc[3] = { '%', hex[*u >> 4], hex[*u & 15] };

		if (cli_buf_add(b, keep ? (const char *)u : esc,
				keep ? 1 : 3) != 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Appends s for a terminal: C0 controls, DEL and C1 controls (U+0080 to
 * U+009F, which some terminals obey as escape sequences) become visible
 * escapes; everything else, UTF-8 included, is copied.
 */
static int
cli_buf_add_clean(struct cli_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	int rc = 0;

	while (*u != '\0' && rc == 0) {
		const unsigned char *start = u;

		while (*u >= 0x20 && *u != 0x7f &&
		       !(u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
			u++;
		if (u > start) {
			rc = cli_buf_add(b, start, (size_t)(u - start));
		} else if (*u == 0xc2) {
			rc = cli_buf_addf(b, "\\u%04x", u[1]);
			u += 2;
		} else {
			rc = *u == '\n' ? cli_buf_adds(b, "\\n") :
			     *u == '\t' ? cli_buf_adds(b, "\\t") :
			     *u == '\r' ? cli_buf_adds(b, "\\r") :
			     cli_buf_addf(b, "\\x%02x", *u);
			u++;
		}
	}
	return rc;
}

/*
 * Appends a JSON value as a person reads it: strings as they are (cleaning
 * is the caller's), reals in at most 15 significant digits (0.4, not
 * jansson's round-trip 0.40000000000000002), true/false, "-" for null or
 * absent, arrays and objects as compact JSON.
 */
static int
cli_buf_add_json(struct cli_buf *b, const json_t *v)
{
	const char *str;
	char *s;
	size_t n;
	int rc;

	if (v == NULL || json_is_null(v))
		return cli_buf_adds(b, "-");
	switch (json_typeof(v)) {
	case JSON_STRING:
		/* a NUL would end the string early: shown as \x00, like the
		 * other control characters cli_buf_add_clean escapes */
		str = json_string_value(v);
		for (n = json_string_length(v); n > 0; ) {
			size_t run = strnlen(str, n);

			if (cli_buf_add(b, str, run) != 0 ||
			    (run < n && cli_buf_adds(b, "\\x00") != 0))
				return -ENOMEM;
			run += run < n;
			str += run;
			n -= run;
		}
		return 0;
	case JSON_INTEGER:
		return cli_buf_addf(b, "%" JSON_INTEGER_FORMAT,
				    json_integer_value(v));
	case JSON_REAL:
		return cli_buf_addf(b, "%.15g", json_real_value(v));
	case JSON_TRUE:
		return cli_buf_adds(b, "true");
	case JSON_FALSE:
		return cli_buf_adds(b, "false");
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s == NULL)
			return -ENOMEM;
		rc = cli_buf_adds(b, s);
		free(s);
		return rc;
	}
}

/* Display columns of a UTF-8 string: one per code point (no wide glyphs
 * in names we expect; a misaligned column is the worst case). */
static size_t
cli_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* ---- tables ---- */

/*
 * Rows of cleaned strings printed in aligned columns, two spaces apart.  A
 * heading that starts with '>' right-aligns its column (numbers); no
 * headings (NULL) makes "key: value" lists.  Adding never fails: a failed
 * allocation sets oom, which the caller checks once before printing.
 */
struct cli_table {
	unsigned n_cols;
	const char *const *head;
	char **cells;			/* row-major */
	size_t n_cells;
	size_t cap_cells;
	bool oom;
};

static void
cli_table_init(struct cli_table *t, unsigned n_cols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols;
	t->head = head;
}

static void
cli_table_free(struct cli_table *t)
{
	size_t i;

	for (i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_cells = 0;
	t->cap_cells = 0;
}

/* Complete rows so far. */
static size_t
cli_table_rows(const struct cli_table *t)
{
	return t->n_cells / t->n_cols;
}

/* Adds the next cell: a cleaned copy of s, "-" when s is empty. */
static void
cli_table_add(struct cli_table *t, const char *s)
{
	struct cli_buf b = { 0 };
	char **cells;
	char *cell;

	if (t->oom)
		return;
	if (t->n_cells == t->cap_cells) {
		size_t cap = t->cap_cells != 0 ? t->cap_cells * 2 : 64;

		cells = cap < SIZE_MAX / sizeof(*cells) ?
			realloc(t->cells, cap * sizeof(*cells)) : NULL;
		if (cells == NULL) {
			t->oom = true;
			return;
		}
		t->cells = cells;
		t->cap_cells = cap;
	}
	if (cli_buf_add_clean(&b, s[0] != '\0' ? s : "-") != 0 ||
	    (cell = cli_buf_take(&b)) == NULL) {
		cli_buf_free(&b);
		t->oom = true;
		return;
	}
	t->cells[t->n_cells++] = cell;
}

static void __attribute__((format(printf, 2, 3)))
cli_table_addf(struct cli_table *t, const char *fmt, ...)
{
	struct cli_buf b = { 0 };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cli_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc != 0)
		t->oom = true;
	else
		cli_table_add(t, cli_buf_str(&b));
	cli_buf_free(&b);
}

/* Adds a JSON value as a cell (cli_buf_add_json's rules). */
static void
cli_table_add_json(struct cli_table *t, const json_t *v)
{
	struct cli_buf b = { 0 };

	if (cli_buf_add_json(&b, v) != 0)
		t->oom = true;
	else
		cli_table_add(t, cli_buf_str(&b));
	cli_buf_free(&b);
}

static void
cli_pad(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

/* One row (or the headings), padded to the widths w. */
static void
cli_table_print_row(FILE *f, const struct cli_table *t, const size_t *w,
		    const char *const *cells, bool heading)
{
	unsigned i;

	for (i = 0; i < t->n_cols; i++) {
		bool right = t->head != NULL && t->head[i][0] == '>';
		const char *s = cells[i];
		size_t sw;

		if (heading && right)
			s++;
		sw = cli_width(s);
		if (i > 0)
			fputs("  ", f);
		if (right)
			cli_pad(f, w[i] - sw);
		fputs(s, f);
		if (!right && i + 1 < t->n_cols)
			cli_pad(f, w[i] - sw);
	}
	fputc('\n', f);
}

/*
 * Prints the headings (if any), then the rows in at most max_lines lines:
 * when they do not all fit, the last line says "... N more".  Columns are
 * as wide as their widest cell among all rows, so they do not move while
 * top refreshes.
 */
static void
cli_table_print(FILE *f, const struct cli_table *t, size_t max_lines)
{
	size_t w[CLI_TABLE_MAX_COLS] = { 0 };
	size_t r, n_rows = cli_table_rows(t);
	size_t max_rows = n_rows <= max_lines ? n_rows :
			  max_lines > 0 ? max_lines - 1 : 0;
	unsigned i;

	for (i = 0; i < t->n_cols; i++) {
		if (t->head != NULL)
			w[i] = cli_width(t->head[i] + (t->head[i][0] == '>'));
		for (r = 0; r < n_rows; r++) {
			size_t cw = cli_width(t->cells[r * t->n_cols + i]);

			if (cw > w[i])
				w[i] = cw;
		}
	}
	if (t->head != NULL)
		cli_table_print_row(f, t, w, t->head, true);
	for (r = 0; r < n_rows && r < max_rows; r++)
		cli_table_print_row(f, t, w,
				    (const char *const *)&t->cells[r * t->n_cols],
				    false);
	if (r < n_rows)
		fprintf(f, "... %zu more\n", n_rows - r);
}

/*
 * Adds a JSON document to a two-column "key: value" table, flattened:
 * nested objects as "node.rx_frames", arrays of objects as "lanes.0.rx",
 * arrays of scalars joined with ", ".  key holds the path so far and is
 * restored before returning.
 */
static void
cli_kv_flatten(struct cli_table *t, struct cli_buf *key, const json_t *j)
{
	size_t saved = key->len;

	if (json_is_object(j) && json_object_size(j) > 0) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)j, k, v) {
			if ((key->len > 0 && cli_buf_adds(key, ".") != 0) ||
			    cli_buf_adds(key, k) != 0) {
				t->oom = true;
				return;
			}
			cli_kv_flatten(t, key, v);
			key->len = saved;
			key->p[saved] = '\0';
		}
		return;
	}
	if (json_is_array(j) && json_array_size(j) > 0) {
		struct cli_buf val = { 0 };
		bool scalars = true;
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v)
			if (json_is_object(v) || json_is_array(v))
				scalars = false;
		if (!scalars) {
			json_array_foreach(j, i, v) {
				if (cli_buf_addf(key, "%s%zu",
						 key->len > 0 ? "." : "",
						 i) != 0) {
					t->oom = true;
					return;
				}
				cli_kv_flatten(t, key, v);
				key->len = saved;
				key->p[saved] = '\0';
			}
			return;
		}
		json_array_foreach(j, i, v)
			if ((i > 0 && cli_buf_adds(&val, ", ") != 0) ||
			    cli_buf_add_json(&val, v) != 0)
				t->oom = true;
		cli_table_addf(t, "%s:", cli_buf_str(key));
		cli_table_add(t, cli_buf_str(&val));
		cli_buf_free(&val);
		return;
	}
	cli_table_addf(t, "%s:", cli_buf_str(key));
	if (json_is_object(j) || json_is_array(j))
		cli_table_add(t, "-");		/* {} or [] */
	else
		cli_table_add_json(t, j);
}

/* ---- formatting ---- */

/* A duration for people: 8ms, 1.2s, 3m04s, 2h03m, 4d02h; "-" if unknown. */
static void
cli_fmt_ms(char *out, size_t n, const json_t *v)
{
	double ms;
	long long s;

	/* past 10^15 ms (31,000 years) the server is confused, and the
	 * conversion below would overflow */
	if (!json_is_number(v) || !isfinite(ms = json_number_value(v)) ||
	    ms < 0 || ms > 1e15) {
		snprintf(out, n, "-");
		return;
	}
	s = (long long)(ms / 1000);
	if (ms < 1000)
		snprintf(out, n, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(out, n, "%.1fs", ms / 1000);
	else if (s < 3600)
		snprintf(out, n, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, n, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* A rate with an SI suffix: 12.3, 4.6k, 1.2M; "-" if unknown. */
static void
cli_fmt_rate(char *out, size_t n, bool have, double v)
{
	if (!have)
		snprintf(out, n, "-");
	else if (v < 1e3)
		snprintf(out, n, "%.1f", v);
	else if (v < 1e6)
		snprintf(out, n, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(out, n, "%.1fM", v / 1e6);
	else
		snprintf(out, n, "%.1fG", v / 1e9);
}

/* A counter's total, "-" when the server did not send it. */
static void
cli_fmt_count(char *out, size_t n, bool have, double v)
{
	if (have)
		snprintf(out, n, "%.0f", v);
	else
		snprintf(out, n, "-");
}

/* Bytes per second in binary units: 512 B/s, 1.2 KiB/s, 3.4 MiB/s. */
static void
cli_fmt_bytes_rate(char *out, size_t n, bool have, double v)
{
	if (!have)
		snprintf(out, n, "- B/s");
	else if (v < 1024)
		snprintf(out, n, "%.0f B/s", v);
	else if (v < 1024 * 1024)
		snprintf(out, n, "%.1f KiB/s", v / 1024);
	else if (v < 1024.0 * 1024 * 1024)
		snprintf(out, n, "%.1f MiB/s", v / (1024 * 1024));
	else
		snprintf(out, n, "%.1f GiB/s", v / (1024.0 * 1024 * 1024));
}

/* Local time of a Unix time in ms: "2025-12-05 10:42:03.456". */
static void
cli_fmt_time_ms(char *out, size_t n, long long ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	size_t len;

	if (ms < 0 || localtime_r(&secs, &tm) == NULL ||
	    (len = strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm)) == 0) {
		snprintf(out, n, "%lld", ms);
		return;
	}
	snprintf(out + len, n - len, ".%03lld", ms % 1000);
}

/* The local time of day now: "10:42:03". */
static void
cli_fmt_clock(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(out, n, "%H:%M:%S", &tm) == 0)
		snprintf(out, n, "-");
}

/* Wall-clock time in ms since the epoch (notice times, top --json). */
static long long
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic seconds: what top measures rates over. */
static double
cli_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The string member name of o, or NULL. */
static const char *
cli_jstr(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* strcmp with NULL sorting as "". */
static int
cli_strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* Node ids are decimal strings: shorter is smaller, then by digits. */
static int
cli_cmp_id(const json_t *a, const json_t *b)
{
	const char *x = json_string_value(a), *y = json_string_value(b);
	size_t lx = x != NULL ? strlen(x) : 0, ly = y != NULL ? strlen(y) : 0;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return cli_strcmp0(x, y);
}

/* qsort order of members and peers: by name, then id. */
static int
cli_cmp_by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int d = cli_strcmp0(cli_jstr(x, "name"), cli_jstr(y, "name"));

	return d != 0 ? d : cli_cmp_id(json_object_get(x, "id"),
				       json_object_get(y, "id"));
}

/* top's order: trouble first (suspect, dead, others), alive last. */
static int
cli_status_rank(const json_t *m)
{
	const char *s = cli_jstr(m, "status");

	if (s == NULL)
		return 2;
	if (strcmp(s, "suspect") == 0)
		return 0;
	if (strcmp(s, "dead") == 0)
		return 1;
	return strcmp(s, "alive") == 0 ? 3 : 2;
}

static int
cli_cmp_by_status(const void *a, const void *b)
{
	int ra = cli_status_rank(*(json_t *const *)a);
	int rb = cli_status_rank(*(json_t *const *)b);

	return ra != rb ? ra - rb : cli_cmp_by_name(a, b);
}

/* qsort order of keys: bytewise. */
static int
cli_cmp_by_key(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return cli_strcmp0(cli_jstr(x, "key"), cli_jstr(y, "key"));
}

/*
 * The objects of a JSON array, sorted by cmp, in a new array the caller
 * frees (the elements stay the array's).  NULL: no memory.
 */
static json_t **
cli_sorted(const json_t *arr, int (*cmp)(const void *, const void *),
	   size_t *n_out)
{
	size_t i, n = 0, size = json_array_size(arr);
	json_t **v = malloc((size != 0 ? size : 1) * sizeof(*v));
	json_t *e;

	if (v == NULL)
		return NULL;
	json_array_foreach(arr, i, e)
		if (json_is_object(e))
			v[n++] = e;
	qsort(v, n, sizeof(*v), cmp);
	*n_out = n;
	return v;
}

/* ---- base64 (value_base64, payload_base64) ---- */

/* The 6-bit value of a base64 digit, -1 for anything else. */
static int
cli_b64_digit(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decodes RFC 4648 base64 (either alphabet, padding optional) into out.
 * 0, -EINVAL for a character outside it, -ENOMEM. */
static int
cli_b64_decode(const char *s, struct cli_buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	bool pad = false;

	for (; *s != '\0'; s++) {
		int d = cli_b64_digit((unsigned char)*s);
		unsigned char byte;

		if (*s == '=') {
			pad = true;
			continue;
		}
		if (d < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			if (cli_buf_add(out, &byte, 1) != 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the client ---- */

/*
 * The command line and the connection: one per run.  Commands fill err
 * (cli_fail) and return an exit status; main prints err once.
 */
struct cli {
	CURL *curl;			/* one handle: top reuses connections */
	bool curl_global;		/* curl_global_init done */
	struct curl_slist *hdr_plain;	/* requests without a body */
	struct curl_slist *hdr_body;	/* PUT and POST: raw bytes */
	struct curl_slist *hdr_sse;	/* the event stream */
	const char *socket_path;	/* NULL with --http */
	char default_socket[108];	/* config/socket.h */
	const char *http;		/* HOST:PORT, or NULL */
	struct cli_buf base_url;	/* http://localhost or http://HOST:PORT */
	struct cli_buf where;		/* for messages */
	struct cli_buf err;		/* why the command failed */
	const char *err_static;		/* when err could not be allocated */
	char curl_err[CURL_ERROR_SIZE];	/* CURLOPT_ERRORBUFFER's contract */
	long timeout_ms;
	bool json;

	/* command options */
	const char *status;
	const char *prefix;
	const char *types;
	bool wait;
	long wait_timeout_ms;
	long interval_ms;
	long iterations;		/* 0: until interrupted */

	/* watch into a pipe: stop when its reader is gone */
	bool watch_pipe;
	bool pipe_gone;
};

/* The response to one request. */
struct cli_resp {
	long status;
	struct cli_buf body;
	bool too_large;
	bool oom;
};

/*
 * Sets a libcurl option of c->curl and ANDs its success into the caller's
 * bool ok: string options are copied, so any of them can fail for memory,
 * and the caller checks once after setting them all.
 */
#define CLI_SETOPT(opt, val) \
	ok = curl_easy_setopt(c->curl, (opt), (val)) == CURLE_OK && ok

static volatile sig_atomic_t cli_stop;

/* SIGINT, SIGTERM during watch and top: only the flag (async-signal-safe). */
static void
cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

/* watch and top: SIGINT and SIGTERM end them cleanly, once. */
static void
cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: top's sleep must return; SA_RESETHAND: a second
	 * ^C kills a client stuck anywhere */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * Records why the command failed (main prints it once, prefixed
 * "hearsay: ", cleaned of control characters) and returns code.
 */
static int __attribute__((format(printf, 3, 4)))
cli_fail(struct cli *c, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	cli_buf_reset(&c->err);
	va_start(ap, fmt);
	rc = cli_buf_vaddf(&c->err, fmt, ap);
	va_end(ap);
	if (rc != 0)
		c->err_static = "out of memory";
	return code;
}

/* The failure of any allocation: exit 1. */
static int
cli_oom(struct cli *c)
{
	return cli_fail(c, CLI_EXIT_FAILED, "out of memory");
}

/* libcurl's write callback: gathers an answer, up to CLI_MAX_BODY_BYTES. */
static size_t
cli_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct cli_resp *r = arg;
	size_t len = size * n;

	if (len > CLI_MAX_BODY_BYTES - r->body.len) {
		r->too_large = true;
		return 0;
	}
	if (cli_buf_add(&r->body, data, len) != 0) {
		r->oom = true;
		return 0;
	}
	return len;
}

/*
 * libcurl calls this at least once a second during a transfer: the place
 * to notice a signal, and, for watch into a pipe, a reader that left.
 * Between notices only keepalives arrive and nothing is written, so a
 * closed pipe would go unnoticed until the next notice (`hearsay watch |
 * head -1` would hang); a pipe whose reader closed polls POLLERR, as GNU
 * tail -f checks it.
 */
static int
cli_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		curl_off_t ultotal, curl_off_t ulnow)
{
	struct cli *c = arg;
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (cli_stop)
		return 1;
	if (c->watch_pipe && poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLERR | POLLHUP)) != 0) {
		c->pipe_gone = true;
		return 1;
	}
	return 0;
}

static void
cli_resp_free(struct cli_resp *r)
{
	cli_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * Starts a URL: the base, then fmt with each "%s" replaced by the next
 * argument percent-encoded (a path segment).  Exit status.
 */
static int
cli_url(struct cli *c, struct cli_buf *url, const char *fmt, ...)
{
	va_list ap;
	const char *p;
	int rc;

	cli_buf_reset(url);
	rc = cli_buf_adds(url, cli_buf_str(&c->base_url));
	va_start(ap, fmt);
	for (p = fmt; *p != '\0' && rc == 0; p++) {
		if (p[0] == '%' && p[1] == 's') {
			rc = cli_buf_add_pct(url, va_arg(ap, const char *));
			p++;
		} else {
			rc = cli_buf_add(url, p, 1);
		}
	}
	va_end(ap);
	return rc != 0 ? cli_oom(c) : 0;
}

/* Appends ?name=value or &name=value, the value percent-encoded. */
static int
cli_url_query(struct cli *c, struct cli_buf *url, const char *name,
	      const char *value)
{
	bool first = strchr(cli_buf_str(url), '?') == NULL;

	if (cli_buf_addf(url, "%c%s=", first ? '?' : '&', name) != 0 ||
	    cli_buf_add_pct(url, value) != 0)
		return cli_oom(c);
	return 0;
}

/*
 * Why a Unix socket refuses connections, which curl does not say: it
 * names "localhost port 80".  errno of our own connect(2), 0 if it works.
 */
static int
cli_probe_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		err = errno;
	close(fd);
	return err;
}

/* Turns a failed transfer into an exit status and a message. */
static int
cli_curl_fail(struct cli *c, CURLcode rc, const struct cli_resp *r)
{
	const char *detail = c->curl_err[0] != '\0' ? c->curl_err :
			     curl_easy_strerror(rc);
	int err;

	if (rc == CURLE_ABORTED_BY_CALLBACK && cli_stop)
		return CLI_INTERRUPTED;
	if (r != NULL && r->too_large)
		return cli_fail(c, CLI_EXIT_FAILED,
				"the answer from hearsayd at %s is larger "
				"than %lu MiB", cli_buf_str(&c->where),
				CLI_MAX_BODY_BYTES >> 20);
	if (rc == CURLE_OUT_OF_MEMORY || (r != NULL && r->oom))
		return cli_oom(c);
	if (c->socket_path != NULL && rc == CURLE_COULDNT_CONNECT &&
	    (err = cli_probe_unix(c->socket_path)) != 0)
		/* curl's own text names "localhost port 80" here */
		return cli_fail(c, CLI_EXIT_UNREACHABLE,
				"cannot reach hearsayd at %s: %s (curl: %s)",
				cli_buf_str(&c->where), strerror(err),
				curl_easy_strerror(rc));
	return cli_fail(c, CLI_EXIT_UNREACHABLE,
			"cannot reach hearsayd at %s: %s",
			cli_buf_str(&c->where), detail);
}

/* A 3xx, 4xx or 5xx answer: the server's "error", and 4 for a 404. */
static int
cli_http_fail(struct cli *c, const struct cli_resp *r)
{
	int code = r->status == 404 ? CLI_EXIT_NOT_FOUND : CLI_EXIT_FAILED;
	json_t *doc = json_loadb(cli_buf_str(&r->body), r->body.len,
				 CLI_JSON_FLAGS, NULL);
	const char *msg = cli_jstr(doc, "error");

	if (msg != NULL && msg[0] != '\0')
		cli_fail(c, code, "%s", msg);
	else
		cli_fail(c, code, "hearsayd answered HTTP %ld", r->status);
	json_decref(doc);
	return code;
}

/* Options every request takes.  false: one did not take (no memory). */
static bool
cli_setopt_common(struct cli *c, const char *url)
{
	bool ok = true;

	curl_easy_reset(c->curl);
	c->curl_err[0] = '\0';
	CLI_SETOPT(CURLOPT_URL, url);
	if (c->socket_path != NULL)
		CLI_SETOPT(CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	/* keys named "." or ".." are keys, not path steps */
	CLI_SETOPT(CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	CLI_SETOPT(CURLOPT_PROTOCOLS_STR, "http");
#else
	CLI_SETOPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	CLI_SETOPT(CURLOPT_ERRORBUFFER, c->curl_err);
	CLI_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	CLI_SETOPT(CURLOPT_USERAGENT, "hearsay-cli");
	CLI_SETOPT(CURLOPT_NOPROGRESS, 0L);
	CLI_SETOPT(CURLOPT_XFERINFOFUNCTION, cli_on_progress);
	CLI_SETOPT(CURLOPT_XFERINFODATA, c);
	return ok;
}

/*
 * One request: method on url with body (NULL: none), answered within
 * timeout_ms.  Returns 0 for a 2xx answer (r->status, r->body set), else
 * an exit status with the reason recorded; CLI_INTERRUPTED after a signal
 * (watch, top).  r is the caller's to free either way.
 */
static int
cli_call(struct cli *c, const char *method, const char *url,
	 const struct cli_buf *body, long timeout_ms, struct cli_resp *r)
{
	bool ok;
	CURLcode rc;

	cli_resp_free(r);
	ok = cli_setopt_common(c, url);
	CLI_SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
	CLI_SETOPT(CURLOPT_WRITEFUNCTION, cli_on_body);
	CLI_SETOPT(CURLOPT_WRITEDATA, r);
	if (body != NULL) {
		/* an explicit size: values may hold NULs */
		CLI_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
		CLI_SETOPT(CURLOPT_POSTFIELDS, cli_buf_str(body));
		CLI_SETOPT(CURLOPT_HTTPHEADER, c->hdr_body);
	} else {
		CLI_SETOPT(CURLOPT_HTTPHEADER, c->hdr_plain);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		CLI_SETOPT(CURLOPT_CUSTOMREQUEST, method);
	if (!ok)
		return cli_oom(c);
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK)
		return cli_curl_fail(c, rc, r);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 200 && r->status < 300)
		return 0;
	return cli_http_fail(c, r);
}

/* Parses an answer that must be a JSON object.  Exit status. */
static int
cli_parse(struct cli *c, const struct cli_resp *r, json_t **out)
{
	json_error_t je;
	json_t *doc = json_loadb(cli_buf_str(&r->body), r->body.len,
				 CLI_JSON_FLAGS, &je);

	*out = NULL;
	if (doc == NULL)
		return cli_fail(c, CLI_EXIT_FAILED,
				"bad JSON from hearsayd: %s", je.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return cli_fail(c, CLI_EXIT_FAILED,
				"bad answer from hearsayd: not a JSON object");
	}
	*out = doc;
	return 0;
}

/* --json: the server's bytes as they came, ending with a newline. */
static void
cli_print_raw(const struct cli_resp *r)
{
	fwrite(cli_buf_str(&r->body), 1, r->body.len, stdout);
	if (r->body.len == 0 || r->body.p[r->body.len - 1] != '\n')
		fputc('\n', stdout);
}

/*
 * GET url: with --json prints the answer and sets *doc NULL; otherwise
 * parses it into *doc (an object, the caller's).  Exit status.
 */
static int
cli_get(struct cli *c, const struct cli_buf *url, bool raw, json_t **doc)
{
	struct cli_resp r = { 0 };
	int rc;

	*doc = NULL;
	rc = cli_call(c, "GET", cli_buf_str(url), NULL, c->timeout_ms, &r);
	if (rc == 0 && raw)
		cli_print_raw(&r);
	else if (rc == 0)
		rc = cli_parse(c, &r, doc);
	cli_resp_free(&r);
	return rc;
}

/* The array member name of doc, or a failure. */
static int
cli_array(struct cli *c, const json_t *doc, const char *name,
	  const json_t **out)
{
	*out = json_object_get(doc, name);
	if (!json_is_array(*out))
		return cli_fail(c, CLI_EXIT_FAILED, "bad answer from "
				"hearsayd: no \"%s\" array", name);
	return 0;
}

/* ---- one-shot commands ---- */

/* Prints doc as aligned "key: value" lines. */
static int
cli_print_kv(struct cli *c, const json_t *doc)
{
	struct cli_table t;
	struct cli_buf key = { 0 };
	int rc = 0;

	cli_table_init(&t, 2, NULL);
	cli_kv_flatten(&t, &key, doc);
	if (t.oom)
		rc = cli_oom(c);
	else
		cli_table_print(stdout, &t, SIZE_MAX);
	cli_table_free(&t);
	cli_buf_free(&key);
	return rc;
}

/* GET url and print it as "key: value" lines (member, info, stats,
 * aggregate). */
static int
cli_show_kv(struct cli *c, const struct cli_buf *url)
{
	json_t *doc;
	int rc = cli_get(c, url, c->json, &doc);

	if (rc == 0 && doc != NULL)
		rc = cli_print_kv(c, doc);
	json_decref(doc);
	return rc;
}

/* One row of the members table. */
static void
cli_member_row(struct cli_table *t, const json_t *m)
{
	const json_t *phi = json_object_get(m, "phi");
	const json_t *seen = json_object_get(m, "last_seen_ms");
	char buf[32];

	cli_table_add_json(t, json_object_get(m, "name"));
	cli_table_add_json(t, json_object_get(m, "address"));
	cli_table_add_json(t, json_object_get(m, "status"));
	cli_table_add_json(t, json_object_get(m, "id"));
	cli_table_add_json(t, json_object_get(m, "rack"));
	cli_table_add_json(t, json_object_get(m, "generation"));
	cli_table_add_json(t, json_object_get(m, "heartbeat"));
	if (json_is_number(phi))
		cli_table_addf(t, "%.2f", json_number_value(phi));
	else
		cli_table_add(t, "-");
	if (json_is_true(json_object_get(m, "self")) && !json_is_number(seen))
		cli_table_add(t, "(self)");
	else {
		cli_fmt_ms(buf, sizeof(buf), seen);
		cli_table_add(t, buf);
	}
}

/* members [--status S,S]: GET /v1/members, a table sorted by name. */
static int
cli_cmd_members(struct cli *c, char **args, int n_args)
{
	static const char *const head[] = {
		"NAME", "ADDRESS", "STATUS", ">ID", "RACK", ">GENERATION",
		">HEARTBEAT", ">PHI", ">LAST SEEN",
	};
	struct cli_buf url = { 0 };
	const json_t *members;
	json_t *doc = NULL, **v = NULL;
	struct cli_table t;
	size_t i, n = 0;
	int rc;

	(void)args;
	(void)n_args;
	cli_table_init(&t, 9, head);
	rc = cli_url(c, &url, "/v1/members");
	if (rc == 0 && c->status != NULL)
		rc = cli_url_query(c, &url, "status", c->status);
	if (rc == 0)
		rc = cli_get(c, &url, c->json, &doc);
	if (rc == 0 && doc != NULL)
		rc = cli_array(c, doc, "members", &members);
	if (rc == 0 && doc != NULL &&
	    (v = cli_sorted(members, cli_cmp_by_name, &n)) == NULL)
		rc = cli_oom(c);
	for (i = 0; rc == 0 && i < n; i++)
		cli_member_row(&t, v[i]);
	if (rc == 0 && t.oom)
		rc = cli_oom(c);
	if (rc == 0 && doc != NULL)
		cli_table_print(stdout, &t, SIZE_MAX);
	free(v);
	cli_table_free(&t);
	json_decref(doc);
	cli_buf_free(&url);
	return rc;
}

/* GET path (its "%s", if any, is arg, percent-encoded) as "key: value"
 * lines, nested objects flattened ("node.rx_frames: ..."). */
static int
cli_show_path(struct cli *c, const char *path, const char *arg)
{
	struct cli_buf url = { 0 };
	int rc;

	rc = cli_url(c, &url, path, arg);
	if (rc == 0)
		rc = cli_show_kv(c, &url);
	cli_buf_free(&url);
	return rc;
}

/* member NODE: GET /v1/members/{node}. */
static int
cli_cmd_member(struct cli *c, char **args, int n_args)
{
	(void)n_args;
	return cli_show_path(c, "/v1/members/%s", args[0]);
}

/* info: GET /v1/info. */
static int
cli_cmd_info(struct cli *c, char **args, int n_args)
{
	(void)args;
	(void)n_args;
	return cli_show_path(c, "/v1/info", NULL);
}

/* stats: GET /v1/stats. */
static int
cli_cmd_stats(struct cli *c, char **args, int n_args)
{
	(void)args;
	(void)n_args;
	return cli_show_path(c, "/v1/stats", NULL);
}

/* aggregate KEY: GET /v1/aggregate/{key}. */
static int
cli_cmd_aggregate(struct cli *c, char **args, int n_args)
{
	(void)n_args;
	return cli_show_path(c, "/v1/aggregate/%s", args[0]);
}

/*
 * get NODE KEY: GET /v1/keys/{node}/{key}; prints the value's bytes as
 * they are ("value", or "value_base64" decoded) and a newline.
 */
static int
cli_cmd_get(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 }, raw = { 0 };
	const json_t *value, *b64;
	json_t *doc = NULL;
	int rc;

	(void)n_args;
	rc = cli_url(c, &url, "/v1/keys/%s/%s", args[0], args[1]);
	if (rc == 0)
		rc = cli_get(c, &url, c->json, &doc);
	if (rc == 0 && doc != NULL) {
		value = json_object_get(doc, "value");
		b64 = json_object_get(doc, "value_base64");
		if (json_is_string(value)) {
			/* the length, not strlen: "\u0000" is valid UTF-8 */
			fwrite(json_string_value(value), 1,
			       json_string_length(value), stdout);
			fputc('\n', stdout);
		} else if (json_is_string(b64)) {
			rc = cli_b64_decode(json_string_value(b64), &raw);
			if (rc == -ENOMEM)
				rc = cli_oom(c);
			else if (rc != 0)
				rc = cli_fail(c, CLI_EXIT_FAILED, "bad answer "
					      "from hearsayd: \"value_base64\" "
					      "is not base64");
			else {
				fwrite(cli_buf_str(&raw), 1, raw.len, stdout);
				fputc('\n', stdout);
			}
		} else {
			rc = cli_fail(c, CLI_EXIT_FAILED, "bad answer from "
				      "hearsayd: no \"value\" or "
				      "\"value_base64\"");
		}
	}
	json_decref(doc);
	cli_buf_free(&raw);
	cli_buf_free(&url);
	return rc;
}

/*
 * keys [NODE] [--prefix P]: GET /v1/keys/{node}, a table sorted by key;
 * binary values shown as base64:..., control characters escaped.
 */
static int
cli_cmd_keys(struct cli *c, char **args, int n_args)
{
	static const char *const head[] = { "KEY", ">VERSION", "VALUE" };
	struct cli_buf url = { 0 };
	const json_t *keys;
	json_t *doc = NULL, **v = NULL;
	struct cli_table t;
	size_t i, n = 0;
	int rc;

	cli_table_init(&t, 3, head);
	rc = cli_url(c, &url, "/v1/keys/%s", n_args > 0 ? args[0] : "self");
	if (rc == 0 && c->prefix != NULL)
		rc = cli_url_query(c, &url, "prefix", c->prefix);
	if (rc == 0)
		rc = cli_get(c, &url, c->json, &doc);
	if (rc == 0 && doc != NULL)
		rc = cli_array(c, doc, "keys", &keys);
	if (rc == 0 && doc != NULL &&
	    (v = cli_sorted(keys, cli_cmp_by_key, &n)) == NULL)
		rc = cli_oom(c);
	for (i = 0; rc == 0 && i < n; i++) {
		const char *b64 = cli_jstr(v[i], "value_base64");

		cli_table_add_json(&t, json_object_get(v[i], "key"));
		cli_table_add_json(&t, json_object_get(v[i], "version"));
		if (json_is_true(json_object_get(v[i], "deleted")))
			cli_table_add(&t, "(deleted)");
		else if (b64 != NULL)
			cli_table_addf(&t, "base64:%s", b64);
		else if (json_string_length(json_object_get(v[i],
							     "value")) == 0 &&
			 json_is_string(json_object_get(v[i], "value")))
			cli_table_add(&t, "\"\"");	/* not "-": absent */
		else
			cli_table_add_json(&t, json_object_get(v[i], "value"));
	}
	if (rc == 0 && t.oom)
		rc = cli_oom(c);
	if (rc == 0 && doc != NULL)
		cli_table_print(stdout, &t, SIZE_MAX);
	free(v);
	cli_table_free(&t);
	json_decref(doc);
	cli_buf_free(&url);
	return rc;
}

/* Reads all of stdin into out (for VALUE or PAYLOAD "-").  Exit status. */
static int
cli_read_stdin(struct cli *c, struct cli_buf *out)
{
	for (;;) {
		size_t got;

		if (cli_buf_reserve(out, 65536) != 0)
			return cli_oom(c);
		got = fread(out->p + out->len, 1, out->cap - out->len - 1,
			    stdin);
		out->len += got;
		out->p[out->len] = '\0';
		if (out->len > CLI_MAX_STDIN_BYTES)
			return cli_fail(c, CLI_EXIT_USAGE, "stdin holds more "
					"than %lu MiB, past any value hearsayd "
					"takes", CLI_MAX_STDIN_BYTES >> 20);
		if (got == 0) {
			if (ferror(stdin))
				return cli_fail(c, CLI_EXIT_FAILED,
						"reading stdin: %s",
						strerror(errno));
			return 0;
		}
	}
}

/* The body of put or publish: the argument, or stdin for "-". */
static int
cli_body(struct cli *c, const char *arg, struct cli_buf *out)
{
	if (strcmp(arg, "-") == 0)
		return cli_read_stdin(c, out);
	if (cli_buf_add(out, arg, strlen(arg)) != 0)
		return cli_oom(c);
	/* an empty value is a value: make sure POSTFIELDS is not NULL */
	return cli_buf_reserve(out, 0) != 0 ? cli_oom(c) : 0;
}

/*
 * "name (id)" for each id of the array, from one look at the member list;
 * just the ids when that look fails (the failure is not the command's).
 */
static int
cli_name_ids(struct cli *c, const json_t *ids, struct cli_buf *out)
{
	struct cli_resp r = { 0 };
	struct cli_buf url = { 0 };
	const json_t *members = NULL, *id;
	json_t *doc = NULL, *m;
	size_t i, j;
	int rc = 0;

	if (cli_url(c, &url, "/v1/members") == 0 &&
	    cli_call(c, "GET", cli_buf_str(&url), NULL, c->timeout_ms,
		     &r) == 0 &&
	    cli_parse(c, &r, &doc) == 0)
		members = json_object_get(doc, "members");
	json_array_foreach(ids, i, id) {
		const char *name = NULL;

		json_array_foreach(members, j, m)
			if (json_equal(json_object_get(m, "id"), (json_t *)id))
				name = cli_jstr(m, "name");
		if (i > 0 && cli_buf_adds(out, ", ") != 0)
			rc = -ENOMEM;
		if (name != NULL && cli_buf_addf(out, "%s (", name) != 0)
			rc = -ENOMEM;
		if (cli_buf_add_json(out, id) != 0 ||
		    (name != NULL && cli_buf_adds(out, ")") != 0))
			rc = -ENOMEM;
	}
	json_decref(doc);
	cli_resp_free(&r);
	cli_buf_free(&url);
	return rc != 0 ? cli_oom(c) : 0;
}

/* put and del: PUT or DELETE /v1/keys/{key}, maybe waiting for the
 * cluster; 5 when the wait ran out. */
static int
cli_write(struct cli *c, const char *method, const char *key,
	  const struct cli_buf *body)
{
	struct cli_buf url = { 0 }, who = { 0 };
	struct cli_resp r = { 0 };
	const json_t *missing, *version;
	long timeout_ms = c->timeout_ms;
	json_t *doc = NULL;
	bool reached = true;
	char ms[32];
	int rc;

	rc = cli_url(c, &url, "/v1/keys/%s", key);
	if (rc == 0 && c->wait) {
		snprintf(ms, sizeof(ms), "%ld", c->wait_timeout_ms);
		rc = cli_url_query(c, &url, "wait", "all");
		if (rc == 0)
			rc = cli_url_query(c, &url, "timeout_ms", ms);
		/* the server answers at its deadline: give it ours on top */
		timeout_ms += c->wait_timeout_ms;
	}
	if (rc == 0)
		rc = cli_call(c, method, cli_buf_str(&url), body, timeout_ms,
			      &r);
	if (rc == 0 && c->json)
		cli_print_raw(&r);
	if (rc == 0) {
		/* even with --json: the exit status says whether it reached
		 * (the bytes are out already, a 202 alone says it) */
		int prc = cli_parse(c, &r, &doc);

		if (prc != 0 && !c->json)
			rc = prc;
		reached = r.status != 202 &&
			  !json_is_false(json_object_get(doc, "reached"));
	}
	if (rc == 0 && reached && !c->json) {
		struct cli_buf line = { 0 };

		version = json_object_get(doc, "version");
		if (cli_buf_add_clean(&line, key) != 0 ||
		    cli_buf_adds(&line, body != NULL ? ": written" :
				 ": deleted") != 0 ||
		    (version != NULL &&
		     (cli_buf_adds(&line, ", version ") != 0 ||
		      cli_buf_add_json(&line, version) != 0)))
			rc = cli_oom(c);
		if (rc == 0 && json_is_true(json_object_get(doc, "reached"))) {
			cli_fmt_ms(ms, sizeof(ms),
				   json_object_get(doc, "waited_ms"));
			if (cli_buf_addf(&line, ", on every live member "
					 "after %s", ms) != 0)
				rc = cli_oom(c);
		}
		if (rc == 0)
			printf("%s\n", cli_buf_str(&line));
		cli_buf_free(&line);
	}
	if (rc == 0 && !reached) {
		missing = json_object_get(doc, "missing");
		if (json_is_array(missing) && json_array_size(missing) > 0)
			rc = cli_name_ids(c, missing, &who);
		if (rc == 0) {
			if (json_is_number(json_object_get(doc, "waited_ms")))
				cli_fmt_ms(ms, sizeof(ms),
					   json_object_get(doc, "waited_ms"));
			else
				snprintf(ms, sizeof(ms), "%ld ms",
					 c->wait_timeout_ms);
			rc = cli_fail(c, CLI_EXIT_NOT_REACHED,
				      "%s: not confirmed by every live member "
				      "within %s; missing: %s", key, ms,
				      who.len > 0 ? who.p : "(not listed)");
		}
	}
	json_decref(doc);
	cli_resp_free(&r);
	cli_buf_free(&who);
	cli_buf_free(&url);
	return rc;
}

/* put KEY VALUE [--wait]: PUT /v1/keys/{key}, VALUE "-" from stdin. */
static int
cli_cmd_put(struct cli *c, char **args, int n_args)
{
	struct cli_buf body = { 0 };
	int rc;

	(void)n_args;
	rc = cli_body(c, args[1], &body);
	if (rc == 0)
		rc = cli_write(c, "PUT", args[0], &body);
	cli_buf_free(&body);
	return rc;
}

/* del KEY [--wait]: DELETE /v1/keys/{key}. */
static int
cli_cmd_del(struct cli *c, char **args, int n_args)
{
	(void)n_args;
	return cli_write(c, "DELETE", args[0], NULL);
}

/* publish PAYLOAD: POST /v1/events (201, {"seq": N}); "-" reads stdin. */
static int
cli_cmd_publish(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 }, body = { 0 };
	struct cli_resp r = { 0 };
	json_t *doc = NULL;
	int rc;

	(void)n_args;
	rc = cli_body(c, args[0], &body);
	if (rc == 0)
		rc = cli_url(c, &url, "/v1/events");
	if (rc == 0)
		rc = cli_call(c, "POST", cli_buf_str(&url), &body,
			      c->timeout_ms, &r);
	if (rc == 0 && c->json)
		cli_print_raw(&r);
	else if (rc == 0 && (rc = cli_parse(c, &r, &doc)) == 0) {
		struct cli_buf seq = { 0 };

		if (cli_buf_add_json(&seq, json_object_get(doc, "seq")) != 0)
			rc = cli_oom(c);
		else
			printf("published, seq %s\n", cli_buf_str(&seq));
		cli_buf_free(&seq);
	}
	json_decref(doc);
	cli_resp_free(&r);
	cli_buf_free(&body);
	cli_buf_free(&url);
	return rc;
}

/*
 * keyring [list | install KEY|- | use ID | remove ID]: the node's keyring
 * (GET, POST /v1/keyring, POST /v1/keyring/{id}/use, DELETE
 * /v1/keyring/{id}).  KEY "-" reads it from stdin, which keeps it out of
 * ps and the shell's history; keys are never printed, only their ids.
 */
static int
cli_cmd_keyring(struct cli *c, char **args, int n_args)
{
	const char *op = n_args > 0 ? args[0] : "list";
	struct cli_buf url = { 0 }, body = { 0 }, key = { 0 };
	struct cli_resp r = { 0 };
	const char *method = "POST";
	json_t *doc = NULL;
	char *s = NULL;
	size_t len;
	int rc = 0;

	if (strcmp(op, "list") == 0 && n_args <= 1)
		return cli_show_path(c, "/v1/keyring", NULL);
	if (n_args != 2 || (strcmp(op, "install") != 0 &&
			    strcmp(op, "use") != 0 &&
			    strcmp(op, "remove") != 0))
		return cli_fail(c, CLI_EXIT_USAGE, "keyring wants list, "
				"install KEY, use ID or remove ID (see --help)");
	if (strcmp(op, "install") == 0) {
		rc = cli_body(c, args[1], &key);
		len = key.len;
		while (rc == 0 && len > 0 &&
		       (key.p[len - 1] == '\n' || key.p[len - 1] == '\r' ||
			key.p[len - 1] == ' '))
			key.p[--len] = '\0';
		if (rc == 0)
			doc = json_pack("{s:s}", "key", cli_buf_str(&key));
		if (rc == 0 && (doc == NULL ||
				(s = json_dumps(doc, JSON_COMPACT)) == NULL ||
				cli_buf_adds(&body, s) != 0))
			rc = cli_oom(c);
		json_decref(doc);
		doc = NULL;
		if (s != NULL)
			sodium_memzero(s, strlen(s));
		free(s);
		sodium_memzero(key.p, key.len);
		if (rc == 0)
			rc = cli_url(c, &url, "/v1/keyring");
	} else if (strcmp(op, "use") == 0) {
		rc = cli_buf_adds(&body, "{}") != 0 ? cli_oom(c) :
		     cli_url(c, &url, "/v1/keyring/%s/use", args[1]);
	} else {
		method = "DELETE";
		rc = cli_url(c, &url, "/v1/keyring/%s", args[1]);
	}
	if (rc == 0)
		rc = cli_call(c, method, cli_buf_str(&url),
			      strcmp(method, "POST") == 0 ? &body : NULL,
			      c->timeout_ms, &r);
	if (body.p != NULL)
		sodium_memzero(body.p, body.len);
	if (rc == 0 && c->json)
		cli_print_raw(&r);
	else if (rc == 0 && (rc = cli_parse(c, &r, &doc)) == 0) {
		if (strcmp(op, "install") == 0)
			printf("installed key %s\n", cli_jstr(doc, "id") ?
			       cli_jstr(doc, "id") : "?");
		else
			printf("key %s %s\n", args[1], strcmp(op, "use") == 0 ?
			       "is now primary" : "removed");
	}
	json_decref(doc);
	cli_resp_free(&r);
	cli_buf_free(&body);
	cli_buf_free(&key);
	cli_buf_free(&url);
	return rc;
}

/* keygen: a new random cluster key (32 bytes, base64), made here. */
static int
cli_cmd_keygen(struct cli *c, char **args, int n_args)
{
	unsigned char k[32];
	char out[sodium_base64_ENCODED_LEN(32,
					   sodium_base64_VARIANT_ORIGINAL)];

	(void)args;
	(void)n_args;
	if (sodium_init() < 0)
		return cli_fail(c, CLI_EXIT_FAILED, "libsodium would not "
				"initialise");
	randombytes_buf(k, sizeof(k));
	sodium_bin2base64(out, sizeof(out), k, sizeof(k),
			  sodium_base64_VARIANT_ORIGINAL);
	printf("%s\n", out);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(out, sizeof(out));
	return 0;
}

/* peers and peer: one table of {id, name, address, status}. */
static int
cli_print_peers(struct cli *c, json_t *const *v, size_t n)
{
	static const char *const head[] = {
		"NAME", "ADDRESS", "STATUS", ">ID",
	};
	struct cli_table t;
	size_t i;
	int rc = 0;

	cli_table_init(&t, 4, head);
	for (i = 0; i < n; i++) {
		cli_table_add_json(&t, json_object_get(v[i], "name"));
		cli_table_add_json(&t, json_object_get(v[i], "address"));
		cli_table_add_json(&t, json_object_get(v[i], "status"));
		cli_table_add_json(&t, json_object_get(v[i], "id"));
	}
	if (t.oom)
		rc = cli_oom(c);
	else
		cli_table_print(stdout, &t, SIZE_MAX);
	cli_table_free(&t);
	return rc;
}

/* peers: GET /v1/gossip/init, a table of "nodes" sorted by name. */
static int
cli_cmd_peers(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 };
	const json_t *nodes;
	json_t *doc = NULL, **v = NULL;
	size_t n = 0;
	int rc;

	(void)args;
	(void)n_args;
	rc = cli_url(c, &url, "/v1/gossip/init");
	if (rc == 0)
		rc = cli_get(c, &url, c->json, &doc);
	if (rc == 0 && doc != NULL)
		rc = cli_array(c, doc, "nodes", &nodes);
	if (rc == 0 && doc != NULL &&
	    (v = cli_sorted(nodes, cli_cmp_by_name, &n)) == NULL)
		rc = cli_oom(c);
	if (rc == 0 && doc != NULL)
		rc = cli_print_peers(c, v, n);
	free(v);
	json_decref(doc);
	cli_buf_free(&url);
	return rc;
}

/* peer: GET /v1/gossip/get-peer, one row; 404 (exit 4) when none is live. */
static int
cli_cmd_peer(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 };
	json_t *doc = NULL;
	int rc;

	(void)args;
	(void)n_args;
	rc = cli_url(c, &url, "/v1/gossip/get-peer");
	if (rc == 0)
		rc = cli_get(c, &url, c->json, &doc);
	if (rc == 0 && doc != NULL)
		rc = cli_print_peers(c, &doc, 1);
	json_decref(doc);
	cli_buf_free(&url);
	return rc;
}

/* metrics: GET /metrics, printed as it came. */
static int
cli_cmd_metrics(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 };
	struct cli_resp r = { 0 };
	int rc;

	(void)args;
	(void)n_args;
	/* Prometheus text is the only form: --json changes nothing */
	rc = cli_url(c, &url, "/metrics");
	if (rc == 0)
		rc = cli_call(c, "GET", cli_buf_str(&url), NULL,
			      c->timeout_ms, &r);
	if (rc == 0)
		fwrite(cli_buf_str(&r.body), 1, r.body.len, stdout);
	cli_resp_free(&r);
	cli_buf_free(&url);
	return rc;
}

/* ---- watch: the event stream ---- */

struct cli_sse {
	struct cli *c;
	long status;			/* 0 until the headers are in */
	struct hs_sse p;		/* daemon/sse.h */
	struct cli_resp err;		/* the body of a non-200 answer */
	int fail;			/* why the transfer was stopped */
};

/* Appends " name=value" for one detail of a notice; strings that a
 * reader could not split on spaces go JSON-quoted. */
static int
cli_notice_detail(struct cli_buf *b, const char *name, const json_t *v)
{
	const char *s = json_string_value(v);
	char *q;
	int rc;

	if (cli_buf_addf(b, " %s=", name) != 0)
		return -ENOMEM;
	if (s == NULL || (s[0] != '\0' && strpbrk(s, " \"=\\") == NULL &&
			  strlen(s) == json_string_length(v)))
		return cli_buf_add_json(b, v);
	q = json_dumps(v, JSON_ENCODE_ANY);
	if (q == NULL)
		return -ENOMEM;
	rc = cli_buf_adds(b, q);
	free(q);
	return rc;
}

/*
 * One notice for people: local time, type, who (name and id), then the
 * other fields as name=value, all on one line.
 */
static int
cli_notice_line(const char *event, size_t event_len, const char *data,
		size_t len)
{
	static const char *const id_fields[] = { "id", "node", "origin" };
	struct cli_buf line = { 0 }, clean = { 0 };
	json_t *doc = json_loadb(data, len, CLI_JSON_FLAGS, NULL);
	const json_t *ts = json_object_get(doc, "ts_ms");
	const json_t *ts_us = json_object_get(doc, "ts_us");
	const char *type = cli_jstr(doc, "type");
	const char *name = cli_jstr(doc, "name");
	const char *id_field = NULL, *k;
	char when[64];
	json_t *v;
	size_t i;
	int rc = 0;

	if (type == NULL)
		type = event_len > 0 ? event : "message";
	/* ts_us: when the node queued it; ts_ms (older daemons): when the
	 * daemon's 20 ms pump took it */
	cli_fmt_time_ms(when, sizeof(when), json_is_integer(ts_us) ?
			(long long)(json_integer_value(ts_us) / 1000) :
			json_is_integer(ts) ?
			(long long)json_integer_value(ts) : cli_now_ms());
	for (i = 0; i < sizeof(id_fields) / sizeof(id_fields[0]); i++)
		if (id_field == NULL && json_object_get(doc, id_fields[i]))
			id_field = id_fields[i];
	if (cli_buf_addf(&line, "%s  %-7s ", when, type) != 0)
		rc = -ENOMEM;
	if (!json_is_object(doc)) {
		/* not JSON: show what came, it is all there is */
		if (cli_buf_add(&line, data, strnlen(data, len)) != 0)
			rc = -ENOMEM;
		goto print;
	}
	if (name != NULL && cli_buf_adds(&line, name) != 0)
		rc = -ENOMEM;
	if (id_field != NULL &&
	    (cli_buf_adds(&line, name != NULL ? " (" : "") != 0 ||
	     cli_buf_add_json(&line, json_object_get(doc, id_field)) != 0 ||
	     cli_buf_adds(&line, name != NULL ? ")" : "") != 0))
		rc = -ENOMEM;
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "type") == 0 || strcmp(k, "ts_ms") == 0 ||
		    strcmp(k, "ts_us") == 0 ||
		    (strcmp(k, "name") == 0 && name != NULL) ||
		    (id_field != NULL && strcmp(k, id_field) == 0))
			continue;
		if (cli_notice_detail(&line, k, v) != 0)
			rc = -ENOMEM;
	}
print:
	if (rc == 0 && cli_buf_add_clean(&clean, cli_buf_str(&line)) != 0)
		rc = -ENOMEM;
	if (rc == 0)
		printf("%s\n", cli_buf_str(&clean));
	json_decref(doc);
	cli_buf_free(&line);
	cli_buf_free(&clean);
	return rc;
}

/* One notice of the stream (hs_sse_fn): printed, then flushed. */
static int
cli_sse_event(const char *event, size_t event_len, char *data, size_t len,
	      void *arg)
{
	struct cli_sse *s = arg;
	struct cli *c = s->c;
	int rc = 0;

	if (c->json) {
		/* one notice a line: a raw newline can only be whitespace
		 * between JSON tokens */
		size_t i;

		for (i = 0; i < len; i++)
			if (data[i] == '\n' || data[i] == '\r')
				data[i] = ' ';
		fwrite(data, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		rc = cli_notice_line(event, event_len, data, len);
	}
	if (rc != 0) {
		s->fail = cli_oom(c);
		return -1;
	}
	if (fflush(stdout) != 0) {
		/* a reader that went away (| head) ends the watch like ^C
		 * does */
		if (errno == EPIPE)
			c->pipe_gone = true;
		else
			s->fail = cli_fail(c, CLI_EXIT_FAILED, "stdout: %s",
					   strerror(errno));
		return -1;
	}
	return 0;
}

/* libcurl's write callback for the stream: into the SSE parser. */
static size_t
cli_sse_on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct cli_sse *s = arg;
	size_t len = size * nmemb;
	int rc;

	if (s->status == 0)
		curl_easy_getinfo(s->c->curl, CURLINFO_RESPONSE_CODE,
				  &s->status);
	if (s->status != 200)
		return cli_on_body(p, size, nmemb, &s->err);
	rc = hs_sse_feed(&s->p, p, len);
	if (rc == 0)
		return len;
	if (rc == -EMSGSIZE)
		s->fail = cli_fail(s->c, CLI_EXIT_FAILED, "a notice or a line "
				   "from hearsayd is larger than %lu MiB",
				   CLI_MAX_NOTICE_BYTES >> 20);
	else if (rc == -ENOMEM)
		s->fail = cli_oom(s->c);
	/* else cli_sse_event stopped it and said why */
	return 0;
}

/*
 * watch [--types T,T] [--prefix P]: GET /v1/events/stream, one line per
 * notice until a signal, the reader of a pipe leaving or the end of the
 * stream (0); a broken or silent stream is 3.
 */
static int
cli_cmd_watch(struct cli *c, char **args, int n_args)
{
	struct cli_buf url = { 0 };
	struct cli_sse s;
	struct stat st;
	CURLcode cc;
	bool ok;
	int rc;

	(void)args;
	(void)n_args;
	memset(&s, 0, sizeof(s));
	s.c = c;
	hs_sse_init(&s.p, CLI_MAX_NOTICE_BYTES, cli_sse_event, &s);
	c->watch_pipe = fstat(STDOUT_FILENO, &st) == 0 &&
			(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	rc = cli_url(c, &url, "/v1/events/stream");
	if (rc == 0 && c->types != NULL)
		rc = cli_url_query(c, &url, "types", c->types);
	if (rc == 0 && c->prefix != NULL)
		rc = cli_url_query(c, &url, "prefix", c->prefix);
	if (rc != 0)
		goto out;
	cli_catch_signals();
	ok = cli_setopt_common(c, cli_buf_str(&url));
	CLI_SETOPT(CURLOPT_HTTPHEADER, c->hdr_sse);
	CLI_SETOPT(CURLOPT_WRITEFUNCTION, cli_sse_on_data);
	CLI_SETOPT(CURLOPT_WRITEDATA, &s);
	/* no overall timeout: the stream lasts; but a silent one is dead */
	CLI_SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
	CLI_SETOPT(CURLOPT_LOW_SPEED_TIME, CLI_SSE_IDLE_S);
	if (!ok) {
		rc = cli_oom(c);
		goto out;
	}
	cc = curl_easy_perform(c->curl);
	if (s.status == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.fail != 0)
		rc = s.fail;
	else if ((cc == CURLE_ABORTED_BY_CALLBACK && cli_stop) ||
		 c->pipe_gone)
		rc = 0;
	else if (cc == CURLE_OPERATION_TIMEDOUT && s.status == 200)
		rc = cli_fail(c, CLI_EXIT_UNREACHABLE, "nothing from hearsayd "
			      "at %s for %ld s, not even a keepalive",
			      cli_buf_str(&c->where), CLI_SSE_IDLE_S);
	else if (cc != CURLE_OK)
		rc = cli_curl_fail(c, cc, &s.err);
	else if (s.status != 200) {
		s.err.status = s.status;
		rc = cli_http_fail(c, &s.err);
	} else {
		fprintf(stderr, "hearsay: hearsayd ended the stream\n");
	}
out:
	hs_sse_free(&s.p);
	cli_resp_free(&s.err);
	cli_buf_free(&url);
	return rc;
}

/* ---- top: a live view ---- */

/* The counters of /v1/stats "node" that top turns into rates. */
enum {
	CLI_RX_FRAMES,
	CLI_TX_FRAMES,
	CLI_RX_BYTES,
	CLI_TX_BYTES,
	CLI_TX_DROPPED,
	CLI_RX_BAD,
	CLI_ROUNDS,
	CLI_N_COUNTERS,
};

static const char *const cli_counter_names[CLI_N_COUNTERS] = {
	"rx_frames", "tx_frames", "rx_bytes", "tx_bytes",
	"tx_dropped", "rx_bad", "rounds",
};

struct cli_top {
	bool tty;
	unsigned rows, cols;
	/* the last sample, for deltas */
	bool have_prev;
	double prev_t;
	double prev[CLI_N_COUNTERS];
	bool prev_have[CLI_N_COUNTERS];
	/* this frame */
	double cur[CLI_N_COUNTERS];
	bool have[CLI_N_COUNTERS];
	double rate[CLI_N_COUNTERS];
	bool have_rate[CLI_N_COUNTERS];
};

/*
 * Reads the counters of a stats sample taken at t and computes rates
 * against the previous one.  A counter that went down (hearsayd
 * restarted) has no rate this time.
 */
static void
cli_top_sample(struct cli_top *tp, const json_t *stats, double t)
{
	const json_t *node = json_object_get(stats, "node");
	double dt = t - tp->prev_t;
	int i;

	for (i = 0; i < CLI_N_COUNTERS; i++) {
		const json_t *v = json_object_get(node, cli_counter_names[i]);

		tp->have[i] = json_is_number(v);
		tp->cur[i] = tp->have[i] ? json_number_value(v) : 0;
		tp->have_rate[i] = tp->have[i] && tp->have_prev &&
				   tp->prev_have[i] && dt > 0 &&
				   tp->cur[i] >= tp->prev[i];
		tp->rate[i] = tp->have_rate[i] ?
			      (tp->cur[i] - tp->prev[i]) / dt : 0;
		tp->prev[i] = tp->cur[i];
		tp->prev_have[i] = tp->have[i];
	}
	tp->prev_t = t;
	tp->have_prev = true;
}

/* Members by status, as {"alive": 5, "suspect": 1, ...}: NULL, no memory. */
static json_t *
cli_top_counts(const json_t *members)
{
	json_t *counts = json_pack("{s:i, s:i, s:i}", "alive", 0,
				   "suspect", 0, "dead", 0);
	const json_t *m;
	size_t i;

	json_array_foreach(members, i, m) {
		const char *st = cli_jstr(m, "status");
		json_int_t n;

		if (st == NULL || counts == NULL)
			continue;
		n = json_integer_value(json_object_get(counts, st));
		if (json_object_set_new(counts, st, json_integer(n + 1)) != 0) {
			json_decref(counts);
			counts = NULL;
		}
	}
	return counts;
}

/* --json: one compact line a frame. */
static int
cli_top_json(struct cli *c, const struct cli_top *tp, json_t *info,
	     json_t *stats, json_t *members, json_t *counts)
{
	json_t *rates = json_object(), *o = NULL;
	int i, rc = 0;

	for (i = 0; rates != NULL && i < CLI_N_COUNTERS; i++)
		if (json_object_set_new(rates, cli_counter_names[i],
					tp->have_rate[i] ?
					json_real(tp->rate[i]) :
					json_null()) != 0) {
			json_decref(rates);
			rates = NULL;
		}
	if (rates != NULL)
		o = json_pack("{s:I, s:O, s:O, s:o, s:O, s:O}",
			      "time_ms", (json_int_t)cli_now_ms(),
			      "info", info, "members_by_status", counts,
			      "rates_per_s", rates, "stats", stats,
			      "members", members);
	else
		rc = cli_oom(c);
	/* ASCII: a C1 control in a member's name stays escaped here too */
	if (o == NULL || json_dumpf(o, stdout, JSON_COMPACT |
				    JSON_ENSURE_ASCII |
				    JSON_REAL_PRECISION(15)) != 0)
		rc = cli_oom(c);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
	return rc;
}

/* Writes one line of the header and counts it. */
static void __attribute__((format(printf, 3, 4)))
cli_top_line(FILE *f, unsigned *n_lines, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	(*n_lines)++;
}

/* The header: who, member counts, rates, drops. */
static void
cli_top_header(struct cli *c, FILE *f, const struct cli_top *tp,
	       const json_t *info, const json_t *counts, unsigned *n_lines)
{
	struct cli_buf who = { 0 }, val = { 0 };
	const char *st, *name = cli_jstr(info, "name");
	const char *cluster = cli_jstr(info, "cluster");
	char now[32], a[32], b[32], d[32], e[32], g[32];
	size_t n_known = 0;
	const json_t *v;

	cli_fmt_clock(now, sizeof(now));
	/* the server's strings go through cli_buf_add_clean: names come
	 * from other nodes; a failed append only shortens the line */
	(void)cli_buf_add_clean(&who, name != NULL ? name : "?");
	(void)cli_buf_adds(&who, " (id ");
	(void)cli_buf_add_json(&val, json_object_get(info, "id"));
	(void)cli_buf_add_clean(&who, cli_buf_str(&val));
	(void)cli_buf_adds(&who, ")");
	if (cluster != NULL) {
		(void)cli_buf_adds(&who, ", cluster ");
		(void)cli_buf_add_clean(&who, cluster);
	}
	cli_top_line(f, n_lines, "hearsay top  %s  %s, every %ld ms",
		     cli_buf_str(&who), now, c->interval_ms);
	cli_buf_reset(&who);
	json_object_foreach((json_t *)counts, st, v) {
		(void)cli_buf_addf(&who, "  %" JSON_INTEGER_FORMAT " ",
				   json_integer_value(v));
		(void)cli_buf_add_clean(&who, st);
		n_known += (size_t)json_integer_value(v);
	}
	cli_top_line(f, n_lines, "members%s  (%zu known)", cli_buf_str(&who),
		     n_known);
	cli_fmt_rate(a, sizeof(a), tp->have_rate[CLI_RX_FRAMES],
		     tp->rate[CLI_RX_FRAMES]);
	cli_fmt_bytes_rate(b, sizeof(b), tp->have_rate[CLI_RX_BYTES],
			   tp->rate[CLI_RX_BYTES]);
	cli_fmt_rate(d, sizeof(d), tp->have_rate[CLI_TX_FRAMES],
		     tp->rate[CLI_TX_FRAMES]);
	cli_fmt_bytes_rate(e, sizeof(e), tp->have_rate[CLI_TX_BYTES],
			   tp->rate[CLI_TX_BYTES]);
	cli_top_line(f, n_lines, "rx  %s frames/s  %s    tx  %s frames/s  %s",
		     a, b, d, e);
	cli_fmt_rate(a, sizeof(a), tp->have_rate[CLI_TX_DROPPED],
		     tp->rate[CLI_TX_DROPPED]);
	cli_fmt_rate(b, sizeof(b), tp->have_rate[CLI_RX_BAD],
		     tp->rate[CLI_RX_BAD]);
	cli_fmt_rate(d, sizeof(d), tp->have_rate[CLI_ROUNDS],
		     tp->rate[CLI_ROUNDS]);
	cli_fmt_count(e, sizeof(e), tp->have[CLI_TX_DROPPED],
		      tp->cur[CLI_TX_DROPPED]);
	cli_fmt_count(g, sizeof(g), tp->have[CLI_RX_BAD],
		      tp->cur[CLI_RX_BAD]);
	cli_top_line(f, n_lines, "drops  tx %s (%s/s)  rx bad %s (%s/s)"
		     "    rounds %s/s", e, a, g, b, d);
	cli_buf_free(&who);
	cli_buf_free(&val);
}

/* Shows a rendered frame: in place on a terminal, cut to its size;
 * else appended, frames a blank line apart. */
static void
cli_top_show(const struct cli_top *tp, const char *frame, size_t len)
{
	const char *p = frame, *end = frame + len;
	unsigned row;

	if (!tp->tty) {
		fwrite(frame, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	/* home, then each line over the old one, erasing what is left of
	 * it (no full clear: it would flicker); the last row stays empty
	 * so the terminal never scrolls */
	fputs("\033[H", stdout);
	for (row = 0; p < end && row + 1 < tp->rows; row++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q, *stop = nl != NULL ? nl : end;
		unsigned w = 0;

		for (q = p; q < stop; q++) {
			if (((unsigned char)*q & 0xc0) != 0x80 &&
			    ++w > tp->cols)
				break;
		}
		fwrite(p, 1, (size_t)(q - p), stdout);
		fputs("\033[K\n", stdout);
		p = nl != NULL ? nl + 1 : end;
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* One frame: fetch, compute, render.  Exit status of the fetches. */
static int
cli_top_frame(struct cli *c, struct cli_top *tp)
{
	static const char *const head[] = {
		"NAME", "ADDRESS", "STATUS", ">FOR", ">PHI", ">HEARTBEAT",
		">LAST SEEN",
	};
	struct cli_buf url = { 0 };
	json_t *info = NULL, *stats = NULL, *mdoc = NULL, *counts = NULL;
	json_t **v = NULL;
	const json_t *members = NULL;
	struct cli_table t;
	char *frame = NULL;
	size_t frame_len = 0, i, n = 0;
	unsigned n_lines = 0;
	double t_stats = 0;
	FILE *f = NULL;
	int rc;

	cli_table_init(&t, 7, head);
	rc = cli_url(c, &url, "/v1/info");
	if (rc == 0)
		rc = cli_get(c, &url, false, &info);
	if (rc == 0)
		rc = cli_url(c, &url, "/v1/stats");
	if (rc == 0)
		rc = cli_get(c, &url, false, &stats);
	t_stats = cli_mono_s();
	if (rc == 0)
		rc = cli_url(c, &url, "/v1/members");
	if (rc == 0)
		rc = cli_get(c, &url, false, &mdoc);
	if (rc == 0)
		rc = cli_array(c, mdoc, "members", &members);
	if (rc == 0 && (counts = cli_top_counts(members)) == NULL)
		rc = cli_oom(c);
	if (rc != 0) {
		/* rates restart after the gap */
		tp->have_prev = false;
		goto out;
	}
	cli_top_sample(tp, stats, t_stats);
	if (c->json) {
		rc = cli_top_json(c, tp, info, stats, (json_t *)members,
				  counts);
		goto out;
	}
	f = open_memstream(&frame, &frame_len);
	if (f == NULL || (v = cli_sorted(members, cli_cmp_by_status,
					 &n)) == NULL) {
		rc = cli_oom(c);
		goto out;
	}
	cli_top_header(c, f, tp, info, counts, &n_lines);
	fputc('\n', f);
	n_lines++;
	for (i = 0; i < n; i++) {
		const json_t *phi = json_object_get(v[i], "phi");
		const json_t *seen = json_object_get(v[i], "last_seen_ms");
		char buf[32];

		cli_table_add_json(&t, json_object_get(v[i], "name"));
		cli_table_add_json(&t, json_object_get(v[i], "address"));
		cli_table_add_json(&t, json_object_get(v[i], "status"));
		cli_fmt_ms(buf, sizeof(buf),
			   json_object_get(v[i], "status_since_ms"));
		cli_table_add(&t, buf);
		if (json_is_number(phi))
			cli_table_addf(&t, "%.2f", json_number_value(phi));
		else
			cli_table_add(&t, "-");
		cli_table_add_json(&t, json_object_get(v[i], "heartbeat"));
		if (json_is_true(json_object_get(v[i], "self")) &&
		    !json_is_number(seen))
			cli_table_add(&t, "(self)");
		else {
			cli_fmt_ms(buf, sizeof(buf), seen);
			cli_table_add(&t, buf);
		}
	}
	if (t.oom) {
		rc = cli_oom(c);
		goto out;
	}
	/* on a terminal: the rows left under the header, less the
	 * headings and the last row, kept empty */
	cli_table_print(f, &t, !tp->tty ? SIZE_MAX :
			tp->rows > n_lines + 2 ? tp->rows - n_lines - 2 : 0);
	if (fclose(f) != 0) {
		f = NULL;
		rc = cli_oom(c);
		goto out;
	}
	f = NULL;
	cli_top_show(tp, frame, frame_len);
out:
	if (f != NULL)
		fclose(f);
	free(frame);
	free(v);
	cli_table_free(&t);
	json_decref(counts);
	json_decref(mdoc);
	json_decref(stats);
	json_decref(info);
	cli_buf_free(&url);
	return rc;
}

/* A failed frame after the first: shown in the view (or on stderr with
 * --json), and top goes on; hearsayd may be restarting. */
static void
cli_top_error(struct cli *c, const struct cli_top *tp)
{
	struct cli_buf frame = { 0 };
	const char *msg = c->err.len > 0 ? cli_buf_str(&c->err) :
			  c->err_static != NULL ? c->err_static : "failed";
	char now[32];

	if (c->json) {
		fprintf(stderr, "hearsay: %s\n", msg);
		return;
	}
	cli_fmt_clock(now, sizeof(now));
	if (cli_buf_addf(&frame, "hearsay top  %s\n! ", now) == 0 &&
	    cli_buf_add_clean(&frame, msg) == 0 &&
	    cli_buf_adds(&frame, "\n") == 0)
		cli_top_show(tp, frame.p, frame.len);
	cli_buf_free(&frame);
}

/* Sleeps until the monotonic time t, or a signal. */
static void
cli_sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - floor(t)) * 1e9);
	while (!cli_stop &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
			       NULL) == EINTR)
		;
}

/*
 * top [--interval-ms N] [--iterations N]: a frame every interval (timed
 * from each frame's start, so slow answers do not stretch the period)
 * until a signal or the iterations.  The first frame failing ends top
 * with its status; a later one is shown and top carries on.
 */
static int
cli_cmd_top(struct cli *c, char **args, int n_args)
{
	struct cli_top tp;
	struct winsize ws;
	long frame;
	int rc = 0;

	(void)args;
	(void)n_args;
	memset(&tp, 0, sizeof(tp));
	tp.tty = !c->json && isatty(STDOUT_FILENO);
	cli_catch_signals();
	if (tp.tty)
		fputs("\033[?25l\033[H\033[2J", stdout);	/* hide cursor */
	for (frame = 0; !cli_stop; frame++) {
		double start = cli_mono_s();

		tp.rows = 24;
		tp.cols = 80;
		if (tp.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		    ws.ws_row > 0 && ws.ws_col > 0) {
			tp.rows = ws.ws_row;
			tp.cols = ws.ws_col;
		}
		cli_buf_reset(&c->err);
		c->err_static = NULL;
		rc = cli_top_frame(c, &tp);
		if (rc == CLI_INTERRUPTED) {
			rc = 0;
			break;
		}
		/* the first frame failing means no daemon: say so, stop */
		if (rc != 0 && frame == 0)
			break;
		if (rc != 0)
			cli_top_error(c, &tp);
		if (c->iterations > 0 && frame + 1 >= c->iterations)
			break;
		cli_sleep_until(start + (double)c->interval_ms / 1000);
	}
	if (tp.tty) {
		fputs("\033[?25h", stdout);
		fflush(stdout);
	}
	/* shown already in the view; main need not repeat it */
	if (rc != 0 && frame > 0 && !c->json && tp.tty) {
		cli_buf_reset(&c->err);
		c->err_static = "";
	}
	return rc;
}

/* ---- command line ---- */

/* --help; docs/CLI.md says the same at length. */
static void
cli_usage(FILE *f)
{
	fprintf(f,
"usage: hearsay [options] COMMAND [ARGS]\n"
"\n"
"A client of hearsayd's control API (docs/API.md; docs/CLI.md has more).\n"
"\n"
"Options (before or after the command):\n"
"  --socket PATH      hearsayd's Unix socket (default $HEARSAY_SOCKET, else\n"
"                     hearsayd's default: " HS_SOCKET_ROOT " as\n"
"                     root, $XDG_RUNTIME_DIR/hearsay/hearsayd.sock or\n"
"                     /tmp/hearsay-UID/hearsayd.sock for other users)\n"
"  --http HOST:PORT   its loopback TCP port instead (api.tcp), e.g.\n"
"                     127.0.0.1:7947\n"
"  --json             print the server's JSON instead of tables\n"
"  --timeout-ms N     give up on a request after N ms (default %ld)\n"
"  --help             this text\n"
"\n"
"Commands (NODE is an id, a name or self):\n"
"  members [--status S,S...]  every member known: a table\n"
"  member NODE                one member\n"
"  info                       this node\n"
"  get NODE KEY               a key's value, raw, then a newline\n"
"  keys [NODE] [--prefix P]   a node's keys (default: self)\n"
"  put KEY VALUE [--wait] [--wait-timeout-ms N]\n"
"                             write one of our keys (VALUE - reads stdin);\n"
"                             --wait: until every live member has it\n"
"                             (--wait-timeout-ms implies it; default %ld)\n"
"  del KEY [--wait] [--wait-timeout-ms N]\n"
"                             delete one of our keys\n"
"  publish PAYLOAD            broadcast an event (PAYLOAD - reads stdin)\n"
"  watch [--types T,T...] [--prefix P]\n"
"                             notices as they come, one a line, until ^C\n"
"                             or hearsayd ends the stream; types: join,\n"
"                             alive, suspect, dead, leave, change, event\n"
"  peers                      every known node and its address\n"
"  peer                       one random live peer\n"
"  aggregate KEY              count, sum, avg, min, max of a numeric key\n"
"  stats                      the daemon's counters\n"
"  top [--interval-ms N] [--iterations N]\n"
"                             a live view: rates, drops, members\n"
"                             (default every %ld ms, until ^C)\n"
"  metrics                    the counters, Prometheus text format\n"
"  keyring [list]             the node's cluster keys: ids, the primary\n"
"  keyring install KEY        add a key (KEY - reads stdin); it opens\n"
"                             frames at once, seals once made primary\n"
"  keyring use ID             seal with key ID from now on\n"
"  keyring remove ID          forget key ID (not the primary)\n"
"  keygen                     print a new random key (made here)\n"
"\n"
"A VALUE or PAYLOAD that starts with '-' goes after '--'.\n"
"\n"
"Exit status:\n"
"  0  done\n"
"  1  the request failed (hearsayd's reason on stderr)\n"
"  2  usage error\n"
"  3  cannot reach hearsayd (or the connection broke)\n"
"  4  not found: no such node or key, no live peer\n"
"  5  --wait: the deadline passed before every live member had the write\n"
"     (the missing members on stderr)\n",
		CLI_DEFAULT_TIMEOUT_MS, CLI_DEFAULT_WAIT_MS,
		CLI_DEFAULT_INTERVAL_MS);
}

enum {
	OPT_SOCKET = 256,
	OPT_HTTP,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_HELP,
	/* command options, from here on (CLI_OPT) */
	OPT_STATUS,
	OPT_PREFIX,
	OPT_WAIT,
	OPT_WAIT_TIMEOUT,
	OPT_TYPES,
	OPT_INTERVAL,
	OPT_ITERATIONS,
};

#define CLI_OPT(o)	(1u << ((o) - OPT_STATUS))

static const struct option cli_longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "wait-timeout-ms", required_argument, NULL, OPT_WAIT_TIMEOUT },
	{ "types", required_argument, NULL, OPT_TYPES },
	{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
	{ "iterations", required_argument, NULL, OPT_ITERATIONS },
	{ NULL, 0, NULL, 0 },
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *c, char **args, int n_args);
	int min_args;
	int max_args;
	int n_names;			/* leading words naming a node/key */
	unsigned opts;			/* CLI_OPT() of what it takes */
};

static const struct cli_cmd cli_cmds[] = {
	{ "aggregate", cli_cmd_aggregate, 1, 1, 1, 0 },
	{ "del", cli_cmd_del, 1, 1, 1,
	  CLI_OPT(OPT_WAIT) | CLI_OPT(OPT_WAIT_TIMEOUT) },
	{ "get", cli_cmd_get, 2, 2, 2, 0 },
	{ "info", cli_cmd_info, 0, 0, 0, 0 },
	{ "keygen", cli_cmd_keygen, 0, 0, 0, 0 },
	{ "keyring", cli_cmd_keyring, 0, 2, 0, 0 },
	{ "keys", cli_cmd_keys, 0, 1, 1, CLI_OPT(OPT_PREFIX) },
	{ "member", cli_cmd_member, 1, 1, 1, 0 },
	{ "members", cli_cmd_members, 0, 0, 0, CLI_OPT(OPT_STATUS) },
	{ "metrics", cli_cmd_metrics, 0, 0, 0, 0 },
	{ "peer", cli_cmd_peer, 0, 0, 0, 0 },
	{ "peers", cli_cmd_peers, 0, 0, 0, 0 },
	{ "publish", cli_cmd_publish, 1, 1, 0, 0 },
	{ "put", cli_cmd_put, 2, 2, 1,
	  CLI_OPT(OPT_WAIT) | CLI_OPT(OPT_WAIT_TIMEOUT) },
	{ "stats", cli_cmd_stats, 0, 0, 0, 0 },
	{ "top", cli_cmd_top, 0, 0, 0,
	  CLI_OPT(OPT_INTERVAL) | CLI_OPT(OPT_ITERATIONS) },
	{ "watch", cli_cmd_watch, 0, 0, 0,
	  CLI_OPT(OPT_TYPES) | CLI_OPT(OPT_PREFIX) },
};

/* A decimal in [lo, hi] for option opt.  0 or CLI_EXIT_USAGE. */
static int
cli_parse_long(struct cli *c, const char *opt, const char *s, long lo,
	       long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < lo || v > hi)
		return cli_fail(c, CLI_EXIT_USAGE, "%s wants a whole number "
				"from %ld to %ld, not '%s' (see --help)",
				opt, lo, hi, s);
	*out = v;
	return 0;
}

/* A non-empty option value. */
static int
cli_nonempty(struct cli *c, const char *opt, const char *s,
	     const char **out)
{
	if (s[0] == '\0')
		return cli_fail(c, CLI_EXIT_USAGE, "%s wants a value (see "
				"--help)", opt);
	*out = s;
	return 0;
}

/*
 * --http HOST:PORT, or http://HOST:PORT: a host (a name, an IPv4
 * address or [an IPv6 one]) and a port, nothing that would make it a
 * different URL.
 */
static int
cli_parse_http(struct cli *c, const char *s)
{
	const char *port, *colon;

	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	port = strrchr(s, ':');
	colon = strchr(s, ':');
	/* an IPv6 address has colons of its own: only inside [] */
	if (s[0] == '\0' || port == NULL || port == s || port[1] == '\0' ||
	    strspn(port + 1, "0123456789") != strlen(port + 1) ||
	    strpbrk(s, "/?#@ \t\r\n\\") != NULL ||
	    (colon != port && (s[0] != '[' || port[-1] != ']')))
		return cli_fail(c, CLI_EXIT_USAGE, "--http wants HOST:PORT, "
				"e.g. 127.0.0.1:7947, not '%s' (see --help)",
				s);
	c->http = s;
	return 0;
}

/* One option, before or after the command (cmd: NULL before). */
static int
cli_option(struct cli *c, int opt, const char *arg, const char *optname,
	   const struct cli_cmd *cmd)
{
	if (opt >= OPT_STATUS && (cmd == NULL || !(cmd->opts & CLI_OPT(opt))))
		return cmd != NULL ?
		       cli_fail(c, CLI_EXIT_USAGE, "%s is not an option of "
				"%s (see --help)", optname, cmd->name) :
		       cli_fail(c, CLI_EXIT_USAGE, "%s goes after the "
				"command it belongs to (see --help)", optname);
	switch (opt) {
	case OPT_SOCKET:
		return cli_nonempty(c, "--socket", arg, &c->socket_path);
	case OPT_HTTP:
		return cli_parse_http(c, arg);
	case OPT_JSON:
		c->json = true;
		return 0;
	case OPT_TIMEOUT:
		return cli_parse_long(c, "--timeout-ms", arg, 1, CLI_MAX_MS,
				      &c->timeout_ms);
	case OPT_STATUS:
		return cli_nonempty(c, "--status", arg, &c->status);
	case OPT_PREFIX:
		/* an empty prefix is every key: allowed */
		c->prefix = arg;
		return 0;
	case OPT_WAIT:
		c->wait = true;
		return 0;
	case OPT_WAIT_TIMEOUT:
		c->wait = true;
		return cli_parse_long(c, "--wait-timeout-ms", arg, 1,
				      CLI_MAX_MS, &c->wait_timeout_ms);
	case OPT_TYPES:
		return cli_nonempty(c, "--types", arg, &c->types);
	case OPT_INTERVAL:
		return cli_parse_long(c, "--interval-ms", arg,
				      CLI_MIN_INTERVAL_MS, CLI_MAX_MS,
				      &c->interval_ms);
	case OPT_ITERATIONS:
		return cli_parse_long(c, "--iterations", arg, 1, LONG_MAX,
				      &c->iterations);
	default:
		return CLI_EXIT_USAGE;
	}
}

/*
 * Runs getopt over argv with every long option; cmd NULL: the options
 * before the command (stops at the first word), else the command's
 * (words and options in any order).  1: --help was asked for.
 */
static int
cli_options(struct cli *c, int argc, char **argv, const struct cli_cmd *cmd)
{
	char name[32];
	int opt, idx, rc;

	/* ":" first: a missing value comes back as ':', not '?' */
	opterr = 0;
	optind = 0;		/* glibc: start afresh, argv[0] is a name */
	while (idx = -1, (opt = getopt_long(argc, argv,
					    cmd == NULL ? "+:h" : ":h",
					    cli_longopts, &idx)) != -1) {
		/* on an error, argv[optind - 1] is the word at fault; else
		 * it may be the option's value */
		if (opt == ':')
			return cli_fail(c, CLI_EXIT_USAGE, "%s wants a value "
					"(see --help)", argv[optind - 1]);
		if (opt == '?')
			return cli_fail(c, CLI_EXIT_USAGE, "unknown option "
					"'%s' (see --help)", argv[optind - 1]);
		if (opt == 'h' || opt == OPT_HELP)
			return 1;
		snprintf(name, sizeof(name), "--%s",
			 idx >= 0 ? cli_longopts[idx].name : "?");
		rc = cli_option(c, opt, optarg, name, cmd);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Where to connect, the headers, the curl handle.  Exit status. */
static int
cli_setup(struct cli *c)
{
	const char *env = getenv("HEARSAY_SOCKET");
	struct curl_slist *l;
	int rc = 0;

	if (c->http != NULL && c->socket_path != NULL)
		return cli_fail(c, CLI_EXIT_USAGE, "--socket and --http "
				"exclude each other (see --help)");
	hs_default_socket(c->default_socket, sizeof(c->default_socket));
	if (c->http == NULL && c->socket_path == NULL)
		c->socket_path = env != NULL && env[0] != '\0' ? env :
				 c->default_socket;
	if (c->http != NULL)
		rc = cli_buf_addf(&c->base_url, "http://%s", c->http) |
		     cli_buf_addf(&c->where, "http://%s", c->http);
	else
		rc = cli_buf_adds(&c->base_url, "http://localhost") |
		     cli_buf_addf(&c->where, "unix socket %s",
				  c->socket_path);
	if (rc != 0)
		return cli_oom(c);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail(c, CLI_EXIT_FAILED, "cannot start libcurl");
	c->curl_global = true;
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		return cli_fail(c, CLI_EXIT_FAILED, "cannot start libcurl");
	/* no "Expect: 100-continue": the server reads small bodies whole,
	 * and the wait for a 100 would add a round trip */
	l = curl_slist_append(NULL, "Expect:");
	c->hdr_plain = l;
	if (l != NULL)
		l = curl_slist_append(l, "Accept: application/json");
	l = curl_slist_append(NULL, "Expect:");
	c->hdr_body = l;
	if (l != NULL)
		l = curl_slist_append(l, "Content-Type: "
				      "application/octet-stream");
	if (l != NULL)
		l = curl_slist_append(l, "Accept: application/json");
	l = curl_slist_append(NULL, "Accept: text/event-stream");
	c->hdr_sse = l;
	/* curl_slist_append returns NULL and keeps the list on failure */
	if (c->hdr_plain == NULL || c->hdr_plain->next == NULL ||
	    c->hdr_body == NULL || c->hdr_body->next == NULL ||
	    c->hdr_body->next->next == NULL || c->hdr_sse == NULL)
		return cli_oom(c);
	return 0;
}

/* Frees what cli_setup made (any part of it). */
static void
cli_teardown(struct cli *c)
{
	curl_slist_free_all(c->hdr_plain);
	curl_slist_free_all(c->hdr_body);
	curl_slist_free_all(c->hdr_sse);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->curl_global)
		curl_global_cleanup();
	cli_buf_free(&c->base_url);
	cli_buf_free(&c->where);
	cli_buf_free(&c->err);
}

/* Finds the command, reads its options and words, runs it. */
static int
cli_run(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = NULL;
	int rc, first, n_args;
	size_t i;

	rc = cli_options(c, argc, argv, NULL);
	if (rc == 1) {
		cli_usage(stdout);
		return 0;
	}
	if (rc != 0)
		return rc;
	first = optind;
	if (first >= argc) {
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[first], "help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (strcmp(argv[first], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (cmd == NULL)
		return cli_fail(c, CLI_EXIT_USAGE, "no command '%s' (see "
				"--help)", argv[first]);
	rc = cli_options(c, argc - first, argv + first, cmd);
	if (rc == 1) {
		cli_usage(stdout);
		return 0;
	}
	if (rc != 0)
		return rc;
	n_args = argc - first - optind;
	if (n_args > 0 && cmd->max_args == 0)
		return cli_fail(c, CLI_EXIT_USAGE, "%s takes no arguments, "
				"not '%s' (see --help)", cmd->name,
				argv[first + optind]);
	if (n_args < cmd->min_args || n_args > cmd->max_args)
		return cli_fail(c, CLI_EXIT_USAGE, "%s takes %s%d "
				"argument%s, not %d (see --help)", cmd->name,
				cmd->min_args == cmd->max_args ? "" :
				"at most ", cmd->max_args,
				cmd->max_args == 1 ? "" : "s", n_args);
	/* an empty segment would turn /v1/keys/self/KEY into another
	 * endpoint; an empty VALUE or PAYLOAD is fine */
	for (i = 0; i < (size_t)n_args && i < (size_t)cmd->n_names; i++)
		if (argv[first + optind + (int)i][0] == '\0')
			return cli_fail(c, CLI_EXIT_USAGE, "%s: an empty "
					"NODE or KEY names nothing (see "
					"--help)", cmd->name);
	rc = cli_setup(c);
	if (rc == 0)
		rc = cmd->run(c, argv + first + optind, n_args);
	return rc == CLI_INTERRUPTED ? 0 : rc;
}

int
main(int argc, char **argv)
{
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	c.wait_timeout_ms = CLI_DEFAULT_WAIT_MS;
	c.interval_ms = CLI_DEFAULT_INTERVAL_MS;
	rc = cli_run(&c, argc, argv);
	if (rc != 0 && (c.err.len > 0 || c.err_static != NULL)) {
		struct cli_buf msg = { 0 };

		if (c.err.len > 0 && cli_buf_add_clean(&msg, c.err.p) == 0)
			fprintf(stderr, "hearsay: %s\n", msg.p);
		else if (c.err_static != NULL && c.err_static[0] != '\0')
			fprintf(stderr, "hearsay: %s\n", c.err_static);
		cli_buf_free(&msg);
	}
	cli_teardown(&c);
	/* a full disk or a closed pipe must not pass for success (but a
	 * watch whose reader left was done) */
	if ((fflush(stdout) != 0 || ferror(stdout)) && !c.pipe_gone) {
		if (rc == 0 && errno != EPIPE)
			fprintf(stderr, "hearsay: stdout: %s\n",
				strerror(errno));
		if (rc == 0)
			rc = CLI_EXIT_FAILED;
	}
	return rc;
}
