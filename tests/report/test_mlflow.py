"""`mlci report` with an `mlflow:` section: the runs of base and head from a real MLflow server.

MLflow's own client is the oracle: the run the report shows for a commit is the one MLflow's search
returns by the documented rule, and its metrics and params are the ones MLflow holds.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import yaml

from tests.report.test_cli import PR, feature_branch, github_env, pr_payload
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.mlflow_server import MlflowServer
from tests.testing.storage import free_port


def configure(repo: ExampleRepo, experiment: str, **extra: Any) -> None:
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    config["mlflow"] = {"experiment": experiment}
    config["gates"] = []  # the example's own gates are not what these tests are about
    config.update(extra)
    repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))


def report_json(repo: ExampleRepo, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    proc = run_cli("report", "--format", "json", *args, cwd=repo.root, env=env)
    document = json.loads(proc.stdout) if proc.returncode in (0, 1) and proc.stdout.strip() else None
    return proc.returncode, document, proc.stderr


def mlflow_rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in document["metrics"] if m["file"] == "mlflow"}


def random_metrics(rng: random.Random) -> dict[str, float]:
    return {"accuracy": round(rng.uniform(0.5, 0.99), 6), "val_loss": round(rng.uniform(0.01, 2.0), 6)}


def test_runs_at_both_sides_are_compared_gated_and_linked(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    rng = random.Random(32)
    name, experiment = mlflow_tracking.experiment()
    base, head = feature_branch(example_repo)
    old, new = random_metrics(rng), random_metrics(rng)
    base_run = mlflow_tracking.log_run(experiment, base, old, {"lr": "0.1"})
    head_run = mlflow_tracking.log_run(experiment, head, new, {"lr": "0.05", "depth": "3"})
    # a gate on an MLflow metric, with a bound the head value decides (computed, both ways)
    gate = {"metric": "mlflow:accuracy", "min": new["accuracy"] - 0.001}
    configure(example_repo, name, gates=[gate])
    code, document, stderr = report_json(example_repo, "--base", base, "--head", head)
    assert code == 0, stderr
    oracle = {run: mlflow_tracking.client().get_run(run).data for run in (base_run, head_run)}
    rows = mlflow_rows(document)
    assert set(rows) == set(oracle[head_run].metrics)
    for key, row in rows.items():
        assert row["base"] == oracle[base_run].metrics[key] and row["head"] == oracle[head_run].metrics[key]
        assert row["change"] == oracle[head_run].metrics[key] - oracle[base_run].metrics[key]
    assert rows["val_loss"]["direction"] == "lower" and rows["accuracy"]["direction"] == "higher"
    assert any(m["file"] == "metrics.json" for m in document["metrics"])  # DVC's rows stay
    params = {p["key"]: p for p in document["params"] if p["file"] == "mlflow"}
    assert params["lr"]["base"] == "0.1" and params["lr"]["head"] == "0.05"
    assert params["depth"]["status"] == "added"
    (checked,) = document["gates"]
    assert checked["passed"] and checked["file"] == "mlflow" and checked["value"] == new["accuracy"]
    side = document["mlflow"]
    assert side["base"]["run_id"] == base_run and side["head"]["run_id"] == head_run
    assert side["head"]["url"].endswith(f"/#/experiments/{experiment}/runs/{head_run}")
    assert side["warnings"] == []
    configure(example_repo, name, gates=[{**gate, "min": new["accuracy"] + 0.001}])
    code, document, _ = report_json(example_repo, "--base", base, "--head", head)
    assert code == 1 and not document["gates"][0]["passed"]


def test_comment_and_check_run_show_the_mlflow_rows_and_links(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    name, experiment = mlflow_tracking.experiment()
    base, head = feature_branch(example_repo)
    mlflow_tracking.log_run(experiment, base, {"f1": 0.61})
    head_run = mlflow_tracking.log_run(experiment, head, {"f1": 0.72})
    configure(example_repo, name, gates=[{"metric": "mlflow:f1", "max_drop": 0.0}])
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, base, head))
    proc = run_cli("report", cwd=example_repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    (comment,) = fake_github.comments[PR]
    assert "`mlflow`" in comment["body"] and "f1" in comment["body"]
    assert f"/#/experiments/{experiment}/runs/{head_run})" in comment["body"]
    (check,) = fake_github.check_runs.values()
    assert check["conclusion"] == "success" and "f1" in check["output"]["summary"]


def test_a_side_without_a_run_is_a_named_warning(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    name, experiment = mlflow_tracking.experiment()
    base, head = feature_branch(example_repo)
    mlflow_tracking.log_run(experiment, head, {"accuracy": 0.8})
    configure(example_repo, name)
    code, document, stderr = report_json(example_repo, "--base", base, "--head", head)
    assert code == 0, stderr
    (warning,) = document["mlflow"]["warnings"]
    assert warning.startswith(f"base ({base[:7]})") and "no MLflow run" in warning
    assert f"MLflow: base ({base[:7]})" in stderr  # the annotation, outside Actions on stderr
    assert document["mlflow"]["base"]["run_id"] is None
    assert mlflow_rows(document)["accuracy"]["status"] == "added"
    markdown = run_cli("report", "--base", base, "--head", head, cwd=example_repo.root).stdout
    assert "MLflow runs not found" in markdown and f"base \\({base[:7]}\\): no MLflow run" in markdown
    # no run at head: a gate on its metric cannot pass
    configure(example_repo, name, gates=[{"metric": "mlflow:accuracy", "min": 0.0}])
    code, document, _ = report_json(example_repo, "--base", head, "--head", base)
    assert code == 1
    assert document["mlflow"]["warnings"][0].startswith(f"head ({base[:7]})")
    assert not document["gates"][0]["passed"] and document["gates"][0]["reason"] == "head value is missing"


def test_several_runs_of_one_commit_show_the_latest_finished(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    rng = random.Random(3200)
    name, experiment = mlflow_tracking.experiment()
    base, head = feature_branch(example_repo)
    now = int(time.time() * 1000)
    ends = rng.sample(range(now - 10**6, now), 4)
    for end in ends:
        mlflow_tracking.log_run(experiment, head, random_metrics(rng), end_time=end)
    mlflow_tracking.log_run(experiment, head, random_metrics(rng), status="FAILED", end_time=now + 10)
    mlflow_tracking.log_run(experiment, head, random_metrics(rng), status="RUNNING")
    configure(example_repo, name)
    code, document, stderr = report_json(example_repo, "--base", base, "--head", head)
    assert code == 0, stderr
    (expected,) = mlflow_tracking.client().search_runs(
        [experiment],
        f"tags.`mlflow.source.git.commit` = '{head}' and attributes.status = 'FINISHED'",
        order_by=["attributes.end_time DESC"],
        max_results=1,
    )
    assert expected.info.end_time == max(ends)
    assert document["mlflow"]["head"]["run_id"] == expected.info.run_id
    assert (
        "6 MLflow runs" in document["mlflow"]["head"]["note"]
        and "4 finished" in document["mlflow"]["head"]["note"]
    )
    rows = mlflow_rows(document)
    assert {k: r["head"] for k, r in rows.items()} == expected.data.metrics
    # runs that never finished are not a commit's numbers: a warning, not their values
    unfinished = example_repo.git("rev-parse", "HEAD~1")
    mlflow_tracking.log_run(experiment, unfinished, {"accuracy": 0.1}, status="RUNNING")
    code, document, _ = report_json(example_repo, "--base", unfinished, "--head", head)
    assert code == 0
    assert "none FINISHED (RUNNING)" in document["mlflow"]["warnings"][0]


def test_server_down_is_exit_2_naming_the_server_without_credentials(example_repo: ExampleRepo) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    configure(example_repo, "any")
    env = {
        "MLFLOW_TRACKING_URI": nowhere,
        "MLFLOW_TRACKING_USERNAME": "ci-bot",
        "MLFLOW_TRACKING_PASSWORD": "s3cret-password-value",
        "MLCI_RETRY_SCALE": "0",
    }
    proc = run_cli("report", "--format", "json", cwd=example_repo.root, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"the MLflow tracking server {nowhere} did not answer" in proc.stderr
    assert "(after 4 attempts)" in proc.stderr
    assert "s3cret-password-value" not in proc.stderr + proc.stdout
    assert not proc.stdout.strip()  # no half report


def test_refused_credentials_are_exit_2_and_never_printed(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    name, _ = mlflow_tracking.experiment()
    configure(example_repo, name)
    for env in (
        {"MLFLOW_TRACKING_PASSWORD": "wrong-password-value"},
        {"MLFLOW_TRACKING_TOKEN": "wrong-token-value-123"},
    ):
        proc = run_cli("report", cwd=example_repo.root, env=env)
        assert proc.returncode == 2, proc.stderr
        assert (
            f"the MLflow tracking server {mlflow_tracking.uri} refused the credentials (HTTP 401"
            in proc.stderr
        )
        assert "MLFLOW_TRACKING_TOKEN" in proc.stderr  # the hint says what to set
        assert "wrong-" not in proc.stderr + proc.stdout


def test_config_mistakes_are_exit_2_before_any_call(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    cases = [
        (
            {"experiment": "x", "tracking_uri": "https://bot:pa55word-xyz@mlflow.example.com"},
            "holds credentials",
        ),
        ({"experiment": "x", "tracking_uri": "file:///tmp/mlruns"}, "is not an http(s) URL"),
        ({"tracking_uri": mlflow_tracking.uri}, "'mlflow.experiment' is required"),
        ({"experiment": "no-such-experiment-32"}, "has no experiment named 'no-such-experiment-32'"),
    ]
    for section, message in cases:
        config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
        config["mlflow"], config["gates"] = section, []
        example_repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))
        proc = run_cli("report", cwd=example_repo.root)
        assert proc.returncode == 2 and message in proc.stderr, (section, proc.stderr)
        assert "pa55word-xyz" not in proc.stderr + proc.stdout
