"""Reading what `mlci monitor` hands over: its JSON report, and where the fresh data is.

The report's shape belongs to monitoring; only `model`, `retrain_needed`, `current.paths`, `columns`,
`decay` and `summary` are read here, and each may be absent or odd without breaking a retrain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.readers import read_json
from mlci.safety import one_line

Json = dict[str, Any]
_REPORT_HINT = "pass the report `mlci monitor` writes in its JSON format"


def load_report(path: str) -> dict[str, Any]:
    try:
        data = read_json(path, str(path))
    except FileNotFoundError:
        raise MlciError(
            f"monitor report not found: {path}", "pass the JSON file `mlci monitor` wrote"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MlciError(f"{path} is not a JSON monitor report: {one_line(exc)}", _REPORT_HINT) from None
    if not isinstance(data, dict):
        raise MlciError(f"{path} is not a JSON monitor report: expected an object at the top", _REPORT_HINT)
    return data


def fresh_paths(root: Path, data_paths: Sequence[str], report: Mapping[str, Any] | None) -> list[Path]:
    """--data wins over the report's current.paths; relative paths: the working folder, else the repo."""
    given = list(data_paths)
    if not given and report:
        current = report.get("current") or {}
        given = [str(p) for p in (current.get("paths") or [])] if isinstance(current, Mapping) else []
    paths = []
    for item in given:
        path = Path(item)
        if not path.is_absolute():
            path = Path.cwd() / item if (Path.cwd() / item).exists() else root / item
        paths.append(path.resolve())
    return paths


def require_fresh(paths: Sequence[Path], mode: str) -> None:
    """`append` and `replace` need fresh files, and every file named must be there."""
    if mode in ("append", "replace") and not paths:
        raise MlciError(
            "no fresh data to retrain on",
            "pass --data PATH (labelled rows with the training data's columns) "
            "or a monitor report with current.paths",
        )
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise MlciError(
            f"fresh data not found: {', '.join(map(one_line, missing))}",
            "check --data or the report's current.paths (relative paths: from here, else the repo root)",
        )


def shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def drift_rows(report: Mapping[str, Any] | None) -> tuple[list[Json], int]:
    """The drifted columns of a monitor report (odd fields tolerated), and how many were checked."""
    columns = [c for c in (report or {}).get("columns") or [] if isinstance(c, Mapping)]
    drifted = [
        {
            "name": str(c.get("name", "?")),
            "method": str(c.get("method") or c.get("test") or ""),
            "score": _number(c, "score", "statistic", "psi", "value", "p_value"),
            "threshold": _number(c, "threshold"),
            "why": "; ".join(str(r) for r in c.get("reasons") or [] if r)
            if isinstance(c.get("reasons"), list)
            else "",
        }
        for c in columns
        if c.get("drifted")
    ]
    return drifted, len(columns)


def decay_rows(report: Mapping[str, Any] | None) -> list[Json]:
    decay = (report or {}).get("decay")
    failed: Sequence[Any] = decay.get("failed") or [] if isinstance(decay, Mapping) else []
    rows = []
    for item in failed:
        if isinstance(item, Mapping):
            name = str(item.get("metric") or item.get("name") or "?")
            rest = {k: v for k, v in item.items() if k not in ("metric", "name", "passed")}
            detail = item.get("reason") or ", ".join(f"{k} {v}" for k, v in rest.items())
            rows.append({"metric": name, "detail": str(detail)})
        else:
            rows.append({"metric": str(item), "detail": ""})
    return rows


def _number(item: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None
