"""Public competition and phase descriptions."""

from fastapi import APIRouter

from server.deps import PhaseDep, SessionDep
from server.schemas import CompetitionOut, PhaseOut
from server.services.competitions import get_competition, list_competitions

router = APIRouter(prefix="/api/v1", tags=["competitions"])


def competition_out(competition) -> CompetitionOut:
    return CompetitionOut(
        slug=competition.slug, title=competition.title, description=competition.description,
        baseline_name=competition.baseline_name, baseline_params=competition.baseline_params,
        phases=[PhaseOut.of(phase) for phase in competition.phases],
    )


@router.get("/competitions", response_model=list[CompetitionOut])
def competitions(session: SessionDep):
    return [competition_out(c) for c in list_competitions(session)]


@router.get("/competitions/{slug}", response_model=CompetitionOut)
def competition(slug: str, session: SessionDep):
    return competition_out(get_competition(session, slug))


@router.get("/phases/{competition}/{phase}", response_model=PhaseOut)
def phase_detail(phase: PhaseDep):
    return PhaseOut.of(phase)
