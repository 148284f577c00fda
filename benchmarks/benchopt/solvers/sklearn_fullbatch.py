"""benchopt solver: scikit-learn's full-batch solvers, as references."""

from benchopt import BaseSolver
from scipy import sparse
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_order.benchmarking import EpochRuns, glm_model

LOGREG_SOLVERS = ("lbfgs", "sag", "saga")
RIDGE_SOLVERS = ("cholesky", "lsqr", "sparse_cg", "sag", "saga")


class Solver(EpochRuns, BaseSolver):
    """``LogisticRegression(C=1/λ)`` or ``Ridge(alpha=λ)``, ``max_iter=n``.

    Both minimise a multiple of the benchmark's objective (scikit-learn's
    ``C Σ ℓ + ½‖β‖²`` and ``‖y − Xβ‖² + λ‖β‖²``). An iteration is each
    solver's own (an L-BFGS step, an epoch of SAG/SAGA, an LSQR or CG step);
    ``cholesky`` is direct (it ignores ``max_iter``) and is skipped on sparse
    data, where it would form a dense Gram matrix.
    """

    name = "sklearn-fullbatch"
    requirements = ["scikit-learn"]
    sampling_strategy = "iteration"

    parameters = {"solver": sorted(set(LOGREG_SOLVERS + RIDGE_SOLVERS))}

    def skip(self, X, y, lmbd, fit_intercept=False):
        model = glm_model(y)
        solvers = LOGREG_SOLVERS if model == "logreg" else RIDGE_SOLVERS
        if self.solver not in solvers:
            return True, f"{self.solver} does not solve {model}"
        if self.solver == "cholesky" and sparse.issparse(X):
            return True, "cholesky would form a dense Gram matrix"
        return False, None

    def set_objective(self, X, y, lmbd, fit_intercept=False):
        self.X, self.y, self.fit_intercept = X, y, fit_intercept
        if glm_model(y) == "logreg":
            self.estimator = LogisticRegression(
                C=1.0 / lmbd, solver=self.solver, fit_intercept=fit_intercept, tol=1e-15
            )
        else:
            self.estimator = Ridge(
                alpha=lmbd, solver=self.solver, fit_intercept=fit_intercept, tol=1e-15
            )
