"""Local tests for two_layer_net.py. Run ``pytest`` in this folder.

Write and test layers.py first: the net is built from those layers.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from feedback import check_array, check_close, check_unchanged
from gradient_check import numeric_gradient
from two_layer_net import TwoLayerNet, train

N, D, H, C = 5, 3, 4, 3
HERE = Path(__file__).resolve().parent


def expect(*messages):
    """Fail with the first message that is not None."""
    for message in messages:
        if message:
            pytest.fail(message, pytrace=False)


def fixed_net(loss="softmax", reg=0.1):
    """A net with known parameters (D=3, H=4), nonzero biases included."""
    out = 1 if loss == "bce" else C
    model = TwoLayerNet(D, H, 2 if loss == "bce" else C, reg=reg, loss=loss)
    model.params["W1"] = np.linspace(-0.7, 0.5, D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.1, H)
    model.params["W2"] = np.linspace(-0.4, 0.6, H * out).reshape(H, out)
    model.params["b2"] = np.array([0.1, -0.2, 0.05])[:out]
    return model


X_FIXED = np.linspace(-1, 1, N * D).reshape(N, D)
Y_SOFTMAX = np.array([0, 1, 2, 1, 0])
Y_BCE = np.array([0, 1, 1, 0, 1])


@pytest.mark.parametrize("loss, shapes", [
    ("softmax", {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}),
    ("bce", {"W1": (D, H), "b1": (H,), "W2": (H, 1), "b2": (1,)}),
])
def test_init_parameter_shapes(loss, shapes):
    model = TwoLayerNet(D, H, 2 if loss == "bce" else C, loss=loss, seed=0)
    for name, shape in shapes.items():
        expect(None if name in model.params else
               f"TwoLayerNet: params has no {name!r}, expected keys {sorted(shapes)} "
               f"(loss={loss!r}).")
        expect(check_array("TwoLayerNet.__init__", f"params[{name!r}]", model.params[name], shape))
    expect(None if np.all(model.params["b1"] == 0) and np.all(model.params["b2"] == 0) else
           "TwoLayerNet.__init__: biases b1 and b2 should start at zero.")
    again = TwoLayerNet(D, H, 2 if loss == "bce" else C, loss=loss, seed=0)
    expect(None if np.array_equal(model.params["W1"], again.params["W1"]) else
           "TwoLayerNet.__init__: two nets built with the same seed have different W1; "
           "draw with np.random.default_rng(seed).")


def test_softmax_scores():
    scores = fixed_net().loss(X_FIXED)
    expected = np.array([
        [-0.17773317591499418, -0.3388902007083825, 0.04995277449822904],
        [0.00885478158205426, -0.19905548996458095, 0.14303423848878388],
        [0.1954427390791027, -0.05922077922077923, 0.23611570247933883],
        [0.2426524990161354, -0.02043290043290041, 0.26648170011806377],
        [0.26836678473042114, 0.00740653286107837, 0.2964462809917356],
    ])
    expect(check_close("TwoLayerNet.loss", f"scores {(N, C)} (y=None)", scores, expected))


def test_bce_probabilities():
    probs = fixed_net("bce").loss(X_FIXED)
    expected = np.array([0.4740996826022417, 0.5196507676786712, 0.5648774872536125,
                         0.5769944456629836, 0.585150633198118])
    expect(check_close("TwoLayerNet.loss", f"probs {(N,)} (y=None, loss='bce')", probs, expected))


@pytest.mark.parametrize("loss, y, expected", [
    ("softmax", Y_SOFTMAX, 1.3040854249797584),
    ("bce", Y_BCE, 0.7737975344731718),
])
def test_loss_value_with_regularization(loss, y, expected):
    model = fixed_net(loss, reg=0.1)
    result = model.loss(X_FIXED, y)
    expect(None if isinstance(result, tuple) and len(result) == 2 else
           f"TwoLayerNet.loss: with labels it returned {type(result).__name__}, "
           f"expected a tuple (loss, grads).")
    penalty = 0.5 * 0.1 * (np.sum(model.params["W1"] ** 2) + np.sum(model.params["W2"] ** 2))
    expect(check_close("TwoLayerNet.loss", f"loss (loss={loss!r}, reg=0.1)", result[0], expected,
                       known_mistakes={"the regularization term is missing": expected - penalty,
                                       "the regularization term lacks the factor 0.5":
                                       expected + penalty,
                                       "the biases are regularized too": expected + 0.05 * (
                                           np.sum(model.params["b1"] ** 2)
                                           + np.sum(model.params["b2"] ** 2))}))


@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_gradients_match_numeric(loss):
    rng = np.random.default_rng(7)
    model = TwoLayerNet(D, H, 2 if loss == "bce" else C, reg=0.3, loss=loss, seed=1,
                        weight_scale=0.5)
    for name in ("b1", "b2"):  # nonzero biases, so their gradients are exercised
        model.params[name] = rng.uniform(0.2, 0.5, size=model.params[name].shape)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, 2 if loss == "bce" else C, size=N)
    _, grads = model.loss(X, y)
    for name in ("W1", "b1", "W2", "b2"):
        expect(None if name in grads else
               f"TwoLayerNet.loss: grads has no {name!r}, expected the keys of params.")
        param = model.params[name]
        expected = numeric_gradient(lambda _: model.loss(X, y)[0], param)
        mistakes = {}
        if name.startswith("W"):
            mistakes = {"the regularization gradient reg * W is missing": expected - 0.3 * param,
                        "the regularization gradient is 2 * reg * W, not reg * W":
                        expected + 0.3 * param}
        expect(check_close("TwoLayerNet.loss", f"grads[{name!r}] {param.shape} "
                           f"(loss={loss!r}, reg=0.3)", grads[name], expected,
                           what="the numeric gradient", known_mistakes=mistakes))


@pytest.mark.parametrize("loss, classes", [("softmax", 10), ("bce", 2)])
def test_initial_loss_is_log_C(loss, classes):
    rng = np.random.default_rng(3)
    model = TwoLayerNet(20, 30, classes, weight_scale=1e-3, loss=loss, seed=0)
    X = rng.standard_normal((100, 20))
    y = rng.integers(0, classes, size=100)
    value, _ = model.loss(X, y)
    expect(check_close("TwoLayerNet.loss", f"initial loss (loss={loss!r}, weights ~ 1e-3)",
                       value, np.log(classes), what=f"log(C) = log({classes})", tol=1e-3))


@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_predict(loss):
    model = fixed_net(loss)
    pred = model.predict(X_FIXED)
    expect(check_array("TwoLayerNet.predict", "y_pred", pred, (N,)))
    expect(None if np.issubdtype(np.asarray(pred).dtype, np.integer) else
           f"TwoLayerNet.predict: y_pred has dtype {np.asarray(pred).dtype}, expected integers.")
    out = model.loss(X_FIXED)
    expected = (out >= 0.5).astype(int) if loss == "bce" else np.argmax(out, axis=1)
    expect(None if np.array_equal(pred, expected) else
           f"TwoLayerNet.predict: got {np.asarray(pred).tolist()}, expected "
           f"{expected.tolist()} (the class with the highest score or probability).")


def load_local_moons():
    data = np.load(HERE / "local_moons.npz", allow_pickle=False)
    config = json.loads(str(data["config"]))
    return data, config


def test_train_history_and_determinism():
    data, config = load_local_moons()
    X, y = data["X_train"][:100], data["y_train"][:100]
    X_before = X.copy()

    def run():
        model = TwoLayerNet(X.shape[1], 8, 2, seed=0)
        history = train(model, X, y, X, y, learning_rate=0.1, num_epochs=3, batch_size=32, seed=0)
        return model, history

    model, history = run()
    expect(None if isinstance(history, dict) else
           f"train: returned {type(history).__name__}, expected a dict history.")
    steps = 3 * int(np.ceil(100 / 32))
    for key, length in (("loss", steps), ("train_acc", 3), ("val_acc", 3)):
        got = len(history.get(key, []))
        expect(None if got == length else
               f"train: history[{key!r}] has {got} entries, expected {length} "
               f"(3 epochs of 100 examples in batches of 32: {steps} steps).")
    expect(check_unchanged("train", "X", X_before, X))
    again, _ = run()
    expect(None if np.array_equal(model.params["W1"], again.params["W1"]) else
           "train: two runs with the same seeds give different weights; shuffle with "
           "np.random.default_rng(seed).")


def test_train_reaches_threshold_on_moons():
    data, config = load_local_moons()
    hp = config["hyperparameters"]
    model = TwoLayerNet(data["X_train"].shape[1], hp["hidden_dim"], config["n_classes"],
                        weight_scale=hp["weight_scale"], reg=hp["reg"], loss=hp["loss"],
                        seed=hp["init_seed"])
    history = train(model, data["X_train"], data["y_train"], data["X_val"], data["y_val"],
                    learning_rate=hp["learning_rate"], num_epochs=hp["num_epochs"],
                    batch_size=hp["batch_size"], lr_decay=hp["lr_decay"], seed=hp["shuffle_seed"])
    accuracy = float(np.mean(model.predict(data["X_val"]) == data["y_val"]))
    losses = history["loss"]
    expect(None if accuracy >= config["threshold"] else
           f"train: validation accuracy on moons is {accuracy:.3f}, expected at least "
           f"{config['threshold']:.3f}; the loss went from {losses[0]:.3f} to {losses[-1]:.3f} "
           f"(check the ReLU and the parameter updates params -= learning_rate * grads).")
