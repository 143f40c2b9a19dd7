/*
 * fuzz_xattr - libFuzzer target: XCLIENT and XFORWARD attribute lists
 * (smtpd_xattr_parse).  The first input byte picks the command (odd:
 * XFORWARD), the rest is the argument text after the verb.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "smtpd/smtpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_xattrs xa;
	struct str *reply;
	bool xforward;
	char *arg;
	int rc;

	if (size == 0)
		return 0;
	reply = str_new(64);
	xforward = data[0] & 1;
	arg = xmalloc(size);
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = 0;
	rc = smtpd_xattr_parse(xforward, arg, &xa, reply);
	/* a failure always says why, in a 501 reply */
	if (rc < 0 && strncmp(str_ptr(reply), "501 5.5.4 ", 10) != 0)
		abort();
	for (int i = 0; rc == 0 && i < SMTPD_XA_COUNT; i++)
		if ((xa.given & (1u << i)) &&
		    (xa.value[i] == NULL ||
			strlen(xa.value[i]) > SMTPD_XATTR_MAX))
			abort();
	smtpd_xattr_free(&xa);
	free(arg);
	str_free(reply);
	return 0;
}
