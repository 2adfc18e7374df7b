"""Local tests for layers.py. Run ``pytest`` in this folder.

Each test checks one property of one function; a failure says what was
expected, what came, and the likely mistake when it is a known one. A test
that fails with NotImplementedError points at a function you have not
written yet.
"""

import numpy as np
import pytest
from feedback import check_array, check_close, check_unchanged
from gradient_check import numeric_gradient, numeric_gradient_array
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

# Sizes differ from each other so that a transposed or wrongly summed
# gradient shows up as a wrong shape.
N, D, M, C = 4, 5, 3, 6


def expect(*messages):
    """Fail with the first message that is not None."""
    for message in messages:
        if message:
            pytest.fail(message, pytrace=False)


def unpack(func, result, names):
    """Check that ``result`` is a tuple of len(names) values; return it."""
    if not isinstance(result, tuple) or len(result) != len(names):
        kind = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        pytest.fail(f"{func}: returned {kind}, expected a tuple ({', '.join(names)}).",
                    pytrace=False)
    return result


def away_from_zero(shape, rng, gap=0.1):
    """Random entries with |value| >= gap, so no ReLU kink is within h of them."""
    values = rng.standard_normal(shape)
    return values + gap * np.sign(values)


@pytest.fixture
def rng():
    return np.random.default_rng(231)


def affine_inputs(rng):
    return rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)


# --- affine ---------------------------------------------------------------

def test_affine_forward_values():
    x = np.linspace(-0.5, 0.6, 6).reshape(2, 3)
    w = np.linspace(-0.3, 0.4, 12).reshape(3, 4)
    b = np.linspace(-0.1, 0.2, 4)
    out, _ = unpack("affine_forward", affine_forward(x, w, b), ("out", "cache"))
    expected = np.array([
        [0.05018181818181819, 0.09672727272727277, 0.14327272727272736, 0.18981818181818186],
        [-0.03981818181818191, 0.13272727272727264, 0.3052727272727272, 0.4778181818181818],
    ])
    expect(check_close("affine_forward", "out (2, 4)", out, expected,
                       known_mistakes={"the bias b is missing": x @ w}))


def test_affine_backward_matches_numeric_gradient(rng):
    x, w, b = affine_inputs(rng)
    out, cache = unpack("affine_forward", affine_forward(x, w, b), ("out", "cache"))
    expect(check_array("affine_forward", "out", out, (N, M)))
    dout = rng.standard_normal((N, M))
    dx, dw, db = unpack("affine_backward", affine_backward(dout, cache), ("dx", "dw", "db"))

    def numeric(which, upstream):
        args = [x.copy(), w.copy(), b.copy()]

        def f(v):
            args[which] = v
            return affine_forward(*args)[0]
        return numeric_gradient_array(f, args[which], upstream)

    for which, (name, got, shape) in enumerate(
            [("dx", dx, (N, D)), ("dw", dw, (D, M)), ("db", db, (M,))]):
        expected = numeric(which, dout)
        mistakes = {"dout is not used (the result is what dout = 1 would give)":
                    numeric(which, np.ones_like(dout))}
        expect(check_close("affine_backward", f"{name} {shape}", got, expected,
                           what="the numeric gradient", known_mistakes=mistakes))


def test_affine_does_not_modify_inputs(rng):
    x, w, b = affine_inputs(rng)
    dout = rng.standard_normal((N, M))
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = affine_forward(x, w, b)
    affine_backward(dout, cache)
    for name, before, after in zip(("x", "w", "b", "dout"), copies, (x, w, b, dout), strict=True):
        func = "affine_backward" if name == "dout" else "affine_forward/backward"
        expect(check_unchanged(func, name, before, after))


# --- ReLU -----------------------------------------------------------------

def test_relu_forward_values():
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.5, -1e-8]])
    out, _ = unpack("relu_forward", relu_forward(x), ("out", "cache"))
    expected = np.array([[0.0, 0.0, 0.0], [0.5, 1.5, 0.0]])
    expect(check_close("relu_forward", "out (2, 3)", out, expected,
                       known_mistakes={"negative entries pass through": x,
                                       "it returns the mask x > 0, not the values":
                                       (x > 0).astype(float)}))


