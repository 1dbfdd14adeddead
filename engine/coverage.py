"""What a plan read of its source: per stream, the file read (or that there was none), how many records,
and how many records each mapped JSONPath matched. A path that matched nothing (a typo such as
`$.legal_nmae`, a CSV without the column, a stream file missing) would drop data silently: it is a
finding, which fails the plan and holds back the stream's records unless `--allow-missing` is given.

A path matches a record when it finds something there, even an empty value (`"phone": null`, an empty
CSV cell, an empty list of historical emails): what is counted is whether the source has the field at
all, not whether each record fills it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.paths import compiled, finder, plain_keys
from engine.read import csv_delimiter, stream_file

Present = Callable[[Any], bool]

SUFFIXES = (".jsonl", ".ndjson", ".csv")
ALLOW = "--allow-missing to accept"


def presence(expression: str) -> Present:
    """Whether `expression` finds anything in a record; `$.a[*]` finds the list `$.a`, even empty. Asked
    of every record whose value is None, so a top-level name (most paths) is one dict look-up."""
    expression = expression[:-3] if expression.endswith("[*]") else expression
    keys = plain_keys(compiled(expression))
    if keys is not None and len(keys) == 1:
        key = keys[0]
        return lambda data: key in data if type(data) is dict else False
    find = finder(expression)
    return lambda data: bool(find(data))


@dataclass(slots=True)
class Probe:
    """A source path that counts the records it matched (identity and parent paths: a few per record)."""

    what: str  # what the path feeds: a CRM field, `identity email`, `parent broker`, `id`
    path: str
    extract: Callable[[Any], Any]
    present: Present
    matched: int = 0

    def __call__(self, data: Any) -> Any:
        value = self.extract(data)
        if value is not None or self.present(data):
            self.matched += 1
        return value


@dataclass
class StreamSource:
    stream: str
    file: Path | None
    looked_for: list[str]
    records: int = 0
    paths: list[tuple[str, str, int]] = field(default_factory=list)  # what, path, records matched

    def delimiter(self) -> str | None:
        return csv_delimiter(self.file) if self.file is not None and self.file.suffix == ".csv" else None

    def findings(self) -> list[str]:
        if self.file is None:
            return [f"{self.stream}: no source file ({', '.join(self.looked_for)} not found): "
                    f"none of its records were read; {ALLOW}"]
        if not self.records:
            return [f"{self.file}: {self.stream}: the file holds no records; {ALLOW}"]
        return [f"{self.file}: {self.stream}: {path} ({what}) matched none of its {self.records} records"
                f"{self.hint()}: it would write nothing; fix the profile or the file, or {ALLOW}"
                for what, path, matched in self.paths if not matched]

    def hint(self) -> str:
        return " (no such column in the CSV)" if self.file is not None and self.file.suffix == ".csv" else ""

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "file": str(self.file) if self.file else None,
                "looked_for": self.looked_for, "records": self.records, "delimiter": self.delimiter(),
                "paths": [{"field": what, "path": path, "matched": matched}
                          for what, path, matched in self.paths],
                "findings": self.findings()}


def looked_for(source_dir: Path, stream: str, file: str | None) -> list[str]:
    return [str(source_dir / file)] if file else [str(source_dir / f"{stream}{s}") for s in SUFFIXES]


def stream_source(source_dir: Path, stream: str, file: str | None) -> StreamSource:
    """A stream's source before it is read: which file, if any."""
    found = stream_file(source_dir, stream, file) if source_dir.is_dir() else None
    return StreamSource(stream, found, looked_for(source_dir, stream, file))


def missing_files(source_dir: Path, streams: dict[str, str | None]) -> list[str]:
    """Findings for the streams (name -> its `file`) that have no file in `source_dir`."""
    sources = [stream_source(source_dir, stream, file) for stream, file in streams.items()]
    return [finding for source in sources if source.file is None for finding in source.findings()]
