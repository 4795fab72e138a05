"""The Actions runtime adapter, on real payloads and the runner's file formats."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest

from mlci.errors import MlciError
from mlci.github.actions import SUMMARY_LIMIT, Actions, Runtime, escape_data, escape_property
from tests.testing.fixtures import actions_env, load_event, read_outputs


def runtime_for(tmp_path: Path, event_name: str, payload: dict, **extra: str) -> Runtime:
    return Runtime.from_env(actions_env(tmp_path, event_name, payload, **extra))


def test_pull_request_head_comes_from_the_payload_not_github_sha(tmp_path: Path) -> None:
    payload = load_event("pull_request/opened")
    runtime = runtime_for(tmp_path, "pull_request", payload, GITHUB_SHA="f" * 40)
    assert runtime.head_sha == payload["pull_request"]["head"]["sha"]
    assert runtime.base_sha == payload["pull_request"]["base"]["sha"]
    assert runtime.pr_number == payload["number"]
    assert runtime.base_ref == "main" and runtime.head_ref == "more-trees"
    assert runtime.default_branch == "main"
    assert not runtime.is_fork
    assert runtime.run_url == "https://github.com/octo-org/models/actions/runs/4242"


def test_fork_pull_request_is_recognised(tmp_path: Path) -> None:
    payload = copy.deepcopy(load_event("pull_request/opened"))
    payload["pull_request"]["head"]["repo"].update(fork=True, full_name="someone/models")
    assert runtime_for(tmp_path, "pull_request", payload).is_fork


def test_push_head_is_github_sha(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path, "push", load_event("push/new-default-branch"), GITHUB_SHA="a" * 40)
    assert runtime.head_sha == "a" * 40 and runtime.pr_number is None


def test_enterprise_api_url_and_token_precedence(tmp_path: Path) -> None:
    env = actions_env(
        tmp_path,
        "push",
        {},
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        GITHUB_TOKEN="ghs_default",
        MLCI_GITHUB_TOKEN="ghp_personal",
    )
    runtime = Runtime.from_env(env)
    assert runtime.api_url == "https://ghe.example.com/api/v3"
    assert runtime.token == "ghp_personal"
    assert "ghp_personal" not in repr(runtime)


def test_bad_event_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(MlciError, match=r"GITHUB_EVENT_PATH: invalid JSON at line 1, column 2"):
        Runtime.from_env({"GITHUB_EVENT_PATH": str(bad)})
    with pytest.raises(MlciError, match=r"GITHUB_EVENT_PATH: cannot be read \(No such file"):
        Runtime.from_env({"GITHUB_EVENT_PATH": str(tmp_path / "nope.json")})


def test_outputs_survive_multiline_values_and_forged_delimiters(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path, "push", {})
    actions = Actions(runtime)
    hostile = "line one\nEOF\nname=forged\n::set-output name=x::y"
    actions.set_output("report", hostile)
    actions.set_output("gates-passed", "true")
    outputs = read_outputs(Path(runtime.output_file))
    assert outputs == {"report": hostile, "gates-passed": "true"}


def test_annotations_escape_what_the_runner_unescapes(tmp_path: Path) -> None:
    stream = io.StringIO()
    actions = Actions(runtime_for(tmp_path, "push", {}), stream=stream)
    actions.annotate("error", "50% worse\n::warning::forged", file="metrics,a:b.json", line=3, title="gate")
    line = stream.getvalue()
    assert line == "::error file=metrics%2Ca%3Ab.json,line=3,title=gate::50%25 worse%0A::warning::forged\n"
    assert line.count("\n") == 1  # a PR cannot start a second workflow command
    assert escape_data("a\r\nb%") == "a%0D%0Ab%25"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_outside_actions_annotations_are_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    Actions(Runtime()).annotate("warning", "no comment posted", file="metrics.json")
    assert capsys.readouterr().err == "warning: metrics.json: no comment posted\n"


def test_groups_and_masks(tmp_path: Path) -> None:
    stream = io.StringIO()
    actions = Actions(runtime_for(tmp_path, "push", {}), stream=stream)
    actions.mask("s3cr3t-token")
    with actions.group("dvc repro"):
        print("working", file=stream)
    assert stream.getvalue() == "::add-mask::s3cr3t-token\n::group::dvc repro\nworking\n::endgroup::\n"


def test_summary_is_appended_and_cut_at_one_mebibyte(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path, "push", {})
    actions = Actions(runtime)
    assert actions.append_summary("# first\n")
    big = "".join(f"| row {i} | {'x' * 80} |\n" for i in range(20_000))
    actions.append_summary(big)
    text = Path(runtime.summary_file).read_text()
    assert text.startswith("# first\n")
    assert len(text.encode()) <= SUMMARY_LIMIT
    assert "cut at GitHub's 1 MiB limit" in text and runtime.run_url in text
    assert all(line.endswith("|") or not line.startswith("| row") for line in text.splitlines())


def test_summary_outside_actions_is_not_written() -> None:
    assert Actions(Runtime()).append_summary("# hi") is False


def test_event_payload_is_read_once_as_json(tmp_path: Path) -> None:
    payload = load_event("workflow_dispatch/default-branch")
    runtime = runtime_for(tmp_path, "workflow_dispatch", payload)
    assert json.loads(json.dumps(dict(runtime.event))) == payload
