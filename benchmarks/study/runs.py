"""The study's runs: every method at every step size and seed, and two checks.

Each seed's fit and trace give the per-seed metrics; a coalescence certificate
of the backward maps and a many-seed same-law test complete a problem.
"""

from __future__ import annotations

import copy
import warnings

import _harness
import numpy as np
from scipy.stats import ks_2samp

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    ContractionWarning,
    DivergenceError,
    coalescence,
    trajectory,
)
from study.aggregation import (
    aggregate_cell,
    fmt,
    largest_stable_eta,
    largest_useful_eta,
    summary_stats,
)
from study.config import METHODS

# --------------------------------------------------------------------------
# One run: every method at one (problem, eta0, seed)
# --------------------------------------------------------------------------


def make_estimator(problem, method, eta0, seed, config):
    """The library estimator that ``method`` fits (tail averaging: forward).

    Parameters
    ----------
    problem : Problem
    method : str
        One of :data:`METHODS`.
    eta0 : float
    seed : int
    config : StudyConfig

    Returns
    -------
    BackwardSGDRegressor or BackwardSGDClassifier
    """
    common = dict(
        penalty="l2",
        alpha=config.alpha,
        batch_size=config.batch_size,
        eta0=eta0,
        max_iter=config.epochs,
        tol=None,
        random_state=seed,
        order="backward" if method == "backward" else "forward",
        learning_rate="invscaling" if method == "forward_invscaling" else "constant",
        power_t=config.power_t,
    )
    if problem.kind == "ridge":
        return BackwardSGDRegressor(loss="squared_error", **common)
    return BackwardSGDClassifier(loss="log_loss", **common)


def tail_average_path(thetas):
    """Tail averages ``ā_k = mean(θ_j, ⌊k/2⌋ < j ≤ k)`` for every ``k``.

    ``ā_k`` is what a run of ``k`` maps returns when it averages the iterates
    over the last half of the run (Polyak–Ruppert tail averaging).

    Parameters
    ----------
    thetas : ndarray of shape (K, n_params)
        Forward iterates ``θ_1 … θ_K``.

    Returns
    -------
    ndarray of shape (K, n_params)
    """
    K = len(thetas)
    sums = np.vstack([np.zeros(thetas.shape[1]), np.cumsum(thetas, axis=0)])
    k = np.arange(1, K + 1)
    start = k // 2
    return (sums[k] - sums[start]) / (k - start)[:, None]


def path_metrics(path, theta0, theta_star, maps_per_epoch):
    """Metrics of the models ``out(k)`` that runs of ``k = 1 … K`` maps return.

    Parameters
    ----------
    path : ndarray of shape (K, n_params)
        ``out(1) … out(K)``.
    theta0 : ndarray of shape (n_params,)
        The starting point ``out(0)``.
    theta_star : ndarray of shape (n_params,)
    maps_per_epoch : int

    Returns
    -------
    dict
        ``distance`` ``‖out(K) − θ*‖``; ``jitter`` the mean of
        ``‖out(k) − out(k−1)‖`` over the last epoch; ``epoch_move``
        ``‖out(K) − out(K − maps_per_epoch)‖``; ``step_norms`` every
        ``‖out(k) − out(k−1)‖``.
    """
    steps = np.linalg.norm(np.diff(np.vstack([theta0, path]), axis=0), axis=1)
    return {
        "distance": float(np.linalg.norm(path[-1] - theta_star)),
        "jitter": float(steps[-maps_per_epoch:].mean()),
        "epoch_move": float(np.linalg.norm(path[-1] - path[-1 - maps_per_epoch])),
        "step_norms": steps,
    }


def fitted_theta(estimator):
    """``(w, b)`` of a fitted estimator, flattened."""
    return np.concatenate([estimator.coef_.ravel(), estimator.intercept_.ravel()])


def with_theta(estimator, theta):
    """A copy of a fitted estimator whose coefficients are ``theta``."""
    model = copy.deepcopy(estimator)
    n_coef = model.coef_.size
    model.coef_ = theta[:n_coef].reshape(model.coef_.shape).copy()
    model.intercept_ = theta[n_coef:].reshape(model.intercept_.shape).copy()
    return model


def run_seed(problem, eta0, seed, config):
    """Run every method at one ``(problem, eta0, seed)``.

    Each constant-step or scheduled method is fitted (``max_iter=epochs``,
    ``tol=None``; the test score uses that fit) and traced with
    :func:`sklearn_order.trajectory` over the same ``K`` maps, ``every=1``
    (the jitter uses the trace; its final iterate is checked against the
    fit). Tail averaging is computed from the forward trace.

    Parameters
    ----------
    problem : Problem
    eta0 : float
    seed : int
    config : StudyConfig

    Returns
    -------
    dict
        By method: ``{"diverged": True, "error": str}`` or the metrics of
        :func:`path_metrics` plus ``score``, ``fit_mismatch`` and
        ``trajectory_method``.
    """
    X, y = problem.X_train, problem.y_train
    m = len(y) // config.batch_size
    K = config.epochs * m
    theta0 = np.zeros(problem.n_features + 1)
    results = {}
    traced = {}
    for method in ("forward", "backward", "forward_invscaling"):
        estimator = make_estimator(problem, method, eta0, seed, config)
        try:
            path = trajectory(estimator, X, y, every=1, n_steps=K)
            estimator.fit(X, y)
        except DivergenceError as error:
            results[method] = {"diverged": True, "error": str(error)}
            continue
        thetas = path.thetas()
        final = fitted_theta(estimator)
        traced[method] = (thetas, estimator)
        results[method] = {
            "diverged": False,
            **path_metrics(thetas, theta0, problem.theta_star, m),
            "score": float(estimator.score(problem.X_test, problem.y_test)),
            "fit_mismatch": float(
                np.abs(thetas[-1] - final).max() / max(np.abs(final).max(), 1e-300)
            ),
            "trajectory_method": path.method,
        }
    if "forward" in traced:
        thetas, estimator = traced["forward"]
        averaged = tail_average_path(thetas)
        model = with_theta(estimator, averaged[-1])
        results["forward_averaged"] = {
            "diverged": False,
            **path_metrics(averaged, theta0, problem.theta_star, m),
            "score": float(model.score(problem.X_test, problem.y_test)),
            "fit_mismatch": 0.0,
            "trajectory_method": "pass (tail average)",
        }
    else:
        results["forward_averaged"] = dict(results["forward"])
    return results


def same_law_check(problem, eta0, config):
    """Final forward and backward iterates over many seeds: same law?

    Fits only (one pass per fit), with seeds ``10_000 …`` disjoint from the
    study's, so the check is independent of the grid. Compares the
    distances to ``θ*``: their means (two-sample z) and their distributions
    (two-sample Kolmogorov–Smirnov).

    Parameters
    ----------
    problem : Problem
    eta0 : float
    config : StudyConfig

    Returns
    -------
    dict
    """
    seeds = range(10_000, 10_000 + config.same_law_seeds)
    distances = {}
    diverged = {}
    for method in ("forward", "backward"):
        values = []
        for seed in seeds:
            estimator = make_estimator(problem, method, eta0, seed, config)
            try:
                estimator.fit(problem.X_train, problem.y_train)
            except DivergenceError:
                continue
            values.append(np.linalg.norm(fitted_theta(estimator) - problem.theta_star))
        distances[method] = np.asarray(values)
        diverged[method] = config.same_law_seeds - len(values)
    f, b = distances["forward"], distances["backward"]
    result = {
        "eta0": eta0,
        "n_seeds": config.same_law_seeds,
        "n_diverged": diverged,
        "forward": summary_stats(list(f)),
        "backward": summary_stats(list(b)),
        "z": None,
        "ks_pvalue": None,
    }
    if len(f) > 1 and len(b) > 1:
        se = np.sqrt(f.var(ddof=1) / len(f) + b.var(ddof=1) / len(b))
        result["z"] = float((b.mean() - f.mean()) / se) if se > 0 else 0.0
        result["ks_pvalue"] = float(ks_2samp(f, b).pvalue)
    return result


