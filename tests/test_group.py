"""Models trained as one group, one pass over the rows for all: each is bit-identical
to the same model trained alone."""

from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.datasets import make_classification

import sklearn_order._problem
from sklearn_order import BackwardSGDClassifier
from sklearn_order import _training as training
from sklearn_order._engine import GroupEngine, SingleEngine, groupable
from sklearn_order._problem import DivergenceError
from sklearn_order._spec import FitSpec
from sklearn_order._training import build_problems
from sklearn_order.kernels.cpu import AVERAGE_FOLD_WEIGHT
from sklearn_order.penalties import l2_decay

N_MODELS = 4


def _spec(estimator):
    """The estimator's parameters frozen as they are: some of the sets here
    (backward with averaging) are refused by a fit, not by the kernels."""
    return FitSpec.from_estimator(estimator, validate=False)


def _problems(estimator, X, rng, rows=None, large_target=None):
    n = X.shape[0]
    targets = [np.where(rng.random(n) < 0.4, 1.0, -1.0) for _ in range(N_MODELS)]
    if large_target is not None:
        targets[large_target] = targets[large_target] * 1e3
    weights = [rng.random(n) + 0.5 for _ in range(N_MODELS)]
    return build_problems(_spec(estimator), X, targets, weights, seed=11, rows=rows)


def _run(engine, models, **run):
    return engine.run_epochs(models, etas=[p.eta0 for p in engine.problems], **run)


def _compare(problems, d, initial_means=None, **run):
    """Group against alone: parameters, running means (averaging), tracked losses
    and failures, bit for bit.

    Each model alone runs a copy of its problem, with a state of its own: the
    running mean starts from ``initial_means[m]`` (a ``partial_fit`` that
    continues an average) in both, or from zeros.
    """
    copies = [replace(problem) for problem in problems]
    for m, (problem, copy) in enumerate(zip(problems, copies)):
        if initial_means is not None:
            problem.running_average(initial=initial_means[m])
            copy.running_average(initial=initial_means[m])
    grouped = [(np.zeros(p.n_outputs * d), np.zeros(p.n_outputs)) for p in problems]
    losses, failures = _run(GroupEngine(problems, grouped), range(len(problems)), **run)
    for m, (problem, copy) in enumerate(zip(problems, copies)):
        k = problem.n_outputs
        alone = SingleEngine(copy, np.zeros(k * d), np.zeros(k))
        losses_alone, failures_alone = _run(alone, [0], **run)
        assert (m in failures) == (0 in failures_alone)
        if m in failures:
            assert str(failures[m]) == str(failures_alone[0])
            continue
        assert_array_equal(grouped[m][0], alone.params[0][0])
        assert_array_equal(grouped[m][1], alone.params[0][1])
        assert_array_equal(losses[m], losses_alone[0])
        mean, mean_alone = problem.state.running_mean, copy.state.running_mean
        assert (mean is None) == (mean_alone is None)
        if mean is not None:
            assert_array_equal(mean, mean_alone)
    return failures


def _averages(problems, run):
    """Whether ``run`` of ``problems`` keeps running means (and they move)."""
    return problems[0].average_start > 0 and not run.get("reverse")


def _check_means(problems, run):
    """With averaging, the running means of a run moved; without, there are none."""
    for problem in problems:
        mean = problem.state.running_mean
        if _averages(problems, run):
            assert np.any(mean[:-1] != 0.0) and np.all(np.isfinite(mean))
        else:
            assert mean is None


def _data(storage, dtype, rng, n=240, d=13):
    X = rng.normal(size=(n, d)).astype(dtype)
    if storage == "csr":
        X = sparse.csr_matrix(X * (rng.random((n, d)) < 0.3))
    return X


