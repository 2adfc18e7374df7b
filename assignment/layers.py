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
    raise NotImplementedError("affine_forward: out (N, M) is x times w plus b broadcast over rows; keep what backward needs in cache")
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
    raise NotImplementedError("affine_backward: derive each gradient entry by entry (notebook section 3), then write dx (N, D), dw (D, M) and db (M,) from dout (N, M) and the cache")
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: out = max(0, x).

    Inputs:
    - x: array of any shape.

    Returns a tuple of:
    - out: same shape as x.
    - cache: the reference stores x itself.
    """
    raise NotImplementedError("relu_forward: out has x's shape and is 0 where x <= 0; keep what backward needs in cache")
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
    raise NotImplementedError("relu_backward: dx (shape of x) is dout times the ReLU's local derivative, computed from the cached x (use 0 at x == 0; notebook section 4)")
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
    raise NotImplementedError("sigmoid_forward: out has x's shape; for x < 0 rewrite the formula so that exp only sees -|x|")
    return out, cache


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid.

    Inputs:
    - dout: upstream gradient, same shape as the forward input x.
    - cache: what sigmoid_forward returned.

    Returns:
    - dx: gradient with respect to x, same shape as x.
    """
    raise NotImplementedError("sigmoid_backward: dx (shape of x) is dout times the sigmoid's local derivative, written with the cached output only (notebook section 6)")
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
    raise NotImplementedError("softmax_loss: loss (float) is the mean of -log p[i, y[i]] with p (N, C) the row-softmax of shifted scores; dscores (N, C) follows from p")
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
    raise NotImplementedError("bce_loss: clip probs (N,) away from 0 and 1, average the per-example losses, and differentiate each term; mind the 1/N")
    return float(loss), dprobs


def mse_loss(preds, y):
    """Mean squared error over the batch.

    loss = (1/N) sum_i sum_k (preds[i, k] - y[i, k])**2

    Inputs:
    - preds: (N,) or (N, K) predictions.
    - y: targets, the same shape as preds.

    Returns a tuple of:
    - loss: float, the squared errors summed over outputs and averaged over
      the N examples.
    - dpreds: gradient of loss with respect to preds, the shape of preds.
    """
    raise NotImplementedError("mse_loss: loss (float) sums the squared differences over outputs and averages over the N rows; dpreds has preds' shape; mind the 1/N")
    return float(loss), dpreds


def affine_jacobians(x, w, b):
    """The explicit Jacobians of one example's affine output a = x w + b.

    Backward never builds these; this function is here so that you derive
    them once, entry by entry, and see how large they are.

    Inputs:
    - x: (D,) one input.
    - w: (D, M) weights.
    - b: (M,) biases.

    Returns a tuple of:
    - da_dx: (M, D) with da_dx[j, i] = d a[j] / d x[i].
    - da_dw: (M, D, M) with da_dw[j, i, k] = d a[j] / d w[i, k].
    - da_db: (M, M) with da_db[j, k] = d a[j] / d b[k].
    """
    raise NotImplementedError("affine_jacobians: write a[j] as a sum over i; then ask, for each entry of x, w and b, which a[j] it appears in and with what factor")
    return da_dx, da_dw, da_db
