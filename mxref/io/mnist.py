"""``MNISTIter``: MNIST images and labels from IDX files, as MXNet's C++ iterator serves them."""
import numpy as np

from ..base import MXNetValueError, native_log
from ..ndarray import array
from .base import DataBatch, DataDesc, DataIter
from .idx import read_idx

__all__ = ['MNISTIter']


class MNISTIter(DataIter):
    """Iterate over MNIST (or any IDX image/label pair) in batches.

    Pixels are scaled by 1/256 into [0, 1) (as MXNet does), images come as
    ``(batch, 1, rows, cols)`` or, with ``flat=True``, ``(batch, rows * cols)``, labels as
    ``(batch,)`` float32.  Only whole batches are served: the last ``count % batch_size``
    examples are skipped.

    Parameters
    ----------
    image, label : str
        Paths of the IDX files, gzipped or not (``x.gz`` is used when ``x`` does not exist).
    batch_size : int, default 128
    shuffle : bool, default True
        Shuffle once, when the iterator is created, with a generator seeded by ``seed``.
        (The order differs from MXNet's, whose C++ ``std::shuffle`` is not reproducible here.)
    flat : bool, default False
    seed : int, default 0
    silent : bool, default False
        When False, write how many images were loaded to stderr, as MXNet does
        (``MNISTIter: load 60000 images, shuffle=1, shape=(100,784)``; through
        :data:`mxref.base.native_log`).
    num_parts, part_index : int, default 1, 0
        Read only part ``part_index`` of ``num_parts`` equal slices of the file (for
        distributed training).
    data_name, label_name : str
        The names in ``provide_data`` / ``provide_label``.
    """

    def __init__(self, image='./train-images-idx3-ubyte', label='./train-labels-idx1-ubyte',
                 batch_size=128, shuffle=True, flat=False, seed=0, silent=False, num_parts=1,
                 part_index=0, data_name='data', label_name='softmax_label', **kwargs):
        super().__init__(batch_size)
        if int(batch_size) < 1:
            raise MXNetValueError('MNISTIter: batch_size must be >= 1, got %r' % (batch_size,))
        if not 0 <= part_index < num_parts:
            raise MXNetValueError('MNISTIter: part_index must be in [0, num_parts), got %d of %d'
                                  % (part_index, num_parts))
        images = read_idx(image)
        labels = read_idx(label)
        if images.ndim != 3:
            raise MXNetValueError('MNISTIter: %r holds an array of shape %s, expected (count, '
                                  'rows, cols) images' % (image, images.shape))
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise MXNetValueError('MNISTIter: %r holds %s labels for %d images'
                                  % (label, labels.shape, images.shape[0]))
        start, end = (int(images.shape[0] / num_parts * k) for k in (part_index, part_index + 1))
        images, labels = images[start:end], labels[start:end]
        self._index = np.arange(start, end, dtype=np.uint64)
        if shuffle:
            order = np.random.RandomState(seed).permutation(len(labels))
            images, labels, self._index = images[order], labels[order], self._index[order]
        count, rows, cols = images.shape
        shape = (count, rows * cols) if flat else (count, 1, rows, cols)
        self._images = images.reshape(shape).astype(np.float32) * np.float32(1.0 / 256.0)
        self._labels = labels.astype(np.float32)
        self.batch_size = int(batch_size)
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + shape[1:], np.float32)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,), np.float32)]
        self._loc = 0
        self._batch = None
        if not silent:
            # MXNet's text, shape brackets included: a tuple when flat, a TShape otherwise
            dims = ','.join(str(n) for n in (self.batch_size,) + shape[1:])
            native_log.info('MNISTIter: load %d images, shuffle=%d, shape=%s', count,
                            int(shuffle), ('(%s)' if flat else '[%s]') % dims)

    @property
    def num_examples(self):
        """How many examples were loaded (this part, when the data is split)."""
        return len(self._labels)

    def reset(self):
        self._loc = 0

    def iter_next(self):
        if self._loc + self.batch_size > len(self._labels):
            return False
        begin, self._loc = self._loc, self._loc + self.batch_size
        self._batch = (begin, self._loc)
        return True

    def getdata(self):
        begin, end = self._batch
        return [array(self._images[begin:end], dtype=np.float32)]

    def getlabel(self):
        begin, end = self._batch
        return [array(self._labels[begin:end], dtype=np.float32)]

    def getindex(self):
        begin, end = self._batch
        return self._index[begin:end].copy()

    def getpad(self):
        return 0

    def next(self):
        if not self.iter_next():
            raise StopIteration
        return DataBatch(data=self.getdata(), label=self.getlabel(), pad=0,
                         index=self.getindex())
