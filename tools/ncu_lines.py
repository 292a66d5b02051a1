#!/usr/bin/env python3
"""Where a kernel spends its time, by source line, from an Nsight Compute source export.

    ncu -i REPORT.ncu-rep --page source --csv --print-source cuda,sass > src.csv
    python3 tools/ncu_lines.py src.csv [--top 30] [--file topk_radix.cu]

Prints each CUDA source line's share of the warp-state samples with its three largest stall
reasons. Inlined helpers are attributed to their own lines, so a helper's line may appear
under several callers' samples; --file limits the list to one source file."""
import argparse
import collections
import csv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--file", default=None, help="only lines of this source file (base name)")
    args = ap.parse_args()
    samples = collections.Counter()
    stalls = collections.defaultdict(collections.Counter)
    text = {}
    current, header = None, None
    with open(args.csv, newline="") as f:
        for row in csv.reader(f):
            if not row:
                continue
            if row[0] == "File Path":
                current = row[1].rsplit("/", 1)[-1]
            elif row[0] == "Line No":
                header = row
            elif header and row[0].isdigit():
                key = (current, int(row[0]))
                fields = dict(zip(header, row))
                count = fields.get("Warp Stall Sampling (All Samples)") or "0"
                # The CUDA line comes first (SASS rows repeat it); rows whose source text
                # broke the CSV columns are skipped.
                if key in text or not count.isdigit():
                    continue
                text[key] = row[1].strip()
                samples[key] = int(count)
                for name, value in zip(header, row):
                    if name.startswith("stall_") and "Not Issued" not in name and value.isdigit():
                        stalls[key][name[6:]] += int(value)
    if args.file:
        samples = collections.Counter({k: v for k, v in samples.items() if k[0] == args.file})
    total = sum(samples.values()) or 1
    print(f"{total} samples")
    for key, n in samples.most_common(args.top):
        top = ", ".join(f"{s} {c}" for s, c in stalls[key].most_common(3))
        print(f"{100 * n / total:5.1f}%  {key[0]}:{key[1]}  {text[key][:70]}  [{top}]")


if __name__ == "__main__":
    main()
