"""``CSVIter``: batches from CSV files of numbers, one example per row."""
import numpy as np

from ..base import MXNetValueError
from ..ndarray import array
from .base import DataBatch, DataDesc, DataIter

__all__ = ['CSVIter']


def _read_csv(path, width, what):
    """The rows of a CSV file of numbers as a float32 (rows, width) array."""
    try:
        with open(path) as f:
            lines = [line.strip() for line in f]
    except OSError as err:
        raise MXNetValueError('CSVIter: cannot read %s %r: %s' % (what, path, err.strerror)) \
            from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            values = [float(v) for v in line.split(',')]
        except ValueError:
            raise MXNetValueError('CSVIter: %s %r line %d is not a row of numbers: %r'
                                  % (what, path, number, line[:80])) from None
        if len(values) != width:
            raise MXNetValueError('CSVIter: %s %r line %d has %d values, the shape needs %d'
                                  % (what, path, number, len(values), width))
        rows.append(values)
    return np.array(rows, dtype=np.float32).reshape(len(rows), width)


class CSVIter(DataIter):
    """Iterate over the rows of CSV files.

    Every row of ``data_csv`` is one example, reshaped to ``data_shape``; the matching row of
    ``label_csv`` is its label (all zeros without a label file).  A label of shape ``(1,)`` is
    served as a ``(batch,)`` array.

    The last batch follows MXNet's batch loader: with ``round_batch=True`` it is completed with
    examples from the start of the file (``pad`` counts them) and the next epoch continues after
    them; with ``round_batch=False`` the rest of the batch keeps the previous batch's examples
    (``pad`` counts them too).

    Parameters
    ----------
    data_csv : str
    data_shape : tuple of int
    label_csv : str, optional
    label_shape : tuple of int, default (1,)
    batch_size : int
    round_batch : bool, default True
    dtype : str, default 'float32'
    data_name, label_name : str
    """

    def __init__(self, data_csv, data_shape, label_csv=None, label_shape=(1,), batch_size=1,
                 round_batch=True, dtype='float32', data_name='data',
                 label_name='softmax_label', **kwargs):
        super().__init__(batch_size)
        data_shape, label_shape = tuple(data_shape), tuple(label_shape)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise MXNetValueError('CSVIter: batch_size must be >= 1, got %r' % (batch_size,))
        data = _read_csv(data_csv, int(np.prod(data_shape)), 'data_csv')
        if label_csv is not None:
            labels = _read_csv(label_csv, int(np.prod(label_shape)), 'label_csv')
            if len(labels) != len(data):
                raise MXNetValueError('CSVIter: %r has %d rows but %r has %d'
                                      % (data_csv, len(data), label_csv, len(labels)))
        else:
            labels = np.zeros((len(data), int(np.prod(label_shape))), dtype=np.float32)
        if len(data) < self.batch_size and round_batch:
            raise MXNetValueError('CSVIter: number of input must be bigger than batch size '
                                  '(%d rows, batch_size %d)' % (len(data), self.batch_size))
        served_label = label_shape if label_shape != (1,) else ()
        self._dtype = np.dtype(dtype)
        self._data = data.reshape((len(data),) + data_shape).astype(self._dtype)
        self._labels = labels.reshape((len(labels),) + served_label).astype(self._dtype)
        self.round_batch = round_batch
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + data_shape,
                                      self._dtype.type)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,) + served_label,
                                       self._dtype.type)]
        self._pos = 0                 # next row to read
        self._overflow = 0            # rows borrowed from the start by the last batch
        self._rows = np.zeros(self.batch_size, dtype=np.int64)   # rows of the current batch
        self._pad = 0

    def reset(self):
        if not self.round_batch or self._overflow == 0:
            self._pos = 0
        self._overflow = 0

    def iter_next(self):
        if self._overflow:
            return False
        count = len(self._data)
        take = min(self.batch_size, count - self._pos)
        if take <= 0:
            return False
        self._rows[:take] = np.arange(self._pos, self._pos + take)
        self._pos += take
        self._pad = 0
        if take < self.batch_size:
            missing = self.batch_size - take
            if self.round_batch:
                self._rows[take:] = np.arange(missing) % count
                self._pos = missing
                self._overflow = missing
            # without round_batch the tail keeps the previous batch's rows
            self._pad = missing
        return True

    def getdata(self):
        return [array(self._data[self._rows], dtype=self._dtype)]

    def getlabel(self):
        return [array(self._labels[self._rows], dtype=self._dtype)]

    def getindex(self):
        return self._rows.astype(np.uint64)

    def getpad(self):
        return self._pad

    def next(self):
        if not self.iter_next():
            raise StopIteration
        return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                         index=self.getindex())
