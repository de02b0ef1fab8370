"""Deconvolution, UpSampling and LRN: shapes and errors as MXNet 1.9.1 gives them, forward
against NumPy references written as plain loops, numeric gradients, and values printed by
MXNet 1.9.1 (its default CPU build, oneDNN included)."""
import json

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.test_utils import check_numeric_gradient, assert_almost_equal


# ----------------------------------------------------------------------------------------------
# NumPy references
# ----------------------------------------------------------------------------------------------
def deconv_reference(x, w, b, stride, pad, dilate, adj, num_group, out_size=None):
    """Scatter every input pixel times the kernel onto the output (2-D, NCHW)."""
    n, c, h, wd = x.shape
    fg, kh, kw = w.shape[1:]
    groups, cg = num_group, c // num_group
    if out_size is None:
        out_size = [stride[i] * (s - 1) + dilate[i] * (k - 1) + 1 - 2 * pad[i] + adj[i]
                    for i, (s, k) in enumerate(((h, kh), (wd, kw)))]
    oh, ow = out_size
    y = np.zeros((n, fg * groups, oh, ow))
    for g in range(groups):
        for ci in range(g * cg, (g + 1) * cg):
            for f in range(fg):
                for i in range(h):
                    for j in range(wd):
                        for a in range(kh):
                            for bb in range(kw):
                                r = i * stride[0] - pad[0] + a * dilate[0]
                                q = j * stride[1] - pad[1] + bb * dilate[1]
                                if 0 <= r < oh and 0 <= q < ow:
                                    y[:, g * fg + f, r, q] += x[:, ci, i, j] * w[ci, f, a, bb]
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def lrn_reference(x, nsize, alpha, beta, knorm):
    half = (nsize - 1) // 2
    channels = x.shape[1]
    out = np.empty_like(x)
    for c in range(channels):
        window = x[:, max(0, c - half):min(channels, c + half + 1)]
        out[:, c] = x[:, c] * (knorm + alpha / nsize * (window ** 2).sum(axis=1)) ** -beta
    return out


# ----------------------------------------------------------------------------------------------
# Deconvolution
# ----------------------------------------------------------------------------------------------
def test_deconvolution_arguments_shapes_and_json():
    data = mx.sym.var('data')
    dc = mx.sym.Deconvolution(data, kernel=(3, 3), num_filter=4, name='dc')
    assert dc.list_arguments() == ['data', 'dc_weight']          # no_bias defaults to True
    assert dc.infer_shape(data=(2, 3, 5, 5)) == ([(2, 3, 5, 5), (3, 4, 3, 3)], [(2, 4, 7, 7)], [])
    with_bias = mx.sym.Deconvolution(data, kernel=(3, 3), num_filter=6, num_group=2,
                                     no_bias=False, name='dc')
    assert with_bias.list_arguments() == ['data', 'dc_weight', 'dc_bias']
    assert with_bias.infer_shape(data=(2, 4, 5, 5))[0] == [(2, 4, 5, 5), (4, 3, 3, 3), (6,)]
    # the JSON written by MXNet 1.9.1 for the same call
    sym = mx.sym.Deconvolution(data, kernel=(3, 3), num_filter=2, adj=(1, 1), stride=(2, 2),
                               target_shape=(3, 3), dilate=(1, 1), workspace=512,
                               cudnn_tune='off', name='dc')
    attrs = {'adj': '(1, 1)', 'cudnn_tune': 'off', 'dilate': '(1, 1)', 'kernel': '(3, 3)',
             'num_filter': '2', 'stride': '(2, 2)', 'target_shape': '(3, 3)',
             'workspace': '512'}
    graph = json.loads(sym.tojson())
    assert graph['nodes'][1] == {'op': 'null', 'name': 'dc_weight', 'attrs': attrs, 'inputs': []}
    assert graph['nodes'][2]['attrs'] == attrs and graph['node_row_ptr'] == [0, 1, 2, 3]


