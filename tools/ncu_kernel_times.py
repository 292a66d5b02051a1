#!/usr/bin/env python3
"""Where a forward's GPU time goes, per kernel, from an ncu CSV of kernel durations:

    ncu --profile-from-start off --metrics gpu__time_duration.sum --csv \\
        build-gpu/tools/seam-demo --decode --iters 2 --warmup 1 > demo.csv
    python3 tools/ncu_kernel_times.py demo.csv [--top 25] [--forwards 3]

Kernels are grouped by name without their parameter list (template arguments kept, so the
instantiations of one kernel stay apart). --forwards divides the totals by the number of
forwards profiled (seam-demo profiles its eager mode's warm-up and timed forwards:
warmup + iters). ncu serialises kernels, so the sum is GPU busy time, not latency."""
import argparse
import collections
import csv
import sys

TO_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}


def short_name(name):
    """The kernel's name up to its parameter list: 'void f<1, X>(T2, int)' -> 'f<1, X>'."""
    depth = 0
    for i, ch in enumerate(name):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0:
            name = name[:i]
            break
    return name[5:] if name.startswith("void ") else name


def kernel_times(lines):
    """{short kernel name: [launches, total us]} from ncu --csv output (other lines skipped)."""
    rows = csv.reader(line for line in lines if line.startswith('"'))
    header = next(rows, None)
    if not header:
        raise SystemExit("no CSV rows: was ncu run with --csv?")
    col = {h: i for i, h in enumerate(header)}
    for need in ("Kernel Name", "Metric Name", "Metric Unit", "Metric Value"):
        if need not in col:
            raise SystemExit(f"CSV has no '{need}' column")
    times = collections.defaultdict(lambda: [0, 0.0])
    for r in rows:
        if len(r) != len(header) or r[col["Metric Name"]] != "gpu__time_duration.sum":
            continue
        unit = r[col["Metric Unit"]]
        if unit not in TO_US:
            raise SystemExit(f"unknown duration unit '{unit}'")
        t = times[short_name(r[col["Kernel Name"]])]
        t[0] += 1
        t[1] += float(r[col["Metric Value"]].replace(",", "")) * TO_US[unit]
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--forwards", type=int, default=1, help="forwards profiled, to print per forward")
    a = ap.parse_args()
    if a.forwards < 1:
        raise SystemExit("--forwards must be at least 1")
    with open(a.csv, encoding="utf-8", errors="replace") as f:
        times = kernel_times(f)
    total = sum(t for _, t in times.values())
    if total <= 0:
        raise SystemExit("no kernel durations in the CSV")
    n = a.forwards
    print(f"{'us/fwd':>10} {'share':>6} {'launches/fwd':>12}  kernel")
    for name, (count, us) in sorted(times.items(), key=lambda kv: -kv[1][1])[: a.top]:
        print(f"{us / n:10.1f} {100 * us / total:5.1f}% {count / n:12.1f}  {name}")
    print(f"{total / n:10.1f} 100.0% {sum(c for c, _ in times.values()) / n:12.1f}  (all kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
