"""Executor: MXNet 1.9.1's numbers on the fixtures, write requests, reshape and errors."""
import os

import numpy as np
import pytest

import mxref as mx
from mxref.test_utils import assert_almost_equal


def relative_error(got, want):
    """max |got - want| / max |want| (the issue's measure)."""
    return np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)


def bind_fixture(fixtures_dir, name, ctx):
    """The fixture's symbol bound as MXNet bound it: every array from ``NAME-case.npz``,
    gradients for exactly the arguments that have a ``grad:`` entry."""
    sym = mx.sym.load(os.path.join(fixtures_dir, '%s-symbol.json' % name))
    case = np.load(os.path.join(fixtures_dir, '%s-case.npz' % name))
    args = {k[4:]: mx.nd.array(case[k], ctx, dtype=case[k].dtype) for k in case.files
            if k.startswith('arg:')}
    aux = {k[4:]: mx.nd.array(case[k], ctx, dtype=case[k].dtype) for k in case.files
           if k.startswith('aux:')}
    grads = {n: mx.nd.zeros(args[n].shape, ctx) for n in args if 'grad:' + n in case.files}
    reqs = {n: 'write' if n in grads else 'null' for n in args}
    executor = sym.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux or None)
    return executor, case


FIXTURE_NETS = ['mlp', 'lstm', pytest.param('lenet', marks=pytest.mark.skipif(
    'Convolution' not in mx.operator.registered_names(), reason='needs Convolution'))]


@pytest.mark.parametrize('name', FIXTURE_NETS)
def test_fixture_matches_mxnet(fixtures_dir, name, ctx):
    """Inference outputs, training outputs and every gradient within 1e-4 relative."""
    executor, case = bind_fixture(fixtures_dir, name, ctx)
    for i, out in enumerate(executor.forward(is_train=False)):
        assert relative_error(out.asnumpy(), case['infer_out%d' % i]) < 1e-4
    for i, out in enumerate(executor.forward(is_train=True)):
        assert relative_error(out.asnumpy(), case['train_out%d' % i]) < 1e-4
    executor.backward()
    grads = [k for k in case.files if k.startswith('grad:')]
    assert grads
    for key in grads:
        assert relative_error(executor.grad_dict[key[5:]].asnumpy(), case[key]) < 1e-4, key


@pytest.mark.parametrize('name', ['mlp', 'lstm'])
def test_fixture_checkpoint_params_load(fixtures_dir, name, ctx):
    params = mx.nd.load(os.path.join(fixtures_dir, '%s-0001.params' % name))
    case = np.load(os.path.join(fixtures_dir, '%s-case.npz' % name))
    for key, value in params.items():
        kind, arg = key.split(':', 1)
        assert kind in ('arg', 'aux')
        assert np.array_equal(value.asnumpy(), case['arg:' + arg])


def _mlp():
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, num_hidden=5, name='fc1')
    net = mx.sym.Activation(net, act_type='tanh', name='act')
    net = mx.sym.FullyConnected(net, num_hidden=3, name='fc2')
    return mx.sym.SoftmaxOutput(net, name='softmax')


def test_simple_bind_allocates_zeros(ctx):
    executor = _mlp().simple_bind(ctx, data=(4, 6))
    assert executor.arg_dict['fc1_weight'].shape == (5, 6)
    assert executor.arg_dict['softmax_label'].shape == (4,)
    assert all(a.asnumpy().sum() == 0 for a in executor.arg_arrays)
    assert set(executor.grad_dict) == set(_mlp().list_arguments())
    assert executor.output_dict['softmax_output'] is executor.outputs[0]
    null = _mlp().simple_bind(ctx, grad_req='null', data=(4, 6))
    assert null.grad_dict == {} and all(g is None for g in null.grad_arrays)
    typed = (mx.sym.Variable('x') * 2).simple_bind(ctx, type_dict={'x': 'float64'}, x=(2,))
    assert typed.arg_dict['x'].dtype == np.float64
    with pytest.raises(ValueError, match='Cannot infer the shapes'):
        _mlp().simple_bind(ctx)


