"""Workflow commands forged through mlci's log: the runner takes a line for a command when, trimmed, it
starts with `::`, or when it holds `##[` anywhere. Params values and YAML errors quoting dvc.yaml or
params.yaml come from the PR and reach stdout/stderr; no such line may survive."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mlci.safety import inert_log, inert_log_line
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.reliability import pr_payload, step_env

FORGED = ["##[add-mask]x", "  ::add-mask::x", "::set-output name=a::b", "\u200b::warning::zw", "a ##[group]b"]
OWN = re.compile(r"^::(group|endgroup|error|warning|notice|debug)( [^:]*)?::")
IGNORABLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u206f\ufeff]")  # .NET's culture-aware compare skips them


def runner_commands(text: str, token: str) -> list[str]:
    """Lines the runner would run as a command, except mlci's own (unindented, of its kinds)."""
    found = []
    for line in re.split(r"\r\n|\r|\n", text):
        folded = IGNORABLE.sub("", line)
        if "##[" in folded:
            found.append(line)
        elif folded.strip().startswith("::"):
            own = line.startswith("::") and (OWN.match(line) or line == f"::add-mask::{token}")
            if not own:
                found.append(line)
    return found


@pytest.mark.parametrize("line", FORGED)
def test_a_neutralised_line_is_no_command_and_stays_readable(line: str) -> None:
    assert runner_commands(inert_log_line(line), "t") == []
    assert "add-mask" in inert_log_line("##[add-mask]x") and inert_log_line("plain: text") == "plain: text"
    assert runner_commands(inert_log(f"ok\r{line}\n{line}\r\n"), "t") == []


def pr_run(repo: ExampleRepo, fake: FakeGitHub, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    sha = repo.head()
    env = step_env(tmp, fake, "pull_request", pr_payload(fake.repository, sha, sha))
    return run_cli(*args, cwd=repo.root, env=env)


def assert_no_commands(proc: subprocess.CompletedProcess[str], token: str) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert runner_commands(stream, token) == [], stream


def test_params_values_in_the_printed_report_forge_no_command(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base = example_repo.head()
    params = yaml.safe_load((example_repo.root / "params.yaml").read_text())
    params["train"].update({f"note{i}": value for i, value in enumerate(FORGED)})
    example_repo.write("params.yaml", yaml.safe_dump(params, sort_keys=False))
    head = example_repo.commit("Notes")
    env = step_env(
        tmp_path / "step", fake_github, "pull_request", pr_payload(fake_github.repository, base, head)
    )

    proc = run_cli("report", cwd=example_repo.root, env=env)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "note0" in proc.stdout and "add-mask" in proc.stdout  # the values are shown, inert
    assert_no_commands(proc, fake_github.token)


@pytest.mark.parametrize(
    ("file", "command"),
    [("dvc.yaml", "train"), ("dvc.yaml", "data check"), ("dvc.yaml", "report"), ("params.yaml", "report")],
)
def test_a_broken_yaml_quoted_in_the_error_forges_no_command(
    file: str, command: str, example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    path = example_repo.root / file
    # the parser quotes the line it fails on: a flow list that starts with `::`
    path.write_text(path.read_text() + "\nbad: [\n::add-mask::x ##[add-mask]y ::set-output name=a::b : ]]\n")
    example_repo.commit(f"Break {file}")

    proc = pr_run(example_repo, fake_github, tmp_path / "step", *command.split())

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert file in proc.stderr and "add-mask" in proc.stdout + proc.stderr, proc.stderr
    assert_no_commands(proc, fake_github.token)
