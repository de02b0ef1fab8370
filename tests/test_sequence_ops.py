"""SequenceMask, SequenceLast, SequenceReverse and reverse against NumPy oracles and finite
differences (no gradient is checked for the lengths: they are integers in disguise)."""
import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.test_utils import (assert_almost_equal, check_numeric_gradient,
                              check_symbolic_backward)

# Awkward shapes: T=5 steps (prime), N=3 sequences, a trailing feature axis of 2, and
# lengths covering the extremes 1 (or 0 for the mask) and T.
T, N = 5, 3


def _lengths(low=1):
    return np.array([low, T, 3], dtype=np.float32)


def _time_major(x, axis):
    """The data with time first and batch second."""
    return x if axis == 0 else np.swapaxes(x, 0, 1)


def np_sequence_mask(x, lengths, axis, value):
    out = _time_major(x, axis).copy()
    for n, length in enumerate(lengths.astype(int)):
        out[length:, n] = value
    return _time_major(out, axis)


def np_sequence_last(x, lengths, axis):
    x = _time_major(x, axis)
    return np.stack([x[int(length) - 1, n] for n, length in enumerate(lengths)])


def np_sequence_reverse(x, lengths):
    out = x.copy()
    for n, length in enumerate(lengths.astype(int)):
        out[:length, n] = x[:length, n][::-1]
    return out


def _data(axis, shape_rest=(2,)):
    shape = ((T, N) if axis == 0 else (N, T)) + shape_rest
    return np.random.uniform(-1, 1, size=shape)


def _forward(sym, ctx, **values):
    executor = sym.bind(ctx, {k: mx.nd.array(v, ctx) for k, v in values.items()})
    return executor.forward()[0].asnumpy()


@pytest.mark.parametrize('axis', [0, 1])
@pytest.mark.parametrize('value', [0.0, -7.5])
def test_sequence_mask_forward(axis, value, ctx):
    x, lengths = _data(axis), _lengths(low=0)
    sym = mx.sym.SequenceMask(mx.sym.Variable('x'), mx.sym.Variable('len'),
                              use_sequence_length=True, axis=axis, value=value)
    assert sym.list_arguments() == ['x', 'len']
    assert_almost_equal(_forward(sym, ctx, x=x, len=lengths),
                        np_sequence_mask(x, lengths, axis, value).astype(np.float32))


def test_sequence_mask_without_lengths_is_identity(ctx):
    x = _data(0)
    sym = mx.sym.SequenceMask(mx.sym.Variable('x'), value=3.0)
    assert sym.list_arguments() == ['x']
    assert_almost_equal(_forward(sym, ctx, x=x), x.astype(np.float32))


@pytest.mark.parametrize('axis', [0, 1])
def test_sequence_last_forward(axis, ctx):
    x, lengths = _data(axis, (2, 3)), _lengths()
    sym = mx.sym.SequenceLast(mx.sym.Variable('x'), mx.sym.Variable('len'),
                              use_sequence_length=True, axis=axis)
    got = _forward(sym, ctx, x=x, len=lengths)
    assert got.shape == (N, 2, 3)
    assert_almost_equal(got, np_sequence_last(x, lengths, axis).astype(np.float32))


def test_sequence_last_without_lengths_takes_the_last_step(ctx):
    x = _data(1)
    sym = mx.sym.SequenceLast(mx.sym.Variable('x'), axis=1)
    assert_almost_equal(_forward(sym, ctx, x=x), x[:, -1].astype(np.float32))


def test_sequence_reverse_forward(ctx):
    x, lengths = _data(0), _lengths()
    sym = mx.sym.SequenceReverse(mx.sym.Variable('x'), mx.sym.Variable('len'),
                                 use_sequence_length=True)
    assert_almost_equal(_forward(sym, ctx, x=x, len=lengths),
                        np_sequence_reverse(x, lengths).astype(np.float32))
    plain = mx.sym.SequenceReverse(mx.sym.Variable('x'))
    assert_almost_equal(_forward(plain, ctx, x=x), x[::-1].astype(np.float32))


