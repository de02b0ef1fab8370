"""Convolution and Pooling operators: shapes, parameters, forward against the NumPy
references, numeric gradients, MXNet's symbol JSON, and the LeNet fixture from MXNet 1.9.1."""
import json
import os

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.test_utils import check_numeric_gradient, assert_almost_equal
from mxref._kernels import reference


# ----------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------
def test_convolution_arguments_and_shapes():
    data = mx.sym.var('data')
    conv = mx.sym.Convolution(data, kernel=(3, 2), stride=(2, 1), pad=(1, 0), dilate=(1, 2),
                              num_filter=6, num_group=2, name='conv')
    assert conv.list_arguments() == ['data', 'conv_weight', 'conv_bias']
    args, outs, aux = conv.infer_shape(data=(5, 4, 11, 9))
    assert args == [(5, 4, 11, 9), (6, 2, 3, 2), (6,)]
    assert outs == [(5, 6, 6, 7)] and aux == []
    no_bias = mx.sym.Convolution(data, kernel=(3,), num_filter=2, no_bias=True, name='c1d')
    assert no_bias.list_arguments() == ['data', 'c1d_weight']
    assert no_bias.infer_shape(data=(2, 3, 10))[1] == [(2, 2, 8)]


@pytest.mark.parametrize('kwargs,shape,message', [
    (dict(kernel=(3, 3), num_filter=4, num_group=3), (1, 4, 5, 5), 'num_group'),
    (dict(kernel=(3, 3), num_filter=4, num_group=3), (1, 3, 5, 5), 'multiple of num_group'),
    (dict(kernel=(7, 7), num_filter=1), (1, 1, 5, 5), 'exceeds'),
    (dict(kernel=(3, 3), num_filter=1), (1, 1, 5), 'NCHW'),
    (dict(kernel=(3, 3), num_filter=1, stride=(1,)), (1, 1, 5, 5), 'stride'),
])
def test_convolution_errors_name_the_problem(kwargs, shape, message):
    with pytest.raises(MXNetError, match=message):
        conv = mx.sym.Convolution(mx.sym.var('data'), name='bad', **kwargs)
        conv.infer_shape(data=shape)


def test_convolution_unsupported_configurations_are_refused():
    with pytest.raises(NotImplementedError, match='layout'):
        mx.sym.Convolution(mx.sym.var('data'), kernel=(3, 3), num_filter=1, layout='NHWC')
    with pytest.raises(NotImplementedError, match='1-D and 2-D'):
        mx.sym.Convolution(mx.sym.var('data'), kernel=(3, 3, 3), num_filter=1)
    x = mx.nd.ones((1, 1, 4, 4), dtype=np.float16)
    with pytest.raises(MXNetError, match='float16'):
        mx.nd.Convolution(x, mx.nd.ones((1, 1, 3, 3), dtype=np.float16),
                          mx.nd.ones((1,), dtype=np.float16), kernel=(3, 3), num_filter=1)


def test_convolution_json_attributes():
    conv = mx.sym.Convolution(mx.sym.var('data'), kernel=(5, 5), num_filter=20, name='conv1')
    nodes = json.loads(conv.tojson())['nodes']
    assert nodes[1] == {'op': 'null', 'name': 'conv1_weight',
                        'attrs': {'kernel': '(5, 5)', 'num_filter': '20'}, 'inputs': []}
    assert nodes[3]['attrs'] == {'kernel': '(5, 5)', 'num_filter': '20'}


CONV_CASES = [  # data shape, kwargs
    ((2, 3, 6, 5), dict(kernel=(3, 3), num_filter=4)),
    ((1, 4, 7, 7), dict(kernel=(3, 2), num_filter=6, stride=(2, 3), pad=(1, 1), dilate=(2, 1),
                        num_group=2)),
    ((2, 3, 5, 5), dict(kernel=(2, 2), num_filter=3, num_group=3, no_bias=True)),
    ((3, 2, 9), dict(kernel=(3,), num_filter=2, stride=(2,), pad=(1,), dilate=(2,))),
]


