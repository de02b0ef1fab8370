"""Every operator against a NumPy oracle (forward) and finite differences (backward).

Each case names an operator, how to build it from input variables, the input shapes and
value ranges, and the NumPy statement of its forward.  ``test_every_operator_has_a_case``
keeps the table complete: registering an operator without a case fails the suite.
"""
import json
import math

import numpy as np
import pytest

import mxref as mx
from mxref.operator import registered_names, get as get_op
from mxref.test_utils import check_numeric_gradient, assert_almost_equal


def _uniform(low, high):
    return lambda shape: np.random.uniform(low, high, size=shape)


def _away_from_integers(shape):
    """Values whose fractional part stays in [0.2, 0.4] (round/floor/... are smooth there)."""
    return np.random.randint(-3, 3, size=shape) + np.random.uniform(0.2, 0.4, size=shape)


def _nonzero(shape):
    return np.random.choice([-1, 1], size=shape) * np.random.uniform(0.3, 1.5, size=shape)


class Case:
    """One operator test: ``build(*vars) -> Symbol``, input shapes, value generator(s) and the
    NumPy ``oracle(*arrays) -> array or list``.  ``grad=False`` skips the gradient check
    (integer or index outputs)."""

    def __init__(self, op, build, shapes, oracle, gen=_uniform(-1, 1), grad=True,
                 grad_nodes=None, names=None, is_train=False, rtol=1e-4, id=None):
        self.op, self.build, self.shapes, self.oracle = op, build, shapes, oracle
        self.gen = gen if isinstance(gen, (list, tuple)) else [gen] * len(shapes)
        self.grad, self.grad_nodes, self.rtol = grad, grad_nodes, rtol
        self.names = names or list('abcdefgh'[:len(shapes)])
        self.is_train = is_train
        self.id = id or op


def _op(name):
    """The mx.sym function of an operator name (public or internal)."""
    return getattr(mx.sym, name, None) or getattr(mx.sym._internal, name)


def _erf(x):
    return np.vectorize(math.erf)(x)


def _lgamma(x):
    return np.vectorize(math.lgamma)(x)


def _gamma(x):
    return np.vectorize(math.gamma)(x)


UNARY = {
    'relu': (lambda x: np.maximum(x, 0), _nonzero),
    'sigmoid': (lambda x: 1 / (1 + np.exp(-x)), None),
    'tanh': (np.tanh, None),
    'softsign': (lambda x: x / (1 + np.abs(x)), None),
    'exp': (np.exp, None),
    'expm1': (np.expm1, None),
    'log': (np.log, _uniform(0.5, 3)),
    'log1p': (np.log1p, _uniform(0, 3)),
    'log2': (np.log2, _uniform(0.5, 3)),
    'log10': (np.log10, _uniform(0.5, 3)),
    'sqrt': (np.sqrt, _uniform(0.5, 3)),
    'rsqrt': (lambda x: 1 / np.sqrt(x), _uniform(0.5, 3)),
    'cbrt': (np.cbrt, _uniform(0.5, 3)),
    'rcbrt': (lambda x: 1 / np.cbrt(x), _uniform(0.5, 3)),
    'square': (np.square, None),
    'reciprocal': (lambda x: 1 / x, _nonzero),
    'abs': (np.abs, _nonzero),
    'sign': (np.sign, _nonzero),
    'negative': (np.negative, None),
    'sin': (np.sin, None), 'cos': (np.cos, None), 'tan': (np.tan, None),
    'arcsin': (np.arcsin, _uniform(-0.8, 0.8)), 'arccos': (np.arccos, _uniform(-0.8, 0.8)),
    'arctan': (np.arctan, None),
    'sinh': (np.sinh, None), 'cosh': (np.cosh, None),
    'arcsinh': (np.arcsinh, None), 'arccosh': (np.arccosh, _uniform(1.5, 3)),
    'arctanh': (np.arctanh, _uniform(-0.8, 0.8)),
    'degrees': (np.degrees, None), 'radians': (np.radians, None),
    'round': (lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5), _away_from_integers),
    'rint': (lambda x: np.where(x - np.floor(x) <= 0.5, np.floor(x), np.ceil(x)),
             _away_from_integers),
    'ceil': (np.ceil, _away_from_integers), 'floor': (np.floor, _away_from_integers),
    'trunc': (np.trunc, _away_from_integers), 'fix': (np.trunc, _away_from_integers),
    'erf': (_erf, None),
    'gamma': (_gamma, _uniform(0.5, 3)),
    'gammaln': (_lgamma, _uniform(0.5, 3)),
    'logical_not': (lambda x: (x == 0).astype(x.dtype), None),
    '_copy': (lambda x: x, None),
    'zeros_like': (np.zeros_like, None),
    'ones_like': (np.ones_like, None),
}

CASES = [Case(name, (lambda n: lambda x: _op(n)(x))(name), [(3, 4)], oracle,
              gen or _uniform(-1, 1))
         for name, (oracle, gen) in UNARY.items()]

CASES.append(Case('BlockGrad', lambda x: mx.sym.BlockGrad(x), [(3, 4)], lambda x: x,
                  grad=False))

# Custom: a Python operator registered with mx.operator.register (see test_custom_op.py)
from test_custom_op import scaled_product  # noqa: E402
CASES.append(Case('Custom', scaled_product, [(3, 4), (3, 4)], lambda a, b: 1.5 * a * b))

CASES += [
    Case('Activation', lambda x, t=t: mx.sym.Activation(x, act_type=t), [(4, 5)], f, g,
         id='Activation-' + t)
    for t, f, g in (('relu', lambda x: np.maximum(x, 0), _nonzero),
                    ('sigmoid', lambda x: 1 / (1 + np.exp(-x)), _uniform(-1, 1)),
                    ('tanh', np.tanh, _uniform(-1, 1)),
                    ('softrelu', lambda x: np.log1p(np.exp(x)), _uniform(-2, 2)),
                    ('softsign', lambda x: x / (1 + np.abs(x)), _uniform(-1, 1)))]

