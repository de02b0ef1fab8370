"""The fused ``RNN`` operator and ``mx.rnn.FusedRNNCell``.

Forward results are checked against a NumPy re-statement of the equations (below) and against
values printed by MXNet 1.9.1; gradients against finite differences and MXNet 1.9.1's values;
the cell's packed weights against its unfused twin (same outputs after pack/unpack).
"""
import warnings

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetValueError
from mxref.operator.rnn import rnn_param_size, GATES
from mxref.test_utils import assert_almost_equal, check_numeric_gradient


# ----------------------------------------------------------------------------------------------
# a NumPy statement of the operator, written from its documented equations and layout
# ----------------------------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _unpack(params, mode, H, C, L, D):
    """{(layer, direction, 'i2h'|'h2h'): (weight, bias)} from the flat vector: all weights
    (per layer, direction: i2h then h2h), then all biases in the same order."""
    G, pos, weights = GATES[mode], 0, {}
    for layer in range(L):
        for d in range(D):
            for kind, cols in (('i2h', C if layer == 0 else D * H), ('h2h', H)):
                weights[layer, d, kind] = params[pos:pos + G * H * cols].reshape(G * H, cols)
                pos += G * H * cols
    out = {}
    for layer in range(L):
        for d in range(D):
            for kind in ('i2h', 'h2h'):
                out[layer, d, kind] = (weights[layer, d, kind], params[pos:pos + G * H])
                pos += G * H
    assert pos == params.size
    return out


def numpy_rnn(x, params, h0, c0, mode, H, L, bidirectional):
    """(output, last hidden states, last cell states) of the RNN operator."""
    D = 2 if bidirectional else 1
    T = x.shape[0]
    layers = _unpack(params, mode, H, x.shape[2], L, D)
    hy, cy = np.zeros_like(h0), np.zeros_like(h0)
    inputs = x
    for layer in range(L):
        outputs = []
        for d in range(D):
            (wi, bi), (wh, bh) = layers[layer, d, 'i2h'], layers[layer, d, 'h2h']
            k = layer * D + d
            h, c = h0[k], (c0[k] if mode == 'lstm' else None)
            out = np.zeros((T, x.shape[1], H))
            for t in (range(T) if d == 0 else reversed(range(T))):
                gi, gh = inputs[t] @ wi.T + bi, h @ wh.T + bh
                if mode == 'lstm':
                    i, f, g, o = np.split(gi + gh, 4, axis=1)
                    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                    h = _sigmoid(o) * np.tanh(c)
                elif mode == 'gru':
                    (xr, xz, xn), (hr, hz, hn) = np.split(gi, 3, axis=1), np.split(gh, 3, axis=1)
                    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
                    n = np.tanh(xn + r * hn)
                    h = (1 - z) * n + z * h
                elif mode == 'rnn_tanh':
                    h = np.tanh(gi + gh)
                else:
                    h = np.maximum(gi + gh, 0)
                out[t] = h
            hy[k] = h
            if mode == 'lstm':
                cy[k] = c
            outputs.append(out)
        inputs = np.concatenate(outputs, axis=2)
    return inputs, hy, cy


def _inputs(mode, T, N, C, H, L, bidirectional, rng):
    D = 2 if bidirectional else 1
    size = rnn_param_size(mode, H, L, C, bidirectional)
    values = [rng.uniform(-1, 1, (T, N, C)), rng.uniform(-1, 1, size),
              rng.uniform(-1, 1, (L * D, N, H))]
    if mode == 'lstm':
        values.append(rng.uniform(-1, 1, (L * D, N, H)))
    return values


def _run(values, ctx=mx.cpu(), **kwargs):
    args = [mx.nd.array(v, ctx, dtype='float64') for v in values]
    out = mx.nd.RNN(*args, state_outputs=True, **kwargs)
    return [o.asnumpy() for o in out]


SIZES = [(5, 3, 4, 6), (1, 1, 2, 3), (7, 2, 5, 2), (3, 1, 1, 1), (2, 5, 3, 7)]


