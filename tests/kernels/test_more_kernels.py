"""The kernels of ASGD, Adafactor, Muon and SparseAdam (gdfast._rules.MORE_RULES)
against gdfast.reference, and serial against parallel bit for bit at sizes
where the parallel kernels split their sums into several blocks."""
import math

import numpy as np
import pytest

from gdfast._rules import MORE_RULES
from gdfast.kernels.adafactor import WORK_BASE, work_length
from gdfast.kernels.muon import work_size
from kernel_helpers import JIT_DISABLED, assert_rel_close, gradient_sequence, learning_rate

STEPS = 20


def _setup(name, shape, options, seed=0):
    """x0, the kernel's state and hyper for a parameter of this shape."""
    rule = MORE_RULES[name]
    n = math.prod(shape)
    rng = np.random.default_rng([seed, n])
    x0 = rng.standard_normal(n)
    extra = {}
    if name == "asgd":
        state = (np.zeros(n),)
    elif name == "sparse_adam":
        state = (np.zeros(n), np.zeros(n))
    elif name == "adafactor":
        if len(shape) < 2:
            state = (np.zeros(0), np.zeros(0), np.zeros(n), np.zeros(WORK_BASE))
        else:
            b, r, c = math.prod(shape[:-2]), shape[-2], shape[-1]
            state = (np.zeros(b * r), np.zeros(b * c), np.zeros(0),
                     np.zeros(work_length(b, r, c)))
            extra = dict(batch=b, rows=r, cols=c)
    else:
        a, b = shape
        state = (np.zeros(n), np.zeros(work_size(a, b)))
        extra = dict(rows=a, lr_ratio=math.sqrt(max(1, a / b)))
    return x0, state, rule.hyper_tuple(**options, **extra)


def _sparse_gradients(shape, steps, seed):
    """(indices, values) of random row subsets, flat values."""
    rng = np.random.default_rng(seed)
    rows, row = shape[0], math.prod(shape[1:])
    for _ in range(steps):
        idx = rng.choice(rows, size=rng.integers(0, rows + 1), replace=False).astype(np.int64)
        yield idx, rng.standard_normal(idx.size * row) * 10.0 ** rng.uniform(-3, 3, idx.size * row)


def _run(name, shape, options, kernel, reference=False):
    rule = MORE_RULES[name]
    x0, state, hyper = _setup(name, shape, options)
    n = x0.size
    x = x0.tolist() if reference else x0.copy()
    if reference:
        state = tuple(s.tolist() for s in state)
    step = rule.reference if reference else kernel
    grads = (_sparse_gradients(shape, STEPS, n) if name == "sparse_adam"
             else gradient_sequence([n, 1], n, STEPS))
    for t, g in enumerate(grads, start=1):
        lr = learning_rate(rule.defaults["lr"], t)
        if name == "sparse_adam":
            idx, values = g
            step(x, idx.tolist() if reference else idx, values.tolist() if reference else values,
                 state, t, lr, hyper)
        else:
            step(x, g.tolist() if reference else g, state, t, lr, hyper)
    return np.array(x), tuple(np.array(s) for s in state)


SMALL = [
    ("asgd", (7,), {}), ("asgd", (7,), dict(t0=3.0, lambd=0.1, weight_decay=0.1, maximize=1.0)),
    ("adafactor", (7,), {}), ("adafactor", (3, 4, 5), dict(weight_decay=0.1, maximize=1.0)),
    ("adafactor", (4, 6), dict(beta2_decay=-1.0, d=1.5)),
    ("adafactor", (2, 300), {}),   # two stripes of columns (kernels.adafactor.STRIPE)
    ("muon", (3, 4), {}), ("muon", (5, 2), dict(nesterov=0.0, momentum=0.8, ns_steps=6.0)),
    ("sparse_adam", (7,), {}), ("sparse_adam", (6, 3), dict(maximize=1.0, beta1=0.5)),
]


