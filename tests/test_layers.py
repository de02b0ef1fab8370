"""Pad, Crop, InstanceNorm, L2Normalization and SVMOutput: NumPy oracles on awkward shapes,
gradients, and values and errors observed from MXNet 1.9.1.

The forward / numeric-gradient / CPU-vs-GPU runs of Pad and L2Normalization are in the case
table of test_operator.py; Crop and InstanceNorm, which MXNet computes in float32 only, are
checked here in float32 (and in test_gpu_backend.py's CONV_POOL_SYMBOLS), SVMOutput with the
loss layers.
"""
import json

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetValueError, MXNetTypeError
from mxref.test_utils import check_numeric_gradient, assert_almost_equal


def _grads(ctx, build, arrays, head=None, grad_req='write', init=None):
    """(outputs, {name: gradient}) of ``build(*variables)`` at ``arrays`` (float32)."""
    names = ['a%d' % i for i in range(len(arrays))]
    sym = build(*[mx.sym.Variable(n) for n in names])
    args = {n: mx.nd.array(a, ctx) for n, a in zip(names, arrays)}
    grads = {n: mx.nd.array(init if init is not None else np.zeros(np.shape(a)), ctx)
             for n, a in zip(names, arrays)}
    ex = sym.bind(ctx, args, args_grad=grads, grad_req=grad_req)
    out = ex.forward(is_train=True)[0].asnumpy()
    ex.backward(mx.nd.array(head, ctx) if head is not None else None)
    return out, {n: g.asnumpy() for n, g in grads.items()}


# ----------------------------------------------------------------------------------------------
# Pad
# ----------------------------------------------------------------------------------------------
def _np_pad(x, pad_width, mode, value=0.0):
    pw = [tuple(pad_width[2 * i:2 * i + 2]) for i in range(x.ndim)]
    if mode == 'constant':
        return np.pad(x, pw, mode='constant', constant_values=value)
    return np.pad(x, pw, mode=mode)


