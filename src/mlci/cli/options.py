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


def output_format(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format text|json` of the commands that print a result (train, event)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help,
    )
