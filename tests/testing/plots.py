"""Plot projects for the report tests: real git + DVC repos at two revisions, and DVC's own
`dvc plots diff --json` as the oracle for what mlci resolves."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.testing.report import BuiltRepo, dvc_json, init_dvc_repo

# Every kind of plot definition the issue lists, one plot each. `{shift}` differs between revisions.
KINDS_DVC_YAML = textwrap.dedent(
    """
    plots:
      - p/x_named.json:
          x: epoch
          y: loss
          title: Loss by epoch
          x_label: Epoch
          y_label: Loss
      - p/two_y.json:
          x: epoch
          y: [loss, acc]
      - x_in_file:
          x: {p/x_file.json: t}
          y: {p/x_file.json: v}
      - two_y_in_file:
          y: {p/y_file.json: [v, w]}
      - roc:
          template: simple
          x: fpr
          y:
            p/roc_train.json: tpr
            p/roc_test.json: tpr
      - p/index_only.json
      - p/steady.json:
          x: epoch
      - p/curves:
          x: step
      - p/confusion.csv:
          template: confusion
          x: predicted
          y: actual
      - p/images
      - p/chart.svg
      - p/going.json
      - p/breaks.json
      - p/notes.txt
      - p/latin1.json
    """
)


def _rows(count: int, fn: Any) -> list[dict[str, Any]]:
    return [fn(i) for i in range(count)]


def write_kinds(repo: BuiltRepo, rev: int) -> None:
    """The files of KINDS_DVC_YAML at revision 0 (base) or 1 (head)."""
    s = 0.1 * rev
    dump = json.dumps
    repo.write("dvc.yaml", KINDS_DVC_YAML)
    # the head's x values differ (every other epoch): base and head keep their own x
    step = 1 + rev
    repo.write("p/x_named.json", dump(_rows(5, lambda i: {"epoch": i * step, "loss": round(1 / (1 + i), 4)})))
    repo.write(
        "p/two_y.json",
        dump(
            {
                "train": _rows(
                    4, lambda i: {"epoch": i, "loss": round(1 - 0.2 * i + s, 3), "acc": 0.5 + 0.1 * i}
                )
            }
        ),
    )
    repo.write("p/x_file.json", dump(_rows(3, lambda i: {"t": 10 * i, "v": i * i + rev})))
    repo.write("p/y_file.json", dump(_rows(3, lambda i: {"v": i, "w": 2 * i + rev})))
    points = 5 + rev * 2  # a different number of thresholds at head
    for name, power in (("roc_train", 0.4), ("roc_test", 0.6)):
        roc = [
            {"fpr": i / (points - 1), "tpr": round((i / (points - 1)) ** (power - s), 4)}
            for i in range(points)
        ]
        repo.write(f"p/{name}.json", dump({"roc": roc}))
    repo.write("p/index_only.json", dump(_rows(4, lambda i: {"score": i + rev})))
    repo.write("p/steady.json", dump(_rows(3, lambda i: {"epoch": i, "loss": 3 - i})))  # same at both
    for name, fn in (("loss", lambda i: 1 / (1 + i + rev)), ("acc", lambda i: 0.5 + i / 20)):
        lines = "".join(f"{i}\t{fn(i):.4f}\n" for i in range(6))
        repo.write(f"p/curves/{name}.tsv", f"step\t{name}\n{lines}")
    pairs = [(0, 0), (0, 1), (1, 1), (2, 2), (2, 0 if rev else 2), (1, 1)]
    repo.write("p/confusion.csv", "actual,predicted\n" + "".join(f"{a},{p}\n" for a, p in pairs))
    (repo.root / "p" / "images").mkdir(parents=True, exist_ok=True)
    (repo.root / "p" / "images" / "same.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (repo.root / "p" / "images" / "moves.jpg").write_bytes(b"\xff\xd8\xff" + bytes([rev]) * (100 + 50 * rev))
    repo.write("p/chart.svg", f'<svg xmlns="http://www.w3.org/2000/svg"><text>{rev}</text></svg>')
    # errors: missing at head, malformed at head, a text file, invalid UTF-8 at head
    if rev == 0:
        repo.write("p/going.json", dump([{"v": 1}, {"v": 2}]))
    else:
        (repo.root / "p" / "going.json").unlink(missing_ok=True)
    repo.write("p/breaks.json", dump([{"v": 1}]) if rev == 0 else '[{"v": 1,')
    repo.write("p/notes.txt", f"free text {rev}\n")
    (repo.root / "p" / "latin1.json").write_bytes(b'[{"v": 1}]' if rev == 0 else b'[{"caf\xe9": 1}]')


def kinds_repo(base: Path) -> tuple[BuiltRepo, str, str]:
    """The plot-kinds project committed at two revisions: (repo, base sha, head sha)."""
    repo = init_dvc_repo(base)
    write_kinds(repo, 0)
    first = repo.commit("plots at base")
    write_kinds(repo, 1)
    second = repo.commit("plots at head")
    return repo, first, second


# --- the oracle -----------------------------------------------------------------------------------


def oracle(root: Path, base: str, head: str) -> dict[str, Any]:
    """`dvc plots diff --json base head`, per plot id and side ("base"/"head"):
    {"series": {(filename | None, field | None): (xs, ys)}, "images": [filename], "errors": {type}}.

    DVC drops `filename`/`field` from its data points when they do not vary: the key holds None then.
    """
    out = dvc_json(root, "plots", "diff", base, head, "-o", str(root.parent / "dvc_plots"))
    sides = {base: "base", head: "head"}
    result: dict[str, Any] = {}

    def entry(name: str, side: str) -> dict[str, Any]:
        plot = result.setdefault(name, {})
        return plot.setdefault(side, {"series": {}, "images": [], "errors": set()})  # type: ignore[no-any-return]

    for name, renders in out.get("data", {}).items():
        for render in renders:
            if render["type"] == "image":
                for rev in render["revisions"]:
                    entry(name, sides[rev])["images"].append(name)
                continue
            content = render["content"]
            x_key, y_key = _encoding_fields(content)
            for point in content["data"]["values"]:
                key = (point.get("filename"), point.get("field"))
                xs, ys = entry(name, sides[point["rev"]])["series"].setdefault(key, ([], []))
                xs.append(point.get(x_key))
                ys.append(point.get(y_key))
    for error in out.get("errors", []):
        if "name" in error:
            entry(error["name"], sides[error["rev"]])["errors"].add(error["type"])
    return result


def _encoding_fields(content: Mapping[str, Any]) -> tuple[str, str]:
    """The x and y fields of DVC's filled vega-lite template (top level, layered or faceted)."""
    for spec in (content, content.get("spec", {}), *content.get("layer", [])):
        encoding = spec.get("encoding", {})
        if "x" in encoding and "y" in encoding:
            return encoding["x"]["field"], encoding["y"]["field"]
    raise AssertionError(f"no x/y encoding in {sorted(content)}")


