"""Data for language models: ``encode_sentences`` turns tokens into integer ids, and
``BucketSentenceIter`` serves batches of sentences of similar length for a
:class:`~mxref.module.BucketingModule`.

Bucketing: sentences are padded up to the smallest bucket length that holds them, and every
batch comes from one bucket, so a batch of short sentences runs a short unrolled graph.
Each batch carries its ``bucket_key`` (the padded length) for the module to pick the graph.
"""
import bisect
import random

import numpy as np

from ..base import MXNetValueError
from ..io import DataIter, DataBatch, DataDesc
from .. import ndarray

__all__ = ['encode_sentences', 'BucketSentenceIter']


def encode_sentences(sentences, vocab=None, invalid_label=-1, invalid_key='\n',
                     start_label=0, unknown_token=None):
    """Replace every token by its integer id, building the vocabulary as it goes.

    Parameters
    ----------
    sentences : list of list of str
        The sentences, each a list of tokens.
    vocab : dict of str to int, optional
        An existing vocabulary.  When None a new one is built, in which ``invalid_key``
        maps to ``invalid_label`` and new tokens get ids from ``start_label`` on (skipping
        ``invalid_label``).
    invalid_label : int, default -1
        The id of the invalid token (e.g. end of sentence).
    invalid_key : str, default '\\n'
        The invalid token.
    start_label : int, default 0
        The first id given to a new token.
    unknown_token : str, optional
        With a given ``vocab``, tokens it lacks are encoded as this token; without it, an
        unknown token is an error.  As in MXNet 1.9.1, every occurrence of an unknown token
        takes the next free id and ``vocab[unknown_token]`` keeps the last one.

    Returns
    -------
    encoded : list of list of int
    vocab : dict of str to int

    Examples
    --------
    >>> import mxref as mx
    >>> encoded, vocab = mx.rnn.encode_sentences([['a', 'b'], ['b', 'c', 'a']])
    >>> encoded
    [[0, 1], [1, 2, 0]]
    >>> sorted(vocab.items())
    [('\\n', -1), ('a', 0), ('b', 1), ('c', 2)]
    """
    next_id = start_label
    new_vocab = vocab is None
    if new_vocab:
        vocab = {invalid_key: invalid_label}
    encoded = []
    for sentence in sentences:
        codes = []
        for token in sentence:
            if token not in vocab:
                if not (new_vocab or unknown_token):
                    raise MXNetValueError('encode_sentences: unknown token %r (it is not in the '
                                          'given vocab and no unknown_token was given)' % token)
                if next_id == invalid_label:
                    next_id += 1
                if unknown_token:
                    token = unknown_token
                vocab[token] = next_id
                next_id += 1
            codes.append(vocab[token])
        encoded.append(codes)
    return encoded, vocab


class BucketSentenceIter(DataIter):
    """Batches of encoded sentences grouped by length, for language models: the label at each
    step is the next token (``invalid_label`` after the last).

    Parameters
    ----------
    sentences : list of list of int
        Encoded sentences (see :func:`encode_sentences`).
    batch_size : int
    buckets : list of int, optional
        The padded lengths.  By default every sentence length that at least ``batch_size``
        sentences have.  Sentences longer than the largest bucket are discarded.
    invalid_label : int, default -1
        The padding value, in data and label.
    data_name, label_name : str
        The names of the data and label inputs (default ``'data'`` and ``'softmax_label'``).
    dtype : str, default 'float32'
    layout : {'NT', 'TN'}, default 'NT'
        Batch-major (batch_size, length) or time-major (length, batch_size) batches.

    Attributes
    ----------
    default_bucket_key : int
        The largest bucket; ``provide_data``/``provide_label`` describe it.

    Examples
    --------
    >>> import mxref as mx
    >>> it = mx.rnn.BucketSentenceIter([[1, 2, 3], [4, 5], [6, 7, 8]], batch_size=2,
    ...                                buckets=[2, 3])
    WARNING: discarded 0 sentences longer than the largest bucket.
    >>> it.default_bucket_key, it.provide_data[0].shape
    (3, (2, 3))
    >>> batch = next(it)
    >>> batch.bucket_key, batch.data[0].shape
    (3, (2, 3))
    """

    def __init__(self, sentences, batch_size, buckets=None, invalid_label=-1,
                 data_name='data', label_name='softmax_label', dtype='float32', layout='NT'):
        super().__init__(batch_size)
        if not buckets:
            counts = np.bincount([len(s) for s in sentences])
            buckets = [length for length, count in enumerate(counts) if count >= batch_size]
        buckets = sorted(buckets)
        if layout not in ('NT', 'TN'):
            raise MXNetValueError('BucketSentenceIter: invalid layout %r: must be NT (batch '
                                  'major) or TN (time major)' % (layout,))

        per_bucket = [[] for _ in buckets]
        discarded = 0
        for sentence in sentences:
            bucket = bisect.bisect_left(buckets, len(sentence))
            if bucket == len(buckets):
                discarded += 1
                continue
            padded = np.full((buckets[bucket],), invalid_label, dtype=dtype)
            padded[:len(sentence)] = sentence
            per_bucket[bucket].append(padded)
        print('WARNING: discarded %d sentences longer than the largest bucket.' % discarded)

        used = [i for i, rows in enumerate(per_bucket) if rows]
        if not used:
            raise MXNetValueError('BucketSentenceIter: no sentence fits a bucket (buckets %s, '
                                  '%d sentences)' % (buckets, len(sentences)))
        self.buckets = [buckets[i] for i in used]
        self.data = [np.asarray(per_bucket[i], dtype=dtype) for i in used]
        self.batch_size = batch_size
        self.data_name = data_name
        self.label_name = label_name
        self.dtype = dtype
        self.invalid_label = invalid_label
        self.layout = layout
        self.major_axis = layout.find('N')
        self.default_bucket_key = max(self.buckets)
        self.provide_data = [self._desc(self.data_name, self.default_bucket_key)]
        self.provide_label = [self._desc(self.label_name, self.default_bucket_key)]

        # (bucket, first row) of every full batch
        self.idx = [(i, start) for i, rows in enumerate(self.data)
                    for start in range(0, len(rows) - batch_size + 1, batch_size)]
        self.curr_idx = 0
        self.nddata = []
        self.ndlabel = []
        self.reset()

    def _desc(self, name, length):
        shape = ((self.batch_size, length) if self.major_axis == 0
                 else (length, self.batch_size))
        return DataDesc(name=name, shape=shape, layout=self.layout)

    def reset(self):
        """Shuffle the batch order and the sentences within each bucket, and start over."""
        self.curr_idx = 0
        random.shuffle(self.idx)
        for rows in self.data:
            np.random.shuffle(rows)
        self.nddata = []
        self.ndlabel = []
        for rows in self.data:
            label = np.empty_like(rows)
            label[:, :-1] = rows[:, 1:]
            label[:, -1] = self.invalid_label
            self.nddata.append(ndarray.array(rows, dtype=self.dtype))
            self.ndlabel.append(ndarray.array(label, dtype=self.dtype))

    def next(self):
        """The next batch, with its ``bucket_key`` and its own ``provide_data``."""
        if self.curr_idx == len(self.idx):
            raise StopIteration
        bucket, start = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[bucket][start:start + self.batch_size]
        label = self.ndlabel[bucket][start:start + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        return DataBatch([data], [label], pad=0, bucket_key=self.buckets[bucket],
                         provide_data=[DataDesc(name=self.data_name, shape=data.shape,
                                                layout=self.layout)],
                         provide_label=[DataDesc(name=self.label_name, shape=label.shape,
                                                 layout=self.layout)])
