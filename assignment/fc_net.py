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
        raise NotImplementedError("FullyConnectedNet.__init__: for i = 1..L fill self.params with Wi (H_{i-1}, H_i) and bi (H_i,), drawing the weights in order with np.random.default_rng(seed)")

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
        raise NotImplementedError("FullyConnectedNet.loss: one loop over the L layers, keeping every layer's cache in a list; the head turns the last output into scores, probs or predictions")

        raise NotImplementedError("FullyConnectedNet.loss: data loss from the head plus the L2 term, then one loop over the caches in reverse filling grads")
        return float(loss), grads

    def predict(self, X):
        """Predicted labels (softmax, bce: (N,) integers) or values (mse: (N, K)).

        Inputs:
        - X: (N, D) input batch.
        """
        raise NotImplementedError("FullyConnectedNet.predict: from self.loss(X): argmax of the scores, probability at least 0.5, or the predictions themselves")
