"""A hostile pull request: metric names, param values, file paths and a branch name carrying markdown,
HTML, mentions, expressions and workflow commands. mlci posts them inert, and its token never shows."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, read_outputs, run_cli
from tests.testing.reliability import PR, copy_project, pr_payload, step_env, token_leaks

HOSTILE = [
    "x\n::set-output name=pwned::1",
    "<img src=x onerror=alert(1)>",
    "</details></table>",
    "${{ secrets.DEPLOY_KEY }}",
    "@octocat please",
    "::add-mask::visible",
    "::error::forged by the PR",
    "::stop-commands::pwnd",
    "| broken | table |\n| --- |",
    "```\nfenced",
    '<a href="https://evil.example">click</a>',
    "<img src=https://evil.example/x.png>",
    "&#64;octocat",
    "\uff20octocat",
]
EVIL_PATH = "m`<b>@x`::error::forged.json"  # a metrics file path the PR chose
BRANCH = "feature/::set-output name=branch::1<img src=x>"
# the workflow commands mlci itself writes; anything else at the start of a line is forged
OWN_COMMAND = re.compile(r"^::(add-mask|group|endgroup|error|warning|notice|debug)( [^:]*)?::")
EXPECTED_OUTPUTS = {"gates-passed", "report-file", "report-json", "comment-url", "check-run-url"}


def forged_commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::") and not OWN_COMMAND.match(line)]


def outside_code(body: str) -> str:
    """The text GitHub interprets: fenced blocks and code spans (any fence length) removed."""
    body = re.sub(r"^```[^\n]*\n.*?^```[ \t]*$", "", body, flags=re.S | re.M)
    return re.sub(r"(`+)(.+?)(?<!`)\1(?!`)", "", body)


def cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))  # GitHub splits cells on every unescaped pipe


def inert_markdown(body: str) -> None:
    """What a PR put into the text cannot become HTML, a mention, a closed <details> or a broken table."""
    text = outside_code(body)
    assert "<img" not in text and "</table>" not in text and "<a " not in text
    assert "&#64;" not in text and "\uff20octocat" not in text
    assert text.count("<details") == text.count("</details>")
    assert not re.search(r"(?<![\w`])@octocat", text)  # mentions are broken with a zero-width joiner
    assert "${{" not in text
    assert not forged_commands(body)
    for table in re.findall(r"(?:^\|.*\n)+", body, flags=re.M):
        rows = table.splitlines()
        assert len({cells(row) for row in rows}) == 1, table


@pytest.fixture
def hostile(_example_template: Path, tmp_path: Path) -> tuple[ExampleRepo, str, str]:
    """main, then a PR branch whose metrics, params and paths are hostile: (repo, base, head)."""
    repo = copy_project(_example_template, tmp_path / "project")
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    evil = {"evil": {name: 0.5 for name in HOSTILE}}
    repo.write("evil.json", json.dumps(evil))
    repo.write(EVIL_PATH, json.dumps({"score": 0.25, HOSTILE[0]: 1}))
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    params["train"].update({f"note{i}": value for i, value in enumerate(HOSTILE)})
    params["train"][HOSTILE[1]] = HOSTILE[6]
    repo.write("params.yaml", yaml.safe_dump(params, sort_keys=False))
    pipeline = yaml.safe_load((repo.root / "dvc.yaml").read_text())
    pipeline["metrics"] = ["evil.json", EVIL_PATH]
    repo.write("dvc.yaml", yaml.safe_dump(pipeline, sort_keys=False))
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    config["gates"] = [{"metric": "evil.*", "min": 0.9}, {"metric": "score", "min": 0.9}]
    repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))
    return repo, base, repo.commit("A hostile pull request")


def run_report(
    repo: ExampleRepo, fake: FakeGitHub, tmp: Path, base: str, head: str, *args: str
) -> subprocess.CompletedProcess[str]:
    payload = pr_payload(fake.repository, base, head, head_ref=BRANCH)
    env = step_env(
        tmp, fake, "pull_request", payload, GITHUB_HEAD_REF=BRANCH, GITHUB_REF=f"refs/pull/{PR}/merge"
    )
    return run_cli(*args, "report", cwd=repo.root, env=env)


def test_hostile_names_reach_comment_summary_outputs_and_log_inert(
    hostile: tuple[ExampleRepo, str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo, base, head = hostile
    step = tmp_path / "step"

    proc = run_report(repo, fake_github, step, base, head)

    assert proc.returncode == 1, proc.stdout + proc.stderr  # the hostile metrics fail their gates
    assert not forged_commands(proc.stdout) and not forged_commands(proc.stderr)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) >= len(HOSTILE)  # one annotation per failed gate, each on its own line
    (comment,) = fake_github.comments[PR]
    assert comment["body"].startswith("<!-- mlci:report:default -->\n")
    inert_markdown(comment["body"])
    assert "evil" in comment["body"] and "note0" in comment["body"]  # the rows are there, escaped
    inert_markdown((step / "summary").read_text())
    outputs = read_outputs(step / "output")
    assert set(outputs) <= EXPECTED_OUTPUTS and outputs["gates-passed"] == "false"
    assert "pwned" not in outputs and "branch" not in outputs
    (run,) = fake_github.check_runs.values()
    inert_markdown(run["output"]["summary"])
    for note in fake_github.annotations[run["id"]]:
        assert "\n" not in note["title"] + note["message"] and "<img" not in note["title"]


def all_text(*roots: Path) -> str:
    chunks = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


@pytest.mark.parametrize(
    "fault",
    ["none", "comment-403", "check-run-rate-limited", "server-down"],
)
def test_the_token_appears_nowhere_even_when_github_fails_and_debug_is_on(
    hostile: tuple[ExampleRepo, str, str], fake_github: FakeGitHub, tmp_path: Path, fault: str
) -> None:
    repo, base, head = hostile
    if fault == "comment-403":
        fake_github.read_only = True
    elif fault == "check-run-rate-limited":
        fake_github.primary_limit("POST", r"/check-runs$", reset_in=7200, times=None)
    elif fault == "server-down":
        fake_github.fail("*", "", status=500, times=None)
    step = tmp_path / "step"

    proc = run_report(repo, fake_github, step, base, head, "--debug")

    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert not token_leaks(fake_github.token, proc.stdout), "token in stdout"
    assert not token_leaks(fake_github.token, proc.stderr), "token in stderr"
    assert fake_github.token not in all_text(repo.root, step), "token in a file mlci wrote"


def test_a_forged_bundle_body_is_posted_inert(tmp_path: Path) -> None:
    from mlci.report.fork import load_bundle

    own = "<!-- mlci:report:default -->\n<details><summary>Gates</summary>\n\nok &amp; fine\n</details>\n"
    body = own + "\n".join(HOSTILE)
    path = tmp_path / "default.comment.json"
    path.write_text(
        json.dumps(
            {"schema_version": 1, "pr_number": 7, "report_id": "default", "head_sha": "c" * 40, "body": body}
        )
    )

    posted = load_bundle(path).body

    assert posted.startswith(own)  # mlci's own markup is kept as is
    # the author of a forged bundle wrote all of it: no tag of theirs, reference or mention may work
    text = posted[len(own) :]
    assert "<img" not in text and "<a " not in text and "</table>" not in text
    assert "&#64;" not in text and "\uff20octocat" not in text
    assert not re.search(r"(?<![\w`])@octocat", text)


def test_a_marker_in_someone_elses_comment_does_not_capture_the_report(
    hostile: tuple[ExampleRepo, str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo, base, head = hostile
    bait = "<!-- mlci:report:default -->\n### ✅ mlci report: all gates passed"
    fake_github.add_comment(PR, bait, login="mallory")

    run_report(repo, fake_github, tmp_path / "step", base, head)

    mallory, *ours = fake_github.comments[PR]
    assert mallory["body"] == bait
    assert [c["user"]["login"] for c in ours] == ["github-actions[bot]"]
