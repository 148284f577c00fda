"""The documentation says only what the code and the committed results say.

No build needed: these read the sources of the pages (README.md, docs/*.rst,
the benchmark pages and the generated study report) and the committed
results files. ``docs/check_tables.py``, run on the built site by CI, is
tested here on small pages.
"""

import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_order

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
PAGES = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.rst")),
    *sorted((DOCS / "benchmarks").glob("*.rst")),
    DOCS / "study" / "results.md",
]
ESTIMATORS = (
    sklearn_order.BackwardSGDClassifier,
    sklearn_order.BackwardSGDRegressor,
    sklearn_order.BackwardSGDClassifierCV,
    sklearn_order.BackwardSGDRegressorCV,
)

#: Names written as ``name=...`` on the pages that are not parameters of our
#: estimators or functions, nor of scikit-learn's SGD (which the pages
#: compare with), and where each comes from.
OTHER_PARAMETERS = {
    "lmbd": "benchopt's objective (benchmarks/benchopt/objective.py)",
    "model": "benchopt's objective (benchmarks/benchopt/objective.py)",
    "beta": "benchopt's result: get_result() returns dict(beta=...)",
    "scatter": "joblib.parallel_backend('dask', scatter=...)",
    "shuffle_blocks": "dask-ml's Incremental.fit",
}


def _load_check_tables():
    spec = importlib.util.spec_from_file_location(
        "check_tables", DOCS / "check_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _literals(text):
    """The inline code of a page: ``rst literals`` and `Markdown code`.

    Markdown's fenced blocks are left out: they are scripts, whose names are
    their own.
    """
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"``(.+?)``", text, re.S) + re.findall(
        r"(?<!`)`([^`\n]+)`(?!`)", text
    )


def _known_parameters():
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    names = set()
    for estimator in (*ESTIMATORS, SGDClassifier, SGDRegressor):
        names |= set(estimator().get_params())
    for function in (
        sklearn_order.trajectory,
        sklearn_order.coalescence,
        sklearn_order.training_objective,
    ):
        names |= set(inspect.signature(function).parameters)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_name_only_parameters_that_exist(page):
    # ``name=value`` in a page's code is a parameter of something real: one of
    # our estimators or functions, scikit-learn's SGD, or a listed other tool
    known = _known_parameters() | set(OTHER_PARAMETERS)
    unknown = {
        name
        for literal in _literals(page.read_text(encoding="utf-8"))
        # keyword style (no space before "="); upper case: environment variables
        for name in re.findall(r"(?:^|[(,\s])([A-Za-z_]\w+)=(?!=)", literal)
        if name not in known and not name.isupper()
    }
    assert not unknown, f"{page.name} names parameters nothing has: {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_fit_calls_pass_only_fit_parameters(page):
    # constructor parameters (device, average, ...) are not fit's
    allowed = {
        name
        for estimator in ESTIMATORS
        for method in (estimator.fit, estimator.partial_fit)
        for name in inspect.signature(method).parameters
    }
    text = page.read_text(encoding="utf-8")
    passed = {
        name
        for call in re.findall(r"\bfit\(([^()]*)\)", text)
        for name in re.findall(r"([A-Za-z_]\w*)\s*=(?!=)", call)
    }
    assert passed <= allowed, f"{page.name}: fit(...) given {passed - allowed}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_never_deny_a_parameter_the_estimators_have(page):
    have = set().union(*(estimator().get_params() for estimator in ESTIMATORS))
    text = page.read_text(encoding="utf-8")
    denied = set(re.findall(r"\bno\s+`+(\w+)`+\s+parameter", text)) & have
    assert not denied, f"{page.name} says there is no {denied} parameter"


def test_backward_cost_stands_beside_every_as_cheap_claim():
    # "as cheap as ordinary SGD" is true per epoch; the total to converge
    # (the main job's committed numbers) must be said in the same paragraph
    compare = (DOCS / "benchmarks" / "compare" / "compare.md").read_text()
    for number in ("512", "55,242", "788"):
        assert number in compare
    claims = 0
    for page in (ROOT / "README.md", DOCS / "index.rst", DOCS / "user_guide.rst"):
        for paragraph in re.split(r"\n\s*\n", page.read_text(encoding="utf-8")):
            if re.search(r"as\s+cheap\s+as|one\s+reversed\s+pass", paragraph):
                claims += 1
                assert "55,242" in paragraph and "788" in paragraph, (
                    f"{page.name}: a cheapness claim without the total cost:\n"
                    + paragraph
                )
    assert claims >= 2


