"""Safe delivery (#34) end to end: the example project (real git, DVC, scikit-learn), the fake GitHub for
the Deployments, and a model service on loopback (`live_service`) as the target's live endpoint: the check
after delivery, the automatic rollback, canary steps and the promotion path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.test_deploy import deploy_env, retrain_with, statuses
from tests.testing.deploy import gto_show, remote_tags
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.live_service import LiveService


def configure(
    repo: ExampleRepo, service: LiveService, *, check: dict[str, Any] | None = None, **staging: Any
) -> None:
    """staging → prod, both on the service's command target; staging probes /health."""
    probe = {
        "url": service.url,
        "json": {"model.accuracy": {"min": 0.8}, "latency_ms": {"max": 200}},
        "tries": 2,
        "interval": 0.2,
        "timeout": 5,
        "deadline": 20,
    }
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    config["deploy"] = {
        "targets": {"svc": {"type": "command", "run": service.ship_command()}},
        "stages": {
            "staging": {"target": "svc", "check": check or probe, **staging},
            "prod": {"target": "svc", "environment": "production", "check": probe},
        },
    }
    repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))
    repo.commit("Deliver through staging, then prod")
    repo.git("push", "-q", "origin", "main")


def deploy(repo: ExampleRepo, fake: FakeGitHub, run: Path, *args: str) -> Any:
    return run_cli("deploy", *args, cwd=repo.root, env=deploy_env(repo, fake, run))


def stage_of(repo: ExampleRepo, stage: str = "staging") -> Any:
    shown = json.loads(run_cli("registry", "--format", "json", cwd=repo.root).stdout)
    return shown["models"][0]["stages"].get(stage)


