"""From the registry to Python functions: ``mx.nd.FullyConnected`` and ``mx.sym.FullyConnected``
are both built here from the operator class, with a real signature and docstring.

MXNet's calling convention is shared by both front ends:

* inputs (NDArrays or Symbols) are given positionally in argument order, or by argument name;
* every other keyword is an operator parameter (converted to MXNet's string form);
* operators with any number of inputs (``Concat``) take them positionally and fill in their
  count parameter (``num_args``) themselves.
"""
import inspect

import numpy as np

from ..base import MXNetTypeError, MXNetValueError
from .base import registered_names, get
from .params import REQUIRED, attr_string

__all__ = ['split_call', 'bind_inputs', 'make_function', 'public_names']


def split_call(op_cls, op_name, args, kwargs, input_type):
    """Separate a call's arguments.

    Returns ``(positional_inputs, keyword_inputs, attrs)``: inputs are instances of
    ``input_type``; ``attrs`` holds every parameter as a string, with ``num_args`` filled in for
    variadic operators.
    """
    positional, extra = [], []
    for value in args:
        if isinstance(value, input_type):
            if extra:
                raise MXNetTypeError('%s: input given after a positional parameter' % op_name)
            positional.append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, input_type)
                                                               for v in value):
            positional.extend(value)
        elif isinstance(value, np.ndarray):
            raise MXNetTypeError('%s: inputs must be %s, got a numpy.ndarray (convert it with '
                                 'mx.nd.array)' % (op_name, input_type.__name__))
        else:
            extra.append(value)
    keyword_inputs, attrs = {}, {}
    optional = {p.name for p in op_cls.params if p.kind.endswith('?')}
    for key, value in kwargs.items():
        if isinstance(value, input_type):
            keyword_inputs[key] = value
        elif value is not None or key in optional:     # None means "not given" unless the
            attrs[key] = value                          # parameter accepts None itself
    if extra:
        names = [p.name for p in op_cls.params if p.name not in attrs]
        if len(extra) > len(names):
            raise MXNetTypeError('%s: too many positional arguments: %r is neither an input '
                                 '(%s) nor one of the parameters left (%s)'
                                 % (op_name, extra[len(names)], input_type.__name__,
                                    ', '.join(names) or 'none'))
        attrs.update(zip(names, extra))
    if op_cls.num_args_param and op_cls.num_args_param not in attrs:
        attrs[op_cls.num_args_param] = len(positional) + len(keyword_inputs)
    return positional, keyword_inputs, {k: attr_string(v) for k, v in attrs.items()}


def bind_inputs(op, positional, keyword_inputs):
    """Place inputs into the operator's slots (arguments then auxiliary states).

    Returns a list with one entry per slot, ``None`` where nothing was given.
    """
    names = op.list_arguments() + op.list_auxiliary_states()
    if len(positional) > len(names):
        op.fail('takes %d inputs (%s), got %d' % (len(names), ', '.join(names), len(positional)),
                error=MXNetTypeError)
    slots = list(positional) + [None] * (len(names) - len(positional))
    for key, value in keyword_inputs.items():
        if key not in names:
            op.fail("has no input named '%s'; its inputs are %s" % (key, ', '.join(names)),
                    error=MXNetTypeError)
        index = names.index(key)
        if slots[index] is not None:
            op.fail("input '%s' given twice" % key, error=MXNetTypeError)
        slots[index] = value
    return slots


def _signature(op_cls, variadic, with_out):
    P = inspect.Parameter
    params = []
    if variadic:
        params.append(P('data', P.VAR_POSITIONAL))
    else:
        for arg in tuple(op_cls.arguments) + tuple(op_cls.aux_states):
            params.append(P(arg, P.POSITIONAL_OR_KEYWORD, default=None))
    kind = P.KEYWORD_ONLY if variadic else P.POSITIONAL_OR_KEYWORD
    for param in op_cls.params:
        if param.name == op_cls.num_args_param:
            continue
        default = None if param.default is REQUIRED else param.default
        params.append(P(param.name, kind, default=default))
    if with_out:
        params.append(P('out', P.KEYWORD_ONLY, default=None))
    params.append(P('name', P.KEYWORD_ONLY, default=None))
    params.append(P('kwargs', P.VAR_KEYWORD))
    return inspect.Signature(params)


def _docstring(op_cls, name, front_end):
    doc = inspect.cleandoc(op_cls.__doc__ or '')
    lines = [doc, '', 'MXNet name: ``%s``%s.' % (op_cls.op_name,
                                                   '' if name == op_cls.op_name
                                                   else ' (called here as ``%s``)' % name)]
    if op_cls.params and 'Parameters\n---' not in doc:
        lines += ['', 'Parameters', '----------']
        for arg in op_cls.arguments:
            lines.append('%s : %s' % (arg, front_end))
        for param in op_cls.params:
            lines.append(param.describe())
            if param.doc:
                lines.append('    ' + param.doc)
    return '\n'.join(lines)


def make_function(name, implementation, front_end):
    """A function called ``name`` whose body is ``implementation(op_cls, name, args, kwargs)``."""
    op_cls = get(name)
    variadic = op_cls.num_args_param is not None

    def function(*args, **kwargs):
        return implementation(op_cls, name, args, kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = _docstring(op_cls, name, front_end)
    function.__signature__ = _signature(op_cls, variadic, front_end == 'NDArray')
    return function


def public_names():
    """Registered names split into (public, internal): names starting with '_' are internal."""
    names = registered_names()
    return [n for n in names if not n.startswith('_')], [n for n in names if n.startswith('_')]


def check_no_missing(op, slots, what):
    missing = [n for n, s in zip(op.list_arguments() + op.list_auxiliary_states(), slots)
               if s is None]
    if missing:
        op.fail('input%s %s missing (%s needs all of %s)'
                % ('s' if len(missing) > 1 else '', ', '.join("'%s'" % m for m in missing),
                   what, ', '.join(op.list_arguments() + op.list_auxiliary_states())),
                error=MXNetValueError)
