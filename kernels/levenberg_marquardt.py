"""Levenberg–Marquardt for many small least-squares problems (the least-squares room).

One problem: minimise cost(x) = 1/2 sum_k r_k(x)^2 over x in [lo, hi], x of
n parameters, r of n_res residuals, with the user's compiled functions::

    residuals(x, r, *args)        # writes r(x) into r, float64 (n_res,)
    jacobian(x, J, *args)         # writes dr/dx into J, float64 (n_res, n)

or jacobian None: forward differences, column j from r(x + h_j e_j) with
h_j = sqrt(eps) max(1, |x_j|) (backwards where x_j + h_j passes hi_j);
or jacobian `FUSED`: ``residuals(x, r, J, *args)`` writes both in one call,
so that what they share (exp(-b t) in an exponential fit) is computed once;
every trial point then gets its Jacobian too (counted in njev), which a
rejected trial does not use.

Each iteration solves the damped Gauss–Newton system over the free
parameters

    (A + lam diag(D)) delta = -grad,    A = J^T J,  grad = J^T r,

with D_j the largest A_jj met so far (Marquardt's scaling, as MINPACK's
lmder: the steps do not depend on the units of x), then tries
x_trial = P(x + delta) (P clips to [lo, hi]; a parameter on a bound with the
gradient pushing out is held: its delta is 0, as kernels.lbfgs_b holds it).
With s = x_trial - x, the gain ratio

    rho = (cost(x) - cost(x_trial)) / (-(grad . s + s^T A s / 2))

accepts the trial when rho > 1e-4; then lam *= max(1/3, 1 - (2 rho - 1)^3)
and nu = 2, else lam *= nu and nu *= 2 (Nielsen's update: H. B. Nielsen,
"Damping parameter in Marquardt's method", IMM-REP-1999-05; Madsen, Nielsen
and Tingleff, "Methods for non-linear least squares problems", 2004). A
trial with NaN or inf residuals is rejected the same way. lam starts at
1e-3. The system is solved by a Cholesky factorisation (n x n, in place).

Stopping rules, all relative (the same run whatever the units of r or x),
MINPACK's and scipy.optimize.least_squares's:

- GTOL: max_j |grad_j| / (||J_:j|| ||r||) <= gtol over the free j (the
  cosine between r and the columns of J), or cost = 0;
- FTOL: an accepted step lowered the cost by at most ftol cost;
- XTOL: a step (accepted, or rejected: lam has grown until no step makes
  progress) has ||s|| <= xtol (xtol + ||x||);
- MAX_ITER: max_iter trials (accepted or rejected);
- NON_FINITE: NaN or inf in r or J at x_0, or in J at an accepted point (x
  is then that point: its residuals are finite).

A problem's memory between calls is x, D and (lam, nu) (``damping``) and its
counts; the residuals and the Jacobian are evaluated again where a call
goes on, so calls that pause give the bits of one call. Everything but the
per-problem workspace of ``lm_workspace`` is preallocated; nothing is
allocated per iteration.
"""
import numpy as np
from numba import prange, types
from numba.core.imputils import lower_constant
from numba.extending import NativeValue, models, overload, register_model, typeof_impl, unbox

from .calls import call_2, call_3
from .driver import FTOL, GTOL, MAX_ITER, NON_FINITE, RUNNING, XTOL
from .jit import BORROWING, PARALLEL, SERIAL, njit
from .linalg import copy_1d
from .tuples import rows

EPS = np.finfo(np.float64).eps
SQRT_EPS = np.sqrt(EPS)
LAM0 = 1e-3                 # the damping at the start, relative to diag(D)
ACCEPT = 1e-4               # the least gain ratio of an accepted step
LAM_MAX = 1e300             # beyond this no step can make progress
# the entries of a problem's damping array and of its counts array
LAM, NU = 0, 1
NIT, NFEV, NJEV = 0, 1, 2


class FusedJacobian:
    """The type of `FUSED`, the jacobian argument that says residuals writes
    the Jacobian too (module docstring)."""

    __slots__ = ()

    def __repr__(self):
        return "FUSED"

    def __reduce__(self):
        return "FUSED"                  # the module's one instance, when pickled


FUSED = FusedJacobian()


class FusedJacobianType(types.Dummy):
    """numba's type of `FUSED`: no value, a compile-time switch."""

    def __init__(self):
        super().__init__("FusedJacobian")


