"""Correct variant: layer caches kept in a dict per pass, params updated via dict comprehension."""

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
        outputs = 1 if loss == "bce" else num_classes
        shapes = {"W1": (input_dim, hidden_dim), "W2": (hidden_dim, outputs)}
        self.params = {}
        for name, (fan_in, fan_out) in shapes.items():
            std = weight_scale if weight_scale is not None else np.sqrt(2.0 / fan_in)
            self.params[name] = rng.normal(scale=std, size=(fan_in, fan_out))
            self.params["b" + name[1:]] = np.zeros(fan_out, dtype=np.float64)

    def _forward(self, X):
        caches = {}
        p = self.params
        z1, caches["fc1"] = affine_forward(X, p["W1"], p["b1"])
        a1, caches["relu"] = relu_forward(z1)
        z2, caches["fc2"] = affine_forward(a1, p["W2"], p["b2"])
        if self.loss_type == "bce":
            out, caches["sigmoid"] = sigmoid_forward(z2.ravel())
        else:
            out = z2
        return out, caches

    def loss(self, X, y=None):
        out, caches = self._forward(X)
        if y is None:
            return out
        if self.loss_type == "softmax":
            data_loss, dz2 = softmax_loss(out, y)
        else:
            data_loss, dprobs = bce_loss(out, y)
            dz2 = sigmoid_backward(dprobs, caches["sigmoid"])[:, np.newaxis]
        weights = [self.params["W1"], self.params["W2"]]
        reg_loss = 0.5 * self.reg * sum(float(np.vdot(w, w)) for w in weights)

        da1, dW2, db2 = affine_backward(dz2, caches["fc2"])
        dz1 = relu_backward(da1, caches["relu"])
        _, dW1, db1 = affine_backward(dz1, caches["fc1"])
        grads = {
            "W1": dW1 + self.reg * self.params["W1"],
            "b1": db1,
            "W2": dW2 + self.reg * self.params["W2"],
            "b2": db2,
        }
        return float(data_loss + reg_loss), grads

    def predict(self, X):
        out = self.loss(X)
        if self.loss_type == "softmax":
            return out.argmax(axis=1)
        return np.where(out >= 0.5, 1, 0)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    num_train = X.shape[0]
    steps_per_epoch = -(-num_train // batch_size)
    for epoch in range(num_epochs):
        perm = rng.permutation(num_train)
        for step in range(steps_per_epoch):
            chosen = perm[step * batch_size:(step + 1) * batch_size]
            loss, grads = model.loss(X[chosen], y[chosen])
            model.params = {k: v - learning_rate * grads[k] for k, v in model.params.items()}
            history["loss"].append(loss)
        history["train_acc"].append((model.predict(X) == y).mean().item())
        if X_val is not None:
            history["val_acc"].append((model.predict(X_val) == y_val).mean().item())
        if verbose:
            print(epoch, history["loss"][-1], history["train_acc"][-1])
        learning_rate = learning_rate * lr_decay
    return history
