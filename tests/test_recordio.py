"""``mx.recordio``: byte-for-byte agreement with MXNet 1.9.1's RecordIO files, the magic-word
split/join, the index file, pack/unpack, and clear errors on truncated or corrupt files.

The files under ``tests/data/recordio-mxnet-1.9.1/`` were written by MXNet 1.9.1 (see
``tests/data/make_recordio_reference.py``).
"""
import errno
import json
import os
import re
import struct

import numpy as np
import pytest

import mxref as mx
from mxref import recordio

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'recordio-mxnet-1.9.1')
MAGIC = bytes.fromhex('0a23d7ce')


def ref(name):
    return os.path.join(REF, name)


def load_json(name):
    with open(ref(name)) as f:
        return json.load(f)


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def write_records(path, records):
    writer = mx.recordio.MXRecordIO(str(path), 'w')
    for r in records:
        writer.write(r)
    writer.close()
    return read_bytes(path)


def read_all(path):
    reader = mx.recordio.MXRecordIO(str(path), 'r')
    out = []
    while True:
        r = reader.read()
        if r is None:
            break
        out.append(r)
    reader.close()
    return out


def part(cflag, data):
    """One part as dmlc-core lays it out: magic, (cflag << 29) | length, padded data."""
    pad = b'\0' * (-len(data) % 4)
    return MAGIC + struct.pack('<I', (cflag << 29) | len(data)) + data + pad


# ----------------------------------------------------------------------------------------------
# the files MXNet 1.9.1 wrote
# ----------------------------------------------------------------------------------------------
def test_writes_the_bytes_mxnet_writes(tmp_path):
    records = [bytes.fromhex(h) for h in load_json('records.json')]
    assert len(records) == 36
    assert write_records(tmp_path / 'r.rec', records) == read_bytes(ref('records.rec'))
    assert write_records(tmp_path / 'e.rec', []) == read_bytes(ref('empty.rec')) == b''


def test_reads_mxnet_files():
    records = [bytes.fromhex(h) for h in load_json('records.json')]
    assert read_all(ref('records.rec')) == records
    assert read_all(ref('empty.rec')) == []


@pytest.mark.parametrize('name,key_type', [('indexed', int), ('strkeys', str)])
def test_indexed_matches_mxnet(tmp_path, name, key_type):
    expected = load_json(name + '.json')
    idx, rec = str(tmp_path / 'x.idx'), str(tmp_path / 'x.rec')
    writer = mx.recordio.MXIndexedRecordIO(idx, rec, 'w', key_type=key_type)
    tells = [writer.tell()]
    for key, payload in expected['entries']:
        writer.write_idx(key, bytes.fromhex(payload))
        tells.append(writer.tell())
    assert writer.keys == [k for k, _ in expected['entries']]
    writer.close()
    assert tells == expected['tells']
    assert read_bytes(rec) == read_bytes(ref(name + '.rec'))
    assert read_bytes(idx) == read_bytes(ref(name + '.idx'))

    reader = mx.recordio.MXIndexedRecordIO(ref(name + '.idx'), ref(name + '.rec'), 'r',
                                           key_type=key_type)
    keys = [k for k, _ in expected['entries']]
    assert reader.keys == keys                         # repeated keys are kept, in file order
    last = {k: bytes.fromhex(p) for k, p in expected['entries']}      # the last one wins
    assert reader.idx == {k: tells[max(i for i, kk in enumerate(keys) if kk == k)]
                          for k in keys}
    for key in reversed(keys):
        assert reader.read_idx(key) == last[key]
    reader.seek(keys[0])
    assert [reader.read() for _ in range(len(keys))] == \
        [bytes.fromhex(p) for _, p in expected['entries']]
    assert reader.read() is None
    reader.seek(keys[1])                   # seeking after the end works (MXNet's does not)
    assert reader.read() == last[keys[1]]
    with pytest.raises(KeyError, match='not in the index'):
        reader.read_idx(99 if key_type is int else 'nope')
    with pytest.raises(AssertionError):
        reader.tell()
    reader.close()


def test_pack_matches_mxnet():
    for flag, label, id_, id2, payload, packed in load_json('packed.json'):
        if isinstance(label, list):
            label = np.array(label)
        elif id_ == 2 ** 40:
            label = np.float32(label)         # the case written with a numpy scalar
        out = mx.recordio.pack(mx.recordio.IRHeader(flag, label, id_, id2), bytes.fromhex(payload))
        assert out == bytes.fromhex(packed)
        header, rest = mx.recordio.unpack(out)
        assert rest == bytes.fromhex(payload)
        assert (header.id, header.id2) == (id_, id2)
        if isinstance(label, np.ndarray) and label.size:
            assert header.flag == label.size
            assert header.label.dtype == np.float32
            np.testing.assert_array_equal(header.label, label.ravel())
        else:                 # numbers, and the empty array: flag 0, label stored in the header
            assert header.flag == 0
            assert header.label == (0.0 if isinstance(label, np.ndarray) else float(label))


