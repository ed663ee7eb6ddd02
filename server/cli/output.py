"""What every command shares: the consoles, ``--json`` output, and the one way a domain error ends a command."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console, ConsoleDimensions

from server.services.errors import ServiceError

PIPED_WIDTH = 100_000


class PipeFriendlyConsole(Console):
    """A terminal's own width, but no width when piped (a file, grep, a CI log): rich would assume
    80 columns there and cut tables, wrapping cells or ending them in '…'."""

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)
        return size if self.is_terminal else ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


console = PipeFriendlyConsole()
err_console = PipeFriendlyConsole(stderr=True)


def print_json(data: Any) -> None:
    """``--json``: the data on stdout as indented JSON, whatever it is made of (dicts, lists,
    pydantic models, dataclasses, datetimes), so every command's JSON reads the same way."""
    print(json.dumps(to_jsonable_python(data), indent=2))


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
