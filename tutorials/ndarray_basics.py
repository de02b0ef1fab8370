"""
NDArray: arrays on a device
===========================

``NDArray`` is MXNet's (and mxref's) n-dimensional array.  It looks much like a NumPy array,
with two differences that matter for deep learning: every array lives on a *context* (the CPU
or a GPU), and every operation on it is one of the framework's operators, the same ones a
symbolic graph uses.  This tutorial follows the classic MXNet NDArray tutorial: creating
arrays, operating on them, indexing, changing shapes, reducing, moving between devices, and
saving to disk.
"""

# %%
# Creating arrays
# ---------------
# From a Python list or a NumPy array.  The element type is float32 unless you ask for
# another (NumPy arrays are converted to float32 too, as in MXNet).
import os
import tempfile

import numpy as np

import mxref as mx

a = mx.nd.array([1, 2, 3])
b = mx.nd.array([[1, 2, 3], [2, 3, 4]])
print(a.shape, b.shape, a.dtype)

c = mx.nd.array(np.arange(6).reshape(2, 3), dtype=np.int32)
print(c.dtype)

# %%
# Arrays with a fixed content, of a given shape:
print(mx.nd.zeros((2, 3)))
print(mx.nd.ones((2, 3), dtype='int32'))
print(mx.nd.full((2, 3), 7))
print(mx.nd.arange(0, 10, 3))

# %%
# An array knows its shape, size, type and device:
print(b.shape, b.size, b.ndim, b.dtype, b.context)

# %%
# ``asnumpy`` copies the content back into a NumPy array:
print(b.asnumpy())

# %%
# Basic operations
# ----------------
# Arithmetic is elementwise; arrays of different shapes broadcast like NumPy arrays.
x = mx.nd.ones((2, 3))
y = mx.nd.array([[1, 2, 3]])
print(x + y)
print(x * 3 - y)
print(mx.nd.exp(y))
print(y > 1.5)

# %%
# Matrix products use ``dot``:
print(mx.nd.dot(b, b.T))

# %%
# In-place operations write into the array's existing memory:
x += 1
x *= y
print(x)

# %%
# Indexing and slicing
# --------------------
# Slicing the first axis gives a *view* that shares memory with the array, so writing to it
# changes the original.  Other indexing returns a copy.
m = mx.nd.array(np.arange(12).reshape(3, 4))
row = m[1]
row[:] = -1
print(m)
print(m[:, 1:3])
print(mx.nd.slice_axis(m, axis=1, begin=1, end=3))

# %%
# Assignment works with scalars, arrays and slices:
m[0, 0:2] = 100
m[2] = mx.nd.array([9, 8, 7, 6])
print(m)

# %%
# Changing the shape
# ------------------
# ``reshape`` returns a view with a new shape; MXNet's special codes make common reshapes
# short: 0 keeps a dimension, -1 infers one, -3 merges two.
t = mx.nd.array(np.arange(24).reshape(2, 3, 4))
print(t.reshape((6, 4)).shape, t.reshape((0, -1)).shape, t.reshape((-3, 0)).shape)
print(mx.nd.concat(t, t, dim=2).shape, mx.nd.stack(t, t).shape, mx.nd.transpose(t).shape)

# %%
# Reductions
# ----------
print(mx.nd.sum(t), mx.nd.sum(t, axis=1).shape, t.mean(axis=(0, 2)))
print(mx.nd.argmax(t, axis=2))

# %%
# Devices
# -------
# Every array lives on a context.  ``copyto`` and ``as_in_context`` move data between
# devices; on a machine with an NVIDIA GPU and PyCUDA, ``mx.gpu(0)`` arrays compute there.
ctx = mx.gpu(0) if mx.context.num_gpus() else mx.cpu()
z = mx.nd.ones((2, 3), ctx=ctx)
print(z.context, (z * 2).asnumpy())
print(z.copyto(mx.cpu()).context)

# %%
# Operations run eagerly on the CPU and asynchronously on the GPU; ``wait_to_read`` and
# ``mx.nd.waitall`` wait until results are ready (useful when timing code).
z.wait_to_read()
mx.nd.waitall()

# %%
# Saving and loading
# ------------------
# ``mx.nd.save`` writes a list or a dict of arrays in MXNet's binary format, so files are
# exchangeable with MXNet; ``mx.nd.load`` reads them back.
folder = tempfile.mkdtemp()
path = os.path.join(folder, 'arrays.params')
mx.nd.save(path, {'a': a, 'b': b})
loaded = mx.nd.load(path)
print(sorted(loaded), loaded['b'])
