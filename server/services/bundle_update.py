"""Applying an edited bundle to an existing competition: what changed, and what may not.

Only what the organizer changed in the file is applied: each value of the new bundle is compared
with the bundle applied last (kept on the competition), so a baseline set or a schedule moved
from the CLI since then is not undone by a file that did not touch it. A change that would orphan
data is refused as a whole, before anything is written: removing a phase or a track that holds
submissions, entries or images, or changing the scale of phases whose LR inputs were made with
the old one. Every applied change is one line of the answer and of the audit event.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.bundle import CompetitionBundle, PhaseSpec
from server.models import RULE_COLUMNS, Competition, Phase, Submission, Track, TrackEntry
from server.services.audit import record_event
from server.services.baseline import record_bundle_baseline, set_baseline
from server.services.competitions import bundle_settings, get_competition
from server.services.errors import Conflict

PHASE_SETTINGS = ("title", "ranking_figures", "per_image_scores_visible", "max_submissions_per_day",
                  "max_submissions_total", "failed_submissions_count", "opens_at", "closes_at", "psnr_threshold")
TRACK_SETTINGS = RULE_COLUMNS
COMPETITION_BLOCKS = ("baseline", "baseline_ranked", "timing", "display")
"""Bundle keys whose change rewrites ``bundle_settings``' columns."""


@dataclass
class BundleChanges:
    lines: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def update_competition(session: Session, bundle: CompetitionBundle, actor: str, dry_run: bool = False) -> list[str]:
    """Apply ``bundle`` to the competition of the same slug; returns what changed (nothing: []).
    ``dry_run`` rolls the session back afterwards: give it a session with nothing else pending."""
    competition = get_competition(session, bundle.slug)
    old, new = competition.bundle, bundle.model_dump(mode="json")
    changes = BundleChanges()
    phases = {p.slug: p for p in competition.phases}
    _check_removals(session, competition, phases, old, new, changes)
    if new["scale"] != old.get("scale") and any(p.image_count for p in competition.phases):
        changes.refused.append(f"scale {old.get('scale')} → {new['scale']}: the LR inputs of "
                               f"{', '.join(p.path for p in competition.phases if p.image_count)} were made at "
                               f"×{old.get('scale')}; create a new competition for another scale")
    if changes.refused:
        raise Conflict("the bundle was not applied, nothing changed: " + "; ".join(changes.refused))
    _competition_settings(competition, old, new, changes)
    _tracks(session, competition, old, new, changes)
    _phases(session, competition, phases, bundle, old, new, actor, changes)
    if dry_run:
        session.rollback()
        return changes.lines
    competition.bundle = new
    if changes.lines:
        record_event(session, actor, "competition.update", competition.slug,
                     f"bundle of {competition.slug} applied: " + "; ".join(changes.lines),
                     {"changes": changes.lines, "bundle": new})
    return changes.lines


def _slugs(items: list[dict]) -> list[str]:
    return [item["slug"] for item in items]


def _check_removals(session: Session, competition: Competition, phases: dict[str, Phase], old: dict, new: dict,
                    changes: BundleChanges) -> None:
    for slug in set(phases) - set(_slugs(new["phases"])):
        phase = phases[slug]
        held = session.scalar(select(func.count()).where(Submission.phase_id == phase.id))
        if held or phase.image_count:
            changes.refused.append(f"phase {slug} holds {held} submission(s) and {phase.image_count} image(s); "
                                   "removing it would orphan them (close it instead: `srchallenge phase close`)")
    for slug in set(_slugs(old.get("tracks", []))) - set(_slugs(new["tracks"])):
        track_ids = [t.id for p in competition.phases for t in p.tracks if t.slug == slug]
        entries = session.scalar(select(func.count()).where(TrackEntry.track_id.in_(track_ids))) if track_ids else 0
        entered = sum(slug in s.tracks for s in session.scalars(
            select(Submission).where(Submission.phase_id.in_([p.id for p in competition.phases]))))
        if entries or entered:
            changes.refused.append(f"track {slug} holds {entered} submission(s) entered in it and {entries} chosen "
                                   "entr(y/ies); removing it would orphan them")