def test_outputs_are_updated_in_place(ctx):
    executor = (mx.sym.Variable('x') * 3).simple_bind(ctx, x=(2,))
    outputs = executor.outputs
    executor.forward(x=mx.nd.array([1, 2], ctx))
    assert executor.forward(x=np.array([3, 4])) is outputs
    assert outputs[0].asnumpy().tolist() == [9, 12]
    with pytest.raises(ValueError, match='Shape not match'):
        executor.forward(x=mx.nd.ones((3,), ctx))
    with pytest.raises(TypeError, match='unknown argument'):
        executor.forward(y=mx.nd.ones((2,), ctx))


def test_grad_req_write_add_null(ctx):
    x, y = mx.sym.Variable('x'), mx.sym.Variable('y')
    sym = x * y + x                               # x used twice: gradients sum
    xv, yv = np.array([1., 2.]), np.array([3., 4.])
    args = {'x': mx.nd.array(xv, ctx), 'y': mx.nd.array(yv, ctx)}
    grads = {'x': mx.nd.ones((2,), ctx), 'y': mx.nd.ones((2,), ctx)}
    executor = sym.bind(ctx, args, args_grad=grads, grad_req={'x': 'add', 'y': 'write'})
    head = mx.nd.array([1, 10], ctx)
    for _ in range(2):
        executor.forward(is_train=True)
        executor.backward(head)
    assert_almost_equal(grads['x'], 1 + 2 * (yv + 1) * [1, 10])
    assert_almost_equal(grads['y'], xv * [1, 10])
    only_y = sym.bind(ctx, args, args_grad={'y': mx.nd.zeros((2,), ctx)})
    assert 'x' not in only_y.grad_dict               # no array: forced to null
    only_y.forward(is_train=True)
    only_y.backward(head)


def test_unreached_gradients_are_zeroed(ctx):
    """An argument asking for a gradient that none flows into gets zeros (label, BlockGrad)."""
    x = mx.sym.Variable('x')
    sym = mx.sym.Group([mx.sym.BlockGrad(x), x * 2])
    grads = {'x': mx.nd.full((2,), 5, ctx)}
    executor = (mx.sym.BlockGrad(x) * 1).bind(ctx, {'x': mx.nd.ones((2,), ctx)}, args_grad=grads)
    executor.forward(is_train=True)
    executor.backward(mx.nd.ones((2,), ctx))
    assert grads['x'].asnumpy().tolist() == [0, 0]
    mlp = _mlp().simple_bind(ctx, data=(2, 6))
    mlp.grad_dict['softmax_label'][:] = 7
    mlp.forward(is_train=True)
    mlp.backward()
    assert mlp.grad_dict['softmax_label'].asnumpy().sum() == 0
    group = sym.simple_bind(ctx, x=(2,))
    group.forward(is_train=True)
    group.backward([mx.nd.ones((2,), ctx), mx.nd.ones((2,), ctx)])
    assert group.grad_dict['x'].asnumpy().tolist() == [2, 2]


def test_bind_errors(ctx):
    sym = _mlp()
    with pytest.raises(KeyError, match='missing in `args`'):
        sym.bind(ctx, {'data': mx.nd.ones((2, 6), ctx)})
    with pytest.raises(ValueError, match='has 1 arrays'):
        sym.bind(ctx, [mx.nd.ones((2, 6), ctx)])
    with pytest.raises(ValueError, match='grad_req must be in'):
        sym.simple_bind(ctx, grad_req='sometimes', data=(2, 6))
    shapes = dict(zip(sym.list_arguments(), sym.infer_shape(data=(2, 6))[0]))
    args = {n: mx.nd.zeros(s, ctx) for n, s in shapes.items()}
    args['fc1_weight'] = mx.nd.zeros((5, 7), ctx)
    with pytest.raises(mx.MXNetError, match="fc1.*does not match weight"):
        sym.bind(ctx, args)


