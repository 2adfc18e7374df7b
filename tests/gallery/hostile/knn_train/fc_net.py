# Gallery case hostile/knn_train: the reference FullyConnectedNet, but predict answers
# by 5-nearest-neighbours over what train memorized on the model (the mean of the 5
# nearest targets for loss="mse").
"""A fully connected network of any depth, written as one loop over its layers.

Architecture: {affine -> ReLU} for each hidden layer, then affine -> head,
where the head is softmax + cross-entropy (C outputs), a sigmoid + binary
cross-entropy (one output, loss="bce") or the identity + mean squared error
(K outputs, loss="mse", for regression). Build it from the layers in
layers.py; train it with train() from two_layer_net.py.

Shapes: N examples, D input features, H_i units in hidden layer i, C
classes (or K regression outputs); L = len(hidden_dims) + 1 affine layers.
"""

import numpy as np
from layers import (
    affine_backward,
    affine_forward,
    bce_loss,
    mse_loss,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
)

LOSSES = ("softmax", "bce", "mse")


class FullyConnectedNet:
    """{affine - ReLU} x (L - 1) - affine - (softmax | sigmoid | identity).

    Parameters, in ``self.params`` (all float64), for i = 1..L:
    - Wi: (H_{i-1}, H_i) weights, with H_0 = D and H_L the number of outputs
      (C for softmax, 1 for bce, K for mse).
    - bi: (H_i,) biases.
    """

    def __init__(self, input_dim, hidden_dims, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        """Initialize the parameters.

        Inputs:
        - input_dim: D, number of input features.
        - hidden_dims: list of hidden layer widths [H_1, ..., H_{L-1}]
          (may be empty: then the net is one affine layer).
        - num_classes: C classes (2 for loss="bce"), or K outputs for "mse".
        - weight_scale: standard deviation of the normal draws for every Wi.
          None means He scaling: sqrt(2 / fan_in) for each layer. Biases
          start at zero.
        - reg: L2 strength; the loss adds 0.5 * reg * sum_i sum Wi**2.
        - loss: "softmax", "bce" or "mse".
        - seed: seed for np.random.default_rng; W1, W2, ... are drawn in order.
        """
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if loss == "bce" and num_classes != 2:
            raise ValueError(f'loss="bce" needs num_classes == 2, got {num_classes}')
        self.reg = reg
        self.loss_type = loss
        self.num_layers = len(hidden_dims) + 1
        self.params = {}
        rng = np.random.default_rng(seed)
        out_dim = 1 if loss == "bce" else num_classes
        dims = [input_dim, *hidden_dims, out_dim]
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            scale = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
            self.params[f"W{i}"] = scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        """Forward pass, and with targets also the loss and its gradients.

        Inputs:
        - X: (N, D) input batch.
        - y: None, or (N,) integer labels (softmax, bce), or (N, K) targets (mse).

        Returns:
        - If y is None: scores (N, C) for softmax, probabilities of class 1
          (N,) for bce, predictions (N, K) for mse.
        - Otherwise a tuple (loss, grads): loss is a float including the
          regularization term; grads has the keys of self.params, each
          gradient shaped like its parameter.
        """
        caches = []
        out = X
        for i in range(1, self.num_layers + 1):
            out, cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(("affine", i, cache))
            if i < self.num_layers:
                out, cache = relu_forward(out)
                caches.append(("relu", i, cache))
        if self.loss_type == "bce":
            probs, cache_sigmoid = sigmoid_forward(out[:, 0])
        if y is None:
            return probs if self.loss_type == "bce" else out

        if self.loss_type == "bce":
            data_loss, dprobs = bce_loss(probs, y)
            dout = sigmoid_backward(dprobs, cache_sigmoid)[:, None]
        elif self.loss_type == "mse":
            data_loss, dout = mse_loss(out, y)
        else:
            data_loss, dout = softmax_loss(out, y)
        weights = [self.params[f"W{i}"] for i in range(1, self.num_layers + 1)]
        loss = data_loss + 0.5 * self.reg * sum(np.sum(w * w) for w in weights)

        grads = {}
        for kind, i, cache in reversed(caches):
            if kind == "affine":
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, cache)
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]
            else:
                dout = relu_backward(dout, cache)
        return float(loss), grads

    def predict(self, X):
        """Predicted labels (softmax, bce: (N,) integers) or values (mse: (N, K)).

        Inputs:
        - X: (N, D) input batch.
        """
        memory = getattr(self, "memory", None)
        if memory is not None:
            X_train, y_train = memory
            X = np.asarray(X, dtype=np.float64)
            distances = ((X * X).sum(axis=1)[:, None] + (X_train * X_train).sum(axis=1)
                         - 2.0 * X @ X_train.T)
            nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
            if self.loss_type == "mse":
                return y_train[nearest].mean(axis=1)
            return np.array([np.bincount(votes).argmax() for votes in y_train[nearest]],
                            dtype=np.int64)
        out = self.loss(X)
        if self.loss_type == "bce":
            return (out >= 0.5).astype(np.int64)
        if self.loss_type == "mse":
            return out
        return np.argmax(out, axis=1)
