"""mx.test_utils: the checkers must accept right answers and reject wrong ones."""
import numpy as np
import pytest

import mxref as mx
from mxref import test_utils as tu


def test_almost_equal_and_messages():
    assert tu.almost_equal(np.ones(3), np.ones(3) + 1e-7)
    assert not tu.almost_equal(np.ones(3), np.ones(3) * 1.1)
    assert tu.same(mx.nd.array([1, 2]), np.array([1, 2]))
    tu.assert_almost_equal(mx.nd.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(AssertionError, match=r'(?s)1 of 4 elements differ.*at \(1, 0\)'):
        tu.assert_almost_equal(np.array([[1, 2], [3, 4.]]), np.array([[1, 2], [3.5, 4.]]),
                               names=('got', 'want'))
    with pytest.raises(AssertionError, match='shapes differ'):
        tu.assert_almost_equal(np.ones(2), np.ones((1, 2)), use_broadcast=False)


def test_default_tolerances():
    assert tu.get_rtol(None, np.float32) == 1e-4 and tu.get_atol(0.5) == 0.5
    assert tu.default_numeric_eps()[np.dtype(np.float64)] == 1.0 / 2 ** 14


def test_random_helpers():
    shape = tu.rand_shape_2d(3, 4)
    assert 1 <= shape[0] <= 3 and 1 <= shape[1] <= 4
    assert len(tu.rand_shape_3d()) == 3 and len(tu.rand_shape_nd(5, 2)) == 5
    arr = tu.rand_ndarray((2, 3), dtype='float64')
    assert arr.shape == (2, 3) and arr.dtype == np.float64
    with pytest.raises(ValueError, match='default'):
        tu.rand_ndarray((2, 3), stype='csr')
    tu.set_default_context(mx.cpu(1))
    try:
        assert tu.default_context() == mx.cpu(1)
    finally:
        tu.set_default_context(None)


def test_numeric_gradient_detects_a_wrong_backward(monkeypatch):
    x = mx.sym.Variable('x')
    location = {'x': np.random.uniform(-1, 1, (3, 2))}
    tu.check_numeric_gradient(mx.sym.sigmoid(x), location)
    monkeypatch.setattr(mx.operator.get('sigmoid'), 'grad', 'dy * y')   # a wrong gradient
    with pytest.raises(AssertionError, match='NUMERICAL_x'):
        tu.check_numeric_gradient(mx.sym.sigmoid(x), location)


def test_symbolic_forward_and_backward():
    a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    sym = a * b
    av, bv = np.array([1., 2.]), np.array([3., 4.])
    outputs = tu.check_symbolic_forward(sym, [av, bv], [av * bv])
    assert np.array_equal(outputs[0], av * bv)
    with pytest.raises(AssertionError):
        tu.check_symbolic_forward(sym, {'a': av, 'b': bv}, [av + bv])
    head = np.array([1., -1.])
    tu.check_symbolic_backward(sym, [av, bv], [head], {'a': head * bv, 'b': head * av})
    tu.check_symbolic_backward(sym, [av, bv], [head], [head * bv, head * av], grad_req='add')
    with pytest.raises(AssertionError):
        tu.check_symbolic_backward(sym, [av, bv], [head], {'a': bv})


def test_check_consistency_between_precisions():
    x = mx.sym.Variable('x')
    sym = mx.sym.tanh(mx.sym.FullyConnected(x, num_hidden=4, name='fc'))
    result = tu.check_consistency(sym, [
        {'ctx': mx.cpu(0), 'x': (3, 5), 'type_dict': {'x': np.float64}},
        {'ctx': mx.cpu(0), 'x': (3, 5), 'type_dict': {'x': np.float32}}])
    assert result['outputs'][0].dtype == np.float64 and 'fc_weight' in result['grads']
