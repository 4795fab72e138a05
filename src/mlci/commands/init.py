"""`mlci init`: never overwrites without --force, writes all or nothing, and lists what it wrote."""

from __future__ import annotations

from pathlib import Path

import click

from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.onboarding import scaffold
from mlci.repo.git import repo_root


def run_init(*, ref: str | None, force: bool, dry_run: bool, start: Path | str = ".") -> list[Path]:
    root = repo_root(start)
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        missing = ".dvc/" if not (root / ".dvc").is_dir() else "dvc.yaml"
        raise MlciError(
            f"{root.name} is not a DVC project with a pipeline ({missing} is missing)",
            "start one with `dvc init`, then describe your pipeline with `dvc stage add` (dvc.yaml)",
        )
    files = scaffold.render_files(root, scaffold.pin(ref))
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise MlciError(
            "these files exist already: " + ", ".join(existing),
            "pass --force to overwrite them (check them into git first to keep a copy)",
        )
    if dry_run:
        for name, text in files.items():
            click.echo(f"--- {name}\n{text}")
        return []
    written = [write_text_atomic(root / name, text) for name, text in files.items()]
    click.echo("wrote:")
    for name in files:
        click.echo(f"  {name}")
    if _ignore_outbox(root):
        click.echo("  .gitignore (+ /.mlci/: outbox, caches and local deployments stay out of git)")
    models = scaffold.find_models(root)
    if not models:
        click.echo("no model outputs found in dvc.yaml: add them under `models:` in mlci.yaml")
    click.echo("next: review mlci.yaml (docs/config.md), commit, and push; see the README for secrets")
    return written


def _ignore_outbox(root: Path) -> bool:
    """Keep mlci's working folder out of git; True when .gitignore had to change."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if any(line.strip() in ("/.mlci/", ".mlci/", ".mlci", "/.mlci") for line in text.splitlines()):
        return False
    separator = "" if not text or text.endswith("\n") else "\n"
    write_text_atomic(path, f"{text}{separator}/.mlci/\n")
    return True
