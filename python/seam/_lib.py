"""Finding and loading libseam, and turning a failed seam_status into an exception."""

import ctypes
import ctypes.util
import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _candidates():
    env = os.environ.get("SEAM_LIBRARY")
    if env:
        yield env
        return
    # the repository's meson build dirs, most recently built first
    built = [_REPO / b / "libseam.so" for b in ("build-gpu", "build")]
    built.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
    for p in built:
        yield str(p)
    found = ctypes.util.find_library("seam")
    if found:
        yield found
    yield "libseam.so"


def load():
    """Load libseam: $SEAM_LIBRARY, else the repo's meson build dirs (newest first), else
    the system."""
    errors = []
    for path in _candidates():
        if path.startswith("/") and not os.path.exists(path):
            errors.append(f"{path}: not found")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("seam: cannot load libseam (set SEAM_LIBRARY): " + "; ".join(errors))


lib, path = load()


class SeamError(RuntimeError):
    """A seam call failed. `status` is the seam_status name, `message` seam's last error."""

    def __init__(self, status, message):
        self.code = status
        self.status = lib.seam_status_string(status).decode()
        self.message = message
        super().__init__(f"{self.status}: {message}")


class NoDeviceError(SeamError):
    """SEAM_ERR_NO_DEVICE: no GPU or no NVIDIA driver."""


class InvalidArgumentError(SeamError, ValueError):
    """SEAM_ERR_INVALID_ARG."""


class ConfigError(SeamError, ValueError):
    """SEAM_ERR_CONFIG: a SEAM_* variable has a bad value."""


_BY_CODE = {1: InvalidArgumentError, 6: NoDeviceError, 12: ConfigError}


def check(status):
    """Raise the matching SeamError for a non-zero seam_status."""
    if status != 0:
        message = lib.seam_last_error().decode(errors="replace")
        raise _BY_CODE.get(status, SeamError)(status, message)


def fail_here(what):
    """Raise InvalidArgumentError for an argument the binding rejects before calling seam."""
    raise InvalidArgumentError(1, what)


def declare(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


declare("seam_status_string", ctypes.c_char_p, ctypes.c_int)
declare("seam_last_error", ctypes.c_char_p)
declare("seam_clear_error", None)
declare("seam_version", ctypes.c_int)


class Handle:
    """An owned seam handle (`self.handle`, a c_void_p) freed by the library function named
    in `_destroy`: close() frees it once; also a context manager and freed when collected."""

    _destroy = None

    def close(self):
        if getattr(self, "handle", None):
            h, self.handle = self.handle, ctypes.c_void_p()
            check(getattr(lib, self._destroy)(h))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
