"""How every kernel is compiled, and where its machine code is kept on disk.

``SERIAL`` kernels run on the calling thread and are safe to call from inside
a user's own ``prange`` loop. ``PARALLEL`` kernels split their loop over
numba's threads; they give bitwise the same numbers as the serial variant
because every update is element-wise (no reordering; the only reduction,
the count of NaN or inf written, is an integer sum, exact in any order).

``error_model="numpy"``: a division by zero gives inf/nan as IEEE 754 says
instead of raising ZeroDivisionError. Kernels never raise for user data, and
the Python-style check blocks the loop vectoriser (measured: Adam at
n = 10,000 runs about 1.5x slower with the default error model).

fastmath stays off: it would break the NaN/inf semantics the facade relies on.

The disk cache. ``njit(cache=True, ...)`` here is numba's njit with one
change: numba keys a cache entry by the content of the function's own file
only, so a kernel whose helper in another file changed (or an upgraded
gdfast in which only the helper's file changed) would load stale machine
code. gdfast's entries are stamped with a digest of every source file of
gdfast.kernels instead (``kernels_digest``), and of the function's own file,
and kept in a folder named by that digest: any edit or upgrade compiles
afresh, never serves old code. The folder is, in numba's order of
preference: ``$NUMBA_CACHE_DIR/gdfast/<digest>/`` when NUMBA_CACHE_DIR is
set; ``__pycache__/gdfast-<digest>/`` beside the source when that is
writable; numba's user-wide cache folder (``~/.cache/numba/gdfast/...``)
otherwise, so a read-only installation caches too. numba writes each entry
to a temporary file and renames it into place, so processes compiling at
once are safe (the last one's entry wins; each is complete).

A signature that holds a function as a numba dispatcher (a user's objective
passed as is) is never written: its type is keyed by the dispatcher's
identity in this process (numba issues #6264, #6972), so the entry could
never be loaded again and would only grow the index. Such calls compile
once per process; passing a ``function_refs.FunctionRef`` instead makes the
signature stable and the entry loadable (see gdfast.kernels.function_refs).
"""
import functools
import hashlib
import os
import sys
import tempfile

import numba
import numpy as np
from numba.core import caching, config, types

SERIAL = dict(cache=True, nogil=True, error_model="numpy")
PARALLEL = dict(SERIAL, parallel=True)

_KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))


def njit(cache=False, **options):
    """numba.njit(**options); with cache=True, cached on disk as the module
    docstring says."""
    def decorate(py_func):
        dispatcher = numba.njit(**options)(py_func)
        if cache and isinstance(dispatcher, numba.core.dispatcher.Dispatcher):
            try:                                 # numba's enable_caching, with our locator
                dispatcher._cache = _KernelCache(py_func)
            except RuntimeError:                 # no writable folder: compiled per process
                pass
        return dispatcher        # the Python function itself under NUMBA_DISABLE_JIT=1
    return decorate


@functools.lru_cache(maxsize=None)
def kernels_digest():
    """SHA-256 (hex) of every .py file of gdfast.kernels (path and content),
    with the versions of Python, numba and numpy: what compiled kernels
    depend on besides the functions passed to them."""
    h = hashlib.sha256(f"{sys.version} numba {numba.__version__} numpy {np.__version__}".encode())
    for name in sorted(os.listdir(_KERNELS_DIR)):
        if name.endswith(".py"):
            h.update(name.encode() + b"\0")
            with open(os.path.join(_KERNELS_DIR, name), "rb") as source:
                h.update(hashlib.sha256(source.read()).digest())
    return h.hexdigest()


def file_digest(path):
    """SHA-256 (hex) of one file's content."""
    st = os.stat(path)
    return _file_digest(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=None)
def _file_digest(path, mtime_ns, size):         # once per file and version of it
    with open(path, "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()


def cache_folders(py_file):
    """The folders a kernel defined in py_file may be cached in, in order of
    preference (the first writable one is used)."""
    key = kernels_digest()[:20]
    sub = caching._CacheLocator.get_suitable_cache_subpath(py_file)
    if config.CACHE_DIR:
        return [os.path.join(config.CACHE_DIR, "gdfast", key, sub)]
    user_wide = caching.AppDirs(appname="numba", appauthor=False).user_cache_dir
    return [os.path.join(os.path.dirname(py_file), "__pycache__", f"gdfast-{key}"),
            os.path.join(user_wide, "gdfast", key, sub)]


class _KernelLocator(caching._CacheLocator):
    """numba's cache locator for gdfast's kernels: the folders of
    cache_folders, entries stamped with kernels_digest and the file's digest."""

    def __init__(self, py_func, py_file, path):
        self._lineno = py_func.__code__.co_firstlineno
        self._path = path
        self._stamp = (kernels_digest(), file_digest(py_file))

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return self._stamp

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.exists(py_file):
            return None
        for path in cache_folders(py_file):
            if _writable(path):
                return cls(py_func, py_file, path)
        return None


@functools.lru_cache(maxsize=None)
def _writable(folder):
    """True if folder exists or can be made, and a file can be written in it
    (checked once per folder and process, as numba's ensure_cache_path does)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _holds_dispatcher(t):
    if isinstance(t, types.Dispatcher):
        return True
    return isinstance(t, types.BaseTuple) and any(_holds_dispatcher(e) for e in t.types)


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]

    def check_cachable(self, cres):
        if any(_holds_dispatcher(a) for a in cres.signature.args):
            return False                         # keyed by this process's identity: never loadable
        return super().check_cachable(cres)


class _KernelCache(caching.FunctionCache):
    _impl_class = _KernelCacheImpl