def test_relu_backward_matches_numeric_gradient(rng):
    x = away_from_zero((N, D, 2), rng)
    out, cache = unpack("relu_forward", relu_forward(x.copy()), ("out", "cache"))
    expect(check_array("relu_forward", "out", out, x.shape))
    dout = rng.standard_normal(x.shape)
    dx = relu_backward(dout, cache)
    f = lambda v: relu_forward(v)[0]  # noqa: E731
    expect(check_close("relu_backward", f"dx {x.shape}", dx,
                       numeric_gradient_array(f, x.copy(), dout), what="the numeric gradient",
                       known_mistakes={"dout is not used (the result is the 0/1 mask)":
                                       numeric_gradient_array(f, x.copy(), np.ones_like(dout)),
                                       "the mask is inverted (gradient flows where x < 0)":
                                       dout * (x < 0)}))


@pytest.mark.parametrize("forward, backward", [(relu_forward, relu_backward),
                                               (sigmoid_forward, sigmoid_backward)],
                         ids=["relu", "sigmoid"])
def test_elementwise_layer_does_not_modify_inputs(rng, forward, backward):
    x = rng.standard_normal((N, D))
    dout = rng.standard_normal((N, D))
    x_before, dout_before = x.copy(), dout.copy()
    _, cache = forward(x)
    expect(check_unchanged(forward.__name__, "x", x_before, x))
    backward(dout, cache)
    expect(check_unchanged(backward.__name__, "dout", dout_before, dout))


# --- sigmoid --------------------------------------------------------------

def test_sigmoid_forward_values():
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    out, _ = unpack("sigmoid_forward", sigmoid_forward(x), ("out", "cache"))
    expected = np.array([
        [0.11920292202211755, 0.19332136980230868, 0.2979366301210704, 0.4290534031165337],
        [0.5709465968834663, 0.7020633698789295, 0.8066786301976913, 0.8807970779778823],
    ])
    expect(check_close("sigmoid_forward", "out (2, 4)", out, expected,
                       known_mistakes={"the sign of x is flipped (that is sigmoid(-x))":
                                       expected[::-1, ::-1]}))


def test_sigmoid_backward_matches_numeric_gradient(rng):
    x = rng.standard_normal((N, D))
    out, cache = unpack("sigmoid_forward", sigmoid_forward(x.copy()), ("out", "cache"))
    expect(check_array("sigmoid_forward", "out", out, x.shape))
    dout = rng.standard_normal(x.shape)
    dx = sigmoid_backward(dout, cache)
    f = lambda v: sigmoid_forward(v)[0]  # noqa: E731
    expect(check_close("sigmoid_backward", f"dx {x.shape}", dx,
                       numeric_gradient_array(f, x.copy(), dout), what="the numeric gradient",
                       known_mistakes={"dout is not used":
                                       numeric_gradient_array(f, x.copy(), np.ones_like(dout)),
                                       "the derivative uses x instead of sigmoid(x)":
                                       dout * x * (1 - x)}))


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    with np.errstate(all="ignore"):
        out, cache = unpack("sigmoid_forward", sigmoid_forward(x), ("out", "cache"))
        problem = check_array("sigmoid_forward", "out for x = [-1000, ..., 1000]", out, x.shape)
        expect(problem and problem + " Never call exp on a large positive number: for x < 0 "
               "use exp(x) / (1 + exp(x)).")
        expected = np.array([0.0, 4.248354255291589e-18, 0.2689414213699951, 0.5,
                             0.7310585786300049, 1.0, 1.0])
        close = np.allclose(out, expected, rtol=1e-6, atol=0)
        expect(None if close else
               f"sigmoid_forward: for x = {x.tolist()} got {out.tolist()}, expected "
               f"{expected.tolist()} (relative accuracy 1e-6, also for tiny outputs).")
        dx = sigmoid_backward(np.ones_like(x), cache)
        expect(check_array("sigmoid_backward", "dx for x = [-1000, ..., 1000]", dx, x.shape))


# --- softmax + cross-entropy ------------------------------------------------

def test_softmax_loss_value():
    scores = np.linspace(-1, 1, 12).reshape(3, 4)
    y = np.array([0, 3, 1])
    loss, _ = unpack("softmax_loss", softmax_loss(scores, y), ("loss", "dscores"))
    expect(check_close("softmax_loss", "loss", loss, 1.4371625955569283,
                       known_mistakes={"the loss is summed over the batch instead of averaged "
                                       "(missing 1/N)": 3 * 1.4371625955569283}))


