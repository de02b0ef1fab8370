"""mx.rnn cells: unrolled outputs against a NumPy re-statement of each cell's equations,
gradients against finite differences, and graphs against MXNet 1.9.1's names."""
import json
import os

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.test_utils import assert_almost_equal, check_numeric_gradient

import rnn_graph_cases

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'rnn_graphs-mxnet-1.9.1.json')


# ----------------------------------------------------------------------------------------------
# NumPy statements of the cells (x: (N, C) for one step; weights as FullyConnected holds them)
# ----------------------------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def fc(x, w, b):
    return x @ w.T + b


def np_rnn_step(x, states, p, prefix, activation=np.tanh):
    h = activation(fc(x, p[prefix + 'i2h_weight'], p[prefix + 'i2h_bias'])
                   + fc(states[0], p[prefix + 'h2h_weight'], p[prefix + 'h2h_bias']))
    return h, [h]


def np_lstm_step(x, states, p, prefix):
    h, c = states
    gates = (fc(x, p[prefix + 'i2h_weight'], p[prefix + 'i2h_bias'])
             + fc(h, p[prefix + 'h2h_weight'], p[prefix + 'h2h_bias']))
    i, f, g, o = np.split(gates, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, [h, c]


def np_gru_step(x, states, p, prefix):
    h = states[0]
    i_r, i_z, i_n = np.split(fc(x, p[prefix + 'i2h_weight'], p[prefix + 'i2h_bias']), 3, axis=1)
    h_r, h_z, h_n = np.split(fc(h, p[prefix + 'h2h_weight'], p[prefix + 'h2h_bias']), 3, axis=1)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    candidate = np.tanh(i_n + r * h_n)
    h = (1 - z) * candidate + z * h
    return h, [h]


def np_unroll(step, xs, states, p, prefix):
    outputs = []
    for x in xs:
        out, states = step(x, states, p, prefix)
        outputs.append(out)
    return outputs, states


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
N, T, C, H = 3, 4, 5, 7       # awkward sizes: none a multiple of another


def _flatten(states):
    return rnn_graph_cases._flatten(states)


def _run(outputs, states, ctx, inputs, seed=0, is_train=False):
    """Bind Group(outputs + states) with random weights; return (results, weights)."""
    outputs = [outputs] if isinstance(outputs, mx.sym.Symbol) else list(outputs)
    group = mx.sym.Group(outputs + _flatten(states))
    shapes = {k: v.shape for k, v in inputs.items()}
    arg_shapes, _, _ = group.infer_shape(**shapes)
    rng = np.random.RandomState(seed)
    values = dict(inputs)
    for name, shape in zip(group.list_arguments(), arg_shapes):
        if name not in values:
            values[name] = rng.uniform(-0.5, 0.5, size=shape)
    executor = group.bind(ctx, {k: mx.nd.array(v, ctx) for k, v in values.items()})
    results = [r.asnumpy() for r in executor.forward(is_train=is_train)]
    return results, values


def _sequence(layout='NTC'):
    x = np.random.uniform(-1, 1, size=(N, T, C))
    return (x if layout == 'NTC' else x.transpose(1, 0, 2)), [x[:, t] for t in range(T)]


def _zeros(*hidden):
    return [np.zeros((N, h)) for h in hidden]


CELLS = {
    'rnn-tanh': (lambda: mx.rnn.RNNCell(H, prefix='rnn_'), np_rnn_step, 1),
    'rnn-relu': (lambda: mx.rnn.RNNCell(H, activation='relu', prefix='rnn_'),
                 lambda x, s, p, pre: np_rnn_step(x, s, p, pre, lambda v: np.maximum(v, 0)), 1),
    'lstm': (lambda: mx.rnn.LSTMCell(H, prefix='rnn_'), np_lstm_step, 2),
    'gru': (lambda: mx.rnn.GRUCell(H, prefix='rnn_'), np_gru_step, 1),
}


# ----------------------------------------------------------------------------------------------
# each cell against NumPy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('layout', ['NTC', 'TNC'])
@pytest.mark.parametrize('kind', sorted(CELLS))
def test_unrolled_cell_matches_numpy(kind, layout, ctx):
    make, np_step, n_states = CELLS[kind]
    data, steps = _sequence(layout)
    outputs, states = make().unroll(T, mx.sym.Variable('data'), layout=layout,
                                    merge_outputs=True)
    results, params = _run(outputs, states, ctx, {'data': data})
    expected, expected_states = np_unroll(np_step, steps, _zeros(*[H] * n_states), params, 'rnn_')
    axis = layout.find('T')
    assert_almost_equal(results[0], np.stack(expected, axis=axis), rtol=1e-4, atol=1e-5)
    for got, want in zip(results[1:], expected_states):
        assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)


