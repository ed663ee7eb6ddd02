"""Open-loop HTTP/1.1 GET load over keep-alive connections, in plain asyncio.

Open loop: request *i* is sent at ``i / rate`` seconds whatever happened to the ones before, and
its latency counts from that scheduled moment, so a server that falls behind is charged for the
queue it builds (no coordinated omission).

Why not httpx: its async pool scans every connection for every request, so with a few hundred
requests in flight the client, not the server, sets the latency. This does the least HTTP/1.1 a
JSON API needs (Content-Length bodies, keep-alive) and nothing else.
"""

import asyncio
from urllib.parse import urlsplit

TIMEOUT_S = 30.0


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.used = reader, writer, False

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        if "content-length" not in headers:
            raise ValueError(f"no Content-Length in the response: {lines[0]}")
        await self.reader.readexactly(int(headers["content-length"]))
        self.used = True
        return int(lines[0].split(" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


async def open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """(latencies in seconds, failed requests) of ``rate × seconds`` GETs of ``url``.

    A failed request (not 200, an error, a timeout) counts with the timeout as its latency."""
    parts = urlsplit(url)
    request = f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
    loop = asyncio.get_running_loop()
    idle: list[_Connection] = []
    latencies: list[float] = []
    failed = 0

    async def attempt() -> int:
        conn = idle.pop() if idle else _Connection(*await asyncio.open_connection(parts.hostname, parts.port))
        try:
            status = await conn.get(request.encode())
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
            if conn.used:  # the server closed an idle keep-alive connection: not a failed request
                return await attempt()
            raise
        idle.append(conn)
        return status

    async def one(at: float) -> None:
        nonlocal failed
        await asyncio.sleep(at - loop.time())
        try:
            status = await asyncio.wait_for(attempt(), TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            status = 0
        if status == 200:
            latencies.append(loop.time() - at)
        else:
            failed += 1
            latencies.append(TIMEOUT_S)

    start = loop.time() + 0.1
    await asyncio.gather(*(one(start + i / rate) for i in range(round(rate * seconds))))
    for conn in idle:
        conn.close()
    return latencies, failed
