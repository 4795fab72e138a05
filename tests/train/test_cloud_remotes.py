"""A DVC remote on S3 (moto's S3 server on loopback): train pushes there, a fresh clone's report reads
DVC-cached metrics from it, and each way the storage can fail ends in exit 2 naming the remote.

Refused credentials are not among the faults: moto's server accepts any key unless its IAM emulation is
set up, so that message is covered only by the pattern tests of `mlci.repo.remote`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.report import dvc_json
from tests.testing.storage import S3Server, free_port

pytestmark = pytest.mark.slow

SCORE = """\
import json, pathlib, yaml
alpha = yaml.safe_load(open("params.yaml"))["alpha"]
pathlib.Path("model.bin").write_bytes(bytes([int(alpha * 10) % 256]) * 4096)
pathlib.Path("eval").mkdir(exist_ok=True)
json.dump({"auc": round(0.5 + alpha / 10, 4)}, open("eval/cached.json", "w"))
"""
DVC_YAML = """\
stages:
  score:
    cmd: python score.py
    deps: [score.py]
    params: [alpha]
    outs: [model.bin]
    metrics: [eval/cached.json]
"""


def s3_project(tmp_path: Path, s3: S3Server) -> tuple[Path, str]:
    """A trained project whose remote is a fresh bucket; pushed to a bare origin. Returns (origin, base)."""
    root, origin = tmp_path / "work", tmp_path / "origin.git"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    example.dvc(root, "config", "core.analytics", "false")
    (root / "score.py").write_text(SCORE)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "params.yaml").write_text("alpha: 1.0\n")
    bucket = s3.bucket()
    example.dvc(root, "remote", "add", "-d", "storage", f"s3://{bucket}/store")
    example.dvc(root, "remote", "modify", "storage", "endpointurl", s3.endpoint)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pipeline")
    done = run_cli("train", cwd=root, env=s3.env())
    assert done.returncode == 0, done.stderr
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "trained")
    git(tmp_path, "clone", "-q", "--bare", str(root), str(origin))
    return origin, git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def trained(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One trained project per module (its bucket is shared; no test writes a result another reads)."""
    return s3_project(tmp_path_factory.mktemp("s3"), s3_server)


