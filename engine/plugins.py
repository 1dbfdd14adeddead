"""The plugin manager: built-in default plugins, every module of the `plugins` package (the CRM quirk
plugins), a plugin file a connector names (`plugin: ./quirks.py`, serving that connector only), and
third-party plugins from the `crmsync` entry-point group (skipped when CRMSYNC_NO_ENTRY_POINTS is set, as
tests do)."""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import inspect
import os
import pkgutil
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

from engine import hookspecs
from engine.hookspecs import hookimpl
from engine.transforms import normalize_city, normalize_domain, normalize_email, normalize_state

PLUGIN_PACKAGE = "plugins"


class PluginError(ValueError):
    """A plugin a connector names that cannot serve it; the message names it (the caller says where)."""


def discovered(package: str = PLUGIN_PACKAGE) -> list[str]:
    """The modules of the plugin package, by name (none when the package is not installed)."""
    try:
        found = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        return []
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(getattr(found, "__path__", [])))


class DefaultPlugin:
    """Built-in behaviour, implemented through the same hooks a plugin would use."""

    NORMALIZERS = {
        "domain": normalize_domain, "email": normalize_email, "city": normalize_city,
        "state": normalize_state,
        "casefold": lambda v: str(v).strip().casefold() or None,
        "none": lambda v: str(v).strip() or None,
    }

    @hookimpl(trylast=True)
    def crmsync_normalize_identity(self, connector: Any, object_name: str, part: Any,
                                   value: Any) -> str | None:
        if value is None:
            return None
        return self.NORMALIZERS[part.normalize](value)


class _Manager(pluggy.PluginManager):
    """Counts (un)registrations, so a hook caller resolved once (`first_result`) knows when it is stale."""

    generation = 0

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        self.generation += 1
        return super().register(plugin, name)

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        self.generation += 1
        return super().unregister(plugin, name)


@cache
def manager() -> pluggy.PluginManager:
    pm = _Manager("crmsync")
    pm.add_hookspecs(hookspecs)
    pm.register(DefaultPlugin(), name="crmsync.default")
    for module_name in discovered():
        pm.register(importlib.import_module(module_name), name=module_name)
    if not os.environ.get("CRMSYNC_NO_ENTRY_POINTS"):
        pm.load_setuptools_entrypoints("crmsync")
    pm.check_pending()
    return pm


def hooks() -> Any:
    return manager().hook


HookCall = Callable[..., Any]
_resolved: dict[tuple[str, str | None], tuple[int, HookCall | None]] = {}


def first_result(name: str, connector: str | None = None) -> HookCall | None:
    """A caller of the firstresult hook `name` for values in a hot loop (one call per field of every
    record), or None when no plugin implements it. It takes the hook's arguments by position, in the
    hookspec's order, and calls the implementations as pluggy does (last registered first, each given
    only the arguments it names, the first result that is not None wins) without pluggy's per-call
    machinery; with a wrapper among them it goes through pluggy. Resolved again after any plugin is
    registered or unregistered.

    With `connector` (a connector's name), the implementations of plugins that declare another
    connector (`CRMSYNC_CONNECTOR = "hubspot"` in the plugin) are left out: they would return None."""
    pm = manager()
    generation = getattr(pm, "generation", 0)
    cached = _resolved.get((name, connector))
    if cached is None or cached[0] != generation:
        cached = (generation, _resolve(getattr(pm.hook, name), connector))
        _resolved[(name, connector)] = cached
    return cached[1]


def serves(plugin: Any, connector: str | None) -> bool:
    """Whether `plugin` may answer for `connector`: it declares no connector, or this one."""
    declared = getattr(plugin, "CRMSYNC_CONNECTOR", None)
    return connector is None or declared is None or declared == connector


def _resolve(caller: Any, connector: str | None = None) -> HookCall | None:
    impls = [impl for impl in caller.get_hookimpls() if serves(impl.plugin, connector)]
    if not impls:
        return None
    names = tuple(caller.spec.argnames)
    if any(impl.hookwrapper or impl.wrapper or impl.kwargnames for impl in impls):
        return lambda *args: caller(**dict(zip(names, args, strict=True)))
    order = [(impl.function, _arguments(names, impl.argnames)) for impl in reversed(impls)]
    if all(arguments is None for _, arguments in order) and len(order) <= 2:
        return _direct([function for function, _ in order])

    def call(*args: Any) -> Any:
        for function, arguments in order:
            result = function(*(args if arguments is None else arguments(args)))
            if result is not None:
                return result
        return None

    return call


