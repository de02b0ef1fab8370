"""Custom operators written in Python: MXNet's ``mx.operator.CustomOp``, ``CustomOpProp``,
``register("name")`` and the ``Custom`` operator.

A custom operator is two user classes.  A :class:`CustomOpProp` describes it (inputs, outputs,
shape and type inference) and makes a :class:`CustomOp`, which computes it with NDArrays::

    class Softmax(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            x = in_data[0].asnumpy()
            y = np.exp(x - x.max(axis=1, keepdims=True))
            self.assign(out_data[0], req[0], mx.nd.array(y / y.sum(axis=1, keepdims=True)))

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            y = out_data[0].asnumpy()
            y[np.arange(len(y)), in_data[1].asnumpy().astype(int)] -= 1
            self.assign(in_grad[0], req[0], mx.nd.array(y))

    @mx.operator.register('softmax')
    class SoftmaxProp(mx.operator.CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=False)      # a loss: no gradient from above
        def list_arguments(self):
            return ['data', 'label']
        def infer_shape(self, in_shape):
            return [in_shape[0], [in_shape[0][0]]], [in_shape[0]], []
        def create_operator(self, ctx, shapes, dtypes):
            return Softmax()

    net = mx.sym.Custom(fc, op_type='softmax', name='softmax')   # or mx.nd.Custom(x, y, ...)

How it plugs into mxref: ``Custom`` is an ordinary registered
:class:`~mxref.operator.base.Operator` (the class :class:`Custom` below).  Its one declared
parameter is ``op_type``; every other keyword given to ``mx.sym.Custom`` / ``mx.nd.Custom``
is kept as a string attribute (so it is written to symbol JSON, as MXNet does) and handed to
the prop's ``__init__`` as a string.  When the
operator is made from its attributes (on symbol creation, JSON loading, binding, or an NDArray
call) it looks ``op_type`` up in the registry of ``register("name")`` and makes the prop; its
``list_arguments``/``infer_shape``/``infer_type`` then simply ask the prop, translating
between MXNet's Python conventions (shapes as lists, ``[]`` for an unknown shape, dtypes as
NumPy types) and mxref's (tuples, ``None``).

The executor needs nothing special: it calls ``Custom.forward``/``backward`` on device buffers
like any operator's.  ``Custom`` wraps those buffers in NDArrays on the operator's context
(inputs read-only, outputs, input gradients and auxiliary states writable, as in MXNet), makes
the user's CustomOp with ``prop.create_operator`` the first time it runs with given input
shapes, and calls it inside ``with ctx:`` so that ``mx.nd.array(...)`` lands on the operator's
device.  A prop made with ``need_top_grad=False`` turns off ``uses_out_grad``, so the executor
asks no head gradient for its outputs: it is a loss layer, like ``SoftmaxOutput``.

Differences from MXNet:

* mxref keeps every tensor of the graph, so ``declare_backward_dependency`` is not consulted
  (MXNet uses it to free memory early).  Every argument of ``backward`` holds real data: the
  out_grad of a ``need_top_grad=False`` operator holds zeros (in MXNet it is an empty array);
  an input that needs no gradient (``req`` is ``'null'``) gets a scratch array.
* symbol attributes such as ``__ctx_group__`` or ``__lr_mult__`` are not passed to the prop's
  ``__init__`` (MXNet passes them, and a prop without ``**kwargs`` then crashes).
* the CustomOp made for given input shapes is reused by later NDArray calls with the same
  attributes and shapes (MXNet makes one per call).
"""
import logging

import numpy as np

from ..base import FLAG_OF_DTYPE, MXNetError, MXNetTypeError, MXNetValueError
from . import base
from .base import Operator
from .params import Param

__all__ = ['CustomOp', 'CustomOpProp', 'register', 'Custom', 'registered_op_types']

_PROPS = {}                 # op_type -> CustomOpProp subclass


