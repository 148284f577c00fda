"""Compiled backward trajectories.

The backward iterate after ``k`` maps is ``θ̃_k = T_1 ∘ … ∘ T_k (θ_0)``:
unlike forward SGD, ``θ̃_k`` is not a step away from ``θ̃_{k−1}`` (the newest
map is applied *first*), so a trajectory is not one pass. Two ways to get it:

- :func:`backward_replay`: every requested ``θ̃_k`` is its own chain, one
  reversed pass over maps ``k … 1`` (O(K²) maps for K steps), chains spread
  over threads. Works for every loss and penalty.
- :func:`backward_affine`: for squared error with no L1 penalty every map is
  affine, ``T_k(θ) = A_k θ + c_k``, so ``F_k = T_1 ∘ … ∘ T_k`` is kept as a pair
  ``(M_k, v_k)`` with ``M_k = M_{k−1} A_k`` and ``v_k = v_{k−1} + M_{k−1} c_k``
  (design.md fact 4): O(d² · batch) per step.
"""

import numba

from .._jit import jit, jit_parallel
from ..penalties import l2_decay
from ..schedules import step_size
from . import OK
from .cpu import apply_steps, load_epoch_order
from .storage import ALL_ROWS


@jit_parallel
def backward_replay(
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
    n_outputs,
    out,
    orders,
    works,
    scales,
    statuses,
    failed_epochs,
    table,
    no_losses,
    no_records,
    no_herding,
    no_pointers,
    no_average,
):
    """``out[c] = T_1 ∘ … ∘ T_{steps[c]} (theta0)`` for every ``c``, chains in parallel.

    Parameters
    ----------
    X, y, sample_weight, rule, eta, scheme, seed, batch_size
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`.
    steps : ndarray of shape (n_chains,), int64
        The ``k`` of each requested backward iterate.
    theta0 : ndarray of shape (n_coef + n_outputs,)
        Starting point ``(w_0, b_0)``: the weights of the ``n_outputs``
        models, then their intercepts.
    n_outputs : int
        Number of models the update map moves together (see ``apply_steps``).
    out : ndarray of shape (n_chains, n_coef + n_outputs)
        The backward iterates ``(w, b)``.
    orders : ndarray of shape (n_threads, n_samples), int64
        Scratch space, one row per thread.
    works : ndarray of shape (n_threads, batch_size * n_outputs)
        Scratch space, one row per thread.
    scales : ndarray of shape (n_threads, 1)
        Scratch space, one row per thread.
    statuses, failed_epochs : ndarray of shape (n_threads,), int64
        Failure status (``OK`` if none) and epoch, per thread.
    table : ndarray of shape (n_rows, n_samples), int64
        GraB's epoch orders (see ``apply_steps``), shared and only read.
    no_losses, no_records, no_herding, no_pointers, no_average : ndarray
        Placeholders for ``apply_steps``' arguments that a backward chain
        does not use (the kernels do not allocate).

    Notes
    -----
    Thread ``t`` computes chains ``t, t + n_threads, …``; each chain is the
    same serial computation whichever thread runs it, so the result does not
    depend on the number of threads.
    """
    n_threads = orders.shape[0]
    n_coef = theta0.shape[0] - n_outputs
    for t in numba.prange(n_threads):
        statuses[t] = OK
        failed_epochs[t] = -1
        for c in range(t, steps.shape[0], n_threads):
            for j in range(n_coef + n_outputs):
                out[c, j] = theta0[j]
            status, epoch = apply_steps(
                X,
                y,
                sample_weight,
                out[c, :n_coef],
                out[c, n_coef:],
                scales[t],
                rule,
                eta,
                scheme,
                seed,
                batch_size,
                0,
                steps[c],
                True,
                0,
                False,
                no_losses,
                0,
                no_records,
                table,
                orders[t],
                works[t],
                no_herding,
                no_pointers,
                0,
                no_average,
            )
            if status != OK:
                statuses[t] = status
                failed_epochs[t] = epoch
                break
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
    n_steps,
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
    """Backward iterates of an affine (quadratic-loss) problem, one pass.

    Writes ``out[r] = θ̃_{skip + (r + 1) every} = M θ_0 + v`` for ``r = 0, 1, …``.

    Parameters
    ----------
    X, y, sample_weight, rule, eta, scheme, seed, batch_size
        As in :func:`~sklearn_order.kernels.cpu.apply_steps`; ``rule`` must
        be squared error with no L1 part.
    n_steps, every, skip : int
        Compose maps ``1 … n_steps``; record every ``every`` maps after the
        first ``skip``.
    theta0 : ndarray of shape (n_features + 1,)
    out : ndarray of shape ((n_steps - skip) // every, n_features + 1)
    M : ndarray of shape (n_features + 1, n_features + 1)
        Scratch space for ``M_k``.
    v : ndarray of shape (n_features + 1,)
        Scratch space for ``v_k``.
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
    for a in range(dim):
        v[a] = 0.0
        for j in range(dim):
            M[a, j] = 1.0 if a == j else 0.0
    loaded_epoch = -1
    for k in range(n_steps):
        epoch = k // batches
        if epoch != loaded_epoch:
            load_epoch_order(scheme, seed, epoch, table, order, ALL_ROWS)
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
