/*
 * local_command - deliver to a command: "|cmd" in aliases, .forward and
 * :include: files, and mailbox_command.
 *
 * The command runs as "/bin/sh -c COMMAND" (or local_command_shell) with
 * the user's (or default_privs') IDs, in a process group of its own, in
 * local's working directory, queue_directory (as Postfix 3.7, observed),
 * with an environment built from scratch as Postfix's: HOME LOGNAME USER
 * SHELL PATH EXTENSION DOMAIN LOCAL RECIPIENT SENDER ORIGINAL_RECIPIENT
 * (and CLIENT_* when known) plus export_environment.  Envelope data goes
 * into the environment only, never into the shell text.  The message goes to its standard input; its output
 * (the first bytes) becomes part of the reason on failure.  After
 * command_time_limit the process group is killed and the delivery deferred.
 * Exit status: 0 delivered; a sysexits.h code bounces or defers as
 * Postfix's sys_exits table says; any other status bounces (5.3.0); a
 * signal defers.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mail_command.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"
#include "lib/mail/sys_exits.h"
#include "local.h"

#define LOCAL_OUTPUT_MAX 1000 /* command output kept for the reason */

static void
local_env(struct argv *env, const char *name, const char *value)
{
	struct str *s = str_new(0);

	str_fmt(s, "%s=%s", name, value ? value : "");
	argv_add(env, str_ptr(s));
	str_free(s);
}

static struct argv *
local_command_env(struct local_state *s, const struct local_user *u)
{
	struct argv *env = argv_new();
	struct argv *exp = argv_split(var_export_environment, ", \t\r\n");
	struct deliver_request *req = s->req;
	const char *orig = str_ptr(s->rcpt->orig_rcpt);

	for (size_t i = 0; i < exp->argc; i++) {
		char *eq = strchr(exp->argv[i], '=');

		if (eq != NULL)
			argv_add(env, exp->argv[i]);
		else if (getenv(exp->argv[i]) != NULL)
			local_env(env, exp->argv[i], getenv(exp->argv[i]));
	}
	argv_free(exp);
	local_env(env, "PATH", "/usr/bin:/bin");
	local_env(env, "HOME", u->home);
	local_env(env, "LOGNAME", u->logname);
	local_env(env, "USER", u->logname);
	local_env(env, "SHELL", u->shell);
	if (s->extension)
		local_env(env, "EXTENSION", s->extension);
	local_env(env, "DOMAIN", s->domain);
	local_env(env, "LOCAL", s->local);
	local_env(env, "RECIPIENT", s->address);
	local_env(env, "SENDER", s->sender);
	local_env(env, "ORIGINAL_RECIPIENT", *orig ? orig : s->address);
	if (str_len(req->client_addr) > 0) {
		local_env(env, "CLIENT_ADDRESS", str_ptr(req->client_addr));
		local_env(env, "CLIENT_HOSTNAME", str_ptr(req->client_name));
		local_env(env, "CLIENT_PORT", str_ptr(req->client_port));
		local_env(env, "CLIENT_HELO", str_ptr(req->helo_name));
		local_env(env, "CLIENT_PROTOCOL", str_ptr(req->protocol_name));
	}
	if (str_len(req->sasl_method) > 0) {
		local_env(env, "SASL_METHOD", str_ptr(req->sasl_method));
		local_env(env, "SASL_USERNAME", str_ptr(req->sasl_username));
		local_env(env, "SASL_SENDER", str_ptr(req->sasl_sender));
	}
	return env;
}

/* What the child needs: the user, the environment, the command. */
struct local_child {
	const char *command;
	const struct local_user *user;
	struct argv *env;
};

/* In the child: become the user and run the shell.  Never returns. */
static void
local_exec(void *ctx)
{
	const struct local_child *ch = ctx;
	const char *shell =
	    *var_local_command_shell ? var_local_command_shell : "/bin/sh";
	char *args[4];

	if (seteuid(0) < 0 || setgroups(1, &ch->user->gid) < 0 ||
	    setgid(ch->user->gid) < 0 || setuid(ch->user->uid) < 0)
		_exit(75);
	args[0] = (char *)shell;
	args[1] = (char *)"-c";
	args[2] = (char *)ch->command;
	args[3] = NULL;
	execve(shell, args, ch->env->argv);
	_exit(75);
}

void
local_command(struct local_state *s, const char *command,
    const struct local_user *u)
{
	struct str *why = str_new(0), *output;
	struct mail_command cmd = { 0 };
	struct local_child child;
	struct mail_writer w;
	int flags = MAIL_COPY_FROM | MAIL_COPY_RETURN_PATH |
		    MAIL_COPY_ORIG_RCPT | MAIL_COPY_DELIVERED;
	int status;
	bool timeout;
	struct local_user nonroot;

	if (local_verify(s, "delivers to command: %s", command)) {
		str_free(why);
		return;
	}
	/* Never run a command as root: default_privs instead (Postfix). */
	if (u->uid == 0) {
		nonroot = *u;
		nonroot.uid = default_privs_uid();
		nonroot.gid = default_privs_gid();
		u = &nonroot;
	}
	if (!(local_hdr_mask & LOCAL_HDR_COMMAND))
		flags &= ~MAIL_COPY_DELIVERED;
	child.command = command;
	child.user = u;
	child.env = local_command_env(s, u);
	cmd.deadline = mail_now_ms() + (long)var_command_time_limit * 1000;
	cmd.output_max = LOCAL_OUTPUT_MAX;
	if (mail_command_start(&cmd, local_exec, &child, why) < 0) {
		argv_free(child.env);
		local_result(s, LOCAL_DEFER, "4.3.0", "%s", str_ptr(why));
		mail_command_free(&cmd);
		str_free(why);
		return;
	}
	argv_free(child.env);

	/*
	 * Feed the message, then read the output.  A command that writes
	 * more than a pipe buffer before it reads its input runs into
	 * command_time_limit (the writes wait with that deadline).
	 */
	mail_writer_init(&w, cmd.in);
	w.pipe = true;
	w.deadline = cmd.deadline;
	timeout = local_copy(s, &w, flags, why) < 0 && errno == ETIMEDOUT;
	mail_writer_done(&w);
	mail_command_finish(&cmd, timeout);
	output = cmd.output;
	str_trim(output);
	status = cmd.status;
	if (cmd.timeout) {
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "Command time limit exceeded: \"%s\"", command);
	} else if (WIFSIGNALED(status)) {
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "Command died with signal %d: \"%s\"", WTERMSIG(status),
		    command);
	} else if (WEXITSTATUS(status) == 0) {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to command: %s",
		    command);
	} else {
		int code = WEXITSTATUS(status);
		const struct sys_exit *se = sys_exits_find(code);

		if (se != NULL)
			local_result(s,
			    sys_exits_soft(se) ? LOCAL_DEFER : LOCAL_BOUNCE,
			    se->dsn, "%s%s%s", se->text,
			    str_len(output) ? ". Command output: " : "",
			    str_ptr(output));
		else
			local_result(s, LOCAL_BOUNCE, "5.3.0",
			    "Command died with status %d: \"%s\"%s%s", code,
			    command,
			    str_len(output) ? ". Command output: " : "",
			    str_ptr(output));
	}
	mail_command_free(&cmd);
	str_free(why);
}
