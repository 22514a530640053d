"""gdfast.kernels: the update rules as numba @njit kernels.

Every update rule has one calling convention, so one compiled loop can
drive any of them::

    bad = rule_step(x, g, state, t, lr, hyper)

``x`` : float64[::1], shape (n,)
    The parameters, updated in place.
``g`` : float64[::1], shape (n,)
    The gradient at x, only read.
``state`` : tuple of float64[::1] arrays of shape (n,)
    Updated in place (``()`` for plain gradient descent).
``t`` : int
    The step number: 1 on the first call.
``lr`` : float
    This step's learning rate (e.g. ``schedule(t, lr0, params)``).
``hyper`` : tuple of float
    The rule's other hyperparameters (see each docstring).
``bad`` : int
    The number of entries i where the step wrote NaN or inf into x[i] or a
    state array (0 for a clean step; see ``nonfinite``).

``*_step`` kernels are serial and safe inside a user's own ``prange`` loop;
``*_step_parallel`` kernels spread one large array over numba's threads and
give bitwise the same numbers. Kernels do not validate: the facade in
``gdfast`` does. Schedules share the signature ``schedule(t, lr0, params)``.

Rules whose state or gradient does not fit that form have modules of their
own: ``asgd`` (element-wise, the convention itself), ``adafactor`` (the
second moment factored over a matrix's rows and columns: state arrays not of
x's length), ``muon`` (a 2-D parameter orthogonalised by Newton-Schulz: its
row count in hyper, scratch in the state) and ``sparse_adam`` (a row-sparse
gradient given as indices and rows: ``sparse_adam_step(x, indices, values,
state, t, lr, hyper)``). ``optax_rules`` holds optax's element-wise rules that
torch.optim lacks (AdaBelief, Yogi, Adan), with optax's equations, and
``optax_layerwise`` its rules scaled by a norm of the whole array (LAMB,
LARS, NovoGrad: scratch for the norms in the state); ``optax_schedule_free``
schedule-free SGD and AdamW (x is the interpolated point y, the state holds
z) and Polyak's step size SGD, whose step takes f(x) as well:
``polyak_sgd_step(x, g, value, state, t, lr, hyper)``.

The modules: ``clipping`` holds gradient clipping (torch's
``clip_grad_norm_`` over several arrays, a norm in fixed blocks, and
``clip_grad_value_``), ``averaging`` the running averages of parameters
(torch.optim.swa_utils.AveragedModel's SWA and EMA); ``finite_differences``
holds the central-difference gradient
of a user's @njit objective; ``reductions`` the norms the convergence checks
use; ``tv`` the smoothed total-variation energy and gradient of images, and
``tv_descent`` one denoising iteration in one pass (that gradient fused with
any update rule), ``tv_tiles`` K of them by cache-sized tiles; ``guard`` a
step that is skipped when the gradient holds NaN or inf; ``driver`` the loop
of gdfast.minimize for every method (``descend``) and ``minimize_nopython``.
The quasi-Newton family has its own modules: ``lbfgs`` (the two-loop
recursion over a ring buffer of pairs, and torch.optim.LBFGS's step),
``line_search`` (strong Wolfe, Armijo), ``linalg`` (dot products in fixed
blocks) and ``lbfgs_b`` (L-BFGS with bounds as a method of ``descend``;
``lbfgs_b_descend`` runs it whole from a user's numba code, ``lbfgs_b_batch``
over the rows of a batch, ``lbfgs_b_descend_timed`` for minimize in chunks it
times itself with ``clock``'s monotonic clock). The least-squares family has
``levenberg_marquardt`` (Levenberg–Marquardt for one small problem, and
``least_squares_batch_nopython`` over rows). ``jit`` compiles
every kernel and keeps it on disk; ``function_refs`` passes functions to
kernels in a form whose compiled code is cached too (``cacheable``,
``cached_objective``).
"""
from .adafactor import adafactor_step, adafactor_step_parallel
from .adam_family import (
    adam_step,
    adam_step_parallel,
    adamax_step,
    adamax_step_parallel,
    adamw_step,
    adamw_step_parallel,
    nadam_step,
    nadam_step_parallel,
    radam_step,
    radam_step_parallel,
)
from .adaptive import (
    adadelta_step,
    adadelta_step_parallel,
    adagrad_step,
    adagrad_step_parallel,
    rmsprop_full_step,
    rmsprop_full_step_parallel,
    rmsprop_step,
    rmsprop_step_parallel,
)
from .asgd import asgd_step, asgd_step_parallel
from .averaging import (
    fma,
    lerp_average,
    lerp_average_parallel,
    swa_average,
    swa_average_parallel,
    swa_weight,
)
from .clipping import (
    add_norm_part,
    clip_coefficient,
    clip_grad_norm,
    clip_values,
    clip_values_parallel,
    finish_norm,
    norm_part,
    norm_part_parallel,
    scale_gradient,
    scale_gradient_parallel,
)
from .guard import step_if_finite, step_if_finite_parallel
from .muon import muon_step, muon_step_parallel
from .optax_layerwise import (
    NORM_WORK,
    lamb_step,
    lamb_step_parallel,
    lars_step,
    lars_step_parallel,
    novograd_step,
    novograd_step_parallel,
)
from .optax_rules import (
    adabelief_step,
    adabelief_step_parallel,
    adan_step,
    adan_step_parallel,
    yogi_step,
    yogi_step_parallel,
)
from .optax_schedule_free import (
    polyak_sgd_step,
    polyak_sgd_step_parallel,
    schedule_free_adamw_step,
    schedule_free_adamw_step_parallel,
    schedule_free_eval_params,
    schedule_free_sgd_step,
    schedule_free_sgd_step_parallel,
)
from .reductions import (
    max_abs,
    max_abs_diff,
    max_abs_diff_parallel,
    max_abs_parallel,
    mean_squared_difference,
    mean_squared_difference_parallel,
)
from .schedules import (
    chained_lr,
    constant,
    constant_lr,
    cosine_annealing,
    cosine_decay,
    cosine_warm_restarts,
    cyclic_lr,
    exponential_decay,
    inverse_time_decay,
    lambda_lr,
    linear_lr,
    multiplicative_lr,
    multistep_lr,
    one_cycle_lr,
    plateau_lr,
    plateau_state,
    plateau_step,
    polynomial_lr,
    sequential_lr,
    step_decay,
    swa_lr,
    warmup_cosine,
)
from .sgd import (
    gd_step,
    gd_step_parallel,
    momentum_step,
    momentum_step_parallel,
    nesterov_step,
    nesterov_step_parallel,
)
from .sign_based import lion_step, lion_step_parallel, rprop_step, rprop_step_parallel
from .sparse_adam import sparse_adam_step, sparse_adam_step_parallel
from .stream import triad, triad_parallel
from .tv import (
    tv_energy_2d,
    tv_energy_3d,
    tv_energy_grad_2d,
    tv_energy_grad_2d_parallel,
    tv_energy_grad_3d,
    tv_energy_grad_3d_parallel,
    tv_workspace_2d,
    tv_workspace_3d,
)
from .tv_descent import (
    tv_descent_step_2d,
    tv_descent_step_2d_parallel,
    tv_descent_step_3d,
    tv_descent_step_3d_parallel,
    tv_descent_workspace_2d,
    tv_descent_workspace_3d,
)

