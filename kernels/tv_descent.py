"""One denoising iteration in one pass: the TV gradient fused with any update rule.

    E_k, max|g_k| = tv_descent_step_2d(u, u_next, f, ...)

reads the iterate u, computes the smoothed-TV energy E(u) and its gradient
g = dE/du row by row exactly as gdfast.kernels.tv does, and as soon as a row
of g is known applies the update rule to that row:

    u_next[row] <- u[row] ;  rule_step(u_next[row], g[row], state[row], t, lr, hyper)

The gradient never goes to memory: a row of it lives in the block's row
buffer while the rule uses it. A Nesterov iteration then moves about 48 bytes
per pixel (read u, f, b; write u_next, b) instead of the 64 of the TV kernel
followed by the rule (24 + 40), and the convergence checks come out of the
same pass: the energy and max|g| of u. A NaN or inf in u_next shows in the
energy of the next call (a NaN or inf pixel makes its energy term one).

u_next must not overlap u: u stays a complete iterate. Every rule of
gdfast.kernels is element-wise given t, so running it row by row gives the
same bits as one call over the whole image; the serial and parallel kernels
agree bit for bit, and so do 1 and 2 threads (the energy is summed as in tv).

The rule is passed as a function: numba compiles these kernels once per
rule, a few seconds each. Passed as a FunctionRef (gdfast.kernels.
function_refs; gdfast.denoise does) they are cached on disk and loaded by
the next process; passed as a dispatcher, compiled once per process.
"""
import numpy as np
from numba import prange

from .jit import PARALLEL, SERIAL, njit
from .reductions import max_abs
from .tuples import rows
from .tv import (
    ENERGY_ROW,
    block_rows,
    block_start_2d,
    block_start_3d,
    block_total,
    n_blocks_2d,
    n_blocks_3d,
    row_2d,
    row_3d,
    row_sum,
    segment_sums,
    sum8,
)

# Workspace rows of a 2-D block, after tv's FLUX_ROW and ENERGY_ROW: the
# gradient row, with the block's max|g| in its last column.
_G = 2
_ROWS_2D = 3


@njit(**SERIAL)
def tv_descent_workspace_2d(shape):
    """Workspace for the 2-D kernels: float64 (n_blocks, 3, W + 1).

    Parameters
    ----------
    shape : tuple of int
        (H, W).

    Returns
    -------
    ndarray of float64
    """
    return np.zeros((n_blocks_2d(shape), _ROWS_2D, shape[1] + 1))


@njit(**SERIAL)
def tv_descent_workspace_3d(shape):
    """Workspace for the 3-D kernels: float64 (n_blocks, H + 3, W + 1).

    Parameters
    ----------
    shape : tuple of int
        (D, H, W).

    Returns
    -------
    ndarray of float64
    """
    return np.zeros((n_blocks_3d(shape), shape[1] + 3, shape[2] + 1))


@njit(**SERIAL)
def max_or_nan(a, b):
    """max(a, b), NaN if either is NaN."""
    return a if (a > b or a != a) else b


@njit(**SERIAL)
def copy_2d(dst, src):
    """dst[...] = src for two 2-D arrays of one shape, by explicit loops:
    numba compiles a slice assignment of one array to another with a
    formatted error message for a shape mismatch, 5-15 s in each process."""
    if dst.shape != src.shape:
        raise ValueError("copy_2d: the arrays' shapes differ")
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]


@njit(**SERIAL)
def copy_3d(dst, src):
    """`copy_2d` for two 3-D arrays of one shape."""
    if dst.shape != src.shape:
        raise ValueError("copy_3d: the arrays' shapes differ")
    for k in range(dst.shape[0]):
        for i in range(dst.shape[1]):
            for j in range(dst.shape[2]):
                dst[k, i, j] = src[k, i, j]


@njit(**SERIAL)
def _row_update(x, g, rule_step, state, lo, t, lr, hyper, step):
    """x (holding a copy of the row of u) updated by rule_step with gradient g
    and the state entries lo..lo+W-1, if step (else x stays the copy)."""
    if step:
        rule_step(x, g, rows(state, slice(lo, lo + x.size)), t, lr, hyper)


# --- 2-D ---------------------------------------------------------------------

