"""Correct variant: fused heads (sigmoid+BCE gradient (p - y) / N, inline softmax),
one flat He draw split into W1 and W2, rng.shuffle on an index array, and a history
kept in numpy arrays and converted to lists."""

import numpy as np
from layers import (
    affine_backward,
    affine_forward,
    bce_loss,
    relu_backward,
    relu_forward,
    sigmoid_forward,
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
        rng = np.random.default_rng(seed)
        out_dim = num_classes if loss == "softmax" else 1
        # One flat draw, split into W1 and W2; He scaling sqrt(2 / fan_in) by default.
        n1, n2 = input_dim * hidden_dim, hidden_dim * out_dim
        flat = rng.normal(size=n1 + n2)
        if weight_scale is None:
            std1, std2 = np.sqrt(2.0 / input_dim), np.sqrt(2.0 / hidden_dim)
        else:
            std1 = std2 = weight_scale
        self.params["W1"] = std1 * flat[:n1].reshape(input_dim, hidden_dim)
        self.params["W2"] = std2 * flat[n1:].reshape(hidden_dim, out_dim)
        self.params["b1"] = np.zeros((hidden_dim,))
        self.params["b2"] = np.zeros((out_dim,))

    def loss(self, X, y=None):
        W1, W2 = self.params["W1"], self.params["W2"]
        hidden, fc1_cache = affine_forward(X, W1, self.params["b1"])
        hidden, relu_cache = relu_forward(hidden)
        scores, fc2_cache = affine_forward(hidden, W2, self.params["b2"])
        probs = sigmoid_forward(scores[:, 0])[0] if self.loss_type == "bce" else None
        if y is None:
            return scores if probs is None else probs

        n = X.shape[0]
        if probs is not None:
            data_loss, _ = bce_loss(probs, y)
            # d/dscore of BCE(sigmoid(score)) is p - y: no division by p (1 - p).
            dscores = ((probs - y) / n).reshape(n, 1)
        else:
            top = scores.max(axis=1, keepdims=True)
            log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
            data_loss = np.mean(log_norm - scores[np.arange(n), y])
            dscores = np.exp(scores - log_norm[:, None])
            dscores[np.arange(n), y] -= 1.0
            dscores /= n
        loss = data_loss + 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

        dhidden, dW2, db2 = affine_backward(dscores, fc2_cache)
        dhidden = relu_backward(dhidden, relu_cache)
        _, dW1, db1 = affine_backward(dhidden, fc1_cache)
        grads = {"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + self.reg * W2, "b2": db2}
        return float(loss), grads

    def predict(self, X):
        out = self.loss(X)
        if self.loss_type == "bce":
            return (out >= 0.5).astype(np.int64)
        return np.argmax(out, axis=1)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    rng = np.random.default_rng(seed)
    num_train = X.shape[0]
    num_batches = int(np.ceil(num_train / batch_size))
    losses = np.zeros(num_epochs * num_batches)
    train_acc = np.zeros(num_epochs)
    val_acc = np.zeros(num_epochs if X_val is not None else 0)
    index = np.arange(num_train)
    step = 0
    for epoch in range(num_epochs):
        rng.shuffle(index)
        for k in range(num_batches):
            batch = index[k * batch_size:(k + 1) * batch_size]
            losses[step], grads = model.loss(X[batch], y[batch])
            step += 1
            for name in model.params:
                model.params[name] = model.params[name] - learning_rate * grads[name]
        train_acc[epoch] = np.mean(model.predict(X) == y)
        if X_val is not None:
            val_acc[epoch] = np.mean(model.predict(X_val) == y_val)
        learning_rate *= lr_decay
        if verbose:
            print(f"epoch {epoch + 1}/{num_epochs}: loss {losses[step - 1]:.4f}, "
                  f"train acc {train_acc[epoch]:.3f}")
    return {"loss": losses.tolist(), "train_acc": train_acc.tolist(),
            "val_acc": val_acc.tolist()}
