"""#35 on the Actions runner: the reusable monitor workflow with `partitions: 3`, called as `mlci init`'s
caller calls it. The current data's files are shared out among three profile jobs (`mlci profile
--partition K/3`), one job decides from their profiles (`mlci monitor --profiles`), and the retrain job
opens the retraining pull request: what a user sees must be what one job reading every file gives."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.runner import requires_runner
from tests.testing.scenario import Scenario

pytestmark = [requires_runner, pytest.mark.slow]

SHIFTED = ("mean_radius", "mean_perimeter", "mean_area", "mean_concavity", "mean_concave_points")
BRANCH = "mlci/retrain/classifier"


def _drifted_days(s: Scenario, days: int) -> list[str]:
    """The test split with five features scaled by 1.8 (labels kept), cut into `days` files
    data/fresh/day-NN.csv of contiguous rows; their names."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(s.repo.root / "data/prepared/test.csv")
    for column in SHIFTED:
        frame[column] = frame[column] * 1.8
    (s.repo.root / "data/fresh").mkdir()
    names = []
    for day, rows in enumerate(np.array_split(np.arange(len(frame)), days), 1):
        names.append(f"day-{day:02d}.csv")
        frame.iloc[rows].to_csv(s.repo.root / "data/fresh" / names[-1], index=False)
    return names


def _with_partitions(s: Scenario, count: int) -> None:
    """The caller `mlci init` wrote, with its commented `partitions` line set to `count`."""
    caller = s.repo.root / ".github/workflows/mlci-monitor.yml"
    text, found = re.subn(
        r"^( *)# partitions: \d+", rf"\g<1>partitions: {count}", caller.read_text(), flags=re.M
    )
    assert found == 1, "the monitor caller lost its commented `partitions` line"
    caller.write_text(text)


def _decision(report: dict[str, Any]) -> dict[str, Any]:
    """What a user acts on: the verdict, which columns and predictions drifted, how many rows, decay."""
    return {
        "drift_detected": report["drift_detected"],
        "retrain_needed": report["retrain_needed"],
        "dataset": report["dataset"],
        "columns": [(c["name"], c.get("drifted")) for c in report["columns"]],
        "rows": report["current"]["rows"],
        "prediction": report["prediction_drift"].get("drifted_columns"),
        "decay_gate_failed": report["decay"].get("gate_failed"),
    }


def test_three_profile_jobs_and_one_decision_give_one_jobs_report_and_one_pull_request(
    scenario: Scenario,
) -> None:
    s = scenario
    deployed = run_cli("deploy", cwd=s.repo.root)  # v0.0.1 in prod
    assert deployed.returncode == 0, deployed.stderr
    files = _drifted_days(s, 4)
    _with_partitions(s, 3)
    s.repo.commit("Fresh data, monitored in three partitions")
    s.repo.git("push", "-q", "origin", "main")
    s.fake.refs["refs/heads/main"] = s.repo.head()

    result = s.run("schedule", "mlci-monitor.yml", {"schedule": "17 6 * * *"})

    assert result.returncode == 0, result.explain()
    artifacts = s.tmp / "artifacts" / str(4200 + s.runs)
    # three profile jobs, each one contiguous share of the sorted files, all against one reference
    parts = [
        json.loads(p.read_text())
        for p in sorted(artifacts.glob("mlci-profile-classifier-*/classifier/*.json"))
    ]
    assert [(p["partition"]["index"], p["partition"]["count"]) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    shares = [[Path(f).name for f in p["partition"]["files"]] for p in parts]
    assert all(shares) and [f for share in shares for f in share] == files
    assert len({json.dumps(p["reference"], sort_keys=True) for p in parts}) == 1
    assert len(re.findall(r"Success - Main mlci profile --partition", result.log)) == 3
    assert "Success - Main mlci monitor --profiles" in result.log

    # the decision equals one `mlci monitor` over every file (what the single monitor job runs)
    report = json.loads((artifacts / "mlci-monitor-classifier" / "classifier.json").read_text())
    single = run_cli("monitor", "classifier", "--current", "data/fresh", "--format", "json", cwd=s.repo.root)
    assert single.returncode == 0, single.stderr
    assert _decision(report) == _decision(json.loads(single.stdout))
    assert report["drift_detected"] is True and set(SHIFTED[:3]) <= set(report["dataset"]["drifted_columns"])

    # the retrain job acted on it once: one branch, one pull request
    assert git(s.repo.origin, "rev-parse", f"refs/heads/{BRANCH}")
    assert [p["base"]["ref"] for p in s.fake.pulls if p["head"]["ref"] == BRANCH] == ["main"]
    assert len(s.fake.pulls) == 1
