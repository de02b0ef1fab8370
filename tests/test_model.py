"""mx.model (checkpoints in MXNet's files, FeedForward), mx.callback, mx.kv."""
import logging
import os
import re

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError

FIXTURE_NETS = ['mlp', 'lenet', 'lstm']


def mlp(classes=3):
    net = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(net, name='fc1', num_hidden=8)
    net = mx.sym.Activation(net, name='relu1', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc2', num_hidden=classes)
    return mx.sym.SoftmaxOutput(net, name='softmax')


def toy_data(n=60, features=5, classes=3, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.normal(0, 3, (classes, features))
    labels = rng.randint(0, classes, n)
    return (centers[labels] + rng.normal(0, 1, (n, features))).astype(np.float32), labels


# ----------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', FIXTURE_NETS)
def test_fixture_checkpoints_load_and_rewrite_byte_for_byte(name, fixtures_dir, tmp_path):
    prefix = os.path.join(fixtures_dir, name)
    try:
        sym, args, auxs = mx.model.load_checkpoint(prefix, 1)
    except mx.base.MXNetKeyError as err:           # an operator of the kernels issue
        pytest.skip(str(err))
    case = np.load(prefix + '-case.npz')
    for key, value in args.items():
        np.testing.assert_array_equal(value.asnumpy(), case['arg:' + key])
    assert set(args) <= set(sym.list_arguments()) and set(auxs) == \
        set(sym.list_auxiliary_states())
    out = str(tmp_path / name)
    mx.model.save_checkpoint(out, 1, sym, args, auxs)
    with open(prefix + '-0001.params', 'rb') as f, open(out + '-0001.params', 'rb') as g:
        assert f.read() == g.read()
    with open(prefix + '-symbol.json') as f, open(out + '-symbol.json') as g:
        assert f.read() == g.read()


def test_fixture_checkpoint_predicts_like_mxnet(fixtures_dir):
    prefix = os.path.join(fixtures_dir, 'mlp')
    case = np.load(prefix + '-case.npz')
    mod = mx.mod.Module.load(prefix, 1)
    data = case['arg:data']
    mod.bind([('data', data.shape)], for_training=False, label_shapes=[('softmax_label',
                                                                         (data.shape[0],))])
    mod.forward(mx.io.DataBatch([mx.nd.array(data)], None), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), case['infer_out0'], rtol=1e-5,
                               atol=1e-6)


def test_checkpoint_names_keys_and_log(tmp_path, caplog):
    prefix = str(tmp_path / 'net')
    args = {'fc1_weight': mx.nd.ones((2, 3)), 'fc1_bias': mx.nd.zeros((2,))}
    auxs = {'bn_moving_mean': mx.nd.ones((2,))}
    with caplog.at_level(logging.INFO):
        mx.model.save_checkpoint(prefix, 12, mlp(), args, auxs)
    assert caplog.records[-1].getMessage() == 'Saved checkpoint to "%s-0012.params"' % prefix
    assert sorted(os.listdir(tmp_path)) == ['net-0012.params', 'net-symbol.json']
    assert sorted(mx.nd.load(prefix + '-0012.params')) == \
        ['arg:fc1_bias', 'arg:fc1_weight', 'aux:bn_moving_mean']
    sym, a, x = mx.model.load_checkpoint(prefix, 12)
    assert sym.tojson() == mlp().tojson()
    assert sorted(a) == ['fc1_bias', 'fc1_weight'] and list(x) == ['bn_moving_mean']
    mx.model.save_checkpoint(prefix, 13, None, args, {})       # no symbol: params only
    assert mx.model.load_params(prefix, 13)[1] == {}
    with pytest.raises(MXNetError, match='cannot read'):
        mx.model.load_checkpoint(prefix, 14)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    prefix = str(tmp_path / 'net')
    mx.model.save_checkpoint(prefix, 1, mlp(), {'w': mx.nd.ones((2,))}, {})
    before = open(prefix + '-0001.params', 'rb').read()

    def crash(src, dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError, match='disk full'):
        mx.model.save_checkpoint(prefix, 1, None, {'w': mx.nd.zeros((5,))}, {})
    assert open(prefix + '-0001.params', 'rb').read() == before   # untouched
    assert sorted(os.listdir(tmp_path)) == ['net-0001.params', 'net-symbol.json']


def test_empty_params_file_warns(tmp_path, caplog):
    mx.nd.save(str(tmp_path / 'e-0001.params'), {})
    with caplog.at_level(logging.WARNING):
        assert mx.model.load_params(str(tmp_path / 'e'), 1) == ({}, {})
    assert "is empty" in caplog.text


# ----------------------------------------------------------------------------------------------
# FeedForward
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_feedforward_fit_predict_score_save_load(tmp_path, caplog):
    x, y = toy_data()
    model = mx.model.FeedForward(mlp(), num_epoch=6, learning_rate=0.2, numpy_batch_size=16,
                                 initializer=mx.init.Xavier())
    batches = []
    with caplog.at_level(logging.INFO):
        model.fit(x[:45], y[:45], eval_data=(x[45:], y[45:]),
                  batch_end_callback=lambda p: batches.append(p.nbatch))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == 'Start training with [cpu(0)]'               # MXNet 1.9.1's first line
    assert lines[1] == 'Epoch[0] Resetting Data Iterator'
    assert re.fullmatch(r'Epoch\[0\] Time cost=\d+\.\d{3}', lines[2])
    assert re.fullmatch(r'Epoch\[0\] Validation-accuracy=\d\.\d{6}', lines[3])
    assert not any('Train-accuracy' in line for line in lines)      # as MXNet's FeedForward
    assert batches[:3] == [1, 2, 1]              # counted from 1; 2 whole batches an epoch
    probs = model.predict(x[45:])
    assert probs.shape == (15, 3) and isinstance(probs, np.ndarray)
    accuracy = model.score(mx.io.NDArrayIter(x[45:], y[45:], batch_size=5))
    assert accuracy == pytest.approx(np.mean(probs.argmax(1) == y[45:]))
    assert accuracy >= 0.8
    outputs, data, label = model.predict(mx.io.NDArrayIter(x[45:], y[45:], batch_size=4),
                                         return_data=True)
    np.testing.assert_array_equal(data, x[45:])
    np.testing.assert_array_equal(label, y[45:])
    np.testing.assert_allclose(outputs, probs, rtol=1e-6)
    prefix = str(tmp_path / 'ff')
    model.save(prefix)
    assert os.path.exists(prefix + '-0006.params')
    loaded = mx.model.FeedForward.load(prefix, 6)
    assert loaded.begin_epoch == 6
    np.testing.assert_allclose(loaded.predict(x[45:]), probs, rtol=1e-6)


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_feedforward_create_epoch_size_and_iterators(caplog):
    x, y = toy_data()
    train = mx.io.NDArrayIter(x, y, batch_size=10)
    with caplog.at_level(logging.INFO):
        model = mx.model.FeedForward.create(mlp(), train, num_epoch=2, epoch_size=4,
                                            optimizer=mx.optimizer.SGD(learning_rate=0.1),
                                            eval_data=mx.io.NDArrayIter(x, y, batch_size=10))
    messages = [r.getMessage() for r in caplog.records]
    # 6 batches per pass, 4 per epoch: epoch 1 reaches the end of the data after 2 batches
    assert 'Epoch[0] Resetting Data Iterator' not in messages
    assert messages[0] == 'Start training with [cpu(0)]'
    assert messages[3] == 'Epoch[1] Resetting Data Iterator'
    assert sum('Time cost' in m for m in messages) == 2
    assert sorted(model.arg_params) == ['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight']
    assert model.predict(train, num_batch=2).shape == (20, 3)


def test_feedforward_arguments_and_errors():
    with pytest.warns(DeprecationWarning, match='FeedForward has been deprecated'):
        model = mx.model.FeedForward(mlp())
    assert model.ctx == [mx.cpu()] and model.optimizer == 'sgd' and \
        model.numpy_batch_size == 128 and model.initializer == mx.init.Uniform(0.01)
    x, y = toy_data()
    with pytest.warns(DeprecationWarning):
        extra = mx.model.FeedForward(mlp(), arg_params={'unused': mx.nd.ones((1,))},
                                     allow_extra_params=True)
    assert extra.arg_params == {}
    with pytest.raises(MXNetError, match='num_epoch'):
        model.fit(x, y)
    with pytest.raises(MXNetError, match='y must be specified'):
        model._init_iter(x, None, is_train=True)
    with pytest.raises(MXNetError, match='not equal'):
        model._init_iter(x, y[:3], is_train=True)
    with pytest.raises(MXNetError, match='X must be DataIter'):
        model._init_iter([1, 2], None, is_train=False)


# ----------------------------------------------------------------------------------------------
# callbacks
# ----------------------------------------------------------------------------------------------
def _param(epoch, nbatch, metric):
    return mx.model.BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=metric, locals=None)


