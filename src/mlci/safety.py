"""Make text that came from a repository or a pull request inert where mlci writes it.

A PR controls metric names, param values, paths and branch names. Rendered raw they could break a
table, inject HTML or mentions into a comment, or forge a workflow command in the log.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_AT = re.compile("[@\uff20\ufe6b]")
# the HTML mlci's own templates write into a comment; any other tag in a posted body is text
_OWN_TAGS = re.compile(r"<(/?(details|summary|sub|br)|details open)>|<!-- mlci:[\w:.-]+ -->")


def inert_body(body: str) -> str:
    """A whole comment body from outside (a fork's bundle): mlci's own tags stay, any other `<` and
    character reference becomes text, and no mention form notifies anyone."""
    out, last = [], 0
    for tag in _OWN_TAGS.finditer(body):
        out.append(_inert_text(body[last : tag.start()]) + tag.group(0))
        last = tag.end()
    out.append(_inert_text(body[last:]))
    return "".join(out)


def _inert_text(text: str) -> str:
    # md_escape's own entities stay; `&#64;` and every other reference becomes literal text
    text = re.sub(r"&(?!(amp|lt|gt|quot);)", "&amp;", text).replace("<", "&lt;")
    return re.sub(r"(?<![\w`])[@\uff20\ufe6b](?=\w)", lambda m: m.group(0) + "\u200d", text)


def md_escape(value: object) -> str:
    """Escape text for one line of GitHub markdown (table cells included)."""
    text = str(value)
    text = re.sub(r"[\r\n\t]+", " ", text)
    text = "".join(_HTML.get(ch, ch) for ch in text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # `@user` would notify people; a zero-width joiner keeps it readable but inert (the full-width
    # and small forms too; `&#64;` is already `&amp;#64;`, literal text)
    return _AT.sub(lambda m: m.group(0) + "\u200d", text)


def md_code(value: object) -> str:
    """Inline code that no backtick in the value can close early."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def one_line(value: object, limit: int = 200) -> str:
    """A single log line: no CR/LF (so no forged `::command::`), bounded length."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- workflow commands in the log ----------------------------------------------------------------
# The Actions runner reads every line of a step's output (split at CR and LF) and runs it as a command
# when, trimmed of whitespace, it starts with `::` (`::add-mask::x`), or when it holds `##[` anywhere
# (`##[add-mask]x`, the old form). Its comparisons are culture-aware, so zero-width characters in
# between do not break either form: they are removed before the test.

_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def inert_log_line(line: str) -> str:
    """One output line that the runner cannot take for a workflow command (a visible space breaks it)."""
    folded = _IGNORABLE.sub("", line)
    if not (folded.strip().startswith("::") or "##[" in folded):
        return line
    text = folded.replace("##[", "## [")
    body = text.lstrip()
    if body.startswith("::"):
        text = text[: len(text) - len(body)] + ": " + body[1:]
    return text


def inert_log(text: str) -> str:
    """`inert_log_line` on every line of `text` (line breaks kept)."""
    parts = _LINE_BREAK.split(text)
    parts[::2] = [inert_log_line(part) for part in parts[::2]]
    return "".join(parts)


class InertLines(io.TextIOBase):
    """A stdout/stderr wrapper that neutralises workflow commands in everything written through it,
    line by line; mlci's own commands go through `write_trusted` (see `write_command`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", None) or "utf-8")

    def isatty(self) -> bool:
        return self._stream.isatty()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        parts = _LINE_BREAK.split(self._pending + text)
        self._pending = parts.pop()  # an unfinished line waits for its end: `##[` may be split
        self._stream.write("".join(inert_log_line(p) if i % 2 == 0 else p for i, p in enumerate(parts)))
        return len(text)

    def write_trusted(self, line: str) -> None:
        self._finish_line()
        self._stream.write(line)
        self._stream.flush()

    def _finish_line(self) -> None:
        if self._pending:
            self._stream.write(inert_log_line(self._pending) + "\n")
            self._pending = ""

    def flush(self) -> None:
        self._stream.flush()

    def close_lines(self) -> None:
        """Write an unfinished last line; call before the wrapper is dropped."""
        if self._pending:
            self._stream.write(inert_log_line(self._pending))
            self._pending = ""
        self._stream.flush()


def write_command(stream: TextIO, line: str) -> None:
    """Write one workflow command of mlci's own (`::error::…`), past an `InertLines` guard. Its message
    may quote a PR: no `##[` in it either, whichever form the runner tries first."""
    line = _IGNORABLE.sub("", line).replace("##[", "## [")
    trusted = getattr(stream, "write_trusted", None)
    if trusted is not None:
        trusted(line + "\n")
    else:
        stream.write(line + "\n")
        stream.flush()


# --- files read from the working tree ---------------------------------------------------------------


def outside_link(root: Path, relative: str) -> str | None:
    """How `root/relative` leads out of the repository (the first symlink on the way that does, or
    its path), or None. A checked-out PR can make `metrics.json` or a whole `eval/` folder a link
    to `~/.ssh/id_rsa` or `/etc`: mlci never reads through it, locally or on a runner."""
    import os

    top = Path(os.path.realpath(root))
    current = Path(root)
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink() and not Path(os.path.realpath(current)).is_relative_to(top):
            return f"through the symlink {os.path.relpath(current, root)}"
    if not Path(os.path.realpath(Path(root) / relative)).is_relative_to(top):
        return "by its path"  # `../x` or an absolute path
    return None


def check_inside(root: Path, paths: Iterable[str]) -> None:
    """Exit 2 (MlciError) naming the first of `paths` that leaves the repository through a symlink."""
    from mlci.errors import MlciError

    for relative in paths:
        how = outside_link(root, relative)
        if how is not None:
            raise MlciError(
                f"{one_line(relative)} leads outside the repository ({one_line(how)}); "
                "mlci does not read files outside the repository",
                "replace the link by the file itself (or a link inside the repository)",
            )


# --- YAML and JSON from a pull request, bounded before anything parses them ------------------------

MAX_DATA_BYTES = 32 * 1024 * 1024  # a params, metrics, plots or pipeline file
MAX_DEPTH = 200  # nesting levels (JSON's parser recurses; DVC flattens recursively)
MAX_YAML_NODES = 1_000_000  # nodes once every alias is expanded (a "billion laughs" is 10^9)


def too_big(name: str, size: int) -> Exception:
    from mlci.errors import MlciError

    return MlciError(
        f"{one_line(name)}: {size:,} bytes is more than the limit of {MAX_DATA_BYTES:,}; "
        "mlci refuses it before parsing",
        "a params, metrics, plots or pipeline file this large is not something to diff",
    )


def check_data_file(name: str, data: bytes) -> None:
    """Exit 2 (MlciError) naming the file and the bound when a YAML/JSON text is too big, too deep or
    expands (through YAML aliases) into too many nodes; cheap: libyaml's event stream, no objects."""
    from mlci.errors import MlciError

    def refuse(what: str) -> MlciError:
        return MlciError(
            f"{one_line(name)}: {what}; mlci refuses it before parsing",
            "mlci reads no YAML/JSON file this large or nested (params, metrics, pipelines, mlci.yaml, "
            "contracts alike): shrink or flatten it",
        )

    if len(data) > MAX_DATA_BYTES:
        raise too_big(name, len(data))
    # flow collections (all of JSON) by their brackets, quoted strings left out: libyaml gives up on
    # deep nesting with an error of its own, but DVC's parser recurses into it
    depth = 0
    text = re.sub(rb'"(?:[^"\\]|\\.)*"' + rb"|'[^']*'", b"", data)
    for bracket in re.finditer(rb"[\[\]{}]", text):
        depth += 1 if bracket.group(0) in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            raise refuse(f"nested more than {MAX_DEPTH} levels deep")
    if name.endswith(".json"):
        return
    _check_yaml_events(data, refuse)


def _check_yaml_events(data: bytes, refuse: Any) -> None:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases expanded
    stack: list[list[Any]] = []  # open collections: [anchor, nodes so far, itself included]
    total = 0
    try:
        for event in yaml.parse(data, Loader=loader):
            count = 0
            if isinstance(event, yaml.AliasEvent):
                count = sizes.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                count = 1
                if event.anchor:
                    sizes[str(event.anchor)] = 1
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                stack.append([event.anchor, 1])
                total += 1
                if len(stack) > MAX_DEPTH:
                    raise refuse(f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, nodes = stack.pop()
                if anchor:
                    sizes[str(anchor)] = nodes
                if stack:
                    stack[-1][1] += nodes
            if count:
                total += count
                if stack:
                    stack[-1][1] += count
            if total > MAX_YAML_NODES:
                raise refuse(f"expands to more than {MAX_YAML_NODES:,} nodes through YAML aliases")
    except yaml.YAMLError:
        return  # broken YAML: the parser that reads it next says where


def repo_path(root: Path, relative: str, setting: str) -> Path:
    """`root/relative` for a path that came from config or a commit (`github.outbox`, a dataset's
    path, `data.profile_cache`): the one rule — no absolute path, no `..` out, no symlink leading out
    of the repository, for reading and for writing alike. Exit 2 (MlciError) naming the setting."""
    from mlci.errors import MlciError

    how = "by its path" if Path(relative).is_absolute() else outside_link(root, relative)
    if how is not None:
        raise MlciError(
            f"{one_line(setting)} = {one_line(relative)} leads outside the repository ({one_line(how)}); "
            "mlci reads and writes only inside it",
            f"set {one_line(setting, 80)} to a path inside the repository (e.g. .mlci/...), "
            "and replace a link that leaves it by the file itself",
        )
    return Path(root) / relative
