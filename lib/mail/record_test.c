/*
 * record_test - the record encoding written and read back, rec_size, the
 * names postcat shows, and every way rec_get refuses its input.
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
#include "lib/mail/record.h"

static struct stream *
stream_of(const void *data, size_t len)
{
	int fd = memfd_create("record_test", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		perror("memfd");
		exit(2);
	}
	return stream_open(fd);
}

static void
stream_contents(struct stream *st, struct str *out)
{
	char buf[4096];
	ssize_t n;
	int fd = stream_fd(st);

	str_reset(out);
	if (stream_flush(st) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_catn(out, buf, (size_t)n);
}

static void
test_encoding(struct test *t)
{
	struct stream *st = stream_of("", 0);
	struct str *got = str_new(100), *big = str_new(300);

	for (int i = 0; i < 300; i++)
		str_catc(big, 'x');
	TEST_INT(t, rec_puts(st, REC_TYPE_FROM, "a@b"), 0);
	TEST_INT(t, rec_put(st, REC_TYPE_NORM, "", 0), 0);
	TEST_INT(t, rec_fmt(st, REC_TYPE_TIME, "%d %d", 17, 5), 0);
	TEST_INT(t, rec_put(st, REC_TYPE_NORM, str_ptr(big), 300), 0);
	TEST_INT(t, rec_put(st, REC_TYPE_NORM, "a\0b", 3), 0);
	stream_contents(st, got);
	/* 300 = 0x12c: low seven bits 0x2c with the high bit, then 0x02. */
	TEST_INT(t, str_len(got), 5 + 2 + 6 + 303 + 5);
	TEST_TRUE(t,
	    memcmp(str_ptr(got), "S\003a@bN\000T\00417 5N\xac\002", 15) == 0);
	TEST_TRUE(t, memcmp(str_ptr(got) + 316, "N\003a\0b", 5) == 0);
	stream_close(st);

	st = stream_of(str_ptr(got), str_len(got));
	TEST_INT(t, rec_get(st, big, 1000), 'S');
	TEST_STR(t, str_ptr(big), "a@b");
	TEST_INT(t, rec_get(st, big, 1000), 'N');
	TEST_INT(t, str_len(big), 0);
	TEST_INT(t, rec_get(st, big, 1000), 'T');
	TEST_STR(t, str_ptr(big), "17 5");
	TEST_INT(t, rec_get(st, big, 300), 'N');
	TEST_INT(t, str_len(big), 300);
	TEST_INT(t, rec_get(st, big, 3), 'N');
	TEST_INT(t, str_len(big), 3);
	TEST_TRUE(t, memcmp(str_ptr(big), "a\0b", 3) == 0);
	TEST_INT(t, rec_get(st, big, 1000), REC_EOF);
	TEST_INT(t, rec_get(st, big, 1000), REC_EOF);
	stream_close(st);
	str_free(got);
	str_free(big);
}

static void
test_large(struct test *t)
{
	/* Lengths that take 1..5 length bytes survive a round trip. */
	static const size_t lens[] = { 0, 127, 128, 16383, 16384, 100000,
		2097152 };
	struct stream *st = stream_of("", 0);
	struct str *data = str_new(100), *got = str_new(100);

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		str_reset(data);
		for (size_t j = 0; j < lens[i]; j++)
			str_catc(data, (char)('a' + j % 26));
		TEST_INT(t, rec_put(st, REC_TYPE_NORM, str_ptr(data), lens[i]),
		    0);
	}
	stream_contents(st, got);
	stream_close(st);
	st = stream_of(str_ptr(got), str_len(got));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct rec_meta m;

		TEST_INT(t, rec_get_meta(st, data, lens[i], &m), 'N');
		TEST_INT(t, str_len(data), lens[i]);
		TEST_INT(t, m.bytes, rec_size(lens[i]));
		TEST_INT(t, m.len, lens[i]);
	}
	TEST_INT(t, rec_get(st, data, 10), REC_EOF);
	stream_close(st);
	str_free(data);
	str_free(got);
}

