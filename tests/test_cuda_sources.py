"""The GPU backend's CUDA sources and code generation, checked without a GPU.

* Pure-Python parts (expression translation, typing, views and axis merging, reduction plans,
  signature parsing) against NumPy.
* With ``nvcc`` on the PATH: every ``.cu`` file compiles to PTX for sm_80 and sm_90, in every
  type it is built for; every elementwise kernel the registered operators generate (recorded
  from a CPU run of each operator's test case, forward and backward, in float32 and float64)
  compiles; and the device math of ``common.cuh`` plus each table expression, compiled for the
  *host* by nvcc, computes what NumPy computes.  Philox4x32-10 is checked against the published
  Random123 known-answer vectors, in C++ and in the NumPy reference.

Nothing here runs on a GPU; ``test_gpu_backend.py`` does that where one is present.
"""
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mxref as mx
from mxref.backend import cpu, exprs
from mxref.backend.gpu import buffer, codegen, geometry, sources
from mxref.backend.gpu.buffer import DeviceBuffer, View, coalesce
from mxref.backend.gpu.memory import _basic_view, _positions
from mxref.backend.gpu.reduce import plan_reduction
from mxref.operator.elemwise import UNARY_MATH, BINARY_MATH, SCALAR_MATH
from mxref.operator.nn import LEAKY_FORMULAS

from gpu_emulator import philox4x32_10

NVCC = shutil.which('nvcc')
needs_nvcc = pytest.mark.skipif(NVCC is None, reason='nvcc is not on the PATH')
ARCHS = ('sm_80', 'sm_90')


def fake_buffer(shape, dtype, ptr=1 << 20):
    return DeviceBuffer(shape, dtype, ptr, 0, None)


# ----------------------------------------------------------------------------------------------
# pure Python: translation and typing
# ----------------------------------------------------------------------------------------------
def test_translation_maps_every_function_and_operator():
    for name in exprs.FUNCTIONS:
        args = ', '.join('x' for _ in range(codegen._ARITY[name]))
        assert codegen.translate('%s(%s)' % (name, args)) == 'mx_%s(%s)' % (
            name, ', '.join('v_x' for _ in range(codegen._ARITY[name])))
    assert codegen.translate('a / b % c ** 2') == 'mx_power(mx_mod(mx_truediv(v_a, v_b), v_c), 2)' \
        or codegen.translate('a / b % c ** 2') == 'mx_mod(mx_truediv(v_a, v_b), mx_power(v_c, 2))'
    assert codegen.translate('0 < x <= 1') == '((0 < v_x) && (v_x <= 1))'
    assert codegen.translate('-x + 2.5', 'double') == '((-v_x) + ((double)2.5))'
    assert codegen.translate('x * 3000000000') == '(v_x * 3000000000LL)'
    assert codegen.names_in('dy * y * (1 - y) + dy') == ['dy', 'y']


@pytest.mark.parametrize('expr,message', [
    ('foo(x)', "unknown function 'foo'"), ('exp(x, y)', 'exp takes 1'), ('x[0]', 'Subscript'),
    ('x if y else z', 'IfExp'), ('x and y', 'BoolOp'), ('exp', 'is a function'),
    ('x +', 'syntax error'), ('"a"', 'not a number'), ('x.y', 'Attribute')])
def test_translation_rejects_what_numpy_and_cuda_would_not_agree_on(expr, message):
    with pytest.raises(mx.base.MXNetValueError, match=re.escape(message)):
        codegen.translate(expr)


@pytest.mark.parametrize('arrays,scalars', [
    ([np.float32], [1.5]), ([np.int32], [1.5]), ([np.int32], [3]), ([np.float16], [2.0]),
    ([np.bool_, np.float32], []), ([np.int8, np.int32], [np.int32(2)]), ([np.float32],
                                                                         [np.float64(0.5)]),
    ([], [1.0]), ([np.uint8], [True])])
def test_computation_type_is_numpys_result_type(arrays, scalars):
    want = np.result_type(*[np.dtype(a) for a in arrays], *scalars)
    want = np.dtype(np.float32) if want == np.float16 else want
    assert codegen.compute_dtype(arrays, scalars) == want


