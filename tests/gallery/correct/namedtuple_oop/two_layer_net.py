"""Correct variant: the net keeps its caches on self between a forward and a backward method,
and train walks a batch generator."""

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
        self._caches = ()
        rng = np.random.default_rng(seed)
        dims = (input_dim, hidden_dim, 1 if loss == "bce" else num_classes)
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
            he = np.sqrt(2.0 / fan_in)
            self.params[f"W{i}"] = rng.normal(0.0, he if weight_scale is None else weight_scale,
                                              (fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)

    def _forward(self, X):
        h, c1 = affine_forward(X, self.params["W1"], self.params["b1"])
        h, cr = relu_forward(h)
        scores, c2 = affine_forward(h, self.params["W2"], self.params["b2"])
        if self.loss_type == "softmax":
            self._caches = (c1, cr, c2, None)
            return scores
        probs, cs = sigmoid_forward(scores.reshape(-1))
        self._caches = (c1, cr, c2, cs)
        return probs

    def _backward(self, dout):
        c1, cr, c2, cs = self._caches
        if cs is not None:
            dout = np.expand_dims(sigmoid_backward(dout, cs), axis=1)
        dh, dW2, db2 = affine_backward(dout, c2)
        _, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
        return {"W1": dW1 + self.reg * self.params["W1"], "b1": db1,
                "W2": dW2 + self.reg * self.params["W2"], "b2": db2}

    def loss(self, X, y=None):
        out = self._forward(X)
        if y is None:
            return out
        head = bce_loss if self.loss_type == "bce" else softmax_loss
        data_loss, dout = head(out, y)
        l2 = sum(np.sum(self.params[k] * self.params[k]) for k in ("W1", "W2"))
        return float(data_loss + 0.5 * self.reg * l2), self._backward(dout)

    def predict(self, X):
        out = self.loss(X)
        return (out >= 0.5).astype(int) if out.ndim == 1 else out.argmax(axis=1)


def _batches(rng, n, batch_size):
    order = rng.permutation(n)
    while order.size:
        yield order[:batch_size]
        order = order[batch_size:]


def _accuracy(model, X, y):
    return float((model.predict(X) == y).sum() / y.shape[0])


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    rate = learning_rate
    for epoch in range(num_epochs):
        for idx in _batches(rng, X.shape[0], batch_size):
            value, grads = model.loss(X[idx], y[idx])
            history["loss"].append(value)
            model.params.update({k: model.params[k] - rate * g for k, g in grads.items()})
        history["train_acc"].append(_accuracy(model, X, y))
        if X_val is not None:
            history["val_acc"].append(_accuracy(model, X_val, y_val))
        rate *= lr_decay
        if verbose:
            print(f"epoch {epoch + 1}: loss {history['loss'][-1]:.4f}")
    return history
