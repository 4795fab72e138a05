"""Count the entry-point signatures of mlci's command modules (src/mlci/commands/*.py but context.py
and the helper modules `_name.py`).

Run: python .ci/command_signatures.py [SRC]   (default: src)
For each module: the signature of its `run` (AST, no import), or "no run"; then how many distinct
signatures there are. Exit 0 (a count; tests/commands/test_contract.py is the check).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def signature(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            params = ", ".join(a.arg for a in node.args.args)
            returns = ast.unparse(node.returns) if node.returns else "None"
            return f"run({params}) -> {returns}"
    return "no run"


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else Path("src")
    found = {}
    for path in sorted((src / "mlci" / "commands").glob("*.py")):
        if path.stem != "context" and not path.stem.startswith("_"):  # `_name`: a verb's helper
            found[path.stem] = signature(path)
            print(f"{path.stem:12} {found[path.stem]}")
    with_run = [s for s in found.values() if s != "no run"]
    print(f"{len(found)} command modules, {len(with_run)} with run, {len(set(with_run))} distinct run signatures")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