# output shapes printed by MXNet 1.9.1 (data (2, 4, 5, 5) or (2, 4, 5), num_filter=6)
MXNET_SHAPES = [
    (dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1)), (2, 6, 10, 10)),
    (dict(kernel=(3, 2), stride=(2, 3), pad=(1, 0), dilate=(2, 1), adj=(1, 2)), (2, 6, 12, 16)),
    (dict(kernel=(3, 3), stride=(2, 2), target_shape=(10, 10)), (2, 6, 10, 10)),
    (dict(kernel=(3, 3), stride=(2, 2), target_shape=(11, 9)), (2, 6, 11, 9)),
    (dict(kernel=(3, 3), stride=(1, 1), target_shape=(7, 7)), (2, 6, 7, 7)),
    (dict(kernel=(4, 4), stride=(2, 2), pad=(1, 1), target_shape=(10, 10)), (2, 6, 10, 10)),
    (dict(kernel=(3, 3), stride=(2, 2), target_shape=(9, 10), pad=(5, 5), adj=(1, 1)),
     (2, 6, 9, 10)),                                       # pad and adj ignored
    (dict(kernel=(3, 3), pad=(3, 3)), (2, 6, 1, 1)),
    (dict(kernel=(1, 1), stride=(3, 3)), (2, 6, 13, 13)),
    (dict(kernel=(3, 3), num_group=2), (2, 6, 7, 7)),
    (dict(kernel=(3,), stride=(2,), pad=(1,)), (2, 6, 9)),
    (dict(kernel=(3,), stride=(2,), target_shape=(10,)), (2, 6, 10)),
]


@pytest.mark.parametrize('kwargs,expected', MXNET_SHAPES, ids=[str(k) for k, _ in MXNET_SHAPES])
def test_deconvolution_output_shapes_match_mxnet(kwargs, expected):
    data = (2, 4, 5) if len(kwargs['kernel']) == 1 else (2, 4, 5, 5)
    sym = mx.sym.Deconvolution(mx.sym.var('data'), num_filter=6, **kwargs)
    assert sym.infer_shape(data=data)[1] == [expected]


def test_deconvolution_partial_shapes():
    sym = mx.sym.Deconvolution(mx.sym.var('data'), kernel=(3, 3), num_filter=6, name='dc')
    # MXNet 1.9.1: ([(0, 4, 5, 0), (4, 6, 3, 3)], [(0, 6, 7, 0)], [])
    assert sym.infer_shape_partial(data=(0, 4, 5, 0)) == (
        [(0, 4, 5, 0), (4, 6, 3, 3)], [(0, 6, 7, 0)], [])


@pytest.mark.parametrize('kwargs,shape,message', [
    (dict(kernel=(3, 3), num_filter=6, num_group=3), (1, 4, 5, 5), 'num_group=3 does not divide'),
    (dict(kernel=(3, 3), num_filter=6, num_group=4), (1, 4, 5, 5), 'multiple of num_group'),
    (dict(kernel=(3, 3), num_filter=6, stride=(2, 2), adj=(2, 2)), (1, 4, 5, 5),
     r'adj=\(2, 2\) must be smaller than stride'),
    (dict(kernel=(3, 3), num_filter=6, target_shape=(6, 6)), (1, 4, 5, 5),
     'needs adj=1 along axis 2'),
    (dict(kernel=(3, 3), num_filter=6, target_shape=(8, 8)), (1, 4, 5, 5), 'too big'),
    (dict(kernel=(3, 3), num_filter=6, stride=(2, 2), target_shape=(0, 10)), (1, 4, 5, 5),
     'all positive'),
    (dict(kernel=(3, 3), num_filter=6, pad=(4, 4)), (1, 4, 5, 5), 'not positive'),
    (dict(kernel=(3, 3), num_filter=6), (1, 4, 5), 'NCHW'),
    (dict(kernel=(3, 3), num_filter=6, pad=(1,)), (1, 4, 5, 5), 'pad=.* must have 2'),
    (dict(kernel=(3, 3), num_filter=6), (1, 4, 5, 5, 5), '4 dimensions'),
])
def test_deconvolution_errors_name_the_problem(kwargs, shape, message):
    with pytest.raises(MXNetError, match=message) as info:
        mx.sym.Deconvolution(mx.sym.var('data'), name='bad', **kwargs).infer_shape(data=shape)
    assert "Deconvolution 'bad'" in str(info.value)


def test_deconvolution_unsupported_configurations_are_refused():
    with pytest.raises(NotImplementedError, match='layout NCHW'):
        mx.sym.Deconvolution(mx.sym.var('data'), kernel=(3, 3), num_filter=1, layout='NHWC')
    with pytest.raises(NotImplementedError, match='1-D and 2-D'):
        mx.sym.Deconvolution(mx.sym.var('data'), kernel=(3, 3, 3), num_filter=1)
    with pytest.raises(MXNetError, match='num_filter'):
        mx.sym.Deconvolution(mx.sym.var('data'), kernel=(3, 3))
    with pytest.raises(MXNetError, match='float16'):
        mx.nd.Deconvolution(mx.nd.ones((1, 1, 2, 2), dtype=np.float16),
                            mx.nd.ones((1, 1, 2, 2), dtype=np.float16), kernel=(2, 2),
                            num_filter=1)


