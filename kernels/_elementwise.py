"""Element-wise helpers the update rules share (one home for them, serial
@njit functions inlined into every kernel's loop): the sign of the descent
direction, the direction with weight decay, and torch's lerp."""

from .jit import SERIAL, njit


@njit(**SERIAL)
def direction_sign(maximize):
    """-1.0 when maximize (ascend f), +1.0 when minimising (maximize is 0.0 or 1.0)."""
    return -1.0 if maximize != 0.0 else 1.0


@njit(**SERIAL)
def descent_direction(g_i, x_i, weight_decay, sign):
    """d = sign * g + weight_decay * x (sign = -1 maximises, +1 minimises).

    Without decay the term is left out, as torch does: the test is the same
    for every element, so the compiler hoists it out of the loop (unswitches),
    and the loop without the term runs 5-9% faster at 16M elements.
    """
    if weight_decay != 0.0:
        return sign * g_i + weight_decay * x_i
    return sign * g_i


@njit(**SERIAL)
def lerp(a, b, w):
    """a + w (b - a), evaluated as torch.lerp does (from b when |w| >= 0.5)."""
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1.0 - w)
