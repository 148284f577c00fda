"""CPU kernels for dense ``X`` (C-contiguous float32 or float64).

Parameters are held in float64 whatever the dtype of ``X``: each row is read
in its own dtype and every product is formed in float64.

Performance note: the per-batch path passes whole arrays plus bounds
(``order``, ``start``, ``stop``) and indexes rows in place (``X[i, j]``).
Creating array views (``order[start:stop]``, ``X[i]``) per batch costs Numba
reference-count updates that cost more than the arithmetic of a small batch.
"""

from math import fabs, isfinite

from .._jit import jit, jit_inline, jit_inline_dual, prefetch_item, prefetch_row
from ..losses import MAX_DLOSS, loss_derivative, loss_value
from ..penalties import l2_decay, soft_threshold
from ..sampling import GRAB, fill_epoch_order
from ..schedules import step_size
from . import DERIVATIVE_AT_BOUND, NON_FINITE, OK

PREFETCH_ROWS = 4


@jit_inline_dual
def row_dot(X, i, w):
    """``X[i] · w`` with eight partial sums, combined in a fixed order.

    Independent accumulators let the CPU overlap the additions (a single sum
    is bound by the latency of one addition per feature); the fixed
    combination keeps the result the same on every run.
    """
    n = w.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    s5 = 0.0
    s6 = 0.0
    s7 = 0.0
    j = 0
    while j + 8 <= n:
        s0 += X[i, j] * w[j]
        s1 += X[i, j + 1] * w[j + 1]
        s2 += X[i, j + 2] * w[j + 2]
        s3 += X[i, j + 3] * w[j + 3]
        s4 += X[i, j + 4] * w[j + 4]
        s5 += X[i, j + 5] * w[j + 5]
        s6 += X[i, j + 6] * w[j + 6]
        s7 += X[i, j + 7] * w[j + 7]
        j += 8
    while j < n:
        s0 += X[i, j] * w[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@jit_inline
def apply_update_map(
    X,
    y,
    sample_weight,
    order,
    start,
    stop,
    coef,
    intercept,
    rule,
    eta,
    work,
    track_loss,
):
    """Apply the update map ``T_B`` of the batch ``B = order[start:stop]``, in place.

    ``T_B(θ) = S_{η l1}((1 − η l2)₊ w − η g_B(θ))``, ``b ← b − η g_B^b(θ)``
    with ``g_B(θ) = (1/|B|) Σ_{i∈B} s_i ℓ'(x_i·w + b, y_i) (x_i, 1)``: every
    derivative is taken at the pre-update ``θ``, so the result is a function
    of ``θ`` and ``B`` alone. This is the one definition of the update map.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Targets (``±1`` for classification).
    sample_weight : ndarray of shape (n_samples,)
        Sample × class weights ``s_i``.
    order : ndarray of shape (n_rows,), dtype int64
        Row indices; the batch is ``order[start:stop]``.
    start, stop : int
        Bounds of the batch in ``order`` (``stop > start``).
    coef : ndarray of shape (n_features,), float64
        Weights ``w``, updated in place.
    intercept : ndarray of shape (1,), float64
        Intercept ``b``, updated in place.
    rule : UpdateRule
    eta : float
        Step size of this map.
    work : ndarray of shape (>= stop - start,), float64
        Scratch space.
    track_loss : bool
        Whether to return the batch's weighted loss at the pre-update ``θ``.

    Returns
    -------
    status : int
        ``OK``, ``DERIVATIVE_AT_BOUND`` or ``NON_FINITE``.
    loss_sum : float
        ``Σ_{i∈B} s_i ℓ(x_i·w + b, y_i)`` if ``track_loss`` else 0.
    """
    batch = stop - start
    b0 = intercept[0]
    step = eta / batch
    loss_sum = 0.0
    for r in range(batch):
        i = order[start + r]
        p = row_dot(X, i, coef) + b0
        if not isfinite(p):
            return NON_FINITE, loss_sum
        d = loss_derivative(rule.loss, rule.loss_param, y[i], p)
        if fabs(d) >= MAX_DLOSS:
            return DERIVATIVE_AT_BOUND, loss_sum
        work[r] = step * sample_weight[i] * d
        if track_loss:
            loss_sum += sample_weight[i] * loss_value(
                rule.loss, rule.loss_param, y[i], p
            )

    # w ← decay·w − Σ_r work[r] x_r, with the decay fused into the first row.
    decay = l2_decay(eta, rule.l2)
    pending_decay = decay != 1.0
    intercept_step = 0.0
    n_features = coef.shape[0]
    for r in range(batch):
        g = work[r]
        if g == 0.0:
            continue
        intercept_step += g
        i = order[start + r]
        if pending_decay:
            for j in range(n_features):
                coef[j] = decay * coef[j] - g * X[i, j]
            pending_decay = False
        else:
            for j in range(n_features):
                coef[j] -= g * X[i, j]
    if pending_decay:
        for j in range(n_features):
            coef[j] *= decay
    if rule.fit_intercept:
        intercept[0] = b0 - intercept_step
    if rule.l1 > 0.0:
        soft_threshold(coef, eta * rule.l1)
    return OK, loss_sum


@jit_inline
def load_epoch_order(scheme, seed, epoch, table, order):
    """Write the row order of ``epoch`` into ``order``.

    Seeded schemes (and GraB's first epoch) are generated from
    ``(seed, epoch)``; later GraB epochs are copied from ``table``.
    """
    if scheme == GRAB and epoch > 0:
        row = epoch % table.shape[0]
        for r in range(order.shape[0]):
            order[r] = table[row, r]
    else:
        fill_epoch_order(scheme, seed, epoch, order)


@jit_inline
def start_herding(herding, pointers, epoch, n_samples):
    """Begin an epoch of GraB: the last epoch's mean becomes the stale mean."""
    for j in range(herding.shape[1]):
        herding[1, j] = herding[2, j] if epoch > 0 else 0.0
        herding[0, j] = 0.0
        herding[2, j] = 0.0
    pointers[0] = 0
    pointers[1] = n_samples - 1


@jit_inline
def herd(X, order, start, stop, work, step, herding, pointers, next_order):
    """Place the batch's examples in the next epoch's order (GraB's herding).

    For each example, with gradient ``g = s_i ℓ'_i (x_i, 1)`` (taken at the
    pre-update ``θ`` of its batch, recovered from the update's ``work``) and
    ``c = g − m`` (``m``: the previous epoch's mean gradient, stale): if
    ``‖S + c‖ < ‖S − c‖`` (i.e. ``S·c < 0``) then ``S ← S + c`` and the
    example goes to the next free place at the front, else ``S ← S − c`` and
    it goes to the next free place at the back (Lu, Guo & De Sa, 2022,
    Algorithm 4). The current epoch's mean gradient accumulates in
    ``herding[2]``.
    """
    n_samples = X.shape[0]
    d = X.shape[1]
    for r in range(stop - start):
        i = order[start + r]
        a = work[r] / step  # s_i ℓ'(p_i, y_i)
        s_dot_c = a * herding[0, d] - herding[0, d] * herding[1, d]
        for j in range(d):
            s_dot_c += herding[0, j] * (a * X[i, j] - herding[1, j])
        sign = 1.0 if s_dot_c < 0.0 else -1.0
        for j in range(d):
            g = a * X[i, j]
            herding[0, j] += sign * (g - herding[1, j])
            herding[2, j] += g / n_samples
        herding[0, d] += sign * (a - herding[1, d])
        herding[2, d] += a / n_samples
        if sign > 0.0:
            next_order[pointers[0]] = i
            pointers[0] += 1
        else:
            next_order[pointers[1]] = i
            pointers[1] -= 1


@jit_inline
def _finite(coef, intercept):
    """Whether every coefficient and the intercept are finite."""
    if not isfinite(intercept[0]):
        return False
    for j in range(coef.shape[0]):
        if not isfinite(coef[j]):
            return False
    return True


@jit
def apply_steps(
    X,
    y,
    sample_weight,
    coef,
    intercept,
    rule,
    eta,
    scheme,
    seed,
    batch_size,
    first_step,
    n_steps,
    reverse,
    step_offset,
    track_loss,
    epoch_losses,
    record_every,
    records,
    table,
    order,
    work,
    herding,
    pointers,
    average_start,
    averaged,
):
    """Apply the update maps ``first_step + 1 … first_step + n_steps``, in place.

    Map ``k`` (1-based, counted over the whole batch sequence) is batch
    ``(k − 1) mod B`` of epoch ``(k − 1) // B`` (``B`` batches per epoch).
    With ``reverse=False`` the maps are applied oldest first (forward
    composition); with ``reverse=True`` newest first, so that the result is
    ``T_{first+1} ∘ … ∘ T_{first+n} (θ)`` (backward composition, design.md
    fact 1). Map ``k`` has step index ``k + step_offset`` in the learning-rate
    schedule whichever direction it is applied in: a map is the same map in
    both orders.

    Parameters
    ----------
    X, y, sample_weight, coef, intercept, rule
        As in :func:`apply_update_map`.
    eta : float
        Base step size of the schedule.
    scheme : int
        Sampling scheme (:data:`sklearn_order.sampling.SAMPLINGS`).
    seed : int
        Seed of the batch sequence.
    batch_size : int
    first_step, n_steps : int
        The maps ``first_step + 1 … first_step + n_steps``.
    reverse : bool
        Apply the newest map first.
    step_offset : int
        Shift of the schedule's step index (``partial_fit`` continues ``t_``).
    track_loss : bool
        Add each map's summed weighted loss (at pre-update predictions) to
        ``epoch_losses[epoch − first_step // B]``.
    epoch_losses : ndarray of shape (n_epochs_spanned,), float64
        Output for ``track_loss`` (the caller zeroes it).
    record_every : int
        If positive, copy ``θ = (coef, intercept)`` — or, once averaging has
        started, the running mean — into ``records[r − 1]`` after the
        ``r · record_every``-th map applied by this call.
    records : ndarray of shape (n_steps // record_every, n_features + 1)
        Output for ``record_every``.
    table : ndarray of shape (n_rows, n_samples), int64
        ``"grab"`` only (else unused): epoch ``e ≥ 1`` reads its order from
        ``table[e % n_rows]``. A forward call builds them: during epoch ``e``
        it writes epoch ``e + 1``'s order into ``table[(e + 1) % n_rows]``
        (two rows suffice for a forward pass; a backward pass over ``E``
        epochs reads a table of ``E`` rows built by a forward pass).
    order : ndarray of shape (n_samples,), int64
        Scratch space for an epoch's row order.
    work : ndarray of shape (batch_size,), float64
        Scratch space for the update map.
    herding : ndarray of shape (3, n_features + 1), float64
        ``"grab"`` forward calls only: the running signed sum, the previous
        epoch's mean gradient and the current epoch's mean gradient; kept
        between calls so that an epoch-by-epoch fit continues the herding.
    pointers : ndarray of shape (2,), int64
        ``"grab"`` forward calls only: the next free positions at the front
        and at the back of the order being built.
    average_start : int
        If positive, keep in ``averaged`` the running mean of the iterates
        after maps ``average_start, average_start + 1, …`` (step indices,
        Polyak–Ruppert averaging; forward calls).
    averaged : ndarray of shape (n_features + 1,), float64
        The running mean ``(w̄, b̄)``, kept between calls.

    Returns
    -------
    status : int
        ``OK`` or the failure status of :func:`apply_update_map`.
    failed_epoch : int
        Epoch in which the composition failed, ``-1`` if none.
    """
    n = X.shape[0]
    n_features = coef.shape[0]
    batches = (n + batch_size - 1) // batch_size
    first_epoch = first_step // batches
    # prefetch the rows of the map applied `ahead` maps later: about
    # PREFETCH_ROWS rows ahead of use, enough to cover a memory access
    ahead = max(1, PREFETCH_ROWS // batch_size)
    balance = scheme == GRAB and not reverse
    loaded_epoch = -1
    for q in range(n_steps):
        k = first_step + (n_steps - 1 - q if reverse else q)  # 0-based map index
        epoch = k // batches
        if epoch != loaded_epoch:
            if loaded_epoch >= 0 and not _finite(coef, intercept):
                return NON_FINITE, loaded_epoch
            load_epoch_order(scheme, seed, epoch, table, order)
            if balance and k == epoch * batches:  # a call may resume mid-epoch
                start_herding(herding, pointers, epoch, n)
            loaded_epoch = epoch
        start = (k - epoch * batches) * batch_size
        stop = min(start + batch_size, n)
        if q + ahead < n_steps:
            k_ahead = k - ahead if reverse else k + ahead
            if k_ahead // batches == epoch:
                ahead_start = (k_ahead - epoch * batches) * batch_size
                for r in range(ahead_start, min(ahead_start + batch_size, n)):
                    i = order[r]
                    prefetch_row(X, i)
                    prefetch_item(y, i)
                    prefetch_item(sample_weight, i)
        eta_t = step_size(
            rule.schedule,
            eta,
            k + 1 + step_offset,
            rule.power_t,
            rule.alpha,
            rule.optimal_t0,
        )
        status, batch_loss = apply_update_map(
            X,
            y,
            sample_weight,
            order,
            start,
            stop,
            coef,
            intercept,
            rule,
            eta_t,
            work,
            track_loss,
        )
        if status != OK:
            return status, epoch
        if balance:
            herd(
                X,
                order,
                start,
                stop,
                work,
                eta_t / (stop - start),
                herding,
                pointers,
                table[(epoch + 1) % table.shape[0]],
            )
        if track_loss:
            epoch_losses[epoch - first_epoch] += batch_loss
        t = k + 1 + step_offset
        averaging = average_start > 0 and t >= average_start
        if averaging:
            weight = 1.0 / (t - average_start + 1)
            for j in range(n_features):
                averaged[j] += (coef[j] - averaged[j]) * weight
            averaged[n_features] += (intercept[0] - averaged[n_features]) * weight
        if record_every > 0 and (q + 1) % record_every == 0:
            # record what a fit of this length reports: the average, if any
            row = (q + 1) // record_every - 1
            for j in range(n_features):
                records[row, j] = averaged[j] if averaging else coef[j]
            records[row, n_features] = (
                averaged[n_features] if averaging else intercept[0]
            )
    if not _finite(coef, intercept):
        return NON_FINITE, loaded_epoch
    return OK, -1


@jit
def mean_loss(X, y, sample_weight, coef, intercept, rule):
    """``(1/n) Σ_i s_i ℓ(x_i·w + b, y_i)``: the data term of the training objective."""
    total = 0.0
    for i in range(X.shape[0]):
        p = row_dot(X, i, coef) + intercept
        total += sample_weight[i] * loss_value(rule.loss, rule.loss_param, y[i], p)
    return total / X.shape[0]
