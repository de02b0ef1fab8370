"""The fused optimizer kernels (``sgd_update``, ``sgd_mom_update``, ``adam_update`` of the
CPU backend, Cython in ``mxref/_kernels/optimizer.pyx``) against the optimizers' elementwise
expressions, which state the rules readably and are the reference."""
import numpy as np
import pytest

import mxref as mx
from mxref.backend import cpu
from mxref._kernels import require

kernel = require('optimizer')

SIZES = [1, 7, 131, 4099, (1 << 20) + 3]            # the last one runs the threaded loop
RULES = [dict(), dict(wd=1e-3), dict(clip_gradient=0.02), dict(wd=1e-2, clip_gradient=0.5),
         dict(rescale_grad=0.01, clip_gradient=0.001)]


def _buffers(rng, n, dtype, count):
    return [rng.standard_normal(n).astype(dtype) for _ in range(count)]


def _tol(dtype):
    return dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)


def _expressions(optimizer, index, w, g, state):
    """One update by the optimizer's expression path, on NDArrays (the reference)."""
    optimizer._update_count(index)
    lr, wd = optimizer._get_lr(index), optimizer._get_wd(index)
    if isinstance(optimizer, mx.optimizer.Adam):
        t = optimizer._index_update_count[index]
        lr *= np.sqrt(1. - optimizer.beta2 ** t) / (1. - optimizer.beta1 ** t)
        optimizer.update_by_expressions(cpu, w.handle, g.handle, state[0].handle,
                                        state[1].handle, lr, wd)
    else:
        optimizer.update_by_expressions(cpu, w.handle, g.handle,
                                        None if state is None else state, lr, wd)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('n', SIZES)
@pytest.mark.parametrize('rule', range(len(RULES)))
@pytest.mark.parametrize('name,kwargs', [('sgd', dict(learning_rate=0.1)),
                                         ('sgd', dict(learning_rate=0.1, momentum=0.9)),
                                         ('adam', dict(learning_rate=0.01))])
def test_fused_update_matches_expressions(dtype, n, rule, name, kwargs):
    if n > 1 << 20 and (rule != 3 or dtype != np.float32):
        pytest.skip('the threaded loop is checked with one rule in float32 (a fast suite)')
    rng = np.random.default_rng(n)
    settings = dict(kwargs, **RULES[rule])
    fused_opt = mx.optimizer.create(name, **settings)
    ref_opt = mx.optimizer.create(name, **settings)
    w0, *grads = _buffers(rng, n, dtype, 4)
    fused_w, ref_w = mx.nd.array(w0, dtype=dtype), mx.nd.array(w0, dtype=dtype)
    fused_state = fused_opt.create_state(0, fused_w)
    ref_state = ref_opt.create_state(0, ref_w)
    for g in grads:                                      # three steps: states carry over
        fused_opt.update(0, fused_w, mx.nd.array(g, dtype=dtype), fused_state)
        _expressions(ref_opt, 0, ref_w, mx.nd.array(g, dtype=dtype), ref_state)
    np.testing.assert_allclose(fused_w.asnumpy(), ref_w.asnumpy(), **_tol(dtype))
    states = [] if fused_state is None else (
        list(zip(fused_state, ref_state)) if isinstance(fused_state, tuple)
        else [(fused_state, ref_state)])
    for a, b in states:
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), **_tol(dtype))


def test_kernels_decline_what_they_do_not_take():
    """The kernel returns False and touches nothing; the backend then takes the expression
    path, with the same result."""
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    g = np.ones((3, 4), np.float32)
    before = w.copy()
    assert kernel.sgd_update(w[:, ::2], g[:, :2].copy(), 0.1, 0.0, 1.0, -1.0) is False
    assert kernel.sgd_update(w, g.astype(np.float64), 0.1, 0.0, 1.0, -1.0) is False
    assert kernel.sgd_update(w, g[:2], 0.1, 0.0, 1.0, -1.0) is False
    assert kernel.sgd_mom_update(w.astype(np.float16), g.astype(np.float16),
                                 np.zeros((3, 4), np.float16), 0.1, 0, 0.9, 1, -1) is False
    read_only = w.copy()
    read_only.flags.writeable = False
    assert kernel.sgd_update(read_only, g, 0.1, 0.0, 1.0, -1.0) is False
    np.testing.assert_array_equal(w, before)
    # through the backend: a strided weight view and float16 are still updated correctly
    view = w[:, ::2]
    cpu.sgd_update(view, np.ones((3, 2), np.float32), lr=0.5)
    np.testing.assert_allclose(w[:, ::2], before[:, ::2] - 0.5)
    np.testing.assert_array_equal(w[:, 1::2], before[:, 1::2])
    h, m = np.ones(4, np.float16), np.zeros(4, np.float16)
    cpu.sgd_mom_update(h, np.ones(4, np.float16), m, lr=0.25, momentum=0.9)
    np.testing.assert_array_equal(h, np.full(4, 0.75, np.float16))


def test_sgd_float16_multi_precision_uses_the_master_copy():
    opt = mx.optimizer.SGD(learning_rate=0.5, momentum=0.9, multi_precision=True)
    w = mx.nd.ones((5,), dtype=np.float16)
    state = opt.create_state_multi_precision(0, w)
    opt.update_multi_precision(0, w, mx.nd.ones((5,), dtype=np.float16), state)
    np.testing.assert_array_equal(w.asnumpy(), np.full(5, 0.5, np.float16))
    assert state[0].dtype == np.float32