@pytest.mark.parametrize('mode', sorted(GATES))
@pytest.mark.parametrize('layers', [1, 2])
@pytest.mark.parametrize('bidirectional', [False, True])
def test_forward_matches_the_numpy_statement(mode, layers, bidirectional, ctx):
    rng = np.random.RandomState(3)
    for T, N, C, H in SIZES:
        values = _inputs(mode, T, N, C, H, layers, bidirectional, rng)
        got = _run(values, ctx, state_size=H, num_layers=layers, bidirectional=bidirectional,
                   mode=mode)
        want = numpy_rnn(*(values + [None] * (4 - len(values))), mode, H, layers,
                         bidirectional)
        for g, w in zip(got, want):
            assert_almost_equal(g, w, rtol=1e-10, atol=1e-12)


def test_float32_forward(ctx):
    values = _inputs('lstm', 4, 3, 5, 4, 2, True, np.random.RandomState(0))
    args = [mx.nd.array(v, ctx) for v in values]
    out = mx.nd.RNN(*args, state_size=4, num_layers=2, bidirectional=True, mode='lstm')
    assert out.dtype == np.float32 and out.shape == (4, 3, 8)
    assert_almost_equal(out, numpy_rnn(*values, 'lstm', 4, 2, True)[0], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# MXNet 1.9.1's outputs and gradients
# ----------------------------------------------------------------------------------------------
def _wave(shape, k):
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 0.7 + k) * 0.8).reshape(shape)


