"""Polyak–Ruppert averaging (``average``) for the forward order.

Its equality with scikit-learn's ``average`` is tested with the other
comparisons, in ``test_sklearn_equivalence.py``.
"""

import numpy as np
import pytest
import reference
from conftest import EPSILON, update_rule
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.kernels import (
    Average,
    Model,
    UpdateRule,
    step_records,
)
from sklearn_order.kernels.cpu import (
    apply_steps,
    apply_update_map,
    copy_average,
    fold_average,
    prepare_average,
    update_average,
)
from sklearn_order.kernels.dispatch import specialize
from sklearn_order.kernels.storage import kernel_rows
from sklearn_order.losses import MULTINOMIAL_LOG_LOSS, loss_parameter
from sklearn_order.penalties import penalty_strengths
from sklearn_order.sampling import SAMPLINGS, n_batches
from sklearn_order.schedules import CONSTANT

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


# -- the running mean against the plain mean of the reference's iterates ------
# On CSR rows the kernel keeps the mean lazily (kernels.cpu.update_average),
# on dense rows it updates it every map: both must give the plain mean.


def _sparse_data(rng, n=37, d=12, density=0.3):
    """Gaussian rows, most entries zero (dense array; the tests pick the storage)."""
    return rng.normal(size=(n, d)) * (rng.random((n, d)) < density)


def _averaged_kernel_run(
    X, y, s, rule, w0, b0, *, batch_size, seed, epochs, eta, start, calls
):
    """``apply_steps`` over ``epochs`` epochs in ``calls`` calls sharing one average.

    Returns the running mean (weights then intercepts) and the last iterate.
    """
    n_outputs = len(b0)
    coef, intercept = np.array(w0, dtype=np.float64).ravel(), np.array(b0, float)
    mean = np.zeros(coef.size + n_outputs)
    average = Average(start, mean, np.zeros(3))
    maps = epochs * n_batches(len(y), batch_size)
    bounds = np.linspace(0, maps, calls + 1).astype(int)
    for first, last in zip(bounds[:-1], bounds[1:]):
        status, _ = apply_steps(
            *step_records(
                X,
                y,
                s,
                coef,
                intercept,
                rule,
                scheme=SAMPLINGS["reshuffle"],
                seed=seed,
                batch_size=batch_size,
                first_step=int(first),
                n_steps=int(last - first),
                reverse=False,
                eta=eta,
                average=average,
            )
        )
        assert status == 0
        # between calls the record holds the mean itself, nothing pending
        assert average.lazy[0] == 0.0
    return mean, coef, intercept


def _reference_mean(X, y, s, w0, b0, *, batch_size, seed, epochs, start, **rule):
    batches = reference.batch_sequence("reshuffle", len(y), batch_size, seed, epochs)
    W, B = reference.forward_iterates(X, y, s, batches, w0, b0, **rule)
    return reference.running_mean(W, start), reference.running_mean(B, start), W[-1]


def _kernel_rule(loss, penalty, alpha, fit_intercept, schedule=CONSTANT):
    return update_rule(
        loss, penalty, alpha=alpha, fit_intercept=fit_intercept, schedule=schedule
    )


