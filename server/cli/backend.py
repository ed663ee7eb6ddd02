"""Where the organizer commands act: this deployment's database, or a remote one's admin API.

Both backends return the same response models (server/schemas_admin.py), so a command renders
and prints ``--json`` the same way whether it ran ``--server URL --token T`` or locally.
"""

from typing import Protocol

import httpx

from server.cli.output import fail
from server.config import get_settings
from server.db import session_scope
from server.bundle import CompetitionBundle
from server.schemas_admin import (AdminPhaseOut, AdminSubmissionOut, AuditEventOut, BaselineSetRequest,
                                  BaselineVersionOut, BundleUpdateOut, RescoreItemOut, RunOut, ScheduleRequest,
                                  StatusOut)
from server.services.errors import NotFound, ServiceError
from server.services.rescore import RescoreScope

LOCAL_REQUESTER = "organizer:cli"
LOCAL_ORGANIZER = "cli"


class Backend(Protocol):
    def rescore(self, scope: RescoreScope) -> list[RescoreItemOut]: ...
    def runs(self, run_ids: list[int]) -> list[RunOut]: ...
    def status(self) -> StatusOut: ...
    def submissions(self, phase: str | None, team: str | None, status: str | None,
                    review: str | None = None) -> list[AdminSubmissionOut]: ...
    def submission(self, public_id: str) -> AdminSubmissionOut: ...
    def cancel(self, public_id: str, reason: str) -> AdminSubmissionOut: ...
    def decide(self, public_id: str, decision: str, reason: str) -> AdminSubmissionOut: ...
    def baseline_history(self, phase: str) -> list[BaselineVersionOut]: ...
    def set_baseline(self, phase: str, request: BaselineSetRequest) -> BaselineVersionOut: ...
    def revert_baseline(self, phase: str, to: int | None) -> BaselineVersionOut: ...
    def measure_baseline(self, phase: str, force: bool) -> BaselineVersionOut: ...
    def schedule(self, phase: str, request: ScheduleRequest) -> AdminPhaseOut: ...
    def update_competition(self, bundle: CompetitionBundle, dry_run: bool) -> BundleUpdateOut: ...
    def audit(self, target: str | None, limit: int) -> list[AuditEventOut]: ...


class LocalBackend:
    """Services over this machine's database (settings from SRCHALLENGE_* variables)."""

    def rescore(self, scope: RescoreScope) -> list[RescoreItemOut]:
        from server.services.rescore import rescore

        with session_scope() as session:
            return rescore(session, scope, LOCAL_REQUESTER)

    def runs(self, run_ids: list[int]) -> list[RunOut]:
        from server.services.rescore import runs_by_id

        with session_scope() as session:
            return runs_by_id(session, run_ids)

    def status(self) -> StatusOut:
        from server.services.status import deployment_status

        with session_scope() as session:
            return deployment_status(session, get_settings())

    def submissions(self, phase: str | None, team: str | None, status: str | None,
                    review: str | None = None) -> list[AdminSubmissionOut]:
        from server.services.submission_admin import list_submissions

        with session_scope() as session:
            return [AdminSubmissionOut.of(s) for s in list_submissions(session, phase, team, status, review=review)]

    def submission(self, public_id: str) -> AdminSubmissionOut:
        from server.services.submissions import get_submission

        with session_scope() as session:
            return AdminSubmissionOut.of(get_submission(session, public_id), with_runs=True)

    def cancel(self, public_id: str, reason: str) -> AdminSubmissionOut:
        from server.services.submission_admin import cancel_submission

        with session_scope() as session:
            return AdminSubmissionOut.of(cancel_submission(session, public_id, reason), with_runs=True)

    def decide(self, public_id: str, decision: str, reason: str) -> AdminSubmissionOut:
        from server.services.review import decide

        with session_scope() as session:
            return AdminSubmissionOut.of(decide(session, public_id, decision, reason, LOCAL_ORGANIZER),
                                         with_runs=True)

    def baseline_history(self, phase: str) -> list[BaselineVersionOut]:
        from server.services.baseline import baseline_history
        from server.services.competitions import get_phase_by_path

        with session_scope() as session:
            return [BaselineVersionOut.of(r) for r in baseline_history(session, get_phase_by_path(session, phase))]

    def set_baseline(self, phase: str, request: BaselineSetRequest) -> BaselineVersionOut:
        from server.services.audit import local_actor
        from server.services.baseline import set_baseline
        from server.services.competitions import get_phase_by_path

        with session_scope() as session:
            return BaselineVersionOut.of(set_baseline(session, get_phase_by_path(session, phase), local_actor(),
                                                      **request.baseline_args()))

    def revert_baseline(self, phase: str, to: int | None) -> BaselineVersionOut:
        from server.services.audit import local_actor
        from server.services.baseline import revert_baseline
        from server.services.competitions import get_phase_by_path

        with session_scope() as session:
            return BaselineVersionOut.of(revert_baseline(session, get_phase_by_path(session, phase), local_actor(), to))

    def measure_baseline(self, phase: str, force: bool) -> BaselineVersionOut:
        from server.services.audit import local_actor
        from server.services.baseline import request_baseline_measurement
        from server.services.competitions import get_phase_by_path

        with session_scope() as session:
            return BaselineVersionOut.of(request_baseline_measurement(
                session, get_phase_by_path(session, phase), local_actor(), force=force))

    def schedule(self, phase: str, request: ScheduleRequest) -> AdminPhaseOut:
        from server.services.audit import local_actor
        from server.services.competitions import get_phase_by_path
        from server.services.schedule import set_schedule

        with session_scope() as session:
            target = get_phase_by_path(session, phase)
            set_schedule(session, target, local_actor(), **request.schedule_args())
            return AdminPhaseOut.of(target)

    def update_competition(self, bundle: CompetitionBundle, dry_run: bool) -> BundleUpdateOut:
        from server.services.audit import local_actor
        from server.services.bundle_update import update_competition

        with session_scope() as session:
            changes = update_competition(session, bundle, local_actor(), dry_run=dry_run)
        return BundleUpdateOut(competition=bundle.slug, dry_run=dry_run, changes=changes)

    def audit(self, target: str | None, limit: int) -> list[AuditEventOut]:
        from server.services.audit import audit_events

        with session_scope() as session:
            return [AuditEventOut.of(event) for event in audit_events(session, target, limit)]


