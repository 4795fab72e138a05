"""Count mlci's functions over 50 lines (end_lineno - lineno + 1, decorators excluded).

Run: python .ci/long_functions.py [FOLDER ...]   (default: src/mlci)
Prints each long function and the total; exits 0 (a count, not a check).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIMIT = 50


def long_functions(folder: Path) -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LIMIT:
                    found.append((str(path), node.name, lines))
    return found


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or [Path("src/mlci")]
    total = 0
    for folder in folders:
        rows = long_functions(folder)
        for path, name, lines in rows:
            print(f"{lines:4d}  {path}:{name}")
        print(f"{folder}: {len(rows)} functions over {LIMIT} lines")
        total += len(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
