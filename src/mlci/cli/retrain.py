"""`mlci retrain`: open (or update) the pull request that retrains a model on fresh data."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option


@click.command()
@debug_option
@click.argument("name", required=False, default="")
@click.option(
    "--from-report",
    "report_file",
    type=click.Path(dir_okay=False),
    help="The JSON report of `mlci monitor`: fresh data paths, drifted columns, decayed metrics.",
)
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Fresh labelled data (CSV or Parquet, the training data's columns); repeat for several files.",
)
def retrain(name: str, report_file: str | None, data_paths: tuple[str, ...]) -> int:
    """Put fresh data into the training set on the branch mlci/retrain/NAME and open its pull request.

    Re-running with the same data changes nothing; a pull request someone closed is not reopened.
    Without a GitHub token the pull request is written to the outbox folder.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.retrain import RetrainOptions, run

    options = RetrainOptions(name=name, report_file=report_file, data_paths=data_paths)
    return run(RunContext.load(), options)
