"""Softmax kernels (forward, log, backward, SoftmaxOutput gradient) against NumPy."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import reference
from mxref._kernels import softmax as softmax_kernels

# shapes and axes: one element, primes, lines shorter and longer than the 8 lanes, strided
# axes narrower and wider than the 64-line tile
CASES = [((1,), 0), ((7,), 0), ((3, 1), 1), ((5, 13), 1), ((4, 67), -1), ((2, 9, 3), 1),
         ((3, 5, 70), 1), ((2, 3, 4, 5), 1), ((129, 2), 0), ((6, 1000), -1)]
TOL = {np.float32: dict(rtol=2e-6, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture(params=[np.float32, np.float64], ids=['float32', 'float64'])
def dtype(request):
    return request.param


@pytest.mark.parametrize('log', [False, True])
@pytest.mark.parametrize('temperature', [1.0, 0.7])
@pytest.mark.parametrize('shape,axis', CASES)
def test_softmax_forward(shape, axis, temperature, log, dtype):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    ref = reference.log_softmax if log else reference.softmax
    expected = ref(x.astype(np.float64), axis, temperature)
    out = np.full(shape, np.nan, dtype)
    cpu.softmax(x, axis % x.ndim, out, 'write', temperature=temperature, log=log)
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    cpu.softmax(x, axis % x.ndim, out, 'add', temperature=temperature, log=log)
    np.testing.assert_allclose(out, 2 * expected, **TOL[dtype])


@pytest.mark.parametrize('log', [False, True])
@pytest.mark.parametrize('shape,axis', CASES)
def test_softmax_backward(shape, axis, log, dtype):
    rng = np.random.default_rng(shape[0])
    x = rng.standard_normal(shape)
    y = (reference.log_softmax if log else reference.softmax)(x, axis, 1.3).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    expected = reference.softmax_backward(y.astype(np.float64), dy.astype(np.float64), axis,
                                          1.3, log)
    dx = np.full(shape, np.nan, dtype)
    cpu.softmax_backward(y, dy, axis % y.ndim, dx, 'write', temperature=1.3, log=log)
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-6)
    cpu.softmax_backward(y, dy, axis % y.ndim, dx, 'add', temperature=1.3, log=log)
    np.testing.assert_allclose(dx, 2 * expected, rtol=1e-5, atol=1e-6)


def test_softmax_in_place_and_extremes():
    x = np.array([[0, 1000, -1000, 1], [-np.inf, 0, 0, -np.inf]], np.float32)
    y = x.copy()
    softmax_kernels.softmax(y.reshape(2, 4, 1), y.reshape(2, 4, 1))     # in place
    np.testing.assert_allclose(y, reference.softmax(x.astype(np.float64), 1), atol=1e-7)
    assert y[1, 0] == 0 and y[1, 3] == 0
    logs = np.empty_like(x)
    softmax_kernels.softmax(x.reshape(2, 4, 1), logs.reshape(2, 4, 1), 1.0, True)
    assert np.isneginf(logs[1, 0]) and np.isclose(logs[1, 1], np.log(0.5))
    nan = np.array([[1, np.nan, 2]], np.float32)
    out = np.empty_like(nan)
    softmax_kernels.softmax(nan.reshape(1, 3, 1), out.reshape(1, 3, 1))
    assert np.isnan(out).all()


def test_fast_expf_accuracy():
    # exp over the whole float32 range through a softmax of two values: [0, x] -> 1/(1+e^x)
    xs = np.linspace(-87, 87, 20001).astype(np.float32)
    pairs = np.stack([np.zeros_like(xs), xs], axis=1)
    out = np.empty_like(pairs)
    softmax_kernels.softmax(pairs.reshape(-1, 2, 1), out.reshape(-1, 2, 1))
    expected = reference.softmax(pairs.astype(np.float64), 1)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=1e-37)


@pytest.mark.parametrize('normalization', ['null', 'batch', 'valid'])
@pytest.mark.parametrize('use_ignore', [False, True])
@pytest.mark.parametrize('shape', [(1, 1), (5, 3), (7, 10), (4, 6, 5)])
def test_softmax_output_grad(shape, use_ignore, normalization, dtype):
    rng = np.random.default_rng(shape[0])
    prob = reference.softmax(rng.standard_normal(shape), 1).astype(dtype)
    label_shape = (shape[0],) + shape[2:]
    # class ids, the ignored label, out-of-range ids and fractions (truncated)
    label = rng.choice([0, 1.7, shape[1] - 1, -1, shape[1] + 2], size=label_shape).astype(dtype)
    expected = reference.softmax_output_grad(prob, label, 2.5, -1.0, use_ignore,
                                             normalization)
    dx = np.full(shape, np.nan, dtype)
    cpu.softmax_output_grad(prob, label, dx, 'write', grad_scale=2.5, ignore_label=-1.0,
                            use_ignore=use_ignore, normalization=normalization)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-7)
    cpu.softmax_output_grad(prob, label, dx, 'add', grad_scale=2.5, ignore_label=-1.0,
                            use_ignore=use_ignore, normalization=normalization)
    np.testing.assert_allclose(dx, 2 * expected, rtol=1e-6, atol=1e-7)


def test_softmax_other_dtypes_use_numpy():
    x = np.array([[1, 2, 3]], np.float16)
    out = np.empty_like(x)
    cpu.softmax(x, 1, out, 'write')
    np.testing.assert_allclose(out, reference.softmax(x.astype(np.float64), 1), rtol=1e-3)
