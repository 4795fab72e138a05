"""The GitHub client against the fake GitHub server: real HTTP, recorded sleeps instead of waiting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlci import __version__
from mlci.errors import MlciError
from mlci.github.client import (
    GitHubClient,
    GitHubError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from mlci.github.comments import upsert
from mlci.github.limits import COMMENT_LIMIT
from tests.testing.fake_github import FakeGitHub

MARKER = "<!-- mlci:report:default -->"
RUN_URL = "https://github.com/octo-org/models/actions/runs/42"
SHA = "b" * 40


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake_github: FakeGitHub, sleeps: list[float]) -> GitHubClient:
    return GitHubClient(
        fake_github.token,
        fake_github.repository,
        fake_github.url,
        timeout=0.3,
        sleep=sleeps.append,
        run_url=RUN_URL,
    )


def test_headers_and_enterprise_base_path(client: GitHubClient, fake_github: FakeGitHub) -> None:
    assert client.get_repo()["full_name"] == "octo-org/models"
    (request,) = fake_github.requests
    assert request.target == "/api/v3/repos/octo-org/models"
    assert request.headers["authorization"] == "Bearer ***"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == f"mlci/{__version__}"


def test_bad_token_is_a_clear_error(fake_github: FakeGitHub) -> None:
    client = GitHubClient(
        "ghs_wrong_token_123", fake_github.repository, fake_github.url, sleep=lambda s: None
    )
    with pytest.raises(GitHubError) as caught:
        client.get_repo()
    assert caught.value.status == 401 and "rejected the token" in str(caught.value)
    assert isinstance(caught.value, MlciError) and caught.value.exit_code == 2
    assert "ghs_wrong_token_123" not in str(caught.value)


def test_missing_resource_is_not_found(client: GitHubClient) -> None:
    with pytest.raises(NotFound):
        client.get_pull(999)
    assert client.get_ref("heads/nope") is None
    assert client.get_release_by_tag("v9") is None


# Comments and upsert


def test_pagination_past_100_finds_our_comment_on_page_3(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    for i in range(220):
        fake_github.add_comment(7, f"comment {i}")
    fake_github.add_comment(7, f"{MARKER}\nold report", login=fake_github.login)
    for i in range(29):
        fake_github.add_comment(7, f"late comment {i}")
    assert len(client.list_issue_comments(7)) == 250
    result = upsert(client, 7, "new report", MARKER)
    assert result.action == "updated"
    pages = [r.query.get("page", "1") for r in fake_github.calls("GET", r"/issues/7/comments")]
    assert pages == ["1", "2", "3"] * 2
    assert [r.method for r in fake_github.writes()] == ["PATCH"]
    comments = fake_github.comments[7]
    assert len(comments) == 250 and comments[220]["body"] == f"{MARKER}\nnew report"


def test_upsert_created_unchanged_updated(client: GitHubClient, fake_github: FakeGitHub) -> None:
    first = upsert(client, 3, "accuracy 0.91", MARKER)
    assert first.action == "created" and first.url.endswith(f"#issuecomment-{first.comment_id}")
    writes = len(fake_github.writes())
    second = upsert(client, 3, "accuracy 0.91", MARKER)
    assert (second.action, second.comment_id) == ("unchanged", first.comment_id)
    assert len(fake_github.writes()) == writes  # no write at all
    third = upsert(client, 3, "accuracy 0.93", MARKER)
    assert (third.action, third.comment_id) == ("updated", first.comment_id)
    (comment,) = fake_github.comments[3]
    assert comment["body"] == f"{MARKER}\naccuracy 0.93"
    assert comment["user"]["login"] == "github-actions[bot]"


def test_upsert_never_touches_comments_without_our_marker(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    others = [
        fake_github.add_comment(3, "LGTM"),
        fake_github.add_comment(3, f"> {MARKER}\n> quoted report\n\nnice"),
        fake_github.add_comment(3, "<!-- mlci:report:other -->\nanother report"),
        fake_github.add_comment(3, "<!-- mlci:report:default-2 -->\nyet another"),
    ]
    before = [dict(c) for c in others]
    assert upsert(client, 3, "mine", MARKER).action == "created"
    assert fake_github.comments[3][:4] == before
    assert len(fake_github.comments[3]) == 5


def test_long_body_is_cut_at_a_line_with_a_link_to_the_run(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    body = "\n".join(f"| metric {i} | {i / 7:.6f} |" for i in range(4000))
    assert len(body) > COMMENT_LIMIT
    assert upsert(client, 5, body, MARKER).action == "created"
    (comment,) = fake_github.comments[5]
    text = comment["body"]
    assert len(text) <= COMMENT_LIMIT and text.startswith(MARKER)
    assert f"[workflow run]({RUN_URL})" in text.splitlines()[-1]
    kept = text.split("\n\n---\n")[0].splitlines()
    assert kept[-1] in body.splitlines()  # whole lines only
    assert upsert(client, 5, body, MARKER).action == "unchanged"


def test_marker_must_be_one_html_comment(client: GitHubClient) -> None:
    with pytest.raises(ValueError, match="HTML comment"):
        upsert(client, 1, "x", "mlci:report")


# Retries and faults


@pytest.mark.parametrize("after", [False, True], ids=["rejected", "landed-then-502"])
def test_5xx_on_comment_create_makes_one_comment(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float], after: bool
) -> None:
    fake_github.fail("POST", r"/issues/\d+/comments$", status=502, after=after)
    result = upsert(client, 4, "report", MARKER)
    assert result.action == "created"
    assert len(fake_github.comments[4]) == 1
    assert sleeps == [1.0]


def test_dropped_connection_after_the_comment_landed_makes_no_duplicate(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.drop("POST", r"/issues/\d+/comments$", after=True)
    assert upsert(client, 4, "report", MARKER).action == "created"
    assert len(fake_github.comments[4]) == 1 and sleeps == [1.0]


def test_5xx_then_success_on_a_read(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.fail("GET", r"/pulls$", status=500, times=2)
    assert client.list_pulls() == []
    assert sleeps == [1.0, 2.0]


def test_bounded_retries_then_github_error(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.fail("GET", r"/pulls$", status=502, times=None)
    with pytest.raises(GitHubError) as caught:
        client.list_pulls()
    assert caught.value.status == 502 and "4 attempt" in str(caught.value)
    assert len(fake_github.calls("GET", r"/pulls$")) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_comment_create_keeps_failing(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.fail("POST", r"/comments$", status=500, times=None)
    with pytest.raises(GitHubError, match="after 4 attempts"):
        upsert(client, 4, "report", MARKER)
    assert len(fake_github.calls("POST")) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert 4 not in fake_github.comments


def test_retry_after_is_honoured(client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]) -> None:
    fake_github.secondary_limit("GET", r"/comments$", status=429, retry_after=7)
    assert client.list_issue_comments(1) == []
    assert sleeps == [7.0]


def test_primary_limit_within_max_wait_waits_for_the_reset(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.primary_limit("GET", r"/pulls$", reset_in=20)
    assert client.list_pulls() == []
    (slept,) = sleeps
    assert 18 <= slept <= 22


def test_primary_limit_beyond_max_wait_raises_at_once(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.primary_limit("GET", r"/pulls$", reset_in=3600, times=None)
    with pytest.raises(RateLimited) as caught:
        client.list_pulls()
    assert "resets at" in str(caught.value) and "UTC" in str(caught.value)
    assert caught.value.reset_at is not None
    assert sleeps == [] and len(fake_github.requests) == 1


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_without_headers_waits_a_minute(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float], status: int
) -> None:
    fake_github.secondary_limit("POST", r"/statuses/", status=status, times=2)
    client.create_commit_status(SHA, "success", "mlci/report", "all gates passed")
    assert sleeps == [60.0, 120.0]
    assert len(fake_github.statuses[SHA]) == 1


def test_secondary_limit_that_never_ends_raises_rate_limited(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.secondary_limit("GET", r"/pulls$", times=None)
    with pytest.raises(RateLimited):
        client.list_pulls()
    assert sum(sleeps) <= 300 and all(s >= 60 for s in sleeps)


def test_timeout_is_retried(client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]) -> None:
    fake_github.slow("GET", r"/pulls$", delay=1.0)
    assert client.list_pulls() == []
    assert sleeps == [1.0]


def test_dropped_connection_is_retried(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.drop("GET", r"/git/ref/")
    assert client.get_ref("heads/main") is not None
    assert sleeps == [1.0]


def test_unreachable_server(sleeps: list[float]) -> None:
    client = GitHubClient("ghs_x", "o/r", "http://127.0.0.1:9", sleep=sleeps.append, timeout=0.5)
    with pytest.raises(GitHubError) as caught:
        client.get_repo()
    assert caught.value.status is None and "connection failed" in str(caught.value)
    assert sleeps == [1.0, 2.0, 4.0]


# Permissions


def test_read_only_token_names_the_missing_permission(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.read_only = True
    with pytest.raises(PermissionDenied) as caught:
        upsert(client, 2, "report", MARKER)
    error = caught.value
    assert error.permission == "pull-requests: write" and error.status == 403
    assert "permissions:\n  pull-requests: write" in str(error)
    assert len(fake_github.writes()) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("call", "permission"),
    [
        (
            lambda c: c.create_check_run("mlci", SHA, conclusion="success", title="t", summary="s"),
            "checks: write",
        ),
        (lambda c: c.create_commit_status(SHA, "success", "mlci", "ok"), "statuses: write"),
        (lambda c: c.create_deployment("main", "staging"), "deployments: write"),
        (lambda c: c.create_ref("refs/tags/model@v1", SHA), "contents: write"),
        (lambda c: c.create_release("v1", "v1", "notes"), "contents: write"),
        (lambda c: c.create_pull("t", "retrain", "main", "b"), "pull-requests: write"),
        (lambda c: c.dispatch_workflow("train.yml", "main", {}), "actions: write"),
    ],
)
def test_permission_per_endpoint(
    client: GitHubClient, fake_github: FakeGitHub, call: Callable[[GitHubClient], Any], permission: str
) -> None:
    fake_github.read_only = True
    with pytest.raises(PermissionDenied) as caught:
        call(client)
    assert caught.value.permission == permission
    assert f"permissions:\n  {permission}" in str(caught.value)
    assert len(fake_github.writes()) == 1


def test_the_token_never_shows_in_errors(fake_github: FakeGitHub, sleeps: list[float]) -> None:
    token = fake_github.token
    client = GitHubClient(token, fake_github.repository, fake_github.url, sleep=sleeps.append, timeout=0.3)
    errors: list[BaseException] = []
    actions: list[Callable[[], Any]] = [
        lambda: client.get_pull(42),
        lambda: client.create_pull("t", "b", "main", "x"),  # then a duplicate: 422
        lambda: client.create_pull("t", "b", "main", "x"),
        lambda: GitHubClient(token, "o/r", "http://127.0.0.1:9", sleep=sleeps.append).get_repo(),
    ]
    for action in actions:
        try:
            action()
        except GitHubError as exc:
            errors.append(exc)
    fake_github.read_only = True
    fake_github.primary_limit(path="/pulls", reset_in=9999, times=None)
    for action in (lambda: upsert(client, 1, "x", MARKER), client.list_pulls):
        try:
            action()
        except GitHubError as exc:
            errors.append(exc)
    assert len(errors) == 5
    for error in errors:
        for text in (str(error), repr(error), repr(error.args), str(getattr(error, "hint", ""))):
            assert token not in text
    assert token not in repr(client) and token not in client.describe()


# Other endpoints


def test_pull_requests(client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]) -> None:
    pull = client.create_pull("Retrain on new data", "retrain/2024-06", "main", "drift found", draft=True)
    assert pull["number"] == 1 and pull["draft"] is True
    assert [p["number"] for p in client.list_pulls(head="octo-org:retrain/2024-06")] == [1]
    assert client.list_pulls(head="octo-org:other") == []
    with pytest.raises(GitHubError, match="A pull request already exists for octo-org:retrain/2024-06"):
        client.create_pull("again", "retrain/2024-06", "main", "x")
    assert [label["name"] for label in client.add_labels(1, ["mlci", "retrain"])] == ["mlci", "retrain"]
    client.request_reviewers(1, ["alice"])
    client.add_assignees(1, ["bob"])
    client.update_pull(1, state="closed", title="Closed")
    closed = client.get_pull(1)
    assert (closed["state"], closed["title"]) == ("closed", "Closed")
    assert [u["login"] for u in closed["requested_reviewers"]] == ["alice"]
    assert client.list_pulls() == [] and len(client.list_pulls(state="all")) == 1


def test_pull_request_created_despite_a_502_is_not_duplicated(
    client: GitHubClient, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.fail("POST", r"/pulls$", after=True)
    pull = client.create_pull("Retrain", "retrain/x", "main", "body")
    assert pull["number"] == 1 and len(fake_github.pulls) == 1 and sleeps == [1.0]


def test_refs(client: GitHubClient) -> None:
    main = client.get_ref("heads/main")
    assert main is not None and main["ref"] == "refs/heads/main"
    created = client.create_ref("refs/tags/model@v1.0.0", SHA)
    assert created["object"]["sha"] == SHA
    found = client.get_ref("tags/model@v1.0.0")
    assert found is not None and found["object"]["sha"] == SHA
    with pytest.raises(GitHubError, match="Reference already exists"):
        client.create_ref("refs/tags/model@v1.0.0", SHA)
    client.update_ref("heads/main", SHA, force=True)
    after = client.get_ref("refs/heads/main")
    assert after is not None and after["object"]["sha"] == SHA
    assert after is not None and after["ref"] == main["ref"] and after["object"]["sha"] == SHA


def test_check_run_with_120_annotations_takes_three_requests(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    notes = [
        {
            "path": "params.yaml",
            "start_line": i,
            "end_line": i,
            "annotation_level": "warning",
            "message": f"n{i}",
        }
        for i in range(1, 121)
    ]
    run = client.create_check_run(
        "mlci report", SHA, conclusion="failure", title="1 gate failed", summary="…", annotations=notes
    )
    assert [r.method for r in fake_github.writes()] == ["POST", "PATCH", "PATCH"]
    assert [len(r.json["output"]["annotations"]) for r in fake_github.writes()] == [50, 50, 20]
    assert fake_github.annotations[run["id"]] == notes
    assert run["output"]["annotations_count"] == 120 and run["conclusion"] == "failure"


def test_commit_statuses(client: GitHubClient, fake_github: FakeGitHub) -> None:
    client.create_commit_status(SHA, "pending", "mlci/gates", "running", target_url=RUN_URL)
    client.create_commit_status(SHA, "success", "mlci/gates", "x" * 300)
    latest = fake_github.statuses[SHA][0]
    assert latest["state"] == "success" and len(latest["description"]) == 140


def test_deployments_and_statuses(client: GitHubClient) -> None:
    deployment = client.create_deployment(
        "model@v1.2.0", "production", description="model v1.2.0", payload={"model": "churn"}
    )
    client.create_deployment("main", "staging")
    assert [d["id"] for d in client.list_deployments(environment="production")] == [deployment["id"]]
    client.create_deployment_status(deployment["id"], "in_progress", log_url=RUN_URL)
    client.create_deployment_status(
        deployment["id"], "success", environment_url="https://models.example/churn"
    )
    states = [s["state"] for s in client.list_deployment_statuses(deployment["id"])]
    assert states == ["success", "in_progress"]


def test_release_and_asset_upload(client: GitHubClient, fake_github: FakeGitHub, tmp_path: Path) -> None:
    release = client.create_release("model@v1.0.0", "Model v1.0.0", "metrics: …")
    assert client.get_release_by_tag("model@v1.0.0") == release
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x00pickle\xff" * 100)
    asset = client.upload_release_asset(release, model)
    assert asset["name"] == "model.pkl" and asset["size"] == 800
    upload = fake_github.calls("POST", r"/assets$")[0]
    assert upload.target.startswith("/api/uploads/repos/octo-org/models/releases/")
    assert upload.headers["content-type"] == "application/octet-stream"
    assert fake_github.asset(release["id"], "model.pkl") == model.read_bytes()
    with pytest.raises(GitHubError, match="already_exists"):
        client.create_release("model@v1.0.0", "again", "")


def test_dispatch_workflow(client: GitHubClient, fake_github: FakeGitHub) -> None:
    assert client.dispatch_workflow("retrain.yml", "main", {"reason": "drift"}) is None
    assert fake_github.dispatches == [
        {"workflow": "retrain.yml", "ref": "main", "inputs": {"reason": "drift"}}
    ]
    assert fake_github.calls("POST")[0].status == 204


def test_upsert_ignores_a_marker_someone_else_typed(client: GitHubClient, fake_github: FakeGitHub) -> None:
    """An Actions token has no /user: only bot comments can be ours, never a person's bait."""
    marker = "<!-- mlci:report:default -->"
    fake_github.add_comment(7, f"{marker}\nall gates passed", login="mallory")
    first = upsert(client, 7, "the real report", marker)
    again = upsert(client, 7, "the real report", marker)
    assert (first.action, again.action) == ("created", "unchanged")
    mallory, ours = fake_github.comments[7]
    assert mallory["body"] == f"{marker}\nall gates passed"
    assert ours["user"]["login"] == "github-actions[bot]" and "the real report" in ours["body"]


