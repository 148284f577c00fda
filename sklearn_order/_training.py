"""Training functions beside the estimators: outputs fitted by workers that return.

An estimator validates its parameters into a frozen
:class:`~sklearn_order._spec.FitSpec` and its data, and turns its targets
into one target vector per output (a one-vs-rest class, or one for
regression and for the multinomial loss). The functions here do the rest
from the spec alone, never reading the estimator, the way scikit-learn's
``fit_binary`` sits beside ``BaseSGD``:
:func:`build_problems` makes one :class:`~sklearn_order._problem.Problem` per
output, :func:`fit_problems` runs the estimator's composition order over them
and :func:`pass_problems` runs the one pass of ``partial_fit`` — through the
engine that the problems and the spec's device choose
(:func:`~sklearn_order._engine.build_engine`), serially, or on the CPU in
joblib workers over the outputs (:func:`run_outputs`) — and both return the
assembled coefficients as a :class:`Training`; the estimator publishes them.

A worker never writes into arrays of its caller: under a process backend
(loky, multiprocessing, Dask) such writes would land in the worker's copy
and be lost. Each returns an :class:`OutputFit`, and the caller assembles
them.
"""

import itertools
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._engine import build_engine, groupable
from ._problem import Problem, cancel_fit
from ._warnings import warn
from .orders import ORDERS, OrderResult
from .sampling import SAMPLINGS

_MAX_SEED = np.iinfo(np.int32).max
# partial_fit keys a chunk's permutation by t_ modulo this (keeps the map index
# epoch * n_batches far from overflow; a repeated key repeats a permutation)
_PARTIAL_FIT_EPOCH_KEYS = 2**20


