"""The binding's whole API without a GPU: every ctypes mirror has the size the library
expects (read from seam's own struct_size messages) and the field layout of the by-value
constructors; the registry, Python split ops, programs and plans on a host context; the
communicator of one rank; argument validation of every op wrapper."""

import ctypes as C
import re
import unittest
from pathlib import Path

import seam
from seam import _abi, values
from seam._lib import lib

try:
    HAVE_GPU = seam.device_count() > 0
except seam.NoDeviceError:
    HAVE_GPU = False


def host_context(**kw):
    return seam.Context(device=seam.HOST, max_tokens=64, max_batch=4, max_context=100, **kw)


def reported_size(call, cls):
    """Call a seam function with a struct whose struct_size is wrong (1) and read the size
    seam expects from its message. The buffer is larger than the mirror, so a mirror that
    is too small cannot make seam read past it."""
    buf = C.create_string_buffer(C.sizeof(cls) + 256)
    C.cast(buf, C.POINTER(C.c_size_t))[0] = 1
    status = call(C.cast(buf, C.POINTER(cls)))
    message = lib.seam_last_error().decode()
    m = re.search(r"struct_size=1, expected (\d+)", message)
    if status == 0 or m is None:
        raise AssertionError(f"no struct_size complaint (status {status}): {message}")
    return int(m.group(1))


