/*
 * hearsay logging: formats one line into a stack buffer and writes it with
 * a single write(2) to stderr.  See log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static int hs_log_level_cur = HS_LOG_NOTICE;

void
hs_log_set_level(enum hs_log_level level)
{
	__atomic_store_n(&hs_log_level_cur, (int)level, __ATOMIC_RELAXED);
}

enum hs_log_level
hs_log_get_level(void)
{
	return (enum hs_log_level)__atomic_load_n(&hs_log_level_cur,
						  __ATOMIC_RELAXED);
}

static const char *
hs_log_level_name(enum hs_log_level level)
{
	switch (level) {
	case HS_LOG_ERR: return "ERR";
	case HS_LOG_WARNING: return "WARNING";
	case HS_LOG_NOTICE: return "NOTICE";
	case HS_LOG_INFO: return "INFO";
	case HS_LOG_DEBUG: return "DEBUG";
	}
	return "?";
}

void
hs_log_write(enum hs_log_level level, const char *component,
	     const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	if ((int)level > __atomic_load_n(&hs_log_level_cur, __ATOMIC_RELAXED))
		return;
	n = snprintf(line, sizeof(line), "%s %s: ",
		     hs_log_level_name(level), component);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* A short or failed write of a log line is not worth an error path. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
