"""``mx.io``: data iterators.

>>> import numpy as np
>>> import mxref as mx
>>> it = mx.io.NDArrayIter(np.zeros((10, 3)), np.arange(10), batch_size=4, shuffle=True)
>>> [batch.pad for batch in it]
[0, 0, 2]
"""
from .base import DataDesc, DataBatch, DataIter
from .ndarray_iter import NDArrayIter
from .wrappers import ResizeIter, PrefetchingIter
from .csv_iter import CSVIter
from .mnist import MNISTIter
from .idx import read_idx, parse_idx, IDXFormatError
from .image_record import ImageRecordIter

__all__ = ['DataDesc', 'DataBatch', 'DataIter', 'NDArrayIter', 'ResizeIter', 'PrefetchingIter',
           'CSVIter', 'MNISTIter', 'read_idx', 'parse_idx', 'IDXFormatError',
           'ImageRecordIter']