class TestStructMirrors(unittest.TestCase):
    def sized_calls(self):
        """C type name -> a call of a seam function that checks that struct's size first."""
        ctx = host_context()
        self.addCleanup(ctx.close)
        reg = seam.Registry()
        self.addCleanup(reg.close)
        prog = seam.Program(reg)
        self.addCleanup(prog.close)
        x = prog.tensor("x", "bf16", (None, 1, 128))
        prog.call("hadamard", x, x)
        graph = seam.Graph(prog, ctx)
        self.addCleanup(graph.close)
        params = _abi.sized(_abi.ContextParams, device=seam.HOST, max_tokens=8, max_batch=2,
                            max_context=16, num_layers=1, page_size=1, max_next_n=1)
        out = C.c_void_p()
        return {
            "seam_config": lambda p: lib.seam_config_validate(p),
            "seam_context_params": lambda p: lib.seam_context_create(C.byref(out), p),
            "seam_batch": lambda p: lib.seam_batch_check(C.byref(params), p),
            "seam_topk_params": lambda p: lib.seam_topk(p, None),
            "seam_graph_options": lambda p: lib.seam_graph_build(C.byref(out), prog.handle,
                                                                 ctx.handle, p),
            "seam_graph_stats": lambda p: lib.seam_graph_get_stats(graph.handle, p),
            "seam_indexer_k_store_params": lambda p: lib.seam_indexer_k_store(p, None),
            "seam_indexer_logits_ragged_params": lambda p: lib.seam_indexer_logits_ragged(p, None),
            "seam_indexer_logits_paged_params": lambda p: lib.seam_indexer_logits_paged(p, None),
            "seam_indexer_slots_params": lambda p: lib.seam_indexer_positions_to_slots(p, None),
            "seam_indexer_topk_params": lambda p: lib.seam_indexer_topk(p, None),
            "seam_hadamard_params": lambda p: lib.seam_hadamard(p, None),
            "seam_norm_params": lambda p: lib.seam_norm(p, None),
            "seam_rope_params": lambda p: lib.seam_rope(p, None),
            "seam_sparse_attention_params": lambda p: lib.seam_sparse_attention(p, None),
            "seam_comm_config": lambda p: lib.seam_comm_init_rank_config(C.byref(out), 1, None,
                                                                         0, 0, p),
        }

    def test_every_sized_mirror_matches_the_size_seam_expects(self):
        calls = self.sized_calls()
        self.assertEqual(set(calls), set(_abi.SIZED), "a sized struct has no size check here")
        for name, cls in _abi.SIZED.items():
            with self.subTest(struct=name):
                self.assertEqual(C.sizeof(cls), reported_size(calls[name], cls), name)

    def test_tensor_and_arg_layouts_match_the_constructors(self):
        t = values.tensor_contiguous(0x1000, 2, [5, 3, 7], 0)
        self.assertEqual((t.data, t.dtype, t.ndim, t.token_dim), (0x1000, 2, 3, 0))
        self.assertEqual(list(t.shape)[:3], [5, 3, 7])
        self.assertEqual(list(t.strides)[:3], [21, 7, 1])
        self.assertTrue(values.tensor_is_contiguous(t))
        self.assertEqual(values.tensor_bytes(t), 5 * 3 * 7 * 2)
        a = values.arg_tensor(t)
        self.assertEqual((a.kind, a.u.tensor.data, a.u.tensor.shape[2]), (1, 0x1000, 7))
        self.assertEqual((values.arg_int(-7).kind, values.arg_int(-7).u.i), (2, -7))
        self.assertEqual(values.arg_float(2.5).u.f, 2.5)
        self.assertEqual(values.arg_ptr(0xdead).u.ptr, 0xdead)
        self.assertEqual(values.arg_none().kind, 0)
        self.assertEqual(C.sizeof(_abi.Arg), 8 + C.sizeof(_abi.Tensor) + 
                         (-C.sizeof(_abi.Tensor)) % 8)

    def test_program_arg_layout_matches_the_constructors(self):
        self.assertEqual((values.program_arg_tensor(3).kind, values.program_arg_tensor(3).tensor),
                         (1, 3))
        self.assertEqual(values.program_arg_int(1 << 40).i, 1 << 40)
        self.assertEqual(values.program_arg_float(-0.25).f, -0.25)
        self.assertEqual(values.program_arg_ptr(0xbeef).ptr, 0xbeef)
        self.assertEqual(values.program_arg_none().kind, 0)

    def test_config_fields_sit_where_seam_reads_them(self):
        cfg = seam.Config()
        cfg.raw.nccl_timeout_ms = 1234
        cfg.raw.topk_tie_break = 2
        cfg.raw.num_capture_sizes = 3
        cfg.raw.capture_sizes[0:3] = [4, 8, 24]
        cfg.raw.log_level = 3
        self.assertEqual(cfg["SEAM_NCCL_TIMEOUT_MS"], "1234")
        self.assertEqual(cfg["SEAM_TOPK_TIE_BREAK"], "large")
        self.assertEqual(cfg["SEAM_CAPTURE_SIZES"], "4,8,24")
        self.assertEqual(cfg["SEAM_LOG"], "debug")
        self.assertTrue(cfg.topk_deterministic)
        self.assertEqual(cfg.capture_sizes(30), [4, 8, 24])

    def test_dtype_names_match_the_binding(self):
        for name, code in seam.tensors.DTYPES.items() if hasattr(seam, "tensors") else []:
            self.assertEqual(values.dtype_name(code), name)
        from seam.tensors import DTYPES, _ITEMSIZE
        for name, code in DTYPES.items():
            self.assertEqual(values.dtype_size(code), _ITEMSIZE[code], name)
            self.assertTrue(values.dtype_name(code))


class TestCoverage(unittest.TestCase):
    def test_every_public_function_is_declared(self):
        """Each SEAM_API function of include/seam/*.h has argtypes set by the binding."""
        include = Path(__file__).resolve().parents[2] / "include" / "seam"
        if not include.is_dir():
            self.skipTest(f"headers not found at {include}")
        names = set()
        for h in include.glob("*.h"):
            text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
            names.update(re.findall(r"SEAM_API\b[^;{]*?\b(seam_\w+)\s*\(", text))
        self.assertGreater(len(names), 100)
        missing = sorted(n for n in names if getattr(lib, n).argtypes is None)
        self.assertEqual(missing, [], "public functions the binding does not declare")


