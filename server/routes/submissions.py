"""Participants upload submissions and follow them."""

from fastapi import APIRouter, Request, status

from scoring.shown import ranking_notice
from server.deps import PhaseDep, SessionDep, SettingsDep, TeamDep
from server.schemas import SubmissionAccepted, SubmissionOut
from server.services import submissions as service
from server.services.fair_share import submission_places
from server.services.upload_flow import receive_submission

router = APIRouter(prefix="/api/v1", tags=["submissions"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "results zip of SR PNGs named like the HR images (0801.png or "
                                        "0801x4.png), or a code zip with model.py at its top"},
                "kind": {"type": "string", "enum": ["results", "code"]},
                "tracks": {"type": "string", "description": "comma-separated track slugs (default: all)"},
                "params": {"type": "integer", "description": "self-reported number of parameters"},
                "runtime": {"type": "number", "description": "self-reported runtime per image, seconds"},
                "runtime_baseline": {"type": "number", "description": "MSRResNet runtime on your machine"},
                "gpu": {"type": "string"},
                "extra_data": {"type": "string", "enum": ["yes", "no"]},
                "description": {"type": "string"},
            },
        }}},
    }
}


@router.post("/phases/{competition}/{phase}/submissions", status_code=status.HTTP_202_ACCEPTED,
             response_model=SubmissionAccepted, openapi_extra=UPLOAD_BODY)
async def upload_submission(request: Request, phase: PhaseDep, team: TeamDep, session: SessionDep,
                            settings: SettingsDep):
    """Accept a zip; it is scored by a worker. Poll the returned URL until `scored` or `failed`.

    The body streams to disk with no database connection held; the database work runs in the
    thread pool, never on the event loop."""
    submission = await receive_submission(request, phase, team, session, settings)
    public_id = submission.public_id
    return SubmissionAccepted(id=public_id, status=submission.status, kind=submission.kind,
                              url=f"/api/v1/submissions/{public_id}",
                              notice=ranking_notice(submission.kind, phase.ranking_figures))


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def submission_detail(submission_id: str, team: TeamDep, session: SessionDep):
    submission = service.get_team_submission(session, submission_id, team)
    return SubmissionOut.of(submission, submission_places(session, [submission]).get(submission_id))


@router.get("/submissions", response_model=list[SubmissionOut], summary="Your team's submissions, newest first")
def my_submissions(team: TeamDep, session: SessionDep):
    submissions = service.list_team_submissions(session, team)
    places = submission_places(session, submissions)
    return [SubmissionOut.of(s, places.get(s.public_id)) for s in submissions]
