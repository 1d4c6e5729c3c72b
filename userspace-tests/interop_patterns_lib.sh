# SPDX-License-Identifier: GPL-2.0
#
# Shared body of interop_patterns_nng.sh and interop_patterns_nanomsg.sh:
# PF_SP PUSH/PULL, PAIR, SURVEYOR/RESPONDENT and BUS sockets (the sp_cat
# helper) against a real SP implementation, in both roles (our PUSH to their
# PULL and their PUSH to our PULL, and so on) and with either side listening,
# checking the exact bytes that cross:
#  - PUSH/PULL: messages arrive whole and in order; our PUSH queues what is
#    sent before its peer is up (and close() delivers it); it load-balances
#    round-robin over two PULLs (two messages each of four); our PULL takes
#    from two PUSHes.
#  - PAIR v1 (nngcat --pair1, our default) and v0 (nngcat --pair0 and
#    nanocat --pair, ours with SP_PAIR_VERSION 0): one message each way; the
#    v1 hop count never shows to either user.  nanocat has no pair v1.
#  - SURVEYOR/RESPONDENT: our SURVEYOR gets exactly the answer, then recv
#    fails with ETIMEDOUT at the deadline; with two respondents it gets both
#    answers; our RESPONDENT answers the tool's survey.
#  - BUS: one message each way; with two peers, our BUS sends to both and
#    gets from both, and forwards nothing from one to the other.  nngcat
#    1.5.2 has no --bus: the nng side of BUS is the nng_peer helper (libnng;
#    the five BUS checks are skipped if it was not built).
#  nngcat's SURVEYOR can hang with --interval (see nng_peer.c): the nng
#  SURVEYOR facing our RESPONDENT is nng_peer too.
# Every external command runs under timeout(1).  The caller sets TOOL (nng or
# nanomsg) and PORT (the first of 22 ports) and sources this file; output is
# TAP.

HERE=$(cd "$(dirname "$0")" && pwd)
PLAN=29
. "$HERE/interop_common.sh"

QUIET=3		# seconds of silence after which a receiving tool gives up
case $TOOL in
nng)	IVL=1 ;;	# nngcat takes whole seconds
nanomsg) IVL=0.2 ;;
esac

# The tool with protocol PROTO (push pull pair0 pair1 surveyor respondent
# bus), listening or dialling URL, with ARGS.  It ends in exec, so call it in
# the background or in a subshell: tool PROTO listen|dial URL ARGS...
tool() {
	proto=$1
	mode=$2
	url=$3
	shift 3
	case $TOOL:$mode in
	nng:listen) set -- --listen "$url" "$@" ;;
	nng:dial) set -- --dial "$url" --async "$@" ;;
	nanomsg:listen) set -- --bind "$url" "$@" ;;
	nanomsg:dial) set -- --connect "$url" "$@" ;;
	esac
	case $TOOL:$proto in
	nng:pair0 | nng:pair1) p=--$proto ;;
	nng:*) p=--${proto}0 ;;
	nanomsg:pair0) p=--pair ;;
	nanomsg:*) p=--$proto ;;
	esac
	exec timeout "$T" "$BIN" "$p" "$@"
}

# The tool as a PUSH sending DATA three times (nngcat) or every IVL s until
# stopped (nanocat).  Ends in exec: tool_push listen|dial URL DATA
tool_push() {
	case $TOOL in
	nng)	tool push "$1" "$2" --data "$3" --count 3 ;;
	nanomsg) tool push "$1" "$2" --data "$3" --interval "$IVL" ;;
	esac
}

# The tool as a BUS peer; nngcat has none, so nng uses nng_peer.  nng_peer
# sends once when PEERS are up and receives COUNT messages; nanocat sends
# DATA every IVL s and prints what it gets until stopped.  Ends in exec.
# tool_bus listen|dial URL DATA PEERS COUNT
tool_bus() {
	case $TOOL:$1 in
	nng:*)	tool_peer bus "$1" "$2" -s "$3" -P "$4" -n "$5" ;;
	nanomsg:listen) exec timeout "$T" nanocat --bus --bind "$2" --raw \
			--data "$3" --interval "$IVL" ;;
	nanomsg:dial) exec timeout "$T" nanocat --bus --connect "$2" --raw \
			--data "$3" --interval "$IVL" ;;
	esac
}