def mlci_side(plot: Mapping[str, Any], side: str) -> dict[str, Any]:
    """mlci's JSON entry for one plot and side, in the oracle's shape (full file paths kept)."""
    resolved = plot.get(side) or {}
    series = {(s["file"], s["y_field"]): (s["x"], s["y"]) for s in resolved.get("series", [])}
    image = resolved.get("image")
    return {
        "series": series,
        "images": [image["file"]] if image else [],
        "errors": {e["type"] for e in resolved.get("errors", [])},
    }


def same_series(mlci: Mapping[tuple[str, str], Any], dvc: Mapping[tuple[Any, Any], Any]) -> None:
    """Each of DVC's series is one of mlci's, with the same x and y values, and no others."""
    assert len(mlci) == len(dvc), (sorted(mlci), sorted(dvc, key=str))
    for (filename, field), (xs, ys) in dvc.items():
        matches = [
            key
            for key in mlci
            if (filename is None or key[0] == filename or key[0].endswith("/" + filename))
            and (field is None or key[1] == field)
        ]
        assert len(matches) == 1, (filename, field, sorted(mlci))
        got_x, got_y = mlci[matches[0]]
        assert _same(got_x, xs), (filename, field, got_x, xs)
        assert _same(got_y, ys), (filename, field, got_y, ys)


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y))
        for x, y in zip(a, b, strict=True)
    )


