#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The module's life in the guest: rmmod is refused while a PF_SP socket is
# open and works once it is closed; a family number already taken is refused
# cleanly at insmod (family=2 is AF_INET); a reload works.  Must run as root
# in the VM, with sp.ko loaded by scripts/vm-run.
HERE=$(cd "$(dirname "$0")" && pwd)
KO=$(readlink -f "$HERE/../sp.ko")
B=$HERE/build
n=0
ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

echo "1..6"
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
i=0
until grep -q open /tmp/sp-module-holder 2>/dev/null || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done

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
