"""`mlci init`: what it writes is valid config and workflows that pass zizmor and GitHub's schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.config import load_config
from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import run_cli

BIN = Path(sys.executable).parent
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def dvc_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    example.write_project(root)
    (root / "mlci.yaml").unlink()
    (root / ".gitignore").write_text("__pycache__/")  # no newline at the end, and no /.mlci/ yet
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    return root


def test_init_writes_config_and_pinned_workflows(dvc_project: Path) -> None:
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    workflows = sorted((dvc_project / ".github" / "workflows").glob("mlci-*.yml"))
    assert [w.name for w in workflows] == [
        "mlci-deploy.yml",
        "mlci-monitor.yml",
        "mlci-report-post.yml",
        "mlci-report.yml",
        "mlci-train.yml",
    ]
    for path in ["mlci.yaml", *(f".github/workflows/{w.name}" for w in workflows)]:
        assert f"  {path}" in proc.stdout  # it lists what it wrote
    # the one placeholder that fails every scheduled run until it is set
    assert "set `current:` in .github/workflows/mlci-monitor.yml to where your fresh" in proc.stdout
    assert "/.mlci/" in (dvc_project / ".gitignore").read_text().splitlines()
    config = load_config(dvc_project)
    assert config.models["model"].path == "models/model.pkl"
    assert config.models["model"].metrics == ("metrics.json",)
    for workflow in workflows:
        text = workflow.read_text()
        assert f"@{SHA} # mlci" in text and f"mlci@{SHA}" in text  # workflow and package: one pin


# The project's remotes → the secrets each caller passes (mlci.repo.remote.SECRETS): an S3 remote, an
# Azure one kept in config.local (as DVC's docs advise for credentials), a local folder.
REMOTES = {
    "s3": (["s3://models-bucket/dvc"], ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]),
    "azure": (
        ["--local", "azure://models/dvc"],
        ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN"],
    ),
    "local": (["../dvc-storage"], []),
}


def _add_remote(root: Path, kind: str) -> list[str]:
    args, secrets = REMOTES[kind]
    flags, url = args[:-1], args[-1]
    example.dvc(root, "remote", "add", *flags, "-d", "storage", url)
    return secrets


@pytest.mark.parametrize("kind", sorted(REMOTES))
def test_each_caller_passes_only_the_secrets_the_projects_remotes_need(dvc_project: Path, kind: str) -> None:
    from tests.testing.fixtures import ROOT

    expected = _add_remote(dvc_project, kind)
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    for name in ("train", "report", "deploy", "monitor", "report-post"):
        doc = yaml.safe_load((dvc_project / ".github" / "workflows" / f"mlci-{name}.yml").read_text())
        (job,) = doc["jobs"].values()
        passed = dict(job.get("secrets") or {})
        if name == "deploy":
            assert passed.pop("MLCI_WEBHOOK_SECRET") == "${{ secrets.MLCI_WEBHOOK_SECRET }}"
        assert list(passed) == ([] if name == "report-post" else expected), name
        assert all(value == f"${{{{ secrets.{key} }}}}" for key, value in passed.items())
        if passed:  # every secret a caller passes is one its reusable workflow declares
            called = yaml.safe_load((ROOT / ".github" / "workflows" / f"{name}.yml").read_text())
            assert set(passed) <= set(called[True]["workflow_call"]["secrets"]), name
    if expected:
        assert "  " + ", ".join(expected) + "\n" in proc.stdout
        assert (
            "DVC remote 'storage'" in proc.stdout
            and "Settings → Secrets and variables → Actions" in proc.stdout
        )
    else:
        assert "secrets: none needed (no cloud DVC remote" in proc.stdout


@pytest.mark.parametrize("kind", ["s3", "azure"])
def test_written_workflows_with_secrets_pass_zizmor_and_the_schema(dvc_project: Path, kind: str) -> None:
    _add_remote(dvc_project, kind)
    test_written_workflows_pass_zizmor_and_the_schema(dvc_project)


def test_written_workflows_pass_zizmor_and_the_schema(dvc_project: Path) -> None:
    assert run_cli("init", "--ref", SHA, cwd=dvc_project).returncode == 0
    workflows = [str(p) for p in (dvc_project / ".github" / "workflows").glob("*.yml")]
    zizmor = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", *workflows], capture_output=True, text=True
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout


def test_never_overwrites_without_force(dvc_project: Path) -> None:
    (dvc_project / "mlci.yaml").write_text("gates: []\n")
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 2
    assert "these files exist already: mlci.yaml" in proc.stderr and "--force" in proc.stderr
    assert (dvc_project / "mlci.yaml").read_text() == "gates: []\n"
    assert not (dvc_project / ".github").exists()  # nothing half-written
    assert run_cli("init", "--ref", SHA, "--force", cwd=dvc_project).returncode == 0
    assert "models:" in (dvc_project / "mlci.yaml").read_text()


def test_dry_run_writes_nothing(dvc_project: Path) -> None:
    proc = run_cli("init", "--ref", SHA, "--dry-run", cwd=dvc_project)
    assert proc.returncode == 0 and "--- .github/workflows/mlci-deploy.yml" in proc.stdout
    assert not (dvc_project / ".github").exists()


def test_outside_a_dvc_project_says_how_to_start(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    proc = run_cli("init", "--ref", SHA, cwd=tmp_path)
    assert proc.returncode == 2
    assert ".dvc/ is missing" in proc.stderr and "dvc init" in proc.stderr


def test_ref_must_be_a_full_sha(dvc_project: Path) -> None:
    proc = run_cli("init", "--ref", "v1", cwd=dvc_project)
    assert proc.returncode == 2 and "40-character commit SHA" in proc.stderr


@pytest.mark.parametrize("where", ["requirements.txt", "src/requirements.txt"])
def test_init_passes_the_projects_requirements_to_every_job_that_runs_its_code(
    dvc_project: Path, where: str
) -> None:
    (dvc_project / where).parent.mkdir(parents=True, exist_ok=True)
    (dvc_project / where).write_text("scikit-learn\n")

    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)

    assert proc.returncode == 0, proc.stderr
    workflows = dvc_project / ".github" / "workflows"
    for name in ("train", "monitor", "deploy"):
        with_ = yaml.safe_load((workflows / f"mlci-{name}.yml").read_text())["jobs"][name]["with"]
        assert with_["requirements"] == where, name
    for name in ("report", "report-post"):  # they run no project code: never install its requirements
        assert "requirements" not in (workflows / f"mlci-{name}.yml").read_text(), name
    assert f"requirements: {where}, installed as written into the project's own environment" in proc.stdout


def test_init_tells_requirements_that_will_not_resolve_before_the_first_push(dvc_project: Path) -> None:
    """A UTF-16 `pip freeze` (as PowerShell writes it) with two pins of one package: init still writes
    the workflows, and warns naming the package and both lines."""
    freeze = "tabulate==0.9.0\r\nclick==8.1.7\r\ntabulate==0.8.10\r\n"
    (dvc_project / "requirements.txt").write_bytes(b"\xff\xfe" + freeze.encode("utf-16-le"))

    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)

    assert proc.returncode == 0, proc.stderr
    assert (
        "warning: requirements.txt: tabulate: tabulate==0.9.0 (requirements.txt:1) and "
        "tabulate==0.8.10 (requirements.txt:3)" in proc.stdout
    )
    assert sorted(p.name for p in dvc_project.glob("*requirements*")) == ["requirements.txt"]


def test_init_without_a_requirements_file_writes_no_requirements(dvc_project: Path) -> None:
    assert run_cli("init", "--ref", SHA, cwd=dvc_project).returncode == 0
    assert "requirements:" not in (dvc_project / ".github" / "workflows" / "mlci-train.yml").read_text()


def test_the_retraining_branch_gets_its_train_run_out_of_the_box(dvc_project: Path) -> None:
    """mlci-monitor.yml pushes with GITHUB_TOKEN, which starts no workflow: init's config names its own
    train workflow (which has `workflow_dispatch`) for mlci to dispatch on the branch."""
    assert run_cli("init", "--ref", SHA, cwd=dvc_project).returncode == 0
    config = load_config(dvc_project)
    train = yaml.safe_load((dvc_project / ".github" / "workflows" / "mlci-train.yml").read_text())
    assert config.retrain.dispatch_workflow == "mlci-train.yml"
    assert "workflow_dispatch" in train[True]  # PyYAML reads the key `on` as True


def test_dry_run_over_existing_files_shows_a_diff_and_writes_nothing(dvc_project: Path) -> None:
    assert run_cli("init", "--ref", SHA, cwd=dvc_project).returncode == 0
    config = dvc_project / "mlci.yaml"
    edited = config.read_text().replace("gates: []", 'gates:\n  - metric: "acc"\n    min: 0.9')
    config.write_text(edited)
    before = {p: p.read_bytes() for p in dvc_project.rglob("*") if p.is_file() and ".dvc" not in p.parts}

    proc = run_cli("init", "--ref", SHA, "--dry-run", cwd=dvc_project)

    assert proc.returncode == 0, proc.stderr
    assert "--- a/mlci.yaml\n+++ b/mlci.yaml\n" in proc.stdout
    assert '-  - metric: "acc"\n' in proc.stdout and "+gates: []\n" in proc.stdout
    assert ".github/workflows/mlci-deploy.yml: unchanged" in proc.stdout
    assert ".gitignore: unchanged" in proc.stdout  # /.mlci/ is ignored already: listed like the rest
    assert "1 changed, 6 unchanged" in proc.stdout and "mlci.yaml would need --force" in proc.stdout
    after = {p: p.read_bytes() for p in dvc_project.rglob("*") if p.is_file() and ".dvc" not in p.parts}
    assert after == before


GET_STARTED = """\
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps: [data/data.xml, src/prepare.py]
    outs: [data/prepared]
  featurize:
    cmd: python src/featurization.py data/prepared data/features
    deps: [data/prepared, src/featurization.py]
    outs: [data/features]
  train:
    cmd: python src/train.py data/features model.pkl
    deps: [data/features, src/train.py]
    outs: [model.pkl]
  evaluate:
    cmd: python src/evaluate.py model.pkl data/features
    deps: [data/features, model.pkl, src/evaluate.py]
    metrics: [eval/metrics.json]
