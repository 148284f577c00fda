"""Learning-rate schedules, as scikit-learn's SGD defines them.

The step size of the ``t``-th update map (``t = 1, 2, …`` counts maps, i.e.
minibatches, over the whole fit) is

- ``"constant"``: ``η_t = eta0``;
- ``"invscaling"``: ``η_t = eta0 / t ** power_t``;
- ``"optimal"``: ``η_t = 1 / (α (t0 + t − 1))`` with scikit-learn's heuristic
  ``t0`` (:func:`optimal_offset`);
- ``"adaptive"``: ``η_t = eta`` where ``eta`` starts at ``eta0`` and is divided
  by 5 each time the forward stopping criterion fires (forward order only: the
  step size then depends on the training trajectory, not on ``t`` alone, so a
  backward composition of the maps is not defined);
- ``"pa1"``, ``"pa2"``: passive-aggressive steps (Crammer et al., 2006, as
  scikit-learn ≥ 1.8 defines them for ``hinge`` and
  ``epsilon_insensitive``). ``eta0`` is the aggressiveness ``C``, and each
  row ``i`` of a batch gets its own step from its loss ``ℓ_i`` at the
  pre-update ``θ`` and its squared norm ``‖x_i‖²`` (the intercept is not
  counted): ``τ_i = min(C, ℓ_i / ‖x_i‖²)`` (PA-I) or
  ``τ_i = ℓ_i / (‖x_i‖² + 1 / (2C))`` (PA-II), see :func:`row_step`. The
  map moves ``θ`` by the batch mean of the rows' steps ``s_i τ_i ℓ'_i (x_i, 1)``
  — the mean of the online passive-aggressive updates of its rows, each
  taken from the same ``θ`` — so it stays a function of ``θ`` and the batch
  alone, composable in either order. The L2 weight decay of such a map is
  ``(1 − C α (1 − ρ))₊``, as in scikit-learn. Under PA-I a row with
  ``x_i = 0`` has no step (scikit-learn skips such a sample), and a batch of
  only such rows leaves ``θ`` unchanged (no weight decay either).

With ``batch_size=1``, ``t`` counts samples, exactly as in scikit-learn.
"""

import math

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import row_norms

from ._jit import jit_inline, jit_inline_dual
from .losses import LOSS_SMOOTHNESS, LOSSES, loss_derivative

CONSTANT = 0
OPTIMAL = 1
INVSCALING = 2
ADAPTIVE = 3
PA1 = 4
PA2 = 5

LEARNING_RATES = {
    "constant": CONSTANT,
    "optimal": OPTIMAL,
    "invscaling": INVSCALING,
    "adaptive": ADAPTIVE,
    "pa1": PA1,
    "pa2": PA2,
}

#: The loss each passive-aggressive schedule accepts, per task (scikit-learn's
#: restriction: the step ``ℓ / ‖x‖²`` is the exact passive-aggressive
#: projection only for losses whose derivative is ``±1`` wherever they are
#: positive).
PASSIVE_AGGRESSIVE_LOSSES = {
    "classification": "hinge",
    "regression": "epsilon_insensitive",
}


def check_passive_aggressive_loss(learning_rate, loss, task):
    """Raise if ``learning_rate`` is ``"pa1"``/``"pa2"`` and ``loss`` is not its loss.

    Parameters
    ----------
    learning_rate, loss : str
    task : {"classification", "regression"}
        Which estimator is asking.

    Raises
    ------
    ValueError
    """
    if learning_rate not in ("pa1", "pa2"):
        return
    needed = PASSIVE_AGGRESSIVE_LOSSES[task]
    if loss != needed:
        raise ValueError(
            f"learning_rate={learning_rate!r} only works with loss={needed!r} "
            f"for {task} (as in scikit-learn); got loss={loss!r}."
        )


@jit_inline_dual
def is_passive_aggressive(schedule):
    """Whether the schedule code is ``"pa1"`` or ``"pa2"``."""
    return schedule == PA1 or schedule == PA2


def passive_aggressive_variant(schedule):
    """``schedule`` if it is ``"pa1"``/``"pa2"``, else ``None``.

    The :class:`~sklearn_order.kernels.UpdateRule` field that selects, by its
    type, whether a kernel is compiled with the passive-aggressive row steps.
    """
    return int(schedule) if is_passive_aggressive(schedule) else None


def optimal_offset(loss_code, loss_param, alpha):
    """Return ``t0`` of the ``"optimal"`` schedule (scikit-learn's heuristic).

    ``t0`` is chosen so that the first step size equals
    ``typw / max(1, |ℓ'(-typw; y=1)|)`` with ``typw = sqrt(1 / sqrt(alpha))``
    (Léon Bottou's sgd heuristic, as in scikit-learn).
    """
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    initial_eta0 = typw / max(1.0, loss_derivative(loss_code, loss_param, 1.0, -typw))
    return 1.0 / (initial_eta0 * alpha)


