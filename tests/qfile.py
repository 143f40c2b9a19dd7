"""qfile: write and read Postern queue files (lib/mail/record.h, queue.h).

A record is one type byte, the data length as unsigned LEB128 (at most 5
bytes) and the data.  A queue file is Z "1", C sizes, the envelope, M, the
content lines (N, or L pieces of a long line), X, extracted records, E.

    data = qfile.message(sender="a@b", recipients=["c@d"],
                         lines=["Subject: x", "", "body"])
    for type, data in qfile.records(data): ...

Helpers for damaged files (truncate, bad type, no E) build on record().
"""

SIZE_WIDTH = 15


def record(rtype, data=b""):
    """One record as bytes; rtype is a one-character str or an int."""
    if isinstance(data, str):
        data = data.encode()
    t = ord(rtype) if isinstance(rtype, str) else rtype
    out = bytearray([t])
    n = len(data)
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            break
    return bytes(out) + data


def size_data(content_size, data_offset, rcpt_count, qmgr_flags=0,
              content_length=None, smtputf8=0):
    """The fixed-width data of the C record."""
    if content_length is None:
        content_length = content_size
    return " ".join("%*d" % (SIZE_WIDTH, v) for v in (
        content_size, data_offset, rcpt_count, qmgr_flags, content_length,
        smtputf8))


def message(sender="sender@example.test", recipients=("rcpt@example.test",),
            lines=("Subject: test", "", "body"), arrival="1700000000 123456",
            attrs=(("rewrite_context", "local"),), fullname=None,
            extracted=(), version="1", line_limit=2048):
    """A complete queue file as bytes, with a correct size record."""
    env = record("T", arrival)
    for name, value in attrs:
        env += record("A", "%s=%s" % (name, value))
    if fullname is not None:
        env += record("F", fullname)
    env += record("S", sender)
    for r in recipients:
        if isinstance(r, tuple):       # (original, final)
            env += record("O", r[0]) + record("R", r[1])
        else:
            env += record("R", r)
    env += record("M")
    content = b""
    for line in lines:
        raw = line.encode() if isinstance(line, str) else line
        while len(raw) > line_limit:
            content += record("L", raw[:line_limit])
            raw = raw[line_limit:]
        content += record("N", raw)
    tail = record("X")
    for rtype, data in extracted:
        tail += record(rtype, data)
    tail += record("E")
    head = record("Z", version) if version is not None else b""
    size = record("C", size_data(0, 0, 0))
    data_offset = len(head) + len(size) + len(env)
    # Postfix's message size: the bytes of the content records (observed).
    content_size = len(content)
    size = record("C", size_data(content_size, data_offset,
                                 len(recipients)))
    return head + size + env + content + tail


def records(data):
    """Yield (type, data, offset) for each record; raises ValueError on
    a truncated or malformed file (as Postern's readers refuse it)."""
    pos = 0
    while pos < len(data):
        start = pos
        t = chr(data[pos])
        pos += 1
        n = shift = 0
        for i in range(6):
            if i == 5:
                raise ValueError("too many length bytes at %d" % start)
            if pos >= len(data):
                raise ValueError("truncated length at %d" % start)
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + n > len(data):
            raise ValueError("truncated data at %d" % start)
        yield t, data[pos:pos + n], start
        pos += n


def read(path):
    """All records of a file as a list of (type, data, offset)."""
    with open(path, "rb") as f:
        return list(records(f.read()))
