"""MXNet 1.x example scripts, run end to end with ``import mxref as mx``.

Each test is the body of a classic script from MXNet's repository or documentation, shortened
to run in a second or two (fewer images, fewer epochs) but otherwise as users write it: the
image-classification MNIST script with Module, the FeedForward MLP, the Monitor example, the
linear-regression tutorial, custom metrics, a smooth_l1 box regression and the NDArray random
functions.  Where the test checks a log line or a name, the expected text is what MXNet 1.9.1
printed for the same script.
"""
import logging
import os
import re

import numpy as np
import pytest

import mxref as mx


def _mnist(data_dir, name, **kwargs):
    """An MNISTIter over one part of the 10k test images (``num_parts`` keeps it small)."""
    folder = os.path.join(data_dir, 'mnist')
    return mx.io.MNISTIter(image=os.path.join(folder, name + '-images-idx3-ubyte'),
                           label=os.path.join(folder, name + '-labels-idx1-ubyte'), **kwargs)


def _mlp(num_classes=10):
    """``get_mlp`` of example/image-classification/symbols/mlp.py."""
    data = mx.symbol.Variable('data')
    data = mx.sym.Flatten(data=data)
    fc1 = mx.symbol.FullyConnected(data=data, name='fc1', num_hidden=128)
    act1 = mx.symbol.Activation(data=fc1, name='relu1', act_type='relu')
    fc2 = mx.symbol.FullyConnected(data=act1, name='fc2', num_hidden=64)
    act2 = mx.symbol.Activation(data=fc2, name='relu2', act_type='relu')
    fc3 = mx.symbol.FullyConnected(data=act2, name='fc3', num_hidden=num_classes)
    return mx.symbol.SoftmaxOutput(data=fc3, name='softmax')


def _messages(caplog):
    """What the script's Python logging receives.  MXNet's C++ log lines (mxref's
    ``mxref.native`` logger) go to stderr on their own and are left out: pytest >= 9.2's
    ``caplog`` also listens to loggers that do not propagate to the root logger."""
    return [r.getMessage() for r in caplog.records if r.name != 'mxref.native']


# ----------------------------------------------------------------------------------------------
# example/image-classification/train_mnist.py (Module)
# ----------------------------------------------------------------------------------------------
def test_train_mnist_with_module(data_dir, tmp_path, capsys, caplog):
    train = _mnist(data_dir, 't10k', input_shape=(1, 28, 28), batch_size=64, shuffle=True,
                   flat=False, num_parts=5, part_index=0)
    val = _mnist(data_dir, 't10k', input_shape=(1, 28, 28), batch_size=64, flat=False,
                 num_parts=5, part_index=1)
    # MNISTIter writes its load line to stderr, as MXNet's C++ iterator does
    err = capsys.readouterr().err
    assert 'MNISTIter: load 2000 images, shuffle=1, shape=[64,1,28,28]' in err
    model = mx.mod.Module(context=mx.cpu(), symbol=_mlp())
    lr_scheduler = mx.lr_scheduler.MultiFactorScheduler(step=[20], factor=0.1)
    optimizer_params = {'learning_rate': 0.05, 'wd': 0.0001, 'lr_scheduler': lr_scheduler,
                        'multi_precision': True, 'momentum': 0.9}
    eval_metrics = ['accuracy', mx.metric.create('top_k_accuracy', top_k=5)]
    prefix = str(tmp_path / 'mnist')
    checkpoint = mx.callback.module_checkpoint(model, prefix, period=1)
    with caplog.at_level(logging.INFO):
        model.fit(train, begin_epoch=0, num_epoch=2, eval_data=val, eval_metric=eval_metrics,
                  kvstore=mx.kvstore.create('local'), optimizer='sgd',
                  optimizer_params=optimizer_params,
                  initializer=mx.init.Xavier(rnd_type='gaussian', factor_type='in', magnitude=2),
                  batch_end_callback=[mx.callback.Speedometer(64, 10)],
                  epoch_end_callback=checkpoint, allow_missing=True)
    messages = _messages(caplog)
    assert 'Update[21]: Change learning rate to 5.00000e-03' in messages
    assert any(re.fullmatch(r'Epoch\[0\] Batch \[0-10\]\tSpeed: [\d.]+ samples/sec\t'
                            r'accuracy=[\d.]+\ttop_k_accuracy_5=[\d.]+', m) for m in messages)
    assert 'Saved checkpoint to "%s-0002.params"' % prefix in messages
    assert os.path.isfile(prefix + '-symbol.json')
    scores = dict(model.score(val, ['acc', 'ce']))
    assert scores['accuracy'] > 0.8 and scores['cross-entropy'] < 0.7
    _, arg_params, aux_params = mx.model.load_checkpoint(prefix, 2)
    assert sorted(arg_params) == ['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight',
                                  'fc3_bias', 'fc3_weight']


