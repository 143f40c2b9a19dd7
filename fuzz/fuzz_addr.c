/*
 * fuzz_addr - libFuzzer target: the MAIL FROM:/RCPT TO: address parser
 * (smtpd_parse_addr) and the address forms behind it (addr_internalize,
 * addr_externalize, addr_split).  The input is the text after "FROM:".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "smtpd/smtpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str *addr = str_new(64), *ext = str_new(64), *back = str_new(64);
	char *arg = xmalloc(size + 1), *local, *domain;
	const char *rest = NULL;

	memcpy(arg, data, size);
	arg[size] = 0;
	if (smtpd_parse_addr(arg, addr, &rest) == 0) {
		/* rest points into arg, after the address */
		if (rest < arg || rest > arg + strlen(arg))
			abort();
		addr_externalize(ext, str_ptr(addr));
		addr_internalize(back, str_ptr(ext));
		addr_split(str_ptr(addr), &local, &domain);
		free(local);
		free(domain);
	}
	/* the other direction on raw input too */
	addr_externalize(ext, arg);
	addr_internalize(back, arg);
	free(arg);
	str_free(addr);
	str_free(ext);
	str_free(back);
	return 0;
}
