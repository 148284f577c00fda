"""``multi_class="multinomial"``: one softmax problem over all classes."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier
from sklearn_order.diagnostics import trajectory


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _relative_error(a, b):
    return np.linalg.norm(np.ravel(a) - np.ravel(b)) / np.linalg.norm(np.ravel(b))


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_probabilities_are_a_softmax_that_sums_to_one(iris, order):
    X, y = iris
    model = BackwardSGDClassifier(
        multi_class="multinomial", order=order, alpha=0.01, random_state=0
    ).fit(X, y)
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
    proba = model.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    scores = model.decision_function(X)
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_matches_logistic_regression_on_separated_classes(order):
    X, y = make_blobs(
        n_samples=300, centers=4, n_features=5, cluster_std=1.0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    alpha = 1e-2
    ours = BackwardSGDClassifier(
        multi_class="multinomial",
        order=order,
        alpha=alpha,
        eta0=0.05,
        batch_size=8,
        random_state=0,
    ).fit(X, y)
    # the same objective: (1/n) Σ ℓ + (alpha/2)‖W‖² is C = 1 / (n alpha)
    reference = LogisticRegression(C=1 / (len(y) * alpha), max_iter=10_000).fit(X, y)
    assert_array_equal(ours.predict(X), reference.predict(X))
    assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=0.05)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_binary_multinomial_is_logistic_with_twice_the_step(order):
    """Two softmax rows move as ±(the binary logistic update)/2.

    So ``f = f_1 − f_0`` follows binary log_loss SGD with step ``2 eta0`` and
    L2 decay ``eta0 alpha`` per map, i.e. ``alpha / 2`` at that step.
    """
    X, y = make_blobs(n_samples=80, centers=2, n_features=3, random_state=1)
    X = StandardScaler().fit_transform(X)
    shared = dict(order=order, max_iter=6, tol=None, random_state=0, batch_size=3)
    multinomial = BackwardSGDClassifier(
        multi_class="multinomial", eta0=0.02, alpha=0.01, **shared
    ).fit(X, y)
    logistic = BackwardSGDClassifier(eta0=0.04, alpha=0.005, **shared).fit(X, y)
    assert multinomial.coef_.shape == (1, 3)
    assert _relative_error(multinomial.coef_, logistic.coef_) < 1e-9
    assert _relative_error(multinomial.intercept_, logistic.intercept_) < 1e-9
    assert_allclose(multinomial.predict_proba(X), logistic.predict_proba(X), rtol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_partial_fit_and_warm_start_continue_the_softmax_rows(n_classes):
    """Chunks in sequence are one cyclic forward epoch over their concatenation.

    Binary problems keep only ``f = f_1 − f_0`` in ``coef_``; each call
    resumes from the rows ``(−f/2, f/2)``, which is exact (bit for bit).
    """
    X, y = make_blobs(n_samples=90, centers=n_classes, random_state=2)
    X = StandardScaler().fit_transform(X)
    params = dict(
        multi_class="multinomial",
        order="forward",
        sampling="cyclic",
        random_state=0,
        eta0=0.01,  # a float: the chunks compose the same maps as the fit
    )
    stepwise = BackwardSGDClassifier(**params)
    for chunk in np.array_split(np.arange(90), 3):
        stepwise.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    one_epoch = BackwardSGDClassifier(max_iter=1, tol=None, **params).fit(X, y)
    assert_array_equal(stepwise.coef_, one_epoch.coef_)
    assert_array_equal(stepwise.intercept_, one_epoch.intercept_)

    first = BackwardSGDClassifier(max_iter=3, tol=None, **params).fit(X, y)
    warm = BackwardSGDClassifier(max_iter=3, tol=None, warm_start=True, **params)
    warm.fit(X, y).fit(X, y)
    explicit = BackwardSGDClassifier(max_iter=3, tol=None, **params).fit(
        X, y, coef_init=first.coef_, intercept_init=first.intercept_
    )
    assert_array_equal(warm.coef_, explicit.coef_)


def test_class_weight_moves_the_multinomial_boundary(iris):
    X, y = iris
    params = dict(multi_class="multinomial", random_state=0, alpha=0.01)
    plain = BackwardSGDClassifier(**params).fit(X, y)
    heavy = BackwardSGDClassifier(class_weight={0: 1, 1: 1, 2: 20}, **params).fit(X, y)
    assert np.mean(heavy.predict(X) == 2) > np.mean(plain.predict(X) == 2)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_early_stopping_judges_the_held_out_accuracy_over_all_classes(iris, order):
    X, y = iris
    model = BackwardSGDClassifier(
        multi_class="multinomial",
        order=order,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    assert model.n_iter_ < model.max_iter
    assert model.score(X, y) > 0.8


def test_grid_search_over_multi_class_and_order(iris):
    X, y = iris
    search = GridSearchCV(
        make_pipeline(
            StandardScaler(), BackwardSGDClassifier(alpha=0.01, random_state=0)
        ),
        {
            "backwardsgdclassifier__multi_class": ["ovr", "multinomial"],
            "backwardsgdclassifier__order": ["forward", "backward"],
        },
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8


def test_multinomial_needs_log_loss(iris):
    X, y = iris
    with pytest.raises(
        ValueError, match="multi_class='multinomial' needs loss='log_loss'"
    ):
        BackwardSGDClassifier(loss="hinge", multi_class="multinomial").fit(X, y)
    with pytest.raises(ValueError, match="multi_class"):
        BackwardSGDClassifier(multi_class="softmax").fit(X, y)


def test_diagnostics_say_multinomial_is_not_supported(iris):
    X, y = iris
    with pytest.raises(ValueError, match="multinomial"):
        trajectory(BackwardSGDClassifier(multi_class="multinomial"), X, y, n_steps=10)
