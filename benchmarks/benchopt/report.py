"""Tables and figures of the docs' benchopt section, from committed results.

``python benchmarks/benchopt/report.py`` reads the parquet files that
``benchopt run ... --output docs/benchmarks/benchopt/<name>.parquet`` wrote
(``large``, ``equal_epochs`` and ``small`` by default) and writes, next to
them, ``<name>.md`` (tables) and ``<name>_<problem>.png`` (relative
suboptimality against time, one figure per data set and objective).

Relative suboptimality is benchopt's ``(f − f*) / (f(0) − f*)``, with ``f*``
the lowest objective any solver reached on that problem in any of the files.
A solver reaches a level at the first iteration count whose objective is
within it; its time is that run's time (benchopt re-runs each solver from
zero for each count), or the longest time of a run with fewer iterations
where that is longer (timing noise).
"""

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parents[2] / "docs" / "benchmarks" / "benchopt"
LEVELS = (1e-1, 1e-2, 1e-3)
#: (our solver, scikit-learn's) pairs timed at equal epoch counts.
PAIRS = (
    (
        "sklearn-order[average=False,order=forward,sampling=reshuffle]",
        "sklearn-sgd[average=False]",
    ),
    (
        "sklearn-order[average=False,order=backward,sampling=reshuffle]",
        "sklearn-sgd[average=False]",
    ),
    (
        "sklearn-order[average=True,order=forward,sampling=reshuffle]",
        "sklearn-sgd[average=True]",
    ),
)


def with_relative_suboptimality(df):
    """``df`` with a ``problem`` label and a ``relative`` suboptimality column.

    Parameters
    ----------
    df : DataFrame
        benchopt's results (``dataset_name``, ``objective_name``,
        ``p_obj_*``, ``solver_name``, ``stop_val``, ``time``,
        ``objective_value``).

    Returns
    -------
    DataFrame
    """
    df = df.copy()
    dataset = df["dataset_name"].str.replace(
        r",?(noise|random_state|nnz_per_row|zipf_exponent)=[^,\]]*", "", regex=True
    )
    df["problem"] = (
        df["p_obj_model"] + " · " + dataset.str.replace("[]", "", regex=False)
    )
    groups = df.groupby("problem")["objective_value"]
    best = groups.transform("min")
    start = (
        df["objective_value"]
        .where(df["stop_val"] == 0)
        .groupby(df["problem"])
        .transform("max")
    )
    df["relative"] = (df["objective_value"] - best) / (start - best)
    return df


def solver_curves(df):
    """Each solver's curve on each problem: median time and level per iteration count.

    Parameters
    ----------
    df : DataFrame
        As returned by :func:`with_relative_suboptimality`.

    Returns
    -------
    dict
        ``(problem, solver)`` to a DataFrame indexed by ``stop_val`` with
        columns ``time`` and ``relative`` (medians over repetitions), in the
        order of the results file.
    """
    return {
        key: runs.groupby("stop_val")[["time", "relative"]].median()
        for key, runs in df.groupby(["problem", "solver_name"], sort=False)
    }


def time_to_levels(curves):
    """Per problem and solver: iterations run, best level, time to each of ``LEVELS``.

    Parameters
    ----------
    curves : dict
        From :func:`solver_curves`.

    Returns
    -------
    DataFrame
        ``None`` where a solver never reached a level within its budget.
    """
    rows = []
    for (problem, solver), curve in curves.items():
        # more iterations cannot take less time: a shorter time is noise
        time = curve["time"].cummax()
        row = dict(
            problem=problem,
            solver=solver,
            iterations=int(curve.index.max()),
            best=float(curve["relative"].min()),
        )
        for level in LEVELS:
            reached = time[curve["relative"] <= level]
            row[f"{level:g}"] = float(reached.iloc[0]) if len(reached) else None
        rows.append(row)
    return pd.DataFrame(rows)


