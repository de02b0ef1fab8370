"""NDArray: an n-dimensional array on a device, and imperative operator calls.

An :class:`NDArray` holds a C-contiguous buffer of its context's backend (a NumPy array on the
CPU) and nothing else.  Arithmetic, ``mx.nd.exp(x)``, ``mx.nd.FullyConnected(...)`` all go
through :func:`invoke`, which runs one registered operator's ``forward`` on the buffers.

>>> import mxref as mx
>>> a = mx.nd.array([[1, 2], [3, 4]])
>>> (a * 2 + 1).asnumpy()
array([[3., 5.],
       [7., 9.]], dtype=float32)
>>> a[1]
<BLANKLINE>
[3. 4.]
<NDArray 2 @cpu(0)>
"""
import numbers

import numpy as np

from .. import backend
from .. import profiler as _profiler
from ..base import (MXNetError, MXNetIndexError, MXNetTypeError, MXNetValueError,
                    numeric_types)
from ..context import Context, current_context
from ..operator import get as get_op
from ..operator.calling import split_call, bind_inputs, check_no_missing
from ..operator.params import attr_string
from ..operator.shape import infer_reshape

__all__ = ['NDArray', 'invoke', 'array', 'empty', 'zeros', 'ones', 'full', 'arange',
           'waitall', 'from_buffer', 'concatenate', 'moveaxis']

_DEFAULT_DTYPE = np.float32


def _as_dtype(dtype):
    return np.dtype(_DEFAULT_DTYPE if dtype is None else dtype)


