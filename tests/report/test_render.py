"""The report's markdown: fits a comment, escapes what a PR controls, draws plots as Mermaid."""

from __future__ import annotations

import json
import math

from mlci.config import parse_config
from mlci.github.limits import COMMENT_LIMIT
from mlci.repo.plots import resolve_plots
from mlci.repo.revision import Snapshot, TrackedOut
from mlci.report.document import Revision, build_report, to_json
from mlci.report.markdown import render_markdown
from mlci.report.plots import draw, mermaid_chart

BASE = Revision("main", "a" * 40)
HEAD = Revision("feature", "b" * 40)


def report_for(old: Snapshot, new: Snapshot, **config: object):  # type: ignore[no-untyped-def]
    return build_report(parse_config(config), BASE, HEAD, old, new, pr_number=3)


def big_snapshots(count: int) -> tuple[Snapshot, Snapshot]:
    """`count` metrics in three files; every 50th changes."""
    old: dict[str, dict[str, object]] = {}
    new: dict[str, dict[str, object]] = {}
    for i in range(count):
        file = f"eval/part{i % 3}.json"
        value = i / count
        old.setdefault(file, {})[f"layer{i}.score"] = value
        new.setdefault(file, {})[f"layer{i}.score"] = value + (0.01 if i % 50 == 0 else 0.0)
    return Snapshot("main", metrics=old), Snapshot("feature", metrics=new)  # type: ignore[arg-type]


def test_two_thousand_metrics_fit_one_comment_changed_and_gated_rows_first() -> None:
    old, new = big_snapshots(2000)
    report = report_for(old, new, gates=[{"metric": "layer7.score", "min": 0.5}])
    full = render_markdown(report)
    assert len(full) > COMMENT_LIMIT  # the full table would not fit
    body = render_markdown(
        report, limit=COMMENT_LIMIT, full_report_hint="; the full table is in the job summary"
    )
    assert len(body) <= COMMENT_LIMIT
    changed = [r for r in report.rows if r.status == "changed"]
    assert len(changed) == 40
    for row in changed:
        assert row.key.replace("_", "\\_") in body
    assert "layer7.score" in body and "❌" in body  # the gated row is shown with its verdict
    assert "1959 of 2000 metrics not shown" in body  # 40 changed + 1 gated are shown
    assert "the full table is in the job summary" in body


def test_text_from_the_pr_is_escaped_everywhere() -> None:
    evil = "a|b<img src=x onerror=alert(1)>@team"
    old = Snapshot("main", metrics={"m.json": {evil: 1.0}}, params={"params.yaml": {"p": "x`y"}})
    new = Snapshot(
        "feature",
        metrics={"m.json": {evil: 2.0}},
        params={"params.yaml": {"p": "<b>bold</b>|"}},
        outs={"data/<x>.csv": TrackedOut("data/<x>.csv", "f" * 32, 10, None, "data")},
    )
    body = render_markdown(report_for(old, new))
    assert "<img" not in body and "@team" not in body
    assert "a\\|b&lt;img" in body
    assert "`<b>bold</b>\\|`" in body  # inert inside code; the pipe escaped for the table
    table_lines = [line for line in body.splitlines() if line.startswith("|")]
    # every table row has the same number of unescaped cell separators as its header
    for line in table_lines:
        assert line.replace("\\|", "").count("|") in (4, 6)


def test_lower_is_better_metric_rising_is_marked_worse() -> None:
    old = Snapshot("main", metrics={"m.json": {"val.loss": 0.5, "acc": 0.8}})
    new = Snapshot("feature", metrics={"m.json": {"val.loss": 0.6, "acc": 0.9}})
    body = render_markdown(report_for(old, new))
    loss_line = next(line for line in body.splitlines() if "val.loss" in line)
    acc_line = next(line for line in body.splitlines() if line.startswith("| acc"))
    assert "🔴 ▲" in loss_line and "🟢 ▲" in acc_line


def test_json_document_is_strict_json_with_nan_as_text() -> None:
    old = Snapshot("main", metrics={"m.json": {"a": 1.0, "name": "x"}})
    new = Snapshot("feature", metrics={"m.json": {"a": math.nan, "name": "y"}})
    document = to_json(report_for(old, new))
    text = json.dumps(document, allow_nan=False)  # raises on a bare NaN
    row = next(m for m in json.loads(text)["metrics"] if m["key"] == "a")
    assert row["head"] == "NaN" and row["change"] is None
    assert document["summary"]["verdict"] == "no gates" and document["summary"]["gates_passed"] is True


def roc(points: int, shift: float) -> list[dict[str, float]]:
    return [
        {"fpr": i / (points - 1), "tpr": min(1.0, (i / (points - 1)) ** 0.3 + shift)} for i in range(points)
    ]


def shown(rows: list[dict[str, float]] | None, template: str | None = None) -> dict[str, object]:
    """One revision of DVC's `plots.show` result with one plot, `plots/roc.json` (None: file missing)."""
    props: dict[str, str] = (
        {"x": "fpr", "y": "tpr"} if template is None else {"template": template, "x": "p", "y": "a"}
    )
    source: dict[str, object] = {"error": FileNotFoundError("plots/roc.json")}
    if rows is not None:
        source = {"data": {"roc": rows}, "props": props}
    return {
        "definitions": {"data": {"": {"data": {"plots/roc.json": props}}}},
        "sources": {"data": {"plots/roc.json": source}},
    }


