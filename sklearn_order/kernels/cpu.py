"""CPU kernels: the update map ``T_B`` and the loop over maps, for every storage.

Written once against the row operations of :mod:`.storage` (dense arrays and
CSR rows) and compiled per storage and dtype. Parameters are held in float64
whatever the dtype of ``X``: each value is read in its own dtype and every
product is formed in float64.

A kernel updates ``n_outputs`` linear models together, ``w = (w_1, …, w_K)``
stored one after the other in ``coef`` and ``b = (b_1, …, b_K)`` in
``intercept``: ``K = 1`` for every scalar loss (one-vs-rest classes are
separate problems), ``K = n_classes`` for the multinomial loss.

Performance note: the per-batch path passes whole arrays plus bounds
(``order``, ``start``, ``stop``) and indexes rows in place. Creating array
views (``order[start:stop]``) per batch costs Numba reference-count updates
that cost more than the arithmetic of a small batch.
"""

from math import isfinite

import numpy as np

from .._jit import jit, jit_inline, prefetch_item
from ..losses import (
    MULTINOMIAL_LOG_LOSS,
    clipped_derivative,
    loss_value,
    multinomial_loss,
)
from ..penalties import l2_decay, soft_threshold
from ..sampling import (
    GRAB,
    advance_map,
    batch_bounds,
    batches_per_epoch,
    fill_epoch_order,
    locate_map,
)
from ..schedules import PA1, is_passive_aggressive, row_step, rule_step_size, step_index
from . import DERIVATIVE_AT_BOUND, NON_FINITE, OK, Model
from .dispatch import unless_none
from .storage import (
    add_row,
    fold_scale,
    n_visited,
    prefetch_row,
    prefetch_row_start,
    row_dot,
    row_sqnorm,
    rows_kernel,
    subtract_batch,
    updates_touch_only_nonzeros,
)

PREFETCH_ROWS = 4
# the lazy scale of weights that carry none
_UNIT_SCALE = np.ones(1)


@jit_inline
def predictions(X, i, model, out, offset):
    """``out[offset + k] = s · (x_i · v_k) + b_k`` for every output ``k``.

    Returns
    -------
    bool
        Whether every prediction is finite.
    """
    coef, intercept, scale = model
    n_outputs = intercept.shape[0]
    d = X.n_features
    finite = True
    for k in range(n_outputs):
        p = scale[0] * row_dot(X, i, coef, k * d) + intercept[k]
        out[offset + k] = p
        finite = finite and isfinite(p)
    return finite


#: What :func:`passive_aggressive_steps` returns for the other schedules:
#: ``(handled, status, loss_sum, moves)`` with ``handled`` false.
NOT_PASSIVE_AGGRESSIVE = (False, OK, 0.0, True)


@unless_none(default=NOT_PASSIVE_AGGRESSIVE)
def passive_aggressive_steps(
    variant, X, y, sample_weight, order, start, stop, model, rule, eta, work
):
    """The rows' terms of a passive-aggressive map (``"pa1"``/``"pa2"``; one output).

    ``work[r] ← (τ_r / |B|) s_i ℓ'(p_i, y_i)`` for row ``i = order[start + r]``,
    with ``τ_r = row_step(variant, C = eta, ℓ(p_i, y_i), ‖x_i‖²)`` at the
    pre-update ``θ``; PA-I rows with ``x_i = 0`` get 0 (no step is defined).
    With ``variant=None`` (every other schedule) it is compiled to nothing
    and returns :data:`NOT_PASSIVE_AGGRESSIVE`, so that only a
    passive-aggressive fit pays for this code.

    Parameters
    ----------
    variant : int or None
        ``rule.passive_aggressive``: ``PA1``, ``PA2`` or ``None``.
    X, y, sample_weight, order, start, stop, model, rule, work
        As in :func:`apply_update_map`.
    eta : float
        The aggressiveness ``C`` (``eta0``).

    Returns
    -------
    handled : bool
        True (false only for ``variant=None``).
    status : int
        ``OK``, ``DERIVATIVE_AT_BOUND`` or ``NON_FINITE``.
    loss_sum : float
        ``Σ_{i∈B} s_i ℓ(x_i·w + b, y_i)``.
    moves : bool
        False when every row was skipped (PA-I, all ``x_i = 0``): the map is
        then the identity, weight decay included, as scikit-learn skips such a
        sample.
    """
    batch = stop - start
    loss_sum = 0.0
    skipped = 0
    for r in range(batch):
        i = order[start + r]
        if not predictions(X, i, model, work, r):
            return True, NON_FINITE, loss_sum, True
        p = work[r]
        d, diverged = clipped_derivative(
            rule.loss, rule.loss_param, y[i], p, rule.prediction_bound
        )
        if diverged:
            return True, DERIVATIVE_AT_BOUND, loss_sum, True
        value = loss_value(rule.loss, rule.loss_param, y[i], p)
        loss_sum += sample_weight[i] * value
        sqnorm = row_sqnorm(X, i)
        if sqnorm == 0.0 and variant == PA1:
            skipped += 1
            work[r] = 0.0
        else:
            tau = row_step(variant, eta, value, sqnorm)
            work[r] = tau / batch * sample_weight[i] * d
    return True, OK, loss_sum, skipped < batch


