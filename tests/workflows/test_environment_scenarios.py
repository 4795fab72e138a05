"""Two environments on the Actions runner (docs/architecture.md, "Two environments"): the project's
requirements as a user's machine wrote them never meet mlci's lock, and jobs that never run the project's
code never install them.

(1) a UTF-16 `pip freeze` (Windows PowerShell: byte-order mark, CRLF) whose pins conflict with mlci's lock
    (click, zc-lockfile: DVC's, which the user never named): train, report, deploy and monitor succeed;
(2) requirements that cannot be installed at all: the report is still posted (it never installs them),
    and the train job fails at the install step saying so.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from mlci.repo.git import git
from tests.testing.fixtures import ROOT
from tests.testing.runner import requires_runner
from tests.testing.scenario import Scenario, comments, commit_callers, deploy_and_decay, open_pull_request

pytestmark = [requires_runner, pytest.mark.slow]


def _locked(name: str) -> str:
    for line in (ROOT / "constraints" / "runtime.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                return str(requirement.specifier).removeprefix("==")
    raise AssertionError(f"{name} is not in the lock")


def _freeze() -> str:
    """What `pip freeze` printed on the author's machine: the data stack the stages import (at the
    versions the model is pickled with) and pins that mlci's lock contradicts."""
    conflicting = {"click": "8.1.7", "zc-lockfile": "3.0.post1"}
    assert all(_locked(name) != version for name, version in conflicting.items())
    same = {name: _locked(name) for name in ("numpy", "pandas", "scikit-learn", "pyyaml", "scipy")}
    return "".join(f"{name}=={version}\r\n" for name, version in sorted({**conflicting, **same}.items()))


def _with_requirements(s: Scenario, data: bytes) -> Scenario:
    s.repo.root.joinpath("requirements.txt").write_bytes(data)
    s.repo.commit("The project's requirements")
    return commit_callers(s)  # mlci init finds requirements.txt and wires it into the callers


def _install_line(log: str, job: str) -> str:
    """The install step's one line in the log of the job whose name contains `job` (act prefixes each
    line with `[CALLER-JOB/JOB NAME]`)."""
    lines = [
        line
        for line in log.splitlines()
        if "mlci install: " in line and job in line.split("]", 1)[0] and "echo" not in line
    ]
    assert lines, f"no install line for {job}"
    return lines[-1]


def test_a_utf16_pip_freeze_that_conflicts_with_mlcis_lock_trains_reports_deploys_and_monitors(
    served_repo: Scenario,
) -> None:
    s = _with_requirements(served_repo, codecs.BOM_UTF16_LE + _freeze().encode("utf-16-le"))
    workflows = s.repo.root / ".github" / "workflows"
    assert "requirements: requirements.txt" in (workflows / "mlci-train.yml").read_text()
    assert "requirements:" not in (workflows / "mlci-report.yml").read_text()

    # train: a pushed branch whose param changed; the stages run in the project's environment
    s.repo.git("checkout", "-q", "-b", "fewer-trees")
    s.repo.set_param("train.n_estimators", 35)
    pushed = s.repo.commit("Use 35 trees")
    s.repo.git("push", "-q", "origin", "fewer-trees")
    main = git(s.repo.root, "rev-parse", "main")
    trained = s.run(
        "push", "mlci-train.yml", {"ref": "refs/heads/fewer-trees", "before": main, "after": pushed}
    )
    assert trained.returncode == 0, trained.explain()
    line = _install_line(trained.log, "train classifier")
    assert "the project's environment: -r requirements.txt (" in line, line
    assert "requirements" not in _install_line(trained.log, "affected")
    s.repo.git("checkout", "-q", "main")

    # report: never installs the requirements
    event = open_pull_request(s, "more-trees", 60)
    reported = s.run("pull_request", "mlci-report.yml", event)
    assert reported.returncode == 0, reported.explain()
    assert "project's environment" not in _install_line(reported.log, "report")
    (body,) = comments(s, event["number"])
    assert body.startswith("<!-- mlci:report:")
    s.repo.git("checkout", "-q", "main")

    # deploy, then monitor: the model loaded and scored
    s.fake.refs["refs/heads/main"] = s.repo.head()
    before = git(s.repo.root, "rev-parse", "HEAD~1")
    deployed = s.run(
        "push", "mlci-deploy.yml", {"ref": "refs/heads/main", "before": before, "after": s.repo.head()}
    )
    assert deployed.returncode == 0, deployed.explain()
    assert "classifier@v0.0.1" in git(s.repo.origin, "tag", "--list")
    deploy_and_decay(s)
    s.repo.commit("Fresh labelled data")
    s.repo.git("push", "-q", "origin", "main")
    s.fake.refs["refs/heads/main"] = s.repo.head()
    monitored = s.run("schedule", "mlci-monitor.yml", {"schedule": "17 6 * * *"})
    assert monitored.returncode == 0, monitored.explain()
    assert "test.accuracy" in monitored.log


def test_requirements_that_cannot_install_still_get_the_report_posted_and_fail_train_saying_why(
    served_repo: Scenario,
) -> None:
    s = _with_requirements(served_repo, b"click==8.1.7\nmlci-no-such-package-anywhere==0.0.1\n")
    event = open_pull_request(s, "more-trees", 45)

    reported = s.run("pull_request", "mlci-report.yml", event)

    assert reported.returncode == 0, reported.explain()
    (body,) = comments(s, event["number"])
    assert body.startswith("<!-- mlci:report:") and "mlci report" in body
    head, base = event["pull_request"]["head"]["sha"], event["pull_request"]["base"]["sha"]
    trained = s.run("push", "mlci-train.yml", {"ref": "refs/heads/more-trees", "before": base, "after": head})
    assert trained.returncode != 0
    train_log = trained.log
    assert "the project's requirements (requirements.txt) cannot be installed on their own" in train_log
    assert "mlci-no-such-package-anywhere" in train_log


def _matrix_workflow(ref: str) -> str:
    """Two matrix jobs that install at the same moment on one machine, sharing its HOME (act runs a
    matrix's jobs in parallel, as processes of this host, like two self-hosted runners on one box)."""
    return f"""name: two
on: push
permissions: {{}}
jobs:
  both:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    strategy:
      matrix:
        copy: [one, two]
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - uses: mlci-dev/mlci@{ref}
        with:
          command: train
          args: --no-commit
      - name: Where its environments live
        run: echo "mlci at $(command -v mlci) python at $(command -v python)"
"""


def test_two_matrix_jobs_sharing_one_home_install_side_by_side_without_a_race(served_repo: Scenario) -> None:
    s = served_repo
    s.repo.write(".github/workflows/two.yml", _matrix_workflow(s.ref))
    s.repo.commit("Two jobs at once")
    s.repo.git("push", "-q", "origin", "main")

    result = s.run("push", "two.yml", {"ref": "refs/heads/main", "after": s.repo.head()})

    assert result.returncode == 0, result.explain()
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.log)  # act colours each step's output
    installs = [ln for ln in log.splitlines() if "| mlci install: " in ln]
    # both installed (or, on a later run of this test, restored: the runner's cache outlives it)
    assert len(installs) == 2 and all("mlci, version" in ln for ln in installs), installs
    places = sorted(set(re.findall(r"\| mlci at (\S+)/bin/mlci python at", log)))
    assert len(places) == 2, places  # each job its own folder, none under HOME's shared cache
    assert all(p.endswith("/mlci-env") and "/.cache/mlci-env" not in p for p in places), places
    assert "Failed to create virtual environment" not in log


HEAVY = "torch==2.5.1\nfastai==2.7.18\ntorchvision==0.20.1\ndvclive[lightning]==3.48.0\n"  # ~200 packages


def test_the_report_job_of_a_project_with_heavy_requirements_installs_only_mlci(
    served_repo: Scenario,
) -> None:
    """A DVCLive + PyTorch project's requirements (torch, CUDA wheels: minutes to resolve and install)
    never reach the report job: it installs what the example's report job installs."""
    s = _with_requirements(served_repo, HEAVY.encode())
    event = open_pull_request(s, "more-trees", 50)

    reported = s.run("pull_request", "mlci-report.yml", event)

    assert reported.returncode == 0, reported.explain()
    line = _install_line(reported.log, "report")
    assert "project's environment" not in line and "torch" not in reported.log.split("mlci install:", 1)[-1]
    (body,) = comments(s, event["number"])
    assert body.startswith("<!-- mlci:report:")


def _plant_in_cached_environment(home: Path, name: str) -> str:
    """A file added to the saved environment inside the runner's cache storage (the archive
    actions/cache restores), as a tampered cache backend would hold it; returns its path in the folder."""
    archives = [
        p
        for p in (home / ".cache" / "actions-runner" / "cache").rglob("*")
        if p.is_file() and p.stat().st_size > 1_000_000
    ]
    for archive in archives:
        plain = archive.with_name(archive.name + ".tar")
        subprocess.run(["zstd", "-q", "-d", "-f", str(archive), "-o", str(plain)], check=True)
        with tarfile.open(plain) as tar:
            manifests = [m.name for m in tar.getmembers() if m.name.endswith("mlci-env/MANIFEST")]
        if not manifests:
            plain.unlink()
            continue
        planted = manifests[0][: -len("MANIFEST")] + f"mlci/{name}"
        with tarfile.open(plain, "a") as tar:
            data = b"import os; os.environ['PLANTED'] = '1'\n"
            member = tarfile.TarInfo(planted)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        # the cache server serves the size it recorded at save time: recompress tighter, then pad with a
        # zstd skippable frame (magic 0x184D2A50, its length, zeros) to exactly that size
        size = archive.stat().st_size
        # no --long: a window any zstd decodes, whichever way actions/cache decompresses it
        subprocess.run(["zstd", "-q", "-f", "-9", str(plain), "-o", str(archive)], check=True)
        plain.unlink()
        room = size - archive.stat().st_size
        assert room >= 8, f"the tampered archive is {-room} bytes larger than the saved one"
        with archive.open("ab") as handle:
            handle.write(struct.pack("<II", 0x184D2A50, room - 8) + b"\0" * (room - 8))
        return f"mlci/{name}"
    raise AssertionError(f"no saved environment among {archives}")


def test_a_file_planted_in_the_cached_environment_is_refused_at_restore_and_the_environment_rebuilt(
    served_repo: Scenario,
) -> None:
    s = commit_callers(served_repo)
    event = open_pull_request(s, "more-trees", 47)
    first = s.run("pull_request", "mlci-report.yml", event)
    assert first.returncode == 0, first.explain()
    assert "(environment cold" in _install_line(first.log, "report")
    planted = _plant_in_cached_environment(Path(os.environ["HOME"]), "zz-planted.pth")

    again = s.run("pull_request", "mlci-report.yml", event)

    assert again.returncode == 0, again.explain()
    warning = f"the restored environment is not the one saved under its key (added: {planted})"
    assert warning in again.log
    assert "(environment cold" in _install_line(again.log, "report")  # built again, nothing run from it
    assert len(comments(s, event["number"])) == 1
