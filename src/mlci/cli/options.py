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


DEBUG = {"on": False}  # this run's --debug: reset by the error funnel (mlci.cli.app) for each run


def set_debug(ctx: click.Context, value: bool) -> None:
    """`--debug` before or after the command: one flag, on the root context and for the error funnel."""
    if not value:
        return
    root = ctx.find_root()
    root.ensure_object(dict)
    root.obj["debug"] = True
    DEBUG["on"] = True


def debug_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--debug` on a command, the same flag as `mlci --debug`: `mlci monitor --debug ...` works too."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=lambda ctx, _param, value: set_debug(ctx, value),
        help="Show tracebacks of unexpected errors (as `mlci --debug`).",
    )(f)
