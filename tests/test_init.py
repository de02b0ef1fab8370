"""mx.init: the name rules, each distribution and its parameters, the __init__ attribute,
dumps/create, Mixed and Load."""
import json
import logging

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.initializer import InitDesc


def _fill(init, name, shape, ctx=None, attrs=None):
    arr = mx.nd.zeros(shape, ctx=ctx) + 7 if ctx else mx.nd.zeros(shape) + 7
    init(InitDesc(name, attrs), arr)
    return arr.asnumpy()


@pytest.mark.parametrize('name,value', [
    ('fc1_bias', 0.0), ('bn_gamma', 1.0), ('bn_beta', 0.0), ('bn_moving_mean', 0.0),
    ('bn_moving_var', 1.0), ('bn_moving_inv_var', 0.0), ('bn_moving_avg', 0.0),
    ('quant_min', 0.0), ('quant_max', 1.0)])
def test_name_rules_give_fixed_values(name, value, ctx):
    np.testing.assert_array_equal(_fill(mx.init.Constant(5), name, (3, 2), ctx), value)


def test_weight_uses_the_distribution_and_unknown_names_fail():
    np.testing.assert_array_equal(_fill(mx.init.Constant(5), 'fc1_weight', (2, 2)), 5)
    with pytest.raises(MXNetError, match='Unknown initialization pattern for data'):
        _fill(mx.init.Uniform(), 'data', (2,))


def test_rules_are_a_table_checked_in_order():
    suffixes = [suffix for suffix, _ in mx.init.NAME_RULES]
    assert suffixes[:4] == ['weight', 'bias', 'gamma', 'beta']
    for _, method in mx.init.NAME_RULES:
        assert callable(getattr(mx.init.Initializer, method))


def test_init_attribute_overrides_the_name():
    attrs = {'__init__': mx.init.Constant(0.25).dumps()}
    np.testing.assert_array_equal(_fill(mx.init.Uniform(), 'fc_bias', (3,), attrs=attrs), 0.25)
    attrs = {'__init__': '["one", {}]'}
    np.testing.assert_array_equal(_fill(mx.init.Zero(), 'anything', (2,), attrs=attrs), 1)


def test_init_attribute_through_a_module():
    data = mx.sym.Variable('data')
    w = mx.sym.Variable('fc_weight', init=mx.init.Constant(0.5))
    net = mx.sym.FullyConnected(data, weight=w, num_hidden=2, name='fc')
    net = mx.sym.BatchNorm(net, name='bn')
    mod = mx.mod.Module(net, label_names=None)
    mod.bind([('data', (4, 3))])
    mod.init_params(mx.init.Uniform(0.1))
    args, auxs = mod.get_params()
    np.testing.assert_array_equal(args['fc_weight'].asnumpy(), 0.5)
    np.testing.assert_array_equal(args['bn_gamma'].asnumpy(), 1)
    np.testing.assert_array_equal(auxs['bn_moving_mean'].asnumpy(), 0)
    np.testing.assert_array_equal(auxs['bn_moving_var'].asnumpy(), 1)


def test_plain_string_names_are_deprecated_but_work():
    arr = mx.nd.zeros((2,))
    with pytest.warns(DeprecationWarning):
        mx.init.One()('x_weight', arr)
    np.testing.assert_array_equal(arr.asnumpy(), 1)


def test_uniform_and_normal_statistics(ctx):
    mx.random.seed(3)
    u = _fill(mx.init.Uniform(0.2), 'w_weight', (200, 101), ctx)
    assert np.abs(u).max() <= 0.2
    assert u.std() == pytest.approx(0.2 / np.sqrt(3), rel=0.03)
    n = _fill(mx.init.Normal(0.3), 'w_weight', (200, 101), ctx)
    assert n.mean() == pytest.approx(0.0, abs=0.01)
    assert n.std() == pytest.approx(0.3, rel=0.03)
    assert mx.init.Uniform().scale == 0.07 and mx.init.Normal().sigma == 0.01


