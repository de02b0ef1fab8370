"""Loss layers: forward against NumPy, and their self-made gradients against NumPy statements
of MXNet 1.9.1's formulas (checked against the real library when these tests were written)."""
import numpy as np
import pytest

import mxref as mx
from mxref.test_utils import assert_almost_equal, check_numeric_gradient


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _run(sym, ctx, data, label, **kwargs):
    """Forward (training) and backward; returns (output, data gradient)."""
    args = {'data': mx.nd.array(data, ctx), 'label': mx.nd.array(label, ctx)}
    grads = {'data': mx.nd.zeros(data.shape, ctx)}
    executor = sym.bind(ctx, args, args_grad=grads, grad_req={'data': 'write'})
    out = executor.forward(is_train=True)[0].asnumpy()
    executor.backward()
    return out, grads['data'].asnumpy()


def _softmax_output(**kwargs):
    return mx.sym.SoftmaxOutput(mx.sym.Variable('data'), mx.sym.Variable('label'), **kwargs)


@pytest.mark.parametrize('normalization,divisor', [('null', 1), ('batch', 5), ('valid', 3)])
def test_softmax_output_normalization(ctx, normalization, divisor):
    data = np.random.normal(size=(5, 4))
    label = np.array([0, 3, -1, 2, -1], dtype=np.float32)
    sym = _softmax_output(normalization=normalization, use_ignore=True, grad_scale=2.0)
    out, grad = _run(sym, ctx, data, label)
    prob = _softmax(data)
    assert_almost_equal(out, prob, rtol=1e-5, atol=1e-6)
    onehot = np.zeros_like(prob)
    valid = label >= 0
    onehot[np.arange(5)[valid], label[valid].astype(int)] = 1
    expected = (prob - onehot) * valid[:, None] * 2.0 / divisor
    assert_almost_equal(grad, expected, rtol=1e-5, atol=1e-6)


def test_softmax_output_valid_counts_ignored_labels_without_use_ignore(ctx):
    """MXNet divides by the non-ignored count even when use_ignore is off."""
    data = np.random.normal(size=(4, 3))
    label = np.array([0, -1, 2, 1], dtype=np.float32)
    _, grad = _run(_softmax_output(normalization='valid'), ctx, data, label)
    prob = _softmax(data)
    onehot = np.zeros_like(prob)
    onehot[[0, 2, 3], [0, 2, 1]] = 1
    assert_almost_equal(grad, (prob - onehot) / 3, rtol=1e-5, atol=1e-6)


def test_softmax_output_multi_output(ctx):
    data = np.random.normal(size=(2, 3, 4))
    label = np.random.randint(0, 3, size=(2, 4)).astype(np.float32)
    sym = _softmax_output(multi_output=True, normalization='batch')
    out, grad = _run(sym, ctx, data, label)
    prob = _softmax(data, axis=1)
    assert_almost_equal(out, prob, rtol=1e-5, atol=1e-6)
    onehot = (np.arange(3)[None, :, None] == label[:, None, :]).astype(float)
    assert_almost_equal(grad, (prob - onehot) / (2 * 4), rtol=1e-5, atol=1e-6)
    assert sym.infer_shape(data=(2, 3, 4))[0][1] == (2, 4)


def test_softmax_output_preserve_shape_and_smoothing(ctx):
    data = np.random.normal(size=(2, 3, 5))
    label = np.random.randint(0, 5, size=(2, 3)).astype(np.float32)
    sym = _softmax_output(preserve_shape=True, smooth_alpha=0.1)
    out, grad = _run(sym, ctx, data, label)
    prob = _softmax(data, axis=-1)
    onehot = (np.arange(5) == label[..., None]).astype(float)
    target = onehot * 0.9 + (1 - onehot) * 0.1 / 4
    assert_almost_equal(out, prob, rtol=1e-5, atol=1e-6)
    assert_almost_equal(grad, prob - target, rtol=1e-5, atol=1e-6)


def test_softmax_output_probability_labels(ctx):
    data = np.random.normal(size=(3, 4))
    label = _softmax(np.random.normal(size=(3, 4)))
    _, grad = _run(_softmax_output(grad_scale=0.5, normalization='batch'), ctx, data, label)
    assert_almost_equal(grad, 0.5 * (_softmax(data) - label), rtol=1e-5, atol=1e-6)


def test_softmax_output_flattens_features_and_names_label(ctx):
    sym = mx.sym.SoftmaxOutput(mx.sym.Variable('data'), name='softmax')
    assert sym.list_arguments() == ['data', 'softmax_label']
    arg_shapes, out_shapes, _ = sym.infer_shape(data=(4, 2, 3))
    # MXNet 1.9.1: the label has shape data.shape[:-1], although the softmax is over all 6
    assert arg_shapes == [(4, 2, 3), (4, 2)] and out_shapes == [(4, 2, 3)]
    out = sym.eval(ctx, data=mx.nd.array(np.arange(24).reshape(4, 2, 3), ctx),
                   softmax_label=mx.nd.zeros((4, 2), ctx))[0].asnumpy()
    assert_almost_equal(out.reshape(4, 6), _softmax(np.arange(24.).reshape(4, 6)), rtol=1e-5)


