# SPDX-License-Identifier: GPL-2.0
#
# Shared body of interop_nng.sh and interop_nanomsg.sh: PF_SP sockets against
# a real SP implementation's command-line tool, in both directions, checking
# the exact bytes that cross.  The tool acts as REQ against our REP (the
# sp_echo helper) and as REP against our REQ (the sp_req helper), over IPv4
# and IPv6, with a binary payload, with several clients in a row and with our
# REQ started before the tool's REP listens.  Every external command runs
# under timeout(1).  The caller sets TOOL (nng or nanomsg) and PORT (the first
# of 10 ports) and sources this file; output is TAP.

HERE=$(cd "$(dirname "$0")" && pwd)
PLAN=10
. "$HERE/interop_common.sh"

# The tool as REQ: tool_req URL OUT ERR SOURCE-OPTION VALUE
tool_req() {
	case $TOOL in
	nng)	timeout "$T" nngcat --req --async --dial "$1" --raw "$4" "$5" \
			>"$2" 2>"$3" ;;
	nanomsg) timeout "$T" nanocat --req --connect "$1" --raw "$4" "$5" \
			>"$2" 2>"$3" ;;
	esac
}

# The tool as REP answering DATA, in the background: tool_rep URL DATA OUT ERR
tool_rep() {
	case $TOOL in
	nng)	timeout "$T" nngcat --rep --listen "$1" --data "$2" --raw \
			--count 1 >"$3" 2>"$4" & ;;
	nanomsg) timeout "$T" nanocat --rep --bind "$1" --data "$2" --raw \
			>"$3" 2>"$4" & ;;
	esac
	REP_PID=$!
	PIDS="$PIDS $REP_PID"
}

stop_tool_rep() {
	signal TERM "$REP_PID"
	wait "$REP_PID" 2>/dev/null
}

# Our REP in the background: start_echo OUT ERR SP_ECHO-ARGS...
start_echo() {
	out=$1
	err=$2
	shift 2
	"$B/sp_echo" -t "$T" -H "$T" "$@" >"$out" 2>"$err" &
	ECHO_PID=$!
	PIDS="$PIDS $ECHO_PID"
}

# Stop our REP (it holds its socket until told); its exit status.
stop_echo() {
	signal TERM "$ECHO_PID"
	wait "$ECHO_PID"
}

# --- 1: can we make PF_SP sockets at all? ---------------------------------
if ! "$B/sp_req" -p 2>"$TMP/probe.err"; then
	show_err "$TMP/probe.err"
	ok 1 "PF_SP sockets can be created (is the sp module loaded? are the helpers built in $B?)"
	echo "Bail out! no PF_SP sockets"
	exit 1
fi
ok 0 "PF_SP sockets can be created"

# --- 2, 3: the tool's REQ against our REP ---------------------------------
url=tcp://127.0.0.1:$PORT
start_echo "$TMP/echo.out" "$TMP/echo.err" -n 1 -r World "$url"
tool_req "$url" "$TMP/req.out" "$TMP/req.err" --data Hello
rc=$?
show_err "$TMP/req.err"
[ $rc -eq 0 ] || echo "# $BIN exit status $rc"
[ $rc -eq 0 ] && expect_str "$TMP/req.out" World "$BIN reply"
ok $? "$BIN REQ gets exactly \"World\" from our REP ($url)"
stop_echo
rc=$?
show_err "$TMP/echo.err"
[ $rc -eq 0 ] || echo "# sp_echo exit status $rc"
[ $rc -eq 0 ] && expect_str "$TMP/echo.out" Hello "request seen by our REP"
ok $? "our REP received exactly \"Hello\" from $BIN and exited cleanly"

# --- 4, 5: binary payload, echoed, bind to the wildcard address -----------
url=tcp://127.0.0.1:$((PORT + 1))
i=0
while [ $i -lt 64 ]; do	# 4 KiB of every byte value
	printf '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017'
	printf '\200\201\202\203\204\205\206\207\370\371\372\373\374\375\376\377'
	printf 'SP wire \r\n\t"%%" binary payload, chunk %04d of 0064 ....\n' $i
	i=$((i + 1))