class CustomOp:
    """Base class of a custom operator's computation (MXNet's ``mx.operator.CustomOp``).

    Override :meth:`forward` and :meth:`backward`.  Both receive lists of NDArrays and a list
    ``req`` of write requests, one per array they must fill; write with :meth:`assign`, which
    honours the request.
    """

    def __init__(self):
        pass

    def forward(self, is_train, req, in_data, out_data, aux):
        """Fill ``out_data`` (one NDArray per output) from ``in_data`` (one per argument).

        ``is_train`` tells training from inference; ``aux`` holds the auxiliary states, which
        forward may update in place.
        """
        raise NotImplementedError('%s must override forward' % type(self).__name__)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Fill ``in_grad`` (one NDArray per argument) from the gradient of the outputs
        ``out_grad`` and the forward's ``in_data`` and ``out_data``."""
        raise NotImplementedError('%s must override backward' % type(self).__name__)

    def assign(self, dst, req, src):
        """Write ``src`` (NDArray, NumPy array or number) into ``dst`` as ``req`` asks:
        ``'null'`` does nothing, ``'write'`` and ``'inplace'`` overwrite, ``'add'`` adds."""
        if req == 'null':
            return
        if req in ('write', 'inplace'):
            dst[:] = src
        elif req == 'add':
            dst[:] += src
        else:
            raise MXNetValueError("assign: req must be 'null', 'write', 'inplace' or 'add', "
                                  "got %r" % (req,))


class CustomOpProp:
    """Base class of a custom operator's description (MXNet's ``mx.operator.CustomOpProp``).

    Subclass it, register the subclass with ``@mx.operator.register("name")`` and use the
    operator as ``mx.sym.Custom(..., op_type="name")``.  Keywords given there (other than
    ``op_type`` and ``name``) reach ``__init__`` as strings.

    Parameters
    ----------
    need_top_grad : bool
        Whether ``backward`` needs the gradient arriving at the outputs.  False for a loss
        layer: the executor then needs no head gradient for it.
    """

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def list_arguments(self):
        """Names of the inputs; default ``['data']``."""
        return ['data']

    def list_outputs(self):
        """Names of the outputs; default ``['output']``."""
        return ['output']

    def list_auxiliary_states(self):
        """Names of the auxiliary states; default none."""
        return []

    def infer_shape(self, in_shape):
        """Return ``(input shapes, output shapes, auxiliary shapes)`` from ``in_shape`` (one
        list of ints per argument, ``[]`` where unknown).  Input shapes may be completed or
        changed (a label's shape from the data's).  Default: every output has the first
        input's shape, and there are no auxiliary states."""
        return in_shape, [in_shape[0]] * len(self.list_outputs()), []

    def infer_type(self, in_type):
        """Return ``(input types, output types, auxiliary types)`` from ``in_type`` (one NumPy
        type per argument, None where unknown).  Default: everything has the first input's."""
        return (in_type, [in_type[0]] * len(self.list_outputs()),
                [in_type[0]] * len(self.list_auxiliary_states()))

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        """Which of the forward's tensors ``backward`` uses (MXNet frees the others early).
        mxref keeps them all and does not call this; it is here for subclasses that call it."""
        deps = list(out_grad) if self.need_top_grad_ else []
        return deps + list(in_data) + list(out_data)

    def create_operator(self, ctx, shapes, dtypes):
        """Return the :class:`CustomOp` that computes this operator on context ``ctx``, for
        inputs (arguments, then auxiliary states) of ``shapes`` (lists of ints) and ``dtypes``
        (MXNet's type numbers: 0 is float32, 1 float64...)."""
        raise NotImplementedError('%s must override create_operator' % type(self).__name__)


def register(reg_name):
    """``mx.operator.register``: one name for two registries, told apart by the argument.

    * ``@register("name")`` with a **string**, as in MXNet: returns a class decorator that
      registers a :class:`CustomOpProp` subclass as the custom operator ``op_type="name"``
      (a later registration of the same name replaces the earlier one, with a warning, as
      in MXNet).
    * ``@register`` on an :class:`~mxref.operator.base.Operator` **subclass**: mxref's own
      decorator for built-in operators (:func:`mxref.operator.base.register`; the built-in
      operator modules import that one directly).

    >>> import mxref as mx
    >>> @mx.operator.register('doubled')
    ... class DoubledProp(mx.operator.CustomOpProp):
    ...     pass
    >>> 'doubled' in mx.operator.custom.registered_op_types()
    True
    """
    if isinstance(reg_name, type) and issubclass(reg_name, Operator):
        return base.register(reg_name)
    if not isinstance(reg_name, str):
        raise MXNetTypeError('mx.operator.register takes the name of a custom operator (a '
                             'string), as in @mx.operator.register("my_op"); got %r'
                             % (reg_name,))

    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise MXNetTypeError('mx.operator.register(%r) decorates a subclass of '
                                 'mx.operator.CustomOpProp, got %r' % (reg_name, prop_cls))
        if reg_name in _PROPS and _PROPS[reg_name] is not prop_cls:
            logging.warning('New registration is overriding existing custom operator %s',
                            reg_name)
        _PROPS[reg_name] = prop_cls
        _forget_cached_ops(reg_name)        # imperative calls must see the new prop
        return prop_cls
    return do_register


def _forget_cached_ops(op_type):
    """Drop the ``Custom`` instances ``mx.nd.Custom`` cached for ``op_type``: they hold a prop
    made from the registration they were built with."""
    from ..ndarray import ndarray as _nd
    for key, op in list(_nd._OP_CACHE.items()):
        if isinstance(op, Custom) and op.op_type == op_type:
            del _nd._OP_CACHE[key]


def registered_op_types():
    """The names registered with ``mx.operator.register("name")``, sorted."""
    return sorted(_PROPS)


def _is_symbol_attr(key):
    return key.startswith('__') and key.endswith('__')


def _shape_list(shape):
    """mxref's shape (tuple, None if unknown) as MXNet hands it to a prop: a list of ints."""
    return [] if shape is None else [int(d) for d in shape]


def _type_arg(dtype):
    """mxref's dtype as MXNet hands it to a prop's infer_type: a NumPy type, or None."""
    return None if dtype is None else np.dtype(dtype).type