# Printed by MXNet 1.9.1 (CPU, float64) for the inputs of _wave_inputs and the loss of
# _wave_loss; 'dparams' are sum(d parameters) and sum(d parameters * wave(7)).
MXNET_OBSERVED = [
    ('lstm', 2, True, (3, 2, 3, 2), {
        'out': [-0.0683201, -0.411536, -0.0531497, -0.2412349, -0.2657472, -0.4396229, 0.0047619,
                -0.210708, -0.2195735, -0.3222443, -0.0439707, -0.25288, -0.2744184, -0.3044603,
                0.039988, -0.1260747, -0.2551516, -0.3275499, -0.0329657, -0.2389709, -0.29449,
                -0.3151055, 0.0378696, -0.0233525],
        'hy': [0.1938501, 0.1967747, 0.0692135, 0.1727348, -0.1545626, 0.1759087, -0.1872032,
               0.1567278, -0.2551516, -0.3275499, -0.29449, -0.3151055, -0.0531497, -0.2412349,
               0.0047619, -0.210708],
        'cy': [0.2332578, 0.3781888, 0.1626864, 0.2443933, -0.2398089, 0.1916993, -0.2837196,
               0.2063368, -1.0894111, -0.6647121, -1.1838899, -0.69586, -0.3675958, -1.5313435,
               0.0308548, -1.0770844],
        'dx': [-0.0583604, 0.0652144, 0.1581179, -0.0241901, -0.1240208, -0.1655227, -0.0011903,
               0.0617963, 0.0957192, -0.0201729, -0.0902118, -0.1178227, -0.0881246, -0.0461858,
               0.017475, -0.0702342, -0.1871785, -0.2160898],
        'dh0': [-0.0338587, -0.0070704, -0.0525142, 0.044227, 0.0037081, -0.0073342, 0.0205636,
                0.0246071, -0.0952034, -0.0482245, -0.1095904, -0.1390762, -0.1300197, -0.0697725,
                -0.062512, 0.0101278],
        'dc0': [0.2061474, 0.1752725, 0.0249372, 0.3696837, 0.0727602, 0.0198153, 0.0042862,
                -0.0026351, -0.222704, -0.2304659, 0.0301086, 0.0802015, 0.2867632, 0.0881698,
                0.1815799, -0.0216027],
        'dparams': (2.5374114987, -0.1843708126)}),
    ('gru', 2, True, (3, 2, 3, 2), {
        'out': [-0.129308, 0.5410611, 0.1464485, 0.397127, 0.0827667, -0.2462684, 0.4898766,
                0.1983583, -0.6730586, 0.4088661, -0.1049156, 0.2766414, -0.162552, -0.0126265,
                0.1908708, 0.32503, -0.7013659, 0.1907506, 0.0225803, 0.1399466, -0.6717267,
                0.3448387, -0.2569461, 0.3228459],
        'hy': [0.8335348, 0.5638647, 0.3269385, 0.5276512, -0.2623032, 0.2197829, -0.060825,
               0.0555078, -0.7013659, 0.1907506, -0.6717267, 0.3448387, 0.1464485, 0.397127,
               0.4898766, 0.1983583],
        'dx': [0.0230203, 0.0183681, 0.0050771, -0.16451, -0.1782669, -0.1081821, -0.3727142,
               -0.2440234, -0.0005646, -0.2444874, -0.2119974, -0.0798017, -0.1052607, -0.1188054,
               -0.0764741, -0.2557757, -0.133234, 0.0519697],
        'dh0': [0.1676226, 0.2316637, 0.3067112, 0.7677349, 0.6123044, 0.024793, 0.2318543,
                -0.1438208, -0.3936049, -1.0307795, -0.0004653, 0.0880644, 0.1163855, -0.025686,
                0.2820331, 0.3429921],
        'dparams': (-2.0159591742, 2.0843391218)}),
    ('rnn_tanh', 2, True, (3, 2, 3, 2), {
        'out': [0.9939266, -0.6977566, -0.555164, 0.4550606, 0.9693726, -0.4023281, -0.7927493,
                0.6454473, 0.9014447, 0.7741538, -0.3547348, -0.6990231, 0.9801756, -0.1849491,
                -0.8498926, 0.0583183, 0.9939571, -0.7373437, -0.6391668, 0.8329318, 0.7235922,
                0.9004366, 0.5099303, -0.6044885],
        'hy': [0.9518587, 0.9466052, -0.7874682, 0.9902795, -0.4002877, -0.9974156, -0.3449445,
               -0.985373, 0.9939571, -0.7373437, 0.7235922, 0.9004366, -0.555164, 0.4550606,
               -0.7927493, 0.6454473],
        'dx': [0.7291211, 0.3879555, -0.1356716, 0.2094203, 0.1841553, 0.0722793, 0.2012568,
               0.2557893, 0.19002, 0.0612813, 0.0144418, -0.03919, -0.1782909, -0.113262,
               0.0050359, -0.144426, -0.2725603, -0.2725053],
        'dh0': [-0.0160669, 0.1512946, 0.0004257, -0.0672485, 0.0476276, -0.0552621, 0.2424383,
                0.3093484, -0.003304, 0.1912469, 0.0140344, -0.2766956, -0.0674198, -0.0810439,
                -0.3560379, -0.2207619],
        'dparams': (3.3373064184, 0.4042947748)}),
    ('rnn_relu', 2, True, (3, 2, 3, 2), {
        'out': [2.1361709, 0.0, 0.0, 0.494184, 1.6446443, 0.0, 0.0,
                1.1586392, 2.093678, 0.3872966, 0.0, 0.6271601, 1.9449699, 0.48834,
                0.0, 0.0, 2.7358937, 0.0, 0.0, 2.8566372, 1.946485,
                0.3067815, 0.0, 1.8504508],
        'hy': [0.7542383, 3.2149646, 0.0, 2.9454615, 0.0, 0.0, 0.0,
               0.0, 2.7358937, 0.0, 1.946485, 0.3067815, 0.0, 0.494184,
               0.0, 1.1586392],
        'dx': [-0.1144101, -0.1849307, -0.1684755, 0.375727, -0.1064086, -0.5384986, 0.0837992,
               0.4597407, 0.619459, -0.0534024, -0.4988818, -0.7097293, -0.9560255, -0.6404058,
               -0.0235933, -0.3542129, -1.1928043, -1.4704013],
        'dh0': [0.1470457, 0.1167058, -0.0992919, 0.5551566, 0.0, 0.0, 0.5406281,
                0.6209269, -0.7287976, -0.4721505, -0.2725908, -0.1765975, 0.4133669, 0.1511019,
                -0.5163049, -0.1887299],
        'dparams': (-35.9708052422, -6.8513308232)}),
    ('lstm', 1, False, (1, 1, 2, 3), {
        'out': [-0.162051, -0.4424625, -0.2964519],
        'hy': [-0.162051, -0.4424625, -0.2964519],
        'cy': [-0.3667214, -0.6464705, -0.5662098],
        'dx': [0.3035904, 0.4326011],
        'dh0': [-0.1920478, -0.194071, -0.1048197],
        'dc0': [-0.3589679, -0.253779, 0.236238],
        'dparams': (1.2487926129, 0.1210662364)}),
    ('gru', 1, False, (4, 1, 1, 1), {
        'out': [0.4937963, 0.511399, 0.5492467, 0.5634614],
        'hy': [0.5634614],
        'dx': [-0.4880141, -0.1926586, -0.0890596, -0.0968685],
        'dh0': [-0.4371174],
        'dparams': (-3.4897155223, -0.5416741593)}),
]


