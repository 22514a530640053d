"""Smoothed total-variation denoising energy and its exact gradient.

    E(u) = 1/2 sum (u - f)^2 + lam * sum_p phi_p

isotropic:    phi_p = sqrt(|grad u|_p^2 + eps^2)
anisotropic:  phi_p = sqrt(dx_p^2 + eps^2) + sqrt(dy_p^2 + eps^2) (+ dz in 3-D)

grad u is the forward difference with Neumann boundary: dx_p = u[p + e_x] - u[p],
and 0 on the last column (row, plane) — the discretisation of
skimage.restoration.denoise_tv_chambolle, whose ``weight`` is lam. The
gradient is exact for this energy:

    dE/du = (u - f) - lam * div(grad u / phi)

with div the backward-difference divergence (the negative adjoint of the
forward difference): (div p)_q = sum_axes (p_a[q] - p_a[q - e_a]), p_a[-1] = 0.

Layout: one pass over the image. Each block of rows (2-D) or planes (3-D) is
swept in order; every pixel's fluxes p = grad u / phi are computed once
(one square root per pixel in the isotropic case) into row buffers and reused
by the neighbours that need them (the left neighbour's x-flux is carried in
a register, the y- and z-fluxes of the pixels above and behind sit in row and
plane buffers); each block recomputes only the fluxes of the row (plane) just
before it. The energy is summed per row (row_sum: eight accumulators over
each segment of ROW_SEGMENT columns, the segments in order), per block in
row order, then over blocks in block order: the same bits for any thread
count, and the serial and parallel kernels agree bit for bit. The segments
let tiles of whole segments give a row's sum piece by piece
(gdfast.kernels.tv_tiles).

Workspace (allocated once by the caller, see ``tv_workspace_2d/3d``) holds
the row buffers of every block and the per-block energies, so a call
allocates nothing.
"""
import math

import numpy as np
from numba import prange

from .jit import PARALLEL, SERIAL, njit

MAX_BLOCKS_2D = 64   # row blocks of a 2-D image (fewer when it has fewer rows)
MAX_BLOCKS_3D = 16   # plane blocks of a 3-D volume (each holds a plane buffer)
# row buffers of a 2-D block; buf[ENERGY_ROW, W] holds the block's energy
FLUX_ROW, ENERGY_ROW = 0, 1
# a row's energy terms are summed in segments of this many columns (row_sum)
ROW_SEGMENT = 256
_ROWS_2D = 2


@njit(**SERIAL)
def n_blocks_2d(shape):
    return min(shape[0], MAX_BLOCKS_2D)


@njit(**SERIAL)
def n_blocks_3d(shape):
    return min(shape[0], MAX_BLOCKS_3D)


@njit(**SERIAL)
def tv_workspace_2d(shape):
    """Workspace for the 2-D kernels: float64 (n_blocks, 2, W + 1).

    Allocate it once per image shape; the kernels allocate nothing.

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
def tv_workspace_3d(shape):
    """Workspace for the 3-D kernels: float64 (n_blocks, H + 2, W + 1).

    Allocate it once per volume shape; the kernels allocate nothing.

    Parameters
    ----------
    shape : tuple of int
        (D, H, W).

    Returns
    -------
    ndarray of float64
    """
    return np.zeros((n_blocks_3d(shape), shape[1] + 2, shape[2] + 1))


@njit(**SERIAL)
def block_rows(n, n_blocks, b):
    return b * n // n_blocks, (b + 1) * n // n_blocks


@njit(**SERIAL)
def sum8(a, n):
    """sum(a[:n]) with eight interleaved accumulators, in a fixed order."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m = n - n % 8
    for j in range(0, m, 8):
        s0 += a[j]
        s1 += a[j + 1]
        s2 += a[j + 2]
        s3 += a[j + 3]
        s4 += a[j + 4]
        s5 += a[j + 5]
        s6 += a[j + 6]
        s7 += a[j + 7]
    for j in range(m, n):
        s0 += a[j]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(**SERIAL)
