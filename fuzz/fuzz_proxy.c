/*
 * fuzz_proxy - libFuzzer target: HAProxy PROXY v1/v2 headers
 * (smtpd_proxy_parse) and the escaping of the bytes in its warning.  The
 * input is what smtpd peeks at (at most SMTPD_PROXY_MAX bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/str.h"
#include "smtpd/smtpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_proxy_hdr hdr;
	struct str *esc = str_new(64);
	const char *why = NULL;

	if (size > SMTPD_PROXY_MAX)
		size = SMTPD_PROXY_MAX;
	hdr.client_port = str_new(8);
	hdr.server_port = str_new(8);
	if (smtpd_proxy_parse((const char *)data, size, &hdr, &why) == 0) {
		/* the header is never longer than what arrived */
		if (hdr.len == 0 || hdr.len > size)
			abort();
		if (!hdr.local &&
		    (hdr.client_addr[0] == 0 || str_len(hdr.client_port) == 0))
			abort();
	} else if (why == NULL) {
		abort();
	}
	smtpd_proxy_escape(esc, (const char *)data, size);
	str_free(hdr.client_port);
	str_free(hdr.server_port);
	str_free(esc);
	return 0;
}
