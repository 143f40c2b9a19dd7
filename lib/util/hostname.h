/*
 * hostname - host name syntax.
 *
 * valid_hostname(name)  Postfix's valid_hostname(), without its warnings:
 *                       at most 255 bytes, labels of 1 to 63 letters,
 *                       digits, '-' or '_' that neither start nor end with
 *                       '-', no empty label (so no trailing dot), and not
 *                       all numeric (that is an address)
 */
#ifndef HOSTNAME_H
#define HOSTNAME_H

#include <stdbool.h>

#define HOSTNAME_MAX 255 /* Postfix's VALID_HOSTNAME_LEN */

bool valid_hostname(const char *);

#endif
