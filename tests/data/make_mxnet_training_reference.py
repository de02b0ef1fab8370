"""Write ``mxnet_training_reference.npz``: numbers computed by the real MXNet 1.9.1, which
``tests/test_optimizer.py`` and ``tests/test_metric.py`` compare mxref against.

This script is run by hand, with a Python that has MXNet 1.9.1 installed (it is never a
dependency of mxref and no test imports it)::

    /tmp/mxenv/bin/python tests/data/make_mxnet_training_reference.py

Contents
--------
``opt_config``: JSON list of ``[optimizer name, constructor kwargs]``.
``w0_<i>``, ``g<step>_<i>``: the two starting weights and the gradients of 4 update steps
(parameter 0 is ``fc_weight``, parameter 1 ``fc_bias`` with ``lr_mult`` 2).
``opt<k>_w<i>``: the weights after the 4 steps of configuration k.
``metric_labels_<j>``, ``metric_preds_<j>``: two batches of a 3-class problem (labels and
probabilities), ``binary_labels_<j>``/``binary_preds_<j>`` the same for 2 classes,
``reg_labels_<j>``/``reg_preds_<j>`` for regression.
``metric_config``: JSON list of ``[metric name, kwargs, data kind]``;
``metric<k>``: ``[local value, global value]`` after both batches, with ``reset_local``
called between them.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

OPTIMIZERS = [
    ['sgd', {'learning_rate': 0.1, 'wd': 0.01, 'rescale_grad': 0.5}],
    ['sgd', {'learning_rate': 0.1, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.5,
             'clip_gradient': 0.4}],
    ['nag', {'learning_rate': 0.1, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.5}],
    ['nag', {'learning_rate': 0.1, 'wd': 0.01, 'clip_gradient': 0.3}],
    ['signum', {'learning_rate': 0.1, 'momentum': 0.9, 'wd': 0.01, 'wd_lh': 0.05,
                'rescale_grad': 0.5}],
    ['signum', {'learning_rate': 0.1, 'momentum': 0.0, 'wd': 0.01}],
    ['adam', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.4}],
    ['adam', {'learning_rate': 0.01, 'beta1': 0.8, 'epsilon': 1e-6}],
    ['adamax', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.4}],
    ['nadam', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5}],
    ['adagrad', {'learning_rate': 0.1, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.4}],
    ['adadelta', {'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.4}],
    ['rmsprop', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_weights': 0.5}],
    ['rmsprop', {'learning_rate': 0.01, 'wd': 0.01, 'rescale_grad': 0.5, 'centered': True,
                 'clip_gradient': 0.4}],
    ['ftrl', {'learning_rate': 0.1, 'wd': 0.01, 'rescale_grad': 0.5, 'lamda1': 0.01}],
]

METRICS = [
    ['acc', {}, 'class'], ['top_k_acc', {'top_k': 2}, 'class'], ['ce', {}, 'class'],
    ['nll_loss', {}, 'class'], ['perplexity', {'ignore_label': None}, 'class'],
    ['perplexity', {'ignore_label': 1}, 'class'], ['f1', {}, 'binary'],
    ['f1', {'average': 'micro'}, 'binary'], ['mcc', {}, 'binary'],
    ['mcc', {'average': 'micro'}, 'binary'], ['mae', {}, 'reg'], ['mse', {}, 'reg'],
    ['rmse', {}, 'reg'], ['pearsonr', {}, 'reg'], ['pearsonr', {'average': 'micro'}, 'reg'],
    ['loss', {}, 'reg'], ['pcc', {}, 'class'],
]


def main():
    import mxnet as mx          # only here: importing this file must not need MXNet
    rng = np.random.RandomState(42)
    out = {}
    w0 = [rng.uniform(-1, 1, (4, 5)).astype(np.float32),
          rng.uniform(-1, 1, (5,)).astype(np.float32)]
    grads = [[rng.uniform(-2, 2, w.shape).astype(np.float32) for w in w0] for _ in range(4)]
    for i, w in enumerate(w0):
        out['w0_%d' % i] = w
    for s, step in enumerate(grads):
        for i, g in enumerate(step):
            out['g%d_%d' % (s, i)] = g
    for k, (name, kwargs) in enumerate(OPTIMIZERS):
        opt = mx.optimizer.create(name, param_idx2name={0: 'fc_weight', 1: 'fc_bias'},
                                  **kwargs)
        opt.set_lr_mult({'fc_bias': 2.0})
        updater = mx.optimizer.get_updater(opt)
        weights = [mx.nd.array(w) for w in w0]
        for step in grads:
            for i in range(2):
                updater(i, mx.nd.array(step[i]), weights[i])
        for i in range(2):
            out['opt%d_w%d' % (k, i)] = weights[i].asnumpy()
    out['opt_config'] = np.array(json.dumps(OPTIMIZERS))

    data = {}
    for j, n in enumerate((12, 9)):
        scores = rng.uniform(0.05, 1, (n, 3)).astype(np.float32)
        data['class', j] = (rng.randint(0, 3, n).astype(np.float32),
                            scores / scores.sum(axis=1, keepdims=True))
        scores = rng.uniform(0.05, 1, (n, 2)).astype(np.float32)
        data['binary', j] = (rng.randint(0, 2, n).astype(np.float32),
                             scores / scores.sum(axis=1, keepdims=True))
        labels = rng.normal(0, 1, n).astype(np.float32)
        data['reg', j] = (labels, (labels + rng.normal(0, 0.5, n)).astype(np.float32))
    for (kind, j), (labels, preds) in data.items():
        out['%s_labels_%d' % (kind, j)] = labels
        out['%s_preds_%d' % (kind, j)] = preds
    for k, (name, kwargs, kind) in enumerate(METRICS):
        metric = mx.metric.create(name, **kwargs)
        for j in range(2):
            if j == 1:
                metric.reset_local()
            labels, preds = data[kind, j]
            metric.update([mx.nd.array(labels)], [mx.nd.array(preds)])
        out['metric%d' % k] = np.array([metric.get()[1], metric.get_global()[1]],
                                       dtype=np.float64)
    out['metric_config'] = np.array(json.dumps(METRICS))
    np.savez(os.path.join(HERE, 'mxnet_training_reference.npz'), **out)


if __name__ == '__main__':
    main()