def _folds_for_its_weight(decay, n_maps):
    """Whether a lazy running mean kept over ``n_maps`` maps of this ``decay`` is
    folded because the current iterate's weight in it would pass
    ``AVERAGE_FOLD_WEIGHT`` (the recursion of ``kernels.cpu.update_average`` and
    ``prepare_average``, averaging from the first map)."""
    gamma = folded = 0.0
    for seen in range(2, n_maps + 1):
        if gamma * folded > AVERAGE_FOLD_WEIGHT * decay * (seen - 1):
            return True
        if gamma == 0.0:
            folded = seen - 1.0
        gamma = gamma / decay + 1.0 / folded
    return False


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "loss, learning_rate, penalty, alpha",
    [
        ("hinge", "constant", "l2", 1e-3),
        ("log_loss", "invscaling", "elasticnet", 1e-3),
        ("squared_hinge", "constant", "l1", 1e-3),
        # the "optimal" steps 1 / (alpha (t0 + t)) are large for a small alpha
        ("log_loss", "optimal", "l2", 0.1),
        ("modified_huber", "constant", None, 1e-3),
        ("squared_error", "constant", "l2", 1e-3),
        ("epsilon_insensitive", "invscaling", "l2", 1e-3),
        ("hinge", "pa1", "l2", 1e-3),
        ("hinge", "pa2", None, 1e-3),
        # a decay of 0.9 a map: a lazy running mean is folded for its weight
        ("log_loss", "constant", "l2", 5.0),
    ],
)
@pytest.mark.parametrize(
    "batch_size, reverse, average",
    [
        (1, False, False),
        (1, True, False),
        (6, False, False),
        (6, True, False),
        (1, False, True),
        (1, False, 100),  # from the middle of the first epoch (the second: 6)
        (6, False, True),
        (6, False, 100),
        (6, True, True),  # a backward run keeps no mean, as alone
    ],
)
def test_grouped_models_equal_the_models_alone(
    storage, dtype, loss, learning_rate, penalty, alpha, batch_size, reverse, average
):
    rng = np.random.default_rng(0)
    X = _data(storage, dtype, rng)
    if storage == "csr" and learning_rate == "pa1":
        X[3] = 0.0  # a row without a PA-I step
        X.eliminate_zeros()
    estimator = BackwardSGDClassifier(
        loss=loss,
        learning_rate=learning_rate,
        penalty=penalty,
        eta0=0.02,
        alpha=alpha,
        batch_size=batch_size,
        average=average,
    )
    problems = _problems(estimator, X, rng)
    assert groupable(problems)
    if alpha == 5.0:
        decay = l2_decay(0.02, problems[0].rule.l2)
        assert decay == pytest.approx(0.9) and _folds_for_its_weight(decay, 50)
    run = dict(first_epoch=0, n_epochs=3, reverse=reverse, t_start=0, track_loss=True)
    failures = _compare(problems, X.shape[1], **run)
    assert not failures
    _check_means(problems, run)


@pytest.mark.parametrize(
    "sampling", ["cyclic", "reshuffle", "once", "flipflop", "with_replacement"]
)
@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("average", [False, 130])
def test_every_seeded_scheme_on_a_row_subset_from_a_later_map(
    sampling, storage, average
):
    """Early stopping's row subset, and a run that continues (partial_fit): with
    averaging, its running mean continues one kept so far."""
    rng = np.random.default_rng(1)
    X = _data(storage, np.float64, rng)
    rows = np.flatnonzero(rng.random(X.shape[0]) < 0.7)
    estimator = BackwardSGDClassifier(
        sampling=sampling, eta0=0.05, batch_size=3, average=average
    )
    problems = _problems(estimator, X, rng, rows=rows)
    means = [rng.normal(size=p.n_parameters) for p in problems] if average else None
    assert not _compare(
        problems,
        X.shape[1],
        initial_means=means,
        first_epoch=5,
        n_epochs=2,
        reverse=False,
        t_start=123,
    )


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("average", [False, True])
def test_a_diverging_model_fails_alone_and_the_others_go_on(storage, average):
    rng = np.random.default_rng(2)
    X = _data(storage, np.float64, rng) * 30.0
    estimator = BackwardSGDClassifier(
        loss="squared_error",
        learning_rate="constant",
        eta0=0.5,
        penalty=None,
        average=average,
    )
    problems = _problems(estimator, X, rng, large_target=1)
    # only model 1's targets are large enough for its predictions to run away
    failures = _compare(
        problems, X.shape[1], first_epoch=0, n_epochs=2, reverse=False, t_start=0
    )
    assert 1 in failures and isinstance(failures[1], DivergenceError)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("average", [False, True, 50])
