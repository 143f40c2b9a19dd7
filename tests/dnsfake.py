"""dnsfake - a tiny DNS server for tests, and the environment that makes
our daemons (and Postfix's) ask it.

    fake = dnsfake.DnsFake(top)          # top: a private temp directory
    fake.add("mail.example", "A", "127.0.0.7")
    fake.add("example", "MX", (10, "mail.example"))
    fake.add("2.0.0.127.zen.test", "TXT", "listed, see http://x")
    fake.servfail("broken.example")      # SERVFAIL for every type
    fake.start()                         # UDP+TCP on 127.0.0.53:53
    env = fake.env()                     # LD_PRELOAD + RESOLV_WRAPPER_CONF
    main_cf += fake.main_cf()            # import_environment for master
    ...
    fake.stop()

Records: A/AAAA take an address string, MX (pref, host), TXT a string (or
a list of strings), PTR/NS/CNAME a host name, SOA (mname, rname), TLSA
(usage, selector, mtype, hex data).  Names
are case-insensitive, without the trailing dot.  The server answers like
a recursive resolver: a CNAME is followed (the chain and the target's
records in the answer), a name without records of the type but with any
record (or a record below it) gets NOERROR/NODATA, else NXDOMAIN (with a
SOA in the authority section, so that resolvers cache negatively).
`fake.queries` lists the (name, type) pairs asked, for assertions.
`fake.ad = True` sets the AD bit in every answer; `fake.insecure(name)`
clears it again for the answers about one name (an unsigned zone).

resolv_wrapper (Debian's libresolv-wrapper) redirects the res_* calls of
a process to the server named in RESOLV_WRAPPER_CONF; it does not touch
getaddrinfo/getnameinfo (glibc's NSS module uses resolver internals).
"""
import os
import socket
import struct
import threading

WRAPPER = "/usr/lib/x86_64-linux-gnu/libresolv_wrapper.so"

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "TLSA": 52}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def decode_name(msg, off):
    """The name at off (no compression in questions we get); (name, end)."""
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            ptr = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
            name, _ = decode_name(msg, ptr)
            labels.append(name)
            return ".".join(labels), off + 2
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n


def rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype == "MX":
        return struct.pack("!H", value[0]) + encode_name(value[1])
    if rtype in ("PTR", "NS", "CNAME"):
        return encode_name(value)
    if rtype == "TXT":
        parts = [value] if isinstance(value, str) else value
        out = b""
        for p in parts:
            raw = p.encode()
            while True:
                out += bytes([min(len(raw), 255)]) + raw[:255]
                raw = raw[255:]
                if not raw:
                    break
        return out
    if rtype == "TLSA":
        return bytes(value[:3]) + bytes.fromhex(value[3])
    if rtype == "SOA":
        return (encode_name(value[0]) + encode_name(value[1]) +
                struct.pack("!IIIII", 1, 3600, 600, 86400, 60))
    raise ValueError(rtype)


def rr(name, rtype, value, ttl=300):
    data = rdata(rtype, value)
    return (encode_name(name) + struct.pack("!HHIH", TYPES[rtype], 1, ttl,
                                            len(data)) + data)


