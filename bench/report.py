#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report.py CONSOLE_LOG OUT_DIR [README] [KEY=VALUE...]

Turn the guest's output of bench/run (its BENCH, BENCHINFO and BENCHFAIL
lines) into OUT_DIR/latest.json (the list of results), latest.md (tables, the
machine, the targets of issue 5 as ratios) and latest.svg (grouped bars, log
scale), and print the ratios.  With README (a path ending in .md), the part of
it between the lines "<!-- bench:begin -->" and "<!-- bench:end -->" becomes
the same tables.  KEY=VALUE pairs describe the host side of the machine.
Standard library only.
"""

import json
import math
import sys
from pathlib import Path

IMPLS = ["sp", "tcp", "zmq", "nng"]
SIZES = [64, 1024, 65536]
SURVEY = "survey_10resp"
# Cases run at 64 B only.
SMALL_ONLY = ("reqrep_many", "pipeline", SURVEY)
# Implementations without the pattern (their cells are "–", not a failure).
ABSENT = {SURVEY: ["tcp", "zmq"]}
COLORS = {"sp": "#d62728", "tcp": "#7f7f7f", "zmq": "#1f77b4", "nng": "#2ca02c",
          "sp batch": "#ff9896", "tcp batch": "#c7c7c7"}


def parse(log):
    results, info, fails = [], {}, []
    for line in Path(log).read_text(errors="replace").splitlines():
        if line.startswith("BENCH {"):
            results.append(json.loads(line[len("BENCH "):]))
        elif line.startswith("BENCHINFO "):
            key, _, value = line[len("BENCHINFO "):].partition("=")
            info[key] = value
        elif line.startswith("BENCHFAIL "):
            fails.append(line[len("BENCHFAIL "):])
    return results, info, fails


def case_order(case):
    base = case.replace("_batch", "")
    order = ["reqrep", "reqrep_many", "pubsub_1sub", "pubsub_100sub", "pipeline", SURVEY]
    return (order.index(base) if base in order else len(order), case)


def sort_key(r):
    return (case_order(r["case"]), IMPLS.index(r["impl"]) if r["impl"] in IMPLS else 9,
            r["size"], r["metric"])


class Table:
    """Lookup of one value: table.get(case, impl, size, metric)."""

    def __init__(self, results):
        self.v = {(r["case"], r["impl"], r["size"], r["metric"]): r["value"] for r in results}

    def get(self, case, impl, size, metric):
        return self.v.get((case, impl, size, metric))


def size_name(size):
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def num(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.0f} k"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def targets(t):
    """The ratios of issue 5's targets: (text, met or None) each."""
    out = []

    def ratio(a, b):
        return a / b if a is not None and b else None

    sp = t.get("reqrep", "sp", 64, "rtt_p50_us")
    for other, bound in (("tcp", 1.3), ("zmq", 0.5)):
        r = ratio(sp, t.get("reqrep", other, 64, "rtt_p50_us"))
        text = (f"reqrep 64 B p50: sp / {other} = "
                + (f"{r:.3f}" if r is not None else "n/a") + f" (target <= {bound})")
        out.append((text, r is not None and r <= bound if r is not None else None))
    for case in ("pubsub_1sub", "pubsub_100sub"):
        for variant in ("", "_batch"):
            sp = t.get(case + variant, "sp", 64, "msgs_per_s")
            for other, bound in (("zmq", 1), ("nng", 4)):
                r = ratio(sp, t.get(case, other, 64, "msgs_per_s"))
                text = (f"{case} 64 B msgs/s: sp{' batch' if variant else ''} / {other} = "
                        + (f"{r:.3f}" if r is not None else "n/a") + f" (target >= {bound})")
                out.append((text, r >= bound if r is not None else None))
    return out


