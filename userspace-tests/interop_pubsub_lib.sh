# SPDX-License-Identifier: GPL-2.0
#
# Shared body of interop_pubsub_nng.sh and interop_pubsub_nanomsg.sh: PF_SP
# PUB and SUB sockets against a real SP implementation's command-line tool,
# in both directions and with either side listening, checking the exact
# bytes that cross.  The tool publishes to our SUB (the sp_sub helper), which
# must deliver only what matches its prefixes: two tool PUBs, one sending
# "Hello" and one "World", and our SUB dialling both with the prefix "H"
# must print only Hellos; a binary payload must arrive byte for byte under a
# binary prefix.  Our PUB (the sp_pub helper) publishes to the tool's SUB,
# whose own filter must let through exactly our messages for its prefix.
# Over IPv6 too (nanocat cannot do IPv6).  Every external command runs under
# timeout(1).  The caller sets TOOL (nng or nanomsg) and PORT (the first of
# 10 ports) and sources this file; output is TAP.

HERE=$(cd "$(dirname "$0")" && pwd)
PLAN=10
. "$HERE/interop_common.sh"

# nngcat takes whole seconds between messages, nanocat fractions; NALL
# messages from two of its PUBs take a few seconds either way, long enough
# for our SUB to have both connections up.
case $TOOL in
nng)	IVL=1 NALL=6 ;;
nanomsg) IVL=0.1 NALL=30 ;;
esac
QUIET=5		# seconds of silence after which the tool's SUB gives up

# The tool as PUB, in the background, sending one message over and over:
# tool_pub listen|dial URL OUT ERR SOURCE-OPTION VALUE
tool_pub() {
	case $TOOL:$1 in
	nng:listen) timeout "$T" nngcat --pub --listen "$2" "$5" "$6" \
			--interval "$IVL" >"$3" 2>"$4" & ;;
	nng:dial) timeout "$T" nngcat --pub --dial "$2" --async "$5" "$6" \
			--interval "$IVL" >"$3" 2>"$4" & ;;
	nanomsg:listen) timeout "$T" nanocat --pub --bind "$2" "$5" "$6" \
			--interval "$IVL" >"$3" 2>"$4" & ;;
	nanomsg:dial) timeout "$T" nanocat --pub --connect "$2" "$5" "$6" \
			--interval "$IVL" >"$3" 2>"$4" & ;;
	esac
	PUB_PIDS="$PUB_PIDS $!"
	PIDS="$PIDS $!"
}

stop_tool_pubs() {
	for p in $PUB_PIDS; do
		signal TERM "$p"
		wait "$p" 2>/dev/null
	done
	PUB_PIDS=
}

# The tool as SUB, in the background, printing what it gets raw until QUIET
# seconds pass without a message: tool_sub listen|dial URL PREFIX OUT ERR
tool_sub() {
	case $TOOL:$1 in
	nng:listen) timeout "$T" nngcat --sub --listen "$2" --subscribe "$3" \
			--raw --recv-timeout "$QUIET" >"$4" 2>"$5" & ;;
	nng:dial) timeout "$T" nngcat --sub --dial "$2" --async --subscribe "$3" \
			--raw --recv-timeout "$QUIET" >"$4" 2>"$5" & ;;
	nanomsg:listen) timeout "$T" nanocat --sub --bind "$2" --subscribe "$3" \
			--raw --recv-timeout "$QUIET" >"$4" 2>"$5" & ;;
	nanomsg:dial) timeout "$T" nanocat --sub --connect "$2" --subscribe "$3" \
			--raw --recv-timeout "$QUIET" >"$4" 2>"$5" & ;;
	esac
	SUB_PID=$!
	PIDS="$PIDS $SUB_PID"
}

# Our SUB in the foreground: our_sub OUT ERR SP_SUB-ARGS...; its exit status.
our_sub() {
	out=$1
	err=$2
	shift 2
	"$B/sp_sub" -t "$T" "$@" >"$out" 2>"$err"
}

# Our PUB in the foreground, 60 messages 50 ms apart (3 s): our_pub ERR ARGS...
our_pub() {
	err=$1
	shift
	timeout "$T" "$B/sp_pub" -v -i 50 -n 60 -t "$T" "$@" 2>"$err"
}

