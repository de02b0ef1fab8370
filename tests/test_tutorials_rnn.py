"""The char-LSTM tutorials run end to end in their fast mode: training learns something,
writes a checkpoint per epoch, and the sampler draws text from that checkpoint."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(name, *args, data_dir):
    """Run ``tutorials/<name>``; return stdout and stderr together (logging goes to stderr)."""
    env = dict(os.environ, MXREF_DATA_DIR=data_dir,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('MXREF_DOCS_FAST', None)
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tutorials', name)] + list(args),
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, 'tutorial %s failed:\n%s\n%s' % (name, result.stdout,
                                                                   result.stderr)
    return result.stdout + result.stderr


def _value(log, key):
    return [float(v) for v in re.findall(r'%s=([0-9.]+)' % re.escape(key), log)]


def test_char_lstm_trains_and_samples(tmp_path, data_dir):
    prefix = str(tmp_path / 'ptb')
    log = run_script('char_lstm.py', '--fast', '--epochs', '2', '--prefix', prefix,
                     data_dir=data_dir)
    assert 'vocabulary: 66 characters; 24 training and 6 validation batches of 32 x 32' in log
    assert re.search(r'Epoch\[0\] Batch \[5-10\]\tSpeed: [0-9.]+ samples/sec\tNLL=', log)
    validation = _value(log, 'Validation-perplexity')
    assert len(validation) == 2
    # a model that knows nothing has perplexity 66 (the vocabulary size)
    assert validation[-1] < 25, log
    assert validation[1] < validation[0]
    assert _value(log, 'Train-NLL')[-1] < 3.2
    for epoch in (1, 2):
        assert os.path.exists('%s-%04d.params' % (prefix, epoch))
    assert os.path.exists(prefix + '-symbol.json')
    assert os.path.exists(prefix + '-vocab.txt')

    out = run_script('char_lstm_sample.py', '--fast', '--prefix', prefix, '--batch-size', '3',
                     '--length', '40', data_dir=data_dir)
    assert 'loaded %s-0002.params' % prefix in out
    assert re.findall(r'## Sample (\d+)\n', out) == ['1', '2', '3']
    # each sample: 40 characters (blank lines included) and an empty line
    samples = [part[:40] for part in re.split(r'## Sample \d+\n', out)[1:]]
    for part in re.split(r'## Sample \d+\n', out)[1:]:
        assert part[40:42] == '\n\n'
    assert all(text.startswith('a') for text in samples)
    assert len(set(samples)) == 3          # drawn at random, not the most likely character


def test_sampler_explains_a_missing_checkpoint(tmp_path, data_dir):
    env = dict(os.environ, MXREF_DATA_DIR=data_dir,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    vocab = tmp_path / 'ptb-vocab.txt'
    vocab.write_text('abc')
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tutorials',
                                                          'char_lstm_sample.py'),
                             '--prefix', str(tmp_path / 'ptb')],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'train first with tutorials/char_lstm.py' in result.stderr


def test_model_code_is_importable():
    """The benchmark and the sampler reuse the tutorial's definitions without training."""
    spec = importlib.util.spec_from_file_location(
        'char_lstm', os.path.join(ROOT, 'tutorials', 'char_lstm.py'))
    char_lstm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(char_lstm)
    sym = char_lstm.LSTM(2, 3, 8, 5, 11)
    assert sym.list_outputs() == ['ptb_softmax_%d_output' % t for t in (1, 2, 3)]
    assert 'ptb_l2_init_c' in sym.list_arguments()
    arg_shapes, out_shapes, _ = sym.infer_shape(
        ptb_data_1=(4, 11), ptb_data_2=(4, 11), ptb_data_3=(4, 11),
        ptb_l1_init_c=(4, 8), ptb_l1_init_h=(4, 8), ptb_l2_init_c=(4, 8), ptb_l2_init_h=(4, 8))
    assert out_shapes == [(4, 11)] * 3
    assert dict(zip(sym.list_arguments(), arg_shapes))['ptb_l1_i2h_weight'] == (32, 5)