@pytest.mark.parametrize('case', MXNET_OBSERVED,
                         ids=['%s-%dx%s-%s' % (c[0], c[1], 'bi' if c[2] else 'uni', c[3])
                              for c in MXNET_OBSERVED])
def test_outputs_and_gradients_match_mxnet(case, ctx):
    mode, L, bidirectional, (T, N, C, H), want = case
    D = 2 if bidirectional else 1
    size = rnn_param_size(mode, H, L, C, bidirectional)
    values = [_wave((T, N, C), 0), _wave((size,), 1), _wave((L * D, N, H), 2)]
    names = ['data', 'parameters', 'state']
    if mode == 'lstm':
        values.append(_wave((L * D, N, H), 3))
        names.append('state_cell')
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], state_size=H, num_layers=L,
                     bidirectional=bidirectional, mode=mode, state_outputs=True)
    args = {n: mx.nd.array(v, ctx, dtype='float64') for n, v in zip(names, values)}
    grads = {n: mx.nd.zeros(v.shape, ctx, dtype='float64') for n, v in zip(names, values)}
    executor = sym.bind(ctx, args, args_grad=grads)
    outputs = executor.forward(is_train=True)
    # (MXNet's rnn_relu differs from float64 math by ~1e-7: some of its arithmetic is float32)
    # the loss MXNet differentiated: Σ output·wave(4) + Σ hy·wave(5) (+ Σ cy·wave(6))
    executor.backward([mx.nd.array(_wave(o.shape, 4 + k), ctx, dtype='float64')
                       for k, o in enumerate(outputs)])
    for key, got in zip(('out', 'hy', 'cy'), outputs):
        assert_almost_equal(got.asnumpy().ravel(), np.array(want[key]), rtol=1e-5, atol=1e-6)
    for key, name in (('dx', 'data'), ('dh0', 'state'), ('dc0', 'state_cell')):
        if key in want:
            assert_almost_equal(grads[name].asnumpy().ravel(), np.array(want[key]), rtol=1e-5,
                                atol=1e-6)
    dparams = grads['parameters'].asnumpy()
    assert_almost_equal(np.array([dparams.sum(), (dparams * _wave(dparams.shape, 7)).sum()]),
                        np.array(want['dparams']), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# gradients by finite differences; write/add/null requests
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('mode', sorted(GATES))
@pytest.mark.parametrize('layers, bidirectional, dims', [(1, False, (3, 2, 3, 2)),
                                                         (2, True, (2, 1, 2, 3))])
def test_numeric_gradient(mode, layers, bidirectional, dims, ctx):
    T, N, C, H = dims
    rng = np.random.RandomState(5)
    values = _inputs(mode, T, N, C, H, layers, bidirectional, rng)
    names = ['data', 'parameters', 'state', 'state_cell'][:len(values)]
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], state_size=H, num_layers=layers,
                     bidirectional=bidirectional, mode=mode, state_outputs=True)
    check_numeric_gradient(sym, dict(zip(names, values)), ctx=ctx, dtype=np.float64,
                           numeric_eps=1e-6, rtol=1e-4, atol=1e-6)


def test_gradient_requests_write_add_null(ctx):
    values = _inputs('gru', 3, 2, 4, 3, 2, True, np.random.RandomState(2))
    names = ['data', 'parameters', 'state']
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], state_size=3, num_layers=2,
                     bidirectional=True, mode='gru')
    location = dict(zip(names, values))
    head = [np.random.uniform(-1, 1, (3, 2, 6))]
    written = mx.test_utils.check_symbolic_backward(sym, location, head, {}, ctx=ctx,
                                                    dtype=np.float64)
    mx.test_utils.check_symbolic_backward(sym, location, head, written, ctx=ctx, grad_req='add',
                                          dtype=np.float64, rtol=1e-10, atol=1e-12)
    got = mx.test_utils.check_symbolic_backward(
        sym, location, head, {'data': written['data']}, ctx=ctx, dtype=np.float64,
        grad_req={'data': 'write', 'parameters': 'null', 'state': 'null'})
    assert set(got) == {'data'}