@jit_inline_dual
def step_index(k, step_offset):
    """The schedule's step index ``t`` of map ``k`` (0-based in its batch sequence).

    ``t = k + 1 + step_offset``: a fit's first map has ``t = 1``, and
    ``step_offset`` continues the count across ``partial_fit`` calls. A map
    has the same index whichever order it is applied in (forward or
    backward): its step size belongs to the map.
    """
    return k + 1 + step_offset


def largest_step(rule, eta):
    """The largest step size of a fit's maps: its first map's, ``t = 1``.

    No schedule's steps grow with ``t`` (the passive-aggressive ones take a
    step per row, :func:`row_step`, and are not bounded by this).

    Parameters
    ----------
    rule : UpdateRule
    eta : float
        The base step size ``eta0``.

    Returns
    -------
    float
    """
    return step_size(rule.schedule, eta, 1, rule.power_t, rule.alpha, rule.optimal_t0)


@jit_inline_dual
def step_size(schedule, eta, t, power_t, alpha, optimal_t0):
    """Step size of the ``t``-th update map (``t ≥ 1``).

    For ``"pa1"``/``"pa2"`` this is ``eta0 = C``: the step of the map's L2
    weight decay (each row's own step is :func:`row_step`).
    """
    if schedule == OPTIMAL:
        return 1.0 / (alpha * (optimal_t0 + t - 1.0))
    elif schedule == INVSCALING:
        return eta / t**power_t
    return eta


@jit_inline
def rule_step_size(rule, eta, t):
    """:func:`step_size` of the ``t``-th map under ``rule``'s schedule.

    ``rule`` is an :class:`~sklearn_order.kernels.UpdateRule` (its
    ``schedule``, ``power_t``, ``alpha`` and ``optimal_t0``); ``eta`` the base
    step size.
    """
    return step_size(rule.schedule, eta, t, rule.power_t, rule.alpha, rule.optimal_t0)


@jit_inline_dual
def row_step(schedule, eta, loss, sqnorm):
    """Passive-aggressive step ``τ`` of one row (``"pa1"``/``"pa2"`` only).

    Parameters
    ----------
    schedule : int
        ``PA1`` or ``PA2``.
    eta : float
        The aggressiveness ``C`` (``eta0``).
    loss : float
        The row's loss ``ℓ(x·w + b, y) ≥ 0`` at the pre-update ``θ``.
    sqnorm : float
        ``‖x‖²`` (the intercept not counted); positive for ``PA1``.

    Returns
    -------
    float
        ``min(C, ℓ / ‖x‖²)`` (PA-I) or ``ℓ / (‖x‖² + 1 / (2C))`` (PA-II).
    """
    if schedule == PA1:
        return min(eta, loss / sqnorm)
    return loss / (sqnorm + 0.5 / eta)


def _curvature(loss_code):
    """``L`` of :func:`auto_step_size`: the loss's smoothness (1 if it has none).

    Hinge, perceptron and epsilon-insensitive are not smooth; with ``L = 1``
    and their derivative bounded by 1, a step changes any row's prediction by
    at most its weighted squared norm over the largest one.
    """
    smoothness = LOSS_SMOOTHNESS[loss_code]
    return 1.0 if smoothness is None else smoothness


#: Losses whose ``eta0="auto"`` is the subgradient method's step for the fit's
#: horizon (:func:`auto_step_size`): the non-smooth regression losses. Their
#: accuracy is read on the predictions, in the targets' units, which a step
#: sized by ``L = 1`` ignores; the margin losses keep ``L = 1`` (their
#: targets are ±1 and their predictions are judged by their sign).
HORIZON_STEP_LOSSES = frozenset(
    loss.code
    for loss in LOSSES.values()
    if loss.task == "regression" and loss.smoothness is None
)


def target_scale(targets, weights, rows=None):
    """The weighted root mean square of the targets, largest over the outputs.

    How far the predictions must travel from zero to fit the targets: the
    distance ``D`` of :func:`auto_step_size`'s horizon step, in prediction
    units. Computed without overflow (scaled by the largest ``|y|`` and the
    largest weight).

    Parameters
    ----------
    targets, weights : list of ndarray of shape (n_samples,)
        One target vector and one weight vector per output.
    rows : ndarray of int64, default=None
        The rows trained on; ``None`` for all.

    Returns
    -------
    float
        ``0`` where every target, or every weight, is zero.
    """
    scale = 0.0
    for target, weight in zip(targets, weights):
        target = np.asarray(target, dtype=np.float64)
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), target.shape)
        if rows is not None:
            target, weight = target[rows], weight[rows]
        largest = float(np.max(np.abs(target), initial=0.0))
        heaviest = float(np.max(weight, initial=0.0))
        if largest > 0 and heaviest > 0:
            weight = weight / heaviest  # sums of at most n_samples: finite
            mean_square = float(np.dot(weight, (target / largest) ** 2))
            scale = max(scale, largest * math.sqrt(mean_square / np.sum(weight)))
    return scale


