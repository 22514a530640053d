"""gdfast.denoise: smoothed total-variation denoising of 2-D images and 3-D volumes."""
import math
import os
import sys
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _validation as check
from . import kernels
from ._run import (
    Checkpoints,
    History,
    NoBar,
    OptimizeResult,
    Status,
    deferred_interrupt,
    energy_status,
    progress_bar,
    run_result,
)
from .checkpoint import CheckpointError, checked_checkpoint_options, fingerprint_of, stage_start
from .images import NoiseRange, psnr, sigma_range
from .kernels import tv, tv_descent, tv_tiles
from .kernels.function_refs import cacheable
from .kernels.reductions import difference_dot_parallel, mean_squared_difference_parallel
from .optimizers import SGD, Adam, Optimizer, make_optimizer

PARALLEL_MIN_PIXELS = 65_536
# Temporal blocking (gdfast.kernels.tv_tiles): a 2-D run of at least
# BLOCK_MIN_PIXELS pixels without callback or clean image takes up to
# BLOCK_ITERATIONS iterations per pass through memory, in tiles of
# BLOCK_TILE^2 (a multiple of tv.ROW_SEGMENT, so the energies keep their
# bits); runs of fewer than BLOCK_MIN_ITERATIONS iterations (to the next
# stage, checkpoint or max_iter) take single fused steps. Chosen by `gdfast
# bench blocking` (docs/benchmarks.md, "Temporal blocking in memory").
BLOCK_ITERATIONS = 32
BLOCK_MIN_ITERATIONS = 8
BLOCK_TILE = 512
BLOCK_MIN_PIXELS = 1024 * 1024
# eps**2 is a normal float64 in this range: below it eps**2 underflows (to 0
# below 1e-162, and the gradient is 0/0 on flat regions), above it overflows
EPS_MIN = math.sqrt(sys.float_info.min)
EPS_MAX = math.sqrt(sys.float_info.max)
# eps=None: eps = lam / 10 for the first 20 iterations, then lam / 100. At
# lam / 100 the heavy ball needs the same ~100 iterations at every noise
# level (L = 1 + 800 in 2-D) and lands at most 0.01 dB below the exact-TV
# minimiser's PSNR; the first stage (L = 1 + 80) brings the PSNR near its
# best 3x sooner (docs/denoising.md, "The defaults"; docs/benchmarks.md)
EPS_STAGES = ((0, 0.1), (20, 0.01))          # (first iteration, eps / lam)
# lam='auto': the lams tried are sigma * AUTO_FIRST * AUTO_RATIO^k, k = 0,
# +-1, ... downhill in SURE, at most AUTO_TRIALS of them, each solved to
# AUTO_TOL; the Monte-Carlo divergence perturbs f by SURE_DELTA * sigma
AUTO_FIRST = 0.6
AUTO_RATIO = math.sqrt(2.0)
AUTO_TRIALS = 12
AUTO_TOL = 1e-5
SURE_DELTA = 0.01
# the guard (choose_lam): lams halving from SURE's, at most AUTO_GUARD_TRIALS
# more (down to 2^-8 of it, where TV changes f by less than its noise's 1%)
AUTO_GUARD_TRIALS = 8
# the most lams one choice tries, the total of its progress bar: the walk's
# AUTO_TRIALS, the guard's AUTO_GUARD_TRIALS halvings, and the sqrt(2)
# neighbour of the halving that passes
AUTO_MOST_TRIALS = AUTO_TRIALS + AUTO_GUARD_TRIALS + 1
# an estimated sigma at or below ROUNDING_NOISE * max|f| is float64 rounding
# in the wavelet transform (db2's taps sum to 0 within ~1e-17), not noise
ROUNDING_NOISE = 1e-14
# check_resolvable: the relative-change rule cannot see the image when its
# total variation once the 1% lowest and highest pixels are clipped away,
# times RESOLVABLE_STEP, is below tol times the whole image's: the heavy
# ball's first iterations change the total variation by about 1% each.
# Measured (lam 0.05, noise 0.05, synthetic_image, the rest's PSNR against
# the run without the pixel): one pixel of 1e7 in 128^2 +0.5 dB, 13
# iterations (passes); 1e8 -1.1 dB, 8 (refused); 3e8 -4.4 dB; 1e9 and up 1
# iteration, f as it came. In 256^2: 1e8 -1.0 dB (passes), 3e8 -2.5 dB
# (refused), 1e10 1 iteration
RESOLVABLE_CLIP = 0.01
RESOLVABLE_STEP = 0.01
# b must be independent of the noise: a seed nobody makes noise with (with
# seed 0, gdfast.images.add_noise(..., seed=0)'s noise was b itself, and the
# divergence along the noise is not its trace: SURE read 9x the true error)
SURE_SEED = 0x9E3779B97F4A7C15


def checked_eps(name, eps):
    """eps as a float in [EPS_MIN, EPS_MAX]; ValueError or TypeError naming ``name``."""
    eps = check.positive(name, eps)
    if not EPS_MIN <= eps <= EPS_MAX:
        raise ValueError(f"{name} must be in [{EPS_MIN:.3g}, {EPS_MAX:.3g}], so that eps**2 is "
                         "a normal float64 and the energy and its gradient are finite; "
                         f"got {eps!r}")
    return eps


def stages_of(lam, eps, method, ndim):
    """((first iteration, eps, optimizer), ...): the stages of a run. eps
    given: one stage. eps=None: EPS_STAGES, eps = lam * ratio (within
    [EPS_MIN, EPS_MAX]). A named method gets its constants from each stage's
    eps (default_optimizer); an optimizer object serves every stage. Each
    stage starts with a fresh optimizer state."""
    plan = ((0, eps),) if eps is not None else tuple(
        (first, min(max(lam * ratio, EPS_MIN), EPS_MAX)) for first, ratio in EPS_STAGES)
    return tuple((first, e, method if isinstance(method, Optimizer)
                  else default_optimizer(method.lower(), lam, e, ndim)) for first, e in plan)


