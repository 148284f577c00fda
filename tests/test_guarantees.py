"""The user guide's list of guarantees names tests that exist.

Each claim of the README's "Reliability" list stands next to the tests that
prove it (the user guide's "What is guaranteed, and the test that proves
it"); a renamed or deleted test would leave a claim unproven without this.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "user_guide.rst"
TABLE_TITLE = "What is guaranteed, and the test that proves it"


def _table():
    """The text of the guarantee list's section."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(TABLE_TITLE)
    end = text.index("\nHostile input: what is guaranteed", start)
    return text[start:end]


def _test_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_test_the_guarantee_table_names_exists():
    references = re.findall(r"``(test_\w+\.py)::(\w+)``", _table())
    assert len(references) >= 20
    missing = [
        f"{module}::{name}"
        for module, name in references
        if name not in _test_names(ROOT / "tests" / module)
    ]
    assert missing == []


def test_every_claim_has_a_test():
    claims = re.findall(
        r"^- (.+?)\n\n  Tests:\s+(.+?)(?=\n- |\Z)", _table(), re.S | re.M
    )
    assert len(claims) >= 15
    for claim, tests in claims:
        assert "::" in tests, claim
