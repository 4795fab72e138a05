"""Partitioned monitoring on the trained example project: `mlci profile` per share, then
`mlci monitor --profiles` decides exactly as one `mlci monitor --current` over every file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.testing.fixtures import ExampleRepo, actions_env, read_outputs, run_cli

TEST_CSV = "data/prepared/test.csv"
DRIFTED = ("mean_radius", "mean_perimeter", "mean_area")


def incoming(repo: ExampleRepo, files: int, *, drift: bool) -> Path:
    """The held-out split, some labels flipped and (with `drift`) some features scaled, in `files`
    CSV files."""
    frame = pd.read_csv(repo.root / TEST_CSV)
    rng = np.random.default_rng(3)
    flip = rng.random(len(frame)) < 0.3
    frame.loc[flip, "target"] = 1 - frame.loc[flip, "target"]
    if drift:
        for column in DRIFTED:
            frame[column] = frame[column] * 1.8
    folder = repo.root.parent / "incoming"
    folder.mkdir(exist_ok=True)
    bounds = np.linspace(0, len(frame), files + 1).astype(int)
    for i in range(files):
        frame.iloc[bounds[i] : bounds[i + 1]].to_csv(folder / f"part-{i:03d}.csv", index=False)
    return folder


def report(repo: ExampleRepo, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = run_cli("monitor", "classifier", *args, "--format", "json", cwd=repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def profile_shares(repo: ExampleRepo, current: Path, ref: Path, n: int, out: Path) -> list[Path]:
    parts = []
    for k in range(1, n + 1):
        part = out / f"part-{k}.json"
        proc = run_cli(
            "profile", "classifier", "--current", str(current), "--partition", f"{k}/{n}",
            "--reference-profile", str(ref), "--output", str(part), cwd=repo.root,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f"share {k}/{n}:" in proc.stderr
        parts.append(part)
    return parts


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A report without what says where the reference came from (read vs saved profile)."""
    return {k: v for k, v in doc.items() if k not in ("reference", "notes", "generated_at")}


def same(a: Any, b: Any, path: str = "") -> bool:
    """Equal, floats within 1e-9 relative (a merged mean or M2 sums in another order): else says where."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        return all(same(a[k], b[k], f"{path}.{k}") for k in a)
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        return all(same(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True)))
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300), f"{path}: {a} != {b}"
        return True
    assert a == b, f"{path}: {a!r} != {b!r}"
    return True


@pytest.mark.parametrize("shares", [3, 7])
def test_shares_decide_exactly_as_one_pass(example_repo: ExampleRepo, tmp_path: Path, shares: int) -> None:
    current = incoming(example_repo, 5, drift=True)
    ref = tmp_path / "ref.json"
    whole = report(example_repo, "--current", str(current), "--save-profile", str(ref))
    out = tmp_path / "parts"
    profile_shares(example_repo, current, ref, shares, out)
    env = actions_env(tmp_path / "gh", "schedule", {"schedule": "0 5 * * *"})
    merged = report(example_repo, "--profiles", str(out / "*.json"), "--reference-profile", str(ref), env=env)
    assert set(whole["dataset"]["drifted_columns"]) >= set(DRIFTED)
    assert merged["decay"]["metrics"] == whole["decay"]["metrics"]  # labels carried row by row
    assert same(comparable(merged), comparable(whole))  # every number, within float rounding
    assert read_outputs(tmp_path / "gh" / "output")["retrain-needed"] == "true"
    if shares == 7:  # more shares than files: two shares are empty, still needed
        docs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
        assert sum(1 for d in docs if not d["partition"]["files"]) == 2


def test_explicit_files_and_the_markdown_report(example_repo: ExampleRepo, tmp_path: Path) -> None:
    current = incoming(example_repo, 4, drift=False)
    ref = tmp_path / "ref.json"
    run_cli("monitor", "classifier", "--current", TEST_CSV, "--save-profile", str(ref), cwd=example_repo.root)
    files = sorted(current.glob("*.csv"))
    for k, group in enumerate([files[:1], files[1:]], start=1):
        picked = [a for f in group for a in ("--files", str(f))]
        proc = run_cli(
            "profile", "classifier", *picked, "--partition", f"{k}/2", "--reference-profile", str(ref),
            "--output", str(tmp_path / f"p{k}.json"), cwd=example_repo.root,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    one = run_cli("monitor", "classifier", "--current", str(current), "--reference-profile", str(ref),
                  cwd=example_repo.root)  # fmt: skip
    parts = run_cli(
        "monitor", "classifier", "--profiles", str(tmp_path / "p1.json"), "--profiles", str(tmp_path / "p2.json"),
        "--reference-profile", str(ref), cwd=example_repo.root,
    )  # fmt: skip
    assert parts.returncode == one.returncode == 0, parts.stderr
    shown = ", ".join(str(f) for f in files)
    assert f"| Current | `{shown}`: 143 rows |" in parts.stdout  # the files each share was given
    assert parts.stdout.replace(shown, str(current)) == one.stdout  # else the same markdown report
    assert "test.accuracy" in parts.stdout


def test_a_missing_share_another_reference_and_a_bad_partition_are_exit_2(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    current = incoming(example_repo, 3, drift=False)
    ref = tmp_path / "ref.json"
    run_cli("monitor", "classifier", "--current", TEST_CSV, "--save-profile", str(ref), cwd=example_repo.root)
    parts = profile_shares(example_repo, current, ref, 3, tmp_path / "parts")
    parts[1].unlink()
    proc = run_cli("monitor", "classifier", "--profiles", str(tmp_path / "parts/*.json"),
                   "--reference-profile", str(ref), cwd=example_repo.root)  # fmt: skip
    assert proc.returncode == 2
    assert "shares 2 of 3 are missing" in proc.stderr
    assert proc.stdout == ""  # no report on part of the data

    other = tmp_path / "other.json"
    run_cli("monitor", "classifier", "--current", TEST_CSV, "--reference", str(current / "part-000.csv"),
            "--save-profile", str(other), cwd=example_repo.root)  # fmt: skip
    profile_shares(example_repo, current, ref, 3, tmp_path / "parts")
    proc = run_cli("monitor", "classifier", "--profiles", str(tmp_path / "parts/*.json"),
                   "--reference-profile", str(other), cwd=example_repo.root)  # fmt: skip
    assert proc.returncode == 2
    assert "was profiled against another reference" in proc.stderr

    for bad in ("0/3", "4/3", "two/3", "3"):
        proc = run_cli("profile", "classifier", "--current", str(current), "--partition", bad,
                       "--output", str(tmp_path / "x.json"), cwd=example_repo.root)  # fmt: skip
        assert proc.returncode == 2 and "is not K/N" in proc.stderr, bad
    assert not (tmp_path / "x.json").exists()
    proc = run_cli(
        "monitor", "classifier", "--profiles", str(tmp_path / "none/*.json"), cwd=example_repo.root
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr
