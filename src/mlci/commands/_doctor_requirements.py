"""`mlci doctor`'s check of the project's requirements: read as pip reads them, resolved alone as the
jobs that run the project's code will resolve them (mlci.repo.resolution), before CI does."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlci.errors import MlciError
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.repo.resolution import Resolution


def find(root: Path, given: str | None) -> str:
    """The requirements file to check, relative to `root`: `given`, else the one `mlci init` wires in
    ("" when the project has none). Raises MlciError when `given` is not a file."""
    from mlci.onboarding.scaffold import find_requirements

    if given is None:
        return find_requirements(root)
    if not (root / given).is_file():
        raise MlciError(
            f"--requirements {given}: no such file in {root}", "name the project's requirements file"
        )
    return given


def check(root: Path, relpath: str, python_version: str | None) -> Resolution:
    """Resolve it; MlciError when it cannot be read as pip reads it."""
    from mlci.repo.resolution import resolve

    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        return resolve(root, relpath, version)
    except (OSError, UnicodeError, LookupError) as exc:
        raise MlciError(
            f"{relpath}: cannot be read as pip reads a requirements file: {one_line(str(exc), 200)}",
            "save it as UTF-8 (or UTF-16 with its byte-order mark, as PowerShell writes it)",
        ) from None


def as_json(result: Resolution) -> dict[str, Any]:
    return asdict(result)


def print_text(result: Resolution) -> None:
    how = f"{result.encoding}{' with a byte-order mark' if result.bom else ''}"
    click.echo(
        f"requirements {one_line(result.path, 200)} ({how}; the project's environment, apart from mlci's)"
    )
    if result.bom or result.encoding not in ("utf-8", "utf8"):
        click.echo(f"  note: read as pip reads it ({how}); the jobs hand uv a UTF-8 copy")
    state = {True: "resolves", False: "DOES NOT RESOLVE", None: "not checked"}[result.ok]
    click.echo(f"  resolution: {state} — {result.resolver}")
    for conflict in result.conflicts:
        sides = " and ".join(f"{w.requirement} ({one_line(w.source, 200)})" for w in conflict.wants)
        click.echo(f"  conflict: {conflict.package}: {sides}")
    if result.ok is False:
        click.echo(f"  resolver: {one_line(result.explanation, 1500)}")
        click.echo(
            "  fix: change the requirements above so they agree (a pip freeze pins every package: "
            "keep only what the stages import), then run `mlci doctor` again"
        )


def failure(result: Resolution) -> str:
    if result.conflicts:
        first = result.conflicts[0]
        return f"{result.path}: {first.package}: " + " and ".join(
            f"{w.requirement} ({w.source})" for w in first.wants
        )
    return f"{result.path} does not resolve: {one_line(result.explanation, 300)}"
