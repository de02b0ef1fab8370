"""mx.optimizer and mx.lr_scheduler: every update rule against a NumPy statement of MXNet's
formula and against trajectories recorded from MXNet 1.9.1; multipliers, update counts,
the registry, the updater and its saved states; the schedules."""
import json
import logging
import math
import os

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, 'data', 'mxnet_training_reference.npz')


# ----------------------------------------------------------------------------------------------
# NumPy statements of the rules (one step; state is a list of arrays updated in place)
# ----------------------------------------------------------------------------------------------
def _clip(g, c):
    return np.clip(g, -c, c) if c else g


def np_sgd(w, g, s, lr, wd, o, t):
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    if not o.get('momentum'):
        return (1 - lr * wd) * w - lr * G
    s[0] = o['momentum'] * s[0] - lr * wd * w - lr * G
    return w + s[0]


def np_nag(w, g, s, lr, wd, o, t):
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    if not o.get('momentum'):
        return (1 - lr * wd) * w - lr * G
    m = o['momentum']
    new_w = w + m * (m * s[0] - lr * (G + wd * w)) - lr * (G + wd * w)
    s[0] = m * s[0] - lr * (G + wd * new_w)          # MXNet reads the updated weight here
    return new_w


def np_signum(w, g, s, lr, wd, o, t):
    m = o.get('momentum', 0.9)
    if not m:
        return (1 - lr * wd) * w - lr * np.sign(g)
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    s[0] = m * s[0] - (1 - m) * (wd * w + G)
    return (1 - lr * o.get('wd_lh', 0.0)) * w + lr * np.sign(s[0])


def np_adam(w, g, s, lr, wd, o, t):
    b1, b2, eps = o.get('beta1', 0.9), o.get('beta2', 0.999), o.get('epsilon', 1e-8)
    G = _clip(o['rescale_grad'] * g + wd * w, o.get('clip_gradient'))
    s[0] = b1 * s[0] + (1 - b1) * G
    s[1] = b2 * s[1] + (1 - b2) * G * G
    lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - lr_t * s[0] / (np.sqrt(s[1]) + eps)


def np_adamax(w, g, s, lr, wd, o, t):
    b1, b2 = o.get('beta1', 0.9), o.get('beta2', 0.999)
    G = _clip(o['rescale_grad'] * g + wd * w, o.get('clip_gradient'))
    s[0] = b1 * s[0] + (1 - b1) * G
    s[1] = np.maximum(b2 * s[1], np.abs(G))
    return w - lr / (1 - b1 ** t) * s[0] / s[1]


def np_adagrad(w, g, s, lr, wd, o, t):
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    s[0] = s[0] + G * G
    return w - lr * (G / np.sqrt(s[0] + o.get('eps', 1e-7)) + wd * w)


def np_adadelta(w, g, s, lr, wd, o, t):
    rho, eps = o.get('rho', 0.9), o.get('epsilon', 1e-5)
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    s[0] = rho * s[0] + (1 - rho) * G * G
    delta = np.sqrt(s[1] + eps) / np.sqrt(s[0] + eps) * G
    s[1] = rho * s[1] + (1 - rho) * delta * delta
    return w - (delta + wd * w)


def np_rmsprop(w, g, s, lr, wd, o, t):
    g1, g2, eps = o.get('gamma1', 0.9), o.get('gamma2', 0.9), o.get('epsilon', 1e-8)
    G = _clip(o['rescale_grad'] * g + wd * w, o.get('clip_gradient'))
    s[0] = (1 - g1) * G * G + g1 * s[0]
    if o.get('centered'):
        s[1] = (1 - g1) * G + g1 * s[1]
        s[2] = g2 * s[2] - lr * G / np.sqrt(s[0] - s[1] * s[1] + eps)
        new_w = w + s[2]
    else:
        new_w = w - lr * G / np.sqrt(s[0] + eps)
    if o.get('clip_weights'):
        new_w = np.clip(new_w, -o['clip_weights'], o['clip_weights'])
    return new_w


def np_ftrl(w, g, s, lr, wd, o, t):
    lamda1, beta = o.get('lamda1', 0.01), o.get('beta', 1)
    G = _clip(o['rescale_grad'] * g, o.get('clip_gradient'))
    s[0] = s[0] + G - (np.sqrt(s[1] + G * G) - np.sqrt(s[1])) * w / lr
    s[1] = s[1] + G * G
    return (np.sign(s[0]) * lamda1 - s[0]) / ((beta + np.sqrt(s[1])) / lr + wd) \
        * (np.abs(s[0]) > lamda1)


