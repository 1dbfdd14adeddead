"""The command line as the console script runs it (engine/cli_lazy.py: a command is made only when it runs,
typer's help renderer loaded without rich's markdown and traceback modules) says exactly what typer's
own way says (typer.main.get_command(app), which makes every command first, as typer's test runner
does): every help text, at any width, in colour or not, every usage error, every command's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "profiles" / "salesforce-benefitflow.yaml")

RUN_ALL = """
import contextlib, io, json, sys
from engine.cli import app
import typer.main
eager = sys.argv[1] == "eager"
if eager:
    import typer.rich_utils  # typer's renderer as typer imports it, with rich's markdown and traceback
said = []
for args in json.loads(sys.argv[2]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if eager:
                typer.main.get_command(app).main(args, prog_name="crmsync")
            else:
                app(args, prog_name="crmsync")
        except SystemExit as done:
            code = done.code
    said.append([args, code, out.getvalue(), err.getvalue()])
print(json.dumps(said))
"""


def said(way: str, commands: list[list[str]], **env: str) -> list[list[object]]:
    """What each command line says (args, exit code, stdout, stderr), run one after another in a fresh
    interpreter made `way`."""
    done = subprocess.run([sys.executable, "-c", RUN_ALL, way, json.dumps(commands)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def command_names() -> list[list[str]]:
    import typer.main

    from engine.cli import app

    group = typer.main.get_command(app)
    return [[name] for name in group.list_commands(None)]  # type: ignore[attr-defined,arg-type]


@pytest.mark.parametrize("env", [{"COLUMNS": "80"}, {"COLUMNS": "60", "FORCE_COLOR": "1"},
                                 {"COLUMNS": "132", "NO_COLOR": "1"}], ids=["80", "60-colour", "132"])
def test_every_help_and_usage_error_is_the_same_either_way(env: dict[str, str]) -> None:
    commands = [[], ["--help"], *[[*name, "--help"] for name in command_names()],
                ["sandbox", "serve", "--help"], ["valdate", PROFILE], ["nosuch"], ["validate"],
                ["plan", PROFILE, "--format", "xml"]]
    lazily, eagerly = said("lazy", commands, **env), said("eager", commands, **env)
    assert len(lazily) == len(eagerly) == len(commands)
    for lazy, eager in zip(lazily, eagerly, strict=True):
        assert lazy == eager, lazy[0]
    top = str(next(s for s in lazily if s[0] == ["--help"])[2])
    assert all(name[0] in top for name in command_names())  # every command listed, with its help
    if env["COLUMNS"] == "132":
        assert "validate    Check a profile (and its connector) before any data is read." in top


def test_commands_run_the_same_either_way() -> None:
    commands = [["validate", PROFILE, "--format", "json"], ["connectors", "--format", "json"],
                ["schema", "team"], ["--version"]]
    lazily = said("lazy", commands)
    assert lazily == said("eager", commands)
    assert json.loads(str(lazily[0][2]))["valid"] is True and lazily[0][1] == 0


def test_the_stand_ins_for_rich_markdown_and_traceback_are_the_real_classes_once_used() -> None:
    probe = """
import sys
from engine.cli_lazy import light_help_renderer
light_help_renderer()
import typer.rich_utils as renderer
from typer.models import DeveloperExceptionConfig
assert "rich.markdown" not in sys.modules and "rich.traceback" not in sys.modules
shown = renderer._make_rich_text(text="**bold**", markup_mode="markdown")
import rich.markdown, rich.traceback
assert type(shown) is rich.markdown.Markdown, type(shown)
assert type(rich.markdown).__name__ == "module" and rich.markdown.Markdown is not renderer.Markdown
assert renderer.Traceback.from_exception.__func__ is rich.traceback.Traceback.from_exception.__func__
try:
    raise ValueError("x")
except ValueError as exc:
    config = DeveloperExceptionConfig(pretty_exceptions_enable=True, pretty_exceptions_show_locals=False)
    assert type(renderer.get_traceback(exc, config, internal_dir_names=[])) is rich.traceback.Traceback
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
