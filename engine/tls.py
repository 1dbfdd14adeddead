"""The TLS context every HTTP client of the process shares."""

from __future__ import annotations

import functools
import os
import ssl

import httpx


def tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process, as httpx would make it (certifi's CAs, or
    SSL_CERT_FILE / SSL_CERT_DIR): each new one costs ~30 ms of loading CA certificates."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()
