"""Local tests for layers.py. Run ``pytest`` in this folder.

Each test checks one property of one function; its ``grades`` mark names the
function, as the autograder's report does. A function that passes all of its
tests here passes the autograder's checks of it too (they run on other
inputs). A failure says what was expected, what came, and the likely mistake
when it is a known one. A test that fails with NotImplementedError points at
a function you have not written yet. Every test has a time limit (60 s).
"""

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np
import pytest
from feedback import (
    TimeLimitExceeded,
    check_array,
    check_close,
    check_imports,
    check_unchanged,
    time_limit,
)
from gradient_check import numeric_gradient, numeric_gradient_array

HERE = Path(__file__).resolve().parent
TEST_SECONDS = 60

with time_limit(TEST_SECONDS, f"importing layers.py took more than {TEST_SECONDS} s"):
    try:
        import layers
    except ImportError as error:  # say so when it is the import rule
        problem = check_imports(HERE / "layers.py")
        if problem:
            raise ImportError(problem + ".") from error
        raise

LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss",
                   "mse_loss", "affine_jacobians")

# Sizes differ from each other so that a transposed or wrongly summed
# gradient shows up as a wrong shape.
N, D, M, C = 4, 5, 3, 6

# A backward must take about the time backprop takes: at most COST_FACTOR times
# a plain vectorized computation of the same size, or COST_FLOOR seconds.
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


def unpack(func, result, names):
    """Check that ``result`` is a tuple of len(names) values; return it."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        kind = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
                else type(result).__name__)
        pytest.fail(f"{func}: returned {kind}, expected a tuple ({', '.join(names)}).",
                    pytrace=False)
    return tuple(result)


def away_from_zero(shape, rng, gap=0.1):
    """Random entries with |value| >= gap, so no ReLU kink is within h of them."""
    values = rng.standard_normal(shape)
    return values + gap * np.sign(values)


def passes(test, seconds=20.0):
    """Whether ``test`` passes (run here, within ``seconds``)."""
    limit = time_limit(seconds, "")
    try:
        with limit:
            test()
        return True
    except TimeLimitExceeded:
        if not limit.expired:  # the time limit of the test running this one
            raise
        return False
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: B036 - pytest's failures and sys.exit() count as failing
        return False


# --- the layers and losses, as their docstrings define them -------------------
#
# The gradient tests compare with numeric gradients of these definitions (in
# float64, for inputs of moderate size). A backward gets its forward's cache
# only when that forward passes its values test, else the cache the docstring
# describes: a backward is judged on its own, even while its forward is wrong.

def affine_definition(x, w, b):
    return x @ w + b


def relu_definition(x):
    return np.where(x > 0, x, 0.0)


def sigmoid_definition(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax_loss_definition(scores, y):
    return float(np.mean(np.log(np.sum(np.exp(scores), axis=1))
                         - scores[np.arange(len(y)), y]))


def bce_loss_definition(probs, y):
    return float(-np.mean(y * np.log(probs) + (1.0 - y) * np.log(1.0 - probs)))


def mse_loss_definition(preds, y):
    return float(np.sum((preds - y) ** 2) / preds.shape[0])


@dataclass(frozen=True)
class Layer:
    forward: str
    backward: str
    inputs: tuple
    grads: tuple
    definition: object         # inputs -> out
    cache_doc: str             # the cache the docstring describes...
    documented_cache: object   # ...made from (inputs, out)

    @property
    def values_test(self):
        return globals()[f"test_{self.forward}_values"]


AFFINE = Layer("affine_forward", "affine_backward", ("x", "w", "b"), ("dx", "dw", "db"),
               affine_definition, "(x, w, b)", lambda inputs, out: tuple(inputs))
RELU = Layer("relu_forward", "relu_backward", ("x",), ("dx",), relu_definition, "x",
             lambda inputs, out: inputs[0])
SIGMOID = Layer("sigmoid_forward", "sigmoid_backward", ("x",), ("dx",), sigmoid_definition,
                "out", lambda inputs, out: out)


def shapes(layer, inputs):
    return ", ".join(f"{n} {a.shape}" for n, a in zip(layer.inputs, inputs, strict=True))


def check_forward_values(layer, inputs):
    """The forward's out for ``inputs`` against the definition."""
    out, _ = unpack(layer.forward, getattr(layers, layer.forward)(*[a.copy() for a in inputs]),
                    ("out", "cache"))
    mistakes = {"the bias b is missing": inputs[0] @ inputs[1]} if layer is AFFINE else {}
    expect(check_close(layer.forward, f"out for {shapes(layer, inputs)}", out,
                       layer.definition(*inputs), known_mistakes=mistakes))


