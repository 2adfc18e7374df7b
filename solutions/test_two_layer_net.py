"""Local tests for two_layer_net.py. Run ``pytest`` in this folder.

Write and test layers.py first: the net is built from those layers. As in the
autograder, one bug costs one function: while a layer function fails its own
tests (in test_layers.py), the net's tests use a stand-in for it (and for its
forward or backward partner), and say so in a warning. The stand-ins compute
each layer from its definition and each gradient numerically: slow, but right.

Each test's ``grades`` mark names the function it judges; every test has a
time limit (60 s; 120 s for training on moons).
"""

import importlib
import json
import sys
import types
import warnings
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter

import numpy as np
import pytest
from feedback import TimeLimitExceeded, check_array, check_close, check_imports, time_limit
from gradient_check import numeric_gradient

N, D, H, C = 5, 3, 4, 3
HERE = Path(__file__).resolve().parent
TEST_SECONDS = 60
NET_FUNCTIONS = ("TwoLayerNet.__init__", "TwoLayerNet.loss", "TwoLayerNet.predict", "train")
LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss",
                   "mse_loss")
# A backward only understands its own forward's cache: they are replaced together.
PARTNERS = {"affine_forward": "affine_backward", "affine_backward": "affine_forward",
            "relu_forward": "relu_backward", "relu_backward": "relu_forward",
            "sigmoid_forward": "sigmoid_backward", "sigmoid_backward": "sigmoid_forward"}
COST_FACTOR, COST_FLOOR, COST_CAP = 50, 1.0, 10.0


@pytest.fixture(autouse=True)
def time_limit_per_test(request):
    marker = request.node.get_closest_marker("time_limit")
    seconds = marker.args[0] if marker else TEST_SECONDS
    with time_limit(seconds, f"{request.node.name} took more than {seconds} s: is there an "
                             f"endless loop?"):
        yield


def expect(*messages):
    """Fail with the first message that is not None."""
    for message in messages:
        if message:
            pytest.fail(message, pytrace=False)


# --- the layers, losses and net, as their docstrings define them ----------------
#
# In float64, for inputs of moderate size. The gradient tests compare with
# numeric gradients of net_loss_definition; the stand-ins for layer functions
# that fail their own tests compute each gradient numerically.

def affine_definition(x, w, b):
    return x @ w + b


def relu_definition(x):
    return np.where(x > 0, x, 0.0)


def sigmoid_definition(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax_loss_definition(scores, y):
    return float(np.mean(np.log(np.sum(np.exp(scores), axis=1))
                         - scores[np.arange(len(y)), y]))


def bce_terms(probs, y):
    """The examples' shares of the mean binary cross-entropy (probs clipped as documented)."""
    p = np.clip(probs, 1e-12, 1.0 - 1e-12)
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)) / len(y)


def net_loss_definition(params, X, y, reg, loss):
    """TwoLayerNet.loss(X, y)[0] for ``params``, by the definitions."""
    hidden = relu_definition(affine_definition(X, params["W1"], params["b1"]))
    scores = affine_definition(hidden, params["W2"], params["b2"])
    data = (float(np.sum(bce_terms(sigmoid_definition(scores[:, 0]), y))) if loss == "bce"
            else softmax_loss_definition(scores, y))
    return data + 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))


def skipped_sigmoid_gradient(params, X, y, name):
    """The data gradient of params[name] if dprobs reached the scores without the sigmoid's
    derivative: the numeric gradient of sum(dprobs * scores) with dprobs held fixed."""
    def scores(p):
        return affine_definition(relu_definition(affine_definition(X, p["W1"], p["b1"])),
                                 p["W2"], p["b2"])[:, 0]
    probs = np.clip(sigmoid_definition(scores(params)), 1e-12, 1 - 1e-12)
    dprobs = _slope(lambda p: bce_terms(p, y), probs, 1e-8)
    return numeric_gradient(lambda _: float(np.sum(dprobs * scores(params))), params[name])


# Stand-ins: each forward by its definition, each gradient by centered
# differences. TIMING (for the timing tests only) makes their gradients zeros:
# fast, and of the right shape.

TIMING = False


def _slope(f, x, h=1e-6):
    """The derivative of an elementwise function at every entry of x."""
    x = np.asarray(x, dtype=np.float64)
    return (f(x + h) - f(x - h)) / (2.0 * h)


