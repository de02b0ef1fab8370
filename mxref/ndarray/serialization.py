"""``mx.nd.save`` / ``mx.nd.load``: MXNet's binary NDArray file format, parsed field by field.

Layout of a file (all integers little-endian)::

    uint64  0x112                      list magic
    uint64  0                          reserved
    uint64  n                          number of arrays
    n x array:
        uint32  0xF993FAC9             array magic (V2)
        int32   storage type           0 = dense (the only kind mxref reads)
        int32   ndim, int64 dims[ndim] shape
        int32   dev_type, int32 dev_id context the array was saved from
        int32   type flag              0 f32, 1 f64, 2 f16, 3 u8, 4 i32, 5 i8, 6 i64, 7 bool
        bytes   data                   prod(dims) * itemsize, C order
    uint64  m                          number of names (0 for a list, n for a dict)
    m x (uint64 length, bytes name)

Older files are read too: V1 arrays (magic 0xF993FAC8, no storage type), the original format
(no magic: the first uint32 is ndim, dims are uint32), and V3 (0xF993FACA, NumPy shape
semantics).  Every read is bounds-checked, so a truncated or corrupt file raises
:class:`NDArrayFormatError` naming the byte offset instead of returning garbage.
"""
import os
import struct
import tempfile

import numpy as np

from ..base import DTYPE_OF_FLAG, FLAG_OF_DTYPE, MXNetValueError, MXNetTypeError
from ..context import cpu

__all__ = ['save', 'load', 'load_frombuffer', 'save_to_bytes', 'NDArrayFormatError',
           'atomic_write']

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA
MAX_NDIM = 32

DEV_TYPES = {'cpu': 1, 'gpu': 2, 'cpu_pinned': 3, 'cpu_shared': 5}


class NDArrayFormatError(MXNetValueError):
    """The bytes are not a valid MXNet NDArray file."""


class _Reader:
    """Reads little-endian fields from a bytes object, failing clearly past its end."""

    def __init__(self, data, source):
        self.data = memoryview(data)
        self.pos = 0
        self.source = source

    def fail(self, message):
        raise NDArrayFormatError('mx.nd.load(%s): %s (at byte %d of %d)'
                                 % (self.source, message, self.pos, len(self.data)))

    def take(self, count, what):
        if count < 0 or self.pos + count > len(self.data):
            self.fail('file is truncated: %d more bytes needed for %s' % (count, what))
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def scalar(self, fmt, what):
        return struct.unpack('<' + fmt, self.take(struct.calcsize(fmt), what))[0]

    def shape(self, dim_fmt, what):
        ndim = self.scalar('i', what + ' ndim')
        return self.dims(ndim, dim_fmt, what)

    def dims(self, ndim, dim_fmt, what):
        if ndim == -1:
            return None
        if not 0 <= ndim <= MAX_NDIM:
            self.fail('%s has an impossible number of dimensions (%d)' % (what, ndim))
        dims = struct.unpack('<%d%s' % (ndim, dim_fmt),
                             self.take(ndim * struct.calcsize(dim_fmt), what + ' dims'))
        if any(d < 0 for d in dims):
            self.fail('%s has a negative dimension %s' % (what, dims))
        return tuple(dims)


def _read_array(reader, index):
    what = 'array %d' % index
    magic = reader.scalar('I', what + ' magic')
    numpy_shape = magic == V3_MAGIC
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = reader.scalar('i', what + ' storage type')
        if stype != 0:
            reader.fail('%s uses sparse storage (type %d), which mxref does not support'
                        % (what, stype))
        shape = reader.shape('q', what + ' shape')
    elif magic == V1_MAGIC:
        shape = reader.shape('q', what + ' shape')
    else:                                       # original format: the magic was ndim
        shape = reader.dims(magic, 'I', what + ' shape')
    if shape is None or (len(shape) == 0 and not numpy_shape):
        reader.fail('%s is an empty (none) NDArray, which mxref cannot represent' % what)
    reader.scalar('i', what + ' device type')
    reader.scalar('i', what + ' device id')
    flag = reader.scalar('i', what + ' type flag')
    if flag not in DTYPE_OF_FLAG:
        reader.fail('%s has an unknown type flag %d' % (what, flag))
    dtype = np.dtype(DTYPE_OF_FLAG[flag]).newbyteorder('<')
    count = int(np.prod(shape, dtype=np.int64))
    raw = reader.take(count * dtype.itemsize, '%s data (%s %s)' % (what, shape, dtype.name))
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder('='), copy=True).reshape(shape)