class NDArray:
    """An array on a device (``mx.cpu()`` or ``mx.gpu(i)``).

    Create one with :func:`array`, :func:`zeros`, :func:`ones`, ... rather than directly.
    Slicing the first axis (``a[1]``, ``a[2:5]``) and :meth:`reshape` give views that share
    memory with ``a``; any other indexing gives a copy.
    """
    __slots__ = ('_buf', '_ctx', 'writable', '__weakref__')
    __array_priority__ = 1000.0          # make NumPy defer to our reflected operators

    def __init__(self, buf, ctx=None, writable=True):
        self._buf = buf
        self._ctx = ctx if ctx is not None else current_context()
        self.writable = writable

    # ------------------------------------------------------------------ attributes
    @property
    def backend(self):
        return backend.get(self._ctx)

    @property
    def shape(self):
        """The shape as a tuple of ints."""
        return tuple(self._buf.shape)

    @property
    def dtype(self):
        """The element type as a NumPy type (``numpy.float32`` by default)."""
        return np.dtype(self._buf.dtype).type

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def context(self):
        """The device the array lives on."""
        return self._ctx

    ctx = context

    @property
    def stype(self):
        """Storage type; mxref has only dense (``'default'``) arrays."""
        return 'default'

    @property
    def T(self):
        """The transpose (all axes reversed)."""
        return invoke('transpose', [self], {})

    @property
    def handle(self):
        """The backend buffer (a NumPy array on the CPU)."""
        return self._buf

    # ------------------------------------------------------------------ conversion
    def asnumpy(self):
        """A NumPy copy of the data."""
        return self.backend.to_numpy(self._buf)

    def asscalar(self):
        """The single element as a NumPy scalar; raises unless the size is 1."""
        if self.size != 1:
            raise MXNetValueError('asscalar: the array must have exactly one element, it has '
                                  'shape %s' % (self.shape,))
        return self.asnumpy().reshape(())[()]

    def astype(self, dtype, copy=True):
        """A copy converted to ``dtype`` (``self`` itself if ``copy=False`` and nothing changes)."""
        dtype = np.dtype(dtype)
        if not copy and dtype == self._buf.dtype:
            return self
        out = empty(self.shape, self._ctx, dtype)
        self.backend.copy(self._buf, out._buf)
        return out

    def copy(self):
        """A deep copy on the same context."""
        return self.copyto(self._ctx)

    def copyto(self, other):
        """Copy into the NDArray ``other`` (returned), or into a new array on context ``other``."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            if other.shape != self.shape:
                raise MXNetValueError('copyto: shape mismatch, source %s vs destination %s'
                                      % (self.shape, other.shape))
            _copy_between(self, other)
            return other
        if isinstance(other, Context):
            out = empty(self.shape, other, self._buf.dtype)
            _copy_between(self, out)
            return out
        raise MXNetTypeError('copyto: expected an NDArray or a Context, got %s'
                             % type(other).__name__)

    def as_in_context(self, context):
        """``self`` if it already lives on ``context``, else a copy there."""
        return self if self._ctx == context else self.copyto(context)

    def wait_to_read(self):
        """Block until pending writes to this array are done."""
        self.backend.synchronize()

    def wait_to_write(self):
        self.backend.synchronize()

    def tostype(self, stype):
        if stype != 'default':
            raise MXNetValueError("tostype: only 'default' (dense) storage exists in mxref")
        return self

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape, **kwargs):
        """A view with a new shape; MXNet's codes 0, -1, -2, -3, -4 are understood.

        >>> import mxref as mx
        >>> mx.nd.zeros((2, 3, 4)).reshape((0, -1)).shape
        (2, 12)
        """
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if 'shape' in kwargs:
            shape = tuple(kwargs.pop('shape'))
        reverse = kwargs.pop('reverse', False)
        if kwargs:
            raise MXNetTypeError('reshape: unknown arguments %s' % sorted(kwargs))
        new_shape = infer_reshape(self.shape, shape, reverse, 'NDArray.reshape')
        return NDArray(self.backend.reshape(self._buf, new_shape), self._ctx, self.writable)

    def reshape_like(self, other):
        return self.reshape(other.shape)

    def __len__(self):
        return self.shape[0] if self.shape else 0

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
            return self._at(int(key))
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(self.shape[0])
            stop = max(start, stop)
            return NDArray(self.backend.rows(self._buf, start, stop), self._ctx, self.writable)
        buf = self.backend.getitem(self._buf, self._host_key(key))
        if buf.ndim == 0:
            buf = self.backend.reshape(buf, (1,))
        return NDArray(buf, self._ctx)

    def _at(self, index):
        """The view ``self[index]`` along the first axis (shape (1,) for a 1-D array)."""
        if not self.shape:
            raise MXNetIndexError('cannot index an NDArray without dimensions')
        length = self.shape[0]
        if not -length <= index < length:
            raise MXNetIndexError('index %d is out of bounds for axis 0 with size %d'
                                  % (index, length))
        index %= length
        view = self.backend.rows(self._buf, index, index + 1)
        if self.ndim > 1:
            view = self.backend.reshape(view, self.shape[1:])
        return NDArray(view, self._ctx, self.writable)

    def _host_key(self, key):
        """The index with NDArrays replaced by integer NumPy arrays (bounds checked)."""
        items = key if isinstance(key, tuple) else (key,)
        fixed = []
        for item in items:
            if isinstance(item, NDArray):
                item = item.asnumpy()
            if isinstance(item, (list, np.ndarray)):
                item = np.asarray(item)
                if item.dtype.kind == 'f':
                    item = item.astype(np.int64)
            fixed.append(item)
        try:
            np.empty(self.shape, dtype=np.bool_)[tuple(fixed)]   # validate without copying data
        except IndexError as err:
            raise MXNetIndexError('NDArray index %r is invalid for shape %s: %s'
                                  % (key, self.shape, err)) from None
        return tuple(fixed)

    def __setitem__(self, key, value):
        if not self.writable:
            raise MXNetValueError('this NDArray is read-only')
        if isinstance(value, NDArray):
            if value._ctx != self._ctx:
                value = value.as_in_context(self._ctx)
            value = value._buf
        elif isinstance(value, numeric_types):
            pass
        elif isinstance(value, (np.ndarray, list, tuple)):
            value = self.backend.from_numpy(np.asarray(value), self._buf.dtype)
        else:
            raise MXNetTypeError('NDArray.__setitem__: value must be a number, NDArray or '
                                 'array-like, got %s' % type(value).__name__)
        if isinstance(key, slice) and key == slice(None):
            key = Ellipsis
        try:
            self.backend.setitem(self._buf, Ellipsis if key is Ellipsis else self._host_key(key),
                                 value)
        except ValueError as err:
            raise MXNetValueError('NDArray.__setitem__: cannot assign a value of shape %s to '
                                  'index %r of an array of shape %s (%s)'
                                  % (getattr(value, 'shape', ()), key, self.shape, err)) from None

    # ------------------------------------------------------------------ arithmetic
    def _binary(self, other, array_op, scalar_op, reverse_scalar_op=None, reflected=False):
        if isinstance(other, NDArray):
            operands = [other, self] if reflected else [self, other]
            return invoke(array_op, operands, {})
        if isinstance(other, numeric_types) and not isinstance(other, np.ndarray):
            op = reverse_scalar_op if reflected else scalar_op
            return invoke(op, [self], {'scalar': other, 'is_int': _is_int(other)})
        raise MXNetTypeError("unsupported operand type for NDArray arithmetic: '%s' (use "
                             "mx.nd.array(...) to convert it)" % type(other).__name__)

    def _inplace(self, other, array_op, scalar_op):
        if not self.writable:
            raise MXNetValueError('this NDArray is read-only')
        if isinstance(other, NDArray):
            return invoke(array_op, [self, other], {}, out=self)
        if isinstance(other, numeric_types):
            return invoke(scalar_op, [self], {'scalar': other, 'is_int': _is_int(other)},
                          out=self)
        raise MXNetTypeError("unsupported operand type for NDArray arithmetic: '%s'"
                             % type(other).__name__)

    def __add__(self, other):
        return self._binary(other, 'broadcast_add', '_plus_scalar')

    def __radd__(self, other):
        return self._binary(other, 'broadcast_add', '_plus_scalar', '_plus_scalar', True)

    def __sub__(self, other):
        return self._binary(other, 'broadcast_sub', '_minus_scalar')

    def __rsub__(self, other):
        return self._binary(other, 'broadcast_sub', '_minus_scalar', '_rminus_scalar', True)

    def __mul__(self, other):
        return self._binary(other, 'broadcast_mul', '_mul_scalar')

    def __rmul__(self, other):
        return self._binary(other, 'broadcast_mul', '_mul_scalar', '_mul_scalar', True)

    def __truediv__(self, other):
        return self._binary(other, 'broadcast_div', '_div_scalar')

    def __rtruediv__(self, other):
        return self._binary(other, 'broadcast_div', '_div_scalar', '_rdiv_scalar', True)

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __mod__(self, other):
        return self._binary(other, 'broadcast_mod', '_mod_scalar')

    def __rmod__(self, other):
        return self._binary(other, 'broadcast_mod', '_mod_scalar', '_rmod_scalar', True)

    def __pow__(self, other):
        return self._binary(other, 'broadcast_power', '_power_scalar')

    def __rpow__(self, other):
        return self._binary(other, 'broadcast_power', '_power_scalar', '_rpower_scalar', True)

    def __neg__(self):
        return invoke('negative', [self], {})

    def __pos__(self):
        return self

    def __abs__(self):
        return invoke('abs', [self], {})

    def __iadd__(self, other):
        return self._inplace(other, 'broadcast_add', '_plus_scalar')

    def __isub__(self, other):
        return self._inplace(other, 'broadcast_sub', '_minus_scalar')

    def __imul__(self, other):
        return self._inplace(other, 'broadcast_mul', '_mul_scalar')

    def __itruediv__(self, other):
        return self._inplace(other, 'broadcast_div', '_div_scalar')

    __idiv__ = __itruediv__

    def __imod__(self, other):
        return self._inplace(other, 'broadcast_mod', '_mod_scalar')

    def __eq__(self, other):
        return self._binary(other, 'broadcast_equal', '_equal_scalar')

    def __ne__(self, other):
        return self._binary(other, 'broadcast_not_equal', '_not_equal_scalar')

    def __gt__(self, other):
        return self._binary(other, 'broadcast_greater', '_greater_scalar')

    def __ge__(self, other):
        return self._binary(other, 'broadcast_greater_equal', '_greater_equal_scalar')

    def __lt__(self, other):
        return self._binary(other, 'broadcast_lesser', '_lesser_scalar')

    def __le__(self, other):
        return self._binary(other, 'broadcast_lesser_equal', '_lesser_equal_scalar')

    def __hash__(self):
        return id(self) // 16

    def __bool__(self):
        if self.size == 1:
            return bool(self.asscalar())
        if self.size == 0:
            return False
        raise MXNetValueError('The truth value of an NDArray with multiple elements is '
                              'ambiguous.')

    def __float__(self):
        return float(self.asscalar())

    def __int__(self):
        return int(self.asscalar())

    # ------------------------------------------------------------------ display and pickling
    def __repr__(self):
        shape_info = 'x'.join('%d' % n for n in self.shape)
        return '\n%s\n<%s %s @%s>' % (self.asnumpy(), type(self).__name__, shape_info,
                                      self._ctx)

    def __reduce__(self):
        raise MXNetTypeError('NDArray cannot be pickled; use mx.nd.save / mx.nd.load')

    def __array__(self, dtype=None, copy=None):
        data = self.asnumpy()
        return data if dtype is None else data.astype(dtype)

    # ------------------------------------------------------------------ fluent methods
    def __getattr__(self, name):
        if name in _FLUENT:
            op_name = _FLUENT[name]

            def method(*args, **kwargs):
                return _call_function(op_name, (self,) + args, kwargs)
            method.__name__ = name
            method.__doc__ = 'Same as ``mx.nd.%s(self, ...)``.' % op_name
            return method
        raise AttributeError("'NDArray' object has no attribute '%s'" % name)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(_FLUENT))

    def broadcast_to(self, shape):
        """Broadcast to ``shape`` (a tuple)."""
        return invoke('broadcast_to', [self], {'shape': tuple(shape)})

    def zeros_like(self):
        return zeros(self.shape, self._ctx, self._buf.dtype)

    def ones_like(self):
        return ones(self.shape, self._ctx, self._buf.dtype)

    def attach_grad(self, grad_req='write', stype=None):
        raise MXNetError('attach_grad: mxref has no autograd; use Symbol and Executor')


# NDArray methods that call the operator of the same (or the listed) name with self first
_FLUENT = {name: name for name in (
    'sum', 'mean', 'max', 'min', 'prod', 'nansum', 'nanprod', 'norm', 'argmax', 'argmin',
    'exp', 'expm1', 'log', 'log1p', 'log2', 'log10', 'sqrt', 'rsqrt', 'cbrt', 'rcbrt',
    'square', 'reciprocal', 'abs', 'sign', 'round', 'rint', 'ceil', 'floor', 'trunc', 'fix',
    'sin', 'cos', 'tan', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'arcsinh',
    'arccosh', 'arctanh', 'degrees', 'radians', 'relu', 'sigmoid', 'softmax', 'log_softmax',
    'transpose', 'flatten', 'expand_dims', 'squeeze', 'swapaxes', 'tile', 'repeat', 'slice',
    'slice_axis', 'split', 'one_hot', 'take', 'pick', 'clip', 'broadcast_like', 'broadcast_axes',
    'broadcast_axis', 'dot', 'batch_dot')}
_FLUENT.update({'sum_axis': 'sum', 'max_axis': 'max', 'min_axis': 'min'})


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _copy_between(src, dst):
    """Copy src's data into dst; between device kinds the data goes through host memory."""
    if src.backend is dst.backend:
        src.backend.copy(src._buf, dst._buf)
    else:
        dst.backend.copy(dst.backend.from_numpy(src.asnumpy(), dst._buf.dtype), dst._buf)


