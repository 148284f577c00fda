"""The loop over maps for a group of models that share one batch sequence.

Many jobs train many linear models over the same rows in the same order: the
classes of a one-vs-rest classifier, the candidates of a grid that differ only
in their step size or penalty. :func:`apply_group_steps` applies the update
maps of all of them in one pass: each row is read once, and every model is
updated from it.

- **Layout.** The storage's (:func:`~.storage.model_weights`): on CSR rows
  feature-major, ``coef[j * n_models + m]``, so that a non-zero's weights for
  every model share a cache line; on dense rows model-major, so that each
  model's dot product and update run along contiguous features, the row read
  from memory once and then from cache.
- **Per-model scalars.** Each model has its own base step, L2 and L1
  strengths, loss parameter, prediction bound, ``"optimal"`` schedule
  constants, and column of targets and sample weights (the ``±1`` targets of
  its one-vs-rest class, its sample × class weights). The loss, the schedule
  and whether the intercept is fitted are shared (they choose code).
- **Arithmetic.** Each model's floating-point operations are those of
  :func:`~sklearn_order.kernels.cpu.apply_steps` on that model alone, in the
  same order: the same partial sums of each dot product, the decay fused into
  the same row. A model trained in a group is bit-identical to the model
  trained alone (``tests/test_group.py``).
- **Averaging.** With a :class:`GroupAverage` (forward runs of averaged
  models) each model keeps its running mean as alone, by the one-model
  functions of :mod:`.cpu` (:func:`~.cpu.prepare_average` before each map,
  :func:`~.cpu.update_average` after it) applied to views of the group's
  arrays: on CSR rows the mean is lazy and shares the weights' layout.
  Alone, a fit folds its lazy mean at the end of every kernel call
  (:func:`~.cpu.fold_average`), a rounding: the group folds each model's
  where that model's calls alone end, as it folds its lazy scale.
- **Failures are per model.** A model whose derivative reaches its bound or
  whose parameters stop being finite is reported in ``status`` and
  ``failed_epoch``; the others go on. The caller drops failed (and
  converged) models from the group between calls.

The columns of a group are either one-output models, or the classes of one
multinomial model (the softmax couples them within each row; its loss is
reported in column 0). Not handled here (their fits keep a kernel of their
own): GraB (its order follows one model's gradients) and recorded iterates.
"""

from math import isfinite
from typing import NamedTuple

import numpy as np

from .._jit import jit, jit_inline, prefetch_row
from ..losses import (
    MULTINOMIAL_LOG_LOSS,
    clipped_derivative,
    loss_value,
    multinomial_loss,
)
from ..penalties import l2_decay, shrink
from ..sampling import advance_map, batch_bounds, batches_per_epoch, locate_map
from ..schedules import PA1, row_step, rule_step_size, step_index
from . import DERIVATIVE_AT_BOUND, NON_FINITE, OK, Average, Model, UpdateRule
from .cpu import (
    fold_average,
    load_epoch_order,
    prefetch_distance,
    prepare_average,
    subtract_intercept_steps,
    update_average,
)
from .dispatch import unless_none
from .storage import (
    fold_group_scale,
    group_row_dots,
    group_subtract_batch,
    model_slice,
    model_weights,
    n_visited,
    prefetch_group_weights,
    prefetch_row_start,
    row_sqnorm,
    rows_kernel,
)
from .storage import prefetch_row as prefetch_x_row


class GroupModels(NamedTuple):
    """The parameters of a group of models, updated in place, and their data columns.

    Attributes
    ----------
    coef : ndarray of shape (n_features * n_models,), float64
        Stored weights, in the storage's layout
        (:func:`~sklearn_order.kernels.storage.model_weights`).
    intercept : ndarray of shape (n_models,), float64
    scale : ndarray of shape (n_models,), float64
        Lazy scales of the weights (CSR rows); 1 on entry and on return.
    column : ndarray of shape (n_models,), int64
        The column of ``targets`` and ``weights`` each model trains on.
    """

    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray
    column: np.ndarray


