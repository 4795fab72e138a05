"""The report's "Experiments" section: the leaderboard table, the unreadable line, best vs base, promote.

Every name and value came from the PR (experiment names, params, metric keys): all of it is escaped
here (`mlci.safety`), and the promote commands name an experiment only when its name is plain
(`safe_name`), else by its commit SHA, shell-quoted either way.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from tabulate import tabulate

from mlci.render import fmt_number
from mlci.report.experiments import Entry, Leaderboard, flat_params, unread_reason
from mlci.report.markdown.tables import cell_code, metrics_table, several_files
from mlci.safety import md_code, md_escape

# a name shown in a shell command as it is: what DVC's generated names and most people's look like
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def safe_name(name: str) -> bool:
    """True when `name` may appear bare in a command: letters, digits, `.`, `_`, `-` (not first), no `..`."""
    return bool(_PLAIN.match(name)) and ".." not in name and not name.endswith((".", ".lock"))


def promote_commands(entry: Entry, remote: str = "origin") -> list[str]:
    """Shell lines that bring experiment `entry` to the reviewer's clone, apply it to the checked-out
    branch, or make it a branch of its own (`exp-<name>`, or `exp-<sha7>` for a name that is not plain)."""
    if safe_name(entry.name):
        target, branch = entry.name, f"exp-{entry.name}"
        fetch = f"dvc exp pull {shlex.quote(remote)} {shlex.quote(target)}"
    else:
        target, branch = entry.sha, f"exp-{entry.sha[:7]}"
        prefix = f"refs/exps/{entry.baseline[:2]}/{entry.baseline[2:]}/*"
        fetch = f"git fetch {shlex.quote(remote)} {shlex.quote(f'+{prefix}:{prefix}')}"
    return [
        fetch,
        f"dvc exp apply {shlex.quote(target)}  # onto the checked-out PR branch; then commit",
        f"dvc exp branch {shlex.quote(target)} {shlex.quote(branch)}  # or as a branch of its own",
    ]


def experiments_context(board: Leaderboard, top: int | None, columns: int, hint: str) -> dict[str, Any]:
    """What `report.md.j2` shows of the leaderboard; `top`: rows in the comment (None: all)."""
    shown = board.entries if top is None else _top(board.entries, top)
    best = board.best
    return {
        "heading": _heading(board),
        "lines": _lines(board),
        "table": leaderboard_table(board, shown, columns),
        "hidden": len(board.entries) - len(shown),
        "hint": hint,
        "best": _html_code(best.name) if best else "",
        "best_table": metrics_table(
            board.best_vs_base,
            {},
            several_files=several_files(board.best_vs_base),
            head_label="Best",
            gate_column=False,
        ),
        "promote": "\n".join(promote_commands(best)) if best else "",
        "checks": [f"{'✅' if c.passed else '❌'} `{c.name}`: {md_escape(c.reason)}" for c in board.checks],
    }


def _top(entries: list[Entry], top: int) -> list[Entry]:
    """The first `top` rows, and head's row wherever it ranks (a reviewer always sees it)."""
    shown = entries[: max(top, 0)]
    head = next((e for e in entries if e.is_head), None)
    return shown if head is None or head in shown else [*shown, head]


def _heading(board: Leaderboard) -> str:
    n, commits = len(board.experiments), board.commits_read
    text = (
        f"{n} experiment{'s' if n != 1 else ''} on {commits} commit{'s' if commits != 1 else ''} of this PR"
    )
    if board.ranking:
        arrow = "▲ higher is better" if board.ranking.direction == "higher" else "▼ lower is better"
        text += f", ranked by {md_code(board.ranking.name)} ({arrow})"
    return text


def _lines(board: Leaderboard) -> list[str]:
    """Head's rank, and each thing a reviewer must know about what is not shown or not read."""
    lines: list[str] = []
    head = board.head
    if head is not None and head.rank is not None:
        ranked = sum(e.rank is not None for e in board.entries)
        lines.append(f"Head ({md_code(head.sha[:7])}) ranks **{head.rank} of {ranked}**.")
    if board.fetch_error:
        lines.append(
            f"⚠️ The PR's experiments could not be fetched from the git remote: {md_escape(board.fetch_error)}. "
            "Fix: give the job read access to the repository, or push them with `dvc exp push origin`."
        )
    if board.commits_total > board.commits_read:
        lines.append(
            f"Only the newest {board.commits_read} of the PR's {board.commits_total} commits were searched "
            "for experiments (`report.experiments.max_commits`)."
        )
    if board.found > len(board.experiments):
        lines.append(
            f"Only the newest {len(board.experiments)} of {board.found} experiments were read "
            "(`report.experiments.max_experiments`)."
        )
    if board.unread:
        n = len(board.unread)
        lines.append(
            f"⚠️ The metrics of {n} of {len(board.experiments)} experiments could not be read (*not read* "
            f"below; unranked when it is the ranking metric): {md_escape(unread_reason(board.unread))}"
        )
    return lines


def leaderboard_table(board: Leaderboard, entries: list[Entry], columns: int) -> str:
    """One row per entry: rank, name, the commit it ran on, the metrics (ranking metric first), params."""
    keys = _metric_columns(board, columns)
    several = len({f for f, _ in keys}) > 1
    header = ["#", "Experiment", "Run on", *(md_escape(f"{f}:{k}" if several else k) for f, k in keys)]
    body = [
        [
            str(e.rank) if e.rank is not None else "—",
            _name(e),
            "head" if e.on_head else f"earlier commit {md_code(e.baseline[:7])}",
            *(_cell(e, f, k, i == 0 and board.ranking is not None) for i, (f, k) in enumerate(keys)),
            _params(e),
        ]
        for e in entries
    ]
    return tabulate(body, [*header, "Params changed from head"], tablefmt="github", disable_numparse=True)


def _metric_columns(board: Leaderboard, columns: int) -> list[tuple[str, str]]:
    first = [(board.ranking.file, board.ranking.key)] if board.ranking else []
    rest: dict[tuple[str, str], None] = {}
    for entry in board.entries:
        for file in sorted(entry.metrics):
            for key in entry.metrics[file]:
                if (file, key) not in first:
                    rest.setdefault((file, key), None)
    return [*first, *list(rest)][: max(columns, 1)]


def _name(entry: Entry) -> str:
    if entry.is_head:
        return f"**head** {md_code(entry.sha[:7])}"
    return shown_name(entry.name)


def _html_code(name: str) -> str:
    """A name inside `<summary>`, where GitHub reads HTML and no markdown: `<code>`, HTML-escaped."""
    import html

    return f"<code>{html.escape(name)}</code>".replace("@", "@\u200d")  # an inert @mention, as md_escape


def shown_name(name: str) -> str:
    """A plain name as code; any other as escaped text (no HTML, no markdown, no @mention, one table cell)."""
    return cell_code(name) if safe_name(name) else md_escape(name)


def _cell(entry: Entry, file: str, key: str, ranking: bool) -> str:
    if file in entry.unread or "*" in entry.unread:
        return "not read"
    value = entry.metrics.get(file, {}).get(key)
    if value is None:
        return "—"
    text = ("true" if value else "false") if isinstance(value, bool) else fmt_number(value, 6)
    return f"**{text}**" if ranking and entry.rank == 1 else text


def _params(entry: Entry) -> str:
    if entry.is_head:
        return ""
    changed = flat_params(entry)
    several = len({f for f, _, _ in changed}) > 1
    parts = [f"{(f + ':') if several else ''}{k}={_param_text(v)}" for f, k, v in changed]
    return cell_code(", ".join(parts)) if parts else "(same as head)"


def _param_text(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
