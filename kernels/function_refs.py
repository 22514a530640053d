"""Functions passed to kernels in a form whose compiled code is cached on disk.

The kernels that take a function (the update rule of tv_descent and guard,
the objective, rule and schedule of driver, the objective of
finite_differences) accept either a numba dispatcher (an ``@njit``
function, compiled once per process: see gdfast.kernels.jit) or a
``FunctionRef`` to one::

    ref = function_ref(sgd_step, digest)
    tv_descent_step_2d(u, u_next, f, lam, eps, False, ref, state, t, lr, hyper, work)

Inside compiled code a FunctionRef is called like the function it refers
to: its numba type (``FunctionRefType``) hands typing and lowering to the
dispatcher's, so the call compiles to the same direct, inlinable call and
the kernel gives the same bits. What differs is the type's key: the
function's qualified name and a digest of its code, the same in every
process, where a dispatcher's type is keyed by the object's identity in one
process. A kernel called with refs therefore gets a cache entry that the
next process loads instead of compiling. The digest must change whenever
the function's machine code could (its source, the helpers it calls):
gdfast's own rules and schedules take ``kernels.jit.kernels_digest()``;
users' objectives get theirs from ``gdfast.cached_objective``.

A FunctionRef carries no data: it is passed as an empty value, and within
compiled code only its type matters. Called from Python (or with
NUMBA_DISABLE_JIT=1) it calls the function.
"""
import hashlib
import inspect
import os
import types as pytypes
from collections.abc import Callable, Iterable

import numba
from numba.core import types
from numba.core.imputils import lower_constant
from numba.extending import NativeValue, is_jitted, models, register_model, typeof_impl, unbox

from .jit import code_digest, file_digest, kernels_digest, use_gdfast_cache

_PACKAGE = __name__.rpartition(".")[0]          # gdfast.kernels

# (name, digest) -> the function: how a FunctionRefType finds its dispatcher
# when a kernel is compiled for it in this process.
_FUNCTIONS: dict[tuple[str, str], Callable] = {}


class FunctionRef:
    """A stable handle on an @njit function ``fn`` for kernels (see the module)."""

    __slots__ = ("fn", "name", "digest")

    def __init__(self, fn, name, digest):
        self.fn, self.name, self.digest = fn, name, digest

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return f"FunctionRef({self.name}, {self.digest[:12]})"

    def cache_key_value(self):
        """What the cache entry of a function that reads this ref as a global
        is keyed on: the function (see kernels.jit.globals_key)."""
        return self.fn


def function_ref(fn, digest, name=None):
    """The FunctionRef of ``fn`` with ``digest``, a string that changes with
    fn's machine code (see the module); name defaults to module.qualname."""
    py_func = getattr(fn, "py_func", fn)
    if name is None:
        name = f"{py_func.__module__}.{py_func.__qualname__}"
    # the function's own bytecode and constants too: two functions of one
    # name in one file never share an entry (code_digest: nested code by its
    # content, where repr() of it would hold an address, new in every process)
    digest = hashlib.sha256(f"{digest}|{code_digest(py_func.__code__)}".encode()).hexdigest()
    _FUNCTIONS[name, digest] = fn       # a redefinition (same code) replaces the old object
    return FunctionRef(fn, name, digest)


class FunctionRefType(types.Callable):
    """The numba type of a FunctionRef: calls are typed and lowered as calls
    of the function's dispatcher; the key is (name, digest)."""

    def __init__(self, name, digest):
        self.function_name, self.digest = name, digest
        super().__init__(name=f"FunctionRef({name}, {digest[:12]})")

    @property
    def key(self):
        return self.function_name, self.digest

    def referenced_function(self):
        """The dispatcher called through this type (what a cache entry of a
        kernel compiled for it is keyed on besides the digest)."""
        return _FUNCTIONS[self.key]

    def _dispatcher_type(self):
        return types.Dispatcher(self.referenced_function())

    def get_call_type(self, context, args, kws):
        return self._dispatcher_type().get_call_type(context, args, kws)

    def get_call_signatures(self):
        return self._dispatcher_type().get_call_signatures()

    def get_impl_key(self, sig):
        return self._dispatcher_type().get_impl_key(sig)


register_model(FunctionRefType)(models.OpaqueModel)


# (name, digest) -> its FunctionRefType: numba types every argument of every
# call from Python, and making the type anew (interning it) cost about 25 us
# per ref, more than a small problem's whole minimize loop
_TYPES: dict[tuple[str, str], FunctionRefType] = {}


@typeof_impl.register(FunctionRef)
def _typeof_function_ref(val, c):
    key = val.name, val.digest
    typ = _TYPES.get(key)
    if typ is None:
        typ = _TYPES[key] = FunctionRefType(val.name, val.digest)
    return typ


