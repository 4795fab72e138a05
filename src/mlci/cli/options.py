"""Options several commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def report_format(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format markdown|json` of the commands that write a report (report, monitor, data check)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["markdown", "json"]),
        default="markdown",
        show_default=True,
        help=help,
    )
