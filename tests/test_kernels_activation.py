"""The tanh kernels (mxref/_kernels/activation.pyx) against NumPy, and the CPU backend's use
of them for the expressions ``tanh(x)`` and ``dy * (1 - y * y)``."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import require

kernel = require('activation')

SIZES = [1, 7, 8191, 8193, (1 << 17) + 5]           # blocks of 8192; threads from 2^17


def _ulps(got, exact):
    """|got − exact| in units in the last place of float32."""
    scale = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / scale


@pytest.mark.parametrize('n', SIZES)
def test_tanh_float32_within_2_ulp(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 3
    y = np.empty_like(x)
    kernel.tanh_forward(x, y)
    assert _ulps(y, np.tanh(x.astype(np.float64))).max() <= 2


def test_tanh_float32_over_its_whole_range():
    x = np.linspace(-10, 10, 400001, dtype=np.float32)
    y = np.empty_like(x)
    kernel.tanh_forward(x, y)
    assert _ulps(y, np.tanh(x.astype(np.float64))).max() <= 2
    tiny = np.float32([1e-30, -1e-30, 1e-8, -3e-5, 0.6249999, 0.625, 8.999, 9.0, 50, -50])
    out = np.empty_like(tiny)
    kernel.tanh_forward(tiny, out)
    assert _ulps(out, np.tanh(tiny.astype(np.float64))).max() <= 2


def test_tanh_special_values():
    x = np.float32([0, np.inf, -np.inf, np.nan, 1e30, -1e30, 88.8, -104])
    y = np.empty_like(x)
    kernel.tanh_forward(x, y)
    np.testing.assert_array_equal(y, np.tanh(x))          # ±1, NaN, 0 exactly


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_tanh_in_place_and_float64(dtype):
    x = np.random.default_rng(0).standard_normal(10001).astype(dtype)
    expected = np.tanh(x)
    kernel.tanh_forward(x, x)                              # y may be x
    np.testing.assert_allclose(x, expected, rtol=3e-7 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('n', SIZES)
def test_tanh_backward(dtype, n):
    rng = np.random.default_rng(n)
    dy, x = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    y = np.tanh(x)
    dx = np.empty_like(x)
    kernel.tanh_backward(dy, y, dx)
    expected = dy * (1 - y * y)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-7)
    before = rng.standard_normal(n).astype(dtype)
    acc = before.copy()
    kernel.tanh_backward(dy, y, acc, accumulate=True)
    np.testing.assert_allclose(acc, before + expected, rtol=1e-6, atol=1e-6)


def test_kernels_check_sizes():
    with pytest.raises(ValueError, match='tanh_forward'):
        kernel.tanh_forward(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match='tanh_backward'):
        kernel.tanh_backward(np.zeros(3, np.float32), np.zeros(3, np.float32),
                             np.zeros(2, np.float32))
    kernel.tanh_forward(np.zeros(0, np.float32), np.zeros(0, np.float32))   # empty is fine


def test_backend_takes_the_kernel_only_where_it_applies():
    """elementwise('tanh(x)') gives NumPy's answer whether or not the kernel runs: strided,
    broadcast, 'add', float16 and integer buffers take the NumPy path."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 8)).astype(np.float32)
    cases = [('contiguous', x, np.empty((6, 8), np.float32), 'write'),
             ('strided input', x[:, ::2], np.empty((6, 4), np.float32), 'write'),
             ('broadcast', x[:1], np.empty((6, 8), np.float32), 'write'),
             ('float16', x.astype(np.float16), np.empty((6, 8), np.float16), 'write'),
             ('float64 out', x, np.empty((6, 8), np.float64), 'write')]
    for what, src, out, req in cases:
        cpu.elementwise('tanh(x)', out, req, x=src)
        np.testing.assert_allclose(out, np.broadcast_to(np.tanh(src), out.shape),
                                   rtol=2e-3 if out.dtype == np.float16 else 3e-7,
                                   err_msg=what)
    acc = np.ones((6, 8), np.float32)
    cpu.elementwise('tanh(x)', acc, 'add', x=x)
    np.testing.assert_allclose(acc, 1 + np.tanh(x), rtol=3e-7)
    # the gradient, with the unused x the operators pass along
    dy, y = rng.standard_normal((6, 8)).astype(np.float32), np.tanh(x)
    dx = np.zeros((6, 8), np.float32)
    cpu.elementwise('dy * (1 - y * y)', dx, 'add', x=x, y=y, dy=dy)
    cpu.elementwise('dy * (1 - y * y)', dx, 'add', x=x, y=y, dy=dy)
    np.testing.assert_allclose(dx, 2 * dy * (1 - y * y), rtol=1e-6)
    scalar = np.zeros((6, 8), np.float32)
    cpu.elementwise('dy * (1 - y * y)', scalar, 'write', y=y, dy=2.0)    # a scalar input
    np.testing.assert_allclose(scalar, 2 * (1 - y * y), rtol=1e-6)
