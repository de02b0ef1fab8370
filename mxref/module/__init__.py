"""``mx.mod``: modules, the training API built on executors.

>>> import mxref as mx
>>> mx.mod.Module is mx.module.Module
True
"""
from .base_module import BaseModule, ModuleStateError
from .module import Module
from .executor_group import DataParallelExecutorGroup

__all__ = ['BaseModule', 'Module', 'ModuleStateError', 'DataParallelExecutorGroup']