# ----------------------------------------------------------------------------------------------
# running one operator imperatively
# ----------------------------------------------------------------------------------------------
_OP_CACHE = {}


def _cached_op(op_cls, attrs, ctx):
    """An operator instance for these (string) attributes on ``ctx``, made once."""
    key = (op_cls, tuple(sorted(attrs.items())), ctx)
    op = _OP_CACHE.get(key)
    if op is None:
        if len(_OP_CACHE) > 4096:
            _OP_CACHE.clear()
        op = _OP_CACHE[key] = op_cls(attrs).to(ctx)
    return op


def invoke(op, inputs, attrs, out=None, is_train=False):
    """Run operator ``op`` (a name or class) forward on NDArrays and return its outputs.

    ``attrs`` holds the parameters (Python values or strings).  The result is one NDArray, or
    a list when the operator has several visible outputs.  ``out`` receives the result
    instead of new arrays.
    """
    op_cls = get_op(op) if isinstance(op, str) else op
    ctx = inputs[0]._ctx if inputs else _context_attr(attrs.get('ctx'))
    for x in inputs:
        if x._ctx != ctx:
            raise MXNetValueError('%s: all inputs must be on one context, got %s and %s'
                                  % (op_cls.op_name, ctx, x._ctx))
    op = _cached_op(op_cls, {k: attr_string(v) for k, v in attrs.items()}, ctx)
    n_args = len(op.list_arguments())
    arg_bufs = [x._buf for x in inputs[:n_args]]
    aux_bufs = [x._buf for x in inputs[n_args:]]
    in_shapes, out_shapes, _ = op.infer_shape([b.shape for b in arg_bufs])
    for given, inferred, arg in zip(arg_bufs, in_shapes, op.list_arguments()):
        if inferred is not None and tuple(given.shape) != tuple(inferred):
            op.fail('%s has shape %s, expected %s' % (arg, given.shape, tuple(inferred)))
    in_types, out_types, _ = op.infer_type([b.dtype for b in arg_bufs])
    for given, inferred, arg in zip(arg_bufs, in_types, op.list_arguments()):
        if inferred is not None and np.dtype(inferred) != given.dtype:
            op.fail('%s is %s, expected %s (the inputs must agree; convert with astype)'
                    % (arg, given.dtype, np.dtype(inferred)), error=MXNetTypeError)
    for shape in out_shapes:
        if shape is None:
            op.fail('cannot infer the output shape from the inputs %s'
                    % [tuple(b.shape) for b in arg_bufs])
    n_visible = op.num_visible_outputs()
    given = out if isinstance(out, (list, tuple)) else ([] if out is None else [out])
    out_bufs, copy_back = [], []
    for i, (shape, dtype) in enumerate(zip(out_shapes, out_types)):
        if i < len(given) and given[i].shape != tuple(shape):
            op.fail('out has shape %s, the result has shape %s' % (given[i].shape, shape))
        if i < len(given) and given[i]._buf.dtype == np.dtype(dtype):
            buf = given[i]._buf                      # write straight into the caller's array
        else:
            buf = op.B.empty(shape, dtype)
            if i < len(given):
                copy_back.append((buf, given[i]._buf))
        out_bufs.append(buf)
    if _profiler.record_imperative:                 # one flag read when not profiling
        _profiler.time_operator(op_cls.op_name, ctx, op.B, op.forward, is_train,
                                ['write'] * len(out_bufs), arg_bufs, out_bufs, aux_bufs)
    else:
        op.forward(is_train, ['write'] * len(out_bufs), arg_bufs, out_bufs, aux_bufs)
    for buf, target in copy_back:
        op.B.copy(buf, target)
    if out is not None:
        return out
    results = [NDArray(b, ctx) for b in out_bufs[:n_visible]]
    return results[0] if n_visible == 1 else results


