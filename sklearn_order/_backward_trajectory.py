"""The backward trajectory of a problem: its iterates ``θ̃_k`` for many ``k``.

The final backward iterate costs one pass (a reversed
:meth:`~sklearn_order._problem.Problem.apply_maps`); the *trajectory*
``θ̃_1, θ̃_2, …`` is what the diagnostics
(:func:`~sklearn_order.diagnostics.trajectory`,
:func:`~sklearn_order.diagnostics.coalescence`) follow. Two ways to it, each
taking the :class:`~sklearn_order._problem.Problem` as an argument:

- :func:`backward_iterates`: one chain per iterate, run in parallel threads,
  coupled (a chain stops where it meets its thread's anchor, bit for bit, or
  within a tolerance that :func:`check_nonexpansive` bounds);
- :func:`backward_affine_iterates`: where every map is affine
  (:func:`is_affine`), the composition kept as a matrix and a vector.

Both run on the CPU. The diagnostics ask the engine of the fit's device
for a model's chains: ``backward_iterates`` of
:class:`~sklearn_order._engine.SingleEngine` calls :func:`backward_iterates`,
that of :class:`~sklearn_order._cuda_driver.CudaEngine` replays them on the
device, and the engine's ``couples_chains`` says whether they couple. The
affine composition runs here whatever the device.
"""

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import _problem
from ._problem import MapBudgetError
from .kernels import (
    DERIVATIVE_AT_BOUND,
    NON_FINITE,
    OK,
    BatchSequence,
)
from .kernels.storage import kernel_rows
from .kernels.trajectory import (
    ANCHOR,
    CHAIN,
    FAILED_EPOCH,
    LEVEL,
    MAPS,
    N_CURSOR,
    STATUS,
    AffineRange,
    Chains,
    Composition,
    Coupling,
    Threads,
    backward_affine,
    backward_chains,
)
from .losses import LOSS_SMOOTHNESS, MAX_DLOSS, SQUARED_ERROR
from .schedules import is_passive_aggressive, largest_step, weighted_squared_norms

# A coupled chain's checkpoint (compare, then copy the state) costs at most
# about 1/CHECKPOINT_COST of the maps between two checkpoints.
CHECKPOINT_COST = 128
# Levels below the anchor's start within which a coupled chain may meet it
# before it gives up, finishes as a plain replay and becomes the anchor.
COUPLING_WINDOW = 4096
# Checkpoint rings per thread (bytes).
RING_BYTES = 16 * 2**20


def is_affine(problem):
    """Whether every update map is affine in ``θ`` (squared error, no L1,
    steps that do not depend on ``θ``)."""
    return (
        problem.rule.loss == SQUARED_ERROR
        and problem.rule.l1 == 0.0
        and not is_passive_aggressive(problem.rule.schedule)
    )


def has_affine_trajectory(problem):
    """Whether :func:`backward_affine_iterates` applies (affine maps, dense X,
    targets below the derivative's clipping bound)."""
    # targets at the clipping bound clip the derivative at θ = 0, where
    # the maps stop being affine
    return (
        is_affine(problem)
        and not problem.is_sparse
        and np.abs(problem.y).max(initial=0.0) < MAX_DLOSS
    )


def backward_iterates(
    problem, steps, theta0, eta, *, coupling=True, tol=0.0, max_maps=None
):
    """Backward iterates ``θ̃_k`` for each ``k`` in ``steps``: one chain each.

    Each ``θ̃_k`` is a reversed pass over maps ``k … 1`` from ``theta0`` (a
    chain); chains run in parallel threads, in kernel calls of about 0.1 s
    (Python handles signals such as Ctrl-C between calls). With
    ``coupling``, a chain stops where its state meets, bit for bit, the
    state its thread's anchor (the last chain run to the end) had at the
    same level (see
    :func:`~sklearn_order.kernels.trajectory.backward_chains`): the
    results are the replay's, bit for bit, at a cost that depends on how
    soon the chains meet.

    Parameters
    ----------
    steps : array-like of int
        Increasing map counts ``k ≥ 1``.
    theta0 : ndarray of shape (n_parameters,)
        ``(w_0, b_0)``.
    eta : float
        Base step size.
    coupling : bool, default=True
        Stop chains where they meet (else plain replay).
    tol : float, default=0.0
        With ``coupling``, also stop chains whose parameters come within
        ``tol`` of the anchor's: every result is then within ``tol`` of
        the replay's where the maps are non-expansive (see
        :func:`check_nonexpansive`); 0 for bitwise results.
    max_maps : int, default=None
        Most maps to apply; :class:`MapBudgetError` beyond (unbounded
        if None).

    Returns
    -------
    iterates : ndarray of shape (len(steps), n_parameters)
    n_maps : int
        The number of maps applied.
    bounds : ndarray of shape (len(steps),)
        A bound on each iterate's distance to the replay's (zeros when
        ``tol`` is 0).

    Raises
    ------
    DivergenceError
        If a chain's iterates diverged (the earliest failing epoch is
        reported).
    MapBudgetError
        If the chains needed more than ``max_maps`` maps (for plain
        replay, refused before any work).
    """
    steps = np.asarray(steps, dtype=np.int64)
    theta0 = np.asarray(theta0, dtype=np.float64)
    n_chains = len(steps)
    out = np.empty((n_chains, problem.n_parameters))
    bounds = np.zeros(n_chains)
    if not n_chains:
        return out, 0, bounds
    if max_maps is not None and not coupling and int(steps.sum()) > max_maps:
        raise MapBudgetError(int(steps.sum()), exact=True)
    n_threads = min(numba.get_num_threads(), n_chains)
    stride, ring = _coupling_ring(problem, steps, n_threads, coupling)
    saved = np.empty((n_threads, 2, ring, problem.n_parameters + 1))
    saved_levels = np.full((n_threads, 2, ring), -1, dtype=np.int64)
    states = np.empty((n_threads, problem.n_parameters + 1))
    cursors = np.zeros((n_threads, N_CURSOR), dtype=np.int64)
    cursors[:, CHAIN] = np.arange(n_threads)
    cursors[:, LEVEL] = -1
    cursors[:, STATUS] = OK
    cursors[:, ANCHOR] = -1
    table = _table_for(problem, theta0, int(steps[-1]), eta)
    rows = kernel_rows(problem.X)
    orders = np.empty((n_threads, problem.n_samples), dtype=np.int64)
    works = np.empty((n_threads, problem.batch_size * problem.n_outputs))
    sequence = BatchSequence(problem.sampling, problem.seed, problem.batch_size, table)
    chains = Chains(steps, theta0, out, bounds)
    threads = Threads(states, cursors, orders, works)
    coupling = Coupling(saved, saved_levels, stride, float(tol))
    # the problem module's call size, read at call time: one setting for
    # every kernel call
    chunk = max(1, _problem._WORK_PER_CALL // problem.map_cost())
    n_maps = 0
    with ThreadPoolExecutor(n_threads) as pool:
        while True:
            budget = chunk
            if max_maps is not None:  # stop just past the budget
                budget = min(chunk, (max_maps - n_maps) // n_threads + 1)

            def advance(thread, budget=budget):
                backward_chains(
                    rows,
                    problem.y,
                    problem.sample_weight,
                    problem.rule,
                    float(eta),
                    sequence,
                    chains,
                    threads,
                    coupling,
                    budget,
                    thread,
                )

            # each thread writes only its own rows of the shared arrays
            list(pool.map(advance, range(n_threads)))
            failed = np.flatnonzero(cursors[:, STATUS] != OK)
            if failed.size:
                t = failed[np.argmin(cursors[failed, FAILED_EPOCH])]
                raise problem._divergence_error(
                    cursors[t, STATUS], cursors[t, FAILED_EPOCH]
                )
            n_maps = int(cursors[:, MAPS].sum())
            if np.all(cursors[:, CHAIN] >= n_chains):
                return out, n_maps, bounds
            if max_maps is not None and n_maps > max_maps:
                raise MapBudgetError(n_maps, exact=False)


def check_nonexpansive(problem, eta):
    """Raise unless every update map is non-expansive.

    A map ``θ ↦ prox(θ − η ∇f_B(θ))`` of a convex ``L_B``-smooth ``f_B``
    moves no two points apart when ``η L_B ≤ 2``. Here ``f_B`` is the
    batch's mean weighted loss plus the L2 term, so
    ``L_B ≤ L_ℓ mean_{i∈B} s_i ‖z_i‖² + l2`` with ``z_i = (x_i, 1)``
    (``x_i`` alone without an intercept) and ``L_ℓ`` the loss's
    smoothness, at most ``L_ℓ`` times the mean of the ``|B|`` largest
    ``s_i ‖z_i‖²``; the largest step is the schedule's first.

    Raises
    ------
    ValueError
        If the loss is not smooth (its derivative jumps) or the step is
        too large for the data.
    """
    smoothness = LOSS_SMOOTHNESS.get(problem.rule.loss)
    if smoothness is None:
        raise ValueError(
            "a coupling tolerance needs a smooth loss (log_loss, squared_hinge, "
            "modified_huber, squared_error, huber or "
            "squared_epsilon_insensitive): with a jump in the loss derivative "
            "nearby chains can move apart, and no error bound holds."
        )
    scales = weighted_squared_norms(
        problem.X, problem.sample_weight, problem.rule.fit_intercept
    )
    # the worst batch: the mean of the largest s_i ‖z_i‖² (the last batch
    # of an epoch may hold fewer rows)
    batch_size = problem.batch_size
    size = min(batch_size, problem.n_samples % batch_size or batch_size)
    worst = np.sort(scales)[-size:]
    largest = float(worst.mean())
    rule = problem.rule
    first_step = largest_step(rule, eta)
    if first_step * (smoothness * largest + rule.l2) > 2.0:
        raise ValueError(
            "a coupling tolerance needs non-expansive maps: the step "
            f"{first_step:g} times the batch smoothness "
            f"{smoothness * largest + rule.l2:g} "
            "exceeds 2, and nearby chains may move apart. Lower eta0 or scale "
            "the data, or use coupling_tol=0 (bitwise coupling)."
        )


def _coupling_ring(problem, steps, n_threads, coupling):
    """``(stride, W)``: the coupling's checkpoint spacing and ring size (0: replay).

    A checkpoint (compare, then copy ``n_parameters + 1`` numbers) costs
    a small share of a map's work when taken every ``stride`` levels. A
    chain meets its thread's anchor within the anchor's ``W`` top
    checkpoints: they cover ``COUPLING_WINDOW`` levels below the start of
    a chain as far above the anchor as chains go, within ``RING_BYTES``
    per thread for the two rings.
    """
    if not coupling:
        return 1, 0
    stride = max(1, -(-CHECKPOINT_COST * problem.n_parameters // problem.map_cost()))
    gap = int((steps[n_threads:] - steps[:-n_threads]).max(initial=1))
    ahead = gap + int(np.sqrt(2.0 * float(steps[-1]) * gap))
    ring = -(-(ahead + COUPLING_WINDOW) // stride) + 1
    largest = RING_BYTES // (2 * 8 * (problem.n_parameters + 1))
    return stride, max(2, min(ring, largest))


def backward_affine_iterates(problem, n_steps, every, theta0, eta, start=0):
    """Backward iterates after ``start + every, start + 2·every, …`` maps (affine).

    Only for :func:`is_affine` problems on dense ``X``;
    O(n_features² · batch_size) per map; in calls of about 0.1 s.

    Returns
    -------
    ndarray of shape ((n_steps - start) // every, n_features + 1)
    """
    if not is_affine(problem):
        raise ValueError(
            "the affine trajectory needs loss='squared_error' with penalty "
            "None or 'l2' (every update map affine in the coefficients)."
        )
    if problem.is_sparse:
        raise ValueError(
            "the affine trajectory needs dense X (it costs n_features² per "
            "map anyway); use method='replay' for sparse X."
        )
    if problem.rows is not None:
        raise ValueError("the affine trajectory trains on every row of X.")
    dim = problem.X.shape[1] + 1
    theta0 = np.asarray(theta0, dtype=np.float64)
    out = np.empty(((n_steps - start) // every, dim))
    M, v = np.empty((dim, dim)), np.empty(dim)
    u = np.empty((problem.batch_size, dim))
    table = _table_for(problem, theta0, n_steps, eta)
    order = np.empty(problem.n_samples, dtype=np.int64)
    chunk = max(1, _problem._WORK_PER_CALL // problem.map_cost(affine=True))
    sequence = BatchSequence(problem.sampling, problem.seed, problem.batch_size, table)
    composition = Composition(M, v, u, order)
    for first in range(0, n_steps, chunk):
        backward_affine(
            problem.X,
            problem.y,
            problem.sample_weight,
            problem.rule,
            float(eta),
            sequence,
            AffineRange(first, min(first + chunk, n_steps), every, start),
            theta0,
            out,
            composition,
        )
    # The affine path has no loss derivative to watch; bound it instead:
    # |x·w + b| ≤ ‖w‖ max‖x‖ + |b| =: P, so |x·w + b − y| ≤ P + max|y|, at
    # each recorded iterate. The maps are affine only while no derivative
    # reaches its clipping bound.
    with np.errstate(over="ignore", invalid="ignore"):
        predictions = np.linalg.norm(out[:, :-1], axis=1) * _max_row_norm(
            problem
        ) + np.abs(out[:, -1])
        residuals = predictions + np.abs(problem.y).max()
    bad = np.flatnonzero(~(residuals < MAX_DLOSS))
    if bad.size:
        step = start + (bad[0] + 1) * every
        if not np.isfinite(out[bad[0]]).all():
            status = NON_FINITE
        elif not predictions[bad[0]] <= problem.rule.prediction_bound:
            status = DERIVATIVE_AT_BOUND
        else:  # large targets, not divergence: the maps clip, not affine
            raise ValueError(
                "the affine trajectory needs residuals below the loss "
                f"derivative's clipping bound ({MAX_DLOSS:g}), where the "
                "update maps are affine; these targets (up to "
                f"{np.abs(problem.y).max():.3g}) reach it. Use method='replay'."
            )
        raise problem._divergence_error(status, (step - 1) // problem.n_batches)
    return out


def _table_for(problem, theta0, n_steps, eta):
    """The order table for backward iterates of up to ``n_steps`` maps."""
    n_epochs = (n_steps - 1) // problem.n_batches + 1
    n_coef = problem.n_parameters - problem.n_outputs
    return problem.order_table(theta0[:n_coef], theta0[n_coef:], n_epochs, eta)


def _max_row_norm(problem):
    return float(np.sqrt(weighted_squared_norms(problem.X, 1.0, False).max()))
