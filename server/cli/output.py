"""What every command shares: the consoles, and the one way a domain error ends a command."""

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from server.services.errors import ServiceError

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """One red line on stderr and exit code 1."""
    err_console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def service_errors() -> Iterator[None]:
    """A ServiceError (local, or a remote API's refusal) becomes one red line and exit code 1."""
    try:
        yield
    except ServiceError as err:
        fail(err.message)