class GroupScalars(NamedTuple):
    """The scalars that differ between a group's models.

    Each attribute is an ndarray of shape (n_models,): the model's base step
    size ``eta``, its L2 and L1 strengths, its loss parameter, its ``alpha``
    and ``optimal_t0`` (the ``"optimal"`` schedule) and its prediction bound
    (see :class:`~sklearn_order.kernels.UpdateRule`), float64; and
    ``call_maps`` (int64), the maps per kernel call of the model's fit alone
    (with averaging, if it averages in this run), where the group folds its
    lazy running mean and scale as that fit does.
    """

    eta: np.ndarray
    l2: np.ndarray
    l1: np.ndarray
    loss_param: np.ndarray
    alpha: np.ndarray
    optimal_t0: np.ndarray
    prediction_bound: np.ndarray
    call_maps: np.ndarray


class GroupOutputs(NamedTuple):
    """What a group call reports besides the parameters.

    Attributes
    ----------
    epoch_losses : ndarray of shape (n_models, n_epochs_spanned), or None
        Each map's summed weighted loss (pre-update predictions) is added to
        ``epoch_losses[m, epoch − first_step // B]`` (the caller zeroes it);
        ``None``: not computed.
    status : ndarray of shape (n_models,), int64
        ``OK`` on entry; a model's first failure status.
    failed_epoch : ndarray of shape (n_models,), int64
        The epoch of that failure.
    """

    epoch_losses: np.ndarray | None
    status: np.ndarray
    failed_epoch: np.ndarray


class GroupAverage(NamedTuple):
    """The running means of a group's models (averaging), updated in place.

    Model ``m``'s :class:`~sklearn_order.kernels.Average` is a view of these
    arrays (:func:`_model_average`), which the one-model functions of
    :mod:`.cpu` update as they update it alone.

    Attributes
    ----------
    start : int
        The step index from which every model of the group averages its
        iterates (they share it: :func:`~sklearn_order._engine.groupable`).
    mean : ndarray of shape ((n_features + 1) * n_models,), float64
        Each model's ``(w̄, b̄)``, laid out as the weights with the intercept
        as one more feature (:func:`~.storage.model_slice`): on CSR rows
        ``mean[j * n_models + m]``, so that a non-zero's means for every
        model share a cache line, as its weights do. While model ``m``'s
        ``lazy[m, 0] ≠ 0`` its weights' part holds ``A`` of the lazy form.
    lazy : ndarray of shape (n_models, 3), float64
        Each model's ``(γ, m_f, m)``: zeros at the start of a run, ``γ``
        back to 0 wherever the model's fit alone ends a kernel call (the
        running mean is then stored), kept between the group's calls.
    """

    start: int
    mean: np.ndarray
    lazy: np.ndarray


class GroupScratch(NamedTuple):
    """Scratch space of a group call.

    Attributes
    ----------
    order : ndarray of shape (n_visited,), int64
        An epoch's row order.
    work : ndarray of shape (batch_size * n_models,), float64
        ``work[r * n_models + m]``: row ``r``'s term for model ``m``.
    per_model : ndarray of shape (8, n_models), float64
        A map's per-model numbers, one row each: predictions, steps, step
        sizes, decays, losses, skipped rows, row factors, whether it moves.
    until_call_end : ndarray of shape (n_models,), int64
        Maps left before each model's fit alone would end a kernel call
        (``scalars.call_maps`` at the start of a run, kept between calls).
    """

    order: np.ndarray
    work: np.ndarray
    per_model: np.ndarray
    until_call_end: np.ndarray


# the rows of GroupScratch.per_model
_PRED, _STEP, _ETA, _DECAY, _LOSS, _SKIPPED, _FACTOR, _MOVES = range(8)
N_PER_MODEL = 8


@unless_none()
def add_group_losses(epoch_losses, index, loss_sum, n_models):
    """``epoch_losses[m, index] += loss_sum[m]`` when losses are tracked."""
    for m in range(n_models):
        epoch_losses[m, index] += loss_sum[m]