CASES += [
    Case('Cast', lambda x: mx.sym.Cast(x, dtype='float64'), [(3, 2)], lambda x: x),
    Case('clip', lambda x: mx.sym.clip(x, a_min=-0.5, a_max=0.5), [(4, 6)],
         lambda x: np.clip(x, -0.5, 0.5), _nonzero),
]

# binary: (numpy forward, input generator)
BINARY = {
    'add': (np.add, None), 'sub': (np.subtract, None), 'mul': (np.multiply, None),
    'div': (np.divide, _nonzero), 'mod': (np.mod, _uniform(0.3, 0.7)),
    'power': (np.power, _uniform(0.5, 2)), 'maximum': (np.maximum, None),
    'minimum': (np.minimum, None), 'hypot': (np.hypot, _nonzero),
    'equal': (lambda a, b: (a == b) * 1.0, None),
    'not_equal': (lambda a, b: (a != b) * 1.0, None),
    'greater': (lambda a, b: (a > b) * 1.0, None),
    'greater_equal': (lambda a, b: (a >= b) * 1.0, None),
    'lesser': (lambda a, b: (a < b) * 1.0, None),
    'lesser_equal': (lambda a, b: (a <= b) * 1.0, None),
    'logical_and': (lambda a, b: ((a != 0) & (b != 0)) * 1.0, None),
    'logical_or': (lambda a, b: ((a != 0) | (b != 0)) * 1.0, None),
    'logical_xor': (lambda a, b: ((a != 0) ^ (b != 0)) * 1.0, None),
}
SAME_SHAPE_NAMES = {'add': 'elemwise_add', 'sub': 'elemwise_sub', 'mul': 'elemwise_mul',
                    'div': 'elemwise_div'}


for _kind, (_f, _g) in BINARY.items():
    _same = SAME_SHAPE_NAMES.get(_kind, '_' + _kind)
    _gen = _g or _uniform(-1, 1)
    CASES.append(Case(_same, (lambda n: lambda a, b: _op(n)(a, b))(_same),
                      [(3, 4), (3, 4)], _f, [_gen, _gen]))
    CASES.append(Case('broadcast_' + _kind,
                      (lambda n: lambda a, b: _op(n)(a, b))('broadcast_' + _kind),
                      [(3, 1, 4), (1, 5, 4)], _f, [_gen, _gen]))

# with a scalar s = 0.7
S = 0.7
SCALAR = {
    '_plus_scalar': (lambda x: x + S, None), '_minus_scalar': (lambda x: x - S, None),
    '_rminus_scalar': (lambda x: S - x, None), '_mul_scalar': (lambda x: x * S, None),
    '_div_scalar': (lambda x: x / S, None), '_rdiv_scalar': (lambda x: S / x, _nonzero),
    '_mod_scalar': (lambda x: np.mod(x, S), _uniform(0.1, 0.6)),
    '_rmod_scalar': (lambda x: np.mod(S, x), _uniform(0.4, 0.6)),
    '_power_scalar': (lambda x: x ** S, _uniform(0.5, 2)),
    '_rpower_scalar': (lambda x: S ** x, None),
    '_maximum_scalar': (lambda x: np.maximum(x, S), _uniform(0, 1.5)),
    '_minimum_scalar': (lambda x: np.minimum(x, S), _uniform(0, 1.5)),
    '_hypot_scalar': (lambda x: np.hypot(x, S), None),
    '_equal_scalar': (lambda x: (x == S) * 1.0, None),
    '_not_equal_scalar': (lambda x: (x != S) * 1.0, None),
    '_greater_scalar': (lambda x: (x > S) * 1.0, _uniform(0, 1.5)),
    '_greater_equal_scalar': (lambda x: (x >= S) * 1.0, _uniform(0, 1.5)),
    '_lesser_scalar': (lambda x: (x < S) * 1.0, _uniform(0, 1.5)),
    '_lesser_equal_scalar': (lambda x: (x <= S) * 1.0, _uniform(0, 1.5)),
    '_logical_and_scalar': (lambda x: ((x != 0) & (S != 0)) * 1.0, None),
    '_logical_or_scalar': (lambda x: ((x != 0) | (S != 0)) * 1.0, None),
    '_logical_xor_scalar': (lambda x: ((x != 0) ^ (S != 0)) * 1.0, None),
}
for _name, (_f, _g) in SCALAR.items():
    CASES.append(Case(_name, (lambda n: lambda x: getattr(mx.sym._internal, n)(x, scalar=S))(_name),
                      [(3, 4)], _f, _g or _uniform(-1, 1)))


def _smooth_l1(x, sigma=1.0):
    """NumPy oracle: 0.5 (sigma x)^2 where |x| <= 1/sigma^2, |x| - 0.5/sigma^2 elsewhere."""
    bound = 1.0 / (sigma * sigma)
    return np.where(np.abs(x) > bound, np.abs(x) - 0.5 * bound, 0.5 * sigma * sigma * x * x)


def _both_sides_of(kink):
    """Values on both pieces of a function with a kink at +-kink, never within 0.05 * kink of
    it (the second derivative jumps there, which a finite difference would see)."""
    def gen(shape):
        sign = np.random.choice([-1, 1], size=shape)
        inner = np.random.uniform(0.05, 0.95, size=shape)
        outer = np.random.uniform(1.05, 3.0, size=shape)
        return sign * kink * np.where(np.random.rand(*shape) < 0.5, inner, outer)
    return gen


CASES += [
    Case('smooth_l1', lambda x: mx.sym.smooth_l1(x), [(4, 5)], _smooth_l1, _both_sides_of(1.0),
         id='smooth_l1-default'),
    Case('smooth_l1', lambda x: mx.sym.smooth_l1(x, scalar=2.0), [(4, 5)],
         lambda x: _smooth_l1(x, 2.0), _both_sides_of(0.25), id='smooth_l1-sigma2'),
]


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _fc(x, w, b):
    return x.reshape(x.shape[0], -1) @ w.T + b


def _batchnorm_train(x, g, b, eps=1e-3):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)


def _layernorm(x, g, b, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) * g + b


def _reshape_case(shape, spec, result, **kw):
    return Case('Reshape', lambda x: mx.sym.Reshape(x, shape=spec, **kw), [shape],
                lambda x: x.reshape(result), id='Reshape-%s%s' % (spec, '-rev' if kw else ''))


CASES += [
    Case('FullyConnected', lambda x, w, b: mx.sym.FullyConnected(x, w, b, num_hidden=5),
         [(3, 2, 4), (5, 8), (5,)], _fc),
    Case('FullyConnected', lambda x, w: mx.sym.FullyConnected(x, w, num_hidden=3, no_bias=True,
                                                              flatten=False),
         [(2, 3, 4), (3, 4)], lambda x, w: x @ w.T, id='FullyConnected-noflatten'),
    Case('LeakyReLU', lambda x: mx.sym.LeakyReLU(x, act_type='leaky', slope=0.1), [(3, 4)],
         lambda x: np.where(x > 0, x, 0.1 * x), _nonzero, id='LeakyReLU-leaky'),
    Case('LeakyReLU', lambda x: mx.sym.LeakyReLU(x, act_type='elu', slope=0.3), [(3, 4)],
         lambda x: np.where(x > 0, x, 0.3 * np.expm1(x)), _nonzero, id='LeakyReLU-elu'),
    Case('LeakyReLU', lambda x: mx.sym.LeakyReLU(x, act_type='selu'), [(3, 4)],
         lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
         _nonzero, id='LeakyReLU-selu'),
    Case('LeakyReLU', lambda x: mx.sym.LeakyReLU(x, act_type='gelu'), [(3, 4)],
         lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), id='LeakyReLU-gelu'),
    Case('LeakyReLU', lambda x, g: mx.sym.LeakyReLU(x, g, act_type='prelu'), [(2, 3, 4), (3,)],
         lambda x, g: np.where(x > 0, x, g.reshape(1, 3, 1) * x), [_nonzero, _uniform(0.1, 0.5)],
         id='LeakyReLU-prelu'),
    Case('Embedding', lambda d, w: mx.sym.Embedding(d, w, input_dim=6, output_dim=3),
         [(2, 4), (6, 3)], lambda d, w: w[d.astype(int)],
         [lambda s: np.random.randint(0, 6, size=s).astype(float), _uniform(-1, 1)],
         grad_nodes=['b']),
    Case('Dropout', lambda x: mx.sym.Dropout(x, p=0.5), [(3, 4)], lambda x: x),
    Case('softmax', lambda x: mx.sym.softmax(x, axis=1), [(2, 5, 3)],
         lambda x: _softmax(x, axis=1)),
    Case('softmax', lambda x: mx.sym.softmax(x, temperature=2.0), [(2, 7)],
         lambda x: _softmax(x / 2.0), id='softmax-temperature'),
    Case('log_softmax', lambda x: mx.sym.log_softmax(x), [(3, 6)],
         lambda x: np.log(_softmax(x))),
    Case('SoftmaxActivation', lambda x: mx.sym.SoftmaxActivation(x), [(3, 6)], _softmax),
    Case('SoftmaxActivation', lambda x: mx.sym.SoftmaxActivation(x, mode='channel'),
         [(2, 4, 3)], lambda x: _softmax(x, axis=1), id='SoftmaxActivation-channel'),
    Case('BatchNorm', lambda x, g, b: mx.sym.BatchNorm(x, g, b, fix_gamma=False, name='bn'),
         [(4, 3, 2, 2), (3,), (3,)], _batchnorm_train, is_train=True),
    Case('LayerNorm', lambda x, g, b: mx.sym.LayerNorm(x, g, b), [(3, 5), (5,), (5,)],
         _layernorm),
    Case('sum', lambda x: mx.sym.sum(x, axis=1), [(3, 4, 2)], lambda x: x.sum(axis=1)),
    Case('sum', lambda x: mx.sym.sum(x, axis=(0, 2), keepdims=True), [(3, 4, 2)],
         lambda x: x.sum(axis=(0, 2), keepdims=True), id='sum-keepdims'),
    Case('sum', lambda x: mx.sym.sum(x, axis=1, exclude=True), [(3, 4, 2)],
         lambda x: x.sum(axis=(0, 2)), id='sum-exclude'),
    Case('mean', lambda x: mx.sym.mean(x), [(3, 4)], lambda x: x.mean().reshape(1)),
    Case('prod', lambda x: mx.sym.prod(x, axis=0), [(3, 4)], lambda x: x.prod(axis=0),
         _nonzero),
    Case('max', lambda x: mx.sym.max(x, axis=1), [(3, 4)], lambda x: x.max(axis=1)),
    Case('min', lambda x: mx.sym.min(x, axis=-1), [(3, 4)], lambda x: x.min(axis=-1)),
    Case('nansum', lambda x: mx.sym.nansum(x, axis=0), [(3, 4)], lambda x: np.nansum(x, axis=0)),
    Case('nanprod', lambda x: mx.sym.nanprod(x, axis=0), [(3, 4)],
         lambda x: np.nanprod(x, axis=0), _nonzero),
    Case('norm', lambda x: mx.sym.norm(x), [(3, 4)], lambda x: np.sqrt((x * x).sum()).reshape(1)),
    Case('norm', lambda x: mx.sym.norm(x, ord=1, axis=1), [(3, 4)],
         lambda x: np.abs(x).sum(axis=1), _nonzero, id='norm-l1'),
    Case('argmax', lambda x: mx.sym.argmax(x, axis=1), [(3, 4)], lambda x: x.argmax(axis=1) * 1.0,
         grad=False),
    Case('argmin', lambda x: mx.sym.argmin(x), [(3, 4)], lambda x: np.array([x.argmin() * 1.0]),
         grad=False),
    # ordering (random inputs have no ties; tie order is tested in test_ordering.py)
    Case('topk', lambda x: mx.sym.topk(x), [(3, 5)],
         lambda x: np.argsort(-x, axis=1)[:, :1] * 1.0, grad=False),
    Case('topk', lambda x: mx.sym.topk(x, k=2, axis=0, ret_typ='value'), [(4, 3)],
         lambda x: -np.sort(-x, axis=0)[:2], id='topk-value'),
    Case('topk', lambda x: mx.sym.topk(x, k=3, axis=None, ret_typ='both', is_ascend=True),
         [(2, 3, 2)], lambda x: [np.sort(x, axis=None)[:3], np.argsort(x, axis=None)[:3] * 1.0],
         id='topk-both'),
    Case('topk', lambda x: mx.sym.topk(x, k=2, ret_typ='mask'), [(3, 5)],
         lambda x: (x >= -np.sort(-x, axis=1)[:, 1:2]) * 1.0, grad=False, id='topk-mask'),
    Case('sort', lambda x: mx.sym.sort(x), [(3, 5)], lambda x: np.sort(x, axis=-1)),
    Case('sort', lambda x: mx.sym.sort(x, axis=None, is_ascend=False), [(3, 4)],
         lambda x: -np.sort(-x, axis=None), id='sort-flat-descending'),
    Case('argsort', lambda x: mx.sym.argsort(x, axis=0), [(4, 3)],
         lambda x: np.argsort(x, axis=0) * 1.0, grad=False),
    Case('argsort', lambda x: mx.sym.argsort(x, is_ascend=False, dtype='int32'), [(3, 5)],
         lambda x: np.argsort(-x, axis=1), grad=False, id='argsort-descending'),
    Case('dot', lambda a, b: mx.sym.dot(a, b), [(3, 4), (4, 5)], np.dot),
    Case('dot', lambda a, b: mx.sym.dot(a, b, transpose_a=True, transpose_b=True),
         [(4, 3), (5, 4)], lambda a, b: a.T @ b.T, id='dot-transposed'),
    Case('dot', lambda a, b: mx.sym.dot(a, b), [(2, 3, 4), (4, 5)],
         lambda a, b: np.tensordot(a, b, 1), id='dot-3d'),
    Case('batch_dot', lambda a, b: mx.sym.batch_dot(a, b, transpose_b=True),
         [(2, 3, 4), (2, 5, 4)], lambda a, b: a @ b.transpose(0, 2, 1)),
    Case('Flatten', lambda x: mx.sym.Flatten(x), [(2, 3, 4)], lambda x: x.reshape(2, 12)),
    _reshape_case((2, 3, 4), (4, 0, 2), (4, 3, 2)),
    _reshape_case((2, 3, 4), (-3, -2), (6, 4)),
    _reshape_case((2, 3, 4), (-4, 1, 2, -2), (1, 2, 3, 4)),
    _reshape_case((10, 5, 4), (-1, 0), (50, 4), reverse=True),
    Case('expand_dims', lambda x: mx.sym.expand_dims(x, axis=1), [(2, 3)],
         lambda x: x[:, None, :]),
    Case('squeeze', lambda x: mx.sym.squeeze(x), [(2, 1, 3, 1)], lambda x: x.reshape(2, 3)),
    Case('transpose', lambda x: mx.sym.transpose(x, axes=(1, 2, 0)), [(2, 3, 4)],
         lambda x: x.transpose(1, 2, 0)),
    Case('SwapAxis', lambda x: mx.sym.SwapAxis(x, dim1=0, dim2=2), [(2, 3, 4)],
         lambda x: x.swapaxes(0, 2)),
    Case('slice', lambda x: mx.sym.slice(x, begin=(1, None), end=(3, None), step=(1, -2)),
         [(4, 5)], lambda x: x[1:3, ::-2]),
    Case('slice_axis', lambda x: mx.sym.slice_axis(x, axis=1, begin=1, end=-1), [(3, 5)],
         lambda x: x[:, 1:-1]),
    Case('Concat', lambda a, b: mx.sym.Concat(a, b, dim=1), [(2, 3), (2, 4)],
         lambda a, b: np.concatenate([a, b], axis=1)),
    Case('stack', lambda a, b: mx.sym.stack(a, b, axis=1), [(2, 3), (2, 3)],
         lambda a, b: np.stack([a, b], axis=1)),
    Case('SliceChannel', lambda x: mx.sym.SliceChannel(x, num_outputs=3, axis=1), [(2, 6)],
         lambda x: np.split(x, 3, axis=1)),
    Case('SliceChannel', lambda x: mx.sym.split(x, num_outputs=2, axis=0, squeeze_axis=True),
         [(2, 3)], lambda x: [x[0], x[1]], id='split-squeeze'),
    Case('tile', lambda x: mx.sym.tile(x, reps=(2, 1, 3)), [(2, 3)],
         lambda x: np.tile(x, (2, 1, 3))),
    Case('repeat', lambda x: mx.sym.repeat(x, repeats=2, axis=1), [(2, 3)],
         lambda x: np.repeat(x, 2, axis=1)),
    Case('repeat', lambda x: mx.sym.repeat(x, repeats=3), [(2, 2)],
         lambda x: np.repeat(x, 3), id='repeat-flat'),
    Case('take', lambda a, i: mx.sym.take(a, i), [(5, 3), (2, 2)],
         lambda a, i: a[i.astype(int)],
         [_uniform(-1, 1), lambda s: np.random.randint(0, 5, size=s).astype(float)],
         grad_nodes=['a']),
    Case('take', lambda a, i: mx.sym.take(a, i, axis=1, mode='wrap'), [(2, 4), (3,)],
         lambda a, i: a[:, np.mod(i.astype(int), 4)],
         [_uniform(-1, 1), lambda s: np.random.randint(-6, 6, size=s).astype(float)],
         grad_nodes=['a'], id='take-wrap'),
    Case('pick', lambda x, i: mx.sym.pick(x, i, axis=1), [(3, 4), (3,)],
         lambda x, i: x[np.arange(3), i.astype(int)],
         [_uniform(-1, 1), lambda s: np.random.randint(0, 4, size=s).astype(float)],
         grad_nodes=['a']),
    Case('one_hot', lambda i: mx.sym.one_hot(i, depth=4), [(3,)],
         lambda i: np.eye(4)[i.astype(int)],
         lambda s: np.random.randint(0, 4, size=s).astype(float), grad=False),
    Case('where', lambda c, x, y: mx.sym.where(c, x, y), [(3, 4), (3, 4), (3, 4)],
         lambda c, x, y: np.where(c != 0, x, y),
         [lambda s: np.random.randint(0, 2, size=s).astype(float), _uniform(-1, 1),
          _uniform(-1, 1)], grad_nodes=['b', 'c']),
    Case('broadcast_to', lambda x: mx.sym.broadcast_to(x, shape=(3, 0, 4)), [(1, 2, 1)],
         lambda x: np.broadcast_to(x, (3, 2, 4))),
    Case('broadcast_axis', lambda x: mx.sym.broadcast_axis(x, axis=(0, 2), size=(2, 3)),
         [(1, 4, 1)], lambda x: np.broadcast_to(x, (2, 4, 3))),
    Case('broadcast_like', lambda a, b: mx.sym.broadcast_like(a, b), [(1, 3), (4, 3)],
         lambda a, b: np.broadcast_to(a, (4, 3)), grad_nodes=['a']),
    Case('add_n', lambda a, b, c: mx.sym.add_n(a, b, c), [(2, 3)] * 3,
         lambda a, b, c: a + b + c),
]

