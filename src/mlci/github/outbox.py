"""Offline stand-in for the GitHub client: what would be posted is written as readable files.

Used when there is no token (a local run, a fork pull request). It keeps `state.json` so that it behaves
like GitHub across runs of the CLI: an upsert with the same body is "unchanged", a pull request created
earlier is listed again, numbers and ids keep increasing. Method names and return shapes follow
`mlci.github.client.GitHubClient`, including its errors where GitHub would refuse (a duplicate pull request,
ref or release).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from mlci.fsutil import write_bytes_atomic, write_text_atomic
from mlci.github.client import COMMENT_LIMIT, UpsertResult, find_marked, fit_text, with_marker
from mlci.github.errors import GitHubError, NotFound

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

_NAMED = {"labels": "name", "requested_reviewers": "login", "assignees": "login"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _find(items: list[Json], **where: Any) -> Json | None:
    found: Json | None = next((i for i in items if all(i[k] == v for k, v in where.items())), None)
    return found


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _refused(message: str) -> GitHubError:
    return GitHubError(f"outbox: {message}", status=422, hint="the same call would fail on GitHub")


class Outbox:
    def __init__(
        self, folder: Path | str, repository: str = "local/repo", *, run_url: str | None = None
    ) -> None:
        self.folder = Path(folder)
        self.repository = repository
        self.run_url = run_url
        self._state_path = self.folder / "state.json"

    def __repr__(self) -> str:
        return f"Outbox(folder={str(self.folder)!r}, repository={self.repository!r})"

    def describe(self) -> str:
        try:
            shown = os.path.relpath(self.folder)
        except ValueError:  # another drive on Windows
            shown = str(self.folder)
        return f"no GitHub token: writing to {shown}/ instead of posting"

    # State and files

    def _read(self) -> Json:
        """The state, re-read on every call: another Outbox (another CLI run) may have written since."""
        state: Json = json.loads(json.dumps(_EMPTY))
        if self._state_path.exists():
            state.update(json.loads(self._state_path.read_text(encoding="utf-8")))
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

    def get_repo(self) -> Json:
        owner, name = self.repository.split("/", 1)
        return {
            "full_name": self.repository,
            "name": name,
            "owner": {"login": owner},
            "default_branch": "main",
        }

    def list_issue_comments(self, number: int) -> list[Json]:
        return [c for c in self._read()["comments"] if c["issue"] == number]

    def create_issue_comment(self, number: int, body: str) -> Json:
        with self._state() as state:
            comment_id = self._next(state, "next_id")
            name = f"comment-pr{number}-{comment_id}.md"
            comment: Json = {
                "id": comment_id,
                "issue": number,
                "body": body,
                "file": name,
                "created_at": _now(),
            }
            comment["html_url"] = self._write(name, body)
            state["comments"].append(comment)
        return comment

    def update_issue_comment(self, comment_id: int, body: str) -> Json:
        with self._state() as state:
            comment = _find(state["comments"], id=comment_id)
            if comment is None:
                raise NotFound(f"outbox: no comment {comment_id}")
            comment.update(body=body, updated_at=_now(), html_url=self._write(comment["file"], body))
        return comment

    def upsert_comment(self, number: int, body: str, marker: str) -> UpsertResult:
        text = fit_text(with_marker(body, marker), COMMENT_LIMIT, self.run_url)
        existing = find_marked(self.list_issue_comments(number), marker)
        if existing is None:
            created = self.create_issue_comment(number, text)
            return UpsertResult("created", created["id"], created["html_url"])
        if existing["body"] == text:
            return UpsertResult("unchanged", existing["id"], existing["html_url"])
        updated = self.update_issue_comment(existing["id"], text)
        return UpsertResult("updated", updated["id"], updated["html_url"])

    # Pull requests

    def _label(self, head: str) -> str:
        return head if ":" in head else f"{self.repository.split('/')[0]}:{head}"

    def list_pulls(self, head: str | None = None, state: str = "open", base: str | None = None) -> list[Json]:
        return [
            p
            for p in reversed(self._read()["pulls"])
            if state in ("all", p["state"])
            and head in (None, p["head"]["label"])
            and base in (None, p["base"]["ref"])
        ]

    def create_pull(self, title: str, head: str, base: str, body: str, draft: bool = False) -> Json:
        label = self._label(head)
        with self._state() as state:
            if any(
                p["state"] == "open" and p["head"]["label"] == label and p["base"]["ref"] == base
                for p in state["pulls"]
            ):
                raise _refused(f"a pull request already exists for {label}")
            number = self._next(state, "next_number")
            pull: Json = {
                "id": self._next(state, "next_id"),
                "number": number,
                "state": "open",
                "title": title,
                "body": body,
                "draft": draft,
                "head": {"ref": label.split(":", 1)[1], "label": label},
                "base": {"ref": base},
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

    def _edit_pull(self, number: int, **changes: Any) -> Json:
        with self._state() as state:
            pull = _find(state["pulls"], number=number)
            if pull is None:
                raise NotFound(f"outbox: no pull request #{number}")
            for key, value in changes.items():
                if key in _NAMED:  # GitHub's shapes: labels [{"name"}], people [{"login"}]
                    known = {item[_NAMED[key]] for item in pull[key]}
                    value = pull[key] + [{_NAMED[key]: v} for v in value if v not in known]
                pull[key] = {**pull["base"], "ref": value} if key == "base" else value
            self._save_pull(pull)
        return pull

    def update_pull(self, number: int, **fields: Any) -> Json:
        return self._edit_pull(number, **fields)

    def get_pull(self, number: int) -> Json:
        pull = _find(self._read()["pulls"], number=number)
        if pull is None:
            raise NotFound(f"outbox: no pull request #{number}")
        return dict(pull)

    def add_labels(self, number: int, labels: list[str]) -> list[Json]:
        added: list[Json] = self._edit_pull(number, labels=labels)["labels"]
        return added

    def request_reviewers(self, number: int, reviewers: list[str]) -> Json:
        return self._edit_pull(number, requested_reviewers=reviewers)

    def add_assignees(self, number: int, assignees: list[str]) -> Json:
        return self._edit_pull(number, assignees=assignees)

    # Git refs

    def get_ref(self, ref: str) -> Json | None:
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        sha = self._read()["refs"].get(full)
        return None if sha is None else {"ref": full, "object": {"sha": sha, "type": "commit"}}

    def create_ref(self, ref: str, sha: str) -> Json:
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        with self._state() as state:
            if full in state["refs"]:
                raise _refused(f"reference already exists: {full}")
            state["refs"][full] = sha
        return {"ref": full, "object": {"sha": sha, "type": "commit"}}

    def update_ref(self, ref: str, sha: str, force: bool = False) -> Json:
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        with self._state() as state:
            if full not in state["refs"]:
                raise _refused(f"reference does not exist: {full}")
            state["refs"][full] = sha
        return {"ref": full, "object": {"sha": sha, "type": "commit"}}

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
        with self._state() as state:
            run: Json = {
                "id": self._next(state, "next_id"),
                "name": name,
                "head_sha": head_sha,
                "status": status,
            }
            run.update(conclusion=conclusion, details_url=details_url, file=f"check-run-{_slug(name)}.json")
            run["output"] = {
                "title": title,
                "summary": summary,
                "text": text,
                "annotations": annotations or [],
            }
            self._write(
                f"check-run-{_slug(name)}.md", f"# {title}\n\n{summary}\n\n{text or ''}".rstrip() + "\n"
            )
            run["html_url"] = self._write(run["file"], run)
            state["check_runs"].append(run)
        return run

    def update_check_run(self, check_run_id: int, **fields: Any) -> Json:
        with self._state() as state:
            run = _find(state["check_runs"], id=check_run_id)
            if run is None:
                raise NotFound(f"outbox: no check run {check_run_id}")
            output = fields.pop("output", {})
            run["output"]["annotations"] += output.pop("annotations", [])
            run["output"].update(output)
            run.update(fields)
            self._write(run["file"], run)
        return run

    def create_commit_status(
        self, sha: str, state: str, context: str, description: str, target_url: str | None = None
    ) -> Json:
        status: Json = {"sha": sha, "state": state, "context": context, "description": description[:140]}
        status["target_url"] = target_url
        with self._state() as saved:
            status["id"] = self._next(saved, "next_id")
            status["url"] = self._write(f"status-{_slug(context)}.json", status)
            saved["statuses"].append(status)
        return status

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
        with self._state() as state:
            deployment_id = self._next(state, "next_id")
            deployment: Json = {"id": deployment_id, "ref": ref, "sha": ref, "environment": environment}
            deployment.update(description=description, payload=payload or {}, statuses=[], created_at=_now())
            deployment["production_environment"] = production_environment
            deployment["file"] = f"deployment-{_slug(environment)}-{deployment_id}.json"
            deployment["url"] = self._write(deployment["file"], deployment)
            state["deployments"].insert(0, deployment)
        return deployment

    def list_deployments(
        self, environment: str | None = None, sha: str | None = None, ref: str | None = None
    ) -> list[Json]:
        filters = {k: v for k, v in (("environment", environment), ("sha", sha), ("ref", ref)) if v}
        return [d for d in self._read()["deployments"] if all(d[k] == v for k, v in filters.items())]

    def create_deployment_status(
        self,
        deployment_id: int,
        state: str,
        *,
        log_url: str | None = None,
        environment_url: str | None = None,
        description: str = "",
    ) -> Json:
        with self._state() as saved:
            deployment = _find(saved["deployments"], id=deployment_id)
            if deployment is None:
                raise NotFound(f"outbox: no deployment {deployment_id}")
            status: Json = {
                "id": self._next(saved, "next_id"),
                "state": state,
                "description": description[:140],
            }
            status.update(log_url=log_url, environment_url=environment_url, created_at=_now())
            deployment["statuses"].insert(0, status)
            self._write(deployment["file"], deployment)
        return status

    def list_deployment_statuses(self, deployment_id: int) -> list[Json]:
        deployment = _find(self._read()["deployments"], id=deployment_id)
        if deployment is None:
            raise NotFound(f"outbox: no deployment {deployment_id}")
        return list(deployment["statuses"])

    # Releases and workflows

    def create_release(
        self, tag: str, name: str, body: str, *, draft: bool = False, prerelease: bool = False
    ) -> Json:
        with self._state() as state:
            if any(r["tag_name"] == tag for r in state["releases"]):
                raise _refused(f"a release for tag {tag} already exists")
            release: Json = {"id": self._next(state, "next_id"), "tag_name": tag, "name": name, "body": body}
            release.update(draft=draft, prerelease=prerelease, assets=[], created_at=_now())
            release["html_url"] = self._write(f"release-{_slug(tag)}.md", f"# {name}\n\n{body}\n")
            release["upload_url"] = str(self.folder / f"release-{_slug(tag)}-assets")
            state["releases"].append(release)
        return release

    def get_release_by_tag(self, tag: str) -> Json | None:
        return _find(self._read()["releases"], tag_name=tag, draft=False)

    def upload_release_asset(
        self,
        release: Json,
        path: Path | str,
        name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> Json:
        source = Path(path)
        target = Path(release["upload_url"]) / (name or source.name)
        write_bytes_atomic(target, source.read_bytes())
        asset: Json = {"name": target.name, "size": target.stat().st_size, "content_type": content_type}
        asset["browser_download_url"] = str(target)
        with self._state() as state:
            stored = next(r for r in state["releases"] if r["id"] == release["id"])
            stored["assets"].append(asset)
        return asset

    def dispatch_workflow(self, workflow: str | int, ref: str, inputs: dict[str, str] | None = None) -> None:
        with self._state() as state:
            number = self._next(state, "next_id")
            dispatch: Json = {"workflow": workflow, "ref": ref, "inputs": inputs or {}}
            self._write(f"dispatch-{_slug(str(workflow))}-{number}.json", dispatch)
            state["dispatches"].append(dispatch)
