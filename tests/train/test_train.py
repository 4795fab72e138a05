"""`mlci train` on the real example pipeline: fresh clones with an empty cache, a local DVC remote."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import actions_env, load_event, read_outputs, run_cli
from tests.testing.train import RUNS_LOG, count_stage_runs, fresh_clone, runs, set_yaml

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def counted_template(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained example whose stages log each real run; trained and pushed once per module."""
    base = tmp_path_factory.mktemp("counted")
    shutil.copytree(
        _example_template, base, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("home")
    )
    root = base / "work"
    git(root, "remote", "set-url", "origin", str(base / "origin.git"))
    example.dvc(root, "remote", "modify", "storage", "url", str(base / "dvc-remote"))
    count_stage_runs(root)
    os.environ[RUNS_LOG] = str(base / "setup-runs.log")
    try:
        example.train_and_publish(root, "Count stage runs")
    finally:
        del os.environ[RUNS_LOG]
    return base


@dataclass
class Runner:
    """A CI runner's view: a fresh clone with an empty DVC cache, and its own copy of the remotes."""

    root: Path
    origin: Path
    remote: Path
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {RUNS_LOG: str(self.log), **extra}

    def train(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        proc = run_cli("train", *args, cwd=self.root, env={**self.env(), **(env or {})})
        return proc.returncode, proc.stdout, proc.stderr

    def result(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.root / ".mlci" / "train" / "result.json").read_text())
        return data

    def outcomes(self) -> dict[str, str]:
        stages = self.result()["stages"]
        assert isinstance(stages, list)
        return {s["name"]: s["outcome"] for s in stages}

    def clone(self, name: str, branch: str = "main") -> Runner:
        root = fresh_clone(self.origin, self.root.parent / name, branch)
        example.dvc(root, "remote", "modify", "--local", "storage", "url", str(self.remote))
        return Runner(root, self.origin, self.remote, self.root.parent / f"{name}.log")


@pytest.fixture
def runner(counted_template: Path, tmp_path: Path) -> Runner:
    project = tmp_path / "project"
    shutil.copytree(counted_template, project, symlinks=True)
    first = Runner(project / "work", project / "origin.git", project / "dvc-remote", tmp_path / "unused.log")
    return first.clone("runner")


def test_unchanged_commit_in_a_fresh_clone_recomputes_nothing(runner: Runner, tmp_path: Path) -> None:
    env = actions_env(tmp_path / "gha", "push", load_event("push/branch"))
    code, out, err = runner.train(env=env)
    assert code == 0, err
    assert runs(runner.log) == []  # no stage command ran
    assert runner.outcomes() == {"prepare": "unchanged", "train": "unchanged", "evaluate": "unchanged"}
    assert not (runner.root / "models" / "model.pkl").exists()  # nothing downloaded either
    outputs = read_outputs(tmp_path / "gha" / "output")
    assert outputs["changed"] == "false"
    assert json.loads(outputs["stages-run"]) == []
    assert json.loads(outputs["metrics-files"]) == ["metrics.json"]
    assert "::group::dvc repro" in out and "::endgroup::" in out
    summary = (tmp_path / "gha" / "summary").read_text()
    assert "| `train` | ✅ unchanged |" in summary and "Nothing new to push" in summary
    assert git(runner.root, "status", "--porcelain") == ""


