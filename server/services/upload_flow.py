"""The one way an upload becomes a submission, for the API and the team page's form: a slot of
the team's concurrent uploads held while it streams, the phase's limits checked before a byte is
stored, the body streamed to disk, then recorded and queued. No database connection is held while
the body streams; the database work runs in the thread pool, never on the event loop."""

from collections.abc import Callable

import anyio
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Phase, Submission, Team
from server.services import submissions as service
from server.services.storage import Storage
from server.services.uploads import receive_upload


async def receive_submission(request: Request, phase: Phase, team: Team, session: Session, settings: Settings,
                             check_fields: Callable[[dict[str, str]], None] | None = None) -> Submission:
    """``check_fields`` sees the form fields once the body has arrived and may refuse them (a
    ServiceError); a refused or broken upload leaves nothing behind."""
    public_id = service.new_public_id()
    async with request.app.state.upload_slots.hold(team.id, public_id) as others:
        await run_in_threadpool(service.check_upload_allowed, session, phase, team, others)
        zip_path = Storage.from_settings(settings).upload_path(public_id)
        try:
            received = await receive_upload(request, zip_path, settings.max_upload_bytes,
                                            settings.upload_idle_timeout_seconds)
            if check_fields is not None:
                check_fields(received.fields)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(service.discard_upload, zip_path.parent)
            raise
        return await run_in_threadpool(service.accept_upload, session, phase, team, public_id, received, zip_path)
