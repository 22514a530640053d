"""Time to the answer: solvers side by side on the problems of `solve_problems`
(the anchors of ``gdfast bench solve``, issue 30).

For each problem every solver of `SOLVERS` runs from the problem's x0 on the
same numba value-and-gradient kernel (``fun(x, g, *args) -> f``):

- ``gdfast``: ``gdfast.minimize(fun, x0, jac='inplace', args=args)`` with
  minimize's defaults, in its nopython mode. This is the slot of gdfast's
  default method: it calls minimize as a user would, so when L-BFGS becomes
  minimize's default (issue 30, item 3) this column follows with no edit here;
  a solver under development can be put beside it under another name
  (``SOLVERS['gdfast lbfgs'] = ...``).
- ``scipy L-BFGS-B``: ``scipy.optimize.minimize(..., jac=True,
  method='L-BFGS-B')`` on the kernel wrapped to return (f, g), with scipy's
  defaults, as a user calls it: the solver gdfast's targets compare with.
- ``scipy tight``: the same with tight tolerances (`SCIPY_OPTIONS`), a
  reference for the best f (it is timed and counted, not compared with).
- ``torch LBFGS``: ``torch.optim.LBFGS(line_search_fn='strong_wolfe')`` in
  float64, one ``step(closure)`` of up to `MAX_ITER` iterations, the closure
  calling the kernel (if torch imports).
- ``optax L-BFGS``: ``optax.lbfgs()`` (its zoom line search, memory 10) in
  float64 (jax x64), the loop of optax's own L-BFGS example jitted as one
  ``jax.lax.while_loop``, the kernel reached through ``jax.pure_callback``
  with a custom VJP (f and g from one call), if jax and optax import; no
  bounds (optax.lbfgs has none). It stops as `OPTAX_RTOL` says.

The references (scipy tight, torch) run with tight tolerances
(`SCIPY_OPTIONS`, `TORCH_OPTIONS`), to their own numerical convergence, so
that the best f found is the problem's minimum to rounding, not a stopping
rule's; their evaluation counts include those last iterations. Each solver counts its
evaluations of fun (f and g together: one evaluation) and its wall time, the
compile time excluded: the kernel is called once first, and a solver with its
own compiled loop (gdfast) makes one warm-up call before it is timed. The
time is the median of ``reps`` runs.

Solved: ``f <= f_best + tol``, f_best the least f any solver found on the
problem and ``tol = 1e-8 |f_best|`` (`SOLVED_RTOL`), or ``1e-12``
(`SOLVED_ATOL`) where the problem's f* is 0. The Dolan-More performance
profile (`performance_profile`, `draw_performance_profile`) is over the solved
runs, in time and in evaluations.

``gdfast bench solve`` (`run_solve_suite`) prints the table and the targets
of issue 30 (`solve_targets`); ``--quick`` runs the suite at small sizes.
"""
import argparse
import importlib.util
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .report import environment, fmt_time, machine_state
from .solve_problems import SolveProblem, solve_suite

SOLVED_RTOL = 1e-8
SOLVED_ATOL = 1e-12           # where f* = 0
MAX_ITER = 15_000             # scipy's default maxiter and maxfun
MAX_EVAL = 15_000
# ftol: L-BFGS-B stops when (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol
# (scipy's default 2.2e-9 leaves f* = 1e-8 problems at 1e-9 absolute); gtol on
# max |projected g| (default 1e-5)
SCIPY_OPTIONS = dict(ftol=1e-15, gtol=1e-10, maxiter=MAX_ITER, maxfun=MAX_EVAL, maxcor=10)
# torch stops on max|g| <= tolerance_grad, or |f_k - f_k+1| or max|t d| <= tolerance_change
TORCH_OPTIONS = dict(lr=1.0, max_iter=MAX_ITER, max_eval=MAX_EVAL, tolerance_grad=1e-10,
                     tolerance_change=1e-15, history_size=10, line_search_fn="strong_wolfe")