def test_param_change_runs_dependent_stages_and_the_next_runner_restores_them(
    runner: Runner, tmp_path: Path
) -> None:
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 25)
    env = actions_env(tmp_path / "gha", "push", load_event("push/branch"))
    code, _, err = runner.train("--format", "json", env=env)
    assert code == 0, err
    assert runs(runner.log) == ["train", "evaluate"]
    assert runner.outcomes() == {"prepare": "restored", "train": "ran", "evaluate": "ran"}
    outputs = read_outputs(tmp_path / "gha" / "output")
    assert json.loads(outputs["stages-run"]) == ["train", "evaluate"]
    assert json.loads(outputs["stages-restored"]) == ["prepare"]
    assert outputs["changed"] == "true"
    result = runner.result()
    assert result["changed"] is True and result["pushed"] is True
    # DVC's own view: nothing is only local ("new") or lost ("missing"); raw data stayed remote-only
    status = json.loads(example.dvc(runner.root, "status", "--cloud", "--json"))
    assert status == {"data/raw.csv": "deleted"}

    other = runner.clone("second")
    set_yaml(other.root / "params.yaml", "train.n_estimators", 25)
    code, _, err = other.train()
    assert code == 0, err
    assert runs(other.log) == []  # restored from the run-cache, metrics and plots included
    assert other.outcomes() == {"prepare": "restored", "train": "restored", "evaluate": "restored"}
    assert (other.root / "metrics.json").read_text() == (runner.root / "metrics.json").read_text()
    assert (other.root / "dvc.lock").read_text() == (runner.root / "dvc.lock").read_text()


def test_stages_restored_from_a_local_run_cache_are_pushed_to_a_remote_that_lacks_them(
    runner: Runner, tmp_path: Path
) -> None:
    """A runner whose DVC cache (brought back by actions/cache) has a run the remote never got: the
    restored results reach the remote, or deploy would find nothing."""
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 25)
    assert runner.train("--no-push")[0] == 0  # ran here only: in the local cache and run-cache
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 26)
    assert runner.train("--no-push")[0] == 0
    empty = tmp_path / "new-remote"
    empty.mkdir()
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", str(empty))
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 25)
    code, _, err = runner.train()
    assert code == 0, err
    assert runner.outcomes()["train"] == "restored" and runner.result()["pushed"] is True
    status = json.loads(example.dvc(runner.root, "status", "--cloud", "--json"))
    assert not [path for path, state in status.items() if state == "new"], status  # nothing only local


def test_named_model_runs_only_its_stages(runner: Runner) -> None:
    set_yaml(runner.root / "params.yaml", "train.max_depth", 3)
    code, _, err = runner.train("classifier", "--no-push")
    assert code == 0, err
    assert runs(runner.log) == ["train"]  # evaluate is downstream of the model, not needed for it
    assert set(runner.outcomes()) == {"prepare", "train"}
    assert runner.result()["pushed"] is False


def test_unknown_model_is_a_usage_error(runner: Runner) -> None:
    code, _, err = runner.train("no-such-model")
    assert code == 2
    assert "no model named 'no-such-model' in mlci.yaml (models: classifier)" in err


def test_missing_remote_folder_fails_before_running(runner: Runner) -> None:
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 26)
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", str(runner.remote) + "-gone")
    code, _, err = runner.train()
    assert code == 2
    assert "DVC remote 'storage'" in err and "-gone" in err
    assert "dvc remote modify storage url" in err
    assert runs(runner.log) == []


def test_remote_without_the_data_names_the_remote(runner: Runner, tmp_path: Path) -> None:
    empty = tmp_path / "empty-remote"
    empty.mkdir()
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", str(empty))
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 27)
    code, _, err = runner.train()
    assert code == 2, err
    assert "DVC remote 'storage'" in err and "not in the remote" in err
    assert "dvc push --run-cache -r storage" in err


def test_unconfigured_remote_names_it_and_lists_the_known_ones(runner: Runner) -> None:
    (runner.root / "mlci.yaml").write_text("train:\n  remote: backup\n")
    code, _, err = runner.train()
    assert code == 2
    assert "DVC remote 'backup' is not configured" in err and "storage" in err
    assert "dvc remote add backup" in err


def test_no_remote_at_all(runner: Runner) -> None:
    example.dvc(runner.root, "remote", "remove", "storage")
    code, _, err = runner.train()
    assert code == 2
    assert "no DVC remote" in err and "dvc remote add -d" in err


def test_failing_stage_is_reported_by_name(runner: Runner, tmp_path: Path) -> None:
    (runner.root / "src" / "train.py").write_text("raise SystemExit('boom: bad data')\n")
    env = actions_env(tmp_path / "gha", "push", load_event("push/branch"))
    code, _, err = runner.train(env=env)
    assert code == 2
    assert "stage 'train' failed" in err and "dvc repro train" in err
    assert "❌ stage 'train' failed" in (tmp_path / "gha" / "summary").read_text()


