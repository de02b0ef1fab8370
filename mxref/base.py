"""Errors and small helpers shared by every layer of mxref.

MXNet reports every failure as ``mxnet.base.MXNetError``; scripts written for MXNet catch
that name.  mxref raises :class:`MXNetError` or one of its subclasses below, which also derive
from the matching built-in exception, so ``except ValueError`` keeps working as well.
"""
import numbers

import numpy as np

__all__ = ['MXNetError', 'MXNetValueError', 'MXNetTypeError', 'MXNetIndexError',
           'MXNetKeyError', 'string_types', 'numeric_types', 'integer_types']

string_types = (str,)
numeric_types = (float, int, np.generic, numbers.Number)
integer_types = (int, np.integer)


class MXNetError(Exception):
    """The error every mxref failure derives from (MXNet's ``mx.base.MXNetError``)."""


class MXNetValueError(MXNetError, ValueError):
    """A value had the right type but was not acceptable (a shape, a parameter, a file)."""


class MXNetTypeError(MXNetError, TypeError):
    """An argument had the wrong type."""


class MXNetIndexError(MXNetError, IndexError):
    """An index was out of range."""


class MXNetKeyError(MXNetError, KeyError):
    """A name was not found (an argument, an operator, an output)."""

    def __str__(self):            # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ''


def py_str(value):
    """Return ``value`` as ``str`` (bytes are decoded as UTF-8)."""
    return value.decode('utf-8') if isinstance(value, bytes) else str(value)
