"""Early stopping on a held-out split, for both orders."""

import warnings

import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor


def _classification(n_classes=3):
    X, y = make_classification(
        n_samples=400,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        flip_y=0.05,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_early_stopping_stops_on_the_held_out_score(order):
    X, y = _classification()
    model = BackwardSGDClassifier(
        order=order,
        early_stopping=True,
        alpha=1e-4,
        eta0=0.05,
        max_iter=512,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 512
    assert model.score(X, y) > 0.7
    if order == "backward":  # evaluated at 1, 2, 4, … epochs
        assert model.n_iter_ & (model.n_iter_ - 1) == 0


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_early_stopping_trains_on_the_rest_exactly(Estimator, order):
    """The stopped model is the model of its epoch count on the training rows.

    (Binary: with one-vs-rest each class stops at its own epoch count.)
    """
    if Estimator is BackwardSGDClassifier:
        X, y = _classification(n_classes=2)
        split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=3)
    else:
        X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
        y = y / y.std()
        split = ShuffleSplit(n_splits=1, test_size=0.2, random_state=3)
    params = dict(order=order, eta0=0.05, batch_size=4, random_state=3)
    stopped = Estimator(
        early_stopping=True, validation_fraction=0.2, max_iter=256, **params
    ).fit(X, y)
    train, _ = next(split.split(X, y))
    again = Estimator(tol=None, max_iter=stopped.n_iter_, **params).fit(
        X[train], y[train]
    )
    assert_allclose(stopped.coef_, again.coef_, rtol=1e-12)
    assert_allclose(stopped.intercept_, again.intercept_, rtol=1e-12)


def test_a_validation_set_too_small_is_an_error():
    X, y = _classification(n_classes=3)
    with pytest.raises(ValueError, match="validation_fraction=0.001 cannot make"):
        BackwardSGDClassifier(early_stopping=True, validation_fraction=0.001).fit(X, y)
