/*
 * hearsay: where the control API's Unix socket is by default, shared by
 * hearsayd (api.socket's default) and the hearsay CLI (--socket's), so
 * that both find each other without a flag:
 *
 *   root          /run/hearsay/hearsayd.sock (the systemd unit's
 *                 RuntimeDirectory)
 *   anyone else   $XDG_RUNTIME_DIR/hearsay/hearsayd.sock when that is set
 *                 and absolute (a laptop session), else
 *                 /tmp/hearsay-UID/hearsayd.sock
 *
 * Header only (the CLI links neither libconfig nor the config module).
 */
#ifndef HS_CONFIG_SOCKET_H
#define HS_CONFIG_SOCKET_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_SOCKET_ROOT	"/run/hearsay/hearsayd.sock"

static inline void
hs_default_socket(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "%s", HS_SOCKET_ROOT);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/hearsay/hearsayd.sock", xdg);
	else
		snprintf(buf, len, "/tmp/hearsay-%u/hearsayd.sock",
			 (unsigned)geteuid());
}

#ifdef __cplusplus
}
#endif

#endif /* HS_CONFIG_SOCKET_H */