@unless_none(default=0.0)
def group_tracked_loss(epoch_losses, code, param, y, p):
    """``ℓ(p, y)`` when losses are tracked (``epoch_losses`` given), else 0."""
    return loss_value(code, param, y, p)


@jit_inline
def _model_rule(rule, scalars, m):
    """Model ``m``'s :class:`~sklearn_order.kernels.UpdateRule`: its own scalars.

    The same type as the shared ``rule``'s, so that the one-model functions
    it is passed to are those compiled for a model alone.
    """
    return UpdateRule(
        rule.loss,
        scalars.loss_param[m],
        scalars.l2[m],
        scalars.l1[m],
        rule.fit_intercept,
        rule.schedule,
        rule.power_t,
        scalars.alpha[m],
        scalars.optimal_t0[m],
        rule.passive_aggressive,
        scalars.prediction_bound[m],
    )


@jit_inline
def _model_average(X, group, average, m):
    """Model ``m``'s :class:`~.Model` and :class:`~.Average`: views of the group's.

    The weights, intercept and lazy scale of model ``m``, and its running
    mean (:func:`~.storage.model_slice`): the one-model averaging functions
    of :mod:`.cpu` do on them model ``m``'s arithmetic of its fit alone, in
    place.
    """
    coef, intercept, scale, _ = group
    mean = average.mean
    M = intercept.shape[0]
    model = Model(
        coef[model_slice(X, coef, M, m)], intercept[m : m + 1], scale[m : m + 1]
    )
    mine = Average(average.start, mean[model_slice(X, mean, M, m)], average.lazy[m])
    return model, mine


@unless_none()
def prepare_group_averages(average, X, group, rule, scalars, status, eta_t):
    """Before a map: each model's :func:`~.cpu.prepare_average`.

    With no average (``None``) the kernel has no code for it. Failed models
    (``status``, :attr:`GroupOutputs.status`) are left alone.
    """
    for m in range(group.intercept.shape[0]):
        if status[m] == OK:
            model, mine = _model_average(X, group, average, m)
            prepare_average(mine, X, _model_rule(rule, scalars, m), eta_t[m], model)


@unless_none()
def update_group_averages(
    average, t, X, order, start, stop, group, rule, scalars, status, scratch
):
    """After the map of step index ``t``: each model's :func:`~.cpu.update_average`.

    Model ``m``'s row terms are ``work[m::n_models]`` (row ``r``'s at ``r``,
    as alone). With no average (``None``) the kernel has no code for it.
    Failed models (``status``) are left alone.
    """
    M = group.intercept.shape[0]
    work = scratch.work
    eta_t = scratch.per_model[_ETA]
    for m in range(M):
        if status[m] == OK:
            model, mine = _model_average(X, group, average, m)
            update_average(
                mine,
                t,
                model,
                X,
                order,
                start,
                stop,
                work[m::M],
                _model_rule(rule, scalars, m),
                eta_t[m],
            )


@unless_none()
def fold_model_average(average, X, group, m):
    """Model ``m``'s :func:`~.cpu.fold_average` (``None``: no code)."""
    model, mine = _model_average(X, group, average, m)
    fold_average(mine, model)


@jit_inline
def _fail(outputs, m, status, epoch):
    """Record model ``m``'s first failure."""
    if outputs.status[m] == OK:
        outputs.status[m] = status
        outputs.failed_epoch[m] = epoch


@jit_inline
def _check_model_finite(X, group, outputs, m, epoch):
    """Fail model ``m`` if its weights, intercept or scale stopped being finite."""
    coef, intercept, scale, _ = group
    M = intercept.shape[0]
    finite = isfinite(intercept[m]) and isfinite(scale[m])
    first, end, step = model_weights(X, M, m)
    for q in range(first, end, step):
        finite = finite and isfinite(coef[q])
    if not finite:
        _fail(outputs, m, NON_FINITE, epoch)


@jit_inline
def _check_finite(X, group, outputs, epoch):
    """Fail every model whose weights, intercept or scale stopped being finite."""
    for m in range(group.intercept.shape[0]):
        _check_model_finite(X, group, outputs, m, epoch)


