"""``mx.monitor.Monitor``: statistics of outputs, weights and gradients while training.

Install a monitor on executors (``Module.install_monitor`` or ``fit(monitor=...)``); every
``interval`` batches it collects a statistic (default ``norm(x) / sqrt(size)``) of each
operator output after its forward, of each gradient an operator computes in backward
(``fc1_backward_output1``: see :meth:`mxref.executor.Executor.set_monitor_callback` for the
names) and, at ``toc``, of each argument and auxiliary state whose name matches ``pattern``,
and logs lines such as::

    Batch:       1 fc1_output                     0.4027161

>>> import mxref as mx
>>> net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=2, name='fc1')
>>> exe = net.simple_bind(mx.cpu(), data=(1, 3))
>>> mon = Monitor(1, pattern='fc1_output')
>>> mon.install(exe)
>>> mon.tic(); _ = exe.forward(); [name for _, name, _ in mon.toc()]
['fc1_output']
"""
import logging
import re
from math import sqrt

import numpy as np

from .base import MXNetTypeError
from .ndarray import NDArray, array

__all__ = ['Monitor']


def _norm_stat(x):
    """norm(x) / sqrt(x.size), as an NDArray of shape (1,)."""
    host = x.asnumpy().astype(np.float64)
    return array([np.sqrt(np.sum(host * host)) / sqrt(max(x.size, 1))], dtype=np.float32)


class Monitor:
    """Collect statistics of tensors every ``interval`` batches.

    Parameters
    ----------
    interval : int
        Collect on every ``interval``-th batch.
    stat_func : callable, optional
        NDArray -> NDArray (or list of them); default ``norm(x) / sqrt(x.size)``.
    pattern : str, default '.*'
        Regular expression; only tensors whose names match are collected.
    sort : bool, default False
        Sort the results by name.
    monitor_all : bool, default False
        Also monitor operator inputs (only outputs otherwise).
    """

    def __init__(self, interval, stat_func=None, pattern='.*', sort=False, monitor_all=False):
        self.stat_func = stat_func if stat_func is not None else _norm_stat
        self.interval = interval
        self.activated = False
        self.queue = []
        self.step = 0
        self.exes = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

        def stat_helper(name, arr):
            if not self.activated or not self.re_prog.match(name):
                return
            self.queue.append((self.step, name, self.stat_func(arr)))
        self.stat_helper = stat_helper

    def install(self, exe):
        """Install on an executor (several executors may share one monitor)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Call before forward: start collecting if this batch is one to monitor."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """Call after the batch: add the arguments and states, return the collected
        ``[(step, name, text)]`` and stop collecting."""
        if not self.activated:
            return []
        for exe in self.exes:
            symbol = exe.symbol
            for name, arr in zip(symbol.list_arguments(), exe.arg_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(arr)))
            for name, arr in zip(symbol.list_auxiliary_states(), exe.aux_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(arr)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda item: item[1])
        results = []
        for step, name, values in self.queue:
            if isinstance(values, NDArray):
                values = [values]
            if not isinstance(values, list):
                raise MXNetTypeError('Monitor: stat_func must return an NDArray or a list of '
                                     'them, got %s' % type(values).__name__)
            text = ''
            for value in values:
                if not isinstance(value, NDArray):
                    raise MXNetTypeError('Monitor: stat_func returned a %s, expected NDArray'
                                         % type(value).__name__)
                if value.shape == (1,):
                    text += str(value.asscalar()) + '\t'
                else:
                    text += str(value.asnumpy()) + '\t'
            results.append((step, name, text))
        self.queue = []
        return results

    def toc_print(self):
        """:meth:`toc`, logging each result."""
        for step, name, text in self.toc():
            logging.info('Batch: {:7d} {:30s} {:s}'.format(step, name, text))
