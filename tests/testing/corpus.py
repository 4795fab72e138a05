"""Public DVC projects nobody here wrote, as git bundles in `../shared/corpus` (see its README): what git
holds (dvc.yaml, dvc.lock, params, git-tracked metrics, `.dvc` files, history); their DVC remotes are
out of reach and their data is not included. A test using one skips, saying so, without `../shared`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.repo.git import git

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
WINEQ = "01shriyansh+wineq_dvc"  # params history, git-tracked metrics, a DVC-tracked CSV, no DVC remote
MNIST = "volf52+dagshub-mnist"  # git-tracked metrics, DVC-tracked CSVs, a DagsHub remote


def clone(name: str, dest: Path) -> Path:
    """A clone of the public project `name` at `dest` (its default branch checked out)."""
    bundle = CORPUS / f"{name}.bundle"
    if not bundle.is_file():
        pytest.skip(f"the public project {name} needs ../shared/corpus beside the checkout")
    git(dest.parent, "clone", "-q", str(bundle), str(dest))
    return dest
