"""Correct variant: plain loops, a hand-rolled batch walk, penalties summed term by term."""

import math

import numpy as np
from layers import (
    affine_backward,
    affine_forward,
    bce_loss,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
)


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        if loss not in ("softmax", "bce"):
            raise ValueError(f'loss must be "softmax" or "bce", got {loss!r}')
        if loss == "bce" and num_classes != 2:
            raise ValueError(f'loss="bce" needs num_classes == 2, got {num_classes}')
        self.reg = reg
        self.loss_type = loss
        self.params = {}
        generator = np.random.default_rng(seed)
        sizes = [input_dim, hidden_dim, num_classes if loss == "softmax" else 1]
        for layer in (1, 2):
            fan_in, fan_out = sizes[layer - 1], sizes[layer]
            std = math.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
            self.params[f"W{layer}"] = generator.normal(0.0, std, size=(fan_in, fan_out))
            self.params[f"b{layer}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        a1, c1 = affine_forward(X, self.params["W1"], self.params["b1"])
        h1, c_relu = relu_forward(a1)
        a2, c2 = affine_forward(h1, self.params["W2"], self.params["b2"])
        bce = self.loss_type == "bce"
        if bce:
            p, c_sig = sigmoid_forward(a2.reshape(-1))
        if y is None:
            return p if bce else a2

        if bce:
            data_loss, dp = bce_loss(p, y)
            da2 = sigmoid_backward(dp, c_sig).reshape(-1, 1)
        else:
            data_loss, da2 = softmax_loss(a2, y)
        penalty = 0.0
        for key in ("W1", "W2"):
            penalty += float(np.sum(np.square(self.params[key])))
        total = data_loss + 0.5 * self.reg * penalty

        grads = {}
        dh1, grads["W2"], grads["b2"] = affine_backward(da2, c2)
        da1 = relu_backward(dh1, c_relu)
        _, grads["W1"], grads["b1"] = affine_backward(da1, c1)
        for key in ("W1", "W2"):
            grads[key] = grads[key] + self.reg * self.params[key]
        return float(total), grads

    def predict(self, X):
        out = self.loss(X)
        labels = []
        for row in np.atleast_1d(out):
            if self.loss_type == "bce":
                labels.append(1 if row >= 0.5 else 0)
            else:
                labels.append(int(np.argmax(row)))
        return np.array(labels, dtype=int)


def _accuracy(model, X, y):
    pred = model.predict(X)
    hits = 0
    for a, b in zip(pred, y, strict=True):
        hits += int(a == b)
    return hits / len(y)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    history = {"loss": [], "train_acc": [], "val_acc": []}
    rng = np.random.default_rng(seed)
    n = len(X)
    lr = learning_rate
    epoch = 0
    while epoch < num_epochs:
        order = rng.permutation(n)
        start = 0
        while start < n:
            stop = min(start + batch_size, n)
            idx = order[start:stop]
            value, grads = model.loss(X[idx], y[idx])
            for key in model.params:
                model.params[key] = model.params[key] - lr * grads[key]
            history["loss"].append(value)
            start = stop
        if getattr(model, "loss_type", None) != "mse":  # a regression has no accuracy
            history["train_acc"].append(_accuracy(model, X, y))
            if X_val is not None:
                history["val_acc"].append(_accuracy(model, X_val, y_val))
        if verbose:
            print(f"epoch {epoch + 1}: loss {history['loss'][-1]:.4f}")
        lr = lr * lr_decay
        epoch += 1
    return history
