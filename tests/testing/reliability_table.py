"""Print the outcome tables of docs/reliability.md from a fault-suite run.

RELIABILITY_LOG="$PWD/faults.jsonl" python -m pytest tests/reliability/test_faults.py -n 2
python tests/testing/reliability_table.py faults.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

SHORT = {
    "same end state": "✅ same",
    "exit 2 naming the call; re-run repairs": "⚠️2 → ✅",
    "warning naming the call; re-run repairs": "⚠️0 → ✅",
}


def main(path: str) -> None:
    with open(path, encoding="utf-8") as log:
        rows = [json.loads(line) for line in log if line.strip()]
    table: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        table[row["command"]][row["step"]][row["fault"]] = SHORT.get(row["outcome"], row["outcome"])
        counts[(row["command"], row["outcome"])] += 1
    for command, steps in sorted(table.items()):
        faults = sorted(
            {fault for outcomes in steps.values() for fault in outcomes if fault != "read-only token"}
        )
        print(f"\n#### {command}\n")
        print("| step | " + " | ".join(faults) + " |")
        print("|---|" + "---|" * len(faults))
        for step, outcomes in steps.items():
            if step == "every write":
                continue
            print(f"| {step} | " + " | ".join(outcomes.get(f, "—") for f in faults) + " |")
    print("\n| command | outcome | scenarios |\n|---|---|---|")
    for (command, outcome), n in sorted(counts.items()):
        print(f"| {command} | {outcome} | {n} |")
    print(f"\ntotal: {sum(counts.values())} scenarios")


if __name__ == "__main__":
    main(sys.argv[1])
