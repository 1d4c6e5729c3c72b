#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PUSH/PULL, PAIR, SURVEYOR/RESPONDENT and BUS interop with nng: nngcat (from
# nng-utils 1.5.2) as PUSH, PULL, PAIR v1 (--pair1, against our default) and
# v0 (--pair0, against our SP_PAIR_VERSION 0) and RESPONDENT, and the
# nng_peer helper on libnng as BUS (nngcat has no --bus) and as SURVEYOR
# (nngcat's can hang, see nng_peer.c), against our sockets (sp_cat), in both
# roles and with either side listening; what arrives must be exactly what was
# sent.  The checks live in interop_patterns_lib.sh; this prints TAP.
TOOL=nng
PORT=${SP_INTEROP_PATTERNS_NNG_PORT:-29500}
. "$(dirname "$0")/interop_patterns_lib.sh"
