/*
 * postsuper.h - what the parts of postsuper share.
 *
 * ps_requeue(queue, id, newid, why)  rewrite QUEUE/ID as a maildrop file
 *                 that pickup accepts (lib/mail/submit.h) under a new
 *                 ID, then remove the original: 0 (newid set), 1 when the
 *                 message has no recipient left (left alone), or -1 with
 *                 why (the original is untouched)
 */
#ifndef POSTSUPER_H
#define POSTSUPER_H

#include "lib/util/str.h"

int ps_requeue(const char *, const char *, struct str *, struct str *);

#endif
