"""Polyak–Ruppert averaging (``average``) for the forward order.

Its equality with scikit-learn's ``average`` is tested with the other
comparisons, in ``test_sklearn_equivalence.py``.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDRegressor

OURS = dict(order="forward", sampling="cyclic", batch_size=1)


def test_backward_order_has_no_average():
    X, y = make_regression(n_samples=20, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="average is only defined for order='forward'"):
        BackwardSGDRegressor(average=True).fit(X, y)


def test_partial_fit_continues_the_average():
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = y / y.std()
    params = dict(**OURS, average=True, tol=None, eta0=0.01)  # one step for all
    whole = BackwardSGDRegressor(max_iter=2, **params).fit(X, y)
    chunks = BackwardSGDRegressor(**params)
    for _ in range(2):
        for rows in np.array_split(np.arange(60), 3):
            chunks.partial_fit(X[rows], y[rows])
    assert_allclose(chunks.coef_, whole.coef_, rtol=1e-12)
    assert_allclose(chunks.intercept_, whole.intercept_, rtol=1e-12)


def test_averaging_gets_closer_to_the_optimum_than_the_last_iterate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + rng.normal(size=400)
    optimum = np.linalg.lstsq(np.column_stack([X, np.ones(400)]), y, rcond=None)[0]
    params = dict(order="forward", penalty=None, eta0=0.05, max_iter=20, tol=None)
    distances = {}
    for average in (False, True):
        gaps = []
        for seed in range(5):
            model = BackwardSGDRegressor(average=average, random_state=seed, **params)
            model.fit(X, y)
            gaps.append(
                np.linalg.norm(np.append(model.coef_, model.intercept_) - optimum)
            )
        distances[average] = np.mean(gaps)
    assert distances[True] < 0.5 * distances[False]


def test_trajectory_of_an_averaged_model_ends_where_fit_ends():
    from sklearn_order import trajectory

    X, y = make_regression(n_samples=40, n_features=3, noise=1.0, random_state=0)
    y = y / y.std()
    model = BackwardSGDRegressor(
        order="forward", average=7, batch_size=4, max_iter=3, tol=None, random_state=0
    )
    path = trajectory(model, X, y, every=1)
    fitted = model.fit(X, y)
    assert_allclose(path.coef[-1], fitted.coef_, rtol=1e-12)
    assert_allclose(path.intercept[-1], fitted.intercept_, rtol=1e-12)
    # before step 7 the records are the iterates, from step 7 on their mean
    plain = trajectory(model.set_params(average=False), X, y, every=1)
    assert_allclose(path.thetas()[:6], plain.thetas()[:6], rtol=1e-12)
    assert_allclose(path.thetas()[6], plain.thetas()[6], rtol=1e-12)
    assert_allclose(path.thetas()[7], plain.thetas()[6:8].mean(axis=0), rtol=1e-12)
    picked = trajectory(model.set_params(average=7), X, y, steps=[3, 9, 30])
    assert_allclose(picked.thetas(), path.thetas()[[2, 8, 29]], rtol=1e-12)
