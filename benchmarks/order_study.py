"""Study: does the composition order of SGD updates matter on convex problems?

Reproduces the claim of backward SGD (Dherin et al., arXiv 2502.01557) on
ridge and L2-regularized logistic regression, next to classical alternatives:

- ``forward``: ordinary SGD with a constant learning rate (final iterate);
- ``backward``: backward SGD with the same constant learning rate;
- ``forward_averaged``: forward SGD, Polyak–Ruppert *tail average* of the
  iterates over the last half of the run (computed here from
  :func:`sklearn_order.trajectory`; the library has no ``average`` parameter);
- ``forward_invscaling``: forward SGD with ``learning_rate="invscaling"``,
  ``η_t = eta0 / t**0.5`` (``t`` counts update maps).

Every method runs the same number of maps ``K`` (``--epochs`` epochs of
``n_train / batch_size`` maps, ``tol=None``) for each ``eta0`` of a geometric
grid that reaches past the stability edge, over ``--seeds`` seeds. Reported per
(problem, method, eta0): distance of the returned parameters ``θ = (w, b)`` to
the exact optimum ``θ*`` of the same objective, the per-map *jitter* of the
returned model over the last epoch, how far the last epoch moved it, the test
score, and how many seeds diverged. Two checks complete it: a coalescence
certificate of the backward maps at each ``eta0`` (``sklearn_order.coalescence``)
and a many-seed test that the final forward and backward iterates have the
same law (Letac's principle), on fresh seeds.

Run::

    python benchmarks/order_study.py                 # full study (minutes)
    python benchmarks/order_study.py --quick         # smoke run (seconds)
    python benchmarks/order_study.py --out DIR       # default docs/study

Outputs in ``--out``: ``results.md`` (tables, figures, summary),
``results.json`` (every number) and PNG figures.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import expit  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_diabetes,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sklearn_order  # noqa: E402
from sklearn_order import (  # noqa: E402
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    ContractionWarning,
    DivergenceError,
    coalescence,
    trajectory,
)

METHODS = ("forward", "backward", "forward_averaged", "forward_invscaling")
METHOD_LABELS = {
    "forward": "forward (constant)",
    "backward": "backward (constant)",
    "forward_averaged": "forward + tail average",
    "forward_invscaling": "forward, invscaling (power_t=0.5)",
}
METHOD_STYLES = {
    "forward": {"color": "tab:blue", "marker": "o"},
    "backward": {"color": "tab:red", "marker": "s"},
    "forward_averaged": {"color": "tab:green", "marker": "^"},
    "forward_invscaling": {"color": "tab:purple", "marker": "v"},
}
#: Values below this are drawn at this floor on log axes (exact zeros happen).
PLOT_FLOOR = 1e-17


@dataclass(frozen=True)
class StudyConfig:
    """Parameters shared by every run of the study.

    Attributes
    ----------
    epochs : int
        Epochs per run (``max_iter``, with ``tol=None``).
    batch_size : int
        Rows per update map.
    alpha : float
        L2 strength.
    power_t : float
        Exponent of the ``invscaling`` schedule.
    seeds : tuple of int
        ``random_state`` of each run (the data split is fixed).
    ridge_grid, logistic_grid : tuple of float
        The ``eta0`` grids.
    same_law_seeds : int
        Seeds of the many-seed check that forward and backward final
        iterates have the same law (fits only, seeds disjoint from ``seeds``).
    reference_eta : dict
        ``eta0`` of the per-step trajectory figure, by problem kind.
    quick : bool
        Whether this is the smoke-test configuration.
    """

    epochs: int
    batch_size: int
    alpha: float
    power_t: float
    seeds: tuple
    ridge_grid: tuple
    logistic_grid: tuple
    same_law_seeds: int
    reference_eta: dict = field(default_factory=lambda: {"ridge": 0.1, "logistic": 1.0})
    quick: bool = False


def geometric_grid(low_exponent, high_exponent, per_decade):
    """Geometric grid ``10**e`` for ``e`` from ``low`` to ``high`` in ``1/per_decade``.

    Parameters
    ----------
    low_exponent, high_exponent : float
        Decimal exponents of the first and last grid points.
    per_decade : int
        Points per factor of ten.

    Returns
    -------
    tuple of float
    """
    n = round((high_exponent - low_exponent) * per_decade) + 1
    return tuple(float(v) for v in np.logspace(low_exponent, high_exponent, n))


def study_config(quick, epochs=None, n_seeds=None):
    """The full or the quick configuration, with optional overrides.

    Parameters
    ----------
    quick : bool
        Smoke-test configuration (few seeds, epochs and step sizes).
    epochs, n_seeds : int, default=None
        Override the configuration's epochs or number of seeds.

    Returns
    -------
    StudyConfig
    """
    if quick:
        config = StudyConfig(
            epochs=5,
            batch_size=4,
            alpha=1e-2,
            power_t=0.5,
            seeds=tuple(range(2)),
            ridge_grid=(0.01, 0.1, 0.316, 1.0),
            logistic_grid=(0.01, 0.1, 1.0, 10.0),
            same_law_seeds=20,
            quick=True,
        )
    else:
        config = StudyConfig(
            epochs=20,
            batch_size=4,
            alpha=1e-2,
            power_t=0.5,
            seeds=tuple(range(10)),
            # Ridge reaches past the constant-step stability edge (~0.3-0.5
            # here) so the invscaling schedule's own edge shows too.
            ridge_grid=geometric_grid(-2.5, 0.5, 6),
            # Logistic loss has a bounded derivative and cannot diverge; the
            # grid stops at eta0 * alpha = 0.32 (the library refuses >= 1).
            logistic_grid=geometric_grid(-2.0, 1.5, 4),
            same_law_seeds=200,
        )
    overrides = {}
    if epochs is not None:
        overrides["epochs"] = epochs
    if n_seeds is not None:
        overrides["seeds"] = tuple(range(n_seeds))
    if overrides:
        config = StudyConfig(**{**config.__dict__, **overrides})
    return config


# --------------------------------------------------------------------------
# Problems and their exact optima
# --------------------------------------------------------------------------


@dataclass
class Problem:
    """One convex problem: a standardized train/test split and its optimum.

    Attributes
    ----------
    name : str
        Identifier, e.g. ``"ridge_diabetes"``.
    kind : {"ridge", "logistic"}
    title : str
        Human-readable description.
    X_train, y_train, X_test, y_test : ndarray
    theta_star : ndarray of shape (n_features + 1,)
        ``(w*, b*)`` minimizing the training objective.
    optimum_gradient_norm : float
        ``‖∇J(θ*)‖``, the check on ``θ*``.
    curvature : float
        Smallest eigenvalue ``μ`` of the Hessian of ``J`` at ``θ*``: near
        ``θ*`` the mean map contracts by about ``1 − η μ`` per step at best.
    eta_grid : tuple of float
    """

    name: str
    kind: str
    title: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    theta_star: np.ndarray = None
    optimum_gradient_norm: float = float("nan")
    curvature: float = float("nan")
    eta_grid: tuple = ()

    @property
    def n_features(self):
        """Number of features."""
        return self.X_train.shape[1]


def standardized_split(X, y, *, batch_size, standardize_y):
    """Split (fixed seed) and standardize with the training statistics.

    The training set holds a multiple of ``batch_size`` rows, so every epoch
    is made of equal batches: then, at epoch boundaries, the backward
    iterate is forward SGD over a sequence of batches with the same joint law
    as the forward one (Letac's principle, with random reshuffling).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    batch_size : int
    standardize_y : bool
        Also standardize the targets (regression).

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
    """
    n_train = batch_size * int(0.75 * len(y) / batch_size)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=n_train, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if standardize_y:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return (
        np.ascontiguousarray(X_train),
        np.asarray(y_train, dtype=float),
        np.ascontiguousarray(X_test),
        np.asarray(y_test, dtype=float),
    )


def objective_gradient(kind, X, y, alpha, theta):
    """Gradient of ``J(w, b) = mean_i ℓ(x_i·w + b, y_i) + (α/2)‖w‖²``.

    This is the objective whose minimizer is the fixed point of the library's
    full-batch update map: the batch gradient is the mean of row gradients
    and the L2 part is the weight decay ``w ← (1 − ηα) w`` on ``w`` only.

    Parameters
    ----------
    kind : {"ridge", "logistic"}
        ``ℓ = ½(p − y)²`` or ``ℓ = log(1 + exp(−ỹ p))`` with ``ỹ = 2y − 1``.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Targets, or ``{0, 1}`` labels.
    alpha : float
    theta : ndarray of shape (n_features + 1,)

    Returns
    -------
    ndarray of shape (n_features + 1,)
    """
    w, b = theta[:-1], theta[-1]
    p = X @ w + b
    if kind == "ridge":
        residual = p - y
    else:
        signs = 2.0 * y - 1.0
        residual = -signs * expit(-signs * p)
    grad_w = X.T @ residual / len(y) + alpha * w
    return np.append(grad_w, residual.mean())


def objective_hessian(kind, X, y, alpha, theta):
    """Hessian of ``J`` (see :func:`objective_gradient`) at ``theta``.

    Parameters
    ----------
    kind : {"ridge", "logistic"}
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    alpha : float
    theta : ndarray of shape (n_features + 1,)

    Returns
    -------
    ndarray of shape (n_features + 1, n_features + 1)
    """
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    if kind == "ridge":
        curvature = np.ones(n)
    else:
        prob = expit(Xb @ theta)
        curvature = prob * (1.0 - prob)
    penalty = np.full(d + 1, alpha)
    penalty[d] = 0.0
    return Xb.T @ (Xb * curvature[:, None]) / n + np.diag(penalty)


def ridge_optimum(X, y, alpha):
    """Exact minimizer of ``mean ½(x·w + b − y)² + (α/2)‖w‖²`` (``b`` unpenalized).

    Setting the gradient to zero gives ``b = ȳ − x̄·w`` and
    ``(X_cᵀX_c / n + α I) w = X_cᵀ y_c / n`` with centred ``X_c, y_c``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    alpha : float

    Returns
    -------
    ndarray of shape (n_features + 1,)
    """
    n = len(y)
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    w = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(X.shape[1]), Xc.T @ yc / n)
    return np.append(w, y_mean - x_mean @ w)


def logistic_optimum(X, y, alpha):
    """Minimizer of ``mean log(1 + exp(−ỹ(x·w + b))) + (α/2)‖w‖²``, ``ỹ = 2y − 1``.

    L-BFGS (scipy, tight tolerance) followed by a few Newton steps, which
    drive the gradient to rounding level (the objective is strongly convex in
    ``w`` and strictly convex in ``b``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        ``{0, 1}`` labels.
    alpha : float

    Returns
    -------
    ndarray of shape (n_features + 1,)
    """
    d = X.shape[1]
    signs = 2.0 * y - 1.0

    def value_and_gradient(theta):
        margin = signs * (X @ theta[:-1] + theta[-1])
        value = (
            np.logaddexp(0.0, -margin).mean() + 0.5 * alpha * theta[:-1] @ theta[:-1]
        )
        return value, objective_gradient("logistic", X, y, alpha, theta)

    result = minimize(
        value_and_gradient,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    theta = result.x
    for _ in range(5):  # Newton polish
        theta = theta - np.linalg.solve(
            objective_hessian("logistic", X, y, alpha, theta),
            objective_gradient("logistic", X, y, alpha, theta),
        )
    return theta


def load_problems(config):
    """The four problems of the study, with their optima and ``eta0`` grids.

    Parameters
    ----------
    config : StudyConfig

    Returns
    -------
    list of Problem
    """
    b = config.batch_size
    specs = [
        (
            "ridge_synthetic",
            "ridge",
            "ridge, make_regression (n=800, d=20, noise=20), X and y standardized",
            make_regression(
                n_samples=800, n_features=20, n_informative=10, noise=20.0,
                random_state=0,
            ),
        ),
        (
            "ridge_diabetes",
            "ridge",
            "ridge, load_diabetes (n=442, d=10), X and y standardized",
            load_diabetes(return_X_y=True),
        ),
        (
            "logistic_synthetic",
            "logistic",
            "logistic, make_classification (n=800, d=20, 10 informative, "
            "flip_y=0.05), X standardized",
            make_classification(
                n_samples=800, n_features=20, n_informative=10, flip_y=0.05,
                random_state=0,
            ),
        ),
        (
            "logistic_breast_cancer",
            "logistic",
            "logistic, load_breast_cancer (n=569, d=30), X standardized",
            load_breast_cancer(return_X_y=True),
        ),
    ]  # fmt: skip
    problems = []
    for name, kind, title, (X, y) in specs:
        X_train, y_train, X_test, y_test = standardized_split(
            X, y, batch_size=b, standardize_y=kind == "ridge"
        )
        problem = Problem(name, kind, title, X_train, y_train, X_test, y_test)
        optimum = ridge_optimum if kind == "ridge" else logistic_optimum
        problem.theta_star = optimum(X_train, y_train, config.alpha)
        problem.optimum_gradient_norm = float(
            np.linalg.norm(
                objective_gradient(
                    kind, X_train, y_train, config.alpha, problem.theta_star
                )
            )
        )
        problem.curvature = float(
            np.linalg.eigvalsh(
                objective_hessian(
                    kind, X_train, y_train, config.alpha, problem.theta_star
                )
            ).min()
        )
        if problem.optimum_gradient_norm > 1e-8:
            raise RuntimeError(
                f"{name}: the optimum's gradient norm is "
                f"{problem.optimum_gradient_norm:.2e}, not ~0."
            )
        problem.eta_grid = (
            config.ridge_grid if kind == "ridge" else config.logistic_grid
        )
        problems.append(problem)
    return problems


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


# --------------------------------------------------------------------------
# The study: aggregate over seeds
# --------------------------------------------------------------------------


def summary_stats(values):
    """Mean, standard deviation, min and max of a list (``None`` if empty)."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def aggregate_cell(per_seed):
    """Aggregate one (problem, method, eta0) cell over seeds.

    Parameters
    ----------
    per_seed : list of dict
        :func:`run_seed` entries of one method, one per seed.

    Returns
    -------
    dict
    """
    finite = [r for r in per_seed if not r["diverged"]]
    errors = sorted({r["error"] for r in per_seed if r["diverged"]})
    cell = {
        "n_seeds": len(per_seed),
        "n_diverged": len(per_seed) - len(finite),
        "divergence_errors": errors[:1],
    }
    for key in ("distance", "jitter", "epoch_move", "score"):
        cell[key] = summary_stats([r[key] for r in finite])
    cell["per_seed"] = {
        key: [r[key] if not r["diverged"] else None for r in per_seed]
        for key in ("distance", "jitter", "epoch_move", "score")
    }
    cell["fit_mismatch_max"] = max((r["fit_mismatch"] for r in finite), default=None)
    cell["trajectory_method"] = finite[0]["trajectory_method"] if finite else None
    return cell


def largest_stable_eta(cells):
    """Largest ``eta0`` below which (inclusive) no seed diverged.

    Parameters
    ----------
    cells : list of dict
        Aggregated cells in increasing ``eta0``, each with ``eta0``.

    Returns
    -------
    largest : float or None
        ``None`` if even the smallest ``eta0`` diverged.
    first_diverging : float or None
        The smallest ``eta0`` at which some seed diverged (``None``: none).
    """
    largest, first = None, None
    for cell in cells:
        if cell["n_diverged"]:
            first = cell["eta0"]
            break
        largest = cell["eta0"]
    return largest, first


def largest_useful_eta(cells, theta_star_norm):
    """Largest ``eta0`` up to which every cell is finite and mean ``‖θ − θ*‖ < ‖θ*‖``.

    Finite is not useful: a run may stay below the library's divergence
    bound and still return coefficients far from the optimum.

    Parameters
    ----------
    cells : list of dict
        Aggregated cells in increasing ``eta0``.
    theta_star_norm : float

    Returns
    -------
    float or None
    """
    largest = None
    for cell in cells:
        if cell["n_diverged"] or not cell["distance"]["mean"] < theta_star_norm:
            break
        largest = cell["eta0"]
    return largest


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
        start = time.perf_counter()
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
            + f"  ({time.perf_counter() - start:.1f} s)"
        )
    stable = {name: largest_stable_eta(methods[name]) for name in METHODS}
    # The many-seed same-law check: smallest, reference and largest stable eta0.
    check_etas = sorted(
        {problem.eta_grid[0], reference_eta, stable["forward"][0] or reference_eta}
    )
    start = time.perf_counter()
    same_law = [same_law_check(problem, eta0, config) for eta0 in check_etas]
    log(
        f"  {problem.name:24s} same-law check, {config.same_law_seeds} seeds, "
        f"eta0 {', '.join(f'{e:.3g}' for e in check_etas)}: z = "
        + ", ".join(fmt(c["z"], ".2f") for c in same_law)
        + f"  ({time.perf_counter() - start:.1f} s)"
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


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _series(cells, key, stat="mean"):
    """``(eta0, value)`` arrays of a cell list, skipping all-diverged cells."""
    points = [(c["eta0"], c[key][stat]) for c in cells if c[key]["mean"] is not None]
    if not points:
        return np.array([]), np.array([])
    eta, value = map(np.array, zip(*points))
    return eta, value


def plot_problem(name, entry, path):
    """Distance to ``θ*``, jitter and test score against ``eta0``, per method.

    Parameters
    ----------
    name : str
    entry : dict
        The problem's JSON entry.
    path : Path
        PNG file to write.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    panels = [
        ("distance", "‖θ_K − θ*‖ (mean, band: min–max over seeds)", True),
        ("jitter", "jitter: mean ‖θ_k − θ_{k−1}‖ over last epoch", True),
        ("score", f"test {entry['score_name']} (mean ± std)", False),
    ]
    for ax, (key, ylabel, log_y) in zip(axes, panels):
        for method in METHODS:
            cells = entry["methods"][method]
            eta, mean = _series(cells, key)
            if not len(eta):
                continue
            style = METHOD_STYLES[method]
            if log_y:
                mean = np.maximum(mean, PLOT_FLOOR)
                _, low = _series(cells, key, "min")
                _, high = _series(cells, key, "max")
                ax.fill_between(
                    eta,
                    np.maximum(low, PLOT_FLOOR),
                    np.maximum(high, PLOT_FLOOR),
                    color=style["color"],
                    alpha=0.12,
                )
                ax.plot(eta, mean, label=METHOD_LABELS[method], ms=4, **style)
            else:
                _, std = _series(cells, key, "std")
                ax.errorbar(
                    eta, mean, yerr=std, label=METHOD_LABELS[method], ms=4,
                    capsize=2, **style,
                )  # fmt: skip
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel("eta0 (initial / constant learning rate)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        edge = entry["first_diverging_eta0"]["forward"]
        if edge is not None:
            ax.axvline(edge, color="gray", ls=":", lw=1)
    if entry["kind"] == "ridge":
        score_axis = axes[2]
        low = min(
            (c["score"]["mean"] for m in METHODS for c in entry["methods"][m]
             if c["score"]["mean"] is not None),
            default=0.0,
        )  # fmt: skip
        score_axis.set_ylim(max(low, -0.5) - 0.05, 1.05)
        score_axis.set_ylabel("test R2 (mean ± std; below −0.5 off the axis)")
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"{name}: {entry['title']}\n{entry['n_steps']} maps "
        f"({entry['maps_per_epoch']} per epoch), dotted line: first eta0 where "
        "forward diverged; values < 1e-17 drawn at 1e-17",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_trajectories(references, entries, path):
    """Per-map step norms ``‖out(k) − out(k−1)‖`` for seed 0, one panel per problem.

    Parameters
    ----------
    references : dict
        By problem: the reference ``eta0`` and step norms by method.
    entries : dict
        The problems' JSON entries.
    path : Path
        PNG file to write.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (name, reference) in zip(axes.ravel(), references.items()):
        # Backward last, so that it is drawn on top.
        drawing_order = ("forward", "forward_invscaling", "forward_averaged")
        for method in (*drawing_order, "backward"):
            if method not in reference["step_norms"]:
                continue
            norms = reference["step_norms"][method]
            k = np.arange(1, len(norms) + 1)
            ax.plot(
                k,
                np.maximum(norms, PLOT_FLOOR),
                color=METHOD_STYLES[method]["color"],
                lw=0.8,
                label=METHOD_LABELS[method],
            )
        m = entries[name]["maps_per_epoch"]
        ax.axvspan(len(norms) - m, len(norms), color="gray", alpha=0.15)
        ax.set_yscale("log")
        ax.set_xlabel("maps k")
        ax.set_ylabel("‖out(k) − out(k−1)‖")
        ax.set_title(f"{name}, eta0={reference['eta0']:.3g}, seed 0", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        "Per-map change of the model a run of k maps returns (grey: last epoch, "
        "where jitter is measured; exact zeros drawn at 1e-17)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt(value, spec=".3g"):
    """Format a number, ``—`` for missing."""
    return "—" if value is None else format(value, spec)


def fmt_pm(stats, spec=".3g"):
    """``mean ± std`` of a stats dict."""
    if stats["mean"] is None:
        return "diverged"
    return f"{format(stats['mean'], spec)} ± {format(stats['std'], spec)}"


def cell_at(entry, method, eta0):
    """The aggregated cell of ``method`` at ``eta0``."""
    return next(c for c in entry["methods"][method] if c["eta0"] == eta0)


def both_finite_etas(entry, methods=("forward", "backward")):
    """Grid ``eta0`` at which no seed of the given methods diverged."""
    return [
        eta
        for eta in entry["eta_grid"]
        if all(cell_at(entry, m, eta)["n_diverged"] == 0 for m in methods)
    ]


def best_cell(entry, method):
    """The cell of ``method`` with the smallest mean distance to ``θ*``."""
    cells = [
        c
        for c in entry["methods"][method]
        if c["n_diverged"] == 0 and c["distance"]["mean"] is not None
    ]
    return min(cells, key=lambda c: c["distance"]["mean"]) if cells else None


def coalescence_rows(entry):
    """Per ``eta0``: forward and backward jitter, ``η μ K`` and the certificate.

    Parameters
    ----------
    entry : dict
        A problem's JSON entry.

    Returns
    -------
    list of dict
        Only the ``eta0`` at which neither order diverged.
    """
    rows = []
    for eta in both_finite_etas(entry):
        forward = cell_at(entry, "forward", eta)["jitter"]["mean"]
        backward_cell = cell_at(entry, "backward", eta)
        backward = backward_cell["jitter"]["mean"]
        rows.append(
            {
                "eta0": eta,
                "eta_mu_K": eta * entry["curvature"] * entry["n_steps"],
                "forward": forward,
                "backward": backward,
                "ratio": backward / forward if forward > 0 else None,
                **backward_cell["coalescence"],
            }
        )
    return rows


#: Backward jitter at most this fraction of forward's counts as coalesced.
COALESCED_RATIO = 1e-6
#: ``η μ K`` above which a contraction at rate ``1 − η μ`` would have coalesced.
ENOUGH_CONTRACTION = 20.0


def summarize(results):
    """The closing summary, written from the numbers (never hard-coded claims).

    Parameters
    ----------
    results : dict
        The study's JSON document.

    Returns
    -------
    list of str
        Sentences.
    """
    problems, config = results["problems"], results["config"]
    sentences = []

    # 1. Jitter: does the backward final iterate stop moving?
    coalesced, slow, expansive = {}, [], []
    for name, entry in problems.items():
        for row in coalescence_rows(entry):
            if row["ratio"] is not None and row["ratio"] <= COALESCED_RATIO:
                coalesced.setdefault(name, []).append(row)
            elif row["eta_mu_K"] < ENOUGH_CONTRACTION:
                slow.append((name, row))
            else:
                expansive.append((name, row))
    if coalesced:
        parts = [
            f"{name} for eta0 {min(r['eta0'] for r in rows):.3g}–"
            f"{max(r['eta0'] for r in rows):.3g} (backward ≤ "
            f"{max(r['backward'] for r in rows):.1e}, forward "
            f"{min(r['forward'] for r in rows):.1e}–"
            f"{max(r['forward'] for r in rows):.1e})"
            for name, rows in coalesced.items()
        ]
        sentences.append(
            "Where it helps: with a constant learning rate the backward final "
            "iterate stops moving — its mean per-map change over the last "
            f"epoch is below {COALESCED_RATIO:g} times forward's on "
            + "; ".join(parts)
            + f" ({sum(map(len, coalesced.values()))} (problem, eta0) cells)."
        )
    else:
        sentences.append(
            "In this run the backward final iterate never moved less than "
            f"{COALESCED_RATIO:g} times the forward one: no coalescence."
        )
    if slow:
        ratios = [r["ratio"] for _, r in slow]
        sentences.append(
            f"It had not coalesced in {len(slow)} cells with too few maps for "
            f"the slowest direction (η·μ·K = "
            f"{min(r['eta_mu_K'] for _, r in slow):.2g}–"
            f"{max(r['eta_mu_K'] for _, r in slow):.2g} < "
            f"{ENOUGH_CONTRACTION:g}, μ the smallest Hessian eigenvalue at θ*; "
            f"problems {', '.join(sorted({n for n, _ in slow}))}), where its "
            f"jitter is {min(ratios):.2g}–{max(ratios):.2g} times forward's."
        )
    if expansive:
        ratios = [r["ratio"] for _, r in expansive]
        certified = sum(bool(r["certified"]) for _, r in expansive)
        by_problem = {}
        for name, row in expansive:
            by_problem.setdefault(name, []).append(row["eta0"])
        where = "; ".join(
            f"{name} at eta0 {min(etas):.3g}"
            + (f"–{max(etas):.3g}" if len(etas) > 1 else "")
            + f" ({len(etas)} of {len(problems[name]['eta_grid'])} grid points)"
            for name, etas in by_problem.items()
        )
        sentences.append(
            f"Where it does not: with enough maps (η·μ·K ≥ "
            f"{ENOUGH_CONTRACTION:g}) it still had not coalesced on {where}, "
            f"with jitter {min(ratios):.2g}–{max(ratios):.2g} times forward's; "
            f"the coalescence certificate holds in {certified} of these "
            f"{len(expansive)} cells"
            + (
                ": there the maps do not contract on average, and the backward "
                "iterate keeps moving like the forward one."
                if certified == 0
                else "."
            )
        )

    # 2. Distance to the optimum, backward versus forward.
    checks = [
        (name, c)
        for name, entry in problems.items()
        for c in entry["same_law"]
        if c["z"] is not None
    ]
    grid_ratios, within, total = [], 0, 0
    for entry in problems.values():
        for eta in both_finite_etas(entry):
            f = cell_at(entry, "forward", eta)["distance"]
            b = cell_at(entry, "backward", eta)["distance"]
            n = cell_at(entry, "forward", eta)["n_seeds"]
            grid_ratios.append(b["mean"] / f["mean"])
            within += abs(b["mean"] - f["mean"]) <= 2 * np.sqrt(
                (f["std"] ** 2 + b["std"] ** 2) / n
            )
            total += 1
    if checks:
        max_z = max(abs(c["z"]) for _, c in checks)
        min_p = min(c["ks_pvalue"] for _, c in checks)
        ratios = [c["backward"]["mean"] / c["forward"]["mean"] for _, c in checks]
        same = max_z < 3 and min_p > 0.01
        sentences.append(
            f"It is not closer to the optimum: in the many-seed check "
            f"({config['same_law_seeds']} fresh seeds, {len(checks)} "
            f"(problem, eta0) cells) the mean distance to θ* of the backward "
            f"final iterate is {min(ratios):.3f}–{max(ratios):.3f} times the "
            f"forward one, |z| ≤ {max_z:.2f}, and the two-sample "
            f"Kolmogorov–Smirnov p-values are ≥ {min_p:.2g}: "
            + (
                "the distances are indistinguishable, as Letac's principle (same "
                "law at every epoch boundary) predicts."
                if same
                else "a difference the same-law argument does not predict; "
                "see the same-law table."
            )
        )
    if total:
        sentences.append(
            f"On the {config['epochs']}-epoch grid ({len(config['seeds'])} "
            f"seeds) the backward/forward ratio of mean distances has median "
            f"{np.median(grid_ratios):.3f} (range {min(grid_ratios):.2f}–"
            f"{max(grid_ratios):.2f}), {within} of {total} cells within two "
            "standard errors; the seeds (hence batch sequences) are shared "
            "across eta0, so neighbouring cells err together."
        )

    # 3. Classical alternatives: equal eta0, then each tuned.
    avg_ratios = []
    for entry in problems.values():
        for eta in both_finite_etas(entry, ("forward", "forward_averaged")):
            avg_ratios.append(
                cell_at(entry, "forward_averaged", eta)["distance"]["mean"]
                / cell_at(entry, "forward", eta)["distance"]["mean"]
            )
    if avg_ratios:
        sentences.append(
            f"At the same constant eta0, tail-averaging the forward iterates is "
            f"closer to θ* than the final iterate in "
            f"{sum(r < 1 for r in avg_ratios)} of {len(avg_ratios)} cells "
            f"(distance ratio median {np.median(avg_ratios):.2g}, range "
            f"{min(avg_ratios):.2g}–{max(avg_ratios):.2g}); where it is not, "
            "eta0 is so small that the run is still in its initial transient, "
            "half of which the tail average keeps."
        )
    tuned = []
    for name, entry in problems.items():
        best = {m: best_cell(entry, m) for m in METHODS}
        if all(c is not None for c in best.values()):
            tuned.append((name, best))
    if tuned:

        def wins(method):
            return sum(
                b[method]["distance"]["mean"] < b["forward"]["distance"]["mean"]
                for _, b in tuned
            )

        z_backward = [
            (b["backward"]["distance"]["mean"] - b["forward"]["distance"]["mean"])
            / max(
                np.sqrt(
                    (
                        b["backward"]["distance"]["std"] ** 2
                        + b["forward"]["distance"]["std"] ** 2
                    )
                    / b["forward"]["n_seeds"]
                ),
                1e-300,
            )
            for _, b in tuned
        ]
        parts = [
            f"{name}: forward {b['forward']['distance']['mean']:.2g}, backward "
            f"{b['backward']['distance']['mean']:.2g}, tail average "
            f"{b['forward_averaged']['distance']['mean']:.2g}, invscaling "
            f"{b['forward_invscaling']['distance']['mean']:.2g}"
            for name, b in tuned
        ]
        sentences.append(
            f"Each tuned over the eta0 grid (best mean distance), tail averaging "
            f"beats the best constant-step final iterate on "
            f"{wins('forward_averaged')} of {len(tuned)} problems and invscaling "
            f"on {wins('forward_invscaling')}, while best backward and best "
            f"forward differ by at most {max(map(abs, z_backward)):.1f} standard "
            f"errors ({'; '.join(parts)})."
        )

    # 4. Test scores.
    gaps, zs = [], []
    for entry in problems.values():
        for eta in both_finite_etas(entry):
            f = cell_at(entry, "forward", eta)["score"]
            b = cell_at(entry, "backward", eta)["score"]
            n = cell_at(entry, "forward", eta)["n_seeds"]
            gaps.append(abs(f["mean"] - b["mean"]))
            se = np.sqrt((f["std"] ** 2 + b["std"] ** 2) / n)
            zs.append(gaps[-1] / se if se > 0 else 0.0)
    if gaps:
        sentences.append(
            f"Test scores do not separate the orders either: at equal eta0 the "
            f"forward and backward means differ by a median of "
            f"{np.median(gaps):.2g} ({sum(z > 2 for z in zs)} of {len(zs)} "
            f"gaps exceed two standard errors)."
        )

    # 5. Stability edge.
    parts, useful, same_edge = [], [], True
    for name, entry in problems.items():
        s = entry["largest_stable_eta0"]
        u = entry["largest_useful_eta0"]
        same_edge &= s["forward"] == s["backward"]
        parts.append(
            f"{name} {fmt(s['forward'])}/{fmt(s['backward'])}/"
            f"{fmt(s['forward_invscaling'])}"
        )
        useful.append(
            f"{name} {fmt(u['forward'])}/{fmt(u['backward'])}/"
            f"{fmt(u['forward_invscaling'])}"
        )
    sentences.append(
        "Largest grid eta0 with no diverging seed (forward/backward/invscaling): "
        + ", ".join(parts)
        + (
            " — the two orders share the stability edge"
            if same_edge
            else " — the orders' stability edges differ on some problem"
        )
        + "; logistic loss has a bounded derivative and cannot diverge, so its "
        "grid simply ends at eta0·alpha = "
        + f"{max(max(e['eta_grid']) for e in problems.values() if e['kind'] == 'logistic') * config['alpha']:.2g}."  # noqa: E501
    )
    sentences.append(
        "Finite is not useful: the largest eta0 up to which the mean distance "
        "to θ* stays below ‖θ*‖ is " + ", ".join(useful) + "."
    )
    return sentences


def markdown_table(header, rows):
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


METHODS_TEXT = """
## What is measured

- **Methods.** `forward`: `order="forward", learning_rate="constant"`;
  `backward`: `order="backward", learning_rate="constant"`;
  `forward_averaged`: the forward constant-step iterates averaged over the last
  half of the run (Polyak–Ruppert tail average, `ā_K = mean(θ_j, K/2 < j ≤ K)`,
  computed from `trajectory(..., every=1)`: the library has no `average`
  parameter); `forward_invscaling`: `order="forward",
  learning_rate="invscaling", power_t=0.5`, i.e. `η_t = eta0/√t` with `t`
  counting maps. All run the same K maps from θ_0 = 0.
- **θ\\*** minimizes the library's objective
  `J(w, b) = mean_i ℓ(x_i·w + b, y_i) + (α/2)‖w‖²` (intercept unpenalized;
  `ℓ = ½(p − y)²` for ridge, `log(1 + e^{−ỹp})` for logistic): closed form
  (normal equations, centred) for ridge, L-BFGS plus Newton polish for
  logistic. The problems table gives ‖∇J(θ\\*)‖ and μ, the smallest
  eigenvalue of the Hessian of J at θ\\*. μ is a conservative guide to the
  contraction: where X has no variance (make_classification's redundant
  features) μ = α, but iterates started at θ_0 = 0 never leave the span of
  the rows, so they can coalesce faster than η·μ·K suggests.
- **distance**: `‖θ_K − θ*‖` over θ = (w, b) of the returned model.
- **jitter**: mean over the last epoch of `‖out(k) − out(k−1)‖`, where
  `out(k)` is the model a run of k maps returns (the iterate; for tail
  averaging the average of the last half of the first k iterates). All from
  `trajectory(every=1)`: a forward pass, the exact affine composition for
  ridge backward, parallel replay (O(K²) maps) for logistic backward. Each
  trace's final iterate is checked against `fit(max_iter=epochs)`.
- **epoch move**: `‖out(K) − out(K − maps per epoch)‖`, how much the last
  epoch changed the returned model.
- **test score**: `.score` on the held-out split (R² for ridge, accuracy for
  logistic); for tail averaging, a copy of the forward fit carrying the
  averaged coefficients.
- **diverged**: seeds whose fit or trace raised the library's
  `DivergenceError` ("SGD diverged … eta0 …"); their metrics are excluded
  from the means.
- **coalescence** (seed 0): `sklearn_order.coalescence` from two random
  starting points over the same K maps; the per-epoch factor is its fitted
  per-map rate to the power of the maps per epoch, "certified" its verdict
  (distance fell below 1e-6 of the initial one, geometrically).
- **same-law check**: final forward and backward iterates (`fit` only) over
  many fresh seeds at three eta0 per problem, compared by a two-sample z on
  the mean distance to θ\\* and a Kolmogorov–Smirnov test on its distribution.
- Training sets hold a multiple of the batch size, so with random
  reshuffling the backward iterate at an epoch boundary is forward SGD over a
  sequence with the same law as the forward one.
"""


def write_markdown(results, figures, path):
    """Write ``results.md``: setup, tables, figures and the summary.

    Parameters
    ----------
    results : dict
        The study's JSON document.
    figures : list of str
        PNG file names (relative to ``path``'s folder).
    path : Path
    """
    meta, config, problems = results["meta"], results["config"], results["problems"]
    out = ["# Iteration order on convex models: forward, backward, averaged, decaying"]
    out.append(
        f"\nGenerated by `{meta['command']}` on {meta['date']} in "
        f"{meta['wall_time_s']:.0f} s (wall, including Numba compilation).\n"
    )
    out.append(
        f"Machine: {meta['machine']}, {meta['cpu_count']} cores, Python "
        f"{meta['python']}, numpy {meta['numpy']}, scipy {meta['scipy']}, "
        f"scikit-learn {meta['sklearn']}, numba {meta['numba']} "
        f"({meta['numba_threads']} threads), sklearn_order "
        f"{meta['sklearn_order']} (git {meta['git_commit']})."
    )
    out.append(
        f"\nParameters: {config['epochs']} epochs per run (`max_iter="
        f"{config['epochs']}, tol=None`), `batch_size={config['batch_size']}`, "
        f"`penalty='l2', alpha={config['alpha']}`, `sampling='reshuffle'`, "
        f"seeds {list(config['seeds'])} (`random_state`; the train/test split "
        f"and θ* are fixed per problem), invscaling `power_t={config['power_t']}`, "
        f"same-law check over {config['same_law_seeds']} further seeds"
        f"{'; **quick smoke-test configuration**' if config['quick'] else ''}."
    )
    out.append(METHODS_TEXT)
    out.append(
        "Largest relative difference between a trace's final iterate and the "
        f"`fit` of the same length: {results['checks']['trace_vs_fit']:.1e}.\n"
    )

    out.append("## Problems\n")
    out.append(
        markdown_table(
            ["problem", "description", "n train", "n test", "d", "maps/epoch",
             "K maps", "‖θ*‖", "‖∇J(θ*)‖", "μ"],
            [
                [name, e["title"], str(e["n_train"]), str(e["n_test"]),
                 str(e["n_features"]), str(e["maps_per_epoch"]), str(e["n_steps"]),
                 f"{e['theta_star_norm']:.3g}", f"{e['optimum_gradient_norm']:.1e}",
                 f"{e['curvature']:.3g}"]
                for name, e in problems.items()
            ],
        )
    )  # fmt: skip

    out.append("\n## Stability: largest grid eta0 with no diverging seed\n")
    out.append(
        markdown_table(
            ["problem", "eta0 grid"] + list(METHODS),
            [
                [
                    name,
                    f"{e['eta_grid'][0]:.3g} … {e['eta_grid'][-1]:.3g} "
                    f"({len(e['eta_grid'])} points)",
                ]
                + [
                    f"{fmt(e['largest_stable_eta0'][m])} (next: "
                    f"{fmt(e['first_diverging_eta0'][m])}); useful ≤ "
                    f"{fmt(e['largest_useful_eta0'][m])}"
                    for m in METHODS
                ]
                for name, e in problems.items()
            ],
        )
    )
    out.append(
        '\n"next" is the first grid eta0 at which some seed diverged (— if '
        "none did). A run only counts as diverged if the blow-up reaches the "
        'library\'s detection bound within the K maps. "useful" is the '
        "largest eta0 up to which the mean ‖θ_K − θ*‖ stays below ‖θ*‖: a run "
        "can stay under the detection bound and still return useless "
        "coefficients."
    )

    out.append("\n## Each method at its best eta0 (smallest mean distance to θ*)\n")
    rows = []
    for name, e in problems.items():
        for m in METHODS:
            c = best_cell(e, m)
            if c is None:
                rows.append([name, m, "—", "diverged", "—", "—", "—"])
                continue
            rows.append(
                [name, m, f"{c['eta0']:.3g}", fmt_pm(c["distance"]),
                 fmt(c["jitter"]["mean"], ".2e"), fmt(c["epoch_move"]["mean"], ".2e"),
                 fmt_pm(c["score"], ".4f")]
            )  # fmt: skip
    out.append(
        markdown_table(
            ["problem", "method", "eta0", "distance to θ*", "jitter",
             "epoch move", "test score"],
            rows,
        )
    )  # fmt: skip

    out.append("\n## Same law? Final forward vs backward iterates over many seeds\n")
    rows = []
    for name, e in problems.items():
        for c in e["same_law"]:
            rows.append(
                [name, f"{c['eta0']:.3g}", str(c["n_seeds"]),
                 f"{c['n_diverged']['forward']}/{c['n_diverged']['backward']}",
                 fmt_pm(c["forward"], ".4g"), fmt_pm(c["backward"], ".4g"),
                 fmt(c["z"], ".2f"), fmt(c["ks_pvalue"], ".2g")]
            )  # fmt: skip
    out.append(
        markdown_table(
            ["problem", "eta0", "seeds", "diverged f/b", "forward ‖θ_K − θ*‖",
             "backward ‖θ̃_K − θ*‖", "z (b − f)", "KS p"],
            rows,
        )
    )  # fmt: skip

    out.append("\n## Where the backward iterate coalesces\n")
    out.append(
        "Mean jitter over the grid seeds; η·μ·K is the number of e-folds a "
        "contraction at rate 1 − η μ per map would achieve in K maps; the "
        "coalescence columns are for seed 0.\n"
    )
    for name, e in problems.items():
        out.append(f"\n### {name}\n")
        out.append(
            markdown_table(
                ["eta0", "η·μ·K", "forward jitter", "backward jitter",
                 "backward / forward", "coalescence factor per epoch",
                 "final / initial distance", "certified"],
                [
                    [f"{r['eta0']:.3g}", f"{r['eta_mu_K']:.3g}",
                     fmt(r["forward"], ".2e"), fmt(r["backward"], ".2e"),
                     fmt(r["ratio"], ".1e"), fmt(r["rate_per_epoch"], ".3g"),
                     fmt(r["final_ratio"], ".1e"),
                     {True: "yes", False: "no", None: "—"}[r["certified"]]]
                    for r in coalescence_rows(e)
                ],
            )
        )  # fmt: skip

    out.append("\n## Full grid\n")
    out.append(
        "Mean ± std over seeds (jitter and epoch move: mean). `div` = seeds "
        f"that diverged (of {len(config['seeds'])}).\n"
    )
    for name, e in problems.items():
        out.append(f"\n### {name} ({e['score_name']})\n")
        rows = []
        for eta in e["eta_grid"]:
            for m in METHODS:
                c = cell_at(e, m, eta)
                rows.append(
                    [f"{eta:.3g}", m, str(c["n_diverged"]), fmt_pm(c["distance"]),
                     fmt(c["jitter"]["mean"], ".2e"),
                     fmt(c["epoch_move"]["mean"], ".2e"), fmt_pm(c["score"], ".4f")]
                )  # fmt: skip
        out.append(
            markdown_table(
                ["eta0", "method", "div", "distance to θ*", "jitter",
                 "epoch move", "test score"],
                rows,
            )
        )  # fmt: skip

    # File names only, no Markdown images: docs/benchmarks.rst includes this
    # page from another folder, where relative image paths would not resolve
    # (and ``sphinx-build -W`` fails on an unreadable image).
    out.append("\n## Figures\n")
    out.append("PNG files in the same folder as this page:\n")
    out.extend(
        f"- `{f}`: "
        + (
            "per-map change ‖out(k) − out(k−1)‖ against k for seed 0 at one "
            "eta0 per problem, one line per method."
            if f == "trajectories.png"
            else f"{Path(f).stem}: distance to θ\\*, jitter and test score "
            "against eta0, one line per method (log scales)."
        )
        for f in figures
    )
    out.append("")

    out.append("## Summary\n")
    out.append(" ".join(results["summary"]))
    out.append(
        "\n\n(Generated from the numbers above by `summarize()` in "
        "`benchmarks/order_study.py`.)\n"
    )
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def git_commit():
    """Short commit hash of the repository (``unknown`` outside git)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def to_json(value):
    """Make numpy scalars and arrays JSON-serialisable; NaN/inf become ``None``."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


def parse_args(argv):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test run (seconds)")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/study"), help="output folder"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override epochs")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the study and write ``results.md``, ``results.json`` and figures."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    start = time.perf_counter()
    config = study_config(args.quick, args.epochs, args.seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore", ConvergenceWarning)

    def log(message):
        print(message, flush=True)

    problems = load_problems(config)
    log(
        f"order study: {len(problems)} problems, {len(config.seeds)} seeds, "
        f"{config.epochs} epochs, batch {config.batch_size}, alpha {config.alpha}"
    )
    entries, references = {}, {}
    for problem in problems:
        entries[problem.name], references[problem.name] = run_problem(
            problem, config, log
        )

    results = {
        "meta": {
            "command": " ".join(["python benchmarks/order_study.py", *argv]),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "numba": numba.__version__,
            "numba_threads": numba.get_num_threads(),
            "sklearn_order": sklearn_order.__version__,
            "git_commit": git_commit(),
        },
        "config": {**config.__dict__, "methods": list(METHODS)},
        "problems": entries,
    }
    results["checks"] = {
        "trace_vs_fit": max(
            c["fit_mismatch_max"]
            for entry in entries.values()
            for cells in entry["methods"].values()
            for c in cells
            if c["fit_mismatch_max"] is not None
        )
    }
    results["summary"] = summarize(results)

    figures = []
    for name, entry in entries.items():
        figure = f"{name}.png"
        plot_problem(name, entry, args.out / figure)
        figures.append(figure)
    plot_trajectories(references, entries, args.out / "trajectories.png")
    figures.append("trajectories.png")

    results["meta"]["wall_time_s"] = time.perf_counter() - start
    (args.out / "results.json").write_text(
        json.dumps(to_json(results), indent=1, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    write_markdown(results, figures, args.out / "results.md")
    log(f"wrote {args.out}/results.md, results.json and {len(figures)} figures")
    log(f"wall time {results['meta']['wall_time_s']:.1f} s")
    log("\n".join(results["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
