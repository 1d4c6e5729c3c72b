#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network namespaces: an SP socket lives in the namespace it was created in.
# Two namespaces each run a REP on the same port, 127.0.0.1:26700, answering
# with their own name; a REQ in each namespace gets its own namespace's
# answer, and a REQ in a namespace with no server gets nothing.  Runs as root
# in the VM (scripts/vm-run).
HERE=$(cd "$(dirname "$0")" && pwd)
B=${SP_TEST_BUILD:-$HERE/build}
URL=tcp://127.0.0.1:26700
n=0
ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

echo "1..6"
for ns in spa spb spc; do
	ip netns add $ns && ip -n $ns link set lo up || {
		echo "Bail out! cannot make network namespace $ns"
		exit 1
	}
done
trap 'ip netns del spa; ip netns del spb; ip netns del spc' EXIT

ip netns exec spa "$B/sp_echo" -r from-a -n 1 -H 5 $URL > /tmp/netns-a.out 2>&1 &
a=$!
ip netns exec spb "$B/sp_echo" -r from-b -n 1 -H 5 $URL > /tmp/netns-b.out 2>&1 &
b=$!
ok 0 "a REP binds $URL in each of two namespaces"

ra=$(ip netns exec spa "$B/sp_req" -t 30 $URL hello-a 2>/dev/null)
[ "$ra" = from-a ]
ok $? "a REQ in namespace a gets a's answer ($ra)"
rb=$(ip netns exec spb "$B/sp_req" -t 30 $URL hello-b 2>/dev/null)
[ "$rb" = from-b ]
ok $? "a REQ in namespace b gets b's answer ($rb)"

wait $a
ok $? "a's REP answered exactly once and exited cleanly"
wait $b
ok $? "b's REP answered exactly once and exited cleanly"

ip netns exec spc "$B/sp_req" -t 3 $URL hello-c > /dev/null 2>&1
[ $? = 2 ]
ok $? "a REQ in a third namespace with no server times out"
