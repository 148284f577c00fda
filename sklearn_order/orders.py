"""Composition orders: which maps, in which order, and how convergence is judged.

For a batch sequence ``B_1, B_2, …`` with update maps ``T_k = T_{B_k}``:

- ``"forward"`` (ordinary SGD): ``θ_K = T_K ∘ … ∘ T_1 (θ_0)``, the newest map
  applied last. Converged when the training objective (with early stopping:
  the held-out score) has not improved by ``tol`` for ``n_iter_no_change``
  epochs (scikit-learn's criterion); the iterates themselves keep fluctuating
  with a constant step size.
- ``"backward"``: ``θ̃_K = T_1 ∘ … ∘ T_K (θ_0)``, the newest map applied first
  to ``θ_0`` and the oldest last. ``θ̃_K`` is one pass over the reversed
  sequence. In a contractive region the backward iterates
  converge to a point, so convergence is judged on the iterates: they are
  evaluated at epoch counts 1, 2, 4, … (capped by ``max_iter``) and the fit
  stops when two successive ones agree to ``tol`` relative to their norm
  (coupling from the past: the distance shrinks geometrically with the
  epochs). The whole test costs at most about twice the final pass.
  With early stopping, the held-out score of each evaluated backward iterate
  is judged instead, by the forward rule counted in evaluations.

Each order is an :class:`Order` in :data:`ORDERS`; adding one is one entry.
"""

from typing import NamedTuple

import numpy as np

from . import _backward_trajectory as backward
from ._warnings import warn
from .penalties import penalty_value


class OrderResult(NamedTuple):
    """What an order reports about one model's fit.

    Attributes
    ----------
    n_iter : int
        Epochs in the returned composition.
    converged : bool
        Whether the order's stopping criterion was met (always ``True`` when
        ``tol`` is ``None``: nothing was asked).
    error : DivergenceError or None, default=None
        Why the model's fit failed (its parameters are then meaningless).
    """

    n_iter: int
    converged: bool
    error: Exception | None = None


class StoppingRule(NamedTuple):
    """The estimator's stopping parameters.

    A model's base step is its problem's ``eta0`` (models of one engine may
    differ in it).
    """

    max_iter: int
    tol: float | None
    n_iter_no_change: int
    adaptive: bool
    verbose: int


def _say(verbose, message):
    if verbose:
        print(message, flush=True)


def _settle(results, models, n_iter, converged):
    """Record the same result for every model still training."""
    for m in models:
        results[m] = OrderResult(n_iter, converged)
    return results


def _record_failures(results, failures, n_iter):
    """Record the failed models' errors (a failed model stops training)."""
    for m, error in failures.items():
        results[m] = OrderResult(n_iter, False, error)


def fit_forward(engine, stop):
    """Forward composition of up to ``stop.max_iter`` epochs for each model, in place.

    Every model of ``engine`` is judged on its own (its own objective or
    held-out score, its own step under ``adaptive``); a model that has
    stopped is no longer updated while the others go on.

    Parameters
    ----------
    engine : SingleEngine, GroupEngine or CudaEngine
        The models, from their starting parameters (updated in place).
    stop : StoppingRule

    Returns
    -------
    list of OrderResult
        One per model.
    """
    n_models = len(engine.problems)
    everyone = list(range(n_models))
    results = [None] * n_models
    first = engine.problems[0]
    per_epoch = first.n_batches
    track = stop.tol is not None or bool(stop.verbose)
    if not track:
        _, failures = engine.run_epochs(
            everyone,
            first_epoch=0,
            n_epochs=stop.max_iter,
            reverse=False,
            t_start=0,
            etas=[problem.eta0 for problem in engine.problems],
        )
        _settle(
            results, [m for m in everyone if m not in failures], stop.max_iter, True
        )
        _record_failures(results, failures, stop.max_iter)
        return results

    etas = [problem.eta0 for problem in engine.problems]
    improving = [_Improvement(stop) for _ in everyone]
    # the training loss is needed by the criterion, or to be printed; early
    # stopping judges the held-out score instead
    track = not first.validates or bool(stop.verbose)
    active = everyone
    for epoch in range(stop.max_iter):
        if not active:
            return results
        losses, failures = engine.run_epochs(
            active,
            first_epoch=epoch,
            n_epochs=1,
            reverse=False,
            t_start=epoch * per_epoch,
            etas=[etas[m] for m in active],
            track_loss=track,
        )
        _record_failures(results, failures, epoch + 1)
        training = []
        for row, m in enumerate(active):
            if m in failures:
                continue
            problem = engine.problems[m]
            coef, intercept = engine.params[m]
            rule = problem.rule
            score = (
                problem.validation_score(coef, intercept) if problem.validates else None
            )
            if track:
                objective = losses[row, 0] / problem.n_samples + penalty_value(
                    coef, rule.l2, rule.l1
                )
                _say(
                    stop.verbose,
                    f"-- Epoch {epoch + 1}: objective {objective:.6g}, "
                    + (f"validation score {score:.6g}, " if problem.validates else "")
                    + f"norm {np.linalg.norm(coef):.4g}, bias {intercept[0]:.4g}",
                )
            value = -score if problem.validates else objective  # lower is better
            if stop.tol is None or improving[m](value):
                training.append(m)
            elif stop.adaptive and etas[m] > 1e-6:
                etas[m] /= 5.0
                improving[m].reset()
                training.append(m)
            else:
                results[m] = OrderResult(epoch + 1, True)
        active = training
    return _settle(results, active, stop.max_iter, stop.tol is None)


