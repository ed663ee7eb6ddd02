"""The embedded default's broker: kombu's filesystem transport, with an idle worker woken the moment
a message lands instead of at its next poll.

kombu's transport looks at its folder once per polling interval (one second) and sleeps between
looks, so a job sent to an idle worker waited half a second on average, up to a whole one, before
anyone read it (docs/benchmarks.md). Here the consumer watches the folder with inotify and looks
again as soon as a message is moved into it (or written in place, as kombu's own transport does).
The poll stays as the safety net: a folder shared over a network filesystem, where another host's
writes raise no event, or a system without inotify, works as before.

A message is written under a name no consumer takes (kombu takes ``<stamp>_<uuid>.<queue>.msg``),
then renamed into place, so that a consumer never reads a half-written one (kombu writes in place).
"""

import logging
import os
import socket
import time
import uuid
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

try:
    from inotify_simple import INotify, flags
except ImportError:  # not Linux: the transport polls, as kombu's does
    INotify = None

log = logging.getLogger("srchallenge.broker")


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as file:
                file.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as err:
            raise ChannelError(f"Cannot add file {final!r} to directory") from err


class FolderWatch:
    """Wakes a waiting consumer when a file lands in ``folder``; where inotify cannot watch it,
    ``wait`` just sleeps out the poll."""

    def __init__(self, folder: str):
        self._inotify = None
        if INotify is None:
            return
        try:
            self._inotify = INotify()
            self._inotify.add_watch(folder, flags.MOVED_TO | flags.CLOSE_WRITE)
        except OSError as err:  # e.g. the user's inotify watches or instances are used up
            log.warning("cannot watch the broker folder %s (%s): an idle worker polls it", folder, err)
            self.close()

    def clear(self) -> None:
        """Forget what landed so far: the look that follows sees it."""
        if self._inotify is not None:
            self._inotify.read(timeout=0)

    def wait(self, seconds: float) -> None:
        """Until a file lands after the last ``clear`` (at once if one already has), or ``seconds``."""
        if self._inotify is None:
            time.sleep(seconds)
        else:
            self._inotify.read(timeout=round(seconds * 1000))

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self._watch: FolderWatch | None = None

    def drain_events(self, connection, timeout=None):
        """kombu's loop (virtual.Transport.drain_events), with the sleep between two looks at the
        folder cut short by a message landing. What lands between a look and the wait is kept by
        the watch, so a wake-up is never lost: the watch is cleared before each look, not after."""
        if self._watch is None:
            self._watch = FolderWatch(self.client.transport_options.get("data_folder_in", "data_in"))
        started = time.monotonic()
        interval = self.polling_interval
        if timeout and interval and interval > timeout:
            interval = timeout
        while True:
            self._watch.clear()
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise socket.timeout() from None
                if interval is not None:
                    self._watch.wait(interval)

    def close_connection(self, connection):
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        super().close_connection(connection)
