"""The one install step (.ci/install_steps.py): every job's copy is the template's, and the script does
what it says (one resolution, DVC plugins, the lock, pip when uv cannot run, one closing line)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.testing.fixtures import ROOT
from tests.testing.train import three_models


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
        assert ids.index("mlci-env-key") < ids.index("mlci-env-cache") < ids.index("mlci-install"), (
            f"{file} {job}"
        )
        assert "pip install" not in runs.replace(STEPS.INSTALL_SCRIPT.strip(), ""), f"{file} {job}"


def test_the_scripts_are_identical_everywhere() -> None:
    scripts = {
        str(step["run"])
        for _, _, steps in _jobs()
        for step in steps
        if step.get("id") in ("mlci-install", "mlci-env-key")
    }
    assert scripts == {STEPS.INSTALL_SCRIPT.lstrip("\n"), STEPS.KEY_SCRIPT.lstrip("\n")}


def test_the_environment_is_saved_only_on_a_miss_and_only_when_installed_here() -> None:
    for file, job, steps in _jobs():
        saves = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save@")]
        for save in saves:
            assert "cache-hit != 'true'" in save["if"] and "outputs.save == 'true'" in save["if"], (
                f"{file} {job}"
            )
            # under runner.temp: private to the job (one job at a time per runner), emptied by the key
            # step before the restore; never a folder of HOME that parallel jobs share. Written as
            # `~/mlci-env` with HOME set to runner.temp for the step: the same path in every job (what
            # actions/cache versions an entry by), which `${{ runner.temp }}/...` is not everywhere
            assert save["with"]["path"] == "~/mlci-env" and save["env"] == {"HOME": "${{ runner.temp }}"}
        restores = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/restore@")]
        for restore in restores:
            if restore["with"]["key"] != "${{ steps.mlci-env-key.outputs.key }}":
                # another cache, restored only (monitor.yml's profile jobs: the DVC cache its reference
                # job saves): never the environments' folder
                assert "mlci-env" not in restore["with"]["path"], f"{file} {job}"
                continue
            assert restore["with"]["path"] == "~/mlci-env", f"{file} {job}"
            assert restore["env"] == {"HOME": "${{ runner.temp }}"}, f"{file} {job}"


def test_workflows_whose_jobs_install_plugins_take_dvc_plugins() -> None:
    for path in [ROOT / "action.yml", *WORKFLOWS]:
        text = path.read_text()
        if "inputs.dvc-plugins" in text:
            doc = yaml.safe_load(text)
            inputs = doc["inputs"] if path.name == "action.yml" else doc[True]["workflow_call"]["inputs"]
            assert inputs["dvc-plugins"]["default"] == "", path.name


# The script itself, run by bash with stand-ins for uv, pip and mlci that record what they were asked.

_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m venv" ]; then
  echo "venv $*" >> "$CALLS"
  dir="${{@: -1}}" && mkdir -p "$dir/bin" && cp "$PYTHON_STAND_IN" "$dir/bin/python" && cp "$MLCI_STAND_IN" "$dir/bin/mlci"
  exit 0
fi
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
if [ "$1" = "venv" ]; then
  dir="${@: -1}" && mkdir -p "$dir/bin" && cp "$PYTHON_STAND_IN" "$dir/bin/python" && cp "$MLCI_STAND_IN" "$dir/bin/mlci"
fi
[ "$FAIL_PROJECT" = "1" ] && [[ "$*" == *"/project/bin/python -r "* ]] && { echo "error: no solution: you require click==0.0.1" >&2; exit 1; }
exit 0
"""
_MLCI = """#!/usr/bin/env bash
case "$*" in
  --version) echo "mlci, version 9.9.9" ;;
  "doctor --plugins")
    [ "$DOCTOR" = "fail" ] && { echo "error: not a DVC repository" >&2; exit 2; }
    [ "$DOCTOR" = "1" ] && printf 'dvc[s3]==3.67.1\\ndvc-gdrive\\n' ;;
esac
exit 0
"""


