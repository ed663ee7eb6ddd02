"""The streaming upload receiver, fed by a hand-made ASGI receive channel (real parser, real files)."""

import asyncio
import hashlib
from pathlib import Path

import pytest
from starlette.requests import Request

from server.services.errors import RequestTimeout, ServiceError, TooLarge, Unavailable
from server.services.uploads import receive_upload

BOUNDARY = "XyZ"


def multipart(file_bytes: bytes, fields: dict[str, str] | None = None) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in (fields or {}).items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="r.zip"\r\n'
                 f'Content-Type: application/zip\r\n\r\n'.encode() + file_bytes + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request_from(chunks: list[bytes], stall_after: int | None = None) -> Request:
    queue = list(chunks)

    async def receive():
        if stall_after is not None and len(chunks) - len(queue) >= stall_after:
            await asyncio.sleep(3600)
        body = queue.pop(0) if queue else b""
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [
        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]}
    return Request(scope, receive)


def split(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_file_streams_to_disk_with_hash_and_fields(tmp_path):
    payload = bytes(range(256)) * 100
    body = multipart(payload, {"params": "123", "kind": "results"})
    received = asyncio.run(receive_upload(request_from(split(body)), tmp_path / "f.zip", max_bytes=10**6))
    assert (tmp_path / "f.zip").read_bytes() == payload
    assert received.sha256 == hashlib.sha256(payload).hexdigest() and received.size == len(payload)
    assert received.fields == {"params": "123", "kind": "results"} and received.filename == "r.zip"


def test_over_the_limit_stops_while_streaming(tmp_path):
    body = multipart(b"x" * 50_000)
    with pytest.raises(TooLarge):
        asyncio.run(receive_upload(request_from(split(body)), tmp_path / "f.zip", max_bytes=10_000))
    assert not (tmp_path / "f.zip").exists() or (tmp_path / "f.zip").stat().st_size <= 10_000


def test_a_stalled_upload_times_out(tmp_path):
    body = multipart(b"x" * 5000)
    with pytest.raises(RequestTimeout):
        asyncio.run(receive_upload(request_from(split(body), stall_after=2), tmp_path / "f.zip",
                                   max_bytes=10**6, idle_timeout_s=0.2))


def test_too_many_fields_and_no_file_are_refused(tmp_path):
    many = multipart(b"x", {f"f{i}": "v" for i in range(40)})
    with pytest.raises(ServiceError, match="too many form fields"):
        asyncio.run(receive_upload(request_from([many]), tmp_path / "a.zip", max_bytes=10**6))
    no_file = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--{BOUNDARY}--\r\n'.encode()
    with pytest.raises(ServiceError, match="no file"):
        asyncio.run(receive_upload(request_from([no_file]), tmp_path / "b.zip", max_bytes=10**6))


def test_a_full_disk_or_an_unwritable_folder_is_a_503_to_retry(tmp_path):
    """An outage on our side, not the team's fault: 503 with Retry-After (a 500 before)."""
    body = multipart(b"x" * 5000)
    with pytest.raises(Unavailable, match="full") as full:
        asyncio.run(receive_upload(request_from(split(body)), Path("/dev/full"), max_bytes=10**6))
    assert full.value.status_code == 503 and int(full.value.headers["Retry-After"]) > 0
    (tmp_path / "not-a-folder").write_bytes(b"")
    with pytest.raises(Unavailable, match="not writable"):
        asyncio.run(receive_upload(request_from(split(body)), tmp_path / "not-a-folder" / "f.zip", max_bytes=10**6))


@pytest.mark.parametrize("size", [10, 100_000])
def test_a_file_under_another_field_name_says_to_send_it_as_file(tmp_path, size):
    """curl -F results=@x.zip: the team reads the field name to use (was "longer than 65536 bytes")."""
    body = multipart(b"x" * size).replace(b'name="file"', b'name="results"')
    with pytest.raises(ServiceError, match="form field 'file'"):
        asyncio.run(receive_upload(request_from(split(body)), tmp_path / "f.zip", max_bytes=10**6))