def stand_in_affine_forward(x, w, b):
    return affine_definition(x, w, b), (x, w, b)


def stand_in_affine_backward(dout, cache):
    inputs = [np.asarray(a, dtype=np.float64) for a in cache]
    if TIMING:
        return tuple(np.zeros_like(a) for a in inputs)

    x, w, b = inputs
    dout = np.asarray(dout, dtype=np.float64)
    h = 1e-5

    def moved(step_x=0.0, step_w=0.0, step_b=0.0):
        """sum over the other axis of d(out)/d(step) * dout, by a centered difference."""
        plus = affine_definition(x + step_x, w + step_w, b + step_b)
        minus = affine_definition(x - step_x, w - step_w, b - step_b)
        return (plus - minus) / (2 * h) * dout
    # Out's row n depends on x's row n only, and its column m on w's and b's column m
    # only: one column of x (one row of w, all of b) moved at once gives many entries of
    # the gradient in one difference, by centered differences all the same.
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for d in range(x.shape[1]):
        column = np.zeros_like(x)
        column[:, d] = h
        dx[:, d] = moved(step_x=column).sum(axis=1)
        row = np.zeros_like(w)
        row[d, :] = h
        dw[d, :] = moved(step_w=row).sum(axis=0)
    return dx, dw, moved(step_b=np.full_like(b, h)).sum(axis=0)


def stand_in_relu_forward(x):
    return relu_definition(x), x


def stand_in_relu_backward(dout, x):
    return np.zeros_like(dout) if TIMING else dout * _slope(relu_definition, x)


def stand_in_sigmoid_forward(x):
    return sigmoid_definition(x), x


def stand_in_sigmoid_backward(dout, x):
    return np.zeros_like(dout) if TIMING else dout * _slope(sigmoid_definition, x)


def stand_in_softmax_loss(scores, y):
    scores = np.asarray(scores, dtype=np.float64)
    grad = (np.zeros_like(scores) if TIMING else
            numeric_gradient(lambda s: softmax_loss_definition(s, y), scores.copy()))
    return softmax_loss_definition(scores, y), grad


def stand_in_bce_loss(probs, y):
    probs = np.asarray(probs, dtype=np.float64)
    grad = np.zeros_like(probs) if TIMING else _slope(lambda p: bce_terms(p, y), probs, 1e-8)
    return float(np.sum(bce_terms(probs, y))), grad


def stand_in_mse_loss(preds, y):
    preds, y = np.asarray(preds, dtype=np.float64), np.asarray(y, dtype=np.float64)
    terms = lambda p: (p - y) ** 2 / len(preds)  # noqa: E731 - each entry's share
    grad = np.zeros_like(preds) if TIMING else _slope(terms, preds)
    return float(np.sum(terms(preds))), grad


STAND_INS = {name: globals()[f"stand_in_{name}"] for name in LAYER_FUNCTIONS}


def passes(test, seconds):
    """Whether ``test`` passes (run here, within ``seconds``)."""
    limit = time_limit(seconds, "")
    try:
        with limit:
            test()
        return True
    except TimeLimitExceeded:
        if not limit.expired:
            raise
        return False
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: B036 - pytest's failures and sys.exit() count as failing
        return False


def failing_layer_functions(outcomes):
    """The layer functions that fail their tests in test_layers.py, and whether layers.py
    cannot be used at all. When every one of those tests already ran in this session
    (``outcomes``: a full run runs the layers first), their verdicts count, as the
    autograder takes each layer's verdict from its own checks; otherwise they run here."""
    if check_imports(HERE / "layers.py"):
        return set(LAYER_FUNCTIONS), True
    try:
        with time_limit(TEST_SECONDS, "importing layers.py took too long"):
            test_layers = importlib.import_module("test_layers")
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: B036 - layers.py cannot be imported
        return set(LAYER_FUNCTIONS), True
    graded = {name: set(marks[0].args) for name, test in vars(test_layers).items()
              if name.startswith("test_")
              and (marks := [m for m in getattr(test, "pytestmark", []) if m.name == "grades"])}
    ran = {name: outcomes.get(f"test_layers.py::{name}") for name in graded}
    if all(passed is not None for passed in ran.values()):
        return {f for name, passed in ran.items() if not passed for f in graded[name]}, False
    failing = set()
    for name, functions in graded.items():
        if not functions <= failing and not passes(getattr(test_layers, name), TEST_SECONDS):
            failing |= functions
    return failing, False