class OutputFit(NamedTuple):
    """What one output's worker returns.

    Attributes
    ----------
    coef : ndarray of shape (n_outputs * n_features,), float64
        The fitted weights (flat; several models for the multinomial loss).
    intercept : ndarray of shape (n_outputs,), float64
        The fitted intercepts.
    n_iter : int
        Epochs composed.
    converged : bool
        Whether the order's stopping criterion was met.
    average : ndarray of shape (n_outputs * (n_features + 1),) or None
        With ``average``: the running mean of the iterates (weights, then
        intercepts); ``None`` without.
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    average: np.ndarray | None


def engine_of(problems, parameters, device="cpu"):
    """The engine of ``problems`` (:func:`~sklearn_order._engine.build_engine`)
    from copies of ``parameters``."""
    copies = [(coef.copy(), intercept.copy()) for coef, intercept in parameters]
    return build_engine(problems, copies, device=device)


def _outputs(engine, results):
    """The engine's models as :class:`OutputFit`; raises the first model's failure."""
    for result in results:
        if result.error is not None:
            raise result.error
    return [
        OutputFit(
            coef,
            intercept,
            result.n_iter,
            result.converged,
            problem.state.running_mean,
        )
        for problem, (coef, intercept), result in zip(
            engine.problems, engine.params, results
        )
    ]


def fit_outputs(problems, parameters, *, order, stop, device="cpu"):
    """Fit models from ``parameters`` in ``order``, stopped by ``stop``.

    Parameters
    ----------
    problems : list of Problem
        One problem, or several that share an engine
        (:func:`~sklearn_order._engine.build_engine`).
    parameters : list of (ndarray, ndarray)
        Starting ``(coef, intercept)`` per problem (not modified).
    order : str
        A key of :data:`~sklearn_order.orders.ORDERS`.
    stop : StoppingRule
    device : {"cpu", "cuda"}, default="cpu"
        Where the maps run.

    Returns
    -------
    list of OutputFit

    Raises
    ------
    DivergenceError
        The first failed model's.
    """
    engine = engine_of(problems, parameters, device)
    return _outputs(engine, ORDERS[order].fit(engine, stop))


def one_pass_outputs(
    problems, parameters, *, order, first_epoch, t_start, eta, where, device="cpu"
):
    """One pass over the problems' rows composed onto ``parameters``.

    Parameters
    ----------
    problems, parameters
        As for :func:`fit_outputs`.
    order : str
        A key of :data:`~sklearn_order.orders.ORDERS`: the direction of the pass.
    first_epoch, t_start, where
        As in :meth:`~sklearn_order._problem.Problem.run_epochs`.
    eta : float
        The base step size.
    device : {"cpu", "cuda"}, default="cpu"
        Where the maps run.

    Returns
    -------
    list of OutputFit
    """
    engine = engine_of(problems, parameters, device)
    n_models = len(problems)
    _, failures = engine.run_epochs(
        range(n_models),
        first_epoch=first_epoch,
        n_epochs=1,
        reverse=ORDERS[order].reverse,
        t_start=t_start,
        etas=[eta] * n_models,
        where=where,
    )
    return _outputs(
        engine,
        [OrderResult(1, m not in failures, failures.get(m)) for m in range(n_models)],
    )


_FIT_TOKENS = itertools.count()


def _units(problems, n_jobs, device):
    """The problems' indices split into the units a worker fits.

    On a CUDA device, one unit: one engine trains every output, its models
    side by side in each launch. On the CPU, problems that train as one
    group are split into at most ``effective_n_jobs(n_jobs)`` contiguous
    groups (one without workers); others are fitted one by one.
    """
    n = len(problems)
    if device == "cuda":
        return [list(range(n))]
    if not groupable(problems):
        return [[k] for k in range(n)]
    n_units = 1 if n_jobs in (None, 1) else min(n, effective_n_jobs(n_jobs))
    return [list(unit) for unit in np.array_split(np.arange(n), n_units)]


def run_outputs(function, problems, parameters, *, n_jobs=None, device="cpu", **kw):
    """``function(problems, parameters, device=device, **kw)`` over units of outputs.

    On the CPU, outputs that train as one group run in one pass per epoch,
    split over ``n_jobs`` workers; other outputs run one per worker. Several
    units with ``n_jobs`` other than ``None``/``1`` run in joblib workers:
    threads by default, or the backend of an enclosing
    ``joblib.parallel_backend`` (processes, Dask). If the caller is
    interrupted (Ctrl-C) or fails while thread workers run, they stop at
    their next return to Python (about every 0.1 s). On a CUDA device every
    output runs in one engine, without workers.

    Parameters
    ----------
    function : callable
        :func:`fit_outputs` or :func:`one_pass_outputs`.
    problems : list of Problem
    parameters : list of (ndarray, ndarray)
        Starting ``(coef, intercept)`` per problem.
    n_jobs : int or None, default=None
    device : {"cpu", "cuda"}, default="cpu"
        Where the maps run (passed to ``function``).
    **kw
        Passed to ``function``.

    Returns
    -------
    list of OutputFit
        One per problem, in order.
    """
    units = _units(problems, n_jobs, device)
    kw["device"] = device
    calls = [
        (function, [problems[k] for k in unit], [parameters[k] for k in unit])
        for unit in units
    ]
    if len(units) == 1 or n_jobs in (None, 1):
        fits = [
            call(unit_problems, unit_parameters, **kw)
            for call, unit_problems, unit_parameters in calls
        ]
        return [fit for unit in fits for fit in unit]
    token = next(_FIT_TOKENS)
    for problem in problems:
        problem.state.fit_token = token
    try:
        fits = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(call)(unit_problems, unit_parameters, **kw)
            for call, unit_problems, unit_parameters in calls
        )
    except BaseException:
        cancel_fit(token)
        raise
    return [fit for unit in fits for fit in unit]


class Training(NamedTuple):
    """The assembled result of fitting every output of an estimator.

    Attributes
    ----------
    coef : ndarray of shape (n_rows, n_features), float64
        The coefficient rows to report: the last iterates, or with
        ``average`` (from step ``average`` on) their running mean.
    intercept : ndarray of shape (n_rows,), float64
        The intercepts to report, likewise.
    standard : tuple of (ndarray, ndarray) or None
        With ``average``: the last iterates ``(coef, intercept)``, from
        which ``partial_fit`` continues; ``None`` without.
    n_iter : int
        The largest number of epochs over the outputs (1 for one pass).
    n_maps : int
        The update maps composed: ``n_iter`` times the maps per epoch.
    eta0 : float
        The base step size used (the value of ``eta0="auto"``).
    converged : bool
        Whether the order's stopping criterion was met for every output
        (``True`` when nothing was asked: ``tol=None``, or one pass).
    """

    coef: np.ndarray
    intercept: np.ndarray
    standard: tuple | None
    n_iter: int
    n_maps: int
    eta0: float
    converged: bool


def draw_seed(random_state):
    """The seed of a fit's batch sequence, drawn from ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        The estimator's ``random_state``.

    Returns
    -------
    int
        In ``[0, 2**31 - 1)``.
    """
    return int(check_random_state(random_state).randint(_MAX_SEED))


def build_problems(
    spec,
    X,
    targets,
    weights,
    *,
    seed,
    validation=None,
    n_rows=1,
    rows=None,
    eta0=None,
):
    """One :class:`~sklearn_order._problem.Problem` per target vector.

    Parameters
    ----------
    spec : FitSpec
        Supplies the update rule, the sampling, the batch size and the step
        size.
    X : ndarray or scipy CSR matrix of shape (n_samples, n_features)
        Validated training data.
    targets, weights : list of ndarray of shape (n_samples,)
        One target vector and one weight vector per problem.
    seed : int
        Seed of the batch sequence (see :func:`draw_seed`).
    validation : list of (X, y, sample_weight), default=None
        Held-out rows per problem, for early stopping.
    n_rows : int, default=1
        Coefficient rows: the number of classes that the multinomial problem
        moves together (ignored otherwise).
    rows : ndarray of int64, default=None
        The rows to train on (early stopping); ``None`` for all.
    eta0 : float, default=None
        The base step size; by default the spec's for these rows.

    Returns
    -------
    list of Problem
        A ``batch_size`` above the number of rows trained on means one batch
        of all of them. Where their maps run is the engine's choice
        (:func:`~sklearn_order._engine.build_engine`).
    """
    n_outputs = n_rows if spec.multinomial else 1
    n_visited = X.shape[0] if rows is None else rows.shape[0]
    if eta0 is None:
        eta0 = spec.step_size(X, targets, weights, rows)
    # a batch holds at most every row: the same batches, and work buffers
    # sized by the data rather than by the parameter
    batch_size = min(spec.batch_size, max(n_visited, 1))
    problems = [
        Problem(
            X=X,
            y=target,
            sample_weight=weight,
            rule=spec.rule,
            sampling=SAMPLINGS[spec.sampling],
            seed=seed,
            batch_size=batch_size,
            learning_rate_name=spec.learning_rate,
            eta0=eta0,
            average_start=spec.average_start,
            validation=None if validation is None else validation[k],
            n_outputs=n_outputs,
            rows=rows,
            classification=spec.classification,
            auto_step=spec.auto_step,
        )
        for k, (target, weight) in enumerate(zip(targets, weights))
    ]
    for problem in problems:
        problem.check_targets_reachable(spec.max_iter)
    return problems


def problem_parameters(coef, intercept, multinomial):
    """Views of ``(coef, intercept)`` rows, as each problem trains them.

    One-vs-rest and regression: problem ``k`` trains row ``k``. Multinomial:
    the one problem trains every row, laid out one after the other.

    Parameters
    ----------
    coef : ndarray of shape (n_rows, n_features), C-contiguous float64
    intercept : ndarray of shape (n_rows,), float64
    multinomial : bool
        Whether one problem trains every row.

    Returns
    -------
    list of (ndarray, ndarray)
        Flat weights and intercepts per problem (views).
    """
    if multinomial:
        return [(coef.reshape(-1), intercept)]
    return [(coef[k], intercept[k : k + 1]) for k in range(coef.shape[0])]


def _run_order(spec, function, problems, coef, intercept, **kw):
    """:func:`run_outputs` from ``(coef, intercept)``, the spec's workers and device."""
    return run_outputs(
        function,
        problems,
        problem_parameters(coef, intercept, spec.multinomial),
        n_jobs=spec.n_jobs,
        device=spec.device,
        **kw,
    )