CASES += [
    Case('_zeros', lambda: mx.sym.zeros((2, 3)), [], lambda: np.zeros((2, 3)), grad=False),
    Case('_ones', lambda: mx.sym.ones((4,)), [], lambda: np.ones(4), grad=False),
    Case('_full', lambda: mx.sym.full((2, 2), 7), [], lambda: np.full((2, 2), 7), grad=False),
    Case('_arange', lambda: mx.sym.arange(1, 7, 2, repeat=2), [], lambda: np.repeat([1, 3, 5], 2),
         grad=False),
]

def _lengths(shape):
    """Sequence lengths 1..5 for a batch of ``shape`` (floats, as MXNet passes them)."""
    return np.random.randint(1, 6, size=shape).astype(float)


def _mask_steps(x, lengths, axis, value):
    steps = np.arange(x.shape[axis]).reshape((-1, 1) if axis == 0 else (1, -1))
    keep = steps < (lengths[None, :] if axis == 0 else lengths[:, None])
    return np.where(keep.reshape(keep.shape + (1,) * (x.ndim - 2)), x, value)


def _last_steps(x, lengths, axis):
    x = x if axis == 0 else np.swapaxes(x, 0, 1)
    return x[lengths.astype(int) - 1, np.arange(x.shape[1])]


def _reverse_steps(x, lengths):
    out = x.copy()
    for n, length in enumerate(lengths.astype(int)):
        out[:length, n] = x[:length, n][::-1]
    return out


