# Gallery case hostile/null_functions: every function returns something of the right
# shape (zeros, a constant or None) and computes nothing.
"""Layers that do no work: right shapes, no values."""

import numpy as np


def affine_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1])), (x.shape, w.shape, b.shape)


def affine_backward(dout, cache):
    shapes = [getattr(item, "shape", item) for item in cache]  # this cache or (x, w, b)
    return tuple(np.zeros(shape) for shape in shapes)


def relu_forward(x):
    return np.zeros(x.shape), None


def relu_backward(dout, cache):
    return np.zeros(dout.shape)


def sigmoid_forward(x):
    return np.full(x.shape, 0.5), None


def sigmoid_backward(dout, cache):
    return None


def softmax_loss(scores, y):
    return float(np.log(scores.shape[1])), np.zeros(scores.shape)


def bce_loss(probs, y):
    return float(np.log(2.0)), np.zeros(probs.shape)


def mse_loss(preds, y):
    return 0.0, np.zeros(preds.shape)


def affine_jacobians(x, w, b):
    m = w.shape[1]
    return np.zeros((m, x.shape[0])), np.zeros((m, x.shape[0], m)), np.zeros((m, m))
