"""Which stage outputs `mlci init` takes for models, and why: one stage's outputs are one model.

A stage that saves `model.pkl` and `model.pth`, or a fitted preprocessor next to its model, trains one
model: two entries would give it two registries, deploys and monitors, and the train matrix would run
the stage twice in parallel, both pushing. dvc.yaml's `artifacts:` (or the user's own `models:` in
mlci.yaml) is how a project says otherwise. An output another stage reads (a preprocessor fitted
upstream of training) is an input of a model, not one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Decision:
    path: str  # the output taken as the model's path
    stage: str
    why: str  # one line for init's output


def by_stage(
    paths: Sequence[str],
    producers: Mapping[str, str],
    inputs: Mapping[str, set[str]],
    suffixes: tuple[str, ...],
) -> tuple[list[Decision], list[str]]:
    """(one decision per stage that saves model-like files, notes on the files left out).

    paths: model-like outputs in dvc.yaml order; producers: output → stage; inputs: stage → its deps."""
    groups: dict[str, list[str]] = {}
    notes: list[str] = []
    for path in paths:
        stage = producers.get(path, "")
        readers = sorted(s for s, deps in inputs.items() if s != stage and _reads(deps, path))
        if readers and any(producers.get(p) in readers for p in paths):
            notes.append(
                f"{path}: read by stage '{readers[0]}', which saves the model: an input, not a model"
            )
            continue
        groups.setdefault(stage, []).append(path)
    decisions = []
    for stage, group in groups.items():
        chosen = _primary(group, suffixes)
        others = [p for p in group if p != chosen]
        why = f"stage '{stage}' saves {chosen}" if stage else f"{chosen}: no stage of dvc.yaml saves it"
        if others:
            why += f" and {', '.join(others)}: one stage, one model (name them under `artifacts:` in dvc.yaml for more)"
        decisions.append(Decision(chosen, stage, why))
    return decisions, notes


def _reads(deps: set[str], path: str) -> bool:
    return any(dep == path or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def _primary(group: list[str], suffixes: tuple[str, ...]) -> str:
    """The file named like a model (`model.pkl`), else the first with a model's suffix, else the first."""
    named = [p for p in group if "model" in PurePosixPath(p).stem.lower()]
    suffixed = [p for p in group if p.endswith(suffixes)]
    return (named or suffixed or group)[0]
