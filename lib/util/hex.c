/*
 * hex - bytes as hexadecimal digits and back (see hex.h).
 */
#include <stddef.h>

#include "lib/util/hex.h"
#include "lib/util/str.h"

void
hex_encode(struct str *out, const void *p, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *b = p;

	str_reset(out);
	for (size_t i = 0; i < len; i++) {
		str_catc(out, digits[b[i] >> 4]);
		str_catc(out, digits[b[i] & 0xf]);
	}
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
hex_decode(struct str *out, const char *hex, size_t len)
{
	int hi, lo;

	str_reset(out);
	if (len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		if ((hi = hex_digit((unsigned char)hex[i])) < 0 ||
		    (lo = hex_digit((unsigned char)hex[i + 1])) < 0)
			return -1;
		str_catc(out, hi << 4 | lo);
	}
	return 0;
}
