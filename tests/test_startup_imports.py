"""Start-up: a command imports what it does (issue 14). `import engine.cli` and `crmsync --help` load
none of the heavy libraries, nor does any command's own `--help` (the fleet's, review's and runs' among
them: no Temporal SDK, web framework, PostgreSQL driver or HTTP client); `crmsync validate` loads the
languages (pydantic, Jinja) but not the HTTP client, the emulators, the phone and domain parsers or fuzzy
matching, and the YAML parser only for a file not in the cache of loaded specs. (The CPU figures are
benchmarks/startup.py's; a test checks what is imported, never how long it takes.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETWORK_AND_DATA = ["httpx", "httpcore", "phonenumbers", "tldextract", "rapidfuzz", "jsonschema", "starlette",
                    "uvicorn", "authlib", "anyio", "engine.client", "engine.sandbox", "temporalio", "psycopg",
                    "asyncio", "sqlite3", "engine.state", "engine.fleet.client", "engine.review.app"]
LANGUAGES = ["pydantic", "jinja2", "ruamel.yaml", "jsonpath_ng", "pluggy", "engine.connector",
             "engine.profile", "engine.catalog"]
TABLES = ["rich.table"]  # typer's --help prints with it, as `connectors` and `log` do
HELP_UNUSED = ["rich.markdown", "rich.traceback"]  # typer's help renderer imports them, never uses them here


def imported_after(code: str, **env: str) -> set[str]:
    """The modules of NETWORK_AND_DATA, LANGUAGES, TABLES and HELP_UNUSED loaded once `code` has run in a
    fresh interpreter (with `env` added to the environment)."""
    watched = NETWORK_AND_DATA + LANGUAGES + TABLES + HELP_UNUSED
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})
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


@pytest.mark.parametrize("name", ["validate", "plan", "push", "pull", "review", "runs", "retry", "worker",
                                  "enqueue", "schedule", "sandbox", "sandbox serve"])
def test_a_commands_help_loads_nothing_heavy(name: str) -> None:
    # pydantic: typer reads the group's own options (--version) through pydantic before any subcommand
    assert imported_after(command(*name.split(), "--help")) <= {*TABLES, "pydantic"}


def test_validate_loads_the_languages_but_not_the_network_or_data_libraries(tmp_path: Path) -> None:
    validate = command("validate", str(ROOT / "profiles" / "salesforce-benefitflow.yaml"))
    cache = str(tmp_path / "cache")
    first = imported_after(validate, CRMSYNC_CACHE_DIR=cache)
    assert first.isdisjoint(NETWORK_AND_DATA), sorted(first & set(NETWORK_AND_DATA))
    assert {"pydantic", "engine.connector", "ruamel.yaml"} <= first  # it did validate, parsing the files
    again = imported_after(validate, CRMSYNC_CACHE_DIR=cache)
    assert again.isdisjoint(NETWORK_AND_DATA), sorted(again & set(NETWORK_AND_DATA))
    # the findings came from the cache (engine/validatecache.py): no model, template or path language
    assert again.isdisjoint({"engine.connector", "engine.profile", "jinja2", "jsonpath_ng", "ruamel.yaml"}), \
        sorted(again)


def test_the_default_bearer_send_spec_made_without_validation_is_the_validated_one() -> None:
    from engine.connector import BEARER, SendSpec

    validated = SendSpec(header="Authorization", prefix="Bearer ")
    assert validated == BEARER and BEARER.model_fields_set == validated.model_fields_set