def weighted_squared_norms(X, weight, fit_intercept):
    """``s_i (‖x_i‖² + fit_intercept)`` per row: each row's curvature scale.

    A row's squared norm in ``θ = (w, b)`` (the intercept's "feature" is 1)
    times its weight bounds how much one update can move its prediction: the
    step sizes of :func:`auto_step_size` and the non-expansiveness check of a
    coupling tolerance are read from it. Computed in float64, in one pass.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    weight : ndarray of shape (n_samples,) or float
    fit_intercept : bool

    Returns
    -------
    ndarray of shape (n_samples,), float64
        ``inf`` where a squared norm overflows float64.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if sparse.issparse(X):
            squared = row_norms(X, squared=True).astype(np.float64)
        else:
            squared = np.einsum("ij,ij->i", X, X, dtype=np.float64)
        return weight * (squared + float(fit_intercept))


def auto_step_size(
    X, weights, loss_code, fit_intercept, l2, rows=None, *, targets=None, n_maps=1
):
    """``eta0="auto"``: a step that cannot diverge, sized by the loss and the data.

    ``η = 1 / (K · max_i s_i (‖x_i‖² + fit_intercept) + l2)`` with ``s_i``
    the row's sample × class weight (largest over the outputs) and ``K``:

    - for a smooth loss, and for the margin losses (hinge, perceptron),
      ``K = L``, the smoothness of the loss (:func:`_curvature`; 1 for the
      margin losses). For a smooth loss a batch's Hessian in ``θ = (w, b)``
      is then at most ``1/η`` in every direction, so each map shrinks
      distances (with margin: contraction needs ``η L ‖z‖² < 2``); the L2
      decay only helps. For squared error and log loss this is
      scikit-learn's ``sag`` step size (``get_auto_step_size``);
    - for a non-smooth regression loss (:data:`HORIZON_STEP_LOSSES`:
      ``epsilon_insensitive``), ``K = sqrt(n_maps) / Y`` with ``Y`` the
      targets' weighted root mean square (:func:`target_scale`): the
      subgradient method's constant step ``D / (G sqrt(T))`` for ``T =
      n_maps`` maps, with the subgradient bound ``G = max_i ‖z_i‖`` (the
      loss's derivative is ±1) and ``D = Y / max_i ‖z_i‖``, the least
      distance from zero to a ``θ`` whose predictions have the targets'
      size. That step minimises the classic bound ``D² / (2ηT) + ηG² / 2``
      on the objective after ``T`` maps; one map moves a prediction by at
      most ``Y / sqrt(T)``, so the step follows the targets' units as well
      as the features'. With ``Y = 0`` (nothing to fit from zero), ``K = 1``.

    The derivative of the non-smooth losses is bounded by 1, so no step of
    theirs can diverge; ``η · l2 < 1`` always. One pass over ``X``.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    weights : list of ndarray of shape (n_samples,)
        Sample × class weights, one vector per output.
    loss_code : int
    fit_intercept : bool
    l2 : float
        The L2 strength ``alpha (1 − l1_ratio)``.
    rows : ndarray of int64, default=None
        The rows trained on; ``None`` for all.
    targets : list of ndarray of shape (n_samples,), default=None
        One target vector per output; needed for the losses of
        :data:`HORIZON_STEP_LOSSES`.
    n_maps : int, default=1
        The horizon ``T``: the most update maps the fit composes
        (``max_iter`` epochs of batches; one epoch for ``partial_fit``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the weighted squared norms overflow float64, ``targets`` is
        missing for a loss that needs it, or the horizon step rounds to zero
        (targets too small beside the rows' norms).
    """
    largest_weight = weights[0]
    for other in weights[1:]:
        if other is not weights[0]:  # one-vs-rest without class weights: one
            largest_weight = np.maximum(largest_weight, other)
    scales = weighted_squared_norms(X, largest_weight, fit_intercept)
    if rows is not None:
        scales = scales[rows]
    scale = float(np.max(scales, initial=0.0))
    if not np.isfinite(scale):
        raise ValueError(
            "eta0='auto' cannot size a step: the rows' weighted squared norms "
            "overflow float64. Scale the data (e.g. with StandardScaler)."
        )
    factor = _curvature(loss_code)
    reach = None
    if loss_code in HORIZON_STEP_LOSSES:
        if targets is None:
            raise ValueError(
                "auto_step_size needs the targets to size the step of a "
                "non-smooth regression loss."
            )
        reach = target_scale(targets, weights, rows)
        if reach > 0:
            factor = math.sqrt(n_maps) / reach
    curvature = factor * scale + l2
    if not curvature > 0:  # nothing to fit (all rows zero, no intercept)
        return 1.0
    if not np.isfinite(curvature):  # a step that rounds to zero fits nothing
        raise ValueError(
            "eta0='auto' cannot size a step: the targets (root mean square "
            f"{reach:.3g}) are too small beside the rows' squared norms "
            f"(largest {scale:.3g}). Scale the targets or the data."
        )
    return 1.0 / curvature