# MXNet 1.9.1's data gradients for data sin(0..23) as (2, 3, 4), label [[2, 1, 0], [1, 3, 1]]
_ND_GRADS = {
    'plain': [[[0.06394, 0.14833, -0.84126, 0.07363], [0.03, 0.02451, 0.04835, 0.12334],
               [0.17197, 0.09655, 0.03711, 0.02352]],
              [[0.03724, -0.90306, 0.1715, 0.12203], [0.04775, 0.02435, 0.03005, 0.07398],
               [0.15868, 0.14703, 0.06312, 0.02732]]],
    'preserve_shape': [[[0.1438, 0.33359, -0.643, 0.1656], [0.13262, -0.89165, 0.21376, 0.54527],
                        [-0.47754, 0.29333, 0.11275, 0.07146]],
                       [[0.08707, -0.77334, 0.40097, 0.28531],
                        [0.27111, 0.13825, 0.17062, -0.57998],
                        [0.40055, -0.62887, 0.15934, 0.06897]]],
    'valid_ignore_1': [[[0.02131, 0.04944, -0.28042, 0.02454], [0.01, 0.00817, 0.01612, 0.04111],
                        [0.05732, 0.03218, 0.01237, 0.00784]], [[0.0] * 4] * 3],
}


@pytest.mark.parametrize('name,kwargs', [
    ('plain', {}), ('preserve_shape', {'preserve_shape': True}),
    ('valid_ignore_1', {'normalization': 'valid', 'use_ignore': True, 'ignore_label': 1})])
def test_softmax_output_nd_data_label_shape_and_gradient(ctx, name, kwargs):
    """N-d data without multi_output takes a label of shape data.shape[:-1].  Without
    preserve_shape MXNet 1.9.1 takes the softmax over a sample's 12 values and its gradient
    reads only the first 2 labels of the flattened label (one per sample), 'valid' counting
    the whole label (4 of 6 are not 1)."""
    data = np.sin(np.arange(24)).reshape(2, 3, 4).astype(np.float32)
    label = np.array([[2, 1, 0], [1, 3, 1]], np.float32)
    sym = _softmax_output(**kwargs)
    assert sym.infer_shape(data=(2, 3, 4))[0][1] == (2, 3)
    out, grad = _run(sym, ctx, data, label)
    prob = _softmax(data) if kwargs.get('preserve_shape') else \
        _softmax(data.reshape(2, 12)).reshape(2, 3, 4)
    assert_almost_equal(out, prob, rtol=1e-5, atol=1e-6)
    assert_almost_equal(grad, np.array(_ND_GRADS[name]), rtol=0, atol=1e-5)
    with pytest.raises(mx.MXNetError, match="SoftmaxOutput.*label shape"):
        sym.infer_shape(data=(2, 3, 4), label=(2,))        # MXNet 1.9.1 rejects (2,) too


def test_softmax_output_bad_label_shape():
    sym = _softmax_output()
    with pytest.raises(mx.MXNetError, match="SoftmaxOutput.*label shape"):
        sym.infer_shape(data=(4, 3), label=(5,))


@pytest.mark.parametrize('op,forward,grad', [
    ('LinearRegressionOutput', lambda x: x, lambda y, l: (y - l)),
    ('LogisticRegressionOutput', lambda x: 1 / (1 + np.exp(-x)), lambda y, l: (y - l)),
    ('MAERegressionOutput', lambda x: x, lambda y, l: np.where(y - l > 0, 1.0, -1.0)),
])
def test_regression_outputs(ctx, op, forward, grad):
    data = np.random.normal(size=(4, 3))
    label = np.random.normal(size=(4, 3))
    sym = getattr(mx.sym, op)(mx.sym.Variable('data'), mx.sym.Variable('label'), grad_scale=3.0)
    out, dx = _run(sym, ctx, data, label)
    assert_almost_equal(out, forward(data), rtol=1e-5, atol=1e-6)
    assert_almost_equal(dx, grad(forward(data), label) * 3.0 / 3, rtol=1e-5, atol=1e-6)


def test_regression_label_shape_inference():
    sym = mx.sym.LinearRegressionOutput(mx.sym.Variable('data'), name='lro')
    assert sym.infer_shape(data=(5, 1))[0] == [(5, 1), (5,)]
    assert sym.infer_shape(data=(5, 2))[0] == [(5, 2), (5, 2)]


@pytest.mark.parametrize('normalization,scale', [('null', 2.0), ('batch', 2.0 / 4),
                                                 ('valid', None)])
def test_make_loss(ctx, normalization, scale):
    data = np.random.normal(size=(4, 3))
    x = mx.sym.Variable('data')
    sym = mx.sym.MakeLoss(x, grad_scale=2.0, normalization=normalization, valid_thresh=0.1)
    grads = {'data': mx.nd.zeros((4, 3), ctx)}
    executor = sym.bind(ctx, {'data': mx.nd.array(data, ctx)}, args_grad=grads)
    assert_almost_equal(executor.forward(is_train=True)[0], data, rtol=1e-6)
    executor.backward()
    if scale is None:
        scale = 2.0 / max(1, np.sum(data > 0.1))
    assert_almost_equal(grads['data'], np.full((4, 3), scale), rtol=1e-6)


def test_make_loss_lowercase_gives_ones(ctx):
    x = mx.sym.Variable('x')
    sym = mx.sym.make_loss(x * 3)
    assert sym.list_outputs()[0].endswith('_loss')
    mx.test_utils.check_symbolic_backward(sym, {'x': np.ones((2, 2))}, [], {'x': np.full((2, 2), 3)},
                                          ctx=ctx)


def test_loss_layers_do_not_need_head_gradients(ctx):
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, num_hidden=3, name='fc')
    net = mx.sym.SoftmaxOutput(net, name='softmax')
    executor = net.simple_bind(ctx, data=(2, 4))
    executor.forward(is_train=True)
    executor.backward()                       # no head gradient needed
    plain = mx.sym.FullyConnected(data, num_hidden=3, name='fc').simple_bind(ctx, data=(2, 4))
    plain.forward(is_train=True)
    with pytest.raises(mx.MXNetError, match='head_gradient is required'):
        plain.backward()
