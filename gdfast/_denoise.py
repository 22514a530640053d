"""gdfast.denoise: smoothed total-variation denoising of 2-D images and 3-D volumes."""
import math
import os
import sys
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _validation as check
from . import kernels
from ._optimizers import SGD, Adam, Optimizer, make_optimizer
from ._run import (STATUS_OF_CODE, Checkpoints, History, NoBar, OptimizeResult, Status,
                   deferred_interrupt, progress_bar, run_result)
from .checkpoint import CheckpointError, checked_checkpoint_options, fingerprint_of
from .images import psnr
from .kernels import tv, tv_descent
from .kernels.function_refs import cacheable
from .kernels.driver import RUNNING, convergence_status

PARALLEL_MIN_PIXELS = 65_536
# eps**2 is a normal float64 in this range: below it eps**2 underflows (to 0
# below 1e-162, and the gradient is 0/0 on flat regions), above it overflows
EPS_MIN = math.sqrt(sys.float_info.min)
EPS_MAX = math.sqrt(sys.float_info.max)


def checked_eps(name, eps):
    """eps as a float in [EPS_MIN, EPS_MAX]; ValueError or TypeError naming ``name``."""
    eps = check.positive(name, eps)
    if not EPS_MIN <= eps <= EPS_MAX:
        raise ValueError(f"{name} must be in [{EPS_MIN:.3g}, {EPS_MAX:.3g}], so that eps**2 is "
                         f"a normal float64 and the energy and its gradient are finite; got {eps!r}")
    return eps


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
        on every lam, eps and 2-D / 3-D case of tests/kernels/test_tv.py's sweep, and
        to chambolle's PSNR in `gdfast bench`. Unlike Nesterov it has no
        global convergence guarantee for non-quadratic energies.
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


def denoise(f: ArrayLike, lam: float, eps: float = 0.03, method: "str | Optimizer" = "momentum",
            max_iter: int = 300, tol: float = 1e-7, clean: ArrayLike | None = None,
            anisotropic: bool = False, callback: Callable[[OptimizeResult], None] | None = None,
            progress: bool | str = False, checkpoint: "str | os.PathLike | None" = None,
            checkpoint_every: int = 0, resume: bool = False) -> OptimizeResult:
    """Denoise an image by minimising the smoothed total-variation energy

        E(u) = 1/2 sum (u - f)^2 + lam * sum_p sqrt(|grad u|_p^2 + eps^2)

    (anisotropic: sum over axes of sqrt(d_a u^2 + eps^2)), with forward
    differences and Neumann boundary, as skimage.restoration.
    denoise_tv_chambolle does with ``weight = lam``; starting from u = f.

    f        2-D (H, W) or 3-D (D, H, W) array of real numbers, finite; an
             RGB image is denoised one channel at a time by the caller.
    lam      >= 0, the weight of the TV term (in units of f).
    eps      > 0, the smoothing of |grad u| (in units of f per pixel).
    method   'momentum' (default: Polyak's heavy ball), 'nesterov', 'gd',
             'adam', another name of gdfast.minimize, or an optimizer object.
             Names get their constants from the Lipschitz bound L = 1 + 8
             lam/eps (2-D), 1 + 12 lam/eps (3-D): see default_optimizer.
    max_iter iterations at most; tol: stop when the relative change of E is
             <= tol (0: off), as gdfast.minimize's ftol.
    clean    optional clean image shaped like f: the result then carries
             ``psnr_history`` (dB at every iterate, data range 1) and ``psnr``.
    callback as in gdfast.minimize.
    progress True shows a tqdm progress bar (needs tqdm) labelled 'denoise',
             or labelled with a string given instead of True.
    checkpoint, checkpoint_every, resume
             as in gdfast.minimize: save the run to the .npz ``checkpoint``
             every ``checkpoint_every`` iterations (0: only at the end), when
             it stops at max_iter and when it is interrupted; resume=True goes
             on from it (same f, lam, eps, anisotropic and optimizer, else
             gdfast.checkpoint.CheckpointError), bit for bit as if never
             stopped (nfev too, except that a run resumed after it stopped
             at max_iter evaluates that iterate once more). Resumed with a
             max_iter at or below the checkpoint's iteration count, the run
             returns the checkpoint's iterate with status 'max_iter'. A
             checkpoint is never written with NaN or inf in it, and a file
             at ``checkpoint`` that is not a gdfast checkpoint is never
             overwritten (ValueError before any work).

    Raises ValueError before any step when lam, eps and f cannot give a
    finite energy (eps outside [1.5e-154, 1.3e154], where eps**2 under- or
    overflows; the energy at u = f overflowing float64). A run whose iterate
    becomes non-finite later stops with status 'non-finite' and the last
    finite iterate.

    Ctrl-C stops after the iteration in progress, with status 'interrupted'
    and the last complete iterate (see gdfast.minimize).

    Every iteration is one pass of gdfast.kernels.tv_descent (the gradient
    fused with the optimizer's update; two image buffers); the iterates, the
    energies and the stopping rules are those of gdfast.minimize(..., jac=
    'inplace') on the same energy, bit for bit. Returns an OptimizeResult
    like minimize's, with x the denoised image (float64, f's shape), fun its
    energy and jac its gradient.
    """
    f = _checked_image("f", f)
    lam = check.non_negative("lam", lam)
    eps = checked_eps("eps", eps)
    tol = check.non_negative("tol", tol)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    anisotropic = check.boolean("anisotropic", anisotropic)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if clean is not None:
        clean = _checked_image("clean", clean)
        if clean.shape != f.shape:
            raise ValueError(f"clean must have the shape of f {f.shape}, got {clean.shape}")
    if isinstance(method, Optimizer):
        optimizer = method
    elif isinstance(method, str):
        optimizer = default_optimizer(method.lower(), lam, eps, f.ndim)
    else:
        raise TypeError(f"method must be a name or an optimizer object, got {method!r}")
    checkpoint_every, resume = checked_checkpoint_options(checkpoint, checkpoint_every, resume)
    objective = TVObjective(f, lam, eps, anisotropic)
    checkpoints = None
    if checkpoint is not None:
        checkpoints = Checkpoints(checkpoint, checkpoint_every, "denoise",
                                  fingerprint_of(optimizer, f, lam=lam, eps=eps,
                                                 anisotropic=anisotropic))
    if isinstance(progress, str):
        bar = progress_bar(True, max_iter, progress)
    else:
        bar = progress_bar(progress, max_iter, "denoise")
    try:
        with deferred_interrupt() as interrupted:
            res = _descend(objective, optimizer, max_iter, tol, clean, callback, bar, checkpoints,
                           resume, interrupted)
    finally:
        bar.close()
    if res.status == Status.NON_FINITE and res.fun_history.size == 0 and not resume:
        _refuse_overflowing_start(f, lam, eps)
    return res


