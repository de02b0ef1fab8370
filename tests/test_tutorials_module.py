"""The two Module tutorials run to the end: in their fast mode by default, in full with
``-m slow``.  Each runs in a fresh interpreter in a temporary folder (they write checkpoints
into the current directory, as MXNet's tutorials do)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tutorial(name, cwd, data_dir, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               MXREF_DATA_DIR=data_dir)
    env.pop('MXREF_DOCS_FAST', None)
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tutorials', name)] + list(args),
                            cwd=str(cwd), env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, 'tutorial %s failed:\n%s\n%s' % (name, result.stdout,
                                                                   result.stderr)
    return result.stdout, result.stderr


def _accuracy(text, label):
    return float(re.search(label + r' ([0-9.]+)', text).group(1))


def check_module_api(out, log, cwd, fast):
    assert "['data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'softmax_label']" in out
    assert 'Epoch 0, Training (\'accuracy\', ' in out
    assert re.search(r'INFO:root:Epoch\[0\] Train-accuracy=0\.\d{6}\n'
                     r'INFO:root:Epoch\[0\] Time cost=\d+\.\d{3}\n'
                     r'INFO:root:Epoch\[0\] Validation-accuracy=0\.\d{6}\n', log)
    assert 'INFO:root:Saved checkpoint to "mx_mlp-0001.params"' in log
    last = 'Epoch[2]' if fast else 'Epoch[20]'
    assert 'INFO:root:%s Train-accuracy=' % last in log
    assert _accuracy(out, 'Accuracy score is') > (0.5 if fast else 0.77)
    assert _accuracy(out, 'Accuracy score after resuming is') > (0.5 if fast else 0.77)
    files = sorted(os.listdir(str(cwd)))
    assert files[0] == 'mx_mlp-0001.params' and files[-1] == 'mx_mlp-symbol.json'


def check_module_synthetic(out, log, cwd, fast):
    assert '(1000, 100) (1000,)' in out
    assert '(800, 100) (200, 100) (800,) (200,)' in out
    assert 'The loaded module predicts exactly as the saved one.' in out
    epochs = 5 if fast else 50
    assert 'INFO:root:Saved optimizer state to "synthetic-%04d.states"' % epochs in log
    assert 'INFO:root:Epoch[%d] Train-accuracy=' % epochs in log      # the resumed run
    assert os.path.exists(os.path.join(str(cwd), 'synthetic-%04d.states' % epochs))
    valid = float(re.search(r'validation accuracy: ([0-9.]+)', out).group(1))
    assert valid < 0.3                                               # random labels


@pytest.mark.parametrize('name,check', [('module_api.py', check_module_api),
                                        ('module_synthetic.py', check_module_synthetic)])
def test_tutorial_fast(name, check, tmp_path, data_dir):
    out, log = run_tutorial(name, tmp_path, data_dir, '--fast')
    check(out, log, tmp_path, fast=True)


@pytest.mark.slow
@pytest.mark.parametrize('name,check', [('module_api.py', check_module_api),
                                        ('module_synthetic.py', check_module_synthetic)])
def test_tutorial_full(name, check, tmp_path, data_dir):
    out, log = run_tutorial(name, tmp_path, data_dir)
    check(out, log, tmp_path, fast=False)
