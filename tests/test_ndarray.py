"""NDArray: creation, attributes, conversion, indexing, in-place ops and the mx.nd functions."""
import numpy as np
import pytest

import mxref as mx
from mxref.test_utils import assert_almost_equal, same


def test_creation_and_attributes(ctx):
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]], ctx=ctx)
    assert a.shape == (2, 3) and a.size == 6 and a.ndim == 2
    assert a.dtype == np.float32 and a.context == ctx
    assert mx.nd.zeros((2, 3), ctx).asnumpy().sum() == 0
    assert mx.nd.ones(4, ctx, dtype='int32').dtype == np.int32
    assert same(mx.nd.full((2, 2), 7, ctx), np.full((2, 2), 7))
    assert mx.nd.empty((3, 1), ctx).shape == (3, 1)
    assert same(mx.nd.arange(2, 8, 2, ctx=ctx), [2, 4, 6])
    assert same(mx.nd.arange(3, repeat=2, ctx=ctx), [0, 0, 1, 1, 2, 2])
    assert same(mx.nd.zeros_like(a), np.zeros((2, 3)))
    assert same(mx.nd.ones_like(a), np.ones((2, 3)))
    assert same(a.T, a.asnumpy().T)


def test_array_dtype_rules():
    assert mx.nd.array(np.array([1.5])).dtype == np.float32         # NumPy input: float32
    assert mx.nd.array([1, 2], dtype='int64').dtype == np.int64
    src = mx.nd.array([1, 2], dtype='int32')
    assert mx.nd.array(src).dtype == np.int32                        # NDArray input: kept
    assert mx.nd.array(3.0).shape == (1,)


def test_conversion(ctx):
    a = mx.nd.array([[1.5, 2], [3, 4]], ctx=ctx)
    host = a.asnumpy()
    host[0, 0] = 100
    assert a.asnumpy()[0, 0] == 1.5                                   # asnumpy copies
    assert mx.nd.array([7], ctx=ctx).asscalar() == 7
    with pytest.raises(ValueError, match='exactly one element'):
        a.asscalar()
    b = a.astype('int32')
    assert b.dtype == np.int32 and same(b, [[1, 2], [3, 4]])
    assert a.astype('float32', copy=False) is a
    c = a.copy()
    c[:] = 0
    assert a.asnumpy().sum() == 10.5
    d = mx.nd.zeros((2, 2), ctx)
    assert a.copyto(d) is d and same(d, a.asnumpy())
    assert a.as_in_context(ctx) is a
    e = a.copyto(mx.cpu())
    assert e.context == mx.cpu() and same(e, a.asnumpy())
    with pytest.raises(ValueError, match='shape mismatch'):
        a.copyto(mx.nd.zeros((3,), ctx))
    a.wait_to_read()
    mx.nd.waitall()


def test_repr():
    a = mx.nd.array([[1, 2], [3, 4]])
    assert repr(a) == '\n[[1. 2.]\n [3. 4.]]\n<NDArray 2x2 @cpu(0)>'


def test_first_axis_indexing_gives_views(ctx):
    a = mx.nd.array(np.arange(12).reshape(4, 3), ctx)
    row = a[1]
    assert row.shape == (3,)
    row[:] = -1
    assert same(a[1], [-1, -1, -1])
    block = a[2:4]
    block += 10
    assert same(a.asnumpy()[2:], np.arange(6, 12).reshape(2, 3) + 10)
    assert mx.nd.array([1, 2, 3], ctx)[1].shape == (1,)               # no 0-d arrays
    with pytest.raises(IndexError, match='out of bounds'):
        a[4]


def test_general_indexing_copies(ctx):
    data = np.arange(24).reshape(2, 3, 4)
    a = mx.nd.array(data, ctx)
    assert same(a[:, 1], data[:, 1])
    assert same(a[1, 1:3, ::2], data[1, 1:3, ::2])
    assert same(a[[0, 1], [1, 2]], data[[0, 1], [1, 2]])
    assert same(a[mx.nd.array([1, 0], ctx)], data[[1, 0]])
    assert same(a[0, 1, 2], [data[0, 1, 2]])
    with pytest.raises(IndexError, match='invalid'):
        a[:, 5]


