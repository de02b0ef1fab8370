"""mx.nd.save / mx.nd.load: MXNet 1.9.1's files load to the right values, mxref writes the
same bytes, and damaged files fail clearly."""
import os
import struct

import numpy as np
import pytest

import mxref as mx
from mxref.ndarray.serialization import NDArrayFormatError, save_to_bytes


def test_fixture_dict_file(fixtures_dir):
    expected = np.load(os.path.join(fixtures_dir, 'ndarrays-expected.npz'))
    loaded = mx.nd.load(os.path.join(fixtures_dir, 'ndarrays-dict.params'))
    assert sorted(loaded) == sorted(expected.files)
    for name, value in loaded.items():
        assert value.dtype == expected[name].dtype, name
        assert value.shape == expected[name].shape, name
        assert np.array_equal(value.asnumpy(), expected[name]), name


def test_fixture_list_file(fixtures_dir):
    expected = np.load(os.path.join(fixtures_dir, 'ndarrays-expected.npz'))
    loaded = mx.nd.load(os.path.join(fixtures_dir, 'ndarrays-list.params'))
    assert isinstance(loaded, list) and len(loaded) == 2
    assert np.array_equal(loaded[0].asnumpy(), expected['f32'])
    assert np.array_equal(loaded[1].asnumpy(), expected['i32'])


@pytest.mark.parametrize('name', ['ndarrays-dict.params', 'ndarrays-list.params',
                                  'mlp-0001.params', 'lenet-0001.params', 'lstm-0001.params'])
def test_writes_mxnet_bytes(fixtures_dir, tmp_path, name):
    """Saving what was loaded reproduces MXNet's file byte for byte."""
    path = os.path.join(fixtures_dir, name)
    loaded = mx.nd.load(path)
    out = tmp_path / name
    mx.nd.save(str(out), loaded)
    assert out.read_bytes() == open(path, 'rb').read()


def test_round_trip_all_dtypes(tmp_path):
    arrays = {name: mx.nd.array(np.arange(6).reshape(2, 3), dtype=name)
              for name in ('float32', 'float64', 'float16', 'uint8', 'int8', 'int32', 'int64')}
    fname = str(tmp_path / 'x.params')
    mx.nd.save(fname, arrays)
    loaded = mx.nd.load(fname)
    for name, value in arrays.items():
        assert loaded[name].dtype == value.dtype
        assert np.array_equal(loaded[name].asnumpy(), value.asnumpy())
    mx.nd.save(fname, mx.nd.ones((2,)))              # a single array saves as a list
    assert len(mx.nd.load(fname)) == 1


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match='dict keys must be strings'):
        mx.nd.save(str(tmp_path / 'a'), {1: mx.nd.ones((1,))})
    with pytest.raises(TypeError, match='must be an NDArray'):
        mx.nd.save(str(tmp_path / 'a'), [np.ones(2)])
    assert not os.path.exists(tmp_path / 'a')


def test_truncated_files_fail_clearly(tmp_path):
    data = save_to_bytes({'w': mx.nd.ones((4, 5)), 'b': mx.nd.zeros((5,))})
    for cut in (0, 7, 20, 40, len(data) - 30, len(data) - 1):
        with pytest.raises(NDArrayFormatError, match='truncated'):
            mx.nd.load_frombuffer(data[:cut])


def test_corrupt_files_fail_clearly(tmp_path):
    good = save_to_bytes([mx.nd.ones((2, 2))])
    with pytest.raises(NDArrayFormatError, match='not an MXNet NDArray file'):
        mx.nd.load_frombuffer(b'\x00' * 32)
    bad_flag = bytearray(good)
    flag_at = 8 * 3 + 4 + 4 + 4 + 16 + 8                  # header, magic, stype, ndim, dims, ctx
    bad_flag[flag_at:flag_at + 4] = struct.pack('<i', 99)
    with pytest.raises(NDArrayFormatError, match='unknown type flag 99'):
        mx.nd.load_frombuffer(bytes(bad_flag))
    bad_ndim = bytearray(good)
    bad_ndim[8 * 3 + 8:8 * 3 + 12] = struct.pack('<i', 1000)
    with pytest.raises(NDArrayFormatError, match='impossible number of dimensions'):
        mx.nd.load_frombuffer(bytes(bad_ndim))
    with pytest.raises(NDArrayFormatError, match='unexpected bytes'):
        mx.nd.load_frombuffer(good + b'\x00')
    sparse = bytearray(good)
    sparse[8 * 3 + 4:8 * 3 + 8] = struct.pack('<i', 2)
    with pytest.raises(NDArrayFormatError, match='sparse'):
        mx.nd.load_frombuffer(bytes(sparse))
    with pytest.raises(ValueError, match='cannot read'):
        mx.nd.load(str(tmp_path / 'missing.params'))


def test_reads_older_formats():
    """V1 arrays (no storage type) and the original layout (uint32 dims, no magic)."""
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    body_v1 = (struct.pack('<Ii', 0xF993FAC8, 2) + struct.pack('<2q', 2, 3)
               + struct.pack('<iii', 1, 0, 0) + values.tobytes())
    body_legacy = (struct.pack('<I', 2) + struct.pack('<2I', 2, 3)
                   + struct.pack('<iii', 1, 0, 0) + values.tobytes())
    for body in (body_v1, body_legacy):
        data = struct.pack('<QQQ', 0x112, 0, 1) + body + struct.pack('<Q', 0)
        loaded = mx.nd.load_frombuffer(data)
        assert np.array_equal(loaded[0].asnumpy(), values)


def test_save_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous file intact and no temporary behind."""
    fname = tmp_path / 'w.params'
    mx.nd.save(str(fname), [mx.nd.ones((2,))])
    before = fname.read_bytes()

    def broken_fsync(fd):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        mx.nd.save(str(fname), [mx.nd.zeros((3,))])
    assert fname.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['w.params']


def test_saved_files_have_ordinary_permissions(tmp_path):
    fname = tmp_path / 'p.params'
    old = os.umask(0o022)
    try:
        mx.nd.save(str(fname), [mx.nd.ones((1,))])
    finally:
        os.umask(old)
    assert (fname.stat().st_mode & 0o777) == 0o644
    with pytest.raises(ValueError, match="cannot write '/nonexistent"):
        mx.nd.save('/nonexistent/dir/x.params', [mx.nd.ones((1,))])