def test_a_failing_stage_leaves_its_git_tracked_results_as_they_were_and_no_result_file(
    runner: Runner,
) -> None:
    """evaluate's metrics and plots (`cache: false`, in git): DVC removes them before running the stage;
    the stage fails; they are put back, and no earlier run's result file is left to read as this one's."""
    assert runner.train()[0] == 0 and (runner.root / ".mlci" / "train" / "result.json").exists()
    tracked = {p: (runner.root / p).read_bytes() for p in ("metrics.json", "plots/roc.json")}
    (runner.root / "src" / "evaluate.py").write_text("raise SystemExit('boom: bad model')\n")
    code, _, err = runner.train()
    assert code == 2 and "stage 'evaluate' failed" in err
    assert "put back as they were before the run" in err
    pending = git(runner.root, "status", "--porcelain", "--untracked-files=no").splitlines()
    assert [line.split()[-1] for line in pending] == ["src/evaluate.py"], pending
    assert {p: (runner.root / p).read_bytes() for p in tracked} == tracked
    assert not (runner.root / ".mlci" / "train" / "result.json").exists()


def test_commit_back_to_the_pull_request_branch(runner: Runner, tmp_path: Path) -> None:
    git(runner.root, "checkout", "-q", "-b", "feature")
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 30)
    git(runner.root, "commit", "-q", "-am", "More trees")
    git(runner.root, "push", "-q", "origin", "feature")
    head = git(runner.root, "rev-parse", "HEAD")
    payload = load_event("pull_request/opened")
    payload["pull_request"]["head"].update(sha=head, ref="feature")
    payload["pull_request"]["head"]["repo"] = dict(payload["repository"], fork=False)
    env = actions_env(tmp_path / "gha", "pull_request", payload)

    code, _, err = runner.train("--commit", env=env)
    assert code == 0, err
    outputs = read_outputs(tmp_path / "gha" / "output")
    assert outputs["changed"] == "true"
    pushed = git(runner.origin, "rev-parse", "refs/heads/feature")
    assert outputs["commit"] == pushed != head
    assert git(runner.origin, "log", "-1", "--format=%s", "feature") == "mlci: update results [skip ci]"
    files = git(runner.origin, "diff", "--name-only", head, pushed).splitlines()
    assert "dvc.lock" in files and "metrics.json" in files
    assert "params.yaml" not in files

    # the next run on the pushed commit finds nothing to change: no commit, so no loop
    again = runner.clone("again", branch="feature")
    payload["pull_request"]["head"]["sha"] = pushed
    env = actions_env(tmp_path / "gha2", "pull_request", payload)
    code, _, err = again.train("--commit", env=env)
    assert code == 0, err
    assert read_outputs(tmp_path / "gha2" / "output")["changed"] == "false"
    assert git(runner.origin, "rev-parse", "refs/heads/feature") == pushed
    assert runs(again.log) == []


def test_commit_refuses_the_merge_commit_checkout(runner: Runner, tmp_path: Path) -> None:
    base = git(runner.root, "rev-parse", "HEAD")
    git(runner.root, "checkout", "-q", "-b", "feature")
    (runner.root / "notes.txt").write_text("x\n")
    git(runner.root, "add", "notes.txt")
    git(runner.root, "commit", "-q", "-m", "notes")
    head = git(runner.root, "rev-parse", "HEAD")
    git(runner.root, "checkout", "-q", "--detach", base)
    (runner.root / "other.txt").write_text("y\n")
    git(runner.root, "add", "other.txt")
    git(runner.root, "commit", "-q", "-m", "main moved")
    git(runner.root, "merge", "-q", "--no-edit", head)  # what refs/pull/N/merge looks like
    payload = load_event("pull_request/opened")
    payload["pull_request"]["head"].update(sha=head, ref="feature")
    payload["pull_request"]["head"]["repo"] = dict(payload["repository"], fork=False)
    code, _, err = runner.train("--commit", env=actions_env(tmp_path / "gha", "pull_request", payload))
    assert code == 2
    assert "merge commit" in err and "github.head_ref" in err
    assert runs(runner.log) == []


