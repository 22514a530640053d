"""A monotonic clock readable from nopython code (``monotonic_seconds``), so
that a compiled loop can return to Python after a given time (minimize's
nopython mode answers Ctrl-C that way) without a call from Python per chunk.

It calls the C library's ``clock_gettime(CLOCK_MONOTONIC)`` (about 30 ns on
Linux, through the vDSO), by its symbol name, so the machine code that reads
it is cached on disk like any other kernel. ``AVAILABLE`` is False where
there is no clock_gettime (Windows): there ``monotonic_seconds`` returns 0.0
and callers keep the time in Python.
"""
import sys

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# CLOCK_MONOTONIC of <time.h>: 1 on Linux, 6 on macOS
CLOCK_ID = {"linux": 1, "darwin": 6}.get(sys.platform, -1)
AVAILABLE = CLOCK_ID >= 0


@intrinsic
def monotonic_seconds(typingctx):
    """Seconds of a monotonic clock (float64; 0.0 where not AVAILABLE)."""
    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        if not AVAILABLE:
            return ir.Constant(d, 0.0)
        i64 = ir.IntType(64)              # struct timespec {time_t tv_sec; long tv_nsec}
        ts = cgutils.alloca_once(builder, ir.LiteralStructType([i64, i64]))
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32), ts.type])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        builder.call(fn, [ir.Constant(ir.IntType(32), CLOCK_ID), ts])
        sec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 0))
        nsec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 1))
        return builder.fadd(builder.sitofp(sec, d),
                            builder.fmul(builder.sitofp(nsec, d), ir.Constant(d, 1e-9)))
    return types.float64(), codegen