DECONV_CASES = [  # data shape, kwargs
    ((2, 3, 4, 5), dict(kernel=(3, 3), num_filter=4)),
    ((2, 4, 3, 4), dict(kernel=(3, 2), num_filter=6, stride=(2, 3), pad=(1, 0), dilate=(2, 1),
                        adj=(1, 2), num_group=2, no_bias=False)),
    ((1, 3, 5, 3), dict(kernel=(4, 4), num_filter=3, stride=(2, 2), pad=(1, 1), num_group=3,
                        no_bias=False)),
    ((2, 2, 3, 3), dict(kernel=(3, 3), num_filter=2, stride=(2, 2), target_shape=(6, 5))),
    ((2, 2, 3, 2), dict(kernel=(3, 3), num_filter=2, stride=(3, 2), dilate=(1, 2),
                        target_shape=(8, 4), no_bias=False)),
    ((1, 1, 1, 1), dict(kernel=(1, 1), num_filter=1)),
    ((1, 1, 1, 1), dict(kernel=(3, 2), num_filter=2, stride=(3, 3))),
    ((2, 3, 5, 5), dict(kernel=(3, 3), num_filter=1, pad=(2, 2))),
    ((3, 2, 7), dict(kernel=(3,), num_filter=5, stride=(2,), pad=(1,), adj=(1,), no_bias=False)),
    ((2, 2, 5), dict(kernel=(2,), num_filter=3, stride=(2,), dilate=(3,), target_shape=(12,))),
]


def _deconv_reference_for(kwargs, values, out_shape):
    one_d = len(kwargs['kernel']) == 1
    lift = lambda a: a[:, :, None, :] if one_d else a
    pair = lambda key, fill: (((fill,) if one_d else ()) +
                              tuple(kwargs.get(key, (fill,) * len(kwargs['kernel']))))
    if one_d:
        lift_w = values[1][:, :, None, :]
    else:
        lift_w = values[1]
    stride, pad, dilate, adj = pair('stride', 1), pair('pad', 0), pair('dilate', 1), pair('adj', 0)
    if 'target_shape' in kwargs:        # MXNet's rule: pad = ceil(excess / 2), the rest at the end
        sizes = lift(values[0]).shape[2:]
        ks = lift_w.shape[2:]
        pad = tuple((stride[i] * (sizes[i] - 1) + dilate[i] * (ks[i] - 1) + 1
                     - (((1,) if one_d else ()) + tuple(out_shape[2:]))[i] + 1) // 2
                    for i in range(2))
    bias = values[2] if len(values) > 2 else None
    expected = deconv_reference(lift(values[0]), lift_w, bias, stride, pad, dilate, adj,
                                kwargs.get('num_group', 1),
                                out_size=((1,) if one_d else ()) + tuple(out_shape[2:])
                                if 'target_shape' in kwargs else None)
    return expected.reshape(out_shape)


@pytest.mark.parametrize('shape,kwargs', DECONV_CASES, ids=[str(c) for c in DECONV_CASES])
def test_deconvolution_forward_matches_reference(shape, kwargs, ctx):
    rng = np.random.default_rng(1)
    sym = mx.sym.Deconvolution(mx.sym.var('data'), name='dc', **kwargs)
    arg_shapes, (out_shape,), _ = sym.infer_shape(data=shape)
    values = [rng.standard_normal(s) for s in arg_shapes]
    for dtype in (np.float32, np.float64):
        out = sym.bind(ctx, [mx.nd.array(v, ctx=ctx, dtype=dtype) for v in values]).forward()[0]
        assert out.dtype == dtype
        expected = _deconv_reference_for(kwargs, values, out_shape)
        assert_almost_equal(out.asnumpy(), expected, rtol=1e-4, atol=1e-4)


def test_target_shape_padding_matches_an_explicit_pad_and_adj(ctx):
    """target_shape (11, 9) from (5, 5) with kernel 3, stride 2: the excess 0 and 2 give
    pad (0, 1), adj (0, 0); MXNet's oneDNN build cannot run this layer, its own kernels can."""
    rng = np.random.default_rng(4)
    x = mx.nd.array(rng.standard_normal((1, 2, 5, 5)), ctx=ctx)
    w = mx.nd.array(rng.standard_normal((2, 3, 3, 3)), ctx=ctx)
    common = dict(kernel=(3, 3), stride=(2, 2), num_filter=3)
    by_target = mx.nd.Deconvolution(x, w, target_shape=(11, 9), **common)
    explicit = mx.nd.Deconvolution(x, w, pad=(0, 1), **common)
    assert by_target.shape == (1, 3, 11, 9)
    assert_almost_equal(by_target, explicit)


