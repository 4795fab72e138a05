"""Pick where results go: GitHub when there is a token, the offline outbox otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlci.github.client import GitHubClient, UpsertResult
from mlci.github.outbox import Outbox

Json = dict[str, Any]


class GitHubApi(Protocol):
    """What commands may call; `GitHubClient` and `Outbox` both provide it."""

    repository: str

    def describe(self) -> str: ...
    def get_repo(self) -> Json: ...
    def list_issue_comments(self, number: int) -> list[Json]: ...
    def create_issue_comment(self, number: int, body: str) -> Json: ...
    def update_issue_comment(self, comment_id: int, body: str) -> Json: ...
    def upsert_comment(self, number: int, body: str, marker: str) -> UpsertResult: ...
    def list_pulls(
        self, head: str | None = None, state: str = "open", base: str | None = None
    ) -> list[Json]: ...
    def create_pull(self, title: str, head: str, base: str, body: str, draft: bool = False) -> Json: ...
    def update_pull(self, number: int, **fields: Any) -> Json: ...
    def get_pull(self, number: int) -> Json: ...
    def add_labels(self, number: int, labels: list[str]) -> list[Json]: ...
    def request_reviewers(self, number: int, reviewers: list[str]) -> Json: ...
    def add_assignees(self, number: int, assignees: list[str]) -> Json: ...
    def get_ref(self, ref: str) -> Json | None: ...
    def create_ref(self, ref: str, sha: str) -> Json: ...
    def update_ref(self, ref: str, sha: str, force: bool = False) -> Json: ...
    def create_check_run(
        self,
        name: str,
        head_sha: str,
        *,
        status: str = "completed",
        conclusion: str | None = None,
        title: str,
        summary: str,
        text: str | None = None,
        annotations: list[Json] | None = None,
        details_url: str | None = None,
    ) -> Json: ...
    def update_check_run(self, check_run_id: int, **fields: Any) -> Json: ...
    def create_commit_status(
        self, sha: str, state: str, context: str, description: str, target_url: str | None = None
    ) -> Json: ...
    def create_deployment(
        self,
        ref: str,
        environment: str,
        *,
        description: str = "",
        payload: Json | None = None,
        auto_merge: bool = False,
        required_contexts: list[str] | None = None,
        production_environment: bool | None = None,
    ) -> Json: ...
    def list_deployments(
        self, environment: str | None = None, sha: str | None = None, ref: str | None = None
    ) -> list[Json]: ...
    def create_deployment_status(
        self,
        deployment_id: int,
        state: str,
        *,
        log_url: str | None = None,
        environment_url: str | None = None,
        description: str = "",
    ) -> Json: ...
    def list_deployment_statuses(self, deployment_id: int) -> list[Json]: ...
    def create_release(
        self, tag: str, name: str, body: str, *, draft: bool = False, prerelease: bool = False
    ) -> Json: ...
    def get_release_by_tag(self, tag: str) -> Json | None: ...
    def upload_release_asset(
        self,
        release: Json,
        path: Path | str,
        name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> Json: ...
    def dispatch_workflow(
        self, workflow: str | int, ref: str, inputs: dict[str, str] | None = None
    ) -> None: ...


def open_client(
    token: str | None,
    repository: str,
    api_url: str,
    outbox_dir: Path | str,
    run_url: str | None = None,
    max_wait: float = 300,
    timeout: float = 30,
) -> GitHubClient | Outbox:
    """A GitHub client with a token; without one, an Outbox in `outbox_dir` (say so with `.describe()`)."""
    if not token:
        return Outbox(outbox_dir, repository, run_url=run_url)
    return GitHubClient(token, repository, api_url, timeout=timeout, max_wait=max_wait, run_url=run_url)


if TYPE_CHECKING:  # mypy proves here that both implementations satisfy the protocol

    def _conforms(client: GitHubClient, outbox: Outbox) -> tuple[GitHubApi, GitHubApi]:
        return client, outbox
