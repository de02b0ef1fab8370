"""mx.io: the iterator protocol, NDArrayIter's last-batch handling (the sequences MXNet 1.9.1
produces), ResizeIter, PrefetchingIter, CSVIter, MNISTIter and the IDX reader, and the
dataset finder/downloader."""
import gzip
import os
import struct

import numpy as np
import pytest

import mxref as mx
from mxref import datasets
from mxref.base import MXNetError


def _epoch(it):
    return [(b.data[0].asnumpy().ravel().tolist(),
             b.label[0].asnumpy().ravel().tolist() if b.label else None, b.pad) for b in it]


# ----------------------------------------------------------------------------------------------
# DataDesc / DataBatch / DataIter
# ----------------------------------------------------------------------------------------------
def test_datadesc():
    d = mx.io.DataDesc('data', (3, 4))
    assert repr(d) == "DataDesc[data,(3, 4),<class 'numpy.float32'>,NCHW]"
    assert d == ('data', (3, 4)) and d.name == 'data' and d.shape == (3, 4)
    assert mx.io.DataDesc.get_batch_axis('NTC') == 0
    assert mx.io.DataDesc.get_batch_axis('TNC') == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([('a', (1,)), ('b', (2,))], [('a', np.int32),
                                                                  ('b', np.float64)])
    assert [d.dtype for d in descs] == [np.int32, np.float64]


def test_databatch():
    batch = mx.io.DataBatch([mx.nd.ones((2, 3))], [mx.nd.ones((2,))], pad=1)
    assert str(batch) == 'DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]'
    with pytest.raises(MXNetError, match='list of NDArrays'):
        mx.io.DataBatch(mx.nd.ones((2,)))


def test_dataiter_protocol():
    class Countdown(mx.io.DataIter):
        def __init__(self):
            super().__init__(batch_size=1)
            self.n = 3

        def iter_next(self):
            self.n -= 1
            return self.n >= 0

        def getdata(self):
            return [mx.nd.array([self.n])]

        def getlabel(self):
            return []

        def getpad(self):
            return 0
    it = Countdown()
    assert [b.data[0].asscalar() for b in it] == [2, 1, 0]
    assert iter(it) is it


# ----------------------------------------------------------------------------------------------
# NDArrayIter
# ----------------------------------------------------------------------------------------------
def test_ndarrayiter_roll_over_as_mxnet():
    it = mx.io.NDArrayIter(np.arange(10).reshape(10, 1), np.arange(10), 4,
                           last_batch_handle='roll_over')
    epochs = []
    for _ in range(3):
        epochs.append(_epoch(it))
        it.reset()
    # MXNet 1.9.1 printed exactly these batches
    assert epochs[0] == [([0, 1, 2, 3], [0, 1, 2, 3], 0), ([4, 5, 6, 7], [4, 5, 6, 7], 0)]
    assert epochs[1] == [([8, 9, 0, 1], [8, 9, 0, 1], 2), ([2, 3, 4, 5], [2, 3, 4, 5], 0),
                         ([6, 7, 8, 9], [6, 7, 8, 9], 0)]
    assert epochs[2] == epochs[0]
    it.reset()
    first = it.next()
    assert first.index is None and it.getindex() is None


def test_ndarrayiter_pad_and_discard_as_mxnet():
    it = mx.io.NDArrayIter(np.arange(10).reshape(10, 1), np.arange(10), 4)
    for _ in range(2):
        assert _epoch(it) == [([0, 1, 2, 3], [0, 1, 2, 3], 0), ([4, 5, 6, 7], [4, 5, 6, 7], 0),
                              ([8, 9, 0, 1], [8, 9, 0, 1], 2)]
        it.reset()
    it = mx.io.NDArrayIter(np.arange(10).reshape(10, 1), np.arange(10), 4,
                           last_batch_handle='discard')
    assert [b[2] for b in _epoch(it)] == [0, 0]
    # a batch larger than the data: the data is repeated
    it = mx.io.NDArrayIter(np.arange(3).reshape(3, 1), None, 8)
    batches = list(it)
    assert len(batches) == 1
    assert batches[0].data[0].asnumpy().ravel().tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert batches[0].pad == 5 and batches[0].label == []


