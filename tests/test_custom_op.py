"""Custom operators written in Python: mx.operator.CustomOp / CustomOpProp / register("name")
and the Custom operator, in symbols (Executor, Module, JSON) and NDArray calls.

Expected values marked "MXNet 1.9.1" were printed by the real MXNet 1.9.1 running the same
code.  ``scaled_product`` below is also the Custom case of test_operator's table (forward,
numeric gradient, and CPU-vs-GPU consistency in test_gpu_backend).
"""
import json
import logging

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.operator import custom


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    """Registrations made by a test end with it (they and the ops cached for them)."""
    monkeypatch.setattr(custom, '_PROPS', dict(custom._PROPS))
    yield
    for op_type in set(custom._PROPS):
        custom._forget_cached_ops(op_type)


# ----------------------------------------------------------------------------------------------
# the custom operators used below
# ----------------------------------------------------------------------------------------------
class Softmax(mx.operator.CustomOp):
    """MXNet's example/numpy-ops/custom_softmax.py, computed in NumPy."""

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0].asnumpy()
        y = np.exp(x - x.max(axis=1).reshape((x.shape[0], 1)))
        y /= y.sum(axis=1).reshape((x.shape[0], 1))
        self.assign(out_data[0], req[0], mx.nd.array(y))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        label = in_data[1].asnumpy().ravel().astype(np.int64)
        y = out_data[0].asnumpy()
        y[np.arange(label.shape[0]), label] -= 1.0
        self.assign(in_grad[0], req[0], mx.nd.array(y))


@mx.operator.register('test_softmax')
class SoftmaxProp(mx.operator.CustomOpProp):
    def __init__(self):
        super(SoftmaxProp, self).__init__(need_top_grad=False)

    def list_arguments(self):
        return ['data', 'label']

    def list_outputs(self):
        return ['output']

    def infer_shape(self, in_shape):
        data_shape = in_shape[0]
        label_shape = (in_shape[0][0],)
        return [data_shape, label_shape], [data_shape], []

    def infer_type(self, in_type):
        return in_type, [in_type[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return Softmax()


class ScaledProduct(mx.operator.CustomOp):
    """out = a * b * scale, with NDArray arithmetic (so it runs on any device)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * in_data[1] * self.scale)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * in_data[1] * self.scale)
        self.assign(in_grad[1], req[1], out_grad[0] * in_data[0] * self.scale)


CALLS = []                  # what the props below were given, for the tests to look at


@mx.operator.register('scaled_product')
class ScaledProductProp(mx.operator.CustomOpProp):
    def __init__(self, scale='1'):
        super().__init__(need_top_grad=True)
        CALLS.append(('init', scale))
        self.scale = float(scale)

    def list_arguments(self):
        return ['a', 'b']

    def infer_shape(self, in_shape):
        CALLS.append(('infer_shape', in_shape))
        known = in_shape[0] or in_shape[1]
        return [known, known], [known], []

    def infer_type(self, in_type):
        CALLS.append(('infer_type', in_type))
        return in_type, [in_type[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        CALLS.append(('create_operator', ctx, shapes, dtypes))
        return ScaledProduct(self.scale)


def scaled_product(a, b):
    """The symbol test_operator's table uses for Custom: 1.5 * a * b."""
    return mx.sym.Custom(a, b, op_type='scaled_product', scale=1.5)


class Counter(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        aux[0][:] += 1                                    # auxiliary states are writable
        self.assign(out_data[0], req[0], in_data[0] + aux[0])
        self.assign(out_data[1], req[1], in_data[0] * 2)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] + out_grad[1] * 2)


@mx.operator.register('test_counter')
class CounterProp(mx.operator.CustomOpProp):
    def list_outputs(self):
        return ['plus', 'twice']

    def list_auxiliary_states(self):
        return ['count']

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0], in_shape[0]], [[1]]

    def create_operator(self, ctx, shapes, dtypes):
        return Counter()


# ----------------------------------------------------------------------------------------------
# training: the classic custom softmax in a Module
# ----------------------------------------------------------------------------------------------
def _train(head, ctx=mx.cpu()):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    Y = (X[:, 0] + 2 * X[:, 1] > 0).astype(np.float32) + (X[:, 2] > 1)
    W0 = (rng.randn(3, 4) * 0.1).astype(np.float32)
    fc = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=3, name='fc')
    net = head(fc)
    it = mx.io.NDArrayIter(X, Y, batch_size=20, shuffle=False)
    mod = mx.mod.Module(net, context=ctx)
    mod.fit(it, num_epoch=5, optimizer='sgd', optimizer_params={'learning_rate': 0.5},
            arg_params={'fc_weight': mx.nd.array(W0), 'fc_bias': mx.nd.zeros(3)},
            eval_metric='acc')
    args, _ = mod.get_params()
    it.reset()
    return args['fc_weight'].asnumpy(), args['fc_bias'].asnumpy(), mod.score(it, 'acc')


