"""``mx.recordio``: reading and writing RecordIO files, the record format of MXNet's ``.rec``
image datasets (written by ``im2rec``, read by ``ImageRecordIter``).

The file format is dmlc-core's RecordIO.  A file is a sequence of *parts*, each::

    uint32  magic       0xced7230a
    uint32  lrecord     (cflag << 29) | length       (length < 2**29)
    bytes   data        length bytes, then zero bytes up to a multiple of 4

all little-endian.  A record is one part (``cflag`` 0), unless its payload holds the magic
word at an offset that is a multiple of 4: the writer then cuts the payload there and drops
the magic word, writing a first part (``cflag`` 1), middle parts (2) and a last part (3).  The
reader joins the parts back, putting the magic word between them.  The magic word can
therefore only appear in a file as the start of a part, which lets a reader find record
starts anywhere in a file.  Magic words at unaligned offsets are left in the data.

>>> import os, tempfile
>>> import mxref as mx
>>> path = os.path.join(tempfile.mkdtemp(), 'demo.rec')
>>> writer = mx.recordio.MXRecordIO(path, 'w')
>>> for i in range(3):
...     writer.write(b'record_%d' % i)
>>> writer.close()
>>> os.path.getsize(path)          # 3 x (8-byte header + 8 bytes of data)
48
>>> reader = mx.recordio.MXRecordIO(path, 'r')
>>> reader.read(), reader.read(), reader.read(), reader.read()
(b'record_0', b'record_1', b'record_2', None)
>>> reader.close()

:class:`MXIndexedRecordIO` also writes a text index, one ``key<TAB>byte offset`` line per
record, for random access.  :func:`pack` and :func:`unpack` put an :class:`IRHeader` (label and
ids) in front of a record's payload, as ``im2rec`` does.  Files written here are byte for byte
the files MXNet 1.9 writes for the same records.

Where mxref differs from MXNet:

* a truncated or corrupt file raises :class:`RecordIOFormatError` naming the file and the byte
  offset, where MXNet raises ``Invalid RecordIO File`` without either; a file that ends in the
  middle of a split record is an error (MXNet silently reports the end of the file), and so is
  a continuation part where a record should start (MXNet returns it as a record);
* :meth:`MXIndexedRecordIO.seek` works after the reader reached the end of the file (MXNet's
  reader then keeps returning ``None``); seeking past the end of the file is an error;
* :meth:`MXRecordIO.write` takes any bytes-like object, not only ``bytes`` (a ``str`` is still
  a ``TypeError``);
* :func:`pack_img` and :func:`unpack_img` use Pillow, not OpenCV (see there).
"""
import io
import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from .base import MXNetError, MXNetValueError, MXNetTypeError, MXNetKeyError

__all__ = ['MXRecordIO', 'MXIndexedRecordIO', 'IRHeader', 'pack', 'unpack', 'pack_img',
           'unpack_img', 'RecordIOFormatError', 'RecordIOFileError', 'RecordIOStateError']

MAGIC = 0xced7230a
MAGIC_BYTES = struct.pack('<I', MAGIC)
PART_HEADER = struct.Struct('<II')          # magic, lrecord
LENGTH_BITS = 29
MAX_LENGTH = (1 << LENGTH_BITS) - 1
# cflag values of a part
WHOLE, FIRST, MIDDLE, LAST = 0, 1, 2, 3


class RecordIOFormatError(MXNetValueError):
    """A RecordIO file, index file or packed record is truncated or corrupt."""


class RecordIOFileError(MXNetError, OSError):
    """A record file could not be opened (MXNet reports this as an ``MXNetError`` too)."""


class RecordIOStateError(MXNetError, AssertionError):
    """An operation that the handle's mode does not allow (``read`` on a writer, ...): an
    ``AssertionError``, as in MXNet."""


def _padded(length):
    return (length + 3) & ~3


