"""Import entries measured elsewhere (e.g. a past challenge's report) as scored submissions.

Each CSV row becomes one submission of kind ``imported`` entered in one track (``tracks=[track]``),
already scored, with no file; its one ScoringRun says ``requested_by="import"`` and keeps the
figures as read, so the leaderboard ranks imported entries by the same rules as uploaded ones.
Teams are created as needed. The whole file is one transaction: a bad row imports nothing.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.bounds import MAX_GPU_NAME, check_figures
from scoring.errors import SubmissionError
from scoring.export import read_entries_csv
from scoring.ranking import Entry
from server.models import Phase, ScoringRun, Status, Submission, Team, utcnow
from server.services.errors import Conflict, ServiceError
from server.services.runs import code_version
from server.services.submissions import new_public_id
from server.services.teams import create_team

REQUIRED_COLUMNS = ("team", "track", "psnr", "params", "runtime")
OPTIONAL_COLUMNS = ("runtime_self_reported", "runtime_baseline_self_reported", "params_self_reported", "gpu",
                    "extra_data", "description", "macs", "activations", "peak_memory_bytes")
IMPORTED_KIND = "imported"

Progress = Callable[[int, int], None]


@dataclass
class ImportSummary:
    phase: str
    rows: int
    teams_created: list[str]
    submissions: list[str]


def parse_import_csv(text: str, phase: Phase) -> list[Entry]:
    """Entries of the CSV, checked against the phase before anything is written."""
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    columns = [c.strip() for c in header.split(",")]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise ServiceError(f"the CSV needs columns {', '.join(REQUIRED_COLUMNS)}"
                           f"{' (missing ' + ', '.join(missing) + ')' if missing else ''}; "
                           f"optional: {', '.join(OPTIONAL_COLUMNS)}"
                           f"{' (unknown: ' + ', '.join(unknown) + ')' if unknown else ''}")
    try:
        entries = read_entries_csv(text.lstrip("\ufeff"))
    except ValueError as err:
        raise ServiceError(f"the CSV cannot be read: {err}") from None
    tracks = {track.slug for track in phase.tracks}
    for line, entry in enumerate(entries, start=2):
        if entry.track not in tracks:
            raise ServiceError(f"line {line}: unknown track {entry.track!r}; "
                               f"{phase.path} has {', '.join(sorted(tracks))}")
    for line, entry in enumerate(entries, start=2):
        try:
            check_figures({"psnr": entry.psnr, "params": entry.params, "runtime": entry.runtime,
                           "self_params": entry.params_self_reported, "self_runtime": entry.runtime_self_reported,
                           "self_runtime_baseline": entry.runtime_baseline_self_reported, "macs": entry.macs,
                           "activations": entry.activations, "peak_memory_bytes": entry.peak_memory_bytes})
        except SubmissionError as err:
            raise ServiceError(f"line {line}: {err}") from None
    seen: set[tuple[str, str]] = set()
    for line, entry in enumerate(entries, start=2):
        if (entry.team, entry.track) in seen:
            raise ServiceError(f"line {line}: a second row for team {entry.team!r} on track {entry.track!r}")
        seen.add((entry.team, entry.track))
    if not entries:
        raise ServiceError("the CSV has a header but no rows")
    return entries


def import_results(session: Session, phase: Phase, text: str, source_name: str,
                   progress: Progress | None = None) -> ImportSummary:
    """Write every row, or nothing; the same file twice into one phase is refused."""
    entries = parse_import_csv(text, phase)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if session.scalar(select(Submission.id).where(Submission.phase_id == phase.id, Submission.kind == IMPORTED_KIND,
                                                  Submission.file_sha256 == digest).limit(1)):
        raise Conflict(f"{source_name} was already imported into {phase.path}")
    teams: dict[str, Team] = {}
    # one timestamp for the whole file: rows of one report tie on submission time, as in the report
    now = utcnow()
    summary = ImportSummary(phase=phase.path, rows=len(entries), teams_created=[], submissions=[])
    try:
        for done, entry in enumerate(entries, start=1):
            if entry.team not in teams:
                teams[entry.team] = session.scalar(select(Team).where(Team.name == entry.team))
                if teams[entry.team] is None:  # its token is never shown; `team token --rotate` issues one
                    teams[entry.team] = create_team(session, entry.team)[0]
                    summary.teams_created.append(entry.team)
            team = teams[entry.team]
            submission = imported_submission(phase, team, entry, now, source_name, done + 1, digest)
            session.add(submission)
            session.flush()
            submission.current_run_id = submission.runs[0].id
            summary.submissions.append(submission.public_id)
            if progress:
                progress(done, len(entries))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def imported_submission(phase: Phase, team: Team, entry: Entry, now: datetime, source_name: str, line: int,
                        digest: str) -> Submission:
    figures = {"psnr": entry.psnr, "params": entry.params, "runtime": entry.runtime, "macs": entry.macs,
               "activations": entry.activations, "peak_memory_bytes": entry.peak_memory_bytes}
    run = ScoringRun(attempt=1, status=Status.SCORED, requested_by="import", queued_at=now, started_at=now,
                     finished_at=now, code_version=code_version(), dataset_version=phase.dataset_version,
                     figures=figures, log=f"imported from {source_name}, line {line}")
    return Submission(
        public_id=new_public_id(), phase=phase, team=team, kind=IMPORTED_KIND, status=Status.SCORED,
        created_at=now, finished_at=now, filename=source_name[:255], file_size=0, file_sha256=digest,
        tracks=[entry.track], psnr=entry.psnr, params=entry.params, runtime=entry.runtime, macs=entry.macs,
        activations=entry.activations, peak_memory_bytes=entry.peak_memory_bytes,
        self_params=entry.params_self_reported, self_runtime=entry.runtime_self_reported,
        self_runtime_baseline=entry.runtime_baseline_self_reported, gpu=entry.gpu and entry.gpu[:MAX_GPU_NAME],
        extra_data=entry.extra_data,
        description=entry.description or None, runs=[run], dataset_version=phase.dataset_version,
    )
