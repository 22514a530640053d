"""The count every update rule returns: elements where it wrote NaN or inf.

    bad = rule_step(x, g, state, t, lr, hyper)

is the number of indices i at which the step wrote NaN or ±inf into x[i] or
into a state array's entry i (0 for a clean step). A non-zero count means a
NaN or inf came in (g, x or the state) or an intermediate value overflowed;
the kernel still writes what IEEE arithmetic gives, as torch.optim does, and
the caller decides (gdfast.Optimizer.step raises FloatingPointError,
gdfast.minimize stops with status 'non-finite').

The count is taken in the same pass as the update, from values already in
registers, so it adds no memory traffic. It is an integer sum, exact in any
order: serial and parallel kernels return the same count for any number of
threads.
"""

from .jit import SERIAL, njit


@njit(**SERIAL)
def any_nonfinite(a, b=0.0, c=0.0, d=0.0):
    """1 if any of a, b, c, d is NaN or ±inf, else 0."""
    # v - v is 0.0 for a finite v and NaN for NaN or ±inf; fastmath is off,
    # so the compiler may not fold it to 0. One comparison for all four.
    return 1 if (a - a) + (b - b) + (c - c) + (d - d) != 0.0 else 0
