"""A checked-out pull request can turn a metrics, params or plots file (or a folder above it) into a
symlink to a secret outside the repository. A local run (the workspace) never reads through it: exit 2
naming the file, nothing of the secret in the output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, actions_env, load_event, run_cli

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- not for the report"


@pytest.mark.parametrize("target", ["metrics.json", "params.yaml", "plots", "dvc.yaml"])
def test_a_local_report_never_reads_through_a_link_out_of_the_repository(
    target: str, example_repo: ExampleRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "home"
    outside.mkdir()
    path = example_repo.root / target
    if path.is_dir():  # a whole folder turned into a link: its files are read through it
        shutil.copytree(path, outside / target)
        shutil.rmtree(path)
        (outside / target / "secret.txt").write_text(SECRET)
        os.symlink(outside / target, path)
    else:
        (outside / target).write_text(
            path.read_text() if target != "metrics.json" else f'{{"k": "{SECRET}"}}'
        )
        path.unlink()
        os.symlink(outside / target, path)

    proc = run_cli("report", cwd=example_repo.root)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{target}" in proc.stderr and "outside the repository" in proc.stderr, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_a_link_inside_the_repository_is_fine(example_repo: ExampleRepo) -> None:
    (example_repo.root / "real-metrics.json").write_text((example_repo.root / "metrics.json").read_text())
    (example_repo.root / "metrics.json").unlink()
    os.symlink("real-metrics.json", example_repo.root / "metrics.json")

    proc = run_cli("report", "--no-comment", cwd=example_repo.root)

    assert proc.returncode == 0, proc.stderr


# --- one path rule for every path from config or a commit (issue 31) ----------------------------


@pytest.mark.parametrize("how", ["parent", "absolute", "link"])
def test_the_outbox_never_leaves_the_repository(how: str, example_repo: ExampleRepo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    setting = {"parent": "../../elsewhere", "absolute": str(outside), "link": ".mlci/box"}[how]
    if how == "link":
        (example_repo.root / ".mlci").mkdir(exist_ok=True)
        os.symlink(outside, example_repo.root / ".mlci" / "box")
    text = (example_repo.root / "mlci.yaml").read_text()
    (example_repo.root / "mlci.yaml").write_text(text + f"github:\n  outbox: {setting}\n")

    sha = example_repo.head()
    payload = load_event("pull_request/opened")
    payload["pull_request"]["head"]["sha"] = payload["pull_request"]["base"]["sha"] = sha
    env = actions_env(tmp_path / "step", "pull_request", payload)  # no token: the outbox

    proc = run_cli("report", cwd=example_repo.root, env=env)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "github.outbox" in proc.stderr and "outside the repository" in proc.stderr, proc.stderr
    assert not any(outside.iterdir()), list(outside.iterdir())


@pytest.mark.parametrize("shape", ["file", "folder", "file in a folder"])
def test_data_check_never_reads_through_a_link_out_of_the_repository(
    shape: str, example_repo: ExampleRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    values = "id,income\n" + "".join(f"{i},{SECRET_NUMBER + i}\n" for i in range(40))
    (outside / "secret.csv").write_text(values)
    data = example_repo.root / "data"
    if shape == "file":
        os.symlink(outside / "secret.csv", data / "linked.csv")
        declared = "data/linked.csv"
    elif shape == "folder":
        os.symlink(outside, data / "linked")
        declared = "data/linked"
    else:
        (data / "linked").mkdir()
        os.symlink(outside / "secret.csv", data / "linked" / "part.csv")
        declared = "data/linked"
    text = (example_repo.root / "mlci.yaml").read_text()
    (example_repo.root / "mlci.yaml").write_text(
        text + f"data:\n  datasets:\n    leak:\n      path: {declared}\n"
    )

    for args in (["data", "check"], ["data", "check", declared]):
        proc = run_cli(*args, cwd=example_repo.root)
        assert proc.returncode == 2, (args, proc.stdout + proc.stderr)
        assert "outside the repository" in proc.stderr, (args, proc.stderr)
        assert str(SECRET_NUMBER + 7) not in proc.stdout + proc.stderr


SECRET_NUMBER = 91_827_300
