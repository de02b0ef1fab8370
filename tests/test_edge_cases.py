"""Edge cases found by reviewing the core against MXNet 1.9.1 (each once wrong in mxref)."""
import numpy as np
import pytest

import mxref as mx
from mxref.test_utils import assert_almost_equal, check_symbolic_backward


def test_constant_results_ignore_inf_and_nan(ctx):
    x = mx.nd.array([np.inf, np.nan, 1], ctx)
    assert mx.nd.zeros_like(x).asnumpy().tolist() == [0, 0, 0]
    assert mx.nd.ones_like(x).asnumpy().tolist() == [1, 1, 1]
    v = mx.sym.Variable('x')
    check_symbolic_backward(mx.sym.sum(v), {'x': np.array([np.inf, 1.])}, [np.ones(1)],
                            {'x': np.ones(2)}, ctx=ctx)
    check_symbolic_backward(mx.sym.log(mx.sym.BlockGrad(v)) + v, {'x': np.array([0., 1.])},
                            [np.ones(2)], {'x': np.ones(2)}, ctx=ctx)


def test_special_functions_at_poles(ctx):
    assert mx.nd.gamma(mx.nd.array([0, 200], ctx)).asnumpy().tolist() == [np.inf, np.inf]
    assert np.isinf(mx.nd.gammaln(mx.nd.array([-1.], ctx)).asnumpy()[0])
    x = mx.nd.random.normal(shape=(1000,), ctx=ctx)
    from math import erf
    assert_almost_equal(mx.nd.erf(x), np.vectorize(erf)(x.asnumpy()), rtol=1e-5, atol=1e-6)


def test_integer_power_with_negative_exponent(ctx):
    a = mx.nd.array([1, 2, 3], ctx, dtype='int32')
    assert (a ** -1).asnumpy().tolist() == [1, 0, 0]
    assert (2 ** mx.nd.array([-1, 2, 3], ctx, dtype='int32')).asnumpy().tolist() == [0, 4, 8]


def test_slice_axis_to_the_end(ctx):
    a = mx.nd.array(np.arange(6).reshape(2, 3), ctx)
    assert mx.nd.slice_axis(a, axis=1, begin=-2, end=None).asnumpy().tolist() == [[1, 2], [4, 5]]
    sym = mx.sym.slice_axis(mx.sym.Variable('a'), axis=1, begin=1, end=None)
    assert sym.infer_shape(a=(2, 3))[1] == [(2, 2)]


def test_fully_connected_on_vectors(ctx):
    out = mx.nd.FullyConnected(mx.nd.ones((5,), ctx), mx.nd.ones((3, 1), ctx), num_hidden=3,
                               no_bias=True)
    assert out.shape == (5, 3)
    with pytest.raises(mx.MXNetError, match='does not match weight'):
        mx.nd.FullyConnected(mx.nd.ones((5,), ctx), mx.nd.ones((3, 5), ctx), num_hidden=3,
                             no_bias=True)


def test_add_n_into_one_of_its_inputs(ctx):
    a = mx.nd.array([1, 2, 3], ctx)
    b = a * 2
    assert mx.nd.add_n(a, b, out=b).asnumpy().tolist() == [3, 6, 9]


def test_take_raise_mode(ctx):
    with pytest.raises(IndexError, match="out of range.*raise"):
        mx.nd.take(mx.nd.ones((4, 2), ctx), mx.nd.array([5], ctx), mode='raise')


@pytest.mark.parametrize('call', [
    lambda a: mx.nd.softmax(a, axis=5), lambda a: mx.nd.squeeze(a, axis=3),
    lambda a: mx.nd.transpose(a, axes=(0, 3)), lambda a: mx.nd.repeat(a, repeats=2, axis=4),
    lambda a: mx.nd.take(a, mx.nd.array([0]), axis=3),
    lambda a: mx.nd.pick(a, mx.nd.array([0, 0]), axis=5),
    lambda a: mx.nd.broadcast_axis(a[:, :1], axis=4, size=3),
    lambda a: mx.nd.moveaxis(a, 0, 4),
], ids=['softmax', 'squeeze', 'transpose', 'repeat', 'take', 'pick', 'broadcast_axis',
        'moveaxis'])
def test_out_of_range_axes_are_rejected(call):
    with pytest.raises(mx.MXNetError, match='out of range'):
        call(mx.nd.ones((2, 3)))
