"""The study's figures and its Markdown report."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import _harness  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from study.aggregation import best_cell, cell_at, coalescence_rows, fmt, fmt_pm
from study.config import METHODS

METHOD_LABELS = {
    "forward": "forward (constant)",
    "backward": "backward (constant)",
    "forward_averaged": "forward + tail average",
    "forward_invscaling": "forward, invscaling (power_t=0.5)",
}
METHOD_STYLES = {
    "forward": {"color": "tab:blue", "marker": "o"},
    "backward": {"color": "tab:red", "marker": "s"},
    "forward_averaged": {"color": "tab:green", "marker": "^"},
    "forward_invscaling": {"color": "tab:purple", "marker": "v"},
}
#: Values below this are drawn at this floor on log axes (exact zeros happen).
PLOT_FLOOR = 1e-17


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _series(cells, key, stat="mean"):
    """``(eta0, value)`` arrays of a cell list, skipping all-diverged cells."""
    points = [(c["eta0"], c[key][stat]) for c in cells if c[key]["mean"] is not None]
    if not points:
        return np.array([]), np.array([])
    eta, value = map(np.array, zip(*points))
    return eta, value


def plot_problem(name, entry, path):
    """Distance to ``θ*``, jitter and test score against ``eta0``, per method.

    Parameters
    ----------
    name : str
    entry : dict
        The problem's JSON entry.
    path : Path
        PNG file to write.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    panels = [
        ("distance", "‖θ_K − θ*‖ (mean, band: min–max over seeds)", True),
        ("jitter", "jitter: mean ‖θ_k − θ_{k−1}‖ over last epoch", True),
        ("score", f"test {entry['score_name']} (mean ± std)", False),
    ]
    for ax, (key, ylabel, log_y) in zip(axes, panels):
        for method in METHODS:
            cells = entry["methods"][method]
            eta, mean = _series(cells, key)
            if not len(eta):
                continue
            style = METHOD_STYLES[method]
            if log_y:
                mean = np.maximum(mean, PLOT_FLOOR)
                _, low = _series(cells, key, "min")
                _, high = _series(cells, key, "max")
                ax.fill_between(
                    eta,
                    np.maximum(low, PLOT_FLOOR),
                    np.maximum(high, PLOT_FLOOR),
                    color=style["color"],
                    alpha=0.12,
                )
                ax.plot(eta, mean, label=METHOD_LABELS[method], ms=4, **style)
            else:
                _, std = _series(cells, key, "std")
                ax.errorbar(
                    eta, mean, yerr=std, label=METHOD_LABELS[method], ms=4,
                    capsize=2, **style,
                )  # fmt: skip
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel("eta0 (initial / constant learning rate)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        edge = entry["first_diverging_eta0"]["forward"]
        if edge is not None:
            ax.axvline(edge, color="gray", ls=":", lw=1)
    if entry["kind"] == "ridge":
        score_axis = axes[2]
        low = min(
            (c["score"]["mean"] for m in METHODS for c in entry["methods"][m]
             if c["score"]["mean"] is not None),
            default=0.0,
        )  # fmt: skip
        score_axis.set_ylim(max(low, -0.5) - 0.05, 1.05)
        score_axis.set_ylabel("test R2 (mean ± std; below −0.5 off the axis)")
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"{name}: {entry['title']}\n{entry['n_steps']} maps "
        f"({entry['maps_per_epoch']} per epoch), dotted line: first eta0 where "
        "forward diverged; values < 1e-17 drawn at 1e-17",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_trajectories(references, entries, path):
    """Per-map step norms ``‖out(k) − out(k−1)‖`` for seed 0, one panel per problem.

    Parameters
    ----------
    references : dict
        By problem: the reference ``eta0`` and step norms by method.
    entries : dict
        The problems' JSON entries.
    path : Path
        PNG file to write.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (name, reference) in zip(axes.ravel(), references.items()):
        # Backward last, so that it is drawn on top.
        drawing_order = ("forward", "forward_invscaling", "forward_averaged")
        for method in (*drawing_order, "backward"):
            if method not in reference["step_norms"]:
                continue
            norms = reference["step_norms"][method]
            k = np.arange(1, len(norms) + 1)
            ax.plot(
                k,
                np.maximum(norms, PLOT_FLOOR),
                color=METHOD_STYLES[method]["color"],
                lw=0.8,
                label=METHOD_LABELS[method],
            )
        m = entries[name]["maps_per_epoch"]
        ax.axvspan(len(norms) - m, len(norms), color="gray", alpha=0.15)
        ax.set_yscale("log")
        ax.set_xlabel("maps k")
        ax.set_ylabel("‖out(k) − out(k−1)‖")
        ax.set_title(f"{name}, eta0={reference['eta0']:.3g}, seed 0", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        "Per-map change of the model a run of k maps returns (grey: last epoch, "
        "where jitter is measured; exact zeros drawn at 1e-17)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(header, rows):
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


METHODS_TEXT = """
## What is measured

- **Methods.** `forward`: `order="forward", learning_rate="constant"`;
  `backward`: `order="backward", learning_rate="constant"`;
  `forward_averaged`: the forward constant-step iterates averaged over the last
  half of the run (Polyak–Ruppert tail average, `ā_K = mean(θ_j, K/2 < j ≤ K)`,
  computed from `trajectory(..., every=1)`; the estimators' `average=True`
  averages from the first map instead, and was added after this study);
  `forward_invscaling`: `order="forward",
  learning_rate="invscaling", power_t=0.5`, i.e. `η_t = eta0/√t` with `t`
  counting maps. All run the same K maps from θ_0 = 0.
- **θ\\*** minimizes the library's objective
  `J(w, b) = mean_i ℓ(x_i·w + b, y_i) + (α/2)‖w‖²` (intercept unpenalized;
  `ℓ = ½(p − y)²` for ridge, `log(1 + e^{−ỹp})` for logistic): closed form
  (normal equations, centred) for ridge, L-BFGS plus Newton polish for
  logistic. The problems table gives ‖∇J(θ\\*)‖ and μ, the smallest
  eigenvalue of the Hessian of J at θ\\*. μ is a conservative guide to the
  contraction: where X has no variance (make_classification's redundant
  features) μ = α, but iterates started at θ_0 = 0 never leave the span of
  the rows, so they can coalesce faster than η·μ·K suggests.
- **distance**: `‖θ_K − θ*‖` over θ = (w, b) of the returned model.
- **jitter**: mean over the last epoch of `‖out(k) − out(k−1)‖`, where
  `out(k)` is the model a run of k maps returns (the iterate; for tail
  averaging the average of the last half of the first k iterates). All from
  `trajectory(every=1)`: a forward pass, the exact affine composition for
  ridge backward, parallel replay (O(K²) maps) for logistic backward. Each
  trace's final iterate is checked against a `fit` with `max_iter=epochs`.
- **epoch move**: `‖out(K) − out(K − maps per epoch)‖`, how much the last
  epoch changed the returned model.
- **test score**: `.score` on the held-out split (R² for ridge, accuracy for
  logistic); for tail averaging, a copy of the forward fit carrying the
  averaged coefficients.
- **diverged**: seeds whose fit or trace raised the library's
  `DivergenceError` ("SGD diverged … eta0 …"); their metrics are excluded
  from the means.
- **coalescence** (seed 0): `sklearn_order.coalescence` from two random
  starting points over the same K maps; the per-epoch factor is its fitted
  per-map rate to the power of the maps per epoch, "certified" its verdict
  (distance fell below 1e-6 of the initial one, geometrically).
- **same-law check**: final forward and backward iterates (`fit` only) over
  many fresh seeds at three eta0 per problem, compared by a two-sample z on
  the mean distance to θ\\* and a Kolmogorov–Smirnov test on its distribution.
- Training sets hold a multiple of the batch size, so with random
  reshuffling the backward iterate at an epoch boundary is forward SGD over a
  sequence with the same law as the forward one.
"""


def write_markdown(results, figures, path):
    """Write :func:`markdown` to ``path`` (``results.md``).

    Parameters
    ----------
    results : dict
        The study's JSON document.
    figures : list of str
        PNG file names (relative to ``path``'s folder).
    path : Path
    """
    _harness.write_results(markdown(results, figures), path=path)


def markdown(results, figures):
    """``results.md``: setup, tables, figures and the summary.

    Parameters
    ----------
    results : dict
        The study's JSON document.
    figures : list of str
        PNG file names (relative to the results' folder).

    Returns
    -------
    str
    """
    meta, config, problems = results["meta"], results["config"], results["problems"]
    out = ["# Iteration order on convex models: forward, backward, averaged, decaying"]
    out.append(
        f"\nGenerated by `{meta['command']}` on {meta['date']} in "
        f"{meta['wall_time_s']:.0f} s (wall, including Numba compilation).\n"
    )
    out.append(
        f"Machine: {meta['machine']}, {meta['cpu_count']} cores, Python "
        f"{meta['python']}, numpy {meta['numpy']}, scipy {meta['scipy']}, "
        f"scikit-learn {meta['sklearn']}, numba {meta['numba']} "
        f"({meta['numba_threads']} threads), sklearn_order "
        f"{meta['sklearn_order']} (git {meta['git_commit']})."
    )
    out.append(
        f"\nParameters: {config['epochs']} epochs per run (`max_iter="
        f"{config['epochs']}, tol=None`), `batch_size={config['batch_size']}`, "
        f"`penalty='l2', alpha={config['alpha']}`, `sampling='reshuffle'`, "
        f"seeds {list(config['seeds'])} (`random_state`; the train/test split "
        f"and θ* are fixed per problem), invscaling `power_t={config['power_t']}`, "
        f"same-law check over {config['same_law_seeds']} further seeds"
        f"{'; **quick smoke-test configuration**' if config['quick'] else ''}."
    )
    out.append(METHODS_TEXT)
    out.append(
        "Largest relative difference between a trace's final iterate and the "
        f"`fit` of the same length: {results['checks']['trace_vs_fit']:.1e}.\n"
    )

    out.append("## Problems\n")
    # the descriptions go below the table: in it they would make it wider
    # than a documentation page
    out.append(
        markdown_table(
            ["problem", "n train", "n test", "d", "maps/epoch",
             "K maps", "‖θ*‖", "‖∇J(θ*)‖", "μ"],
            [
                [name, str(e["n_train"]), str(e["n_test"]),
                 str(e["n_features"]), str(e["maps_per_epoch"]), str(e["n_steps"]),
                 f"{e['theta_star_norm']:.3g}", f"{e['optimum_gradient_norm']:.1e}",
                 f"{e['curvature']:.3g}"]
                for name, e in problems.items()
            ],
        )
    )  # fmt: skip
    out.append("")
    out.extend(f"- **{name}**: {e['title']}" for name, e in problems.items())

    out.append("\n## Stability: largest grid eta0 with no diverging seed\n")
    out.append(
        markdown_table(
            ["problem", "eta0 grid"] + list(METHODS),
            [
                [
                    name,
                    f"{e['eta_grid'][0]:.3g} … {e['eta_grid'][-1]:.3g} "
                    f"({len(e['eta_grid'])} points)",
                ]
                + [
                    f"{fmt(e['largest_stable_eta0'][m])} (next: "
                    f"{fmt(e['first_diverging_eta0'][m])}); useful ≤ "
                    f"{fmt(e['largest_useful_eta0'][m])}"
                    for m in METHODS
                ]
                for name, e in problems.items()
            ],
        )
    )
    out.append(
        '\n"next" is the first grid eta0 at which some seed diverged (— if '
        "none did). A run only counts as diverged if the blow-up reaches the "
        'library\'s detection bound within the K maps. "useful" is the '
        "largest eta0 up to which the mean ‖θ_K − θ*‖ stays below ‖θ*‖: a run "
        "can stay under the detection bound and still return useless "
        "coefficients."
    )

    out.append("\n## Each method at its best eta0 (smallest mean distance to θ*)\n")
    rows = []
    for name, e in problems.items():
        for m in METHODS:
            c = best_cell(e, m)
            if c is None:
                rows.append([name, m, "—", "diverged", "—", "—", "—"])
                continue
            rows.append(
                [name, m, f"{c['eta0']:.3g}", fmt_pm(c["distance"]),
                 fmt(c["jitter"]["mean"], ".2e"), fmt(c["epoch_move"]["mean"], ".2e"),
                 fmt_pm(c["score"], ".4f")]
            )  # fmt: skip
    out.append(
        markdown_table(
            ["problem", "method", "eta0", "distance to θ*", "jitter",
             "epoch move", "test score"],
            rows,
        )
    )  # fmt: skip

    out.append("\n## Same law? Final forward vs backward iterates over many seeds\n")
    rows = []
    for name, e in problems.items():
        for c in e["same_law"]:
            rows.append(
                [name, f"{c['eta0']:.3g}", str(c["n_seeds"]),
                 f"{c['n_diverged']['forward']}/{c['n_diverged']['backward']}",
                 fmt_pm(c["forward"], ".4g"), fmt_pm(c["backward"], ".4g"),
                 fmt(c["z"], ".2f"), fmt(c["ks_pvalue"], ".2g")]
            )  # fmt: skip
    out.append(
        markdown_table(
            ["problem", "eta0", "seeds", "diverged f/b", "forward ‖θ_K − θ*‖",
             "backward ‖θ̃_K − θ*‖", "z (b − f)", "KS p"],
            rows,
        )
    )  # fmt: skip

    out.append("\n## Where the backward iterate coalesces\n")
    out.append(
        "Mean jitter over the grid seeds; η·μ·K is the number of e-folds a "
        "contraction at rate 1 − η μ per map would achieve in K maps; the "
        "coalescence columns are for seed 0.\n"
    )
    for name, e in problems.items():
        out.append(f"\n### {name}\n")
        out.append(
            markdown_table(
                ["eta0", "η·μ·K", "forward jitter", "backward jitter",
                 "backward / forward", "coalescence factor per epoch",
                 "final / initial distance", "certified"],
                [
                    [f"{r['eta0']:.3g}", f"{r['eta_mu_K']:.3g}",
                     fmt(r["forward"], ".2e"), fmt(r["backward"], ".2e"),
                     fmt(r["ratio"], ".1e"), fmt(r["rate_per_epoch"], ".3g"),
                     fmt(r["final_ratio"], ".1e"),
                     {True: "yes", False: "no", None: "—"}[r["certified"]]]
                    for r in coalescence_rows(e)
                ],
            )
        )  # fmt: skip

    out.append("\n## Full grid\n")
    out.append(
        "Mean ± std over seeds (jitter and epoch move: mean). `div` = seeds "
        f"that diverged (of {len(config['seeds'])}).\n"
    )
    for name, e in problems.items():
        out.append(f"\n### {name} ({e['score_name']})\n")
        rows = []
        for eta in e["eta_grid"]:
            for m in METHODS:
                c = cell_at(e, m, eta)
                rows.append(
                    [f"{eta:.3g}", m, str(c["n_diverged"]), fmt_pm(c["distance"]),
                     fmt(c["jitter"]["mean"], ".2e"),
                     fmt(c["epoch_move"]["mean"], ".2e"), fmt_pm(c["score"], ".4f")]
                )  # fmt: skip
        out.append(
            markdown_table(
                ["eta0", "method", "div", "distance to θ*", "jitter",
                 "epoch move", "test score"],
                rows,
            )
        )  # fmt: skip

    # File names only, no Markdown images: docs/benchmarks.rst includes this
    # page from another folder, where relative image paths would not resolve
    # (and ``sphinx-build -W`` fails on an unreadable image).
    out.append("\n## Figures\n")
    out.append(
        "PNG files in `docs/study/` (each is shown on the documentation's "
        "order-study page):\n"
    )
    out.extend(
        f"- `{f}`: "
        + (
            "per-map change ‖out(k) − out(k−1)‖ against k for seed 0 at one "
            "eta0 per problem, one line per method."
            if f == "trajectories.png"
            else f"{Path(f).stem}: distance to θ\\*, jitter and test score "
            "against eta0, one line per method (log scales)."
        )
        for f in figures
    )
    out.append("")

    out.append("## Summary\n")
    out.append(" ".join(results["summary"]))
    out.append(
        "\n\n(Generated from the numbers above by `summarize()` in "
        "`benchmarks/study/summary.py`.)\n"
    )
    return "\n".join(out) + "\n"