# ----------------------------------------------------------------------------------------------
# pure Python: views, axis merging, indexing plans, reduction plans
# ----------------------------------------------------------------------------------------------
def _numpy_view_matches(view, array):
    """The View addresses exactly the elements NumPy's view ``array`` does."""
    base = array.base if array.base is not None else array
    while base.base is not None:
        base = base.base
    itemsize = array.itemsize
    assert view.shape == array.shape
    assert array.size == 0 or all(s * itemsize == t for n, s, t in zip(view.shape, view.strides, array.strides)
               if n > 1)
    if array.size:
        offset = (array.__array_interface__['data'][0] - base.__array_interface__['data'][0])
        assert view.offset * itemsize == offset


def test_views_follow_numpy_strides():
    rng = np.random.default_rng(0)
    for _ in range(200):
        shape = tuple(rng.integers(1, 6, size=rng.integers(1, 5)))
        host = np.zeros(shape, np.float32)
        view, array = View.of(fake_buffer(shape, np.float32)), host
        for _ in range(3):
            axis = int(rng.integers(0, view.ndim)) if view.ndim else 0
            op = rng.integers(0, 4)
            if op == 0 and view.ndim:
                start, stop = rng.integers(-6, 6, size=2)
                step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
                key = slice(int(start), int(stop), step)
                view = view.slice(axis, key.start, key.stop, key.step)
                array = array[(slice(None),) * axis + (key,)]
            elif op == 1 and view.ndim > 1:
                axes = tuple(rng.permutation(view.ndim))
                view, array = view.permute(axes), array.transpose(axes)
            elif op == 2 and view.ndim and view.shape[axis]:
                i = int(rng.integers(-view.shape[axis], view.shape[axis]))
                view = view.index(axis, i)
                array = array[(slice(None),) * axis + (i, Ellipsis)]
            elif op == 3:
                view = view.insert_axis(axis, 1, 0)
                array = np.expand_dims(array, axis)
        _numpy_view_matches(view, array)


def test_coalesce_keeps_every_offset():
    rng = np.random.default_rng(1)
    for _ in range(200):
        shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 6)))
        contiguous = buffer.contiguous_strides(shape)
        other = tuple(int(s) for s in rng.permutation(contiguous))
        broadcast = tuple(0 if rng.random() < 0.4 else s for s in contiguous)
        merged, strides = coalesce(shape, [contiguous, other, broadcast])
        for original, new in zip([contiguous, other, broadcast], strides):
            want = sum(np.indices(shape)[k] * s for k, s in enumerate(original)).reshape(-1)
            got = sum(np.indices(merged)[k] * s for k, s in enumerate(new)).reshape(-1)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('key', [(1,), (slice(None, None, -2), 0), (Ellipsis, None, 1),
                                 (np.array([2, 0]), slice(1, None)), (np.array([[True, False,
                                                                                   True]]),)])
def test_index_plans_follow_numpy(key):
    host = np.arange(60).reshape(3, 4, 5) if not isinstance(key[0], np.ndarray) or \
        key[0].dtype != bool else np.arange(12).reshape(1, 3, 4)
    buf = fake_buffer(host.shape, host.dtype)
    view = _basic_view(buf, key)
    want = host[key]
    if view is not None:
        got = host.reshape(-1)[view.offset + sum(
            np.indices(view.shape)[k] * s for k, s in enumerate(view.strides))] \
            if view.ndim else host.reshape(-1)[view.offset]
    else:
        got = host.reshape(-1)[_positions(buf, key)]
    np.testing.assert_array_equal(got, want)


def _dims_offsets(shape, strides):
    return sum(np.indices(shape)[k] * s for k, s in enumerate(strides)).reshape(-1)


def test_reduction_plans_visit_exactly_the_reduced_elements():
    rng = np.random.default_rng(2)
    for _ in range(100):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(1, 6)))
        axes = tuple(sorted(set(int(a) for a in rng.integers(0, len(shape),
                                                             size=rng.integers(1, 4)))))
        plan = plan_reduction(shape, axes, sm_count=2)
        positions = (_dims_offsets(*plan['kept'])[:, None]
                     + _dims_offsets(*plan['reduced'])[None, :])
        host = np.arange(int(np.prod(shape))).reshape(shape)
        keep = [a for a in range(len(shape)) if a not in axes]
        want = np.transpose(host, keep + list(axes)).reshape(plan['n_out'], plan['n_red'])
        np.testing.assert_array_equal(positions, want)
        assert plan['splits'] * plan['chunk'] >= plan['n_red']


