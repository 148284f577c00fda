"""Every kernel against the plain-NumPy reference in ``reference.py``."""

import subprocess
import sys

import numpy as np
import pytest
import reference
from conftest import ALL_LOSSES, EPSILON, PENALTIES, make_targets
from conftest import update_rule as _rule
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from sklearn_order.kernels import (
    Model,
    UpdateRule,
    step_records,
)
from sklearn_order.kernels.cpu import apply_steps, apply_update_map, mean_loss
from sklearn_order.kernels.storage import (
    add_row,
    kernel_rows,
    row_dot,
    row_sqnorm,
)
from sklearn_order.losses import (
    LOSSES,
    MULTINOMIAL_LOG_LOSS,
    loss_derivative,
    loss_parameter,
    loss_value,
)
from sklearn_order.penalties import penalty_strengths
from sklearn_order.sampling import SAMPLINGS, epoch_batches, n_batches
from sklearn_order.schedules import CONSTANT, INVSCALING, LEARNING_RATES, step_size

# apply_update_map's last argument: any array asks for the batch's loss
TRACKED = np.zeros(1)
SEEDED_SAMPLINGS = [name for name in SAMPLINGS if name != "grab"]
PASSIVE_AGGRESSIVE = ["pa1", "pa2"]
#: The loss each passive-aggressive schedule takes, per task.
PA_LOSSES = ["hinge", "epsilon_insensitive"]