def markdown(t, info, fails, results):
    lines = []
    add = lines.append
    add("# Benchmark results")
    add("")
    add(f"Run {info.get('start', '?')}, one boot of the guest, all implementations side by side.")
    add("")
    add("| machine | |")
    add("|---|---|")
    add(f"| host CPU | {info.get('host_cpu', '?')} ({info.get('host_cpus', '?')} CPUs), "
        f"Linux {info.get('host_kernel', '?')} |")
    accel = info.get("accel", "?")
    how = {"tcg": "TCG (emulated: every instruction translated; absolute numbers are far "
                  "below native, compare ratios)", "kvm": "KVM"}.get(accel, accel)
    add(f"| guest | QEMU {how}; vCPUs: {info.get('guest_cpus', '?')}; "
        f"CPU model {info.get('guest_cpu', '?')}; clocksource "
        f"{info.get('guest_clocksource', '?')} |")
    add(f"| guest kernel | {info.get('guest_kernel', '?')} ({info.get('guest_config', '?')}) |")
    add(f"| run time | {info.get('guest_seconds', '?')} s of benchmarks in the guest, "
        f"{info.get('vm_seconds', '?')} s for the whole boot |")
    add("")
    add("Loopback, default options everywhere. `tcp` is plain TCP with SP's 8-byte length "
        "framing, one `writev()` per message (the floor); `batch` rows send 64 messages per "
        "call (`sendmmsg`/`recvmmsg` for sp, one `writev()` of 64 frames for tcp).")
    add("")
    add("## REQ/REP round trip, one client, server in another process: p50 / p99, µs")
    add("")
    add("| size | " + " | ".join(IMPLS) + " |")
    add("|---|" + "---|" * len(IMPLS))
    for size in SIZES:
        cells = []
        for impl in IMPLS:
            p50 = t.get("reqrep", impl, size, "rtt_p50_us")
            p99 = t.get("reqrep", impl, size, "rtt_p99_us")
            cells.append(f"{num(p50)} / {num(p99)}")
        add(f"| {size_name(size)} | " + " | ".join(cells) + " |")
    add("")
    add("## One REP, 100 REQ clients (threads of another process), 64 B: requests/s")
    add("")
    add("| " + " | ".join(IMPLS) + " |")
    add("|" + "---|" * len(IMPLS))
    add("| " + " | ".join(num(t.get("reqrep_many", i, 64, "requests_per_s")) for i in IMPLS) + " |")
    add("")
    add("## PUB->SUB: messages/s received, summed over the subscribers (MB/s)")
    add("")
    add("The publisher sends as fast as it can; only what subscribers receive in the window "
        "counts. sp, zmq and nng drop what a full subscriber queue cannot take (by design); "
        "tcp blocks instead.")
    add("")
    cols = IMPLS + ["sp batch", "tcp batch"]
    add("| case | size | " + " | ".join(cols) + " |")
    add("|---|---|" + "---|" * len(cols))
    for subs in ("pubsub_1sub", "pubsub_100sub"):
        for size in SIZES:
            cells = []
            for col in cols:
                impl, _, batch = col.partition(" ")
                case = subs + ("_batch" if batch else "")
                m = t.get(case, impl, size, "msgs_per_s")
                mb = t.get(case, impl, size, "MB_per_s")
                cells.append("–" if m is None else f"{num(m)} ({num(mb)})")
            add(f"| {subs.split('_')[1]} | {size_name(size)} | " + " | ".join(cells) + " |")
    add("")
    add("## PUSH->PULL, one PUSH process, one PULL process, 64 B: messages/s (MB/s)")
    add("")
    add("PUSH/PULL never drops (a full PULL blocks the PUSH): the PULL times the same "
        "number of messages for every implementation, after a warm-up.")
    add("")
    add("| " + " | ".join(IMPLS) + " |")
    add("|" + "---|" * len(IMPLS))
    cells = []
    for impl in IMPLS:
        m = t.get("pipeline", impl, 64, "msgs_per_s")
        mb = t.get("pipeline", impl, 64, "MB_per_s")
        cells.append("–" if m is None else f"{num(m)} ({num(mb)})")
    add("| " + " | ".join(cells) + " |")
    add("")
    add("## Survey of 10 respondents (threads of another process), 64 B: one round "
        "(the survey and all 10 answers), one at a time")
    add("")
    add("Surveys accept answers for 10 s, so the deadline never ends a round. "
        + " and ".join(ABSENT[SURVEY]) + " have no survey pattern (–).")
    add("")
    add("| | " + " | ".join(IMPLS) + " |")
    add("|---|" + "---|" * len(IMPLS))
    add("| p50 / p99, µs | " + " | ".join(
        "–" if t.get(SURVEY, i, 64, "rtt_p50_us") is None else
        f"{num(t.get(SURVEY, i, 64, 'rtt_p50_us'))} / {num(t.get(SURVEY, i, 64, 'rtt_p99_us'))}"
        for i in IMPLS) + " |")
    add("| rounds/s | " + " | ".join(num(t.get(SURVEY, i, 64, "rounds_per_s"))
                                     for i in IMPLS) + " |")
    add("")
    add("## Targets of issue 5, at 64 B")
    add("")
    for text, met in targets(t):
        add(f"- {text}: " + {True: "met", False: "**not met**", None: "no data"}[met])
    if fails:
        add("")
        add("## Runs that gave no result")
        add("")
        for f in fails:
            add(f"- {f}")
    add("")
    return "\n".join(lines)