@unless_none(default=0.0)
def tracked_loss(epoch_losses, rule, y, p):
    """``ℓ(p, y)`` when losses are tracked (``epoch_losses`` given), else 0."""
    return loss_value(rule.loss, rule.loss_param, y, p)


@rows_kernel
@jit
def apply_update_map(
    X, y, sample_weight, order, start, stop, model, rule, eta, work, epoch_losses
):
    """Apply the update map ``T_B`` of the batch ``B = order[start:stop]``, in place.

    ``T_B(θ) = S_{η l1}((1 − η l2)₊ w − η g_B(θ))``, ``b ← b − η g_B^b(θ)``
    with ``g_B(θ) = (1/|B|) Σ_{i∈B} s_i ∇_θ ℓ(x_i·w + b, y_i)``: every
    derivative is taken at the pre-update ``θ``, so the result is a function
    of ``θ`` and ``B`` alone, and clipped to ``±MAX_DLOSS`` as in
    scikit-learn (:func:`~sklearn_order.losses.clipped_derivative`, which
    also tells divergence from a large target). This is the one definition
    of the update map.

    Passive-aggressive schedules (``"pa1"``, ``"pa2"``; scalar losses) replace
    ``η`` in row ``i``'s term by its own step
    ``τ_i = row_step(schedule, η, ℓ_i, ‖x_i‖²)``, also taken at the
    pre-update ``θ`` (``η = C`` then sets only the weight decay and the L1
    threshold): :func:`passive_aggressive_steps`. Under PA-I rows with
    ``x_i = 0`` contribute nothing, and a batch of only such rows leaves ``θ``
    unchanged (scikit-learn skips such a sample).

    Compiled as a function of its own rather than inlined into
    :func:`apply_steps`: every variant of that kernel (one per combination
    of the optional features) then calls the same compiled map, instead of
    typing and optimizing it again, and calling it costs nothing measurable
    per batch (``benchmarks/bench_kernel_ab.py``).

    Parameters
    ----------
    X : Rows
        The rows of ``X`` (:func:`.storage.kernel_rows`).
    y : ndarray of shape (n_samples,)
        Targets (``±1`` for classification, the class index for the
        multinomial loss).
    sample_weight : ndarray of shape (n_samples,)
        Sample × class weights ``s_i``.
    order : ndarray of shape (n_rows,), dtype int64
        Row indices; the batch is ``order[start:stop]``.
    start, stop : int
        Bounds of the batch in ``order`` (``stop > start``).
    model : Model
        ``(coef, intercept, scale)``, updated in place.
    rule : UpdateRule
    eta : float
        Step size of this map.
    work : ndarray of shape (>= (stop - start) * n_outputs,), float64
        Scratch space.
    epoch_losses : ndarray or None
        Only whether it is ``None`` matters: if not, the batch's weighted
        loss at the pre-update ``θ`` is returned (else the kernel does not
        compute it).

    Returns
    -------
    status : int
        ``OK``, ``DERIVATIVE_AT_BOUND`` or ``NON_FINITE``.
    loss_sum : float
        ``Σ_{i∈B} s_i ℓ(x_i·w + b, y_i)`` when tracked (passive-aggressive
        schedules and the multinomial loss always compute it).
    """
    coef, intercept, scale = model
    n_outputs = intercept.shape[0]
    batch = stop - start
    step = eta / batch
    handled, status, loss_sum, moves = passive_aggressive_steps(
        rule.passive_aggressive,
        X,
        y,
        sample_weight,
        order,
        start,
        stop,
        model,
        rule,
        eta,
        work,
    )
    if handled:
        if status != OK or not moves:
            return status, loss_sum
    else:
        # work[r * n_outputs + k] ← step · s_i · ∂ℓ/∂p_k at the pre-update θ
        for r in range(batch):
            i = order[start + r]
            base = r * n_outputs
            if not predictions(X, i, model, work, base):
                return NON_FINITE, loss_sum
            if rule.loss == MULTINOMIAL_LOG_LOSS:
                value = multinomial_loss(work, base, n_outputs, int(y[i]))
                for k in range(n_outputs):
                    work[base + k] = step * sample_weight[i] * work[base + k]
            else:
                p = work[base]
                d, diverged = clipped_derivative(
                    rule.loss, rule.loss_param, y[i], p, rule.prediction_bound
                )
                if diverged:
                    return DERIVATIVE_AT_BOUND, loss_sum
                work[base] = step * sample_weight[i] * d
                value = tracked_loss(epoch_losses, rule, y[i], p)
            loss_sum += sample_weight[i] * value

    subtract_batch(
        X, order, start, stop, work, n_outputs, l2_decay(eta, rule.l2), coef, scale
    )
    if rule.fit_intercept:
        subtract_intercept_steps(intercept, work, batch)
    if rule.l1 > 0.0:
        fold_scale(coef, scale)
        soft_threshold(coef, eta * rule.l1)
    return OK, loss_sum


