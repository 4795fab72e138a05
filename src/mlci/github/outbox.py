"""The offline outbox: GitHub's REST API for the endpoints mlci calls, answered from a folder.

Used when there is no token (a local run, a fork pull request). `Outbox` is the one `GitHubClient`
with another transport: every method, rule and limit of the client applies unchanged, and this module
answers the requests the way GitHub would, keeping `state.json` so that runs of the CLI see each
other's work (an upsert with the same body is "unchanged", a pull request created earlier is listed
again, numbers and ids keep increasing), refusing what GitHub refuses (422 for a duplicate pull
request, ref or release) and writing what would be posted as readable files.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic, write_text_atomic
from mlci.github.client import GitHubClient
from mlci.github.errors import GitHubError, NotFound, PermissionDenied
from mlci.readers import read_json

Json = dict[str, Any]
_EMPTY: Json = {
    "next_id": 1,
    "next_number": 1,
    "comments": [],
    "pulls": [],
    "refs": {},
    "check_runs": [],
    "statuses": [],
    "deployments": [],
    "releases": [],
    "dispatches": [],
}
# Who the outbox posts as: the Actions token's bot, as on GitHub.
BOT = {"login": "github-actions[bot]", "type": "Bot"}
_NAMED = {"labels": "name", "requested_reviewers": "login", "assignees": "login"}
Handler = Callable[..., Any]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _find(items: list[Json], **where: Any) -> Json | None:
    found: Json | None = next((i for i in items if all(i.get(k) == v for k, v in where.items())), None)
    return found


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _refused(message: str) -> GitHubError:
    return GitHubError(f"outbox: {message}", status=422, hint="the same call would fail on GitHub")


def _missing(what: str) -> NotFound:
    return NotFound(f"outbox: no {what}")


class Outbox(GitHubClient):
    """A `GitHubClient` whose requests are answered by `OutboxApi` in `folder`."""

    def __init__(
        self, folder: Path | str, repository: str = "local/repo", *, run_url: str | None = None
    ) -> None:
        self.folder = Path(folder)
        self._setup(repository, run_url, OutboxApi(self.folder, repository))

    def __repr__(self) -> str:
        return f"Outbox(folder={str(self.folder)!r}, repository={self.repository!r})"

    def describe(self) -> str:
        try:
            shown = os.path.relpath(self.folder)
        except ValueError:  # another drive on Windows
            shown = str(self.folder)
        return f"no GitHub token: writing to {shown}/ instead of posting"


class OutboxApi:
    """The transport behind `Outbox`: routes `(method, path)` to a handler over `state.json`."""

    api_url = "outbox:"

    def __init__(self, folder: Path, repository: str) -> None:
        self.folder = folder
        self.repository = repository
        self._state_path = folder / "state.json"
        repo = re.escape(f"/repos/{repository}")
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern.replace("{repo}", repo) + r"\Z"), handler)
            for method, pattern, handler in (
                ("GET", r"/user", self._user),
                ("GET", r"{repo}", self._repo),
                ("GET", r"{repo}/issues/(\d+)/comments", self._list_comments),
                ("POST", r"{repo}/issues/(\d+)/comments", self._create_comment),
                ("PATCH", r"{repo}/issues/comments/(\d+)", self._update_comment),
                ("DELETE", r"{repo}/issues/comments/(\d+)", self._delete_comment),
                ("GET", r"{repo}/pulls", self._list_pulls),
                ("POST", r"{repo}/pulls", self._create_pull),
                ("GET", r"{repo}/pulls/(\d+)", self._get_pull),
                ("PATCH", r"{repo}/pulls/(\d+)", self._update_pull),
                ("POST", r"{repo}/issues/(\d+)/labels", self._add_labels),
                ("POST", r"{repo}/pulls/(\d+)/requested_reviewers", self._request_reviewers),
                ("POST", r"{repo}/issues/(\d+)/assignees", self._add_assignees),
                ("GET", r"{repo}/git/ref/(.+)", self._get_ref),
                ("POST", r"{repo}/git/refs", self._create_ref),
                ("PATCH", r"{repo}/git/refs/(.+)", self._update_ref),
                ("POST", r"{repo}/check-runs", self._create_check_run),
                ("PATCH", r"{repo}/check-runs/(\d+)", self._update_check_run),
                ("POST", r"{repo}/statuses/(\w+)", self._create_status),
                ("GET", r"{repo}/deployments", self._list_deployments),
                ("POST", r"{repo}/deployments", self._create_deployment),
                ("GET", r"{repo}/deployments/(\d+)/statuses", self._list_deployment_statuses),
                ("POST", r"{repo}/deployments/(\d+)/statuses", self._create_deployment_status),
                ("POST", r"{repo}/releases", self._create_release),
                ("GET", r"{repo}/releases/tags/(.+)", self._release_by_tag),
                ("POST", r"outbox:release-assets/(\d+)", self._upload_asset),
                ("POST", r"{repo}/actions/workflows/([^/]+)/dispatches", self._dispatch),
            )
        ]

    def __repr__(self) -> str:
        return f"OutboxApi(folder={str(self.folder)!r})"

    def sleep(self, seconds: float) -> None:
        """Nothing to wait for: the outbox never fails transiently."""

    # The transport's interface (see mlci.github.http.Transport)

    def json(
        self,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> Any:
        """Answer one call as GitHub would; `retry` and `headers` mean nothing here."""
        for verb, pattern, handler in self._routes:
            match = pattern.match(path)
            if verb == method and match:
                args = [unquote(group) for group in match.groups()]
                return handler(
                    *args,
                    body=kwargs.get("json") or {},
                    params=dict(kwargs.get("params") or {}),
                    data=kwargs.get("data"),
                )
        raise _missing(f"route for {method} {path} (mlci does not call it)")

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> list[Json]:
        items: list[Json] = self.json("GET", path, params=params)
        return items

    # State and files

    def _read(self) -> Json:
        """The state, re-read on every call: another run of the CLI may have written since."""
        state: Json = json.loads(json.dumps(_EMPTY))
        if self._state_path.exists():
            saved = read_json(self._state_path, "the outbox's state.json")
            if not isinstance(saved, dict):
                raise MlciError(f"{self._state_path}: not the outbox's state", "delete the outbox folder")
            state.update(saved)
        return state

    @contextmanager
    def _state(self) -> Iterator[Json]:
        state = self._read()
        yield state
        write_text_atomic(self._state_path, json.dumps(state, indent=2, sort_keys=True) + "\n")

    def _write(self, name: str, content: str | Json) -> str:
        text = content if isinstance(content, str) else json.dumps(content, indent=2, sort_keys=True) + "\n"
        return str(write_text_atomic(self.folder / name, text))

    @staticmethod
    def _next(state: Json, key: Literal["next_id", "next_number"]) -> int:
        value = int(state[key])
        state[key] = value + 1
        return value

    # Repository and comments

    def _user(self, **_: Any) -> Json:
        # Like the Actions token the outbox stands in for: it has no user of its own.
        raise PermissionDenied(
            "outbox: Resource not accessible by integration", permission="none", status=403
        )

    def _repo(self, **_: Any) -> Json:
        owner, name = self.repository.split("/", 1)
        return {
            "full_name": self.repository,
            "name": name,
            "owner": {"login": owner},
            "default_branch": "main",
        }

    def _list_comments(self, number: str, **_: Any) -> list[Json]:
        return [c for c in self._read()["comments"] if c["issue"] == int(number)]

    def _create_comment(self, number: str, body: Json, **_: Any) -> Json:
        with self._state() as state:
            comment_id = self._next(state, "next_id")
            name = f"comment-pr{number}-{comment_id}.md"
            comment: Json = {"id": comment_id, "issue": int(number), "body": body["body"], "user": BOT}
            comment.update(file=name, created_at=_now(), html_url=self._write(name, body["body"]))
            state["comments"].append(comment)
        return comment

    def _update_comment(self, comment_id: str, body: Json, **_: Any) -> Json:
        with self._state() as state:
            comment = _find(state["comments"], id=int(comment_id))
            if comment is None:
                raise _missing(f"comment {comment_id}")
            text = body["body"]
            comment.update(body=text, updated_at=_now(), html_url=self._write(comment["file"], text))
        return comment

    def _delete_comment(self, comment_id: str, **_: Any) -> None:
        with self._state() as state:
            comment = _find(state["comments"], id=int(comment_id))
            if comment is None:
                raise _missing(f"comment {comment_id}")
            state["comments"].remove(comment)
            (self.folder / comment["file"]).unlink(missing_ok=True)

    # Pull requests

    def _label(self, head: str) -> str:
        return head if ":" in head else f"{self.repository.split('/')[0]}:{head}"

    def _list_pulls(self, params: Json, **_: Any) -> list[Json]:
        state, head, base = params.get("state", "open"), params.get("head"), params.get("base")
        return [
            p
            for p in reversed(self._read()["pulls"])
            if state in ("all", p["state"])
            and head in (None, p["head"]["label"])
            and base in (None, p["base"]["ref"])
        ]

    def _create_pull(self, body: Json, **_: Any) -> Json:
        label, base = self._label(body["head"]), body["base"]
        with self._state() as state:
            if any(
                p["state"] == "open" and p["head"]["label"] == label and p["base"]["ref"] == base
                for p in state["pulls"]
            ):
                raise _refused(f"a pull request already exists for {label}")
            pull: Json = {
                "id": self._next(state, "next_id"),
                "number": self._next(state, "next_number"),
                "state": "open",
                "title": body["title"],
                "body": body.get("body"),
                "draft": bool(body.get("draft")),
                "head": {"ref": label.split(":", 1)[1], "label": label},
                "base": {"ref": base},
                "user": BOT,
                "labels": [],
                "requested_reviewers": [],
                "assignees": [],
                "created_at": _now(),
            }
            state["pulls"].append(self._save_pull(pull))
        return pull

    def _save_pull(self, pull: Json) -> Json:
        stem = f"pull-request-{_slug(pull['head']['ref'])}"
        self._write(f"{stem}.md", f"# {pull['title']}\n\n{pull['body'] or ''}\n")
        pull["html_url"] = self._write(f"{stem}.json", pull)
        return pull

    def _edit_pull(self, number: str, changes: Json) -> Json:
        with self._state() as state:
            pull = _find(state["pulls"], number=int(number))
            if pull is None:
                raise _missing(f"pull request #{number}")
            for key, value in changes.items():
                if key in _NAMED:  # GitHub's shapes: labels [{"name"}], people [{"login"}]
                    known = {item[_NAMED[key]] for item in pull[key]}
                    value = pull[key] + [{_NAMED[key]: v} for v in value if v not in known]
                pull[key] = {**pull["base"], "ref": value} if key == "base" else value
            self._save_pull(pull)
        return pull

    def _get_pull(self, number: str, **_: Any) -> Json:
        pull = _find(self._read()["pulls"], number=int(number))
        if pull is None:
            raise _missing(f"pull request #{number}")
        return pull

    def _update_pull(self, number: str, body: Json, **_: Any) -> Json:
        return self._edit_pull(number, body)

    def _add_labels(self, number: str, body: Json, **_: Any) -> list[Json]:
        labels: list[Json] = self._edit_pull(number, {"labels": body["labels"]})["labels"]
        return labels

    def _request_reviewers(self, number: str, body: Json, **_: Any) -> Json:
        return self._edit_pull(number, {"requested_reviewers": body["reviewers"]})

    def _add_assignees(self, number: str, body: Json, **_: Any) -> Json:
        return self._edit_pull(number, {"assignees": body["assignees"]})

    # Git refs

    def _get_ref(self, ref: str, **_: Any) -> Json:
        full = f"refs/{ref}"
        sha = self._read()["refs"].get(full)
        if sha is None:
            raise _missing(f"ref {full}")
        return {"ref": full, "object": {"sha": sha, "type": "commit"}}

    def _create_ref(self, body: Json, **_: Any) -> Json:
        full, sha = body["ref"], body["sha"]
        with self._state() as state:
            if full in state["refs"]:
                raise _refused(f"Reference already exists: {full}")
            state["refs"][full] = sha
        return {"ref": full, "object": {"sha": sha, "type": "commit"}}

    def _update_ref(self, ref: str, body: Json, **_: Any) -> Json:
        full = f"refs/{ref}"
        with self._state() as state:
            if full not in state["refs"]:
                raise _refused(f"Reference does not exist: {full}")
            state["refs"][full] = body["sha"]
        return {"ref": full, "object": {"sha": body["sha"], "type": "commit"}}

    # Checks and statuses

    def _create_check_run(self, body: Json, **_: Any) -> Json:
        output = body.get("output") or {}
        name = str(body["name"])
        with self._state() as state:
            run: Json = {"id": self._next(state, "next_id"), **body, "file": f"check-run-{_slug(name)}.json"}
            run["output"] = {"text": None, "annotations": [], **output}
            run.setdefault("conclusion", None)
            run.setdefault("details_url", None)
            text = f"# {output.get('title', '')}\n\n{output.get('summary', '')}\n\n{output.get('text') or ''}"
            self._write(f"check-run-{_slug(name)}.md", text.rstrip() + "\n")
            run["html_url"] = self._write(run["file"], run)
            state["check_runs"].append(run)
        return run

    def _update_check_run(self, run_id: str, body: Json, **_: Any) -> Json:
        with self._state() as state:
            run = _find(state["check_runs"], id=int(run_id))
            if run is None:
                raise _missing(f"check run {run_id}")
            fields = dict(body)
            output = dict(fields.pop("output", {}))
            run["output"]["annotations"] += output.pop("annotations", [])
            run["output"].update(output)
            run.update(fields)
            self._write(run["file"], run)
        return run

    def _create_status(self, sha: str, body: Json, **_: Any) -> Json:
        status: Json = {"sha": sha, "target_url": None, **body}
        with self._state() as saved:
            status["id"] = self._next(saved, "next_id")
            status["url"] = self._write(f"status-{_slug(str(body['context']))}.json", status)
            saved["statuses"].append(status)
        return status

    # Deployments

    def _list_deployments(self, params: Json, **_: Any) -> list[Json]:
        filters = {k: v for k, v in params.items() if k in ("environment", "sha", "ref")}
        return [d for d in self._read()["deployments"] if all(d.get(k) == v for k, v in filters.items())]

    def _create_deployment(self, body: Json, **_: Any) -> Json:
        environment = str(body["environment"])
        with self._state() as state:
            deployment_id = self._next(state, "next_id")
            deployment: Json = {"id": deployment_id, "sha": body["ref"], **body, "statuses": []}
            deployment.setdefault("production_environment", None)
            deployment["created_at"] = _now()
            deployment["file"] = f"deployment-{_slug(environment)}-{deployment_id}.json"
            deployment["url"] = self._write(deployment["file"], deployment)
            state["deployments"].insert(0, deployment)  # GitHub lists the newest first
        return deployment

    def _deployment(self, state: Json, deployment_id: str) -> Json:
        deployment = _find(state["deployments"], id=int(deployment_id))
        if deployment is None:
            raise _missing(f"deployment {deployment_id}")
        return deployment

    def _list_deployment_statuses(self, deployment_id: str, **_: Any) -> list[Json]:
        return list(self._deployment(self._read(), deployment_id)["statuses"])

    def _create_deployment_status(self, deployment_id: str, body: Json, **_: Any) -> Json:
        with self._state() as saved:
            deployment = self._deployment(saved, deployment_id)
            status: Json = {"id": self._next(saved, "next_id"), "log_url": None, "environment_url": None}
            status.update(body, created_at=_now())
            deployment["statuses"].insert(0, status)  # newest first, as GitHub lists them
            self._write(deployment["file"], deployment)
        return status

    # Releases and workflows

    def _create_release(self, body: Json, **_: Any) -> Json:
        tag = str(body["tag_name"])
        with self._state() as state:
            if any(r["tag_name"] == tag for r in state["releases"]):
                raise _refused(f"a release for tag {tag} already exists")
            release: Json = {"id": self._next(state, "next_id"), **body, "assets": [], "created_at": _now()}
            release["html_url"] = self._write(
                f"release-{_slug(tag)}.md", f"# {body['name']}\n\n{body['body']}\n"
            )
            release["upload_url"] = f"outbox:release-assets/{release['id']}{{?name,label}}"
            state["releases"].append(release)
        return release

    def _release_by_tag(self, tag: str, **_: Any) -> Json:
        release = _find(self._read()["releases"], tag_name=tag, draft=False)
        if release is None:
            raise _missing(f"release for tag {tag}")
        return release

    def _upload_asset(self, release_id: str, params: Json, data: bytes | None, **_: Any) -> Json:
        with self._state() as state:
            release = _find(state["releases"], id=int(release_id))
            if release is None:
                raise _missing(f"release {release_id}")
            target = self.folder / f"release-{_slug(release['tag_name'])}-assets" / str(params["name"])
            write_bytes_atomic(target, data or b"")
            asset: Json = {
                "name": target.name,
                "size": target.stat().st_size,
                "browser_download_url": str(target),
            }
            release["assets"].append(asset)
        return asset

    def _dispatch(self, workflow: str, body: Json, **_: Any) -> None:
        with self._state() as state:
            number = self._next(state, "next_id")
            dispatch: Json = {"workflow": workflow, "ref": body["ref"], "inputs": body.get("inputs") or {}}
            self._write(f"dispatch-{_slug(workflow)}-{number}.json", dispatch)
            state["dispatches"].append(dispatch)
