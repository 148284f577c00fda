"""Long fits return to Python often: Ctrl-C stops them quickly and changes nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    _engine,
    _problem,
    trajectory,
)

LONG_FIT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from sklearn_order import BackwardSGDRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 50)); y = X[:, 0]
    model = BackwardSGDRegressor(order=sys.argv[1], max_iter=1, tol=None,
                                 random_state=0).fit(X[:100], y[:100])
    before = model.coef_.copy()
    model.set_params(max_iter=10_000)
    print("fitting", flush=True)
    try:
        model.fit(X, y)
    except KeyboardInterrupt:
        stopped = time.perf_counter()
        same = model.coef_.shape == before.shape and (model.coef_ == before).all()
        print("interrupted", stopped, same, model.n_features_in_, flush=True)
    """
)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_ctrl_c_stops_a_long_fit_within_a_second_and_keeps_the_estimator(order):
    process = subprocess.Popen(
        [sys.executable, "-c", LONG_FIT, order], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "fitting"
        time.sleep(1.5)  # well into the fit (compiled kernels load from cache)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    words = out.split()
    assert words[0] == "interrupted", out
    assert float(words[1]) - sent < 1.0
    assert words[2] == "True"  # coefficients as before the interrupted fit
    assert words[3] == "50"  # not even n_features_in_ changed (it was 50)


@pytest.mark.parametrize("sampling", ["reshuffle", "grab"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_splitting_a_fit_into_many_kernel_calls_changes_nothing(
    order, sampling, monkeypatch
):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, size=60)
    params = dict(
        order=order,
        sampling=sampling,
        batch_size=4,
        tol=None,
        max_iter=5,
        random_state=0,
    )
    whole = BackwardSGDClassifier(**params).fit(X, y)
    path = trajectory(BackwardSGDRegressor(**params), X, X[:, 0], every=3)
    monkeypatch.setattr(_problem, "_WORK_PER_CALL", 7)  # one map per call
    pieces = BackwardSGDClassifier(**params).fit(X, y)
    assert_array_equal(pieces.coef_, whole.coef_)
    assert_array_equal(pieces.intercept_, whole.intercept_)
    assert_array_equal(
        trajectory(BackwardSGDRegressor(**params), X, X[:, 0], every=3).thetas(),
        path.thetas(),
    )


# -- kernel calls last about the same time whatever the shape ---------------------
#
# A fit returns to Python (where Ctrl-C is handled) only between kernel calls,
# so a call's length is the Ctrl-C latency. Calls are sized from an estimate of
# each map's cost (its fixed cost, its rows, and every O(n_features) pass it
# makes: L1, dense averaging, GraB's herding): the tests time the calls
# themselves, as thread CPU time (what a loaded machine does not inflate).

SHAPES = {
    # n_samples, n_features, non-zeros per row (0: dense)
    "narrow-dense": (1_000_000, 2, 0),
    "narrow-csr": (1_000_000, 2, 1),
    "wide-dense": (500, 10_000, 0),
    "wide-csr": (2000, 1_000_000, 5),
}
SCHEMES = ["cyclic", "reshuffle", "once", "flipflop", "with_replacement", "grab"]
VARIANTS = [
    *(("forward", {"sampling": s}) for s in SCHEMES),
    ("backward", {"sampling": "reshuffle"}),
    ("backward", {"sampling": "grab"}),
    ("forward", {"penalty": "l1"}),
    ("backward", {"penalty": "l1"}),
    ("forward", {"average": True}),
    ("forward", {"multi_class": "multinomial"}),
    ("backward", {"multi_class": "multinomial"}),
]


def _shaped_data(shape):
    n, d, nnz = SHAPES[shape]
    rng = np.random.default_rng(0)
    if nnz:
        X = sparse.csr_matrix(
            (
                rng.normal(size=nnz * n),
                rng.integers(0, d, nnz * n),
                np.arange(0, nnz * n + 1, nnz),
            ),
            shape=(n, d),
        )
    else:
        X = rng.normal(size=(n, d))
    return X, rng.normal(size=n), rng.integers(0, 3, size=n)


@pytest.fixture(scope="module")
def shaped_data():
    cache = {}

    def get(shape):
        if shape not in cache:
            cache.clear()  # one shape in memory at a time
            cache[shape] = _shaped_data(shape)
        return cache[shape]

    return get


class _Enough(Exception):
    """Stops a fit once its first kernel calls are timed."""


def _long_fit(order, params, X, y, y_classes):
    """A fit with hours of work: max_iter huge, no tolerance."""
    params = dict(params)
    eta0 = 1e-6 if sparse.issparse(X) or X.shape[1] < 100 else 1e-8
    if params.pop("multi_class", None):
        model = BackwardSGDClassifier(multi_class="multinomial", eta0=eta0, **params)
        y = y_classes
    else:
        model = BackwardSGDRegressor(eta0=eta0, **params)
    model.set_params(order=order, tol=None, random_state=0)
    # backward GraB keeps every epoch's order (n_epochs × n_samples integers)
    grab = order == "backward" and params.get("sampling") == "grab"
    max_iter = max(2, 4_000_000 // X.shape[0]) if grab else 10**6
    model.set_params(max_iter=1).fit(X[:20], y[:20])  # compiled
    return model.set_params(max_iter=max_iter), y


def _kernel_call_seconds(monkeypatch, model, X, y, n_calls=3):
    """Thread CPU seconds of the first ``n_calls`` kernel calls of ``model.fit``.

    Calls of the one-model kernel or of the group kernel (the multinomial
    loss's classes train as a group).
    """
    seconds = []

    def timing(real):
        def timed(*args):
            start = time.thread_time()
            result = real(*args)
            seconds.append(time.thread_time() - start)
            if len(seconds) == n_calls:
                raise _Enough
            return result

        return timed

    with monkeypatch.context() as patch:
        patch.setattr(_problem, "apply_steps", timing(_problem.apply_steps))
        patch.setattr(_engine, "apply_group_steps", timing(_engine.apply_group_steps))
        with pytest.raises(_Enough):
            model.fit(X, y)
    return seconds


def test_kernel_calls_last_about_the_same_time_whatever_the_shape(
    shaped_data, monkeypatch
):
    # the reference: the plainest fit on the narrowest rows (its call length is
    # the machine's; every other call is compared with it, so the test holds
    # on a faster or slower machine)
    X, y, y_classes = shaped_data("narrow-dense")
    model, target = _long_fit("forward", {}, X, y, y_classes)
    reference = np.median(_kernel_call_seconds(monkeypatch, model, X, target))
    lengths = {}
    for shape in SHAPES:
        X, y, y_classes = shaped_data(shape)
        for order, params in VARIANTS:
            model, target = _long_fit(order, params, X, y, y_classes)
            seconds = _kernel_call_seconds(monkeypatch, model, X, target)
            lengths[shape, order, str(params)] = max(seconds)
    # no call much longer than the reference (the Ctrl-C latency), none so
    # short that calls cost the fit its speed
    too_long = {k: v for k, v in lengths.items() if v > 2.5 * reference}
    too_short = {k: v for k, v in lengths.items() if v < reference / 10}
    assert not too_long, (reference, too_long)
    assert not too_short, (reference, too_short)
    # about 0.1 s here, at most 0.12 s: Ctrl-C within 0.5 s on a machine
    # three times slower
    assert reference < 0.25
    assert max(lengths.values()) < 0.5, lengths


def test_a_csr_fit_cut_into_calls_is_the_same_run_to_run(monkeypatch):
    # CSR calls fold the lazy weight scale at their ends, so where calls end
    # shows in the last bits: it depends on the data and parameters alone
    X, y, _ = _shaped_data("wide-csr")
    X, y = X[:300], y[:300]
    params = dict(max_iter=20, tol=None, random_state=0, average=True)
    monkeypatch.setattr(_problem, "_WORK_PER_CALL", 50_000)  # many calls
    first = BackwardSGDRegressor(order="forward", **params).fit(X, y)
    second = BackwardSGDRegressor(order="forward", **params).fit(X, y)
    assert_array_equal(first.coef_, second.coef_)
    assert first.intercept_ == second.intercept_


def _main_thread_cpu_clock():
    """The main thread's CPU clock id (Linux), or None."""
    if not hasattr(time, "pthread_getcpuclockid"):
        return None
    return time.pthread_getcpuclockid(threading.main_thread().ident)


def _seconds_to_stop(fit, delay=1.0):
    """Send SIGINT ``delay`` s into ``fit()``; (wall, main-thread CPU) s to the stop.

    The CPU time is the work the fit did before it returned to Python and
    raised ``KeyboardInterrupt``: what a machine busy with other work does not
    lengthen.
    """
    clock = _main_thread_cpu_clock()
    sent = {}

    def interrupt():
        sent["wall"] = time.perf_counter()
        sent["cpu"] = time.clock_gettime(clock) if clock is not None else sent["wall"]
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fit()
    finally:
        timer.cancel()
    wall = time.perf_counter() - sent["wall"]
    cpu = time.thread_time() - sent["cpu"] if clock is not None else wall
    return wall, cpu


@pytest.mark.parametrize(
    "shape, order, params",
    [
        ("narrow-dense", "forward", {}),
        ("narrow-dense", "backward", {}),
        ("narrow-csr", "forward", {}),
        ("narrow-csr", "backward", {}),
        ("wide-csr", "forward", {"sampling": "grab"}),
        ("wide-csr", "backward", {"sampling": "grab"}),
    ],
)
def test_ctrl_c_stops_a_fit_within_half_a_second(shaped_data, shape, order, params):
    X, y, y_classes = shaped_data(shape)
    model, target = _long_fit(order, params, X, y, y_classes)
    wall, cpu = _seconds_to_stop(lambda: model.fit(X, target))
    assert cpu < 0.5, (wall, cpu)
    assert wall < 1.0, (wall, cpu)  # on a loaded machine, still within a second