@jit_inline
def subtract_intercept_steps(intercept, work, batch):
    """``b_k ← b_k − Σ_r work[r, k]`` for each of the ``len(intercept)`` outputs.

    ``work[r * n_outputs + k]`` is row ``r``'s step for output ``k``; the
    rows are summed in order.
    """
    n_outputs = intercept.shape[0]
    for k in range(n_outputs):
        intercept_step = 0.0
        for r in range(batch):
            intercept_step += work[r * n_outputs + k]
        intercept[k] -= intercept_step


@unless_none(default=False)
def read_order_table(table, scheme, epoch, order):
    """Copy epoch ``epoch``'s order from GraB's ``table``; whether it did.

    Seeded epochs (every scheme but GraB, and GraB's first epoch) are not in
    the table; with no table (``None``) the kernel has no code for it.
    """
    if scheme != GRAB or epoch == 0:
        return False
    row = epoch % table.shape[0]
    for r in range(order.shape[0]):
        order[r] = table[row, r]
    return True


@jit_inline
def load_epoch_order(sequence, epoch, order, subset):
    """Write the row order of ``epoch`` into ``order``.

    Seeded schemes (and GraB's first epoch) are generated from
    ``(seed, epoch)`` over the positions ``0 … len(order) − 1``, then mapped
    to rows through ``subset`` (see :class:`~.storage.DenseRows`) if it is
    not empty; later GraB epochs are copied from ``sequence.table``, which
    holds rows.
    """
    if not read_order_table(sequence.table, sequence.scheme, epoch, order):
        fill_epoch_order(sequence.scheme, sequence.seed, epoch, order)
        if subset.shape[0] > 0:
            for r in range(order.shape[0]):
                order[r] = subset[order[r]]


@unless_none()
def start_herding(herding, epoch, n_samples):
    """Begin an epoch of GraB: the last epoch's mean becomes the stale mean."""
    sums, pointers = herding
    for j in range(sums.shape[1]):
        sums[1, j] = sums[2, j] if epoch > 0 else 0.0
        sums[0, j] = 0.0
        sums[2, j] = 0.0
    pointers[0] = 0
    pointers[1] = n_samples - 1


