"""benchopt solver: sklearn-order's SGD, every order and sampling scheme.

Self-contained: this file works unchanged in this repository's benchmark and
dropped into the ``solvers/`` folder of benchopt's public
``benchmark_logreg_l2`` or ``benchmark_ridge``. Install sklearn-order in the
environment that runs benchopt first (``pip install -e .`` from a clone): the
file declares no ``requirements`` for ``benchopt install`` to fetch. The model
is read from the target: ±1 labels give L2 logistic regression, anything else
ridge.
"""

from benchopt import BaseSolver

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.benchmarking import (
    MODEL_LOSS,
    EpochRuns,
    default_step,
    glm_model,
    mean_loss_alpha,
)

ESTIMATORS = {"logreg": BackwardSGDClassifier, "ridge": BackwardSGDRegressor}


class Solver(EpochRuns, BaseSolver):
    """``order`` × ``sampling`` × {constant step, forward iterate averaging}.

    One benchopt iteration is one epoch: ``run(n)`` fits ``n`` epochs from
    zero (``tol=None``) with the constant step that ``eta0="auto"`` takes, and
    batch size 1, as scikit-learn's ``SGDClassifier`` in the ``sklearn-sgd``
    solver. That step is computed once, in ``set_objective``, and passed as a
    number, exactly as the ``sklearn-sgd`` solver gets it: a timed run then
    does the same work in both solvers (no pass over ``X`` to size the step
    in ours). The Numba kernels are compiled in ``warm_up``, outside the
    timed runs.
    """

    name = "sklearn-order"
    sampling_strategy = "iteration"

    parameters = {
        "order": ["forward", "backward"],
        "sampling": [
            "reshuffle",
            "cyclic",
            "once",
            "flipflop",
            "with_replacement",
            "grab",
        ],
        "average": [False, True],
    }

    def skip(self, X, y, lmbd, fit_intercept=False):
        if self.average and self.order == "backward":
            return True, "average is defined for the forward order only"
        return False, None

    def set_objective(self, X, y, lmbd, fit_intercept=False):
        self.X, self.y, self.fit_intercept = X, y, fit_intercept
        model = glm_model(y)
        alpha = mean_loss_alpha(lmbd, X.shape[0])
        self.estimator = ESTIMATORS[model](
            loss=MODEL_LOSS[model],
            penalty="l2",
            alpha=alpha,
            fit_intercept=fit_intercept,
            order=self.order,
            sampling=self.sampling,
            average=self.average,
            learning_rate="constant",
            # eta0="auto"'s value, sized here rather than in each timed fit
            eta0=default_step(X, model, alpha, fit_intercept),
            tol=None,
            random_state=0,
        )
