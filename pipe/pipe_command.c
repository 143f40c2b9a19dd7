/*
 * pipe_command - the command line of a pipe delivery and its run.
 *
 * Expansion.  argv= elements may name $name, ${name} or $(name) from the
 * list below; any other name is a configuration error (Postfix logs
 * 'unknown macro name: "NAME"' and defers).  An element that names a
 * per-recipient macro (recipient, original_recipient, user, extension,
 * mailbox, domain) becomes one element per recipient, each expanded with
 * that recipient's values, as in Postfix.  Flags h and u lower-case the
 * domain and localpart of the recipients first, q quotes localparts that
 * need it (RFC 5321); the sender <> is null_sender=.
 *
 * The run.  No shell: the expanded argv is executed with execve (a name
 * without '/' searched in /usr/bin:/bin), as user=, in directory= (the
 * queue directory), with an environment of export_environment and
 * PATH=/usr/bin:/bin.  The message goes to its standard input (mail_copy
 * with the header flags); standard output and error are read together,
 * up to line_length_limit bytes, and end up, control characters turned
 * into spaces, in the reason.  After <service>_time_limit the process
 * group is killed.  Outcomes as Postfix 3.7 words them (observed):
 *   exit 0                 sent "delivered via SERVICE service"
 *   a sysexits.h code      its text, ". Command output: OUTPUT" when any;
 *                          4.x.x defers (EX_TEMPFAIL, EX_OSERR), 5.x.x
 *                          bounces
 *   any other exit code    bounce 5.3.0 'Command died with status N:
 *                          "CMD". Command output: OUTPUT'
 *   a signal               defer 4.3.0 'Command died with signal N: "CMD"'
 *   the time limit         bounce 5.3.0 'Command time limit exceeded:
 *                          "CMD"'
 *   execve failed          exit 75 after writing "pipe: fatal:
 *                          pipe_command: execvp CMD: ERROR" to the output
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/mail_command.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/sys_exits.h"
#include "pipe.h"

#define PIPE_PATH "/usr/bin:/bin"

/* What the macros of one recipient expand to. */
struct pipe_rcpt_vals {
	struct str *recipient, *orig, *user, *extension, *mailbox, *domain;
};

static const char *const pipe_rcpt_macros[] = { "recipient",
	"original_recipient", "user", "extension", "mailbox", "domain", NULL };

static const char *const pipe_msg_macros[] = { "sender", "nexthop", "size",
	"client_address", "client_hostname", "client_port", "client_helo",
	"client_protocol", "queue_id", "sasl_method", "sasl_sender",
	"sasl_username", NULL };

static bool
pipe_in(const char *const *list, const char *name, size_t len)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == len && strncmp(list[i], name, len) == 0)
			return true;
	return false;
}

/*
 * The address folded (h, u) and quoted (q) for the command line:
 * internal form to "local@domain" with the localpart quoted when q.
 */
static void
pipe_address(struct str *out, const char *addr, int flags)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	struct str *local = str_new(0), *ext = str_new(0);

	str_setn(local, addr, llen);
	if (flags & PIPE_FLAG_FOLD_USER)
		str_lower(local);
	if (flags & PIPE_FLAG_QUOTE) {
		addr_externalize(ext, str_ptr(local));
		str_set(local, str_ptr(ext));
	}
	str_set(out, str_ptr(local));
	if (at) {
		str_set(ext, at);
		if (flags & PIPE_FLAG_FOLD_HOST)
			str_lower(ext);
		str_cat(out, str_ptr(ext));
	}
	str_free(local);
	str_free(ext);
}

