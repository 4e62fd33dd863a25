/*
 * libFuzzer target for hearsayd's configuration (config/config.c).
 *
 * Each input is read as a configuration file, through a memfd so that
 * libconfig reads exactly these bytes, and then, up to its first newline,
 * as a command-line override ("section.key=value").  Checked: loading
 * returns 0 or an error; a refusal names a file and says why (a non-empty
 * message), a refused override says why; a file that
 * loads then passes the checks across keys or fails them with a message;
 * hs_conf_free releases everything (LeakSanitizer, in the fuzz build,
 * reports what it would not).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do {						\
		if (!(x)) {						\
			fprintf(stderr, "fuzz_config: %s:%d: %s\n",	\
				__FILE__, __LINE__, #x);		\
			abort();					\
		}							\
	} while (0)

static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_conf_error e;
	struct hs_conf cf;
	char line[512];
	size_t n;
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

	hs_conf_default(&cf);
	memset(&e, 0, sizeof(e));
	rc = hs_conf_load(&cf, path, &e);
	CHECK(rc <= 0);
	if (rc != 0) {
		/* -EINVAL, or an error reading an @include'd file: which
		 * file, which line when known, and why */
		CHECK(e.msg[0] != '\0');
		CHECK(e.file[0] != '\0');
		CHECK(e.line >= 0);
	} else {
		memset(&e, 0, sizeof(e));
		if (hs_conf_check(&cf, &e) != 0)
			CHECK(e.msg[0] != '\0');
	}
	hs_conf_free(&cf);

	/* the first line as an override, on a fresh default */
	for (n = 0; n < size && n < sizeof(line) - 1 && data[n] != '\n'; n++)
		line[n] = (char)data[n];
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return 0;	/* a C string ends there: nothing new */
	hs_conf_default(&cf);
	memset(&e, 0, sizeof(e));
	rc = hs_conf_set(&cf, line, &e);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc != 0)
		CHECK(e.msg[0] != '\0');
	hs_conf_free(&cf);
	return 0;
}
