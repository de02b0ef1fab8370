"""mx.mod.Module: the state machine and its errors, parameters, forward/backward/update
against NumPy, reshaping, fit/score/predict and their log lines, checkpoints with optimizer
states, monitors, several devices with a KVStore."""
import logging
import os
import re

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.module import ModuleStateError


def mlp(hidden=8, classes=3):
    net = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(net, name='fc1', num_hidden=hidden)
    net = mx.sym.Activation(net, name='relu1', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc2', num_hidden=classes)
    return mx.sym.SoftmaxOutput(net, name='softmax')


def toy_data(n=40, features=5, classes=3, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.normal(0, 3, (classes, features))
    labels = rng.randint(0, classes, n)
    return (centers[labels] + rng.normal(0, 1, (n, features))).astype(np.float32), labels


def bound_module(batch=4, features=5, context=mx.cpu(), **kwargs):
    mod = mx.mod.Module(mlp(), context=context, **kwargs)
    mod.bind(data_shapes=[('data', (batch, features))],
             label_shapes=[('softmax_label', (batch,))])
    return mod


# ----------------------------------------------------------------------------------------------
# the state machine
# ----------------------------------------------------------------------------------------------
def test_calls_out_of_order_name_the_missing_step():
    mod = mx.mod.Module(mlp())
    batch = mx.io.DataBatch([mx.nd.ones((4, 5))], [mx.nd.ones((4,))])
    with pytest.raises(ModuleStateError, match='not bound; call bind'):
        mod.forward(batch)
    with pytest.raises(ModuleStateError, match='call bind before initializing'):
        mod.init_params()
    with pytest.raises(ModuleStateError, match='not bound'):
        mod.init_optimizer()
    with pytest.raises(ModuleStateError, match='not initialized; call init_params'):
        mod.get_params()
    mod.bind([('data', (4, 5))], [('softmax_label', (4,))])
    with pytest.raises(ModuleStateError, match='init_params'):
        mod.forward(batch)
    with pytest.raises(ModuleStateError, match='init_params'):
        mod.init_optimizer()
    mod.init_params()
    mod.forward_backward(batch)
    with pytest.raises(ModuleStateError, match='call init_optimizer'):
        mod.update()
    with pytest.raises(ModuleStateError, match='inputs_need_grad=True'):
        mod.get_input_grads()
    with pytest.raises(AssertionError):                # MXNet raises AssertionError here
        mod.save_optimizer_states('x.states')
    inference = mx.mod.Module(mlp())
    with pytest.warns(UserWarning, match="label_shapes don't match"):   # as MXNet warns
        inference.bind([('data', (4, 5))], for_training=False)
    inference.init_params()
    inference.forward(batch)
    with pytest.raises(ModuleStateError, match='for_training=True'):
        inference.backward()


def test_state_flags_and_warnings(caplog):
    mod = bound_module()
    assert mod.binded and mod.for_training and not mod.params_initialized
    mod.init_params()
    assert mod.params_initialized
    with pytest.warns(UserWarning, match='init_params call ignored'):
        mod.init_params()
    with caplog.at_level(logging.WARNING):
        mod.bind([('data', (4, 5))], [('softmax_label', (4,))])
    assert 'Already bound, ignoring bind()' in caplog.text
    mod.init_optimizer()
    with caplog.at_level(logging.WARNING):
        mod.init_optimizer()
    assert 'optimizer already initialized, ignoring...' in caplog.text
    assert mod.optimizer_initialized


def test_constructor_checks_names():
    with pytest.raises(MXNetError, match="input with name 'x' is not found"):
        mx.mod.Module(mlp(), data_names=['x'])
    with pytest.warns(UserWarning, match="name 'lab'"):
        mx.mod.Module(mlp(), label_names=['lab'])
    with pytest.raises(MXNetError, match="Data provided by data_shapes don't match"):
        mx.mod.Module(mlp()).bind([('other', (1, 5))])


def test_names_and_shapes():
    mod = bound_module()
    assert mod.data_names == ['data'] and mod.label_names == ['softmax_label']
    assert mod.output_names == ['softmax_output']
    assert mod.data_shapes == [('data', (4, 5))]
    assert mod.label_shapes == [('softmax_label', (4,))]
    assert mod.output_shapes == [('softmax_output', (4, 3))]
    assert mod.symbol.tojson() == mlp().tojson()


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
def test_init_set_get_params():
    mod = bound_module()
    mod.init_params(mx.init.Constant(0.5))
    args, auxs = mod.get_params()
    assert sorted(args) == ['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight'] and auxs == {}
    np.testing.assert_array_equal(args['fc1_weight'].asnumpy(), 0.5)
    np.testing.assert_array_equal(args['fc1_bias'].asnumpy(), 0)
    new = {k: mx.nd.ones(v.shape) * 2 for k, v in args.items()}
    mod.set_params(new, {})
    np.testing.assert_array_equal(mod.get_params()[0]['fc2_weight'].asnumpy(), 2)
    with pytest.raises(MXNetError, match='fc2_bias is not presented'):
        mod.set_params({k: v for k, v in new.items() if k != 'fc2_bias'}, {})
    partial = {'fc1_weight': mx.nd.ones((8, 5)) * 3}
    mod.init_params(mx.init.Constant(4), arg_params=partial, allow_missing=True,
                    force_init=True)
    args = mod.get_params()[0]
    np.testing.assert_array_equal(args['fc1_weight'].asnumpy(), 3)
    np.testing.assert_array_equal(args['fc2_weight'].asnumpy(), 4)
    with pytest.raises(MXNetError, match="'fc1_weight' has shape"):
        mod.set_params(dict(new, fc1_weight=mx.nd.ones((2, 2))), {})
    # as MXNet: extra names are ignored when copying into the host parameters, and an error
    # when they go straight to the executors (allow_missing) unless allow_extra
    mod.set_params(dict(new, extra=mx.nd.ones((1,))), {})
    with pytest.raises(MXNetError, match='not in the arguments'):
        mod.set_params(dict(new, extra=mx.nd.ones((1,))), {}, allow_missing=True)
    mod.set_params(dict(new, extra=mx.nd.ones((1,))), {}, allow_missing=True, allow_extra=True)


def test_save_and_load_params(tmp_path):
    mod = bound_module()
    mod.init_params(mx.init.Uniform(1))
    fname = str(tmp_path / 'p.params')
    mod.save_params(fname)
    assert sorted(mx.nd.load(fname)) == ['arg:fc1_bias', 'arg:fc1_weight', 'arg:fc2_bias',
                                         'arg:fc2_weight']
    other = bound_module()
    other.init_params()
    other.load_params(fname)
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(other.get_params()[0][k].asnumpy(), v.asnumpy())
    mx.nd.save(fname, {'weird:x': mx.nd.ones((1,))})
    with pytest.raises(MXNetError, match='Invalid param file'):
        other.load_params(fname)


# ----------------------------------------------------------------------------------------------
# computation against NumPy
# ----------------------------------------------------------------------------------------------
def _numpy_mlp(params, x, y):
    """Forward and gradients of mlp() in NumPy: probabilities and d(loss)/d(param)."""
    h = x @ params['fc1_weight'].T + params['fc1_bias']
    a = np.maximum(h, 0)
    z = a @ params['fc2_weight'].T + params['fc2_bias']
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = p - np.eye(p.shape[1])[y.astype(int)]
    da = dz @ params['fc2_weight']
    dh = da * (h > 0)
    grads = {'fc2_weight': dz.T @ a, 'fc2_bias': dz.sum(0), 'fc1_weight': dh.T @ x,
             'fc1_bias': dh.sum(0), 'data': dh @ params['fc1_weight']}
    return p, grads


def test_forward_backward_update_match_numpy(ctx):
    x, y = toy_data(n=4)
    mod = bound_module(context=ctx, fixed_param_names=['fc2_bias'])
    mod.bind([('data', (4, 5))], [('softmax_label', (4,))], inputs_need_grad=True,
             force_rebind=True)
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.1, 'wd': 0.01,
                                                          'momentum': 0.9})
    params = {k: v.asnumpy().astype(np.float64) for k, v in mod.get_params()[0].items()}
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    mod.forward(batch, is_train=True)
    probs, grads = _numpy_mlp(params, x, y)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), probs, rtol=1e-5, atol=1e-6)
    mod.backward()
    np.testing.assert_allclose(mod.get_input_grads()[0].asnumpy(), grads['data'], rtol=1e-4,
                               atol=1e-6)
    mod.update()
    updated = mod.get_params()[0]
    for name in ('fc1_weight', 'fc1_bias', 'fc2_weight'):
        wd = 0.01 if name.endswith('weight') else 0.0   # biases get no weight decay
        expected = params[name] - 0.1 * wd * params[name] - 0.1 * grads[name] / 4
        np.testing.assert_allclose(updated[name].asnumpy(), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(updated['fc2_bias'].asnumpy(), params['fc2_bias'])  # fixed


def test_forward_with_a_different_batch_size_reshapes():
    mod = bound_module(batch=4)
    mod.init_params(mx.init.Uniform(0.5))
    x, y = toy_data(n=7)
    params = {k: v.asnumpy().astype(np.float64) for k, v in mod.get_params()[0].items()}
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]), is_train=False)
    assert mod.get_outputs()[0].shape == (7, 3)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _numpy_mlp(params, x, y)[0],
                               rtol=1e-5, atol=1e-6)
    assert mod.data_shapes == [('data', (7, 5))]
    mod.forward(mx.io.DataBatch([mx.nd.array(x[:3])], None), is_train=False)
    assert mod.get_outputs()[0].shape == (3, 3)
    mod.forward(mx.io.DataBatch([mx.nd.array(x[:4])], [mx.nd.array(y[:4])]))
    assert mod.get_outputs()[0].shape == (4, 3)
    # the reshaped executors share the parameters: an update is seen by all of them
    mod.init_optimizer(optimizer_params={'learning_rate': 1.0})
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(x[:4])], [mx.nd.array(y[:4])]))
    mod.update()
    params = {k: v.asnumpy().astype(np.float64) for k, v in mod.get_params()[0].items()}
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _numpy_mlp(params, x, y)[0],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings('ignore:Parameters already initialized')
def test_no_rebinding_while_shapes_stay(monkeypatch):
    """Per-batch work reuses the executors: no executor is planned during an epoch."""
    x, y = toy_data(n=40)
    it = mx.io.NDArrayIter(x, y, batch_size=8)
    mod = mx.mod.Module(mlp())
    mod.fit(it, num_epoch=1)
    planned = []
    original = mx.executor.Executor._plan
    monkeypatch.setattr(mx.executor.Executor, '_plan',
                        lambda self: planned.append(1) or original(self))
    it.reset()
    mod.fit(it, num_epoch=2)
    mod.score(it, 'acc')
    assert planned == []