def check_forward_output(layer, inputs):
    result = getattr(layers, layer.forward)(*[a.copy() for a in inputs])
    if not isinstance(result, tuple) or len(result) != 2:
        kind = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
                else type(result).__name__)
        pytest.fail(f"{layer.forward}: returned {kind}, expected a tuple (out, cache).",
                    pytrace=False)
    expect(check_array(layer.forward, f"out for {shapes(layer, inputs)}", result[0],
                       np.shape(layer.definition(*inputs))))


def check_forward_inputs(layer, inputs):
    before = [a.copy() for a in inputs]
    getattr(layers, layer.forward)(*inputs)
    expect(*(check_unchanged(layer.forward, name, old, new)
             for name, old, new in zip(layer.inputs, before, inputs, strict=True)))


def cache_for(layer, inputs):
    """(cache for the backward, a note for failure messages)."""
    if passes(layer.values_test):
        return getattr(layers, layer.forward)(*[a.copy() for a in inputs])[1], ""
    return (layer.documented_cache(inputs, layer.definition(*inputs)),
            f" (judged with the cache {layer.cache_doc} the docstring describes, because "
            f"{layer.forward} does not pass its values test)")


def call_backward(layer, dout, cache):
    result = getattr(layers, layer.backward)(dout, cache)
    return (result,) if len(layer.grads) == 1 else unpack(layer.backward, result, layer.grads)


def numeric_backward(layer, inputs, which, dout):
    """The numeric gradient of sum(definition(inputs) * dout) with respect to inputs[which]."""
    def f(value):
        args = list(inputs)
        args[which] = value
        return layer.definition(*args)
    return numeric_gradient_array(f, inputs[which].copy(), dout)


def check_backward_gradient(layer, inputs, dout, mistakes=None):
    cache, note = cache_for(layer, inputs)
    grads = call_backward(layer, dout.copy(), cache)
    for which, (name, grad) in enumerate(zip(layer.grads, grads, strict=True)):
        known = {"dout is not used (the result is what dout = 1 would give)":
                 numeric_backward(layer, inputs, which, np.ones_like(dout)),
                 **(mistakes or {})}
        problem = check_close(layer.backward, f"{name} {inputs[which].shape}", grad,
                              numeric_backward(layer, inputs, which, dout),
                              what="the numeric gradient", known_mistakes=known)
        expect(problem and problem + note)


def check_backward_shapes(layer, inputs, rng):
    cache, note = cache_for(layer, inputs)
    dout = rng.standard_normal(np.shape(layer.definition(*inputs)))
    grads = call_backward(layer, dout, cache)
    for name, grad, x in zip(layer.grads, grads, inputs, strict=True):
        problem = check_array(layer.backward, f"{name} for {shapes(layer, inputs)}", grad, x.shape)
        expect(problem and problem + note)


def check_backward_dout(layer, inputs, rng):
    cache, _ = cache_for(layer, inputs)
    dout = rng.standard_normal(np.shape(layer.definition(*inputs)))
    before = dout.copy()
    getattr(layers, layer.backward)(dout, cache)
    expect(check_unchanged(layer.backward, "dout", before, dout))


def best_seconds(function, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        started = perf_counter()
        function()
        best = min(best, perf_counter() - started)
    return best


def check_backprop_time(layer, inputs):
    """On a large layer the backward must take about what backprop takes, which is about
    what the forward takes: a numeric-difference backward runs out of time."""
    out = layer.definition(*inputs)
    dout = np.ones_like(out)
    usual = 2 * best_seconds(lambda: layer.definition(*inputs))  # about what backprop takes
    budget = min(max(COST_FACTOR * usual, COST_FLOOR), COST_CAP)
    cache, _ = cache_for(layer, inputs)
    limit = time_limit(budget, "")
    started = perf_counter()
    try:
        with limit:
            getattr(layers, layer.backward)(dout, cache)
    except TimeLimitExceeded:
        if not limit.expired:
            raise
    seconds = perf_counter() - started
    expect(None if seconds <= budget else
           f"{layer.backward}: backward must compute the gradient directly, not by numeric "
           f"differences: for {shapes(layer, inputs)} it took more than {budget:.1f} s, where "
           f"backprop takes about {usual * 1e3:.0f} ms.")


# --- affine -----------------------------------------------------------------

def affine_inputs(rng, n=N, d=D, m=M):
    return rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)


