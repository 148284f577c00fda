"""SGD linear models in which the order of the updates is a hyperparameter.

Public names
------------
BackwardSGDClassifier
    Linear classifiers (logistic, hinge, …) trained by minibatch SGD.
BackwardSGDRegressor
    Linear regressors (least squares, Huber, …) trained by minibatch SGD.

Importing the package compiles nothing: the Numba kernels are compiled on
first use and cached on disk.
"""

from .estimators import BackwardSGDClassifier, BackwardSGDRegressor

__version__ = "0.1.0"

__all__ = ["BackwardSGDClassifier", "BackwardSGDRegressor", "__version__"]