def test_custom_softmax_trains_like_softmax_output_and_mxnet(ctx):
    w, b, score = _train(lambda fc: mx.sym.Custom(fc, op_type='test_softmax', name='softmax'),
                         ctx)
    w_ref, b_ref, score_ref = _train(lambda fc: mx.sym.SoftmaxOutput(fc, name='softmax'), ctx)
    np.testing.assert_allclose(w, w_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, b_ref, rtol=1e-5, atol=1e-6)
    assert score == score_ref
    # MXNet 1.9.1, the same script with the custom softmax
    np.testing.assert_allclose(w, [[-0.49752402, -1.3222052, -0.4303948, 0.04648777],
                                   [0.12811987, 0.73796725, -0.08310936, 0.03848381],
                                   [0.19342273, 0.23026781, 0.66755575, -0.06436761]],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, [0.50998473, 0.30316338, -0.8131483], rtol=1e-5, atol=1e-6)
    assert score == [('accuracy', 0.9166666666666666)]


def test_loss_layer_needs_no_head_gradient_and_others_do():
    x = mx.sym.Variable('x')
    loss = mx.sym.Custom(x, op_type='test_softmax', name='softmax')
    ex = loss.simple_bind(mx.cpu(), x=(4, 3))
    ex.arg_dict['x'][:] = np.arange(12).reshape(4, 3)
    ex.arg_dict['softmax_label'][:] = [0, 1, 2, 0]
    ex.forward(is_train=True)
    ex.backward()                                   # no out_grads: a loss
    # MXNet 1.9.1
    np.testing.assert_allclose(ex.grad_dict['x'].asnumpy(),
                               [[-0.90996945, 0.24472846, 0.66524094],
                                [0.09003057, -0.75527155, 0.66524094],
                                [0.09003057, 0.24472846, -0.33475906],
                                [-0.90996945, 0.24472846, 0.66524094]], rtol=1e-6)
    ex = scaled_product(x, x).simple_bind(mx.cpu(), x=(2,))
    ex.forward(is_train=True)
    with pytest.raises(MXNetError, match='head_gradient is required'):
        ex.backward()


# ----------------------------------------------------------------------------------------------
# structure, shape and type inference
# ----------------------------------------------------------------------------------------------
def test_arguments_outputs_and_inferred_label_shape():
    data = mx.sym.Variable('data')
    net = mx.sym.Custom(data, op_type='test_softmax', name='sm')
    assert net.list_arguments() == ['data', 'sm_label']
    assert net.list_outputs() == ['sm_output']
    assert net.infer_shape(data=(4, 3)) == ([(4, 3), (4,)], [(4, 3)], [])
    # MXNet 1.9.1: the classic prop leaves the label's type open
    assert net.infer_type_partial(data=np.float64) == ([np.float64, None], [np.float64], [])
    assert net.infer_type(data=np.float64, sm_label=np.int32) == \
        ([np.float64, np.int32], [np.float64], [])
    counter = mx.sym.Custom(data, op_type='test_counter', name='c')
    assert counter.list_outputs() == ['c_plus', 'c_twice']
    assert counter.list_auxiliary_states() == ['c_count']
    assert counter.infer_shape(data=(2, 5)) == ([(2, 5)], [(2, 5), (2, 5)], [(1,)])
    auto = mx.sym.Custom(data, op_type='test_softmax')
    assert auto.name.startswith('custom')


def test_prop_sees_mxnet_conventions():
    """Shapes as lists ([] when unknown), types as NumPy types, keywords as strings, and
    create_operator(Context, shapes, MXNet type numbers) -- as MXNet 1.9.1 passes them."""
    del CALLS[:]
    a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    net = mx.sym.Custom(a, b, op_type='scaled_product', scale=2)
    assert ('init', '2') in CALLS
    net.infer_shape_partial(a=(2, 3))
    assert ('infer_shape', [[2, 3], []]) in CALLS
    ex = net.simple_bind(mx.cpu(), a=(2, 3), type_dict={'a': np.float64, 'b': np.float64})
    assert ('infer_type', [np.float64, np.float64]) in CALLS
    assert ex.outputs[0].dtype == np.float64
    ex.forward()
    created = [c for c in CALLS if c[0] == 'create_operator']
    assert created == [('create_operator', mx.cpu(), [[2, 3], [2, 3]], [1, 1])]
    assert isinstance(created[0][1], mx.Context)