def test_launch_geometry():
    assert geometry.grid_1d(1, 132) == (1, 256)
    assert geometry.grid_1d(0, 132) == (1, 256)
    assert geometry.grid_1d(256 * 5000, 132) == (132 * geometry.BLOCKS_PER_SM, 256)
    assert geometry.rows_geometry(10, 1024) == ('warp', 32)
    assert geometry.rows_geometry(10, 1025) == ('block', 256)


# ----------------------------------------------------------------------------------------------
# pure Python: kernel signatures
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('filename', sorted(sources.KERNEL_FILES))
def test_every_kernel_signature_can_be_packed(filename):
    for typedefs in sources.instances(filename):
        params = sources.kernel_parameters(sources.kernel_source(filename, typedefs))
        assert params, 'no kernels found in %s' % filename
        for name, plist in params.items():
            fmt = ''.join(f for _, _, f in plist)
            assert re.fullmatch(r'(P|17q|[fdiIqQ?bBhH])*', fmt), (name, fmt)


def test_signature_parsing():
    src = ('typedef double real_t;\n// extern "C" __global__ void commented(int a)\n'
           'extern "C" __global__ void __launch_bounds__(256) k(const real_t* __restrict__ x,'
           ' real_t s, mx_dims d, unsigned long long seed, int n)')
    assert sources.kernel_signatures(src) == {'k': 'Pd17qQi'}
    assert sources.argument_count('Pd17qQi') == 21
    with pytest.raises(mx.base.MXNetValueError, match='cannot pack'):
        sources.kernel_signatures('extern "C" __global__ void k(float2 v)')


def test_elementwise_arguments_match_the_generated_signature():
    out = View.of(fake_buffer((4, 5, 6), np.float32))
    inputs = {'x': View.of(fake_buffer((5, 1), np.float64, 1 << 21)).broadcast_to((4, 5, 6)),
              'y': View.of(fake_buffer((4, 5, 6), np.int32, 1 << 22)).permute((0, 1, 2)),
              'z': View.of(fake_buffer((6, 5, 4), np.float16, 1 << 23)).permute((2, 1, 0)),
              's': 2.5}
    for req in ('write', 'add'):
        spec, args, n = codegen.plan_elementwise('where(x > s, y, z) / s', out, req, inputs)
        source = sources.kernel_source('elementwise', body=codegen.elementwise_source(spec))
        fmt = sources.kernel_signatures(source)[codegen.KERNEL_NAME]
        assert sources.argument_count(fmt) == len(args) and n == 120
        import struct
        struct.pack('@' + fmt, *args)


