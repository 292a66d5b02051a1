"""Every wrapped op against torch on the GPU: layer kernels (hadamard, norms, rope, sparse
attention), the indexer (k-cache store, ragged / paged / NextN logits vs a torch einsum over
dequantized fp8, positions -> slots, index top-k through the registry), top-k tie rules, the
digest against its documented hash, and piecewise graphs driven from Python: replay equals
eager, and 1000 replays do not grow memory. Skips (visibly) without a GPU and torch."""

import math
import os
import sys
import unittest

import seam

try:
    import torch
    HAVE_TORCH_GPU = torch.cuda.is_available()
except ImportError:
    HAVE_TORCH_GPU = False

try:
    HAVE_GPU = seam.device_count() > 0
except seam.NoDeviceError:
    HAVE_GPU = False

gpu_test = unittest.skipUnless(HAVE_GPU and HAVE_TORCH_GPU, "needs a GPU and torch with CUDA")

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def seed(test):
    s = int.from_bytes(os.urandom(4), "little")
    print(f"\n{test.id()}: TEST_SEED={s}", file=sys.stderr)
    torch.manual_seed(s)


def assert_close(test, got, want, atol, rtol, what):
    """First mismatch with its index, expected and got values."""
    g, w = got.float(), want.float()
    bad = (g - w).abs() > atol + rtol * w.abs()
    if bad.any():
        i = tuple(x.item() for x in bad.nonzero()[0])
        test.fail(f"{what}: {bad.sum().item()} mismatches, first at {i}: expected {w[i].item()}, "
                  f"got {g[i].item()}")


def fp8(x):
    return x.clamp(-448, 448).to(torch.float8_e4m3fn)


@gpu_test
class TestRuntimeOnGpu(unittest.TestCase):
    def test_device_info_matches_torch(self):
        info = seam.device_info(torch.cuda.current_device())
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        self.assertEqual(info["name"], props.name)
        self.assertEqual(info["cc"], (props.major, props.minor))
        self.assertEqual(info["multiprocessors"], props.multi_processor_count)
        self.assertEqual(info["total_memory"], props.total_memory)

    def test_context_borrows_the_engines_stream(self):
        stream = torch.cuda.Stream()
        with seam.Context(device=torch.cuda.current_device(), max_tokens=16, max_batch=4,
                          max_context=64, stream=stream.cuda_stream) as ctx:
            self.assertEqual(ctx.stream, stream.cuda_stream)
            ctx.set_batch("decode", [3], out_cache_loc=[2], page_table=[[0, 1, 2]])
            ctx.synchronize()
            self.assertEqual(ctx.counts()["tokens"], 1)


