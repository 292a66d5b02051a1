"""A toy engine loop on seam from Python (torch + the ctypes binding, no C extension).

The forward, per layer (hidden = heads x 128, bf16):
    h = rms_norm(x, w_l)                       seam op, captured
    q = silu(h) * 2 viewed as [T, heads, 128]  a Python (torch) op, registered SPLIT
    rope(q, positions of the batch)            seam op, captured (positions from the context)
    r = hadamard(q)                            seam op, captured
    x = r.view(T, hidden) + x                  the Python op again (residual add)
seam cuts the program at the Python ops, captures the seam stretches for every token bucket,
and replays them; the Python ops run eagerly in between on seam's stream. The engine sets a
batch (varying modes and token counts), writes its input rows, runs the graph, and checks
the output against a pure-torch implementation of the same math.

    python3 python/examples/engine_loop.py [--layers 3] [--steps 40] [--heads 2]

Python ops must never be captured: a CUDA graph records kernels, not the Python code that
launched them, so a captured Python op would run at capture time only. The binding accepts
Python ops only as SPLIT."""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import seam  # noqa: E402

EPS = 1e-6
THETA = 10000.0
ROTARY_DIM = 64


# ---- the Python split op ------------------------------------------------------------------

_streams = {}


def torch_stream(handle):
    """torch's view of the stream seam hands a split op (cached: one per handle)."""
    s = _streams.get(handle)
    if s is None:
        s = _streams[handle] = torch.cuda.ExternalStream(handle)
    return s


def py_mix(call):
    """out = silu(a) * 2 (residual None) or out = a + residual, over the real tokens,
    rows viewed flat (so [T, hidden] <-> [T, heads, 128] is a free reshape)."""
    a, out, residual = call.args
    tokens = call.counts()["tokens"]
    if tokens == 0:
        return
    with torch.cuda.stream(torch_stream(call.stream)):
        av = a.as_torch()[:tokens].reshape(tokens, -1)
        ov = out.as_torch()[:tokens].reshape(tokens, -1)
        if residual is None:
            ov.copy_(torch.nn.functional.silu(av) * 2)
        else:
            ov.copy_(av + residual.as_torch()[:tokens].reshape(tokens, -1))


def register_ops(registry):
    registry.register_python("py_mix", py_mix,
                             [("a", "tensor"), ("out", "tensor"), ("residual", "tensor")],
                             mutates=["out"], optional=["residual"])


# ---- the program and its pure-torch reference ---------------------------------------------

def build_program(registry, x_in, weights, heads):
    """x_in: external input bf16 [max_tokens, hidden]; weights: one f32 [hidden] per layer.
    Returns (program, output tensor ref)."""
    hidden = heads * 128
    prog = seam.Program(registry)
    x0 = prog.external("x_in", x_in, token_dim=0)
    x = prog.tensor("x", "bf16", (None, hidden))
    h = prog.tensor("h", "bf16", (None, hidden), scratch=True)
    q = prog.tensor("q", "bf16", (None, heads, 128), scratch=True)
    r = prog.tensor("r", "bf16", (None, heads, 128), scratch=True)
    cur = x0
    for layer, w in enumerate(weights):
        wl = prog.external(f"w{layer}", w)
        prog.call("rms_norm", x=cur, weight=wl, out=h, eps=EPS)
        prog.call("py_mix", h, q)
        prog.call("rope", x=q, rotary_dim=ROTARY_DIM, rotary_offset=0, theta=THETA, style=0)
        prog.call("hadamard", q, r)
        prog.call("py_mix", r, x, residual=cur)
        cur = x
    return prog, x


def hadamard_matrix(n=128, device="cuda"):
    h = torch.ones(1, 1, dtype=torch.float32, device=device)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def ref_rms_norm(x, w):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS) * w).to(torch.bfloat16)


def ref_rope_neox(q, positions, rotary_dim=ROTARY_DIM, theta=THETA):
    half = rotary_dim // 2
    inv = theta ** (-torch.arange(half, dtype=torch.float64, device=q.device) * 2 / rotary_dim)
    ang = positions.double()[:, None] * inv[None, :]
    cos, sin = ang.cos().float()[:, None, :], ang.sin().float()[:, None, :]
    out = q.clone()
    a, b = q[..., :half].float(), q[..., half:rotary_dim].float()
    out[..., :half] = (a * cos - b * sin).to(torch.bfloat16)
    out[..., half:rotary_dim] = (b * cos + a * sin).to(torch.bfloat16)
    return out


