"""The CV estimator against GridSearchCV: a grid cross-validated in few passes.

Side by side in one process, ``Pipeline(StandardScaler(), …)`` on 100,000 ×
54 with 3 classes (``log_loss``, ``alpha=1e-4``, constant step,
``max_iter=5``, ``tol=None``; one thread each; every search refits its best
candidate):

1. **6 candidates, 3 folds** (``order ∈ {forward, backward}`` × ``eta0 ∈
   {0.001, 0.01, 0.1}``): ``BackwardSGDClassifierCV`` against
   ``GridSearchCV(SGDClassifier)`` over ``average ∈ {False, True}`` × the
   same ``eta0`` values, and against ``GridSearchCV(BackwardSGDClassifier)``
   over the same grid;
2. **50 candidates, 5 folds** (``order`` × 5 ``eta0`` × 5 ``alpha``):
   ``BackwardSGDClassifierCV`` against ``GridSearchCV(SGDClassifier)`` over
   ``average`` × the same ``eta0`` and ``alpha`` values.

Each round times every contender once, in turn (the harness's ``paired``);
the ratio of a round is ours over theirs, and the report gives the median of
the rounds' ratios (and each contender's median time). Before
timing, the script checks the contract: the CV estimator's ``cv_results_``
split scores equal ``GridSearchCV(BackwardSGDClassifier)``'s exactly.

Run::

    python benchmarks/bench_cv.py           # writes docs/benchmarks/cv.{md,json}
    python benchmarks/bench_cv.py --quick   # small smoke run (writes nothing)

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import warnings
from pathlib import Path

import _harness
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier, BackwardSGDClassifierCV

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "cv"
COMMON = {
    "loss": "log_loss",
    "alpha": 1e-4,
    "learning_rate": "constant",
    "max_iter": 5,
    "tol": None,
    "random_state": 0,
}
ORDERS = ["forward", "backward"]


def grids(n_eta0, n_alpha):
    """The eta0 and alpha values of a grid (alpha fixed when ``n_alpha`` is 1)."""
    etas = [0.001, 0.01, 0.1] if n_eta0 == 3 else list(np.geomspace(1e-3, 1e-1, n_eta0))
    alphas = [1e-4] if n_alpha == 1 else list(np.geomspace(1e-6, 1e-2, n_alpha))
    return [float(e) for e in etas], [float(a) for a in alphas]


def contenders(etas, alphas, cv):
    """The three searches over a grid, as name -> unfitted estimator."""
    ours = BackwardSGDClassifierCV(
        **COMMON, orders=ORDERS, eta0s=etas, alphas=alphas, cv=cv
    )
    step = "backwardsgdclassifier__"
    theirs_grid = {f"{step}order": ORDERS, f"{step}eta0": etas, f"{step}alpha": alphas}
    sgd = "sgdclassifier__"
    return {
        "BackwardSGDClassifierCV": make_pipeline(StandardScaler(), ours),
        "GridSearchCV(SGDClassifier)": GridSearchCV(
            make_pipeline(StandardScaler(), SGDClassifier(**COMMON)),
            {f"{sgd}average": [False, True], f"{sgd}eta0": etas, f"{sgd}alpha": alphas},
            cv=cv,
        ),
        "GridSearchCV(BackwardSGDClassifier)": GridSearchCV(
            make_pipeline(StandardScaler(), BackwardSGDClassifier(**COMMON)),
            theirs_grid,
            cv=cv,
        ),
    }


def check_contract(etas, alphas, cv, X, y):
    """The CV estimator's split scores equal GridSearchCV's exactly.

    On the scaled data, without the pipeline: ``Pipeline(StandardScaler(),
    CV)`` scales once, ``GridSearchCV(Pipeline)`` per fold.
    """
    X = StandardScaler().fit_transform(X)
    ours = BackwardSGDClassifierCV(
        **COMMON, orders=ORDERS, eta0s=etas, alphas=alphas, cv=cv
    ).fit(X, y)
    theirs = GridSearchCV(
        BackwardSGDClassifier(**COMMON),
        {"order": ORDERS, "eta0": etas, "alpha": alphas},
        cv=cv,
    ).fit(X, y)
    splits = [key for key in theirs.cv_results_ if key.startswith("split")]
    for key in splits:
        np.testing.assert_array_equal(
            ours.cv_results_[key], theirs.cv_results_[key], err_msg=key
        )
    assert ours.best_params_ == theirs.best_params_
    return len(splits)


def run(label, etas, alphas, cv, X, y, rounds, against):
    """One benchmark: the contract, then paired times and median ratios."""
    searches = contenders(etas, alphas, cv)
    n_splits = check_contract(etas, alphas, cv, X, y)
    timed = {name: searches[name] for name in ["BackwardSGDClassifierCV", *against]}
    times = _harness.paired(
        {name: (lambda s=search: s.fit(X, y)) for name, search in timed.items()},
        rounds,
    )
    ours = times["BackwardSGDClassifierCV"]
    result = {
        "label": label,
        "candidates": len(ORDERS) * len(etas) * len(alphas),
        "folds": cv,
        "contract_splits_equal": n_splits,
        "median_seconds": {name: float(np.median(t)) for name, t in times.items()},
        "median_ratio": {
            name: _harness.median_ratio(ours, times[name]) for name in against
        },
        "rounds": rounds,
    }
    print(result, flush=True)
    return result


def report(run, results, n_samples, quick):
    lines = [
        "# BackwardSGDClassifierCV against GridSearchCV",
        "",
        _harness.provenance(run, quick),
        "",
        f"Pipeline(StandardScaler(), …) on {n_samples:,} × 54, 3 classes, "
        "log_loss, constant step, max_iter=5, tol=None, one thread; median of "
        "paired rounds' ratios (ours ÷ theirs).",
        "",
        "| grid | versus | ratio | ours (s) | theirs (s) | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for name, ratio in result["median_ratio"].items():
            lines.append(
                f"| {result['candidates']} candidates × {result['folds']} folds "
                f"| {name} | {ratio:.3f}× "
                f"| {result['median_seconds']['BackwardSGDClassifierCV']:.2f} "
                f"| {result['median_seconds'][name]:.2f} | {result['rounds']} |"
            )
    lines += [
        "",
        "Before timing, each grid's split scores (on the scaled data) were "
        "checked equal to GridSearchCV(BackwardSGDClassifier)'s, exactly, "
        "and the best candidate the same. Pipeline(StandardScaler(), CV) "
        "scales once; GridSearchCV(Pipeline) scales per fold.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rounds", type=int, default=5)
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    when = _harness.stamp()
    n_samples = 5_000 if args.quick else 100_000
    rounds = 1 if args.quick else args.rounds
    X, y = make_classification(
        n_samples=n_samples,
        n_features=54,
        n_informative=20,
        n_classes=3,
        random_state=0,
    )
    warnings.simplefilter("ignore")  # tol=None: the max_iter warnings
    with threadpool_limits(1):
        results = [
            run(
                "order x eta0",
                *grids(3, 1),
                3,
                X,
                y,
                rounds,
                ["GridSearchCV(SGDClassifier)", "GridSearchCV(BackwardSGDClassifier)"],
            ),
            run(
                "order x eta0 x alpha",
                *grids(5, 5),
                5,
                X,
                y,
                rounds,
                ["GridSearchCV(SGDClassifier)"],
            ),
        ]
    text = report(when, results, n_samples, args.quick)
    print(text)
    data = {"run": when, "results": results}
    if not args.quick:
        _harness.write_results(text, data, RESULTS.with_suffix(".md"))
    if args.json:
        _harness.write_results(None, data, json_path=args.json)


if __name__ == "__main__":
    main()