def _assemble(spec, fits, shape, last_step):
    """The outputs' fits as coefficient rows: ``(coef, intercept, standard)``.

    With the spec's ``average_start`` the averaged iterates are reported and
    the last ones returned as ``standard``; before step ``average``
    (``last_step`` below it) there is no average yet, and the last iterates
    are reported, as in scikit-learn.
    """
    coef, intercept = np.empty(shape), np.empty(shape[0])
    rows = problem_parameters(coef, intercept, spec.multinomial)
    average_start = spec.average_start
    for fit, (weights, intercepts) in zip(fits, rows):
        weights[:] = fit.coef
        intercepts[:] = fit.intercept
    if not average_start:
        return coef, intercept, None
    standard = coef.copy(), intercept.copy()
    if last_step >= average_start:
        for fit, (weights, intercepts) in zip(fits, rows):
            weights[:] = fit.average[: weights.size]
            intercepts[:] = fit.average[weights.size :]
    return coef, intercept, standard


#: The most update maps a fit may count: the schedules take the map's index
#: as a float64, exact for every integer up to 2**53.
MAX_FIT_MAPS = 2**53


def check_map_budget(n_maps, what, remedy):
    """Refuse a fit that would count more than :data:`MAX_FIT_MAPS` maps.

    Parameters
    ----------
    n_maps : int
        The map count the fit would reach.
    what : str
        What asks for them, for the message (``"max_iter=… epochs of …"``).
    remedy : str

    Raises
    ------
    ValueError
    """
    if n_maps > MAX_FIT_MAPS:
        raise ValueError(
            f"{what} reach map {n_maps:.3g}, beyond the budget of "
            f"2**53 = {MAX_FIT_MAPS:.3g} maps (the schedules count maps in "
            f"float64, exact up to 2**53). {remedy}"
        )


