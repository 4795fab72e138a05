"""GitHub REST client: the few endpoints mlci uses, as named methods returning parsed JSON.

Retries live in `github_http`; typed errors in `github_errors`. POSTs that would duplicate something
when repeated blindly (a comment, a pull request, a ref, a release) are never retried by the transport
after a 5xx or a timeout: `_create_once` first looks whether the failed POST landed after all. Check runs,
deployments, asset uploads and workflow dispatches get one attempt only: a duplicate there is worse
than a failed job (two check runs, two deployments, two workflow runs).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from mlci.github.errors import GitHubError, NotFound, PermissionDenied, RateLimited
from mlci.github.http import BACKOFF, Json, Sleep, Transport, unexpected_shape
from mlci.github.limits import CHECK_TEXT_LIMIT, RELEASE_BODY_LIMIT, fit_text
from mlci.github.numbers import api_id
from mlci.redact import redact_data

if TYPE_CHECKING:
    from collections.abc import Mapping


class Api(Protocol):
    """What the client needs of a transport: `Transport` (HTTPS to GitHub) or the outbox's."""

    api_url: str

    def sleep(self, seconds: float) -> None: ...
    def json(self, method: str, path: str, **kwargs: Any) -> Any: ...
    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> list[Json]: ...


__all__ = ["GitHubClient", "GitHubError", "NotFound", "PermissionDenied", "RateLimited"]

ANNOTATIONS_PER_REQUEST = 50  # GitHub rejects more in one create/update of a check run


