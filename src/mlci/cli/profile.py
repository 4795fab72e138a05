"""`mlci profile`: one share of the current data, profiled for a later `mlci monitor --profiles`."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option


@click.command()
@debug_option
@click.argument("name", required=False, default="")
@click.option(
    "--current",
    default="",
    help="Current data, as `mlci monitor --current` takes it. Default: monitor.current in mlci.yaml.",
)
@click.option(
    "--where",
    multiple=True,
    metavar="COND",
    help="Keep only the files whose partition folders (KEY=VALUE) meet COND, as `mlci monitor --where`; "
    "the window is chosen before the files are cut into shares. Default: monitor.where in mlci.yaml.",
)
@click.option(
    "--partition",
    "share",
    required=True,
    metavar="K/N",
    help="This share: the K-th of N contiguous blocks of the sorted files (1 ≤ K ≤ N).",
)
@click.option(
    "--files",
    multiple=True,
    help="Profile exactly these files (repeat it) as share K/N, instead of the K-th block of --current.",
)
@click.option(
    "--reference",
    default="",
    help="Reference data or git revision, as `mlci monitor --reference` takes it.",
)
@click.option(
    "--reference-profile",
    type=click.Path(dir_okay=False),
    default="",
    help="The reference profile `mlci monitor --save-profile` wrote (give the same one to every share).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="Write the partition profile (JSON) here.",
)
def profile(
    name: str,
    current: str,
    where: tuple[str, ...],
    share: str,
    files: tuple[str, ...],
    reference: str,
    reference_profile: str,
    output: str,
) -> int:
    """Profile one share of the current data against the reference (data, predictions, labels).

    Run it once per share (a matrix job, a task on a cluster), then decide on every share with
    `mlci monitor NAME --profiles 'DIR/*.json'`. Exit 0 when the partition profile is written; 2 on bad
    input.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.profile import run
    from mlci.monitor.inputs import Options

    if reference and reference_profile:
        raise click.UsageError("give --reference or --reference-profile, not both")
    if files and (current or where):
        raise click.UsageError("give --current (and --where) or --files, not both")
    options = Options(
        name, current, reference, reference_profile, output=output, partition=share, files=files, where=where
    )
    return run(RunContext.load(repo_optional=True), options)
