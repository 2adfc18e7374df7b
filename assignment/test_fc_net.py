"""Local tests for fc_net.py (FullyConnectedNet). Run ``pytest`` in this folder.

As for TwoLayerNet (see test_two_layer_net.py), a layer function that fails its
own tests is replaced by a stand-in here, and the autograder does the same
with its reference. Each test's ``grades`` mark names the function it judges;
every test has a time limit (60 s).
"""

from pathlib import Path

import numpy as np
import pytest
from feedback import check_array, check_close, check_imports
from gradient_check import numeric_gradient
from test_two_layer_net import (
    affine_definition,
    bce_terms,
    check_loss_time,
    expect,
    load_own_module,
    relu_definition,
    replaced_layers,
    sigmoid_definition,
    softmax_loss_definition,
    time_limit_per_test,  # noqa: F401 - the autouse fixture: a time limit per test
)

HERE = Path(__file__).resolve().parent
FC_FUNCTIONS = ("FullyConnectedNet.__init__", "FullyConnectedNet.loss",
                "FullyConnectedNet.predict", "FullyConnectedNet")
N, D, K = 5, 3, 2
HIDDEN = [4, 3]                                  # three affine layers
CLASSES = {"softmax": 3, "bce": 2, "mse": K}
REG = 0.3


@pytest.fixture(scope="module")
def fc(test_outcomes):
    """The fc_net module the tests judge, with stand-ins for failing layer functions."""
    return load_own_module("fc_net", *replaced_layers("FullyConnectedNet", test_outcomes))


# --- the net, as its docstring defines it ------------------------------------------

