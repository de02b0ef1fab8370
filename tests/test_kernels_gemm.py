"""The GEMM kernels (BLAS path and blocked teaching path) and backend.gemm against NumPy."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import gemm as gemm_kernels
from mxref._kernels import reference

# (M, N, K): ones, primes, sizes around the blocked kernel's tiles (64, 256) and the
# row-block of four, and a shape big enough to be split between threads
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 2), (3, 5, 7), (4, 4, 4), (13, 17, 19),
          (67, 131, 257), (65, 257, 255), (100, 128, 784), (2, 3, 0)]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def _operands(rng, m, n, k, trans_a, trans_b, dtype, batch=()):
    a = rng.standard_normal(batch + ((k, m) if trans_a else (m, k))).astype(dtype)
    b = rng.standard_normal(batch + ((n, k) if trans_b else (k, n))).astype(dtype)
    return a, b


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('trans_a', [False, True])
@pytest.mark.parametrize('trans_b', [False, True])
@pytest.mark.parametrize('m,n,k', SHAPES)
def test_blas_gemm_matches_numpy(m, n, k, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    expected = reference.gemm(a, b, trans_a, trans_b, alpha=0.5) + 2.0 * c
    gemm_kernels.gemm(a, b, c, trans_a, trans_b, 0.5, 2.0)
    np.testing.assert_allclose(c, expected, **TOL[dtype])


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('trans_a', [False, True])
@pytest.mark.parametrize('trans_b', [False, True])
@pytest.mark.parametrize('m,n,k', SHAPES)
def test_blocked_gemm_matches_numpy(m, n, k, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 1000 + n * 10 + k + 1)
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype, batch=(2,))
    c = np.full((2, m, n), np.nan, dtype=dtype)
    gemm_kernels.gemm_blocked(a, b, c, trans_a, trans_b, 1.0, 0.0)
    np.testing.assert_allclose(c, reference.gemm(a, b, trans_a, trans_b), **TOL[dtype])
    before = c.copy()
    gemm_kernels.gemm_blocked(a, b, c, trans_a, trans_b, -1.0, 3.0)      # beta·c − op(a)op(b)
    np.testing.assert_allclose(c, 3 * before - reference.gemm(a, b, trans_a, trans_b),
                               **TOL[dtype])


@pytest.mark.parametrize('batch', [1, 3, 40])
@pytest.mark.parametrize('m,n,k', [(1, 1, 1), (5, 3, 7), (64, 80, 96)])
def test_batched_gemm(batch, m, n, k):
    rng = np.random.default_rng(batch)
    a, b = _operands(rng, m, n, k, False, True, np.float32, batch=(batch,))
    out = np.empty((batch, m, n), np.float32)
    cpu.gemm(a, b, out, 'write', trans_b=True)
    np.testing.assert_allclose(out, reference.gemm(a, b, False, True), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('req', ['write', 'add', 'null'])
def test_backend_gemm_honours_req(req):
    rng = np.random.default_rng(0)
    a, b = _operands(rng, 6, 4, 5, True, False, np.float32)
    out = np.ones((6, 4), np.float32)
    cpu.gemm(a, b, out, req, trans_a=True, alpha=2.0)
    product = 2.0 * a.T @ b
    expected = {'write': product, 'add': 1 + product, 'null': np.ones((6, 4))}[req]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_backend_gemm_other_dtypes_and_overlap_use_numpy():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    out = np.zeros((2, 2), np.int32)
    cpu.gemm(a, a, out, 'write', trans_b=True)
    np.testing.assert_array_equal(out, a @ a.T)
    square = np.arange(9, dtype=np.float32).reshape(3, 3)
    expected = square @ square
    cpu.gemm(square, square, square, 'write')          # out overlaps both inputs
    np.testing.assert_allclose(square, expected)


def test_backend_gemm_rejects_mismatched_shapes():
    from mxref.base import MXNetError
    a = np.zeros((3, 4), np.float32)
    with pytest.raises(MXNetError, match='gemm'):
        cpu.gemm(a, a, np.zeros((3, 3), np.float32), 'write')


def test_blas_runs_single_threaded_under_openmp():
    # the kernels split products between OpenMP threads themselves (see gemm.pyx)
    assert gemm_kernels.blas_threads_setter is not None


def test_blas_is_the_newer_openblas_when_installed():
    # scipy-openblas32 is a dependency; a silent fallback to SciPy's copy would cost 13-27%
    pytest.importorskip('scipy_openblas32')
    assert 'scipy-openblas32' in gemm_kernels.blas_name


def test_scipy_blas_fallback_gives_the_same_products():
    # MXREF_BLAS=scipy makes gemm use scipy.linalg.cython_blas; run it in a fresh process
    import os
    import subprocess
    import sys
    code = '\n'.join([
        'import numpy as np',
        'from mxref._kernels import gemm',
        'rng = np.random.RandomState(0)',
        'for ta, tb in [(0, 0), (1, 0), (0, 1), (1, 1)]:',
        '    a = rng.rand(*((7, 5) if ta else (5, 7))).astype(np.float32)',
        '    b = rng.rand(*((3, 7) if tb else (7, 3))).astype(np.float32)',
        '    c = np.empty((5, 3), np.float32)',
        '    assert gemm.gemm(a, b, c, ta, tb)',
        '    ref = (a.T if ta else a) @ (b.T if tb else b)',
        '    assert np.allclose(c, ref, rtol=1e-5), (ta, tb)',
        'print(gemm.blas_name)'])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, MXREF_BLAS='scipy',
               PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'scipy.linalg.cython_blas'


@pytest.mark.parametrize('user_env, expected', [
    ({}, 'PASSIVE 3000'),                                   # mxref's default: a short spin
    ({'OMP_WAIT_POLICY': 'PASSIVE'}, 'PASSIVE None'),       # the user's choice is kept
    ({'OMP_WAIT_POLICY': 'ACTIVE'}, 'ACTIVE None'),
    ({'GOMP_SPINCOUNT': '0'}, 'None 0'),
])
def test_openmp_wait_policy_default(user_env, expected):
    # the variables must be in place before libgomp loads, i.e. when mxref._kernels is imported
    import os
    import subprocess
    import sys
    code = ('import os, mxref._kernels; '
            'print(os.environ.get("OMP_WAIT_POLICY"), os.environ.get("GOMP_SPINCOUNT"))')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    env.update(user_env, PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected
