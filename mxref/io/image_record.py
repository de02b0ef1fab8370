"""``ImageRecordIter``: batches of images from a RecordIO ``.rec`` file (as ``im2rec`` writes)."""
import os

import numpy as np

from ..base import MXNetValueError
from ..ndarray import array
from ..recordio import MXRecordIO, RecordIOFormatError, unpack
from .base import DataBatch, DataDesc, DataIter

__all__ = ['ImageRecordIter']

# MXNet parameters that only tune its C++ threads and buffers: accepted, no effect here
_IGNORED = ('preprocess_threads', 'prefetch_buffer', 'verbose', 'ctx', 'dtype', 'shuffle_chunk_size',
            'shuffle_chunk_seed', 'seed_aug', 'inter_method', 'device_id')


class ImageRecordIter(DataIter):
    """Iterate over the images of a RecordIO file in ``(batch, 3, height, width)`` batches.

    Each record (an :class:`~mxref.recordio.IRHeader` and an encoded image, as
    ``mx.recordio.pack`` makes them) is decoded to RGB, its shorter side resized to
    ``resize`` (when > 0, bilinear), cropped to ``data_shape`` (centred, or at a random
    position with ``rand_crop``), mirrored with probability 1/2 when ``rand_mirror``, and
    normalised: ``(pixel - mean) / std * scale`` per channel, as float32.

    The last batch is completed with examples from the start of the file when ``round_batch``
    (its ``pad`` counts them) and, as in MXNet, the next epoch then starts after those
    examples; without ``round_batch`` it is completed with zeros.

    Parameters
    ----------
    path_imgrec : str
        The ``.rec`` file.
    data_shape : tuple
        ``(channels, height, width)``; channels 3 (RGB) or 1 (grayscale).
    batch_size : int
    label_width : int, default 1
        Labels per image (``(batch,)`` labels when 1, ``(batch, label_width)`` otherwise).
    shuffle : bool, default False
        Reorder the records at each reset (with a generator seeded by ``seed``; the order
        differs from MXNet's).
    mean_r, mean_g, mean_b, std_r, std_g, std_b, scale : float
    rand_crop, rand_mirror : bool, default False
    resize : int, default -1
    path_imgidx : str, optional
        Accepted (the record offsets are found by reading the file).
    num_parts, part_index : int, default 1, 0
        Read only the records that start in byte range ``part_index`` of ``num_parts`` equal
        ranges of the file, as MXNet splits it.
    round_batch : bool, default True
    seed : int, default 0
    data_name, label_name : str

    Where mxref differs from MXNet: without ``round_batch`` the last batch's ``pad`` counts the
    zero-filled examples (MXNet 1.9.1 reports 0); ``index`` holds the records' ids (MXNet's are
    0); images smaller than the crop are an error.
    """

    def __init__(self, path_imgrec, data_shape, batch_size, label_width=1, shuffle=False,
                 mean_r=0.0, mean_g=0.0, mean_b=0.0, std_r=1.0, std_g=1.0, std_b=1.0, scale=1.0,
                 rand_crop=False, rand_mirror=False, resize=-1, path_imgidx=None, num_parts=1,
                 part_index=0, round_batch=True, seed=0, data_name='data',
                 label_name='softmax_label', **kwargs):
        super().__init__(int(batch_size))
        unknown = sorted(set(kwargs) - set(_IGNORED))
        if unknown:
            raise MXNetValueError('ImageRecordIter: unsupported parameters %s' % ', '.join(unknown))
        data_shape = tuple(int(n) for n in data_shape)
        if len(data_shape) != 3 or data_shape[0] not in (1, 3):
            raise MXNetValueError('ImageRecordIter: data_shape must be (3 or 1, height, width), '
                                  'got %s' % (data_shape,))
        if self.batch_size < 1:
            raise MXNetValueError('ImageRecordIter: batch_size must be >= 1')
        if not 0 <= part_index < num_parts:
            raise MXNetValueError('ImageRecordIter: part_index must be in [0, num_parts), got '
                                  '%d of %d' % (part_index, num_parts))
        self.path_imgrec = os.fspath(path_imgrec)
        self.data_shape = data_shape
        self.label_width = int(label_width)
        self.shuffle = bool(shuffle)
        self.rand_crop, self.rand_mirror = bool(rand_crop), bool(rand_mirror)
        self.resize = int(resize)
        self.round_batch = bool(round_batch)
        self._mean = np.array([mean_r, mean_g, mean_b][:data_shape[0]], np.float32)[:, None, None]
        self._std = np.array([std_r, std_g, std_b][:data_shape[0]], np.float32)[:, None, None]
        self._scale = np.float32(scale)
        self._rng = np.random.RandomState(seed)
        self._record = MXRecordIO(self.path_imgrec, 'r')
        self._offsets = self._part_offsets(int(num_parts), int(part_index))
        if len(self._offsets) < self.batch_size and self.round_batch:
            where = self.path_imgrec if int(num_parts) == 1 else 'part %d of %d of %s' % (
                int(part_index), int(num_parts), self.path_imgrec)
            raise MXNetValueError('ImageRecordIter: %s holds %d images, fewer than batch_size %d'
                                  % (where, len(self._offsets), self.batch_size))
        label_shape = (self.batch_size,) if self.label_width == 1 else (self.batch_size,
                                                                        self.label_width)
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + data_shape, np.float32)]
        self.provide_label = [DataDesc(label_name, label_shape, np.float32)]
        self._order = np.arange(len(self._offsets))
        self._cursor = 0
        self._overflow = 0
        self._new_epoch()

    def _part_offsets(self, num_parts, part_index):
        """Byte offsets of the records of this part: those starting in its byte range (the
        file cut in ``num_parts`` ranges of equal size, rounded up to 4 bytes)."""
        offsets = []
        while True:
            at = self._record._file.tell()
            if self._record.read() is None:
                break
            offsets.append(at)
        total = self._record._file.tell()
        step = (total + num_parts - 1) // num_parts
        step = (step + 3) // 4 * 4
        begin, end = min(step * part_index, total), min(step * (part_index + 1), total)
        return [at for at in offsets if begin <= at < end]

    def _new_epoch(self):
        self._cursor = 0
        if self.shuffle:
            self._order = self._rng.permutation(len(self._offsets))

    def reset(self):
        if not self.round_batch or self._overflow == 0:
            self._new_epoch()
        self._overflow = 0

    def _load(self, position):
        """The preprocessed image (CHW float32), labels and id of the record at ``position``."""
        from .. import image
        offset = self._offsets[self._order[position]]
        self._record._file.seek(offset)
        channels, height, width = self.data_shape
        try:
            header, payload = unpack(self._record.read())
            pixels = image.decode_numpy(payload, flag=1 if channels == 3 else 0)
        except (RecordIOFormatError, image.ImageDecodeError) as err:
            raise type(err)('ImageRecordIter: %s: the record at byte offset %d: %s'
                            % (self.path_imgrec, offset, err)) from None
        if self.resize > 0:
            h, w = pixels.shape[:2]
            new_h, new_w = ((self.resize * h // w, self.resize) if h > w
                            else (self.resize, self.resize * w // h))
            pixels = image._resize_numpy(pixels, new_w, new_h, 1)
        h, w = pixels.shape[:2]
        if h < height or w < width:
            raise MXNetValueError('ImageRecordIter: image %d of %s is %dx%d, smaller than the '
                                  'crop %dx%d (use resize)' % (header.id, self.path_imgrec, w, h,
                                                               width, height))
        if self.rand_crop:
            y0, x0 = self._rng.randint(0, h - height + 1), self._rng.randint(0, w - width + 1)
        else:
            y0, x0 = (h - height) // 2, (w - width) // 2
        pixels = pixels[y0:y0 + height, x0:x0 + width]
        if self.rand_mirror and self._rng.randint(2):
            pixels = pixels[:, ::-1]
        data = pixels.transpose(2, 0, 1).astype(np.float32)
        data = (data - self._mean) / self._std * self._scale
        label = np.atleast_1d(np.asarray(header.label, np.float32))
        if label.size < self.label_width:
            raise MXNetValueError('ImageRecordIter: image %d of %s has %d labels, label_width '
                                  'is %d' % (header.id, self.path_imgrec, label.size,
                                             self.label_width))
        return data, label[:self.label_width], header.id

    def next(self):
        if self._overflow:
            raise StopIteration
        data = np.zeros((self.batch_size,) + self.data_shape, np.float32)
        label = np.zeros((self.batch_size, self.label_width), np.float32)
        index = np.zeros(self.batch_size, np.uint64)
        top = 0
        while top < self.batch_size and self._cursor < len(self._offsets):
            data[top], label[top], index[top] = self._load(self._cursor)
            top, self._cursor = top + 1, self._cursor + 1
        if top == 0:
            raise StopIteration
        pad = self.batch_size - top
        if pad and self.round_batch:
            self._new_epoch()
            for slot in range(top, self.batch_size):
                data[slot], label[slot], index[slot] = self._load(self._cursor)
                self._cursor += 1
            self._overflow = pad
        if self.label_width == 1:
            label = label[:, 0]
        return DataBatch(data=[array(data, dtype=np.float32)],
                         label=[array(label, dtype=np.float32)], pad=pad, index=index,
                         provide_data=self.provide_data, provide_label=self.provide_label)

    def iter_next(self):
        raise NotImplementedError('ImageRecordIter serves batches through next()')
