/*
 * sendmail.h - what sendmail.c, sendmail_opts.c and sendmail_msg.c share.
 *
 * sendmail_config_option(argc, argv)  the -C/-c directory given, or NULL
 * sendmail_config_dir(arg)      the configuration directory it names
 * sendmail_options(argc, argv, opts)  parse the command line into opts
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

enum sm_mode {
	SM_ENQUEUE,    /* -bm, the default */
	SM_MAILQ,      /* -bp, mailq */
	SM_ALIASES,    /* -bi, -I, newaliases */
	SM_DAEMON,     /* -bd, -bl */
	SM_SMTP,       /* -bs */
	SM_VERIFY,     /* -bv */
	SM_FLUSH,      /* -q */
	SM_FLUSH_SITE, /* -qRsite */
	SM_FLUSH_QID,  /* -qIqid */
	SM_IGNORE,     /* -bh, -bH, -qinterval: nothing to do */
};

struct sm_opts {
	enum sm_mode mode;
	const char *mode_arg; /* site or queue ID */
	bool extract;         /* -t */
	bool dot;             /* a lone . ends input */
	bool gateway;         /* -G */
	const char *sender;   /* -f, -r */
	const char *fullname; /* -F */
	int notify;           /* -N */
	int ret;              /* -R */
	const char *envid;    /* -V */
	const char *verp;     /* -XV: two delimiters, or NULL */
	bool verp_default;    /* -XV without delimiters */
	const char *encoding; /* -B: "7bit", "8bit" or NULL */
	const char *alias_db; /* -oA */
};

const char *sendmail_config_option(int, char **);
char *sendmail_config_dir(const char *);
void sendmail_options(int, char **, struct sm_opts *);

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
