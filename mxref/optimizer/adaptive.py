"""Optimizers with per-coordinate step sizes: Adam, Adamax, Nadam, AdaGrad, AdaDelta, RMSProp,
FTRL.

Each rule is stated in the elementwise language of :mod:`mxref.backend.exprs` and runs on the
weight's device (Adam through the backend's fused ``adam_update`` when it has one); the
formulas are MXNet 1.9.1's, including where weight decay enters (inside or outside the
clipping).  ``t`` is the number of updates of the parameter so far (this one
included).
"""
import math

from .optimizer import Optimizer, register, clip_expr, zeros_like


def sq(expr):
    """``expr`` squared, in the elementwise language."""
    return '(%s) * (%s)' % (expr, expr)

__all__ = ['Adam', 'Adamax', 'Nadam', 'AdaGrad', 'AdaDelta', 'RMSProp', 'Ftrl']


class _Rule(Optimizer):
    """Shared helpers: the common scalar arguments of an update."""

    def _begin(self, index, weight, grad):
        """Count the update; return (backend, weight buffer, grad buffer, lr, wd)."""
        self._check_arrays(weight, grad)
        self._update_count(index)
        return (weight.backend, weight.handle, grad.handle,
                self._get_lr(index), self._get_wd(index))

    def _scalars(self, **extra):
        extra.update(rescale_grad=self.rescale_grad, clip_gradient=self.clip_gradient or 0.0)
        return extra


@register
class Adam(_Rule):
    """Adam (Kingma & Ba, 2014), with the bias correction folded into the learning rate.

    In formulas::

        G      = clip(rescale_grad * grad + wd * weight)
        mean   = beta1 * mean + (1 - beta1) * G
        var    = beta2 * var + (1 - beta2) * G²
        lr_t   = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        weight = weight - lr_t * mean / (sqrt(var) + epsilon)

    ``lazy_update`` is accepted for compatibility (dense gradients only in mxref).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))        # mean, variance

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        t = self._index_update_count[index]
        lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        mean, var = state[0].handle, state[1].handle
        fused = getattr(B, 'adam_update', None)
        if fused is None:                  # a backend without the fused kernel
            self.update_by_expressions(B, w, g, mean, var, lr, wd)
        else:
            fused(w, g, mean, var, lr, self.beta1, self.beta2, self.epsilon, wd,
                  self.rescale_grad, self.clip_gradient)

    def update_by_expressions(self, B, w, g, mean, var, lr, wd):
        """The update as elementwise expressions (``lr`` bias-corrected): the readable rule,
        the reference for the backend's fused ``adam_update`` (tests compare them) and the
        path of a backend without it."""
        G = clip_expr('rescale_grad * grad + wd * weight', self.clip_gradient)
        s = self._scalars(wd=wd, beta1=self.beta1, beta2=self.beta2)
        B.elementwise('beta1 * mean + (1 - beta1) * %s' % G, mean, 'write',
                      mean=mean, weight=w, grad=g, **s)
        B.elementwise('beta2 * var + (1 - beta2) * %s' % sq(G), var, 'write',
                      var=var, weight=w, grad=g, **s)
        B.elementwise('weight - lr * mean / (sqrt(var) + epsilon)', w, 'write',
                      weight=w, mean=mean, var=var, lr=lr, epsilon=self.epsilon)


@register
class Adamax(_Rule):
    """AdaMax, Adam with the infinity norm (Kingma & Ba, section 7).

    In formulas::

        G      = clip(rescale_grad * grad + wd * weight)
        m      = beta1 * m + (1 - beta1) * G
        u      = max(beta2 * u, |G|)
        weight = weight - lr / (1 - beta1^t) * m / u
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))        # m, u

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        t = self._index_update_count[index]
        lr /= (1. - self.beta1 ** t)
        m, u = state[0].handle, state[1].handle
        G = clip_expr('rescale_grad * grad + wd * weight', self.clip_gradient)
        s = self._scalars(wd=wd, beta1=self.beta1, beta2=self.beta2)
        B.elementwise('beta1 * m + (1 - beta1) * %s' % G, m, 'write', m=m, weight=w, grad=g, **s)
        B.elementwise('fmax(beta2 * u, fabs(%s))' % G, u, 'write', u=u, weight=w, grad=g, **s)
        B.elementwise('weight - lr * m / u', w, 'write', weight=w, m=m, u=u, lr=lr)