# ----------------------------------------------------------------------------------------------
# the FeedForward MLP of MXNet's early MNIST examples
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_feedforward_mlp(data_dir, tmp_path, capsys, caplog):
    train = _mnist(data_dir, 't10k', data_shape=(784,), batch_size=100, shuffle=True, flat=True,
                   silent=False, seed=10, num_parts=5, part_index=0)
    val = _mnist(data_dir, 't10k', data_shape=(784,), batch_size=100, flat=True, silent=True,
                 num_parts=5, part_index=1)
    err = capsys.readouterr().err
    assert 'MNISTIter: load 2000 images, shuffle=1, shape=(100,784)' in err
    assert err.count('MNISTIter: load') == 1                          # silent=True: no line
    model = mx.model.FeedForward(ctx=mx.cpu(), symbol=_mlp(), num_epoch=2, learning_rate=0.1,
                                 momentum=0.9, wd=0.00001,
                                 initializer=mx.init.Xavier(factor_type='in', magnitude=2.34))
    prefix = str(tmp_path / 'ff')
    with caplog.at_level(logging.INFO):
        model.fit(X=train, eval_data=val, batch_end_callback=mx.callback.Speedometer(100, 10),
                  epoch_end_callback=mx.callback.do_checkpoint(prefix))
    messages = _messages(caplog)
    assert messages[0] == 'Start training with [cpu(0)]'           # MXNet 1.9.1's first line
    assert 'Epoch[1] Resetting Data Iterator' in messages
    assert 'Saved checkpoint to "%s-0002.params"' % prefix in messages
    prob = model.predict(val)
    assert prob.shape == (2000, 10)
    accuracy = model.score(val)
    assert accuracy > 0.8
    assert mx.model.FeedForward.load(prefix, 2).score(val) == pytest.approx(accuracy)


# ----------------------------------------------------------------------------------------------
# example/python-howto/monitor_weights.py
# ----------------------------------------------------------------------------------------------
# What MXNet 1.9.1 logged for batch 1 of that script (names in order), less the two gradients
# nobody asked for (of the data and of the label), which MXNet reports from unwritten buffers
# and mxref does not compute
MONITOR_WEIGHTS_NAMES = [
    'fc1_output', 'relu1_output', 'fc2_output', 'relu2_output', 'fc3_output', 'softmax_output',
    'softmax_backward_output0', 'fc3_backward_output0', 'fc3_backward_output1',
    'fc3_backward_output2', 'relu2_backward_output', 'fc2_backward_output0',
    'fc2_backward_output1', 'fc2_backward_output2', 'relu1_backward_output',
    'fc1_backward_output1', 'fc1_backward_output2', 'data', 'fc1_weight', 'fc1_bias',
    'fc2_weight', 'fc2_bias', 'fc3_weight', 'fc3_bias', 'softmax_label']


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_monitor_weights(data_dir, caplog):
    assert mx.mon is mx.monitor
    data = mx.symbol.Variable('data')
    fc1 = mx.symbol.FullyConnected(data=data, name='fc1', num_hidden=128)
    act1 = mx.symbol.Activation(data=fc1, name='relu1', act_type='relu')
    fc2 = mx.symbol.FullyConnected(data=act1, name='fc2', num_hidden=64)
    act2 = mx.symbol.Activation(data=fc2, name='relu2', act_type='relu')
    fc3 = mx.symbol.FullyConnected(data=act2, name='fc3', num_hidden=10)
    mlp = mx.symbol.SoftmaxOutput(data=fc3, name='softmax')
    train = _mnist(data_dir, 't10k', batch_size=100, shuffle=True, flat=True, silent=True,
                   num_parts=10, part_index=0)
    model = mx.model.FeedForward(ctx=mx.cpu(), symbol=mlp, num_epoch=1, learning_rate=0.1,
                                 momentum=0.9, wd=0.00001)

    def norm_stat(d):
        return mx.nd.norm(d) / np.sqrt(d.size)
    mon = mx.mon.Monitor(5, norm_stat)
    with caplog.at_level(logging.INFO):
        model.fit(X=train, monitor=mon, batch_end_callback=mx.callback.Speedometer(100, 5))
    lines = [m for m in _messages(caplog) if m.startswith('Batch:')]
    assert len(lines) == 2 * len(MONITOR_WEIGHTS_NAMES)                 # batches 1 and 6
    assert [line.split()[2] for line in lines] == MONITOR_WEIGHTS_NAMES * 2
    assert re.fullmatch(r'Batch:       1 fc1_output {21}[\d.e+-]+\t', lines[0])
    assert lines[len(MONITOR_WEIGHTS_NAMES)].startswith('Batch:       6 fc1_output')
    weight_norm = float(lines[MONITOR_WEIGHTS_NAMES.index('fc1_weight')].split()[3])
    assert 0 < weight_norm < 1