@unless_none()
def herd(
    herding, X, order, start, stop, work, step, n_outputs, n_samples, table, epoch
):
    """Place the batch's examples in the next epoch's order (GraB's herding).

    For each example, with gradient ``g = s_i ∇_θ ℓ_i`` (taken at the
    pre-update ``θ`` of its batch, recovered from the update's ``work``) and
    ``c = g − m`` (``m``: the previous epoch's mean gradient, stale): if
    ``‖S + c‖ < ‖S − c‖`` (i.e. ``S·c < 0``) then ``S ← S + c`` and the
    example goes to the next free place ``nxt[pointers[0]]`` at the front,
    else ``S ← S − c`` and it goes to ``nxt[pointers[1]]`` at the back, ``nxt``
    being the next epoch's row of the order ``table`` (Lu, Guo
    & De Sa, 2022, Algorithm 4). The current epoch's mean gradient
    accumulates in ``herding[2]``. Vectors are laid out as
    ``(w_1, …, w_K, b_1, …, b_K)`` (``K = n_outputs``); an example costs
    ``O(K n_features)`` whatever the storage (the stale mean is dense).
    ``herding`` is a :class:`~sklearn_order.kernels.Herding` (``None``: no
    code).
    """
    sums, pointers = herding
    nxt = table[(epoch + 1) % table.shape[0]]
    size = sums.shape[1]
    d = X.n_features
    total, stale, mean = sums[0], sums[1], sums[2]
    for r in range(stop - start):
        i = order[start + r]
        base = r * n_outputs
        s_dot_c = 0.0
        for k in range(n_outputs):
            a = work[base + k] / step  # s_i ∂ℓ/∂p_k
            s_dot_c += a * (row_dot(X, i, total, k * d) + total[n_outputs * d + k])
        for j in range(size):
            s_dot_c -= total[j] * stale[j]
        sign = 1.0 if s_dot_c < 0.0 else -1.0
        for j in range(size):
            total[j] -= sign * stale[j]
        for k in range(n_outputs):
            a = work[base + k] / step
            add_row(X, i, sign * a, total, k * d)
            total[n_outputs * d + k] += sign * a
            add_row(X, i, a / n_samples, mean, k * d)
            mean[n_outputs * d + k] += a / n_samples
        if sign > 0.0:
            nxt[pointers[0]] = i
            pointers[0] += 1
        else:
            nxt[pointers[1]] = i
            pointers[1] -= 1


@jit
def prefetch_ahead(X, y, sample_weight, order, within, batch_size, n, ahead, reverse):
    """Prefetch what the maps after batch ``within`` of the loaded epoch will read.

    In two stages: where the rows of the batch ``2 · ahead`` maps later start
    (CSR) and their targets and weights, then the rows of the batch
    ``ahead`` maps later, whose addresses are by then in cache. ``reverse``:
    the maps run newest first, so later maps are earlier batches. Only
    batches of the loaded epoch are prefetched (``order`` holds its rows).
    """
    batches = batches_per_epoch(n, batch_size)
    within_ahead = within - ahead if reverse else within + ahead
    if 0 <= within_ahead < batches:
        ahead_start, ahead_stop = batch_bounds(within_ahead, batch_size, n)
        for r in range(ahead_start, ahead_stop):
            prefetch_row(X, order[r])
    within_far = within - 2 * ahead if reverse else within + 2 * ahead
    if 0 <= within_far < batches:
        far_start, far_stop = batch_bounds(within_far, batch_size, n)
        for r in range(far_start, far_stop):
            i = order[r]
            prefetch_row_start(X, i)
            prefetch_item(y, i)
            prefetch_item(sample_weight, i)