artifacts:
  text-classification:
    path: model.pkl
    type: model
    desc: Detect whether the given stackoverflow question should have R language tag.
    labels: [nlp, classification, stackoverflow]
"""


@pytest.fixture
def get_started(tmp_path: Path) -> Path:
    """The shape of iterative/example-get-started: a declared artifact, features as pickles."""
    root = tmp_path / "get-started"
    (root / "data").mkdir(parents=True)
    (root / "data" / "data.xml").write_text("<posts/>\n")
    (root / "dvc.yaml").write_text(GET_STARTED)
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    return root


def test_init_names_the_model_after_the_artifact_dvc_yaml_declares(get_started: Path) -> None:
    proc = run_cli("init", "--ref", SHA, cwd=get_started)

    assert proc.returncode == 0, proc.stderr
    config = load_config(get_started)
    assert list(config.models) == ["text-classification"]
    assert config.models["text-classification"].path == "model.pkl"


def test_a_registry_keeps_its_model_names_and_the_monitor_finds_prod(dvc_project: Path) -> None:
    git(dvc_project, "add", "-A")
    git(dvc_project, "commit", "-q", "-m", "project")
    git(dvc_project, "tag", "-a", "clf@v1.0.0", "-m", "Registering clf v1.0.0")
    git(dvc_project, "tag", "-a", "clf#prod#1", "-m", "Assigning prod to clf v1.0.0")

    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)

    assert proc.returncode == 0, proc.stderr
    assert "model names from the registry tags: clf" in proc.stdout
    config = load_config(dvc_project)
    assert list(config.models) == ["clf"] and config.models["clf"].path == "models/model.pkl"
    monitored = run_cli("registry", "--stage", "prod", "--format", "json", cwd=dvc_project)
    assert monitored.returncode == 0, monitored.stderr
    assert [entry["model"] for entry in json.loads(monitored.stdout)] == ["clf"]
    assert all(entry["model"] in config.models for entry in json.loads(monitored.stdout))


def test_data_is_set_only_to_tabular_data_mlci_can_read(get_started: Path, dvc_project: Path) -> None:
    assert run_cli("init", "--ref", SHA, cwd=get_started).returncode == 0
    text = (get_started / "mlci.yaml").read_text()
    assert load_config(get_started).models["text-classification"].data == ""  # data/features holds pickles
    assert "# data: " in text and "stage 'train' reads data/features" in text

    assert run_cli("init", "--ref", SHA, cwd=dvc_project).returncode == 0
    # inside the output folder of stage 'prepare': tracked by DVC, readable once pulled
    assert load_config(dvc_project).models["model"].data == "data/prepared/train.csv"


@pytest.mark.parametrize(
    ("dep", "exists"),
    [("data/train.tsv", True), ("data/train.jsonl", True), ("data/train.npy", True), ("train.csv", False)],
)
def test_data_is_left_out_when_mlci_cannot_read_it(tmp_path: Path, dep: str, exists: bool) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    if exists:
        (root / dep).write_text("a\tb\n1\t2\n")
    (root / "dvc.yaml").write_text(
        yaml.safe_dump({"stages": {"fit": {"cmd": "python fit.py", "deps": [dep], "outs": ["model.joblib"]}}})
    )
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")

    proc = run_cli("init", "--ref", SHA, cwd=root)

    assert proc.returncode == 0, proc.stderr
    assert load_config(root).models["model"].data == ""
    assert "# data: data/train.csv # set the reference for monitoring" in (root / "mlci.yaml").read_text()


def _project(tmp_path: Path, stages: dict[str, Any], files: dict[str, str]) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    return root


def test_an_image_project_gets_no_monitor_workflow_and_is_told_why(tmp_path: Path) -> None:
    """A daily workflow failing with "no reference data" every day is worse than none."""
    stages = {"train": {"cmd": "python train.py", "deps": ["data/images"], "outs": ["models/cnn.pt"]}}
    root = _project(tmp_path, stages, {"data/images/cat.png": "png", "data/images/dog.png": "png"})
    proc = run_cli("init", "--ref", SHA, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert not (root / ".github/workflows/mlci-monitor.yml").exists()
    assert (root / ".github/workflows/mlci-train.yml").exists()
    assert "cnn: not monitored: stage 'train' reads data/images, not a CSV or Parquet file" in proc.stdout
    assert "set `models.cnn.data`" in proc.stdout and "no monitor workflow" in proc.stdout


def test_a_folder_of_tables_is_reference_data_and_only_monitorable_models_are_monitored(
    tmp_path: Path,
) -> None:
    stages = {
        "fit": {"cmd": "python fit.py", "deps": ["data/daily"], "outs": ["models/churn.pkl"]},
        "vision": {"cmd": "python cnn.py", "deps": ["data/images"], "outs": ["models/cnn.pt"]},
    }
    files = {"data/daily/2026-01-01.csv": "a,b\n1,2\n", "data/daily/2026-01-02.csv": "a,b\n3,4\n"}
    root = _project(tmp_path, stages, {**files, "data/images/cat.png": "png"})
    example.dvc(root, "add", "-q", "data/daily")
    shutil.rmtree(root / "data" / "daily")  # not pulled: what DVC recorded (its .dir listing) says it holds
    proc = run_cli("init", "--ref", SHA, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert load_config(root).models["churn"].data == "data/daily"
    workflow = yaml.safe_load((root / ".github/workflows/mlci-monitor.yml").read_text())
    assert list(workflow["jobs"]) == ["monitor-churn"]
    assert workflow["jobs"]["monitor-churn"]["with"]["model"] == "churn"
    assert "cnn: not monitored" in proc.stdout
    lint = subprocess.run(
        [str(BIN / "zizmor"), "--offline", str(root / ".github/workflows/mlci-monitor.yml")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_report_caller_checks_merge_queue_groups(dvc_project: Path) -> None:
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    caller = yaml.safe_load((dvc_project / ".github" / "workflows" / "mlci-report.yml").read_text())
    triggers = caller[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and "merge_group" in triggers


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # a second file saved by the same stage: still one model, the one named like a model
        ({"train": ["models/model.pth"]}, {"model": "models/model.pkl"}),
        # a fitted preprocessor saved by the training stage under models/
        ({"train": ["models/preprocessor.pkl"]}, {"model": "models/model.pkl"}),
        # a preprocessor fitted upstream and read by training: an input of the model, not one
        ({"prepare": ["models/scaler.joblib"]}, {"model": "models/model.pkl"}),
    ],
)
def test_one_stage_is_one_model_and_init_says_why(
    dvc_project: Path, extra: dict[str, list[str]], expected: dict[str, str]
) -> None:
    pipeline = yaml.safe_load((dvc_project / "dvc.yaml").read_text())
    for stage, outs in extra.items():
        pipeline["stages"][stage]["outs"] += outs
        if stage == "prepare":
            pipeline["stages"]["train"]["deps"] += outs
    (dvc_project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    config = load_config(dvc_project)
    assert {name: m.path for name, m in config.models.items()} == expected
    assert "stage 'train' saves models/model.pkl" in proc.stdout
    left_out = [o for outs in extra.values() for o in outs]
    assert all(path in proc.stdout for path in left_out)  # each file left out is named, with why


def test_dvc_yaml_artifacts_decide_the_models(dvc_project: Path) -> None:
    pipeline = yaml.safe_load((dvc_project / "dvc.yaml").read_text())
    pipeline["stages"]["train"]["outs"] += ["models/model.pth"]
    pipeline["artifacts"] = {
        "forest": {"path": "models/model.pkl", "type": "model"},
        "forest-torch": {"path": "models/model.pth", "type": "model"},
    }
    (dvc_project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    assert sorted(load_config(dvc_project).models) == ["forest", "forest-torch"]
    assert "declared under `artifacts:`" in proc.stdout


def test_the_monitor_caller_offers_partitions_and_uncommented_it_is_an_input_of_monitor_yml(
    dvc_project: Path,
) -> None:
    """#35: the caller shows `partitions` commented, with its meaning; uncommented as written, it is a
    number input that monitor.yml declares (a typo there would fail only on GitHub, on the schedule)."""
    proc = run_cli("init", "--ref", SHA, cwd=dvc_project)
    assert proc.returncode == 0, proc.stderr
    text = (dvc_project / ".github/workflows/mlci-monitor.yml").read_text()
    assert all("partitions" not in job["with"] for job in yaml.safe_load(text)["jobs"].values())  # 1
    (line,) = [line for line in text.splitlines() if line.lstrip().startswith("# partitions:")]
    assert "mlci profile --partition" in text and "same verdict" in text
    caller = yaml.safe_load(text.replace(line, line.replace("# partitions:", "partitions:", 1)))
    job = next(iter(caller["jobs"].values()))
    given = job["with"]["partitions"]
    monitor = yaml.safe_load((Path(__file__).parents[2] / ".github/workflows/monitor.yml").read_text())
    declared = monitor[True]["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(declared)
    assert declared["partitions"]["type"] == "number" and declared["partitions"]["default"] == 1
    assert isinstance(given, int) and 1 < given <= 256