def test_a_model_whose_step_diverges_fails_alone_and_the_others_go_on(storage, average):
    """Candidates of a grid: one step size too large for the data. The others'
    parameters and running means are those of their fits alone."""
    rng = np.random.default_rng(8)
    X = _data(storage, np.float64, rng) * 30.0
    problems = []
    for eta0 in (1e-4, 0.5, 2e-4):
        estimator = BackwardSGDClassifier(
            loss="squared_error",
            learning_rate="constant",
            eta0=eta0,
            penalty="l2",
            average=average,
        )
        problems += _problems(estimator, X, rng)[:2]
    run = dict(first_epoch=0, n_epochs=2, reverse=False, t_start=0)
    failures = _compare(problems, X.shape[1], **run)
    assert set(failures) == {2, 3}
    _check_means([p for m, p in enumerate(problems) if m not in failures], run)


def test_what_cannot_share_a_pass_is_not_grouped():
    rng = np.random.default_rng(3)
    X = _data("dense", np.float64, rng)
    problems = _problems(BackwardSGDClassifier(sampling="grab"), X, rng)
    assert not groupable(problems)
    assert not groupable(_problems(BackwardSGDClassifier(), X, rng)[:1])
    # averaged models group with averaged models whose means start at the
    # same map, never with models that keep no mean
    plain, averaged, later = (
        _problems(BackwardSGDClassifier(average=average), X, rng)
        for average in (False, True, 7)
    )
    assert groupable(averaged) and groupable(later)
    assert not groupable(averaged[:2] + plain[:2])
    assert not groupable(averaged[:2] + later[:2])


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize(
    "batch_size, reverse, average",
    [(1, False, False), (5, True, False), (1, False, True), (5, False, 50)],
)
def test_a_multinomial_model_is_its_classes_group(
    storage, dtype, penalty, batch_size, reverse, average
):
    """The classes of a multinomial model train as one group, bit for bit: with
    averaging, each class keeps its part of the model's running mean."""
    rng = np.random.default_rng(5)
    X = _data(storage, dtype, rng)
    estimator = BackwardSGDClassifier(
        loss="log_loss",
        multi_class="multinomial",
        penalty=penalty,
        eta0=0.05,
        alpha=1e-3,
        batch_size=batch_size,
        average=average,
    )
    y = rng.integers(0, 4, X.shape[0]).astype(np.float64)
    problems = build_problems(
        _spec(estimator), X, [y], [rng.random(X.shape[0]) + 0.5], seed=3, n_rows=4
    )
    assert groupable(problems)
    run = dict(first_epoch=0, n_epochs=3, reverse=reverse, t_start=0, track_loss=True)
    assert not _compare(problems, X.shape[1], **run)
    _check_means(problems, run)


@pytest.mark.parametrize("average", [False, True])
def test_a_diverging_multinomial_model_fails_as_alone(average):
    rng = np.random.default_rng(6)
    X = _data("dense", np.float64, rng) * 1e200  # x · w overflows after a map
    estimator = BackwardSGDClassifier(
        loss="log_loss",
        multi_class="multinomial",
        eta0=10.0,
        penalty=None,
        average=average,
    )
    y = rng.integers(0, 3, X.shape[0]).astype(np.float64)
    problems = build_problems(
        _spec(estimator), X, [y], [np.ones(X.shape[0])], seed=3, n_rows=3
    )
    failures = _compare(
        problems, X.shape[1], first_epoch=0, n_epochs=2, reverse=False, t_start=0
    )
    assert 0 in failures


def _binary_fits(params, X, y, **fit):
    """Each class's one-vs-rest problem fitted alone, as a binary classifier."""
    coef, intercept, n_iter = [], [], []
    for label in np.unique(y):
        alone = BackwardSGDClassifier(**params).fit(
            X, np.where(y == label, 1, -1), **fit
        )
        coef.append(alone.coef_[0])
        intercept.append(alone.intercept_[0])
        n_iter.append(alone.n_iter_)
    return np.array(coef), np.array(intercept), max(n_iter)