def test_ndarrayiter_inputs_and_descs():
    it = mx.io.NDArrayIter({'b': np.zeros((6, 2)), 'a': np.ones((6, 3), dtype=np.int64)},
                           [np.zeros(6), np.ones(6)], batch_size=4)
    assert [d.name for d in it.provide_data] == ['a', 'b']            # sorted by name
    assert [d.shape for d in it.provide_data] == [(4, 3), (4, 2)]
    assert [d.name for d in it.provide_label] == ['_0_softmax_label', '_1_softmax_label']
    batch = it.next()
    assert batch.data[0].dtype == np.float32                         # as mx.nd.array makes it
    it = mx.io.NDArrayIter(mx.nd.ones((5, 2), dtype=np.float64), data_name='x',
                           label=mx.nd.zeros((5,)), label_name='y', batch_size=2)
    assert it.provide_data == [('x', (2, 2))] and it.provide_data[0].dtype == np.float64
    assert it.provide_label == [('y', (2,))]


def test_ndarrayiter_layout_batch_axis():
    data = np.arange(24).reshape(2, 6, 2)          # (T, N, C)
    it = mx.io.NDArrayIter(data, batch_size=4, layout='TNC', last_batch_handle='pad')
    assert it.provide_data[0].shape == (2, 4, 2)
    batches = list(it)
    np.testing.assert_array_equal(batches[0].data[0].asnumpy(), data[:, :4])
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(),
                                  np.concatenate([data[:, 4:], data[:, :2]], axis=1))


def test_ndarrayiter_shuffle_follows_numpy_seed():
    data = np.arange(20).reshape(10, 2)
    np.random.seed(3)
    it = mx.io.NDArrayIter(data, np.arange(10), batch_size=5, shuffle=True)
    first = [b.label[0].asnumpy() for b in it]
    np.random.seed(3)
    order = np.arange(10)
    np.random.shuffle(order)
    np.testing.assert_array_equal(np.concatenate(first), order)      # MXNet's permutation
    it.reset()
    second = np.concatenate([b.label[0].asnumpy() for b in it])
    assert sorted(second.tolist()) == list(range(10))
    assert not np.array_equal(second, np.concatenate(first))         # reshuffled
    for b in it:
        pass
    it.reset()
    b = it.next()
    np.testing.assert_array_equal(b.data[0].asnumpy(), data[b.label[0].asnumpy().astype(int)])


def test_ndarrayiter_hard_reset_and_errors():
    it = mx.io.NDArrayIter(np.arange(10).reshape(10, 1), batch_size=4,
                           last_batch_handle='roll_over')
    list(it)
    it.hard_reset()
    assert it.next().data[0].asnumpy().ravel().tolist() == [0, 1, 2, 3]
    with pytest.raises(MXNetError, match='last_batch_handle'):
        mx.io.NDArrayIter(np.zeros((3, 1)), last_batch_handle='wrap')
    with pytest.raises(MXNetError, match='same number'):
        mx.io.NDArrayIter(np.zeros((3, 1)), np.zeros(4))
    with pytest.raises(MXNetError, match='data must be given'):
        mx.io.NDArrayIter(None)
    with pytest.raises(MXNetError, match='Invalid type'):
        mx.io.NDArrayIter({'a': object()})