def contraction_check(problem, eta0, config):
    """Coalescence certificate of the backward maps at ``eta0`` (seed 0).

    Runs :func:`sklearn_order.coalescence` from two random starting points
    (standard deviation 1), recording once per epoch over the study's K maps.

    Parameters
    ----------
    problem : Problem
    eta0 : float
    config : StudyConfig

    Returns
    -------
    dict
        ``rate_per_epoch`` (the fitted per-map rate to the power of the maps
        per epoch), ``final_ratio`` (final over initial distance) and
        ``certified`` (the library's verdict); ``None`` values if diverged.
    """
    m = len(problem.y_train) // config.batch_size
    estimator = make_estimator(problem, "backward", eta0, 0, config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ContractionWarning)
            report = coalescence(
                estimator,
                problem.X_train,
                problem.y_train,
                every=m,
                n_steps=config.epochs * m,
                random_state=0,
            )
    except DivergenceError:
        return {"rate_per_epoch": None, "final_ratio": None, "certified": None}
    return {
        "rate_per_epoch": float(report.rate**m),
        "final_ratio": float(report.distances[-1] / report.initial_distance),
        "certified": bool(report.contractive),
    }


def run_problem(problem, config, log):
    """All methods, step sizes and seeds of one problem.

    Parameters
    ----------
    problem : Problem
    config : StudyConfig
    log : callable
        Progress printer.

    Returns
    -------
    entry : dict
        The problem's JSON entry.
    reference : dict
        Per-map step norms of seed 0 at the reference ``eta0``, by method
        (for the trajectory figure).
    """
    m = len(problem.y_train) // config.batch_size
    reference_eta = min(
        problem.eta_grid,
        key=lambda e: abs(np.log(e / config.reference_eta[problem.kind])),
    )
    methods = {name: [] for name in METHODS}
    reference = {"eta0": reference_eta, "step_norms": {}}
    for eta0 in problem.eta_grid:
        elapsed = _harness.stopwatch()
        runs = [run_seed(problem, eta0, seed, config) for seed in config.seeds]
        for name in METHODS:
            cell = aggregate_cell([run[name] for run in runs])
            cell["eta0"] = eta0
            methods[name].append(cell)
            if eta0 == reference_eta and not runs[0][name]["diverged"]:
                reference["step_norms"][name] = runs[0][name]["step_norms"]
        methods["backward"][-1]["coalescence"] = contraction_check(
            problem, eta0, config
        )
        log(
            f"  {problem.name:24s} eta0={eta0:<9.4g} "
            f"diverged seeds: "
            + ", ".join(f"{n}={methods[n][-1]['n_diverged']}" for n in METHODS)
            + f"  ({elapsed():.1f} s)"
        )
    stable = {name: largest_stable_eta(methods[name]) for name in METHODS}
    # The many-seed same-law check: smallest, reference and largest stable eta0.
    check_etas = sorted(
        {problem.eta_grid[0], reference_eta, stable["forward"][0] or reference_eta}
    )
    elapsed = _harness.stopwatch()
    same_law = [same_law_check(problem, eta0, config) for eta0 in check_etas]
    log(
        f"  {problem.name:24s} same-law check, {config.same_law_seeds} seeds, "
        f"eta0 {', '.join(f'{e:.3g}' for e in check_etas)}: z = "
        + ", ".join(fmt(c["z"], ".2f") for c in same_law)
        + f"  ({elapsed():.1f} s)"
    )
    entry = {
        "kind": problem.kind,
        "title": problem.title,
        "n_train": int(len(problem.y_train)),
        "n_test": int(len(problem.y_test)),
        "n_features": int(problem.n_features),
        "maps_per_epoch": int(m),
        "n_steps": int(config.epochs * m),
        "theta_star": problem.theta_star.tolist(),
        "theta_star_norm": float(np.linalg.norm(problem.theta_star)),
        "optimum_gradient_norm": problem.optimum_gradient_norm,
        "curvature": problem.curvature,
        "score_name": "R2" if problem.kind == "ridge" else "accuracy",
        "eta_grid": list(problem.eta_grid),
        "largest_stable_eta0": {n: stable[n][0] for n in METHODS},
        "first_diverging_eta0": {n: stable[n][1] for n in METHODS},
        "largest_useful_eta0": {
            n: largest_useful_eta(methods[n], float(np.linalg.norm(problem.theta_star)))
            for n in METHODS
        },
        "methods": methods,
        "same_law": same_law,
    }
    return entry, reference
