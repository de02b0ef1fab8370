"""mx.mod.SequentialModule, PythonModule and PythonLossModule: a chain of modules trains to
the same parameters as the single Module of the whole network, a loss written in Python
trains like SoftmaxOutput, shapes and names through the chain, and the errors of calls made
out of order.  Values marked "MXNet 1.9.1" were observed running the same code on it."""
import logging

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetValueError
from mxref.module import ModuleStateError


def toy_problem():
    """20 examples of 5 features in 3 classes, and initial parameters for a 5-8-3 network
    (the same NumPy draws were fed to MXNet 1.9.1 for the reference values below)."""
    rs = np.random.RandomState(0)
    x = rs.uniform(-1, 1, (20, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32) + (x[:, 2] > 0.5)
    params = {'fc1_weight': rs.uniform(-0.5, 0.5, (8, 5)),
              'fc1_bias': rs.uniform(-0.1, 0.1, (8,)),
              'fc2_weight': rs.uniform(-0.5, 0.5, (3, 8)),
              'fc2_bias': rs.uniform(-0.1, 0.1, (3,))}
    params = {k: v.astype(np.float32) for k, v in params.items()}
    return x, y, params


def nd_params(params):
    return {k: mx.nd.array(v) for k, v in params.items()}


def hidden_sym():
    fc1 = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=8, name='fc1')
    return mx.sym.Activation(fc1, act_type='relu', name='relu1')


def top_sym():
    fc2 = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=3, name='fc2')
    return mx.sym.SoftmaxOutput(fc2, name='softmax')


def two_stage():
    """FC -> relu, then FC -> SoftmaxOutput taking the labels."""
    first = mx.mod.Module(hidden_sym(), label_names=None)
    second = mx.mod.Module(top_sym())
    seq = mx.mod.SequentialModule()
    seq.add(first).add(second, take_labels=True, auto_wiring=True)
    return seq, first, second


def softmax_ce_grad(scores, labels):
    """d(softmax cross-entropy)/d(scores), in NumPy: softmax(scores) - onehot(labels)."""
    s = scores.asnumpy()
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(p)), labels.asnumpy().astype(int)] -= 1
    return p


def fit_lines(caplog, module, x, y, params):
    """Train 3 epochs with momentum SGD; return the log lines without the timings."""
    with caplog.at_level(logging.INFO):
        module.fit(mx.io.NDArrayIter(x, y, batch_size=5),
                   eval_data=mx.io.NDArrayIter(x, y, batch_size=5), num_epoch=3,
                   arg_params=nd_params(params),
                   optimizer_params={'learning_rate': 0.5, 'momentum': 0.9})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith('Epoch')]
    caplog.clear()
    return [line for line in lines if 'Time cost' not in line]


# The parameters after fit_lines, MXNet 1.9.1 (the same for the chain and the whole Module).
MXNET_TRAINED = {
    'fc1_bias': [0.23398387, 0.29531673, -0.11234187, -1.3623102, 0.7238997, 0.4492473],
    'fc2_bias': [1.1567808, 0.16900554, -1.4233438],
    'fc2_weight': [-0.88298643, 0.76939964, -0.16552894, -0.00051075220, -1.9935580,
                   1.2109990],
}
MXNET_SUMS = {'fc1_weight': 5.728090286254883, 'fc1_bias': -0.2686765193939209,
              'fc2_weight': 0.7527344226837158, 'fc2_bias': -0.0975574254989624}
# MXNet 1.9.1's log lines of that fit, for both
MXNET_LINES = ['Epoch[0] Train-accuracy=0.300000', 'Epoch[0] Validation-accuracy=0.750000',
               'Epoch[1] Train-accuracy=0.750000', 'Epoch[1] Validation-accuracy=0.700000',
               'Epoch[2] Train-accuracy=0.650000', 'Epoch[2] Validation-accuracy=0.900000']


