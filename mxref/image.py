"""``mx.image``: decoding, resizing and cropping images held as ``(height, width, channels)``
NDArrays, as MXNet's ``mx.image`` module does with OpenCV.

mxref decodes with Pillow (``pip install 'mxref[image]'``) and resizes with NumPy, following
OpenCV's ``cv::resize`` arithmetic: pixel centres at half-integers, no antialiasing, border
pixels replicated, 11-bit fixed-point coefficients for uint8 images.  PNG images decode to
exactly MXNet's pixels; baseline JPEG ones to the pixels of the libjpeg that Pillow was built
with (MXNet's own libjpeg may differ by a level or two).

>>> import numpy as np
>>> import mxref as mx
>>> img = mx.nd.array(np.arange(48).reshape(4, 4, 3), dtype=np.uint8)
>>> out, roi = mx.image.center_crop(img, (2, 2))
>>> out.shape, roi
((2, 2, 3), (1, 1, 2, 2))
>>> mx.image.imresize(img, 2, 2).asnumpy()[:, :, 0]
array([[ 8, 14],
       [32, 38]], dtype=uint8)

Where mxref differs from MXNet:

* decoding uses Pillow, not OpenCV: other formats than PNG and JPEG (BMP, TIFF, ...) decode as
  Pillow decodes them, and a grayscale JPEG or non-PNG image (``flag=0``) may differ by a level;
* ``imresize`` is OpenCV's algorithm re-done in NumPy.  ``interp`` is OpenCV's code, as in
  MXNet: 0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos (so ``resize_short``'s default 2
  is bicubic).  Nearest, bicubic and Lanczos match MXNet's pixels exactly in the tests, and so
  do bilinear shrinking and area shrinking by whole factors; bilinear enlarging and area
  shrinking by other factors differ by one level at under 1.5% of the values, where OpenCV's
  vectorised code rounds differently.
"""
import io
import os
import random as _random
import re

import numpy as np

from .base import MXNetError, MXNetValueError, MXNetTypeError
from .ndarray import NDArray, array as _nd_array

__all__ = ['imdecode', 'imread', 'imresize', 'resize_short', 'fixed_crop', 'center_crop',
           'random_crop', 'color_normalize', 'scale_down', 'ImageDecodeError']


class ImageDecodeError(MXNetError, ValueError):
    """The bytes are not an image that can be decoded (MXNet raises ``MXNetError``)."""


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("mx.image needs Pillow to decode images: pip install 'mxref[image]'"
                          ) from None
    return Image


# ----------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------
def _png_gray(rgb):
    """libpng's RGB to gray conversion (what OpenCV asks libpng for): 15-bit fixed-point
    weights 0.299/0.587/0.114, truncated."""
    r, g, b = (rgb[:, :, k].astype(np.int64) for k in range(3))
    return ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)


def decode_numpy(buf, flag=1, to_rgb=True):
    """Decode the encoded image ``buf`` (bytes) to a ``(h, w, 3)`` (``flag=1``) or
    ``(h, w, 1)`` (``flag=0``) uint8 numpy array, RGB unless ``to_rgb`` is false (then BGR)."""
    Image = _pillow()
    if flag not in (0, 1):
        raise MXNetValueError('imdecode: flag must be 0 (grayscale) or 1 (color), got %r'
                              % (flag,))
    try:
        img = Image.open(io.BytesIO(buf))
        if flag == 0 and img.format == 'JPEG':
            img.draft('L', img.size)          # libjpeg's own luminance, as OpenCV asks for
        img.load()
    except Exception as err:              # pylint: disable=broad-except
        reason = _without_object_reprs(str(err)) or type(err).__name__
        raise ImageDecodeError('imdecode: cannot decode the %d bytes as an image (%s)'
                               % (len(buf), reason)) from None
    if img.mode.startswith('I;16') or img.mode == 'I':
        img = Image.fromarray((np.asarray(img).astype(np.int64) >> 8).astype(np.uint8), 'L')
    if flag == 0:
        if img.mode == 'L':
            gray = np.asarray(img)
        elif img.format == 'PNG':
            gray = _png_gray(np.asarray(img.convert('RGB')))
        else:
            gray = np.asarray(img.convert('L'))
        return np.ascontiguousarray(gray)[:, :, None]
    rgb = np.asarray(img.convert('RGB'))
    return np.ascontiguousarray(rgb if to_rgb else rgb[:, :, ::-1])


