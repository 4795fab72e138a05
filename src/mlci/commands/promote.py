"""`mlci promote`: move a version that held one stage of the promotion path to the next one."""

from __future__ import annotations

from dataclasses import dataclass

from mlci.commands._stages import (
    CheckFailed,
    check_route,
    previous_stage,
    require_held,
    resolve,
    roll_back_after,
)
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
from mlci.deploy.registry import Model, RegistryEntry, check_stage, fetch_tags, model
from mlci.deploy.targets import open_target
from mlci.errors import MlciError
from mlci.safety import one_line


@dataclass(frozen=True)
class PromoteOptions:
    """`mlci promote [NAME] [--to STAGE] [--version V] [--target T] [--environment E]`; None: mlci.yaml's."""

    name: str = ""
    to: str = ""
    version: str = ""
    target: str | None = None
    environment: str | None = None


def run(ctx: RunContext, options: PromoteOptions) -> int:
    """Promote NAME (the only model when empty); 0, GateFailed (exit 1: never held the stage before, or
    the check failed) or MlciError (exit 2)."""
    name, _ = ctx.config.model(options.name, verb="promote")
    promote(ctx, name, options)
    return 0


def promote(ctx: RunContext, name: str, options: PromoteOptions) -> Deployed:
    """Deliver the version (default: the one in the stage before `to`) to `to`, check it, assign it."""
    deploy = ctx.config.deploy
    to = _destination(list(deploy.stages), options.to)
    before = previous_stage(deploy, to)
    route = resolve(deploy, to, options.target, options.environment)
    declared = deploy.stages[to].environment or to
    if route.environment != declared:
        raise MlciError(
            f"a promotion to {to} is recorded in its own GitHub environment, {declared}, not {route.environment}",
            f"run it in the job whose `environment:` is {declared} (its required reviewers approve it), "
            f"with --environment {declared} or none",
        )
    (_, config), *_ = models_to_deploy(ctx, [name])
    check_stage(ctx.root, to)
    deployer = open_target(deploy, route.target, ctx.root)
    check_route(route, deployer)
    check_target_names(deployer, [name], to)
    fetch_tags(ctx.root, deploy.remote)
    entry = _version(model(ctx.root, name), name, options.version, before)
    require_held(ctx.root, deploy, name, entry.commit, to)
    metrics = model_metrics(read_metrics(ctx.root, entry.commit, need=CARD_NEEDS), config)
    card = build_card(ctx, config, Card(name, entry.version, to, entry.commit, metrics=metrics))
    with ctx.actions.group(f"promote {one_line(name)} {entry.version} {one_line(before)} → {one_line(to)}"):
        try:
            event = f"promoted from {before}"
            result = deliver_recorded(ctx, name, config, card, deployer, route, False, event)
        except CheckFailed as failed:
            raise roll_back_after(ctx, failed, route) from None
    done = finish(ctx, card, result)
    publish_outputs(ctx, [done])
    return done


def _destination(path: list[str], to: str) -> str:
    if len(path) < 2:
        raise MlciError(
            "mlci.yaml declares no promotion path: `mlci promote` needs two stages or more under deploy.stages",
            "e.g. deploy: {stages: {staging: {environment: staging}, prod: {environment: production}}}",
        )
    stage = to or path[1]
    if stage not in path:
        raise MlciError(f"'{one_line(stage)}' is not on the promotion path ({' → '.join(path)})")
    if stage == path[0]:
        raise MlciError(
            f"{stage} is the first stage: a merge deploys to it (`mlci deploy`), nothing promotes to it"
        )
    return stage


def _version(state: Model, name: str, version: str, before: str) -> RegistryEntry:
    if version:
        wanted = version if version.startswith("v") else f"v{version}"
        found = next((v for v in state.versions() if v.version == wanted), None)
        if found is None:
            known = ", ".join(v.version for v in state.versions()) or "none"
            raise MlciError(f"{name} has no registered version {wanted}", f"registered versions: {known}")
        return found
    current = state.stage(before)
    if current is None:
        raise MlciError(
            f"no version of {name} holds {before}, so there is nothing to promote",
            f"deploy to {before} first (a merge does), or name the version: --version vX.Y.Z",
        )
    return current