# ----------------------------------------------------------------------------------------------
# structure, shapes and errors
# ----------------------------------------------------------------------------------------------
# from MXNet 1.9.1: infer_shape(data=(4, 3, 7)) of RNN(state_size=5) -> len(parameters)
MXNET_PARAM_SIZES = {('lstm', 1, False): 280, ('lstm', 1, True): 560, ('lstm', 2, False): 520,
                     ('lstm', 2, True): 1240, ('lstm', 3, True): 1920, ('gru', 1, False): 210,
                     ('gru', 2, True): 930, ('gru', 3, False): 570, ('rnn_tanh', 1, False): 70,
                     ('rnn_tanh', 2, True): 310, ('rnn_relu', 3, True): 480}


def test_shape_inference_matches_mxnet():
    for (mode, L, bi), size in MXNET_PARAM_SIZES.items():
        sym = mx.sym.RNN(mx.sym.Variable('data'), state_size=5, num_layers=L, bidirectional=bi,
                         mode=mode, name='r')
        args, outs, aux = sym.infer_shape(data=(4, 3, 7))
        D = 2 if bi else 1
        want = {'data': (4, 3, 7), 'r_parameters': (size,), 'r_state': (L * D, 3, 5)}
        if mode == 'lstm':
            want['r_state_cell'] = (L * D, 3, 5)
        assert dict(zip(sym.list_arguments(), args)) == want
        assert outs == [(4, 3, 5 * D)] and aux == []


def test_outputs_and_partial_shapes():
    data = mx.sym.Variable('data')
    lstm = mx.sym.RNN(data, state_size=5, num_layers=2, mode='lstm', state_outputs=True,
                      name='r')
    assert lstm.list_outputs() == ['r_output', 'r_state_output', 'r_statecell_output']
    assert lstm.infer_shape(data=(4, 3, 7))[1] == [(4, 3, 5), (2, 3, 5), (2, 3, 5)]
    gru = mx.sym.RNN(data, state_size=5, num_layers=2, mode='gru', state_outputs=True, name='g')
    assert gru.list_outputs() == ['g_output', 'g_state_output']
    assert gru.list_arguments() == ['data', 'g_parameters', 'g_state']
    plain = mx.sym.RNN(data, state_size=5, num_layers=2, mode='rnn_tanh', name='t')
    assert plain.list_outputs() == ['t_output']
    # as in MXNet 1.9.1: an unknown batch size stays unknown in the states and the output
    bi = mx.sym.RNN(data, state_size=5, num_layers=2, bidirectional=True, mode='lstm', name='b')
    args, outs, _ = bi.infer_shape_partial(data=(4, 0, 7))
    assert args == [(4, 0, 7), (1240,), (4, 0, 5), (4, 0, 5)] and outs == [(4, 0, 10)]


def test_errors_name_the_operator_argument_and_shapes():
    data = mx.sym.Variable('data')
    sym = mx.sym.RNN(data, state_size=5, num_layers=2, bidirectional=True, mode='lstm',
                     name='r')
    with pytest.raises(MXNetValueError, match=r"RNN 'r': data must have 3 dimensions.*\(4, 7\)"):
        sym.infer_shape(data=(4, 7))
    with pytest.raises(MXNetValueError, match=r"RNN 'r': parameters must have shape \(1240,\)"
                                              r".*got \(10,\)"):
        sym.infer_shape(data=(4, 3, 7), r_parameters=(10,))
    with pytest.raises(MXNetValueError, match=r"RNN 'r': state must have shape \(4, 3, 5\).*"
                                              r"got \(2, 3, 5\)"):
        sym.infer_shape(data=(4, 3, 7), r_state=(2, 3, 5))
    with pytest.raises(MXNetValueError, match="mode"):
        mx.sym.RNN(data, state_size=5, num_layers=1, mode='lstmx')
    with pytest.raises(MXNetValueError, match="RNN 'RNN': num_layers must be at least 1, got 0"):
        mx.nd.RNN(mx.nd.ones((2, 1, 1)), mx.nd.ones((1,)), mx.nd.ones((1, 1, 1)), state_size=1,
                  num_layers=0, mode='rnn_tanh')


