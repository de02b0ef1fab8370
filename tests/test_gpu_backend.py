"""The GPU backend against the CPU backend: every function, on random inputs of awkward shapes.

Each test runs on two devices (the ``G`` fixture):

* ``cuda``: a real GPU through PyCUDA (marked ``gpu``; skipped where no GPU is visible);
* ``emulated``: the host emulator of ``tests/gpu_emulator.py``, which runs all of
  ``mxref.backend.gpu``'s Python (views, plans, argument packing checked against the CUDA
  signatures) with NumPy stand-ins for the kernel bodies.  It runs everywhere, so the Python
  half of the backend is tested on machines without a GPU;
* ``threads`` (slow): the same, but the kernels are the real CUDA sources compiled for the host
  by g++ and run on host threads (``tests/cuda_host_emulation.h``), so their indexing, tiling,
  shuffles and barriers execute without a GPU.  What only hardware shows (speed, the memory
  model, resource limits) is left to the ``cuda`` runs.

The last part runs every operator of the registry through ``check_consistency`` between
``mx.cpu()`` and ``mx.gpu(0)``.
"""
import numpy as np
import pytest

import mxref as mx
from mxref import backend
from mxref.backend import cpu
from mxref.operator.elemwise import UNARY_MATH, BINARY_MATH, SCALAR_MATH
from mxref.operator.nn import LEAKY_FORMULAS

from gpu_emulator import emulated_gpu, host_compiler_available

DEVICES = [pytest.param('emulated', id='emulated'),
           pytest.param('threads', id='threads', marks=[
               pytest.mark.slow,
               pytest.mark.skipif(not host_compiler_available(),
                                  reason='g++ and the CUDA headers are needed')]),
           pytest.param('cuda', id='cuda', marks=[
               pytest.mark.gpu,
               pytest.mark.skipif(mx.context.num_gpus() == 0,
                                  reason='no GPU visible to PyCUDA')])]


@pytest.fixture(params=DEVICES)
def G(request, monkeypatch):
    """The GPU backend module, on the emulated device or on GPU 0."""
    if request.param in ('emulated', 'threads'):
        with emulated_gpu(monkeypatch, 'numpy' if request.param == 'emulated' else 'threads'):
            yield backend.get(mx.gpu(0))
    else:
        yield backend.get(mx.gpu(0))


def _is_emulated(G):
    from mxref.backend.gpu import runtime
    return not hasattr(runtime.cuda, 'Device')


def up(G, value):
    """Host arrays (also inside lists) to device buffers; other values unchanged."""
    if isinstance(value, np.ndarray):
        return G.from_numpy(value)
    if isinstance(value, list):
        return [up(G, v) for v in value]
    return value


def both(G, name, args, outputs, **kwargs):
    """Run backend function ``name`` on the CPU (NumPy arguments) and on ``G`` (device copies);
    return ``[(cpu result, gpu result)]`` for the argument positions in ``outputs`` (an output
    may be a list of arrays).  Array keyword arguments are inputs, copied to the device too."""
    def host_copy(v):
        if isinstance(v, list):
            return [host_copy(a) for a in v]
        return v.copy() if isinstance(v, np.ndarray) else v
    cpu_args = [host_copy(v) for v in args]
    gpu_args = [up(G, v) for v in args]
    getattr(cpu, name)(*cpu_args, **kwargs)
    getattr(G, name)(*gpu_args, **{k: up(G, v) for k, v in kwargs.items()})
    pairs = []
    for i in outputs:
        if isinstance(cpu_args[i], list):
            pairs += [(c, G.to_numpy(g)) for c, g in zip(cpu_args[i], gpu_args[i])]
        else:
            pairs.append((cpu_args[i], G.to_numpy(gpu_args[i])))
    return pairs


def close(pairs, rtol=1e-5, atol=1e-6):
    for want, got in pairs:
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


def rand(shape, dtype=np.float32, low=-1.0, high=1.0):
    return np.random.uniform(low, high, size=shape).astype(dtype)


AWKWARD = [(1,), (7,), (3, 1, 5), (13, 17), (2, 3, 4, 5)]


def test_the_gpu_backend_exports_the_cpu_function_set():
    """Same names, same parameters: NDArray and the operators call either unchanged."""
    import inspect
    from mxref.backend import gpu
    for name, function in vars(cpu).items():
        if (inspect.isfunction(function) and function.__module__ == cpu.__name__
                and not name.startswith('_')):
            twin = getattr(gpu, name)
            assert (list(inspect.signature(twin).parameters)
                    == list(inspect.signature(function).parameters)), name
    assert gpu.name == 'gpu' and mx.context.num_gpus() >= 0


# ----------------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', ['float32', 'float64', 'float16', 'int32', 'int64', 'int8',
                                   'uint8', 'bool'])
@pytest.mark.parametrize('shape', [(0,), (1,), (7,), (13, 17), (2, 3, 4, 5)])
def test_transfers_and_creation(G, dtype, shape):
    host = (np.random.uniform(-50, 50, size=shape) > 0 if dtype == 'bool'
            else np.random.uniform(-50, 50, size=shape)).astype(dtype)
    if dtype == 'uint8':
        host = np.abs(host)
    buf = G.from_numpy(host)
    assert buf.shape == shape and buf.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(G.to_numpy(buf), host)
    np.testing.assert_array_equal(G.to_numpy(G.zeros(shape, dtype)), np.zeros(shape, dtype))
    for value in (1, 7.5, -3):
        np.testing.assert_array_equal(G.to_numpy(G.full(shape, value, dtype)),
                                      np.full(shape, value).astype(dtype))
    assert G.empty(shape, dtype).shape == shape


def test_from_numpy_casts_and_to_numpy_copies(G):
    host = np.arange(6, dtype=np.int64).reshape(2, 3)[:, ::-1]     # not contiguous
    buf = G.from_numpy(host, np.float32)
    out = G.to_numpy(buf)
    out[0, 0] = 100
    np.testing.assert_array_equal(G.to_numpy(buf), host.astype(np.float32))


