"""K denoising iterations by tiles in memory: temporal blocking on one machine.

    tv_descent_tiled_2d(u, u_next, f, ..., state, state_next, t0, lrs, hyper,
                        tile_rows, tile_cols, records, row_sums)
    image_records(records, row_sums, shape, out)

takes a 2-D image from iterate k (u, state) to iterate k + K (u_next,
state_next), K = lrs.size. The image is cut into tiles of tile_rows x
tile_cols pixels (tile_cols = W: slabs of whole rows); each tile is copied
with a halo of K + 1 pixels into buffers of its own, runs K fused
iterations there (tv_descent.tv_descent_steps_2d, the kernel a gdfast.dask
task runs on its chunk) and writes its own pixels back.
Tiles run in parallel (numba's threads). Every pixel gets the bits of K
calls of tv_descent_step_2d on the whole image, and so do the energies:
tiles a whole number of row segments wide (tv.ROW_SEGMENT) hand over each
row segment's energy sum, and image_records adds them up in the order of
the whole-image kernels.

    tv_descent_tiled_3d(u, u_next, f, ..., state, state_next, t0, lrs, hyper,
                        tile_planes, tile_rows, tile_cols, records, row_sums)
    volume_records(records, row_sums, shape, out)

do the same for a 3-D volume (D, H, W): bricks of tile_planes x tile_rows
x tile_cols voxels (tile_rows = H, tile_cols = W: slabs of whole planes),
each with a halo of K + 1 voxels, K iterations each by
tv_descent.tv_descent_steps_3d (the kernel of a gdfast.dask task on a 3-D
chunk), tiles in parallel; every voxel gets the bits of K calls of
tv_descent_step_3d on the whole volume. Tiles a whole number of row
segments wide hand over row_sums[j, k, i, s], the sum of segment s of row
(k, i)'s energy terms at iterate t0 + j, and volume_records adds them as
tv_descent_step_3d does: the segments of a row in order (tv.row_sum), the
rows of a block of planes in (plane, row) order, the blocks
(tv.n_blocks_3d) in order. gdfast.denoise does not take this path (yet):
`gdfast bench blocking --volumes` measures it against the fused pass. The
redundant halo work of bricks P x R x W is ((P + 2K + 2) / P)((R + 2K + 2)
/ R) - 1.

The idea: a tile small enough for a core's cache moves the image through
main memory once per K iterations instead of once per iteration. It is
gdfast.denoise's path for 2-D images of 1024^2 pixels and more (K = 32,
tiles of 512^2), where `gdfast bench blocking` measured it 1.3-1.8x faster
than the fused pass; below that the image's arrays sit in the L3 cache and
the fused pass wins (docs/benchmarks.md).

The tile buffers are allocated once per call (K iterations), none per
iteration; the redundant halo work is ((c + 2K + 2) / c)^2 - 1 for square
tiles of side c, (r + 2K + 2) / r - 1 for slabs of r rows. The state is read
from one set of arrays and written to another (tiles read their halos from
it): one more copy of the optimizer's state than the fused pass needs.
"""
import numpy as np
from numba import prange
from numba.extending import overload

from .jit import PARALLEL, SERIAL, njit
from .tv import ROW_SEGMENT, block_rows, n_blocks_2d, n_blocks_3d, n_segments
from .tv_descent import (
    copy_2d,
    copy_3d,
    max_or_nan,
    tv_descent_steps_2d,
    tv_descent_steps_3d,
    tv_tile_workspace_2d,
    tv_tile_workspace_3d,
)


def tiles_of(arrays, shape, rows, cols):
    """The tile (rows, cols: slices) of each flat array of ``arrays`` holding
    an image of ``shape`` in C order, as new flat arrays (copies, always); empty arrays (a
    rule's unused options) stay empty. Built at compile time per tuple."""
    return tuple(a.reshape(shape)[rows, cols].flatten() if a.size else a[:0].copy()
                 for a in arrays)


@overload(tiles_of)
def _tiles_of(arrays, shape, rows, cols):
    if len(arrays) == 0:
        return lambda arrays, shape, rows, cols: ()

    def impl(arrays, shape, rows, cols):
        a = arrays[0]
        if a.size:
            tile = a.reshape(shape)[rows, cols].flatten()
        else:
            tile = np.empty(0)
        return (tile,) + tiles_of(arrays[1:], shape, rows, cols)
    return impl