# ----------------------------------------------------------------------------------------------
# split and join
# ----------------------------------------------------------------------------------------------
PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 97, 101, 1009]
AWKWARD = [
    MAGIC, MAGIC * 2, MAGIC * 5, MAGIC + b'x', b'abcd' + MAGIC, b'abc' + MAGIC,
    b'a' + MAGIC + b'bcd', b'ab' + MAGIC, b'abcdefg' + MAGIC + b'h', MAGIC[:3],
    b'abcd' + MAGIC + b'efgh' + MAGIC + b'ijk', MAGIC + b'\0' * 8 + MAGIC,
    b'x' + MAGIC * 3, b'xyzw' + MAGIC[1:] + MAGIC, bytes(range(256)) * 3 + MAGIC,
]


@pytest.mark.parametrize('payload', [bytes(range(n)) for n in range(10)] +
                         [bytes((7 * i) % 256 for i in range(p)) for p in PRIMES] + AWKWARD)
def test_round_trip(tmp_path, payload):
    path = tmp_path / 'r.rec'
    data = write_records(path, [payload, b'after'])
    assert len(data) % 4 == 0
    assert read_all(path) == [payload, b'after']
    # at offsets multiple of 4 the magic word only ever starts a part (unaligned ones stay)
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        at += 8 + ((struct.unpack_from('<I', data, at + 4)[0] & ((1 << 29) - 1)) + 3) // 4 * 4
    assert [at for at in range(0, len(data), 4) if data[at:at + 4] == MAGIC] == starts


def test_split_layout():
    enc = recordio.encode_record
    assert enc(b'') == part(0, b'')
    assert enc(b'abcde') == part(0, b'abcde')
    assert enc(MAGIC) == part(1, b'') + part(3, b'')
    assert enc(MAGIC * 2) == part(1, b'') + part(2, b'') + part(3, b'')
    assert enc(b'abcd' + MAGIC) == part(1, b'abcd') + part(3, b'')
    assert enc(MAGIC + b'xy') == part(1, b'') + part(3, b'xy')
    assert enc(b'abcd' + MAGIC + b'efgh' + MAGIC + b'i') == \
        part(1, b'abcd') + part(2, b'efgh') + part(3, b'i')
    for unaligned in (b'a' + MAGIC, b'ab' + MAGIC + b'cd', b'abc' + MAGIC, b'abcdefg' + MAGIC):
        assert enc(unaligned) == part(0, unaligned)       # left in the data


def test_reader_joins_unaligned_parts(tmp_path):
    # MXNet's writer never makes these, its reader joins them: so does mxref's
    path = tmp_path / 'j.rec'
    path.write_bytes(part(1, b'ab') + part(2, b'c') + part(3, b'd') + part(0, b'e'))
    assert read_all(path) == [b'ab' + MAGIC + b'c' + MAGIC + b'd', b'e']


def test_padding_is_ignored(tmp_path):
    path = tmp_path / 'p.rec'
    path.write_bytes(MAGIC + struct.pack('<I', 1) + b'zQQQ')      # MXNet ignores it too
    assert read_all(path) == [b'z']


# ----------------------------------------------------------------------------------------------
# handles
# ----------------------------------------------------------------------------------------------
def test_reset_close_and_modes(tmp_path):
    path = str(tmp_path / 'm.rec')
    writer = mx.recordio.MXRecordIO(path, 'w')
    writer.write(b'one')
    writer.write(bytearray(b'two'))
    writer.write(memoryview(b'three'))
    with pytest.raises(TypeError):
        writer.write('str')
    with pytest.raises(AssertionError):
        writer.read()
    writer.close()
    writer.close()                                      # twice is fine
    assert read_all(path) == [b'one', b'two', b'three']
    reader = mx.recordio.MXRecordIO(path, 'r')
    assert reader.read() == b'one'
    reader.reset()
    assert [reader.read(), reader.read(), reader.read(), reader.read(), reader.read()] == \
        [b'one', b'two', b'three', None, None]
    with pytest.raises(AssertionError):
        reader.write(b'x')
    reader.close()
    with pytest.raises(mx.MXNetError, match='closed'):
        reader.read()
    writer = mx.recordio.MXRecordIO(path, 'w')
    writer.write(b'x')
    writer.reset()                                      # a writer truncates the file
    writer.close()
    assert os.path.getsize(path) == 0
    with pytest.raises(ValueError, match='Invalid flag'):
        mx.recordio.MXRecordIO(path, 'a')
    with pytest.raises(mx.MXNetError, match='nope.rec') as info:
        mx.recordio.MXRecordIO(str(tmp_path / 'nope.rec'), 'r')
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOENT


def test_records_reach_the_disk_when_closed_or_collected(tmp_path):
    path = str(tmp_path / 'g.rec')
    writer = mx.recordio.MXRecordIO(path, 'w')
    writer.write(b'abc')
    del writer
    assert read_all(path) == [b'abc']


def test_record_size_limit():
    with pytest.raises(ValueError, match='2\\*\\*29'):
        recordio.encode_record(memoryview(bytearray(1 << 29)))


def test_write_idx_converts_keys(tmp_path):
    idx, rec = str(tmp_path / 'k.idx'), str(tmp_path / 'k.rec')
    writer = mx.recordio.MXIndexedRecordIO(idx, rec, 'w')
    writer.write_idx('5', b'x')
    writer.write_idx(2.7, b'y')                 # key_type(2.7) == 2, as in MXNet
    with pytest.raises(ValueError):
        writer.write_idx('a', b'z')
    writer.close()
    with open(idx) as f:
        assert f.read() == '5\t0\n2\t12\n'


def test_index_file_lenient_where_mxnet_is(tmp_path):
    rec = ref('indexed.rec')
    idx = tmp_path / 'l.idx'
    idx.write_bytes(b'3\t0\r\n1\t16 \n4\t36\textra\n10\t64')    # CRLF, spaces, extra field, no EOL
    reader = mx.recordio.MXIndexedRecordIO(str(idx), rec, 'r')
    assert reader.keys == [3, 1, 4, 10]
    assert reader.read_idx(10) == bytes.fromhex(load_json('indexed.json')['entries'][4][1])
    reader.close()


# ----------------------------------------------------------------------------------------------
# truncated and corrupt files
# ----------------------------------------------------------------------------------------------
def test_every_truncation_is_reported(tmp_path):
    data = read_bytes(ref('records.rec'))
    records = [bytes.fromhex(h) for h in load_json('records.json')]
    # the byte offsets where records end: a cut there is a shorter, valid file
    ends, reader = [0], mx.recordio.MXRecordIO(ref('records.rec'), 'r')
    while reader.read() is not None:
        ends.append(reader._file.tell())
    reader.close()
    path = tmp_path / 't.rec'
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        if cut in ends:
            assert read_all(path) == records[:ends.index(cut)]
            continue
        with pytest.raises(mx.recordio.RecordIOFormatError) as info:
            read_all(path)
        message = str(info.value)
        assert str(path) in message and 'truncated' in message and 'byte offset' in message


def test_corruption_is_reported(tmp_path):
    path = tmp_path / 'c.rec'
    cases = [
        (b'\0' * 8, 'no RecordIO magic number at byte offset 0'),
        (part(0, b'ok') + b'JUNKJUNK', 'no RecordIO magic number at byte offset 12'),
        (part(3, b'abcd'), 'byte offset 0 holds the continuation'),
        (part(2, b'abcd'), 'byte offset 0 holds the continuation'),
        (part(1, b'abcd') + part(0, b'x'), 'byte offset 12 starts a new record'),
        (part(1, b'abcd'), 'truncated file: the record starting at byte offset 0 is split'),
        (part(1, b'abcd') + part(2, b''), 'file ends at byte offset 20 before its last part'),
        (MAGIC + struct.pack('<I', 5) + b'abcde', 'holds 5 bytes (8 with padding) but only 5'),
        (MAGIC + struct.pack('<I', 100), 'holds 100 bytes'),
    ]
    for data, message in cases:
        path.write_bytes(data)
        with pytest.raises(mx.recordio.RecordIOFormatError, match=re.escape(message)) as info:
            read_all(path)
        assert str(path) in str(info.value)
        assert isinstance(info.value, (ValueError, mx.MXNetError))