def check_mxnet_trained(params):
    for name, first_values in MXNET_TRAINED.items():
        got = params[name].asnumpy().ravel()[:len(first_values)]
        np.testing.assert_allclose(got, first_values, rtol=1e-5, atol=1e-5)
    for name, total in MXNET_SUMS.items():
        assert params[name].asnumpy().sum() == pytest.approx(total, abs=1e-4)


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
def test_two_stage_fit_matches_the_single_module(caplog):
    x, y, params = toy_problem()
    seq, _, _ = two_stage()
    seq_lines = fit_lines(caplog, seq, x, y, params)
    whole = mx.mod.Module(mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(hidden_sym(), num_hidden=3, name='fc2'), name='softmax'))
    whole_lines = fit_lines(caplog, whole, x, y, params)

    seq_params, _ = seq.get_params()
    whole_params, _ = whole.get_params()
    assert sorted(seq_params) == ['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight']
    for name in whole_params:
        np.testing.assert_allclose(seq_params[name].asnumpy(), whole_params[name].asnumpy(),
                                   rtol=1e-6, atol=1e-7)
    assert seq_lines == whole_lines == MXNET_LINES
    check_mxnet_trained(seq_params)
    assert seq.score(mx.io.NDArrayIter(x, y, batch_size=5), 'acc') == [('accuracy', 0.9)]
    # MXNet 1.9.1: the first two predictions
    np.testing.assert_allclose(seq.predict(mx.io.NDArrayIter(x, y, batch_size=5)).asnumpy()[:2],
                               [[2.0320207e-02, 8.2413048e-01, 1.5554935e-01],
                                [1.7223194e-06, 5.3757453e-01, 4.6242374e-01]],
                               rtol=1e-4, atol=1e-6)


def test_python_loss_module_trains_like_softmax_output(caplog):
    x, y, params = toy_problem()
    net = mx.sym.FullyConnected(hidden_sym(), num_hidden=3, name='fc2')
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(net, label_names=None)).add(
        mx.mod.PythonLossModule(grad_func=softmax_ce_grad), take_labels=True, auto_wiring=True)
    lines = fit_lines(caplog, seq, x, y, params)
    # the metric sees the scores, whose argmax is the softmax's: MXNet 1.9.1 logs the same
    assert lines == MXNET_LINES
    check_mxnet_trained(seq.get_params()[0])
    assert seq.output_names == ['pyloss_output']
    assert seq.output_shapes == [('pyloss_output', (5, 3))]
    # the outputs are the scores, before any softmax (MXNet 1.9.1: the first two)
    np.testing.assert_allclose(seq.predict(mx.io.NDArrayIter(x, y, batch_size=5)).asnumpy()[:2],
                               [[-1.6001745, 2.102539, 0.43517303],
                                [-7.5385137, 5.112638, 4.9620514]], rtol=1e-5, atol=1e-5)


def test_gradients_flow_back_to_the_first_stage_inputs():
    x, y, params = toy_problem()
    net = mx.sym.FullyConnected(hidden_sym(), num_hidden=3, name='fc2')
    first = mx.mod.Module(net, label_names=None)
    loss = mx.mod.PythonLossModule(grad_func=softmax_ce_grad)
    seq = mx.mod.SequentialModule().add(first).add(loss, take_labels=True, auto_wiring=True)
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))], inputs_need_grad=True)
    assert (first.inputs_need_grad, loss.inputs_need_grad) == (True, True)
    seq.init_params(arg_params=nd_params(params))
    batch = next(iter(mx.io.NDArrayIter(x, y, batch_size=5)))
    seq.forward(batch, is_train=True)
    seq.backward()
    grads = seq.get_input_grads()
    assert grads[0] is first.get_input_grads()[0]
    # MXNet 1.9.1, the first module's input gradient (MXNet's own SequentialModule never sets
    # inputs_need_grad and refuses get_input_grads; mxref records it at bind)
    np.testing.assert_allclose(grads[0].asnumpy()[0],
                               [-0.08725231, 0.03865669, -0.13053054, 0.13173416, 0.02843872],
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss.get_input_grads()[0].asnumpy(),
                               softmax_ce_grad(first.get_outputs()[0], batch.label[0]))


def test_chain_passes_a_smaller_batch_to_every_stage():
    x, _, params = toy_problem()
    seq, _, _ = two_stage()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))], for_training=False)
    seq.init_params(arg_params=nd_params(params))
    # each stage is reshaped under its own data names (MXNet 1.9.1 fails here: it passes
    # the previous stage's output names, 'relu1_output', to the auto-wired second stage)
    out = seq.predict(mx.nd.array(x[:2]))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.asnumpy(), seq.predict(mx.nd.array(x[:5])).asnumpy()[:2],
                               rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# names, shapes, flags