def test_grad_req_add_accumulates():
    x, y = toy_data(n=4)
    mod = mx.mod.Module(mlp())
    mod.bind([('data', (4, 5))], [('softmax_label', (4,))], grad_req='add')
    mod.init_params(mx.init.Uniform(0.5))
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    grad = mod._exec_group.grad_arrays[0][0]
    mod.forward_backward(batch)
    once = grad.asnumpy().copy()
    mod.forward_backward(batch)
    np.testing.assert_allclose(grad.asnumpy(), 2 * once, rtol=1e-5)


def test_states():
    data = mx.sym.Variable('data')
    state = mx.sym.Variable('state')
    net = mx.sym.FullyConnected(data, num_hidden=2, name='fc') + state
    mod = mx.mod.Module(net, label_names=None, state_names=['state'])
    mod.bind([('data', (3, 4))])
    mod.init_params(mx.init.Zero())
    mod.set_states(value=1.5)
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), 1.5)
    mod.forward(mx.io.DataBatch([mx.nd.ones((3, 4))], None))
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), 1.5)
    mod.set_states(states=[[mx.nd.ones((3, 2)) * 2]])
    np.testing.assert_array_equal(mod.get_states(merge_multi_context=False)[0][0].asnumpy(), 2)


def test_shared_module_and_borrowed_optimizer():
    mod = bound_module(batch=4)
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer()
    other = mx.mod.Module(mlp())
    other.bind([('data', (2, 5))], [('softmax_label', (2,))], shared_module=mod)
    assert other.params_initialized and other.optimizer_initialized
    assert other._updater is mod._updater
    x, y = toy_data(n=2)
    other.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    other.update()
    mod._sync_params_from_devices()
    other._sync_params_from_devices()
    np.testing.assert_array_equal(mod.get_params()[0]['fc1_weight'].asnumpy(),
                                  other.get_params()[0]['fc1_weight'].asnumpy())


