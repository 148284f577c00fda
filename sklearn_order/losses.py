"""The loss catalogue: one table, shared by every kernel.

Each loss is written once, as a scalar function of the target ``y`` and the
prediction ``p = x·w + b``, and compiled by :func:`sklearn_order._jit.jit_dual`
for the CPU kernels and, on demand, for the CUDA kernels.
The formulas are scikit-learn's SGD losses (``_sgd_fast.pyx.tp`` and
``_loss.pyx.tp``), so that ``order="forward", sampling="cyclic",
batch_size=1`` reproduces ``SGDClassifier``/``SGDRegressor``.

Classification targets are encoded as ``y ∈ {-1, +1}`` for every loss. For
``log_loss`` that is mapped to scikit-learn's ``{0, 1}`` encoding of the half
binomial loss inside the formula.

Adding a loss is one entry in :data:`LOSSES` and one branch in each of
:func:`loss_value` and :func:`loss_derivative`.

One loss is not a scalar function of one prediction: the multinomial
(softmax cross-entropy) loss of ``log_loss`` with ``multi_class="multinomial"``
takes one prediction per class, :func:`multinomial_loss`.
"""

from math import exp, fabs, log, log1p
from typing import NamedTuple

import numpy as np

from ._jit import jit, jit_dual, jit_inline_dual

# Integer codes: compile-time constants inside the kernels.
LOG_LOSS = 0
HINGE = 1  # threshold parameter: 1 for "hinge", 0 for "perceptron"
SQUARED_HINGE = 2
MODIFIED_HUBER = 3
SQUARED_ERROR = 4
HUBER = 5  # parameter: epsilon
EPSILON_INSENSITIVE = 6  # parameter: epsilon
SQUARED_EPSILON_INSENSITIVE = 7  # parameter: epsilon
MULTINOMIAL_LOG_LOSS = 8  # one prediction per class; target: the class index

#: The loss derivative is clipped to ``[-MAX_DLOSS, MAX_DLOSS]``, as in
#: scikit-learn (:func:`clipped_derivative`). Reaching the bound is not in
#: itself divergence (a target of 1e13 reaches it at ``θ = 0``); a prediction
#: beyond what the targets explain is (:func:`prediction_bound`).
MAX_DLOSS = 1e12


class Loss(NamedTuple):
    """An entry of the loss catalogue.

    Attributes
    ----------
    code : int
        The integer the kernels dispatch on.
    task : {"classification", "regression"}
        What the loss is written for: a margin loss of ``±1`` targets, or a
        loss of the residual. The regressor accepts the regression losses;
        the classifier accepts both (a regression loss then regresses on
        ``±1``, as in scikit-learn's ``SGDClassifier``).
    threshold : float or None
        A fixed parameter of the formula (the hinge threshold), or ``None``
        when the parameter is the estimator's ``epsilon`` (or unused).
    uses_epsilon : bool
        Whether the estimator's ``epsilon`` is the loss parameter.
    has_proba : bool
        Whether the loss defines class probabilities (``predict_proba``).
    smoothness : float or None
        A bound on the second derivative in the prediction (the Lipschitz
        constant of :func:`loss_derivative`), ``None`` where the derivative
        jumps.
    """

    code: int
    task: str
    threshold: float | None = None
    uses_epsilon: bool = False
    has_proba: bool = False
    smoothness: float | None = None


LOSSES = {
    "log_loss": Loss(LOG_LOSS, "classification", has_proba=True, smoothness=0.25),
    "hinge": Loss(HINGE, "classification", threshold=1.0),
    "perceptron": Loss(HINGE, "classification", threshold=0.0),
    "squared_hinge": Loss(
        SQUARED_HINGE, "classification", threshold=1.0, smoothness=2.0
    ),
    "modified_huber": Loss(
        MODIFIED_HUBER, "classification", has_proba=True, smoothness=2.0
    ),
    "squared_error": Loss(SQUARED_ERROR, "regression", smoothness=1.0),
    "huber": Loss(HUBER, "regression", uses_epsilon=True, smoothness=1.0),
    "epsilon_insensitive": Loss(EPSILON_INSENSITIVE, "regression", uses_epsilon=True),
    "squared_epsilon_insensitive": Loss(
        SQUARED_EPSILON_INSENSITIVE, "regression", uses_epsilon=True, smoothness=2.0
    ),
}

CLASSIFICATION_LOSSES = tuple(
    k for k, v in LOSSES.items() if v.task == "classification"
)
REGRESSION_LOSSES = tuple(k for k, v in LOSSES.items() if v.task == "regression")
#: The smoothness of each loss code (``None``: not smooth). The multinomial
#: loss's is the largest eigenvalue of the softmax Hessian in the predictions.
LOSS_SMOOTHNESS = {loss.code: loss.smoothness for loss in LOSSES.values()}
LOSS_SMOOTHNESS[MULTINOMIAL_LOG_LOSS] = 0.5


def loss_parameter(loss, epsilon=0.0):
    """Return the scalar parameter the kernels pass to the loss ``loss``.

    Parameters
    ----------
    loss : str
        A key of :data:`LOSSES`.
    epsilon : float, default=0.0
        The estimator's ``epsilon`` (used by the epsilon losses and Huber).

    Returns
    -------
    float
    """
    entry = LOSSES[loss]
    if entry.uses_epsilon:
        return float(epsilon)
    return 0.0 if entry.threshold is None else float(entry.threshold)