def _context_attr(text):
    """A ``ctx`` parameter such as ``'gpu(1)'`` as a Context (the current one when empty)."""
    if not text:
        return current_context()
    if isinstance(text, Context):
        return text
    name, _, rest = str(text).partition('(')
    return Context(name, int(rest.rstrip(')') or 0))


def _call_function(op_name, args, kwargs):
    """Body of every generated ``mx.nd.<Op>`` function."""
    op_cls = get_op(op_name)
    out = kwargs.pop('out', None)
    kwargs.pop('name', None)
    positional, keyword, attrs = split_call(op_cls, op_name, args, kwargs, NDArray)
    first = positional[0] if positional else next(iter(keyword.values()), None)
    ctx = first._ctx if first is not None else _context_attr(attrs.get('ctx'))
    op = _cached_op(op_cls, attrs, ctx)            # parsed once, reused by invoke
    slots = bind_inputs(op, positional, keyword)
    check_no_missing(op, slots, 'an NDArray call')
    return invoke(op_cls, slots, attrs, out=out)


# ----------------------------------------------------------------------------------------------
# creation
# ----------------------------------------------------------------------------------------------
def array(source_array, ctx=None, dtype=None):
    """An NDArray holding a copy of ``source_array`` (array-like or NDArray).

    The dtype is ``dtype``, else the source's when it is an NDArray, else float32 (also for
    NumPy arrays of other types, as MXNet does).
    """
    ctx = ctx or (source_array.context if isinstance(source_array, NDArray)
                  else current_context())
    if isinstance(source_array, NDArray):
        source = source_array.asnumpy()
    else:
        try:
            source = np.asarray(source_array)
        except (ValueError, TypeError) as err:
            raise MXNetTypeError('mx.nd.array: cannot convert %s to an array (%s)'
                                 % (type(source_array).__name__, err)) from None
        if source.dtype.kind not in 'biuf':
            raise MXNetTypeError('mx.nd.array: source must be numeric, got %r' % (source_array,))
    if dtype is None:
        dtype = source.dtype if isinstance(source_array, NDArray) else _DEFAULT_DTYPE
    if source.ndim == 0:
        source = source.reshape((1,))
    return NDArray(backend.get(ctx).from_numpy(source, np.dtype(dtype)), ctx)


