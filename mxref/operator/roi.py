"""``ROIPooling``: max pooling of regions of interest (Fast R-CNN), CPU only."""
import numpy as np

from ..backend.exprs import FUNCTIONS
from .base import Operator, register, shape_str
from .params import Param

__all__ = ['ROIPooling']


# C's ``round``, halves away from zero (NumPy's ``round`` goes to even): the backends' own
_round_half_away = FUNCTIONS['round']


@register
class ROIPooling(Operator):
    r"""Max-pools each region of interest of a feature map into a fixed ``pooled_size`` grid.

    ``data`` is (N, C, H, W); ``rois`` is (R, 5), rows ``[batch_index, x1, y1, x2, y2]`` in
    image coordinates.  Each corner is scaled by ``spatial_scale`` and rounded (halves away
    from zero): :math:`(w_0, h_0, w_1, h_1)`.  The region has height
    :math:`h = \max(h_1 - h_0 + 1, 1)` (width alike), cut into ``pooled_size`` = (PH, PW)
    bins; bin (i, j) covers rows

    .. math:: \left[h_0 + \lfloor i\,h / PH \rfloor,\; h_0 + \lceil (i + 1)\,h / PH \rceil\right)

    clipped to [0, H) (columns alike), and

    .. math:: out[r, c, i, j] = \max_{(y, x) \in bin(i, j)} data[b_r, c, y, x]

    0 for an empty bin or a batch index outside [0, N).  Output: (R, C, PH, PW).  The
    gradient goes to the first maximum of each bin (row-major scan); ``rois`` get a zero
    gradient.  A hidden output ``maxidx`` holds each bin's flat position in its (H, W) map
    (-1 when empty).  CPU only.
    """
    op_name = 'ROIPooling'
    arguments = ('data', 'rois')
    outputs = ('output', 'maxidx')
    gpu_kernel = False
    params = (Param('pooled_size', 'shape', doc='Output grid (height, width) of each region.'),
              Param('spatial_scale', 'float', doc='Feature-map size over image size, in '
                                                  '[0, 1] (1 / the total stride).'))

    def setup(self):
        if len(self.pooled_size) != 2 or min(self.pooled_size) <= 0:
            self.fail('pooled_size must be 2 positive integers (height, width), got %s'
                      % (self.pooled_size,))
        if not 0 <= self.spatial_scale <= 1:
            self.fail('spatial_scale must be in [0, 1], got %g' % self.spatial_scale)

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        data, rois = in_shapes
        self.check_ndim('data', data, (4,))
        if rois is not None and (len(rois) != 2 or rois[1] != 5):
            self.fail('rois must have shape (num_rois, 5), got %s' % shape_str(rois))
        if data is None or rois is None:
            return list(in_shapes), [None, None], []
        out = (rois[0], data[1]) + tuple(self.pooled_size)
        return [tuple(data), tuple(rois)], [out, out], []

    def infer_type(self, in_types):
        data, rois = in_types
        if data is not None and rois is not None and np.dtype(data) != np.dtype(rois):
            self.fail('rois must have the type of data: expected %s, got %s'
                      % (np.dtype(data).name, np.dtype(rois).name))
        dtype = data if data is not None else rois
        return [dtype, dtype], [dtype, dtype], []

    def _pool(self, data, rois):
        n, c, height, width = data.shape
        ph, pw = self.pooled_size
        out = np.zeros((len(rois), c, ph, pw), dtype=data.dtype)
        where = np.full(out.shape, -1, dtype=np.int64)
        scale = rois.dtype.type(self.spatial_scale)
        if not np.isfinite(rois).all():
            row = int(np.argwhere(~np.isfinite(rois))[0][0])
            self.fail('rois must be finite, got %s in row %d' % (rois[row].tolist(), row))
        for r, roi in enumerate(rois):
            b = int(roi[0])
            if not 0 <= b < n:
                continue
            w0, h0, w1, h1 = (int(v) for v in _round_half_away(roi[1:] * scale))
            bin_h = max(h1 - h0 + 1, 1) / ph
            bin_w = max(w1 - w0 + 1, 1) / pw
            for i in range(ph):
                y0 = min(max(int(np.floor(i * bin_h)) + h0, 0), height)
                y1 = min(max(int(np.ceil((i + 1) * bin_h)) + h0, 0), height)
                for j in range(pw):
                    x0 = min(max(int(np.floor(j * bin_w)) + w0, 0), width)
                    x1 = min(max(int(np.ceil((j + 1) * bin_w)) + w0, 0), width)
                    if y1 <= y0 or x1 <= x0:
                        continue
                    window = data[b, :, y0:y1, x0:x1].reshape(c, -1)
                    first = window.argmax(axis=1)          # first maximum, row-major
                    out[r, :, i, j] = window[np.arange(c), first]
                    where[r, :, i, j] = (y0 + first // (x1 - x0)) * width + x0 + first % (x1 - x0)
        return out, where

    def forward(self, is_train, req, in_data, out_data, aux):
        out, where = self._pool(np.asarray(in_data[0]), np.asarray(in_data[1]))
        self.B.store(out_data[0], out, req[0])
        self.B.store(out_data[1], where, req[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        data, rois = np.asarray(in_data[0]), np.asarray(in_data[1])
        where = np.asarray(out_data[1]).astype(np.int64)
        dy = np.asarray(out_grad[0])
        grad = np.zeros(data.shape, dtype=data.dtype)
        flat = grad.reshape(data.shape[0], data.shape[1], -1)
        batch = rois[:, 0].astype(np.int64)
        r, c, i, j = np.nonzero(where >= 0)
        np.add.at(flat, (batch[r], c, where[r, c, i, j]), dy[r, c, i, j])
        self.B.store(in_grad[0], grad, req[0])
        self.B.store(in_grad[1], 0, req[1])
