"""Compiled kernels.

- ``cpu``: the update map and the loop over maps, for dense and CSR rows
  (whose row operations are in ``storage``);
- ``trajectory``: backward trajectories (parallel replay, affine composition);
- ``cuda``: the CUDA twin of ``cpu.apply_steps`` (``device="cuda"``; imported
  only then);
- ``dispatch``: how a kernel's code is chosen from its arguments' types.

The CPU kernels take their arguments grouped in the named records below
(the model, the batch sequence, the range of maps, the outputs, the optional
state, the scratch space). A kernel is compiled per storage of the rows and
per combination of the features in use: a feature that is off is a ``None``
field and costs no compiled code.

Every kernel implements the same contract: the update map ``T_B`` of
the user guide (:func:`~sklearn_order.kernels.cpu.apply_update_map`), parameterised
by an :class:`UpdateRule`, applied over a seeded batch sequence in the
direction the composition order asks for.
"""

from typing import NamedTuple

import numpy as np

from ..losses import MAX_DLOSS
from .storage import CSRRows, DenseRows, kernel_rows

# Status codes returned by the kernels.
OK = 0
# the loss derivative reached its clipping bound at a prediction past what the
# targets explain (``losses.clipped_derivative``)
DERIVATIVE_AT_BOUND = 1
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
    passive_aggressive : int or None
        ``schedule`` again when it is ``"pa1"``/``"pa2"`` (each row then
        takes its own step), else ``None``: a kernel compiled for the other
        schedules contains no passive-aggressive code
        (:func:`sklearn_order.schedules.passive_aggressive_variant`).
    prediction_bound : float, default=MAX_DLOSS
        A prediction whose loss derivative is clipped and whose magnitude
        exceeds this diverged (:func:`sklearn_order.losses.clipped_derivative`).
        Set from the targets by :class:`~sklearn_order._problem.Problem`
        (:func:`sklearn_order.losses.prediction_bound`); the default is the
        bound for targets of 0.
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
    passive_aggressive: int | None
    prediction_bound: float = MAX_DLOSS

    def cuda_scalars(self):
        """The scalars the CUDA kernel takes, in its parameters' order.

        Every field but ``passive_aggressive`` (the CUDA kernel derives it
        from ``schedule``), whose ``None`` a CUDA kernel cannot take.
        """
        return (
            self.loss,
            self.loss_param,
            self.l2,
            self.l1,
            self.fit_intercept,
            self.schedule,
            self.power_t,
            self.alpha,
            self.optimal_t0,
            self.prediction_bound,
        )


# -- the records the kernels take ---------------------------------------------
# Numba compiles a kernel per combination of the records' field types; a
# feature that is off is a ``None`` field, for which the kernel contains none
# of the feature's code (:func:`.dispatch.unless_none`).


class Model(NamedTuple):
    """The parameters ``θ`` a kernel updates in place.

    Attributes
    ----------
    coef : ndarray of shape (n_outputs * n_features,), float64
        Stored weights ``v`` of the ``n_outputs`` models, one after the other.
    intercept : ndarray of shape (n_outputs,), float64
        Intercepts ``b``.
    scale : ndarray of shape (1,), float64
        Lazy scale ``s`` of the weights, ``w = s v`` (CSR rows; see
        :mod:`.storage`); 1 for dense rows.
    """

    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray


class BatchSequence(NamedTuple):
    """The seeded batch sequence: which rows each map takes.

    Attributes
    ----------
    scheme : int
        Sampling scheme (:data:`sklearn_order.sampling.SAMPLINGS`).
    seed : int
    batch_size : int
    table : ndarray of shape (n_rows, n_samples), int64, or None
        ``"grab"`` only (``None`` otherwise): epoch ``e ≥ 1`` reads its order
        from ``table[e % n_rows]``. A forward call with :class:`Herding`
        builds them: during epoch ``e`` it writes epoch ``e + 1``'s order
        into ``table[(e + 1) % n_rows]`` (two rows suffice for a forward
        pass; a backward pass over ``E`` epochs reads a table of ``E`` rows
        built by a forward pass).
    """

    scheme: int
    seed: int
    batch_size: int
    table: np.ndarray | None


class StepRange(NamedTuple):
    """Which maps a call applies, in which direction, with which step.

    Attributes
    ----------
    first_step, n_steps : int
        The maps ``first_step + 1 … first_step + n_steps`` (counted from 1
        over the whole batch sequence).
    reverse : bool
        Apply the newest map first (backward composition).
    step_offset : int
        Shift of the schedule's step index (``partial_fit`` continues ``t_``).
    eta : float
        Base step size of the schedule.
    """

    first_step: int
    n_steps: int
    reverse: bool
    step_offset: int
    eta: float