def test_workflow_commands_from_stage_output_are_inert(runner: Runner, tmp_path: Path) -> None:
    script = runner.root / "src" / "train.py"
    script.write_text("print('::error::forged by the pull request')\n" + script.read_text())
    env = actions_env(tmp_path / "gha", "push", load_event("push/branch"))
    code, out, err = runner.train("--no-push", env=env)
    assert code == 0, err
    start = out.index("::stop-commands::")
    token = out[start:].splitlines()[0].split("::")[2]
    # the line itself is neutralised too (mlci's output guard); stop-commands is the second wall
    assert ": :error::forged" in out and "\n::error::forged" not in out
    assert out.index(": :error::forged") > start
    assert out.index(f"::{token}::") > out.index(": :error::forged")


def test_json_format_keeps_stdout_parseable(runner: Runner) -> None:
    code, out, err = runner.train("--format", "json", "--no-push")
    assert code == 0, err
    data = json.loads(out)
    assert data["stages_run"] == [] and data["remote"] == "storage"
    assert "Stage 'train' didn't change" in err


def test_cloud_remote_without_dvc_plugin_says_what_to_install(runner: Runner) -> None:
    # the S3 plugin is installed for the S3 tests; Google Drive's is not
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", "gdrive://folder-id/cache")
    code, _, err = runner.train()
    assert code == 2
    assert "DVC remote 'storage' (gdrive://folder-id/cache)" in err and "pip install 'dvc-gdrive" in err
    assert runs(runner.log) == []


def test_train_remote_other_than_the_default(runner: Runner, tmp_path: Path) -> None:
    backup = tmp_path / "backup-remote"
    shutil.copytree(runner.remote, backup)
    example.dvc(runner.root, "remote", "add", "--local", "backup", str(backup))
    local_config = (runner.root / ".dvc" / "config.local").read_text()
    (runner.root / "mlci.yaml").write_text("train:\n  remote: backup\n")
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 31)
    before = {p.relative_to(runner.remote) for p in runner.remote.rglob("*")}
    code, _, err = runner.train()
    assert code == 0, err
    assert runner.outcomes()["train"] == "ran" and runner.result()["remote"] == "backup"
    assert {p.relative_to(runner.remote) for p in runner.remote.rglob("*")} == before  # default untouched
    assert json.loads(example.dvc(runner.root, "status", "--cloud", "-r", "backup", "--json")) == {
        "data/raw.csv": "deleted"
    }
    assert (runner.root / ".dvc" / "config.local").read_text() == local_config  # put back