# ----------------------------------------------------------------------------------------------
def test_names_shapes_and_flags():
    seq = mx.mod.SequentialModule()
    assert (seq.data_names, seq.output_names) == ([], [])
    seq, first, second = two_stage()
    assert seq.data_names == ['data'] and seq.output_names == ['softmax_output']
    assert seq.symbol is None                     # as in MXNet 1.9.1
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    assert [tuple(d) for d in seq.data_shapes] == [('data', (5, 5))]
    assert [tuple(d) for d in seq.label_shapes] == [('softmax_label', (5,))]
    assert seq.output_shapes == [('softmax_output', (5, 3))]
    # auto_wiring renamed relu1_output to the second stage's 'data'; only it has labels
    assert [tuple(d) for d in second.data_shapes] == [('data', (5, 8))]
    assert first.label_shapes is None
    assert (first.inputs_need_grad, second.inputs_need_grad) == (False, True)
    assert (seq.for_training, seq.inputs_need_grad) == (True, False)

    inference, first, second = two_stage()
    inference.bind([('data', (5, 5))], [('softmax_label', (5,))], for_training=False)
    assert (first.inputs_need_grad, second.inputs_need_grad) == (False, False)


def test_label_shapes_are_none_when_no_stage_takes_labels():
    seq = mx.mod.SequentialModule().add(mx.mod.Module(hidden_sym(), label_names=None))
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    assert seq.label_shapes is None


def test_without_auto_wiring_the_names_must_match():
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(hidden_sym(), label_names=None)).add(mx.mod.Module(top_sym()),
                                                                take_labels=True)
    with pytest.raises(MXNetValueError, match="don't match names specified by data_names"):
        seq.bind([('data', (5, 5))], [('softmax_label', (5,))])


def test_update_metric_uses_the_stages_that_take_labels():
    x, y, params = toy_problem()
    seq, _, _ = two_stage()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    seq.init_params(arg_params=nd_params(params))
    batch = next(iter(mx.io.NDArrayIter(x, y, batch_size=5)))
    seq.forward(batch, is_train=False)
    acc = mx.metric.Accuracy()
    seq.update_metric(acc, batch.label)
    assert acc.num_inst == 5                      # once, by the second stage only


def test_install_monitor_on_every_stage(caplog):
    x, y, params = toy_problem()
    seq, _, _ = two_stage()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    seq.init_params(arg_params=nd_params(params))
    mon = mx.mon.Monitor(1, pattern='.*output')
    seq.install_monitor(mon)
    mon.tic()
    seq.forward(next(iter(mx.io.NDArrayIter(x, y, batch_size=5))), is_train=False)
    names = [name for _, name, _ in mon.toc()]
    assert any(n.startswith('relu1') for n in names)
    assert any(n.startswith('softmax') for n in names)


# ----------------------------------------------------------------------------------------------
# errors and warnings
# ----------------------------------------------------------------------------------------------
def test_calls_out_of_order_name_the_missing_step():
    seq, _, _ = two_stage()
    batch = mx.io.DataBatch([mx.nd.ones((5, 5))], [mx.nd.array([0, 1, 2, 0, 1])])
    for call in (lambda: seq.forward(batch), seq.init_optimizer, seq.get_params,
                 lambda: seq.data_shapes, lambda: seq.output_shapes,
                 lambda: seq.install_monitor(mx.mon.Monitor(1))):
        with pytest.raises(ModuleStateError, match='not bound; call bind'):
            call()
    with pytest.raises(ModuleStateError, match='call bind before initializing'):
        seq.init_params()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    for call in (lambda: seq.forward(batch), seq.backward, seq.get_outputs, seq.get_params,
                 seq.init_optimizer):
        with pytest.raises(ModuleStateError, match='not initialized; call init_params'):
            call()
    seq.init_params()
    seq.forward_backward(batch)
    with pytest.raises(ModuleStateError, match='call init_optimizer'):
        seq.update()
    with pytest.raises(ModuleStateError, match='inputs_need_grad=True'):
        seq.get_input_grads()
    seq.init_optimizer()
    seq.update()

    inference, _, _ = two_stage()
    inference.bind([('data', (5, 5))], [('softmax_label', (5,))], for_training=False)
    inference.init_params()
    inference.forward(batch)
    with pytest.raises(ModuleStateError, match='for_training=False'):
        inference.backward()


