"""`mlci profile`: the partition profile of one share of the current data (mlci.monitor.partition).

The same inputs as `mlci monitor` (resolved and checked once), the same reference and production model,
the same pass over the data, on the share's files only; the comparison is left to
`mlci monitor --profiles`, once every share is profiled.
"""

from __future__ import annotations

import click

from mlci.commands.context import RunContext
from mlci.monitor.inputs import Options
from mlci.safety import one_line


def run(ctx: RunContext, options: Options) -> int:
    """Write the share's partition profile to `options.output`: 0, or MlciError (exit 2) on bad input."""
    from mlci.commands.monitor import production
    from mlci.monitor import partition
    from mlci.monitor.inputs import resolve_inputs
    from mlci.monitor.observe import observe_share
    from mlci.monitor.reference import load_reference
    from mlci.repo.revision import SharedRepo

    share = partition.parse_share(options.partition)
    inputs = resolve_inputs(ctx.root, ctx.config, options, in_repo=ctx.in_repo)
    prod = production(ctx, inputs.name, inputs.head)
    with SharedRepo(ctx.root) as repo:
        ref = load_reference(ctx.root, ctx.config, inputs, prod.commit, cache=ctx.in_repo, repo=repo)
        try:
            doc = observe_share(
                ctx.root,
                ctx.config,
                inputs.options.current,
                ref,
                inputs.model,
                share,
                options.files,
                repo,
                where=inputs.options.where,
            )
        finally:
            ref.close()
    partition.write_partition(options.output, doc)
    rows, files = doc["data"]["rows"], len(doc["partition"]["files"])
    if not files:  # an empty share still counts: the deciding step needs every share 1..N
        ctx.actions.annotate(
            "warning",
            f"share {share} has no files: the data has fewer files than shares",
            title="mlci profile",
        )
    ctx.actions.set_output("profile", options.output)
    click.echo(f"share {share}: {files} file(s), {rows} rows → {one_line(options.output)}", err=True)
    return 0
