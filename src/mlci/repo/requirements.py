"""The project's pip requirements files, read the way pip reads them (docs/architecture.md, "Two
environments").

pip decodes a requirements file by its byte-order mark (UTF-8, UTF-16 or UTF-32, either byte order: what
`pip freeze > requirements.txt` writes in Windows PowerShell), else by a `coding:` comment in its first two
lines, else in the locale's encoding. uv reads UTF-8 only, so the install step hands uv a UTF-8 copy of
every file that is not already UTF-8 (`python -m mlci.repo.requirements FILE`).
"""

from __future__ import annotations

import codecs
import locale
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from mlci.fsutil import write_text_atomic

# UTF-32 first: its little-endian mark begins with UTF-16's
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")
_INCLUDE = re.compile(r"^(\s*(?:-r|-c|--requirement|--constraint)(?:\s+|=))(\S+)(.*)$")
COPY_PREFIX = ".mlci-utf8."


@dataclass(frozen=True)
class Decoded:
    """A requirements file's text and the encoding pip would read it in ("utf-16-le" ...)."""

    text: str
    encoding: str
    bom: bool

    @property
    def plain_utf8(self) -> bool:
        return self.encoding.replace("_", "-").lower() in {"utf-8", "utf8"} and not self.bom


def decode(data: bytes) -> Decoded:
    """`data` decoded as pip decodes a requirements file; UnicodeDecodeError when it cannot be."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(encoding), encoding, True)
    for line in data.split(b"\n")[:2]:
        found = _CODING.search(line) if line.lstrip().startswith(b"#") else None
        if found:
            name = found.group(1).decode("ascii")
            return Decoded(data.decode(name), codecs.lookup(name).name, False)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        encoding = locale.getpreferredencoding(False) or sys.getdefaultencoding()
        return Decoded(data.decode(encoding), encoding, False)


def read(path: Path) -> Decoded:
    """The file `path` decoded as pip decodes it (OSError, UnicodeDecodeError)."""
    return decode(path.read_bytes())


def includes(text: str) -> list[str]:
    """The files a requirements text names with -r/-c (relative to its own folder)."""
    return [m.group(2) for m in map(_INCLUDE.match, text.splitlines()) if m]


def closure(path: Path) -> list[Path]:
    """`path` and every file it includes through -r/-c, each once, in the order found.

    Raises FileNotFoundError naming a file that is not there (pip stops on it too)."""
    seen: list[Path] = []
    todo = [path]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        if not current.is_file():
            raise FileNotFoundError(f"no file {current}")
        seen.append(current)
        todo += [current.parent / name for name in includes(read(current).text)]
    return seen


def utf8_copies(path: Path) -> tuple[Path, list[Path]]:
    """What to give an installer that reads UTF-8 only: `path` itself when it and its includes are plain
    UTF-8; else a UTF-8 copy written beside it (`.mlci-utf8.NAME`, so relative paths keep their meaning),
    its -r/-c lines pointing at the copies of the files they name. Returns (file to install, copies)."""
    files = closure(path)
    recode = {f for f in files if not read(f).plain_utf8}
    if not recode:
        return path, []
    changed = set(recode)
    while True:  # a file including a copied file is copied too, to name the copy
        more = {f for f in files if f not in changed and any(i in changed for i in _included(f))}
        if not more:
            break
        changed |= more
    written = []
    for file in files:
        if file in changed:
            written.append(_write_copy(file, changed))
    return (_copy_name(path) if path in changed else path), written


def _included(file: Path) -> list[Path]:
    return [file.parent / name for name in includes(read(file).text)]


def _copy_name(file: Path) -> Path:
    return file.with_name(COPY_PREFIX + file.name)


def _write_copy(file: Path, changed: set[Path]) -> Path:
    def point(match: re.Match[str]) -> str:
        target = file.parent / match.group(2)
        if target not in changed:
            return match.group(0)
        return (
            match.group(1) + str(Path(match.group(2)).with_name(COPY_PREFIX + target.name)) + match.group(3)
        )

    lines = [_INCLUDE.sub(point, line) for line in read(file).text.splitlines()]
    copy = _copy_name(file)
    write_text_atomic(copy, "\n".join(lines) + "\n")
    return copy


def main(argv: list[str]) -> int:
    """`python -m mlci.repo.requirements FILE`: print the file to install from (FILE or its UTF-8 copy),
    then each copy written (to remove after the install). Exit 2 when a file cannot be decoded."""
    try:
        install, written = utf8_copies(Path(argv[0]))
    except (OSError, UnicodeError, LookupError) as exc:
        print(f"cannot read the requirements file {argv[0]} as pip would: {exc}", file=sys.stderr)
        return 2
    print(install)
    for copy in written:
        print(copy)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
