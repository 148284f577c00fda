"""``sparsify``/``densify``: a sparse ``coef_`` predicts the same."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparsify_densify_classifier(n_classes):
    X, y = make_classification(
        n_samples=100,
        n_features=20,
        n_informative=3,
        n_classes=n_classes,
        random_state=0,
    )
    model = BackwardSGDClassifier(
        penalty="l1", alpha=0.05, random_state=0, max_iter=20, tol=None
    ).fit(X, y)
    scores, labels = model.decision_function(X), model.predict(X)
    assert model.sparsify() is model
    assert sparse.issparse(model.coef_)
    assert_allclose(model.decision_function(X), scores, rtol=1e-12)
    assert_array_equal(model.predict(X), labels)
    # partial_fit and warm_start continue from the same coefficients
    continued = model.partial_fit(X, y)
    assert not sparse.issparse(continued.coef_)
    model.sparsify().densify()
    assert isinstance(model.coef_, np.ndarray) and model.coef_.ndim == 2


def test_sparsify_densify_regressor():
    X, y = make_regression(n_samples=80, n_features=10, n_informative=2, random_state=0)
    model = BackwardSGDRegressor(
        penalty="l1", alpha=0.1, random_state=0, max_iter=10, tol=None
    ).fit(X / 10, y / 100)
    prediction, coef = model.predict(X / 10), model.coef_.copy()
    model.sparsify()
    assert sparse.issparse(model.coef_)
    assert_allclose(model.predict(X / 10), prediction, rtol=1e-12)
    model.densify()
    assert_array_equal(model.coef_, coef)
    with pytest.raises(NotFittedError):
        BackwardSGDRegressor().sparsify()
