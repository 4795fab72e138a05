"""The fake GitHub server speaks like GitHub: checked with plain `requests`, not with mlci's client."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.testing.fake_github import NOT_ACCESSIBLE, SECONDARY_MESSAGE, FakeGitHub


@pytest.fixture
def http(fake_github: FakeGitHub) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {fake_github.token}"
    return session


def api(fake: FakeGitHub, tail: str) -> str:
    return f"{fake.url}/repos/{fake.repository}{tail}"


def test_github_headers_and_error_bodies(fake_github: FakeGitHub, http: requests.Session) -> None:
    ok = http.get(api(fake_github, ""))
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/json; charset=utf-8"
    for name in ("limit", "remaining", "reset", "used", "resource"):
        assert f"x-ratelimit-{name}" in ok.headers
    assert ok.headers["x-github-request-id"]
    missing = http.get(api(fake_github, "/pulls/5"))
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    assert http.get(f"{fake_github.url}/repos/someone/else").status_code == 404
    bad = requests.get(api(fake_github, ""), headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"


def test_requests_are_recorded_without_the_token(fake_github: FakeGitHub, http: requests.Session) -> None:
    http.post(api(fake_github, "/issues/1/comments"), json={"body": "hi"})
    (request,) = fake_github.requests
    assert (request.method, request.path, request.json, request.status) == (
        "POST",
        "/repos/octo-org/models/issues/1/comments",
        {"body": "hi"},
        201,
    )
    assert fake_github.token not in repr(request)


def test_pagination_link_header(fake_github: FakeGitHub, http: requests.Session) -> None:
    for i in range(250):
        fake_github.add_comment(1, f"c{i}")
    first = http.get(api(fake_github, "/issues/1/comments"), params={"per_page": 100})
    assert len(first.json()) == 100
    assert set(first.links) == {"next", "last"}
    assert first.links["last"]["url"].endswith("page=3")
    last = http.get(first.links["last"]["url"])
    assert len(last.json()) == 50 and "next" not in last.links and "prev" in last.links
    assert len(http.get(api(fake_github, "/issues/1/comments")).json()) == 30  # GitHub's default page


def test_validation_errors(fake_github: FakeGitHub, http: requests.Session) -> None:
    pull = {"title": "t", "head": "feature", "base": "main"}
    assert http.post(api(fake_github, "/pulls"), json=pull).status_code == 201
    again = http.post(api(fake_github, "/pulls"), json=pull)
    assert again.status_code == 422 and again.json()["message"] == "Validation Failed"
    assert again.json()["errors"][0]["message"] == "A pull request already exists for octo-org:feature."
    ref = {"ref": "refs/heads/main", "sha": "a" * 40}
    assert http.post(api(fake_github, "/git/refs"), json=ref).json()["message"] == "Reference already exists"
    too_many = [
        {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}
    ] * 51
    run = {
        "name": "n",
        "head_sha": "a" * 40,
        "conclusion": "success",
        "output": {"title": "t", "summary": "s"},
    }
    run["output"]["annotations"] = too_many  # type: ignore[index]
    assert http.post(api(fake_github, "/check-runs"), json=run).status_code == 422


def test_fault_on_the_nth_call_only(fake_github: FakeGitHub, http: requests.Session) -> None:
    fault = fake_github.fail("GET", r"/pulls$", status=500, nth=2)
    codes = [http.get(api(fake_github, "/pulls")).status_code for _ in range(3)]
    assert codes == [200, 500, 200] and fault.hits == 1


def test_rate_limit_faults(fake_github: FakeGitHub, http: requests.Session) -> None:
    fake_github.secondary_limit("GET", "/pulls", status=429, retry_after=30)
    limited = http.get(api(fake_github, "/pulls"))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
    assert limited.json()["message"] == SECONDARY_MESSAGE
    fake_github.primary_limit("GET", "/pulls", reset_in=100)
    primary = http.get(api(fake_github, "/pulls"))
    assert primary.status_code == 403 and primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) >= int(time.time()) + 98


def test_slow_and_dropped(fake_github: FakeGitHub, http: requests.Session) -> None:
    fake_github.slow("GET", "/pulls", delay=0.5)
    with pytest.raises(requests.Timeout):
        http.get(api(fake_github, "/pulls"), timeout=0.1)
    fake_github.drop("GET", "/pulls")
    with pytest.raises(requests.ConnectionError):
        http.get(api(fake_github, "/pulls"))
    assert http.get(api(fake_github, "/pulls")).status_code == 200


def test_fault_after_the_write_landed(fake_github: FakeGitHub, http: requests.Session) -> None:
    fake_github.fail("POST", "/comments$", status=502, after=True)
    assert http.post(api(fake_github, "/issues/2/comments"), json={"body": "x"}).status_code == 502
    assert len(fake_github.comments[2]) == 1


def test_read_only_token(fake_github: FakeGitHub, http: requests.Session) -> None:
    fake_github.read_only = True
    denied = http.post(api(fake_github, "/issues/2/comments"), json={"body": "x"})
    assert denied.status_code == 403 and denied.json()["message"] == NOT_ACCESSIBLE
    assert http.get(api(fake_github, "/issues/2/comments")).status_code == 200
    assert 2 not in fake_github.comments


def test_an_artifact_download_redirects_to_storage_as_github_does(
    fake_github: FakeGitHub, http: requests.Session, tmp_path: Path
) -> None:
    fake_github.artifacts_dir = tmp_path
    (tmp_path / "4242" / "mlci-report").mkdir(parents=True)
    (tmp_path / "4242" / "mlci-report" / "report.md").write_text("# report\n")
    (listed,) = http.get(api(fake_github, "/actions/runs/4242/artifacts")).json()["artifacts"]

    first = http.get(listed["archive_download_url"], allow_redirects=False)
    followed = http.get(listed["archive_download_url"])

    assert first.status_code == 302 and "/_blob/" in first.headers["location"]
    assert followed.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(followed.content)).read("report.md") == b"# report\n"