class TestRuntimeExtras(unittest.TestCase):
    def test_log_level_round_trip(self):
        old = seam.get_log_level()
        try:
            seam.set_log_level("debug")
            self.assertEqual(seam.get_log_level(), "debug")
        finally:
            seam.set_log_level(old)
        with self.assertRaises(seam.InvalidArgumentError):
            seam.set_log_level("loud")

    def test_variables_are_described(self):
        d = seam.describe_variables()
        self.assertEqual(set(d), set(seam.VARIABLES))
        self.assertIn("0 or 1", d["SEAM_GRAPH_SAFE"][0])

    def test_config_validate_rejects_unsorted_sizes(self):
        cfg = seam.Config()
        cfg.raw.num_capture_sizes = 2
        cfg.raw.capture_sizes[0:2] = [8, 4]
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            cfg.validate()
        self.assertIn("capture", str(cm.exception))

    def test_context_reports_its_device_params_and_config(self):
        cfg = seam.Config()
        cfg["SEAM_GRAPH_SAFE"] = 1
        with host_context(config=cfg) as ctx:
            self.assertEqual(ctx.device, seam.HOST)
            self.assertEqual(ctx.effective_params()["max_tokens"], 64)
            self.assertEqual(ctx.effective_config()["SEAM_GRAPH_SAFE"], "1")

    def test_check_batch_names_the_bad_field_without_setting_it(self):
        with host_context() as ctx:
            ctx.check_batch("decode", [5], out_cache_loc=[0], page_table=[[0] * 5])
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                ctx.check_batch("decode", [500], out_cache_loc=[0], page_table=[[0] * 500])
            self.assertIn("seq_lens[0]=500", str(cm.exception))


class TestRegistry(unittest.TestCase):
    def test_builtin_ops_are_listed_with_their_capture_class(self):
        with seam.Registry() as reg:
            ops = {o.name: o for o in reg.ops()}
            self.assertEqual(len(ops), len(reg))
            for name in ("topk", "hadamard", "rms_norm", "layer_norm", "rope", "sparse_attention",
                         "indexer_k_store", "indexer_logits_ragged", "indexer_logits_paged",
                         "index_topk", "k_cache_and_topk", "topk_broadcast", "topk_digest"):
                self.assertIn(name, ops)
            self.assertEqual(ops["topk"].capture_class, "capturable")
            self.assertEqual(ops["topk_broadcast_split"].capture_class, "split")
            kt = ops["k_cache_and_topk"]
            self.assertEqual(kt.capture_class, "capturable-when-graph-safe")
            self.assertFalse(kt.capturable(graph_safe=False))
            self.assertTrue(kt.capturable(graph_safe=True))
            rms = reg.find("rms_norm")
            self.assertEqual([a["name"] for a in rms.args], ["x", "weight", "out", "residual", "eps"])
            self.assertTrue(rms.args[3]["optional"] and rms.args[3]["mutated"])

    def test_unknown_op_is_not_found(self):
        with seam.Registry(builtin=False) as reg:
            self.assertEqual(len(reg), 0)
            with self.assertRaises(seam.SeamError) as cm:
                reg.find("topk")
            self.assertEqual(cm.exception.status, "SEAM_ERR_NOT_FOUND")

    def test_python_ops_must_be_split_and_well_formed(self):
        with seam.Registry(builtin=False) as reg:
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                reg.register_python("py", lambda c: None, [("x", "tensor")], capture="capturable")
            self.assertIn("must be 'split'", str(cm.exception))
            with self.assertRaises(seam.InvalidArgumentError):
                reg.register_python("py", lambda c: None, [("x", "matrix")])
            with self.assertRaises(seam.InvalidArgumentError):
                reg.register_python("py", lambda c: None, [("x", "tensor")], mutates=["y"])
            op = reg.register_python("py", lambda c: None, [("x", "tensor"), ("a", "float")],
                                     mutates=["x"], optional=["a"])
            self.assertEqual(op.capture_class, "split")
            self.assertTrue(op.args[0]["mutated"] and op.args[1]["optional"])
            with self.assertRaises(seam.SeamError) as cm:
                reg.register_python("py", lambda c: None, [("x", "tensor")])
            self.assertEqual(cm.exception.status, "SEAM_ERR_ALREADY_EXISTS")


