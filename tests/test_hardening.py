"""Hostile data, concurrency, determinism, persistence and read-only installs."""

import contextlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from joblib import parallel_backend
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.model_selection import GridSearchCV

import sklearn_order
from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, DivergenceError
from sklearn_order._cache import COMPILE_NOTICE, UNCACHED_COMPILE_NOTICE

DATA = Path(__file__).with_name("data")
PACKAGE = Path(sklearn_order.__file__).parent


def _binary(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)


# -- hostile data -------------------------------------------------------------


@pytest.mark.parametrize("where", ["X", "y", "sample_weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_anywhere_are_rejected(where, bad):
    X, y = _binary()
    args = {"X": X.copy(), "y": y.astype(float), "sample_weight": np.ones(len(y))}
    args[where][5] = bad
    with pytest.raises(ValueError, match="NaN|infinity|finite"):
        BackwardSGDRegressor().fit(
            args["X"], args["y"], sample_weight=args["sample_weight"]
        )


def test_extreme_feature_scales():
    X, y = _binary()
    # bounded loss derivative: the model scales with the data and still works
    model = BackwardSGDClassifier(random_state=0, max_iter=5, tol=None)
    assert model.fit(X * 1e150, y).score(X * 1e150, y) > 0.7
    assert np.all(np.isfinite(model.coef_))
    # unbounded derivative: the default step is sized by the data and fits;
    # a fixed step diverges, with a clear error that names the remedy
    regressor = BackwardSGDRegressor(random_state=0).fit(X * 1e150, X[:, 0])
    assert regressor.score(X * 1e150, X[:, 0]) > 0.9
    with pytest.raises(ValueError, match="Scale the data"):
        BackwardSGDRegressor(eta0=0.01, random_state=0).fit(X * 1e150, X[:, 0])
    # squared norms beyond float64: eta0="auto" cannot size a step
    with pytest.raises(ValueError, match="eta0='auto'.*overflow"):
        BackwardSGDRegressor(random_state=0).fit(X * 1e200, X[:, 0])
    tiny = BackwardSGDClassifier(random_state=0, max_iter=5, tol=None).fit(
        X * 1e-150, y
    )
    assert np.all(np.isfinite(tiny.coef_))


def test_float32_overflow_is_an_error_not_an_infinite_model():
    """A DivergenceError, so ``except DivergenceError`` catches it (before: a
    plain ValueError)."""
    X, y = _binary()
    model = BackwardSGDClassifier(
        penalty=None, eta0=1e30, max_iter=5, tol=None, random_state=0
    )
    with pytest.raises(DivergenceError, match="overflow float32"):
        model.fit((X * 1e30).astype(np.float32), y)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_a_weight_decay_that_zeroes_the_weights_is_an_error(Estimator):
    """A DivergenceError (before: a plain ValueError)."""
    X, y = _binary()
    with pytest.raises(DivergenceError, match="would set the weights to zero"):
        Estimator(alpha=0.1, eta0=10.0).fit(X, y)


def test_constant_and_duplicate_columns():
    X, y = _binary()
    X_extra = np.column_stack([X, np.ones(len(y)), X[:, 0]])
    model = BackwardSGDClassifier(random_state=0, alpha=0.01).fit(X_extra, y)
    assert np.all(np.isfinite(model.coef_))
    assert_allclose(model.coef_[0, 3], 0.0, atol=1.0)  # a constant column
    assert model.score(X_extra, y) > 0.8


def test_sample_weights_all_zero_or_negative():
    X, y = _binary()
    with pytest.raises(ValueError, match="non-zero"):
        BackwardSGDClassifier().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="Negative"):
        BackwardSGDClassifier().fit(X, y, sample_weight=-np.ones(len(y)))


def test_a_class_with_one_sample():
    X, _ = _binary()
    y = np.zeros(len(X), dtype=int)
    y[7] = 1
    model = BackwardSGDClassifier(random_state=0, max_iter=5, tol=None).fit(X, y)
    assert_array_equal(model.classes_, [0, 1])
    assert set(model.predict(X)) <= {0, 1}


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: np.where(y == 1, "spam", "ham"),
        lambda y: y.astype(bool),
        lambda y: __import__("pandas").Categorical(np.where(y == 1, "b", "a")),
    ],
    ids=["strings", "booleans", "categorical"],
)
def test_label_types(labels):
    pytest.importorskip("pandas")
    X, y = _binary()
    target = labels(y)
    model = BackwardSGDClassifier(random_state=0, max_iter=5, tol=None).fit(X, target)
    predicted = model.predict(X)
    assert predicted.shape == (len(y),)
    assert set(predicted) <= set(np.asarray(target))


def test_layouts_and_readonly_memmap_give_the_same_model(tmp_path):
    X, y = _binary()
    params = dict(random_state=0, max_iter=5, tol=None)
    reference = BackwardSGDClassifier(**params).fit(X, y).coef_
    path = tmp_path / "X.npy"
    np.save(path, X)
    for variant in (
        np.asfortranarray(X),  # F-ordered
        np.repeat(X, 2, axis=0)[::2],  # non-contiguous rows
        np.column_stack([X, X])[:, :3],  # non-contiguous columns
        np.load(path, mmap_mode="r"),  # read-only memmap
    ):
        assert_array_equal(
            BackwardSGDClassifier(**params).fit(variant, y).coef_, reference
        )