def test_long_curves_are_thinned_each_revision_on_its_own_x_values() -> None:
    (plot,) = resolve_plots(shown(roc(500, 0.0)), shown(roc(300, -0.05))).plots
    assert plot.changed and plot.head is not None and len(plot.head.series[0].x) == 300
    charts = draw(plot, max_points=40).charts
    # other x values at each revision: a chart each (head first), never one resampled grid
    assert [c.total for c in charts] == [300, 500]
    # evenly spaced x: every k-th point with both ends (299 = 13 × 23 steps: k = 13), so the numeric axis
    # stays exact and the curve ends at its last point; 499 steps (prime) has no such k: every k-th point
    # counted back from the last, plus the first, on an axis captioned not to scale
    assert [len(c.x) for c in charts] == [24, 40] and [c.to_scale for c in charts] == [True, False]
    assert 'x-axis "fpr" 0 --> 1' in mermaid_chart(charts[0])
    assert all(c.x[0] == "0" and c.x[-1] == "1" for c in charts)


def test_uneven_x_keeps_each_lines_extremes_and_says_the_axis_is_not_to_scale() -> None:
    rows = [{"fpr": (i / 199) ** 2, "tpr": 0.5 + 0.4 * math.sin(i / 10)} for i in range(200)]
    (plot,) = resolve_plots(shown(rows), shown(rows)).plots
    assert not plot.changed
    (chart,) = draw(plot, max_points=40).charts
    (line,) = chart.lines
    assert not chart.to_scale and 40 <= len(chart.x) <= 43 and chart.total == 200
    ys = [r["tpr"] for r in rows]
    assert min(line.values) == min(ys) and max(line.values) == max(ys)
    assert 'x-axis "fpr" ["0", ' in mermaid_chart(chart)


def test_plot_missing_at_base_is_an_error_there_and_confusion_counts_follow_x_and_y() -> None:
    (line,) = resolve_plots(shown(None), shown(roc(10, 0.0))).plots
    assert (
        line.base is not None and line.base.series == [] and line.base.errors[0].type == "FileNotFoundError"
    )
    assert line.changed and len(draw(line).charts) == 1
    rows_old = [{"a": 1, "p": 1}, {"a": 0, "p": 1}, {"a": 0, "p": 0}]
    rows_new = [{"a": 1, "p": 1}, {"a": 0, "p": 0}, {"a": 0, "p": 0}]
    (matrix,) = resolve_plots(shown(rows_old, "confusion"), shown(rows_new, "confusion")).plots
    (table,) = draw(matrix).tables
    # rows are the definition's y (a), columns its x (p)
    assert (table.y_field, table.x_field, table.rows, table.columns) == ("a", "p", ["0", "1"], ["0", "1"])
    assert table.base == [[1, 1], [0, 1]] and table.head == [[2, 0], [0, 1]]


def test_mermaid_labels_cannot_break_out_of_the_chart() -> None:
    rows = roc(5, 0.0)
    evil_id = 'x"]\n```\n<script>'
    evil = {
        "definitions": {"data": {"": {"data": {evil_id: {"x": "fpr", "y": "tpr"}}}}},
        "sources": {"data": {evil_id: {"data": rows}}},
    }
    (plot,) = resolve_plots(evil, evil).plots
    chart = mermaid_chart(draw(plot).charts[0])
    assert "```" not in chart and "<script>" not in chart
    assert chart.count('"') == 6  # title and two axis labels


def test_when_even_changed_rows_do_not_fit_gated_rows_and_biggest_moves_come_first() -> None:
    count = 3000
    old = {"eval/scores.json": {f"group.metric_{i:04d}": 1.0 for i in range(count)}}
    new = {"eval/scores.json": {f"group.metric_{i:04d}": 1.0 + i / count for i in range(count)}}
    gates = [{"metric": "group.metric_0001", "max_rise": 0.0}]  # a tiny rise, gated and failing
    report = report_for(Snapshot("main", metrics=old), Snapshot("f", metrics=new), gates=gates)  # type: ignore[arg-type]
    body = render_markdown(report, limit=COMMENT_LIMIT)
    assert len(body) <= COMMENT_LIMIT
    shown = [line for line in body.splitlines() if line.startswith("| group.metric\\_")]
    assert 100 < len(shown) < count - 1
    assert "group.metric\\_0001" in shown[0]  # the failed gate leads
    assert "group.metric\\_2999" in shown[1]  # then the biggest relative change
    assert f"{count - len(shown)} of {count} metrics not shown" in body


def test_too_many_charts_for_a_comment_leave_the_charts_to_the_job_summary() -> None:
    def many(shift: float) -> dict[str, object]:
        props = {"x": "fpr", "y": {f"plots/{split}.json": "tpr" for split in ("train", "test")}}
        definitions = {f"plot{n}": props for n in range(60)}
        sources = {f"plots/{split}.json": {"data": {"roc": roc(60, shift)}} for split in ("train", "test")}
        return {"definitions": {"data": {"": {"data": definitions}}}, "sources": {"data": sources}}

    old, new = Snapshot("main", plots=many(0.0)), Snapshot("feature", plots=many(-0.1))
    report = report_for(old, new)
    assert len(render_markdown(report)) > COMMENT_LIMIT  # the job summary draws all 60
    body = render_markdown(report, limit=COMMENT_LIMIT)
    assert len(body) <= COMMENT_LIMIT and "xychart-beta" not in body
    assert body.count("chart left out to fit the comment: it is in the job summary") == 60
