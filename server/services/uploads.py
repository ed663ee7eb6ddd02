"""Receive a multipart upload by streaming it straight to disk.

Starlette's own form parsing spools the whole body before the route runs, so a size limit could
only be checked afterwards; here the body is parsed as it arrives (python-multipart's streaming
parser), hashed on the fly, and refused with 413 the moment it passes the limit.
"""

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from server.services.errors import RequestTimeout, ServiceError, TooLarge

MAX_FIELDS = 32
MAX_FIELD_BYTES = 64 * 1024


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
        self._hash = hashlib.sha256()
        self._file = None
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
            if self._file is not None:
                raise ServiceError("send one file per upload")
            self.result.filename = options.get(b"filename", b"upload.zip").decode("utf-8", "replace")
            self._file = open(self.file_path, "wb")
        elif len(self.result.fields) >= MAX_FIELDS:
            raise ServiceError(f"too many form fields (at most {MAX_FIELDS})")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._name == "file":
            self.result.size += len(chunk)
            if self.result.size > self.max_bytes:
                raise TooLarge(f"upload is larger than the limit of {self.max_bytes} bytes")
            self._hash.update(chunk)
            self._file.write(chunk)
        else:
            self._value += chunk
            if len(self._value) > MAX_FIELD_BYTES:
                raise ServiceError(f"form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def _part_end(self) -> None:
        if self._name != "file" and self._name:
            self.result.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self.result.sha256 = self._hash.hexdigest()


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
        parser.finalize()
    except MultipartParseError as err:
        raise ServiceError(f"the multipart body is malformed: {err}") from err
    finally:
        collector.close()
    if collector.result.filename is None:
        raise ServiceError("the upload has no file: send it in a multipart field named 'file'")
    return collector.result
