"""Diagnostics of the composition orders: trajectories and coalescence.

:func:`trajectory` returns the iterates ``θ_k`` of an estimator's order,
sampling and seed after ``k = every, 2·every, …`` maps — the iterates a fit
of that many maps returns. :func:`coalescence` runs the backward iterates
from several starting points and reports how fast they meet: a certificate
that the maps contract, or a warning that they do not.
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from . import _backward_trajectory as backward
from ._base import BaseBackwardSGD
from ._engine import build_engine
from ._problem import MapBudgetError
from ._spec import FitSpec
from ._training import build_problems, draw_seed
from ._warnings import warn
from .orders import ORDERS

TRAJECTORY_METHODS = ("auto", "coupling", "replay", "affine")
#: Default budget of :func:`trajectory`: the most update maps it applies.
MAX_TRAJECTORY_MAPS = 10**9


class ContractionWarning(UserWarning):
    """The backward iterates from different starting points do not coalesce."""


@dataclass(frozen=True)
class Trajectory:
    """Iterates of a composition order, recorded every ``every`` maps.

    Attributes
    ----------
    steps : ndarray of shape (n_records,)
        The map counts ``k`` of the records.
    coef : ndarray of shape (n_records, ...)
        ``coef[r]`` has the shape of the estimator's ``coef_``.
    intercept : ndarray of shape (n_records, ...)
        ``intercept[r]`` has the shape of the estimator's ``intercept_``.
    initial_coef, initial_intercept : ndarray
        The iterate before the first record: ``θ_0``, or ``θ_start``.
    order : str
        The composition order.
    method : {"pass", "coupling", "replay", "affine"}
        How the iterates were computed: recorded during one forward pass,
        replayed chain by chain (stopping where chains meet, or not), or
        composed as affine maps.
    error_bound : float
        With a coupling tolerance, the largest bound on a record's distance
        (Euclidean, over all parameters of one output) to the replay's; 0
        when the records are the replay's bit for bit.
    n_maps : int
        The update maps applied, over all outputs (the work done).
    """

    steps: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    initial_coef: np.ndarray
    initial_intercept: np.ndarray
    order: str
    method: str
    error_bound: float = 0.0
    n_maps: int = 0

    def thetas(self):
        """All parameters of each record, flattened.

        Returns
        -------
        ndarray of shape (n_records, n_params)
            Coefficients then intercepts of each record.
        """
        n = len(self.steps)
        return np.hstack([self.coef.reshape(n, -1), self.intercept.reshape(n, -1)])

    def step_norms(self):
        """``‖θ_{k_r} − θ_{k_{r−1}}‖`` between consecutive records (``θ_{k_0} = θ_0``).

        Returns
        -------
        ndarray of shape (n_records,)
        """
        theta0 = np.concatenate(
            [self.initial_coef.ravel(), self.initial_intercept.ravel()]
        )
        thetas = np.vstack([theta0, self.thetas()])
        return np.linalg.norm(np.diff(thetas, axis=0), axis=1)


def _check_estimator(estimator):
    if not isinstance(estimator, BaseBackwardSGD):
        raise TypeError(
            "expected a BackwardSGDClassifier or BackwardSGDRegressor, got "
            f"{type(estimator).__name__}."
        )


def _check_positive_int(value, name):
    if (
        not isinstance(value, Integral | np.integer)
        or isinstance(value, bool)
        or value < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)


def training_problems(
    estimator, X, y, sample_weight=None, coef_init=None, intercept_init=None
):
    """An estimator's validated training data and problems, without fitting it.

    What ``fit`` would train: the diagnostics follow these problems map by
    map. The estimator is not modified.

    Parameters
    ----------
    estimator : BaseBackwardSGD
    X, y, sample_weight, coef_init, intercept_init
        As for the estimator's ``fit``.

    Returns
    -------
    data : TrainingData
        The validated data, targets, weights and starting point.
    problems : list of Problem
        One per output, seeded by the estimator's ``random_state``.
    """
    spec = FitSpec.from_estimator(estimator)
    data = estimator._training_data(
        spec, X, y, sample_weight, coef_init, intercept_init
    )
    problems = build_problems(
        spec,
        data.X,
        data.targets,
        data.weights,
        seed=draw_seed(spec.random_state),
        n_rows=len(data.coef),
    )
    return data, problems


def _prepared(estimator, X, y, sample_weight, coef_init, intercept_init):
    """A validated clone, its training data and its problems (one per output).

    Raises
    ------
    ValueError
        For the multinomial loss, whose one problem moves every class's model.
    """
    _check_estimator(estimator)
    estimator = clone(estimator)
    data, problems = training_problems(
        estimator, X, y, sample_weight, coef_init, intercept_init
    )
    if problems[0].n_outputs > 1:
        raise ValueError(
            "the diagnostics follow one linear model per problem; "
            "multi_class='multinomial' moves all classes' models together and is "
            "not supported here. Use multi_class='ovr'."
        )
    return estimator, data, problems


def trajectory(
    estimator,
    X,
    y,
    *,
    every=1,
    n_steps=None,
    start=0,
    steps=None,
    sample_weight=None,
    coef_init=None,
    intercept_init=None,
    method="auto",
    coupling_tol=0.0,
    max_maps=MAX_TRAJECTORY_MAPS,
):
    r"""Iterates of the estimator's composition order after every ``every`` maps.

    The estimator's parameters (order, sampling, batch size, loss, penalty,
    learning rate and ``random_state``) define the batch sequence and the
    update maps; the estimator itself is not modified (fitted or not). For an
    integer ``random_state``, the iterate at ``k = e · n_batches`` maps equals
    the coefficients of ``fit`` with ``max_iter=e, tol=None``.

    - forward: recorded during one pass (K maps);
    - backward, ``"affine"``: for ``loss="squared_error"`` with penalty
      ``None`` or ``"l2"`` on dense ``X``, the maps are composed exactly as
      affine maps, in O(n_features² · batch_size) per map;
    - backward, ``"replay"``: each
      :math:`\tilde\theta_k = T_1 \circ \dots \circ T_k(\theta_0)` is its own
      reversed pass from ``θ_0`` (a chain: k maps), chains in parallel
      threads: O(K²/every) maps;
    - backward, ``"coupling"``: the replay's chains, each stopped as soon as
      its state equals, bit for bit, the state of the thread's *anchor* (the
      last chain it ran to the end) after the same maps: from there on both
      apply the same maps, so they end at the same point, and every iterate
      is bitwise the replay's. A chain compares every few maps (a stride
      that keeps comparisons near 1/128 of the maps' work) within the
      anchor's top 4,096 or so levels, kept in two rings of states per thread
      (at most 16 MiB per thread); one that has not met by then finishes as a
      plain replay and becomes the anchor. Bitwise meetings need strong
      contraction (``eta0 · alpha`` of several percent): rounding keeps
      nearby chains an ulp apart in some coordinate for hundreds or
      thousands of maps, and chains on CSR rows with an L2 penalty never
      meet. With ``coupling_tol`` chains stop where they come within that
      distance instead, with a stated error bound. Otherwise coupling costs
      about the replay.

    The computation returns to Python about every 0.1 s (Ctrl-C stops it) and
    is refused when it would apply more than ``max_maps`` maps.

    Parameters
    ----------
    estimator : BackwardSGDClassifier or BackwardSGDRegressor
        Supplies the parameters; it is cloned, not fitted.
    X : array-like of shape (n_samples, n_features)
        Training data, as for ``fit``.
    y : array-like of shape (n_samples,)
        Targets, as for ``fit``.
    every : int, default=1
        Record after every ``every`` maps.
    n_steps : int, default=None
        Number of maps ``K``; default ``estimator.max_iter`` epochs. Rounded
        down so that ``n_steps - start`` is a multiple of ``every``.
    start : int, default=0
        Record only after the first ``start`` maps (a multiple of
        ``every``): the iterates at ``k = start + every, …, n_steps``, with
        ``θ_start`` as the trajectory's initial point (for example the last
        epoch alone, without recording the run before it).
    steps : array-like of int, default=None
        Explicit map counts ``k`` to record (increasing, ``≥ 1``), instead of
        ``every``/``start``/``n_steps``; for example pairs ``k − 1, k`` to
        sample step norms along a long run. (The affine path then keeps every
        iterate up to ``max(steps)`` in memory.)
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows, as for ``fit``.
    coef_init, intercept_init : array-like, default=None
        Starting point (default zeros), shaped as for ``fit``.
    method : {"auto", "coupling", "replay", "affine"}, default="auto"
        For the backward order: ``"affine"`` requires a quadratic problem on
        dense ``X`` (``ValueError`` otherwise); ``"auto"`` uses it when
        possible and ``"coupling"`` otherwise. Ignored for the forward order.
        With ``device="cuda"`` the forward pass and the chains run on the GPU
        (chains are replayed: no coupling); the affine composition runs on
        the CPU.
    coupling_tol : float, default=0.0
        With ``method="coupling"``: also stop a chain where its parameters
        come within a distance of an earlier chain's (the tolerance less the
        error that chain's result already carries), and take that chain's
        result. Every iterate is then within ``coupling_tol`` (Euclidean
        norm over one output's coefficients and intercept) of the replay's,
        because the remaining maps move no two points apart — which holds
        for smooth losses when ``eta0 · (L m + l2) ≤ 2``, ``L`` the loss's
        smoothness (1/4 for ``log_loss``) and ``m`` the mean of the
        ``batch_size`` largest ``s_i (‖x_i‖² + 1)``; otherwise a
        ``ValueError``. The largest bound is returned as
        ``Trajectory.error_bound``. 0 (the default): bitwise the replay's.
        Ignored by the forward pass and the affine path (exact).
    max_maps : int, default=10**9
        The most update maps the trajectory may apply, over all one-vs-rest
        outputs: ``K`` per output for the forward pass and the affine path,
        ``Σ k`` over the recorded ``k`` for the replay, between ``K`` and that
        for coupling. A request that needs more is refused before any work
        where that is known (``K`` alone exceeds it, or the replay's sum), and
        otherwise stopped once the budget is spent; raise it for longer runs.

    Returns
    -------
    Trajectory

    Raises
    ------
    TypeError
        If ``estimator`` is not one of this package's estimators.
    ValueError
        For bad ``every``, ``n_steps``, ``method`` or ``max_maps``, bad data,
        diverging iterates, or a request beyond ``max_maps``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_order import BackwardSGDRegressor, trajectory
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> model = BackwardSGDRegressor(eta0=0.05, batch_size=4, random_state=0)
    >>> path = trajectory(model, X, y, n_steps=1000)
    >>> path.method, path.coef.shape
    ('affine', (1000, 3))
    >>> bool(path.step_norms()[-1] < 1e-8)
    True
    """
    every = _check_positive_int(every, "every")
    max_maps = _check_positive_int(max_maps, "max_maps")
    if (
        not isinstance(coupling_tol, Real)
        or isinstance(coupling_tol, bool)
        or not 0.0 <= coupling_tol < np.inf
    ):
        raise ValueError(
            f"coupling_tol must be a finite number >= 0; got {coupling_tol!r}."
        )
    if coupling_tol and method == "replay":
        raise ValueError(
            "coupling_tol applies to method='coupling' (or 'auto'); "
            "method='replay' is exact."
        )
    if method not in TRAJECTORY_METHODS:
        raise ValueError(f"method must be one of {TRAJECTORY_METHODS}; got {method!r}.")
    estimator, data, problems = _prepared(
        estimator, X, y, sample_weight, coef_init, intercept_init
    )
    if steps is not None:
        steps = np.asarray(steps)
        if (
            steps.ndim != 1
            or steps.size == 0
            or steps.dtype.kind not in "iu"
            or steps[0] < 1
            or np.any(np.diff(steps) <= 0)
        ):
            raise ValueError("steps must be increasing integers >= 1.")
        steps = steps.astype(np.int64)
        n_steps, start = int(steps[-1]), 0
    else:
        if n_steps is None:
            n_steps = estimator.max_iter * problems[0].n_batches
        n_steps = _check_positive_int(n_steps, "n_steps")
        if (
            not isinstance(start, Integral | np.integer)
            or isinstance(start, bool)
            or start < 0
            or start % every
        ):
            raise ValueError(
                f"start must be a non-negative multiple of every={every}; got "
                f"{start!r}."
            )
        if n_steps - start < every:
            raise ValueError(
                f"n_steps={n_steps} leaves fewer than every={every} maps after "
                f"start={start}."
            )
        n_steps -= (n_steps - start) % every
    eta = problems[0].eta0  # eta0, or the value eta0="auto" chose
    # each output's model, from its starting point, on the estimator's device
    engines = [
        build_engine(
            [problem],
            [(data.coef[k].copy(), data.intercept[k : k + 1].copy())],
            device=estimator.device,
        )
        for k, problem in enumerate(problems)
    ]
    used = ORDERS[estimator.order].trajectory_method(method, engines[0], estimator)

    # with start > 0 the record at `start` is computed too: the initial point
    first = start - every if start else 0
    explicit = steps is not None
    request = (
        "steps=[…]"
        if explicit
        else f"n_steps={n_steps}" + (f", every={every}" if every > 1 else "")
    )
    n_outputs = len(problems)
    # every method applies at least the K maps of the longest iterate
    if n_outputs * n_steps > max_maps:
        raise _over_budget(request, n_outputs * n_steps, max_maps, "at least ")
    if not explicit:
        steps = np.arange(first + every, n_steps + 1, every)
    if used == "replay":
        replay_maps = n_outputs * float(np.sum(steps, dtype=np.float64))
        if replay_maps > max_maps:
            raise _over_budget(request, int(replay_maps), max_maps, "")
    maps_left = max_maps
    tol = float(coupling_tol) if used == "coupling" else 0.0
    if tol:
        for problem in problems:
            backward.check_nonexpansive(problem, eta)
    error_bound = 0.0
    total_maps = 0
    records = []
    for k, (problem, engine) in enumerate(zip(problems, engines)):
        theta0 = np.append(data.coef[k], data.intercept[k])
        if used == "pass":
            if explicit:
                records.append(_forward_at(engine, steps, eta))
                continue
            engine.apply_maps(0, first_step=0, n_steps=first, reverse=False, eta=eta)
            records.append(
                engine.apply_maps(
                    0,
                    first_step=first,
                    n_steps=n_steps - first,
                    reverse=False,
                    eta=eta,
                    record_every=every,
                )
            )
        elif used == "affine" and explicit:
            every_step = backward.backward_affine_iterates(
                problem, n_steps, 1, theta0, eta
            )
            records.append(every_step[steps - 1])
        elif used == "affine":
            records.append(
                backward.backward_affine_iterates(
                    problem, n_steps, every, theta0, eta, first
                )
            )
        else:
            try:
                iterates, n_maps, bounds = engine.backward_iterates(
                    0,
                    steps,
                    eta,
                    coupling=used == "coupling",
                    tol=tol,
                    max_maps=maps_left,
                )
            except MapBudgetError as error:
                spent = max_maps - maps_left + error.n_maps
                raise _over_budget(
                    request, spent, max_maps, "" if error.exact else "more than "
                ) from None
            maps_left -= n_maps
            total_maps += n_maps
            error_bound = max(error_bound, float(bounds.max(initial=0.0)))
            records.append(iterates)
    records = np.stack(records, axis=1)  # (n_records, n_outputs, n_features + 1)
    n_features = data.X.shape[1]
    if start:
        initial, records, steps = records[0], records[1:], steps[1:]
        initial_coef, initial_intercept = (
            initial[:, :n_features],
            initial[:, n_features],
        )
    else:
        initial_coef, initial_intercept = data.coef, data.intercept
    coef, intercept = records[..., :n_features], records[..., n_features]
    if data.classes is None:  # regressor: coef_ (n_features,), intercept_ (1,)
        coef, initial_coef = coef[:, 0], initial_coef[0]
    return Trajectory(
        steps=steps,
        coef=coef,
        intercept=intercept,
        initial_coef=initial_coef,
        initial_intercept=initial_intercept,
        order=estimator.order,
        method=used,
        error_bound=error_bound,
        n_maps=total_maps if used in ("coupling", "replay") else n_outputs * n_steps,
    )


def _over_budget(request, n_maps, max_maps, qualifier):
    """The error for a trajectory that needs ``qualifier n_maps`` maps."""
    return ValueError(
        f"the trajectory for {request} needs {qualifier}{n_maps:,} update maps, "
        f"more than max_maps={max_maps:,}. Request fewer or earlier iterates "
        "(n_steps, every/start, or steps), or raise max_maps."
    )


def training_objective(estimator, X, y, coef=None, intercept=None, sample_weight=None):
    """The objective a fit minimises, at given coefficients.

    ``(1/n) Σ_i s_i ℓ(x_i·w + b, y_i) + α ((1 − ρ)/2 ‖w‖² + ρ ‖w‖₁)`` with
    the estimator's loss, penalty, sample and class weights; for one-vs-rest
    classifiers, the mean over the classes' binary problems.

    Parameters
    ----------
    estimator : BackwardSGDClassifier or BackwardSGDRegressor
        Supplies the loss and penalty (and, by default, the coefficients).
    X : array-like of shape (n_samples, n_features)
        Data on which the objective is evaluated.
    y : array-like of shape (n_samples,)
        Its targets.
    coef, intercept : array-like, default=None
        Shaped as the estimator's ``coef_``/``intercept_``; default the
        fitted ones. A leading axis evaluates several points at once.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.

    Returns
    -------
    float or ndarray of shape (n_points,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_order import BackwardSGDRegressor, training_objective
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 2.0])
    >>> model = BackwardSGDRegressor(penalty=None).fit(X, y)
    >>> float(training_objective(model, X, y, coef=[1.0], intercept=[0.0]))
    0.0
    """
    _check_estimator(estimator)
    if coef is None or intercept is None:
        if not hasattr(estimator, "coef_"):
            raise ValueError(
                "pass coef and intercept, or a fitted estimator (this one is not "
                "fitted)."
            )
        coef = estimator.coef_ if coef is None else coef
        intercept = estimator.intercept_ if intercept is None else intercept
    _, data, problems = _prepared(estimator, X, y, sample_weight, None, None)
    n_outputs, n_features = data.coef.shape
    one_point_ndim = 1 if data.classes is None else 2  # the ndim of coef_
    batched = np.ndim(coef) > one_point_ndim
    coef = np.asarray(coef, dtype=np.float64).reshape(-1, n_outputs, n_features)
    intercept = np.asarray(intercept, dtype=np.float64).reshape(-1, n_outputs)
    values = np.array(
        [
            np.mean(
                [problem.objective(w[k], b[k]) for k, problem in enumerate(problems)]
            )
            for w, b in zip(coef, intercept)
        ]
    )
    return values if batched else float(values[0])


def _forward_at(engine, steps, eta):
    """Forward iterates (averaged, with ``average``) after each of ``steps`` maps.

    One pass of the engine's model, stopped at each ``k`` to read ``θ_k`` (or
    the running mean once averaging has begun, at step ``average_start``):
    the same kernel as a fit without tolerance, so no other one is compiled.
    """
    problem = engine.problems[0]
    coef, intercept = engine.params[0]
    records = np.empty((len(steps), coef.shape[0] + 1))
    averaging_from = problem.average_start
    done = 0
    for r, k in enumerate(steps):
        engine.apply_maps(
            0,
            first_step=done,
            n_steps=int(k) - done,
            reverse=False,
            eta=eta,
        )
        done = int(k)
        if averaging_from and done >= averaging_from:
            records[r] = problem.running_average()
        else:
            records[r, :-1], records[r, -1] = coef, intercept[0]
    return records


@dataclass(frozen=True)
class Coalescence:
    r"""Distances between backward iterates started from different points.

    Attributes
    ----------
    steps : ndarray of shape (n_records,)
        Map counts ``k``.
    distances : ndarray of shape (n_records,)
        Largest pairwise distance
        :math:`\max_{a,b} \|\tilde\theta_k(\theta_0^a) - \tilde\theta_k(\theta_0^b)\|`.
    initial_distance : float
        The largest pairwise distance between the starting points.
    rate : float
        Geometric rate per map fitted to the second half of the records
        (``distance ∝ rate**k``); below 1 when the distance falls.
    contractive : bool
        Whether the distance fell geometrically by at least ``reduction``.
    """

    steps: np.ndarray
    distances: np.ndarray
    initial_distance: float
    rate: float
    contractive: bool


def coalescence(
    estimator,
    X,
    y,
    *,
    inits=None,
    n_inits=2,
    scale=1.0,
    every=1,
    n_steps=None,
    reduction=1e-6,
    sample_weight=None,
    random_state=None,
):
    r"""Run the backward iterates from several starting points; report their distance.

    In a contractive region the backward iterates :math:`\tilde\theta_k(\theta_0)`
    forget their
    starting point geometrically fast: their pairwise
    distance is a certificate of contraction. If it does not fall, a
    :class:`ContractionWarning` says so (for example unregularized logistic
    regression on separable data, whose weights grow without bound).

    Parameters
    ----------
    estimator : BackwardSGDClassifier or BackwardSGDRegressor
        Supplies the parameters; its ``order`` is ignored (always backward).
    X : array-like of shape (n_samples, n_features)
        Training data, as for ``fit``.
    y : array-like of shape (n_samples,)
        Targets, as for ``fit``.
    inits : list of (coef_init, intercept_init), default=None
        Starting points, shaped as for ``fit``. Default: ``n_inits`` seeded
        random points with entries of standard deviation ``scale`` (zero
        intercepts when ``fit_intercept=False``).
    n_inits : int, default=2
        Number of random starting points (at least 2) when ``inits`` is None.
    scale : float, default=1.0
        Standard deviation of the random starting points.
    every, n_steps : int
        As in :func:`trajectory`.
    reduction : float, default=1e-6
        The distance must fall below ``reduction`` times the initial distance
        (at a geometric rate) to certify contraction.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows, as for ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the random starting points.

    Returns
    -------
    Coalescence

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_order import BackwardSGDRegressor, coalescence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> model = BackwardSGDRegressor(eta0=0.05, batch_size=4, random_state=0)
    >>> report = coalescence(model, X, y, n_steps=1000, random_state=0)
    >>> report.contractive, bool(report.distances[-1] < 1e-10)
    (True, True)
    """
    _check_estimator(estimator)
    estimator = clone(estimator).set_params(order="backward")
    if inits is None:
        n_inits = _check_positive_int(n_inits, "n_inits")
        if n_inits < 2:
            raise ValueError(f"n_inits must be at least 2; got {n_inits}.")
        inits = _random_inits(estimator, X, y, n_inits, scale, random_state)
    elif len(inits) < 2:
        raise ValueError("inits must hold at least two starting points.")
    paths = [
        trajectory(
            estimator,
            X,
            y,
            every=every,
            n_steps=n_steps,
            sample_weight=sample_weight,
            coef_init=coef,
            intercept_init=b,
        )
        for coef, b in inits
    ]
    thetas = [path.thetas() for path in paths]
    starts = [
        np.concatenate([p.initial_coef.ravel(), p.initial_intercept.ravel()])
        for p in paths
    ]
    distances = np.zeros(len(paths[0].steps))
    initial = 0.0
    for a in range(len(paths)):
        for b in range(a + 1, len(paths)):
            distances = np.maximum(
                distances, np.linalg.norm(thetas[a] - thetas[b], axis=1)
            )
            initial = max(initial, float(np.linalg.norm(starts[a] - starts[b])))
    rate = _geometric_rate(paths[0].steps, distances, initial)
    contractive = bool(rate < 1.0 and distances[-1] <= reduction * initial)
    if not contractive:
        warn(
            f"the backward iterates from {len(paths)} starting points did not "
            f"coalesce: their distance went from {initial:.3g} to "
            f"{distances[-1]:.3g} in {paths[0].steps[-1]} maps (fitted rate "
            f"{rate:.6f} per map). The maps are not contractive here: add or "
            "raise the L2 penalty (alpha), lower eta0, or run more steps.",
            ContractionWarning,
        )
    return Coalescence(
        steps=paths[0].steps,
        distances=distances,
        initial_distance=initial,
        rate=rate,
        contractive=contractive,
    )


def _random_inits(estimator, X, y, n_inits, scale, random_state):
    """Seeded random starting points shaped like the estimator's coefficients."""
    _, data, _ = _prepared(estimator, X, y, None, None, None)
    rng = check_random_state(random_state)
    inits = []
    for _ in range(n_inits):
        coef = scale * rng.standard_normal(data.coef.shape)
        intercept = scale * rng.standard_normal(data.intercept.shape)
        if not estimator.fit_intercept:
            intercept[:] = 0.0
        inits.append((coef, intercept))
    return inits


def _geometric_rate(steps, distances, initial):
    """Per-map rate ``r`` of ``distance ∝ r**k``.

    Fitted (least squares on ``log distance``) on the second half of the
    records, or — when the distance reaches the float64 rounding floor
    (``1e-14 · initial``), where it stops carrying information — on the
    records up to the first one at the floor.
    """
    floor = max(initial * 1e-14, np.finfo(float).tiny)
    at_floor = np.flatnonzero(distances <= floor)
    if at_floor.size:
        segment = slice(0, at_floor[0] + 1)
    else:
        segment = slice(len(steps) // 2, len(steps))
    k = steps[segment]
    log_distance = np.log(np.maximum(distances[segment], floor))
    if len(k) < 2:
        k = np.concatenate([[0], k])
        log_distance = np.concatenate([[np.log(max(initial, floor))], log_distance])
    return float(np.exp(np.polyfit(k, log_distance, 1)[0]))