def test_copy_params_from(ctx):
    executor = _mlp().simple_bind(ctx, data=(2, 6))
    weight = mx.nd.ones((5, 6), ctx)
    executor.copy_params_from({'fc1_weight': weight})
    assert executor.arg_dict['fc1_weight'].asnumpy().sum() == 30
    with pytest.raises(ValueError, match='not in the arguments'):
        executor.copy_params_from({'extra': weight})
    executor.copy_params_from({'extra': weight}, allow_extra_params=True)
    with pytest.raises(ValueError, match='shape'):
        executor.copy_params_from({'fc1_weight': mx.nd.ones((6, 5), ctx)})


def test_reshape_shares_parameters(ctx):
    executor = _mlp().simple_bind(ctx, data=(8, 6))
    executor.arg_dict['fc1_weight'][:] = 0.5
    small = executor.reshape(data=(3, 6), softmax_label=(3,))
    assert small.arg_dict['fc1_weight'] is executor.arg_dict['fc1_weight']
    assert small.arg_dict['data'].shape == (3, 6)
    small.arg_dict['data'][:] = 1
    assert executor.arg_dict['data'].asnumpy()[0].sum() == 6       # memory is shared
    assert small.forward()[0].shape == (3, 3)
    with pytest.raises(ValueError, match='larger than original'):
        executor.reshape(data=(16, 6), softmax_label=(16,))
    big = executor.reshape(allow_up_sizing=True, data=(16, 6), softmax_label=(16,))
    assert big.forward()[0].shape == (16, 3)
    with pytest.raises(ValueError, match='partial_shaping'):
        executor.reshape(data=(3, 6))


def test_batchnorm_moving_statistics(ctx):
    data = mx.sym.Variable('data')
    bn = mx.sym.BatchNorm(data, name='bn', momentum=0.5, fix_gamma=True)
    executor = bn.simple_bind(ctx, data=(4, 2))
    executor.aux_dict['bn_moving_var'][:] = 1
    x = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], dtype=np.float32)
    executor.forward(is_train=False, data=mx.nd.array(x, ctx))
    assert executor.aux_dict['bn_moving_mean'].asnumpy().tolist() == [0, 0]    # inference
    executor.forward(is_train=True, data=mx.nd.array(x, ctx))
    assert_almost_equal(executor.aux_dict['bn_moving_mean'], 0.5 * x.mean(axis=0))
    assert_almost_equal(executor.aux_dict['bn_moving_var'], 0.5 + 0.5 * x.var(axis=0))
    assert executor.arg_dict['bn_gamma'].asnumpy().tolist() == [1, 1]          # fix_gamma


def test_monitor_callback(ctx):
    seen = []
    executor = _mlp().simple_bind(ctx, data=(2, 6))
    executor.set_monitor_callback(lambda name, arr: seen.append((name, arr.shape)))
    executor.forward()
    assert seen == [('fc1_output', (2, 5)), ('act_output', (2, 5)), ('fc2_output', (2, 3)),
                    ('softmax_output', (2, 3))]


def test_variable_heads_accumulate_with_add(ctx):
    """A variable that is itself an output keeps accumulating under grad_req='add'."""
    x = mx.sym.Variable('x')
    grads = {'x': mx.nd.full((2,), 5, ctx)}
    executor = mx.sym.Group([x, x * 2]).bind(ctx, {'x': mx.nd.ones((2,), ctx)},
                                             args_grad=grads, grad_req='add')
    for _ in range(2):
        executor.forward(is_train=True)
        executor.backward([mx.nd.ones((2,), ctx), mx.nd.ones((2,), ctx)])
    assert grads['x'].asnumpy().tolist() == [11, 11]
    twice = mx.sym.Group([x, x]).simple_bind(ctx, x=(2,))
    twice.forward(is_train=True)
    twice.backward([mx.nd.ones((2,), ctx), mx.nd.full((2,), 2, ctx)])
    assert twice.grad_dict['x'].asnumpy().tolist() == [3, 3]
