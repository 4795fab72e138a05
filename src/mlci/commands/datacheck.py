"""`mlci data check`: run the data checks, say what they found, gate (`mlci data infer`: commands.datainfer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from mlci.commands.context import RunContext
from mlci.errors import GateFailed
from mlci.fsutil import write_output_atomic
from mlci.repo.git import ensure_commit


@dataclass(frozen=True)
class CheckOptions:
    """`mlci data check [PATH]... [--base REV] [--format markdown|json] [--output FILE]`."""

    paths: tuple[str, ...] = ()
    base: str | None = None
    format: str = "markdown"
    output: str | None = None


def run(ctx: RunContext, options: CheckOptions) -> int:
    """Check the datasets; 0, GateFailed (exit 1) when a check failed, MlciError (exit 2)."""
    check(ctx, options.paths, options.base, options.format, options.output)
    return 0


def check(ctx: RunContext, paths: tuple[str, ...], base: str | None, fmt: str, output: str | None) -> None:
    from mlci.data.check import run_checks
    from mlci.data.datasets import discover

    datasets = discover(ctx.root, ctx.config, paths)
    if not datasets:  # e.g. a pipeline reading XML or images: nothing for mlci to check, and that is fine
        line = (
            "mlci data check: nothing to check (mlci.yaml declares no dataset and no dvc.yaml stage depends "
            "on DVC-tracked CSV or Parquet data)"
        )
        click.echo(line)
        ctx.actions.append_summary(f"{line}\n")
        ctx.actions.set_output("data-passed", "true")
        return
    base_rev = base or ctx.runtime.base_sha or None  # on a pull_request event: the PR's base
    base_sha = ensure_commit(ctx.root, base_rev) if base_rev else None
    report = run_checks(ctx.root, ctx.config, datasets, base_sha)
    markdown = report.markdown(ctx.root, heading="##")
    text = json.dumps(report.to_json(), indent=2, default=str) + "\n" if fmt == "json" else markdown
    if output:
        write_output_atomic(Path(output), text)
        click.echo(f"data check report written to {output}")
    else:
        click.echo(text, nl=False)
    ctx.actions.append_summary(markdown)
    ctx.actions.set_output("data-passed", "true" if report.passed else "false")
    for note in report.annotations:
        ctx.actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    failed = sum(len(r.failures) for r in report.results)
    if failed:
        raise GateFailed(
            f"{failed} data check{'s' if failed != 1 else ''} failed",
            "fix the data, or change its contract under data.datasets in mlci.yaml if the change is intended",
        )