def test_unsupported_features_are_refused_by_name():
    data = mx.sym.Variable('data')
    # MXNet 1.9.1's CPU operator crashes (segfault) with projection_size; cuDNN only
    with pytest.raises(NotImplementedError, match="RNN 'p': projection_size=2 is not supported"):
        mx.sym.RNN(data, state_size=5, num_layers=1, mode='lstm', projection_size=2, name='p')
    with pytest.raises(NotImplementedError, match='use_sequence_length=True is not supported'):
        mx.sym.RNN(data, state_size=5, num_layers=1, mode='lstm', use_sequence_length=True)
    with pytest.raises(MXNetValueError, match='lstm_state_clip_min and lstm_state_clip_max must '
                                              'be given together'):
        mx.sym.RNN(data, state_size=5, num_layers=1, mode='lstm', lstm_state_clip_min=-1.0)


def test_lstm_state_clip_bounds_the_cell_state(ctx):
    values = _inputs('lstm', 6, 3, 4, 5, 1, False, np.random.RandomState(0))
    values[0] = values[0] * 3
    free = _run(values, ctx, state_size=5, num_layers=1, mode='lstm')
    clipped = _run(values, ctx, state_size=5, num_layers=1, mode='lstm',
                   lstm_state_clip_min=-0.1, lstm_state_clip_max=0.1)
    # (MXNet 1.9.1's CPU operator ignores the clip and returns `free`; cuDNN clips)
    assert np.abs(free[2]).max() > 0.1 and np.abs(clipped[2]).max() <= 0.1 + 1e-12
    names = ['data', 'parameters', 'state', 'state_cell']
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], state_size=5, num_layers=1,
                     mode='lstm', state_outputs=True, lstm_state_clip_min=-0.1,
                     lstm_state_clip_max=0.1)
    check_numeric_gradient(sym, dict(zip(names, values)), ctx=ctx, dtype=np.float64,
                           numeric_eps=1e-7, rtol=1e-4, atol=1e-6)


def test_dropout_is_the_identity_in_inference_and_drops_in_training(ctx):
    values = _inputs('rnn_tanh', 4, 3, 2, 6, 3, False, np.random.RandomState(0))
    names = ['data', 'parameters', 'state']
    args = {n: mx.nd.array(v, ctx) for n, v in zip(names, values)}
    kwargs = dict(state_size=6, num_layers=3, mode='rnn_tanh')
    plain = mx.nd.RNN(*args.values(), **kwargs).asnumpy()
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], p=0.5, **kwargs)
    grads = {n: mx.nd.zeros(v.shape, ctx) for n, v in args.items()}
    executor = sym.bind(ctx, args, args_grad=grads)
    assert_almost_equal(executor.forward(is_train=False)[0], plain, rtol=1e-6, atol=1e-7)
    trained = executor.forward(is_train=True)[0].asnumpy()
    assert not np.allclose(trained, plain)
    executor.backward([mx.nd.ones(plain.shape, ctx)])
    assert np.isfinite(grads['parameters'].asnumpy()).all()


# ----------------------------------------------------------------------------------------------
# FusedRNNCell
# ----------------------------------------------------------------------------------------------
def _bind_cell(cell, length, shape, layout, ctx, params):
    outputs, _ = cell.unroll(length, mx.sym.Variable('data'), layout=layout, merge_outputs=True)
    executor = outputs.simple_bind(ctx, data=shape, grad_req='null')
    for name, value in params.items():
        executor.arg_dict[name][:] = value
    return executor


