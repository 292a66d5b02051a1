#!/usr/bin/env python3
"""Plot top-k benchmark JSON (tools/seam-bench-topk and/or tools/bench_topk_peers.py) as
time vs row length L per method, one panel per row count, with the HBM floor as a line.

  python3 tools/plot_topk.py --data normal -o docs/topk.png topk_bench.json topk_peers.json
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("-o", "--output", default="topk.png")
    ap.add_argument("--data", default="normal", help="normal, ties or few")
    args = ap.parse_args()

    results, devices = [], set()
    for path in args.json:
        with open(path) as f:
            doc = json.load(f)
        devices.add(doc.get("device", "?"))
        results += [r for r in doc["results"] if r["data"] == args.data]
    panels = sorted({(r["kind"], r["rows"]) for r in results}, key=lambda p: (p[0] != "decode", p[1]))
    if not panels:
        raise SystemExit("no results with data=%s" % args.data)
    cols = 4
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    methods = sorted({r["method"] for r in results})
    colors = {m: plt.cm.tab20(i % 20) for i, m in enumerate(methods)}  # 12+ methods: tab10 repeats
    for ax, (kind, rows) in zip(axes.flat, panels):
        sub = [r for r in results if r["kind"] == kind and r["rows"] == rows]
        for m in methods:
            pts = sorted((r["L"], r["median_us"]) for r in sub if r["method"] == m)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, label=m, color=colors[m])
        floor = sorted({(r["L"], r["floor_us"]) for r in sub})
        if floor:
            ax.plot([p[0] for p in floor], [p[1] for p in floor], "k--", lw=1, label="HBM floor")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title("%s, %d rows" % (kind, rows))
        ax.set_xlabel("L (columns)")
        ax.set_ylabel("time (us)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle("top-k, k = 2048, %s data, %s" % (args.data, ", ".join(sorted(devices))))
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(args.output, dpi=120)
    print("wrote " + args.output)


if __name__ == "__main__":
    main()