def test_bind_errors():
    with pytest.raises(ModuleStateError, match='empty; call add'):
        mx.mod.SequentialModule().bind([('data', (5, 5))])
    seq, first, _ = two_stage()
    with pytest.raises(MXNetValueError, match='shared_module is not supported'):
        seq.bind([('data', (5, 5))], shared_module=first)
    with pytest.raises(MXNetValueError, match='inputs_need_grad=True needs for_training'):
        seq.bind([('data', (5, 5))], for_training=False, inputs_need_grad=True)
    with pytest.raises(TypeError, match='take_label'):         # a typo of take_labels
        seq.add(first, take_label=True)
    loss = mx.mod.PythonLossModule()
    data = mx.sym.Variable('data')
    two_outputs = mx.sym.Group([mx.sym.FullyConnected(data, num_hidden=8, name='fc1'), data * 2])
    wired = mx.mod.SequentialModule().add(mx.mod.Module(two_outputs, label_names=None)).add(
        loss, auto_wiring=True)
    with pytest.raises(MXNetValueError, match='auto_wiring of stage 1: it has 1 data inputs'):
        wired.bind([('data', (5, 5))])


def test_duplicated_parameter_names():
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(hidden_sym(), label_names=None)).add(
        mx.mod.Module(hidden_sym(), label_names=None), auto_wiring=True)
    seq.bind([('data', (5, 8))])
    # MXNet 1.9.1's message, with mxref's class
    with pytest.raises(MXNetValueError, match=r'Duplicated parameter names: name "fc1_weight" in '
                                              r'layer 1 \(.*Module.*\) is already used in '
                                              r'layer 0'):
        seq.init_params()
    assert not seq.params_initialized


def test_repeated_setup_warns_as_mxnet(caplog):
    seq, _, _ = two_stage()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    seq.init_params()
    with caplog.at_level(logging.WARNING):
        seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
        seq.init_params()                         # silently ignored, as in MXNet 1.9.1
        seq.init_optimizer()
        seq.init_optimizer()
    # MXNet 1.9.1's lines (a SequentialModule says "ignoring." where Module says "ignoring...")
    assert [r.getMessage() for r in caplog.records] == [
        'Already bound, ignoring bind()', 'optimizer already initialized, ignoring.']


def test_add_undoes_the_setup():
    seq, _, _ = two_stage()
    seq.bind([('data', (5, 5))], [('softmax_label', (5,))])
    seq.init_params()
    seq.init_optimizer()
    assert seq.add(mx.mod.PythonLossModule(), auto_wiring=True) is seq
    assert (seq.binded, seq.params_initialized, seq.optimizer_initialized) == (False,) * 3


# ----------------------------------------------------------------------------------------------
# PythonModule and PythonLossModule alone
# ----------------------------------------------------------------------------------------------
SCORES = [[1, 2, 3], [0, 0, 1], [2, 1, 0], [0.5, 0.5, 0]]
LABELS = [2, 0, 0, 1]


def bound_loss(grad_func=None, **bind_args):
    loss = mx.mod.PythonLossModule(grad_func=grad_func)
    loss.bind([('data', (4, 3))], [('softmax_label', (4,))], **bind_args)
    return loss


def loss_batch():
    return mx.io.DataBatch([mx.nd.array(SCORES)], [mx.nd.array(LABELS)])


def test_python_loss_module_forward_and_backward():
    seen = []

    def grad_func(scores, labels):
        seen.append((type(scores), type(labels)))
        return (scores - 1).asnumpy()             # NumPy, made an NDArray by the module

    loss = bound_loss(grad_func)
    assert loss.output_shapes == [('pyloss_output', (4, 3))]
    assert loss.get_params() == ({}, {})
    batch = loss_batch()
    loss.forward(batch)
    assert loss.get_outputs()[0] is batch.data[0]            # passed through, as in MXNet
    loss.backward()
    assert seen == [(mx.nd.NDArray, mx.nd.NDArray)]
    grad = loss.get_input_grads()[0]
    assert isinstance(grad, mx.nd.NDArray) and grad.dtype == np.float32
    np.testing.assert_array_equal(grad.asnumpy(), np.array(SCORES, np.float32) - 1)


