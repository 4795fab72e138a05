"""`mlci rollback`: put an earlier version back in a stage, from the registry and the DVC remote."""

from __future__ import annotations

from dataclasses import dataclass

import click

from mlci.commands._stages import Route, resolve
from mlci.commands.context import RunContext
from mlci.commands.deploy import (
    CARD_NEEDS,
    Deployed,
    build_card,
    check_target_names,
    deliver_recorded,
    finish,
    model_metrics,
    models_to_deploy,
    publish_outputs,
    read_metrics,
)
from mlci.deploy.card import Card
from mlci.deploy.promote import rolled_back_by
from mlci.deploy.registry import RegistryEntry, check_stage, fetch_tags, model
from mlci.deploy.targets import open_target
from mlci.errors import MlciError
from mlci.safety import one_line


@dataclass(frozen=True)
class RollbackOptions:
    """`mlci rollback [NAME] [--to V] [--stage S] [--target T] [--environment E]`; None: mlci.yaml's."""

    name: str = ""
    to: str = ""
    stage: str | None = None
    target: str | None = None
    environment: str | None = None


def run(ctx: RunContext, options: RollbackOptions) -> int:
    """Roll NAME (the only model when empty) back; 0, or MlciError (exit 2)."""
    name, _ = ctx.config.model(options.name, verb="roll back")
    route = resolve(ctx.config.deploy, options.stage, options.target, options.environment)
    rollback(ctx, name, options.to, route.stage, route.target, route.environment)
    return 0


def rollback(
    ctx: RunContext,
    name: str,
    to: str,
    stage: str,
    target: str,
    environment: str,
    note: str = "",
    replaced: str = "",
) -> Deployed:
    """Deliver `to` (or the stage's previous version) again and assign it; `note`: why (an automatic
    rollback, which then writes a new stage tag even though the stage never moved, and names the version
    it `replaced` on the target). Not checked: it puts back a version that was live."""
    (_, config), *_ = models_to_deploy(ctx, [name])
    check_stage(ctx.root, stage)
    deployer = open_target(ctx.config.deploy, target, ctx.root)
    check_target_names(deployer, [name], stage)
    fetch_tags(ctx.root, ctx.config.deploy.remote)
    state = model(ctx.root, name)
    current = state.stage(stage)
    history = state.stage_history(stage)
    previous = current.version if current else ""
    resumed = None if to else _started_by_this_run(ctx, current)
    if resumed is not None:
        # a re-run of the run that assigned it: finish that rollback, never roll back once more
        chosen = next((v for v in state.versions() if v.version == resumed.version), resumed)
        previous = _before(history, resumed)
        click.echo(f"note: finishing the rollback to {chosen.version} this workflow run started")
    else:
        chosen = _rollback_version(state.versions(), history, current, name, stage, to)
    metrics = model_metrics(read_metrics(ctx.root, chosen.commit, need=CARD_NEEDS), config)
    previous = replaced or previous
    draft = Card(name, chosen.version, stage, chosen.commit, metrics=metrics, rollback_from=previous)
    card = build_card(ctx, config, draft)
    with ctx.actions.group(f"rollback {one_line(name)} → {chosen.version}"):
        route = Route(stage, target, environment)  # no settings: a rollback is not checked
        again = bool(note)  # an automatic rollback records itself although the stage never moved
        event = note or f"rolled back to {chosen.version}"
        result = deliver_recorded(ctx, name, config, card, deployer, route, False, event, again)
    done = finish(ctx, card, result)
    publish_outputs(ctx, [done])
    return done


def _started_by_this_run(ctx: RunContext, current: RegistryEntry | None) -> RegistryEntry | None:
    """The stage's current entry when this workflow run's rollback assigned it (GITHUB_RUN_ID)."""
    run = ctx.runtime.run_id
    if run and current and current.tag and rolled_back_by(ctx.root, current.tag) == run:
        return current
    return None


def _before(history: list[RegistryEntry], current: RegistryEntry) -> str:
    """The version the stage held before `current`'s assignment (the card's "rolled back from")."""
    later = [e for e in history[1:] if e.version != current.version]
    return later[0].version if later else ""


def _rollback_version(
    versions: list[RegistryEntry],
    history: list[RegistryEntry],
    current: RegistryEntry | None,
    name: str,
    stage: str,
    to: str,
) -> RegistryEntry:
    if to:
        wanted = to if to.startswith("v") else f"v{to}"
        found = next((v for v in versions if v.version == wanted), None)
        if found is None:
            known = ", ".join(v.version for v in versions) or "none"
            raise MlciError(f"{name} has no registered version {wanted}", f"registered versions: {known}")
        return found
    if current is None:
        raise MlciError(f"{name} has no version in stage '{stage}', so there is nothing to roll back")
    registered = {v.version: v for v in versions}
    for entry in history[1:]:
        if entry.version != current.version and entry.version in registered:
            return registered[entry.version]
    raise MlciError(
        f"{name} has had no other version in '{stage}' before {current.version}",
        "name the version to go back to: mlci rollback NAME --to vX.Y.Z",
    )
