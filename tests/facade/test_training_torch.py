"""gdfast.clip_grad_norm / clip_grad_value / grad_norm and AveragedParameters
against live torch (torch.nn.utils, torch.optim.swa_utils), float64.

Gradients on three arrays of shapes (7,), (3, 4, 5) and (1000,); averages
over 20 updates. Measured on torch 2.13.0 (CPU, AVX512): the 2- and inf-norms,
their clipped gradients and the SWA and EMA averages equal to the bit; the
1-norm clipped within 3.5e-16 relative (torch sums per array, then the
arrays; gdfast in fixed blocks). The tests allow 1e-14.
"""
import math

import numpy as np
import pytest

import gdfast
from kernel_helpers import assert_rel_close

torch = pytest.importorskip("torch")
REL = 1e-14
SHAPES = [(7,), (3, 4, 5), (1000,)]


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(s) for s in SHAPES]


def _torch_params(grads):
    params = []
    for g in grads:
        p = torch.zeros(g.shape)
        p.grad = torch.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
@pytest.mark.parametrize("max_norm", [1e-3, 1e3], ids=["above", "below"])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    grads = _grads()
    params = _torch_params(grads)
    want = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    got = gdfast.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    assert_rel_close(got, want.item(), rtol=REL, what="total norm")
    for g, p in zip(grads, params):
        assert_rel_close(g, p.grad.numpy(), rtol=REL, what=f"clipped {g.shape}")


def test_a_gradient_below_max_norm_keeps_its_bits():
    grads = _grads()
    before = [g.copy() for g in grads]
    gdfast.clip_grad_norm(grads, 1e3)
    assert all(np.array_equal(g, b) for g, b in zip(grads, before))


def test_a_zero_gradient_has_norm_zero_and_stays_zero_as_in_torch():
    grads = [np.zeros(s) for s in SHAPES]
    params = _torch_params(grads)
    want = torch.nn.utils.clip_grad_norm_(params, 1.0)
    assert gdfast.clip_grad_norm(grads, 1.0) == want.item() == 0.0
    assert all(np.array_equal(g, p.grad.numpy()) for g, p in zip(grads, params))


def test_grad_norm_matches_torch_get_total_norm():
    grads = _grads(seed=1)
    want = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads])
    assert_rel_close(gdfast.grad_norm(grads), want.item(), rtol=REL, what="norm")


def test_clip_grad_value_matches_torch_bit_for_bit():
    grads = _grads(seed=2)
    params = _torch_params(grads)
    torch.nn.utils.clip_grad_value_(params, 0.5)
    gdfast.clip_grad_value(grads, 0.5)
    assert all(np.array_equal(g, p.grad.numpy()) for g, p in zip(grads, params))


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_a_nonfinite_norm_scales_as_torch_does(bad, norm_type):
    grads = _grads(seed=3)
    grads[1][1, 2, 3] = bad
    params = _torch_params(grads)
    want = torch.nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
    got = gdfast.clip_grad_norm(grads, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(got, want.item())          # NaN == NaN here
    for g, p in zip(grads, params):
        np.testing.assert_array_equal(g, p.grad.numpy())


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_error_if_nonfinite_raises_as_torch_and_changes_nothing(bad):
    grads = _grads(seed=4)
    grads[2][5] = bad
    params = _torch_params(grads)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    before = [g.copy() for g in grads]
    with pytest.raises(RuntimeError, match="non-finite"):
        gdfast.clip_grad_norm(grads, 1.0, error_if_nonfinite=True)
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)


def _torch_average(xs, decay):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.tensor(xs[0]))

    model = Model()
    swa = torch.optim.swa_utils
    averaged = (swa.AveragedModel(model) if decay is None else
                swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(decay)))
    for x in xs:
        with torch.no_grad():
            model.p.copy_(torch.tensor(x))
        averaged.update_parameters(model)
    return averaged.module.p.detach().numpy(), int(averaged.n_averaged)


@pytest.mark.parametrize("decay", [None, 0.999, 0.9, 0.3], ids=["swa", "ema", "ema0.9", "ema0.3"])
def test_averaged_parameters_match_averaged_model_over_20_updates(decay):
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((3, 4, 5)) for _ in range(20)]
    want, n = _torch_average(xs, decay)
    avg = gdfast.AveragedParameters(xs[0], decay=decay)
    for x in xs:
        assert avg.update(x) == 0
    assert avg.n_averaged == n == 20
    assert_rel_close(avg.average, want, rtol=REL, what="average")


def test_a_nan_in_the_parameters_reaches_the_average_as_in_torch():
    xs = [np.ones(4), np.array([1.0, math.nan, 2.0, 3.0])]
    want, _ = _torch_average(xs, 0.9)
    avg = gdfast.AveragedParameters(xs[0], decay=0.9)
    assert [avg.update(x) for x in xs] == [0, 1]
    np.testing.assert_array_equal(avg.average, want)


def test_the_parallel_kernels_of_a_large_array_match_torch():
    """n = 40,000 is above the facade's parallel threshold (32,768)."""
    g = _grads(seed=6)[2:] + [np.random.default_rng(7).standard_normal(40_000)]
    params = _torch_params(g)
    want = torch.nn.utils.clip_grad_norm_(params, 1.0)
    assert_rel_close(gdfast.clip_grad_norm(g, 1.0), want.item(), rtol=REL, what="norm")
    assert_rel_close(g[1], params[1].grad.numpy(), rtol=REL, what="clipped")
    xs = [np.random.default_rng(k).standard_normal(40_000) for k in range(3)]
    for decay in (None, 0.9):
        avg = gdfast.AveragedParameters(xs[0], decay=decay)
        for x in xs:
            avg.update(x)
        assert_rel_close(avg.average, _torch_average(xs, decay)[0], rtol=REL, what=f"{decay}")
