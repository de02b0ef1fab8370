"""Elementwise math and data movement on the GPU, all through one generated strided kernel.

:func:`run_expression` launches the kernel :mod:`~mxref.backend.gpu.codegen` writes for an
expression, reading each operand through a :class:`~mxref.backend.gpu.buffer.View`.  Because a
view may have any strides (0 for broadcast axes, negative for reversed slices), the
"data movement" functions are expressions too: ``transpose`` is ``out = x`` with ``x`` seen
through permuted strides, ``tile`` and ``repeat`` read ``x`` through stride-0 axes, ``concat``
writes each input into a window of ``out``.  Only a batched 2-D transpose has its own
(shared-memory tiled) kernel, in ``transpose.cu``.
"""
import numpy as np

from ...base import MXNetValueError
from . import codegen, geometry, runtime, sources
from .buffer import DeviceBuffer, View, coalesce

__all__ = ['run_expression', 'elementwise', 'store', 'transpose', 'strided_slice',
           'strided_slice_backward', 'concat', 'split', 'tile', 'repeat', 'as_view',
           'new_buffer', 'fill']


def as_view(value):
    """A View of a DeviceBuffer (Views pass through)."""
    if isinstance(value, View):
        return value
    if isinstance(value, DeviceBuffer):
        return View.of(value)
    raise MXNetValueError('expected a GPU buffer, got %s' % type(value).__name__)