def _assert_standard_iterates(model, params, X, y):
    """With ``average``: the last iterates kept beside the mean (``partial_fit``
    continues from them) are each class's alone too."""
    alone = [
        BackwardSGDClassifier(**params).fit(X, np.where(y == label, 1, -1))
        for label in np.unique(y)
    ]
    assert_array_equal(
        model._standard_coef, np.vstack([a._standard_coef for a in alone])
    )
    assert_array_equal(
        model._standard_intercept,
        np.concatenate([a._standard_intercept for a in alone]),
    )


@pytest.fixture
def grouped_passes(monkeypatch):
    """A spy: the number of models of every ``GroupEngine.run_epochs`` call."""
    passes = []
    grouped_run = GroupEngine.run_epochs

    def counted(engine, models, **run):
        passes.append(len(models))
        return grouped_run(engine, models, **run)

    monkeypatch.setattr(GroupEngine, "run_epochs", counted)
    return passes


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize(
    "params",
    [
        {"order": "forward", "tol": 1e-3, "max_iter": 30},
        {"order": "backward", "tol": 1e-3, "max_iter": 30},
        {"order": "backward", "tol": None, "max_iter": 4, "n_jobs": 2},
        {"order": "forward", "learning_rate": "adaptive", "eta0": 0.5, "max_iter": 30},
        {
            "order": "forward",
            "loss": "log_loss",
            "penalty": "elasticnet",
            "max_iter": 8,
        },
        {"order": "forward", "average": True, "tol": 1e-3, "max_iter": 30},
        {
            "order": "forward",
            "average": 500,  # from the middle of the third epoch
            "learning_rate": "pa1",
            "loss": "hinge",
            "alpha": 1e-2,
            "tol": None,
            "max_iter": 6,
        },
        {
            "order": "forward",
            "average": True,
            "penalty": "l1",
            "batch_size": 5,
            "max_iter": 10,
        },
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_one_vs_rest_equals_each_class_fitted_alone(storage, params, grouped_passes):
    passes = grouped_passes
    X, y = make_classification(
        n_samples=300, n_features=12, n_informative=6, n_classes=4, random_state=0
    )
    if storage == "csr":
        X = sparse.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    params = {"random_state": 3, "eta0": 0.05, "learning_rate": "constant", **params}
    model = BackwardSGDClassifier(**params).fit(X, y)
    coef, intercept, n_iter = _binary_fits(
        {k: v for k, v in params.items() if k != "n_jobs"}, X, y
    )
    assert passes and max(passes) == 4 // params.get("n_jobs", 1)  # it was grouped
    assert_array_equal(model.coef_, coef)
    assert_array_equal(model.intercept_, intercept)
    assert model.n_iter_ == n_iter
    if params.get("average"):
        _assert_standard_iterates(model, params, X, y)
        assert not np.array_equal(model.coef_, model._standard_coef)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_one_vs_rest_with_early_stopping_equals_each_class_alone(order, monkeypatch):
    """Each class's problem (its rows, its held-out rows) fitted by its own pass."""
    X, y = make_classification(
        n_samples=300, n_features=12, n_informative=6, n_classes=4, random_state=0
    )
    params = {"order": order, "early_stopping": True, "max_iter": 30, "eta0": 0.05}
    model = BackwardSGDClassifier(**params, random_state=3).fit(X, y)
    monkeypatch.setattr(training, "groupable", lambda problems: False)
    alone = BackwardSGDClassifier(**params, random_state=3).fit(X, y)
    assert_array_equal(model.coef_, alone.coef_)
    assert_array_equal(model.intercept_, alone.intercept_)
    assert model.n_iter_ == alone.n_iter_


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize(
    "order, average",
    [("forward", False), ("backward", False), ("forward", True), ("forward", 90)],
)
def test_one_vs_rest_partial_fit_equals_each_class_alone(
    storage, order, average, grouped_passes
):
    """Chunk by chunk; with ``average`` the running mean continues from one
    chunk to the next (from map 90: in the middle of the second chunk)."""
    passes = grouped_passes
    X, y = make_classification(
        n_samples=200, n_features=8, n_informative=5, n_classes=3, random_state=1
    )
    if storage == "csr":
        X = sparse.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    params = dict(order=order, eta0=0.05, random_state=0, average=average)
    model = BackwardSGDClassifier(**params)
    classes = np.unique(y)
    chunks = np.array_split(np.arange(200), 3)
    for chunk in chunks:
        model.partial_fit(X[chunk], y[chunk], classes=classes)
    assert passes == [3, 3, 3]  # each chunk's classes in one pass
    for k, label in enumerate(classes):
        alone = BackwardSGDClassifier(**params)
        for chunk in chunks:
            alone.partial_fit(
                X[chunk], np.where(y[chunk] == label, 1, -1), classes=[-1, 1]
            )
        assert_array_equal(model.coef_[k], alone.coef_[0])
        assert_array_equal(model.intercept_[k], alone.intercept_[0])
        if average:
            assert_array_equal(model._standard_coef[k], alone._standard_coef[0])
            assert_array_equal(
                model._standard_intercept[k], alone._standard_intercept[0]
            )


def test_a_one_vs_rest_class_that_diverges_raises():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    model = BackwardSGDClassifier(
        loss="squared_error", eta0=5.0, learning_rate="constant", random_state=0
    )
    with pytest.raises(DivergenceError, match="diverged"):
        model.fit(X * 100.0, y)


def test_models_that_differ_in_step_and_penalty_share_a_pass():
    """Grid candidates: each model its own eta0, alpha and l1_ratio."""
    rng = np.random.default_rng(4)
    X = _data("csr", np.float64, rng)
    problems = []
    for eta0, alpha, l1_ratio in [
        (0.01, 1e-4, 0.0),
        (0.1, 1e-2, 0.5),
        (0.03, 1e-3, 1.0),
    ]:
        estimator = BackwardSGDClassifier(
            penalty="elasticnet", eta0=eta0, alpha=alpha, l1_ratio=l1_ratio
        )
        problems += _problems(estimator, X, rng)
    assert groupable(problems)
    assert len({p.eta0 for p in problems}) == 3
    assert not _compare(
        problems, X.shape[1], first_epoch=0, n_epochs=2, reverse=True, t_start=0
    )


@pytest.mark.parametrize(
    "reverse, average", [(False, False), (True, False), (False, True), (False, 77)]
)
def test_grouped_models_fold_their_scales_where_fits_alone_end_their_calls(
    reverse, average, monkeypatch
):
    """A fit alone runs as kernel calls that each end by folding the CSR lazy
    scale (a rounding), and with averaging its lazy running mean first (another
    rounding; an averaging fit's calls are shorter); the group folds each
    model's at the same maps, whatever its own calls are. With ``average=77``
    the mean starts in the middle of a call."""
    monkeypatch.setattr(sklearn_order._problem, "_WORK_PER_CALL", 3_000)
    rng = np.random.default_rng(7)
    X = _data("csr", np.float64, rng, n=300)
    problems = []
    for alpha, penalty in [(1e-2, "l2"), (1e-3, "elasticnet"), (3e-2, "l2")]:
        estimator = BackwardSGDClassifier(
            penalty=penalty, alpha=alpha, eta0=0.05, average=average
        )
        problems += _problems(estimator, X, rng)[:2]
    run = dict(first_epoch=0, n_epochs=4, reverse=reverse, t_start=0)
    calls = {p._maps_per_call(0, averaging=_averages(problems, run)) for p in problems}
    assert len(calls) == 2 and max(calls) < 300  # several calls, two lengths
    if average:
        assert calls.isdisjoint(p._maps_per_call(0) for p in problems)
        assert all(77 % n for n in calls)
    assert not _compare(problems, X.shape[1], **run)
    _check_means(problems, run)
