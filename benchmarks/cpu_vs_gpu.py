"""CPU vs GPU, in one run: each kernel on both backends, the references the GPU is judged
against (cuBLAS's SGEMM, a device-to-device copy), and end-to-end LeNet training samples/s
with ``mx.mod.Module`` on ``mx.cpu()`` and ``mx.gpu()``.

    python benchmarks/cpu_vs_gpu.py                   # everything
    python benchmarks/cpu_vs_gpu.py --quick           # smaller sizes, fewer repeats
    python benchmarks/cpu_vs_gpu.py --skip-cpu-large  # no 4096³ / 8192² on the CPU (slow)

GPU times are CUDA-event times of the kernels (after a warm-up call that compiles them); CPU
times are the best wall-clock time of several calls.  Targets (issue 7), checked at the end:

* float32 GEMM at 4096³ >= 0.6 x cuBLAS's SGEMM;
* softmax over 8192 x 8192 >= 0.6 x the device-to-device copy bandwidth (read + write);
* LeNet training >= 20 x mxref's own CPU samples/s.

Without a GPU (or without PyCUDA) the script prints the CPU figures, says why the GPU column
is empty, and exits with status 1.
"""
import argparse
import ctypes
import ctypes.util
import datetime
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import mxref as mx                                   # noqa: E402
from mxref import backend                            # noqa: E402
from mxref.backend import cpu                        # noqa: E402


# ----------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------
def cpu_time(fn, repeat=5):
    """Best wall-clock seconds of ``fn()`` over ``repeat`` calls (after one warm-up call)."""
    fn()
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gpu_time(fn, repeat=10):
    """Best CUDA-event seconds of ``fn()`` (launches on the default stream) over ``repeat``
    calls, after a warm-up call that also compiles the kernels."""
    import pycuda.driver as cuda
    fn()
    cuda.Context.synchronize()
    best = float('inf')
    for _ in range(repeat):
        start, end = cuda.Event(), cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        best = min(best, end.time_since(start) * 1e-3)
    return best


# ----------------------------------------------------------------------------------------------
# references on the GPU (timing only; never used by mxref's kernels)
# ----------------------------------------------------------------------------------------------
def _load_cublas():
    names = [ctypes.util.find_library('cublas')] + ['libcublas.so.%d' % v for v in (13, 12, 11)]
    try:                                       # the pip package PyTorch and CuPy install
        import nvidia.cublas
        folder = os.path.join(list(nvidia.cublas.__path__)[0], 'lib')
        names += [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                  if f.startswith('libcublas.so')]
    except (ImportError, OSError, IndexError):
        pass
    for root in (os.environ.get('CUDA_HOME'), os.environ.get('CUDA_PATH'), '/usr/local/cuda'):
        if root:
            names.append(os.path.join(root, 'lib64', 'libcublas.so'))
    for name in names:
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


class CublasSgemm:
    """Row-major C = A·B through cuBLAS (column-major: Cᵀ = Bᵀ·Aᵀ) on the current context.

    Loaded with ctypes from the CUDA toolkit's libcublas or the ``nvidia-cublas`` wheel that
    PyTorch and CuPy install (the library they call).  Default math mode: true float32, no
    TF32.  :meth:`load` returns None when no libcublas can be found.
    """

    def __init__(self, lib):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        status = lib.cublasCreate_v2(ctypes.byref(self.handle))
        if status != 0:
            raise RuntimeError('cublasCreate failed with status %d' % status)

    @classmethod
    def load(cls):
        lib = _load_cublas()
        return cls(lib) if lib is not None else None

    def __call__(self, a_ptr, b_ptr, c_ptr, m, n, k):
        one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
        status = self.lib.cublasSgemm_v2(
            self.handle, 0, 0, ctypes.c_int(n), ctypes.c_int(m), ctypes.c_int(k),
            ctypes.byref(one), ctypes.c_void_p(b_ptr), ctypes.c_int(n), ctypes.c_void_p(a_ptr),
            ctypes.c_int(k), ctypes.byref(zero), ctypes.c_void_p(c_ptr), ctypes.c_int(n))
        if status != 0:
            raise RuntimeError('cublasSgemm failed with status %d' % status)


