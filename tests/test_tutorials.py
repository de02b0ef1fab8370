"""Every tutorial script runs to the end (in its fast mode when it has one).

Tutorials are plain scripts: the docs build executes them too, so what the pages show is what
these runs print.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tutorial(name, *args, env=None):
    """Run ``tutorials/<name>`` with this Python; return its standard output."""
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    environment.update(env or {})
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tutorials', name)] + list(args),
                            cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, 'tutorial %s failed:\n%s\n%s' % (name, result.stdout,
                                                                   result.stderr)
    return result.stdout


def test_symbol_api_tutorial():
    out = run_tutorial('symbol_api.py')
    assert "arguments: ['A', 'B', 'C', 'D']" in out
    assert "outputs:   ['_plus0_output']" in out
    assert "['A', 'B', '_mul0_output', 'C', 'D', '_mul1_output', '_plus0_output']" in out
    assert 'E = [14]' in out
    assert 'round trip equal: True' in out


def test_ndarray_tutorial():
    out = run_tutorial('ndarray_basics.py')
    assert "['a', 'b']" in out


def test_kvstore_tutorial():
    """The numbers of MXNet's KVStore tutorial: 2, 8, 4 (sum of four pushes), 4 (updater
    installed), 6 (4 + 2*1 through the updater), 3 for a key list and 11 for lists of lists."""
    out = run_tutorial('kvstore.py')
    blocks = [line for line in out.splitlines() if line.startswith('[[')]
    values = [float(line.strip('[] ').split()[0]) for line in blocks]
    assert values == [2, 8, 4, 4, 6, 6, 3, 11]
    assert out.count('update on key: 3') == 1
    assert out.count('update on key: 7') == 2
    assert 'cpu(1)' in out
    assert 'local 0 1' in out
    assert "error: KVStore type 'dist_sync' is not supported" in out
