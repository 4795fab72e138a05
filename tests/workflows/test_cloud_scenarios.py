"""The train and report workflows with the DVC remote in cloud storage on loopback (S3: moto's server;
Azure: Azurite), on the Actions runner: the project's `.dvc/config` names `s3://BUCKET/dvc` and the
server's `endpointurl` (committed, as a user with MinIO or a similar store would) or
`azure://CONTAINER/dvc`, the callers are what `mlci init` writes (with the secrets the remote needs), and
the credentials reach the jobs only as repository secrets. Each job's install step finds the remote and
installs the plugin (`dvc-s3`, `dvc-azure`) into the fresh Python setup-python gave it: the test venv's
copy is never on its path.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.repo.git import git
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo
from tests.testing.runner import RunResult, requires_runner
from tests.testing.scenario import Scenario, open_pull_request, user_repository
from tests.testing.storage import CREDENTIALS, S3Server, Storage, moto_server

pytestmark = [requires_runner, pytest.mark.slow]

# What a user stores as repository secrets; the callers `mlci init` writes pass these two.
SECRETS = {name: CREDENTIALS[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def _move_to(repo: ExampleRepo, storage: Storage, monkeypatch: pytest.MonkeyPatch) -> str:
    """The example project moved to a bucket or container: remote `storage` = SCHEME://BUCKET/dvc (with
    the server's endpointurl for S3), the evaluate stage's metrics DVC-cached (so a report must read them
    from the store), everything pushed there with the author's credentials, then gone from this process."""
    bucket = storage.bucket()
    for name, value in storage.env().items():
        monkeypatch.setenv(name, value)
    repo.dvc("remote", "modify", "storage", "url", f"{storage.scheme}://{bucket}/dvc")
    for key, value in storage.remote_options().items():
        repo.dvc("remote", "modify", "storage", key, value)
    dvc_yaml = repo.root / "dvc.yaml"
    dvc_yaml.write_text(
        dvc_yaml.read_text().replace("- metrics.json:\n          cache: false", "- metrics.json")
    )
    repo.git("rm", "-q", "--cached", "metrics.json")
    repo.dvc("repro", "-q", "--force", "--single-item", "evaluate")  # the metrics go to the DVC cache
    repo.commit("Keep the DVC remote on S3; metrics in the DVC cache")
    repo.dvc("push", "-q", "--run-cache")
    repo.git("push", "-q", "origin", "main")
    assert repo.git("ls-files", "metrics.json") == ""  # not in git: only the bucket has it
    for name in storage.env():
        monkeypatch.delenv(name)
    return bucket


@pytest.fixture
def cloud(
    example_repo: ExampleRepo,
    fake_github: FakeGitHub,
    s3_server: S3Server,
    wheel: Path,
    pip_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Scenario, str]]:
    """The example project on a bucket of the session's S3 server, `mlci init`'s callers committed, the
    keys as repository secrets. Yields (scenario, bucket)."""
    bucket = _move_to(example_repo, s3_server, monkeypatch)
    with user_repository(example_repo, fake_github, wheel, pip_cache, tmp_path) as scenario:
        scenario.secrets = dict(SECRETS)
        yield scenario, bucket


@pytest.fixture(params=["s3", "azure"])
def store(
    request: pytest.FixtureRequest,
    example_repo: ExampleRepo,
    fake_github: FakeGitHub,
    wheel: Path,
    pip_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Scenario, str, Storage]]:
    """`cloud` on each backend: (scenario, bucket or container, its server). The secrets are what a user
    stores for it: the two AWS keys, or Azure's connection string."""
    storage: Storage = request.getfixturevalue(f"{request.param}_server")
    bucket = _move_to(example_repo, storage, monkeypatch)
    with user_repository(example_repo, fake_github, wheel, pip_cache, tmp_path) as scenario:
        scenario.secrets = dict(SECRETS) if storage.scheme == "s3" else storage.env()
        yield scenario, bucket, storage


