/*
 * sasl_dovecot_test - unit tests for the Dovecot auth client: the option,
 * MECH-flag and answer parsers, and whole exchanges with a scripted fake
 * server (a child process on a UNIX-domain socket in a temporary
 * directory) that records what the client sent.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/util/test.h"
#include "lib/mail/sasl_dovecot.h"

static char tmpdir[] = "/tmp/sasl_dovecot_test.XXXXXX";

static void
test_sec_opts(struct test *t)
{
	static const struct {
		const char *in;
		int rc, opts;
		const char *bad;
	} cases[] = {
		{ "", 0, 0, "" },
		{ "noanonymous", 0, SASL_SEC_NOANONYMOUS, "" },
		{ "noplaintext, NOanonymous", 0,
		    SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS, "" },
		{ "nodictionary noactive", 0,
		    SASL_SEC_NODICTIONARY | SASL_SEC_NOACTIVE, "" },
		{ "mutual_auth,forward_secrecy", 0,
		    SASL_SEC_MUTUAL_AUTH | SASL_SEC_FORWARD_SECRECY, "" },
		{ "noanonymous, private", -1, SASL_SEC_NOANONYMOUS, "private" },
		{ "plaintext", -1, 0, "plaintext" },
	};
	struct str *bad = str_new(10);
	size_t i;
	int opts, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(bad);
		rc = sasl_dovecot_sec_opts(cases[i].in, &opts, bad);
		TEST_INT(t, rc, cases[i].rc);
		if (rc == 0)
			TEST_INT(t, opts, cases[i].opts);
		TEST_STR(t, str_ptr(bad), cases[i].bad);
	}
	str_free(bad);
}

static void
test_mech_props(struct test *t)
{
	TEST_INT(t, sasl_dovecot_mech_props(""), 0);
	TEST_INT(t, sasl_dovecot_mech_props("plaintext"), SASL_SEC_NOPLAINTEXT);
	TEST_INT(t, sasl_dovecot_mech_props("dictionary\tactive\tx-new"),
	    SASL_SEC_NODICTIONARY | SASL_SEC_NOACTIVE);
	TEST_INT(t, sasl_dovecot_mech_props("anonymous\tprivate"),
	    SASL_SEC_NOANONYMOUS | SASL_SEC_PRIVATE);
	TEST_INT(t, sasl_dovecot_mech_props("mutual-auth\tforward-secrecy"),
	    SASL_SEC_MUTUAL_AUTH | SASL_SEC_FORWARD_SECRECY);
}

static void
test_reply(struct test *t)
{
	static const struct {
		const char *line;
		unsigned id;
		int kind;
		const char *reply, *user;
	} cases[] = {
		{ "OK\t7\tuser=alice", 7, SASL_DOVECOT_OK, "", "alice" },
		{ "OK\t8\tuser=alice", 7, -1, "", NULL },
		{ "OK\tx\tuser=alice", 7, -1, "", NULL },
		{ "OK\t7x", 7, -1, "", NULL },
		{ "OK", 7, -1, "", NULL },
		{ "CONT\t7\t", 7, SASL_DOVECOT_CONT, "", NULL },
		{ "CONT\t7", 7, SASL_DOVECOT_CONT, "", NULL },
		{ "CONT\t7\tVXNlcm5hbWU6", 7, SASL_DOVECOT_CONT, "VXNlcm5hbWU6",
		    NULL },
		{ "FAIL\t7\tuser=bob", 7, SASL_DOVECOT_FAIL, "", "bob" },
		{ "FAIL\t7\tcode=invalid_base64\treason=Invalid base64", 7,
		    SASL_DOVECOT_FAIL, "Invalid base64", NULL },
		{ "FAIL\t7\ttemp\treason=try later", 7, SASL_DOVECOT_TEMP,
		    "try later", NULL },
		{ "FAIL\t7\tcode=temp_fail", 7, SASL_DOVECOT_TEMP, "", NULL },
		{ "FAIL\t7\tuser=a\x01"
		  "b\treason=x\x7fy",
		    7, SASL_DOVECOT_FAIL, "x?y", "a?b" },
		{ "OK\t7\treason=ignored", 7, SASL_DOVECOT_OK, "", NULL },
		{ "NOPE\t7\tuser=x", 7, -1, "", NULL },
	};
	struct str *reply = str_new(10), *user = str_new(10);
	bool have_user;
	size_t i;
	int kind;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(reply);
		str_reset(user);
		have_user = false;
		kind = sasl_dovecot_reply(cases[i].line, cases[i].id, reply,
		    user, &have_user);
		TEST_INT(t, kind, cases[i].kind);
		TEST_STR(t, str_ptr(reply), cases[i].reply);
		TEST_STR(t, have_user ? str_ptr(user) : NULL, cases[i].user);
	}
	str_free(reply);
	str_free(user);
}

static void
test_base64(struct test *t)
{
	TEST_TRUE(t, sasl_dovecot_base64_ok(""));
	TEST_TRUE(t, sasl_dovecot_base64_ok("AGFsaWNlAHNlY3JldDE="));
	TEST_TRUE(t, sasl_dovecot_base64_ok("+/=="));
	TEST_TRUE(t, !sasl_dovecot_base64_ok("a\tb"));
	TEST_TRUE(t, !sasl_dovecot_base64_ok("a b"));
	TEST_TRUE(t, !sasl_dovecot_base64_ok("ab\n"));
	TEST_TRUE(t, !sasl_dovecot_base64_ok("!!"));
}

/*
 * A fake server: accept one connection, send script[0], then for each
 * further entry read one line (appended to the file log) and send it.
 */