# The nng_peer helper as TYPE (bus, surveyor), listening or dialling URL,
# with ARGS (sp_cat's).  Ends in exec: tool_peer TYPE listen|dial URL ARGS...
tool_peer() {
	type=$1
	case $2 in
	listen) at=-b ;;
	dial) at=-c ;;
	esac
	url=$3
	shift 3
	exec timeout "$T" "$B/nng_peer" "$type" -t "$T" "$at" "$url" "$@"
}

# The tool NAME (pid PID) is to get TEXT, once: nng_peer ends by itself and
# prints it with a newline; nanocat prints it bare and is stopped once it
# has.  Sets r2 (the tool's status) and expected (what it must have printed):
# tool_got NAME PID TEXT
tool_got() {
	if [ $TOOL = nng ]; then
		finish "$1" "$2"
		r2=$?
		expected="$3
"
	else
		wait_size "$TMP/$1.out" ${#3}
		stop "$1" "$2"
		r2=0
		expected=$3
	fi
}

# Our endpoint: ours TYPE ARGS... (sp_cat; ends in exec, see tool()).
ours() {
	exec timeout "$((T + 5))" "$B/sp_cat" "$@" -t "$T"
}

# Start a command in the background with its output in $TMP/NAME.out and
# .err; its pid in $LAST: bg NAME FUNCTION ARGS...
bg() {
	name=$1
	shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	LAST=$!
	PIDS="$PIDS $LAST"
}

# Run a command in the foreground, output in $TMP/NAME.out and .err; shows
# its stderr and a non-zero status: fg NAME FUNCTION ARGS...
fg() {
	name=$1
	shift
	("$@") >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	show_err "$TMP/$name.err"
	[ $rc -eq 0 ] || echo "# $name: exit status $rc"
	return $rc
}

# Wait for a background command; its status, its stderr shown: finish NAME PID
finish() {
	wait "$2"
	rc=$?
	show_err "$TMP/$1.err"
	[ $rc -eq 0 ] || echo "# $1: exit status $rc"
	return $rc
}

# Stop a background tool that does not end by itself: stop NAME PID
stop() {
	signal TERM "$2"
	wait "$2" 2>/dev/null
	show_err "$TMP/$1.err"
}

# Wait until FILE holds at least BYTES bytes, for at most T seconds; true if
# it does: wait_size FILE BYTES
wait_size() {
	i=0
	while [ "$(wc -c <"$1")" -lt "$2" ]; do
		[ $i -ge $((T * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# The options that make the tool receive COUNT messages and exit.
recv_n() {
	case $TOOL in
	nng)	echo "--count $1 --recv-timeout $T" ;;
	nanomsg) echo "--recv-timeout $QUIET" ;;
	esac
}

# The lines of FILE sorted are exactly the lines given: sorted_is FILE WHAT LINE...
sorted_is() {
	file=$1
	what=$2
	shift 2
	printf '%s\n' "$@" >"$TMP/expected"
	sort "$file" >"$TMP/sorted"
	same "$TMP/sorted" "$TMP/expected" "$what"
}

# Our PULL got exactly three messages WORD: three_of WORD
three_of() {
	printf '%s\n' "$1" "$1" "$1" >"$TMP/expected"
	same "$TMP/pull.out" "$TMP/expected" "our PULL"
}

# --- 1: can we make PF_SP sockets of the new types? -----------------------
: >"$TMP/probe.err"
probe=0
for t in pair push pull surveyor respondent bus; do
	"$B/sp_cat" -p $t 2>>"$TMP/probe.err" || probe=1
done
if [ $probe -ne 0 ]; then
	show_err "$TMP/probe.err"
	ok 1 "PF_SP PAIR, PUSH, PULL, SURVEYOR, RESPONDENT and BUS sockets can be created (is the sp module loaded? are the helpers built in $B?)"
	echo "Bail out! no PF_SP sockets of the new types"
	exit 1
fi
ok 0 "PF_SP PAIR, PUSH, PULL, SURVEYOR, RESPONDENT and BUS sockets can be created"

# --- 2-7: PUSH/PULL ---------------------------------------------------------
url=tcp://127.0.0.1:$PORT
# shellcheck disable=SC2046 # recv_n's words are options
bg tpull tool pull dial "$url" --raw $(recv_n 3)
tpull=$LAST
fg push ours push -b "$url" -P 1 -s push-1 -s push-2 -s push-3
r1=$?
finish tpull "$tpull" || r1=1
[ $r1 -eq 0 ] && expect_str "$TMP/tpull.out" push-1push-2push-3 "$BIN PULL"
ok $? "our PUSH (listening) to $BIN PULL (dialling): exactly push-1, push-2, push-3, in order"

url=tcp://127.0.0.1:$((PORT + 1))
bg tpush tool_push listen "$url" pull-X
tpush=$LAST
fg pull ours pull -c "$url" -n 3
r1=$?
stop tpush "$tpush"
[ $r1 -eq 0 ] && three_of pull-X
ok $? "$BIN PUSH (listening) to our PULL (dialling): exactly three pull-X"

url=tcp://127.0.0.1:$((PORT + 2))
fg push ours push -c "$url" -s q-1 -s q-2 -s q-3
r1=$?
# Our PUSH has closed with the three queued: close() must deliver them.
# shellcheck disable=SC2046
bg tpull tool pull listen "$url" --raw $(recv_n 3)
tpull=$LAST
finish tpull "$tpull" || r1=1
[ $r1 -eq 0 ] && expect_str "$TMP/tpull.out" q-1q-2q-3 "$BIN PULL"
ok $? "our PUSH queues q-1..q-3 sent before $BIN PULL listens, and delivers them in order after close()"

url=tcp://127.0.0.1:$((PORT + 3))
bg pull ours pull -b "$url" -n 3
pull=$LAST
bg tpush tool_push dial "$url" dial-X
tpush=$LAST
finish pull "$pull"
r1=$?
stop tpush "$tpush"
[ $r1 -eq 0 ] && three_of dial-X
ok $? "$BIN PUSH (dialling) to our PULL (listening): exactly three dial-X"

url1=tcp://127.0.0.1:$((PORT + 4))
url2=tcp://127.0.0.1:$((PORT + 5))
# shellcheck disable=SC2046
bg tpull1 tool pull listen "$url1" --raw $(recv_n 2)
tpull1=$LAST
# shellcheck disable=SC2046
bg tpull2 tool pull listen "$url2" --raw $(recv_n 2)
tpull2=$LAST
fg push ours push -c "$url1" -c "$url2" -P 2 -s lb-1 -s lb-2 -s lb-3 -s lb-4
r1=$?
finish tpull1 "$tpull1" || r1=1
finish tpull2 "$tpull2" || r1=1
# Four-byte messages: split what each got into messages.
{ fold -w 4 "$TMP/tpull1.out"; echo; } | grep -v '^$' >"$TMP/got1"
{ fold -w 4 "$TMP/tpull2.out"; echo; } | grep -v '^$' >"$TMP/got2"
echo "# $BIN PULL 1 got: $(tr '\n' ' ' <"$TMP/got1"); PULL 2: $(tr '\n' ' ' <"$TMP/got2")"
cat "$TMP/got1" "$TMP/got2" >"$TMP/got"
[ $r1 -eq 0 ] && [ "$(wc -l <"$TMP/got1")" -eq 2 ] &&
	[ "$(wc -l <"$TMP/got2")" -eq 2 ] &&
	sorted_is "$TMP/got" "both $BIN PULLs" lb-1 lb-2 lb-3 lb-4
ok $? "our PUSH load-balances lb-1..lb-4 over two $BIN PULLs: two each, each message once"

url1=tcp://127.0.0.1:$((PORT + 6))
url2=tcp://127.0.0.1:$((PORT + 7))
bg tpush1 tool_push listen "$url1" from-A
tpush1=$LAST
bg tpush2 tool_push listen "$url2" from-B
tpush2=$LAST
case $TOOL in
nng)	fg pull ours pull -c "$url1" -c "$url2" -n 6
	r1=$?
	[ $r1 -eq 0 ] && sorted_is "$TMP/pull.out" "our PULL" \
		from-A from-A from-A from-B from-B from-B
	r1=$? ;;
nanomsg) fg pull ours pull -c "$url1" -c "$url2" -P 2 -n 8
	r1=$?
	sort -u "$TMP/pull.out" >"$TMP/uniq"
	[ $r1 -eq 0 ] && sorted_is "$TMP/uniq" "our PULL (distinct)" from-A from-B
	r1=$? ;;
esac
stop tpush1 "$tpush1"
stop tpush2 "$tpush2"
ok $r1 "our PULL dialling two $BIN PUSHes gets the messages of both and nothing else"

# Our mode and the tool's, as words and options: modes listen|dial
modes() {
	if [ "$1" = listen ]; then
		tmode=dial flag=-b ours_ing=listening tool_ing=dialling
	else
		tmode=listen flag=-c ours_ing=dialling tool_ing=listening
	fi
}

# --- 8-15: PAIR v1 and v0, one message each way ----------------------------
# pair_one PROTO VERSION listen|dial PORT: our PAIR in that mode, the tool
# the other way; two checks
pair_one() {
	v=$2
	case $TOOL in
	nng)	tp="$BIN --$1" ;;
	nanomsg) tp="$BIN --pair" ;;
	esac
	modes "$3"
	url=tcp://127.0.0.1:$4
	bg tpair tool "$1" $tmode "$url" --raw --data "tool-v$v" --recv-timeout "$QUIET"
	tpair=$LAST
	fg pair ours pair -V "$v" $flag "$url" -P 1 -s "ours-v$v" -n 1
	r1=$?
	finish tpair "$tpair"
	r2=$?
	[ $r1 -eq 0 ] && expect_str "$TMP/pair.out" "tool-v$v
