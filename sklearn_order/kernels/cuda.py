"""CUDA kernel for dense ``X``: the twin of ``cpu.apply_steps``, same contract.

Imported only when ``device="cuda"`` is used (importing :mod:`sklearn_order`
never imports ``numba.cuda``). The host side — transfers, launches, the
batch-order table, errors — is :mod:`sklearn_order._cuda_driver`.

Design
------
One thread block applies a whole range of update maps to one parameter
vector ``θ = (w, b)`` (one model: a one-vs-rest class, or one chain of a
backward trajectory), with no return to the host between maps. Blocks are
independent, so the classes of a one-vs-rest fit and the chains of a
trajectory (one launch, one block each) run concurrently on different
multiprocessors.

Within a block, per map ``T_B``:

1. each thread takes rows ``r = tid, tid + T, …`` of the batch and computes
   ``p_r = x_r·w + b`` with :func:`~sklearn_order.kernels.storage.dense_row_dot` —
   the CPU's own dot product compiled for the device, eight partial sums in
   a fixed order — then ``g_r = s_r ℓ'(p_r, y_r) η/|B|`` with the shared loss
   table (passive-aggressive schedules: ``η`` replaced by the row's own step
   ``τ_r``, from the CPU's :func:`~sklearn_order.schedules.row_step` and the
   row's squared norm; PA-I rows with ``x_r = 0`` are counted, and a batch of
   only such rows leaves ``θ`` unchanged, as on the CPU); it keeps ``g_r``
   and the row index for the next pass;
2. the feature pass: the batch is cut into ``groups`` contiguous row groups
   and each thread takes (group, feature) pairs, summing ``g_r x_rj`` over
   its group's rows in row order, four loads in flight; group 0 starts from
   the decayed weight ``(1 − η l2)₊ w_j``, the others from zero. The thread
   of index ``n_features`` in each group sums the intercept step (and, when
   asked, the batch loss) the same way;
3. per feature, the groups' partial sums are added in group order, then
   soft-thresholded (the L1 prox).

No reduction depends on the number of threads or on scheduling, so a fit is
bit-identical run to run for a given launch shape. With one row group the
arithmetic is the CPU kernel's, in its order; with several, the sum over the
batch is re-associated at group boundaries (a rounding-level difference).
On a GPU, fused multiply-adds also differ from the CPU in the last bit.
Failures (a non-finite prediction, a prediction past what the targets
explain) are
resolved to the first failing row with an atomic minimum, so the reported
status is the CPU's.

Memory: the ``θ`` area — ``θ`` (float64, ``n_features + 1``) and the row
groups' partial sums (``groups × (n_features + 2)``) — lives in dynamic
shared memory when it fits
(:data:`sklearn_order._cuda_driver.SHARED_MEMORY_BYTES`); otherwise the same
code runs on the block's own slice of global memory (large ``n_features``):
slower, since every map then reads ``θ`` from the L2 cache, but with the same
results. The batch's derivatives, row indices and losses live in a per-block
slice of global memory, read by every thread from the L1 cache.
"""

from math import isfinite

from numba import float64, int64

from .._cuda_import import numba_cuda
from .._jit import cuda_device, cuda_kernel
from ..losses import clipped_derivative, loss_value
from ..penalties import l2_decay, shrink
from ..sampling import batch_bounds, batches_per_epoch, locate_map
from ..schedules import PA1, is_passive_aggressive, row_step, step_index, step_size
from . import DERIVATIVE_AT_BOUND, NON_FINITE, OK
from .storage import dense_row_dot, dense_row_sqnorm

cuda = numba_cuda()

_row_dot = cuda_device(dense_row_dot)
_row_sqnorm = cuda_device(dense_row_sqnorm)
_row_step = cuda_device(row_step)
_is_passive_aggressive = cuda_device(is_passive_aggressive)
_clipped_derivative = cuda_device(clipped_derivative)
_loss_value = cuda_device(loss_value)
_l2_decay = cuda_device(l2_decay)
_shrink = cuda_device(shrink)
_step_size = cuda_device(step_size)
_step_index = cuda_device(step_index)
_batches_per_epoch = cuda_device(batches_per_epoch)
_locate_map = cuda_device(locate_map)
_batch_bounds = cuda_device(batch_bounds)

# "No failure" in the atomic minimum over ``row * 4 + status``.
NO_FAILURE = 2**62
#: Most threads a block is launched with (25 warps). The kernel is compiled
#: with this launch bound and at most ``65536 // MAX_BLOCK_THREADS`` registers
#: per thread (rounded down to 8: 80) so that a block of this size always fits
#: one multiprocessor's register file (64K registers). The register cap alone
#: did not guarantee it: on an H100 (numba-cuda 0.30) blocks of 800 threads
#: failed to launch for lack of registers until the bound was given too.
MAX_BLOCK_THREADS = 800
_MAX_REGISTERS = 65536 // MAX_BLOCK_THREADS // 8 * 8


def theta_length(n_features, groups):
    """Float64 entries of a block's ``θ`` area: ``θ``, then one partial per group.

    Parameters
    ----------
    n_features, groups : int

    Returns
    -------
    int
    """
    return n_features + 1 + groups * (n_features + 2)


@cuda.jit(device=True)
def _stopped_non_finite(theta, length, fail, status, block, epoch):
    """Whether ``theta[:length]`` stopped being finite; if so, record the failure.

    Every thread of the block calls it (it synchronises them) and gets the
    same answer; thread 0 writes ``NON_FINITE`` and ``epoch`` into
    ``status[block]``.
    """
    for j in range(cuda.threadIdx.x, length, cuda.blockDim.x):
        if not isfinite(theta[j]):
            cuda.atomic.min(fail, 0, NON_FINITE)
    cuda.syncthreads()
    if fail[0] == NO_FAILURE:
        return False
    if cuda.threadIdx.x == 0:
        status[block, 0] = NON_FINITE
        status[block, 1] = epoch
    return True


def _apply_steps_kernel(
    X,
    Y,
    S,
    model,
    theta,
    first,
    last,
    reverse,
    step_offset,
    rule,
    eta,
    batch_size,
    table,
    table_first_epoch,
    table_period,
    track_loss,
    epoch_losses,
    epoch_base,
    record_every,
    records,
    record_base,
    average_start,
    averaged,
    status,
    groups,
    theta_scratch,
    in_shared,
    map_scratch,
):
    """Block ``b`` applies maps ``first[b] + 1 … last[b]`` to ``theta[b]``, in place.

    Parameters
    ----------
    X : device array of shape (n_samples, n_features), float32 or float64
    Y, S : device arrays of shape (n_models, n_samples), float64
        Targets and sample × class weights of each model.
    model : device array of shape (n_blocks,), int64
        The row of ``Y`` and ``S`` each block trains.
    theta : device array of shape (n_blocks, n_features + 1), float64
        ``(w, b)`` per block, updated in place.
    first, last : device arrays of shape (n_blocks,), int64
        Block ``b`` applies maps ``first[b] + 1 … last[b]`` (0-based map
        indices ``first[b] … last[b] − 1``); an empty range leaves ``θ`` as is.
    reverse : bool
        Newest map first (backward composition).
    step_offset : int
        Shift of the schedule's step index.
    rule : tuple
        ``(loss, loss_param, l2, l1, fit_intercept, schedule, power_t, alpha,
        optimal_t0, prediction_bound)``, the fields of
        :class:`~sklearn_order.kernels.UpdateRule` (:meth:`~.UpdateRule.scalars`).
    eta : float
        Base step size.
    batch_size : int
    table : device array of shape (n_rows, n_samples), int32 or int64
        Epoch orders: epoch ``e`` is row ``e % table_period`` if
        ``table_period > 0``, else row ``e − table_first_epoch``.
    table_first_epoch, table_period : int
    track_loss : bool
        Add each map's summed weighted loss to
        ``epoch_losses[b, epoch − epoch_base]``.
    epoch_losses : device array of shape (n_blocks, n_epochs_spanned), float64
    epoch_base : int
    record_every : int
        If positive, write ``θ`` (the running mean once averaging has
        started) into ``records[b, record_base + r − 1]`` after the
        ``r · record_every``-th map of the block's range.
    records : device array of shape (n_blocks, n_records, n_features + 1)
    record_base : int
    average_start : int
        If positive, keep the running mean of the iterates from step index
        ``average_start`` on in ``averaged[b]``.
    averaged : device array of shape (n_blocks, n_features + 1), float64
    status : device array of shape (n_blocks, 2), int64
        ``(status, failed epoch)`` per block, as ``apply_steps`` returns.
    groups : int
        Row groups of the feature pass (see the module notes).
    theta_scratch : device array of shape (n_blocks, theta_length), float64
        The block's ``θ`` area when ``in_shared`` is false.
    in_shared : bool
        Keep the ``θ`` area in dynamic shared memory (launched with
        ``theta_length · 8`` bytes of it) instead of ``theta_scratch``.
    map_scratch : device array of shape (n_blocks, 3 · batch_size), float64
        Per map: the rows' scaled derivatives, row indices and losses.
    """
    block = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    loss, loss_param, l2, l1, fit_intercept, schedule, power_t, alpha, t0, bound = rule
    m = model[block]
    n = X.shape[0]
    d = X.shape[1]
    batches = _batches_per_epoch(n, batch_size)
    if in_shared:
        area = cuda.shared.array(0, dtype=float64)
    else:
        area = theta_scratch[block]
    fail = cuda.shared.array(1, dtype=int64)
    skipped = cuda.shared.array(1, dtype=int64)  # PA-I rows with x_r = 0
    passive_aggressive = _is_passive_aggressive(schedule)
    coef = area[:d]  # area[d] is the intercept
    parts = area[d + 1 :]  # group g's partial sums at g * (d + 2) + j
    work = map_scratch[block, :batch_size]
    rows = map_scratch[block, batch_size : 2 * batch_size]
    losses = map_scratch[block, 2 * batch_size :]
    for j in range(tid, d + 1, threads):
        area[j] = theta[block, j]
    if tid == 0:
        fail[0] = NO_FAILURE
        skipped[0] = 0
    cuda.syncthreads()

    start_map = first[block]
    count = last[block] - start_map
    loaded_epoch = -1
    row = 0
    for q in range(count):
        k = start_map + (count - 1 - q if reverse else q)
        epoch, within = _locate_map(k, batches)
        if epoch != loaded_epoch:
            if loaded_epoch >= 0 and _stopped_non_finite(
                area, d + 1, fail, status, block, loaded_epoch
            ):
                return
            loaded_epoch = epoch
            if table_period > 0:
                row = epoch % table_period
            else:
                row = epoch - table_first_epoch
        start, stop = _batch_bounds(within, batch_size, n)
        size = stop - start
        t = _step_index(k, step_offset)
        eta_t = _step_size(schedule, eta, t, power_t, alpha, t0)
        step = eta_t / size
        b0 = area[d]

        # 1. per row: prediction, scaled derivative (and loss), at the pre-update θ
        for r in range(tid, size, threads):
            i = table[row, start + r]
            rows[r] = i
            p = _row_dot(X, i, coef, 0) + b0
            if not isfinite(p):
                cuda.atomic.min(fail, 0, r * 4 + NON_FINITE)
                work[r] = 0.0
                continue
            g, diverged = _clipped_derivative(loss, loss_param, Y[m, i], p, bound)
            if diverged:
                cuda.atomic.min(fail, 0, r * 4 + DERIVATIVE_AT_BOUND)
            if passive_aggressive:
                value = _loss_value(loss, loss_param, Y[m, i], p)
                sqnorm = _row_sqnorm(X, i)
                if sqnorm == 0.0 and schedule == PA1:
                    cuda.atomic.add(skipped, 0, 1)
                    work[r] = 0.0
                else:
                    tau = _row_step(schedule, eta_t, value, sqnorm)
                    work[r] = tau / size * S[m, i] * g
                if track_loss:
                    losses[r] = S[m, i] * value
            else:
                work[r] = step * S[m, i] * g
                if track_loss:
                    losses[r] = S[m, i] * _loss_value(loss, loss_param, Y[m, i], p)
        cuda.syncthreads()
        if fail[0] != NO_FAILURE:
            if tid == 0:
                status[block, 0] = fail[0] % 4
                status[block, 1] = epoch
            return

        # 2. per (row group, feature): the group's rows, in row order; group 0
        #    starts from the decayed weight, the others from zero
        # a PA-I batch of zero rows is the identity map: no decay, no prox
        unchanged = skipped[0] == size
        decay = 1.0 if unchanged else _l2_decay(eta_t, l2)
        for slot in range(tid, groups * (d + 1), threads):
            group = slot // (d + 1)
            j = slot - group * (d + 1)
            r = (size * group) // groups
            end = (size * (group + 1)) // groups
            if j < d:
                c = decay * coef[j] if group == 0 else 0.0
                while r + 4 <= end:  # four loads in flight, then four updates
                    x0 = X[int(rows[r]), j]
                    x1 = X[int(rows[r + 1]), j]
                    x2 = X[int(rows[r + 2]), j]
                    x3 = X[int(rows[r + 3]), j]
                    c -= work[r] * x0
                    c -= work[r + 1] * x1
                    c -= work[r + 2] * x2
                    c -= work[r + 3] * x3
                    r += 4
                while r < end:
                    c -= work[r] * X[int(rows[r]), j]
                    r += 1
                parts[group * (d + 2) + j] = c
            else:
                intercept_step = 0.0
                batch_loss = 0.0
                while r < end:
                    intercept_step += work[r]
                    if track_loss:
                        batch_loss += losses[r]
                    r += 1
                parts[group * (d + 2) + d] = intercept_step
                parts[group * (d + 2) + d + 1] = batch_loss
        cuda.syncthreads()

        # 3. per feature: the groups combined in group order, then the prox
        #    (every thread has read `skipped` in step 2: reset it for the next map)
        if tid == 0:
            skipped[0] = 0
        threshold = 0.0 if unchanged else eta_t * l1
        for j in range(tid, d + 1, threads):
            c = parts[j]
            for group in range(1, groups):
                c += parts[group * (d + 2) + j]
            if j < d:
                if l1 > 0.0:
                    c = _shrink(c, threshold)
                coef[j] = c
            else:
                if fit_intercept:
                    area[d] = b0 - c
                if track_loss:
                    batch_loss = parts[d + 1]
                    for group in range(1, groups):
                        batch_loss += parts[group * (d + 2) + d + 1]
                    epoch_losses[block, epoch - epoch_base] += batch_loss
        cuda.syncthreads()

        # 4. running mean and records (each thread its own features)
        averaging = average_start > 0 and t >= average_start
        if averaging:
            weight = 1.0 / (t - average_start + 1)
            for j in range(tid, d + 1, threads):
                averaged[block, j] += (area[j] - averaged[block, j]) * weight
        if record_every > 0 and (q + 1) % record_every == 0:
            slot = record_base + (q + 1) // record_every - 1
            for j in range(tid, d + 1, threads):
                records[block, slot, j] = averaged[block, j] if averaging else area[j]

    if _stopped_non_finite(area, d + 1, fail, status, block, loaded_epoch):
        return
    for j in range(tid, d + 1, threads):
        theta[block, j] = area[j]
    if tid == 0:
        status[block, 0] = OK
        status[block, 1] = -1


apply_steps_kernel = cuda_kernel(
    _apply_steps_kernel, max_registers=_MAX_REGISTERS, launch_bounds=MAX_BLOCK_THREADS
)
