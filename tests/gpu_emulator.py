"""A host stand-in for the CUDA device, to test the GPU backend's Python half without a GPU.

What it replaces, inside :func:`emulated_gpu`: PyCUDA (memory is a NumPy byte array in host
memory; memcpy/memset act on it) and the device that runs the kernels, in one of two modes:

* ``'numpy'``: each kernel name maps to a NumPy function below that computes what the ``.cu``
  file's header comment says the kernel computes (fast; checks everything that feeds kernels);
* ``'threads'``: the *real* CUDA source of each module is compiled for the host by g++ with
  ``cuda_host_emulation.h`` (threads, barriers and warp shuffles on std::thread) and run, so
  the kernels' own indexing, tiling and synchronisation are executed and compared with NumPy.
  What stays real: every line of ``mxref.backend.gpu`` — views, strides,
axis merging, reduction plans, index cleaning, launch geometry, and the packing of arguments,
which are bound *by name* to the parameters parsed from the real CUDA source and packed with
the real struct format (so an argument in the wrong place or of the wrong type fails here as it
would on a device).  Emulators also check that the launch grid covers the work.

It cannot find bugs inside the CUDA code (those need a GPU: tests marked ``gpu``); it finds
bugs in everything that feeds the kernels.
"""
import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile

import numpy as np

from mxref.backend import exprs
from mxref.backend.gpu import runtime, sources

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_HEADER = os.path.join(HERE, 'cuda_host_emulation.h')


def _cuda_include():
    """The CUDA toolkit's include folder (for cuda_fp16.h), or None."""
    candidates = [os.path.join(os.environ[v], 'include') for v in ('CUDA_HOME', 'CUDA_PATH')
                  if os.environ.get(v)]
    if shutil.which('nvcc'):
        candidates.append(os.path.join(os.path.dirname(os.path.dirname(
            os.path.realpath(shutil.which('nvcc')))), 'include'))
    candidates.append('/usr/local/cuda/include')
    return next((c for c in candidates if os.path.exists(os.path.join(c, 'cuda_fp16.h'))), None)


CUDA_INCLUDE = _cuda_include()
CTYPE_DTYPES = {c: d for d, c in sources.C_TYPES.items()}


