"""The monitor report: the JSON document (schema_version 1, docs/monitor.md) and its markdown.

The JSON is the contract with the retraining step: `model`, `drift_detected`, `retrain_needed`,
`current.paths`, `reference`, `columns`, `prediction_drift`, `decay`.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.render import render

if TYPE_CHECKING:
    from mlci.config import Config
    from mlci.monitor.inputs import Observed, Production
    from mlci.monitor.reference import Reference

SCHEMA_VERSION = 1
MAX_CHARTS = 10
# Below this many current rows no test here can tell a shift from noise (a two-sample KS test on 30 rows
# detects only shifts of about 0.35 std or more at alpha 0.05): "no drift" is then said with that caveat.
FEW_ROWS = 30


@dataclass(frozen=True)
class Verdict:
    """What one monitoring run found, typed until it is rendered: `to_json` (the JSON document,
    docs/monitor.md) and `render_markdown` (the job summary and the report) both render from it."""

    name: str  # the model ("" when only data are compared)
    stage: str  # the stage the production version is in (the last of deploy.stages, else deploy.stage)
    production: Production
    reference: Reference
    observed: Observed
    generated_at: str  # UTC, ISO 8601 to the second
    drift_detected: bool  # dataset drift: the drifted share of columns reached the threshold
    retrain_needed: bool  # dataset drift, or a decay gate failed
    summary: str  # one sentence, each finding said once


def judge(config: Config, name: str, prod: Production, ref: Reference, observed: Observed) -> Verdict:
    """The verdict of one run (after the reference's model is released: `ref.close()`)."""
    decay = _decay_json(observed, ref)
    drift_detected = bool(observed.data.dataset_drift)
    retrain = drift_detected or bool(decay.get("gate_failed"))
    summary = _summary(name, observed.data, decay, _prediction(observed, ref), retrain, observed.rows)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Verdict(
        name, config.deploy.production_stage, prod, ref, observed, now, drift_detected, retrain, summary
    )


def to_json(verdict: Verdict) -> dict[str, Any]:
    """The JSON document (schema_version 1); NaN and infinity become null."""
    observed, ref, prod, data = verdict.observed, verdict.reference, verdict.production, verdict.observed.data
    report = {
        "schema_version": SCHEMA_VERSION,
        "model": verdict.name,
        "generated_at": verdict.generated_at,
        "drift_detected": verdict.drift_detected,
        "retrain_needed": verdict.retrain_needed,
        "summary": verdict.summary,
        "few_rows": observed.rows < FEW_ROWS,
        "production": {
            "version": prod.version,
            "commit": prod.commit,
            "stage": verdict.stage,
            "source": prod.source,
        },
        "reference": {**ref.info, "model_commit": ref.model_commit},
        "current": {"spec": observed.spec, "paths": observed.paths, "rows": observed.rows},
        "dataset": {
            "drifted_share": data.drifted_share,
            "drift_share_threshold": data.drift_share,
            "drifted_columns": data.drifted_columns(),
            "columns_compared": len(data.compared),
        },
        "schema": data.schema.to_json(),
        "columns": [c.to_json() for c in data.columns],
        "prediction_drift": _prediction(observed, ref),
        "decay": _decay_json(observed, ref),
        "notes": [n for n in [prod.note, *ref.notes, *observed.notes] if n],
    }
    cleaned: dict[str, Any] = _clean(report)
    return cleaned


def _decay_json(observed: Observed, ref: Reference) -> dict[str, Any]:
    return observed.decay.to_json() if observed.decay is not None else _absent(observed, ref)


def _prediction(observed: Observed, ref: Reference) -> dict[str, Any]:
    result = observed.prediction
    if result is None:
        why = observed.model_note or (
            "no production model" if not ref.has_model else "the reference has no prediction profile"
        )
        return {"available": False, "drift_detected": False, "note": why, "columns": []}
    return {
        "available": True,
        "drift_detected": bool(result.drifted_columns()),
        "drifted_columns": result.drifted_columns(),
        "columns": [c.to_json() for c in result.columns],
    }


def _absent(observed: Observed, ref: Reference) -> dict[str, Any]:
    """Why decay was not checked: the true reason, from the first thing missing."""
    if observed.model_note:
        why = observed.model_note
    elif not ref.has_model:
        why = next((n for n in ref.notes if "no prediction drift or decay" in n), "no production model")
    elif not observed.target:
        why = f"no label column is configured: set `models.{ref.name}.target` in mlci.yaml to check decay"
    else:
        why = f"the current data has no label column {observed.target!r}"
    return {"available": False, "gate_failed": False, "note": why, "metrics": [], "gates": [], "failed": []}


def _summary(
    name: str, data: Any, decay: dict[str, Any], prediction: dict[str, Any], retrain: bool, rows: int
) -> str:
    """One sentence, each finding said once: "classifier: dataset drift (6 of 11 columns, 55%; threshold
    30%); predictions drifted; performance decayed (test.accuracy) → retraining needed"."""
    drifted = data.drifted_columns()
    findings: list[str] = []
    if data.schema.missing:
        names = ", ".join(data.schema.missing[:5]) + (" …" if len(data.schema.missing) > 5 else "")
        plural = "s" if len(data.schema.missing) > 1 else ""
        findings.append(f"{len(data.schema.missing)} column{plural} missing from the current data ({names})")
    if rows < FEW_ROWS:
        findings.append(
            f"only {rows} current row{'' if rows == 1 else 's'}: too few to tell drift from noise"
        )
    counts = f"{len(drifted)} of {len(data.compared)} columns, {data.drifted_share:.0%}; threshold {data.drift_share:.0%}"
    if data.dataset_drift:
        findings.insert(0, f"dataset drift ({counts})")
    elif drifted:
        findings.append(f"no dataset drift ({counts})")
    else:
        findings.append(f"no column drifted (of {len(data.compared)})")
    if prediction.get("drift_detected"):
        findings.append("predictions drifted")
    if decay.get("gate_failed"):
        findings.append("performance decayed (" + ", ".join(str(f["metric"]) for f in decay["failed"]) + ")")
    verdict = "retraining needed" if retrain else "no retraining needed"
    return f"{name or 'data'}: " + "; ".join(findings) + f" → {verdict}"


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


# --- markdown ------------------------------------------------------------------------------------


def render_markdown(root: Path, verdict: Verdict) -> str:
    """The markdown report (`drift_report.md.j2`, overridable under .mlci/templates/)."""
    report = to_json(verdict)
    columns = sorted(report["columns"], key=lambda c: (not c["drifted"], c["name"]))
    charts = [chart(c) for c in columns if c["drifted"] and c["histogram"]["labels"]][:MAX_CHARTS]
    pred = report["prediction_drift"]
    pred_charts = [chart(c) for c in pred.get("columns", []) if c["drifted"] and c["histogram"]["labels"]]
    return render(
        "drift_report.md.j2",
        repo_root=root,
        r=report,
        columns=columns,
        charts=charts,
        pred_charts=pred_charts,
        more_charts=max(0, len(report["dataset"]["drifted_columns"]) - MAX_CHARTS),
    )


_MERMAID_UNSAFE = re.compile(r"[^\w .,:;+\-–≤>()/%']", re.UNICODE)


def mermaid_text(value: object, limit: int = 24) -> str:
    """Text inside a quoted Mermaid label: no quotes, backticks, brackets or line breaks."""
    text = _MERMAID_UNSAFE.sub("_", str(value).replace('"', "'"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chart(column: dict[str, Any]) -> dict[str, Any]:
    """A Mermaid xychart: reference shares as bars, current shares as a line, in percent."""
    hist = column["histogram"]
    ref = [round(100 * (x or 0.0), 1) for x in hist["reference"]]
    cur = [round(100 * (x or 0.0), 1) for x in hist["current"]]
    top = max([*ref, *cur, 1.0])
    labels = ", ".join(f'"{mermaid_text(label, 16)}"' for label in hist["labels"])
    body = "\n".join(
        [
            "xychart-beta",
            f'  title "{mermaid_text(column["name"], 60)}: reference (bars) vs current (line), % of rows"',
            f"  x-axis [{labels}]",
            f'  y-axis "% of rows" 0 --> {math.ceil(top / 5) * 5}',
            f"  bar [{', '.join(str(x) for x in ref)}]",
            f"  line [{', '.join(str(x) for x in cur)}]",
        ]
    )
    # a <summary> is HTML: escaped for HTML, and @ made inert like md_escape does
    label = html.escape(str(column["name"])).replace("@", "@\u200d")
    return {"name": column["name"], "html_name": label, "mermaid": body}
