"""`mlci deploy`: gate, register, deliver, assign the stage, record it on GitHub.

Order matters. The gates run before anything is written; the version tag is pushed before delivery
(it reserves the number, and a re-run finds it); the stage tag only after the target accepted the
model, so `NAME#STAGE` never names a version that is not live. A GitHub Deployment records every
attempt: in_progress, then success or failure with the run's log.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlci.commands._stages import (
    CheckFailed,
    Route,
    check_route,
    deliver_checked,
    note_for,
    previous_stage,
    require_held,
    resolve,
    roll_back_after,
)
from mlci.commands.context import RunContext
from mlci.config import ModelConfig
from mlci.deploy import promote
from mlci.deploy.artifact import ensure_pushed, fetch
from mlci.deploy.card import Card, GateLine, commit_facts, data_versions, lock_params, pull_request
from mlci.deploy.registry import (
    Bump,
    RegistryEntry,
    check_name,
    check_stage,
    fetch_tags,
    tag_prefix,
    version_tag,
)
from mlci.deploy.targets import Delivery, Target, open_target, sha256_of
from mlci.errors import GateFailed, MlciError
from mlci.fsutil import write_output_atomic
from mlci.github.numbers import api_id
from mlci.repo.recorded import recorded
from mlci.safety import md_code, md_escape, one_line

if TYPE_CHECKING:
    from mlci.github.client import GitHubClient

CARD_DIR = ".mlci/deploy"


@dataclass(frozen=True)
class Deployed:
    name: str
    version: str
    stage: str
    commit: str
    sha256: str
    location: str
    card_path: str
    tags: tuple[str, ...]
    live: bool = True  # False: a later commit was already live in the stage, nothing was delivered

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.version,
            "stage": self.stage,
            "commit": self.commit,
            "sha256": self.sha256,
            "location": self.location,
            "tags": list(self.tags),
            "live": self.live,
        }


def models_to_deploy(ctx: RunContext, names: Sequence[str]) -> list[tuple[str, ModelConfig]]:
    config = ctx.config
    chosen = [config.model(n, verb="deploy") for n in names] or [config.model(n) for n in config.models]
    if not chosen:
        config.model(verb="deploy")  # no model at all: the one message for that
    for name, model in chosen:
        check_name(name)
        if not model.path:
            raise MlciError(f"models.{name}.path is empty", "set it to the model artifact, a DVC output")
    return chosen


def check_target_names(target: Target, names: Sequence[str], stage: str) -> None:
    """A target with naming rules of its own (MLflow's registered model names and aliases) checks the
    models and the stage before anything is tagged or delivered (exit 2)."""
    from mlci.deploy.targets import MlflowTarget

    if isinstance(target, MlflowTarget):
        target.check(list(names), stage)


@dataclass(frozen=True)
class DeployOptions:
    """`mlci deploy [NAME]... [--stage S] [--target T] [--bump B] [--environment E]`; None: mlci.yaml's."""

    names: tuple[str, ...] = ()
    stage: str | None = None
    target: str | None = None
    bump: Bump | None = None
    environment: str | None = None


def run(ctx: RunContext, options: DeployOptions) -> int:
    """Deploy the checked-out commit; 0, GateFailed (exit 1) or MlciError (exit 2)."""
    settings = ctx.config.deploy
    route = resolve(settings, options.stage, options.target, options.environment)
    deploy(ctx, options.names, route, options.bump or settings.bump)
    return 0


def deploy(ctx: RunContext, names: Sequence[str], route: Route, bump: Bump) -> list[Deployed]:
    commit = ctx.runtime.sha if ctx.runtime.sha else ""
    head = _head(ctx.root)
    if commit and commit != head:
        click.echo(f"note: deploying the checked-out commit {head[:12]}, not GITHUB_SHA {commit[:12]}")
    chosen = models_to_deploy(ctx, names)
    stage = route.stage
    check_stage(ctx.root, stage)
    deployer = open_target(ctx.config.deploy, route.target, ctx.root)  # config errors before any write
    check_route(route, deployer)
    check_target_names(deployer, [name for name, _ in chosen], stage)
    if previous_stage(ctx.config.deploy, stage):
        fetch_tags(ctx.root, ctx.config.deploy.remote)
        for name, _ in chosen:  # a later stage of the path: only what held the stage before it
            require_held(ctx.root, ctx.config.deploy, name, head, stage)
    # once for all models: ~1 s with DVC
    need = "which the quality gates need" if ctx.config.gates else f"{CARD_NEEDS} (no gates are set)"
    everything = read_metrics(ctx.root, head, need=need)
    drafts = []
    for name, config in chosen:  # every model's gates before anything is written
        metrics = model_metrics(everything, config)
        gates = check_gates(ctx, name, metrics, head)
        drafts.append((config, Card(name, "", stage, head, metrics=metrics, gates=gates)))
    done = [_deploy_one(ctx, config, draft, deployer, bump, route) for config, draft in drafts]
    publish_outputs(ctx, done)
    return done


def _deploy_one(
    ctx: RunContext, config: ModelConfig, draft: Card, target: Target, bump: Bump, route: Route
) -> Deployed:
    """`draft` carries name, stage, commit, metrics and gates; the version comes from the registry."""
    name, commit = draft.name, draft.commit
    with ctx.actions.group(f"deploy {one_line(name)} → {one_line(draft.stage)}"):
        state = ensure_pushed(ctx.root, config.path, ctx.config.train.remote)
        click.echo(f"artifact {one_line(config.path)}: {state}")
        promotion = promote.register(ctx.root, name, commit, bump=bump, remote=ctx.config.deploy.remote)
        version = promotion.version.version
        click.echo(f"version {version}" + (" (already registered: re-run)" if promotion.reused else ""))
        newer = promote.newer_in_stage(ctx.root, name, commit, draft.stage)
        if newer:
            return _stale(ctx, draft, version, newer, promotion.tags)
        card = build_card(ctx, config, dataclasses.replace(draft, version=version))
        try:
            result = deliver_recorded(ctx, name, config, card, target, route)
        except CheckFailed as failed:
            raise roll_back_after(ctx, failed, route) from None
    return finish(ctx, card, result, promotion.tags)


def _stale(
    ctx: RunContext, draft: Card, version: str, newer: RegistryEntry, tags: tuple[str, ...]
) -> Deployed:
    message = (
        f"{draft.name} {version} was registered but not deployed: a later commit, {newer.version} "
        f"({newer.commit[:12]}), is already live in {draft.stage}"
    )
    ctx.actions.annotate("warning", one_line(message), title="mlci deploy")
    ctx.actions.append_summary(
        f"## {md_escape(draft.name)} {md_code(version)} not deployed\n\n{md_escape(message)}. To go back to it: "
        f"{md_code(f'mlci rollback {draft.name} --to {version}')}\n"
    )
    return Deployed(draft.name, version, draft.stage, draft.commit, "", "", "", tags, live=False)


@dataclass(frozen=True)
class _Delivered:
    sha256: str
    location: str
    tags: tuple[str, ...]
    live: bool = True


def deliver_recorded(
    ctx: RunContext,
    name: str,
    config: ModelConfig,
    card: Card,
    target: Target,
    route: Route,
    forward: bool = True,
    event: str = "delivered",
    again: bool = False,
) -> _Delivered:
    """Fetch, deliver, check (the stage's check, at each traffic step) and assign the stage inside a
    GitHub Deployment (failure recorded, then raised: CheckFailed when the check failed). `event` (what
    happened: delivered, promoted from …, rolled back …) goes into the stage tag's message with the
    check's result and the run; `again`: a new stage tag even if the stage holds the version already."""
    client = ctx.github()
    description = one_line(f"{name} {card.version} → {card.stage}", 140)
    deployment = _open_deployment(ctx, name, card, route.environment, description)
    log_url = ctx.runtime.run_url or None
    try:
        with tempfile.TemporaryDirectory(prefix="mlci-deploy-") as tmp:
            artifact = fetch(ctx.root, config.path, card.commit, Path(tmp), ctx.config.train.remote)
            text = card.render(ctx.root)
            sha = sha256_of(artifact)
            extra = {"repository": ctx.runtime.repository, "run_url": ctx.runtime.run_url}
            delivery = Delivery(
                name, card.version, card.stage, card.commit, artifact, text, sha, extra, metrics=card.metrics
            )

            def status(text: str) -> None:
                client.create_deployment_status(
                    deployment["id"], "in_progress", log_url=log_url, description=text
                )

            location, said = deliver_checked(ctx, delivery, target, route, status)
            what = note_for(ctx, f"{event}; {said}")
            assigned = _assign_and_activate(ctx, delivery, target, forward, what, again)
            if ctx.config.deploy.release:
                _release(ctx, name, card, text, artifact)
    except BaseException as exc:
        reason = one_line(exc.message if isinstance(exc, MlciError) else f"{type(exc).__name__}: {exc}", 140)
        client.create_deployment_status(deployment["id"], "failure", log_url=log_url, description=reason)
        raise
    done = one_line(f"{description}: {event}; {said}", 140)
    return _close_deployment(ctx, card, deployment["id"], assigned, _Delivered(sha, location, (), True), done)


def _close_deployment(
    ctx: RunContext, card: Card, deployment: int, assigned: promote.Assignment, result: _Delivered, done: str
) -> _Delivered:
    """`success` (with what the check said), or `inactive` when a later commit took the stage meanwhile."""
    client, log_url = ctx.github(), ctx.runtime.run_url or None
    newer = assigned.superseded_by
    if newer:  # a later commit took the stage while this ran (no concurrency group?)
        note = f"superseded by {newer.version} ({newer.commit[:12]}) while delivering; it keeps {card.stage}"
        ctx.actions.annotate("warning", one_line(f"{card.name} {card.version}: {note}"), title="mlci deploy")
        client.create_deployment_status(deployment, "inactive", log_url=log_url, description=note[:140])
        return _Delivered(result.sha256, result.location, assigned.tags, live=False)
    url = result.location if result.location.startswith(("http://", "https://")) else None
    client.create_deployment_status(
        deployment, "success", log_url=log_url, environment_url=url, description=done
    )
    return _Delivered(result.sha256, result.location, assigned.tags)


def _open_deployment(
    ctx: RunContext, name: str, card: Card, environment: str, description: str
) -> dict[str, Any]:
    """A new GitHub Deployment for the card's commit, `in_progress` (an interrupted one closed first)."""
    client = ctx.github()
    _close_interrupted(client, environment, card.commit, name, ctx.runtime.run_url)
    deployment = client.create_deployment(
        card.commit,
        environment,
        description=description,
        payload={"model": name, "version": card.version, "stage": card.stage},
    )
    log_url = ctx.runtime.run_url or None
    client.create_deployment_status(deployment["id"], "in_progress", log_url=log_url, description=description)
    return deployment


def _assign_and_activate(
    ctx: RunContext, delivery: Delivery, target: Target, forward: bool, note: str, again: bool = False
) -> promote.Assignment:
    """Push the stage tag, then the target's second phase (`activate`) unless a later commit took the stage.
    When the push fails the delivered model is live all the same: the message says so, and that a rerun
    (which finds the version delivered) finishes the job."""
    try:
        assigned = promote.assign(
            ctx.root,
            delivery.name,
            delivery.commit,
            delivery.stage,
            remote=ctx.config.deploy.remote,
            forward_only=forward,
            note=note,
            again=again,
            rollback_run="" if forward else ctx.runtime.run_id,
        )
    except MlciError as exc:
        name, version, stage = delivery.name, delivery.version, delivery.stage
        raise MlciError(
            f"{name} {version} was delivered and is live at the target, but its stage tag {name}#{stage} "
            f"was not recorded: {exc.message}",
            f"run the job again: the rerun finds {version} delivered and records the stage (then the "
            f"registry and the Deployment say it is live). {exc.hint or ''}".strip(),
        ) from None
    if not assigned.superseded_by:
        target.activate(delivery)
    return assigned


def _close_interrupted(client: GitHubClient, environment: str, commit: str, name: str, run_url: str) -> None:
    """A killed run leaves its Deployment `in_progress` forever; the re-run closes it as `error`."""
    for old in client.list_deployments(environment=environment, sha=commit):
        if _payload(old).get("model") != name:
            continue
        statuses = client.list_deployment_statuses(api_id(old.get("id"), "a deployment's id"))
        # no status at all: the run died (or GitHub failed) between creating it and `in_progress`
        if not statuses or statuses[0].get("state") in ("in_progress", "queued", "pending"):
            note = "interrupted before it finished; deployed again" + (f" by {run_url}" if run_url else "")
            client.create_deployment_status(
                api_id(old.get("id"), "a deployment's id"), "error", description=note[:140]
            )


def _payload(deployment: dict[str, Any]) -> dict[str, Any]:
    """A deployment's payload, whatever wrote it: GitHub returns an object, or the string another tool
    sent (JSON text or anything else); only an object can be one of mlci's."""
    payload = deployment.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    return payload if isinstance(payload, dict) else {}


def finish(ctx: RunContext, card: Card, result: _Delivered, tags: tuple[str, ...] = ()) -> Deployed:
    sha, location = result.sha256, result.location
    path = ctx.root / CARD_DIR / card.name / "MODEL_CARD.md"
    text = card.render(ctx.root)
    write_output_atomic(path, text)
    ctx.actions.append_summary(text)
    state = "is live in" if result.live else "was delivered but is superseded in"
    click.echo(f"{one_line(card.name)} {card.version} {state} {one_line(card.stage)} ({one_line(location)})")
    relative = path.relative_to(ctx.root).as_posix()
    all_tags = tags + result.tags
    return Deployed(
        card.name, card.version, card.stage, card.commit, sha, location, relative, all_tags, result.live
    )


def _release(ctx: RunContext, name: str, card: Card, text: str, artifact: Path) -> None:
    client = ctx.github()
    tag = version_tag(name, card.version)
    release = client.get_release_by_tag(tag) or client.create_release(tag, f"{name} {card.version}", text)
    asset = f"{tag_prefix(name)}-{card.version}-{artifact.name}"
    if artifact.is_file() and all(a.get("name") != asset for a in release.get("assets") or []):
        client.upload_release_asset(release, artifact, asset)  # not again on a re-run


def build_card(ctx: RunContext, config: ModelConfig, draft: Card) -> Card:
    """Complete a card (name, version, stage, commit, metrics, gates given) from git and dvc.lock."""
    runtime, commit = ctx.runtime, draft.commit
    subject, author = commit_facts(ctx.root, commit)
    held = recorded(ctx.root, commit)
    return dataclasses.replace(
        draft,
        description=config.description,
        repository=runtime.repository,
        run_url=runtime.run_url,
        server_url=runtime.server_url,
        subject=subject,
        author=author,
        pr=pull_request(subject, runtime.event, runtime.server_url, runtime.repository),
        data=data_versions(held, exclude=config.path),
        params=lock_params(held.lock, config.stages),
    )


CARD_NEEDS = "which the model card records"


def read_metrics(
    root: Path, commit: str, *, need: str = "which the quality gates need"
) -> dict[str, dict[str, float]]:
    """The commit's metrics for the gates and the model card. A DVC-cached metrics file the remote could
    not give is an error naming the remote (exit 2), not a failed gate: the model may be fine; `need`
    says what needed it (the gates; with none configured, or in a rollback, the model card)."""
    from mlci.metrics import read_metrics_and_failures
    from mlci.repo.remote import read_failure

    metrics, unread, remote_failures = read_metrics_and_failures(root, commit)
    for file in unread:
        # a DVC-cached file: the remote failed or lacks it (as the read said, else as a probe finds)
        failure = remote_failures.get(file) or read_failure(root, file, commit)
        if failure is not None:
            raise MlciError(f"cannot read {file}, {need}: {failure.message}", failure.hint)
    return metrics


def model_metrics(metrics: dict[str, dict[str, float]], config: ModelConfig) -> dict[str, dict[str, Any]]:
    if not config.metrics:
        return dict(metrics)
    return {file: values for file, values in metrics.items() if file in config.metrics}


def check_gates(
    ctx: RunContext, name: str, metrics: dict[str, dict[str, Any]], commit: str
) -> list[GateLine]:
    """The absolute gates (min/max) on this commit's metrics; a failure stops the deploy (exit 1)."""
    from mlci.gates import evaluate_gates
    from mlci.metrics import rows_from_values

    rows = rows_from_values({}, metrics, ctx.config)
    results = [
        *evaluate_gates(ctx.config.gates, rows, model="", absolute_only=True),
        *evaluate_gates(ctx.config.gates, rows, model=name, absolute_only=True),
    ]
    lines = [GateLine(f"{r.file}:{r.key}" if r.file else r.key, r.passed, r.value, r.reason) for r in results]
    failed = [line for line in lines if not line.passed]
    if failed:
        table = "\n".join(f"| {md_code(f.metric)} | {md_escape(f.reason)} |" for f in failed)
        ctx.actions.append_summary(
            f"## ❌ {md_escape(name)} was not deployed\n\nThe commit fails its quality gates:\n\n"
            f"| Gate | Why |\n|---|---|\n{table}\n"
        )
        for f in failed:
            ctx.actions.annotate("error", one_line(f.reason), title=f"gate {one_line(f.metric, 80)}")
        raise GateFailed(
            f"{name} was not deployed: {len(failed)} quality gate(s) failed on commit {commit[:12]}: "
            + "; ".join(f"{one_line(f.metric, 80)}: {one_line(f.reason, 120)}" for f in failed),
            "nothing was tagged or delivered; fix the model and merge again",
        )
    return lines


def publish_outputs(ctx: RunContext, done: list[Deployed]) -> None:
    if not done:
        return
    last = done[-1]
    ctx.actions.set_output("version", last.version)
    ctx.actions.set_output("stage", last.stage)
    ctx.actions.set_output("sha256", last.sha256)
    ctx.actions.set_output("model-card", last.card_path)
    ctx.actions.set_output("deployed", json.dumps([d.as_json() for d in done]))


def _head(root: Path) -> str:
    from mlci.repo.git import git

    return git(root, "rev-parse", "HEAD")
