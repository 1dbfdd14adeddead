"""Credentials files and the state dir's private parts.

A credentials file (`--credentials FILE`, or the state dir's `credentials/<name>.json`) is a JSON object
of strings. It must be readable by its owner only, as ssh wants of a private key, wherever it is. An
error in one names the file, line and column and the key, and never quotes a value: a value may be a
secret. What crmsync itself creates in a state dir is private from the start: folders 0700, files 0600.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UsageError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class CredentialsMissing(UsageError):
    """Credentials that are absent, unreadable, malformed or readable by others: exit 2."""


@dataclass(frozen=True)
class CredentialsFile:
    """The string values of a credentials file, and where each key is (`path:line:col`)."""

    path: Path
    values: dict[str, str]
    where: dict[str, str]


def private_dir(path: Path) -> Path:
    """A folder (and its missing parents) created readable by its owner only; an existing one is left
    as its owner made it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for created in missing:  # mkdir applies the umask, and gives parents the default mode
        created.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and readable by its owner only, unless it exists."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)
    return path


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically with `data`, readable by its owner only (a file half written could lose
    the only valid refresh token)."""
    private_dir(path.parent)
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(partial, path)


def read_credentials_file(path: Path, keys: Iterable[str]) -> CredentialsFile:
    """The values of `keys` in the file; refused (CredentialsMissing, located) when others can read it,
    it is not a regular file, not UTF-8, not a JSON object, or a value is not a string."""
    text = _private_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:  # its message names the position, never the text
        raise CredentialsMissing(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise CredentialsMissing(f"{path}:1:1: a credentials file is a JSON object of "
                                 f"{', '.join(keys)}, not {_kind(data)}")
    values: dict[str, str] = {}
    where: dict[str, str] = {}
    for key in keys:
        value = data.get(key)
        where[key] = f"{path}:{_key_position(text, key)}"
        if value is not None and not isinstance(value, str):
            raise CredentialsMissing(f"{where[key]}: {key}: a credentials value is a string, "
                                     f"not {_kind(value)}")
        if value and (value := clean_value(value, f"{where[key]}: {key}")):
            values[key] = value
    return CredentialsFile(path, values, where)


def clean_value(value: str, where: str) -> str:
    """A credential without the blanks around it (a token pasted with its newline); one with a blank or
    control character inside is refused: no CRM issues such a token, and no HTTP header can carry it."""
    value = value.strip()
    if any(c.isspace() or not c.isprintable() for c in value):
        raise CredentialsMissing(f"{where}: holds a space, line break or control character inside; "
                                 "copy the value again")
    return value


def _private_text(path: Path) -> str:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise CredentialsMissing(f"{path}: credentials file not found") from None
    except OSError as exc:
        raise CredentialsMissing(f"{path}: cannot read credentials: {exc.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise CredentialsMissing(f"{path}: a credentials file is a regular file")
    if os.name == "posix" and status.st_mode & 0o077:
        raise CredentialsMissing(f"{path}: other users can read these credentials; run `chmod 600 {path}`")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CredentialsMissing(f"{path}: cannot read credentials: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace")) + 1
        raise CredentialsMissing(f"{path}:{line}:{col}: not UTF-8 text; save the file as UTF-8") from None


def _key_position(text: str, key: str) -> str:
    """line:col of the key's first mention, as editors count (1:1 when it is not written plainly)."""
    index = text.find(json.dumps(key))
    if index < 0:
        return "1:1"
    line = text.count("\n", 0, index) + 1
    return f"{line}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number",
             str: "a string"}
    return names.get(type(value), "null")
