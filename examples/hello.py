#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The paper's Hello World with nothing but Python's standard library.

Python cannot build a sockaddr for a family it does not know, so the endpoints
are given as URLs through the SP_BIND / SP_CONNECT socket options.
"""
import socket

AF_SP, SOCK_REQ, SOCK_REP = 18, 4, 5       # from <linux/sp.h>
SOL_SP, SP_BIND, SP_CONNECT = 300, 8, 9

server = socket.socket(AF_SP, SOCK_REP, 0)
server.setsockopt(SOL_SP, SP_BIND, b"tcp://127.0.0.1:5556")

client = socket.socket(AF_SP, SOCK_REQ, 0)
client.setsockopt(SOL_SP, SP_CONNECT, b"tcp://127.0.0.1:5556")

client.send(b"Hello")
print("server: received", server.recv(100))
server.send(b"World")
print("client: received", client.recv(100))