@pytest.mark.parametrize('axis', [1, (0, 2), -1])
def test_reverse_forward(axis, ctx):
    x = np.random.uniform(-1, 1, size=(3, 1, 7))
    sym = mx.sym.reverse(mx.sym.Variable('x'), axis=axis)
    assert_almost_equal(_forward(sym, ctx, x=x), np.flip(x, axis).astype(np.float32))


def test_flip_is_reverse():
    sym = mx.sym.flip(mx.sym.Variable('x'), axis=0)
    assert sym.name == 'flip0'
    assert '"op": "reverse"' in sym.tojson()


@pytest.mark.parametrize('build, axis, low', [
    (lambda x, l, a: mx.sym.SequenceMask(x, l, use_sequence_length=True, axis=a, value=2.0), 0, 0),
    (lambda x, l, a: mx.sym.SequenceMask(x, l, use_sequence_length=True, axis=a), 1, 0),
    (lambda x, l, a: mx.sym.SequenceLast(x, l, use_sequence_length=True, axis=a), 0, 1),
    (lambda x, l, a: mx.sym.SequenceLast(x, l, use_sequence_length=True, axis=a), 1, 1),
    (lambda x, l, a: mx.sym.SequenceReverse(x, l, use_sequence_length=True, axis=a), 0, 0),
], ids=['mask-0', 'mask-1', 'last-0', 'last-1', 'reverse'])
def test_numeric_gradient(build, axis, low, ctx):
    sym = build(mx.sym.Variable('x'), mx.sym.Variable('len'), axis)
    location = {'x': _data(axis), 'len': _lengths(low)}
    check_numeric_gradient(sym, location, grad_nodes=['x'], ctx=ctx, dtype=np.float64,
                           rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('build', [
    lambda x: mx.sym.SequenceMask(x),
    lambda x: mx.sym.SequenceLast(x),
    lambda x: mx.sym.SequenceReverse(x),
    lambda x: mx.sym.reverse(x, axis=(0, 1)),
], ids=['mask', 'last', 'reverse', 'flip'])
def test_numeric_gradient_without_lengths(build, ctx):
    check_numeric_gradient(build(mx.sym.Variable('x')), {'x': _data(0)}, ctx=ctx,
                           dtype=np.float64, rtol=1e-4, atol=1e-6)


def test_no_gradient_reaches_the_lengths(ctx):
    x, lengths = _data(0), _lengths()
    sym = mx.sym.SequenceLast(mx.sym.Variable('x'), mx.sym.Variable('len'),
                              use_sequence_length=True)
    expected_dx = np.zeros_like(x)
    for n, length in enumerate(lengths.astype(int)):
        expected_dx[length - 1, n] = 1
    check_symbolic_backward(sym, {'x': x, 'len': lengths}, [np.ones((N, 2))],
                            {'x': expected_dx, 'len': np.zeros(N)}, ctx=ctx)


def test_shapes_are_inferred():
    x, lengths = mx.sym.Variable('x'), mx.sym.Variable('len')
    sym = mx.sym.SequenceLast(x, lengths, use_sequence_length=True, axis=1)
    arg_shapes, out_shapes, _ = sym.infer_shape(x=(4, 6, 5))
    assert arg_shapes == [(4, 6, 5), (4,)]
    assert out_shapes == [(4, 5)]
    sym = mx.sym.SequenceMask(x, lengths, use_sequence_length=True)
    assert sym.infer_shape(x=(6, 4))[0] == [(6, 4), (4,)]


def test_bad_input_is_reported():
    with pytest.raises(MXNetError, match='SequenceReverse.*axis must be 0'):
        mx.sym.SequenceReverse(mx.sym.Variable('x'), axis=1)
    with pytest.raises(MXNetError, match='SequenceLast.*sequence_length must lie in \\[1, 5\\]'):
        mx.nd.SequenceLast(mx.nd.ones((T, N)), mx.nd.array([0, 1, 2]),
                           use_sequence_length=True)
    with pytest.raises(MXNetError, match='sequence_length must have shape \\(3,\\)'):
        mx.sym.SequenceMask(mx.sym.Variable('x'), mx.sym.Variable('len'),
                            use_sequence_length=True).infer_shape(x=(T, N), len=(4,))
    with pytest.raises(MXNetError, match='reverse.*axis 3 is out of range'):
        mx.nd.reverse(mx.nd.ones((2, 3)), axis=3)
