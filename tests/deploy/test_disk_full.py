"""A full disk at the local deploy target is the environment's, not a bug: exit 2 naming the path and the
space needed; nothing half-written (no staging folder, `current` not switched); the rerun with room
delivers. The store is a small tmpfs (needs root and `mount`; skipped, saying so, without them)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.reliability import edit_config


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "store"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_at_the_local_target_is_exit_2_and_a_rerun_delivers(
    example_repo: ExampleRepo, small_disk: Path
) -> None:
    edit_config(example_repo, deploy={"targets": {"local": {"type": "local", "dir": str(small_disk)}}})
    example_repo.commit("Deploy to a small disk")
    model_size = (example_repo.root / "models" / "model.pkl").stat().st_size
    assert model_size > 24 * 1024  # the disk cannot hold it

    proc = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no space left" in proc.stderr and str(small_disk) in proc.stderr, proc.stderr
    needed = int(proc.stderr.split("needs about ")[1].split(" bytes")[0].replace(",", ""))
    assert needed >= model_size
    assert "bug in mlci" not in proc.stderr
    leftovers = (
        [p.name for p in (small_disk / "classifier").iterdir()]
        if (small_disk / "classifier").exists()
        else []
    )
    assert leftovers == [], leftovers  # no staging folder, no half version, no `current`

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    again = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert again.returncode == 0, again.stdout + again.stderr
    assert (small_disk / "classifier" / "current").exists()
