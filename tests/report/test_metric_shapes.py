"""Metric files of any shape: mlci equals `dvc metrics diff --json` wherever DVC succeeds, and exits 2
naming the file wherever DVC fails. Never exit 3.

The shapes come from a seeded generator (nested mappings and lists, dotted keys that collide with nested
ones, empty keys, booleans, huge and non-finite numbers, strings, nulls, empty files, top-level lists and
scalars, JSON and YAML), so each run checks the same cases and a failure names its seed. Every case is one
metrics file of one repository at two commits, so DVC and mlci each run once for all the cases DVC reads;
the cases DVC cannot read get one mlci run each.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing.fixtures import run_cli
from tests.testing.report import BuiltRepo, dvc_json, init_dvc_repo

SEED = 20261204
CASES = 36
WORDS = ["acc", "loss", "f1", "a", "b", "a.b", "", "train", "test", "auc", "x.y.z", "1"]


def _leaf(rng: random.Random) -> Any:
    return rng.choice(
        [
            lambda: rng.random(),
            lambda: rng.randint(-5, 5),
            lambda: rng.choice([True, False]),
            lambda: 10 ** rng.randint(15, 40),
            lambda: rng.choice([math.nan, math.inf, -math.inf]),
            lambda: -0.0,
            lambda: rng.choice(["fast", "n/a", "0.5"]),
            lambda: None,
            lambda: [rng.random() for _ in range(rng.randint(0, 3))],
        ]
    )()


def _mapping(rng: random.Random, depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(WORDS)
        doc[key] = _mapping(rng, depth + 1) if depth < 3 and rng.random() < 0.35 else _leaf(rng)
    return doc


def _document(rng: random.Random) -> tuple[str, str]:
    """(suffix, text) of one metrics file."""
    roll = rng.random()
    if roll < 0.05:
        return ".json", ""
    if roll < 0.1:
        return ".json", json.dumps([rng.random(), {"a": 1}])
    if roll < 0.14:
        return ".json", json.dumps(rng.choice([0.5, "text", None]))
    if roll < 0.18:
        return ".json", '{"acc": 0.5,'  # cut off
    doc = _mapping(rng, 0)
    if rng.random() < 0.3:
        return ".yaml", yaml.safe_dump(doc, allow_unicode=True)
    return ".json", json.dumps(doc)  # NaN and Infinity as Python writes them; DVC reads them


def _cases(seed: int) -> list[tuple[str, str, str]]:
    """(name, base text, head text); base and head of a case share a suffix (YAML or JSON)."""
    rng = random.Random(seed)
    cases = []
    for i in range(CASES):
        suffix, head = _document(rng)
        base = _document(rng)[1] if rng.random() < 0.5 else json.dumps(_mapping(rng, 0))
        if suffix == ".yaml" and base.startswith("{") and base.endswith("}"):
            base = yaml.safe_dump(json.loads(base))
        cases.append((f"m{i:02d}{suffix}", base, head))
    return cases


def _dvc_fails(root: Path, revs: list[str]) -> set[str]:
    """Files DVC cannot read at one of the revisions (a per-file error, or values it cannot flatten)."""
    from dvc.repo import Repo
    from dvc.utils.flatten import flatten

    failed: set[str] = set()
    with Repo(str(root)) as repo:
        shown = repo.metrics.show(revs=revs, on_error="return")
    for rev in revs:
        for file, result in shown[rev]["data"].items():
            data = result.get("data")
            if "error" in result or (not isinstance(data, (dict, list)) and data is not None):
                failed.add(file)  # DVC's diff shows such a scalar file as "unable to parse"
            elif isinstance(data, dict):
                try:
                    flatten(data)
                except ValueError:  # a dotted key that collides with a nested one: DVC crashes
                    failed.add(file)
    return failed


def _same_value(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and not math.isfinite(theirs):
        return ours == ("NaN" if math.isnan(theirs) else "Infinity" if theirs > 0 else "-Infinity")
    if isinstance(theirs, bool) or not isinstance(theirs, (int, float)):
        return bool(ours == theirs)
    return isinstance(ours, (int, float)) and ours == pytest.approx(theirs, rel=1e-12)


def _commit_pair(repo: BuiltRepo, cases: list[tuple[str, str, str]], declared: list[str]) -> tuple[str, str]:
    repo.write("dvc.yaml", "metrics:\n" + "".join(f"  - {name}\n" for name in declared))
    for name, base, _ in cases:
        repo.write(name, base)
    base_sha = repo.commit("base")
    for name, _, head in cases:
        repo.write(name, head)
    return base_sha, repo.commit("head")


def test_generated_metric_shapes_match_dvc_or_exit_2(tmp_path: Path) -> None:
    cases = _cases(SEED)
    repo = init_dvc_repo(tmp_path)
    failing = _dvc_fails(repo.root, list(_commit_pair(repo, cases, [n for n, _, _ in cases])))
    good = [n for n, _, _ in cases if n not in failing]
    assert 0 < len(failing) < len(cases), f"seed {SEED}: the generator lost its mix"

    for name in sorted(failing):  # each file DVC cannot read: mlci exits 2 naming it
        base_sha, head_sha = _commit_pair(repo, cases, [*good, name])
        done = run_cli("report", "--base", base_sha, "--head", head_sha, "--format", "json", cwd=repo.root)
        assert done.returncode == 2, f"seed {SEED}, {name}: exit {done.returncode}: {done.stderr[-600:]}"
        assert name in done.stderr and "../" not in done.stderr, done.stderr  # relative to the project

    base_sha, head_sha = _commit_pair(repo, cases, good)
    done = run_cli("report", "--base", base_sha, "--head", head_sha, "--format", "json", cwd=repo.root)
    assert done.returncode in (0, 1), f"seed {SEED}: exit {done.returncode}: {done.stderr[-600:]}"
    document = json.loads(done.stdout)
    oracle = dvc_json(repo.root, "metrics", "diff", base_sha, head_sha, "--all")
    theirs = {(f, k): v for f, keys in oracle.items() for k, v in keys.items()}
    ours = {(m["file"], m["key"]): m for m in document["metrics"] if not m["moved_from"]}
    assert set(ours) == set(theirs), f"seed {SEED}"
    for where, expected in theirs.items():
        row = ours[where]
        assert _same_value(row["base"], expected["old"]), (SEED, where, row, expected)
        assert _same_value(row["head"], expected["new"]), (SEED, where, row, expected)
        if isinstance(expected.get("diff"), (int, float)) and math.isfinite(expected["diff"]):
            assert row["change"] == pytest.approx(expected["diff"], rel=1e-9, abs=1e-12), (SEED, where)