# --- a DVCLive-shaped project ------------------------------------------------------------------------

# What DVCLive writes (its own dvc.yaml in its folder), plus a top-level multi-file ROC and PRC
LIVE_DVC_YAML = textwrap.dedent(
    """
    metrics:
      - metrics.json
    plots:
      - plots/metrics:
          x: step
      - plots/sklearn/cm/test.json:
          template: confusion
          x: actual
          y: predicted
          title: Confusion matrix
          x_label: True label
          y_label: Predicted label
      - plots/images
    """
)
TOP_DVC_YAML = textwrap.dedent(
    """
    plots:
      - ROC:
          template: simple
          x: fpr
          y:
            dvclive/plots/sklearn/roc/train.json: tpr
            dvclive/plots/sklearn/roc/test.json: tpr
      - Precision-Recall:
          template: simple
          x: recall
          y:
            dvclive/plots/sklearn/prc/train.json: precision
            dvclive/plots/sklearn/prc/test.json: precision
    """
)


def write_live(repo: BuiltRepo, rev: int, steps: int = 40, points: int = 25) -> None:
    """A training run's DVCLive output at revision 0 or 1 (the head trains longer and better)."""
    dump = json.dumps
    steps += 10 * rev
    gain = 0.05 * rev
    repo.write("dvc.yaml", TOP_DVC_YAML)
    repo.write("dvclive/dvc.yaml", LIVE_DVC_YAML)
    repo.write("dvclive/metrics.json", dump({"step": steps - 1, "acc": 0.8 + gain}))
    for name, fn in (
        ("loss", lambda i: 1.0 / (1 + 0.2 * i) - gain / 2),
        ("acc", lambda i: 0.8 + gain - 0.3 / (1 + 0.2 * i)),
    ):
        rows = "".join(f"{i}\t{fn(i):.5f}\n" for i in range(steps))
        repo.write(f"dvclive/plots/metrics/train/{name}.tsv", f"step\t{name}\n{rows}")
    for split, power in (("train", 0.3), ("test", 0.5)):
        p = power - gain
        roc = [
            {"fpr": round(i / (points - 1), 4), "tpr": round((i / (points - 1)) ** p, 4)}
            for i in range(points)
        ]
        repo.write(f"dvclive/plots/sklearn/roc/{split}.json", dump({"roc": roc}))
        prc = [
            {
                "recall": round(1 - i / (points - 1), 4),
                "precision": round(0.5 + 0.5 * (i / (points - 1)) ** p, 4),
            }
            for i in range(points)
        ]
        repo.write(f"dvclive/plots/sklearn/prc/{split}.json", dump({"prc": prc}))
    labels = ["cat", "dog", "bird"]
    cm = [{"actual": labels[i % 3], "predicted": labels[(i * (2 - rev) // 3) % 3]} for i in range(30)]
    repo.write("dvclive/plots/sklearn/cm/test.json", dump({"cm": cm}))
    images = repo.root / "dvclive" / "plots" / "images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "importance.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([7 + rev]) * (2000 + 500 * rev))
    (images / "samples.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1500))  # the same at both


def live_repo(base: Path, steps: int = 40, points: int = 25) -> tuple[BuiltRepo, str, str]:
    repo = init_dvc_repo(base)
    write_live(repo, 0, steps, points)
    first = repo.commit("train")
    write_live(repo, 1, steps, points)
    second = repo.commit("train longer")
    return repo, first, second
