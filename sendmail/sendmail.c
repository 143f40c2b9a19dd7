/*
 * sendmail - Postfix's Sendmail-compatible command line (also run as
 * mailq and newaliases, by name).
 * Runs as the calling user, never privileged.  Reads the message on
 * standard input and hands it, as records (lib/mail/submit.h), to
 * "$command_directory/postdrop -r", which writes the maildrop file; it
 * never touches the queue itself.  -bi/-I run postalias on
 * $alias_database, -q and -bp run postqueue (or wake qmgr and pickup
 * directly while there is no postqueue), -bd/-bl run "postfix start".
 * Every fatal error exits 75 (EX_TEMPFAIL), as Postfix's sendmail does, so
 * that callers retry instead of losing mail.
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

/* The attr list reply from postdrop is short; bound what we accept. */
#define SM_ATTR_LIMIT 1024

/* postqueue -f sends these (observed); postfix flush uses the same. */
#define SM_FLUSH_QMGR   "FADI"
#define SM_FLUSH_PICKUP "W"

static struct str *sm_user;
static long sm_uid;

/* Postfix's sendmail turns every fatal error into a temporary failure. */
static void
sm_tempfail(void)
{
	fflush(NULL);
	_exit(EX_TEMPFAIL);
}

/* Replace this process with $DIR/PROG args; fatal when that fails. */
static void __attribute__((noreturn))
sm_exec(const char *dir, struct argv *args)
{
	struct str *path = str_new(100);

	str_fmt(path, "%s/%s", dir, args->argv[0]);
	if (msg_verbose)
		msg_info("exec %s", str_ptr(path));
	execv(str_ptr(path), args->argv);
	msg_fatal("execv %s: %m", str_ptr(path));
}

/* Is $command_directory/name there to run? */
static bool
sm_have_command(const char *name)
{
	struct str *path = str_new(100);
	bool ok;

	str_fmt(path, "%s/%s", var_command_directory, name);
	ok = access(str_ptr(path), X_OK) == 0;
	str_free(path);
	return ok;
}

/* newaliases: postalias on each alias_database entry. */
static void __attribute__((noreturn)) sm_aliases(const struct sm_opts *o)
{
	struct argv *args = argv_new();

	argv_add(args, "postalias");
	for (int i = 0; i < msg_verbose; i++)
		argv_add(args, "-v");
	argv_split_append(args, o->alias_db ? o->alias_db : var_alias_database,
	    ", \t\r\n");
	if (args->argc == 1)
		exit(0);
	sm_exec(var_command_directory, args);
}

/*
 * -q without postqueue: wake qmgr (scan everything, forget dead
 * destinations) and pickup, as postqueue -f does.  Needs the right to
 * reach public/ (root or the postdrop group).
 */
static void __attribute__((noreturn)) sm_flush_direct(void)
{
	struct str *path = str_new(100), *why = str_new(100);
	const char *const svc[] = { var_queue_service_name,
		var_pickup_service_name };
	const char *const req[] = { SM_FLUSH_QMGR, SM_FLUSH_PICKUP };
	int rc;

	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	for (int i = 0; i < 2; i++) {
		str_fmt(path, "public/%s", svc[i]);
		rc = trigger_send(str_ptr(path), req[i], strlen(req[i]), why);
		if (rc == TRIGGER_ERR_LOOKUP)
			msg_warn("%s", str_ptr(why));
		if (rc < 0)
			msg_fatal("Cannot flush mail queue - mail system is "
				  "down");
	}
	exit(0);
}