def _own_modules():
    """Names of the loaded modules that are files of this folder, tests and helpers aside."""
    keep = {"test_layers", "test_two_layer_net", "test_fc_net", "feedback", "gradient_check",
            "conftest", "local_checks"}
    found = {"layers", "two_layer_net", "fc_net"} & set(sys.modules)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and name not in keep and Path(file).resolve().parent == HERE:
            found.add(name)
    return found


def load_own_module(module, replaced, unusable):
    """``module`` (two_layer_net or fc_net), imported with ``replaced`` layer functions
    taken from the stand-ins (``unusable``: layers.py itself is not imported), as the
    autograder imports it."""
    problem = check_imports(HERE / f"{module}.py", exclude=("layers", "two_layer_net"))
    if problem:
        raise ImportError(problem + ".")
    with time_limit(TEST_SECONDS, f"importing {module}.py took too long"):
        if not replaced:
            return importlib.import_module(module)
        saved = {name: sys.modules.pop(name) for name in _own_modules()}
        try:
            layers = (types.ModuleType("layers") if unusable else
                      importlib.import_module("layers"))
            for name in replaced:
                setattr(layers, name, STAND_INS[name])
            sys.modules["layers"] = layers
            return importlib.import_module(module)
        finally:  # the fresh copies stay with the module returned, not in sys.modules
            for name in _own_modules():
                del sys.modules[name]
            sys.modules.update(saved)


def replaced_layers(subject, outcomes):
    """The layer functions to take from the stand-ins, with a warning naming them."""
    failing, unusable = failing_layer_functions(outcomes)
    replaced = sorted({name for f in failing for name in (f, PARTNERS.get(f, f))}
                      & set(STAND_INS))  # affine_jacobians: no net uses it
    if replaced:
        warnings.warn(f"layers.py: {', '.join(sorted(failing))} "
                      f"{'fails its' if len(failing) == 1 else 'fail their'} tests, so "
                      f"{subject}'s "
                      f"tests use stand-ins for {', '.join(replaced)} (as the autograder uses "
                      f"its reference): fix layers.py and run the tests again.", stacklevel=1)
    return replaced, unusable


@pytest.fixture(scope="module")
def net(test_outcomes):
    """The two_layer_net module the tests judge (see the module docstring)."""
    return load_own_module("two_layer_net", *replaced_layers("TwoLayerNet", test_outcomes))


@contextmanager
def timing_stand_ins():
    """Stand-in gradients are zeros inside (fast, when only values or time count)."""
    global TIMING
    TIMING = True
    try:
        yield
    finally:
        TIMING = False


# --- fixed nets -------------------------------------------------------------------

def fixed_net(net, loss="softmax", reg=0.1):
    """A net with known parameters (D=3, H=4), nonzero biases included."""
    out = 1 if loss == "bce" else C
    model = net.TwoLayerNet(D, H, 2 if loss == "bce" else C, reg=reg, loss=loss)
    model.params["W1"] = np.linspace(-0.7, 0.5, D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.1, H)
    model.params["W2"] = np.linspace(-0.4, 0.6, H * out).reshape(H, out)
    model.params["b2"] = np.array([0.1, -0.2, 0.05])[:out]
    return model


X_FIXED = np.linspace(-1, 1, N * D).reshape(N, D)
Y_SOFTMAX = np.array([0, 1, 2, 1, 0])
Y_BCE = np.array([0, 1, 1, 0, 1])


def set_params(model, params):
    for name, value in params.items():
        model.params[name] = value.copy()


