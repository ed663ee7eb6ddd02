"""Receive a multipart upload by streaming it straight to disk.

Starlette's own form parsing spools the whole body before the route runs, so a size limit could
only be checked afterwards; here the body is parsed as it arrives (python-multipart's streaming
parser), hashed on the fly, and refused with 413 the moment it passes the limit.

Parsing runs on the event loop; every file call (create, write, fsync) runs in a worker thread of
its own limiter, so a slow disk stalls neither the loop nor the database threads, and uploads keep
flowing while a burst waits for the database. The file and its folder are fsynced before the
upload counts as received: a 202 means the zip is on disk. A disk that refuses (full, read-only,
missing permission) is an outage on our side: 503 with Retry-After.
"""

import asyncio
import errno
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.lowlevel
import anyio.to_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from server.services.errors import RequestTimeout, ServiceError, TooLarge, Unavailable

MAX_FIELDS = 32
MAX_FIELD_BYTES = 64 * 1024
FLUSH_BYTES = 256 * 1024
FILE_IO_THREADS = 16
_file_io_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("file_io_limiter")
log = logging.getLogger("srchallenge.api")


def _limiter() -> anyio.CapacityLimiter:
    try:
        return _file_io_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(FILE_IO_THREADS)
        _file_io_limiter.set(limiter)
        return limiter


async def _file_call(func, *args):
    try:
        return await anyio.to_thread.run_sync(func, *args, limiter=_limiter())
    except OSError as err:
        log.error("storing an upload failed: %s", err)
        full = err.errno in (errno.ENOSPC, errno.EDQUOT)
        raise Unavailable("the server cannot store uploads right now (its disk is "
                          f"{'full' if full else 'not writable'}); send it again later", retry_after_s=60) from None


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    sha256: str = ""


class _PartCollector:
    """Callbacks for MultipartParser: form fields into memory (capped), the file part to disk."""

    def __init__(self, file_path: Path, max_bytes: int):
        self.file_path = file_path
        self.max_bytes = max_bytes
        self.result = ReceivedUpload()
        self.pending = bytearray()  # file bytes parsed but not yet written (see flush)
        self._hash = hashlib.sha256()
        self._has_file = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self._headers, self._name, self._value = {}, None, bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file":
            if self._has_file:
                raise ServiceError("send one file per upload")
            self._has_file = True
            self.result.filename = options.get(b"filename", b"upload.zip").decode("utf-8", "replace")
        elif b"filename" in options:
            raise ServiceError(f"send the zip as form field 'file' (it came as form field {self._name!r})")
        elif len(self.result.fields) >= MAX_FIELDS:
            raise ServiceError(f"too many form fields (at most {MAX_FIELDS})")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._name == "file":
            self.result.size += len(chunk)
            if self.result.size > self.max_bytes:
                raise TooLarge(f"upload is larger than the limit of {self.max_bytes} bytes")
            self._hash.update(chunk)
            self.pending += chunk
        else:
            self._value += chunk
            if len(self._value) > MAX_FIELD_BYTES:
                raise ServiceError(f"form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes "
                                   "(send the zip as form field 'file')")

    def _part_end(self) -> None:
        if self._name != "file" and self._name:
            self.result.fields[self._name] = self._value.decode("utf-8", "replace")

    def finish(self) -> None:
        self.result.sha256 = self._hash.hexdigest()


class _DiskFile:
    """The upload's file, opened on first write; every method is called in a worker thread."""

    def __init__(self, path: Path):
        self.path = path
        self._file = None

    def write(self, data: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")
        self._file.write(data)

    def sync_and_close(self) -> None:
        """Durable before it is recorded: the file's bytes, then its name in the folder."""
        self.write(b"")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.close()
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def receive_upload(request: Request, file_path: Path, max_bytes: int,
                         idle_timeout_s: float = 30.0) -> ReceivedUpload:
    """Stream the request's multipart body; the part named ``file`` goes to ``file_path``.

    A client that sends nothing for ``idle_timeout_s`` (a slow-loris upload) gets a 408.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise ServiceError("send the upload as multipart/form-data with a field named 'file'")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MAX_FIELDS * MAX_FIELD_BYTES:
        raise TooLarge(f"upload is larger than the limit of {max_bytes} bytes")
    collector = _PartCollector(file_path, max_bytes)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())
    disk = _DiskFile(file_path)
    try:
        chunks = request.stream().__aiter__()
        while True:
            try:
                async with asyncio.timeout(idle_timeout_s):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise RequestTimeout(f"the upload stalled for {idle_timeout_s:g} s; send it again") from None
            parser.write(chunk)
            if len(collector.pending) >= FLUSH_BYTES:
                await _file_call(disk.write, bytes(collector.pending))
                collector.pending.clear()
        parser.finalize()
        if collector.result.filename is None:
            raise ServiceError("the upload has no file: send it in a multipart field named 'file'")
        await _file_call(disk.write, bytes(collector.pending))
        await _file_call(disk.sync_and_close)
    except MultipartParseError as err:
        raise ServiceError(f"the multipart body is malformed: {err}") from err
    finally:
        collector.finish()
        await anyio.to_thread.run_sync(disk.close, limiter=_limiter())
    return collector.result
