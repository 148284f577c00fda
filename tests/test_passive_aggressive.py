"""``learning_rate="pa1"``/``"pa2"`` and the classifier's regression losses at the
estimator level: parameters, both orders, and early stopping's score.

The kernels are tested against the NumPy reference in ``test_kernels.py``, and
against scikit-learn in ``test_sklearn_equivalence.py``.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order._problem import Problem
from sklearn_order._spec import FitSpec
from sklearn_order._training import build_problems
from sklearn_order.losses import REGRESSION_LOSSES

# short fits: convergence is not the point here (the epsilon-insensitive maps
# leave directions where every residual is within epsilon uncontracted)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PA_CASES = [
    (BackwardSGDClassifier, "hinge"),
    (BackwardSGDRegressor, "epsilon_insensitive"),
]


def _data(Estimator, n=48, d=5, seed=0):
    if Estimator is BackwardSGDClassifier:
        X, y = make_classification(
            n_samples=n,
            n_features=d,
            n_classes=3,
            n_informative=3,
            class_sep=2.0,
            random_state=seed,
        )
    else:
        X, y = make_regression(n_samples=n, n_features=d, noise=1.0, random_state=seed)
        y = y / y.std()
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize(
    "Estimator, loss",
    [
        (BackwardSGDClassifier, "log_loss"),
        (BackwardSGDClassifier, "epsilon_insensitive"),
        (BackwardSGDRegressor, "squared_error"),
        (BackwardSGDRegressor, "huber"),
    ],
)
def test_passive_aggressive_needs_its_loss(Estimator, loss, learning_rate):
    X, y = _data(Estimator)
    needed = "hinge" if Estimator is BackwardSGDClassifier else "epsilon_insensitive"
    with pytest.raises(ValueError, match=f"only works with loss='{needed}'"):
        Estimator(loss=loss, learning_rate=learning_rate).fit(X, y)


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("Estimator, loss", PA_CASES)
def test_passive_aggressive_backward_is_forward_on_reversed_batches(
    Estimator, loss, learning_rate
):
    """Design fact 1, exactly, through the estimators: the passive-aggressive map
    is a map of θ and the batch, so the backward composition is defined."""
    X, y = _data(Estimator)
    batch_size = 4  # divides n_samples
    params = dict(
        loss=loss,
        learning_rate=learning_rate,
        eta0=0.5,
        sampling="cyclic",
        batch_size=batch_size,
        tol=None,
        max_iter=3,
    )
    backward = Estimator(order="backward", **params).fit(X, y)
    rows = np.arange(X.shape[0]).reshape(-1, batch_size)[::-1].ravel()
    forward = Estimator(order="forward", **params).fit(X[rows], y[rows])
    assert_array_equal(backward.coef_, forward.coef_)
    assert_array_equal(backward.intercept_, forward.intercept_)
    # and the orders differ: the test is not comparing two trivial models
    plain = Estimator(order="forward", **params).fit(X, y)
    assert not np.array_equal(plain.coef_, backward.coef_)


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("Estimator, loss", PA_CASES)
def test_passive_aggressive_backward_fits_as_well_as_scikit_learn(
    Estimator, loss, learning_rate
):
    """Separable-ish classes / a clean regression: the backward order's model
    scores within 0.05 of scikit-learn's online passive-aggressive model."""
    X, y = _data(Estimator, n=200)
    params = dict(loss=loss, learning_rate=learning_rate, eta0=0.1, random_state=0)
    model = Estimator(tol=1e-6, **params).fit(X, y)
    Theirs = SGDClassifier if Estimator is BackwardSGDClassifier else SGDRegressor
    theirs = Theirs(**params).fit(X, y)
    assert model.score(X, y) > theirs.score(X, y) - 0.05
    assert model.score(X, y) > 0.85


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_classifier_multinomial_needs_log_loss(loss):
    X, y = _data(BackwardSGDClassifier)
    with pytest.raises(ValueError, match="multi_class='multinomial' needs"):
        BackwardSGDClassifier(loss=loss, multi_class="multinomial").fit(X, y)


def test_classifier_epsilon_is_a_validated_parameter():
    X, y = _data(BackwardSGDClassifier)
    assert BackwardSGDClassifier().get_params()["epsilon"] == 0.1
    with pytest.raises(ValueError, match="epsilon"):
        BackwardSGDClassifier(loss="huber", epsilon=-1.0).fit(X, y)
    # epsilon is the threshold of the epsilon losses: it changes the model
    params = dict(loss="epsilon_insensitive", random_state=0, max_iter=5, tol=None)
    a = BackwardSGDClassifier(epsilon=0.0, **params).fit(X, y)
    b = BackwardSGDClassifier(epsilon=0.9, **params).fit(X, y)
    assert not np.array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_classifier_with_a_regression_loss_predicts_classes(loss):
    X, y = _data(BackwardSGDClassifier, n=150)
    model = BackwardSGDClassifier(loss=loss, random_state=0, alpha=0.01).fit(X, y)
    assert set(model.predict(X)) <= set(y)
    assert model.score(X, y) > 0.6
    assert not hasattr(model, "predict_proba")


def test_early_stopping_scores_a_classifier_by_accuracy_whatever_its_loss():
    """A classifier with a regression loss judges held-out accuracy (as
    scikit-learn's SGDClassifier), not R² of the ±1 targets."""
    X, y = _data(BackwardSGDClassifier)
    model = BackwardSGDClassifier(loss="squared_error")
    (problem,) = build_problems(
        FitSpec.from_estimator(model),
        X,
        [np.where(y == 1, 1.0, -1.0)],
        [np.ones(48)],
        seed=0,
    )
    assert problem.classification
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=X.shape[1]), np.array([0.1])
    targets = np.where(y == 1, 1.0, -1.0)
    held_out = Problem(
        X=X,
        y=targets,
        sample_weight=np.ones(48),
        rule=problem.rule,
        sampling=problem.sampling,
        seed=0,
        batch_size=1,
        validation=(X, targets, np.ones(48)),
        classification=True,
    )
    expected = accuracy_score(targets, np.where(X @ coef + 0.1 > 0, 1.0, -1.0))
    assert held_out.validation_score(coef, intercept) == expected
    assert (
        build_problems(
            FitSpec.from_estimator(BackwardSGDRegressor()),
            X,
            [y],
            [np.ones(48)],
            seed=0,
        )[0].classification
        is False
    )
    model.set_params(early_stopping=True, validation_fraction=0.25, random_state=0)
    assert model.fit(X, y).score(X, y) > 0.5