def check_fit_budget(spec, problems):
    """Refuse a fit whose ``max_iter`` epochs of ``problems`` exceed the map budget.

    Raises
    ------
    ValueError
        See :func:`check_map_budget`.
    """
    n_batches = problems[0].n_batches
    check_map_budget(
        spec.max_iter * n_batches,
        f"max_iter={spec.max_iter} epochs of {n_batches} update maps",
        "Lower max_iter (with tol=None every epoch runs).",
    )


def fit_problems(
    spec, X, targets, weights, coef, intercept, rows=None, validation=None
):
    """Fit every output from ``(coef, intercept)`` in the spec's order.

    Warns with a :class:`~sklearn.exceptions.ConvergenceWarning` when an
    output did not meet the order's stopping criterion within ``max_iter``
    epochs.

    Parameters
    ----------
    spec : FitSpec
        The estimator's validated parameters.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    targets, weights : list of ndarray of shape (n_samples,)
        One target vector and one weight vector per problem.
    coef : ndarray of shape (n_rows, n_features), float64
        Starting weights (not modified).
    intercept : ndarray of shape (n_rows,), float64
        Starting intercepts (not modified).
    rows : ndarray of int64, default=None
        The rows to train on (early stopping); ``None`` for all.
    validation : list of (X, y, sample_weight), default=None
        Held-out rows per problem, for early stopping.

    Returns
    -------
    Training

    Raises
    ------
    DivergenceError
        If the iterates of an output diverged.
    """
    problems = build_problems(
        spec,
        X,
        targets,
        weights,
        seed=draw_seed(spec.random_state),
        validation=validation,
        n_rows=len(coef),
        rows=rows,
    )
    check_fit_budget(spec, problems)
    fits = _run_order(
        spec,
        fit_outputs,
        problems,
        coef,
        intercept,
        order=spec.order,
        stop=spec.stop,
    )
    n_iter = max(fit.n_iter for fit in fits)
    n_maps = n_iter * problems[0].n_batches
    converged = all(fit.converged for fit in fits)
    if not converged:
        criterion = spec.order_rules.stopping_criterion
        warn(
            f"Maximum number of iterations (max_iter={spec.max_iter}) reached "
            f"before convergence: {criterion}. Consider increasing max_iter, "
            "or check that the problem is well conditioned (regularized, "
            "scaled data).",
            ConvergenceWarning,
        )
    assembled = _assemble(spec, fits, coef.shape, n_maps)
    return Training(*assembled, n_iter, n_maps, problems[0].eta0, converged)