def ref_hadamard(q):
    hm = hadamard_matrix(128, q.device)
    return (q.float() @ hm.T * (1 / math.sqrt(128))).to(torch.bfloat16)


def torch_forward(x, weights, positions, heads):
    """The same forward in plain torch (the reference)."""
    tokens = x.shape[0]
    for w in weights:
        h = ref_rms_norm(x, w)
        q = (torch.nn.functional.silu(h) * 2).view(tokens, heads, 128)
        q = ref_rope_neox(q, positions)
        r = ref_hadamard(q)
        x = r.view(tokens, -1) + x
    return x


# ---- the engine loop ----------------------------------------------------------------------

def random_batch(rng, max_tokens, max_batch, max_context):
    """A scheduler's batch: decode, or extend with a prefix; slots token-per-slot."""
    mode = ["decode", "extend"][int(torch.randint(0, 2, (1,), generator=rng))]
    b = int(torch.randint(1, max_batch + 1, (1,), generator=rng))
    if mode == "decode":
        extend = [1] * b
    else:
        budget = max_tokens
        extend = []
        for _ in range(b):
            n = int(torch.randint(1, max(2, budget // b), (1,), generator=rng))
            extend.append(n)
    seq = [e + int(torch.randint(0, max_context // 2, (1,), generator=rng)) for e in extend]
    seq = [min(s, max_context) for s in seq]
    stride = max(seq)
    table = [[i * max_context + p for p in range(s)] for i, s in enumerate(seq)]
    loc = []
    for i, (s, e) in enumerate(zip(seq, extend)):
        loc.extend(table[i][s - e:s])
    positions = []
    for s, e in zip(seq, extend):
        positions.extend(range(s - e, s))
    return dict(mode=mode, seq_lens=seq, extend_lens=extend if mode == "extend" else None,
                out_cache_loc=loc, page_table=table, page_table_stride=stride), positions


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    rng = torch.Generator().manual_seed(args.seed)
    hidden = args.heads * 128
    stream = torch.cuda.Stream()  # the engine's stream; seam borrows it
    max_batch, max_context = 16, 512
    with torch.cuda.stream(stream):
        x_in = torch.zeros(args.max_tokens, hidden, dtype=torch.bfloat16, device="cuda")
        weights = [torch.rand(hidden, device="cuda") + 0.5 for _ in range(args.layers)]
        ctx = seam.Context(device=torch.cuda.current_device(), max_tokens=args.max_tokens,
                           max_batch=max_batch, max_context=max_context,
                           num_layers=args.layers, stream=stream.cuda_stream)
        registry = seam.Registry()
        register_ops(registry)
        prog, out_ref = build_program(registry, x_in, weights, args.heads)
        t0 = time.perf_counter()
        graph = seam.Graph(prog, ctx)
        build_s = time.perf_counter() - t0
        prog.close()
        st = graph.stats()
        worst, replays, eager, tokens_total = 0.0, 0, 0, 0
        for _ in range(args.steps):
            batch, positions = random_batch(rng, args.max_tokens, max_batch, max_context)
            ctx.set_batch(**batch)
            tokens = len(positions)
            x_in[:tokens].copy_(torch.randn(tokens, hidden, device="cuda").to(torch.bfloat16))
            d = graph.dispatch()
            graph.run()
            got = graph.tensor(out_ref, tokens).as_torch()
            pos = torch.tensor(positions, dtype=torch.int32, device="cuda")
            want = torch_forward(x_in[:tokens], weights, pos, args.heads)
            err = (got.float() - want.float()).abs().max().item()
            scale = want.float().abs().max().item()
            worst = max(worst, err / max(scale, 1e-6))
            replays += d["replay"]
            eager += 1 - d["replay"]
            tokens_total += tokens
        stream.synchronize()
    ok = worst < 0.05
    print(f"seam engine loop: {args.layers} layers, hidden {hidden}, {st['num_pieces']} pieces + "
          f"{st['num_split_ops']} Python split ops, {st['num_buckets']} buckets, build "
          f"{build_s * 1e3:.0f} ms")
    print(f"  {args.steps} forwards ({tokens_total} tokens): {replays} replayed, {eager} eager; "
          f"max relative error vs torch {worst:.2e} -> {'OK' if ok else 'MISMATCH'}")
    graph.close()
    ctx.close()
    registry.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