def test_with_a_personal_token_only_that_users_comments_count(fake_github: FakeGitHub) -> None:
    fake_github.login = "alice"  # a PAT: GET /user answers, and mlci comments as alice
    client = GitHubClient(fake_github.token, fake_github.repository, fake_github.url, sleep=lambda _: None)
    marker = "<!-- mlci:report:default -->"
    fake_github.add_comment(7, f"{marker}\nbait", login="mallory")
    assert upsert(client, 7, "report v1", marker).action == "created"
    assert upsert(client, 7, "report v2", marker).action == "updated"
    assert [c["user"]["login"] for c in fake_github.comments[7]] == ["mallory", "alice"]
    assert "report v2" in fake_github.comments[7][1]["body"]


class _Paging(BaseHTTPRequestHandler):
    """One page of comments whose `next` link points where the server was told to."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append((self.headers.get("Host"), self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Link", f'<{server.next_link}>; rel="next"')
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1.evil.example:{port}/repos/o/r/issues/1/comments?page=2",  # a prefix of the host
        "http://127.0.0.1:{port}.evil.example/repos/o/r/issues/1/comments?page=2",
        "https://127.0.0.1:{port}/repos/o/r/issues/1/comments?page=2",  # another scheme
        "http://127.0.0.1:1/repos/o/r/issues/1/comments?page=2",  # another port
        "//evil.example/repos/o/r/issues/1/comments?page=2",  # scheme-relative: another host
    ],
)
def test_a_pagination_link_to_another_origin_is_refused_without_the_token(link: str) -> None:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Paging)
    port = server.server_address[1]
    server.seen, server.next_link = [], link.format(port=port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = GitHubClient(
            "ghs_secret", "o/r", f"http://127.0.0.1:{port}", timeout=2, sleep=lambda _: None
        )
        with pytest.raises(GitHubError, match="refusing to follow a pagination link"):
            client.list_issue_comments(1)
    finally:
        server.shutdown()
        server.server_close()
    assert len(server.seen) == 1  # only the first page was asked for


def test_a_ref_update_that_is_not_a_fast_forward_is_refused(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    base, ours, theirs, later = "1" * 40, "2" * 40, "3" * 40, "4" * 40
    fake_github.commits.update({base: [], ours: [base], theirs: [base], later: [ours]})
    client.create_ref("refs/heads/topic", ours)
    with pytest.raises(GitHubError, match="not a fast forward"):
        client.update_ref("heads/topic", theirs)  # a sibling: would drop `ours`
    client.update_ref("heads/topic", later)  # a descendant
    client.update_ref("heads/topic", theirs, force=True)
    found = client.get_ref("heads/topic")
    assert found is not None and found["object"]["sha"] == theirs