def put_tiles(arrays, shape, rows, cols, tiles, tile_shape, tile_rows, tile_cols):
    """arrays[i] (flat, an image of ``shape``)[rows, cols] <- tiles[i] (flat,
    tile_shape)[tile_rows, tile_cols], for the non-empty arrays."""
    for a, t in zip(arrays, tiles):
        if a.size:
            a.reshape(shape)[rows, cols] = t.reshape(tile_shape)[tile_rows, tile_cols]


@overload(put_tiles)
def _put_tiles(arrays, shape, rows, cols, tiles, tile_shape, tile_rows, tile_cols):
    if len(arrays) == 0:
        return lambda arrays, shape, rows, cols, tiles, tile_shape, tile_rows, tile_cols: None

    def impl(arrays, shape, rows, cols, tiles, tile_shape, tile_rows, tile_cols):
        if arrays[0].size:
            copy_2d(arrays[0].reshape(shape)[rows, cols],
                    tiles[0].reshape(tile_shape)[tile_rows, tile_cols])
        put_tiles(arrays[1:], shape, rows, cols, tiles[1:], tile_shape, tile_rows, tile_cols)
    return impl


@njit(**PARALLEL)
def tv_descent_tiled_2d(u, u_next, f, lam, eps, anisotropic, rule_step, state, state_next, t0,
                        lrs, hyper, tile_rows, tile_cols, records, row_sums):
    """K = lrs.size iterations of ``rule_step`` on a 2-D image, by tiles:

        u_next, state_next <- iterate t0 + K, from u, state (iterate t0)

    the bits of K calls of tv_descent.tv_descent_step_2d(_parallel).

    u, u_next, f  float64 (H, W), C-contiguous; u_next must not overlap u
    lam, eps, anisotropic, rule_step, hyper   as tv_descent_step_2d
    state, state_next   the rule's state arrays (H * W entries, C order, or
                  0), read from state and written to state_next (not
                  overlapping: tiles read their halos from state)
    t0            the steps taken before; lrs float64 (K,): each step's lr
    tile_rows, tile_cols   the tiles' shape in pixels (>= 1 each)
    records       float64 (n_tiles, m, 2), m = K or K + 1, n_tiles =
                  ceil(H / tile_rows) * ceil(W / tile_cols), tiles in C
                  order: records[b, j] <- (E, max|dE/du|) of iterate t0 + j
                  over tile b's own pixels (m = K: iterate t0 + K is not
                  evaluated, as K calls of tv_descent_step_2d do not)
    row_sums      None, or float64 (m, H, tv.n_segments(W)): row_sums[j, i]
                  <- the segment sums of row i's energy terms at iterate t0
                  + j, from which image_records gives the energies of
                  tv_descent_step_2d bit for bit; then tile_cols must be a
                  multiple of tv.ROW_SEGMENT or >= W (ValueError otherwise)
    """
    H, W = u.shape
    if row_sums is not None and tile_cols % ROW_SEGMENT != 0 and tile_cols < W:
        raise ValueError("tile_cols must be a multiple of tv.ROW_SEGMENT or >= W for row_sums")
    halo = lrs.shape[0] + 1
    ny = (H + tile_rows - 1) // tile_rows
    nx = (W + tile_cols - 1) // tile_cols
    for b in prange(ny * nx):
        r0 = (b // nx) * tile_rows
        c0 = (b % nx) * tile_cols
        r1 = min(r0 + tile_rows, H)
        c1 = min(c0 + tile_cols, W)
        R0, R1 = max(r0 - halo, 0), min(r1 + halo, H)
        C0, C1 = max(c0 - halo, 0), min(c1 + halo, W)
        rows, cols = slice(R0, R1), slice(C0, C1)
        tu = u[rows, cols].copy()    # copies even where the view is contiguous: the tile
        tf = f[rows, cols].copy()    # is overwritten (u is not) and sits in the cache
        ts = tiles_of(state, (H, W), rows, cols)
        window = (r0 - R0, r1 - R0, c0 - C0, c1 - C0)
        if row_sums is None:
            tv_descent_steps_2d(tu, np.empty_like(tu), tf, lam, eps, anisotropic, rule_step, ts,
                                t0, lrs, hyper, window, records[b], None,
                                tv_tile_workspace_2d(tu.shape))
        else:
            s0 = c0 // ROW_SEGMENT
            tv_descent_steps_2d(tu, np.empty_like(tu), tf, lam, eps, anisotropic, rule_step, ts,
                                t0, lrs, hyper, window, records[b],
                                row_sums[:, r0:r1, s0:s0 + n_segments(c1 - c0)],
                                tv_tile_workspace_2d(tu.shape))
        own_rows, own_cols = slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0)
        copy_2d(u_next[r0:r1, c0:c1], tu[own_rows, own_cols])
        put_tiles(state_next, (H, W), slice(r0, r1), slice(c0, c1), ts, tu.shape, own_rows,
                  own_cols)


