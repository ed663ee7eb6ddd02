"""Competitions and phases: created from a bundle, looked up by slug."""

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from server.bundle import CompetitionBundle
from server.models import Competition, Phase, Track
from server.services.audit import record_event
from server.services.baseline import record_bundle_baseline
from server.services.errors import Conflict, NotFound


def create_competition(session: Session, bundle: CompetitionBundle, actor: str = "bundle") -> Competition:
    if session.scalar(select(Competition).where(Competition.slug == bundle.slug)):
        raise Conflict(f"competition {bundle.slug!r} already exists")
    competition = Competition(
        slug=bundle.slug,
        title=bundle.title,
        description=bundle.description,
        scale=bundle.scale,
        shave_border=bundle.shave_border,
        baseline_name=bundle.baseline.name,
        baseline_params=bundle.baseline.params,
        tolerances=asdict(bundle.tolerances),
        bundle=bundle.model_dump(mode="json"),
        **bundle_settings(bundle),
    )
    for spec in bundle.phases:
        phase = Phase(**spec.model_dump(), baseline_params=bundle.baseline.params)
        phase.tracks = [Track.of_rule(track, i) for i, track in enumerate(bundle.tracks)]
        competition.phases.append(phase)
    session.add(competition)
    session.flush()
    for phase in competition.phases:
        record_bundle_baseline(session, phase, actor)
    record_event(session, actor, "competition.create", competition.slug,
                 f"competition {competition.slug} created from its bundle with phases "
                 f"{', '.join(p.slug for p in competition.phases)}", {"bundle": competition.bundle})
    return competition


def bundle_settings(bundle: CompetitionBundle) -> dict:
    """The competition's columns that come from the bundle's baseline, timing and display blocks."""
    baseline = bundle.baseline
    return {"baseline_scale": baseline.scale or bundle.scale, "baseline_macs": baseline.macs,
            "baseline_activations": baseline.activations, "baseline_peak_memory_bytes": baseline.peak_memory_bytes,
            "baseline_ranked": bundle.baseline_ranked, "timing": bundle.timing.model_dump(),
            "display": bundle.display.model_dump()}


def list_competitions(session: Session) -> list[Competition]:
    return list(session.scalars(select(Competition).order_by(Competition.id)))


def get_competition(session: Session, slug: str) -> Competition:
    competition = session.scalar(select(Competition).where(Competition.slug == slug))
    if competition is None:
        raise NotFound(f"no competition {slug!r}")
    return competition


def get_phase(session: Session, competition_slug: str, phase_slug: str) -> Phase:
    """With its competition loaded: ``phase.path`` then needs no query (async routes use it)."""
    phase = session.scalar(
        select(Phase)
        .join(Competition)
        .options(contains_eager(Phase.competition))
        .where(Competition.slug == competition_slug, Phase.slug == phase_slug)
    )
    if phase is None:
        raise NotFound(f"no phase {competition_slug}/{phase_slug}")
    return phase


def get_phase_by_path(session: Session, path: str) -> Phase:
    """``aim2019/validation`` → the phase (the CLI's way of naming one)."""
    competition_slug, sep, phase_slug = path.partition("/")
    if not sep or not phase_slug:
        raise NotFound(f"phase must be written COMPETITION/PHASE, got {path!r}")
    return get_phase(session, competition_slug, phase_slug)