class NadamState:
    """Nadam's optimizer-wide momentum schedule."""

    def __init__(self):
        self.m_schedule = 1.0

    def __call__(self, w, g, s, lr, wd, o, t):
        b1, b2, eps, decay = 0.9, 0.999, 1e-8, 0.004
        G = _clip(o['rescale_grad'] * g + wd * w, o.get('clip_gradient'))
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * decay))
        self.m_schedule *= mu_t
        schedule_next = self.m_schedule * mu_next
        s[0] = b1 * s[0] + (1 - b1) * G
        s[1] = b2 * s[1] + (1 - b2) * G * G
        m_bar = (1 - mu_t) * G / (1 - self.m_schedule) + mu_next * s[0] / (1 - schedule_next)
        return w - lr * m_bar / (np.sqrt(s[1] / (1 - b2 ** t)) + eps)


RULES = {'sgd': np_sgd, 'nag': np_nag, 'signum': np_signum, 'adam': np_adam,
         'adamax': np_adamax, 'adagrad': np_adagrad, 'adadelta': np_adadelta,
         'rmsprop': np_rmsprop, 'ftrl': np_ftrl}
STATE_COUNT = {'sgd': 1, 'nag': 1, 'signum': 1, 'adam': 2, 'adamax': 2, 'adagrad': 1,
               'adadelta': 2, 'rmsprop': 3, 'ftrl': 2, 'nadam': 2}
DEFAULT_LR = {'adam': 0.001, 'adamax': 0.002, 'nadam': 0.001, 'rmsprop': 0.001, 'ftrl': 0.1,
              'signum': 0.01}

CASES = [
    ('sgd', {'learning_rate': 0.1}),
    ('sgd', {'learning_rate': 0.1, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.3}),
    ('sgd', {'learning_rate': 0.05, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.25}),
    ('nag', {'learning_rate': 0.1, 'momentum': 0.8, 'wd': 0.02, 'clip_gradient': 0.5}),
    ('signum', {'learning_rate': 0.1, 'wd': 0.01, 'wd_lh': 0.1, 'rescale_grad': 0.5}),
    ('signum', {'momentum': 0.0, 'wd': 0.01}),
    ('adam', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5}),
    ('adam', {'beta1': 0.8, 'beta2': 0.99, 'epsilon': 1e-4, 'clip_gradient': 0.2}),
    ('adamax', {'wd': 0.01, 'rescale_grad': 0.5}),
    ('nadam', {'learning_rate': 0.01, 'wd': 0.01, 'clip_gradient': 0.4}),
    ('adagrad', {'learning_rate': 0.1, 'wd': 0.01, 'eps': 1e-5}),
    ('adadelta', {'rho': 0.8, 'epsilon': 1e-4, 'wd': 0.01, 'rescale_grad': 0.5}),
    ('rmsprop', {'learning_rate': 0.01, 'wd': 0.01, 'gamma1': 0.8}),
    ('rmsprop', {'learning_rate': 0.01, 'centered': True, 'gamma2': 0.7, 'clip_weights': 0.6}),
    ('ftrl', {'learning_rate': 0.2, 'lamda1': 0.05, 'beta': 0.5, 'wd': 0.01}),
]


def _run_numpy(name, kwargs, w0, grads, lr_mult=1.0, wd_mult=1.0):
    o = dict(kwargs)
    o.setdefault('rescale_grad', 1.0)
    lr = o.get('learning_rate', DEFAULT_LR.get(name, 0.01)) * lr_mult
    wd = o.get('wd', 0.0) * wd_mult
    rule = NadamState() if name == 'nadam' else RULES[name]
    w = w0.astype(np.float64)
    state = [np.zeros_like(w) for _ in range(STATE_COUNT[name])]
    for t, g in enumerate(grads, 1):
        w = rule(w, g.astype(np.float64), state, lr, wd, o, t)
    return w


@pytest.mark.parametrize('name,kwargs', CASES, ids=['%s-%d' % (c[0], i) for i, c in
                                                     enumerate(CASES)])
