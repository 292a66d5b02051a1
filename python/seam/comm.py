"""The tensor-parallel communicator, the top-k broadcast and the determinism digest
(include/seam/comm.h). NCCL is loaded by seam at run time; a world of one rank needs
neither NCCL nor a GPU."""

import ctypes as C

from . import _abi
from ._lib import Handle, check, declare, fail_here, lib
from .tensors import default_stream, device_array, optional, ptr

_P = C.POINTER
declare("seam_comm_nccl_version", C.c_int, _P(C.c_int))
declare("seam_comm_unique_id", C.c_int, _P(_abi.CommId))
declare("seam_comm_init_rank", C.c_int, _P(C.c_void_p), C.c_int, _P(_abi.CommId), C.c_int, C.c_int)
declare("seam_comm_init_rank_config", C.c_int, _P(C.c_void_p), C.c_int, _P(_abi.CommId), C.c_int,
        C.c_int, _P(_abi.CommConfig))
declare("seam_comm_init_launched", C.c_int, _P(C.c_void_p), _P(_abi.CommConfig))
declare("seam_comm_borrow", C.c_int, _P(C.c_void_p), C.c_void_p, _P(_abi.CommConfig))
declare("seam_comm_destroy", C.c_int, C.c_void_p)
for _fn in ("seam_comm_rank", "seam_comm_size", "seam_comm_device", "seam_comm_can_capture"):
    declare(_fn, C.c_int, C.c_void_p, _P(C.c_int))
declare("seam_comm_set_timeout", C.c_int, C.c_void_p, C.c_int)
declare("seam_comm_nccl_handle", C.c_int, C.c_void_p, _P(C.c_void_p))
declare("seam_comm_broadcast", C.c_int, C.c_void_p, C.c_void_p, C.c_size_t, C.c_int, C.c_int,
        C.c_void_p)
declare("seam_comm_wait", C.c_int, C.c_void_p, C.c_void_p)
declare("seam_digest_create", C.c_int, _P(C.c_void_p), C.c_int, C.c_int, C.c_int)
declare("seam_digest_destroy", C.c_int, C.c_void_p)
declare("seam_digest_reset", C.c_int, C.c_void_p, C.c_void_p)
declare("seam_digest_shape", C.c_int, C.c_void_p, _P(C.c_int), _P(C.c_int))
declare("seam_digest_read", C.c_int, C.c_void_p, C.c_int, C.c_void_p, _P(C.c_uint64), _P(C.c_int),
        _P(C.c_uint64))
declare("seam_topk_digest", C.c_int, C.c_void_p, C.c_int, C.c_void_p, C.c_int, C.c_int,
        C.c_void_p, C.c_void_p)
declare("seam_comm_check_digest", C.c_int, C.c_void_p, C.c_void_p, C.c_void_p,
        _P(_abi.DigestMismatch))


def nccl_version():
    """NCCL's version code (e.g. 22803); SeamError (SEAM_ERR_NCCL) when it cannot be loaded."""
    v = C.c_int()
    check(lib.seam_comm_nccl_version(C.byref(v)))
    return v.value


def unique_id():
    """A new NCCL unique id, as 128 bytes to hand to every rank."""
    out = _abi.CommId()
    check(lib.seam_comm_unique_id(C.byref(out)))
    return C.string_at(C.addressof(out), _abi.COMM_ID_BYTES)


def _config(timeout_ms, wait_eager, nccl_single_rank):
    return _abi.sized(_abi.CommConfig, timeout_ms=timeout_ms, wait_eager=int(bool(wait_eager)),
                      nccl_single_rank=int(bool(nccl_single_rank)))


