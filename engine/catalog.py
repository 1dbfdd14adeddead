"""Where built-in connectors, profiles and example data live, and loading them by name or path.

In a wheel they ship inside the package (engine/_builtin/...); in a source checkout they are the
top-level folders of the repository.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from engine.connector import ConnectorSpec
from engine.connector_checks import reference_problems
from engine.errors import LoadError, LoadErrors
from engine.loader import ForeignFile, Loaded, load_model
from engine.plugins import PluginError, load_connector_plugin, require
from engine.profile import Profile
from engine.profile_keys import merged_connector

_PACKAGE = Path(__file__).resolve().parent


def builtin_dir(kind: str) -> Path:
    """The folder of built-in `connectors`, `profiles` or `examples`."""
    shipped = _PACKAGE / "_builtin" / kind
    return shipped if shipped.is_dir() else _PACKAGE.parent / kind


def connector_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir("connectors").glob("*.yaml"))


def load_connector(name_or_path: str, relative_to: Path | None = None) -> Loaded[ConnectorSpec]:
    """A built-in connector by name (`hubspot`) or a connector file by path, with its plugins loaded."""
    path = resolve_connector_path(name_or_path, relative_to)
    loaded = load_model(path, ConnectorSpec, reference_problems)
    load_plugins(loaded)
    return loaded


def load_plugins(loaded: Loaded[ConnectorSpec]) -> None:
    """The connector's own plugin file, registered for it; each plugin it needs, there. A problem is a
    load error at the key that names the plugin."""
    spec = loaded.model
    if spec.plugin is not None:
        try:
            spec._plugin_file = load_connector_plugin(loaded.path.parent / spec.plugin, spec.name)
        except PluginError as exc:
            raise LoadError(loaded.position(("plugin",)), str(exc)) from None
    missing = [LoadError(loaded.position(("plugins", i)), why) for i, why in require(spec.plugins)]
    if missing:
        raise LoadErrors(missing)


def resolve_connector_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        path = Path(name_or_path)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        return path
    path = builtin_dir("connectors") / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(connector_names())
        raise LoadError(None, f"no built-in connector named {name_or_path!r}; built-in: {known}")
    return path


@dataclass
class ProfileBundle:
    """A loaded profile with its loaded connector."""

    profile: Loaded[Profile]
    connector: Loaded[ConnectorSpec]

    @property
    def credential_names(self) -> tuple[str, str]:
        """Whose credentials file in the state dir serves this profile, first found first: the
        profile's own (credentials/<profile>.json), else its connector's (credentials/<connector>.json)."""
        return self.profile.model.name, self.connector.model.name


def load_profile(path: Path) -> ProfileBundle:
    profile = load_model(path, Profile)
    try:
        connector = load_connector(profile.model.connector, relative_to=path.parent)
    except LoadError as exc:
        if exc.position is None or isinstance(exc, ForeignFile):  # not found, or not a connector at all:
            # point at the profile's key
            message = f"connector {exc.path}: {exc.message}" if exc.path else exc.message
            raise LoadError(profile.position(("connector",)), message) from None
        raise
    return ProfileBundle(profile, merged_connector(profile, connector))


def connection_settings(connector: ConnectorSpec, profile_values: dict[str, str],
                        base_url: str) -> dict[str, str]:
    """Spec defaults, then the profile's values. A setting marked `follows_base_url` (the app host a
    record opens in) and left unset by the profile takes the root of a base URL other than the spec's (a
    customer's own instance). On a loopback base URL, a local emulator that plays every service of the
    CRM (API, sign-in, record pages), every URL-valued setting points at that emulator."""
    import httpx  # ~50 ms to import: loading a profile needs it only for an address

    url = httpx.URL(base_url)
    values = {name: s.default_for(url.host) or "" for name, s in connector.connection.items()}
    values.update({k: v for k, v in profile_values.items() if k != "base_url"})  # the address is apart
    root = f"{url.scheme}://{url.netloc.decode()}"
    if is_loopback(url.host):
        return {k: root if v.startswith(("http://", "https://")) else v for k, v in values.items()}
    if base_url.rstrip("/") != connector.base_url.rstrip("/"):
        values.update({name: root for name, s in connector.connection.items()
                       if s.follows_base_url and name not in profile_values})
    return values


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
