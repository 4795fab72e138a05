"""GitHub's size limits on what mlci writes, and fitting text into them."""

from __future__ import annotations

COMMENT_LIMIT = 65_536  # characters GitHub accepts in a comment or pull request body
CHECK_TEXT_LIMIT = 65_535  # characters in a check run's summary or text
RELEASE_BODY_LIMIT = 125_000  # characters in a release's body


def fit_text(text: str, limit: int, run_url: str | None) -> str:
    """Cut `text` at a line boundary to at most `limit` characters, with a note linking the full report."""
    if len(text) <= limit:
        return text
    where = f"the [workflow run]({run_url})" if run_url else "the workflow run (job summary and artifacts)"
    note = (
        f"\n\n---\n**Truncated** to fit GitHub's {limit:,}-character limit: the full report is in {where}.\n"
    )
    room = limit - len(note) - len("\n```")
    cut = text.rfind("\n", 0, room)
    head = text[: cut if cut > 0 else room]
    if head.count("```") % 2:  # do not leave a code block open over the note
        head += "\n```"
    return head + note
