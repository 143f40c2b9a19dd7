"""Spawn cost of master: connections per second to a one-client-per-process
service, with processes reused (max_use 100) and with a new process for
every connection (max_use 1).  Run as root: python3 tools/bench_master.py
[BUILD_DIR] (default build/).  Prints milliseconds per connection."""
import os
import shutil
import socket
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["POSTERN_BUILD"] = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                              else os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "tests"))
import e2e  # noqa: E402


def run(port, n):
    t = time.perf_counter()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        f = s.makefile("rw")
        f.readline()
        f.write("quit\n")
        f.flush()
        f.readline()
        s.close()
    return (time.perf_counter() - t) / n * 1000


def main():
    d = tempfile.mkdtemp(prefix="bench-")
    p1, p2 = e2e.free_port(), e2e.free_port()
    inst = e2e.Instance(d, "postlog unix-dgram n - n - 1 postlogd\n"
                        "%d inet n - n - - testd single\n"
                        "%d inet n - n - - testd -o max_use=1 single\n"
                        % (p1, p2))
    try:
        inst.start()
        run(p1, 20)
        run(p2, 5)
        for port, label in ((p1, "process reused (max_use 100)"),
                            (p2, "new process each time (max_use 1)")):
            print("%s: %.2f ms per connection (500 in a row)"
                  % (label, run(port, 500)))
    finally:
        inst.stop()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    main()
