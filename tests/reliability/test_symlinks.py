"""A checked-out pull request can turn a metrics, params or plots file (or a folder above it) into a
symlink to a secret outside the repository. A local run (the workspace) never reads through it: exit 2
naming the file, nothing of the secret in the output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli

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
