"""Reading a spec or profile that may be hostile: only a regular file, and at most MAX_FILE_BYTES of it.
(Apart from the YAML parser, engine/yamlsafe.py, so that a file whose model is cached is read without
loading the parser.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 16 * 1024 * 1024  # a built-in connector is under 100 KB


class NotReadable(Exception):
    """A path that is not a regular file one may read, or one too large: the why, in words."""


def read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. Opened without blocking (a FIFO would wait
    for a writer) and checked once open (a device such as /dev/zero never ends)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise NotReadable("a folder, not a file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(f"not a regular file ({_kind_of(mode)}); give a YAML file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise NotReadable(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; not a spec or profile")
    return data


def _kind_of(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a plain file")
