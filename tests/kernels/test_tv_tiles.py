"""K iterations by tiles (gdfast.kernels.tv_tiles) against K whole-image
fused iterations (tv_descent_step_2d): the same bits for the iterate and the
state, for every rule, any tile side; inputs only read; and with row sums,
tiles a whole number of row segments wide, the image's energies and max|g|
to the bit (what gdfast.denoise's tiled path returns). The rules go in as
denoise passes them (FunctionRefs, gdfast.kernels.function_refs.cacheable):
the kernels compiled for them are cached on disk and shared by the test
processes (test_function_refs.py: a ref gives the dispatcher's bits).

The same for 3-D volumes (tv_descent_tiled_3d against tv_descent_step_3d;
bricks, slabs of planes, pencils), whose row sums give the volume's
energies and max|g| to the bit through volume_records."""
import numpy as np
import pytest

from gdfast.kernels import tv_descent
from gdfast.kernels.function_refs import cacheable
from gdfast.kernels.tv import ROW_SEGMENT, n_segments
from gdfast.kernels.tv_tiles import (
    image_records,
    tv_descent_tiled_2d,
    tv_descent_tiled_3d,
    volume_records,
)
from kernel_helpers import TV_RULES as OPTIMIZERS

# with -n, the tests of one rule run on one worker (tests/conftest.py): they
# compile the same kernels for it, once there instead of once in each worker
COMPILE_GROUP = ("name", "tv-rule")


def _whole_image(f, u, opt, state, t0, K, lam, eps, anisotropic):
    """K fused iterations of the whole image; their (E, max|g|), iterates t0 .. t0 + K."""
    u, u_next = u.copy(), np.empty_like(u)
    step = cacheable(opt.rule.step)
    work = tv_descent.tv_descent_workspace_2d(f.shape)
    records = []
    for j in range(K + 1):
        t = t0 + j + 1
        if j < K:
            records.append(tv_descent.tv_descent_step_2d(
                u, u_next, f, lam, eps, anisotropic, step, state.arrays, t, opt.lr(t),
                opt.hyper, work))
            u, u_next = u_next, u
        else:
            spare = tuple(a.copy() for a in state.arrays)      # the step is dropped
            records.append(tv_descent.tv_descent_step_2d(
                u, u_next, f, lam, eps, anisotropic, step, spare, t, 0.0, opt.hyper,
                work))
    return u, np.array(records)