@pytest.mark.parametrize('shape,kwargs', CONV_CASES)
def test_convolution_forward_matches_reference(shape, kwargs, ctx):
    rng = np.random.default_rng(1)
    conv = mx.sym.Convolution(mx.sym.var('data'), name='conv', **kwargs)
    arg_shapes = conv.infer_shape(data=shape)[0]
    values = [rng.standard_normal(s).astype(np.float32) for s in arg_shapes]
    out = conv.bind(ctx, [mx.nd.array(v, ctx=ctx) for v in values]).forward()[0].asnumpy()
    two_d = lambda a: a[:, :, None, :] if a.ndim == 3 else a
    pairs = lambda key, fill: (tuple(kwargs.get(key, (fill,) * len(kwargs['kernel']))))
    stride, pad, dilate = [(1,) + pairs(k, f) if len(kwargs['kernel']) == 1 else pairs(k, f)
                           for k, f in (('stride', 1), ('pad', 0), ('dilate', 1))]
    if len(kwargs['kernel']) == 1:
        pad = (0,) + pad[1:]
    expected = reference.conv2d_forward(two_d(values[0]), two_d(values[1]),
                                        None if kwargs.get('no_bias') else values[2], stride,
                                        pad, dilate, kwargs.get('num_group', 1))
    assert_almost_equal(out, expected.reshape(out.shape), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('shape,kwargs', CONV_CASES)
def test_convolution_numeric_gradient(shape, kwargs, ctx):
    rng = np.random.default_rng(2)
    conv = mx.sym.Convolution(mx.sym.var('data'), name='conv', **kwargs)
    arg_shapes = conv.infer_shape(data=shape)[0]
    location = {name: rng.standard_normal(s)
                for name, s in zip(conv.list_arguments(), arg_shapes)}
    check_numeric_gradient(conv, location, ctx=ctx, dtype=np.float64, numeric_eps=1e-6)


def test_convolution_gradient_accumulates_with_add(ctx):
    rng = np.random.default_rng(3)
    conv = mx.sym.Convolution(mx.sym.var('data'), kernel=(2, 2), num_filter=2, name='c')
    shapes = conv.infer_shape(data=(2, 2, 4, 4))[0]
    args = [mx.nd.array(rng.standard_normal(s).astype(np.float32), ctx=ctx) for s in shapes]
    grads = [mx.nd.ones(s, ctx=ctx) for s in shapes]
    ex = conv.bind(ctx, args, args_grad=grads, grad_req='add')
    ex.forward(is_train=True)
    head = mx.nd.array(rng.standard_normal((2, 2, 3, 3)).astype(np.float32), ctx=ctx)
    ex.backward([head])
    once = [g.asnumpy() - 1 for g in grads]
    ex.forward(is_train=True)
    ex.backward([head])
    for g, first in zip(grads, once):
        assert_almost_equal(g.asnumpy(), 1 + 2 * first, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------
# node_row_ptr counts printed by MXNet 1.9.1 (oneDNN build) for mx.sym.Pooling(..., name='p')
MXNET_OUTPUT_COUNTS = [
    (dict(kernel=(2, 2), pool_type='max'), 2), (dict(kernel=(2, 2), pool_type='avg'), 1),
    (dict(kernel=(2, 2), pool_type='sum'), 1), (dict(kernel=(2,), pool_type='max'), 2),
    (dict(kernel=(2, 2), pool_type='max', global_pool=True), 2),
    (dict(global_pool=True, pool_type='max'), 1),
    (dict(kernel=(2, 2), pool_type='max', pooling_convention='full'), 2),
    (dict(kernel=(2, 2), pool_type='max', layout='NCHW'), 2),
    (dict(kernel=(2, 2)), 2),
]


@pytest.mark.parametrize('kwargs,count', MXNET_OUTPUT_COUNTS)
def test_pooling_hidden_output_matches_mxnet(kwargs, count):
    pool = mx.sym.Pooling(mx.sym.var('data'), name='p', **kwargs)
    assert pool.list_outputs() == ['p_output']
    assert json.loads(pool.tojson())['node_row_ptr'] == [0, 1, 1 + count]


def test_pooling_shapes():
    data = mx.sym.var('data')
    assert mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2)).infer_shape(
        data=(2, 3, 7, 8))[1] == [(2, 3, 3, 4)]
    assert mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                          pooling_convention='full').infer_shape(data=(1, 1, 6, 6))[1] == [(1, 1, 4, 4)]
    assert mx.sym.Pooling(data, global_pool=True, pool_type='avg').infer_shape(
        data=(2, 3, 5, 7))[1] == [(2, 3, 1, 1)]
    assert mx.sym.Pooling(data, kernel=(3,), stride=(2,)).infer_shape(data=(2, 3, 9))[1] == [(2, 3, 4)]


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(kernel=(2, 2), pool_type='lp', p_value=2), NotImplementedError, 'lp'),
    (dict(kernel=(2,), pooling_convention='same'), NotImplementedError, 'same'),
    (dict(kernel=(2, 2), layout='NHWC'), NotImplementedError, 'layout'),
    (dict(kernel=(2, 2), pad=(2, 2)), MXNetError, 'pad < kernel'),
    (dict(kernel=(2, 2), pool_type='median'), MXNetError, 'pool_type'),
    (dict(), NotImplementedError, 'global_pool'),
])
def test_pooling_refuses_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        mx.sym.Pooling(mx.sym.var('data'), name='bad', **kwargs)