PAD_SHAPES = [((1, 3, 1, 5), (0, 0, 0, 0, 0, 0, 2, 3)),
              ((2, 1, 3, 7), (0, 0, 0, 0, 2, 1, 6, 5)),
              ((1, 2, 3, 2, 5), (0, 0, 0, 0, 2, 1, 0, 1, 4, 3)),
              ((2, 1, 1, 1, 1), (0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]


@pytest.mark.parametrize('shape,pad_width', PAD_SHAPES)
@pytest.mark.parametrize('mode', ['constant', 'edge', 'reflect'])
def test_pad_matches_numpy_pad(ctx, shape, pad_width, mode):
    x = np.random.uniform(-1, 1, shape).astype(np.float32)
    y = mx.nd.Pad(mx.nd.array(x, ctx), mode=mode, pad_width=pad_width, constant_value=-0.5)
    assert_almost_equal(y, _np_pad(x, pad_width, mode, -0.5), rtol=0, atol=0)


@pytest.mark.parametrize('shape,pad_width', PAD_SHAPES[:3])
@pytest.mark.parametrize('mode', ['constant', 'edge', 'reflect'])
@pytest.mark.parametrize('req', ['write', 'add'])
def test_pad_gradient_is_the_transpose_of_the_gather(ctx, shape, pad_width, mode, req):
    x = np.random.uniform(-1, 1, shape)
    y = _np_pad(x, pad_width, mode)
    head = np.random.uniform(-1, 1, y.shape)
    # the Jacobian, column by column: the padding of a unit vector
    expected = np.array([np.sum(_np_pad(e.reshape(shape), pad_width, mode) * head)
                         for e in np.eye(x.size)]).reshape(shape)
    _, grads = _grads(ctx, lambda d: mx.sym.Pad(d, mode=mode, pad_width=pad_width), [x], head,
                      grad_req=req, init=np.full(shape, 0.5) if req == 'add' else None)
    assert_almost_equal(grads['a0'], expected + (0.5 if req == 'add' else 0), rtol=1e-5,
                        atol=1e-5)


def test_pad_values_and_gradients_from_mxnet(ctx):
    # observed from MXNet 1.9.1: x = arange(12).reshape(1, 1, 3, 4) * 0.5 - 2,
    # pad_width (0, 0, 0, 0, 2, 1, 1, 3), head gradient arange(48) % 7 - 3
    x = (np.arange(12).reshape(1, 1, 3, 4) * 0.5 - 2)
    head = (np.arange(48) % 7 - 3).reshape(1, 1, 6, 8)
    mxnet = {
        'constant': ([[0.25] * 8] * 2,
                     [0, 1, 2, 3, 1, 2, 3, -3, 2, 3, -3, -2]),
        'edge': ([[-2.0, -2.0, -1.5, -1.0, -0.5, -0.5, -0.5, -0.5]] * 2,
                 [-9, 0, 3, 0, 1, 2, 3, -6, 8, 0, -5, 0]),
        'reflect': ([[2.5, 2.0, 2.5, 3.0, 3.5, 3.0, 2.5, 2.0],
                     [0.5, 0.0, 0.5, 1.0, 1.5, 1.0, 0.5, 0.0]],
                    [-1, -2, -1, 3, 3, -4, 3, -2, -2, 3, -2, -1]),
    }
    for mode, (rows, grad) in mxnet.items():
        out, grads = _grads(ctx, lambda d: mx.sym.Pad(d, mode=mode, pad_width=(0, 0, 0, 0, 2, 1,
                                                                              1, 3),
                                                      constant_value=0.25), [x], head)
        assert out.shape == (1, 1, 6, 8)
        assert_almost_equal(out[0, 0, :2], np.array(rows), rtol=0, atol=0)
        assert_almost_equal(grads['a0'].ravel(), np.array(grad, dtype=np.float32), rtol=0,
                            atol=0)


def test_pad_negative_widths_crop_as_in_mxnet(ctx):
    # observed from MXNet 1.9.1 on x = arange(12).reshape(2, 1, 2, 3), first sample
    x = mx.nd.array(np.arange(12).reshape(2, 1, 2, 3), ctx)
    pw = (0, 0, 0, 0, -1, 2, 2, 1)
    assert mx.nd.Pad(x, mode='constant', pad_width=pw)[0, 0].asnumpy().tolist() == \
        [[0, 0, 3, 4, 5, 0], [0] * 6, [0] * 6]
    assert mx.nd.Pad(x, mode='edge', pad_width=pw)[0, 0].asnumpy().tolist() == \
        [[3, 3, 3, 4, 5, 5]] * 3
    for mode in ('constant', 'edge', 'reflect'):
        assert mx.nd.Pad(x, mode=mode, pad_width=(0, 0, 0, 0, 0, 0, -1, -1))[0, 0] \
            .asnumpy().ravel().tolist() == [1, 4]


def test_pad_symbol_json_shapes_alias_and_types():
    s = mx.sym.Pad(mx.sym.Variable('d'), mode='edge', pad_width=(0, 0, 0, 0, 1, 2, 2, 1),
                   name='p')
    node = json.loads(s.tojson())['nodes'][1]
    # as MXNet 1.9.1 writes it (constant_value left out when not given)
    assert node == {'op': 'Pad', 'name': 'p', 'inputs': [[0, 0, 0]],
                    'attrs': {'mode': 'edge', 'pad_width': '(0, 0, 0, 0, 1, 2, 2, 1)'}}
    assert s.list_outputs() == ['p_output']
    assert s.infer_shape(d=(2, 1, 2, 3))[1] == [(2, 1, 5, 6)]
    assert s.infer_shape_partial(d=(0, 1, 2, 3))[1] == [(0, 1, 5, 6)]
    alias = mx.sym.pad(mx.sym.Variable('d'), mode='constant', pad_width=(0,) * 8)
    assert json.loads(alias.tojson())['nodes'][1]['op'] == 'Pad'
    y = mx.nd.Pad(mx.nd.ones((1, 1, 2, 2), dtype='float16'), mode='constant',
                  pad_width=(0, 0, 0, 0, 1, 0, 0, 1), constant_value=1.5)
    assert y.dtype == np.float16 and y.asnumpy()[0, 0, 0, 0] == 1.5


@pytest.mark.parametrize('shape,kw,message', [
    # MXNet 1.9.1: "Current implementation only supports 4-D or 5-D input."
    ((2, 3), dict(mode='constant', pad_width=(0, 0, 1, 1)), 'data must have 4 or 5 dim'),
    ((1, 2, 3, 4, 5, 6), dict(mode='constant', pad_width=(0,) * 8 + (1,) * 4),
     'data must have 4 or 5 dim'),
    # "Input shape vs padding spec mismatch."
    ((2, 1, 2, 3), dict(mode='edge', pad_width=(0, 0, 0, 0, 1, 2)),
     'pad_width must have 2 values .* 8 for 4-D data, got 6'),
    # "Current implementation expects padding on the first two axes to be zero."
    ((2, 1, 2, 3), dict(mode='edge', pad_width=(0, 0, 1, 0, 1, 2, 2, 1)),
     'pad_width must be 0 for the first two axes'),
    ((1, 2, 2, 3, 2), dict(mode='constant', pad_width=(1, 0) + (0,) * 8),
     'pad_width must be 0 for the first two axes'),
    # "Current implementation of reflection padding only supports padding sizes smaller
    # than the input size."
    ((2, 1, 2, 3), dict(mode='reflect', pad_width=(0, 0, 0, 0, 1, 2, 2, 1)),
     r"mode 'reflect' needs pads smaller than the axis they pad: axis 2 has size 2, "
     r"pads \(1, 2\)"),
    ((1, 2, 2, 3, 2), dict(mode='reflect', pad_width=(0, 0, 0, 0, 2, 0, 0, 1, 1, 1)),
     "mode 'reflect' needs pads smaller"),
])
def test_pad_errors_follow_mxnet(shape, kw, message):
    with pytest.raises(MXNetValueError, match="Pad '.*': " + message):
        mx.nd.Pad(mx.nd.ones(shape), **kw)


def test_pad_parameter_and_type_errors():
    x = mx.nd.ones((1, 1, 2, 2))
    with pytest.raises(MXNetValueError, match="Pad .*mode='bogus' is invalid: expected one of"):
        mx.nd.Pad(x, mode='bogus', pad_width=(0,) * 8)
    with pytest.raises(MXNetValueError, match="required parameter 'mode' is missing"):
        mx.nd.Pad(x, pad_width=(0,) * 8)
    with pytest.raises(MXNetValueError, match="required parameter 'pad_width' is missing"):
        mx.nd.Pad(x, mode='edge')
    # MXNet 1.9.1: "This operation only support floating point types, not int32"
    with pytest.raises(MXNetTypeError, match="Pad '.*': data must be float16, float32 or "
                                             "float64, got int32"):
        mx.nd.Pad(x.astype('int32'), mode='constant', pad_width=(0,) * 8)


# ----------------------------------------------------------------------------------------------
# Crop
# ----------------------------------------------------------------------------------------------
CROP_CASES = [  # data shape, Crop arguments, like shape or None, (top, left, h, w)
    ((2, 3, 5, 7), dict(h_w=(2, 3)), None, (0, 0, 2, 3)),
    ((2, 3, 5, 7), dict(h_w=(2, 3), offset=(3, 4)), None, (3, 4, 2, 3)),
    ((2, 3, 5, 7), dict(h_w=(2, 3), center_crop=True), None, (1, 2, 2, 3)),
    ((1, 1, 1, 1), dict(h_w=(1, 1)), None, (0, 0, 1, 1)),
    ((3, 2, 7, 11), dict(offset=(1, 2)), (1, 1, 5, 9), (1, 2, 5, 9)),
    ((3, 2, 7, 11), dict(center_crop=True, offset=(9, 9)), (2, 5, 2, 4, 13), (2, 3, 2, 4)),
    ((1, 2, 4, 5), dict(), (1, 1, 4, 5), (0, 0, 4, 5)),
]


@pytest.mark.parametrize('shape,kw,like,window', CROP_CASES)
def test_crop_matches_numpy_and_its_gradient(ctx, shape, kw, like, window):
    top, left, h, w = window
    x = np.random.uniform(-1, 1, shape).astype(np.float32)
    arrays = [x] if like is None else [x, np.random.uniform(-1, 1, like)]
    build = lambda *v: mx.sym.Crop(*v, **kw)    # noqa: E731
    head = np.random.uniform(-1, 1, shape[:2] + (h, w))
    out, grads = _grads(ctx, build, arrays, head)
    assert_almost_equal(out, x[:, :, top:top + h, left:left + w], rtol=0, atol=0)
    expected = np.zeros(shape, dtype=np.float32)
    expected[:, :, top:top + h, left:left + w] = head
    assert_almost_equal(grads['a0'], expected, rtol=0, atol=0)
    if like is not None:
        assert not grads['a1'].any()            # crop_like: zero gradient
    # the data's gradient by finite differences (float32: MXNet crops float32 only)
    location = {'a%d' % i: a for i, a in enumerate(arrays)}
    sym = build(*[mx.sym.Variable(n) for n in location])
    check_numeric_gradient(sym, location, grad_nodes=['a0'], ctx=ctx, rtol=1e-2, atol=1e-3)


def test_crop_values_from_mxnet(ctx):
    # observed from MXNet 1.9.1: center crop of arange(40).reshape(1, 2, 4, 5) like a
    # (1, 1, 3, 2) array, head gradient arange(12) + 1
    x = np.arange(40, dtype=np.float32).reshape(1, 2, 4, 5)
    head = (np.arange(12) + 1).reshape(1, 2, 3, 2)
    out, grads = _grads(ctx, lambda d, l: mx.sym.Crop(d, l, num_args=2, center_crop=True),
                        [x, np.zeros((1, 1, 3, 2))], head)
    assert out.tolist() == [[[[1, 2], [6, 7], [11, 12]], [[21, 22], [26, 27], [31, 32]]]]
    assert grads['a0'][0, 0].tolist() == [[0, 1, 2, 0, 0], [0, 3, 4, 0, 0], [0, 5, 6, 0, 0],
                                          [0, 0, 0, 0, 0]]
    assert grads['a1'].tolist() == [[[[0, 0], [0, 0], [0, 0]]]]


def test_crop_symbol_arguments_json_and_shapes():
    d, l = mx.sym.Variable('d'), mx.sym.Variable('l')
    s = mx.sym.Crop(d, l, num_args=2, name='c')
    # as MXNet 1.9.1: inputs named arg0, arg1; only num_args written
    assert json.loads(s.tojson())['nodes'][2]['attrs'] == {'num_args': '2'}
    assert mx.sym.Crop(num_args=2, name='c').list_arguments() == ['c_arg0', 'c_arg1']
    assert s.infer_shape(d=(2, 3, 5, 7), l=(1, 1, 2, 3))[1] == [(2, 3, 2, 3)]
    s1 = mx.sym.Crop(d, h_w=(2, 3), name='c1')          # num_args filled in from the inputs
    assert json.loads(s1.tojson())['nodes'][1]['attrs'] == {'h_w': '(2, 3)', 'num_args': '1'}
    assert s1.infer_shape(d=(2, 3, 5, 7))[1] == [(2, 3, 2, 3)]


@pytest.mark.parametrize('call,error,message', [
    # MXNet 1.9.1 messages in the comments
    # "offset[0] should be less than the residual space of height"
    (lambda x: mx.nd.Crop(x, num_args=1, h_w=(2, 3), offset=(4, 4)), MXNetValueError,
     r'offset \(4, 4\) \+ window \(2, 3\) goes past the data \(height 5, width 7\)'),
    # "the crop height(h_w[0]) should be less than the input data's height"
    (lambda x: mx.nd.Crop(x, num_args=1, h_w=(6, 3)), MXNetValueError,
     r'the window \(6, 3\) is larger than the data'),
    # "the crop height(h_w[0]) should be larger than 1"
    (lambda x: mx.nd.Crop(x, num_args=1), MXNetValueError,
     r'h_w must be at least \(1, 1\) when num_args is 1, got \(0, 0\)'),
    # "data_shape'height should be larger than that of out_shape"
    (lambda x: mx.nd.Crop(x, mx.nd.zeros((1, 1, 6, 3)), num_args=2), MXNetValueError,
     r'the window \(6, 3\) is larger'),
    # "offset[0] should be larger than 0"
    (lambda x: mx.nd.Crop(x, num_args=1, h_w=(2, 3), offset=(-1, 0)), MXNetValueError,
     'offset must not be negative'),
    # "Input data should be 4D in batch-num_filter-y-x"
    (lambda x: mx.nd.Crop(mx.nd.ones((2, 3, 4)), num_args=1, h_w=(2, 2)), MXNetValueError,
     r'data must be 4-D .*got shape \(2, 3, 4\)'),
    # MXNet fails reading axis 3 of the reference ("index = 3 must be in range [0, 3)")
    (lambda x: mx.nd.Crop(x, mx.nd.ones((1, 2, 2)), num_args=2), MXNetValueError,
     'crop_like .* at least 4 dimensions'),
    # "Operator Crop expects 3 inputs, but got 2 instead." / "exceed bound [1,3]"
    (lambda x: mx.nd.Crop(x, x, num_args=3), MXNetValueError, 'num_args must be 1 .* or 2'),
    (lambda x: mx.nd.Crop(x, num_args=1, h_w=(2,)), MXNetValueError, 'h_w must have 2 values'),
    # "Unsupported data type 1" (float64), 4 (int32)
    (lambda x: mx.nd.Crop(x.astype('float64'), num_args=1, h_w=(2, 3)), MXNetTypeError,
     'data must be float32 .*got float64'),
])
def test_crop_errors_follow_mxnet(call, error, message):
    with pytest.raises(error, match="Crop '.*': " + message):
        call(mx.nd.ones((2, 3, 5, 7)))


# ----------------------------------------------------------------------------------------------
# InstanceNorm
# ----------------------------------------------------------------------------------------------
def _np_instancenorm(x, g, b, eps=1e-3):
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    view = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean) / np.sqrt(var + eps) * g.reshape(view) + b.reshape(view)


@pytest.mark.parametrize('shape', [(2, 3, 5), (1, 1, 7), (3, 2, 1, 5), (2, 5), (1, 2, 3, 1, 2)])
def test_instancenorm_matches_numpy_and_finite_differences(ctx, shape):
    x = np.random.uniform(-1, 1, shape)
    g = np.random.uniform(0.5, 1.5, shape[1])
    b = np.random.uniform(-1, 1, shape[1])
    y = mx.nd.InstanceNorm(mx.nd.array(x, ctx), mx.nd.array(g, ctx), mx.nd.array(b, ctx),
                           eps=0.01)
    assert_almost_equal(y, _np_instancenorm(x, g, b, 0.01), rtol=1e-4, atol=1e-5)
    if np.prod(shape[2:]) > 1:
        sym = mx.sym.InstanceNorm(mx.sym.Variable('x'), mx.sym.Variable('g'),
                                  mx.sym.Variable('b'), eps=0.01)
        check_numeric_gradient(sym, {'x': x, 'g': g, 'b': b}, ctx=ctx, numeric_eps=1e-2,
                               rtol=5e-2, atol=5e-3)


def test_instancenorm_values_and_gradients_from_mxnet(ctx):
    # observed from MXNet 1.9.1 (eps=0.01)
    x = np.array([[[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], [[-2.0, 1.0, 0.25], [3.0, 3.5, -1.0]]])
    g, b = np.array([1.5, -0.5]), np.array([0.1, 0.2])
    head = np.array([[[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]], [[2.0, 0.0, -0.5],
                                                             [1.0, -1.5, 0.75]]])
    out, grads = _grads(ctx, lambda *v: mx.sym.InstanceNorm(*v, eps=0.01), [x, g, b], head)
    assert_almost_equal(out, np.array(
        [[[0.10000000149011612, -1.7310240268707275, 1.9310240745544434],
          [-0.4817032217979431, 0.39477235078811646, 0.6869308948516846]],
         [[-1.952912449836731, 1.5663660764694214, 0.6865464448928833],
          [-0.08930553495883942, -0.2132936269044876, 0.9025992155075073]]]),
        rtol=1e-5, atol=1e-6)
    assert_almost_equal(grads['a0'], np.array(
        [[[1.424129843711853, -0.7221698760986328, -0.7019599676132202],
          [0.14829593896865845, -0.6058188080787659, 0.4575228989124298]],
         [[0.1901342272758484, 0.5345285534858704, -0.7246628999710083],
          [-0.3093433380126953, 0.27544063329696655, 0.033902719616889954]]]),
        rtol=1e-4, atol=1e-5)
    assert_almost_equal(grads['a1'], np.array([0.11897459626197815, -0.7899998426437378]),
                        rtol=1e-4, atol=1e-5)
    assert_almost_equal(grads['a2'], np.array([1.0, 0.5]), rtol=0, atol=1e-6)


def test_instancenorm_symbol_and_errors():
    s = mx.sym.InstanceNorm(mx.sym.Variable('d'), eps=0.01, name='in')
    graph = json.loads(s.tojson())
    # as MXNet 1.9.1: three outputs in node_row_ptr (output, mean, var), one visible
    assert graph['node_row_ptr'] == [0, 1, 2, 3, 6]
    assert s.list_arguments() == ['d', 'in_gamma', 'in_beta'] and s.list_outputs() == \
        ['in_output']
    assert s.infer_shape(d=(2, 3, 4))[0] == [(2, 3, 4), (3,), (3,)]
    # MXNet 1.9.1: "index = 1 must be in range [0, 1)"
    with pytest.raises(MXNetValueError, match="InstanceNorm 'in': data must have at least 2"):
        s.infer_shape(d=(2,))
    # MXNet 1.9.1 fails when the arrays are bound ("reshape size must match")
    with pytest.raises(MXNetValueError,
                       match=r"InstanceNorm 'in': gamma has shape \(4,\), expected \(3,\)"):
        s.infer_shape(d=(2, 3, 4), in_gamma=(4,))
    # MXNet 1.9.1: "Unsupported data type 1"
    with pytest.raises(MXNetTypeError, match="InstanceNorm '.*': data must be float32 .*got "
                                             "float64"):
        mx.nd.InstanceNorm(mx.nd.ones((2, 3, 4), dtype='float64'),
                           mx.nd.ones(3, dtype='float64'), mx.nd.ones(3, dtype='float64'))


# ----------------------------------------------------------------------------------------------
# L2Normalization
# ----------------------------------------------------------------------------------------------
def _np_l2(x, mode, eps=1e-10):
    axes = {'instance': tuple(range(1, x.ndim)), 'channel': (1,),
            'spatial': tuple(range(2, x.ndim))}[mode]
    return x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize('mode,shape', [('instance', (3,)), ('instance', (1, 7)),
                                        ('instance', (2, 3, 5)), ('channel', (2, 1, 5)),
                                        ('channel', (3, 2, 5, 1)), ('spatial', (1, 3, 1)),
                                        ('spatial', (2, 3, 2, 5))])
def test_l2normalization_matches_numpy(ctx, mode, shape):
    x = np.random.uniform(-1, 1, shape)
    y = mx.nd.L2Normalization(mx.nd.array(x, ctx), mode=mode, eps=1e-3)
    assert_almost_equal(y, _np_l2(x, mode, 1e-3), rtol=1e-5, atol=1e-6)
    sym = mx.sym.L2Normalization(mx.sym.Variable('x'), mode=mode, eps=1e-3)
    check_numeric_gradient(sym, {'x': x}, ctx=ctx, dtype=np.float64, rtol=1e-4, atol=1e-6)


def test_l2normalization_values_and_gradients_from_mxnet(ctx):
    # observed from MXNet 1.9.1: x = arange(6).reshape(1, 2, 3) - 2.5, eps 0.5,
    # head gradient [1, -2, 3, 0.5, 0.25, -1]
    x = np.arange(6).reshape(1, 2, 3) - 2.5
    head = np.array([1., -2, 3, 0.5, 0.25, -1]).reshape(1, 2, 3)
    mxnet = {
        'instance': ([-0.589255690574646, -0.3535534143447876, -0.1178511381149292,
                      0.1178511381149292, 0.3535534143447876, 0.589255690574646],
                     [0.14158503711223602, -0.5278748869895935, 0.688283383846283,
                      0.13667458295822144, 0.1153959110379219, -0.14158503711223602]),
        'channel': ([-0.9449111819267273, -0.6708203554153442, -0.18898224830627441,
                     0.18898224830627441, 0.6708203554153442, 0.9449111819267273],
                    [0.07424303144216537, -0.4416235089302063, 1.025903582572937,
                     0.2497265338897705, -0.3410002887248993, 0.16198478639125824]),
        'spatial': ([-0.8219949007034302, -0.49319693446159363, -0.16439898312091827,
                     0.16439898312091827, 0.49319693446159363, 0.8219949007034302],
                    [0.23993363976478577, -0.7109144926071167, 0.968621015548706,
                     0.19772310554981232, 0.18217183649539948, -0.16217738389968872]),
    }
    for mode, (y, dx) in mxnet.items():
        out, grads = _grads(ctx, lambda d: mx.sym.L2Normalization(d, mode=mode, eps=0.5), [x],
                            head)
        assert_almost_equal(out.ravel(), np.array(y), rtol=1e-5, atol=1e-6)
        assert_almost_equal(grads['a0'].ravel(), np.array(dx), rtol=1e-5, atol=1e-6)
    # one value per instance: its sign (MXNet 1.9.1 gives [-1, 1, 0])
    assert mx.nd.L2Normalization(mx.nd.array([-2., 3, 0], ctx)).asnumpy().tolist() == [-1, 1, 0]


def test_l2normalization_symbol_and_errors():
    s = mx.sym.L2Normalization(mx.sym.Variable('d'), mode='channel', eps=1e-5, name='l2')
    graph = json.loads(s.tojson())
    assert graph['node_row_ptr'] == [0, 1, 3]           # output and the hidden norm
    assert graph['nodes'][1]['attrs'] == {'eps': '1e-05', 'mode': 'channel'}
    assert s.list_outputs() == ['l2_output']
    for mode in ('channel', 'spatial'):
        # MXNet 1.9.1: "At lease 3 dimensions required in channel mode"
        with pytest.raises(MXNetValueError, match="L2Normalization '.*': mode '%s' needs data "
                                                  "of at least 3 dimensions" % mode):
            mx.nd.L2Normalization(mx.nd.ones((2, 3)), mode=mode)
    with pytest.raises(MXNetTypeError, match="L2Normalization '.*': data must be float16, "
                                             "float32 or float64, got int32"):
        mx.nd.L2Normalization(mx.nd.ones((2, 3), dtype='int32'))
    assert mx.nd.L2Normalization(mx.nd.ones((2, 3), dtype='float16')).dtype == np.float16


# ----------------------------------------------------------------------------------------------
# SVMOutput
# ----------------------------------------------------------------------------------------------
def _np_svm_grad(x, label, margin, reg, linear):
    k = x.shape[-1]
    rows = x.reshape(-1, k)
    lab = np.trunc(label.ravel()).astype(int)
    target = (np.arange(k)[None, :] == lab[:, None])
    s = np.where(target, rows, -rows)            # the score the hinge looks at
    active = margin > s
    grad = (1.0 if linear else 2 * (margin - s)) * active * reg
    return np.where(target, -grad, grad).reshape(x.shape)


@pytest.mark.parametrize('shape', [(4, 5), (1, 1), (3, 2, 7), (2, 1, 3)])
@pytest.mark.parametrize('linear', [False, True])
def test_svmoutput_gradient_is_the_hinge_formula(ctx, shape, linear):
    x = np.random.uniform(-2, 2, shape)
    label = np.random.randint(0, shape[-1], size=shape[:-1]).astype(float)
    head = np.random.uniform(-1, 1, shape)          # ignored, as by every loss layer
    out, grads = _grads(ctx, lambda d, l: mx.sym.SVMOutput(d, l, margin=0.6,
                                                           regularization_coefficient=1.7,
                                                           use_linear=linear),
                        [x, label], head)
    assert_almost_equal(out, x.astype(np.float32), rtol=0, atol=0)
    assert_almost_equal(grads['a0'], _np_svm_grad(x.astype(np.float32), label, 0.6, 1.7,
                                                  linear), rtol=1e-5, atol=1e-5)
    assert not grads['a1'].any()


def test_svmoutput_values_from_mxnet(ctx):
    # observed from MXNet 1.9.1: margin 0.75, regularization_coefficient 1.5; the label 5 is
    # out of range (no class is the true one)
    x = np.array([[0.5, -1.5, 0.2], [2.0, -0.3, 0.9], [-0.7, 0.1, -1.2], [0.8, 0.8, 3.0]])
    label = np.array([0, 2, 1, 5])
    mxnet = {False: [[-0.75, 0, 2.85], [8.25, 1.35, 0], [0.15, -1.95, 0], [4.65, 4.65, 11.25]],
             True: [[-1.5, 0, 1.5], [1.5, 1.5, 0], [1.5, -1.5, 0], [1.5, 1.5, 1.5]]}
    for linear, grad in mxnet.items():
        _, grads = _grads(ctx, lambda d, l: mx.sym.SVMOutput(d, l, margin=0.75,
                                                             regularization_coefficient=1.5,
                                                             use_linear=linear), [x, label])
        assert_almost_equal(grads['a0'], np.array(grad), rtol=1e-5, atol=1e-6)
    # labels truncate toward zero and -1 marks no class (MXNet 1.9.1, default margin and r)
    _, grads = _grads(ctx, lambda d, l: mx.sym.SVMOutput(d, l), [x[:3], np.array([-1, 2.7, 0.5])])
    assert_almost_equal(grads['a0'], np.array([[3.0, 0, 2.4], [6.0, 1.4, -0.2],
                                               [-3.4, 2.2, 0]]), rtol=1e-5, atol=1e-6)


def test_svmoutput_symbol_shapes_and_errors():
    s = mx.sym.SVMOutput(mx.sym.Variable('d'), name='svm')
    assert s.list_arguments() == ['d', 'svm_label'] and s.list_outputs() == ['svm_output']
    assert json.loads(s.tojson())['node_row_ptr'] == [0, 1, 2, 3]
    # label shapes as MXNet 1.9.1 infers them
    assert s.infer_shape(d=(4, 5))[0] == [(4, 5), (4,)]
    assert s.infer_shape(d=(4, 5, 6))[0] == [(4, 5, 6), (4, 5)]
    # MXNet 1.9.1: "Shape inconsistent, Provided = [5], inferred shape=[4]"
    with pytest.raises(MXNetValueError, match=r"SVMOutput 'svm': label has shape \(5,\), "
                                              r"expected \(4,\)"):
        s.infer_shape(d=(4, 5), svm_label=(5,))
    with pytest.raises(MXNetValueError, match='data must have at least 2 dimensions'):
        s.infer_shape(d=(4,))
    # MXNet 1.9.1: "This layer requires uniform type. Expected 'float64' v.s. given 'float32'"
    with pytest.raises(MXNetTypeError, match="label must have the type of the data "
                                             r"\(float64\), got float32"):
        mx.nd.SVMOutput(mx.nd.ones((2, 3), dtype='float64'), mx.nd.ones(2))
    with pytest.raises(MXNetTypeError, match='data must be float16, float32 or float64'):
        mx.nd.SVMOutput(mx.nd.ones((2, 3), dtype='int32'), mx.nd.ones(2, dtype='int32'))


def test_svmoutput_honours_add_and_null(ctx):
    x = np.random.uniform(-2, 2, (3, 4))
    label = np.array([0, 3, 1])
    expected = _np_svm_grad(x.astype(np.float32), label, 1.0, 1.0, False)
    sym = mx.sym.SVMOutput(mx.sym.Variable('d'), mx.sym.Variable('l'))
    dgrad, lgrad = mx.nd.ones((3, 4), ctx), mx.nd.ones(3, ctx)
    ex = sym.bind(ctx, {'d': mx.nd.array(x, ctx), 'l': mx.nd.array(label, ctx)},
                  args_grad={'d': dgrad, 'l': lgrad}, grad_req={'d': 'add', 'l': 'add'})
    ex.forward(is_train=True)
    ex.backward()
    # mxref adds; MXNet 1.9.1 overwrites the data gradient (see coming_from_mxnet)
    assert_almost_equal(dgrad, expected + 1, rtol=1e-5, atol=1e-5)
    assert_almost_equal(lgrad, np.ones(3), rtol=0, atol=0)
    ex = sym.bind(ctx, {'d': mx.nd.array(x, ctx), 'l': mx.nd.array(label, ctx)},
                  args_grad={'d': dgrad}, grad_req={'d': 'null', 'l': 'null'})
    ex.forward(is_train=True)
    ex.backward()
    assert_almost_equal(dgrad, expected + 1, rtol=1e-5, atol=1e-5)
