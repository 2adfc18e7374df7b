"""Correct variant: params drawn in a different order, head handled with early returns."""

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
        rng = np.random.default_rng(seed)
        c = num_classes if loss == "softmax" else 1
        # W2 is drawn before W1: any order is fine as long as the seed fixes it.
        s2 = weight_scale if weight_scale is not None else (2 / hidden_dim) ** 0.5
        s1 = weight_scale if weight_scale is not None else (2 / input_dim) ** 0.5
        W2 = rng.standard_normal((hidden_dim, c)) * s2
        W1 = rng.standard_normal((input_dim, hidden_dim)) * s1
        self.params = {"b2": np.zeros(c), "W2": W2, "b1": np.zeros(hidden_dim), "W1": W1}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h_pre, fc1 = affine_forward(X, W1, b1)
        h, act = relu_forward(h_pre)
        s, fc2 = affine_forward(h, W2, b2)

        if self.loss_type == "softmax":
            if y is None:
                return s
            data, ds = softmax_loss(s, y)
        else:
            p, sig = sigmoid_forward(s[:, 0])
            if y is None:
                return p
            data, dp = bce_loss(p, y)
            ds = sigmoid_backward(dp, sig).reshape(s.shape)

        dh, dW2, db2 = affine_backward(ds, fc2)
        _, dW1, db1 = affine_backward(relu_backward(dh, act), fc1)
        dW1 += self.reg * W1
        dW2 += self.reg * W2
        total = data + self.reg / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum())
        return float(total), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def predict(self, X):
        if self.loss_type == "bce":
            return (self.loss(X) >= 0.5).astype(int)
        return self.loss(X).argmax(-1)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    shuffler = np.random.default_rng(seed)
    losses, train_acc, val_acc = [], [], []
    lr = float(learning_rate)
    for epoch in range(1, num_epochs + 1):
        idx = shuffler.permutation(len(y))
        Xs, ys = X[idx], y[idx]
        for lo in range(0, len(ys), batch_size):
            value, grads = model.loss(Xs[lo:lo + batch_size], ys[lo:lo + batch_size])
            for k, g in grads.items():
                model.params[k] = model.params[k] - lr * g
            losses.append(value)
        train_acc.append(float(np.mean(model.predict(X) == y)))
        if X_val is not None:
            val_acc.append(float(np.mean(model.predict(X_val) == y_val)))
        lr *= lr_decay
        if verbose:
            print(f"[{epoch}/{num_epochs}] loss={losses[-1]:.4f} acc={train_acc[-1]:.3f}")
    return {"loss": losses, "train_acc": train_acc, "val_acc": val_acc}