def n_segments(n):
    """The segments of ROW_SEGMENT entries (the last one shorter) of a row of n."""
    return (n + ROW_SEGMENT - 1) // ROW_SEGMENT


@njit(**SERIAL)
def segment_sums(a, n, out):
    """out[s] <- sum8 of a's segment s (entries s * ROW_SEGMENT .. up to n)."""
    for s in range(n_segments(n)):
        lo = s * ROW_SEGMENT
        out[s] = sum8(a[lo:], min(ROW_SEGMENT, n - lo))


@njit(**SERIAL)
def row_sum(a, n):
    """sum(a[:n]) as the energy of a row is summed: sum8 over each segment of
    ROW_SEGMENT entries, the segments' sums added in order (for n <=
    ROW_SEGMENT, sum8 itself: 0.0 + s is s)."""
    total = 0.0
    for lo in range(0, n, ROW_SEGMENT):
        total += sum8(a[lo:], min(ROW_SEGMENT, n - lo))
    return total


@njit(**SERIAL)
def _flux_2d(dx, dy, eps2, lam, anisotropic):
    """(px, py, lam * phi) at one pixel of a 2-D image."""
    if anisotropic:
        fx = math.sqrt(dx * dx + eps2)
        fy = math.sqrt(dy * dy + eps2)
        return dx / fx, dy / fy, lam * (fx + fy)
    phi = math.sqrt(dx * dx + dy * dy + eps2)
    inv = 1.0 / phi
    return dx * inv, dy * inv, lam * phi


@njit(**SERIAL)
def _flux_3d(dx, dy, dz, eps2, lam, anisotropic):
    """(px, py, pz, lam * phi) at one voxel of a 3-D volume."""
    if anisotropic:
        fx = math.sqrt(dx * dx + eps2)
        fy = math.sqrt(dy * dy + eps2)
        fz = math.sqrt(dz * dz + eps2)
        return dx / fx, dy / fy, dz / fz, lam * (fx + fy + fz)
    phi = math.sqrt(dx * dx + dy * dy + dz * dz + eps2)
    inv = 1.0 / phi
    return dx * inv, dy * inv, dz * inv, lam * phi


@njit(**SERIAL)
def block_total(work, n, slot_row, slot_col):
    """Sum of the blocks' energies, in block order."""
    total = 0.0
    for b in range(n):
        total += work[b, slot_row, slot_col]
    return total


# --- 2-D ---------------------------------------------------------------------

@njit(**SERIAL)
def row_2d(u, f, i, lam, eps2, anisotropic, g_row, buf, want_grad, u_copy, want_copy):
    """Row i: energy terms into buf[ENERGY_ROW]; g_row <- dE/du of row i (if
    want_grad) and u_copy <- u[i] (if want_copy), both float64 (W,); buf[FLUX_ROW]
    holds the y-fluxes of row i - 1 on entry and those of row i on return.

    The x-flux of the left neighbour is carried from one pixel to the next,
    the y-flux of the pixel above comes from the row buffer: every flux is
    computed once.
    """
    H, W = u.shape
    py_up, e = buf[FLUX_ROW], buf[ENERGY_ROW]
    down = i + 1 if i + 1 < H else i          # last row: dy = 0 (Neumann)
    left = 0.0
    for j in range(W):
        uij = u[i, j]
        dx = u[i, j + 1] - uij if j + 1 < W else 0.0   # last column: dx = 0
        px, py, tv = _flux_2d(dx, u[down, j] - uij, eps2, lam, anisotropic)
        r = uij - f[i, j]
        e[j] = 0.5 * r * r + tv
        if want_grad:
            g_row[j] = r - lam * ((px - left) + (py - py_up[j]))
        if want_copy:
            u_copy[j] = uij
        py_up[j] = py
        left = px


