"""Operators without inputs that draw random numbers: ``_random_uniform``, ``_random_normal``,
``_random_randint``.

They are MXNet's ``mx.nd.random_uniform`` / ``mx.sym.random_uniform`` (also called
``uniform``), ``random_normal`` (``normal``) and ``random_randint``; the functions of
``mx.nd.random`` draw from the same generators, seeded by ``mx.random.seed``.  In a symbol
they are nodes with no inputs, drawn again at every forward; they have no gradient.
"""
import numpy as np

from .base import Operator, register
from .params import Param

__all__ = ['RandomUniform', 'RandomNormal', 'RandomRandint']


class _Sample(Operator):
    """Shared structure: no inputs, one output of ``shape`` and ``dtype``."""
    arguments = ()
    default_dtype = np.dtype(np.float32)

    def infer_shape(self, in_shapes):
        return [], [tuple(self.shape) if self.shape else None], []

    def infer_type(self, in_types):
        return [], [self.dtype if self.dtype is not None else self.default_dtype], []

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pass                                    # no inputs, nothing to propagate


def _params(first, second, dtypes):
    return (first, second, Param('shape', 'shape', (), doc='Shape of the output.'),
            Param('ctx', 'str', '', doc="Context of the output ('cpu(0)', 'gpu(1)'); "
                                        'imperative calls only.'),
            Param('dtype', 'dtype?', None, doc='Type of the output: %s.' % dtypes))


@register
class RandomUniform(_Sample):
    r"""Samples from the uniform distribution on the half-open interval :math:`[low, high)`:

    .. math:: out_i \sim U(low, high), \qquad p(x) = \frac{1}{high - low}

    Example::

       random_uniform(low=0, high=1, shape=(2, 2)) = [[0.5488135, 0.5928446],
                                                     [0.7151894, 0.8442657]]
    """
    op_name = '_random_uniform'
    aliases = ('random_uniform', 'uniform')
    params = _params(Param('low', 'float', 0.0, doc='Lower bound of the interval.'),
                     Param('high', 'float', 1.0, doc='Upper bound of the interval.'),
                     'float32 (default), float64 or float16')

    def setup(self):
        if self.high < self.low:
            self.fail('low must be less or equal to high in uniform distribution: expected '
                      'low <= high, got low=%g, high=%g' % (self.low, self.high))

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_uniform(self.low, self.high, out_data[0])


@register
class RandomNormal(_Sample):
    r"""Samples from the normal (Gaussian) distribution with mean ``loc`` and standard
    deviation ``scale``:

    .. math:: out_i \sim \mathcal{N}(loc, scale^2), \qquad
              p(x) = \frac{1}{scale\sqrt{2\pi}} e^{-\frac{(x - loc)^2}{2\,scale^2}}

    Example::

       random_normal(loc=0, scale=1, shape=(2, 2)) = [[ 1.89171135, -1.16881478],
                                                     [-1.23474145,  1.55807114]]
    """
    op_name = '_random_normal'
    aliases = ('random_normal', 'normal')
    params = _params(Param('loc', 'float', 0.0, doc='Mean of the distribution.'),
                     Param('scale', 'float', 1.0, doc='Standard deviation, > 0.'),
                     'float32 (default), float64 or float16')

    def setup(self):
        if self.scale <= 0:
            self.fail('scale parameter in gaussian has to be positive: expected scale > 0, '
                      'got scale=%g' % self.scale)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_normal(self.loc, self.scale, out_data[0])


@register
class RandomRandint(_Sample):
    r"""Samples integers uniformly from the half-open interval :math:`[low, high)`:

    .. math:: out_i \sim U\{low, low + 1, \ldots, high - 1\}

    Example::

       random_randint(low=0, high=5, shape=(2, 2)) = [[0, 2], [3, 1]]
    """
    op_name = '_random_randint'
    aliases = ('random_randint',)
    params = _params(Param('low', 'int', doc='Lower bound of the interval (included).'),
                     Param('high', 'int', doc='Upper bound of the interval (excluded).'),
                     'int32 (default) or int64')
    default_dtype = np.dtype(np.int32)

    def setup(self):
        if self.high <= self.low:
            self.fail('low must be less than high in randint distribution: expected '
                      'low < high, got low=%d, high=%d' % (self.low, self.high))
        if self.dtype is not None and self.dtype not in (np.dtype(np.int32),
                                                         np.dtype(np.int64)):
            self.fail('dtype must be int32 or int64, got %s' % self.dtype)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_randint(self.low, self.high, out_data[0])
