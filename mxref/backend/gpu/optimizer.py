"""Fused optimizer updates on the GPU (``optimizer.cu``): every array read and written once."""
from ...base import MXNetTypeError
from . import geometry, runtime
from .sources import KERNEL_FILES

__all__ = ['sgd_update', 'sgd_mom_update', 'adam_update']


def _check(name, weight, *others):
    allowed = KERNEL_FILES['optimizer.cu']['real_t']
    for buf in others:
        if buf.shape != weight.shape or buf.dtype != weight.dtype:
            raise MXNetTypeError('%s: every array must have the weight\'s shape %s and type %s, '
                                 'got %s %s' % (name, weight.shape, weight.dtype.name,
                                                buf.shape, buf.dtype.name))
    if weight.dtype not in allowed:
        raise MXNetTypeError('%s on the GPU supports %s weights, got %s'
                             % (name, ', '.join(d.name for d in allowed), weight.dtype.name))
    runtime.ensure_current(weight.device_id)


def _launch(name, weight, args):
    if weight.size == 0:
        return
    kernel = runtime.file_kernel('optimizer.cu', name, weight.dtype)
    blocks, threads = geometry.grid_1d(weight.size, runtime.sm_count())
    runtime.launch(kernel, blocks, threads, args)


def _bound(clip_gradient):
    return float(clip_gradient) if clip_gradient is not None and clip_gradient > 0 else -1.0


def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    """weight = weight * (1 - lr * wd) - lr * clip(rescale_grad * grad), in place."""
    _check('sgd_update', weight, grad)
    _launch('sgd_update', weight, [weight.ptr, grad.ptr, weight.size, float(lr), float(wd),
                                   float(rescale_grad), _bound(clip_gradient)])


def sgd_mom_update(weight, grad, mom, lr, wd=0.0, momentum=0.0, rescale_grad=1.0,
                   clip_gradient=None):
    """mom = momentum * mom - lr * wd * weight - lr * clip(rescale_grad * grad);
    weight = weight + mom, in place."""
    _check('sgd_mom_update', weight, grad, mom)
    _launch('sgd_mom_update', weight, [weight.ptr, grad.ptr, mom.ptr, weight.size, float(lr),
                                       float(wd), float(momentum), float(rescale_grad),
                                       _bound(clip_gradient)])


def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_gradient=None):
    """Adam with the bias correction already folded into ``lr``, in place:
    G = clip(rescale_grad * grad + wd * weight); mean = beta1 mean + (1 - beta1) G;
    var = beta2 var + (1 - beta2) G²; weight -= lr * mean / (sqrt(var) + epsilon)."""
    _check('adam_update', weight, grad, mean, var)
    _launch('adam_update', weight, [weight.ptr, grad.ptr, mean.ptr, var.ptr, weight.size,
                                    float(lr), float(beta1), float(beta2), float(epsilon),
                                    float(wd), float(rescale_grad), _bound(clip_gradient)])
