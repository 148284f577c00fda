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
  backward composition of the maps is not defined).

With ``batch_size=1``, ``t`` counts samples, exactly as in scikit-learn.
"""

import math

from ._jit import jit_dual
from .losses import loss_derivative

CONSTANT = 0
OPTIMAL = 1
INVSCALING = 2
ADAPTIVE = 3

LEARNING_RATES = {
    "constant": CONSTANT,
    "optimal": OPTIMAL,
    "invscaling": INVSCALING,
    "adaptive": ADAPTIVE,
}


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
    """Step size of the ``t``-th update map (``t ≥ 1``)."""
    if schedule == OPTIMAL:
        return 1.0 / (alpha * (optimal_t0 + t - 1.0))
    elif schedule == INVSCALING:
        return eta / t**power_t
    return eta