def equal_epoch_ratios(curves):
    """Our solvers' time over scikit-learn SGD's at the same epoch counts.

    Parameters
    ----------
    curves : dict
        :func:`solver_curves`' output, keyed by ``(problem, solver)``.

    Returns
    -------
    pandas.DataFrame
        Per problem and pair of :data:`PAIRS`: the epoch counts both ran
        (≥ 1), the median, lowest and highest time ratio over them, and the
        largest difference of relative suboptimality at equal epochs (how far
        apart the two objective trajectories are).
    """
    rows = []
    problems = dict.fromkeys(problem for problem, _ in curves)
    for problem in problems:
        for ours, theirs in PAIRS:
            if (problem, ours) not in curves or (problem, theirs) not in curves:
                continue
            a, b = curves[problem, ours], curves[problem, theirs]
            epochs = sorted(set(a.index) & set(b.index) - {0})
            if not epochs:
                continue
            ratio = a.loc[epochs, "time"] / b.loc[epochs, "time"]
            gap = (a.loc[epochs, "relative"] - b.loc[epochs, "relative"]).abs()
            rows.append(
                dict(
                    problem=problem,
                    ours=ours,
                    sklearn=theirs,
                    epochs=f"{epochs[0]}–{epochs[-1]} ({len(epochs)})",
                    median=float(ratio.median()),
                    low=float(ratio.min()),
                    high=float(ratio.max()),
                    trajectory_gap=float(gap.max()),
                )
            )
    return pd.DataFrame(rows)


def _parameters(name):
    """``"solver[a=1,b=x]"`` as ``("solver", {"a": "1", "b": "x"})``."""
    head, _, rest = name.partition("[")
    pairs = (item.split("=", 1) for item in rest.rstrip("]").split(",") if item)
    return head, dict(pairs)


def short_solver(name):
    """A solver's table label: ``"ours backward"``, ``"sklearn SGD+avg"``, ``"lbfgs"``.

    The full benchopt names (``sklearn-order[average=False,order=backward,
    sampling=reshuffle]``) are the table's legend.
    """
    head, params = _parameters(name)
    average = "+avg" if params.get("average") == "True" else ""
    if head == "sklearn-order":
        sampling = params.get("sampling", "reshuffle")
        return f"ours {params.get('order', '')}{average}" + (
            "" if sampling == "reshuffle" else f", {sampling}"
        )
    if head == "sklearn-sgd":
        return f"sklearn SGD{average}"
    return params.get("solver", name)


def short_problem(problem):
    """``"logreg · simulated-dense[n_features=400,n_samples=100000]"`` as
    ``"logreg, dense 100,000×400"``."""
    model, _, dataset = problem.partition(" · ")
    head, params = _parameters(dataset)
    if "n_samples" in params:
        shape = f"{int(params['n_samples']):,}×{int(params['n_features']):,}"
        return f"{model}, {head.removeprefix('simulated-')} {shape}"
    return f"{model}, {params.get('data', head)}"


def _legend(solvers):
    """The full benchopt name of each short label in the tables, once each."""
    return "Solvers: " + "; ".join(
        f"**{short_solver(solver)}** `{solver}`" for solver in dict.fromkeys(solvers)
    )


def _seconds(value):
    return "never" if value is None or np.isnan(value) else f"{value:.3g} s"


