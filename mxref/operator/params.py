"""Operator parameters: MXNet passes them as strings (``"(5, 5)"``, ``"True"``, ``"relu"``).

Each operator declares a tuple of :class:`Param`; :func:`parse_params` turns the attributes of
a symbol node (strings) or of a Python call (Python values) into typed values, and
:func:`attr_string` turns a Python value into the string MXNet writes into symbol JSON.

>>> from mxref.operator.params import Param, parse_params
>>> parse_params('Pooling', 'pool1', (Param('kernel', 'shape'), Param('stride', 'shape', ())),
...              {'kernel': '(2, 2)'})
{'kernel': (2, 2), 'stride': ()}
"""
import ast

import numpy as np

from ..base import MXNetValueError

__all__ = ['Param', 'REQUIRED', 'parse_params', 'attr_string']


class _Required:
    def __repr__(self):
        return 'REQUIRED'


REQUIRED = _Required()


class Param:
    """One operator parameter.

    Parameters
    ----------
    name : str
    kind : str
        'int', 'float', 'bool', 'str', 'shape' (tuple of ints), 'tuple' (tuple of ints or
        None, e.g. slice bounds), 'axis' (int, tuple of ints or None), 'dtype', 'any'.
        Append ``'?'`` to accept ``None`` as well (e.g. ``'float?'``).
    default :
        The value when the attribute is absent; :data:`REQUIRED` if it must be given.
    choices : tuple of str, optional
        The accepted values of a 'str' parameter.
    doc : str
        One line for the generated documentation.
    """
    __slots__ = ('name', 'kind', 'default', 'choices', 'doc')

    def __init__(self, name, kind, default=REQUIRED, choices=None, doc=''):
        self.name = name
        self.kind = kind
        self.default = default
        self.choices = choices
        self.doc = doc

    def parse(self, value):
        """Convert ``value`` (a string from JSON or a Python value) to this parameter's type."""
        kind = self.kind
        if kind.endswith('?'):
            if value is None or (isinstance(value, str) and value.strip() in ('None', '')):
                return None
            kind = kind[:-1]
        parsed = _PARSERS[kind](value)
        if self.choices is not None and parsed not in self.choices:
            raise ValueError('expected one of %s' % (', '.join(repr(c) for c in self.choices)))
        return parsed

    def describe(self):
        """``name : kind, default=...`` for docstrings."""
        kind = self.kind.rstrip('?') + (' or None' if self.kind.endswith('?') else '')
        if self.choices:
            kind = '{%s}' % ', '.join(repr(c) for c in self.choices)
        default = 'required' if self.default is REQUIRED else 'default=%r' % (self.default,)
        return '%s : %s, %s' % (self.name, kind, default)


def _literal(value):
    if isinstance(value, str):
        text = value.strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError('cannot read %r' % value) from None
    return value


def _parse_int(value):
    value = _literal(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)):
        raise ValueError('expected an integer')
    if isinstance(value, float) and not value.is_integer():
        raise ValueError('expected an integer')
    return int(value)


def _parse_float(value):
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ('inf', '+inf', 'infinity'):
            return float('inf')
        if text in ('-inf', '-infinity'):
            return float('-inf')
        if text == 'nan':
            return float('nan')
    value = _literal(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError('expected a number')
    return float(value)


def _parse_bool(value):
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ('true', '1'):
            return True
        if text in ('false', '0'):
            return False
        raise ValueError('expected True or False')
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return bool(value)
    raise ValueError('expected True or False')


def _parse_str(value):
    if not isinstance(value, str):
        raise ValueError('expected a string')
    return value


def _parse_tuple(value, allow_none):
    value = _literal(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if value is None and allow_none:
        return (None,)
    if not isinstance(value, (tuple, list)):
        raise ValueError('expected a tuple of integers')
    out = []
    for item in value:
        if item is None and allow_none:
            out.append(None)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out.append(int(item))
        else:
            raise ValueError('expected a tuple of integers')
    return tuple(out)


def _parse_axis(value):
    value = _literal(value)
    if value is None or value == ():
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return _parse_tuple(value, False)


def _parse_dtype(value):
    try:
        return np.dtype(value)
    except TypeError:
        raise ValueError('expected a dtype name such as float32') from None


_PARSERS = {
    'int': _parse_int, 'float': _parse_float, 'bool': _parse_bool, 'str': _parse_str,
    'shape': lambda v: _parse_tuple(v, False), 'tuple': lambda v: _parse_tuple(v, True),
    'axis': _parse_axis, 'dtype': _parse_dtype, 'any': lambda v: v,
}


def parse_params(op_name, node_name, params, attrs):
    """Return ``{param name: typed value}`` for the declared ``params``.

    ``attrs`` may hold other keys of the form ``__name__`` (symbol attributes such as
    ``__lr_mult__``); any other unknown key is an error, as in MXNet.
    """
    values = {}
    known = set()
    for param in params:
        known.add(param.name)
        if param.name in attrs:
            raw = attrs[param.name]
            try:
                values[param.name] = param.parse(raw)
            except ValueError as err:
                raise MXNetValueError("%s '%s': parameter %s=%r is invalid: %s"
                                      % (op_name, node_name, param.name, raw, err)) from None
        elif param.default is REQUIRED:
            raise MXNetValueError("%s '%s': required parameter '%s' is missing"
                                  % (op_name, node_name, param.name))
        else:
            values[param.name] = param.default
    for key in attrs:
        if key not in known and not (key.startswith('__') and key.endswith('__')):
            raise MXNetValueError("%s '%s': unknown parameter '%s'; it accepts %s"
                                  % (op_name, node_name, key,
                                     ', '.join(p.name for p in params) or 'no parameters'))
    return values


def attr_string(value):
    """The string MXNet stores in symbol JSON for a Python parameter value."""
    if isinstance(value, str):
        return value
    if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, np.dtype):
        return np.dtype(value).name
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)
