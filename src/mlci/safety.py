"""Make text that came from a repository or a pull request inert where mlci writes it.

A PR controls metric names, param values, paths and branch names. Rendered raw they could break a
table, inject HTML or mentions into a comment, or forge a workflow command in the log.
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def md_escape(value: object) -> str:
    """Escape text for one line of GitHub markdown (table cells included)."""
    text = str(value)
    text = re.sub(r"[\r\n\t]+", " ", text)
    text = "".join(_HTML.get(ch, ch) for ch in text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # `@user` would notify people; a zero-width joiner keeps it readable but inert
    return text.replace("@", "@\u200d")


def md_code(value: object) -> str:
    """Inline code that no backtick in the value can close early."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def one_line(value: object, limit: int = 200) -> str:
    """A single log line: no CR/LF (so no forged `::command::`), bounded length."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