static pid_t
fake_server(const char *path, const char *const *script, const char *log)
{
	struct str *why = str_new(10), *line = str_new(100);
	int lfd, fd;
	pid_t pid;
	FILE *fp;

	if ((lfd = sock_unix_listen(path, 5, 0600, why)) < 0) {
		fprintf(stderr, "listen: %s\n", str_ptr(why));
		exit(1);
	}
	if ((pid = fork()) != 0) {
		close(lfd);
		str_free(why);
		str_free(line);
		return pid;
	}
	if ((fd = sock_accept(lfd)) < 0)
		_exit(1);
	struct stream *st = stream_open(fd);
	fp = fopen(log, "w");
	/* the client's handshake: VERSION and CPID */
	for (int i = 0; i < 2; i++) {
		if (stream_getline(st, line, 1000) != STREAM_OK)
			_exit(1);
		fprintf(fp, "%s\n",
		    strncmp(str_ptr(line), "CPID\t", 5) == 0 ? "CPID"
							     : str_ptr(line));
	}
	stream_puts(st, script[0]);
	stream_flush(st);
	for (script++; *script; script++) {
		if (stream_getline(st, line, 100000) != STREAM_OK)
			break;
		fprintf(fp, "%s\n", str_ptr(line));
		stream_puts(st, *script);
		stream_flush(st);
	}
	fclose(fp);
	stream_close(st);
	_exit(0);
}

static char *
slurp(const char *path, struct str *buf)
{
	char chunk[512];
	FILE *fp = fopen(path, "r");
	size_t n;

	str_reset(buf);
	if (fp == NULL)
		return str_ptr(buf);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		str_catn(buf, chunk, n);
	fclose(fp);
	return str_ptr(buf);
}

static const char handshake[] = "VERSION\t1\t2\n"
				"MECH\tPLAIN\tplaintext\n"
				"MECH\tLOGIN\tplaintext\n"
				"MECH\tCRAM-MD5\tdictionary\tactive\n"
				"MECH\tANONYMOUS\tanonymous\n"
				"MECH\tSECRET\tprivate\n"
				"MECH\tSCRAM-X\tmutual-auth\n"
				"SPID\t1\nCUID\t1\nCOOKIE\tab\nDONE\n";

