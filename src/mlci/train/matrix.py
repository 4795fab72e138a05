"""The `strategy.matrix` of the train workflow: one job per affected model on the runner mlci.yaml
names for it (`models.NAME.runs_on`), and batches when there are more models than a matrix holds.

GitHub caps a job matrix at 256 entries. Above that, models that share a runner are split into batches
of equal size (at most one model more in some), and each job trains its batch (`mlci train A B C`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlci.errors import MlciError

LIMIT = 256  # GitHub's cap on the jobs of one matrix


@dataclass(frozen=True)
class Plan:
    """The matrix and how it split the models: `batches` == `models` when each model has its own job."""

    include: list[dict[str, object]]
    models: int
    batches: int
    largest: int  # models in the largest batch

    def matrix(self) -> dict[str, list[dict[str, object]]]:
        return {"include": self.include}

    def describe(self) -> str:
        """One sentence for the log and the summary ("" when every model has its own job)."""
        if self.batches == self.models:
            return ""
        return (
            f"{self.models} models in {self.batches} jobs of up to {self.largest} models each "
            f"(a GitHub Actions matrix holds at most {LIMIT} jobs)"
        )


def plan(models: Sequence[str], runners: Mapping[str, Sequence[str]], limit: int = LIMIT) -> Plan:
    """Entries {"model": NAME or "batch-I-of-N", "models": "A B C", "runs-on": [labels] (when set)}.

    Raises MlciError when batching is needed and a model name holds whitespace (the job splits on it)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in models:
        groups.setdefault(tuple(runners.get(name, ())), []).append(name)
    size = 1
    while sum(math.ceil(len(g) / size) for g in groups.values()) > limit:
        size += 1
    if size > 1:
        spaced = [name for name in models if any(c.isspace() for c in name)]
        if spaced:
            raise MlciError(
                f"{len(models)} models need batches (a matrix holds {limit} jobs), and the model name "
                f"{spaced[0]!r} has a space: a batch lists its models separated by spaces",
                "rename the model in mlci.yaml without spaces",
            )
    chunks = [(labels, chunk) for labels, names in groups.items() for chunk in _split(names, size)]
    include = [_entry(labels, chunk, i, len(chunks), size > 1) for i, (labels, chunk) in enumerate(chunks, 1)]
    return Plan(include, len(models), len(chunks), max((len(c) for _, c in chunks), default=0))


def _split(names: list[str], size: int) -> list[list[str]]:
    """`names` in ceil(len/size) chunks whose sizes differ by at most one."""
    count = math.ceil(len(names) / size)
    base, extra = divmod(len(names), count) if count else (0, 0)
    out, start = [], 0
    for i in range(count):
        end = start + base + (1 if i < extra else 0)
        out.append(names[start:end])
        start = end
    return out


def _entry(
    labels: tuple[str, ...], chunk: list[str], index: int, total: int, batched: bool
) -> dict[str, object]:
    entry: dict[str, object] = {
        "model": f"batch-{index}-of-{total}" if batched else chunk[0],
        "models": " ".join(chunk),
    }
    if labels:
        entry["runs-on"] = list(labels)
    return entry


def partitioned(include: list[dict[str, object]], partitions: int) -> list[dict[str, object]]:
    """The profile jobs of a partitioned monitor run: each entry of `include` once per share of its current
    data, with "partition": "K/N" (`mlci profile --partition`) and "index": K (1-based); [] when
    `partitions` is 1 (one job reads all the data, no profile job)."""
    if partitions <= 1:
        return []
    return [
        {**entry, "partition": f"{k}/{partitions}", "index": k}
        for entry in include
        for k in range(1, partitions + 1)
    ]


def _partitions(argv: list[str]) -> int:
    """`--partitions N` (default 1): an integer from 1 to LIMIT, else MlciError (exit 2)."""
    given = argv[argv.index("--partitions") + 1] if "--partitions" in argv[:-1] else "1"
    count = int(given) if given.strip().isdigit() else 0
    if not 1 <= count <= LIMIT:
        raise MlciError(
            f"partitions is {given!r}: it takes a whole number from 1 (one job reads all the current data) "
            f"to {LIMIT} (a GitHub Actions matrix holds at most {LIMIT} jobs)",
            "set the monitor workflow's `partitions` input to how many jobs share the current data's files",
        )
    return count


def main(argv: list[str]) -> int:
    """`python -m mlci.train.matrix [--partitions N] < LIST`: the monitor workflow's matrices from
    `mlci registry --format json` (a JSON list of {"model": ...}) on stdin. Prints `models=MATRIX-INCLUDE`
    and `profiles=MATRIX-INCLUDE` (`partitioned`: N profile jobs per entry of models, [] for N = 1), for
    GITHUB_OUTPUT, and, when it batches, a notice saying how. With N > 1 the models are batched so that
    the profile jobs fit in one matrix (entries × N <= 256). Exit 2 on a bad N or model name."""
    import json
    import sys

    listed = json.load(sys.stdin)
    names = list(dict.fromkeys(str(entry["model"]) for entry in listed))
    try:
        partitions = _partitions(argv)
        jobs = plan(names, {}, limit=LIMIT // partitions)
    except MlciError as exc:
        print(f"::error title=mlci::{exc.message}; {exc.hint}", file=sys.stderr)
        return 2
    if jobs.describe():
        print(f"::notice title=mlci monitor::{jobs.describe()}", file=sys.stderr)
    print("models=" + json.dumps(jobs.include, separators=(",", ":")))
    print("profiles=" + json.dumps(partitioned(jobs.include, partitions), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
