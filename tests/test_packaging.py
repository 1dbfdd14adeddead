"""crmsync works as a user installs it: a non-editable `pip install .` into a fresh virtualenv, run from
another folder, finds its built-in connectors and profiles inside the installed package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_pip_install_gives_a_working_crmsync(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python, crmsync = venv / "bin" / "python", venv / "bin" / "crmsync"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = run([*pip, str(ROOT)], cwd=elsewhere, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    where = run([str(python), "-c", "import engine, engine.catalog as c; print(engine.__file__); "
                 "print(c.builtin_dir('profiles'))"], cwd=elsewhere)
    assert where.returncode == 0, where.stderr
    package_file, profiles_dir = (Path(line) for line in where.stdout.splitlines())
    assert venv in package_file.parents, "the installed package, not the source checkout, must be imported"
    assert venv in profiles_dir.parents, "built-in profiles must ship inside the package"

    listed = run([str(crmsync), "connectors", "--format", "json"], cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    expected = sorted(p.stem for p in (ROOT / "connectors").glob("*.yaml"))
    assert [c["name"] for c in json.loads(listed.stdout)] == expected

    shipped = sorted(profiles_dir.glob("*.yaml"))
    assert [p.name for p in shipped] == sorted(p.name for p in (ROOT / "profiles").glob("*.yaml"))
    for profile in shipped:
        checked = run([str(crmsync), "validate", str(profile), "--format", "json"], cwd=elsewhere)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert json.loads(checked.stdout)["valid"] is True

    review = package_file.parent / "review"  # the review app's templates and vendored htmx ship too
    for shipped_file in ("templates/base.html", "templates/plan.html", "static/htmx.min.js",
                         "static/htmx.LICENSE", "static/review.css"):
        assert (review / shipped_file).is_file(), shipped_file

    schema = run([str(crmsync), "schema", "connector"], cwd=elsewhere)
    assert schema.stdout == (ROOT / "docs" / "schema" / "connector.schema.json").read_text(encoding="utf-8")

    broken = elsewhere / "broken.yaml"
    broken.write_text("name: p\nconnector: hubspot\nstreams: {e: [1, 2}\n", encoding="utf-8")
    failed = run([str(crmsync), "validate", str(broken)], cwd=elsewhere)
    assert failed.returncode == 2 and failed.stderr.startswith(f"{broken}:3:19: malformed YAML")
    assert "Traceback" not in failed.stderr

    page = elsewhere / "plan.html"  # the HTML report's template, stylesheet and script ship too
    planned = run([str(crmsync), "plan", str(profiles_dir / "hubspot-benefitflow.yaml"), "--source",
                   str(profiles_dir.parent / "examples" / "data"), "--format", "html", "--out", str(page)],
                  cwd=elsewhere)
    assert planned.returncode == 1 and "Traceback" not in planned.stderr  # 1: the data's invalid records
    text = page.read_text(encoding="utf-8")
    assert "<style>:root" in text and "(function ()" in text
