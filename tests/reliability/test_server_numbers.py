"""Numbers from servers, parsed strictly and bounded: `Retry-After` and `x-ratelimit-reset` with 20
digits, Unicode digits, signs, exponents, infinities and dates; ids that are strings, booleans or
beyond 64 bits. report keeps its verdict (exit 0, `gates-passed` written); deploy exits 2 naming the
call; nothing is exit 3."""

from __future__ import annotations

import random
import sys
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from mlci.errors import MlciError
from mlci.github.numbers import MAX_WAIT_HEADER, api_id, epoch, retry_after
from tests.testing.fake_github import SECONDARY_MESSAGE, FakeGitHub
from tests.testing.fixtures import read_outputs, run_cli
from tests.testing.reliability import copy_project, edit_config, pr_payload, prepare, push_payload, step_env

# every character Python calls a digit that is not an ASCII one (`²`, `٣`, `𝟗`, …)
UNICODE_DIGITS = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isdigit() and not chr(c).isascii()]


def hostile_values(seed: int, count: int = 300) -> list[str]:
    rng = random.Random(seed)
    values = ["1" * 20, "9" * 400, "-5", "+5", "1e3", "1e400", "inf", "NaN", "0x10", "1.5", " ", "", "5 5"]
    values += rng.sample(UNICODE_DIGITS, 40)
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        pos = rng.randint(0, len(digits))
        values.append(digits[:pos] + rng.choice([*UNICODE_DIGITS, "-", ".", "e", " ", "\t"]) + digits[pos:])
        values.append(digits)
    return values


def test_retry_after_is_strict_and_bounded() -> None:
    now = time.time()
    for value in hostile_values(31):
        wait = retry_after(value, now)
        if wait is None:
            assert not (value.strip().isascii() and value.strip().isdigit()), value
            continue
        assert 0.0 <= wait <= MAX_WAIT_HEADER, value
        text = value.strip()
        assert text.isascii() and text.isdigit(), value  # only plain ASCII digits count
        if len(text) <= 5:
            assert wait == min(int(text), MAX_WAIT_HEADER)


def test_retry_after_reads_an_http_date() -> None:
    now = time.time()
    assert retry_after(formatdate(now + 42, usegmt=True), now) == pytest.approx(42, abs=1)
    assert retry_after(formatdate(now - 42, usegmt=True), now) == 0.0
    assert retry_after("Wed, 21 Oct 99999 07:28:00 GMT", now) is None


def test_reset_epochs_and_ids_are_strict() -> None:
    for value in hostile_values(32):
        stamp = epoch(value)
        assert stamp is None or (0 <= stamp <= 2**33), value
    for bad in ["12", True, 2**80, -1, 0, 1.0, None, "../../x"]:
        with pytest.raises(MlciError):
            api_id(bad, "id")
    assert api_id(2**40, "id") == 2**40


HEADERS = {
    "retry-after 20 digits": {"retry-after": "1" * 20},
    "retry-after superscript two": {"retry-after": "\u00b2"},
    "retry-after digit then superscript three": {"retry-after": "1\u00b3"},
    "reset 30 digits": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9" * 30},
    "reset 1e400": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1e400"},
}


@pytest.fixture(scope="module")
def templates(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("server-numbers")
    fast = {"github": {"timeout": 5}}
    return {
        "report": prepare(
            _example_template,
            base / "report",
            lambda r: edit_config(r, gates=[{"metric": "test.accuracy", "min": 0.0}], **fast),
        ),
        "deploy": prepare(_example_template, base / "deploy", lambda r: edit_config(r, **fast)),
    }


def limited(fake: FakeGitHub, headers: dict[str, str]) -> None:
    fake.inject("*", "", kind="status", status=429, message=SECONDARY_MESSAGE, headers=headers, times=None)


@pytest.mark.parametrize("header", list(HEADERS))
def test_report_keeps_its_verdict_whatever_the_limit_headers_say(
    header: str, templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["report"], tmp_path / "project")
    limited(fake_github, HEADERS[header])
    sha = repo.head()
    step = tmp_path / "step"
    env = step_env(step, fake_github, "pull_request", pr_payload(fake_github.repository, sha, sha))

    proc = run_cli("report", cwd=repo.root, env=env)

    said = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "bug in mlci" not in said, said
    assert "rate limit" in said.lower(), said
    assert read_outputs(step / "output")["gates-passed"] == "true"


@pytest.mark.parametrize("header", ["retry-after 20 digits", "retry-after superscript two", "reset 1e400"])
def test_deploy_exits_2_naming_the_limit(
    header: str, templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["deploy"], tmp_path / "project")
    limited(fake_github, HEADERS[header])
    env = step_env(
        tmp_path / "step",
        fake_github,
        "push",
        push_payload(repo, fake_github),
        GITHUB_SHA=repo.head(),
        GITHUB_REF="refs/heads/main",
    )

    proc = run_cli("deploy", cwd=repo.root, env=env)

    said = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "bug in mlci" not in said, said
    assert "/api/v3/repos/" in proc.stderr and "rate limit" in proc.stderr.lower(), proc.stderr
