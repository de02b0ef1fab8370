"""Convolution: LeNet's two layers at batch 100 (forward, and the full forward + backward of
a training step) and a large 3×3 layer, our im2col + GEMM path against the NumPy reference
(one einsum per kernel tap, :mod:`mxref._kernels.reference`)."""
import numpy as np
import pytest

from mxref.backend import cpu
from mxref._kernels import reference

from conftest import record

ONE = ((1, 1), (0, 0), (1, 1))           # stride, pad, dilate
LAYERS = {                               # x shape, w shape, stride/pad/dilate
    'lenet conv1': ((100, 1, 28, 28), (20, 1, 5, 5), ONE),
    'lenet conv2': ((100, 20, 12, 12), (50, 20, 5, 5), ONE),
    'large 3x3 64->64, 32x56x56': ((32, 64, 56, 56), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1))),
}


def _layer(rng, name):
    xs, ws, geometry = LAYERS[name]
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    y = reference.conv2d_forward(x[:1], w, b, *geometry)
    out_shape = (xs[0],) + y.shape[1:]
    flops = 2 * np.prod(out_shape) * np.prod(ws[1:])
    return x, w, b, geometry, out_shape, int(flops)


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
@pytest.mark.parametrize('name', list(LAYERS))
def test_conv_forward(benchmark, rng, name, impl):
    x, w, b, geometry, out_shape, flops = _layer(rng, name)
    y = np.empty(out_shape, np.float32)
    if impl == 'mxref':
        fn = lambda: cpu.conv2d_forward(x, w, b, y, 'write', *geometry)
    else:
        fn = lambda: y.__setitem__(Ellipsis, reference.conv2d_forward(x, w, b, *geometry))
    benchmark.group = 'conv fwd ' + name
    benchmark(fn)
    record(benchmark, 'conv', name + ' fwd', impl, flops=flops)


def _training_step(rng, impl):
    """Both LeNet convolutions, forward and backward, as a training step runs them: conv1
    needs no data gradient (its input is the data), conv2 needs all three."""
    layers = [_layer(rng, 'lenet conv1'), _layer(rng, 'lenet conv2')]
    flops = 2 * layers[0][5] + 3 * layers[1][5]
    bufs = [(np.empty(out, np.float32), np.empty_like(w), np.empty_like(b), np.empty_like(x))
            for x, w, b, _, out, _ in layers]

    def mxref_step():
        for (x, w, b, geo, _, _), (y, dw, db, dx) in zip(layers, bufs):
            cpu.conv2d_forward(x, w, b, y, 'write', *geo)
        for i, ((x, w, b, geo, _, _), (y, dw, db, dx)) in enumerate(zip(layers, bufs)):
            cpu.conv2d_backward_weight(y, x, dw, 'write', *geo)       # y stands in for dy
            cpu.conv2d_backward_bias(y, db, 'write')
            if i == 1:
                cpu.conv2d_backward_data(y, w, dx, 'write', *geo)

    def numpy_step():
        for i, ((x, w, b, geo, _, _), (y, dw, db, dx)) in enumerate(zip(layers, bufs)):
            y[...] = reference.conv2d_forward(x, w, b, *geo)
            dw[...] = reference.conv2d_backward_weight(y, x, w.shape, *geo)
            db[...] = reference.conv2d_backward_bias(y)
            if i == 1:
                dx[...] = reference.conv2d_backward_data(y, w, x.shape, *geo)

    return (mxref_step if impl == 'mxref' else numpy_step), flops


@pytest.mark.parametrize('impl', ['mxref', 'numpy'])
def test_lenet_convolutions_training_step(benchmark, rng, impl):
    fn, flops = _training_step(rng, impl)
    benchmark.group = 'conv lenet fwd+bwd batch 100'
    benchmark(fn)
    record(benchmark, 'conv', 'lenet conv1+conv2 fwd+bwd, batch 100', impl, flops=flops)