# ----------------------------------------------------------------------------------------------
# Philox known answers (NumPy reference; the C++ version is checked with nvcc below)
# ----------------------------------------------------------------------------------------------
PHILOX_KAT = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
              ((0xffffffff,) * 4, (0xffffffff, 0xffffffff),
               (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
              ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
               (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]


def test_numpy_philox_reference_matches_random123():
    for ctr, key, want in PHILOX_KAT:
        assert tuple(int(w) for w in philox4x32_10(np.array(ctr), *key)) == want


# ----------------------------------------------------------------------------------------------
# nvcc: compile everything
# ----------------------------------------------------------------------------------------------
def _nvcc(args, cwd):
    result = subprocess.run([NVCC] + args, cwd=cwd, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def compile_ptx(named_sources, arch):
    """Compile {file name: source} to PTX in one nvcc run; return (returncode, output)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in named_sources.items():
            with open(os.path.join(tmp, name), 'w') as f:
                f.write(text)
        return _nvcc(['--ptx', '-arch=' + arch] + sorted(named_sources), tmp)


def _all_types_source(filename):
    """One translation unit holding every type instance of a kernel file (each in its own
    namespace, without extern "C" so the names do not clash): one nvcc run checks them all."""
    with open(os.path.join(sources.CUDA_DIR, filename)) as f:
        body = f.read()
    body = re.sub(r'^\s*#\s*include\s+"common.cuh"\s*$', '', body, flags=re.M)
    body = body.replace('extern "C" ', '')
    parts = ['#include "common.cuh"']
    for i, typedefs in enumerate(sources.instances(filename)):
        prologue = ''.join('typedef %s %s;\n' % (c, n) for n, c in sorted(typedefs.items()))
        parts.append('namespace instance_%d {\n%s%s\n}' % (i, prologue, body))
    return sources.kernel_source(filename, body='\n'.join(parts))


def _record_elementwise_specs():
    """Every elementwise kernel the registered operators and optimizers launch, as
    ElementwiseSpecs: each optimizer's update runs once, and each operator test case forward and
    backward, on the CPU (float32 and float64), and every call of the CPU backend's
    ``elementwise`` is turned into the spec the GPU would build."""
    import test_operator
    from test_gpu_backend import LOSS_SYMBOLS
    calls = []
    original = cpu.elementwise

    def recording(expr, out, req, **inputs):
        calls.append((expr, out.dtype, out.shape, req,
                      {k: (v.dtype, v.shape) if isinstance(v, np.ndarray) else v
                       for k, v in inputs.items()}))
        return original(expr, out, req, **inputs)

    cases = [(c.build, c.names, c.shapes, c.gen, c.is_train) for c in test_operator.CASES]
    for build, shapes in LOSS_SYMBOLS.values():
        names = ['data', 'label'][:len(shapes)]
        cases.append((build, names, shapes, [lambda s: np.random.uniform(0, 1, s)] * 2, True))
    cpu.elementwise = recording
    try:
        for name in sorted(mx.optimizer.Optimizer.opt_registry):    # every optimizer's update
            for kwargs in ({}, {'momentum': 0.9, 'clip_gradient': 1.0, 'wd': 0.01}):
                try:
                    opt = mx.optimizer.create(name, **kwargs)
                except TypeError:
                    opt = mx.optimizer.create(name)
                weight, grad = mx.nd.ones((3, 4)), mx.nd.ones((3, 4)) * 0.5
                opt.update(0, weight, grad, opt.create_state(0, weight))
        for build, names, shapes, gens, is_train in cases:
            for dtype in (np.float32, np.float64):
                sym = build(*[mx.sym.Variable(n) for n in names])
                args = {n: mx.nd.array(g(s), dtype=dtype) for n, g, s in zip(names, gens, shapes)}
                grads = {n: mx.nd.zeros(a.shape, dtype=dtype) for n, a in args.items()}
                _, _, aux_shapes = sym.infer_shape(**{n: a.shape for n, a in args.items()})
                aux = {n: mx.nd.ones(s, dtype=dtype)
                       for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
                ex = sym.bind(mx.cpu(), args, args_grad=grads, aux_states=aux or None)
                outs = ex.forward(is_train=True)
                ex.backward([mx.nd.ones(o.shape, dtype=o.dtype) for o in outs])
    finally:
        cpu.elementwise = original
    specs = {}
    for expr, out_dtype, out_shape, req, inputs in calls:
        views = {k: (View.of(fake_buffer(v[1], v[0])) if isinstance(v, tuple) else v)
                 for k, v in inputs.items()}
        if req == 'null':
            continue
        spec, _, _ = codegen.plan_elementwise(expr, View.of(fake_buffer(out_shape, out_dtype)),
                                              req, views)
        specs[spec.key()] = spec
    return list(specs.values())


def _table_specs():
    """The formula tables in every type family they can meet (float32/64, float16, int32)."""
    specs = {}
    shape = (3, 4)

    def add(expr, dtype, names, scalar_names=(), ndim=1, req='write'):
        if expr is None:                     # no gradient: the operator stores a zero
            return
        arrays = [(n, np.dtype(dtype)) for n in names]
        compute = codegen.compute_dtype([d for _, d in arrays],
                                        [dtype(1) if np.dtype(dtype).kind in 'iu' else 1.5
                                         for _ in scalar_names])
        spec = codegen.ElementwiseSpec(expr, dtype, arrays, list(scalar_names), compute, ndim,
                                       req)
        specs[spec.key()] = spec
    for dtype in (np.float32, np.float64, np.float16):
        for fwd, grad, _ in UNARY_MATH.values():
            add(fwd, dtype, ['x'])
            add(grad, dtype, codegen.names_in(grad) if grad else [], req='add')
        for fwd, ga, gb in BINARY_MATH.values():
            add(fwd, dtype, ['a', 'b'], ndim=3)
            add(ga, dtype, codegen.names_in(ga) if ga else [])
            add(gb, dtype, codegen.names_in(gb) if gb else [])
        for fwd, grad, _ in SCALAR_MATH.values():
            add(fwd, dtype, ['x'], ['s'])
            names = codegen.names_in(grad) if grad else []
            add(grad, dtype, [n for n in names if n != 's'], [n for n in names if n == 's'])
        for fwd, grad in LEAKY_FORMULAS.values():
            add(fwd, dtype, ['x'], [n for n in codegen.names_in(fwd) if n == 's'])
    for dtype in (np.int32, np.int64, np.uint8, np.bool_):
        for fwd, _, _ in BINARY_MATH.values():
            add(fwd, dtype, ['a', 'b'], ndim=2)
        for fwd, _, _ in SCALAR_MATH.values():
            add(fwd, dtype, ['x'], ['s'])
    del shape
    return list(specs.values())


def _elementwise_batch(specs):
    """All generated kernels in one translation unit (renamed apart)."""
    bodies = []
    for i, spec in enumerate(specs):
        body = codegen.elementwise_source(spec).replace(
            'void %s(' % codegen.KERNEL_NAME, 'void %s_%d(' % (codegen.KERNEL_NAME, i))
        bodies.append(body)
    return sources.kernel_source('elementwise-batch', body='\n'.join(bodies))


def _run_jobs(jobs):
    """Run {key: (arch, {file: source})} nvcc jobs in parallel; {key: (code, output)}."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {key: pool.submit(compile_ptx, named, arch)
                   for key, (arch, named) in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def _compile_jobs(file_archs, all_types_arch, elementwise_arch):
    jobs = {}
    for arch in file_archs:
        for fn in sources.KERNEL_FILES:
            jobs[('file', arch, fn)] = (arch, {fn: sources.kernel_source(
                fn, sources.typedefs_for('float32'))})
    for fn in sources.KERNEL_FILES:
        jobs[('all types', all_types_arch, fn)] = (all_types_arch, {fn: _all_types_source(fn)})
    specs = _record_elementwise_specs() + _table_specs()
    for part in range(2):
        jobs[('elementwise', elementwise_arch, part)] = (
            elementwise_arch, {'batch%d.cu' % part: _elementwise_batch(specs[part::2])})
    return jobs, len(specs)


@pytest.fixture(scope='module')
def compiled():
    """The nvcc runs of the fast tests, started together (they run in parallel): every file as
    shipped for sm_80 and sm_90 (float32), every type instance and every generated elementwise
    kernel for sm_90.  The sm_80 counterparts of the last two are in the slow test below."""
    if NVCC is None:
        pytest.skip('nvcc is not on the PATH')
    jobs, count = _compile_jobs(ARCHS, 'sm_90', 'sm_90')
    results = _run_jobs(jobs)
    results['spec count'] = count
    return results


def _failures(results, label, arch=None):
    return ['%s:\n%s' % (key, output[-3000:]) for key, (code, output) in
            ((k, v) for k, v in results.items() if isinstance(k, tuple))
            if key[0] == label and (arch is None or key[1] == arch)
            and (code != 0 or output.strip())]


@needs_nvcc
@pytest.mark.parametrize('arch', ARCHS)
def test_every_kernel_file_compiles(compiled, arch):
    """As shipped (float32 prologue), without a single warning (PyCUDA would repeat it)."""
    assert not _failures(compiled, 'file', arch)


@needs_nvcc
def test_every_type_instance_compiles(compiled):
    assert not _failures(compiled, 'all types')


@needs_nvcc
def test_every_generated_elementwise_kernel_compiles(compiled):
    assert compiled['spec count'] > 300
    assert not _failures(compiled, 'elementwise')


@needs_nvcc
@pytest.mark.slow
def test_every_type_instance_and_elementwise_kernel_compiles_for_sm80():
    jobs, _ = _compile_jobs((), 'sm_80', 'sm_80')
    results = _run_jobs(jobs)
    assert not _failures(results, 'all types') + _failures(results, 'elementwise')


# ----------------------------------------------------------------------------------------------
# nvcc: the device math, compiled for the host, against NumPy
# ----------------------------------------------------------------------------------------------
_C_LITERAL = {np.dtype(np.float32): lambda v: '%sf' % float(v).hex() if np.isfinite(v) else
              ('NAN' if np.isnan(v) else ('INFINITY' if v > 0 else '-INFINITY')),
              np.dtype(np.float64): lambda v: float(v).hex() if np.isfinite(v) else
              ('NAN' if np.isnan(v) else ('INFINITY' if v > 0 else '-INFINITY')),
              np.dtype(np.int32): lambda v: '%d' % v}


def _host_cases():
    """(expr, dtype, {name: values}, {scalar: value}) covering every table formula."""
    rng = np.random.default_rng(3)
    special = np.array([0.0, 0.5, -0.5, 1.5, -2.5, 2.5, 1.0, -1.0, 1e-3, 3.0])

    def floats(dtype, positive=False):
        values = np.concatenate([special, rng.uniform(-3, 3, 22)])
        values = np.abs(values) + 0.25 if positive else values
        return values.astype(dtype)
    cases = []
    for dtype in (np.float32, np.float64):
        for fwd, grad, _ in UNARY_MATH.values():
            for expr in (e for e in (fwd, grad) if e is not None):
                positive = 'gamma' in expr        # math.gamma refuses 0 and negative integers
                cases.append((expr, dtype, {n: floats(dtype, positive)
                                            for n in ('x', 'y', 'dy')}, {}))
        for fwd, grad in LEAKY_FORMULAS.values():
            for expr in (fwd, grad):
                cases.append((expr, dtype, {n: floats(dtype) for n in ('x', 'y', 'dy')},
                              {'s': 0.25}))
        for fwd, ga, gb in BINARY_MATH.values():
            for expr in (e for e in (fwd, ga, gb) if e is not None):
                cases.append((expr, dtype, {n: floats(dtype) for n in ('a', 'b', 'y', 'dy')}, {}))
        for fwd, grad, _ in SCALAR_MATH.values():
            for expr in (e for e in (fwd, grad) if e is not None):
                for s in (1.5, -0.7):
                    cases.append((expr, dtype, {n: floats(dtype) for n in ('x', 'y', 'dy')},
                                  {'s': s}))
    poles = np.array([0.0, -0.0, -1.0, -2.0, -2.5, -7.3, 1e-3, 0.5, 1.4616, 30.5, 171.7, 200.0,
                      np.inf, -np.inf, np.nan, -1e15 - 0.5])
    for dtype in (np.float32, np.float64):
        for expr in ('digamma(x)', 'lgamma(x)', 'tgamma(x)', 'erf(x)'):
            cases.append((expr, dtype, {'x': poles.astype(dtype)}, {}))
    ints = np.array([-7, -3, -1, 0, 1, 2, 3, 5, 8, 13, -13, 4], dtype=np.int32)
    for kind, (fwd, _, _) in BINARY_MATH.items():
        b = np.abs(ints[::-1]) % 4 if kind == 'power' else ints[::-1]
        cases.append((fwd, np.int32, {'a': ints, 'b': b.astype(np.int32)}, {}))
    for fwd, _, _ in SCALAR_MATH.values():
        for s in (3, -2):
            if 'power' in fwd and s < 0:
                continue
            x = np.abs(ints) if 'power(s' in fwd else ints
            cases.append((fwd, np.int32, {'x': x.astype(np.int32)}, {'s': np.int32(s)}))
    return cases


def _numpy_value(expr, dtype, arrays, scalars):
    inputs = dict(arrays)
    inputs.update({k: (v if np.dtype(dtype).kind == 'f' else dtype(v)) for k, v in scalars.items()})
    used = codegen.names_in(expr)
    out = np.zeros(len(next(iter(arrays.values()))), dtype=dtype)
    cpu.elementwise(expr, out, 'write', **{k: v for k, v in inputs.items() if k in used})
    return out


def _host_program(cases):
    lines = ['#include "common.cuh"', '#include <cstdio>', 'int main() {']
    for i, (expr, dtype, arrays, scalars) in enumerate(cases):
        used = codegen.names_in(expr)
        dt = np.dtype(dtype)
        ctype = sources.c_type(dt)
        n = len(next(iter(arrays.values())))
        compute = codegen.compute_dtype([dt for k in arrays if k in used],
                                        [v for k, v in scalars.items() if k in used])
        ct = sources.c_type(compute)
        lines.append('  { // case %d: %s' % (i, expr))
        for name in used:
            if name in arrays:
                lines.append('    const %s in_%s[%d] = {%s};' % (
                    ctype, name, n, ', '.join(_C_LITERAL[dt](v) for v in arrays[name])))
            else:
                lines.append('    const %s s_%s = %s;' % (ct, name, _C_LITERAL[
                    np.dtype(np.float64) if compute.kind == 'f' else np.dtype(np.int32)](
                        scalars[name])))
        lines.append('    for (int i = 0; i < %d; ++i) {' % n)
        for name in used:
            source = 'in_%s[i]' % name if name in arrays else 's_%s' % name
            lines.append('      const %s v_%s = mx_load<%s>(%s);' % (ct, name, ct, source))
        value = codegen.translate(expr, ct if compute.kind == 'f' else 'double')
        if dt.kind == 'f':
            lines.append('      printf("%%a\\n", (double)mx_store<%s>(%s));' % (ctype, value))
        else:
            lines.append('      printf("%%lld\\n", (long long)mx_store<%s>(%s));' % (ctype, value))
        lines += ['    }', '  }']
    lines += ['  return 0;', '}']
    return sources.kernel_source('host-check', body='\n'.join(lines))


@needs_nvcc
def test_device_math_computes_what_numpy_computes(tmp_path):
    """Each table formula, translated to C++ exactly as for a kernel and compiled for the host,
    gives NumPy's values (float32 within a few ulp, float64 within 1e-12, int32 exactly)."""
    cases = _host_cases()
    (tmp_path / 'check.cu').write_text(_host_program(cases))
    code, output = _nvcc(['-o', 'check', 'check.cu'], str(tmp_path))
    assert code == 0, output[-5000:]
    printed = subprocess.run([str(tmp_path / 'check')], capture_output=True, text=True,
                             check=True).stdout.split()
    position = 0
    for expr, dtype, arrays, scalars in cases:
        n = len(next(iter(arrays.values())))
        values = printed[position:position + n]
        position += n
        if np.dtype(dtype).kind == 'f':
            got = np.array([float.fromhex(v) if v not in ('nan', '-nan', 'inf', '-inf')
                            else float(v.replace('-nan', 'nan')) for v in values])
        else:
            got = np.array([int(v) for v in values])
        want = _numpy_value(expr, dtype, arrays, scalars).astype(np.float64)
        rtol = {np.dtype(np.float32): 3e-6, np.dtype(np.float64): 1e-12,
                np.dtype(np.int32): 0}[np.dtype(dtype)]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True,
                                   err_msg='%s (%s)' % (expr, np.dtype(dtype).name))
    assert position == len(printed)


@needs_nvcc
def test_cuda_philox_matches_random123(tmp_path):
    body = ['#include "common.cuh"', '#include <cstdio>', 'int main() {']
    for ctr, key, _ in PHILOX_KAT:
        body.append('  { mx_uint4 c = {%su, %su, %su, %su};' % ctr)
        body.append('    mx_uint4 r = mx_philox4x32_10(c, %su, %su);' % key)
        body.append('    printf("%x %x %x %x\\n", r.x, r.y, r.z, r.w); }')
    body += ['  printf("%.9g %.17g\\n", mx_uniform_float(0xffffffffu), '
             'mx_uniform_double(0xffffffffu, 0xffffffffu));', '  return 0;', '}']
    (tmp_path / 'philox.cu').write_text(sources.kernel_source('philox', body='\n'.join(body)))
    code, output = _nvcc(['-o', 'philox', 'philox.cu'], str(tmp_path))
    assert code == 0, output[-3000:]
    lines = subprocess.run([str(tmp_path / 'philox')], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for line, (_, _, want) in zip(lines, PHILOX_KAT):
        assert tuple(int(w, 16) for w in line.split()) == want
    top_float, top_double = (float(v) for v in lines[-1].split())
    assert top_float < 1.0 and top_double < 1.0 and top_float > 0.9999 and top_double > 0.9999
