"""Shared fixtures: the contexts to test on, and the datasets/fixtures folders.

``ctx`` runs a test once per available device (always the CPU, the GPU when PyCUDA sees one).
Datasets come from ``MXREF_DATA_DIR``; a test needing one skips with the reason when it is
absent, except under CI (``CI=true``) where a missing dataset fails the run.
"""
import os

import numpy as np
import pytest

import mxref as mx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, '..', 'shared', 'fixtures', 'mxnet-1.9.1')


def _contexts():
    contexts = [pytest.param(mx.cpu(), id='cpu')]
    contexts.append(pytest.param(mx.gpu(0), id='gpu', marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(mx.context.num_gpus() == 0, reason='no GPU visible to PyCUDA')]))
    return contexts


@pytest.fixture(params=_contexts())
def ctx(request):
    """Each available device in turn."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    np.random.seed(1234)
    mx.random.seed(1234)


def _require_dir(path, what):
    if os.path.isdir(path):
        return path
    message = '%s not found at %s' % (what, path)
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(message + ' (CI must have it)')
    pytest.skip(message)


@pytest.fixture
def fixtures_dir():
    """../shared/fixtures/mxnet-1.9.1: files written by the real MXNet 1.9.1."""
    return _require_dir(os.path.abspath(FIXTURES), 'MXNet 1.9.1 fixtures')


@pytest.fixture
def data_dir():
    """The datasets folder named by MXREF_DATA_DIR (../shared/data in CI)."""
    path = os.environ.get('MXREF_DATA_DIR', os.path.join(ROOT, '..', 'shared', 'data'))
    return _require_dir(os.path.abspath(path), 'dataset folder (set MXREF_DATA_DIR)')