def _refuse_overflowing_start(f, lam, eps):
    """The energy of f itself is not finite (f, lam and eps are): float64
    overflows at this scale, and no step can be taken. Say what to change."""
    top = kernels.max_abs(f.ravel())
    raise ValueError(
        f"the energy at the start (u = f) overflows float64 with lam={lam!r}, eps={eps!r} and "
        f"max|f| = {top:.3g} over {f.size} pixels; rescale f to about [0, 1] (denoising f / c "
        "with lam / c and eps / c gives the result / c) or lower lam")


def _descend(objective, optimizer, max_iter, ftol, clean, callback, bar, checkpoints=None,
             resume=False, interrupted=lambda: False):
    """The loop of denoise: minimize's stopping rules, over fused iterations.

    Each call of the fused kernel evaluates iterate k (E, max|g|) and writes
    iterate k + 1 into the other buffer, so a run that stops at iterate k
    returns the buffer holding it and drops the step already taken past it;
    iterate max_iter gets the TV kernel alone, its gradient into the spare
    buffer. u_0 = f is only read; two buffers take turns from step 1 on.

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
    state = optimizer.init(u.ravel())
    history = History(max_iter)
    psnrs = np.empty(max_iter + 1 if clean is not None else 0)
    nit, status, e_prev, nfev = 0, None, None, 0
    if resume:
        u, spare = spare, u_next
        nit, nfev, e_prev, state, psnrs = _restore(checkpoints, optimizer, u, history, psnrs)
    while True:
        if nit < max_iter:
            e, g_norm = objective.descent_step(u, u_next, optimizer, state)
        else:                                    # the last iterate: no step to take
            e = objective(u, u_next)
            g_norm = objective.max_abs(u_next.ravel())
        nfev += 1
        if not (math.isfinite(e) and math.isfinite(g_norm)):
            if nit > 0:
                return _stepped_back(objective, optimizer, nit - 1, ftol, history, psnrs, nfev)
            status = Status.NON_FINITE
            break
        history.record(e, g_norm)
        if clean is not None:
            psnrs[nit] = psnr(clean, u)
        if nit > 0:
            bar.update(e)
            if callback is not None:
                view = u.view()
                view.flags.writeable = False
                try:
                    callback(OptimizeResult(x=view, fun=e, nit=nit))
                except StopIteration:
                    status = Status.CALLBACK
                    break
        code = convergence_status(g_norm, e if e_prev is None else e_prev, e, 0.0,
                                  u.ravel(), 0.0, ftol if nit > 0 else 0.0, 0.0)
        if code != RUNNING:
            status = STATUS_OF_CODE[code]
            break
        if nit >= max_iter:                       # > when resumed from a longer run
            status = Status.MAX_ITER
            break
        u, u_next = u_next, (spare if u is f else u)
        nit, e_prev = nit + 1, e
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
    g = u_next                                   # the spare buffer holds the gradient
    # E and the gradient of the iterate returned; already evaluated (and
    # counted) in the loop except when interrupted before its evaluation
    fun = e if status == Status.MAX_ITER else objective(u, g)
    if status == Status.INTERRUPTED:
        nfev += 1
        history.record(fun, objective.max_abs(g.ravel()))
        if clean is not None:
            psnrs[nit] = psnr(clean, u)
    elif status == Status.MAX_ITER and checkpoints is not None:
        _save(checkpoints, u, state, nit, nfev, history, psnrs)
    res = run_result(u, fun, g, nit, nfev, 0, status, history)
    if clean is not None:
        res["psnr_history"] = psnrs[:history.size].copy()
        res["psnr"] = psnr(clean, u)
    return res


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


def _stepped_back(objective, optimizer, nit, ftol, history, psnrs, nfev):
    """The result of a run whose iterate nit + 1 was non-finite: iterate nit,
    recomputed by a run of nit iterations, with the first run's records.
    nfev counts as minimize does: the failing evaluation and one more at
    iterate nit for its gradient."""
    again = _descend(objective, optimizer, nit, ftol, None, None, NoBar())
    res = run_result(again.x, again.fun, again.jac, nit, nfev + 1, 0, Status.NON_FINITE,
                     history)
    if psnrs.size:
        res["psnr_history"] = psnrs[:history.size].copy()
        res["psnr"] = psnrs[nit]
    return res


def _checked_image(name, a):
    a = np.ascontiguousarray(check.real_array(name, a))   # a copy only if needed; never written
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D image (H, W) or a 3-D volume (D, H, W), "
                         f"got shape {a.shape}")
    return a