@pytest.mark.parametrize("calls", [1, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("batch_size", [1, 4, 9])
@pytest.mark.parametrize("storage", ["csr", "dense"])
@pytest.mark.parametrize(
    "loss, penalty, alpha, eta",
    [
        ("log_loss", "l2", 0.01, 0.2),
        ("hinge", "l2", 0.05, 0.1),  # rows with a zero derivative
        ("squared_error", None, 0.0, 0.05),  # no decay
        ("log_loss", "l2", 1.0, 0.9),  # decay 0.1 a map: the mean is folded often
        ("log_loss", "elasticnet", 0.05, 0.2),  # L1: the update of dense rows
    ],
    ids=["l2", "hinge", "no-decay", "strong-decay", "elasticnet"],
)
def test_running_mean_matches_the_mean_of_the_reference_iterates(
    loss, penalty, alpha, eta, storage, batch_size, fit_intercept, calls, rng
):
    """Several epochs, sample weights, averaging from map 5; resumed across calls."""
    n, epochs, seed, start = 37, 4, 3, 5
    X = _sparse_data(rng, n)
    y = (
        rng.choice([-1.0, 1.0], size=n)
        if loss != "squared_error"
        else rng.normal(size=n)
    )
    s = rng.uniform(0.5, 2.0, size=n)
    w0, b0 = rng.normal(size=X.shape[1]), rng.normal()
    rows = kernel_rows(sparse.csr_matrix(X) if storage == "csr" else X)
    mean, coef, intercept = _averaged_kernel_run(
        rows,
        y,
        s,
        _kernel_rule(loss, penalty, alpha, fit_intercept),
        w0,
        [b0],
        batch_size=batch_size,
        seed=seed,
        epochs=epochs,
        eta=eta,
        start=start,
        calls=calls,
    )
    l2, l1 = penalty_strengths(penalty, alpha, 0.4)
    w_mean, b_mean, w_last = _reference_mean(
        X,
        y,
        s,
        w0,
        b0,
        batch_size=batch_size,
        seed=seed,
        epochs=epochs,
        start=start,
        loss=loss,
        param=loss_parameter(loss, EPSILON),
        l2=l2,
        l1=l1,
        eta=eta,
        fit_intercept=fit_intercept,
    )
    assert_allclose(coef, w_last, rtol=1e-10, atol=1e-12)
    scale = np.abs(w_mean).max()
    assert_allclose(mean[:-1], w_mean, rtol=1e-12, atol=1e-13 * scale)
    assert_allclose(mean[-1], b_mean, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("calls", [1, 3])
@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("storage", ["csr", "dense"])
def test_multinomial_running_mean_matches_reference(storage, batch_size, calls, rng):
    n, d, k, epochs, seed, start, eta = 29, 8, 3, 3, 5, 2, 0.3
    X = _sparse_data(rng, n, d)
    y = rng.integers(k, size=n).astype(np.float64)
    s = rng.uniform(0.5, 2.0, size=n)
    W0, b0 = rng.normal(size=(k, d)), rng.normal(size=k)
    l2, _ = penalty_strengths("l2", 0.05, 0.4)
    rule = UpdateRule(
        MULTINOMIAL_LOG_LOSS, 0.0, l2, 0.0, True, CONSTANT, 0.5, 0.05, 0.0, None
    )
    rows = kernel_rows(sparse.csr_matrix(X) if storage == "csr" else X)
    mean, _, _ = _averaged_kernel_run(
        rows,
        y,
        s,
        rule,
        W0,
        b0,
        batch_size=batch_size,
        seed=seed,
        epochs=epochs,
        eta=eta,
        start=start,
        calls=calls,
    )
    W_mean, b_mean, _ = _reference_mean(
        X,
        y,
        s,
        W0,
        b0,
        batch_size=batch_size,
        seed=seed,
        epochs=epochs,
        start=start,
        multinomial=True,
        l2=l2,
        l1=0.0,
        eta=eta,
    )
    assert_allclose(mean[: k * d], W_mean.ravel(), rtol=1e-12, atol=1e-13)
    assert_allclose(mean[k * d :], b_mean, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("storage", ["csr", "dense"])
def test_running_mean_follows_maps_that_zero_the_weights(storage, rng):
    """Steps with ``η l2 ≥ 1`` (decay 0) between ordinary ones, one call.

    No schedule raises the step within a call, so the maps are applied one by
    one here, with the kernel's averaging functions around each: a map that
    zeroes the weights must first fold the lazy mean.
    """
    n, d, batch_size = 20, 10, 3
    X = _sparse_data(rng, n, d)
    y, s = rng.choice([-1.0, 1.0], size=n), rng.uniform(0.5, 2.0, size=n)
    w0 = rng.normal(size=d)
    rule = _kernel_rule("log_loss", "l2", 0.5, True)
    etas = [0.1, 0.3, 0.2, 2.5, 0.1, 0.2, 0.3, 3.0, 0.05, 0.1]
    rows = kernel_rows(sparse.csr_matrix(X) if storage == "csr" else X)
    order = np.arange(n, dtype=np.int64)
    rng.shuffle(order)
    coef, intercept, scale = w0.copy(), np.zeros(1), np.ones(1)
    model = Model(coef, intercept, scale)
    average = Average(1, np.zeros(d + 1), np.zeros(3))
    work = np.empty(batch_size)
    # the averaging functions as the kernel's twin for this storage calls them
    prepare = specialize(prepare_average, storage)
    update = specialize(update_average, storage)
    batches = []
    for t, eta in enumerate(etas, start=1):
        start = (t - 1) * batch_size % n
        stop = min(start + batch_size, n)
        batches.append(order[start:stop])
        prepare(average, rows, rule, eta, model)
        status, _ = apply_update_map(
            rows, y, s, order, start, stop, model, rule, eta, work, None
        )
        assert status == 0
        update(average, t, model, rows, order, start, stop, work, rule, eta)
    read = np.empty(d + 1)
    copy_average(average, model, read)
    W, B = reference.forward_iterates(
        X,
        y,
        s,
        batches,
        w0,
        0.0,
        loss="log_loss",
        param=0.0,
        l2=rule.l2,
        l1=0.0,
        eta=lambda t: etas[t - 1],
    )
    assert_allclose(read[:d], reference.running_mean(W, 1), rtol=1e-12, atol=1e-14)
    assert_allclose(read[d], reference.running_mean(B, 1), rtol=1e-12)
    fold_average(average, model)
    assert average.lazy[0] == 0.0
    assert_allclose(average.mean, read, rtol=1e-15, atol=0)


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
@pytest.mark.parametrize("batch_size", [1, 6])
def test_sparse_partial_fit_continues_the_average(batch_size, multi_class, rng):
    """CSR chunks: the mean kept between calls is the mean (nothing pending)."""
    X = sparse.csr_matrix(_sparse_data(rng, 90, 15))
    y = rng.integers(3, size=90)
    params = dict(
        order="forward",
        sampling="cyclic",
        batch_size=batch_size,
        average=True,
        tol=None,
        eta0=0.05,
        learning_rate="constant",
        multi_class=multi_class,
        n_jobs=1,
    )
    whole = BackwardSGDClassifier(max_iter=2, **params).fit(X, y)
    chunks = BackwardSGDClassifier(**params)
    for _ in range(2):
        # chunks of whole batches, so the maps are those of the whole fit
        for rows in np.array_split(np.arange(90), 3):
            chunks.partial_fit(X[rows], y[rows], classes=np.arange(3))
    assert_allclose(chunks.coef_, whole.coef_, rtol=1e-12, atol=1e-14)
    assert_allclose(chunks.intercept_, whole.intercept_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_average_is_deterministic_and_equals_dense(fit_intercept, rng):
    X = _sparse_data(rng, 120, 40)
    y = rng.integers(2, size=120)
    weights = rng.uniform(0.5, 2.0, size=120)
    params = dict(
        order="forward",
        average=10,
        batch_size=4,
        max_iter=5,
        tol=None,
        fit_intercept=fit_intercept,
        random_state=7,
    )
    fits = [
        BackwardSGDClassifier(**params).fit(data, y, sample_weight=weights)
        for data in (sparse.csr_matrix(X), sparse.csr_matrix(X), X)
    ]
    assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert_array_equal(fits[0].intercept_, fits[1].intercept_)
    assert_allclose(fits[0].coef_, fits[2].coef_, rtol=1e-12, atol=1e-14)
    assert_allclose(fits[0].intercept_, fits[2].intercept_, rtol=1e-12, atol=1e-14)
