"""The CUDA kernels (``device="cuda"``) against the CPU kernels and the NumPy reference.

Run them in their own process with Numba's CUDA simulator, on small shapes::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/test_cuda.py

(the variable must be set before Numba is imported, hence the separate
process). In an ordinary ``python -m pytest`` run they run on a real CUDA
device if there is one, and are skipped, with the reason, if not; the
no-CUDA error is then checked for real. The tests marked ``needs_gpu`` need a
real device (larger shapes, tolerances with fused multiply-adds).
"""

import importlib.util
import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import reference
from conftest import ALL_LOSSES, EPSILON, PENALTIES, make_targets
from conftest import update_rule as _rule
from numba import cuda  # only a test imports it in the main process
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, trajectory
from sklearn_order._problem import DivergenceError, Problem
from sklearn_order.losses import LOSSES, loss_parameter
from sklearn_order.penalties import penalty_strengths
from sklearn_order.sampling import SAMPLINGS
from sklearn_order.schedules import INVSCALING, LEARNING_RATES, PA1, PA2

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
ROOT = Path(__file__).parents[1]


def _real_gpu():
    if SIMULATOR:
        return False
    from sklearn_order._cuda_driver import cuda_available

    return cuda_available()


REAL_GPU = _real_gpu()
needs_cuda = pytest.mark.skipif(
    not (SIMULATOR or REAL_GPU),
    reason="no CUDA device here; run NUMBA_ENABLE_CUDASIM=1 python -m pytest "
    "tests/test_cuda.py for the simulator (as .ci/run does)",
)
needs_gpu = pytest.mark.skipif(not REAL_GPU, reason="needs a real CUDA device")
# simulator: exact (plain Python arithmetic); a GPU may fuse multiply-adds
FLOAT64_RTOL = 1e-12 if SIMULATOR else 1e-9
# short fits with a stopping rule: convergence is not the point here
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch):
    """Few threads per block: every thread strides over several rows and features."""
    if SIMULATOR:
        import sklearn_order._cuda_driver as driver

        monkeypatch.setattr(driver, "MAX_THREADS", 3)


class _Twin:
    """A problem's twin on the device, with the problem's ``apply_maps``.

    A copy of the problem (its own state, the same ``X``) trained as the one
    model of a CUDA engine; every other attribute is the problem's.
    """

    def __init__(self, problem):
        from sklearn_order._cuda_driver import CudaEngine

        self.problem = replace(problem)
        d = problem.X.shape[1]
        self.engine = CudaEngine([self.problem], [(np.zeros(d), np.zeros(1))])

    def apply_maps(self, coef, intercept, **maps):
        self.engine.params[0] = (coef, intercept)
        return self.engine.apply_maps(0, **maps)

    def __getattr__(self, name):
        return getattr(self.problem, name)


def _problems(loss, penalty, dtype, rng, *, n=23, d=4, batch_size=5, **kwargs):
    """A CPU problem and its CUDA twin on fresh random data."""
    X = rng.normal(size=(n, d)).astype(dtype)
    y = make_targets(loss, rng, n)
    s = rng.uniform(0.5, 2.0, size=n)
    problem = Problem(
        X=X,
        y=y,
        sample_weight=s,
        rule=_rule(loss, penalty, **kwargs.pop("rule", {})),
        sampling=SAMPLINGS[kwargs.pop("sampling", "reshuffle")],
        seed=11,
        batch_size=batch_size,
        **kwargs,
    )
    return problem, _Twin(problem)


def _apply(problem, theta0, **kwargs):
    coef, intercept = theta0[:-1].copy(), theta0[-1:].copy()
    records = problem.apply_maps(coef, intercept, **kwargs)
    return coef, intercept[0], records


# -- one definition, two targets ---------------------------------------------------