@register
class Nadam(_Rule):
    """Nesterov-accelerated Adam (Dozat, 2016).

    In formulas::

        G          = clip(rescale_grad * grad + wd * weight)
        mu_t       = beta1 * (1 - 0.5 * 0.96^(t * schedule_decay))
        mu_{t+1}   = beta1 * (1 - 0.5 * 0.96^((t + 1) * schedule_decay))
        m_schedule = m_schedule * mu_t                          (kept by the optimizer)
        m          = beta1 * m + (1 - beta1) * G
        v          = beta2 * v + (1 - beta2) * G²
        m_bar      = (1 - mu_t) * G / (1 - m_schedule) + mu_{t+1} * m / (1 - m_schedule * mu_{t+1})
        weight     = weight - lr * m_bar / (sqrt(v / (1 - beta2^t)) + epsilon)

    As in MXNet, ``m_schedule`` is one number for the whole optimizer: every parameter's
    update multiplies it.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))        # m, v

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        t = self._index_update_count[index]
        mu_t = self.beta1 * (1. - 0.5 * pow(0.96, t * self.schedule_decay))
        mu_next = self.beta1 * (1. - 0.5 * pow(0.96, (t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * mu_t
        m_schedule_next = self.m_schedule * mu_next
        m, v = state[0].handle, state[1].handle
        G = clip_expr('rescale_grad * grad + wd * weight', self.clip_gradient)
        s = self._scalars(wd=wd, beta1=self.beta1, beta2=self.beta2)
        # the weight update reads G (from the old weight) and the new m, v: update them first
        B.elementwise('beta1 * m + (1 - beta1) * %s' % G, m, 'write', m=m, weight=w, grad=g, **s)
        B.elementwise('beta2 * v + (1 - beta2) * %s' % sq(G), v, 'write',
                      v=v, weight=w, grad=g, **s)
        B.elementwise('weight - lr * ((1 - mu_t) * %s / (1 - m_schedule) + mu_next * m / '
                      '(1 - m_schedule_next)) / (sqrt(v / (1 - beta2_t)) + epsilon)' % G,
                      w, 'write', weight=w, grad=g, m=m, v=v, lr=lr, mu_t=mu_t, mu_next=mu_next,
                      m_schedule=self.m_schedule, m_schedule_next=m_schedule_next,
                      beta2_t=self.beta2 ** t, epsilon=self.epsilon, **s)


@register
class AdaGrad(_Rule):
    """AdaGrad (Duchi et al., 2011).

    In formulas::

        G       = clip(rescale_grad * grad)
        history = history + G²
        weight  = weight - lr * (G / sqrt(history + eps) + wd * weight)
    """

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_like(weight)                               # history

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        history = state.handle
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        s = self._scalars()
        B.elementwise('history + %s' % sq(G), history, 'write', history=history, grad=g, **s)
        B.elementwise('weight - lr * (%s / sqrt(history + eps) + wd * weight)' % G, w, 'write',
                      weight=w, grad=g, history=history, lr=lr, wd=wd,
                      eps=self.float_stable_eps, **s)


@register
class AdaDelta(_Rule):
    """AdaDelta (Zeiler, 2012); it has no learning rate.

    In formulas::

        G         = clip(rescale_grad * grad)
        acc_g     = rho * acc_g + (1 - rho) * G²
        delta     = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * G
        acc_delta = rho * acc_delta + (1 - rho) * delta²
        weight    = weight - (delta + wd * weight)

    (MXNet multiplies the caller's gradient array by ``rescale_grad`` in place; mxref leaves
    the gradient untouched and computes the same update.)
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))        # acc_g, acc_delta

    def update(self, index, weight, grad, state):
        B, w, g, _, wd = self._begin(index, weight, grad)
        acc_g, acc_delta = state[0].handle, state[1].handle
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        delta = 'sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * %s' % G
        s = self._scalars(rho=self.rho, epsilon=self.epsilon)
        B.elementwise('rho * acc_g + (1 - rho) * %s' % sq(G), acc_g, 'write',
                      acc_g=acc_g, grad=g, **s)
        # delta reads the old acc_delta: update the weight before acc_delta
        B.elementwise('weight - (%s + wd * weight)' % delta, w, 'write', weight=w, grad=g,
                      acc_g=acc_g, acc_delta=acc_delta, wd=wd, **s)
        B.elementwise('rho * acc_delta + (1 - rho) * %s' % sq(delta), acc_delta, 'write',
                      grad=g, acc_g=acc_g, acc_delta=acc_delta, **s)


