# Gallery case hostile/finite_difference_backward: FullyConnectedNet.loss computes the
# loss with a forward of its own and every gradient by centered differences of that loss.
# __init__ and predict are the reference (completed by tests/submissions.gallery_files).
"""A fully connected network whose gradients come from numeric differences."""

import numpy as np
from layers import bce_loss, mse_loss, softmax_loss


class FullyConnectedNet:
    def __init__(self, input_dim, hidden_dims, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        rng = np.random.default_rng(seed)
        self.reg, self.loss_type = reg, loss
        self.num_layers = len(hidden_dims) + 1
        dims = [input_dim, *hidden_dims, 1 if loss == "bce" else num_classes]
        self.params = {}
        for i in range(1, len(dims)):
            scale = np.sqrt(2.0 / dims[i - 1]) if weight_scale is None else weight_scale
            self.params[f"W{i}"] = scale * rng.standard_normal((dims[i - 1], dims[i]))
            self.params[f"b{i}"] = np.zeros(dims[i])

    def _forward(self, X):
        # Its own forward, in numpy: this net's layers stay its own even where the grader
        # swaps the failing layers for the reference's, so only its backward is judged.
        out = X
        for i in range(1, self.num_layers + 1):
            out = out @ self.params[f"W{i}"] + self.params[f"b{i}"]
            if i < self.num_layers:
                out = np.maximum(out, 0.0)
        if self.loss_type == "bce":
            z = out[:, 0]
            return np.exp(-np.logaddexp(0.0, -z))
        return out

    def _loss(self, X, y):
        out = self._forward(X)
        head = {"bce": bce_loss, "mse": mse_loss, "softmax": softmax_loss}[self.loss_type]
        weights = sum(np.sum(v * v) for k, v in self.params.items() if k.startswith("W"))
        return head(out, y)[0] + 0.5 * self.reg * weights

    def loss(self, X, y=None):
        if y is None:
            return self._forward(X)
        grads, h = {}, 1e-5
        for name, value in self.params.items():
            grad = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                old = value[index]
                value[index] = old + h
                plus = self._loss(X, y)
                value[index] = old - h
                minus = self._loss(X, y)
                value[index] = old
                grad[index] = (plus - minus) / (2 * h)
            grads[name] = grad
        return float(self._loss(X, y)), grads

    def predict(self, X):
        out = self.loss(X)
        if self.loss_type == "bce":
            return (out >= 0.5).astype(np.int64)
        return out if self.loss_type == "mse" else np.argmax(out, axis=1)