# FILE holds UNIT-FILE repeated at least MIN times and nothing else:
# repeated FILE UNIT-FILE MIN WHAT
repeated() {
	size=$(wc -c <"$2")
	k=$(($(wc -c <"$1") / size))
	: >"$TMP/repeated"
	i=0
	while [ $i -lt $k ]; do
		cat "$2" >>"$TMP/repeated"
		i=$((i + 1))
	done
	if [ $k -lt "$3" ]; then
		echo "# $4: $k copies, expected at least $3"
		diag_file "$4: got" "$1"
		return 1
	fi
	echo "# $4: $k messages"
	same "$1" "$TMP/repeated" "$4"
}

# The binary payload: every byte value, NULs first.
i=0
while [ $i -lt 16 ]; do
	printf '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017'
	printf '\200\201\202\203\204\205\206\207\370\371\372\373\374\375\376\377'
	printf 'SP pub/sub \r\n\t"%%" binary payload, chunk %04d of 0016\n' $i
	i=$((i + 1))
done >"$TMP/payload"
printf Hello >"$TMP/hello"
printf World >"$TMP/world"

# --- 1: can we make PF_SP PUB and SUB sockets at all? --------------------
if ! "$B/sp_pub" -p 2>"$TMP/probe.err" || ! "$B/sp_sub" -p 2>>"$TMP/probe.err"; then
	show_err "$TMP/probe.err"
	ok 1 "PF_SP PUB and SUB sockets can be created (is the sp module loaded? are the helpers built in $B?)"
	echo "Bail out! no PF_SP sockets"
	exit 1
fi
ok 0 "PF_SP PUB and SUB sockets can be created"

# --- 2, 3: two tool PUBs, "Hello" and "World", our SUB dials both ---------
url1=tcp://127.0.0.1:$PORT
url2=tcp://127.0.0.1:$((PORT + 1))
tool_pub listen "$url1" "$TMP/pub1.out" "$TMP/pub1.err" --data Hello
tool_pub listen "$url2" "$TMP/pub2.out" "$TMP/pub2.err" --data World
our_sub "$TMP/sub.out" "$TMP/sub.err" -n 3 -s H "$url1" "$url2"
rc=$?
show_err "$TMP/sub.err"
[ $rc -eq 0 ] || echo "# sp_sub exit status $rc"
[ $rc -eq 0 ] && expect_str "$TMP/sub.out" HelloHelloHello "our SUB{\"H\"}"
ok $? "our SUB subscribed to \"H\", dialling $BIN PUBs of \"Hello\" and \"World\", gets exactly three \"Hello\""
our_sub "$TMP/sub.out" "$TMP/sub.err" -n "$NALL" -l -s "" "$url1" "$url2"
rc=$?
show_err "$TMP/sub.err"
[ $rc -eq 0 ] || echo "# sp_sub exit status $rc"
printf 'Hello\nWorld\n' >"$TMP/expected"
[ $rc -eq 0 ] && sort -u "$TMP/sub.out" >"$TMP/sorted" &&
	same "$TMP/sorted" "$TMP/expected" "our SUB{\"\"}, distinct messages" &&
	[ "$(wc -l <"$TMP/sub.out")" -eq "$NALL" ]
ok $? "our SUB subscribed to \"\" gets $NALL messages, \"Hello\" and \"World\" from both PUBs and nothing else"
stop_tool_pubs
show_err "$TMP/pub1.err"
show_err "$TMP/pub2.err"

# --- 4: a binary payload under a binary prefix ----------------------------
url=tcp://127.0.0.1:$((PORT + 2))
tool_pub listen "$url" "$TMP/pub.out" "$TMP/pub.err" --file "$TMP/payload"
our_sub "$TMP/sub.out" "$TMP/sub.err" -n 2 -x 0001020304 -x 7777 "$url"
rc=$?
show_err "$TMP/sub.err"
[ $rc -eq 0 ] || echo "# sp_sub exit status $rc"
stop_tool_pubs
show_err "$TMP/pub.err"
[ $rc -eq 0 ] && repeated "$TMP/sub.out" "$TMP/payload" 2 "binary messages"
ok $? "a $(wc -c <"$TMP/payload")-byte binary message from $BIN PUB reaches our SUB byte for byte under the prefix 00 01 02 03 04"

