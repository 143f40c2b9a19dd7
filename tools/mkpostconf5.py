#!/usr/bin/env python3
"""mkpostconf5 - build the postconf(5) manual page from params.def and params.doc.

Usage: tools/mkpostconf5.py [-o OUTPUT] params.def params.doc

Writes roff to standard output (or to OUTPUT, replaced only on success).
Exits 1, writing nothing, when a parameter in params.def has no entry in
params.doc, when params.doc describes a parameter that params.def lacks, or
when either file is malformed; this is the documentation check.
"""

import argparse
import os
import re
import sys
import tempfile

PROG = "mkpostconf5"
LINE_RE = re.compile(
    r'^PARAM\((\w+), (\w+), "((?:[^"\\]|\\.)*)", (-?\d+), (-?\d+), ([\w |]+)\)$')

NOTE_NOTYET = ("Not yet implemented by Postern: a daemon logs a warning when "
               "this is set.")
NOTE_DIFF = "Postern's default differs from Postfix 3.7."
NOTE_DYN = "Default computed at run time."

DESCRIPTION = r"""
.SH DESCRIPTION
Postern reads its settings from
.IR main.cf ,
found in the configuration directory
.RI ( /etc/postfix
unless
.B \-c
or the MAIL_CONFIG environment variable name another one).
Programs read the file when they start, so most changes take effect after
.BR "postfix reload" .
Use
.BR postconf (1)
to show or change settings rather than editing by hand when you can.
.PP
The file's syntax:
.IP \(bu 3
Each setting has the form
.IR "name " = " value" .
Blanks around the equals sign and at the end of the line do not count.
When a name is set more than once, the last setting is the one that counts,
and the order of different settings does not matter.
.IP \(bu 3
A line whose first non-blank character is
.B #
is a comment, and so is an empty line.
A
.B #
anywhere else is part of the value.
.IP \(bu 3
A line that starts with a blank continues the line before it, so a long
value can be spread over several lines.
.IP \(bu 3
Lists (of domains, tables, restrictions and so on) are separated by commas,
blanks, or both.
Tables are written
.IR type : name ,
for example
.BR hash:/etc/postfix/access .
Time values are a number with an optional unit letter:
.B s
(seconds),
.B m
(minutes),
.B h
(hours),
.B d
(days) or
.B w
(weeks); a bare number takes the unit that the parameter's default uses.
Sizes are in bytes.
.PP
When a value is used, references to other parameters in it are replaced
by their values, repeatedly, except for the few parameters whose description
says that they are expanded only at the time of use:
.TP
.BR $ name " or " ${ name }
The value of parameter
.IR name ;
empty when it is not set.
.TP
.BI ${ name ? value }
.I value
when parameter
.I name
is not empty, otherwise nothing.
.I value
may be written inside braces,
.BR ${ \fIname\fP ?{ \fIvalue\fP }} ,
to let it contain a colon or a closing brace.
.TP
.BI ${ name : value }
.I value
when parameter
.I name
is empty, otherwise nothing (braces allowed as above).
.TP
.BR ${ \fIname\fP ?{ \fIa\fP }:{ \fIb\fP }}
.I a
when parameter
.I name
is not empty, otherwise
.IR b .
.TP
.BR ${{ \fIa\fP "} == {" \fIb\fP "} ? {" \fIx\fP "} : {" \fIy\fP }}
.I x
when the comparison is true, otherwise
.IR y .
Both sides are expanded first.
The operators are
.BR == ,
.BR != ,
.BR < ,
.BR <= ,
.B >
and
.BR >= ;
they compare numbers when both sides are whole numbers, and text otherwise.
.TP
.BR <level ", " <=level ", " >=level ", " >level
(and the other operators with a
.B level
suffix) compare compatibility levels such as 3.6 or 3.10, which compare
each dotted part as a number, so that 3.10 is above 3.9.
Built-in defaults use them with
.BR compatibility_level ,
for example
.BR "${{$compatibility_level} <level {2} ? {subnet} : {host}}" .
.TP
.B $$
A single literal dollar sign.
.PP
Blanks around a braced
.BI { value }
are ignored, and the older form
.BI $( name )
means the same as
.BI ${ name } .
.PP
Built-in defaults also use
.BR $stress ,
which master sets to
.B yes
while a service is overloaded, for example
.BR "smtpd_timeout = ${stress?{10}:{300}}s" .
.PP
A setting that Postern does not know is reported with a warning and
otherwise ignored.
Settings can be overridden for one master.cf service with
.B \-o
.IR name = value .
.PP
Each parameter below is shown with its built-in default, as
.B postconf \-d
prints it.
"""

SEE_ALSO = r"""
.SH SEE ALSO
.BR postconf (1),
.BR master (5),
.BR access (5),
.BR aliases (5),
.BR canonical (5),
.BR transport (5),
.BR virtual (5)
"""


def c_unescape(s):
    """Undo the C string literal escapes that params.def uses."""
    out, i = [], 0
    simple = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "'": "'", "?": "?"}
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(chr(int(m.group(0), 8)))
            i += 1 + len(m.group(0))
        else:
            raise ValueError("unsupported escape \\" + nxt)
    return "".join(out)


