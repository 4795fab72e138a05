"""`mlci monitor`: data drift, prediction drift and performance decay of the model in production."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, report_format


@click.command()
@debug_option
@click.argument("name", required=False, default="")
@click.option(
    "--current",
    default="",
    help="Current data: a CSV/Parquet file, a quoted glob, a folder, a DVC-tracked path, or an s3://, "
    "gs://, azure:// (az://) or https:// URL (globs and KEY=VALUE partition folders allowed). "
    "Default: monitor.current in mlci.yaml.",
)
@click.option(
    "--where",
    multiple=True,
    help="Read only the current data's partition folders (KEY=VALUE) that satisfy this condition, e.g. "
    "'date >= 2026-12-01' or 'region in (eu, us)'; repeatable (ANDed). Default: monitor.where in mlci.yaml.",
)
@click.option(
    "--reference",
    default="",
    help="Reference data (path, glob, folder) or a git revision to read the model's training data at. "
    "Default: the training data of the version in production.",
)
@click.option(
    "--reference-profile",
    type=click.Path(dir_okay=False),
    default="",
    help="Use a reference profile saved earlier with --save-profile instead of reading the data.",
)
@click.option(
    "--save-profile",
    type=click.Path(dir_okay=False, writable=True),
    default="",
    help="Write the reference profile (JSON) to this file for later runs.",
)
@report_format("What to print (and write to --output).")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), default="", help="Also write the report here."
)
@click.option("--open-pr", is_flag=True, help="When retraining is needed, open the retraining pull request.")
@click.option(
    "--profiles",
    multiple=True,
    help="Decide on partition profiles written by `mlci profile` (files or a quoted glob; every share "
    "1..N) instead of reading --current.",
)
@click.option(
    "--reference-only",
    is_flag=True,
    help="Only write the reference profile to --save-profile (for `mlci profile` shares); read no current data.",
)
def monitor(
    name: str,
    current: str,
    where: tuple[str, ...],
    reference: str,
    reference_profile: str,
    save_profile: str,
    fmt: str,
    output: str,
    open_pr: bool,
    profiles: tuple[str, ...],
    reference_only: bool,
) -> int:
    """Compare current data with the production model's training data: drift, predictions, decay.

    Exit 0 whether or not drift is found (see the `drift-detected` and `retrain-needed` outputs);
    2 on bad input.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.monitor import run
    from mlci.monitor.inputs import Options

    if reference and reference_profile:
        raise click.UsageError("give --reference or --reference-profile, not both")
    if reference_only and not save_profile:
        raise click.UsageError("--reference-only writes the reference profile: give --save-profile FILE")
    if reference_only and (profiles or open_pr or output):
        raise click.UsageError(
            "--reference-only writes only the reference profile: no report, no pull request"
        )
    if profiles and current:
        raise click.UsageError("give --current or --profiles, not both: the profiles are the current data")
    if profiles and where:
        raise click.UsageError("--where chooses the files --current reads: the profiles were made from files")
    options = Options(
        name,
        current,
        reference,
        reference_profile,
        save_profile,
        fmt,
        output,
        open_pr,
        profiles=profiles,
        reference_only=reference_only,
        where=tuple(where),
    )
    return run(RunContext.load(repo_optional=True), options)
