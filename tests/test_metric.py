"""mx.metric: every metric against a NumPy oracle and against values MXNet 1.9.1 computed
(the examples of its documentation and tests/data/mxnet_training_reference.npz); local and
global sums; update_dict; composite metrics; create()."""
import json
import math
import os
from collections import OrderedDict

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, 'data', 'mxnet_training_reference.npz')

PREDS = [mx.nd.array([[0.3, 0.7], [0, 1.], [0.4, 0.6]])]
LABELS = [mx.nd.array([0, 1, 1])]


def _value(name, labels, preds, **kwargs):
    metric = mx.metric.create(name, **kwargs)
    metric.update(labels, preds)
    return metric.get()


def test_documented_mxnet_values():
    """The outputs printed in MXNet 1.9.1's docstrings."""
    assert _value('acc', LABELS, PREDS) == ('accuracy', pytest.approx(0.6666666666666666))
    assert _value('f1', [mx.nd.array([0., 1., 1.])], PREDS) == ('f1', pytest.approx(0.8))
    assert _value('perplexity', LABELS, PREDS, ignore_label=None) == \
        ('perplexity', pytest.approx(1.7710976285155853, rel=1e-6))
    assert _value('ce', LABELS, PREDS) == ('cross-entropy', pytest.approx(0.57159948348999023))
    assert _value('nll_loss', LABELS, PREDS) == ('nll-loss', pytest.approx(0.57159948348999023))
    assert _value('pearsonr', [mx.nd.array([[1, 0], [0, 1], [0, 1]])], PREDS) == \
        ('pearsonr', pytest.approx(0.42163704544016178))
    reg_pred = [mx.nd.array(np.array([3, -0.5, 2, 7]).reshape(4, 1))]
    reg_label = [mx.nd.array(np.array([2.5, 0.0, 2, 8]).reshape(4, 1))]
    assert _value('mae', reg_label, reg_pred) == ('mae', 0.5)
    assert _value('mse', reg_label, reg_pred) == ('mse', 0.375)
    assert _value('rmse', reg_label, reg_pred) == ('rmse', pytest.approx(0.612372457981))
    assert _value(lambda x, y: (x + y).mean(), reg_label, reg_pred) == \
        ('custom(<lambda>)', 6.0)
    np.random.seed(999)
    topk = [mx.nd.array(np.random.rand(10, 10))]
    assert _value('top_k_accuracy', [mx.nd.array([2, 6, 9, 2, 3, 4, 7, 8, 9, 6])], topk,
                  top_k=3) == ('top_k_accuracy_3', pytest.approx(0.3))
    fp, fn, tp, tn = 1000, 1, 10000, 1
    preds = [mx.nd.array([[.3, .7]] * fp + [[.7, .3]] * tn + [[.7, .3]] * fn +
                         [[.3, .7]] * tp)]
    labels = [mx.nd.array([0.] * (fp + tn) + [1.] * (fn + tp))]
    assert _value('f1', labels, preds)[1] == pytest.approx(0.95233560306652054)
    assert _value('mcc', labels, preds)[1] == pytest.approx(0.01917751877733392)
    assert _value('pcc', labels, preds)[1] == pytest.approx(0.01917751877733392)


def test_against_mxnet_reference_file():
    """Two batches with reset_local in between: MXNet's local and global values."""
    ref = np.load(REFERENCE)
    configs = json.loads(str(ref['metric_config']))
    for k, (name, kwargs, kind) in enumerate(configs):
        metric = mx.metric.create(name, **kwargs)
        for j in range(2):
            if j == 1:
                metric.reset_local()
            metric.update([mx.nd.array(ref['%s_labels_%d' % (kind, j)])],
                          [mx.nd.array(ref['%s_preds_%d' % (kind, j)])])
        local, total = ref['metric%d' % k]
        assert metric.get()[1] == pytest.approx(local, rel=1e-5), (name, kwargs)
        assert metric.get_global()[1] == pytest.approx(total, rel=1e-5), (name, kwargs)