def pass_problems(
    spec,
    X,
    targets,
    weights,
    coef,
    intercept,
    *,
    t_start,
    initial_average=None,
    eta0=None,
):
    """One pass over the chunk ``X`` in the spec's order (``partial_fit``).

    The chunk's batches are composed forward (oldest map last) or backward
    (newest map first) on top of ``(coef, intercept)``; the epoch's
    permutation is keyed by ``t_start`` (the number of maps applied so far)
    modulo ``2**20`` (``"grab"``: its first, seeded order), and the schedule
    continues from ``t_start``.

    Parameters
    ----------
    spec : FitSpec
        The estimator's validated parameters.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        The chunk.
    targets, weights : list of ndarray of shape (n_samples,)
        One target vector and one weight vector per problem.
    coef : ndarray of shape (n_rows, n_features), float64
        The current weights (not modified).
    intercept : ndarray of shape (n_rows,), float64
        The current intercepts (not modified).
    t_start : int
        Maps applied before this chunk.
    initial_average : tuple of (ndarray, ndarray), default=None
        With ``average``: the running mean so far (coefficient rows and
        intercepts), which the pass continues.
    eta0 : float, default=None
        The base step size; by default that of this chunk.

    Returns
    -------
    Training
        With ``n_iter`` 1 and ``n_maps`` the maps of this pass.
    """
    problems = build_problems(
        spec,
        X,
        targets,
        weights,
        seed=draw_seed(spec.random_state),
        n_rows=len(coef),
        eta0=eta0,
    )
    check_map_budget(
        t_start + problems[0].n_batches,
        f"this partial_fit pass after t_={t_start} update maps",
        "Start a new estimator (or fit) instead of continuing this one.",
    )
    # GraB balances an epoch with the previous epoch of the same data; a
    # chunk has none, so it is visited in GraB's first (seeded) order.
    epoch_key = 0 if spec.sampling == "grab" else t_start % _PARTIAL_FIT_EPOCH_KEYS
    if initial_average is not None:
        averages = problem_parameters(*initial_average, spec.multinomial)
        for problem, (weights, intercepts) in zip(problems, averages):
            problem.running_average(initial=np.concatenate([weights, intercepts]))
    fits = _run_order(
        spec,
        one_pass_outputs,
        problems,
        coef,
        intercept,
        order=spec.order,
        first_epoch=epoch_key,
        t_start=t_start,
        eta=problems[0].eta0,
        # a pass is not an epoch of one sequence: name it by its maps
        where=f"in this partial_fit pass (after {t_start} earlier update maps)",
    )
    n_maps = problems[0].n_batches
    assembled = _assemble(spec, fits, coef.shape, t_start + n_maps)
    return Training(*assembled, 1, n_maps, problems[0].eta0, True)
