"""The benchopt benchmark in ``benchmarks/benchopt``: its mapping and a real run.

benchopt is in the ``test`` extra; without it (an install without extras)
these tests are skipped.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    training_objective,
)
from sklearn_order.benchmarking import (
    default_step,
    glm_model,
    mean_loss_alpha,
    packed_coefficients,
)

pytest.importorskip(
    "benchopt", reason="benchopt is not installed (pip install -e '.[benchopt]')"
)

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "benchopt"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


objective = _load(BENCHMARK / "objective.py", "benchopt_objective")
report = _load(BENCHMARK / "report.py", "benchopt_report")


def test_glm_model_reads_the_task_from_the_target():
    assert glm_model(np.array([-1.0, 1.0, 1.0])) == "logreg"
    assert glm_model(np.array([0.0, 1.0])) == "ridge"
    assert glm_model(np.array([-1.0, 0.5, 1.0])) == "ridge"


def test_binary_labels_of_two_values_and_of_a_real_target():
    np.testing.assert_array_equal(
        objective.binary_labels(np.array([0.0, 1.0, 1.0])), [-1, 1, 1]
    )
    np.testing.assert_array_equal(
        objective.binary_labels(np.array([3.0, -2.0, 0.5, 7.0])), [1, -1, -1, 1]
    )


@pytest.mark.parametrize("model", ["logreg", "ridge"])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_sum_objective_is_n_times_our_mean_objective(
    rng, model, fit_intercept, sparse_input
):
    # the documented mapping alpha = lmbd / n_samples, checked against the
    # estimators' own training objective at arbitrary coefficients
    n, d, lmbd = 40, 5, 2.5
    X = rng.normal(size=(n, d))
    y = (
        objective.binary_labels(rng.normal(size=n))
        if model == "logreg"
        else rng.normal(size=n)
    )
    if sparse_input:
        X[rng.random(size=X.shape) < 0.5] = 0.0
        X = sparse.csr_matrix(X)
    beta = rng.normal(size=d + fit_intercept)
    Estimator = BackwardSGDClassifier if model == "logreg" else BackwardSGDRegressor
    estimator = Estimator(
        alpha=mean_loss_alpha(lmbd, n),
        fit_intercept=fit_intercept,
        max_iter=1,
        tol=None,
    )
    estimator.fit(X, y)
    intercept = beta[-1:] if fit_intercept else np.zeros(1)
    coef = beta[:d].reshape(estimator.coef_.shape)
    ours = n * training_objective(estimator, X, y, coef=coef, intercept=intercept)
    theirs = objective.objective_value(model, X, y, lmbd, beta, fit_intercept)
    assert ours == pytest.approx(theirs, rel=1e-12)
    packed = packed_coefficients(estimator, fit_intercept)
    assert packed.shape == beta.shape
    np.testing.assert_array_equal(packed[:d], estimator.coef_.ravel())


@pytest.mark.parametrize("model", ["logreg", "ridge"])
def test_default_step_is_the_step_eta0_auto_takes(rng, model):
    X = rng.normal(size=(30, 4))
    y = np.sign(rng.normal(size=30)) if model == "logreg" else rng.normal(size=30)
    Estimator = BackwardSGDClassifier if model == "logreg" else BackwardSGDRegressor
    estimator = Estimator(alpha=0.01, max_iter=1, tol=None).fit(X, y)
    assert default_step(X, model, 0.01, True) == estimator.eta0_


def _benchopt(benchmark, output, *options):
    command = [
        sys.executable,
        "-m",
        "benchopt",
        "run",
        str(benchmark),
        "--no-plot",
        "--no-cache",
        "--output",
        str(output),
    ]
    result = subprocess.run(
        command + list(options), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return pd.read_parquet(output)


def test_benchmark_runs_on_the_smallest_dataset(tmp_path):
    # the smallest dataset, both objectives, one of our solvers and its
    # scikit-learn counterpart, a few epochs; then the report on the output
    results = _benchopt(
        BENCHMARK,
        tmp_path / "run.parquet",
        "-d",
        "sklearn-bundled[data=diabetes]",
        "-s",
        "sklearn-order[order=backward,sampling=reshuffle,average=False]",
        "-s",
        "sklearn-sgd[average=False]",
        "--max-runs",
        "3",
        "--n-repetitions",
        "1",
    )
    assert set(results["p_obj_model"]) == {"logreg", "ridge"}
    assert results["solver_name"].nunique() == 2
    for (model, solver), runs in results.groupby(["p_obj_model", "solver_name"]):
        runs = runs.set_index("stop_val")["objective_value"]
        assert list(runs.index[:3]) == [0, 1, 2]  # epochs, from zero
        if model == "logreg":  # beta = 0 on 442 rows
            assert runs[0] == pytest.approx(442 * np.log(2.0))
        assert runs[2] < 0.9 * runs[0], solver
    text = report.report([tmp_path / "run.parquet"])
    assert "time to 0.01" in text and "median ratio" in text
    assert len(list(tmp_path.glob("run_*.png"))) == 2


def test_solver_file_drops_into_a_benchmark_without_fit_intercept(tmp_path):
    # benchmark_logreg_l2's objective hands solvers X, y and lmbd only (no
    # fit_intercept) and reads beta without an intercept: a minimal one of
    # that shape, with our solver file copied in unchanged
    (tmp_path / "solvers").mkdir()
    (tmp_path / "datasets").mkdir()
    shutil.copy(BENCHMARK / "solvers" / "sklearn_order.py", tmp_path / "solvers")
    (tmp_path / "objective.py").write_text(
        "import numpy as np\n"
        "from benchopt import BaseObjective\n\n\n"
        "class Objective(BaseObjective):\n"
        "    name = 'logreg without intercept'\n"
        "    parameters = {'lmbd': [1.0]}\n\n"
        "    def set_data(self, X, y):\n"
        "        self.X, self.y = X, y\n\n"
        "    def get_one_result(self):\n"
        "        return dict(beta=np.zeros(self.X.shape[1]))\n\n"
        "    def evaluate_result(self, beta):\n"
        "        z = self.y * (self.X @ beta)\n"
        "        penalty = self.lmbd / 2 * beta @ beta\n"
        "        return dict(value=np.logaddexp(0, -z).sum() + penalty)\n\n"
        "    def get_objective(self):\n"
        "        return dict(X=self.X, y=self.y, lmbd=self.lmbd)\n"
    )
    (tmp_path / "datasets" / "toy.py").write_text(
        "import numpy as np\n"
        "from benchopt import BaseDataset\n\n\n"
        "class Dataset(BaseDataset):\n"
        "    name = 'toy'\n\n"
        "    def get_data(self):\n"
        "        rng = np.random.default_rng(0)\n"
        "        X = rng.normal(size=(200, 5))\n"
        "        y = np.where(X[:, 0] + rng.normal(size=200) > 0, 1.0, -1.0)\n"
        "        return dict(X=X, y=y)\n"
    )
    results = _benchopt(
        tmp_path,
        tmp_path / "run.parquet",
        "-s",
        "sklearn-order[order=forward,sampling=cyclic,average=True]",
        "--max-runs",
        "3",
        "--n-repetitions",
        "1",
    )
    values = results.set_index("stop_val")["objective_value"]
    assert values[0] == pytest.approx(200 * np.log(2.0))
    assert values[2] < values[0]


@pytest.mark.parametrize("model", ["logreg", "ridge"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_both_solvers_get_the_same_precomputed_step(rng, model, fit_intercept):
    # the step is sized once in set_objective, outside the timed runs, for
    # ours as for scikit-learn's: equal-epoch times then compare equal work
    X = rng.normal(size=(50, 4)) * np.array([1.0, 3.0, 10.0, 0.5])
    y = np.sign(rng.normal(size=50)) if model == "logreg" else rng.normal(size=50)
    alpha = mean_loss_alpha(2.0, X.shape[0])
    steps = {}
    for name, parameters in [
        ("sklearn_order", dict(order="backward", sampling="reshuffle", average=False)),
        ("sklearn_sgd", dict(average=False)),
    ]:
        module = _load(BENCHMARK / "solvers" / f"{name}.py", f"benchopt_{name}")
        solver = module.Solver.get_instance(**parameters)
        solver.set_objective(X, y, 2.0, fit_intercept)
        steps[name] = solver.estimator.eta0
    expected = default_step(X, model, alpha, fit_intercept)
    assert steps == {"sklearn_order": expected, "sklearn_sgd": expected}
    assert isinstance(expected, float)