@pytest.mark.parametrize('mode', sorted(GATES))
@pytest.mark.parametrize('layers, bidirectional', [(1, False), (2, False), (2, True)])
def test_fused_and_unfused_cells_agree_through_pack_and_unpack(mode, layers, bidirectional, ctx):
    T, N, C, H = 4, 3, 5, 3
    fused = mx.rnn.FusedRNNCell(H, num_layers=layers, mode=mode, bidirectional=bidirectional,
                                prefix='f_')
    data = np.random.uniform(-1, 1, (N, T, C))
    flat = np.random.uniform(-1, 1, rnn_param_size(mode, H, layers, C, bidirectional))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                     # NTC layout with a fused cell
        fused_exec = _bind_cell(fused, T, (N, T, C), 'NTC', ctx,
                                {'f_parameters': flat, 'data': data})
    want = fused_exec.forward()[0].asnumpy()

    # fused checkpoint -> unfused cells
    unfused = fused.unfuse()
    packed = unfused.pack_weights(fused.unpack_weights({'f_parameters': mx.nd.array(flat)}))
    packed['data'] = data
    unfused_exec = _bind_cell(unfused, T, (N, T, C), 'NTC', ctx, packed)
    got = unfused_exec.forward()[0].asnumpy()
    assert_almost_equal(got, want, rtol=1e-5, atol=1e-6)

    # and back: unfused checkpoint -> fused vector, identical to the original
    back = fused.pack_weights(unfused.unpack_weights(
        {k: v for k, v in unfused_exec.arg_dict.items() if k != 'data'}))
    assert list(back) == ['f_parameters']
    assert_almost_equal(back['f_parameters'], flat.astype(np.float32), rtol=0, atol=0)


def test_fused_cell_unroll_layouts_states_and_names():
    cell = mx.rnn.FusedRNNCell(4, num_layers=2, mode='lstm', bidirectional=True,
                               get_next_state=True, prefix='lstm_')
    assert cell.state_info == [{'shape': (4, 0, 4), '__layout__': 'LNC'}] * 2
    outputs, states = cell.unroll(3, mx.sym.Variable('data'), layout='TNC')
    assert outputs.list_arguments() == ['data', 'lstm_parameters']
    assert outputs.infer_shape(data=(3, 2, 5))[1] == [(3, 2, 8)]
    assert len(states) == 2 and all(s.attr('__layout__') == 'LNC' for s in states)
    assert states[1].infer_shape(data=(3, 2, 5))[1] == [(4, 2, 4)]
    steps, states = cell.unroll(3, mx.sym.Variable('data'), layout='TNC', merge_outputs=False)
    assert len(steps) == 3 and steps[0].infer_shape(data=(3, 2, 5))[1] == [(2, 8)]
    with pytest.warns(UserWarning, match='NTC layout'):
        ntc, _ = cell.unroll(3, mx.sym.Variable('data'), layout='NTC', merge_outputs=True)
    assert ntc.infer_shape(data=(2, 3, 5))[1] == [(2, 3, 8)]
    gru = mx.rnn.FusedRNNCell(4, mode='gru')
    assert [s.name for s in gru.begin_state()] == ['gru_begin_state_0']
    out, states = gru.unroll(2, mx.sym.Variable('data'), layout='TNC')
    assert states == [] and out.list_arguments() == ['data', 'gru_parameters']
    with pytest.raises(NotImplementedError, match='cannot be stepped'):
        gru(mx.sym.Variable('x'), gru.begin_state())


def test_unfuse_builds_mxnets_cells():
    # structure and names as printed by MXNet 1.9.1 for the same calls
    cell = mx.rnn.FusedRNNCell(3, num_layers=2, mode='gru', dropout=0.5, prefix='g_')
    assert ([type(c).__name__ + ':' + c._prefix for c in cell.unfuse()._cells]
            == ['GRUCell:g_l0_', 'DropoutCell:g__dropout0_', 'GRUCell:g_l1_'])
    bi = mx.rnn.FusedRNNCell(3, num_layers=2, mode='lstm', bidirectional=True, prefix='f_')
    out, _ = bi.unfuse().unroll(2, mx.sym.Variable('data'), merge_outputs=True)
    assert out.name == 'f_bi_l1_out'
    assert out.list_arguments() == ['data'] + ['f_%s%d_%s' % (d, layer, w) for layer in (0, 1)
                                               for d in 'lr' for w in ('i2h_weight', 'i2h_bias',
                                                                       'h2h_weight', 'h2h_bias')]