def _tiled(f, u, opt, state, t0, K, tile, lam, eps, anisotropic, m=None, row_sums=False):
    """K iterations by tiles; (iterate, state, records) and with row_sums
    the image's records from them (image_records). m: the iterates evaluated
    (K + 1 by default, or K)."""
    H, W = f.shape
    m = K + 1 if m is None else m
    u_next = np.full_like(u, np.nan)
    state_next = opt.init(u.ravel())
    for a in state_next.arrays:
        a[...] = np.nan
    rows, cols = tile if isinstance(tile, tuple) else (tile, tile)
    n_tiles = -(-H // rows) * -(-W // cols)
    records = np.full((n_tiles, m, 2), np.nan)
    sums = np.full((m, H, n_segments(W)), np.nan) if row_sums else None
    lrs = np.array([opt.lr(t0 + j + 1) for j in range(K)])
    tv_descent_tiled_2d(u, u_next, f, lam, eps, anisotropic, cacheable(opt.rule.step), state.arrays,
                        state_next.arrays, t0, lrs, opt.hyper, rows, cols, records, sums)
    if not row_sums:
        return u_next, state_next, records
    image = np.full((m, 2), np.nan)
    image_records(records, sums, f.shape, image)
    return u_next, state_next, image


def _started(f, opt, steps, lam, eps, anisotropic):
    """Iterate ``steps`` of a whole-image run from f, and its state (not fresh)."""
    u, state = f.copy(), opt.init(f.ravel())
    if steps:
        u, _ = _whole_image(f, u, opt, state, 0, steps, lam, eps, anisotropic)
    return u, state


def _same_bits(f, opt, started, K, tile, lam, eps, anisotropic, **options):
    """K iterations by tiles from iterate ``started`` of a whole-image run:
    asserts that they only read their inputs and give the whole image's
    iterate and state to the bit; returns (the tiled call's records, the
    whole image's records)."""
    u, state = _started(f, opt, started, lam, eps, anisotropic)
    u_before, state_before = u.copy(), [a.copy() for a in state.arrays]
    got, got_state, records = _tiled(f, u, opt, state, started, K, tile, lam, eps, anisotropic,
                                     **options)
    assert np.array_equal(u, u_before)                                     # only read
    assert all(np.array_equal(a, b) for a, b in zip(state.arrays, state_before))
    want, want_records = _whole_image(f, u, opt, state, started, K, lam, eps, anisotropic)
    assert np.array_equal(got, want)
    for a, b in zip(got_state.arrays, state.arrays):
        assert np.array_equal(a, b)
    return records, want_records


@pytest.mark.nojit
@pytest.mark.parametrize("shape,tile,K,anisotropic", [
    ((37, 29), 8, 3, False),       # tiles smaller than the halo, sides not dividing
    ((37, 29), 8, 3, True),
    ((37, 29), 64, 5, False),      # one tile: the whole image
    ((20, 41), 13, 1, False),      # K = 1
    ((30, 12), 7, 4, False),       # tiles spanning the width: contiguous views
    ((41, 23), (9, 23), 3, False), # slabs of whole rows
    ((41, 23), (5, 11), 2, True),  # oblong tiles
])
@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adam"])
def test_tiles_give_the_bits_of_the_whole_image(name, shape, tile, K, anisotropic):
    rng = np.random.default_rng(7)
    f = rng.random(shape)
    lam, eps = 0.2, 0.05
    records, want_records = _same_bits(f, OPTIMIZERS[name](), 2, K, tile, lam, eps, anisotropic)
    # the tiles' energies add up to the image's (summed in another order),
    # their max|g| is the image's
    np.testing.assert_allclose(records[:, :, 0].sum(axis=0), want_records[:, 0], rtol=1e-13)
    assert np.array_equal(records[:, :, 1].max(axis=0), want_records[:, 1])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_rule_gives_the_same_bits_by_tiles(name):
    f = np.random.default_rng(3).random((96, 80))
    _same_bits(f, OPTIMIZERS[name](), 3, 6, 24, 0.1, 0.03, False)


@pytest.mark.nojit
@pytest.mark.parametrize("shape,tile,K,m", [
    ((23, 600), (8, ROW_SEGMENT), 3, 4),          # 3 x 3 tiles, rows of 3 segments
    ((23, 600), (8, ROW_SEGMENT), 3, 3),          # iterate K not evaluated (odd K: a copy)
    ((23, 600), (23, 2 * ROW_SEGMENT), 4, 4),     # one tile down, the last one narrower
    ((23, 600), (5, 600), 2, 3),                  # slabs of whole rows
    ((30, 300), (64, 1000), 2, 2),                # one tile, wider than the image
])
@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_row_sums_give_the_images_energies_to_the_bit(name, shape, tile, K, m):
    rng = np.random.default_rng(11)
    f = rng.random(shape)
    lam, eps = 0.15, 0.04
    image, want_records = _same_bits(f, OPTIMIZERS[name](), 1, K, tile, lam, eps, False, m=m,
                                     row_sums=True)
    assert np.array_equal(image, want_records[:m])


@pytest.mark.nojit
def test_row_sums_need_tiles_of_whole_segments():
    f = np.random.default_rng(2).random((10, 2 * ROW_SEGMENT))
    opt = OPTIMIZERS["gd"]()
    state = opt.init(f.ravel())
    with pytest.raises(ValueError, match="tile_cols"):
        _tiled(f, f.copy(), opt, state, 0, 2, (5, ROW_SEGMENT + 8), 0.1, 0.05, False,
               row_sums=True)


# --- 3-D ---------------------------------------------------------------------

def _whole_volume(f, u, opt, state, t0, K, lam, eps, anisotropic):
    """K fused iterations of the whole volume (tv_descent_step_3d); their (E,
    max|g|), iterates t0 .. t0 + K."""
    u, u_next = u.copy(), np.empty_like(u)
    step = cacheable(opt.rule.step)
    work = tv_descent.tv_descent_workspace_3d(f.shape)
    records = []
    for j in range(K + 1):
        t = t0 + j + 1
        if j < K:
            records.append(tv_descent.tv_descent_step_3d(
                u, u_next, f, lam, eps, anisotropic, step, state.arrays, t, opt.lr(t),
                opt.hyper, work))
            u, u_next = u_next, u
        else:
            spare = tuple(a.copy() for a in state.arrays)      # the step is dropped
            records.append(tv_descent.tv_descent_step_3d(
                u, u_next, f, lam, eps, anisotropic, step, spare, t, 0.0, opt.hyper,
                work))
    return u, np.array(records)


def _tiled_3d(f, u, opt, state, t0, K, tile, lam, eps, anisotropic, m=None, row_sums=True):
    """K iterations by 3-D tiles (planes, rows, cols); (iterate, state, the
    tiles' records, the volume's records by volume_records or None)."""
    D, H, W = f.shape
    m = K + 1 if m is None else m
    u_next = np.full_like(u, np.nan)
    state_next = opt.init(u.ravel())
    for a in state_next.arrays:
        a[...] = np.nan
    planes, rows, cols = tile
    n_tiles = -(-D // planes) * -(-H // rows) * -(-W // cols)
    records = np.full((n_tiles, m, 2), np.nan)
    sums = np.full((m, D, H, n_segments(W)), np.nan) if row_sums else None
    lrs = np.array([opt.lr(t0 + j + 1) for j in range(K)])
    tv_descent_tiled_3d(u, u_next, f, lam, eps, anisotropic, cacheable(opt.rule.step),
                        state.arrays, state_next.arrays, t0, lrs, opt.hyper, planes, rows, cols,
                        records, sums)
    volume = None
    if row_sums:
        volume = np.full((m, 2), np.nan)
        volume_records(records, sums, f.shape, volume)
    return u_next, state_next, records, volume


def _same_bits_3d(f, opt, started, K, tile, lam, eps, anisotropic, **options):
    """K iterations by 3-D tiles from iterate ``started`` of a whole-volume
    run: asserts that they only read their inputs and give the whole volume's
    iterate and state to the bit; returns (the tiles' records, the volume's
    records from the row sums, the whole volume's records)."""
    u, state = f.copy(), opt.init(f.ravel())
    if started:
        u, _ = _whole_volume(f, u, opt, state, 0, started, lam, eps, anisotropic)
    u_before, state_before = u.copy(), [a.copy() for a in state.arrays]
    got, got_state, records, volume = _tiled_3d(f, u, opt, state, started, K, tile, lam, eps,
                                                anisotropic, **options)
    assert np.array_equal(u, u_before)                                     # only read
    assert all(np.array_equal(a, b) for a, b in zip(state.arrays, state_before))
    want, want_records = _whole_volume(f, u, opt, state, started, K, lam, eps, anisotropic)
    assert np.array_equal(got, want)
    for a, b in zip(got_state.arrays, state.arrays):
        assert np.array_equal(a, b)
    return records, volume, want_records


@pytest.mark.nojit
@pytest.mark.parametrize("shape,tile,K,anisotropic", [
    ((9, 11, 13), (4, 5, 13), 3, False),     # bricks of whole rows, smaller than the halo
    ((9, 11, 13), (4, 5, 13), 3, True),
    ((9, 11, 13), (9, 11, 13), 2, False),    # one tile: the whole volume
    ((9, 11, 13), (2, 11, 13), 1, False),    # slabs of whole planes, K = 1
    ((20, 7, 9), (6, 3, 9), 4, False),       # 16 blocks of planes, some of two planes
    ((8, 10, 12), (3, 4, 5), 2, True),       # bricks cutting the rows (no row sums)
])
@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_3d_tiles_give_the_bits_of_the_whole_volume(name, shape, tile, K, anisotropic):
    rng = np.random.default_rng(5)
    f = rng.random(shape)
    lam, eps = 0.2, 0.05
    whole_rows = tile[2] >= shape[2]
    records, volume, want_records = _same_bits_3d(f, OPTIMIZERS[name](), 2, K, tile, lam, eps,
                                                  anisotropic, row_sums=whole_rows)
    # the tiles' energies add up to the volume's (summed in another order),
    # their max|g| is the volume's; with row sums, the volume's to the bit
    np.testing.assert_allclose(records[:, :, 0].sum(axis=0), want_records[:, 0], rtol=1e-13)
    assert np.array_equal(records[:, :, 1].max(axis=0), want_records[:, 1])
    if whole_rows:
        assert np.array_equal(volume, want_records)


@pytest.mark.nojit
@pytest.mark.parametrize("tile,K,m", [
    ((3, 2, ROW_SEGMENT), 3, 4),              # 2 x 2 x 3 bricks, rows of 3 segments
    ((3, 2, ROW_SEGMENT), 3, 3),              # iterate K not evaluated (odd K: a copy)
    ((5, 3, 2 * ROW_SEGMENT), 2, 2),          # the last brick of a row narrower
    ((2, 4, 1000), 2, 3),                     # slabs, wider than the volume
])
@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_3d_row_sums_give_the_volumes_energies_to_the_bit(name, tile, K, m):
    f = np.random.default_rng(13).random((5, 4, 600))
    records, volume, want_records = _same_bits_3d(f, OPTIMIZERS[name](), 1, K, tile, 0.15, 0.04,
                                                  False, m=m)
    assert np.array_equal(volume, want_records[:m])


# the state layouts the three rules above leave out: two arrays (rprop) and
# an empty one among them (adamw without amsgrad: tiles_of_3d's empty case);
# the tiling code sees a rule only through its state tuple
@pytest.mark.parametrize("name", ["adamw", "rprop"])
def test_the_other_state_layouts_give_the_same_bits_by_3d_tiles(name):
    f = np.random.default_rng(4).random((18, 12, 10))
    records, volume, want_records = _same_bits_3d(f, OPTIMIZERS[name](), 3, 4, (6, 5, 10), 0.1,
                                                  0.03, False)
    assert np.array_equal(volume, want_records)


@pytest.mark.nojit
def test_3d_row_sums_need_tiles_of_whole_segments():
    f = np.random.default_rng(2).random((4, 3, 2 * ROW_SEGMENT))
    opt = OPTIMIZERS["gd"]()
    state = opt.init(f.ravel())
    with pytest.raises(ValueError, match="tile_cols"):
        _tiled_3d(f, f.copy(), opt, state, 0, 2, (2, 3, ROW_SEGMENT + 8), 0.1, 0.05, False)
