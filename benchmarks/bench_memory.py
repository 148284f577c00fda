"""Peak resident memory of ``fit`` on a large dense X, against X's own size.

Each case runs in a fresh process: X (n × d, default 1,000,000 × 100) is
filled in place in the requested layout/dtype (no temporary copies), then one
epoch is fitted. Reported: the process's peak resident memory above its
baseline before X existed, as a multiple of ``X.nbytes``. Target (issue #9):
at most ``1.3 × X.nbytes + 100 MB`` — no copy of X beyond a single necessary
dtype/layout conversion (an F-ordered X is converted to C order once).

Run::

    python benchmarks/bench_memory.py            # n=1,000,000, d=100 (800 MB)
    python benchmarks/bench_memory.py --quick    # n=100,000
    python benchmarks/bench_memory.py --out docs/benchmarks/memory.md  # committed
"""

import argparse
import sys
import textwrap
from pathlib import Path

import _harness

CHILD = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from sklearn_order import BackwardSGDClassifier

    def rss_mb():  # current resident set size
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    n, d, layout, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # compile / load the kernels and the libraries before measuring
    BackwardSGDClassifier(max_iter=1, tol=None).fit(
        np.ones((8, d), dtype=dtype), np.arange(8) % 2)
    baseline = rss_mb()
    X = np.empty((n, d), dtype=dtype, order=layout)
    rng = np.random.default_rng(0)
    for start in range(0, n, 100_000):
        block = X[start : start + 100_000]
        block[...] = rng.standard_normal(block.shape, dtype=np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    with_data = rss_mb()
    BackwardSGDClassifier(max_iter=1, tol=None, batch_size=32, random_state=0).fit(X, y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(X.nbytes / 2**20, with_data - baseline, peak - baseline)
    """
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="n=100,000")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples = 100_000
    run = _harness.stamp()
    rows = []
    lines = [
        f"# Peak memory of fit, n={args.n_samples:,}, d={args.n_features}",
        "",
        _harness.provenance(run, args.quick),
        "",
        "| input | X (MB) | peak above baseline (MB) | peak / X.nbytes "
        "| target 1.3 X + 100 MB | met |",
        "|---|---|---|---|---|---|",
    ]
    for layout, dtype, label in (
        ("C", "float64", "C-ordered float64"),
        ("F", "float64", "F-ordered float64"),
        ("C", "float32", "C-ordered float32"),
    ):
        out = _harness.run_python(
            CHILD, str(args.n_samples), str(args.n_features), layout, dtype
        ).split()
        x_mb, _, peak_mb = (float(v) for v in out)
        target = 1.3 * x_mb + 100
        rows.append(
            {"input": label, "x_mb": x_mb, "peak_mb": peak_mb, "target_mb": target}
        )
        lines.append(
            f"| {label} | {x_mb:.0f} | {peak_mb:.0f} | {peak_mb / x_mb:.2f} "
            f"| {target:.0f} | {'yes' if peak_mb <= target else 'no'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    data = {"meta": run, "n_samples": args.n_samples, "rows": rows}
    _harness.write_results(text, data, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