def _competition_settings(competition: Competition, old: dict, new: dict, changes: BundleChanges) -> None:
    for name in ("title", "description", "scale", "shave_border"):
        if new[name] != old.get(name):
            setattr(competition, name, new[name])
            changes.lines.append(f"{name}: {old.get(name)!r} → {new[name]!r}")
    if new["shave_border"] != old.get("shave_border"):
        changes.lines.append("existing PSNRs were computed with the old border: `srchallenge rescore --phase P --all`")
    if new["tolerances"] != old.get("tolerances"):
        competition.tolerances = new["tolerances"]
        changes.lines.append(f"tolerances: {old.get('tolerances')} → {new['tolerances']}")
    if new["baseline"]["name"] != old.get("baseline", {}).get("name"):
        competition.baseline_name = new["baseline"]["name"]
        changes.lines.append(f"baseline name: {old.get('baseline', {}).get('name')!r} → {new['baseline']['name']!r}")
    for name in COMPETITION_BLOCKS:
        if new[name] != old.get(name):
            for column, value in bundle_settings(CompetitionBundle.model_validate(new)).items():
                setattr(competition, column, value)
            if name != "baseline":  # the baseline's name and parameters have lines of their own
                changes.lines.append(f"{name}: {old.get(name)!r} → {new[name]!r}")
    if new.get("runtime_phase") != old.get("runtime_phase"):
        changes.lines.append(f"runtime_phase: {old.get('runtime_phase')!r} → {new.get('runtime_phase')!r}")


def _tracks(session: Session, competition: Competition, old: dict, new: dict, changes: BundleChanges) -> None:
    before = {t["slug"]: t for t in old.get("tracks", [])}
    wanted = {t["slug"]: (i, t) for i, t in enumerate(new["tracks"])}
    for phase in competition.phases:
        for track in list(phase.tracks):
            if track.slug not in wanted:
                phase.tracks.remove(track)
                session.delete(track)
        present = {t.slug: t for t in phase.tracks}
        for slug, (position, spec) in wanted.items():
            track = present.get(slug)
            if track is None:
                phase.tracks.append(Track(position=position, **spec))
                continue
            track.position = position
            for name in TRACK_SETTINGS:
                if spec[name] != before.get(slug, {}).get(name):
                    setattr(track, name, spec[name])
    for slug in before.keys() - wanted.keys():
        changes.lines.append(f"track {slug} removed")
    for slug, (_, spec) in wanted.items():
        if slug not in before:
            changes.lines.append(f"track {slug} added ({spec['title']}, {spec['kind']} rule)")
            continue
        for name in TRACK_SETTINGS:
            if spec[name] != before[slug].get(name):
                changes.lines.append(f"track {slug}: {name} {before[slug].get(name)!r} → {spec[name]!r}")


def _phases(session: Session, competition: Competition, phases: dict[str, Phase], bundle: CompetitionBundle,
            old: dict, new: dict, actor: str, changes: BundleChanges) -> None:
    before = {p["slug"]: p for p in old.get("phases", [])}
    specs = {spec.slug: spec for spec in bundle.phases}
    for slug in set(phases) - set(specs):
        competition.phases.remove(phases[slug])
        session.delete(phases[slug])
        changes.lines.append(f"phase {slug} removed (it held no submission and no image)")
    for raw in new["phases"]:
        slug, spec = raw["slug"], specs[raw["slug"]]
        if slug not in phases:
            _add_phase(session, competition, bundle, spec, actor)
            changes.lines.append(f"phase {slug} added ({spec.title}); import its hidden set next")
            continue
        phase, previous = phases[slug], before.get(slug, {})
        for name in PHASE_SETTINGS:
            if raw[name] != previous.get(name):
                setattr(phase, name, getattr(spec, name))
                changes.lines.append(f"phase {slug}: {name} {previous.get(name)!r} → {raw[name]!r}")
        figures = {"psnr": raw["baseline_psnr"] if raw["baseline_psnr"] != previous.get("baseline_psnr") else None,
                   "runtime": raw["baseline_runtime"] if raw["baseline_runtime"] != previous.get("baseline_runtime")
                   else None,
                   "params": new["baseline"]["params"]
                   if new["baseline"]["params"] != old.get("baseline", {}).get("params") else None}
        if any(value is not None for value in figures.values()):
            record = set_baseline(session, phase, actor, **figures)
            changes.lines.append(f"phase {slug}: baseline " + ", ".join(
                f"{k} → {v}" for k, v in figures.items() if v is not None) + f" (baseline version #{record.id})")


def _add_phase(session: Session, competition: Competition, bundle: CompetitionBundle, spec: PhaseSpec,
               actor: str) -> None:
    phase = Phase(**spec.model_dump(), baseline_params=bundle.baseline.params)
    phase.tracks = [Track.of_rule(t, i) for i, t in enumerate(bundle.tracks)]
    competition.phases.append(phase)
    session.flush()
    record_bundle_baseline(session, phase, actor)