def test_python_loss_module_default_has_no_gradient():
    # MXNet 1.9.1: grad_func=None makes backward raise NotImplementedError
    loss = bound_loss()
    loss.forward(loss_batch())
    with pytest.raises(NotImplementedError, match='grad_func'):
        loss.backward()


def test_python_loss_module_update_metric():
    loss = bound_loss()
    loss.forward(loss_batch())
    acc = mx.metric.Accuracy()
    loss.update_metric(acc, [mx.nd.array(LABELS)])
    assert acc.get() == ('accuracy', 0.5)                    # MXNet 1.9.1
    with pytest.raises(MXNetValueError, match='presliced'):
        loss.update_metric(acc, [mx.nd.array(LABELS)], pre_sliced=True)
    unlabelled = mx.mod.PythonLossModule()
    unlabelled.bind([('data', (4, 3))])
    unlabelled.forward(loss_batch(), is_train=False)
    acc = mx.metric.Accuracy()
    unlabelled.update_metric(acc, [mx.nd.array(LABELS)])     # bound without labels: no update
    assert acc.num_inst == 0


def test_python_loss_module_errors():
    with pytest.raises(MXNetValueError, match='one data input'):
        mx.mod.PythonLossModule(data_names=('a', 'b'))
    with pytest.raises(MXNetValueError, match='one label'):
        mx.mod.PythonLossModule(label_names=None)
    with pytest.raises(TypeError, match='grad_func must be callable'):
        mx.mod.PythonLossModule(grad_func=3)
    loss = mx.mod.PythonLossModule(grad_func=softmax_ce_grad)
    with pytest.raises(ModuleStateError, match='not bound; call bind'):
        loss.forward(loss_batch())
    with pytest.raises(MXNetValueError, match="grad_req='write'"):
        loss.bind([('data', (4, 3))], grad_req='add')
    with pytest.raises(MXNetValueError, match=r"data_shapes are for \['x'\]"):
        loss.bind([('x', (4, 3))])
    with pytest.raises(MXNetValueError, match=r"label_shapes are for \['y'\]"):
        loss.bind([('data', (4, 3))], [('y', (4,))])

    loss = bound_loss(softmax_ce_grad)
    with pytest.raises(ModuleStateError, match='call forward'):
        loss.get_outputs()
    with pytest.raises(ModuleStateError, match='call forward'):
        loss.backward()
    loss.forward(loss_batch())
    with pytest.raises(ModuleStateError, match='call backward'):
        loss.get_input_grads()
    with pytest.raises(MXNetValueError, match='out_grads should be None'):
        loss.backward(out_grads=[mx.nd.ones((4, 3))])
    with pytest.raises(MXNetValueError, match='merge_multi_context must be True'):
        loss.get_outputs(merge_multi_context=False)
    with pytest.raises(MXNetValueError, match='training needs the labels'):
        loss.forward(mx.io.DataBatch([mx.nd.array(SCORES)]), is_train=True)

    inference = bound_loss(softmax_ce_grad, for_training=False)
    inference.forward(loss_batch())
    with pytest.raises(ModuleStateError, match='for_training=False'):
        inference.backward()
    # bound for training, but the labels are kept only by a training forward
    fresh = bound_loss(softmax_ce_grad)
    fresh.forward(loss_batch(), is_train=False)
    with pytest.raises(ModuleStateError, match=r'forward\(is_train=True\)'):
        fresh.backward()


def test_python_module_subclass():
    class Double(mx.mod.PythonModule):
        """y = 2x, a parameterless module written in Python."""

        def _compute_output_shapes(self):
            return [('double_output', self._data_shapes[0][1])]

        def forward(self, data_batch, is_train=None):
            self._out = data_batch.data[0] * 2

        def get_outputs(self, merge_multi_context=True):
            return [self._out]

    base = mx.mod.PythonModule(['data'], None, ['out'])
    with pytest.raises(NotImplementedError):      # as MXNet 1.9.1: no output shapes given
        base.bind([('data', (2, 3))])
    double = Double(('data',), None, ['double_output'])
    double.bind([('data', (2, 3))], for_training=False)
    double.init_params()
    assert double.predict(mx.nd.ones((2, 3))).asnumpy().tolist() == [[2, 2, 2]] * 2
