/*
 * ehlo_mask - EHLO keyword sets, for smtpd_discard_ehlo_keywords and
 * smtp_discard_ehlo_keywords (and their address maps).
 *
 * ehlo_mask_parse(list, &silent)  the EHLO_MASK_* bits of a list of
 *                                 keywords (case-insensitive, separated
 *                                 by space, tab or comma); unknown words
 *                                 are ignored, "silent-discard" sets
 *                                 *silent
 * ehlo_mask_find(keyword)         the bit of one keyword as a server
 *                                 sends it ("SIZE 1000", "AUTH=LOGIN"
 *                                 count up to the space or '='), or 0
 * ehlo_mask_str(mask, out)        "8BITMIME PIPELINING ..." for the log
 *                                 line "discarding EHLO keywords: ...",
 *                                 in the order Postfix 3.7 prints them
 */
#ifndef EHLO_MASK_H
#define EHLO_MASK_H

#include <stdbool.h>

#include "lib/util/str.h"

#define EHLO_MASK_8BITMIME            (1 << 0)
#define EHLO_MASK_AUTH                (1 << 1)
#define EHLO_MASK_ETRN                (1 << 2)
#define EHLO_MASK_PIPELINING          (1 << 3)
#define EHLO_MASK_SIZE                (1 << 4)
#define EHLO_MASK_VERP                (1 << 5)
#define EHLO_MASK_VRFY                (1 << 6)
#define EHLO_MASK_XCLIENT             (1 << 7)
#define EHLO_MASK_XFORWARD            (1 << 8)
#define EHLO_MASK_STARTTLS            (1 << 9)
#define EHLO_MASK_ENHANCEDSTATUSCODES (1 << 10)
#define EHLO_MASK_DSN                 (1 << 11)
#define EHLO_MASK_SMTPUTF8            (1 << 12)
#define EHLO_MASK_CHUNKING            (1 << 13)

int ehlo_mask_parse(const char *, bool *);
int ehlo_mask_find(const char *);
void ehlo_mask_str(int, struct str *);

#endif