static void
pipe_rcpt_vals(struct pipe_rcpt_vals *v, const struct deliver_rcpt *r,
    int flags)
{
	const char *addr = str_ptr(r->address), *at;
	struct str *local = str_new(0);
	char *user, *ext = NULL;

	v->recipient = str_new(0);
	v->orig = str_new(0);
	v->user = str_new(0);
	v->extension = str_new(0);
	v->mailbox = str_new(0);
	v->domain = str_new(0);
	pipe_address(v->recipient, addr, flags);
	pipe_address(v->orig,
	    str_len(r->orig_rcpt) ? str_ptr(r->orig_rcpt) : addr, flags);

	/* user, extension, mailbox, domain: the folded address, unquoted. */
	at = strrchr(addr, '@');
	str_setn(local, addr, at ? (size_t)(at - addr) : strlen(addr));
	if (flags & PIPE_FLAG_FOLD_USER)
		str_lower(local);
	str_set(v->mailbox, str_ptr(local));
	user = maps_split_ext(str_ptr(local), var_recipient_delimiter, &ext);
	if (user != NULL) {
		str_set(v->user, user);
		str_set(v->extension, ext + 1);
	} else {
		str_set(v->user, str_ptr(local));
	}
	if (at) {
		str_set(v->domain, at + 1);
		if (flags & PIPE_FLAG_FOLD_HOST)
			str_lower(v->domain);
	}
	free(user);
	free(ext);
	str_free(local);
}

static void
pipe_rcpt_vals_free(struct pipe_rcpt_vals *v)
{
	str_free(v->recipient);
	str_free(v->orig);
	str_free(v->user);
	str_free(v->extension);
	str_free(v->mailbox);
	str_free(v->domain);
}

static const char *
pipe_msg_value(const struct pipe_cfg *cfg, const struct deliver_request *req,
    const char *name, size_t len, struct str *tmp)
{
#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
	if (IS("sender")) {
		if (str_len(req->sender) == 0)
			return cfg->null_sender;
		pipe_address(tmp, str_ptr(req->sender),
		    cfg->flags & PIPE_FLAG_QUOTE);
		return str_ptr(tmp);
	}
	if (IS("nexthop"))
		return str_ptr(req->nexthop);
	if (IS("size")) {
		str_fmt(tmp, "%ld", req->data_size);
		return str_ptr(tmp);
	}
	if (IS("client_address"))
		return str_ptr(req->client_addr);
	if (IS("client_hostname"))
		return str_ptr(req->client_name);
	if (IS("client_port"))
		return str_ptr(req->client_port);
	if (IS("client_helo"))
		return str_ptr(req->helo_name);
	if (IS("client_protocol"))
		return str_ptr(req->protocol_name);
	if (IS("queue_id"))
		return str_ptr(req->queue_id);
	if (IS("sasl_method"))
		return str_ptr(req->sasl_method);
	if (IS("sasl_sender"))
		return str_ptr(req->sasl_sender);
	if (IS("sasl_username"))
		return str_ptr(req->sasl_username);
#undef IS
	return "";
}

static const char *
pipe_rcpt_value(const struct pipe_rcpt_vals *v, const char *name, size_t len)
{
	const struct str *const vals[] = { v->recipient, v->orig, v->user,
		v->extension, v->mailbox, v->domain };

	for (size_t i = 0; pipe_rcpt_macros[i]; i++)
		if (strlen(pipe_rcpt_macros[i]) == len &&
		    strncmp(pipe_rcpt_macros[i], name, len) == 0)
			return str_ptr(vals[i]);
	return "";
}

/*
 * Expand one element; v is NULL for the check pass.  Returns -1 with the
 * name in bad for an unknown macro; *per_rcpt tells whether it named a
 * per-recipient macro.
 */
static int
pipe_expand(const struct pipe_cfg *cfg, const struct deliver_request *req,
    const char *arg, const struct pipe_rcpt_vals *v, struct str *out,
    bool *per_rcpt, struct str *bad)
{
	struct str *tmp = str_new(0);
	const char *p = arg;
	int ret = 0;

	str_reset(out);
	*per_rcpt = false;
	while (*p) {
		const char *name, *end;
		size_t len;

		if (*p != '$') {
			str_catn(out, p, 1);
			p++;
			continue;
		}
		if (p[1] == '$') { /* $$ is a literal $ */
			str_catn(out, "$", 1);
			p += 2;
			continue;
		}
		if (p[1] == '{' || p[1] == '(') {
			char close = p[1] == '{' ? '}' : ')';

			name = p + 2;
			if ((end = strchr(name, close)) == NULL) {
				str_set(bad, name);
				ret = -1;
				goto out;
			}
			len = (size_t)(end - name);
			p = end + 1;
		} else {
			name = p + 1;
			for (end = name;
			     isalnum((unsigned char)*end) || *end == '_'; end++)
				;
			len = (size_t)(end - name);
			if (len == 0) { /* a lone $ */
				str_catn(out, "$", 1);
				p++;
				continue;
			}
			p = end;
		}
		if (pipe_in(pipe_rcpt_macros, name, len)) {
			*per_rcpt = true;
			if (v != NULL)
				str_cat(out, pipe_rcpt_value(v, name, len));
		} else if (pipe_in(pipe_msg_macros, name, len)) {
			str_cat(out, pipe_msg_value(cfg, req, name, len, tmp));
		} else {
			str_setn(bad, name, len);
			ret = -1;
			goto out;
		}
	}
out:
	str_free(tmp);
	return ret;
}