@njit(**SERIAL)
def _descent_block_2d(u, u_next, f, lam, eps2, anisotropic, rule_step, state, t, lr, hyper,
                      buf, r0, r1, window, step, row_sums):
    """Rows r0..r1-1; the energy and max|g| of the pixels inside window
    (rows w0..w1-1, columns c0..c1-1; None: all) go to the last column of
    buf, and (unless row_sums is None) row_sums[i - w0] <- the segment sums
    (tv.segment_sums) of window row i's energy terms. The rule steps only if
    step (else u_next is a copy of u)."""
    W = u.shape[1]
    g = buf[_G, :W]
    block_start_2d(u, f, lam, eps2, anisotropic, buf, r0)
    energy = g_max = 0.0
    for i in range(r0, r1):
        row_2d(u, f, i, lam, eps2, anisotropic, g, buf, True, u_next[i], True)
        _row_update(u_next[i], g, rule_step, state, i * W, t, lr, hyper, step)
        if window is None:
            energy += row_sum(buf[ENERGY_ROW], W)
            g_max = max_or_nan(g_max, max_abs(g))
        elif window[0] <= i < window[1]:
            energy += sum8(buf[ENERGY_ROW, window[2]:], window[3] - window[2])
            g_max = max_or_nan(g_max, max_abs(g[window[2]:window[3]]))
            if row_sums is not None:
                segment_sums(buf[ENERGY_ROW, window[2]:], window[3] - window[2],
                             row_sums[i - window[0]])
    buf[ENERGY_ROW, W], buf[_G, W] = energy, g_max


@njit(**SERIAL)
def _totals(work, slot_e, slot_g, col):
    """(energy, max|g|) over the blocks; the energy summed as tv sums it."""
    g_max = 0.0
    for b in range(work.shape[0]):
        g_max = max_or_nan(g_max, work[b, slot_g, col])
    return block_total(work, work.shape[0], slot_e, col), g_max


@njit(**SERIAL)
def tv_descent_step_2d(u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr, hyper,
                       work):
    """One iteration of ``rule_step`` on the smoothed-TV energy of a 2-D image.

    Parameters
    ----------
    u, f : float64 (H, W), C-contiguous
        The iterate (only read) and the data.
    u_next : float64 (H, W), C-contiguous
        Not overlapping u: overwritten with the new iterate.
    lam, eps, anisotropic
        As in `tv_energy_grad_2d`.
    rule_step : FunctionRef or numba dispatcher
        A serial gdfast.kernels rule (e.g. `nesterov_step`).
    state, t, lr, hyper
        The rule's arguments; state arrays have H * W entries (the image's
        pixels in C order) or 0 for unused options.
    work : ndarray
        ``tv_descent_workspace_2d(u.shape)``.

    Returns
    -------
    energy : float
        E(u).
    grad_max : float
        ``max|dE/du|`` at u.
    """
    n = work.shape[0]
    for b in range(n):
        r0, r1 = block_rows(u.shape[0], n, b)
        _descent_block_2d(u, u_next, f, lam, eps * eps, anisotropic, rule_step, state, t, lr,
                          hyper, work[b], r0, r1, None, True, None)
    return _totals(work, ENERGY_ROW, _G, u.shape[1])


@njit(**PARALLEL)
def tv_descent_step_2d_parallel(u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr,
                                hyper, work):
    """`tv_descent_step_2d` over blocks of rows in parallel; the same bits.

    Parameters
    ----------
    u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr, hyper, work
        As in `tv_descent_step_2d`.

    Returns
    -------
    energy, grad_max : float
        As `tv_descent_step_2d`'s.
    """
    n = work.shape[0]
    for b in prange(n):
        r0, r1 = block_rows(u.shape[0], n, b)
        _descent_block_2d(u, u_next, f, lam, eps * eps, anisotropic, rule_step, state, t, lr,
                          hyper, work[b], r0, r1, None, True, None)
    return _totals(work, ENERGY_ROW, _G, u.shape[1])


# --- 3-D ---------------------------------------------------------------------
# A block's buffers: rows 0..H+1 as in tv (z-fluxes, y-fluxes, energy terms),
# row H + 2 the gradient row; the block's energy and max|g| sit in the last
# column of rows H + 1 and H + 2.

