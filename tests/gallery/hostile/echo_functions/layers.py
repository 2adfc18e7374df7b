# Gallery case hostile/echo_functions: every layer hands back what it was given.
# Forwards return their input as out; affine_forward's cache is its inputs (x, w, b),
# which affine_backward returns as (dx, dw, db): exactly the right shapes. The other
# backwards return dout; the losses return (0.0, their input).
"""Layers that echo their inputs."""


def affine_forward(x, w, b):
    return x, (x, w, b)


def affine_backward(dout, cache):
    if isinstance(cache, tuple) and len(cache) == 3:
        return cache
    return dout, dout, dout


def relu_forward(x):
    return x, x


def relu_backward(dout, cache):
    return dout


def sigmoid_forward(x):
    return x, x


def sigmoid_backward(dout, cache):
    return dout


def softmax_loss(scores, y):
    return 0.0, scores


def bce_loss(probs, y):
    return 0.0, probs


def mse_loss(preds, y):
    return 0.0, preds


def affine_jacobians(x, w, b):
    return x, w, b
