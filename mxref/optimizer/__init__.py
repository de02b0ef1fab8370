"""``mx.optimizer``: the optimizers, their registry, and the updater that applies them.

>>> import mxref as mx
>>> opt = mx.optimizer.create('sgd', learning_rate=0.1, momentum=0.9, wd=1e-4)
>>> type(opt).__name__, opt.learning_rate
('SGD', 0.1)
"""
from .optimizer import (Optimizer, register, create, Updater, get_updater, dump_states,
                        parse_states)
from .sgd import SGD, NAG, Signum, ccSGD
from .adaptive import Adam, Adamax, Nadam, AdaGrad, AdaDelta, RMSProp, Ftrl

__all__ = ['Optimizer', 'register', 'create', 'Updater', 'get_updater', 'dump_states',
           'parse_states', 'SGD', 'NAG', 'Signum',
           'ccSGD', 'Adam', 'Adamax', 'Nadam', 'AdaGrad', 'AdaDelta', 'RMSProp', 'Ftrl']
