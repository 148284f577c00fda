"""Fail when a table of the built documentation is wider than its column.

Run after ``sphinx-build`` (CI does)::

    python docs/check_tables.py docs/_build/html

No browser: a table's narrowest possible width is estimated from the rendered
HTML, as a browser lays it out — each column as wide as the longest piece of
text in it that cannot be wrapped (words break at spaces and after hyphens),
plus the cells' padding — and compared with the width the page's article
gives a table at a 1400 px window: 896 px, or 714 px on a page that also
shows the left sidebar. The per-character widths are those of the theme's
fonts at 16 px (bold and code included), rounded up so that the estimate
errs wide; they were checked against the widths headless Chromium measured
on the benchmark pages.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: Width in px a table may take at a 1400 px window: without / with the left
#: sidebar (measured in headless Chromium, pydata-sphinx-theme 0.24).
ARTICLE_PX = 896
ARTICLE_WITH_SIDEBAR_PX = 714
#: px per character: proportional text, bold text, code (monospace, 0.875 em).
TEXT_PX, BOLD_PX, CODE_PX = 9.2, 10.0, 8.5
#: px of padding and border per cell.
CELL_PX = 18
#: where a browser may wrap inside a cell's text
_BREAKS = re.compile(r"\s+|(?<=[-–])")


class _Tables(HTMLParser):
    """The tables inside the page's article: rows of cells of (text, style) runs."""

    def __init__(self):
        super().__init__()
        self.tables, self.sidebar = [], False
        self._article = self._code = self._bold = 0
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "bd-sidebar-primary" in classes and "hide-on-wide" not in classes:
            self.sidebar = True
        if tag == "article" and "bd-article" in classes:
            self._article += 1
        elif self._article and tag == "table":
            self.tables.append([])
        elif self._article and tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif self._article and tag in ("td", "th") and self.tables:
            self._cell = []
            self.tables[-1][-1].append(self._cell)
            self._bold += tag == "th"
        elif tag in ("code", "kbd", "pre"):
            self._code += 1
        elif tag in ("strong", "b"):
            self._bold += 1

    def handle_endtag(self, tag):
        if tag == "article" and self._article:
            self._article -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self._cell = None
            self._bold -= tag == "th"
        elif tag in ("code", "kbd", "pre") and self._code:
            self._code -= 1
        elif tag in ("strong", "b") and self._bold:
            self._bold -= 1

    def handle_data(self, data):
        if self._cell is not None:
            style = "code" if self._code else "bold" if self._bold else "text"
            self._cell.append((data, style))


def _min_width(cell):
    """The widest run of a cell that cannot wrap, in px (runs join across tags)."""
    px = {"text": TEXT_PX, "bold": BOLD_PX, "code": CODE_PX}
    widest = current = 0.0
    for text, style in cell:
        pieces = _BREAKS.split(text)
        for i, piece in enumerate(pieces):
            if i:  # a break opportunity lay before this piece
                widest, current = max(widest, current), 0.0
            current += len(piece) * px[style]
    return max(widest, current) + CELL_PX


def table_widths(html):
    """The estimated narrowest width (px) of each table in a page's article."""
    parser = _Tables()
    parser.feed(html)
    widths = []
    for rows in parser.tables:
        columns = {}
        for row in rows:
            for j, cell in enumerate(row):
                columns[j] = max(columns.get(j, 0.0), _min_width(cell))
        widths.append(sum(columns.values()))
    return widths, ARTICLE_WITH_SIDEBAR_PX if parser.sidebar else ARTICLE_PX


def overflowing_tables(html):
    """``(table index, estimated px, available px)`` of each table too wide."""
    widths, available = table_widths(html)
    return [(i, w, available) for i, w in enumerate(widths) if w > available]


def main(argv=None):
    root = Path((argv or sys.argv[1:] or ["docs/_build/html"])[0])
    pages = sorted(root.rglob("*.html"))
    if not pages:
        sys.exit(f"no HTML pages under {root}: build the documentation first")
    failures = [
        f"{page.relative_to(root)}: table {i + 1} needs about {width:.0f} px, "
        f"the article gives it {available} px"
        for page in pages
        for i, width, available in overflowing_tables(page.read_text(encoding="utf-8"))
    ]
    print("\n".join(failures) or f"{len(pages)} pages: every table fits its column")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
