"""Compiled kernels.

- ``cpu``: the update map and the loop over maps, for dense and CSR rows
  (whose row operations are in ``storage``);
- ``trajectory``: backward trajectories (parallel replay, affine composition);
- ``cuda``: the CUDA twin of ``cpu.apply_steps`` (``device="cuda"``; imported
  only then).

Every kernel implements the same contract: the update map ``T_B`` of
the user guide (:func:`~sklearn_order.kernels.cpu.apply_update_map`), parameterised
by an :class:`UpdateRule`, applied over a seeded batch sequence in the
direction the composition order asks for.
"""

from typing import NamedTuple

# Status codes returned by the kernels.
OK = 0
DERIVATIVE_AT_BOUND = 1  # the loss derivative reached its clipping bound
NON_FINITE = 2  # a prediction or a coefficient stopped being finite


class UpdateRule(NamedTuple):
    """Everything the update map ``T_B`` needs besides the data and ``θ``.

    Numba receives it as a typed tuple; the constructor in
    :meth:`sklearn_order._base.BaseBackwardSGD._update_rule` fixes the types
    (so that one compiled specialization serves every fit).

    Attributes
    ----------
    loss : int
        Code of the loss (:data:`sklearn_order.losses.LOSSES`).
    loss_param : float
        The loss's scalar parameter (hinge threshold or epsilon).
    l2 : float
        L2 strength ``α (1 − ρ)``, applied as weight decay.
    l1 : float
        L1 strength ``α ρ``, applied by soft-thresholding.
    fit_intercept : bool
        Whether the intercept is updated.
    schedule : int
        Code of the learning-rate schedule
        (:data:`sklearn_order.schedules.LEARNING_RATES`).
    power_t : float
        Exponent of the ``"invscaling"`` schedule.
    alpha : float
        Regularization constant, used by the ``"optimal"`` schedule.
    optimal_t0 : float
        Offset of the ``"optimal"`` schedule.
    """

    loss: int
    loss_param: float
    l2: float
    l1: float
    fit_intercept: bool
    schedule: int
    power_t: float
    alpha: float
    optimal_t0: float
