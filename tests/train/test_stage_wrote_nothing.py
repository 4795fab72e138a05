"""A stage that runs but does not write an output it declares. DVC (with `--allow-missing`, the remote as
cache) records it as done and skips the stages after it (a quiet success: exit 0, a lock naming data the
run never made), or fails the next checkout with "Is your cache up to date?", which read alone blames the
remote. `mlci train` names the stage and the output (exit 2), never "not in the remote"."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("stage", "output"), [("train", "models/model.pkl"), ("prepare", "data/prepared")])
def test_a_stage_that_wrote_nothing_is_blamed_not_the_remote(
    example_repo: ExampleRepo, stage: str, output: str
) -> None:
    pipeline = yaml.safe_load((example_repo.root / "dvc.yaml").read_text())
    pipeline["stages"][stage]["cmd"] = 'python -c "print(42)"'  # runs, writes nothing
    (example_repo.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    example_repo.commit(f"{stage} forgets to save")
    for made in ("models", "data/prepared", "metrics.json"):  # a fresh checkout, as CI has
        path = example_repo.root / made
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    proc = run_cli("train", cwd=example_repo.root)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"stage '{stage}' ran in this job but did not write its output '{output}'" in proc.stderr
    assert "not in the remote" not in proc.stderr and "was it pushed" not in proc.stderr