def random_params(rng, loss, d=D, h=H, classes=C):
    """Parameters with every entry well away from zero, biases included."""
    out = 1 if loss == "bce" else classes
    shapes = {"W1": (d, h), "b1": (h,), "W2": (h, out), "b2": (out,)}
    return {name: rng.uniform(0.2, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
            for name, shape in shapes.items()}


# --- the import rule ----------------------------------------------------------------

@pytest.mark.grades(*NET_FUNCTIONS)
def test_two_layer_net_imports_only_numpy_and_the_standard_library():
    expect(check_imports(HERE / "two_layer_net.py", exclude=("layers",)))


# --- __init__ ---------------------------------------------------------------------

INIT_D, INIT_H, INIT_C = 200, 100, 10
INIT_HINT = ("initialization: with weight_scale=None draw W1 with standard deviation "
             "sqrt(2 / D) and W2 with sqrt(2 / H) (He: sqrt(2 / fan_in)), otherwise with "
             "standard deviation weight_scale")


def init_params(net, loss, **kwargs):
    classes = INIT_C if loss == "softmax" else 2
    out = 1 if loss == "bce" else classes
    model = net.TwoLayerNet(INIT_D, INIT_H, classes, loss=loss, **kwargs)
    expect(None if isinstance(getattr(model, "params", None), dict) else
           f"TwoLayerNet.__init__: params is {type(getattr(model, 'params', None)).__name__}, "
           f"expected a dict of arrays.")
    shapes = {"W1": (INIT_D, INIT_H), "b1": (INIT_H,), "W2": (INIT_H, out), "b2": (out,)}
    for name, shape in shapes.items():
        expect(None if name in model.params else
               f"TwoLayerNet.__init__: params has no {name!r} (loss={loss!r}); expected keys "
               f"W1, b1, W2, b2.")
        expect(check_array("TwoLayerNet.__init__", f"params[{name!r}] (D={INIT_D}, H={INIT_H}, "
                           f"loss={loss!r})", model.params[name], shape))
    return {name: np.asarray(model.params[name], dtype=np.float64) for name in shapes}


@pytest.mark.grades("TwoLayerNet.__init__")
@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_init_parameter_shapes(net, loss):
    params = init_params(net, loss, seed=3)
    again = init_params(net, loss, seed=3)
    expect(None if all(np.array_equal(params[k], again[k]) for k in params) else
           "TwoLayerNet.__init__: two nets built with the same seed start with different "
           "parameters; draw them with np.random.default_rng(seed).")
    expect(None if not (np.any(params["b1"]) or np.any(params["b2"])) else
           "TwoLayerNet.__init__: the biases b1 and b2 must start at zero.")


@pytest.mark.grades("TwoLayerNet.__init__")
def test_init_weight_scale(net):
    for setting, kwargs, targets, low, high in (
            ("weight_scale=None", {}, {"W1": np.sqrt(2 / INIT_D), "W2": np.sqrt(2 / INIT_H)},
             0.5, 2.0),
            ("weight_scale=0.05", {"weight_scale": 0.05}, {"W1": 0.05, "W2": 0.05}, 0.75, 1.25)):
        params = init_params(net, "softmax", seed=5, **kwargs)
        for name, target in targets.items():
            std = float(np.std(params[name]))
            expect(None if low * target <= std <= high * target else
                   f"TwoLayerNet.__init__: with {setting} {name} has standard deviation "
                   f"{std:.3g}, expected about {target:.3g}; check the {INIT_HINT}.")


# --- loss(X) and loss(X, y) ----------------------------------------------------------

@pytest.mark.grades("TwoLayerNet.loss")
def test_softmax_scores(net):
    scores = fixed_net(net).loss(X_FIXED)
    expected = np.array([
        [-0.17773317591499418, -0.3388902007083825, 0.04995277449822904],
        [0.00885478158205426, -0.19905548996458095, 0.14303423848878388],
        [0.1954427390791027, -0.05922077922077923, 0.23611570247933883],
        [0.2426524990161354, -0.02043290043290041, 0.26648170011806377],
        [0.26836678473042114, 0.00740653286107837, 0.2964462809917356],
    ])
    expect(check_close("TwoLayerNet.loss", f"scores {(N, C)} (y=None)", scores, expected))


@pytest.mark.grades("TwoLayerNet.loss")
def test_bce_probabilities(net):
    probs = fixed_net(net, "bce").loss(X_FIXED)
    expected = np.array([0.4740996826022417, 0.5196507676786712, 0.5648774872536125,
                         0.5769944456629836, 0.585150633198118])
    expect(check_close("TwoLayerNet.loss", f"probs {(N,)} (y=None, loss='bce')", probs, expected))


@pytest.mark.grades("TwoLayerNet.loss")
@pytest.mark.parametrize("loss, y, expected", [
    ("softmax", Y_SOFTMAX, 1.3040854249797584),
    ("bce", Y_BCE, 0.7737975344731718),
])
def test_loss_value_with_regularization(net, loss, y, expected):
    model = fixed_net(net, loss, reg=0.1)
    result = model.loss(X_FIXED, y)
    expect(None if isinstance(result, (tuple, list)) and len(result) == 2 else
           f"TwoLayerNet.loss: with labels it returned {type(result).__name__}, "
           f"expected a tuple (loss, grads).")
    p = model.params
    penalty = 0.5 * 0.1 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    expect(check_close("TwoLayerNet.loss", f"loss (loss={loss!r}, reg=0.1)", result[0], expected,
                       known_mistakes={
                           "the regularization term is missing": expected - penalty,
                           "the regularization term lacks the factor 0.5": expected + penalty,
                           "the biases are regularized too": expected + 0.05 * (
                               np.sum(p["b1"] ** 2) + np.sum(p["b2"] ** 2)),
                           "the data loss is summed over the batch instead of averaged "
                           "(missing 1/N)": (expected - penalty) * N + penalty}))


@pytest.mark.grades("TwoLayerNet.loss")
@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_gradients_match_numeric(net, loss):
    rng = np.random.default_rng(7)
    params = random_params(rng, loss)  # nonzero biases: their gradients count
    model = net.TwoLayerNet(D, H, 2 if loss == "bce" else C, reg=0.3, loss=loss)
    set_params(model, params)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, 2 if loss == "bce" else C, size=N)
    result = model.loss(X, y)
    expect(None if isinstance(result, (tuple, list)) and len(result) == 2 else
           f"TwoLayerNet.loss: with labels it returned {type(result).__name__}, "
           f"expected a tuple (loss, grads).")
    grads = result[1]
    expect(None if isinstance(grads, dict) else
           f"TwoLayerNet.loss: grads is a {type(grads).__name__}, expected a dict with the "
           f"keys of params.")
    for name in ("W1", "b1", "W2", "b2"):
        expect(None if name in grads else
               f"TwoLayerNet.loss: grads has no {name!r}, expected the keys of params "
               f"(loss={loss!r}).")
        param = params[name]
        expected = numeric_gradient(lambda _: net_loss_definition(params, X, y, 0.3, loss), param)
        penalty = 0.3 * param if name.startswith("W") else 0.0
        data = expected - penalty
        mistakes = {"the data gradient is not divided by N (a summed loss)": data * N + penalty,
                    "the data gradient is divided by N twice": data / N + penalty}
        if loss == "bce":
            mistakes["dprobs goes to the last affine layer without sigmoid_backward"] = \
                skipped_sigmoid_gradient(params, X, y, name) + penalty
        if name.startswith("W"):
            mistakes.update({"the regularization gradient reg * W is missing": data,
                             "the regularization gradient is 2 * reg * W, not reg * W":
                             expected + penalty})
        expect(check_close("TwoLayerNet.loss", f"grads[{name!r}] {param.shape} "
                           f"(loss={loss!r}, reg=0.3)", grads[name], expected,
                           what="the numeric gradient", known_mistakes=mistakes))


