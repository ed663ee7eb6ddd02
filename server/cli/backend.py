"""Where the organizer commands act: this deployment's database, or a remote one's admin API.

Both backends return the same response models (server/schemas_admin.py), so a command renders
and prints ``--json`` the same way whether it ran ``--server URL --token T`` or locally.
"""

from typing import Protocol

import httpx

from server.cli.output import fail
from server.config import get_settings
from server.db import session_scope
from server.schemas_admin import AdminSubmissionOut, RescoreItemOut, RunOut, StatusOut
from server.services.errors import ServiceError
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


def backend_for(server: str | None, token: str | None) -> Backend:
    if server is None:
        return LocalBackend()
    if not token:
        fail("--server needs --token with an organizer token (sro_…); `srchallenge organizer create` makes one")
    return RemoteBackend(server, token)