# sequence operators: data (T=5, N=3, 2) or (N, T, 2), lengths (N,); no gradient for lengths
CASES += [
    Case('SequenceMask', lambda x, l: mx.sym.SequenceMask(x, l, use_sequence_length=True,
                                                          value=-2.0),
         [(5, 3, 2), (3,)], lambda x, l: _mask_steps(x, l, 0, -2.0),
         [_uniform(-1, 1), _lengths], grad_nodes=['a']),
    Case('SequenceMask', lambda x, l: mx.sym.SequenceMask(x, l, use_sequence_length=True,
                                                          axis=1),
         [(3, 5, 2), (3,)], lambda x, l: _mask_steps(x, l, 1, 0.0),
         [_uniform(-1, 1), _lengths], grad_nodes=['a'], id='SequenceMask-axis1'),
    Case('SequenceLast', lambda x, l: mx.sym.SequenceLast(x, l, use_sequence_length=True),
         [(5, 3, 2), (3,)], lambda x, l: _last_steps(x, l, 0),
         [_uniform(-1, 1), _lengths], grad_nodes=['a']),
    Case('SequenceLast', lambda x, l: mx.sym.SequenceLast(x, l, use_sequence_length=True,
                                                          axis=1),
         [(3, 5, 2), (3,)], lambda x, l: _last_steps(x, l, 1),
         [_uniform(-1, 1), _lengths], grad_nodes=['a'], id='SequenceLast-axis1'),
    Case('SequenceReverse', lambda x, l: mx.sym.SequenceReverse(x, l, use_sequence_length=True),
         [(5, 3, 2), (3,)], _reverse_steps, [_uniform(-1, 1), _lengths], grad_nodes=['a']),
    Case('SequenceReverse', lambda x: mx.sym.SequenceReverse(x), [(4, 3)], lambda x: x[::-1],
         id='SequenceReverse-whole'),
    Case('reverse', lambda x: mx.sym.reverse(x, axis=(0, 2)), [(3, 2, 5)],
         lambda x: x[::-1, :, ::-1]),
]