# -- concurrency and determinism ------------------------------------------------


def test_two_estimators_fitted_in_two_threads_equal_serial_fits():
    X, y = _binary(n=2000, d=10)
    models = [
        BackwardSGDClassifier(random_state=0, batch_size=2, max_iter=20, tol=None),
        BackwardSGDRegressor(order="forward", random_state=1, max_iter=20, tol=None),
    ]
    targets = [y, X[:, 0]]
    serial = [m.fit(X, t).coef_.copy() for m, t in zip(models, targets)]
    threads = [
        threading.Thread(target=m.fit, args=(X, t)) for m, t in zip(models, targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for model, coef in zip(models, serial):
        assert_array_equal(model.coef_, coef)


def test_one_estimator_fitted_from_four_threads_ends_with_one_complete_fit():
    # four data sets of different widths; each thread fits the one estimator
    # on its own: afterwards the state is that of one of the four fits,
    # never a mixture (coef_ of one width, n_features_in_ of another)
    widths = (3, 5, 8, 13)
    data = []
    for d in widths:
        X, y = _binary(n=300, d=d, seed=d)
        data.append((X, y))
    params = dict(random_state=0, max_iter=3, tol=None, batch_size=4)
    fits = [BackwardSGDClassifier(**params).fit(X, y) for X, y in data]
    for trial in range(20):
        model = BackwardSGDClassifier(**params)
        barrier = threading.Barrier(len(data))
        errors = []

        def fit(X, y, model=model, barrier=barrier, errors=errors):
            barrier.wait()
            try:
                model.fit(X, y)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=fit, args=pair) for pair in data]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert model.coef_.shape[-1] == model.n_features_in_, f"trial {trial}"
        (winner,) = [f for f in fits if f.n_features_in_ == model.n_features_in_]
        assert_array_equal(model.coef_, winner.coef_)
        assert_array_equal(model.intercept_, winner.intercept_)
        assert (model.n_iter_, model.t_) == (winner.n_iter_, winner.t_)
        X, _ = data[widths.index(model.n_features_in_)]
        assert_array_equal(model.predict(X), winner.predict(X))


def test_a_failed_fit_from_another_thread_leaves_the_fitted_state():
    X, y = _binary()
    model = BackwardSGDClassifier(random_state=0, max_iter=3, tol=None).fit(X, y)
    coef = model.coef_.copy()
    raised = []

    def bad_fit():
        try:
            model.fit(X[:, :2], y[:1])  # inconsistent lengths
        except ValueError as error:
            raised.append(error)

    worker = threading.Thread(target=bad_fit)
    worker.start()
    worker.join()
    assert len(raised) == 1
    assert_array_equal(model.coef_, coef)
    assert model.n_features_in_ == X.shape[1]


_FIT_AND_PRINT = textwrap.dedent(
    """
    import numpy as np
    from sklearn_order import BackwardSGDClassifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)); y = rng.integers(0, 3, size=300)
    for order in ("forward", "backward"):
        for sampling in ("reshuffle", "grab"):
            model = BackwardSGDClassifier(order=order, sampling=sampling, batch_size=3,
                                          max_iter=10, tol=None, random_state=11)
            print(model.fit(X, y).coef_.tobytes().hex())
    """
)


def test_bit_identical_across_processes_with_and_without_the_numba_cache(tmp_path):
    in_this_process = io.StringIO()
    with contextlib.redirect_stdout(in_this_process):
        exec(_FIT_AND_PRINT, {})
    in_process = in_this_process.getvalue()
    with_cache = subprocess.run(
        [sys.executable, "-c", _FIT_AND_PRINT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fresh_cache = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _FIT_AND_PRINT],
            env=fresh_cache,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)  # compiled from scratch, then loaded from that cache
    ]
    assert outputs[0] == outputs[1] == with_cache == in_process
    assert len(in_process.split()) == 4


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_grid_search_with_threads_or_processes_equals_serial(backend):
    X, y = _binary(n=90)
    grid = {"order": ["forward", "backward"], "eta0": [0.01, 0.1]}
    estimator = BackwardSGDClassifier(random_state=0, max_iter=30, tol=None)
    serial = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    with parallel_backend(backend, n_jobs=2):
        parallel = GridSearchCV(estimator, grid, cv=3, n_jobs=2).fit(X, y)
    assert serial.best_params_ == parallel.best_params_
    assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert_array_equal(serial.best_estimator_.coef_, parallel.best_estimator_.coef_)


# -- persistence ------------------------------------------------------------------


