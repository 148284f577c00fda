"""Kernel A/B: whole-fit epoch time of one commit's package against another's.

The harness's A/B mode (``_harness.ab_run``): the package of each side (a
git ref, or ``worktree`` for the working tree) is copied into a folder of
its own with its own Numba cache; every measurement is a fresh process that
imports that copy by path, pins the BLAS and Numba to one thread, builds
the cases' data, fits once to compile (or load) the kernels, and then, for
each case, times ``--repeats`` alternating fits of 1 and ``--epochs`` epochs:
its per-epoch time is the median of ``(t_long − t_short) / (epochs − 1)``,
on the process's CPU clock by default (``--clock``). It does so for
``--instances`` imports of its package (``_harness.fresh_import``), so that
its median is over several placements of the kernels' machine code in
memory, which change an epoch's time by up to 35%
(``bench_code_placement.py``). Beside each fit it times
the same epochs of the harness's reference workload on the same data
(``_harness.reference_epochs``: a fixed loop, the same machine code on every
side), and reports the fit's per-epoch time also relative to it, which takes
out how fast the machine ran that process.
``--processes`` blocks run one process per side each, in a random order
(``--seed``), and the sides are compared block by block. Beside B the same
schedule runs A′, a second copy of A: the A/A control, whose ratio to A is
what the harness cannot resolve on this machine.

Run::

    python benchmarks/bench_kernel_ab.py --a main --b worktree
        # writes docs/benchmarks/kernel_ab.md and .json
    python benchmarks/bench_kernel_ab.py --a main --b HEAD --quick   # smoke run

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import json
import sys
from pathlib import Path

import _harness
import numpy as np
from _data import COMMON, make_data, make_sparse_data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The cases: ``(storage and dtype, order, batch_size, average[, sampling])``;
#: the sampling scheme is ``"reshuffle"`` where not given.
CASES = [
    ("dense float64", "forward", 1, False),
    ("dense float64", "backward", 1, False),
    ("dense float64", "forward", 32, False),
    ("dense float32", "forward", 1, False),
    ("csr float64", "forward", 1, False),
    ("csr float64", "backward", 1, False),
    ("csr float64", "forward", 32, False),
    ("csr float32", "forward", 1, False),
    ("dense float64", "forward", 1, True),
    ("csr float64", "forward", 1, True),
    ("csr float64", "forward", 32, True),
    ("dense float64", "forward", 1, True, "grab"),
    ("csr float64", "forward", 1, True, "grab"),
]


def _case_fields(case):
    """``(data, order, batch_size, average, sampling)`` of a case."""
    data, order, batch_size, average, *rest = case
    return data, order, batch_size, average, rest[0] if rest else "reshuffle"


#: The suffix of a case's per-epoch time relative to the reference workload.
RELATIVE = " ÷ reference"


def case_name(case):
    """``"csr float64 backward b=1"``, ``"… average"``, ``"… grab"``: a row label."""
    data, order, batch_size, average, sampling = _case_fields(case)
    return (
        f"{data} {order} b={batch_size}"
        + (" average" if average else "")
        + ("" if sampling == "reshuffle" else f" {sampling}")
    )


def child(args):
    """Measure this process's ``sklearn_order`` on the chosen cases; print JSON.

    Runs in a fresh process whose ``PYTHONPATH`` puts one side's package
    first (the harness checks the ``package`` it reports).
    """
    from threadpoolctl import threadpool_limits

    cases = selected(args)
    # only the data the chosen cases fit: a process's set-up is not timed,
    # but it is part of how long a run of many processes takes
    data = {}
    if any(case[0].startswith("dense") for case in cases):
        dense, y = make_data(args.n_samples, args.n_features, np.float64)
        data["dense float64"] = dense, y
        data["dense float32"] = dense.astype(np.float32), y
    if any(case[0].startswith("csr") for case in cases):
        csr, z = make_sparse_data(args.n_samples, args.sparse_features, args.nnz)
        data["csr float64"] = csr, z
        data["csr float32"] = csr.astype(np.float32), z
    fits = {case: [] for case in cases}
    references = {case: [] for case in cases}
    with threadpool_limits(limits=1):
        for _ in range(1 if args.prime else args.instances):
            sklearn_order = _harness.fresh_import()
            loops = {
                name: _harness.reference_epochs(X)
                for name, (X, _) in data.items()
                if not args.prime
            }
            for case in cases:
                name, order, batch_size, average, sampling = _case_fields(case)
                X, labels = data[name]
                model = sklearn_order.BackwardSGDClassifier(
                    order=order,
                    batch_size=batch_size,
                    average=average,
                    sampling=sampling,
                    random_state=0,
                    **COMMON,
                )
                # compile (or load) the kernels: never timed
                model.set_params(max_iter=1).fit(X[:200], labels[:200])
                if args.prime:
                    continue

                def fit(max_iter, model=model, X=X, labels=labels):
                    model.set_params(max_iter=max_iter).fit(X, labels)

                samples = _harness.paired_per_epoch(
                    {"fit": fit, "reference": loops[name]},
                    args.epochs,
                    args.repeats,
                    clock=args.clock,
                )
                fits[case] += [s["epoch"] for s in samples["fit"]]
                references[case] += [s["epoch"] for s in samples["reference"]]
    times = {}
    for case in [] if args.prime else cases:
        epochs = np.array(fits[case])
        times[case_name(case)] = float(np.median(epochs))
        times[case_name(case) + RELATIVE] = float(
            np.median(epochs / np.array(references[case]))
        )
    print(json.dumps({"package": sklearn_order.__file__, "times": times}))


def selected(args):
    """The cases chosen by ``--case`` (all by default)."""
    return [case for i, case in enumerate(CASES) if not args.case or i in args.case]


def markdown(rows, meta):
    """The report: provenance, the A/B tables with their A/A control, the legend."""
    seconds = [r for r in rows if not r["case"].endswith(RELATIVE)]
    relative = [
        {**r, "case": r["case"].removesuffix(RELATIVE)}
        for r in rows
        if r["case"].endswith(RELATIVE)
    ]
    return "\n".join(
        [
            "# Kernel A/B: epoch speed against the previous kernel",
            "",
            _harness.provenance(meta, meta["quick"]),
            "",
            f"A: `{meta['a']}`; B: `{meta['b']}`. {meta['processes']} blocks of "
            "three fresh processes (A, A′, B, in a shuffled order within each "
            f"block; seed {meta['seed']}); in each process, for each of "
            f"{meta.get('instances', 1)} imports of its package and per case, "
            f"a fit that compiles, then {meta['repeats']} alternating pairs of "
            f"fits of 1 and {meta['epochs']} epochs ({meta['clock']} clock), "
            "each beside "
            "the same epochs of the harness's reference workload on the same "
            f"data; dense {meta['n_samples']:,}×{meta['n_features']}, CSR "
            f"{meta['n_samples']:,}×{meta['sparse_features']:,} with {meta['nnz']} "
            "non-zeros per row; BLAS and Numba on one thread. A change may cost "
            "at most 5%: B ÷ A above 1.05, beyond the A/A control's interval, "
            "is a regression.",
            "",
            "**Seconds per epoch.**",
            "",
            _harness.ab_table(seconds),
            "",
            "**Per epoch, relative to the reference workload.** Each process's "
            "per-epoch time divided by the reference workload's, timed beside "
            "it in the same process (the median over its rounds): the "
            "reference is the same machine code on both sides, so this ratio "
            "takes out how fast the machine ran the process, and changes only "
            "with the package.",
            "",
            _harness.ab_table(relative, unit="÷ reference", digits=3),
            "",
            _harness.AB_LEGEND,
        ]
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", default="main", help="git ref of A (the baseline)")
    parser.add_argument(
        "--b",
        default=_harness.WORKTREE,
        help=f"git ref of B, or {_harness.WORKTREE!r} (default)",
    )
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--sparse-features", type=int, default=100_000)
    parser.add_argument("--nnz", type=int, default=50)
    parser.add_argument(
        "--epochs", type=int, default=6, help="epochs of the long fit (>= 2)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="pairs of fits per case per import of the package",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=3,
        help="imports of the package per process, each loading the kernels "
        "into new places in memory",
    )
    parser.add_argument("--processes", type=int, default=16, help="per side")
    parser.add_argument(
        "--clock",
        choices=_harness.CLOCKS,
        default="cpu",
        help="the process's CPU time (default: one thread, so the fit's own "
        "time, blind to the time it waited for its core on a loaded machine), "
        "or wall time",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the schedule")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="n=5,000, 2 processes per side, 1 repeat: a smoke run, no files",
    )
    parser.add_argument(
        "--case",
        type=int,
        action="append",
        help="run only this case (its row number in the table, from 0); repeatable",
    )
    parser.add_argument(
        "--name", default="kernel_ab", help="results file name (without extension)"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="write the report of an earlier run's JSON results again (with "
        "this version's tables), beside that file; measures nothing",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prime", action="store_true", help=argparse.SUPPRESS)
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    if args.quick:
        args.n_samples, args.sparse_features = 5_000, 5_000
        args.processes, args.repeats, args.instances = 2, 1, 1
    return args


#: The options a child is given again, as its parent had them.
CHILD_OPTIONS = (
    "n_samples",
    "n_features",
    "sparse_features",
    "nnz",
    "epochs",
    "instances",
    "clock",
)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        child(args)
        return 0
    if args.render:
        path = Path(args.render)
        data = json.loads(path.read_text())
        table = markdown(data["results"], data["meta"])
        _harness.write_results(table, None, path.with_suffix(".md"))
        return 0
    child_argv = ["--child", "--repeats", str(args.repeats)]
    for name in CHILD_OPTIONS:
        child_argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    for number in args.case or ():
        child_argv += ["--case", str(number)]
    meta = _harness.stamp()
    # what each side is, when its package is copied (a long run's working
    # tree may have moved on by its end)
    meta.update(a=_harness.describe_ref(args.a), b=_harness.describe_ref(args.b))
    samples = _harness.ab_run(
        Path(__file__).resolve(),
        child_argv,
        {"A": args.a, "A'": args.a, "B": args.b},
        args.processes,
        seed=args.seed,
    )
    meta.update(
        quick=args.quick,
        processes=args.processes,
        repeats=args.repeats,
        seed=args.seed,
        **{name: getattr(args, name) for name in CHILD_OPTIONS},
    )
    rows = _harness.ab_summary(samples, seed=args.seed)
    table = markdown(rows, meta)
    print(table)
    data = {"meta": meta, "results": rows, "samples": samples}
    out = None if args.quick else Path(args.out) / f"{args.name}.md"
    _harness.write_results(table, data, out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