# ----------------------------------------------------------------------------------------------
# fit, score, predict
# ----------------------------------------------------------------------------------------------
def test_fit_logs_mxnet_lines_and_learns(caplog, tmp_path):
    x, y = toy_data(n=64)
    train = mx.io.NDArrayIter(x[:48], y[:48], batch_size=8, shuffle=True)
    val = mx.io.NDArrayIter(x[48:], y[48:], batch_size=8)
    mod = mx.mod.Module(mlp())
    prefix = str(tmp_path / 'mx_mlp')
    epochs, batches, evals = [], [], []
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=val, optimizer_params={'learning_rate': 0.2}, num_epoch=6,
                epoch_end_callback=[mx.callback.do_checkpoint(prefix),
                                    lambda e, s, a, x: epochs.append(e)],
                batch_end_callback=lambda p: batches.append((p.epoch, p.nbatch)),
                eval_end_callback=lambda p: evals.append(p.nbatch))
    lines = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r'Epoch\[0\] Train-accuracy=\d\.\d{6}', lines[0])
    assert re.fullmatch(r'Epoch\[0\] Time cost=\d+\.\d{3}', lines[1])
    assert lines[2] == 'Saved checkpoint to "%s-0001.params"' % prefix
    assert re.fullmatch(r'Epoch\[0\] Validation-accuracy=\d\.\d{6}', lines[3])
    assert lines[-1].startswith('Epoch[5] Validation-accuracy=')
    assert float(lines[-1].split('=')[1]) >= 0.8
    assert epochs == list(range(6)) and evals == [2] * 6
    assert batches[:7] == [(0, k) for k in range(6)] + [(1, 0)]
    assert os.path.exists(prefix + '-0006.params') and os.path.exists(prefix + '-symbol.json')