int
pipe_argv(const struct pipe_cfg *cfg, const struct deliver_request *req,
    struct deliver_rcpt **rcpts, size_t n, struct argv *out, struct str *bad)
{
	struct pipe_rcpt_vals *vals = xcalloc(n ? n : 1, sizeof(*vals));
	struct str *buf = str_new(0);
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		pipe_rcpt_vals(&vals[i], rcpts[i], cfg->flags);
	for (size_t k = 0; k < cfg->argv->argc; k++) {
		const char *arg = cfg->argv->argv[k];
		bool per_rcpt;

		if (pipe_expand(cfg, req, arg, NULL, buf, &per_rcpt, bad) < 0) {
			ret = -1;
			break;
		}
		if (!per_rcpt) {
			argv_add(out, str_ptr(buf));
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			(void)pipe_expand(cfg, req, arg, &vals[i], buf,
			    &per_rcpt, bad);
			argv_add(out, str_ptr(buf));
		}
	}
	for (size_t i = 0; i < n; i++)
		pipe_rcpt_vals_free(&vals[i]);
	free(vals);
	str_free(buf);
	return ret;
}

static void
pipe_env_add(struct argv *env, const char *name, const char *value)
{
	struct str *s = str_new(0);

	str_fmt(s, "%s=%s", name, value);
	argv_add(env, str_ptr(s));
	str_free(s);
}

static struct argv *
pipe_env(void)
{
	struct argv *env = argv_new();
	struct argv *exp = argv_split(var_export_environment, ", \t\r\n");

	for (size_t i = 0; i < exp->argc; i++) {
		if (strchr(exp->argv[i], '=') != NULL)
			argv_add(env, exp->argv[i]);
		else if (getenv(exp->argv[i]) != NULL)
			pipe_env_add(env, exp->argv[i], getenv(exp->argv[i]));
	}
	argv_free(exp);
	pipe_env_add(env, "PATH", PIPE_PATH);
	return env;
}

/* In the child: write a fatal message to the output and exit 75. */
static void
pipe_child_fail(const char *what, const char *cmd, int err)
{
	struct str *s = str_new(0);

	str_fmt(s, "pipe: fatal: pipe_command: %s %s: %s\n", what, cmd,
	    strerror(err));
	(void)!write(2, str_ptr(s), str_len(s));
	_exit(75);
}

/* What the child needs: the service's settings, argv, the environment. */
struct pipe_child {
	const struct pipe_cfg *cfg;
	struct argv *args;
	struct argv *env;
};

/* In the child: become the user and execute the command.  Never returns. */
static void
pipe_exec(void *ctx)
{
	const struct pipe_child *ch = ctx;
	const struct pipe_cfg *cfg = ch->cfg;
	const char *cmd = ch->args->argv[0];
	int err = ENOENT;

	if (seteuid(0) < 0 || setgroups(1, &cfg->gid) < 0 ||
	    setgid(cfg->gid) < 0 || setuid(cfg->uid) < 0)
		pipe_child_fail("set_ugid", cmd, errno);
	if (chdir(cfg->directory) < 0)
		pipe_child_fail("chdir", cfg->directory, errno);
	if (strchr(cmd, '/') != NULL) {
		execve(cmd, ch->args->argv, ch->env->argv);
		err = errno;
	} else {
		struct argv *dirs = argv_split(PIPE_PATH, ":");
		struct str *path = str_new(0);

		for (size_t i = 0; i < dirs->argc; i++) {
			str_fmt(path, "%s/%s", dirs->argv[i], cmd);
			execve(str_ptr(path), ch->args->argv, ch->env->argv);
			if (errno != ENOENT)
				err = errno;
		}
	}
	pipe_child_fail("execvp", cmd, err);
}

