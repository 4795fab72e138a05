"""The train matrix (mlci.train.matrix): every affected model is trained, on its runner, in at most 256
jobs; batches when there are more, each saying how the models were split."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlci.errors import MlciError
from mlci.repo.git import git
from mlci.train.matrix import LIMIT, plan
from tests.testing.fixtures import actions_env, load_event, read_outputs, run_cli
from tests.testing.train import many_models


@pytest.mark.parametrize("seed", range(12))
def test_every_model_lands_in_exactly_one_job_on_its_runner_and_no_matrix_exceeds_the_limit(
    seed: int,
) -> None:
    rng = random.Random(seed)
    count = rng.choice([1, 7, 255, 256, 257, 300, 511, 512, 513, 1000, 5000, rng.randint(1, 3000)])
    models = [f"m{i:05d}" for i in range(count)]
    pools = [(), ("self-hosted", "gpu"), ("self-hosted", "cpu-large"), ("arc-gpu",)]
    runners = {m: rng.choice(pools) for m in models if rng.random() < 0.5}

    jobs = plan(models, runners)

    include = jobs.matrix()["include"]
    assert len(include) <= LIMIT and jobs.batches == len(include)
    placed = [name for entry in include for name in str(entry["models"]).split()]
    assert sorted(placed) == models  # each model once
    for entry in include:
        labels = {tuple(runners.get(name, ())) for name in str(entry["models"]).split()}
        assert len(labels) == 1  # a job's models share a runner
        assert entry.get("runs-on", []) == list(next(iter(labels)))
    sizes = [len(str(e["models"]).split()) for e in include]
    assert max(sizes) == jobs.largest and max(sizes) <= -(-count // LIMIT) + len(pools)
    if count <= LIMIT:
        assert [e["model"] for e in include] == [e["models"] for e in include] and jobs.describe() == ""
    else:
        assert all(str(e["model"]).startswith("batch-") for e in include)
        assert f"{count} models in {len(include)} jobs of up to {jobs.largest} models each" in jobs.describe()


def test_batches_refuse_a_model_name_with_a_space() -> None:
    with pytest.raises(MlciError, match="has a space"):
        plan([f"model {i}" for i in range(LIMIT + 1)], {})
    assert plan(["model one"], {}).matrix()["include"] == [{"model": "model one", "models": "model one"}]


@pytest.mark.slow
def test_mlci_affected_puts_each_model_on_its_runner_and_batches_300_models_saying_so(tmp_path: Path) -> None:
    """300 models, a change that touches all of them (the shared code), two of them on a GPU runner."""
    root = many_models(tmp_path / "many", 300)
    data = yaml.safe_load((root / "mlci.yaml").read_text())
    for name in ("m007", "m123"):
        data["models"][name]["runs_on"] = ["self-hosted", "gpu"]
    (root / "mlci.yaml").write_text(yaml.safe_dump(data))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "GPU models")
    (root / "src" / "shared").mkdir(exist_ok=True)
    (root / "src" / "shared" / "util.py").write_text("CHANGED = True\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shared code")
    env = actions_env(tmp_path / "gha", "push", load_event("push/branch"))

    done = run_cli("affected", "--base", "HEAD~1", "--format", "json", cwd=root, env=env)

    assert done.returncode == 0, done.stderr
    include = json.loads(read_outputs(tmp_path / "gha" / "output")["matrix"])["include"]
    assert len(include) <= LIMIT
    assert sorted(n for e in include for n in e["models"].split()) == [f"m{i:03d}" for i in range(300)]
    (gpu,) = [e for e in include if "runs-on" in e]
    assert gpu["models"] == "m007 m123" and gpu["runs-on"] == ["self-hosted", "gpu"]
    said = f"300 models in {len(include)} jobs of up to 2 models each"
    assert f"::notice title=mlci affected::{said}" in done.stdout + done.stderr
    assert said in (tmp_path / "gha" / "summary").read_text()


@pytest.mark.parametrize("count", [0, 3, 256, 700])
def test_the_monitor_workflows_matrix_from_the_registry_list(count: int) -> None:
    """monitor.yml pipes `mlci registry --format json` into `python -m mlci.train.matrix`."""
    listed = [
        {"model": f"m{i}", "version": "v0.0.1", "commit": "0" * 40, "stage": "prod"} for i in range(count)
    ]
    done = subprocess.run(
        [sys.executable, "-m", "mlci.train.matrix"], input=json.dumps(listed), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in done.stdout.splitlines())
    include = json.loads(outputs["models"])
    assert json.loads(outputs["profiles"]) == []  # one job reads all the data: no profile job
    assert len(include) <= LIMIT
    assert sorted(n for e in include for n in e["models"].split()) == sorted(f"m{i}" for i in range(count))
    batched = count > LIMIT
    assert ("::notice title=mlci monitor::" in done.stderr) == batched


def _monitor_matrices(count: int, partitions: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    listed = [
        {"model": f"m{i}", "version": "v0.0.1", "commit": "0" * 40, "stage": "prod"} for i in range(count)
    ]
    done = subprocess.run(
        [sys.executable, "-m", "mlci.train.matrix", "--partitions", partitions],
        input=json.dumps(listed),
        capture_output=True,
        text=True,
    )
    return done, dict(line.split("=", 1) for line in done.stdout.splitlines())


@pytest.mark.parametrize(("count", "partitions"), [(1, 3), (5, 4), (70, 4), (300, 2), (2, 256)])
def test_partitioned_monitoring_runs_every_share_of_every_model_once_within_one_matrix(
    count: int, partitions: int
) -> None:
    """#35: monitor.yml's `partitions: N` gives N profile jobs per entry of the models matrix, each a
    share K/N, all in one matrix of at most 256 jobs (the models batched further when needed)."""
    done, outputs = _monitor_matrices(count, str(partitions))
    assert done.returncode == 0, done.stderr
    models, profiles = json.loads(outputs["models"]), json.loads(outputs["profiles"])
    assert 0 < len(profiles) <= LIMIT and len(profiles) == len(models) * partitions
    shares = sorted((p["models"], p["partition"]) for p in profiles)
    expected = sorted((m["models"], f"{k}/{partitions}") for m in models for k in range(1, partitions + 1))
    assert shares == expected
    assert all(p["partition"] == f"{p['index']}/{partitions}" for p in profiles)
    assert sorted(n for e in models for n in e["models"].split()) == sorted(f"m{i}" for i in range(count))


@pytest.mark.parametrize("partitions", ["0", "257", "three", "-2", "1.5", ""])
def test_a_partitions_value_no_matrix_can_run_is_a_usage_error_naming_it(partitions: str) -> None:
    done, outputs = _monitor_matrices(3, partitions)
    assert done.returncode == 2 and not outputs
    assert f"partitions is {partitions!r}" in done.stderr and "from 1" in done.stderr