@njit(**SERIAL)
def block_start_2d(u, f, lam, eps2, anisotropic, buf, r0):
    """buf[FLUX_ROW] <- the y-fluxes of row r0 - 1 (0 above the first row), which
    the block starting at row r0 needs; nothing else is written."""
    buf[FLUX_ROW, :u.shape[1]] = 0.0
    if r0 > 0:
        e = buf[ENERGY_ROW]
        row_2d(u, f, r0 - 1, lam, eps2, anisotropic, e, buf, False, e, False)


@njit(**SERIAL)
def _block_2d(u, f, lam, eps2, anisotropic, g, buf, r0, r1, want_grad):
    """Rows r0..r1-1 of a 2-D image; the block's energy goes to buf[ENERGY_ROW, W]."""
    W = u.shape[1]
    block_start_2d(u, f, lam, eps2, anisotropic, buf, r0)
    energy = 0.0
    for i in range(r0, r1):
        row_2d(u, f, i, lam, eps2, anisotropic, g[i], buf, want_grad, g[i], False)
        energy += row_sum(buf[ENERGY_ROW], W)
    buf[ENERGY_ROW, W] = energy


@njit(**SERIAL)
def tv_energy_grad_2d(u, f, lam, eps, g, work, anisotropic=False):
    """E(u) and g <- dE/du for a 2-D image, serially.

    Parameters
    ----------
    u : float64 (H, W), C-contiguous
        The image, H, W >= 1.
    f : float64 (H, W), C-contiguous
        The data.
    lam : float
        >= 0, the weight of the TV term.
    eps : float
        > 0, the smoothing.
    g : float64 (H, W), C-contiguous
        Overwritten with dE/du.
    work : ndarray
        ``tv_workspace_2d(u.shape)``.
    anisotropic : bool
        The anisotropic energy instead of the isotropic one.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in range(n):
        r0, r1 = block_rows(u.shape[0], n, b)
        _block_2d(u, f, lam, eps * eps, anisotropic, g, work[b], r0, r1, True)
    return block_total(work, n, ENERGY_ROW, u.shape[1])


@njit(**PARALLEL)
def tv_energy_grad_2d_parallel(u, f, lam, eps, g, work, anisotropic=False):
    """`tv_energy_grad_2d` over blocks of rows in parallel; the same bits.

    Parameters
    ----------
    u, f, lam, eps, g, work, anisotropic
        As in `tv_energy_grad_2d`.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in prange(n):
        r0, r1 = block_rows(u.shape[0], n, b)
        _block_2d(u, f, lam, eps * eps, anisotropic, g, work[b], r0, r1, True)
    return block_total(work, n, ENERGY_ROW, u.shape[1])


