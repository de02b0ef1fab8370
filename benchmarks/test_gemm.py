"""GEMM at the tutorials' fully-connected shapes and at 1024³, float32: our default path
(backend ``gemm``: BLAS split across OpenMP threads), the blocked teaching kernel, and NumPy's
matmul (its own OpenBLAS) on the same operands."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import gemm as gemm_kernels

from conftest import record

# (M, N, K, trans_a, trans_b, what): FullyConnected forward y = x·Wᵀ, and its gradients
# dx = dy·W and dW = dyᵀ·x, for the MNIST MLP (784-128-64-10) at batch 100 and 32 and the
# Module tutorial's 16-input net; then the classic large square
SHAPES = [
    (100, 128, 784, False, True, 'mlp fc1 fwd, batch 100'),
    (100, 784, 128, False, False, 'mlp fc1 dx'),
    (128, 784, 100, True, False, 'mlp fc1 dW'),
    (100, 64, 128, False, True, 'mlp fc2 fwd'),
    (100, 10, 64, False, True, 'mlp fc3 fwd'),
    (32, 128, 784, False, True, 'mlp fc1 fwd, batch 32'),
    (32, 64, 16, False, True, 'module net fc1 fwd, batch 32'),
    (1024, 1024, 1024, False, False, 'large'),
]
IMPLS = ['mxref', 'blocked', 'numpy']


def _case(m, n, k, ta, tb):
    return '%dx%dx%d %s%s' % (m, n, k, 'T' if ta else 'N', 'T' if tb else 'N')


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('m,n,k,ta,tb,what', SHAPES, ids=[s[5] for s in SHAPES])
def test_gemm(benchmark, rng, m, n, k, ta, tb, what, impl):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    if impl == 'mxref':
        fn = lambda: cpu.gemm(a, b, c, 'write', trans_a=ta, trans_b=tb)
    elif impl == 'blocked':
        a3, b3, c3 = a[None], b[None], c[None]
        fn = lambda: gemm_kernels.gemm_blocked(a3, b3, c3, ta, tb, 1.0, 0.0)
    else:
        av, bv = (a.T if ta else a), (b.T if tb else b)
        fn = lambda: np.matmul(av, bv, out=c)
    benchmark.group = 'gemm ' + _case(m, n, k, ta, tb)
    benchmark(fn)
    np.testing.assert_allclose(c, (a.T if ta else a) @ (b.T if tb else b), rtol=1e-3, atol=1e-3)
    record(benchmark, 'gemm', _case(m, n, k, ta, tb), impl, flops=2 * m * n * k)