@base.register
class Custom(Operator):
    """Apply the custom operator registered as ``op_type`` with
    ``@mx.operator.register(op_type)``.

    Inputs, in the order of the prop's ``list_arguments()``, are given positionally or by
    name; inputs not given become variables named ``<name>_<argument>`` (``softmax_label``).
    Every other keyword is passed to the prop's ``__init__`` as a string.  See
    :mod:`mxref.operator.custom`.
    """
    op_name = 'Custom'
    params = (Param('op_type', 'str', doc='the name the CustomOpProp was registered under'),)

    def __init__(self, attrs=None, name=None):
        attrs = dict(attrs or {})
        # Operator.__init__ parses op_type and the __symbol_attributes__; the rest is the prop's
        self.prop_kwargs = {k: str(v) for k, v in attrs.items()
                            if k != 'op_type' and not _is_symbol_attr(k)}
        super().__init__({k: v for k, v in attrs.items() if k not in self.prop_kwargs}, name)
        self.attrs = attrs

    def setup(self):
        prop_cls = _PROPS.get(self.op_type)
        if prop_cls is None:
            self.fail("no custom operator is registered as op_type '%s' (registered: %s); "
                      "register its CustomOpProp with @mx.operator.register('%s') before "
                      "using it or loading a symbol that does"
                      % (self.op_type, ', '.join(registered_op_types()) or 'none',
                         self.op_type), error=MXNetValueError)
        try:
            self.prop = prop_cls(**self.prop_kwargs)
        except TypeError as err:
            self.fail('%s(%s) failed: %s (keywords of Custom other than op_type and name are '
                      'passed to the prop, as strings)'
                      % (prop_cls.__name__, ', '.join('%s=%r' % kv for kv in
                                                      sorted(self.prop_kwargs.items())), err),
                      error=MXNetTypeError)
        self.uses_out_grad = bool(self.prop.need_top_grad_)
        self._ops = {}                  # (input shapes, dtypes) -> the prop's CustomOp
        self._scratch = {}              # (shape, dtype) -> NDArray for unwanted gradients

    def fail(self, message, error=MXNetValueError):
        """Raise ``error`` naming the node and its op_type in front of ``message``."""
        raise error("Custom '%s' (op_type '%s'): %s"
                    % (self.name, getattr(self, 'op_type', None), message))

    # ------------------------------------------------------------------ structure
    def list_arguments(self):
        return list(self.prop.list_arguments())

    def list_outputs(self):
        return list(self.prop.list_outputs())

    def list_auxiliary_states(self):
        return list(self.prop.list_auxiliary_states())

    # ------------------------------------------------------------------ inference
    def _ask_prop(self, what, given):
        """Call the prop's ``infer_shape``/``infer_type`` with ``given`` and check that it
        returns 2 or 3 lists of the right lengths; returns the three lists."""
        method = getattr(self.prop, 'infer_' + what)
        try:
            result = method(given)
        except Exception as err:
            self.fail('%s.infer_%s(%r) raised %s: %s'
                      % (type(self.prop).__name__, what, given, type(err).__name__, err),
                      error=MXNetError)
        if not isinstance(result, (list, tuple)) or len(result) not in (2, 3):
            self.fail('infer_%s must return 2 or 3 lists (input, output and optionally '
                      'auxiliary %ss), got %r' % (what, what, result))
        result = [list(r) for r in result] + ([[]] if len(result) == 2 else [])
        for values, kind, names in zip(result, ('input', 'output', 'auxiliary'),
                                       (self.list_arguments(), self.list_outputs(),
                                        self.list_auxiliary_states())):
            if len(values) != len(names):
                self.fail('infer_%s returned %d %s %ss, expected %d (%s)'
                          % (what, len(values), kind, what, len(names),
                             ', '.join(names) or 'none'))
        return result

    def infer_shape(self, in_shapes, partial=False):
        result = self._ask_prop('shape', [_shape_list(s) for s in in_shapes])
        return [[tuple(int(d) for d in s) if len(s) else None for s in shapes]
                for shapes in result]

    def infer_type(self, in_types):
        result = self._ask_prop('type', [_type_arg(t) for t in in_types])
        return [[None if t is None else np.dtype(t) for t in types] for types in result]

    # ------------------------------------------------------------------ compute
    def _custom_op(self, inputs):
        """The user's CustomOp for these input buffers (arguments then aux), made once."""
        key = tuple((tuple(b.shape), np.dtype(b.dtype).name) for b in inputs)
        op = self._ops.get(key)
        if op is None:
            op = self.prop.create_operator(self.ctx, [list(b.shape) for b in inputs],
                                           [FLAG_OF_DTYPE[np.dtype(b.dtype)] for b in inputs])
            if not isinstance(op, CustomOp):
                self.fail('%s.create_operator returned %r, expected a mx.operator.CustomOp'
                          % (type(self.prop).__name__, op), error=MXNetTypeError)
            self._ops[key] = op
        return op

    def _arrays(self, bufs, writable):
        from ..ndarray.ndarray import NDArray       # (mxref.ndarray imports this package)
        return [NDArray(b, self.ctx, writable) for b in bufs]

    def _gradient_array(self, buf, like):
        """An NDArray for one input gradient: ``buf``, or scratch space when the executor
        computes no gradient for that input (its req is 'null')."""
        if buf is not None:
            return self._arrays([buf], True)[0]
        key = (tuple(like.shape), np.dtype(like.dtype).name)
        if key not in self._scratch:
            self._scratch[key] = self._arrays([self.B.zeros(like.shape, like.dtype)], True)[0]
        return self._scratch[key]

    def forward(self, is_train, req, in_data, out_data, aux):
        op = self._custom_op(list(in_data) + list(aux))
        with self.ctx:
            op.forward(is_train=is_train, req=list(req), in_data=self._arrays(in_data, False),
                       out_data=self._arrays(out_data, True), aux=self._arrays(aux, True))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        op = self._custom_op(list(in_data) + list(aux))
        in_grad = [self._gradient_array(g, x) for g, x in zip(in_grad, in_data)]
        with self.ctx:
            op.backward(req=list(req), out_grad=self._arrays(out_grad, False),
                        in_data=self._arrays(in_data, False),
                        out_data=self._arrays(out_data, False), in_grad=in_grad,
                        aux=self._arrays(aux, True))

    def __repr__(self):
        return '<Custom %r op_type=%r>' % (self.name, self.op_type)