@pytest.mark.grades("affine_forward")
def test_affine_forward_values():
    x = np.linspace(-0.5, 0.6, 6).reshape(2, 3)
    w = np.linspace(-0.3, 0.4, 12).reshape(3, 4)
    b = np.linspace(-0.1, 0.2, 4)
    out, _ = unpack("affine_forward", layers.affine_forward(x, w, b), ("out", "cache"))
    expected = np.array([
        [0.05018181818181819, 0.09672727272727277, 0.14327272727272736, 0.18981818181818186],
        [-0.03981818181818191, 0.13272727272727264, 0.3052727272727272, 0.4778181818181818],
    ])
    expect(check_close("affine_forward", "out (2, 4)", out, expected,
                       known_mistakes={"the bias b is missing": x @ w}))
    check_forward_values(AFFINE, affine_inputs(np.random.default_rng(1), 5, 7, 4))


@pytest.mark.grades("affine_forward")
def test_affine_forward_output_shape():
    check_forward_output(AFFINE, affine_inputs(np.random.default_rng(2), 1, 3, 6))


@pytest.mark.grades("affine_forward")
def test_affine_forward_does_not_modify_inputs():
    check_forward_inputs(AFFINE, affine_inputs(np.random.default_rng(3)))


@pytest.mark.grades("affine_backward")
def test_affine_backward_matches_numeric_gradient():
    rng = np.random.default_rng(231)
    inputs = affine_inputs(rng)
    check_backward_gradient(AFFINE, inputs, rng.standard_normal((N, M)))


@pytest.mark.grades("affine_backward")
def test_affine_backward_output_shapes():
    rng = np.random.default_rng(4)
    check_backward_shapes(AFFINE, affine_inputs(rng, 1, 3, 6), rng)


@pytest.mark.grades("affine_backward")
def test_affine_backward_does_not_modify_dout():
    rng = np.random.default_rng(5)
    check_backward_dout(AFFINE, affine_inputs(rng), rng)


@pytest.mark.grades("affine_backward")
def test_affine_backward_is_as_fast_as_backprop():
    check_backprop_time(AFFINE, affine_inputs(np.random.default_rng(6), 64, 256, 256))


# --- ReLU -------------------------------------------------------------------

@pytest.mark.grades("relu_forward")
def test_relu_forward_values():
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.5, -1e-8]])
    out, _ = unpack("relu_forward", layers.relu_forward(x), ("out", "cache"))
    expected = np.array([[0.0, 0.0, 0.0], [0.5, 1.5, 0.0]])
    expect(check_close("relu_forward", "out (2, 3)", out, expected,
                       known_mistakes={"negative entries pass through": x,
                                       "it returns the mask x > 0, not the values":
                                       (x > 0).astype(float)}))
    check_forward_values(RELU, (away_from_zero((3, 4, 2), np.random.default_rng(1)),))


@pytest.mark.grades("relu_forward")
def test_relu_forward_output_shape():
    check_forward_output(RELU, (away_from_zero((9,), np.random.default_rng(2)),))


@pytest.mark.grades("relu_forward")
def test_relu_forward_does_not_modify_inputs():
    check_forward_inputs(RELU, (np.random.default_rng(3).standard_normal((N, D)),))


@pytest.mark.grades("relu_backward")
def test_relu_backward_matches_numeric_gradient():
    rng = np.random.default_rng(231)
    x = away_from_zero((N, D, 2), rng)
    dout = rng.standard_normal(x.shape)
    # Where the mask is inverted, dout flows exactly where the right gradient is 0.
    check_backward_gradient(RELU, (x,), dout, {
        "the mask is inverted (gradient flows where x < 0)":
        dout - numeric_backward(RELU, (x,), 0, dout)})


@pytest.mark.grades("relu_backward")
def test_relu_backward_output_shape():
    rng = np.random.default_rng(4)
    check_backward_shapes(RELU, (away_from_zero((9,), rng),), rng)


@pytest.mark.grades("relu_backward")
def test_relu_backward_does_not_modify_dout():
    rng = np.random.default_rng(5)
    check_backward_dout(RELU, (away_from_zero((N, D), rng),), rng)


