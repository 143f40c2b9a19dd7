/*
 * sendmail_opts - sendmail's command line as Postfix parses it: the
 * option letters, -C/-c configuration directories, -N, -XV, -q forms and
 * the mode they select (sendmail.h).  Usage errors are fatal.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/attr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"
#include "lib/mail/trigger.h"
#include "sendmail.h"

/* Postfix's option letters (observed: -c -m -x take no value). */
#define SM_OPTIONS "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"

/* -N: "never" alone, or a list of success, delay, failure. */
static int
sm_notify(const char *arg)
{
	struct argv *words = argv_split(arg, ", \t");
	int mask = 0;
	bool bad = words->argc == 0;

	for (size_t i = 0; i < words->argc; i++) {
		const char *w = words->argv[i];

		if (strcasecmp(w, "never") == 0)
			mask |= SUBMIT_NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			mask |= SUBMIT_NOTIFY_SUCCESS;
		else if (strcasecmp(w, "delay") == 0)
			mask |= SUBMIT_NOTIFY_DELAY;
		else if (strcasecmp(w, "failure") == 0)
			mask |= SUBMIT_NOTIFY_FAILURE;
		else {
			msg_warn("unknown DSN NOTIFY command value \"%s\" in "
				 "\"%s\"",
			    w, arg);
			bad = true;
		}
	}
	argv_free(words);
	if ((mask & SUBMIT_NOTIFY_NEVER) && mask != SUBMIT_NOTIFY_NEVER)
		bad = true;
	if (bad) {
		msg_warn("bad -N option value -- ignored");
		return 0;
	}
	return mask;
}

static bool
sm_verp_ok(const char *p)
{
	return strlen(p) == 2 && strchr(var_verp_delimiter_filter, p[0]) &&
	       strchr(var_verp_delimiter_filter, p[1]);
}

static void __attribute__((noreturn)) sm_usage(void)
{
	msg_fatal("usage: %s [options]", msg_program());
}

/*
 * "-q" alone is a flush request, but getopt wants a value for -q; Postfix
 * looks for it before each getopt call.
 */
static bool
sm_bare_q(int argc, char **argv)
{
	return optind > 0 && optind < argc && strcmp(argv[optind], "-q") == 0;
}

/* First pass: only -C, so main.cf can be read before the others. */
const char *
sendmail_config_option(int argc, char **argv)
{
	const char *dir = NULL;
	int ch;

	optind = 0;
	for (;;) {
		if (optind == 0)
			optind = 1;
		if (sm_bare_q(argc, argv)) {
			optind++;
			continue;
		}
		if ((ch = getopt(argc, argv, SM_OPTIONS)) <= 0)
			break;
		if (ch == 'C')
			dir = optarg;
	}
	return dir;
}

/* -C may name main.cf itself or its directory. */
char *
sendmail_config_dir(const char *arg)
{
	struct stat st;
	char *dir = xstrdup(arg), *slash;

	if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode) &&
	    (slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
	}
	return dir;
}

void
sendmail_options(int argc, char **argv, struct sm_opts *o)
{
	int ch;

	optind = 0;
	for (;;) {
		if (optind == 0)
			optind = 1;
		if (sm_bare_q(argc, argv)) {
			o->mode = SM_FLUSH;
			optind++;
			continue;
		}
		if ((ch = getopt(argc, argv, SM_OPTIONS)) <= 0)
			break;
		switch (ch) {
		case 'A': /* -Am, -Ac: same configuration either way */
		case 'C': /* done */
		case 'L': /* label: syslog_name */
		case 'O': /* option=value */
		case 'U': /* initial user submission */
		case 'c':
		case 'e':
		case 'h': /* hop count: hopcount_limit */
		case 'm': /* the sender is never eliminated */
		case 'p':
		case 'x':
			break;
		case 'B':
			if (strcmp(optarg, "8BITMIME") == 0)
				o->encoding = "8bit";
			else if (strcmp(optarg, "7BIT") == 0)
				o->encoding = "7bit";
			else
				msg_fatal("-B option needs 8BITMIME or 7BIT");
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'G':
			o->gateway = true;
			break;
		case 'I':
			o->mode = SM_ALIASES;
			break;
		case 'N':
			o->notify = sm_notify(optarg);
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o->ret = SUBMIT_RET_FULL;
			else if (strcasecmp(optarg, "hdrs") == 0)
				o->ret = SUBMIT_RET_HDRS;
			else
				msg_warn("bad -R option value -- ignored");
			break;
		case 'V':
			/* Postfix 2.2's -Vxy was VERP; later it is ENVID. */
			if (strlen(optarg) == 2) {
				msg_warn("option -V is deprecated with Postfix "
					 "2.3; specify -XV instead");
				if (sm_verp_ok(optarg))
					o->verp = optarg;
				break;
			}
			for (const char *p = optarg; *p; p++)
				if (!isprint((unsigned char)*p))
					msg_fatal("-V option contains a "
						  "non-printable character");
			if (strlen(optarg) > 100)
				msg_fatal("-V option: envelope ID is longer "
					  "than 100 characters");
			o->envid = optarg;
			break;
		case 'X':
			if (*optarg != 'V')
				msg_fatal("unsupported: -%c%c", ch, *optarg);
			if (optarg[1] == 0)
				o->verp_default = true;
			else if (sm_verp_ok(optarg + 1))
				o->verp = optarg + 1;
			else
				msg_fatal("-V requires two characters from %s",
				    var_verp_delimiter_filter);
			break;
		case 'b':
			switch (*optarg) {
			case 'd':
			case 'l':
				o->mode = SM_DAEMON;
				break;
			case 'h':
			case 'H':
				o->mode = SM_IGNORE;
				break;
			case 'i':
				o->mode = SM_ALIASES;
				break;
			case 'm':
				o->mode = SM_ENQUEUE;
				break;
			case 'p':
				o->mode = SM_MAILQ;
				break;
			case 's':
				o->mode = SM_SMTP;
				break;
			case 'v':
				o->mode = SM_VERIFY;
				break;
			default:
				msg_fatal("unsupported: -%c%c", ch, *optarg);
			}
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'i':
			o->dot = false;
			break;
		case 'n':
			msg_fatal("-%c option not supported", ch);
		case 'o':
			switch (*optarg) {
			case 'i':
				o->dot = false;
				break;
			case 'A':
				if (optarg[1] == 0)
					msg_fatal("-oA requires pathname");
				o->alias_db = optarg + 1;
				break;
			default: /* -o7 -o8 -om and Sendmail's others */
				break;
			}
			break;
		case 'q':
			if (*optarg == 'R') {
				o->mode = SM_FLUSH_SITE;
				o->mode_arg = optarg + 1;
			} else if (*optarg == 'I') {
				o->mode = SM_FLUSH_QID;
				o->mode_arg = optarg + 1;
			} else if (*optarg == 'S')
				msg_fatal("-qS is not implemented");
			else
				o->mode = SM_IGNORE; /* -q<interval> */
			break;
		case 't':
			o->extract = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			sm_usage();
		}
	}
}
