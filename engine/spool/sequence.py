"""A sequence kept on disk: items appended a chunk at a time (a decided window) are pickled to a
temporary file and read back lazily, in order, a chunk at a time."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Generic, TypeVar, overload

import lz4.block

T = TypeVar("T")
CHUNK = 2_000  # items pickled together: one window of a stream
Amendment = Callable[[Any], None]  # applied in place to each item as it is read back


class Spool(Sequence[T], Generic[T]):
    """Append-only; iterating reads each chunk from the file (nothing is cached), so only the chunk being
    read is in memory. The file is anonymous (unlinked at once): it goes when the spool does, or with
    the process. Chunks are compressed (LZ4): planned records repeat their keys and texts, and a million
    of them would otherwise take gigabytes of temporary disk. LZ4 rather than zlib level 1: a quarter of
    the CPU to compress and a seventh to decompress (3.4 -> 0.9 and 1.6 -> 0.2 µs per planned record),
    for a quarter more disk (117 -> 149 bytes per record)."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._file = tempfile.TemporaryFile(prefix="crmsync-spool-")  # noqa: SIM115 - lives with the spool
        self._chunks: list[tuple[int, int, int]] = []  # (offset, size in bytes, item count)
        self._end = 0
        self._count = 0
        self._amendments: list[Amendment] = []
        self.extend(items)

    def extend(self, items: Iterable[T]) -> None:
        iterator = iter(items)
        while chunk := list(islice(iterator, CHUNK)):
            self._append_chunk(chunk)

    def _append_chunk(self, chunk: list[T]) -> None:
        data = lz4.block.compress(dumped(chunk), store_size=True)
        os.pwrite(self._file.fileno(), data, self._end)
        self._chunks.append((self._end, len(data), len(chunk)))
        self._end += len(data)
        self._count += len(chunk)
        self.appended(chunk)

    def appended(self, chunk: list[T]) -> None:
        """Seen by subclasses as each chunk is written (to keep counts)."""

    def __iadd__(self, items: Iterable[T]) -> Spool[T]:  # type: ignore[override,misc]
        self.extend(items)
        return self

    def __add__(self, other: Iterable[T]) -> list[T]:
        return [*self, *other]

    def __radd__(self, other: Iterable[T]) -> list[T]:
        return [*other, *self]

    def amend(self, amendment: Amendment) -> None:
        """Change every item, as it is read back from now on (a change decided once all are written)."""
        self._amendments.append(amendment)

    def chunks(self) -> Iterator[list[T]]:
        for offset, size, _ in self._chunks:
            chunk: list[T] = pickle.loads(lz4.block.decompress(os.pread(self._file.fileno(), size, offset)))
            for amendment in self._amendments:
                for item in chunk:
                    amendment(item)
            yield chunk

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self.chunks())

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(self)[index]
        position = index + self._count if index < 0 else index
        if not 0 <= position < self._count:
            raise IndexError("spool index out of range")
        for chunk in self.chunks():
            if position < len(chunk):
                return chunk[position]
            position -= len(chunk)
        raise IndexError("spool index out of range")  # pragma: no cover - counted above

    def disk_bytes(self) -> int:
        return self._end

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._count} items, {self._end:,} bytes on disk)"


def dumped(chunk: list[Any]) -> bytes:
    """The chunk pickled without pickle's memo (Pickler.fast): half the CPU of pickle.dumps on planned
    records. An object met twice is then written twice (read back as two equal objects), which the
    compression makes up for; a chunk holds no reference cycle (fast mode would recurse forever on one)."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(chunk)
    return out.getvalue()


class Concatenation(Sequence[T], Generic[T]):
    """Several sequences read one after the other, as one (a plan's streams, in stream order)."""

    def __init__(self, parts: Iterable[Sequence[T]]) -> None:
        self.parts = list(parts)

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self.parts)

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(self)[index]
        position = index + len(self) if index < 0 else index
        for part in self.parts:
            if 0 <= position < len(part):
                return part[position]
            position -= len(part)
        raise IndexError("index out of range")

    def __add__(self, other: Iterable[T]) -> list[T]:
        return [*self, *other]

    def __radd__(self, other: Iterable[T]) -> list[T]:
        return [*other, *self]


def windows_of(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """`items` a list at a time: a spool's chunks as written (each read from disk as it comes), else
    slices of `size`; a concatenation part by part."""
    if isinstance(items, Spool):
        yield from items.chunks()
    elif isinstance(items, Concatenation):
        for part in items.parts:
            yield from windows_of(part, size)
    else:
        iterator = iter(items)
        while window := list(islice(iterator, size)):
            yield window
