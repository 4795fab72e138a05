"""Time reading a registry of N versions + N stage assignments: GTO's API versus mlci.deploy.registry.

    python bench/registry_tags.py [N]      (default 500, i.e. 1,000 tags)

Builds a throwaway git repo in a temp folder with `git commit-tree` and annotated tags in GTO's format.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, n: int) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.email", "bench@example.com")
    git("config", "user.name", "bench")
    tree, parent = git("write-tree"), []
    for i in range(1, n + 1):
        commit = git("commit-tree", tree, *parent, "-m", f"c{i}")
        parent = ["-p", commit]
        git("tag", "-a", f"clf@v0.0.{i}", commit, "-m", f"Registering artifact clf version v0.0.{i}")
        git(
            "tag",
            "-a",
            f"clf#prod#{i}",
            commit,
            "-m",
            f"Assigning stage prod to artifact clf version v0.0.{i}",
        )
    git("update-ref", "refs/heads/main", parent[1])


def timed(label: str, call: object) -> None:
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    print(f"{label:40s} {time.perf_counter() - start:6.2f} s   {result}")


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, n)
        import gto.api

        from mlci.deploy import registry

        registry.read_events(root)  # warm: imports GTO's grammar
        timed("mlci.deploy.registry.find_stage", lambda: registry.find_stage(root, "clf", "prod").version)  # type: ignore[union-attr]
        timed("mlci.deploy.registry.list_versions", lambda: len(registry.list_versions(root, "clf")))
        timed(
            "gto.api.find_versions_in_stage",
            lambda: [v.version for v in gto.api.find_versions_in_stage(str(root), "clf", "prod")],
        )
        timed("gto.api.show(name)", lambda: len(gto.api.show(str(root), "clf")))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
