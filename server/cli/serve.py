"""``srchallenge serve``: the API and web pages."""

import errno
import socket

from server.cli.db import prepare_database
from server.cli.output import fail


def check_port_free(host: str, port: int) -> None:
    """Bind once the way uvicorn will (SO_REUSEADDR), so a busy port is one line naming it, not an errno."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        reason = "is in use (another server?)" if err.errno == errno.EADDRINUSE else f"cannot be used ({err.strerror})"
        fail(f"port {port} on {host} {reason}: stop that server or pass --port")


def serve(host: str = "127.0.0.1", port: int = 8000, migrate: bool = True):
    """Run the API and web pages (uvicorn)."""
    import uvicorn

    from server.main import create_app

    check_port_free(host, port)
    if migrate:
        prepare_database()
    uvicorn.run(create_app(), host=host, port=port, log_level="info", timeout_graceful_shutdown=30)