def test_fit_defaults_and_arguments():
    import inspect
    sig = inspect.signature(mx.mod.BaseModule.fit)
    assert list(sig.parameters)[1:] == [
        'train_data', 'eval_data', 'eval_metric', 'epoch_end_callback', 'batch_end_callback',
        'kvstore', 'optimizer', 'optimizer_params', 'eval_end_callback',
        'eval_batch_end_callback', 'initializer', 'arg_params', 'aux_params', 'allow_missing',
        'force_rebind', 'force_init', 'begin_epoch', 'num_epoch', 'validation_metric',
        'monitor', 'sparse_row_id_fn']
    assert sig.parameters['eval_metric'].default == 'acc'
    assert sig.parameters['optimizer_params'].default == (('learning_rate', 0.01),)
    assert sig.parameters['initializer'].default == mx.init.Uniform(0.01)
    x, y = toy_data(n=16)
    with pytest.raises(MXNetError, match='number of epochs'):
        mx.mod.Module(mlp()).fit(mx.io.NDArrayIter(x, y, 4))


def test_fit_resumes_from_arg_params_and_begin_epoch(caplog):
    x, y = toy_data(n=32)
    it = mx.io.NDArrayIter(x, y, batch_size=8)
    mod = mx.mod.Module(mlp())
    mod.fit(it, num_epoch=1, initializer=mx.init.Constant(0.1))
    args, auxs = mod.get_params()
    resumed = mx.mod.Module(mlp())
    it.reset()
    with caplog.at_level(logging.INFO):
        resumed.fit(it, num_epoch=5, arg_params=args, aux_params=auxs, begin_epoch=3)
    assert [r.getMessage().split()[0] for r in caplog.records if 'Time cost' in
            r.getMessage()] == ['Epoch[3]', 'Epoch[4]']


def test_score_predict_iter_predict():
    x, y = toy_data(n=10)
    mod = bound_module(batch=4)
    mod.init_params(mx.init.Uniform(0.5))
    params = {k: v.asnumpy().astype(np.float64) for k, v in mod.get_params()[0].items()}
    expected = _numpy_mlp(params, x, y)[0]
    it = mx.io.NDArrayIter(x, y, batch_size=4)                 # last batch padded by 2
    out = mod.predict(it)
    assert out.shape == (10, 3)
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5, atol=1e-6)
    listed = mod.predict(it, always_output_list=True)
    assert isinstance(listed, list) and listed[0].shape == (10, 3)
    per_batch = mod.predict(it, merge_batches=False)
    assert [b[0].shape for b in per_batch] == [(4, 3), (4, 3), (2, 3)]
    assert len(mod.predict(it, num_batch=2, merge_batches=False)) == 2
    seen = [(outs[0].shape, i, batch.pad) for outs, i, batch in mod.iter_predict(it)]
    assert seen == [((4, 3), 0, 0), ((4, 3), 1, 0), ((2, 3), 2, 2)]
    arr = mod.predict(x[:4])                                    # a NumPy array: one batch
    np.testing.assert_allclose(arr.asnumpy(), expected[:4], rtol=1e-5, atol=1e-6)
    accuracy = np.mean(np.concatenate([expected, expected[:2]]).argmax(1)
                       == np.concatenate([y, y[:2]]))          # score counts the padding
    assert mod.score(it, 'acc') == [('accuracy', pytest.approx(accuracy))]
    res = mod.score(it, ['acc', 'ce'], num_batch=1)
    assert [n for n, _ in res] == ['accuracy', 'cross-entropy']
    with pytest.raises(MXNetError, match='NDArray or DataIter'):
        mod.predict([1, 2])