def device_copy(dst, src):
    """A device-to-device copy of ``src``'s bytes (the bandwidth reference)."""
    import pycuda.driver as cuda
    cuda.memcpy_dtod(dst.ptr, src.ptr, src.nbytes)


# ----------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------
def kernel_cases(quick, skip_cpu_large):
    """(name, work, unit, make(B) -> callable, run on cpu?) for every compared kernel."""
    rng = np.random.default_rng(0)
    big = 2048 if quick else 4096
    sm = 2048 if quick else 8192

    def data(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def gemm_case(m, n, k):
        a, b = data(m, k), data(k, n)

        def make(B):
            ab, bb, cb = B.from_numpy(a), B.from_numpy(b), B.empty((m, n), np.float32)
            return lambda: B.gemm(ab, bb, cb, 'write')
        return make

    def softmax_case(rows, cols):
        x = data(rows, cols)

        def make(B):
            xb, yb = B.from_numpy(x), B.empty((rows, cols), np.float32)
            return lambda: B.softmax(xb, 1, yb, 'write')
        return make

    def conv_case(xs, ws):
        x, w, b = data(*xs), data(*ws) * 0.1, data(ws[0])
        out = (xs[0], ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1)

        def make(B):
            xb, wb, bb, yb = B.from_numpy(x), B.from_numpy(w), B.from_numpy(b), B.empty(out, np.float32)
            dyb, dwb, dxb = B.from_numpy(data(*out)), B.empty(ws, np.float32), B.empty(xs, np.float32)
            one = ((1, 1), (0, 0), (1, 1))

            def step():
                B.conv2d_forward(xb, wb, bb, yb, 'write', *one)
                B.conv2d_backward_weight(dyb, xb, dwb, 'write', *one)
                B.conv2d_backward_data(dyb, wb, dxb, 'write', *one)
            return step
        return make, 3 * 2 * int(np.prod(out)) * int(np.prod(ws[1:]))

    def pool_case(xs):
        x = data(*xs)
        out = xs[:2] + (xs[2] // 2, xs[3] // 2)

        def make(B):
            xb, yb = B.from_numpy(x), B.empty(out, np.float32)
            arg = B.empty(out, np.int32)
            return lambda: B.pool2d_forward(xb, yb, 'write', (2, 2), (2, 2), (0, 0), 'max',
                                            argmax=arg)
        return make

    def elementwise_case(n):
        x, y = data(n), data(n)

        def make(B):
            xb, yb, zb = B.from_numpy(x), B.from_numpy(y), B.empty((n,), np.float32)
            return lambda: B.elementwise('x * y + fmax(x, 0)', zb, 'write', x=xb, y=yb)
        return make

    def adam_case(n):
        arrays = [data(n) for _ in range(3)] + [np.abs(data(n))]

        def make(B):
            w, g, m, v = [B.from_numpy(a) for a in arrays]
            return lambda: B.adam_update(w, g, m, v, 1e-3)
        return make

    def reduce_case(rows, cols):
        x = data(rows, cols)

        def make(B):
            xb, yb = B.from_numpy(x), B.empty((cols,), np.float32)
            return lambda: B.reduce('sum', xb, (0,), yb, 'write')
        return make

    conv1, conv1_flops = conv_case((100, 1, 28, 28), (20, 1, 5, 5))
    conv2, conv2_flops = conv_case((100, 20, 12, 12), (50, 20, 5, 5))
    return [
        ('gemm 100x128x784 (MLP fc1)', 2 * 100 * 128 * 784, 'flop', gemm_case(100, 128, 784), True),
        ('gemm 1024^3', 2 * 1024 ** 3, 'flop', gemm_case(1024, 1024, 1024), True),
        ('gemm %d^3' % big, 2 * big ** 3, 'flop', gemm_case(big, big, big), not skip_cpu_large),
        ('softmax 4096x4096', 2 * 4 * 4096 ** 2, 'byte', softmax_case(4096, 4096), True),
        ('softmax %dx%d' % (sm, sm), 2 * 4 * sm ** 2, 'byte', softmax_case(sm, sm),
         not skip_cpu_large),
        ('LeNet conv1 fwd+bwd, batch 100', conv1_flops, 'flop', conv1, True),
        ('LeNet conv2 fwd+bwd, batch 100', conv2_flops, 'flop', conv2, True),
        ('max pool 2x2, 100x20x24x24', 4 * 100 * 20 * 24 * 24 * 5 // 4, 'byte',
         pool_case((100, 20, 24, 24)), True),
        ('elementwise x*y+relu(x), 2^24', 3 * 4 * 2 ** 24, 'byte', elementwise_case(2 ** 24), True),
        ('adam update, 2^22 parameters', 7 * 4 * 2 ** 22, 'byte', adam_case(2 ** 22), True),
        ('sum over rows, 4096x4096', 4 * 4096 ** 2, 'byte', reduce_case(4096, 4096), True),
    ]


def rate(work, unit, seconds):
    if seconds is None:
        return 'n/a'
    return '%8.1f %s' % (work / seconds / 1e9, 'GFLOP/s' if unit == 'flop' else 'GB/s')


# ----------------------------------------------------------------------------------------------
# LeNet training
# ----------------------------------------------------------------------------------------------
def lenet():
    """MXNet's classic LeNet (conv 20 5x5, tanh, max pool; conv 50 5x5, tanh, max pool; 500
    tanh; 10; SoftmaxOutput)."""
    data = mx.sym.Variable('data')
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name='conv1')
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type='tanh'), pool_type='max',
                         kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Convolution(net, kernel=(5, 5), num_filter=50, name='conv2')
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type='tanh'), pool_type='max',
                         kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(net), num_hidden=500,
                                                  name='fc1'), act_type='tanh')
    net = mx.sym.FullyConnected(net, num_hidden=10, name='fc2')
    return mx.sym.SoftmaxOutput(net, name='softmax')