@jit_inline
def _group_terms(
    X,
    targets,
    weights,
    order,
    start,
    stop,
    group,
    rule,
    scalars,
    outputs,
    scratch,
    epoch,
):
    """Each model's per-row terms ``work[r, m]`` and loss of one map.

    ``work[r, m] = (η_m / |B|) s_i ℓ'(p_i, y_i)`` (passive-aggressive:
    ``(τ_r / |B|) s_i ℓ'``), exactly as
    :func:`~sklearn_order.kernels.cpu.apply_update_map` forms it. Fills the
    losses (``per_model[_LOSS]``) and, under PA-I, the count of rows without a
    step (``per_model[_SKIPPED]``). A model that fails gets zero terms.
    """
    coef, intercept, scale, column = group
    work = scratch.work
    per_model = scratch.per_model
    M = intercept.shape[0]
    pred = per_model[_PRED]
    step = per_model[_STEP]
    eta_t = per_model[_ETA]
    loss_sum = per_model[_LOSS]
    skipped = per_model[_SKIPPED]
    batch = stop - start
    variant = rule.passive_aggressive
    for m in range(M):
        step[m] = eta_t[m] / batch
        loss_sum[m] = 0.0
        skipped[m] = 0.0
    for r in range(batch):
        i = order[start + r]
        group_row_dots(X, i, coef, M, pred)
        if rule.loss == MULTINOMIAL_LOG_LOSS:
            _multinomial_terms(targets, weights, i, r, group, outputs, scratch, epoch)
            continue
        sqnorm = row_sqnorm(X, i) if variant is not None else 0.0
        for m in range(M):
            q = r * M + m
            work[q] = 0.0
            if outputs.status[m] != OK:
                continue
            p = scale[m] * pred[m] + intercept[m]
            if not isfinite(p):
                _fail(outputs, m, NON_FINITE, epoch)
                continue
            c = column[m]
            y = targets[i, c]
            s = weights[i, c]
            d, diverged = clipped_derivative(
                rule.loss, scalars.loss_param[m], y, p, scalars.prediction_bound[m]
            )
            if diverged:
                _fail(outputs, m, DERIVATIVE_AT_BOUND, epoch)
                continue
            if variant is not None:
                value = loss_value(rule.loss, scalars.loss_param[m], y, p)
                loss_sum[m] += s * value
                if sqnorm == 0.0 and variant == PA1:
                    skipped[m] += 1.0
                else:
                    tau = row_step(variant, eta_t[m], value, sqnorm)
                    work[q] = tau / batch * s * d
            else:
                work[q] = step[m] * s * d
                value = group_tracked_loss(
                    outputs.epoch_losses, rule.loss, scalars.loss_param[m], y, p
                )
                loss_sum[m] += s * value


@jit_inline
def _multinomial_terms(targets, weights, i, r, group, outputs, scratch, epoch):
    """Row ``r``'s terms when the group's columns are one multinomial model.

    As :func:`~sklearn_order.kernels.cpu.apply_update_map` forms them: the
    softmax derivatives at the predictions, times ``(η / |B|) s_i``. The
    model's loss goes to column 0; a non-finite prediction fails every
    column.
    """
    _, intercept, scale, column = group
    work = scratch.work
    per_model = scratch.per_model
    M = intercept.shape[0]
    base = r * M
    pred = per_model[_PRED]
    finite = outputs.status[0] == OK
    for m in range(M):
        p = scale[m] * pred[m] + intercept[m]
        work[base + m] = p
        finite = finite and isfinite(p)
    if not finite:
        for m in range(M):
            work[base + m] = 0.0
            _fail(outputs, m, NON_FINITE, epoch)
        return
    s = weights[i, column[0]]
    value = multinomial_loss(work, base, M, int(targets[i, column[0]]))
    step = per_model[_STEP]
    for m in range(M):
        work[base + m] = step[m] * s * work[base + m]
    per_model[_LOSS, 0] += s * value


