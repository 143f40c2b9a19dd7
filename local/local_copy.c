/*
 * local_copy - write the message to a mailbox, file or command with the
 * envelope headers that the flags ask for (lib/mail/mail_copy.h): the
 * sender (or owner- alias), the original recipient and the lower-case
 * address of Delivered-To: come from the recipient being delivered.
 */
#include <sys/types.h>

#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"
#include "local.h"

int
local_copy(struct local_state *s, struct mail_writer *w, int flags,
    struct str *why)
{
	struct mail_copy_src src = { 0 };
	struct str *delivered = str_new(0);
	const char *orig = str_ptr(s->rcpt->orig_rcpt);
	int ret;

	str_set(delivered, s->delivered);
	str_lower(delivered);
	src.qfd = s->qfd;
	src.data_offset = s->req->data_offset;
	src.sender = s->sender;
	src.orig_rcpt = *orig ? orig : str_ptr(s->rcpt->address);
	src.delivered = str_ptr(delivered);
	ret = mail_copy(&src, w, flags, why);
	str_free(delivered);
	return ret;
}
