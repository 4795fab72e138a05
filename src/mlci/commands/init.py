"""`mlci init`: never overwrites without --force, writes all or nothing, and lists what it wrote;
`--dry-run` shows what it would write, as a diff against the files that exist."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import click

from mlci.deploy import registry
from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.onboarding import scaffold
from mlci.repo.git import project_root, projects_below, repo_root


@dataclass(frozen=True)
class InitOptions:
    """`mlci init [--ref SHA] [--force] [--dry-run]`, in the folder `start`."""

    ref: str | None = None
    force: bool = False
    dry_run: bool = False
    start: str = "."


def run(ctx: None, options: InitOptions) -> int:
    """Write mlci.yaml and the workflows (no context: the project is not set up yet); 0, or MlciError."""
    run_init(ref=options.ref, force=options.force, dry_run=options.dry_run, start=options.start)
    return 0


def run_init(*, ref: str | None, force: bool, dry_run: bool, start: Path | str = ".") -> list[Path]:
    root, top = project_root(start), repo_root(start)
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        missing = ".dvc/" if not (root / ".dvc").is_dir() else "dvc.yaml"
        below = projects_below(root) if missing == ".dvc/" else []
        raise MlciError(
            f"{root.name} is not a DVC project with a pipeline ({missing} is missing)",
            f"DVC projects below it: {', '.join(below)}; run init in one (`mlci -C {below[0]} init`)"
            if below
            else "start one with `dvc init`, then describe your pipeline with `dvc stage add` (dvc.yaml)",
        )
    # The registry's own names: read with deploy's tag parser here, where a command may join two
    # capabilities (onboarding does not import deploy: capabilities are independent).
    registered = list(registry.load(root))
    files = scaffold.render_files(root, scaffold.pin(ref), registered, top)
    if dry_run:
        _preview(top, root, files, force=force)
        return []
    existing = [name for name in files if (top / name).exists()]
    if existing and not force:
        raise MlciError(
            "these files exist already: " + ", ".join(existing),
            "pass --force to overwrite them (check them into git first to keep a copy), "
            "or --dry-run to see how they differ",
        )
    written = [write_text_atomic(top / name, text) for name, text in files.items()]
    _say_written(root, files, registered)
    return written


def _say_written(root: Path, files: dict[str, str], registered: list[str]) -> None:
    """What init wrote, the models and secrets it found, and what to do next."""
    click.echo("wrote:")
    for name in files:
        click.echo(f"  {name}")
    if _ignore_outbox(root):
        click.echo("  .gitignore (+ /.mlci/: outbox, caches and local deployments stay out of git)")
    models = scaffold.find_models(root, registered)
    if registered:
        click.echo("model names from the registry tags: " + ", ".join(registered))
    if not models:
        click.echo("no model outputs found in dvc.yaml: add them under `models:` in mlci.yaml")
    secrets = scaffold.Secrets.of(root)
    if secrets.names:
        click.echo(f"secrets the workflows pass to DVC, for {', '.join(secrets.remotes)}:")
        click.echo(f"  {', '.join(secrets.names)}")
        click.echo(
            "  create the ones your credentials have in the repository's Settings → Secrets and variables → "
            "Actions, or use short-lived credentials (OIDC): docs/action.md"
        )
    else:
        click.echo("secrets: none needed (no cloud DVC remote in .dvc/config or config.local)")
    monitor = next((name for name in files if name.endswith("mlci-monitor.yml")), "")
    if monitor:  # its placeholder fails every scheduled run until it names where the data lands
        click.echo(f"set `current:` in {monitor} to where your fresh (labelled) data lands")
    click.echo("next: review mlci.yaml (docs/config.md), commit, and push")


def _preview(root: Path, project: Path, files: dict[str, str], *, force: bool) -> None:
    """What init would write, written nowhere: new files in full, existing ones as a unified diff.
    `root`: the git root the file names are relative to; `project`: the DVC project's folder."""
    planned = dict(files)
    ignore_path = project / ".gitignore"
    ignore = _ignore_text(project)
    if ignore is None and ignore_path.exists():
        ignore = ignore_path.read_text(encoding="utf-8")  # already ignores /.mlci/: listed as unchanged
    if ignore is not None:
        planned[ignore_path.relative_to(root).as_posix()] = ignore
    new, changed, same = [], [], []
    for name, text in planned.items():
        path = root / name
        if not path.exists():
            new.append(name)
            click.echo(f"--- {name} (new)\n{text}")
            continue
        old = path.read_text(encoding="utf-8", errors="replace")
        if old == text:
            same.append(name)
            click.echo(f"{name}: unchanged")
            continue
        changed.append(name)
        diff = difflib.unified_diff(
            old.splitlines(keepends=True), text.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
        click.echo("".join(line if line.endswith("\n") else line + "\n" for line in diff), nl=False)
    overwrite = [name for name in changed if not name.endswith(".gitignore")]
    summary = f"dry run, nothing written: {len(new)} new, {len(changed)} changed, {len(same)} unchanged"
    if overwrite and not force:
        summary += f"; {', '.join(overwrite)} would need --force"
    click.echo(summary)


def _ignore_text(root: Path) -> str | None:
    """.gitignore with mlci's working folder ignored, or None when it already is."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if any(line.strip() in ("/.mlci/", ".mlci/", ".mlci", "/.mlci") for line in text.splitlines()):
        return None
    separator = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{separator}/.mlci/\n"


def _ignore_outbox(root: Path) -> bool:
    """Keep mlci's working folder out of git; True when .gitignore had to change."""
    text = _ignore_text(root)
    if text is None:
        return False
    write_text_atomic(root / ".gitignore", text)
    return True
