"""gdfast.denoise: smoothed total-variation denoising of 2-D images and 3-D volumes."""
import math

import numpy as np

from . import validation as check
from .images import psnr
from .kernels import tv
from .minimize import minimize
from .optimizers import SGD, Adam, Optimizer, make_optimizer

PARALLEL_MIN_PIXELS = 65_536


def lipschitz_bound(lam, eps, ndim):
    """L = 1 + 4 * ndim * lam / eps, a bound on the Lipschitz constant of dE/du.

    The data term contributes 1; each sqrt(.. + eps^2) has curvature at most
    1/eps, and the forward-difference operator has squared norm at most 4 per
    axis. Gradient descent with lr = 1/L decreases E at every step.
    """
    return 1.0 + 4.0 * ndim * lam / eps


def default_optimizer(method, lam, eps, ndim):
    """The optimizer ``denoise`` uses for a method name.

    'gd': SGD(lr=1/L); 'nesterov': SGD(lr=1/L, nesterov=True, momentum=
    (sqrt(L) - 1) / (sqrt(L) + 1)), the optimal constant momentum for an
    objective that is 1-strongly convex (the data term) with an L-Lipschitz
    gradient; 'momentum': heavy ball with the same lr and momentum; 'adam':
    Adam(lr=0.01), a step of about 1% of the [0, 1] intensity range. Other
    names take gdfast.minimize's defaults.
    """
    L = lipschitz_bound(lam, eps, ndim)
    beta = (math.sqrt(L) - 1.0) / (math.sqrt(L) + 1.0)
    if method == "gd":
        return SGD(lr=1.0 / L)
    if method == "nesterov":
        return SGD(lr=1.0 / L, momentum=beta, nesterov=True) if beta > 0 else SGD(lr=1.0 / L)
    if method == "momentum":
        return SGD(lr=1.0 / L, momentum=beta) if beta > 0 else SGD(lr=1.0 / L)
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
            self.work = tv.tv_workspace_2d(f.shape)
            self.kernel = tv.tv_energy_grad_2d_parallel if parallel else tv.tv_energy_grad_2d
        else:
            self.work = tv.tv_workspace_3d(f.shape)
            self.kernel = tv.tv_energy_grad_3d_parallel if parallel else tv.tv_energy_grad_3d

    def __call__(self, u, g):
        return self.kernel(u, self.f, self.lam, self.eps, g, self.work, self.anisotropic)


def denoise(f, lam, eps=0.03, method="nesterov", max_iter=300, tol=1e-7, clean=None,
            anisotropic=False, callback=None, progress=False):
    """Denoise an image by minimising the smoothed total-variation energy

        E(u) = 1/2 sum (u - f)^2 + lam * sum_p sqrt(|grad u|_p^2 + eps^2)

    (anisotropic: sum over axes of sqrt(d_a u^2 + eps^2)), with forward
    differences and Neumann boundary, as skimage.restoration.
    denoise_tv_chambolle does with ``weight = lam``; starting from u = f.

    f        2-D (H, W) or 3-D (D, H, W) array of real numbers, finite; an
             RGB image is denoised one channel at a time by the caller.
    lam      >= 0, the weight of the TV term (in units of f).
    eps      > 0, the smoothing of |grad u| (in units of f per pixel).
    method   'nesterov' (default), 'gd', 'momentum', 'adam', another name of
             gdfast.minimize, or an optimizer object. Names get steps from the
             Lipschitz bound L = 1 + 8 lam/eps (2-D), 1 + 12 lam/eps (3-D):
             see default_optimizer.
    max_iter iterations at most; tol: stop when the relative change of E is
             <= tol (0: off).
    clean    optional clean image shaped like f: the result then carries
             ``psnr_history`` (dB at every iterate, data range 1) and ``psnr``.

    Returns gdfast.minimize's OptimizeResult with x the denoised image
    (float64, f's shape) and fun its energy.
    """
    f = _checked_image("f", f)
    lam = check.non_negative("lam", lam)
    eps = check.positive("eps", eps)
    tol = check.non_negative("tol", tol)
    anisotropic = check.boolean("anisotropic", anisotropic)
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
    objective = TVObjective(f, lam, eps, anisotropic)

    psnrs = np.empty(max_iter + 1 if clean is not None else 0)
    if clean is not None:
        psnrs[0] = psnr(clean, f)
    user_callback = callback

    def record(intermediate):
        if clean is not None:
            psnrs[intermediate.nit] = psnr(clean, intermediate.x)
        if user_callback is not None:
            user_callback(intermediate)

    res = minimize(objective, f, optimizer, jac="inplace", max_iter=max_iter, ftol=tol,
                   gtol=0.0, callback=record if (clean is not None or callback) else None,
                   progress=progress)
    if clean is not None:
        res["psnr_history"] = psnrs[:res.nit + 1].copy()
        res["psnr"] = psnr(clean, res.x)
    return res


def _checked_image(name, a):
    a = np.ascontiguousarray(check.real_array(name, a))   # a copy only if needed; never written
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D image (H, W) or a 3-D volume (D, H, W), "
                         f"got shape {a.shape}")
    return a