def test_monitor_names_on_an_executor():
    """The names MXNet 1.9.1 gives every tensor, forward, backward and with monitor_all."""
    data = mx.sym.Variable('data')
    fc1 = mx.sym.FullyConnected(data, name='fc1', num_hidden=4)
    act = mx.sym.Activation(fc1, act_type='relu', name='relu1')
    bn = mx.sym.BatchNorm(act, name='bn')
    fc2 = mx.sym.FullyConnected(bn, name='fc2', num_hidden=3)
    out = mx.sym.SoftmaxOutput(fc2, name='softmax')
    exe = out.simple_bind(mx.cpu(), data=(2, 5))                   # every grad_req 'write'
    mon = mx.mon.Monitor(1)
    mon.install(exe)
    mon.tic()
    exe.forward(is_train=True)
    exe.backward()
    results = mon.toc()
    assert [name for _, name, _ in results] == [                   # MXNet 1.9.1's list
        'fc1_output', 'relu1_output', 'bn_output', 'bn_mean', 'bn_var', 'fc2_output',
        'softmax_output', 'softmax_backward_output0', 'softmax_backward_output1',
        'fc2_backward_output0', 'fc2_backward_output1', 'fc2_backward_output2',
        'bn_backward_output0', 'bn_backward_output1', 'bn_backward_output2',
        'relu1_backward_output', 'fc1_backward_output0', 'fc1_backward_output1',
        'fc1_backward_output2', 'data', 'fc1_weight', 'fc1_bias', 'bn_gamma', 'bn_beta',
        'fc2_weight', 'fc2_bias', 'softmax_label', 'bn_moving_mean', 'bn_moving_var']
    values = {name: text for _, name, text in results}
    assert values['softmax_output'] == '%s\t' % np.float32(1 / 3)   # all-zero inputs: uniform
    assert float(values['fc2_backward_output2']) == pytest.approx(np.sqrt(8 / 9), rel=1e-6)
    # monitor_all adds each operator's inputs before its forward (not backward's inputs)
    exe = out.simple_bind(mx.cpu(), data=(2, 5))
    mon = mx.mon.Monitor(1, monitor_all=True, pattern='fc1.*|data', sort=True)
    mon.install(exe)
    mon.tic()
    exe.forward(is_train=True)
    exe.backward()
    assert [name for _, name, _ in mon.toc()] == [
        'data', 'data', 'fc1_backward_output0', 'fc1_backward_output1', 'fc1_backward_output2',
        'fc1_bias', 'fc1_bias', 'fc1_bias', 'fc1_data', 'fc1_output', 'fc1_weight',
        'fc1_weight', 'fc1_weight']     # a variable input: its own name, then fc1_<input>
    # (MXNet also lists 'data' and 'fc1_weight' once more, as inputs of fc1's backward node)


