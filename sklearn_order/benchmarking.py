"""What benchopt solvers need to put an L2 GLM objective into estimator terms.

benchopt's public ``benchmark_logreg_l2`` and ``benchmark_ridge`` hand a
solver ``X``, ``y``, ``lmbd`` (and ``fit_intercept``) for the objective
``Σ_i ℓ(x_i·β + b, y_i) + λ/2 ‖β‖²`` — a sum of losses — and read back one
vector ``beta`` (the intercept last when fitted). scikit-learn's SGD and this
library's estimators minimise the mean loss plus ``alpha/2 ‖β‖²``: the same
problem divided by ``n_samples``, so ``alpha = λ / n_samples``. The solver
files in ``benchmarks/benchopt/solvers`` import these helpers, so each
mapping is written once.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .losses import LOSSES
from .schedules import auto_step_size

#: The loss of each benchmark model, in scikit-learn's names.
MODEL_LOSS = {"logreg": "log_loss", "ridge": "squared_error"}


def glm_model(y):
    """``"logreg"`` when ``y`` holds exactly the labels -1 and 1, else ``"ridge"``.

    The public logistic benchmark requires ±1 labels; a regression target
    with only those two values would be taken for labels.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    {"logreg", "ridge"}
    """
    values = np.unique(y)
    return "logreg" if len(values) == 2 and set(values) == {-1, 1} else "ridge"


def mean_loss_alpha(lmbd, n_samples):
    """``alpha`` of a mean-loss estimator for the L2 strength ``lmbd`` on a sum.

    Parameters
    ----------
    lmbd : float
    n_samples : int

    Returns
    -------
    float
        ``lmbd / n_samples``.
    """
    return lmbd / n_samples


def packed_coefficients(estimator, fit_intercept):
    """A fitted linear model's ``beta``: its coefficients, then its intercept.

    Parameters
    ----------
    estimator : fitted linear model with ``coef_`` and ``intercept_``
        A single output.
    fit_intercept : bool
        Whether the objective's ``beta`` ends with the intercept.

    Returns
    -------
    ndarray of shape (n_features + fit_intercept,)
    """
    coef = np.ravel(estimator.coef_)
    if fit_intercept:
        return np.r_[coef, np.ravel(estimator.intercept_)]
    return coef


def default_step(X, model, alpha, fit_intercept):
    """The step ``eta0="auto"`` takes for this problem (unit sample weights).

    Handed to scikit-learn's SGD as its constant ``eta0``, so that both
    libraries run the same update maps. See
    :func:`~sklearn_order.schedules.auto_step_size`.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    model : {"logreg", "ridge"}
    alpha : float
    fit_intercept : bool

    Returns
    -------
    float
    """
    code = LOSSES[MODEL_LOSS[model]].code
    return auto_step_size(X, [np.ones(X.shape[0])], code, fit_intercept, alpha)


class EpochRuns:
    """Mixin for a benchopt solver: ``run(n)`` fits an estimator for ``n`` iterations.

    The solver's ``set_objective`` stores ``X``, ``y``, ``fit_intercept`` and
    an unfitted ``estimator`` whose ``max_iter`` counts the iterations
    (epochs for SGD). ``run(n)`` fits it from zero with ``max_iter=n``
    (``run(0)`` gives ``beta = 0``, the benchmark's starting point);
    ``warm_up`` runs one iteration outside benchopt's timing, so Numba
    kernels are compiled before the timed runs. Convergence warnings are
    silenced: stopping early is the point.
    """

    def warm_up(self):
        """One iteration, untimed (benchopt's warm-up hook)."""
        self.run_once(1)

    def run(self, n_iter):
        """Fit from zero for ``n_iter`` iterations.

        Parameters
        ----------
        n_iter : int
        """
        if n_iter == 0:
            self.beta = np.zeros(self.X.shape[1] + self.fit_intercept)
            return
        self.estimator.set_params(max_iter=n_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.estimator.fit(self.X, self.y)
        self.beta = packed_coefficients(self.estimator, self.fit_intercept)

    def get_result(self):
        """``dict(beta=...)``, what the objectives' ``evaluate_result`` takes."""
        return dict(beta=self.beta)