static void
pipe_set(struct pipe_result *res, enum pipe_kind kind, const char *dsn)
{
	res->kind = kind;
	res->dsn = dsn;
}

void
pipe_run(const struct pipe_cfg *cfg, const struct deliver_request *req, int qfd,
    struct deliver_rcpt *first, struct argv *args, struct pipe_result *res)
{
	struct str *why = str_new(0), *output;
	struct mail_copy_src src = { 0 };
	struct mail_command run = { 0 };
	struct pipe_child child = { cfg, args, NULL };
	struct mail_writer w;
	int status, flags = 0;
	bool timeout;
	const char *cmd = args->argv[0];

	str_reset(res->text);
	child.env = pipe_env();
	run.deadline = mail_now_ms() + (long)cfg->time_limit * 1000;
	run.output_max = (size_t)var_line_length_limit;
	if (mail_command_start(&run, pipe_exec, &child, why) < 0) {
		argv_free(child.env);
		pipe_set(res, PIPE_DEFER, "4.3.0");
		str_set(res->text, str_ptr(why));
		mail_command_free(&run);
		str_free(why);
		return;
	}
	argv_free(child.env);

	/*
	 * Feed the message, then read the output.  A command that writes
	 * more than a pipe buffer before it reads its input runs into the
	 * time limit (the writes wait with that deadline).
	 */
	flags |= (cfg->flags & PIPE_FLAG_FROM) ? MAIL_COPY_FROM : 0;
	flags |=
	    (cfg->flags & PIPE_FLAG_RETURN_PATH) ? MAIL_COPY_RETURN_PATH : 0;
	flags |= (cfg->flags & PIPE_FLAG_ORIG_RCPT) ? MAIL_COPY_ORIG_RCPT : 0;
	flags |= (cfg->flags & PIPE_FLAG_DELIVERED) ? MAIL_COPY_DELIVERED : 0;
	flags |= (cfg->flags & PIPE_FLAG_DOT) ? MAIL_COPY_DOT : 0;
	flags |= (cfg->flags & PIPE_FLAG_QUOTE_FROM) ? MAIL_COPY_QUOTE : 0;
	flags |= (cfg->flags & PIPE_FLAG_BLANK) ? MAIL_COPY_BLANK : 0;
	src.qfd = qfd;
	src.data_offset = req->data_offset;
	src.sender = str_ptr(req->sender);
	src.null_sender = cfg->null_sender;
	src.orig_rcpt = str_len(first->orig_rcpt) ? str_ptr(first->orig_rcpt)
						  : str_ptr(first->address);
	src.delivered = str_ptr(first->address);
	src.eol = cfg->eol;
	mail_writer_init(&w, run.in);
	w.pipe = true;
	w.deadline = run.deadline;
	timeout = mail_copy(&src, &w, flags, why) < 0 && errno == ETIMEDOUT;
	mail_writer_done(&w);
	mail_command_finish(&run, timeout);
	/* Control characters are spaces now; nothing is trimmed (Postfix). */
	output = run.output;
	status = run.status;
	if (run.timeout) {
		pipe_set(res, PIPE_BOUNCE, "5.3.0");
		str_fmt(res->text, "Command time limit exceeded: \"%s\"", cmd);
	} else if (WIFSIGNALED(status)) {
		pipe_set(res, PIPE_DEFER, "4.3.0");
		str_fmt(res->text, "Command died with signal %d: \"%s\"",
		    WTERMSIG(status), cmd);
	} else if (WEXITSTATUS(status) == 0) {
		pipe_set(res, PIPE_SENT, "2.0.0");
		str_fmt(res->text, "delivered via %s service", cfg->service);
	} else {
		int code = WEXITSTATUS(status);
		const struct sys_exit *se = sys_exits_find(code);

		if (se != NULL) {
			pipe_set(res,
			    sys_exits_soft(se) ? PIPE_DEFER : PIPE_BOUNCE,
			    se->dsn);
			str_set(res->text, se->text);
		} else {
			pipe_set(res, PIPE_BOUNCE, "5.3.0");
			str_fmt(res->text,
			    "Command died with status %d: \"%s\"", code, cmd);
		}
		if (str_len(output))
			str_catfmt(res->text, ". Command output: %s",
			    str_ptr(output));
	}
	mail_command_free(&run);
	str_free(why);
}
