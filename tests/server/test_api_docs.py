"""/docs and /redoc work on a server with no internet: their scripts and styles come from this server."""

import re
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from server.config import get_settings
from server.main import create_app


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCHALLENGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SRCHALLENGE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


@pytest.mark.parametrize(("path", "kinds"), [("/docs", {"js", "css"}), ("/redoc", {"js"})])
def test_docs_pages_load_their_assets_from_this_server(client, path, kinds):
    page = client.get(path)
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    urls += re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text)
    assert urls
    assert [url for url in urls if urlparse(url).netloc] == []
    assets = [url for url in urls if url.endswith((".js", ".css"))]
    assert {url.rsplit(".", 1)[1] for url in assets} == kinds
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert client.get("/openapi.json").status_code == 200