def _np_pad(x, mode, pad_width, value=0.0):
    pw = [tuple(pad_width[2 * i:2 * i + 2]) for i in range(x.ndim)]
    kw = {'constant_values': value} if mode == 'constant' else {}
    return np.pad(x, pw, mode=mode, **kw)


def _np_l2(x, axes, eps=1e-10):
    return x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + eps)


# Pad and L2Normalization (more in test_layers.py, with Crop, InstanceNorm and SVMOutput)
CASES += [
    Case('Pad', lambda x: mx.sym.Pad(x, mode='constant', pad_width=(0, 0, 0, 0, 2, 1, 0, 3),
                                     constant_value=0.5), [(2, 3, 1, 5)],
         lambda x: _np_pad(x, 'constant', (0, 0, 0, 0, 2, 1, 0, 3), 0.5), id='Pad-constant'),
    Case('Pad', lambda x: mx.sym.Pad(x, mode='edge', pad_width=(0, 0, 0, 0, 1, 2, 3, 1, 0, 2)),
         [(1, 2, 3, 1, 2)], lambda x: _np_pad(x, 'edge', (0, 0, 0, 0, 1, 2, 3, 1, 0, 2)),
         id='Pad-edge-5d'),
    Case('Pad', lambda x: mx.sym.Pad(x, mode='reflect', pad_width=(0, 0, 0, 0, 2, 1, 4, 4)),
         [(2, 1, 3, 5)], lambda x: _np_pad(x, 'reflect', (0, 0, 0, 0, 2, 1, 4, 4)),
         id='Pad-reflect'),
    Case('L2Normalization', lambda x: mx.sym.L2Normalization(x), [(3, 7)],
         lambda x: _np_l2(x, (1,)), id='L2Normalization-instance'),
    Case('L2Normalization', lambda x: mx.sym.L2Normalization(x, mode='channel', eps=1e-3),
         [(2, 3, 5)], lambda x: _np_l2(x, (1,), 1e-3), id='L2Normalization-channel'),
    Case('L2Normalization', lambda x: mx.sym.L2Normalization(x, mode='spatial'),
         [(2, 3, 1, 5)], lambda x: _np_l2(x, (2, 3)), id='L2Normalization-spatial'),
]


# the fused RNN operator (more in test_fused_rnn.py, whose NumPy statement is the oracle)
def _fused_rnn_oracle(mode, layers, bidirectional, state_outputs):
    def oracle(x, params, h0, c0=None):
        from test_fused_rnn import numpy_rnn
        outs = numpy_rnn(x, params, h0, c0, mode, h0.shape[2], layers, bidirectional)
        return list(outs[:3 if mode == 'lstm' else 2]) if state_outputs else outs[0]
    return oracle


CASES += [
    Case('RNN', lambda x, p, h: mx.sym.RNN(x, p, h, state_size=3, num_layers=1,
                                           mode='rnn_tanh'),
         [(4, 2, 3), (24,), (1, 2, 3)], _fused_rnn_oracle('rnn_tanh', 1, False, False)),
    Case('RNN', lambda x, p, h, c: mx.sym.RNN(x, p, h, c, state_size=2, num_layers=2,
                                              bidirectional=True, mode='lstm',
                                              state_outputs=True),
         [(3, 2, 3), (240,), (4, 2, 2), (4, 2, 2)], _fused_rnn_oracle('lstm', 2, True, True),
         id='RNN-lstm-bi'),
    Case('RNN', lambda x, p, h: mx.sym.RNN(x, p, h, state_size=2, num_layers=2, mode='gru',
                                           state_outputs=True),
         [(2, 3, 1), (66,), (2, 3, 2)], _fused_rnn_oracle('gru', 2, False, True), id='RNN-gru'),
]

LOSS_CASES = ['SoftmaxOutput', 'LinearRegressionOutput', 'LogisticRegressionOutput',
              'MAERegressionOutput', 'MakeLoss', 'make_loss', 'SVMOutput']


