#!/usr/bin/env python3
"""What the Python binding adds to seam calls: the same measurements as seam-bench-call
(tools/seam_bench_call.c, run here as the C baseline), made through python/seam.

  topk call    host wall time per seam.topk call on a tiny input (1 x 64, k = 8), 200 calls
               back to back then a synchronize, median of reps: the full wrapper (argument
               checks on torch tensors, params struct), a prepared Launch (checked once,
               seam.launch) and the bare ctypes call with a prebuilt params struct (the floor
               of any ctypes binding)
  forward      the replayed forward of seam-bench-call built from Python (L layers of
               rms_norm, hadamard, topk_broadcast_split on a world of one), decode batch:
               latency (run + synchronize), throughput (runs back to back), set_batch + run

Goals (issue 9): <= 5 us added per call, <= 2 % added to a replayed forward.

  python3 tools/bench_python_overhead.py [--layers 8] [--tokens 32] [--iters 2000]
         [--c-tool build-gpu/tools/seam-bench-call] [--json FILE]

Needs a GPU and torch. Prints a table, then one JSON object (also written to FILE)."""

import argparse
import ctypes as C
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

import torch  # noqa: E402

import seam  # noqa: E402
from seam import _abi  # noqa: E402
from seam._lib import lib  # noqa: E402

REPS = 51
CALLS_PER_REP = 200
WIDTH = 128


def per_call_us(fn, sync):
    for _ in range(3):
        fn()
    sync()
    out = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(CALLS_PER_REP):
            fn()
        out.append((time.perf_counter() - t0) * 1e6 / CALLS_PER_REP)
        sync()
    return statistics.median(out)


def bench_topk():
    stream = torch.cuda.Stream()
    scores = torch.zeros(1, 64, device="cuda")
    lengths = torch.full((1,), 64, dtype=torch.int32, device="cuda")
    out = torch.empty(1, 8, dtype=torch.int32, device="cuda")
    need = seam.topk_workspace_size(1, 64, 8)
    ws = torch.empty(max(need, 1), dtype=torch.uint8, device="cuda")
    h = stream.cuda_stream

    def wrapper():
        seam.topk(scores, lengths, k=8, out=out, workspace=ws, stream=h)

    p = _abi.sized(_abi.TopkParams, rows=1, stride=64, k=8, scores=scores.data_ptr(),
                   lengths=lengths.data_ptr(), out=out.data_ptr(), workspace=ws.data_ptr(),
                   workspace_bytes=need)
    ref, handle, fn = C.byref(p), C.c_void_p(h), lib.seam_topk

    def bare():
        fn(ref, handle)

    prepared = seam.topk(scores, lengths, k=8, out=out, workspace=ws, stream=h, prepare=True)
    return (per_call_us(wrapper, stream.synchronize), per_call_us(prepared, stream.synchronize),
            per_call_us(bare, stream.synchronize))


def bench_forward(layers, tokens, iters):
    """The program of seam-bench-call, from Python."""
    ctx = seam.Context(device=0, max_tokens=tokens, max_batch=tokens, max_context=16,
                       num_layers=layers)
    reg = seam.Registry()
    comm = seam.Comm(nranks=1, device=0)
    weight = torch.zeros(WIDTH, device="cuda")
    prog = seam.Program(reg)
    x = prog.tensor("x", "bf16", (None, WIDTH))
    y = prog.tensor("y", "bf16", (None, WIDTH))
    idx = prog.tensor("idx", "i32", (None, 8))
    w = prog.external("w", weight)
    for _ in range(layers):
        prog.call("rms_norm", x, w, y, None, 1e-6)
        prog.call("hadamard", y, x)
        prog.call("topk_broadcast_split", idx, seam.Ptr(comm.handle.value))
    graph = seam.Graph(prog, ctx)
    prog.close()
    st = graph.stats()
    batch = dict(mode="decode", seq_lens=[1] * tokens, out_cache_loc=list(range(tokens)),
                 page_table=[[i] for i in range(tokens)])
    ctx.set_batch(**batch)
    for _ in range(10):
        graph.run()
    ctx.synchronize()
    lat = []
    for _ in range(iters):
        t0 = time.perf_counter()
        graph.run()
        ctx.synchronize()
        lat.append((time.perf_counter() - t0) * 1e6)

    def reps(body):
        out = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            for _ in range(20):
                body()
            ctx.synchronize()
            out.append((time.perf_counter() - t0) * 1e6 / 20)
        return statistics.median(out)

    def batch_run():
        ctx.set_batch(**batch)
        graph.run()

    result = {"layers": layers, "tokens": tokens, "pieces": st["num_pieces"],
              "split_ops": st["num_split_ops"], "latency_us": statistics.median(lat),
              "throughput_us": reps(graph.run), "batch_run_us": reps(batch_run)}
    graph.close()
    comm.close()
    reg.close()
    ctx.close()
    return result


def find_tool(given):
    if given:
        return given
    for build in ("build-gpu", "build"):
        p = REPO / build / "tools" / "seam-bench-call"
        if p.exists():
            return str(p)
    sys.exit("bench_python_overhead: seam-bench-call not found (build it, or pass --c-tool)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--c-tool")
    ap.add_argument("--json")
    a = ap.parse_args()

    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        env = dict(os.environ)
        subprocess.run([find_tool(a.c_tool), "--layers", str(a.layers), "--tokens",
                        str(a.tokens), "--iters", str(a.iters), "--json", f.name], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        c = json.load(open(f.name))
    wrapper_us, prepared_us, bare_us = bench_topk()
    py = bench_forward(a.layers, a.tokens, a.iters)
    cf = c["forward"]

    rows = [("topk call, seam.topk wrapper (us)", c["topk_call_us"], wrapper_us, "abs", 5.0),
            ("topk call, prepared Launch (us)", c["topk_call_us"], prepared_us, "abs", 5.0),
            ("topk call, bare ctypes (us)", c["topk_call_us"], bare_us, "abs", 5.0),
            ("forward run+sync latency (us)", cf["latency_us"], py["latency_us"], "rel", 2.0),
            ("forward runs back to back (us)", cf["throughput_us"], py["throughput_us"], "rel",
             2.0),
            ("forward set_batch + run (us)", cf["batch_run_us"], py["batch_run_us"], "rel", None)]
    print(f"python binding overhead on {c['device']} ({a.layers} layers x {a.tokens} tokens, "
          f"{py['pieces']} pieces, {py['split_ops']} split ops)")
    print(f"{'measure':38s} {'C':>9s} {'Python':>9s} {'added':>12s}  goal")
    out = {"device": c["device"], "c": c, "python": {"topk_wrapper_us": wrapper_us,
                                                      "topk_prepared_us": prepared_us,
                                                      "topk_bare_ctypes_us": bare_us,
                                                      "forward": py}, "rows": []}
    for name, cv, pv, kind, goal in rows:
        added = pv - cv
        if kind == "abs":
            shown, ok = f"{added:+8.2f} us", added <= goal
            goal_s = f"<= {goal:g} us"
        else:
            pct = 100 * added / cv
            shown = f"{pct:+8.2f} %"
            ok = goal is None or pct <= goal
            goal_s = f"<= {goal:g} %" if goal is not None else "(info)"
        mark = "ok" if ok else "MISSED"
        print(f"{name:38s} {cv:9.2f} {pv:9.2f} {shown:>12s}  {goal_s} {mark}")
        out["rows"].append({"measure": name, "c": cv, "python": pv, "added": added,
                            "goal": goal, "kind": kind, "ok": ok})
    text = json.dumps(out)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