@pytest.mark.grades("TwoLayerNet.loss")
@pytest.mark.parametrize("loss, classes", [("softmax", 10), ("bce", 2)])
def test_initial_loss_is_log_C(net, loss, classes):
    rng = np.random.default_rng(3)
    model = net.TwoLayerNet(20, 30, classes, loss=loss)
    out = 1 if loss == "bce" else classes
    set_params(model, {"W1": 1e-3 * rng.standard_normal((20, 30)), "b1": np.zeros(30),
                       "W2": 1e-3 * rng.standard_normal((30, out)), "b2": np.zeros(out)})
    X = rng.standard_normal((100, 20))
    y = rng.integers(0, classes, size=100)
    result = model.loss(X, y)
    expect(None if isinstance(result, (tuple, list)) and len(result) == 2 else
           f"TwoLayerNet.loss: with labels it returned {type(result).__name__}, "
           f"expected a tuple (loss, grads).")
    expect(check_close("TwoLayerNet.loss", f"initial loss (loss={loss!r}, weights of scale "
                       f"1e-3)", result[0], np.log(classes), what=f"log(C) = log({classes})",
                       tol=1e-3))


@pytest.mark.grades("TwoLayerNet.loss")
@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_loss_is_as_fast_as_backprop(net, loss):
    n, d, h, classes = 64, 256, 256, (10 if loss == "softmax" else 2)
    rng = np.random.default_rng(11)
    out = 1 if loss == "bce" else classes
    params = {"W1": np.sqrt(2 / d) * rng.standard_normal((d, h)), "b1": np.zeros(h),
              "W2": np.sqrt(2 / h) * rng.standard_normal((h, out)), "b2": np.zeros(out)}
    X, y = rng.standard_normal((n, d)), rng.integers(0, classes, size=n)
    model = net.TwoLayerNet(d, h, classes, reg=0.1, loss=loss)
    set_params(model, params)

    def forward():
        hidden = relu_definition(affine_definition(X, params["W1"], params["b1"]))
        return affine_definition(hidden, params["W2"], params["b2"])
    check_loss_time("TwoLayerNet.loss", model, X, y, forward, f"D={d}, H={h}")


