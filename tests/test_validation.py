"""Bad input gets a clear error, and nothing half-fitted."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import sklearn_order
from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor

ESTIMATORS = [BackwardSGDClassifier, BackwardSGDRegressor]


def _data(Estimator, n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] > 0).astype(int) if Estimator is BackwardSGDClassifier else X[:, 0]
    return X, y


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected(Estimator, bad):
    X, y = _data(Estimator)
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        Estimator().fit(X_bad, y)
    y_bad = y.astype(float)
    y_bad[2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        Estimator().fit(X, y_bad)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_wrong_shapes_are_rejected(Estimator):
    X, y = _data(Estimator)
    with pytest.raises(ValueError, match="2D array"):
        Estimator().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator().fit(X, y[:-1])
    model = Estimator(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="coef_init"):
        Estimator().fit(X, y, coef_init=np.zeros(5))
    with pytest.raises(ValueError, match="intercept_init"):
        Estimator().fit(X, y, intercept_init=np.zeros(3))
    with pytest.raises(ValueError, match="sample_weight|Negative"):
        Estimator().fit(X, y, sample_weight=-np.ones(len(y)))


def test_single_class_is_rejected():
    X, _ = _data(BackwardSGDClassifier)
    with pytest.raises(ValueError, match="classes has to be greater than one"):
        BackwardSGDClassifier().fit(X, np.zeros(len(X)))


def test_regression_target_is_rejected_by_classifier():
    X, _ = _data(BackwardSGDClassifier)
    with pytest.raises(ValueError, match="Unknown label type"):
        BackwardSGDClassifier().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "params, message",
    [
        ({"loss": "nope"}, "loss"),
        ({"order": "sideways"}, "order"),
        ({"sampling": "random"}, "sampling"),
        ({"batch_size": 0}, "batch_size"),
        ({"penalty": "l3"}, "penalty"),
        ({"eta0": 0.0}, "eta0 must be > 0"),
        ({"eta0": "fast"}, "eta0"),
        ({"penalty": "elasticnet", "l1_ratio": None}, "l1_ratio must be set"),
        ({"learning_rate": "optimal", "alpha": 0.0}, "alpha must be > 0"),
        ({"learning_rate": "adaptive"}, "only defined for order='forward'"),
    ],
)
def test_bad_parameters_are_rejected_at_fit(Estimator, params, message):
    X, y = _data(Estimator)
    with pytest.raises(ValueError, match=message):
        Estimator(**params).fit(X, y)


def test_partial_fit_errors():
    X, y = _data(BackwardSGDClassifier)
    with pytest.raises(ValueError, match="classes must be passed"):
        BackwardSGDClassifier().partial_fit(X, y)
    model = BackwardSGDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes"):
        model.partial_fit(X, np.full(len(y), 7))
    with pytest.raises(ValueError, match="balanced"):
        BackwardSGDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


UNBOUNDED_DERIVATIVE = [
    (BackwardSGDRegressor, "squared_error"),
    (BackwardSGDRegressor, "squared_epsilon_insensitive"),
    (BackwardSGDClassifier, "squared_hinge"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator, loss", UNBOUNDED_DERIVATIVE)
def test_divergence_is_an_error_naming_eta0(Estimator, loss, order, dtype):
    # scikit-learn's SGDRegressor returns finite coefficients near 1e19 here.
    X, y = _data(Estimator)
    X = (X * 1e3).astype(dtype)
    model = Estimator(loss=loss, order=order, eta0=5e3, random_state=0)
    with pytest.raises(ValueError, match=r"eta0=5000.*Scale the data.*lower eta0"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator, loss", UNBOUNDED_DERIVATIVE)
def test_divergence_raises_the_public_divergence_error(Estimator, loss, order):
    """Callers catch ``sklearn_order.DivergenceError`` rather than match the
    message; it stays a ``ValueError``."""
    assert "DivergenceError" in sklearn_order.__all__
    assert issubclass(sklearn_order.DivergenceError, ValueError)
    X, y = _data(Estimator)
    model = Estimator(loss=loss, order=order, eta0=5e3, random_state=0)
    with pytest.raises(sklearn_order.DivergenceError):
        model.fit(X * 1e3, y)
    chunk = dict(classes=np.unique(y)) if Estimator is BackwardSGDClassifier else {}
    with pytest.raises(sklearn_order.DivergenceError):
        model.partial_fit(X * 1e3, y, **chunk)
    with pytest.raises(sklearn_order.DivergenceError):
        sklearn_order.trajectory(model, X * 1e3, y, n_steps=len(y), method="replay")


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_divergence_keeps_the_previous_fit_with_warm_start(order):
    X, y = _data(BackwardSGDRegressor)
    model = BackwardSGDRegressor(order=order, warm_start=True, random_state=0).fit(X, y)
    coef, intercept, t = model.coef_.copy(), model.intercept_.copy(), model.t_
    with pytest.raises(ValueError, match="diverged"):
        model.set_params(eta0=5e3).fit(X * 1e3, y)
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)
    assert model.t_ == t
    with pytest.raises(ValueError, match="diverged"):
        model.partial_fit(X * 1e3, y)
    np.testing.assert_array_equal(model.coef_, coef)


def test_optimal_schedule_divergence_names_the_schedule():
    X, y = _data(BackwardSGDRegressor)
    model = BackwardSGDRegressor(learning_rate="optimal", alpha=1e-9)
    with pytest.raises(ValueError, match="learning_rate='optimal'") as error:
        model.fit(X * 1e4, y)
    # the schedule does not use eta0: the advice names what does matter
    assert "raise alpha" in str(error.value)
    assert "lower eta0" not in str(error.value)


BOUNDED_DERIVATIVE = [
    (BackwardSGDClassifier, "log_loss"),
    (BackwardSGDClassifier, "hinge"),
    (BackwardSGDClassifier, "perceptron"),
    (BackwardSGDClassifier, "modified_huber"),
    (BackwardSGDRegressor, "huber"),
    (BackwardSGDRegressor, "epsilon_insensitive"),
]


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator, loss", BOUNDED_DERIVATIVE)
def test_bounded_derivative_losses_cannot_diverge(Estimator, loss, order):
    # |ℓ'| ≤ 4: each step moves the weights by at most 4 η ‖x‖, so the iterates
    # stay finite (if large) whatever eta0: no error, finite coefficients.
    X, y = _data(Estimator)
    model = Estimator(
        loss=loss,
        order=order,
        penalty=None,
        eta0=1e4,
        max_iter=5,
        tol=None,
        random_state=0,
    ).fit(X * 1e3, y)
    assert np.all(np.isfinite(model.coef_))
    assert np.abs(model.coef_).max() <= 4 * 1e4 * 1e3 * np.abs(X).max() * 5 * len(X)


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({0: -1.0}, "finite and non-negative"),
        ({0: np.nan}, "finite and non-negative"),
        ({1: np.inf}, "finite and non-negative"),
        ({0: 0.0, 1: 0.0}, "every row with weight zero"),
    ],
)
def test_bad_class_weights_are_refused(class_weight, message):
    X, y = _data(BackwardSGDClassifier)
    model = BackwardSGDClassifier(class_weight=class_weight)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_batch_larger_than_the_data_is_one_batch_of_all_rows(Estimator):
    X, y = _data(Estimator, n=60)
    kw = dict(max_iter=3, tol=None, random_state=0, eta0=0.01)
    huge = Estimator(batch_size=10**12, **kw).fit(X, y)  # no 7 TiB scratch space
    whole = Estimator(batch_size=60, **kw).fit(X, y)
    np.testing.assert_array_equal(huge.coef_, whole.coef_)
    assert huge.t_ == 3


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_l1_ratio_none_is_accepted_without_elastic_net(Estimator):
    X, y = _data(Estimator)
    kw = dict(random_state=0, max_iter=3, tol=None)
    none = Estimator(penalty="l2", l1_ratio=None, **kw).fit(X, y)
    default = Estimator(penalty="l2", **kw).fit(X, y)
    np.testing.assert_array_equal(none.coef_, default.coef_)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_refuses_early_stopping_as_scikit_learn(Estimator):
    X, y = _data(Estimator)
    kwargs = {"classes": [0, 1]} if Estimator is BackwardSGDClassifier else {}
    with pytest.raises(ValueError, match="early_stopping should be False"):
        Estimator(early_stopping=True).partial_fit(X, y, **kwargs)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_negative_power_t_is_deprecated_as_in_scikit_learn(Estimator):
    X, y = _data(Estimator)
    model = Estimator(
        learning_rate="invscaling", power_t=-0.5, order="forward", eta0=1e-4
    )
    with pytest.warns(FutureWarning, match="power_t"):
        model.fit(X, y)


@pytest.mark.parametrize("learning_rate", ["invscaling", "optimal"])
def test_backward_order_with_a_decaying_step_warns(learning_rate):
    X, y = _data(BackwardSGDRegressor)
    model = BackwardSGDRegressor(
        order="backward", learning_rate=learning_rate, alpha=0.1, eta0=0.01
    )
    with pytest.warns(UserWarning, match="largest step, last"):
        model.fit(X, y)


def _bad_targets(Estimator, y):
    """(bad y, what the error must say) for ``score``."""
    n = len(y)
    with_nan = y.astype(float)
    with_nan[2] = np.nan
    with_inf = y.astype(float)
    with_inf[2] = np.inf
    cases = [
        (None, r"needs y"),
        (y[:-3], r"y has 27 targets for the 30 rows of X"),
        (np.column_stack([y, y]), r"y should be a 1d array"),
        (with_nan, r"Input y contains NaN"),
        (with_inf, r"Input y contains infinity"),
    ]
    if Estimator is BackwardSGDRegressor:
        cases.append((np.array(["a"] * n), r"y must hold numeric targets"))
    else:
        cases.append((np.array(["a"] * n), r"y holds labels of dtype <U1"))
    return cases


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_score_names_a_bad_y(Estimator):
    X, y = _data(Estimator)
    model = Estimator(max_iter=5, tol=None, random_state=0).fit(X, y)
    for bad, message in _bad_targets(Estimator, y):
        with pytest.raises(ValueError, match=message):
            model.score(X, bad)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_score_names_bad_weights_as_fit_does(Estimator):
    X, y = _data(Estimator)
    model = Estimator(max_iter=5, tol=None, random_state=0).fit(X, y)
    ones = np.ones(len(y))
    with_nan = ones.copy()
    with_nan[4] = np.nan
    bad_weights = (ones[:-1], with_nan, -ones, 0 * ones, ones[:, None] * [1, 1])
    for bad in (*bad_weights, ["a"] * len(y)):
        with pytest.raises(ValueError) as fitting:
            Estimator(max_iter=5, tol=None).fit(X, y, sample_weight=bad)
        with pytest.raises(ValueError) as scoring:
            model.score(X, y, sample_weight=bad)
        assert "sample_weight" in str(scoring.value) or "Sample weights" in str(
            scoring.value
        )
        assert str(scoring.value) == str(fitting.value)  # the same check
    # valid weights, a scalar among them, score as before
    assert model.score(X, y, sample_weight=2.0) == model.score(X, y)
    weights = np.arange(len(y)) % 3 + 1.0
    assert model.score(X, y, sample_weight=weights) == pytest.approx(
        model.score(X, y, sample_weight=list(weights))
    )


# -- one DivergenceError family: every "the fit cannot go on numerically" ------
# (the weight decay and float32 coefficient overflow: tests/test_hardening.py)


def _overflowing_float32(Estimator):
    """float32 data on which a huge step fits finite float64 iterates."""
    X, y = _data(Estimator, n=50)
    return (10 * X).astype(np.float32), y


def test_a_model_predicting_infinity_on_its_training_data_is_refused():
    """float32 coefficients that fit float32 but whose products with X do not
    (before: ``decision_function`` returned ±inf for 23 of the 50 rows)."""
    X, y = _overflowing_float32(BackwardSGDClassifier)
    model = BackwardSGDClassifier(
        eta0=1e36, penalty=None, max_iter=5, tol=None, random_state=0
    )
    with pytest.raises(sklearn_order.DivergenceError, match="predictions on its"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    # the same fit in float64 predicts finitely: it is kept
    model.fit(X.astype(np.float64), y)
    assert np.all(np.isfinite(model.decision_function(X.astype(np.float64))))


def test_partial_fit_divergence_names_the_pass_not_a_map_count():
    X, y = _data(BackwardSGDRegressor, n=80)
    model = BackwardSGDRegressor(eta0=0.05, order="forward", random_state=0)
    model.partial_fit(X, y).partial_fit(X, y)
    with pytest.raises(sklearn_order.DivergenceError) as error:
        model.partial_fit(X * 100, y)
    message = str(error.value)
    # before: "SGD diverged in epoch 161"
    assert "in this partial_fit pass (after 160 earlier update maps)" in message
    assert "epoch" not in message


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_max_iter_beyond_the_map_budget_is_a_value_error(order):
    X, y = _data(BackwardSGDRegressor)
    model = BackwardSGDRegressor(max_iter=10**15, tol=None, order=order)
    # before: NumPy's MemoryError ("Unable to allocate 7.11 PiB")
    with pytest.raises(ValueError, match=r"max_iter=1000000000000000 .*2\*\*53"):
        model.fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_warm_start_refit_the_data_no_longer_fits_names_the_previous_fit(Estimator):
    """Before: "coef_init has shape (3, 3); expected (3,)", naming a parameter
    the caller never passed."""
    X, _ = _data(Estimator, n=60)
    y = np.arange(60) % 3
    model = Estimator(warm_start=True, random_state=0).fit(X, y)
    if Estimator is BackwardSGDClassifier:
        X_new, y_new = X, y % 2  # fewer classes
    else:
        X_new, y_new = X[:, :2], y  # fewer features
    with pytest.raises(ValueError) as error:
        model.fit(X_new, y_new)
    message = str(error.value)
    assert message.startswith("the previous fit's coef_ (warm_start=True) has shape")
    assert "coef_init" not in message
    assert "set warm_start=False" in message
    # a coef_init the caller does pass is still named as such
    with pytest.raises(ValueError, match=r"^coef_init has shape \(7,\)"):
        model.fit(X_new, y_new, coef_init=np.zeros(7))