# ----------------------------------------------------------------------------------------------
# wrappers
# ----------------------------------------------------------------------------------------------
def test_resize_iter():
    base = mx.io.NDArrayIter(np.arange(6).reshape(6, 1), batch_size=2)
    it = mx.io.ResizeIter(base, 5)
    assert [b.data[0].asnumpy().ravel().tolist() for b in it] == \
        [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    it.reset()
    assert it.next().data[0].asnumpy().ravel().tolist() == [0, 1]
    it = mx.io.ResizeIter(mx.io.NDArrayIter(np.arange(6).reshape(6, 1), batch_size=2), 2,
                          reset_internal=False)
    list(it)
    it.reset()
    assert it.next().data[0].asnumpy().ravel().tolist() == [4, 5]      # continues
    assert it.provide_data == [('data', (2, 1))] and it.batch_size == 2


def test_prefetching_iter():
    a = mx.io.NDArrayIter({'data': np.arange(10).reshape(10, 1)}, np.arange(10), 4)
    b = mx.io.NDArrayIter({'data': np.arange(10, 20).reshape(10, 1)}, np.arange(10), 4)
    it = mx.io.PrefetchingIter([a, b], rename_data=[{'data': 'x'}, {'data': 'y'}])
    assert [d.name for d in it.provide_data] == ['x', 'y']
    assert it.batch_size == 4
    for _ in range(2):
        batches = list(it)
        assert len(batches) == 3
        assert batches[2].pad == 2
        assert batches[0].data[1].asnumpy().ravel().tolist() == [10, 11, 12, 13]
        assert len(batches[0].label) == 2
        it.reset()
    it.close()


def test_prefetching_iter_passes_errors_on():
    class Broken(mx.io.DataIter):
        provide_data = [mx.io.DataDesc('data', (1, 1))]
        provide_label = []

        def next(self):
            raise ValueError('disk on fire')
    it = mx.io.PrefetchingIter(Broken())
    with pytest.raises(ValueError, match='disk on fire'):
        it.next()
    it.close()


# ----------------------------------------------------------------------------------------------
# CSVIter
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def csv_files(tmp_path):
    data = tmp_path / 'd.csv'
    label = tmp_path / 'l.csv'
    np.savetxt(str(data), np.arange(30).reshape(10, 3), delimiter=',', fmt='%d')
    np.savetxt(str(label), np.arange(10) * 10, delimiter=',', fmt='%d')
    return str(data), str(label)


def test_csviter_round_batch_as_mxnet(csv_files):
    data, label = csv_files
    it = mx.io.CSVIter(data_csv=data, data_shape=(3,), label_csv=label, batch_size=4)
    assert it.provide_data == [('data', (4, 3))] and it.provide_label == [('softmax_label',
                                                                           (4,))]
    first = [(b.data[0].asnumpy()[:, 0].tolist(), b.label[0].asnumpy().tolist(), b.pad,
              b.index.tolist()) for b in it]
    it.reset()
    second = [(b.data[0].asnumpy()[:, 0].tolist(), b.pad, b.index.tolist()) for b in it]
    # MXNet 1.9.1: the last batch wraps to the start and the next epoch continues after it
    assert first == [([0, 3, 6, 9], [0, 10, 20, 30], 0, [0, 1, 2, 3]),
                     ([12, 15, 18, 21], [40, 50, 60, 70], 0, [4, 5, 6, 7]),
                     ([24, 27, 0, 3], [80, 90, 0, 10], 2, [8, 9, 0, 1])]
    assert second == [([6, 9, 12, 15], 0, [2, 3, 4, 5]), ([18, 21, 24, 27], 0, [6, 7, 8, 9])]


def test_csviter_without_round_batch_as_mxnet(csv_files):
    data, label = csv_files
    it = mx.io.CSVIter(data_csv=data, data_shape=(3,), label_csv=label, batch_size=4,
                       round_batch=False)
    for _ in range(2):
        batches = list(it)
        assert batches[-1].data[0].asnumpy()[:, 0].tolist() == [24, 27, 18, 21]
        assert batches[-1].pad == 2 and batches[-1].index.tolist() == [8, 9, 6, 7]
        it.reset()


def test_csviter_shapes_and_errors(csv_files, tmp_path):
    data, _ = csv_files
    it = mx.io.CSVIter(data_csv=data, data_shape=(1, 3), batch_size=3)
    batch = it.next()
    assert batch.data[0].shape == (3, 1, 3)
    np.testing.assert_array_equal(batch.label[0].asnumpy(), [0, 0, 0])
    with pytest.raises(MXNetError, match='has 3 values, the shape needs 4'):
        mx.io.CSVIter(data_csv=data, data_shape=(4,), batch_size=2)
    bad = tmp_path / 'bad.csv'
    bad.write_text('1,2\nx,y\n')
    with pytest.raises(MXNetError, match='line 2 is not a row of numbers'):
        mx.io.CSVIter(data_csv=str(bad), data_shape=(2,), batch_size=1)
    with pytest.raises(MXNetError, match='cannot read'):
        mx.io.CSVIter(data_csv=str(tmp_path / 'none.csv'), data_shape=(2,))


# ----------------------------------------------------------------------------------------------
# IDX and MNISTIter
# ----------------------------------------------------------------------------------------------
def _write_idx(path, array, type_code=0x08, compress=False):
    raw = struct.pack('>BBBB', 0, 0, type_code, array.ndim)
    raw += struct.pack('>%di' % array.ndim, *array.shape)
    raw += array.astype(mx.io.idx.IDX_TYPES[type_code]).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return str(path)


def test_idx_reader(tmp_path):
    values = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    for compress in (False, True):
        path = _write_idx(tmp_path / ('a%d' % compress), values, 0x0C, compress)
        np.testing.assert_array_equal(mx.io.read_idx(path), values)
    floats = np.linspace(0, 1, 7).astype(np.float64)
    np.testing.assert_array_equal(mx.io.read_idx(_write_idx(tmp_path / 'f', floats, 0x0E)),
                                  floats)
    _write_idx(tmp_path / 'only.gz', values.astype(np.uint8), 0x08, True)
    assert mx.io.read_idx(str(tmp_path / 'only')).shape == (2, 3, 4)   # x.gz used for x


@pytest.mark.parametrize('damage,message', [
    (lambda raw: raw[:-3], 'truncated'), (lambda raw: raw + b'\0', 'trailing bytes'),
    (lambda raw: b'\1' + raw[1:], 'not an IDX file'), (lambda raw: raw[:2] + b'\x42' + raw[3:],
                                                        'unknown IDX data type'),
    (lambda raw: raw[:6], 'truncated header'),
    (lambda raw: gzip.compress(raw)[:-10], 'corrupt or truncated')])
def test_idx_reader_rejects_bad_files(damage, message):
    raw = struct.pack('>BBBBii', 0, 0, 8, 2, 2, 3) + bytes(range(6))
    with pytest.raises(mx.io.IDXFormatError, match=message):
        mx.io.parse_idx(damage(raw))


def test_mnist_iter_on_small_files(tmp_path):
    images = (np.arange(7 * 4 * 3) % 256).astype(np.uint8).reshape(7, 4, 3)
    labels = np.arange(7).astype(np.uint8)
    image = _write_idx(tmp_path / 'img', images, compress=True)
    label = _write_idx(tmp_path / 'lab', labels)
    it = mx.io.MNISTIter(image=image, label=label, batch_size=3, shuffle=False, silent=True)
    assert it.provide_data == [('data', (3, 1, 4, 3))]
    assert it.provide_label == [('softmax_label', (3,))]
    batches = list(it)
    assert len(batches) == 2                                 # the last incomplete batch is skipped
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(), images[3:6, None] / 256.0)
    np.testing.assert_array_equal(batches[1].label[0].asnumpy(), [3, 4, 5])
    assert batches[1].index.tolist() == [3, 4, 5] and batches[1].pad == 0
    it.reset()
    assert len(list(it)) == 2
    flat = mx.io.MNISTIter(image=image, label=label, batch_size=2, flat=True, seed=5,
                           silent=True)
    labels_seen = np.concatenate([b.label[0].asnumpy() for b in flat])
    again = mx.io.MNISTIter(image=image, label=label, batch_size=2, flat=True, seed=5,
                            silent=True)
    np.testing.assert_array_equal(labels_seen,
                                  np.concatenate([b.label[0].asnumpy() for b in again]))
    assert flat.provide_data[0].shape == (2, 12)
    part = mx.io.MNISTIter(image=image, label=label, batch_size=1, num_parts=2, part_index=1,
                           shuffle=False, silent=True)
    assert [b.label[0].asscalar() for b in part] == [3, 4, 5, 6]   # int(7/2*1) .. int(7/2*2)
    with pytest.raises(MXNetError, match='part_index'):
        mx.io.MNISTIter(image=image, label=label, num_parts=2, part_index=2)
    with pytest.raises(MXNetError, match='labels for 7 images'):
        mx.io.MNISTIter(image=image, label=_write_idx(tmp_path / 'l2', labels[:5]))


