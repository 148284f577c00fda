"""``python -m sklearn_order warmup``: every kernel a fit may need, compiled ahead."""

import os
import subprocess
import sys

import pytest

from sklearn_order import warmup
from sklearn_order.cli import main

# Fits, partial fits and trajectories of settings the warm-up does not list
# one by one (other losses, penalties, schedules, sampling schemes, batch
# sizes, weights, threads), on every storage and dtype, each reporting the
# functions Numba compiled for it.
_AFTER_WARM_UP = """
import warnings
import numpy as np
from numba.core import event
from sklearn_order import BackwardSGDClassifier as C, BackwardSGDRegressor as R
from sklearn_order.diagnostics import coalescence, trajectory
from sklearn_order.warmup import DTYPES, STORAGES, VARIANTS, _data

SETTINGS = [
    (C, dict(loss="hinge", penalty="l1")),
    (C, dict(loss="modified_huber", penalty="elasticnet", order="forward")),
    (C, dict(learning_rate="optimal", sampling="cyclic")),
    (C, dict(learning_rate="invscaling", sampling="once", order="forward",
             average=True)),
    (C, dict(learning_rate="pa2", loss="hinge", sampling="flipflop")),
    (C, dict(sampling="with_replacement", batch_size=7, class_weight={0: 2.0})),
    (C, dict(early_stopping=True, order="forward", n_iter_no_change=2)),
    (C, dict(fit_intercept=False, n_jobs=2)),
    (C, dict(multi_class="multinomial", order="forward", average=True)),
    (C, dict(multi_class="multinomial", sampling="grab")),
    (R, dict(loss="huber", learning_rate="adaptive", order="forward")),
    (R, dict(loss="epsilon_insensitive", order="forward", sampling="grab",
             average=True)),
    (R, dict(penalty="l1", early_stopping=True)),
    (R, dict(order="forward", tol=None, batch_size=5)),
]
warnings.simplefilter("ignore")
compiled = []
for storage in STORAGES:
    for dtype in DTYPES:
        for kind, params in SETTINGS:
            variant = VARIANTS[0]._replace(
                estimator="classifier" if kind is C else "regressor",
                storage=storage, dtype=dtype,
            )
            X, y = _data(variant)
            model = kind(max_iter=3, random_state=0, **params)
            calls = [("fit", lambda: model.fit(X, y, sample_weight=np.ones(len(y))))]
            if kind is C:  # two classes: one model alone (three: a group)
                calls.append(("binary fit", lambda: kind(**model.get_params()).fit(
                    X, y % 2, sample_weight=np.ones(len(y)))))
            if not params.get("early_stopping"):
                kw = {"classes": np.unique(y)} if kind is C else {}
                calls.append(("partial_fit", lambda: model.partial_fit(X, y, **kw)))
            if params.get("multi_class") != "multinomial":
                calls.append(("trajectory", lambda: trajectory(model, X, y, n_steps=5)))
                if params.get("order", "backward") == "backward":
                    calls.append(
                        ("coalescence", lambda: coalescence(model, X, y, n_steps=5))
                    )
            for name, call in calls:
                with event.install_recorder("numba:compile") as recorder:
                    call()
                names = [record[1].data["dispatcher"].py_func.__qualname__
                         for record in recorder.buffer if record[1].is_start]
                if names:
                    compiled.append(f"{name} {params} {storage} {dtype}: {names}")
print("\\n".join(compiled) or "nothing compiled")
"""


def _run(*args):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False
    )


def test_after_the_warm_up_no_fit_compiles_anything():
    # the warm-up fills the cache this test session uses (a no-op when the
    # suite was warmed up first, as .ci/run does)
    warmed = _run("-m", "sklearn_order", "warmup", "--jobs", "2")
    assert warmed.returncode == 0, warmed.stderr
    assert f"{len(warmup.VARIANTS)} variants" in warmed.stdout
    assert "functions compiled in" in warmed.stdout
    checked = _run("-c", _AFTER_WARM_UP)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "nothing compiled", checked.stdout


def test_every_variant_runs_in_this_process_without_a_cache(monkeypatch):
    # without a writable cache compiled code cannot outlive a worker process:
    # the variants run here, and each is reported once
    monkeypatch.setattr(warmup, "cache_directory", lambda: None)
    variants = [v for v in warmup.VARIANTS if v.storage == "dense"][:2]
    reported = []
    results = warmup.warm_up(
        variants, jobs=2, report=lambda v, s, n: reported.append(v)
    )
    assert reported == variants
    assert [v for v, _, _ in results] == variants
    assert all(seconds >= 0 and n_compiled >= 0 for _, seconds, n_compiled in results)


def test_a_variant_reports_no_compilation_once_its_kernels_are_loaded():
    variant = warmup.VARIANTS[0]
    warmup.run_variant(variant)
    seconds, n_compiled = warmup.run_variant(variant)
    assert n_compiled == 0


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_the_jobs_option_must_be_a_positive_integer(jobs, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["warmup", "--jobs", jobs])
    assert exited.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_warm_up_refuses_a_non_positive_job_count():
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        warmup.warm_up(warmup.VARIANTS[:1], jobs=0)


def test_every_storage_and_dtype_of_every_kind_is_listed():
    kinds = {(v.job, v.estimator, v.params) for v in warmup.VARIANTS}
    assert len(warmup.VARIANTS) == len(kinds) * len(warmup.STORAGES) * len(
        warmup.DTYPES
    )


# A first fit in a fresh process with an empty cache: the functions it compiled.
_FIRST_FIT_COMPILES = """
import numpy as np
from numba.core import event
from sklearn_order import BackwardSGDClassifier

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
y = (X[:, 0] > 0).astype(int)
with event.install_recorder("numba:compile") as recorder:
    BackwardSGDClassifier(random_state=0).fit(X, y)
for _, ev in recorder.buffer:
    if ev.is_start:
        function = ev.data["dispatcher"].py_func
        print(function.__module__, function.__qualname__, *ev.data["args"], sep="|")
"""


def test_a_dense_float64_fit_compiles_only_what_it_calls(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_FIT_COMPILES],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    compiled = [line.split("|") for line in done.stdout.splitlines()]
    assert compiled, done.stderr
    names = {f"{module}.{name}" for module, name, *_ in compiled}
    assert "sklearn_order.kernels.cpu.apply_steps" in names
    # not the diagnostics' kernels, not the CSR row operations, not float32
    assert not any(".trajectory" in name for name in names), names
    assert not any("_csr_" in name or "CSRRows" in name for name in names), names
    arguments = " ".join(" ".join(types) for _, _, *types in compiled)
    assert "float32" not in arguments
    assert "CSRRows" not in arguments
