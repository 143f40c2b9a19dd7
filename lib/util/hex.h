/*
 * hex - bytes as hexadecimal digits and back.
 *
 * hex_encode(out, p, len)   the len bytes at p as upper-case hex into out
 * hex_decode(out, hex, len) the bytes of len hex digits (either case) into
 *                           out: 0, or -1 (odd length, not a hex digit)
 * hex_digit(c)              the value of one hex digit, or -1
 */
#ifndef HEX_H
#define HEX_H

#include <stddef.h>

#include "lib/util/str.h"

void hex_encode(struct str *, const void *, size_t);
int hex_decode(struct str *, const char *, size_t)
    __attribute__((warn_unused_result));
int hex_digit(int);

#endif
