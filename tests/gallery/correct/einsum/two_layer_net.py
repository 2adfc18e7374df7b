"""Correct variant: np.matmul / einsum in the net, np.array_split over a permutation in train."""

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
        gen = np.random.default_rng(seed)
        k = 1 if loss == "bce" else num_classes
        if weight_scale is None:
            scales = (np.sqrt(2.0 / input_dim), np.sqrt(2.0 / hidden_dim))
        else:
            scales = (weight_scale, weight_scale)
        self.params = {
            "W1": gen.standard_normal((input_dim, hidden_dim)) * scales[0],
            "b1": np.zeros(hidden_dim),
            "W2": gen.standard_normal((hidden_dim, k)) * scales[1],
            "b2": np.zeros(k),
        }

    def loss(self, X, y=None):
        P = self.params
        z1, fc1 = affine_forward(X, P["W1"], P["b1"])
        a1, relu = relu_forward(z1)
        z2, fc2 = affine_forward(a1, P["W2"], P["b2"])
        if self.loss_type == "bce":
            probs, sig = sigmoid_forward(np.einsum("nk->n", z2))
            if y is None:
                return probs
            data_loss, dprobs = bce_loss(probs, y)
            dz2 = np.einsum("n,k->nk", sigmoid_backward(dprobs, sig), np.ones(1))
        else:
            if y is None:
                return z2
            data_loss, dz2 = softmax_loss(z2, y)
        sq = np.einsum("ij,ij->", P["W1"], P["W1"]) + np.einsum("ij,ij->", P["W2"], P["W2"])
        loss = data_loss + 0.5 * self.reg * sq

        da1, dW2, db2 = affine_backward(dz2, fc2)
        _, dW1, db1 = affine_backward(relu_backward(da1, relu), fc1)
        grads = {"W1": dW1 + np.multiply(self.reg, P["W1"]), "b1": db1,
                 "W2": dW2 + np.multiply(self.reg, P["W2"]), "b2": db2}
        return float(loss), grads

    def predict(self, X):
        out = self.loss(X)
        if self.loss_type == "bce":
            return np.greater_equal(out, 0.5).astype(np.int64)
        return np.argmax(out, axis=-1)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    rng = np.random.default_rng(seed)
    n = len(X)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    cuts = np.arange(batch_size, n, batch_size)  # batches of batch_size, the last one shorter
    for epoch in range(num_epochs):
        lr = learning_rate * lr_decay ** epoch
        for batch in np.array_split(rng.permutation(n), cuts):
            loss, grads = model.loss(X[batch], y[batch])
            history["loss"].append(loss)
            for name, grad in grads.items():
                model.params[name] = model.params[name] - lr * grad
        history["train_acc"].append(float(np.mean(np.equal(model.predict(X), y))))
        if X_val is not None:
            history["val_acc"].append(float(np.mean(np.equal(model.predict(X_val), y_val))))
        if verbose:
            print(epoch + 1, history["loss"][-1], history["train_acc"][-1])
    return history
