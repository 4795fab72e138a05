"""Templates: the shipped `templates/` folder, overridable from the user's `.mlci/templates/`."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from mlci.safety import md_code, md_escape

USER_TEMPLATES = ".mlci/templates"


def templates_dir() -> Path:
    """The shipped templates: inside the wheel, or the top-level folder of a source checkout."""
    packaged = Path(str(resources.files("mlci") / "templates"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=8)
def environment(repo_root: str = "") -> jinja2.Environment:
    search = [str(Path(repo_root) / USER_TEMPLATES)] if repo_root else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*search, str(templates_dir())]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # markdown, not HTML: values are escaped with the `md` filter
    )
    env.filters.update(md=md_escape, code=md_code, num=fmt_number, signed=fmt_signed, pct=fmt_pct)
    return env


def render(name: str, repo_root: Path | str = "", **context: Any) -> str:
    try:
        template = environment(str(repo_root)).get_template(name)
    except jinja2.TemplateNotFound:
        raise FileNotFoundError(f"template {name} not found in {USER_TEMPLATES} or mlci's own") from None
    return template.render(**context)


def fmt_number(value: object, digits: int = 4) -> str:
    """Numbers as people read them: 0.9123, 1.2e-05, 12,345; anything else as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—" if value is None else md_escape(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 10**9):
        return f"{value:.{digits - 1}e}"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def fmt_signed(value: object, digits: int = 4) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return "+" + fmt_number(value, digits)
    return fmt_number(value, digits)


def fmt_pct(value: object, digits: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—"
    return f"{value:+.{digits}f}%"
