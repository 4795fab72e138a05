"""A stateful fake of the GitHub REST API, served over real HTTP on loopback, for tests.

It mimics GitHub Enterprise paths (`/api/v3/...`, uploads under `/api/uploads/...`), answers with GitHub's
status codes, bodies and headers, records every request, and can inject faults per route and per call:

    fake.fail("POST", r"/issues/\\d+/comments$", status=502)      # the next matching call gets a 502
    fake.fail("POST", r"/comments$", after=True)                 # the write lands, then the 502 comes
    fake.secondary_limit("GET", r"/comments", retry_after=7)     # 403 + retry-after: 7
    fake.primary_limit("GET", r"/pulls", reset_in=20)            # 403 + x-ratelimit-remaining: 0
    fake.slow("GET", r"/pulls", delay=1.0) / fake.drop(...)      # slower than the timeout / no response
    fake.answer("GET", r"/pulls", status=200, raw=b"<html>")      # a hostile body (an HTML page, a list)
    fake.read_only = True                                        # every write: 403 not accessible
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

TOKEN = "ghs_FakeInstallationToken0123456789abcdef"
LOGIN = "github-actions[bot]"
DOCS = "https://docs.github.com/rest"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
NOT_ACCESSIBLE = "Resource not accessible by integration"
MAIN_SHA = "a" * 40
Json = dict[str, Any]


def _documented(method: str, path: str, status: int, body: Any) -> Any:
    """The answer with every field GitHub documents for it (tests/testing/openapi.py), when GitHub's
    description is installed; the fake's own state is never changed by it."""
    from tests.testing.openapi import SPEC, github_api

    return github_api().complete(method, path, status, body) if SPEC.exists() else body


@dataclass
class Recorded:
    """One request as the server saw it; the token in `authorization` is replaced by `***`."""

    method: str
    path: str  # without /api/v3 and without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    target: str = ""  # the request target as sent, e.g. /api/v3/repos/o/r/pulls?state=open
    status: int = 0  # 0: no response was sent (dropped connection)
    response: bytes = b""  # the body the fake answered with
    fault: bool = False  # answered by an injected fault, not by the fake's GitHub behaviour

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    method: str
    path: str  # regex, searched in the request path
    kind: str  # "status" | "drop" | "slow" | "answer"
    status: int = 500
    message: str = "Server Error"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes = b""  # kind "answer": the body sent as is
    after: bool = False  # act on the request first, then fail (the client cannot know it landed)
    skip: int = 0  # matching calls to let through before the first fault
    times: int | None = 1  # faulty calls; None: every call
    seen: int = 0
    hits: int = 0

    def take(self, method: str, path: str) -> bool:
        if self.method not in ("*", method) or not re.search(self.path, path):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.hits >= self.times):
            return False
        self.hits += 1
        return True


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (an artifact's zip)


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    raw: bytes
    headers: dict[str, str]
    args: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, errors: list[Json] | None = None) -> Reply:
    body: Json = {"message": message, "documentation_url": DOCS}
    if errors is not None:
        body["errors"] = errors
    return Reply(status, body)


def _invalid(*errors: Json) -> Reply:
    return _error(422, "Validation Failed", list(errors))