def test_oracles_on_random_batches():
    rng = np.random.RandomState(5)
    probs = rng.dirichlet(np.ones(7), size=23).astype(np.float32)
    labels = rng.randint(0, 7, 23).astype(np.float32)
    L, P = [mx.nd.array(labels)], [mx.nd.array(probs)]
    assert _value('acc', L, P)[1] == pytest.approx(np.mean(probs.argmax(1) == labels))
    top3 = np.argsort(-probs, axis=1)[:, :3]
    assert _value('top_k_acc', L, P, top_k=3)[1] == \
        pytest.approx(np.mean([labels[i] in top3[i] for i in range(23)]))
    picked = probs[np.arange(23), labels.astype(int)]
    assert _value('ce', L, P)[1] == pytest.approx(np.mean(-np.log(picked + 1e-12)), rel=1e-5)
    assert _value('perplexity', L, P, ignore_label=None)[1] == \
        pytest.approx(np.exp(np.mean(-np.log(picked))), rel=1e-5)
    keep = labels != 3
    assert _value('perplexity', L, P, ignore_label=3)[1] == \
        pytest.approx(np.exp(np.mean(-np.log(picked[keep]))), rel=1e-5)
    target = rng.normal(size=(23, 2)).astype(np.float32)
    guess = target + rng.normal(size=(23, 2)).astype(np.float32)
    L, P = [mx.nd.array(target)], [mx.nd.array(guess)]
    assert _value('mae', L, P)[1] == pytest.approx(np.abs(target - guess).mean(), rel=1e-5)
    assert _value('rmse', L, P)[1] == \
        pytest.approx(np.sqrt(((target - guess) ** 2).mean()), rel=1e-5)
    assert _value('pearsonr', L, P)[1] == \
        pytest.approx(np.corrcoef(guess.ravel(), target.ravel())[0, 1], rel=1e-5)
    assert _value('loss', L, P)[1] == pytest.approx(guess.mean(), rel=1e-4, abs=1e-6)


def test_accuracy_with_class_indices_and_axis():
    assert _value('acc', [mx.nd.array([1, 2, 3])], [mx.nd.array([1, 0, 3])])[1] == \
        pytest.approx(2 / 3)
    preds = mx.nd.array(np.array([[[0.1, 0.9], [0.8, 0.2]]]).transpose(0, 2, 1))  # (1, 2, 2)
    assert _value('acc', [mx.nd.array([[1, 0]])], [preds], axis=1)[1] == 1.0


def test_local_and_global_windows():
    acc = mx.metric.Accuracy()
    acc.update([mx.nd.array([0, 1])], [mx.nd.array([0, 0])])
    acc.reset_local()
    acc.update([mx.nd.array([1, 1])], [mx.nd.array([1, 1])])
    assert acc.get() == ('accuracy', 1.0)
    assert acc.get_global() == ('accuracy', 0.75)
    assert acc.get_name_value() == [('accuracy', 1.0)]
    assert acc.get_global_name_value() == [('accuracy', 0.75)]
    acc.reset()
    assert math.isnan(acc.get()[1]) and math.isnan(acc.get_global()[1])
    assert str(acc).startswith('EvalMetric: {')


def test_f1_mcc_macro_and_micro():
    batches = [(np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])),
               (np.array([0, 0, 1]), np.array([1, 0, 1]))]

    def f1(tp, fp, fn):
        p, r = tp / (tp + fp), tp / (tp + fn)
        return 2 * p * r / (p + r)
    macro, micro = mx.metric.F1(), mx.metric.F1(average='micro')
    for labels, predicted in batches:
        scores = mx.nd.array(np.eye(2)[predicted])
        for metric in (macro, micro):
            metric.update([mx.nd.array(labels)], [scores])
    assert macro.get()[1] == pytest.approx((f1(2, 0, 1) + f1(1, 1, 0)) / 2)
    assert micro.get()[1] == pytest.approx(f1(3, 1, 1))
    with pytest.raises(MXNetError, match='only supports binary'):
        mx.metric.F1().update([mx.nd.array([0, 1, 2])], [mx.nd.array(np.eye(3))])


