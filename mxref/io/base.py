"""The data-iterator protocol: :class:`DataDesc`, :class:`DataBatch` and :class:`DataIter`.

Training code only ever asks an iterator for batches::

    it.reset()                       # back to the start of the data
    for batch in it:                 # DataBatch(data=[NDArray...], label=[NDArray...], pad=k)
        ...
    it.provide_data                  # [DataDesc('data', (batch_size, ...)), ...]

``pad`` counts the examples at the end of the last batch that only fill it up (prediction
drops them).
"""
from collections import namedtuple

import numpy as np

from ..base import MXNetTypeError

__all__ = ['DataDesc', 'DataBatch', 'DataIter']


class DataDesc(namedtuple('DataDesc', ['name', 'shape'])):
    """The name, shape, dtype and layout of one input of a network.

    A ``DataDesc`` is a ``(name, shape)`` tuple with two more attributes: ``dtype`` (default
    ``numpy.float32``) and ``layout`` (default ``'NCHW'``; the position of ``N`` is the batch
    axis).

    >>> d = DataDesc('data', (32, 16))
    >>> d
    DataDesc[data,(32, 16),<class 'numpy.float32'>,NCHW]
    >>> name, shape = d
    >>> DataDesc.get_batch_axis('TNC')
    1
    """

    def __new__(cls, name, shape, dtype=np.float32, layout='NCHW'):
        desc = super().__new__(cls, name, shape)
        desc.dtype = dtype
        desc.layout = layout
        return desc

    def __repr__(self):
        return 'DataDesc[%s,%s,%s,%s]' % (self.name, self.shape, self.dtype, self.layout)

    def __getnewargs__(self):
        return (self.name, self.shape, self.dtype, self.layout)

    @staticmethod
    def get_batch_axis(layout):
        """The batch axis of ``layout`` (the position of 'N'; 0 when the layout is None, -1
        when it has no 'N')."""
        if layout is None:
            return 0
        return layout.find('N')

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from ``[(name, shape)]`` and optionally ``[(name, dtype)]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(name, shape, type_dict[name]) for name, shape in shapes]
        return [DataDesc(name, shape) for name, shape in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, plus bookkeeping.

    Parameters
    ----------
    data : list of NDArray
    label : list of NDArray, optional
    pad : int, optional
        How many examples at the end only pad the batch to its size.
    index : numpy.ndarray, optional
        The indices of the examples in the batch.
    bucket_key : optional
        The bucket this batch belongs to (BucketingModule).
    provide_data, provide_label : list of DataDesc, optional
        Shapes of this batch when they differ from the iterator's.
    """

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise MXNetTypeError('Data must be list of NDArrays, got %s' % type(data).__name__)
        if label is not None and not isinstance(label, (list, tuple)):
            raise MXNetTypeError('Label must be list of NDArrays, got %s' % type(label).__name__)
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [l.shape for l in self.label] if self.label else None
        return '{}: data shapes: {} label shapes: {}'.format(type(self).__name__, data_shapes,
                                                            label_shapes)


class DataIter:
    """Base class of data iterators.

    Subclasses implement :meth:`reset` and either :meth:`next` or the four methods it uses
    (:meth:`iter_next`, :meth:`getdata`, :meth:`getlabel`, :meth:`getpad`), and set
    ``provide_data`` / ``provide_label``.  Iterating an iterator yields its batches until
    ``StopIteration``; it does not reset itself.
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the start of the data."""

    def next(self):
        """The next :class:`DataBatch`; raises ``StopIteration`` at the end of the data."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; False at the end."""
        return False

    def getdata(self):
        """The data NDArrays of the current batch."""

    def getlabel(self):
        """The label NDArrays of the current batch."""

    def getindex(self):
        """The indices of the current batch's examples (None if unknown)."""
        return None

    def getpad(self):
        """How many examples at the end of the current batch are padding."""
