#!/usr/bin/env python3
"""The top-k comparison table of docs/performance.md from one bench_topk_peers.py JSON file
(seam, torch.topk and FlashInfer timed in the same run), one data kind.

    python3 tools/topk_table.py topk_peers.json [--data normal]
"""
import argparse
import json


def fmt(us):
    return "-" if us is None else f"{us:.1f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peers_json")
    ap.add_argument("--data", default="normal")
    args = ap.parse_args()
    doc = json.load(open(args.peers_json))
    times, floors = {}, {}  # floors: shape -> seam's floor, in the order shapes first appear
    for r in doc["results"]:
        if r["data"] != args.data:
            continue
        shape = (r["kind"], r["rows"], r["L"])
        floors.setdefault(shape, None)
        if r["method"].startswith("seam"):
            floors[shape] = r["floor_us"]  # torch's floor is the whole row; seam's the lengths
        times[shape + (r["method"],)] = r["median_us"]
    print("| shape (rows x L) | seam | seam det | torch.topk | vs torch | FlashInfer top_k "
          "| vs FlashInfer | FlashInfer fused graph-safe | seam fused | fused vs FI graph-safe "
          "| x HBM floor |")
    print("|---" * 11 + "|")
    for shape in floors:
        t = lambda m: times.get(shape + (m,))
        seam, fused = t("seam"), t("seam-fused")
        floor = floors[shape]
        kind, rows, length = shape
        name = f"{kind} {rows} x {length // 1024}K"
        print(f"| {name} | {fmt(seam)} | {fmt(t('seam-det'))} | {fmt(t('torch'))} "
              f"| {ratio(t('torch'), seam)} | {fmt(t('flashinfer'))} "
              f"| {ratio(t('flashinfer'), seam)} | {fmt(t('flashinfer-fused-graphsafe'))} "
              f"| {fmt(fused)} | {ratio(t('flashinfer-fused-graphsafe'), fused)} "
              f"| {ratio(seam, floor) if floor and floor >= 1.0 else '-'} |")


if __name__ == "__main__":
    main()
