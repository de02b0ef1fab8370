"""encode_sentences and BucketSentenceIter, as MXNet 1.9.1 defines them."""
import random

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError


def test_encode_sentences_builds_a_vocabulary():
    encoded, vocab = mx.rnn.encode_sentences([['the', 'cat'], ['the', 'dog', 'sat']],
                                             invalid_label=1, start_label=0)
    # ids start at start_label and skip invalid_label
    assert vocab == {'\n': 1, 'the': 0, 'cat': 2, 'dog': 3, 'sat': 4}
    assert encoded == [[0, 2], [0, 3, 4]]


def test_encode_sentences_with_a_given_vocabulary():
    vocab = {'a': 0, 'b': 1}
    encoded, same = mx.rnn.encode_sentences([['a', 'b', 'a']], vocab=vocab)
    assert encoded == [[0, 1, 0]] and same is vocab
    encoded, vocab = mx.rnn.encode_sentences([['a', 'z', 'y']], vocab={'a': 0, 'b': 1},
                                             unknown_token='<unk>', start_label=2)
    # as in MXNet 1.9.1, each unknown occurrence takes the next id and the token keeps the last
    assert encoded == [[0, 2, 3]] and vocab['<unk>'] == 3
    with pytest.raises(MXNetError, match="unknown token 'z'"):
        mx.rnn.encode_sentences([['z']], vocab={'a': 0})


def _sentences(count=40, seed=3):
    rng = np.random.RandomState(seed)
    return [list(rng.randint(1, 20, size=rng.randint(2, 9))) for _ in range(count)]


def test_default_buckets_are_the_frequent_lengths(capsys):
    sentences = _sentences()
    lengths = np.bincount([len(s) for s in sentences])
    it = mx.rnn.BucketSentenceIter(sentences, batch_size=5)
    assert it.buckets == [n for n, c in enumerate(lengths) if c >= 5]
    assert 'WARNING: discarded %d sentences longer than the largest bucket.' % sum(
        c for n, c in enumerate(lengths) if n > max(it.buckets)) in capsys.readouterr().out


@pytest.mark.parametrize('layout', ['NT', 'TN'])
def test_batches_are_padded_sentences_with_shifted_labels(layout):
    random.seed(0)
    np.random.seed(0)
    sentences = _sentences()
    it = mx.rnn.BucketSentenceIter(sentences, batch_size=4, buckets=[4, 6, 8],
                                   invalid_label=0, layout=layout, data_name='words',
                                   label_name='next')
    assert it.default_bucket_key == 8
    expected_shape = (4, 8) if layout == 'NT' else (8, 4)
    assert [(d.name, d.shape, d.layout) for d in it.provide_data] == [('words', expected_shape,
                                                                        layout)]
    assert it.provide_label[0].name == 'next'
    as_tuples = {tuple(s) for s in sentences}
    batches = list(it)
    per_bucket = {b: sum(1 for s in sentences if len(s) <= b and (b == 4 or len(s) > b - 2))
                  for b in (4, 6, 8)}
    assert len(batches) == sum(n // 4 for n in per_bucket.values())
    for batch in batches:
        data, label = batch.data[0].asnumpy(), batch.label[0].asnumpy()
        if layout == 'TN':
            data, label = data.T, label.T
        assert data.shape == (4, batch.bucket_key)
        assert batch.provide_data[0].shape == batch.data[0].shape
        np.testing.assert_array_equal(label[:, :-1], data[:, 1:])
        assert (label[:, -1] == 0).all()
        for row in data:
            real = tuple(int(v) for v in row[row != 0])
            assert real in as_tuples                      # padding only at the end
            assert (row[len(real):] == 0).all()
    it.reset()
    assert len(list(it)) == len(batches)


def test_long_sentences_are_discarded(capsys):
    it = mx.rnn.BucketSentenceIter([[1, 2], [3, 4], [1, 2, 3, 4, 5]], batch_size=2, buckets=[3])
    assert 'discarded 1 sentences' in capsys.readouterr().out
    assert [b.bucket_key for b in it] == [3]


def test_bad_arguments_are_reported():
    with pytest.raises(MXNetError, match='invalid layout'):
        mx.rnn.BucketSentenceIter([[1, 2]] * 4, batch_size=2, layout='NTC')
    with pytest.raises(MXNetError, match='no sentence fits a bucket'):
        mx.rnn.BucketSentenceIter([[1, 2, 3]] * 4, batch_size=2, buckets=[2])
