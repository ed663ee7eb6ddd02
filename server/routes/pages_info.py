"""A competition's overview, rules and data pages (Codalab's "Learn the details"), rendered from
the bundle and the phases as stored: nothing is written twice, so a page cannot say other than
what the scorer and the ranking do."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scoring.ranking import Tolerances
from server.config import get_settings
from server.deps import SessionDep
from server.routes.pages import INFO_PAGES, render_error, templates
from server.services.competitions import get_competition
from server.services.datasets import inputs_unavailable
from server.services.errors import ServiceError
from server.services.storage import Storage

router = APIRouter(tags=["pages"], include_in_schema=False)


def info_page(request: Request, session: SessionDep, slug: str, page: str) -> HTMLResponse:
    try:
        competition = get_competition(session, slug)
    except ServiceError as err:
        return render_error(request, err)
    storage = Storage.from_settings(get_settings())
    return templates.TemplateResponse(request, f"competition_{page}.html", {
        "competition": competition, "page": page, "info_pages": INFO_PAGES,
        "tolerances": Tolerances.from_mapping(competition.tolerances),
        "inputs_unavailable": {p.id: inputs_unavailable(storage, p) for p in competition.phases},
    })


@router.get("/competitions/{slug}/overview", response_class=HTMLResponse)
def overview(request: Request, slug: str, session: SessionDep):
    return info_page(request, session, slug, "overview")


@router.get("/competitions/{slug}/rules", response_class=HTMLResponse)
def rules(request: Request, slug: str, session: SessionDep):
    return info_page(request, session, slug, "rules")


@router.get("/competitions/{slug}/data", response_class=HTMLResponse)
def data(request: Request, slug: str, session: SessionDep):
    return info_page(request, session, slug, "data")