/* The modes that another program implements. */
static void __attribute__((noreturn))
sm_other_mode(const struct sm_opts *o, int nrcpt)
{
	struct argv *args = argv_new();

	switch (o->mode) {
	case SM_ALIASES:
		if (nrcpt > 0)
			msg_fatal("alias initialization mode requires no "
				  "recipient");
		sm_aliases(o);
	case SM_DAEMON:
		if (nrcpt > 0)
			msg_fatal("daemon mode requires no recipient");
		argv_add(args, "postfix");
		argv_add(args, "start");
		sm_exec(var_command_directory, args);
	case SM_MAILQ:
	case SM_FLUSH:
	case SM_FLUSH_SITE:
	case SM_FLUSH_QID:
		if (nrcpt > 0 && o->mode == SM_MAILQ)
			msg_fatal("display queue mode requires no recipient");
		if (!sm_have_command("postqueue")) {
			if (o->mode == SM_FLUSH)
				sm_flush_direct();
			msg_fatal("unsupported: %s: postqueue(1), which "
				  "implements it, is not part of this "
				  "Postern version",
			    o->mode == SM_MAILQ        ? "-bp (mailq)"
			    : o->mode == SM_FLUSH_SITE ? "-qR"
						       : "-qI");
		}
		argv_add(args, "postqueue");
		argv_add(args, o->mode == SM_MAILQ        ? "-p"
			       : o->mode == SM_FLUSH      ? "-f"
			       : o->mode == SM_FLUSH_SITE ? "-s"
							  : "-i");
		if (o->mode == SM_FLUSH_SITE || o->mode == SM_FLUSH_QID)
			argv_add(args, o->mode_arg);
		sm_exec(var_command_directory, args);
	case SM_SMTP:
		/*
		 * Postfix runs "smtpd -S" as the invoking user; it queues
		 * through postdrop, so it can do no more than sendmail.
		 */
		argv_add(args, "smtpd");
		argv_add(args, "-S");
		for (int i = 0; i < msg_verbose; i++)
			argv_add(args, "-v");
		sm_exec(var_daemon_directory, args);
	case SM_IGNORE:
		exit(0);
	case SM_ENQUEUE:
	case SM_VERIFY:
		break;
	}
	msg_panic("sm_other_mode: mode %d", (int)o->mode);
}

/* The full name from the password file: GECOS up to ',', & = Login. */
static void
sm_gecos(const struct passwd *pw, struct str *out)
{
	const char *p;

	str_reset(out);
	if (pw == NULL || pw->pw_gecos == NULL)
		return;
	for (p = pw->pw_gecos; *p && *p != ','; p++) {
		if (*p != '&') {
			str_catc(out, *p);
			continue;
		}
		str_catc(out, toupper((unsigned char)pw->pw_name[0]));
		str_cat(out, pw->pw_name + (pw->pw_name[0] != 0));
	}
}

/* A full name becomes a header comment: no control characters in it. */
static void
sm_clean_fullname(struct str *s)
{
	for (size_t i = 0; i < str_len(s); i++)
		if ((unsigned char)str_ptr(s)[i] < ' ' || str_ptr(s)[i] == 0x7f)
			str_ptr(s)[i] = ' ';
}

static bool
sm_has_line_break(const char *p)
{
	return strpbrk(p, "\r\n") != NULL;
}