def encode_record(buf):
    """The bytes a writer appends to the file for the record ``buf``: its parts, split at
    every magic word that starts at an offset multiple of 4, each part padded to 4 bytes."""
    data = bytes(buf)
    if len(data) > MAX_LENGTH:
        raise MXNetValueError('RecordIO records must be shorter than 2**29 bytes, got %d'
                              % len(data))
    cuts = []                     # offsets of the aligned magic words, which are dropped
    at = data.find(MAGIC_BYTES)
    while at >= 0:
        if at % 4 == 0:
            cuts.append(at)
            at = data.find(MAGIC_BYTES, at + 4)
        else:
            at = data.find(MAGIC_BYTES, at + 1)
    out = []
    start = 0
    for cut in cuts:
        out.append(PART_HEADER.pack(MAGIC, ((FIRST if start == 0 else MIDDLE) << LENGTH_BITS)
                                    | (cut - start)))
        out.append(data[start:cut])             # aligned: a multiple of 4 bytes, no padding
        start = cut + 4
    length = len(data) - start
    out.append(PART_HEADER.pack(MAGIC, ((LAST if cuts else WHOLE) << LENGTH_BITS) | length))
    out.append(data[start:])
    out.append(b'\0' * (_padded(length) - length))
    return b''.join(out)


class MXRecordIO(object):
    """Sequential reading (``flag='r'``) or writing (``flag='w'``) of a RecordIO file.

    The file is opened at once.  Records are written whole, one ``write`` call to the file
    each, and :meth:`close` (also run when the object is garbage-collected) flushes them.  A
    handle belongs to the process that opened it: reading or writing after a ``fork`` raises
    ``RuntimeError``, as in MXNet.

    Parameters
    ----------
    uri : str
        Path of the record file.  ``'w'`` creates or truncates it.
    flag : str
        ``'r'`` to read, ``'w'`` to write.
    """

    def __init__(self, uri, flag):
        self.uri = os.fspath(uri)
        self.flag = flag
        self.is_open = False
        self.writable = None
        self.pid = None
        self._file = None
        self.open()

    def open(self):
        """Open the file: for reading at its start, for writing truncated to empty."""
        if self.flag == 'w':
            mode, self.writable = 'wb', True
        elif self.flag == 'r':
            mode, self.writable = 'rb', False
        else:
            raise MXNetValueError("Invalid flag %r: 'r' to read or 'w' to write" % (self.flag,))
        try:
            self._file = open(self.uri, mode)
        except OSError as err:
            error = RecordIOFileError('cannot open the record file %s: %s'
                                      % (self.uri, err.strerror or err))
            error.errno, error.strerror, error.filename = err.errno, err.strerror, self.uri
            raise error from None
        self.pid = os.getpid()
        self.is_open = True

    def __del__(self):
        try:
            self.close()
        except Exception:                 # pylint: disable=broad-except
            pass                          # interpreter shutdown, half-built object

    def close(self):
        """Close the file (flushing what was written).  Closing twice does nothing."""
        if not getattr(self, 'is_open', False):
            return
        self.is_open = False
        self.pid = None
        self._file.close()

    def reset(self):
        """Go back to the first record; a writer truncates the file to empty."""
        self.close()
        self.open()

    def _check(self, writing, allow_reset=False):
        if not self.is_open:
            raise RecordIOStateError('%s is closed' % self.uri)
        if writing != self.writable:
            raise RecordIOStateError('%s is open for %s' % (
                self.uri, 'writing' if self.writable else 'reading'))
        if self.pid != os.getpid():
            if not allow_reset:
                raise RuntimeError('Forbidden operation in multiple processes: %s was opened '
                                   'by process %d' % (self.uri, self.pid))
            self.reset()

    def write(self, buf):
        """Append the record ``buf`` (bytes, or any bytes-like object, shorter than 2**29)."""
        self._check(writing=True)
        if isinstance(buf, str):
            raise MXNetTypeError('MXRecordIO.write takes bytes, not str (encode it first)')
        self._file.write(encode_record(memoryview(buf).cast('B')))

    def read(self):
        """The next record as ``bytes``, or ``None`` at the end of the file."""
        self._check(writing=False)
        f = self._file
        start = f.tell()
        pieces = []
        while True:
            at = f.tell()
            head = f.read(PART_HEADER.size)
            if not head:
                if not pieces:
                    return None
                raise RecordIOFormatError(
                    '%s: truncated file: the record starting at byte offset %d is split in '
                    'parts and the file ends at byte offset %d before its last part'
                    % (self.uri, start, at))
            if len(head) < PART_HEADER.size:
                raise RecordIOFormatError(
                    '%s: truncated file: %d bytes at byte offset %d, a record header needs 8'
                    % (self.uri, len(head), at))
            magic, lrecord = PART_HEADER.unpack(head)
            if magic != MAGIC:
                raise RecordIOFormatError(
                    '%s: no RecordIO magic number at byte offset %d (found 0x%08x, expected '
                    '0x%08x): not a RecordIO file, or an offset that is not a record start'
                    % (self.uri, at, magic, MAGIC))
            cflag, length = lrecord >> LENGTH_BITS, lrecord & MAX_LENGTH
            if not pieces and cflag not in (WHOLE, FIRST):
                raise RecordIOFormatError(
                    '%s: byte offset %d holds the continuation of a split record (cflag %d) '
                    'where a record should start' % (self.uri, at, cflag))
            if pieces and cflag not in (MIDDLE, LAST):
                raise RecordIOFormatError(
                    '%s: the record split in parts at byte offset %d is not continued: byte '
                    'offset %d starts a new record (cflag %d)' % (self.uri, start, at, cflag))
            if cflag > LAST:
                raise RecordIOFormatError('%s: invalid cflag %d at byte offset %d'
                                          % (self.uri, cflag, at))
            data = f.read(_padded(length))
            if len(data) < _padded(length):
                raise RecordIOFormatError(
                    '%s: truncated file: the record part at byte offset %d holds %d bytes '
                    '(%d with padding) but only %d follow its header'
                    % (self.uri, at, length, _padded(length), len(data)))
            pieces.append(data[:length])
            if cflag in (WHOLE, LAST):
                return b''.join(pieces)
            pieces.append(MAGIC_BYTES)