@jit_inline
def _apply_group_map(
    X,
    targets,
    weights,
    order,
    start,
    stop,
    group,
    rule,
    scalars,
    outputs,
    scratch,
    epoch,
):
    """The update map ``T_B`` of every model of the group, in place.

    Each model's :func:`~sklearn_order.kernels.cpu.apply_update_map`: the
    terms at the pre-update ``θ``, the decayed weights minus the batch's
    step, the intercept's step, then the L1 soft-threshold. A
    passive-aggressive model whose rows all lack a step (PA-I, ``x = 0``)
    is left unchanged, decay and threshold included.
    """
    coef, intercept, scale, _ = group
    work = scratch.work
    per_model = scratch.per_model
    M = intercept.shape[0]
    batch = stop - start
    _group_terms(
        X,
        targets,
        weights,
        order,
        start,
        stop,
        group,
        rule,
        scalars,
        outputs,
        scratch,
        epoch,
    )
    eta_t = per_model[_ETA]
    decay = per_model[_DECAY]
    skipped = per_model[_SKIPPED]
    moved = per_model[_MOVES]
    any_l1 = False
    for m in range(M):
        moves = outputs.status[m] == OK and skipped[m] < batch
        # a model that does not move this map keeps its weights: no decay
        decay[m] = l2_decay(eta_t[m], scalars.l2[m]) if moves else 1.0
        moved[m] = 1.0 if moves else 0.0
        any_l1 = any_l1 or (moves and scalars.l1[m] > 0.0)
    group_subtract_batch(
        X, order, start, stop, work, M, decay, coef, scale, per_model[_FACTOR]
    )
    if rule.fit_intercept:
        subtract_intercept_steps(intercept, work, batch)
    if any_l1:
        for m in range(M):
            if moved[m] > 0.0 and scalars.l1[m] > 0.0:
                fold_group_scale(X, coef, M, scale, m)
                threshold = eta_t[m] * scalars.l1[m]
                first, end, step = model_weights(X, M, m)
                for q in range(first, end, step):
                    coef[q] = shrink(coef[q], threshold)


@rows_kernel
@jit
def apply_group_steps(
    X,
    targets,
    weights,
    group,
    rule,
    scalars,
    sequence,
    steps,
    outputs,
    average,
    scratch,
    ends_run,
):
    """Apply the maps ``first_step + 1 … first_step + n_steps`` to every model.

    The loop of :func:`~sklearn_order.kernels.cpu.apply_steps` (the same maps
    in the same direction, the same step indices), over a group of models.

    Parameters
    ----------
    X : DenseRows or CSRRows
    targets, weights : ndarray of shape (n_samples, n_columns), float64
        Targets and sample × class weights; model ``m`` trains on column
        ``group.column[m]``.
    group : GroupModels
        ``scale`` is 1 at the start of a run and is kept between the calls of
        one run (:func:`_end_model_calls` folds it).
    rule : UpdateRule
        The shared rule: ``loss``, ``fit_intercept``, ``schedule``,
        ``power_t`` and ``passive_aggressive`` are read; the per-model
        scalars come from ``scalars``.
    scalars : GroupScalars
    sequence : BatchSequence
        Seeded schemes only (``table`` is ``None``).
    steps : StepRange
        ``steps.eta`` is not read (each model has its own).
    outputs : GroupOutputs
    average : GroupAverage or None
        The models' running means (forward runs with averaging), kept
        between the calls of one run; ``None``: off (no code for it).
    scratch : GroupScratch
    ends_run : bool
        Whether this call applies the run's last map: every model's fit alone
        ends its last call there (means and scales folded, models checked).
    """
    coef, intercept, scale, _ = group
    order = scratch.order
    per_model = scratch.per_model
    M = intercept.shape[0]
    batch_size = sequence.batch_size
    n_steps = steps.n_steps
    reverse = steps.reverse
    n = n_visited(X, targets)
    batches = batches_per_epoch(n, batch_size)
    first_epoch, _ = locate_map(steps.first_step, batches)
    ahead = prefetch_distance(batch_size)
    loaded_epoch = -1
    k = steps.first_step + n_steps - 1 if reverse else steps.first_step
    epoch, within = locate_map(k, batches)
    for q in range(n_steps):
        if q > 0:
            k, epoch, within = advance_map(k, epoch, within, batches, reverse)
        if epoch != loaded_epoch:
            if loaded_epoch >= 0:
                _check_finite(X, group, outputs, loaded_epoch)
            load_epoch_order(sequence, epoch, order, X.subset)
            loaded_epoch = epoch
        start, stop = batch_bounds(within, batch_size, n)
        _prefetch_group_ahead(
            X, targets, coef, M, order, within, batch_size, n, ahead, reverse
        )
        t = step_index(k, steps.step_offset)
        for m in range(M):
            per_model[_ETA, m] = rule_step_size(
                _model_rule(rule, scalars, m), scalars.eta[m], t
            )
        prepare_group_averages(
            average, X, group, rule, scalars, outputs.status, per_model[_ETA]
        )
        _apply_group_map(
            X,
            targets,
            weights,
            order,
            start,
            stop,
            group,
            rule,
            scalars,
            outputs,
            scratch,
            epoch,
        )
        add_group_losses(outputs.epoch_losses, epoch - first_epoch, per_model[_LOSS], M)
        update_group_averages(
            average,
            t,
            X,
            order,
            start,
            stop,
            group,
            rule,
            scalars,
            outputs.status,
            scratch,
        )
        _end_model_calls(X, group, average, scalars, outputs, scratch, loaded_epoch)
    if ends_run:
        for m in range(M):
            fold_model_average(average, X, group, m)
            fold_group_scale(X, coef, M, scale, m)
        _check_finite(X, group, outputs, loaded_epoch)


