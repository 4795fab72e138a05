"""`mlci affected`: the models a change touches, for a strategy.matrix (no data stack imported)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import click

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.render import render
from mlci.repo import pipeline as pl
from mlci.repo.git import ensure_commit, resolve
from mlci.safety import one_line
from mlci.train.affected import Affected, everything, find_affected

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class AffectedOptions:
    """`mlci affected [--base REV] [--all] [--format text|json|list]`."""

    base: str | None = None
    format: Literal["text", "json", "list"] = "text"
    all_models: bool = False


def run(ctx: RunContext, options: AffectedOptions) -> int:
    """Print the affected models; 0 (also when none is affected), or MlciError (exit 2)."""
    run_affected(ctx, options.base, options.format, all_models=options.all_models)
    return 0


def run_affected(ctx: RunContext, base: str | None, fmt: str, *, all_models: bool = False) -> Affected:
    """The affected models, printed as `fmt` says, with the step outputs and a summary table."""
    pipeline = pl.read(ctx.root)
    rev, why = ("", "every model was asked for (--all)") if all_models else _base(ctx, base)
    result = find_affected(ctx.root, rev, ctx.config, pipeline) if rev else everything(ctx.config, why)
    matrix = json.dumps(result.matrix(), separators=(",", ":"))
    ctx.actions.set_output("matrix", matrix)
    ctx.actions.set_output("models", json.dumps(result.models))
    ctx.actions.set_output("any", "true" if result.models else "false")
    rows = [(name, result.reasons.get(name, [])) for name in result.models]
    ctx.actions.append_summary(
        render(
            "train/affected.md.j2",
            repo_root=ctx.root,
            base=result.base,
            changed_files=result.changed_files,
            rows=rows,
        )
    )
    if fmt == "json":
        click.echo(matrix)
    elif fmt == "list":
        for name in result.models:
            click.echo(one_line(name, 200))
    else:
        if not result.models:
            click.echo("no model is affected")
        for name, reasons in rows:
            click.echo(f"{one_line(name, 80)}: {one_line('; '.join(reasons), 300)}")
    return result


def _base(ctx: RunContext, base: str | None) -> tuple[str, str]:
    """The commit to compare with, or "" and why everything counts as affected."""
    root, rt = ctx.root, ctx.runtime
    if base:
        return ensure_commit(root, base, ci=rt.in_actions), ""
    if rt.pull_request and rt.base_sha:
        return ensure_commit(root, rt.base_sha, ci=rt.in_actions), ""
    if rt.event_name == "push":
        before = str(rt.event.get("before") or "")
        if not before or before == ZERO_SHA:
            return "", "a new branch: no previous commit to compare with"
        try:
            return ensure_commit(root, before), ""
        except MlciError:
            return "", f"the previous commit {before[:12]} is not reachable (force-push?)"
    for candidate in (f"origin/{ctx.runtime.default_branch or 'main'}", "origin/main", "origin/master"):
        found = resolve(root, candidate)
        if found:
            return found, ""
    return "", "no base to compare with (pass --base REV)"
