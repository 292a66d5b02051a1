#!/usr/bin/env python3
"""Side-by-side table of seam-bench-indexer JSON files (wgmma rows), microseconds: one column
per build of an A/B run, so a kernel variant reads against the others case by case.

    python3 tools/indexer_ab.py new=indexer.json hm=indexer_hm.json [--algo wgmma]
"""
import argparse
import json


def cases(path, algo):
    """case name -> microseconds, in the file's order; NextN rows give three cases."""
    out = {}
    for r in json.load(open(path))["results"]:
        if r.get("algo", algo) != algo or r["section"] == "read_bandwidth":
            continue
        s = r["section"]
        if s == "nextn":
            key = f"nextn n{r['next_n']} {r['batch']}x{r['context']}"
            for kind in ("native", "expanded", "grouped"):
                out[f"{key} {kind[:3]}"] = r[f"{kind}_ms"] * 1e3
        elif s == "decode":
            out[f"decode p{r['page_size']} {r['batch']}x{r['context']}"] = r["ms"] * 1e3
        else:
            out[f"{s} {r['tokens']}x{r['context']}"] = r["ms"] * 1e3
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="+", metavar="NAME=FILE")
    ap.add_argument("--algo", default="wgmma", help="the kernel whose rows to compare (wgmma, mma, simt)")
    args = ap.parse_args()
    names, data = [], []
    for item in args.builds:
        name, sep, path = item.partition("=")
        if not sep:
            ap.error(f"{item}: expected NAME=FILE")
        names.append(name)
        data.append(cases(path, args.algo))
    print(f"{'case (us)':<30}" + "".join(f"{n:>10}" for n in names))
    for case in data[0]:
        print(f"{case:<30}" + "".join(f"{d[case]:10.2f}" if case in d else f"{'-':>10}" for d in data))


if __name__ == "__main__":
    main()