def test_corrupt_index_is_reported(tmp_path):
    rec = ref('indexed.rec')
    idx = tmp_path / 'bad.idx'
    for text, message in [(b'3\t0\n\n1\t16\n', 'line 2 at byte offset 4'),
                          (b'3 0\n', 'line 1 at byte offset 0'),
                          (b'3\t0\nx\t16\n', 'line 2 at byte offset 4'),
                          (b'3\t0\n1\t-16\n', 'negative offset'),
                          (b'3\t0\n1\tsixteen\n', 'line 2')]:
        idx.write_bytes(text)
        with pytest.raises(mx.recordio.RecordIOFormatError, match=message) as info:
            mx.recordio.MXIndexedRecordIO(str(idx), rec, 'r')
        assert str(idx) in str(info.value)
    idx.write_bytes(b'3\t0\n7\t2\n8\t1000\n')
    reader = mx.recordio.MXIndexedRecordIO(str(idx), rec, 'r')
    with pytest.raises(mx.recordio.RecordIOFormatError, match='no RecordIO magic number at byte '
                                                              'offset 2'):
        reader.read_idx(7)
    with pytest.raises(mx.recordio.RecordIOFormatError, match='byte offset 1000, at or past the end'):
        reader.read_idx(8)
    assert reader.read_idx(3) == bytes.fromhex(load_json('indexed.json')['entries'][0][1])
    reader.close()
    with pytest.raises(FileNotFoundError):
        mx.recordio.MXIndexedRecordIO(str(tmp_path / 'none.idx'), rec, 'r')


def test_unpack_errors():
    with pytest.raises(mx.recordio.RecordIOFormatError, match='3 bytes is too short'):
        mx.recordio.unpack(b'abc')
    with pytest.raises(mx.recordio.RecordIOFormatError, match='3 float32 labels'):
        mx.recordio.unpack(struct.pack('<IfQQ', 3, 0, 0, 0) + b'\0' * 4)
    with pytest.raises(ValueError, match='unsigned'):
        mx.recordio.pack((0, 1.0, -1, 0), b'')
    with pytest.raises(TypeError):
        mx.recordio.pack((0, 1.0, 1, 0), 'str')
    assert repr(mx.recordio.IRHeader(1, 2, 3, 4)) == 'HEADER(flag=1, label=2, id=3, id2=4)'
    # a label that is not a Number goes through np.asarray, as in MXNet (flag 1 here)
    assert mx.recordio.unpack(mx.recordio.pack((0, '1', 1, 0), b''))[0].flag == 1


# ----------------------------------------------------------------------------------------------
# images (Pillow)
# ----------------------------------------------------------------------------------------------
def test_pack_img_round_trip():
    pytest.importorskip('PIL')
    rng = np.random.RandomState(0)
    bgr = rng.randint(0, 256, size=(5, 7, 3)).astype(np.uint8)
    header = mx.recordio.IRHeader(0, 3.0, 11, 0)
    h, img = mx.recordio.unpack_img(mx.recordio.pack_img(header, bgr, quality=9, img_fmt='.png'))
    assert h == header and img.dtype == np.uint8
    np.testing.assert_array_equal(img, bgr)                       # PNG is lossless, BGR kept
    gray = bgr[:, :, 0]
    _, img = mx.recordio.unpack_img(mx.recordio.pack_img(header, gray, img_fmt='.png'))
    np.testing.assert_array_equal(img, gray)
    _, img = mx.recordio.unpack_img(mx.recordio.pack_img(header, gray, img_fmt='.png'), 1)
    assert img.shape == (5, 7, 3)
    bgra = np.concatenate([bgr, rng.randint(0, 256, size=(5, 7, 1)).astype(np.uint8)], axis=2)
    _, img = mx.recordio.unpack_img(mx.recordio.pack_img(header, bgra, img_fmt='.png'))
    np.testing.assert_array_equal(img, bgra)
    flat = np.full((16, 16, 3), (10, 120, 240), dtype=np.uint8)   # blue-ish in BGR
    h, img = mx.recordio.unpack_img(mx.recordio.pack_img((0, [1, 2], 1, 0), flat, quality=95))
    assert h.flag == 2 and img.shape == (16, 16, 3)
    assert np.abs(img.astype(int) - flat).max() <= 3                # JPEG, close
    _, img = mx.recordio.unpack_img(mx.recordio.pack((0, 1, 1, 0), b'not an image'))
    assert img is None                                              # as cv2.imdecode


def test_index_pointing_past_the_records_is_an_error(tmp_path):
    rec, idx = str(tmp_path / 'a.rec'), str(tmp_path / 'a.idx')
    writer = recordio.MXIndexedRecordIO(idx, rec, 'w')
    for key in range(3):
        writer.write_idx(key, b'rec%d' % key)
    writer.close()
    with open(rec, 'r+b') as f:                      # keep the first two records only
        f.truncate(24)
    reader = recordio.MXIndexedRecordIO(idx, rec, 'r')
    assert reader.read_idx(1) == b'rec1'
    with pytest.raises(recordio.RecordIOFormatError, match='key 2 byte offset 24, at or past'):
        reader.read_idx(2)
    reader.close()