class _Improvement:
    """scikit-learn's rule: has ``value`` (lower is better) improved lately?

    A value counts as no improvement unless it beats the best so far by
    ``tol``; after ``n_iter_no_change`` such values in a row, calling the
    object returns False.
    """

    def __init__(self, stop):
        self.tol, self.patience = stop.tol, stop.n_iter_no_change
        self.best = np.inf
        self.reset()

    def reset(self):
        self.no_improvement = 0

    def __call__(self, value):
        self.no_improvement = (
            self.no_improvement + 1 if value > self.best - self.tol else 0
        )
        self.best = min(self.best, value)
        return self.no_improvement < self.patience


def doubling_schedule(max_iter):
    """Epoch counts ``1, 2, 4, …`` below ``max_iter``, then ``max_iter``."""
    counts = []
    n = 1
    while n < max_iter:
        counts.append(n)
        n *= 2
    counts.append(max_iter)
    return counts


def fit_backward(engine, stop):
    """Backward composition for each model, stopped by the doubling test, in place.

    The models share the evaluation points (1, 2, 4, … epochs); each stops
    on its own, and a model that has stopped keeps its iterate while the
    others go on.

    Parameters
    ----------
    engine : SingleEngine, GroupEngine or CudaEngine
        The models, from their starting parameters (updated in place).
    stop : StoppingRule
        ``n_iter_no_change`` and ``adaptive`` are not used.

    Returns
    -------
    list of OrderResult
        One per model.
    """
    n_models = len(engine.problems)
    results = [None] * n_models
    starts = [(coef.copy(), intercept.copy()) for coef, intercept in engine.params]
    schedule = [stop.max_iter] if stop.tol is None else doubling_schedule(stop.max_iter)
    previous = [None] * n_models
    previous_epochs = 0
    improving = [
        _Improvement(stop) if stop.tol is not None else None for _ in range(n_models)
    ]
    origins = [problem.constant_model() for problem in engine.problems]
    active = list(range(n_models))
    for n_epochs in schedule:
        if not active:
            return results
        for m in active:
            engine.params[m][0][:] = starts[m][0]
            engine.params[m][1][:] = starts[m][1]
        _, failures = engine.run_epochs(
            active,
            first_epoch=0,
            n_epochs=n_epochs,
            reverse=True,
            t_start=0,
            etas=[engine.problems[m].eta0 for m in active],
        )
        _record_failures(results, failures, n_epochs)
        training = []
        for m in active:
            if m in failures:
                continue
            problem = engine.problems[m]
            coef, intercept = engine.params[m]
            if problem.validates and improving[m] is not None:
                # early stopping: the held-out score of each evaluated iterate
                score = problem.validation_score(coef, intercept)
                _say(
                    stop.verbose,
                    f"-- Backward iterate at {n_epochs} epochs: "
                    f"validation score {score:.6g}",
                )
                if improving[m](-score):
                    training.append(m)
                else:
                    results[m] = OrderResult(n_epochs, True)
                continue
            theta = np.concatenate([coef, intercept])
            if previous[m] is not None:
                change = np.linalg.norm(theta - previous[m])
                size = np.linalg.norm(theta - origins[m])
                _say(
                    stop.verbose,
                    f"-- Backward iterate at {n_epochs} epochs: change "
                    f"{change:.4g} since {previous_epochs}, norm {size:.4g}",
                )
                if change <= stop.tol * size:
                    results[m] = OrderResult(n_epochs, True)
                    continue
            previous[m] = theta
            training.append(m)
        active = training
        previous_epochs = n_epochs
    return _settle(results, active, stop.max_iter, stop.tol is None)


def _check_forward(spec):
    """The forward order defines every schedule and averaging: nothing to check."""


