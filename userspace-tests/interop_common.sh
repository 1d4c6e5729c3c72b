# SPDX-License-Identifier: GPL-2.0
#
# What the interop scripts share: finding the tool (nngcat or nanocat; the
# whole script is skipped if it is missing), a temporary directory and the
# background processes killed on exit, TAP output ("1..$PLAN", ok, skip) and
# exact byte comparisons whose failures show the bytes as diagnostics.  The
# caller sets TOOL (nng or nanomsg), PORT (the first of its ports) and PLAN
# (its number of checks), then sources this file.

HERE=$(cd "$(dirname "$0")" && pwd)
B=${SP_TEST_BUILD:-$HERE/build}
T=${SP_TEST_TIMEOUT:-30}	# seconds for any one external command
n=0
failed=0

case $TOOL in
nng)	BIN=nngcat ;;
nanomsg) BIN=nanocat ;;
*)	echo "Bail out! unknown TOOL $TOOL"; exit 1 ;;
esac

if ! command -v "$BIN" >/dev/null 2>&1; then
	echo "1..0 # SKIP $BIN not installed"
	exit 0
fi

TMP=$(mktemp -d "/tmp/sp-interop-$TOOL.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
PIDS=
# signal SIG PID: timeout(1) leads its own process group, so signal the group
# (a TERM that reaches timeout just as it forks would orphan the tool); a
# plain process otherwise.
signal() {
	kill -"$1" -"$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null
}
cleanup() {
	alive=
	for p in $PIDS; do
		signal TERM "$p" && alive="$alive $p"
	done
	if [ -n "$alive" ]; then
		sleep 1
		for p in $alive; do
			signal KILL "$p"
		done
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "1..$PLAN"

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

skip() {	# skip REASON
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

diag_file() {	# diag_file WHAT FILE: show a file's bytes as diagnostics
	if [ -s "$2" ]; then
		echo "# $1:"
		od -c "$2" | head -n 8 | sed 's/^/#   /'
	else
		echo "# $1: (empty)"
	fi
}

same() {	# same FILE EXPECTED-FILE WHAT: exact byte comparison
	if cmp -s "$1" "$2"; then
		return 0
	fi
	diag_file "$3: got" "$1"
	diag_file "$3: expected" "$2"
	return 1
}

expect_str() {	# expect_str FILE STRING WHAT
	printf '%s' "$2" >"$TMP/expected"
	same "$1" "$TMP/expected" "$3"
}

show_err() {	# show_err FILE: pass a stderr capture on as diagnostics
	[ -s "$1" ] && sed 's/^/# /' "$1"
	return 0
}

# nanocat has no switch for NN_IPV4ONLY, so it cannot use IPv6 at all.
ipv6_skip_reason() {
	if [ "$TOOL" = nanomsg ]; then
		echo "nanocat cannot turn off NN_IPV4ONLY"
	elif ! grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 \
			2>/dev/null; then
		echo "no IPv6 loopback"
	fi
}