def check_loss_time(function, model, X, y, forward, size):
    """Fail unless model.loss(X, y) takes about what backprop takes: a small multiple of
    ``forward()``, a plain vectorized forward pass of the same net (``size`` describes it)."""
    best = min(_seconds(forward) for _ in range(3))
    usual = 3 * best  # about what forward and backward together take
    budget = min(max(COST_FACTOR * usual, COST_FLOOR), COST_CAP)
    limit = time_limit(budget, "")
    started = perf_counter()
    try:
        with limit, timing_stand_ins():
            model.loss(X, y)
    except TimeLimitExceeded:
        if not limit.expired:
            raise
    seconds = perf_counter() - started
    expect(None if seconds <= budget else
           f"{function}: backward must compute the gradient directly, not by numeric "
           f"differences: loss(X, y) of a net with {size} on {X.shape[0]} examples took more "
           f"than {budget:.1f} s, where backprop takes about {usual * 1e3:.0f} ms.")


def _seconds(function):
    started = perf_counter()
    function()
    return perf_counter() - started


# --- predict ----------------------------------------------------------------------

X_PREDICT = 2 * np.sin(3 * np.arange(8 * D) + 1).reshape(8, D)
LABELS = {"softmax": np.array([2, 2, 0, 2, 1, 2, 2, 2]), "bce": np.array([0, 1, 1, 0, 1, 0, 1, 0])}


@pytest.mark.grades("TwoLayerNet.predict")
@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_predict(net, loss):
    out = 1 if loss == "bce" else C
    model = net.TwoLayerNet(D, H, 2 if loss == "bce" else C, loss=loss)
    set_params(model, {"W1": np.sin(24 * np.arange(D * H) + 0.5).reshape(D, H),
                       "b1": 0.1 * np.cos(np.arange(H)),
                       "W2": np.cos(24 * np.arange(H * out) + 0.3).reshape(H, out),
                       "b2": 0.1 * np.sin(np.arange(out) + 1.0)})
    pred = model.predict(X_PREDICT)
    expected = LABELS[loss]
    expect(check_array("TwoLayerNet.predict", f"y_pred (loss={loss!r})", pred, expected.shape))
    pred = np.asarray(pred, dtype=np.float64)
    wrong = np.flatnonzero(pred != expected)
    expect(None if not wrong.size else
           f"TwoLayerNet.predict: {wrong.size} of {expected.size} labels are wrong "
           f"(loss={loss!r}); e.g. at index {wrong[0]} got {pred[wrong[0]]:g}, expected "
           f"{expected[wrong[0]]} (the class with the highest score, or 1 where the "
           f"probability is at least 0.5).")


# --- train --------------------------------------------------------------------------