KEY = "mlci-env-Linux-X64-CPython3.11.7-0123456789abcdef0123"


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
        "GITHUB_PATH": str(tmp_path / "path"),
        "GITHUB_ENV": str(tmp_path / "env"),
        "CALLS": str(calls),
        "UV_STAND_IN": str(bin_dir / "uv-stand-in"),
        "PYTHON_STAND_IN": str(bin_dir / "python"),
        "MLCI_STAND_IN": str(bin_dir / "mlci"),
        "GITHUB_WORKSPACE": str(tmp_path / "ws"),
        "RUNNER_TEMP": str(tmp_path),  # the job's folder: tmp_path / "mlci-env"
        "MLCI_PACKAGE": "git+https://github.com/o/mlci@abc",
        "MLCI_REQUIREMENTS": "",
        "MLCI_DVC_PLUGINS": "",
        "MLCI_WORKING_DIRECTORY": ".",
        "MLCI_FIND_PLUGINS": "true",
        "MLCI_DATA_STACK": "true",
        "MLCI_UV_VERSION": STEPS.UV_VERSION,
        "MLCI_ENV_KEY": KEY,
        "MLCI_ENV_CACHE_HIT": "",
        "PYTHONPATH": str(ROOT / "src"),  # mlci from this checkout: its lock beside the package
    }
    (tmp_path / "ws").mkdir(exist_ok=True)
    done = subprocess.run(
        ["bash", "-c", STEPS.INSTALL_SCRIPT],
        env={**base, **env},
        cwd=tmp_path / "ws",
        capture_output=True,
        text=True,
        check=False,
    )
    return done, calls.read_text()


def _key(tmp_path: Path, package: str, **env: str) -> str:
    output = tmp_path / "key-output"
    output.write_text("")
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(tmp_path / "ws"),
        "RUNNER_TEMP": str(tmp_path / "key-temp"),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "MLCI_PACKAGE": package,
        "MLCI_DVC_PLUGINS": "",
        "MLCI_REQUIREMENTS": "",
        "MLCI_DATA_STACK": "true",
        "MLCI_FIND_PLUGINS": "true",
        "MLCI_WORKING_DIRECTORY": ".",
        "MLCI_UV_VERSION": STEPS.UV_VERSION,
    }
    (tmp_path / "ws").mkdir(exist_ok=True)
    subprocess.run(["bash", "-c", STEPS.KEY_SCRIPT], env={**base, **env}, cwd=tmp_path, check=True)
    return output.read_text().strip().removeprefix("key=")


