"""What torch.optim accepts and runs finitely, gdfast accepts with the same
meaning (issue 31 item 2): each case against live torch (float64), the
trajectory and the state within 1e-12. What gives NaN or inf at once stays
refused (tests/facade/test_validation.py)."""
import math

import numpy as np
import pytest

import gdfast
from kernel_helpers import assert_rel_close

STEPS = 6
TORCH_CLASSES = ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
                 "Adadelta", "Rprop")
EPS_CLASSES = ("Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta")


def _inputs():
    rng = np.random.default_rng(2)
    grads = rng.standard_normal((STEPS, 4))
    grads[:, 0] = [(-1) ** k for k in range(STEPS)]       # no gradient entry is 0
    return rng.standard_normal(4), grads


def _compare(cls, gdfast_kw, torch_kw=None, x0=None, grads=None):
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    default_x0, default_grads = _inputs()
    x0 = default_x0 if x0 is None else x0
    grads = default_grads if grads is None else grads
    p = torch.tensor(x0, requires_grad=True)
    topt = getattr(torch.optim, cls)([p], foreach=False,
                                     **(gdfast_kw if torch_kw is None else torch_kw))
    opt = getattr(gdfast, cls)(**gdfast_kw)
    x = x0.copy()
    state = opt.init(x)
    for g in grads:
        p.grad = torch.tensor(g)
        topt.step()
        opt.step(x, g.copy(), state)
    assert_rel_close(x, p.detach().numpy(), what=f"{cls}({gdfast_kw}): x")
    for k, v in topt.state[p].items():
        if k not in ("step", "mu_product"):
            assert_rel_close(state[k], v.numpy(), what=f"{cls}({gdfast_kw}): {k}")
    return x


@pytest.mark.parametrize("cls", TORCH_CLASSES)
def test_lr_zero(cls):
    x = _compare(cls, dict(lr=0.0))
    if cls != "Rprop":               # Rprop's steps are clamped up to step_sizes[0]
        assert x.tobytes() == _inputs()[0].tobytes()


@pytest.mark.parametrize("cls", EPS_CLASSES)
def test_eps_zero_with_nonzero_gradients(cls):
    _compare(cls, dict(lr=0.01 if cls != "Adadelta" else 1.0, eps=0.0))


@pytest.mark.parametrize("cls", EPS_CLASSES)
def test_eps_zero_where_a_gradient_entry_is_zero_raises_where_torch_gives_nan(cls):
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    p = torch.tensor([1.0, 1.0], requires_grad=True)
    topt = getattr(torch.optim, cls)([p], eps=0.0, foreach=False)
    p.grad = torch.tensor([0.5, 0.0])
    topt.step()
    opt = getattr(gdfast, cls)(eps=0.0)
    x = np.ones(2)
    state = opt.init(x)
    if cls == "RAdam":    # its first steps do not divide (rho_t <= 5): finite in both
        opt.step(x, np.array([0.5, 0.0]), state)
        assert_rel_close(x, p.detach().numpy())
        return
    assert math.isnan(p.detach().numpy()[1])
    with pytest.raises(FloatingPointError, match="NaN or inf at 1 of 2 entries"):
        opt.step(x, np.array([0.5, 0.0]), state)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_alpha_one(centered):
    _compare("RMSprop", dict(lr=1e-9, alpha=1.0, centered=centered))


@pytest.mark.parametrize("dampening", [2.0, -1.0])
def test_sgd_dampening_outside_the_unit_interval(dampening):
    _compare("SGD", dict(lr=0.1, momentum=0.9, dampening=dampening))


def test_rprop_lr_inf_is_clamped_to_step_max():
    _compare("Rprop", dict(lr=math.inf, step_sizes=(1e-6, 0.5)))


def test_amsgrad_given_as_one():
    _compare("Adam", dict(lr=0.01, amsgrad=1))


def test_a_0d_array_as_lr():
    _compare("Adam", dict(lr=np.array(0.01)), torch_kw=dict(lr=0.01))