def _reference_rule(loss, penalty, alpha=0.05, l1_ratio=0.4):
    l2, l1 = penalty_strengths(penalty, alpha, l1_ratio)
    return dict(loss=loss, param=loss_parameter(loss, EPSILON), l2=l2, l1=l1)


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_loss_table_matches_reference(loss, rng):
    param = loss_parameter(loss, EPSILON)
    y = make_targets(loss, rng, 200)
    p = rng.normal(scale=3.0, size=200)
    got_d = np.array(
        [loss_derivative(LOSSES[loss].code, param, a, b) for a, b in zip(y, p)]
    )
    got_v = np.array([loss_value(LOSSES[loss].code, param, a, b) for a, b in zip(y, p)])
    assert_allclose(
        got_d, reference.loss_derivative(loss, y, p, param), rtol=1e-12, atol=1e-14
    )
    assert_allclose(
        got_v, reference.loss_value(loss, y, p, param), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_loss_derivative_is_the_derivative_of_the_loss(loss, rng):
    code, param = LOSSES[loss].code, loss_parameter(loss, EPSILON)
    h = 1e-6
    for y, p in zip(make_targets(loss, rng, 50), rng.normal(scale=3.0, size=50)):
        numeric = (
            loss_value(code, param, y, p + h) - loss_value(code, param, y, p - h)
        ) / (2 * h)
        # away from kinks the central difference is accurate to O(h)
        if abs(numeric - loss_derivative(code, param, y, p)) > 1e-5:
            kinks = (
                np.array([1.0, 0.0, -1.0]) * y
                if LOSSES[loss].task == "classification"
                else y + np.array([param, -param])
            )
            assert np.min(np.abs(kinks - p)) < 2 * h


def _storage(X, storage):
    """``X`` as the kernels take it: dense, or CSR rows with 32- or 64-bit indices.

    ``"csr-int64"`` is the variant of matrices whose indices do not fit 32
    bits (training gives every smaller one 32-bit indices).
    """
    if storage == "dense":
        return kernel_rows(X)
    X = sparse.csr_matrix(X)
    if storage == "csr-int64":  # assigned: SciPy's constructor would narrow them
        X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    return kernel_rows(X)


def _sparse_normal(rng, shape, density=0.4):
    """Gaussian entries, most of them zero (the same numbers serve both storages)."""
    return rng.normal(size=shape) * (rng.random(shape) < density)


@pytest.mark.parametrize("storage", ["dense", "csr", "csr-int64"])
def test_row_operations_match_numpy(storage, rng):
    for n in (0, 1, 3, 4, 5, 17, 100):
        X, w = _sparse_normal(rng, (3, n)), rng.normal(size=2 * n + 1)
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            rows = _storage(Xd, storage)
            expected = Xd[1].astype(np.float64) @ w[n + 1 :]
            got = row_dot(rows, 1, w, n + 1)  # the second model's weights
            assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
            moved = w.copy()
            add_row(rows, 2, -0.5, moved, n + 1)
            assert_array_equal(moved[: n + 1], w[: n + 1])
            assert_allclose(moved[n + 1 :], w[n + 1 :] - 0.5 * Xd[2], rtol=1e-15)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_update_map_matches_reference(loss, penalty, dtype, storage, rng):
    n, d = 40, 7
    X = _sparse_normal(rng, (n, d), density=0.6).astype(dtype)
    y = make_targets(loss, rng, n)
    s = rng.uniform(0.5, 2.0, size=n)
    rows = rng.choice(n, size=5, replace=False).astype(np.int64)
    w0, b0 = rng.normal(size=d), rng.normal()
    eta = 0.07
    coef, intercept, scale = w0.copy(), np.array([b0]), np.ones(1)
    status, loss_sum = apply_update_map(
        _storage(X, storage),
        y,
        s,
        rows,
        0,
        5,
        Model(coef, intercept, scale),
        _rule(loss, penalty),
        eta,
        np.empty(5),
        TRACKED,
    )
    assert status == 0
    w_ref, b_ref = reference.update_map(
        X, y, s, rows, w0, b0, eta=eta, **_reference_rule(loss, penalty)
    )
    # the kernel computes in float64 whatever X's dtype: float64 tolerance for both
    # (CSR rows keep the L2 decay in the lazy scale: w = scale · coef)
    assert_allclose(scale[0] * coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept[0], b_ref, rtol=1e-10, atol=1e-12)
    p = np.asarray(X[rows], dtype=np.float64) @ w0 + b0
    param = loss_parameter(loss, EPSILON)
    assert_allclose(
        loss_sum, s[rows] @ reference.loss_value(loss, y[rows], p, param), rtol=1e-10
    )


def test_update_map_without_intercept_keeps_it(rng):
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    coef, intercept = np.zeros(3), np.array([0.5])
    apply_update_map(
        kernel_rows(X),
        y,
        np.ones(10),
        np.arange(4),
        0,
        4,
        Model(coef, intercept, np.ones(1)),
        _rule("squared_error", "l2", fit_intercept=False),
        0.1,
        np.empty(4),
        None,
    )
    assert intercept[0] == 0.5
    assert np.all(coef != 0)


def _run(
    X,
    y,
    s,
    rule,
    *,
    sampling,
    seed,
    batch_size,
    epochs,
    reverse,
    w0,
    b0,
    eta=0.05,
    first_epoch=0,
    t_start=0,
):
    coef, intercept = w0.copy(), np.array([b0])
    batches = n_batches(len(y), batch_size)
    first_step = first_epoch * batches
    status, _ = apply_steps(
        *step_records(
            X,
            y,
            s,
            coef,
            intercept,
            rule,
            scheme=SAMPLINGS[sampling],
            seed=seed,
            batch_size=batch_size,
            first_step=first_step,
            n_steps=epochs * batches,
            reverse=reverse,
            eta=eta,
            step_offset=t_start - first_step,
        )
    )
    assert status == 0
    return coef, intercept[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_64_bit_indices_compose_as_32_bit_ones_exactly(order, dtype, rng):
    n, d = 23, 6
    X = _sparse_normal(rng, (n, d), density=0.5).astype(dtype)
    y, s = make_targets("log_loss", rng, n), rng.uniform(0.5, 2.0, size=n)
    kw = dict(sampling="reshuffle", seed=3, batch_size=4, epochs=3, w0=np.zeros(d))
    kw.update(reverse=order == "backward", b0=0.0)
    wide = _storage(X, "csr-int64")
    assert wide.indices.dtype == np.uint64 and wide.indptr.dtype == np.int64
    got = _run(wide, y, s, _rule("log_loss", "l2"), **kw)
    expected = _run(_storage(X, "csr"), y, s, _rule("log_loss", "l2"), **kw)
    assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_apply_steps_matches_reference_composition(
    loss, order, dtype, penalty, storage, rng
):
    n, d, batch_size, epochs, seed = 23, 4, 5, 3, 11  # last batch of 3 rows
    X = _sparse_normal(rng, (n, d), density=0.6).astype(dtype)
    y, s = make_targets(loss, rng, n), rng.uniform(0.5, 2.0, size=n)
    w0, b0 = rng.normal(size=d), rng.normal()
    coef, intercept = _run(
        _storage(X, storage),
        y,
        s,
        _rule(loss, penalty),
        sampling="reshuffle",
        seed=seed,
        batch_size=batch_size,
        epochs=epochs,
        reverse=order == "backward",
        w0=w0,
        b0=b0,
    )
    batches = reference.batch_sequence("reshuffle", n, batch_size, seed, epochs)
    w_ref, b_ref = reference.compose(
        X,
        y,
        s,
        batches,
        w0,
        b0,
        order=order,
        eta=0.05,
        **_reference_rule(loss, penalty),
    )
    assert_allclose(coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept, b_ref, rtol=1e-10, atol=1e-12)


def _multinomial_rule(penalty, fit_intercept=True):
    l2, l1 = penalty_strengths(penalty, 0.05, 0.4)
    return UpdateRule(
        MULTINOMIAL_LOG_LOSS, 0.0, l2, l1, fit_intercept, CONSTANT, 0.5, 0.05, 0.0, None
    )


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_multinomial_update_map_matches_reference(penalty, dtype, storage, rng):
    n, d, k = 30, 6, 4
    X = _sparse_normal(rng, (n, d), density=0.6).astype(dtype)
    y = rng.integers(k, size=n).astype(np.float64)
    s = rng.uniform(0.5, 2.0, size=n)
    rows = rng.choice(n, size=5, replace=False).astype(np.int64)
    W0, b0 = rng.normal(size=(k, d)), rng.normal(size=k)
    coef, intercept, scale = W0.ravel().copy(), b0.copy(), np.ones(1)
    status, loss_sum = apply_update_map(
        _storage(X, storage),
        y,
        s,
        rows,
        0,
        5,
        Model(coef, intercept, scale),
        _multinomial_rule(penalty),
        0.3,
        np.empty(5 * k),
        TRACKED,
    )
    assert status == 0
    l2, l1 = penalty_strengths(penalty, 0.05, 0.4)
    W_ref, b_ref = reference.multinomial_update_map(
        X, y, s, rows, W0, b0, l2=l2, l1=l1, eta=0.3
    )
    assert_allclose(scale[0] * coef.reshape(k, d), W_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept, b_ref, rtol=1e-10, atol=1e-12)
    expected_loss = s[rows] @ reference.multinomial_loss(X[rows], y[rows], W0, b0)
    assert_allclose(loss_sum, expected_loss, rtol=1e-10)
    assert_allclose(
        mean_loss(
            _storage(X, storage),
            y,
            s,
            W0.ravel(),
            b0,
            _multinomial_rule(penalty),
            np.empty(k),
        ),
        s @ reference.multinomial_loss(X, y, W0, b0) / n,
        rtol=1e-10,
    )


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_multinomial_composition_matches_reference(order, storage, rng):
    n, d, k, batch_size, epochs, seed = 19, 3, 3, 4, 3, 2
    X = _sparse_normal(rng, (n, d), density=0.7)
    y = rng.integers(k, size=n).astype(np.float64)
    s = rng.uniform(0.5, 2.0, size=n)
    W0, b0 = rng.normal(size=(k, d)), rng.normal(size=k)
    coef, intercept = W0.ravel().copy(), b0.copy()
    maps = epochs * n_batches(n, batch_size)
    status, _ = apply_steps(
        *step_records(
            _storage(X, storage),
            y,
            s,
            coef,
            intercept,
            _multinomial_rule("l2"),
            scheme=SAMPLINGS["reshuffle"],
            seed=seed,
            batch_size=batch_size,
            first_step=0,
            n_steps=maps,
            reverse=order == "backward",
            eta=0.2,
        )
    )
    assert status == 0
    batches = reference.batch_sequence("reshuffle", n, batch_size, seed, epochs)
    if order == "backward":
        batches = batches[::-1]
    l2, _ = penalty_strengths("l2", 0.05, 0.4)
    W, b = W0, b0
    for rows in batches:
        W, b = reference.multinomial_update_map(
            X, y, s, rows, W, b, l2=l2, l1=0.0, eta=0.2
        )
    assert_allclose(coef.reshape(k, d), W, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_step_index_follows_the_map_not_the_direction(order, rng):
    """With a decreasing schedule map k uses η(t_start + k) in both orders."""
    n, d = 12, 3
    X, y, s = rng.normal(size=(n, d)), rng.normal(size=n), np.ones(n)
    rule = _rule("squared_error", "l2", schedule=INVSCALING, power_t=0.5)
    t_start = 7
    coef, intercept = _run(
        X,
        y,
        s,
        rule,
        sampling="cyclic",
        seed=0,
        batch_size=4,
        epochs=2,
        reverse=order == "backward",
        w0=np.zeros(d),
        b0=0.0,
        eta=0.1,
        t_start=t_start,
        first_epoch=5,
    )
    batches = [b for e in (5, 6) for b in epoch_batches("cyclic", n, 4, 0, e)]
    w_ref, b_ref = reference.compose(
        X,
        y,
        s,
        batches,
        np.zeros(d),
        0.0,
        order=order,
        eta=lambda t: step_size(INVSCALING, 0.1, t_start + t, 0.5, 0.0, 0.0),
        **_reference_rule("squared_error", "l2"),
    )
    assert_allclose(coef, w_ref, rtol=1e-12)
    assert_allclose(intercept, b_ref, rtol=1e-12)


@pytest.mark.parametrize(
    "loss, learning_rate",
    [(loss, "constant") for loss in ALL_LOSSES]
    + [(loss, rate) for loss in PA_LOSSES for rate in PASSIVE_AGGRESSIVE],
)
def test_backward_is_forward_over_the_reversed_sequence_exactly(
    loss, learning_rate, rng
):
    """Bit for bit: the backward composition is the same maps, with the same
    arithmetic, applied in reversed order. The passive-aggressive map depends
    on θ through the loss too, but is still a map of θ and the batch."""
    n, d, batch_size, epochs, seed = 30, 5, 4, 4, 3
    X, y = rng.normal(size=(n, d)), make_targets(loss, rng, n)
    s = rng.uniform(0.5, 2.0, size=n)
    w0, b0 = rng.normal(size=d), 0.3
    if learning_rate == "constant":
        rule, eta = _rule(loss, "l2"), 0.05
    else:  # with a zero row, which PA-I skips
        X = _with_zero_rows(X, [5])
        rule, eta = _pa_rule(loss, "l2", learning_rate), 0.4
    coef, intercept = _run(
        X,
        y,
        s,
        rule,
        sampling="reshuffle",
        seed=seed,
        batch_size=batch_size,
        epochs=epochs,
        reverse=True,
        w0=w0,
        b0=b0,
        eta=eta,
    )
    batches = reference.batch_sequence("reshuffle", n, batch_size, seed, epochs)
    w, b = w0.copy(), np.array([b0])
    work = np.empty(batch_size)
    for rows in reversed(batches):
        status, _ = apply_update_map(
            kernel_rows(X),
            y,
            s,
            rows,
            0,
            len(rows),
            Model(w, b, np.ones(1)),
            rule,
            eta,
            work,
            None,
        )
        assert status == 0
    assert_array_equal(coef, w)
    assert_array_equal(intercept, b[0])
    assert not np.allclose(coef, w0)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("sampling", SEEDED_SAMPLINGS)
def test_every_sampling_scheme_composes_its_own_sequence(sampling, order, rng):
    n, d, batch_size, epochs, seed = 17, 3, 4, 4, 5
    X, y = rng.normal(size=(n, d)), make_targets("log_loss", rng, n)
    s = rng.uniform(0.5, 2.0, size=n)
    w0 = rng.normal(size=d)
    coef, intercept = _run(
        X,
        y,
        s,
        _rule("log_loss", "l2"),
        sampling=sampling,
        seed=seed,
        batch_size=batch_size,
        epochs=epochs,
        reverse=order == "backward",
        w0=w0,
        b0=0.0,
    )
    batches = reference.batch_sequence(sampling, n, batch_size, seed, epochs)
    w_ref, b_ref = reference.compose(
        X,
        y,
        s,
        batches,
        w0,
        0.0,
        order=order,
        eta=0.05,
        **_reference_rule("log_loss", "l2"),
    )
    assert_allclose(coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept, b_ref, rtol=1e-10, atol=1e-12)


def test_recording_and_partial_ranges(rng):
    """A range applied in pieces equals the whole range; records are the iterates."""
    n, d, batch_size = 20, 3, 3  # 7 maps per epoch
    X, y, s = rng.normal(size=(n, d)), rng.normal(size=n), np.ones(n)
    rule = _rule("squared_error", "l2")
    scheme = SAMPLINGS["reshuffle"]

    def apply(coef, intercept, first, count, every=0):
        records = np.empty((count // every if every else 0, d + 1))
        status, _ = apply_steps(
            *step_records(
                X,
                y,
                s,
                coef,
                intercept,
                rule,
                scheme=scheme,
                seed=3,
                batch_size=batch_size,
                first_step=first,
                n_steps=count,
                reverse=False,
                eta=0.05,
                records=records if every else None,
                record_every=every,
            )
        )
        assert status == 0
        return records

    whole_coef, whole_b = np.zeros(d), np.zeros(1)
    records = apply(whole_coef, whole_b, 0, 20, every=5)
    coef, b = np.zeros(d), np.zeros(1)
    for first, count in [(0, 5), (5, 5), (10, 5), (15, 5)]:
        apply(coef, b, first, count)
        assert_array_equal(records[first // 5], np.append(coef, b))
    assert_array_equal(coef, whole_coef)


# -- passive-aggressive steps ("pa1", "pa2") ----------------------------------------


def _pa_rule(loss, penalty, learning_rate, fit_intercept=True):
    return _rule(
        loss,
        penalty,
        schedule=LEARNING_RATES[learning_rate],
        fit_intercept=fit_intercept,
    )


def _with_zero_rows(X, rows):
    """``X`` with the given rows set to zero (PA-I skips them)."""
    X = X.copy()
    X[rows] = 0.0
    return X


@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_row_sqnorm_matches_numpy(storage, rng):
    for n in (0, 1, 3, 4, 5, 17, 100):
        X = _sparse_normal(rng, (3, n))
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            rows = _storage(Xd, storage)
            for i in range(3):
                expected = float(np.sum(Xd[i].astype(np.float64) ** 2))
                assert_allclose(row_sqnorm(rows, i), expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("learning_rate", PASSIVE_AGGRESSIVE)
@pytest.mark.parametrize("loss", PA_LOSSES)
def test_passive_aggressive_update_map_matches_reference(
    loss, learning_rate, penalty, dtype, storage, rng
):
    n, d, batch = 40, 7, 6
    X = _sparse_normal(rng, (n, d), density=0.6)
    rows = rng.choice(n, size=batch, replace=False).astype(np.int64)
    X = _with_zero_rows(X, rows[:1]).astype(dtype)  # one x_i = 0 in the batch
    y = make_targets(loss, rng, n)
    s = rng.uniform(0.5, 2.0, size=n)
    w0, b0 = rng.normal(size=d), rng.normal()
    C = 0.3
    coef, intercept, scale = w0.copy(), np.array([b0]), np.ones(1)
    status, loss_sum = apply_update_map(
        _storage(X, storage),
        y,
        s,
        rows,
        0,
        batch,
        Model(coef, intercept, scale),
        _pa_rule(loss, penalty, learning_rate),
        C,
        np.empty(batch),
        TRACKED,
    )
    assert status == 0
    w_ref, b_ref = reference.update_map(
        X,
        y,
        s,
        rows,
        w0,
        b0,
        eta=C,
        passive_aggressive=learning_rate,
        **_reference_rule(loss, penalty),
    )
    assert_allclose(scale[0] * coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept[0], b_ref, rtol=1e-10, atol=1e-12)
    p = np.asarray(X[rows], dtype=np.float64) @ w0 + b0
    param = loss_parameter(loss, EPSILON)
    expected_loss = s[rows] @ reference.loss_value(loss, y[rows], p, param)
    assert_allclose(loss_sum, expected_loss, rtol=1e-10)
    # the map moved the weights (the reference is not trivially the start)
    assert not np.allclose(w_ref, w0)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("loss", PA_LOSSES)
def test_pa1_batch_of_zero_rows_is_the_identity_and_pa2_is_not(loss, storage, rng):
    """PA-I's step ``min(C, ℓ/‖x‖²)`` is undefined at ``x = 0``: the row is
    skipped (scikit-learn's rule), and a batch of such rows changes nothing,
    not even by the weight decay. PA-II's step is defined there."""
    n, d = 12, 5
    X = _with_zero_rows(rng.normal(size=(n, d)), [2, 3, 4])
    y = make_targets(loss, rng, n)
    y[2:5] = 5.0 if loss == "epsilon_insensitive" else y[2:5]  # positive losses
    rows = np.array([2, 3, 4], dtype=np.int64)
    w0, b0 = rng.normal(size=d), -4.0 * y[2] if loss == "hinge" else 0.0
    for learning_rate in PASSIVE_AGGRESSIVE:
        coef, intercept, scale = w0.copy(), np.array([b0]), np.ones(1)
        status, _ = apply_update_map(
            _storage(X, storage),
            y,
            np.ones(n),
            rows,
            0,
            3,
            Model(coef, intercept, scale),
            _pa_rule(loss, "l2", learning_rate),
            0.5,
            np.empty(3),
            None,
        )
        assert status == 0
        w_ref, b_ref = reference.update_map(
            X,
            y,
            np.ones(n),
            rows,
            w0,
            b0,
            eta=0.5,
            passive_aggressive=learning_rate,
            **_reference_rule(loss, "l2"),
        )
        assert_allclose(scale[0] * coef, w_ref, rtol=1e-12)
        assert_allclose(intercept[0], b_ref, rtol=1e-12)
        if learning_rate == "pa1":
            assert_array_equal(scale[0] * coef, w0)
            assert intercept[0] == b0
        else:  # decayed weights, and the intercept moved by the positive losses
            assert not np.allclose(scale[0] * coef, w0)
            assert intercept[0] != b0


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("learning_rate", PASSIVE_AGGRESSIVE)
@pytest.mark.parametrize("loss", PA_LOSSES)
def test_passive_aggressive_composition_matches_reference(
    loss, learning_rate, order, penalty, storage, rng
):
    n, d, batch_size, epochs, seed = 23, 4, 5, 3, 11  # last batch of 3 rows
    X = _with_zero_rows(_sparse_normal(rng, (n, d), density=0.6), [0, 7])
    y, s = make_targets(loss, rng, n), rng.uniform(0.5, 2.0, size=n)
    w0, b0 = rng.normal(size=d), rng.normal()
    coef, intercept = _run(
        _storage(X, storage),
        y,
        s,
        _pa_rule(loss, penalty, learning_rate),
        sampling="reshuffle",
        seed=seed,
        batch_size=batch_size,
        epochs=epochs,
        reverse=order == "backward",
        w0=w0,
        b0=b0,
        eta=0.4,
    )
    batches = reference.batch_sequence("reshuffle", n, batch_size, seed, epochs)
    w_ref, b_ref = reference.compose(
        X,
        y,
        s,
        batches,
        w0,
        b0,
        order=order,
        eta=0.4,
        passive_aggressive=learning_rate,
        **_reference_rule(loss, penalty),
    )
    assert_allclose(coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(intercept, b_ref, rtol=1e-10, atol=1e-12)


_COMPILED_KERNELS = """
import sys
import numpy as np
from scipy import sparse
from sklearn_order import BackwardSGDClassifier
from sklearn_order.kernels import cpu
from sklearn_order._cache import package_kernels
from sklearn_order.kernels.storage import CSRRows, DenseRows

X = np.random.default_rng(0).standard_normal((40, 3))
y = (X[:, 0] > 0).astype(int)
storage = sys.argv[1]
if storage == "csr":
    X = sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
BackwardSGDClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
(signature,) = cpu.apply_steps.specialized(storage).signatures
rows, sequence, outputs, state = signature[0], signature[5], signature[7], signature[8]
expected = CSRRows if storage == "csr" else DenseRows
assert rows.instance_class is expected, rows
# no kernel (nor any kernel's twin) was compiled for the other storage
compiled_rows = {
    argument.instance_class
    for kernel in package_kernels()
    for compiled in kernel.signatures
    for argument in compiled
    if getattr(argument, "instance_class", None) in (CSRRows, DenseRows)
}
assert compiled_rows == {expected}, compiled_rows
# switched off: GraB's table and herding, averaging, loss tracking, records
none = type(state.types[0])
assert isinstance(sequence.types[3], none), sequence
assert all(isinstance(t, none) for t in state.types), state
assert all(isinstance(t, none) for t in outputs.types[:2]), outputs
"""


@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_a_plain_fit_compiles_one_storage_and_no_switched_off_feature(storage):
    """One ``apply_steps`` specialization: the storage fitted, features off ``None``."""
    subprocess.run([sys.executable, "-c", _COMPILED_KERNELS, storage], check=True)
