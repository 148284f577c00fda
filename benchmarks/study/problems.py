"""The study's convex problems: standardized splits and their exact optima."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

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