@gpu_test
class TestLayers(unittest.TestCase):
    def setUp(self):
        seed(self)

    def test_hadamard_matches_torch_matmul(self):
        sys.path.insert(0, EXAMPLES)
        from engine_loop import ref_hadamard
        for tokens, heads in ((1, 1), (37, 64), (5, 3)):
            x = torch.randn(tokens, heads, 128, device="cuda").to(torch.bfloat16)
            assert_close(self, seam.hadamard(x), ref_hadamard(x), 2e-2, 2e-2, f"{tokens}x{heads}")
        # a strided slice of a fused projection, in place
        big = torch.randn(9, 3 * 128, device="cuda").to(torch.bfloat16)
        view = big[:, 128:].unflatten(1, (2, 128))
        want = ref_hadamard(view.contiguous())
        first = big[:, :128].clone()
        seam.hadamard(view, out=view)
        assert_close(self, view, want, 2e-2, 2e-2, "strided in place")
        self.assertTrue(torch.equal(big[:, :128], first), "the gap columns were touched")

    def test_rms_norm_with_and_without_residual(self):
        for hidden in (7, 512, 7168):
            x = torch.randn(33, hidden, device="cuda").to(torch.bfloat16)
            w = torch.rand(hidden, device="cuda") + 0.5
            want = (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6) * w)
            assert_close(self, seam.rms_norm(x, w), want, 2e-2, 2e-2, f"rms hidden={hidden}")
            res = torch.randn_like(x)
            summed = (x + res)
            out = seam.rms_norm(x, w.to(torch.bfloat16), residual=res)
            self.assertTrue(torch.equal(res, summed), "residual was not updated to x + residual")
            want = summed.float() * torch.rsqrt(summed.float().pow(2).mean(-1, keepdim=True)
                                                + 1e-6) * w.to(torch.bfloat16).float()
            assert_close(self, out, want, 2e-2, 2e-2, f"fused residual hidden={hidden}")

    def test_layer_norm_matches_torch(self):
        x = torch.randn(20, 1000, device="cuda").to(torch.bfloat16)
        w, b = torch.randn(1000, device="cuda"), torch.randn(1000, device="cuda")
        want = torch.nn.functional.layer_norm(x.float(), (1000,), w, b, eps=1e-5)
        assert_close(self, seam.layer_norm(x, w, b, eps=1e-5), want, 3e-2, 2e-2, "layer_norm")

    def test_rope_neox_and_interleaved_match_torch(self):
        sys.path.insert(0, EXAMPLES)
        from engine_loop import ref_rope_neox
        q = torch.randn(19, 4, 128, device="cuda").to(torch.bfloat16)
        pos = torch.randint(0, 163840, (19,), dtype=torch.int32, device="cuda")
        got = seam.rope(q.clone(), pos, rotary_dim=64)
        assert_close(self, got, ref_rope_neox(q, pos), 2e-2, 2e-2, "neox")
        # interleaved pairs on MLA's rope part (dims 512..575 of 576)
        k = torch.randn(6, 1, 576, device="cuda").to(torch.bfloat16)
        pos = torch.arange(6, dtype=torch.int32, device="cuda") * 1000
        got = seam.rope(k.clone(), pos, rotary_dim=64, rotary_offset=512, style="interleaved")
        inv = 10000.0 ** (-torch.arange(32, dtype=torch.float64, device="cuda") * 2 / 64)
        ang = pos.double()[:, None] * inv
        cos, sin = ang.cos().float()[:, None], ang.sin().float()[:, None]
        a, b = k[..., 512::2].float(), k[..., 513::2].float()
        want = k.clone()
        want[..., 512::2] = (a * cos - b * sin).to(torch.bfloat16)
        want[..., 513::2] = (b * cos + a * sin).to(torch.bfloat16)
        assert_close(self, got, want, 2e-2, 2e-2, "interleaved")
        self.assertTrue(torch.equal(got[..., :512], k[..., :512]), "non-rotary dims changed")

    def test_sparse_attention_matches_torch_gather_softmax(self):
        tokens, heads, topk, slots = 5, 16, 64, 300
        q = (torch.randn(tokens, heads, 576, device="cuda") * 0.1).to(torch.bfloat16)
        kv = (torch.randn(slots, 576, device="cuda") * 0.1).to(torch.bfloat16)
        idx = torch.randint(0, slots, (tokens, topk), dtype=torch.int32, device="cuda")
        idx[1, 10:] = -1
        idx[3, :] = -1
        scale = 1 / math.sqrt(192)
        for kernel in ("simple", "mma", "auto"):
            out = seam.sparse_attention(q, kv, idx, scale, kernel=kernel)
            k = kv.float()[idx.long().clamp(min=0)]  # [tokens, topk, 576]
            s = torch.einsum("thd,tjd->thj", q.float(), k) * scale
            s = s.masked_fill((idx < 0)[:, None, :], float("-inf"))
            p = torch.softmax(s, -1).nan_to_num(0.0)
            want = torch.einsum("thj,tjd->thd", p, k[..., :512])
            assert_close(self, out, want, 2e-2, 3e-2, f"sparse attention ({kernel})")
            self.assertTrue(torch.all(out[3] == 0), "fully masked token is not zero")


def dequant(cache, scales):
    return cache.float() * scales.float().reshape(-1, 1)


