"""The workflows mlci ships (action.yml, .github/workflows/) and the ones `mlci init` writes: pinned,
least-privilege, no `pull_request_target`, no expressions inside shell scripts, zizmor- and schema-clean."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.commands.init import run_init
from mlci.onboarding import example
from mlci.repo.git import git

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PIN = "0123456789abcdef0123456789abcdef01234567"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
LEVEL = {"none": 0, "read": 1, "write": 2}
# What each shipped workflow may grant, by purpose (the `mlci-` prefix of init's callers dropped).
POLICY: dict[str, dict[str, str]] = {
    "ci": {"contents": "read"},
    "dogfood": {"contents": "read"},  # runs the action on a fixture project; posts nothing
    "report": {"contents": "read", "pull-requests": "write", "checks": "write"},
    "report-post": {"actions": "read", "pull-requests": "write"},
    "train": {"contents": "write"},
    "deploy": {"contents": "write", "deployments": "write"},
    "rollback": {"contents": "write", "deployments": "write"},
    "monitor": {"contents": "write", "pull-requests": "write", "actions": "write"},
}


@pytest.fixture(scope="module")
def init_workflows(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """What `mlci init --ref PIN` writes into the example project."""
    root = tmp_path_factory.mktemp("init") / "project"
    root.mkdir()
    example.write_project(root)
    (root / "mlci.yaml").unlink()
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    run_init(ref=PIN, force=True, dry_run=False, start=root)
    return sorted((root / ".github" / "workflows").glob("*.yml"))


def shipped_workflows() -> list[Path]:
    return sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def triggers(workflow: dict[str, Any]) -> list[str]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    if isinstance(on, str):
        return [on]
    return list(on) if on else []


def steps(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in (doc.get("jobs") or {}).values():
        yield from job.get("steps") or []
    yield from (doc.get("runs") or {}).get("steps") or []  # a composite action


def uses(doc: dict[str, Any]) -> list[str]:
    found = [str(s["uses"]) for s in steps(doc) if "uses" in s]
    found += [str(job["uses"]) for job in (doc.get("jobs") or {}).values() if "uses" in job]
    return found


def purpose(path: Path) -> str:
    return path.stem.removeprefix("mlci-")


def all_files(init_workflows: list[Path]) -> list[Path]:
    return [ROOT / "action.yml", *shipped_workflows(), *init_workflows]


def test_every_action_and_reusable_workflow_is_pinned_by_a_full_commit_sha(
    init_workflows: list[Path],
) -> None:
    checked = 0
    for path in all_files(init_workflows):
        for ref in uses(load(path)):
            checked += 1
            assert ref.startswith("./") or SHA_PIN.match(ref), f"{path.name}: `uses: {ref}` is not SHA-pinned"
    assert checked >= 20  # the files really were read


def test_top_level_permissions_are_empty_or_read_only_and_jobs_get_only_their_purpose(
    init_workflows: list[Path],
) -> None:
    for path in [*shipped_workflows(), *init_workflows]:
        workflow = load(path)
        assert "permissions" in workflow, f"{path.name}: no top-level `permissions:`"
        top = workflow["permissions"] or {}
        assert isinstance(top, dict) and all(v in ("read", "none") for v in top.values()), path.name
        allowed = POLICY[purpose(path)]
        for name, job in workflow["jobs"].items():
            granted = job.get("permissions")
            assert isinstance(granted, dict), f"{path.name}: job {name} does not list its permissions"
            for scope, level in granted.items():
                assert LEVEL[level] <= LEVEL[allowed.get(scope, "none")], (
                    f"{path.name}: {name} gets {scope}: {level}"
                )


def test_init_callers_grant_exactly_what_the_reusable_workflow_uses(init_workflows: list[Path]) -> None:
    """A caller caps the called workflow's token: more than its jobs use is a needless grant."""
    for path in init_workflows:
        for name, job in load(path)["jobs"].items():
            called = re.search(r"/\.github/workflows/([\w.-]+)@", str(job.get("uses", "")))
            assert called, f"{path.name}: job {name} does not call an mlci workflow"
            needed: dict[str, int] = {}
            for inner in load(ROOT / ".github" / "workflows" / called.group(1))["jobs"].values():
                for scope, level in (inner.get("permissions") or {}).items():
                    needed[scope] = max(needed.get(scope, 0), LEVEL[level])
            granted = {scope: LEVEL[level] for scope, level in job["permissions"].items()}
            assert granted == needed, (
                f"{path.name}: grants {job['permissions']}, {called.group(1)} uses {needed}"
            )


def test_no_workflow_runs_on_pull_request_target(init_workflows: list[Path]) -> None:
    for path in [*shipped_workflows(), *init_workflows]:
        assert "pull_request_target" not in triggers(load(path)), path.name


def test_no_expression_inside_a_shell_script(init_workflows: list[Path]) -> None:
    """`${{ }}` in `run:` is pasted into the script before it runs: a PR title could become code."""
    scripts = 0
    for path in all_files(init_workflows):
        for step in steps(load(path)):
            if "run" in step:
                scripts += 1
                assert "${{" not in str(step["run"]), (
                    f"{path.name}: step {step.get('name')!r} has ${{{{ in run:"
                )
    assert scripts >= 10


def test_zizmor_finds_nothing_and_the_github_schemas_accept_every_file(init_workflows: list[Path]) -> None:
    workflows = [str(p) for p in [*shipped_workflows(), *init_workflows]]
    zizmor = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", str(ROOT / "action.yml"), *workflows],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    for schema, files in (
        ("vendor.github-workflows", workflows),
        ("vendor.github-actions", [str(ROOT / "action.yml")]),
    ):
        check = subprocess.run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *files],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def _reusable() -> list[Path]:
    return [p for p in shipped_workflows() if "workflow_call" in triggers(load(p))]


def test_reusable_workflows_install_only_a_package_the_caller_pins() -> None:
    """No default for `mlci-package`: an unpinned name would install whatever the index serves under it,
    into a job holding a write token."""
    for path in _reusable():
        spec = load(path)
        inputs = (spec.get("on", spec.get(True)) or {})["workflow_call"]["inputs"]
        assert inputs["mlci-package"].get("required") is True and "default" not in inputs["mlci-package"], (
            path.name
        )


def test_every_job_takes_the_runner_from_the_input_and_has_a_time_limit() -> None:
    for path in _reusable():
        for name, job in load(path)["jobs"].items():
            # light jobs (affected, commit) may take the light runner input instead
            runner = str(job["runs-on"])
            assert re.search(r"inputs\.(light-)?runs-on", runner) and "fromJSON" in runner, (path.name, name)
            assert "timeout-minutes" in job, (path.name, name)


def test_reports_queue_per_pull_request_and_deploys_share_one_queue_per_environment() -> None:
    report = load(ROOT / ".github" / "workflows" / "report.yml")["jobs"]["report"]["concurrency"]
    assert "pull_request.number" in report["group"] and report["cancel-in-progress"] is True
    groups = {
        name: load(ROOT / ".github" / "workflows" / f"{name}.yml")["jobs"] for name in ("deploy", "rollback")
    }
    (deploy,) = [j["concurrency"]["group"] for j in groups["deploy"].values()]
    (rollback,) = [j["concurrency"]["group"] for j in groups["rollback"].values()]
    assert deploy == rollback and "inputs.environment" in deploy