class MXIndexedRecordIO(MXRecordIO):
    """A RecordIO file with an index file, for random access by key.

    Parameters
    ----------
    idx_path : str
        Path of the index file: a text file of ``key<TAB>byte offset`` lines.
    uri : str
        Path of the record file.
    flag : str
        ``'r'`` to read, ``'w'`` to write (both files).
    key_type : type
        Converts keys, those given to :meth:`write_idx` and those read from the index.

    Attributes
    ----------
    idx : dict
        ``{key: byte offset of its record}``; a key written twice maps to its last record.
    keys : list
        The keys in file order, repeated keys included.

    >>> import os, tempfile
    >>> import mxref as mx
    >>> folder = tempfile.mkdtemp()
    >>> idx, rec = os.path.join(folder, 'd.idx'), os.path.join(folder, 'd.rec')
    >>> writer = mx.recordio.MXIndexedRecordIO(idx, rec, 'w')
    >>> for key in (5, 2, 9):
    ...     writer.write_idx(key, b'item %d' % key)
    >>> writer.close()
    >>> open(idx).read().splitlines()
    ['5\\t0', '2\\t16', '9\\t32']
    >>> reader = mx.recordio.MXIndexedRecordIO(idx, rec, 'r')
    >>> reader.keys, reader.read_idx(2)
    ([5, 2, 9], b'item 2')
    >>> reader.close()
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = os.fspath(idx_path)
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        """Open both files; a reader parses the whole index."""
        super().open()
        self.idx = {}
        self.keys = []
        if self.writable:
            self.fidx = open(self.idx_path, 'w')
            return
        try:
            with open(self.idx_path, 'rb') as f:
                text = f.read()
        except OSError:
            self.close()
            raise
        self.fidx = None
        at = 0
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            fields = line.strip().split(b'\t')
            try:
                if len(fields) < 2:
                    raise ValueError('expected "key<TAB>offset"')
                key = self.key_type(fields[0].decode('utf-8'))
                offset = int(fields[1])
                if offset < 0:
                    raise ValueError('negative offset')
            except (ValueError, TypeError, UnicodeDecodeError) as err:
                self.close()
                raise RecordIOFormatError('%s: invalid index line %d at byte offset %d: %r (%s)'
                                          % (self.idx_path, number, at, line, err)) from None
            self.idx[key] = offset
            self.keys.append(key)
            at += len(line)

    def close(self):
        """Close both files."""
        if not getattr(self, 'is_open', False):
            return
        super().close()                  # the records first: no index line without its record
        if self.fidx is not None:
            self.fidx.close()
            self.fidx = None

    def seek(self, idx):
        """Move the reader to the record of key ``idx``."""
        self._check(writing=False, allow_reset=True)
        if idx not in self.idx:
            raise MXNetKeyError('key %r is not in the index %s' % (idx, self.idx_path))
        offset = self.idx[idx]
        size = os.fstat(self._file.fileno()).st_size
        if offset >= size:              # the index lists a record the file does not hold
            raise RecordIOFormatError('%s: the index gives key %r byte offset %d, at or past '
                                      'the end of %s (%d bytes)' % (self.idx_path, idx, offset,
                                                                    self.uri, size))
        self._file.seek(offset)

    def tell(self):
        """The byte offset where the writer puts the next record."""
        self._check(writing=True)
        return self._file.tell()

    def read_idx(self, idx):
        """The record of key ``idx``."""
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        """Append the record ``buf`` under the key ``idx`` (converted by ``key_type``)."""
        key = self.key_type(idx)
        offset = self.tell()
        self.write(buf)
        self.fidx.write('%s\t%d\n' % (key, offset))
        self.idx[key] = offset
        self.keys.append(key)


class IRHeader(namedtuple('HEADER', ['flag', 'label', 'id', 'id2'])):
    """The header that :func:`pack` puts in front of a record (``im2rec``'s records hold one):
    ``IRHeader(flag, label, id, id2)``, a namedtuple that prints as MXNet's, ``HEADER(...)``.

    ``flag``: the number of labels when ``label`` is an array, else 0 (:func:`pack` sets it);
    ``label``: a number, or an array of numbers stored as float32;
    ``id``, ``id2``: unsigned 64-bit ids (``id2`` usually 0).

    Stored as 24 bytes, little-endian: uint32 flag, float32 label (0 when it is an array),
    uint64 id, uint64 id2, followed by the ``flag`` float32 labels, if any.
    """
    __slots__ = ()

    def __repr__(self):
        return 'HEADER(flag=%r, label=%r, id=%r, id2=%r)' % tuple(self)


IR_FORMAT = struct.Struct('<IfQQ')


def pack(header, s):
    """The record ``s`` (bytes) with ``header`` (an :class:`IRHeader` or a 4-sequence) in front.

    A number ``label`` is stored in the header (``flag`` becomes 0); anything else is converted
    to a float32 array, stored after the header, and ``flag`` becomes its size.

    >>> import mxref as mx
    >>> rec = mx.recordio.pack(mx.recordio.IRHeader(0, [1, 2], 7, 0), b'data')
    >>> len(rec), mx.recordio.unpack(rec)
    (36, (HEADER(flag=2, label=array([1., 2.], dtype=float32), id=7, id2=0), b'data'))
    """
    header = IRHeader(*header)
    if isinstance(s, str):
        raise MXNetTypeError('pack takes the record as bytes, not str (encode it first)')
    s = bytes(s)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.astype('<f4').tobytes() + s
    try:
        return IR_FORMAT.pack(*header) + s
    except struct.error as err:
        raise MXNetValueError('cannot pack %s: %s (flag and ids are unsigned, ids 64-bit)'
                              % (header, err)) from None


def unpack(s):
    """``(header, payload)`` of a record made by :func:`pack`: ``header.label`` is a float,
    or a float32 array when ``header.flag`` > 0."""
    s = bytes(s)
    if len(s) < IR_FORMAT.size:
        raise RecordIOFormatError('a record of %d bytes is too short for the %d-byte IRHeader'
                                  % (len(s), IR_FORMAT.size))
    header = IRHeader(*IR_FORMAT.unpack_from(s))
    s = s[IR_FORMAT.size:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise RecordIOFormatError('the IRHeader announces %d float32 labels (%d bytes) but '
                                      'only %d bytes follow it' % (header.flag, 4 * header.flag,
                                                                   len(s)))
        label = np.frombuffer(s, dtype='<f4', count=header.flag).astype(np.float32, copy=False)
        header = header._replace(label=label)
        s = s[4 * header.flag:]
    return header, s


# ----------------------------------------------------------------------------------------------
# images (Pillow)
# ----------------------------------------------------------------------------------------------
def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('mx.recordio.pack_img and unpack_img need an image codec: MXNet uses '
                          'OpenCV, mxref uses Pillow (pip install pillow)') from None
    return Image


def unpack_img(s, iscolor=-1):
    """``(header, image)`` of a record made by :func:`pack_img`: the image decoded as a numpy
    array in OpenCV's layout, ``(height, width)`` for grayscale, ``(height, width, 3)`` BGR,
    ``(height, width, 4)`` BGRA.

    ``iscolor`` is ``cv2.imdecode``'s flag: -1 keeps the stored channels, 0 gives grayscale,
    1 BGR.  The image is ``None`` when the payload is not a decodable image, as in MXNet.

    mxref decodes with Pillow, not OpenCV: lossless images (PNG) decode to the same pixels,
    JPEG decoders and grayscale conversion may differ by a few levels.
    """
    Image = _pillow()
    header, payload = unpack(s)
    try:
        img = Image.open(io.BytesIO(payload))
        img.load()
    except Exception:                     # pylint: disable=broad-except
        return header, None               # what cv2.imdecode reports, and MXNet returns
    if iscolor == 0:
        return header, np.asarray(img.convert('L'))
    has_alpha = img.mode in ('RGBA', 'LA', 'PA') or 'transparency' in img.info
    if iscolor < 0 and img.mode in ('L', '1'):
        return header, np.asarray(img.convert('L'))
    if iscolor < 0 and img.mode.startswith('I;16'):
        return header, np.asarray(img).astype(np.uint16)
    if iscolor < 0 and has_alpha:
        rgba = np.asarray(img.convert('RGBA'))
        return header, np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])
    rgb = np.asarray(img.convert('RGB'))
    return header, np.ascontiguousarray(rgb[:, :, ::-1])


def pack_img(header, img, quality=95, img_fmt='.jpg'):
    """:func:`pack` of the image ``img`` (a uint8 array in OpenCV's layout: ``(h, w)`` or
    ``(h, w, 1)`` grayscale, ``(h, w, 3)`` BGR, ``(h, w, 4)`` BGRA) encoded as ``img_fmt``.

    ``quality``: JPEG quality 1..100 for ``'.jpg'``/``'.jpeg'``, PNG compression level 0..9
    for ``'.png'`` (larger values count as 9, as in OpenCV).  Other extensions Pillow knows
    (``'.bmp'``, ...) are encoded with its defaults.

    mxref encodes with Pillow, not OpenCV: the encoded bytes differ from MXNet's (PNG still
    decodes to the same pixels).
    """
    Image = _pillow()
    array = np.asarray(img)
    if array.dtype != np.uint8:
        raise MXNetTypeError('pack_img encodes uint8 images, got %s' % array.dtype)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        picture = Image.fromarray(array, 'L')
    elif array.ndim == 3 and array.shape[2] == 3:
        picture = Image.fromarray(np.ascontiguousarray(array[:, :, ::-1]), 'RGB')
    elif array.ndim == 3 and array.shape[2] == 4:
        picture = Image.fromarray(np.ascontiguousarray(array[:, :, [2, 1, 0, 3]]), 'RGBA')
    else:
        raise MXNetValueError('pack_img takes a (h, w), (h, w, 1), (h, w, 3) or (h, w, 4) '
                              'image, got shape %s' % (array.shape,))
    ext = img_fmt.lower() if img_fmt.startswith('.') else '.' + img_fmt.lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise MXNetValueError('pack_img: unknown image format %r' % img_fmt)
    options = {}
    if fmt == 'JPEG':
        options['quality'] = int(quality)
        picture = picture.convert('RGB') if picture.mode == 'RGBA' else picture  # no alpha
    elif fmt == 'PNG':
        options['compress_level'] = min(max(int(quality), 0), 9)
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return pack(header, out.getvalue())
