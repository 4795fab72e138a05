"""Malformed and hostile input through the real CLI in a real project: the exact message a user sees,
the exit code, and nothing half-written (an existing --output file is unchanged, no stray files)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.reliability import copy_project

CORPUS = Path(__file__).parents[1] / "corpus"
BEFORE = "an earlier report\n"
NOT_OURS = (".git/", ".dvc/tmp/", ".dvc/cache/")  # git's and DVC's own bookkeeping


@pytest.fixture(scope="module")
def project(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> ExampleRepo:
    """One copy of the trained example for the module; every case starts from its first commit."""
    return copy_project(_example_template, tmp_path_factory.mktemp("input") / "project")


@pytest.fixture
def repo(project: ExampleRepo) -> Iterator[ExampleRepo]:
    start = project.head()
    yield project
    project.git("reset", "-q", "--hard", start)
    project.git("clean", "-fdq")


def files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(NOT_OURS)
    }


def commit_file(name: str, source: str | bytes) -> Callable[[ExampleRepo], None]:
    def setup(repo: ExampleRepo) -> None:
        data = (CORPUS / source).read_bytes() if isinstance(source, str) else source
        (repo.root / name).write_bytes(data)
        repo.commit(f"bad {name}")

    return setup


def put_file(name: str, source: str) -> Callable[[ExampleRepo], None]:
    def setup(repo: ExampleRepo) -> None:
        shutil.copyfile(CORPUS / source, repo.root / name)

    return setup


def deep_json(levels: int) -> bytes:
    return ('{"a":' * levels + "1" + "}" * levels).encode()


def huge_truncated_json(megabytes: int) -> bytes:
    """A metrics file of `megabytes` MB that ends in the middle of a list."""
    row = b"0.123456789, "
    return b'{"test": {"accuracy": 0.9}, "curve": [' + row * (megabytes * 1024 * 1024 // len(row))


def missing_metrics_file(repo: ExampleRepo) -> None:
    text = (repo.root / "dvc.yaml").read_text().replace("metrics.json", "reports/missing.json")
    (repo.root / "dvc.yaml").write_text(text)
    repo.commit("dvc.yaml points at a metrics file that no stage writes")


REPORT = ("report", "--base", "HEAD~1", "--head", "HEAD", "--no-comment", "--output", "{out}")
REPORT_HERE = ("report", "--base", "HEAD", "--head", "HEAD", "--no-comment", "--output", "{out}")


@dataclass(frozen=True)
class Case:
    setup: Callable[[ExampleRepo], None] | None
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]  # lines (or their beginnings, ending in "…") that stderr must hold


CASES: dict[str, Case] = {
    "metrics: broken JSON": Case(
        commit_file("metrics.json", "metrics_broken.json"),
        REPORT,
        2,
        (
            "error: cannot parse metrics file metrics.json at revision {head}: JSON file structure is corrupted",
        ),
    ),
    "metrics: not UTF-8": Case(
        commit_file("metrics.json", "metrics_non_utf8.json"),
        REPORT,
        2,
        ("error: cannot parse metrics file metrics.json at revision {head}: is not valid utf-8",),
    ),
    "metrics: 10,000 levels deep": Case(
        commit_file("metrics.json", deep_json(10_000)),
        REPORT,
        2,
        ("error: metrics.json: nested more than 200 levels deep; mlci refuses it before parsing",),
    ),
    "metrics: 50 MB, truncated": Case(
        commit_file("metrics.json", huge_truncated_json(50)),
        REPORT,
        2,
        ("error: metrics.json: 52,428,830 bytes is more than the limit of 33,554,432; mlci refuses it …",),
    ),
    "metrics: NaN and inf fail their gates": Case(
        commit_file("metrics.json", "metrics_nan_inf.json"),
        REPORT,
        1,
        (
            "error: metrics.json: mlci gate failed: metrics.json:test.accuracy: head value is not a number",
            "error: metrics.json: mlci gate failed: metrics.json:test.log_loss: rise inf% > max_rise_pct 10%",
        ),
    ),
    "metrics: a string where a number belongs fails its gate": Case(
        commit_file("metrics.json", "metrics_string.json"),
        REPORT,
        1,
        ("error: metrics.json: mlci gate failed: metrics.json:test.accuracy: head value is not a number",),
    ),
    "dvc.yaml: metrics file that no stage writes": Case(
        missing_metrics_file,
        REPORT,
        1,
        (
            "error: metrics.json: mlci gate failed: metrics.json:test.accuracy: head value is missing "
            "(could not be read at head: reports/missing.json)",
            "error: metrics declared in dvc.yaml could not be read at head: reports/missing.json (…",
        ),
    ),
    "params: broken YAML": Case(
        commit_file("params.yaml", "params_broken.yaml"),
        REPORT,
        2,
        (
            "error: DVC cannot read the pipeline at revision {head}: unable to read: 'params.yaml', "
            "YAML file structure is corrupted",
            "  hint: fix dvc.yaml and the params files it uses at that revision (`dvc status` shows the same error)",
        ),
    ),
    "params: not UTF-8": Case(
        commit_file("params.yaml", "params_non_utf8.yaml"),
        REPORT,
        2,
        (
            "error: DVC cannot read the pipeline at revision {head}: unable to read: 'params.yaml', is not valid utf-8",
        ),
    ),
    "config: a typo in a key": Case(
        put_file("mlci.yaml", "config_typo.yaml"),
        REPORT_HERE,
        2,
        ("error: mlci.yaml: unknown key 'gatez', did you mean 'gates'?",),
    ),
    "config: broken YAML": Case(
        put_file("mlci.yaml", "config_broken.yaml"),
        REPORT_HERE,
        2,
        (
            "error: mlci.yaml: invalid YAML at line 2, column 1: expected the node content, but found '<stream end>'",
            "  hint: check indentation and quoting",
        ),
    ),
    "config: wrong type": Case(
        put_file("mlci.yaml", "config_wrong_type.yaml"),
        REPORT_HERE,
        2,
        ("error: mlci.yaml: 'gates' must be a list, got int",),
    ),
    "config: not UTF-8": Case(
        put_file("mlci.yaml", "config_non_utf8.yaml"),
        REPORT_HERE,
        2,
        ("error: mlci.yaml: not UTF-8 text (invalid start byte at byte …",),
    ),
    "report: unknown revision": Case(
        None,
        ("report", "--base", "no-such-rev", "--head", "HEAD", "--no-comment", "--output", "{out}"),
        2,
        (
            "error: the base revision: no such branch or commit: 'no-such-rev' (not in this clone, "
            "and 'origin' does not have it)",
        ),
    ),
    "monitor: data with the wrong schema": Case(
        None,
        ("monitor", "--current", "{corpus}/data_wrong_schema.csv", "--output", "{out}"),
        2,
        (
            "error: the current data does not look like the reference: 11 of 11 reference columns are "
            "missing ('mean_radius', 'mean_texture', 'mean_perimeter', 'mean_area', 'mean_smoothness', "
            "'mean_compactness', 'mean_concavity', 'mean_concave_points' …); it has other columns ('foo', 'bar')",
        ),
    ),
    "monitor: broken CSV": Case(
        None,
        ("monitor", "--current", "{corpus}/data_broken.csv", "--output", "{out}"),
        2,
        (
            "error: cannot read data_broken.csv: CSV parse error: Expected 2 columns, got 4: 1,2,3,4",
            "  hint: check that the file is valid CSV (with a header row) or Parquet",
        ),
    ),
    "monitor: empty file": Case(
        None,
        ("monitor", "--current", "{corpus}/data_empty.csv", "--output", "{out}"),
        2,
        ("error: cannot read data_empty.csv: Empty CSV file",),
    ),
    "monitor: not UTF-8": Case(
        None,
        ("monitor", "--current", "{corpus}/data_non_utf8.csv", "--output", "{out}"),
        2,
        (
            "error: the current data does not look like the reference: 10 of 11 reference columns are missing …",
        ),
    ),
    "data check: broken CSV in the workspace": Case(
        put_file("data/raw.csv", "data_broken.csv"),
        ("data", "check", "--output", "{out}"),
        2,
        ("error: cannot read raw.csv: CSV parse error: Expected 2 columns, got 4: 1,2,3,4",),
    ),
    "data check: a path outside the repository": Case(
        None,
        ("data", "check", "{corpus}/data_wrong_schema.csv", "--output", "{out}"),
        2,
        ("error: '{corpus}/data_wrong_schema.csv' is outside the repository",),
    ),
}


def fill(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def holds(stderr: str, expected: str) -> bool:
    lines = stderr.splitlines()
    if expected.endswith("…"):
        return any(line.startswith(expected[:-1]) for line in lines)
    return expected in lines


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_named_and_leaves_nothing_half_written(
    name: str, repo: ExampleRepo, tmp_path: Path
) -> None:
    case = CASES[name]
    if case.setup:
        case.setup(repo)
    out = tmp_path / "report.md"
    out.write_text(BEFORE)
    before = files(repo.root)
    values = {"out": str(out), "corpus": str(CORPUS), "head": repo.head()}

    proc = run_cli(*(fill(a, **values) for a in case.args), cwd=repo.root)

    assert proc.returncode == case.code, proc.stdout + proc.stderr
    for expected in case.says:
        assert holds(proc.stderr, fill(expected, **values)), proc.stderr
    assert "Traceback" not in proc.stderr
    if case.code == 2:  # a refused input writes nothing
        assert out.read_text() == BEFORE
        new = files(repo.root) - before
        # the reference profile cache (content-addressed, read by the next run) may be filled: whole
        assert all(f.startswith(".mlci/profiles/") for f in new) and files(repo.root) >= before, new
        for cached in new:
            json.loads((repo.root / cached).read_text())
    else:  # a failed gate still writes its report, whole
        assert out.read_text().startswith("### ❌")
    assert not list(tmp_path.glob("*.tmp*")) and not [f for f in files(repo.root) if ".tmp" in f]