def markdown(df, levels, ratios, source):
    """The report: machine, date, time-to-level and equal-epoch tables.

    Parameters
    ----------
    df : DataFrame
        The results (machine and date columns are read from it).
    levels, ratios : DataFrame
        From :func:`time_to_levels` and :func:`equal_epoch_ratios`.
    source : str
        The results file's name.

    Returns
    -------
    str
    """
    first = df.iloc[0]
    lines = [
        f"Results file `{source}`, run on {str(first['run_date'])[:16]} UTC; "
        f"{first['system-cpus']} CPUs ({first['platform']} "
        f"{first['platform-architecture']}), "
        f"{first['system-ram (GB)']} GB RAM, shared with other jobs: compare times "
        f"within one problem. Times: median of {df['idx_rep'].nunique()} "
        "repetition(s) per point.",
        "",
    ]
    for problem, table in levels.groupby("problem", sort=False):
        lines += [
            f"**{short_problem(problem)}** (`{problem}`)",
            "",
            "| solver | "
            + " | ".join(f"time to {level:g}" for level in LEVELS)
            + " | lowest level | iterations |",
            "|---|" + "---:|" * len(LEVELS) + "---:|---:|",
        ]
        for row in table.to_dict("records"):
            times = " | ".join(_seconds(row[f"{level:g}"]) for level in LEVELS)
            best = f"{row['best']:.2g}"
            lines.append(
                f"| {short_solver(row['solver'])} | {times} | {best} "
                f"| {row['iterations']} |"
            )
        lines.append("")
    if len(levels):
        lines += [
            "**time to L**: seconds until the relative suboptimality first fell "
            "to L or below (never: not within the solver's budget). **lowest "
            "level**: the lowest relative suboptimality reached. **iterations**: "
            "the iterations (epochs for the SGD solvers) of its longest run.",
            "",
        ]
    if len(ratios):
        lines += [
            "**Equal epoch counts: our time / scikit-learn SGD's time**",
            "",
            "| **median ratio** | range | problem | ours | against | epochs | gap |",
            "|---:|---:|---|---|---|---|---:|",
        ]
        for row in ratios.itertuples(index=False):
            lines.append(
                f"| **{row.median:.2f}** | {row.low:.2f}–{row.high:.2f} "
                f"| {short_problem(row.problem)} | {short_solver(row.ours)} "
                f"| {short_solver(row.sklearn)} | {row.epochs} "
                f"| {row.trajectory_gap:.2g} |"
            )
        lines += [
            "",
            "**median ratio**: the median over the epoch counts both ran of our "
            "time over scikit-learn's at that count (range: lowest–highest). "
            "**epochs**: the counts compared (how many). **gap**: the largest "
            "difference of relative suboptimality at equal epochs.",
            "",
        ]
    solvers = list(levels["solver"]) if len(levels) else []
    if len(ratios):
        solvers += list(ratios["ours"]) + list(ratios["sklearn"])
    if solvers:
        lines += [_legend(solvers), ""]
    return "\n".join(lines)


def plot(curves, problem, path):
    """Relative suboptimality against time, one line per solver (log-log).

    Parameters
    ----------
    curves : dict
        From :func:`solver_curves`.
    problem : str
        Which problem's curves to draw.
    path : Path
        Where the PNG goes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for (name, solver), curve in curves.items():
        if name != problem:
            continue
        curve = curve.drop(index=0, errors="ignore")
        style = "-" if solver.startswith("sklearn-order") else "--"
        ax.loglog(
            curve["time"],
            np.maximum(curve["relative"], 1e-12),
            style,
            marker=".",
            label=short_solver(solver),
        )
    for level in LEVELS:
        ax.axhline(level, color="grey", lw=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("relative suboptimality (1e-12 where it reached f*)")
    ax.set_title(short_problem(problem))
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(paths):
    """Write ``<name>.md`` and the figures for each results file.

    ``f*`` is the lowest objective on each problem over all the files, so a
    file that compares a few solvers is measured against the same optimum as
    the file with the full-batch references.

    Parameters
    ----------
    paths : list of Path
        benchopt parquet files.

    Returns
    -------
    str
        The markdown written, file after file.
    """
    frames = [pd.read_parquet(path).assign(source=path.name) for path in paths]
    df = with_relative_suboptimality(pd.concat(frames, ignore_index=True))
    texts = []
    for path in paths:
        part = df[df["source"] == path.name]
        curves = solver_curves(part)
        levels, ratios = time_to_levels(curves), equal_epoch_ratios(curves)
        text = markdown(part, levels, ratios, path.name)
        path.with_suffix(".md").write_text(text)
        for problem in part["problem"].unique():
            slug = re.sub(r"[^a-z0-9]+", "_", problem.lower()).strip("_")
            plot(curves, problem, path.with_name(f"{path.stem}_{slug}.png"))
        texts.append(text)
    return "\n".join(texts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        default=[
            RESULTS / name
            for name in ("large.parquet", "equal_epochs.parquet", "small.parquet")
        ],
    )
    print(report(parser.parse_args(argv).results))


if __name__ == "__main__":
    main()
