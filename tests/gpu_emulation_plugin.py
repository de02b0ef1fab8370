"""A pytest plugin that gives the whole test suite an emulated ``mx.gpu(0)``.

Every test that takes the ``ctx`` fixture then also runs on the GPU backend, with the device
emulated on the host (see ``gpu_emulator.py``)::

    PYTHONPATH=tests python -m pytest -p gpu_emulation_plugin tests -k gpu
    PYTHONPATH=tests MXREF_EMULATED_GPU=threads python -m pytest -p gpu_emulation_plugin tests -k gpu

The default mode replaces the kernel bodies by NumPy; ``threads`` runs the real CUDA kernels
compiled for the host (slow the first time: each module is compiled by g++, then cached).
The patch is applied by a hook that runs only when the module is loaded with ``-p`` (merely
importing it, as doctest collection does, changes nothing), before ``tests/conftest.py``
decides which devices exist.  A check for machines without a GPU, never a substitute for
running on one.
"""
import os
import sys

import pytest

_ACTIVE = []


def pytest_load_initial_conftests(early_config, parser, args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gpu_emulator import emulated_gpu
    patch = pytest.MonkeyPatch()
    emulation = emulated_gpu(patch, os.environ.get('MXREF_EMULATED_GPU', 'numpy'))
    emulation.__enter__()
    _ACTIVE.append((emulation, patch))


def pytest_unconfigure(config):
    while _ACTIVE:
        emulation, patch = _ACTIVE.pop()
        emulation.__exit__(None, None, None)
        patch.undo()
