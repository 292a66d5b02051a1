"""Prepared launches: a kernel call whose arguments were checked once and whose params
struct is kept, so calling it again costs one ctypes call. Every kernel wrapper (topk,
layers, indexer) takes prepare=True and returns one instead of launching:

    step = seam.rms_norm(x, w, out=y, prepare=True)   # checks now, launches nothing
    for each forward: step()                          # or step(stream=...)

The launch keeps the arrays it was prepared with alive and reuses their addresses, as a
CUDA graph would: write new values into the same buffers, never rebind them."""

import ctypes as C

from ._lib import check


class Launch:
    __slots__ = ("_fn", "_params", "_ref", "_stream", "_keep", "result")

    def __init__(self, fn, params, stream, keep, result):
        self._fn, self._params, self._stream, self._keep = fn, params, stream, keep
        self._ref = C.byref(params)
        self.result = result

    def __call__(self, stream=None):
        status = self._fn(self._ref, self._stream if stream is None else stream)
        if status:
            check(status)
        return self.result

    @property
    def params(self):
        """The params struct (an _abi mirror), e.g. to inspect what was prepared."""
        return self._params


def launch(fn, params, stream, keep, result, prepare):
    """Launch now (returning result), or return a Launch when prepare is true."""
    if prepare:
        return Launch(fn, params, stream, keep, result)
    status = fn(C.byref(params), stream)
    if status:
        check(status)
    return result