def param_shapes(loss, d=D, hidden=HIDDEN):
    dims = [d, *hidden, 1 if loss == "bce" else CLASSES[loss]]
    shapes = {}
    for i in range(1, len(dims)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (dims[i - 1], dims[i]), (dims[i],)
    return shapes


def forward_definition(params, X, loss):
    """FullyConnectedNet.loss(X) for ``params``: scores, probabilities or predictions."""
    layers = len(params) // 2
    out = X
    for i in range(1, layers + 1):
        out = affine_definition(out, params[f"W{i}"], params[f"b{i}"])
        if i < layers:
            out = relu_definition(out)
    return sigmoid_definition(out[:, 0]) if loss == "bce" else out


def loss_definition(params, X, y, reg, loss):
    out = forward_definition(params, X, loss)
    if loss == "bce":
        data = float(np.sum(bce_terms(out, y)))
    elif loss == "mse":
        data = float(np.sum((out - y) ** 2) / len(X))
    else:
        data = softmax_loss_definition(out, y)
    return data + 0.5 * reg * sum(float(np.sum(v ** 2)) for k, v in params.items()
                                  if k.startswith("W"))


def random_params(rng, loss, hidden=HIDDEN):
    """Parameters with every entry well away from zero, biases included."""
    return {name: rng.uniform(0.2, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
            for name, shape in param_shapes(loss, D, hidden).items()}


def targets(rng, loss, n=N):
    return rng.standard_normal((n, K)) if loss == "mse" else rng.integers(0, CLASSES[loss], n)


def model_with(fc, params, loss, reg=0.0):
    hidden = [params[f"W{i}"].shape[1] for i in range(1, len(params) // 2)]
    model = fc.FullyConnectedNet(params["W1"].shape[0], hidden, CLASSES[loss], reg=reg,
                                 loss=loss)
    for name, value in params.items():
        model.params[name] = value.copy()
    return model


def loss_and_grads(model, X, y):
    result = model.loss(X, y)
    expect(None if isinstance(result, (tuple, list)) and len(result) == 2 else
           f"FullyConnectedNet.loss: with targets it returned {type(result).__name__}, "
           f"expected a tuple (loss, grads).")
    return result


# --- the import rule ------------------------------------------------------------------

@pytest.mark.grades(*FC_FUNCTIONS)
def test_fc_net_imports_only_numpy_and_the_standard_library():
    expect(check_imports(HERE / "fc_net.py", exclude=("layers", "two_layer_net")))


# --- __init__ -------------------------------------------------------------------------

INIT_D = 200
INIT_HINT = ("initialization: with weight_scale=None draw each Wi with standard deviation "
             "sqrt(2 / fan_in), fan_in being its number of rows (He), otherwise with "
             "standard deviation weight_scale")


def init_params(fc, loss, hidden, **kwargs):
    model = fc.FullyConnectedNet(INIT_D, hidden, CLASSES[loss], loss=loss, **kwargs)
    params = getattr(model, "params", None)
    expect(None if isinstance(params, dict) else
           f"FullyConnectedNet.__init__: params is {type(params).__name__}, expected a dict "
           f"of arrays.")
    shapes = param_shapes(loss, INIT_D, hidden)
    expect(None if set(params) == set(shapes) else
           f"FullyConnectedNet.__init__: params has the keys {sorted(params)} "
           f"(hidden_dims={hidden}, loss={loss!r}), expected {sorted(shapes)}.")
    for name, shape in shapes.items():
        expect(check_array("FullyConnectedNet.__init__", f"params[{name!r}] (D={INIT_D}, "
                           f"hidden_dims={hidden}, loss={loss!r})", params[name], shape))
    return {name: np.asarray(params[name], dtype=np.float64) for name in shapes}


@pytest.mark.grades("FullyConnectedNet.__init__")
@pytest.mark.parametrize("loss", ["softmax", "bce", "mse"])
def test_fc_init_parameter_shapes(fc, loss):
    params = init_params(fc, loss, [100, 50], seed=3)
    again = init_params(fc, loss, [100, 50], seed=3)
    expect(None if all(np.array_equal(params[k], again[k]) for k in params) else
           "FullyConnectedNet.__init__: two nets built with the same seed start with different "
           "parameters; draw them with np.random.default_rng(seed).")
    expect(None if not any(np.any(v) for k, v in params.items() if k.startswith("b")) else
           "FullyConnectedNet.__init__: every bias must start at zero.")
    init_params(fc, loss, [8, 7, 6, 5], seed=1)
    init_params(fc, loss, [], seed=1)


@pytest.mark.grades("FullyConnectedNet.__init__")
def test_fc_init_weight_scale(fc):
    for setting, kwargs, tolerance in (("weight_scale=None", {}, (0.5, 2.0)),
                                       ("weight_scale=0.05", {"weight_scale": 0.05},
                                        (0.75, 1.25))):
        params = init_params(fc, "softmax", [100, 50], seed=5, **kwargs)
        for name, value in params.items():
            if name.startswith("W"):
                target = kwargs.get("weight_scale", np.sqrt(2 / value.shape[0]))
                std = float(np.std(value))
                expect(None if tolerance[0] * target <= std <= tolerance[1] * target else
                       f"FullyConnectedNet.__init__: with {setting} {name} {value.shape} has "
                       f"standard deviation {std:.3g}, expected about {target:.3g}; check "
                       f"the {INIT_HINT}.")


# --- loss(X), loss(X, y) ------------------------------------------------------------------

@pytest.mark.grades("FullyConnectedNet.loss")
@pytest.mark.parametrize("loss", ["softmax", "bce", "mse"])
def test_fc_outputs(fc, loss):
    rng = np.random.default_rng(21)
    params = random_params(rng, loss)
    X = rng.standard_normal((N, D))
    expected = forward_definition(params, X, loss)
    name = {"softmax": "scores", "bce": "probs", "mse": "predictions"}[loss]
    expect(check_close("FullyConnectedNet.loss", f"{name} {expected.shape} from loss(X) "
                       f"(loss={loss!r}, hidden_dims={HIDDEN})",
                       model_with(fc, params, loss).loss(X), expected))


@pytest.mark.grades("FullyConnectedNet.loss")
@pytest.mark.parametrize("loss", ["softmax", "bce", "mse"])
def test_fc_loss_value_with_regularization(fc, loss):
    rng = np.random.default_rng(22)
    params = random_params(rng, loss)
    X, y = rng.standard_normal((N, D)), targets(rng, loss)
    value, _ = loss_and_grads(model_with(fc, params, loss, REG), X, y)
    expected = loss_definition(params, X, y, REG, loss)
    penalty = 0.5 * REG * sum(float(np.sum(v ** 2)) for k, v in params.items() if k[0] == "W")
    biases = 0.5 * REG * sum(float(np.sum(v ** 2)) for k, v in params.items() if k[0] == "b")
    last = 0.5 * REG * float(np.sum(params[f"W{len(HIDDEN) + 1}"] ** 2))
    expect(check_close("FullyConnectedNet.loss", f"loss (loss={loss!r}, reg={REG}, three "
                       f"layers)", value, expected,
                       known_mistakes={"the regularization term is missing": expected - penalty,
                                       "the regularization term lacks the factor 0.5":
                                       expected + penalty,
                                       "the biases are regularized too": expected + biases,
                                       "only the last layer's weights are regularized":
                                       expected - penalty + last}))


def check_gradients(fc, loss, hidden, seed):
    rng = np.random.default_rng(seed)
    params = random_params(rng, loss, hidden)  # nonzero biases: their gradients count
    X, y = rng.standard_normal((N, D)), targets(rng, loss)
    _, grads = loss_and_grads(model_with(fc, params, loss, REG), X, y)
    expect(None if isinstance(grads, dict) else
           f"FullyConnectedNet.loss: grads is a {type(grads).__name__}, expected a dict with "
           f"the keys of params.")
    where = f"loss={loss!r}, hidden_dims={hidden}, reg={REG}"
    for name, param in params.items():
        expect(None if name in grads else
               f"FullyConnectedNet.loss: grads has no {name!r} ({where}), expected the keys "
               f"of params.")
        expected = numeric_gradient(lambda _: loss_definition(params, X, y, REG, loss), param)
        mistakes = ({"the regularization gradient reg * W is missing": expected - REG * param}
                    if name.startswith("W") else None)
        expect(check_close("FullyConnectedNet.loss", f"grads[{name!r}] {param.shape} ({where})",
                           grads[name], expected, what="the numeric gradient",
                           known_mistakes=mistakes))


@pytest.mark.grades("FullyConnectedNet.loss")
@pytest.mark.parametrize("loss, hidden", [("softmax", HIDDEN), ("bce", HIDDEN),
                                          ("softmax", [4, 3, 3]), ("softmax", [])])
def test_fc_gradients_match_numeric(fc, loss, hidden):
    check_gradients(fc, loss, hidden, seed=7)


@pytest.mark.grades("FullyConnectedNet.loss")
def test_fc_regression_gradients_match_numeric(fc):
    check_gradients(fc, "mse", HIDDEN, seed=8)


@pytest.mark.grades("FullyConnectedNet.loss")
def test_fc_loss_is_as_fast_as_backprop(fc):
    n, d, hidden, classes = 64, 128, [128, 128], 10
    rng = np.random.default_rng(11)
    dims = [d, *hidden, classes]
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = np.sqrt(2 / dims[i - 1]) * rng.standard_normal((dims[i - 1], dims[i]))
        params[f"b{i}"] = np.zeros(dims[i])
    X, y = rng.standard_normal((n, d)), rng.integers(0, classes, size=n)
    model = fc.FullyConnectedNet(d, hidden, classes, reg=0.1)
    for name, value in params.items():
        model.params[name] = value.copy()
    check_loss_time("FullyConnectedNet.loss", model, X, y,
                    lambda: forward_definition(params, X, "softmax"),
                    f"D={d}, hidden_dims={hidden}")


# --- predict --------------------------------------------------------------------------

@pytest.mark.grades("FullyConnectedNet.predict")
@pytest.mark.parametrize("loss", ["softmax", "bce", "mse"])
def test_fc_predict(fc, loss):
    rng = np.random.default_rng(31)
    params = random_params(rng, loss)
    X = rng.standard_normal((8, D))
    out = forward_definition(params, X, loss)
    pred = model_with(fc, params, loss).predict(X)
    if loss == "mse":
        expect(check_close("FullyConnectedNet.predict", f"predictions {out.shape} (loss='mse')",
                           pred, out))
        return
    expected = (out >= 0.5).astype(np.int64) if loss == "bce" else np.argmax(out, axis=1)
    expect(check_array("FullyConnectedNet.predict", f"y_pred (loss={loss!r})", pred,
                       expected.shape))
    wrong = np.flatnonzero(np.asarray(pred, dtype=np.float64) != expected)
    expect(None if not wrong.size else
           f"FullyConnectedNet.predict: {wrong.size} of {expected.size} labels are wrong "
           f"(loss={loss!r}): predict the class with the highest score, or 1 where the "
           f"probability is at least 0.5.")


# --- can it learn? -----------------------------------------------------------------------

@pytest.mark.grades("FullyConnectedNet")
def test_fc_overfits_20_points(fc):
    """Full-batch gradient descent from the net's own initialization fits 20 points."""
    steps, learning_rate = 40, 0.5
    rng = np.random.default_rng(41)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    model = fc.FullyConnectedNet(5, [30, 30], 3, seed=0)
    for _ in range(steps):
        _, grads = loss_and_grads(model, X, y)
        for name in model.params:
            model.params[name] = model.params[name] - learning_rate * grads[name]
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.params.items()}
    accuracy = float(np.mean(np.argmax(forward_definition(params, X, "softmax"), 1) == y))
    expect(None if accuracy == 1.0 else
           f"FullyConnectedNet: after {steps} full-batch gradient steps (learning rate "
           f"{learning_rate}) from its own initialization (seed=0), a net with hidden_dims="
           f"[30, 30] classifies {accuracy:.0%} of 20 training points right, expected 100%: "
           f"check the initialization scale and the gradients.")
