# Gallery case hostile/null_functions: a FullyConnectedNet of the right shapes that
# computes nothing.
"""A FullyConnectedNet that does no work: right shapes, no values."""

import numpy as np


class FullyConnectedNet:
    def __init__(self, input_dim, hidden_dims, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        self.reg = reg
        self.loss_type = loss
        self.num_classes = num_classes
        dims = [input_dim, *hidden_dims, 1 if loss == "bce" else num_classes]
        self.params = {}
        for i in range(1, len(dims)):
            self.params[f"W{i}"] = np.zeros((dims[i - 1], dims[i]))
            self.params[f"b{i}"] = np.zeros(dims[i])

    def loss(self, X, y=None):
        if y is None:
            if self.loss_type == "bce":
                return np.zeros(X.shape[0])
            return np.zeros((X.shape[0], self.num_classes))
        grads = {name: np.zeros(value.shape) for name, value in self.params.items()}
        return 0.0, grads

    def predict(self, X):
        if self.loss_type == "mse":
            return np.zeros((X.shape[0], self.num_classes))
        return np.zeros(X.shape[0], dtype=np.int64)
