"""Submissions: accept an upload, record it and its first scoring run, and wake a worker.

An upload is all or nothing: a refusal at any step (phase closed meanwhile, quota, database, broker)
leaves no row, no queued run and no file, and a 202 means the zip is on disk, recorded and queued.
Every function here blocks (database, files): the upload route calls them in the thread pool.
"""

import logging
import secrets
import shutil
import zipfile
from collections.abc import Collection
from pathlib import Path

import yaml

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scoring.bounds import MAX_GPU_NAME
from scoring.errors import SubmissionError
from scoring.factsheet import parameter_count, seconds_per_image, yes_no
from scoring.team_yaml import MAX_TEAM_YAML_BYTES, TeamYamlError, load_team_yaml
from server.models import Phase, ScoringRun, Status, Submission, Team
from server.queue import QUEUE_OF_KIND
from server.services.errors import Forbidden, NotFound, ServiceError, Unavailable, Unprocessable
from server.services.queue import enqueue_run
from server.services.quotas import check_quota, reserve_slot
from server.services.schedule import phase_window
from server.services.uploads import ReceivedUpload

log = logging.getLogger("srchallenge.api")


def new_public_id() -> str:
    """Non-sequential, unguessable submission id (teams must not find each other's by counting)."""
    return secrets.token_hex(10)


def submission_kind(zip_path: Path, declared: str | None) -> str:
    """``kind=code`` form field, or a ``model.py`` at the top of the zip or inside its one folder
    (as zipping a folder makes it), marks a code submission."""
    if declared is not None:
        if declared not in ("results", "code"):
            raise ServiceError("kind must be 'results' or 'code'")
        return declared
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        raise ServiceError("the upload is not a zip file") from None
    return "code" if "model.py" in names or _model_py_in_one_folder(names) else "results"


def _model_py_in_one_folder(names: list[str]) -> bool:
    tops = {name.split("/", 1)[0] for name in names if "/" in name.strip("/")}
    loose = [name for name in names if "/" not in name.strip("/") and not name.endswith("/")]
    return len(tops) == 1 and not loose and f"{next(iter(tops))}/model.py" in names


def parse_self_reported(fields: dict[str, str]) -> dict:
    """Form fields a team may send with a results zip, checked as ``readme.txt`` values are
    (scoring/factsheet.py): a value out of range is a 422 naming the field, not a silent None."""
    out: dict = {}
    try:
        if fields.get("params"):
            out["self_params"] = parameter_count("params", fields["params"])
        if fields.get("runtime"):
            out["self_runtime"] = seconds_per_image("runtime", fields["runtime"])
        if fields.get("runtime_baseline"):
            out["self_runtime_baseline"] = seconds_per_image("runtime_baseline", fields["runtime_baseline"])
    except SubmissionError as err:
        raise Unprocessable(str(err)) from None
    if fields.get("gpu"):
        out["gpu"] = fields["gpu"][:MAX_GPU_NAME]
    if fields.get("extra_data"):
        out["extra_data"] = yes_no(fields["extra_data"]) is True  # anything but a yes reads as no
    if fields.get("description"):
        out["description"] = fields["description"]
    return out


def tracks_from_submission_yaml(zip_path: Path) -> str | None:
    """A code zip's ``submission.yaml`` may list the tracks it enters (the form field wins).

    Team YAML: read with the loader that refuses aliases and large files; such a file is a 422."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            info = next((i for i in zf.infolist() if i.filename.rsplit("/", 1)[-1] == "submission.yaml"), None)
            if info is None:
                return None
            if info.file_size > MAX_TEAM_YAML_BYTES:
                raise TeamYamlError(f"the file is {info.file_size:,} bytes; the limit is {MAX_TEAM_YAML_BYTES:,}")
            meta = load_team_yaml(zf.read(info))
    except TeamYamlError as err:
        raise Unprocessable(f"submission.yaml: {err}") from None
    except (zipfile.BadZipFile, OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    tracks = meta.get("tracks") if isinstance(meta, dict) else None
    return ",".join(map(str, tracks)) if isinstance(tracks, list) and tracks else None


def parse_tracks(phase: Phase, value: str | None) -> list[str]:
    """Which tracks an entry is entered in: all of the phase's tracks unless the team narrows it."""
    known = [track.slug for track in phase.tracks]
    if not value:
        return known
    chosen = [slug.strip() for slug in value.split(",") if slug.strip()]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ServiceError(f"unknown track(s) {', '.join(unknown)}; this phase has {', '.join(known)}")
    return chosen


def check_phase_accepts(phase: Phase) -> None:
    """The phase is open and within its dates (checked when an upload starts and when it has arrived)."""
    window = phase_window(phase)
    if not window.open:
        raise Forbidden(window.reason)
    if phase.image_count == 0:
        raise Forbidden(f"phase {phase.path} has no hidden images yet")


def check_phase_still_accepts(session: Session, phase: Phase) -> None:
    """The phase as it stands now, read under a share lock on its row in the transaction that records
    the upload: `phase close` waits for that transaction, so an upload that ends after the close is
    refused, however early it started."""
    session.refresh(phase, with_for_update={"read": True})
    check_phase_accepts(phase)