@njit(**PARALLEL)
def tv_energy_2d(u, f, lam, eps, work, anisotropic=False):
    """E(u) alone for a 2-D image, in parallel; the same bits as the fused kernels.

    Parameters
    ----------
    u, f, lam, eps, work, anisotropic
        As in `tv_energy_grad_2d`.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in prange(n):
        r0, r1 = block_rows(u.shape[0], n, b)
        _block_2d(u, f, lam, eps * eps, anisotropic, u, work[b], r0, r1, False)
    return block_total(work, n, ENERGY_ROW, u.shape[1])


# --- 3-D ---------------------------------------------------------------------
# A block's buffers (H + 2 rows of W + 1): rows 0..H-1 hold the z-fluxes of the
# previous plane, row H the y-fluxes of the row above, row H + 1 the energy
# terms of the current row, and buf[H + 1, W] the block's energy.

@njit(**SERIAL)
def row_3d(u, f, k, i, lam, eps2, anisotropic, g_row, buf, want_grad, u_copy, want_copy):
    """Row (k, i); like row_2d (g_row: e.g. g[k, i]), with the z-flux of the
    voxel behind from buf[i]."""
    D, H, W = u.shape
    pz_up, py_up, e = buf[i], buf[H], buf[H + 1]
    down = i + 1 if i + 1 < H else i
    back = k + 1 if k + 1 < D else k
    left = 0.0
    for j in range(W):
        uij = u[k, i, j]
        dx = u[k, i, j + 1] - uij if j + 1 < W else 0.0
        px, py, pz, tv = _flux_3d(dx, u[k, down, j] - uij, u[back, i, j] - uij, eps2, lam,
                                  anisotropic)
        r = uij - f[k, i, j]
        e[j] = 0.5 * r * r + tv
        if want_grad:
            g_row[j] = r - lam * ((px - left) + (py - py_up[j]) + (pz - pz_up[j]))
        if want_copy:
            u_copy[j] = uij
        py_up[j] = py
        pz_up[j] = pz
        left = px


@njit(**SERIAL)
def block_start_3d(u, f, lam, eps2, anisotropic, buf, k0):
    """buf[:H] <- the z-fluxes of plane k0 - 1 (0 before the first plane),
    which the block starting at plane k0 needs; buf[H], buf[H + 1] scratch."""
    D, H, W = u.shape
    buf[:H + 1, :W] = 0.0
    if k0 > 0:
        e = buf[H + 1]
        for i in range(H):
            row_3d(u, f, k0 - 1, i, lam, eps2, anisotropic, e, buf, False, e, False)


@njit(**SERIAL)
def _block_3d(u, f, lam, eps2, anisotropic, g, buf, k0, k1, want_grad):
    """Planes k0..k1-1 of a 3-D volume; the block's energy goes to buf[H + 1, W]."""
    D, H, W = u.shape
    block_start_3d(u, f, lam, eps2, anisotropic, buf, k0)
    energy = 0.0
    for k in range(k0, k1):
        buf[H, :W] = 0.0
        for i in range(H):
            row_3d(u, f, k, i, lam, eps2, anisotropic, g[k, i], buf, want_grad, g[k, i],
                    False)
            energy += row_sum(buf[H + 1], W)
    buf[H + 1, W] = energy


@njit(**SERIAL)
def tv_energy_grad_3d(u, f, lam, eps, g, work, anisotropic=False):
    """E(u) and g <- dE/du for a 3-D volume, serially.

    Parameters
    ----------
    u, f : float64 (D, H, W), C-contiguous
        The volume and the data.
    lam : float
        >= 0, the weight of the TV term.
    eps : float
        > 0, the smoothing.
    g : float64 (D, H, W), C-contiguous
        Overwritten with dE/du.
    work : ndarray
        ``tv_workspace_3d(u.shape)``.
    anisotropic : bool
        The anisotropic energy instead of the isotropic one.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in range(n):
        k0, k1 = block_rows(u.shape[0], n, b)
        _block_3d(u, f, lam, eps * eps, anisotropic, g, work[b], k0, k1, True)
    return block_total(work, n, u.shape[1] + 1, u.shape[2])


@njit(**PARALLEL)
def tv_energy_grad_3d_parallel(u, f, lam, eps, g, work, anisotropic=False):
    """`tv_energy_grad_3d` over blocks of planes in parallel; the same bits.

    Parameters
    ----------
    u, f, lam, eps, g, work, anisotropic
        As in `tv_energy_grad_3d`.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in prange(n):
        k0, k1 = block_rows(u.shape[0], n, b)
        _block_3d(u, f, lam, eps * eps, anisotropic, g, work[b], k0, k1, True)
    return block_total(work, n, u.shape[1] + 1, u.shape[2])


@njit(**PARALLEL)
def tv_energy_3d(u, f, lam, eps, work, anisotropic=False):
    """E(u) alone for a 3-D volume, in parallel; the same bits as the fused kernels.

    Parameters
    ----------
    u, f, lam, eps, work, anisotropic
        As in `tv_energy_grad_3d`.

    Returns
    -------
    float
        E(u).
    """
    n = work.shape[0]
    for b in prange(n):
        k0, k1 = block_rows(u.shape[0], n, b)
        _block_3d(u, f, lam, eps * eps, anisotropic, u, work[b], k0, k1, False)
    return block_total(work, n, u.shape[1] + 1, u.shape[2])
