"""Secrets never printed: distinctive secrets planted in every place a user can give one (the
environment, URLs with userinfo and signed query strings, mlci.yaml, a DVC remote's URL and its
`config.local` options), then every command run with and without --debug through its failure paths.
No output holds any of them: stdout, stderr, annotations, job summary, step outputs, JSON and report
files, comments and the outbox."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from mlci.redact import redact, redact_url
from tests.testing.fixtures import ExampleRepo, actions_env, load_event, run_cli
from tests.testing.reliability import FAST, edit_config

MARK = "zq7leak"  # every planted secret holds it; no output may
SECRETS = {
    name: f"{MARK}{name.lower().replace('_', '')}{secrets.token_hex(4)}"
    for name in (
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_CONNECTION_STRING",
        "MLCI_WEBHOOK_SECRET",
        "REMOTE_PASS",
        "ENDPOINT_PASS",
        "CONFIG_PASSWORD",
        "HOOK_PASS",
        "HOOK_SIG",
        "API_PASS",
    )
}
ENV_SECRETS = (
    "GITHUB_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
)
ENV_SECRETS += ("MLCI_WEBHOOK_SECRET",)
DEAD = "127.0.0.1:9"  # the discard port: nothing listens, every call fails at once

COMMANDS = [
    ["doctor"],
    ["train"],
    ["train", "--commit"],
    ["affected", "--base", "HEAD~1"],
    ["report"],
    ["deploy", "classifier"],
    ["rollback", "classifier"],
    ["registry", "--format", "json"],
    ["monitor", "classifier"],
    ["profile", "classifier", "--partition", "1/2", "--output", "part.json"],
    ["retrain", "classifier"],
    ["data", "check"],
    ["event"],
]


def plant(repo: ExampleRepo) -> None:
    """A default remote whose URL carries userinfo, an S3 remote with a keyed endpoint and a local
    password, a webhook target with userinfo and a signed query string."""
    s = SECRETS
    repo.dvc("remote", "add", "-f", "-d", "leaky", f"http://deploy:{s['REMOTE_PASS']}@{DEAD}/store")
    repo.dvc("remote", "add", "-f", "s3leak", "s3://bucket/path")
    repo.dvc("remote", "modify", "s3leak", "endpointurl", f"http://ak:{s['ENDPOINT_PASS']}@{DEAD}")
    repo.dvc("remote", "modify", "--local", "leaky", "password", s["CONFIG_PASSWORD"])
    hook = f"https://hook:{s['HOOK_PASS']}@{DEAD}/deliver?X-Amz-Signature={s['HOOK_SIG']}&sig={s['HOOK_SIG']}"
    edit_config(repo, deploy={"target": "hook", "targets": {"hook": {"type": "webhook", "url": hook}}})
    repo.commit("Plant secrets")


def environment(tmp: Path) -> dict[str, str]:
    env = actions_env(tmp, "pull_request", load_event("pull_request/opened"))
    env.update({name: SECRETS[name] for name in ENV_SECRETS})
    env.update(FAST)
    env["GITHUB_API_URL"] = f"http://api:{SECRETS['API_PASS']}@{DEAD}"
    return env


def snapshot(root: Path) -> dict[Path, float]:
    return {
        path: path.stat().st_mtime
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.parts and "cache" not in path.parts
    }


def leaks(text: str) -> list[str]:
    """Lines holding a planted secret; `::add-mask::` must hold it (the runner hides it from then on)."""
    lines = [line for line in text.splitlines() if not line.startswith("::add-mask::")]
    return [line.strip()[:300] for line in lines if MARK in line.lower()]


@pytest.mark.slow
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_command_prints_a_planted_secret(example_repo: ExampleRepo, tmp_path: Path, debug: bool) -> None:
    plant(example_repo)
    found: dict[str, list[str]] = {}
    shown: dict[str, bool] = {}
    for number, args in enumerate(COMMANDS):
        env = environment(tmp_path / f"step{number}")
        before = snapshot(example_repo.root)
        argv = ["--debug", *args] if debug else args
        result = run_cli(*argv, cwd=example_repo.root, env=env, timeout=300)
        assert result.returncode in (0, 1, 2), (args, result.returncode, result.stderr[-2000:])
        written = [p for p, m in snapshot(example_repo.root).items() if before.get(p) != m]
        written += [tmp_path / f"step{number}" / name for name in ("output", "summary")]
        outputs = {"stdout": result.stdout, "stderr": result.stderr}
        outputs.update({str(p): p.read_text(errors="replace") for p in written if p.exists()})
        if args[0] in ("doctor", "train"):  # the failure path was reached: the URL shows, redacted
            shown[args[0]] = f"http://***@{DEAD}/store" in result.stdout + result.stderr
        for where, text in outputs.items():
            if leaks(text):
                found[f"{' '.join(args)} → {where}"] = leaks(text)
    assert shown == {"doctor": True, "train": True}
    assert not found, "\n".join(f"{where}: {lines}" for where, lines in found.items())


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("s3://AKIAXYZ:wJalrXUtnFEMI@bucket/path", "s3://***@bucket/path"),
        ("https://user:p%40ss@example.com:8443/a?b=1", "https://***@example.com:8443/a?b=1"),
        ("https://x.blob.core.windows.net/c?sv=2022&se=2030&sig=abc%2Bdef&sp=r", "sig=***&sp=r"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AK%2F2026&X-Amz-Signature=f00d",
            "X-Amz-Signature=***",
        ),
        ("https://hooks.example/h?token=t0ps3cret&x=1", "token=***&x=1"),
        (
            "error: http://a:b@h/x failed, see https://ok.example/docs",
            "http://***@h/x failed, see https://ok",
        ),
    ],
)
def test_redact_url_removes_credentials_and_keeps_the_rest(url: str, kept: str) -> None:
    shown = redact_url(url)
    assert kept in shown
    for secret in ("wJalrXUtnFEMI", "p%40ss", "abc%2Bdef", "f00d", "t0ps3cret", ":b@"):
        assert secret not in shown


def test_redact_removes_secret_environment_values_and_leaves_ordinary_ones() -> None:
    env = {"MY_API_TOKEN": "Tk-1234567", "DEPLOY_PASSWORD": "hunter22x", "MODEL_NAME": "classifier"}
    text = "token Tk-1234567, password hunter22x, model classifier"
    assert redact(text, env) == "token ***, password ***, model classifier"