def test_rule_matches_numpy_statement(name, kwargs, ctx):
    rng = np.random.RandomState(3)
    shape = (7, 3)                               # awkward sizes: a prime and a small one
    w0 = rng.uniform(-1, 1, shape).astype(np.float32)
    grads = [rng.uniform(-2, 2, shape).astype(np.float32) for _ in range(3)]
    opt = mx.optimizer.create(name, **kwargs)
    weight = mx.nd.array(w0, ctx=ctx)
    state = opt.create_state_multi_precision(0, weight)
    for g in grads:
        opt.update_multi_precision(0, weight, mx.nd.array(g, ctx=ctx), state)
    expected = _run_numpy(name, kwargs, w0, grads)
    np.testing.assert_allclose(weight.asnumpy(), expected, rtol=1e-4, atol=1e-5)


def test_rules_match_mxnet_trajectories():
    """4 steps of every optimizer on two parameters (bias with lr_mult 2 and no weight decay),
    compared with the weights MXNet 1.9.1 produced (tests/data/make_mxnet_training_reference)."""
    ref = np.load(REFERENCE)
    configs = json.loads(str(ref['opt_config']))
    assert len(configs) >= 14
    for k, (name, kwargs) in enumerate(configs):
        opt = mx.optimizer.create(name, param_idx2name={0: 'fc_weight', 1: 'fc_bias'}, **kwargs)
        opt.set_lr_mult({'fc_bias': 2.0})
        updater = mx.optimizer.get_updater(opt)
        weights = [mx.nd.array(ref['w0_%d' % i]) for i in range(2)]
        for step in range(4):
            for i in range(2):
                updater(i, mx.nd.array(ref['g%d_%d' % (step, i)]), weights[i])
        for i in range(2):
            np.testing.assert_allclose(weights[i].asnumpy(), ref['opt%d_w%d' % (k, i)],
                                       rtol=1e-5, atol=2e-6, err_msg='%s %s' % (name, kwargs))


def test_rules_on_float64_and_single_element(ctx):
    for name in ('sgd', 'adam', 'rmsprop'):
        opt = mx.optimizer.create(name, learning_rate=0.1)
        w = mx.nd.array([0.5], ctx=ctx, dtype=np.float64)
        state = opt.create_state(0, w)
        opt.update(0, w, mx.nd.array([2.0], ctx=ctx, dtype=np.float64), state)
        assert w.dtype == np.float64
        expected = _run_numpy(name, {'learning_rate': 0.1}, np.array([0.5]), [np.array([2.0])])
        np.testing.assert_allclose(w.asnumpy(), expected, rtol=1e-10)


def test_update_leaves_gradient_untouched():
    for name in ('adadelta', 'adagrad', 'sgd'):
        opt = mx.optimizer.create(name, rescale_grad=0.5)
        w, g = mx.nd.ones((3,)), mx.nd.array([1., 2., 3.])
        opt.update(0, w, g, opt.create_state(0, w))
        np.testing.assert_array_equal(g.asnumpy(), [1., 2., 3.])


def test_update_errors():
    opt = mx.optimizer.SGD()
    with pytest.raises(MXNetError, match='weight has shape'):
        opt.update(0, mx.nd.ones((2,)), mx.nd.ones((3,)), None)
    with pytest.raises(MXNetError, match='grad must be an NDArray'):
        opt.update(0, mx.nd.ones((2,)), np.ones(2), None)


# ----------------------------------------------------------------------------------------------
# multipliers, counts, learning rates
# ----------------------------------------------------------------------------------------------
def _net():
    data = mx.sym.Variable('data')
    w = mx.sym.Variable('fc_weight', lr_mult=2.0, wd_mult=0.5)
    return mx.sym.FullyConnected(data, weight=w, num_hidden=3, name='fc')


def test_multipliers_from_symbol_and_names():
    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.01, sym=_net(),
                           param_idx2name={0: 'fc_weight', 1: 'fc_bias', 2: 'bn_gamma'})
    assert opt.lr_mult == {'fc_weight': 2.0}
    assert opt.wd_mult == {'fc_bias': 0.0, 'fc_weight': 0.5}
    assert opt._get_lr(0) == pytest.approx(0.2)
    assert opt._get_wd(0) == pytest.approx(0.005)
    assert opt._get_wd(1) == 0.0                 # biases are not decayed
    assert opt._get_wd(2) == pytest.approx(0.01)  # gammas are
    opt.set_lr_mult({'fc_bias': 3.0})
    assert opt.lr_mult == {'fc_weight': 2.0, 'fc_bias': 3.0}
    assert opt._get_lr(1) == pytest.approx(0.3)
    opt.set_wd_mult({2: 0.0})                    # by index, as MXNet allows
    assert opt._get_wd(2) == 0.0