def test_pooling_kernel_larger_than_input():
    with pytest.raises(MXNetError, match='exceeds'):
        mx.sym.Pooling(mx.sym.var('data'), kernel=(4, 4)).infer_shape(data=(1, 1, 3, 3))


POOL_CASES = [  # data shape, kwargs
    ((2, 3, 6, 6), dict(kernel=(2, 2), stride=(2, 2), pool_type='max')),
    ((1, 2, 5, 6), dict(kernel=(3, 2), stride=(2, 2), pad=(1, 1), pool_type='max',
                        pooling_convention='full')),
    ((2, 2, 5, 5), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='avg',
                        pooling_convention='full')),
    ((2, 2, 5, 5), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='avg',
                        count_include_pad=False)),
    ((1, 3, 4, 5), dict(kernel=(2, 3), stride=(1, 2), pool_type='sum')),
    ((2, 3, 4, 5), dict(global_pool=True, pool_type='max')),
    ((2, 3, 4, 5), dict(kernel=(1, 1), global_pool=True, pool_type='avg')),
    ((2, 3, 11), dict(kernel=(3,), stride=(2,), pad=(1,), pool_type='max')),
    ((2, 3, 11), dict(kernel=(4,), stride=(3,), pool_type='avg', pooling_convention='full')),
]


def _pool_reference(x, kwargs):
    four = x[:, :, None, :] if x.ndim == 3 else x
    if kwargs.get('global_pool'):
        kernel, stride, pad = four.shape[2:], (1, 1), (0, 0)
    else:
        k = kwargs['kernel']
        grow = (lambda t, f: (f,) + tuple(t)) if len(k) == 1 else (lambda t, f: tuple(t))
        kernel = grow(k, 1)
        stride = grow(kwargs.get('stride', (1,) * len(k)), 1)
        pad = grow(kwargs.get('pad', (0,) * len(k)), 0)
    conv = kwargs.get('pooling_convention', 'valid')
    out_hw = [reference.pool_output_size(four.shape[2 + a], kernel[a], stride[a], pad[a], conv)
              for a in range(2)]
    y = reference.pool2d_forward(four, kernel, stride, pad, kwargs['pool_type'], out_hw,
                                 kwargs.get('count_include_pad', True))
    return y.reshape(y.shape[:2] + y.shape[3:]) if x.ndim == 3 else y


@pytest.mark.parametrize('shape,kwargs', POOL_CASES)
def test_pooling_forward_matches_reference(shape, kwargs, ctx):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    out = mx.nd.Pooling(mx.nd.array(x, ctx=ctx), **kwargs).asnumpy()
    assert_almost_equal(out, _pool_reference(x, kwargs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('shape,kwargs', POOL_CASES)
def test_pooling_numeric_gradient(shape, kwargs, ctx):
    # distinct values spaced well beyond eps, so no finite difference flips a maximum
    size = int(np.prod(shape))
    x = np.random.default_rng(5).permutation(size).reshape(shape) * 0.01
    pool = mx.sym.Pooling(mx.sym.var('data'), name='pool', **kwargs)
    check_numeric_gradient(pool, {'data': x}, ctx=ctx, dtype=np.float64, numeric_eps=1e-4)


# ----------------------------------------------------------------------------------------------
# LeNet, as run by MXNet 1.9.1
# ----------------------------------------------------------------------------------------------
def _relative_error(actual, expected):
    return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30)


def test_lenet_fixture_matches_mxnet(fixtures_dir):
    path = os.path.join(fixtures_dir, 'lenet-symbol.json')
    with open(path) as f:
        text = f.read()
    sym = mx.sym.load(path)
    assert sym.tojson() == text                         # byte for byte, hidden outputs counted
    case = np.load(os.path.join(fixtures_dir, 'lenet-case.npz'), allow_pickle=False)
    args = {k[4:]: mx.nd.array(case[k], dtype=case[k].dtype)
            for k in case.files if k.startswith('arg:')}
    grad_names = [k[5:] for k in case.files if k.startswith('grad:')]
    assert 'conv1_weight' in grad_names and 'softmax_label' not in grad_names
    grads = {k: mx.nd.zeros(args[k].shape) for k in grad_names}
    reqs = {k: 'write' if k in grads else 'null' for k in sym.list_arguments()}
    ex = sym.bind(mx.cpu(), args, args_grad=grads, grad_req=reqs)
    for phase, is_train in (('infer_out', False), ('train_out', True)):
        outputs = ex.forward(is_train=is_train)
        for i, out in enumerate(outputs):
            assert _relative_error(out.asnumpy(), case['%s%d' % (phase, i)]) < 1e-4, phase
    ex.backward()
    for name in grad_names:
        assert _relative_error(grads[name].asnumpy(), case['grad:' + name]) < 1e-4, name
