"""``eta0="auto"``: the largest step for which every update map contracts.

Checked against the formula written out in NumPy, on unscaled data where a
fixed ``eta0`` diverges, and with ``coalescence()``: for the smooth losses the
backward iterates from different starting points meet.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, coalescence

# the curvature bound L of each loss's derivative (1 for the non-smooth ones)
CURVATURE = {
    "log_loss": 0.25,
    "hinge": 1.0,
    "perceptron": 1.0,
    "squared_hinge": 2.0,
    "modified_huber": 2.0,
    "squared_error": 1.0,
    "huber": 1.0,
    "epsilon_insensitive": 1.0,
    "squared_epsilon_insensitive": 2.0,
}
CLASSIFICATION = ["log_loss", "hinge", "perceptron", "squared_hinge", "modified_huber"]
SMOOTH = {"log_loss", "squared_hinge", "modified_huber", "squared_error", "huber"}
UNBOUNDED_DERIVATIVE = {"squared_hinge", "squared_error", "squared_epsilon_insensitive"}


def _estimator(loss, **params):
    Estimator = (
        BackwardSGDClassifier if loss in CLASSIFICATION else BackwardSGDRegressor
    )
    return Estimator(loss=loss, **params)


def _unscaled(loss, rng, n=120, d=4):
    """Features of very different scales (up to 1e3), as raw data has."""
    X = rng.normal(size=(n, d)) * np.array([1.0, 10.0, 100.0, 1000.0])
    signal = X @ (1.0 / np.array([1.0, 10.0, 100.0, 1000.0]))
    y = (signal > 0).astype(int) if loss in CLASSIFICATION else signal
    return X, y


def _reference_step(X, weights, curvature, fit_intercept, l2):
    squared = np.einsum("ij,ij->i", X, X) + float(fit_intercept)
    return 1.0 / (curvature * np.max(weights * squared) + l2)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", list(CURVATURE))
def test_the_chosen_step_is_the_formula(loss, fit_intercept, storage, rng):
    X, y = _unscaled(loss, rng)
    weight = rng.uniform(0.5, 2.0, size=len(y))
    model = _estimator(
        loss, fit_intercept=fit_intercept, alpha=1e-3, max_iter=2, tol=None
    )
    data = sparse.csr_matrix(X) if storage == "csr" else X
    model.fit(data, y, sample_weight=weight)
    expected = _reference_step(X, weight, CURVATURE[loss], fit_intercept, 1e-3)
    assert_allclose(model.eta0_, expected, rtol=1e-12)


def test_class_weights_and_the_multinomial_loss_enter_the_step(rng):
    X, y = _unscaled("log_loss", rng)
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes
    model = BackwardSGDClassifier(class_weight={0: 3.0}, max_iter=2, tol=None)
    model.fit(X, y)
    row_weight = np.where(y == 0, 3.0, 1.0)
    assert_allclose(model.eta0_, _reference_step(X, row_weight, 0.25, True, 1e-4))
    multinomial = BackwardSGDClassifier(
        multi_class="multinomial", max_iter=2, tol=None
    ).fit(X, y)
    assert_allclose(multinomial.eta0_, _reference_step(X, 1.0, 0.5, True, 1e-4))


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("loss", list(CURVATURE))
def test_the_default_step_fits_unscaled_data(loss, order, rng):
    X, y = _unscaled(loss, rng)
    if loss in UNBOUNDED_DERIVATIVE:  # what scikit-learn's default step does
        with pytest.raises(ValueError, match="diverged"):
            _estimator(loss, order=order, eta0=0.01, max_iter=20).fit(X * 10, y)
    model = _estimator(loss, order=order, max_iter=20, random_state=0).fit(X * 10, y)
    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(model.intercept_))
    assert model.eta0_ > 0


@pytest.mark.parametrize("loss", sorted(SMOOTH))
def test_backward_iterates_coalesce_with_the_default_step(loss, rng):
    """Unscaled (scale 10), noisy data: the maps contract, and the backward
    iterates from two starting points meet.

    Without an intercept: the intercept's "feature" is 1, tiny beside the
    rows' norms, so with the step sized by those norms it moves, and
    coalesces, far more slowly (hundreds of times here) — still
    geometrically.
    """
    X = 10 * rng.normal(size=(120, 4))
    noise = 10 * rng.normal(size=120)
    if loss in CLASSIFICATION:
        y = (X[:, 0] + noise > 0).astype(int)
    else:
        y = X.sum(axis=1) / 10 + noise / 10
    model = _estimator(
        loss, alpha=0.01, batch_size=4, fit_intercept=False, random_state=0
    )
    if loss == "huber":  # residuals (scale 1) mostly where Huber is curved
        model.set_params(epsilon=2.0)
    report = coalescence(model, X, y, n_steps=5000)
    assert report.contractive
    assert report.rate < 1


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_an_explicit_eta0_is_used_as_given(Estimator, rng):
    X, y = _unscaled("squared_error", rng)
    y = (y > 0).astype(int) if Estimator is BackwardSGDClassifier else y
    X = X / X.std(axis=0)
    model = Estimator(eta0=0.003, max_iter=3, tol=None, random_state=0).fit(X, y)
    assert model.eta0_ == 0.003
    same = Estimator(eta0=0.003, max_iter=3, tol=None, random_state=0).fit(X, y)
    assert_array_equal(model.coef_, same.coef_)


def test_partial_fit_keeps_the_smallest_step_of_the_chunks(rng):
    X, y = _unscaled("squared_error", rng)
    model = BackwardSGDRegressor(random_state=0)
    model.partial_fit(X[:60] / 10, y[:60])
    first = model.eta0_
    model.partial_fit(X[60:], y[60:])  # larger rows: a smaller step
    second = model.eta0_
    model.partial_fit(X[:60] / 10, y[:60])  # smaller rows again: keeps it
    assert second < first
    assert model.eta0_ == second
    assert np.all(np.isfinite(model.coef_))
