"""Correct variant: tanh-based sigmoid, Keras-style eps = 1e-7, caches as reordered tuples."""

import numpy as np

EPSILON = 1e-7


def affine_forward(x, w, b):
    out = np.dot(x, w)
    out = out + b
    return out, (w, x)


def affine_backward(dout, cache):
    w, x = cache
    return np.dot(dout, w.T), np.dot(x.T, dout), dout.sum(0)


def relu_forward(x):
    out = x * (x > 0)
    return out, (out, x.shape)


def relu_backward(dout, cache):
    out, _shape = cache
    return dout * (out > 0)


def sigmoid_forward(x):
    # 0.5 * (1 + tanh(x / 2)) is the sigmoid; for x < 0 the sum 1 + tanh(x / 2)
    # cancels to 0 long before sigmoid(x) underflows, so that half uses
    # exp(x) / (1 + exp(x)) with exp only ever seeing x <= 0.
    e = np.exp(np.minimum(x, 0.0))
    out = np.where(x < 0, e / (1.0 + e), 0.5 * (1.0 + np.tanh(0.5 * x)))
    return out, (x.shape, out)


def sigmoid_backward(dout, cache):
    _shape, out = cache
    return dout * (out - out * out)


def softmax_loss(scores, y):
    n = len(y)
    z = scores - np.amax(scores, axis=-1)[:, None]
    ez = np.exp(z)
    probs = ez / ez.sum(axis=-1)[:, None]
    rows = np.arange(n)
    loss = np.mean(np.log(ez.sum(axis=-1)) - z[rows, y])
    dscores = probs.copy()
    dscores[rows, y] = dscores[rows, y] - 1
    return float(loss), dscores / n


def bce_loss(probs, y):
    p = np.clip(probs, EPSILON, 1 - EPSILON)
    n = p.size
    losses = np.where(y == 1, -np.log(p), -np.log(1 - p))
    dprobs = np.where(y == 1, -1 / p, 1 / (1 - p)) / n
    return float(losses.mean()), dprobs