@jit_inline
def prefetch_distance(batch_size):
    """Maps to prefetch ahead: about ``PREFETCH_ROWS`` rows, at least one map."""
    return max(1, PREFETCH_ROWS // batch_size)


@jit_inline
def _finite(model):
    """Whether every coefficient, intercept and the scale are finite."""
    coef, intercept, scale = model
    if not isfinite(scale[0]):
        return False
    for k in range(intercept.shape[0]):
        if not isfinite(intercept[k]):
            return False
    for j in range(coef.shape[0]):
        if not isfinite(coef[j]):
            return False
    return True


@jit_inline
def _copy_parameters(model, out):
    """``out = (s v, b)``: the weights (lazy scale applied) then the intercepts."""
    coef, intercept, scale = model
    n_coef = coef.shape[0]
    for j in range(n_coef):
        out[j] = scale[0] * coef[j]
    for k in range(intercept.shape[0]):
        out[n_coef + k] = intercept[k]


#: The lazy running mean is folded before a map would give the current
#: iterate a weight above this in it (see :func:`update_average`): the
#: cancellation between ``A`` and ``γ w`` then costs at most about this many
#: ulps of a step. Without weight decay the weight stays below 1.
AVERAGE_FOLD_WEIGHT = 16.0


@jit
def averages_lazily(rule):
    """Whether a fit's running mean may follow its maps lazily on CSR rows.

    No L1 soft-thresholding (it moves every weight), and no weight decay
    under a passive-aggressive schedule (a map that skips its batch leaves
    the weights undecayed). The one statement of this rule: the kernel adds
    the per-map conditions (:func:`_lazy_average_map`), and the problem uses
    it to size its kernel calls.
    """
    return rule.l1 == 0.0 and not (
        is_passive_aggressive(rule.schedule) and rule.l2 > 0.0
    )


@jit_inline
def _lazy_average_map(X, rule, decay):
    """Whether the running mean can follow this map lazily (:func:`update_average`).

    CSR rows (a constant of the kernel), a positive decay, and a rule that
    allows it (:func:`averages_lazily`).
    """
    return updates_touch_only_nonzeros(X) and decay > 0.0 and averages_lazily(rule)


@unless_none()
def copy_average(average, model, out):
    """``out = (w̄, b̄)``, the running mean (the one reading of :class:`~.Average`).

    ``w̄ = (m_f / m)(A + γ s v)`` while the mean is lazy (``γ ≠ 0``), else
    ``mean`` as stored. ``out`` may be ``average.mean`` itself.
    """
    coef, intercept, scale = model
    mean = average.mean
    gamma = average.lazy[0]
    n_coef = coef.shape[0]
    if gamma == 0.0:
        for j in range(n_coef):
            out[j] = mean[j]
    else:
        ratio = average.lazy[1] / average.lazy[2]
        c = gamma * scale[0]
        for j in range(n_coef):
            out[j] = (mean[j] + c * coef[j]) * ratio
    for k in range(intercept.shape[0]):
        out[n_coef + k] = mean[n_coef + k]


@unless_none()
def fold_average(average, model):
    """Store the running mean itself in ``average.mean`` (``γ ← 0``); O(n_coef).

    Called at the end of every call, so that ``mean`` is the running mean
    between calls.
    """
    if average.lazy[0] != 0.0:
        copy_average(average, model, average.mean)
        average.lazy[0] = 0.0


@unless_none()
def prepare_average(average, X, rule, eta, model):
    """Before a map: fold the lazy mean if the map cannot be followed lazily.

    That is, if it zeroes the weights or soft-thresholds them
    (:func:`_lazy_average_map`), or if it would raise the current iterate's
    weight in the mean, ``γ m_f / (decay · m)``, above
    :data:`AVERAGE_FOLD_WEIGHT`.
    """
    gamma = average.lazy[0]
    if gamma != 0.0:
        decay = l2_decay(eta, rule.l2)
        if not _lazy_average_map(X, rule, decay) or (
            gamma * average.lazy[1] > AVERAGE_FOLD_WEIGHT * decay * average.lazy[2]
        ):
            fold_average(average, model)


@unless_none(default=False)
def update_average(average, t, model, X, order, start, stop, work, rule, eta):
    """Fold the iterate after the map of step index ``t`` into the running mean.

    The mean of the first ``m`` iterates is ``w̄_m = w̄_{m−1} + (w_m −
    w̄_{m−1}) / m``. Computed so, it costs ``O(n_coef)`` per map, while on
    CSR rows the map itself costs the batch's non-zeros: it moves the
    weights as ``w' = λ w − G``, with ``λ = (1 − η l2)₊`` applied to the
    lazy scale (``w = s v``) and ``G = Σ_r work[r] x_r`` sparse. The weights'
    part of the mean is then kept lazily, as ``w̄_m = (m_f / m)(A + γ w_m)``:
    after a fold ``A = w̄_{m_f}``, ``γ = 0``. Writing the previous iterate
    as ``w = (w' + G) / λ``,

        ``A + γ w = (A + (γ/λ) G) + (γ/λ) w'``, and
        ``m w̄_m = (m − 1) w̄_{m−1} + w'`` adds ``w' / m_f`` to ``A + γ w``,

    so a map updates ``A ← A + (γ/λ) G`` (the batch's non-zeros) and
    ``γ ← γ/λ + 1/m_f`` (two scalars), whatever the lazy scale ``s`` does
    (folds of ``s`` into ``v`` leave ``w`` unchanged). :func:`prepare_average`
    folds the mean (``A ← w̄``, ``γ ← 0``; O(n_coef)) before a map it cannot
    follow: ``λ = 0`` or L1 soft-thresholding (the map is dense anyway), or
    ``γ`` grown so large under strong decay that ``A`` and ``γ w`` would
    cancel each other's digits. The first iterate (``m = 1``), dense rows
    (a dense map costs ``n_features`` per row anyway) and those maps use the
    update above; the intercepts' mean always does (``O(n_outputs)``).

    Returns whether averaging has started (``t ≥ average.start``); with no
    average (``None``) the kernel has no code for it.
    """
    if t < average.start:
        return False
    coef, intercept, scale = model
    mean = average.mean
    lazy = average.lazy
    n_coef = coef.shape[0]
    n_outputs = intercept.shape[0]
    seen = t - average.start + 1
    weight = 1.0 / seen
    for c in range(n_outputs):
        j = n_coef + c
        mean[j] += (intercept[c] - mean[j]) * weight
    decay = l2_decay(eta, rule.l2)
    if seen > 1 and _lazy_average_map(X, rule, decay):
        gamma = lazy[0]
        if gamma == 0.0:
            lazy[1] = seen - 1.0  # mean holds w̄_{m−1}: A = w̄_{m_f}
        else:
            gamma /= decay
            d = X.n_features
            for r in range(stop - start):
                i = order[start + r]
                for k in range(n_outputs):
                    g = work[r * n_outputs + k]
                    if g != 0.0:
                        add_row(X, i, gamma * g, mean, k * d)
        lazy[0] = gamma + 1.0 / lazy[1]
        lazy[2] = seen
    else:
        s = scale[0]
        for j in range(n_coef):
            mean[j] += (s * coef[j] - mean[j]) * weight
    return True


@unless_none()
def record_iterate(records, every, q, averaging, average, model):
    """After the ``q + 1``-th map of a call, record what a fit of that length reports.

    Every ``every`` maps: the running mean if ``averaging``, else ``θ``.
    """
    if (q + 1) % every == 0:
        row = records[(q + 1) // every - 1]
        if averaging:
            copy_average(average, model, row)
        else:
            _copy_parameters(model, row)


@unless_none()
def add_epoch_loss(epoch_losses, index, batch_loss):
    """``epoch_losses[index] += batch_loss`` when losses are tracked."""
    epoch_losses[index] += batch_loss


@rows_kernel
@jit
def apply_steps(
    X, y, sample_weight, model, rule, sequence, steps, outputs, state, scratch
):
    """Apply the update maps ``first_step + 1 … first_step + n_steps``, in place.

    Map ``k`` (1-based, counted over the whole batch sequence) is batch
    ``(k − 1) mod B`` of epoch ``(k − 1) // B`` (``B`` batches per epoch).
    With ``reverse=False`` the maps are applied oldest first (forward
    composition); with ``reverse=True`` newest first, so that the result is
    ``T_{first+1} ∘ … ∘ T_{first+n} (θ)`` (the backward composition is one
    pass over the reversed sequence). Map ``k`` has step index
    ``k + step_offset`` in the learning-rate schedule whichever direction it
    is applied in: a map is the same map in both orders.

    A kernel is compiled per storage and per combination of the features in
    use: a ``None`` field (no table, no herding, no average, no loss, no
    records) compiles to no code.

    Parameters
    ----------
    X, y, sample_weight, rule
        As in :func:`apply_update_map`.
    model : Model
        ``(coef, intercept, scale)``; ``scale`` is scratch space for the
        lazy scale of the weights (CSR rows): the weights are scaled in place
        on return, and ``scale[0]`` is 1.
    sequence : BatchSequence
        The seeded batch sequence (and GraB's order table).
    steps : StepRange
        The maps to apply, the direction, the schedule's offset and base step.
    outputs : Outputs
        Epoch losses and recorded iterates, each ``None`` when not wanted.
    state : OptionalState
        GraB's herding state (forward ``"grab"`` calls; it builds
        ``sequence.table``'s next rows) and the running average (forward
        calls), each ``None`` when off; kept between calls.
    scratch : Scratch

    Returns
    -------
    status : int
        ``OK`` or the failure status of :func:`apply_update_map`.
    failed_epoch : int
        Epoch in which the composition failed, ``-1`` if none.
    """
    coef, intercept, scale = model
    order, work = scratch
    batch_size = sequence.batch_size
    n_steps = steps.n_steps
    reverse = steps.reverse
    n = n_visited(X, y)
    n_outputs = intercept.shape[0]
    batches = batches_per_epoch(n, batch_size)
    first_epoch, _ = locate_map(steps.first_step, batches)
    # prefetch the rows of the map applied `ahead` maps later: about
    # PREFETCH_ROWS rows ahead of use, enough to cover a memory access
    ahead = prefetch_distance(batch_size)
    scale[0] = 1.0
    loaded_epoch = -1
    # map k is batch `within` of epoch `epoch`, both stepped with k
    k = steps.first_step + n_steps - 1 if reverse else steps.first_step  # 0-based
    epoch, within = locate_map(k, batches)
    for q in range(n_steps):
        if q > 0:
            k, epoch, within = advance_map(k, epoch, within, batches, reverse)
        if epoch != loaded_epoch:
            if loaded_epoch >= 0 and not _finite(model):
                fold_average(state.average, model)
                return NON_FINITE, loaded_epoch
            load_epoch_order(sequence, epoch, order, X.subset)
            if within == 0:  # a call may resume mid-epoch
                start_herding(state.herding, epoch, n)
            loaded_epoch = epoch
        start, stop = batch_bounds(within, batch_size, n)
        prefetch_ahead(
            X, y, sample_weight, order, within, batch_size, n, ahead, reverse
        )
        t = step_index(k, steps.step_offset)
        eta_t = rule_step_size(rule, steps.eta, t)
        prepare_average(state.average, X, rule, eta_t, model)
        status, batch_loss = apply_update_map(
            X,
            y,
            sample_weight,
            order,
            start,
            stop,
            model,
            rule,
            eta_t,
            work,
            outputs.epoch_losses,
        )
        if status != OK:
            fold_average(state.average, model)
            return status, epoch
        herd(
            state.herding,
            X,
            order,
            start,
            stop,
            work,
            eta_t / (stop - start),
            n_outputs,
            n,
            sequence.table,
            epoch,
        )
        add_epoch_loss(outputs.epoch_losses, epoch - first_epoch, batch_loss)
        averaging = update_average(
            state.average, t, model, X, order, start, stop, work, rule, eta_t
        )
        record_iterate(
            outputs.records, outputs.record_every, q, averaging, state.average, model
        )
    fold_average(state.average, model)
    fold_scale(coef, scale)
    if not _finite(model):
        return NON_FINITE, loaded_epoch
    return OK, -1


@rows_kernel
@jit
def mean_loss(X, y, sample_weight, coef, intercept, rule, work):
    """``(1/n) Σ_i s_i ℓ(x_i·w + b, y_i)``: the data term of the training objective.

    ``work`` is scratch space of shape ``(n_outputs,)``.
    """
    n_outputs = intercept.shape[0]
    n = n_visited(X, y)
    model = Model(coef, intercept, _UNIT_SCALE)
    total = 0.0
    for p in range(n):
        i = X.subset[p] if X.subset.shape[0] > 0 else p
        predictions(X, i, model, work, 0)
        if rule.loss == MULTINOMIAL_LOG_LOSS:
            value = multinomial_loss(work, 0, n_outputs, int(y[i]))
        else:
            value = loss_value(rule.loss, rule.loss_param, y[i], work[0])
        total += sample_weight[i] * value
    return total / n
