"""Estimator behaviour a scikit-learn user relies on."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_predict_proba(iris, loss, order):
    X, y = iris
    model = BackwardSGDClassifier(
        loss=loss, order=order, alpha=0.01, eta0=0.01, random_state=0
    )
    model.fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(np.exp(model.predict_log_proba(X)), proba, atol=1e-12)
    assert model.score(X, y) > 0.85
    binary = BackwardSGDClassifier(
        loss=loss, order=order, alpha=0.01, eta0=0.01, random_state=0
    )
    binary.fit(X, y == 2)
    proba = binary.predict_proba(X)
    assert proba.shape == (150, 2)
    assert_array_equal(binary.classes_[proba.argmax(axis=1)], binary.predict(X))


def test_no_predict_proba_for_hinge(iris):
    model = BackwardSGDClassifier(loss="hinge")
    assert not hasattr(model, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba") as error:
        model.predict_proba(iris[0])
    assert "not available for loss='hinge'" in str(error.value.__cause__)


def test_fitted_attributes(iris):
    X, y = iris
    model = BackwardSGDClassifier(batch_size=7, alpha=0.01, random_state=0).fit(X, y)
    assert model.coef_.shape == (3, 4)
    assert model.intercept_.shape == (3,)
    assert_array_equal(model.classes_, [0, 1, 2])
    assert model.n_features_in_ == 4
    assert model.t_ == model.n_iter_ * 22  # ceil(150 / 7) maps per epoch
    reg = BackwardSGDRegressor(random_state=0).fit(X[:, 1:], X[:, 0])
    assert reg.coef_.shape == (3,)
    assert reg.intercept_.shape == (1,)
    assert reg.predict(X[:, 1:]).shape == (150,)


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_float32_input_keeps_float32_coefficients(iris, Estimator):
    X, y = iris
    X32 = X.astype(np.float32)
    target = y if Estimator is BackwardSGDClassifier else X[:, 0]
    m32 = Estimator(random_state=0, alpha=0.01, tol=None, max_iter=5).fit(X32, target)
    m64 = Estimator(random_state=0, alpha=0.01, tol=None, max_iter=5).fit(
        X32.astype(np.float64), target
    )
    assert m32.coef_.dtype == np.float32
    assert m32.intercept_.dtype == np.float32
    # the parameters are computed in float64 either way
    assert_allclose(m32.coef_, m64.coef_, rtol=1e-6)


def test_pipeline_and_grid_search_over_order(iris):
    X, y = iris
    pipe = Pipeline(
        [("scale", StandardScaler()), ("sgd", BackwardSGDClassifier(random_state=0))]
    )
    grid = GridSearchCV(
        pipe,
        {"sgd__order": ["forward", "backward"], "sgd__alpha": [1e-3, 1e-2]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["sgd__order"] in ("forward", "backward")
    assert len(grid.cv_results_["params"]) == 4
    assert grid.score(X, y) > 0.85


def test_same_random_state_gives_bit_identical_coefficients(iris):
    X, y = iris
    a = BackwardSGDClassifier(random_state=3, batch_size=4).fit(X, y)
    b = BackwardSGDClassifier(random_state=3, batch_size=4).fit(X, y)
    c = BackwardSGDClassifier(random_state=4, batch_size=4).fit(X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert not np.array_equal(a.coef_, c.coef_)


def test_threads_over_classes_do_not_change_the_result(iris):
    X, y = iris
    one = BackwardSGDClassifier(random_state=0, n_jobs=1).fit(X, y)
    two = BackwardSGDClassifier(random_state=0, n_jobs=2).fit(X, y)
    assert one.coef_.tobytes() == two.coef_.tobytes()


def test_import_compiles_nothing():
    code = textwrap.dedent(
        """
        import sklearn_order
        from sklearn_order.kernels import cpu
        from sklearn_order._cache import package_kernels
        from sklearn_order import losses, sampling
        kernels = (cpu.apply_steps.kernel, cpu.apply_update_map.kernel,
                   losses.loss_derivative, sampling.fill_epoch_order)
        compiled = [f.signatures for f in kernels]
        assert compiled == [[], [], [], []], compiled
        compiled = [f for f in package_kernels() if f.signatures]
        assert compiled == [], compiled
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_warm_start_continues_from_the_previous_solution(order):
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = y / y.std()
    params = dict(order=order, sampling="cyclic", tol=None, batch_size=6)
    warm = BackwardSGDRegressor(warm_start=True, max_iter=1, **params)
    warm.fit(X, y).fit(X, y)
    # cyclic epochs are identical maps, so two warm one-epoch fits compose
    # into one two-epoch fit
    cold = BackwardSGDRegressor(max_iter=2, **params).fit(X, y)
    assert_allclose(warm.coef_, cold.coef_, rtol=1e-12)
    restarted = BackwardSGDRegressor(warm_start=False, max_iter=1, **params)
    assert not np.allclose(restarted.fit(X, y).fit(X, y).coef_, cold.coef_)


def test_class_and_sample_weights_shift_the_boundary():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    base = BackwardSGDClassifier(random_state=0, alpha=0.01).fit(X, y)
    heavy = BackwardSGDClassifier(
        random_state=0, alpha=0.01, class_weight={0: 1.0, 1: 10.0}
    ).fit(X, y)
    assert (heavy.predict(X) == 1).sum() > (base.predict(X) == 1).sum()
    weights = np.where(y == 1, 10.0, 1.0)
    by_sample = BackwardSGDClassifier(random_state=0, alpha=0.01).fit(
        X, y, sample_weight=weights
    )
    assert_allclose(by_sample.coef_, heavy.coef_, rtol=1e-12)
    balanced = BackwardSGDClassifier(
        random_state=0, alpha=0.01, class_weight="balanced"
    ).fit(X, y)
    assert balanced.score(X, y) > 0.8


def test_dataframe_feature_names_are_kept_and_checked():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(
        n_samples=50, n_features=3, n_informative=2, n_redundant=0, random_state=0
    )
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = BackwardSGDClassifier(random_state=0).fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[["c", "b", "a"]])


def test_verbose_reports_progress(capsys, iris):
    X, y = iris
    BackwardSGDClassifier(verbose=1, random_state=0, max_iter=4).fit(X, y == 0)
    assert "Backward iterate at 2 epochs" in capsys.readouterr().out
    BackwardSGDClassifier(order="forward", verbose=1, random_state=0, max_iter=2).fit(
        X, y == 0
    )
    assert "-- Epoch 2" in capsys.readouterr().out