@njit(**SERIAL)
def image_records(records, row_sums, shape, out):
    """out[j] <- (E, max|dE/du|) of the image at iterate t0 + j from a
    tv_descent_tiled_2d call's records and row_sums: bit for bit what
    tv_descent_step_2d returns there (E summed per row as tv.row_sum, per
    block of rows in order, then over blocks; max|g| exact in any order).

    records (n_tiles, m, 2), row_sums (m, H, n_segments(W)), shape (H, W),
    out float64 (m, 2).
    """
    H = shape[0]
    n = n_blocks_2d(shape)
    for j in range(row_sums.shape[0]):
        total = 0.0
        for b in range(n):
            r0, r1 = block_rows(H, n, b)
            energy = 0.0
            for i in range(r0, r1):
                row = 0.0
                for s in range(row_sums.shape[2]):
                    row += row_sums[j, i, s]
                energy += row
            total += energy
        g_max = 0.0
        for b in range(records.shape[0]):
            g_max = max_or_nan(g_max, records[b, j, 1])
        out[j, 0], out[j, 1] = total, g_max


# --- 3-D ---------------------------------------------------------------------

def tiles_of_3d(arrays, shape, planes, rows, cols):
    """`tiles_of` for flat arrays holding a volume of ``shape`` (D, H, W):
    the tile (planes, rows, cols: slices) of each, as new flat arrays."""
    return tuple(a.reshape(shape)[planes, rows, cols].flatten() if a.size else a[:0].copy()
                 for a in arrays)


@overload(tiles_of_3d)
def _tiles_of_3d(arrays, shape, planes, rows, cols):
    if len(arrays) == 0:
        return lambda arrays, shape, planes, rows, cols: ()

    def impl(arrays, shape, planes, rows, cols):
        a = arrays[0]
        if a.size:
            tile = a.reshape(shape)[planes, rows, cols].flatten()
        else:
            tile = np.empty(0)
        return (tile,) + tiles_of_3d(arrays[1:], shape, planes, rows, cols)
    return impl


def put_tiles_3d(arrays, shape, own, tiles, tile_shape, inner):
    """arrays[i] (flat, a volume of ``shape``)[own] <- tiles[i] (flat,
    tile_shape)[inner], for the non-empty arrays; own and inner: tuples of
    three slices."""
    for a, t in zip(arrays, tiles):
        if a.size:
            a.reshape(shape)[own] = t.reshape(tile_shape)[inner]


@overload(put_tiles_3d)
def _put_tiles_3d(arrays, shape, own, tiles, tile_shape, inner):
    if len(arrays) == 0:
        return lambda arrays, shape, own, tiles, tile_shape, inner: None

    def impl(arrays, shape, own, tiles, tile_shape, inner):
        if arrays[0].size:
            copy_3d(arrays[0].reshape(shape)[own[0], own[1], own[2]],
                    tiles[0].reshape(tile_shape)[inner[0], inner[1], inner[2]])
        put_tiles_3d(arrays[1:], shape, own, tiles[1:], tile_shape, inner)
    return impl