# optax.lbfgs has no stopping rule of its own: its example's loop runs while
# the gradient's 2-norm is above a tolerance; here relative to its value at x0
# (OPTAX_RTOL), and until f stops decreasing (a line search that found no
# lower f), up to MAX_ITER iterations
OPTAX_RTOL = 1e-10


@dataclass
class SolverRun:
    """One solver's run on one problem.

    Parameters
    ----------
    solver : str
    problem : str
    f : float
        f at the solver's last iterate (NaN if it failed).
    nfev : int
        Evaluations of fun (value and gradient together).
    seconds : float
        Wall time of the run, compile time excluded (the median of the reps).
    message : str
        The solver's own stopping message.
    solved : bool, default False
        Set by `mark_solved`.
    """

    solver: str
    problem: str
    f: float
    nfev: int
    seconds: float
    message: str
    solved: bool = False


@dataclass
class ProblemResult:
    """Every solver's run on one problem.

    Parameters
    ----------
    problem : SolveProblem
    runs : dict of str to SolverRun
        By solver name, in `SOLVERS`' order.
    f_best : float
        The least finite f of the runs (NaN if none is finite).
    """

    problem: SolveProblem
    runs: dict[str, SolverRun] = field(default_factory=dict)
    f_best: float = math.nan


class _Counted:
    """fun(x, g, *args) counted, as (f, g) for jac=True callers."""

    def __init__(self, problem: SolveProblem):
        self.fun, self.args = problem.fun, problem.args
        self.g = np.empty(problem.n)
        self.nfev = 0

    def __call__(self, x):
        self.nfev += 1
        f = self.fun(x, self.g, *self.args)
        return float(f), self.g.copy()


def run_gdfast_default(problem: SolveProblem) -> SolverRun:
    """gdfast's default: ``gdfast.minimize(fun, x0, jac='inplace', args=args)``.

    minimize's defaults (method, max_iter, gtol) as a user gets them, in its
    nopython mode. One warm-up call with max_iter=1 compiles (or loads) the
    compiled loop for fun first; it is not timed.

    Parameters
    ----------
    problem : SolveProblem

    Returns
    -------
    SolverRun
    """
    import gdfast
    gdfast.minimize(problem.fun, problem.x0, jac="inplace", args=problem.args,
                    bounds=problem.bounds, max_iter=1)
    t0 = time.perf_counter()
    res = gdfast.minimize(problem.fun, problem.x0, jac="inplace", args=problem.args,
                          bounds=problem.bounds)
    seconds = time.perf_counter() - t0
    return SolverRun("gdfast", problem.name, float(res.fun), int(res.nfev), seconds,
                     f"{res.status.value}, {res.nit} iterations")


def run_scipy_lbfgsb(problem: SolveProblem, options: dict | None = None,
                     name: str = "scipy L-BFGS-B") -> SolverRun:
    """scipy.optimize.minimize(method='L-BFGS-B', jac=True), scipy's defaults
    unless options are given.

    Parameters
    ----------
    problem : SolveProblem
    options : dict, optional
        scipy's options (`SCIPY_OPTIONS` for the tight reference).
    name : str, default 'scipy L-BFGS-B'
        The run's solver name.

    Returns
    -------
    SolverRun
    """
    from scipy.optimize import minimize
    fg = _Counted(problem)
    with _one_blas_thread():
        t0 = time.perf_counter()
        res = minimize(fg, problem.x0.copy(), jac=True, method="L-BFGS-B", options=options,
                       bounds=None if problem.bounds is None else list(zip(*problem.bounds)))
        seconds = time.perf_counter() - t0
    return SolverRun(name, problem.name, float(res.fun), fg.nfev, seconds,
                     f"{res.message}, {res.nit} iterations")