# ----------------------------------------------------------------------------------------------
# the linear-regression tutorial (docs/tutorials, MXNet 1.x)
# ----------------------------------------------------------------------------------------------
def test_linear_regression_tutorial(caplog):
    np.random.seed(0)
    mx.random.seed(0)
    train_data = np.random.uniform(0, 1, [100, 2])
    train_label = np.array([train_data[i][0] + 2 * train_data[i][1] for i in range(100)])
    batch_size = 1
    eval_data = np.array([[7, 2], [6, 10], [12, 2]])
    eval_label = np.array([11, 26, 16])
    train_iter = mx.io.NDArrayIter(train_data, train_label, batch_size, shuffle=True,
                                   label_name='lin_reg_label')
    eval_iter = mx.io.NDArrayIter(eval_data, eval_label, batch_size, shuffle=False)
    X = mx.sym.Variable('data')
    Y = mx.symbol.Variable('lin_reg_label')
    fully_connected_layer = mx.sym.FullyConnected(data=X, name='fc1', num_hidden=1)
    lro = mx.sym.LinearRegressionOutput(data=fully_connected_layer, label=Y, name='lro')
    model = mx.mod.Module(symbol=lro, data_names=['data'], label_names=['lin_reg_label'])
    with caplog.at_level(logging.INFO):
        model.fit(train_iter, eval_iter,
                  optimizer_params={'learning_rate': 0.005, 'momentum': 0.9},
                  num_epoch=20, eval_metric='mse',
                  batch_end_callback=mx.callback.Speedometer(batch_size, 50))
    assert any(re.fullmatch(r'Epoch\[19\] Validation-mse=\d+\.\d{6}', m)
               for m in _messages(caplog))
    predicted = model.predict(eval_iter).asnumpy()
    assert predicted.shape == (3, 1)
    assert np.allclose(predicted[:, 0], eval_label, atol=0.6)
    (name, mse), = model.score(eval_iter, mx.metric.MSE())
    assert name == 'mse' and mse < 0.3


# ----------------------------------------------------------------------------------------------
# custom metrics
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_custom_metrics(caplog):
    np.random.seed(0)
    X = np.random.rand(200, 10).astype('float32')
    y = (X.sum(axis=1) > 5).astype('float32')

    def custom_acc(label, pred):
        return np.mean(label == np.argmax(pred, axis=1))

    def rmse_np(label, pred):
        return np.sqrt(np.mean((label - pred[:, 1]) ** 2))
    acc = mx.metric.np(custom_acc)
    rmse = mx.metric.CustomMetric(feval=rmse_np, name='my_rmse', allow_extra_outputs=False)
    comp = mx.metric.CompositeEvalMetric()
    for metric in (acc, rmse, 'ce'):
        comp.add(metric)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=2,
                                                     name='fc'), name='softmax')
    it = mx.io.NDArrayIter(X, y, batch_size=20)
    mod = mx.mod.Module(net)
    with caplog.at_level(logging.INFO):
        mod.fit(it, num_epoch=3, eval_metric=comp, optimizer_params={'learning_rate': 0.5})
    epoch_lines = [m for m in _messages(caplog) if m.startswith('Epoch[2] Train')]
    assert [m.split('=')[0] for m in epoch_lines] == [
        'Epoch[2] Train-custom_acc', 'Epoch[2] Train-my_rmse', 'Epoch[2] Train-cross-entropy']
    names = [name for name, _ in mod.score(it, comp)]
    assert names == ['custom_acc', 'my_rmse', 'cross-entropy']

    @mx.metric.register
    @mx.metric.alias('myacc_scripts')
    class MyAccScripts(mx.metric.EvalMetric):
        def __init__(self):
            super(MyAccScripts, self).__init__('myacc_scripts')

        def update(self, labels, preds):
            for label, pred in zip(labels, preds):
                self.sum_metric += (pred.asnumpy().argmax(axis=1) == label.asnumpy()).sum()
                self.num_inst += label.shape[0]
    (name, value), = mod.score(it, 'myacc_scripts')
    assert name == 'myacc_scripts'
    assert value == pytest.approx(dict(mod.score(it, 'acc'))['accuracy'])
    model = mx.model.FeedForward(net, num_epoch=1, learning_rate=0.1)
    with caplog.at_level(logging.INFO):
        model.fit(X, y, eval_metric=custom_acc)                     # a bare function as feval


