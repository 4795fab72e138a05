"""GitHub markdown tables, byte for byte what `tabulate(rows, headers, tablefmt="github",
disable_numparse=True)` writes, without importing tabulate (and wcwidth, importlib.metadata) on
every `mlci report`: about 25 ms of a run that is mostly DVC's start-up.

The fast path covers text of printable ASCII and the symbols mlci itself writes, whose display
widths are fixed below (wcwidth's; tests/test_report_render.py checks them against tabulate). Any
other character (CJK, emoji from a metric name, control or zero-width characters) goes to tabulate,
so those tables keep tabulate's wide-character handling exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

# display width of the non-ASCII characters mlci's own cells and headers contain
SYMBOL_WIDTHS: dict[str, int] = {
    "·": 1,
    "—": 1,
    "…": 1,
    "→": 1,
    "≤": 1,
    "≥": 1,
    "╲": 1,
    "▲": 1,
    "▼": 1,
    "✅": 2,
    "❌": 2,
    "🆕": 2,
    "🔴": 2,
    "🟢": 2,
}


def github_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A left-aligned GitHub table of text cells, as tabulate's "github" format lays it out."""
    if not rows or any(_width(c) is None for row in (headers, *rows) for c in row):
        return _tabulate(rows, headers)  # no rows, or text off the fast path (checked before stripping)
    texts = [list(headers), *([c.strip() for c in row] for row in rows)]  # tabulate strips cells only
    widths = [[_width(c) or 0 for c in row] for row in texts]
    if any(len(row) != len(headers) for row in widths):
        return _tabulate(rows, headers)
    sizes = [w + 2 for w in widths[0]]  # tabulate's minimum width: the header's and 2
    for row_widths in widths[1:]:
        sizes = [max(size, w) for size, w in zip(sizes, row_widths, strict=True)]
    lines = [
        ("| " + " | ".join(t + " " * (n - w) for t, w, n in zip(row, ws, sizes, strict=True)) + " |").rstrip()
        for row, ws in zip(texts, widths, strict=True)
    ]
    lines.insert(1, "|" + "|".join("-" * (n + 2) for n in sizes) + "|")
    return "\n".join(lines)


def _width(text: object) -> int | None:
    """Display width, or None when the cell is not text or a character is outside the fast path."""
    if not isinstance(text, str):
        return None
    if text.isascii():
        return len(text) if text.isprintable() else None
    width = 0
    for char in text:
        if " " <= char <= "~":
            width += 1
        else:
            symbol = SYMBOL_WIDTHS.get(char)
            if symbol is None:
                return None
            width += symbol
    return width


def _tabulate(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, list(headers), tablefmt="github", disable_numparse=True)