@needs_cuda
def test_device_twins_equal_the_cpu_functions(rng):
    from sklearn_order._jit import cuda_device
    from sklearn_order.kernels.storage import dense_row_dot, dense_row_sqnorm
    from sklearn_order.losses import loss_derivative, loss_value
    from sklearn_order.penalties import l2_decay, shrink
    from sklearn_order.schedules import row_step, step_size

    twins = [
        cuda_device(f)
        for f in (
            loss_value,
            loss_derivative,
            l2_decay,
            shrink,
            step_size,
            dense_row_dot,
            dense_row_sqnorm,
            row_step,
        )
    ]
    value, derivative, decay, prox, schedule, dot, sqnorm, pa_step = twins

    @cuda.jit
    def evaluate(codes, params, ys, ps, X, w, out):
        i = cuda.grid(1)
        if i < ys.shape[0]:
            out[i, 0] = value(codes[i], params[i], ys[i], ps[i])
            out[i, 1] = derivative(codes[i], params[i], ys[i], ps[i])
            out[i, 2] = decay(ps[i], 0.3)
            out[i, 3] = prox(ps[i], 0.5)
            out[i, 4] = schedule(INVSCALING, 0.1, i + 1, 0.5, 0.0, 0.0)
            out[i, 5] = dot(X, i, w, 0)
            out[i, 6] = sqnorm(X, i)
            out[i, 7] = pa_step(PA1 if i % 2 else PA2, 0.7, abs(ps[i]), 0.5 + i)

    losses = [loss for loss in ALL_LOSSES for _ in range(4)]
    m = len(losses)
    codes = np.array([LOSSES[loss].code for loss in losses], dtype=np.int64)
    params = np.array([loss_parameter(loss, EPSILON) for loss in losses])
    ys = np.concatenate([make_targets(loss, rng, 1) for loss in losses])
    ps = rng.normal(scale=3.0, size=m)
    X, w = rng.normal(size=(m, 11)), rng.normal(size=11)
    out = np.zeros((m, 8))
    evaluate[1, m](codes, params, ys, ps, X, w, out)
    expected = np.array(
        [
            [
                loss_value(codes[i], params[i], ys[i], ps[i]),
                loss_derivative(codes[i], params[i], ys[i], ps[i]),
                l2_decay(ps[i], 0.3),
                shrink(ps[i], 0.5),
                step_size(INVSCALING, 0.1, i + 1, 0.5, 0.0, 0.0),
                dense_row_dot(X, i, w, 0),
                dense_row_sqnorm(X, i),
                row_step(PA1 if i % 2 else PA2, 0.7, abs(ps[i]), 0.5 + i),
            ]
            for i in range(m)
        ]
    )
    assert_allclose(out, expected, rtol=FLOAT64_RTOL, atol=1e-14)


# -- the kernel against the CPU kernel and the reference ---------------------------


