"""`mlci registry`: the versions and stages the tags say, as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import click

from mlci.commands.context import RunContext
from mlci.deploy.registry import Model, fetch_tags, history, load
from mlci.errors import MlciError
from mlci.safety import one_line

Format = Literal["table", "json"]


@dataclass(frozen=True)
class RegistryOptions:
    """`mlci registry [NAME] [--stage S] [--history] [--format table|json] [--fetch]`."""

    name: str = ""
    stage: str = ""
    format: Format = "table"
    fetch: bool = False
    history: bool = False


def run(ctx: RunContext, options: RegistryOptions) -> int:
    """Print the registry (stdout); 0, or MlciError (exit 2) for a model not in it."""
    if options.history:
        click.echo(show_history(ctx, options.name, options.format, options.fetch))
        return 0
    click.echo(show(ctx, options.name, options.stage, options.format, options.fetch))
    return 0


def show_history(ctx: RunContext, name: str, fmt: Format, fetch: bool) -> str:
    """Every registry event of NAME (the only model when empty), oldest first: registered, delivered and
    checked into a stage, promoted, rolled back, each with the run that did it."""
    fetch_tags(ctx.root, ctx.config.deploy.remote, required=fetch)
    models = load(ctx.root)
    chosen = name or (next(iter(models)) if len(models) == 1 else "")
    known = ", ".join(models) or "none yet"
    if not models:
        raise MlciError(
            "the registry is empty: there is no history yet", "`mlci deploy` registers a first version"
        )
    if not chosen:
        raise MlciError(f"the registry holds {len(models)} models: say whose history", f"give NAME: {known}")
    if chosen not in models:
        raise MlciError(f"'{chosen}' is not in the registry", f"registered models: {known}")
    events = history(ctx.root, chosen)
    if fmt == "json":
        return json.dumps({"model": chosen, "history": events}, indent=2)
    from tabulate import tabulate

    rows = [[e["at"][:19], e["event"], e["version"], e["stage"], one_line(e["note"], 160)] for e in events]
    return tabulate(rows, headers=["when", "event", "version", "stage", "what happened"])


def show(ctx: RunContext, name: str, stage: str, fmt: Format, fetch: bool) -> str:
    """The registry as text; in a shallow clone (or with `fetch`) the remote's tags come first."""
    fetch_tags(ctx.root, ctx.config.deploy.remote, required=fetch)
    models = load(ctx.root)
    if name:
        if name not in models:
            known = ", ".join(models) or "none yet"
            raise MlciError(f"'{name}' is not in the registry", f"registered models: {known}")
        models = {name: models[name]}
    if stage:
        matrix = in_stage(models, stage)
        ctx.actions.set_output("models", json.dumps(matrix))
        return json.dumps(matrix, indent=2) if fmt == "json" else _stage_table(matrix, stage)
    data = [describe(m) for m in models.values()]
    mirrors = mlflow_mirrors(ctx, models)
    for finding in mirrors:
        if not finding["matches"]:
            ctx.actions.annotate("warning", one_line(finding["message"], 500), title="mlci registry")
    if fmt == "json":
        return json.dumps({"models": data, **({"mlflow": mirrors} if mirrors else {})}, indent=2)
    return _table(data) + "".join(f"\n{m['message']}" for m in mirrors)


def mlflow_mirrors(ctx: RunContext, models: dict[str, Model]) -> list[dict[str, Any]]:
    """For each `type: mlflow` target in mlci.yaml, each model's stage next to its MLflow alias: the
    version the alias points at (its `mlci.version` tag), and whether it is the git registry's. An alias
    moved by hand in MLflow (or never set) does not match; exit 2 when the server cannot be asked."""
    from mlci.deploy.targets import MlflowRegistryConfig, target_configs

    found: list[dict[str, Any]] = []
    for target_name, config in target_configs(ctx.config.deploy, ctx.config.source or "mlci.yaml").items():
        if not isinstance(config, MlflowRegistryConfig):
            continue
        target = config.open(target_name, ctx.root)
        for name, model in models.items():
            for stage in model.stages():
                entry = model.stage(stage)
                if entry is not None:
                    found.append(
                        _mirror(target_name, name, stage, entry.version, target.alias_version(name, stage))
                    )
    return found


def _mirror(
    target: str, model: str, stage: str, version: str, held: tuple[str, str] | None
) -> dict[str, Any]:
    alias, mlflow = held if held else ("", None)
    matches = mlflow == version
    where = (
        f"MLflow alias '{alias}' of {model} (target {target})"
        if alias
        else f"{model} in MLflow (target {target})"
    )
    if matches:
        message = f"{where}: {version}, as the git registry has it in {stage}"
    elif held is None:
        message = f"{where}: no alias for stage {stage}, where the git registry has {version}"
    else:
        message = (
            f"{where} points at {mlflow}, but the git registry has {version} in {stage}: moved by hand? "
            f"`mlci rollback {model} --to {version}` or the next deploy puts it back in step"
        )
    return {
        "target": target,
        "model": model,
        "stage": stage,
        "alias": alias or None,
        "registry_version": version,
        "mlflow_version": mlflow,
        "matches": matches,
        "message": message,
    }


def in_stage(models: dict[str, Model], stage: str) -> list[dict[str, str]]:
    """One entry per model with a version in `stage`: `matrix: {include: ${{ fromJSON(...) }}}`."""
    found = []
    for name, model in models.items():
        entry = model.stage(stage)
        if entry:
            found.append({"model": name, "version": entry.version, "commit": entry.commit, "stage": stage})
    return found


def describe(model: Model) -> dict[str, Any]:
    stages = {stage: entry.version for stage in model.stages() if (entry := model.stage(stage))}
    versions = model.versions()
    return {
        "name": model.name,
        "latest": versions[-1].version if versions else None,
        "stages": stages,
        "versions": [
            {
                "version": v.version,
                "commit": v.commit,
                "created_at": v.created_at.isoformat(),
                "tag": v.tag,
                "stages": sorted(s for s, current in stages.items() if current == v.version),
            }
            for v in versions
        ],
    }


def _table(data: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    if not data:
        return "the registry is empty: `mlci deploy` registers the first version"
    rows = [
        [one_line(m["name"]), v["version"], v["commit"][:12], v["created_at"][:19], ", ".join(v["stages"])]
        for m in data
        for v in m["versions"]
    ]
    return tabulate(rows, headers=["model", "version", "commit", "registered", "stages"])


def _stage_table(matrix: list[dict[str, str]], stage: str) -> str:
    from tabulate import tabulate

    if not matrix:
        return f"no model is in stage '{one_line(stage)}'"
    rows = [[one_line(m["model"]), m["version"], m["commit"][:12]] for m in matrix]
    return tabulate(rows, headers=["model", "version", "commit"])