# ----------------------------------------------------------------------------------------------
# checkpoints and optimizer states
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore:Parameters already initialized')
def test_checkpoint_with_optimizer_states_resumes_exactly(tmp_path, caplog):
    """2 epochs, checkpoint (with the momentum), load, 1 more epoch == 3 epochs in one go."""
    x, y = toy_data(n=24)
    opt = {'learning_rate': 0.1, 'momentum': 0.9}

    def make():
        return mx.io.NDArrayIter(x, y, batch_size=8)
    mx.random.seed(5)
    straight = mx.mod.Module(mlp())
    straight.fit(make(), num_epoch=3, optimizer_params=opt, initializer=mx.init.Xavier())
    mx.random.seed(5)
    first = mx.mod.Module(mlp())
    first.fit(make(), num_epoch=2, optimizer_params=opt, initializer=mx.init.Xavier())
    prefix = str(tmp_path / 'ck')
    with caplog.at_level(logging.INFO):
        first.save_checkpoint(prefix, 2, save_optimizer_states=True)
    assert 'Saved checkpoint to "%s-0002.params"' % prefix in caplog.text
    assert 'Saved optimizer state to "%s-0002.states"' % prefix in caplog.text
    loaded = mx.mod.Module.load(prefix, 2, load_optimizer_states=True)
    loaded.fit(make(), begin_epoch=2, num_epoch=3, optimizer_params=opt)
    for name, value in straight.get_params()[0].items():
        np.testing.assert_allclose(loaded.get_params()[0][name].asnumpy(), value.asnumpy(),
                                   rtol=1e-5, atol=1e-7)
    without = mx.mod.Module.load(prefix, 2)                     # momentum lost: different
    without.fit(make(), begin_epoch=2, num_epoch=3, optimizer_params=opt)
    assert not np.allclose(without.get_params()[0]['fc1_weight'].asnumpy(),
                           straight.get_params()[0]['fc1_weight'].asnumpy(), rtol=1e-5)


def test_optimizer_states_files(tmp_path):
    mod = bound_module()
    mod.init_params()
    mod.init_optimizer(optimizer='adam')
    x, y = toy_data(n=4)
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    mod.update()
    fname = str(tmp_path / 'o.states')
    mod.save_optimizer_states(fname)
    other = bound_module()
    other.init_params()
    other.init_optimizer(optimizer='adam')
    other.load_optimizer_states(fname)
    np.testing.assert_array_equal(other._updater.states[0][1].asnumpy(),
                                  mod._updater.states[0][1].asnumpy())
    assert [f for f in os.listdir(tmp_path)] == ['o.states']   # no temporary file left
    with pytest.raises(MXNetError, match='cannot read'):
        other.load_optimizer_states(str(tmp_path / 'missing.states'))


def test_manual_optimizer_instance():
    mod = bound_module()
    mod.init_params()
    opt = mx.optimizer.SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match='rescale_grad'):
        mod.init_optimizer(optimizer=opt)
    assert opt.idx2name == {0: 'fc1_weight', 1: 'fc1_bias', 2: 'fc2_weight', 3: 'fc2_bias'}


