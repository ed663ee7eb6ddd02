"""The per-team cap on concurrent uploads holds across API processes (two UploadSlots on one real
redis-server stand for two processes), lets go of a dead process's uploads, and fails open."""

import asyncio
import socket

import pytest

from bench.stack import free_port
from server.services.errors import TooMany
from server.services.upload_slots import UploadSlots


def run(coroutine):
    return asyncio.run(coroutine)


def test_two_api_processes_share_a_teams_cap(redis_url):
    """Before: each API process counted its own, so N processes let a team stream N × the cap."""
    async def scenario():
        first, second = UploadSlots(2, redis_url), UploadSlots(2, redis_url)
        async with first.hold(7, "upload-1") as before_a:
            async with second.hold(7, "upload-2") as before_b:
                with pytest.raises(TooMany):
                    async with first.hold(7, "upload-3"):
                        pass
                async with second.hold(8, "upload-4") as other_team:  # another team's cap is its own
                    assert other_team == []
            async with second.hold(7, "upload-5") as after_one_ended:
                pass
        return before_a, before_b, after_one_ended

    assert run(scenario()) == ([], ["upload-1"], ["upload-1"])  # the other process's upload is seen (quota)


def test_the_uploads_of_a_process_that_died_stop_counting(redis_url):
    async def scenario():
        dead, alive = UploadSlots(1, redis_url, lease_s=0.4), UploadSlots(1, redis_url, lease_s=0.4)
        assert await dead._take_shared("srchallenge:upload-slots:7", "abandoned") == []  # taken, never renewed
        with pytest.raises(TooMany):
            async with alive.hold(7, "upload-6"):
                pass
        await asyncio.sleep(0.6)
        async with alive.hold(7, "upload-7") as others:
            return others

    assert run(scenario()) == []


def test_a_long_upload_keeps_its_slot_past_the_lease(redis_url):
    async def scenario():
        first, second = UploadSlots(1, redis_url, lease_s=0.3), UploadSlots(1, redis_url, lease_s=0.3)
        async with first.hold(7, "upload-8"):
            await asyncio.sleep(1.0)  # three leases: renewed meanwhile
            with pytest.raises(TooMany):
                async with second.hold(7, "upload-9"):
                    pass

    run(scenario())


@pytest.mark.parametrize("store", ["memory://", "an unreachable redis", "a silent redis"])
def test_without_a_shared_store_the_process_counts_its_own(store):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never answers: each call waits out the client's timeout, not for ever
    url = {"memory://": store, "an unreachable redis": f"redis://127.0.0.1:{free_port()}/0",
           "a silent redis": f"redis://127.0.0.1:{silent.getsockname()[1]}/0"}[store]

    async def scenario():
        slots = UploadSlots(1, url)
        async with slots.hold(7, "upload-10") as others:
            with pytest.raises(TooMany):
                async with slots.hold(7, "upload-11"):
                    pass
        async with slots.hold(7, "upload-12"):
            pass
        return others

    try:
        assert asyncio.run(asyncio.wait_for(scenario(), 30)) == []
    finally:
        silent.close()
