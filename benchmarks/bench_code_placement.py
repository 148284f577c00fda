"""Where the kernels land in memory changes their speed: one process, several imports.

Each import (``_harness.fresh_import``) gives the package new Numba
dispatchers, which load the kernels from the on-disk cache into new places
in memory. The script fits the same model on the same data with each
import in turn, ``--repeats`` rounds (the imports alternate within a round,
so a slow spell of the machine touches them alike), and reports each
import's median seconds and the spread between imports. Identical code in
one process then differs only in where its machine code (and the model's
own arrays) sit: the part of a fresh process's time that an A/B harness
must average over rather than draw once (``bench_kernel_ab.py
--instances``).

Run::

    python benchmarks/bench_code_placement.py
        # writes docs/benchmarks/code_placement.md and .json
    python benchmarks/bench_code_placement.py --quick   # smoke run

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import sys
from pathlib import Path

import _harness
import numpy as np
from _data import COMMON, make_data

ROOT = Path(__file__).resolve().parent.parent

#: The fits: ``(label, dtype, batch_size, average)``, forward order.
CASES = [
    ("dense float64 b=1", np.float64, 1, False),
    ("dense float64 b=1 average", np.float64, 1, True),
    ("dense float64 b=32", np.float64, 32, False),
    ("dense float32 b=1", np.float32, 1, False),
]


def measure(args):
    """Per case, a ``(repeats, imports)`` array of one fit's CPU seconds."""
    from threadpoolctl import threadpool_limits

    X64, y = make_data(args.n_samples, args.n_features, np.float64)
    data = {np.float64: X64, np.float32: X64.astype(np.float32)}
    results = {}
    with threadpool_limits(limits=1):
        packages = [_harness.fresh_import() for _ in range(args.imports)]
        for label, dtype, batch_size, average in CASES:
            X = data[dtype]
            fits = []
            for package in packages:
                model = package.BackwardSGDClassifier(
                    order="forward",
                    batch_size=batch_size,
                    average=average,
                    random_state=0,
                    **COMMON,
                )
                model.set_params(max_iter=1).fit(X[:200], y[:200])  # load: untimed
                model.set_params(max_iter=args.epochs)
                fits.append(lambda model=model, X=X: model.fit(X, y))
            seconds = np.empty((args.repeats, len(fits)))
            for r in range(args.repeats):
                for k, fit in enumerate(fits):
                    seconds[r, k] = _harness.clocks(fit)[1]
            results[label] = seconds
    return results


def markdown(rows, meta):
    lines = [
        "# Code placement: one process, several imports of the package",
        "",
        _harness.provenance(meta, meta["quick"]),
        "",
        f"{meta['imports']} imports of the package in one process, each "
        "loading the kernels from the on-disk cache into new places in "
        f"memory; per case, {meta['repeats']} rounds of one "
        f"{meta['epochs']}-epoch fit per import (the imports alternate within "
        f"a round; CPU clock; one thread), on {meta['n_samples']:,} × "
        f"{meta['n_features']} rows, forward order. The code is identical; "
        "only where it (and each model's arrays) lies in memory differs.",
        "",
        "| case | median s per import | slowest ÷ fastest import |",
        "|---|---|---|",
    ]
    for row in rows:
        medians = " · ".join(f"{m:.3f}" for m in row["medians"])
        lines.append(f"| {row['case']} | {medians} | {row['spread']:.3f} |")
    lines += [
        "",
        "**slowest ÷ fastest import**: the largest of the imports' median "
        "seconds over the smallest. A fresh process draws one placement; a "
        "comparison of two processes' fits then carries this spread unless "
        "each process measures several imports.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a smoke run, no files")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    _harness.script_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.n_samples, args.repeats, args.imports = 2_000, 2, 2
    meta = _harness.stamp()
    meta.update(
        quick=args.quick,
        **{k: getattr(args, k) for k in ("imports", "repeats", "epochs")},
        n_samples=args.n_samples,
        n_features=args.n_features,
    )
    rows = []
    for label, seconds in measure(args).items():
        medians = np.median(seconds, axis=0)
        rows.append(
            {
                "case": label,
                "medians": medians.tolist(),
                "spread": float(medians.max() / medians.min()),
                "seconds": seconds.tolist(),
            }
        )
    table = markdown(rows, meta)
    print(table)
    out = None if args.quick else Path(args.out) / "code_placement.md"
    _harness.write_results(table, {"meta": meta, "results": rows}, out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