@pytest.mark.parametrize('shape,kwargs', DECONV_CASES, ids=[str(c) for c in DECONV_CASES])
def test_deconvolution_numeric_gradient(shape, kwargs, ctx):
    rng = np.random.default_rng(2)
    sym = mx.sym.Deconvolution(mx.sym.var('data'), name='dc', **kwargs)
    arg_shapes = sym.infer_shape(data=shape)[0]
    location = {name: rng.standard_normal(s)
                for name, s in zip(sym.list_arguments(), arg_shapes)}
    check_numeric_gradient(sym, location, ctx=ctx, dtype=np.float64, numeric_eps=1e-6)


def test_deconvolution_gradient_accumulates_with_add(ctx):
    rng = np.random.default_rng(3)
    sym = mx.sym.Deconvolution(mx.sym.var('data'), kernel=(2, 2), stride=(2, 2), num_filter=2,
                               no_bias=False, name='d')
    shapes, (out_shape,), _ = sym.infer_shape(data=(2, 3, 3, 3))
    args = [mx.nd.array(rng.standard_normal(s), ctx=ctx) for s in shapes]
    grads = [mx.nd.ones(s, ctx=ctx) for s in shapes]
    ex = sym.bind(ctx, args, args_grad=grads, grad_req='add')
    head = mx.nd.array(rng.standard_normal(out_shape), ctx=ctx)
    ex.forward(is_train=True)
    ex.backward([head])
    once = [g.asnumpy() - 1 for g in grads]
    ex.forward(is_train=True)
    ex.backward([head])
    for g, first in zip(grads, once):
        assert_almost_equal(g.asnumpy(), 1 + 2 * first, rtol=1e-4, atol=1e-5)
    null = sym.bind(ctx, args, args_grad=[mx.nd.ones(s, ctx=ctx) for s in shapes],
                    grad_req={'data': 'null', 'd_weight': 'write', 'd_bias': 'write'})
    null.forward(is_train=True)
    null.backward([head])
    assert (null.grad_dict['data'].asnumpy() == 1).all()
    assert_almost_equal(null.grad_dict['d_weight'], once[1], rtol=1e-4, atol=1e-5)


def test_deconvolution_matches_mxnet(ctx):
    x = mx.sym.var('x')
    sym = mx.sym.Deconvolution(x, mx.sym.var('w'), mx.sym.var('b'), kernel=(3, 2),
                               stride=(2, 1), pad=(1, 0), adj=(1, 0), num_filter=1,
                               no_bias=False)
    args = {'x': mx.nd.array(np.arange(6).reshape(1, 2, 1, 3) / 10., ctx=ctx),
            'w': mx.nd.array(np.arange(12).reshape(2, 1, 3, 2) / 10. - 0.5, ctx=ctx),
            'b': mx.nd.array([0.5], ctx=ctx)}
    grads = {k: mx.nd.zeros(v.shape, ctx=ctx) for k, v in args.items()}
    ex = sym.bind(ctx, args, args_grad=grads)
    out = ex.forward(is_train=True)[0]
    ex.backward([mx.nd.array(np.arange(8).reshape(1, 1, 2, 4) / 10., ctx=ctx)])
    # printed by MXNet 1.9.1 for the same inputs
    assert_almost_equal(out, np.array([[[[0.59, 0.71, 0.73, 0.66], [0.65, 0.87, 0.97, 0.8]]]]),
                        atol=1e-6)
    assert_almost_equal(grads['x'], np.array([[[[-0.06, -0.12, -0.18]],
                                               [[0.54, 0.72, 0.9]]]]), atol=1e-6)
    assert_almost_equal(grads['w'], np.array([[[[0, 0], [0.05, 0.08], [0.17, 0.2]]],
                                              [[[0, 0], [0.14, 0.26], [0.62, 0.74]]]]),
                        atol=1e-6)
    assert_almost_equal(grads['b'], np.array([2.8]), atol=1e-6)