" "our PAIR"
	ok $? "our PAIR v$v ($ours_ing) gets exactly tool-v$v from $tp ($tool_ing)"
	[ $r2 -eq 0 ] && expect_str "$TMP/tpair.out" "ours-v$v" "$tp"
	ok $? "$tp ($tool_ing) gets exactly ours-v$v from our PAIR v$v"
}

# pair_row PROTO VERSION FIRST-PORT: four checks
pair_row() {
	pair_one "$1" "$2" listen "$3"
	pair_one "$1" "$2" dial $(($3 + 1))
}

if [ $TOOL = nng ]; then
	pair_row pair1 1 $((PORT + 8))
else
	# Verified with nanocat 1.1.5: its --pair is pair v0 (0x10) and it
	# closes a peer announcing 0x11 right after the header.
	why="nanocat has no pair v1 (its --pair is v0, 0x10, and it closes a 0x11 peer after the header)"
	skip "$why"
	skip "$why"
	skip "$why"
	skip "$why"
fi
pair_row pair0 0 $((PORT + 10))

# --- 16-24: SURVEYOR/RESPONDENT -------------------------------------------
# The tool as respondent answering one survey with ANSWER (nngcat exits
# after one; nanocat answers until stopped): tool_resp listen|dial URL ANSWER
tool_resp() {
	case $TOOL in
	nng)	tool respondent "$1" "$2" --raw --data "$3" --count 1 ;;
	nanomsg) tool respondent "$1" "$2" --raw --data "$3" ;;
	esac
}

