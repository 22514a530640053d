"""Optimizer objects: they run the rule's kernel with torch's defaults, pick
the parallel kernel for large arrays, take schedules, and allocate state once."""
import numpy as np
import pytest

import gdfast
from gdfast import reference
from gdfast._rules import SGD_PARALLEL_MIN_SIZE


def _run_reference(rule_step, hyper, x0, grads, lrs, n_state, initial=0.0):
    x = x0.tolist()
    state = tuple([initial] * len(x) for _ in range(n_state))
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        reference_step = rule_step
        reference_step(x, g.tolist(), state, t, lr, hyper)
    return np.array(x), state


CASES = [
    # optimizer, reference rule, hyper tuple as the reference reads it, state count, init value
    (lambda: gdfast.SGD(lr=0.05), reference.gd_step, (0.0, False), 0, 0.0),
    (lambda: gdfast.SGD(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
     reference.momentum_step, (0.9, 0.1, 0.01, False), 1, 0.0),
    (lambda: gdfast.SGD(lr=0.05, momentum=0.9, nesterov=True, maximize=True),
     reference.nesterov_step, (0.9, 0.0, True), 1, 0.0),
    (lambda: gdfast.Adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5),
     reference.adagrad_step, (0.01, 1e-10, 0.0, False), 1, 0.5),
    (lambda: gdfast.RMSprop(lr=0.01, alpha=0.9), reference.rmsprop_step,
     (0.9, 1e-8, 0.0, False), 1, 0.0),
    (lambda: gdfast.Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     reference.adam_step, (0.8, 0.99, 1e-6, 0.1, False), 2, 0.0),
]


@pytest.mark.parametrize("n", [5, SGD_PARALLEL_MIN_SIZE + 3])  # serial, then parallel kernels
@pytest.mark.parametrize("make,rule_step,hyper,n_state,initial", CASES)
def test_optimizer_step_follows_the_reference(make, rule_step, hyper, n_state, initial, n):
    rng = np.random.default_rng(n)
    x0 = rng.standard_normal(n)
    grads = [rng.standard_normal(n) for _ in range(20)]
    opt = make()
    x = x0.copy()
    state = opt.init(x)
    arrays_before = [id(a) for a in state.arrays]
    for g in grads:
        opt.step(x, g, state)
    assert state.t == 20
    assert [id(a) for a in state.arrays] == arrays_before, "state was reallocated"
    x_ref, state_ref = _run_reference(rule_step, hyper, x0, grads, [opt.lr.lr0] * 20,
                                      n_state, initial)
    np.testing.assert_allclose(x, x_ref, rtol=1e-12, atol=0)
    for a, a_ref in zip(state.arrays, state_ref):
        np.testing.assert_allclose(a, a_ref, rtol=1e-12, atol=0)


def test_torch_defaults():
    assert gdfast.SGD().lr.lr0 == 1e-3
    assert gdfast.Adam().hyper == (0.9, 0.999, 1e-8, 0.0, 0.0) and gdfast.Adam().lr.lr0 == 1e-3
    assert gdfast.Adagrad().hyper == (0.0, 1e-10, 0.0, 0.0) and gdfast.Adagrad().lr.lr0 == 1e-2
    assert gdfast.RMSprop().hyper == (0.99, 1e-8, 0.0, 0.0) and gdfast.RMSprop().lr.lr0 == 1e-2


def test_sgd_picks_the_rule_from_its_options():
    assert gdfast.SGD().rule.name == "gd"
    assert gdfast.SGD(momentum=0.9).rule.name == "momentum"
    assert gdfast.SGD(momentum=0.9, nesterov=True).rule.name == "nesterov"


def test_schedule_sets_each_steps_learning_rate():
    sched = gdfast.schedules.inverse_time_decay(0.1, 50)
    opt = gdfast.SGD(lr=sched)
    x, g = np.zeros(3), np.ones(3)
    state = opt.init(x)
    total = 0.0
    for t in range(1, 101):
        opt.step(x, g, state)
        total += reference.inverse_time_decay(t, 0.1, (50.0,))
    np.testing.assert_allclose(x, -total, rtol=1e-13)


def test_empty_parameter_vector_steps():
    opt = gdfast.Adam()
    x = np.empty(0)
    state = opt.init(x)
    opt.step(x, np.empty(0), state)
    assert state.t == 1


def test_state_record():
    state = gdfast.Adam().init(np.zeros(4))
    assert state.names == ("exp_avg", "exp_avg_sq") and state["exp_avg_sq"].shape == (4,)
    assert "t=0" in repr(state)


OF_ANY_SHAPE = {"SGD momentum": lambda: gdfast.SGD(lr=0.05, momentum=0.9), "Adam": gdfast.Adam,
                "AdamW": gdfast.AdamW, "Adagrad": gdfast.Adagrad, "RMSprop centered":
                lambda: gdfast.RMSprop(centered=True), "Lion": gdfast.Lion, "Rprop": gdfast.Rprop}


@pytest.mark.parametrize("shape", [(3, 4, 5), (7, 1), (), (2, SGD_PARALLEL_MIN_SIZE)])
@pytest.mark.parametrize("name", OF_ANY_SHAPE)
def test_parameters_of_any_shape_step_as_their_flat_view(name, shape):
    """torch parameters come in any shape: init and step take them, update
    the array given in place (no copy) and give bit for bit what the same
    steps on the flat arrays give, step_if_finite too."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    flat = x.ravel().copy()
    opt, opt_flat = OF_ANY_SHAPE[name](), OF_ANY_SHAPE[name]()
    state, state_flat = opt.init(x), opt_flat.init(flat)
    assert state.n == x.size and all(a.shape in ((x.size,), (0,)) for a in state.arrays)
    buffer = x.__array_interface__["data"][0]
    for k in range(4):
        g = rng.standard_normal(shape)
        step = opt.step_if_finite if k % 2 else opt.step
        step(x, g, state)
        opt_flat.step(flat, g.ravel().copy(), state_flat)
    assert x.shape == shape and x.__array_interface__["data"][0] == buffer
    assert x.tobytes() == flat.tobytes()
    for a, b in zip(state.arrays, state_flat.arrays):
        assert a.tobytes() == b.tobytes()