def _one_blas_thread():
    """scipy's L-BFGS-B with one OpenBLAS thread (threadpoolctl, in the bench
    extra): its threads make a problem of 10 variables up to 100x slower on a
    loaded machine, which would flatter gdfast. Without threadpoolctl, as
    the environment has it (the header says OPENBLAS_NUM_THREADS)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def run_scipy_tight(problem: SolveProblem) -> SolverRun:
    """`run_scipy_lbfgsb` with `SCIPY_OPTIONS`: the reference for the best f.

    Parameters
    ----------
    problem : SolveProblem

    Returns
    -------
    SolverRun
    """
    return run_scipy_lbfgsb(problem, SCIPY_OPTIONS, "scipy tight")


def run_torch_lbfgs(problem: SolveProblem) -> SolverRun:
    """torch.optim.LBFGS(line_search_fn='strong_wolfe') in float64, `TORCH_OPTIONS`.

    One ``step(closure)`` from x0 (up to MAX_ITER iterations); the closure
    calls the kernel on the parameter's memory and hands torch a copy of the
    gradient. A warm-up step of one iteration on another copy is not timed.

    Parameters
    ----------
    problem : SolveProblem

    Returns
    -------
    SolverRun
    """
    if problem.bounds is not None:
        raise NotApplicable("torch.optim.LBFGS takes no bounds")
    import torch

    def solve(options):
        p = torch.tensor(problem.x0, dtype=torch.float64, requires_grad=True)
        g = np.empty(problem.n)
        count = [0]

        def closure():
            count[0] += 1
            f = problem.fun(p.detach().numpy(), g, *problem.args)
            p.grad = torch.from_numpy(g.copy())
            return torch.tensor(float(f), dtype=torch.float64)

        opt = torch.optim.LBFGS([p], **options)
        opt.step(closure)
        x = p.detach().numpy().copy()
        n_iter = opt.state[p].get("n_iter", 0)
        return float(problem.fun(x, g, *problem.args)), count[0], n_iter

    solve(dict(TORCH_OPTIONS, max_iter=1, max_eval=2))
    t0 = time.perf_counter()
    f, nfev, n_iter = solve(TORCH_OPTIONS)
    seconds = time.perf_counter() - t0
    return SolverRun("torch LBFGS", problem.name, f, nfev, seconds, f"{n_iter} iterations")


def _optax_solver(problem: SolveProblem, count: list[int]):
    """optax.lbfgs's loop for problem, jitted: ``solve(x0, g0_norm) -> (x, state,
    f, f_prev)``; each evaluation of the kernel adds 1 to count[0]."""
    import jax
    import jax.numpy as jnp
    import optax
    import optax.tree_utils as otu
    jax.config.update("jax_enable_x64", True)
    g = np.empty(problem.n)

    def value_and_grad(x):
        count[0] += 1
        f = problem.fun(np.array(x, dtype=np.float64), g, *problem.args)
        return np.float64(f), g.copy()

    shapes = (jax.ShapeDtypeStruct((), jnp.float64),
              jax.ShapeDtypeStruct((problem.n,), jnp.float64))

    @jax.custom_vjp
    def value(x):
        return jax.pure_callback(value_and_grad, shapes, x)[0]

    def forward(x):
        return jax.pure_callback(value_and_grad, shapes, x)

    value.defvjp(forward, lambda grad, cotangent: (cotangent * grad,))
    opt = optax.lbfgs()
    value_and_grad_from_state = optax.value_and_grad_from_state(value)

    def step(carry):
        x, state, f_prev, _ = carry
        f, grad = value_and_grad_from_state(x, state=state)
        updates, state = opt.update(grad, state, x, value=f, grad=grad, value_fn=value)
        return optax.apply_updates(x, updates), state, f, f_prev

    @jax.jit
    def solve(x0, g0_norm):
        def running(carry):
            _, state, f_prev, f_before = carry
            k = otu.tree_get(state, "count")
            err = otu.tree_norm(otu.tree_get(state, "grad"))
            return (k == 0) | ((k < MAX_ITER) & (err > OPTAX_RTOL * g0_norm) & (f_prev < f_before))
        return jax.lax.while_loop(running, step, (x0, opt.init(x0), jnp.inf, jnp.inf))
    return solve


def run_optax_lbfgs(problem: SolveProblem) -> SolverRun:
    """optax.lbfgs() in float64 (jax x64), its example's loop jitted (`OPTAX_RTOL`).

    One warm-up call compiles the loop (jax's tracing and XLA) and is not
    timed. Each evaluation is a ``jax.pure_callback`` into the kernel: what a
    user of optax with a numba (or any non-JAX) objective gets.

    Parameters
    ----------
    problem : SolveProblem

    Returns
    -------
    SolverRun
    """
    if problem.bounds is not None:
        raise NotApplicable("optax.lbfgs takes no bounds")
    import jax
    import optax.tree_utils as otu
    count = [0]
    solve = _optax_solver(problem, count)
    g0 = np.empty(problem.n)
    problem.fun(problem.x0.copy(), g0, *problem.args)
    x0 = jax.numpy.asarray(problem.x0, dtype=jax.numpy.float64)
    g0_norm = float(np.linalg.norm(g0))
    jax.block_until_ready(solve(x0, g0_norm))
    count[0] = 0
    t0 = time.perf_counter()
    x, state, _, _ = jax.block_until_ready(solve(x0, g0_norm))
    seconds = time.perf_counter() - t0
    g = np.empty(problem.n)
    f = float(problem.fun(np.array(x, dtype=np.float64), g, *problem.args))
    return SolverRun("optax L-BFGS", problem.name, f, count[0], seconds,
                     f"{int(otu.tree_get(state, 'count'))} iterations")


def default_solvers() -> dict[str, Callable[[SolveProblem], SolverRun]]:
    """The solvers side by side, by name: gdfast's default first, then the
    anchors that are installed (scipy, torch, jax with optax).

    Returns
    -------
    dict of str to callable
        ``solver(problem) -> SolverRun``.
    """
    solvers: dict[str, Callable[[SolveProblem], SolverRun]] = {"gdfast": run_gdfast_default}
    # found, not imported (torch takes seconds to import): a run imports them
    if importlib.util.find_spec("scipy") is not None:
        solvers["scipy L-BFGS-B"] = run_scipy_lbfgsb
        solvers["scipy tight"] = run_scipy_tight
    if importlib.util.find_spec("torch") is not None:
        solvers["torch LBFGS"] = run_torch_lbfgs
    if all(importlib.util.find_spec(name) is not None for name in ("jax", "optax")):
        solvers["optax L-BFGS"] = run_optax_lbfgs
    return solvers


# The slot: solver name -> solver(problem) -> SolverRun. "gdfast" is gdfast's
# default (minimize as a user calls it); put a new gdfast method beside it here.
SOLVERS: dict[str, Callable[[SolveProblem], SolverRun]] = default_solvers()


def mark_solved(result: ProblemResult) -> None:
    """Set f_best and each run's ``solved``: ``f <= f_best + tol``.

    ``tol = SOLVED_RTOL |f_best|``, and at least SOLVED_ATOL where the
    problem's f* is 0.

    Parameters
    ----------
    result : ProblemResult
        Changed in place.
    """
    finite = [r.f for r in result.runs.values() if math.isfinite(r.f)]
    result.f_best = min(finite) if finite else math.nan
    tol = SOLVED_RTOL * abs(result.f_best)
    if result.problem.f_star == 0.0:
        tol = max(tol, SOLVED_ATOL)
    for r in result.runs.values():
        r.solved = bool(finite) and math.isfinite(r.f) and r.f <= result.f_best + tol


class NotApplicable(Exception):
    """A solver that cannot take the problem (torch's LBFGS and bounds): no row."""


def _failed(name, problem, error):
    return SolverRun(name, problem.name, math.nan, 0, math.nan,
                     f"failed: {type(error).__name__}: {error}")


def run_problem(problem: SolveProblem,
                solvers: dict[str, Callable[[SolveProblem], SolverRun]] | None = None,
                reps: int = 1) -> ProblemResult:
    """Every solver on one problem, the kernel compiled first; solved marked.

    Parameters
    ----------
    problem : SolveProblem
    solvers : dict of str to callable, optional
        Default `SOLVERS`.
    reps : int, default 1
        Runs of each solver, round-robin; the time is their median (f and nfev
        are the last run's: the runs are deterministic).

    Returns
    -------
    ProblemResult
    """
    solvers = SOLVERS if solvers is None else solvers
    problem.fun(problem.x0.copy(), np.empty(problem.n), *problem.args)     # compile
    result = ProblemResult(problem)
    times: dict[str, list[float]] = {name: [] for name in solvers}
    for _ in range(max(1, reps)):
        for name, solver in solvers.items():
            try:
                run = solver(problem)
            except NotApplicable:
                continue
            except Exception as error:           # a solver's failure is a row, not a crash
                run = _failed(name, problem, error)
            run.solver = name
            result.runs[name] = run
            times[name].append(run.seconds)
    for name, run in result.runs.items():
        run.seconds = statistics.median(times[name])
    mark_solved(result)
    return result


def performance_profile(results: Sequence[ProblemResult], metric: str = "seconds"
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Dolan & More's performance profile (Math. Program. 91, 201-213, 2002).

    For problem p and solver s, ``t_ps`` = the metric of s's run if solved,
    else inf; ``r_ps = t_ps / min_s t_ps``; ``rho_s(tau)`` = the fraction of
    problems with ``r_ps <= tau``.

    Parameters
    ----------
    results : sequence of ProblemResult
        With solved marked (`run_problem` does).
    metric : {'seconds', 'nfev'}, default 'seconds'

    Returns
    -------
    dict of str to (tau, rho)
        By solver: tau (k,) the increasing ratios where rho steps, from 1;
        rho (k,) the fraction of problems solved within tau times the best.
    """
    if metric not in ("seconds", "nfev"):
        raise ValueError(f"metric must be 'seconds' or 'nfev', got {metric!r}")
    solvers = list(dict.fromkeys(name for res in results for name in res.runs))
    ratios: dict[str, list[float]] = {s: [] for s in solvers}
    for res in results:
        cost = {s: (float(getattr(res.runs[s], metric)) if s in res.runs and res.runs[s].solved
                    else math.inf) for s in solvers}
        best = min(cost.values())
        for s in solvers:
            ratios[s].append(cost[s] / best if math.isfinite(best) and best > 0
                             else (1.0 if cost[s] == best and math.isfinite(best) else math.inf))
    n_problems = max(len(results), 1)
    out = {}
    for s in solvers:
        r = np.sort(np.array(ratios[s]))
        finite = r[np.isfinite(r)]
        tau = np.unique(np.concatenate([[1.0], finite]))
        rho = np.array([np.count_nonzero(r <= t) for t in tau]) / n_problems
        out[s] = (tau, rho)
    return out


def draw_performance_profile(results: Sequence[ProblemResult], path: str) -> str:
    """The performance profiles in time and in evaluations, side by side, as a PNG.

    Parameters
    ----------
    results : sequence of ProblemResult
    path : str
        Where to write the PNG.

    Returns
    -------
    str
        path.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install matplotlib``).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric, label in zip(axes, ("seconds", "nfev"), ("wall time", "evaluations")):
        profile = performance_profile(results, metric)
        top = max([t[-1] for t, _ in profile.values()] + [2.0])
        for solver, (tau, rho) in profile.items():
            ax.step(np.append(tau, top * 2), np.append(rho, rho[-1]), where="post", label=solver)
        ax.set_xscale("log", base=2)
        ax.set_xlim(1, top * 2)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"tau: within tau times the best {label}")
        ax.set_ylabel("fraction of problems solved")
        ax.set_title(f"performance profile: {label}")
        ax.legend(loc="lower right")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fmt_f(f):
    return "nan" if not math.isfinite(f) else f"{f:.10e}"


def table_lines(result: ProblemResult) -> list[str]:
    """One problem's rows of the printed table: a row per solver.

    Parameters
    ----------
    result : ProblemResult

    Returns
    -------
    list of str
    """
    p = result.problem
    f_star = "?" if p.f_star is None else f"{p.f_star:.6g}"
    lines = []
    for i, run in enumerate(result.runs.values()):
        head = f"{p.name:<24} {p.n:>6} {f_star:>11}" if i == 0 else " " * 43
        seconds = "-" if not math.isfinite(run.seconds) else fmt_time(run.seconds)
        lines.append(f"{head}  {run.solver:<15} {_fmt_f(run.f):>17} {run.nfev:>6} "
                     f"{seconds:>10}  {'yes' if run.solved else 'NO':<4} {run.message}")
    note = best_f_note(result)
    if note:
        lines.append(" " * 45 + note)
    return lines


def best_f_note(result: ProblemResult) -> str:
    """'' when the best f found is the source's f* (to the 6 digits MGH print,
    or SOLVED_ATOL where f* = 0); else what it is: one of the source's local
    minima, or neither.

    Parameters
    ----------
    result : ProblemResult
        With f_best set (`mark_solved`).

    Returns
    -------
    str
    """
    p, best = result.problem, result.f_best
    if p.f_star is None or not math.isfinite(best):
        return ""

    def near(value):
        return abs(best - value) <= max(1e-5 * abs(value), SOLVED_ATOL)
    if near(p.f_star):
        return ""
    for value in p.f_local:
        if near(value):
            return (f"(the best f is the local minimum {value:g} the source gives, "
                    f"not f* = {p.f_star:g})")
    return f"(no solver reached f* = {p.f_star:g})"


TABLE_HEAD = (f"{'problem':<24} {'n':>6} {'f*':>11}  {'solver':<15} {'f':>17} {'nfev':>6} "
              f"{'time':>10}  solved")


def summary_lines(results: Sequence[ProblemResult]) -> list[str]:
    """Per solver: problems solved, and the geometric mean over the problems
    both solve of its evaluations and time relative to scipy L-BFGS-B's.

    Parameters
    ----------
    results : sequence of ProblemResult

    Returns
    -------
    list of str
    """
    solvers = list(dict.fromkeys(name for res in results for name in res.runs))
    lines = []
    ref = "scipy L-BFGS-B"
    for s in solvers:
        solved = [res for res in results if s in res.runs and res.runs[s].solved]
        line = f"{s:<15} solved {len(solved)}/{len(results)}"
        both = [res for res in solved if ref in res.runs and res.runs[ref].solved]
        if s != ref and both:
            ev = [res.runs[s].nfev / max(res.runs[ref].nfev, 1) for res in both]
            tm = [res.runs[s].seconds / res.runs[ref].seconds for res in both
                  if res.runs[ref].seconds > 0]
            line += (f"; on the {len(both)} scipy also solves: evaluations "
                     f"{_geomean(ev):.3g}x scipy's, time {_geomean(tm):.3g}x (geometric means)")
        lines.append(line)
    return lines


def _geomean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def run_solve_benchmark(problems: Sequence[SolveProblem] | None = None, *, quick: bool = False,
                        reps: int | None = None, png: str | None = None,
                        solvers: dict[str, Callable[[SolveProblem], SolverRun]] | None = None,
                        say: Callable[[str], None] = print,
                        machine: dict | None = None) -> list[ProblemResult]:
    """Run the solvers on the problems, printing the table as it goes.

    Parameters
    ----------
    problems : sequence of SolveProblem, optional
        Default ``solve_suite(quick)``.
    quick : bool, default False
        The suite at small sizes, one rep.
    reps : int, optional
        Runs per solver (the median time); default 1 with quick, else 3 (1
        for problems with n >= 10**4 or data arguments).
    png : str, optional
        Also draw the performance profiles there (needs matplotlib).
    solvers : dict of str to callable, optional
        Default `SOLVERS`.
    say : callable, default print
    machine : dict, optional
        Receives the machine's state before the run under 'machine' (see
        report.machine_state).

    Returns
    -------
    list of ProblemResult
    """
    problems = solve_suite(quick) if problems is None else problems
    solvers = SOLVERS if solvers is None else solvers
    state = machine_state(say)
    if machine is not None:
        machine["machine"] = state
    say(environment("torch LBFGS" in solvers)["summary"]
        + f"; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    if "scipy L-BFGS-B" in solvers:
        has_limits = importlib.util.find_spec("threadpoolctl") is not None
        say("scipy's L-BFGS-B runs with one BLAS thread (threadpoolctl)" if has_limits else
            "note: scipy's L-BFGS-B calls OpenBLAS, whose threads on a loaded machine can make "
            "a small problem 100x slower; install threadpoolctl (gdfast[bench]) or set "
            "OPENBLAS_NUM_THREADS=1 to keep it to one thread")
    say(TABLE_HEAD)
    results = []
    for p in problems:
        r = reps if reps is not None else (1 if quick or p.n >= 10**4 or p.args else 3)
        result = run_problem(p, solvers, r)
        results.append(result)
        for line in table_lines(result):
            say(line)
    say("")
    for line in summary_lines(results):
        say(line)
    if png is not None:
        say(f"performance profiles: {draw_performance_profile(results, png)}")
    return results


# issue 30's targets: gdfast's default against scipy's L-BFGS-B at its defaults
TARGET_EVALUATIONS = 1.25      # geometric mean of nfev / scipy's, on the problems both solve
TARGET_SMALL_TIME = 0.1        # n <= SMALL_N, nopython: >= 10x shorter
TARGET_LARGE_TIME = 1.0        # n >= LARGE_N
TARGET_LOGISTIC_TIME = 1.2     # the logistic regression, f* within 1e-8
SMALL_N, LARGE_N = 100, 10_000


def solve_targets(results: Sequence[ProblemResult], gdfast: str = "gdfast",
                  scipy: str = "scipy L-BFGS-B") -> list[tuple[str, bool, str]]:
    """The targets of issue 30 as (text, met, goal) lines for report_targets.

    Parameters
    ----------
    results : sequence of ProblemResult
    gdfast, scipy : str
        The solvers compared.

    Returns
    -------
    list of (str, bool, str)
    """
    both = [r for r in results if gdfast in r.runs and scipy in r.runs]
    scipy_solved = [r for r in both if r.runs[scipy].solved]
    missed = [r.problem.name for r in scipy_solved if not r.runs[gdfast].solved]
    lines = [(f"{gdfast} solves {len(scipy_solved) - len(missed)} of the {len(scipy_solved)} "
              f"problems {scipy} solves" + (f" (not: {', '.join(missed)})" if missed else ""),
              not missed, "all")]
    solved = [r for r in scipy_solved if r.runs[gdfast].solved]
    if solved:
        ratio = _geomean([r.runs[gdfast].nfev / max(r.runs[scipy].nfev, 1) for r in solved])
        lines.append((f"evaluations: {ratio:.3g}x {scipy}'s (geometric mean, {len(solved)} "
                      "problems)", ratio <= TARGET_EVALUATIONS, f"<= {TARGET_EVALUATIONS}x"))
    # time: over the problems gdfast solves, against scipy's run whatever it
    # reached (a run that stops short stops sooner: the comparison is not
    # flattered)
    ours = [r for r in both if r.runs[gdfast].solved]
    for label, rows, goal in (
            (f"n <= {SMALL_N}", [r for r in ours if r.problem.n <= SMALL_N],
             TARGET_SMALL_TIME),
            (f"n >= {LARGE_N}", [r for r in ours if r.problem.n >= LARGE_N],
             TARGET_LARGE_TIME),
            ("the logistic regression", [r for r in ours if r.problem.name.startswith(
                "logistic")], TARGET_LOGISTIC_TIME)):
        if rows:
            ratio = _geomean([r.runs[gdfast].seconds / r.runs[scipy].seconds for r in rows])
            lines.append((f"wall time, {label}: {ratio:.3g}x {scipy}'s ({len(rows)} solved "
                          "problems)", ratio <= goal, f"<= {goal}x"))
    return lines


def run_solve_suite(*, quick: bool = False, problems: Sequence[str] | None = None,
                    reps: int | None = None, png: str | None = None,
                    say: Callable[[str], None] = print) -> dict:
    """``gdfast bench solve``: the table, the summary and the targets.

    Parameters
    ----------
    quick : bool, default False
        The suite at small sizes (`solve_suite`), one rep.
    problems : sequence of str, optional
        Only these problems (by name); ValueError for an unknown one.
    reps : int, optional
        Runs per solver (see `run_solve_benchmark`).
    png : str, optional
        Draw the performance profiles there.
    say : callable, default print

    Returns
    -------
    dict
        machine, environment, problems (per problem and solver: f, nfev,
        seconds, solved, note) and targets, as JSON values.
    """
    suite = solve_suite(quick)
    if problems:
        known = {p.name: p for p in suite}
        missing = [w for w in problems if w not in known]
        if missing:
            raise ValueError(f"unknown problems {missing}; known: {', '.join(known)}")
        suite = [known[w] for w in problems]
    from .report import report_targets
    results_dict: dict = {"suite": "solve", "quick": quick}
    results = run_solve_benchmark(suite, quick=quick, reps=reps, png=png, say=say,
                                  machine=results_dict)
    results_dict["problems"] = [
        dict(problem=r.problem.name, n=r.problem.n, f_best=r.f_best,
             runs={name: dict(f=run.f, nfev=run.nfev, seconds=run.seconds,
                              solved=run.solved, message=run.message)
                   for name, run in r.runs.items()}) for r in results]
    report_targets(results_dict, solve_targets(results), say)
    return results_dict


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gdfast.bench.solve [--quick] [--problems A,B] [--reps K] [--png FILE]``.

    Parameters
    ----------
    argv : sequence of str, optional
        Default sys.argv[1:].

    Returns
    -------
    int
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m gdfast.bench.solve",
                                     description="solvers side by side on the MGH suite, "
                                                 "extended Rosenbrock and a logistic regression")
    parser.add_argument("--quick", action="store_true",
                        help="the suite at small sizes (n = 100 Rosenbrock, 2,000 x 20 "
                             "logistic), one rep")
    parser.add_argument("--problems", default=None,
                        help="comma-separated problem names (default: all)")
    parser.add_argument("--reps", type=int, default=None, help="runs per solver (median time)")
    parser.add_argument("--png", default=None, help="draw the performance profiles to FILE")
    args = parser.parse_args(argv)
    problems = solve_suite(args.quick)
    if args.problems:
        wanted = [name.strip() for name in args.problems.split(",") if name.strip()]
        known = {p.name: p for p in problems}
        missing = [w for w in wanted if w not in known]
        if missing:
            parser.error(f"unknown problems {missing}; known: {', '.join(known)}")
        problems = [known[w] for w in wanted]
    run_solve_benchmark(problems, quick=args.quick, reps=args.reps, png=args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
