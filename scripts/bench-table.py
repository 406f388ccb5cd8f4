#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The table of `make bench`, from the BENCH lines of one run.

    scripts/bench-table.py RESULTS.TXT JSON_OUT [PREVIOUS.JSON]

RESULTS.TXT holds one line per measurement and boot, as scripts/bench.sh
gathers them from the testbed logs:

    <L1 kernel> <label> <figure> <value> <unit> runs=<n> spread=<x>%

A label is what was measured side by side (a backend, an engine, a
setting). Labels are grouped into comparisons; each comparison prints one
table with a column per label and the ratios it exists for. Every ratio is
a time ratio, the first label's time over the reference's (rates are
inverted), so < 1 means the first is faster, whatever the unit. Ratios are
only taken inside one L1 kernel's run: the two columns were measured in the
same testbed boot, minutes apart, alternating where a test can.

Several boots of one label: the value is their median; the spread is the
larger of the boots' own spreads and the range between the boots. A ratio's
spread is the sum of its two sides' spreads: two runs whose ratios differ
by less than that agree. With PREVIOUS.JSON (the last run's JSON) each
ratio is printed next to the previous run's, with that verdict.
"""
import json
import re
import sys
from collections import OrderedDict
from statistics import median

# Comparisons: (title, labels in column order, ratios as (label, reference)).
# Event delivery figures of xkfloor come under the "floor" label with the
# path in the figure name; they are split into labels of their own below.
COMPARISONS = [
    ("KVM floors in L1 (xkfloor: exits KVM answers itself)",
     ["floor"], []),
    ("Event delivery, eventfd write -> guest handler -> host sees it "
     "(xkfloor, one vCPU; issue 3)",
     ["deliver-msi", "deliver-xenkvm", "deliver-userspace", "deliver-kvmxen"],
     [("deliver-xenkvm", "deliver-userspace"),
      ("deliver-xenkvm", "deliver-kvmxen"),
      ("deliver-xenkvm", "deliver-msi")]),
    ("Xen HVM guest, Linux 6.1 (xkbench in the guest; issues 4 and 5); "
     "floor: KVM alone, same L1 run",
     ["module", "module-vmm-path", "kvm", "userspace"],
     [("module", "kvm"), ("module", "module-vmm-path")]),
    ("PV block, 4 KiB random and 1 MiB sequential O_DIRECT in the guest "
     "(issue 7)",
     ["blk-uring", "blk-sync"], [("blk-uring", "blk-sync")]),
    ("PV network, guest <-> L1 over the tap (issue 8)",
     ["net-offload", "net-nooffload"], [("net-offload", "net-nooffload")]),
]

# The floor each guest figure is read against (issue 9: "each figure also
# reports the floor it can be compared with, measured in the same run"):
# the cheapest thing of its kind that KVM does on its own in this L1.
FLOORS = [
    (re.compile(r"^hcall_"), "floor", "kvm_vmmcall_exit"),
    (re.compile(r"^cpuid_exit$"), "floor", "kvm_cpuid_exit"),
    (re.compile(r"^evtchn_rtt_.*_(median|p99)$"), "deliver-msi", "eventfd_to_handler_{0}"),
]


def floor_of(cells, k, fig):
    for rx, label, name in FLOORS:
        m = rx.search(fig)
        if m:
            key = (k, label, name.format(*m.groups()))
            if key in cells:
                return f"{key[2]} {fmt_value(cells[key])}"
    return "-"


DELIVER = re.compile(r"^(msi|xenkvm|userspace|kvmxen)_(?:irqfd|evtchn)_rtt_(\w+)$")


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) != 7 or not p[5].startswith("runs=") or not p[6].startswith("spread="):
                continue
            k, label, fig, unit = p[0], p[1], p[2], p[4]
            m = DELIVER.match(fig) if label == "floor" else None
            if m:
                label, fig = "deliver-" + m.group(1), "eventfd_to_handler_" + m.group(2)
            try:
                value = float(p[3])
                runs = int(p[5][5:])
                spread = float(p[6][7:].rstrip("%"))
            except ValueError:
                continue
            rows.append((k, label, fig, value, unit, runs, spread))
    return rows


def aggregate(rows):
    """(kernel, label, figure) -> dict(value, unit, runs, boots, spread)."""
    boots = OrderedDict()
    for k, label, fig, value, unit, runs, spread in rows:
        boots.setdefault((k, label, fig), []).append((value, unit, runs, spread))
    cells = OrderedDict()
    for key, b in boots.items():
        values = [x[0] for x in b]
        runs = sum(x[2] for x in b)
        if key[2].endswith("_lost"):	# lost rounds add up over boots
            cells[key] = dict(value=sum(values), unit=b[0][1], runs=runs,
                              boots=len(b), spread=0.0)
            continue
        mid = median(values)
        spread = max(x[3] for x in b)
        if len(b) > 1 and mid > 0:
            spread = max(spread, (max(values) - min(values)) / mid * 100)
        cells[key] = dict(value=mid, unit=b[0][1], runs=runs, boots=len(b),
                          spread=spread)
    return cells


def time_ratio(a, b):
    if not a or not b or a["value"] == 0 or b["value"] == 0:
        return None
    r = a["value"] / b["value"]
    if a["unit"].endswith("/s"):
        r = 1 / r
    return r


def fmt_value(c):
    v = c["value"]
    s = f"{v:.0f}" if v >= 100 or c["unit"] == "rounds" else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    s += f" ±{c['spread']:.0f}% n={c['runs']}"
    if c["boots"] > 1:
        s += f"x{c['boots']}"
    return s


def comparisons(cells):
    """The fixed comparisons, then any label none of them names."""
    known = {l for _, labels, _ in COMPARISONS for l in labels}
    extra = []
    for (_, label, _) in cells:
        if label not in known and label not in extra:
            extra.append(label)
    return COMPARISONS + [(f"Other: {l}", [l], []) for l in extra]


def previous_ratios(path):
    if not path:
        return {}
    try:
        with open(path) as f:
            prev = json.load(f)
    except (OSError, ValueError):
        return {}
    return {(r["kernel"], r["figure"], r["label"], r["reference"]): r
            for r in prev.get("ratios", [])}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    cells = aggregate(parse(sys.argv[1]))
    prev = previous_ratios(sys.argv[3] if len(sys.argv) > 3 else None)
    kernels = list(OrderedDict.fromkeys(k for k, _, _ in cells))
    out_ratios = []
    agree = disagree = 0
    for title, labels, ratios in comparisons(cells):
        present = [l for l in labels if any(key[1] == l for key in cells)]
        if not present:
            continue
        print(f"\n== {title}")
        head = f"{'L1':<5} {'figure':<30} {'unit':<8}" + "".join(f" {l:<24}" for l in present)
        rlabels = [(a, b) for a, b in ratios if a in present and b in present]
        # A floor column where some figure of this comparison has one.
        with_floor = any(floor_of(cells, k, f) != "-"
                         for (k, l, f) in cells if l in present)
        if with_floor:
            head += f" {'floor':<42}"
        head += "".join(f" {a.split('-', 1)[-1] + '/' + b.split('-', 1)[-1]:<22}" for a, b in rlabels)
        print(head)
        for k in kernels:
            figs = list(OrderedDict.fromkeys(f for (kk, l, f) in cells if kk == k and l in present))
            for f in figs:
                unit = next(cells[(k, l, f)]["unit"] for l in present if (k, l, f) in cells)
                line = f"{k:<5} {f:<30} {unit:<8}"
                for l in present:
                    c = cells.get((k, l, f))
                    line += f" {fmt_value(c) if c else '-':<24}"
                if with_floor:
                    line += f" {floor_of(cells, k, f):<42}"
                for a, b in rlabels:
                    ca, cb = cells.get((k, a, f)), cells.get((k, b, f))
                    r = None if f.endswith("_lost") else time_ratio(ca, cb)
                    if r is None:
                        line += f" {'-':<22}"
                        continue
                    spread = ca["spread"] + cb["spread"]
                    cell = f"{r:.2f} ±{spread:.0f}%"
                    p = prev.get((k, f, a, b))
                    if p:
                        ok = abs(r - p["time_ratio"]) <= r * spread / 100
                        agree += ok
                        disagree += not ok
                        cell += f" ({p['time_ratio']:.2f}{'' if ok else '!'})"
                    line += f" {cell:<22}"
                    out_ratios.append(dict(kernel=k, figure=f, label=a, reference=b,
                                           time_ratio=round(r, 4), spread_pct=round(spread, 1)))
                print(line)
    print("\ncells: value ±spread n=runs (xB: median of B boots); ratios: time over"
          " the reference (< 1: faster), same L1 run, ±spread of the two sides")
    if prev:
        print(f"(x.xx): the previous run's ratio; '!' where the two runs differ by more"
              f" than this run's spread. Agree: {agree}, differ: {disagree}")
    with open(sys.argv[2], "w") as f:
        json.dump(dict(figures=[dict(kernel=k, label=l, figure=fg, **c)
                                for (k, l, fg), c in cells.items()],
                       ratios=out_ratios), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
