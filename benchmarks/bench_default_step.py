"""Accuracy of the default step ``eta0="auto"``, against scikit-learn's defaults.

Two tables:

- **Non-smooth and robust regression losses** (``epsilon_insensitive``,
  ``squared_epsilon_insensitive`` with ``epsilon > 0``, ``huber``): the
  training R² and objective of the default fit (``eta0="auto"``), of the
  fit with the previous default step ``1 / (L max_i ‖z_i‖² + l2)`` (``L``
  the loss's smoothness, 1 for the non-smooth loss; for the two smooth ones
  ``"auto"`` is unchanged, so those columns agree), and of scikit-learn's
  ``SGDRegressor`` with the same arguments; over seeds, both orders. The
  problems: the line of issue 27 (100 evenly spaced points on [−5, 5],
  ``y = 0.5 x``, ``alpha=0.1``, ``max_iter=20``, no intercept) with its
  targets in three units (the same problem in each: ``epsilon`` and
  ``alpha`` follow the units), and a
  noisy five-feature regression, standardized and with features of scales
  0.1 to 1000 (unscaled).
- **Classification**: 5-fold accuracy inside ``Pipeline(StandardScaler(),
  …)`` on the datasets scikit-learn bundles, our defaults (log loss) and the
  hinge loss against ``SGDClassifier``'s defaults (hinge).

Run::

    python benchmarks/bench_default_step.py
    python benchmarks/bench_default_step.py --out docs/benchmarks/default_step.md
"""

import argparse
import sys
import warnings
from pathlib import Path

import _harness
import numpy as np
from sklearn import datasets
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    training_objective,
)
from sklearn_order.losses import LOSS_SMOOTHNESS, LOSSES

SEEDS = range(5)
CASES = [
    ("epsilon_insensitive", 0.01),
    ("epsilon_insensitive", 0.1),
    ("squared_epsilon_insensitive", 0.01),
    ("huber", 0.1),
]


def regression_problems():
    """``(name, X, y, fit parameters, unit)`` of the regression table.

    ``unit`` multiplies the targets and ``epsilon``; ``alpha`` is rescaled
    so that the objective is the same problem in those units (the loss is
    homogeneous in ``(y, epsilon, w)``: of degree 1 for
    ``epsilon_insensitive``, 2 for the others).
    """
    x = np.linspace(-5, 5, 100)[:, None]
    line = dict(alpha=0.1, max_iter=20, fit_intercept=False)
    X, y = datasets.make_regression(
        n_samples=300, n_features=5, noise=5.0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    noisy = dict(alpha=1e-4, max_iter=1000)
    return [
        ("line (issue 27)", x, 0.5 * x[:, 0], line, 1.0),
        ("line, y in units 1000× smaller", x, 0.5 * x[:, 0], line, 1e-3),
        ("line, y in units 1000× larger", x, 0.5 * x[:, 0], line, 1e3),
        ("5 features, standardized", X, y, noisy, 1.0),
        (
            "5 features, scales 0.1–1000",
            X * np.array([1.0, 10.0, 100.0, 0.1, 1000.0]),
            y,
            noisy,
            1.0,
        ),
    ]


def previous_step(X, loss, alpha, fit_intercept):
    """The step ``eta0="auto"`` took before issue 27: ``1 / (L max‖z‖² + l2)``.

    ``L`` the loss's smoothness, 1 for a non-smooth loss. For the smooth
    losses this is still the default step.
    """
    squared = np.einsum("ij,ij->i", X, X) + float(fit_intercept)
    smoothness = LOSS_SMOOTHNESS[LOSSES[loss].code] or 1.0
    return 1.0 / (smoothness * squared.max() + alpha)


def fits(Estimator, params, X, y, judge):
    """``(R², objective)`` per seed; ``(-inf, inf)`` where a fit diverged."""
    results = []
    for seed in SEEDS:
        try:
            model = Estimator(random_state=seed, **params).fit(X, y)
        except ValueError:  # ours raises on divergence (never with "auto")
            results.append((-np.inf, np.inf))
            continue
        objective = training_objective(
            judge, X, y, coef=np.ravel(model.coef_), intercept=model.intercept_
        )
        results.append((model.score(X, y), objective))
    return np.array(results)


def _cell(results, best):
    r2, objective = np.median(results, axis=0)
    if not np.isfinite(objective) or objective > 1e6 * best:
        return "diverges"
    gaps = (results[:, 1] - best) / best
    return f"{r2:.5f} · {np.median(gaps):.1e} ({gaps.max():.1e})"


def regression_table():
    lines = [
        '| loss | problem | order | `eta0="auto"` | previous `"auto"` | scikit-learn |',
        "|---|---|---|---:|---:|---:|",
    ]
    for loss, epsilon in CASES:
        degree = 1 if loss == "epsilon_insensitive" else 2
        for name, X, y, params, unit in regression_problems():
            params = dict(params, alpha=params["alpha"] * unit ** (degree - 2))
            common = dict(loss=loss, epsilon=epsilon * unit, **params)
            y = y * unit
            judge = BackwardSGDRegressor(**common)
            theirs = fits(SGDRegressor, common, X, y, judge)
            step = previous_step(
                X, loss, params["alpha"], params.get("fit_intercept", True)
            )
            rows = {}
            for order in ("backward", "forward"):
                rows[order] = [
                    fits(
                        BackwardSGDRegressor,
                        dict(common, order=order, **eta0),
                        X,
                        y,
                        judge,
                    )
                    for eta0 in ({}, {"eta0": step})
                ]
            every = np.concatenate([theirs, *rows["backward"], *rows["forward"]])
            best = every[:, 1].min()
            for order, (ours, before) in rows.items():
                lines.append(
                    f"| {loss}, ε={epsilon} | {name} | {order} "
                    f"| {_cell(ours, best)} | {_cell(before, best)} "
                    f"| {_cell(theirs, best)} |"
                )
    return lines


def classification_table():
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    lines = [
        "| dataset | ours, defaults (backward) | ours, defaults (forward) "
        "| ours, hinge (backward) | ours, hinge (forward) "
        "| scikit-learn, defaults (hinge) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("iris", "wine", "digits", "breast_cancer"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)

        def accuracy(estimator, X=X, y=y):
            pipeline = make_pipeline(StandardScaler(), estimator)
            return cross_val_score(pipeline, X, y, cv=folds).mean()

        cells = [
            accuracy(BackwardSGDClassifier(order=order, random_state=0, **loss))
            for loss in ({}, {"loss": "hinge"})
            for order in ("backward", "forward")
        ]
        cells.append(accuracy(SGDClassifier(random_state=0)))
        lines.append(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    run = _harness.stamp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: max_iter=20
        regression, classification = regression_table(), classification_table()
        text = "\n".join(
            [
                _harness.provenance(run),
                "",
                "**Regression: training R² (median over "
                f"{len(SEEDS)} seeds) · relative objective gap, median "
                "(largest)**: the gap is `(f − f*) / f*`, with `f*` the "
                "lowest objective of any fit in the row's problem and loss. "
                "For a target in other units, `epsilon` is in those units "
                "too and `alpha` is rescaled, so that it is the same problem.",
                "",
                *regression,
                "",
                "**Classification: 5-fold accuracy inside "
                "`Pipeline(StandardScaler(), …)`, `random_state=0`**",
                "",
                *classification,
                "",
            ]
        )
    print(text)
    # the tables are the results: the JSON keeps them with the run's provenance
    data = {"meta": run, "regression": regression, "classification": classification}
    _harness.write_results(text, data, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
