"""Compiled backward trajectories.

The backward iterate after ``k`` maps is ``θ̃_k = T_1 ∘ … ∘ T_k (θ_0)``:
unlike forward SGD, ``θ̃_k`` is not a step away from ``θ̃_{k−1}`` (the newest
map is applied *first*), so a trajectory is not one pass. Two ways to get it:

- :func:`backward_chains`: every requested ``θ̃_k`` is a chain, a reversed
  pass over maps ``k … 1`` from ``θ_0``; chains spread over threads. Plain
  replay costs O(K²) maps for K steps. With coupling, a chain stops as soon
  as its state equals, bit for bit, the state an earlier chain had at the
  same level: from there both apply the same maps, so its result is that
  chain's. Works for every loss and penalty.
- :func:`backward_affine`: for squared error with no L1 penalty every map is
  affine, ``T_k(θ) = A_k θ + c_k``, so ``F_k = T_1 ∘ … ∘ T_k`` is kept as a pair
  ``(M_k, v_k)`` with ``M_k = M_{k−1} A_k`` and ``v_k = v_{k−1} + M_{k−1} c_k``:
  O(d² · batch) per step.

Both are resumable: a call does a bounded amount of work and returns, so that
the caller returns to Python between calls (signals, Ctrl-C).
"""

from math import copysign

import numba

from .._jit import jit, jit_inline, jit_parallel
from ..penalties import l2_decay
from ..schedules import step_size
from . import NON_FINITE, OK
from .cpu import _finite, apply_update_map, load_epoch_order
from .storage import fold_scale

#: Columns of :func:`backward_chains`' per-thread cursor.
CHAIN, LEVEL, STATUS, FAILED_EPOCH, MAPS = 0, 1, 2, 3, 4
N_CURSOR = 5


@jit_inline
def _same_state(a, b):
    """Whether two state vectors are equal bit for bit (``0.0`` and ``-0.0`` differ)."""
    for j in range(a.shape[0]):
        if a[j] != b[j]:
            return False
        if a[j] == 0.0 and copysign(1.0, a[j]) != copysign(1.0, b[j]):
            return False
    return True


@jit_inline
def _lowest_checkpoint(steps, c, n_threads, stride, window, ring):
    """The lowest level chain ``c`` checkpoints at.

    ``window`` levels below the start of the thread's previous chain, and no
    more than ``ring`` checkpoints below its own start (the ring holds ``ring``
    consecutive checkpoints: the next chain needs this chain's top ones).
    """
    previous = steps[c - n_threads] if c >= n_threads else 0
    return max(previous - window, steps[c] - (ring - 1) * stride, 1)


