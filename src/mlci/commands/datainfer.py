"""`mlci data infer`: a contract inferred from the data, printed as YAML or written to mlci.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.commands.context import RunContext
from mlci.config import CONFIG_FILE, DatasetContract, parse_config
from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.readers import load_yaml
from mlci.repo.git import ensure_commit

if TYPE_CHECKING:
    from mlci.data.datasets import Dataset


@dataclass(frozen=True)
class InferOptions:
    """`mlci data infer [PATH]... [--rev REV] [--write]`."""

    paths: tuple[str, ...] = ()
    rev: str | None = None
    write: bool = False


def run(ctx: RunContext, options: InferOptions) -> int:
    """Print (or --write) the inferred contracts; 0, or MlciError (exit 2)."""
    infer(ctx, options.paths, options.rev, options.write)
    return 0


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