def test_copy_casts_broadcasts_and_moves_between_host_and_device(G):
    close(both(G, 'copy', [rand((7, 5)), np.zeros((3, 7, 5), np.float64)], [1]))
    close(both(G, 'copy', [rand((3, 7, 5)).astype(np.int32), np.zeros((3, 7, 5))], [1]))
    buf = G.from_numpy(np.zeros((2, 3), np.float32))
    G.copy(np.arange(6).reshape(2, 3), buf)                       # host -> device
    host = np.zeros((2, 3), np.float64)
    G.copy(buf, host)                                             # device -> host
    np.testing.assert_array_equal(host, np.arange(6).reshape(2, 3))


def test_reshape_and_rows_are_views(G):
    buf = G.from_numpy(np.arange(24, dtype=np.float32).reshape(4, 6))
    rows = G.rows(buf, 1, 3)
    G.store(rows, 0.0, 'write')
    flat = G.reshape(buf, (24,))
    np.testing.assert_array_equal(G.to_numpy(flat)[6:18], np.zeros(12))
    np.testing.assert_array_equal(G.to_numpy(buf)[0], np.arange(6))
    with pytest.raises(mx.base.MXNetValueError):
        G.reshape(buf, (5, 5))


KEYS = [(1,), (-1,), (slice(1, 3),), (slice(None, None, -1),), (slice(None), 2),
        (Ellipsis, 1), (1, Ellipsis), (None, slice(2, None, 2)), (slice(3, 0, -2), slice(None, None, 3)),
        (np.array([0, 2, 2]),), (slice(None), np.array([[1], [0]])),
        (np.array([True, False, True, True]),), (np.array([0, 3]), np.array([1, -1])),
        (slice(None), None, 0)]


