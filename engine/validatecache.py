"""The findings of `crmsync validate PROFILE` (without --base-url or --metadata), kept by the content of
everything they come from, so that validating a profile that has not changed loads no model, no Jinja2
and no JSONPath parser (issue 14: `crmsync validate` under 0.3 s of CPU).

An entry's name is the hash of what the findings are made from besides the connector's files: the
engine's source, Python, pydantic and ruamel.yaml (speccache.code_fingerprint), the source of the plugin
package, every installed distribution's entry points (plugins registered by other packages) and
CRMSYNC_NO_ENTRY_POINTS, the working directory and the profile's path as given (findings name it), `--pull`,
and the profile's bytes. The entry lists the other files read: the connector spec and its plugin file,
each with the hash of its bytes as loaded. A file that changed or is gone and the entry is passed over:
the profile is validated again, and its new findings kept. Entries are JSON (nothing runs when one is
read) in the speccache's folder, under the same rule: read only from a folder and a file the user owns
that no one else may read or write.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from engine import speccache
from engine.findings import Finding

if TYPE_CHECKING:
    from engine.catalog import ProfileBundle

SUFFIX = ".findings.json"
FORMAT = b"validate-findings-1"


def recall(profile: Path, pull: bool) -> tuple[str, list[Finding]] | None:
    """The connector's name and the findings kept for this profile as it is now, or None."""
    raw = read_or_none(profile)
    if raw is None:
        return None
    data = speccache.read_private(entry_name(profile, raw, pull))
    if data is None:
        return None
    try:
        entry = json.loads(data)
        if any(digest(read_or_none(Path(path))) != held for path, held in entry["files"]):
            return None
        return entry["connector"], [Finding(**found) for found in entry["findings"]]
    except (ValueError, KeyError, TypeError):  # not an entry of this format: validate again
        return None


def keep(profile: Path, pull: bool, bundle: ProfileBundle, findings: list[Finding]) -> None:
    """Keep the findings of `bundle`, loaded from `profile`, when every file is still as it was loaded
    (a file edited while it was validated is not kept under either version)."""
    loaded_profile = speccache.bytes_loaded(profile)
    if loaded_profile is None or read_or_none(profile) != loaded_profile:
        return
    files = [bundle.connector.path]
    spec = bundle.connector.model
    if spec.plugin is not None:
        files.append(bundle.connector.path.parent / spec.plugin)
    held = [(str(path), digest(read_or_none(path))) for path in files]
    loaded_connector = speccache.bytes_loaded(bundle.connector.path)
    if loaded_connector is None or digest(loaded_connector) != held[0][1]:
        return
    entry = {"connector": spec.name, "files": held, "findings": [f.as_dict() for f in findings]}
    speccache.write_private(entry_name(profile, loaded_profile, pull), json.dumps(entry).encode())


def entry_name(profile: Path, raw: bytes, pull: bool) -> str:
    hashed = hashlib.blake2b(FORMAT, digest_size=20)
    hashed.update(setting_fingerprint())
    hashed.update(f"\0{os.getcwd()}\0{profile}\0{pull}\0".encode())
    hashed.update(raw)
    return hashed.hexdigest() + SUFFIX


@cache
def setting_fingerprint() -> bytes:
    """The code and settings the findings come from, besides the profile and the connector's files."""
    hashed = hashlib.blake2b(speccache.code_fingerprint(), digest_size=20)
    hashed.update(f"{speccache.ENGINE}\0{os.environ.get('CRMSYNC_NO_ENTRY_POINTS', '')}\0".encode())
    plugins = find_spec("plugins")
    for folder in (plugins.submodule_search_locations or []) if plugins else []:
        for source in sorted(Path(folder).rglob("*.py")):
            hashed.update(str(source).encode() + b"\0" + source.read_bytes() + b"\0")
    for entry_points in installed_entry_points():
        hashed.update(str(entry_points).encode() + b"\0" + entry_points.read_bytes() + b"\0")
    return hashed.digest()


def installed_entry_points() -> list[Path]:
    """The entry_points.txt of every distribution on sys.path, as importlib.metadata finds them (read as
    files: importlib.metadata's own scan costs ~35 ms, most of what this cache saves)."""
    found: list[Path] = []
    for folder in sys.path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                candidate = Path(folder or ".") / name / "entry_points.txt"
                if candidate.is_file():
                    found.append(candidate)
    return found


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def digest(raw: bytes | None) -> str | None:
    return None if raw is None else hashlib.blake2b(raw, digest_size=20).hexdigest()
