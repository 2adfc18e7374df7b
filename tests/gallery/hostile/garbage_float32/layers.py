# Gallery case hostile/garbage_float32: relu_forward returns out as float32 instead of
# float64.
"""Layers for a small neural network, each as a forward and a backward function.

Every forward function returns ``(out, cache)``. The cache holds whatever the
matching backward function needs; backward takes ``(dout, cache)``, where
``dout`` is the gradient of the loss with respect to ``out`` and has the same
shape as ``out``, and returns the gradient with respect to each input, each
with the shape of that input.

Backward never builds a Jacobian: it multiplies ``dout`` by the Jacobian
implicitly (a vector-Jacobian product), which costs about as much as forward.

Conventions: every array is float64; N is the batch size, D the input
dimension, M the output dimension of an affine layer, C the number of classes.
No function may modify its inputs in place.
"""

import numpy as np


def affine_forward(x, w, b):
    """Affine (fully connected) layer: out = x w + b.

    Inputs:
    - x: (N, D) a batch of N inputs, each of dimension D.
    - w: (D, M) weights.
    - b: (M,) biases, added to every row.

    Returns a tuple of:
    - out: (N, M) the layer's output.
    - cache: the reference stores the tuple (x, w, b).
    """
    out = x @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Inputs:
    - dout: (N, M) upstream gradient dL/dout.
    - cache: what affine_forward returned.

    Returns a tuple of:
    - dx: (N, D) gradient with respect to x.
    - dw: (D, M) gradient with respect to w.
    - db: (M,) gradient with respect to b.
    """
    x, w, _ = cache
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: out = max(0, x).

    Inputs:
    - x: array of any shape.

    Returns a tuple of:
    - out: same shape as x.
    - cache: the reference stores x itself.
    """
    out = np.maximum(x, 0.0).astype(np.float32)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of the ReLU.

    Inputs:
    - dout: upstream gradient, same shape as the forward input x.
    - cache: what relu_forward returned.

    Returns:
    - dx: gradient with respect to x, same shape as x. At x == 0 the
      reference uses the subgradient 0.
    """
    x = cache
    dx = dout * (x > 0)
    return dx


def sigmoid_forward(x):
    """Logistic sigmoid, elementwise: out = 1 / (1 + exp(-x)).

    Must stay finite and accurate for |x| up to 1000, so exp must never be
    called on a large positive number.

    Inputs:
    - x: array of any shape.

    Returns a tuple of:
    - out: same shape as x, every entry in [0, 1].
    - cache: the reference stores out (the sigmoid's derivative is a
      function of its output).
    """
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid.

    Inputs:
    - dout: upstream gradient, same shape as the forward input x.
    - cache: what sigmoid_forward returned.

    Returns:
    - dx: gradient with respect to x, same shape as x.
    """
    out = cache
    dx = dout * out * (1.0 - out)
    return dx


def softmax_loss(scores, y):
    """Softmax followed by the mean cross-entropy loss over the batch.

    Must stay finite when every score is offset by +1000: shift each row by
    its maximum before exponentiating (this does not change the softmax).

    Inputs:
    - scores: (N, C) unnormalized class scores.
    - y: (N,) integer labels, 0 <= y[i] < C.

    Returns a tuple of:
    - loss: float, (1/N) sum_i -log softmax(scores[i])[y[i]].
    - dscores: (N, C) gradient of loss with respect to scores.
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    return float(loss), dscores


def bce_loss(probs, y):
    """Mean binary cross-entropy over the batch.

    loss = -(1/N) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]

    Must stay finite when a probability is exactly 0 or 1: clip probs to
    [eps, 1 - eps] (the reference uses eps = 1e-12) before taking logs.

    Inputs:
    - probs: (N,) predicted probabilities of class 1, each in [0, 1].
    - y: (N,) labels, each 0 or 1.

    Returns a tuple of:
    - loss: float, the mean binary cross-entropy.
    - dprobs: (N,) gradient of loss with respect to probs.
    """
    eps = 1e-12
    n = probs.shape[0]
    p = np.clip(probs, eps, 1.0 - eps)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    dprobs = (p - y) / (p * (1.0 - p)) / n
    return float(loss), dprobs