def empty(shape, ctx=None, dtype=None):
    """An uninitialised NDArray."""
    ctx = ctx or current_context()
    return NDArray(backend.get(ctx).empty(_shape(shape), _as_dtype(dtype)), ctx)


def zeros(shape, ctx=None, dtype=None, **kwargs):
    """An NDArray of zeros (float32 unless ``dtype`` is given)."""
    ctx = ctx or current_context()
    return NDArray(backend.get(ctx).zeros(_shape(shape), _as_dtype(dtype)), ctx)


def ones(shape, ctx=None, dtype=None, **kwargs):
    """An NDArray of ones."""
    return full(shape, 1, ctx, dtype)


def full(shape, val, ctx=None, dtype=None, out=None):
    """An NDArray filled with ``val``."""
    if out is not None:
        out[:] = val
        return out
    ctx = ctx or current_context()
    return NDArray(backend.get(ctx).full(_shape(shape), val, _as_dtype(dtype)), ctx)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, ctx=None, dtype=None):
    """Evenly spaced values in [start, stop), each repeated ``repeat`` times.

    >>> import mxref as mx
    >>> mx.nd.arange(3).asnumpy()
    array([0., 1., 2.], dtype=float32)
    """
    return invoke('_arange', [], {'start': start, 'stop': stop, 'step': step, 'repeat': repeat,
                                  'infer_range': infer_range, 'dtype': _as_dtype(dtype),
                                  'ctx': ctx or current_context()})


