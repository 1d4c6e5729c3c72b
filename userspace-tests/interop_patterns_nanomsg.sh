#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PUSH/PULL, PAIR, SURVEYOR/RESPONDENT and BUS interop with nanomsg: nanocat
# (from nanomsg-utils 1.1.5) as PUSH, PULL, PAIR (v0 only, against our
# SP_PAIR_VERSION 0; the v1 checks are skipped), SURVEYOR, RESPONDENT and
# BUS, against our sockets (sp_cat), in both roles and with either side
# listening; what arrives must be exactly what was sent.  The checks live in
# interop_patterns_lib.sh; this prints TAP.
TOOL=nanomsg
PORT=${SP_INTEROP_PATTERNS_NANOMSG_PORT:-29600}
. "$(dirname "$0")/interop_patterns_lib.sh"