class TestPythonOpsRunEagerly(unittest.TestCase):
    """seam_op_run on a host context calls a Python op: the op call, its arguments and the
    callback cross the C boundary intact (no GPU needed for a split op)."""

    def setUp(self):
        self.ctx = host_context()
        self.addCleanup(self.ctx.close)
        self.reg = seam.Registry(builtin=False)
        self.addCleanup(self.reg.close)
        self.seen = []
        self.reg.register_python("py_scalars", self.record,
                                 [("n", "int"), ("alpha", "float"), ("handle", "ptr"),
                                  ("extra", "int")], optional=["extra"])

    def record(self, call):
        self.seen.append((call.args, call.num_tokens, call.counts()["tokens"]))

    def test_arguments_arrive_as_given(self):
        self.ctx.set_batch("decode", [5, 3], out_cache_loc=[0, 1], page_table=[[0] * 5, [1] * 3])
        self.reg.run("py_scalars", self.ctx, -7, alpha=2.5, handle=0x1234, num_tokens=4)
        self.assertEqual(self.seen, [([-7, 2.5, 0x1234, None], 4, 2)])

    def test_seam_checks_the_argument_kinds(self):
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            self.reg.run("py_scalars", self.ctx, 1, 2.0, None, check_only=True)
        self.assertIn("handle", str(cm.exception))
        self.assertEqual(self.seen, [])

    def test_an_exception_in_the_op_is_re_raised(self):
        def fail(call):
            raise ZeroDivisionError("engine op failed")
        self.reg.register_python("py_fail", fail, [("n", "int")])
        with self.assertRaises(ZeroDivisionError) as cm:
            self.reg.run("py_fail", self.ctx, 1)
        self.assertIsInstance(cm.exception.__cause__, seam.SeamError)
        self.reg.run("py_scalars", self.ctx, 1, 1.0, 1)  # nothing left pending
        self.assertEqual(len(self.seen), 1)


class TestProgramAndPlan(unittest.TestCase):
    def build(self, graph_safe=False):
        cfg = seam.Config()
        cfg["SEAM_GRAPH_SAFE"] = int(graph_safe)
        self.ctx = host_context(config=cfg)
        self.addCleanup(self.ctx.close)
        self.reg = seam.Registry()
        self.addCleanup(self.reg.close)
        self.reg.register_python("py_scale", lambda call: None,
                                 [("x", "tensor"), ("out", "tensor"), ("alpha", "float")],
                                 mutates=["out"])
        prog = seam.Program(self.reg)
        x = prog.tensor("x", "bf16", (None, 2, 128))
        y = prog.tensor("y", "bf16", (None, 2, 128), scratch=True)
        h = prog.tensor("h", "bf16", (None, 256))
        w = prog.tensor("w", "f32", (256,), token_dim=None)
        prog.call("hadamard", x, y)
        prog.call("py_scale", y, x, alpha=0.5)
        prog.call("rms_norm", x=h, weight=w, out=h, eps=1e-6)
        prog.call("hadamard", x, x, 1.0)
        self.assertEqual((prog.num_calls, prog.num_tensors), (4, 4))
        graph = seam.Graph(prog, self.ctx)
        prog.close()  # the graph keeps its own copy
        self.addCleanup(graph.close)
        return graph

    def test_host_plan_splits_at_the_python_op(self):
        g = self.build()
        s = g.stats()
        self.assertEqual((s["num_calls"], s["num_pieces"], s["num_split_ops"], s["captured"]),
                         (4, 2, 1, 0))
        self.assertEqual(s["num_scratch"], 1)
        steps = g.steps()
        self.assertEqual([st["kind"] for st in steps], ["piece", "split", "piece"])
        self.assertEqual([st["num_calls"] for st in steps], [1, 1, 2])
        self.assertEqual([b["tokens"] for b in g.buckets()], self.ctx.config.capture_sizes(64))
        plan = g.plan()
        self.assertIn("py_scale (split)", plan)
        self.assertIn(f"arena: {s['arena_bytes']} bytes", plan)
        self.assertIn("digraph", g.dot())

    def test_dispatch_follows_the_batch_and_run_needs_a_device(self):
        g = self.build()
        self.ctx.set_batch("extend", [9], extend_lens=[9], out_cache_loc=range(9),
                           page_table=[list(range(9))])
        self.assertEqual(g.dispatch(), {"tokens": 9, "padded_tokens": 12, "bucket": 2,
                                        "replay": 0})
        with self.assertRaises(seam.NoDeviceError) as cm:
            g.run()
        self.assertIn("seam_graph_run", str(cm.exception))
        with self.assertRaises(seam.NoDeviceError):
            g.tensor("x")

    def test_bad_calls_are_rejected_when_added(self):
        with seam.Registry() as reg, seam.Program(reg) as prog:
            x = prog.tensor("x", "f32", (None, 8))
            with self.assertRaises(seam.SeamError) as cm:
                prog.call("no_such_op", x)
            self.assertEqual(cm.exception.status, "SEAM_ERR_NOT_FOUND")
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                prog.call("hadamard", x, nonsense=1)
            self.assertIn("no argument named 'nonsense'", str(cm.exception))
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                prog.call("hadamard", "x", x)
            self.assertIn("str is not a program tensor", str(cm.exception))
            with self.assertRaises(seam.SeamError) as cm:
                prog.tensor("x", "f32", (None, 8))  # names are unique
            self.assertEqual(cm.exception.status, "SEAM_ERR_ALREADY_EXISTS")
            with self.assertRaises(seam.InvalidArgumentError):
                prog.tensor("z", "f64", (None, 8))

    def test_external_tensors_need_device_memory(self):
        with seam.Registry() as reg, seam.Program(reg) as prog:
            with self.assertRaises(seam.InvalidArgumentError) as cm:
                prog.external("weights", [1.0, 2.0])
            self.assertIn("weights: list is not a CUDA array", str(cm.exception))


