"""Errors a user sees. Each names where it is (DESIGN.md rule 6) and never carries a secret (rule 5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Position:
    path: Path
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class CrmsyncError(Exception):
    """Base of every error crmsync reports to a user."""

    exit_code = 1


class RunStopped(CrmsyncError):
    """Nothing more may be sent in this run; what was sent stands, and a later run goes on from there."""


class LoadError(CrmsyncError):
    """A spec or profile that cannot be read or is malformed: `path:line:col: message`."""

    exit_code = 2

    def __init__(self, position: Position | None, message: str, *, path: Path | None = None) -> None:
        self.position = position
        self.message = message
        self.path = position.path if position else path
        where = str(position) if position else (str(path) if path else "")
        super().__init__(f"{where}: {message}" if where else message)


class LoadErrors(CrmsyncError):
    """Several load errors of one file, reported together."""

    exit_code = 2

    def __init__(self, errors: list[LoadError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class UsageError(CrmsyncError):
    exit_code = 2
