"""The one install step (.ci/install_steps.py): every job's copy is the template's, and the script does
what it says (one resolution, DVC plugins, the lock, pip when uv cannot run, one closing line)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.testing.fixtures import ROOT


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_steps", ROOT / ".ci" / "install_steps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STEPS = _module()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _jobs() -> list[tuple[str, str, list[dict[str, Any]]]]:
    found = [("action.yml", "action", yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"])]
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            found.append((path.name, name, job.get("steps", [])))
    return found


def test_every_copy_is_the_templates() -> None:
    assert STEPS.main(["--check"]) == 0


def test_every_job_that_runs_mlci_installs_it_with_the_one_step_and_no_other() -> None:
    for file, job, steps in _jobs():
        runs = "\n".join(str(step.get("run", "")) for step in steps)
        if file == "dogfood.yml" or not any(
            line.lstrip().startswith("mlci ") or "$(mlci " in line for line in runs.splitlines()
        ):
            continue
        ids = [step.get("id") for step in steps]
        assert ids.count("mlci-install") == 1, f"{file} {job}"
        assert ids.index("mlci-uv-key") < ids.index("mlci-uv-cache") < ids.index("mlci-install"), (
            f"{file} {job}"
        )
        assert "pip install" not in runs.replace(STEPS.INSTALL_SCRIPT.strip(), ""), f"{file} {job}"


def test_the_scripts_are_identical_everywhere() -> None:
    scripts = {
        str(step["run"])
        for _, _, steps in _jobs()
        for step in steps
        if step.get("id") in ("mlci-install", "mlci-uv-key")
    }
    assert scripts == {STEPS.INSTALL_SCRIPT.lstrip("\n"), STEPS.KEY_SCRIPT.lstrip("\n")}


def test_the_cache_is_saved_only_on_a_miss_and_only_after_uv_installed() -> None:
    for file, job, steps in _jobs():
        saves = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save@")]
        for save in saves:
            assert "cache-hit != 'true'" in save["if"] and "outputs.tool == 'uv'" in save["if"], (
                f"{file} {job}"
            )


def test_workflows_whose_jobs_install_plugins_take_dvc_plugins() -> None:
    for path in [ROOT / "action.yml", *WORKFLOWS]:
        text = path.read_text()
        if "inputs.dvc-plugins" in text:
            doc = yaml.safe_load(text)
            inputs = doc["inputs"] if path.name == "action.yml" else doc[True]["workflow_call"]["inputs"]
            assert inputs["dvc-plugins"]["default"] == "", path.name


# The script itself, run by bash with stand-ins for uv, pip and mlci that record what they were asked.

_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then
  echo "pip $*" >> "$CALLS"
  if [ "$FAIL_PIP_UV" = "1" ] && [[ "$*" == *"--target"* ]]; then echo "no matching distribution" >&2; exit 1; fi
  if [[ "$*" == *"--target"* ]]; then
    target=$(printf '%s\\n' "$@" | sed -n '/--target/{{n;p}}')
    mkdir -p "$target/bin" && cp "$UV_STAND_IN" "$target/bin/uv"
  fi
  exit 0
fi
exec {python} "$@"
"""
_UV = """#!/usr/bin/env bash
[ "$1" = "--version" ] && { [ "$UV_BROKEN" = "1" ] && exit 126; echo "uv 0"; exit 0; }
echo "uv $*" >> "$CALLS"
"""
_MLCI = """#!/usr/bin/env bash
case "$*" in
  --version) echo "mlci, version 9.9.9" ;;
  "doctor --help") [ "$DOCTOR" = "1" ] && echo "  --plugins  print them" ;;
  "doctor --plugins") printf 'dvc-s3>=3,<4\\n' ;;
esac
"""


