"""Every file mlci writes in a user's project goes through mlci.fsutil (temp file + rename), so a
killed or failing run never leaves a half-written file. A direct write added to src/ fails here."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "mlci"
DIRECT = re.compile(
    r"\.write_text\(|\.write_bytes\(|open\([^)]*[\"'][wax]b?\+?[\"']"
    r"|\.to_csv\((?!\s*\w+=)\s*[^)\s]|\.to_parquet\((?!\s*(buffer|\w+=))\s*[^)\s]"  # a path, not a buffer
)
# Writes that are not a user's file, or must append: each with its reason.
ALLOWED = {
    "fsutil.py": "the atomic writers themselves",
    "github/actions.py": "GITHUB_OUTPUT and GITHUB_STEP_SUMMARY are appended to, as the runner documents",
    "retrain/branch.py": "config.local of mlci's own scratch clone in a temporary folder",
    "onboarding/example.py": "writes the example project into a new folder (mlci demo, tests)",
    "commands/demo.py": "writes a new demo folder it owns",
}


def test_no_direct_file_writes_outside_the_atomic_helpers() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DIRECT.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "use mlci.fsutil.write_text_atomic/write_bytes_atomic:\n" + "\n".join(found)
