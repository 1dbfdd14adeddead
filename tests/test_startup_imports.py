"""Start-up: a command imports what it does (issue 14). `import engine.cli` and `crmsync --help` load
none of the heavy libraries; `crmsync validate` loads the languages (pydantic, YAML, Jinja) but not the
HTTP client, the emulators, the phone and domain parsers or fuzzy matching. (The CPU figures are
benchmarks/startup.py's; a test checks what is imported, never how long it takes.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORK_AND_DATA = ["httpx", "httpcore", "phonenumbers", "tldextract", "rapidfuzz", "jsonschema", "starlette",
                    "uvicorn", "authlib", "anyio", "engine.client", "engine.sandbox"]
LANGUAGES = ["pydantic", "jinja2", "ruamel.yaml", "jsonpath_ng", "pluggy", "engine.connector",
             "engine.profile", "engine.catalog"]
TABLES = ["rich.table"]  # typer's --help prints with it, as `connectors` and `log` do


def imported_after(code: str) -> set[str]:
    """The modules of NETWORK_AND_DATA, LANGUAGES and TABLES loaded once `code` has run in a fresh
    interpreter."""
    watched = NETWORK_AND_DATA + LANGUAGES + TABLES
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def command(*args: str) -> str:
    """Run `crmsync ARGS` in-process, its exit swallowed, its output sent to /dev/null."""
    return ("import contextlib, io, sys\n"
            f"sys.argv = ['crmsync', *{list(args)!r}]\n"
            "from engine.cli import app\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    app()\n")


def test_importing_the_command_line_loads_nothing_heavy() -> None:
    assert imported_after("import engine.cli") == set()


def test_help_loads_nothing_heavy() -> None:
    assert imported_after(command("--help")) <= set(TABLES)


def test_validate_loads_the_languages_but_not_the_network_or_data_libraries() -> None:
    loaded = imported_after(command("validate", str(ROOT / "profiles" / "salesforce-benefitflow.yaml")))
    assert loaded.isdisjoint(NETWORK_AND_DATA), sorted(loaded & set(NETWORK_AND_DATA))
    assert {"pydantic", "engine.connector", "ruamel.yaml"} <= loaded  # it did validate