@pytest.mark.parametrize('key', KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem_follows_numpy(G, key):
    host = rand((4, 5, 3))
    np.testing.assert_array_equal(G.to_numpy(G.getitem(G.from_numpy(host), key)),
                                  np.ascontiguousarray(host[key]))


@pytest.mark.parametrize('key', KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_setitem_follows_numpy(G, key):
    host = rand((4, 5, 3))
    selection = host[key].shape
    for value in (2.5, rand(selection), rand(selection[-1:]) if selection else 1.0):
        want, buf = host.copy(), G.from_numpy(host)
        want[key] = value
        G.setitem(buf, key, up(G, value) if isinstance(value, np.ndarray) else value)
        np.testing.assert_array_equal(G.to_numpy(buf), want)


def test_setitem_with_an_overlapping_window_of_itself(G):
    host = np.arange(10, dtype=np.float32)
    buf = G.from_numpy(host)
    G.setitem(buf, (slice(1, None),), G.rows(buf, 0, 9))        # buf[1:] = buf[:-1]
    host[1:] = host[:-1].copy()
    np.testing.assert_array_equal(G.to_numpy(buf), host)


@pytest.mark.parametrize('req', ['write', 'add', 'null'])
def test_store(G, req):
    close(both(G, 'store', [rand((3, 4)), rand((4,)), req], [0]))
    close(both(G, 'store', [rand((3, 4)), 1.5, req], [0]))


# ----------------------------------------------------------------------------------------------
# elementwise
# ----------------------------------------------------------------------------------------------
def _domain(expr):
    if any(f in expr for f in ('log', 'sqrt', 'cbrt', 'gamma', 'digamma', 'arccosh', 'power')):
        return 1.1, 3.0
    if any(f in expr for f in ('arcsin', 'arccos', 'arctanh')):
        return -0.9, 0.9
    return -2.0, 2.0


UNARY_EXPRS = sorted({e for f, g, _ in UNARY_MATH.values() for e in (f, g) if e is not None}
                     | {e for pair in LEAKY_FORMULAS.values() for e in pair})


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('expr', UNARY_EXPRS)
def test_unary_and_leaky_formulas(G, expr, dtype):
    low, high = _domain(expr)
    x, y, dy = rand((13, 17), dtype, low, high), rand((13, 17), dtype, low, high), rand((17,), dtype)
    for req in ('write', 'add'):
        close(both(G, 'elementwise', [expr, rand((13, 17), dtype), req], [1], x=x, y=y, dy=dy,
                   s=0.3), rtol=2e-5 if dtype == np.float32 else 1e-9, atol=1e-6)


@pytest.mark.parametrize('dtype', [np.float32, np.float64, np.int32])
@pytest.mark.parametrize('kind', sorted(BINARY_MATH))
def test_binary_formulas_with_broadcasting(G, kind, dtype):
    exprs = BINARY_MATH[kind] if dtype != np.int32 else BINARY_MATH[kind][:1]
    for expr in [e for e in exprs if e is not None]:
        low, high = (0.5, 2.0) if kind in ('power', 'div', 'mod', 'hypot') else (-2.0, 2.0)
        if dtype == np.int32:
            a = np.random.randint(-9, 9, size=(3, 1, 5)).astype(dtype)
            b = np.random.randint(0 if kind == 'power' else -4, 5, size=(4, 1)).astype(dtype)
        else:
            a, b = rand((3, 1, 5), dtype, low, high), rand((4, 1), dtype, low, high)
        y, dy = rand((3, 4, 5), dtype, low, high), rand((3, 4, 5), dtype)
        close(both(G, 'elementwise', [expr, np.zeros((3, 4, 5), dtype), 'write'], [1], a=a, b=b,
                   y=y, dy=dy), rtol=2e-5 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize('dtype', [np.float32, np.int32])
@pytest.mark.parametrize('name', sorted(SCALAR_MATH))
def test_scalar_formulas(G, name, dtype):
    expr, grad, _ = SCALAR_MATH[name]
    s = dtype(3) if dtype == np.int32 else 1.7
    x = (np.random.randint(1, 9, size=(7, 3)) if dtype == np.int32 else
         rand((7, 3), dtype, 0.5, 2.0)).astype(dtype)
    close(both(G, 'elementwise', [expr, np.zeros((7, 3), dtype), 'write'], [1], x=x, s=s),
          rtol=2e-5)
    if dtype != np.int32 and grad is not None:
        close(both(G, 'elementwise', [grad, np.zeros((7, 3), dtype), 'add'], [1], x=x,
                   y=rand((7, 3), dtype, 0.5, 2.0), dy=rand((7, 3), dtype), s=s), rtol=2e-5)


def test_elementwise_types_follow_numpy(G):
    """A Python float next to int32 computes in float64; comparisons store as 0/1; float16."""
    x = np.arange(-4, 5, dtype=np.int32)
    close(both(G, 'elementwise', ['x * 0.5', np.zeros(9, np.float32), 'write'], [1], x=x))
    close(both(G, 'elementwise', ['(x > 1)', np.zeros(9, np.int8), 'write'], [1], x=x))
    close(both(G, 'elementwise', ['div(x, 3) + mod(x, 3)', np.zeros(9, np.int32), 'write'],
               [1], x=x))
    h = rand((5, 3), np.float16)
    close(both(G, 'elementwise', ['x * 2 + 1', np.zeros((5, 3), np.float16), 'add'], [1], x=h),
          rtol=1e-3, atol=1e-3)


def test_elementwise_in_place_and_errors(G):
    host = rand((4, 4))
    buf = G.from_numpy(host)
    G.elementwise('x + 1', buf, 'write', x=buf)                       # same view: in place
    np.testing.assert_allclose(G.to_numpy(buf), host + 1)
    G.elementwise('x + y', buf, 'write', x=buf, y=G.rows(buf, 0, 1))  # reads a row it writes
    want = host + 1
    np.testing.assert_allclose(G.to_numpy(buf), want + want[0:1])
    with pytest.raises(mx.base.MXNetValueError, match="uses 'y'"):
        G.elementwise('x + y', buf, 'write', x=buf)
    with pytest.raises(mx.base.MXNetValueError, match='host arrays'):
        G.elementwise('x + 1', buf, 'write', x=host)
    with pytest.raises(mx.base.MXNetValueError, match='broadcast'):
        G.elementwise('x + 1', buf, 'write', x=G.from_numpy(rand((3,))))
    with pytest.raises(AttributeError, match='no kernel'):
        G.some_kernel_nobody_wrote


# ----------------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------------
REDUCE_CASES = [((1,), (0,)), ((7,), (0,)), ((3, 1, 5), (0, 2)), ((4, 33, 5), (1,)),
                ((2, 3, 4, 5), (0, 2, 3)), ((2, 3, 4, 5), (3,)), ((64, 500), (0,)),
                ((3, 4100), (1,)), ((5000,), (0,)), ((2, 3, 4, 5), (0, 1, 2, 3))]


@pytest.mark.parametrize('kind', ['sum', 'mean', 'prod', 'max', 'min', 'nansum', 'nanprod'])
@pytest.mark.parametrize('shape,axes', REDUCE_CASES, ids=[str(c) for c in REDUCE_CASES])
def test_reduce(G, kind, shape, axes):
    low = 0.9 if 'prod' in kind else -1.0
    x = rand(shape, np.float32, low, 1.1)
    if kind.startswith('nan') and x.size > 2:
        x.reshape(-1)[::3] = np.nan
    out_shape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    for req in ('write', 'add'):
        close(both(G, 'reduce', [kind, x, axes, rand(out_shape), req], [3]), rtol=1e-4,
              atol=1e-5)


@pytest.mark.parametrize('dtype', [np.int32, np.float64, np.float16])
def test_reduce_other_types(G, dtype):
    x = (np.random.randint(-5, 5, size=(6, 7)) if dtype == np.int32 else rand((6, 7))).astype(dtype)
    for kind in ('sum', 'max', 'mean'):
        close(both(G, 'reduce', [kind, x, (1,), np.zeros((6, 1), dtype), 'write'], [3]),
              rtol=1e-3 if dtype == np.float16 else 1e-6)


@pytest.mark.parametrize('ord', [1, 2])
@pytest.mark.parametrize('shape,axes', REDUCE_CASES[:6], ids=[str(c) for c in REDUCE_CASES[:6]])
def test_norm(G, ord, shape, axes):
    out_shape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    close(both(G, 'norm', [rand(shape), ord, axes, np.zeros(out_shape, np.float32), 'write'],
               [3]), rtol=1e-5)


@pytest.mark.parametrize('kind', ['argmax', 'argmin'])
@pytest.mark.parametrize('shape,axis', [((7,), None), ((3, 4), 1), ((3, 4, 5), 0),
                                        ((2, 5000), 1), ((4100,), 0), ((3, 1), 1)])
def test_argreduce_with_ties_and_nan(G, kind, shape, axis):
    x = np.round(rand(shape) * 3)                     # many ties: the first one wins
    if x.size > 10:
        x.reshape(-1)[7] = np.nan
    out_shape = (1,) if axis is None else shape[:axis] + shape[axis + 1:]
    close(both(G, 'argreduce', [kind, x, axis, np.zeros(out_shape, np.float32), 'write'], [3]))


@pytest.mark.parametrize('xshape,oshape', [((4, 3), (3,)), ((4, 3), (1, 3)), ((2, 3, 5), (3, 1)),
                                           ((5,), (5,)), ((64, 500), (500,)), ((6, 1), (1, 1))])
def test_sum_to(G, xshape, oshape):
    for req in ('write', 'add'):
        close(both(G, 'sum_to', [rand(xshape), rand(oshape), req], [1]), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# GEMM
# ----------------------------------------------------------------------------------------------
GEMM_CASES = [((1, 1), (1, 1), False, False), ((17, 31), (31, 13), False, False),
              ((31, 17), (31, 13), True, False), ((17, 31), (13, 31), False, True),
              ((31, 17), (13, 31), True, True), ((130, 257), (257, 129), False, False),
              ((3, 5, 7), (3, 7, 2), False, False), ((2, 5, 7), (5, 3), True, False),
              ((9, 4), (2, 3, 4), False, True), ((0, 3), (3, 4), False, False),
              ((4, 0), (0, 5), False, False)]


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('a,b,ta,tb', GEMM_CASES, ids=[str(c) for c in GEMM_CASES])
def test_gemm(G, a, b, ta, tb, dtype):
    A, B = rand(a, dtype), rand(b, dtype)
    want = np.matmul(A.swapaxes(-1, -2) if ta else A, B.swapaxes(-1, -2) if tb else B)
    for req, alpha in (('write', 1.0), ('add', 0.5)):
        close(both(G, 'gemm', [A, B, rand(want.shape, dtype), req], [2], trans_a=ta, trans_b=tb,
                   alpha=alpha), rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)


def test_gemm_rejects_what_it_cannot_do(G):
    a, b = G.from_numpy(rand((3, 4))), G.from_numpy(rand((5, 6)))
    with pytest.raises(mx.base.MXNetValueError, match='do not give'):
        G.gemm(a, b, G.empty((3, 6), np.float32), 'write')
    with pytest.raises(mx.base.MXNetTypeError, match='float32 or float64'):
        G.gemm(G.from_numpy(np.ones((2, 2), np.int32)), G.from_numpy(np.ones((2, 2), np.int32)),
               G.empty((2, 2), np.int32), 'write')


# ----------------------------------------------------------------------------------------------
# data movement
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('shape,axes', [((3, 4), (1, 0)), ((2, 3, 4), (1, 2, 0)),
                                        ((5, 33, 70), (0, 2, 1)), ((2, 3, 4, 5), (3, 1, 0, 2)),
                                        ((1, 7), (1, 0)), ((6,), (0,))])
def test_transpose(G, shape, axes):
    out_shape = tuple(shape[a] for a in axes)
    for req in ('write', 'add'):
        close(both(G, 'transpose', [rand(shape), axes, rand(out_shape), req], [2]))


SLICES = [((4, 5), (1, None), (3, None), (1, -2)), ((7,), (None,), (None,), (-1,)),
          ((3, 4, 5), (0, 1, 4), (3, 4, 0), (2, 2, -3))]


@pytest.mark.parametrize('shape,begin,end,step', SLICES)
def test_strided_slice_and_its_gradient(G, shape, begin, end, step):
    x = rand(shape)
    want = x[tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))]
    for req in ('write', 'add'):
        close(both(G, 'strided_slice', [x, begin, end, step, rand(want.shape), req], [4]))
        close(both(G, 'strided_slice_backward', [rand(want.shape), begin, end, step, rand(shape),
                                                 req], [4]))


@pytest.mark.parametrize('axis', [0, 1, 2])
def test_concat_and_split(G, axis):
    pieces = [rand(tuple(n if i != axis else k for i, n in enumerate((2, 3, 4))))
              for k in (1, 3, 2)]
    total = np.concatenate(pieces, axis=axis)
    close(both(G, 'concat', [pieces, axis, rand(total.shape), 'add'], [2]))
    close(both(G, 'split', [total, axis, [rand(p.shape) for p in pieces],
                            ['write', 'add', 'write']], [2]))
    squeezed = [rand((2, 4)), rand((2, 4)), rand((2, 4))]
    close(both(G, 'split', [rand((2, 3, 4)), 1, squeezed, ['write'] * 3], [2]))


@pytest.mark.parametrize('shape,reps', [((2, 3), (2, 1, 3)), ((5,), (3,)), ((2, 1, 3), (2, 2)),
                                        ((1,), (1, 7))])
def test_tile(G, shape, reps):
    out = np.tile(rand(shape), reps)
    close(both(G, 'tile', [rand(shape), reps, rand(out.shape), 'add'], [2]))


@pytest.mark.parametrize('shape,repeats,axis', [((2, 3), 2, 1), ((2, 2), 3, None),
                                                ((3, 1, 4), 5, 1), ((4,), 1, 0)])
def test_repeat(G, shape, repeats, axis):
    out = np.repeat(rand(shape), repeats, axis=axis)
    close(both(G, 'repeat', [rand(shape), repeats, axis, rand(out.shape), 'write'], [3]))


# ----------------------------------------------------------------------------------------------
# indexing
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('mode', ['clip', 'wrap'])
@pytest.mark.parametrize('ashape,ishape,axis', [((5, 3), (2, 2), 0), ((2, 4), (3,), 1),
                                                ((3, 4, 5), (7,), 2), ((6,), (1,), 0)])
def test_take_and_its_gradient(G, ashape, ishape, axis, mode):
    idx = np.random.randint(-8, 8, size=ishape).astype(np.float32) + 0.3
    a = rand(ashape)
    out = np.take(a, np.clip(idx.astype(int), 0, ashape[axis] - 1), axis=axis)
    for req in ('write', 'add'):
        close(both(G, 'take', [a, idx, axis, mode, rand(out.shape), req], [4]))
        close(both(G, 'take_backward', [rand(out.shape), idx, axis, mode, rand(ashape), req],
                   [4]), rtol=1e-5)


def test_take_mode_raise(G):
    a = rand((5, 3))
    good = np.array([0, 4, 2.7], np.float32)
    close(both(G, 'take', [a, good, 0, 'raise', rand((3, 3)), 'write'], [4]))
    with pytest.raises(mx.base.MXNetIndexError, match='index 5 is out of range'):
        G.take(G.from_numpy(a), G.from_numpy(np.array([1, 5], np.float32)), 0, 'raise',
               G.empty((2, 3), np.float32), 'write')


@pytest.mark.parametrize('mode', ['clip', 'wrap'])
@pytest.mark.parametrize('xshape,axis', [((3, 4), 1), ((3, 4), 0), ((2, 5, 3), 1), ((7,), 0)])
def test_pick_and_its_gradient(G, xshape, axis, mode):
    ishape = xshape[:axis] + xshape[axis + 1:] or (1,)
    idx = np.random.randint(-3, 7, size=ishape).astype(np.float32)
    x = rand(xshape)
    for req in ('write', 'add'):
        close(both(G, 'pick', [x, idx, axis, mode, rand(ishape), req], [4]))
        close(both(G, 'pick_backward', [rand(ishape), idx, axis, mode, rand(xshape), req], [4]))


def test_one_hot(G):
    idx = np.array([[0, 3.7, -1], [5, 2, 1]], dtype=np.float32)
    close(both(G, 'one_hot', [idx, 4, 2.0, -1.0, np.zeros((2, 3, 4), np.float32)], [4]))
    close(both(G, 'one_hot', [idx, 5, 1, 0, np.zeros((2, 3, 5), np.int32)], [4]))


# ----------------------------------------------------------------------------------------------
# softmax family
# ----------------------------------------------------------------------------------------------
SOFTMAX_CASES = [((1, 1), 1), ((3, 7), 1), ((2, 5, 3), 1), ((4, 1500), 1), ((3, 5000), 1),
                 ((5, 3), 0), ((2, 3, 4, 5), 2)]


@pytest.mark.parametrize('log', [False, True])
@pytest.mark.parametrize('shape,axis', SOFTMAX_CASES, ids=[str(c) for c in SOFTMAX_CASES])
def test_softmax_and_its_gradient(G, shape, axis, log):
    x = rand(shape, np.float32, -5, 5)
    for req, temperature in (('write', 1.0), ('add', 2.5)):
        close(both(G, 'softmax', [x, axis, rand(shape), req], [2], temperature=temperature,
                   log=log), rtol=1e-5, atol=1e-6)
        y = np.empty_like(x)
        cpu.softmax(x, axis, y, 'write', temperature=temperature, log=log)
        close(both(G, 'softmax_backward', [y, rand(shape), axis, rand(shape), req], [3],
                   temperature=temperature, log=log), rtol=1e-4, atol=1e-6)


def test_softmax_of_minus_infinity_and_float64(G):
    x = np.array([[-np.inf, 1.0, 2.0], [0.0, -np.inf, -np.inf]], dtype=np.float64)
    close(both(G, 'softmax', [x, 1, np.zeros_like(x), 'write'], [2]), rtol=1e-12)


@pytest.mark.parametrize('normalization', ['null', 'batch', 'valid'])
@pytest.mark.parametrize('prob_shape', [(5, 4), (3, 4, 6)])
def test_softmax_output_grad(G, prob_shape, normalization):
    prob = rand(prob_shape, np.float32, 0, 1)
    label_shape = (prob_shape[0],) + prob_shape[2:]
    label = np.random.randint(-1, 4, size=label_shape).astype(np.float32) + 0.5
    head = rand(prob_shape)
    for kwargs in ({}, {'use_ignore': True, 'ignore_label': -1.0}, {'smooth_alpha': 0.1},
                   {'grad_scale': 2.0, 'head_grad': head}):
        kwargs = dict(kwargs, normalization=normalization)
        if 'head_grad' in kwargs:
            gpu_kwargs = dict(kwargs, head_grad=G.from_numpy(head))
        else:
            gpu_kwargs = kwargs
        for req in ('write', 'add'):
            start = rand(prob_shape)
            want = start.copy()
            cpu.softmax_output_grad(prob, label, want, req, **kwargs)
            got = G.from_numpy(start)
            G.softmax_output_grad(G.from_numpy(prob), G.from_numpy(label), got, req, **gpu_kwargs)
            close([(want, G.to_numpy(got))], rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# convolution and pooling
# ----------------------------------------------------------------------------------------------
def _conv_out(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


CONV_CASES = [  # x shape, (F, KH, KW), stride, pad, dilate, groups
    ((2, 3, 7, 5), (4, 3, 2), (1, 1), (0, 0), (1, 1), 1),
    ((1, 1, 5, 5), (1, 5, 5), (1, 1), (0, 0), (1, 1), 1),
    ((3, 4, 9, 8), (6, 3, 3), (2, 1), (1, 2), (1, 2), 2),
    ((2, 2, 6, 6), (2, 1, 1), (3, 3), (0, 0), (1, 1), 2),
    ((2, 5, 13, 11), (7, 3, 4), (2, 3), (2, 1), (2, 1), 1)]


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('case', CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_convolution_and_its_gradients(G, case, dtype):
    xshape, (f, kh, kw), stride, pad, dilate, groups = case
    n, c, h, w = xshape
    yshape = (n, f, _conv_out(h, kh, stride[0], pad[0], dilate[0]),
              _conv_out(w, kw, stride[1], pad[1], dilate[1]))
    x, wt, b = rand(xshape, dtype), rand((f, c // groups, kh, kw), dtype), rand((f,), dtype)
    geometry = dict(stride=stride, pad=pad, dilate=dilate, num_group=groups)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for req in ('write', 'add'):
        close(both(G, 'conv2d_forward', [x, wt, b, rand(yshape, dtype), req], [3], **geometry),
              **tol)
        close(both(G, 'conv2d_forward', [x, wt, None, rand(yshape, dtype), req], [3],
                   **geometry), **tol)
        dy = rand(yshape, dtype)
        close(both(G, 'conv2d_backward_data', [dy, wt, rand(xshape, dtype), req], [2],
                   **geometry), **tol)
        close(both(G, 'conv2d_backward_weight', [dy, x, rand(wt.shape, dtype), req], [2],
                   **geometry), **tol)
        close(both(G, 'conv2d_backward_bias', [dy, rand((f,), dtype), req], [1]), **tol)


def test_convolution_in_chunks(G, monkeypatch):
    """A column buffer limit smaller than one batch splits the work into chunks."""
    from mxref.backend.gpu import conv
    monkeypatch.setattr(conv, 'COL_BYTES', 4 * 3 * 9 * 25)            # two images per chunk
    x, wt = rand((5, 3, 7, 7)), rand((4, 3, 3, 3))
    geometry = dict(stride=(1, 1), pad=(0, 0), dilate=(1, 1))
    close(both(G, 'conv2d_forward', [x, wt, None, rand((5, 4, 5, 5)), 'write'], [3], **geometry),
          rtol=1e-4)
    close(both(G, 'conv2d_backward_weight', [rand((5, 4, 5, 5)), x, rand(wt.shape), 'write'], [2],
               **geometry), rtol=1e-4, atol=1e-5)


POOL_CASES = [((2, 3, 7, 5), (2, 2), (2, 2), (0, 0)), ((1, 2, 6, 6), (3, 3), (2, 2), (1, 1)),
              ((2, 1, 5, 9), (3, 2), (1, 3), (1, 1)), ((1, 1, 4, 4), (4, 4), (1, 1), (0, 0)),
              ((1, 2, 3, 3), (2, 2), (2, 2), (1, 1))]


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('pool_type', ['max', 'avg', 'sum'])
@pytest.mark.parametrize('case', POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pooling_and_its_gradient(G, case, pool_type, dtype):
    xshape, kernel, stride, pad = case
    oh = (xshape[2] + 2 * pad[0] - kernel[0]) // stride[0] + 1
    ow = (xshape[3] + 2 * pad[1] - kernel[1]) // stride[1] + 1
    yshape = xshape[:2] + (oh, ow)
    x = np.round(rand(xshape, dtype) * 4) / 4                       # ties: the first max wins
    for include in (True, False):
        for req in ('write', 'add'):
            kwargs = dict(count_include_pad=include)
            if pool_type == 'max':
                argmax_cpu = np.zeros(yshape, np.int32)
                close(both(G, 'pool2d_forward', [x, rand(yshape, dtype), req, kernel, stride, pad,
                                                 'max'], [1], argmax=argmax_cpu))
                cpu.pool2d_forward(x, np.zeros(yshape, dtype), 'write', kernel, stride, pad, 'max',
                                   argmax=argmax_cpu)
                argmax_gpu = G.from_numpy(np.zeros(yshape, np.int32))
                G.pool2d_forward(G.from_numpy(x), G.empty(yshape, dtype), 'write', kernel, stride,
                                 pad, 'max', argmax=argmax_gpu)
                np.testing.assert_array_equal(G.to_numpy(argmax_gpu), argmax_cpu)
                close(both(G, 'pool2d_backward', [rand(yshape, dtype), argmax_cpu,
                                                  rand(xshape, dtype), req, kernel, stride, pad,
                                                  'max'], [2]))
            else:
                close(both(G, 'pool2d_forward', [x, rand(yshape, dtype), req, kernel, stride, pad,
                                                 pool_type], [1], **kwargs))
                close(both(G, 'pool2d_backward', [rand(yshape, dtype), None, rand(xshape, dtype),
                                                  req, kernel, stride, pad, pool_type], [2],
                           **kwargs))


# ----------------------------------------------------------------------------------------------
# random numbers and optimizer updates
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_random_samplers(G, dtype):
    G.seed(7)
    u = G.empty((50001,), dtype)
    G.random_uniform(-1.0, 3.0, u)
    u = G.to_numpy(u)
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.03 and abs(u.var() - 4 / 3) < 0.05
    n = G.empty((7, 4001), dtype)
    G.random_normal(2.0, 0.5, n)
    n = G.to_numpy(n)
    assert abs(n.mean() - 2) < 0.01 and abs(n.std() - 0.5) < 0.01
    r = G.empty((10001,), np.int32)
    G.random_randint(-3, 4, r)
    r = G.to_numpy(r)
    assert set(np.unique(r)) == set(range(-3, 4))
    G.seed(7)
    again = G.empty((50001,), dtype)
    G.random_uniform(-1.0, 3.0, again)
    np.testing.assert_array_equal(G.to_numpy(again), u)          # reseeding repeats the draw
    G.random_uniform(-1.0, 3.0, again)
    assert not np.array_equal(G.to_numpy(again), u)               # the next draw differs


# the sampling operators draw through the samplers above; on the GPU they fill their output
SAMPLING_OPS = {
    '_random_uniform': ({'low': '-1', 'high': '3', 'shape': '(60, 50)'},
                        lambda v: v.min() >= -1 and v.max() < 3 and abs(v.mean() - 1) < 0.1),
    '_random_normal': ({'loc': '2', 'scale': '0.5', 'shape': '(60, 50)', 'dtype': 'float64'},
                       lambda v: abs(v.mean() - 2) < 0.05 and abs(v.std() - 0.5) < 0.05),
    '_random_randint': ({'low': '-3', 'high': '4', 'shape': '(3000,)'},
                        lambda v: set(np.unique(v)) == set(range(-3, 4))),
}


@pytest.mark.parametrize('name', sorted(SAMPLING_OPS))
def test_sampling_operators(G, name):
    from mxref.operator import get as get_op
    attrs, check = SAMPLING_OPS[name]
    op = get_op(name)(attrs).to(mx.gpu(0))
    _, (shape,), _ = op.infer_shape([])
    _, (dtype,), _ = op.infer_type([])
    out = G.empty(shape, dtype)
    op.forward(True, ['write'], [], [out], [])
    values = G.to_numpy(out)
    assert values.shape == shape and values.dtype == dtype and check(values)


def test_shuffle_rows_is_a_permutation(G):
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    out = G.empty((10, 4), np.float32)
    G.random_shuffle_rows(G.from_numpy(x), out)
    got = G.to_numpy(out)
    assert sorted(map(tuple, got)) == sorted(map(tuple, x)) and not np.array_equal(got, x)


@pytest.mark.parametrize('clip', [None, 0.1])
@pytest.mark.parametrize('shape', [(1,), (13, 17)])
def test_fused_optimizer_updates_match_the_cpu(G, shape, clip):
    w, g, m, v = rand(shape), rand(shape), rand(shape), rand(shape, np.float32, 0, 1)
    close(both(G, 'sgd_update', [w, g, 0.1], [0], wd=0.01, rescale_grad=0.5, clip_gradient=clip))
    close(both(G, 'sgd_mom_update', [w, g, m, 0.1], [0, 2], wd=0.01, momentum=0.9,
               rescale_grad=0.5, clip_gradient=clip))
    close(both(G, 'adam_update', [w, g, m, v, 0.01], [0, 2, 3], beta1=0.9, beta2=0.99,
               epsilon=1e-8, wd=0.01, rescale_grad=0.5, clip_gradient=clip), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# every operator: cpu vs gpu through the executor
# ----------------------------------------------------------------------------------------------
import test_operator as _ops                     # noqa: E402  (the operator cases table)

RANDOM_OPS = {'Dropout'}
# operators without a GPU kernel (Operator.gpu_kernel False): a GPU context is refused
CPU_ONLY_OPS = {_n for _n in mx.operator.registered_names()
                if not mx.operator.get(_n).gpu_kernel}
LOSS_SYMBOLS = {
    'SoftmaxOutput': (lambda d, l: mx.sym.SoftmaxOutput(d, l, name='s'), [(4, 5), (4,)]),
    'LinearRegressionOutput': (lambda d, l: mx.sym.LinearRegressionOutput(d, l), [(4, 3), (4, 3)]),
    'LogisticRegressionOutput': (lambda d, l: mx.sym.LogisticRegressionOutput(d, l),
                                 [(4, 3), (4, 3)]),
    'MAERegressionOutput': (lambda d, l: mx.sym.MAERegressionOutput(d, l), [(4, 3), (4, 3)]),
    'MakeLoss': (lambda d: mx.sym.MakeLoss(d, normalization='valid'), [(4, 3)]),
    'make_loss': (lambda d: mx.sym.make_loss(d), [(4, 3)]),
    'SVMOutput': (lambda d, l: mx.sym.SVMOutput(d, l, margin=0.5), [(2, 3, 5), (2, 3)]),
}


CONV_POOL_SYMBOLS = {
    'Convolution': (lambda d: mx.sym.Convolution(d, kernel=(3, 2), num_filter=4, stride=(2, 1),
                                                 pad=(1, 1), dilate=(1, 2), num_group=2),
                    (2, 4, 9, 8)),
    'Convolution-1d': (lambda d: mx.sym.Convolution(d, kernel=(3,), num_filter=3, no_bias=True),
                       (2, 2, 11)),
    'Pooling-max': (lambda d: mx.sym.Pooling(d, kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
                    (2, 3, 7, 7)),
    'Pooling-avg': (lambda d: mx.sym.Pooling(d, kernel=(2, 3), pool_type='avg'), (2, 2, 6, 7)),
    'Pooling-global': (lambda d: mx.sym.Pooling(d, global_pool=True, pool_type='max'),
                       (2, 3, 5, 4)),
    # Deconvolution, bilinear UpSampling and LRN run on the backend's convolution functions
    'Deconvolution': (lambda d: mx.sym.Deconvolution(d, kernel=(3, 2), num_filter=4,
                                                     stride=(2, 1), pad=(1, 1), dilate=(1, 2),
                                                     adj=(1, 0), num_group=2, no_bias=False),
                      (2, 4, 5, 6)),
    'Deconvolution-1d': (lambda d: mx.sym.Deconvolution(d, kernel=(3,), num_filter=3,
                                                        stride=(2,), target_shape=(10,)),
                         (2, 2, 5)),
    'UpSampling-nearest': (lambda d: mx.sym.UpSampling(d, mx.sym.Pooling(d, kernel=(2, 2),
                                                                         stride=(2, 2)),
                                                       scale=2, sample_type='nearest'),
                           (2, 3, 4, 6)),
    'UpSampling-sum': (lambda d: mx.sym.UpSampling(d, d, scale=3, sample_type='nearest',
                                                   multi_input_mode='sum'), (2, 3, 2, 3)),
    'UpSampling-bilinear': (lambda d: mx.sym.UpSampling(d, scale=2, sample_type='bilinear',
                                                        num_filter=3), (2, 3, 4, 5)),
    'LRN': (lambda d: mx.sym.LRN(d, nsize=3, alpha=0.5), (2, 5, 3, 4)),
    # float32-only operators (tested in test_layers.py): a strided slice, reductions
    'Crop-hw': (lambda d: mx.sym.Crop(d, h_w=(2, 3), offset=(1, 2)), (2, 3, 5, 7)),
    'Crop-like': (lambda d: mx.sym.Crop(d, mx.sym.Pooling(d, kernel=(2, 2), stride=(2, 2)),
                                        center_crop=True), (2, 1, 7, 5)),
    'InstanceNorm': (lambda d: mx.sym.InstanceNorm(d, eps=0.01), (2, 3, 5, 1)),
}


def test_every_operator_has_a_consistency_case():
    from mxref.operator import registered_names, get as get_op
    covered = ({c.op for c in _ops.CASES} | set(LOSS_SYMBOLS) | set(SAMPLING_OPS)
               | set(CPU_ONLY_SAMPLERS) | {'_shuffle'}
               | {name.split('-')[0] for name in CONV_POOL_SYMBOLS})
    canonical = {get_op(n).op_name for n in registered_names()}
    assert not sorted(canonical - covered)
    assert ({get_op(n).op_name for n in CPU_ONLY_OPS}                 # each refusal is tested
            <= {c.op for c in _ops.CASES} | set(CPU_ONLY_SAMPLERS))


# CPU-only samplers and ROIPooling (tests/test_samplers.py): a GPU context is refused by name
CPU_ONLY_SAMPLERS = {n for n in _ops.OTHER_TESTS if _ops.OTHER_TESTS[n] == 'test_samplers.py'
                     and not mx.operator.get(n).gpu_kernel}


@pytest.mark.parametrize('name', sorted(CPU_ONLY_SAMPLERS))
def test_cpu_only_samplers_refuse_a_gpu_context_by_name(name):
    op = mx.operator.get(name)({'pooled_size': '(1, 1)', 'spatial_scale': '1'}
                               if name == 'ROIPooling' else {})
    with pytest.raises(NotImplementedError, match="%s '.*': has no GPU kernel" % name):
        op.to(mx.gpu(0))


@pytest.mark.parametrize('case', [c for c in _ops.CASES if c.op in CPU_ONLY_OPS],
                         ids=[c.id for c in _ops.CASES if c.op in CPU_ONLY_OPS])
def test_cpu_only_operators_refuse_a_gpu_context_by_name(G, case):
    sym = case.build(*[mx.sym.Variable(n) for n in case.names])
    with pytest.raises(NotImplementedError, match="%s '.*': has no GPU kernel" % case.op):
        sym.simple_bind(mx.gpu(0), **dict(zip(case.names, case.shapes)))


_GPU_CASES = [c for c in _ops.CASES if c.op not in RANDOM_OPS | CPU_ONLY_OPS]


@pytest.mark.parametrize('case', _GPU_CASES, ids=[c.id for c in _GPU_CASES])
def test_operator_consistency_cpu_vs_gpu(G, case):
    sym = case.build(*[mx.sym.Variable(n) for n in case.names])
    params = {n: g(s) for n, g, s in zip(case.names, case.gen, case.shapes)}
    shapes = {n: v.shape for n, v in params.items()}
    specs = [dict(ctx=ctx, type_dict={n: np.float32 for n in case.names}, **shapes)
             for ctx in (mx.cpu(), mx.gpu(0))]
    mx.test_utils.check_consistency(sym, specs, arg_params=params, rtol=1e-4, atol=1e-5,
                                    grad_req='write' if case.grad else 'null')


@pytest.mark.parametrize('name', sorted(LOSS_SYMBOLS))
def test_loss_consistency_cpu_vs_gpu(G, name):
    build, shapes = LOSS_SYMBOLS[name]
    names = ['data', 'label'][:len(shapes)]
    sym = build(*[mx.sym.Variable(n) for n in names])
    params = {'data': rand(shapes[0])}
    if len(shapes) > 1:
        params['label'] = (np.random.randint(0, 5, size=shapes[1]).astype(np.float32)
                           if name in ('SoftmaxOutput', 'SVMOutput')
                           else rand(shapes[1], np.float32, 0, 1))
    specs = [dict(ctx=ctx, type_dict={n: np.float32 for n in names},
                  **{n: s for n, s in zip(names, shapes)}) for ctx in (mx.cpu(), mx.gpu(0))]
    mx.test_utils.check_consistency(sym, specs, arg_params=params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', sorted(CONV_POOL_SYMBOLS))
def test_convolution_and_pooling_consistency_cpu_vs_gpu(G, name):
    build, shape = CONV_POOL_SYMBOLS[name]
    sym = build(mx.sym.Variable('data'))
    specs = [dict(ctx=ctx, data=shape, type_dict={'data': np.float32})
             for ctx in (mx.cpu(), mx.gpu(0))]
    mx.test_utils.check_consistency(sym, specs, rtol=1e-4, atol=1e-5)


def test_ndarray_moves_between_cpu_and_gpu(G):
    a = mx.nd.array(np.arange(6).reshape(2, 3))
    g = a.as_in_context(mx.gpu(0))
    assert g.context == mx.gpu(0) and g.as_in_context(mx.gpu(0)) is g
    np.testing.assert_array_equal((g * 2).copyto(mx.cpu()).asnumpy(), a.asnumpy() * 2)
    back = mx.nd.zeros((2, 3))
    g.copyto(back)
    np.testing.assert_array_equal(back.asnumpy(), a.asnumpy())


def _small_lenet():
    data = mx.sym.Variable('data')
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=4, name='conv1')
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type='tanh'), pool_type='max',
                         kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Convolution(net, kernel=(3, 3), num_filter=6, name='conv2')
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type='tanh'), pool_type='max',
                         kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(net), num_hidden=16,
                                                  name='fc1'), act_type='tanh')
    net = mx.sym.FullyConnected(net, num_hidden=3, name='fc2')
    return mx.sym.SoftmaxOutput(net, name='softmax')


def test_module_trains_lenet_alike_on_cpu_and_gpu(G):
    """Two epochs of Module.fit (SGD with momentum) from the same initial weights end at the
    same weights and accuracy on both devices."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 3, 32).astype(np.float32)
    results = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        mx.random.seed(0)
        np.random.seed(0)
        mod = mx.mod.Module(_small_lenet(), context=ctx)
        mod.fit(mx.io.NDArrayIter(X, y, batch_size=8), num_epoch=2, optimizer='sgd',
                optimizer_params={'learning_rate': 0.1, 'momentum': 0.9},
                initializer=mx.init.Xavier())
        params = {k: v.asnumpy() for k, v in mod.get_params()[0].items()}
        results.append((params, mod.score(mx.io.NDArrayIter(X, y, batch_size=8), 'acc')))
    (cpu_params, cpu_score), (gpu_params, gpu_score) = results
    assert cpu_score == gpu_score
    for name, value in cpu_params.items():
        np.testing.assert_allclose(gpu_params[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize('name', sorted(mx.optimizer.Optimizer.opt_registry))
def test_every_optimizer_updates_alike_on_cpu_and_gpu(G, name):
    """Three updates of each registered optimizer (with weight decay and clipping where it
    takes them) move a GPU weight as they move the same CPU weight."""
    w0, grads = rand((5, 7)), [rand((5, 7)) for _ in range(3)]
    results = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        try:
            opt = mx.optimizer.create(name, learning_rate=0.05, wd=0.01, clip_gradient=0.5,
                                      rescale_grad=0.7)
        except TypeError:
            opt = mx.optimizer.create(name, learning_rate=0.05)
        weight = mx.nd.array(w0, ctx=ctx)
        state = opt.create_state(0, weight)
        for g in grads:
            opt.update(0, weight, mx.nd.array(g, ctx=ctx), state)
        results.append(weight.asnumpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
