"""postcat: queue files written with qfile.py, shown per option; -q in
plain and hashed queues; errors for damaged files, bad IDs and symlinks;
and the same output as Debian's Postfix 3.7 postcat on a Postfix-format
file (a queue file without our version record).
"""
import os
import unittest

import e2e
import qfile

ENV = {"TZ": "UTC"}

LINES = ["Received: by mx.example.test (Postern, from userid 0)",
         "\tid ABCDE1; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)",
         "From: Admin <admin@example.test>",
         "Subject: test one",
         "",
         "Hello body line.",
         "x" * 3000]

ENVELOPE = """\
*** ENVELOPE RECORDS {name} ***
message_size:            3185             256               2               0            3185               0
message_arrival_time: Tue Nov 14 22:13:20 2023
create_time: Tue Nov 14 22:13:21 2023
named_attribute: rewrite_context=local
sender_fullname: Admin
sender: admin@example.test
original_recipient: Someone@remote.test
recipient: someone@remote.test
recipient: other@remote.test
"""

HEADER = "\n".join(LINES[:4]) + "\n"
BODY = "\n".join(LINES[4:]) + "\n"


def sample(**kw):
    args = dict(sender="admin@example.test",
                recipients=[("Someone@remote.test", "someone@remote.test"),
                            "other@remote.test"],
                lines=LINES, fullname="Admin",
                attrs=[("create_time", "1700000001"),
                       ("rewrite_context", "local")],
                extracted=[("A", "x=y")])
    args.update(kw)
    return qfile.message(**args)


