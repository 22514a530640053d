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

``BORROWING`` kernels are SERIAL ones compiled without numba's reference
counts (its ``_nrt=False`` option): the per-iteration kernels of L-BFGS and
Levenberg–Marquardt, which allocate nothing and return no array. A counted
kernel takes a reference to every array it is passed (a tuple's arrays too)
and drops it on return: atomic operations on the arrays' counts, about half
of the compiled L-BFGS loop's time at n = 4 and, inside ``prange``, contended
between the threads that share a parent array (X of a batch, the shared t).
Numba compiles a function's callees with its own counting setting unless
they set theirs, so SERIAL and PARALLEL set ``_nrt=True`` explicitly (a
counted kernel called from a borrowing one stays counted), and a borrowing
kernel calls a user's function only through ``kernels.calls`` (counted: a
user's function may allocate). Numba refuses to compile a borrowing kernel
that allocates or returns an array it made; one that returned an array it
was passed would corrupt the count, which tests/kernels/test_borrowing.py
checks no borrowing kernel does.

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

The cache fails soft. A write that fails (a full disk, a quota, a folder
made read-only mid-run: any OSError) costs one ``DiskCacheWarning`` per
process; the code runs, compiled in memory. Every index and data file is
framed with a SHA-256 of its content, so a corrupted entry (truncated,
emptied, garbage, a flipped bit, a folder in its place) is never unpickled
or run: it is a miss, compiled and written again, and so is any entry that
fails to load for another reason.

An entry is also keyed on the values numba froze into it: the module globals
the function reads, and those of the @njit functions it calls (through
globals, module attributes or FunctionRef arguments, recursively), with the
bytecode of those functions (``globals_key``). A global set at import time
(from an environment variable, a configuration file) leaves every file's
digest as it was; its value is in the key. Numbers, bools, strings, bytes,
None, tuples of them, NumPy arrays (dtype, shape and bytes), NumPy scalars,
dtypes and enums are keyed by value; modules and functions are followed;
classes and other callables are code, not data. A function reading a global
of any other type (an object numba was taught to freeze) is not cached on
disk: compiled once per process, with one DiskCacheWarning naming the
global. ``function_refs.cached_objective`` gives the objective's own numba
cache (``@numba.njit(cache=True)``) the same treatment, and so does
computing a key to every such function it reaches (``use_gdfast_cache``).
Entries are pickles: whoever can write the cache folder runs code in every
process that loads it; keep it writable only by the users who run gdfast.

A signature that holds a function as a numba dispatcher (a user's objective
passed as is) is never written: its type is keyed by the dispatcher's
identity in this process (numba issues #6264, #6972), so the entry could
never be loaded again and would only grow the index. Such calls compile
once per process; passing a ``function_refs.FunctionRef`` instead makes the
signature stable and the entry loadable (see gdfast.kernels.function_refs).
"""
import dis
import enum
import functools
import hashlib
import io
import os
import pickle
import shutil
import sys
import tempfile
import types as pytypes
import warnings

import numba
import numpy as np
from numba.core import caching, config, sigutils, types
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaWarning

SERIAL = dict(cache=True, nogil=True, error_model="numpy", _nrt=True)
PARALLEL = dict(SERIAL, parallel=True)
BORROWING = dict(SERIAL, _nrt=False)

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
        self._py_file = py_file          # numba's "cannot cache" warning names it
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


class DiskCacheWarning(NumbaWarning):
    """Compiled code kept out of gdfast's disk cache: the cache folder could
    not be written (once per process), or the function reads a global its
    entry cannot be keyed on (once per function and global)."""


class UnkeyableGlobal(Exception):
    """A function reads a global whose value a cache entry cannot be keyed on."""

    def __init__(self, reader, name, value):
        super().__init__(f"{reader} reads the global {name}, a {type(value).__qualname__}")
        self.reader, self.name, self.value = reader, name, value


@functools.lru_cache(maxsize=None)
def code_digest(code):
    """SHA-256 (hex) of a code object's bytecode, names and constants, nested
    code included: the same in every process (no object addresses)."""
    h = hashlib.sha256(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, pytypes.CodeType):
            h.update(code_digest(const).encode())
        elif isinstance(const, frozenset):               # its order varies with the hash seed
            h.update(repr(sorted(map(repr, const))).encode())
        else:
            h.update(repr(const).encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _names(code):
    """(the globals code reads, every name it uses), nested code included."""
    read, names = set(), set(code.co_names)
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            read.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, pytypes.CodeType):
            nested_read, nested_names = _names(const)
            read |= nested_read
            names |= nested_names
    return frozenset(read), frozenset(names)


# keyed by value (repr is exact for these, and the same in every process)
_DATA = (type(None), type(Ellipsis), bool, int, float, complex, str, bytes, slice, range)


class _GlobalsKey:
    """The digest of what numba freezes into a function's machine code besides
    its own bytecode: see the module docstring and globals_key."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._seen = set()

    def hexdigest(self):
        return self._hash.hexdigest()

    def _add(self, *parts):
        self._hash.update(repr(parts).encode() + b"\0")

    def function(self, py_func, strict=True):
        """py_func's bytecode and the values of the globals it reads; with
        strict=False a global that cannot be keyed is passed over."""
        if id(py_func) in self._seen:
            return
        self._seen.add(id(py_func))
        code = py_func.__code__
        reader = f"{py_func.__module__}.{py_func.__qualname__}"
        self._add("function", reader, code_digest(code))
        read, names = _names(code)
        namespace = py_func.__globals__
        for name in sorted(read):
            if name in namespace:                # else a builtin (or undefined: numba says so)
                self.value(namespace[name], name, reader, names, namespace, strict)
        for name, cell in zip(code.co_freevars, py_func.__closure__ or ()):
            try:                                 # numba keys the cells' pickle; followed for
                contents = cell.cell_contents    # the functions they hold
            except ValueError:
                continue
            self.value(contents, name, reader, names, namespace, strict=False)

    def value(self, v, name, reader, names, namespace, strict=True, depth=0):
        if isinstance(v, _DATA):
            self._add(name, type(v).__name__, v)
        elif isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                if strict:
                    raise UnkeyableGlobal(reader, name, v)
                return
            self._add(name, "ndarray", repr(v.dtype), v.shape,
                      hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest())
        elif isinstance(v, np.generic):
            self._add(name, repr(v.dtype), v.tobytes())
        elif isinstance(v, np.dtype):
            self._add(name, "dtype", repr(v))
        elif isinstance(v, enum.Enum):
            self._add(name, type(v).__module__, type(v).__qualname__, v.name, repr(v.value))
        elif isinstance(v, tuple):               # named tuples too
            self._add(name, type(v).__qualname__, len(v))
            for i, item in enumerate(v):
                self.value(item, f"{name}[{i}]", reader, names, namespace, strict, depth)
        elif isinstance(v, Dispatcher):
            use_gdfast_cache(v)                  # its own entries keyed alike
            self.function(v.py_func)
        elif hasattr(type(v), "cache_key_value"):          # a FunctionRef: its function
            self.value(v.cache_key_value(), name, reader, names, namespace, strict, depth)
        elif isinstance(v, types.Type):          # before callable: numba types are callable
            self._add(name, "numba type", str(v))
        elif isinstance(v, pytypes.ModuleType):  # the attributes the code names
            if depth < 3 and (id(v), names) not in self._seen:
                self._seen.add((id(v), names))
                self._add(name, "module", v.__name__)
                attrs = vars(v)                  # no module __getattr__ (deprecation hooks)
                for attr in sorted(names & attrs.keys()):
                    self.value(attrs[attr], f"{name}.{attr}", reader, names, namespace,
                               strict=False, depth=depth + 1)
        elif isinstance(v, type) and issubclass(v, enum.Enum):
            for member in sorted(names & v.__members__.keys()):
                self.value(v.__members__[member], f"{name}.{member}", reader, names, namespace,
                           strict, depth)
        elif isinstance(v, pytypes.FunctionType):
            if v.__globals__ is namespace:       # a helper of the same module (register_jitable)
                self.function(v, strict=False)
        elif callable(v):                        # classes, builtins, ufuncs, intrinsics: code
            pass
        elif strict:
            raise UnkeyableGlobal(reader, name, v)

    def signature_type(self, t):
        """The functions a signature's FunctionRefType arguments refer to."""
        if isinstance(t, types.BaseTuple):
            for item in t.types:
                self.signature_type(item)
        elif callable(getattr(t, "referenced_function", None)):
            self.value(t.referenced_function(), str(t), "the signature", frozenset(), {})


def globals_key(py_func, argtypes=()):
    """SHA-256 (hex) of the values of the globals py_func reads and of those
    of the @njit functions it calls, recursively (the FunctionRefs among
    argtypes included), with those functions' bytecode. Raises
    UnkeyableGlobal for a global that cannot be keyed (see the module)."""
    key = _GlobalsKey()
    key.function(py_func)
    for t in argtypes:
        key.signature_type(t)
    return key.hexdigest()


_warned = {"write": False, "globals": set()}


def _warn_write_failure(folder, error):
    if _warned["write"]:
        return
    _warned["write"] = True
    warnings.warn(DiskCacheWarning(
        f"gdfast could not write compiled code to its disk cache in {folder}: {error}. "
        "The code runs, compiled in memory for this process; later processes compile it "
        "again until the folder can be written (free space, or set NUMBA_CACHE_DIR to a "
        "writable folder). Warned once per process."), stacklevel=3)


def _warn_unkeyable(error):
    if (error.reader, error.name) in _warned["globals"]:
        return
    _warned["globals"].add((error.reader, error.name))
    warnings.warn(DiskCacheWarning(
        f"{error}: numba freezes its value into the machine code, and a cache entry can "
        "be keyed only on numbers, bools, strings, bytes, None, tuples of them, NumPy "
        "arrays, scalars and dtypes, and enums. The functions compiled with it are not "
        "cached on disk: compiled once per process."), stacklevel=3)


class _CorruptEntry(ValueError):
    pass


class _CheckedCacheFile(caching.IndexDataCacheFile):
    """numba's index (.nbi) and data (.nbc) files, each framed as
    MAGIC + SHA-256(body) + body: what does not check out is not unpickled,
    and an index that cannot be read is empty (the next save rewrites it)."""

    MAGIC = b"gdfast cache 1\n"

    def _read(self, path):
        with open(path, "rb") as f:
            blob = f.read()
        start = len(self.MAGIC) + 32
        if blob[:len(self.MAGIC)] != self.MAGIC or \
                hashlib.sha256(blob[start:]).digest() != blob[len(self.MAGIC):start]:
            raise _CorruptEntry(f"{path}: not a complete gdfast cache file")
        return blob[start:]

    def _write(self, path, body):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)                  # a folder where this entry belongs
        with self._open_for_write(path) as f:    # a temporary file renamed into place
            f.write(self.MAGIC + hashlib.sha256(body).digest() + body)

    def _load_index(self):
        try:
            stream = io.BytesIO(self._read(self._index_path))
            if pickle.load(stream) != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
        except FileNotFoundError:
            return {}
        except Exception as error:               # corrupted: as if absent
            _debug("[cache] index %r unreadable (%s): a miss", self._index_path, error)
            return {}
        return overloads if stamp == self._source_stamp and isinstance(overloads, dict) else {}

    def _save_index(self, overloads):
        self._write(self._index_path, pickle.dumps(self._version, protocol=-1)
                    + self._dump((self._source_stamp, overloads)))

    def _load_data(self, name):
        return pickle.loads(self._read(self._data_path(name)))

    def _save_data(self, name, data):
        self._write(self._data_path(name), self._dump(data))


def launch_threads():
    """Start numba's threading layer (once per process; later calls return at once)."""
    from numba.np.ufunc import parallel
    parallel._launch_threads()


def _debug(message, *args):
    if config.DEBUG_CACHE:
        print(message % args)


class _GuardedCache(caching.FunctionCache):
    """numba's FunctionCache, failing soft (a failed write warns, a bad entry
    is a miss) and keyed on the globals its code froze (globals_key)."""

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _CheckedCacheFile(self._cache_path, self._impl.filename_base,
                                             self._impl.locator.get_source_stamp())

    def _index_key(self, sig, codegen):
        key = super()._index_key(sig, codegen)
        argtypes = sigutils.normalize_signature(sig)[0]
        if any(_holds_dispatcher(a) for a in argtypes):
            return key                           # never written (check_cachable), never found
        return key + (globals_key(self._py_func, argtypes),)

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except UnkeyableGlobal as error:
            _warn_unkeyable(error)
            return None

    def _load_overload(self, sig, target_context):
        if not self._enabled:
            return None
        key = self._index_key(sig, target_context.codegen())
        try:
            data = self._cache_file.load(key)
            if data is None:
                return None
            # A loaded serial kernel may call a parallel one compiled into it
            # (descend with adam_step_parallel): numba starts its threading
            # layer only when it compiles or loads a parallel function itself,
            # so without this the first such call of a process jumps to a null
            # pointer (a segfault on the second run of a script)
            launch_threads()
            return self._impl.rebuild(target_context, data)
        except Exception as error:               # a bad entry: compiled and written again
            _debug("[cache] entry of %s unreadable (%s): a miss", self._name, error)
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except UnkeyableGlobal as error:
            _warn_unkeyable(error)
        except OSError as error:                 # full, read-only, over quota...: not fatal
            _warn_write_failure(self._cache_path, error)


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]

    def check_cachable(self, cres):
        if any(_holds_dispatcher(a) for a in cres.signature.args):
            return False                         # keyed by this process's identity: never loadable
        return super().check_cachable(cres)


class _KernelCache(_GuardedCache):
    _impl_class = _KernelCacheImpl


class _UserCacheImpl(_KernelCacheImpl):
    """numba's own folders and source stamp for a user's @njit(cache=True)
    function; gdfast's files named apart ("gdfast-" first) from numba's."""
    _locator_classes = caching.CompileResultCacheImpl._locator_classes

    def get_filename_base(self, fullname, abiflags):
        return "gdfast-" + super().get_filename_base(fullname, abiflags)


class _UserCache(_GuardedCache):
    _impl_class = _UserCacheImpl


def use_gdfast_cache(dispatcher):
    """Give a dispatcher made by ``numba.njit(cache=True)`` gdfast's cache
    instead of numba's: entries keyed on the globals it reads, failing soft
    (see the module). Other dispatchers are left as they are."""
    if type(getattr(dispatcher, "_cache", None)) is caching.FunctionCache:
        try:
            dispatcher._cache = _UserCache(dispatcher.py_func)
        except RuntimeError:                     # no folder: numba's cache was unusable too
            pass
    return dispatcher