def new_buffer(shape, dtype):
    """An uninitialised buffer on the current device."""
    dtype = np.dtype(dtype)
    sources.c_type(dtype)                         # reject unsupported types early
    shape = tuple(int(n) for n in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    ptr, owner = runtime.allocate(nbytes)
    return DeviceBuffer(shape, dtype, ptr, runtime.current_device(), owner)


def _kernel_for(spec):
    key = ('elementwise',) + spec.key()
    kernel = runtime.cached_kernel(key, codegen.KERNEL_NAME)
    if kernel is None:
        kernel = runtime.get_kernel(key, lambda: sources.kernel_source(
            'elementwise', body=codegen.elementwise_source(spec)), codegen.KERNEL_NAME)
    return kernel


def run_expression(expr, out, req, inputs):
    """``out (req)= expr(**inputs)`` elementwise; ``out`` and array inputs are Views or buffers.

    An input that shares memory with ``out`` but is laid out differently (a shifted or
    transposed window of it) is first copied, so the result is as if every value were
    computed before any is stored, as on the CPU.
    """
    if req == 'null':
        return
    if req not in ('write', 'add'):
        raise MXNetValueError("elementwise: req must be 'write', 'add' or 'null', got %r"
                              % (req,))
    out = as_view(out)
    if out.size == 0:
        return
    runtime.ensure_current(out.buf.device_id)
    views = {}
    for name, value in inputs.items():
        if isinstance(value, (DeviceBuffer, View)):
            value = as_view(value)
            if value.buf.device_id != out.buf.device_id:
                raise MXNetValueError(
                    "elementwise '%s': input '%s' is on gpu(%d) but the output is on gpu(%d)"
                    % (expr, name, value.buf.device_id, out.buf.device_id))
            if value.size and value.overlaps(out):
                try:
                    aligned = value.broadcast_to(out.shape)
                except MXNetValueError:
                    aligned = None
                if aligned is None or not aligned.same_elements(out):
                    copy = new_buffer(value.shape, value.dtype)
                    run_expression('x', copy, 'write', {'x': value})
                    value = View.of(copy)
        views[name] = value
    spec, args, n = codegen.plan_elementwise(expr, out, req, views)
    blocks, threads = geometry.grid_1d(n, runtime.sm_count())
    runtime.launch(_kernel_for(spec), blocks, threads, args)


def elementwise(expr, out, req, **inputs):
    """out (req)= expr evaluated elementwise; inputs broadcast against ``out``'s shape.

    ``inputs`` maps the names used in ``expr`` to GPU buffers or Python scalars, e.g.
    ``elementwise('dy * y * (1 - y)', dx, 'write', dy=dy, y=y)``.
    """
    run_expression(expr, out, req, inputs)


def store(out, value, req):
    """Honour ``req`` when putting ``value`` (GPU buffer or scalar, broadcastable) into ``out``."""
    run_expression('v', out, req, {'v': value})


def fill(out, value):
    """Every element of ``out`` (a buffer) set to ``value``: a driver memset when the value's
    bytes repeat with the element size (1, 2 or 4 bytes), else the elementwise kernel."""
    if out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    cuda = runtime.cuda
    pattern = np.array(value).astype(out.dtype)
    if out.dtype.itemsize in (1, 2, 4):
        word = int(pattern.view({1: np.uint8, 2: np.uint16, 4: np.uint32}[out.dtype.itemsize]))
        setter = {1: cuda.memset_d8, 2: cuda.memset_d16, 4: cuda.memset_d32}[out.dtype.itemsize]
        setter(out.ptr, word, out.size)
    elif not pattern.any():
        cuda.memset_d8(out.ptr, 0, out.nbytes)
    else:
        run_expression('v', out, 'write', {'v': pattern.item()})


# ----------------------------------------------------------------------------------------------
# moving data around (views + the copy kernel)
# ----------------------------------------------------------------------------------------------
def transpose(x, axes, out, req):
    """out (req)= x with its axes permuted (``axes[i]`` is the input axis of output axis i).

    A permutation that, after merging axes, swaps the last two axes of a batch of matrices runs
    the tiled kernel of ``transpose.cu`` (reads and writes both coalesced); any other goes
    through the strided copy.
    """
    if req == 'null' or out.size == 0:
        return
    view = View.of(x).permute(axes)
    shape, (ostr, istr) = coalesce(view.shape, [View.of(out).strides, view.strides])
    if len(shape) in (2, 3) and istr[-2] == 1 and istr[-1] == shape[-2] and \
            (len(shape) == 2 or istr[0] == shape[1] * shape[2]):
        batch = shape[0] if len(shape) == 3 else 1
        rows, cols = shape[-2:]                       # of the output
        runtime.ensure_current(out.device_id)
        kernel = runtime.file_kernel('transpose.cu', 'transpose_batched', x.dtype)
        # the kernel tiles the *input* (batch, cols, rows): x over its columns, y over its rows
        grid = (geometry.ceil_div(rows, 32), geometry.ceil_div(cols, 32), min(batch, 65535))
        runtime.launch(kernel, grid, (32, 8), [x.ptr, out.ptr, batch, cols, rows,
                                                int(req == 'add')])
        return
    run_expression('x', out, req, {'x': view})


def _slice_view(x, begin, end, step):
    view = View.of(x)
    for axis, (b, e, s) in enumerate(zip(begin, end, step)):
        view = view.slice(axis, b, e, s)
    return view


def strided_slice(x, begin, end, step, out, req):
    """out (req)= x[begin:end:step] per axis (begin/end/step are full-length tuples)."""
    run_expression('x', out, req, {'x': _slice_view(x, begin, end, step)})


def strided_slice_backward(dy, begin, end, step, dx, req):
    """dx (req)= zeros with dy scattered into the slice [begin:end:step]."""
    if req == 'null':
        return
    if req == 'write':
        fill(dx, 0)
    run_expression('x', _slice_view(dx, begin, end, step), 'add', {'x': dy})


def concat(xs, axis, out, req):
    """out (req)= the buffers ``xs`` joined along ``axis``."""
    start = 0
    for x in xs:
        size = x.shape[axis]
        run_expression('x', View.of(out).slice(axis, start, start + size, 1), req, {'x': x})
        start += size


def split(x, axis, outs, reqs):
    """outs[i] (reqs[i])= the i-th piece of x cut along ``axis`` to the pieces' own sizes
    (a piece whose ``out`` has one axis fewer is squeezed)."""
    start = 0
    for out, req in zip(outs, reqs):
        squeezed = out.ndim != x.ndim
        size = 1 if squeezed else out.shape[axis]
        piece = View.of(x).slice(axis, start, start + size, 1)
        if squeezed:
            piece = piece.index(axis, 0)
        run_expression('x', out, req, {'x': piece})
        start += size


def tile(x, reps, out, req):
    """out (req)= x repeated ``reps`` times along each axis (NumPy's tile).

    Seen as a view: x of shape (n0, n1, ...) read as (r0, n0, r1, n1, ...) with stride 0 on
    every r axis, which is ``out`` reshaped.
    """
    reps = tuple(int(r) for r in reps)
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    view = View.of(x)
    for _ in range(ndim - x.ndim):
        view = view.insert_axis(0)
    for axis in range(ndim):
        view = view.insert_axis(2 * axis, reps[axis], 0)
    run_expression('x', View.of(out).reshape(view.shape), req, {'x': view})


def repeat(x, repeats, axis, out, req):
    """out (req)= each element of x repeated ``repeats`` times along ``axis`` (None: flattened).

    x is read through an extra stride-0 axis right after ``axis``.
    """
    view = View.of(x)
    if axis is None:
        view = view.reshape((x.size,))
        axis = 0
    axis %= max(view.ndim, 1)
    view = view.insert_axis(axis + 1, int(repeats), 0)
    run_expression('x', View.of(out).reshape(view.shape), req, {'x': view})