class DnsFake:
    def __init__(self, top, address="127.0.0.53", port=53):
        self.top = top
        self.address = address
        self.port = port
        self.records = {}
        self.failing = set()
        self.unsigned = set()
        self.queries = []
        self.ad = False
        self.ttl = 300
        self.threads = []
        self.socks = []
        self.conf = os.path.join(top, "resolv.conf")

    def add(self, name, rtype, value):
        self.records.setdefault(name.lower().strip("."), []).append(
            (rtype, value))

    def servfail(self, name):
        self.failing.add(name.lower().strip("."))

    def insecure(self, name):
        self.unsigned.add(name.lower().strip("."))

    def clear(self):
        self.records.clear()
        self.failing.clear()
        self.unsigned.clear()
        self.queries.clear()

    # The environment for processes that should ask this server.
    def env(self):
        return {"LD_PRELOAD": WRAPPER, "RESOLV_WRAPPER_CONF": self.conf}

    def main_cf(self):
        """main.cf text: master passes only import_environment on.

        Under ASan the preloaded wrapper comes before the sanitizer's
        runtime, which ASan refuses unless told not to check, and ASan
        refuses the wrapper's dlopen with RTLD_DEEPBIND unless the wrapper
        is told not to use it."""
        san = []
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            val = os.environ.get(name)
            if val:
                if name == "ASAN_OPTIONS":
                    val = val.replace("detect_leaks=1", "detect_leaks=0")
                    val += ":verify_asan_link_order=0"
                san.append("%s=%s" % (name, val))
        if san:
            san.append("RESOLV_WRAPPER_DISABLE_DEEPBIND=1")
        return ("import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG "
                "TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE "
                "POSTLOG_HOSTNAME LD_PRELOAD=%s RESOLV_WRAPPER_CONF=%s %s\n"
                % (WRAPPER, self.conf, " ".join(san)))

    def start(self):
        with open(self.conf, "w") as f:
            f.write("nameserver %s\n" % self.address)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind((self.address, self.port))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((self.address, self.port))
        t.listen(16)
        self.socks = [u, t]
        for fn, s in ((self._udp, u), (self._tcp, t)):
            th = threading.Thread(target=fn, args=(s,), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def stop(self):
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.socks = []

    def _udp(self, sock):
        while True:
            try:
                msg, peer = sock.recvfrom(65535)
            except OSError:
                return
            try:
                out = self.answer(msg)
            except Exception:  # a bad query gets no answer
                continue
            if out is not None:
                if len(out) > 512 and not self._edns(msg):
                    out = self.truncated(msg)
                sock.sendto(out, peer)

    def _tcp(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn,),
                             daemon=True).start()

    def _tcp_conn(self, conn):
        with conn:
            while True:
                head = self._recv(conn, 2)
                if not head:
                    return
                msg = self._recv(conn, struct.unpack("!H", head)[0])
                if msg is None:
                    return
                out = self.answer(msg)
                if out is None:
                    return
                conn.sendall(struct.pack("!H", len(out)) + out)

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    @staticmethod
    def _edns(msg):
        return struct.unpack("!H", msg[10:12])[0] > 0

    def truncated(self, msg):
        qname, qend = decode_name(msg, 12)
        return (msg[:2] + bytes([0x84 | 0x02 | (msg[2] & 0x01), 0x80]) +
                struct.pack("!HHHH", 1, 0, 0, 0) + msg[12:qend + 4])

    def _exists(self, name):
        if name in self.records:
            return True
        return any(k.endswith("." + name) for k in self.records)

    def answer(self, msg):
        qid = msg[:2]
        qname, qend = decode_name(msg, 12)
        qtype = struct.unpack("!H", msg[qend:qend + 2])[0]
        name = qname.lower().strip(".")
        self.queries.append((name, TYPE_NAMES.get(qtype, str(qtype))))
        question = msg[12:qend + 4]
        flags2 = 0x80 | (0x20 if self.ad and name not in self.unsigned
                         else 0)
        answers, rcode, auth = [], 0, []
        seen = set()
        while True:
            if name in self.failing:
                rcode = 2
                answers = []
                break
            recs = self.records.get(name, [])
            tname = TYPE_NAMES.get(qtype)
            match = [v for t, v in recs if t == tname]
            cname = [v for t, v in recs if t == "CNAME"]
            if match:
                answers += [rr(name, tname, v, self.ttl) for v in match]
                break
            if cname and tname != "CNAME" and name not in seen:
                seen.add(name)
                answers.append(rr(name, "CNAME", cname[0], self.ttl))
                name = cname[0].lower().strip(".")
                continue
            if not self._exists(name) and not answers:
                rcode = 3
            auth = [rr(".", "SOA", ("ns.fake", "hostmaster.fake"), 60)]
            break
        head = qid + bytes([0x84 | (msg[2] & 0x01), flags2 | rcode]) + \
            struct.pack("!HHHH", 1, len(answers), len(auth), 0)
        return head + question + b"".join(answers) + b"".join(auth)
