"""The embedded broker (server/filesystem_broker.py), on a real folder with real kombu connections:
an idle consumer is woken by a message landing, not by its next poll, and never sees half a message.

The consumer polls once an hour here, so on kombu's own transport (which sleeps between looks) a
message sent after a look came back empty waits the hour out. The test sends it only once it has
seen that look: a look lists the folder, and inotify reports the listing's close to the test.
"""

import queue
import threading

import pytest
from inotify_simple import INotify, flags

from server.config import Settings
from server.queue import SCORE_RUN_TASK, SCORING_QUEUE, broker_options, create_celery

HOUR_S = 3600
DRAIN_S = 600
"""Longer than any wait below: kombu's transport sleeps min(poll, this) between two looks."""


@pytest.fixture
def broker(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", broker_url=None)
    app = create_celery(settings)
    app.conf.broker_transport_options = {**broker_options(settings), "polling_interval": HOUR_S}
    return app, settings.broker_dir / "messages"


def send(app, run_id: int) -> None:
    app.send_task(SCORE_RUN_TASK, args=[run_id], queue=SCORING_QUEUE)


def test_an_idle_consumer_takes_a_message_without_waiting_for_its_next_poll(broker):
    app, folder = broker
    received: queue.Queue = queue.Queue()
    with INotify() as observer, app.connection_for_read() as connection:
        consumer = connection.Consumer(app.amqp.queues[SCORING_QUEUE], accept=["json"],
                                       callbacks=[lambda body, message: (received.put(body[0][0]), message.ack())])
        consumer.consume()  # declares the queue (which lists the folder) before the watch below
        observer.add_watch(folder, flags.CLOSE_NOWRITE)

        done = threading.Event()

        def consume() -> None:
            while not done.is_set():
                connection.drain_events(timeout=DRAIN_S)

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        assert observer.read(timeout=60_000), "the consumer never looked at the folder"  # it found nothing
        send(app, 7)
        assert received.get(timeout=60) == 7
        done.set()
        send(app, 8)  # wakes the consumer to see that it is done
        assert received.get(timeout=60) == 8
        thread.join(timeout=60)
        assert not thread.is_alive()


def test_a_message_appears_whole_under_its_name(broker):
    """kombu writes a message in place: a consumer listing the folder meanwhile takes an empty file."""
    app, folder = broker
    with INotify() as observer, app.connection_for_write() as connection:
        observer.add_watch(folder, flags.CREATE | flags.MOVED_TO)
        app.send_task(SCORE_RUN_TASK, args=[1], queue=SCORING_QUEUE, connection=connection)
        events = observer.read(timeout=10_000)
    arrived = [event for event in events if event.name.endswith(f".{SCORING_QUEUE}.msg")]
    assert [event.mask & (flags.CREATE | flags.MOVED_TO) for event in arrived] == [flags.MOVED_TO]