def read_def(path, errors):
    """Return [(name, default, set(flags))] in file order."""
    params = []
    in_comment = False
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if in_comment:
                in_comment = "*/" not in line
                continue
            if line.startswith("/*"):
                in_comment = "*/" not in line
                continue
            if not line.strip():
                continue
            m = LINE_RE.match(line)
            if not m:
                errors.append("%s:%d: malformed line" % (path, lineno))
                continue
            name, raw, flagtext = m.group(2), m.group(3), m.group(6)
            flags = set()
            if flagtext.strip() != "0":
                flags = {x.strip() for x in flagtext.split("|")}
            try:
                default = c_unescape(raw)
            except ValueError as e:
                errors.append("%s:%d: %s" % (path, lineno, e))
                continue
            params.append((name, default, flags))
    return params


def read_doc(path, errors):
    """Return {name: text}; complain about bad structure and order."""
    docs, order = {}, []
    name = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                name = None
                continue
            if line[0] in " \t":
                if name is None:
                    errors.append("%s:%d: text outside an entry" % (path, lineno))
                    continue
                docs[name].append(line.strip())
                continue
            name = line.strip()
            if not re.fullmatch(r"\w+", name):
                errors.append("%s:%d: bad parameter name %r" % (path, lineno, name))
            if name in docs:
                errors.append("%s:%d: %s: duplicate entry" % (path, lineno, name))
            elif order and name < order[-1]:
                errors.append("%s:%d: %s: not sorted (after %s)"
                              % (path, lineno, name, order[-1]))
            docs[name] = []
            order.append(name)
    for n, lines in docs.items():
        if not lines:
            errors.append("%s: %s: entry has no text" % (path, n))
    return {n: " ".join(lines) for n, lines in docs.items()}


def roff_text(s, literal=False):
    """Escape a line of text for roff.

    Backslashes become \\e, a leading dot or quote is protected with \\&,
    and a minus sign that starts a word (an option such as -o), or every
    minus sign in literal text such as a default value, becomes \\- so that
    it renders as an ASCII minus that can be copied and pasted.
    """
    s = s.replace("\\", "\\e")
    if literal:
        s = s.replace("-", "\\-")
        # Let very long words (cipher lists, character sets) break after
        # punctuation instead of running past the right margin.
        s = " ".join(re.sub(r"([,:;/.?}])", r"\1\\:", w) if len(w) > 40 else w
                     for w in s.split(" "))
    else:
        s = re.sub(r"(?<![A-Za-z0-9])-", r"\\-", s)
    if s[:1] in (".", "'"):
        s = "\\&" + s
    return s


def render(params, docs):
    out = []
    out.append('.\\" Generated by tools/mkpostconf5.py from lib/mail/params.def '
               'and lib/mail/params.doc; do not edit.')
    out.append('.TH POSTCONF 5 "" "Postern" "File Formats"')
    out.append('.\\" Long default values read better unhyphenated and ragged.')
    out.append(".nh")
    out.append(".ad l")
    out.append(".SH NAME")
    out.append("postconf \\- Postern configuration parameters")
    out.append(".SH SYNOPSIS")
    out.append(".B postconf \\-d")
    out.append(".br")
    out.append(".B postconf")
    out.append(".I name")
    out.append(".br")
    out.append(".B postconf \\-e")
    out.append(".IR name = value")
    out.extend(DESCRIPTION.strip("\n").split("\n"))
    for name, default, flags in params:
        if "P_DYN" in flags:
            shown = "computed at run time"
        elif default == "":
            shown = "empty"
        else:
            shown = default
        out.append(".SH")
        out.append(roff_text("%s (default: " % name)
                   + roff_text(shown, literal=True) + ")")
        out.append(roff_text(docs[name]))
        notes = []
        if "P_DYN" in flags:
            notes.append(NOTE_DYN)
        if "P_DIFF" in flags:
            notes.append(NOTE_DIFF)
        if "P_NOTYET" in flags:
            notes.append(NOTE_NOTYET)
        if notes:
            out.append(".PP")
            out.append(roff_text(" ".join(notes)))
    out.extend(SEE_ALSO.strip("\n").split("\n"))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    ap.add_argument("deffile")
    ap.add_argument("docfile")
    args = ap.parse_args()

    errors = []
    params = read_def(args.deffile, errors)
    docs = read_doc(args.docfile, errors)
    names = {p[0] for p in params}
    for name, _, _ in params:
        if name not in docs:
            errors.append("%s: parameter %s has no entry in %s"
                          % (PROG, name, args.docfile))
    for name in sorted(set(docs) - names):
        errors.append("%s: %s describes %s, which is not in %s"
                      % (PROG, args.docfile, name, args.deffile))
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        print("%s: %d error(s); postconf(5) not written" % (PROG, len(errors)),
              file=sys.stderr)
        return 1

    page = render(params, docs)
    if args.output:
        d = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".postconf5.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, args.output)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
