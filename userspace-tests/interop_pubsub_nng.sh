#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PUB/SUB interop with nng (nngcat from nng-utils): nngcat PUBs against our
# SUB (sp_sub) with prefix filters, nngcat SUBs against our PUB (sp_pub),
# either side listening, over IPv4 and IPv6, text and binary messages; what
# arrives must be exactly the matching messages, byte for byte.  The checks
# live in interop_pubsub_lib.sh; this prints TAP.
TOOL=nng
PORT=${SP_INTEROP_PUBSUB_NNG_PORT:-26300}
. "$(dirname "$0")/interop_pubsub_lib.sh"
