"""Write ``recordio-mxnet-1.9.1/``: RecordIO files written by the real MXNet 1.9.1, which
``tests/test_recordio.py`` compares mxref's reader and writer against byte for byte.

This script is run by hand, with a Python that has MXNet 1.9.1 installed (it is never a
dependency of mxref and no test imports it)::

    /tmp/mxenv/bin/python tests/data/make_recordio_reference.py

Contents of ``recordio-mxnet-1.9.1/``
------------------------------------
``records.rec``: the payloads of ``records.json`` (hex strings), one record each, written
with ``mx.recordio.MXRecordIO(..., 'w')``: lengths 0..9 and primes, and payloads holding the
magic word 0xced7230a (bytes ``0a 23 d7 ce``) at aligned and unaligned offsets.
``indexed.rec``/``indexed.idx``: ``MXIndexedRecordIO.write_idx`` of ``indexed.json``'s
``[key, hex payload]`` pairs (int keys), with ``tell()`` after each write in ``tells``.
``strkeys.rec``/``strkeys.idx``: the same with ``key_type=str``.
``packed.json``: ``[flag, label, id, id2, hex payload, hex of mx.recordio.pack(...)]``.
``empty.rec``: a writer opened and closed without records.
"""
import json
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'recordio-mxnet-1.9.1')
MAGIC = bytes.fromhex('0a23d7ce')       # 0xced7230a, little-endian as the writer stores it


def filler(n, seed=0):
    return bytes((i * 37 + 11 + seed) % 256 for i in range(n))


def payloads():
    out = [filler(n) for n in range(10)]                              # lengths 0..9
    out += [filler(n, seed=n) for n in (11, 13, 17, 23, 29, 31, 97, 1009)]  # primes
    out += [
        MAGIC,                                  # the whole record is the magic word
        MAGIC * 2, MAGIC * 3,                   # several in a row
        MAGIC + b'abc',                         # at the start, unaligned length
        b'abcd' + MAGIC,                        # at the end, aligned
        b'abc' + MAGIC,                         # at the end, unaligned offset: not split
        b'a' + MAGIC + b'xyz',                  # unaligned in the middle: not split
        b'ab' + MAGIC + b'cd',
        b'abcd' + MAGIC + b'e',                 # aligned, then an unaligned tail
        b'abcd' + MAGIC + b'efgh' + MAGIC + b'ij',   # several times, apart
        MAGIC + b'abcdefgh' + MAGIC,            # start and end
        b'abcdefg' + MAGIC,                     # offset 7: unaligned, in the tail
        b'abcdefgh' + MAGIC[:3],                # a prefix of the magic word only
        bytes.fromhex('ced7230a') * 2,          # the big-endian bytes: not the magic here
        filler(13) + MAGIC + filler(3) + MAGIC + filler(20) + MAGIC,   # offsets 13, 20, 44
        filler(8) + MAGIC + filler(1),
        MAGIC + filler(1),
        MAGIC + MAGIC[:2],
    ]
    return out


def main():
    import mxnet as mx          # only here: importing this file must not need MXNet
    os.makedirs(HERE, exist_ok=True)
    records = payloads()
    with open(os.path.join(HERE, 'records.json'), 'w') as f:
        json.dump([r.hex() for r in records], f, indent=0)
    writer = mx.recordio.MXRecordIO(os.path.join(HERE, 'records.rec'), 'w')
    for r in records:
        writer.write(r)
    writer.close()

    writer = mx.recordio.MXRecordIO(os.path.join(HERE, 'empty.rec'), 'w')
    writer.close()

    indexed = [[3, filler(5)], [1, MAGIC + b'xy'], [4, b''], [1, filler(12)], [10, filler(31)]]
    for name, key_type, keys in (('indexed', int, None),
                                 ('strkeys', str, ['b', 'a', 'c', 'a', 'z'])):
        entries = [[keys[i] if keys else k, p] for i, (k, p) in enumerate(indexed)]
        rec = mx.recordio.MXIndexedRecordIO(os.path.join(HERE, name + '.idx'),
                                            os.path.join(HERE, name + '.rec'), 'w',
                                            key_type=key_type)
        tells = [rec.tell()]
        for k, p in entries:
            rec.write_idx(k, p)
            tells.append(rec.tell())
        rec.close()
        with open(os.path.join(HERE, name + '.json'), 'w') as f:
            json.dump({'entries': [[k, p.hex()] for k, p in entries], 'tells': tells}, f)

    packed = []
    cases = [(0, 3.0, 7, 0, b'hello'), (5, 2, 1, 2, b''), (0, [1, 2.5, 3], 9, 0, b'xyz'),
             (0, [4.0], 1, 0, b'a'), (0, [], 1, 0, b'b'), (0, np.float32(1.5), 2**40, 3, b'c'),
             (0, np.array([[1, 2], [3, 4]]), 5, 0, MAGIC)]
    for flag, label, id_, id2, s in cases:
        out = mx.recordio.pack(mx.recordio.IRHeader(flag, label, id_, id2), s)
        plain = label.tolist() if isinstance(label, np.ndarray) else \
            float(label) if isinstance(label, np.floating) else label
        packed.append([flag, plain, id_, id2, s.hex(), out.hex()])
    with open(os.path.join(HERE, 'packed.json'), 'w') as f:
        json.dump(packed, f, indent=0)


if __name__ == '__main__':
    main()