def clone(origin: Path, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", str(origin), str(dest))
    return dest


def test_train_pushes_to_s3_and_a_fresh_clone_reports_from_it(
    s3_server: S3Server, trained: tuple[Path, str], tmp_path: Path
) -> None:
    origin, base = trained
    work = clone(origin, tmp_path / "branch")
    (work / "params.yaml").write_text("alpha: 2.0\n")
    done = run_cli("train", "--format", "json", cwd=work, env=s3_server.env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stages_run"] == ["score"] and json.loads(done.stdout)["pushed"]
    git(work, "commit", "-q", "-am", "alpha 2")
    head = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", "HEAD:feature")

    reader = clone(origin, tmp_path / "reader")  # an empty DVC cache: the metrics come from the bucket
    done = run_cli(
        "report", "--base", base, "--head", head, "--format", "json", cwd=reader, env=s3_server.env()
    )
    assert done.returncode == 0, done.stderr
    assert not (reader / ".dvc" / "cache").exists() or not any((reader / ".dvc" / "cache").rglob("*.json"))
    ours = {m["key"]: (m["base"], m["head"]) for m in json.loads(done.stdout)["metrics"]}
    oracle = dvc_json(reader, "metrics", "diff", base, head, "--all")["eval/cached.json"]
    assert ours == {k: (v["old"], v["new"]) for k, v in oracle.items()} == {"auc": (0.6, 0.7)}


def test_a_fresh_clone_on_an_unchanged_commit_restores_nothing_and_checks_the_bucket(
    s3_server: S3Server, trained: tuple[Path, str], tmp_path: Path
) -> None:
    origin, _ = trained
    work = clone(origin, tmp_path / "runner")
    done = run_cli("train", "--format", "json", cwd=work, env=s3_server.env())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [s["outcome"] for s in result["stages"]] == ["unchanged"] and not result["pushed"]
    assert "lacks its outputs" not in done.stderr  # the bucket was asked, and it has the results


def _break(work: Path, s3: S3Server, how: str) -> dict[str, str]:
    env = s3.env()
    if how == "server down":
        example.dvc(
            work, "remote", "modify", "--local", "storage", "endpointurl", f"http://127.0.0.1:{free_port()}"
        )
    elif how == "bucket missing":
        example.dvc(work, "remote", "modify", "--local", "storage", "url", "s3://no-such-bucket-mlci/store")
    return env


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("server down", "unreachable"),
        ("bucket missing", "bucket"),
    ],
)
def test_storage_faults_end_in_exit_2_naming_the_remote(
    s3_server: S3Server, trained: tuple[Path, str], tmp_path: Path, how: str, says: str
) -> None:
    origin, _ = trained
    work = clone(origin, tmp_path / "runner")
    env = _break(work, s3_server, how)
    (work / "params.yaml").write_text("alpha: 3.0\n")  # a stage to run, so the remote is used
    done = run_cli("train", cwd=work, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "DVC remote 'storage'" in done.stderr and says in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr


def test_doctor_names_plugin_credentials_and_fixes(
    s3_server: S3Server, trained: tuple[Path, str], tmp_path: Path
) -> None:
    origin, _ = trained
    work = clone(origin, tmp_path / "doctor")
    done = run_cli("doctor", "--format", "json", cwd=work, env=s3_server.env())
    assert done.returncode == 0, done.stderr
    (remote,) = json.loads(done.stdout)["remotes"]
    assert remote["scheme"] == "s3" and remote["plugin_installed"]
    # the plugin's requirement as the installed DVC's extra `dvc[s3]` declares it
    from importlib.metadata import requires

    declared = [
        r.split(";")[0].replace(" ", "") for r in requires("dvc") or [] if r.endswith('extra == "s3"')
    ]
    assert [remote["plugin"]] == declared and remote["plugin"].startswith("dvc-s3")
    assert remote["credentials"] == ["AWS_ACCESS_KEY_ID"] and remote["used_by"] == ["default"]
    assert s3_server.env()["AWS_SECRET_ACCESS_KEY"] not in done.stdout  # names only, never values
    bare = {k: "" for k in s3_server.env()}
    done = run_cli("doctor", cwd=work, env=bare)
    assert done.returncode == 0  # a role or a profile file may provide them: a warning, not a failure
    assert "credentials: none found" in done.stdout and "warning:" in done.stdout
    assert "AWS_ACCESS_KEY_ID" in done.stdout
    done = run_cli("doctor", "--plugins", cwd=work, env=bare)
    assert done.returncode == 0 and done.stdout.split() == [remote["plugin"]]


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("ERROR: failed to pull - An error occurred (InvalidAccessKeyId) when calling ...", "credentials"),
        ("ERROR: unexpected error - Unable to locate credentials", "credentials"),
        (
            "ERROR: PermissionError: The AWS Access Key Id you provided does not exist in our records.",
            "credentials",
        ),
        ("ERROR: failed to push - An error occurred (NoSuchBucket) ...", "bucket"),
        ("ERROR: [Errno 2] No storage files available: 'data/raw.csv'", "not in the remote"),
        ("ERROR: s3 is supported, but requires 'dvc-s3' to be installed", "plugin is not installed"),
        ("ERROR: Cannot connect to host 10.0.0.1:9000 ssl:default [Connect call failed]", "unreachable"),
    ],
)
def test_s3_error_texts_name_the_cause(output: str, says: str) -> None:
    from mlci.repo.remote import Remote, explain_failure

    error = explain_failure(Remote("storage", "s3://b/p", {}), output, "pulling from the remote")
    assert error is not None and "DVC remote 'storage'" in error.message and says in error.message


def test_report_with_the_remote_down_shows_the_rest_and_names_the_remote(
    s3_server: S3Server, trained: tuple[Path, str], tmp_path: Path
) -> None:
    origin, base = trained
    work = clone(origin, tmp_path / "work")
    (work / "params.yaml").write_text("alpha: 4.0\n")
    assert run_cli("train", cwd=work, env=s3_server.env()).returncode == 0
    git(work, "commit", "-q", "-am", "alpha 4")
    head = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", "HEAD:alpha4")
    reader = clone(origin, tmp_path / "reader")
    down = f"http://127.0.0.1:{free_port()}"
    example.dvc(reader, "remote", "modify", "--local", "storage", "endpointurl", down)
    done = run_cli(
        "report", "--base", base, "--head", head, "--format", "json", cwd=reader, env=s3_server.env()
    )
    assert done.returncode == 1, done.stderr  # not a crash, not green: the head's metrics are unknown
    document = json.loads(done.stdout)
    (unread,) = [u for u in document["unread"] if u["revision"] == "head"]
    assert "DVC remote 'storage'" in unread["reason"] and "unreachable" in unread["reason"]
    assert [p["key"] for p in document["params"]] == ["alpha"]  # what could be read is still reported
