#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Interop with nng (nngcat from nng-utils): nngcat as REQ against our REP
# (sp_echo) and as REP against our REQ (sp_req), over IPv4 and IPv6, with a
# binary payload, several clients in a row and our REQ started before the
# REP listens; every reply and every request must arrive byte for byte.
# The checks live in interop_lib.sh; this prints TAP.
TOOL=nng
PORT=${SP_INTEROP_NNG_PORT:-25400}
. "$(dirname "$0")/interop_lib.sh"
