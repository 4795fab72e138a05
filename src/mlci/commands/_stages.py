"""The promotion path's rules for deploy, promote and rollback: which target and environment a stage
uses, that a version reaches a stage only after it held the one before, the check after each delivery
(canary steps included), and the automatic rollback when a check fails. Not target code: the same for
every target (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from mlci.commands.context import RunContext
from mlci.config import DeployConfig, StageConfig
from mlci.deploy.registry import RegistryEntry, model
from mlci.deploy.targets import Delivery, Target
from mlci.errors import GateFailed, MlciError
from mlci.safety import md_code, md_escape, one_line


@dataclass(frozen=True)
class Route:
    """Where a delivery goes: the stage, its target's name, its GitHub environment, its settings
    (None: a stage outside `deploy.stages`, delivered as before, with no check)."""

    stage: str
    target: str
    environment: str
    settings: StageConfig | None = None


def resolve(deploy: DeployConfig, stage: str | None, target: str | None, environment: str | None) -> Route:
    """The route for `--stage/--target/--environment` (None: mlci.yaml's). With a promotion path, the
    default stage is its first, and a stage's own target and environment come before the deploy-wide ones."""
    name = stage or (next(iter(deploy.stages)) if deploy.stages else deploy.stage)
    settings = deploy.stages.get(name)
    if settings is None:
        return Route(name, target or deploy.target, environment or deploy.environment)
    chosen = target or settings.target or deploy.target
    return Route(name, chosen, environment or settings.environment or name, settings)


def previous_stage(deploy: DeployConfig, stage: str) -> str:
    """The stage before `stage` on the path ("" for the first, or a stage not on it)."""
    path = list(deploy.stages)
    index = path.index(stage) if stage in path else 0
    return path[index - 1] if index > 0 else ""


def require_held(root: Path, deploy: DeployConfig, name: str, commit: str, stage: str) -> None:
    """A version may enter `stage` only after it held the stage before it (which it got only by passing
    that stage's check). Raises GateFailed (exit 1) naming both stages and what holds the earlier one."""
    before = previous_stage(deploy, stage)
    if not before:
        return
    state = model(root, name)
    version = state.version_at(commit)
    if version and any(e.version == version.version for e in state.stage_history(before)):
        return
    what = version.version if version else f"commit {commit[:12]}"
    holder = state.stage(before)
    now = f"{holder.version} holds {before}" if holder else f"no version holds {before} yet"
    raise GateFailed(
        f"{name} {what} cannot go to {stage}: it never held {before} (and passed its check there); {now}",
        f"deploy it to {before} first (a merge does), then promote it: mlci promote {name} --to {stage}",
    )


def check_route(route: Route, target: Target) -> None:
    """Before anything is written: canary steps need a target that splits traffic (exit 2)."""
    if route.settings and route.settings.traffic and not target.splits_traffic:
        raise MlciError(
            f"deploy.stages.{route.stage}.traffic: the target '{route.target}' cannot split traffic "
            "(a local target has one current version)",
            "use a command or webhook target for a canary stage, or remove `traffic`",
        )


class CheckFailed(GateFailed):
    """The check after a delivery failed (exit 1); carries the delivery and what the check said."""

    def __init__(self, delivery: Delivery, output: str) -> None:
        step = f" at {delivery.traffic}% of the traffic" if delivery.traffic < 100 else ""
        super().__init__(
            f"{delivery.name} {delivery.version} failed its check in {delivery.stage}{step}: {output}",
            "the check after delivery is deploy.stages.<stage>.check in mlci.yaml (docs/deploy.md)",
        )
        self.delivery = delivery
        self.output = output


def deliver_checked(
    ctx: RunContext, delivery: Delivery, target: Target, route: Route | None, status: Callable[[str], None]
) -> tuple[str, str]:
    """Deliver at each traffic step (100 % when none) and check after each; returns (location, what the
    checks said). Raises CheckFailed at the first failed check, DeliveryFailed when the target refuses."""
    from mlci.deploy.check import run_check

    settings = route.settings if route else None
    steps = settings.traffic if settings and settings.traffic else (100,)
    location, said = "", "not checked"
    for weight in steps:
        step = dataclasses.replace(delivery, traffic=weight)
        location = target.deliver(step)
        if settings is None or settings.check is None:
            continue
        status(one_line(f"{step.version} delivered at {weight}% to {step.stage}; checking", 140))
        env = {**step.environ(), "MLCI_LOCATION": location}
        result = run_check(settings.check, env, ctx.root)
        click.echo(f"{one_line(step.name)} {step.version} at {weight}%: {one_line(result.summary(), 400)}")
        if not result.passed:
            raise CheckFailed(step, result.summary())
        said = result.summary()
    return location, said


def roll_back_after(ctx: RunContext, failed: CheckFailed, route: Route) -> GateFailed:
    """Put the stage's previous version back after a failed check (through `mlci rollback`'s path) and
    say what is live, in the summary and as the error to raise (exit 1 in every case)."""
    from mlci.commands.rollback import rollback

    bad = failed.delivery
    previous = _previous(ctx.root, bad.name, bad.stage, bad.version)
    head = f"❌ {md_escape(bad.name)} {md_code(bad.version)} failed its check in {md_escape(bad.stage)}"
    check = f"Check: {md_escape(failed.output)}"
    if previous is None:
        said = f"no earlier version held {bad.stage}, so nothing was put back: the target still has {bad.version}"
        ctx.actions.append_summary(f"## {head}\n\n{check}\n\n{md_escape(said)}.\n")
        return GateFailed(f"{failed.message}; {said}", "fix the model or the service, then run the job again")
    note = f"rolled back from {bad.version}, which failed its check"
    try:
        rollback(
            ctx, bad.name, previous.version, route.stage, route.target, route.environment, note, bad.version
        )
    except MlciError as exc:
        said = f"putting {previous.version} back failed too: {exc.message}; the target may still hold {bad.version}"
        ctx.actions.append_summary(f"## {head}\n\n{check}\n\n⚠️ {md_escape(said)}.\n")
        return GateFailed(
            f"{failed.message}; {said}", exc.hint or "run `mlci rollback` once the target works"
        )
    said = f"{previous.version} was put back and is live in {bad.stage}"
    ctx.actions.append_summary(f"## {head}\n\n{check}\n\nRolled back: {md_escape(said)}.\n")
    return GateFailed(f"{failed.message}; {said}", "fix the model or the service, then merge again")


def _previous(root: Path, name: str, stage: str, failed: str) -> RegistryEntry | None:
    """The stage's newest earlier version other than `failed` that is still registered."""
    state = model(root, name)
    registered = {v.version: v for v in state.versions()}
    for entry in state.stage_history(stage):
        if entry.version != failed and entry.version in registered:
            return registered[entry.version]
    return None


def _by(ctx: RunContext) -> str:
    return f" by {ctx.runtime.run_url}" if ctx.runtime.run_url else ""


def note_for(ctx: RunContext, what: str) -> str:
    """The stage tag's note: what happened, by which run."""
    return f"mlci: {what}{_by(ctx)}"
