"""The kernels called from a user's own @njit code give the same numbers as
called from Python: inside a plain compiled loop, and inside the user's
``prange`` over a batch of independent vectors."""
import numpy as np
import pytest
from numba import njit, prange

from gdfast._rules import RULES
from kernel_helpers import gradient_sequence, learning_rate

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

BATCH, N, STEPS = 6, 257, 50


def _state_row_getter(n_state):
    """An @njit function (S, b) -> tuple of row views S[k][b], for k < n_state."""
    if n_state == 0:
        return njit(lambda S, b: ())
    if n_state == 1:
        return njit(lambda S, b: (S[0][b],))
    if n_state == 2:
        return njit(lambda S, b: (S[0][b], S[1][b]))
    return njit(lambda S, b: (S[0][b], S[1][b], S[2][b]))


def user_functions(kernel, n_state):
    """A user's compiled loop over steps, and a user's prange over a batch."""
    state_row = _state_row_getter(n_state)

    @njit
    def run_steps(x, G, state, lrs, hyper):
        for t in range(1, G.shape[0] + 1):
            kernel(x, G[t - 1], state, t, lrs[t - 1], hyper)

    @njit(parallel=True)
    def run_batch(X, G, S, lrs, hyper):
        for b in prange(X.shape[0]):
            state = state_row(S, b)
            for t in range(1, G.shape[0] + 1):
                kernel(X[b], G[t - 1, b], state, t, lrs[t - 1], hyper)

    return run_steps, run_batch


def _problem(rule):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((BATCH, N))
    G = np.stack([np.stack(list(gradient_sequence([b, 3], N, STEPS)))
                  for b in range(BATCH)], axis=1)          # (STEPS, BATCH, N)
    S = tuple(np.zeros((BATCH, N)) for _ in rule.state)
    lrs = np.array([learning_rate(rule.defaults["lr"], t) for t in range(1, STEPS + 1)])
    return X, G, S, lrs


def _from_python(rule, X, G, S, lrs, hyper):
    X, S = X.copy(), tuple(s.copy() for s in S)
    for b in range(BATCH):
        state = tuple(s[b] for s in S)
        for t in range(1, STEPS + 1):
            rule.step(X[b], G[t - 1, b], state, t, lrs[t - 1], hyper)
    return X, S


@pytest.mark.parametrize("name", list(RULES))
def test_kernel_inside_user_njit_and_prange(name):
    rule = RULES[name]
    hyper = rule.hyper_tuple(**({"weight_decay": 0.01} if "weight_decay" in rule.hyper else {}))
    X, G, S, lrs = _problem(rule)
    X_py, S_py = _from_python(rule, X, G, S, lrs, hyper)
    run_steps, run_batch = user_functions(rule.step, len(rule.state))

    X_nj, S_nj = X.copy(), tuple(s.copy() for s in S)
    for b in range(BATCH):
        run_steps(X_nj[b], G[:, b].copy(), tuple(s[b] for s in S_nj), lrs, hyper)
    X_pr, S_pr = X.copy(), tuple(s.copy() for s in S)
    run_batch(X_pr, G, S_pr, lrs, hyper)

    assert not np.array_equal(X_py, X), "the kernel did not move x"
    for X_user, S_user in ((X_nj, S_nj), (X_pr, S_pr)):
        assert np.array_equal(X_user, X_py)
        for s_user, s_py in zip(S_user, S_py):
            assert np.array_equal(s_user, s_py)