def test_softmax_loss_gradient_matches_numeric(rng):
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    loss, dscores = unpack("softmax_loss", softmax_loss(scores.copy(), y), ("loss", "dscores"))
    expected = numeric_gradient(lambda s: softmax_loss(s, y)[0], scores.copy())
    onehot = np.eye(C)[y]
    expect(check_close("softmax_loss", f"dscores {(N, C)}", dscores, expected,
                       what="the numeric gradient",
                       known_mistakes={"missing 1/N: divide dscores by the batch size N":
                                       expected * N,
                                       "the 1 at each correct class is not subtracted":
                                       expected + onehot / N}))


def test_softmax_loss_initial_value_is_log_C(rng):
    scores = 1e-3 * rng.standard_normal((50, C))
    y = rng.integers(0, C, size=50)
    loss, _ = softmax_loss(scores, y)
    expect(check_close("softmax_loss", "loss for near-zero scores", loss, np.log(C),
                       what=f"log(C) = log({C})", tol=1e-3))


def test_softmax_loss_is_stable_for_large_scores(rng):
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    loss, dscores = softmax_loss(scores.copy(), y)
    with np.errstate(all="ignore"):
        big_loss, big_dscores = softmax_loss(scores + 1000.0, y)
    hint = " Subtract each row's max score before exponentiating (the softmax is unchanged)."
    problem = (check_close("softmax_loss", "loss for scores + 1000", big_loss, loss,
                           what="the loss for the same scores without the offset")
               or check_close("softmax_loss", "dscores for scores + 1000", big_dscores, dscores,
                              what="dscores for the same scores without the offset"))
    expect(problem and problem + hint)


def test_softmax_loss_does_not_modify_inputs(rng):
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    before, y_before = scores.copy(), y.copy()
    softmax_loss(scores, y)
    expect(check_unchanged("softmax_loss", "scores", before, scores),
           check_unchanged("softmax_loss", "y", y_before, y))


# --- binary cross-entropy ---------------------------------------------------

def test_bce_loss_value():
    probs = np.array([0.1, 0.6, 0.8, 0.35])
    y = np.array([0, 1, 1, 0])
    loss, _ = unpack("bce_loss", bce_loss(probs, y), ("loss", "dprobs"))
    expect(check_close("bce_loss", "loss", loss, 0.3175281517076203,
                       known_mistakes={"the loss is summed over the batch instead of averaged "
                                       "(missing 1/N)": 4 * 0.3175281517076203}))


def test_bce_loss_gradient_matches_numeric(rng):
    probs = rng.uniform(0.05, 0.95, size=N)
    y = rng.integers(0, 2, size=N)
    _, dprobs = unpack("bce_loss", bce_loss(probs.copy(), y), ("loss", "dprobs"))
    expected = numeric_gradient(lambda p: bce_loss(p, y)[0], probs.copy())
    expect(check_close("bce_loss", f"dprobs {(N,)}", dprobs, expected,
                       what="the numeric gradient",
                       known_mistakes={"missing 1/N: divide dprobs by the batch size N":
                                       expected * N}))


def test_bce_loss_is_finite_at_probabilities_0_and_1():
    probs = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0, 1, 1, 0])
    with np.errstate(all="ignore"):
        loss, dprobs = unpack("bce_loss", bce_loss(probs, y), ("loss", "dprobs"))
    hint = " Clip probs to [eps, 1 - eps] before taking logs and dividing."
    problem = (check_array("bce_loss", "loss for probs [0, 1, 0, 1]", np.asarray(loss), ())
               or check_array("bce_loss", "dprobs for probs [0, 1, 0, 1]", dprobs, (4,)))
    expect(problem and problem + hint)
    expect(None if loss > 5 else
           f"bce_loss: loss for probs [0, 1, 0, 1] and y [0, 1, 1, 0] (two confidently wrong) "
           f"is {loss:.4g}, expected a large value (above 5): clip with a small eps, such as "
           f"1e-12.")


def test_bce_loss_does_not_modify_inputs(rng):
    probs = rng.uniform(0.0, 1.0, size=N)
    probs[0], probs[1] = 0.0, 1.0
    y = rng.integers(0, 2, size=N)
    before, y_before = probs.copy(), y.copy()
    with np.errstate(all="ignore"):
        bce_loss(probs, y)
    expect(check_unchanged("bce_loss", "probs", before, probs),
           check_unchanged("bce_loss", "y", y_before, y))
