#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The module's life in the guest: rmmod is refused while a PF_SP socket is
# open and works once it is closed; a family number already taken is refused
# cleanly at insmod (family=2 is AF_INET); a reload works.  Three times over,
# rmmod works at once while closed sockets linger (a REQ dialing a port where
# nothing listens, a PUB flushing to a subscriber that does not read): module
# exit ends them, and the module loads again.  Must run as root in the VM,
# with sp.ko loaded by scripts/vm-run.
HERE=$(cd "$(dirname "$0")" && pwd)
KO=$(readlink -f "$HERE/../sp.ko")
B=$HERE/build
n=0
ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

wait_for() {	# wait_for WORD FILE: up to 30 s for a process to print WORD
	i=0
	until grep -q "$1" "$2" 2>/dev/null || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$2"
}

echo "1..15"
if ! grep -q '^sp ' /proc/modules; then
	echo "Bail out! sp.ko is not loaded"
	exit 1
fi

# A socket held open by a process that is still alive.
python3 -c '
import socket, sys, time
s = socket.socket(18, 4, 0)
print("open", flush=True)
time.sleep(120)
' > /tmp/sp-module-holder &
holder=$!
wait_for open /tmp/sp-module-holder

rmmod sp 2>/dev/null
ok $((! $?)) "rmmod is refused while a PF_SP socket is open"
grep -q '^sp ' /proc/modules
ok $? "sp.ko is still loaded"

kill $holder
wait $holder 2>/dev/null
rmmod sp
ok $? "rmmod works once the socket is closed"

insmod "$KO" family=2 2>/dev/null
ok $((! $?)) "insmod family=2 (AF_INET, taken) is refused"

insmod "$KO"
ok $? "insmod again"
"$B/sp_req" -p 2>/dev/null
ok $? "PF_SP sockets work after the reload"

# Closed sockets that linger: a REQ whose request waits for a server, and a
# PUB whose queue waits for a subscriber that does not read (it stays alive).
linger() {
	python3 -c '
import socket, struct, sys, time
base = int(sys.argv[1])
req = socket.socket(18, 4, 0)
req.setsockopt(300, 9, b"tcp://127.0.0.1:%d" % base)
req.send(b"waiting for a server")
req.close()
pub = socket.socket(18, 2, 0)
pub.setsockopt(300, 8, b"tcp://127.0.0.1:%d" % (base + 1))
sub = socket.create_connection(("127.0.0.1", base + 1))
sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sub.sendall(bytes([0, 0x53, 0x50, 0, 0, 0x21, 0, 0]))
sub.recv(8)
deadline = time.time() + 20
while time.time() < deadline:
	try:
		pub.send(b"x" * 1000, socket.MSG_DONTWAIT)
	except BlockingIOError:
		pass
	if struct.unpack("Q", pub.getsockopt(300, 10, 8))[0] > 0:
		break
pub.close()
print("lingering", flush=True)
time.sleep(60)
' "$1" > /tmp/sp-module-linger &
	lingerer=$!
	wait_for lingering /tmp/sp-module-linger
}

for cycle in 1 2 3; do
	linger $((28010 + 2 * cycle))
	ok $? "cycle $cycle: closed REQ and PUB sockets linger"
	rmmod sp
	ok $? "cycle $cycle: rmmod works while they linger"
	kill $lingerer
	wait $lingerer 2>/dev/null
	insmod "$KO" && "$B/sp_req" -p 2>/dev/null
	ok $? "cycle $cycle: insmod again, sockets work"
done
