"""Study: does the composition order of SGD updates matter on convex problems?

Reproduces the claim of backward SGD (Dherin et al., arXiv 2502.01557) on
ridge and L2-regularized logistic regression, next to classical alternatives:

- ``forward``: ordinary SGD with a constant learning rate (final iterate);
- ``backward``: backward SGD with the same constant learning rate;
- ``forward_averaged``: forward SGD, Polyak–Ruppert *tail average* of the
  iterates over the last half of the run (computed here from
  :func:`sklearn_order.trajectory`; the library has no ``average`` parameter);
- ``forward_invscaling``: forward SGD with ``learning_rate="invscaling"``,
  ``η_t = eta0 / t**0.5`` (``t`` counts update maps).

Every method runs the same number of maps ``K`` (``--epochs`` epochs of
``n_train / batch_size`` maps, ``tol=None``) for each ``eta0`` of a geometric
grid that reaches past the stability edge, over ``--seeds`` seeds. Reported per
(problem, method, eta0): distance of the returned parameters ``θ = (w, b)`` to
the exact optimum ``θ*`` of the same objective, the per-map *jitter* of the
returned model over the last epoch, how far the last epoch moved it, the test
score, and how many seeds diverged. Two checks complete it: a coalescence
certificate of the backward maps at each ``eta0`` (``sklearn_order.coalescence``)
and a many-seed test that the final forward and backward iterates have the
same law (Letac's principle), on fresh seeds.

Run::

    python benchmarks/order_study.py                 # full study (minutes)
    python benchmarks/order_study.py --quick         # smoke run (seconds)
    python benchmarks/order_study.py --out DIR       # default docs/study

Outputs in ``--out``: ``results.md`` (tables, figures, summary),
``results.json`` (every number) and PNG figures.

This script is the command line; the study itself is the package
``benchmarks/study/``: ``config`` (methods, run sizes), ``problems`` (the
splits and their exact optima), ``runs`` (fits, traces and the two checks),
``aggregation`` (statistics over seeds), ``summary`` (the closing sentences)
and ``report`` (figures and Markdown).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import _harness
import numba
import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from study.config import METHODS, study_config
from study.problems import load_problems
from study.report import markdown, plot_problem, plot_trajectories, write_markdown
from study.runs import run_problem
from study.summary import summarize

import sklearn_order


def parse_args(argv):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test run (seconds)")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/study"), help="output folder"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override epochs")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument(
        "--from-json",
        action="store_true",
        help="run nothing: rewrite results.md in --out from its results.json "
        "and figures (after a change to the report's layout)",
    )
    return parser.parse_args(argv)


def figures_in(out, results):
    """The figures of ``results`` in ``out``: one per problem, then the trajectories."""
    names = [*results["problems"], "trajectories"]
    return [f"{name}.png" for name in names if (out / f"{name}.png").is_file()]


def main(argv=None):
    """Run the study and write ``results.md``, ``results.json`` and figures."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.from_json:
        results = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
        write_markdown(results, figures_in(args.out, results), args.out / "results.md")
        return 0
    elapsed = _harness.stopwatch()
    run = _harness.stamp(" ".join(["python benchmarks/order_study.py", *argv]))
    config = study_config(args.quick, args.epochs, args.seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore", ConvergenceWarning)

    def log(message):
        print(message, flush=True)

    problems = load_problems(config)
    log(
        f"order study: {len(problems)} problems, {len(config.seeds)} seeds, "
        f"{config.epochs} epochs, batch {config.batch_size}, alpha {config.alpha}"
    )
    entries, references = {}, {}
    for problem in problems:
        entries[problem.name], references[problem.name] = run_problem(
            problem, config, log
        )

    results = {
        "meta": {
            "command": run["command"],
            "date": run["date"],
            "machine": run["machine"]["machine"],
            "platform": run["machine"]["platform"],
            "cpu_count": run["machine"]["cores"],
            "python": run["machine"]["python"],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "numba": numba.__version__,
            "numba_threads": numba.get_num_threads(),
            "sklearn_order": sklearn_order.__version__,
            "git_commit": run["commit"],
            "load": run["load"],
        },
        "config": {**config.__dict__, "methods": list(METHODS)},
        "problems": entries,
    }
    results["checks"] = {
        "trace_vs_fit": max(
            c["fit_mismatch_max"]
            for entry in entries.values()
            for cells in entry["methods"].values()
            for c in cells
            if c["fit_mismatch_max"] is not None
        )
    }
    results["summary"] = summarize(results)

    figures = []
    for name, entry in entries.items():
        figure = f"{name}.png"
        plot_problem(name, entry, args.out / figure)
        figures.append(figure)
    plot_trajectories(references, entries, args.out / "trajectories.png")
    figures.append("trajectories.png")

    results["meta"]["wall_time_s"] = elapsed()
    _harness.write_results(markdown(results, figures), results, args.out / "results.md")
    log(f"wrote {args.out}/results.md, results.json and {len(figures)} figures")
    log(f"wall time {results['meta']['wall_time_s']:.1f} s")
    log("\n".join(results["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