class RecordingModel:
    """A model for train's tests, with a loss whose gradient is known, that records the
    examples of every batch: train is judged on its own, whatever TwoLayerNet does.
    loss = 0.5 * mean((X W + b - y)**2)."""

    def __init__(self, X):
        self.params = {"W": np.array([0.5, -0.3, 0.2]), "b": np.array([0.1])}
        self.rows = {row.tobytes(): i for i, row in enumerate(X)}
        self.steps = []  # the indices of the examples of each loss(X_batch, y_batch)

    def scores(self, X):
        return X @ self.params["W"] + self.params["b"][0]

    def loss(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        scores = self.scores(X)
        if y is None:
            return scores
        self.steps.append(np.array([self.rows.get(row.tobytes(), -1) for row in X]))
        return self._loss(self.params["W"], self.params["b"], X, y), {
            # By centered differences: exact for this quadratic up to rounding.
            "W": numeric_gradient(lambda w: self._loss(w, self.params["b"], X, y),
                                  self.params["W"].copy()),
            "b": numeric_gradient(lambda b: self._loss(self.params["W"], b, X, y),
                                  self.params["b"].copy())}

    @staticmethod
    def _loss(w, b, X, y):
        return float(0.5 * np.mean((X @ w + b[0] - y) ** 2))

    def predict(self, X):
        return (self.scores(X) >= 0.5).astype(np.int64)


# lr_decay 0.7, not 0.5: at 0.5, multiplying by 1 - lr_decay would look right.
SGD = {"learning_rate": 0.1, "num_epochs": 3, "batch_size": 16, "lr_decay": 0.7, "seed": 0}
SGD_N = 50
SHAPES = {"W": (3,), "b": (1,)}


def sgd_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((SGD_N, 3)), rng.integers(0, 2, size=SGD_N)


def run_train(net, validation=False):
    """(history, final params, the batches of its steps) of train on a RecordingModel."""
    X, y = sgd_data()
    model = RecordingModel(X)
    extra = (X[:10].copy(), y[:10].copy()) if validation else ()
    history = net.train(model, X.copy(), y.copy(), *extra, **SGD)
    params = getattr(model, "params", None)
    expect(None if isinstance(params, dict) else
           f"train: model.params is a {type(params).__name__} after training, expected a dict "
           f"of arrays.")
    for name, shape in SHAPES.items():
        value = params.get(name)
        expect(None if isinstance(value, np.ndarray) and value.shape == shape else
               f"train: model.params[{name!r}] is {type(value).__name__} after training, "
               f"expected an array of shape {shape}.")
        expect(None if np.all(np.isfinite(value)) else
               f"train: model.params[{name!r}] has non-finite entries after training (the "
               f"loss diverged?).")
    return history, {k: params[k].astype(np.float64) for k in SHAPES}, model.steps


def epochs_of(steps):
    """The steps grouped by epoch; fails unless each epoch visits every example once, in
    batches of batch_size (the last one smaller), in an order that changes."""
    n, size, epochs = SGD_N, SGD["batch_size"], SGD["num_epochs"]
    per_epoch = -(-n // size)
    setting = f"{epochs} epochs of {n} examples in batches of {size}: {epochs * per_epoch} steps"
    expect(None if len(steps) != epochs * (n // size) else
           f"train: made {len(steps)} steps ({setting}); likely mistake: the last, smaller "
           f"batch of each epoch is skipped.")
    expect(None if len(steps) == epochs * per_epoch else
           f"train: called model.loss(X_batch, y_batch) {len(steps)} times, expected "
           f"{epochs * per_epoch} ({setting}).")
    grouped = [steps[e * per_epoch:(e + 1) * per_epoch] for e in range(epochs)]
    for number, batches in enumerate(grouped, 1):
        sizes = [len(b) for b in batches]
        expected = [size] * (n // size) + ([n % size] if n % size else [])
        expect(None if sizes == expected and np.array_equal(np.sort(np.concatenate(batches)),
                                                            np.arange(n)) else
               f"train: epoch {number} does not walk through every training example exactly "
               f"once in batches of batch_size (batch sizes {sizes}, expected {expected}).")
    orders = [np.concatenate(batches) for batches in grouped]
    expect(None if not all(np.array_equal(order, np.arange(n)) for order in orders) else
           "train: the training set is never shuffled; draw a new order at the start of "
           "every epoch with rng = np.random.default_rng(seed).")
    expect(None if not all(np.array_equal(order, orders[0]) for order in orders) else
           "train: every epoch uses the same order; draw a new one at the start of every "
           "epoch.")
    return grouped


def replay(grouped, decay=True):
    """The parameters the documented SGD ends with, on the batches train chose."""
    X, y = sgd_data()
    model = RecordingModel(X)
    lr = SGD["learning_rate"]
    for batches in grouped:
        for batch in batches:
            _, grads = model.loss(X[batch], y[batch])
            for name in SHAPES:
                model.params[name] = model.params[name] - lr * grads[name]
        if decay:
            lr *= SGD["lr_decay"]
    return model.params


@pytest.mark.grades("train")
def test_train_follows_the_documented_sgd(net):
    _, final, steps = run_train(net)
    _, again, _ = run_train(net)
    expect(None if all(np.array_equal(final[k], again[k]) for k in SHAPES) else
           "train: two runs with the same seed end with different parameters; shuffle with "
           "rng = np.random.default_rng(seed), made once before the first epoch.")
    start = RecordingModel(sgd_data()[0]).params
    expect(None if not all(np.array_equal(final[k], start[k]) for k in SHAPES) else
           "train: model.params did not change: each step must update every parameter with "
           "-learning_rate times its gradient.")
    grouped = epochs_of(steps)
    expected, no_decay = replay(grouped), replay(grouped, decay=False)
    setting = (f"{SGD_N} examples, batch_size {SGD['batch_size']}, {SGD['num_epochs']} epochs, "
               f"lr_decay {SGD['lr_decay']}")
    expect(*(check_close("train", f"params[{name!r}] after training ({setting})", final[name],
                         expected[name], what="the documented minibatch SGD's on the same "
                         "batches", known_mistakes={"lr_decay is not applied after each epoch":
                                                    no_decay[name]})
             for name in SHAPES))


def history_entries(value):
    """How many entries a history list holds (whatever they are), or None."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return len(value)
    return None


@pytest.mark.grades("train")
def test_train_history_lengths(net):
    history, _, _ = run_train(net, validation=True)
    expect(None if isinstance(history, dict) else
           f"train: returned {type(history).__name__}, expected a dict history.")
    epochs = SGD["num_epochs"]
    steps = epochs * -(-SGD_N // SGD["batch_size"])
    for key, length in (("loss", steps), ("train_acc", epochs), ("val_acc", epochs)):
        got = history_entries(history.get(key))
        expect(None if got == length else
               f"train: history[{key!r}] has {got if got is not None else 'no'} entries, "
               f"expected {length} ({epochs} epochs of {SGD_N} examples in batches of "
               f"{SGD['batch_size']}: {steps} steps).")
        for index, entry in enumerate(history[key]):
            expect(None if isinstance(entry, (float, int, np.floating, np.integer)) or (
                isinstance(entry, np.ndarray) and entry.shape == ()) else
                f"train: history[{key!r}][{index}] is a {type(entry).__name__}"
                f"{f' of shape {entry.shape}' if isinstance(entry, np.ndarray) else ''}, "
                f"expected a float (float(loss), not the array).")


def load_local_moons():
    data = np.load(HERE / "local_moons.npz", allow_pickle=False)
    config = json.loads(str(data["config"]))
    return data, config


@pytest.mark.grades("train (held-out)")
@pytest.mark.time_limit(120)
def test_train_reaches_threshold_on_moons():
    """Your own net, layers and train end to end (no stand-ins here)."""
    own = importlib.import_module("two_layer_net")
    data, config = load_local_moons()
    hp = config["hyperparameters"]
    model = own.TwoLayerNet(data["X_train"].shape[1], hp["hidden_dim"], config["n_classes"],
                            weight_scale=hp["weight_scale"], reg=hp["reg"], loss=hp["loss"],
                            seed=hp["init_seed"])
    history = own.train(model, data["X_train"], data["y_train"], data["X_val"], data["y_val"],
                        learning_rate=hp["learning_rate"], num_epochs=hp["num_epochs"],
                        batch_size=hp["batch_size"], lr_decay=hp["lr_decay"],
                        seed=hp["shuffle_seed"])
    accuracy = float(np.mean(model.predict(data["X_val"]) == data["y_val"]))
    losses = history["loss"]
    expect(None if accuracy >= config["threshold"] else
           f"train: validation accuracy on moons is {accuracy:.3f}, expected at least "
           f"{config['threshold']:.3f}; the loss went from {losses[0]:.3f} to {losses[-1]:.3f} "
           f"(check the ReLU and the parameter updates params -= learning_rate * grads).")
