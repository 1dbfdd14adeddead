"""Read source streams: JSON Lines or CSV files in a folder, one file per stream."""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CrmsyncError
from engine.jsoncodec import source_object


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
            if number == 1 and raw.startswith(codecs.BOM_UTF8):  # as written by Windows tools
                raw = raw[len(codecs.BOM_UTF8):]
            data, error = _parse_line(raw)
            yield SourceRecord(stream, data if error is None else {}, where, error)


def _parse_line(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """One JSON Lines line, or why it cannot be read: the line is refused alone, never the file."""
    fast = source_object(raw)
    if fast is not None:
        return fast, None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        return {}, "not UTF-8 text"
    except json.JSONDecodeError as exc:
        return {}, f"not JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return {}, "not readable: JSON nested too deeply"
    except ValueError as exc:  # a number of more digits than Python converts (4,300)
        return {}, f"not readable: {str(exc).split(';')[0]}"
    if not isinstance(data, dict):
        return {}, "a line must be a JSON object"
    if b"\\u" in raw and _ESCAPED_SURROGATE.search(raw) and not _encodable(data):
        return {}, "a lone surrogate escape (such as \\ud800) is not a character: it cannot be sent"
    return data, None


def _not_json(constant: str) -> Any:
    """NaN and Infinity, which Python's json reads but JSON has not: sent on, they make a request body
    that is not JSON, refused whole by the CRM."""
    raise ValueError(f"{constant} is not a JSON value")


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(data: Any) -> bool:
    """Whether every string in the record is real Unicode text (no half of a surrogate pair)."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def csv_delimiter(path: Path) -> str:
    """The header's separator: `,`, or `;` / tab for a header holding no comma (a spreadsheet saved with
    a locale whose decimal mark is the comma writes `;`). Read as commas, such a file is one column."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = handle.readline()
    if "," in header:
        return ","
    return next((d for d in (";", "\t", "|") if d in header), ",")


def _read_csv(path: Path, stream: str) -> Iterator[SourceRecord]:
    """CSV columns become keys; a dotted header (`address.city`) becomes a nested key. A row that is not
    UTF-8 text is refused alone."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=csv_delimiter(path))
        for number, row in enumerate(reader, start=2):
            where = f"{path}:{number}"
            if not _encodable(row):
                yield SourceRecord(stream, {}, where, "not UTF-8 text")
                continue
            if None in row:  # values beyond the header's columns: an unquoted separator shifts the rest
                columns = len(reader.fieldnames or ())
                yield SourceRecord(stream, {}, where, f"{columns + len(row[None])} values for {columns} "
                                                      "columns (a separator inside a value not quoted?)")
                continue
            data: dict[str, Any] = {}
            for column, value in row.items():
                target = data
                *parents, leaf = column.split(".")
                for parent in parents:
                    target = target.setdefault(parent, {})
                target[leaf] = value if value != "" else None
            yield SourceRecord(stream, data, where)
