"""Reading IDX files, the format of the MNIST images and labels.

Layout (big-endian)::

    uint8  0, 0            magic, first two bytes always zero
    uint8  type            0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32,
                           0x0E float64
    uint8  ndim
    ndim x int32           the dimensions
    data                   prod(dims) items, C order

Files may be gzip-compressed (recognised by their first bytes, whatever their name).  A
truncated or corrupt file raises :class:`IDXFormatError` saying what is wrong.

>>> import gzip, io, struct
>>> raw = struct.pack('>BBBBi', 0, 0, 8, 1, 3) + bytes([7, 2, 1])
>>> parse_idx(gzip.compress(raw)).tolist()
[7, 2, 1]
"""
import gzip
import os
import zlib

import numpy as np

from ..base import MXNetValueError

__all__ = ['IDXFormatError', 'parse_idx', 'read_idx', 'resolve_path']

IDX_TYPES = {0x08: np.dtype('>u1'), 0x09: np.dtype('>i1'), 0x0B: np.dtype('>i2'),
             0x0C: np.dtype('>i4'), 0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}
GZIP_MAGIC = b'\x1f\x8b'


class IDXFormatError(MXNetValueError):
    """The bytes are not a valid IDX file."""


def parse_idx(data, source='<bytes>'):
    """The array held by the bytes of an IDX file (gzipped or not), in native byte order."""
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise IDXFormatError('%s: the gzip stream is corrupt or truncated (%s)'
                                 % (source, err)) from None
    if len(data) < 4:
        raise IDXFormatError('%s: %d bytes is too short for an IDX header' % (source, len(data)))
    if data[0] != 0 or data[1] != 0:
        raise IDXFormatError('%s: not an IDX file (the magic number starts with %02x %02x, '
                             'expected 00 00)' % (source, data[0], data[1]))
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise IDXFormatError('%s: unknown IDX data type 0x%02x' % (source, type_code))
    header_end = 4 + 4 * ndim
    if len(data) < header_end:
        raise IDXFormatError('%s: truncated header (%d dimensions need %d bytes, the file has %d)'
                             % (source, ndim, header_end, len(data)))
    dims = tuple(int(d) for d in np.frombuffer(data, dtype='>i4', count=ndim, offset=4))
    if any(d < 0 for d in dims):
        raise IDXFormatError('%s: negative dimension in %s' % (source, dims))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_end
    if actual != expected:
        raise IDXFormatError('%s: the data of shape %s needs %d bytes but the file holds %d '
                             '(%s)' % (source, dims, expected, actual,
                                       'truncated' if actual < expected else 'trailing bytes'))
    values = np.frombuffer(data, dtype=dtype, offset=header_end).reshape(dims)
    return values.astype(dtype.newbyteorder('='))


def resolve_path(path):
    """``path`` itself, or ``path + '.gz'`` when only the compressed file exists."""
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + '.gz'):
        return path + '.gz'
    return path


def read_idx(path):
    """The array in the IDX file ``path`` (or ``path.gz``)."""
    path = resolve_path(path)
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise MXNetValueError('cannot read IDX file %r: %s' % (path, err.strerror)) from None
    return parse_idx(data, repr(path))
