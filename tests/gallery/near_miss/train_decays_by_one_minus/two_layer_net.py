# Gallery case near_miss/train_decays_by_one_minus: after each epoch train multiplies the
# learning rate by 1 - lr_decay instead of lr_decay (everything else is the reference).
"""A two-layer fully connected network and the minibatch SGD loop that trains it.

Architecture: affine -> ReLU -> affine -> head, where the head is either
softmax + cross-entropy (C outputs) or, with ``loss="bce"``, one output unit,
a sigmoid and binary cross-entropy. Build it from the layers in layers.py.

Shapes: N examples, D input features, H hidden units, C classes.
"""

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
    """Two-layer net: affine - ReLU - affine - (softmax | sigmoid).

    Parameters, in ``self.params`` (all float64):
    - W1: (D, H) first-layer weights.
    - b1: (H,) first-layer biases.
    - W2: (H, C) second-layer weights, or (H, 1) for loss="bce".
    - b2: (C,) second-layer biases, or (1,) for loss="bce".
    """

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=None,
                 reg=0.0, loss="softmax", seed=None):
        """Initialize the parameters.

        Inputs:
        - input_dim: D, number of input features.
        - hidden_dim: H, number of hidden units.
        - num_classes: C, number of classes; must be 2 for loss="bce".
        - weight_scale: standard deviation of the normal draws for W1 and
          W2. None means He scaling: sqrt(2 / D) for W1 and sqrt(2 / H)
          for W2. Biases start at zero.
        - reg: L2 strength; the loss adds 0.5 * reg * (sum W1**2 + sum W2**2).
        - loss: "softmax" or "bce".
        - seed: seed for np.random.default_rng, so that two nets built with
          the same seed start with the same weights.
        """
        if loss not in ("softmax", "bce"):
            raise ValueError(f'loss must be "softmax" or "bce", got {loss!r}')
        if loss == "bce" and num_classes != 2:
            raise ValueError(f'loss="bce" needs num_classes == 2, got {num_classes}')
        self.reg = reg
        self.loss_type = loss
        self.params = {}
        rng = np.random.default_rng(seed)
        out_dim = 1 if loss == "bce" else num_classes
        scale1 = np.sqrt(2.0 / input_dim) if weight_scale is None else weight_scale
        scale2 = np.sqrt(2.0 / hidden_dim) if weight_scale is None else weight_scale
        self.params["W1"] = scale1 * rng.standard_normal((input_dim, hidden_dim))
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = scale2 * rng.standard_normal((hidden_dim, out_dim))
        self.params["b2"] = np.zeros(out_dim)

    def loss(self, X, y=None):
        """Forward pass, and with labels also the loss and its gradients.

        Inputs:
        - X: (N, D) input batch.
        - y: (N,) integer labels, or None.

        Returns:
        - If y is None: scores (N, C) for softmax, or probabilities of
          class 1, (N,), for bce.
        - Otherwise a tuple (loss, grads): loss is a float including the
          regularization term; grads is a dict with the keys of self.params,
          each gradient shaped like its parameter.
        """
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        hidden, cache1 = affine_forward(X, W1, b1)
        hidden, cache_relu = relu_forward(hidden)
        scores, cache2 = affine_forward(hidden, W2, b2)
        if self.loss_type == "bce":
            probs, cache_sigmoid = sigmoid_forward(scores[:, 0])
        if y is None:
            return probs if self.loss_type == "bce" else scores

        if self.loss_type == "bce":
            data_loss, dprobs = bce_loss(probs, y)
            dscores = sigmoid_backward(dprobs, cache_sigmoid)[:, None]
        else:
            data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        dhidden = relu_backward(dhidden, cache_relu)
        _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache1)
        grads["W1"] = grads["W1"] + self.reg * W1
        grads["W2"] = grads["W2"] + self.reg * W2
        return float(loss), grads

    def predict(self, X):
        """Predicted labels.

        Inputs:
        - X: (N, D) input batch.

        Returns:
        - y_pred: (N,) integer labels: the argmax of the scores for
          softmax, or 1 where the probability is at least 0.5 for bce.
        """
        out = self.loss(X)
        if self.loss_type == "bce":
            return (out >= 0.5).astype(np.int64)
        return np.argmax(out, axis=1)


def train(model, X, y, X_val=None, y_val=None, *, learning_rate, num_epochs,
          batch_size, lr_decay=1.0, seed=None, verbose=False):
    """Train ``model`` in place with minibatch stochastic gradient descent.

    Each epoch shuffles the training set once (with np.random.default_rng(seed),
    drawn once before the first epoch) and walks through it in batches of
    batch_size; the last batch of an epoch may be smaller. After each step
    every parameter moves by -learning_rate times its gradient. After each
    epoch the learning rate is multiplied by lr_decay.

    Inputs:
    - model: a TwoLayerNet or FullyConnectedNet (anything with .params,
      .loss and .predict).
    - X: (N, D) training inputs; y: (N,) integer labels, or (N, K) targets
      for a regression model (model.loss_type == "mse").
    - X_val: (N_val, D) validation inputs and y_val: (N_val,) labels, or None.
    - learning_rate, num_epochs, batch_size, lr_decay: as above.
    - seed: seed for the shuffles.
    - verbose: print, after each epoch, the mean loss of its steps and the
      accuracies.

    Returns:
    - history: dict with "loss" (list of floats, one per step),
      "train_acc" (one float per epoch, on all of X) and "val_acc" (one
      float per epoch, empty when X_val is None). A regression model has no
      accuracy: both lists stay empty.
    """
    history = {"loss": [], "train_acc": [], "val_acc": []}
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    for epoch in range(num_epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            for name, grad in grads.items():
                model.params[name] -= learning_rate * grad
            history["loss"].append(loss)
        if getattr(model, "loss_type", None) != "mse":
            history["train_acc"].append(float(np.mean(model.predict(X) == y)))
            if X_val is not None:
                history["val_acc"].append(float(np.mean(model.predict(X_val) == y_val)))
        learning_rate *= 1 - lr_decay
        if verbose:
            steps = -(-n // batch_size)  # this epoch's steps
            mean = np.mean(history["loss"][-steps:])
            line = f"epoch {epoch + 1}/{num_epochs}: mean loss {mean:.4f}"
            if history["train_acc"]:
                line += f", train acc {history['train_acc'][-1]:.3f}"
            if history["val_acc"]:
                line += f", val acc {history['val_acc'][-1]:.3f}"
            print(line)
    return history
