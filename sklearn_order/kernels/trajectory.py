"""Compiled backward trajectories.

The backward iterate after ``k`` maps is ``θ̃_k = T_1 ∘ … ∘ T_k (θ_0)``:
unlike forward SGD, ``θ̃_k`` is not a step away from ``θ̃_{k−1}`` (the newest
map is applied *first*), so a trajectory is not one pass. Two ways to get it:

- :func:`backward_chains`: every requested ``θ̃_k`` is a chain, a reversed
  pass over maps ``k … 1`` from ``θ_0``; chains spread over host threads. Plain
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

from math import copysign, sqrt
from typing import NamedTuple

import numpy as np

from .._jit import jit, jit_inline
from ..penalties import l2_decay
from ..sampling import batch_bounds, batches_per_epoch, locate_map
from ..schedules import rule_step_size, step_index
from . import NON_FINITE, OK, Model
from .cpu import (
    _finite,
    apply_update_map,
    load_epoch_order,
    prefetch_ahead,
    prefetch_distance,
)
from .storage import ALL_ROWS, fold_scale, rows_kernel


class Chains(NamedTuple):
    """The backward iterates :func:`backward_chains` computes, one chain each.

    Attributes
    ----------
    steps : ndarray of shape (n_chains,), int64
        The increasing ``k`` of each requested backward iterate.
    theta0 : ndarray of shape (n_params,)
        Starting point ``(w_0, b_0)``: the weights of the ``n_outputs``
        models, then their intercepts.
    out : ndarray of shape (n_chains, n_params)
        Output: the backward iterates ``(w, b)``.
    bounds : ndarray of shape (n_chains,), float64
        Output: a bound on each result's distance to the replay's.
    """

    steps: np.ndarray
    theta0: np.ndarray
    out: np.ndarray
    bounds: np.ndarray


class Threads(NamedTuple):
    """Each thread's position and scratch space, kept between calls.

    Attributes
    ----------
    states : ndarray of shape (n_threads, n_params + 1)
        Each thread's current state: stored weights, intercepts, lazy scale.
    cursors : ndarray of shape (n_threads, N_CURSOR), int64
        Each thread's position: ``CHAIN`` (its current chain, initially
        ``t``), ``LEVEL`` (``-1`` before the chain starts), ``STATUS``
        (``OK`` or a failure), ``FAILED_EPOCH``, ``MAPS`` (maps applied,
        accumulated over calls), ``ANCHOR`` (the anchor chain, initially
        ``-1``), ``ANCHOR_RING`` (which ring holds it) and ``FORCED``
        (whether the current chain is a new anchor from its start).
    orders : ndarray of shape (n_threads, n_samples), int64
        Scratch space.
    works : ndarray of shape (n_threads, batch_size * n_outputs)
        Scratch space.
    """

    states: np.ndarray
    cursors: np.ndarray
    orders: np.ndarray
    works: np.ndarray


class Coupling(NamedTuple):
    """The checkpoints of :func:`backward_chains`' coupling.

    Attributes
    ----------
    saved : ndarray of shape (n_threads, 2, W, n_params + 1)
        Each thread's two rings of checkpointed states (``W = 0``: replay).
    saved_levels : ndarray of shape (n_threads, 2, W), int64
        The level of each checkpoint (``-1``: empty).
    stride : int
        Checkpoint every ``stride`` levels.
    tol : float
        Distance within which a chain meets the anchor; 0 for bitwise
        meetings only.
    """

    saved: np.ndarray
    saved_levels: np.ndarray
    stride: int
    tol: float


class AffineRange(NamedTuple):
    """The maps a :func:`backward_affine` call composes, and what it records.

    Attributes
    ----------
    first, last : int
        Compose maps ``first + 1 … last`` onto ``F_first``.
    every, skip : int
        Record every ``every`` maps after the first ``skip``.
    """

    first: int
    last: int
    every: int
    skip: int


class Composition(NamedTuple):
    """The composed affine map ``F_k = (M_k, v_k)``, kept between calls, and scratch.

    Attributes
    ----------
    M : ndarray of shape (n_features + 1, n_features + 1)
    v : ndarray of shape (n_features + 1,)
    u : ndarray of shape (batch_size, n_features + 1)
        Scratch space.
    order : ndarray of shape (n_samples,), int64
        Scratch space.
    """

    M: np.ndarray
    v: np.ndarray
    u: np.ndarray
    order: np.ndarray


#: Columns of :func:`backward_chains`' per-thread cursor.
CHAIN, LEVEL, STATUS, FAILED_EPOCH, MAPS, ANCHOR, ANCHOR_RING, FORCED = range(8)
N_CURSOR = 8


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
def _distance(a, b, n_coef):
    """Euclidean distance between the parameters ``(s v, b)`` of two states."""
    n_params = a.shape[0] - 1
    scale_a, scale_b = a[n_params], b[n_params]
    total = 0.0
    for j in range(n_coef):
        difference = scale_a * a[j] - scale_b * b[j]
        total += difference * difference
    for j in range(n_coef, n_params):
        difference = a[j] - b[j]
        total += difference * difference
    return sqrt(total)


@jit_inline
def _starts_anchor(steps, c, n_threads, anchor):
    """Whether chain ``c`` runs to the end without comparing: a new anchor.

    The first chain of a thread does; a later one when it starts more than
    ``sqrt(2 k g)`` levels above the anchor's start (``k`` its own start,
    ``g`` the gap to the thread's previous chain): comparing costs the
    chain those levels, a new anchor costs ``k`` once for the next chains.
    """
    if anchor < 0:
        return True
    k = steps[c]
    gap = k - steps[c - n_threads]
    ahead = k - steps[anchor]
    return ahead * ahead > 2.0 * k * gap


@rows_kernel
@jit
def backward_chains(
    X, y, sample_weight, rule, eta, sequence, chains, threads, coupling, budget, thread
):
    """``out[c] = T_1 ∘ … ∘ T_{steps[c]} (theta0)`` for one thread's chains, resumably.

    Thread ``t`` computes chains ``t, t + n_threads, …`` in turn, writing
    only its own rows of ``threads``, ``coupling`` and ``out``: the caller
    runs the threads' calls concurrently (the kernel releases the GIL). Each
    call applies at most ``budget`` maps and returns, the thread's position
    kept in ``cursors`` and ``states`` for its next call. The caller calls
    again until every thread's chain index is past the last chain (or a
    status is not ``OK``).

    The state of a chain at *level* ``j`` is ``T_{j+1} ∘ … ∘ T_k (θ_0)``: the
    maps ``j … 1`` are left to apply. Each thread keeps two rings of ``W``
    states at the levels that are multiples of ``stride`` (*checkpoints*,
    slot ``(j // stride) % W``, tagged with the level): the top ``W``
    checkpoints of its *anchor*, the last chain it ran to the end, and those
    of the current chain. At each checkpoint in the anchor's ring the
    current chain compares its state with the anchor's. If they are equal
    bit for bit — weights, lazy scale and intercepts — the rest of the chain
    is the computation the anchor did from there, so its result is the
    anchor's and it stops (*coupling*). Else it goes on; below the anchor's
    ring it finishes as a plain reversed pass and becomes the anchor (the
    rings swap roles). A chain that starts far above the anchor becomes an
    anchor without comparing (:func:`_starts_anchor`). ``W = 0`` is plain
    replay. With ``tol = 0`` every result is bitwise the plain replay's,
    whatever ``stride``, ``W``, ``budget`` and the number of threads.

    With ``tol > 0`` a chain also stops where the Euclidean distance ``δ``
    between its parameters and the anchor's is at most ``tol``, taking the
    anchor's result, and records ``bounds[c] = δ`` (0 otherwise). Where every
    map is non-expansive (``‖T(θ) − T(θ')‖ ≤ ‖θ − θ'‖``), that result is
    within ``δ`` of the replay's (up to rounding).

    Parameters
    ----------
    X, y, sample_weight, rule
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`.
    eta : float
        Base step size of the schedule.
    sequence : BatchSequence
        The batch sequence; GraB's table is shared and only read.
    chains : Chains
        The requested iterates, the start and the outputs.
    threads : Threads
    coupling : Coupling
    budget : int
        Maps per thread in this call.
    thread : int
        The thread ``t`` whose chains to advance.
    """
    steps, theta0, out, bounds = chains
    states, cursors, orders, works = threads
    saved, saved_levels, stride, tol = coupling
    batch_size = sequence.batch_size
    n_threads = states.shape[0]
    n_params = theta0.shape[0]
    n_outputs = works.shape[1] // batch_size
    n_coef = n_params - n_outputs
    n_chains = steps.shape[0]
    ring = saved.shape[2]
    n = y.shape[0]
    batches = batches_per_epoch(n, batch_size)
    ahead = prefetch_distance(batch_size)
    t = thread
    state = states[t]
    coef = state[:n_coef]
    intercept = state[n_coef:n_params]
    scale = state[n_params:]
    model = Model(coef, intercept, scale)
    order = orders[t]
    work = works[t]
    c = cursors[t, CHAIN]
    level = cursors[t, LEVEL]
    anchor = cursors[t, ANCHOR]
    anchor_ring = cursors[t, ANCHOR_RING]
    forced = cursors[t, FORCED] != 0
    # the next checkpoint level (a multiple of stride; -1: none)
    checkpoint = level // stride * stride if ring > 0 and level > 0 else -1
    loaded = -1
    done = 0
    while cursors[t, STATUS] == OK and c < n_chains and done < budget:
        if level < 0:  # start chain c
            for j in range(n_params):
                state[j] = theta0[j]
            scale[0] = 1.0
            level = steps[c]
            forced = ring == 0 or _starts_anchor(steps, c, n_threads, anchor)
            checkpoint = level // stride * stride if ring > 0 else -1
            loaded = -1
        if level == checkpoint and level > 0:
            checkpoint -= stride
            slot = (level // stride) % ring
            if not forced and saved_levels[t, anchor_ring, slot] == level:
                anchored = saved[t, anchor_ring, slot]
                met = _same_state(state, anchored)
                distance = 0.0
                if not met and tol > 0.0:
                    distance = _distance(state, anchored, n_coef)
                    met = distance <= tol
                if met:
                    for j in range(n_params):
                        out[c, j] = out[anchor, j]
                    bounds[c] = distance
                    c += n_threads
                    level = -1
                    continue
            if level > steps[c] - ring * stride:  # the chain's top checkpoints
                candidate = 1 - anchor_ring
                for j in range(n_params + 1):
                    saved[t, candidate, slot, j] = state[j]
                saved_levels[t, candidate, slot] = level
        if level == 0:  # chain c is done: the new anchor
            fold_scale(coef, scale)
            if not _finite(model):
                cursors[t, STATUS] = NON_FINITE
                cursors[t, FAILED_EPOCH] = loaded if loaded >= 0 else 0
                break
            for j in range(n_params):
                out[c, j] = state[j]
            bounds[c] = 0.0
            if ring > 0:
                # the ring left holds another chain's checkpoints: empty it
                for slot in range(ring):
                    saved_levels[t, anchor_ring, slot] = -1
                anchor_ring = 1 - anchor_ring
            anchor = c
            c += n_threads
            level = -1
            continue
        k = level - 1  # 0-based index of the next map
        epoch, within = locate_map(k, batches)
        if epoch != loaded:
            if loaded >= 0 and not _finite(model):
                cursors[t, STATUS] = NON_FINITE
                cursors[t, FAILED_EPOCH] = loaded
                break
            load_epoch_order(sequence, epoch, order, ALL_ROWS)
            loaded = epoch
        start, stop = batch_bounds(within, batch_size, n)
        # a chain applies its maps newest first, as a backward fit does
        prefetch_ahead(X, y, sample_weight, order, within, batch_size, n, ahead, True)
        eta_t = rule_step_size(rule, eta, step_index(k, 0))
        status, _ = apply_update_map(
            X, y, sample_weight, order, start, stop, model, rule, eta_t, work, None
        )
        if status != OK:
            cursors[t, STATUS] = status
            cursors[t, FAILED_EPOCH] = epoch
            break
        level -= 1
        done += 1
    cursors[t, CHAIN] = c
    cursors[t, LEVEL] = level
    cursors[t, ANCHOR] = anchor
    cursors[t, ANCHOR_RING] = anchor_ring
    cursors[t, FORCED] = 1 if forced else 0
    cursors[t, MAPS] += done
    return 0


@jit
def backward_affine(
    X, y, sample_weight, rule, eta, sequence, maps, theta0, out, composition
):
    """Backward iterates of an affine problem, from the maps ``first + 1 … last``.

    Writes ``out[r] = θ̃_{skip + (r + 1) every} = M θ_0 + v`` for the records
    ``r`` that fall in the range. ``(M, v)`` carry ``F_first`` from the call
    that composed maps ``1 … first`` (set to the identity when ``first == 0``),
    so a long composition runs as several calls.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense rows.
    y, sample_weight, rule
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`; ``rule`` must
        be squared error with no L1 part.
    eta : float
        Base step size of the schedule.
    sequence : BatchSequence
    maps : AffineRange
        The maps to compose and the records to write.
    theta0 : ndarray of shape (n_features + 1,)
    out : ndarray of shape ((n_steps - skip) // every, n_features + 1)
        All the records of the whole composition of ``n_steps`` maps.
    composition : Composition
        ``(M_k, v_k)``, kept between calls, and scratch space.

    Notes
    -----
    For squared error ``T_B(θ) = D θ − Σ_{i∈B} α_i P z_i (z_i·θ − y_i)`` with
    ``z_i = (x_i, 1)``, ``α_i = η s_i / |B|``, ``D = diag((1 − η l2)₊, …, 1)``
    (the intercept is not decayed) and ``P`` the projection on the updated
    coordinates (the intercept only with ``fit_intercept``). Hence
    ``A = D − Σ α_i P z_i z_iᵀ``, ``c = Σ α_i y_i P z_i`` and
    ``M A = M D − Σ_i (α_i M P z_i) z_iᵀ``.
    """
    first, last, every, skip = maps
    M, v, u, order = composition
    batch_size = sequence.batch_size
    n = X.shape[0]
    d = X.shape[1]
    dim = d + 1
    batches = batches_per_epoch(n, batch_size)
    if first == 0:
        for a in range(dim):
            v[a] = 0.0
            for j in range(dim):
                M[a, j] = 1.0 if a == j else 0.0
    loaded_epoch = -1
    for k in range(first, last):
        epoch, within = locate_map(k, batches)
        if epoch != loaded_epoch:
            load_epoch_order(sequence, epoch, order, ALL_ROWS)
            loaded_epoch = epoch
        start, stop = batch_bounds(within, batch_size, n)
        batch = stop - start
        eta_t = rule_step_size(rule, eta, step_index(k, 0))
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
