"""im2col/col2im and the backend's conv2d_* functions against the NumPy references."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import conv as conv_kernels
from mxref._kernels import reference

# x shape, w shape, stride, pad, dilate, num_group: size 1, primes, non-square and strided,
# padded, dilated and grouped (depthwise too) configurations, and LeNet's second layer
CASES = [
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 7, 5), (4, 3, 3, 2), (1, 1), (0, 0), (1, 1), 1),
    ((3, 4, 11, 13), (6, 2, 3, 3), (2, 3), (1, 2), (2, 1), 2),
    ((2, 6, 8, 8), (6, 1, 3, 3), (1, 1), (1, 1), (1, 1), 6),
    ((2, 3, 5, 5), (2, 3, 5, 5), (1, 1), (2, 2), (1, 1), 1),
    ((1, 2, 1, 17), (3, 2, 1, 4), (1, 3), (0, 1), (1, 2), 1),
    ((5, 3, 9, 7), (5, 3, 2, 3), (3, 2), (0, 0), (3, 2), 1),
    ((20, 20, 12, 12), (50, 20, 5, 5), (1, 1), (0, 0), (1, 1), 1),
]
TOL = {np.float32: 1e-4, np.float64: 1e-11}


def _relative(actual, expected):
    return np.abs(actual - expected).max() / max(1.0, np.abs(expected).max())


@pytest.fixture(params=[np.float32, np.float64], ids=['float32', 'float64'])
def dtype(request):
    return request.param


@pytest.mark.parametrize('xs,ws,stride,pad,dilate,groups', CASES)
def test_conv2d_forward(xs, ws, stride, pad, dilate, groups, dtype):
    rng = np.random.default_rng(sum(xs))
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    expected = reference.conv2d_forward(x, w, b, stride, pad, dilate, groups)
    out = np.full(expected.shape, np.nan, dtype)
    cpu.conv2d_forward(x, w, b, out, 'write', stride, pad, dilate, groups)
    assert _relative(out, expected) < TOL[dtype]
    cpu.conv2d_forward(x, w, None, out, 'add', stride, pad, dilate, groups)
    assert _relative(out, 2 * expected - b.reshape(1, -1, 1, 1)) < TOL[dtype]


@pytest.mark.parametrize('xs,ws,stride,pad,dilate,groups', CASES)
def test_conv2d_backward(xs, ws, stride, pad, dilate, groups, dtype):
    rng = np.random.default_rng(sum(ws))
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    out_shape = reference.conv2d_forward(x, w, None, stride, pad, dilate, groups).shape
    dy = rng.standard_normal(out_shape).astype(dtype)
    expected = {
        'dx': reference.conv2d_backward_data(dy, w, xs, stride, pad, dilate, groups),
        'dw': reference.conv2d_backward_weight(dy, x, ws, stride, pad, dilate, groups),
        'db': reference.conv2d_backward_bias(dy)}
    for req in ('write', 'add'):
        dx, dw = np.ones(xs, dtype), np.ones(ws, dtype)
        db = np.ones(ws[0], dtype)
        cpu.conv2d_backward_data(dy, w, dx, req, stride, pad, dilate, groups)
        cpu.conv2d_backward_weight(dy, x, dw, req, stride, pad, dilate, groups)
        cpu.conv2d_backward_bias(dy, db, req)
        extra = 1 if req == 'add' else 0
        for name, got in (('dx', dx), ('dw', dw), ('db', db)):
            assert _relative(got, expected[name] + extra) < TOL[dtype], (name, req)


def test_conv_chunks_cover_the_batch(monkeypatch, dtype):
    """Small chunks (several GEMMs per call, weight gradients accumulated) give the same
    result as one chunk."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 3, 6, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    dy = rng.standard_normal((7, 4, 4, 4)).astype(dtype)
    monkeypatch.setattr(cpu, '_CONV_CHUNK_BYTES', 1)          # one image per chunk
    y, dx, dw = np.empty((7, 4, 4, 4), dtype), np.empty_like(x), np.empty_like(w)
    cpu.conv2d_forward(x, w, None, y, 'write', (1, 1), (0, 0), (1, 1))
    cpu.conv2d_backward_data(dy, w, dx, 'write', (1, 1), (0, 0), (1, 1))
    cpu.conv2d_backward_weight(dy, x, dw, 'write', (1, 1), (0, 0), (1, 1))
    assert _relative(y, reference.conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1))) < TOL[dtype]
    assert _relative(dx, reference.conv2d_backward_data(dy, w, x.shape, (1, 1), (0, 0),
                                                        (1, 1))) < TOL[dtype]
    assert _relative(dw, reference.conv2d_backward_weight(dy, x, w.shape, (1, 1), (0, 0),
                                                          (1, 1))) < TOL[dtype]


@pytest.mark.parametrize('geometry', [(3, 2, 1, 2, 1, 0, 1, 1), (1, 1, 1, 1, 0, 0, 1, 1),
                                      (2, 3, 3, 2, 2, 1, 2, 3), (5, 5, 1, 1, 2, 2, 1, 1)])
def test_col2im_is_the_adjoint_of_im2col(geometry, dtype):
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is im2col's transpose."""
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    rng = np.random.default_rng(kh * 7 + sw)
    x = rng.standard_normal((2, 3, 9, 11)).astype(dtype)
    oh = (9 + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (11 + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    col = np.empty((3 * kh * kw, 2 * oh * ow), dtype)
    conv_kernels.im2col(x, col, kh, kw, sh, sw, ph, pw, dh, dw)
    c = rng.standard_normal(col.shape).astype(dtype)
    back = np.empty_like(x)
    conv_kernels.col2im(c, back, kh, kw, sh, sw, ph, pw, dh, dw)
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, back), rtol=1e-4 if dtype == np.float32 else 1e-10)


def test_im2col_layout():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    col = np.empty((4, 4), np.float32)
    conv_kernels.im2col(x, col, 2, 2, 1, 1, 0, 0, 1, 1)
    # row (i, j) holds x[oh + i, ow + j] for the four output positions
    np.testing.assert_array_equal(col, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
    with pytest.raises(ValueError, match='im2col'):
        conv_kernels.im2col(x, np.empty((4, 5), np.float32), 2, 2, 1, 1, 0, 0, 1, 1)


def test_layout_moves_and_bias_grad(dtype):
    rng = np.random.default_rng(5)
    src = rng.standard_normal((4, 3, 5)).astype(dtype)          # (F, N, P)
    bias = rng.standard_normal(4).astype(dtype)
    dst = np.empty((3, 4, 5), dtype)
    conv_kernels.fnp_to_nfp(src, dst, bias)
    np.testing.assert_allclose(dst, src.transpose(1, 0, 2) + bias[None, :, None])
    back = np.empty_like(src)
    conv_kernels.nfp_to_fnp(dst, back)
    np.testing.assert_allclose(back, src + bias[:, None, None])
    db = np.ones(4, dtype)
    conv_kernels.bias_grad(dst, db, True)
    np.testing.assert_allclose(db, 1 + dst.sum(axis=(0, 2)), rtol=1e-5)
