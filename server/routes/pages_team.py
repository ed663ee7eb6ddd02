"""The team's own pages: token login, an upload form per open phase, its submissions, and which
submission stands on each track.

The browser keeps a signed session in an HttpOnly, SameSite=Strict cookie, never the token
(services/web_session.py). Every form posts a per-session CSRF token in a hidden field; a POST
without the right one gets 403. Pages with private data are sent with ``Cache-Control: no-store``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.body_guard import TokenFirstRoute
from server.config import Settings
from server.deps import PhaseDep, SessionDep, SettingsDep, release_connection
from server.models import SUBMISSION_PENDING
from server.routes.pages import render_error, templates
from server.schemas import SubmissionOut
from server.services.competitions import get_phase_by_path, list_competitions
from server.services.entries import choose_entry, team_choices
from server.services.errors import Forbidden, ServiceError
from server.services.fair_share import submission_places
from server.services.submissions import list_team_submissions
from server.services.teams import team_for_token
from server.services.upload_flow import receive_submission
from server.services.web_session import (SESSION_COOKIE, SESSION_MAX_AGE_S, WebSession, csrf_valid,
                                         load_web_session, new_web_session, server_secret)

router = APIRouter(route_class=TokenFirstRoute, tags=["pages"], include_in_schema=False)
REFRESH_S = 5
CSRF_REFUSED = Forbidden("this form expired or did not come from this site: reload the page and send it again")


def browser_session(request: Request, db: SessionDep, settings: SettingsDep) -> WebSession:
    web = load_web_session(db, server_secret(settings), request.cookies.get(SESSION_COOKIE))
    release_connection(db)
    return web


BrowserSessionDep = Annotated[WebSession, Depends(browser_session)]
CsrfField = Annotated[str, Form()]


def private(response: Response, web: WebSession, settings: Settings) -> Response:
    """No caching of team data; a new session's cookie is set (Secure when the site is served over https)."""
    response.headers["Cache-Control"] = "no-store"
    if web.is_new:
        response.set_cookie(SESSION_COOKIE, web.cookie, max_age=SESSION_MAX_AGE_S, httponly=True, samesite="strict",
                            secure=settings.base_url.startswith("https://"))
    return response


def render_team(request: Request, db: SessionDep, web: WebSession, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    phases = [(phase, list_team_submissions(db, web.team, phase), team_choices(db, web.team, phase))
              for competition in list_competitions(db) for phase in competition.phases]
    places = submission_places(db, [s for _, subs, _ in phases for s in subs])
    phases = [(phase, [SubmissionOut.of(s, places.get(s.public_id)) for s in subs], choices)
              for phase, subs, choices in phases]
    return templates.TemplateResponse(request, "team.html", {
        "team": web.team, "csrf": web.csrf, "phases": phases, "error": error,
        "saved": request.query_params.get("saved") == "1", "uploaded": request.query_params.get("uploaded"),
        "refresh_s": REFRESH_S if any(s.status in SUBMISSION_PENDING for _, subs, _ in phases for s in subs) else None,
    }, status_code=status_code)


@router.get("/team", response_class=HTMLResponse)
def team_page(request: Request, web: BrowserSessionDep, db: SessionDep, settings: SettingsDep):
    if web.team is None:
        return private(templates.TemplateResponse(request, "login.html", {"csrf": web.csrf}), web, settings)
    return private(render_team(request, db, web), web, settings)


@router.post("/login")
def login(request: Request, web: BrowserSessionDep, db: SessionDep, settings: SettingsDep,
          token: Annotated[str, Form()] = "", csrf: CsrfField = ""):
    secret = server_secret(settings)
    if not csrf_valid(secret, web.claims, csrf):
        return render_error(request, CSRF_REFUSED)
    team = team_for_token(db, token.strip())
    if team is None:
        page = templates.TemplateResponse(request, "login.html", {
            "csrf": web.csrf, "error": "unknown or revoked team token"}, status_code=401)
        return private(page, web, settings)
    return private(RedirectResponse("/team", status_code=303), new_web_session(secret, team), settings)


@router.post("/logout")
def logout(request: Request, web: BrowserSessionDep, settings: SettingsDep, csrf: CsrfField = ""):
    if not csrf_valid(server_secret(settings), web.claims, csrf):
        return render_error(request, CSRF_REFUSED)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response


@router.post("/team/entries")
def choose_entry_form(request: Request, web: BrowserSessionDep, db: SessionDep, settings: SettingsDep,
                      phase: Annotated[str, Form()] = "", track: Annotated[str, Form()] = "",
                      submission_id: Annotated[str, Form()] = "", csrf: CsrfField = ""):
    if not csrf_valid(server_secret(settings), web.claims, csrf):
        return render_error(request, CSRF_REFUSED)
    if web.team is None:
        return RedirectResponse("/team", status_code=303)
    try:
        chosen = get_phase_by_path(db, phase)
        choose_entry(db, web.team, chosen, track, submission_id)
        db.commit()
    except ServiceError as err:
        db.rollback()
        return private(render_team(request, db, web, err.message, err.status_code), web, settings)
    anchor = f"phase-{chosen.competition.slug}-{chosen.slug}"
    return RedirectResponse(f"/team?saved=1#{anchor}", status_code=303)


@router.post("/team/phases/{competition}/{phase}/submissions")
async def upload_form(request: Request, phase: PhaseDep, web: BrowserSessionDep, db: SessionDep,
                      settings: SettingsDep):
    """The team page's upload form: the API's upload (same checks, limits and streaming); the CSRF
    field is checked once the body has arrived, before anything is recorded."""
    if web.team is None:
        return RedirectResponse("/team", status_code=303)
    secret = server_secret(settings)

    def check_csrf(fields: dict[str, str]) -> None:
        if not csrf_valid(secret, web.claims, fields.get("csrf", "")):
            raise CSRF_REFUSED

    try:
        submission = await receive_submission(request, phase, web.team, db, settings, check_csrf)
    except ServiceError as err:
        db.rollback()
        page = await run_in_threadpool(render_team, request, db, web, err.message, err.status_code)
        return private(page, web, settings)
    return RedirectResponse(f"/team?uploaded={submission.public_id}#submission-{submission.public_id}",
                            status_code=303)
