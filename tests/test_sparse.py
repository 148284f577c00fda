"""Sparse (CSR) input: the same numbers give the same model as dense input."""

import time
import warnings

import numpy as np
import pytest
from numba.core import event
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order._validation import with_kernel_indices
from sklearn_order.losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

PENALTIES = [None, "l2", "l1", "elasticnet"]
CASES = [(BackwardSGDClassifier, loss) for loss in CLASSIFICATION_LOSSES] + [
    (BackwardSGDRegressor, loss) for loss in REGRESSION_LOSSES
]


def _relative_error(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def _data(Estimator, rng, n=60, d=15, density=0.3, n_classes=3):
    """Scaled, mostly-zero features; labels or targets from a linear model."""
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    score = X @ rng.normal(size=d)
    if Estimator is BackwardSGDRegressor:
        return X, score + 0.1 * rng.normal(size=n)
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    return X, np.digitize(score, cuts)


def _fit_quietly(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of short fits
        return model.fit(X, y, **kwargs)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("Estimator, loss", CASES)
def test_sparse_and_dense_inputs_give_the_same_model(
    Estimator, loss, penalty, order, rng
):
    X, y = _data(Estimator, rng)
    params = dict(
        loss=loss,
        order=order,
        penalty=penalty,
        alpha=0.01,
        eta0=0.05,
        batch_size=4,
        max_iter=6,
        random_state=0,
    )
    dense = _fit_quietly(Estimator(**params), X, y)
    csr = _fit_quietly(Estimator(**params), sparse.csr_matrix(X), y)
    assert csr.n_iter_ == dense.n_iter_
    assert _relative_error(csr.coef_, dense.coef_) < 1e-9
    assert _relative_error(csr.intercept_, dense.intercept_) < 1e-9
    assert_allclose(csr.predict(sparse.csr_matrix(X)), dense.predict(X), atol=1e-9)


@pytest.mark.parametrize(
    "container", [sparse.csr_array, sparse.csc_matrix, sparse.coo_array]
)
def test_other_sparse_containers_are_converted(container, rng):
    X, y = _data(BackwardSGDClassifier, rng)
    params = dict(random_state=0, max_iter=5, tol=None)
    dense = BackwardSGDClassifier(**params).fit(X, y)
    converted = BackwardSGDClassifier(**params).fit(container(X), y)
    assert _relative_error(converted.coef_, dense.coef_) < 1e-9
    assert_array_equal(converted.predict(container(X)), dense.predict(X))
    assert_allclose(
        converted.predict_proba(container(X)), dense.predict_proba(X), rtol=1e-9
    )


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_float32_sparse_agrees_with_float64(Estimator, order, rng):
    X, y = _data(Estimator, rng, n=200, d=20)
    params = dict(order=order, random_state=0, max_iter=5, tol=None, batch_size=8)
    single = Estimator(**params).fit(sparse.csr_matrix(X, dtype=np.float32), y)
    double = Estimator(**params).fit(sparse.csr_matrix(X), y)
    assert single.coef_.dtype == np.float32
    assert _relative_error(single.coef_, double.coef_) < 1e-4


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_64_bit_indices_train_as_32_bit_ones(order, rng):
    X, y = _data(BackwardSGDRegressor, rng)
    narrow = sparse.csr_matrix(X)
    wide = narrow.copy()
    # assigned: SciPy's constructor would narrow them itself
    wide.indices, wide.indptr = (
        wide.indices.astype(np.int64),
        wide.indptr.astype(np.int64),
    )
    params = dict(order=order, random_state=0, max_iter=5, tol=None)
    a = BackwardSGDRegressor(**params).fit(narrow, y)
    with event.install_recorder("numba:compile") as recorder:
        b = BackwardSGDRegressor(**params).fit(wide, y)
    assert_array_equal(a.coef_, b.coef_)
    # the kernels of the 32-bit fit serve it: one variant per index dtype less
    assert not recorder.buffer
    assert wide.indices.dtype == np.int64  # the caller's matrix is left alone


def test_kernel_indices_are_32_bit_where_they_fit():
    X = sparse.csr_matrix(np.eye(3))
    X.indices = X.indices.astype(np.int64)  # mixed dtypes
    narrowed = with_kernel_indices(X)
    assert narrowed.indices.dtype == narrowed.indptr.dtype == np.int32
    assert with_kernel_indices(narrowed) is narrowed
    # 2**31 columns: column indices need 64 bits, and so get the row pointers
    wide = sparse.csr_matrix((3, 2**31 + 1))
    wide.indices, wide.indptr = (
        np.array([2**31], dtype=np.int64),
        np.array([0, 1, 1, 1], dtype=np.int32),
    )
    wide.data = np.ones(1)
    widened = with_kernel_indices(wide)
    assert widened.indices.dtype == widened.indptr.dtype == np.int64
    assert_array_equal(widened.indices, [2**31])


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_nan_in_sparse_data_is_rejected(Estimator, rng):
    X, y = _data(Estimator, rng)
    X = sparse.csr_matrix(X)
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator().fit(X, y)
    model = Estimator(max_iter=2, tol=None).fit(np.nan_to_num(X.toarray()), y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_lazy_scale_is_folded_before_it_underflows(order, rng):
    """With strong decay the lazy scale drops below 1e-9 many times per fit."""
    X, y = _data(BackwardSGDRegressor, rng, n=400)
    # decay 1 - eta0 * alpha = 0.9 per map: the scale reaches 1e-9 every ~200 maps
    params = dict(
        order=order, alpha=1.0, eta0=0.1, max_iter=3, tol=None, random_state=0
    )
    dense = BackwardSGDRegressor(**params).fit(X, y)
    csr = BackwardSGDRegressor(**params).fit(sparse.csr_matrix(X), y)
    assert np.all(np.isfinite(csr.coef_))
    assert _relative_error(csr.coef_, dense.coef_) < 1e-9


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_partial_fit_on_sparse_chunks_equals_dense(Estimator, rng):
    X, y = _data(Estimator, rng, n=90)
    kwargs = {"classes": np.unique(y)} if Estimator is BackwardSGDClassifier else {}
    dense, csr = Estimator(random_state=0), Estimator(random_state=0)
    for chunk in np.array_split(np.arange(len(y)), 3):
        dense.partial_fit(X[chunk], y[chunk], **kwargs)
        csr.partial_fit(sparse.csr_matrix(X[chunk]), y[chunk], **kwargs)
    assert _relative_error(csr.coef_, dense.coef_) < 1e-9


@pytest.mark.parametrize(
    "params",
    [
        dict(sampling="grab"),
        dict(sampling="grab", order="forward"),
        dict(order="forward", average=10),
        dict(order="forward", early_stopping=True),
        dict(early_stopping=True),
        dict(multi_class="multinomial"),
        dict(multi_class="multinomial", order="forward", average=True),
    ],
    ids=str,
)
def test_sparse_input_with_every_option(params, rng):
    X, y = _data(BackwardSGDClassifier, rng, n=80)
    model = BackwardSGDClassifier(random_state=0, max_iter=8, **params)
    dense = _fit_quietly(model, X, y)
    dense_coef, dense_iter = dense.coef_.copy(), dense.n_iter_
    csr = _fit_quietly(model, sparse.csr_matrix(X), y)
    assert csr.n_iter_ == dense_iter
    assert _relative_error(csr.coef_, dense_coef) < 1e-9


@pytest.mark.parametrize("average", [False, True])
def test_update_cost_follows_the_non_zeros_not_n_features(average, rng):
    """An update touches a row's non-zeros only (L2 kept as a lazy scale).

    2,000 rows × 10 non-zeros: 1,000 times more features cost about the same
    time (an O(n_features) update would cost ~1,000 times more). With
    ``average`` the running mean is kept lazily too.
    """

    def seconds(n_features):
        X = sparse.random(
            2000,
            n_features,
            density=10 / n_features,
            format="csr",
            # a Generator: with a legacy seed SciPy draws the positions from a
            # permutation of all n_samples × n_features cells (15 GiB here)
            random_state=np.random.default_rng(0),
            data_rvs=np.random.default_rng(1).standard_normal,
        )
        y = np.asarray(X.sum(axis=1)).ravel() > 0
        model = BackwardSGDClassifier(
            order="forward", average=average, max_iter=3, tol=None
        )
        model.fit(X[:50], y[:50])  # compile
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start

    small, large = seconds(1_000), seconds(1_000_000)
    assert large < 50 * small + 0.5


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_trajectories_on_sparse_input_equal_dense(loss, rng):
    from sklearn_order.diagnostics import trajectory

    X, y = _data(BackwardSGDRegressor, rng, n=30)
    model = BackwardSGDRegressor(loss=loss, random_state=0)
    dense = trajectory(model, X, y, n_steps=60, every=20)
    csr = trajectory(model, sparse.csr_matrix(X), y, n_steps=60, every=20)
    assert csr.method == "coupling"  # the affine path is for dense X
    assert_allclose(csr.coef, dense.coef, rtol=1e-9, atol=1e-12)
    if loss == "squared_error":
        with pytest.raises(ValueError, match="dense X"):
            trajectory(model, sparse.csr_matrix(X), y, n_steps=60, method="affine")


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_malformed_sparse_structure_is_rejected(Estimator, rng):
    X, y = _data(Estimator, rng)
    X = sparse.csr_matrix(X)
    bad_column = X.copy()
    bad_column.indices[0] = X.shape[1] + 5  # beyond n_features
    with pytest.raises(ValueError, match="malformed sparse matrix"):
        Estimator().fit(bad_column, y)
    negative = X.copy()
    negative.indices[1] = -1
    with pytest.raises(ValueError, match="malformed sparse matrix"):
        Estimator().fit(negative, y)
    decreasing = X.copy()
    decreasing.indptr[2] = decreasing.indptr[4] + 1
    with pytest.raises(ValueError, match="malformed sparse matrix: indptr"):
        Estimator().fit(decreasing, y)
    past_the_end = X.copy()
    past_the_end.indptr[-1] = X.nnz + 1
    with pytest.raises(ValueError, match="malformed sparse matrix: indptr"):
        Estimator().fit(past_the_end, y)


def test_structure_check_leaves_the_matrix_alone(rng):
    X, y = _data(BackwardSGDClassifier, rng)
    X = sparse.csr_matrix(X)
    # mixed index dtypes: SciPy's full check_format would replace both index
    # arrays of the caller's matrix (recasting indptr to int64)
    X.indices = X.indices.astype(np.int64)
    arrays = (X.data, X.indices, X.indptr)
    copies = [a.copy() for a in arrays]
    BackwardSGDClassifier(max_iter=2, tol=None).fit(X, y)
    for array, original, copy in zip((X.data, X.indices, X.indptr), arrays, copies):
        assert array is original
        assert_array_equal(array, copy)