def _stage_at(stages, nit):
    """The stage the step from iterate nit belongs to."""
    first = stage_start([stage[0] for stage in stages], nit)
    return next(stage for stage in stages if stage[0] == first)


def lipschitz_bound(lam, eps, ndim):
    """L = 1 + 4 * ndim * lam / eps, a bound on the Lipschitz constant of dE/du.

    The data term contributes 1; each sqrt(.. + eps^2) has curvature at most
    1/eps, and the forward-difference operator has squared norm at most 4 per
    axis. Gradient descent with lr = 1/L decreases E at every step.
    """
    return min(1.0 + 4.0 * ndim * lam / eps, sys.float_info.max)   # lam/eps may overflow


def default_optimizer(method, lam, eps, ndim):
    """The optimizer ``denoise`` uses for a method name.

    The energy is 1-strongly convex (the data term) with an L-Lipschitz
    gradient, L = lipschitz_bound(lam, eps, ndim), and the named methods take
    the textbook constants for that class (kappa = L):

    'momentum' (denoise's default): Polyak's heavy ball, SGD(lr=4 / (sqrt(L)
        + 1)^2, momentum=((sqrt(L) - 1) / (sqrt(L) + 1))^2), the constants
        that are optimal on quadratics (rate (sqrt(L) - 1) / (sqrt(L) + 1)).
        Measured: 1.6-1.9x fewer iterations than Nesterov to the same energy
        on every lam, eps and 2-D / 3-D case of tests/kernels/test_tv.py's
        sweep. Unlike Nesterov it has no global convergence guarantee for
        non-quadratic energies.
    'nesterov': SGD(lr=1/L, nesterov=True, momentum=(sqrt(L) - 1) / (sqrt(L)
        + 1)), Nesterov's constant-momentum scheme: guaranteed to converge.
    'gd': SGD(lr=1/L); every step decreases E.
    'adam': Adam(lr=0.01), a step of about 1% of the [0, 1] intensity range.
    Other names take gdfast.minimize's defaults.
    """
    L = lipschitz_bound(lam, eps, ndim)
    beta = (math.sqrt(L) - 1.0) / (math.sqrt(L) + 1.0)
    if method == "gd" or (method in ("nesterov", "momentum") and beta <= 0.0):
        return SGD(lr=1.0 / L)                   # lam = 0: L = 1, nothing for momentum to do
    if method == "nesterov":
        return SGD(lr=1.0 / L, momentum=beta, nesterov=True)
    if method == "momentum":
        return SGD(lr=4.0 / (math.sqrt(L) + 1.0) ** 2, momentum=beta * beta)
    if method == "adam":
        return Adam(lr=0.01)
    return make_optimizer(method)