# ----------------------------------------------------------------------------------------------
# box regression with smooth_l1 and MakeLoss (the rcnn example's loss)
# ----------------------------------------------------------------------------------------------
def test_smooth_l1_box_regression():
    np.random.seed(1)
    mx.random.seed(1)
    X = np.random.rand(256, 4).astype('float32')
    W = np.array([[1., -2, 0.5, 3], [0.3, 0.2, -1, 1]], dtype='float32')
    Y = X @ W.T
    data = mx.sym.Variable('data')
    label = mx.sym.Variable('bbox_target')
    weight = mx.sym.Variable('bbox_weight')
    pred = mx.sym.FullyConnected(data, num_hidden=2, name='bbox_pred')
    diff = weight * (pred - label)
    loss_ = mx.symbol.smooth_l1(name='bbox_loss_', scalar=1.0, data=diff)
    loss = mx.sym.MakeLoss(name='bbox_loss', data=loss_, grad_scale=1.0 / 32)
    out = mx.sym.Group([loss, mx.sym.BlockGrad(pred, name='pred_out')])
    it = mx.io.NDArrayIter({'data': X}, {'bbox_target': Y, 'bbox_weight': np.ones_like(Y)},
                           batch_size=32, shuffle=True)
    mod = mx.mod.Module(out, data_names=['data'], label_names=['bbox_target', 'bbox_weight'])

    class SmoothL1Metric(mx.metric.EvalMetric):
        def __init__(self):
            super(SmoothL1Metric, self).__init__('SmoothL1')

        def update(self, labels, preds):
            self.sum_metric += preds[0].asnumpy().sum()
            self.num_inst += preds[0].shape[0]
    metric = SmoothL1Metric()
    mod.fit(it, num_epoch=40, eval_metric=metric, optimizer='sgd',
            optimizer_params={'learning_rate': 0.5, 'momentum': 0.9})
    (_, final_loss), = mod.score(it, metric)
    assert final_loss < 0.01
    learned = mod.get_params()[0]['bbox_pred_weight'].asnumpy()
    assert np.abs(learned - W).max() < 0.15


# ----------------------------------------------------------------------------------------------
# NDArray and Symbol random functions of MXNet 1.x scripts
# ----------------------------------------------------------------------------------------------
def test_random_functions_of_mxnet_1x_scripts():
    mx.random.seed(128)
    a = mx.nd.random_uniform(low=0, high=1, shape=(2, 3))
    b = mx.nd.random_normal(loc=0, scale=1, shape=(2,))
    c = mx.nd.uniform(-1, 1, shape=(2, 2))
    d = mx.nd.normal(shape=(3,))
    e = mx.nd.random_randint(low=0, high=10, shape=(4,))
    assert [x.shape for x in (a, b, c, d, e)] == [(2, 3), (2,), (2, 2), (3,), (4,)]
    assert e.dtype == np.int32 and a.dtype == np.float32
    mx.random.seed(128)
    assert (mx.nd.random_uniform(low=0, high=1, shape=(2, 3)).asnumpy() == a.asnumpy()).all()
    # noise added in the graph, drawn again at each forward (data augmentation in a symbol)
    data = mx.sym.Variable('data')
    noisy = data + mx.sym.random_normal(loc=0, scale=0.1, shape=(4, 3))
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(noisy, num_hidden=1, name='fc'),
                                        name='lro')
    mod = mx.mod.Module(net, label_names=['lro_label'])
    x = np.random.rand(16, 3).astype('float32')
    it = mx.io.NDArrayIter(x, x.sum(axis=1), batch_size=4, label_name='lro_label')
    mod.fit(it, num_epoch=2, eval_metric='mse', optimizer_params={'learning_rate': 0.1})
    assert mod.get_outputs()[0].shape == (4, 1)


# ----------------------------------------------------------------------------------------------
# errors and stderr
# ----------------------------------------------------------------------------------------------
def test_mxnet_error_is_a_runtime_error():
    """MXNet 1.9's MXNetError derives from RuntimeError; scripts catch either."""
    assert issubclass(mx.base.MXNetError, RuntimeError)
    with pytest.raises(RuntimeError):
        mx.nd.ones((2, 3)).reshape((4,))
    try:
        mx.sym.Variable('x').infer_shape(y=(2, 3))
    except RuntimeError as err:                      # a ValueError too, as before
        assert isinstance(err, (mx.base.MXNetError, ValueError))


def test_mnist_iter_line_goes_to_stderr_once(data_dir, capsys):
    """Printed once even when the script configures logging (MXNet's C++ log is separate)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()                # what logging.basicConfig would add
    seen_by_root = []
    handler.emit = lambda record: seen_by_root.append(record.getMessage())
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        _mnist(data_dir, 't10k', batch_size=50, shuffle=False, num_parts=10)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    err = capsys.readouterr().err
    assert re.search(r'^\[\d\d:\d\d:\d\d\] mnist\.py:\d+: MNISTIter: load 1000 images, '
                     r'shuffle=0, shape=\[50,1,28,28\]$', err, re.M)
    assert err.count('MNISTIter: load') == 1
    assert not any('MNISTIter' in m for m in seen_by_root)
