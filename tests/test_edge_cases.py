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


@pytest.mark.parametrize('call,error,message', [
    (lambda: mx.nd.exp(np.ones(3)), TypeError, 'convert it with mx.nd.array'),
    (lambda: mx.nd.zeros('abc'), TypeError, 'tuple of ints'),
    (lambda: mx.nd.zeros((2.5,)), TypeError, 'tuple of ints'),
    (lambda: mx.nd.array(['a']), TypeError, 'numeric'),
    (lambda: mx.nd.concat(), ValueError, 'at least one input'),
    (lambda: mx.nd.argmax(mx.nd.ones((0, 3)), axis=0), ValueError, 'empty input'),
    (lambda: mx.nd.one_hot(mx.nd.ones((2,)), depth=-1), ValueError, 'depth'),
    (lambda: mx.nd.arange(0, 5, 0), ValueError, 'step'),
    (lambda: mx.sym.Variable('v', dtype='complex64'), TypeError, 'not supported'),
    (lambda: mx.nd._internal._zeros(shape=()), ValueError, 'cannot infer the output shape'),
    (lambda: mx.nd.array([1, 2], dtype='int32') + mx.nd.array([1.5, 2]), TypeError,
     'inputs must agree'),
])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_mxnet_semantics_details(ctx):
    assert mx.nd.clip(mx.nd.arange(6, ctx=ctx), 3, 1).asnumpy().tolist() == [3, 3, 1, 1, 1, 1]
    assert mx.nd.slice(mx.nd.ones((2, 3), ctx), begin=(0, 1), end=(2, 1)).shape == (2, 0)
    assert mx.nd.arange(0, 5, 1.5, dtype='int32', ctx=ctx).asnumpy().tolist() == [0, 1, 2, 3]
    x = mx.nd.array(np.arange(8.).reshape(2, 2, 2), ctx)
    assert_almost_equal(mx.nd.SoftmaxActivation(x), np.tile([0.26894143, 0.7310586], (2, 2, 1)))
    assert mx.nd.norm(mx.nd.ones((2,), ctx), out_dtype='float64').dtype == np.float64
    pick = mx.sym.pick(mx.sym.var('x'), mx.sym.var('i'))
    assert pick.infer_type(x='float32', i='int32')[0] == [np.float32, np.int32]
    assert mx.sym.var('a').astype('float16').infer_type(a='float32')[1] == [np.float16]
    a = mx.nd.arange(6, ctx=ctx)
    assert mx.nd.maximum(a, 2).asnumpy().tolist() == [2, 2, 2, 3, 4, 5]
    assert mx.nd.power(2, a).asnumpy().tolist() == [1, 2, 4, 8, 16, 32]
    assert mx.nd.greater(2, a).asnumpy().tolist() == [1, 1, 0, 0, 0, 0]
    assert mx.nd.subtract(10, a).asnumpy().tolist() == [10, 9, 8, 7, 6, 5]
    assert mx.nd.maximum(3, 2) == 3
    s = mx.sym.var('s')
    assert mx.sym.maximum(s, 2).list_outputs()[0].startswith('_maximumscalar')
    assert mx.sym.pow(2, s).list_outputs()[0].startswith('_rpowerscalar')