@jit_inline
def _end_model_calls(X, group, average, scalars, outputs, scratch, epoch):
    """Where a model's fit alone would end a kernel call, end it for that model.

    A one-model fit runs as calls of ``scalars.call_maps[m]`` maps; each ends
    by folding the lazy running mean (averaging), then the lazy scale into
    the weights, and checking them. The folds round, so the group does them
    after the same maps: model ``m``'s countdown
    ``scratch.until_call_end[m]`` (kept between group calls) says when.
    """
    coef, intercept, scale, _ = group
    M = intercept.shape[0]
    until = scratch.until_call_end
    for m in range(M):
        until[m] -= 1
        if until[m] == 0:
            until[m] = scalars.call_maps[m]
            fold_model_average(average, X, group, m)
            fold_group_scale(X, coef, M, scale, m)
            _check_model_finite(X, group, outputs, m, epoch)


@jit_inline
def _prefetch_group_ahead(
    X, targets, coef, n_models, order, within, batch_size, n, ahead, reverse
):
    """Prefetch what the maps after batch ``within`` will read.

    As :func:`~sklearn_order.kernels.cpu.prefetch_ahead` (the rows of the map
    ``ahead`` maps later, where the rows ``2 ahead`` later start, and their
    targets), and the weights the next map's rows touch
    (:func:`~.storage.prefetch_group_weights`): those rows are in cache by
    then, and a group's weights may not be.
    """
    batches = batches_per_epoch(n, batch_size)
    step = -1 if reverse else 1
    within_next = within + step
    if 0 <= within_next < batches:
        next_start, next_stop = batch_bounds(within_next, batch_size, n)
        for r in range(next_start, next_stop):
            prefetch_group_weights(X, order[r], coef, n_models)
    within_ahead = within + step * ahead
    if 0 <= within_ahead < batches:
        ahead_start, ahead_stop = batch_bounds(within_ahead, batch_size, n)
        for r in range(ahead_start, ahead_stop):
            prefetch_x_row(X, order[r])
    within_far = within + 2 * step * ahead
    if 0 <= within_far < batches:
        far_start, far_stop = batch_bounds(within_far, batch_size, n)
        for r in range(far_start, far_stop):
            i = order[r]
            prefetch_row_start(X, i)
            prefetch_row(targets, i)