@pytest.mark.nojit
@pytest.mark.parametrize("name,shape,options", SMALL)
def test_kernel_follows_the_reference(name, shape, options):
    """20 steps from the same start and gradients, within 1e-12 of the largest
    entry (the sums of the norms and of the matrix products are added in
    another order than the reference's)."""
    x, state = _run(name, shape, options, MORE_RULES[name].step)
    x_ref, state_ref = _run(name, shape, options, None, reference=True)
    arrays = [("x", x, x_ref)] + [(k, a, b) for k, a, b in
                                  zip(MORE_RULES[name].state, state, state_ref) if k != "work"]
    for what, got, want in arrays:
        if want.size:
            assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want)), what
    assert not np.array_equal(x, _setup(name, shape, options)[0])


LARGE = [("asgd", (100_003,), {}), ("adafactor", (100_003,), {}),
         ("adafactor", (3, 100, 50), dict(weight_decay=0.1)), ("adafactor", (2, 40, 600), {}),
         ("muon", (64, 150), {}),
         ("muon", (150, 64), {}), ("sparse_adam", (20_000, 3), {})]


@pytest.mark.skipif(JIT_DISABLED, reason="prange is range as Python")
@pytest.mark.parametrize("name,shape,options", LARGE)
def test_parallel_kernel_is_bitwise_equal_to_serial(name, shape, options):
    rule = MORE_RULES[name]
    xs, ss = _run(name, shape, options, rule.step)
    xp, sp = _run(name, shape, options, rule.step_parallel)
    assert np.array_equal(xs, xp)
    for k, a, b in zip(rule.state, ss, sp):
        if k != "work":
            assert np.array_equal(a, b), k


def test_asgd_averages_the_iterates_after_t0():
    """With t0 = 2: mu_t = 1 / max(1, t - 1 - t0), so ax is x itself for steps
    1-4, then the running mean of the iterates from step 4 on: after step 6,
    ax = mean(x_4, x_5, x_6)."""
    rule = MORE_RULES["asgd"]
    hyper = rule.hyper_tuple(t0=2.0)
    x, ax = np.array([1.0, -2.0]), np.zeros(2)
    iterates = []
    for t in range(1, 7):
        rule.step(x, np.array([0.3, 0.7]) * t, (ax,), t, 0.05, hyper)
        iterates.append(x.copy())
        if t <= 4:
            assert np.array_equal(ax, x)
    assert_rel_close(ax, np.mean(iterates[3:], axis=0), rtol=1e-14)


def test_sparse_adam_leaves_rows_not_listed_alone():
    rule = MORE_RULES["sparse_adam"]
    x = np.arange(12.0)
    m, v = np.zeros(12), np.zeros(12)
    rule.step(x, np.array([2], dtype=np.int64), np.ones(4), (m, v), 1, 0.1, rule.hyper_tuple())
    changed = np.flatnonzero(x != np.arange(12.0))
    assert changed.tolist() == [8, 9, 10, 11]           # row 2 of the (3, 4) parameters
    assert np.flatnonzero(m).tolist() == [8, 9, 10, 11]


@pytest.mark.nojit
@pytest.mark.parametrize("name,shape", [("asgd", (7,)), ("adafactor", (7,)),
                                        ("adafactor", (3, 4)), ("muon", (3, 4)),
                                        ("sparse_adam", (4, 3))])
def test_kernel_counts_the_entries_it_made_nan(name, shape):
    """A NaN in one gradient entry: 0 on a clean step, then the count of
    entries of x and the state that became NaN or inf (as the oracle counts)."""
    rule = MORE_RULES[name]
    x, state, hyper = _setup(name, shape, {})
    g = np.ones(x.size)
    args = (np.array([1], dtype=np.int64), g[:3].copy()) if name == "sparse_adam" else (g,)
    assert rule.step(x, *args, state, 1, 0.01, hyper) == 0
    args[-1][1] = np.nan
    bad = rule.step(x, *args, state, 2, 0.01, hyper)
    kept = [a for k, a in zip(rule.state, state) if k != "work" and a.size]
    if name == "adafactor" and len(shape) == 2:
        want = int(np.sum(~np.isfinite(x))) + sum(int(np.sum(~np.isfinite(a))) for a in kept)
    else:
        mask = ~np.isfinite(x)
        for a in kept:
            mask |= ~np.isfinite(a)
        want = int(mask.sum())
    assert bad == want > 0