class FakeClock:
    def __init__(self, *times):
        self.times = list(times)

    def time(self):
        return self.times.pop(0)


def test_speedometer_lines(caplog, monkeypatch):
    monkeypatch.setattr(mx.callback, 'time', FakeClock(100.0, 102.0, 102.0, 103.0, 103.0))
    metric = mx.metric.Accuracy()
    metric.update([mx.nd.array([1, 0])], [mx.nd.array([1, 1])])
    speed = mx.callback.Speedometer(batch_size=10, frequent=2)
    with caplog.at_level(logging.INFO):
        for n in range(5):
            speed(_param(3, n, metric))
    assert [r.getMessage() for r in caplog.records] == [
        'Epoch[3] Batch [0-2]\tSpeed: 10.00 samples/sec\taccuracy=0.500000',
        'Epoch[3] Batch [2-4]\tSpeed: 20.00 samples/sec\taccuracy=nan']
    caplog.clear()
    monkeypatch.setattr(mx.callback, 'time', FakeClock(0.0, 1.0, 1.0))
    no_reset = mx.callback.Speedometer(batch_size=4, frequent=1, auto_reset=False)
    with caplog.at_level(logging.INFO):
        no_reset(_param(0, 0, None))
        no_reset(_param(0, 1, None))
    assert caplog.records[0].getMessage() == 'Iter[0] Batch [1]\tSpeed: 4.00 samples/sec'