# ----------------------------------------------------------------------------------------------
# monitor
# ----------------------------------------------------------------------------------------------
def test_install_monitor(caplog):
    x, y = toy_data(n=16)
    mon = mx.monitor.Monitor(2, pattern='fc1.*', sort=True)
    mod = mx.mod.Module(mlp())
    with caplog.at_level(logging.INFO):
        mod.fit(mx.io.NDArrayIter(x, y, batch_size=4), num_epoch=1, monitor=mon,
                initializer=mx.init.Uniform(0.3), optimizer_params={'learning_rate': 0.0})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith('Batch:')]
    names = [line.split()[2] for line in lines]
    # batches 1 and 3; the gradients of fc1's weight and bias (its backward outputs 1 and 2)
    # as MXNet 1.9.1 names them; output 0, the gradient of the data, is not computed
    assert names == ['fc1_backward_output1', 'fc1_backward_output2', 'fc1_bias', 'fc1_output',
                     'fc1_weight'] * 2
    assert lines[2].startswith('Batch:       1 fc1_bias')
    weight = mod.get_params()[0]['fc1_weight'].asnumpy()           # unchanged: lr 0
    assert float(lines[4].split()[3]) == pytest.approx(np.linalg.norm(weight) /
                                                       np.sqrt(weight.size), rel=1e-5)
    x0 = x[:4]
    out = np.maximum(0, 0) + x0 @ weight.T                          # biases start at 0
    assert float(lines[3].split()[3]) == pytest.approx(np.linalg.norm(out) /
                                                       np.sqrt(out.size), rel=1e-5)


def test_monitor_statistic():
    net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=2, name='fc',
                                no_bias=True)
    exe = net.simple_bind(mx.cpu(), data=(1, 2))
    exe.arg_dict['data'][:] = [[3, 4]]
    exe.arg_dict['fc_weight'][:] = [[1, 0], [0, 1]]
    mon = mx.monitor.Monitor(1, pattern='fc_output')
    mon.install(exe)
    mon.tic()
    exe.forward()
    (step, name, text), = mon.toc()
    assert (step, name) == (1, 'fc_output')
    assert float(text) == pytest.approx(5 / np.sqrt(2))          # norm / sqrt(size)
    mon2 = mx.monitor.Monitor(1, stat_func=lambda a: mx.nd.array([a.asnumpy().sum()]),
                              pattern='data')
    mon2.install(exe)
    mon2.tic()
    assert mon2.toc() == [(1, 'data', '7.0\t')]


# ----------------------------------------------------------------------------------------------
# several devices
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kvstore', ['local', 'device', None])
def test_two_devices_train_like_one(kvstore):
    """Batches split over cpu(0) and cpu(1), gradients summed by the KVStore: the same
    parameters as one device."""
    x, y = toy_data(n=32)
    results = []
    for contexts in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        mod = mx.mod.Module(mlp(), context=contexts)
        mod.fit(mx.io.NDArrayIter(x, y, batch_size=8), num_epoch=2, kvstore=kvstore,
                initializer=mx.init.Constant(0.05),
                optimizer_params={'learning_rate': 0.1, 'momentum': 0.9})
        results.append(mod.get_params()[0])
        if len(contexts) == 2 and kvstore is not None:
            assert mod._kvstore is not None and mod._kvstore.type == kvstore
            assert mod._update_on_kvstore
    if kvstore is None:        # without a store each device updates on its own gradients
        assert not np.allclose(results[0]['fc1_weight'].asnumpy(),
                               results[1]['fc1_weight'].asnumpy())
        return
    for name in results[0]:
        np.testing.assert_allclose(results[1][name].asnumpy(), results[0][name].asnumpy(),
                                   rtol=1e-4, atol=1e-6)


def test_two_devices_outputs_and_update_not_on_kvstore(monkeypatch):
    monkeypatch.setenv('MXNET_UPDATE_ON_KVSTORE', '0')
    x, y = toy_data(n=12)
    mod = mx.mod.Module(mlp(), context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1, 2])
    mod.bind([('data', (12, 5))], [('softmax_label', (12,))])
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer()
    assert not mod._update_on_kvstore and mod._kvstore is not None
    assert [s for s in mod._exec_group.slices] == [slice(0, 4), slice(4, 12)]
    params = {k: v.asnumpy().astype(np.float64) for k, v in mod.get_params()[0].items()}
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _numpy_mlp(params, x, y)[0],
                               rtol=1e-5, atol=1e-6)
    assert [o.shape for o in mod.get_outputs(merge_multi_context=False)[0]] == [(4, 3), (8, 3)]
    mod.backward()
    mod.update()
    grads = _numpy_mlp(params, x, y)[1]
    np.testing.assert_allclose(mod.get_params()[0]['fc2_weight'].asnumpy(),
                               params['fc2_weight'] - 0.01 * grads['fc2_weight'] / 12,
                               rtol=1e-4, atol=1e-6)
    metric = mx.metric.Accuracy()
    mod.update_metric(metric, [mx.nd.array(y)])
    assert metric.num_inst == 12