def test_a_passed_check_assigns_the_stage_and_marks_the_deployment_success(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    configure(example_repo, live_service)

    proc = deploy(example_repo, fake_github, tmp_path / "run")

    assert proc.returncode == 0, proc.stderr
    assert live_service.probes == ["v0.0.1 100"]
    assert stage_of(example_repo) == "v0.0.1"
    (deployment,) = fake_github.deployments
    assert deployment["environment"] == "staging"  # the stage's name when it names no environment
    assert statuses(fake_github, deployment) == ["in_progress", "in_progress", "success"]
    done = fake_github.deployment_statuses[deployment["id"]][0]["description"]
    assert "check passed after 1 try" in done and "model.accuracy=0.91" in done


def test_a_failed_check_puts_the_previous_version_back_byte_for_byte_then_a_rerun_delivers(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    repo = example_repo
    configure(repo, live_service)
    assert deploy(repo, fake_github, tmp_path / "1").returncode == 0
    good = live_service.model.read_bytes()
    retrain_with(repo, 60, "More trees")
    live_service.poor.add("v0.0.2")

    proc = deploy(repo, fake_github, tmp_path / "2")

    assert proc.returncode == 1, proc.stderr
    assert "classifier v0.0.2 failed its check in staging" in proc.stderr
    assert "model.accuracy = 0.55 < min 0.8" in proc.stderr
    assert "v0.0.1 was put back and is live in staging" in proc.stderr
    assert live_service.model.read_bytes() == good
    assert live_service.deliveries()[-2:] == ["v0.0.2 100", "v0.0.1 100"]
    assert stage_of(repo) == "v0.0.1"
    rolled, failed = fake_github.deployments[0], fake_github.deployments[1]  # newest first
    assert statuses(fake_github, failed)[-1] == "failure"
    assert "0.55 < min 0.8" in fake_github.deployment_statuses[failed["id"]][0]["description"]
    assert (rolled["payload"]["version"], statuses(fake_github, rolled)[-1]) == ("v0.0.1", "success")
    assert "rolled back from v0.0.2" in fake_github.deployment_statuses[rolled["id"]][0]["description"]
    summary = (tmp_path / "2" / "summary").read_text()
    assert "failed its check in staging" in summary and "Rolled back" in summary
    history = run_cli("registry", "classifier", "--history", cwd=repo.root).stdout
    assert "rolled back from v0.0.2, which failed its check" in history
    assert gto_show(repo.root)["classifier"]["stage"] == {"staging": "v0.0.1"}  # GTO reads the same

    live_service.poor.clear()  # the service is fixed: the rerun delivers and checks again
    again = deploy(repo, fake_github, tmp_path / "3")

    assert again.returncode == 0, again.stderr
    assert stage_of(repo) == "v0.0.2"
    assert live_service.model.read_bytes() == (repo.root / "models/model.pkl").read_bytes() != good


def test_a_failed_check_with_no_previous_version_says_nothing_was_put_back(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    configure(example_repo, live_service)
    live_service.unhealthy.add("v0.0.1")

    proc = deploy(example_repo, fake_github, tmp_path / "1")

    assert proc.returncode == 1
    assert "answered 503, not 200" in proc.stderr
    assert "no earlier version held staging, so nothing was put back" in proc.stderr
    assert stage_of(example_repo) is None
    assert set(remote_tags(example_repo.origin)) == {"classifier@v0.0.1"}
    assert len(live_service.probes) == 2  # both tries
    (deployment,) = fake_github.deployments
    assert statuses(fake_github, deployment)[-1] == "failure"
    assert "nothing was put back" in (tmp_path / "1" / "summary").read_text()

    live_service.unhealthy.clear()
    assert deploy(example_repo, fake_github, tmp_path / "2").returncode == 0
    assert stage_of(example_repo) == "v0.0.1"


def test_a_check_hanging_past_its_deadline_is_stopped_and_fails(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    marker = tmp_path / "check-started"
    hang = {"run": f"touch {marker}; sleep 600", "tries": 3, "deadline": 2}
    configure(example_repo, live_service, check=hang)

    proc = deploy(example_repo, fake_github, tmp_path / "1")

    assert proc.returncode == 1
    assert "deadline of 2 s passed" in proc.stderr and "was stopped" in proc.stderr
    assert marker.exists() and stage_of(example_repo) is None
    (deployment,) = fake_github.deployments
    assert statuses(fake_github, deployment)[-1] == "failure"

    configure(example_repo, live_service)  # a working check: the rerun passes
    assert deploy(example_repo, fake_github, tmp_path / "2").returncode == 0
    assert stage_of(example_repo) is not None


def test_an_http_check_that_never_answers_fails_at_its_deadline(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    probe = {"url": live_service.url, "tries": 5, "timeout": 30, "deadline": 2}
    configure(example_repo, live_service, check=probe)
    live_service.hanging.add("v0.0.1")

    proc = deploy(example_repo, fake_github, tmp_path / "1")

    assert proc.returncode == 1
    assert "failed its check in staging" in proc.stderr
    assert len(live_service.probes) == 1 and stage_of(example_repo) is None


def test_a_rollback_whose_own_delivery_fails_names_both_versions_and_is_no_success(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    repo = example_repo
    configure(repo, live_service)
    assert deploy(repo, fake_github, tmp_path / "1").returncode == 0
    retrain_with(repo, 60, "More trees")
    live_service.unhealthy.add("v0.0.2")
    live_service.refuse("v0.0.1")

    proc = deploy(repo, fake_github, tmp_path / "2")

    assert proc.returncode == 1
    assert "classifier v0.0.2 failed its check in staging" in proc.stderr
    assert "putting v0.0.1 back failed too" in proc.stderr and "the server refused v0.0.1" in proc.stderr
    assert "the target may still hold v0.0.2" in proc.stderr
    assert [statuses(fake_github, d)[-1] for d in fake_github.deployments[:2]] == ["failure", "failure"]
    assert "failed too" in (tmp_path / "2" / "summary").read_text()

    (live_service.folder / "refuse-v0.0.1").unlink()
    live_service.unhealthy.clear()
    assert deploy(repo, fake_github, tmp_path / "3").returncode == 0
    assert stage_of(repo) == "v0.0.2"


def test_a_canary_failing_at_50_percent_rolls_back(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    repo = example_repo
    configure(repo, live_service, traffic=[10, 50, 100])
    assert deploy(repo, fake_github, tmp_path / "1").returncode == 0
    assert live_service.deliveries() == ["v0.0.1 10", "v0.0.1 50", "v0.0.1 100"]
    good = live_service.model.read_bytes()
    retrain_with(repo, 60, "More trees")
    live_service.fail_from_traffic["v0.0.2"] = 50

    proc = deploy(repo, fake_github, tmp_path / "2")

    assert proc.returncode == 1
    assert "failed its check in staging at 50% of the traffic" in proc.stderr
    assert live_service.deliveries()[3:] == ["v0.0.2 10", "v0.0.2 50", "v0.0.1 100"]
    assert live_service.model.read_bytes() == good and stage_of(repo) == "v0.0.1"

    live_service.fail_from_traffic.clear()
    assert deploy(repo, fake_github, tmp_path / "3").returncode == 0
    assert live_service.deliveries()[-3:] == ["v0.0.2 10", "v0.0.2 50", "v0.0.2 100"]


def test_a_version_reaches_prod_only_after_it_passed_staging(
    example_repo: ExampleRepo, fake_github: FakeGitHub, live_service: LiveService, tmp_path: Path
) -> None:
    repo = example_repo
    configure(repo, live_service)
    assert deploy(repo, fake_github, tmp_path / "1").returncode == 0  # v0.0.1 passes staging
    retrain_with(repo, 60, "More trees")
    live_service.unhealthy.add("v0.0.2")
    assert deploy(repo, fake_github, tmp_path / "2").returncode == 1  # v0.0.2 fails staging

    direct = deploy(repo, fake_github, tmp_path / "3", "--stage", "prod")
    promoted = run_cli(
        "promote",
        "--to",
        "prod",
        "--version",
        "v0.0.2",
        cwd=repo.root,
        env=deploy_env(repo, fake_github, tmp_path / "4"),
    )

    for refused in (direct, promoted):
        assert refused.returncode == 1
        assert "v0.0.2 cannot go to prod: it never held staging" in refused.stderr
        assert "v0.0.1 holds staging" in refused.stderr
    assert stage_of(repo, "prod") is None

    elsewhere = run_cli(
        "promote",
        "--environment",
        "staging",
        cwd=repo.root,
        env=deploy_env(repo, fake_github, tmp_path / "6"),
    )
    assert elsewhere.returncode == 2
    assert "a promotion to prod is recorded in its own GitHub environment, production" in elsewhere.stderr

    ok = run_cli("promote", cwd=repo.root, env=deploy_env(repo, fake_github, tmp_path / "5"))

    assert ok.returncode == 0, ok.stderr
    assert stage_of(repo, "prod") == "v0.0.1"
    last = fake_github.deployments[0]
    assert (last["environment"], last["payload"]["version"]) == ("production", "v0.0.1")
    history = run_cli("registry", "classifier", "--history", cwd=repo.root).stdout
    assert "promoted from staging" in history


def test_a_canary_stage_on_a_target_that_cannot_split_traffic_is_refused_before_anything_is_written(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["deploy"] = {"stages": {"staging": {"target": "local", "traffic": [10, 100]}}}
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("A canary on the local store")

    proc = deploy(example_repo, fake_github, tmp_path / "1")

    assert proc.returncode == 2
    assert "deploy.stages.staging.traffic: the target 'local' cannot split traffic" in proc.stderr
    assert remote_tags(example_repo.origin) == {} and fake_github.deployments == []
