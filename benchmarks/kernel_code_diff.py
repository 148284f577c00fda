"""Kernel code diff: does a change alter the machine code of the compiled kernels?

A refactor of the kernels' source (a helper factored out, an expression
moved into an inlined function) may leave LLVM's output unchanged. Then no
timing is needed to show that it did not slow a fit down, and no timing
could show it as precisely: the same instructions run. This script
compiles the same kernel variants for two packages (a git ref each, or
``worktree``), each in a fresh process with an empty kernel cache, and
compares the machine code of every compiled function signature by
signature, after taking out what differs between two compilations of the
same code (names, local labels, string constants, comments, debug
directives).

The variants are the warm-up's (``sklearn_order.warmup.VARIANTS``, the
side's own list), optionally filtered by ``--match``.

Run::

    python benchmarks/kernel_code_diff.py --a HEAD --b worktree
        # writes docs/benchmarks/kernel_code.md and .json
    python benchmarks/kernel_code_diff.py --a HEAD --b worktree --quick

A function reported ``identical`` has the same instructions in both; one
reported ``differs`` needs the A/B timing harness (``bench_kernel_ab.py``).
"""

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import _harness

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# what differs between two compilations of the same code
_SYMBOL = re.compile(r"_ZN[\w$.]+")
_LABEL = re.compile(r"\.L\w+")
_CONSTANT = re.compile(r"\.const\.[\w.]+")
_STRING = re.compile(r'\.(asciz|ascii)\s+".*"')
_COMMENT = re.compile(r"#.*")
_DIRECTIVE = re.compile(r"^\s*\.(file|loc|ident|section|type|size)\b.*$", re.M)


#: The variant of a ``--quick`` run.
QUICK_MATCH = r"^classifier fit\(order=forward,sampling=reshuffle\) dense float64$"


def normalized_assembly(assembly):
    """``assembly`` without names, labels, strings, comments and debug lines.

    Names (of symbols and of constants), local labels and string constants
    (a function's name in its wrapper, error messages) change no instruction
    that runs.
    """
    text = _DIRECTIVE.sub("", assembly)
    text = _SYMBOL.sub("SYMBOL", text)
    text = _LABEL.sub("LABEL", text)
    text = _CONSTANT.sub("CONSTANT", text)
    text = _STRING.sub(r".\1 STRING", text)
    text = _COMMENT.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def compiled_functions(package_name="sklearn_order"):
    """Every compiled signature of the package's dispatchers: a digest of its code.

    Returns
    -------
    dict of str to dict
        ``"module.function(signature)"`` -> ``{"digest", "lines"}``.
    """
    from numba.core.registry import CPUDispatcher

    dispatchers = [
        value
        for module_name, module in sorted(sys.modules.items())
        if module is not None and module_name.startswith(package_name)
        for value in vars(module).values()
        if isinstance(value, CPUDispatcher)
    ]
    try:  # with the kernels' twins per storage, where a ref has them
        from sklearn_order._cache import package_kernels
    except ImportError:
        pass
    else:
        dispatchers += [
            kernel
            for kernel in package_kernels()
            if kernel.py_func.__module__.startswith(package_name)
        ]
    seen, functions = set(), {}
    for value in dispatchers:
        if id(value) in seen:
            continue
        seen.add(id(value))
        py_func = value.py_func
        name = f"{py_func.__module__}.{py_func.__qualname__}"
        for signature in value.signatures:
            code = normalized_assembly(value.inspect_asm(signature))
            functions[f"{name}{signature}"] = {
                "digest": hashlib.sha256(code.encode()).hexdigest()[:16],
                "lines": code.count("\n") + 1,
            }
    return functions


def child(match):
    """Compile the matching variants in this process; print the digests as JSON."""
    import sklearn_order
    from sklearn_order.warmup import VARIANTS, run_variant

    variants = [v for v in VARIANTS if re.search(match, v.name)]
    if not variants:
        raise SystemExit(f"no warm-up variant matches {match!r}")
    for variant in variants:
        run_variant(variant)
    print(
        json.dumps(
            {
                "package": sklearn_order.__file__,
                "variants": [v.name for v in variants],
                "functions": compiled_functions(),
            }
        )
    )


def compare(a, b):
    """Rows ``(function, verdict)``: identical, differs, only in A, only in B."""
    rows = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            verdict = "only in A"
        elif name not in a:
            verdict = "only in B"
        elif a[name]["digest"] == b[name]["digest"]:
            verdict = "identical"
        else:
            verdict = "differs"
        rows.append((name, verdict))
    return rows


def side_functions(ref, match, scratch, label):
    """Compile ``ref``'s package's variants in a fresh process with an empty cache."""
    folder = Path(scratch) / label
    root = _harness.package_copy(ref, folder / "package")
    env = _harness.environment(root, folder / "cache")
    _, _, done = _harness.run_process(
        [sys.executable, __file__, "--child", "--match", match], env=env
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(report["package"]).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"side {label} imported {report['package']}")
    return report


def _short(name, width=70):
    return name if len(name) <= width else name[: width - 1] + "…"


def markdown(run, refs, reports, rows, quick):
    counts = {}
    for _, verdict in rows:
        counts[verdict] = counts.get(verdict, 0) + 1
    lines = [
        "# Kernel machine code: A against B",
        "",
        _harness.provenance(run, quick),
        "",
        f"A = {refs['A']}, B = {refs['B']}. Variants compiled on each side: "
        f"{len(reports['A']['variants'])} (A), {len(reports['B']['variants'])} (B).",
        "",
        "Compiled signatures: "
        + ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
        + ".",
        "",
        "| function (signature shortened) | verdict |",
        "|---|---|",
    ]
    for name, verdict in rows:
        if verdict != "identical":
            lines.append(f"| `{_short(name)}` | {verdict} |")
    if all(verdict == "identical" for _, verdict in rows):
        lines.append("| every compiled signature | identical |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", default="HEAD", help="git ref of side A")
    parser.add_argument(
        "--b", default=_harness.WORKTREE, help="git ref of side B, or 'worktree'"
    )
    parser.add_argument(
        "--match",
        default="",
        help="only the warm-up variants whose name this regular expression finds",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one variant: a dense float64 fit"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "benchmarks" / "kernel_code.md"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick and not args.match:
        args.match = QUICK_MATCH
    if args.child:
        child(args.match)
        return 0
    run = _harness.stamp()
    refs = {"A": _harness.describe_ref(args.a), "B": _harness.describe_ref(args.b)}
    with tempfile.TemporaryDirectory() as scratch:
        reports = {
            label: side_functions(ref, args.match, scratch, label)
            for label, ref in (("A", args.a), ("B", args.b))
        }
    rows = compare(reports["A"]["functions"], reports["B"]["functions"])
    text = markdown(run, refs, reports, rows, args.quick)
    print(text)
    data = {"run": run, "refs": refs, "rows": rows, "reports": reports}
    _harness.write_results(
        None if args.quick else text,
        data,
        path=None if args.quick else args.out,
        json_path=args.json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