def test_setitem(ctx):
    a = mx.nd.zeros((3, 4), ctx)
    a[:] = 1
    a[1] = mx.nd.array([1, 2, 3, 4], ctx)
    a[2, 1:3] = 9
    a[:, 0] = np.array([5, 6, 7])
    expected = np.ones((3, 4))
    expected[1] = [1, 2, 3, 4]
    expected[2, 1:3] = 9
    expected[:, 0] = [5, 6, 7]
    assert same(a, expected)
    with pytest.raises(ValueError, match='cannot assign'):
        a[0] = np.ones(5)
    with pytest.raises(TypeError, match='value must be'):
        a[0] = 'x'


def test_reshape_codes_and_views():
    a = mx.nd.array(np.arange(24).reshape(2, 3, 4))
    assert a.reshape((4, 0, 2)).shape == (4, 3, 2)
    assert a.reshape(6, 1, -1).shape == (6, 1, 4)
    assert a.reshape(shape=(-3, -2)).shape == (6, 4)
    assert a.reshape((-4, 1, 2, -2)).shape == (1, 2, 3, 4)
    assert mx.nd.zeros((10, 5, 4)).reshape((-1, 0), reverse=True).shape == (50, 4)
    view = a.reshape((24,))
    view[0] = 100
    assert a.asnumpy()[0, 0, 0] == 100
    with pytest.raises(ValueError, match='cannot reshape'):
        a.reshape((5, -1))
    with pytest.raises(ValueError, match='only one dimension can be -1'):
        a.reshape((-1, -1))


def test_arithmetic(ctx):
    x = np.random.uniform(1, 2, (3, 4)).astype(np.float32)
    y = np.random.uniform(1, 2, (1, 4)).astype(np.float32)
    a, b = mx.nd.array(x, ctx), mx.nd.array(y, ctx)
    for got, want in [(a + b, x + y), (a - b, x - y), (a * b, x * y), (a / b, x / y),
                      (a % b, np.mod(x, y)), (a ** b, x ** y), (a + 2, x + 2), (2 + a, 2 + x),
                      (a - 2, x - 2), (2 - a, 2 - x), (a * 2, x * 2), (2 * a, 2 * x),
                      (a / 2, x / 2), (2 / a, 2 / x), (a ** 2, x ** 2), (2 ** a, 2 ** x),
                      (-a, -x), (abs(-a), x), (a % 0.5, np.mod(x, 0.5))]:
        assert_almost_equal(got, want, rtol=1e-5, atol=1e-6)
    for got, want in [(a > b, x > y), (a >= 1.5, x >= 1.5), (a < b, x < y), (a <= b, x <= y),
                      (a == a, x == x), (a != 1.5, x != 1.5), (2 > a, 2 > x)]:
        assert got.dtype == np.float32 and same(got, want.astype(np.float32))
    with pytest.raises(TypeError, match='unsupported operand'):
        a + np.ones((3, 4))
    with pytest.raises(ValueError, match='could not be broadcast'):
        a + mx.nd.ones((2, 4), ctx)


def test_inplace_arithmetic(ctx):
    a = mx.nd.ones((2, 3), ctx)
    handle = a.handle
    a += 1
    a *= mx.nd.array([1, 2, 3], ctx)
    a -= 0.5
    a /= 2
    assert a.handle is handle
    assert_almost_equal(a, (np.ones((2, 3)) * 2 * [1, 2, 3] - 0.5) / 2)
    b = mx.nd.array([1, 2, 3], ctx)
    b **= 2                                   # no __ipow__: rebinding, as MXNet
    assert same(b, [1, 4, 9])


def test_integer_arrays_cast_scalars_first(ctx):
    a = mx.nd.array([3, 7], ctx, dtype='int32')
    assert same(a * 2.5, [6, 14])            # the scalar becomes int32 2
    assert same(a / 2, [1, 3])
    assert (a + 1).dtype == np.int32


