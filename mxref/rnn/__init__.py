"""``mx.rnn``: recurrent cells that unroll into symbol graphs, and bucketed sentence data.

See :mod:`mxref.rnn.rnn_cell` for the cells, :mod:`mxref.rnn.rnn` for checkpoints with
unpacked weights and :mod:`mxref.rnn.io` for the data iterator.
"""
from . import rnn_cell
from .rnn_cell import *  # noqa: F401,F403  (the public cells, as mx.rnn.LSTMCell...)
from . import rnn
from .rnn import *  # noqa: F401,F403
from . import io
from .io import *  # noqa: F401,F403

__all__ = rnn_cell.__all__ + rnn.__all__ + io.__all__
