"""Gradient-descent optimizers with momentum: SGD, NAG (Nesterov) and Signum.

Each rule is stated in the elementwise language of :mod:`mxref.backend.exprs` and runs on the
weight's device; SGD runs the backend's fused ``sgd_update`` / ``sgd_mom_update`` kernels (one
pass over the buffers) when the backend has them, its expressions otherwise.  ``G`` below is the rescaled, clipped gradient
``clip(rescale_grad * grad, -clip_gradient, clip_gradient)``.
"""
from .optimizer import Optimizer, register, clip_expr, zeros_like

__all__ = ['SGD', 'NAG', 'Signum', 'ccSGD']


def _step(weight, grad):
    """The backend and the raw buffers of an update."""
    return weight.backend, weight.handle, grad.handle


@register
class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (MXNet's ``sgd_update`` and
    ``sgd_mom_update``).

    In formulas::

        without momentum:  weight = (1 - lr * wd) * weight - lr * G
        with momentum:     mom    = momentum * mom - lr * wd * weight - lr * G
                           weight = weight + mom

    Parameters
    ----------
    momentum : float, default 0.0
    lazy_update : bool, default True
        Accepted for compatibility; it only matters for sparse gradients, which mxref does
        not have, so every update is a standard (dense) update.
    **kwargs
        The :class:`Optimizer` arguments (learning_rate, wd, rescale_grad, clip_gradient, ...).

    >>> import mxref as mx
    >>> opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9)
    >>> w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    >>> state = opt.create_state(0, w)
    >>> opt.update(0, w, g, state); opt.update(0, w, g, state)
    >>> w.asnumpy()                  # 1 - 0.1, then 0.9 - (0.9 * 0.1 + 0.1)
    array([0.71, 0.71], dtype=float32)
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._check_arrays(weight, grad)
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        B, w, g = _step(weight, grad)
        fused = getattr(B, 'sgd_update' if state is None else 'sgd_mom_update', None)
        if fused is None:                  # a backend without the fused kernels
            self.update_by_expressions(B, w, g, state, lr, wd)
        elif state is None:
            fused(w, g, lr, wd, self.rescale_grad, self.clip_gradient)
        else:
            fused(w, g, state.handle, lr, wd, self.momentum, self.rescale_grad,
                  self.clip_gradient)

    def update_by_expressions(self, B, w, g, state, lr, wd):
        """The update as elementwise expressions on the raw buffers: the readable
        statement of the rule, the reference for the fused backend kernels (tests compare
        them) and the path of a backend that has no fused ``sgd_update``/``sgd_mom_update``.
        """
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        scalars = dict(lr=lr, wd=wd, rescale_grad=self.rescale_grad,
                       clip_gradient=self.clip_gradient or 0.0)
        if state is None:
            B.elementwise('weight * (1 - lr * wd) - lr * %s' % G, w, 'write',
                          weight=w, grad=g, **scalars)
            return
        mom = state.handle
        B.elementwise('momentum * mom - lr * wd * weight - lr * %s' % G, mom, 'write',
                      mom=mom, weight=w, grad=g, momentum=self.momentum, **scalars)
        B.elementwise('weight + mom', w, 'write', weight=w, mom=mom)


@register
class ccSGD(SGD):
    """[Deprecated] the same as :class:`SGD`."""


@register
class NAG(Optimizer):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``).  With
    ``D = lr * (G + wd * weight)``.

    In formulas::

        weight = weight + momentum * (momentum * mom - D) - D
        mom    = momentum * mom - lr * (G + wd * weight)

    The momentum's weight-decay term reads the weight *after* its update: MXNet's kernel
    writes the weight in place before computing the momentum, and mxref reproduces its numbers.
    Without momentum, NAG is plain :class:`SGD`.
    """

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._check_arrays(weight, grad)
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        B, w, g = _step(weight, grad)
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        scalars = dict(lr=lr, wd=wd, rescale_grad=self.rescale_grad,
                       clip_gradient=self.clip_gradient or 0.0)
        if state is None:
            B.elementwise('weight * (1 - lr * wd) - lr * %s' % G, w, 'write',
                          weight=w, grad=g, **scalars)
            return
        mom = state.handle
        D = '(lr * (%s + wd * weight))' % G
        B.elementwise('weight + momentum * (momentum * mom - %s) - %s' % (D, D), w, 'write',
                      weight=w, grad=g, mom=mom, momentum=self.momentum, **scalars)
        B.elementwise('momentum * mom - %s' % D, mom, 'write',
                      weight=w, grad=g, mom=mom, momentum=self.momentum, **scalars)


@register
class Signum(Optimizer):
    """signSGD / Signum (Bernstein et al., 2018): step by the sign of the momentum.

    In formulas::

        with momentum:     mom    = momentum * mom - (1 - momentum) * (wd * weight + G)
                           weight = (1 - lr * wd_lh) * weight + lr * sign(mom)
        without momentum:  weight = (1 - lr * wd) * weight - lr * sign(grad)

    Parameters
    ----------
    learning_rate : float, default 0.01
    momentum : float, default 0.9
    wd_lh : float, default 0.0
        Decoupled weight decay (Loshchilov & Hutter).
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._check_arrays(weight, grad)
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        B, w, g = _step(weight, grad)
        if state is None:
            B.elementwise('weight * (1 - lr * wd) - lr * sign(grad)', w, 'write',
                          weight=w, grad=g, lr=lr, wd=wd)
            return
        mom = state.handle
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        B.elementwise('momentum * mom - (1 - momentum) * (wd * weight + %s)' % G, mom, 'write',
                      mom=mom, weight=w, grad=g, momentum=self.momentum, wd=wd,
                      rescale_grad=self.rescale_grad, clip_gradient=self.clip_gradient or 0.0)
        B.elementwise('weight * (1 - lr * wd_lh) + lr * sign(mom)', w, 'write',
                      weight=w, mom=mom, lr=lr, wd_lh=self.wd_lh)