/* Wait for postdrop; fatal unless it says the file is safe. */
static void
sm_postdrop_done(pid_t pid, bool ok)
{
	struct str *path = str_new(100);
	int status;

	str_fmt(path, "%s/postdrop", var_command_directory);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %m");
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		msg_warn("command \"%s -r\" exited with status %d",
		    str_ptr(path), WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		msg_warn("command \"%s -r\" killed by signal %d", str_ptr(path),
		    WTERMSIG(status));
	if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		msg_fatal("%s(%ld): unable to execute %s -r: Application "
			  "error",
		    str_ptr(sm_user), sm_uid, str_ptr(path));
	str_free(path);
}

/*
 * postdrop refused the message because it passed message_size_limit: wait
 * for it (it has logged "uid=N: File too large") and say what Postfix's
 * sendmail says.
 */
static void
sm_too_big(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		continue;
	msg_fatal("%s(%ld): message file too big", str_ptr(sm_user), sm_uid);
}

/* Writing to postdrop failed: it may have said why before it stopped. */
static void
sm_postdrop_refused(struct stream *from, struct attr_list *al, pid_t pid)
{
	if (attr_read(from, al, SM_ATTR_LIMIT) == 0 &&
	    attr_expect(al, "reason", POSTDROP_TOO_BIG))
		sm_too_big(pid);
}

/*
 * The content of a -bv probe, as Postfix's sendmail writes it (observed
 * with postcat in maildrop/): From:, Subject: probe, and a To: header
 * folded one recipient per line; no body.  Returns 0 (no header count).
 */
static long
sm_probe(struct stream *to, const char *sender, const struct argv *rcpts)
{
	struct str *line = str_new(100);

	rec_put(to, REC_TYPE_MESG, "", 0);
	str_fmt(line, "From: %s", sender);
	rec_put(to, REC_TYPE_NORM, str_ptr(line), str_len(line));
	rec_puts(to, REC_TYPE_NORM, "Subject: probe");
	if (rcpts->argc > 0)
		rec_puts(to, REC_TYPE_CONT, "To:");
	for (size_t i = 0; i < rcpts->argc; i++) {
		str_fmt(line, "\t%s%s", rcpts->argv[i],
		    i + 1 < rcpts->argc ? "," : "");
		rec_put(to, REC_TYPE_NORM, str_ptr(line), str_len(line));
	}
	rec_put(to, REC_TYPE_XTRA, "", 0);
	str_free(line);
	return 0;
}

static void
sm_enqueue(const struct sm_opts *o, struct argv *rcpts)
{
	struct sendmail_copy_opts copy = { 0 };
	struct stream *to, *from, *in;
	struct attr_list *al = attr_new();
	struct str *fullname = str_new(100);
	const char *sender;
	char *sender_copy = NULL;
	struct argv *list;
	bool ok = false;
	long hdr_rcpt;
	pid_t pid;

	/* The sender: -f's single address, else the login name. */
	if (o->sender != NULL) {
		list = argv_new();
		if (addr_parse_list(o->sender, list) != 1)
			msg_warn("-f option specified malformed sender: %s",
			    o->sender);
		if (list->argc > 0)
			sender = sender_copy = xstrdup(list->argv[0]);
		else
			sender = "";
		argv_free(list);
	} else
		sender = str_ptr(sm_user);
	if (sm_has_line_break(sender))
		msg_fatal("%s(%ld): sender address contains a line break",
		    str_ptr(sm_user), sm_uid);
	for (size_t i = 0; i < rcpts->argc; i++)
		if (sm_has_line_break(rcpts->argv[i]))
			msg_fatal("%s(%ld): recipient address contains a line "
				  "break",
			    str_ptr(sm_user), sm_uid);

	if (o->fullname != NULL)
		str_set(fullname, o->fullname);
	else if (getenv("NAME") != NULL)
		str_set(fullname, getenv("NAME"));
	else
		sm_gecos(getpwuid((uid_t)sm_uid), fullname);
	sm_clean_fullname(fullname);

	{
		struct str *who = str_new(0);

		str_fmt(who, "%s(%ld)", str_ptr(sm_user), sm_uid);
		pid = submit_postdrop(&to, &from, str_ptr(who));
		str_free(who);
	}
	if (attr_read(from, al, SM_ATTR_LIMIT) < 0 ||
	    !attr_expect(al, "protocol", POSTDROP_PROTOCOL) ||
	    attr_get(al, "queue_id") == NULL)
		goto done;
	if (msg_verbose)
		msg_info("queue_id %s", attr_get(al, "queue_id"));

	/* The envelope, in the order submit.h describes. */
	if (o->extract || o->mode == SM_VERIFY)
		rec_fmt(to, REC_TYPE_FLGS, "%d",
		    (o->extract ? CLEANUP_XFLAG_EXTRACT_RCPT : 0) |
			(o->mode == SM_VERIFY ? CLEANUP_XFLAG_VERIFY : 0));
	rec_fmt(to, REC_TYPE_ATTR, "rewrite_context=%s",
	    o->gateway ? "remote" : "local");
	if (o->encoding)
		rec_fmt(to, REC_TYPE_ATTR, "encoding=%s", o->encoding);
	if (o->ret)
		rec_fmt(to, REC_TYPE_DSN_RET, "%d", o->ret);
	if (o->envid)
		rec_puts(to, REC_TYPE_DSN_ENVID, o->envid);
	if (str_len(fullname))
		rec_put(to, REC_TYPE_FULL, str_ptr(fullname),
		    str_len(fullname));
	rec_puts(to, REC_TYPE_FROM, sender);
	if (o->verp || o->verp_default)
		rec_puts(to, REC_TYPE_VERP,
		    o->verp ? o->verp : var_default_verp_delimiters);
	for (size_t i = 0; i < rcpts->argc; i++) {
		if (o->notify)
			rec_fmt(to, REC_TYPE_DSN_NOTIFY, "%d", o->notify);
		rec_puts(to, REC_TYPE_RCPT, rcpts->argv[i]);
	}

	/* The content. */
	copy.dot = o->dot;
	copy.count_rcpt = o->extract;
	copy.eol = strcasecmp(var_sendmail_fix_line_endings, "never") == 0
		       ? EOL_NEVER
		   : strcasecmp(var_sendmail_fix_line_endings, "strict") == 0
		       ? EOL_STRICT
		       : EOL_ALWAYS;
	copy.line_limit = (size_t)var_line_length_limit;
	copy.header_limit = (size_t)var_header_size_limit;
	if (o->mode == SM_VERIFY) {
		hdr_rcpt = sm_probe(to, sender, rcpts);
	} else {
		in = stream_open(0);
		hdr_rcpt = sendmail_copy(in, to, &copy);
		stream_close(in);
	}
	if (hdr_rcpt < 0) {
		sm_postdrop_refused(from, al, pid);
		goto done;
	}
	if (o->extract && rcpts->argc == 0 && hdr_rcpt == 0)
		msg_fatal("%s(%ld): No recipient addresses found in message "
			  "header",
		    str_ptr(sm_user), sm_uid);
	if (rec_put(to, REC_TYPE_END, "", 0) < 0 || stream_flush(to) < 0)
		goto done;
	if (attr_read(from, al, SM_ATTR_LIMIT) == 0 &&
	    attr_expect(al, "status", "0")) {
		ok = true;
		if (o->mode == SM_VERIFY)
			printf("Mail Delivery Status Report will be mailed to "
			       "<%s>.\n",
			    sender);
	} else if (attr_expect(al, "reason", POSTDROP_TOO_BIG))
		sm_too_big(pid);
done:
	stream_close(to);
	stream_close(from);
	attr_free(al);
	str_free(fullname);
	free(sender_copy);
	sm_postdrop_done(pid, ok);
}

int
main(int argc, char **argv)
{
	struct sm_opts opts = { .mode = SM_ENQUEUE, .dot = true };
	struct str *why;
	struct passwd *pw;
	struct argv *rcpts;
	struct match_list *users;
	const char *arg_dir, *env, *base;
	char *dir = NULL;
	int allowed;

	/* Keep descriptors 0-2 taken, so nothing we open becomes stdout. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return EX_TEMPFAIL;
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	/* getopt's messages name the program as Postfix's do. */
	argv[0] = (char *)base;
	msg_init(base);
	msg_stderr(true);
	msg_cleanup(sm_tempfail);
	if (getenv("MAIL_VERBOSE"))
		msg_verbose++;

	/* The configuration first, as Postfix: -C or MAIL_CONFIG. */
	if ((arg_dir = sendmail_config_option(argc, argv)) != NULL)
		dir = sendmail_config_dir(arg_dir);
	else if ((env = getenv("MAIL_CONFIG")) != NULL && *env)
		dir = xstrdup(env);
	/* Not privileged: postdrop checks the directory (Postfix 3.2+). */
	config_init(dir);
	why = str_new(100);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(MAILLOG_STDERR);
	/* postdrop and the others read the same configuration. */
	if (dir != NULL && setenv("MAIL_CONFIG", dir, 1) < 0)
		msg_fatal("setenv: %m");

	sm_uid = (long)getuid();
	sm_user = str_new(32);
	if ((pw = getpwuid(getuid())) == NULL)
		msg_fatal("no login name found for user ID %ld", sm_uid);
	str_set(sm_user, pw->pw_name);

	if (strcmp(base, "mailq") == 0)
		opts.mode = SM_MAILQ;
	else if (strcmp(base, "newaliases") == 0)
		opts.mode = SM_ALIASES;
	sendmail_options(argc, argv, &opts);

	if (opts.mode != SM_ENQUEUE && opts.mode != SM_VERIFY)
		sm_other_mode(&opts, argc - optind);
	/* Each argument may hold several addresses, as in Postfix. */
	rcpts = argv_new();
	for (int i = optind; i < argc; i++)
		(void)addr_parse_list(argv[i], rcpts);

	users = match_list_new("authorized_submit_users",
	    var_authorized_submit_users, 0);
	if ((allowed = match_list_string(users, str_ptr(sm_user))) < 0)
		msg_fatal("authorized_submit_users: table lookup problem");
	if (allowed == 0)
		msg_fatal("User %s(%ld) is not allowed to submit mail",
		    str_ptr(sm_user), sm_uid);
	match_list_free(users);
	if (!opts.extract && rcpts->argc == 0)
		msg_fatal("%s(%ld): Recipient addresses must be specified on "
			  "the command line or via the -t option",
		    str_ptr(sm_user), sm_uid);
	sm_enqueue(&opts, rcpts);
	argv_free(rcpts);
	str_free(why);
	free(dir);
	return 0;
}
