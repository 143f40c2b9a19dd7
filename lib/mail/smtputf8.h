/*
 * smtputf8 - the SMTPUTF8 bits a message carries (queue file size record,
 * delivery request "sendopts") and smtputf8_autodetect_classes.
 *
 * SMTPUTF8_FLAG_REQUESTED   the sender asked for SMTPUTF8 (MAIL FROM
 *                           ... SMTPUTF8), or autodetection found UTF-8
 * SMTPUTF8_FLAG_HEADER,     where cleanup saw non-ASCII text, recorded
 * _SENDER, _RECIPIENT       with REQUESTED: then a server without
 *                           SMTPUTF8 cannot take the message (5.6.7)
 * smtputf8_autodetect(class) true when smtputf8_enable is on and class
 *                           ("sendmail", "smtpd", ...) is listed in
 *                           smtputf8_autodetect_classes (or "all" is)
 */
#ifndef SMTPUTF8_H
#define SMTPUTF8_H

#include <stdbool.h>
#include <stddef.h>

#define SMTPUTF8_FLAG_REQUESTED (1 << 0)
#define SMTPUTF8_FLAG_HEADER    (1 << 1)
#define SMTPUTF8_FLAG_SENDER    (1 << 2)
#define SMTPUTF8_FLAG_RECIPIENT (1 << 3)

bool smtputf8_autodetect(const char *);
bool smtputf8_8bit(const char *, size_t);

#endif