def _assert_matches_cpu_and_reference(
    cpu, gpu, rng, loss, order, epochs, sampling, eta, **reference_options
):
    """The CUDA twin's ``epochs`` equal the CPU kernel's and the reference's.

    ``cpu``/``gpu`` are :func:`_problems` with the elastic-net penalty
    (alpha 0.05, l1_ratio 0.4), seed 11 and the given ``sampling``.
    """
    theta0 = rng.normal(size=cpu.X.shape[1] + 1)
    kwargs = dict(
        first_step=0, n_steps=epochs * cpu.n_batches, reverse=order == "backward"
    )
    coef, b, _ = _apply(gpu, theta0, eta=eta, **kwargs)
    coef_cpu, b_cpu, _ = _apply(cpu, theta0, eta=eta, **kwargs)
    assert_allclose(coef, coef_cpu, rtol=FLOAT64_RTOL, atol=1e-13)
    assert_allclose(b, b_cpu, rtol=FLOAT64_RTOL, atol=1e-13)
    n, batch_size = len(cpu.y), cpu.batch_size
    batches = reference.batch_sequence(sampling, n, batch_size, 11, epochs)
    l2, l1 = penalty_strengths("elasticnet", 0.05, 0.4)
    w_ref, b_ref = reference.compose(
        cpu.X,
        cpu.y,
        cpu.sample_weight,
        batches,
        theta0[:-1],
        theta0[-1],
        order=order,
        eta=eta,
        loss=loss,
        param=loss_parameter(loss, EPSILON),
        l2=l2,
        l1=l1,
        **reference_options,
    )
    assert_allclose(coef, w_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(b, b_ref, rtol=1e-10, atol=1e-12)


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_kernel_matches_cpu_kernel_and_reference(loss, order, dtype, rng):
    n, batch_size, epochs = 23, 5, 2  # last batch of 3 rows
    cpu, gpu = _problems(loss, "elasticnet", dtype, rng, n=n, batch_size=batch_size)
    _assert_matches_cpu_and_reference(
        cpu, gpu, rng, loss, order, epochs, "reshuffle", eta=0.05
    )


@needs_cuda
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("sampling", [s for s in SAMPLINGS if s != "grab"])
def test_every_penalty_and_sampling_scheme(penalty, sampling, rng):
    cpu, gpu = _problems(
        "log_loss",
        penalty,
        np.float64,
        rng,
        n=13,
        batch_size=4,
        sampling=sampling,
        rule=dict(schedule=INVSCALING, fit_intercept=penalty != "l1"),
    )
    theta0 = rng.normal(size=cpu.X.shape[1] + 1)
    for reverse in (False, True):
        kwargs = dict(first_step=5, n_steps=9, reverse=reverse, eta=0.2, step_offset=3)
        got = _apply(gpu, theta0, **kwargs)
        expected = _apply(cpu, theta0, **kwargs)
        assert_allclose(got[0], expected[0], rtol=FLOAT64_RTOL, atol=1e-13)
        assert_allclose(got[1], expected[1], rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
def test_losses_records_and_average_match_the_cpu(rng):
    cpu, gpu = _problems("huber", "l2", np.float32, rng, average_start=4)
    theta0 = rng.normal(size=cpu.X.shape[1] + 1)
    results = []
    for problem in (cpu, gpu):
        losses = np.zeros(3)
        coef, b, records = _apply(
            problem,
            theta0,
            first_step=2,
            n_steps=12,
            reverse=False,
            eta=0.1,
            track_loss=True,
            epoch_losses=losses,
            record_every=3,
        )
        results.append((coef, b, records, losses, problem.state.running_mean.copy()))
    for got, expected in zip(*results):
        assert_allclose(got, expected, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("loss", ["hinge", "epsilon_insensitive"])
def test_passive_aggressive_steps_match_cpu_and_reference(
    loss, learning_rate, order, rng
):
    """Per-row steps from the loss and ``‖x‖²``; PA-I skips rows with ``x = 0``
    (rows 0–4 here: one whole batch of the cyclic first epoch)."""
    n, batch_size, epochs, C = 23, 5, 2, 0.4
    cpu, gpu = _problems(
        loss,
        "elasticnet",
        np.float64,
        rng,
        n=n,
        batch_size=batch_size,
        sampling="cyclic",
        rule=dict(schedule=LEARNING_RATES[learning_rate]),
    )
    cpu.X[:5] = 0.0  # the CUDA twin shares this X (copied to the device on use)
    _assert_matches_cpu_and_reference(
        cpu, gpu, rng, loss, order, epochs, "cyclic", eta=C,
        passive_aggressive=learning_rate,
    )  # fmt: skip


@needs_cuda
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
def test_passive_aggressive_fit_matches_cpu(learning_rate, rng):
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 3, size=40)
    params = dict(
        loss="hinge",
        learning_rate=learning_rate,
        eta0=0.3,
        batch_size=4,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    gpu = BackwardSGDClassifier(device="cuda", **params).fit(X, y)
    cpu = BackwardSGDClassifier(**params).fit(X, y)
    assert_allclose(gpu.coef_, cpu.coef_, rtol=FLOAT64_RTOL, atol=1e-13)
    assert_allclose(gpu.intercept_, cpu.intercept_, rtol=FLOAT64_RTOL, atol=1e-13)


# -- launch shapes: the same numbers whatever the threads, memory and pieces ---------


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_threads_global_memory_and_launch_pieces_change_nothing(
    order, rng, monkeypatch
):
    import sklearn_order._cuda_driver as driver

    _, gpu = _problems("modified_huber", "elasticnet", np.float64, rng, n=16)
    theta0 = rng.normal(size=gpu.X.shape[1] + 1)
    kwargs = dict(
        first_step=1,
        n_steps=11,
        reverse=order == "backward",
        eta=0.1,
        track_loss=True,
        record_every=0 if order == "backward" else 2,
    )

    def run():
        losses = np.zeros(4)
        coef, b, records = _apply(gpu, theta0, epoch_losses=losses, **kwargs)
        return np.concatenate([coef, [b], records.ravel(), losses])

    baseline = run()
    assert_array_equal(run(), baseline)  # run to run
    for threads in (1, 32):  # one row group: the CPU's arithmetic
        monkeypatch.setattr(driver, "MAX_THREADS", threads)
        assert_array_equal(run(), baseline)
    # several row groups (some empty in the last batch of 1 row): re-associated
    # sums, so equal to rounding, and again identical run to run
    monkeypatch.setattr(driver, "MIN_ROWS_PER_GROUP", 1)
    for threads, groups in ((12, 2), (32, 5)):
        monkeypatch.setattr(driver, "MAX_THREADS", threads)
        assert driver.launch_shape(4, 5)[1] == groups
        grouped = run()
        assert_allclose(grouped, baseline, rtol=1e-12, atol=1e-14)
        assert_array_equal(run(), grouped)
    monkeypatch.setattr(driver, "SHARED_MEMORY_BYTES", 0)  # θ in global memory
    assert driver.launch_shape(4, 5)[2] == 0
    assert_array_equal(run(), grouped)
    # one map per launch, and a table piece of one epoch per launch, with the
    # launch shape above (on a GPU the grouped sums differ from the baseline's
    # in the last bit: compare with the same shape)
    monkeypatch.setattr(driver, "WORK_PER_LAUNCH", 1)
    monkeypatch.setattr(driver, "TABLE_BYTES", 4 * gpu.n_samples)
    assert driver._maps_per_launch(gpu.problem, 0) == 1
    assert_array_equal(run(), grouped)


@needs_cuda
def test_order_table_is_uploaded_a_logarithmic_number_of_times(monkeypatch):
    import sklearn_order._cuda_driver as driver
    from sklearn_order.sampling import fill_epoch_order

    data = driver._DeviceData(np.zeros((10, 2)))
    scheme = SAMPLINGS["reshuffle"]
    ranges = []
    for epoch in range(9):  # a forward fit asking for one epoch at a time
        table, first, period = data.table(scheme, 5, epoch, 1)
        ranges.append((first, table.shape[0]))
        order = np.empty(10, dtype=np.int64)
        fill_epoch_order(scheme, 5, epoch, order)
        assert_array_equal(table.copy_to_host()[epoch - first], order)
        assert period == 0
    assert sorted(set(ranges)) == [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16)]
    # beyond the budget, only what is asked
    monkeypatch.setattr(driver, "TABLE_BYTES", 4 * 10 * 3)
    table, first, _ = data.table(scheme, 5, 40, 2)
    assert (first, table.shape[0]) == (40, 2)
    # schemes whose epochs all have one order keep one row
    assert data.table(SAMPLINGS["cyclic"], 5, 7, 3)[0].shape[0] == 1


def test_launch_shape_of_the_benchmark_problem(monkeypatch):
    import sklearn_order._cuda_driver as driver
    from sklearn_order._cuda_driver import launch_shape

    monkeypatch.setattr(driver, "MAX_THREADS", 800)  # the default

    # n_features=256, batch 4096: 800 threads, three row groups, θ in shared memory
    assert launch_shape(256, 4096) == (800, 3, 8 * (257 + 3 * 258))
    assert launch_shape(256, 32) == (800, 3, 8 * (257 + 3 * 258))
    assert launch_shape(256, 16) == (544, 2, 8 * (257 + 2 * 258))
    assert launch_shape(7000, 256)[2] == 0  # θ in global memory


def test_a_launch_counts_each_maps_fixed_cost(monkeypatch):
    # on 1,000,000 × 2 rows a launch sized by the rows' multiply-adds alone
    # held ~7e8 maps (minutes between returns to Python): the fixed cost of a
    # map counts too, as for the CPU's calls (one estimate, Problem.map_cost)
    import sklearn_order._cuda_driver as driver
    from sklearn_order._problem import MAP_OVERHEAD
    from sklearn_order.diagnostics import training_problems

    X = np.random.default_rng(0).normal(size=(1_000_000, 2))
    model = BackwardSGDRegressor(max_iter=10**6, tol=None)
    (problem,) = training_problems(model, X, X[:, 0])[1]
    monkeypatch.setattr(driver, "TABLE_BYTES", 2**62)  # not the limit here
    maps = driver._maps_per_launch(problem, 0)
    assert maps == driver.WORK_PER_LAUNCH // problem.map_cost()
    assert maps * MAP_OVERHEAD <= driver.WORK_PER_LAUNCH


# -- the estimators ----------------------------------------------------------------


def _multiclass(rng, n=24, d=4):
    X = rng.normal(size=(n, d))
    y = np.argmax(X[:, :3] + 0.5 * rng.normal(size=(n, 3)), axis=1)
    return X, y


@needs_cuda
@pytest.mark.parametrize(
    "params",
    [
        dict(order="backward", tol=1e-3, max_iter=4),  # the doubling test
        dict(order="forward", tol=1e-3, n_iter_no_change=2, max_iter=6),
        dict(order="forward", average=3, max_iter=3, tol=None),
        dict(order="forward", learning_rate="adaptive", max_iter=5, tol=1e-2),
        dict(order="backward", early_stopping=True, max_iter=4, tol=1e-3),
    ],
    ids=["backward", "forward", "average", "adaptive", "early_stopping"],
)
def test_one_vs_rest_fit_matches_cpu(params, rng):
    X, y = _multiclass(rng)
    common = dict(batch_size=6, eta0=0.1, alpha=0.01, random_state=3, **params)
    gpu = BackwardSGDClassifier(device="cuda", **common).fit(X, y)
    cpu = BackwardSGDClassifier(**common).fit(X, y)
    assert gpu.coef_.shape == (3, 4)
    assert type(gpu.coef_) is np.ndarray and type(gpu.intercept_) is np.ndarray
    assert gpu.n_iter_ == cpu.n_iter_ and gpu.t_ == cpu.t_
    assert_allclose(gpu.coef_, cpu.coef_, rtol=FLOAT64_RTOL, atol=1e-13)
    assert_allclose(gpu.intercept_, cpu.intercept_, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_regressor_fit_and_partial_fit_match_cpu(order, rng):
    X = rng.normal(size=(20, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=20)
    common = dict(order=order, batch_size=3, max_iter=4, tol=None, random_state=0)
    for method in ("fit", "partial_fit"):
        models = [
            getattr(BackwardSGDRegressor(device=device, **common), method)(X, y)
            for device in ("cuda", "cpu")
        ]
        assert models[0].coef_.dtype == np.float32
        assert_allclose(models[0].coef_, models[1].coef_, rtol=1e-6)
        assert_allclose(models[0].intercept_, models[1].intercept_, rtol=1e-6)


@needs_cuda
def test_same_random_state_gives_bit_identical_fits(rng):
    X, y = _multiclass(rng)
    fits = [
        BackwardSGDClassifier(
            device="cuda", batch_size=5, max_iter=3, tol=None, random_state=7
        ).fit(X, y)
        for _ in range(2)
    ]
    assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert_array_equal(fits[0].intercept_, fits[1].intercept_)


@needs_cuda
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_backward_trajectory_chains_match_cpu(loss, rng):
    X = rng.normal(size=(15, 3))
    y = make_targets(loss, rng, 15)
    common = dict(batch_size=4, eta0=0.1, random_state=2, penalty="l1", alpha=0.01)
    estimator = (
        BackwardSGDClassifier(loss=loss, **common)
        if LOSSES[loss].task == "classification"
        else BackwardSGDRegressor(loss=loss, **common)
    )
    paths = [
        trajectory(estimator.set_params(device=device), X, y, n_steps=9, every=2)
        for device in ("cuda", "cpu")
    ]
    assert paths[0].method == "replay"
    assert_allclose(paths[0].coef, paths[1].coef, rtol=FLOAT64_RTOL, atol=1e-13)
    assert_allclose(
        paths[0].intercept, paths[1].intercept, rtol=FLOAT64_RTOL, atol=1e-13
    )


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_divergence_raises_the_cpu_error(order, rng):
    X = 100 * rng.normal(size=(12, 3))
    y = 100 * rng.normal(size=12)
    model = BackwardSGDRegressor(
        order=order, eta0=10.0, penalty=None, batch_size=2, max_iter=5, tol=None
    )
    messages = []
    for device in ("cuda", "cpu"):
        with pytest.raises(DivergenceError) as error:
            model.set_params(device=device).fit(X, y)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert not hasattr(model, "coef_")


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_large_targets_clip_the_derivative_as_on_the_cpu(order, rng):
    """Targets at the clipping bound: the device clips as the CPU does,
    rather than calling the bound divergence."""
    X = rng.normal(size=(12, 3))
    y = 2e12 + X @ np.array([1.0, 2.0, 3.0])
    common = dict(order=order, batch_size=2, max_iter=40, tol=None, random_state=0)
    gpu, cpu = (
        BackwardSGDRegressor(device=device, **common).fit(X, y)
        for device in ("cuda", "cpu")
    )
    assert_allclose(gpu.intercept_, cpu.intercept_, rtol=FLOAT64_RTOL)
    # the residuals are known to about 1e-3 at predictions of 2e12
    assert_allclose(gpu.coef_, cpu.coef_, rtol=FLOAT64_RTOL, atol=1e-2)


@needs_cuda
def test_grab_is_refused_with_a_clear_error(rng):
    X, y = _multiclass(rng)
    with pytest.raises(ValueError, match="grab.*not supported"):
        BackwardSGDClassifier(device="cuda", sampling="grab").fit(X, y)


@needs_cuda
def test_model_fitted_on_the_device_pickles_and_predicts_without_cuda(rng, tmp_path):
    X, y = _multiclass(rng)
    model = BackwardSGDClassifier(
        device="cuda", batch_size=4, max_iter=2, tol=None, random_state=0
    ).fit(X, y)
    pickled = pickle.dumps(model)
    assert b"numba" not in pickled and b"Device" not in pickled
    (tmp_path / "model.pkl").write_bytes(pickled)
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(
        f"""
        import pickle, sys, numpy as np
        X = np.load({str(tmp_path / "X.npy")!r})
        model = pickle.loads(open({str(tmp_path / "model.pkl")!r}, "rb").read())
        print(model.decision_function(X).tobytes().hex())
        assert "numba.cuda" not in sys.modules
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    ).stdout.strip()
    assert out == model.decision_function(X).tobytes().hex()


# -- the engine: plain problems, their models side by side in one launch -------------


def _spy_on_launches(monkeypatch):
    """The number of blocks of every kernel launch from now on."""
    from sklearn_order.kernels import cuda as kernels

    launches = []
    kernel = kernels.apply_steps_kernel

    class Spy:
        def __getitem__(self, config):
            launches.append(config[0])
            return kernel[config]

    monkeypatch.setattr(kernels, "apply_steps_kernel", Spy())
    return launches


def _engines(problems, d):
    """A CUDA engine of copies of ``problems`` and a CPU engine for each."""
    from sklearn_order._cuda_driver import CudaEngine
    from sklearn_order._engine import SingleEngine

    twins = [replace(p) for p in problems]  # their own states, the same X
    device = CudaEngine(twins, [(np.zeros(d), np.zeros(1)) for _ in problems])
    alone = [SingleEngine(p, np.zeros(d), np.zeros(1)) for p in problems]
    return device, alone


@needs_cuda
def test_the_engine_holds_plain_problems_and_the_device_chooses_it(rng):
    from sklearn_order._cuda_driver import CudaEngine
    from sklearn_order._engine import SingleEngine, build_engine

    problem, _ = _problems("log_loss", "l2", np.float64, rng)
    params = [(np.zeros(4), np.zeros(1))]
    engine = build_engine([problem], params, device="cuda")
    assert isinstance(engine, CudaEngine) and not isinstance(engine, Problem)
    assert type(engine.problems[0]) is Problem and not engine.couples_chains
    assert isinstance(build_engine([problem], params), SingleEngine)


@needs_cuda
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_one_vs_rest_classes_train_in_one_launch(order, rng, monkeypatch):
    X, y = _multiclass(rng)
    common = dict(order=order, batch_size=6, eta0=0.1, max_iter=3, tol=None)
    cpu = BackwardSGDClassifier(random_state=3, **common).fit(X, y)
    launches = _spy_on_launches(monkeypatch)
    gpu = BackwardSGDClassifier(device="cuda", random_state=3, **common).fit(X, y)
    assert launches == [3]  # the three classes, one block each
    assert_allclose(gpu.coef_, cpu.coef_, rtol=FLOAT64_RTOL, atol=1e-13)
    assert_allclose(gpu.intercept_, cpu.intercept_, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
def test_each_launch_runs_the_classes_still_training(rng, monkeypatch):
    """The doubling test: each evaluated iterate is one launch of the models
    still training (one per class), and the fit equals the CPU's."""
    X, y = _multiclass(rng)
    common = dict(batch_size=6, eta0=0.1, alpha=0.01, max_iter=8, tol=1e-3)
    cpu = BackwardSGDClassifier(random_state=3, **common).fit(X, y)
    launches = _spy_on_launches(monkeypatch)
    gpu = BackwardSGDClassifier(device="cuda", random_state=3, **common).fit(X, y)
    assert launches[0] == 3 and len(launches) <= 4  # 1, 2, 4, 8 epochs
    assert launches == sorted(launches, reverse=True)
    assert gpu.n_iter_ == cpu.n_iter_
    assert_allclose(gpu.coef_, cpu.coef_, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
def test_a_diverging_model_is_reported_alone(rng, monkeypatch):
    """One launch; the model that diverges fails with the CPU's error and
    keeps its parameters, the others are the CPU's."""
    X = rng.normal(size=(12, 3))
    y = make_targets("log_loss", rng, 12)
    rule = _rule("squared_error", "l2")
    problems = [
        Problem(
            X=X,
            y=y,
            sample_weight=np.full(12, weight),
            rule=rule,
            sampling=SAMPLINGS["reshuffle"],
            seed=5,
            batch_size=3,
            eta0=0.1,
        )
        for weight in (1.0, 1e3, 0.5)
    ]
    device, alone = _engines(problems, 3)
    run = dict(first_epoch=0, n_epochs=3, reverse=False, t_start=0, track_loss=True)
    launches = _spy_on_launches(monkeypatch)
    losses, failures = device.run_epochs([0, 1, 2], etas=[0.1] * 3, **run)
    assert launches == [3]
    assert list(failures) == [1]
    _, expected = alone[1].run_epochs([0], etas=[0.1], **run)
    assert str(failures[1]) == str(expected[0])
    assert not device.params[1][0].any() and not device.params[1][1].any()
    for m in (0, 2):
        cpu_losses, cpu_failures = alone[m].run_epochs([0], etas=[0.1], **run)
        assert not cpu_failures
        assert_allclose(losses[m], cpu_losses[0], rtol=FLOAT64_RTOL)
        for got, expected in zip(device.params[m], alone[m].params[0]):
            assert_allclose(got, expected, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
@pytest.mark.parametrize("reverse", [False, True])
def test_models_launch_together_where_they_share_the_step(reverse, rng, monkeypatch):
    """Four models on the training rows of early stopping: those with one step
    size share a launch, one block each; each equals its fit alone."""
    X = rng.normal(size=(14, 3))
    rows = np.flatnonzero(rng.random(14) < 0.7)
    problems = [
        Problem(
            X=X,
            y=make_targets("hinge", rng, 14),
            sample_weight=rng.uniform(0.5, 2.0, size=14),
            rule=_rule("hinge", "elasticnet"),
            sampling=SAMPLINGS["reshuffle"],
            seed=7,
            batch_size=4,
            rows=rows,
            classification=True,
        )
        for _ in range(4)
    ]
    device, alone = _engines(problems, 3)
    etas = [0.1, 0.05, 0.1, 0.1]
    run = dict(first_epoch=1, n_epochs=2, reverse=reverse, t_start=3)
    launches = _spy_on_launches(monkeypatch)
    _, failures = device.run_epochs([3, 0, 1, 2], etas=[0.1, 0.1, 0.05, 0.1], **run)
    assert not failures and sorted(launches) == [1, 3]
    for m, engine in enumerate(alone):
        assert not engine.run_epochs([0], etas=[etas[m]], **run)[1]
        for got, expected in zip(device.params[m], engine.params[0]):
            assert_allclose(got, expected, rtol=FLOAT64_RTOL, atol=1e-13)


@needs_cuda
@pytest.mark.parametrize("average", [False, 3])
def test_forward_trajectory_runs_on_the_device_as_on_the_cpu(average, rng):
    X, y = _multiclass(rng, n=15, d=3)
    estimator = BackwardSGDClassifier(
        order="forward", batch_size=4, eta0=0.1, random_state=2, average=average
    )
    for request in (dict(n_steps=9, every=2), dict(steps=[2, 5, 9])):
        paths = [
            trajectory(estimator.set_params(device=device), X, y, **request)
            for device in ("cuda", "cpu")
        ]
        assert paths[0].method == "pass" and paths[0].coef.shape[1] == 3
        assert_allclose(paths[0].coef, paths[1].coef, rtol=FLOAT64_RTOL, atol=1e-13)
        assert_allclose(
            paths[0].intercept, paths[1].intercept, rtol=FLOAT64_RTOL, atol=1e-13
        )


# -- without CUDA --------------------------------------------------------------------


def _check_no_cuda_error(rng):
    from sklearn_order._cuda_driver import CudaUnavailableError

    X, y = _multiclass(rng)
    model = BackwardSGDClassifier(device="cuda", max_iter=2)
    with pytest.raises(CudaUnavailableError, match=r'pip install -e "\.\[cuda\]"'):
        model.fit(X, y)
    assert not hasattr(model, "coef_")
    # the same estimator fits on the CPU
    model.set_params(device="cpu").fit(X, y)


@pytest.mark.skipif(
    REAL_GPU or SIMULATOR, reason="a CUDA device (or the simulator) is available"
)
def test_device_cuda_without_cuda_is_a_clear_error(rng):
    _check_no_cuda_error(rng)


@needs_cuda
def test_device_cuda_without_cuda_is_a_clear_error_simulated(rng, monkeypatch):
    import sklearn_order._cuda_driver as driver

    monkeypatch.setattr(
        driver, "_unavailable_reason", lambda: "No CUDA device is available."
    )
    assert not driver.cuda_available()
    _check_no_cuda_error(rng)


def test_device_is_validated():
    with pytest.raises(ValueError, match="device"):
        BackwardSGDRegressor(device="gpu").fit([[0.0], [1.0]], [0.0, 1.0])


def test_importing_the_package_does_not_import_numba_cuda():
    code = (
        "import sys, sklearn_order, sklearn_order.kernels.cpu; "
        "assert 'numba.cuda' not in sys.modules, 'numba.cuda imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- the benchmark script ------------------------------------------------------------


@needs_cuda
def test_benchmark_quick_mode_runs():
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cuda.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode == 0, result.stderr
    assert "| **CPU ÷ GPU** | configuration | CPU s | GPU s |" in result.stdout


# -- compiled for a GPU, without one -------------------------------------------------


def test_kernel_compiles_for_a_gpu_within_its_register_budget(monkeypatch, tmp_path):
    """Type inference and code generation for a real GPU (sm_90), no GPU needed.

    The simulator runs the kernel as Python and checks no types; this compiles
    it with NVVM and assembles it with ptxas, from the CUDA toolkit wheels of
    the ``cuda`` extra, and checks that a block of ``MAX_BLOCK_THREADS``
    threads fits the register file.
    """
    if SIMULATOR:
        pytest.skip("the simulator compiles nothing")
    pytest.importorskip("numba_cuda", reason="needs numba-cuda (the cuda extra)")
    nvcc = pytest.importorskip("nvidia.cuda_nvcc", reason="needs the toolkit wheels")
    ptxas = Path(list(nvcc.__path__)[0]) / "bin" / "ptxas"
    if not ptxas.exists():
        pytest.skip("no ptxas in the toolkit wheels")
    import numba.cuda.dispatcher as dispatcher
    from numba import typeof

    from sklearn_order.kernels import cuda as kernels

    if not REAL_GPU:  # device functions ask the current device what to target
        monkeypatch.setattr(
            dispatcher,
            "get_current_device",
            lambda: type("Device", (), {"compute_capability": (9, 0)})(),
        )
    rule = _rule("log_loss", "elasticnet").cuda_scalars()
    for dtype in (np.float32, np.float64):
        f64, i64 = np.zeros((1, 5)), np.zeros(1, dtype=np.int64)
        args = (np.zeros((10, 4), dtype), f64, f64, i64, f64, i64, i64, True, 0)
        args += (rule, 0.1, 5, np.zeros((2, 10), np.int32), 0, 0, False, f64, 0, 0)
        args += (np.zeros((1, 0, 5)), 0, 0, f64, np.zeros((1, 2), np.int64), 2)
        args += (np.zeros((1, 15)), True, np.zeros((1, 15)))
        signature = tuple(typeof(a) for a in args)
        ptx, _ = cuda.compile_ptx(kernels._apply_steps_kernel, signature, cc=(9, 0))
        (tmp_path / "kernel.ptx").write_text(ptx)
        limit = str(kernels._MAX_REGISTERS)
        info = subprocess.run(
            [str(ptxas), "-arch=sm_90", "-v", "-maxrregcount", limit]
            + [str(tmp_path / "kernel.ptx"), "-o", str(tmp_path / "kernel.cubin")],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        registers = int(info.split("Used ")[-1].split(" registers")[0])
        assert registers * kernels.MAX_BLOCK_THREADS <= 65536


# -- a real device -------------------------------------------------------------------


@needs_gpu
@pytest.mark.parametrize("n_features", [300, 7000])  # θ in shared / global memory
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_on_a_gpu_larger_fits_match_cpu(order, dtype, n_features, rng):
    X = rng.normal(size=(3000, n_features)).astype(dtype) / np.sqrt(n_features)
    y = (X[:, 0] + 0.1 * rng.normal(size=3000) > 0).astype(int)
    common = dict(
        order=order, batch_size=256, max_iter=3, tol=None, random_state=0, eta0=0.5
    )
    gpu = BackwardSGDClassifier(device="cuda", **common).fit(X, y)
    again = BackwardSGDClassifier(device="cuda", **common).fit(X, y)
    cpu = BackwardSGDClassifier(**common).fit(X, y)
    assert_array_equal(gpu.coef_, again.coef_)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    scale = np.abs(cpu.coef_).max()
    assert np.abs(gpu.coef_ - cpu.coef_).max() <= rtol * scale
    assert abs(gpu.intercept_[0] - cpu.intercept_[0]) <= rtol * max(scale, 1.0)


# NumPy 2.5 removed np.row_stack, and what numba-cuda's CUDA target loads on
# its first compile registers a compiled np.row_stack: a subprocess (no
# simulator) imports that module as a NumPy without the alias would.
WITHOUT_ROW_STACK = """
import sys
import numpy as np
del np.row_stack
np.__all__ = [name for name in np.__all__ if name != "row_stack"]
if sys.argv[1] == "through the package":
    from sklearn_order._cuda_import import numba_cuda
    numba_cuda()
import numba.cuda.np.arrayobj  # what a first CUDA compile loads
"""


@pytest.mark.skipif(
    importlib.util.find_spec("numba_cuda") is None,
    reason="numba-cuda (the [cuda] extra) is not installed; .ci/run installs it "
    "for the simulator step",
)
def test_numba_cuda_loads_under_a_numpy_without_row_stack():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}

    def run(how):
        return subprocess.run(
            [sys.executable, "-c", WITHOUT_ROW_STACK, how],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    bare = run("bare")  # the failure the package's import works around
    assert bare.returncode != 0 and "row_stack" in bare.stderr
    through = run("through the package")
    assert through.returncode == 0, through.stderr
