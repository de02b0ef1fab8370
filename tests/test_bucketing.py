"""BucketingModule: one network per sequence length, one shared set of parameters."""
import logging
import os
import random

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError
from mxref.test_utils import assert_almost_equal

VOCAB, EMBED, HIDDEN, BATCH = 7, 6, 10, 4


def sym_gen(length):
    """A one-layer LSTM language model unrolled over ``length`` steps."""
    data = mx.sym.Variable('data')
    label = mx.sym.Variable('softmax_label')
    embed = mx.sym.Embedding(data, input_dim=VOCAB, output_dim=EMBED, name='embed')
    cell = mx.rnn.LSTMCell(HIDDEN, prefix='lstm_')
    outputs, _ = cell.unroll(length, embed, merge_outputs=True)
    pred = mx.sym.FullyConnected(mx.sym.Reshape(outputs, shape=(-1, HIDDEN)), num_hidden=VOCAB,
                                 name='pred')
    loss = mx.sym.SoftmaxOutput(pred, mx.sym.Reshape(label, shape=(-1,)), name='softmax')
    return loss, ('data',), ('softmax_label',)


def counting_sentences(count, seed=0):
    """Sentences 1..VOCAB-1 counting upwards from a random start, of lengths 3 to 8: the next
    token is always predictable (labels use 0 as padding, which no sentence contains)."""
    rng = np.random.RandomState(seed)
    sentences = []
    for _ in range(count):
        start, length = rng.randint(1, VOCAB), rng.randint(3, 9)
        sentences.append([(start + k - 1) % (VOCAB - 1) + 1 for k in range(length)])
    return sentences


def make_iter(count=120, seed=0):
    random.seed(seed)
    np.random.seed(seed)
    return mx.rnn.BucketSentenceIter(counting_sentences(count, seed), BATCH, buckets=[4, 6, 8],
                                     invalid_label=0)


def make_module(**kwargs):
    return mx.mod.BucketingModule(sym_gen, default_bucket_key=8, **kwargs)


def test_fit_trains_a_bucketed_language_model(capsys):
    mx.random.seed(1)
    train, val = make_iter(160, seed=0), make_iter(60, seed=1)
    mod = make_module()
    metric = mx.metric.Perplexity(ignore_label=0)
    mod.fit(train, eval_data=val, eval_metric=metric, optimizer='adam',
            optimizer_params={'learning_rate': 0.05}, initializer=mx.init.Xavier(),
            num_epoch=8)
    assert sorted(mod._buckets) == [4, 6, 8]
    ((name, perplexity),) = mod.score(val, mx.metric.Perplexity(ignore_label=0))
    assert name == 'perplexity'
    assert perplexity < 1.6           # counting is predictable: chance would be about 6


def test_buckets_share_the_parameter_arrays():
    mod = make_module()
    train = make_iter()
    mod.bind(train.provide_data, train.provide_label)
    mod.init_params(mx.init.Uniform(0.1))
    mod.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.1})
    for batch in train:
        mod.forward_backward(batch)
        mod.update()
    default = mod._buckets[8]._exec_group
    for key, module in mod._buckets.items():
        group = module._exec_group
        for name, block in zip(group.param_names, group.param_arrays):
            assert block[0] is default.param_arrays[default.param_names.index(name)][0]
        assert module._optimizer is mod._buckets[8]._optimizer


@pytest.mark.parametrize('length', [4, 6])
def test_a_bucket_computes_what_its_own_module_computes(length):
    mod = make_module()
    mod.bind([('data', (BATCH, 8))], [('softmax_label', (BATCH, 8))], for_training=False)
    mod.init_params(mx.init.Uniform(0.3))
    data = mx.nd.array(np.random.randint(1, VOCAB, size=(BATCH, length)))
    batch = mx.io.DataBatch([data], [mx.nd.zeros((BATCH, length))], bucket_key=length,
                            provide_data=[('data', (BATCH, length))],
                            provide_label=[('softmax_label', (BATCH, length))])
    mod.forward(batch, is_train=False)
    assert mod.data_shapes[0].shape == (BATCH, length)

    arg_params, aux_params = mod.get_params()
    plain = mx.mod.Module(sym_gen(length)[0])
    plain.bind([('data', (BATCH, length))], [('softmax_label', (BATCH, length))],
               for_training=False)
    plain.set_params(arg_params, aux_params)
    plain.forward(batch, is_train=False)
    assert_almost_equal(mod.get_outputs()[0], plain.get_outputs()[0])


