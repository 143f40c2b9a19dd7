/*
 * attr_test - attribute lists: building, lookup, numbers, the wire form
 * written and read back, and every way attr_read refuses its input.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/util/test.h"
#include "lib/mail/attr.h"

/* A stream that reads len bytes of data (from an anonymous file). */
static struct stream *
stream_of(const void *data, size_t len)
{
	int fd = memfd_create("attr_test", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		perror("memfd");
		exit(2);
	}
	return stream_open(fd);
}

/* Everything written to st so far (st was made by stream_of("", 0)). */
static void
stream_contents(struct stream *st, struct str *out)
{
	char buf[256];
	ssize_t n;
	int fd = stream_fd(st);

	str_reset(out);
	if (lseek(fd, 0, SEEK_SET) != 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_catn(out, buf, (size_t)n);
}

static void
test_build(struct test *t)
{
	struct attr_list *al = attr_new();
	long n = 0;

	attr_put(al, "protocol", "cleanup_protocol");
	attr_put_long(al, "status", -42);
	attr_putn(al, "reason", "abcdef", 3);
	attr_put(al, "empty", "");
	TEST_INT(t, attr_count(al), 4);
	TEST_STR(t, attr_name(al, 2), "reason");
	TEST_STR(t, attr_value(al, 2), "abc");
	TEST_INT(t, attr_value_len(al, 2), 3);
	TEST_STR(t, attr_get(al, "status"), "-42");
	TEST_STR(t, attr_get(al, "empty"), "");
	TEST_TRUE(t, attr_get(al, "nothing") == NULL);
	TEST_TRUE(t, attr_name(al, 4) == NULL);
	TEST_TRUE(t, attr_value(al, 99) == NULL);
	TEST_INT(t, attr_get_long(al, "status", &n), 0);
	TEST_INT(t, n, -42);
	TEST_TRUE(t, attr_expect(al, "protocol", "cleanup_protocol"));
	TEST_TRUE(t, !attr_expect(al, "protocol", "cleanup"));
	TEST_TRUE(t, !attr_expect(al, "queue_id", "x"));
	attr_reset(al);
	TEST_INT(t, attr_count(al), 0);
	TEST_TRUE(t, attr_get(al, "protocol") == NULL);
	TEST_TRUE(t, attr_free(al) == NULL);
	TEST_TRUE(t, attr_free(NULL) == NULL);
}

static void
test_get_long(struct test *t)
{
	static const struct {
		const char *value;
		int rc;
		long n;
	} cases[] = {
		{ "0", 0, 0 },
		{ "123", 0, 123 },
		{ "-7", 0, -7 },
		{ "9223372036854775807", 0, 9223372036854775807L },
		{ "9223372036854775808", -1, 0 },
		{ "", -1, 0 },
		{ "-", -1, 0 },
		{ "+1", -1, 0 },
		{ " 1", -1, 0 },
		{ "1 ", -1, 0 },
		{ "1x", -1, 0 },
		{ "0x10", -1, 0 },
		{ "--1", -1, 0 },
	};
	struct attr_list *al = attr_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = 999;

		attr_reset(al);
		attr_put(al, "n", cases[i].value);
		TEST_INT(t, attr_get_long(al, "n", &n), cases[i].rc);
		if (cases[i].rc == 0)
			TEST_INT(t, n, cases[i].n);
		else
			TEST_INT(t, n, 999);
	}
	TEST_INT(t, attr_get_long(al, "absent", &(long){ 0 }), -1);
	attr_free(al);
}

static void
test_write_read(struct test *t)
{
	struct attr_list *al = attr_new(), *in = attr_new();
	struct stream *st = stream_of("", 0);
	struct str *got = str_new(100);
	static const char want[] = "protocol\0cleanup_protocol\0queue_id\0"
				   "9200EA7227E\0empty\0\0\0";

	attr_put(al, "protocol", "cleanup_protocol");
	attr_put(al, "queue_id", "9200EA7227E");
	attr_put(al, "empty", "");
	TEST_INT(t, attr_write(st, al), 0);
	/* A second, empty list: just the terminator. */
	attr_reset(al);
	TEST_INT(t, attr_write(st, al), 0);
	stream_contents(st, got);
	TEST_INT(t, str_len(got), sizeof(want) - 1 + 1);
	TEST_TRUE(t, memcmp(str_ptr(got), want, sizeof(want) - 1) == 0);
	stream_close(st);

	st = stream_of(str_ptr(got), str_len(got));
	TEST_INT(t, attr_read(st, in, 100), 0);
	TEST_INT(t, attr_count(in), 3);
	TEST_STR(t, attr_get(in, "queue_id"), "9200EA7227E");
	TEST_STR(t, attr_get(in, "empty"), "");
	TEST_INT(t, attr_read(st, in, 100), 0);
	TEST_INT(t, attr_count(in), 0);
	/* Clean EOF before a list. */
	TEST_INT(t, attr_read(st, in, 100), -1);
	stream_close(st);
	attr_free(al);
	attr_free(in);
	str_free(got);
}