class RemoteBackend:
    """The same operations over ``/api/v1/admin`` of a remote deployment."""

    def __init__(self, server: str, token: str) -> None:
        self.client = httpx.Client(base_url=server, timeout=60, headers={"Authorization": f"Bearer {token}"})

    def _call(self, method: str, path: str, **kwargs) -> object:
        try:
            response = self.client.request(method, f"/api/v1/admin{path}", **kwargs)
        except httpx.HTTPError as err:
            raise ServiceError(f"cannot reach {self.client.base_url}: {err}") from None
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ServiceError(f"{self.client.base_url} refused ({response.status_code}): {detail}")
        return response.json()

    def rescore(self, scope: RescoreScope) -> list[RescoreItemOut]:
        body = {"team": scope.team, "phase": scope.phase, "submission": scope.submission, "all": scope.everyone}
        return [RescoreItemOut.model_validate(item) for item in self._call("POST", "/rescore", json=body)]

    def runs(self, run_ids: list[int]) -> list[RunOut]:
        return [RunOut.model_validate(run) for run in self._call("GET", "/runs", params={"id": run_ids})]

    def status(self) -> StatusOut:
        return StatusOut.model_validate(self._call("GET", "/status"))

    def submissions(self, phase: str | None, team: str | None, status: str | None,
                    review: str | None = None) -> list[AdminSubmissionOut]:
        params = {k: v for k, v in {"phase": phase, "team": team, "status": status, "review": review}.items() if v}
        return [AdminSubmissionOut.model_validate(s) for s in self._call("GET", "/submissions", params=params)]

    def submission(self, public_id: str) -> AdminSubmissionOut:
        return AdminSubmissionOut.model_validate(self._call("GET", f"/submissions/{public_id}"))

    def cancel(self, public_id: str, reason: str) -> AdminSubmissionOut:
        return AdminSubmissionOut.model_validate(
            self._call("POST", f"/submissions/{public_id}/cancel", json={"reason": reason}))

    def decide(self, public_id: str, decision: str, reason: str) -> AdminSubmissionOut:
        action = {"approved": "approve", "rejected": "reject"}[decision]
        return AdminSubmissionOut.model_validate(
            self._call("POST", f"/submissions/{public_id}/{action}", json={"reason": reason}))

    def baseline_history(self, phase: str) -> list[BaselineVersionOut]:
        return [BaselineVersionOut.model_validate(v) for v in self._call("GET", f"{phase_url(phase)}/baseline")]

    def set_baseline(self, phase: str, request: BaselineSetRequest) -> BaselineVersionOut:
        return BaselineVersionOut.model_validate(self._call(
            "POST", f"{phase_url(phase)}/baseline", json=request.model_dump(mode="json", exclude_none=True)))

    def revert_baseline(self, phase: str, to: int | None) -> BaselineVersionOut:
        return BaselineVersionOut.model_validate(self._call("POST", f"{phase_url(phase)}/baseline/revert",
                                                            json={"to": to}))

    def measure_baseline(self, phase: str, force: bool) -> BaselineVersionOut:
        return BaselineVersionOut.model_validate(self._call("POST", f"{phase_url(phase)}/baseline/measure",
                                                            json={"force": force}))

    def schedule(self, phase: str, request: ScheduleRequest) -> AdminPhaseOut:
        return AdminPhaseOut.model_validate(self._call(
            "PATCH", f"{phase_url(phase)}/schedule", json=request.model_dump(mode="json", exclude_unset=True)))

    def update_competition(self, bundle: CompetitionBundle, dry_run: bool) -> BundleUpdateOut:
        return BundleUpdateOut.model_validate(self._call(
            "PUT", f"/competitions/{bundle.slug}/bundle", params={"dry_run": dry_run},
            json=bundle.model_dump(mode="json")))

    def audit(self, target: str | None, limit: int) -> list[AuditEventOut]:
        params = {"limit": limit, **({"target": target} if target else {})}
        return [AuditEventOut.model_validate(event) for event in self._call("GET", "/audit", params=params)]


def phase_url(path: str) -> str:
    """``aim2019/validation`` → its admin API path; a malformed one is refused here, as locally."""
    competition, _, phase = path.partition("/")
    if not competition or not phase or "/" in phase:
        raise NotFound(f"phase must be written COMPETITION/PHASE, got {path!r}")
    return f"/phases/{competition}/{phase}"


def backend_for(server: str | None, token: str | None) -> Backend:
    if server is None:
        return LocalBackend()
    if not token:
        fail("--server needs --token with an organizer token (sro_…); `srchallenge organizer create` makes one")
    return RemoteBackend(server, token)

