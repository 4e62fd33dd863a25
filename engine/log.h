/*
 * hearsay logging: one macro, HS_LOG(level, component, fmt, ...).
 *
 * Components are named after directories ("engine.table", "driver.dpdk").
 * Levels follow syslog.  Lines go to stderr, one per call, prefixed with the
 * level and component, so that journald can take them as they are.  The
 * data path never logs per packet: it bumps counters.  HS_LOG_DP() is for
 * the rare data-path diagnostics and compiles out unless HS_DEBUG_DP is set.
 *
 * Thread context: any thread.  A single write(2) per line keeps lines from
 * different threads whole.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum hs_log_level {
	HS_LOG_ERR = 3,
	HS_LOG_WARNING = 4,
	HS_LOG_NOTICE = 5,
	HS_LOG_INFO = 6,
	HS_LOG_DEBUG = 7,
};

/* Lines above this level are discarded.  Default HS_LOG_NOTICE. */
void hs_log_set_level(enum hs_log_level level);
enum hs_log_level hs_log_get_level(void);

void hs_log_write(enum hs_log_level level, const char *component,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define HS_LOG(level, component, ...) \
	hs_log_write(HS_LOG_##level, component, __VA_ARGS__)

#ifdef HS_DEBUG_DP
#define HS_LOG_DP(level, component, ...) HS_LOG(level, component, __VA_ARGS__)
#else
#define HS_LOG_DP(level, component, ...) do { } while (0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* HS_LOG_H */