def ref_logits(q, w, k):
    """logit(t, s) = sum_h w[t,h] * relu(q[t,h,:] . k[s,:]) over dequantized fp8 (k scaled)."""
    return torch.einsum("ths,th->ts", torch.einsum("thd,sd->ths", q.float(), k).relu(), w)


def logits_tolerance(q, w, k):
    """1e-3 of the computation's size, sum_h |w| sum_d |q k|: a float sum's error scales with
    its terms, not its result, and Hopper's fp8 MMAs (wgmma most) add with ~2^-13 relative
    precision. The same bound as tests/test_indexer.c; a wrong head, key or scale is ~1000x."""
    return 1e-3 * ref_logits(q.float().abs(), w.abs(), k.abs())


@gpu_test
class TestIndexer(unittest.TestCase):
    def setUp(self):
        seed(self)

    def test_k_store_quantizes_per_token(self):
        tokens, slots = 21, 100
        key = torch.randn(tokens, 128, device="cuda").to(torch.bfloat16)
        key[4] = 0
        loc = torch.randperm(slots, device="cuda")[:tokens].int()
        loc[7] = -1
        cache = torch.zeros(slots, 128, dtype=torch.float8_e4m3fn, device="cuda")
        scales = torch.zeros(slots, device="cuda")
        seam.indexer.k_store(key, loc, cache, scales)
        amax = key.float().abs().amax(-1)
        want_scale = torch.where(amax > 0, amax / 448, torch.ones_like(amax))
        keep = loc >= 0
        got_scale = scales[loc[keep].long()]
        assert_close(self, got_scale, want_scale[keep], 0, 1e-6, "scales")
        got = dequant(cache[loc[keep].long()], got_scale)
        assert_close(self, got, key.float()[keep], 1e-5, 0.0625, "dequantized keys")
        untouched = torch.ones(slots, dtype=torch.bool, device="cuda")
        untouched[loc[keep].long()] = False
        self.assertTrue(torch.all(scales[untouched] == 0), "a slot not in out_cache_loc written")

    def test_ragged_logits_match_torch_einsum(self):
        # auto at 64 heads is the wgmma kernel on sm_90 devices
        for heads, algo in ((64, "mma"), (64, "auto"), (64, "simt"), (12, "auto")):
            rows, keys = 37, 300
            q = fp8(torch.randn(rows, heads, 128, device="cuda") * 4)
            w = torch.randn(rows, heads, device="cuda")
            k = fp8(torch.randn(keys, 128, device="cuda") * 4)
            ks = torch.rand(keys, device="cuda") + 0.1
            starts = torch.randint(0, keys // 2, (rows,), dtype=torch.int32, device="cuda")
            lengths = torch.randint(0, keys // 2, (rows,), dtype=torch.int32, device="cuda")
            logits = seam.indexer.logits_ragged(q, w, k, ks, starts, lengths, stride=keys,
                                                algo=algo)
            want = ref_logits(q, w, dequant(k, ks))
            tol = logits_tolerance(q, w, dequant(k, ks))
            cols = torch.arange(keys, device="cuda")[None, :]
            valid = (cols >= starts[:, None]) & (cols < (starts + lengths)[:, None])
            assert_close(self, logits[valid], want[valid], tol[valid], 0,
                         f"ragged heads={heads} {algo}")
            self.assertTrue(torch.all(logits[~valid] == float("-inf")), "wrote outside ranges")

    def paged_setup(self, batch, next_n, heads, page_size, max_ctx):
        pages_per_req = (max_ctx + page_size - 1) // page_size
        num_pages = batch * pages_per_req + 3
        cache = fp8(torch.randn(num_pages, page_size, 128, device="cuda") * 4)
        ks = torch.rand(num_pages, page_size, device="cuda") + 0.1
        table = torch.randperm(num_pages, device="cuda")[:batch * pages_per_req].int()
        table = table.view(batch, pages_per_req)
        q = fp8(torch.randn(batch * next_n, heads, 128, device="cuda") * 4)
        w = torch.randn(batch * next_n, heads, device="cuda")
        return cache, ks, table, q, w

    def paged_reference(self, cache, ks, table, q, w, ctx_lens, page_size, max_ctx):
        """Row r of request b sees positions [0, ctx_lens[r]) through b's table row."""
        pos = torch.arange(max_ctx, device="cuda")
        rows = q.shape[0]
        per_req = rows // table.shape[0]
        slot = table.long()[:, pos // page_size] * page_size + pos % page_size  # [B, max_ctx]
        k = dequant(cache.view(-1, 128), ks.view(-1))
        want = torch.empty(rows, max_ctx, device="cuda")
        tol = torch.empty(rows, max_ctx, device="cuda")
        for r in range(rows):
            want[r] = ref_logits(q[r:r + 1], w[r:r + 1], k[slot[r // per_req]])[0]
            tol[r] = logits_tolerance(q[r:r + 1], w[r:r + 1], k[slot[r // per_req]])[0]
        valid = pos[None, :] < ctx_lens.view(-1)[:, None]
        return want, tol, valid

    def test_paged_decode_and_nextn_logits_match_torch(self):
        for page_size, next_n in ((64, 1), (1, 1), (64, 2)):
            batch, heads, max_ctx = 3, 64, 200
            cache, ks, table, q, w = self.paged_setup(batch, next_n, heads, page_size, max_ctx)
            seq = torch.randint(next_n, max_ctx + 1, (batch,), device="cuda")
            ctx_lens = (seq[:, None] - next_n + torch.arange(1, next_n + 1, device="cuda")).int()
            want, tol, valid = self.paged_reference(cache, ks, table, q, w, ctx_lens,
                                                    page_size, max_ctx)
            scale = want.abs().max().item()
            got = seam.indexer.logits_paged(q, w, cache, ks, table, ctx_lens.contiguous(),
                                            stride=max_ctx, next_n=next_n)
            assert_close(self, got[valid], want[valid], tol[valid], 0,
                         f"paged page_size={page_size} next_n={next_n}")
            if next_n > 1:  # expanded layout: one row per query, table rows by row_to_req
                rtr = torch.arange(batch, device="cuda").repeat_interleave(next_n).int()
                got2 = seam.indexer.logits_paged(q, w, cache, ks, table, ctx_lens.view(-1),
                                                 stride=max_ctx, next_n=1, row_to_req=rtr)
                assert_close(self, got2[valid], got[valid], 1e-5 * scale, 1e-5,
                             "expanded == native")

    def test_request_grouped_rows_match_per_row(self):
        batch, heads, page_size, max_ctx = 3, 64, 64, 300
        extend = [5, 1, 9]
        rows = sum(extend)
        cache, ks, table, _, _ = self.paged_setup(batch, 1, heads, page_size, max_ctx)
        q = fp8(torch.randn(rows, heads, 128, device="cuda") * 4)
        w = torch.randn(rows, heads, device="cuda")
        seq = [100, 37, 300]
        lens = torch.tensor([s - e + j + 1 for s, e in zip(seq, extend) for j in range(e)],
                            dtype=torch.int32, device="cuda")
        rtr = torch.tensor([b for b, e in enumerate(extend) for _ in range(e)],
                           dtype=torch.int32, device="cuda")
        cu = torch.tensor([0, 5, 6, 15], dtype=torch.int32, device="cuda")
        nreq = torch.tensor([batch], dtype=torch.int32, device="cuda")
        per_row = seam.indexer.logits_paged(q, w, cache, ks, table, lens, stride=max_ctx,
                                            row_to_req=rtr)
        grouped = seam.indexer.logits_paged(q, w, cache, ks, table, lens, stride=max_ctx,
                                            cu_seqlens_q=cu, num_requests=nreq, max_requests=batch)
        valid = torch.arange(max_ctx, device="cuda")[None, :] < lens[:, None]
        assert_close(self, grouped[valid], per_row[valid], 1e-5, 1e-5, "grouped vs per row")

    def test_positions_to_slots_matches_torch_gather(self):
        rows, k, page_size = 6, 50, 64
        table = torch.randperm(40, device="cuda").int().view(4, 10)
        rtr = torch.tensor([0, 3, 1, 1, 2, 0], dtype=torch.int32, device="cuda")
        pos = torch.randint(-1, 10 * page_size, (rows, k), dtype=torch.int32, device="cuda")
        pos[2, :7] = -1
        want = torch.where(pos >= 0, table[rtr.long()].gather(1, (pos.clamp(min=0) // page_size)
                                                              .long()) * page_size
                           + pos.clamp(min=0) % page_size, pos)
        got = seam.indexer.positions_to_slots(pos.clone(), table, page_size, row_to_req=rtr)
        self.assertTrue(torch.equal(got, want))

    def test_index_topk_op_selects_torch_topk_values_as_slots(self):
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            max_ctx = 4096
            ctx = seam.Context(device=torch.cuda.current_device(), max_tokens=64, max_batch=8,
                               max_context=max_ctx, num_layers=1, stream=stream.cuda_stream)
            self.addCleanup(ctx.close)
            reg = seam.Registry()
            self.addCleanup(reg.close)
            seq = [3000, 17, 2049, 4096]
            table = [[b * max_ctx + p for p in range(s)] for b, s in enumerate(seq)]
            ctx.set_batch("decode", seq, out_cache_loc=[t[-1] for t in table], page_table=table)
            logits = torch.randn(len(seq), max_ctx, device="cuda")
            out = torch.empty(len(seq), 2048, dtype=torch.int32, device="cuda")
            seam.indexer.index_topk(reg, ctx, logits, out, "paged", "slots")
            stream.synchronize()
        for b, s in enumerate(seq):
            sel = out[b][out[b] >= 0].long()
            self.assertEqual(sel.numel(), min(s, 2048))
            positions = sel - b * max_ctx
            self.assertTrue(bool(((positions >= 0) & (positions < s)).all()), f"row {b}")
            got = logits[b, positions].sort().values
            want = torch.topk(logits[b, :s], min(s, 2048)).values.sort().values
            self.assertTrue(torch.equal(got, want), f"row {b}: selected values differ")


@gpu_test
class TestTopkModes(unittest.TestCase):
    def setUp(self):
        seed(self)

    def test_prepared_launch_repeats_the_call_on_new_values(self):
        x = torch.randn(3, 4000, device="cuda")
        lengths = torch.full((3,), 4000, dtype=torch.int32, device="cuda")
        out = torch.empty(3, 100, dtype=torch.int32, device="cuda")
        step = seam.topk(x, lengths, k=100, out=out, deterministic=True, prepare=True)
        for _ in range(3):
            x.copy_(torch.randn_like(x))
            self.assertIs(step(), out)
            want = torch.topk(x, 100).indices.sort(1).values.int()
            self.assertTrue(torch.equal(out, want))
        h = torch.randn(5, 300, device="cuda").to(torch.bfloat16)
        w = torch.rand(300, device="cuda")
        y = torch.empty_like(h)
        norm = seam.rms_norm(h, w, out=y, prepare=True)
        h.copy_(torch.randn_like(h))
        norm()
        self.assertTrue(torch.equal(y, seam.rms_norm(h, w)))

    def test_tie_breaks_pick_smallest_or_largest_indices_in_order(self):
        rows, cols, k = 5, 3000, 700
        x = torch.randint(0, 20, (rows, cols), device="cuda").float()  # many ties
        lengths = torch.full((rows,), cols, dtype=torch.int32, device="cuda")
        small = seam.topk(x, lengths, k=k, tie_break="small")
        large = seam.topk(x, lengths, k=k, tie_break="large")
        # stable descending sort keeps equal values in ascending index order
        want_small = torch.sort(x, dim=1, descending=True, stable=True).indices[:, :k]
        flipped = torch.sort(x.flip(1), dim=1, descending=True, stable=True).indices[:, :k]
        want_large = (cols - 1 - flipped)
        self.assertTrue(torch.equal(small.long(), want_small.sort(1).values), "small")
        self.assertTrue(torch.equal(large.long(), want_large.sort(1).values), "large")

    def test_row_starts_and_short_rows(self):
        rows, stride, k = 4, 5000, 256
        x = torch.randn(rows, stride, device="cuda")
        starts = torch.tensor([0, 100, 4000, 7], dtype=torch.int32, device="cuda")
        lengths = torch.tensor([5000, 300, 1000, 100], dtype=torch.int32, device="cuda")
        out = seam.topk(x, lengths, k=k, row_starts=starts, deterministic=True)
        for r in range(rows):
            s, n = starts[r].item(), lengths[r].item()
            want = torch.topk(x[r, s:s + n], min(n, k)).indices.sort().values
            got = out[r][out[r] >= 0].long()
            self.assertTrue(torch.equal(got, want), f"row {r}")
            self.assertEqual(int((out[r] < 0).sum()), k - min(n, k))


MASK = (1 << 64) - 1
GOLDEN = 0x9e3779b97f4a7c15


def mix(x):
    x ^= x >> 30
    x = x * 0xbf58476d1ce4e5b9 & MASK
    x ^= x >> 27
    x = x * 0x94d049bb133111eb & MASK
    return x ^ (x >> 31)


def digest_reference(topk, rows):
    """The hash described in include/seam/comm.h."""
    total = 0
    row_hashes = []
    for i in range(rows):
        s = 0
        for j, v in enumerate(topk[i]):
            s = (s + mix((v & 0xffffffff) | (j << 32))) & MASK
        rh = mix((s + len(topk[i]) * GOLDEN) & MASK)
        row_hashes.append(rh)
        total = (total + mix(rh ^ (i * GOLDEN & MASK))) & MASK
    return mix(total ^ rows), row_hashes


@gpu_test
class TestCommAndDigest(unittest.TestCase):
    def setUp(self):
        seed(self)

    def test_digest_matches_the_documented_hash(self):
        rows, k = 7, 16
        topk = torch.randint(-1, 1000, (rows, k), dtype=torch.int32, device="cuda")
        real = torch.tensor([5], dtype=torch.int32, device="cuda")
        with seam.Digest(2, 8, device=torch.cuda.current_device()) as d:
            self.assertEqual(d.shape(), (2, 8))
            d.add(1, topk, real_rows=real)
            torch.cuda.synchronize()
            layer_hash, n, row_hashes = d.read(1, rows=True)
            want, want_rows = digest_reference(topk.tolist(), 5)
            self.assertEqual(n, 5)
            self.assertEqual(layer_hash, want)
            self.assertEqual(row_hashes[:5], want_rows)
            d.reset()
            self.assertEqual(d.read(1), (0, 0))

    def test_world_of_one_broadcast_is_a_no_op_and_digests_agree(self):
        with seam.Comm(nranks=1, device=torch.cuda.current_device()) as comm, \
                seam.Digest(1, 4, device=torch.cuda.current_device()) as d:
            buf = torch.arange(12, dtype=torch.int32, device="cuda").view(3, 4)
            comm.broadcast(buf)
            comm.wait()
            self.assertTrue(torch.equal(buf.view(-1), torch.arange(12, device="cuda").int()))
            self.assertIsNone(comm.check_digest(d))


@gpu_test
class TestGraphFromPython(unittest.TestCase):
    """The example's forward (seam layer ops + Python split ops) as a graph."""

    def setUp(self):
        seed(self)
        sys.path.insert(0, EXAMPLES)
        import engine_loop
        self.el = engine_loop
        self.stream = torch.cuda.Stream()
        self.heads, self.max_tokens = 2, 128
        with torch.cuda.stream(self.stream):
            self.x_in = torch.zeros(self.max_tokens, self.heads * 128, dtype=torch.bfloat16,
                                    device="cuda")
            self.weights = [torch.rand(self.heads * 128, device="cuda") + 0.5 for _ in range(2)]
            self.ctx = seam.Context(device=torch.cuda.current_device(),
                                    max_tokens=self.max_tokens, max_batch=16, max_context=512,
                                    num_layers=2, stream=self.stream.cuda_stream)
        self.addCleanup(self.ctx.close)
        self.reg = seam.Registry()
        self.addCleanup(self.reg.close)
        engine_loop.register_ops(self.reg)

    def graph(self, capture):
        prog, out = self.el.build_program(self.reg, self.x_in, self.weights, self.heads)
        with torch.cuda.stream(self.stream):
            g = seam.Graph(prog, self.ctx, capture=capture)
        prog.close()
        self.addCleanup(g.close)
        return g, out

    def test_replay_equals_eager_and_torch(self):
        replayed, out_a = self.graph(capture=True)
        eager, out_b = self.graph(capture=False)
        s = replayed.stats()
        self.assertEqual((s["captured"], s["num_split_ops"]), (1, 4))
        self.assertEqual(s["num_eager_pieces"], 0, replayed.plan())
        rng = torch.Generator().manual_seed(torch.initial_seed() % (1 << 31))
        modes = set()
        with torch.cuda.stream(self.stream):
            for step in range(12):
                batch, positions = self.el.random_batch(rng, self.max_tokens, 16, 512)
                self.ctx.set_batch(**batch)
                tokens = len(positions)
                self.x_in[:tokens].copy_(torch.randn(tokens, self.heads * 128, device="cuda"))
                d = replayed.dispatch()
                modes.add(d["replay"])
                replayed.run()
                eager.run()
                a = replayed.tensor(out_a, tokens).as_torch()
                b = eager.tensor(out_b, tokens).as_torch()
                self.assertTrue(torch.equal(a, b), f"step {step}: replay != eager ({d})")
                pos = torch.tensor(positions, dtype=torch.int32, device="cuda")
                want = self.el.torch_forward(self.x_in[:tokens], self.weights, pos, self.heads)
                assert_close(self, a, want, 5e-2 * want.abs().max().item(), 5e-2,
                             f"step {step} vs torch")
        self.assertIn(1, modes, "no batch was replayed")

    def test_python_op_exception_surfaces_from_run(self):
        def boom(call):
            raise KeyError("engine op failed")
        self.reg.register_python("py_boom", boom, [("x", "tensor")], mutates=["x"])
        prog = seam.Program(self.reg)
        x = prog.tensor("x", "bf16", (None, 128))
        prog.call("hadamard", x, x)
        prog.call("py_boom", x)
        with torch.cuda.stream(self.stream):
            with self.assertRaises(KeyError):  # the warm-up runs it
                seam.Graph(prog, self.ctx)
            g = seam.Graph(prog, self.ctx, warmup=False)
            self.addCleanup(g.close)
            self.ctx.set_batch("decode", [3], out_cache_loc=[0], page_table=[[0, 1, 2]])
            with self.assertRaises(KeyError) as cm:
                g.run()
            self.assertIsInstance(cm.exception.__cause__, seam.SeamError)
        prog.close()

    def test_no_memory_growth_over_1000_replays(self):
        g, out = self.graph(capture=True)
        rng = torch.Generator().manual_seed(7)
        batches = [self.el.random_batch(rng, self.max_tokens, 16, 512)[0] for _ in range(8)]
        with torch.cuda.stream(self.stream):
            for b in batches:  # every bucket this test uses is touched once first
                self.ctx.set_batch(**b)
                g.run()
            self.stream.synchronize()
            alloc0, reserved0 = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
            free0 = torch.cuda.mem_get_info()[0]
            for i in range(1000):
                self.ctx.set_batch(**batches[i % len(batches)])
                g.run()
            self.stream.synchronize()
        alloc1, reserved1 = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
        free1 = torch.cuda.mem_get_info()[0]
        # device memory taken outside torch's caching allocator (seam, the driver)
        other = (free0 - free1) - (reserved1 - reserved0)
        print(f"\n1000 replays: torch allocated {alloc0} -> {alloc1}, reserved {reserved0} -> "
              f"{reserved1}, device free {free0} -> {free1} (outside torch: {other} bytes)",
              file=sys.stderr)
        self.assertEqual(alloc1, alloc0)
        self.assertLessEqual(other, 2 << 20, "device memory outside torch grew by over 2 MiB")


if __name__ == "__main__":
    unittest.main()
