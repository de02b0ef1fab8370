"""Iterators wrapping other iterators: ``ResizeIter`` (a fixed number of batches per epoch) and
``PrefetchingIter`` (read ahead in a background thread)."""
import threading

from ..base import MXNetValueError
from .base import DataBatch, DataDesc, DataIter

__all__ = ['ResizeIter', 'PrefetchingIter']


class ResizeIter(DataIter):
    """Make an epoch of ``data_iter`` exactly ``size`` batches long.

    When the wrapped iterator runs out first it is reset and read again; with
    ``reset_internal=False`` a reset of this iterator does not reset the wrapped one, so
    successive epochs continue where the last one stopped.

    >>> import numpy as np
    >>> from mxref.io import NDArrayIter
    >>> it = ResizeIter(NDArrayIter(np.zeros((100, 10)), batch_size=25), 6)
    >>> len(list(it))
    6
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, 'default_bucket_key'):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class PrefetchingIter(DataIter):
    """Read the next batch of one or more iterators in background threads.

    Each wrapped iterator gets a thread that fetches its next batch while the current one is
    being used; a batch joins the data (and labels) of all the iterators, in order.

    Parameters
    ----------
    iters : DataIter or list of DataIter
    rename_data, rename_label : list of dict, optional
        ``{old name: new name}`` per iterator, to rename the inputs they provide.

    >>> import numpy as np
    >>> from mxref.io import NDArrayIter
    >>> it = PrefetchingIter(NDArrayIter(np.zeros((100, 10)), batch_size=25))
    >>> [b.data[0].shape for b in it]
    [(25, 10), (25, 10), (25, 10), (25, 10)]
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise MXNetValueError('PrefetchingIter: needs at least one iterator')
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.data_ready = [threading.Event() for _ in range(self.n_iter)]
        self.data_taken = [threading.Event() for _ in range(self.n_iter)]
        for event in self.data_taken:
            event.set()
        self.started = True
        self.current_batch = None
        self.next_batch = [None] * self.n_iter
        self._errors = [None] * self.n_iter
        self.prefetch_threads = [threading.Thread(target=self._prefetch, args=(i,), daemon=True)
                                 for i in range(self.n_iter)]
        for thread in self.prefetch_threads:
            thread.start()

    def _prefetch(self, i):
        """Thread body: wait until the last batch was taken, then fetch the next one."""
        while True:
            self.data_taken[i].wait()
            if not self.started:
                break
            try:
                self.next_batch[i] = self.iters[i].next()
            except StopIteration:
                self.next_batch[i] = None
            except Exception as err:              # handed to the consumer, raised there
                self.next_batch[i] = None
                self._errors[i] = err
            self.data_taken[i].clear()
            self.data_ready[i].set()

    def close(self):
        """Stop the background threads."""
        if not getattr(self, 'started', False):
            return
        self.started = False
        for event in self.data_taken:
            event.set()
        for thread in self.prefetch_threads:
            thread.join()

    def __del__(self):
        self.close()

    def _renamed(self, renames, attribute):
        if renames is None:
            return sum([getattr(it, attribute) for it in self.iters], [])
        return sum([[DataDesc(rename[d.name], d.shape, d.dtype) if isinstance(d, DataDesc)
                     else DataDesc(*d) for d in getattr(it, attribute)]
                    for rename, it in zip(renames, self.iters)], [])

    @property
    def provide_data(self):
        return self._renamed(self.rename_data, 'provide_data')

    @property
    def provide_label(self):
        return self._renamed(self.rename_label, 'provide_label')

    def reset(self):
        for event in self.data_ready:
            event.wait()
        for it in self.iters:
            it.reset()
        for event in self.data_ready:
            event.clear()
        for event in self.data_taken:
            event.set()

    def iter_next(self):
        for event in self.data_ready:
            event.wait()
        for i, err in enumerate(self._errors):
            if err is not None:
                self._errors[i] = None
                raise err
        if self.next_batch[0] is None:
            if any(b is not None for b in self.next_batch):
                raise MXNetValueError('Number of entry mismatches between iterators')
            return False
        for batch in self.next_batch:
            if batch is None or batch.pad != self.next_batch[0].pad:
                raise MXNetValueError('Number of entry mismatches between iterators')
        self.current_batch = DataBatch(sum([b.data for b in self.next_batch], []),
                                       sum([list(b.label or []) for b in self.next_batch], []),
                                       self.next_batch[0].pad, self.next_batch[0].index,
                                       provide_data=self.provide_data,
                                       provide_label=self.provide_label)
        for event in self.data_ready:
            event.clear()
        for event in self.data_taken:
            event.set()
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad
