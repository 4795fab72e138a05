"""The offline outbox: files a person can read, and state that persists like GitHub's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.github.client import GitHubClient, GitHubError, NotFound
from mlci.github.comments import upsert
from mlci.github.outbox import Outbox
from mlci.github.publish import open_client

MARKER = "<!-- mlci:report:default -->"
SHA = "c" * 40


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / ".mlci" / "outbox", "octo-org/models")


def test_open_client_without_token_is_an_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    client = open_client(None, "octo-org/models", "https://api.github.com", Path(".mlci/outbox"))
    assert isinstance(client, Outbox)
    assert client.describe() == "no GitHub token: writing to .mlci/outbox/ instead of posting"
    with_token = open_client("ghs_x", "octo-org/models", "https://api.github.com", ".mlci/outbox")
    assert isinstance(with_token, GitHubClient)


def test_upsert_writes_a_file_and_is_stateful(outbox: Outbox) -> None:
    first = upsert(outbox, 12, "accuracy 0.91", MARKER)
    assert first.action == "created"
    path = outbox.folder / f"comment-pr12-{first.comment_id}.md"
    assert path.read_text(encoding="utf-8") == f"{MARKER}\naccuracy 0.91"
    assert first.url == str(path)
    assert upsert(outbox, 12, "accuracy 0.91", MARKER).action == "unchanged"
    third = upsert(outbox, 12, "accuracy 0.95", MARKER)
    assert (third.action, third.comment_id) == ("updated", first.comment_id)
    assert path.read_text(encoding="utf-8").endswith("0.95")
    assert len(outbox.list_issue_comments(12)) == 1


def test_state_persists_across_instances(outbox: Outbox) -> None:
    upsert(outbox, 3, "report", MARKER)
    outbox.create_pull("Retrain", "retrain/a", "main", "body")
    outbox.create_ref("refs/tags/model@v1", SHA)
    outbox.create_deployment("model@v1", "production")
    outbox.create_release("model@v1", "Model v1", "notes")

    again = Outbox(outbox.folder, "octo-org/models")
    assert upsert(again, 3, "report", MARKER).action == "unchanged"
    assert [p["number"] for p in again.list_pulls(head="octo-org:retrain/a")] == [1]
    assert again.create_pull("Second", "retrain/b", "main", "")["number"] == 2
    ref = again.get_ref("tags/model@v1")
    assert ref is not None and ref["object"]["sha"] == SHA
    assert [d["ref"] for d in again.list_deployments(environment="production")] == ["model@v1"]
    release = again.get_release_by_tag("model@v1")
    assert release is not None and release["name"] == "Model v1"
    state = json.loads((outbox.folder / "state.json").read_text(encoding="utf-8"))
    assert len(state["pulls"]) == 2


def test_pull_request_files_and_updates(outbox: Outbox) -> None:
    pull = outbox.create_pull("Retrain on new data", "retrain/2024-06", "main", "drift found")
    assert (
        (outbox.folder / "pull-request-retrain-2024-06.md")
        .read_text(encoding="utf-8")
        .startswith("# Retrain")
    )
    with pytest.raises(GitHubError, match="already exists"):
        outbox.create_pull("again", "octo-org:retrain/2024-06", "main", "")
    outbox.add_labels(pull["number"], ["mlci"])
    outbox.add_labels(pull["number"], ["mlci", "retrain"])
    outbox.request_reviewers(pull["number"], ["alice"])
    outbox.update_pull(pull["number"], state="closed")
    saved = json.loads((outbox.folder / "pull-request-retrain-2024-06.json").read_text(encoding="utf-8"))
    assert saved["labels"] == [{"name": "mlci"}, {"name": "retrain"}] and saved["state"] == "closed"
    assert saved["requested_reviewers"] == [{"login": "alice"}]
    assert outbox.list_pulls() == [] and outbox.get_pull(pull["number"])["state"] == "closed"
    with pytest.raises(NotFound):
        outbox.get_pull(99)


def test_check_run_status_deployment_release_dispatch_files(outbox: Outbox, tmp_path: Path) -> None:
    notes = [{"path": "a.py", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}]
    run = outbox.create_check_run("mlci report", SHA, conclusion="success", title="ok", summary="all good")
    outbox.update_check_run(run["id"], output={"title": "ok", "summary": "all good", "annotations": notes})
    saved = json.loads((outbox.folder / "check-run-mlci-report.json").read_text(encoding="utf-8"))
    assert saved["output"]["annotations"] == notes

    outbox.create_commit_status(SHA, "success", "mlci/gates", "passed")
    assert (
        json.loads((outbox.folder / "status-mlci-gates.json").read_text(encoding="utf-8"))["state"]
        == "success"
    )

    deployment = outbox.create_deployment("model@v2", "staging")
    outbox.create_deployment_status(deployment["id"], "success", environment_url="https://x.example")
    assert [s["state"] for s in outbox.list_deployment_statuses(deployment["id"])] == ["success"]
    assert (outbox.folder / f"deployment-staging-{deployment['id']}.json").exists()

    release = outbox.create_release("model@v2", "Model v2", "notes")
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights")
    asset = outbox.upload_release_asset(release, model)
    assert Path(asset["browser_download_url"]).read_bytes() == b"weights"
    assert (outbox.folder / "release-model-v2.md").read_text(encoding="utf-8").startswith("# Model v2")
    with pytest.raises(GitHubError):
        outbox.create_release("model@v2", "again", "")

    outbox.dispatch_workflow("retrain.yml", "main", {"reason": "drift"})
    (dispatch,) = outbox.folder.glob("dispatch-retrain.yml-*.json")
    assert json.loads(dispatch.read_text(encoding="utf-8"))["inputs"] == {"reason": "drift"}


def test_long_comment_is_cut_like_on_github(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, run_url="https://github.com/o/r/actions/runs/1")
    result = upsert(outbox, 1, "line\n" * 20_000, MARKER)
    text = Path(result.url).read_text(encoding="utf-8")
    assert len(text) <= 65_536 and "actions/runs/1" in text