class Comm(Handle):
    """A communicator of nranks ranks (seam_comm_init_rank_config). unique_id: the bytes of
    seam.unique_id() from one process (not needed for nranks 1). Use Comm.launched() under
    seam-launch and Comm.borrow() to wrap an engine's ncclComm_t."""

    _destroy = "seam_comm_destroy"

    def __init__(self, nranks=1, unique_id=None, rank=0, device=0, timeout_ms=0, wait_eager=True,
                 nccl_single_rank=False, _handle=None):
        self.handle = C.c_void_p()
        if _handle is not None:
            self.handle = _handle
            return
        cid = None
        if unique_id is not None:
            if len(unique_id) != _abi.COMM_ID_BYTES:
                fail_here(f"unique_id: {len(unique_id)} bytes, expected {_abi.COMM_ID_BYTES}")
            cid = _abi.CommId()
            C.memmove(C.addressof(cid), bytes(unique_id), _abi.COMM_ID_BYTES)
        cfg = _config(timeout_ms, wait_eager, nccl_single_rank)
        check(lib.seam_comm_init_rank_config(C.byref(self.handle), nranks,
                                             C.byref(cid) if cid is not None else None, rank,
                                             device, C.byref(cfg)))

    @classmethod
    def launched(cls, timeout_ms=0, wait_eager=True):
        """Join the group seam-launch started this process in."""
        h = C.c_void_p()
        cfg = _config(timeout_ms, wait_eager, False)
        check(lib.seam_comm_init_launched(C.byref(h), C.byref(cfg)))
        return cls(_handle=h)

    @classmethod
    def borrow(cls, nccl_comm, timeout_ms=0, wait_eager=True):
        """Wrap an engine's ncclComm_t (its address as an int); seam never destroys it."""
        h = C.c_void_p()
        cfg = _config(timeout_ms, wait_eager, False)
        check(lib.seam_comm_borrow(C.byref(h), C.c_void_p(nccl_comm), C.byref(cfg)))
        return cls(_handle=h)

    def _int(self, fn):
        if not self.handle:
            fail_here("seam.Comm: the communicator is closed")
        v = C.c_int()
        check(fn(self.handle, C.byref(v)))
        return v.value

    rank = property(lambda self: self._int(lib.seam_comm_rank))
    size = property(lambda self: self._int(lib.seam_comm_size))
    device = property(lambda self: self._int(lib.seam_comm_device))
    can_capture = property(lambda self: bool(self._int(lib.seam_comm_can_capture)))

    def set_timeout(self, timeout_ms):
        check(lib.seam_comm_set_timeout(self.handle, timeout_ms))

    @property
    def nccl_handle(self):
        """The ncclComm_t address (None for a world of one without NCCL)."""
        p = C.c_void_p()
        check(lib.seam_comm_nccl_handle(self.handle, C.byref(p)))
        return p.value

    def broadcast(self, buf, root=0, stream=None):
        """In-place broadcast of a contiguous device array from `root` (e.g. the top-k
        indices). Returns buf."""
        a = device_array(buf, "buf")
        n = 1
        for s in a.shape:
            n *= s
        check(lib.seam_comm_broadcast(self.handle, a.ptr, n, a.dtype, root,
                                      default_stream(buf, stream)))
        return buf

    def wait(self, stream=None):
        """Wait for stream with dead-peer detection (after replaying collectives)."""
        check(lib.seam_comm_wait(self.handle, stream))

    def check_digest(self, digest, stream=None):
        """Compare every rank's digest with rank 0's: None when all agree, else a dict
        (layer, row, rank, rows_rank0, rows_rank, message)."""
        m = _abi.DigestMismatch()
        check(lib.seam_comm_check_digest(self.handle, digest.handle, stream, C.byref(m)))
        if m.layer < 0:
            return None
        d = {n: getattr(m, n) for n, _ in m._fields_}
        d["message"] = lib.seam_last_error().decode(errors="replace")
        return d


class Digest(Handle):
    """Per-layer top-k hashes on `device` for num_layers layers of up to max_rows rows."""

    _destroy = "seam_digest_destroy"

    def __init__(self, num_layers, max_rows, device=0):
        self.handle = C.c_void_p()
        check(lib.seam_digest_create(C.byref(self.handle), num_layers, max_rows, device))

    def shape(self):
        n, r = C.c_int(), C.c_int()
        check(lib.seam_digest_shape(self.handle, C.byref(n), C.byref(r)))
        return n.value, r.value

    def reset(self, stream=None):
        check(lib.seam_digest_reset(self.handle, stream))

    def add(self, layer, topk, real_rows=None, stream=None):
        """Hash topk i32 [rows, k] into `layer` (seam_topk_digest); real_rows: device i32."""
        t = device_array(topk, "topk", "i32", ndim=2)
        rr = optional(real_rows, "real_rows", "i32", ndim=1, device=t.device)
        check(lib.seam_topk_digest(self.handle, layer, t.ptr, t.shape[0], t.shape[1], ptr(rr),
                                   default_stream(topk, stream)))

    def read(self, layer, rows=False, stream=None):
        """(layer_hash, rows hashed[, row hashes]) of one layer; synchronizes stream."""
        h, n = C.c_uint64(), C.c_int()
        row_hashes = None
        if rows:
            row_hashes = (C.c_uint64 * self.shape()[1])()
        check(lib.seam_digest_read(self.handle, layer, stream, C.byref(h), C.byref(n), row_hashes))
        if rows:
            return h.value, n.value, list(row_hashes)
        return h.value, n.value


def topk_digest(digest, layer, topk, real_rows=None, stream=None):
    digest.add(layer, topk, real_rows, stream)


__all__ = ["Comm", "Digest", "nccl_version", "topk_digest", "unique_id"]
