"""A cache of checked connector specs, profiles and team files, so that a command does not parse the same
YAML and build the same models again on every run (issue 14: `crmsync validate` under 0.3 s of CPU).

An entry is the checked model, pickled, under a name that is the hash of everything the model is made
from: the file's bytes, the model and checks asked for, the source of the engine package (a developer's
edit counts, not only a release), the Python version and those of pydantic and ruamel.yaml. A file that
changes by one byte is read again; a file that does not load is never cached, so its errors are found
afresh each time. The model comes without its YAML document: `Loaded.document` parses the same text again
(positions kept) the first time a position is asked for.

The cache is the user's own: `$CRMSYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/crmsync`, else
`~/.cache/crmsync`; an empty `CRMSYNC_CACHE_DIR` turns it off. A pickle runs code when it is read, so an
entry is read only from a folder and a file the user owns that no one else may write (0700, 0600, no
symbolic link); anything else, or an entry that does not unpickle, is passed over and the file is loaded
as if there were no cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Callable
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ENGINE = Path(__file__).resolve().parent
MAX_ENTRIES = 64  # the oldest entries beyond this are removed when one is added
SUFFIX = ".pickle"


_loaded: dict[Path, bytes] = {}  # the bytes each file was loaded from in this process, by its path as given


def note_loaded(path: Path, raw: bytes) -> None:
    _loaded[path] = raw


def bytes_loaded(path: Path) -> bytes | None:
    """The bytes `path` was last loaded from in this process (what its model, and a finding, came from)."""
    return _loaded.get(path)


def cache_dir() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    chosen = os.environ.get("CRMSYNC_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home to be found: no cache, the files are loaded as they are
            return None
    return Path(base) / "crmsync"


def entry_name(raw: bytes, model: type, checks: Callable[..., Any] | None) -> str:
    """The name of the entry for a file's bytes loaded as `model` with `checks`."""
    digest = hashlib.blake2b(code_fingerprint(), digest_size=20)
    digest.update(f"{qualified(model)}|{qualified(checks) if checks else ''}|".encode())
    digest.update(raw)
    return digest.hexdigest() + SUFFIX


def qualified(thing: Any) -> str:
    return f"{thing.__module__}.{thing.__qualname__}"


@cache
def code_fingerprint() -> bytes:
    """What makes a model from a file, besides the file: the engine's source, Python, pydantic and
    ruamel.yaml. (ruamel.yaml is not imported for it: its `__init__.py`, which carries its version, is
    read as text; a command whose models come from the cache never loads the YAML parser.)"""
    import pydantic
    import pydantic_core

    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{sys.version}|{pydantic.VERSION}|{pydantic_core.__version__}|".encode())
    yaml_spec = find_spec("ruamel.yaml")
    if yaml_spec is not None and yaml_spec.origin:
        digest.update(Path(yaml_spec.origin).read_bytes())
    for source in sorted(ENGINE.rglob("*.py")):
        digest.update(str(source.relative_to(ENGINE)).encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.digest()


def recall(raw: bytes, model: type, checks: Callable[..., Any] | None) -> Any | None:
    """The model cached for these bytes, or None (no entry, the cache off, or an entry not to trust)."""
    data = read_private(entry_name(raw, model, checks))
    if data is None:
        return None
    try:
        found = pickle.loads(data)
    except Exception:  # noqa: BLE001 - a truncated or stale entry: load the file as without a cache
        return None
    return found if isinstance(found, model) else None


def keep(raw: bytes, model: type, checks: Callable[..., Any] | None, checked: Any) -> None:
    """Store `checked` for these bytes. A model that does not pickle is not kept."""
    try:
        data = pickle.dumps(checked, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    write_private(entry_name(raw, model, checks), data)


def read_private(name: str) -> bytes | None:
    """The bytes of the entry `name`, or None: no entry, the cache off, or a folder or file that is not
    the user's own and private."""
    folder = cache_dir()
    if folder is None or not owned_and_private(folder, stat.S_ISDIR):
        return None
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not owned_and_private_fd(fd, stat.S_ISREG):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def write_private(name: str, data: bytes) -> None:
    """Store the entry `name`, written beside and moved in place (a reader never sees half an entry). A
    cache that cannot be written is no error: the next run does the work again."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        make_private_dir(folder)
        if not owned_and_private(folder, stat.S_ISDIR):
            return
        path = folder / name
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
        prune(folder, "*" + Path(name).suffix)
    except OSError:
        return


def make_private_dir(folder: Path) -> None:
    if not folder.exists():
        from engine.credfile import private_dir

        private_dir(folder)


def prune(folder: Path, pattern: str = f"*{SUFFIX}") -> None:
    """Remove the oldest entries of a kind past MAX_ENTRIES (an edited profile leaves one per version)."""
    entries = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)


def owned_and_private(path: Path, is_kind: Callable[[int], bool]) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return private_info(info, is_kind)


def owned_and_private_fd(fd: int, is_kind: Callable[[int], bool]) -> bool:
    return private_info(os.fstat(fd), is_kind)


def private_info(info: os.stat_result, is_kind: Callable[[int], bool]) -> bool:
    """Of this kind (not a link), owned by this user, and neither readable nor writable by others."""
    return is_kind(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
