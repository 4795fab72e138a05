"""Run the workflow files themselves on a GitHub Actions runner (act, in host mode), offline.

Built on ../shared/tools/actions-runner (it serves the real actions/checkout, setup-python and cache at
the pinned commits). Around it this harness puts what a run on GitHub would reach:
- the fake GitHub REST API (`GITHUB_API_URL`), which also answers the artifacts API,
- a git smart-HTTP server (`GITHUB_SERVER_URL`) serving the project's bare origin, so `actions/checkout`
  with a ref fetches from it and pushes (results commits, registry tags) land in it,
- stand-ins for actions/upload-artifact and download-artifact (`tests/actions/`), storing artifacts in
  a folder the fake GitHub serves,
- mlci's reusable workflows and action mapped from this checkout (less `deployment: false`, which act
  cannot parse), and `mlci-package` pointing at a wheel
  built from it, so the code under test is what the jobs install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.testing.fixtures import ROOT

RUNNER = ROOT.parent / "shared" / "tools" / "actions-runner"
MLCI_REPOSITORY = "mlci-dev/mlci"
UPLOAD = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"
DOWNLOAD = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"
STAND_INS = ROOT / "tests" / "actions"

requires_runner = pytest.mark.skipif(
    not RUNNER.exists(),
    reason=f"the Actions runner harness {RUNNER.relative_to(ROOT.parent)} is not beside this checkout "
    "(it comes with the project's shared tools; the workflow scenarios need it)",
)


@dataclass
class RunResult:
    """One `act` run: its exit code, its whole log, and each job's wall time and step times."""

    returncode: int
    log: str
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)  # "job/step" -> seconds, from act's timings

    def job_log(self, job: str) -> str:
        return "\n".join(line for line in self.log.splitlines() if line.startswith(f"[{job}"))

    def explain(self) -> str:
        """The failing jobs' step logs, for an assertion message."""
        failed = {m.group(1) for m in re.finditer(r"^\[([^\]]+)\]\s+❌", self.log, re.M)}
        parts = [self.job_log(job.split("/")[0] + "/" + job.split("/", 1)[-1]) for job in sorted(failed)]
        return "\n\n".join(parts) or self.log[-20_000:]


def build_wheel(dest: Path) -> Path:
    """mlci's wheel, built from this checkout without network (hatchling is a test dependency)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dest), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dest.glob("mlci-*.whl")
    return wheel


# act's workflow schema (0.2.x) predates GitHub's `environment.deployment` key and rejects the whole
# workflow; GitHub honours it (no Deployment of its own for the job), act has no Deployments at all.
_ACT_UNKNOWN = re.compile(r"^\s*deployment: false\b.*\n", re.M)


def served_checkout(dest: Path) -> Path:
    """What the runner serves as mlci-dev/mlci: this checkout's files as they are in the work tree
    (tracked and new, not ignored) — the action installs mlci from its own folder — minus the one
    workflow key act cannot parse (see `_ACT_UNKNOWN`); everything else byte for byte."""
    if not (dest / "action.yml").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name in filter(None, (item.decode() for item in listed)):
            source = ROOT / name
            if source.is_file():  # listed but deleted in the work tree: not served
                (partial / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, partial / name)
        for path in (partial / ".github").rglob("*.yml"):
            path.write_text(_ACT_UNKNOWN.sub("", path.read_text()))
        partial.rename(dest)  # whole or not at all: a parallel worker never sees half a checkout
    return dest


def checkout_sha() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


# A file to append each run's timings to (bench/bench_jobs.py). Read at import: the tests' isolated
# environment drops MLCI_* variables before each test.
TIMINGS_FILE = os.environ.get("MLCI_WORKFLOW_TIMINGS", "")

_STEP_TIME = re.compile(r"^\[([^\]]+)\]\s+✅\s+Success - (?:Main |Post )?(.+?) \[([\d.]+)(ms|s|m)")


def _timings(log: str) -> dict[str, float]:
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0}
    return {
        f"{m.group(1)}/{m.group(2)}": float(m.group(3)) * scale[m.group(4)]
        for m in map(_STEP_TIME.match, log.splitlines())
        if m
    }


def run_workflow(
    project: Path,
    event: str,
    workflow: Path,
    event_file: Path,
    *,
    api_url: str,
    server_url: str,
    token: str,
    artifacts: Path,
    mlci_ref: str,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
    timeout: float = 900,
) -> RunResult:
    """Run `workflow` for `event` in `project`: a clone with a remote `github` whose URL names the
    repository (https://github.com/OWNER/NAME.git), served for real by `server_url`."""
    artifacts.mkdir(parents=True, exist_ok=True)
    command = [
        str(RUNNER),
        event,
        "-W",
        str(workflow),
        "-e",
        str(event_file),
        "-s",
        f"GITHUB_TOKEN={token}",
        "--env",
        f"GITHUB_API_URL={api_url}",
        "--env",
        f"GITHUB_SERVER_URL={server_url}",
        "--env",
        f"MLCI_TEST_ARTIFACTS={artifacts}",
        "--env",
        "MLCI_RETRY_SCALE=0",
        "--remote-name",
        "github",  # a remote named like GitHub's, for act to name the repository after
        "--local-repository",
        f"{MLCI_REPOSITORY}@{mlci_ref}={served_checkout(Path(tempfile.gettempdir()) / f'mlci-served-{mlci_ref}-{os.getpid()}')}",
        "--local-repository",
        f"{UPLOAD}={STAND_INS / 'upload-artifact'}",
        "--local-repository",
        f"{DOWNLOAD}={STAND_INS / 'download-artifact'}",
        *extra,
    ]
    for key, value in (env or {}).items():
        command += ["--env", f"{key}={value}"]
    started = time.monotonic()
    proc = subprocess.run(
        command,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
    )
    log = proc.stdout + proc.stderr
    result = RunResult(proc.returncode, log, time.monotonic() - started, _timings(log))
    record = TIMINGS_FILE
    if record:
        import json

        line = {
            "workflow": workflow.name,
            "event": event,
            "seconds": round(result.seconds, 1),
            "returncode": proc.returncode,
            "steps": result.steps,
            "install": [line for line in log.splitlines() if "mlci install: " in line],
        }
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        Path(f"{record}.{workflow.stem}.{time.time_ns()}.log").write_text(log)  # the whole log beside it
    return result


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    return dest


def event_file(folder: Path, payload: dict[str, Any]) -> Path:
    import json

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "event.json"
    path.write_text(json.dumps(payload))
    return path
