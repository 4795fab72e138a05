"""`mlci data`: check tabular data against its contract and versus the base; infer contracts."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, report_format


@click.group()
@debug_option
def data() -> None:
    """Test the data as well as the code: contracts, changes versus the base, drift."""


@data.command()
@debug_option
@click.argument("paths", nargs=-1)
@click.option("--base", help="Compare with the data at this revision (default on a PR: its base).")
@report_format("Markdown for people, JSON for tools.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
def check(paths: tuple[str, ...], base: str | None, fmt: str, output: str | None) -> int:
    """Check datasets (declared in mlci.yaml, or the pipeline's DVC-tracked CSV/Parquet deps).

    Exit 1 when a contract is broken or a column drifted versus the base.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.datacheck import CheckOptions, run

    return run(RunContext.load(), CheckOptions(paths=paths, base=base, format=fmt, output=output))


@data.command()
@debug_option
@click.argument("paths", nargs=-1)
@click.option("--rev", help="Infer from the data at this revision (default: the workspace).")
@click.option("--write", is_flag=True, help="Add the contracts to mlci.yaml instead of printing them.")
def infer(paths: tuple[str, ...], rev: str | None, write: bool) -> int:
    """Infer a contract from the data, as YAML to paste into mlci.yaml (or --write it there)."""
    from mlci.commands.context import RunContext
    from mlci.commands.datainfer import InferOptions, run

    return run(RunContext.load(), InferOptions(paths=paths, rev=rev, write=write))
