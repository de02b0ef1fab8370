"""GPU cases beside the CPU ones: the same shapes, in the same pytest-benchmark groups (so
each group's table compares ``mxref`` (CPU), ``numpy`` and ``gpu``), plus the GPU-only target
cases with their references: GEMM 4096³ against cuBLAS's SGEMM, softmax 8192² against a
device-to-device copy of the same bytes.

Every timed call ends with a device synchronisation (the time is the kernels' wall-clock
time), and one warm-up call before timing compiles the kernels, so no round includes ``nvcc``.
Run on a GPU machine (the file name does not match ``test_*.py``, so name it)::

    python -m pytest benchmarks benchmarks/bench_gpu.py --benchmark-enable

Without a GPU every case here is skipped.
"""
import numpy as np
import pytest

import mxref as mx
from mxref import backend

from conftest import record
from cpu_vs_gpu import CublasSgemm, device_copy
from test_conv import LAYERS, _layer
from test_gemm import SHAPES as GEMM_SHAPES, _case
from test_pool import CASES as POOL_CASES
from test_softmax import SHAPES as SOFTMAX_SHAPES

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(mx.context.num_gpus() == 0, reason='no GPU visible to PyCUDA')]


@pytest.fixture(scope='module')
def G():
    return backend.get(mx.gpu(0))


def timed(benchmark, G, fn, rounds=20):
    """Time ``fn`` followed by a synchronisation, after one warm-up call (compilation)."""
    def run():
        fn()
        G.synchronize()
    run()
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize('m,n,k,ta,tb,what', GEMM_SHAPES + [
    (4096, 4096, 4096, False, False, 'target 4096^3')], ids=[s[5] for s in GEMM_SHAPES] + [
    'target 4096^3'])
def test_gemm_gpu(benchmark, rng, G, m, n, k, ta, tb, what):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    ab, bb, cb = G.from_numpy(a), G.from_numpy(b), G.empty((m, n), np.float32)
    benchmark.group = 'gemm ' + _case(m, n, k, ta, tb)
    timed(benchmark, G, lambda: G.gemm(ab, bb, cb, 'write', trans_a=ta, trans_b=tb))
    if m * n * k <= 1024 ** 3:
        want = (a.T if ta else a) @ (b.T if tb else b)
        np.testing.assert_allclose(G.to_numpy(cb), want, rtol=1e-3, atol=1e-2)
    record(benchmark, 'gemm', _case(m, n, k, ta, tb), 'gpu', flops=2 * m * n * k)


def test_gemm_cublas_reference(benchmark, rng, G):
    sgemm = CublasSgemm.load()
    if sgemm is None:
        pytest.skip('libcublas not found')
    n = 4096
    a, b = (G.from_numpy(rng.standard_normal((n, n)).astype(np.float32)) for _ in range(2))
    c = G.empty((n, n), np.float32)
    benchmark.group = 'gemm ' + _case(n, n, n, False, False)
    timed(benchmark, G, lambda: sgemm(a.ptr, b.ptr, c.ptr, n, n, n))
    record(benchmark, 'gemm', _case(n, n, n, False, False), 'cublas', flops=2 * n ** 3)


@pytest.mark.parametrize('log', [False, True], ids=['softmax', 'log_softmax'])
@pytest.mark.parametrize('name', list(SOFTMAX_SHAPES) + ['8192x8192'])
def test_softmax_gpu(benchmark, rng, G, name, log):
    shape = SOFTMAX_SHAPES.get(name, (8192, 8192))
    x = G.from_numpy(rng.standard_normal(shape).astype(np.float32))
    y = G.empty(shape, np.float32)
    kind = 'log_softmax' if log else 'softmax'
    benchmark.group = '%s %s' % (kind, name)
    timed(benchmark, G, lambda: G.softmax(x, 1, y, 'write', log=log))
    record(benchmark, 'softmax', '%s %s' % (kind, name), 'gpu', nbytes=2 * 4 * int(np.prod(shape)))


def test_softmax_copy_reference(benchmark, G):
    src, dst = G.empty((8192, 8192), np.float32), G.empty((8192, 8192), np.float32)
    benchmark.group = 'softmax 8192x8192'
    timed(benchmark, G, lambda: device_copy(dst, src))
    record(benchmark, 'softmax', 'softmax 8192x8192', 'd2d copy', nbytes=2 * src.nbytes)


@pytest.mark.parametrize('name', list(LAYERS))
def test_conv_forward_gpu(benchmark, rng, G, name):
    x, w, b, geometry, out_shape, flops = _layer(rng, name)
    xb, wb, bb, yb = G.from_numpy(x), G.from_numpy(w), G.from_numpy(b), G.empty(out_shape,
                                                                                  np.float32)
    benchmark.group = 'conv fwd ' + name
    timed(benchmark, G, lambda: G.conv2d_forward(xb, wb, bb, yb, 'write', *geometry))
    record(benchmark, 'conv', name + ' fwd', 'gpu', flops=flops)


@pytest.mark.parametrize('direction', ['fwd', 'bwd'])
@pytest.mark.parametrize('name', list(POOL_CASES))
def test_max_pool_gpu(benchmark, rng, G, name, direction):
    shape, kernel, stride = POOL_CASES[name]
    x = G.from_numpy(rng.standard_normal(shape).astype(np.float32))
    out = shape[:2] + ((shape[2] - kernel[0]) // stride[0] + 1,
                       (shape[3] - kernel[1]) // stride[1] + 1)
    y, argmax = G.empty(out, np.float32), G.empty(out, np.int32)
    G.pool2d_forward(x, y, 'write', kernel, stride, (0, 0), 'max', argmax=argmax)
    dy, dx = G.from_numpy(rng.standard_normal(out).astype(np.float32)), G.empty(shape, np.float32)
    if direction == 'fwd':
        nbytes = x.nbytes + y.nbytes
        fn = lambda: G.pool2d_forward(x, y, 'write', kernel, stride, (0, 0), 'max', argmax=argmax)
    else:
        nbytes = dy.nbytes + argmax.nbytes + dx.nbytes
        fn = lambda: G.pool2d_backward(dy, argmax, dx, 'write', kernel, stride, (0, 0), 'max')
    benchmark.group = 'pool %s %s' % (direction, name)
    timed(benchmark, G, fn)
    record(benchmark, 'pool', '%s %s' % (name, direction), 'gpu', nbytes=nbytes)


@pytest.mark.parametrize('n', [2 ** 20, 2 ** 26])
def test_elementwise_gpu(benchmark, rng, G, n):
    x = G.from_numpy(rng.standard_normal(n).astype(np.float32))
    y = G.from_numpy(rng.standard_normal(n).astype(np.float32))
    z = G.empty((n,), np.float32)
    benchmark.group = 'elementwise x*y+relu(x) %d' % n
    timed(benchmark, G, lambda: G.elementwise('x * y + fmax(x, 0)', z, 'write', x=x, y=y))
    record(benchmark, 'eltwise', 'x*y+relu(x) %d' % n, 'gpu', nbytes=3 * 4 * n)


def test_adam_update_gpu(benchmark, rng, G):
    n = 2 ** 24
    w, g, m = (G.from_numpy(rng.standard_normal(n).astype(np.float32)) for _ in range(3))
    v = G.from_numpy(np.abs(rng.standard_normal(n)).astype(np.float32))
    benchmark.group = 'optimizer adam 2^24'
    timed(benchmark, G, lambda: G.adam_update(w, g, m, v, 1e-3))
    record(benchmark, 'optim', 'adam 2^24 (fused)', 'gpu', nbytes=7 * 4 * n)