@jit_parallel
def backward_chains(
    X,
    y,
    sample_weight,
    rule,
    eta,
    scheme,
    seed,
    batch_size,
    steps,
    theta0,
    out,
    states,
    cursors,
    saved,
    saved_levels,
    saved_owners,
    stride,
    window,
    budget,
    orders,
    works,
    table,
):
    """``out[c] = T_1 ∘ … ∘ T_{steps[c]} (theta0)`` for every chain ``c``, resumably.

    Thread ``t`` computes chains ``t, t + n_threads, …`` in turn; each call
    applies at most ``budget`` maps per thread and returns, the position of
    every thread kept in ``cursors`` and ``states`` for the next call. The
    caller calls again until every thread's chain index is past the last
    chain (or a status is not ``OK``).

    The state of a chain at *level* ``j`` is ``T_{j+1} ∘ … ∘ T_k (θ_0)``: the
    maps ``j … 1`` are left to apply. Every chain of a thread records its
    state at the levels that are multiples of ``stride`` (its *checkpoints*)
    into that thread's ring ``saved`` (slot ``(j // stride) % W``, tagged with
    the level and the chain); before recording, it compares its state with
    the slot's. If the slot holds the same level and the same state, bit for
    bit — weights, lazy scale and intercepts — the rest of this chain is the
    computation the slot's chain did from there, so its result is that
    chain's result and the chain stops (*coupling*). A chain checkpoints from
    its start down to ``window`` levels below the previous chain's start (and
    at most ``W`` checkpoints); if it has not met by then it finishes as a
    plain reversed pass. ``W = 0`` (an empty ring) is plain replay. Every
    result is bitwise the plain replay's, whatever ``stride``, ``window``,
    ``budget`` and the number of threads.

    Parameters
    ----------
    X, y, sample_weight, rule, eta, scheme, seed, batch_size
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`.
    steps : ndarray of shape (n_chains,), int64
        The increasing ``k`` of each requested backward iterate.
    theta0 : ndarray of shape (n_params,)
        Starting point ``(w_0, b_0)``: the weights of the ``n_outputs``
        models, then their intercepts.
    out : ndarray of shape (n_chains, n_params)
        The backward iterates ``(w, b)``.
    states : ndarray of shape (n_threads, n_params + 1)
        Each thread's current state: stored weights, intercepts, lazy scale.
    cursors : ndarray of shape (n_threads, N_CURSOR), int64
        Each thread's position: ``CHAIN`` (its current chain, initially
        ``t``), ``LEVEL`` (``-1`` before the chain starts), ``STATUS``
        (``OK`` or a failure), ``FAILED_EPOCH`` and ``MAPS`` (maps applied,
        accumulated over calls).
    saved : ndarray of shape (n_threads, W, n_params + 1)
        Each thread's ring of checkpointed states.
    saved_levels, saved_owners : ndarray of shape (n_threads, W), int64
        The level (``-1``: empty) and the chain of each checkpoint.
    stride, window : int
        Checkpoint every ``stride`` levels, down to ``window`` levels below
        the previous chain's start.
    budget : int
        Maps per thread in this call.
    orders : ndarray of shape (n_threads, n_samples), int64
        Scratch space.
    works : ndarray of shape (n_threads, batch_size * n_outputs)
        Scratch space.
    table : ndarray of shape (n_rows, n_samples), int64
        GraB's epoch orders (see ``apply_steps``), shared and only read.
    """
    n_threads = states.shape[0]
    n_params = theta0.shape[0]
    n_outputs = works.shape[1] // batch_size
    n_coef = n_params - n_outputs
    n_chains = steps.shape[0]
    ring = saved.shape[1]
    n = y.shape[0]
    batches = (n + batch_size - 1) // batch_size
    for t in numba.prange(n_threads):
        state = states[t]
        coef = state[:n_coef]
        intercept = state[n_coef:n_params]
        scale = state[n_params:]
        order = orders[t]
        work = works[t]
        c = cursors[t, CHAIN]
        level = cursors[t, LEVEL]
        lowest = 0  # the lowest level the current chain checkpoints
        if level >= 0:
            lowest = _lowest_checkpoint(steps, c, n_threads, stride, window, ring)
        loaded = -1
        done = 0
        while cursors[t, STATUS] == OK and c < n_chains and done < budget:
            if level < 0:  # start chain c
                for j in range(n_params):
                    state[j] = theta0[j]
                scale[0] = 1.0
                level = steps[c]
                lowest = _lowest_checkpoint(steps, c, n_threads, stride, window, ring)
                loaded = -1
            if ring > 0 and level >= lowest and level > 0 and level % stride == 0:
                slot = (level // stride) % ring
                same_level = saved_levels[t, slot] == level
                if same_level and _same_state(state, saved[t, slot]):
                    owner = saved_owners[t, slot]
                    for j in range(n_params):
                        out[c, j] = out[owner, j]
                    c += n_threads
                    level = -1
                    continue
                for j in range(n_params + 1):
                    saved[t, slot, j] = state[j]
                saved_levels[t, slot] = level
                saved_owners[t, slot] = c
            if level == 0:  # chain c is done
                fold_scale(coef, scale)
                if not _finite(coef, intercept, scale):
                    cursors[t, STATUS] = NON_FINITE
                    cursors[t, FAILED_EPOCH] = loaded if loaded >= 0 else 0
                    break
                for j in range(n_params):
                    out[c, j] = state[j]
                c += n_threads
                level = -1
                continue
            k = level - 1  # 0-based index of the next map
            epoch = k // batches
            if epoch != loaded:
                if loaded >= 0 and not _finite(coef, intercept, scale):
                    cursors[t, STATUS] = NON_FINITE
                    cursors[t, FAILED_EPOCH] = loaded
                    break
                load_epoch_order(scheme, seed, epoch, table, order)
                loaded = epoch
            start = (k - epoch * batches) * batch_size
            stop = min(start + batch_size, n)
            eta_t = step_size(
                rule.schedule, eta, k + 1, rule.power_t, rule.alpha, rule.optimal_t0
            )
            status, _ = apply_update_map(
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
                False,
            )
            if status != OK:
                cursors[t, STATUS] = status
                cursors[t, FAILED_EPOCH] = epoch
                break
            level -= 1
            done += 1
        cursors[t, CHAIN] = c
        cursors[t, LEVEL] = level
        cursors[t, MAPS] += done
    return 0


@jit
def backward_affine(
    X,
    y,
    sample_weight,
    rule,
    eta,
    scheme,
    seed,
    batch_size,
    first,
    last,
    every,
    skip,
    theta0,
    out,
    M,
    v,
    u,
    table,
    order,
):
    """Backward iterates of an affine problem, from the maps ``first + 1 … last``.

    Writes ``out[r] = θ̃_{skip + (r + 1) every} = M θ_0 + v`` for the records
    ``r`` that fall in the range. ``(M, v)`` carry ``F_first`` from the call
    that composed maps ``1 … first`` (set to the identity when ``first == 0``),
    so a long composition runs as several calls.

    Parameters
    ----------
    X, y, sample_weight, rule, eta, scheme, seed, batch_size
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`; ``rule`` must
        be squared error with no L1 part.
    first, last : int
        Compose maps ``first + 1 … last`` onto ``F_first``.
    every, skip : int
        Record every ``every`` maps after the first ``skip``.
    theta0 : ndarray of shape (n_features + 1,)
    out : ndarray of shape ((n_steps - skip) // every, n_features + 1)
        All the records of the whole composition of ``n_steps`` maps.
    M : ndarray of shape (n_features + 1, n_features + 1)
        ``M_k``, kept between calls.
    v : ndarray of shape (n_features + 1,)
        ``v_k``, kept between calls.
    u : ndarray of shape (batch_size, n_features + 1)
        Scratch space.
    table : ndarray of shape (n_rows, n_samples), int64
        GraB's epoch orders (see ``apply_steps``).
    order : ndarray of shape (n_samples,), int64
        Scratch space.

    Notes
    -----
    For squared error ``T_B(θ) = D θ − Σ_{i∈B} α_i P z_i (z_i·θ − y_i)`` with
    ``z_i = (x_i, 1)``, ``α_i = η s_i / |B|``, ``D = diag((1 − η l2)₊, …, 1)``
    (the intercept is not decayed) and ``P`` the projection on the updated
    coordinates (the intercept only with ``fit_intercept``). Hence
    ``A = D − Σ α_i P z_i z_iᵀ``, ``c = Σ α_i y_i P z_i`` and
    ``M A = M D − Σ_i (α_i M P z_i) z_iᵀ``.
    """
    n = X.shape[0]
    d = X.shape[1]
    dim = d + 1
    batches = (n + batch_size - 1) // batch_size
    if first == 0:
        for a in range(dim):
            v[a] = 0.0
            for j in range(dim):
                M[a, j] = 1.0 if a == j else 0.0
    loaded_epoch = -1
    for k in range(first, last):
        epoch = k // batches
        if epoch != loaded_epoch:
            load_epoch_order(scheme, seed, epoch, table, order)
            loaded_epoch = epoch
        start = (k - epoch * batches) * batch_size
        stop = min(start + batch_size, n)
        batch = stop - start
        eta_t = step_size(
            rule.schedule, eta, k + 1, rule.power_t, rule.alpha, rule.optimal_t0
        )
        # u_r = α_r M P z_r, from M_{k-1}; v ← v + Σ_r u_r y_r
        for r in range(batch):
            i = order[start + r]
            alpha = eta_t * sample_weight[i] / batch
            for a in range(dim):
                acc = 0.0
                for j in range(d):
                    acc += M[a, j] * X[i, j]
                if rule.fit_intercept:
                    acc += M[a, d]
                u[r, a] = alpha * acc
                v[a] += u[r, a] * y[i]
        # M ← M D − Σ_r u_r z_rᵀ
        decay = l2_decay(eta_t, rule.l2)
        for r in range(batch):
            i = order[start + r]
            for a in range(dim):
                ua = u[r, a]
                if r == 0:
                    for j in range(d):
                        M[a, j] = decay * M[a, j] - ua * X[i, j]
                else:
                    for j in range(d):
                        M[a, j] -= ua * X[i, j]
                M[a, d] -= ua
        if k + 1 > skip and (k + 1 - skip) % every == 0:
            row = (k + 1 - skip) // every - 1
            for a in range(dim):
                acc = v[a]
                for j in range(dim):
                    acc += M[a, j] * theta0[j]
                out[row, a] = acc
    return 0