def test_keywords_are_strings_and_symbol_attributes_are_not_passed():
    del CALLS[:]
    a = mx.sym.Variable('a')
    with mx.AttrScope(ctx_group='dev1'):
        net = mx.sym.Custom(a, a, op_type='scaled_product', scale=0.5, name='p')
    assert net.attr('ctx_group') == 'dev1'
    assert ('init', '0.5') in CALLS


# ----------------------------------------------------------------------------------------------
# executor: write requests, aux states, NDArray calls
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('grad_req', ['write', 'add', 'null'])
def test_grad_req_is_honoured(grad_req):
    a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    ex = scaled_product(a, b).simple_bind(mx.cpu(), a=(2, 2), b=(2, 2),
                                          grad_req={'a': grad_req, 'b': 'write'})
    ex.arg_dict['a'][:] = 2
    ex.arg_dict['b'][:] = 3
    if grad_req != 'null':
        ex.grad_dict['a'][:] = 10
    ex.forward(is_train=True)
    ex.backward(mx.nd.ones((2, 2)))
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), np.full((2, 2), 9.0))
    np.testing.assert_allclose(ex.grad_dict['b'].asnumpy(), np.full((2, 2), 3.0))
    if grad_req == 'null':
        assert 'a' not in ex.grad_dict
    else:
        expected = 4.5 + (10 if grad_req == 'add' else 0)
        np.testing.assert_allclose(ex.grad_dict['a'].asnumpy(), np.full((2, 2), expected))


def test_gradients_of_an_input_used_twice_add_up():
    x = mx.sym.Variable('x')
    net = scaled_product(x, x) + mx.sym.Custom(x, x, op_type='scaled_product', name='other')
    ex = net.simple_bind(mx.cpu(), x=(3,))
    ex.arg_dict['x'][:] = 2
    ex.forward(is_train=True)
    ex.backward(mx.nd.ones((3,)))
    # d/dx (1.5 x^2 + x^2) = 5 x
    np.testing.assert_allclose(ex.grad_dict['x'].asnumpy(), [10, 10, 10])


def test_assign_honours_every_request():
    op = mx.operator.CustomOp()
    dst = mx.nd.ones((2,))
    op.assign(dst, 'null', mx.nd.array([5, 6]))
    np.testing.assert_array_equal(dst.asnumpy(), [1, 1])
    op.assign(dst, 'write', mx.nd.array([5, 6]))
    np.testing.assert_array_equal(dst.asnumpy(), [5, 6])
    op.assign(dst, 'add', mx.nd.array([1, 2]))
    np.testing.assert_array_equal(dst.asnumpy(), [6, 8])
    op.assign(dst, 'inplace', 0)
    np.testing.assert_array_equal(dst.asnumpy(), [0, 0])
    with pytest.raises(MXNetError, match="got 'overwrite'"):
        op.assign(dst, 'overwrite', 1)


def test_auxiliary_states_and_several_outputs():
    x = mx.sym.Variable('x')
    ex = mx.sym.Custom(x, op_type='test_counter', name='c').simple_bind(mx.cpu(), x=(2,))
    ex.arg_dict['x'][:] = [1, 2]
    ex.forward()
    plus, twice = ex.forward()
    np.testing.assert_array_equal(ex.aux_dict['c_count'].asnumpy(), [2])
    np.testing.assert_array_equal(plus.asnumpy(), [3, 4])
    np.testing.assert_array_equal(twice.asnumpy(), [2, 4])
    ex.forward(is_train=True)
    ex.backward([mx.nd.ones((2,)), mx.nd.ones((2,))])
    np.testing.assert_array_equal(ex.grad_dict['x'].asnumpy(), [3, 3])


