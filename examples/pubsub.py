#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The paper's PUB/SUB example with nothing but Python's standard library.

A publisher sends alternating "Hello" and "World"; the subscribers for "" (everything), "H"
and "W" each get the messages that start with their prefix.  PUB/SUB is lossy: what is
published before a subscriber is connected never reaches it, so a "sync" message goes out
first, over and over, until every subscriber has one.
"""
import socket
import time

AF_SP, SOCK_PUB, SOCK_SUB = 18, 2, 3                # from <linux/sp.h>
SOL_SP, SP_SUBSCRIBE, SP_BIND, SP_CONNECT = 300, 1, 8, 9
URL = b"tcp://127.0.0.1:5557"


def synced(s):
    """Drain s without waiting; did a "sync" message arrive?"""
    got = False
    try:
        while True:
            got |= s.recv(100, socket.MSG_DONTWAIT) == b"sync"
    except BlockingIOError:
        return got


pub = socket.socket(AF_SP, SOCK_PUB, 0)
pub.setsockopt(SOL_SP, SP_BIND, URL)
subs = {}
for prefix in (b"", b"H", b"W"):
    s = subs[prefix] = socket.socket(AF_SP, SOCK_SUB, 0)
    s.setsockopt(SOL_SP, SP_SUBSCRIBE, prefix)
    s.setsockopt(SOL_SP, SP_SUBSCRIBE, b"sync")
    s.setsockopt(SOL_SP, SP_CONNECT, URL)

waiting = set(subs.values())
while waiting:
    pub.send(b"sync")
    time.sleep(0.05)
    waiting = {s for s in waiting if not synced(s)}

for i in range(6):
    pub.send(b"World" if i % 2 else b"Hello")

for prefix, s in subs.items():
    s.settimeout(10)
    got = []
    while len(got) < (6 if prefix == b"" else 3):
        msg = s.recv(100)
        if msg != b"sync":
            got.append(msg.decode())
    print('subscriber "%s" got: %s' % (prefix.decode(), " ".join(got)))
