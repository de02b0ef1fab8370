"""mxref: Apache MXNet 1.x's classic API, re-implemented as readable Python.

Use it as MXNet::

    import mxref as mx
    a = mx.nd.ones((2, 3))
    net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=10)
"""
__version__ = '0.1.0'

from . import base
from .base import MXNetError
from .context import Context, cpu, gpu, cpu_pinned, current_context
from . import context
from . import name
from .attribute import AttrScope
from . import attribute
from . import ndarray
from . import ndarray as nd
from . import random
from . import symbol
from . import symbol as sym
from .symbol import Symbol
from .executor import Executor
from . import test_utils
from . import registry
from . import initializer
from . import initializer as init
from . import lr_scheduler
from . import optimizer
from . import io
from . import recordio
from . import image
from . import metric
from . import callback
from . import monitor
from . import monitor as mon
from . import kvstore
from . import kvstore as kv
from . import model
from . import module
from . import module as mod
from . import datasets
from . import visualization
from . import visualization as viz
from . import rnn
from . import profiler
