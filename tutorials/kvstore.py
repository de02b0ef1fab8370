"""
KVStore: sharing arrays through a key-value store
==================================================

When several devices train one network, each computes gradients on its own part of the batch,
and somebody has to add those gradients up, update the weights and hand the new weights back.
MXNet gives that job to a *key-value store*: every device **pushes** its arrays under a key,
the store sums what arrives for the key and merges the sum into the value it keeps, and every
device **pulls** the current value back.  ``Module.fit(..., kvstore='local')`` does this for
you; this tutorial drives a store by hand, following the steps of MXNet's KVStore tutorial.

mxref implements the single-machine stores (``'local'``, ``'device'`` and their aliases).  The
devices here are CPU contexts ``mx.cpu(0)`` to ``mx.cpu(3)``: on one machine they share memory,
but the store treats them as it would treat four GPUs.
"""

# %%
# Initialization
# --------------
# A store is made with :func:`mx.kv.create`.  Before a key can be pushed or pulled it must be
# given a first value with ``init``; keys are integers (or strings).  ``pull`` copies the value
# kept under a key into an array we supply.
import mxref as mx

kv = mx.kv.create('local')
shape = (2, 3)
kv.init(3, mx.nd.ones(shape) * 2)
a = mx.nd.zeros(shape)
kv.pull(3, out=a)
print(a.asnumpy())

# %%
# Push, aggregate, and update
# ---------------------------
# Pushing a new value of the same shape replaces the stored one (the default merge is plain
# assignment):
kv.push(3, mx.nd.ones(shape) * 8)
kv.pull(3, out=a)
print(a.asnumpy())

# %%
# A push may carry a *list* of arrays, one per device.  The store first adds them up and then
# merges the sum, so four arrays of ones arrive as one array of fours.  The arrays can live on
# any context; the sum is formed where the store keeps the key.
contexts = [mx.cpu(i) for i in range(4)]
b = [mx.nd.ones(shape, ctx) for ctx in contexts]
kv.push(3, b)
kv.pull(3, out=a)
print(a.asnumpy())

# %%
# What "merge" means is up to an *updater*: a function of the key, the summed input and the
# stored array, which changes the stored array in place.  Installing one does not touch the
# stored value...
def update(key, input, stored):
    print('update on key: %d' % key)
    stored += input * 2


kv._set_updater(update)
kv.pull(3, out=a)
print(a.asnumpy())

# %%
# ...but every later push goes through it: the stored fours become ``4 + 2 * 1 = 6``.
kv.push(3, mx.nd.ones(shape))
kv.pull(3, out=a)
print(a.asnumpy())

# %%
# Training uses exactly this mechanism: ``kv.set_optimizer(optimizer)`` installs an updater that
# applies the optimizer's rule (for SGD, ``weight -= lr * gradient``) to the stored weight each
# time the gradients of a key are pushed.

# %%
# Pull
# ----
# Pulling into a list of arrays copies the value to every one of them, wherever they live: this
# is how each device gets the new weights.
b = [mx.nd.ones(shape, ctx) for ctx in contexts]
kv.pull(3, out=b)
print(b[1].asnumpy(), b[1].context)

# %%
# Handle a list of key-value pairs
# --------------------------------
# ``init``, ``push`` and ``pull`` also take a list of keys with a list of values, one per key.
# A network's parameters are handled this way, one key per parameter array.
keys = [5, 7, 9]
kv.init(keys, [mx.nd.ones(shape)] * len(keys))
kv.push(keys, [mx.nd.ones(shape)] * len(keys))
b = [mx.nd.zeros(shape)] * len(keys)
kv.pull(keys, out=b)
print(b[1].asnumpy())

# %%
# Each of those values can itself be a list of arrays on several devices; the store sums per
# key, runs the updater (which prints once per key), and pulls back to every device.  The
# stored 3s become ``3 + 2 * 4 = 11``:
b = [[mx.nd.ones(shape, ctx) for ctx in contexts]] * len(keys)
kv.push(keys, b)
kv.pull(keys, out=b)
print(b[1][1].asnumpy())

# %%
# More than one machine
# ---------------------
# MXNet also has distributed stores (``'dist_sync'``, ``'dist_async'``) in which worker
# processes on several machines push to and pull from parameter servers; ``kv.rank`` and
# ``kv.num_workers`` then tell a worker who it is.  mxref runs on one machine, so its store
# always has one worker of rank 0, and asking for a distributed type is a clear error:
print(kv.type, kv.rank, kv.num_workers)
try:
    mx.kv.create('dist_sync')
except mx.base.MXNetError as err:
    print('error:', err)
