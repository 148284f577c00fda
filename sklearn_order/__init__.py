"""SGD linear models in which the order of the updates is a hyperparameter.

Public names
------------
BackwardSGDClassifier
    Linear classifiers (logistic, hinge, …) trained by minibatch SGD.
BackwardSGDRegressor
    Linear regressors (least squares, Huber, …) trained by minibatch SGD.
BackwardSGDClassifierCV, BackwardSGDRegressorCV
    The same, with a cross-validated grid of their parameters (equal to
    ``GridSearchCV``'s), the candidates of a fold trained in few passes.
trajectory
    The iterates of an estimator's composition order, step by step.
coalescence
    Backward iterates from several starting points: a contraction certificate.
training_objective
    The objective a fit minimises, at given coefficients.
Trajectory, Coalescence, ContractionWarning
    What those two return or warn.
DivergenceError
    Raised when a fit cannot go on numerically (diverging or overflowing
    iterates).

Importing the package compiles nothing: the Numba kernels are compiled on
first use, which the ``"sklearn_order"`` logger announces once, and cached on
disk until their sources change (:mod:`sklearn_order._cache` says where, and
what happens where nothing can be written).
"""

from ._cv import BackwardSGDClassifierCV, BackwardSGDRegressorCV
from ._problem import DivergenceError
from .diagnostics import (
    Coalescence,
    ContractionWarning,
    Trajectory,
    coalescence,
    training_objective,
    trajectory,
)
from .estimators import BackwardSGDClassifier, BackwardSGDRegressor

__version__ = "0.1.0"

__all__ = [
    "BackwardSGDClassifier",
    "BackwardSGDClassifierCV",
    "BackwardSGDRegressor",
    "BackwardSGDRegressorCV",
    "Coalescence",
    "ContractionWarning",
    "DivergenceError",
    "Trajectory",
    "coalescence",
    "training_objective",
    "trajectory",
    "__version__",
]