def test_update_dict_selects_names():
    metric = mx.metric.Accuracy(output_names=['b_output'], label_names=['b_label'])
    labels = OrderedDict([('a_label', mx.nd.array([0, 0])), ('b_label', mx.nd.array([1, 1]))])
    preds = OrderedDict([('a_output', mx.nd.array([[0, 1], [0, 1]])),
                         ('b_output', mx.nd.array([[0, 1], [1, 0]]))])
    metric.update_dict(labels, preds)
    assert metric.get()[1] == 0.5
    composite = mx.metric.create(['acc', 'ce'])
    composite.update_dict(OrderedDict([('l', LABELS[0])]), OrderedDict([('o', PREDS[0])]))
    assert composite.get()[0] == ['accuracy', 'cross-entropy']


def test_composite_and_create():
    composite = mx.metric.create(['acc', mx.metric.TopKAccuracy(top_k=2), 'mse'])
    assert isinstance(composite, mx.metric.CompositeEvalMetric)
    composite.update(LABELS, PREDS)
    names, values = composite.get()
    assert names == ['accuracy', 'top_k_accuracy_2', 'mse']
    assert values[0] == pytest.approx(2 / 3) and values[1] == 1.0
    assert composite.get_metric(1).top_k == 2
    composite.reset_local()
    assert math.isnan(composite.get()[1][0])
    assert not math.isnan(composite.get_global()[1][0])
    for name, cls in [('acc', 'Accuracy'), ('accuracy', 'Accuracy'), ('top_k_acc',
                      'TopKAccuracy'), ('top_k_accuracy', 'TopKAccuracy'), ('f1', 'F1'),
                      ('mcc', 'MCC'), ('rmse', 'RMSE'), ('mse', 'MSE'), ('mae', 'MAE'),
                      ('ce', 'CrossEntropy'), ('nll_loss', 'NegativeLogLikelihood'),
                      ('pearsonr', 'PearsonCorrelation'), ('loss', 'Loss'),
                      ('composite', 'CompositeEvalMetric'), ('pcc', 'PCC')]:
        kwargs = {'top_k': 2} if 'top_k' in name else {}
        assert type(mx.metric.create(name, **kwargs)).__name__ == cls
    assert type(mx.metric.create('perplexity', -1)).__name__ == 'Perplexity'
    config = mx.metric.Accuracy(axis=0).get_config()
    assert config == {'axis': 0, 'metric': 'Accuracy', 'name': 'accuracy',
                      'output_names': None, 'label_names': None}
    assert mx.metric.create(**config).axis == 0
    with pytest.raises(MXNetError, match='not registered'):
        mx.metric.create('nosuch')
    with pytest.raises(MXNetError, match='Please use Accuracy'):
        mx.metric.TopKAccuracy(top_k=1)


def test_custom_metrics():
    def sum_and_count(label, pred):
        return float(np.abs(label - pred).sum()), label.size
    metric = mx.metric.CustomMetric(sum_and_count)
    metric.update([mx.nd.array([1, 2])], [mx.nd.array([2, 4])])
    assert metric.get() == ('sum_and_count', 1.5)
    named = mx.metric.np(lambda label, pred: 7.0, name='seven')
    named.update(LABELS, PREDS)
    assert named.get() == ('seven', 7.0)
    extra = mx.metric.np(lambda label, pred: 1.0, allow_extra_outputs=True)
    extra.update(LABELS, PREDS + PREDS)                       # more outputs than labels
    with pytest.raises(MXNetError, match='does not match'):
        mx.metric.np(lambda label, pred: 1.0).update(LABELS, PREDS + PREDS)
    with pytest.raises(NotImplementedError):
        metric.get_config()


def test_shape_errors():
    with pytest.raises(MXNetError, match='Shape of labels 1 does not match'):
        mx.metric.Accuracy().update(LABELS, PREDS + PREDS)
    with pytest.raises(MXNetError, match='shape mismatch'):
        mx.metric.Perplexity(None).update([mx.nd.array([0, 1])], PREDS)
    with pytest.raises(MXNetError, match='2 labels for 3'):
        mx.metric.CrossEntropy().update([mx.nd.array([0, 1])], PREDS)
