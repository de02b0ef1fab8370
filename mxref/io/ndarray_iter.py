"""``NDArrayIter``: batches from arrays held in memory.

The iterator keeps a cursor, the index of the first example of the current batch.  ``reset``
puts it at ``-batch_size`` and each batch advances it by ``batch_size``.  What happens to the
last, incomplete batch is set by ``last_batch_handle``:

``'pad'``
    the batch is filled up with examples from the start of the data; ``pad`` says how many.
``'discard'``
    the incomplete batch is dropped.
``'roll_over'``
    the incomplete batch is kept back and completed with the first examples of the *next*
    epoch (``reset`` starts the cursor before 0 so the next epoch begins with it; that batch
    reports the carried examples as ``pad``).
"""
from collections import OrderedDict

import numpy as np

from ..base import MXNetTypeError, MXNetValueError
from ..ndarray import NDArray, array, concatenate
from ..ndarray import op as nd_op
from .base import DataBatch, DataDesc, DataIter

__all__ = ['NDArrayIter']

LAST_BATCH_HANDLES = ('pad', 'discard', 'roll_over')


def _init_data(data, allow_empty, default_name):
    """Inputs as a sorted list of ``(name, NDArray)``.

    Accepts one array, a list of arrays (named ``default_name`` when there is one, else
    ``_0_<default_name>``, ``_1_<default_name>``...) or a dict ``{name: array}``.  NumPy and
    other array-likes become float32 NDArrays, as MXNet's ``mx.nd.array`` makes them.
    """
    if data is None:
        if not allow_empty:
            raise MXNetValueError('NDArrayIter: data must be given')
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise MXNetValueError('NDArrayIter: data must not be an empty list')
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict(('_%d_%s' % (i, default_name), d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise MXNetTypeError('Input must be NDArray, numpy.ndarray, a list of them or dict with '
                             'them as values, got %s' % type(data).__name__)
    result = {}
    for name, value in data.items():
        if isinstance(value, NDArray):
            result[name] = value
            continue
        try:
            result[name] = array(value, dtype=np.float32)
        except Exception:
            raise MXNetTypeError("Invalid type '%s' for %s, should be NDArray or numpy.ndarray"
                                 % (type(value).__name__, name)) from None
    return sorted(result.items())


class NDArrayIter(DataIter):
    """Iterate over NDArrays or NumPy arrays in batches.

    Parameters
    ----------
    data : array, list of arrays or dict of str to array
        The input data; arrays are split along their first axis (the batch axis of ``layout``).
    label : array, list of arrays or dict, optional
        The labels, the same way.
    batch_size : int, default 1
    shuffle : bool, default False
        Shuffle the examples at every :meth:`reset` (with NumPy's global generator, as MXNet).
    last_batch_handle : {'pad', 'discard', 'roll_over'}, default 'pad'
        What to do with the last incomplete batch (see the module docstring).
    data_name, label_name : str
        Names used when ``data`` / ``label`` are not dicts.
    layout : str, default 'NCHW'
        The position of ``N`` is the batch axis.

    >>> import numpy as np
    >>> it = NDArrayIter(np.arange(10).reshape(5, 2), np.arange(5), batch_size=2)
    >>> [(b.data[0].shape, b.pad) for b in it]
    [((2, 2), 0), ((2, 2), 0), ((2, 2), 1)]
    >>> it.provide_label
    [DataDesc[softmax_label,(2,),<class 'numpy.float32'>,NCHW]]
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle='pad',
                 data_name='data', label_name='softmax_label', layout='NCHW'):
        super().__init__(batch_size)
        if last_batch_handle not in LAST_BATCH_HANDLES:
            raise MXNetValueError("NDArrayIter: last_batch_handle must be one of %s, got %r"
                                  % (LAST_BATCH_HANDLES, last_batch_handle))
        if int(batch_size) < 1:
            raise MXNetValueError('NDArrayIter: batch_size must be >= 1, got %r' % (batch_size,))
        self.layout = layout
        self._axis = DataDesc.get_batch_axis(layout)
        if self._axis < 0:
            raise MXNetValueError("NDArrayIter: layout %r has no batch axis 'N'" % layout)
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        self.num_data = self.data[0][1].shape[self._axis]
        for name, value in self.data + self.label:
            if value.shape[self._axis] != self.num_data:
                raise MXNetValueError('NDArrayIter: %s has %d examples but %s has %d; every '
                                      'input needs the same number'
                                      % (name, value.shape[self._axis], self.data[0][0],
                                         self.num_data))
        self.idx = np.arange(self.num_data)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    def _descs(self, sources):
        axis = self._axis
        return [DataDesc(name, value.shape[:axis] + (self.batch_size,) + value.shape[axis + 1:],
                         value.dtype, layout=self.layout) for name, value in sources]

    @property
    def provide_data(self):
        """``[DataDesc]`` of the data inputs, with the batch size on the batch axis."""
        return self._descs(self.data)

    @property
    def provide_label(self):
        """``[DataDesc]`` of the labels ([] without labels)."""
        return self._descs(self.label)

    def hard_reset(self):
        """Back to the very start, forgetting any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        """Back to the start (after the carried examples, with ``roll_over``)."""
        if self.shuffle:
            self._shuffle_data()
        if (self.last_batch_handle == 'roll_over'
                and self.num_data - self.batch_size < self.cursor < self.num_data):
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            # an incomplete last batch: kept for the next epoch (roll_over) or dropped (discard)
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    # ------------------------------------------------------------------ slicing
    def _getdata(self, sources, start=None, end=None):
        """Examples [start, end) of every source (views when the batch axis is the first)."""
        start = 0 if start is None else start
        end = self.num_data if end is None else end
        if self._axis == 0:
            return [value[start:end] for _, value in sources]
        return [nd_op.slice_axis(value, axis=self._axis, begin=start, end=end)
                for _, value in sources]

    def _concat(self, first, second):
        if not first or not second:
            return first if first else second
        return [concatenate([a, b], axis=self._axis) for a, b in zip(first, second)]

    def _batchify(self, sources):
        if self.cursor >= self.num_data:
            raise MXNetValueError('DataIter needs reset.')
        if self.last_batch_handle == 'roll_over' and -self.batch_size < self.cursor < 0:
            cached = self._cache_data if self._cache_data is not None else self._cache_label
            if cached is None:
                raise MXNetValueError('NDArrayIter: the next epoch should start with the '
                                      'rolled-over examples, but none were kept')
            second = self._getdata(sources, end=self.cursor + self.batch_size)
            if self._cache_data is not None:
                self._cache_data = None
            else:
                self._cache_label = None
            return self._concat(cached, second)
        if self.last_batch_handle == 'pad' and self.cursor + self.batch_size > self.num_data:
            pad = self.batch_size - self.num_data + self.cursor
            first = self._getdata(sources, start=self.cursor)
            if pad > self.num_data:             # the data is smaller than the padding needed
                whole = self._getdata(sources, end=self.num_data)
                second = whole
                for _ in range(pad // self.num_data - 1):
                    second = self._concat(second, whole)
                if pad % self.num_data:
                    second = self._concat(second, self._getdata(sources, end=pad % self.num_data))
            else:
                second = self._getdata(sources, end=pad)
            return self._concat(first, second)
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._getdata(sources, self.cursor, end)

    def getdata(self):
        return self._batchify(self.data)

    def getlabel(self):
        return self._batchify(self.label)

    def getpad(self):
        if self.last_batch_handle == 'pad' and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == 'roll_over' and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        np.random.shuffle(self.idx)
        self.data = [(name, _take_rows(value, self.idx, self._axis)) for name, value in self.data]
        self.label = [(name, _take_rows(value, self.idx, self._axis))
                      for name, value in self.label]


def _take_rows(value, idx, axis):
    """A new NDArray with the examples of ``value`` in the order ``idx``."""
    host = value.asnumpy()
    return array(np.take(host, idx, axis=axis), ctx=value.context, dtype=host.dtype)