done >"$TMP/payload"
start_echo "$TMP/echo.out" "$TMP/echo.err" -n 1 "tcp://*:$((PORT + 1))"
tool_req "$url" "$TMP/req.out" "$TMP/req.err" --file "$TMP/payload"
rc=$?
show_err "$TMP/req.err"
[ $rc -eq 0 ] && same "$TMP/req.out" "$TMP/payload" "echoed payload"
ok $? "a $(wc -c <"$TMP/payload")-byte binary request from $BIN is echoed back byte for byte (our REP bound tcp://*)"
stop_echo
rc=$?
show_err "$TMP/echo.err"
[ $rc -eq 0 ] && same "$TMP/echo.out" "$TMP/payload" "request seen by our REP"
ok $? "our REP received the binary request from $BIN intact"

# --- 6: several clients in a row -----------------------------------------
url=tcp://127.0.0.1:$((PORT + 2))
start_echo "$TMP/echo.out" "$TMP/echo.err" -n 3 "$url"
good=0
for i in 1 2 3; do
	tool_req "$url" "$TMP/req.out" "$TMP/req.err" --data "client-$i" &&
		expect_str "$TMP/req.out" "client-$i" "reply to client $i" &&
		good=$((good + 1))
	show_err "$TMP/req.err"
done
stop_echo
rc=$?
show_err "$TMP/echo.err"
[ $good -eq 3 ] && [ $rc -eq 0 ]
ok $? "three $BIN REQs in a row each get their own answer from one REP ($good)"

# --- 7, 8: our REQ against the tool's REP, REQ first ----------------------
url=tcp://127.0.0.1:$((PORT + 3))
"$B/sp_req" -t "$T" "$url" Hello >"$TMP/ours.out" 2>"$TMP/ours.err" &
req_pid=$!
PIDS="$PIDS $req_pid"
sleep 1	# our REQ has queued its request and keeps dialling
tool_rep "$url" World "$TMP/rep.out" "$TMP/rep.err"
wait "$req_pid"
rc=$?
show_err "$TMP/ours.err"
[ $rc -eq 0 ] || echo "# sp_req exit status $rc"
[ $rc -eq 0 ] && expect_str "$TMP/ours.out" World "reply seen by our REQ"
ok $? "our REQ, started before $BIN REP listened, gets exactly \"World\""
stop_tool_rep
show_err "$TMP/rep.err"
expect_str "$TMP/rep.out" Hello "request seen by $BIN"
ok $? "$BIN REP received exactly \"Hello\" from our REQ"

# --- 9, 10: IPv6 -----------------------------------------------------------
why=$(ipv6_skip_reason)
if [ -z "$why" ]; then
	url="tcp://[::1]:$((PORT + 4))"
	start_echo "$TMP/echo.out" "$TMP/echo.err" -n 1 -r World6 "$url"
	tool_req "$url" "$TMP/req.out" "$TMP/req.err" --data Hello6
	rc=$?
	show_err "$TMP/req.err"
	[ $rc -eq 0 ] && expect_str "$TMP/req.out" World6 "$BIN reply"
	r1=$?
	stop_echo
	rc=$?
	show_err "$TMP/echo.err"
	[ $r1 -eq 0 ] && [ $rc -eq 0 ] &&
		expect_str "$TMP/echo.out" Hello6 "request seen by our REP"
	ok $? "$BIN REQ and our REP talk over $url"

	url="tcp://[::1]:$((PORT + 5))"
	tool_rep "$url" World6 "$TMP/rep.out" "$TMP/rep.err"
	"$B/sp_req" -t "$T" "$url" Hello6 >"$TMP/ours.out" 2>"$TMP/ours.err"
	rc=$?
	show_err "$TMP/ours.err"
	[ $rc -eq 0 ] && expect_str "$TMP/ours.out" World6 "reply seen by our REQ"
	r1=$?
	stop_tool_rep
	show_err "$TMP/rep.err"
	[ $r1 -eq 0 ] && expect_str "$TMP/rep.out" Hello6 "request seen by $BIN"
	ok $? "our REQ and $BIN REP talk over $url"
else
	skip "$why"
	skip "$why"
fi

[ $n -eq $PLAN ] || echo "# planned $PLAN checks but ran $n"
[ $failed -eq 0 ] && [ $n -eq $PLAN ]