class TVObjective:
    """E(u) and dE/du written into g, for minimize(..., jac='inplace').

    Holds the workspace and picks the 2-D / 3-D, serial / parallel kernel once.
    """

    def __init__(self, f, lam, eps, anisotropic):
        self.f, self.lam, self.eps, self.anisotropic = f, lam, eps, anisotropic
        parallel = f.size >= PARALLEL_MIN_PIXELS
        if f.ndim == 2:
            self.work = tv_descent.tv_descent_workspace_2d(f.shape)
            self.kernel = tv.tv_energy_grad_2d_parallel if parallel else tv.tv_energy_grad_2d
            self.descent = (tv_descent.tv_descent_step_2d_parallel if parallel
                            else tv_descent.tv_descent_step_2d)
        else:
            self.work = tv_descent.tv_descent_workspace_3d(f.shape)
            self.kernel = tv.tv_energy_grad_3d_parallel if parallel else tv.tv_energy_grad_3d
            self.descent = (tv_descent.tv_descent_step_3d_parallel if parallel
                            else tv_descent.tv_descent_step_3d)
        self.max_abs = kernels.max_abs_parallel if parallel else kernels.max_abs
        self.tiled = f.ndim == 2 and f.size >= BLOCK_MIN_PIXELS
        self.tile = (BLOCK_TILE, BLOCK_TILE)       # descent_block's (rows, columns)

    def __call__(self, u, g):
        return self.kernel(u, self.f, self.lam, self.eps, g, self.work, self.anisotropic)

    def finite_at(self, u, g):
        """True if E(u) and dE/du (written into the buffer g) are finite."""
        e = self(u, g)
        return math.isfinite(e) and math.isfinite(self.max_abs(g.ravel()))

    def descent_step(self, u, u_next, optimizer, state):
        """One fused iteration (gdfast.kernels.tv_descent): u_next <- u after
        one step of the optimizer; returns (E(u), max|dE/du|)."""
        t = state.t + 1
        out = self.descent(u, u_next, self.f, self.lam, self.eps, self.anisotropic,
                           cacheable(optimizer.rule.step), state.arrays, t, optimizer.lr(t),
                           optimizer.hyper, self.work)
        state.t = t
        return out

    def descent_block(self, u, u_next, optimizer, state, state_next, n):
        """n iterations by tiles (gdfast.kernels.tv_tiles; 2-D): u_next,
        state_next <- iterate t + n from u, state (iterate t; only read);
        returns float64 (n, 2), (E, max|dE/du|) of iterates t .. t + n - 1,
        the bits of n descent_step calls."""
        (H, W), (rows, cols) = u.shape, self.tile
        lrs = np.array([optimizer.lr(state.t + j + 1) for j in range(n)], dtype=np.float64)
        tile_records = np.empty((-(-H // rows) * -(-W // cols), n, 2))
        row_sums = np.empty((n, H, tv.n_segments(W)))
        tv_tiles.tv_descent_tiled_2d(u, u_next, self.f, self.lam, self.eps, self.anisotropic,
                                     cacheable(optimizer.rule.step), state.arrays,
                                     state_next.arrays, state.t, lrs, optimizer.hyper, rows,
                                     cols, tile_records, row_sums)
        records = np.empty((n, 2))
        tv_tiles.image_records(tile_records, row_sums, u.shape, records)
        state_next.t = state.t + n
        return records


def denoise(f: ArrayLike, lam: "float | str" = "auto", eps: float | None = None,
            method: "str | Optimizer" = "momentum", max_iter: int = 300, tol: float = 1e-7,
            clean: ArrayLike | None = None, anisotropic: bool = False,
            callback: Callable[[OptimizeResult], None] | None = None,
            progress: bool | str = False, checkpoint: "str | os.PathLike | None" = None,
            checkpoint_every: int = 0, resume: bool = False,
            sigma: float | None = None) -> OptimizeResult:
    """Denoise an image by minimising the smoothed total-variation energy.

    The energy, with forward differences and Neumann boundary, as
    skimage.restoration.denoise_tv_chambolle does with ``weight = lam``::

        E(u) = 1/2 sum (u - f)^2 + lam * sum_p sqrt(|grad u|_p^2 + eps^2)

    (anisotropic: sum over axes of ``sqrt(d_a u^2 + eps^2)``), starting from
    u = f. With the defaults it needs no parameter: lam is chosen from the data
    and eps is small enough for the exact TV minimiser's quality.

    Parameters
    ----------
    f : array_like, shape (H, W) or (D, H, W)
        Real numbers, finite; an RGB image is denoised one channel at a time by
        the caller. A volume's length-1 axes are not dimensions: (1, H, W) is
        denoised as the (H, W) image (x comes back shaped like f).
    lam : 'auto' or float, default 'auto'
        'auto': chosen by minimising Stein's unbiased risk estimate of the mean
        squared error (see ``choose_lam``) for noise of standard deviation
        ``sigma``, under a guard: the lam must not make f worse than f itself
        even if the noise is only the least level the image supports
        (`gdfast.images.sigma_range`: fine texture reads as noise at the finest
        scale, not at the next); where SURE's lam fails that, a smaller one is
        taken, or lam = 0 (f returned as it is) when the data support no noise
        at all; ``guard`` in the result says so. Or a number >= 0, the weight
        of the TV term (in units of f).
    eps : float, optional
        None (default): continuation, eps = lam / 10 for the first 20
        iterations, then lam / 100 (``EPS_STAGES``): the result's PSNR is at
        most 0.01 dB below the exact (eps -> 0) TV minimiser's after ~100
        iterations at any noise level (up to 0.2 dB above it at large lam), and
        the first stage gets the PSNR near its best 3x sooner
        (docs/denoising.md). Each stage starts with a fresh optimizer state;
        fun_history holds each iterate's energy at its stage's eps, fun the
        last stage's; the relative-change rule skips the stage's first iterate.
        Or a number > 0 (in units of f per pixel): that smoothed energy.
    method : str or Optimizer, default 'momentum'
        'momentum' (Polyak's heavy ball), 'nesterov', 'gd', 'adam', another
        name of `gdfast.minimize`, or an optimizer object. Names get their
        constants from the Lipschitz bound L = 1 + 8 lam/eps (2-D), 1 + 12
        lam/eps (3-D): see ``default_optimizer``.
    max_iter : int, default 300
        Iterations at most.
    tol : float, default 1e-7
        Stop when the relative change ``|E_prev - E| <= tol * max(|E_prev|,
        |E|)`` (0: off). Relative to E alone (minimize's ftol floors it at 1):
        the run does not depend on the data's units, denoise(c f, c lam, c eps)
        = c denoise(f, lam, eps) for any c > 0, lam='auto' too.
    clean : array_like, optional
        A clean image shaped like f: the result then carries ``psnr_history``
        (dB at every iterate, data range 1) and ``psnr``.
    anisotropic : bool, default False
        True: the anisotropic energy, ``sqrt(d_a u^2 + eps^2)`` summed over the
        axes a, instead of the isotropic one.
    callback : callable, optional
        As in `gdfast.minimize`.
    progress : bool or str, default False
        True shows a tqdm progress bar (needs tqdm) labelled 'denoise', or
        labelled with a string given instead of True; with lam='auto' first a
        bar of the lams tried (the lam and its SURE).
    checkpoint : str or os.PathLike, optional
        As in `gdfast.minimize`: save the run to this .npz file every
        ``checkpoint_every`` iterations, when it stops at max_iter and when it is
        interrupted. A checkpoint is never written with NaN or inf in it, and a
        file at ``checkpoint`` that is not a gdfast checkpoint is never
        overwritten (ValueError before any work).
    checkpoint_every : int, default 0
        Iterations between checkpoints; 0: only at the end.
    resume : bool, default False
        True goes on from ``checkpoint`` (same f, lam, eps, anisotropic and
        optimizer, else `gdfast.checkpoint.CheckpointError`), bit for bit as if
        never stopped (nfev too, except that a run resumed after it stopped at
        max_iter evaluates that iterate once more). Resumed with a max_iter at
        or below the checkpoint's iteration count, the run returns the
        checkpoint's iterate with status 'max_iter'. With lam='auto' the choice
        is made again on resuming (it is deterministic: the same lam); pass
        lam=res.lam to skip it.
    sigma : float, optional
        With lam='auto': the noise's standard deviation, if known (the guard
        then holds lam to beating f at that level); None (default) estimates it
        (``gdfast.images.sigma_range(f)``: sigma is ``gdfast.estimate_sigma(f)``,
        the guard's level the least the data support).

    Returns
    -------
    OptimizeResult
        Like minimize's, with x the denoised image (float64, f's shape), fun
        its energy, jac its gradient, and ``lam`` and ``eps`` the values used
        (eps: the last stage's). With lam='auto' also ``sigma`` (the noise
        level used), ``sigma_low`` (the guard's level: sigma_range's low, or
        sigma when given), ``sigma_read_from`` ('flat blocks'; 'median' where
        too few flat unclipped blocks were found, a rougher reading; 'given'),
        ``sure``, rows (lam, SURE's estimate of the mean squared error) of the
        lams tried, and ``guard``: None, or a sentence saying how the guard
        changed SURE's lam; x is then bit for bit ``denoise(f, lam=res.lam,
        ...)`` with the other arguments alike.

    Raises
    ------
    ValueError
        Before any step, when lam, eps and f cannot give a finite energy (eps
        outside [1.5e-154, 1.3e154], where eps**2 under- or overflows; the
        energy at u = f overflowing float64; a few pixels so far from the
        rest, such as float32's largest value marking missing data, that
        the energy is theirs and the relative-change rule would stop at the
        first iteration: ``check_resolvable``), and for any argument out of
        its range. A run whose iterate becomes non-finite later stops with status
        'non-finite' and the last finite iterate instead.
    KeyboardInterrupt
        Ctrl-C during lam='auto''s choice (no checkpoint is written yet).

    Notes
    -----
    Ctrl-C stops after the iteration in progress (on the tiled path, the block
    of up to 32 iterations in progress: a fraction of a second), with status
    'interrupted' and the last complete iterate (see `gdfast.minimize`).

    Every iteration is one pass of ``gdfast.kernels.tv_descent`` (the gradient
    fused with the optimizer's update; two image buffers besides f and the
    optimizer's state). A 2-D image of 1024^2 pixels or more, run without
    callback and clean, takes the tiled path instead
    (``gdfast.kernels.tv_tiles``: up to 32 iterations per pass through memory,
    on tiles of 512^2 that stay in a core's cache; 1.3-1.8x faster in ``gdfast
    bench blocking``), which holds a second copy of the optimizer's state.
    Either way the iterates, the energies and the stopping rules are those of
    ``gdfast.minimize(..., jac='inplace')`` on the same energy, bit for bit.

    Examples
    --------
    >>> import gdfast
    >>> from gdfast.images import synthetic_image, add_noise, psnr
    >>> clean = synthetic_image(128)
    >>> noisy = add_noise(clean, sigma=0.1, seed=0)
    >>> res = gdfast.denoise(noisy, clean=clean)
    >>> print(res.status, res.nit, round(psnr(clean, noisy), 1), round(res.psnr, 1))
    ftol 98 20.0 32.2
    """
    image = _checked_image("f", f)
    shape = image.shape
    lam, sigma, eps, tol, max_iter, anisotropic = checked_settings(lam, sigma, eps, tol,
                                                                   max_iter, anisotropic)
    auto = lam == "auto"
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    clean_image = None
    if clean is not None:
        clean_image = _checked_image("clean", clean)
        if clean_image.shape != image.shape:
            raise ValueError(f"clean must have the shape of f {image.shape}, "
                             f"got {clean_image.shape}")
        clean_image = _without_unit_axes(clean_image)
    image = _without_unit_axes(image)
    if callback is not None and image.shape != shape:
        user_callback = callback

        def callback(intermediate):
            return user_callback(OptimizeResult(intermediate, x=intermediate.x.reshape(shape)))
    checked_method(method)
    checkpoint_every, resume = checked_checkpoint_options(checkpoint, checkpoint_every, resume)
    show, label = (True, progress) if isinstance(progress, str) else (progress, "denoise")
    if not auto:
        check_resolvable(image, lam, tol, anisotropic)
    if auto:
        noise = sigma_range(image) if sigma is None else NoiseRange(sigma, sigma, "given")
        sigma = noise.sigma
        # its trials stop at AUTO_TOL whatever tol is
        check_resolvable(image, sigma, AUTO_TOL, anisotropic,
                         "the lams lam='auto' tries, near sigma")
        if noise.read_from != "given" and \
                sigma <= ROUNDING_NOISE * kernels.max_abs(image.ravel()):
            lam, trials = 0.0, np.empty((0, 2))
            guard = (f"no noise found (the detail reads {sigma:.3g}, float64 rounding of the "
                     "data): left as it is (lam 0)")
        else:
            choice_bar = progress_bar(show, AUTO_MOST_TRIALS, f"{label}: choosing lam",
                                      unit="lam")
            try:
                lam, trials, guard = choose_lam(image, sigma, eps, anisotropic, noise.low,
                                                on_trial=choice_bar.trial)
            finally:
                choice_bar.close()
    stages = stages_of(lam, eps, method, image.ndim)
    objective = TVObjective(image, lam, stages[0][1], anisotropic)
    checkpoints = None
    if checkpoint is not None:
        checkpoints = Checkpoints(checkpoint, checkpoint_every, "denoise",
                                  fingerprint_of(stages[-1][2], image, lam=lam, eps=stages[-1][1],
                                                 anisotropic=anisotropic,
                                                 stages=[[first, e] for first, e, _ in stages]))
    bar = progress_bar(show, max_iter, label)
    try:
        with deferred_interrupt() as interrupted:
            res = _descend(objective, stages, max_iter, tol, clean_image, callback, bar,
                           checkpoints, resume, interrupted)
    finally:
        bar.close()
    if res.status == Status.NON_FINITE and res.fun_history.size == 0 and not resume:
        _refuse_overflowing_start(image, lam, stages[0][1])
    res["lam"], res["eps"] = lam, stages[-1][1]
    if auto:
        res["sigma"], res["sure"], res["guard"] = sigma, trials, guard
        res["sigma_low"], res["sigma_read_from"] = noise.low, noise.read_from
    res["x"], res["jac"] = res.x.reshape(shape), res.jac.reshape(shape)
    return res


def describe_choice(res, given, where="", correlated=False):
    """(words, note) for a line of `gdfast denoise` on lam='auto''s result res
    (sigma given by the user or not; where: ' on the central crop' or '';
    correlated: the picture's noise looks correlated, gdfast.images.
    looks_correlated): 'sigma 0.0209 (estimated), lam 0.0118 (SURE, 4
    tried)' with what makes the estimate rough, unreliable or the data
    ambiguous, and note the guard's sentence (None when it did not act)."""
    if given:
        how = "given"
    elif res.sigma_read_from == "median":
        how = "estimated from the median detail, too few flat unclipped blocks: rough"
    else:
        how = "estimated"
    if not given and correlated:
        how += ("; looks unreliable: the noise is correlated (e.g. JPEG: its colour is smooth "
                "at the finest scale), which reads low there; give --sigma if it is known")
    if not given and res.sigma_low < 0.8 * res.sigma:
        how += (f"; fine detail reads as noise: the data support {res.sigma_low:.3g} to "
                f"{res.sigma:.3g}")
    why = f"SURE{where}, {len(res.sure)} tried" + ("; guarded" if res.guard is not None else "")
    return f"sigma {res.sigma:.4g} ({how}), lam {res.lam:.4g} ({why})", res.guard


def print_guard(note):
    """Print `gdfast denoise`'s line saying how the guard changed SURE's lam
    (note: describe_choice's; nothing when it is None), under the run's line
    of an image, a page stack or a zarr array."""
    if note is not None:
        print(f"    guard: {note}")


def describe_eps(res):
    """'eps 0.0089' for a line of `gdfast denoise`; with lam = 0 (nothing to
    smooth: u = f) 'no smoothing', not the floor eps EPS_MIN that the run
    carries."""
    return f"eps {res.eps:.3g}" if res.lam > 0 else "no smoothing"


def checked_settings(lam, sigma, eps, tol, max_iter, anisotropic):
    """denoise's settings checked (gdfast.dask.denoise's too): (lam, sigma,
    eps, tol, max_iter, anisotropic), lam a float or 'auto'; ValueError or
    TypeError naming the argument."""
    auto = isinstance(lam, str)
    if auto and lam != "auto":
        raise ValueError(f"lam must be a number >= 0 or 'auto', got {lam!r}")
    if not auto:
        lam = check.non_negative("lam", lam)
        if sigma is not None:
            raise ValueError("sigma is used only with lam='auto' (it sets how lam is chosen); "
                             f"got sigma={sigma!r} with lam={lam!r}")
    elif sigma is not None:
        sigma = check.positive("sigma", sigma)
    if eps is not None:
        eps = checked_eps("eps", eps)
    return (lam, sigma, eps, check.non_negative("tol", tol),
            check.whole_number("max_iter", max_iter, 0), check.boolean("anisotropic", anisotropic))


def checked_method(method):
    """TypeError unless method is a name or an optimizer object."""
    if not isinstance(method, (Optimizer, str)):
        raise TypeError(f"method must be a name or an optimizer object, got {method!r}")


def choose_lam(f, sigma, eps=None, anisotropic=False, sigma_low=None, on_trial=None):
    """lam for denoise(f, lam='auto'): the minimiser of Stein's unbiased risk
    estimate of the mean squared error, for Gaussian noise of standard
    deviation sigma (Ramani, Blu and Unser, IEEE TIP 17(9), 2008):

        SURE(lam) = R - sigma^2 + 2 sigma^2 D,   R = |u - f|^2 / n,
        D = b . (u(f + delta b) - u(f)) / (delta n),

    u(.) the denoised image at lam (heavy ball from u = f, with eps or
    denoise's eps stages, solved to relative energy change AUTO_TOL; the
    perturbed solve takes as many iterations as the unperturbed one, so
    both are the same map of their data), n its pixels, b a fixed N(0, 1) image (seed SURE_SEED) and
    delta = SURE_DELTA * sigma: D is the Monte-Carlo estimate of the
    divergence of the denoiser at f, per pixel. The lams tried are
    sigma * 0.6 * sqrt(2)^k, walking from k = 0 downhill in SURE until it
    rises (at most AUTO_TRIALS); lam is then the vertex of the parabola
    through the lowest SURE and its two neighbours (in k, within half a step).

    The guard: SURE is linear in sigma^2 for fixed (R, D), and lam = 0 (u = f)
    has risk sigma^2 at every sigma, so lam beats f itself whenever the noise
    is at least sigma_low (default sigma) if

        R <= 2 sigma_low^2 (1 - D).

    Where SURE's lam fails that, lams halving from it are tried (at most
    AUTO_GUARD_TRIALS more) and the first that passes is taken (then its
    double's half-way point, sqrt(2) up, if that passes too); none passing,
    or sigma_low = 0, lam = 0: f is its own best estimate for all the data
    can tell.

    Memory: f + delta b and one solve (its two iterates and the optimizer's
    state) besides f; u(f) is reduced to its two sums (|u - f|^2 and
    (f + delta b - f) . u) before the perturbed solve. Sums are compiled
    fixed-order reductions: the choice does not depend on the thread count.

    f          (H, W) or (D, H, W) float64, sigma > 0 (sigma = 0, or so small
               that delta is 0: lam = 0, nothing to remove)
    sigma_low  0 <= sigma_low <= sigma, or None (sigma)
    on_trial   None, or called as on_trial(lam, SURE) after each lam tried (at
               most AUTO_MOST_TRIALS): denoise's progress bar
    Returns (lam, trials, guard): trials (m, 2), rows (lam, SURE) in the
    order tried (SURE NaN where a trial's solve diverged: the guard then
    lets SURE's lam through, and the final solve reports the divergence);
    guard None, or a sentence saying how it changed SURE's lam.
    Deterministic; about 5 solves' worth of iterations on scikit-image's
    photographs at every noise level (`gdfast bench quality`).
    """
    sigma_low = sigma if sigma_low is None else sigma_low
    delta = SURE_DELTA * sigma
    if delta == 0.0:                 # sigma = 0, or below 1e-321: nothing to remove
        return 0.0, np.empty((0, 2)), None
    if sigma_low == 0.0:
        return 0.0, np.empty((0, 2)), (
            f"the noise could not be told from the image's own fine detail (it reads "
            f"{sigma:.3g} at the finest scale and nothing at the next): left as it is (lam 0); "
            "give sigma if it is known")
    perturbed = np.random.default_rng(SURE_SEED).standard_normal(f.shape)
    perturbed *= delta
    perturbed += f
    flat, flat_perturbed = f.ravel(), perturbed.ravel()
    objectives = [TVObjective(f, 1.0, 1.0, anisotropic),
                  TVObjective(perturbed, 1.0, 1.0, anisotropic)]
    trials = {}                      # k: (lam, SURE, R, D)

    def lam_at(k):
        return sigma * AUTO_FIRST * AUTO_RATIO ** k

    def trial(k):
        if k not in trials:
            lam = lam_at(k)
            stages = stages_of(lam, eps, "momentum", f.ndim)
            u, nit, diverged = _trial_solve(objectives[0], lam, stages, 300, AUTO_TOL)
            residual = mean_squared_difference_parallel(u.ravel(), flat)
            before = difference_dot_parallel(flat_perturbed, flat, u.ravel())
            del u
            up, _, diverged_too = _trial_solve(objectives[1], lam, stages, nit, 0.0)
            after = difference_dot_parallel(flat_perturbed, flat, up.ravel())
            div = (after - before) / delta / delta / f.size   # delta^2 underflows below 1e-154
            risk = residual - sigma * sigma + 2.0 * sigma * sigma * div
            trials[k] = (lam, math.nan if diverged or diverged_too else risk, residual, div)
            if on_trial is not None:
                on_trial(lam, trials[k][1])
        return trials[k]

    def sure(k):
        return trial(k)[1]

    def passes(k):
        _, risk, residual, div = trial(k)
        if not math.isfinite(risk):  # a trial diverged: the final solve at SURE's lam reports it
            return True
        return residual <= 2.0 * sigma_low * sigma_low * (1.0 - div)

    first = sure(0)
    step = 1 if sure(1) < first else -1
    k = 0
    while len(trials) < AUTO_TRIALS and sure(k + step) < sure(k):
        k += step
    rows = lambda: np.array([t[:2] for t in trials.values()])      # noqa: E731
    if passes(k):
        offset = 0.0
        if k - 1 in trials and k + 1 in trials:
            low, mid, high = sure(k - 1), sure(k), sure(k + 1)
            curvature = low - 2.0 * mid + high
            if curvature > 0.0:
                offset = min(max(0.5 * (low - high) / curvature, -0.5), 0.5)
            if offset > 0.0 and not passes(k + 1):
                offset = 0.0
        return lam_at(k + offset), rows(), None
    for guarded in range(k - 2, k - 2 * AUTO_GUARD_TRIALS - 1, -2):
        if passes(guarded):
            if passes(guarded + 1):
                guarded += 1
            return lam_at(guarded), rows(), (
                f"SURE's lam {lam_at(k):.3g} would leave the image worse than it came if the "
                f"noise were {sigma_low:.3g}, the least the data support (fine detail reads as "
                f"noise at the finest scale): lam lowered to {lam_at(guarded):.3g}")
    return 0.0, rows(), (
        f"every lam down to {lam_at(k - 2 * AUTO_GUARD_TRIALS):.3g} would leave the image worse "
        f"than it came if the noise were {sigma_low:.3g}, the least the data support: left as "
        "it is (lam 0); give sigma if it is known")


def _trial_solve(objective, lam, stages, max_iter, tol):
    """(u, nit, diverged): the run of ``stages`` on objective's f at lam from
    u = f, and whether its iterate became non-finite (u is then the last
    finite one); a start whose energy overflows is refused as denoise
    refuses it."""
    objective.lam = lam
    res = _descend(objective, stages, max_iter, tol, None, None, NoBar())
    if res.status == Status.NON_FINITE and res.fun_history.size == 0:
        _refuse_overflowing_start(objective.f, lam, stages[0][1])
    return res.x, res.nit, res.status == Status.NON_FINITE


def check_resolvable(f, lam, tol, anisotropic=False, what="lam"):
    """ValueError when the relative-change rule (tol) cannot see the image
    being denoised: a few pixels lie so far from the rest (float32's
    largest value, 3.4e38, marking missing data in an image on [0, 1]) that
    their jumps make the energy. They move by about lam per iteration, less
    than tol of themselves (lam < tol * range), and the rest of the image,
    whose total variation (f with its RESOLVABLE_CLIP lowest and highest
    pixels clipped) times RESOLVABLE_STEP is below tol times f's, changes
    the energy by less than tol even as it is denoised (in float64 it is
    below the energy's rounding at 3e38): the run would stop at its first
    iteration with f as it came. lam: the weight, or sigma for lam='auto'
    (``what`` names it). Nothing is checked for lam = 0 or tol = 0 (max_iter
    iterations asked for); the TV passes and the clipped copy are made only
    when the range is that large."""
    if lam == 0.0 or tol == 0.0:
        return
    lo, hi = float(np.min(f)), float(np.max(f))
    if not lam < tol * (hi - lo):                # the common case: nothing to compute
        return
    whole = TVObjective(f, 1.0, EPS_MIN, anisotropic)(f, np.empty_like(f))   # TV(f)
    rest = np.clip(f, *np.quantile(f, [RESOLVABLE_CLIP, 1.0 - RESOLVABLE_CLIP]))
    seen = TVObjective(rest, 1.0, EPS_MIN, anisotropic)(rest, np.empty_like(f))
    if RESOLVABLE_STEP * seen >= tol * whole:
        return
    raise ValueError(
        f"f ranges from {lo:.3g} to {hi:.3g} and a few pixels far from the rest make its energy "
        f"(total variation {whole:.3g}; {seen:.3g} without the 1% most extreme pixels): with "
        f"tol={tol!r} at {what} {lam:.3g} the run would stop at once with f as it came; "
        "expected values of one scale. A value so far from all others usually marks missing "
        "data or an overflow (3.4e38 is float32's largest): mask or clip it first, or give "
        "lam and tol=0 (gdfast denoise: --lam and --tol 0) to run max_iter iterations")


def _refuse_overflowing_start(f, lam, eps):
    """The energy of f itself is not finite (f, lam and eps are): float64
    overflows at this scale, and no step can be taken. Say what to change."""
    top = kernels.max_abs(f.ravel())
    raise ValueError(
        f"the energy at the start (u = f) overflows float64 with lam={lam!r}, eps={eps!r} and "
        f"max|f| = {top:.3g} over {f.size} pixels; rescale f to about [0, 1] (denoising f / c "
        "with lam / c and eps / c gives the result / c) or lower lam")


def _descend(objective, stages, max_iter, ftol, clean, callback, bar, checkpoints=None,
             resume=False, interrupted=lambda: False):
    """The loop of denoise: minimize's stopping rules, over fused iterations.

    Each call of the fused kernel evaluates iterate k (E, max|g|) and writes
    iterate k + 1 into the other buffer, so a run that stops at iterate k
    returns the buffer holding it and drops the step already taken past it;
    iterate max_iter gets the TV kernel alone, its gradient into the spare
    buffer. u_0 = f is only read; two buffers take turns from step 1 on.

    Tiled runs (objective.tiled, no callback or clean image) take blocks of
    n iterations instead (_block_length: blocks end where a stage starts, a
    checkpoint is due or max_iter is reached): one call evaluates iterates
    k .. k + n - 1 and writes iterate k + n, reading (u, state) and writing
    (u_next, state_next). The stopping rules then run on each of the n
    records in turn; a stop at iterate k + j inside the block takes the j
    iterations again from (u, state), which the block left untouched.
    Ctrl-C is seen between blocks.

    stages (stages_of): the step from iterate k takes the eps and optimizer
    of the last stage starting at or before k; where a stage starts, the
    state starts afresh and the relative-change rule waits one iterate (E
    changes with eps). A checkpoint at iterate k resumes into k's stage.

    Between iterations (u holds iterate nit, the state has taken nit steps,
    the records hold iterates 0 .. nit - 1) the run is consistent: there it
    saves checkpoints, resumes from one, and stops on Ctrl-C; the first two
    only where E(u) and its gradient are finite (one extra TV pass each), so
    a diverging run never replaces a good checkpoint nor stops on a
    non-finite iterate.

    A NaN or inf in u_k makes E(u_k) non-finite, and E(u_k) overflows only
    when the optimizer diverges; the run then stops at u_{k-1}, as minimize
    does. That buffer has been overwritten by then, so it is recomputed:
    the run is deterministic, and a second run of k - 1 iterations gives it
    bit for bit (this costs time only on that failure).
    """
    f = objective.f
    u, u_next, spare = f, np.empty_like(f), np.empty_like(f)
    _, objective.eps, optimizer = stages[0]
    state = optimizer.init(u.ravel())
    tiled = objective.tiled and clean is None and callback is None
    state_next = None                          # the tiles' second state (tiled runs)
    history = History(max_iter)
    psnrs = np.empty(max_iter + 1 if clean is not None else 0)
    nit, status, e_prev, nfev = 0, None, None, 0
    counted = False              # iterate nit's evaluation already counted (a finished run's)
    if resume:
        u, spare = spare, u_next
        nit, nfev, e_prev, state, psnrs = _restore(checkpoints, optimizer, u, history, psnrs)
        _, objective.eps, optimizer = _stage_at(stages, max(nit - 1, 0))
        counted = nfev > nit
    resumed_at = nit
    while True:
        fresh = nit == 0
        stage = _stage_at(stages, nit)
        if 0 < nit < max_iter and stage[0] == nit:
            _, objective.eps, optimizer = stage
            state = optimizer.init(u.ravel())     # a run stopping here keeps its stage
            state_next, fresh = None, True
        n = _block_length(stages, nit, max_iter, checkpoints) if tiled else 1
        ahead = n == 1 and nit < max_iter         # the fused step writes iterate nit + 1
        if n > 1:
            if state_next is None:
                state_next = optimizer.init(u.ravel())
            records = objective.descent_block(u, u_next, optimizer, state, state_next, n)
        elif nit < max_iter:
            records = (objective.descent_step(u, u_next, optimizer, state),)
        else:                                    # the last iterate: no step to take
            records = ((objective(u, u_next), objective.max_abs(u_next.ravel())),)
        for j, (e, g_norm) in enumerate(records):  # iterate nit + j
            nfev += 0 if counted else 1
            counted = False
            if not (math.isfinite(e) and math.isfinite(g_norm)):
                if nit + j > 0:
                    return _stepped_back(objective, stages, nit + j - 1, ftol, history, psnrs,
                                         nfev)
                status = Status.NON_FINITE
                break
            history.record(e, g_norm)
            if clean is not None:
                psnrs[nit] = psnr(clean, u)
            if nit + j > 0:
                bar.update(e)
                if callback is not None:
                    view = u.view()
                    view.flags.writeable = False
                    try:
                        callback(OptimizeResult(x=view, fun=e, nit=nit))
                    except StopIteration:
                        status = Status.CALLBACK
                        break
            status = energy_status(g_norm, e if e_prev is None else e_prev, e,
                                   0.0 if fresh and j == 0 else ftol)
            if status is not None:
                break
            if nit + j >= max_iter:               # > when resumed from a longer run
                status = Status.MAX_ITER
                break
            e_prev = e
        if status is not None:
            if j > 0:                             # stopped inside a block: iterate nit + j again
                objective.descent_block(u, u_next, optimizer, state, state_next, j)
                u, u_next, state = u_next, (spare if u is f else u), state_next
                nit += j
            break
        u, u_next = u_next, (spare if u is f else u)
        if n > 1:
            state, state_next = state_next, state
        nit += n
        stop = interrupted()
        # a checkpoint, and a stop, only at an iterate whose E and gradient
        # are finite (u_next is free here: the next step overwrites it);
        # otherwise the next pass evaluates u, finds it non-finite and steps
        # back, and the last good checkpoint stays
        if ((stop or checkpoints is not None and checkpoints.due(nit))
                and objective.finite_at(u, u_next)):
            if checkpoints is not None:
                _save(checkpoints, u, state, nit, nfev, history, psnrs)
            if stop:
                status = Status.INTERRUPTED
                break
    if u is f:
        u = f.copy()
    # a resume that took no step leaves its checkpoint as it is, byte for byte
    save_end = checkpoints is not None and (not resume or nit != resumed_at or ahead)
    if status in (Status.FTOL, Status.GTOL, Status.CALLBACK) and save_end:
        # saved "at the end": after a fused step the state has taken the step
        # past iterate nit already, so the checkpoint is iterate nit + 1 (a
        # resume with a smaller tol goes on as a run with that tol would)
        if ahead:
            _save(checkpoints, u_next, state, nit + 1, nfev, history, psnrs)
        else:
            _save(checkpoints, u, state, nit, nfev, history, psnrs)
    g = u_next                                   # the spare buffer holds the gradient
    # E and the gradient of the iterate returned; already evaluated (and
    # counted) in the loop except when interrupted before its evaluation
    fun = e if status == Status.MAX_ITER else objective(u, g)
    if status == Status.INTERRUPTED:
        nfev += 1
        history.record(fun, objective.max_abs(g.ravel()))
        if clean is not None:
            psnrs[nit] = psnr(clean, u)
    elif status == Status.MAX_ITER and save_end:
        _save(checkpoints, u, state, nit, nfev, history, psnrs)
    res = run_result(u, fun, g, nit, nfev, 0, status, history)
    if clean is not None:
        res["psnr_history"] = psnrs[:history.size].copy()
        res["psnr"] = psnr(clean, u)
    return res


def _block_length(stages, nit, max_iter, checkpoints):
    """The iterations a tiled run takes from iterate nit in one block: up to
    BLOCK_ITERATIONS, ending at the next stage, checkpoint or max_iter; 1
    (a single fused step) when that leaves fewer than BLOCK_MIN_ITERATIONS,
    0 at max_iter."""
    ends = [max_iter, nit + BLOCK_ITERATIONS]
    ends += [first for first, _, _ in stages if first > nit]
    if checkpoints is not None and checkpoints.every > 0:
        ends.append(checkpoints.next_pause(nit))
    n = max(min(ends) - nit, 0)
    return n if n >= BLOCK_MIN_ITERATIONS else min(n, 1)


def _save(checkpoints, u, state, nit, nfev, history, psnrs):
    """Save iterate nit (u) and its state, with the records (E, max|g| and
    PSNR when there is a clean image) of iterates 0 .. nit - 1."""
    records = history.records(nit)
    if psnrs.size:
        records["psnr_history"] = psnrs[:nit].copy()
    checkpoints.save(u, state, nit, nfev, 0, records)


def _restore(checkpoints, optimizer, u, history, psnrs):
    """Load the checkpoint into u, history and psnrs; returns (nit, nfev,
    E of iterate nit - 1, state, psnrs): psnrs grows to nit + 1 entries
    when the checkpoint comes from a run past this one's max_iter."""
    counters, arrays, state = checkpoints.restore(optimizer, u, history)
    nit, nfev = counters["nit"], counters["nfev"]
    if psnrs.size:
        if "psnr_history" not in arrays:
            raise CheckpointError(f"{checkpoints.path} holds no PSNR history; resume without "
                                  "clean=, or start afresh")
        if psnrs.size < nit + 1:
            psnrs = np.empty(nit + 1)
        psnrs[:nit] = arrays["psnr_history"][:nit]
    return nit, nfev, (arrays["fun_history"][nit - 1] if nit > 0 else None), state, psnrs


def _stepped_back(objective, stages, nit, ftol, history, psnrs, nfev):
    """The result of a run whose iterate nit + 1 was non-finite: iterate nit,
    recomputed by a run of nit iterations, with the first run's records.
    nfev counts as minimize does: the failing evaluation and one more at
    iterate nit for its gradient."""
    again = _descend(objective, stages, nit, ftol, None, None, NoBar())
    res = run_result(again.x, again.fun, again.jac, nit, nfev + 1, 0, Status.NON_FINITE,
                     history)
    if psnrs.size:
        res["psnr_history"] = psnrs[:history.size].copy()
        res["psnr"] = psnrs[nit]
    return res


def _without_unit_axes(a):
    """a volume's length-1 axes dropped (a (1, H, W) volume is the (H, W)
    image: the same iterations, with 2-D's step), down to 2-D."""
    while a.ndim > 2 and 1 in a.shape:
        a = a.reshape(a.shape[:a.shape.index(1)] + a.shape[a.shape.index(1) + 1:])
    return a


def _checked_image(name, a):
    a = np.ascontiguousarray(check.real_array(name, a))   # a copy only if needed; never written
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D image (H, W) or a 3-D volume (D, H, W), "
                         f"got shape {a.shape}")
    return a