def test_other_batch_callbacks(caplog):
    metric = mx.metric.create('acc')
    metric.update([mx.nd.array([1, 1])], [mx.nd.array([1, 0])])
    with caplog.at_level(logging.INFO):
        mx.callback.log_train_metric(2, auto_reset=True)(_param(1, 4, metric))
        mx.callback.ProgressBar(total=4, length=8)(_param(0, 1, metric))
        mx.callback.LogValidationMetricsCallback()(_param(2, 7, mx.metric.create(['acc'])))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == 'Iter[1] Batch[4] Train-accuracy=0.500000'
    assert messages[1] == '[==------] 25%\r'
    assert messages[2] == 'Epoch[2] Validation-accuracy=nan'
    assert metric.num_inst == 0                                     # auto_reset


def test_checkpoint_callbacks(tmp_path):
    prefix = str(tmp_path / 'cb')
    callback = mx.callback.do_checkpoint(prefix, period=2)
    args = {'fc1_weight': mx.nd.ones((1,))}
    for epoch in range(4):
        callback(epoch, mlp(), args, {})
    assert sorted(os.listdir(tmp_path)) == ['cb-0002.params', 'cb-0004.params',
                                            'cb-symbol.json']

    class Recorder:
        def __init__(self):
            self.calls = []

        def save_checkpoint(self, *args):
            self.calls.append(args)
    rec = Recorder()
    module_cb = mx.callback.module_checkpoint(rec, 'p', period=3, save_optimizer_states=True)
    for epoch in range(6):
        module_cb(epoch)
    assert rec.calls == [('p', 3, True), ('p', 6, True)]


# ----------------------------------------------------------------------------------------------
# KVStore
# ----------------------------------------------------------------------------------------------
def test_kvstore_push_pull_and_optimizer(tmp_path):
    kv = mx.kv.create('local')
    assert (kv.type, kv.rank, kv.num_workers) == ('local', 0, 1)
    kv.init(['a', 'b'], [mx.nd.zeros((2,)), mx.nd.ones((3,))])
    kv.push('a', [mx.nd.ones((2,)), mx.nd.ones((2,), ctx=mx.cpu(1)) * 2])
    outs = [mx.nd.zeros((2,)), mx.nd.zeros((2,), ctx=mx.cpu(1))]
    kv.pull('a', out=outs)
    for out in outs:
        np.testing.assert_array_equal(out.asnumpy(), [3, 3])
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.5, momentum=0.9))
    kv.pushpull('b', [mx.nd.ones((3,)), mx.nd.ones((3,))], out=[mx.nd.zeros((3,))])
    result = mx.nd.zeros((3,))
    kv.pull('b', out=result)
    np.testing.assert_allclose(result.asnumpy(), 1 - 0.5 * 2)
    fname = str(tmp_path / 'kv.states')
    kv.save_optimizer_states(fname)
    other = mx.kv.create('device')
    other.set_optimizer(mx.optimizer.SGD(momentum=0.9))
    other.load_optimizer_states(fname)
    np.testing.assert_allclose(other._updater.states['b'].asnumpy(), -1.0)
    assert kv.is_capable(mx.kv.KVStoreBase.OPTIMIZER)


def test_kvstore_errors():
    with pytest.raises(MXNetError, match='not supported by mxref'):
        mx.kv.create('dist_sync')
    kv = mx.kv.create()
    with pytest.raises(MXNetError, match='not initialised'):
        kv.push('x', mx.nd.ones((1,)))
    with pytest.raises(MXNetError, match='gradient compression'):
        kv.set_gradient_compression({'type': '2bit', 'threshold': 0.5})
    with pytest.raises(MXNetError, match='no optimizer'):
        kv.save_optimizer_states('x')
    with pytest.raises(MXNetError, match='expected an Optimizer'):
        kv.set_optimizer('sgd')
