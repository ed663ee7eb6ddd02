"""Request bodies are read only from a caller whose token passes, and only up to a size.

FastAPI reads (and parses) a route's body before it solves the route's dependencies, so a token
check written as a dependency came after the body, however large: 300 MiB posted without a token
to an admin route were read into memory (1.9 GiB of it) before the 401, while /healthz waited.
A route of a router built with ``route_class=TokenFirstRoute`` that takes a body runs its token
dependency first (once more, before FastAPI runs it again: one indexed lookup), then reads the
body itself, up to ``SRCHALLENGE_MAX_JSON_BODY_BYTES`` (413 beyond, from Content-Length alone or
as the bytes arrive), and hands it to FastAPI. A route that reads its own stream, as the upload
route does with its own limits, declares no body and is left alone.
"""

from collections.abc import Callable, Coroutine
from contextlib import closing
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive

from server.config import get_settings
from server.db import get_sessionmaker
from server.deps import current_organizer, current_team
from server.services.errors import ServiceError, TooLarge

TOKEN_CHECKS = (current_team, current_organizer)


class TokenFirstRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        checks = [dependency.call for dependency in self.dependant.dependencies if dependency.call in TOKEN_CHECKS]

        async def token_then_body(request: Request) -> Response:
            for check in checks:
                await run_in_threadpool(_check_token, check, request)
            body = await read_capped(request, get_settings().max_json_body_bytes)
            return await handler(Request(request.scope, _replay(body, request.receive)))

        return token_then_body


def _check_token(check: Callable, request: Request) -> None:
    with closing(get_sessionmaker()()) as session:
        check(request, session)


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as the declared or the received size passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is {int(declared):,} bytes; the limit is {limit:,}")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise TooLarge(f"the request body is larger than the limit of {limit:,} bytes")
    except ClientDisconnect:
        raise ServiceError("the request body did not arrive whole") from None
    return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as one message; then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