def svg(t):
    """Grouped bars, log scale, one panel per measurement."""
    panels = [
        ("REQ/REP round trip p50, µs (lower is better)", "reqrep", "rtt_p50_us", IMPLS),
        ("REQ/REP round trip p99, µs (lower is better)", "reqrep", "rtt_p99_us", IMPLS),
        ("PUB->SUB, 1 subscriber: messages/s received", "pubsub_1sub", "msgs_per_s",
         IMPLS + ["sp batch", "tcp batch"]),
        ("PUB->SUB, 100 subscribers: messages/s received (sum)", "pubsub_100sub",
         "msgs_per_s", IMPLS + ["sp batch", "tcp batch"]),
        ("One REP, 100 REQ clients: requests/s, 64 B", "reqrep_many", "requests_per_s", IMPLS),
        ("PUSH->PULL: messages/s, 64 B", "pipeline", "msgs_per_s", IMPLS),
        ("Survey of 10 respondents: round p50, µs, 64 B (lower is better; sp and nng only)",
         SURVEY, "rtt_p50_us", IMPLS),
    ]
    width, ph, top, left = 760, 230, 40, 70
    height = top + len(panels) * (ph + 50) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    x = left
    for name in IMPLS + ["sp batch", "tcp batch"]:
        out.append(f'<rect x="{x}" y="12" width="12" height="12" fill="{COLORS[name]}"/>')
        out.append(f'<text x="{x + 16}" y="22">{name}</text>')
        x += 80
    for n, (title, case, metric, cols) in enumerate(panels):
        y0 = top + n * (ph + 50) + 20
        sizes = [64] if case in SMALL_ONLY else SIZES
        vals = {}
        for size in sizes:
            for col in cols:
                impl, _, batch = col.partition(" ")
                v = t.get(case + ("_batch" if batch else ""), impl, size, metric)
                if v:
                    vals[(size, col)] = v
        out.append(f'<text x="{left}" y="{y0 - 6}" font-size="13" font-weight="bold">'
                   f'{title}</text>')
        if not vals:
            continue
        lo = math.floor(math.log10(min(vals.values())))
        hi = math.ceil(math.log10(max(vals.values())))
        if hi == lo:
            hi += 1
        pw = width - left - 20

        def ypos(v):
            return y0 + ph - (math.log10(v) - lo) / (hi - lo) * ph

        for e in range(lo, hi + 1):
            y = ypos(10 ** e)
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="#ddd"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                       f'{num(10 ** e)}</text>')
        gw = pw / len(sizes)
        bw = min(40, (gw - 20) / len(cols))
        for i, size in enumerate(sizes):
            gx = left + i * gw + (gw - bw * len(cols)) / 2
            for j, col in enumerate(cols):
                v = vals.get((size, col))
                if not v:
                    continue
                y = ypos(v)
                out.append(f'<rect x="{gx + j * bw:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" '
                           f'height="{y0 + ph - y:.1f}" fill="{COLORS[col]}">'
                           f'<title>{col} {size_name(size)}: {num(v)}</title></rect>')
                out.append(f'<text x="{gx + j * bw + bw / 2 - 1:.1f}" y="{y - 3:.1f}" '
                           f'text-anchor="middle" font-size="9">{num(v)}</text>')
            out.append(f'<text x="{left + i * gw + gw / 2:.1f}" y="{y0 + ph + 16}" '
                       f'text-anchor="middle">{size_name(size)}</text>')
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y0 + ph}" y2="{y0 + ph}" '
                   f'stroke="black"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def update_readme(path, md):
    """Put @md, headings one level down and without its title, between the markers."""
    text = Path(path).read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"report: {path} has no {BEGIN} ... {END}")
    body = [("#" + line if line.startswith("## ") else line)
            for line in md.splitlines() if not line.startswith("# ")]
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    Path(path).write_text(head + BEGIN + "\n" + "\n".join(body).strip() + "\n" + END + tail)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    results, info, fails = parse(sys.argv[1])
    readme = None
    for kv in sys.argv[3:]:
        if kv.endswith(".md") and "=" not in kv:
            readme = kv
            continue
        key, _, value = kv.partition("=")
        info[key] = value
    if not results:
        sys.exit("report: no BENCH lines in " + sys.argv[1])
    results.sort(key=sort_key)
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    t = Table(results)
    md = markdown(t, info, fails, results)
    (out / "latest.md").write_text(md)
    if readme:
        update_readme(readme, md)
    (out / "latest.svg").write_text(svg(t))
    print(f"report: {len(results)} results in {out}/latest.{{json,md,svg}}")
    for f in fails:
        print(f"report: no result from {f}")
    for text, met in targets(t):
        print(f"target: {text}: " + {True: "met", False: "NOT MET", None: "no data"}[met])


if __name__ == "__main__":
    main()
