/*
 * sendmail.h - what sendmail.c and sendmail_msg.c share.
 *
 * sendmail_copy(in, out, opts)  read the message from in (standard input)
 *                 and write its content records (M, N/L..., X) to out;
 *                 returns how many recipient addresses the To:, Cc:, Bcc:
 *                 (and Resent-) headers name, for the -t check, or -1 on a
 *                 write error (out's errno kept); a read error is fatal
 */
#ifndef SENDMAIL_H
#define SENDMAIL_H

#include <stdbool.h>

#include "lib/util/stream.h"

enum sendmail_eol { EOL_ALWAYS, EOL_STRICT, EOL_NEVER };

struct sendmail_copy_opts {
	bool dot;              /* a lone "." ends the input (not -i) */
	bool count_rcpt;       /* count header recipients (-t) */
	enum sendmail_eol eol; /* sendmail_fix_line_endings */
	size_t line_limit;     /* line_length_limit */
	size_t header_limit;   /* header_size_limit */
};

long sendmail_copy(struct stream *, struct stream *,
    const struct sendmail_copy_opts *);

#endif
