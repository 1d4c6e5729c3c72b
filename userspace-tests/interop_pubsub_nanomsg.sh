#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PUB/SUB interop with nanomsg (nanocat from nanomsg-utils): nanocat PUBs
# against our SUB (sp_sub) with prefix filters, nanocat SUBs against our PUB
# (sp_pub), either side listening, text and binary messages (nanocat cannot
# do IPv6); what arrives must be exactly the matching messages, byte for
# byte.  The checks live in interop_pubsub_lib.sh; this prints TAP.
TOOL=nanomsg
PORT=${SP_INTEROP_PUBSUB_NANOMSG_PORT:-26400}
. "$(dirname "$0")/interop_pubsub_lib.sh"
