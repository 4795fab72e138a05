"""The `mlci` command group and its one error funnel.

Commands live in `mlci/cli/<name>.py` and are imported only when run (or listed by `--help`); they
import pandas, scikit-learn and DVC inside their bodies, so start-up stays light.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from mlci import __version__
from mlci.cli.options import DEBUG, set_debug
from mlci.cli.streams import tolerate_any_encoding
from mlci.errors import EXIT_UNEXPECTED, MlciError
from mlci.redact import RedactedLines, redact
from mlci.safety import InertLines, write_command

# name -> "module:attribute"; the order here is the order in `mlci --help`
COMMANDS: dict[str, str] = {
    "train": "mlci.cli.train:train",
    "affected": "mlci.cli.train:affected",
    "report": "mlci.cli.report:report",
    "deploy": "mlci.cli.deploy:deploy",
    "promote": "mlci.cli.deploy:promote",
    "rollback": "mlci.cli.deploy:rollback",
    "registry": "mlci.cli.deploy:registry",
    "monitor": "mlci.cli.monitor:monitor",
    "profile": "mlci.cli.profile:profile",
    "retrain": "mlci.cli.retrain:retrain",
    "data": "mlci.cli.data:data",
    "event": "mlci.cli.event:event",
    "doctor": "mlci.cli.doctor:doctor",
    "init": "mlci.cli.init:init",
    "demo": "mlci.cli.demo:demo",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, in the order of COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # a command not built yet
                return None
            raise
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mlci")
@click.option(
    "-C",
    "--repo",
    "repo",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Run as if started in this folder (like git -C).",
)
@click.option("--debug", is_flag=True, envvar="MLCI_DEBUG", help="Show tracebacks of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, repo: str | None, debug: bool) -> None:
    """Close the machine-learning loop in GitHub Actions: train, report, deploy, monitor.

    Exit codes: 0 ok, 1 a gate or check failed, 2 usage/config/input error, 3 unexpected error.
    """
    if repo:
        os.chdir(repo)
    ctx.ensure_object(dict)
    ctx.obj.setdefault("debug", False)
    set_debug(ctx, debug)  # the same flag as a command's own --debug (mlci.cli.options)


def main(argv: list[str] | None = None) -> None:
    from mlci import gcpause

    gcpause.freeze_after_pause = True  # this process ends with the command (mlci.gcpause)
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to a documented exit code.

    Both streams are redacted line by line (mlci.redact: URL credentials and secrets, whatever wrote
    them, annotations and tracebacks included). On a runner every output line is also parsed for
    workflow commands, and text from a PR (a param, a YAML error quoting dvc.yaml) reaches both
    streams: only mlci's own commands get through."""
    tolerate_any_encoding()
    saved = sys.stdout, sys.stderr
    redacted = RedactedLines(saved[0]), RedactedLines(saved[1])
    guards: list[RedactedLines | InertLines] = [*redacted]
    sys.stdout, sys.stderr = redacted
    if os.environ.get("GITHUB_ACTIONS") == "true":
        sys.stdout, sys.stderr = InertLines(redacted[0]), InertLines(redacted[1])  # type: ignore[arg-type]
        guards = [sys.stdout, sys.stderr, *redacted]
    try:
        return _run(argv)
    finally:
        for guard in guards:
            guard.close_lines()
        sys.stdout, sys.stderr = saved


def _run(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    DEBUG["on"] = False
    try:
        result: Any = cli.main(args=args, prog_name="mlci", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except MlciError as exc:
        _report_error(exc)
        return exc.exit_code
    except Exception as exc:
        user_error = _dvc_user_error(exc)
        if user_error is not None:  # a broken dvc.yaml/dvc.lock/.dvc file is never mlci's bug
            _report_error(user_error)
            return user_error.exit_code
        _report_unexpected()
        return EXIT_UNEXPECTED
    return int(result) if isinstance(result, int) else 0


def _dvc_user_error(exc: BaseException) -> MlciError | None:
    """DVC's error about a user's file, anywhere in the exception's chain, as an MlciError."""
    if "dvc" not in sys.modules:
        return None
    from mlci.repo.dvcfiles import in_chain

    return in_chain(exc)


def _report_error(exc: MlciError) -> None:
    message = redact(exc.message)
    hint = redact(exc.hint) if exc.hint else None
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from mlci.github.actions import escape_data

        full = message + (f"\nhint: {hint}" if hint else "")
        write_command(sys.stdout, f"::error title=mlci::{escape_data(full)}")


def _report_unexpected() -> None:
    # --debug before or after the command (mlci.cli.options.set_debug), or the environment
    debug = DEBUG["on"] or os.environ.get("RUNNER_DEBUG") == "1" or os.environ.get("MLCI_DEBUG")
    kind, value, _ = sys.exc_info()
    name = kind.__name__ if kind else "error"
    click.echo(f"error: unexpected {name}: {redact(str(value))}", err=True)
    if debug:
        click.echo(redact(traceback.format_exc()), err=True)
    else:
        click.echo("  run again with --debug (or RUNNER_DEBUG=1) to see the traceback", err=True)
    click.echo(
        "  this is a bug in mlci: please report it with the command you ran and the traceback",
        err=True,
    )