@njit(**SERIAL)
def _descent_block_3d(u, u_next, f, lam, eps2, anisotropic, rule_step, state, t, lr, hyper,
                      buf, k0, k1, window, step, row_sums):
    """Planes k0..k1-1; the energy and max|g| of the voxels inside window
    (planes, rows, columns: w0..w1-1, i0..i1-1, c0..c1-1; None: all) go to
    the last column of buf, and (unless row_sums is None) row_sums[k - w0,
    i - i0] <- the segment sums (tv.segment_sums) of window row (k, i)'s
    energy terms. The rule steps only if step."""
    D, H, W = u.shape
    g = buf[H + 2, :W]
    block_start_3d(u, f, lam, eps2, anisotropic, buf, k0)
    energy = g_max = 0.0
    for k in range(k0, k1):
        buf[H, :W] = 0.0
        for i in range(H):
            row_3d(u, f, k, i, lam, eps2, anisotropic, g, buf, True, u_next[k, i], True)
            _row_update(u_next[k, i], g, rule_step, state, (k * H + i) * W, t, lr, hyper, step)
            if window is None:
                energy += row_sum(buf[H + 1], W)
                g_max = max_or_nan(g_max, max_abs(g))
            elif window[0] <= k < window[1] and window[2] <= i < window[3]:
                energy += sum8(buf[H + 1, window[4]:], window[5] - window[4])
                g_max = max_or_nan(g_max, max_abs(g[window[4]:window[5]]))
                if row_sums is not None:
                    segment_sums(buf[H + 1, window[4]:], window[5] - window[4],
                                 row_sums[k - window[0], i - window[2]])
    buf[H + 1, W], buf[H + 2, W] = energy, g_max


@njit(**SERIAL)
def tv_descent_step_3d(u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr, hyper,
                       work):
    """`tv_descent_step_2d` for a 3-D volume (D, H, W).

    Parameters
    ----------
    u, u_next, f, lam, eps, anisotropic, rule_step, t, lr, hyper
        As in `tv_descent_step_2d`, of shape (D, H, W).
    state : tuple of float64[::1]
        The rule's state arrays, of D * H * W entries (or 0).
    work : ndarray
        ``tv_descent_workspace_3d(u.shape)``.

    Returns
    -------
    energy, grad_max : float
        As `tv_descent_step_2d`'s.
    """
    n = work.shape[0]
    for b in range(n):
        k0, k1 = block_rows(u.shape[0], n, b)
        _descent_block_3d(u, u_next, f, lam, eps * eps, anisotropic, rule_step, state, t, lr,
                          hyper, work[b], k0, k1, None, True, None)
    H = u.shape[1]
    return _totals(work, H + 1, H + 2, u.shape[2])


@njit(**PARALLEL)
def tv_descent_step_3d_parallel(u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr,
                                hyper, work):
    """`tv_descent_step_3d` over blocks of planes in parallel; the same bits.

    Parameters
    ----------
    u, u_next, f, lam, eps, anisotropic, rule_step, state, t, lr, hyper, work
        As in `tv_descent_step_3d`.

    Returns
    -------
    energy, grad_max : float
        As `tv_descent_step_2d`'s.
    """
    n = work.shape[0]
    for b in prange(n):
        k0, k1 = block_rows(u.shape[0], n, b)
        _descent_block_3d(u, u_next, f, lam, eps * eps, anisotropic, rule_step, state, t, lr,
                          hyper, work[b], k0, k1, None, True, None)
    H = u.shape[1]
    return _totals(work, H + 1, H + 2, u.shape[2])


# --- several iterations on a tile --------------------------------------------
# Temporal blocking: a tile of the image with a halo of h pixels on the sides
# it shares with other tiles runs n <= h - 1 iterations on its own. The
# gradient at a pixel reads the iterate one pixel away (diagonals included),
# so the halo's wrong values (its outer edge sees the Neumann boundary that
# only the image's own edges have) move inward one pixel per iteration: the
# pixels at depth >= h stay exact through iterate n, and their energy terms
# and gradients through iterate n too (they read one pixel further).

@njit(**SERIAL)
def tv_tile_workspace_2d(shape):
    """Workspace for tv_descent_steps_2d on a tile of shape (H, W): one block."""
    return np.zeros((1, _ROWS_2D, shape[1] + 1))


@njit(**SERIAL)
def tv_tile_workspace_3d(shape):
    """Workspace for tv_descent_steps_3d on a tile of shape (D, H, W): one block."""
    return np.zeros((1, shape[1] + 3, shape[2] + 1))