NOT_FOUND = _error(404, "Not Found")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# (method, regex relative to /repos/{owner}/{repo}, handler method name)
ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"", "get_repo"),
    ("GET", r"/issues/(?P<number>\d+)/comments", "list_comments"),
    ("POST", r"/issues/(?P<number>\d+)/comments", "create_comment"),
    ("GET", r"/issues/comments/(?P<id>\d+)", "get_comment"),
    ("PATCH", r"/issues/comments/(?P<id>\d+)", "update_comment"),
    ("DELETE", r"/issues/comments/(?P<id>\d+)", "delete_comment"),
    ("GET", r"/pulls", "list_pulls"),
    ("POST", r"/pulls", "create_pull"),
    ("GET", r"/pulls/(?P<number>\d+)", "get_pull"),
    ("PATCH", r"/pulls/(?P<number>\d+)", "update_pull"),
    ("GET", r"/issues/(?P<number>\d+)/labels", "list_labels"),
    ("POST", r"/issues/(?P<number>\d+)/labels", "add_labels"),
    ("POST", r"/pulls/(?P<number>\d+)/requested_reviewers", "request_reviewers"),
    ("POST", r"/issues/(?P<number>\d+)/assignees", "add_assignees"),
    ("GET", r"/git/ref/(?P<ref>.+)", "get_ref"),
    ("POST", r"/git/refs", "create_ref"),
    ("PATCH", r"/git/refs/(?P<ref>.+)", "update_ref"),
    ("POST", r"/check-runs", "create_check_run"),
    ("GET", r"/check-runs/(?P<id>\d+)", "get_check_run"),
    ("PATCH", r"/check-runs/(?P<id>\d+)", "update_check_run"),
    ("POST", r"/statuses/(?P<sha>[^/]+)", "create_status"),
    ("GET", r"/commits/(?P<sha>[^/]+)/statuses", "list_statuses"),
    ("GET", r"/deployments", "list_deployments"),
    ("POST", r"/deployments", "create_deployment"),
    ("GET", r"/deployments/(?P<id>\d+)/statuses", "list_deployment_statuses"),
    ("POST", r"/deployments/(?P<id>\d+)/statuses", "create_deployment_status"),
    ("GET", r"/releases", "list_releases"),
    ("POST", r"/releases", "create_release"),
    ("GET", r"/releases/tags/(?P<tag>.+)", "get_release_by_tag"),
    ("GET", r"/releases/(?P<id>\d+)", "get_release"),
    ("UPLOAD", r"/releases/(?P<id>\d+)/assets", "upload_asset"),
    ("POST", r"/actions/workflows/(?P<workflow>[^/]+)/dispatches", "dispatch_workflow"),
    ("GET", r"/actions/runs/(?P<run>\d+)/artifacts", "list_artifacts"),
    ("GET", r"/actions/artifacts/(?P<id>\d+)/zip", "download_artifact"),
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    timeout = 10  # an idle keep-alive connection frees its thread after this
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the 40 ms delayed-ACK stall

    def _serve(self) -> None:
        self.server.fake.handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeGitHub:
    def __init__(self, repository: str = "octo-org/models", token: str = TOKEN, login: str = LOGIN) -> None:
        self.repository = repository
        self.token = token
        self.login = login
        self.read_only = False
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.comments: dict[int, list[Json]] = {}  # issue number → comments, oldest first
        self.pulls: list[Json] = []
        self.labels: dict[int, list[str]] = {}
        self.refs: dict[str, str] = {"refs/heads/main": MAIN_SHA}
        self.commits: dict[str, list[str]] = {}  # sha → parents, for fast-forward checks (tests fill it)
        self.check_runs: dict[int, Json] = {}
        self.annotations: dict[int, list[Json]] = {}
        self.statuses: dict[str, list[Json]] = {}  # sha → statuses, newest first
        self.deployments: list[Json] = []  # newest first
        self.deployment_statuses: dict[int, list[Json]] = {}  # newest first
        self.releases: list[Json] = []
        self.latest_release_id: int | None = None  # the repository's "Latest release"
        self.assets: dict[tuple[int, str], bytes] = {}
        self.dispatches: list[Json] = []
        # Artifacts the workflow runs uploaded (tests/actions/upload-artifact): <folder>/<run id>/<name>/
        self.artifacts_dir: Path | None = None
        self._lock = threading.RLock()
        self._ids = 1000
        self._numbers = 0
        self._server: ThreadingHTTPServer | None = None

    # Life cycle

    def start(self) -> FakeGitHub:
        from tests.testing.openapi import SPEC, github_api

        if SPEC.exists():
            github_api()  # loaded before the first answer, which completes from it (`_documented`)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False  # do not wait for idle keep-alive connections on close
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        # A short poll interval: shutdown() waits for it, once per test.
        serve = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True, name="fake-github")
        serve.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        assert self._server, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The API base URL, as on GitHub Enterprise Server."""
        return f"{self.origin}/api/v3"

    # Fault injection

    def inject(self, method: str = "*", path: str = "", *, nth: int | None = None, **fault: Any) -> Fault:
        """Add a fault; `nth=N` hits only the Nth matching call, `times=K` the next K (None: all)."""
        if nth is not None:
            fault.update(skip=nth - 1, times=1)
        made = Fault(method.upper(), path, **fault)
        with self._lock:
            self.faults.append(made)
        return made

    def fail(self, method: str = "*", path: str = "", status: int = 502, **kw: Any) -> Fault:
        return self.inject(method, path, kind="status", status=status, message="Server Error", **kw)

    def secondary_limit(
        self,
        method: str = "*",
        path: str = "",
        *,
        status: int = 403,
        retry_after: int | None = None,
        **kw: Any,
    ) -> Fault:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        return self.inject(
            method, path, kind="status", status=status, message=SECONDARY_MESSAGE, headers=headers, **kw
        )

    def primary_limit(self, method: str = "*", path: str = "", *, reset_in: float = 30, **kw: Any) -> Fault:
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time() + reset_in))}
        message = "API rate limit exceeded for installation ID 4242."
        return self.inject(method, path, kind="status", status=403, message=message, headers=headers, **kw)

    def slow(self, method: str = "*", path: str = "", *, delay: float = 1.0, **kw: Any) -> Fault:
        return self.inject(method, path, kind="slow", delay=min(delay, 5.0), **kw)

    def answer(
        self,
        method: str = "*",
        path: str = "",
        *,
        status: int = 200,
        raw: bytes,
        content_type: str = "",
        **kw: Any,
    ) -> Fault:
        """Answer with `raw` as the body (an HTML page, JSON of the wrong shape) instead of GitHub's."""
        kind = content_type or (
            "text/html" if raw.lstrip()[:1] == b"<" else "application/json; charset=utf-8"
        )
        return self.inject(
            method, path, kind="answer", status=status, raw=raw, headers={"content-type": kind}, **kw
        )

    def drop(self, method: str = "*", path: str = "", **kw: Any) -> Fault:
        return self.inject(method, path, kind="drop", **kw)

    # Inspection and seeding

    def calls(self, method: str | None = None, path: str = "") -> list[Recorded]:
        return [r for r in self.requests if method in (None, r.method) and re.search(path, r.path)]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def add_comment(self, number: int, body: str, login: str = "octocat") -> Json:
        """Seed a comment, by default from someone else than the token's owner."""
        with self._lock:
            return self._new_comment(number, body, login)

    def asset(self, release_id: int, name: str) -> bytes:
        return self.assets[(release_id, name)]

    # Request handling

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        split = urlsplit(h.path)
        path = re.sub(r"^/api/(v3/)?", "/", split.path)
        headers = {k.lower(): v.replace(self.token, "***") for k, v in h.headers.items()}
        record = Recorded(h.command, path, dict(parse_qsl(split.query)), headers, raw, h.path)
        with self._lock:
            self.requests.append(record)
            fault = next((f for f in self.faults if f.take(h.command, path)), None)
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault and fault.kind != "slow" and not fault.after:
            return self._send_fault(h, fault, record)
        with self._lock:
            reply = self._dispatch(h.command, path, record)
        if fault and fault.after:
            return self._send_fault(h, fault, record)
        self._send(h, reply, record)

    def _send_fault(self, h: BaseHTTPRequestHandler, fault: Fault, record: Recorded) -> None:
        record.fault = True
        if fault.kind == "drop":
            h.close_connection = True  # close the socket without a response
            return
        reply = (
            Reply(fault.status, raw=fault.raw)
            if fault.kind == "answer"
            else _error(fault.status, fault.message)
        )
        reply.headers.update(fault.headers)
        self._send(h, reply, record)

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply, record: Recorded) -> None:
        answer = reply.body
        if answer is not None and reply.raw is None and not record.fault and reply.status < 400:
            answer = _documented(h.command, record.path, reply.status, json.loads(json.dumps(answer)))
        body = reply.raw if reply.raw is not None else b"" if answer is None else json.dumps(answer).encode()
        used = len(self.requests)
        headers = {
            "x-github-request-id": f"FAKE:{used:06d}",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
            "content-length": str(len(body)),
        }
        if body:
            headers["content-type"] = (
                "application/zip" if reply.raw is not None else "application/json; charset=utf-8"
            )
        headers.update(reply.headers)
        record.status = reply.status
        record.response = body
        try:
            h.send_response(reply.status)
            for name, value in headers.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer

    def _dispatch(self, method: str, path: str, record: Recorded) -> Reply:
        blob = re.fullmatch(r"/_blob/artifacts/(\d+)\.zip", path)
        if blob and method == "GET":  # the storage an artifact download redirects to: its URL is the key
            return self._artifact_zip(int(blob.group(1)))
        auth = record.headers.get("authorization", "")
        if auth not in ("Bearer ***", "token ***"):
            return _error(401, "Bad credentials")
        if self.read_only and method != "GET":
            return _error(403, NOT_ACCESSIBLE)
        if method == "GET" and path == "/user":
            # as GitHub: an Actions or App installation token has no user to show
            if self.login.endswith("[bot]"):
                return _error(403, NOT_ACCESSIBLE)
            return Reply(200, self._user())
        found = re.fullmatch(r"(?P<up>/uploads)?/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)(?P<rest>/.*)?", path)
        if not found or f"{found['owner']}/{found['repo']}".lower() != self.repository.lower():
            return NOT_FOUND
        route_method = "UPLOAD" if found["up"] and method == "POST" else method
        for want, pattern, name in ROUTES:
            match = re.fullmatch(pattern, found["rest"] or "")
            if match and want == route_method:
                try:
                    body = json.loads(record.body) if record.body and route_method != "UPLOAD" else None
                except ValueError:
                    return _error(400, "Problems parsing JSON")
                args = {k: unquote(v) for k, v in match.groupdict().items()}
                req = Req(method, path, record.query, body or {}, record.body, record.headers, args)
                reply: Reply = getattr(self, f"_{name}")(req)
                return reply
        return NOT_FOUND

    # Helpers for handlers

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _user(self, login: str | None = None) -> Json:
        login = login or self.login
        return {"login": login, "id": 41898282, "type": "Bot" if login.endswith("[bot]") else "User"}

    def _html(self, tail: str) -> str:
        return f"{self.origin}/{self.repository}/{tail}"

    def _page(self, req: Req, items: list[Json]) -> Reply:
        """One page of `items`, with GitHub's `link` header (first/prev/next/last)."""
        per_page = min(int(req.query.get("per_page", 30)), 100)
        page = max(int(req.query.get("page", 1)), 1)
        last = max(1, -(-len(items) // per_page))
        links = {"first": 1, "prev": page - 1, "next": page + 1, "last": last}
        parts = [
            f'<{self.url}{req.path}?{urlencode({**req.query, "page": n})}>; rel="{rel}"'
            for rel, n in links.items()
            if 1 <= n <= last and n != page
        ]
        headers = {"link": ", ".join(parts)} if parts else {}
        return Reply(200, items[(page - 1) * per_page : page * per_page], headers)

    def _new_comment(self, number: int, body: str, login: str | None = None) -> Json:
        comment_id = self._id()
        comment = {
            "id": comment_id,
            "html_url": self._html(f"pull/{number}#issuecomment-{comment_id}"),
            "issue_url": f"{self.url}/repos/{self.repository}/issues/{number}",
            "body": body,
            "user": self._user(login),
            "created_at": _now(),
            "updated_at": _now(),
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _find_comment(self, comment_id: int) -> Json | None:
        return next((c for cs in self.comments.values() for c in cs if c["id"] == comment_id), None)

    def _find_pull(self, number: int) -> Json | None:
        return next((p for p in self.pulls if p["number"] == number), None)

    # Handlers: repository and comments

    def _get_repo(self, req: Req) -> Reply:
        owner, name = self.repository.split("/")
        return Reply(
            200,
            {
                "id": 1296269,
                "name": name,
                "full_name": self.repository,
                "owner": {"login": owner, "type": "Organization"},
                "private": False,
                "default_branch": "main",
                "html_url": self._html("").rstrip("/"),
            },
        )

    def _list_comments(self, req: Req) -> Reply:
        return self._page(req, self.comments.get(int(req.args["number"]), []))

    def _create_comment(self, req: Req) -> Reply:
        if not req.body.get("body"):
            return _invalid({"resource": "IssueComment", "field": "body", "code": "missing_field"})
        if len(req.body["body"]) > 65536:
            return _invalid({"resource": "IssueComment", "code": "custom", "message": "Body is too long"})
        return Reply(201, self._new_comment(int(req.args["number"]), req.body["body"]))

    def _get_comment(self, req: Req) -> Reply:
        comment = self._find_comment(int(req.args["id"]))
        return Reply(200, comment) if comment else NOT_FOUND

    def _delete_comment(self, req: Req) -> Reply:
        comment = self._find_comment(int(req.args["id"]))
        if comment is None:
            return NOT_FOUND
        for comments in self.comments.values():
            if comment in comments:
                comments.remove(comment)
        return Reply(204, None)

    def _update_comment(self, req: Req) -> Reply:
        comment = self._find_comment(int(req.args["id"]))
        if comment is None:
            return NOT_FOUND
        if len(req.body.get("body", "")) > 65536:
            return _invalid({"resource": "IssueComment", "code": "custom", "message": "Body is too long"})
        comment.update(body=req.body.get("body", ""), updated_at=_now())
        return Reply(200, comment)

    # Handlers: pull requests

    def _list_pulls(self, req: Req) -> Reply:
        state, head, base = req.query.get("state", "open"), req.query.get("head"), req.query.get("base")
        pulls = [
            p
            for p in reversed(self.pulls)
            if state in ("all", p["state"])
            and head in (None, p["head"].get("label"))
            and base in (None, p["base"]["ref"])
        ]
        # list items are GitHub's "pull-request-simple": no `merged` flag, only `merged_at`
        return self._page(req, [{k: v for k, v in p.items() if k != "merged"} for p in pulls])

    def _create_pull(self, req: Req) -> Reply:
        body, owner = req.body, self.repository.split("/")[0]
        missing = [key for key in ("title", "head", "base") if not body.get(key)]
        if missing:
            return _invalid(
                *({"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing)
            )
        label = body["head"] if ":" in body["head"] else f"{owner}:{body['head']}"
        if any(
            p["state"] == "open" and p["head"]["label"] == label and p["base"]["ref"] == body["base"]
            for p in self.pulls
        ):
            message = f"A pull request already exists for {label}."
            return _invalid({"resource": "PullRequest", "code": "custom", "message": message})
        self._numbers += 1
        branch = label.split(":", 1)[1]
        pull = {
            "id": self._id(),
            "number": self._numbers,
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "draft": bool(body.get("draft")),
            "merged": False,
            "merged_at": None,
            "head": {
                "ref": branch,
                "label": label,
                "sha": self.refs.get(f"refs/heads/{branch}", MAIN_SHA),
                "repo": {"full_name": f"{label.split(':', 1)[0]}/{self.repository.split('/', 1)[1]}"},
            },
            "base": {"ref": body["base"], "label": f"{owner}:{body['base']}"},
            "user": self._user(),
            "html_url": self._html(f"pull/{self._numbers}"),
            "labels": [],
            "requested_reviewers": [],
            "assignees": [],
            "created_at": _now(),
            "updated_at": _now(),
        }
        self.pulls.append(pull)
        return Reply(201, pull)

    def _get_pull(self, req: Req) -> Reply:
        pull = self._find_pull(int(req.args["number"]))
        return Reply(200, pull) if pull else NOT_FOUND

    def _update_pull(self, req: Req) -> Reply:
        pull = self._find_pull(int(req.args["number"]))
        if pull is None:
            return NOT_FOUND
        if req.body.get("state") not in (None, "open", "closed"):
            return _invalid({"resource": "PullRequest", "field": "state", "code": "invalid"})
        pull.update({k: v for k, v in req.body.items() if k in ("title", "body", "state", "draft")})
        if "base" in req.body:
            pull["base"]["ref"] = req.body["base"]
        pull["updated_at"] = _now()
        return Reply(200, pull)

    def _list_labels(self, req: Req) -> Reply:
        return self._page(req, [{"name": n} for n in self.labels.get(int(req.args["number"]), [])])

    def _add_labels(self, req: Req) -> Reply:
        number, new = int(req.args["number"]), req.body.get("labels", [])
        names = self.labels.setdefault(number, [])
        names.extend(n for n in new if n not in names)
        if pull := self._find_pull(number):
            pull["labels"] = [{"name": n} for n in names]
        return Reply(200, [{"name": n, "color": "ededed"} for n in names])

    def _request_reviewers(self, req: Req) -> Reply:
        pull = self._find_pull(int(req.args["number"]))
        if pull is None:
            return NOT_FOUND
        reviewers = req.body.get("reviewers", [])
        if pull["user"]["login"] in reviewers:
            message = "Review cannot be requested from pull request author."
            return _invalid({"resource": "PullRequest", "code": "custom", "message": message})
        known = {u["login"] for u in pull["requested_reviewers"]}
        pull["requested_reviewers"] += [self._user(r) for r in reviewers if r not in known]
        return Reply(201, pull)

    def _add_assignees(self, req: Req) -> Reply:
        number = int(req.args["number"])
        pull = self._find_pull(number)
        if pull is None:
            return NOT_FOUND
        known = {u["login"] for u in pull["assignees"]}
        pull["assignees"] += [self._user(a) for a in req.body.get("assignees", []) if a not in known]
        # GitHub answers with the issue behind the pull request, not the pull request
        issue = {
            k: pull[k] for k in ("id", "number", "state", "title", "body", "user", "labels", "assignees")
        }
        issue["html_url"] = pull["html_url"]
        issue["assignee"] = pull["assignees"][0] if pull["assignees"] else None
        issue["pull_request"] = {
            "url": f"{self.url}/repos/{self.repository}/pulls/{number}",
            "html_url": pull["html_url"],
            "merged_at": pull.get("merged_at"),
        }
        return Reply(201, issue)

    # Handlers: git refs

    def _ref_json(self, ref: str) -> Json:
        return {
            "ref": ref,
            "url": f"{self.url}/repos/{self.repository}/git/{ref}",
            "object": {"sha": self.refs[ref], "type": "commit"},
        }

    def _get_ref(self, req: Req) -> Reply:
        ref = f"refs/{req.args['ref']}"
        return Reply(200, self._ref_json(ref)) if ref in self.refs else NOT_FOUND

    def _create_ref(self, req: Req) -> Reply:
        ref, sha = str(req.body.get("ref", "")), str(req.body.get("sha", ""))
        if not re.fullmatch(r"refs/[^/]+/.+", ref):
            return _error(422, f"{ref} is not a valid ref name.")
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            return _error(422, "Object does not exist")
        if ref in self.refs:
            return _error(422, "Reference already exists")
        self.refs[ref] = sha
        return Reply(201, self._ref_json(ref))

    def _update_ref(self, req: Req) -> Reply:
        ref = f"refs/{req.args['ref']}"
        if ref not in self.refs:
            return _error(422, "Reference does not exist")
        new = str(req.body.get("sha"))
        if not req.body.get("force") and not self._descends(new, self.refs[ref]):
            return _error(422, "Update is not a fast forward")
        self.refs[ref] = new
        return Reply(200, self._ref_json(ref))

    def _descends(self, sha: str, ancestor: str) -> bool:
        """`ancestor` is `sha` or one of its ancestors, by the history tests give (`commits`); a commit
        whose history the fake was not told is taken as a descendant (it cannot know better)."""
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current in seen:
                continue
            seen.add(current)
            if current not in self.commits and current == sha:
                return True
            todo.extend(self.commits.get(current, []))
        return False

    # Handlers: checks and statuses

    def _check_output(self, run_id: int, output: Json) -> Reply | None:
        new = output.get("annotations") or []
        if len(new) > 50:
            return _invalid(
                {"resource": "CheckRun", "code": "custom", "message": "at most 50 annotations per request"}
            )
        self.annotations.setdefault(run_id, []).extend(new)  # GitHub appends annotations on update
        run = self.check_runs[run_id]
        run["output"].update({k: output[k] for k in ("title", "summary", "text") if k in output})
        run["output"]["annotations_count"] = len(self.annotations[run_id])
        return None

    def _create_check_run(self, req: Req) -> Reply:
        body = req.body
        missing = [k for k in ("name", "head_sha") if not body.get(k)]
        if missing:
            return _invalid(*({"resource": "CheckRun", "field": k, "code": "missing_field"} for k in missing))
        if body.get("status", "queued") == "completed" and not body.get("conclusion"):
            return _invalid({"resource": "CheckRun", "field": "conclusion", "code": "missing_field"})
        run_id = self._id()
        keys = ("name", "head_sha", "status", "conclusion", "details_url")
        self.check_runs[run_id] = {"id": run_id, **{k: body.get(k) for k in keys}, "output": {}}
        self.check_runs[run_id]["html_url"] = self._html(f"runs/{run_id}")
        error = self._check_output(run_id, body.get("output") or {})
        if error:
            del self.check_runs[run_id]
            return error
        return Reply(201, self.check_runs[run_id])

    def _get_check_run(self, req: Req) -> Reply:
        run = self.check_runs.get(int(req.args["id"]))
        return Reply(200, run) if run else NOT_FOUND

    def _update_check_run(self, req: Req) -> Reply:
        run_id = int(req.args["id"])
        if run_id not in self.check_runs:
            return NOT_FOUND
        error = self._check_output(run_id, req.body.get("output") or {})
        if error:
            return error
        self.check_runs[run_id].update(
            {k: v for k, v in req.body.items() if k in ("name", "status", "conclusion")}
        )
        return Reply(200, self.check_runs[run_id])

    def _create_status(self, req: Req) -> Reply:
        state = req.body.get("state")
        if state not in ("error", "failure", "pending", "success"):
            return _invalid(
                {"resource": "Status", "field": "state", "code": "custom", "message": "State is invalid"}
            )
        status = {"id": self._id(), "creator": self._user(), "created_at": _now(), "state": state}
        status.update({k: req.body.get(k) for k in ("context", "description", "target_url")})
        status["context"] = status["context"] or "default"
        self.statuses.setdefault(req.args["sha"], []).insert(0, status)
        return Reply(201, status)

    def _list_statuses(self, req: Req) -> Reply:
        return self._page(req, self.statuses.get(req.args["sha"], []))

    # Handlers: deployments

    def _resolve(self, ref: str) -> str:
        if re.fullmatch(r"[0-9a-f]{40}", ref):
            return ref
        for full in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if full in self.refs:
                return self.refs[full]
        return hashlib.sha1(ref.encode()).hexdigest()  # the fake cannot see git pushes: invent a commit

    def _list_deployments(self, req: Req) -> Reply:
        filters = {k: req.query[k] for k in ("environment", "sha", "ref") if k in req.query}
        return self._page(req, [d for d in self.deployments if all(d[k] == v for k, v in filters.items())])

    def _create_deployment(self, req: Req) -> Reply:
        body = req.body
        if not body.get("ref"):
            return _invalid({"resource": "Deployment", "field": "ref", "code": "missing_field"})
        environment = body.get("environment") or "production"
        deployment_id = self._id()
        deployment = {
            "id": deployment_id,
            "sha": self._resolve(body["ref"]),
            "ref": body["ref"],
            "task": body.get("task", "deploy"),
            "payload": body.get("payload") or {},
            "environment": environment,
            "original_environment": environment,
            "description": body.get("description"),
            "production_environment": body.get("production_environment", environment == "production"),
            "transient_environment": False,
            "creator": self._user(),
            "created_at": _now(),
            "updated_at": _now(),
            "statuses_url": f"{self.url}/repos/{self.repository}/deployments/{deployment_id}/statuses",
        }
        self.deployments.insert(0, deployment)
        self.deployment_statuses[deployment_id] = []
        return Reply(201, deployment)

    def _create_deployment_status(self, req: Req) -> Reply:
        deployment_id = int(req.args["id"])
        if deployment_id not in self.deployment_statuses:
            return NOT_FOUND
        states = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
        if req.body.get("state") not in states:
            return _invalid({"resource": "DeploymentStatus", "field": "state", "code": "invalid"})
        deployment = next(d for d in self.deployments if d["id"] == deployment_id)
        status = {"id": self._id(), "creator": self._user(), "created_at": _now()}
        status.update(
            {k: req.body.get(k, "") for k in ("state", "description", "log_url", "environment_url")}
        )
        status.update(target_url=status["log_url"], environment=deployment["environment"])
        self.deployment_statuses[deployment_id].insert(0, status)
        return Reply(201, status)

    def _list_deployment_statuses(self, req: Req) -> Reply:
        statuses = self.deployment_statuses.get(int(req.args["id"]))
        return NOT_FOUND if statuses is None else self._page(req, statuses)

    # Handlers: releases and workflows

    def _list_releases(self, req: Req) -> Reply:
        return self._page(req, list(reversed(self.releases)))

    def _create_release(self, req: Req) -> Reply:
        tag = req.body.get("tag_name")
        if not tag:
            return _invalid({"resource": "Release", "field": "tag_name", "code": "missing_field"})
        if any(r["tag_name"] == tag for r in self.releases):
            return _invalid({"resource": "Release", "field": "tag_name", "code": "already_exists"})
        release_id, draft = self._id(), bool(req.body.get("draft"))
        uploads = f"{self.origin}/api/uploads/repos/{self.repository}"  # GitHub's separate uploads host
        release = {
            "id": release_id,
            "tag_name": tag,
            "name": req.body.get("name") or tag,
            "body": req.body.get("body"),
            "draft": draft,
            "prerelease": bool(req.body.get("prerelease")),
            "target_commitish": req.body.get("target_commitish") or "main",
            "html_url": self._html(f"releases/tag/{tag}"),
            "upload_url": f"{uploads}/releases/{release_id}/assets{{?name,label}}",
            "assets": [],
            "author": self._user(),
            "created_at": _now(),
            "published_at": None if draft else _now(),
        }
        self.releases.append(release)
        make_latest = str(req.body.get("make_latest", "true"))
        if make_latest not in ("true", "false", "legacy"):
            return _invalid({"resource": "Release", "field": "make_latest", "code": "invalid"})
        if make_latest != "false" and not draft and not release["prerelease"]:
            self.latest_release_id = release_id  # GitHub's default: the newest release becomes "Latest"
        if not draft:  # publishing a release creates its tag when it is missing
            self.refs.setdefault(f"refs/tags/{tag}", self.refs["refs/heads/main"])
        return Reply(201, release)

    def _get_release_by_tag(self, req: Req) -> Reply:
        release = next(
            (r for r in self.releases if r["tag_name"] == req.args["tag"] and not r["draft"]), None
        )
        return Reply(200, release) if release else NOT_FOUND

    def _get_release(self, req: Req) -> Reply:
        release = next((r for r in self.releases if r["id"] == int(req.args["id"])), None)
        return Reply(200, release) if release else NOT_FOUND

    # Handlers: Actions artifacts (what the upload-artifact stand-in stored under artifacts_dir)

    def _artifact_folders(self) -> list[Path]:
        if self.artifacts_dir is None or not self.artifacts_dir.is_dir():
            return []
        return sorted(
            p for run in self.artifacts_dir.iterdir() if run.is_dir() for p in run.iterdir() if p.is_dir()
        )

    def _artifact_json(self, index: int, folder: Path) -> Json:
        artifact_id = 9000 + index
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        return {
            "id": artifact_id,
            "name": folder.name,
            "size_in_bytes": size,
            "expired": False,
            "archive_download_url": f"{self.url}/repos/{self.repository}/actions/artifacts/{artifact_id}/zip",
            "workflow_run": {"id": int(folder.parent.name)},
            "created_at": _now(),
        }

    def _list_artifacts(self, req: Req) -> Reply:
        found = [
            self._artifact_json(i, folder)
            for i, folder in enumerate(self._artifact_folders())
            if folder.parent.name == req.args["run"]
        ]
        return Reply(200, {"total_count": len(found), "artifacts": found})

    def _download_artifact(self, req: Req) -> Reply:
        """As GitHub: 302 to a short-lived storage URL (here `/_blob/…` on this server) holding the zip."""
        index = int(req.args["id"]) - 9000
        if not 0 <= index < len(self._artifact_folders()):
            return NOT_FOUND
        return Reply(302, None, headers={"location": f"{self.url}/_blob/artifacts/{req.args['id']}.zip"})

    def _artifact_zip(self, artifact_id: int) -> Reply:
        folders = self._artifact_folders()
        index = artifact_id - 9000
        if not 0 <= index < len(folders):
            return NOT_FOUND
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in sorted(folders[index].rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folders[index]).as_posix())
        return Reply(200, raw=buffer.getvalue())

    def _upload_asset(self, req: Req) -> Reply:
        release = next((r for r in self.releases if r["id"] == int(req.args["id"])), None)
        name = req.query.get("name")
        if release is None:
            return NOT_FOUND
        if not name:
            return _invalid({"resource": "ReleaseAsset", "field": "name", "code": "missing_field"})
        if (release["id"], name) in self.assets:
            return _invalid({"resource": "ReleaseAsset", "field": "name", "code": "already_exists"})
        self.assets[(release["id"], name)] = req.raw
        asset = {
            "id": self._id(),
            "name": name,
            "label": req.query.get("label"),
            "content_type": req.headers.get("content-type", "application/octet-stream"),
            "size": len(req.raw),
            "state": "uploaded",
            "browser_download_url": self._html(f"releases/download/{release['tag_name']}/{name}"),
        }
        release["assets"].append(asset)
        return Reply(201, asset)

    def _dispatch_workflow(self, req: Req) -> Reply:
        if not req.body.get("ref"):
            return _invalid({"resource": "WorkflowDispatch", "field": "ref", "code": "missing_field"})
        self.dispatches.append(
            {"workflow": req.args["workflow"], "ref": req.body["ref"], "inputs": req.body.get("inputs") or {}}
        )
        return Reply(204)
