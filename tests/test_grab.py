"""GraB (online gradient balancing) against its plain-NumPy reference."""

import numpy as np
import pytest
import reference
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, trajectory
from sklearn_order._spec import FitSpec
from sklearn_order._training import build_problems, draw_seed
from sklearn_order.losses import loss_parameter
from sklearn_order.penalties import penalty_strengths
from sklearn_order.sampling import epoch_batches


def _setup(estimator, X, y):
    """The reference rule and GraB's first order for ``estimator`` (one output)."""
    l2, l1 = penalty_strengths(estimator.penalty, estimator.alpha, estimator.l1_ratio)
    rule = dict(
        loss=estimator.loss,
        param=loss_parameter(estimator.loss, getattr(estimator, "epsilon", 0.0)),
        l2=l2,
        l1=l1,
        eta=estimator.eta0,
        fit_intercept=estimator.fit_intercept,
    )
    first = np.concatenate(
        epoch_batches(
            "grab", X.shape[0], X.shape[0], draw_seed(estimator.random_state), 0
        )
    )
    return rule, first


def _targets(estimator, y):
    if isinstance(estimator, BackwardSGDClassifier):
        return np.where(y == np.unique(y)[1], 1.0, -1.0)
    return y


ESTIMATORS = [
    BackwardSGDRegressor(loss="squared_error", penalty="l2", alpha=0.01),
    BackwardSGDRegressor(loss="huber", penalty="l1", alpha=0.001),
    BackwardSGDClassifier(loss="log_loss", penalty="l2", alpha=0.01),
    BackwardSGDClassifier(loss="hinge", penalty=None),
]


def _data(estimator, rng, n=21, d=4):
    X = rng.normal(size=(n, d))
    if isinstance(estimator, BackwardSGDClassifier):
        return X, (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.loss)
def test_forward_grab_matches_reference(estimator, batch_size, rng):
    X, y = _data(estimator, rng)
    estimator = estimator.set_params(
        order="forward",
        sampling="grab",
        batch_size=batch_size,
        eta0=0.05,
        tol=None,
        max_iter=4,
        random_state=7,
    )
    fitted = estimator.fit(X, y)
    rule, first = _setup(estimator, X, y)
    w, b, orders = reference.grab_forward(
        X,
        _targets(estimator, y),
        np.ones(len(y)),
        first,
        4,
        batch_size,
        np.zeros(X.shape[1]),
        0.0,
        **rule,
    )
    assert_allclose(np.ravel(fitted.coef_), w, rtol=1e-10, atol=1e-12)
    assert_allclose(fitted.intercept_[0], b, rtol=1e-10, atol=1e-12)
    for order in orders:
        assert_array_equal(np.sort(order), np.arange(len(y)))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.loss)
def test_backward_grab_composes_grabs_forward_sequence_in_reverse(estimator, rng):
    X, y = _data(estimator, rng)
    batch_size, epochs = 3, 3
    estimator = estimator.set_params(
        order="backward",
        sampling="grab",
        batch_size=batch_size,
        eta0=0.05,
        tol=None,
        max_iter=epochs,
        random_state=7,
    )
    fitted = estimator.fit(X, y)
    rule, first = _setup(estimator, X, y)
    targets, weights = _targets(estimator, y), np.ones(len(y))
    _, _, orders = reference.grab_forward(
        X,
        targets,
        weights,
        first,
        epochs,
        batch_size,
        np.zeros(X.shape[1]),
        0.0,
        **dict(rule),
    )
    batches = [
        order[start : start + batch_size]
        for order in orders[:epochs]
        for start in range(0, len(y), batch_size)
    ]
    w, b = reference.compose(
        X,
        targets,
        weights,
        batches,
        np.zeros(X.shape[1]),
        0.0,
        order="backward",
        **rule,
    )
    assert_allclose(np.ravel(fitted.coef_), w, rtol=1e-10, atol=1e-12)
    assert_allclose(fitted.intercept_[0], b, rtol=1e-10, atol=1e-12)


def test_epoch_by_epoch_forward_fit_continues_the_herding(rng):
    X, y = _data(ESTIMATORS[0], rng, n=30)
    params = dict(
        order="forward", sampling="grab", batch_size=2, max_iter=5, random_state=1
    )
    in_one_call = BackwardSGDRegressor(tol=None, **params).fit(X, y)
    # a tolerance that never stops the fit: one kernel call per epoch
    per_epoch = BackwardSGDRegressor(tol=0.0, n_iter_no_change=100, **params).fit(X, y)
    assert per_epoch.n_iter_ == 5
    assert_array_equal(per_epoch.coef_, in_one_call.coef_)


@pytest.mark.parametrize("seed", range(4))
def test_grab_interleaves_two_clusters_of_gradients(seed):
    # Two clusters with opposite gradients at θ0 = 0 (same x, targets ±1) and
    # a learning rate small enough that the gradients barely move. Herding
    # balances the prefix sums of the gradients epoch after epoch, which for
    # two opposite clusters means alternating them.
    n = 40
    X = np.ones((n, 1))
    y = np.where(np.arange(n) % 4 < 2, 1.0, -1.0)
    estimator = BackwardSGDRegressor(
        order="forward", sampling="grab", eta0=1e-6, penalty=None, random_state=seed
    )
    seed = draw_seed(estimator.random_state)
    problem = build_problems(
        FitSpec.from_estimator(estimator), X, [y], [np.ones(n)], seed=seed
    )[0]
    # rows 1..3 hold the orders of epochs 1..3 (epoch 0 is seeded, not stored)
    table = problem.order_table(np.zeros(1), np.zeros(1), 4, 1e-6)
    random_order = np.concatenate(epoch_batches("grab", n, n, seed, 0))

    def discrepancy(order):  # largest prefix sum of the gradients' signs
        return np.abs(np.cumsum(y[order])).max()

    def same_cluster_neighbours(order):
        return int(np.sum(y[order[1:]] == y[order[:-1]]))

    discrepancies = [discrepancy(random_order)] + [discrepancy(t) for t in table[1:]]
    assert discrepancies[0] >= 4
    assert all(a >= b for a, b in zip(discrepancies, discrepancies[1:]))
    assert discrepancies[-1] <= 1
    assert same_cluster_neighbours(random_order) >= 15
    assert same_cluster_neighbours(table[3]) <= 6
    for order in table[1:]:
        assert_array_equal(np.sort(order), np.arange(n))


def test_grab_is_reproducible_and_serves_trajectories_and_partial_fit(rng):
    X, y = _data(ESTIMATORS[2], rng, n=24)
    params = dict(sampling="grab", batch_size=3, random_state=5, tol=None, max_iter=3)
    a = BackwardSGDClassifier(**params).fit(X, y)
    b = BackwardSGDClassifier(**params).fit(X, y)
    assert a.coef_.tobytes() == b.coef_.tobytes()
    path = trajectory(BackwardSGDClassifier(**params), X, y, every=8)
    assert_allclose(path.coef[-1], a.coef_, rtol=1e-10)
    chunked = BackwardSGDClassifier(**params).partial_fit(
        X[:12], y[:12], classes=[0, 1]
    )
    chunked.partial_fit(X[12:], y[12:])
    assert np.all(np.isfinite(chunked.coef_))
    with pytest.raises(ValueError, match="depends on the previous epoch"):
        epoch_batches("grab", 10, 2, seed=0, epoch=1)