def load_frombuffer(buf, source='<buffer>'):
    """Parse the bytes of an NDArray file: a list of NDArrays, or a dict if names were saved."""
    from .ndarray import NDArray
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise MXNetTypeError('load_frombuffer: expected bytes, got %s' % type(buf).__name__)
    reader = _Reader(buf, source)
    magic = reader.scalar('Q', 'the file magic')
    if magic != LIST_MAGIC:
        reader.fail('not an MXNet NDArray file (magic 0x%x, expected 0x112)' % magic)
    reader.scalar('Q', 'the reserved field')
    count = reader.scalar('Q', 'the array count')
    if count > len(buf):
        reader.fail('impossible array count %d' % count)
    arrays = [_read_array(reader, i) for i in range(count)]
    name_count = reader.scalar('Q', 'the name count')
    if name_count not in (0, count):
        reader.fail('%d names for %d arrays' % (name_count, count))
    names = []
    for i in range(name_count):
        length = reader.scalar('Q', 'name %d length' % i)
        try:
            names.append(bytes(reader.take(length, 'name %d' % i)).decode('utf-8'))
        except UnicodeDecodeError:
            reader.fail('name %d is not UTF-8' % i)
    if reader.pos != len(reader.data):
        reader.fail('%d unexpected bytes after the last field' % (len(reader.data) - reader.pos))
    values = [NDArray(a.reshape((1,)) if a.ndim == 0 else a, cpu()) for a in arrays]
    return dict(zip(names, values)) if names else values


def load(fname):
    """Load NDArrays saved by ``mx.nd.save`` (mxref's or MXNet's): a list, or a dict by name."""
    fname = os.fspath(fname)
    try:
        with open(fname, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise MXNetValueError('mx.nd.load: cannot read %r: %s' % (fname, err.strerror)) from None
    return load_frombuffer(data, repr(fname))


def _array_bytes(value):
    host = np.ascontiguousarray(value.asnumpy())
    dtype = np.dtype(host.dtype)
    if dtype not in FLAG_OF_DTYPE:
        raise MXNetTypeError('mx.nd.save: dtype %s cannot be saved' % dtype.name)
    shape = host.shape if host.ndim else (1,)
    ctx = value.context
    parts = [struct.pack('<Iii', V2_MAGIC, 0, len(shape)),
             struct.pack('<%dq' % len(shape), *shape),
             struct.pack('<iii', DEV_TYPES[ctx.device_type], ctx.device_id, FLAG_OF_DTYPE[dtype]),
             host.astype(dtype.newbyteorder('<'), copy=False).tobytes()]
    return b''.join(parts)


def save_to_bytes(data):
    """The bytes ``mx.nd.save`` writes for ``data`` (an NDArray, a list or a dict of them)."""
    from .ndarray import NDArray
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        names = list(data.keys())
        arrays = list(data.values())
        for key in names:
            if not isinstance(key, str):
                raise MXNetTypeError('mx.nd.save: dict keys must be strings, got %r' % (key,))
    elif isinstance(data, (list, tuple)):
        names, arrays = [], list(data)
    else:
        raise MXNetTypeError('mx.nd.save: data must be an NDArray, a list or a dict of '
                             'NDArrays, got %s' % type(data).__name__)
    for value in arrays:
        if not isinstance(value, NDArray):
            raise MXNetTypeError('mx.nd.save: every value must be an NDArray, got %s'
                                 % type(value).__name__)
    parts = [struct.pack('<QQQ', LIST_MAGIC, 0, len(arrays))]
    parts += [_array_bytes(a) for a in arrays]
    parts.append(struct.pack('<Q', len(names)))
    for name in names:
        encoded = name.encode('utf-8')
        parts.append(struct.pack('<Q', len(encoded)) + encoded)
    return b''.join(parts)


def _new_file_mode(fname):
    """The mode an ordinary write would give: the old file's, else 0666 less the umask."""
    try:
        return os.stat(fname).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(fname, payload):
    """Write ``payload`` (bytes or str) to ``fname`` through a temporary file and a rename,
    so a crash never leaves a half-written file behind."""
    fname = os.fspath(fname)
    directory = os.path.dirname(os.path.abspath(fname))
    mode = 'wb' if isinstance(payload, (bytes, bytearray)) else 'w'
    try:
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(fname) + '.', suffix='.tmp',
                                   dir=directory)
    except OSError as err:
        raise MXNetValueError('cannot write %r: %s' % (fname, err.strerror)) from None
    try:
        with os.fdopen(fd, mode) as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(fname))
        os.replace(tmp, fname)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(fname, data):
    """Save an NDArray, a list or a str-keyed dict of NDArrays in MXNet's binary format."""
    atomic_write(fname, save_to_bytes(data))