def _direct(functions: list[HookCall]) -> HookCall:
    """The common cases without a loop: one or two implementations that take every argument."""
    if len(functions) == 1:
        return functions[0]
    first, second = functions

    def call_two(*args: Any) -> Any:
        result = first(*args)
        return result if result is not None else second(*args)

    return call_two


Picker = Callable[[tuple[Any, ...]], tuple[Any, ...]]


def _arguments(spec: tuple[str, ...], names: tuple[str, ...]) -> Picker | None:
    """What pluggy passes an implementation: the values of the arguments it names, in its order (None:
    all of them, in the hookspec's order, as most implementations take them)."""
    if names == spec:
        return None
    where = [spec.index(n) for n in names]
    return lambda args: tuple(args[i] for i in where)


def require(names: list[str]) -> list[tuple[int, str]]:
    """The plugins a connector needs (`plugins: [name]`, modules of the plugin package or plugins
    registered under that name) that are not loaded: (index, why)."""
    pm = manager()
    return [(i, f"no plugin named {name!r} is loaded; loaded: {', '.join(loaded_names()) or 'none'}")
            for i, name in enumerate(names)
            if not pm.has_plugin(name) and not pm.has_plugin(f"{PLUGIN_PACKAGE}.{name}")]


def loaded_names() -> list[str]:
    return sorted(name.removeprefix(f"{PLUGIN_PACKAGE}.") for name, _ in manager().list_name_plugin()
                  if name and not name.startswith(("crmsync.", "connector:")))


_connector_plugins: dict[tuple[Path, str], types.ModuleType] = {}


def load_connector_plugin(path: Path, connector: str) -> Path:
    """Register the plugin file a connector names, serving that connector only (once per process); returns
    what the connector's `plugin_file` must be for the plugin to answer for it. PluginError when it does
    not exist, fails to import or implements a hook that does not exist."""
    key = (path.resolve(), connector)
    if key in _connector_plugins:
        return key[0]
    if not path.is_file():
        raise PluginError(f"plugin file {path} does not exist")
    module = _import_file(path)
    _check_hook_names(module, path)
    served = _serving(module, connector, key[0])
    pm = manager()
    try:
        pm.register(served, name=f"connector:{connector}:{key[0]}")
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(served):
            pm.unregister(served)
        raise PluginError(f"plugin file {path}: {' '.join(str(exc).split())}") from None
    _connector_plugins[key] = served
    return key[0]


def _import_file(path: Path) -> types.ModuleType:
    name = f"crmsync_plugin_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - whatever the plugin's code raises, the user is told where
        raise PluginError(f"plugin file {path} fails to import: {type(exc).__name__}: {exc}") from None
    return module


def _check_hook_names(module: types.ModuleType, path: Path) -> None:
    """A function named like a hook that is none (misspelt) would never be called: refused, marked as a
    hook implementation or not."""
    known = [n for n in dir(hookspecs) if n.startswith("crmsync_")]
    for name in dir(module):
        if name.startswith("crmsync_") and callable(getattr(module, name)) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the hooks are {', '.join(known)}"
            raise PluginError(f"plugin file {path}: {name!r} is not a crmsync hook{hint}")


def _serving(module: types.ModuleType, connector: str, file: Path) -> types.ModuleType:
    """The module with each hook implementation answering only for the connector loaded with it (any
    other, even of the same name, gets None whatever the hook: pluggy calls every implementation of a
    hook that is not firstresult)."""
    served = types.ModuleType(module.__name__)
    served.__dict__.update(module.__dict__)
    served.CRMSYNC_CONNECTOR = connector  # type: ignore[attr-defined]
    for name in dir(module):
        function = getattr(module, name)
        if name.startswith("crmsync_") and callable(function):
            setattr(served, name, _only_for(function, file))
    return served


def _only_for(function: Callable[..., Any], file: Path) -> Callable[..., Any]:
    names = list(inspect.signature(function).parameters)
    at = names.index("connector") if "connector" in names else None

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("connector", args[at] if at is not None and at < len(args) else None)
        if given is not None and getattr(given, "plugin_file", None) != file:
            return None
        return function(*args, **kwargs)

    return call