__all__ = [
    "gd_step", "gd_step_parallel",
    "momentum_step", "momentum_step_parallel",
    "nesterov_step", "nesterov_step_parallel",
    "adagrad_step", "adagrad_step_parallel",
    "rmsprop_step", "rmsprop_step_parallel",
    "adam_step", "adam_step_parallel",
    "rmsprop_full_step", "rmsprop_full_step_parallel", "adadelta_step", "adadelta_step_parallel",
    "adamw_step", "adamw_step_parallel", "adamax_step", "adamax_step_parallel",
    "nadam_step", "nadam_step_parallel", "radam_step", "radam_step_parallel",
    "rprop_step", "rprop_step_parallel", "lion_step", "lion_step_parallel",
    "asgd_step", "asgd_step_parallel", "adafactor_step", "adafactor_step_parallel",
    "muon_step", "muon_step_parallel", "sparse_adam_step", "sparse_adam_step_parallel",
    "adabelief_step", "adabelief_step_parallel", "yogi_step", "yogi_step_parallel",
    "adan_step", "adan_step_parallel", "lamb_step", "lamb_step_parallel", "lars_step",
    "lars_step_parallel", "novograd_step", "novograd_step_parallel", "NORM_WORK",
    "schedule_free_sgd_step", "schedule_free_sgd_step_parallel", "schedule_free_adamw_step",
    "schedule_free_adamw_step_parallel", "schedule_free_eval_params", "polyak_sgd_step",
    "polyak_sgd_step_parallel",
    "constant", "inverse_time_decay", "exponential_decay", "step_decay",
    "cosine_decay", "warmup_cosine", "constant_lr", "linear_lr", "polynomial_lr",
    "multistep_lr", "cosine_annealing", "cosine_warm_restarts", "cyclic_lr", "one_cycle_lr",
    "swa_lr", "lambda_lr", "multiplicative_lr", "sequential_lr", "chained_lr",
    "plateau_state", "plateau_step", "plateau_lr",
    "triad", "triad_parallel", "step_if_finite", "step_if_finite_parallel",
    "max_abs", "max_abs_parallel", "max_abs_diff", "max_abs_diff_parallel",
    "mean_squared_difference", "mean_squared_difference_parallel",
    "tv_energy_grad_2d", "tv_energy_grad_2d_parallel", "tv_energy_2d", "tv_workspace_2d",
    "tv_energy_grad_3d", "tv_energy_grad_3d_parallel", "tv_energy_3d", "tv_workspace_3d",
    "tv_descent_step_2d", "tv_descent_step_2d_parallel", "tv_descent_workspace_2d",
    "tv_descent_step_3d", "tv_descent_step_3d_parallel", "tv_descent_workspace_3d",
    "norm_part", "norm_part_parallel", "add_norm_part", "finish_norm", "clip_coefficient",
    "scale_gradient", "scale_gradient_parallel", "clip_values", "clip_values_parallel",
    "clip_grad_norm", "swa_average", "swa_average_parallel", "lerp_average",
    "lerp_average_parallel", "swa_weight", "fma",
]