def test_truth_value():
    assert bool(mx.nd.array([1]))
    assert not bool(mx.nd.array([0]))
    with pytest.raises(ValueError, match='ambiguous'):
        bool(mx.nd.ones((2,)))
    assert len(mx.nd.zeros((5, 2))) == 5
    assert [r.shape for r in mx.nd.zeros((3, 2))] == [(2,)] * 3


def test_nd_functions(ctx):
    x = np.random.uniform(0.5, 2, (2, 3, 4)).astype(np.float32)
    a = mx.nd.array(x, ctx)
    checks = [
        (mx.nd.sum(a, axis=1), x.sum(axis=1)),
        (a.sum(axis=(0, 2), keepdims=True), x.sum(axis=(0, 2), keepdims=True)),
        (mx.nd.mean(a, axis=-1), x.mean(axis=-1)),
        (mx.nd.max(a), [x.max()]), (mx.nd.min(a, axis=0), x.min(axis=0)),
        (mx.nd.prod(a, axis=2), x.prod(axis=2)),
        (mx.nd.sum(a, axis=1, exclude=True), x.sum(axis=(0, 2))),
        (mx.nd.norm(a), [np.sqrt((x ** 2).sum())]),
        (mx.nd.argmax(a, axis=1), x.argmax(axis=1)), (a.argmin(axis=2), x.argmin(axis=2)),
        (mx.nd.exp(a), np.exp(x)), (a.log(), np.log(x)), (mx.nd.sqrt(a), np.sqrt(x)),
        (mx.nd.square(a), x ** 2), (mx.nd.abs(-a), x), (mx.nd.sign(-a), -np.ones_like(x)),
        (mx.nd.relu(a - 1), np.maximum(x - 1, 0)), (mx.nd.sigmoid(a), 1 / (1 + np.exp(-x))),
        (mx.nd.tanh(a), np.tanh(x)),
        (mx.nd.transpose(a), x.T), (a.transpose(axes=(1, 0, 2)), x.transpose(1, 0, 2)),
        (mx.nd.swapaxes(a, 0, 2), x.swapaxes(0, 2)),
        (mx.nd.expand_dims(a, axis=0), x[None]), (mx.nd.flatten(a), x.reshape(2, 12)),
        (mx.nd.tile(a, reps=(1, 2, 1)), np.tile(x, (1, 2, 1))),
        (mx.nd.repeat(a, repeats=2, axis=0), np.repeat(x, 2, axis=0)),
        (mx.nd.slice(a, begin=(0, 1), end=(2, 3)), x[0:2, 1:3]),
        (mx.nd.crop(a, begin=(1,), end=(2,)), x[1:2]),
        (mx.nd.slice_axis(a, axis=2, begin=1, end=3), x[:, :, 1:3]),
        (mx.nd.concat(a, a, dim=2), np.concatenate([x, x], axis=2)),
        (mx.nd.stack(a, a, axis=1), np.stack([x, x], axis=1)),
        (mx.nd.clip(a, 1, 1.5), np.clip(x, 1, 1.5)),
        (mx.nd.broadcast_to(mx.nd.array(x[:1], ctx), shape=(4, 3, 4)),
         np.broadcast_to(x[:1], (4, 3, 4))),
        (mx.nd.broadcast_add(a, mx.nd.array(x[0], ctx)), x + x[0]),
        (mx.nd.broadcast_maximum(a, mx.nd.array(x[:, :1], ctx)), np.maximum(x, x[:, :1])),
        (mx.nd.dot(a[0], a[1], transpose_b=True), x[0] @ x[1].T),
        (mx.nd.batch_dot(a, a, transpose_a=True), x.transpose(0, 2, 1) @ x),
        (mx.nd.softmax(a), np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ]
    for got, want in checks:
        assert_almost_equal(got, np.asarray(want, dtype=np.float32), rtol=1e-5, atol=1e-5)
    parts = mx.nd.split(a, num_outputs=3, axis=1)
    assert len(parts) == 3 and same(parts[2], x[:, 2:3])
    one_hot = mx.nd.one_hot(mx.nd.array([0, 2, 5], ctx), depth=3)
    assert same(one_hot, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    idx = mx.nd.array([[0, 1], [2, 0]], ctx)
    assert same(mx.nd.take(a[0], idx), x[0][[[0, 1], [2, 0]]])
    assert same(mx.nd.pick(a[0], mx.nd.array([0, 3, 1], ctx), axis=1), x[0][[0, 1, 2], [0, 3, 1]])
    cond = mx.nd.array([1, 0], ctx)
    assert same(mx.nd.where(cond, a, -a), np.where(np.array([1, 0])[:, None, None], x, -x))


def test_nd_function_out_and_errors(ctx):
    a = mx.nd.ones((2, 3), ctx)
    out = mx.nd.zeros((2, 3), ctx)
    assert mx.nd.exp(a, out=out) is out
    assert_almost_equal(out, np.full((2, 3), np.e))
    with pytest.raises(mx.MXNetError, match="missing"):
        mx.nd.FullyConnected(a, num_hidden=2)
    with pytest.raises(mx.MXNetError, match="unknown parameter 'foo'"):
        mx.nd.exp(a, foo=1)
    with pytest.raises(mx.MXNetError, match="required parameter 'num_hidden'"):
        mx.nd.FullyConnected(a, mx.nd.ones((2, 3), ctx), mx.nd.ones((2,), ctx))
    with pytest.raises(mx.MXNetError, match="does not match weight"):
        mx.nd.FullyConnected(a, mx.nd.ones((4, 2), ctx), mx.nd.ones((4,), ctx), num_hidden=4)
    with pytest.raises(mx.MXNetError, match="act_type='bad'"):
        mx.nd.Activation(a, act_type='bad')


def test_operator_functions_have_signatures_and_docs():
    import inspect
    sig = inspect.signature(mx.nd.FullyConnected)
    assert list(sig.parameters)[:6] == ['data', 'weight', 'bias', 'num_hidden', 'no_bias',
                                        'flatten']
    assert 'x · Wᵀ' in mx.nd.FullyConnected.__doc__
    assert 'data' in inspect.signature(mx.sym.Concat).parameters
    assert mx.nd._internal._plus_scalar is mx.nd.op._plus_scalar


def test_random(ctx):
    mx.random.seed(7)
    u1 = mx.nd.random.uniform(-1, 2, shape=(1000,), ctx=ctx).asnumpy()
    mx.random.seed(7)
    u2 = mx.nd.random.uniform(-1, 2, shape=(1000,), ctx=ctx).asnumpy()
    assert same(u1, u2) and u1.min() >= -1 and u1.max() < 2 and abs(u1.mean() - 0.5) < 0.1
    n = mx.nd.random.normal(3, 0.5, shape=(2000,), ctx=ctx).asnumpy()
    assert abs(n.mean() - 3) < 0.05 and abs(n.std() - 0.5) < 0.05
    r = mx.nd.random.randint(0, 5, shape=(100,), ctx=ctx)
    assert r.dtype == np.int32 and set(np.unique(r.asnumpy())) <= set(range(5))
    assert mx.random.uniform(shape=(2, 2), ctx=ctx).shape == (2, 2)
    with pytest.raises(ValueError, match='high'):
        mx.nd.random.uniform(2, 1)


def test_context():
    assert mx.cpu() == mx.Context('cpu', 0) and mx.cpu(1) != mx.cpu(0)
    assert str(mx.gpu(2)) == 'gpu(2)' and mx.gpu(2).device_typeid == 2
    with mx.cpu(3):
        assert mx.current_context() == mx.cpu(3)
        assert mx.nd.zeros((1,)).context == mx.cpu(3)
    assert mx.current_context() == mx.cpu()
    with pytest.raises(ValueError, match='device_type'):
        mx.Context('tpu')


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason='checks the error without a GPU')
def test_gpu_without_device_gives_clear_error():
    with pytest.raises(mx.MXNetError, match='PyCUDA|GPU|device'):
        mx.nd.zeros((2,), ctx=mx.gpu(0))


def test_missing_kernel_build_says_how_to_build():
    from mxref._kernels import require
    with pytest.raises(ImportError, match=r"pip install -e \.|build_ext --inplace"):
        require('no_such_kernel')