class PostcatTest(e2e.TempDirTest):

    def setUp(self):
        super().setUp()
        self.queue = os.path.join(self.dir, "q")
        for q in ("incoming", "active", "deferred", "hold", "maildrop",
                  "corrupt", "saved"):
            os.makedirs(os.path.join(self.queue, q))
        self.conf = self.confdir("queue_directory = %s\n" % self.queue)

    def put(self, rel, data, mode=0o700):
        path = os.path.join(self.queue, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def postcat(self, *args):
        return e2e.run([e2e.prog("postcat"), "-c", self.conf] + list(args),
                       env=ENV)

    def test_whole_file(self):
        self.put("incoming/ABCDE1", sample())
        r = self.postcat("-q", "ABCDE1")
        self.assertEqual(r.returncode, 0, r.stderr)
        name = "incoming/ABCDE1"
        self.assertEqual(r.stdout, ENVELOPE.format(name=name) +
                         "*** MESSAGE CONTENTS %s ***\n" % name +
                         HEADER + BODY +
                         "*** HEADER EXTRACTED %s ***\n" % name +
                         "named_attribute: x=y\n"
                         "*** MESSAGE FILE END %s ***\n" % name)
        self.assertEqual(r.stderr, "")

    def test_sections(self):
        self.put("incoming/ABCDE1", sample())
        name = "incoming/ABCDE1"
        r = self.postcat("-e", "-q", "ABCDE1")
        self.assertEqual(r.stdout, ENVELOPE.format(name=name) +
                         "*** MESSAGE CONTENTS %s ***\n" % name +
                         "*** HEADER EXTRACTED %s ***\n" % name +
                         "named_attribute: x=y\n"
                         "*** MESSAGE FILE END %s ***\n" % name)
        # Header or body alone: no markers, as Postfix.
        self.assertEqual(self.postcat("-h", "-q", "ABCDE1").stdout, HEADER)
        self.assertEqual(self.postcat("-b", "-q", "ABCDE1").stdout, BODY)
        self.assertEqual(self.postcat("-hb", "-q", "ABCDE1").stdout,
                         HEADER + BODY)
        r = self.postcat("-eb", "-q", "ABCDE1")
        self.assertIn("*** MESSAGE CONTENTS %s ***\n\nHello" % name,
                      r.stdout)
        self.assertNotIn("Subject:", r.stdout)

    def test_offsets_verbose_decimal(self):
        path = self.put("incoming/ABCDE1", sample())
        offsets = {off: t for t, _, off in qfile.read(path)}
        r = self.postcat("-o", "-q", "ABCDE1")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "*** ENVELOPE RECORDS incoming/ABCDE1 ***")
        # The version record (3 bytes) is ours and not shown.
        self.assertTrue(lines[1].startswith(
            "        3 message_size:            3185"), lines[1])
        for line in lines[1:]:
            off = int(line[:9])
            self.assertIn(off, offsets, line)
        # A long line is shown one record (L piece) per line with -o.
        self.assertIn("%9d %s" % (
            [o for o, t in offsets.items() if t == "L"][0], "x" * 2048),
            lines)
        r = self.postcat("-v", "-b", "-q", "ABCDE1")
        self.assertEqual(r.stdout.splitlines()[:3], [
            "regular_text: ", "regular_text: Hello body line.",
            "unterminated_text: " + "x" * 2048])
        r = self.postcat("-d", "-e", "-q", "ABCDE1")
        self.assertIn(" 83 sender: admin@example.test\n", r.stdout)
        self.assertIn(" 69 *** MESSAGE FILE END incoming/ABCDE1 ***\n",
                      r.stdout)

    def test_hashed_queue_and_file_argument(self):
        self.put("deferred/A/ABCDE12345", sample())
        r = self.postcat("-h", "-q", "ABCDE12345")
        self.assertEqual((r.returncode, r.stdout), (0, HEADER), r.stderr)
        r = self.postcat("-e", "-q", "ABCDE12345")
        self.assertTrue(r.stdout.startswith(
            "*** ENVELOPE RECORDS deferred/A/ABCDE12345 ***\n"))
        # A long ID hashes on its microseconds in hex (Postfix: "8").
        self.put("deferred/8/4jXCrT3sgnz1bcJr", sample())
        r = self.postcat("-e", "-q", "4jXCrT3sgnz1bcJr")
        self.assertTrue(r.stdout.startswith(
            "*** ENVELOPE RECORDS deferred/8/4jXCrT3sgnz1bcJr ***\n"),
            r.stdout + r.stderr)
        path = os.path.join(self.queue, "deferred/A/ABCDE12345")
        r = self.postcat("-b", path)
        self.assertEqual((r.returncode, r.stdout), (0, BODY))
        r = self.postcat("-q", "ABCDE1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "postcat: fatal: open queue file ABCDE1: "
                         "No such file or directory\n")

    def test_damaged_files(self):
        good = sample()
        cases = {
            "truncated": (good[:-2000],
                          "postcat: warning: incoming/ABCDE1: unexpected EOF "
                          "in data, record type 76 length 2048"),
            "no end record": (good[:-2],
                              "postcat: fatal: incoming/ABCDE1: no end "
                              "record: the file is truncated or incomplete"),
            "bad type": (good[:-2] + qfile.record(1, "x") + good[-2:],
                         "postcat: warning: incoming/ABCDE1: unknown "
                         "record type 1 at offset "),
            "length bytes": (good[:-2] + b"N\xff\xff\xff\xff\xff\x01",
                             "postcat: warning: incoming/ABCDE1: too many "
                             "length bits, record type 78"),
            "after end": (good + qfile.record("N", "more"),
                          "postcat: fatal: incoming/ABCDE1: data after the "
                          "end record"),
            "version": (sample(version="2"),
                        "postcat: fatal: incoming/ABCDE1: unsupported queue "
                        "file format: 2"),
            "empty": (b"", "postcat: fatal: incoming/ABCDE1: no end record"),
        }
        for what, (data, want) in cases.items():
            with self.subTest(what):
                self.put("incoming/ABCDE1", data)
                r = self.postcat("-q", "ABCDE1")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertTrue(r.stderr.startswith(want), r.stderr)

    def test_truncated_postfix_words(self):
        """A truncated file draws Postfix's two lines (observed)."""
        self.put("incoming/ABCDE1", sample()[:-2000])
        r = self.postcat("-q", "ABCDE1")
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.splitlines()
        self.assertRegex(lines[0], r"^postcat: warning: incoming/ABCDE1: "
                         r"unexpected EOF in data, record type 76 length 2048$")
        self.assertEqual(lines[1], "postcat: fatal: record read error")

    def test_bad_ids_and_links(self):
        for bad in ("../etc", "a/b", "..", "", "ABCDE", "abcde1"):
            with self.subTest(bad):
                r = self.postcat("-q", bad)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr,
                                 "postcat: fatal: bad mail queue ID: %s\n"
                                 % bad)
        outside = os.path.join(self.dir, "secret")
        with open(outside, "wb") as f:
            f.write(sample())
        os.symlink(outside, os.path.join(self.queue, "incoming", "ABCDE7"))
        r = self.postcat("-q", "ABCDE7")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("open queue file incoming/ABCDE7", r.stderr)
        os.mkfifo(os.path.join(self.queue, "hold", "ABCDE8"))
        r = self.postcat("-q", "ABCDE8")
        self.assertEqual(r.returncode, 1)
        self.assertIn("hold/ABCDE8: not a regular file", r.stderr)

    def test_usage(self):
        r = self.postcat("-f")
        self.assertEqual(r.returncode, 1)
        self.assertIn("fatal: usage: ", r.stderr)
        self.assertIn("[-q (access queue)] [-v] [file(s)...]", r.stderr)
        r = self.postcat("-s", "x", "file")
        self.assertEqual(r.stderr, "postcat: fatal: bad offset: x\n")

    def test_same_as_postfix(self):
        """Debian's postcat and ours show a Postfix-format file alike."""
        e2e.need_oracle()
        path = self.put("incoming/ABCDE1", sample(version=None))
        self.put("incoming/ABCDE2", sample(
            version=None, attrs=[("create_time", "junk"), ("k", " v ")],
            lines=["Subject: a", " cont", "X-Y : z", "From x", "", "b"],
            extracted=[("r", "rr@x"), ("e", "ee@x"), ("P", "1")]))
        for opts in ([], ["-e"], ["-h"], ["-b"], ["-o"], ["-hb"], ["-eb"],
                     ["-od"], ["-r"]):
            for qid in ("ABCDE1", "ABCDE2"):
                with self.subTest(opts=opts, qid=qid):
                    ours = self.postcat(*(opts + ["-q", qid]))
                    theirs = e2e.run([e2e.oracle("postcat"), "-c",
                                      self.conf] + opts + ["-q", qid],
                                     env=ENV)
                    self.assertEqual(ours.stdout, theirs.stdout)
                    self.assertEqual(ours.returncode, theirs.returncode)
        ours = self.postcat(path)
        theirs = e2e.run([e2e.oracle("postcat"), "-c", self.conf, path],
                         env=ENV)
        self.assertEqual(ours.stdout, theirs.stdout)


if __name__ == "__main__":
    unittest.main()
