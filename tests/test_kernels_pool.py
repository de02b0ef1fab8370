"""The pooling kernels (backend pool2d_*) against the NumPy reference, and against values
printed by MXNet 1.9.1 for the awkward corners (full convention, windows in the padding)."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import reference

# x shape, kernel, stride, pad, convention
CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), 'valid'),
    ((1, 1, 1, 1), (1, 1), (1, 1), (0, 0), 'valid'),
    ((1, 1, 5, 5), (3, 3), (2, 2), (1, 1), 'full'),
    ((1, 1, 5, 5), (3, 3), (3, 3), (1, 1), 'full'),          # last windows in the padding
    ((2, 2, 7, 11), (3, 2), (2, 3), (1, 1), 'valid'),
    ((2, 3, 13, 7), (13, 7), (1, 1), (0, 0), 'valid'),       # one window: global pooling
    ((1, 2, 5, 5), (2, 2), (3, 3), (1, 1), 'full'),
    ((1, 1, 6, 6), (4, 4), (5, 5), (0, 0), 'full'),
    ((3, 5, 1, 13), (1, 3), (1, 2), (0, 1), 'valid'),         # 1-D seen as height 1
    ((20, 20, 24, 24), (2, 2), (2, 2), (0, 0), 'valid'),      # big enough to run in parallel
]


def _run(x, kernel, stride, pad, convention, pool_type, include_pad):
    out_hw = tuple(reference.pool_output_size(x.shape[2 + a], kernel[a], stride[a], pad[a],
                                              convention) for a in range(2))
    out = np.full(x.shape[:2] + out_hw, np.nan, x.dtype)
    argmax = np.empty(out.shape, np.int32)
    cpu.pool2d_forward(x, out, 'write', kernel, stride, pad, pool_type, include_pad, argmax)
    return out, argmax, out_hw


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('pool_type,include_pad', [('max', True), ('avg', True),
                                                    ('avg', False), ('sum', True)])
@pytest.mark.parametrize('xs,kernel,stride,pad,convention', CASES)
def test_pool_forward_backward(xs, kernel, stride, pad, convention, pool_type, include_pad,
                               dtype):
    rng = np.random.default_rng(sum(xs))
    x = rng.standard_normal(xs).astype(dtype)
    out, argmax, out_hw = _run(x, kernel, stride, pad, convention, pool_type, include_pad)
    expected = reference.pool2d_forward(x, kernel, stride, pad, pool_type, out_hw, include_pad)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    dy = rng.standard_normal(out.shape).astype(dtype)
    expected_dx = reference.pool2d_backward(dy, x, kernel, stride, pad, pool_type, include_pad)
    dx = np.full(xs, np.nan, dtype)
    cpu.pool2d_backward(dy, argmax, dx, 'write', kernel, stride, pad, pool_type, include_pad)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-6, atol=1e-6)
    cpu.pool2d_backward(dy, argmax, dx, 'add', kernel, stride, pad, pool_type, include_pad)
    np.testing.assert_allclose(dx, 2 * expected_dx, rtol=1e-6, atol=1e-6)


def test_max_records_the_first_maximum():
    x = np.array([[[[1, 3, 3], [3, 0, 2]]]], np.float32)
    out, argmax, _ = _run(x, (2, 3), (1, 1), (0, 0), 'valid', 'max', True)
    assert out.ravel().tolist() == [3] and argmax.ravel().tolist() == [1]


# MXNet 1.9.1: mx.nd.Pooling(mx.nd.array(np.arange(25).reshape(1, 1, 5, 5)), ...)
MXNET = {
    ('avg', (2, 2), True): [[1.3333333730697632, 3.0, 2.6666667461395264], [7.0, 12.0, 9.0],
                            [8.0, 13.0, 9.333333015441895]],
    ('avg', (2, 2), False): [[3.0, 4.5, 6.0], [10.5, 12.0, 13.5], [18.0, 19.5, 21.0]],
    ('avg', (3, 3), True): [[1.3333333730697632, 3.6666667461395264, 0.0],
                            [10.333333015441895, 17.999998092651367, 0.0], [0.0, 0.0, 0.0]],
    ('max', (3, 3), True): [[6.0, 9.0, -3.4028234663852886e+38],
                            [21.0, 24.0, -3.4028234663852886e+38],
                            [-3.4028234663852886e+38] * 3],
}


@pytest.mark.parametrize('key', sorted(MXNET))
def test_full_convention_matches_mxnet(key):
    pool_type, stride, include_pad = key
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    out, _, _ = _run(x, (3, 3), stride, (1, 1), 'full', pool_type, include_pad)
    np.testing.assert_allclose(out[0, 0], MXNET[key], rtol=1e-6)


def test_pool_rejects_other_dtypes_and_types():
    from mxref.base import MXNetError
    x = np.zeros((1, 1, 2, 2), np.int32)
    with pytest.raises(MXNetError, match='pool2d_forward'):
        cpu.pool2d_forward(x, np.zeros((1, 1, 1, 1), np.int32), 'write', (2, 2), (1, 1),
                           (0, 0), 'max')
    with pytest.raises(MXNetError, match='pool_type'):
        cpu.pool2d_forward(x.astype(np.float32), np.zeros((1, 1, 1, 1), np.float32), 'write',
                           (2, 2), (1, 1), (0, 0), 'lp')
