"""Softmax: the 4096×4096 target case, the tutorials' output layers, log-softmax, the
backward pass and SoftmaxOutput's gradient; our kernels against straightforward NumPy."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import reference

from conftest import record

SHAPES = {'4096x4096': (4096, 4096), 'mnist out 100x10': (100, 10),
          'char-lstm out 1024x65': (1024, 65)}


def numpy_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
@pytest.mark.parametrize('log', [False, True], ids=['softmax', 'log_softmax'])
@pytest.mark.parametrize('name', list(SHAPES))
def test_softmax_forward(benchmark, rng, name, log, impl):
    x = rng.standard_normal(SHAPES[name]).astype(np.float32)
    y = np.empty_like(x)
    if impl == 'mxref':
        fn = lambda: cpu.softmax(x, 1, y, 'write', log=log)
    else:
        fn = lambda: y.__setitem__(Ellipsis, (reference.log_softmax(x) if log
                                              else numpy_softmax(x)))
    kind = 'log_softmax' if log else 'softmax'
    benchmark.group = '%s %s' % (kind, name)
    benchmark(fn)
    record(benchmark, 'softmax', '%s %s' % (kind, name), impl, nbytes=2 * x.nbytes)


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
@pytest.mark.parametrize('name', list(SHAPES))
def test_softmax_backward(benchmark, rng, name, impl):
    y = numpy_softmax(rng.standard_normal(SHAPES[name]).astype(np.float32))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(y)
    if impl == 'mxref':
        fn = lambda: cpu.softmax_backward(y, dy, 1, dx, 'write')
    else:
        fn = lambda: dx.__setitem__(Ellipsis, reference.softmax_backward(y, dy))
    benchmark.group = 'softmax bwd %s' % name
    benchmark(fn)
    record(benchmark, 'softmax', 'softmax bwd %s' % name, impl, nbytes=3 * y.nbytes)


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
@pytest.mark.parametrize('name', ['mnist out 100x10', 'char-lstm out 1024x65'])
def test_softmax_output_grad(benchmark, rng, name, impl):
    prob = numpy_softmax(rng.standard_normal(SHAPES[name]).astype(np.float32))
    label = rng.integers(0, prob.shape[1], size=prob.shape[0]).astype(np.float32)
    dx = np.empty_like(prob)
    if impl == 'mxref':
        fn = lambda: cpu.softmax_output_grad(prob, label, dx, 'write', normalization='batch')
    else:
        fn = lambda: dx.__setitem__(Ellipsis, reference.softmax_output_grad(
            prob, label, normalization='batch'))
    benchmark.group = 'SoftmaxOutput grad %s' % name
    benchmark(fn)
    record(benchmark, 'softmax', 'SoftmaxOutput grad %s' % name, impl, nbytes=2 * prob.nbytes)