@njit(**SERIAL)
def tv_descent_steps_2d(u, scratch, f, lam, eps, anisotropic, rule_step, state, t0, lrs, hyper,
                        window, records, row_sums, work):
    """n = lrs.size iterations of ``rule_step`` on a 2-D tile, serially:

        u_{j+1} = u_j after rule_step(t = t0 + j + 1, lr = lrs[j]),  j = 0 .. n - 1

    each one :func:`tv_descent_step_2d` on the tile, so the pixels inside
    window (rows w0..w1-1, columns c0..c1-1; the tile's interior) get the bits
    that the whole image's iterations give them, provided the tile extends
    at least n + 1 pixels beyond window on every side that is not the
    image's own edge.

    u, scratch  float64 (H, W), C-contiguous, not overlapping: the tile of
                iterate 0 in u; on return u holds iterate n (scratch too
                when m = n + 1)
    f           float64 (H, W): the data over the tile
    state       the rule's state arrays over the tile (H * W entries, C
                order, or 0); updated in place; t0: the steps taken before
    lrs         float64 (n,): the learning rate of each step
    window      (w0, w1, c0, c1), int
    records     float64 (m, 2), m = n + 1 or n: records[j] <- (E, max|dE/du|)
                of iterate j over the window, j < m (m = n: iterate n is not
                evaluated): E summed per row (eight accumulators, as tv)
                then over the rows in order, so a window's sums do not
                depend on the tile around it
    row_sums    None, or float64 (m, w1 - w0, tv.n_segments(c1 - c0)):
                row_sums[j, i] <- the segment sums of window row i's energy
                terms at iterate j; with c0 at a multiple of tv.ROW_SEGMENT
                in the image, those of the image's row (tv.row_sum adds
                them in order)
    work        tv_tile_workspace_2d(u.shape)
    """
    H, W = u.shape
    a, b = u, scratch
    eps2 = eps * eps
    n = lrs.shape[0]
    for j in range(records.shape[0]):
        step = j < n
        lr = lrs[j] if step else 0.0
        if row_sums is None:
            _descent_block_2d(a, b, f, lam, eps2, anisotropic, rule_step, state, t0 + j + 1,
                              lr, hyper, work[0], 0, H, window, step, None)
        else:
            _descent_block_2d(a, b, f, lam, eps2, anisotropic, rule_step, state, t0 + j + 1,
                              lr, hyper, work[0], 0, H, window, step, row_sums[j])
        records[j, 0], records[j, 1] = work[0, ENERGY_ROW, W], work[0, _G, W]
        a, b = b, a
    if records.shape[0] == n and n % 2 == 1:     # iterate n was written to scratch
        copy_2d(u, scratch)


@njit(**SERIAL)
def tv_descent_steps_3d(u, scratch, f, lam, eps, anisotropic, rule_step, state, t0, lrs, hyper,
                        window, records, row_sums, work):
    """:func:`tv_descent_steps_2d` on a 3-D tile: n = lrs.size iterations

        u_{j+1} = u_j after rule_step(t = t0 + j + 1, lr = lrs[j]),  j = 0 .. n - 1

    each one :func:`tv_descent_step_3d` on the tile, so the voxels inside
    window get the bits that the whole volume's iterations give them,
    provided the tile extends at least n + 1 voxels beyond window on every
    side that is not the volume's own face.

    u, scratch  float64 (D, H, W), C-contiguous, not overlapping: the tile
                of iterate 0 in u; on return u holds iterate n (scratch too
                when m = n + 1)
    f           float64 (D, H, W): the data over the tile
    state       the rule's state arrays over the tile (D * H * W entries,
                C order, or 0); updated in place; t0: the steps taken before
    lrs         float64 (n,): the learning rate of each step
    window      (w0, w1, i0, i1, c0, c1), int: planes, rows, columns
    records     float64 (m, 2), m = n + 1 or n: records[j] <- (E, max|dE/du|)
                of iterate j over the window, j < m (m = n: iterate n is not
                evaluated): E summed per row (tv.sum8 over the window's
                columns) then over the window's rows in (plane, row) order
    row_sums    None, or float64 (m, w1 - w0, i1 - i0, tv.n_segments(c1 -
                c0)): row_sums[j, k, i] <- the segment sums of window row
                (k, i)'s energy terms at iterate j; with c0 at a multiple
                of tv.ROW_SEGMENT in the volume, those of the volume's row
                (tv.row_sum adds them in order)
    work        tv_tile_workspace_3d(u.shape)
    """
    D, H, W = u.shape
    a, b = u, scratch
    eps2 = eps * eps
    n = lrs.shape[0]
    for j in range(records.shape[0]):
        step = j < n
        lr = lrs[j] if step else 0.0
        if row_sums is None:
            _descent_block_3d(a, b, f, lam, eps2, anisotropic, rule_step, state, t0 + j + 1,
                              lr, hyper, work[0], 0, D, window, step, None)
        else:
            _descent_block_3d(a, b, f, lam, eps2, anisotropic, rule_step, state, t0 + j + 1,
                              lr, hyper, work[0], 0, D, window, step, row_sums[j])
        records[j, 0], records[j, 1] = work[0, H + 1, W], work[0, H + 2, W]
        a, b = b, a
    if records.shape[0] == n and n % 2 == 1:     # iterate n was written to scratch
        copy_3d(u, scratch)
