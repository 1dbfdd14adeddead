"""Read source streams: JSON Lines or CSV files in a folder, one file per stream."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CrmsyncError


class SourceError(CrmsyncError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class SourceRecord:
    stream: str
    data: dict[str, Any]
    where: str  # file:line
    error: str | None = None  # a line that could not be read: reported as an invalid record


def stream_file(source_dir: Path, stream: str, file: str | None) -> Path | None:
    if file:
        path = source_dir / file
        return path if path.exists() else None
    for suffix in (".jsonl", ".ndjson", ".csv"):
        path = source_dir / f"{stream}{suffix}"
        if path.exists():
            return path
    return None


def read_stream(source_dir: Path, stream: str, file: str | None = None) -> Iterator[SourceRecord]:
    """Records of one stream; a stream without a file has no records."""
    if not source_dir.is_dir():
        raise SourceError(f"{source_dir}: not a folder of source files")
    path = stream_file(source_dir, stream, file)
    if path is None:
        return
    if path.suffix == ".csv":
        yield from _read_csv(path, stream)
    else:
        yield from _read_jsonl(path, stream)


def _read_jsonl(path: Path, stream: str) -> Iterator[SourceRecord]:
    prefix = f"{path}:"
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = prefix + str(number)
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield SourceRecord(stream, {}, where, "not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                yield SourceRecord(stream, {}, where, f"not JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(data, dict):
                yield SourceRecord(stream, {}, where, "a line must be a JSON object")
                continue
            yield SourceRecord(stream, data, where)


def _read_csv(path: Path, stream: str) -> Iterator[SourceRecord]:
    """CSV columns become keys; a dotted header (`address.city`) becomes a nested key."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for number, row in enumerate(reader, start=2):
            data: dict[str, Any] = {}
            for column, value in row.items():
                if column is None:
                    continue
                target = data
                *parents, leaf = column.split(".")
                for parent in parents:
                    target = target.setdefault(parent, {})
                target[leaf] = value if value != "" else None
            yield SourceRecord(stream, data, f"{path}:{number}")
