#!/usr/bin/env python3
"""Print the modules over 300 lines and the functions over 50 lines in src/ (the sizes docs/architecture.md asks for).

A function's length is `end_lineno - lineno + 1` of its `def` node (decorators not counted), nested functions
counted on their own too. Usage: `python .ci/layout_counts.py [SRC]` (default: src/mlci next to this folder);
`--max-function N` / `--max-module N` change the limits. Always exits 0: it counts, it does not judge.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def module_sizes(src: Path) -> list[tuple[int, str]]:
    """(lines, path) of every module under `src`, longest first."""
    sizes = [(len(path.read_text(encoding="utf-8").splitlines()), str(path)) for path in src.rglob("*.py")]
    return sorted(sizes, reverse=True)


def function_sizes(src: Path) -> list[tuple[int, str]]:
    """(lines, 'path:line name') of every function and method under `src`, longest first."""
    found: list[tuple[int, str]] = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((length, f"{path}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "src", nargs="?", default=str(Path(__file__).resolve().parent.parent / "src" / "mlci")
    )
    parser.add_argument("--max-module", type=int, default=300)
    parser.add_argument("--max-function", type=int, default=50)
    args = parser.parse_args()
    src = Path(args.src)
    modules = [(n, p) for n, p in module_sizes(src) if n > args.max_module]
    functions = [(n, p) for n, p in function_sizes(src) if n > args.max_function]
    print(f"modules over {args.max_module} lines: {len(modules)}")
    for lines, path in modules:
        print(f"  {lines:5d}  {Path(path).relative_to(src.parent)}")
    print(f"functions over {args.max_function} lines: {len(functions)}")
    for lines, where in functions:
        print(f"  {lines:5d}  {Path(where).relative_to(src.parent)}")


if __name__ == "__main__":
    main()