@jit_dual
def _log1pexp(x):
    # log(1 + exp(x)) without overflow; scikit-learn's cut-offs.
    if x <= -37.0:
        return exp(x)
    elif x <= -2.0:
        return log1p(exp(x))
    elif x <= 18.0:
        return log(1.0 + exp(x))
    elif x <= 33.3:
        return x + exp(-x)
    return x


@jit_dual
def loss_value(code, param, y, p):
    """Loss of prediction ``p`` for target ``y`` (scalar)."""
    if code == LOG_LOSS:
        y01 = 0.5 * (y + 1.0)
        return _log1pexp(p) - y01 * p
    elif code == HINGE:
        z = p * y
        return param - z if z <= param else 0.0
    elif code == SQUARED_HINGE:
        z = 1.0 - p * y
        return z * z if z > 0.0 else 0.0
    elif code == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        elif z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z
    elif code == SQUARED_ERROR:
        return 0.5 * (p - y) * (p - y)
    elif code == HUBER:
        r = fabs(y - p)
        if r <= param:
            return 0.5 * r * r
        return param * (r - 0.5 * param)
    elif code == EPSILON_INSENSITIVE:
        r = fabs(y - p) - param
        return r if r > 0.0 else 0.0
    else:  # SQUARED_EPSILON_INSENSITIVE
        r = fabs(y - p) - param
        return r * r if r > 0.0 else 0.0


@jit_dual
def loss_derivative(code, param, y, p):
    """Derivative of the loss with respect to the prediction ``p`` (scalar)."""
    if code == LOG_LOSS:
        y01 = 0.5 * (y + 1.0)
        if p > -37.0:
            e = exp(-p)
            return ((1.0 - y01) - y01 * e) / (1.0 + e)
        return exp(p) - y01
    elif code == HINGE:
        return -y if p * y <= param else 0.0
    elif code == SQUARED_HINGE:
        z = 1.0 - p * y
        return -2.0 * y * z if z > 0.0 else 0.0
    elif code == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        elif z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y
    elif code == SQUARED_ERROR:
        return p - y
    elif code == HUBER:
        r = p - y
        if fabs(r) <= param:
            return r
        return param if r >= 0.0 else -param
    elif code == EPSILON_INSENSITIVE:
        if y - p > param:
            return -1.0
        elif p - y > param:
            return 1.0
        return 0.0
    else:  # SQUARED_EPSILON_INSENSITIVE
        z = y - p
        if z > param:
            return -2.0 * (z - param)
        elif z < -param:
            return 2.0 * (-z - param)
        return 0.0


@jit_inline_dual
def clipped_derivative(code, param, y, p, prediction_bound):
    """The loss derivative clipped to ``±MAX_DLOSS``, and whether ``p`` diverged.

    The clipping is scikit-learn's (``_sgd_fast.pyx.tp``), so that large
    targets fit as there: at the bound, a map moves the iterates by a bounded
    step toward the target instead of a step proportional to the residual.

    Reaching the bound is divergence only when the prediction itself has left
    the range the data explain: ``|p| > prediction_bound``
    (:func:`prediction_bound`). A large target far from ``p`` is not
    divergence; a prediction that grew past what any fit of the targets
    predicts, by more than the bound, is.

    Returns
    -------
    derivative : float
    diverged : bool
    """
    d = loss_derivative(code, param, y, p)
    if fabs(d) < MAX_DLOSS:
        return d, False
    return (MAX_DLOSS if d > 0.0 else -MAX_DLOSS), fabs(p) > prediction_bound


def prediction_bound(y):
    """The largest ``|prediction|`` that the targets ``y`` can explain.

    ``MAX_DLOSS + ‖y‖₂``: where the clipped derivative
    (:func:`clipped_derivative`) calls a prediction divergent. The fitted
    values of least squares are a projection of ``y``, so none exceeds
    ``‖y‖₂``; ``MAX_DLOSS`` more leaves room for the iterates on their way
    (a map at the bound moves a prediction by a bounded step).

    Parameters
    ----------
    y : ndarray
        Targets (``±1`` or class indices for classification).

    Returns
    -------
    float
    """
    largest = float(np.max(np.abs(y), initial=0.0))
    if largest == 0.0 or not np.isfinite(largest):
        return MAX_DLOSS + largest
    # ‖y‖₂ = max|y| ‖y / max|y|‖₂, without overflowing the squares; summed
    # by NumPy, not BLAS (np.linalg.norm), whose threads would stay spinning
    # on the cores after the call and slow the fit's kernel down
    return MAX_DLOSS + largest * float(np.sqrt(np.sum(np.square(y / largest))))


@jit
def multinomial_loss(p, offset, n_classes, label):
    """Softmax cross-entropy of the predictions ``p[offset : offset + n_classes]``.

    ``ℓ(p, c) = log Σ_k exp(p_k) − p_c`` for the class index ``c = label``.
    The predictions are replaced, in place, by the derivatives
    ``∂ℓ/∂p_k = softmax(p)_k − [k = c]`` (each in ``[−1, 1]``: nothing to
    clip).

    Parameters
    ----------
    p : ndarray, float64
        Holds the predictions on entry, the derivatives on return.
    offset, n_classes : int
        Where the predictions are in ``p``, and how many.
    label : int
        The target's class index.

    Returns
    -------
    float
        The loss.
    """
    largest = p[offset]
    for k in range(1, n_classes):
        largest = max(largest, p[offset + k])
    total = 0.0
    for k in range(n_classes):
        total += exp(p[offset + k] - largest)
    value = log(total) + largest - p[offset + label]
    for k in range(n_classes):
        p[offset + k] = exp(p[offset + k] - largest) / total
    p[offset + label] -= 1.0
    return value