@register
class RMSProp(_Rule):
    """RMSProp: Tieleman & Hinton's (``centered=False``, MXNet's ``rmsprop_update``) or
    Graves's centered version (``centered=True``, ``rmspropalex_update``).

    In formulas::

        G      = clip(rescale_grad * grad + wd * weight)
        n      = (1 - gamma1) * G² + gamma1 * n
        plain:     weight = weight - lr * G / sqrt(n + epsilon)
        centered:  g      = (1 - gamma1) * G + gamma1 * g
                   delta  = gamma2 * delta - lr * G / sqrt(n - g² + epsilon)
                   weight = weight + delta

    With ``clip_weights`` the new weight is clipped to [-clip_weights, clip_weights].
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        if self.centered:
            return (zeros_like(weight), zeros_like(weight), zeros_like(weight))  # n, g, delta
        return (zeros_like(weight),)                                             # n

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        G = clip_expr('rescale_grad * grad + wd * weight', self.clip_gradient)
        s = self._scalars(wd=wd, gamma1=self.gamma1)
        n = state[0].handle
        B.elementwise('(1 - gamma1) * %s + gamma1 * n' % sq(G), n, 'write',
                      n=n, weight=w, grad=g, **s)
        if not self.centered:
            step = 'weight - lr * %s / sqrt(n + epsilon)' % G
            extra = {}
        else:
            mean_g, delta = state[1].handle, state[2].handle
            B.elementwise('(1 - gamma1) * %s + gamma1 * g' % G, mean_g, 'write',
                          g=mean_g, weight=w, grad=g, **s)
            B.elementwise('gamma2 * delta - lr * %s / sqrt(n - g * g + epsilon)' % G, delta,
                          'write', delta=delta, n=n, g=mean_g, weight=w, grad=g, lr=lr,
                          gamma2=self.gamma2, epsilon=self.epsilon, **s)
            step, extra = 'weight + delta', {'delta': delta}
        if self.clip_weights:
            step = 'fmin(fmax(%s, -clip_weights), clip_weights)' % step
        B.elementwise(step, w, 'write', weight=w, grad=g, n=n, lr=lr, epsilon=self.epsilon,
                      clip_weights=self.clip_weights or 0.0, **dict(s, **extra))


@register
class Ftrl(_Rule):
    """FTRL-Proximal (McMahan et al., 2013).

    In formulas::

        G      = clip(rescale_grad * grad)
        z      = z + G - (sqrt(n + G²) - sqrt(n)) * weight / lr
        n      = n + G²
        weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)

    Parameters
    ----------
    lamda1 : float, default 0.01
        L1 regularisation strength.
    learning_rate : float, default 0.1
    beta : float, default 1
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))        # z, n

    def update(self, index, weight, grad, state):
        B, w, g, lr, wd = self._begin(index, weight, grad)
        z, n = state[0].handle, state[1].handle
        G = clip_expr('rescale_grad * grad', self.clip_gradient)
        s = self._scalars(lr=lr)
        B.elementwise('z + %s - (sqrt(n + %s) - sqrt(n)) * weight / lr' % (G, sq(G)), z,
                      'write', z=z, n=n, weight=w, grad=g, **s)
        B.elementwise('n + %s' % sq(G), n, 'write', n=n, grad=g, **s)
        B.elementwise('(sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (fabs(z) > lamda1)',
                      w, 'write', z=z, n=n, lr=lr, wd=wd, lamda1=self.lamda1, beta=self.beta)
