"""Loss layers.  They output predictions in the forward pass and, in the backward pass, ignore
the head gradient and produce the gradient of their loss: they are where training starts."""
import numpy as np

from ..base import MXNetTypeError
from .base import Operator, register, shape_str, merge_shapes
from .nn import flat2d
from .params import Param

__all__ = ['SoftmaxOutput', 'RegressionOutput', 'MakeLoss', 'SVMOutput']


@register
class SoftmaxOutput(Operator):
    """Softmax in the forward pass; cross-entropy gradient in the backward pass.

    ``y = softmax(x)`` over the features of each sample (over axis 1 when ``multi_output``, over
    the last axis when ``preserve_shape``).  Without ``multi_output`` the label has shape
    ``data.shape[:-1]`` (``(n,)`` for 2-D data), as in MXNet 1.9.1.  For N-d data without
    ``preserve_shape`` MXNet still takes the softmax over all of a sample's values, and its
    gradient uses the first n labels of the flattened label, one per sample, with 'batch' and
    'valid' counting the whole label; mxref computes the same.  With integer labels l the gradient is
    ``dx = (y − onehot(l)) · grad_scale / N``, where N is 1 (``normalization='null'``), the
    number of labels (``'batch'``) or the number of labels not equal to ``ignore_label``
    (``'valid'``); with ``multi_output`` 'null' and 'batch' also divide by the positions per
    sample, as MXNet does.  With ``use_ignore``, positions labelled ``ignore_label`` get zero
    gradient.  A label with the data's shape is a probability distribution:
    ``dx = (y − label) · grad_scale``.  ``smooth_alpha`` moves that much of the target mass
    uniformly onto the other classes.  ``out_grad=True`` multiplies by the head gradient.
    """
    op_name = 'SoftmaxOutput'
    aliases = ('Softmax',)
    arguments = ('data', 'label')
    uses_out_grad = False
    params = (Param('grad_scale', 'float', 1.0), Param('ignore_label', 'float', -1.0),
              Param('multi_output', 'bool', False), Param('use_ignore', 'bool', False),
              Param('preserve_shape', 'bool', False),
              Param('normalization', 'str', 'null', choices=('null', 'batch', 'valid')),
              Param('out_grad', 'bool', False), Param('smooth_alpha', 'float', 0.0))

    def setup(self):
        self.uses_out_grad = self.out_grad

    def _label_shape(self, data):
        if self.multi_output:
            return (data[0],) + tuple(data[2:])
        return tuple(data[:-1]) if len(data) > 1 else (data[0],)

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data, label = shapes
        if data is None:                # as in MXNet, the label alone does not give the data
            return shapes, [None], []
        expected = self._label_shape(data)
        if label is None:
            shapes[1] = expected
        elif partial:
            # a label of the data's rank holds probabilities and has the data's shape
            like = tuple(data) if len(label) == len(data) and len(data) != len(expected) \
                else expected
            shapes[1] = merge_shapes(label, like, self, 'label')
        elif tuple(label) != tuple(data):
            flat_ok = (self.multi_output and len(label) == 2 and label[0] == data[0]
                       and label[1] == int(np.prod(data[2:], dtype=np.int64)))
            if tuple(label) != expected and not flat_ok:
                self.fail('label shape %s does not match data %s: expected label %s (or the '
                          'data shape, for probability labels)'
                          % (shape_str(label), shape_str(data), shape_str(expected)))
        return shapes, [tuple(data)], []

    def _softmax_view(self, buf):
        """(rows, classes, rest) view and the class axis, for the three layouts."""
        shape = buf.shape
        if self.multi_output:
            rest = int(np.prod(shape[2:], dtype=np.int64))
            return self.B.reshape(buf, (shape[0], shape[1], rest)), 1
        if self.preserve_shape:
            return self.B.reshape(buf, (int(np.prod(shape[:-1], dtype=np.int64)), shape[-1])), 1
        return self.B.reshape(buf, flat2d(shape)), 1

    def forward(self, is_train, req, in_data, out_data, aux):
        x, axis = self._softmax_view(in_data[0])
        self.B.softmax(x, axis, self._softmax_view(out_data[0])[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        prob, _ = self._softmax_view(out_data[0])
        dx, _ = self._softmax_view(in_grad[0])
        label = in_data[1]
        B.store(in_grad[1], 0, req[1])
        if req[0] == 'null':
            return
        if label.shape == in_data[0].shape:                 # probability labels
            target = self._softmax_view(label)[0]
            B.elementwise('(p - t) * s', dx, req[0], p=prob, t=target, s=self.grad_scale)
            return
        grad_scale, normalization = self.grad_scale, self.normalization
        if self.multi_output:
            labels = B.reshape(label, (prob.shape[0], prob.shape[2]))
        elif label.size == prob.shape[0]:
            labels = B.reshape(label, (prob.shape[0],))
        else:
            # N-d data without preserve_shape: MXNet 1.9.1 takes the softmax over all of a
            # sample's values, but the label has shape data.shape[:-1]; its gradient reads
            # the first n labels (one per sample) and normalizes by the whole label.
            labels = B.rows(B.reshape(label, (label.size,)), 0, prob.shape[0])
            if normalization != 'null':
                count = label.size
                if normalization == 'valid':
                    host = np.trunc(B.to_numpy(label))
                    count = max(1, int(label.size - np.count_nonzero(
                        host == np.trunc(self.ignore_label))))
                grad_scale, normalization = grad_scale / count, 'null'
        B.softmax_output_grad(prob, labels, dx, req[0], grad_scale=grad_scale,
                              ignore_label=self.ignore_label, use_ignore=self.use_ignore,
                              normalization=normalization,
                              smooth_alpha=self.smooth_alpha,
                              head_grad=self._softmax_view(out_grad[0])[0] if self.out_grad
                              else None)


class RegressionOutput(Operator):
    """Shared part of the regression losses: ``y = f(x)``;
    ``dx = grad_scale / m · g(y, label)`` with m the number of outputs per sample."""
    arguments = ('data', 'label')
    uses_out_grad = False
    params = (Param('grad_scale', 'float', 1.0),)
    expr = grad = None

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data, label = shapes
        if data is None:
            return shapes, [None], []
        if label is None:
            shapes[1] = (data[0],) if len(data) == 2 and data[1] == 1 else tuple(data)
        elif (int(np.prod(label, dtype=np.int64)) != int(np.prod(data, dtype=np.int64))
              or label[0] != data[0]):
            self.fail('label shape %s does not match data %s' % (shape_str(label),
                                                                shape_str(data)))
        return shapes, [tuple(data)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise(self.expr, out_data[0], req[0], x=in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        y = out_data[0]
        label = self.B.reshape(in_data[1], y.shape)
        per_sample = y.size // y.shape[0] if y.shape[0] else 1
        self.B.elementwise(self.grad, in_grad[0], req[0], y=y, l=label,
                           s=self.grad_scale / per_sample)
        self.B.store(in_grad[1], 0, req[1])


def _regression(name, expr, grad, doc):
    cls = type(name, (RegressionOutput,), {'op_name': name, 'expr': expr, 'grad': grad,
                                           '__doc__': doc, '__module__': __name__})
    return register(cls)


_regression('LinearRegressionOutput', 'x', '(y - l) * s',
            'Squared loss: ``y = x``; ``dx = (y − label) · grad_scale / m``.')
_regression('LogisticRegressionOutput', '1 / (1 + exp(-x))', '(y - l) * s',
            'Logistic loss: ``y = sigmoid(x)``; ``dx = (y − label) · grad_scale / m``.')
_regression('MAERegressionOutput', 'x', 'where(y - l > 0, 1, -1) * s',
            'Absolute loss: ``y = x``; ``dx = ±grad_scale / m``: + where y > label, − elsewhere '
            '(also where equal, as MXNet).')


@register
class MakeLoss(Operator):
    """Marks its input as a loss: ``y = x``; ``dx = grad_scale / N`` with N = 1
    (``normalization='null'``), the rows of the input seen as 2-D, i.e. the product of all
    axes but the last (``'batch'``), or the number of elements greater than ``valid_thresh``
    (``'valid'``)."""
    op_name = 'MakeLoss'
    uses_out_grad = False
    params = (Param('grad_scale', 'float', 1.0), Param('valid_thresh', 'float', 0.0),
              Param('normalization', 'str', 'null', choices=('null', 'batch', 'valid')))

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise('x', out_data[0], req[0], x=in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        x = in_data[0]
        if self.normalization == 'batch':
            scale = self.grad_scale / max(1, x.size // x.shape[-1])
        elif self.normalization == 'valid':
            valid = max(1.0, float(self.B.to_numpy(self._count_valid(x))[0]))
            scale = self.grad_scale / valid
        else:
            scale = self.grad_scale
        self.B.store(in_grad[0], scale, req[0])

    def _count_valid(self, x):
        flags = self.B.empty(x.shape, np.float32)
        self.B.elementwise('(x > t)', flags, 'write', x=x, t=self.valid_thresh)
        count = self.B.empty((1,), np.float32)
        self.B.reduce('sum', self.B.reshape(flags, (1, x.size)), (1,), count, 'write')
        return count


@register
class make_loss(Operator):
    """Marks its input as a loss: ``y = x``; ``dx = 1`` everywhere (the head gradient is
    ignored).  Its output is called ``loss``."""
    op_name = 'make_loss'
    outputs = ('loss',)
    uses_out_grad = False

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise('x', out_data[0], req[0], x=in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], 1, req[0])


@register
class SVMOutput(Operator):
    """Support-vector-machine output layer: ``y = x`` in the forward pass; the gradient of a
    one-vs-all hinge loss in the backward pass (the head gradient is ignored).

    Data (…, K) holds K class scores per row (all axes but the last are rows); the label has
    the data's shape without its last axis and holds class indices (truncated to integers;
    a label outside 0 … K−1 marks no class as true).  With m = ``margin``,
    r = ``regularization_coefficient`` and t = 1 for the labelled class, 0 for the others:

    * L2-SVM (default), the gradient of ``r · Σ max(0, m − s)²`` with ``s = x`` for the
      labelled class and ``s = −x`` for the others:
      ``dx = −2r·(m − x)`` where t = 1 and m > x, ``dx = 2r·(m + x)`` where t = 0 and
      m > −x, 0 elsewhere;
    * L1-SVM (``use_linear``), the gradient of ``r · Σ max(0, m − s)``:
      ``dx = −r`` where t = 1 and m > x, ``dx = r`` where t = 0 and m > −x, 0 elsewhere.

    As in MXNet 1.9.1 the gradient is not divided by the batch size.  The label gets a zero
    gradient.
    """
    op_name = 'SVMOutput'
    arguments = ('data', 'label')
    uses_out_grad = False
    params = (Param('margin', 'float', 1.0, doc='the margin m of the hinge'),
              Param('regularization_coefficient', 'float', 1.0, doc='scale r of the gradient'),
              Param('use_linear', 'bool', False, doc='L1-SVM instead of L2-SVM'))

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:
            return shapes, [None], []
        if len(data) < 2:
            self.fail('data must have at least 2 dimensions (rows of class scores), got shape '
                      '%s' % shape_str(data))
        self.assign_shape(shapes, 1, tuple(data[:-1]))
        return shapes, [tuple(data)], []

    def infer_type(self, in_types):
        data, label = in_types
        if data is not None and np.dtype(data) not in (np.float16, np.float32, np.float64):
            self.fail('data must be float16, float32 or float64, got %s' % np.dtype(data).name,
                      error=MXNetTypeError)
        if data is not None and label is not None and np.dtype(label) != np.dtype(data):
            self.fail('label must have the type of the data (%s), got %s'
                      % (np.dtype(data).name, np.dtype(label).name), error=MXNetTypeError)
        return super().infer_type(in_types)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.store(out_data[0], in_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x, label = in_data
        B.store(in_grad[1], 0, req[1])
        if req[0] == 'null':
            return
        classes = x.shape[-1]
        rows = x.size // classes if classes else 0
        x2 = B.reshape(x, (rows, classes))
        target = B.empty((rows, classes), x.dtype)
        B.one_hot(B.reshape(label, (rows,)), classes, 1, 0, target)
        if self.use_linear:
            expr = 'where(t > 0, where(m > x, -r, 0), where(m > -x, r, 0))'
        else:
            expr = ('where(t > 0, where(m > x, -2 * r * (m - x), 0), '
                    'where(m > -x, 2 * r * (m + x), 0))')
        B.elementwise(expr, B.reshape(in_grad[0], (rows, classes)), req[0], t=target, x=x2,
                      m=self.margin, r=self.regularization_coefficient)
