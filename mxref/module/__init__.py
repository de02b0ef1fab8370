"""``mx.mod``: modules, the training API built on executors.

>>> import mxref as mx
>>> mx.mod.Module is mx.module.Module
True
"""
from .base_module import BaseModule, ModuleStateError
from .module import Module
from .executor_group import DataParallelExecutorGroup
from .bucketing_module import BucketingModule
from .sequential_module import SequentialModule
from .python_module import PythonModule, PythonLossModule

__all__ = ['BaseModule', 'Module', 'ModuleStateError', 'DataParallelExecutorGroup',
           'BucketingModule', 'SequentialModule', 'PythonModule', 'PythonLossModule']