def test_lr_mult_applies_in_updates():
    opt = mx.optimizer.SGD(learning_rate=0.1, param_idx2name={0: 'a_weight', 1: 'b_weight'})
    opt.set_lr_mult({'b_weight': 0.0})
    updater = mx.optimizer.get_updater(opt)
    wa, wb = mx.nd.ones((2,)), mx.nd.ones((2,))
    updater([0, 1], [mx.nd.ones((2,)), mx.nd.ones((2,))], [wa, wb])
    np.testing.assert_allclose(wa.asnumpy(), 0.9)
    np.testing.assert_allclose(wb.asnumpy(), 1.0)


def test_update_counts_and_begin_num_update():
    opt = mx.optimizer.Adam(begin_num_update=10)
    w = mx.nd.ones((2,))
    state = opt.create_state(0, w)
    assert opt.num_update == 10
    opt.update(0, w, mx.nd.ones((2,)), state)
    opt.update(0, w, mx.nd.ones((2,)), state)
    opt.update(1, mx.nd.ones((2,)), mx.nd.ones((2,)), opt.create_state(1, w))
    assert opt._index_update_count == {0: 12, 1: 11}
    assert opt.num_update == 12


def test_learning_rate_and_scheduler():
    opt = mx.optimizer.SGD()
    assert opt.learning_rate == 0.01                     # the default
    opt.set_learning_rate(0.5)
    assert opt.learning_rate == 0.5
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    opt = mx.optimizer.SGD(lr_scheduler=sched)
    assert opt.learning_rate == 1.0
    with pytest.raises(UserWarning):
        opt.set_learning_rate(0.1)
    w = mx.nd.ones((1,))
    for _ in range(3):
        opt.update(0, w, mx.nd.ones((1,)), None)       # updates use 1, 1, 0.5
    np.testing.assert_allclose(w.asnumpy(), [1 - 1 - 1 - 0.5])
    assert opt.learning_rate == 0.5
    sched = mx.lr_scheduler.FactorScheduler(step=2, base_lr=1.0)
    mx.optimizer.SGD(learning_rate=0.3, lr_scheduler=sched)
    assert sched.base_lr == 0.3                          # learning_rate overrides


def test_registry():
    assert type(mx.optimizer.create('SGD')).__name__ == 'SGD'
    assert type(mx.optimizer.Optimizer.create_optimizer('rmsprop', centered=True)) \
        is mx.optimizer.RMSProp
    for name in ('sgd', 'nag', 'adam', 'adagrad', 'adadelta', 'adamax', 'rmsprop', 'nadam',
                 'signum', 'ftrl', 'ccsgd'):
        assert name in mx.optimizer.Optimizer.opt_registry
    with pytest.raises(MXNetError, match='Cannot find optimizer nosuch'):
        mx.optimizer.create('nosuch')

    @mx.optimizer.register
    class PlusOne(mx.optimizer.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] = weight + 1
    w = mx.nd.zeros((2,))
    mx.optimizer.get_updater(mx.optimizer.create('plusone'))(0, mx.nd.zeros((2,)), w)
    np.testing.assert_array_equal(w.asnumpy(), [1, 1])


def test_defaults_match_mxnet():
    opt = mx.optimizer.Optimizer()
    assert (opt.rescale_grad, opt.wd, opt.clip_gradient, opt.lr, opt.begin_num_update,
            opt.multi_precision) == (1.0, 0.0, None, 0.01, 0, False)
    adam = mx.optimizer.Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-8)
    rms = mx.optimizer.RMSProp()
    assert (rms.lr, rms.gamma1, rms.gamma2, rms.epsilon, rms.centered) == \
        (0.001, 0.9, 0.9, 1e-8, False)
    assert mx.optimizer.AdaGrad().float_stable_eps == 1e-7
    assert (mx.optimizer.AdaDelta().rho, mx.optimizer.AdaDelta().epsilon) == (0.9, 1e-5)
    assert (mx.optimizer.Ftrl().lamda1, mx.optimizer.Ftrl().lr, mx.optimizer.Ftrl().beta) == \
        (0.01, 0.1, 1)
    assert mx.optimizer.Adamax().lr == 0.002
    assert (mx.optimizer.Signum().lr, mx.optimizer.Signum().momentum) == (0.01, 0.9)
    assert mx.optimizer.Nadam().schedule_decay == 0.004
    assert mx.optimizer.SGD().lazy_update is True


