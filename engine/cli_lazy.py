"""The command line's start-up (issue 14): typer makes a click command of every command before it runs
one, reading each function's parameters (its costliest step, most of `crmsync --help`'s own work). The
app here makes only the command that runs; `crmsync --help` lists the others from what the list shows
of them (name, docstring, panel), each made in full only when it runs or its own help is asked for.
And typer's help renderer is loaded without the two rich modules it imports but crmsync never has it use
(`light_help_renderer`), two thirds of its import.

`typer.main.get_command(app)`, as typer's test runner calls it, still makes every command, as before:
tests/test_cli_help.py compares what both ways say, typer's renderer imported as typer imports it.
"""

from __future__ import annotations

import copy
import importlib
import sys
import types
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command, get_command_from_info, get_command_name
from typer.models import CommandInfo


class LazyApp(typer.Typer):
    """A Typer app whose commands are made when asked for (its group is a `LazyGroup`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.lazy_group()(*args, **kwargs)

    def lazy_group(self) -> LazyGroup:
        """The app's group with its callback and sub-apps (`sandbox`), and its commands not yet made."""
        deferred = {command_name(info): info for info in self.registered_commands}
        kept, self.registered_commands = self.registered_commands, []
        try:
            group = get_command(self)
        finally:
            self.registered_commands = kept
        assert isinstance(group, LazyGroup), "LazyApp needs cls=LazyGroup"
        group.defer(deferred, self)
        return group


class LightHelpGroup(TyperGroup):
    """A group whose help is written by typer's renderer loaded as `light_help_renderer` loads it."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        light_help_renderer()
        super().format_help(ctx, formatter)


class LazyGroup(LightHelpGroup):
    """A group whose deferred commands stand as their summaries (a command without parameters: what the
    group's help and typer's did-you-mean read of it) until one is asked for other than to list it."""

    unmade: dict[str, CommandInfo] = {}
    app: typer.Typer | None = None
    listing = False

    def defer(self, deferred: dict[str, CommandInfo], app: typer.Typer) -> None:
        self.unmade, self.app = dict(deferred), app
        summaries = {name: summary(name, info, self.rich_markup_mode) for name, info in deferred.items()}
        self.commands = {**summaries, **self.commands}  # typer lists the app's commands, then its sub-apps

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        info = self.unmade.get(cmd_name)
        if info is None or self.listing:
            return super().get_command(ctx, cmd_name)
        assert self.app is not None
        info = copy.copy(info)
        if info.cls in (None, TyperCommand):  # typer's default (a command's own class is kept)
            info.cls = LightHelpCommand
        made = get_command_from_info(info, pretty_exceptions_short=self.app.pretty_exceptions_short,
                                     rich_markup_mode=self.app.rich_markup_mode)
        self.commands[cmd_name] = made
        del self.unmade[cmd_name]
        return made

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


def command_name(info: CommandInfo) -> str:
    """The name typer gives a command (as typer.main.get_command_from_info does)."""
    assert info.callback is not None
    return info.name or get_command_name(info.callback.__name__)


def summary(name: str, info: CommandInfo, markup_mode: Any) -> TyperCommand:
    """What the group's help shows of a command, as typer.main.get_command_from_info makes it, without
    reading the function's parameters."""
    import inspect

    use_help = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
    return TyperCommand(name=name, help=use_help, short_help=info.short_help, hidden=info.hidden,
                        deprecated=info.deprecated, rich_markup_mode=markup_mode,
                        rich_help_panel=info.rich_help_panel)


class LightHelpCommand(TyperCommand):
    """A command whose help is written by typer's renderer loaded as `light_help_renderer` loads it."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        light_help_renderer()
        super().format_help(ctx, formatter)


RENDERER = "typer.rich_utils"
UNUSED_BY_HELP = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def light_help_renderer() -> None:
    """Import typer's help renderer without rich.markdown and rich.traceback, which are two thirds of its
    import (markdown-it, pygments, attrs) and which it uses only for markdown markup and for pretty
    tracebacks, both off in crmsync: while it is imported each module stands as a placeholder whose class
    is a stand-in that loads the real class when first called or read. Once it is imported the
    placeholders are gone: anything else importing those modules gets the real ones."""
    if RENDERER in sys.modules:
        return
    placeholders = {name: Placeholder(name) for name in UNUSED_BY_HELP if name not in sys.modules}
    sys.modules.update(placeholders)
    try:
        importlib.import_module(RENDERER)
    finally:
        for name, placeholder in placeholders.items():
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]


class Placeholder(types.ModuleType):
    """A module not loaded yet: each name imported from it is a stand-in for that name."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn(name, (), {"module": self.__name__})


class StandIn(type):
    """A class of a module not loaded yet (a class, so that `Markdown | Text` in annotations works):
    called or read, it loads the module and acts as the real class."""

    module: str

    def real(cls) -> Any:
        return getattr(importlib.import_module(cls.module), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls.real(), name)