def test_pickle_and_joblib_round_trip_in_a_fresh_process(tmp_path):
    X, y = _binary()
    model = BackwardSGDClassifier(random_state=0, max_iter=10, tol=None).fit(X, y)
    pickled = pickle.dumps(model)
    assert b"numba" not in pickled and b"Dispatcher" not in pickled
    assert len(pickled) < 2000 + model.coef_.nbytes  # parameters, arrays, no code
    (tmp_path / "model.pkl").write_bytes(pickled)
    joblib.dump(model, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(
        f"""
        import pickle, joblib, numpy as np
        X = np.load({str(tmp_path / "X.npy")!r})
        a = pickle.loads(open({str(tmp_path / "model.pkl")!r}, "rb").read())
        b = joblib.load({str(tmp_path / "model.joblib")!r})
        for model in (a, b):
            print(model.decision_function(X).tobytes().hex())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    expected = model.decision_function(X).tobytes().hex()
    assert out == [expected, expected]


def test_model_pickled_by_an_earlier_version_still_loads():
    paths = sorted(DATA.glob("models_v*.pkl"))
    assert paths
    for path in paths:
        with warnings.catch_warnings():
            # a fixture pickled under another scikit-learn version says so
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            fixture = pickle.loads(path.read_bytes())
        X = fixture["X"]
        assert_allclose(
            fixture["classifier"].predict_proba(X), fixture["classifier_proba"]
        )
        assert_allclose(
            fixture["regressor"].predict(X), fixture["regressor_prediction"]
        )
        # parameters added since that version take their defaults
        assert fixture["classifier"].get_params()["multi_class"] == "ovr"
        assert fixture["regressor"].get_params()["device"] == "cpu"
        clone(fixture["classifier"]).fit(X, fixture["classifier"].predict(X))


# -- read-only install ---------------------------------------------------------------

_READ_ONLY_RUN = textwrap.dedent(
    """
    import numpy as np
    import sklearn_order
    from sklearn_order import BackwardSGDClassifier
    X = np.random.default_rng(0).normal(size=(50, 3)); y = X[:, 0] > 0
    BackwardSGDClassifier(max_iter=2, tol=None).fit(X, y)
    print("ok", sklearn_order.__file__)
    """
)


def _run_read_only(tmp_path, code, env):
    """Run ``code`` with a fresh copy of the package installed read-only at its path.

    In a private mount namespace the copy (no compiled cache) is shown at the
    package's own path, read-only, so imports resolve as installed. ``env``
    replaces the environment; skips where no mount namespace can be made.
    """
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs unshare and mount to make a read-only bind mount")
    site = tmp_path / "site"
    if not site.exists():
        shutil.copytree(
            PACKAGE,
            site / "sklearn_order",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    (tmp_path / "run.py").write_text(code)
    script = (
        f"mount --bind {site / 'sklearn_order'} {PACKAGE} && "
        f"mount -o remount,bind,ro {PACKAGE} && "
        f"touch {PACKAGE}/probe 2>/dev/null && echo writable || "
        f"{sys.executable} -W error {tmp_path / 'run.py'}"
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        env={**env, "PYTHONPATH": str(PACKAGE.parent), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "unshare" in result.stderr:
        pytest.skip(f"cannot make a mount namespace here: {result.stderr.strip()}")
    return result


def test_read_only_install_compiles_and_caches_elsewhere(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("NUMBA_CACHE_DIR", None)
    # the second run loads what the first one cached
    runs = [_run_read_only(tmp_path, _READ_ONLY_RUN, env) for _ in range(2)]
    for result in runs:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok " + str(PACKAGE)), result.stdout
    # no warnings (they would be errors: -W error); the first run says it compiles
    assert runs[0].stderr == COMPILE_NOTICE + "\n"
    assert runs[1].stderr == ""
    assert any(cache.rglob("*.nbi")), "numba cached nothing in the user cache"


_NOTHING_WRITABLE_RUN = textwrap.dedent(
    """
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import numpy as np
        from sklearn_order import BackwardSGDClassifier
        X = np.random.default_rng(0).normal(size=(50, 3)); y = X[:, 0] > 0
        model = BackwardSGDClassifier(max_iter=2, tol=None, random_state=0).fit(X, y)
    for warning in caught:
        if "sklearn_order" in str(warning.message):
            print("warning", warning.category.__name__, str(warning.message))
    print("coef", model.coef_.tobytes().hex())
    """
)


def test_read_only_install_without_any_writable_cache_compiles_in_memory(tmp_path):
    # a container's arbitrary user: no writable home, no cache directory set
    env = {**os.environ, "HOME": str(PACKAGE / "home")}
    for name in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    result = _run_read_only(tmp_path, _NOTHING_WRITABLE_RUN, env)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stdout.splitlines() if line.startswith("warning")]
    assert len(warned) == 1, result.stdout
    assert warned[0].startswith("warning RuntimeWarning sklearn_order: no writable")
    assert "compiled in memory" in warned[0]
    assert result.stderr.count(UNCACHED_COMPILE_NOTICE) == 1, result.stderr
    X = np.random.default_rng(0).normal(size=(50, 3))
    model = BackwardSGDClassifier(max_iter=2, tol=None, random_state=0)
    expected = model.fit(X, X[:, 0] > 0).coef_.tobytes().hex()
    assert result.stdout.splitlines()[-1] == "coef " + expected