def _summary_rows():
    """The benchmark summary's rows: (measure, result, files cited)."""
    text = (DOCS / "benchmarks.rst").read_text(encoding="utf-8")
    table = text[text.index(".. list-table::") : text.index(".. toctree::")]
    rows = []
    for row in table.split("\n   * - ")[2:]:  # after the options and the header
        measure, result, _page, files = row.split("\n     - ")
        cited = re.findall(r":download:`[^<`]*<([^>]+)>`", files)
        rows.append((measure, result, [DOCS / path for path in cited]))
    return rows


def test_benchmark_summary_quotes_its_cited_results_files():
    rows = _summary_rows()
    assert len(rows) >= 10
    for measure, result, files in rows:
        assert files, f"no results file cited for {measure!r}"
        texts = [path.read_text(encoding="utf-8") for path in files]
        numbers = re.findall(r"\d[\d,]*(?:\.\d+)?", result)
        assert numbers, measure
        for number in numbers:
            assert any(number in text for text in texts), (
                f"{number} ({measure.strip()}) is in none of {[p.name for p in files]}"
            )


def test_gpu_pages_state_the_current_number_of_cuda_tests():
    stated = [
        number
        for page in (DOCS / "gpu.rst", ROOT / "README.md")
        for number in re.findall(
            r"now\s+holds\s+(\d+)\s+tests", page.read_text(encoding="utf-8")
        )
    ]
    assert len(stated) == 2
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        + [str(ROOT / "tests" / "test_cuda.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    ).stdout
    count = re.search(r"(\d+) tests? collected", collected)
    assert count is not None, collected[-2000:]
    assert {int(number) for number in stated} == {int(count.group(1))}


def _page(cells, sidebar=False):
    rows = "".join(
        "<tr>" + "".join(f"<td><p>{cell}</p></td>" for cell in row) + "</tr>"
        for row in cells
    )
    primary = "bd-sidebar-primary bd-sidebar" + ("" if sidebar else " hide-on-wide")
    return (
        f'<html><body><div class="{primary}"></div><article class="bd-article">'
        f"<table><thead><tr><th>solver</th><th>median ratio</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></article></body></html>"
    )


def test_table_check_flags_a_table_wider_than_its_column():
    check = _load_check_tables()
    # the benchopt table as it was: full solver names, the ratios pushed right
    wide = _page(
        [
            [
                "sklearn-order[average=False,order=backward,sampling=reshuffle]",
                "sklearn-sgd[average=False]",
                "logreg · simulated-dense[n_features=400,n_samples=100000]",
                "0.70",
            ]
        ]
    )
    assert check.overflowing_tables(wide)
    narrow = _page([["ours backward", "sklearn SGD", "logreg, dense", "0.70"]])
    assert check.overflowing_tables(narrow) == []
    # words wrap: a long sentence in a cell is not a wide table
    sentence = " ".join(["word"] * 200)
    assert check.overflowing_tables(_page([[sentence, "0.70"]])) == []


def test_table_check_gives_less_room_beside_the_left_sidebar():
    check = _load_check_tables()
    cells = [["x" * 30, "y" * 30, "z" * 20]]  # about 770 px
    assert check.overflowing_tables(_page(cells)) == []
    assert check.overflowing_tables(_page(cells, sidebar=True))


def test_table_check_reads_only_the_article():
    check = _load_check_tables()
    page = _page([["ok"]]).replace(
        "<article", "<table><tr><td>" + "w" * 500 + "</td></tr></table><article"
    )
    assert check.overflowing_tables(page) == []


@pytest.mark.parametrize(
    "page", [page for page in PAGES if page.suffix == ".rst"], ids=lambda p: p.name
)
def test_no_bullet_starts_with_an_unescaped_initial(page):
    # reStructuredText reads "- P. Diaconis, ..." as a list enumerated from P:
    # an author's initial must be escaped ("- P\. Diaconis")
    text = page.read_text(encoding="utf-8")
    assert not re.findall(r"^\s*[-*+] [A-Za-z]\. ", text, re.M)