def _install(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (
        ("python", _PYTHON.format(python=sys.executable)),
        ("mlci", _MLCI),
        ("uv-stand-in", _UV),
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    base = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "CALLS": str(calls),
        "UV_STAND_IN": str(bin_dir / "uv-stand-in"),
        "MLCI_PACKAGE": "git+https://github.com/o/mlci@abc",
        "MLCI_REQUIREMENTS": "",
        "MLCI_DVC_PLUGINS": "",
        "MLCI_CONSTRAINTS": "",
        "MLCI_WORKING_DIRECTORY": ".",
        "MLCI_FIND_PLUGINS": "true",
        "MLCI_UV_VERSION": STEPS.UV_VERSION,
        "MLCI_UV_CACHE_HIT": "",
    }
    done = subprocess.run(
        ["bash", "-c", STEPS.INSTALL_SCRIPT],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, calls.read_text()


def test_one_uv_resolution_of_mlci_the_requirements_and_the_plugins(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, MLCI_REQUIREMENTS="requirements.txt", MLCI_DVC_PLUGINS="s3 gs")
    assert done.returncode == 0, done.stderr
    (uv,) = [line for line in calls.splitlines() if line.startswith("uv ")]
    assert uv.endswith("git+https://github.com/o/mlci@abc -r requirements.txt dvc-s3 dvc-gs")
    assert (
        f"pip -m pip install --disable-pip-version-check --quiet --target {tmp_path}/home/.cache/mlci-uv/uv-{STEPS.UV_VERSION}"
        in calls
    )
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("mlci install:")]
    assert "mlci, version 9.9.9 <- mlci + -r requirements.txt + dvc-s3 + dvc-gs" in line
    assert f"with uv {STEPS.UV_VERSION} (uv cache cold) in " in line
    assert "tool=uv" in (tmp_path / "output").read_text()


def test_a_restored_uv_is_not_installed_again(tmp_path: Path) -> None:
    _install(tmp_path)
    done, calls = _install(tmp_path, MLCI_UV_CACHE_HIT="true")
    assert not any(line.startswith("pip ") for line in calls.splitlines())
    assert "(uv cache restored)" in done.stdout


def test_the_lock_applies_where_the_job_has_it(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text("dvc==3.0\n")
    done, calls = _install(tmp_path, MLCI_CONSTRAINTS=str(lock))
    assert f" -c {lock} git+" in calls and "(locked)" in done.stdout


@pytest.mark.parametrize("bad", ["s3;rm", "S3", "../x"])
def test_a_plugin_name_that_is_not_one_stops_the_job(tmp_path: Path, bad: str) -> None:
    done, calls = _install(tmp_path, MLCI_DVC_PLUGINS=f"s3 {bad}")
    assert done.returncode == 2 and "::error title=mlci::dvc-plugins" in done.stdout
    assert bad not in done.stdout and "uv pip" not in calls


@pytest.mark.parametrize(
    ("env", "why"),
    [({"FAIL_PIP_UV": "1"}, "pip could not install uv"), ({"UV_BROKEN": "1"}, "does not run on this runner")],
)
def test_pip_installs_when_uv_cannot_run_and_says_why(tmp_path: Path, env: dict[str, str], why: str) -> None:
    done, calls = _install(tmp_path, MLCI_DVC_PLUGINS="azure", **env)
    assert done.returncode == 0, done.stderr
    assert "::warning title=mlci::installing with pip instead of uv: " in done.stdout and why in done.stdout
    assert calls.splitlines()[-1].endswith("--quiet git+https://github.com/o/mlci@abc dvc-azure")
    assert "with pip (uv cache cold)" in done.stdout and "tool=pip" in (tmp_path / "output").read_text()


def test_plugins_found_by_mlci_doctor_when_none_are_named(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, DOCTOR="1")
    assert calls.splitlines()[-1].endswith("dvc-s3>=3,<4") and "(found by mlci doctor)" in done.stdout
    done, calls = _install(tmp_path, DOCTOR="1", MLCI_FIND_PLUGINS="false")
    assert "dvc-s3" not in calls
    done, calls = _install(tmp_path)  # a mlci without `doctor --plugins`
    assert "dvc-s3" not in calls and done.returncode == 0