def check_upload_allowed(session: Session, phase: Phase, team: Team, others: Collection[str] = ()) -> None:
    """Before the body is read: a closed phase or a used-up quota (counting the team's ``others``
    uploads still arriving) costs the team no upload time."""
    try:
        check_phase_accepts(phase)
        check_quota(session, phase, team, in_flight=uploads_still_arriving(session, others))
    finally:
        session.commit()  # the connection goes back to the pool while the body streams in


def uploads_still_arriving(session: Session, upload_ids: Collection[str]) -> int:
    """Of uploads holding a slot (their submissions' public ids), those with no row yet: one whose
    row is in is counted by the quota as a row, not again as in flight. Read after the slots were
    taken, so an upload whose row commits meanwhile is counted once either way."""
    if not upload_ids:
        return 0
    recorded = session.scalar(select(func.count()).where(Submission.public_id.in_(list(upload_ids))))
    return len(upload_ids) - recorded


def record_submission(
    session: Session, phase: Phase, team: Team, public_id: str, upload: ReceivedUpload, zip_path: Path
) -> Submission:
    """Everything is read and checked first; only then are the team's and the phase's rows locked."""
    kind = submission_kind(zip_path, upload.fields.get("kind"))
    tracks = parse_tracks(phase, upload.fields.get("tracks")
                          or (tracks_from_submission_yaml(zip_path) if kind == "code" else None))
    self_reported = parse_self_reported(upload.fields)
    reserve_slot(session, phase, team)
    check_phase_still_accepts(session, phase)
    submission = Submission(
        public_id=public_id,
        phase=phase,
        team=team,
        kind=kind,
        status=Status.SUBMITTED,
        filename=Path(upload.filename or "upload.zip").name[:255],
        file_size=upload.size,
        file_sha256=upload.sha256,
        tracks=tracks,
        **self_reported,
    )
    session.add(submission)
    session.flush()
    return submission


def add_scoring_run(session: Session, submission: Submission, requested_by: str) -> ScoringRun:
    attempt = 1 + max((run.attempt for run in submission.runs), default=0)
    run = ScoringRun(submission=submission, attempt=attempt, status=Status.QUEUED, requested_by=requested_by)
    session.add(run)
    session.flush()
    return run


def queue_for(submission: Submission) -> str:
    return QUEUE_OF_KIND[submission.kind]


def accept_upload(session: Session, phase: Phase, team: Team, public_id: str, upload: ReceivedUpload,
                  zip_path: Path) -> Submission:
    """Record a stored upload with its first run, commit, then queue it.

    The run is committed before the broker hears of it (the database is the source of truth). If
    the broker refuses, the submission is withdrawn (503: nothing kept, no quota used); if even that
    fails, the run stays queued with its file intact and the reaper sends it later, so the upload
    stands (202).
    """
    committed = False
    try:
        submission = record_submission(session, phase, team, public_id, upload, zip_path)
        run = add_scoring_run(session, submission, requested_by=f"team:{team.name}")
        session.commit()
        committed = True
    finally:
        if not committed:
            session.rollback()
            discard_upload(zip_path.parent)
    context = {"submission": public_id, "run": run.id, "phase": phase.path, "kind": submission.kind}
    try:
        enqueue_run(run.id, queue_for(submission))
    except Exception as err:
        if not withdraw_queued(session, submission, run):
            log.warning("queueing failed (%s); the reaper will queue it", err, extra=context)
            return submission
        discard_upload(zip_path.parent)
        log.warning("queueing failed (%s); submission withdrawn", err, extra=context)
        raise Unavailable("the scoring queue is unavailable, so nothing was kept: send it again shortly",
                          retry_after_s=30) from None
    log.info("submission queued", extra=context)
    return submission


def withdraw_queued(session: Session, submission: Submission, run: ScoringRun) -> bool:
    """Delete a submission whose first run was never sent (still queued); False if it cannot."""
    try:
        if session.execute(delete(ScoringRun).where(ScoringRun.id == run.id, ScoringRun.status == Status.QUEUED)
                           ).rowcount != 1:
            session.rollback()
            return False
        session.execute(delete(Submission).where(Submission.id == submission.id))
        session.commit()
        return True
    except SQLAlchemyError:
        session.rollback()
        return False


def discard_upload(upload_dir: Path) -> None:
    shutil.rmtree(upload_dir, ignore_errors=True)


def get_submission(session: Session, public_id: str) -> Submission:
    submission = session.scalar(select(Submission).where(Submission.public_id == public_id))
    if submission is None:
        raise NotFound(f"no submission {public_id!r}")
    return submission


def get_team_submission(session: Session, public_id: str, team: Team) -> Submission:
    """A team sees only its own submissions; another team's id reads as unknown, not forbidden."""
    submission = session.scalar(
        select(Submission).where(Submission.public_id == public_id, Submission.team_id == team.id)
    )
    if submission is None:
        raise NotFound(f"no submission {public_id!r}")
    return submission


def list_team_submissions(session: Session, team: Team, phase: Phase | None = None) -> list[Submission]:
    query = select(Submission).where(Submission.team_id == team.id)
    if phase is not None:
        query = query.where(Submission.phase_id == phase.id)
    return list(session.scalars(query.order_by(Submission.created_at.desc(), Submission.id.desc())))
