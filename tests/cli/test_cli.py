"""The CLI contract: help, version, light start-up, and one documented exit code per outcome."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mlci import __version__
from mlci.cli import app as cli
from mlci.cli.options import debug_option
from mlci.errors import GateFailed, MlciError
from tests.testing.fixtures import ROOT, run_cli

HEAVY = ("pandas", "sklearn", "scipy", "numpy", "dvc", "pyarrow", "gto")


@click.command()
@click.argument("outcome")
def _probe(outcome: str) -> None:
    """Fail in the way OUTCOME names (a stand-in for any command, to test the funnel)."""
    if outcome == "gate":
        raise GateFailed("1 of 2 gates failed: test.accuracy dropped by 0.05 (allowed 0.01)")
    if outcome == "usage":
        raise MlciError("metrics.json at abc123 is not valid JSON", "fix the file or remove it")
    if outcome == "bug":
        raise KeyError("surprise token=" + "ghp_" + "x" * 36)


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "probe", "tests.cli.test_cli:_probe")


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mlci, version {__version__}"


def test_help_lists_every_command_with_one_line() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    listed = re.findall(r"^  (\w+)\s+(\S.*)$", proc.stdout.split("Commands:")[1], re.M)
    names = [name for name, _ in listed]
    assert names == [name for name in cli.COMMANDS if cli.LazyGroup._load(name)]
    assert all(text.strip() for _, text in listed)


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_start_up_imports_no_heavy_library(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlci", *args], capture_output=True, text=True, check=True
    )
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line
    }
    assert "click" in imported  # the check itself works
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


def test_every_command_and_option_has_help() -> None:
    missing = []
    for name in cli.COMMANDS:
        command = cli.LazyGroup._load(name)
        if command is None:
            continue
        commands = list(command.commands.values()) if isinstance(command, click.Group) else []
        for cmd in [command, *commands]:
            if not (cmd.help or cmd.short_help):
                missing.append(cmd.name)
            missing += [
                f"{cmd.name} {p.name}" for p in cmd.params if isinstance(p, click.Option) and not p.help
            ]
    assert missing == []


def test_usage_error_is_exit_2() -> None:
    proc = run_cli("--no-such-option")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr


def test_exit_codes_from_the_funnel(probe: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["probe", "gate"]) == 1
    assert "error: 1 of 2 gates failed" in capsys.readouterr().err
    assert cli.run(["probe", "usage"]) == 2
    err = capsys.readouterr().err
    assert "error: metrics.json at abc123 is not valid JSON" in err and "hint: fix the file" in err
    assert cli.run(["probe", "ok"]) == 0


def test_unexpected_error_is_exit_3_without_traceback(
    probe: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.run(["probe", "bug"]) == 3
    err = capsys.readouterr().err
    assert "error: unexpected KeyError" in err and "please report" in err
    assert "Traceback" not in err and "--debug" in err


def test_debug_and_runner_debug_show_the_traceback(
    probe: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.run(["--debug", "probe", "bug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("RUNNER_DEBUG", "1")
    assert cli.run(["probe", "bug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_tokens_are_redacted_from_errors(
    probe: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ghp_" + "x" * 36
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("RUNNER_DEBUG", "1")
    assert cli.run(["probe", "bug"]) == 3
    out = capsys.readouterr()
    assert token not in out.err + out.out and "***" in out.err


def test_errors_become_annotations_in_actions(
    probe: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.run(["probe", "usage"]) == 2
    assert (
        "::error title=mlci::metrics.json at abc123 is not valid JSON%0Ahint: fix" in capsys.readouterr().out
    )


def test_python_dash_m_and_outside_a_repository(tmp_path: Path) -> None:
    proc = run_cli("event", cwd=tmp_path, env={"GITHUB_EVENT_NAME": "push"})
    assert proc.returncode == 2
    assert "not inside a git repository" in proc.stderr and "git init" in proc.stderr


def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    """Build the wheel, install it into a fresh venv, and render a template from the installed copy."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("mlci-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # dependencies come from the test environment, after the fresh venv's own packages
    deps = subprocess.run(
        [sys.executable, "-c", "import jinja2, pathlib; print(pathlib.Path(jinja2.__file__).parents[1])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test-deps.pth").write_text(deps + "\n")
    script = (
        "import mlci, mlci.render as r; "
        "print(mlci.__file__); print(r.templates_dir()); "
        "print(r.environment('').get_template('example/params.yaml').render())"
    )
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the wheel's mlci
    proc = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path, env=clean_env
    )
    module_file, templates, rendered = proc.stdout.split("\n", 2)
    assert module_file.startswith(str(venv)) and templates.startswith(str(venv))
    assert "n_estimators" in rendered


@click.command()
@debug_option
@click.argument("outcome")
def _probe_with_debug(outcome: str) -> None:
    raise KeyError(outcome)


def test_debug_after_the_command_is_the_same_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "probe", "tests.cli.test_cli:_probe_with_debug")
    assert cli.run(["probe", "--debug", "bug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert cli.run(["probe", "bug"]) == 3  # one run's flag does not outlive it
    assert "Traceback" not in capsys.readouterr().err


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        out.append((name, command))
        if isinstance(command, click.Group):
            out += [(f"{name} {sub}", c) for sub, c in _commands(command, ctx)]
    return out


def test_every_command_takes_debug_after_its_name() -> None:
    ctx = click.Context(cli.cli)
    commands = _commands(cli.cli, ctx)
    assert len(commands) >= len(cli.COMMANDS)
    lacking = [name for name, c in commands if not any("--debug" in p.opts for p in c.params)]
    assert lacking == []