def test_the_cache_key_follows_the_lock_inside_a_wheel_and_the_profile(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "mlci-0.1.0-py3-none-any.whl"
    keys = []
    for pin in ("tabulate==0.10.0", "tabulate==0.9.0"):
        with zipfile.ZipFile(wheel, "w") as archive:  # the one file of a wheel the key reads
            archive.writestr("mlci/constraints/runtime.txt", pin + "\n")
        keys.append(_key(tmp_path, str(wheel)))
    keys.append(_key(tmp_path, str(wheel), MLCI_DATA_STACK="false"))
    assert keys[0].startswith("mlci-env-Linux-X64-CPython") and len(set(keys)) == 3
    checkout = tmp_path / "checkout" / "constraints"  # the action: its checkout's lock
    checkout.mkdir(parents=True)
    (checkout / "runtime.txt").write_text("tabulate==0.10.0\n")
    first = _key(tmp_path, str(checkout.parent))
    (checkout / "runtime.txt").write_text("tabulate==0.9.0\n")
    assert _key(tmp_path, str(checkout.parent)) != first
    # the same action at another path (act and some runners move it from run to run): the same key
    moved = tmp_path / "moved"
    shutil.copytree(checkout.parent, moved)
    assert _key(tmp_path, str(moved)) == _key(tmp_path, str(checkout.parent))


def test_the_key_follows_the_schemes_of_the_remotes_plugins_are_found_for_not_their_paths(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project" / ".dvc"
    project.mkdir(parents=True)

    def key(config: str, **env: str) -> str:
        (project / "config").write_text(config)
        return _key(tmp_path, "mlci==0.1.0", MLCI_WORKING_DIRECTORY=str(project.parent), **env)

    local = key("[core]\n    remote = s\n['remote \"s\"']\n    url = /srv/dvc-a\n")
    assert key("[core]\n    remote = s\n['remote \"s\"']\n    url = ../elsewhere\n") == local
    s3 = key("['remote \"s\"']\n    url = s3://bucket/a\n    endpointurl = http://127.0.0.1:9000\n")
    assert s3 != local
    assert key("['remote \"t\"']\n    url = S3://other/b\n") == s3
    assert key("['remote \"s\"']\n    url = s3://b\n['remote \"t\"']\n    url = azure://c/p\n") != s3
    named = key("['remote \"s\"']\n    url = s3://bucket/a\n", MLCI_DVC_PLUGINS="s3")  # named: config unread
    assert key("['remote \"s\"']\n    url = gs://bucket/a\n", MLCI_DVC_PLUGINS="s3") == named


def test_mlci_and_its_plugins_in_one_environment_the_projects_requirements_alone_in_another(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "requirements.txt").write_text("click==8.1.7\nzc-lockfile==3.0.post1\n")
    done, calls = _install(tmp_path, MLCI_REQUIREMENTS="requirements.txt", MLCI_DVC_PLUGINS="s3 gs")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "mlci-env"
    alone, together, project = [line for line in calls.splitlines() if line.startswith("uv pip install")]
    assert alone.endswith("--no-deps git+https://github.com/o/mlci@abc")
    assert together.endswith("git+https://github.com/o/mlci@abc dvc-s3 dvc-gs")
    assert f"--python {root}/mlci/bin/python" in together and "requirements" not in together
    assert project.endswith(f"--python {root}/project/bin/python -r requirements.txt")
    assert " -c " not in project  # mlci's lock never holds the project's pins
    assert f"pip -m pip install --disable-pip-version-check --quiet --target {root}/uv uv==" in calls
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("mlci install:")]
    assert "mlci, version 9.9.9 <- mlci + dvc-s3 + dvc-gs (locked); the project's environment: " in line
    assert "-r requirements.txt (" in line and f"with uv {STEPS.UV_VERSION} (environment cold, " in line
    assert "tool=uv" in (tmp_path / "output").read_text()
    # stages find the project's Python first, mlci's command before both
    assert (tmp_path / "path").read_text().split() == [
        f"{root}/mlci/bin",
        f"{root}/project/bin",
        f"{root}/bin",
    ]
    assert f"MLCI_PROJECT_ENV={root}/project" in (tmp_path / "env").read_text()
    assert (root / "MANIFEST").is_file() and "save=true" in (tmp_path / "output").read_text()


def test_a_utf16_requirements_file_reaches_uv_as_utf8_beside_it_and_the_copy_is_removed(
    tmp_path: Path,
) -> None:
    """What `pip freeze > requirements.txt` writes in Windows PowerShell: UTF-16 with a byte-order mark."""
    (tmp_path / "ws" / "reqs").mkdir(parents=True)
    text = "click==8.1.7\r\n-r more.txt\r\n"
    (tmp_path / "ws" / "reqs" / "requirements.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    (tmp_path / "ws" / "reqs" / "more.txt").write_text("pandas\n")
    done, calls = _install(tmp_path, MLCI_REQUIREMENTS="reqs/requirements.txt")
    assert done.returncode == 0, done.stderr
    project = [line for line in calls.splitlines() if "/project/bin/python -r" in line]
    assert project and project[0].endswith("-r reqs/.mlci-utf8.requirements.txt"), calls
    assert sorted(p.name for p in (tmp_path / "ws" / "reqs").iterdir()) == ["more.txt", "requirements.txt"]


def test_requirements_that_cannot_be_installed_fail_the_job_saying_mlci_is_not_part_of_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "requirements.txt").write_text("click==0.0.1\n")
    done, _ = _install(tmp_path, MLCI_REQUIREMENTS="requirements.txt", FAIL_PROJECT="1")
    assert done.returncode == 1
    assert (
        "::error title=mlci::the project's requirements (requirements.txt) cannot be installed on their own"
        in done.stdout
    )
    assert "you require click==0.0.1" in done.stdout and "mlci doctor --requirements" in done.stdout
    assert "save=true" not in (tmp_path / "output").read_text()


def test_the_lock_comes_from_the_installed_mlci(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, MLCI_DVC_PLUGINS="s3")
    alone, together = [line for line in calls.splitlines() if line.startswith("uv pip install")]
    assert "-c" not in alone.split()
    assert f" -c {ROOT / 'constraints' / 'runtime.txt'} git+https://github.com/o/mlci@abc dvc-s3" in together
    assert "<- mlci + dvc-s3 (locked), with uv" in done.stdout
    assert "project" not in calls  # no requirements: no project environment


def test_a_mlci_without_its_lock_says_so(tmp_path: Path) -> None:
    old = tmp_path / "old" / "mlci"  # an mlci package that ships no lock (as before #16)
    old.mkdir(parents=True)
    (old / "__init__.py").write_text((ROOT / "src" / "mlci" / "__init__.py").read_text())
    done, calls = _install(tmp_path, PYTHONPATH=str(old.parent))
    assert "::warning title=mlci::this mlci ships no lock of its dependencies" in done.stdout
    assert "(not locked)" in done.stdout and " -c " not in calls


def _write_manifest(root: Path) -> None:
    """The MANIFEST the save writes: each file's sha256 (a link: where it points) and its path."""
    import hashlib

    lines = []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name == "MANIFEST" or (path.is_dir() and not path.is_symlink()):
            continue
        value = (
            "link:" + os.readlink(path)
            if path.is_symlink()
            else hashlib.sha256(path.read_bytes()).hexdigest()
        )
        lines.append(f"{value} {name}\n")
    (root / "MANIFEST").write_text("".join(lines))


def _environment(tmp_path: Path) -> Path:
    """A working environment where the restore step puts it: a real venv of this Python, as saved."""
    root = tmp_path / "mlci-env"
    env = root / "mlci"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    (env / "bin" / "mlci").write_text(_MLCI)
    (env / "bin" / "mlci").chmod(0o755)
    (root / "bin").mkdir()
    (root / "bin" / "mlci").symlink_to("../mlci/bin/mlci")
    _write_manifest(root)
    return env


def test_on_a_miss_the_environment_is_made_from_the_jobs_python_put_on_path_and_saved(tmp_path: Path) -> None:
    done, calls = _install(tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "mlci-env"
    env = root / "mlci"
    (venv,) = [line for line in calls.splitlines() if line.startswith("uv venv")]
    assert venv.startswith("uv venv --quiet --seed --relocatable --python ") and venv.endswith(str(env))
    assert f"--python {env}/bin/python" in calls.splitlines()[-1]
    assert (tmp_path / "path").read_text() == f"{env}/bin\n{root}/bin\n"
    assert (tmp_path / "env").read_text() == f"VIRTUAL_ENV={env}\n"
    assert "save=true" in (tmp_path / "output").read_text()
    assert " mlci/bin/python\n" in (root / "MANIFEST").read_text()


def test_a_restored_environment_that_runs_installs_nothing_and_is_not_saved_again(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    done, calls = _install(tmp_path, MLCI_ENV_CACHE_HIT="true")
    assert done.returncode == 0, done.stderr
    assert calls == ""  # neither pip nor uv: nothing installed
    assert "mlci, version 9.9.9 <- the environment restored (" in done.stdout
    assert "files as saved), nothing installed, in " in done.stdout
    assert "save=false" in (tmp_path / "output").read_text()
    assert (tmp_path / "path").read_text() == f"{env}/bin\n{env.parent}/bin\n"


@pytest.mark.parametrize(
    ("plant", "said"),
    [
        ("mlci/lib/sitecustomize.pth", "added: mlci/lib/sitecustomize.pth"),
        ("mlci/bin/mlci", "changed: mlci/bin/mlci"),
        ("uv/bin/uv", "added: uv/bin/uv"),
    ],
)
def test_a_file_planted_in_a_restored_environment_is_refused_named_and_the_environment_rebuilt(
    tmp_path: Path, plant: str, said: str
) -> None:
    """Nothing in the restored folder runs before it is checked against the MANIFEST of the save."""
    env = _environment(tmp_path)
    planted = env.parent / plant
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text('#!/usr/bin/env bash\ntouch "$CALLS.ran"\n')
    planted.chmod(0o755)
    done, calls = _install(tmp_path, MLCI_ENV_CACHE_HIT="true")
    assert done.returncode == 0, done.stderr
    assert "::warning title=mlci::the restored environment is not the one saved under its key" in done.stdout
    assert said in done.stdout and "installing it again" in done.stdout
    assert not Path(str(tmp_path / "calls") + ".ran").exists()  # the planted file never ran
    assert not planted.exists() or "CALLS.ran" not in planted.read_text()  # removed, then rebuilt
    assert "uv venv" in calls and "(environment cold" in done.stdout


def test_a_restored_folder_without_its_manifest_is_refused(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    (env.parent / "MANIFEST").unlink()
    done, calls = _install(tmp_path, MLCI_ENV_CACHE_HIT="true")
    assert "is not the one saved under its key (it has no MANIFEST)" in done.stdout
    assert "uv venv" in calls


def test_a_restored_environment_that_does_not_run_here_is_installed_again_saying_why(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    (env / "bin" / "python").unlink()  # its base interpreter gone, as on a runner with another Python
    (env / "bin" / "python").write_text("#!/usr/bin/env bash\necho 'python3.11: not found' >&2; exit 127\n")
    (env / "bin" / "python").chmod(0o755)
    _write_manifest(env.parent)
    done, calls = _install(tmp_path, MLCI_ENV_CACHE_HIT="true")
    assert done.returncode == 0, done.stderr
    assert (
        "::warning title=mlci::the restored environment does not run here (python3.11: not found)"
        in done.stdout
    )
    assert "uv venv" in calls and "--no-deps git+https://github.com/o/mlci@abc" in calls
    assert "(environment cold" in done.stdout and "save=true" in (tmp_path / "output").read_text()


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
    assert f"venv -m venv {tmp_path}/mlci-env/mlci" in calls
    alone, together = calls.splitlines()[-2:]
    assert alone.endswith("--quiet --no-deps git+https://github.com/o/mlci@abc")
    assert together.endswith(
        f"--quiet -c {ROOT / 'constraints' / 'runtime.txt'} git+https://github.com/o/mlci@abc dvc-azure"
    )
    assert "with pip (environment cold" in done.stdout and "tool=pip" in (tmp_path / "output").read_text()


def test_plugins_found_by_mlci_doctor_when_none_are_named(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, DOCTOR="1")  # what mlci doctor --plugins prints: DVC's own extra
    assert calls.splitlines()[-1].endswith("dvc[s3]==3.67.1 dvc-gdrive"), calls
    assert "+ dvc[s3]==3.67.1 dvc-gdrive (found by mlci doctor)" in done.stdout
    assert "not a DVC plugin" not in done.stdout
    done, calls = _install(tmp_path, DOCTOR="1", MLCI_FIND_PLUGINS="false")
    assert "dvc[s3]" not in calls
    done, calls = _install(tmp_path, DOCTOR="1", MLCI_DVC_PLUGINS="gs")
    assert "dvc[s3]" not in calls and "dvc-gs" in calls


def test_a_failing_mlci_doctor_is_a_warning_that_names_the_input(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, DOCTOR="fail")
    assert done.returncode == 0, done.stderr
    assert "mlci doctor --plugins failed" in done.stdout and "dvc-plugins input" in done.stdout
    assert "dvc[s3]" not in calls


# The script for real: real uv (or pip), the package index, a fresh virtual environment, and mlci built
# from a copy of this checkout whose lock holds one dependency below what a free resolution picks, so only
# a job that honours the lock inside the package gets that version.

_HELD = ("tabulate", "0.9.0")  # within pyproject's tabulate>=0.9 and DVC's range; the lock has a newer one


def _pins(lock: str) -> dict[str, str]:
    """The lock's pins for this Python (a universal lock has one per marker)."""
    pins = {}
    for line in lock.splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


@pytest.fixture(scope="module")
def held_mlci(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A copy of the checkout with the held pin, committed (for a git URL), its wheel, and one uv cache
    the installs below share."""
    base = tmp_path_factory.mktemp("held")
    source = base / "mlci"
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE"):
        if (ROOT / name).exists():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    for folder in ("src", "templates", "constraints"):
        subprocess.run(["cp", "-r", str(ROOT / folder), str(source / folder)], check=True)
    lock = source / "constraints" / "runtime.txt"
    name, version = _HELD
    assert _pins(lock.read_text())[name] != version
    lock.write_text(
        "\n".join(
            f"{name}=={version}" if line.startswith(f"{name}==") else line
            for line in lock.read_text().splitlines()
        )
        + "\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=source, check=True)
    subprocess.run([*git, "add", "-A"], cwd=source, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "held"], cwd=source, check=True)
    wheels = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("mlci-*.whl")
    return source, wheel, base / "uv-cache"


def _real_install(
    tmp_path: Path,
    package: str,
    cache: Path,
    data_stack: str = "true",
    restored: Path | None = None,
    requirements: str = "",
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The step for real, in the workspace `tmp_path/ws`; `restored` given: the folder a restore put
    beside the workspace (cache hit)."""
    venv = tmp_path / "venv"
    tmp_path.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (tmp_path / "ws").mkdir(exist_ok=True)
    temp = tmp_path  # runner.temp: the job's folder is tmp_path / "mlci-env"
    cache.mkdir(exist_ok=True)
    if not (temp / "mlci-uv-cache").exists():
        (temp / "mlci-uv-cache").symlink_to(cache)  # the downloads, once for the module
    if restored is not None and restored != tmp_path / "mlci-env":
        shutil.copytree(restored, tmp_path / "mlci-env", symlinks=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "UV_CACHE_DIR")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        HOME=str(tmp_path / "home"),
        GITHUB_WORKSPACE=str(tmp_path / "ws"),
        RUNNER_TEMP=str(temp),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        MLCI_PACKAGE=package,
        MLCI_REQUIREMENTS=requirements,
        MLCI_DVC_PLUGINS="",
        MLCI_WORKING_DIRECTORY=".",
        MLCI_FIND_PLUGINS="false",
        MLCI_DATA_STACK=data_stack,
        MLCI_UV_VERSION=STEPS.UV_VERSION,
        MLCI_ENV_KEY=KEY,
        MLCI_ENV_CACHE_HIT="true" if restored is not None else "",
        GITHUB_PATH=str(tmp_path / "path"),
        GITHUB_ENV=str(tmp_path / "env"),
    )
    done = subprocess.run(
        ["bash", "-c", STEPS.INSTALL_SCRIPT],
        env=env,
        cwd=tmp_path / "ws",
        capture_output=True,
        text=True,
        check=False,
    )
    return done, tmp_path / "mlci-env" / "mlci" / "bin" / "python"


def _installed(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'], d.version)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {canonicalize_name(line.split()[0]): line.split()[1] for line in out.splitlines()}


@pytest.mark.slow
@pytest.mark.parametrize("form", ["wheel", "git URL"])
def test_every_form_of_mlci_package_installs_the_locked_versions(
    tmp_path: Path, held_mlci: tuple[Path, Path, Path], form: str
) -> None:
    source, wheel, cache = held_mlci
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True
    ).stdout.strip()
    package = str(wheel) if form == "wheel" else f"git+file://{source}@{sha}"
    done, python = _real_install(tmp_path, package, cache)
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("mlci install:")]
    assert "mlci, version" in line and "(locked)" in line, line
    installed = _installed(python)
    name, version = _HELD
    assert installed[name] == version  # the held pin, not the newest tabulate
    locked = _pins((source / "constraints" / "runtime.txt").read_text())
    differ = {n: (v, locked[n]) for n, v in installed.items() if n in locked and locked[n] != v}
    assert not differ, f"installed (left) differs from the lock (right): {differ}"
    assert {"dvc", "pandas", "scikit-learn"} <= installed.keys()


@pytest.mark.slow
def test_a_restored_environment_runs_beside_another_workspace_and_installs_nothing(
    tmp_path: Path, held_mlci: tuple[Path, Path, Path]
) -> None:
    """The folder moved, as a restore beside another runner's workspace puts it: its scripts still
    start (uv made them relocatable) and its files are those of the MANIFEST, so the step uses it."""
    _, wheel, cache = held_mlci
    done, python = _real_install(tmp_path / "first", str(wheel), cache, data_stack="false")
    assert done.returncode == 0, done.stdout + done.stderr
    again, moved = _real_install(
        tmp_path / "again", str(wheel), cache, data_stack="false", restored=python.parents[2]
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "<- the environment restored (" in again.stdout and "nothing installed" in again.stdout, (
        again.stdout
    )
    affected = subprocess.run(
        [str(moved.parents[2] / "bin" / "mlci"), "--version"], capture_output=True, text=True
    )
    assert affected.returncode == 0 and "mlci, version" in affected.stdout


@pytest.mark.slow
def test_the_light_profile_installs_mlci_without_its_data_stack_and_affected_runs(
    tmp_path: Path, held_mlci: tuple[Path, Path, Path]
) -> None:
    """Train's `affected` job (profile light): mlci's declared dependencies at the locked versions, less
    numpy, scipy, scikit-learn, pandas and pyarrow; `mlci affected` works in that environment."""
    _, wheel, cache = held_mlci
    assert STEPS.PROFILES["light"]["MLCI_DATA_STACK"] == '"false"'
    done, python = _real_install(tmp_path, str(wheel), cache, data_stack="false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(locked) without its data stack" in done.stdout
    installed = _installed(python)
    assert installed.keys().isdisjoint({"numpy", "scipy", "scikit-learn", "pandas", "pyarrow"}), installed
    assert installed["tabulate"] == _HELD[1] and {"dvc", "gto", "click", "jinja2"} <= installed.keys()
    project = three_models(tmp_path / "project")
    (project / "src" / "train_beta.py").write_text("print('beta v2')\n")
    affected = subprocess.run(
        [str(python.parent / "mlci"), "affected", "--base", "HEAD", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert affected.returncode == 0, affected.stderr
    assert [entry["model"] for entry in json.loads(affected.stdout)["include"]] == ["beta"]


def test_the_key_follows_the_files_the_requirements_include(tmp_path: Path) -> None:
    """An include changed is another environment: a restored one would lack the new package."""
    (tmp_path / "requirements.txt").write_text("-r base.txt\nscikit-learn\n")
    (tmp_path / "base.txt").write_text("pandas==2.2.0\n-c pins.txt\n")
    (tmp_path / "pins.txt").write_text("numpy==2.0.0\n")
    keys = [_key(tmp_path, "mlci==0.1.0", MLCI_REQUIREMENTS="requirements.txt")]
    (tmp_path / "base.txt").write_text("pandas==2.2.0\npyarrow\n-c pins.txt\n")
    keys.append(_key(tmp_path, "mlci==0.1.0", MLCI_REQUIREMENTS="requirements.txt"))
    (tmp_path / "pins.txt").write_text("numpy==2.1.0\n")
    keys.append(_key(tmp_path, "mlci==0.1.0", MLCI_REQUIREMENTS="requirements.txt"))
    assert len(set(keys)) == 3
    assert _key(tmp_path, "mlci==0.1.0", MLCI_REQUIREMENTS="requirements.txt") == keys[-1]


@pytest.mark.slow
def test_a_utf16_pip_freeze_that_conflicts_with_mlcis_lock_installs_as_written_beside_mlci(
    tmp_path: Path, held_mlci: tuple[Path, Path, Path]
) -> None:
    """A `pip freeze` from Windows PowerShell (UTF-16, BOM, CRLF) pinning what mlci's lock pins otherwise
    (click, zc-lockfile: DVC's): the project's environment has the project's pins, mlci's has the lock's,
    and both run."""
    _, wheel, cache = held_mlci
    locked = _pins((ROOT / "constraints" / "runtime.txt").read_text())
    pins = {"click": "8.1.7", "zc-lockfile": "3.0.post1", "tabulate": "0.8.10"}
    assert all(locked[name] != version for name, version in pins.items())
    freeze = "".join(f"{name}=={version}\r\n" for name, version in pins.items())
    (tmp_path / "ws").mkdir(parents=True)
    (tmp_path / "ws" / "requirements.txt").write_bytes(b"\xff\xfe" + freeze.encode("utf-16-le"))
    done, python = _real_install(tmp_path, str(wheel), cache, requirements="requirements.txt")
    assert done.returncode == 0, done.stdout + done.stderr
    project = _installed(python.parents[2] / "project" / "bin" / "python")
    assert {name: project[name] for name in pins} == pins
    mine = _installed(python)
    assert mine["click"] == locked["click"] and mine["zc-lockfile"] == locked["zc-lockfile"]
    assert "dvc" not in project  # nothing of mlci's in the project's environment
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["requirements.txt"]


def test_the_key_follows_local_packages_the_requirements_name(tmp_path: Path) -> None:
    """`./pkg` is copied in (its content counts), `-e ./dev` is linked (its packaging metadata counts)."""
    ws = tmp_path
    (ws / "pkg").mkdir()
    (ws / "pkg" / "pyproject.toml").write_text("[project]\nname = 'pkg'\ndependencies = []\n")
    (ws / "pkg" / "mod.py").write_text("A = 1\n")
    (ws / "dev").mkdir()
    (ws / "dev" / "pyproject.toml").write_text("[project]\nname = 'dev'\ndependencies = []\n")
    (ws / "dev" / "code.py").write_text("B = 1\n")
    (ws / "requirements.txt").write_text("./pkg\n-e ./dev\n")

    def key() -> str:
        return _key(tmp_path, "mlci==0.1.0", MLCI_REQUIREMENTS="requirements.txt")

    first = key()
    (ws / "pkg" / "mod.py").write_text("A = 2\n")
    second = key()
    (ws / "dev" / "pyproject.toml").write_text("[project]\nname = 'dev'\ndependencies = ['pandas']\n")
    third = key()
    assert len({first, second, third}) == 3
    (ws / "dev" / "code.py").write_text("B = 2\n")  # an editable package's code is not installed
    assert key() == third
