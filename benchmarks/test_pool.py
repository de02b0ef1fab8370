"""Max pooling forward and backward: LeNet's two pooling layers at batch 100 and a large
3×3/2 layer, our kernel against a straightforward NumPy version (a sliding-window view and a
max over the window axes; for the backward, the same windows compared with their max)."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mxref.backend import cpu

from conftest import record

CASES = {                                # x shape, kernel, stride
    'lenet pool1 2x2/2': ((100, 20, 24, 24), (2, 2), (2, 2)),
    'lenet pool2 2x2/2': ((100, 50, 8, 8), (2, 2), (2, 2)),
    'large 3x3/2, 32x64x112x112': ((32, 64, 112, 112), (3, 3), (2, 2)),
}


def _windows(x, kernel, stride):
    view = sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def numpy_max_pool(x, kernel, stride):
    return _windows(x, kernel, stride).max(axis=(-2, -1))


def numpy_max_pool_backward(x, y, dy, kernel, stride):
    """dy sent to every position equal to its window's max (first-max ties are rare with
    random data), accumulated window by window offset."""
    dx = np.zeros_like(x)
    oh, ow = y.shape[2:]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            patch = x[:, :, i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]]
            dx[:, :, i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]] += \
                np.where(patch == y, dy, 0)
    return dx


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
@pytest.mark.parametrize('direction', ['fwd', 'bwd'])
@pytest.mark.parametrize('name', list(CASES))
def test_max_pool(benchmark, rng, name, direction, impl):
    shape, kernel, stride = CASES[name]
    x = rng.standard_normal(shape).astype(np.float32)
    expected = numpy_max_pool(x, kernel, stride)
    y = np.empty_like(expected)
    argmax = np.empty(y.shape, np.int32)
    cpu.pool2d_forward(x, y, 'write', kernel, stride, (0, 0), 'max', argmax=argmax)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(x)
    if direction == 'fwd':
        nbytes = x.nbytes + y.nbytes
        if impl == 'mxref':
            fn = lambda: cpu.pool2d_forward(x, y, 'write', kernel, stride, (0, 0), 'max',
                                            argmax=argmax)
        else:
            fn = lambda: y.__setitem__(Ellipsis, numpy_max_pool(x, kernel, stride))
    else:
        nbytes = dy.nbytes + argmax.nbytes + dx.nbytes
        if impl == 'mxref':
            fn = lambda: cpu.pool2d_backward(dy, argmax, dx, 'write', kernel, stride, (0, 0),
                                             'max')
        else:
            fn = lambda: dx.__setitem__(Ellipsis, numpy_max_pool_backward(x, expected, dy,
                                                                          kernel, stride))
    benchmark.group = 'pool %s %s' % (direction, name)
    benchmark(fn)
    np.testing.assert_array_equal(y, expected)
    record(benchmark, 'pool', '%s %s' % (name, direction), impl, nbytes=nbytes)
