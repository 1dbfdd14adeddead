"""A PostgreSQL server the tests start themselves: initdb into a temp dir, pg_ctl start on a free port
of 127.0.0.1, one database per pytest worker and a schema per test, stopped at the end. Where the
server's binaries are absent the tests that need it are skipped with the reason, and fail when CI is
set (CI must run them)."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

OS_USER = "postgres"  # initdb refuses to run as root; Debian's package makes this user
DB_USER = "crmsync"


def server_bin() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl, else the ones on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run on CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    bin: Path
    root: Path
    port: int = 0
    database: str = "postgres"
    counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            if not _user_exists(OS_USER):
                unavailable(f"running as root and there is no {OS_USER} user for initdb")
            shutil.chown(self.root, OS_USER)
        made = self.run("initdb", "-D", str(self.data), "-U", DB_USER, "-A", "trust", "-E", "UTF8",
                        "--no-sync")
        if made.returncode:
            raise RuntimeError(f"initdb failed: {made.stderr}")
        self.port = free_port()
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        started = self.run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60",
                           "-l", str(self.root / "server.log"), "start")
        if started.returncode:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}{log}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def url(self, database: str | None = None, schema: str | None = None) -> str:
        url = f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{database or self.database}"
        return url + (f"?options={quote(f'-csearch_path={schema}')}" if schema else "")

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.database = name

    def fresh_schema(self) -> str:
        """A URL of an empty schema of its own: a store opened on it starts from nothing."""
        import psycopg

        name = f"t{os.getpid()}_{next(self.counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return self.url(schema=name)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def start_server(worker: str) -> Server:
    bin_dir = server_bin()
    if bin_dir is None:
        unavailable("the PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
                    "apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="crmsync-pg-"))
    root.chmod(0o755)
    server = Server(bin_dir, root)  # type: ignore[arg-type]
    server.start()
    server.create_database(f"crmsync_{worker}")
    return server
