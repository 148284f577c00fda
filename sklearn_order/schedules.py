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

from ._jit import jit_dual
from .losses import loss_derivative

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


@jit_dual
def is_passive_aggressive(schedule):
    """Whether the schedule code is ``"pa1"`` or ``"pa2"``."""
    return schedule == PA1 or schedule == PA2


def optimal_offset(loss_code, loss_param, alpha):
    """Return ``t0`` of the ``"optimal"`` schedule (scikit-learn's heuristic).

    ``t0`` is chosen so that the first step size equals
    ``typw / max(1, |ℓ'(-typw; y=1)|)`` with ``typw = sqrt(1 / sqrt(alpha))``
    (Léon Bottou's sgd heuristic, as in scikit-learn).
    """
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    initial_eta0 = typw / max(1.0, loss_derivative(loss_code, loss_param, 1.0, -typw))
    return 1.0 / (initial_eta0 * alpha)


@jit_dual
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


@jit_dual
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
