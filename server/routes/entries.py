"""A team chooses which of its scored submissions stands on a track (the API twin of the team page's form)."""

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from server.body_guard import TokenFirstRoute
from server.deps import PhaseDep, SessionDep, TeamDep
from server.services.entries import choose_entry, clear_entry

router = APIRouter(prefix="/api/v1/phases/{competition}/{phase}", tags=["entries"], route_class=TokenFirstRoute)


class EntryIn(BaseModel):
    submission_id: str


class EntryOut(BaseModel):
    track: str
    submission_id: str


@router.put("/entries/{track}", response_model=EntryOut)
def put_entry(track: str, body: EntryIn, phase: PhaseDep, team: TeamDep, session: SessionDep):
    """Stand on `track` with one of your scored submissions entered in it (default: your latest)."""
    choose_entry(session, team, phase, track, body.submission_id)
    session.commit()
    return EntryOut(track=track, submission_id=body.submission_id)


@router.delete("/entries/{track}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_entry(track: str, phase: PhaseDep, team: TeamDep, session: SessionDep):
    """Undo your choice on `track`: your latest scored submission entered in it stands again."""
    clear_entry(session, team, phase, track)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