@unbox(FunctionRefType)
def _unbox_function_ref(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


@lower_constant(FunctionRefType)
def _constant_function_ref(context, builder, ty, pyval):
    return context.get_dummy_value()


# id(fn) -> (fn, its FunctionRef): the functions that have one
_REFS: dict[int, tuple[Callable, FunctionRef]] = {}


def register(fn, digest, name=None):
    """Give fn a FunctionRef (function_ref(fn, digest, name)) that
    ``cacheable(fn)`` returns from now on; returns it."""
    ref = function_ref(fn, digest, name)
    _REFS[id(fn)] = (fn, ref)
    return ref


def cacheable(fn):
    """What to pass a kernel for fn so that the kernel's compiled code is
    cached: fn's FunctionRef when it has one (gdfast.kernels' own functions
    always; a user's objective once registered, see gdfast.cached_objective),
    otherwise fn itself (compiled once per process)."""
    if isinstance(fn, FunctionRef):
        return fn
    known = _REFS.get(id(fn))
    if known is not None and known[0] is fn:
        return known[1]
    py_func = getattr(fn, "py_func", None)
    if py_func is not None and (py_func.__module__ or "").startswith(_PACKAGE + "."):
        return register(fn, kernels_digest())
    return fn


def cached_objective(fun: Callable | None = None, *,
                     depends: Iterable["pytypes.ModuleType | str | os.PathLike"] = ()) -> Callable:
    """Register an @njit objective so that the loops that call it are cached on disk.

    The loops: ``minimize(fun, x0, jac='inplace')``'s nopython loop,
    ``minimize_batch(fun, ...)``, ``minimize(fun, x0, jac='3-point')`` and
    kernels called with ``gdfast.kernels.function_refs.cacheable(fun)``. The
    next process loads them instead of compiling (seconds) again.

    Parameters
    ----------
    fun : numba @njit function, optional
        The objective. Omitted, ``cached_objective(depends=...)`` returns the
        decorator.
    depends : iterable of modules or paths, default ()
        Where the helpers fun calls live, when not in fun's own file (keyword
        only).

    Returns
    -------
    callable
        fun itself (usable as a decorator, with or without ``depends``).

    Raises
    ------
    TypeError
        fun is not a numba @njit function (unless NUMBA_DISABLE_JIT=1, where
        nothing is compiled and fun is returned as it is).
    ValueError
        fun is not defined in a file (an interactive session), or an entry of
        ``depends`` names no file to hash.

    Notes
    -----
    The cache entry is keyed by fun's module and qualified name, its bytecode
    and the SHA-256 of the file that defines it and of every file in
    ``depends``. Editing fun, a helper in its file or a listed file compiles
    afresh; an edited helper in a file *not* listed would be served stale
    machine code, so list every file whose functions fun calls (the bytecode of
    the @njit helpers fun reaches through globals is keyed too).

    numba freezes the module globals a function reads into its machine code;
    the entries are keyed on their values as well (numbers, bools, strings,
    None, tuples of them, NumPy arrays, scalars and enums: a global set at
    import time from an environment variable is never served stale), and so
    are those of fun's own numba cache and of the @njit helpers it calls, which
    get gdfast's cache in place of numba's. A function that reads a global of
    another type is compiled once per process, not cached on disk (one
    ``kernels.jit.DiskCacheWarning`` names the global).

    Unregistered objectives work as well, compiled once per process: numba
    cannot cache a loop that takes a function as an argument, since the type of
    a function argument is keyed by its identity in one process (see
    docs/design.md, "Compiled once per machine").

    Examples
    --------
    ::

        @gdfast.cached_objective
        @numba.njit(cache=True)         # cache=True: fun's own calls from Python too
        def value_and_grad(x, g, y): ...
    """
    if fun is None:
        return lambda f: cached_objective(f, depends=depends)
    if not is_jitted(fun):
        if numba.config.DISABLE_JIT:             # NUMBA_DISABLE_JIT=1: nothing is compiled
            return fun
        raise TypeError("cached_objective needs a numba @njit function (put @numba.njit "
                        f"below it), got {type(fun).__name__}")
    # fun is a numba dispatcher (is_jitted), whose type mypy does not know: numba is untyped
    py_func = fun.py_func  # type: ignore[attr-defined]
    source = inspect.getsourcefile(py_func)
    if source is None or not os.path.isfile(source):
        raise ValueError(f"cached_objective needs a function defined in a file; "
                         f"{py_func.__qualname__} comes from {source!r} (an interactive "
                         "session?): define it in a module, or leave it unregistered")
    digests = [file_digest(source)]
    for dep in depends:
        if isinstance(dep, pytypes.ModuleType):
            path = getattr(dep, "__file__", None)
        else:
            path = os.fspath(dep)
        if path is None or not os.path.isfile(path):
            raise ValueError(f"depends: {dep!r} names no file to hash")
        digests.append(file_digest(path))
    register(fun, "|".join(digests))
    use_gdfast_cache(fun)            # fun's own entries keyed on its globals, failing soft
    return fun
