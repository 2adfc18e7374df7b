# Gallery case hostile/null_functions: the net and the trainer return things of the
# right shapes and lengths and compute nothing.
"""A TwoLayerNet and train that do no work: right shapes, no values."""

import numpy as np


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        self.reg = reg
        self.loss_type = loss
        out_dim = 1 if loss == "bce" else num_classes
        self.num_classes = num_classes
        self.params = {"W1": np.zeros((input_dim, hidden_dim)), "b1": np.zeros(hidden_dim),
                       "W2": np.zeros((hidden_dim, out_dim)), "b2": np.zeros(out_dim)}

    def loss(self, X, y=None):
        if y is None:
            if self.loss_type == "bce":
                return np.zeros(X.shape[0])
            return np.zeros((X.shape[0], self.num_classes))
        grads = {name: np.zeros(value.shape) for name, value in self.params.items()}
        return float(np.log(self.num_classes)), grads

    def predict(self, X):
        return np.zeros(X.shape[0], dtype=np.int64)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    steps = num_epochs * -(-X.shape[0] // batch_size)
    return {"loss": [0.0] * steps, "train_acc": [0.0] * num_epochs,
            "val_acc": [0.0] * num_epochs if X_val is not None else []}
