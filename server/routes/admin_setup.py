"""The organizer API for what sets a challenge up: a phase's baseline figures (set, measured,
restored) and dates, an edited bundle applied to its competition, and the audit log of those
changes (``srchallenge baseline``, ``phase schedule``, ``competition update``, ``audit`` on a
remote deployment).

Thin routes over the services the CLI calls, with the same audit events; the actor is
``organizer:NAME``. Every route needs an organizer token, like the rest of ``/api/v1/admin``.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from server.body_guard import TokenFirstRoute
from server.bundle import CompetitionBundle
from server.deps import OrganizerDep, PhaseDep, SessionDep
from server.schemas_admin import (AUDIT_MAX_EVENTS, AdminPhaseOut, AuditEventOut, BaselineMeasureRequest,
                                  BaselineRevertRequest, BaselineSetRequest, BaselineVersionOut, BundleUpdateOut,
                                  ScheduleRequest)
from server.services.audit import audit_events
from server.services.baseline import baseline_history, request_baseline_measurement, revert_baseline, set_baseline
from server.services.bundle_update import update_competition
from server.services.errors import Unprocessable
from server.services.schedule import set_schedule

router = APIRouter(route_class=TokenFirstRoute, prefix="/api/v1/admin", tags=["organizers"], responses={
    401: {"description": "no organizer token, or an unknown or revoked one"},
    403: {"description": "a team token: the organizer API takes organizer tokens only"},
})
PHASE = "/phases/{competition}/{phase}"


def actor(organizer) -> str:
    return f"organizer:{organizer.name}"


@router.get(f"{PHASE}/baseline", response_model=list[BaselineVersionOut])
def baseline_versions(organizer: OrganizerDep, phase: PhaseDep, session: SessionDep):
    """Every version of the phase's baseline figures and every measurement, oldest first."""
    return [BaselineVersionOut.of(record) for record in baseline_history(session, phase)]


@router.post(f"{PHASE}/baseline", response_model=BaselineVersionOut)
def baseline_set(request: BaselineSetRequest, organizer: OrganizerDep, phase: PhaseDep, session: SessionDep):
    """Set some of the phase's baseline figures (the others stay): a new version; the old ones stay
    in the history. 409 for a `device` of another class than the phase's, unless `force`."""
    record = set_baseline(session, phase, actor(organizer), **request.baseline_args())
    session.commit()
    return BaselineVersionOut.of(record)


@router.post(f"{PHASE}/baseline/revert", response_model=BaselineVersionOut)
def baseline_revert(request: BaselineRevertRequest, organizer: OrganizerDep, phase: PhaseDep, session: SessionDep):
    """Restore an earlier version of the figures (as a new version; nothing is deleted)."""
    record = revert_baseline(session, phase, actor(organizer), request.to)
    session.commit()
    return BaselineVersionOut.of(record)


@router.post(f"{PHASE}/baseline/measure", response_model=BaselineVersionOut, status_code=202)
def baseline_measure(request: BaselineMeasureRequest, organizer: OrganizerDep, phase: PhaseDep, session: SessionDep):
    """Queue a timing of the baseline on a worker of queue `gpu`; answers the queued record, whose
    progress (`queued`, `running`, then `done`, `refused` or `failed` with the reason) the baseline's
    history shows under the same version. A worker of another device class than the phase's refuses
    it unless `force`. 409 while another measurement of the phase is pending, or with no inputs; 503
    when the queue cannot take it (the record ends `failed`)."""
    return BaselineVersionOut.of(request_baseline_measurement(session, phase, actor(organizer), force=request.force))


@router.get("/audit", response_model=list[AuditEventOut], summary="The audit log, newest first")
def audit_log(_organizer: OrganizerDep, session: SessionDep,
              target: Annotated[str | None, Query(description="COMPETITION or COMPETITION/PHASE")] = None,
              limit: Annotated[int, Query(ge=1, le=AUDIT_MAX_EVENTS, description="newest N events")] = 50):
    """Who changed a baseline, a bundle, a hidden set or a schedule, and when, with the figures before
    and after: changes over this API name the organizer (`organizer:NAME`), on the server `cli:LOGIN`."""
    return [AuditEventOut.of(event) for event in audit_events(session, target, limit)]


@router.patch(f"{PHASE}/schedule", response_model=AdminPhaseOut)
def schedule(request: ScheduleRequest, organizer: OrganizerDep, phase: PhaseDep, session: SessionDep):
    """Set when the phase takes submissions: `opens_at` and/or `closes_at`, ISO 8601 with a zone;
    a date left out stays, `null` removes it. An upload outside the dates gets 403 saying when."""
    set_schedule(session, phase, actor(organizer), **request.schedule_args())
    session.commit()
    return AdminPhaseOut.of(phase)


@router.put("/competitions/{slug}/bundle", response_model=BundleUpdateOut)
def apply_bundle(slug: str, bundle: CompetitionBundle, organizer: OrganizerDep, session: SessionDep,
                 dry_run: Annotated[bool, Query(description="say what would change, change nothing")] = False):
    """Apply an edited bundle (the YAML file's content as JSON) to its competition. Only what it
    changed since it was last applied is applied; what would orphan data (a phase or track holding
    submissions or images, another scale) is refused with 409 as a whole, and nothing changes."""
    if bundle.slug != slug:
        raise Unprocessable(f"the bundle is for competition {bundle.slug!r}, not {slug!r}")
    changes = update_competition(session, bundle, actor(organizer), dry_run=dry_run)
    session.commit()
    return BundleUpdateOut(competition=slug, dry_run=dry_run, changes=changes)