def _shape(shape):
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(n, (numbers.Integral, np.integer)) for n in shape):
        raise MXNetTypeError('shape must be an int or a tuple of ints, got %r' % (shape,))
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise MXNetValueError('shape %s has a negative dimension' % (shape,))
    return shape


def waitall():
    """Wait for every pending computation on every device."""
    backend.get(current_context()).synchronize()
    if backend.num_gpus():
        for i in range(backend.num_gpus()):
            backend.get(Context('gpu', i)).synchronize()


def from_buffer(buf, ctx):
    """Wrap a backend buffer as an NDArray (no copy)."""
    return NDArray(buf, ctx)


def concatenate(arrays, axis=0, always_copy=True):
    """Join NDArrays along ``axis`` (MXNet's helper, same as ``mx.nd.concat(..., dim=axis)``)."""
    if not arrays:
        raise MXNetValueError('concatenate: needs at least one array')
    if len(arrays) == 1 and not always_copy:
        return arrays[0]
    return invoke('Concat', list(arrays), {'num_args': len(arrays), 'dim': axis})


def moveaxis(tensor, source, destination):
    """Move axis ``source`` to position ``destination`` (a transpose)."""
    axes = list(range(tensor.ndim))
    for axis in (source, destination):
        if not -tensor.ndim <= axis < tensor.ndim:
            raise MXNetValueError('moveaxis: axis %d is out of range for an array of %d '
                                  'dimensions' % (axis, tensor.ndim))
    source, destination = source % tensor.ndim, destination % tensor.ndim
    axes.pop(source)
    axes.insert(destination, source)
    return invoke('transpose', [tensor], {'axes': tuple(axes)})
