"""The one user-facing error type and the documented exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1  # a quality gate or check failed
EXIT_USAGE = 2  # usage, config or input error
EXIT_UNEXPECTED = 3  # a bug in mlci or its environment


class MlciError(Exception):
    """An error the user can fix: the message says what is wrong, the hint how to fix it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class GateFailed(MlciError):
    """Raised by a command whose quality gates or checks failed, after it wrote its report."""

    exit_code = EXIT_GATE