def test_mnist_iter_on_mnist(data_dir, capsys):
    mnist = os.path.join(data_dir, 'mnist')
    it = mx.io.MNISTIter(image=os.path.join(mnist, 't10k-images-idx3-ubyte'),
                         label=os.path.join(mnist, 't10k-labels-idx1-ubyte'),
                         batch_size=3000, shuffle=False, flat=True)
    assert 'MNISTIter: load 10000 images, shuffle=0, shape=(3000,784)' in capsys.readouterr().err
    batches = list(it)
    assert len(batches) == 3                                 # as MXNet: 10000 // 3000
    assert batches[0].label[0].asnumpy()[:5].tolist() == [7, 2, 1, 0, 4]
    assert batches[1].label[0].asnumpy()[:5].tolist() == [6, 9, 8, 1, 2]
    assert float(batches[0].data[0].asnumpy().max()) == 255 / 256.0


# ----------------------------------------------------------------------------------------------
# datasets
# ----------------------------------------------------------------------------------------------
def test_get_file_prefers_data_dir(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv('MXREF_DATA_DIR', data_dir)
    monkeypatch.setenv('MXREF_CACHE_DIR', str(tmp_path / 'cache'))
    path = datasets.get_file('mnist', 't10k-labels-idx1-ubyte.gz')
    assert path == os.path.join(data_dir, 'mnist', 't10k-labels-idx1-ubyte.gz')
    assert datasets.content_sha256(path) == \
        datasets.DATASETS['mnist']['files']['t10k-labels-idx1-ubyte.gz']
    paths = datasets.mnist_files()
    assert sorted(paths) == ['test_data', 'test_label', 'train_data', 'train_label']
    with pytest.raises(MXNetError, match='unknown dataset file'):
        datasets.get_file('mnist', 'nope.gz')


def test_download_checks_and_caches(data_dir, monkeypatch, tmp_path, capsys):
    """Downloads through file:// URLs: a good file lands in the cache with a progress bar, a
    corrupt one is reported and not kept."""
    source = tmp_path / 'mirror'
    source.mkdir()
    good = os.path.join(data_dir, 'mnist', 't10k-labels-idx1-ubyte.gz')
    (source / 't10k-labels-idx1-ubyte.gz').write_bytes(open(good, 'rb').read())
    monkeypatch.delenv('MXREF_DATA_DIR', raising=False)
    monkeypatch.setenv('MXREF_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setitem(datasets.DATASETS['mnist'], 'mirrors',
                        ['file://%s/missing/' % tmp_path, 'file://%s/' % source])
    path = datasets.get_file('mnist', 't10k-labels-idx1-ubyte.gz')
    assert path == str(tmp_path / 'cache' / 'mnist' / 't10k-labels-idx1-ubyte.gz')
    assert '100%' in capsys.readouterr().err
    assert mx.io.read_idx(path).shape == (10000,)
    corrupt = tmp_path / 'corrupt'
    corrupt.mkdir()
    (corrupt / 't10k-images-idx3-ubyte.gz').write_bytes(gzip.compress(b'\0\0\x08\1' + b'x'))
    monkeypatch.setitem(datasets.DATASETS['mnist'], 'mirrors', ['file://%s/' % corrupt])
    with pytest.raises(datasets.DatasetError, match='SHA-256'):
        datasets.get_file('mnist', 't10k-images-idx3-ubyte.gz', progress=False)
    assert not os.path.exists(tmp_path / 'cache' / 'mnist' / 't10k-images-idx3-ubyte.gz')
    assert os.listdir(tmp_path / 'cache' / 'mnist') == ['t10k-labels-idx1-ubyte.gz']


def test_letter_recognition(data_dir, tmp_path):
    path = os.path.join(data_dir, 'letter-recognition', 'letter-recognition.data')
    features, labels = datasets.load_letter_recognition(path)
    assert features.shape == (20000, 16) and labels.shape == (20000,)
    first = open(path).readline().strip().split(',')
    assert labels[0] == ord(first[0]) - ord('A')
    np.testing.assert_array_equal(features[0], [float(v) for v in first[1:]])
    assert labels.min() == 0 and labels.max() == 25
    bad = tmp_path / 'bad.data'
    bad.write_text('A,1,2\n')
    with pytest.raises(datasets.DatasetError, match='line 1'):
        datasets.load_letter_recognition(str(bad))
