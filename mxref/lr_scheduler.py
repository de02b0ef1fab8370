"""Learning-rate schedules (``mx.lr_scheduler``).

A scheduler is called with ``num_update``, the largest number of updates any weight has
received so far, and returns the learning rate to use.  Every scheduler can start with a
warm-up of ``warmup_steps`` updates during which the rate either climbs linearly from
``warmup_begin_lr`` to ``base_lr`` (``warmup_mode='linear'``) or stays at ``warmup_begin_lr``
(``'constant'``).

>>> import mxref as mx
>>> s = mx.lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=1.0)
>>> [s(n) for n in (1, 10, 11, 21)]
[1.0, 1.0, 0.5, 0.25]
>>> c = mx.lr_scheduler.CosineScheduler(max_update=100, base_lr=1.0)
>>> round(c(50), 6)
0.5
"""
import logging
from math import cos, pi

from .base import MXNetTypeError, MXNetValueError

__all__ = ['LRScheduler', 'FactorScheduler', 'MultiFactorScheduler', 'PolyScheduler',
           'CosineScheduler']


class LRScheduler:
    """Base class: the warm-up logic shared by every schedule.

    Parameters
    ----------
    base_lr : float
        The rate reached at the end of the warm-up (and where the decay starts).
    warmup_steps : int
        Number of warm-up updates (0: none).
    warmup_begin_lr : float
        The rate the warm-up starts from.
    warmup_mode : {'linear', 'constant'}
    """

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode='linear'):
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool):
            raise MXNetTypeError('warmup_steps must be an int, got %r' % (warmup_steps,))
        if warmup_begin_lr > base_lr:
            raise MXNetValueError('Base lr has to be higher than warmup_begin_lr')
        if warmup_steps < 0:
            raise MXNetValueError('Warmup steps has to be positive or 0')
        if warmup_mode not in ('linear', 'constant'):
            raise MXNetValueError('Supports only linear and constant modes of warmup')
        self.base_lr = base_lr
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        """The rate during warm-up (``num_update < warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise MXNetValueError('get_warmup_lr: update %d is past the %d warm-up steps'
                                  % (num_update, self.warmup_steps))
        if self.warmup_mode == 'linear':
            increase = ((self.warmup_final_lr - self.warmup_begin_lr)
                        * float(num_update) / float(self.warmup_steps))
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        raise NotImplementedError('%s must implement __call__' % type(self).__name__)


class FactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` every ``step`` updates, never below ``stop_factor_lr``:
    ``base_lr * factor ** floor((num_update - 1) / step)``.

    The rate changes once ``num_update`` exceeds a multiple of ``step`` (so updates 1..step
    use ``base_lr``); each change is logged as MXNet does.
    """

    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01, warmup_steps=0,
                 warmup_begin_lr=0, warmup_mode='linear'):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise MXNetValueError('Schedule step must be greater or equal than 1 round')
        if factor > 1.0:
            raise MXNetValueError('Factor must be no more than 1 to make lr reduce')
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info('Update[%d]: now learning rate arrived at %0.5e, will not change '
                             'in the future', num_update, self.base_lr)
            else:
                logging.info('Update[%d]: Change learning rate to %0.5e', num_update,
                             self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` each time ``num_update`` passes one of the increasing
    update counts in ``step``: ``base_lr * factor ** (number of steps < num_update)``."""

    def __init__(self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode='linear'):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, list) or not step:
            raise MXNetTypeError('MultiFactorScheduler: step must be a non-empty list of ints, '
                                 'got %r' % (step,))
        for i, value in enumerate(step):
            if i and step[i] <= step[i - 1]:
                raise MXNetValueError('Schedule step must be an increasing integer list')
            if value < 1:
                raise MXNetValueError('Schedule step must be greater or equal than 1 round')
        if factor > 1.0:
            raise MXNetValueError('Factor must be no more than 1 to make lr reduce')
        self.step = step
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind < len(self.step) and num_update > self.step[self.cur_step_ind]:
            self.count = self.step[self.cur_step_ind]
            self.cur_step_ind += 1
            self.base_lr *= self.factor
            logging.info('Update[%d]: Change learning rate to %0.5e', num_update, self.base_lr)
        return self.base_lr


class PolyScheduler(LRScheduler):
    """Polynomial decay after the warm-up, reaching ``final_lr`` at ``max_update``.

    In formulas::

        progress = (n - warmup_steps) / (max_update - warmup_steps)
        lr = final_lr + (base_lr - final_lr) * (1 - progress) ** pwr

    After ``max_update`` the rate stays at its last value.
    """

    def __init__(self, max_update, base_lr=0.01, pwr=2, final_lr=0, warmup_steps=0,
                 warmup_begin_lr=0, warmup_mode='linear'):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(max_update, int) or isinstance(max_update, bool):
            raise MXNetTypeError('max_update must be an int, got %r' % (max_update,))
        if max_update < 1:
            raise MXNetValueError('maximum number of updates must be strictly positive')
        self.power = pwr
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            progress = float(num_update - self.warmup_steps) / float(self.max_steps)
            self.base_lr = (self.final_lr
                            + (self.base_lr_orig - self.final_lr) * pow(1 - progress, self.power))
        return self.base_lr


class CosineScheduler(LRScheduler):
    """Cosine decay after the warm-up, reaching ``final_lr`` at ``max_update``.

    In formulas::

        progress = (n - warmup_steps) / (max_update - warmup_steps)
        lr = final_lr + (base_lr - final_lr) * (1 + cos(pi * progress)) / 2
    """

    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode='linear'):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(max_update, int) or isinstance(max_update, bool):
            raise MXNetTypeError('max_update must be an int, got %r' % (max_update,))
        if max_update < 1:
            raise MXNetValueError('maximum number of updates must be strictly positive')
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            progress = (num_update - self.warmup_steps) / self.max_steps
            self.base_lr = (self.final_lr
                            + (self.base_lr_orig - self.final_lr) * (1 + cos(pi * progress)) / 2)
        return self.base_lr