static void
test_read_limits(struct test *t)
{
	struct attr_list *al = attr_new();
	struct stream *st;
	struct str *in = str_new(100);

	/* A value of exactly limit bytes passes, one more fails. */
	str_setn(in, "v\0abcde\0\0", 9);
	st = stream_of(str_ptr(in), str_len(in));
	TEST_INT(t, attr_read(st, al, 5), 0);
	TEST_STR(t, attr_get(al, "v"), "abcde");
	stream_close(st);
	st = stream_of(str_ptr(in), str_len(in));
	TEST_INT(t, attr_read(st, al, 4), -1);
	TEST_INT(t, attr_count(al), 0);
	stream_close(st);

	/* A name of ATTR_NAME_MAX bytes passes, one more fails. */
	str_reset(in);
	for (int i = 0; i < ATTR_NAME_MAX; i++)
		str_catc(in, 'n');
	str_catn(in, "\0v\0\0", 4);
	st = stream_of(str_ptr(in), str_len(in));
	TEST_INT(t, attr_read(st, al, 10), 0);
	stream_close(st);
	str_reset(in);
	for (int i = 0; i <= ATTR_NAME_MAX; i++)
		str_catc(in, 'n');
	str_catn(in, "\0v\0\0", 4);
	st = stream_of(str_ptr(in), str_len(in));
	TEST_INT(t, attr_read(st, al, 10), -1);
	stream_close(st);

	/* ATTR_MAX_COUNT attributes pass, one more fails. */
	for (int extra = 0; extra <= 1; extra++) {
		str_reset(in);
		for (int i = 0; i < ATTR_MAX_COUNT + extra; i++)
			str_catn(in, "a\0b\0", 4);
		str_catc(in, '\0');
		st = stream_of(str_ptr(in), str_len(in));
		TEST_INT(t, attr_read(st, al, 10), extra ? -1 : 0);
		TEST_INT(t, attr_count(al), extra ? 0 : ATTR_MAX_COUNT);
		stream_close(st);
	}
	attr_free(al);
	str_free(in);
}

static void
test_read_rejects(struct test *t)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
		{ "empty input", "", 0 },
		{ "eof in name", "prot", 4 },
		{ "eof after name", "name\0", 5 },
		{ "eof in value", "name\0val", 8 },
		{ "eof before terminator", "name\0value\0", 11 },
		{ "eof before second name", "a\0b\0c", 5 },
		{ "upper-case name", "Name\0v\0\0", 8 },
		{ "dash in name", "a-b\0v\0\0", 7 },
		{ "blank in name", "a b\0v\0\0", 7 },
		{ "equals in name", "a=b\0\0", 5 },
		{ "newline in name", "a\n\0v\0\0", 7 },
		{ "8-bit name", "\xe9\0v\0\0", 5 },
		{ "value too long", "a\0abcdefghijk\0\0", 16 },
	};
	struct attr_list *al = attr_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *st = stream_of(cases[i].data, cases[i].len);
		int rc = attr_read(st, al, 10);

		if (rc != -1 || attr_count(al) != 0)
			TEST_FAIL(t, "%s: got %d (%zu attributes), want -1",
			    cases[i].name, rc, attr_count(al));
		stream_close(st);
	}
	attr_free(al);
}

static void
test_read_timeout(struct test *t)
{
	struct attr_list *al = attr_new();
	struct stream *st;
	int fds[2];

	if (pipe(fds) < 0) {
		TEST_FAIL(t, "pipe: %s", strerror(errno));
		return;
	}
	if (write(fds[1], "a\0", 2) != 2)
		TEST_FAIL(t, "write");
	st = stream_open(fds[0]);
	stream_set_timeout(st, 50);
	TEST_INT(t, attr_read(st, al, 10), -1);
	stream_close(st);
	close(fds[1]);
	attr_free(al);
}

static const struct test_case cases[] = {
	{ "build", test_build },
	{ "get_long", test_get_long },
	{ "write_read", test_write_read },
	{ "read_limits", test_read_limits },
	{ "read_rejects", test_read_rejects },
	{ "read_timeout", test_read_timeout },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
