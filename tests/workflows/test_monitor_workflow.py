"""monitor.yml's partitioned jobs (#35), read as GitHub reads the file: which job runs when, what each
may do with its token, and that the artifacts one job downloads are the ones the others upload. The run
itself is tests/workflows/test_monitor_partitions.py (slow, on the Actions runner)."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import yaml

from tests.testing.fixtures import ROOT

MONITOR = ROOT / ".github" / "workflows" / "monitor.yml"
PARTITIONED = ("reference", "profile", "decide")


def _jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = yaml.safe_load(MONITOR.read_text())["jobs"]
    return jobs


def _with(job: dict[str, Any], action: str) -> list[dict[str, str]]:
    return [s.get("with", {}) for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def _fill(template: str, **values: str) -> str:
    return re.sub(r"\$\{\{ *matrix\.(\w+) *\}\}", lambda m: values[m.group(1)], template)


def test_the_partitioned_jobs_read_only_and_the_retrain_job_alone_writes() -> None:
    jobs = _jobs()
    for name in ("models", "monitor", *PARTITIONED):
        assert jobs[name]["permissions"] == {"contents": "read"}, name
        checkouts = _with(jobs[name], "actions/checkout")
        assert all(c.get("persist-credentials") is False for c in checkouts), name
    writers = [n for n, job in jobs.items() if "write" in job["permissions"].values()]
    assert writers == ["retrain"]


def test_one_job_or_the_partitioned_ones_run_never_both() -> None:
    jobs = _jobs()
    assert "profiles == '[]'" in jobs["monitor"]["if"]
    for name in PARTITIONED:
        assert "profiles != '[]'" in jobs[name]["if"], name
    assert (
        jobs["profile"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.models.outputs.profiles) }}"
    )
    # the retraining job acts on whichever decided, and only on success
    retrain = jobs["retrain"]
    assert set(retrain["needs"]) >= {"monitor", "decide"}
    assert "needs.monitor.result == 'success' || needs.decide.result == 'success'" in retrain["if"]


def test_the_decide_job_downloads_every_share_of_its_model_and_the_reference_its_shares_used() -> None:
    jobs = _jobs()
    (reference_up,) = _with(jobs["reference"], "actions/upload-artifact")
    (profile_up,) = _with(jobs["profile"], "actions/upload-artifact")
    downloads = _with(jobs["decide"], "actions/download-artifact")
    (by_name,) = [d for d in downloads if "name" in d]
    (by_pattern,) = [d for d in downloads if "pattern" in d]
    assert by_pattern["merge-multiple"] is True
    for model in ("classifier", "batch-1-of-3"):
        uploaded = [_fill(profile_up["name"], model=model, index=str(k)) for k in (1, 2, 3)]
        pattern = _fill(by_pattern["pattern"], model=model)
        assert all(fnmatch.fnmatchcase(u, pattern) for u in uploaded), (uploaded, pattern)
        assert _fill(by_name["name"], model=model) == _fill(reference_up["name"], model=model)
        (profile_down,) = _with(jobs["profile"], "actions/download-artifact")
        assert _fill(profile_down["name"], model=model) == _fill(reference_up["name"], model=model)
    # the decide job's report is what the retrain job reads, under the single job's artifact name
    (report_up,) = _with(jobs["decide"], "actions/upload-artifact")
    (monitor_up,) = _with(jobs["monitor"], "actions/upload-artifact")
    (retrain_down,) = _with(jobs["retrain"], "actions/download-artifact")
    assert report_up["name"] == monitor_up["name"] == retrain_down["name"]
    assert profile_up.get("if-no-files-found") == reference_up.get("if-no-files-found") == "error"