register_model(FusedJacobianType)(models.OpaqueModel)
_FUSED_TYPE = FusedJacobianType()


@typeof_impl.register(FusedJacobian)
def _typeof_fused(val, c):
    return _FUSED_TYPE


@unbox(FusedJacobianType)
def _unbox_fused(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


@lower_constant(FusedJacobianType)            # FUSED as a global of a user's numba code
def _constant_fused(context, builder, ty, pyval):
    return context.get_dummy_value()


@njit(**SERIAL)
def lm_workspace(n_res, n):
    """(r, r_trial, J, A, L, grad, step, x_trial) for n parameters and n_res
    residuals: float64 (n_res,), (n_res,), (n_res, n), (n, n), (n, n), (n,),
    (n,), (n,)."""
    return (np.empty(n_res), np.empty(n_res), np.zeros((n_res, n)), np.empty((n, n)),
            np.empty((n, n)), np.empty(n), np.empty(n), np.empty(n))


@njit(**BORROWING)
def half_sum_of_squares(r):
    """cost = sum_k r_k^2 / 2 (in index order)."""
    s = 0.0
    for k in range(r.size):
        s += r[k] * r[k]
    return 0.5 * s


@njit(**BORROWING)
def _all_finite(a):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if not np.isfinite(a[i, j]):
                return False
    return True


@njit(**BORROWING)
def forward_differences(residuals, x, r, J, r_trial, lo, hi, args):
    """J[:, j] = (r(x + h e_j) - r) / h, h = sqrt(eps) max(1, |x_j|), taken
    backwards where x_j + h passes hi_j (x and r_trial restored/overwritten)."""
    n = x.size
    bounded = lo.size > 0
    for j in range(n):
        xj = x[j]
        h = SQRT_EPS * max(1.0, abs(xj))
        if bounded and xj + h > hi[j]:
            h = -h
        x[j] = xj + h
        h = x[j] - xj                 # the step as represented
        call_2(residuals, x, r_trial, args)
        x[j] = xj
        for k in range(r.size):
            J[k, j] = (r_trial[k] - r[k]) / h


@njit(**SERIAL, inline="always")
def _zero(J):
    for i in range(J.shape[0]):       # zeroed for a jacobian that writes only the nonzeros
        for k in range(J.shape[1]):
            J[i, k] = 0.0


def is_fused(jacobian):
    """Whether jacobian is FUSED, known when compiling (compiled code only)."""


@overload(is_fused)
def _is_fused(jacobian):
    value = isinstance(jacobian, FusedJacobianType)
    return lambda jacobian: value


def evaluate_residuals(residuals, jacobian, x, r, J, args):
    """r = r(x), and J = dr/dx as well when jacobian is FUSED (compiled code only)."""


@overload(evaluate_residuals)
def _evaluate_residuals(residuals, jacobian, x, r, J, args):
    if isinstance(jacobian, FusedJacobianType):
        def both(residuals, jacobian, x, r, J, args):
            _zero(J)
            call_3(residuals, x, r, J, args)
        return both

    def alone(residuals, jacobian, x, r, J, args):
        call_2(residuals, x, r, args)
    return alone


def evaluate_jacobian(residuals, jacobian, x, r, J, r_trial, lo, hi, args):
    """J = dr/dx at x (r = r(x) given): by jacobian, or forward differences
    when it is None; nothing when it is FUSED (evaluate_residuals wrote J)."""


@overload(evaluate_jacobian)
def _evaluate_jacobian(residuals, jacobian, x, r, J, r_trial, lo, hi, args):
    if isinstance(jacobian, FusedJacobianType):
        return lambda residuals, jacobian, x, r, J, r_trial, lo, hi, args: None
    if isinstance(jacobian, types.NoneType):
        def differences(residuals, jacobian, x, r, J, r_trial, lo, hi, args):
            forward_differences(residuals, x, r, J, r_trial, lo, hi, args)
        return differences

    def given(residuals, jacobian, x, r, J, r_trial, lo, hi, args):
        _zero(J)
        call_2(jacobian, x, J, args)
    return given


@njit(**BORROWING)
def normal_equations(J, r, A, grad):
    """A = J^T J and grad = J^T r, each entry summed in residual order."""
    n_res, n = J.shape
    for a in range(n):
        s = 0.0
        for k in range(n_res):
            s += J[k, a] * r[k]
        grad[a] = s
        for b in range(a + 1):
            s = 0.0
            for k in range(n_res):
                s += J[k, a] * J[k, b]
            A[a, b] = s
            A[b, a] = s


@njit(**BORROWING)
def _held(x_j, g_j, lo, hi, j):
    return lo.size > 0 and ((x_j <= lo[j] and g_j > 0.0) or (x_j >= hi[j] and g_j < 0.0))


@njit(**BORROWING)
def scaled_gradient_norm(A, cost, grad, x, lo, hi):
    """max_j |grad_j| / (||J_:j|| ||r||) over the free j with ||J_:j|| > 0 (0
    when r = 0): MINPACK's gtol measure, from what the iteration has: A =
    J^T J (``normal_equations``: ||J_:j||^2 = A[j, j], the same sum) and
    cost = ||r||^2 / 2."""
    r_norm = np.sqrt(2.0 * cost)
    if r_norm == 0.0:
        return 0.0
    worst = 0.0
    for j in range(x.size):
        if _held(x[j], grad[j], lo, hi, j):
            continue
        c = A[j, j]
        if c > 0.0:
            worst = max(worst, abs(grad[j]) / (np.sqrt(c) * r_norm))
    return worst


@njit(**BORROWING)
def damped_step(A, D, lam, grad, x, lo, hi, L, step):
    """step = -(A + lam diag(D))^-1 grad over the free parameters (0 on the
    held ones), by Cholesky in L; False if the matrix is not positive
    definite in floating point (NaN in A, or lam too small for rounding)."""
    n = x.size
    for a in range(n):
        held_a = _held(x[a], grad[a], lo, hi, a)
        for b in range(n):
            held_b = _held(x[b], grad[b], lo, hi, b)
            if held_a or held_b:
                L[a, b] = 1.0 if a == b else 0.0
            else:
                L[a, b] = A[a, b] + (lam * D[a] if a == b else 0.0)
        step[a] = 0.0 if held_a else -grad[a]
    for a in range(n):                       # L L^T = the matrix, lower triangle
        s = L[a, a]
        for k in range(a):
            s -= L[a, k] * L[a, k]
        if not s > 0.0:
            return False
        L[a, a] = np.sqrt(s)
        for b in range(a + 1, n):
            s = L[b, a]
            for k in range(a):
                s -= L[b, k] * L[a, k]
            L[b, a] = s / L[a, a]
    for a in range(n):                       # forward: L z = rhs
        s = step[a]
        for k in range(a):
            s -= L[a, k] * step[k]
        step[a] = s / L[a, a]
    for a in range(n - 1, -1, -1):           # back: L^T step = z
        s = step[a]
        for k in range(a + 1, n):
            s -= L[k, a] * step[k]
        step[a] = s / L[a, a]
    return True


@njit(**BORROWING)
def _norm(v):
    s = 0.0
    for i in range(v.size):
        s += v[i] * v[i]
    return np.sqrt(s)


@njit(**BORROWING)
def levenberg_marquardt(residuals, jacobian, x, lo, hi, args, D, damping, counts, max_iter,
                        pause_at, ftol, xtol, gtol, work):
    """Minimise 1/2 ||r(x)||^2 from x (updated in place) by Levenberg–Marquardt
    (module docstring); returns (cost, status).

    x float64 (n,) inside [lo, hi] (lo, hi (n,), -inf / inf for a free side,
    or both (0,): no bounds). D (n,), damping (2,) (LAM, NU) and counts (3,)
    int64 (NIT, NFEV, NJEV) are the problem's memory: with counts[NIT] = 0
    the run starts (D and damping set here), else it goes on from where a
    call that paused left them. pause_at: return with status RUNNING when
    counts[NIT] reaches it (-1: never). work = lm_workspace(n_res, n); on
    return work[0] holds r(x). Safe inside a user's ``prange`` (one work per
    thread or problem).
    """
    r, r_trial, J, A, L, grad, step, x_trial = work
    n = x.size
    fused = is_fused(jacobian)
    fresh = counts[NIT] == 0          # else going on: this evaluation was counted before
    evaluate_residuals(residuals, jacobian, x, r, J, args)
    counts[NFEV] += int(fresh)
    cost = half_sum_of_squares(r)
    if not np.isfinite(cost):
        return cost, NON_FINITE
    evaluate_jacobian(residuals, jacobian, x, r, J, r_trial, lo, hi, args)
    counts[NJEV] += int(fresh)
    if not _all_finite(J):
        return cost, NON_FINITE
    # A, grad and the gtol measure are all an iteration reads of J (a FUSED
    # trial overwrites J with the trial point's)
    normal_equations(J, r, A, grad)
    stationarity = scaled_gradient_norm(A, cost, grad, x, lo, hi)
    if fresh:
        for j in range(n):
            D[j] = A[j, j] if A[j, j] > 0.0 else 1.0
        damping[LAM], damping[NU] = LAM0, 2.0
    while True:
        if cost == 0.0 or stationarity <= gtol:
            return cost, GTOL
        if counts[NIT] >= max_iter:
            return cost, MAX_ITER
        if counts[NIT] == pause_at:
            return cost, RUNNING
        for j in range(n):
            D[j] = max(D[j], A[j, j])
        lam, nu = damping[LAM], damping[NU]
        counts[NIT] += 1
        rho, cost_trial = -1.0, np.inf
        solved = damped_step(A, D, lam, grad, x, lo, hi, L, step)
        if solved:
            for j in range(n):
                v = x[j] + step[j]
                if lo.size > 0:
                    v = min(max(v, lo[j]), hi[j])
                x_trial[j] = v
                step[j] = v - x[j]
            predicted = 0.0
            for a in range(n):
                s = 0.0
                for b in range(n):
                    s += A[a, b] * step[b]
                predicted -= step[a] * (grad[a] + 0.5 * s)
            evaluate_residuals(residuals, jacobian, x_trial, r_trial, J, args)
            counts[NFEV] += 1
            counts[NJEV] += int(fused)
            cost_trial = half_sum_of_squares(r_trial)
            if np.isfinite(cost_trial) and predicted > 0.0:
                rho = (cost - cost_trial) / predicted
        small = solved and _norm(step) <= xtol * (xtol + _norm(x))
        if rho > ACCEPT:
            lowered = cost - cost_trial
            copy_1d(x, x_trial)
            copy_1d(r, r_trial)
            cost = cost_trial
            damping[LAM] = lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            damping[NU] = 2.0
            evaluate_jacobian(residuals, jacobian, x, r, J, r_trial, lo, hi, args)
            counts[NJEV] += int(not fused)
            if not _all_finite(J):
                return cost, NON_FINITE
            normal_equations(J, r, A, grad)
            stationarity = scaled_gradient_norm(A, cost, grad, x, lo, hi)
            if lowered <= ftol * (cost + lowered):
                return cost, FTOL
            if small:
                return cost, XTOL
        else:
            damping[LAM], damping[NU] = lam * nu, 2.0 * nu
            if small or not damping[LAM] <= LAM_MAX:
                return cost, XTOL


@njit(**PARALLEL)
def least_squares_batch_nopython(residuals, jacobian, X, batch_args, args, LO, HI, n_res,
                                 max_iter, ftol, xtol, gtol, cost, R, status, D, damping,
                                 counts, pause_after=-1):
    """levenberg_marquardt on every row of X, rows in parallel.

    X (P, n): the starts (inside the bounds), rows updated in place; problem
    i calls residuals(X[i], r, *rows(batch_args, i), *args) (and jacobian
    so). LO, HI (P, n) bounds or (P, 0): none. cost (P,) and R (P, n_res)
    receive the cost and the residuals at each x; status (P,) int64; D
    (P, n), damping (P, 2) and counts (P, 3) int64 hold each problem's memory
    (levenberg_marquardt). pause_after as kernels.driver's batch kernels: -1
    every row from its start; K >= 0 only the rows whose status is RUNNING,
    for at most K more iterations, bit for bit as one call.
    """
    n = X.shape[1]
    for i in prange(X.shape[0]):
        if pause_after >= 0 and status[i] != RUNNING:
            continue
        if pause_after < 0:
            counts[i, NIT], counts[i, NFEV], counts[i, NJEV] = 0, 0, 0
        work = lm_workspace(n_res, n)
        pause_at = counts[i, NIT] + pause_after if pause_after >= 0 else -1
        c, s = levenberg_marquardt(residuals, jacobian, X[i], LO[i], HI[i],
                                   rows(batch_args, i) + args, D[i], damping[i], counts[i],
                                   max_iter, pause_at, ftol, xtol, gtol, work)
        cost[i] = c
        R[i] = work[0]
        status[i] = s