def _bind_case(case, ctx, values):
    sym = case.build(*[mx.sym.Variable(n) for n in case.names])
    args = {n: mx.nd.array(v, ctx) for n, v in zip(case.names, values)}
    _, _, aux_shapes = sym.infer_shape(**{n: v.shape for n, v in zip(case.names, values)})
    aux = {n: (mx.nd.ones if n.endswith('var') else mx.nd.zeros)(s, ctx)
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return sym, sym.bind(ctx, args, aux_states=aux or None)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_forward_matches_numpy(case, ctx):
    values = [g(s) for g, s in zip(case.gen, case.shapes)]
    expected = case.oracle(*values)
    expected = expected if isinstance(expected, list) else [expected]
    _, executor = _bind_case(case, ctx, values)
    outputs = executor.forward(is_train=case.is_train)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == np.asarray(want).shape
        assert_almost_equal(got, np.asarray(want, dtype=np.float32), rtol=case.rtol, atol=1e-5)


@pytest.mark.parametrize('case', [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_numeric_gradient(case, ctx):
    sym = case.build(*[mx.sym.Variable(n) for n in case.names])
    location = {n: g(s) for n, g, s in zip(case.names, case.gen, case.shapes)}
    _, _, aux_shapes = sym.infer_shape(**{n: v.shape for n, v in location.items()})
    aux = {n: (np.ones if n.endswith('var') else np.zeros)(s)
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    check_numeric_gradient(sym, location, aux_states=aux or None, grad_nodes=case.grad_nodes,
                           ctx=ctx, dtype=np.float64, rtol=1e-4, atol=1e-6,
                           use_forward_train=case.op != 'Dropout')


def test_every_operator_has_a_case():
    """No operator can be registered without a test of its own."""
    covered = {c.op for c in CASES} | set(LOSS_CASES) | set(OTHER_TESTS)
    canonical = {get_op(n).op_name for n in registered_names()}
    missing = sorted(canonical - covered)
    assert not missing, 'operators without a test case: %s' % missing


# operators tested in other files (name -> file)
OTHER_TESTS = {
    'Convolution': 'test_conv_pool.py', 'Pooling': 'test_conv_pool.py',
    '_random_uniform': 'test_operator.py', '_random_normal': 'test_operator.py',
    '_random_randint': 'test_operator.py',
    **{n: 'test_samplers.py' for n in (
        '_random_exponential', '_random_gamma', '_random_poisson', '_random_negative_binomial',
        '_random_generalized_negative_binomial', '_sample_uniform', '_sample_normal',
        '_sample_gamma', '_sample_exponential', '_sample_poisson', '_sample_negative_binomial',
        '_sample_generalized_negative_binomial', '_sample_multinomial', '_shuffle',
        'ROIPooling')},
    'Deconvolution': 'test_deconv_upsampling_lrn.py', 'UpSampling': 'test_deconv_upsampling_lrn.py',
    'LRN': 'test_deconv_upsampling_lrn.py',
    'Crop': 'test_layers.py', 'InstanceNorm': 'test_layers.py',   # float32-only in MXNet
}


def test_blockgrad_stops_the_gradient(ctx):
    x = mx.sym.Variable('x')
    check_symbolic = mx.test_utils.check_symbolic_backward
    check_symbolic(mx.sym.BlockGrad(x * 2), {'x': np.ones((2, 3))}, [np.ones((2, 3))],
                   {'x': np.zeros((2, 3))}, ctx=ctx)
    check_symbolic(mx.sym.BlockGrad(x) + x, {'x': np.ones((2, 3))}, [np.ones((2, 3))],
                   {'x': np.ones((2, 3))}, ctx=ctx)


def test_partial_shapes_are_inferred_from_use(ctx):
    """An initial state ``zeros((0, 4))`` takes its batch size from the data it meets."""
    data = mx.sym.Variable('data')
    state = mx.sym.zeros((0, 4))
    h2h = mx.sym.FullyConnected(state, num_hidden=3, name='h2h')
    out = mx.sym.FullyConnected(data, num_hidden=3, name='i2h') + h2h
    arg_shapes, out_shapes, _ = out.infer_shape(data=(5, 2))
    assert out_shapes == [(5, 3)]
    assert dict(zip(out.list_arguments(), arg_shapes))['h2h_weight'] == (3, 4)
    executor = out.simple_bind(ctx, data=(5, 2))
    assert executor.forward()[0].shape == (5, 3)
    assert mx.sym.zeros((0, 4)).infer_shape_partial()[1] == [(0, 4)]


# ----------------------------------------------------------------------------------------------
# smooth_l1: MXNet 1.9.1's values, the gradient at the kink, errors
# ----------------------------------------------------------------------------------------------
def test_smooth_l1_matches_mxnet(ctx):
    x = mx.nd.array([-3, -1, -0.25, -0.2, 0, 0.2, 0.25, 1, 3], ctx)
    # printed by MXNet 1.9.1: mx.nd.smooth_l1(x, scalar=2) and mx.nd.smooth_l1(x)
    assert_almost_equal(mx.nd.smooth_l1(x, scalar=2),
                        np.array([2.875, 0.875, 0.125, 0.08, 0, 0.08, 0.125, 0.875, 2.875]))
    assert_almost_equal(mx.nd.smooth_l1(x),
                        np.array([2.5, 0.5, 0.03125, 0.02, 0, 0.02, 0.03125, 0.5, 2.5]))
    assert_almost_equal(mx.nd.smooth_l1(x, 1.0), mx.nd.smooth_l1(x))
    assert mx.nd.smooth_l1(mx.nd.array([1, 2], ctx, dtype='float64')).dtype == np.float64
    # the gradient (MXNet 1.9.1's, through autograd): sigma^2 x inside, sign(x) outside
    mx.test_utils.check_symbolic_backward(
        mx.sym.smooth_l1(mx.sym.Variable('x'), scalar=2), {'x': x.asnumpy()},
        [np.ones(9)], {'x': np.array([-1, -1, -1, -0.8, 0, 0.8, 1, 1, 1])}, ctx=ctx)


def test_smooth_l1_symbol_json_and_errors():
    sym = mx.sym.smooth_l1(mx.sym.Variable('d'), scalar=2, name='sl')
    assert sym.list_arguments() == ['d'] and sym.list_outputs() == ['sl_output']
    node = json.loads(sym.tojson())['nodes'][1]
    assert node == {'op': 'smooth_l1', 'name': 'sl', 'attrs': {'scalar': '2'},
                    'inputs': [[0, 0, 0]]}                 # as MXNet 1.9.1 writes it
    with pytest.raises(mx.base.MXNetError, match=r"smooth_l1.*scalar.*'a'"):
        mx.nd.smooth_l1(mx.nd.ones((2,)), scalar='a')


# ----------------------------------------------------------------------------------------------
# random sampling operators (_random_uniform, _random_normal, _random_randint)
# ----------------------------------------------------------------------------------------------
def test_random_operators_as_ndarray_functions(ctx):
    mx.random.seed(3)
    a = mx.nd.random_uniform(low=-2, high=3, shape=(200, 50), ctx=str(ctx))
    assert a.shape == (200, 50) and a.dtype == np.float32 and a.context == ctx
    values = a.asnumpy()
    assert values.min() >= -2 and values.max() < 3
    assert abs(values.mean() - 0.5) < 0.05 and abs(values.var() - 25 / 12) < 0.1
    n = mx.nd.random_normal(loc=1, scale=2, shape=(200, 50), ctx=str(ctx)).asnumpy()
    assert abs(n.mean() - 1) < 0.05 and abs(n.std() - 2) < 0.05
    r = mx.nd.random_randint(low=-3, high=4, shape=(1000,), ctx=str(ctx))
    assert r.dtype == np.int32 and set(np.unique(r.asnumpy())) == set(range(-3, 4))
    assert mx.nd.random_randint(0, 10, (2,), dtype='int64', ctx=str(ctx)).dtype == np.int64
    assert mx.nd.uniform(0, 1, (2,), dtype='float64', ctx=str(ctx)).dtype == np.float64
    assert mx.nd.normal(shape=3, ctx=str(ctx)).shape == (3,)        # positional parameters
    assert mx.nd.uniform(-1, 1, shape=(2, 2), ctx=str(ctx)).shape == (2, 2)
    out = mx.nd.zeros((4,), ctx)
    mx.nd.random_uniform(5, 6, shape=(4,), out=out)
    assert (out.asnumpy() >= 5).all()
    mx.random.seed(7)
    first = mx.nd.random_normal(shape=(5,), ctx=str(ctx)).asnumpy()
    mx.random.seed(7)
    assert (mx.nd.random_normal(shape=(5,), ctx=str(ctx)).asnumpy() == first).all()


def test_random_operators_in_a_symbol(ctx):
    with mx.name.NameManager():                      # counters from 0, as in a fresh script
        noise = mx.sym.random_normal(shape=(2,))
    sym = mx.sym.Variable('x') + noise
    nodes = json.loads(sym.tojson())['nodes']
    assert nodes[1] == {'op': '_random_normal', 'name': 'random_normal0',
                        'attrs': {'shape': '(2,)'}, 'inputs': []}    # as MXNet 1.9.1
    r = mx.sym.uniform(low=0, high=1, shape=(2, 2), name='r')
    assert r.list_arguments() == [] and r.infer_shape() == ([], [(2, 2)], [])
    executor = sym.bind(ctx, {'x': mx.nd.zeros((2,), ctx)}, args_grad={'x': mx.nd.zeros((2,), ctx)})
    first = executor.forward(is_train=True)[0].asnumpy().copy()
    second = executor.forward(is_train=True)[0].asnumpy()
    assert not (first == second).all()                               # drawn at every forward
    executor.backward([mx.nd.ones((2,), ctx)])
    assert executor.grad_dict['x'].asnumpy().tolist() == [1, 1]
    assert mx.sym.random_randint(low=0, high=3, shape=(4,)).infer_type()[1] == [np.int32]


@pytest.mark.parametrize('call, message', [
    (lambda: mx.nd.random_uniform(low=2, high=1, shape=(2,)), r'_random_uniform.*low <= high.*low=2, high=1'),
    (lambda: mx.nd.random_normal(scale=-1, shape=(2,)), r'_random_normal.*scale > 0.*scale=-1'),
    (lambda: mx.nd.random_randint(low=5, high=1, shape=(2,)), r'_random_randint.*low < high.*low=5, high=1'),
    (lambda: mx.nd.random_randint(0, 5, (2,), dtype='float32'), r'_random_randint.*int32 or int64.*float32'),
])
def test_random_operator_errors(call, message):
    with pytest.raises(mx.base.MXNetError, match=message):
        call()


def test_sym_random_namespace_builds_the_sampling_operators(ctx):
    # node JSON, output names, shapes and types below are MXNet 1.9.1's for the same calls
    with mx.name.NameManager():
        u = mx.sym.random.uniform(0, 2, shape=(2, 3))
        n = mx.sym.random.normal(shape=(2, 3), dtype='float64', name='n')
        r = mx.sym.random.randint(1, 5, shape=(4,))
        bare = mx.sym.random.uniform()
    assert json.loads(u.tojson())['nodes'] == [{'op': '_random_uniform', 'name': '_random_uniform0',
                                                'attrs': {'high': '2', 'low': '0',
                                                          'shape': '(2, 3)'}, 'inputs': []}]
    assert json.loads(n.tojson())['nodes'][0]['attrs'] == {'dtype': 'float64', 'loc': '0',
                                                           'scale': '1', 'shape': '(2, 3)'}
    assert json.loads(r.tojson())['nodes'][0]['name'] == '_random_randint0'
    assert r.infer_type()[1] == [np.int32] and n.infer_type()[1] == [np.float64]
    assert json.loads(bare.tojson())['nodes'][0]['attrs'] == {'high': '1', 'low': '0'}
    with pytest.warns(UserWarning, match='Cannot decide shape'):     # MXNet 1.9.1 warns too
        assert bare.infer_shape() == (None, None, None)      # no shape: unknown, as MXNet
    randn = mx.sym.random.randn(2, 3, loc=1, dtype='float64', name='g')
    assert json.loads(randn.tojson())['nodes'][0]['attrs'] == {
        'dtype': 'float64', 'loc': '1', 'scale': '1', 'shape': '(2, 3)'}
    values = u.eval(ctx)[0].asnumpy()
    assert values.shape == (2, 3) and values.min() >= 0 and values.max() < 2
    ints = r.eval(ctx)[0].asnumpy()
    assert ints.dtype == np.int32 and set(ints.tolist()) <= {1, 2, 3, 4}
    with pytest.raises(mx.base.MXNetError, match='random.uniform: .*all be Symbols or all num'):
        mx.sym.random.uniform(mx.sym.Variable('lo'), 1, shape=(2,))
