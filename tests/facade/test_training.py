"""gdfast.clip_grad_norm / clip_grad_value / grad_norm and AveragedParameters:
bad input is refused with an error naming it, before anything is changed."""
import math

import numpy as np
import pytest

import gdfast


def _grads():
    return [np.array([3.0, -4.0]), np.arange(6.0).reshape(2, 3)]


@pytest.mark.parametrize("max_norm, error", [(-1.0, ValueError), (math.nan, ValueError),
                                             ("1", TypeError)])
def test_a_bad_max_norm_is_named_and_nothing_changes(max_norm, error):
    grads = _grads()
    with pytest.raises(error, match="max_norm"):
        gdfast.clip_grad_norm(grads, max_norm)
    assert all(np.array_equal(g, h) for g, h in zip(grads, _grads()))


def test_a_norm_type_other_than_2_1_inf_is_refused():
    with pytest.raises(ValueError, match="norm_type"):
        gdfast.clip_grad_norm(_grads(), 1.0, norm_type=3.0)


@pytest.mark.parametrize("bad, error, what", [
    (np.ones(3, dtype=np.float32), TypeError, "dtype float64"),
    (np.ones((3, 4))[:, 1], ValueError, "C-contiguous"),
    ([1.0, 2.0], TypeError, "numpy.ndarray"),
], ids=["float32", "strided", "list"])
def test_a_bad_array_is_named_by_its_index_and_nothing_changes(bad, error, what):
    grads = [*_grads(), bad]
    with pytest.raises(error, match=rf"grads\[2\].*{what}"):
        gdfast.clip_grad_norm(grads, 0.1)
    assert all(np.array_equal(g, h) for g, h in zip(grads, _grads()))


def test_a_read_only_gradient_is_refused():
    g = np.ones(3)
    g.flags.writeable = False
    with pytest.raises(ValueError, match="grads is read-only"):
        gdfast.clip_grad_value(g, 0.5)


@pytest.mark.parametrize("clip", [-0.5, math.nan])
def test_a_bad_clip_value_is_named(clip):
    with pytest.raises(ValueError, match="clip_value"):
        gdfast.clip_grad_value(_grads(), clip)


def test_the_norm_of_no_gradient_is_zero_as_torchs():
    assert gdfast.grad_norm([]) == 0.0


@pytest.mark.parametrize("decay", [-0.1, 1.5, math.nan])
def test_a_decay_outside_0_1_is_named(decay):
    with pytest.raises(ValueError, match="decay"):
        gdfast.AveragedParameters(np.ones(2), decay=decay)


def test_an_update_of_another_shape_is_refused_and_changes_nothing():
    avg = gdfast.AveragedParameters(np.ones(3), decay=0.9)
    avg.update(np.ones(3))
    with pytest.raises(ValueError, match=r"x must have the average's shape \(3,\)"):
        avg.update(np.ones(4))
    assert avg.n_averaged == 1 and np.array_equal(avg.average, np.ones(3))


def test_the_average_is_a_copy_of_x():
    x = np.ones(2)
    avg = gdfast.AveragedParameters(x)
    x[0] = 5.0
    assert np.array_equal(avg.average, [1.0, 1.0])