class Outputs(NamedTuple):
    """What a call reports besides ``θ``; ``None`` fields are not computed.

    Attributes
    ----------
    epoch_losses : ndarray of shape (n_epochs_spanned,), float64, or None
        Each map's summed weighted loss (at pre-update predictions) is added
        to ``epoch_losses[epoch − first_step // B]`` (the caller zeroes it).
    records : ndarray of shape (n_steps // record_every, n_coef + n_outputs), or None
        ``θ = (s v, b)`` — or, once averaging has started, the running mean —
        copied into ``records[r − 1]`` after the ``r · record_every``-th map
        applied by the call.
    record_every : int
        Positive when ``records`` is given.
    """

    epoch_losses: np.ndarray | None
    records: np.ndarray | None
    record_every: int


class Herding(NamedTuple):
    """GraB's herding state, kept between forward calls.

    Attributes
    ----------
    sums : ndarray of shape (3, n_coef + n_outputs), float64
        The running signed sum, the previous epoch's mean gradient and the
        current epoch's mean gradient.
    pointers : ndarray of shape (2,), int64
        The next free positions at the front and at the back of the order
        being built.
    """

    sums: np.ndarray
    pointers: np.ndarray


class Average(NamedTuple):
    """Polyak–Ruppert averaging of the forward iterates.

    On CSR rows the weights' part of the mean is kept lazily during a call
    (:func:`~sklearn_order.kernels.cpu.update_average`): a map then costs
    the batch's non-zeros, not ``n_coef``. Between calls ``mean`` is the
    running mean itself; inside a call read it with
    :func:`~sklearn_order.kernels.cpu.copy_average`.

    Attributes
    ----------
    start : int
        The running mean covers the iterates after maps ``start, start + 1,
        …`` (step indices; positive).
    mean : ndarray of shape (n_coef + n_outputs,), float64
        The running mean ``(w̄, b̄)``, kept between calls. Within a call, while
        ``lazy[0] ≠ 0``, its first ``n_coef`` entries hold ``A`` of the lazy
        form ``w̄ = (m_f / m)(A + γ w)``; the intercepts' part is always
        ``b̄``.
    lazy : ndarray of shape (3,), float64
        ``(γ, m_f, m)``: the lazy form's factor, the number of iterates the
        mean held when it was last folded (``A`` was then ``w̄``), and the
        number it holds now. ``γ = 0``: ``mean`` is the running mean; so it
        is at the start and the end of every call (pass zeros).
    """

    start: int
    mean: np.ndarray
    lazy: np.ndarray


class OptionalState(NamedTuple):
    """State of the features a forward call may carry; ``None`` when off.

    Attributes
    ----------
    herding : Herding or None
        ``"grab"`` forward calls.
    average : Average or None
        Averaging (forward calls).
    """

    herding: Herding | None
    average: Average | None


class Scratch(NamedTuple):
    """Scratch space of a call.

    Attributes
    ----------
    order : ndarray of shape (n_samples,), int64
        An epoch's row order.
    work : ndarray of shape (batch_size * n_outputs,), float64
        The update map's per-row terms.
    """

    order: np.ndarray
    work: np.ndarray


def step_records(
    X,
    y,
    sample_weight,
    coef,
    intercept,
    rule,
    *,
    scheme,
    seed,
    batch_size,
    first_step,
    n_steps,
    reverse,
    eta,
    step_offset=0,
    table=None,
    epoch_losses=None,
    records=None,
    record_every=0,
    herding=None,
    average=None,
    scratch=None,
):
    """The arguments of one :func:`~.cpu.apply_steps` call, built from plain values.

    The one place the records are assembled: the problems' kernel calls and
    the kernel tests both build them here.

    Parameters
    ----------
    X : ndarray, scipy CSR matrix, DenseRows or CSRRows
        The rows (converted by :func:`.storage.kernel_rows` unless already).
    y, sample_weight : ndarray of shape (n_samples,)
    coef, intercept : ndarray
        The parameters, updated in place by the call.
    rule : UpdateRule
    scheme, seed, batch_size, table
        The :class:`BatchSequence`.
    first_step, n_steps, reverse, eta, step_offset
        The :class:`StepRange`.
    epoch_losses, records, record_every
        The :class:`Outputs` (``None``: not computed).
    herding, average
        The :class:`OptionalState` (``None``: off).
    scratch : Scratch, default=None
        Reused between calls; by default a new one.

    Returns
    -------
    tuple
        ``apply_steps``'s ten arguments, in order.
    """
    rows = X if isinstance(X, DenseRows | CSRRows) else kernel_rows(X)
    if scratch is None:
        n_rows = rows.subset.shape[0] if rows.subset.shape[0] > 0 else y.shape[0]
        scratch = Scratch(
            np.empty(n_rows, dtype=np.int64),
            np.empty(batch_size * intercept.shape[0]),
        )
    return (
        rows,
        y,
        sample_weight,
        Model(coef, intercept, np.ones(1)),
        rule,
        BatchSequence(scheme, seed, batch_size, table),
        StepRange(first_step, n_steps, reverse, step_offset, float(eta)),
        Outputs(epoch_losses, records, record_every),
        OptionalState(herding, average),
        scratch,
    )