def test_first_run_creates_the_local_remote_and_pushes(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    example.write_project(root)
    remote = tmp_path / "dvc-remote"  # not created yet: DVC makes it on the first push
    example.init_repo(root, remote, tmp_path / "origin.git")
    proc = run_cli("train", "--format", "json", cwd=root, env={RUNS_LOG: str(tmp_path / "runs.log")})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["stages_run"] == ["prepare", "train", "evaluate"] and data["pushed"] is True
    status = json.loads(example.dvc(root, "status", "--cloud", "--json"))
    assert status == {}  # everything, raw data included, is in the new remote


def test_unreachable_http_remote_names_the_remote(runner: Runner) -> None:
    # port 9 (discard) on loopback: nothing listens, the connection is refused
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", "http://127.0.0.1:9/cache")
    set_yaml(runner.root / "params.yaml", "train.n_estimators", 28)
    code, _, err = runner.train()
    assert code == 2
    assert "DVC remote 'storage' (http://127.0.0.1:9/cache)" in err
    # found by mlci's one connection to 127.0.0.1:9, before any stage or DVC transfer
    assert "is unreachable: the connection to 127.0.0.1:9 was refused" in err
    assert "dvc remote modify storage url" in err
    assert runs(runner.log) == []


def _drop_stage_outputs(root: Path, remote: Path) -> list[str]:
    """Delete from `remote` every object dvc.lock records for the stages' outputs (the raw data stays)."""
    import yaml

    lock = yaml.safe_load((root / "dvc.lock").read_text())
    dropped = []
    for stage in lock["stages"].values():
        for out in stage.get("outs") or []:
            md5 = str(out["md5"]).removesuffix(".dir")
            for path in (remote / "files" / "md5" / md5[:2]).glob(md5[2:] + "*"):
                path.unlink()
                dropped.append(out["path"])
    shutil.rmtree(remote / "runs", ignore_errors=True)  # no run-cache to restore from either
    return dropped


def test_unchanged_commit_whose_results_the_remote_lacks_runs_them(runner: Runner, tmp_path: Path) -> None:
    lacking = tmp_path / "lacking-remote"
    shutil.copytree(runner.remote, lacking)
    assert _drop_stage_outputs(runner.root, lacking)
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", str(lacking))
    code, out, err = runner.train("--format", "json")
    assert code == 0, err
    assert "lacks its outputs" in err
    # a green run did the work; evaluate's outputs are in the commit and its inputs came out the same
    assert set(runs(runner.log)) == {"prepare", "train"}
    assert json.loads(out)["stages_run"] == ["prepare", "train"]
    status = example.dvc(runner.root, "status", "--cloud", "--json")
    assert "missing" not in status and "new" not in status  # and the remote holds the results now


def test_unchanged_commit_with_an_empty_remote_is_not_green(runner: Runner, tmp_path: Path) -> None:
    empty = tmp_path / "empty-remote"
    empty.mkdir()
    example.dvc(runner.root, "remote", "modify", "--local", "storage", "url", str(empty))
    code, _, err = runner.train()
    assert code == 2, err
    assert "DVC remote 'storage'" in err and "not in the remote" in err
    assert runs(runner.log) == []


def test_the_users_own_edits_are_not_results_and_are_never_committed(runner: Runner) -> None:
    ignore, readme = runner.root / ".gitignore", runner.root / "README.md"
    ignore.write_text(ignore.read_text() + "scratch/\n")
    readme.write_text("# my notes, not ready to commit\n")
    head = git(runner.root, "rev-parse", "HEAD")

    code, out, err = runner.train("--commit")

    assert code == 0, err
    assert runs(runner.log) == []
    assert "changed: no" in out and "committed" not in out
    assert runner.result()["changed"] is False
    assert git(runner.root, "rev-parse", "HEAD") == head
    assert git(runner.root, "rev-parse", "refs/heads/main") == git(runner.origin, "rev-parse", "main")
    pending = git(runner.root, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(line.split()[-1] for line in pending) == [".gitignore", "README.md"]
    assert ignore.read_text().endswith("scratch/\n")


def test_a_new_output_commits_only_dvcs_ignore_entries_beside_the_users_edit(runner: Runner) -> None:
    ignore = runner.root / ".gitignore"
    ignore.write_text(ignore.read_text() + "scratch/\n")
    dvc_yaml = runner.root / "dvc.yaml"
    data = yaml.safe_load(dvc_yaml.read_text())
    data["stages"]["extra"] = {
        "cmd": "python -c \"open('extra.bin', 'w').write('x')\"",
        "deps": ["src/train.py"],
        "outs": ["extra.bin"],
    }
    dvc_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    git(runner.root, "commit", "-q", "-m", "An extra stage", "--", "dvc.yaml")
    head = git(runner.root, "rev-parse", "HEAD")

    code, out, err = runner.train("--commit", "--no-push")

    assert code == 0, err
    assert "changed: yes" in out and "committed" in out
    committed = git(runner.root, "show", "HEAD:.gitignore")
    assert "/extra.bin" in committed and "scratch/" not in committed
    assert sorted(git(runner.root, "diff", "--name-only", head, "HEAD").splitlines()) == [
        ".gitignore",
        "dvc.lock",
    ]
    assert git(runner.root, "status", "--porcelain").splitlines() == ["M .gitignore"]
    assert "scratch/" in ignore.read_text() and "/extra.bin" in ignore.read_text()
