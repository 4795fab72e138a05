"""`mlci report`'s experiments: find the PR's commits, fetch their exp refs (bounded), read each one.

The joining step between `mlci.repo.experiments` (which refs, fetched how) and
`mlci.report.experiments` (the leaderboard): it holds the run's facts (in Actions or not, the token).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.commands.context import RunContext
    from mlci.repo.experiments import ExpRef
    from mlci.repo.revision import Snapshot
    from mlci.report.document import Revision
    from mlci.report.experiments import Leaderboard, Sweep


def leaderboard(
    ctx: RunContext, repo: Any, revisions: tuple[Revision, Revision], snapshots: tuple[Snapshot, Snapshot]
) -> Leaderboard | None:
    """The PR's experiments ranked, read with the report's open DVC `repo`; None when the section is off,
    head is the workspace, or there are no experiments and no gate on them."""
    from mlci.report.experiments import build_leaderboard

    settings = ctx.config.report.experiments
    base, head = revisions
    if not settings.enabled or not head.sha or not base.sha:
        return None
    sweep = _sweep(ctx, repo, base.sha, head.sha)
    gated = (
        settings.min_on_head > 0 or settings.head_within is not None or settings.head_within_pct is not None
    )
    if not sweep.experiments and not sweep.fetch_error and not gated:
        return None
    return build_leaderboard(ctx.config, sweep, snapshots[1], snapshots[0])


def _sweep(ctx: RunContext, repo: Any, base: str, head: str) -> Sweep:
    from mlci.repo.experiments import fetch_experiments, list_experiments, pr_commits
    from mlci.repo.git import GitError
    from mlci.report.experiments import Sweep

    settings = ctx.config.report.experiments
    try:
        commits = pr_commits(ctx.root, base, head, settings.max_commits)
    except GitError as exc:  # a shallow clone the remote could not deepen: head's own experiments only
        return Sweep(head, [head], 1, 0, [], fetch_error=one_line(exc.message, 300))
    error = ""
    if settings.fetch == "always" or (settings.fetch == "ci" and ctx.runtime.in_actions):
        error = fetch_experiments(ctx.root, commits.commits, env=_auth_env(ctx))
    refs = list_experiments(ctx.root, commits.commits)
    kept = refs[: max(settings.max_experiments, 0)]
    read = [_read(repo, ref) for ref in kept]
    return Sweep(head, commits.commits, commits.total, len(refs), read, fetch_error=one_line(error, 300))


def _read(repo: Any, ref: ExpRef) -> tuple[ExpRef, Snapshot | None, str]:
    """One experiment's metrics and params as DVC reads them; a commit DVC cannot read is said, not fatal."""
    from mlci.repo.revision import read_snapshot

    try:
        return ref, read_snapshot(repo, ref.sha), ""
    except MlciError as exc:
        return ref, None, one_line(f"{exc.message} ({exc.hint})" if exc.hint else exc.message, 300)


def _auth_env(ctx: RunContext) -> dict[str, str]:
    """In Actions, the job's token as an HTTP header for this one fetch, only toward the job's own
    GitHub server (the checkout does not keep credentials: `persist-credentials: false`)."""
    from mlci.repo.git import git

    runtime = ctx.runtime
    url = git(ctx.root, "remote", "get-url", "origin", check=False)
    if not (runtime.in_actions and runtime.token and url.startswith(runtime.server_url + "/")):
        return {}
    basic = base64.b64encode(f"x-access-token:{runtime.token}".encode()).decode()
    ctx.actions.mask(basic)
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{runtime.server_url}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }
