#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The SP Hello World from Python's standard library alone.  Python cannot
# build a sockaddr for an unknown family, so both ends use the URL options:
# a REQ socket connects with SP_CONNECT before any server exists and queues
# "Hello\0" at once; then a REP socket binds with SP_BIND, must receive
# exactly "Hello\0" and answers "World\0", which the REQ must receive
# exactly.  The numeric constants are read from include/uapi/linux/sp.h so
# they are not duplicated here.  Output is TAP; a watchdog turns a hang into
# "not ok" and an exit.

import os
import re
import signal
import socket
import struct
import sys

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "include", "uapi", "linux", "sp.h")
PORT = 25300
WATCHDOG_SECS = 120
WAIT_MS = int(os.environ.get("SP_TEST_WAIT_MS", "0") or 0) or 20000
NEEDED = ("AF_SP", "SOCK_REQ", "SOCK_REP", "SOL_SP", "SP_BIND", "SP_CONNECT")
PLAN = 7

done = 0
failed = 0


def ok(cond, desc):
    global done, failed
    done += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", done, desc), flush=True)
    return cond


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def bail(msg):
    print("Bail out! " + msg, flush=True)
    sys.exit(1)


def watchdog(signum, frame):
    os.write(1, b"not ok %d - watchdog: test hung for %d s\n"
             b"Bail out! watchdog fired\n" % (done + 1, WATCHDOG_SECS))
    os._exit(1)


def header_constants(path):
    """Every '#define NAME integer' of the uapi header."""
    consts = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*#\s*define\s+(\w+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))\b",
                         line)
            if m:
                consts[m.group(1)] = int(m.group(2), 0)
    return consts


def timeouts(sock, ms):
    tv = struct.pack("@ll", ms // 1000, ms % 1000 * 1000)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def expect(sock, want, what):
    try:
        got = sock.recv(len(want) + 256)
    except OSError as e:
        diag("%s: recv: %s" % (what, e))
        return False
    if got != want:
        diag("%s: got %r, expected %r" % (what, got, want))
    return got == want


def main():
    print("1..%d" % PLAN, flush=True)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)

    try:
        sp = header_constants(HEADER)
    except OSError as e:
        diag(e)
        sp = {}
    missing = [n for n in NEEDED if n not in sp]
    if missing:
        diag("not found in %s: %s" % (HEADER, ", ".join(missing)))
    ok(not missing, "the constants are read from include/uapi/linux/sp.h")
    if missing:
        bail("no constants")

    def open_sp(kind):
        try:
            s = socket.socket(sp["AF_SP"], sp[kind], 0)
        except OSError as e:
            ok(False, "socket(AF_SP=%d, %s, 0): %s" % (sp["AF_SP"], kind, e))
            bail("cannot create PF_SP sockets (is the sp module loaded?)")
        timeouts(s, WAIT_MS)
        return s

    url = "tcp://127.0.0.1:%d" % PORT
    req = open_sp("SOCK_REQ")
    try:
        req.setsockopt(sp["SOL_SP"], sp["SP_CONNECT"], url.encode())
        good = True
    except OSError as e:
        diag("SP_CONNECT: %s" % e)
        good = False
    ok(good, "REQ connects with SP_CONNECT %s before any server exists" % url)

    try:
        n = req.send(b"Hello\0")
    except OSError as e:
        diag("send: %s" % e)
        n = -1
    ok(n == 6, "REQ queues \"Hello\\0\" (6 bytes) with no server")

    rep = open_sp("SOCK_REP")
    bind_url = "tcp://*:%d" % PORT
    try:
        rep.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rep.setsockopt(sp["SOL_SP"], sp["SP_BIND"], bind_url.encode())
        good = True
    except OSError as e:
        diag("SP_BIND: %s" % e)
        good = False
    ok(good, "REP binds with SP_BIND %s" % bind_url)

    ok(expect(rep, b"Hello\0", "REP"), "REP receives exactly \"Hello\\0\"")
    try:
        n = rep.send(b"World\0")
    except OSError as e:
        diag("send: %s" % e)
        n = -1
    ok(n == 6, "REP sends \"World\\0\"")
    ok(expect(req, b"World\0", "REQ"), "REQ receives exactly \"World\\0\"")

    req.close()
    rep.close()
    signal.alarm(0)
    if done != PLAN:
        diag("planned %d checks but ran %d" % (PLAN, done))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
