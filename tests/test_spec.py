"""The fit specification: built once from validated parameters, frozen, and
enough on its own for the training functions."""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, orders
from sklearn_order._spec import FitSpec
from sklearn_order._training import fit_problems, pass_problems


def _data(rng, n=60, d=3):
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def test_the_spec_is_frozen():
    spec = FitSpec.from_estimator(BackwardSGDRegressor(random_state=0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.batch_size = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.rule = spec.rule._replace(l2=0.0)


def test_the_spec_validates_the_parameters():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        FitSpec.from_estimator(BackwardSGDRegressor(learning_rate="optimal", alpha=0))


def test_the_order_rules_are_asked_of_the_order_object(monkeypatch):
    asked = []

    def check(spec):
        asked.append(spec)
        raise ValueError("refused by the order")

    monkeypatch.setitem(
        orders.ORDERS, "forward", orders.ORDERS["forward"]._replace(check_params=check)
    )
    with pytest.raises(ValueError, match="refused by the order"):
        FitSpec.from_estimator(BackwardSGDRegressor(order="forward"))
    assert len(asked) == 1 and isinstance(asked[0], FitSpec)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_fit_problems_from_a_spec_alone_equal_fit(order, rng):
    X, y = _data(rng)
    estimator = BackwardSGDRegressor(order=order, max_iter=7, tol=None, random_state=3)
    spec = FitSpec.from_estimator(estimator)
    del estimator  # the training functions never read it
    training = fit_problems(
        spec, X, [y], [np.ones(len(y))], np.zeros((1, 3)), np.zeros(1)
    )
    fitted = BackwardSGDRegressor(
        order=order, max_iter=7, tol=None, random_state=3
    ).fit(X, y)
    assert training.n_iter == fitted.n_iter_ == 7
    assert_array_equal(training.coef[0], fitted.coef_)
    assert_array_equal(training.intercept, fitted.intercept_)


def test_pass_problems_from_a_spec_alone_equal_partial_fit(rng):
    X, y = _data(rng)
    classes = np.where(y > 0, 1.0, -1.0)
    params = dict(order="forward", average=True, random_state=5)
    spec = FitSpec.from_estimator(BackwardSGDClassifier(**params), for_partial_fit=True)
    training = pass_problems(
        spec,
        X,
        [classes],
        [np.ones(len(y))],
        np.zeros((1, 3)),
        np.zeros(1),
        t_start=0,
        eta0=spec.step_size(X, [classes], [np.ones(len(y))], n_epochs=1),
    )
    fitted = BackwardSGDClassifier(**params).partial_fit(X, classes, classes=[-1, 1])
    assert_array_equal(training.coef, fitted.coef_)
    assert_array_equal(training.intercept, fitted.intercept_)
