"""`mlci data check` and `mlci data infer`: run the data checks, say what they found, gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.commands.context import RunContext
from mlci.config import CONFIG_FILE, DatasetContract, parse_config
from mlci.errors import GateFailed, MlciError
from mlci.fsutil import write_output_atomic, write_text_atomic
from mlci.repo.git import ensure_commit

if TYPE_CHECKING:
    from mlci.data.datasets import Dataset


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


def infer(ctx: RunContext, paths: tuple[str, ...], rev: str | None, write: bool) -> None:
    from mlci.data.check import label_for
    from mlci.data.contract import contracts_yaml, infer_contract
    from mlci.data.scan import scan_base, scan_head

    contracts: dict[str, DatasetContract] = {}
    sha = ensure_commit(ctx.root, rev) if rev else None
    for dataset in _datasets(ctx, paths):
        snapshot = scan_base(ctx.root, ctx.config, dataset.path, sha) if sha else None
        if sha and snapshot is None:
            raise MlciError(f"{dataset.path} does not exist at {rev}", "pick a revision that has the data")
        if snapshot is None:
            snapshot = scan_head(ctx.root, ctx.config, dataset.path, None, None, None)
        label = label_for(ctx.config, dataset.path, snapshot.stats.columns)
        contracts[dataset.name] = infer_contract(
            snapshot.stats, dataset.path, label=label, max_categories=ctx.config.data.max_categories
        )
    text = contracts_yaml(contracts)
    if not write:
        click.echo(text, nl=False)
        return
    _write_config(ctx.root, text, contracts)


def _datasets(ctx: RunContext, paths: tuple[str, ...]) -> list[Dataset]:
    from mlci.data.datasets import discover

    datasets = discover(ctx.root, ctx.config, paths)
    if not datasets:
        raise MlciError(
            "no datasets: mlci.yaml declares none and no dvc.yaml stage depends on DVC-tracked CSV/Parquet",
            "declare them under data.datasets in mlci.yaml, or pass paths: mlci data check data/train.csv",
        )
    return datasets


def _write_config(root: Path, text: str, contracts: dict[str, DatasetContract]) -> None:
    """Add the contracts to mlci.yaml: appended as text when it has no `data:` yet (comments kept)."""
    import yaml

    from mlci.data.contract import contract_mapping
    from mlci.readers import load_yaml

    path = root / CONFIG_FILE
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    raw = load_yaml(old, CONFIG_FILE) if old else {}
    raw = raw if isinstance(raw, dict) else {}
    if "data" not in raw:
        new = old + ("\n" if old and not old.endswith("\n") else "") + text
        note = ""
    else:
        section = raw["data"] if isinstance(raw["data"], dict) else {}
        datasets = dict(section.get("datasets") or {})
        datasets.update({name: contract_mapping(c) for name, c in contracts.items()})
        raw["data"] = {**section, "datasets": datasets}
        new = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
        note = " (rewritten: its comments were not kept)"
    parse_config(load_yaml(new, CONFIG_FILE), CONFIG_FILE)  # never write a config mlci would reject
    write_text_atomic(path, new)
    names = ", ".join(contracts)
    click.echo(f"wrote the contract{'s' if len(contracts) != 1 else ''} of {names} to {CONFIG_FILE}{note}")