@pytest.mark.grades("relu_backward")
def test_relu_backward_is_as_fast_as_backprop():
    check_backprop_time(RELU, (np.random.default_rng(6).standard_normal((128, 1024)),))


# --- sigmoid ------------------------------------------------------------------

@pytest.mark.grades("sigmoid_forward")
def test_sigmoid_forward_values():
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    out, _ = unpack("sigmoid_forward", layers.sigmoid_forward(x), ("out", "cache"))
    expected = np.array([
        [0.11920292202211755, 0.19332136980230868, 0.2979366301210704, 0.4290534031165337],
        [0.5709465968834663, 0.7020633698789295, 0.8066786301976913, 0.8807970779778823],
    ])
    expect(check_close("sigmoid_forward", "out (2, 4)", out, expected,
                       known_mistakes={"the sign of x is flipped (that is sigmoid(-x))":
                                       expected[::-1, ::-1]}))
    check_forward_values(SIGMOID, (2.0 * np.random.default_rng(1).standard_normal((3, 4, 2)),))


@pytest.mark.grades("sigmoid_forward")
def test_sigmoid_forward_output_shape():
    check_forward_output(SIGMOID, (2.0 * np.random.default_rng(2).standard_normal(9),))


@pytest.mark.grades("sigmoid_forward")
def test_sigmoid_forward_does_not_modify_inputs():
    check_forward_inputs(SIGMOID, (np.random.default_rng(3).standard_normal((N, D)),))


STABLE_X = np.array([-1000.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1000.0])
STABLE_OUT = np.array([0.0, 9.85967654375977e-305, 4.248354255291589e-18, 0.2689414213699951,
                       0.5, 0.7310585786300049, 1.0, 1.0, 1.0])
STABLE_HINT = (" Never call exp on a large positive number: compute the sigmoid in a form "
               "where exp only sees -|x| (one form for x >= 0, another for x < 0).")


@pytest.mark.grades("sigmoid_forward")
def test_sigmoid_is_stable_for_large_inputs():
    x = STABLE_X.copy()
    try:
        # Overflow is an error here, not a warning (unless your code expects it and
        # silences it itself).
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            result = layers.sigmoid_forward(x)
    except FloatingPointError as error:
        pytest.fail(f"sigmoid_forward: for x from -1000 to 1000 numpy reports "
                    f"FloatingPointError: {error} (overflow is an error in this test)."
                    f"{STABLE_HINT}", pytrace=False)
    out, _ = unpack("sigmoid_forward", result, ("out", "cache"))
    problem = check_array("sigmoid_forward", "out for x from -1000 to 1000", out, x.shape)
    expect(problem and problem + STABLE_HINT)
    out = np.asarray(out, dtype=np.float64)
    bad = ~np.isclose(out, STABLE_OUT, rtol=1e-6, atol=1e-300)
    if bad.any():
        i = int(np.argmax(bad))
        pytest.fail(f"sigmoid_forward: inaccurate for large |x|: at x = {x[i]:g} got "
                    f"{out[i]:.6g}, expected {STABLE_OUT[i]:.6g} (relative accuracy 1e-6)."
                    f"{STABLE_HINT}", pytrace=False)


@pytest.mark.grades("sigmoid_backward")
def test_sigmoid_backward_matches_numeric_gradient():
    rng = np.random.default_rng(231)
    x = 2.0 * rng.standard_normal((N, D))
    dout = rng.standard_normal(x.shape)
    # No known mistakes here: their arrays would show the derivative students derive.
    check_backward_gradient(SIGMOID, (x,), dout, {})


@pytest.mark.grades("sigmoid_backward")
def test_sigmoid_backward_output_shape():
    rng = np.random.default_rng(4)
    check_backward_shapes(SIGMOID, (2.0 * rng.standard_normal(9),), rng)


@pytest.mark.grades("sigmoid_backward")
def test_sigmoid_backward_does_not_modify_dout():
    rng = np.random.default_rng(5)
    check_backward_dout(SIGMOID, (rng.standard_normal((N, D)),), rng)


@pytest.mark.grades("sigmoid_backward")
def test_sigmoid_backward_is_as_fast_as_backprop():
    check_backprop_time(SIGMOID, (np.random.default_rng(6).standard_normal((128, 1024)),))


# --- the losses: shared checks --------------------------------------------------

MEAN_HINT = "the loss is summed over the batch instead of averaged (missing 1/N)"


