"""benchopt objective: L2-regularized logistic or ridge regression.

Written as the public ``benchmark_logreg_l2`` and ``benchmark_ridge``
benchmarks define them, on the sum of the losses (not their mean):

- ``model="logreg"``: ``Σ_i log(1 + exp(-y_i x_i·β)) + λ/2 ‖β‖²``, ``y ∈ {-1, 1}``;
- ``model="ridge"``: ``½ Σ_i (y_i − x_i·β − b)² + λ/2 ‖β‖²``.

The intercept ``b`` (``fit_intercept=True``) is not penalized; it is the last
entry of the solvers' ``beta``, as in ``benchmark_ridge``. sklearn-order's
estimators minimise the mean loss plus ``alpha/2 ‖β‖²``, ``n`` times smaller:
the same minimiser with ``alpha = λ / n_samples``.

Datasets give a real-valued target; the logistic objective turns it into
±1 labels (:func:`binary_labels`).
"""

import numpy as np
from benchopt import BaseObjective


def binary_labels(y):
    """±1 labels from a target: its two values, or its sign around the median.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,), float64
        ``1`` for the larger of two values (or above the median), else ``-1``.
    """
    values = np.unique(y)
    threshold = values[0] if len(values) == 2 else np.median(y)
    return np.where(y > threshold, 1.0, -1.0)


def objective_value(model, X, y, lmbd, beta, fit_intercept):
    """The benchmark's objective at ``beta`` (intercept last if fitted).

    Parameters
    ----------
    model : {"logreg", "ridge"}
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        ±1 labels for ``"logreg"``.
    lmbd : float
        The L2 strength λ on the sum of the losses.
    beta : ndarray of shape (n_features + fit_intercept,)
    fit_intercept : bool

    Returns
    -------
    float
    """
    coef = beta[: X.shape[1]]
    prediction = X @ coef
    if fit_intercept:
        prediction = prediction + beta[-1]
    if model == "logreg":
        losses = np.logaddexp(0.0, -y * prediction).sum()
    else:
        residual = y - prediction
        losses = 0.5 * residual @ residual
    return float(losses + 0.5 * lmbd * coef @ coef)


class Objective(BaseObjective):
    """L2-regularized logistic (``"logreg"``) or ridge (``"ridge"``) regression."""

    name = "L2-regularized GLM"
    min_benchopt_version = "1.7"

    parameters = {
        "model": ["logreg", "ridge"],
        "lmbd": [1.0],
        "fit_intercept": [False],
    }

    def __init__(self, model="logreg", lmbd=1.0, fit_intercept=False):
        self.model = model
        self.lmbd = lmbd
        self.fit_intercept = fit_intercept

    def set_data(self, X, y):
        self.X = X
        self.y = binary_labels(y) if self.model == "logreg" else np.asarray(y, float)

    def get_one_result(self):
        return dict(beta=np.zeros(self.X.shape[1] + self.fit_intercept))

    def evaluate_result(self, beta):
        return dict(
            value=objective_value(
                self.model, self.X, self.y, self.lmbd, beta, self.fit_intercept
            )
        )

    def get_objective(self):
        return dict(
            X=self.X, y=self.y, lmbd=self.lmbd, fit_intercept=self.fit_intercept
        )
