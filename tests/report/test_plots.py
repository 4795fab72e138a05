"""Plots exactly as DVC resolves them: mlci's series checked against `dvc plots diff --json`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlci.commands.report import image_file_name
from mlci.config import parse_config
from mlci.github.limits import COMMENT_LIMIT
from mlci.repo.git import git
from mlci.repo.revision import open_repo, read_snapshot
from mlci.report.document import Revision, build_report, to_json
from mlci.report.markdown import render_markdown
from tests.testing.fixtures import run_cli
from tests.testing.plots import kinds_repo, live_repo, mlci_side, oracle, same_series
from tests.testing.report import init_dvc_repo


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """mlci's JSON plots (by id) and DVC's oracle, for the plot-kinds project: built once, checked per kind."""
    repo, base, head = kinds_repo(tmp_path_factory.mktemp("kinds"))
    with open_repo(repo.root) as dvc_repo:
        old = read_snapshot(dvc_repo, base, plots=True)
        new = read_snapshot(dvc_repo, head, plots=True)
    report = build_report(parse_config({}), Revision(base, base), Revision(head, head), old, new)
    document = to_json(report)
    return {p["id"]: p for p in document["plots"]}, oracle(repo.root, base, head)


def test_mlci_shows_the_plots_dvc_shows(kinds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    plots, dvc = kinds
    assert set(dvc) <= set(plots)
    # plots DVC has no data for at all (a text file) still get a line in mlci, with the error
    assert set(plots) - set(dvc) <= {"p/notes.txt"}


@pytest.mark.parametrize(
    "plot_id",
    [
        "p/x_named.json",
        "p/two_y.json",
        "x_in_file",
        "two_y_in_file",
        "roc",
        "p/index_only.json",
        "p/steady.json",
        "p/curves/loss.tsv",
        "p/curves/acc.tsv",
        "p/confusion.csv",
        "p/images/same.png",
        "p/images/moves.jpg",
        "p/chart.svg",
        "p/going.json",
        "p/breaks.json",
        "p/notes.txt",
        "p/latin1.json",
    ],
)
def test_each_kind_resolves_as_dvc_plots_diff(
    plot_id: str, kinds: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    plots, dvc = kinds
    plot = plots[plot_id]
    for side in ("base", "head"):
        expected = dvc.get(plot_id, {}).get(side, {"series": {}, "images": [], "errors": set()})
        got = mlci_side(plot, side)
        same_series(got["series"], expected["series"])
        assert got["images"] == expected["images"], side
        assert got["errors"] == expected["errors"], side


@pytest.mark.parametrize(
    ("plot_id", "changed"),
    [
        ("p/x_named.json", True),  # only the x values changed
        ("p/steady.json", False),
        ("p/images/same.png", False),
        ("p/images/moves.jpg", True),
        ("p/going.json", True),  # data at base, an error at head
        ("p/confusion.csv", True),
    ],
)
def test_changed_means_the_resolved_data_differs(
    plot_id: str, changed: bool, kinds: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    assert kinds[0][plot_id]["changed"] is changed


def test_dvclive_project_draws_every_plot_with_its_axes(tmp_path: Path) -> None:
    repo, base, head = live_repo(tmp_path)
    with open_repo(repo.root) as dvc_repo:
        old = read_snapshot(dvc_repo, base, plots=True)
        new = read_snapshot(dvc_repo, head, plots=True)
    report = build_report(
        parse_config({}), Revision("main", base), Revision("feature", head), old, new, pr_number=1
    )
    plots = {p["id"]: p for p in to_json(report)["plots"]}
    dvc = oracle(repo.root, base, head)
    assert set(plots) == set(dvc)
    for plot_id, plot in plots.items():
        for side in ("base", "head"):
            same_series(mlci_side(plot, side)["series"], dvc[plot_id][side]["series"])
    axes = {
        plot_id: {(s["x_field"], s["y_field"]) for s in p["head"]["series"]}
        for plot_id, p in plots.items()
        if p["kind"] != "image"
    }
    assert axes == {
        "ROC": {("fpr", "tpr")},
        "Precision-Recall": {("recall", "precision")},
        "dvclive/plots/metrics/train/loss.tsv": {("step", "loss")},
        "dvclive/plots/metrics/train/acc.tsv": {("step", "acc")},
        "dvclive/plots/sklearn/cm/test.json": {("actual", "predicted")},
    }
    assert to_json(report)["summary"]["plots_changed"] == 6  # all but the unchanged image

    body = render_markdown(report, limit=COMMENT_LIMIT, run_url="https://github.com/o/r/actions/runs/1")
    charts = [block for block in body.split("```mermaid")[1:]]
    assert len(charts) == 4  # ROC and PRC: one chart each; the TSVs: base is a prefix of head's steps
    assert 'x-axis "fpr" 0 --> 1' in charts[0] and charts[0].count("\n  line [") == 4
    assert 'x-axis "recall" 1 --> 0' in charts[1]
    assert 'x-axis "step" ["0", "1",' in charts[2] and charts[2].count("\n  line [") == 2
    assert "blue: head `" in body and "orange: head `" in body and " test.json" in body
    # the confusion matrix: rows are y (predicted), columns x (actual), as DVC draws it
    assert (
        "| predicted ╲ actual" in body and "rows: Predicted label (`predicted`), columns: True label" in body
    )
    assert "🖼️ `dvclive/plots/images/importance.png`: 2.0 kB → 2.5 kB, changed" in body
    assert "Unchanged images: `dvclive/plots/images/samples.png`" in body
    assert "(unchanged)" not in body


def test_image_file_names_stay_inside_the_artifact_folder() -> None:
    assert image_file_name("dvclive/plots/images/a.png") == "dvclive__plots__images__a.png"
    for hostile in ("../../etc/x.png", "/abs/x.png", "..", "a/../../b.svg"):
        name = image_file_name(hostile)
        assert "/" not in name and not name.startswith(".") and name


@pytest.mark.parametrize("steps", [131, 200, 257])
def test_a_thinned_curve_ends_at_each_runs_last_value_and_step_is_not_a_metric(
    tmp_path: Path, steps: int
) -> None:
    repo, base, head = live_repo(tmp_path, steps=steps)
    with open_repo(repo.root) as dvc_repo:
        old = read_snapshot(dvc_repo, base, plots=True)
        new = read_snapshot(dvc_repo, head, plots=True)
    config = parse_config({"report": {"max_plot_points": 23}})
    report = build_report(config, Revision("main", base), Revision("feature", head), old, new, pr_number=1)
    document = to_json(report)
    assert "step" not in {m["key"] for m in document["metrics"]}  # DVCLive's counter, not a metric
    assert "acc" in {m["key"] for m in document["metrics"]}
    body = render_markdown(report, limit=COMMENT_LIMIT)
    tsv = "dvclive/plots/metrics/train/loss.tsv"
    loss = next(b.split("```")[0] for b in body.split("```mermaid")[1:] if f'title "{tsv}"' in b)
    lines = [line for line in loss.splitlines() if line.strip().startswith("line [")]
    finals = sorted(float(line.rsplit(",", 1)[-1].strip(" ]")) for line in lines)
    expected = sorted(
        float(git(repo.root, "show", f"{rev}:{tsv}").splitlines()[-1].split("\t")[1]) for rev in (base, head)
    )
    assert finals == pytest.approx(expected, rel=1e-3)  # head's and base's last loss, as DVCLive wrote


DRAW = """import pathlib, sys
n = pathlib.Path("n.txt").read_text().strip()
folder = pathlib.Path("images")
folder.mkdir(exist_ok=True)
for name in ("loss", "confusion"):
    (folder / f"{name}.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + n.encode() * 300 + name.encode())
"""


def test_image_plots_in_a_dvc_folder_that_cannot_be_loaded_are_named(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("draw.py", DRAW)
    repo.write("dvc.yaml", "stages:\n  draw:\n    cmd: python draw.py\n    deps: [draw.py, n.txt]\n"
               "    outs: [images]\nplots:\n  - images\n")  # fmt: skip
    revs = []
    for n in ("1", "2"):
        repo.write("n.txt", n)
        revs.append(repo.repro_commit(f"images {n}"))
    shutil.rmtree(repo.root / ".dvc" / "cache")
    shutil.rmtree(repo.root / "images")
    repo.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "out-of-reach"))
    proc = run_cli("report", "--base", revs[0], "--head", revs[1], "--format", "json", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    errors = json.loads(proc.stdout)["plot_errors"]
    assert {e["revision"] for e in errors} == {"base", "head"}, errors
    assert all("images" in e["message"] for e in errors), errors
    proc = run_cli("report", "--base", revs[0], "--head", revs[1], cwd=repo.root)
    assert "DVC could not load `dvc.yaml`" in proc.stdout and "images" in proc.stdout, proc.stdout
    assert "2 not loaded" in proc.stdout