def test_unroll_with_a_list_of_inputs_and_given_states(ctx):
    cell = mx.rnn.LSTMCell(H, prefix='rnn_')
    begin = cell.begin_state(func=mx.sym.Variable)
    outputs, states = cell.unroll(T, [mx.sym.Variable('x%d' % t) for t in range(T)],
                                  begin_state=begin)
    assert isinstance(outputs, list) and len(outputs) == T
    _, steps = _sequence()
    h0, c0 = np.random.uniform(-1, 1, (N, H)), np.random.uniform(-1, 1, (N, H))
    inputs = {'x%d' % t: x for t, x in enumerate(steps)}
    inputs.update(rnn_begin_state_0=h0, rnn_begin_state_1=c0)
    results, params = _run(outputs, states, ctx, inputs)
    expected, expected_states = np_unroll(np_lstm_step, steps, [h0, c0], params, 'rnn_')
    for got, want in zip(results, expected + expected_states):
        assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)


def test_sequential_cell_stacks_layers(ctx):
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(H, prefix='l0_'))
    stack.add(mx.rnn.GRUCell(4, prefix='l1_'))
    data, steps = _sequence()
    outputs, states = stack.unroll(T, mx.sym.Variable('data'), merge_outputs=True)
    assert len(states) == 3
    results, params = _run(outputs, states, ctx, {'data': data})
    hidden, lstm_states = np_unroll(np_lstm_step, steps, _zeros(H, H), params, 'l0_')
    top, gru_states = np_unroll(np_gru_step, hidden, _zeros(4), params, 'l1_')
    assert_almost_equal(results[0], np.stack(top, axis=1), rtol=1e-4, atol=1e-5)
    for got, want in zip(results[1:], lstm_states + gru_states):
        assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)


def test_sequential_cell_steps_like_it_unrolls(ctx):
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.RNNCell(H, prefix='a_'))
    stack.add(mx.rnn.RNNCell(H, prefix='b_'))
    states = stack.begin_state()
    outputs = []
    for t in range(T):
        out, states = stack(mx.sym.Variable('x%d' % t), states)
        outputs.append(out)
    _, steps = _sequence()
    results, params = _run(outputs, states, ctx, {'x%d' % t: x for t, x in enumerate(steps)})
    hidden, _ = np_unroll(np_rnn_step, steps, _zeros(H), params, 'a_')
    top, _ = np_unroll(np_rnn_step, hidden, _zeros(H), params, 'b_')
    for got, want in zip(results[:T], top):
        assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('merge', [True, False])
def test_bidirectional_cell(merge, ctx):
    cell = mx.rnn.BidirectionalCell(mx.rnn.LSTMCell(H, prefix='l_'),
                                    mx.rnn.GRUCell(4, prefix='r_'))
    data, steps = _sequence()
    outputs, (l_states, r_states) = cell.unroll(T, mx.sym.Variable('data'),
                                                merge_outputs=merge)
    results, params = _run(outputs, [l_states, r_states], ctx, {'data': data})
    forward, f_states = np_unroll(np_lstm_step, steps, _zeros(H, H), params, 'l_')
    backward, b_states = np_unroll(np_gru_step, steps[::-1], _zeros(4), params, 'r_')
    expected = [np.concatenate([f, b], axis=1) for f, b in zip(forward, backward[::-1])]
    if merge:
        assert_almost_equal(results[0], np.stack(expected, axis=1), rtol=1e-4, atol=1e-5)
        got_states = results[1:]
    else:
        for got, want in zip(results[:T], expected):
            assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)
        got_states = results[T:]
    for got, want in zip(got_states, f_states + b_states):
        assert_almost_equal(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('merge', [True, False])
def test_residual_cell_adds_the_input(merge, ctx):
    cell = mx.rnn.ResidualCell(mx.rnn.GRUCell(C, prefix='rnn_'))
    data, steps = _sequence()
    outputs, states = cell.unroll(T, mx.sym.Variable('data'), merge_outputs=merge)
    results, params = _run(outputs, states, ctx, {'data': data})
    hidden, _ = np_unroll(np_gru_step, steps, _zeros(C), params, 'rnn_')
    expected = [h + x for h, x in zip(hidden, steps)]
    got = results[0] if merge else np.stack(results[:T], axis=1)
    assert_almost_equal(got, np.stack(expected, axis=1), rtol=1e-4, atol=1e-5)


def test_dropout_cell(ctx):
    data, _ = _sequence()
    outputs, states = mx.rnn.DropoutCell(0.5).unroll(T, mx.sym.Variable('data'),
                                                     merge_outputs=True)
    assert states == []
    assert_almost_equal(_run(outputs, [], ctx, {'data': data})[0][0], data.astype(np.float32))
    trained = _run(outputs, [], ctx, {'data': data}, is_train=True)[0][0]
    kept = trained != 0
    assert 0 < kept.mean() < 1
    assert_almost_equal(trained[kept], 2 * data[kept].astype(np.float32), rtol=1e-5)
    assert mx.rnn.DropoutCell(0.0)(mx.sym.Variable('x'), [])[0].name == 'x'


def test_zoneout_cell_is_the_base_cell_at_inference(ctx):
    data, steps = _sequence()
    cell = mx.rnn.ZoneoutCell(mx.rnn.RNNCell(H, prefix='rnn_'), zoneout_outputs=0.5,
                              zoneout_states=0.5)
    outputs, states = cell.unroll(T, mx.sym.Variable('data'), merge_outputs=True)
    results, params = _run(outputs, states, ctx, {'data': data})
    expected, _ = np_unroll(np_rnn_step, steps, _zeros(H), params, 'rnn_')
    assert_almost_equal(results[0], np.stack(expected, axis=1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kind', ['lstm', 'gru'])
def test_numeric_gradient_through_time(kind, ctx):
    cell = CELLS[kind][0]()
    outputs, _ = cell.unroll(3, mx.sym.Variable('data'), merge_outputs=True,
                             begin_state=cell.begin_state(dtype='float64'))
    arg_shapes, _, _ = outputs.infer_shape(data=(2, 3, 3))
    location = {name: np.random.uniform(-0.5, 0.5, shape)
                for name, shape in zip(outputs.list_arguments(), arg_shapes)}
    check_numeric_gradient(outputs, location, ctx=ctx, dtype=np.float64, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# states, parameters, weights
# ----------------------------------------------------------------------------------------------
def test_begin_state_names_count_up_until_reset():
    cell = mx.rnn.LSTMCell(H, prefix='lstm_')
    assert [s.name for s in cell.begin_state()] == ['lstm_begin_state_0', 'lstm_begin_state_1']
    assert [s.name for s in cell.begin_state()] == ['lstm_begin_state_2', 'lstm_begin_state_3']
    cell.reset()
    states = cell.begin_state(func=mx.sym.Variable, dtype='float64')
    assert states[0].name == 'lstm_begin_state_0'
    assert states[0].attr('__layout__') == 'NC'
    assert states[0].attr('__shape__') == '(0, 7)'
    assert cell.state_info == [{'shape': (0, H), '__layout__': 'NC'}] * 2
    assert cell.state_shape == [(0, H), (0, H)]


def test_forget_bias_initialises_the_forget_gate():
    cell = mx.rnn.LSTMCell(H, prefix='lstm_', forget_bias=3.0)
    bias = cell.params.get('i2h_bias')
    assert json.loads(bias.attr('__init__')) == ['lstmbias', {'forget_bias': 3.0}]
    outputs, _ = cell.unroll(2, mx.sym.Variable('data'))
    arrays = {'lstm_i2h_bias': mx.nd.empty((4 * H,))}
    initializer = mx.init.Uniform(0.1)
    attrs = outputs[-1].attr_dict()['lstm_i2h_bias']
    initializer(mx.init.InitDesc('lstm_i2h_bias', attrs), arrays['lstm_i2h_bias'])
    expected = np.zeros(4 * H)
    expected[H:2 * H] = 3.0           # gates are ordered i, f, c, o
    assert_almost_equal(arrays['lstm_i2h_bias'], expected)


def test_shared_params_share_weights():
    params = mx.rnn.RNNParams('shared_')
    a = mx.rnn.GRUCell(H, prefix='a_', params=params)
    b = mx.rnn.GRUCell(H, prefix='b_', params=params)
    out_a, _ = a(mx.sym.Variable('x'), a.begin_state())
    out_b, _ = b(out_a, b.begin_state())
    assert out_b.list_arguments() == ['x', 'shared_i2h_weight', 'shared_i2h_bias',
                                      'shared_h2h_weight', 'shared_h2h_bias']
    assert out_b.name == 'b_t0_out'


@pytest.mark.parametrize('kind, gates', [('lstm', ['_i', '_f', '_c', '_o']),
                                         ('gru', ['_r', '_z', '_o']), ('rnn-tanh', [''])])
def test_unpack_and_pack_weights(kind, gates):
    cell = CELLS[kind][0]()
    n = len(gates)
    packed = {'rnn_i2h_weight': mx.nd.array(np.random.uniform(size=(n * H, C))),
              'rnn_i2h_bias': mx.nd.array(np.random.uniform(size=(n * H,))),
              'rnn_h2h_weight': mx.nd.array(np.random.uniform(size=(n * H, H))),
              'rnn_h2h_bias': mx.nd.array(np.random.uniform(size=(n * H,))),
              'other': mx.nd.ones((2,))}
    unpacked = cell.unpack_weights(packed)
    assert sorted(unpacked) == sorted(['other'] + ['rnn_%s%s_%s' % (g, gate, k)
                                                   for g in ('i2h', 'h2h') for gate in gates
                                                   for k in ('weight', 'bias')])
    for j, gate in enumerate(gates):
        assert_almost_equal(unpacked['rnn_i2h%s_weight' % gate],
                            packed['rnn_i2h_weight'].asnumpy()[j * H:(j + 1) * H])
        assert_almost_equal(unpacked['rnn_h2h%s_bias' % gate],
                            packed['rnn_h2h_bias'].asnumpy()[j * H:(j + 1) * H])
    repacked = cell.pack_weights(unpacked)
    assert sorted(repacked) == sorted(packed)
    for name in packed:
        assert_almost_equal(repacked[name], packed[name])
    assert 'rnn_i2h_weight' in packed          # the caller's dict is left alone


def test_stacked_cells_unpack_every_layer():
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(2, prefix='l0_'))
    stack.add(mx.rnn.DropoutCell(0.2))
    stack.add(mx.rnn.ResidualCell(mx.rnn.LSTMCell(2, prefix='l1_')))
    args = {'%s%s_%s' % (p, g, k): mx.nd.ones((8, 2) if k == 'weight' else (8,))
            for p in ('l0_', 'l1_') for g in ('i2h', 'h2h') for k in ('weight', 'bias')}
    unpacked = stack.unpack_weights(args)
    assert len(unpacked) == 32 and 'l1_h2h_o_weight' in unpacked
    assert sorted(stack.pack_weights(unpacked)) == sorted(args)
    assert sorted(stack.params._params) == sorted(args)


# ----------------------------------------------------------------------------------------------
# MXNet's graphs, names and errors
# ----------------------------------------------------------------------------------------------
with open(FIXTURE) as _f:
    MXNET_GRAPHS = json.load(_f)


@pytest.mark.parametrize('case', sorted(MXNET_GRAPHS))
def test_graph_is_mxnets(case):
    """Every node name, op, attribute and edge is what MXNet 1.9.1 builds, so checkpoints and
    symbol files are interchangeable."""
    mine = rnn_graph_cases.describe(mx)[case]
    theirs = MXNET_GRAPHS[case]
    for key in ('arguments', 'outputs', 'states', 'heads', 'node_row_ptr'):
        assert mine[key] == theirs[key], key
    assert len(mine['nodes']) == len(theirs['nodes'])
    for got, want in zip(mine['nodes'], theirs['nodes']):
        assert got == want


def test_modified_cell_cannot_be_used_directly():
    base = mx.rnn.LSTMCell(H, prefix='lstm_')
    residual = mx.rnn.ResidualCell(base)
    with pytest.raises(MXNetError, match='modifier cells'):
        base.begin_state()
    assert len(residual.begin_state()) == 2
    assert residual.params is base.params


def test_bad_use_is_reported():
    with pytest.raises(MXNetError, match='inputs=None'):
        mx.rnn.RNNCell(H).unroll(2, None)
    with pytest.raises(MXNetError, match='3 input symbols given for length 2'):
        mx.rnn.RNNCell(H).unroll(2, [mx.sym.Variable('x')] * 3)
    with pytest.raises(MXNetError, match='grouped symbol'):
        mx.rnn.RNNCell(H).unroll(2, mx.sym.Group([mx.sym.Variable('a'), mx.sym.Variable('b')]),
                                 merge_outputs=False)
    with pytest.raises(NotImplementedError, match='cannot be stepped'):
        mx.rnn.BidirectionalCell(mx.rnn.RNNCell(H, prefix='a'),
                                 mx.rnn.RNNCell(H, prefix='b'))(mx.sym.Variable('x'), [])
    with pytest.raises(MXNetError, match='dropout probability must be a number'):
        mx.rnn.DropoutCell('0.5')
    with pytest.raises(MXNetError, match='not both'):
        stack = mx.rnn.SequentialRNNCell(params=mx.rnn.RNNParams('s_'))
        stack.add(mx.rnn.RNNCell(H, params=mx.rnn.RNNParams('x_')))


def test_rnn_checkpoints_store_unpacked_weights(tmp_path):
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(3, prefix='l0_'))
    stack.add(mx.rnn.GRUCell(3, prefix='l1_'))
    outputs, _ = stack.unroll(2, mx.sym.Variable('data'), merge_outputs=True)
    arg_shapes, _, _ = outputs.infer_shape(data=(2, 2, 4))
    args = {name: mx.nd.array(np.random.uniform(size=shape))
            for name, shape in zip(outputs.list_arguments(), arg_shapes) if name != 'data'}
    prefix = str(tmp_path / 'lm')
    callback = mx.rnn.do_rnn_checkpoint(stack, prefix, period=2)
    callback(0, outputs, args, {})
    assert not (tmp_path / 'lm-0001.params').exists()
    callback(1, outputs, args, {})
    saved = mx.nd.load(prefix + '-0002.params')
    assert 'arg:l0_i2h_f_weight' in saved and 'arg:l1_h2h_z_bias' in saved
    assert 'arg:l0_i2h_weight' not in saved
    symbol, loaded, aux = mx.rnn.load_rnn_checkpoint(stack, prefix, 2)
    assert symbol.list_arguments() == outputs.list_arguments() and aux == {}
    assert sorted(loaded) == sorted(args)
    for name in args:
        assert_almost_equal(loaded[name], args[name])