class TestComm(unittest.TestCase):
    def test_world_of_one_needs_no_nccl_or_gpu(self):
        with seam.Comm(nranks=1, device=0) as comm:
            self.assertEqual((comm.rank, comm.size), (0, 1))
            self.assertTrue(comm.can_capture)
            self.assertIsNone(comm.nccl_handle)
            comm.set_timeout(1000)
            with self.assertRaises(seam.InvalidArgumentError):
                comm.set_timeout(0)

    def test_digest_needs_a_device(self):
        if HAVE_GPU:
            self.skipTest("this machine has a GPU")
        with self.assertRaises(seam.NoDeviceError):
            seam.Digest(2, 16, device=0)

    def test_bad_unique_id_length(self):
        with self.assertRaises(seam.InvalidArgumentError):
            seam.Comm(nranks=2, unique_id=b"short", rank=0)


class TestOpArgumentValidation(unittest.TestCase):
    """Every wrapper names the argument it rejects before anything reaches the GPU."""

    def assert_rejects(self, fn, text):
        with self.assertRaises(seam.InvalidArgumentError) as cm:
            fn()
        self.assertIn(text, str(cm.exception))

    def test_layer_ops(self):
        self.assert_rejects(lambda: seam.hadamard([1.0]), "x: list is not a CUDA array")
        self.assert_rejects(lambda: seam.rms_norm(None, None), "x: NoneType is not a CUDA array")
        self.assert_rejects(lambda: seam.rope(None, None, 64, style="spiral"), "style='spiral'")
        self.assert_rejects(lambda: seam.sparse_attention(None, None, None, 1.0, kernel="fast"),
                            "kernel='fast'")

    def test_indexer_ops(self):
        self.assert_rejects(lambda: seam.indexer.k_store(b"", None, None, None), "key: bytes")
        self.assert_rejects(lambda: seam.indexer.logits_ragged(None, None, None, None, None,
                                                               None), "q: NoneType")
        self.assert_rejects(lambda: seam.indexer.logits_paged(None, None, None, None, None, None,
                                                              algo="x"), "q: NoneType")
        self.assert_rejects(lambda: seam.indexer.positions_to_slots(None, None, 64),
                            "indices: NoneType")
        self.assert_rejects(lambda: seam.indexer.index_topk(None, None, None, None,
                                                            logits_layout="flat"),
                            "logits_layout='flat'")

    def test_comm_ops(self):
        with seam.Comm(nranks=1) as comm:
            self.assert_rejects(lambda: comm.broadcast([0, 1]), "buf: list is not a CUDA array")


if __name__ == "__main__":
    unittest.main()
