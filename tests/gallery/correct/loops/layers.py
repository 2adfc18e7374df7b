"""Correct variant: explicit Python loops over rows (affine, softmax, BCE) and elements
(ReLU, sigmoid); caches are lists."""

import math

import numpy as np


def affine_forward(x, w, b):
    n = x.shape[0]
    out = np.empty((n, w.shape[1]))
    for i in range(n):
        out[i] = x[i].dot(w) + b
    cache = [x, w, b]
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    n, d = x.shape
    dx = np.zeros((n, d))
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for i in range(n):
        dx[i] = w.dot(dout[i])
        dw = dw + np.outer(x[i], dout[i])
        db = db + dout[i]
    return dx, dw, db


def relu_forward(x):
    flat = x.ravel()
    out = np.zeros(flat.size)
    for k in range(flat.size):
        if flat[k] > 0:
            out[k] = flat[k]
    return out.reshape(x.shape), [x]


def relu_backward(dout, cache):
    (x,) = cache
    xs = x.ravel()
    ds = dout.ravel()
    dx = np.zeros(xs.size)
    for k in range(xs.size):
        if xs[k] > 0:
            dx[k] = ds[k]
    return dx.reshape(x.shape)


def _sigmoid_scalar(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    z = math.exp(v)
    return z / (1.0 + z)


def sigmoid_forward(x):
    flat = x.ravel()
    out = np.empty(flat.size)
    for k in range(flat.size):
        out[k] = _sigmoid_scalar(float(flat[k]))
    out = out.reshape(x.shape)
    return out, [out]


def sigmoid_backward(dout, cache):
    (s,) = cache
    ss = s.ravel()
    ds = dout.ravel()
    dx = np.empty(ss.size)
    for k in range(ss.size):
        dx[k] = ds[k] * ss[k] * (1.0 - ss[k])
    return dx.reshape(s.shape)


def softmax_loss(scores, y):
    n, c = scores.shape
    total = 0.0
    dscores = np.empty((n, c))
    for i in range(n):
        row = scores[i] - np.max(scores[i])
        e = np.exp(row)
        z = e.sum()
        label = int(y[i])
        total += math.log(z) - row[label]
        for j in range(c):
            dscores[i, j] = e[j] / z - (1.0 if j == label else 0.0)
    loss = total / n
    dscores = dscores / n
    return float(loss), dscores


def bce_loss(probs, y):
    eps = 1e-12
    n = probs.shape[0]
    total = 0.0
    dprobs = np.empty(n)
    for i in range(n):
        p = min(max(float(probs[i]), eps), 1.0 - eps)
        if y[i] == 1:
            total -= math.log(p)
            dprobs[i] = -1.0 / p
        else:
            total -= math.log(1.0 - p)
            dprobs[i] = 1.0 / (1.0 - p)
    return float(total / n), dprobs / n