@njit(**PARALLEL)
def tv_descent_tiled_3d(u, u_next, f, lam, eps, anisotropic, rule_step, state, state_next, t0,
                        lrs, hyper, tile_planes, tile_rows, tile_cols, records, row_sums):
    """K = lrs.size iterations of ``rule_step`` on a 3-D volume, by tiles:

        u_next, state_next <- iterate t0 + K, from u, state (iterate t0)

    the bits of K calls of tv_descent.tv_descent_step_3d(_parallel). Each
    tile of tile_planes x tile_rows x tile_cols voxels is copied with a halo
    of K + 1 voxels on the faces it shares with other tiles and runs K
    iterations there (tv_descent.tv_descent_steps_3d); tiles in parallel.

    u, u_next, f  float64 (D, H, W), C-contiguous; u_next must not overlap u
    lam, eps, anisotropic, rule_step, hyper   as tv_descent_step_3d
    state, state_next   the rule's state arrays (D * H * W entries, C order,
                  or 0), read from state and written to state_next (not
                  overlapping: tiles read their halos from state)
    t0            the steps taken before; lrs float64 (K,): each step's lr
    tile_planes, tile_rows, tile_cols   the tiles' shape in voxels (>= 1
                  each; tile_rows = H, tile_cols = W: slabs of whole planes)
    records       float64 (n_tiles, m, 2), m = K or K + 1, n_tiles =
                  ceil(D / tile_planes) * ceil(H / tile_rows) * ceil(W /
                  tile_cols), tiles in C order: records[b, j] <- (E,
                  max|dE/du|) of iterate t0 + j over tile b's own voxels
                  (m = K: iterate t0 + K is not evaluated)
    row_sums      None, or float64 (m, D, H, tv.n_segments(W)): row_sums[j,
                  k, i] <- the segment sums of row (k, i)'s energy terms at
                  iterate t0 + j, from which volume_records gives the
                  energies of tv_descent_step_3d bit for bit; then tile_cols
                  must be a multiple of tv.ROW_SEGMENT or >= W (ValueError
                  otherwise)
    """
    D, H, W = u.shape
    if row_sums is not None and tile_cols % ROW_SEGMENT != 0 and tile_cols < W:
        raise ValueError("tile_cols must be a multiple of tv.ROW_SEGMENT or >= W for row_sums")
    halo = lrs.shape[0] + 1
    nz = (D + tile_planes - 1) // tile_planes
    ny = (H + tile_rows - 1) // tile_rows
    nx = (W + tile_cols - 1) // tile_cols
    for b in prange(nz * ny * nx):
        p0 = (b // (ny * nx)) * tile_planes
        r0 = ((b // nx) % ny) * tile_rows
        c0 = (b % nx) * tile_cols
        p1, r1, c1 = min(p0 + tile_planes, D), min(r0 + tile_rows, H), min(c0 + tile_cols, W)
        P0, P1 = max(p0 - halo, 0), min(p1 + halo, D)
        R0, R1 = max(r0 - halo, 0), min(r1 + halo, H)
        C0, C1 = max(c0 - halo, 0), min(c1 + halo, W)
        planes, rows, cols = slice(P0, P1), slice(R0, R1), slice(C0, C1)
        tu = u[planes, rows, cols].copy()
        tf = f[planes, rows, cols].copy()
        ts = tiles_of_3d(state, (D, H, W), planes, rows, cols)
        window = (p0 - P0, p1 - P0, r0 - R0, r1 - R0, c0 - C0, c1 - C0)
        if row_sums is None:
            tv_descent_steps_3d(tu, np.empty_like(tu), tf, lam, eps, anisotropic, rule_step, ts,
                                t0, lrs, hyper, window, records[b], None,
                                tv_tile_workspace_3d(tu.shape))
        else:
            s0 = c0 // ROW_SEGMENT
            tv_descent_steps_3d(tu, np.empty_like(tu), tf, lam, eps, anisotropic, rule_step, ts,
                                t0, lrs, hyper, window, records[b],
                                row_sums[:, p0:p1, r0:r1, s0:s0 + n_segments(c1 - c0)],
                                tv_tile_workspace_3d(tu.shape))
        inner = (slice(p0 - P0, p1 - P0), slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))
        own = (slice(p0, p1), slice(r0, r1), slice(c0, c1))
        copy_3d(u_next[own[0], own[1], own[2]], tu[inner[0], inner[1], inner[2]])
        put_tiles_3d(state_next, (D, H, W), own, ts, tu.shape, inner)


@njit(**SERIAL)
def volume_records(records, row_sums, shape, out):
    """out[j] <- (E, max|dE/du|) of the volume at iterate t0 + j from a
    tv_descent_tiled_3d call's records and row_sums: bit for bit what
    tv_descent_step_3d returns there (E summed per row as tv.row_sum, over
    the rows of a block of planes in (plane, row) order, then over the
    blocks in order; max|g| exact in any order).

    records (n_tiles, m, 2), row_sums (m, D, H, n_segments(W)), shape (D, H,
    W), out float64 (m, 2).
    """
    D, H = shape[0], shape[1]
    n = n_blocks_3d(shape)
    for j in range(row_sums.shape[0]):
        total = 0.0
        for b in range(n):
            k0, k1 = block_rows(D, n, b)
            energy = 0.0
            for k in range(k0, k1):
                for i in range(H):
                    row = 0.0
                    for s in range(row_sums.shape[3]):
                        row += row_sums[j, k, i, s]
                    energy += row
            total += energy
        g_max = 0.0
        for b in range(records.shape[0]):
            g_max = max_or_nan(g_max, records[b, j, 1])
        out[j, 0], out[j, 1] = total, g_max