static void
test_exchange(struct test *t)
{
	static const char *const script[] = {
		handshake,
		"CONT\t1\tVXNlcm5hbWU6\n",
		"CONT\t1\tUGFzc3dvcmQ6\n",
		"OK\t99\tuser=other\nOK\t1\tuser=alice\n",
		"FAIL\t2\tuser=bob\treason=Password mismatch\n",
		NULL,
	};
	struct str *path = str_new(64), *log = str_new(64), *buf = str_new(64),
		   *reply = str_new(64);
	struct sasl_dovecot *d;
	struct sasl_dovecot_req req;
	pid_t pid;
	int status;

	str_fmt(path, "%s/auth", tmpdir);
	str_fmt(log, "%s/log", tmpdir);
	pid = fake_server(str_ptr(path), script, str_ptr(log));
	d = sasl_dovecot_open(str_ptr(path));
	TEST_TRUE(t, d != NULL);
	if (d == NULL)
		goto out;
	sasl_dovecot_mechs(d, 0, buf);
	TEST_STR(t, str_ptr(buf), "PLAIN LOGIN CRAM-MD5 ANONYMOUS SCRAM-X");
	sasl_dovecot_mechs(d, SASL_SEC_NOANONYMOUS, buf);
	TEST_STR(t, str_ptr(buf), "PLAIN LOGIN CRAM-MD5 SCRAM-X");
	sasl_dovecot_mechs(d, SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT, buf);
	TEST_STR(t, str_ptr(buf), "CRAM-MD5 SCRAM-X");
	sasl_dovecot_mechs(d, SASL_SEC_NODICTIONARY | SASL_SEC_MUTUAL_AUTH,
	    buf);
	TEST_STR(t, str_ptr(buf), "SCRAM-X");
	TEST_TRUE(t, sasl_dovecot_has_mech(d, 0, "login"));
	TEST_TRUE(t, !sasl_dovecot_has_mech(d, SASL_SEC_NOPLAINTEXT, "LOGIN"));
	TEST_TRUE(t, !sasl_dovecot_has_mech(d, 0, "SECRET"));
	TEST_TRUE(t, !sasl_dovecot_has_mech(d, 0, "FOO"));

	memset(&req, 0, sizeof(req));
	req.mech = "LOGIN";
	req.service = "smtp";
	req.lip = "127.0.0.1";
	req.rip = "127.0.0.2";
	req.lport = "25";
	req.rport = "";
	req.secured = true;
	TEST_INT(t, sasl_dovecot_start(d, &req, reply), SASL_DOVECOT_CONT);
	TEST_STR(t, str_ptr(reply), "VXNlcm5hbWU6");
	TEST_INT(t, sasl_dovecot_cont(d, "YWxpY2U=", reply), SASL_DOVECOT_CONT);
	TEST_STR(t, str_ptr(reply), "UGFzc3dvcmQ6");
	TEST_INT(t, sasl_dovecot_cont(d, "c2VjcmV0", reply), SASL_DOVECOT_OK);
	TEST_STR(t, sasl_dovecot_username(d), "alice");
	req.mech = "PLAIN";
	req.secured = false;
	req.resp = "AGJvYgB4";
	TEST_INT(t, sasl_dovecot_start(d, &req, reply), SASL_DOVECOT_FAIL);
	TEST_STR(t, str_ptr(reply), "Password mismatch");
	TEST_STR(t, sasl_dovecot_username(d), "bob");
	/* the server is gone: the request is lost, a new one cannot connect */
	waitpid(pid, &status, 0);
	pid = -1;
	unlink(str_ptr(path));
	TEST_INT(t, sasl_dovecot_start(d, &req, reply), SASL_DOVECOT_TEMP);
	/* (the write finds the socket closed, or the read finds EOF) */
	TEST_TRUE(t, strcmp(str_ptr(reply),
			 "Connection lost to authentication server") == 0 ||
			 strcmp(str_ptr(reply),
			     "Can't connect to authentication server") == 0);
	test_log_reset();
	TEST_INT(t, sasl_dovecot_start(d, &req, reply), SASL_DOVECOT_TEMP);
	TEST_STR(t, str_ptr(reply), "Can't connect to authentication server");
	TEST_TRUE(t,
	    strstr(test_log_text(),
		"warning: SASL: Connect to Dovecot auth socket") != NULL);
	/* the session keeps its mechanisms */
	TEST_TRUE(t, sasl_dovecot_has_mech(d, 0, "PLAIN"));
	TEST_STR(t, slurp(str_ptr(log), buf),
	    "VERSION\t1\t1\n"
	    "CPID\n"
	    "AUTH\t1\tLOGIN\tservice=smtp\tnologin\tlip=127.0.0.1\t"
	    "rip=127.0.0.2\tlport=25\tsecured\n"
	    "CONT\t1\tYWxpY2U=\n"
	    "CONT\t1\tc2VjcmV0\n"
	    "AUTH\t2\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\t"
	    "rip=127.0.0.2\tlport=25\tresp=AGJvYgB4\n");
out:
	sasl_dovecot_close(d);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	unlink(str_ptr(path));
	unlink(str_ptr(log));
	str_free(path);
	str_free(log);
	str_free(buf);
	str_free(reply);
}

static void
test_bad_handshakes(struct test *t)
{
	static const char *const cases[][2] = {
		{ "VERSION\t2\t0\nDONE\n",
		    "warning: SASL: Protocol version mismatch (2 vs. 1)\n" },
		{ "VERSION\tx\nDONE\n",
		    "warning: SASL: Protocol version error\n" },
		{ "VERSION\t1\t2\nSPID\t1\n",
		    "warning: SASL: Connected to wrong auth socket "
		    "(auth-master instead of auth-client)\n" },
		{ "VERSION\t1\t2\nMECH\tPLAIN\n", "" },
	};
	struct str *path = str_new(64), *log = str_new(64);
	const char *script[2];
	size_t i;
	pid_t pid;
	int status;

	str_fmt(path, "%s/auth", tmpdir);
	str_fmt(log, "%s/log", tmpdir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		script[0] = cases[i][0];
		script[1] = NULL;
		test_log_reset();
		pid = fake_server(str_ptr(path), script, str_ptr(log));
		TEST_TRUE(t, sasl_dovecot_open(str_ptr(path)) == NULL);
		TEST_STR(t, test_log_text(), cases[i][1]);
		waitpid(pid, &status, 0);
		unlink(str_ptr(path));
	}
	test_log_reset();
	TEST_TRUE(t, sasl_dovecot_open(str_ptr(path)) == NULL);
	TEST_TRUE(t, strstr(test_log_text(),
			 "failed: No such file or directory") != NULL);
	unlink(str_ptr(log));
	str_free(path);
	str_free(log);
}

static const struct test_case cases[] = {
	{ "sec_opts", test_sec_opts },
	{ "mech_props", test_mech_props },
	{ "reply", test_reply },
	{ "base64", test_base64 },
	{ "exchange", test_exchange },
	{ "bad_handshakes", test_bad_handshakes },
	{ 0 },
};

int
main(void)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = test_main(__FILE__, cases);
	rmdir(tmpdir);
	return rc;
}