def test_inputs_are_read_only_in_forward():
    class Scribble(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            in_data[0][:] = 0

    @mx.operator.register('test_scribble')
    class ScribbleProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Scribble()

    with pytest.raises(MXNetError, match='read-only'):
        mx.nd.Custom(mx.nd.ones((2,)), op_type='test_scribble')


def test_ndarray_calls(ctx):
    a = mx.nd.array([[1, 2], [3, 4]], ctx)
    out = mx.nd.Custom(a, a, op_type='scaled_product', scale=2)
    assert out.context == ctx
    np.testing.assert_allclose(out.asnumpy(), [[2, 8], [18, 32]])
    out = mx.nd.Custom(a=a, b=mx.nd.ones((2, 2), ctx), op_type='scaled_product')
    np.testing.assert_allclose(out.asnumpy(), a.asnumpy())
    prob = mx.nd.Custom(mx.nd.ones((2, 3), ctx), mx.nd.array([0, 1], ctx),
                        op_type='test_softmax')
    np.testing.assert_allclose(prob.asnumpy(), np.full((2, 3), 1 / 3.0), rtol=1e-6)
    count = mx.nd.zeros((1,), ctx)
    plus, twice = mx.nd.Custom(mx.nd.array([1, 2], ctx), count, op_type='test_counter')
    np.testing.assert_array_equal(count.asnumpy(), [1])
    np.testing.assert_array_equal(plus.asnumpy(), [2, 3])
    np.testing.assert_array_equal(twice.asnumpy(), [2, 4])


# ----------------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------------
def test_json_round_trip():
    data = mx.sym.Variable('data')
    net = mx.sym.Custom(data, op_type='test_softmax', name='sm')
    graph = json.loads(net.tojson())
    # MXNet 1.9.1 writes the op's attributes on the node and on the label it created
    assert graph['nodes'][2] == {'op': 'Custom', 'name': 'sm', 'attrs': {'op_type': 'test_softmax'},
                                 'inputs': [[0, 0, 0], [1, 0, 0]]}
    assert graph['nodes'][1]['name'] == 'sm_label'
    assert graph['arg_nodes'] == [0, 1] and graph['heads'] == [[2, 0, 0]]

    p = mx.sym.Custom(mx.sym.Variable('a'), mx.sym.Variable('b'), op_type='scaled_product',
                      scale=1.5, name="p")
    assert json.loads(p.tojson())['nodes'][2]['attrs'] == {'op_type': 'scaled_product',
                                                           'scale': '1.5'}
    loaded = mx.sym.load_json(p.tojson())
    assert loaded.tojson() == p.tojson()
    values = {'a': mx.nd.array([1, 2]), 'b': mx.nd.array([3, 4])}
    np.testing.assert_allclose(loaded.eval(**values)[0].asnumpy(), [4.5, 12])


def test_loading_json_needs_the_op_registered(monkeypatch):
    p = scaled_product(mx.sym.Variable('a'), mx.sym.Variable('b'))
    text = p.tojson()
    monkeypatch.delitem(mx.operator.custom._PROPS, 'scaled_product')
    with pytest.raises(MXNetError, match="op_type 'scaled_product'.*register"):
        mx.sym.load_json(text).list_arguments()


# ----------------------------------------------------------------------------------------------
# errors and registration
# ----------------------------------------------------------------------------------------------
def _prop(name, **methods):
    """Register a CustomOpProp subclass with these methods under ``name``."""
    cls = type(name + 'Prop', (mx.operator.CustomOpProp,), methods)
    return mx.operator.register(name)(cls)


def test_unknown_op_type_names_it():
    x = mx.sym.Variable('x')
    with pytest.raises(MXNetError, match="Custom 'c' \\(op_type 'nope'\\): no custom operator "
                                         "is registered as op_type 'nope'"):
        mx.sym.Custom(x, op_type='nope', name='c')
    with pytest.raises(MXNetError, match="op_type 'nope'"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type='nope')
    with pytest.raises(MXNetError, match="required parameter 'op_type' is missing"):
        mx.sym.Custom(x)


@pytest.mark.parametrize('returned, message', [
    (lambda s: (s, [s[0], s[0]], []), 'infer_shape returned 2 output shapes, expected 1 '
                                      '\\(output\\)'),
    (lambda s: ([], [s[0]], []), 'infer_shape returned 0 input shapes, expected 1 \\(data\\)'),
    (lambda s: (s, [s[0]], [[1]]), 'infer_shape returned 1 auxiliary shapes, expected 0'),
    (lambda s: s, 'infer_shape must return 2 or 3 lists'),
])
def test_prop_returning_wrong_number_of_shapes(returned, message):
    _prop('test_bad_shapes', infer_shape=lambda self, s: returned(s))
    x = mx.sym.Variable('x')
    with pytest.raises(MXNetError, match="Custom 'bad' \\(op_type 'test_bad_shapes'\\): "
                                         + message):
        mx.sym.Custom(x, op_type='test_bad_shapes', name='bad').infer_shape(x=(2,))


def test_infer_shape_may_return_two_lists_and_errors_inside_it_name_the_operator():
    _prop('test_two_lists', infer_shape=lambda self, s: (s, [s[0]]))
    x = mx.sym.Variable('x')
    assert mx.sym.Custom(x, op_type='test_two_lists').infer_shape(x=(2,)) == \
        ([(2,)], [(2,)], [])
    net = mx.sym.Custom(x, op_type='test_softmax', name='sm')
    with pytest.raises(MXNetError, match=r"Custom 'sm' \(op_type 'test_softmax'\): "
                                         r"SoftmaxProp.infer_shape\(\[\[\], \[\]\]\) raised "
                                         r"IndexError"):
        net.infer_shape_partial()


def test_wrong_number_of_types_and_bad_prop_arguments():
    _prop('test_bad_types', infer_type=lambda self, t: (t, [t[0], t[0]], []))
    x = mx.sym.Variable('x')
    with pytest.raises(MXNetError, match='infer_type returned 2 output types, expected 1'):
        mx.sym.Custom(x, op_type='test_bad_types').infer_type(x=np.float32)
    with pytest.raises(MXNetError, match=r"ScaledProductProp\(colour='red', scale='2'\) failed"):
        mx.sym.Custom(x, x, op_type='scaled_product', scale=2, colour='red')


def test_create_operator_must_return_a_custom_op():
    _prop('test_no_op', create_operator=lambda self, ctx, shapes, dtypes: None)
    with pytest.raises(MXNetError, match='create_operator returned None, expected a '
                                         'mx.operator.CustomOp'):
        mx.nd.Custom(mx.nd.ones((2,)), op_type='test_no_op')


def test_register_dispatches_on_its_argument(monkeypatch, caplog):
    from mxref.operator import base
    # a string: MXNet's custom-op registry (a second registration replaces the first)
    first = _prop('test_twice')
    with caplog.at_level(logging.WARNING):
        second = _prop('test_twice')
    assert 'overriding existing custom operator test_twice' in caplog.text
    assert mx.operator.custom._PROPS['test_twice'] is second is not first
    # an Operator subclass: mxref's built-in registry
    monkeypatch.setattr(base, '_REGISTRY', dict(base._REGISTRY))
    monkeypatch.setattr(base, '_CANONICAL', dict(base._CANONICAL))

    @mx.operator.register
    class Builtin(mx.operator.Operator):
        op_name = '_test_builtin'
    assert mx.operator.get('_test_builtin') is Builtin
    with pytest.raises(MXNetError, match='takes the name of a custom operator'):
        mx.operator.register(42)
    with pytest.raises(MXNetError, match='decorates a subclass of mx.operator.CustomOpProp'):
        mx.operator.register('test_not_a_prop')(object)


def test_custom_softmax_trains_on_the_emulated_gpu(monkeypatch):
    """On a gpu context the CustomOp gets gpu NDArrays, and mx.nd.array() inside it makes gpu
    arrays (it runs under ``with ctx``); the host emulator of the GPU backend runs it here."""
    from gpu_emulator import emulated_gpu
    with emulated_gpu(monkeypatch, 'numpy'):
        w, b, score = _train(lambda fc: mx.sym.Custom(fc, op_type='test_softmax',
                                                      name='softmax'), mx.gpu(0))
    w_cpu, b_cpu, score_cpu = _train(lambda fc: mx.sym.Custom(fc, op_type='test_softmax',
                                                              name='softmax'))
    np.testing.assert_allclose(w, w_cpu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, b_cpu, rtol=1e-5, atol=1e-6)
    assert score == score_cpu


def test_registering_again_reaches_imperative_calls():
    def scaled(factor):
        class Scale(mx.operator.CustomOp):
            def forward(self, is_train, req, in_data, out_data, aux):
                self.assign(out_data[0], req[0], in_data[0] * factor)

        class ScaleProp(mx.operator.CustomOpProp):
            def create_operator(self, ctx, shapes, dtypes):
                return Scale()
        return ScaleProp

    x = mx.nd.ones((2,))
    mx.operator.register('test_rescale')(scaled(1))
    assert mx.nd.Custom(x, op_type='test_rescale').asnumpy().tolist() == [1, 1]
    mx.operator.register('test_rescale')(scaled(10))       # the cached op must not be reused
    assert mx.nd.Custom(x, op_type='test_rescale').asnumpy().tolist() == [10, 10]


def test_context_stack_is_per_thread():
    import threading
    import time
    shared = mx.cpu(3)                         # one Context object entered by two threads
    seen = {}

    def work(own, key):
        with own:
            with shared:
                time.sleep(0.05)
            seen[key] = mx.current_context()

    threads = [threading.Thread(target=work, args=(mx.cpu(i), i)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {1: mx.cpu(1), 2: mx.cpu(2)}