def _check_backward(spec):
    """The parameters the backward composition does not define, or defines badly.

    Raises
    ------
    ValueError
        For ``average`` (the backward iterates already converge to a point)
        and ``learning_rate="adaptive"`` (its steps depend on the
        trajectory, so the composition ``T_1 ∘ … ∘ T_K`` is not defined).

    Warns
    -----
    UserWarning
        For a decaying step, which the backward composition applies largest
        last.
    """
    if spec.learning_rate in ("invscaling", "optimal"):
        warn(
            f"order='backward' with the decaying learning_rate="
            f"{spec.learning_rate!r}: the backward composition applies the "
            "first map, which has the largest step, last, so the returned "
            "coefficients are as noisy as that first step. Use "
            "learning_rate='constant' (the backward iterates then converge "
            "to a point), or order='forward' with a decaying step.",
            UserWarning,
        )
    if spec.average_start:
        raise ValueError(
            "average is only defined for order='forward': the backward "
            "iterates already converge to a point, so this library defines no "
            "average of them. Use order='forward' with average, or the "
            "backward order without."
        )
    if spec.learning_rate == "adaptive":
        raise ValueError(
            "learning_rate='adaptive' is only defined for order='forward': its "
            "step size depends on the training trajectory, not on the batch "
            "index alone, so the backward composition T_1 ∘ … ∘ T_K of the "
            "update maps is not defined. Use 'constant', 'invscaling' or "
            "'optimal'."
        )


def _epochs_forward(n_iter, tol, max_iter):
    """Forward applies its ``n_iter`` epochs of maps once."""
    return n_iter


def _epochs_backward(n_iter, tol, max_iter):
    """The doubling test recomputes its iterate at 1, 2, 4, … epochs to ``n_iter``."""
    if tol is None:
        return n_iter
    return sum(count for count in doubling_schedule(max_iter) if count <= n_iter)


def _trajectory_forward(method, engine, estimator):
    """Forward iterates are recorded along one pass."""
    return "pass"


def _trajectory_backward(method, engine, estimator):
    """Affine composition where the maps are affine, else chains (coupled or not).

    Chains couple where the engine's do (not on a CUDA device).

    Raises
    ------
    ValueError
        If ``method="affine"`` is asked of maps that are not affine.
    """
    problem = engine.problems[0]
    if method == "affine" or (
        method == "auto" and backward.has_affine_trajectory(problem)
    ):
        if not backward.is_affine(problem):
            raise ValueError(
                "method='affine' needs loss='squared_error' with penalty None or "
                f"'l2'; got loss={estimator.loss!r}, penalty={estimator.penalty!r}. "
                "Use method='replay' (or 'auto')."
            )
        return "affine"
    coupled = method != "replay" and engine.couples_chains
    return "coupling" if coupled else "replay"


class Order(NamedTuple):
    """A composition order: everything that depends on it.

    Attributes
    ----------
    reverse : bool
        Whether a pass applies the newest map first.
    fit : callable
        ``fit(engine, stop) -> list of OrderResult``: fits every model of an
        engine (:mod:`sklearn_order._engine`) in place, one result per model.
    check_params : callable
        ``check_params(spec)``: raises for the parameters of a
        :class:`~sklearn_order._spec.FitSpec` that the order does not define,
        warns for those it defines badly (called as the spec is built).
    stopping_criterion : str
        What had not happened when ``max_iter`` stopped a fit (the
        ``ConvergenceWarning``'s words).
    evaluated_epochs : callable
        ``evaluated_epochs(n_iter, tol, max_iter) -> int``: the epochs of maps
        a fit with ``n_iter_ = n_iter`` computed (its work).
    trajectory_method : callable
        ``trajectory_method(method, engine, estimator) -> str``: how
        :func:`~sklearn_order.diagnostics.trajectory` computes the iterates
        (``"pass"``, ``"affine"``, ``"coupling"`` or ``"replay"``) for the
        ``method`` asked, with the engine of the estimator's first output.
    """

    reverse: bool
    fit: object
    check_params: object
    stopping_criterion: str
    evaluated_epochs: object
    trajectory_method: object


ORDERS = {
    "forward": Order(
        reverse=False,
        fit=fit_forward,
        check_params=_check_forward,
        stopping_criterion="the training objective kept improving by more than tol",
        evaluated_epochs=_epochs_forward,
        trajectory_method=_trajectory_forward,
    ),
    "backward": Order(
        reverse=True,
        fit=fit_backward,
        check_params=_check_backward,
        stopping_criterion=(
            "the backward iterates at successive doubled epoch counts did not "
            "agree to tol"
        ),
        evaluated_epochs=_epochs_backward,
        trajectory_method=_trajectory_backward,
    ),
}