def test_prepare_binds_ahead_and_stays_in_the_current_bucket():
    mod = make_module()
    mod.bind([('data', (BATCH, 8))], [('softmax_label', (BATCH, 8))])
    mod.init_params()
    batch = mx.io.DataBatch([mx.nd.ones((BATCH, 4))], [mx.nd.ones((BATCH, 4))], bucket_key=4,
                            provide_data=[('data', (BATCH, 4))],
                            provide_label=[('softmax_label', (BATCH, 4))])
    mod.prepare(batch)
    assert mod._buckets[4].binded and mod._curr_bucket_key == 8
    mod.switch_bucket(4, batch.provide_data, batch.provide_label)
    assert mod.symbol.list_outputs() == ['softmax_output']
    # as in MXNet, output shapes report the batch size on the batch axis
    assert mod.output_shapes == [('softmax_output', (BATCH, VOCAB))]
    assert mod.data_shapes[0].shape == (BATCH, 4)


def test_checkpoint_round_trip(tmp_path):
    mod = make_module()
    train = make_iter()
    mod.fit(train, num_epoch=1, optimizer='sgd', eval_metric=mx.metric.Perplexity(0))
    prefix = str(tmp_path / 'lm')
    mod.save_checkpoint(prefix, 3)
    for name in ('lm-0003.params', 'lm-4-symbol.json', 'lm-6-symbol.json', 'lm-8-symbol.json',
                 'lm.buckets'):
        assert os.path.exists(str(tmp_path / name)), name
    assert mx.nd.load(prefix + '.buckets')[0].dtype == np.int32

    loaded = mx.mod.BucketingModule.load(prefix, 3, sym_gen=sym_gen, default_bucket_key=8)
    assert sorted(loaded._buckets) == [4, 6, 8]
    loaded.bind(train.provide_data, train.provide_label, for_training=False)
    train.reset()
    batch = next(train)
    mod.forward(batch, is_train=False)
    loaded.forward(batch, is_train=False)
    assert_almost_equal(loaded.get_outputs()[0], mod.get_outputs()[0])

    arg_params, aux_params = mod.get_params()
    from_dict = mx.mod.BucketingModule.load_dict({8: sym_gen(8)[0]}, sym_gen, 8,
                                                  arg_params, aux_params)
    from_dict.bind(train.provide_data, train.provide_label, for_training=False)
    assert sorted(from_dict.get_params()[0]) == sorted(arg_params)


def test_predict_collects_every_bucket():
    mod = make_module()
    it = make_iter(40)
    mod.bind(it.provide_data, it.provide_label, for_training=False)
    mod.init_params()
    outputs = mod.predict(it, merge_batches=False)
    assert sorted({o[0].shape[0] for o in outputs}) == sorted(
        {BATCH * key for key in mod._buckets})


def test_bad_use_is_reported():
    with pytest.raises(MXNetError, match='default_bucket_key'):
        mx.mod.BucketingModule(sym_gen)
    mod = make_module()
    assert mod.data_names == ('data',)
    assert mod.output_names == ['softmax_output']
    with pytest.raises(MXNetError, match='not bound'):
        mod.forward(mx.io.DataBatch([mx.nd.ones((BATCH, 8))], bucket_key=8))
    with pytest.raises(MXNetError, match='cannot be saved'):
        mod.save_checkpoint('never', 1)
    with pytest.raises(MXNetError, match='shared_module'):
        mod.bind([('data', (BATCH, 8))], shared_module=make_module())
    with pytest.raises(MXNetError, match="input with name 'nope'"):
        mx.mod.BucketingModule(lambda key: sym_gen(key)[:1] + (('nope',), ()), 8)
