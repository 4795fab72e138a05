"""`mlci train` and `mlci affected`: options only; the work is in mlci.commands.train."""

from __future__ import annotations

from typing import Any

import click

from mlci.cli.options import debug_option, output_format


@click.command()
@debug_option
@click.argument("models", nargs=-1)
@click.option(
    "--pull/--no-pull", default=None, help="Reuse results from the DVC remote [default: train.pull]."
)
@click.option(
    "--push/--no-push", default=None, help="Push new outputs and the run-cache [default: train.push]."
)
@click.option(
    "--commit/--no-commit", default=False, help="Commit changed dvc.lock/metrics back to the branch."
)
@output_format("json: print the result document on stdout (DVC's log goes to stderr).")
def train(models: tuple[str, ...], pull: bool | None, push: bool | None, commit: bool, fmt: str) -> int:
    """Run the DVC pipeline (or the stages of MODELS), reusing what the remote already has.

    Stages whose results are in the DVC remote or its run-cache are restored, not recomputed; new
    results are pushed. Outputs: changed, stages-run, stages-restored, metrics-files, commit.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.train import TrainOptions, run

    options = TrainOptions(models=models, pull=pull, push=push, commit=commit, json_output=fmt == "json")
    return run(RunContext.load(), options)


@click.command()
@debug_option
@click.option("--base", default=None, help="Compare with this revision [default: the PR base / push before].")
@click.option("--all", "all_models", is_flag=True, help="List every model, whatever changed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "list"]),
    default="text",
    show_default=True,
    help="json: the strategy.matrix value; list: one model per line; text: each model with why.",
)
def affected(base: str | None, all_models: bool, fmt: Any) -> int:
    """List the models a change touches (code, params keys, data), for a strategy.matrix.

    --format json prints {"include": [{"model": NAME}, ...]}. Outputs: matrix, models, any.
    """
    from mlci.commands.affected import AffectedOptions, run
    from mlci.commands.context import RunContext

    return run(RunContext.load(), AffectedOptions(base=base, format=fmt, all_models=all_models))
