"""`crmsync review`: plan (the same engine calls as `crmsync plan`), load the plan into the review
database, and serve the app on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from engine.catalog import load_profile
from engine.review.app import PushOptions, Review, build_app
from engine.review.db import load_plan, review_path
from engine.store import default_state_dir, now

HOST = "127.0.0.1"  # never another interface: the app is one person's, on their machine


def prepare(profile: Path, source: Path, options: PushOptions) -> Review:
    """The plan made and loaded; the app's state, ready to serve."""
    from engine.dryrun import dry_run

    plan = dry_run(profile, source, base_url=options.base_url, state_dir=options.state_dir,
                   credentials_file=options.credentials_file, team_file=options.team_file,
                   as_user=options.as_user)
    bundle = load_profile(profile)
    path = review_path(options.state_dir or default_state_dir(), bundle.profile.model.name)
    load_plan(path, plan, bundle, {"loaded_at": now()}).close()
    return Review(path, bundle, options, findings=plan.input_findings())


def bind(port: int) -> socket.socket:
    """A listening socket on the loopback address (port 0: any free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    return sock


def address(sock: socket.socket, review: Review) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}/?token={review.keys.token}"


def serve(review: Review, sock: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until stopped (Ctrl-C). No access log: the first request's address holds the token."""
    import uvicorn

    config = uvicorn.Config(build_app(review), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready()
    server.run(sockets=[sock])
