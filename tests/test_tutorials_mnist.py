"""The MNIST tutorials run in their fast mode (one epoch; LeNet on half of the data) and
learn: test accuracy at least 0.90.  Each runs in a fresh interpreter, as a user runs it."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EPOCH_LOG = re.compile(r'INFO: == Epoch 001 ==========\n'
                       r'INFO: ## Training summary\n'
                       r'INFO:       :accuracy = (0\.\d{4})\n'
                       r'INFO:            time = \d+\.\d{4} seconds\n'
                       r'INFO: ## Validation summary\n'
                       r'INFO:       :accuracy = (0\.\d{4})\n')


def run_tutorial(name, data_dir, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               MXREF_DATA_DIR=data_dir)
    env.pop('MXREF_DOCS_FAST', None)
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tutorials', name)] + list(args),
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, 'tutorial %s failed:\n%s\n%s' % (name, result.stdout,
                                                                   result.stderr)
    return result.stdout


def _percent(text, label):
    return float(re.search(re.escape(label) + r' ([0-9.]+)%', text).group(1)) / 100


def test_mlp_tutorial_fast(data_dir):
    out = run_tutorial('mnist_mlp.py', data_dir, '--fast')
    assert 'epochs: 1, batch size: 100, context: cpu(0), fast mode: True' in out
    assert 'the two networks are the same graph: True' in out
    assert 'training: 60000 images, evaluation: 10000 images' in out
    log = EPOCH_LOG.search(out)
    assert log, out
    assert '== Epoch 002' not in out
    accuracy = _percent(out, 'Accuracy on eval set:')
    assert accuracy >= 0.90
    assert abs(accuracy - float(log.group(2))) < 1e-4     # predict agrees with fit's validation
    assert '(10000, 10)' in out


def test_lenet_tutorial_fast(data_dir):
    out = run_tutorial('mnist_lenet.py', data_dir, '--fast', '--ctx', 'cpu')
    assert 'conv1 (100, 20, 12, 12)' in out and 'conv2 (100, 50, 4, 4)' in out
    assert 'training: 30000 images, evaluation: 5000 images' in out
    assert EPOCH_LOG.search(out), out
    accuracy = _percent(out, 'Accuracy on eval set:')
    assert accuracy >= 0.90
    assert _percent(out, 'accuracy from the callback:') == accuracy
    assert '50 lines of predictions; the first starts with ' in out


def test_options(data_dir):
    """--epochs and --batch-size reach the training (the MLP on 2 epochs of batches of 250)."""
    out = run_tutorial('mnist_mlp.py', data_dir, '--epochs', '2', '--batch-size', '250')
    assert 'epochs: 2, batch size: 250, context: cpu(0), fast mode: False' in out
    assert '== Epoch 002 ==========' in out and '== Epoch 003' not in out
    assert _percent(out, 'Accuracy on eval set:') >= 0.90