def test_unpack_weights_names_and_errors():
    cell = mx.rnn.FusedRNNCell(2, num_layers=1, mode='lstm', prefix='x_')
    flat = mx.nd.array(np.arange(rnn_param_size('lstm', 2, 1, 3, False)))
    args = cell.unpack_weights({'x_parameters': flat, 'other': mx.nd.ones((1,))})
    assert sorted(args) == sorted(['other'] + ['x_l0_%s_%s_%s' % (g, k, w)
                                               for g in ('i2h', 'h2h') for k in 'ifco'
                                               for w in ('weight', 'bias')])
    # the i2h weights come first, gate by gate; the biases after all weights
    assert args['x_l0_i2h_i_weight'].asnumpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert args['x_l0_i2h_f_weight'].asnumpy()[0].tolist() == [6, 7, 8]
    assert args['x_l0_h2h_i_weight'].asnumpy().ravel().tolist() == [24, 25, 26, 27]
    assert args['x_l0_i2h_i_bias'].asnumpy().tolist() == [40, 41]
    assert args['x_l0_h2h_o_bias'].asnumpy().tolist() == [54, 55]
    with pytest.raises(MXNetValueError, match='a parameters vector of 7 elements does not fit'):
        cell.unpack_weights({'x_parameters': mx.nd.ones((7,))})
    with pytest.raises(MXNetValueError, match='x_l0_i2h_i_weight is missing'):
        cell.pack_weights({})


def test_fused_rnn_initializer():
    cell = mx.rnn.FusedRNNCell(3, num_layers=2, mode='lstm', bidirectional=True, prefix='f_',
                               forget_bias=2.5)
    var = cell.params.get('parameters')
    # MXNet 1.9.1 writes the same __init__ attribute
    assert var.attr('__init__') == ('["fusedrnn", {"init": null, "num_hidden": 3, "num_layers": '
                                    '2, "mode": "lstm", "bidirectional": true, '
                                    '"forget_bias": 2.5}]')
    out, _ = cell.unroll(2, mx.sym.Variable('data'), layout='TNC')
    module = mx.mod.Module(out, data_names=['data'], label_names=None)
    module.bind(data_shapes=[('data', (2, 4, 5))], for_training=False)
    module.init_params(mx.init.Uniform(0.3))
    args = cell.unpack_weights(module.get_params()[0])
    for name, value in args.items():
        value = value.asnumpy()
        if name.endswith('_f_bias'):                 # i2h and h2h forget biases, as in MXNet
            assert (value == 2.5).all(), name
        elif name.endswith('_bias'):
            assert (value == 0).all(), name
        else:
            assert np.abs(value).max() <= 0.3 and value.std() > 0.05, name
    explicit = mx.init.FusedRNN(mx.init.Constant(0.5), 2, 1, 'gru')
    flat = mx.nd.zeros((rnn_param_size('gru', 2, 1, 3, False),))
    # as a variable's __init__ attribute: the weights get Constant(0.5), the biases 0
    mx.init.Uniform()(mx.init.InitDesc('gru_parameters', {'__init__': explicit.dumps()}), flat)
    assert (flat.asnumpy()[:30] == 0.5).all() and (flat.asnumpy()[30:] == 0).all()
    again = mx.init.create(explicit.dumps())
    assert isinstance(again, mx.init.FusedRNN) and again.dumps() == explicit.dumps()


# ----------------------------------------------------------------------------------------------
# GPU: the operator only calls backend functions, so it runs on the GPU backend too (here on the
# host emulation of tests/gpu_emulator.py; test_gpu_backend.py runs the operator table's cases)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs', [dict(mode='rnn_relu', num_layers=2, bidirectional=True),
                                    dict(mode='lstm', num_layers=1, lstm_state_clip_min=-0.2,
                                         lstm_state_clip_max=0.2)],
                         ids=['rnn_relu-bi', 'lstm-clip'])
def test_cpu_and_emulated_gpu_agree(kwargs, monkeypatch):
    from gpu_emulator import emulated_gpu
    names = ['data', 'parameters', 'state'] + (['state_cell'] if kwargs['mode'] == 'lstm' else [])
    sym = mx.sym.RNN(*[mx.sym.Variable(n) for n in names], state_size=3, state_outputs=True,
                     **kwargs)
    shapes = dict(zip(names, sym.infer_shape(data=(4, 2, 3))[0]))
    params = {n: np.random.uniform(-1, 1, s) * (3 if n == 'data' else 1)
              for n, s in shapes.items()}
    with emulated_gpu(monkeypatch, 'numpy'):
        specs = [dict(ctx=c, type_dict={n: np.float32 for n in names}, **shapes)
                 for c in (mx.cpu(), mx.gpu(0))]
        mx.test_utils.check_consistency(sym, specs, arg_params=params, rtol=1e-4, atol=1e-5)