# survey_ours listen|dial PORT: two checks
survey_ours() {
	modes "$1"
	url=tcp://127.0.0.1:$2
	bg tresp tool_resp $tmode "$url" "answer-$1"
	tresp=$LAST
	fg surv ours surveyor $flag "$url" -P 1 -s "survey-$1" -n 1 -E
	r1=$?
	[ $TOOL = nanomsg ] && wait_size "$TMP/tresp.out" $((7 + ${#1}))
	stop tresp "$tresp"
	[ $r1 -eq 0 ] && expect_str "$TMP/surv.out" "answer-$1
" "our SURVEYOR"
	ok $? "our SURVEYOR ($ours_ing) gets exactly the answer of $BIN RESPONDENT, then ETIMEDOUT at the deadline"
	expect_str "$TMP/tresp.out" "survey-$1" "$BIN RESPONDENT"
	ok $? "$BIN RESPONDENT ($tool_ing) gets exactly survey-$1 from our SURVEYOR"
}

# respond_ours listen|dial PORT: two checks
respond_ours() {
	modes "$1"
	url=tcp://127.0.0.1:$2
	# nng: nng_peer surveys once we are up, takes one answer and sees no
	# second; nanocat surveys every IVL s until stopped.
	case $TOOL in
	nng)	bg tsurv tool_peer surveyor $tmode "$url" -P 1 \
			-s "survey-$1" -n 1 -E ;;
	nanomsg) bg tsurv tool surveyor $tmode "$url" --raw --data "survey-$1" \
			--interval "$IVL" ;;
	esac
	tsurv=$LAST
	fg resp ours respondent $flag "$url" -n 1 -r "answer-$1"
	r1=$?
	tool_got tsurv "$tsurv" "answer-$1"
	[ $r1 -eq 0 ] && expect_str "$TMP/resp.out" "survey-$1
" "our RESPONDENT"
	ok $? "our RESPONDENT ($ours_ing) gets exactly survey-$1 from $BIN SURVEYOR"
	[ $r2 -eq 0 ] && expect_str "$TMP/tsurv.out" "$expected" "$BIN SURVEYOR"
	ok $? "$BIN SURVEYOR ($tool_ing) gets exactly our RESPONDENT's answer, once"
}

survey_ours listen $((PORT + 12))
survey_ours dial $((PORT + 13))
respond_ours listen $((PORT + 14))
respond_ours dial $((PORT + 15))

url1=tcp://127.0.0.1:$((PORT + 16))
url2=tcp://127.0.0.1:$((PORT + 17))
bg tresp1 tool_resp listen "$url1" answer-A
tresp1=$LAST
bg tresp2 tool_resp listen "$url2" answer-B
tresp2=$LAST
fg surv ours surveyor -c "$url1" -c "$url2" -P 2 -s survey-all -n 2 -E
r1=$?
if [ $TOOL = nanomsg ]; then
	wait_size "$TMP/tresp1.out" 10
	wait_size "$TMP/tresp2.out" 10
fi
stop tresp1 "$tresp1"
stop tresp2 "$tresp2"
[ $r1 -eq 0 ] && sorted_is "$TMP/surv.out" "our SURVEYOR" answer-A answer-B &&
	expect_str "$TMP/tresp1.out" survey-all "$BIN RESPONDENT A" &&
	expect_str "$TMP/tresp2.out" survey-all "$BIN RESPONDENT B"
ok $? "our SURVEYOR surveys two $BIN RESPONDENTs and gets both answers, then ETIMEDOUT"

# --- 25-29: BUS -------------------------------------------------------------
# bus_pair listen|dial PORT: our BUS in mode $1, the tool the other way; two checks
bus_pair() {
	modes "$1"
	url=tcp://127.0.0.1:$2
	bg tbus tool_bus $tmode "$url" "tool-$1" 1 1
	tbus=$LAST
	fg bus ours bus $flag "$url" -P 1 -s "ours-$1" -n 1
	r1=$?
	tool_got tbus "$tbus" "ours-$1"
	[ $r1 -eq 0 ] && expect_str "$TMP/bus.out" "tool-$1
" "our BUS"
	ok $? "our BUS ($ours_ing) gets exactly tool-$1 from the $BIN BUS"
	[ $r2 -eq 0 ] && expect_str "$TMP/tbus.out" "$expected" "$BIN BUS"
	ok $? "the $BIN BUS ($tool_ing) gets exactly ours-$1 from our BUS, once"
}

if [ $TOOL = nng ] && [ ! -x "$B/nng_peer" ]; then
	why="$B/nng_peer is missing (it needs libnng-dev to build; nngcat has no --bus)"
	for i in 1 2 3 4 5; do
		skip "$why"
	done
	[ $n -eq $PLAN ] || echo "# planned $PLAN checks but ran $n"
	[ $failed -eq 0 ] && [ $n -eq $PLAN ]
	exit
fi
bus_pair listen $((PORT + 18))
bus_pair dial $((PORT + 19))

url=tcp://127.0.0.1:$((PORT + 20))
bg tbus1 tool_bus dial "$url" bus-A 1 1
tbus1=$LAST
bg tbus2 tool_bus dial "$url" bus-B 1 1
tbus2=$LAST
if [ $TOOL = nng ]; then
	fg bus ours bus -b "$url" -P 2 -s to-all -n 2
	r1=$?
	finish tbus1 "$tbus1" || r1=1
	finish tbus2 "$tbus2" || r1=1
	expected="to-all
"
	[ $r1 -eq 0 ] && sorted_is "$TMP/bus.out" "our BUS" bus-A bus-B
	r1=$?
else
	# Each nanocat sends every IVL s: take 8, look at which came.
	fg bus ours bus -b "$url" -P 2 -s to-all -n 8
	r1=$?
	wait_size "$TMP/tbus1.out" 6
	wait_size "$TMP/tbus2.out" 6
	stop tbus1 "$tbus1"
	stop tbus2 "$tbus2"
	expected=to-all
	sort -u "$TMP/bus.out" >"$TMP/uniq"
	[ $r1 -eq 0 ] && sorted_is "$TMP/uniq" "our BUS (distinct)" bus-A bus-B
	r1=$?
fi
[ $r1 -eq 0 ] && expect_str "$TMP/tbus1.out" "$expected" "$BIN BUS A" &&
	expect_str "$TMP/tbus2.out" "$expected" "$BIN BUS B"
ok $? "our BUS with two $BIN BUS peers: both get exactly to-all, once, nothing of each other's; ours gets both"

[ $n -eq $PLAN ] || echo "# planned $PLAN checks but ran $n"
[ $failed -eq 0 ] && [ $n -eq $PLAN ]
