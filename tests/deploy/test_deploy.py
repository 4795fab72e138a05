"""`mlci deploy` and `mlci rollback` end to end: the example project (real git, DVC, scikit-learn), its
bare origin and DVC remote, and the fake GitHub server for the Deployments API."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from mlci.repo.git import git
from tests.testing.deploy import clone, gto_show, local_only_tags, remote_tags
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, load_event, read_outputs, run_cli

STORE = ".mlci/deployments/classifier"


def push_event(repo: ExampleRepo, fake: FakeGitHub, subject: str = "") -> dict[str, Any]:
    """A real push payload, pointed at this repo's main branch and head commit."""
    payload = load_event("push/branch")
    payload["ref"] = "refs/heads/main"
    payload["after"] = repo.head()
    payload["head_commit"] = {"id": repo.head(), "message": subject or repo.git("log", "-1", "--format=%B")}
    payload["repository"]["full_name"] = fake.repository
    payload["repository"]["default_branch"] = "main"
    payload["sender"]["login"] = "octo-merger"
    return payload


def deploy_env(repo: ExampleRepo, fake: FakeGitHub, tmp: Path) -> dict[str, str]:
    env = actions_env(
        tmp, "push", push_event(repo, fake), GITHUB_SHA=repo.head(), GITHUB_REF="refs/heads/main"
    )
    env.update(GITHUB_TOKEN=fake.token, GITHUB_API_URL=fake.url, GITHUB_REPOSITORY=fake.repository)
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def statuses(fake: FakeGitHub, deployment: dict[str, Any]) -> list[str]:
    return [s["state"] for s in reversed(fake.deployment_statuses[deployment["id"]])]


def retrain_with(repo: ExampleRepo, n_estimators: int, message: str) -> str:
    repo.set_param("train.n_estimators", n_estimators)
    return repo.retrain(message)


