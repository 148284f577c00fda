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

from math import fabs, isfinite

from .._jit import jit, jit_inline, prefetch_item
from ..losses import (
    MAX_DLOSS,
    MULTINOMIAL_LOG_LOSS,
    loss_derivative,
    loss_value,
    multinomial_loss,
)
from ..penalties import l2_decay, soft_threshold
from ..sampling import GRAB, fill_epoch_order
from ..schedules import PA1, is_passive_aggressive, row_step, step_size
from . import DERIVATIVE_AT_BOUND, NON_FINITE, OK
from .storage import (
    add_row,
    fold_scale,
    n_visited,
    prefetch_row,
    prefetch_row_start,
    row_dot,
    row_sqnorm,
    subtract_batch,
)

PREFETCH_ROWS = 4


@jit_inline
def predictions(X, i, coef, intercept, scale, out, offset):
    """``out[offset + k] = scale · (x_i · v_k) + b_k`` for every output ``k``.

    Returns
    -------
    bool
        Whether every prediction is finite.
    """
    n_outputs = intercept.shape[0]
    d = X.n_features
    finite = True
    for k in range(n_outputs):
        p = scale * row_dot(X, i, coef, k * d) + intercept[k]
        out[offset + k] = p
        finite = finite and isfinite(p)
    return finite


@jit
def passive_aggressive_steps(
    X, y, sample_weight, order, start, stop, coef, intercept, scale, rule, eta, work
):
    """The rows' terms of a passive-aggressive map (``"pa1"``/``"pa2"``; one output).

    ``work[r] ← (τ_r / |B|) s_i ℓ'(p_i, y_i)`` for row ``i = order[start + r]``,
    with ``τ_r = row_step(schedule, C = eta, ℓ(p_i, y_i), ‖x_i‖²)`` at the
    pre-update ``θ``; PA-I rows with ``x_i = 0`` get 0 (no step is defined).
    Kept out of :func:`apply_update_map`'s inlined loop so that the other
    schedules compile to the same code as without it.

    Parameters
    ----------
    X, y, sample_weight, order, start, stop, coef, intercept, scale, rule, work
        As in :func:`apply_update_map`.
    eta : float
        The aggressiveness ``C`` (``eta0``).

    Returns
    -------
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
        if not predictions(X, i, coef, intercept, scale[0], work, r):
            return NON_FINITE, loss_sum, True
        p = work[r]
        d = loss_derivative(rule.loss, rule.loss_param, y[i], p)
        if fabs(d) >= MAX_DLOSS:
            return DERIVATIVE_AT_BOUND, loss_sum, True
        value = loss_value(rule.loss, rule.loss_param, y[i], p)
        loss_sum += sample_weight[i] * value
        sqnorm = row_sqnorm(X, i)
        if sqnorm == 0.0 and rule.schedule == PA1:
            skipped += 1
            work[r] = 0.0
        else:
            tau = row_step(rule.schedule, eta, value, sqnorm)
            work[r] = tau / batch * sample_weight[i] * d
    return OK, loss_sum, skipped < batch


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
    scale,
    rule,
    eta,
    work,
    track_loss,
):
    """Apply the update map ``T_B`` of the batch ``B = order[start:stop]``, in place.

    ``T_B(θ) = S_{η l1}((1 − η l2)₊ w − η g_B(θ))``, ``b ← b − η g_B^b(θ)``
    with ``g_B(θ) = (1/|B|) Σ_{i∈B} s_i ∇_θ ℓ(x_i·w + b, y_i)``: every
    derivative is taken at the pre-update ``θ``, so the result is a function
    of ``θ`` and ``B`` alone. This is the one definition of the update map.

    Passive-aggressive schedules (``"pa1"``, ``"pa2"``; scalar losses) replace
    ``η`` in row ``i``'s term by its own step
    ``τ_i = row_step(schedule, η, ℓ_i, ‖x_i‖²)``, also taken at the
    pre-update ``θ`` (``η = C`` then sets only the weight decay and the L1
    threshold): :func:`passive_aggressive_steps`. Under PA-I rows with
    ``x_i = 0`` contribute nothing, and a batch of only such rows leaves ``θ``
    unchanged (scikit-learn skips such a sample).

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
    coef : ndarray of shape (n_outputs * n_features,), float64
        Stored weights ``v`` of the ``n_outputs`` models, updated in place.
    intercept : ndarray of shape (n_outputs,), float64
        Intercepts ``b``, updated in place.
    scale : ndarray of shape (1,), float64
        Lazy scale ``s`` of the weights, ``w = s v`` (CSR rows; see
        :mod:`.storage`), updated in place; 1 for dense rows.
    rule : UpdateRule
    eta : float
        Step size of this map.
    work : ndarray of shape (>= (stop - start) * n_outputs,), float64
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
    n_outputs = intercept.shape[0]
    batch = stop - start
    step = eta / batch
    loss_sum = 0.0
    if is_passive_aggressive(rule.schedule):
        status, loss_sum, moves = passive_aggressive_steps(
            X,
            y,
            sample_weight,
            order,
            start,
            stop,
            coef,
            intercept,
            scale,
            rule,
            eta,
            work,
        )
        if status != OK or not moves:
            return status, loss_sum
    else:
        # work[r * n_outputs + k] ← step · s_i · ∂ℓ/∂p_k at the pre-update θ
        for r in range(batch):
            i = order[start + r]
            base = r * n_outputs
            if not predictions(X, i, coef, intercept, scale[0], work, base):
                return NON_FINITE, loss_sum
            if rule.loss == MULTINOMIAL_LOG_LOSS:
                value = multinomial_loss(work, base, n_outputs, int(y[i]))
                for k in range(n_outputs):
                    work[base + k] = step * sample_weight[i] * work[base + k]
            else:
                p = work[base]
                d = loss_derivative(rule.loss, rule.loss_param, y[i], p)
                if fabs(d) >= MAX_DLOSS:
                    return DERIVATIVE_AT_BOUND, loss_sum
                work[base] = step * sample_weight[i] * d
                value = (
                    loss_value(rule.loss, rule.loss_param, y[i], p)
                    if track_loss
                    else 0.0
                )
            if track_loss:
                loss_sum += sample_weight[i] * value

    subtract_batch(
        X, order, start, stop, work, n_outputs, l2_decay(eta, rule.l2), coef, scale
    )
    if rule.fit_intercept:
        for k in range(n_outputs):
            intercept_step = 0.0
            for r in range(batch):
                intercept_step += work[r * n_outputs + k]
            intercept[k] -= intercept_step
    if rule.l1 > 0.0:
        fold_scale(coef, scale)
        soft_threshold(coef, eta * rule.l1)
    return OK, loss_sum


@jit_inline
def load_epoch_order(scheme, seed, epoch, table, order, subset):
    """Write the row order of ``epoch`` into ``order``.

    Seeded schemes (and GraB's first epoch) are generated from
    ``(seed, epoch)`` over the positions ``0 … len(order) − 1``, then mapped
    to rows through ``subset`` (see :class:`~.storage.Rows`) if it is not
    empty; later GraB epochs are copied from ``table``, which holds rows.
    """
    if scheme == GRAB and epoch > 0:
        row = epoch % table.shape[0]
        for r in range(order.shape[0]):
            order[r] = table[row, r]
    else:
        fill_epoch_order(scheme, seed, epoch, order)
        if subset.shape[0] > 0:
            for r in range(order.shape[0]):
                order[r] = subset[order[r]]


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
def herd(
    X, order, start, stop, work, step, n_outputs, n_samples, herding, pointers, nxt
):
    """Place the batch's examples in the next epoch's order (GraB's herding).

    For each example, with gradient ``g = s_i ∇_θ ℓ_i`` (taken at the
    pre-update ``θ`` of its batch, recovered from the update's ``work``) and
    ``c = g − m`` (``m``: the previous epoch's mean gradient, stale): if
    ``‖S + c‖ < ‖S − c‖`` (i.e. ``S·c < 0``) then ``S ← S + c`` and the
    example goes to the next free place ``nxt[pointers[0]]`` at the front,
    else ``S ← S − c`` and it goes to ``nxt[pointers[1]]`` at the back (Lu, Guo
    & De Sa, 2022, Algorithm 4). The current epoch's mean gradient
    accumulates in ``herding[2]``. Vectors are laid out as
    ``(w_1, …, w_K, b_1, …, b_K)`` (``K = n_outputs``); an example costs
    ``O(K n_features)`` whatever the storage (the stale mean is dense).
    """
    size = herding.shape[1]
    d = X.n_features
    total, stale, mean = herding[0], herding[1], herding[2]
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


@jit_inline
def _finite(coef, intercept, scale):
    """Whether every coefficient, intercept and the scale are finite."""
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
def _copy_parameters(coef, intercept, scale, out):
    """``out = (s v, b)``: the weights (lazy scale applied) then the intercepts."""
    n_coef = coef.shape[0]
    for j in range(n_coef):
        out[j] = scale[0] * coef[j]
    for k in range(intercept.shape[0]):
        out[n_coef + k] = intercept[k]


@jit
def apply_steps(
    X,
    y,
    sample_weight,
    coef,
    intercept,
    scale,
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
    ``T_{first+1} ∘ … ∘ T_{first+n} (θ)`` (the backward composition is one
    pass over the reversed sequence). Map ``k`` has step index
    ``k + step_offset`` in the learning-rate schedule whichever direction it
    is applied in: a map is the same map in both orders.

    Parameters
    ----------
    X, y, sample_weight, coef, intercept, rule
        As in :func:`apply_update_map`.
    scale : ndarray of shape (1,), float64
        Scratch space for the lazy scale of the weights (CSR rows): the
        weights are scaled in place on return, and ``scale[0]`` is 1.
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
    records : ndarray of shape (n_steps // record_every, n_coef + n_outputs)
        (``n_coef = coef.shape[0]``, ``n_outputs = intercept.shape[0]``.)
        Output for ``record_every``.
    table : ndarray of shape (n_rows, n_samples), int64
        ``"grab"`` only (else unused): epoch ``e ≥ 1`` reads its order from
        ``table[e % n_rows]``. A forward call builds them: during epoch ``e``
        it writes epoch ``e + 1``'s order into ``table[(e + 1) % n_rows]``
        (two rows suffice for a forward pass; a backward pass over ``E``
        epochs reads a table of ``E`` rows built by a forward pass).
    order : ndarray of shape (n_samples,), int64
        Scratch space for an epoch's row order.
    work : ndarray of shape (batch_size * n_outputs,), float64
        Scratch space for the update map.
    herding : ndarray of shape (3, n_coef + n_outputs), float64
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
    averaged : ndarray of shape (n_coef + n_outputs,), float64
        The running mean ``(w̄, b̄)``, kept between calls. Updating it costs
        ``O(n_coef)`` per map whatever the storage.

    Returns
    -------
    status : int
        ``OK`` or the failure status of :func:`apply_update_map`.
    failed_epoch : int
        Epoch in which the composition failed, ``-1`` if none.
    """
    n = n_visited(X, y)
    n_coef = coef.shape[0]
    n_outputs = intercept.shape[0]
    batches = (n + batch_size - 1) // batch_size
    first_epoch = first_step // batches
    # prefetch the rows of the map applied `ahead` maps later: about
    # PREFETCH_ROWS rows ahead of use, enough to cover a memory access
    ahead = max(1, PREFETCH_ROWS // batch_size)
    balance = scheme == GRAB and not reverse
    scale[0] = 1.0
    loaded_epoch = -1
    # map k is batch `within` of epoch `epoch`, both stepped with k (integer
    # divisions per map would cost as much as a short sparse row)
    k = first_step + n_steps - 1 if reverse else first_step  # 0-based map index
    epoch = k // batches
    within = k - epoch * batches
    for q in range(n_steps):
        if q > 0:
            if reverse:
                k -= 1
                within -= 1
                if within < 0:
                    epoch -= 1
                    within = batches - 1
            else:
                k += 1
                within += 1
                if within == batches:
                    epoch += 1
                    within = 0
        if epoch != loaded_epoch:
            if loaded_epoch >= 0 and not _finite(coef, intercept, scale):
                return NON_FINITE, loaded_epoch
            load_epoch_order(scheme, seed, epoch, table, order, X.subset)
            if balance and within == 0:  # a call may resume mid-epoch
                start_herding(herding, pointers, epoch, n)
            loaded_epoch = epoch
        start = within * batch_size
        stop = min(start + batch_size, n)
        # prefetch in two stages: where the rows of the map `2 ahead` maps later
        # start (CSR) and their targets and weights, then the rows of the map
        # `ahead` maps later, whose addresses are by then in cache
        within_ahead = within - ahead if reverse else within + ahead
        if 0 <= within_ahead < batches:
            ahead_start = within_ahead * batch_size
            for r in range(ahead_start, min(ahead_start + batch_size, n)):
                prefetch_row(X, order[r])
        within_far = within - 2 * ahead if reverse else within + 2 * ahead
        if 0 <= within_far < batches:
            far_start = within_far * batch_size
            for r in range(far_start, min(far_start + batch_size, n)):
                i = order[r]
                prefetch_row_start(X, i)
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
            scale,
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
                n_outputs,
                n,
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
            for j in range(n_coef):
                averaged[j] += (scale[0] * coef[j] - averaged[j]) * weight
            for c in range(n_outputs):
                j = n_coef + c
                averaged[j] += (intercept[c] - averaged[j]) * weight
        if record_every > 0 and (q + 1) % record_every == 0:
            # record what a fit of this length reports: the average, if any
            row = records[(q + 1) // record_every - 1]
            if averaging:
                for j in range(n_coef + n_outputs):
                    row[j] = averaged[j]
            else:
                _copy_parameters(coef, intercept, scale, row)
    fold_scale(coef, scale)
    if not _finite(coef, intercept, scale):
        return NON_FINITE, loaded_epoch
    return OK, -1


@jit
def mean_loss(X, y, sample_weight, coef, intercept, rule, work):
    """``(1/n) Σ_i s_i ℓ(x_i·w + b, y_i)``: the data term of the training objective.

    ``work`` is scratch space of shape ``(n_outputs,)``.
    """
    n_outputs = intercept.shape[0]
    n = n_visited(X, y)
    total = 0.0
    for p in range(n):
        i = X.subset[p] if X.subset.shape[0] > 0 else p
        predictions(X, i, coef, intercept, 1.0, work, 0)
        if rule.loss == MULTINOMIAL_LOG_LOSS:
            value = multinomial_loss(work, 0, n_outputs, int(y[i]))
        else:
            value = loss_value(rule.loss, rule.loss_param, y[i], work[0])
        total += sample_weight[i] * value
    return total / n