class GitHubClient:
    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str = "https://api.github.com",
        *,
        timeout: float = 30,
        max_wait: float = 300,
        sleep: Sleep = time.sleep,
        run_url: str | None = None,
    ) -> None:
        if not token:
            raise GitHubError("no GitHub token given", hint="pass a token, or use the outbox without one")
        self._setup(
            repository, run_url, Transport(token, api_url, timeout=timeout, max_wait=max_wait, sleep=sleep)
        )

    def _setup(self, repository: str, run_url: str | None, http: Api) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise GitHubError(f"repository must look like 'owner/name', got {repository!r}")
        self.repository = repository
        self.run_url = run_url
        self._http: Api = http
        self._repo = f"/repos/{repository}"
        self._login: str | None = None  # the token's user, once asked ("" when it has none)

    def __repr__(self) -> str:
        return f"GitHubClient(repository={self.repository!r}, api_url={self._http.api_url!r})"

    def describe(self) -> str:
        return f"posting to {self.repository} through {self._http.api_url}"

    def _call(self, method: str, path: str, *, expect: type | None = dict, **kwargs: Any) -> Any:
        return self._json(method, f"{self._repo}{path}", expect=expect, **kwargs)

    def _json(self, method: str, path: str, *, expect: type | None = dict, **kwargs: Any) -> Any:
        """One call whose answer must be of type `expect` (None: anything): a list where an object
        belongs is GitHub (or a proxy) failing, reported as a GitHubError, not a crash later.
        Every body sent (comments, check runs, pull requests, Deployments; the outbox's too) is redacted."""
        if kwargs.get("json") is not None:
            kwargs["json"] = redact_data(kwargs["json"])
        result = self._http.json(method, path, **kwargs)
        if expect is not None and not isinstance(result, expect):
            wanted = "an object" if expect is dict else "a list"
            raise unexpected_shape(
                method, self._http.api_url + path if path.startswith("/") else path, wanted, result
            )
        return result

    def create_once(self, create: Callable[[], Json], find: Callable[[], Json | None]) -> Json:
        """Create something without duplicating it: after a transient failure, look before trying again."""
        for delay in BACKOFF:
            try:
                return create()
            except GitHubError as exc:
                if not exc.transient:
                    raise
            self._http.sleep(delay)
            found = find()
            if found is not None:
                return found
        try:
            return create()
        except GitHubError as exc:
            raise exc.after_attempts(len(BACKOFF) + 1) if exc.transient else exc from None

    # Repository and comments

    def own_login(self) -> str | None:
        """The token's user (a PAT), or None for Actions and App tokens, which have none (403)."""
        if self._login is None:
            try:
                user: Json = self._json("GET", "/user")
                self._login = str(user.get("login") or "")
            except (PermissionDenied, NotFound):
                self._login = ""
        return self._login or None

    def get_repo(self) -> Json:
        result: Json = self._json("GET", self._repo)
        return result

    def list_issue_comments(self, number: int) -> list[Json]:
        return self._http.paginate(f"{self._repo}/issues/{api_id(number, 'number')}/comments")

    def create_issue_comment(self, number: int, body: str) -> Json:
        result: Json = self._call(
            "POST", f"/issues/{api_id(number, 'number')}/comments", json={"body": body}, retry=False
        )
        return result

    def update_issue_comment(self, comment_id: int, body: str) -> Json:
        result: Json = self._call(
            "PATCH", f"/issues/comments/{api_id(comment_id, 'comment id')}", json={"body": body}
        )
        return result

    def delete_issue_comment(self, comment_id: int) -> None:
        # Deleting twice leaves the same state; a 404 on the retry means the first one landed.
        with contextlib.suppress(NotFound):
            self._call("DELETE", f"/issues/comments/{api_id(comment_id, 'comment id')}", expect=None)

    # Pull requests

    def list_pulls(self, head: str | None = None, state: str = "open", base: str | None = None) -> list[Json]:
        params = {key: value for key, value in (("head", head), ("base", base)) if value}
        return self._http.paginate(f"{self._repo}/pulls", {"state": state, **params})

    def create_pull(self, title: str, head: str, base: str, body: str, draft: bool = False) -> Json:
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        owner_head = head if ":" in head else f"{self.repository.split('/')[0]}:{head}"

        def find() -> Json | None:
            return next(iter(self.list_pulls(head=owner_head, base=base)), None)

        return self.create_once(lambda: self._call("POST", "/pulls", json=payload, retry=False), find)

    def update_pull(self, number: int, **fields: Any) -> Json:
        result: Json = self._call("PATCH", f"/pulls/{api_id(number, 'number')}", json=fields)
        return result

    def get_pull(self, number: int) -> Json:
        result: Json = self._call("GET", f"/pulls/{api_id(number, 'number')}")
        return result

    # Adding labels, reviewers or assignees twice leaves the same state, so the transport may retry them.

    def add_labels(self, number: int, labels: list[str]) -> list[Json]:
        result: list[Json] = self._call(
            "POST", f"/issues/{api_id(number, 'number')}/labels", json={"labels": labels}, expect=list
        )
        return result

    def request_reviewers(self, number: int, reviewers: list[str]) -> Json:
        result: Json = self._call(
            "POST", f"/pulls/{api_id(number, 'number')}/requested_reviewers", json={"reviewers": reviewers}
        )
        return result

    def add_assignees(self, number: int, assignees: list[str]) -> Json:
        result: Json = self._call(
            "POST", f"/issues/{api_id(number, 'number')}/assignees", json={"assignees": assignees}
        )
        return result

    # Git refs

    def get_ref(self, ref: str) -> Json | None:
        """`heads/main` or `tags/v1` (a leading `refs/` is fine); None when it does not exist."""
        try:
            result: Json = self._call("GET", f"/git/ref/{_ref_path(ref)}")
        except NotFound:
            return None
        return result

    def create_ref(self, ref: str, sha: str) -> Json:
        full = ref if ref.startswith("refs/") else f"refs/{ref}"

        def find() -> Json | None:
            found = self.get_ref(full)
            return found if found and found.get("object", {}).get("sha") == sha else None

        payload = {"ref": full, "sha": sha}
        return self.create_once(lambda: self._call("POST", "/git/refs", json=payload, retry=False), find)

    def update_ref(self, ref: str, sha: str, force: bool = False) -> Json:
        result: Json = self._call("PATCH", f"/git/refs/{_ref_path(ref)}", json={"sha": sha, "force": force})
        return result

    # Checks and statuses

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
    ) -> Json:
        """One check run; annotations beyond the first 50 are added by updates of 50 each."""
        batches = _chunks(annotations or [], ANNOTATIONS_PER_REQUEST)
        output: Json = {
            "title": title,
            "summary": fit_text(summary, CHECK_TEXT_LIMIT, self.run_url),
            "annotations": batches[0],
        }
        if text is not None:
            output["text"] = fit_text(text, CHECK_TEXT_LIMIT, self.run_url)
        payload: Json = {"name": name, "head_sha": head_sha, "status": status, "output": output}
        payload.update({k: v for k, v in (("conclusion", conclusion), ("details_url", details_url)) if v})
        run: Json = self._call("POST", "/check-runs", json=payload, retry=False)
        for batch in batches[1:]:
            more = {"title": title, "summary": output["summary"], "annotations": batch}
            run = self.update_check_run(api_id(run.get("id"), "the check run's id"), output=more)
        return run

    def update_check_run(self, check_run_id: int, **fields: Any) -> Json:
        result: Json = self._call("PATCH", f"/check-runs/{api_id(check_run_id, 'check run id')}", json=fields)
        return result

    def create_commit_status(
        self, sha: str, state: str, context: str, description: str, target_url: str | None = None
    ) -> Json:
        # The latest status of a context wins, so a repeated POST changes nothing: retrying is safe.
        payload: Json = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            payload["target_url"] = target_url
        result: Json = self._call("POST", f"/statuses/{sha}", json=payload)
        return result

    # Deployments

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
    ) -> Json:
        body: Json = {
            "ref": ref,
            "environment": environment,
            "description": description,
            "payload": payload or {},
            "auto_merge": auto_merge,
            "required_contexts": required_contexts or [],
        }
        if production_environment is not None:
            body["production_environment"] = production_environment
        result: Json = self._call("POST", "/deployments", json=body, retry=False)
        return result

    def list_deployments(
        self, environment: str | None = None, sha: str | None = None, ref: str | None = None
    ) -> list[Json]:
        filters = (("environment", environment), ("sha", sha), ("ref", ref))
        return self._http.paginate(f"{self._repo}/deployments", {k: v for k, v in filters if v})

    def create_deployment_status(
        self,
        deployment_id: int,
        state: str,
        *,
        log_url: str | None = None,
        environment_url: str | None = None,
        description: str = "",
    ) -> Json:
        # The latest status wins: a repeated POST is harmless, so the transport may retry it.
        body: Json = {"state": state, "description": description[:140]}
        body.update({k: v for k, v in (("log_url", log_url), ("environment_url", environment_url)) if v})
        result: Json = self._call(
            "POST", f"/deployments/{api_id(deployment_id, 'deployment id')}/statuses", json=body
        )
        return result

    def list_deployment_statuses(self, deployment_id: int) -> list[Json]:
        return self._http.paginate(
            f"{self._repo}/deployments/{api_id(deployment_id, 'deployment id')}/statuses"
        )

    # Releases and workflows

    def create_release(
        self, tag: str, name: str, body: str, *, draft: bool = False, prerelease: bool = False
    ) -> Json:
        payload: Json = {
            "tag_name": tag,
            "name": name,
            "body": fit_text(body, RELEASE_BODY_LIMIT, self.run_url),
        }
        # a model release must never become the repository's "Latest release" (the software's)
        payload.update({"draft": draft, "prerelease": prerelease, "make_latest": "false"})
        return self.create_once(
            lambda: self._call("POST", "/releases", json=payload, retry=False),
            lambda: self.get_release_by_tag(tag),
        )

    def get_release_by_tag(self, tag: str) -> Json | None:
        """The published release of `tag`, or None (GitHub does not find drafts by tag)."""
        try:
            result: Json = self._call("GET", f"/releases/tags/{quote(tag, safe='')}")
        except NotFound:
            return None
        return result

    def upload_release_asset(
        self,
        release: Json,
        path: Path | str,
        name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> Json:
        # GitHub serves uploads from another host: use the release's own `upload_url`, minus `{?name,label}`.
        url = str(release["upload_url"]).split("{", 1)[0]
        file = Path(path)
        result: Json = self._json(
            "POST",
            url,
            params={"name": name or file.name},
            data=file.read_bytes(),
            headers={"Content-Type": content_type},
            retry=False,
        )
        return result

    def dispatch_workflow(self, workflow: str | int, ref: str, inputs: dict[str, str] | None = None) -> None:
        """Start a `workflow_dispatch` run (GitHub answers 204 and no body)."""
        path = f"/actions/workflows/{quote(str(workflow), safe='')}/dispatches"
        self._call("POST", path, json={"ref": ref, "inputs": inputs or {}}, retry=False, expect=None)


def _ref_path(ref: str) -> str:
    return quote(ref.removeprefix("refs/"), safe="/")


def _chunks(items: list[Json], size: int) -> list[list[Json]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
