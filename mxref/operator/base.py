"""The operator protocol and the registry every ``mx.nd.<Op>`` / ``mx.sym.<Op>`` is built from.

An operator is one class.  It declares its parameters, the names of its inputs and outputs,
how output shapes and types follow from input ones, and its ``forward`` and ``backward`` on
device buffers.  It never knows which device it runs on: it calls ``self.B``, the backend of
its context, which the caller sets with :meth:`Operator.to`.

The calling convention is MXNet's (``mx.operator.CustomOp``)::

    forward(is_train, req, in_data, out_data, aux)
    backward(req, out_grad, in_data, out_data, in_grad, aux)

``req[i]`` is ``'write'``, ``'add'`` or ``'null'`` for ``out_data[i]`` (forward) or
``in_grad[i]`` (backward); every backend function takes a ``req`` and honours it.
"""
from ..base import MXNetKeyError, MXNetValueError, MXNetTypeError
from .. import backend
from .params import parse_params

import numpy as np

__all__ = ['Operator', 'register', 'get', 'registered_names', 'shape_str', 'EmptyShape',
           'shape_is_complete', 'merge_shapes']

_REGISTRY = {}          # every name (canonical and alias) -> operator class
_CANONICAL = {}         # canonical name -> operator class


def register(cls):
    """Class decorator: make ``cls`` available under ``cls.op_name`` and its aliases.

    Aliases are read from the class itself, never inherited from a base operator.
    """
    if 'op_name' not in cls.__dict__:
        raise MXNetValueError('%s must set op_name' % cls.__name__)
    cls.aliases = tuple(cls.__dict__.get('aliases', ()))
    for name in (cls.op_name,) + cls.aliases:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise MXNetValueError('operator name %r registered twice' % name)
        _REGISTRY[name] = cls
    _CANONICAL[cls.op_name] = cls
    return cls