def test_multi_precision_float16():
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, multi_precision=True)
    w = mx.nd.array([1.0, 2.0], dtype=np.float16)
    state = opt.create_state_multi_precision(0, w)
    master, momentum = state
    assert master.dtype == np.float32 and momentum.dtype == np.float32
    for _ in range(3):
        opt.update_multi_precision(0, w, mx.nd.array([1e-3, 1e-3], dtype=np.float16), state)
    expected = _run_numpy('sgd', {'learning_rate': 0.1, 'momentum': 0.9},
                          np.array([1.0, 2.0]), [np.full(2, 1e-3, np.float16)] * 3)
    np.testing.assert_allclose(master.asnumpy(), expected, rtol=1e-5)
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy(), expected, rtol=1e-3)
    with pytest.warns(UserWarning, match='multi_precision'):
        mx.optimizer.SGD().create_state_multi_precision(0, mx.nd.zeros((2,), dtype=np.float16))


# ----------------------------------------------------------------------------------------------
# updater and saved states
# ----------------------------------------------------------------------------------------------
def _train(updater, steps, seed=0):
    rng = np.random.RandomState(seed)
    weights = [mx.nd.array(rng.uniform(-1, 1, (3, 2))), mx.nd.array(rng.uniform(-1, 1, (2,)))]
    for _ in range(steps):
        for i, w in enumerate(weights):
            updater(i, mx.nd.array(rng.uniform(-1, 1, w.shape)), w)
    return weights


@pytest.mark.parametrize('name,kwargs', [('sgd', {'momentum': 0.9}), ('adam', {}),
                                         ('rmsprop', {'centered': True}), ('sgd', {})])
def test_states_round_trip_resumes_exactly(name, kwargs):
    """Train 3 steps, save the states, restore them into a fresh updater, train 2 more:
    the same weights as 5 uninterrupted steps."""
    rng = np.random.RandomState(1)
    w0 = [rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (2,))]
    grads = [[rng.uniform(-1, 1, w.shape) for w in w0] for _ in range(5)]

    def run(updater, weights, steps):
        for step in steps:
            for i, w in enumerate(weights):
                updater(i, mx.nd.array(grads[step][i]), w)

    full = mx.optimizer.get_updater(mx.optimizer.create(name, learning_rate=0.1, **kwargs))
    weights_full = [mx.nd.array(w) for w in w0]
    run(full, weights_full, range(5))

    first = mx.optimizer.get_updater(mx.optimizer.create(name, learning_rate=0.1, **kwargs))
    weights = [mx.nd.array(w) for w in w0]
    run(first, weights, range(3))
    blob = first.get_states(dump_optimizer=True)
    assert isinstance(blob, bytes)
    second = mx.optimizer.get_updater(mx.optimizer.create('sgd'))
    second.set_states(blob)
    assert type(second.optimizer).__name__.lower() == name
    assert second.optimizer.num_update == 3
    run(second, weights, range(3, 5))
    for a, b in zip(weights, weights_full):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-6)


def test_states_format_is_an_ndarray_file_with_json_header():
    opt = mx.optimizer.Adam(learning_rate=0.1,
                            lr_scheduler=mx.lr_scheduler.FactorScheduler(5, 0.5, base_lr=0.1))
    updater = mx.optimizer.get_updater(opt)
    _train(updater, 2)
    blob = updater.get_states()
    content = mx.nd.load_frombuffer(blob)
    header = json.loads(bytes(content['__mxref_states_header__'].asnumpy()).decode())
    assert header['format'] == 'mxref-optimizer-states' and header['version'] == 1
    assert header['optimizer'] is None
    assert header['states'][0] == [0, {'tuple': [{'array': 0}, {'array': 1}]}]
    assert sorted(k for k in content if k != '__mxref_states_header__') == ['0', '1', '2', '3']
    restored = mx.optimizer.get_updater(mx.optimizer.Adam())
    restored.set_states(blob)
    np.testing.assert_array_equal(restored.states[1][1].asnumpy(),
                                  updater.states[1][1].asnumpy())
    assert restored.states_synced == {0: False, 1: False}
    # with the optimizer: the scheduler and counts come back
    full = mx.optimizer.get_updater(mx.optimizer.SGD())
    full.set_states(updater.get_states(dump_optimizer=True))
    assert isinstance(full.optimizer.lr_scheduler, mx.lr_scheduler.FactorScheduler)
    assert full.optimizer.lr_scheduler.step == 5
    assert full.optimizer._index_update_count == {0: 2, 1: 2}


