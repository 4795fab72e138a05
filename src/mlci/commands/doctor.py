"""`mlci doctor`: what mlci sees of the project's DVC remotes, and the one command that fixes each gap.

It reads `.dvc/config` (with `config.local`) and `mlci.yaml` only: no network, no credentials values
(only the names of the variables that are set).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.errors import GateFailed, MlciError
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.commands.context import RunContext
    from mlci.repo.remote import Remote


@dataclass(frozen=True)
class RemoteCheck:
    name: str
    url: str
    scheme: str
    default: bool
    used_by: list[str]  # "default", "train.remote"
    plugin: str  # the pip requirement DVC needs for the scheme ("" = none)
    plugin_installed: bool
    credentials: list[str]  # names of the variables that are set
    config_credentials: list[str]  # credential options in the remote's own config
    fixes: list[str] = field(default_factory=list)  # what must change before the remote can work
    warnings: list[str] = field(default_factory=list)  # what may be missing (credentials doctor can't see)
    notes: list[str] = field(default_factory=list)  # fine here, not on a GitHub-hosted runner


def check_remotes(root: Path, train_remote: str, env: dict[str, str]) -> list[RemoteCheck]:
    """One RemoteCheck per configured remote; `fixes` is empty when nothing is missing."""
    from mlci.repo.remote import all_remotes

    remotes, default = all_remotes(root)
    if train_remote and train_remote not in {r.name for r in remotes}:
        known = ", ".join(r.name for r in remotes) or "none"
        raise MlciError(
            f"mlci.yaml: train.remote '{one_line(train_remote, 60)}' is not a DVC remote (configured: {known})",
            f"add it with `dvc remote add {train_remote} URL`, or fix train.remote",
        )
    checks = []
    for remote in remotes:
        used = (["default"] if remote.name == default else []) + (
            ["train.remote"] if remote.name == train_remote else []
        )
        checks.append(_check(root, remote, used, remote.name == default, env))
    return checks


def _check(root: Path, remote: Remote, used: list[str], is_default: bool, env: dict[str, str]) -> RemoteCheck:
    """One remote: its plugin, its credentials (names only) and, for a folder remote mlci uses, where."""
    from mlci.repo.remote import credentials_present, half_pairs, plugin_installed, plugin_requirement

    requirement = plugin_requirement(remote.scheme)
    installed = plugin_installed(remote.scheme)
    names, options, fix = credentials_present(remote, env)
    fixes, warnings = [], []
    if requirement and not installed:
        fixes.append(f"pip install '{requirement}'")
    for have, lack in half_pairs(remote.scheme, env):  # the SDK refuses a key without its secret
        fixes.append(f"{have} is set but {lack} is not: set the secret {lack} too, and pass it to the job")
    if fix and not names and not options:
        # an instance role, OIDC or a profile file may still provide them: say so, don't fail
        warnings.append(
            f"no credentials in the environment or the remote's config; if none come from "
            f"a role or profile file: {fix}"
        )
    notes: list[str] = []
    outside = _folder_outside(root, remote) if used else None
    if outside is not None:
        # a hosted runner starts empty: nothing to restore from, and what it pushes leaves with it
        advice = _LOCAL_FOLDER.format(name=one_line(remote.name, 60), path=one_line(outside, 200))
        (warnings if env.get("GITHUB_ACTIONS") == "true" else notes).append(advice)
    return RemoteCheck(
        remote.name,
        remote.url,
        remote.scheme,
        is_default,
        used,
        requirement,
        installed,
        names,
        options,
        fixes,
        warnings,
        notes,
    )


_LOCAL_FOLDER = (
    "remote '{name}' is a folder on this machine ({path}): a GitHub-hosted runner cannot reach it, so "
    "train would restore nothing and push results that are gone with the runner; use a cloud remote "
    "(`dvc remote modify {name} url s3://BUCKET/PATH`, or gs://, azure://, ssh://; docs/train.md) or run "
    "the jobs on a self-hosted runner that has this folder (the workflows' input `runs-on`)"
)


def _folder_outside(root: Path, remote: Remote) -> str | None:
    """The remote's folder when it is a local path outside the repository (DVC resolves a relative URL
    against .dvc/, so `../../store` is a folder beside the repository); None otherwise."""
    if remote.scheme != "local" or not remote.url:
        return None
    folder = Path(remote.url)
    folder = (folder if folder.is_absolute() else root / ".dvc" / folder).resolve()
    return None if folder.is_relative_to(root.resolve()) else str(folder)


@dataclass(frozen=True)
class DoctorOptions:
    """`mlci doctor [--plugins] [--format text|json]`."""

    plugins_only: bool = False
    format: str = "text"


def run(ctx: RunContext, options: DoctorOptions) -> int:
    """Check the remotes mlci uses; 0, or GateFailed (exit 1) when one lacks its plugin."""
    return run_doctor(
        ctx.root, ctx.config.train.remote, plugins_only=options.plugins_only, fmt=options.format
    )


def run_doctor(root: Path, train_remote: str, *, plugins_only: bool, fmt: str) -> int:
    """Print the checks; exit 1 (GateFailed) when a remote mlci uses lacks its plugin."""
    checks = check_remotes(root, train_remote, dict(os.environ))
    if plugins_only:  # for the install step: one requirement per line, each once
        for requirement in dict.fromkeys(c.plugin for c in checks if c.plugin):
            click.echo(requirement)
        return 0
    if fmt == "json":
        click.echo(json.dumps({"remotes": [asdict(c) for c in checks]}, indent=2))
    else:
        _print_text(checks)
    gaps = [c for c in checks if c.fixes and c.used_by]
    if gaps:
        raise GateFailed(
            f"{len(gaps)} DVC remote{'s' if len(gaps) != 1 else ''} mlci uses cannot work here yet",
            "; ".join(f"{c.name}: {fix}" for c in gaps for fix in c.fixes),
        )
    return 0


def _print_text(checks: list[RemoteCheck]) -> None:
    if not checks:
        click.echo("DVC remotes: none configured (`dvc remote add -d storage URL` adds one)")
        return
    for c in checks:
        role = f" [{', '.join(c.used_by)}]" if c.used_by else ""
        click.echo(f"remote {one_line(c.name, 60)}{role}: {one_line(c.url, 120)} ({c.scheme})")
        if c.plugin:
            state = "installed" if c.plugin_installed else "MISSING"
            click.echo(f"  plugin: {c.plugin} — {state}")
        if c.scheme != "local":
            found = c.credentials + [f"{o} (in .dvc/config)" for o in c.config_credentials]
            click.echo(f"  credentials: {', '.join(found) if found else 'none found'}")
        for fix in c.fixes:
            click.echo(f"  fix: {fix}")
        for warning in c.warnings:
            click.echo(f"  warning: {warning}")
        for note in c.notes:
            click.echo(f"  note: {note}")
