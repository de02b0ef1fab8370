"""Errors and small helpers shared by every layer of mxref.

MXNet reports every failure as ``mxnet.base.MXNetError``; scripts written for MXNet catch
that name.  mxref raises :class:`MXNetError` or one of its subclasses below, which also derive
from the matching built-in exception, so ``except ValueError`` keeps working as well.
"""
import logging
import numbers
import sys

import numpy as np

__all__ = ['native_log', 'DTYPE_OF_FLAG', 'FLAG_OF_DTYPE', 'MXNetError', 'MXNetValueError', 'MXNetTypeError', 'MXNetIndexError',
           'MXNetKeyError', 'string_types', 'numeric_types', 'integer_types']

# MXNet's integer codes for element types (mshadow's type flags): in .params files and in a
# variable's __dtype__ attribute.
DTYPE_OF_FLAG = {0: np.dtype(np.float32), 1: np.dtype(np.float64), 2: np.dtype(np.float16),
                 3: np.dtype(np.uint8), 4: np.dtype(np.int32), 5: np.dtype(np.int8),
                 6: np.dtype(np.int64), 7: np.dtype(np.bool_), 8: np.dtype(np.int16),
                 9: np.dtype(np.uint16), 10: np.dtype(np.uint32), 11: np.dtype(np.uint64)}
FLAG_OF_DTYPE = {dtype: flag for flag, dtype in DTYPE_OF_FLAG.items()}

string_types = (str,)
numeric_types = (float, int, np.generic, numbers.Number)
integer_types = (int, np.integer)


class MXNetError(RuntimeError):
    """The error every mxref failure derives from (MXNet's ``mx.base.MXNetError``, like it a
    ``RuntimeError``)."""


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


class ScopedDefault(type):
    """Metaclass giving a class MXNet's ``current`` class property (``NameManager.current``,
    ``AttrScope.current``): the instance active in this thread, made on first use."""

    @property
    def current(cls):
        return cls._active()

    @current.setter
    def current(cls, value):
        cls._current.value = value


class _CurrentStderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when a record is emitted."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):                 # StreamHandler.__init__ assigns it; ignored
        pass


def _make_native_log():
    logger = logging.getLogger('mxref.native')
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter('[%(asctime)s] %(filename)s:%(lineno)d: '
                                               '%(message)s', datefmt='%H:%M:%S'))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


#: The messages MXNet's C++ core writes with ``LOG(INFO)`` (``MNISTIter: load 60000 images...``):
#: always on stderr, as ``[HH:MM:SS] file:line: message``, whatever Python's logging is set
#: to, and not passed on to the root logger (so ``logging.basicConfig`` does not print them
#: twice).  ``logging.getLogger('mxref.native').setLevel(logging.WARNING)`` silences them.
native_log = _make_native_log()
