"""/readyz tells a load balancer (and compose) whether the API can take uploads: database and broker.

Stopping redis must turn it to 503, so this test runs its own stack, not the shared one.
"""

import httpx
import pytest

from bench.stack import start_stack


@pytest.fixture
def own_stack(tmp_path):
    running = start_stack(tmp_path, image_count=1)
    yield running
    running.close()


def test_readyz_follows_the_broker(own_stack):
    ready = httpx.get(f"{own_stack.url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": True, "broker": True}
    own_stack.stop("redis")
    not_ready = httpx.get(f"{own_stack.url}/readyz", timeout=30)
    assert not_ready.status_code == 503
    assert not_ready.json() == {"ready": False, "database": True, "broker": False}
    assert httpx.get(f"{own_stack.url}/healthz", timeout=10).status_code == 200
