#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo of `make run` (scripts/demo, the README's own programs) as a test:
# SP_DEMO_RUNS times in a row (default 10) in this one boot, so that a race
# which hangs one run in ten (a subscriber joining after the publisher has
# published, say) fails the suite, not only one that hangs every run.  Each
# step of each run is one check; a run that stops early leaves its remaining
# checks missing from the plan, which run-all counts as failed.  What a
# failing run printed is passed on as diagnostics.
HERE=$(cd "$(dirname "$0")" && pwd)
DEMO=$HERE/../scripts/demo
RUNS=${SP_DEMO_RUNS:-10}
OUT=$(mktemp /tmp/sp-demo-test.XXXXXX) || exit 1
trap 'rm -f "$OUT"' EXIT

steps=$("$DEMO" --steps) || exit 1
echo "1..$((RUNS * steps))"
i=1
while [ $i -le "$RUNS" ]; do
	# The demo bounds each program; this bounds the demo.
	timeout -k 5 $((steps * 60)) "$DEMO" > "$OUT" 2>&1
	rc=$?
	sed -n "s/^\(not \)\{0,1\}ok - /&run $i: /p" "$OUT"
	if [ $rc != 0 ] || grep -q '^not ok' "$OUT"; then
		echo "# run $i exited with status $rc; it printed:"
		sed 's/^/# /' "$OUT"
	fi
	i=$((i + 1))
done