def check_loss_output(func, grad_name, preds, y):
    """A float loss and a finite gradient shaped like ``preds``."""
    loss, grad = unpack(func, getattr(layers, func)(preds.copy(), y.copy()), ("loss", grad_name))
    if isinstance(loss, np.ndarray) and loss.shape != ():
        pytest.fail(f"{func}: loss is an array of shape {loss.shape}, expected a float.",
                    pytrace=False)
    if not isinstance(loss, (float, int, np.floating, np.integer, np.ndarray)):
        pytest.fail(f"{func}: loss is a {type(loss).__name__}, expected a float.", pytrace=False)
    expect(check_array(func, f"{grad_name} for {preds.shape[0]} examples", grad, preds.shape))


def call_under_errstate(func, preds, y, hint):
    """The loss with numpy's overflow, invalid values and division by zero as errors."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            return getattr(layers, func)(preds, y)
    except FloatingPointError as error:
        pytest.fail(f"{func}: numpy reports FloatingPointError: {error} (overflow and division "
                    f"by zero are errors in this test).{hint}", pytrace=False)


# --- softmax + cross-entropy ------------------------------------------------

SOFTMAX_HINT = " Subtract each row's max score before exponentiating (the softmax is unchanged)."


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_value():
    for scores, y, expected in (
            (np.linspace(-1, 1, 12).reshape(3, 4), np.array([0, 3, 1]), 1.4371625955569283),
            ((2 * np.sin(np.arange(24.0))).reshape(6, 4), np.array([0, 1, 2, 3, 2, 1]),
             2.32984697776507)):
        loss, _ = unpack("softmax_loss", layers.softmax_loss(scores, y), ("loss", "dscores"))
        expect(check_close("softmax_loss", f"loss for scores {scores.shape}", loss, expected,
                           known_mistakes={MEAN_HINT: len(y) * expected}))


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_gradient_matches_numeric():
    rng = np.random.default_rng(231)
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    _, dscores = unpack("softmax_loss", layers.softmax_loss(scores.copy(), y),
                        ("loss", "dscores"))
    expected = numeric_gradient(lambda s: softmax_loss_definition(s, y), scores.copy())
    onehot = np.eye(C)[y]
    expect(check_close("softmax_loss", f"dscores {(N, C)}", dscores, expected,
                       what="the numeric gradient",
                       known_mistakes={"missing 1/N: divide dscores by the batch size N":
                                       expected * N,
                                       "dscores is divided by N twice": expected / N,
                                       "the 1 at each correct class is not subtracted":
                                       expected + onehot / N}))


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_output():
    rng = np.random.default_rng(2)
    check_loss_output("softmax_loss", "dscores", rng.standard_normal((3, C)),
                      rng.integers(0, C, size=3))


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_initial_value_is_log_C():
    rng = np.random.default_rng(3)
    scores = 1e-3 * rng.standard_normal((50, C))
    y = rng.integers(0, C, size=50)
    loss, _ = unpack("softmax_loss", layers.softmax_loss(scores, y), ("loss", "dscores"))
    expect(check_close("softmax_loss", "loss for near-zero scores", loss, np.log(C),
                       what=f"log(C) = log({C})", tol=1e-3))


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_is_stable_for_large_scores():
    scores = np.linspace(-1, 1, 12).reshape(3, 4) + 1000.0
    y = np.array([0, 3, 1])
    loss, dscores = unpack("softmax_loss", call_under_errstate("softmax_loss", scores, y,
                                                               SOFTMAX_HINT),
                           ("loss", "dscores"))
    what = "every score offset by +1000"
    problem = (check_array("softmax_loss", f"loss for {what}", np.asarray(loss), ())
               or check_array("softmax_loss", f"dscores for {what}", dscores, scores.shape)
               or check_close("softmax_loss", f"loss for {what}", loss, 1.4371625955569283,
                              what="the loss without the offset"))
    expect(problem and problem + SOFTMAX_HINT)


@pytest.mark.grades("softmax_loss")
def test_softmax_loss_does_not_modify_inputs():
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    before, y_before = scores.copy(), y.copy()
    layers.softmax_loss(scores, y)
    expect(check_unchanged("softmax_loss", "scores", before, scores),
           check_unchanged("softmax_loss", "y", y_before, y))


# --- binary cross-entropy ---------------------------------------------------

BCE_HINT = (" Clip probs to [eps, 1 - eps] with a small eps (such as 1e-12) before taking logs "
            "and dividing.")


@pytest.mark.grades("bce_loss")
def test_bce_loss_value():
    for probs, y, expected in (
            (np.array([0.1, 0.6, 0.8, 0.35]), np.array([0, 1, 1, 0]), 0.3175281517076203),
            (np.array([0.05, 0.95, 0.5, 0.07, 0.93, 0.3]), np.array([1, 1, 0, 0, 0, 1]),
             1.2793293804325063)):
        loss, _ = unpack("bce_loss", layers.bce_loss(probs, y), ("loss", "dprobs"))
        expect(check_close("bce_loss", f"loss for probs {probs.tolist()}", loss, expected,
                           known_mistakes={MEAN_HINT: len(y) * expected}))


@pytest.mark.grades("bce_loss")
def test_bce_loss_gradient_matches_numeric():
    rng = np.random.default_rng(231)
    probs = rng.uniform(0.05, 0.95, size=N)
    y = rng.integers(0, 2, size=N)
    _, dprobs = unpack("bce_loss", layers.bce_loss(probs.copy(), y), ("loss", "dprobs"))
    expected = numeric_gradient(lambda p: bce_loss_definition(p, y), probs.copy())
    expect(check_close("bce_loss", f"dprobs {(N,)}", dprobs, expected,
                       what="the numeric gradient",
                       known_mistakes={"missing 1/N: divide dprobs by the batch size N":
                                       expected * N,
                                       "dprobs is divided by N twice": expected / N}))


@pytest.mark.grades("bce_loss")
def test_bce_loss_output():
    rng = np.random.default_rng(2)
    check_loss_output("bce_loss", "dprobs", rng.uniform(0.05, 0.95, size=3),
                      rng.integers(0, 2, size=3))


@pytest.mark.grades("bce_loss")
def test_bce_loss_is_finite_at_probabilities_0_and_1():
    probs = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0, 1, 1, 0])
    loss, dprobs = unpack("bce_loss", call_under_errstate("bce_loss", probs, y, BCE_HINT),
                          ("loss", "dprobs"))
    problem = (check_array("bce_loss", "loss for probs [0, 1, 0, 1]", np.asarray(loss), ())
               or check_array("bce_loss", "dprobs for probs [0, 1, 0, 1]", dprobs, (4,)))
    expect(problem and problem + BCE_HINT)
    expect(None if loss > 5 else
           f"bce_loss: loss for probs [0, 1, 0, 1] and y [0, 1, 1, 0] (two confidently wrong) "
           f"is {float(loss):.4g}, expected a large value (above 5): clip with a small eps, "
           f"such as 1e-12.")


@pytest.mark.grades("bce_loss")
def test_bce_loss_does_not_modify_inputs():
    rng = np.random.default_rng(5)
    probs = rng.uniform(0.0, 1.0, size=N)
    probs[0], probs[1] = 0.0, 1.0  # where clipping in place would show
    y = rng.integers(0, 2, size=N)
    before, y_before = probs.copy(), y.copy()
    with np.errstate(all="ignore"):
        layers.bce_loss(probs, y)
    expect(check_unchanged("bce_loss", "probs", before, probs),
           check_unchanged("bce_loss", "y", y_before, y))


# --- mean squared error --------------------------------------------------------

MSE_HINT = (" Square the differences preds - y; expanding (a - b)**2 into a**2 - 2ab + b**2 "
            "cancels catastrophically for large values.")
K = 2  # regression outputs


def mse_inputs(rng, shape):
    return rng.standard_normal(shape), rng.standard_normal(shape)


@pytest.mark.grades("mse_loss")
def test_mse_loss_value():
    for preds, y, expected in (
            (np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.0, 6.0]), 1.3125),
            (np.arange(6.0).reshape(3, 2), np.ones((3, 2)), 31.0 / 3)):
        loss, _ = unpack("mse_loss", layers.mse_loss(preds, y), ("loss", "dpreds"))
        known = {MEAN_HINT: len(y) * expected}
        if preds.ndim == 2:
            known["the loss is averaged over all N*K entries instead of summed over outputs "
                  "and averaged over the N examples"] = expected / preds.shape[1]
        expect(check_close("mse_loss", f"loss for preds {preds.shape}", loss, expected,
                           known_mistakes=known))


@pytest.mark.grades("mse_loss")
def test_mse_loss_gradient_matches_numeric():
    rng = np.random.default_rng(231)
    for shape in ((N, K), (N,)):
        preds, y = mse_inputs(rng, shape)
        _, dpreds = unpack("mse_loss", layers.mse_loss(preds.copy(), y.copy()),
                           ("loss", "dpreds"))
        expected = numeric_gradient(lambda p, y=y: mse_loss_definition(p, y), preds.copy())
        known = {"missing 1/N: divide dpreds by the batch size N": expected * N,
                 "the factor 2 from differentiating the square is missing": expected / 2,
                 "the sign is flipped: the gradient of (preds - y)**2 is along preds - y":
                 -expected}
        if len(shape) == 2:
            known["dpreds is divided by N*K (the mean over every entry), not by N"] = \
                expected / K
        expect(check_close("mse_loss", f"dpreds {shape}", dpreds, expected,
                           what="the numeric gradient", known_mistakes=known))


@pytest.mark.grades("mse_loss")
def test_mse_loss_output():
    rng = np.random.default_rng(2)
    check_loss_output("mse_loss", "dpreds", *mse_inputs(rng, (3, K)))
    check_loss_output("mse_loss", "dpreds", *mse_inputs(rng, (3,)))


@pytest.mark.grades("mse_loss")
def test_mse_loss_is_accurate_for_large_values():
    rng = np.random.default_rng(4)
    y = 1e8 + rng.standard_normal((N, K))
    offset = rng.uniform(0.5, 1.5, (N, K))
    loss, dpreds = unpack("mse_loss", call_under_errstate("mse_loss", y + offset, y, MSE_HINT),
                          ("loss", "dpreds"))
    what = "predictions within 2 of targets near 1e8"
    problem = (check_array("mse_loss", f"loss for {what}", np.asarray(loss), ())
               or check_array("mse_loss", f"dpreds for {what}", dpreds, y.shape)
               or check_close("mse_loss", f"loss for {what}", loss,
                              float(np.sum(((y + offset) - y) ** 2) / N),
                              what="the mean of the summed squared differences"))
    expect(problem and problem + MSE_HINT)


@pytest.mark.grades("mse_loss")
def test_mse_loss_does_not_modify_inputs():
    rng = np.random.default_rng(5)
    preds, y = mse_inputs(rng, (N, K))
    before, y_before = preds.copy(), y.copy()
    layers.mse_loss(preds, y)
    expect(check_unchanged("mse_loss", "preds", before, preds),
           check_unchanged("mse_loss", "y", y_before, y))


# --- the Jacobians of one affine output ------------------------------------------

def numeric_jacobian(f, v, outputs):
    """J[j, ...] = d f(v)[j] / d v[...], by centered differences."""
    return np.stack([numeric_gradient(lambda value, j=j: f(value)[j], v.copy())
                     for j in range(outputs)])


@pytest.mark.grades("affine_jacobians")
def test_affine_jacobians_match_numeric():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal(D), rng.standard_normal((D, M)), rng.standard_normal(M)
    got = unpack("affine_jacobians", layers.affine_jacobians(x, w, b),
                 ("da_dx", "da_dw", "da_db"))
    expected = (numeric_jacobian(lambda v: v @ w + b, x, M),
                numeric_jacobian(lambda v: x @ v + b, w, M),
                numeric_jacobian(lambda v: x @ w + v, b, M))
    for name, value, target in zip(("da_dx", "da_dw", "da_db"), got, expected, strict=True):
        expect(check_close("affine_jacobians", f"{name} {target.shape}", value, target,
                           what="the numeric Jacobian", tol=1e-6))


@pytest.mark.grades("affine_jacobians")
def test_affine_jacobians_shapes():
    rng = np.random.default_rng(8)
    d, m = 2, 5
    x, w, b = rng.standard_normal(d), rng.standard_normal((d, m)), rng.standard_normal(m)
    got = unpack("affine_jacobians", layers.affine_jacobians(x, w, b),
                 ("da_dx", "da_dw", "da_db"))
    for name, value, shape in zip(("da_dx", "da_dw", "da_db"), got,
                                  ((m, d), (m, d, m), (m, m)), strict=True):
        expect(check_array("affine_jacobians", f"{name} for x ({d},), w ({d}, {m})", value,
                           shape))


# --- the import rule ----------------------------------------------------------

@pytest.mark.grades(*LAYER_FUNCTIONS)
def test_layers_imports_only_numpy_and_the_standard_library():
    expect(check_imports(HERE / "layers.py"))
