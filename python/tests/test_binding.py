"""The Python binding: loads libseam, maps failures to exceptions carrying seam's message,
validates arguments before they reach seam; on a GPU with torch, checks wrapped ops against
torch. GPU tests skip (visibly) without a GPU or torch."""

import os
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


class HostContext(seam.Context):
    def __init__(self, **kw):
        super().__init__(device=seam.HOST, max_tokens=64, max_batch=4, max_context=100, **kw)


class TestLoading(unittest.TestCase):
    def test_library_is_found_and_versioned(self):
        self.assertTrue(os.path.exists(seam.library_path) or "libseam" in seam.library_path)
        self.assertEqual(len(seam.version()), 3)

    def test_no_device_is_an_exception_with_seams_message(self):
        if HAVE_GPU:
            self.skipTest("this machine has a GPU")
        with self.assertRaises(seam.NoDeviceError) as cm:
            seam.Context(device=0)
        self.assertEqual(cm.exception.status, "SEAM_ERR_NO_DEVICE")
        self.assertIn("seam_context_create", cm.exception.message)


class TestConfig(unittest.TestCase):
    def test_bad_value_is_rejected_by_name(self):
        cfg = seam.Config()
        with self.assertRaises(seam.ConfigError) as cm:
            cfg["SEAM_TOPK_TIE_BREAK"] = "medium"
        self.assertIn("SEAM_TOPK_TIE_BREAK", str(cm.exception))
        self.assertIn("none, small or large", str(cm.exception))

    def test_code_override_is_recorded(self):
        cfg = seam.Config()
        cfg["SEAM_GRAPH_SAFE"] = 1
        self.assertEqual(cfg["SEAM_GRAPH_SAFE"], "1")
        self.assertEqual(cfg.source("SEAM_GRAPH_SAFE"), "code")
        self.assertEqual(set(cfg.as_dict()), set(seam.VARIABLES))


class TestContext(unittest.TestCase):
    def test_batch_metadata_round_trip(self):
        with HostContext() as ctx:
            ctx.set_batch("extend", [5, 3], out_cache_loc=range(6), extend_lens=[4, 2],
                          page_table=[[0, 1, 2, 3, 4], [7, 8, 9]])
            c = ctx.counts()
            self.assertEqual((c["tokens"], c["batch_size"], c["page_table_stride"]), (6, 2, 5))
            v = ctx.host_view()
            self.assertEqual([v.topk_lengths[i] for i in range(6)], [2, 3, 4, 5, 2, 3])

    def test_bad_batch_names_the_field_and_keeps_the_old_one(self):
        with HostContext() as ctx:
            ctx.set_batch("decode", [5, 3], out_cache_loc=[0, 1], page_table=[[0] * 5, [1] * 3])
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                ctx.set_batch("decode", [5, 3], out_cache_loc=[0, -2],
                              page_table=[[0] * 5, [1] * 3])
            self.assertIn("out_cache_loc[1]=-2 is negative", str(cm.exception))
            self.assertEqual(ctx.counts()["tokens"], 2)

    def test_binding_rejects_bad_mode_and_closed_context(self):
        ctx = HostContext()
        with self.assertRaises(seam.InvalidArgumentError):
            ctx.set_batch("prefill", [1], out_cache_loc=[0], page_table=[[0]])
        ctx.close()
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            ctx.counts()
        self.assertIn("closed", str(cm.exception))

    def test_host_context_has_no_stream(self):
        with HostContext() as ctx:
            with self.assertRaises(seam.NoDeviceError):
                ctx.stream


class TestArrays(unittest.TestCase):
    def test_non_arrays_are_rejected_with_the_argument_name(self):
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            seam.topk([[1.0, 2.0]], [2], k=1)
        self.assertIn("scores", str(cm.exception))

    def test_bad_enum_arguments(self):
        with self.assertRaises(seam.InvalidArgumentError):
            seam.topk(None, None, backend="heap")
        with self.assertRaises(seam.InvalidArgumentError):
            seam.topk(None, None, tie_break="medium")


@gpu_test
class TestTopkAgainstTorch(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(int.from_bytes(os.urandom(4), "little"))

    def test_selected_values_match_torch_topk(self):
        for rows, cols, k in ((4, 70000, 2048), (33, 5000, 512), (8, 1500, 1024)):
            x = torch.randn(rows, cols, device="cuda")
            lengths = torch.full((rows,), cols, dtype=torch.int32, device="cuda")
            for backend in ("radix", "sort"):
                out = seam.topk(x, lengths, k=k, backend=backend)
                torch.cuda.synchronize()
                got = torch.gather(x, 1, out.long().clamp(min=0)).sort(dim=1).values
                want = torch.topk(x, min(k, cols), dim=1).values.sort(dim=1).values
                self.assertTrue(torch.equal(got, want), f"{backend} {rows}x{cols} k={k}")

    def test_fused_transforms_equal_torch_gather(self):
        rows, cols, k = 6, 9000, 2048
        x = torch.randn(rows, cols, device="cuda")
        lengths = torch.randint(0, cols, (rows,), dtype=torch.int32, device="cuda")
        plain = seam.topk(x, lengths, k=k, deterministic=True)
        table = torch.randperm(3 * cols, device="cuda", dtype=torch.int32)[: 3 * cols].view(3, cols)
        row_to_req = torch.tensor([0, 1, 2, 2, 1, 0], dtype=torch.int32, device="cuda")
        paged = seam.topk(x, lengths, k=k, deterministic=True, transform="paged",
                          page_table=table, row_to_req=row_to_req)
        want = torch.where(plain >= 0, table[row_to_req.long()].gather(1, plain.long().clamp(min=0)),
                           torch.full_like(plain, -1))
        self.assertTrue(torch.equal(paged, want))
        offsets = torch.randint(0, 1 << 20, (rows,), dtype=torch.int32, device="cuda")
        ragged = seam.topk(x, lengths, k=k, deterministic=True, transform="ragged", offsets=offsets)
        want = torch.where(plain >= 0, plain + offsets[:, None], plain)
        self.assertTrue(torch.equal(ragged, want))

    def test_wrong_dtype_and_device_mismatch_are_rejected(self):
        x = torch.randn(2, 100, device="cuda", dtype=torch.float16)
        lengths = torch.full((2,), 100, dtype=torch.int32, device="cuda")
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            seam.topk(x, lengths, k=10)
        self.assertIn("scores: dtype f16, expected f32", str(cm.exception))
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            seam.topk(x.float(), lengths.cpu(), k=10)
        self.assertIn("lengths", str(cm.exception))
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            seam.topk(x.float()[:, ::2], lengths, k=10)
        self.assertIn("not contiguous", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