def test_deconvolution_is_the_gradient_of_convolution(ctx):
    """<deconv(x, w), y> = <x, conv(y, w)> for the same geometry."""
    rng = np.random.default_rng(5)
    geometry = dict(kernel=(3, 2), stride=(2, 2), pad=(1, 0), dilate=(1, 2))
    x = rng.standard_normal((2, 4, 3, 4))
    w = rng.standard_normal((4, 3, 3, 2))
    y = mx.nd.Deconvolution(mx.nd.array(x, ctx=ctx), mx.nd.array(w, ctx=ctx), num_filter=3,
                            **geometry).asnumpy()
    g = rng.standard_normal(y.shape)
    conv = mx.nd.Convolution(mx.nd.array(g, ctx=ctx), mx.nd.array(w, ctx=ctx), num_filter=4,
                             no_bias=True, **geometry).asnumpy()
    assert conv.shape == x.shape
    assert np.isclose((y * g).sum(), (x * conv).sum(), rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# UpSampling
# ----------------------------------------------------------------------------------------------
def nearest_reference(inputs, scale, mode):
    oh = inputs[0].shape[2] * scale
    ups = [np.repeat(np.repeat(x, oh // x.shape[2], axis=2), oh // x.shape[2], axis=3)
           for x in inputs]
    return sum(ups) if mode == 'sum' else np.concatenate(ups, axis=1)


def test_upsampling_arguments_and_json_match_mxnet():
    up = mx.sym.UpSampling(mx.sym.var('a'), scale=2, sample_type='nearest', name='up')
    assert up.list_arguments() == ['a'] and up.list_outputs() == ['up_output']
    assert up.infer_shape(a=(1, 2, 3, 4))[1] == [(1, 2, 6, 8)]
    # attributes and argument names as MXNet 1.9.1 writes them
    assert json.loads(up.tojson())['nodes'][-1]['attrs'] == {
        'num_args': '1', 'sample_type': 'nearest', 'scale': '2'}
    two = mx.sym.UpSampling(scale=2, sample_type='nearest', num_args=2, name='u')
    assert two.list_arguments() == ['u_arg0', 'u_arg1']
    bilinear = mx.sym.UpSampling(mx.sym.var('x'), scale=2, sample_type='bilinear',
                                 num_filter=3, name='bl')
    assert bilinear.list_arguments() == ['x', 'bl_weight']
    assert bilinear.infer_shape(x=(1, 3, 4, 4)) == ([(1, 3, 4, 4), (3, 1, 4, 4)],
                                                    [(1, 3, 8, 8)], [])
    nodes = json.loads(bilinear.tojson())['nodes']
    assert nodes[1] == {'op': 'null', 'name': 'bl_weight', 'inputs': [], 'attrs': {
        '__init__': '["bilinear", {}]', 'num_args': '1', 'num_filter': '3',
        'sample_type': 'bilinear', 'scale': '2'}}


# output shapes printed by MXNet 1.9.1
@pytest.mark.parametrize('shapes,mode,expected', [
    ([(1, 2, 3, 4), (1, 3, 3, 4)], 'concat', (1, 5, 6, 8)),
    ([(1, 2, 4, 4), (1, 3, 2, 2)], 'concat', (1, 5, 8, 8)),
    ([(1, 2, 2, 2), (1, 3, 4, 4)], 'concat', (1, 5, 4, 4)),
    ([(1, 2, 6, 6), (1, 3, 4, 4)], 'concat', (1, 5, 12, 12)),
    ([(1, 2, 4, 4), (1, 2, 8, 8)], 'sum', (1, 2, 8, 8)),
])
def test_upsampling_shapes_match_mxnet(shapes, mode, expected):
    names = ['a', 'b']
    sym = mx.sym.UpSampling(*[mx.sym.var(n) for n in names], scale=2, sample_type='nearest',
                            multi_input_mode=mode)
    assert sym.infer_shape(**dict(zip(names, shapes)))[1] == [expected]


@pytest.mark.parametrize('shapes,kwargs,message', [
    ([(1, 2, 3, 4), (1, 3, 3, 4)], dict(multi_input_mode='sum'), 'one channel count'),
    ([(1, 2, 4, 6), (1, 3, 2, 2)], {}, 'one whole factor'),    # MXNet 1.9.1 fails at run time
    ([(1, 2, 4, 4), (1, 3, 3, 3)], {}, 'one whole factor'),
    ([(2, 2, 4, 4), (1, 2, 4, 4)], {}, 'batch size'),           # MXNet 1.9.1 fails at run time
    ([(1, 2, 4)], {}, 'NCHW'),
])
def test_upsampling_errors_name_the_problem(shapes, kwargs, message):
    names = ['a', 'b'][:len(shapes)]
    sym = mx.sym.UpSampling(*[mx.sym.var(n) for n in names], scale=2, sample_type='nearest',
                            name='up', **kwargs)
    with pytest.raises(MXNetError, match=message) as info:
        sym.infer_shape(**dict(zip(names, shapes)))
    assert "UpSampling 'up'" in str(info.value)


def test_upsampling_parameter_errors():
    x = mx.nd.ones((1, 1, 2, 3))
    with pytest.raises(MXNetError, match='sample_type'):
        mx.nd.UpSampling(x, scale=2)
    with pytest.raises(MXNetError, match='scale must be at least 1, got 0'):
        mx.nd.UpSampling(x, scale=0, sample_type='nearest')
    with pytest.raises(MXNetError, match='floating-point data, got int32'):
        mx.nd.UpSampling(mx.nd.ones((1, 1, 2, 2), dtype='int32'), scale=2, sample_type='nearest')
    with pytest.raises(MXNetError, match='num_filter equal to the channels'):
        mx.nd.UpSampling(mx.nd.ones((1, 2, 2, 2)), mx.nd.ones((2, 1, 4, 4)), scale=2,
                         sample_type='bilinear', num_filter=3)
    with pytest.raises(MXNetError, match='needs num_filter'):
        mx.sym.UpSampling(mx.sym.var('x'), scale=2, sample_type='bilinear')
    with pytest.raises(MXNetError, match="multi_input_mode='sum' is for nearest"):
        mx.sym.UpSampling(mx.sym.var('x'), scale=2, sample_type='bilinear', num_filter=1,
                          multi_input_mode='sum')


NEAREST_CASES = [  # input shapes, scale, mode
    ([(2, 3, 3, 5)], 2, 'concat'),
    ([(1, 1, 1, 1)], 3, 'concat'),
    ([(2, 2, 3, 1)], 1, 'concat'),
    ([(2, 2, 2, 4), (2, 3, 1, 2), (2, 1, 4, 8)], 2, 'concat'),
    ([(2, 2, 2, 4), (2, 2, 1, 2), (2, 2, 4, 8)], 2, 'sum'),
    ([(1, 3, 1, 2), (1, 3, 1, 2)], 3, 'sum'),
]


@pytest.mark.parametrize('shapes,scale,mode', NEAREST_CASES, ids=[str(c) for c in NEAREST_CASES])
def test_nearest_upsampling_forward_and_gradient(shapes, scale, mode, ctx):
    rng = np.random.default_rng(6)
    names = ['x%d' % i for i in range(len(shapes))]
    sym = mx.sym.UpSampling(*[mx.sym.var(n) for n in names], scale=scale,
                            sample_type='nearest', multi_input_mode=mode)
    values = [rng.standard_normal(s) for s in shapes]
    for dtype in (np.float32, np.float64):
        out = sym.bind(ctx, [mx.nd.array(v, ctx=ctx, dtype=dtype) for v in values]).forward()[0]
        assert out.dtype == dtype
        assert_almost_equal(out.asnumpy(), nearest_reference(values, scale, mode), atol=1e-6)
    check_numeric_gradient(sym, dict(zip(names, values)), ctx=ctx, dtype=np.float64)


@pytest.mark.parametrize('mode,grads', [
    ('concat', ([10, 18, 42, 50, 74, 82, 106, 114], [632, 888])),
    ('sum', ([10, 18, 42, 50, 74, 82, 106, 114], [120, 376])),
])
def test_nearest_upsampling_matches_mxnet(mode, grads, ctx):
    sym = mx.sym.UpSampling(mx.sym.var('x'), mx.sym.var('y'), scale=2, sample_type='nearest',
                            multi_input_mode=mode)
    args = {'x': mx.nd.array(np.arange(8).reshape(1, 2, 2, 2), ctx=ctx),
            'y': mx.nd.array(np.array([10, 20]).reshape(1, 2, 1, 1), ctx=ctx)}
    arg_grads = {k: mx.nd.zeros(v.shape, ctx=ctx) for k, v in args.items()}
    ex = sym.bind(ctx, args, args_grad=arg_grads)
    out = ex.forward(is_train=True)[0]
    ex.backward([mx.nd.array(np.arange(out.size).reshape(out.shape), ctx=ctx)])
    # printed by MXNet 1.9.1: the block sums of the head gradient arange(out.size)
    assert_almost_equal(arg_grads['x'].asnumpy().ravel(), np.array(grads[0], np.float32))
    assert_almost_equal(arg_grads['y'].asnumpy().ravel(), np.array(grads[1], np.float32))
    block = np.repeat(np.repeat(np.arange(8.).reshape(1, 2, 2, 2), 2, axis=2), 2, axis=3)
    expected = (np.concatenate([block, np.full((1, 2, 4, 4), 10.) * [[[[1]], [[2]]]]], axis=1)
                if mode == 'concat' else block + np.array([10., 20.]).reshape(1, 2, 1, 1))
    assert_almost_equal(out, expected)


def test_bilinear_upsampling_matches_mxnet(ctx):
    x = mx.nd.ones((1, 1, 3, 3), ctx=ctx)
    out = mx.nd.UpSampling(x, mx.nd.ones((1, 1, 4, 4), ctx=ctx), scale=2,
                           sample_type='bilinear', num_filter=1)
    # MXNet 1.9.1 (the example of its documentation)
    assert_almost_equal(out, np.array([[1, 2, 2, 2, 2, 1]] + [[2, 4, 4, 4, 4, 2]] * 4
                                      + [[1, 2, 2, 2, 2, 1]], np.float32).reshape(1, 1, 6, 6))


def test_bilinear_upsampling_module_initialises_the_kernel_as_mxnet():
    """Xavier initialises every weight but the one the operator marks ``bilinear``."""
    sym = mx.sym.UpSampling(mx.sym.var('x'), scale=2, sample_type='bilinear', num_filter=1,
                            name='up')
    mod = mx.mod.Module(sym, data_names=['x'], label_names=None)
    mod.bind(data_shapes=[('x', (1, 1, 2, 3))])
    mod.init_params(mx.init.Xavier())
    # printed by MXNet 1.9.1 for this script
    corner, edge, mid = 0.0625, 0.1875, 0.5625
    assert_almost_equal(mod.get_params()[0]['up_weight'].asnumpy().ravel(),
                        np.array([corner, edge, edge, corner, edge, mid, mid, edge,
                                  edge, mid, mid, edge, corner, edge, edge, corner]))
    mod.forward(mx.io.DataBatch([mx.nd.array(np.arange(6).reshape(1, 1, 2, 3))]),
                is_train=False)
    assert_almost_equal(mod.get_outputs()[0], np.array(
        [[[[0., 0.1875, 0.5625, 0.9375, 1.3125, 1.125],
           [0.5625, 1., 1.5, 2., 2.5, 2.0625],
           [1.6875, 2.5, 3., 3.5, 4., 3.1875],
           [1.6875, 2.4375, 2.8125, 3.1875, 3.5625, 2.8125]]]]), atol=1e-6)


@pytest.mark.parametrize('scale', [1, 2, 3, 4])
def test_bilinear_upsampling_is_a_grouped_deconvolution(scale, ctx):
    rng = np.random.default_rng(7)
    kernel = 2 * scale - scale % 2
    x = rng.standard_normal((2, 3, 3, 2))
    w = rng.standard_normal((3, 1, kernel, kernel))
    up = mx.sym.UpSampling(mx.sym.var('data'), mx.sym.var('w'), scale=scale,
                           sample_type='bilinear', num_filter=3)
    assert up.infer_shape(data=x.shape)[1] == [(2, 3, 3 * scale, 2 * scale)]
    out = up.bind(ctx, {'data': mx.nd.array(x, ctx=ctx), 'w': mx.nd.array(w, ctx=ctx)}).forward()[0]
    expected = deconv_reference(x, w, None, (scale, scale), (scale // 2,) * 2, (1, 1), (0, 0), 3)
    assert_almost_equal(out.asnumpy(), expected, rtol=1e-4, atol=1e-5)
    check_numeric_gradient(up, {'data': x, 'w': w}, ctx=ctx, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# LRN
# ----------------------------------------------------------------------------------------------
def test_lrn_outputs_and_json_match_mxnet():
    lrn = mx.sym.LRN(mx.sym.var('x'), nsize=3, name='lrn')
    assert lrn.list_arguments() == ['x'] and lrn.list_outputs() == ['lrn_output']
    assert lrn.infer_shape(x=(2, 5, 3, 3)) == ([(2, 5, 3, 3)], [(2, 5, 3, 3)], [])
    graph = json.loads(lrn.tojson())
    # MXNet 1.9.1 counts the hidden tmp_norm output: node_row_ptr [0, 1, 3]
    assert graph['nodes'][1] == {'op': 'LRN', 'name': 'lrn', 'attrs': {'nsize': '3'},
                                 'inputs': [[0, 0, 0]]}
    assert graph['node_row_ptr'] == [0, 1, 3]


# printed by MXNet 1.9.1: LRN of [10, 20, 30, 40, 50] along the channels, alpha=0.1
LRN_MXNET = {
    2: [2.3236809, 1.9688516, 1.6712748, 1.4679105, 1.3216523],
    3: [1.1135249, 1.0854411, 0.95828223, 0.8546495, 1.2373453],
    4: [1.3457798, 1.3331491, 1.1830527, 1.0573218, 1.5297934],
    5: [0.7801158, 0.9051827, 0.8713803, 1.177648, 1.5578294],
    7: [0.5769342, 0.7436938, 1.1155407, 1.4873877, 1.8843485],
}


@pytest.mark.parametrize('nsize', sorted(LRN_MXNET))
def test_lrn_matches_mxnet(nsize, ctx):
    x = mx.nd.array(np.array([10., 20, 30, 40, 50]).reshape(1, 5, 1, 1), ctx=ctx)
    out = mx.nd.LRN(x, nsize=nsize, alpha=0.1, beta=0.75, knorm=2)
    assert_almost_equal(out.asnumpy().ravel(), np.array(LRN_MXNET[nsize]), rtol=1e-5)


def test_lrn_defaults_and_gradient_match_mxnet(ctx):
    # MXNet 1.9.1: LRN(ones((1, 4, 1, 1)), nsize=3) with alpha 1e-4, beta 0.75, knorm 2
    assert_almost_equal(mx.nd.LRN(mx.nd.ones((1, 4, 1, 1), ctx=ctx), nsize=3).asnumpy().ravel(),
                        np.array([0.59458864, 0.59458125, 0.59458125, 0.59458864]), rtol=1e-6)
    x = mx.nd.array((np.arange(1., 6.) / 2 - 1).reshape(1, 5, 1, 1), ctx=ctx)
    grad = mx.nd.zeros((1, 5, 1, 1), ctx=ctx)
    ex = mx.sym.LRN(mx.sym.var('x'), nsize=3, alpha=0.5, beta=0.75, knorm=1.).bind(
        ctx, {'x': x}, args_grad={'x': grad})
    out = ex.forward(is_train=True)[0]
    ex.backward([mx.nd.array(np.array([1., -1, 2, 0.5, -0.5]).reshape(1, 5, 1, 1), ctx=ctx)])
    # printed by MXNet 1.9.1 for the same inputs
    assert_almost_equal(out.asnumpy().ravel(),
                        np.array([-0.4849238, 0., 0.4338403, 0.7084689, 1.0841725]), rtol=1e-5)
    assert_almost_equal(grad.asnumpy().ravel(),
                        np.array([0.9116566, -0.9417344, 1.6176354, 0.2066884, -0.3134297]),
                        rtol=1e-5)


LRN_CASES = [  # shape, kwargs
    ((2, 5, 3, 3), dict(nsize=3)),
    ((2, 7, 2, 3), dict(nsize=5, alpha=0.5, beta=0.6, knorm=1.5)),
    ((2, 6, 3, 1), dict(nsize=4, alpha=0.3, beta=0.9, knorm=1)),
    ((1, 1, 2, 2), dict(nsize=1, alpha=2.0)),
    ((3, 4), dict(nsize=3, alpha=0.2)),
    ((2, 3, 2, 2), dict(nsize=7, alpha=0.4, beta=1.5, knorm=0.5)),
    ((1, 5, 2, 3, 2), dict(nsize=3, alpha=1.0)),
]


@pytest.mark.parametrize('shape,kwargs', LRN_CASES, ids=[str(c) for c in LRN_CASES])
def test_lrn_forward_and_numeric_gradient(shape, kwargs, ctx):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape)
    full = dict(alpha=1e-4, beta=0.75, knorm=2.0)
    full.update(kwargs)
    for dtype in (np.float32, np.float64):
        out = mx.nd.LRN(mx.nd.array(x, ctx=ctx, dtype=dtype), **kwargs)
        assert out.dtype == dtype
        assert_almost_equal(out.asnumpy(), lrn_reference(x, **full), rtol=1e-5, atol=1e-6)
    check_numeric_gradient(mx.sym.LRN(mx.sym.var('x'), **kwargs), {'x': x}, ctx=ctx,
                           dtype=np.float64)


def test_lrn_errors_name_the_problem():
    with pytest.raises(MXNetError, match="LRN 'bad': nsize must be at least 1, got 0"):
        mx.sym.LRN(mx.sym.var('x'), nsize=0, name='bad')
    with pytest.raises(MXNetError, match='nsize'):
        mx.sym.LRN(mx.sym.var('x'))
    with pytest.raises(MXNetError, match=r'at least 2 dimensions\), got shape \(5,\)'):
        mx.sym.LRN(mx.sym.var('x'), nsize=3).infer_shape(x=(5,))
    with pytest.raises(MXNetError, match='float32 and float64 data, got float16'):
        mx.nd.LRN(mx.nd.ones((1, 3, 2, 2), dtype='float16'), nsize=3)