def test_states_with_names_and_none():
    updater = mx.optimizer.get_updater(mx.optimizer.SGD())      # no momentum: None states
    updater('fc_weight', mx.nd.ones((2,)), mx.nd.ones((2,)))
    restored = mx.optimizer.get_updater(mx.optimizer.SGD())
    restored.set_states(updater.get_states())
    assert restored.states == {'fc_weight': None}


def test_states_reject_pickle_and_garbage():
    updater = mx.optimizer.get_updater(mx.optimizer.SGD())
    import pickle
    with pytest.raises(MXNetError, match='pickle'):
        updater.set_states(pickle.dumps({0: None}))
    with pytest.raises(MXNetError):
        updater.set_states(b'not a states file at all')
    good = mx.optimizer.get_updater(mx.optimizer.SGD(momentum=0.9))
    _train(good, 1)
    blob = good.get_states()
    with pytest.raises(MXNetError, match='truncated'):
        updater.set_states(blob[:-7])
    from mxref.ndarray.serialization import save_to_bytes
    with pytest.raises(MXNetError, match='header'):
        updater.set_states(save_to_bytes({'a': mx.nd.ones((1,))}))


def test_updater_syncs_states_to_weight_context():
    updater = mx.optimizer.get_updater(mx.optimizer.SGD(momentum=0.9))
    _train(updater, 1)
    restored = mx.optimizer.get_updater(mx.optimizer.SGD(momentum=0.9))
    restored.set_states(updater.get_states())
    w = mx.nd.ones((3, 2), ctx=mx.cpu(1))
    restored(0, mx.nd.ones((3, 2), ctx=mx.cpu(1)), w)
    assert restored.states[0].context == mx.cpu(1)
    assert restored.states_synced[0]


# ----------------------------------------------------------------------------------------------
# learning-rate schedules
# ----------------------------------------------------------------------------------------------
def test_factor_scheduler(caplog):
    sched = mx.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=1.0, stop_factor_lr=0.1)
    with caplog.at_level(logging.INFO):
        values = [sched(n) for n in range(1, 20)]
    expected = [max(0.1, 0.5 ** ((n - 1) // 3)) for n in range(1, 20)]
    np.testing.assert_allclose(values, expected)
    assert 'Update[4]: Change learning rate to 5.00000e-01' in caplog.text
    assert 'Update[13]: now learning rate arrived at 1.00000e-01, will not change in the ' \
           'future' in caplog.text


def test_multi_factor_scheduler():
    sched = mx.lr_scheduler.MultiFactorScheduler(step=[2, 5], factor=0.1, base_lr=1.0)
    values = [sched(n) for n in range(1, 8)]
    np.testing.assert_allclose(values, [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    with pytest.raises(MXNetError, match='increasing'):
        mx.lr_scheduler.MultiFactorScheduler(step=[3, 2])
    with pytest.raises(MXNetError, match='no more than 1'):
        mx.lr_scheduler.MultiFactorScheduler(step=[3], factor=2)


def test_poly_and_cosine_with_warmup():
    poly = mx.lr_scheduler.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1,
                                         warmup_steps=4, warmup_begin_lr=0.2)
    cosine = mx.lr_scheduler.CosineScheduler(max_update=10, base_lr=1.0, final_lr=0.1,
                                             warmup_steps=4, warmup_begin_lr=0.2,
                                             warmup_mode='constant')
    for n in range(0, 14):
        if n < 4:
            assert poly(n) == pytest.approx(0.2 + 0.8 * n / 4)
            assert cosine(n) == pytest.approx(0.2)
            continue
        m = min(n, 10)
        assert poly(n) == pytest.approx(0.1 + 0.9 * (1 - (m - 4) / 6) ** 2)
        assert cosine(n) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * (m - 4) / 6)) / 2)


def test_scheduler_argument_errors():
    with pytest.raises(MXNetError, match='Base lr has to be higher'):
        mx.lr_scheduler.FactorScheduler(step=1, base_lr=0.1, warmup_begin_lr=0.5)
    with pytest.raises(MXNetError, match='linear and constant'):
        mx.lr_scheduler.FactorScheduler(step=1, warmup_mode='cubic')
    with pytest.raises(MXNetError, match='greater or equal than 1'):
        mx.lr_scheduler.FactorScheduler(step=0)
    with pytest.raises(MXNetError, match='strictly positive'):
        mx.lr_scheduler.PolyScheduler(max_update=0)
    with pytest.raises(MXNetError, match='max_update must be an int'):
        mx.lr_scheduler.CosineScheduler(max_update=1.5)
    with pytest.raises(NotImplementedError):
        mx.lr_scheduler.LRScheduler()(1)
