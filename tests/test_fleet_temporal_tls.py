"""TLS and an API key on the connection to Temporal (Temporal Cloud, mTLS servers): the options of every
command that connects, tried against a real (plain) dev server: TLS to it is a clear exit 2, not a
traceback or a hang; a certificate file that cannot be read is named; the API key, read from
CRMSYNC_TEMPORAL_API_KEY only, is in no output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleetkit import ROOT, crmsync
from tests.pushkit import PROFILES
from tests.temporalserver import TemporalServer, temporal_running

KEY = "tc-apikey-7f3a9c51e2"  # what a Temporal Cloud API key would be: never shown
ENQUEUE = ["enqueue", str(PROFILES["hubspot"]), "--source", str(ROOT / "examples" / "data"),
           "--base-url", "https://api.hubapi.com"]
COMMANDS = {"enqueue": ENQUEUE, "schedule-list": ["schedule", "--list"]}
CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"


@pytest.fixture(scope="module")
def temporal() -> Iterator[TemporalServer]:
    with temporal_running() as server:
        yield server


@pytest.mark.parametrize("command", COMMANDS)
def test_tls_to_a_plain_server_is_bad_usage_saying_so(command: str, temporal: TemporalServer,
                                                      tmp_path: Path) -> None:
    ran = crmsync(*COMMANDS[command], "--temporal", temporal.address, "--temporal-tls", home=tmp_path,
                  timeout=60)
    assert ran.returncode == 2, ran.stderr
    assert f"--temporal {temporal.address}: cannot reach a Temporal server there (namespace default, TLS)" \
        in ran.stderr
    assert "is the server's port TLS?" in ran.stderr and "Traceback" not in ran.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_an_api_key_is_sent_over_tls_and_never_shown(command: str, temporal: TemporalServer,
                                                     tmp_path: Path) -> None:
    ran = crmsync(*COMMANDS[command], "--temporal", temporal.address, home=tmp_path, timeout=60,
                  env={"CRMSYNC_TEMPORAL_API_KEY": KEY})
    assert ran.returncode == 2, ran.stderr  # an API key means TLS, which the plain dev server lacks
    assert "(namespace default, TLS, API key from CRMSYNC_TEMPORAL_API_KEY)" in ran.stderr
    assert KEY not in ran.stdout + ran.stderr


def test_a_worker_with_an_api_key_never_shows_it(temporal: TemporalServer, pg_url: str,
                                                 tmp_path: Path) -> None:
    ran = crmsync("worker", "--temporal", temporal.address, "--state-url", pg_url, home=tmp_path,
                  timeout=60, env={"CRMSYNC_TEMPORAL_API_KEY": KEY})
    assert ran.returncode == 2 and "cannot reach a Temporal server there" in ran.stderr, ran.stderr
    assert KEY not in ran.stdout + ran.stderr


@pytest.mark.parametrize("command", ["worker", "enqueue", "schedule"])
def test_the_help_names_the_tls_options_and_where_the_key_comes_from_never_the_key(
        command: str, tmp_path: Path) -> None:
    shown = crmsync(command, "--help", home=tmp_path, env={"CRMSYNC_TEMPORAL_API_KEY": KEY, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    for option in ("--temporal-tls ", "--temporal-tls-ca", "--temporal-tls-cert", "--temporal-tls-key",
                   "--temporal-namespace", "CRMSYNC_TEMPORAL_API_KEY"):
        assert option in shown.stdout, (command, option)
    assert KEY not in shown.stdout


@pytest.mark.parametrize("command", ["worker", "enqueue", "schedule-list"])
def test_a_certificate_file_that_cannot_be_read_is_named(command: str, tmp_path: Path) -> None:
    args = ["worker"] if command == "worker" else COMMANDS[command]
    missing = tmp_path / "nowhere" / "client.pem"
    key = tmp_path / "client.key"
    key.write_text(PRIVATE_KEY)
    ran = crmsync(*args, "--temporal", "127.0.0.1:7233", "--temporal-tls-cert", str(missing),
                  "--temporal-tls-key", str(key), home=tmp_path, timeout=60)
    assert ran.returncode == 2, ran.stderr
    assert f"--temporal-tls-cert {missing}: cannot read it: No such file or directory" in ran.stderr


def test_a_client_certificate_without_its_key_and_a_file_not_pem_are_bad_usage(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text(CERT)
    alone = crmsync("schedule", "--list", "--temporal", "127.0.0.1:7233", "--temporal-tls-cert", str(cert),
                    home=tmp_path, timeout=60)
    assert alone.returncode == 2
    assert "give --temporal-tls-cert FILE and --temporal-tls-key FILE together" in alone.stderr
    not_pem = tmp_path / "ca.der"
    not_pem.write_bytes(b"\x30\x82\x01\x0a")
    ran = crmsync("schedule", "--list", "--temporal", "127.0.0.1:7233", "--temporal-tls-ca", str(not_pem),
                  home=tmp_path, timeout=60)
    assert ran.returncode == 2 and f"--temporal-tls-ca {not_pem}: not a PEM file" in ran.stderr


def test_the_certificate_files_reach_the_sdk_as_its_tls_config(tmp_path: Path) -> None:
    from engine.fleet.connection import TemporalConnection

    ca, cert, key = tmp_path / "ca.pem", tmp_path / "client.pem", tmp_path / "client.key"
    ca.write_text(CERT.replace("fake", "ca"))
    cert.write_text(CERT)
    key.write_text(PRIVATE_KEY)
    tls = TemporalConnection("temporal.example:7233", "acme.a1b2c", ca=ca, cert=cert, key=key).tls_config()
    assert not isinstance(tls, bool)
    assert (tls.server_root_ca_cert, tls.client_cert, tls.client_private_key) == \
        (ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    assert TemporalConnection("temporal:7233", tls=True).tls_config() is True  # the system's CAs
    assert TemporalConnection("temporal:7233").tls_config() is False


def test_a_namespace_the_server_lacks_is_bad_usage_not_a_traceback(temporal: TemporalServer,
                                                                   tmp_path: Path) -> None:
    ran = crmsync("schedule", "--list", "--temporal", temporal.address, "--temporal-namespace", "nosuch",
                  home=tmp_path, timeout=60)
    assert ran.returncode == 2, ran.stderr
    assert "Temporal refused the request: Namespace nosuch is not found" in ran.stderr
    assert "Traceback" not in ran.stderr
    fine = crmsync("schedule", "--list", "--temporal", temporal.address, "--temporal-namespace", "default",
                   home=tmp_path, timeout=60)
    assert fine.returncode == 0 and "no crmsync schedules" in fine.stdout, fine.stderr