# --- 5, 6: our PUB, the tool's SUB dials -----------------------------------
url=tcp://127.0.0.1:$((PORT + 3))
tool_sub dial "$url" H "$TMP/tsub.out" "$TMP/tsub.err"
our_pub "$TMP/pub.err" "$url" Hello World
rc=$?
show_err "$TMP/pub.err"
wait "$SUB_PID"
show_err "$TMP/tsub.err"
[ $rc -eq 0 ] || echo "# sp_pub exit status $rc"
[ $rc -eq 0 ] && repeated "$TMP/tsub.out" "$TMP/hello" 3 "$BIN SUB{\"H\"}"
ok $? "$BIN SUB subscribed to \"H\" gets only \"Hello\" from our PUB publishing Hello and World ($url)"

url=tcp://127.0.0.1:$((PORT + 4))
tool_sub dial "$url" "" "$TMP/tsub.out" "$TMP/tsub.err"
our_pub "$TMP/pub.err" -f "$TMP/payload" "tcp://*:$((PORT + 4))"
rc=$?
show_err "$TMP/pub.err"
wait "$SUB_PID"
show_err "$TMP/tsub.err"
[ $rc -eq 0 ] && repeated "$TMP/tsub.out" "$TMP/payload" 3 "$BIN SUB{\"\"}"
ok $? "$BIN SUB gets our PUB's binary message byte for byte (our PUB bound tcp://*)"

# --- 7, 8: the other way round: SUBs listen, PUBs dial --------------------
url=tcp://127.0.0.1:$((PORT + 5))
our_sub "$TMP/sub.out" "$TMP/sub.err" -b -n 2 -s W "$url" &
sub_pid=$!
PIDS="$PIDS $sub_pid"
sleep 1	# our SUB listens
tool_pub dial "$url" "$TMP/pub.out" "$TMP/pub.err" --data World
wait "$sub_pid"
rc=$?
stop_tool_pubs
show_err "$TMP/sub.err"
show_err "$TMP/pub.err"
[ $rc -eq 0 ] || echo "# sp_sub exit status $rc"
[ $rc -eq 0 ] && expect_str "$TMP/sub.out" WorldWorld "our listening SUB{\"W\"}"
ok $? "$BIN PUB dials our listening SUB, which gets exactly two \"World\""

url=tcp://127.0.0.1:$((PORT + 6))
tool_sub listen "$url" W "$TMP/tsub.out" "$TMP/tsub.err"
sleep 1	# the tool listens
our_pub "$TMP/pub.err" -c "$url" Hello World
rc=$?
show_err "$TMP/pub.err"
wait "$SUB_PID"
show_err "$TMP/tsub.err"
[ $rc -eq 0 ] && repeated "$TMP/tsub.out" "$TMP/world" 3 "$BIN SUB{\"W\"}"
ok $? "our PUB dials $BIN's listening SUB, which gets only \"World\""

# --- 9, 10: IPv6 ------------------------------------------------------------
why=$(ipv6_skip_reason)
if [ -z "$why" ]; then
	url="tcp://[::1]:$((PORT + 7))"
	tool_pub listen "$url" "$TMP/pub.out" "$TMP/pub.err" --data Hello6
	our_sub "$TMP/sub.out" "$TMP/sub.err" -n 2 -s Hello "$url"
	rc=$?
	stop_tool_pubs
	show_err "$TMP/sub.err"
	show_err "$TMP/pub.err"
	[ $rc -eq 0 ] && expect_str "$TMP/sub.out" Hello6Hello6 "our SUB over IPv6"
	ok $? "$BIN PUB and our SUB over $url"

	url="tcp://[::1]:$((PORT + 8))"
	printf Hello6 >"$TMP/hello6"
	tool_sub dial "$url" Hello "$TMP/tsub.out" "$TMP/tsub.err"
	our_pub "$TMP/pub.err" "$url" Hello6 World6
	rc=$?
	show_err "$TMP/pub.err"
	wait "$SUB_PID"
	show_err "$TMP/tsub.err"
	[ $rc -eq 0 ] && repeated "$TMP/tsub.out" "$TMP/hello6" 3 "$BIN SUB over IPv6"
	ok $? "our PUB and $BIN SUB over $url"
else
	skip "$why"
	skip "$why"
fi

[ $n -eq $PLAN ] || echo "# planned $PLAN checks but ran $n"
[ $failed -eq 0 ] && [ $n -eq $PLAN ]
