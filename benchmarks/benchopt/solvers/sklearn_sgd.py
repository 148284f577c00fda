"""benchopt solver: scikit-learn's ``SGDClassifier``/``SGDRegressor``."""

from benchopt import BaseSolver
from sklearn.linear_model import SGDClassifier, SGDRegressor

from sklearn_order.benchmarking import (
    MODEL_LOSS,
    EpochRuns,
    default_step,
    glm_model,
    mean_loss_alpha,
)

ESTIMATORS = {"logreg": SGDClassifier, "ridge": SGDRegressor}


class Solver(EpochRuns, BaseSolver):
    """scikit-learn's SGD on the same update maps as ``sklearn-order``.

    One iteration is one epoch (``max_iter=n``, ``tol=None``, reshuffled
    every epoch), with ``alpha = λ / n_samples`` and, as constant ``eta0``,
    the step sklearn-order's ``eta0="auto"`` takes; ``average=True`` is
    scikit-learn's averaged SGD.
    """

    name = "sklearn-sgd"
    requirements = ["scikit-learn"]
    sampling_strategy = "iteration"

    parameters = {"average": [False, True]}

    def set_objective(self, X, y, lmbd, fit_intercept=False):
        self.X, self.y, self.fit_intercept = X, y, fit_intercept
        model = glm_model(y)
        alpha = mean_loss_alpha(lmbd, X.shape[0])
        self.estimator = ESTIMATORS[model](
            loss=MODEL_LOSS[model],
            penalty="l2",
            alpha=alpha,
            fit_intercept=fit_intercept,
            average=self.average,
            learning_rate="constant",
            eta0=default_step(X, model, alpha, fit_intercept),
            tol=None,
            random_state=0,
        )