def test_a_merge_is_tagged_delivered_and_recorded(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = example_repo
    repo.git("commit", "-q", "--allow-empty", "-m", "Merge pull request #17 from octo-org/better-forest")
    repo.git("push", "-q", "origin", "main")
    env = deploy_env(repo, fake_github, tmp_path / "run")

    proc = run_cli("deploy", cwd=repo.root, env=env)

    assert proc.returncode == 0, proc.stderr
    head = repo.head()
    assert remote_tags(repo.origin) == {"classifier@v0.0.1": head, "classifier#prod#1": head}
    store = repo.root / STORE
    meta = json.loads((store / "current" / "metadata.json").read_text())
    assert meta["sha256"] == sha256(repo.root / "models/model.pkl") == sha256(store / "v0.0.1" / "model.pkl")
    assert (meta["version"], meta["commit"], meta["stage"]) == ("v0.0.1", head, "prod")
    (deployment,) = fake_github.deployments
    assert (deployment["sha"], deployment["environment"]) == (head, "production")
    assert deployment["payload"] == {"model": "classifier", "version": "v0.0.1", "stage": "prod"}
    assert statuses(fake_github, deployment) == ["in_progress", "success"]
    assert fake_github.deployment_statuses[deployment["id"]][0]["log_url"].endswith("/actions/runs/4242")
    card = (store / "current" / "MODEL_CARD.md").read_text()
    lock = yaml.safe_load((repo.root / "dvc.lock").read_text())
    raw_md5 = next(d["md5"] for d in lock["stages"]["prepare"]["deps"] if d["path"] == "data/raw.csv")
    for expected in (
        "`v0.0.1`",
        head[:12],
        "[#17](https://github.com/octo-org/models/pull/17)",
        "octo-merger",
        raw_md5,
    ):
        assert expected in card
    outputs = read_outputs(tmp_path / "run" / "output")
    assert outputs["version"] == "v0.0.1" and outputs["sha256"] == meta["sha256"]
    assert "Model card: classifier" in (tmp_path / "run" / "summary").read_text()


def test_a_re_run_reuses_the_version_and_adds_no_tag(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = deploy_env(example_repo, fake_github, tmp_path / "run")
    assert run_cli("deploy", cwd=example_repo.root, env=env).returncode == 0
    tags = remote_tags(example_repo.origin)

    again = run_cli("deploy", cwd=example_repo.root, env=env)

    assert again.returncode == 0, again.stderr
    assert "already registered" in again.stdout
    assert remote_tags(example_repo.origin) == tags
    assert [statuses(fake_github, d) for d in fake_github.deployments] == [["in_progress", "success"]] * 2


def test_a_commit_that_fails_an_absolute_gate_deploys_nothing(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["gates"].append({"metric": "test.roc_auc", "min": 0.999})
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("Demand a perfect model")
    env = deploy_env(example_repo, fake_github, tmp_path / "run")

    proc = run_cli("deploy", cwd=example_repo.root, env=env)

    assert proc.returncode == 1
    assert "quality gate(s) failed" in proc.stderr and "metrics.json:test.roc_auc" in proc.stderr
    assert example_repo.git("tag") == "" and remote_tags(example_repo.origin) == {}
    assert fake_github.deployments == []
    assert not (example_repo.root / STORE).exists()
    assert "was not deployed" in (tmp_path / "run" / "summary").read_text()


def test_rollback_restores_the_previous_artifact_byte_for_byte_and_gto_agrees(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = example_repo
    first = repo.head()
    assert run_cli("deploy", cwd=repo.root, env=deploy_env(repo, fake_github, tmp_path / "1")).returncode == 0
    v1 = (repo.root / STORE / "v0.0.1" / "model.pkl").read_bytes()
    retrain_with(repo, 60, "More trees")
    assert run_cli("deploy", cwd=repo.root, env=deploy_env(repo, fake_github, tmp_path / "2")).returncode == 0
    assert (repo.root / STORE / "current" / "model.pkl").read_bytes() != v1
    runner = clone(repo.origin, tmp_path / "runner")  # a fresh runner: no DVC cache, so the DVC remote
    env = deploy_env(repo, fake_github, tmp_path / "3")

    proc = run_cli("rollback", "classifier", cwd=runner, env=env)

    assert proc.returncode == 0, proc.stderr
    assert (runner / STORE / "current" / "model.pkl").read_bytes() == v1
    assert remote_tags(repo.origin)["classifier#prod#3"] == first  # re-assignment, GTO-style
    shown = run_cli("registry", "--format", "json", cwd=runner)  # the real `gto show` agrees
    (ours,) = json.loads(shown.stdout)["models"]
    theirs = gto_show(runner, "classifier")
    assert {v["version"]: v["commit"] for v in ours["versions"]} == {
        v["version"]: v["commit_hexsha"] for v in theirs
    }
    assert ours["stages"] == gto_show(runner)["classifier"]["stage"] == {"prod": "v0.0.1"}
    rolled = fake_github.deployments[0]
    assert (rolled["sha"], rolled["payload"]["version"]) == (first, "v0.0.1")
    assert statuses(fake_github, rolled) == ["in_progress", "success"]
    assert "Rolled back from | `v0.0.2`" in (tmp_path / "3" / "summary").read_text()


def test_rollback_to_an_unknown_version_lists_the_known_ones(example_repo: ExampleRepo) -> None:
    assert run_cli("deploy", cwd=example_repo.root).returncode == 0

    proc = run_cli("rollback", "--to", "v9.9.9", cwd=example_repo.root)  # NAME: the only model

    assert proc.returncode == 2
    assert "no registered version v9.9.9" in proc.stderr and "v0.0.1" in proc.stderr


def test_offline_the_deployment_goes_to_the_outbox(example_repo: ExampleRepo) -> None:
    proc = run_cli("deploy", cwd=example_repo.root)

    assert proc.returncode == 0, proc.stderr
    assert "no GitHub token" in proc.stdout
    state = json.loads((example_repo.root / ".mlci/outbox/state.json").read_text())
    (deployment,) = state["deployments"]
    assert deployment["environment"] == "production" and deployment["sha"] == example_repo.head()
    assert [s["state"] for s in reversed(deployment["statuses"])] == ["in_progress", "success"]


def test_a_failing_command_target_records_a_failure_and_assigns_no_stage(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["deploy"] = {
        "target": "ship",
        "targets": {"ship": {"type": "command", "run": "echo 'no quota left' >&2; exit 4"}},
    }
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("Ship with a script")

    proc = run_cli(
        "deploy", cwd=example_repo.root, env=deploy_env(example_repo, fake_github, tmp_path / "run")
    )

    assert proc.returncode == 1
    assert "exited with 4" in proc.stderr and "no quota left" in proc.stderr
    (deployment,) = fake_github.deployments
    assert statuses(fake_github, deployment) == ["in_progress", "failure"]
    assert set(remote_tags(example_repo.origin)) == {"classifier@v0.0.1"}  # registered, never promoted


def test_without_a_configured_model_deploy_says_how_to_add_one(example_repo: ExampleRepo) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    del config["models"]
    example_repo.write("mlci.yaml", yaml.safe_dump(config))

    proc = run_cli("deploy", cwd=example_repo.root)

    assert proc.returncode == 2
    assert "no model is configured" in proc.stderr and "models:" in proc.stderr
    assert example_repo.git("tag") == ""


def test_two_concurrent_deploys_of_different_commits_leave_a_consistent_registry(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    repo = example_repo
    first = repo.head()
    second = retrain_with(repo, 55, "Fifty-five trees")
    clones = [clone(repo.origin, tmp_path / name) for name in ("a", "b")]
    git(clones[0], "checkout", "-q", first)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlci", "deploy"],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for where in clones
    ]
    results = [(*p.communicate(timeout=600), p.returncode) for p in procs]

    assert [r[2] for r in results] == [0, 0], results
    tags = remote_tags(repo.origin)
    versions = {t: c for t, c in tags.items() if "@" in t}
    assert sorted(versions.values()) == sorted([first, second])  # one version per commit
    assert sorted(versions) == ["classifier@v0.0.1", "classifier@v0.0.2"]  # distinct, none reused
    stage_tags = [t for t in tags if "#prod#" in t]  # 2, or 1 when the older deploy was superseded
    assert stage_tags and len({t.rsplit("#", 1)[1] for t in stage_tags}) == len(stage_tags)
    for where in clones:
        assert local_only_tags(where) == set()
    # whichever pushed first, the later commit holds the stage: the older one never moves it back
    git(repo.root, "fetch", "-q", "--tags", "--force", "origin")
    assert gto_show(repo.root)["classifier"]["stage"]["prod"] == _version_of(tags, second)

    rerun = run_cli("deploy", cwd=clones[0])  # a re-run of the older commit's workflow

    assert rerun.returncode == 0, rerun.stderr
    assert "was registered but not deployed: a later commit" in rerun.stderr
    assert remote_tags(repo.origin) == tags


def test_three_concurrent_deploys_into_one_local_store_all_succeed_and_leave_no_staging(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    """Three runs deliver the same version into one store at once (three jobs on a self-hosted runner
    sharing a folder): each stages in a folder of its own, so none deletes another's half-built copy."""
    store = tmp_path / "shared-store"
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config.setdefault("deploy", {})["targets"] = {"local": {"type": "local", "dir": str(store)}}
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    head = example_repo.commit("Deploy into a shared store")
    example_repo.git("push", "-q", "origin", "HEAD")
    clones = [clone(example_repo.origin, tmp_path / name) for name in ("a", "b", "c")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlci", "deploy"],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for where in clones
    ]
    results = [(*p.communicate(timeout=600), p.returncode) for p in procs]

    assert [r[2] for r in results] == [0, 0, 0], results
    model_dir = store / "classifier"
    assert sorted(p.name for p in model_dir.iterdir()) == ["current", "v0.0.1"]  # no staging, no temp link
    assert (model_dir / "current").readlink() == Path("v0.0.1")
    meta = json.loads((model_dir / "current" / "metadata.json").read_text())
    assert meta["commit"] == head
    assert meta["sha256"] == sha256(model_dir / "v0.0.1" / "model.pkl")


def _version_of(tags: dict[str, str], commit: str) -> str:
    return next(t.split("@")[1] for t, c in tags.items() if "@" in t and c == commit)


def test_a_release_carries_the_model_card_and_the_artifact(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["deploy"] = {"release": True}
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("Publish releases")
    env = deploy_env(example_repo, fake_github, tmp_path / "run")

    first, again = (
        run_cli("deploy", cwd=example_repo.root, env=env),
        run_cli("deploy", cwd=example_repo.root, env=env),
    )

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    (release,) = fake_github.releases
    assert release["tag_name"] == "classifier@v0.0.1"
    assert "# Model card: classifier `v0.0.1`" in release["body"]
    asset = fake_github.asset(release["id"], "classifier-v0.0.1-model.pkl")
    assert asset == (example_repo.root / "models/model.pkl").read_bytes()
    assert fake_github.latest_release_id is None  # the repository's "Latest release" stays the software's


def test_an_interrupted_deployment_written_by_another_tool_with_a_string_payload_is_left_alone(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub returns the payload another tool sent as a string (JSON text or plain): cleaning up
    interrupted deploys must read every shape, and close only mlci's own."""
    from mlci.github.client import GitHubClient

    client = GitHubClient(fake_github.token, fake_github.repository, fake_github.url)
    head = example_repo.head()
    foreign = [
        client.create_deployment(head, "production", payload=None),
        client.create_deployment(head, "production", payload=None),
    ]
    stored = {d["id"]: d for d in fake_github.deployments}
    stored[foreign[0]["id"]]["payload"] = '{"model": "other-tool"}'  # as GitHub stores a string payload
    stored[foreign[1]["id"]]["payload"] = "deploy via chatops"
    interrupted = client.create_deployment(head, "production", payload={"model": "classifier"})
    client.create_deployment_status(interrupted["id"], "in_progress")

    proc = run_cli(
        "deploy", cwd=example_repo.root, env=deploy_env(example_repo, fake_github, tmp_path / "run")
    )

    assert proc.returncode == 0, proc.stderr
    assert statuses(fake_github, interrupted) == ["in_progress", "error"]
    assert all(fake_github.deployment_statuses.get(d["id"], []) == [] for d in foreign)


def test_an_artifact_missing_from_cache_and_remote_is_a_clear_error_before_any_tag(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    runner = clone(example_repo.origin, tmp_path / "runner")  # no DVC cache here
    shutil.rmtree(example_repo.remote)
    example_repo.remote.mkdir()  # the remote lost its files

    proc = run_cli("deploy", cwd=runner)

    assert proc.returncode == 2
    assert "DVC remote 'storage'" in proc.stderr and "lacks the objects" in proc.stderr, proc.stderr
    assert "dvc push" in proc.stderr
    assert git(runner, "tag") == "" and remote_tags(example_repo.origin) == {}


def test_every_models_gates_pass_before_any_model_is_deployed(example_repo: ExampleRepo) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["models"]["strict-classifier"] = {"path": "models/model.pkl"}
    config["gates"].append({"metric": "test.accuracy", "model": "strict-classifier", "min": 0.99})
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("A second, stricter model")

    proc = run_cli("deploy", cwd=example_repo.root)

    assert proc.returncode == 1
    assert "strict-classifier was not deployed" in proc.stderr
    assert example_repo.git("tag") == "" and remote_tags(example_repo.origin) == {}  # not even `classifier`


def test_a_model_name_gto_cannot_read_back_is_refused(example_repo: ExampleRepo) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["models"] = {"my model#2": {"path": "models/model.pkl"}}
    example_repo.write("mlci.yaml", yaml.safe_dump(config))

    proc = run_cli("deploy", cwd=example_repo.root)

    assert proc.returncode == 2
    assert "cannot be used in a registry tag" in proc.stderr and "GTO" in proc.stderr


def test_a_deploy_killed_midway_is_finished_by_its_re_run(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["deploy"] = {"targets": {"crash": {"type": "command", "run": "kill -9 $PPID"}}}  # kills mlci
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("A target that dies")
    env = deploy_env(example_repo, fake_github, tmp_path / "run")

    killed = run_cli("deploy", "--target", "crash", cwd=example_repo.root, env=env)

    assert killed.returncode == -9
    assert set(remote_tags(example_repo.origin)) == {"classifier@v0.0.1"}  # registered, no stage
    assert local_only_tags(example_repo.root) == set()
    (stuck,) = fake_github.deployments
    assert statuses(fake_github, stuck) == ["in_progress"]

    rerun = run_cli("deploy", cwd=example_repo.root, env=env)

    assert rerun.returncode == 0, rerun.stderr
    assert set(remote_tags(example_repo.origin)) == {"classifier@v0.0.1", "classifier#prod#1"}
    assert statuses(fake_github, stuck) == ["in_progress", "error"]
    assert statuses(fake_github, fake_github.deployments[0]) == ["in_progress", "success"]
    meta = json.loads((example_repo.root / STORE / "current" / "metadata.json").read_text())
    assert meta["version"] == "v0.0.1"