def lenet_samples_per_second(ctx, batches, batch_size=100):
    """Samples/s of Module training (forward, backward, SGD-momentum update, accuracy) on
    MNIST-shaped random data, after one warm-up batch."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch_size * (batches + 1), 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, len(X)).astype(np.float32)
    it = mx.io.NDArrayIter(X, y, batch_size=batch_size)
    mod = mx.mod.Module(lenet(), context=ctx)
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.05,
                                                         'momentum': 0.9})
    metric = mx.metric.create('acc')
    start = None
    for i, batch in enumerate(it):
        if i == 1:
            mx.nd.waitall()
            start = time.perf_counter()
        mod.forward_backward(batch)
        mod.update()
        mod.update_metric(metric, batch.label)
    mx.nd.waitall()
    return batches * batch_size / (time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='smaller sizes, fewer repeats')
    parser.add_argument('--skip-cpu-large', action='store_true',
                        help='do not time the 4096^3 GEMM and 8192^2 softmax on the CPU')
    parser.add_argument('--lenet-batches', type=int, default=None,
                        help='training batches timed on the GPU (a quarter of them on the CPU)')
    parser.add_argument('--lenet-batch-size', type=int, default=100,
                        help='LeNet batch size (larger batches leave less to Python overhead)')
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 10

    gpu_error = None
    try:
        if mx.context.num_gpus() == 0:
            raise backend.GPUUnavailableError('no GPU visible to PyCUDA')
        G = backend.get(mx.gpu(0))
        from mxref.backend.gpu import runtime
        device = '%s (compute capability %d.%d, %d SMs)' % (
            runtime.device_info()[0], *runtime.device_info()[1], runtime.device_info()[2])
    except Exception as err:                       # report what is missing and go on
        G, device, gpu_error = None, None, '%s: %s' % (type(err).__name__, err)

    print('mxref CPU vs GPU, %s' % datetime.date.today().isoformat())
    print('CPU: %d cores, NumPy %s' % (os.cpu_count(), np.__version__))
    print('GPU: %s' % (device or 'unavailable (%s)' % gpu_error))
    print()
    print('%-34s %14s %14s %16s %16s %8s' % ('kernel', 'cpu ms', 'gpu ms', 'cpu rate',
                                             'gpu rate', 'gpu/cpu'))
    gpu_times = {}
    for name, work, unit, make, on_cpu in kernel_cases(args.quick, args.skip_cpu_large):
        t_cpu = cpu_time(make(cpu), max(1, repeat // 3)) if on_cpu else None
        t_gpu = gpu_time(make(G), repeat) if G is not None else None
        gpu_times[name] = t_gpu
        ratio = '%7.1fx' % (t_cpu / t_gpu) if t_cpu and t_gpu else ''
        print('%-34s %14s %14s %16s %16s %8s' % (
            name, '%.3f' % (t_cpu * 1e3) if t_cpu else 'n/a',
            '%.3f' % (t_gpu * 1e3) if t_gpu else 'n/a', rate(work, unit, t_cpu),
            rate(work, unit, t_gpu), ratio))

    batches = args.lenet_batches or (5 if args.quick else 20)
    size = args.lenet_batch_size
    cpu_sps = lenet_samples_per_second(mx.cpu(), max(2, batches // 4), size)
    gpu_sps = lenet_samples_per_second(mx.gpu(0), batches, size) if G is not None else None
    print()
    print('LeNet training (Module, batch %d, SGD momentum): cpu %.0f samples/s, gpu %s'
          % (size, cpu_sps, '%.0f samples/s (%.1fx)' % (gpu_sps, gpu_sps / cpu_sps) if gpu_sps
             else 'n/a'))
    if G is None:
        print('\nGPU figures missing: %s' % gpu_error)
        return 1

    # the targets, against references measured now on the same GPU
    print('\nTargets:')
    big = 2048 if args.quick else 4096
    sgemm = CublasSgemm.load()
    if sgemm is not None:
        rng = np.random.default_rng(1)
        a = G.from_numpy(rng.standard_normal((big, big)).astype(np.float32))
        b = G.from_numpy(rng.standard_normal((big, big)).astype(np.float32))
        c = G.empty((big, big), np.float32)
        t_ref = gpu_time(lambda: sgemm(a.ptr, b.ptr, c.ptr, big, big, big), repeat)
        ours = gpu_times['gemm %d^3' % big]
        print('  GEMM %d^3: mxref %.1f TFLOP/s, cuBLAS %.1f TFLOP/s -> %.2fx (target >= 0.6)'
              % (big, 2 * big ** 3 / ours / 1e12, 2 * big ** 3 / t_ref / 1e12, t_ref / ours))
    else:
        print('  GEMM: cuBLAS (libcublas) not found; no reference')
    sm = 2048 if args.quick else 8192
    src, dst = G.empty((sm, sm), np.float32), G.empty((sm, sm), np.float32)
    t_copy = gpu_time(lambda: device_copy(dst, src), repeat)
    ours = gpu_times['softmax %dx%d' % (sm, sm)]
    bytes_moved = 2 * 4 * sm * sm
    print('  softmax %dx%d: %.0f GB/s, device copy %.0f GB/s -> %.2fx (target >= 0.6)'
          % (sm, sm, bytes_moved / ours / 1e9, bytes_moved / t_copy / 1e9, t_copy / ours))
    print('  LeNet training: %.1fx the CPU (target >= 20)' % (gpu_sps / cpu_sps))
    return 0


if __name__ == '__main__':
    sys.exit(main())