static void
test_size(struct test *t)
{
	static const struct {
		size_t len, size;
	} cases[] = {
		{ 0, 2 },
		{ 1, 3 },
		{ 127, 129 },
		{ 128, 131 },
		{ 16383, 16386 },
		{ 16384, 16388 },
		{ 2097152, 2097157 },
		{ 268435456, 268435462 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_INT(t, rec_size(cases[i].len), cases[i].size);
}

static void
test_names(struct test *t)
{
	static const struct {
		int type;
		const char *name;
	} cases[] = {
		{ 'C', "message_size" },
		{ 'T', "message_arrival_time" },
		{ 'F', "sender_fullname" },
		{ 'L', "content_filter" },
		{ 'S', "sender" },
		{ 'D', "done_recipient" },
		{ 'R', "recipient" },
		{ 'O', "original_recipient" },
		{ '/', "canceled_recipient" },
		{ 'W', "warning_message_time" },
		{ 'A', "named_attribute" },
		{ 'K', "killed_record" },
		{ '>', "redirect_to" },
		{ 'f', "flags" },
		{ 'V', "verp_delimiters" },
		{ '<', "dsn_return_flags" },
		{ 'i', "dsn_envelope_id" },
		{ 'o', "dsn_original_recipient" },
		{ 'n', "dsn_notify_flags" },
		{ 'M', "message_content" },
		{ 'N', "regular_text" },
		{ 'X', "extracted_info" },
		{ 'r', "return_receipt" },
		{ 'e', "errors_to" },
		{ 'P', "priority" },
		{ 'E', "message_end" },
		{ 'Z', "queue_file_format" },
		{ 'd', "unknown_record_type" },
		{ 0, NULL },
		{ 'c', NULL },
		{ 'p', NULL },
		{ 'w', NULL },
		{ 'x', NULL },
		{ 255, NULL },
		{ -1, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_STR(t, rec_name(cases[i].type), cases[i].name);
		TEST_INT(t, rec_type_ok(cases[i].type), cases[i].name != NULL);
	}
}

static void
test_rejects(struct test *t)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
		int want;
		int type;
		size_t declared, bytes;
	} cases[] = {
		{ "empty", "", 0, REC_EOF, 0, 0, 0 },
		{ "type only", "N", 1, REC_TRUNC, 'N', 0, 1 },
		{ "eof in length", "N\x80", 2, REC_TRUNC, 'N', 0, 2 },
		{ "eof in data",
		    "N\x0a"
		    "abc",
		    5, REC_TRUNC, 'N', 10, 5 },
		{ "bad type", "\x01\x01x", 3, REC_BADTYPE, 1, 0, 1 },
		{ "nul type", "\0\0", 2, REC_BADTYPE, 0, 0, 1 },
		{ "high type", "\xff\0", 2, REC_BADTYPE, 255, 0, 1 },
		{ "over limit",
		    "N\x0b"
		    "abcdefghijk",
		    13, REC_TOOLONG, 'N', 11, 2 },
		{ "six length bytes", "N\x80\x80\x80\x80\x80\x00", 7,
		    REC_TOOLONG, 'N', 0, 6 },
		{ "five bytes over 2^32", "N\xff\xff\xff\xff\x7f", 6,
		    REC_TOOLONG, 'N', 0x7ffffffffULL, 6 },
	};
	struct str *buf = str_new(10);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *st = stream_of(cases[i].data, cases[i].len);
		struct rec_meta m;
		int rc;

		str_set(buf, "stale");
		rc = rec_get_meta(st, buf, 10, &m);
		if (rc != cases[i].want || str_len(buf) != 0 ||
		    m.type != cases[i].type || m.len != cases[i].declared ||
		    m.bytes != cases[i].bytes)
			TEST_FAIL(t,
			    "%s: got %d type %d len %zu bytes %zu buf %zu, "
			    "want %d type %d len %zu bytes %zu buf 0",
			    cases[i].name, rc, m.type, m.len, m.bytes,
			    str_len(buf), cases[i].want, cases[i].type,
			    cases[i].declared, cases[i].bytes);
		stream_close(st);
	}
	str_free(buf);
}

static void
test_timeout(struct test *t)
{
	struct str *buf = str_new(10);
	struct stream *st;
	int fds[2];

	if (pipe(fds) < 0) {
		TEST_FAIL(t, "pipe: %s", strerror(errno));
		return;
	}
	if (write(fds[1],
		"N\x05"
		"ab",
		4) != 4)
		TEST_FAIL(t, "write");
	st = stream_open(fds[0]);
	stream_set_timeout(st, 50);
	TEST_INT(t, rec_get(st, buf, 10), REC_ERROR);
	TEST_INT(t, str_len(buf), 0);
	stream_close(st);
	close(fds[1]);
	str_free(buf);
}

static const struct test_case cases[] = {
	{ "encoding", test_encoding },
	{ "large", test_large },
	{ "size", test_size },
	{ "names", test_names },
	{ "rejects", test_rejects },
	{ "timeout", test_timeout },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
