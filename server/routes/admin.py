"""The organizer API: rescoring, deployment status, any team's submissions, cancelling, review decisions.

Every route needs an organizer token (``sro_…``); team tokens are refused. The CLI's organizer
commands call these when given ``--server URL --token T``.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from server.body_guard import TokenFirstRoute
from server.deps import OrganizerDep, SessionDep, SettingsDep
from server.schemas_admin import (AdminSubmissionOut, CancelRequest, DecisionRequest, RescoreItemOut, RescoreRequest,
                                  RunOut, StatusOut)
from server.services.rescore import RescoreScope, rescore, runs_by_id
from server.services.review import decide
from server.services.status import deployment_status
from server.services.submission_admin import cancel_submission, list_submissions
from server.services.submissions import get_submission

router = APIRouter(route_class=TokenFirstRoute, prefix="/api/v1/admin", tags=["organizers"], responses={
    401: {"description": "no organizer token, or an unknown or revoked one"},
    403: {"description": "a team token: the organizer API takes organizer tokens only"},
})


@router.post("/rescore", response_model=list[RescoreItemOut])
def rescore_submissions(request: RescoreRequest, organizer: OrganizerDep, session: SessionDep):
    """Queue submissions again: one (`submission`), a team's (`team`, optionally in `phase`), or a
    whole phase's (`phase` with `all`). A submission already queued or running returns that run."""
    scope = RescoreScope(team=request.team, phase=request.phase, submission=request.submission,
                         everyone=request.all)
    return rescore(session, scope, requested_by=f"organizer:{organizer.name}")


@router.get("/runs", response_model=list[RunOut], summary="Scoring runs by id (what `rescore --wait` polls)")
def scoring_runs(_organizer: OrganizerDep, session: SessionDep, id: Annotated[list[int], Query()]):
    return runs_by_id(session, id)


@router.get("/status", response_model=StatusOut)
def status(_organizer: OrganizerDep, session: SessionDep, settings: SettingsDep):
    """Queue lengths, workers seen lately, running runs, and those that look stuck."""
    return deployment_status(session, settings)


@router.get("/submissions", response_model=list[AdminSubmissionOut], summary="Any team's submissions, newest first")
def submissions(_organizer: OrganizerDep, session: SessionDep, phase: str | None = None, team: str | None = None,
                status: str | None = None, review: str | None = None):
    return [AdminSubmissionOut.of(s) for s in list_submissions(session, phase, team, status, review=review)]


@router.get("/submissions/{submission_id}", response_model=AdminSubmissionOut)
def submission_detail(submission_id: str, _organizer: OrganizerDep, session: SessionDep):
    """A submission with its whole scoring history."""
    return AdminSubmissionOut.of(get_submission(session, submission_id), with_runs=True)


@router.post("/submissions/{submission_id}/cancel", response_model=AdminSubmissionOut)
def cancel(submission_id: str, request: CancelRequest, _organizer: OrganizerDep, session: SessionDep):
    """Cancel a submitted or running submission and its pending run; a worker's late result is ignored."""
    return AdminSubmissionOut.of(cancel_submission(session, submission_id, request.reason), with_runs=True)


@router.post("/submissions/{submission_id}/approve", response_model=AdminSubmissionOut)
def approve(submission_id: str, request: DecisionRequest, organizer: OrganizerDep, session: SessionDep):
    """Approve an entry held for review of its stored numbers: it is ranked like any other."""
    return AdminSubmissionOut.of(decide(session, submission_id, "approved", request.reason, organizer.name),
                                 with_runs=True)


@router.post("/submissions/{submission_id}/reject", response_model=AdminSubmissionOut)
def reject(submission_id: str, request: DecisionRequest, organizer: OrganizerDep, session: SessionDep):
    """Reject an entry held for review: it stays unranked, with the reason shown to the team and on the board."""
    return AdminSubmissionOut.of(decide(session, submission_id, "rejected", request.reason, organizer.name),
                                 with_runs=True)