def get(name):
    """The operator class registered under ``name`` (canonical name or alias)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MXNetKeyError("operator '%s' is not implemented in mxref (see the 'coming from "
                            "MXNet' page of the docs for the list)" % name) from None


def registered_names():
    """Every registered name, canonical names and aliases, sorted."""
    return sorted(_REGISTRY)


def shape_str(shape):
    return 'unknown' if shape is None else str(tuple(shape))


# ----------------------------------------------------------------------------------------------
# Partial shapes
#
# MXNet 1.x writes an unknown dimension as 0: ``(0, 5)`` is "some batch size, 5 features", and
# ``()`` (or None here) a shape not known at all.  Operators such as ``slice(begin=1, end=1)``
# can however produce a *real* 0-sized dimension.  Inside shape inference such a known, empty
# shape is an :class:`EmptyShape`: a tuple whose zeros are sizes, not gaps.
# ----------------------------------------------------------------------------------------------
class EmptyShape(tuple):
    """A completely known shape with a 0-sized (empty) dimension, e.g. ``(0, 4)`` from
    ``slice(x, begin=(1,), end=(1,))`` on a (3, 4) input.

    A plain tuple's 0 means "unknown dimension" (MXNet's convention for partial shapes); the
    zeros of an EmptyShape are real.  It compares equal to, and prints like, the plain tuple
    (``infer_shape`` hands it to users, as MXNet reports such shapes as known).

    >>> shape_is_complete((0, 4)), shape_is_complete(EmptyShape((0, 4)))
    (False, True)
    """
    __slots__ = ()


def shape_is_complete(shape):
    """Whether every dimension of ``shape`` is known: it has dimensions and no 0, or it is an
    :class:`EmptyShape`.  ``()`` and None are how MXNet reports a wholly unknown shape."""
    if isinstance(shape, EmptyShape):
        return True
    return bool(shape) and 0 not in shape


def merge_shapes(a, b, op=None, arg='shape'):
    """Combine two descriptions of one shape, where a 0 marks an unknown dimension (and None
    an unknown shape); fail when they contradict.

    The zeros of an :class:`EmptyShape` are known sizes: merging keeps them, and a non-zero
    size against them is a contradiction.  ``op`` (an :class:`Operator`, or a string) and
    ``arg`` name what the shape belongs to in the error message.

    >>> merge_shapes((0, 5), (4, 0))
    (4, 5)
    >>> merge_shapes(None, (0, 5))
    (0, 5)
    >>> merge_shapes((3, 5), (4, 5), 'FullyConnected', 'data')
    Traceback (most recent call last):
    ...
    mxref.base.MXNetValueError: FullyConnected: data has shape (3, 5), which contradicts (4, 5)
    """
    if a is None or b is None:
        return b if a is None else a

    def conflict():
        where = op if isinstance(op, str) else (
            "%s '%s'" % (op.op_name, op.name) if op is not None else 'shape inference')
        raise MXNetValueError('%s: %s has shape %s, which contradicts %s'
                              % (where, arg, tuple(a), tuple(b)))

    if len(a) != len(b):
        conflict()
    known_a, known_b = isinstance(a, EmptyShape), isinstance(b, EmptyShape)
    merged, all_known = [], True
    for x, y in zip(a, b):
        x_known, y_known = x != 0 or known_a, y != 0 or known_b
        if x_known and y_known and x != y:
            conflict()
        merged.append(x if x_known else y)
        all_known = all_known and (x_known or y_known)
    return known_shape(merged) if all_known else tuple(merged)


def known_shape(shape):
    """``shape`` as a completely known shape: an :class:`EmptyShape` if it has a 0 (a real,
    empty dimension), else a plain tuple."""
    shape = tuple(int(d) for d in shape)
    return EmptyShape(shape) if 0 in shape else shape


class Operator:
    """Base class of all operators.

    Class attributes a subclass sets:

    ``op_name``
        MXNet's name, written to symbol JSON (``'FullyConnected'``).
    ``aliases``
        Other names it is called by (``'_Plus'``, ``'_plus'`` for ``elemwise_add``).
    ``params``
        A tuple of :class:`~mxref.operator.params.Param`.
    ``arguments``, ``outputs``, ``aux_states``
        Input, output and auxiliary-state names (override the ``list_*`` methods when they
        depend on parameters).
    ``num_args_param``
        For operators taking any number of inputs (``Concat``): the parameter holding the
        count, which ``mx.sym``/``mx.nd`` fill in from the number of inputs given.
    ``uses_out_grad``
        False for loss layers (and BlockGrad): their backward ignores the gradient arriving
        at their outputs, so an executor needs no head gradient for them.
    ``input_init``
        ``{input name: initializer JSON}`` set on input variables that have no ``__init__``
        (BatchNorm's moving_var starts at one).
    ``accepts_partial``
        True when :meth:`infer_shape` takes a ``partial`` flag and, with ``partial=True``,
        accepts partly known input shapes (0 marking an unknown dimension) and fills in what
        it can, as MXNet's ``infer_shape_partial`` does.  Other operators only ever see
        complete input shapes (or None for an unknown one).  The default elementwise rule
        accepts them; a subclass overriding :meth:`infer_shape` must set it again itself.
    ``gpu_kernel``
        False for operators that mxref computes on the CPU only (``topk``, ``sort``,
        ``argsort``): :meth:`to` refuses a GPU context for them with an error naming the
        operator, rather than copying data to the host behind the caller's back.
    """
    op_name = None
    aliases = ()
    params = ()
    arguments = ('data',)
    outputs = ('output',)
    aux_states = ()
    num_args_param = None
    uses_out_grad = True
    input_init = {}
    accepts_partial = True          # the default elementwise rule below does
    gpu_kernel = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # An operator with its own infer_shape sees partial shapes only if it says it can.
        if 'infer_shape' in cls.__dict__ and 'accepts_partial' not in cls.__dict__:
            cls.accepts_partial = False

    def __init__(self, attrs=None, name=None):
        self.attrs = dict(attrs or {})
        self.name = name or self.op_name
        for key, value in parse_params(self.op_name, self.name, self.params, self.attrs).items():
            setattr(self, key, value)
        self.ctx = None
        self.B = None
        if self.num_args_param and getattr(self, self.num_args_param) < 1:
            self.fail('needs at least one input (%s=%d)'
                      % (self.num_args_param, getattr(self, self.num_args_param)))
        self.setup()

    def setup(self):
        """Hook for subclasses: validate parameters, precompute constants."""

    def to(self, ctx):
        """Choose the device this operator computes on; returns self."""
        if not self.gpu_kernel and ctx.device_type == 'gpu':
            self.fail('has no GPU kernel in mxref: it runs on mx.cpu() only, got %s (copy the '
                      'input with as_in_context(mx.cpu()) or bind this part of the graph on '
                      'the CPU)' % (ctx,), error=NotImplementedError)
        self.ctx = ctx
        self.B = backend.get(ctx)
        return self

    # ------------------------------------------------------------------ structure
    def list_arguments(self):
        return list(self.arguments)

    def list_outputs(self):
        """All outputs, including hidden ones (MXNet counts them in ``node_row_ptr``)."""
        return list(self.outputs)

    def num_visible_outputs(self):
        """How many of :meth:`list_outputs` a symbol exposes."""
        return len(self.list_outputs())

    def list_auxiliary_states(self):
        return list(self.aux_states)

    # ------------------------------------------------------------------ inference
    def infer_shape(self, in_shapes, partial=False):
        """Return ``(in_shapes, out_shapes, aux_shapes)``, filling what can be deduced.

        ``in_shapes`` lists one shape tuple per argument, ``None`` where unknown.  With
        ``partial=True`` (only for operators with ``accepts_partial``) a 0 in a shape marks an
        unknown dimension; otherwise a 0 is a real, empty dimension.  The default is for
        elementwise operators: every input and output has one shape.
        """
        known = [s for s in in_shapes if s is not None]
        if not known:
            return in_shapes, [None] * len(self.list_outputs()), []
        if partial:
            shape = None
            for arg, given in zip(self.list_arguments(), in_shapes):
                shape = merge_shapes(shape, given, self, arg)
        else:
            for shape in known[1:]:
                if tuple(shape) != tuple(known[0]):
                    self.fail('inputs must have the same shape, got %s'
                              % ', '.join('%s %s' % (n, shape_str(s)) for n, s in
                                          zip(self.list_arguments(), in_shapes)))
            shape = tuple(known[0])
        return [shape] * len(in_shapes), [shape] * len(self.list_outputs()), []

    def infer_type(self, in_types):
        """Return ``(in_types, out_types, aux_types)``, None where still unknown; the default
        gives everything the dtype of the first known input."""
        known = [t for t in in_types if t is not None]
        dtype = np.dtype(known[0]) if known else None
        n_aux = len(self.list_auxiliary_states())
        return ([dtype] * len(in_types), [dtype] * len(self.list_outputs()), [dtype] * n_aux)

    def infer_backward(self, what, in_values, out_values):
        """Deduce input shapes (``what='shape'``) or types from known outputs.

        ``in_values`` holds what is known so far (shapes may be partial, 0 marking an unknown
        dimension).  ``out_values`` are the outputs' values: complete ones, or for operators
        with ``accepts_partial`` partial ones too (None where unknown).  Operators using the
        default elementwise rule (every input and output alike) run it backwards, as MXNet's
        inference does; others deduce nothing this way unless they override this method.
        """
        default = Operator.infer_shape if what == 'shape' else Operator.infer_type
        rule = type(self).infer_shape if what == 'shape' else type(self).infer_type
        if rule is not default or out_values[0] is None:
            return in_values
        if what == 'type':
            return [out_values[0]] * len(in_values)
        return [merge_shapes(given, out_values[0], self, arg)
                for arg, given in zip(self.list_arguments(), in_values)]

    # ------------------------------------------------------------------ compute
    def forward(self, is_train, req, in_data, out_data, aux):
        raise NotImplementedError('%s has no forward' % self.op_name)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        raise MXNetValueError("%s '%s' has no gradient" % (self.op_name, self.name))

    # ------------------------------------------------------------------ errors
    def fail(self, message, error=MXNetValueError):
        """Raise ``error`` with the operator and node name in front of ``message``."""
        raise error("%s '%s': %s" % (self.op_name, self.name, message))

    def check_axis(self, axis, ndim, what='axis'):
        """``axis`` counted from 0 (negative: from the end), failing unless -ndim <= axis < ndim."""
        if not -ndim <= axis < ndim:
            self.fail('%s %d is out of range for an input of %d dimensions' % (what, axis, ndim))
        return axis % ndim

    def check_ndim(self, arg, shape, ndims):
        """Fail unless ``shape`` (of argument ``arg``) has one of the ranks in ``ndims``."""
        if shape is not None and len(shape) not in ndims:
            self.fail('%s must have %s dimensions, got shape %s'
                      % (arg, ' or '.join(str(n) for n in ndims), shape_str(shape)))

    def assign_shape(self, shapes, index, shape):
        """Put the deduced ``shape`` into ``shapes[index]``, failing on a contradiction."""
        shape = tuple(shape)
        given = shapes[index]
        if given is not None and tuple(given) != shape:
            self.fail('%s has shape %s, expected %s'
                      % (self.list_arguments()[index], shape_str(given), shape_str(shape)))
        shapes[index] = shape

    def merge_shape(self, shapes, index, shape):
        """Merge the partly known ``shape`` (0: unknown dimension) into ``shapes[index]``,
        failing on a contradiction (see :func:`merge_shapes`)."""
        shapes[index] = merge_shapes(shapes[index], shape, self, self.list_arguments()[index])

    def __repr__(self):
        return '<%s %r>' % (self.op_name, self.name)


def check_type(value, types, what):
    if not isinstance(value, types):
        raise MXNetTypeError('%s: expected %s, got %s' % (what, types, type(value).__name__))