def _as_bytes(buf):
    if isinstance(buf, NDArray):
        buf = buf.asnumpy()
    if isinstance(buf, np.ndarray):
        return buf.astype(np.uint8, copy=False).tobytes()
    if isinstance(buf, str):
        raise MXNetTypeError('imdecode takes the encoded image as bytes, not str')
    return bytes(buf)


def imdecode(buf, flag=1, to_rgb=1, out=None):
    """Decode an image held in memory (bytes, a uint8 numpy array or NDArray).

    Parameters
    ----------
    buf : bytes, numpy.ndarray or NDArray
        The encoded image (PNG, JPEG, or any format Pillow reads).
    flag : int, default 1
        1 for a color ``(h, w, 3)`` image, 0 for grayscale ``(h, w, 1)``.
    to_rgb : int, default 1
        Channels in RGB order (1) or OpenCV's BGR order (0).
    out : NDArray, optional
        Where to write the result.

    Returns
    -------
    NDArray
        uint8, ``(height, width, channels)``.
    """
    pixels = decode_numpy(_as_bytes(buf), flag=int(flag), to_rgb=bool(to_rgb))
    if out is not None:
        out[:] = pixels
        return out
    return _nd_array(pixels, dtype=np.uint8)


def imread(filename, flag=1, to_rgb=1, out=None):
    """Read and decode the image file ``filename`` (see :func:`imdecode`)."""
    try:
        with open(os.fspath(filename), 'rb') as f:
            buf = f.read()
    except OSError as err:
        raise MXNetError('imread: cannot read %s: %s' % (filename, err.strerror or err)) from None
    return imdecode(buf, flag=flag, to_rgb=to_rgb, out=out)


# ----------------------------------------------------------------------------------------------
# resizing: OpenCV's cv::resize
# ----------------------------------------------------------------------------------------------
COEF_BITS = 11                  # OpenCV's INTER_RESIZE_COEF_BITS
COEF_SCALE = 1 << COEF_BITS


def _cubic(x):
    a = -0.75
    c0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    c1 = ((a + 2) * x - (a + 3)) * x * x + 1
    c2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
    return np.stack([c0, c1, c2, 1 - c0 - c1 - c2], axis=-1)


def _lanczos4(x):
    taps = np.arange(8) - 3.0
    t = (x[:, None] - taps[None, :]) * np.pi
    with np.errstate(divide='ignore', invalid='ignore'):
        w = np.where(np.abs(t) < 1e-12, 1.0, np.sin(t) * np.sin(t / 4) / (t * t / 4))
    return w / w.sum(axis=1, keepdims=True)


def _taps(src_len, dst_len, interp):
    """For each output position along one axis: the source indices and their float weights."""
    scale = src_len / dst_len
    dst = np.arange(dst_len, dtype=np.float64)
    if interp == 0:
        index = np.minimum(np.floor(dst * scale).astype(np.int64), src_len - 1)
        return index[:, None], np.ones((dst_len, 1))
    if interp == 3:                       # INTER_AREA when enlarging: linear, other fractions
        sx = np.floor(dst * scale)
        fx = (dst + 1) - (sx + 1) / scale
        fx = np.where(fx <= 0, 0.0, fx - np.floor(fx))
    else:
        pos = (dst + 0.5) * scale - 0.5
        sx = np.floor(pos)
        fx = pos - sx
    sx = sx.astype(np.int64)
    if interp in (1, 3):
        low, high = sx < 0, sx >= src_len - 1
        fx = np.where(low | high, 0.0, fx)
        sx = np.where(low, 0, np.where(high, src_len - 1, sx))
        weights, first = np.stack([1 - fx, fx], axis=1), 0
    elif interp == 2:
        weights, first = _cubic(fx), -1
    else:
        weights, first = _lanczos4(fx), -3
    index = sx[:, None] + first + np.arange(weights.shape[1])[None, :]
    return np.clip(index, 0, src_len - 1), weights


def _area_matrix(src_len, dst_len):
    """Weights of the source pixels covering each output pixel (INTER_AREA when shrinking)."""
    scale = src_len / dst_len
    starts = np.arange(dst_len) * scale
    ends = starts + scale
    edges = np.arange(src_len + 1, dtype=np.float64)
    overlap = (np.minimum(ends[:, None], edges[None, 1:])
               - np.maximum(starts[:, None], edges[None, :-1]))
    return np.clip(overlap, 0, None) / scale


def _resize_numpy(src, w, h, interp):
    """``cv::resize(src, (w, h), interpolation=interp)`` for an ``(h, w, c)`` numpy array."""
    src_h, src_w = src.shape[:2]
    if interp == 1 and src_w == 2 * w and src_h == 2 * h:
        interp = 3                        # OpenCV's exact halving uses the area code
    if interp == 3 and src_w >= w and src_h >= h:
        if src.dtype == np.uint8 and src_w % w == 0 and src_h % h == 0:
            # whole blocks of pixels: integer sums, halves rounded up when halving
            fy, fx = src_h // h, src_w // w
            sums = src.astype(np.int64).reshape(h, fy, w, fx, -1).sum(axis=(1, 3))
            if fy == fx == 2:
                return ((sums + 2) >> 2).astype(np.uint8)
            return _cast(sums / (fy * fx), src.dtype)
        out = np.einsum('ys,sxc->yxc', _area_matrix(src_h, h),
                        np.einsum('xs,ysc->yxc', _area_matrix(src_w, w),
                                  src.astype(np.float64)))
        return _cast(out, src.dtype)
    if interp == 0:
        ys, _ = _taps(src_h, h, 0)
        xs, _ = _taps(src_w, w, 0)
        return src[ys[:, 0]][:, xs[:, 0]]
    ys, wy = _taps(src_h, h, interp)
    xs, wx = _taps(src_w, w, interp)
    if src.dtype == np.uint8:
        # fixed point: each weight rounded to 1/2048, rows summed in integers, columns
        # combined and shifted back by 22 bits, rounding half up
        wx = np.round(wx * COEF_SCALE).astype(np.int64)
        wy = np.round(wy * COEF_SCALE).astype(np.int64)
        rows = np.einsum('xk,yxkc->yxc', wx, src.astype(np.int64)[:, xs])
        rows = rows[ys]                   # (h, taps, w, c)
        if interp in (1, 3):
            # OpenCV's vectorised two-row sum: rows scaled down by 16, 16-bit high products
            out = sum((wy[:, k, None, None] * (rows[:, k] >> 4)) >> 16 for k in range(2))
            out = (out + 2) >> 2
        elif interp == 2:
            # four rows summed in float32, rounded half to even
            out = np.rint(np.einsum('yk,ykxc->yxc', wy.astype(np.float32),
                                    rows.astype(np.float32)) * np.float32(2.0 ** -22))
        else:
            out = np.einsum('yk,ykxc->yxc', wy, rows)
            out = (out + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS)
        return np.clip(out, 0, 255).astype(np.uint8)
    rows = np.einsum('xk,yxkc->yxc', wx, src.astype(np.float64)[:, xs])
    return _cast(np.einsum('yk,ykxc->yxc', wy, rows[ys]), src.dtype)


def _cast(values, dtype):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _to_numpy(src):
    if isinstance(src, NDArray):
        return src.asnumpy()
    return np.asarray(src)


def _like(values, src):
    if isinstance(src, NDArray):
        return _nd_array(values, dtype=values.dtype)
    return values


def _get_interp_method(interp, sizes=()):
    """``interp`` 0-4 as is; 9: area to shrink, bicubic to enlarge, else bilinear; 10: one of
    0-4 at random."""
    if interp == 9:
        if sizes:
            old_h, old_w, new_h, new_w = sizes
            if new_h > old_h and new_w > old_w:
                return 2
            if new_h < old_h and new_w < old_w:
                return 3
        return 1
    if interp == 10:
        return _random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise MXNetValueError('Unknown interp method %r (0-4, 9 or 10)' % (interp,))
    return interp


def _without_object_reprs(text):
    """``text`` without ``<... object at 0x...>`` reprs (they say nothing to a reader)."""
    return re.sub(r'\s*<[^<>]* object at 0x[0-9a-fA-F]+>', '', text)


def _check_not_empty(pixels, what):
    if pixels.ndim < 2 or min(pixels.shape[:2]) < 1:
        raise MXNetValueError('%s: the source image is empty, shape %s' % (what, pixels.shape))


def imresize(src, w, h, interp=1):
    """Resize the ``(h, w, c)`` image ``src`` to width ``w`` and height ``h``.

    ``interp`` (OpenCV's codes): 0 nearest, 1 bilinear, 2 bicubic, 3 area (pixel averages
    when shrinking), 4 Lanczos (8x8), 9 and 10 as :func:`resize_short` explains.
    """
    pixels = _to_numpy(src)
    if pixels.ndim != 3:
        raise MXNetValueError('imresize takes a (height, width, channels) image, got shape %s'
                              % (pixels.shape,))
    _check_not_empty(pixels, 'imresize')
    w, h = int(w), int(h)
    if w < 1 or h < 1:
        raise MXNetValueError('imresize: the size must be positive, got %dx%d' % (w, h))
    interp = _get_interp_method(interp, pixels.shape[:2] + (h, w))
    return _like(_resize_numpy(pixels, w, h, interp), src)


def resize_short(src, size, interp=2):
    """Resize ``src`` so that its shorter side is ``size``, keeping the aspect ratio (the
    longer side rounded down).  ``interp`` 9 picks area when shrinking, bicubic when
    enlarging; 10 a random method."""
    pixels = _to_numpy(src)
    _check_not_empty(pixels, 'resize_short')
    h, w = pixels.shape[:2]
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    return imresize(src, new_w, new_h, interp=_get_interp_method(interp, (h, w, new_h, new_w)))


# ----------------------------------------------------------------------------------------------
# cropping and normalisation
# ----------------------------------------------------------------------------------------------
def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """The ``w`` x ``h`` region of ``src`` whose top-left corner is (``x0``, ``y0``), resized
    to ``size`` = (width, height) when given and different.  The region must lie inside the
    image."""
    height, width = _to_numpy(src).shape[:2]
    if x0 < 0 or y0 < 0 or w < 1 or h < 1 or x0 + w > width or y0 + h > height:
        raise MXNetValueError('fixed_crop: the region x0=%d y0=%d w=%d h=%d is not inside the '
                              '%dx%d (width x height) image' % (x0, y0, w, h, width, height))
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        out = imresize(out, size[0], size[1], interp=_get_interp_method(interp, (h, w, size[1],
                                                                                 size[0])))
    return out


def scale_down(src_size, size):
    """Shrink ``size`` = (w, h), keeping its aspect ratio, until it fits in ``src_size`` =
    (w, h).

    >>> scale_down((640, 480), (720, 120))
    (640, 106)
    """
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def center_crop(src, size, interp=2):
    """Crop the centre of ``src`` to ``size`` = (width, height): the largest region of that
    aspect ratio that fits, resized to ``size``.  Returns ``(out, (x0, y0, w, h))``."""
    h, w = _to_numpy(src).shape[:2]
    new_w, new_h = scale_down((w, h), size)
    if new_w < 1 or new_h < 1:
        raise MXNetValueError('%s: no region of the aspect ratio of size=%s fits in the %dx%d '
                              '(width x height) image' % ('center_crop', tuple(size), w, h))
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def random_crop(src, size, interp=2):
    """As :func:`center_crop`, at a random position (Python's ``random`` module, as MXNet)."""
    h, w = _to_numpy(src).shape[:2]
    new_w, new_h = scale_down((w, h), size)
    if new_w < 1 or new_h < 1:
        raise MXNetValueError('%s: no region of the aspect ratio of size=%s fits in the %dx%d '
                              '(width x height) image' % ('random_crop', tuple(size), w, h))
    x0 = _random.randint(0, w - new_w)
    y0 = _random.randint(0, h - new_h)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def color_normalize(src, mean, std=None):
    """``(src - mean) / std`` (``std`` optional), broadcast over the channels."""
    src = src - mean
    if std is not None:
        src = src / std
    return src
