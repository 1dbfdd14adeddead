"""The plugin manager: built-in default plugins, the CRM quirk plugins in plugins/, and third-party
plugins from the `crmsync` entry-point group (skipped when CRMSYNC_NO_ENTRY_POINTS is set, as tests do)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from functools import cache
from typing import Any

import pluggy

from engine import hookspecs
from engine.hookspecs import hookimpl
from engine.transforms import normalize_city, normalize_domain, normalize_email, normalize_state

BUILTIN_PLUGINS = ("plugins.hubspot", "plugins.salesforce", "plugins.dynamics")


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
    for module_name in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        pm.register(module, name=module_name)
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
