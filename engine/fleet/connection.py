"""How crmsync reaches Temporal: its address and namespace, TLS (the system's CAs or a CA file; a client
certificate and key for a server that requires mTLS) and an API key (Temporal Cloud). The API key comes
from CRMSYNC_TEMPORAL_API_KEY only, never from an option: a command line is seen by every user of the
machine (`ps`) and kept in shell histories. No message, log line or workflow holds it (DESIGN.md rule 5)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import CrmsyncError, UsageError
from engine.fleet.model import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.service import TLSConfig

API_KEY_ENV = "CRMSYNC_TEMPORAL_API_KEY"
CONNECT_TIMEOUT = timedelta(seconds=15)  # a server that never answers the handshake: an error, not a hang


class TemporalUnavailable(CrmsyncError):
    """The Temporal server cannot be reached (bad usage: the address, the TLS settings, or the server
    down)."""

    exit_code = 2


@dataclass(frozen=True)
class TemporalConnection:
    address: str  # HOST:PORT of the Temporal frontend
    namespace: str = DEFAULT_NAMESPACE
    tls: bool = False  # asked for by --temporal-tls; implied by a CA, a client certificate or an API key
    ca: Path | None = None  # PEM: the CA that signed the server's certificate (else the system's)
    cert: Path | None = None  # PEM: the client certificate, for mTLS
    key: Path | None = None  # PEM: its private key

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise UsageError("give --temporal-tls-cert FILE and --temporal-tls-key FILE together (the client "
                             "certificate and its private key, for a server that requires mTLS)")

    @staticmethod
    def api_key() -> str | None:
        return os.environ.get(API_KEY_ENV) or None

    def uses_tls(self) -> bool:
        return self.tls or any((self.ca, self.cert, self.key)) or self.api_key() is not None

    def tls_config(self) -> TLSConfig | bool:
        from temporalio.service import TLSConfig

        if not self.uses_tls():
            return False
        if not any((self.ca, self.cert, self.key)):
            return True  # the system's CAs, no client certificate
        return TLSConfig(server_root_ca_cert=pem(self.ca, "--temporal-tls-ca"),
                         client_cert=pem(self.cert, "--temporal-tls-cert"),
                         client_private_key=pem(self.key, "--temporal-tls-key"))

    def how(self) -> str:
        """The namespace and how the server is reached, for messages: never the key itself."""
        how = [w for w, on in (("TLS", self.uses_tls()), ("client certificate", self.cert is not None),
                               (f"API key from {API_KEY_ENV}", self.api_key() is not None)) if on]
        return ", ".join([f"namespace {self.namespace}", *how])


def pem(path: Path | None, option: str) -> bytes | None:
    """A PEM file's bytes, or a clear error naming the option and the file."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in data:
        raise UsageError(f"{option} {path}: not a PEM file (no -----BEGIN line)")
    return data


async def connect(connection: TemporalConnection) -> Client:
    from temporalio.client import Client
    from temporalio.service import RPCError

    tls = connection.tls_config()  # a file that cannot be read is an error before any connection
    key = connection.api_key()
    try:
        return await Client.connect(connection.address, namespace=connection.namespace, tls=tls, api_key=key,
                                    connect_timeout=CONNECT_TIMEOUT)
    except (RuntimeError, RPCError) as exc:
        reason = str(exc).replace(key, "***") if key else str(exc)
        hint = ("; is the server's port TLS? (leave out --temporal-tls and the certificate options for a "
                "plain one)" if tls else "; does the server require TLS? (--temporal-tls)")
        raise TemporalUnavailable(f"--temporal {connection.address}: cannot reach a Temporal server there "
                                  f"({connection.how()}): {reason}{hint}") from None