# ----------------------------------------------------------------------------------------------
# Philox4x32-10 in NumPy (the reference for the CUDA version; see test_cuda_sources.py)
# ----------------------------------------------------------------------------------------------
def philox4x32_10(ctr, key0, key1):
    """ctr: uint32 array (..., 4); returns the four output words (uint32, same shape)."""
    ctr = np.asarray(ctr, dtype=np.uint64).copy()
    k0, k1 = np.uint64(key0), np.uint64(key1)
    mask = np.uint64(0xFFFFFFFF)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * ctr[..., 0]
        p1 = np.uint64(0xCD9E8D57) * ctr[..., 2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & mask
        hi1, lo1 = p1 >> np.uint64(32), p1 & mask
        ctr = np.stack([hi1 ^ ctr[..., 1] ^ k0, lo1, hi0 ^ ctr[..., 3] ^ k1, lo0], axis=-1)
        k0 = (k0 + np.uint64(0x9E3779B9)) & mask
        k1 = (k1 + np.uint64(0xBB67AE85)) & mask
    return ctr.astype(np.uint32)


def _philox_blocks(count, key0, key1, stream):
    blocks = np.arange(count, dtype=np.uint64)
    ctr = np.stack([blocks & np.uint64(0xFFFFFFFF), blocks >> np.uint64(32),
                    np.full(count, stream & 0xFFFFFFFF, np.uint64),
                    np.full(count, stream >> 32, np.uint64)], axis=-1)
    return philox4x32_10(ctr, key0, key1)


# ----------------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------------
class Heap:
    """Device memory: a host byte array; pointers are its real addresses (so that compiled
    kernels can use them)."""

    def __init__(self, size=1 << 28):
        raw = np.zeros(size + 256, dtype=np.uint8)
        skip = (-raw.ctypes.data) % 256
        self.bytes = raw[skip:skip + size]
        self.base = self.bytes.ctypes.data
        self.top = 0
        self.free_blocks = {}            # rounded size -> [pointers], like a memory pool

    def allocate(self, nbytes):
        """(pointer, owner): the block returns to the heap when the owner is collected."""
        size = -(-nbytes // 256) * 256
        held = self.free_blocks.get(size)
        if held:
            ptr = held.pop()
        else:
            ptr = self.base + self.top
            self.top += size
            if self.top > self.bytes.size:
                raise MemoryError('emulated GPU heap exhausted')
        return ptr, _Block(self, ptr, size)

    def elements(self, dtype, ptr):
        """(the heap as a dtype array, the element index of ``ptr``)."""
        dtype = np.dtype(dtype)
        offset = ptr - self.base
        assert ptr >= self.base and offset % dtype.itemsize == 0, 'bad pointer %#x' % ptr
        return self.bytes.view(dtype), offset // dtype.itemsize

    def array(self, dtype, ptr, count):
        """A writable view of ``count`` elements at ``ptr``."""
        mem, start = self.elements(dtype, ptr)
        assert start + count <= mem.size, 'access past the emulated heap'
        return mem[start:start + count]


class _Block:
    """Owns one heap block (the role of PyCUDA's pooled allocation)."""
    __slots__ = ('heap', 'ptr', 'size')

    def __init__(self, heap, ptr, size):
        self.heap, self.ptr, self.size = heap, ptr, size

    def __del__(self):
        self.heap.free_blocks.setdefault(self.size, []).append(self.ptr)


class FakeCuda:
    """The parts of ``pycuda.driver`` the backend uses."""

    class Error(Exception):
        pass

    class MemoryError(Error):
        pass

    class CompileError(Error):
        pass

    def __init__(self, heap):
        self.heap = heap

    def memcpy_htod(self, ptr, host):
        host = np.ascontiguousarray(host)
        self.heap.array(np.uint8, ptr, host.nbytes)[...] = host.reshape(-1).view(np.uint8)

    def memcpy_dtoh(self, host, ptr):
        host.reshape(-1).view(np.uint8)[...] = self.heap.array(np.uint8, ptr, host.nbytes)

    def memcpy_dtod(self, dst, src, nbytes):
        self.heap.array(np.uint8, dst, nbytes)[...] = self.heap.array(np.uint8, src, nbytes).copy()

    def _memset(self, dtype, ptr, value, count):
        self.heap.array(dtype, ptr, count)[...] = value

    def memset_d8(self, ptr, value, count):
        self._memset(np.uint8, ptr, value, count)

    def memset_d16(self, ptr, value, count):
        self._memset(np.uint16, ptr, value, count)

    def memset_d32(self, ptr, value, count):
        self._memset(np.uint32, ptr, value, count)


class FakeDevice:
    def __init__(self):
        self.device_id = 0
        self.kernels = {}
        self.sm_count = 2                 # small: grid-stride loops and splits get exercised
        self.name = 'emulated GPU'
        self.capability = (9, 0)


class FakeKernel:
    """A "compiled" kernel: parameters parsed from the real source; launching packs the
    arguments with the real format and runs the NumPy emulation bound by parameter name."""

    def __init__(self, name, params, source, heap, mode='numpy'):
        self.mode = mode
        self.name = name
        self.params = params
        self.source = source
        self.heap = heap
        self.mx_format = ''.join(fmt for _, _, fmt in params)
        self.mx_count = sources.argument_count(self.mx_format)
        self.mx_name = name
        self.typedefs = {}
        for ctype, alias in re.findall(r'typedef\s+([\w ]+?)\s+(\w+);',
                                       sources._COMMENTS.sub(' ', source)):
            self.typedefs.setdefault(alias, ctype)

    def prepared_call(self, grid, block, *args, shared_size=0):
        struct.pack('@' + self.mx_format, *args)          # the types must pack as on a device
        values, i = {}, 0
        for ctype, pname, fmt in self.params:
            count = sources.argument_count(fmt)
            values[pname] = args[i] if count == 1 else list(args[i:i + count])
            i += count
        assert all(g >= 1 for g in grid) and all(b >= 1 for b in block)
        assert block[0] * block[1] * block[2] <= 1024, 'too many threads per block'
        assert grid[1] <= 65535 and grid[2] <= 65535, 'grid too large in y or z'
        if self.mode == 'threads':
            run = host_library(self.source, self.params_by_kernel)['mx_run_' + self.name]
            run(*grid, *block, struct.pack('@' + self.mx_format, *args))
        else:
            EMULATIONS[self.name](self, values, grid, block)

    # helpers for the emulations
    def dtype(self, alias='real_t'):
        return CTYPE_DTYPES[self.typedefs[alias]]

    def accum(self):
        return CTYPE_DTYPES[self.typedefs['accum_t']]

    def mem(self, dtype, ptr):
        return self.heap.elements(dtype, ptr)


def _dims(values):
    ndim = values[0]
    return tuple(values[1:1 + ndim]), tuple(values[9:9 + ndim])


def _offsets(shape, strides):
    """Element offsets of every position of (shape, strides), in C order."""
    result = np.zeros(shape, dtype=np.int64)
    for axis, (n, s) in enumerate(zip(shape, strides)):
        result += (np.arange(n, dtype=np.int64) * s).reshape(
            [n if i == axis else 1 for i in range(len(shape))])
    return result.reshape(-1)


def _put(target, value, accumulate):
    """target[...] (=|+=) value in NumPy's types (the kernels' mx_store semantics)."""
    if accumulate:
        acc = np.result_type(target.dtype, value.dtype)
        value = target.astype(acc) + value.astype(acc)
    return value.astype(target.dtype)


# ----------------------------------------------------------------------------------------------
# the kernels
# ----------------------------------------------------------------------------------------------
def emulate_elementwise(k, v, grid, block):
    expr = re.search(r'// out \((\w+)\)= (.*)', k.source)
    req, expr = expr.group(1), expr.group(2)
    compute = re.search(r'const ([\w ]+?) v_\w+ = ', k.source)
    arrays = [(pname[3:], ctype[:-1]) for ctype, pname, _ in k.params
              if pname.startswith('in_') and ctype.endswith('*')]
    scalars = [(pname[2:], ctype) for ctype, pname, _ in k.params if pname.startswith('s_')]
    compute = CTYPE_DTYPES[compute.group(1)] if compute else None
    out_ctype = [c for c, p, _ in k.params if p == 'out'][0][:-1]
    d = sum(1 for _, p, _ in k.params if p.startswith('out_stride'))
    shape_tail = [v['shape%d' % i] for i in range(1, d)]
    n = v['n']
    shape = (n // max(int(np.prod(shape_tail)), 1),) + tuple(shape_tail) if n else (0,)
    assert int(np.prod(shape)) == n
    covered = grid[0] * block[0]
    assert covered >= 1
    inputs = {}
    for name, ctype in arrays:
        mem, start = k.mem(CTYPE_DTYPES[ctype], v['in_' + name])
        offs = _offsets(shape, [v['in_%s_stride%d' % (name, i)] for i in range(d)])
        inputs[name] = mem[start + offs].astype(compute)
    for name, ctype in scalars:
        inputs[name] = np.array(v['s_' + name], dtype=CTYPE_DTYPES[ctype])[()]
    namespace = exprs.numpy_namespace()
    with np.errstate(all='ignore'):
        value = np.asarray(eval(expr, namespace, dict(inputs)))
    value = np.broadcast_to(value, (n,))
    mem, start = k.mem(CTYPE_DTYPES[out_ctype], v['out'])
    offs = start + _offsets(shape, [v['out_stride%d' % i] for i in range(d)])
    with np.errstate(all='ignore'):
        mem[offs] = _put(mem[offs], value, req == 'add')


def emulate_transpose(k, v, grid, block):
    dt = k.dtype()
    b, r, c = v['batch'], v['rows'], v['cols']
    assert grid[0] * 32 >= c and grid[1] * 32 >= r, 'transpose grid does not cover the matrix'
    x = k.heap.array(dt, v['x'], b * r * c).reshape(b, r, c)
    y = k.heap.array(dt, v['y'], b * r * c).reshape(b, c, r)
    y[...] = _put(y, x.transpose(0, 2, 1), v['accumulate'])


def emulate_gather_flat(k, v, grid, block):
    data, start = k.mem(k.dtype(), v['data'])
    pos = k.heap.array(np.int64, v['positions'], v['n'])
    k.heap.array(k.dtype(), v['packed'], v['n'])[...] = data[start + pos]


def emulate_scatter_flat(k, v, grid, block):
    data, start = k.mem(k.dtype(), v['data'])
    pos = k.heap.array(np.int64, v['positions'], v['n'])
    data[start + pos] = k.heap.array(k.dtype(), v['packed'], v['n'])


def _lines_of(k, ptr, outer, size, inner):
    return k.heap.array(k.dtype(), ptr, outer * size * inner).reshape(outer, size, inner)


def emulate_take(k, v, grid, block):
    a = _lines_of(k, v['a'], v['outer'], v['size'], v['inner'])
    idx = k.heap.array(np.int64, v['idx'], v['count'])
    assert idx.size == 0 or (idx.min() >= 0 and idx.max() < v['size']), 'index out of range'
    out = _lines_of(k, v['out'], v['outer'], v['count'], v['inner'])
    out[...] = _put(out, a[:, idx, :], v['accumulate'])


def emulate_pick(k, v, grid, block):
    x = _lines_of(k, v['x'], v['outer'], v['size'], v['inner'])
    idx = k.heap.array(np.int64, v['idx'], v['outer'] * v['inner']).reshape(v['outer'], 1, v['inner'])
    assert idx.min() >= 0 and idx.max() < v['size'], 'index out of range'
    out = k.heap.array(k.dtype(), v['out'], v['outer'] * v['inner']).reshape(v['outer'], 1, v['inner'])
    out[...] = _put(out, np.take_along_axis(x, idx, axis=1), v['accumulate'])


def emulate_pick_backward(k, v, grid, block):
    dx = _lines_of(k, v['dx'], v['outer'], v['size'], v['inner'])
    idx = k.heap.array(np.int64, v['idx'], v['outer'] * v['inner']).reshape(v['outer'], 1, v['inner'])
    dy = k.heap.array(k.dtype(), v['dy'], v['outer'] * v['inner']).reshape(v['outer'], 1, v['inner'])
    current = np.take_along_axis(dx, idx, axis=1)
    np.put_along_axis(dx, idx, _put(current, dy, v['accumulate']), axis=1)


def emulate_one_hot(k, v, grid, block):
    idx = k.heap.array(np.int64, v['idx'], v['positions'])
    out = k.heap.array(k.dtype(), v['out'], v['positions'] * v['depth']).reshape(-1, v['depth'])
    hot = idx[:, None] == np.arange(v['depth'])[None, :]
    out[...] = np.where(hot, v['on_value'], v['off_value']).astype(out.dtype)


def emulate_take_backward(k, v, grid, block):
    da = _lines_of(k, v['da'], v['outer'], v['size'], v['inner'])
    idx = k.heap.array(np.int64, v['idx'], v['count'])
    assert idx.size == 0 or (idx.min() >= 0 and idx.max() < v['size']), 'index out of range'
    dy = _lines_of(k, v['dy'], v['outer'], v['count'], v['inner'])
    moved = np.moveaxis(da, 1, 0)
    acc = moved.astype(np.result_type(da.dtype, k.accum()))
    np.add.at(acc, idx, np.moveaxis(dy, 1, 0).astype(acc.dtype))
    moved[...] = acc.astype(da.dtype)


_KINDS = {0: 'sum', 1: 'mean', 2: 'prod', 3: 'max', 4: 'min', 5: 'nansum', 6: 'nanprod',
          7: 'l1', 8: 'l2'}


def _prepare(kind, x):
    if kind == 'nansum':
        return np.where(np.isnan(x), 0, x) if x.dtype.kind == 'f' else x
    if kind == 'nanprod':
        return np.where(np.isnan(x), 1, x) if x.dtype.kind == 'f' else x
    if kind == 'l1':
        return np.abs(x)
    if kind == 'l2':
        return x * x
    return x


def _combine(kind, x, axis):
    if kind in ('prod', 'nanprod'):
        return np.prod(x, axis=axis)
    if kind == 'max':
        return np.max(x, axis=axis)
    if kind == 'min':
        return np.min(x, axis=axis)
    return np.sum(x, axis=axis)


def _reduce_partial(k, v, grid, covered):
    kind = _KINDS[v['kind']]
    kept, reduced = _dims(v['kept']), _dims(v['reduced'])
    n_out, n_red, chunk = v['n_out'], v['n_red'], v['chunk']
    splits = grid[1]
    assert covered >= n_out, 'the grid does not cover every output'
    assert splits * chunk >= n_red, 'the splits do not cover the reduction'
    mem, start = k.mem(k.dtype(), v['x'])
    positions = _offsets(*kept)[:, None] + _offsets(*reduced)[None, :]
    assert positions.shape == (n_out, n_red)
    x = _prepare(kind, mem[start + positions].astype(k.accum()))
    partial = k.heap.array(k.accum(), v['partial'], n_out * splits).reshape(n_out, splits)
    identity = {'prod': 1, 'nanprod': 1, 'max': -np.inf, 'min': np.inf}.get(kind, 0)
    for s in range(splits):
        piece = x[:, s * chunk:min(n_red, (s + 1) * chunk)]
        if piece.shape[1]:
            partial[:, s] = _combine(kind, piece, 1)
        else:
            partial[:, s] = identity if k.accum().kind == 'f' or identity in (0, 1) else (
                np.iinfo(np.int64).min if identity < 0 else np.iinfo(np.int64).max)


def emulate_reduce_groups(k, v, grid, block):
    per_block = 1 if v['whole_block'] else block[0] // 32
    _reduce_partial(k, v, grid, grid[0] * per_block)


def emulate_reduce_columns(k, v, grid, block):
    _reduce_partial(k, v, grid, grid[0] * block[0])


def emulate_reduce_finish(k, v, grid, block):
    kind = _KINDS[v['kind']]
    partial = k.heap.array(k.accum(), v['partial'], v['n_out'] * v['splits']).reshape(
        v['n_out'], v['splits'])
    acc = _combine(kind, partial, 1)
    if kind == 'mean':
        acc = acc / (acc.dtype.type(v['n_red']) if acc.dtype.kind == 'f' else float(v['n_red']))
    elif kind == 'l2':
        acc = np.sqrt(acc)
    out = k.heap.array(k.dtype(), v['out'], v['n_out'])
    acc = np.asarray(acc).astype(out.dtype)
    out[...] = _put(out, acc, v['accumulate'])


def emulate_argreduce_partial(k, v, grid, block):
    outer, size, inner, chunk = v['outer'], v['size'], v['inner'], v['chunk']
    lines, splits = outer * inner, grid[1]
    assert grid[0] * (block[0] // 32) >= lines and splits * chunk >= size
    x = _lines_of(k, v['x'], outer, size, inner).astype(k.accum())
    x = np.moveaxis(x, 1, 2).reshape(lines, size)
    pval = k.heap.array(k.accum(), v['pval'], lines * splits).reshape(lines, splits)
    pidx = k.heap.array(np.int64, v['pidx'], lines * splits).reshape(lines, splits)
    pick = np.argmax if v['is_max'] else np.argmin
    for s in range(splits):
        piece = x[:, s * chunk:min(size, (s + 1) * chunk)]
        if piece.shape[1] == 0:
            pidx[:, s] = np.iinfo(np.int64).max
            continue
        best = pick(piece, axis=1)
        pval[:, s] = piece[np.arange(lines), best]
        pidx[:, s] = best + s * chunk


def emulate_argreduce_finish(k, v, grid, block):
    lines, splits = v['n_lines'], v['splits']
    pval = k.heap.array(k.accum(), v['pval'], lines * splits).reshape(lines, splits)
    pidx = k.heap.array(np.int64, v['pidx'], lines * splits).reshape(lines, splits)
    result = k.heap.array(np.int64, v['result'], lines)
    pick = np.argmax if v['is_max'] else np.argmin
    valid = pidx != np.iinfo(np.int64).max
    vals = np.where(valid, pval, -np.inf if v['is_max'] else np.inf)
    result[...] = pidx[np.arange(lines), pick(vals, axis=1)]


def _softmax_math(x, temperature, log, axis):
    z = x / temperature
    z = z - z.max(axis=axis, keepdims=True)
    if log:
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_grad_math(y, dy, temperature, log, axis):
    if log:
        return (dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)) / temperature
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True)) / temperature


def _check_rows(v, grid, block):
    per_block = 1 if v['whole_block'] else block[0] // 32
    assert grid[0] * per_block >= 1


def emulate_softmax_rows(k, v, grid, block):
    _check_rows(v, grid, block)
    rows, n = v['rows'], v['n']
    x = k.heap.array(k.dtype(), v['x'], rows * n).reshape(rows, n).astype(k.accum())
    y = k.heap.array(k.dtype(), v['y'], rows * n).reshape(rows, n)
    y[...] = _put(y, _softmax_math(x, v['temperature'], v['log_softmax'], 1).astype(k.accum()),
                  v['accumulate'])


def emulate_softmax_rows_backward(k, v, grid, block):
    _check_rows(v, grid, block)
    rows, n = v['rows'], v['n']
    y = k.heap.array(k.dtype(), v['y'], rows * n).reshape(rows, n).astype(k.accum())
    dy = k.heap.array(k.dtype(), v['dy'], rows * n).reshape(rows, n).astype(k.accum())
    dx = k.heap.array(k.dtype(), v['dx'], rows * n).reshape(rows, n)
    dx[...] = _put(dx, _softmax_grad_math(y, dy, v['temperature'], v['log_softmax'], 1),
                   v['accumulate'])


def emulate_softmax_lines(k, v, grid, block):
    x = _lines_of(k, v['x'], v['outer'], v['n'], v['inner']).astype(k.accum())
    y = _lines_of(k, v['y'], v['outer'], v['n'], v['inner'])
    y[...] = _put(y, _softmax_math(x, v['temperature'], v['log_softmax'], 1), v['accumulate'])


def emulate_softmax_lines_backward(k, v, grid, block):
    y = _lines_of(k, v['y'], v['outer'], v['n'], v['inner']).astype(k.accum())
    dy = _lines_of(k, v['dy'], v['outer'], v['n'], v['inner']).astype(k.accum())
    dx = _lines_of(k, v['dx'], v['outer'], v['n'], v['inner'])
    dx[...] = _put(dx, _softmax_grad_math(y, dy, v['temperature'], v['log_softmax'], 1),
                   v['accumulate'])


def emulate_softmax_output_grad(k, v, grid, block):
    n, kk, s = v['n'], v['k'], v['s']
    acc = k.accum()
    prob = k.heap.array(k.dtype(), v['prob'], n * kk * s).reshape(n, kk, s).astype(acc)
    label = np.trunc(k.heap.array(k.dtype(), v['label'], n * s).reshape(n, 1, s).astype(acc))
    target = (label == np.arange(kk).reshape(1, kk, 1)).astype(acc)
    a = acc.type(v['smooth_alpha'])
    if a:
        target = target * (1 - a) + (1 - target) * (a / (kk - 1))
    g = prob - target
    if v['head']:
        g = g * k.heap.array(k.dtype(), v['head'], n * kk * s).reshape(n, kk, s).astype(acc)
    if v['use_ignore']:
        g = g * (label != np.trunc(acc.type(v['ignore_label'])))
    if v['valid_count']:
        divisor = max(k.heap.array(acc, v['valid_count'], 1)[0], 1)
    else:
        divisor = v['divisor']
    dx = k.heap.array(k.dtype(), v['dx'], n * kk * s).reshape(n, kk, s)
    dx[...] = _put(dx, (g * acc.type(v['grad_scale'] / divisor)).astype(acc), v['accumulate'])


def emulate_gemm(k, v, grid, block):
    v = dict(v, trans_a=k.name[5] == 't', trans_b=k.name[6] == 't')
    tile = 128 if k.dtype().itemsize == 4 else 64
    M, N, K = v['M'], v['N'], v['K']
    assert grid[0] * tile >= N and grid[1] * tile >= M, 'the GEMM grid does not cover C'
    assert block[0] == 256
    assert v['batch'] <= grid[2] or grid[2] == 65535
    dt = k.dtype()
    for b in range(v['batch']):
        mem, _ = k.mem(dt, k.heap.base)

        def matrix(ptr, stride, rows, ld, cols):
            _, start = k.mem(dt, ptr + b * stride * dt.itemsize)
            return np.lib.stride_tricks.as_strided(
                mem[start:], shape=(rows, cols), strides=(ld * dt.itemsize, dt.itemsize))
        A = matrix(v['A'], v['stride_a'], *((K, v['lda'], M) if v['trans_a'] else (M, v['lda'], K)))
        B = matrix(v['B'], v['stride_b'], *((N, v['ldb'], K) if v['trans_b'] else (K, v['ldb'], N)))
        A = A.T if v['trans_a'] else A
        B = B.T if v['trans_b'] else B
        C = matrix(v['C'], v['stride_c'], M, v['ldc'], N)
        value = v['alpha'] * (A.astype(np.float64) @ B.astype(np.float64))
        if v['beta']:
            value = value + v['beta'] * C
        C[...] = value.astype(dt)


def _emulate_random(kind):
    def emulate(k, v, grid, block):
        dt = k.dtype()
        n = v['n']
        out = k.heap.array(dt, v['out'], n)
        key0, key1, stream = v['key0'], v['key1'], v['stream']
        per = 2 if (kind == 'randint' or dt.itemsize == 8) else 4
        words = _philox_blocks(-(-n // per), key0, key1, stream).astype(np.uint64)
        if kind == 'randint':
            bits = np.stack([(words[:, 0] << np.uint64(32)) | words[:, 1],
                             (words[:, 2] << np.uint64(32)) | words[:, 3]], axis=1).reshape(-1)
            value = v['low'] + (bits % np.uint64(v['high'] - v['low'])).astype(np.int64)
        elif per == 4:
            u = ((words.reshape(-1) >> np.uint64(8)).astype(np.float32)
                 * np.float32(1.0 / 16777216.0))
            if kind == 'uniform':
                value = np.float32(v['low']) + np.float32(v['high'] - v['low']) * u
            else:
                u = u.reshape(-1, 2)
                radius = np.sqrt(np.float32(-2) * np.log(np.float32(1) - u[:, 0]))
                angle = 2 * np.pi * u[:, 1].astype(np.float64)
                value = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).reshape(-1)
                value = v['loc'] + v['scale'] * value
        else:
            u53 = ((words[:, 0::2] >> np.uint64(5)).astype(np.float64) * 67108864.0
                   + (words[:, 1::2] >> np.uint64(6)).astype(np.float64)) / 9007199254740992.0
            if kind == 'uniform':
                value = (v['low'] + (v['high'] - v['low']) * u53).reshape(-1)
            else:
                radius = np.sqrt(-2 * np.log(1 - u53[:, 0]))
                angle = 2 * np.pi * u53[:, 1]
                value = v['loc'] + v['scale'] * np.stack(
                    [radius * np.cos(angle), radius * np.sin(angle)], 1).reshape(-1)
        out[...] = np.asarray(value)[:n].astype(dt)
    return emulate


def _clip(g, bound):
    return np.minimum(np.maximum(g, -bound), bound) if bound > 0 else g


def emulate_sgd_update(k, v, grid, block):
    acc = k.accum()
    w = k.heap.array(k.dtype(), v['weight'], v['n'])
    g = _clip(acc.type(v['rescale_grad']) * k.heap.array(k.dtype(), v['grad'], v['n']).astype(acc),
              acc.type(v['clip_gradient']))
    lr, wd = acc.type(v['lr']), acc.type(v['wd'])
    w[...] = (w.astype(acc) * (1 - lr * wd) - lr * g).astype(w.dtype)


def emulate_sgd_mom_update(k, v, grid, block):
    acc = k.accum()
    w = k.heap.array(k.dtype(), v['weight'], v['n'])
    mom = k.heap.array(k.dtype(), v['mom'], v['n'])
    g = _clip(acc.type(v['rescale_grad']) * k.heap.array(k.dtype(), v['grad'], v['n']).astype(acc),
              acc.type(v['clip_gradient']))
    lr, wd = acc.type(v['lr']), acc.type(v['wd'])
    m = acc.type(v['momentum']) * mom.astype(acc) - lr * wd * w.astype(acc) - lr * g
    mom[...] = m.astype(mom.dtype)
    w[...] = (w.astype(acc) + m).astype(w.dtype)


def emulate_adam_update(k, v, grid, block):
    acc = k.accum()
    arr = {name: k.heap.array(k.dtype(), v[name], v['n']) for name in ('weight', 'grad', 'mean', 'var')}
    w = arr['weight'].astype(acc)
    g = _clip(acc.type(v['rescale_grad']) * arr['grad'].astype(acc) + acc.type(v['wd']) * w,
              acc.type(v['clip_gradient']))
    b1, b2 = acc.type(v['beta1']), acc.type(v['beta2'])
    m = b1 * arr['mean'].astype(acc) + (1 - b1) * g
    var = b2 * arr['var'].astype(acc) + (1 - b2) * g * g
    arr['mean'][...] = m.astype(arr['mean'].dtype)
    arr['var'][...] = var.astype(arr['var'].dtype)
    arr['weight'][...] = (w - acc.type(v['lr']) * m / (np.sqrt(var) + acc.type(v['epsilon']))
                          ).astype(arr['weight'].dtype)


def _conv_geometry(v):
    return (v['count'], v['channels'], v['height'], v['width'], v['kh'], v['kw'], v['out_h'],
            v['out_w'], v['sh'], v['sw'], v['ph'], v['pw'], v['dh'], v['dw'])


def _taps(v):
    """For every tap (i, j): the (oh, ow) grid's input rows/cols and their validity."""
    n, c, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw = _conv_geometry(v)
    for i in range(kh):
        for j in range(kw):
            ih = np.arange(oh) * sh - ph + i * dh
            iw = np.arange(ow) * sw - pw + j * dw
            yield i, j, ih, iw, ((ih >= 0) & (ih < h))[:, None] & ((iw >= 0) & (iw < w))[None, :]


def emulate_im2col(k, v, grid, block):
    n, c, h, w, kh, kw, oh, ow = _conv_geometry(v)[:8]
    x = k.heap.array(k.dtype(), v['x'], n * c * h * w).reshape(n, c, h, w)
    col = np.zeros((n, c, kh, kw, oh, ow), k.dtype())
    for i, j, ih, iw, valid in _taps(v):
        picked = x[:, :, np.clip(ih, 0, h - 1)[:, None], np.clip(iw, 0, w - 1)[None, :]]
        col[:, :, i, j] = np.where(valid, picked, 0)
    target = k.heap.array(k.dtype(), v['col'], col.size)
    target[...] = (col.reshape(-1) if v['layout'] == 0 else
                   np.moveaxis(col.reshape(n, c * kh * kw, oh * ow), 0, 1).reshape(-1))


def emulate_col2im(k, v, grid, block):
    n, c, h, w, kh, kw, oh, ow = _conv_geometry(v)[:8]
    col = k.heap.array(k.dtype(), v['col'], n * c * kh * kw * oh * ow).reshape(n, c, kh, kw, oh, ow)
    total = np.zeros((n, c, h + 1, w + 1), k.accum())          # row/col h, w: a dump for padding
    for i, j, ih, iw, valid in _taps(v):
        rows = np.where((ih >= 0) & (ih < h), ih, h)
        cols = np.where((iw >= 0) & (iw < w), iw, w)
        np.add.at(total, (slice(None), slice(None), rows[:, None], cols[None, :]),
                  col[:, :, i, j].astype(total.dtype))
    dx = k.heap.array(k.dtype(), v['dx'], n * c * h * w).reshape(n, c, h, w)
    dx[...] = _put(dx, total[:, :, :h, :w], v['accumulate'])


def _pool_views(k, v, x_name, y_name):
    planes, h, w, oh, ow = v['planes'], v['height'], v['width'], v['out_h'], v['out_w']
    x = k.heap.array(k.dtype(), v[x_name], planes * h * w).reshape(planes, 1, h, w)
    y = k.heap.array(k.dtype(), v[y_name], planes * oh * ow).reshape(planes, 1, oh, ow)
    return x, y, (v['kh'], v['kw']), (v['sh'], v['sw']), (v['ph'], v['pw'])


def emulate_pool_max_forward(k, v, grid, block):
    from mxref.backend import cpu
    x, y, kernel, stride, pad = _pool_views(k, v, 'x', 'y')
    argmax = (k.heap.array(np.int32, v['argmax'], y.size).reshape(y.shape) if v['argmax']
              else None)
    cpu.pool2d_forward(x, y, 'add' if v['accumulate'] else 'write', kernel, stride, pad, 'max',
                       argmax=argmax)


def emulate_pool_sum_forward(k, v, grid, block):
    from mxref.backend import cpu
    x, y, kernel, stride, pad = _pool_views(k, v, 'x', 'y')
    cpu.pool2d_forward(x, y, 'add' if v['accumulate'] else 'write', kernel, stride, pad,
                       'avg' if v['average'] else 'sum', bool(v['count_include_pad']))


def emulate_pool_max_backward(k, v, grid, block):
    from mxref.backend import cpu
    dx, dy, kernel, stride, pad = _pool_views(k, v, 'dx', 'dy')
    argmax = k.heap.array(np.int32, v['argmax'], dy.size).reshape(dy.shape)
    cpu.pool2d_backward(dy, argmax, dx, 'add' if v['accumulate'] else 'write', kernel, stride,
                        pad, 'max')


def emulate_pool_sum_backward(k, v, grid, block):
    from mxref.backend import cpu
    dx, dy, kernel, stride, pad = _pool_views(k, v, 'dx', 'dy')
    cpu.pool2d_backward(dy, None, dx, 'add' if v['accumulate'] else 'write', kernel, stride,
                        pad, 'avg' if v['average'] else 'sum', bool(v['count_include_pad']))


EMULATIONS = {
    'im2col': emulate_im2col, 'col2im': emulate_col2im,
    'pool_max_forward': emulate_pool_max_forward, 'pool_sum_forward': emulate_pool_sum_forward,
    'pool_max_backward': emulate_pool_max_backward,
    'pool_sum_backward': emulate_pool_sum_backward,
    'mx_elementwise': emulate_elementwise, 'transpose_batched': emulate_transpose,
    'gather_flat': emulate_gather_flat, 'scatter_flat': emulate_scatter_flat,
    'take': emulate_take, 'pick': emulate_pick, 'pick_backward': emulate_pick_backward,
    'one_hot': emulate_one_hot, 'take_backward': emulate_take_backward,
    'reduce_groups': emulate_reduce_groups, 'reduce_columns': emulate_reduce_columns,
    'reduce_finish': emulate_reduce_finish, 'argreduce_partial': emulate_argreduce_partial,
    'argreduce_finish': emulate_argreduce_finish, 'softmax_rows': emulate_softmax_rows,
    'softmax_rows_backward': emulate_softmax_rows_backward,
    'softmax_lines': emulate_softmax_lines,
    'softmax_lines_backward': emulate_softmax_lines_backward,
    'softmax_output_grad': emulate_softmax_output_grad, 'gemm_nn': emulate_gemm,
    'gemm_nt': emulate_gemm, 'gemm_tn': emulate_gemm, 'gemm_tt': emulate_gemm,
    'random_uniform': _emulate_random('uniform'), 'random_normal': _emulate_random('normal'),
    'random_randint': _emulate_random('randint'), 'sgd_update': emulate_sgd_update,
    'sgd_mom_update': emulate_sgd_mom_update, 'adam_update': emulate_adam_update,
}


# ----------------------------------------------------------------------------------------------
# mode 'threads': the real kernels compiled for the host
# ----------------------------------------------------------------------------------------------
_LIBRARIES = {}
_CACHE = os.path.join(tempfile.gettempdir(), 'mxref-host-kernels-%d' % os.getuid())


def _trampoline(name, params):
    """A C function that unpacks the struct-packed arguments and launches ``name``."""
    lines = ['extern "C" void mx_run_%s(unsigned gx, unsigned gy, unsigned gz, unsigned bx, '
             'unsigned by, unsigned bz, const char* args) {' % name]
    prefix = ''
    for i, (ctype, _, fmt) in enumerate(params):
        offset = struct.calcsize('@' + prefix + fmt) - struct.calcsize('@' + fmt)
        lines.append('  %s a%d; static_assert(sizeof(a%d) == %d, "size");'
                     % (ctype, i, i, struct.calcsize('@' + fmt)))
        lines.append('  std::memcpy(&a%d, args + %d, sizeof(a%d));' % (i, offset, i))
        prefix += fmt
    call = '%s(%s)' % (name, ', '.join('a%d' % i for i in range(len(params))))
    lines.append('  mx_emu_launch({gx, gy, gz}, {bx, by, bz}, [&] { %s; });' % call)
    lines.append('}')
    return '\n'.join(lines)


_FLAGS = ['-std=c++20', '-O1', '-fPIC', '-pthread', '-w']


def _precompiled_header():
    """The emulation header (with cuda_fp16.h and the C++ library) precompiled once: it is
    most of what each small kernel module costs to compile."""
    with open(HOST_HEADER) as f:
        header = f.read()
    folder = os.path.join(_CACHE, 'pch-' + hashlib.sha1(
        (header + ' '.join(_FLAGS) + str(CUDA_INCLUDE)).encode()).hexdigest()[:16])
    path = os.path.join(folder, 'cuda_host_emulation.h')
    if not os.path.exists(path + '.gch'):
        os.makedirs(folder, exist_ok=True)
        with open(path, 'w') as f:
            f.write(header)
        subprocess.run(['g++'] + _FLAGS + ['-I' + CUDA_INCLUDE, '-x', 'c++-header', path,
                                           '-o', path + '.gch.tmp'], check=True)
        os.replace(path + '.gch.tmp', path + '.gch')
    return path


def host_library(source, params_by_kernel):
    """{'mx_run_<kernel>': callable} of ``source`` compiled for the host (cached on disk)."""
    key = hashlib.sha1(source.encode()).hexdigest()
    if key in _LIBRARIES:
        return _LIBRARIES[key]
    header = _precompiled_header()
    text = source + '\n' + '\n'.join(_trampoline(n, p) for n, p in params_by_kernel.items())
    digest = hashlib.sha1((header + text).encode()).hexdigest()
    os.makedirs(_CACHE, exist_ok=True)
    library = os.path.join(_CACHE, digest + '.so')
    if not os.path.exists(library):
        src = os.path.join(_CACHE, digest + '.cpp')
        with open(src, 'w') as f:
            f.write(text)
        result = subprocess.run(
            ['g++'] + _FLAGS + ['-shared', '-I' + CUDA_INCLUDE, '-I' + sources.CUDA_DIR,
                                '-include', header, src, '-o', library + '.tmp'],
            capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError('host compilation failed:\n' + result.stderr[-5000:])
        os.replace(library + '.tmp', library)
    lib = ctypes.CDLL(library)
    functions = {}
    for name in params_by_kernel:
        function = getattr(lib, 'mx_run_' + name)
        function.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_char_p]
        function.restype = None
        functions['mx_run_' + name] = function
    _LIBRARIES[key] = functions
    return functions


def host_compiler_available():
    return shutil.which('g++') is not None and CUDA_INCLUDE is not None


@contextlib.contextmanager
def emulated_gpu(monkeypatch, mode='numpy'):
    """Within the block, ``mx.gpu(0)`` runs mxref's GPU backend on the emulated device."""
    heap = Heap()
    device = FakeDevice()
    fake = FakeCuda(heap)

    def allocate(nbytes):
        return heap.allocate(nbytes) if nbytes else (0, None)

    def get_kernel(module_key, source, name, typedefs=None):
        kernel = device.kernels.get((module_key, name))
        if kernel is None:
            source = source() if callable(source) else source
            params_by_kernel = sources.kernel_parameters(source, typedefs)
            for kname, params in params_by_kernel.items():
                assert kname in EMULATIONS, 'no emulation for kernel %s' % kname
                fake_kernel = FakeKernel(kname, params, source, heap, mode)
                fake_kernel.params_by_kernel = params_by_kernel
                device.kernels[(module_key, kname)] = fake_kernel
            kernel = device.kernels[(module_key, name)]
        return kernel

    def activate(device_id):
        if device_id != 0:
            from mxref.backend import GPUUnavailableError
            raise GPUUnavailableError('the emulated device is gpu(0) only')
        runtime._local.device = 0

    monkeypatch.setattr(runtime, 'cuda', fake)
    monkeypatch.setattr(runtime, '_devices', {0: device})
    monkeypatch.setattr(runtime, 'allocate', allocate)
    monkeypatch.setattr(runtime, 'get_kernel', get_kernel)
    monkeypatch.setattr(runtime, 'activate', activate)
    monkeypatch.setattr(runtime, 'device_count', lambda: 1)
    monkeypatch.setattr(runtime, 'synchronize', lambda: None)
    monkeypatch.setattr(runtime, 'empty_cache', lambda: None)
    from mxref.backend import gpu
    monkeypatch.setattr(gpu, 'activate', activate)
    monkeypatch.setattr(gpu, 'device_count', lambda: 1)
    previous = getattr(runtime._local, 'device', None)
    runtime._local.device = 0
    try:
        yield heap
    finally:
        runtime._local.device = previous
