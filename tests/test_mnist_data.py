"""``mx.test_utils.get_mnist`` and the handling of damaged MNIST files (found on disk or
downloaded)."""
import gzip
import os
import shutil

import numpy as np
import pytest

import mxref as mx
from mxref import datasets

FILES = datasets.DATASETS['mnist']['files']


def _raw_idx(path):
    """The bytes after the header of a gzipped IDX file (pixels or labels, uint8)."""
    with gzip.open(path) as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3])


def test_get_mnist_matches_mxnet_layout(data_dir, monkeypatch):
    monkeypatch.setenv('MXREF_DATA_DIR', data_dir)
    mnist = mx.test_utils.get_mnist()
    assert sorted(mnist) == ['test_data', 'test_label', 'train_data', 'train_label']
    assert mnist['train_data'].shape == (60000, 1, 28, 28)
    assert mnist['test_data'].shape == (10000, 1, 28, 28)
    for part in ('train', 'test'):
        images, labels = mnist[part + '_data'], mnist[part + '_label']
        assert images.dtype == np.float32 and labels.dtype == np.int8   # as MXNet's helper
        assert images.min() == 0.0 and images.max() == 1.0
        assert labels.shape == (len(images),) and set(np.unique(labels)) == set(range(10))
    assert mnist['train_label'][:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist['test_label'][:5].tolist() == [7, 2, 1, 0, 4]
    # pixels are uint8 / 255 in float32, exactly
    raw = _raw_idx(os.path.join(data_dir, 'mnist', 't10k-images-idx3-ubyte.gz'))
    expected = raw[:3 * 784].reshape(3, 1, 28, 28).astype(np.float32) / 255
    np.testing.assert_array_equal(mnist['test_data'][:3], expected)


def _cache_with(tmp_path, data_dir, damaged_name, damage):
    """A cache folder holding the four MNIST files, ``damaged_name`` damaged by ``damage``."""
    folder = tmp_path / 'cache' / 'mnist'
    folder.mkdir(parents=True)
    for name in FILES:
        source = os.path.join(data_dir, 'mnist', name)
        if name == damaged_name:
            (folder / name).write_bytes(damage(open(source, 'rb').read()))
        else:
            shutil.copy(source, folder / name)
    return folder


@pytest.mark.parametrize('damage,reason', [
    (lambda raw: raw[:len(raw) // 2], 'corrupt or truncated'),            # cut gzip stream
    (lambda raw: gzip.compress(gzip.decompress(raw)[:-100]), 'truncated'),  # short data
    (lambda raw: gzip.compress(b'\1\2' + gzip.decompress(raw)[2:]), 'not an IDX file')])
def test_get_mnist_drops_a_damaged_cached_file(data_dir, tmp_path, monkeypatch, damage, reason):
    monkeypatch.delenv('MXREF_DATA_DIR', raising=False)
    monkeypatch.setenv('MXREF_CACHE_DIR', str(tmp_path / 'cache'))
    folder = _cache_with(tmp_path, data_dir, 't10k-labels-idx1-ubyte.gz', damage)
    with pytest.raises(datasets.DatasetError) as info:
        mx.test_utils.get_mnist()
    message = str(info.value)
    assert 't10k-labels-idx1-ubyte.gz' in message and reason in message
    assert 'removed from the cache' in message
    assert sorted(os.listdir(folder)) == sorted(n for n in FILES
                                                if n != 't10k-labels-idx1-ubyte.gz')


def test_get_mnist_keeps_a_damaged_file_of_the_data_dir(data_dir, tmp_path, monkeypatch):
    folder = _cache_with(tmp_path, data_dir, 'train-labels-idx1-ubyte.gz', lambda r: r[:100])
    monkeypatch.setenv('MXREF_DATA_DIR', str(tmp_path / 'cache'))     # not the cache
    monkeypatch.setenv('MXREF_CACHE_DIR', str(tmp_path / 'elsewhere'))
    with pytest.raises(mx.base.MXNetError, match='replace it with a good copy'):
        mx.test_utils.get_mnist()
    assert os.path.exists(folder / 'train-labels-idx1-ubyte.gz')        # user's file untouched


def test_truncated_download_is_reported_and_not_cached(data_dir, tmp_path, monkeypatch):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    good = open(os.path.join(data_dir, 'mnist', 't10k-labels-idx1-ubyte.gz'), 'rb').read()
    (mirror / 't10k-labels-idx1-ubyte.gz').write_bytes(good[:len(good) - 200])
    monkeypatch.delenv('MXREF_DATA_DIR', raising=False)
    monkeypatch.setenv('MXREF_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setitem(datasets.DATASETS['mnist'], 'mirrors', ['file://%s/' % mirror])
    with pytest.raises(datasets.DatasetError, match='corrupt or truncated'):
        datasets.get_file('mnist', 't10k-labels-idx1-ubyte.gz', progress=False)
    assert os.listdir(tmp_path / 'cache' / 'mnist') == []             # no partial file left
    # once the mirror serves the whole file, it downloads and verifies
    (mirror / 't10k-labels-idx1-ubyte.gz').write_bytes(good)
    path = datasets.get_file('mnist', 't10k-labels-idx1-ubyte.gz', progress=False)
    assert open(path, 'rb').read() == good