def test_seeding_makes_initialization_repeatable():
    mx.random.seed(11)
    a = _fill(mx.init.Xavier(), 'w_weight', (5, 3))
    mx.random.seed(11)
    b = _fill(mx.init.Xavier(), 'w_weight', (5, 3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('factor_type', ['avg', 'in', 'out'])
@pytest.mark.parametrize('rnd_type', ['uniform', 'gaussian'])
def test_xavier_scale(rnd_type, factor_type):
    shape = (64, 48, 3, 3)
    fan_in, fan_out = 48 * 9, 64 * 9
    factor = {'avg': (fan_in + fan_out) / 2, 'in': fan_in, 'out': fan_out}[factor_type]
    scale = np.sqrt(2.5 / factor)
    w = _fill(mx.init.Xavier(rnd_type, factor_type, 2.5), 'conv_weight', shape)
    if rnd_type == 'uniform':
        assert np.abs(w).max() <= scale
        assert w.std() == pytest.approx(scale / np.sqrt(3), rel=0.03)
    else:
        assert w.std() == pytest.approx(scale, rel=0.03)


def test_xavier_errors():
    with pytest.raises(MXNetError, match='at least 2D'):
        _fill(mx.init.Xavier(), 'v_weight', (5,))
    with pytest.raises(MXNetError, match='Incorrect factor type'):
        _fill(mx.init.Xavier(factor_type='sideways'), 'w_weight', (2, 2))
    with pytest.raises(MXNetError, match='Unknown random type'):
        _fill(mx.init.Xavier(rnd_type='poisson'), 'w_weight', (2, 2))


def test_msra_prelu_is_gaussian_xavier():
    init = mx.init.MSRAPrelu(factor_type='in', slope=0.5)
    assert init.rnd_type == 'gaussian' and init.magnitude == pytest.approx(2 / 1.25)
    w = _fill(init, 'w_weight', (300, 200))
    assert w.std() == pytest.approx(np.sqrt(1.6 / 200), rel=0.03)


@pytest.mark.parametrize('shape', [(3, 7), (7, 3), (4, 2, 3)])
@pytest.mark.parametrize('rand_type', ['uniform', 'normal'])
def test_orthogonal(shape, rand_type):
    w = _fill(mx.init.Orthogonal(scale=2.0, rand_type=rand_type), 'w_weight', shape)
    flat = w.reshape(shape[0], -1) / 2.0
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_constant_zero_one_bilinear_lstmbias():
    np.testing.assert_array_equal(_fill(mx.init.Constant(mx.nd.array([1, 2])), 'w_weight',
                                        (3, 2)), [[1, 2]] * 3)
    np.testing.assert_array_equal(_fill(mx.init.Zero(), 'w_weight', (2,)), 0)
    np.testing.assert_array_equal(_fill(mx.init.One(), 'w_weight', (2,)), 1)
    b = _fill(mx.init.Bilinear(), 'up_weight', (1, 1, 4, 4))
    f = np.ceil(4 / 2.)
    c = (2 * f - 1 - f % 2) / (2. * f)
    x = np.arange(4)
    kernel = np.outer(1 - np.abs(x / f - c), 1 - np.abs(x / f - c))
    np.testing.assert_allclose(b[0, 0], kernel)
    lstm = {'__init__': mx.init.LSTMBias(2.0).dumps()}     # used through the variable
    np.testing.assert_array_equal(_fill(mx.init.Uniform(), 'l_i2h_bias', (8,), attrs=lstm),
                                  [0, 0, 2, 2, 0, 0, 0, 0])


def test_dumps_and_create():
    assert mx.init.Xavier().dumps() == \
        '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'
    assert mx.init.Normal(0.5).dumps() == '["normal", {"sigma": 0.5}]'
    assert mx.init.Uniform().dumps() == '["uniform", {"scale": 0.07}]'
    assert mx.init.One().dumps() == '["one", {}]'
    assert mx.init.Orthogonal().dumps() == \
        '["orthogonal", {"scale": 1.414, "rand_type": "uniform"}]'
    assert json.loads(mx.init.Constant(np.array([1., 2.])).dumps()) == \
        ['constant', {'value': [1.0, 2.0]}]
    for init in (mx.init.Xavier('gaussian', 'in', 2), mx.init.MSRAPrelu(slope=0.1),
                 mx.init.Normal(0.2), mx.init.Zero(), mx.init.LSTMBias(3.0)):
        assert mx.init.create(init.dumps()) == init
    assert isinstance(mx.init.create('zeros'), mx.init.Zero)
    assert isinstance(mx.init.create('ONES'), mx.init.One)
    assert mx.init.create('xavier', magnitude=2).magnitude == 2
    assert mx.initializer is mx.init
    with pytest.raises(MXNetError, match='not registered'):
        mx.init.create('nosuch')
    with pytest.raises(MXNetError, match='not valid JSON'):
        mx.init.create('["xavier", {')


def test_variable_init_attribute_is_dumps():
    v = mx.sym.Variable('w', init=mx.init.Xavier(magnitude=2))
    assert v.attr('__init__') == \
        '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 2}]'


def test_register_custom_initializer():
    @mx.init.register
    @mx.init.alias('halves')
    class Half(mx.init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 0.5
    np.testing.assert_array_equal(_fill(mx.init.create('half'), 'w_weight', (2,)), 0.5)
    np.testing.assert_array_equal(_fill(mx.init.create('halves'), 'w_weight', (2,)), 0.5)
    with pytest.raises(MXNetError, match='subclass'):
        mx.init.register(int)


def test_mixed():
    init = mx.init.Mixed(['fc2.*', '.*'], [mx.init.Constant(3), mx.init.One()])
    np.testing.assert_array_equal(_fill(init, 'fc2_weight', (2,)), 3)
    np.testing.assert_array_equal(_fill(init, 'fc1_weight', (2,)), 1)
    np.testing.assert_array_equal(_fill(init, 'fc2_bias', (2,)), 0)    # the name rules apply
    only = mx.init.Mixed(['fc.*'], [mx.init.One()])
    with pytest.raises(MXNetError, match='did not match any pattern'):
        _fill(only, 'conv_weight', (2,))
    with pytest.raises(MXNetError, match='2 patterns but 1 initializers'):
        mx.init.Mixed(['a', 'b'], [mx.init.One()])


def test_load(tmp_path):
    fname = str(tmp_path / 'p.params')
    mx.nd.save(fname, {'arg:fc_weight': mx.nd.array([[1, 2]]), 'aux:bn_moving_mean':
                       mx.nd.array([3.])})
    init = mx.init.Load(fname, default_init=mx.init.Constant(9))
    np.testing.assert_array_equal(_fill(init, 'fc_weight', (1, 2)), [[1, 2]])
    np.testing.assert_array_equal(_fill(init, 'bn_moving_mean', (1,)), [3])
    np.testing.assert_array_equal(_fill(init, 'other_weight', (2,)), 9)
    with pytest.raises(MXNetError, match='Shape mismatch'):
        _fill(init, 'fc_weight', (2, 1))
    with pytest.raises(MXNetError, match='no default Initializer'):
        _fill(mx.init.Load({'a': mx.nd.ones((1,))}), 'b_weight', (1,))


def test_verbose_logging(caplog):
    init = mx.init.Constant(2).set_verbosity(True)
    with caplog.at_level(logging.INFO):
        _fill(init, 'fc_weight', (4,))
    assert 'Initialized fc_weight as weight: 2.0' in caplog.text