def _assert_plugin_installed_by_the_job(
    result: RunResult, job: str, scheme: str = "s3", *, restored_ok: bool = False
) -> None:
    """The install step found the remote and installed dvc-SCHEME into the job's environment, made from
    the Python setup-python took from the runner's tool cache (not the test venv, which has the plugin
    already). `restored_ok`: a later job of the run may restore instead the environment an earlier job
    of the same key saved, the plugin in it (the job's own push then proves it works)."""
    log = result.job_log(job)
    (line,) = [ln for ln in log.splitlines() if "mlci install: " in ln]
    if restored_ok and re.search(
        r"<- the environment restored \(\d+ files as saved\), nothing installed", line
    ):
        return
    assert re.search(rf"\+ dvc-{scheme}[<>=!~]\S* \(found by mlci doctor\)", line), line
    (python,) = re.findall(r"::set-output:: python-path=(\S+)", log)
    assert "/toolcache/Python/" in python and Path(python).parent != Path(sys.executable).parent, python


def _model_md5(lock_text: str) -> str:
    lock = yaml.safe_load(lock_text)
    return str(next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.pkl"))


def test_push_trains_with_the_cloud_remote_pushes_objects_to_the_bucket_and_commits_results(
    store: tuple[Scenario, str, Storage],
) -> None:
    s, bucket, storage = store
    s.repo.git("checkout", "-q", "-b", "more-trees")
    s.repo.set_param("train.n_estimators", 70)
    pushed = s.repo.commit("Use 70 trees")  # no dvc repro: CI trains
    s.repo.git("push", "-q", "origin", "more-trees")
    keys_before = set(storage.keys(bucket))
    main = git(s.repo.root, "rev-parse", "main")

    result = s.run(
        "push", "mlci-train.yml", {"ref": "refs/heads/more-trees", "before": main, "after": pushed}
    )

    assert result.returncode == 0, result.explain()
    _assert_plugin_installed_by_the_job(result, "train/mlci train/data checks", storage.scheme)
    _assert_plugin_installed_by_the_job(
        result, "train/mlci train/train classifier", storage.scheme, restored_ok=True
    )
    tip = git(s.repo.origin, "rev-parse", "refs/heads/more-trees")
    assert git(s.repo.origin, "rev-parse", f"{tip}~1") == pushed  # one results commit on top
    assert "dvc.lock" in git(s.repo.origin, "diff", "--name-only", pushed, tip).splitlines()
    md5 = _model_md5(git(s.repo.origin, "show", f"{tip}:dvc.lock"))
    new_keys = set(storage.keys(bucket)) - keys_before
    assert f"dvc/files/md5/{md5[:2]}/{md5[2:]}" in new_keys  # the new model is in the bucket
    assert not [name for name, value in s.secrets.items() if value in result.log]  # never printed


def _pull_request(s: Scenario, branch: str, trees: int, env: dict[str, str] = CREDENTIALS) -> dict[str, Any]:
    """A PR branch whose author trained and pushed (code to origin, results to the bucket: the author's
    laptop has the credentials)."""
    return open_pull_request(s, branch, trees, env=env)


def _oracle(s: Scenario, base: str, head: str, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """`dvc metrics diff BASE HEAD` in a fresh clone with the credentials: DVC's own numbers."""
    reader = s.tmp / "oracle"
    git(s.tmp, "clone", "-q", str(s.repo.origin), str(reader))
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from mlci.onboarding import example

        out = json.loads(example.dvc(reader, "metrics", "diff", base, head, "--all", "--json"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {key: (v["old"], v["new"]) for key, v in out["metrics.json"].items()}


def test_pull_request_report_reads_dvc_cached_metrics_from_the_bucket(
    store: tuple[Scenario, str, Storage],
) -> None:
    s, _, storage = store
    event = _pull_request(s, "more-trees", 60, storage.env())
    base, head = event["pull_request"]["base"]["sha"], event["pull_request"]["head"]["sha"]

    result = s.run("pull_request", "mlci-report.yml", event)

    assert result.returncode == 0, result.explain()
    _assert_plugin_installed_by_the_job(result, "report/mlci report", storage.scheme)
    (body,) = [c["body"] for c in s.fake.comments.get(1, [])]
    (document,) = [
        json.loads(p.read_text())
        for p in (s.tmp / "artifacts").rglob("*.json")
        if p.parent.name == "mlci-report" and not p.name.endswith(".comment.json")
    ]
    ours = {m["key"]: (m["base"], m["head"]) for m in document["metrics"]}
    oracle = _oracle(s, base, head, storage.env())
    assert ours == oracle and oracle  # the numbers DVC reads from the bucket
    assert not document.get("unread")
    changed = [key for key, (old, new) in oracle.items() if old != new]
    text = body.replace("\\", "")  # markdown escapes (test.roc\_auc)
    assert changed and f"{len(oracle)} metrics, {len(changed)} changed" in text  # the comment says so
    assert all(key in text for key in changed), body
    (check,) = s.fake.check_runs.values()
    assert check["conclusion"] == "success"


def test_a_train_job_whose_bucket_lost_its_objects_fails_naming_the_remote(
    cloud: tuple[Scenario, str], s3_server: S3Server
) -> None:
    """Someone emptied the bucket: the train job cannot restore or verify anything. It fails (no green
    run, no results commit) and its log names DVC remote 'storage' and what it lacks."""
    s, bucket = cloud
    s.repo.git("checkout", "-q", "-b", "more-trees")
    s.repo.set_param("train.n_estimators", 80)
    pushed = s.repo.commit("Use 80 trees")
    s.repo.git("push", "-q", "origin", "more-trees")
    client = s3_server.client()
    for key in s3_server.keys(bucket):
        client.delete_object(Bucket=bucket, Key=key)
    main = git(s.repo.root, "rev-parse", "main")

    result = s.run(
        "push", "mlci-train.yml", {"ref": "refs/heads/more-trees", "before": main, "after": pushed}
    )

    assert result.returncode != 0, result.log[-5000:]
    errors = [ln for ln in result.log.splitlines() if "DVC remote 'storage'" in ln]
    assert errors, result.explain()
    assert any("not in the remote" in ln for ln in errors), "\n".join(errors)
    assert git(s.repo.origin, "rev-parse", "refs/heads/more-trees") == pushed  # no results commit


def test_a_report_whose_s3_server_is_down_fails_naming_the_remote_and_still_comments(
    example_repo: ExampleRepo,
    fake_github: FakeGitHub,
    wheel: Path,
    pip_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store is down when the report runs (its own server, stopped): the metrics cannot be read, so
    the run is not green (failed check run, job failed), the log names DVC remote 'storage' and says it
    is unreachable, and the comment still shows what could be read (the params)."""
    with moto_server(tmp_path / "moto.log") as (server, process):
        _move_to(example_repo, server, monkeypatch)
        with user_repository(example_repo, fake_github, wheel, pip_cache, tmp_path) as s:
            s.secrets = dict(SECRETS)
            event = _pull_request(s, "more-trees", 60)
            process.terminate()
            process.wait(timeout=10)

            result = s.run("pull_request", "mlci-report.yml", event)

    assert result.returncode != 0, result.log[-5000:]
    job = result.job_log("report/mlci report")
    errors = [ln for ln in job.splitlines() if "DVC remote 'storage'" in ln]
    assert any("unreachable" in ln for ln in errors), result.explain()
    (check,) = s.fake.check_runs.values()
    assert check["conclusion"] == "failure"
    (body,) = [c["body"] for c in s.fake.comments.get(1, [])]
    text = body.replace("\\", "")  # markdown escapes
    assert "DVC remote 'storage'" in text and "n_estimators" in text, body  # the params are still there
